//! Dashboard login: email and password in, an HttpOnly session cookie and a
//! CSRF token out. Attempts are throttled per address and per email.

use axum::Extension;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use switchboard_store::{Actor, AuditCtx, NewSession, Role, Scope, now_millis};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::dto::{OrgDto, UserDto};
use crate::auth::credentials::{dummy_password_hash, random_token, sha256_hex, verify_password};
use crate::auth::middleware::{SESSION_COOKIE, session_cookie};
use crate::auth::{Credential, Principal};
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::http::extract::ApiJson;
use crate::http::rate_limit::ClientIp;
use crate::http::request_id::RequestId;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(login)).routes(routes!(logout)).routes(routes!(me))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(max_length = 254)]
    pub email: String,
    #[schema(max_length = 1024)]
    pub password: String,
    /// Which organization to enter; default: the first the user belongs to.
    pub org_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    pub user: UserDto,
    pub org: OrgDto,
    #[schema(value_type = String)]
    pub role: Role,
    /// Echo this in `X-CSRF-Token` on every POST, PATCH and DELETE made with the cookie.
    pub csrf_token: String,
    pub organizations: Vec<OrgDto>,
}

/// Logs in to the dashboard and sets the `sb_session` cookie.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", security(()), request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = crate::error::Problem),
        (status = 429, body = crate::error::Problem)))]
async fn login(
    State(state): State<AppState>,
    client_ip: Option<Extension<ClientIp>>,
    Extension(request_id): Extension<RequestId>,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    let ip = client_ip.map(|Extension(c)| c.0).unwrap_or([127, 0, 0, 1].into());
    state.limiters.check_login(ip, &body.email)?;
    let wrong = || ApiError::new(ErrorKind::Unauthorized, "wrong email or password");
    let creds = state.store.find_user_credentials(&body.email).await?;
    let hash = creds.as_ref().map(|c| c.password_hash.clone()).unwrap_or_else(|| dummy_password_hash().to_owned());
    let password = body.password.clone();
    let verified = tokio::task::spawn_blocking(move || verify_password(&password, &hash)).await.unwrap_or(false);
    let Some(creds) = creds.filter(|_| verified) else { return Err(wrong()) };
    let memberships = state.store.memberships_of(&creds.user.id).await?;
    let chosen = match &body.org_id {
        Some(id) => memberships.iter().find(|m| &m.org.id == id),
        None => memberships.first(),
    }
    .cloned()
    .ok_or_else(|| ApiError::new(ErrorKind::Forbidden, "you are not a member of that organization"))?;

    let token = random_token(32);
    let csrf_token = random_token(24);
    let ttl_hours = state.settings.auth.session_ttl_hours;
    let audit = AuditCtx { actor: Actor::User(creds.user.id.clone()), request_id: request_id.0 };
    state
        .store
        .create_session(
            &audit,
            &NewSession {
                token_hash: sha256_hex(&token),
                user_id: creds.user.id.clone(),
                org_id: chosen.org.id.clone(),
                csrf_token: csrf_token.clone(),
                expires_at: now_millis() + (ttl_hours as i64) * 3_600_000,
            },
        )
        .await?;
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        ttl_hours * 3600,
        if state.settings.auth.cookie_secure { "; Secure" } else { "" }
    );
    let body = LoginResponse {
        user: creds.user.into(),
        org: chosen.org.into(),
        role: chosen.role,
        csrf_token,
        organizations: memberships.into_iter().map(|m| m.org.into()).collect(),
    };
    let mut response = Json(body).into_response();
    response.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).map_err(anyhow::Error::from)?);
    Ok(response)
}

/// Ends the dashboard session.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", responses((status = 204)))]
async fn logout(State(state): State<AppState>, headers: HeaderMap, _principal: Principal) -> ApiResult<Response> {
    if let Some(cookie) = session_cookie(&headers) {
        state.store.delete_session(&sha256_hex(cookie)).await?;
    }
    let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&clear).map_err(anyhow::Error::from)?);
    Ok(response)
}

#[derive(Serialize, ToSchema)]
pub struct MeResponse {
    pub org: OrgDto,
    #[schema(value_type = String)]
    pub role: Role,
    #[schema(value_type = Vec<String>)]
    pub scopes: Vec<Scope>,
    /// `api_key` or `session`.
    pub credential: &'static str,
    pub api_key_id: Option<String>,
    pub user: Option<UserDto>,
    /// For sessions: the token to echo in `X-CSRF-Token`.
    pub csrf_token: Option<String>,
}

/// Who the caller is: organization, role, scopes.
#[utoipa::path(get, path = "/v1/me", tag = "auth", responses((status = 200, body = MeResponse)))]
async fn me(State(state): State<AppState>, headers: HeaderMap, principal: Principal) -> ApiResult<Json<MeResponse>> {
    let org = state.store.get_org(&principal.tenant).await?;
    let (credential, api_key_id, user, csrf_token) = match &principal.credential {
        Credential::ApiKey { key_id } => ("api_key", Some(key_id.clone()), None, None),
        Credential::Session { user_id } => {
            let member = state.store.get_member(&principal.tenant, user_id).await?;
            let session = match session_cookie(&headers) {
                Some(cookie) => state.store.find_session(&sha256_hex(cookie), now_millis()).await?,
                None => None,
            };
            ("session", None, Some(member.user.into()), session.map(|s| s.csrf_token))
        }
    };
    Ok(Json(MeResponse {
        org: org.into(),
        role: principal.role,
        scopes: principal.scopes.clone(),
        credential,
        api_key_id,
        user,
        csrf_token,
    }))
}
