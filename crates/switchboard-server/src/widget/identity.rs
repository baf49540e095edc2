//! Identity verification (W1): the customer's backend signs its user's id
//! with the deployment's identity secret, `user_hash = hex(HMAC-SHA256(secret,
//! user_id))`, and the widget passes both on. Only a matching hash lets a
//! visitor be that user (attach to their contact, read their history).
//! Secrets are minted here and kept sealed; see [`crate::secrets`].

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::auth::credentials::random_token;
use crate::secrets::Sealer;

pub const SECRET_PREFIX: &str = "sbid_";
pub const VISITOR_TOKEN_PREFIX: &str = "sbv_";

/// A new identity secret: 256 random bits, shown to the operator once.
pub fn mint_secret() -> String {
    format!("{SECRET_PREFIX}{}", random_token(32))
}

/// A new visitor token: 256 random bits; only its SHA-256 is stored.
pub fn mint_visitor_token() -> String {
    format!("{VISITOR_TOKEN_PREFIX}{}", random_token(32))
}

/// What the secret is bound to when sealed, so it opens on its own row only.
pub fn seal_context(deployment_id: &str) -> String {
    format!("deployment:{deployment_id}:identity_secret")
}

pub fn seal(sealer: &Sealer, deployment_id: &str, secret: &str) -> Vec<u8> {
    sealer.seal(secret.as_bytes(), &seal_context(deployment_id))
}

pub fn open(sealer: &Sealer, deployment_id: &str, sealed: &[u8]) -> anyhow::Result<Vec<u8>> {
    sealer.open(sealed, &seal_context(deployment_id))
}

/// Whether `user_hash` is the HMAC-SHA256 of `user_id` under `secret`,
/// compared in constant time (`verify_slice`).
pub fn user_hash_matches(secret: &[u8], user_id: &str, user_hash: &str) -> bool {
    let Ok(sent) = hex::decode(user_hash.trim()) else { return false };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else { return false };
    mac.update(user_id.as_bytes());
    mac.verify_slice(&sent).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, user: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(user.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    #[test]
    fn only_the_hash_of_that_user_under_that_secret_matches() {
        let secret = mint_secret();
        let good = sign(&secret, "user-42");
        assert!(user_hash_matches(secret.as_bytes(), "user-42", &good));
        assert!(user_hash_matches(secret.as_bytes(), "user-42", &good.to_uppercase()), "hex in either case");
        assert!(!user_hash_matches(secret.as_bytes(), "user-43", &good), "another user's hash");
        assert!(!user_hash_matches(mint_secret().as_bytes(), "user-42", &good), "another secret");
        assert!(!user_hash_matches(secret.as_bytes(), "user-42", &good[..62]), "truncated");
        assert!(!user_hash_matches(secret.as_bytes(), "user-42", "zz"), "not hex");
        assert!(!user_hash_matches(secret.as_bytes(), "user-42", ""), "empty");
        let mut flipped = hex::decode(&good).unwrap();
        flipped[0] ^= 1;
        assert!(!user_hash_matches(secret.as_bytes(), "user-42", &hex::encode(flipped)));
    }

    #[test]
    fn secrets_and_tokens_carry_256_random_bits() {
        let (a, b) = (mint_secret(), mint_secret());
        assert_ne!(a, b);
        assert!(a.len() >= SECRET_PREFIX.len() + 43);
        let t = mint_visitor_token();
        assert!(t.starts_with(VISITOR_TOKEN_PREFIX) && t.len() >= VISITOR_TOKEN_PREFIX.len() + 43);
    }
}
