//! Agents (with immutable versions and release snapshots), contacts,
//! conversations (an ownership state machine with every transition kept),
//! messages and the human escalation queue.
//!
//! Written once as a macro over the backend's pool type, like `shared.rs`,
//! and kept apart from it so that the conversation side of the store reads
//! on its own.

use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::Result;
use crate::model::{Actor, AuditCtx, Millis, Page, PageRequest, Tenant};

#[derive(Debug, Clone, PartialEq)]
pub struct Agent {
    pub id: String,
    pub name: String,
    pub live_version_id: Option<String>,
    pub live_version: Option<i32>,
    pub latest_version: i32,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// One immutable configuration of an agent.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentVersion {
    pub id: String,
    pub agent_id: String,
    pub version: i32,
    pub config: serde_json::Value,
    pub created_by: Option<String>,
    pub created_at: Millis,
    /// When it first went live; `None` while it is a draft.
    pub released_at: Option<Millis>,
    pub released_by: Option<String>,
    /// Whether it is the version serving new conversations now.
    pub live: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    pub id: String,
    pub external_id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub created_at: Millis,
}

#[derive(Debug, Clone, Default)]
pub struct NewContact {
    pub external_id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
}

/// Who owns a conversation. The AI replies only while it is `Ai`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ownership {
    Ai,
    PendingHuman,
    Human,
    Resolved,
}

impl Ownership {
    pub fn as_str(self) -> &'static str {
        match self {
            Ownership::Ai => "ai",
            Ownership::PendingHuman => "pending_human",
            Ownership::Human => "human",
            Ownership::Resolved => "resolved",
        }
    }
}

impl fmt::Display for Ownership {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Ownership {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "ai" => Ownership::Ai,
            "pending_human" => Ownership::PendingHuman,
            "human" => Ownership::Human,
            "resolved" => Ownership::Resolved,
            other => return Err(format!("unknown conversation status {other:?}")),
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Conversation {
    pub id: String,
    pub agent_id: String,
    /// The agent version (and so the knowledge snapshot) serving it.
    pub agent_version_id: String,
    pub contact_id: Option<String>,
    pub status: Ownership,
    pub assignee_id: Option<String>,
    pub language: Option<String>,
    pub last_outcome: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// A conversation as lists show it, read in the list's one query: with the
/// number of the agent version serving it and its contact.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedConversation {
    pub conversation: Conversation,
    pub agent_version: Option<i32>,
    pub contact: Option<Contact>,
}

/// A recorded change of ownership: who, why, when.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationEvent {
    pub id: String,
    pub from_status: Option<Ownership>,
    pub to_status: Ownership,
    pub actor: Actor,
    pub reason: String,
    pub created_at: Millis,
}

/// A requested ownership change.
#[derive(Debug, Clone)]
pub struct Transition<'a> {
    /// The change is refused (`Conflict`) unless the conversation is in one of these.
    pub from: &'a [Ownership],
    pub to: Ownership,
    pub actor: Actor,
    pub reason: &'a str,
    /// The human who owns it after the change (`None` clears the assignee).
    pub assignee: Option<&'a str>,
    /// Priority of the escalation opened by a change to `PendingHuman`.
    pub priority: &'a str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageRole {
    Customer,
    Assistant,
    Human,
    System,
}

impl MessageRole {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageRole::Customer => "customer",
            MessageRole::Assistant => "assistant",
            MessageRole::Human => "human",
            MessageRole::System => "system",
        }
    }
}

impl FromStr for MessageRole {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "customer" => MessageRole::Customer,
            "assistant" => MessageRole::Assistant,
            "human" => MessageRole::Human,
            "system" => MessageRole::System,
            other => return Err(format!("unknown message role {other:?}")),
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub id: String,
    pub conversation_id: String,
    pub role: MessageRole,
    /// As stored: PII already redacted.
    pub text: String,
    pub author_id: Option<String>,
    pub agent_version_id: Option<String>,
    pub outcome: Option<String>,
    pub confidence: Option<f64>,
    /// Citations, usage, timings, guard verdicts, route, tool calls.
    pub details: serde_json::Value,
    pub created_at: Millis,
}

