//! Members of the organization (users with a role).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use switchboard_store::{NewMember, Role};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::dto::MemberDto;
use crate::auth::{Permission, Principal};
use crate::domain::{Email, Name, Password};
use crate::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, ApiQuery, IdPath, ListParams};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_users, create_user)).routes(routes!(get_user, update_user, remove_user))
}

#[derive(Serialize, ToSchema)]
pub struct UserList {
    pub users: Vec<MemberDto>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\x00-\\x1F\\x7F-\\x9F]*\\S[^\\x00-\\x1F\\x7F-\\x9F]*$")]
    pub name: String,
    /// The new user's password (ignored when the email already has an account).
    #[schema(min_length = 10, max_length = 1024)]
    pub password: String,
    #[schema(value_type = super::dto::RoleSchema)]
    pub role: Role,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    #[schema(value_type = super::dto::RoleSchema)]
    pub role: Role,
}

/// Only owners grant or take away the owner role; admins manage the rest.
fn ensure_may_assign(p: &Principal, from: Option<Role>, to: Role) -> Result<(), ApiError> {
    if p.role != Role::Owner && (to == Role::Owner || from == Some(Role::Owner)) {
        return Err(ApiError::forbidden("only an owner may grant or change the owner role"));
    }
    Ok(())
}

/// Lists the organization's members.
#[utoipa::path(get, path = "/v1/users", tag = "team", params(ListParams), responses((status = 200, body = UserList)))]
async fn list_users(
    State(state): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Json<UserList>> {
    p.require(Permission::Read)?;
    let page = state.store.list_members(&p.tenant, &q.page()?).await?;
    Ok(Json(UserList { users: page.items.into_iter().map(Into::into).collect(), next_cursor: page.next_cursor }))
}

/// Adds a member (creating the user account when the email is new).
#[utoipa::path(post, path = "/v1/users", tag = "team", request_body = CreateUser,
    responses((status = 201, body = MemberDto), (status = 409, body = crate::error::Problem)))]
async fn create_user(
    State(state): State<AppState>,
    p: Principal,
    ApiJson(body): ApiJson<CreateUser>,
) -> ApiResult<(StatusCode, Json<MemberDto>)> {
    p.require(Permission::ManageTeam)?;
    ensure_may_assign(&p, None, body.role)?;
    let email = Email::parse(&body.email)?;
    let name = Name::parse("name", &body.name)?;
    let password = Password::parse(&body.password)?;
    let password_hash = tokio::task::spawn_blocking(move || password.hash()).await.map_err(anyhow::Error::from)??;
    let new = NewMember { email: email.as_str().into(), name: name.as_str().into(), password_hash, role: body.role };
    let member = state.store.add_member(&p.tenant, &p.audit(), &new).await?;
    Ok((StatusCode::CREATED, Json(member.into())))
}

/// One member.
#[utoipa::path(get, path = "/v1/users/{id}", tag = "team", params(("id" = String, Path)),
    responses((status = 200, body = MemberDto), (status = 404, body = crate::error::Problem)))]
async fn get_user(State(state): State<AppState>, p: Principal, IdPath(id): IdPath) -> ApiResult<Json<MemberDto>> {
    p.require(Permission::Read)?;
    Ok(Json(state.store.get_member(&p.tenant, &id).await?.into()))
}

/// Changes a member's role.
#[utoipa::path(patch, path = "/v1/users/{id}", tag = "team", params(("id" = String, Path)), request_body = UpdateUser,
    responses((status = 200, body = MemberDto), (status = 404, body = crate::error::Problem)))]
async fn update_user(
    State(state): State<AppState>,
    p: Principal,
    IdPath(id): IdPath,
    ApiJson(body): ApiJson<UpdateUser>,
) -> ApiResult<Json<MemberDto>> {
    p.require(Permission::ManageTeam)?;
    let current = state.store.get_member(&p.tenant, &id).await?;
    ensure_may_assign(&p, Some(current.role), body.role)?;
    Ok(Json(state.store.set_member_role(&p.tenant, &p.audit(), &id, body.role).await?.into()))
}

/// Removes a member from the organization and ends their sessions in it.
#[utoipa::path(delete, path = "/v1/users/{id}", tag = "team", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = crate::error::Problem)))]
async fn remove_user(State(state): State<AppState>, p: Principal, IdPath(id): IdPath) -> ApiResult<StatusCode> {
    p.require(Permission::ManageTeam)?;
    let current = state.store.get_member(&p.tenant, &id).await?;
    ensure_may_assign(&p, Some(current.role), current.role)?;
    state.store.remove_member(&p.tenant, &p.audit(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
