//! Deployments: an agent on websites through the chat widget. Allowed
//! origins, appearance, identity verification and its secret (shown once, at
//! creation and on rotation; stored sealed), the snippet to paste.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use serde::{Deserialize, Serialize};
use switchboard_store::{Deployment, DeploymentPatch, NewDeployment, StoreError, new_id};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::dto::iso;
use crate::auth::{Permission, Principal};
use crate::domain::Name;
use crate::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, ApiQuery, Deleted, IdPath, ListParams, is_object_id};
use crate::state::AppState;
use crate::widget::access::normalize_origins;
use crate::widget::identity;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_deployments, create_deployment))
        .routes(routes!(get_deployment, update_deployment, delete_deployment))
        .routes(routes!(rotate_secret))
        .routes(routes!(snippet))
}

/// How the widget looks and when it greets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Appearance {
    /// The accent colour, `#RRGGBB`.
    #[serde(default = "default_color")]
    #[schema(pattern = "^#[0-9a-fA-F]{6}$", required = true)]
    pub color: String,
    /// An https (or http) image URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 2048)]
    pub logo_url: Option<String>,
    /// `right` (default) or `left`.
    #[serde(default = "default_position")]
    #[schema(required = true)]
    pub position: String,
    /// The first thing the widget says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 500)]
    pub greeting: Option<String>,
    /// The launcher button's text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 60)]
    pub launcher_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proactive: Option<Proactive>,
}

/// An optional greeting that opens by itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Proactive {
    /// Open after this many seconds on the page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 3600)]
    pub after_seconds: Option<u32>,
    /// Only on pages whose URL contains one of these (`*` matches anything).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_patterns: Option<Vec<String>>,
}

fn default_color() -> String {
    "#2563eb".into()
}
fn default_position() -> String {
    "right".into()
}

impl Default for Appearance {
    fn default() -> Self {
        Self {
            color: default_color(),
            logo_url: None,
            position: default_position(),
            greeting: None,
            launcher_text: None,
            proactive: None,
        }
    }
}

fn bounded(field: &str, value: &Option<String>, max: usize) -> ApiResult<Option<String>> {
    super::conversations::optional_text(field, value.as_deref(), max)
}

impl Appearance {
    /// What was stored (always validated on the way in); defaults if unreadable.
    pub fn from_stored(value: &serde_json::Value) -> Self {
        serde_json::from_value(value.clone()).unwrap_or_default()
    }

