//! The organization's secrets: values it gives us to use on its behalf (an
//! LLM provider's API key, a header of an HTTP tool). Owners and admins add,
//! list and delete them; a value is sealed with the server's key at once and
//! is never returned, logged or audited. Configurations refer to a secret by
//! its name.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use switchboard_store::{NewTenantSecret, TenantSecret, new_id};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::dto::iso;
use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, ApiQuery, Deleted, IdPath, ListParams};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_secrets, create_secret)).routes(routes!(get_secret, delete_secret))
}

/// The longest value accepted, in bytes.
pub const MAX_SECRET_BYTES: usize = 8 * 1024;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSecret {
    /// How configurations refer to it: 1-64 of `[A-Za-z0-9_.-]`, starting with a letter or digit.
    #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    pub name: String,
    /// The value (up to 8 KiB, no control characters). Stored encrypted; never shown again.
    #[schema(value_type = String, min_length = 1, max_length = 8192)]
    pub value: SecretString,
}

/// A secret as it is shown: its name, never its value.
#[derive(Serialize, ToSchema)]
pub struct SecretDto {
    pub id: String,
    pub name: String,
    /// The user or API key that added it.
    pub created_by: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct SecretList {
    pub secrets: Vec<SecretDto>,
    pub next_cursor: Option<String>,
}

fn dto(s: TenantSecret) -> SecretDto {
    SecretDto {
        id: s.id,
        name: s.name,
        created_by: s.created_by,
        created_at: iso(s.created_at),
        updated_at: iso(s.updated_at),
    }
}

/// Whether `name` is a valid secret name (shared with the configurations that refer to one).
pub fn is_secret_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    (1..=64).contains(&bytes.len())
        && bytes[0].is_ascii_alphanumeric()
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

fn check_value(value: &SecretString) -> ApiResult<()> {
    let value = value.expose_secret();
    if value.is_empty() || value.len() > MAX_SECRET_BYTES {
        return Err(ApiError::invalid(format!("`value` must be 1 to {MAX_SECRET_BYTES} bytes")));
    }
    // Values end up in HTTP headers: a line break there would add a header of its own.
    if value.chars().any(char::is_control) {
        return Err(ApiError::invalid("`value` must not contain control characters or line breaks"));
    }
    Ok(())
}

/// Lists the organization's secrets (names only).
#[utoipa::path(get, path = "/v1/secrets", tag = "organization", params(ListParams),
    responses((status = 200, body = SecretList)))]
async fn list_secrets(
    State(state): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Json<SecretList>> {
    p.require(Permission::ManageSecrets)?;
    let page = state.store.list_secrets(&p.tenant, &q.page()?).await?;
    Ok(Json(SecretList { secrets: page.items.into_iter().map(dto).collect(), next_cursor: page.next_cursor }))
}

/// Adds a secret. The value is encrypted at once and never returned.
#[utoipa::path(post, path = "/v1/secrets", tag = "organization", request_body = CreateSecret,
    responses((status = 201, body = SecretDto)))]
async fn create_secret(
    State(state): State<AppState>,
    p: Principal,
    ApiJson(body): ApiJson<CreateSecret>,
) -> ApiResult<(StatusCode, Json<SecretDto>)> {
    p.require(Permission::ManageSecrets)?;
    if !is_secret_name(&body.name) {
        return Err(ApiError::invalid("`name` must be 1-64 of [A-Za-z0-9_.-], starting with a letter or digit"));
    }
    check_value(&body.value)?;
    let id = new_id();
    let new = NewTenantSecret { sealed: state.sealer.seal_tenant_secret(&id, &body.value), id, name: body.name };
    let secret = state.store.create_secret(&p.tenant, &p.audit(), &new).await?;
    Ok((StatusCode::CREATED, Json(dto(secret))))
}

/// One secret (its name, never its value).
#[utoipa::path(get, path = "/v1/secrets/{id}", tag = "organization", params(("id" = String, Path)),
    responses((status = 200, body = SecretDto)))]
async fn get_secret(State(state): State<AppState>, p: Principal, IdPath(id): IdPath) -> ApiResult<Json<SecretDto>> {
    p.require(Permission::ManageSecrets)?;
    Ok(Json(dto(state.store.get_secret(&p.tenant, &id).await?)))
}

/// Deletes a secret. Configurations that name it stop being able to use it at once.
#[utoipa::path(delete, path = "/v1/secrets/{id}", tag = "organization", params(("id" = String, Path)),
    responses((status = 200, body = Deleted)))]
async fn delete_secret(State(state): State<AppState>, p: Principal, IdPath(id): IdPath) -> ApiResult<Json<Deleted>> {
    p.require(Permission::ManageSecrets)?;
    state.store.delete_secret(&p.tenant, &p.audit(), &id).await?;
    Ok(Json(Deleted { id, deleted: true }))
}
