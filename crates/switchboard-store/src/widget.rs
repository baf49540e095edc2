//! Deployments (an agent on websites through the chat widget), visitors and
//! their tokens, attachments, satisfaction ratings, the overview figures, and
//! the subscription to live conversation changes.
//!
//! Written once as a macro over the backend's pool type, like
//! `conversations.rs`. Three look-ups are not tenant-scoped because they
//! *yield* the tenant for a caller who has no credential of ours yet: a
//! deployment by its public id, a visitor by its token's hash, and whether
//! any deployment allows an origin (a CORS preflight carries nothing else).

use async_trait::async_trait;
use tokio::sync::broadcast;

use crate::Result;
use crate::changes::ConversationChange;
use crate::conversations::{Message, NewMessage};
use crate::model::{AuditCtx, Millis, Page, PageRequest, Tenant};

#[derive(Debug, Clone, PartialEq)]
pub struct Deployment {
    pub id: String,
    pub agent_id: String,
    pub name: String,
    /// Normalised origins (`https://shop.example`), exact matches only.
    pub allowed_origins: Vec<String>,
    pub identity_verification: bool,
    pub appearance: serde_json::Value,
    pub created_at: Millis,
    pub updated_at: Millis,
}

#[derive(Debug, Clone)]
pub struct NewDeployment {
    /// Chosen by the caller: the sealed secret is bound to it.
    pub id: String,
    pub agent_id: String,
    pub name: String,
    pub allowed_origins: Vec<String>,
    pub identity_verification: bool,
    pub appearance: serde_json::Value,
    /// The identity secret, encrypted by the caller; the store never sees it in clear.
    pub sealed_secret: Vec<u8>,
}

#[derive(Debug, Clone, Default)]
pub struct DeploymentPatch {
    pub name: Option<String>,
    pub agent_id: Option<String>,
    pub allowed_origins: Option<Vec<String>>,
    pub identity_verification: Option<bool>,
    pub appearance: Option<serde_json::Value>,
}

/// A deployment found by its public id, with the tenant it belongs to.
#[derive(Debug, Clone)]
pub struct PublicDeployment {
    pub tenant: Tenant,
    pub deployment: Deployment,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Visitor {
    pub id: String,
    pub deployment_id: String,
    pub conversation_id: String,
    pub contact_id: Option<String>,
    /// Identified by a valid identity hash.
    pub verified: bool,
    pub created_at: Millis,
    /// When the token was issued or last renewed; it expires a set time after.
    pub renewed_at: Millis,
}

#[derive(Debug, Clone)]
pub struct NewVisitor {
    pub deployment_id: String,
    pub conversation_id: String,
    pub contact_id: Option<String>,
    pub token_hash: String,
    pub verified: bool,
}

/// A visitor found by its token, with its tenant and deployment.
#[derive(Debug, Clone)]
pub struct VisitorSession {
    pub tenant: Tenant,
    pub visitor: Visitor,
    pub deployment: Deployment,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Attachment {
    pub id: String,
    pub conversation_id: String,
    pub message_id: String,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub created_at: Millis,
}

#[derive(Debug, Clone)]
pub struct NewAttachment {
    /// Chosen by the caller, so the message announcing the file can link to it.
    pub id: String,
    pub name: String,
    pub content_type: String,
    pub sha256: String,
    pub content: Vec<u8>,
    /// The customer message that shows the file in the transcript.
    pub message: NewMessage,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Csat {
    pub conversation_id: String,
    pub rating: i32,
    pub comment: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// The assistant turns of one bucket of time, counted by the database.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnFigures {
    /// The bucket's number, from 0 at the range's start.
    pub bucket: i64,
    pub answered: i64,
    pub abstained: i64,
    pub escalated: i64,
    pub refused: i64,
    pub cost_usd: f64,
    /// Nearest-rank percentiles of the whole message path's time; `None` without timed turns.
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
}

#[async_trait]
pub trait WidgetStore: Send + Sync {
    // ---- deployments ----