    pub fn validate(mut self) -> ApiResult<Self> {
        let c = self.color.trim();
        if !(c.len() == 7 && c.starts_with('#') && c[1..].chars().all(|ch| ch.is_ascii_hexdigit())) {
            return Err(ApiError::invalid("`appearance.color` must be #RRGGBB"));
        }
        self.color = c.to_ascii_lowercase();
        if !matches!(self.position.as_str(), "right" | "left") {
            return Err(ApiError::invalid("`appearance.position` must be right or left"));
        }
        self.logo_url = bounded("appearance.logo_url", &self.logo_url, 2048)?;
        if let Some(logo) = &self.logo_url {
            let ok = url::Url::parse(logo).is_ok_and(|u| matches!(u.scheme(), "https" | "http") && u.host().is_some());
            if !ok {
                return Err(ApiError::invalid("`appearance.logo_url` must be an http(s) URL"));
            }
        }
        self.greeting = bounded("appearance.greeting", &self.greeting, 500)?;
        self.launcher_text = bounded("appearance.launcher_text", &self.launcher_text, 60)?;
        if let Some(p) = &mut self.proactive {
            if p.after_seconds.is_some_and(|s| s > 3600) {
                return Err(ApiError::invalid("`appearance.proactive.after_seconds` must be 0 to 3600"));
            }
            if let Some(patterns) = &mut p.url_patterns {
                if patterns.len() > 20 {
                    return Err(ApiError::invalid("`appearance.proactive.url_patterns` holds at most 20 patterns"));
                }
                for pattern in patterns.iter_mut() {
                    *pattern = bounded("appearance.proactive.url_patterns", &Some(pattern.clone()), 200)?
                        .ok_or_else(|| ApiError::invalid("`appearance.proactive.url_patterns` must not be empty"))?;
                }
            }
        }
        Ok(self)
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDeployment {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    pub agent_id: String,
    /// Sites the widget may run on, e.g. `https://shop.example` (exact origins, at most 50).
    pub allowed_origins: Vec<String>,
    /// Require `user_hash` with every `user_id` (default false).
    #[serde(default)]
    pub identity_verification: bool,
    pub appearance: Option<Appearance>,
}

/// Fields given replace the current ones.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateDeployment {
    pub name: Option<String>,
    pub agent_id: Option<String>,
    pub allowed_origins: Option<Vec<String>>,
    pub identity_verification: Option<bool>,
    pub appearance: Option<Appearance>,
}

#[derive(Serialize, ToSchema)]
pub struct DeploymentDto {
    pub id: String,
    pub name: String,
    pub agent_id: String,
    pub allowed_origins: Vec<String>,
    pub identity_verification: bool,
    pub appearance: Appearance,
    pub created_at: String,
    pub updated_at: String,
}

/// A new deployment, with its identity secret: shown this once.
#[derive(Serialize, ToSchema)]
pub struct CreatedDeployment {
    #[serde(flatten)]
    pub deployment: DeploymentDto,
    /// Signs visitors' ids: `user_hash = hex(HMAC-SHA256(identity_secret, user_id))`,
    /// computed on your server. Shown only now; `rotate-secret` makes a new one.
    pub identity_secret: String,
}

#[derive(Serialize, ToSchema)]
pub struct RotatedSecret {
    /// The new secret (the old one stops working at once). Shown only now.
    pub identity_secret: String,
}

#[derive(Serialize, ToSchema)]
pub struct DeploymentList {
    pub deployments: Vec<DeploymentDto>,
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Snippet {
    /// Paste before `</body>` on every page of the allowed sites.
    pub html: String,
}

fn dto(d: Deployment) -> DeploymentDto {
    DeploymentDto {
        appearance: Appearance::from_stored(&d.appearance),
        id: d.id,
        name: d.name,
        agent_id: d.agent_id,
        allowed_origins: d.allowed_origins,
        identity_verification: d.identity_verification,
        created_at: iso(d.created_at),
        updated_at: iso(d.updated_at),
    }
}

fn parse_origins(values: &[String]) -> ApiResult<Vec<String>> {
    normalize_origins(values).map_err(ApiError::invalid)
}

fn parse_agent_id(id: &str) -> ApiResult<String> {
    if is_object_id(id) { Ok(id.to_owned()) } else { Err(ApiError::invalid("`agent_id` must be an agent id")) }
}

/// A missing agent is the caller's mistake: 422, not 404 (the deployment exists).
fn agent_conflict(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(what) => ApiError::invalid(what),
        other => other.into(),
    }
}

/// Lists the organization's deployments (without secrets).
#[utoipa::path(get, path = "/v1/deployments", tag = "deployments", params(ListParams),
    responses((status = 200, body = DeploymentList)))]
async fn list_deployments(
    State(state): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Json<DeploymentList>> {
    p.require(Permission::Read)?;
    let page = state.store.list_deployments(&p.tenant, &q.page()?).await?;
    Ok(Json(DeploymentList { deployments: page.items.into_iter().map(dto).collect(), next_cursor: page.next_cursor }))
}

/// Deploys an agent on websites. The answer holds the identity secret, once.
#[utoipa::path(post, path = "/v1/deployments", tag = "deployments", request_body = CreateDeployment,
    responses((status = 201, body = CreatedDeployment)))]
async fn create_deployment(
    State(state): State<AppState>,
    p: Principal,
    ApiJson(body): ApiJson<CreateDeployment>,
) -> ApiResult<(StatusCode, Json<CreatedDeployment>)> {
    p.require(Permission::Write)?;
    let name = Name::parse("name", &body.name)?;
    let agent_id = parse_agent_id(&body.agent_id)?;
    let allowed_origins = parse_origins(&body.allowed_origins)?;
    let appearance = body.appearance.unwrap_or_default().validate()?;
    let id = new_id();
    let secret = identity::mint_secret();
    let new = NewDeployment {
        sealed_secret: identity::seal(&state.sealer, &id, &secret),
        id,
        agent_id,
        name: name.as_str().to_owned(),
        allowed_origins,
        identity_verification: body.identity_verification,
        appearance: serde_json::to_value(&appearance).map_err(anyhow::Error::from)?,
    };
    let d = state.store.create_deployment(&p.tenant, &p.audit(), &new).await.map_err(agent_conflict)?;
    Ok((StatusCode::CREATED, Json(CreatedDeployment { deployment: dto(d), identity_secret: secret })))
}

