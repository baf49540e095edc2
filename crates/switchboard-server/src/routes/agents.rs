//! Agents and their immutable versions: create (the first version is live at
//! once), change (a new draft), release, roll back, diff.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use switchboard_store::{Agent, AgentVersion};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::dto::iso;
use crate::auth::{Permission, Principal};
use crate::conversation::agent::{self, AgentConfig, Change};
use crate::conversation::http_tools::ToolSettings;
use crate::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, ApiQuery, IdPath, ListParams, is_object_id};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_agents, create_agent))
        .routes(routes!(get_agent, update_agent, delete_agent))
        .routes(routes!(list_versions))
        .routes(routes!(get_version))
        .routes(routes!(release_version))
        .routes(routes!(rollback))
        .routes(routes!(diff_versions))
}

#[derive(Serialize, ToSchema)]
pub struct AgentDto {
    pub id: String,
    pub name: String,
    /// The version new conversations are served by.
    pub version: Option<i32>,
    /// The newest version (a draft when it is above `version`).
    pub latest_version: i32,
    /// The live version's configuration.
    pub config: Option<AgentConfig>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct AgentVersionDto {
    pub agent_id: String,
    pub version: i32,
    pub live: bool,
    /// `draft` until first released, then `released`.
    pub state: String,
    pub config: AgentConfig,
    pub created_at: String,
    pub released_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AgentList {
    pub agents: Vec<AgentDto>,
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct VersionList {
    pub versions: Vec<AgentVersionDto>,
    pub next_cursor: Option<String>,
}

/// `POST /v1/agents` answers `{id, version}` and the rest of the agent.
#[derive(Serialize, ToSchema)]
pub struct CreatedAgent {
    pub id: String,
    pub version: i32,
    pub name: String,
    pub config: AgentConfig,
}

/// A partial change: the fields given replace the current ones (from the
/// newest version) in a new draft version.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAgent {
    pub name: Option<String>,
    pub collection_ids: Option<Vec<String>>,
    pub persona: Option<String>,
    pub instructions: Option<String>,
    pub language: Option<agent::LanguagePolicy>,
    pub guardrails: Option<agent::Guardrails>,
    pub escalation: Option<agent::EscalationPolicy>,
    pub intents: Option<Vec<agent::Intent>>,
    pub autonomy: Option<agent::Autonomy>,
    pub knowledge: Option<agent::KnowledgePolicy>,
    /// Omit to keep; null to go back to the extractive answerer.
    #[serde(default, with = "super::org::double_option")]
    #[schema(value_type = Option<agent::LlmSettings>)]
    pub llm: Option<Option<agent::LlmSettings>>,
    /// The whole tools section (`create_ticket` and every HTTP tool); omit to keep.
    pub tools: Option<ToolSettings>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollbackBody {
    /// The earlier release to return to; default: the release before the live one.
    pub version: Option<i32>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DiffParams {
    /// The older version; default: the live one.
    pub from: Option<i32>,
    /// The newer version; default: the newest one.
    pub to: Option<i32>,
}

#[derive(Serialize, ToSchema)]
pub struct DiffDto {
    pub from: i32,
    pub to: i32,
    pub changes: Vec<Change>,
}

fn version_dto(v: AgentVersion) -> ApiResult<AgentVersionDto> {
    Ok(AgentVersionDto {
        agent_id: v.agent_id,
        version: v.version,
        live: v.live,
        state: if v.released_at.is_some() { "released" } else { "draft" }.into(),
        config: AgentConfig::from_stored(&v.config)?,
        created_at: iso(v.created_at),
        released_at: v.released_at.map(iso),
    })
}

async fn agent_dto(state: &AppState, p: &Principal, a: Agent) -> ApiResult<AgentDto> {
    let config = match a.live_version {
        Some(n) => Some(AgentConfig::from_stored(&state.store.get_agent_version(&p.tenant, &a.id, n).await?.config)?),
        None => None,
    };
    Ok(AgentDto {
        id: a.id,
        name: a.name,
        version: a.live_version,
        latest_version: a.latest_version,
        config,
        created_at: iso(a.created_at),
        updated_at: iso(a.updated_at),
    })
}

/// Every collection must be this tenant's: a foreign id is refused like an unknown one.
async fn check_collections(state: &AppState, p: &Principal, config: &AgentConfig) -> ApiResult<()> {
    for id in &config.collection_ids {
        state.store.get_collection(&p.tenant, id).await.map_err(|e| match e {
            switchboard_store::StoreError::NotFound => ApiError::invalid(format!("no collection `{id}`")),
            other => other.into(),
        })?;
    }
    Ok(())
}

/// Every secret the LLM settings and the tools name must exist (its value is not read here).
async fn check_secrets(state: &AppState, p: &Principal, config: &AgentConfig) -> ApiResult<()> {
    for name in config.llm.iter().flat_map(|llm| llm.secret_names()).chain(config.tools.secret_names()) {
        if state.store.find_secret_by_name(&p.tenant, name).await?.is_none() {
            return Err(ApiError::invalid(format!("no secret named `{name}` (add it with POST /v1/secrets)")));
        }
    }
    Ok(())
}

/// Lists agents.
#[utoipa::path(get, path = "/v1/agents", tag = "agents", params(ListParams),
    responses((status = 200, body = AgentList)))]
async fn list_agents(
    State(state): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Json<AgentList>> {
    p.require(Permission::Read)?;
    let page = state.store.list_agents(&p.tenant, &q.page()?).await?;
    let mut agents = Vec::with_capacity(page.items.len());
    for a in page.items {
        agents.push(agent_dto(&state, &p, a).await?);
    }
    Ok(Json(AgentList { agents, next_cursor: page.next_cursor }))
}

/// Creates an agent; its first version is live at once.
#[utoipa::path(post, path = "/v1/agents", tag = "agents", request_body = AgentConfig,
    responses((status = 201, body = CreatedAgent)))]
async fn create_agent(
    State(state): State<AppState>,
    p: Principal,
    ApiJson(body): ApiJson<AgentConfig>,
) -> ApiResult<(StatusCode, Json<CreatedAgent>)> {
    p.require(Permission::Write)?;
    let config = body.validate()?;
    check_collections(&state, &p, &config).await?;
    check_secrets(&state, &p, &config).await?;
    let stored = serde_json::to_value(&config).map_err(anyhow::Error::from)?;
    let (agent, version) =
        state.store.create_agent(&p.tenant, &p.audit(), &config.name, &stored, &config.collection_ids).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedAgent { id: agent.id, version: version.version, name: config.name.clone(), config }),
    ))
}

