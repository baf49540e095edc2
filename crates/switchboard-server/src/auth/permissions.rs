//! The role matrix, in one place. Roles say what a member may do; an API key's
//! scopes narrow that further.

use switchboard_store::{Role, Scope};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Read product data and the organization.
    Read,
    /// Work conversations as a human agent (take over, reply, resolve).
    Converse,
    /// Change product data: knowledge, agents, deployments.
    Write,
    /// Add, remove and change members; create and revoke API keys.
    ManageTeam,
    /// Change billing settings and the organization itself.
    ManageBilling,
    /// Read the audit log.
    ReadAudit,
    /// Add, list and delete the organization's secrets (never their values).
    ManageSecrets,
}

impl Permission {
    pub fn allowed_for(self, role: Role) -> bool {
        use Permission::*;
        match self {
            Read => true,
            Converse => matches!(role, Role::Owner | Role::Admin | Role::Agent),
            Write | ManageTeam | ManageBilling | ReadAudit | ManageSecrets => matches!(role, Role::Owner | Role::Admin),
        }
    }

    pub fn scope(self) -> Scope {
        match self {
            Permission::Read => Scope::Read,
            Permission::Converse | Permission::Write => Scope::Write,
            Permission::ManageTeam | Permission::ManageBilling | Permission::ReadAudit | Permission::ManageSecrets => {
                Scope::Admin
            }
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Permission::Read => "read this",
            Permission::Converse => "work conversations",
            Permission::Write => "change this",
            Permission::ManageTeam => "manage members and API keys",
            Permission::ManageBilling => "change billing or organization settings",
            Permission::ReadAudit => "read the audit log",
            Permission::ManageSecrets => "manage the organization's secrets",
        }
    }
}

/// The scopes a role can hold at most (sessions get all of them).
pub fn scopes_for_role(role: Role) -> Vec<Scope> {
    Scope::ALL.into_iter().filter(|scope| role_may_hold(role, *scope)).collect()
}

pub fn role_may_hold(role: Role, scope: Scope) -> bool {
    match scope {
        Scope::Read => true,
        Scope::Write => role != Role::Analyst,
        Scope::Admin => matches!(role, Role::Owner | Role::Admin),
    }
}
