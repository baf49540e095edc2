//! What agents' tools leave behind: approvals of tool calls that have side
//! effects, and tickets.
//!
//! A call of a tool marked as having side effects is never run by the turn
//! that asked for it: it is recorded here as `pending`, and runs only when a
//! person approves it. [`ActionStore::claim_approval`] moves it out of
//! `pending` in one conditional update, so two people approving at once run
//! it once; [`ActionStore::finish_approval`] records what the call returned.
//!
//! Written once as a macro over the backend's pool type, like `secrets.rs`.

use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;

use crate::Result;
use crate::model::{AuditCtx, Millis, Page, PageRequest, Tenant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalStatus {
    /// Waiting for a person.
    Pending,
    /// A person said no: the call never ran.
    Denied,
    /// A person said yes and the call is running.
    Approved,
    /// The call ran and the tool answered (any HTTP status).
    Succeeded,
    /// The call could not be made (refused address, timeout, network).
    Failed,
}

impl ApprovalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalStatus::Pending => "pending",
            ApprovalStatus::Denied => "denied",
            ApprovalStatus::Approved => "approved",
            ApprovalStatus::Succeeded => "succeeded",
            ApprovalStatus::Failed => "failed",
        }
    }
}

impl fmt::Display for ApprovalStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ApprovalStatus {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Ok(match s {
            "pending" => ApprovalStatus::Pending,
            "denied" => ApprovalStatus::Denied,
            "approved" => ApprovalStatus::Approved,
            "succeeded" => ApprovalStatus::Succeeded,
            "failed" => ApprovalStatus::Failed,
            other => return Err(format!("unknown approval status `{other}`")),
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ToolApproval {
    pub id: String,
    pub conversation_id: String,
    /// The agent version whose tool definition the call is made with.
    pub agent_version_id: String,
    pub tool: String,
    /// The arguments, a JSON object that passed the tool's schema.
    pub arguments: String,
    pub status: ApprovalStatus,
    /// What the call returned, or why it failed or was denied.
    pub result: Option<String>,
    pub requested_at: Millis,
    pub decided_by: Option<String>,
    pub decided_at: Option<Millis>,
    pub finished_at: Option<Millis>,
}

#[derive(Debug, Clone)]
pub struct NewToolApproval {
    pub conversation_id: String,
    pub agent_version_id: String,
    pub tool: String,
    pub arguments: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Ticket {
    pub id: String,
    pub conversation_id: Option<String>,
    pub subject: String,
    pub description: String,
    /// `low`, `normal`, `high` or `urgent`.
    pub priority: String,
    /// `open` or `closed`.
    pub status: String,
    /// `assistant`, or the user or API key that filed it.
    pub created_by: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}

#[derive(Debug, Clone)]
pub struct NewTicket {
    pub conversation_id: Option<String>,
    pub subject: String,
    pub description: String,
    pub priority: String,
    pub created_by: String,
}

#[async_trait]
pub trait ActionStore: Send + Sync {
    /// Records a call waiting for approval (the conversation must be the tenant's).
    async fn request_approval(&self, t: &Tenant, new: &NewToolApproval) -> Result<ToolApproval>;
    async fn get_approval(&self, t: &Tenant, id: &str) -> Result<ToolApproval>;
    /// Newest first; `status` filters.
    async fn list_approvals(
        &self,
        t: &Tenant,
        status: Option<ApprovalStatus>,
        conversation_id: Option<&str>,
        page: &PageRequest,
    ) -> Result<Page<ToolApproval>>;
    /// Decides a pending call: `approve` moves it to `approved` (the caller then
    /// runs it and calls [`ActionStore::finish_approval`]), otherwise to
    /// `denied` with `reason`. A call that is no longer pending is a conflict.
    async fn claim_approval(
        &self,
        t: &Tenant,
        a: &AuditCtx,
        id: &str,
        approve: bool,
        reason: Option<&str>,
    ) -> Result<ToolApproval>;
    /// What an approved call returned: `succeeded` or `failed`.
    async fn finish_approval(&self, t: &Tenant, id: &str, succeeded: bool, result: &str) -> Result<ToolApproval>;

    async fn create_ticket(&self, t: &Tenant, new: &NewTicket) -> Result<Ticket>;
    async fn get_ticket(&self, t: &Tenant, id: &str) -> Result<Ticket>;
    /// Newest first; `status` filters.
    async fn list_tickets(&self, t: &Tenant, status: Option<&str>, page: &PageRequest) -> Result<Page<Ticket>>;
    async fn set_ticket_status(&self, t: &Tenant, a: &AuditCtx, id: &str, status: &str) -> Result<Ticket>;
}

macro_rules! impl_action_store {
    ($store:ty, $db:ty) => {
        mod action_rows {
            use sqlx::Row;

            use crate::actions::{Ticket, ToolApproval};

            type DbRow = <$db as sqlx::Database>::Row;

            pub fn approval(r: &DbRow) -> Result<ToolApproval, sqlx::Error> {
                let status: String = r.try_get("status")?;
                Ok(ToolApproval {
                    id: r.try_get("id")?,
                    conversation_id: r.try_get("conversation_id")?,
                    agent_version_id: r.try_get("agent_version_id")?,
                    tool: r.try_get("tool")?,
                    arguments: r.try_get("arguments")?,
                    status: status.parse().map_err(|e: String| sqlx::Error::Decode(e.into()))?,
                    result: r.try_get("result")?,
                    requested_at: r.try_get("requested_at")?,
                    decided_by: r.try_get("decided_by")?,
                    decided_at: r.try_get("decided_at")?,
                    finished_at: r.try_get("finished_at")?,
                })
            }

            pub fn ticket(r: &DbRow) -> Result<Ticket, sqlx::Error> {
                Ok(Ticket {
                    id: r.try_get("id")?,
                    conversation_id: r.try_get("conversation_id")?,
                    subject: r.try_get("subject")?,
                    description: r.try_get("description")?,
                    priority: r.try_get("priority")?,
                    status: r.try_get("status")?,
                    created_by: r.try_get("created_by")?,
                    created_at: r.try_get("created_at")?,
                    updated_at: r.try_get("updated_at")?,
                })
            }
        }

        const APPROVAL_COLUMNS: &str = "id, conversation_id, agent_version_id, tool, arguments, status, result, \
                                        requested_at, decided_by, decided_at, finished_at";
        const TICKET_COLUMNS: &str =
            "id, conversation_id, subject, description, priority, status, created_by, created_at, updated_at";

        async fn fetch_approval<'e, E>(exec: E, t: &Tenant, id: &str) -> Result<crate::actions::ToolApproval>
        where
            E: sqlx::Executor<'e, Database = $db>,
        {
            let sql = format!("SELECT {APPROVAL_COLUMNS} FROM tool_approvals WHERE org_id = $1 AND id = $2");
            let row = sqlx::query(&sql).bind(t.org_id()).bind(id).fetch_optional(exec).await?;
            Ok(action_rows::approval(&row.ok_or(StoreError::NotFound)?)?)
        }

        async fn fetch_ticket<'e, E>(exec: E, t: &Tenant, id: &str) -> Result<crate::actions::Ticket>
        where
            E: sqlx::Executor<'e, Database = $db>,
        {
            let sql = format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE org_id = $1 AND id = $2");
            let row = sqlx::query(&sql).bind(t.org_id()).bind(id).fetch_optional(exec).await?;
            Ok(action_rows::ticket(&row.ok_or(StoreError::NotFound)?)?)
        }

        /// The conversation must be the tenant's: rows never point across tenants.
        async fn own_conversation<'e, E>(exec: E, t: &Tenant, id: &str) -> Result<()>
        where
            E: sqlx::Executor<'e, Database = $db>,
        {
            let found: Option<(String,)> = sqlx::query_as("SELECT id FROM conversations WHERE org_id = $1 AND id = $2")
                .bind(t.org_id())
                .bind(id)
                .fetch_optional(exec)
                .await?;
            found.map(|_| ()).ok_or(StoreError::NotFound)
        }

        #[async_trait::async_trait]
        impl crate::actions::ActionStore for $store {
            async fn request_approval(
                &self,
                t: &Tenant,
                new: &crate::actions::NewToolApproval,
            ) -> Result<crate::actions::ToolApproval> {
                let mut tx = self.begin_write().await?;
                own_conversation(&mut *tx, t, &new.conversation_id).await?;
                let id = new_id();
                sqlx::query(
                    "INSERT INTO tool_approvals (id, org_id, conversation_id, agent_version_id, tool, arguments, \
                     status, requested_at) VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7)",
                )
                .bind(&id)
                .bind(t.org_id())
                .bind(&new.conversation_id)
                .bind(&new.agent_version_id)
                .bind(&new.tool)
                .bind(&new.arguments)
                .bind(now_millis())
                .execute(&mut *tx)
                .await?;
                let approval = fetch_approval(&mut *tx, t, &id).await?;
                tx.commit().await?;
                Ok(approval)
            }

            async fn get_approval(&self, t: &Tenant, id: &str) -> Result<crate::actions::ToolApproval> {
                fetch_approval(&self.pool, t, id).await
            }

            async fn list_approvals(
                &self,
                t: &Tenant,
                status: Option<crate::actions::ApprovalStatus>,
                conversation_id: Option<&str>,
                page: &PageRequest,
            ) -> Result<Page<crate::actions::ToolApproval>> {
                let sql = format!(
                    "SELECT {APPROVAL_COLUMNS} FROM tool_approvals WHERE org_id = $1 \
                     AND ($2 IS NULL OR status = $2) AND ($3 IS NULL OR conversation_id = $3) \
                     AND ($4 IS NULL OR id < $4) ORDER BY id DESC LIMIT $5"
                );
                let found = sqlx::query(&sql)
                    .bind(t.org_id())
                    .bind(status.map(|s| s.as_str()))
                    .bind(conversation_id)
                    .bind(&page.after)
                    .bind(i64::from(page.limit) + 1)
                    .fetch_all(&self.pool)
                    .await?;
                let items = found.iter().map(action_rows::approval).collect::<Result<Vec<_>, _>>()?;
                Ok(page.finish(items, |x| &x.id))
            }

            async fn claim_approval(
                &self,
                t: &Tenant,
                a: &AuditCtx,
                id: &str,
                approve: bool,
                reason: Option<&str>,
            ) -> Result<crate::actions::ToolApproval> {
                let mut tx = self.begin_write().await?;
                let now = now_millis();
                let (status, finished) = if approve { ("approved", None) } else { ("denied", Some(now)) };
                let updated = sqlx::query(
                    "UPDATE tool_approvals SET status = $1, decided_by = $2, decided_at = $3, finished_at = $4, \
                     result = $5 WHERE org_id = $6 AND id = $7 AND status = 'pending'",
                )
                .bind(status)
                .bind(a.actor.id())
                .bind(now)
                .bind(finished)
                .bind(reason)
                .bind(t.org_id())
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                let approval = fetch_approval(&mut *tx, t, id).await?;
                if updated == 0 {
                    return Err(StoreError::Conflict(format!("the call is already {}", approval.status)));
                }
                let details = serde_json::json!({"tool": approval.tool, "conversation_id": approval.conversation_id});
                let action = if approve { "tool_call.approve" } else { "tool_call.deny" };
                audit(&mut tx, t, a, action, ("tool_approval", id), details).await?;
                tx.commit().await?;
                Ok(approval)
            }

            async fn finish_approval(
                &self,
                t: &Tenant,
                id: &str,
                succeeded: bool,
                result: &str,
            ) -> Result<crate::actions::ToolApproval> {
                let mut tx = self.begin_write().await?;
                let status = if succeeded { "succeeded" } else { "failed" };
                let updated = sqlx::query(
                    "UPDATE tool_approvals SET status = $1, result = $2, finished_at = $3 \
                     WHERE org_id = $4 AND id = $5 AND status = 'approved'",
                )
                .bind(status)
                .bind(result)
                .bind(now_millis())
                .bind(t.org_id())
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                let approval = fetch_approval(&mut *tx, t, id).await?;
                if updated == 0 {
                    return Err(StoreError::Conflict(format!("the call is {}, not running", approval.status)));
                }
                tx.commit().await?;
                Ok(approval)
            }

            async fn create_ticket(&self, t: &Tenant, new: &crate::actions::NewTicket) -> Result<crate::actions::Ticket> {
                let mut tx = self.begin_write().await?;
                if let Some(conversation) = &new.conversation_id {
                    own_conversation(&mut *tx, t, conversation).await?;
                }
                let (id, now) = (new_id(), now_millis());
                sqlx::query(
                    "INSERT INTO tickets (id, org_id, conversation_id, subject, description, priority, status, \
                     created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8, $8)",
                )
                .bind(&id)
                .bind(t.org_id())
                .bind(&new.conversation_id)
                .bind(&new.subject)
                .bind(&new.description)
                .bind(&new.priority)
                .bind(&new.created_by)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                let ticket = fetch_ticket(&mut *tx, t, &id).await?;
                tx.commit().await?;
                Ok(ticket)
            }

            async fn get_ticket(&self, t: &Tenant, id: &str) -> Result<crate::actions::Ticket> {
                fetch_ticket(&self.pool, t, id).await
            }

            async fn list_tickets(
                &self,
                t: &Tenant,
                status: Option<&str>,
                page: &PageRequest,
            ) -> Result<Page<crate::actions::Ticket>> {
                let sql = format!(
                    "SELECT {TICKET_COLUMNS} FROM tickets WHERE org_id = $1 AND ($2 IS NULL OR status = $2) \
                     AND ($3 IS NULL OR id < $3) ORDER BY id DESC LIMIT $4"
                );
                let found = sqlx::query(&sql)
                    .bind(t.org_id())
                    .bind(status)
                    .bind(&page.after)
                    .bind(i64::from(page.limit) + 1)
                    .fetch_all(&self.pool)
                    .await?;
                let items = found.iter().map(action_rows::ticket).collect::<Result<Vec<_>, _>>()?;
                Ok(page.finish(items, |x| &x.id))
            }

            async fn set_ticket_status(
                &self,
                t: &Tenant,
                a: &AuditCtx,
                id: &str,
                status: &str,
            ) -> Result<crate::actions::Ticket> {
                let mut tx = self.begin_write().await?;
                let before = fetch_ticket(&mut *tx, t, id).await?;
                sqlx::query("UPDATE tickets SET status = $1, updated_at = $2 WHERE org_id = $3 AND id = $4")
                    .bind(status)
                    .bind(now_millis())
                    .bind(t.org_id())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                let details = serde_json::json!({"from": before.status, "to": status});
                audit(&mut tx, t, a, "ticket.update", ("ticket", id), details).await?;
                let ticket = fetch_ticket(&mut *tx, t, id).await?;
                tx.commit().await?;
                Ok(ticket)
            }
        }
    };
}

pub(crate) use impl_action_store;
