//! Knowledge collections: named sets of documents an agent answers from.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use switchboard_store::{Collection, CollectionPatch, EmbeddingChoice, EmbeddingEndpoint, NewCollection, Tenant};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::dto::iso;
use crate::auth::{Permission, Principal};
use crate::domain::Name;
use crate::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, ApiQuery, IdPath, ListParams};
use crate::knowledge::embedding::{DEFAULT_EMBEDDING_MODEL, REMOTE_PREFIX};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_collections, create_collection)).routes(routes!(
        get_collection,
        update_collection,
        delete_collection
    ))
}

#[derive(Serialize, ToSchema)]
pub struct CollectionDto {
    pub id: String,
    pub name: String,
    pub description: String,
    /// The model this collection's vectors come from, e.g. `local:all-MiniLM-L6-v2`
    /// or `openai:text-embedding-3-small`.
    pub embedding_model: String,
    pub embedding_dim: i32,
    pub embedding: EmbeddingDto,
    /// Chunks without a vector from the collection's model yet: being
    /// re-embedded after a model change (0 when every chunk has one).
    pub vectors_pending: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Collection> for CollectionDto {
    fn from(c: Collection) -> Self {
        let embedding = EmbeddingDto::of(&c);
        Self {
            id: c.id,
            name: c.name,
            description: c.description,
            embedding,
            embedding_model: c.embedding_model,
            embedding_dim: c.embedding_dim,
            vectors_pending: c.vectors_pending,
            created_at: iso(c.created_at),
            updated_at: iso(c.updated_at),
        }
    }
}

/// Where a collection's vectors come from.
#[derive(Serialize, ToSchema)]
pub struct EmbeddingDto {
    /// `local` (all-MiniLM-L6-v2 in the server) or `openai` (an OpenAI-compatible Embeddings endpoint).
    pub provider: &'static str,
    /// The model's name: `all-MiniLM-L6-v2`, `text-embedding-3-small`, …
    pub model: String,
    pub dimensions: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key_secret: Option<String>,
}

impl EmbeddingDto {
    fn of(c: &Collection) -> Self {
        let (provider, model) = match &c.embedding_endpoint {
            Some(_) => ("openai", c.embedding_model.strip_prefix(REMOTE_PREFIX).unwrap_or(&c.embedding_model)),
            None => ("local", c.embedding_model.strip_prefix("local:").unwrap_or(&c.embedding_model)),
        };
        Self {
            provider,
            model: model.to_owned(),
            dimensions: c.embedding_dim,
            base_url: c.embedding_endpoint.as_ref().map(|e| e.base_url.clone()),
            api_key_secret: c.embedding_endpoint.as_ref().and_then(|e| e.api_key_secret.clone()),
        }
    }
}

/// The embedding model a collection uses. Changing it drops the collection's
/// vectors and computes them again with the new model in the background
/// (`vectors_pending` counts down; full-text search works throughout).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingSettings {
    /// `local` (the default: all-MiniLM-L6-v2, run in the server) or `openai`.
    pub provider: EmbeddingProvider,
    /// The endpoint's model, e.g. `text-embedding-3-small` (`openai` only).
    #[schema(max_length = 200)]
    pub model: Option<String>,
    /// E.g. `https://api.openai.com/v1` or `http://localhost:11434/v1`; `/embeddings` is appended.
    #[schema(max_length = 2000)]
    pub base_url: Option<String>,
    /// The name of the secret (POST /v1/secrets) holding the endpoint's API key.
    pub api_key_secret: Option<String>,
    /// Ask for vectors of this size (models that can shorten theirs, like
    /// text-embedding-3); otherwise the model's own size, learnt from a first call.
    #[schema(minimum = 1, maximum = 4096)]
    pub dimensions: Option<u32>,
}

#[derive(Deserialize, ToSchema, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum EmbeddingProvider {
    Local,
    Openai,
}

