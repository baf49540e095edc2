//! Knowledge collections: named sets of documents an agent answers from.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use switchboard_store::{Collection, CollectionPatch, NewCollection};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::dto::iso;
use crate::auth::{Permission, Principal};
use crate::domain::Name;
use crate::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, ApiQuery, IdPath, ListParams};
use crate::knowledge::embedding::DEFAULT_EMBEDDING_MODEL;
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
    /// The model this collection's vectors come from, e.g. `local:all-MiniLM-L6-v2`.
    pub embedding_model: String,
    pub embedding_dim: i32,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Collection> for CollectionDto {
    fn from(c: Collection) -> Self {
        Self {
            id: c.id,
            name: c.name,
            description: c.description,
            embedding_model: c.embedding_model,
            embedding_dim: c.embedding_dim,
            created_at: iso(c.created_at),
            updated_at: iso(c.updated_at),
        }
    }
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
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCollection {
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\x00-\\x1F\\x7F-\\x9F]*\\S[^\\x00-\\x1F\\x7F-\\x9F]*$")]
    pub name: Option<String>,
    #[schema(max_length = 2000)]
    pub description: Option<String>,
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
    let new = NewCollection {
        name: name.as_str().to_owned(),
        description: description(body.description.as_deref().unwrap_or_default())?,
        embedding_model: DEFAULT_EMBEDDING_MODEL.0.to_owned(),
        embedding_dim: DEFAULT_EMBEDDING_MODEL.1,
    };
    let collection = state.store.create_collection(&p.tenant, &p.audit(), &new).await?;
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

/// Renames a collection or changes its description.
#[utoipa::path(patch, path = "/v1/collections/{id}", tag = "knowledge", params(("id" = String, Path)),
    request_body = UpdateCollection, responses((status = 200, body = CollectionDto), (status = 404, body = crate::error::Problem)))]
async fn update_collection(
    State(state): State<AppState>,
    p: Principal,
    IdPath(id): IdPath,
    ApiJson(body): ApiJson<UpdateCollection>,
) -> ApiResult<Json<CollectionDto>> {
    p.require(Permission::Write)?;
    let patch = CollectionPatch {
        name: body.name.as_deref().map(|n| Name::parse("name", n).map(|n| n.as_str().to_owned())).transpose()?,
        description: body.description.as_deref().map(description).transpose()?,
    };
    Ok(Json(state.store.update_collection(&p.tenant, &p.audit(), &id, &patch).await?.into()))
}

/// Deletes a collection and everything in it.
#[utoipa::path(delete, path = "/v1/collections/{id}", tag = "knowledge", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = crate::error::Problem)))]
async fn delete_collection(State(state): State<AppState>, p: Principal, IdPath(id): IdPath) -> ApiResult<StatusCode> {
    p.require(Permission::Write)?;
    state.store.delete_collection(&p.tenant, &p.audit(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
