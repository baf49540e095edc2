//! Secrets we must be able to read back (a deployment's identity secret, which
//! checks visitors' identity hashes; a tenant's own secrets, such as its LLM
//! provider's API key), kept encrypted at rest.
//!
//! XChaCha20-Poly1305 with a 256-bit key: random 192-bit nonces are safe to
//! draw for every seal, and the tag makes a tampered or swapped value fail to
//! open. Each value is bound to what it belongs to (`context`, e.g.
//! `deployment:<id>`) as associated data, so a sealed secret copied onto
//! another row does not open there.
//!
//! The key comes from `secrets.key` (base64, 32 bytes: what several nodes
//! sharing one PostgreSQL must all be given), else from the key file
//! (`secrets.key_file`, default `<data_dir>/secret.key`), which is created
//! with mode 0600 on first start. Losing it makes the sealed values unreadable
//! (rotate the affected secrets); it is never logged.

use std::path::{Path, PathBuf};

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};

use crate::settings::Settings;

/// The format byte in front of every sealed value, so the scheme can change.
const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;

pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer([key redacted])")
    }
}

impl Sealer {
    pub fn from_key(key: &[u8; 32]) -> Self {
        Self { cipher: XChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(key)) }
    }

    /// The key the settings name, or the key file (made on first use).
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        if let Some(key) = settings.secrets.key.as_ref().filter(|k| !k.expose().is_empty()) {
            return Ok(Self::from_key(&decode_key(key.expose()).context("secrets.key")?));
        }
        let path = key_file(settings);
        Ok(Self::from_key(&load_or_create(&path)?))
    }

    pub fn seal(&self, plaintext: &[u8], context: &str) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext, aad: context.as_bytes() })
            .expect("XChaCha20-Poly1305 encrypts any input under 256 GiB");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    pub fn open(&self, sealed: &[u8], context: &str) -> anyhow::Result<Vec<u8>> {
        anyhow::ensure!(sealed.len() > 1 + NONCE_LEN && sealed[0] == VERSION, "not a sealed value");
        let (nonce, body) = sealed[1..].split_at(NONCE_LEN);
        self.cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: body, aad: context.as_bytes() })
            .map_err(|_| anyhow::anyhow!("a sealed value did not open: wrong key, wrong context or tampered"))
    }
}

/// The context a tenant secret's value is bound to: its row.
fn tenant_secret_context(id: &str) -> String {
    format!("tenant-secret:{id}")
}

impl Sealer {
    /// Seals a tenant secret's value for the row `id`.
    pub fn seal_tenant_secret(&self, id: &str, value: &SecretString) -> Vec<u8> {
        self.seal(value.expose_secret().as_bytes(), &tenant_secret_context(id))
    }

    /// Opens the value of the tenant secret `id`; it stays wrapped so it never prints.
    pub fn open_tenant_secret(&self, id: &str, sealed: &[u8]) -> anyhow::Result<SecretString> {
        let bytes = self.open(sealed, &tenant_secret_context(id))?;
        let text = String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("a tenant secret is not UTF-8"))?;
        Ok(SecretString::from(text))
    }
}

/// The value of the tenant's secret named `name`, opened for use; `None` when
/// there is no such secret (it was deleted after a configuration named it).
pub async fn tenant_secret(
    store: &dyn switchboard_store::Store,
    sealer: &Sealer,
    t: &switchboard_store::Tenant,
    name: &str,
) -> anyhow::Result<Option<SecretString>> {
    let Some(secret) = store.find_secret_by_name(t, name).await? else { return Ok(None) };
    let sealed = match store.sealed_secret(t, &secret.id).await {
        Ok(sealed) => sealed,
        // Deleted between the two reads.
        Err(switchboard_store::StoreError::NotFound) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    Ok(Some(sealer.open_tenant_secret(&secret.id, &sealed)?))
}

pub fn key_file(settings: &Settings) -> PathBuf {
    settings.secrets.key_file.clone().unwrap_or_else(|| settings.data_dir.join("secret.key"))
}

fn decode_key(text: &str) -> anyhow::Result<[u8; 32]> {
    let bytes = STANDARD.decode(text.trim()).context("the key is not base64")?;
    bytes.try_into().map_err(|_| anyhow::anyhow!("the key must be 32 bytes (44 base64 characters)"))
}

fn load_or_create(path: &Path) -> anyhow::Result<[u8; 32]> {
    match std::fs::read_to_string(path) {
        Ok(text) => decode_key(&text).with_context(|| format!("reading the secrets key {}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = [0u8; 32];
            rand::rng().fill_bytes(&mut key);
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            write_new(path, STANDARD.encode(key).as_bytes())
                .with_context(|| format!("creating the secrets key {}", path.display()))?;
            // Two processes starting together: whoever wrote first wins, both use that key.
            decode_key(&std::fs::read_to_string(path)?)
        }
        Err(e) => Err(e).with_context(|| format!("reading the secrets key {}", path.display())),
    }
}

/// Creates the file only if it does not exist, readable by its owner alone.
fn write_new(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(contents)?;
            file.sync_all()
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_context() {
        let sealer = Sealer::from_key(&[7; 32]);
        let sealed = sealer.seal(b"sbid_secret", "deployment:a");
        assert!(!sealed.windows(11).any(|w| w == b"sbid_secret"), "the plaintext is not in the sealed value");
        assert_eq!(sealer.open(&sealed, "deployment:a").unwrap(), b"sbid_secret");
        assert!(sealer.open(&sealed, "deployment:b").is_err(), "bound to its context");
        assert!(Sealer::from_key(&[8; 32]).open(&sealed, "deployment:a").is_err(), "bound to its key");
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(sealer.open(&tampered, "deployment:a").is_err());
        assert_ne!(sealer.seal(b"x", "c"), sealer.seal(b"x", "c"), "fresh nonce every time");
    }

    #[test]
    fn tenant_secrets_are_bound_to_their_row() {
        let sealer = Sealer::from_key(&[7; 32]);
        let sealed = sealer.seal_tenant_secret("a", &SecretString::from("sk-live"));
        assert_eq!(sealer.open_tenant_secret("a", &sealed).unwrap().expose_secret(), "sk-live");
        assert!(sealer.open_tenant_secret("b", &sealed).is_err());
        assert!(sealer.open(&sealed, "deployment:a").is_err(), "not a deployment's secret either");
    }

    #[test]
    fn the_key_file_is_made_once_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = Settings { data_dir: dir.path().to_path_buf(), ..Default::default() };
        let a = Sealer::from_settings(&settings).unwrap();
        let sealed = a.seal(b"v", "c");
        let b = Sealer::from_settings(&settings).unwrap();
        assert_eq!(b.open(&sealed, "c").unwrap(), b"v");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("secret.key")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        settings.secrets.key = Some(crate::settings::Secret::new(STANDARD.encode([1u8; 32])));
        assert!(Sealer::from_settings(&settings).unwrap().open(&sealed, "c").is_err(), "the setting wins");
        settings.secrets.key = Some(crate::settings::Secret::new("short"));
        assert!(Sealer::from_settings(&settings).is_err());
    }
}
