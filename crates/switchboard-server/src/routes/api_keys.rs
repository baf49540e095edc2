//! API keys: minted here, shown once, stored as a hash; revocation takes
//! effect on the next request because every request looks the key up.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use switchboard_store::{ApiKey, NewApiKey, Role, Scope};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::dto::iso;
use crate::auth::credentials::mint_api_key;
use crate::auth::permissions::role_may_hold;
use crate::auth::{Permission, Principal};
use crate::domain::{Name, parse_scopes};
use crate::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, ApiQuery, IdPath, ListParams};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_keys, create_key)).routes(routes!(get_key, revoke_key))
}

#[derive(Serialize, ToSchema)]
pub struct ApiKeyDto {
    pub id: String,
    pub name: String,
    /// The visible start of the key.
    pub prefix: String,
    #[schema(value_type = String)]
    pub role: Role,
    #[schema(value_type = Vec<String>)]
    pub scopes: Vec<Scope>,
    pub created_by: Option<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

impl From<ApiKey> for ApiKeyDto {
    fn from(k: ApiKey) -> Self {
        Self {
            id: k.id,
            name: k.name,
            prefix: k.prefix,
            role: k.role,
            scopes: k.scopes,
            created_by: k.created_by,
            created_at: iso(k.created_at),
            last_used_at: k.last_used_at.map(iso),
            revoked_at: k.revoked_at.map(iso),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub key: ApiKeyDto,
    /// The whole key. It is shown this once and never stored.
    pub secret: String,
}

#[derive(Serialize, ToSchema)]
pub struct ApiKeyList {
    pub api_keys: Vec<ApiKeyDto>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\x00-\\x1F\\x7F-\\x9F]*\\S[^\\x00-\\x1F\\x7F-\\x9F]*$")]
    pub name: String,
    /// At most the creator's own role; default: the creator's role.
    #[schema(value_type = Option<super::dto::RoleSchema>)]
    pub role: Option<Role>,
    /// Any of `read`, `write`, `admin`; default: all the role may hold.
    #[schema(value_type = Option<Vec<super::dto::ScopeSchema>>, min_items = 1)]
    pub scopes: Option<Vec<String>>,
}

/// Lists API keys (revoked ones included, marked).
#[utoipa::path(get, path = "/v1/api-keys", tag = "team", params(ListParams), responses((status = 200, body = ApiKeyList)))]
async fn list_keys(
    State(state): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Json<ApiKeyList>> {
    p.require(Permission::ManageTeam)?;
    let page = state.store.list_api_keys(&p.tenant, &q.page()?).await?;
    Ok(Json(ApiKeyList { api_keys: page.items.into_iter().map(Into::into).collect(), next_cursor: page.next_cursor }))
}

/// Creates an API key. The response holds the secret, once.
#[utoipa::path(post, path = "/v1/api-keys", tag = "team", request_body = CreateApiKey,
    responses((status = 201, body = CreatedApiKey)))]
async fn create_key(
    State(state): State<AppState>,
    p: Principal,
    ApiJson(body): ApiJson<CreateApiKey>,
) -> ApiResult<(StatusCode, Json<CreatedApiKey>)> {
    p.require(Permission::ManageTeam)?;
    let name = Name::parse("name", &body.name)?;
    let role = body.role.unwrap_or(p.role);
    if role.rank() < p.role.rank() {
        return Err(ApiError::forbidden("a key cannot have a more powerful role than its creator"));
    }
    let scopes = match &body.scopes {
        Some(s) => parse_scopes(s)?,
        None => Scope::ALL.into_iter().filter(|s| role_may_hold(role, *s)).collect(),
    };
    if let Some(bad) = scopes.iter().find(|s| !role_may_hold(role, **s)) {
        return Err(ApiError::invalid(format!("the `{role}` role cannot hold the `{}` scope", bad.as_str())));
    }
    let minted = mint_api_key();
    let new = NewApiKey {
        name: name.as_str().into(),
        prefix: minted.prefix,
        key_hash: minted.hash,
        role,
        scopes,
        created_by: p.user_id().map(str::to_owned),
    };
    let key = state.store.create_api_key(&p.tenant, &p.audit(), &new).await?;
    Ok((StatusCode::CREATED, Json(CreatedApiKey { key: key.into(), secret: minted.secret })))
}

/// One API key (never its secret).
#[utoipa::path(get, path = "/v1/api-keys/{id}", tag = "team", params(("id" = String, Path)),
    responses((status = 200, body = ApiKeyDto), (status = 404, body = crate::error::Problem)))]
async fn get_key(State(state): State<AppState>, p: Principal, IdPath(id): IdPath) -> ApiResult<Json<ApiKeyDto>> {
    p.require(Permission::ManageTeam)?;
    Ok(Json(state.store.get_api_key(&p.tenant, &id).await?.into()))
}

/// Revokes an API key; it stops working on the next request.
#[utoipa::path(delete, path = "/v1/api-keys/{id}", tag = "team", params(("id" = String, Path)),
    responses((status = 200, body = ApiKeyDto), (status = 404, body = crate::error::Problem)))]
async fn revoke_key(State(state): State<AppState>, p: Principal, IdPath(id): IdPath) -> ApiResult<Json<ApiKeyDto>> {
    p.require(Permission::ManageTeam)?;
    Ok(Json(state.store.revoke_api_key(&p.tenant, &p.audit(), &id).await?.into()))
}
