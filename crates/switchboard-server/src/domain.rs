//! Domain values that cannot hold invalid data: parse once at the edge, then
//! pass the typed value around.

use switchboard_store::{BootstrapOrg, NewApiKey, Org, Role, Scope, Store, User};

use crate::auth::credentials::{hash_password, mint_api_key};
use crate::error::ApiError;

fn bounded_text(field: &str, value: &str, max: usize) -> Result<String, ApiError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(ApiError::invalid(format!("`{field}` must not be empty")));
    }
    if trimmed.chars().count() > max {
        return Err(ApiError::invalid(format!("`{field}` must be at most {max} characters")));
    }
    if trimmed.chars().any(|c| c.is_control()) {
        return Err(ApiError::invalid(format!("`{field}` must not contain control characters")));
    }
    Ok(trimmed.to_owned())
}

/// A display name (organization, user, API key): 1 to 200 characters, no control characters.
#[derive(Debug, Clone)]
pub struct Name(String);

impl Name {
    pub fn parse(field: &str, value: &str) -> Result<Self, ApiError> {
        bounded_text(field, value, 200).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone)]
pub struct Email(String);

impl Email {
    pub fn parse(value: &str) -> Result<Self, ApiError> {
        let value = bounded_text("email", value, 254)?.to_lowercase();
        let valid = value.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
        }) && !value.contains(char::is_whitespace);
        if !valid {
            return Err(ApiError::invalid("`email` is not an email address"));
        }
        Ok(Self(value))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password: 10 to 1024 characters.
pub struct Password(String);

impl Password {
    pub fn parse(value: &str) -> Result<Self, ApiError> {
        let n = value.chars().count();
        if !(10..=1024).contains(&n) {
            return Err(ApiError::invalid("`password` must be 10 to 1024 characters"));
        }
        Ok(Self(value.to_owned()))
    }
    pub fn hash(&self) -> anyhow::Result<String> {
        hash_password(&self.0)
    }
}

pub fn parse_scopes(values: &[String]) -> Result<Vec<Scope>, ApiError> {
    let mut scopes =
        values.iter().map(|v| v.parse::<Scope>().map_err(ApiError::invalid)).collect::<Result<Vec<_>, _>>()?;
    scopes.sort();
    scopes.dedup();
    if scopes.is_empty() {
        return Err(ApiError::invalid("`scopes` must name at least one of read, write, admin"));
    }
    Ok(scopes)
}

pub struct Bootstrapped {
    pub org: Org,
    pub user: User,
    /// The owner's first API key, in full: shown once, never stored.
    pub api_key: String,
}

/// Creates an organization, its owner and the owner's first API key.
pub async fn bootstrap_org(
    store: &dyn Store,
    org: &Name,
    email: &Email,
    password: &Password,
) -> anyhow::Result<Bootstrapped> {
    let minted = mint_api_key();
    let (org, user, _) = store
        .bootstrap_org(BootstrapOrg {
            org_name: org.as_str().to_owned(),
            owner_email: email.as_str().to_owned(),
            owner_name: email.as_str().split('@').next().unwrap_or_default().to_owned(),
            owner_password_hash: password.hash()?,
            first_key: NewApiKey {
                name: "Owner key (init)".into(),
                prefix: minted.prefix,
                key_hash: minted.hash,
                role: Role::Owner,
                scopes: Scope::ALL.to_vec(),
                created_by: None,
            },
        })
        .await?;
    Ok(Bootstrapped { org, user, api_key: minted.secret })
}