/// One agent, with its live configuration.
#[utoipa::path(get, path = "/v1/agents/{id}", tag = "agents", params(("id" = String, Path)),
    responses((status = 200, body = AgentDto)))]
async fn get_agent(State(state): State<AppState>, p: Principal, IdPath(id): IdPath) -> ApiResult<Json<AgentDto>> {
    p.require(Permission::Read)?;
    let agent = state.store.get_agent(&p.tenant, &id).await?;
    Ok(Json(agent_dto(&state, &p, agent).await?))
}

/// Changes an agent: the result is a new draft version; the live version
/// keeps serving until this one is released.
#[utoipa::path(patch, path = "/v1/agents/{id}", tag = "agents", params(("id" = String, Path)),
    request_body = UpdateAgent, responses((status = 200, body = AgentVersionDto)))]
async fn update_agent(
    State(state): State<AppState>,
    p: Principal,
    IdPath(id): IdPath,
    ApiJson(body): ApiJson<UpdateAgent>,
) -> ApiResult<Json<AgentVersionDto>> {
    p.require(Permission::Write)?;
    let agent = state.store.get_agent(&p.tenant, &id).await?;
    let latest = state.store.get_agent_version(&p.tenant, &id, agent.latest_version).await?;
    let mut config = AgentConfig::from_stored(&latest.config)?;
    macro_rules! take {
        ($($field:ident),*) => { $(if let Some(v) = body.$field { config.$field = v; })* };
    }
    take!(
        name,
        collection_ids,
        persona,
        instructions,
        language,
        guardrails,
        escalation,
        intents,
        autonomy,
        knowledge,
        llm,
        tools
    );
    let config = config.validate()?;
    check_collections(&state, &p, &config).await?;
    check_secrets(&state, &p, &config).await?;
    let stored = serde_json::to_value(&config).map_err(anyhow::Error::from)?;
    if stored == latest.config {
        return Err(ApiError::conflict("nothing changed: the newest version already has this configuration"));
    }
    let version = state.store.add_agent_version(&p.tenant, &p.audit(), &id, &config.name, &stored).await?;
    Ok(Json(version_dto(version)?))
}

/// Deletes an agent with its versions and conversations.
#[utoipa::path(delete, path = "/v1/agents/{id}", tag = "agents", params(("id" = String, Path)),
    responses((status = 204)))]
async fn delete_agent(State(state): State<AppState>, p: Principal, IdPath(id): IdPath) -> ApiResult<StatusCode> {
    p.require(Permission::Write)?;
    state.store.delete_agent(&p.tenant, &p.audit(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An agent's versions, newest first.
#[utoipa::path(get, path = "/v1/agents/{id}/versions", tag = "agents", params(("id" = String, Path), ListParams),
    responses((status = 200, body = VersionList)))]
async fn list_versions(
    State(state): State<AppState>,
    p: Principal,
    IdPath(id): IdPath,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Json<VersionList>> {
    p.require(Permission::Read)?;
    let page = state.store.list_agent_versions(&p.tenant, &id, &q.page()?).await?;
    let versions = page.items.into_iter().map(version_dto).collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(VersionList { versions, next_cursor: page.next_cursor }))
}

/// `{id}` and `{version}` of a version path; anything malformed is a 404.
fn version_path(id: &str, version: &str) -> ApiResult<(String, i32)> {
    let n: i32 = version.parse().map_err(|_| ApiError::not_found())?;
    if !is_object_id(id) || n < 1 {
        return Err(ApiError::not_found());
    }
    Ok((id.to_owned(), n))
}

/// One version of an agent.
#[utoipa::path(get, path = "/v1/agents/{id}/versions/{version}", tag = "agents",
    params(("id" = String, Path), ("version" = i32, Path)), responses((status = 200, body = AgentVersionDto)))]