#[derive(Debug, Clone)]
pub struct NewMessage {
    pub role: MessageRole,
    pub text: String,
    pub author_id: Option<String>,
    pub agent_version_id: Option<String>,
    pub outcome: Option<String>,
    pub confidence: Option<f64>,
    pub details: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Escalation {
    pub id: String,
    pub conversation_id: String,
    pub reason: String,
    pub priority: String,
    pub status: String,
    pub taken_by: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

#[derive(Debug, Clone, Default)]
pub struct ConversationFilter {
    pub status: Option<Ownership>,
    pub agent_id: Option<String>,
}

#[async_trait]
pub trait ConversationStore: Send + Sync {
    // ---- agents and versions ----

    /// Creates an agent whose first version is live at once, with its
    /// knowledge snapshot (the live document versions of `collection_ids`).
    async fn create_agent(
        &self,
        t: &Tenant,
        a: &AuditCtx,
        name: &str,
        config: &serde_json::Value,
        collection_ids: &[String],
    ) -> Result<(Agent, AgentVersion)>;
    async fn list_agents(&self, t: &Tenant, page: &PageRequest) -> Result<Page<Agent>>;
    async fn get_agent(&self, t: &Tenant, id: &str) -> Result<Agent>;
    async fn delete_agent(&self, t: &Tenant, a: &AuditCtx, id: &str) -> Result<()>;
    /// Records a new draft version (the live one keeps serving until a release).
    async fn add_agent_version(
        &self,
        t: &Tenant,
        a: &AuditCtx,
        agent_id: &str,
        name: &str,
        config: &serde_json::Value,
    ) -> Result<AgentVersion>;
    /// Newest first.
    async fn list_agent_versions(&self, t: &Tenant, agent_id: &str, page: &PageRequest) -> Result<Page<AgentVersion>>;
    async fn get_agent_version(&self, t: &Tenant, agent_id: &str, version: i32) -> Result<AgentVersion>;
    async fn get_agent_version_by_id(&self, t: &Tenant, id: &str) -> Result<AgentVersion>;
    /// Makes a version live. Its first release records its knowledge snapshot;
    /// releasing an earlier release again (a rollback) keeps the snapshot it
    /// was released with.
    async fn release_agent_version(
        &self,
        t: &Tenant,
        a: &AuditCtx,
        agent_id: &str,
        version: i32,
        collection_ids: &[String],
    ) -> Result<AgentVersion>;
    /// The document versions a released version answers from when pinned.
    async fn agent_version_snapshot(&self, t: &Tenant, agent_version_id: &str) -> Result<Vec<String>>;

    // ---- contacts and conversations ----

    /// The contact with this external id (updated), or a new one.
    async fn upsert_contact(&self, t: &Tenant, new: &NewContact) -> Result<Contact>;
    async fn get_contact(&self, t: &Tenant, id: &str) -> Result<Contact>;
    /// Starts a conversation owned by the AI, served by the agent's live version.
    async fn create_conversation(&self, t: &Tenant, agent_id: &str, contact_id: Option<&str>) -> Result<Conversation>;
    async fn get_conversation(&self, t: &Tenant, id: &str) -> Result<Conversation>;
    /// Newest first, each with its agent version's number and its contact.
    async fn list_conversations(
        &self,
        t: &Tenant,
        filter: &ConversationFilter,
        page: &PageRequest,
    ) -> Result<Page<ListedConversation>>;
    /// Changes ownership and records the event in one transaction; opens an
    /// escalation on a change to `PendingHuman`, marks it taken on a change to
    /// `Human`, closes it on a change to `Ai` or `Resolved`.
    async fn transition_conversation(&self, t: &Tenant, id: &str, change: &Transition<'_>) -> Result<Conversation>;
    async fn list_conversation_events(
        &self,
        t: &Tenant,
        id: &str,
        page: &PageRequest,
    ) -> Result<Page<ConversationEvent>>;
    async fn set_conversation_language(&self, t: &Tenant, id: &str, language: &str) -> Result<()>;

    // ---- messages ----

    async fn add_message(&self, t: &Tenant, conversation_id: &str, new: &NewMessage) -> Result<Message>;
    /// Oldest first.
    async fn list_messages(&self, t: &Tenant, conversation_id: &str, page: &PageRequest) -> Result<Page<Message>>;
    /// The last `n` messages, oldest first.
    async fn recent_messages(&self, t: &Tenant, conversation_id: &str, n: u32) -> Result<Vec<Message>>;

    // ---- escalations ----

    /// Newest first; `status` filters (open, taken, closed).
    async fn list_escalations(&self, t: &Tenant, status: Option<&str>, page: &PageRequest) -> Result<Page<Escalation>>;
}

macro_rules! impl_conversation_store {
    ($store:ty, $db:ty) => {
        mod conversation_rows {
            use sqlx::Row;

            use crate::conversations::*;
            use crate::model::Actor;

            type DbRow = <$db as sqlx::Database>::Row;

            fn decode<T: std::str::FromStr<Err = String>>(r: &DbRow, col: &str) -> Result<T, sqlx::Error> {
                let text: String = r.try_get(col)?;
                text.parse().map_err(|e: String| sqlx::Error::Decode(e.into()))
            }

            fn json(r: &DbRow, col: &str) -> Result<serde_json::Value, sqlx::Error> {
                let text: String = r.try_get(col)?;
                serde_json::from_str(&text).map_err(|e| sqlx::Error::Decode(e.into()))
            }

            pub fn agent(r: &DbRow) -> Result<Agent, sqlx::Error> {
                Ok(Agent {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    live_version_id: r.try_get("live_version_id")?,
                    live_version: r.try_get("live_version")?,
                    latest_version: r.try_get("latest_version")?,
                    created_at: r.try_get("created_at")?,
                    updated_at: r.try_get("updated_at")?,
                })
            }

            pub fn version(r: &DbRow) -> Result<AgentVersion, sqlx::Error> {
                let live: Option<String> = r.try_get("live_version_id")?;
                let id: String = r.try_get("id")?;
                Ok(AgentVersion {
                    live: live.as_deref() == Some(id.as_str()),
                    id,
                    agent_id: r.try_get("agent_id")?,
                    version: r.try_get("version")?,
                    config: json(r, "config")?,
                    created_by: r.try_get("created_by")?,
                    created_at: r.try_get("created_at")?,
                    released_at: r.try_get("released_at")?,
                    released_by: r.try_get("released_by")?,
                })
            }

            pub fn contact(r: &DbRow) -> Result<Contact, sqlx::Error> {
                Ok(Contact {
                    id: r.try_get("id")?,
                    external_id: r.try_get("external_id")?,
                    name: r.try_get("name")?,
                    email: r.try_get("email")?,
                    created_at: r.try_get("created_at")?,
                })
            }

            pub fn conversation(r: &DbRow) -> Result<Conversation, sqlx::Error> {
                Ok(Conversation {
                    id: r.try_get("id")?,
                    agent_id: r.try_get("agent_id")?,
                    agent_version_id: r.try_get("agent_version_id")?,
                    contact_id: r.try_get("contact_id")?,
                    status: decode(r, "status")?,
                    assignee_id: r.try_get("assignee_id")?,
                    language: r.try_get("language")?,
                    last_outcome: r.try_get("last_outcome")?,
                    created_at: r.try_get("created_at")?,
                    updated_at: r.try_get("updated_at")?,
                })
            }

            pub fn listed_conversation(r: &DbRow) -> Result<ListedConversation, sqlx::Error> {
                let contact_id: Option<String> = r.try_get("contact_key")?;
                let contact = match contact_id {
                    Some(id) => Some(Contact {
                        id,
                        external_id: r.try_get("contact_external_id")?,
                        name: r.try_get("contact_name")?,
                        email: r.try_get("contact_email")?,
                        created_at: r.try_get("contact_created_at")?,
                    }),
                    None => None,
                };
                Ok(ListedConversation {
                    conversation: conversation(r)?,
                    agent_version: r.try_get("agent_version")?,
                    contact,
                })
            }

            pub fn event(r: &DbRow) -> Result<ConversationEvent, sqlx::Error> {
                let from: Option<String> = r.try_get("from_status")?;
                let kind: String = r.try_get("actor_type")?;
                Ok(ConversationEvent {
                    id: r.try_get("id")?,
                    from_status: from.map(|s| s.parse()).transpose().map_err(|e: String| sqlx::Error::Decode(e.into()))?,
                    to_status: decode(r, "to_status")?,
                    actor: Actor::from_parts(&kind, r.try_get("actor_id")?),
                    reason: r.try_get("reason")?,
                    created_at: r.try_get("created_at")?,
                })
            }

            pub fn message(r: &DbRow) -> Result<Message, sqlx::Error> {
                Ok(Message {
                    id: r.try_get("id")?,
                    conversation_id: r.try_get("conversation_id")?,
                    role: decode(r, "role")?,
                    text: r.try_get("text")?,
                    author_id: r.try_get("author_id")?,
                    agent_version_id: r.try_get("agent_version_id")?,
                    outcome: r.try_get("outcome")?,
                    confidence: r.try_get("confidence")?,
                    details: json(r, "details")?,
                    created_at: r.try_get("created_at")?,
                })
            }

            pub fn escalation(r: &DbRow) -> Result<Escalation, sqlx::Error> {
                Ok(Escalation {
                    id: r.try_get("id")?,
                    conversation_id: r.try_get("conversation_id")?,
                    reason: r.try_get("reason")?,
                    priority: r.try_get("priority")?,
                    status: r.try_get("status")?,
                    taken_by: r.try_get("taken_by")?,
                    created_at: r.try_get("created_at")?,
                    updated_at: r.try_get("updated_at")?,
                })
            }
        }

        const AGENT_SELECT: &str = "SELECT a.id, a.name, a.live_version_id, v.version AS live_version, \
             a.latest_version, a.created_at, a.updated_at \
             FROM agents a LEFT JOIN agent_versions v ON v.id = a.live_version_id";

        const VERSION_SELECT: &str = "SELECT v.id, v.agent_id, v.version, v.config, v.created_by, v.created_at, \
             v.released_at, v.released_by, a.live_version_id \
             FROM agent_versions v JOIN agents a ON a.id = v.agent_id";

        const CONVERSATION_COLUMNS: &str = "id, agent_id, agent_version_id, contact_id, status, assignee_id, \
             language, last_outcome, created_at, updated_at";

        const MESSAGE_COLUMNS: &str = "id, conversation_id, role, text, author_id, agent_version_id, outcome, \
             confidence, details, created_at";

        const ESCALATION_COLUMNS: &str =
            "id, conversation_id, reason, priority, status, taken_by, created_at, updated_at";

        async fn fetch_agent<'e, E>(exec: E, t: &Tenant, id: &str) -> Result<Agent>
        where
            E: sqlx::Executor<'e, Database = $db>,
        {
            let sql = format!("{AGENT_SELECT} WHERE a.org_id = $1 AND a.id = $2");
            let row = sqlx::query(&sql).bind(t.org_id()).bind(id).fetch_optional(exec).await?;
            Ok(conversation_rows::agent(&row.ok_or(StoreError::NotFound)?)?)
        }

        async fn fetch_version<'e, E>(exec: E, t: &Tenant, agent_id: &str, version: i32) -> Result<AgentVersion>
        where
            E: sqlx::Executor<'e, Database = $db>,
        {
            let sql = format!("{VERSION_SELECT} WHERE v.org_id = $1 AND v.agent_id = $2 AND v.version = $3");
            let row = sqlx::query(&sql).bind(t.org_id()).bind(agent_id).bind(version).fetch_optional(exec).await?;
            Ok(conversation_rows::version(&row.ok_or(StoreError::NotFound)?)?)
        }

        async fn fetch_conversation<'e, E>(exec: E, t: &Tenant, id: &str) -> Result<Conversation>
        where
            E: sqlx::Executor<'e, Database = $db>,
        {
            let sql = format!("SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE org_id = $1 AND id = $2");
            let row = sqlx::query(&sql).bind(t.org_id()).bind(id).fetch_optional(exec).await?;
            Ok(conversation_rows::conversation(&row.ok_or(StoreError::NotFound)?)?)
        }

        async fn insert_version(
            tx: &mut sqlx::Transaction<'_, $db>,
            t: &Tenant,
            a: &AuditCtx,
            agent_id: &str,
            version: i32,
            config: &serde_json::Value,
        ) -> Result<String> {
            let id = new_id();
            sqlx::query(
                "INSERT INTO agent_versions (id, org_id, agent_id, version, config, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&id)
            .bind(t.org_id())
            .bind(agent_id)
            .bind(version)
            .bind(config.to_string())
            .bind(a.actor.id())
            .bind(now_millis())
            .execute(&mut **tx)
            .await?;
            Ok(id)
        }

        /// Records the live document versions of `collection_ids` as the
        /// version's knowledge snapshot.
        async fn record_snapshot(
            tx: &mut sqlx::Transaction<'_, $db>,
            t: &Tenant,
            version_id: &str,
            collection_ids: &[String],
        ) -> Result<()> {
            if collection_ids.is_empty() {
                return Ok(());
            }
            let sql = format!(
                "INSERT INTO agent_version_knowledge (org_id, agent_version_id, document_version_id) \
                 SELECT $1, $2, d.live_version_id FROM documents d \
                 WHERE d.org_id = $1 AND d.live_version_id IS NOT NULL AND d.collection_id IN ({}) \
                 ON CONFLICT DO NOTHING",
                crate::search::placeholders(3, collection_ids.len())
            );
            let mut q = sqlx::query(&sql).bind(t.org_id()).bind(version_id);
            for id in collection_ids {
                q = q.bind(id);
            }
            q.execute(&mut **tx).await?;
            Ok(())
        }

        async fn record_event(
            tx: &mut sqlx::Transaction<'_, $db>,
            t: &Tenant,
            conversation_id: &str,
            from: Option<Ownership>,
            change: &Transition<'_>,
            now: Millis,
        ) -> Result<()> {
            sqlx::query(
                "INSERT INTO conversation_events (id, org_id, conversation_id, from_status, to_status, actor_type, \
                 actor_id, reason, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(new_id())
            .bind(t.org_id())
            .bind(conversation_id)
            .bind(from.map(Ownership::as_str))
            .bind(change.to.as_str())
            .bind(change.actor.kind())
            .bind(change.actor.id())
            .bind(change.reason)
            .bind(now)
            .execute(&mut **tx)
            .await?;
            Ok(())
        }

        #[async_trait::async_trait]
        impl ConversationStore for $store {
            async fn create_agent(
                &self,
                t: &Tenant,
                a: &AuditCtx,
                name: &str,
                config: &serde_json::Value,
                collection_ids: &[String],
            ) -> Result<(Agent, AgentVersion)> {
                let mut tx = self.begin_write().await?;
                let id = new_id();
                let now = now_millis();
                sqlx::query(
                    "INSERT INTO agents (id, org_id, name, latest_version, created_at, updated_at) \
                     VALUES ($1, $2, $3, 1, $4, $4)",
                )
                .bind(&id)
                .bind(t.org_id())
                .bind(name)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                let version_id = insert_version(&mut tx, t, a, &id, 1, config).await?;
                sqlx::query("UPDATE agent_versions SET released_at = $1, released_by = $2 WHERE id = $3")
                    .bind(now)
                    .bind(a.actor.id())
                    .bind(&version_id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("UPDATE agents SET live_version_id = $1 WHERE id = $2")
                    .bind(&version_id)
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?;
                record_snapshot(&mut tx, t, &version_id, collection_ids).await?;
                audit(&mut tx, t, a, "agent.create", ("agent", &id), serde_json::json!({"name": name})).await?;
                let agent = fetch_agent(&mut *tx, t, &id).await?;
                let version = fetch_version(&mut *tx, t, &id, 1).await?;
                tx.commit().await?;
                Ok((agent, version))
            }

            async fn list_agents(&self, t: &Tenant, page: &PageRequest) -> Result<Page<Agent>> {
                let sql = format!(
                    "{AGENT_SELECT} WHERE a.org_id = $1 AND ($2 IS NULL OR a.id > $2) ORDER BY a.id LIMIT $3"
                );
                let found = sqlx::query(&sql)
                    .bind(t.org_id())
                    .bind(&page.after)
                    .bind(i64::from(page.limit) + 1)
                    .fetch_all(&self.pool)
                    .await?;
                let items = found.iter().map(conversation_rows::agent).collect::<Result<Vec<_>, _>>()?;
                Ok(page.finish(items, |x| &x.id))
            }

            async fn get_agent(&self, t: &Tenant, id: &str) -> Result<Agent> {
                fetch_agent(&self.pool, t, id).await
            }

            async fn delete_agent(&self, t: &Tenant, a: &AuditCtx, id: &str) -> Result<()> {
                let mut tx = self.begin_write().await?;
                let agent = fetch_agent(&mut *tx, t, id).await?;
                // Conversations go with their agent (and their messages with them).
                sqlx::query("DELETE FROM conversations WHERE org_id = $1 AND agent_id = $2")
                    .bind(t.org_id())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("UPDATE agents SET live_version_id = NULL WHERE org_id = $1 AND id = $2")
                    .bind(t.org_id())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM agents WHERE org_id = $1 AND id = $2")
                    .bind(t.org_id())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                audit(&mut tx, t, a, "agent.delete", ("agent", id), serde_json::json!({"name": agent.name})).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn add_agent_version(
                &self,
                t: &Tenant,
                a: &AuditCtx,
                agent_id: &str,
                name: &str,
                config: &serde_json::Value,
            ) -> Result<AgentVersion> {
                let mut tx = self.begin_write().await?;
                let agent = fetch_agent(&mut *tx, t, agent_id).await?;
                let next = agent.latest_version + 1;
                insert_version(&mut tx, t, a, agent_id, next, config).await?;
                sqlx::query("UPDATE agents SET latest_version = $1, name = $2, updated_at = $3 WHERE id = $4")
                    .bind(next)
                    .bind(name)
                    .bind(now_millis())
                    .bind(agent_id)
                    .execute(&mut *tx)
                    .await?;
                audit(&mut tx, t, a, "agent.version", ("agent", agent_id), serde_json::json!({"version": next}))
                    .await?;
                let version = fetch_version(&mut *tx, t, agent_id, next).await?;
                tx.commit().await?;
                Ok(version)
            }

            async fn list_agent_versions(
                &self,
                t: &Tenant,
                agent_id: &str,
                page: &PageRequest,
            ) -> Result<Page<AgentVersion>> {
                fetch_agent(&self.pool, t, agent_id).await?;
                let sql = format!(
                    "{VERSION_SELECT} WHERE v.org_id = $1 AND v.agent_id = $2 AND ($3 IS NULL OR v.id < $3) \
                     ORDER BY v.id DESC LIMIT $4"
                );
                let found = sqlx::query(&sql)
                    .bind(t.org_id())
                    .bind(agent_id)
                    .bind(&page.after)
                    .bind(i64::from(page.limit) + 1)
                    .fetch_all(&self.pool)
                    .await?;
                let items = found.iter().map(conversation_rows::version).collect::<Result<Vec<_>, _>>()?;
                Ok(page.finish(items, |x| &x.id))
            }

            async fn get_agent_version(&self, t: &Tenant, agent_id: &str, version: i32) -> Result<AgentVersion> {
                fetch_version(&self.pool, t, agent_id, version).await
            }

            async fn get_agent_version_by_id(&self, t: &Tenant, id: &str) -> Result<AgentVersion> {
                let sql = format!("{VERSION_SELECT} WHERE v.org_id = $1 AND v.id = $2");
                let row = sqlx::query(&sql).bind(t.org_id()).bind(id).fetch_optional(&self.pool).await?;
                Ok(conversation_rows::version(&row.ok_or(StoreError::NotFound)?)?)
            }

            async fn release_agent_version(
                &self,
                t: &Tenant,
                a: &AuditCtx,
                agent_id: &str,
                version: i32,
                collection_ids: &[String],
            ) -> Result<AgentVersion> {
                let mut tx = self.begin_write().await?;
                let agent = fetch_agent(&mut *tx, t, agent_id).await?;
                let target = fetch_version(&mut *tx, t, agent_id, version).await?;
                let now = now_millis();
                if target.released_at.is_none() {
                    sqlx::query("UPDATE agent_versions SET released_at = $1, released_by = $2 WHERE id = $3")
                        .bind(now)
                        .bind(a.actor.id())
                        .bind(&target.id)
                        .execute(&mut *tx)
                        .await?;
                    record_snapshot(&mut tx, t, &target.id, collection_ids).await?;
                }
                sqlx::query("UPDATE agents SET live_version_id = $1, updated_at = $2 WHERE id = $3")
                    .bind(&target.id)
                    .bind(now)
                    .bind(agent_id)
                    .execute(&mut *tx)
                    .await?;
                let action = if target.released_at.is_some() { "agent.rollback" } else { "agent.release" };
                let details = serde_json::json!({"version": version, "previous_version": agent.live_version});
                audit(&mut tx, t, a, action, ("agent", agent_id), details).await?;
                let released = fetch_version(&mut *tx, t, agent_id, version).await?;
                tx.commit().await?;
                Ok(released)
            }

            async fn agent_version_snapshot(&self, t: &Tenant, agent_version_id: &str) -> Result<Vec<String>> {
                let found: Vec<(String,)> = sqlx::query_as(
                    "SELECT document_version_id FROM agent_version_knowledge \
                     WHERE org_id = $1 AND agent_version_id = $2 ORDER BY document_version_id",
                )
                .bind(t.org_id())
                .bind(agent_version_id)
                .fetch_all(&self.pool)
                .await?;
                Ok(found.into_iter().map(|(id,)| id).collect())
            }

            async fn upsert_contact(&self, t: &Tenant, new: &NewContact) -> Result<Contact> {
                let mut tx = self.begin_write().await?;
                let now = now_millis();
                let existing: Option<(String,)> = match &new.external_id {
                    Some(external) => {
                        sqlx::query_as("SELECT id FROM contacts WHERE org_id = $1 AND external_id = $2")
                            .bind(t.org_id())
                            .bind(external)
                            .fetch_optional(&mut *tx)
                            .await?
                    }
                    None => None,
                };
                let id = match existing {
                    Some((id,)) => {
                        sqlx::query(
                            "UPDATE contacts SET name = COALESCE($1, name), email = COALESCE($2, email), \
                             updated_at = $3 WHERE id = $4",
                        )
                        .bind(&new.name)
                        .bind(&new.email)
                        .bind(now)
                        .bind(&id)
                        .execute(&mut *tx)
                        .await?;
                        id
                    }
                    None => {
                        let id = new_id();
                        sqlx::query(
                            "INSERT INTO contacts (id, org_id, external_id, name, email, created_at, updated_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $6)",
                        )
                        .bind(&id)
                        .bind(t.org_id())
                        .bind(&new.external_id)
                        .bind(&new.name)
                        .bind(&new.email)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                        id
                    }
                };
                let row = sqlx::query(
                    "SELECT id, external_id, name, email, created_at FROM contacts WHERE org_id = $1 AND id = $2",
                )
                .bind(t.org_id())
                .bind(&id)
                .fetch_one(&mut *tx)
                .await?;
                let contact = conversation_rows::contact(&row)?;
                tx.commit().await?;
                Ok(contact)
            }

            async fn get_contact(&self, t: &Tenant, id: &str) -> Result<Contact> {
                let row = sqlx::query(
                    "SELECT id, external_id, name, email, created_at FROM contacts WHERE org_id = $1 AND id = $2",
                )
                .bind(t.org_id())
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                Ok(conversation_rows::contact(&row.ok_or(StoreError::NotFound)?)?)
            }

            async fn create_conversation(
                &self,
                t: &Tenant,
                agent_id: &str,
                contact_id: Option<&str>,
            ) -> Result<Conversation> {
                let mut tx = self.begin_write().await?;
                let agent = fetch_agent(&mut *tx, t, agent_id).await?;
                let version_id = agent.live_version_id.ok_or(StoreError::NotFound)?;
                let id = new_id();
                let now = now_millis();
                sqlx::query(
                    "INSERT INTO conversations (id, org_id, agent_id, agent_version_id, contact_id, status, \
                     created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'ai', $6, $6)",
                )
                .bind(&id)
                .bind(t.org_id())
                .bind(agent_id)
                .bind(&version_id)
                .bind(contact_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                let start = Transition {
                    from: &[],
                    to: Ownership::Ai,
                    actor: Actor::System,
                    reason: "conversation started",
                    assignee: None,
                    priority: "normal",
                };
                record_event(&mut tx, t, &id, None, &start, now).await?;
                let conversation = fetch_conversation(&mut *tx, t, &id).await?;
                tx.commit().await?;
                Ok(conversation)
            }

            async fn get_conversation(&self, t: &Tenant, id: &str) -> Result<Conversation> {
                fetch_conversation(&self.pool, t, id).await
            }

            async fn list_conversations(
                &self,
                t: &Tenant,
                filter: &ConversationFilter,
                page: &PageRequest,
            ) -> Result<Page<ListedConversation>> {
                // One query for the page: the version number and the contact
                // come joined, not looked up row by row.
                let sql = "SELECT c.id, c.agent_id, c.agent_version_id, c.contact_id, c.status, c.assignee_id, \
                     c.language, c.last_outcome, c.created_at, c.updated_at, v.version AS agent_version, \
                     k.id AS contact_key, k.external_id AS contact_external_id, k.name AS contact_name, \
                     k.email AS contact_email, k.created_at AS contact_created_at \
                     FROM conversations c \
                     LEFT JOIN agent_versions v ON v.org_id = c.org_id AND v.id = c.agent_version_id \
                     LEFT JOIN contacts k ON k.org_id = c.org_id AND k.id = c.contact_id \
                     WHERE c.org_id = $1 AND ($2 IS NULL OR c.id < $2) AND ($3 IS NULL OR c.status = $3) \
                     AND ($4 IS NULL OR c.agent_id = $4) \
                     ORDER BY c.id DESC LIMIT $5";
                let found = sqlx::query(sql)
                    .bind(t.org_id())
                    .bind(&page.after)
                    .bind(filter.status.map(Ownership::as_str))
                    .bind(&filter.agent_id)
                    .bind(i64::from(page.limit) + 1)
                    .fetch_all(&self.pool)
                    .await?;
                let items = found.iter().map(conversation_rows::listed_conversation).collect::<Result<Vec<_>, _>>()?;
                Ok(page.finish(items, |x| &x.conversation.id))
            }

            async fn transition_conversation(
                &self,
                t: &Tenant,
                id: &str,
                change: &Transition<'_>,
            ) -> Result<Conversation> {
                let mut tx = self.begin_write().await?;
                let before = fetch_conversation(&mut *tx, t, id).await?;
                if !change.from.contains(&before.status) {
                    return Err(StoreError::Conflict(format!(
                        "the conversation is {}; it cannot become {} from there",
                        before.status, change.to
                    )));
                }
                let now = now_millis();
                sqlx::query("UPDATE conversations SET status = $1, assignee_id = $2, updated_at = $3 WHERE id = $4")
                    .bind(change.to.as_str())
                    .bind(change.assignee)
                    .bind(now)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                record_event(&mut tx, t, id, Some(before.status), change, now).await?;
                match change.to {
                    Ownership::PendingHuman => {
                        sqlx::query(
                            "INSERT INTO escalations (id, org_id, conversation_id, reason, priority, status, \
                             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'open', $6, $6)",
                        )
                        .bind(new_id())
                        .bind(t.org_id())
                        .bind(id)
                        .bind(change.reason)
                        .bind(change.priority)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    }
                    Ownership::Human => {
                        sqlx::query(
                            "UPDATE escalations SET status = 'taken', taken_by = $1, updated_at = $2 \
                             WHERE conversation_id = $3 AND status = 'open'",
                        )
                        .bind(change.assignee)
                        .bind(now)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    }
                    Ownership::Ai | Ownership::Resolved => {
                        sqlx::query(
                            "UPDATE escalations SET status = 'closed', updated_at = $1 \
                             WHERE conversation_id = $2 AND status <> 'closed'",
                        )
                        .bind(now)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                let conversation = fetch_conversation(&mut *tx, t, id).await?;
                let change = crate::changes::ConversationChange {
                    org_id: t.org_id().to_owned(),
                    conversation_id: id.to_owned(),
                    kind: crate::changes::ChangeKind::Status {
                        status: conversation.status,
                        assignee_id: conversation.assignee_id.clone(),
                    },
                };
                self.announce_in(&mut tx, &change).await?;
                tx.commit().await?;
                self.announced(change);
                Ok(conversation)
            }

            async fn list_conversation_events(
                &self,
                t: &Tenant,
                id: &str,
                page: &PageRequest,
            ) -> Result<Page<ConversationEvent>> {
                fetch_conversation(&self.pool, t, id).await?;
                let found = sqlx::query(
                    "SELECT id, from_status, to_status, actor_type, actor_id, reason, created_at \
                     FROM conversation_events WHERE org_id = $1 AND conversation_id = $2 \
                     AND ($3 IS NULL OR id > $3) ORDER BY id LIMIT $4",
                )
                .bind(t.org_id())
                .bind(id)
                .bind(&page.after)
                .bind(i64::from(page.limit) + 1)
                .fetch_all(&self.pool)
                .await?;
                let items = found.iter().map(conversation_rows::event).collect::<Result<Vec<_>, _>>()?;
                Ok(page.finish(items, |x| &x.id))
            }

            async fn set_conversation_language(&self, t: &Tenant, id: &str, language: &str) -> Result<()> {
                sqlx::query("UPDATE conversations SET language = $1 WHERE org_id = $2 AND id = $3")
                    .bind(language)
                    .bind(t.org_id())
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn add_message(&self, t: &Tenant, conversation_id: &str, new: &NewMessage) -> Result<Message> {
                let mut tx = self.begin_write().await?;
                fetch_conversation(&mut *tx, t, conversation_id).await?;
                let id = new_id();
                let now = now_millis();
                sqlx::query(
                    "INSERT INTO messages (id, org_id, conversation_id, role, text, author_id, agent_version_id, \
                     outcome, confidence, details, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                )
                .bind(&id)
                .bind(t.org_id())
                .bind(conversation_id)
                .bind(new.role.as_str())
                .bind(&new.text)
                .bind(&new.author_id)
                .bind(&new.agent_version_id)
                .bind(&new.outcome)
                .bind(new.confidence)
                .bind(new.details.to_string())
                .bind(now)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "UPDATE conversations SET updated_at = $1, last_outcome = COALESCE($2, last_outcome) WHERE id = $3",
                )
                .bind(now)
                .bind(&new.outcome)
                .bind(conversation_id)
                .execute(&mut *tx)
                .await?;
                let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = $1");
                let row = sqlx::query(&sql).bind(&id).fetch_one(&mut *tx).await?;
                let message = conversation_rows::message(&row)?;
                let change = crate::changes::ConversationChange {
                    org_id: t.org_id().to_owned(),
                    conversation_id: conversation_id.to_owned(),
                    kind: crate::changes::ChangeKind::Message { message_id: id.clone() },
                };
                self.announce_in(&mut tx, &change).await?;
                tx.commit().await?;
                self.announced(change);
                Ok(message)
            }

            async fn list_messages(
                &self,
                t: &Tenant,
                conversation_id: &str,
                page: &PageRequest,
            ) -> Result<Page<Message>> {
                fetch_conversation(&self.pool, t, conversation_id).await?;
                let sql = format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages WHERE org_id = $1 AND conversation_id = $2 \
                     AND ($3 IS NULL OR id > $3) ORDER BY id LIMIT $4"
                );
                let found = sqlx::query(&sql)
                    .bind(t.org_id())
                    .bind(conversation_id)
                    .bind(&page.after)
                    .bind(i64::from(page.limit) + 1)
                    .fetch_all(&self.pool)
                    .await?;
                let items = found.iter().map(conversation_rows::message).collect::<Result<Vec<_>, _>>()?;
                Ok(page.finish(items, |x| &x.id))
            }

            async fn recent_messages(&self, t: &Tenant, conversation_id: &str, n: u32) -> Result<Vec<Message>> {
                let sql = format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages WHERE org_id = $1 AND conversation_id = $2 \
                     ORDER BY id DESC LIMIT $3"
                );
                let found = sqlx::query(&sql)
                    .bind(t.org_id())
                    .bind(conversation_id)
                    .bind(i64::from(n))
                    .fetch_all(&self.pool)
                    .await?;
                let mut items = found.iter().map(conversation_rows::message).collect::<Result<Vec<_>, _>>()?;
                items.reverse();
                Ok(items)
            }

            async fn list_escalations(
                &self,
                t: &Tenant,
                status: Option<&str>,
                page: &PageRequest,
            ) -> Result<Page<Escalation>> {
                let sql = format!(
                    "SELECT {ESCALATION_COLUMNS} FROM escalations WHERE org_id = $1 \
                     AND ($2 IS NULL OR id < $2) AND ($3 IS NULL OR status = $3) ORDER BY id DESC LIMIT $4"
                );
                let found = sqlx::query(&sql)
                    .bind(t.org_id())
                    .bind(&page.after)
                    .bind(status)
                    .bind(i64::from(page.limit) + 1)
                    .fetch_all(&self.pool)
                    .await?;
                let items = found.iter().map(conversation_rows::escalation).collect::<Result<Vec<_>, _>>()?;
                Ok(page.finish(items, |x| &x.id))
            }
        }
    };
}

pub(crate) use impl_conversation_store;