/// One deployment (without its secret).
#[utoipa::path(get, path = "/v1/deployments/{id}", tag = "deployments", params(("id" = String, Path)),
    responses((status = 200, body = DeploymentDto)))]
async fn get_deployment(
    State(state): State<AppState>,
    p: Principal,
    IdPath(id): IdPath,
) -> ApiResult<Json<DeploymentDto>> {
    p.require(Permission::Read)?;
    Ok(Json(dto(state.store.get_deployment(&p.tenant, &id).await?)))
}

/// Changes a deployment. Origins and identity verification apply to the next request.
#[utoipa::path(patch, path = "/v1/deployments/{id}", tag = "deployments", params(("id" = String, Path)),
    request_body = UpdateDeployment, responses((status = 200, body = DeploymentDto)))]
async fn update_deployment(
    State(state): State<AppState>,
    p: Principal,
    IdPath(id): IdPath,
    ApiJson(body): ApiJson<UpdateDeployment>,
) -> ApiResult<Json<DeploymentDto>> {
    p.require(Permission::Write)?;
    let patch = DeploymentPatch {
        name: body.name.map(|n| Name::parse("name", &n).map(|n| n.as_str().to_owned())).transpose()?,
        agent_id: body.agent_id.as_deref().map(parse_agent_id).transpose()?,
        allowed_origins: body.allowed_origins.as_deref().map(parse_origins).transpose()?,
        identity_verification: body.identity_verification,
        appearance: body
            .appearance
            .map(|a| a.validate().and_then(|a| serde_json::to_value(a).map_err(ApiError::internal)))
            .transpose()?,
    };
    let d = state.store.update_deployment(&p.tenant, &p.audit(), &id, &patch).await.map_err(agent_conflict)?;
    Ok(Json(dto(d)))
}

/// Deletes a deployment: its widget stops working at once; conversations stay.
#[utoipa::path(delete, path = "/v1/deployments/{id}", tag = "deployments", params(("id" = String, Path)),
    responses((status = 200, body = Deleted)))]
async fn delete_deployment(
    State(state): State<AppState>,
    p: Principal,
    IdPath(id): IdPath,
) -> ApiResult<Json<Deleted>> {
    p.require(Permission::Write)?;
    state.store.delete_deployment(&p.tenant, &p.audit(), &id).await?;
    Ok(Json(Deleted { id, deleted: true }))
}

/// Replaces the identity secret; the old one stops verifying at once.
#[utoipa::path(post, path = "/v1/deployments/{id}/rotate-secret", tag = "deployments",
    params(("id" = String, Path)), responses((status = 200, body = RotatedSecret)))]
async fn rotate_secret(
    State(state): State<AppState>,
    p: Principal,
    IdPath(id): IdPath,
) -> ApiResult<Json<RotatedSecret>> {
    p.require(Permission::Write)?;
    let secret = identity::mint_secret();
    let sealed = identity::seal(&state.sealer, &id, &secret);
    state.store.rotate_deployment_secret(&p.tenant, &p.audit(), &id, &sealed).await?;
    Ok(Json(RotatedSecret { identity_secret: secret }))
}

/// The script tag to paste on the allowed sites.
#[utoipa::path(get, path = "/v1/deployments/{id}/snippet", tag = "deployments", params(("id" = String, Path)),
    responses((status = 200, body = Snippet)))]
async fn snippet(
    State(state): State<AppState>,
    p: Principal,
    IdPath(id): IdPath,
    headers: HeaderMap,
) -> ApiResult<Json<Snippet>> {
    p.require(Permission::Read)?;
    let d = state.store.get_deployment(&p.tenant, &id).await?;
    let base = public_base(&state, &headers);
    Ok(Json(Snippet { html: format!("<script src=\"{base}/widget.js\" data-deployment=\"{}\" async></script>", d.id) }))
}

/// The URL visitors reach this server at: `server.public_url`, else the Host the caller used.
pub fn public_base(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.settings.server.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| h.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c)))
        .map(str::to_owned)
        .unwrap_or_else(|| state.settings.server.listen.to_string());
    format!("http://{host}")
}