async fn get_version(
    State(state): State<AppState>,
    p: Principal,
    Path((id, version)): Path<(String, String)>,
) -> ApiResult<Json<AgentVersionDto>> {
    p.require(Permission::Read)?;
    let (id, n) = version_path(&id, &version)?;
    Ok(Json(version_dto(state.store.get_agent_version(&p.tenant, &id, n).await?)?))
}

/// Makes a version live and records the knowledge it is released with.
#[utoipa::path(post, path = "/v1/agents/{id}/versions/{version}/release", tag = "agents",
    params(("id" = String, Path), ("version" = i32, Path)), responses((status = 200, body = AgentVersionDto)))]
async fn release_version(
    State(state): State<AppState>,
    p: Principal,
    Path((id, version)): Path<(String, String)>,
) -> ApiResult<Json<AgentVersionDto>> {
    p.require(Permission::Write)?;
    let (id, n) = version_path(&id, &version)?;
    let target = state.store.get_agent_version(&p.tenant, &id, n).await?;
    let config = AgentConfig::from_stored(&target.config)?;
    let released = state.store.release_agent_version(&p.tenant, &p.audit(), &id, n, &config.collection_ids).await?;
    Ok(Json(version_dto(released)?))
}

/// Returns to an earlier release (by default the one before the live version).
#[utoipa::path(post, path = "/v1/agents/{id}/rollback", tag = "agents", params(("id" = String, Path)),
    request_body = RollbackBody, responses((status = 200, body = AgentVersionDto)))]
async fn rollback(
    State(state): State<AppState>,
    p: Principal,
    IdPath(id): IdPath,
    ApiJson(body): ApiJson<RollbackBody>,
) -> ApiResult<Json<AgentVersionDto>> {
    p.require(Permission::Write)?;
    let agent = state.store.get_agent(&p.tenant, &id).await?;
    let live = agent.live_version.unwrap_or(0);
    let target = match body.version {
        Some(n) => {
            let v = state.store.get_agent_version(&p.tenant, &id, n).await.map_err(|e| match e {
                switchboard_store::StoreError::NotFound => ApiError::invalid(format!("no version {n}")),
                other => other.into(),
            })?;
            if v.released_at.is_none() {
                return Err(ApiError::invalid(format!("version {n} was never released; release it instead")));
            }
            n
        }
        None => {
            // The newest release older than the live version.
            let mut found = None;
            let mut page = switchboard_store::PageRequest::new(None, Some(100));
            'pages: loop {
                let versions = state.store.list_agent_versions(&p.tenant, &id, &page).await?;
                for v in &versions.items {
                    if v.version < live && v.released_at.is_some() {
                        found = Some(v.version);
                        break 'pages;
                    }
                }
                match versions.next_cursor {
                    Some(next) => page.after = Some(next),
                    None => break,
                }
            }
            found.ok_or_else(|| ApiError::conflict("there is no earlier release to roll back to"))?
        }
    };
    if target == live {
        return Err(ApiError::conflict(format!("version {target} is already live")));
    }
    let released = state.store.release_agent_version(&p.tenant, &p.audit(), &id, target, &[]).await?;
    Ok(Json(version_dto(released)?))
}

/// What changed between two versions.
#[utoipa::path(get, path = "/v1/agents/{id}/diff", tag = "agents", params(("id" = String, Path), DiffParams),
    responses((status = 200, body = DiffDto)))]
async fn diff_versions(
    State(state): State<AppState>,
    p: Principal,
    IdPath(id): IdPath,
    ApiQuery(q): ApiQuery<DiffParams>,
) -> ApiResult<Json<DiffDto>> {
    p.require(Permission::Read)?;
    let found = |n: i32| {
        let state = state.clone();
        let (t, id) = (p.tenant.clone(), id.clone());
        async move {
            state.store.get_agent_version(&t, &id, n).await.map_err(|e| match e {
                switchboard_store::StoreError::NotFound => ApiError::invalid(format!("no version {n}")),
                other => other.into(),
            })
        }
    };
    let agent = state.store.get_agent(&p.tenant, &id).await?;
    let to = q.to.unwrap_or(agent.latest_version);
    let from = q.from.or(agent.live_version).unwrap_or(to);
    let (a, b) = (found(from).await?, found(to).await?);
    Ok(Json(DiffDto { from, to, changes: agent::diff(&a.config, &b.config) }))
}
