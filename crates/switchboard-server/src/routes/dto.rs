//! Wire shapes shared by several routes. Only the HTTP layer sees these.

use serde::Serialize;
use switchboard_store::{Member, Org, Role, User};
use utoipa::ToSchema;

pub fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrgDto {
    pub id: String,
    pub name: String,
    pub created_at: String,
}

impl From<Org> for OrgDto {
    fn from(o: Org) -> Self {
        Self { id: o.id, name: o.name, created_at: iso(o.created_at) }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserDto {
    pub id: String,
    pub email: String,
    pub name: String,
    pub created_at: String,
}

impl From<User> for UserDto {
    fn from(u: User) -> Self {
        Self { id: u.id, email: u.email, name: u.name, created_at: iso(u.created_at) }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberDto {
    pub id: String,
    pub email: String,
    pub name: String,
    #[schema(value_type = String, example = "agent")]
    pub role: Role,
    pub joined_at: String,
}

impl From<Member> for MemberDto {
    fn from(m: Member) -> Self {
        Self { id: m.user.id, email: m.user.email, name: m.user.name, role: m.role, joined_at: iso(m.joined_at) }
    }
}

/// The role names, for the API document.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = Role)]
pub enum RoleSchema {
    Owner,
    Admin,
    Agent,
    Analyst,
}

/// The scope names, for the API document.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = Scope)]
pub enum ScopeSchema {
    Read,
    Write,
    Admin,
}