    async fn create_deployment(&self, t: &Tenant, a: &AuditCtx, new: &NewDeployment) -> Result<Deployment>;
    async fn list_deployments(&self, t: &Tenant, page: &PageRequest) -> Result<Page<Deployment>>;
    async fn get_deployment(&self, t: &Tenant, id: &str) -> Result<Deployment>;
    async fn update_deployment(
        &self,
        t: &Tenant,
        a: &AuditCtx,
        id: &str,
        patch: &DeploymentPatch,
    ) -> Result<Deployment>;
    /// Deletes the deployment; its visitors' tokens stop working, their conversations stay.
    async fn delete_deployment(&self, t: &Tenant, a: &AuditCtx, id: &str) -> Result<()>;
    async fn rotate_deployment_secret(&self, t: &Tenant, a: &AuditCtx, id: &str, sealed: &[u8]) -> Result<Deployment>;
    /// The sealed identity secret.
    async fn deployment_secret(&self, t: &Tenant, id: &str) -> Result<Vec<u8>>;
    /// The origins the agent's deployments allow, each once.
    async fn agent_origins(&self, t: &Tenant, agent_id: &str) -> Result<Vec<String>>;

    // ---- look-ups that yield a tenant (visitor side) ----

    async fn find_deployment(&self, id: &str) -> Result<Option<PublicDeployment>>;
    async fn origin_in_any_deployment(&self, origin: &str) -> Result<bool>;
    async fn find_visitor(&self, token_hash: &str) -> Result<Option<VisitorSession>>;

    // ---- visitors ----

    async fn create_visitor(&self, t: &Tenant, new: &NewVisitor) -> Result<Visitor>;
    /// Restarts the token's lifetime: a returning visitor resumed its session.
    async fn renew_visitor(&self, t: &Tenant, id: &str, at: Millis) -> Result<()>;
    /// The most recently active conversation an identified contact had through the deployment.
    async fn latest_visitor_conversation(
        &self,
        t: &Tenant,
        deployment_id: &str,
        contact_id: &str,
    ) -> Result<Option<String>>;

    // ---- messages, attachments, ratings ----

    async fn get_message(&self, t: &Tenant, conversation_id: &str, id: &str) -> Result<Message>;
    /// Stores the file and the customer message showing it, in one transaction.
    async fn add_attachment(
        &self,
        t: &Tenant,
        conversation_id: &str,
        new: &NewAttachment,
    ) -> Result<(Attachment, Message)>;
    /// The attachment and its bytes.
    async fn get_attachment(&self, t: &Tenant, id: &str) -> Result<(Attachment, Vec<u8>)>;
    /// Records (or replaces) the conversation's rating.
    async fn set_csat(&self, t: &Tenant, conversation_id: &str, rating: i32, comment: Option<&str>) -> Result<Csat>;
    async fn get_csat(&self, t: &Tenant, conversation_id: &str) -> Result<Option<Csat>>;

    // ---- overview figures ----

    /// Assistant turns in `[from, to)` per bucket of `bucket_ms` from `from`
    /// (buckets without turns are left out), aggregated in SQL.
    async fn turn_figures(&self, t: &Tenant, from: Millis, to: Millis, bucket_ms: i64) -> Result<Vec<TurnFigures>>;
    /// Conversations started in `[from, to)`, counted per bucket of `bucket_ms` from `from`.
    async fn conversation_counts(
        &self,
        t: &Tenant,
        from: Millis,
        to: Millis,
        bucket_ms: i64,
    ) -> Result<Vec<(i64, i64)>>;
    /// Ratings given in `[from, to)`: how many, and their mean.
    async fn csat_stats(&self, t: &Tenant, from: Millis, to: Millis) -> Result<(i64, Option<f64>)>;

    // ---- live changes ----