/// The model `settings` name, checked: a remote endpoint must be allowed by
/// the network policy, its secret must exist, and it must answer one
/// embedding (which also tells its dimension).
async fn embedding_choice(state: &AppState, t: &Tenant, settings: &EmbeddingSettings) -> ApiResult<EmbeddingChoice> {
    let job_max_attempts = state.settings.knowledge.job_max_attempts;
    if settings.provider == EmbeddingProvider::Local {
        if settings.model.is_some() || settings.base_url.is_some() || settings.api_key_secret.is_some() {
            return Err(ApiError::invalid(
                "the local provider takes no `model`, `base_url` or `api_key_secret` (it runs all-MiniLM-L6-v2)",
            ));
        }
        if settings.dimensions.is_some_and(|d| d as i32 != DEFAULT_EMBEDDING_MODEL.1) {
            return Err(ApiError::invalid(format!(
                "the local model's vectors have {} dimensions",
                DEFAULT_EMBEDDING_MODEL.1
            )));
        }
        let (model, dim) = DEFAULT_EMBEDDING_MODEL;
        return Ok(EmbeddingChoice { model: model.to_owned(), dim, endpoint: None, job_max_attempts });
    }
    let model = settings.model.as_deref().map(str::trim).unwrap_or_default();
    if model.is_empty() || model.chars().count() > 200 || model.chars().any(char::is_control) {
        return Err(ApiError::invalid("`model` must name the endpoint's model (1 to 200 characters)"));
    }
    let base_url = settings.base_url.as_deref().map(str::trim).unwrap_or_default();
    let parsed = url::Url::parse(base_url)
        .map_err(|_| ApiError::invalid("`base_url` must be an http(s) URL, e.g. https://api.openai.com/v1"))?;
    if !matches!(parsed.scheme(), "http" | "https") || base_url.len() > 2000 || parsed.password().is_some() {
        return Err(ApiError::invalid("`base_url` must be an http(s) URL without credentials"));
    }
    if let Some(name) = &settings.api_key_secret
        && state.store.find_secret_by_name(t, name).await?.is_none()
    {
        return Err(ApiError::invalid(format!("no secret named `{name}` (add it with POST /v1/secrets)")));
    }
    if settings.dimensions.is_some_and(|d| !(1..=4096).contains(&d)) {
        return Err(ApiError::invalid("`dimensions` must be between 1 and 4096"));
    }
    let client = crate::knowledge::embedding::remote_client(state, t, base_url, settings.api_key_secret.as_deref())
        .await
        .map_err(|e| ApiError::invalid(format!("the embeddings endpoint cannot be used: {e}")))?;
    let probe = client
        .embed(model, &["Which embedding size does this model give?".to_owned()], settings.dimensions)
        .await
        .map_err(|e| {
            ApiError::invalid(format!(
                "the embeddings endpoint {} did not embed a test sentence: {e}",
                client.endpoint()
            ))
        })?;
    let dim = probe.vectors.first().map_or(0, Vec::len);
    Ok(EmbeddingChoice {
        model: format!("{REMOTE_PREFIX}{model}"),
        dim: i32::try_from(dim).unwrap_or(i32::MAX),
        endpoint: Some(EmbeddingEndpoint {
            base_url: base_url.to_owned(),
            api_key_secret: settings.api_key_secret.clone(),
            request_dimensions: settings.dimensions.is_some(),
        }),
        job_max_attempts,
    })
}

#[derive(Serialize, ToSchema)]
pub struct CollectionList {
    pub collections: Vec<CollectionDto>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCollection {
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\x00-\\x1F\\x7F-\\x9F]*\\S[^\\x00-\\x1F\\x7F-\\x9F]*$")]
    pub name: String,
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    /// The embedding model; the local one when left out.
    pub embedding: Option<EmbeddingSettings>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCollection {
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\x00-\\x1F\\x7F-\\x9F]*\\S[^\\x00-\\x1F\\x7F-\\x9F]*$")]
    pub name: Option<String>,
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    /// A new embedding model: the collection's vectors are computed again in
    /// the background (`vectors_pending`); the same model on another endpoint
    /// (a new URL or key) keeps them.
    pub embedding: Option<EmbeddingSettings>,
}

fn description(value: &str) -> Result<String, ApiError> {
    if value.chars().count() > 2000 {
        return Err(ApiError::invalid("`description` must be at most 2000 characters"));
    }
    if value.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r')) {
        return Err(ApiError::invalid("`description` must not contain control characters"));
    }
    Ok(value.trim().to_owned())
}

