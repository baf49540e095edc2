//! Secrets we mint and check: API keys, session tokens, passwords.
//!
//! API keys and session tokens are 256-bit random values; only their SHA-256
//! is stored (a fast hash is right for high-entropy secrets and keeps the
//! per-request look-up cheap). Passwords are hashed with argon2id.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

pub const KEY_PREFIX: &str = "sb_";

pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

pub fn sha256_hex(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

/// A freshly minted API key: the secret (shown once), its visible prefix and its hash.
pub struct MintedKey {
    pub secret: String,
    pub prefix: String,
    pub hash: String,
}

pub fn mint_api_key() -> MintedKey {
    let secret = format!("{KEY_PREFIX}{}", random_token(32));
    // "sb_" plus 8 characters identifies a key in lists without revealing it.
    let prefix = secret.chars().take(KEY_PREFIX.len() + 8).collect();
    let hash = sha256_hex(&secret);
    MintedKey { secret, prefix, hash }
}

pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).map_err(|e| anyhow::anyhow!("{e}"))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// A hash to verify against when the email is unknown, so that a login for a
/// missing user costs the same time as one with a wrong password.
pub fn dummy_password_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password("not-a-real-password").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_keys_are_unique_and_hash_to_their_hash() {
        let a = mint_api_key();
        let b = mint_api_key();
        assert_ne!(a.secret, b.secret);
        assert!(a.secret.starts_with(&a.prefix));
        assert_eq!(sha256_hex(&a.secret), a.hash);
        assert!(a.secret.len() >= 40);
    }

    #[test]
    fn passwords_verify_only_with_the_right_password() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("x", "not a phc string"));
    }
}