    /// Every conversation change from now on (all tenants: filter by `org_id`).
    async fn subscribe_changes(&self) -> Result<broadcast::Receiver<ConversationChange>>;
}

macro_rules! impl_widget_store {
    ($store:ty, $db:ty, $total_ms:literal, $cost_usd:literal) => {
        mod widget_rows {
            use sqlx::Row;

            use crate::model::Tenant;
            use crate::widget::*;

            type DbRow = <$db as sqlx::Database>::Row;

            fn json(r: &DbRow, col: &str) -> Result<serde_json::Value, sqlx::Error> {
                let text: String = r.try_get(col)?;
                serde_json::from_str(&text).map_err(|e| sqlx::Error::Decode(e.into()))
            }

            pub fn deployment(r: &DbRow) -> Result<Deployment, sqlx::Error> {
                let origins = json(r, "allowed_origins")?;
                Ok(Deployment {
                    id: r.try_get("id")?,
                    agent_id: r.try_get("agent_id")?,
                    name: r.try_get("name")?,
                    allowed_origins: serde_json::from_value(origins).map_err(|e| sqlx::Error::Decode(e.into()))?,
                    identity_verification: r.try_get("identity_verification")?,
                    appearance: json(r, "appearance")?,
                    created_at: r.try_get("created_at")?,
                    updated_at: r.try_get("updated_at")?,
                })
            }

            pub fn visitor_session(r: &DbRow) -> Result<VisitorSession, sqlx::Error> {
                Ok(VisitorSession {
                    tenant: Tenant::new(r.try_get::<String, _>("org_id")?),
                    visitor: Visitor {
                        id: r.try_get("visitor_id")?,
                        deployment_id: r.try_get("id")?,
                        conversation_id: r.try_get("conversation_id")?,
                        contact_id: r.try_get("contact_id")?,
                        verified: r.try_get("verified")?,
                        created_at: r.try_get("visitor_created_at")?,
                        renewed_at: r.try_get("visitor_renewed_at")?,
                    },
                    deployment: deployment(r)?,
                })
            }

            pub fn attachment(r: &DbRow) -> Result<Attachment, sqlx::Error> {
                Ok(Attachment {
                    id: r.try_get("id")?,
                    conversation_id: r.try_get("conversation_id")?,
                    message_id: r.try_get("message_id")?,
                    name: r.try_get("name")?,
                    content_type: r.try_get("content_type")?,
                    size: r.try_get("size")?,
                    sha256: r.try_get("sha256")?,
                    created_at: r.try_get("created_at")?,
                })
            }

            pub fn csat(r: &DbRow) -> Result<Csat, sqlx::Error> {
                Ok(Csat {
                    conversation_id: r.try_get("conversation_id")?,
                    rating: r.try_get("rating")?,
                    comment: r.try_get("comment")?,
                    created_at: r.try_get("created_at")?,
                    updated_at: r.try_get("updated_at")?,
                })
            }

            pub fn turn_figures(r: &DbRow) -> Result<TurnFigures, sqlx::Error> {
                Ok(TurnFigures {
                    bucket: r.try_get("bucket")?,
                    answered: r.try_get("answered")?,
                    abstained: r.try_get("abstained")?,
                    escalated: r.try_get("escalated")?,
                    refused: r.try_get("refused")?,
                    cost_usd: r.try_get::<Option<f64>, _>("cost_usd")?.unwrap_or(0.0),
                    p50_ms: r.try_get("p50_ms")?,
                    p95_ms: r.try_get("p95_ms")?,
                })
            }
        }

        const DEPLOYMENT_COLUMNS: &str = "d.id, d.agent_id, d.name, d.allowed_origins, d.identity_verification, \
             d.appearance, d.created_at, d.updated_at";

        const ATTACHMENT_COLUMNS: &str =
            "id, conversation_id, message_id, name, content_type, size, sha256, created_at";

        async fn fetch_deployment<'e, E>(exec: E, t: &Tenant, id: &str) -> Result<Deployment>
        where
            E: sqlx::Executor<'e, Database = $db>,
        {
            let sql = format!("SELECT {DEPLOYMENT_COLUMNS} FROM deployments d WHERE d.org_id = $1 AND d.id = $2");
            let row = sqlx::query(&sql).bind(t.org_id()).bind(id).fetch_optional(exec).await?;
            Ok(widget_rows::deployment(&row.ok_or(StoreError::NotFound)?)?)
        }

        /// The agent must be the tenant's: another tenant's agent is a missing one.
        async fn check_agent(tx: &mut sqlx::Transaction<'_, $db>, t: &Tenant, agent_id: &str) -> Result<()> {
            let found: Option<(String,)> = sqlx::query_as("SELECT id FROM agents WHERE org_id = $1 AND id = $2")
                .bind(t.org_id())
                .bind(agent_id)
                .fetch_optional(&mut **tx)
                .await?;
            found.map(|_| ()).ok_or_else(|| StoreError::Conflict(format!("no agent `{agent_id}`")))
        }

        async fn replace_origins(
            tx: &mut sqlx::Transaction<'_, $db>,
            t: &Tenant,
            deployment_id: &str,
            origins: &[String],
        ) -> Result<()> {
            sqlx::query("DELETE FROM deployment_origins WHERE deployment_id = $1")
                .bind(deployment_id)
                .execute(&mut **tx)
                .await?;
            for origin in origins {
                sqlx::query(
                    "INSERT INTO deployment_origins (deployment_id, org_id, origin) VALUES ($1, $2, $3) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(deployment_id)
                .bind(t.org_id())
                .bind(origin)
                .execute(&mut **tx)
                .await?;
            }
            Ok(())
        }

        fn origins_json(origins: &[String]) -> String {
            serde_json::Value::from(origins.to_vec()).to_string()
        }

        #[async_trait::async_trait]
        impl WidgetStore for $store {
            async fn create_deployment(&self, t: &Tenant, a: &AuditCtx, new: &NewDeployment) -> Result<Deployment> {
                let mut tx = self.begin_write().await?;
                check_agent(&mut tx, t, &new.agent_id).await?;
                let now = now_millis();
                sqlx::query(
                    "INSERT INTO deployments (id, org_id, agent_id, name, allowed_origins, identity_verification, \
                     appearance, identity_secret, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
                )
                .bind(&new.id)
                .bind(t.org_id())
                .bind(&new.agent_id)
                .bind(&new.name)
                .bind(origins_json(&new.allowed_origins))
                .bind(new.identity_verification)
                .bind(new.appearance.to_string())
                .bind(&new.sealed_secret)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                replace_origins(&mut tx, t, &new.id, &new.allowed_origins).await?;
                let details = serde_json::json!({
                    "name": new.name,
                    "agent_id": new.agent_id,
                    "allowed_origins": new.allowed_origins,
                    "identity_verification": new.identity_verification,
                });
                audit(&mut tx, t, a, "deployment.create", ("deployment", &new.id), details).await?;
                let deployment = fetch_deployment(&mut *tx, t, &new.id).await?;
                tx.commit().await?;
                Ok(deployment)
            }

            async fn list_deployments(&self, t: &Tenant, page: &PageRequest) -> Result<Page<Deployment>> {
                let sql = format!(
                    "SELECT {DEPLOYMENT_COLUMNS} FROM deployments d WHERE d.org_id = $1 \
                     AND ($2 IS NULL OR d.id > $2) ORDER BY d.id LIMIT $3"
                );
                let found = sqlx::query(&sql)
                    .bind(t.org_id())
                    .bind(&page.after)
                    .bind(i64::from(page.limit) + 1)
                    .fetch_all(&self.pool)
                    .await?;
                let items = found.iter().map(widget_rows::deployment).collect::<Result<Vec<_>, _>>()?;
                Ok(page.finish(items, |x| &x.id))
            }

            async fn get_deployment(&self, t: &Tenant, id: &str) -> Result<Deployment> {
                fetch_deployment(&self.pool, t, id).await
            }

            async fn update_deployment(
                &self,
                t: &Tenant,
                a: &AuditCtx,
                id: &str,
                patch: &DeploymentPatch,
            ) -> Result<Deployment> {
                let mut tx = self.begin_write().await?;
                let before = fetch_deployment(&mut *tx, t, id).await?;
                if let Some(agent_id) = &patch.agent_id {
                    check_agent(&mut tx, t, agent_id).await?;
                }
                let origins = patch.allowed_origins.as_ref().unwrap_or(&before.allowed_origins);
                sqlx::query(
                    "UPDATE deployments SET name = $1, agent_id = $2, allowed_origins = $3, \
                     identity_verification = $4, appearance = $5, updated_at = $6 WHERE org_id = $7 AND id = $8",
                )
                .bind(patch.name.as_ref().unwrap_or(&before.name))
                .bind(patch.agent_id.as_ref().unwrap_or(&before.agent_id))
                .bind(origins_json(origins))
                .bind(patch.identity_verification.unwrap_or(before.identity_verification))
                .bind(patch.appearance.as_ref().unwrap_or(&before.appearance).to_string())
                .bind(now_millis())
                .bind(t.org_id())
                .bind(id)
                .execute(&mut *tx)
                .await?;
                if patch.allowed_origins.is_some() {
                    replace_origins(&mut tx, t, id, origins).await?;
                }
                let mut changed = Vec::new();
                for (field, set) in [
                    ("name", patch.name.is_some()),
                    ("agent_id", patch.agent_id.is_some()),
                    ("allowed_origins", patch.allowed_origins.is_some()),
                    ("identity_verification", patch.identity_verification.is_some()),
                    ("appearance", patch.appearance.is_some()),
                ] {
                    if set {
                        changed.push(field);
                    }
                }
                let details = serde_json::json!({"changed": changed, "allowed_origins": origins});
                audit(&mut tx, t, a, "deployment.update", ("deployment", id), details).await?;
                let deployment = fetch_deployment(&mut *tx, t, id).await?;
                tx.commit().await?;
                Ok(deployment)
            }

            async fn delete_deployment(&self, t: &Tenant, a: &AuditCtx, id: &str) -> Result<()> {
                let mut tx = self.begin_write().await?;
                let before = fetch_deployment(&mut *tx, t, id).await?;
                for sql in [
                    "DELETE FROM visitors WHERE org_id = $1 AND deployment_id = $2",
                    "DELETE FROM deployment_origins WHERE org_id = $1 AND deployment_id = $2",
                    "DELETE FROM deployments WHERE org_id = $1 AND id = $2",
                ] {
                    sqlx::query(sql).bind(t.org_id()).bind(id).execute(&mut *tx).await?;
                }
                let details = serde_json::json!({"name": before.name});
                audit(&mut tx, t, a, "deployment.delete", ("deployment", id), details).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn rotate_deployment_secret(
                &self,
                t: &Tenant,
                a: &AuditCtx,
                id: &str,
                sealed: &[u8],
            ) -> Result<Deployment> {
                let mut tx = self.begin_write().await?;
                fetch_deployment(&mut *tx, t, id).await?;
                sqlx::query(
                    "UPDATE deployments SET identity_secret = $1, updated_at = $2 WHERE org_id = $3 AND id = $4",
                )
                .bind(sealed)
                .bind(now_millis())
                .bind(t.org_id())
                .bind(id)
                .execute(&mut *tx)
                .await?;
                audit(&mut tx, t, a, "deployment.rotate_secret", ("deployment", id), serde_json::json!({})).await?;
                let deployment = fetch_deployment(&mut *tx, t, id).await?;
                tx.commit().await?;
                Ok(deployment)
            }

            async fn deployment_secret(&self, t: &Tenant, id: &str) -> Result<Vec<u8>> {
                let found: Option<(Vec<u8>,)> =
                    sqlx::query_as("SELECT identity_secret FROM deployments WHERE org_id = $1 AND id = $2")
                        .bind(t.org_id())
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await?;
                found.map(|(s,)| s).ok_or(StoreError::NotFound)
            }

            async fn agent_origins(&self, t: &Tenant, agent_id: &str) -> Result<Vec<String>> {
                let found: Vec<(String,)> = sqlx::query_as(
                    "SELECT DISTINCT o.origin FROM deployment_origins o \
                     JOIN deployments d ON d.id = o.deployment_id AND d.org_id = o.org_id \
                     WHERE o.org_id = $1 AND d.agent_id = $2 ORDER BY o.origin",
                )
                .bind(t.org_id())
                .bind(agent_id)
                .fetch_all(&self.pool)
                .await?;
                Ok(found.into_iter().map(|(origin,)| origin).collect())
            }

            async fn find_deployment(&self, id: &str) -> Result<Option<PublicDeployment>> {
                use sqlx::Row;
                let sql = format!("SELECT {DEPLOYMENT_COLUMNS}, d.org_id FROM deployments d WHERE d.id = $1");
                let Some(row) = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await? else {
                    return Ok(None);
                };
                let org: String = row.try_get("org_id")?;
                Ok(Some(PublicDeployment { tenant: Tenant::new(org), deployment: widget_rows::deployment(&row)? }))
            }

            async fn origin_in_any_deployment(&self, origin: &str) -> Result<bool> {
                let found: Option<(String,)> =
                    sqlx::query_as("SELECT deployment_id FROM deployment_origins WHERE origin = $1 LIMIT 1")
                        .bind(origin)
                        .fetch_optional(&self.pool)
                        .await?;
                Ok(found.is_some())
            }

            async fn find_visitor(&self, token_hash: &str) -> Result<Option<VisitorSession>> {
                let sql = format!(
                    "SELECT {DEPLOYMENT_COLUMNS}, v.org_id, v.id AS visitor_id, v.conversation_id, v.contact_id, \
                     v.verified, v.created_at AS visitor_created_at, v.renewed_at AS visitor_renewed_at \
                     FROM visitors v JOIN deployments d ON d.id = v.deployment_id AND d.org_id = v.org_id \
                     WHERE v.token_hash = $1"
                );
                let row = sqlx::query(&sql).bind(token_hash).fetch_optional(&self.pool).await?;
                Ok(row.as_ref().map(widget_rows::visitor_session).transpose()?)
            }

            async fn create_visitor(&self, t: &Tenant, new: &NewVisitor) -> Result<Visitor> {
                let mut tx = self.begin_write().await?;
                fetch_deployment(&mut *tx, t, &new.deployment_id).await?;
                fetch_conversation(&mut *tx, t, &new.conversation_id).await?;
                let id = new_id();
                let now = now_millis();
                sqlx::query(
                    "INSERT INTO visitors (id, org_id, deployment_id, conversation_id, contact_id, token_hash, \
                     verified, created_at, renewed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
                )
                .bind(&id)
                .bind(t.org_id())
                .bind(&new.deployment_id)
                .bind(&new.conversation_id)
                .bind(&new.contact_id)
                .bind(&new.token_hash)
                .bind(new.verified)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::unique(e, "visitor token already in use"))?;
                tx.commit().await?;
                Ok(Visitor {
                    id,
                    deployment_id: new.deployment_id.clone(),
                    conversation_id: new.conversation_id.clone(),
                    contact_id: new.contact_id.clone(),
                    verified: new.verified,
                    created_at: now,
                    renewed_at: now,
                })
            }

            async fn renew_visitor(&self, t: &Tenant, id: &str, at: Millis) -> Result<()> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query("UPDATE visitors SET renewed_at = $3 WHERE org_id = $1 AND id = $2")
                    .bind(t.org_id())
                    .bind(id)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                tx.commit().await?;
                Ok(())
            }

            async fn latest_visitor_conversation(
                &self,
                t: &Tenant,
                deployment_id: &str,
                contact_id: &str,
            ) -> Result<Option<String>> {
                let found: Option<(String,)> = sqlx::query_as(
                    "SELECT c.id FROM visitors v JOIN conversations c ON c.id = v.conversation_id \
                     WHERE v.org_id = $1 AND v.deployment_id = $2 AND c.contact_id = $3 AND v.verified = $4 \
                     ORDER BY c.updated_at DESC, c.id DESC LIMIT 1",
                )
                .bind(t.org_id())
                .bind(deployment_id)
                .bind(contact_id)
                .bind(true)
                .fetch_optional(&self.pool)
                .await?;
                Ok(found.map(|(id,)| id))
            }

            async fn get_message(&self, t: &Tenant, conversation_id: &str, id: &str) -> Result<Message> {
                let sql = format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages WHERE org_id = $1 AND conversation_id = $2 AND id = $3"
                );
                let row =
                    sqlx::query(&sql).bind(t.org_id()).bind(conversation_id).bind(id).fetch_optional(&self.pool).await?;
                Ok(conversation_rows::message(&row.ok_or(StoreError::NotFound)?)?)
            }

            async fn add_attachment(
                &self,
                t: &Tenant,
                conversation_id: &str,
                new: &NewAttachment,
            ) -> Result<(Attachment, Message)> {
                let mut tx = self.begin_write().await?;
                fetch_conversation(&mut *tx, t, conversation_id).await?;
                let message_id = new_id();
                let now = now_millis();
                let m = &new.message;
                sqlx::query(
                    "INSERT INTO messages (id, org_id, conversation_id, role, text, author_id, agent_version_id, \
                     outcome, confidence, details, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                )
                .bind(&message_id)
                .bind(t.org_id())
                .bind(conversation_id)
                .bind(m.role.as_str())
                .bind(&m.text)
                .bind(&m.author_id)
                .bind(&m.agent_version_id)
                .bind(&m.outcome)
                .bind(m.confidence)
                .bind(m.details.to_string())
                .bind(now)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO attachments (id, org_id, conversation_id, message_id, name, content_type, size, \
                     sha256, content, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(&new.id)
                .bind(t.org_id())
                .bind(conversation_id)
                .bind(&message_id)
                .bind(&new.name)
                .bind(&new.content_type)
                .bind(new.content.len() as i64)
                .bind(&new.sha256)
                .bind(&new.content)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                sqlx::query("UPDATE conversations SET updated_at = $1 WHERE org_id = $2 AND id = $3")
                    .bind(now)
                    .bind(t.org_id())
                    .bind(conversation_id)
                    .execute(&mut *tx)
                    .await?;
                let change = ConversationChange {
                    org_id: t.org_id().to_owned(),
                    conversation_id: conversation_id.to_owned(),
                    kind: ChangeKind::Message { message_id: message_id.clone() },
                };
                self.announce_in(&mut tx, &change).await?;
                let sql = format!("SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE id = $1");
                let attachment = widget_rows::attachment(&sqlx::query(&sql).bind(&new.id).fetch_one(&mut *tx).await?)?;
                let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = $1");
                let message = conversation_rows::message(&sqlx::query(&sql).bind(&message_id).fetch_one(&mut *tx).await?)?;
                tx.commit().await?;
                self.announced(change);
                Ok((attachment, message))
            }

            async fn get_attachment(&self, t: &Tenant, id: &str) -> Result<(Attachment, Vec<u8>)> {
                use sqlx::Row;
                let sql = format!("SELECT {ATTACHMENT_COLUMNS}, content FROM attachments WHERE org_id = $1 AND id = $2");
                let row = sqlx::query(&sql).bind(t.org_id()).bind(id).fetch_optional(&self.pool).await?;
                let row = row.ok_or(StoreError::NotFound)?;
                Ok((widget_rows::attachment(&row)?, row.try_get("content")?))
            }

            async fn set_csat(
                &self,
                t: &Tenant,
                conversation_id: &str,
                rating: i32,
                comment: Option<&str>,
            ) -> Result<Csat> {
                let mut tx = self.begin_write().await?;
                fetch_conversation(&mut *tx, t, conversation_id).await?;
                let now = now_millis();
                sqlx::query(
                    "INSERT INTO csat_ratings (conversation_id, org_id, rating, comment, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (conversation_id) \
                     DO UPDATE SET rating = excluded.rating, comment = excluded.comment, updated_at = excluded.updated_at",
                )
                .bind(conversation_id)
                .bind(t.org_id())
                .bind(rating)
                .bind(comment)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                let row = sqlx::query(
                    "SELECT conversation_id, rating, comment, created_at, updated_at FROM csat_ratings \
                     WHERE org_id = $1 AND conversation_id = $2",
                )
                .bind(t.org_id())
                .bind(conversation_id)
                .fetch_one(&mut *tx)
                .await?;
                let csat = widget_rows::csat(&row)?;
                tx.commit().await?;
                Ok(csat)
            }

            async fn get_csat(&self, t: &Tenant, conversation_id: &str) -> Result<Option<Csat>> {
                let row = sqlx::query(
                    "SELECT conversation_id, rating, comment, created_at, updated_at FROM csat_ratings \
                     WHERE org_id = $1 AND conversation_id = $2",
                )
                .bind(t.org_id())
                .bind(conversation_id)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.as_ref().map(widget_rows::csat).transpose()?)
            }

            async fn turn_figures(
                &self,
                t: &Tenant,
                from: Millis,
                to: Millis,
                bucket_ms: i64,
            ) -> Result<Vec<TurnFigures>> {
                // Percentiles by nearest rank with window functions (both
                // backends have them): among a bucket's timed turns ordered by
                // time taken, the p-th percentile is number ceil(p * n / 100),
                // written (p * n + 99) / 100 in integers.
                let sql = format!(
                    "WITH turns AS (\
                         SELECT (created_at - $2) / $4 AS bucket, outcome, {} AS ms, {} AS cost \
                         FROM messages \
                         WHERE org_id = $1 AND role = 'assistant' AND created_at >= $2 AND created_at < $3), \
                     ranked AS (\
                         SELECT bucket, outcome, ms, cost, \
                         ROW_NUMBER() OVER (PARTITION BY bucket, ms IS NULL ORDER BY ms) AS rn, \
                         COUNT(ms) OVER (PARTITION BY bucket) AS n \
                         FROM turns) \
                     SELECT bucket, \
                     SUM(CASE WHEN outcome = 'answered' THEN 1 ELSE 0 END) AS answered, \
                     SUM(CASE WHEN outcome = 'abstained' THEN 1 ELSE 0 END) AS abstained, \
                     SUM(CASE WHEN outcome = 'escalated' THEN 1 ELSE 0 END) AS escalated, \
                     SUM(CASE WHEN outcome = 'refused' THEN 1 ELSE 0 END) AS refused, \
                     SUM(cost) AS cost_usd, \
                     MAX(CASE WHEN ms IS NOT NULL AND rn = (50 * n + 99) / 100 THEN ms END) AS p50_ms, \
                     MAX(CASE WHEN ms IS NOT NULL AND rn = (95 * n + 99) / 100 THEN ms END) AS p95_ms \
                     FROM ranked GROUP BY bucket ORDER BY bucket",
                    $total_ms, $cost_usd
                );
                let found = sqlx::query(&sql)
                    .bind(t.org_id())
                    .bind(from)
                    .bind(to)
                    .bind(bucket_ms.max(1))
                    .fetch_all(&self.pool)
                    .await?;
                Ok(found.iter().map(widget_rows::turn_figures).collect::<Result<Vec<_>, _>>()?)
            }

            async fn conversation_counts(
                &self,
                t: &Tenant,
                from: Millis,
                to: Millis,
                bucket_ms: i64,
            ) -> Result<Vec<(i64, i64)>> {
                let found: Vec<(i64, i64)> = sqlx::query_as(
                    "SELECT (created_at - $2) / $4 AS bucket, COUNT(*) AS n FROM conversations \
                     WHERE org_id = $1 AND created_at >= $2 AND created_at < $3 GROUP BY bucket ORDER BY bucket",
                )
                .bind(t.org_id())
                .bind(from)
                .bind(to)
                .bind(bucket_ms.max(1))
                .fetch_all(&self.pool)
                .await?;
                Ok(found)
            }

            async fn csat_stats(&self, t: &Tenant, from: Millis, to: Millis) -> Result<(i64, Option<f64>)> {
                let found: (i64, Option<f64>) = sqlx::query_as(
                    "SELECT COUNT(*), AVG(CAST(rating AS DOUBLE PRECISION)) FROM csat_ratings \
                     WHERE org_id = $1 AND updated_at >= $2 AND updated_at < $3",
                )
                .bind(t.org_id())
                .bind(from)
                .bind(to)
                .fetch_one(&self.pool)
                .await?;
                Ok(found)
            }

            async fn subscribe_changes(&self) -> Result<tokio::sync::broadcast::Receiver<ConversationChange>> {
                self.subscribe_backend().await
            }
        }
    };
}

pub(crate) use impl_widget_store;
