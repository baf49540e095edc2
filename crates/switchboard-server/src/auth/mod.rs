//! Who is calling, and what they may do.
//!
//! A request is authenticated by an API key (`Authorization: Bearer sb_…`) or
//! by a dashboard session cookie; either way it becomes a [`Principal`] whose
//! tenant is the only one any store call of that request can touch. Browser
//! sessions must also send their CSRF token on every unsafe method.

pub mod credentials;
pub mod middleware;
pub mod permissions;

use switchboard_store::{Actor, AuditCtx, Role, Scope, Tenant};

pub use permissions::Permission;

use crate::error::{ApiError, ErrorKind};

#[derive(Debug, Clone)]
pub enum Credential {
    ApiKey { key_id: String },
    Session { user_id: String },
}

#[derive(Debug, Clone)]
pub struct Principal {
    pub tenant: Tenant,
    pub role: Role,
    /// Scopes of an API key; sessions hold every scope their role allows.
    pub scopes: Vec<Scope>,
    pub credential: Credential,
    pub request_id: String,
}

impl Principal {
    /// Fails with 403 unless both the role and the scopes allow `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if !permission.allowed_for(self.role) {
            return Err(ApiError::forbidden(format!("the `{}` role may not {}", self.role, permission.describe())));
        }
        let scope = permission.scope();
        if !self.scopes.contains(&scope) {
            return Err(ApiError::new(
                ErrorKind::Forbidden,
                format!("this API key lacks the `{}` scope needed to {}", scope.as_str(), permission.describe()),
            ));
        }
        Ok(())
    }

    pub fn audit(&self) -> AuditCtx {
        let actor = match &self.credential {
            Credential::ApiKey { key_id } => Actor::ApiKey(key_id.clone()),
            Credential::Session { user_id } => Actor::User(user_id.clone()),
        };
        AuditCtx { actor, request_id: self.request_id.clone() }
    }

    /// The id idempotency keys and per-credential rate limits are scoped to.
    pub fn credential_id(&self) -> String {
        match &self.credential {
            Credential::ApiKey { key_id } => format!("key:{key_id}"),
            Credential::Session { user_id } => format!("user:{user_id}"),
        }
    }

    pub fn user_id(&self) -> Option<&str> {
        match &self.credential {
            Credential::Session { user_id } => Some(user_id),
            Credential::ApiKey { .. } => None,
        }
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Principal>().cloned().ok_or_else(ApiError::unauthorized)
    }
}