/// Lists collections.
#[utoipa::path(get, path = "/v1/collections", tag = "knowledge", params(ListParams),
    responses((status = 200, body = CollectionList)))]
async fn list_collections(
    State(state): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Json<CollectionList>> {
    p.require(Permission::Read)?;
    let page = state.store.list_collections(&p.tenant, &q.page()?).await?;
    Ok(Json(CollectionList {
        collections: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Creates a collection.
#[utoipa::path(post, path = "/v1/collections", tag = "knowledge", request_body = CreateCollection,
    responses((status = 201, body = CollectionDto), (status = 409, body = crate::error::Problem)))]
async fn create_collection(
    State(state): State<AppState>,
    p: Principal,
    ApiJson(body): ApiJson<CreateCollection>,
) -> ApiResult<(StatusCode, Json<CollectionDto>)> {
    p.require(Permission::Write)?;
    let name = Name::parse("name", &body.name)?;
    let description = description(body.description.as_deref().unwrap_or_default())?;
    let embedding = match &body.embedding {
        Some(settings) => Some(embedding_choice(&state, &p.tenant, settings).await?),
        None => None,
    };
    let new = NewCollection {
        name: name.as_str().to_owned(),
        description,
        embedding_model: embedding.as_ref().map_or(DEFAULT_EMBEDDING_MODEL.0.to_owned(), |e| e.model.clone()),
        embedding_dim: embedding.as_ref().map_or(DEFAULT_EMBEDDING_MODEL.1, |e| e.dim),
        embedding_endpoint: embedding.and_then(|e| e.endpoint),
    };
    let collection = state.store.create_collection(&p.tenant, &p.audit(), &new).await?;
    if collection.embedding_endpoint.is_some()
        && let Err(e) = state.store.prepare_vector_index(collection.embedding_dim).await
    {
        tracing::warn!(error = %e, dim = collection.embedding_dim, "no vector index for this dimension: dense search scans");
    }
    Ok((StatusCode::CREATED, Json(collection.into())))
}

/// One collection.
#[utoipa::path(get, path = "/v1/collections/{id}", tag = "knowledge", params(("id" = String, Path)),
    responses((status = 200, body = CollectionDto), (status = 404, body = crate::error::Problem)))]
async fn get_collection(
    State(state): State<AppState>,
    p: Principal,
    IdPath(id): IdPath,
) -> ApiResult<Json<CollectionDto>> {
    p.require(Permission::Read)?;
    Ok(Json(state.store.get_collection(&p.tenant, &id).await?.into()))
}

/// Renames a collection, changes its description or its embedding model.
#[utoipa::path(patch, path = "/v1/collections/{id}", tag = "knowledge", params(("id" = String, Path)),
    request_body = UpdateCollection, responses((status = 200, body = CollectionDto), (status = 404, body = crate::error::Problem)))]
async fn update_collection(
    State(state): State<AppState>,
    p: Principal,
    IdPath(id): IdPath,
    ApiJson(body): ApiJson<UpdateCollection>,
) -> ApiResult<Json<CollectionDto>> {
    p.require(Permission::Write)?;
    let mut patch = CollectionPatch {
        name: body.name.as_deref().map(|n| Name::parse("name", n).map(|n| n.as_str().to_owned())).transpose()?,
        description: body.description.as_deref().map(description).transpose()?,
        embedding: None,
    };
    if let Some(settings) = &body.embedding {
        state.store.get_collection(&p.tenant, &id).await?;
        patch.embedding = Some(embedding_choice(&state, &p.tenant, settings).await?);
    }
    let updated = state.store.update_collection(&p.tenant, &p.audit(), &id, &patch).await?;
    if updated.vectors_pending > 0 {
        state.jobs_queued.notify_waiters();
    }
    Ok(Json(updated.into()))
}

/// Deletes a collection and everything in it.
#[utoipa::path(delete, path = "/v1/collections/{id}", tag = "knowledge", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = crate::error::Problem)))]
async fn delete_collection(State(state): State<AppState>, p: Principal, IdPath(id): IdPath) -> ApiResult<StatusCode> {
    p.require(Permission::Write)?;
    state.store.delete_collection(&p.tenant, &p.audit(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
