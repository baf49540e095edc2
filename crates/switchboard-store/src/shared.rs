//! The store implementation both backends share. SQLite and PostgreSQL accept
//! the same SQL for everything here (`$n` placeholders, `RETURNING`,
//! `ON CONFLICT`), and sqlx's row decoding is typed per backend, so the code is
//! written once as a macro and expanded for each backend's pool type. What
//! really differs (connection setup, pragmas) lives in `sqlite.rs` and
//! `postgres.rs`.

macro_rules! impl_store {
    ($store:ty, $db:ty, $backend:expr, $skip_locked:literal) => {
        mod rows {
            use sqlx::Row;

            use crate::model::*;

            type DbRow = <$db as sqlx::Database>::Row;

            pub fn org(r: &DbRow) -> Result<Org, sqlx::Error> {
                Ok(Org { id: r.try_get("id")?, name: r.try_get("name")?, created_at: r.try_get("created_at")? })
            }

            pub fn user(r: &DbRow) -> Result<User, sqlx::Error> {
                Ok(User {
                    id: r.try_get("user_id")?,
                    email: r.try_get("email")?,
                    name: r.try_get("user_name")?,
                    created_at: r.try_get("user_created_at")?,
                })
            }

            pub fn role(r: &DbRow, col: &str) -> Result<Role, sqlx::Error> {
                let text: String = r.try_get(col)?;
                text.parse().map_err(|e: String| sqlx::Error::Decode(e.into()))
            }

            pub fn member(r: &DbRow) -> Result<Member, sqlx::Error> {
                Ok(Member { user: user(r)?, role: role(r, "role")?, joined_at: r.try_get("joined_at")? })
            }

            pub fn api_key(r: &DbRow) -> Result<ApiKey, sqlx::Error> {
                let scopes: String = r.try_get("scopes")?;
                Ok(ApiKey {
                    id: r.try_get("id")?,
                    org_id: r.try_get("org_id")?,
                    name: r.try_get("name")?,
                    prefix: r.try_get("prefix")?,
                    role: role(r, "role")?,
                    scopes: scopes_from_text(&scopes),
                    created_by: r.try_get("created_by")?,
                    created_at: r.try_get("created_at")?,
                    last_used_at: r.try_get("last_used_at")?,
                    revoked_at: r.try_get("revoked_at")?,
                })
            }

            pub fn collection(r: &DbRow) -> Result<Collection, sqlx::Error> {
                Ok(Collection {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    description: r.try_get("description")?,
                    embedding_model: r.try_get("embedding_model")?,
                    embedding_dim: r.try_get("embedding_dim")?,
                    embedding_endpoint: r
                        .try_get::<Option<String>, _>("embedding_endpoint")?
                        .map(|json| serde_json::from_str(&json))
                        .transpose()
                        .map_err(|e| sqlx::Error::Decode(e.into()))?,
                    vectors_pending: r.try_get("vectors_pending")?,
                    created_at: r.try_get("created_at")?,
                    updated_at: r.try_get("updated_at")?,
                })
            }

            pub fn job(r: &DbRow) -> Result<Job, sqlx::Error> {
                let payload: String = r.try_get("payload")?;
                let status: String = r.try_get("status")?;
                Ok(Job {
                    id: r.try_get("id")?,
                    org_id: r.try_get("org_id")?,
                    kind: r.try_get("kind")?,
                    payload: serde_json::from_str(&payload).map_err(|e| sqlx::Error::Decode(e.into()))?,
                    status: status.parse().map_err(|e: String| sqlx::Error::Decode(e.into()))?,
                    attempts: r.try_get("attempts")?,
                    max_attempts: r.try_get("max_attempts")?,
                    run_after: r.try_get("run_after")?,
                    lease_until: r.try_get("lease_until")?,
                    leased_by: r.try_get("leased_by")?,
                    last_error: r.try_get("last_error")?,
                    created_at: r.try_get("created_at")?,
                    updated_at: r.try_get("updated_at")?,
                })
            }

            pub fn document(r: &DbRow) -> Result<Document, sqlx::Error> {
                let status: String = r.try_get("status")?;
                Ok(Document {
                    id: r.try_get("id")?,
                    collection_id: r.try_get("collection_id")?,
                    source_key: r.try_get("source_key")?,
                    source_kind: r.try_get("source_kind")?,
                    title: r.try_get("title")?,
                    url: r.try_get("url")?,
                    status: status.parse().map_err(|e: String| sqlx::Error::Decode(e.into()))?,
                    error: r.try_get("error")?,
                    latest_version: r.try_get("latest_version")?,
                    live_version_id: r.try_get("live_version_id")?,
                    chunk_count: r.try_get("chunk_count")?,
                    content_hash: r.try_get("content_hash")?,
                    metadata: crate::Metadata::from_json(&r.try_get::<String, _>("metadata")?),
                    created_at: r.try_get("created_at")?,
                    updated_at: r.try_get("updated_at")?,
                })
            }

            pub fn hit(r: &DbRow) -> Result<ChunkHit, sqlx::Error> {
                Ok(ChunkHit {
                    chunk_id: r.try_get("chunk_id")?,
                    document_id: r.try_get("document_id")?,
                    collection_id: r.try_get("collection_id")?,
                    title: r.try_get("title")?,
                    url: r.try_get("url")?,
                    heading_path: r.try_get("heading_path")?,
                    page: r.try_get("page")?,
                    text: r.try_get("text")?,
                    score: r.try_get("score")?,
                })
            }

            pub fn audit(r: &DbRow) -> Result<AuditEntry, sqlx::Error> {
                let kind: String = r.try_get("actor_type")?;
                let details: String = r.try_get("details")?;
                Ok(AuditEntry {
                    id: r.try_get("id")?,
                    actor: Actor::from_parts(&kind, r.try_get("actor_id")?),
                    action: r.try_get("action")?,
                    target_type: r.try_get("target_type")?,
                    target_id: r.try_get("target_id")?,
                    request_id: r.try_get("request_id")?,
                    details: serde_json::from_str(&details).unwrap_or(serde_json::Value::Null),
                    created_at: r.try_get("created_at")?,
                })
            }
        }

        /// An in-flight idempotency key older than this belongs to a request whose process died.
        const IDEMPOTENCY_ABANDONED_MS: i64 = 5 * 60 * 1000;

        const MEMBER_SELECT: &str = "SELECT u.id AS user_id, u.email, u.name AS user_name, \
             u.created_at AS user_created_at, m.role, m.created_at AS joined_at \
             FROM memberships m JOIN users u ON u.id = m.user_id";

        const API_KEY_COLUMNS: &str =
            "id, org_id, name, prefix, role, scopes, created_by, created_at, last_used_at, revoked_at";

        const COLLECTION_COLUMNS: &str = "id, name, description, embedding_model, embedding_dim, embedding_endpoint, \
             (SELECT count(*) FROM chunks k WHERE k.collection_id = collections.id AND k.embedding IS NULL) \
             AS vectors_pending, created_at, updated_at";

        const JOB_COLUMNS: &str = "id, org_id, kind, payload, status, attempts, max_attempts, run_after, \
             lease_until, leased_by, last_error, created_at, updated_at";

        const DOCUMENT_COLUMNS: &str = "id, collection_id, source_key, source_kind, title, url, status, error, \
             latest_version, live_version_id, chunk_count, content_hash, metadata, created_at, updated_at";

        async fn fetch_document<'e, E>(exec: E, t: &Tenant, id: &str) -> Result<Document>
        where
            E: sqlx::Executor<'e, Database = $db>,
        {
            let sql = format!("SELECT {DOCUMENT_COLUMNS} FROM documents WHERE org_id = $1 AND id = $2");
            let row = sqlx::query(&sql).bind(t.org_id()).bind(id).fetch_optional(exec).await?;
            Ok(rows::document(&row.ok_or(StoreError::NotFound)?)?)
        }

        /// The document a version belongs to, and the version's number.
        async fn version_owner(tx: &mut sqlx::Transaction<'_, $db>, t: &Tenant, version_id: &str) -> Result<(String, i32)> {
            let row: Option<(String, i32)> =
                sqlx::query_as("SELECT document_id, version FROM document_versions WHERE org_id = $1 AND id = $2")
                    .bind(t.org_id())
                    .bind(version_id)
                    .fetch_optional(&mut **tx)
                    .await?;
            row.ok_or(StoreError::NotFound)
        }

        /// Records an upload as the next version of its source inside the caller's
        /// transaction (see [`Store::add_document_version`]). A crawled page's new
        /// document belongs to `crawl_source_id`.
        async fn add_version_in(
            tx: &mut sqlx::Transaction<'_, $db>,
            t: &Tenant,
            a: &AuditCtx,
            collection_id: &str,
            new: &NewDocumentVersion,
            job_max_attempts: i32,
            crawl_source_id: Option<&str>,
        ) -> Result<AddedDocument> {
            fetch_collection(&mut **tx, t, collection_id).await?;
            let now = now_millis();
            let existing: Option<(String,)> = sqlx::query_as(
                "SELECT id FROM documents WHERE org_id = $1 AND collection_id = $2 AND source_key = $3",
            )
            .bind(t.org_id())
            .bind(collection_id)
            .bind(&new.source_key)
            .fetch_optional(&mut **tx)
            .await?;
            let (document_id, version) = match existing {
                Some((id,)) => {
                    let current = fetch_document(&mut **tx, t, &id).await?;
                    if current.content_hash == new.content_hash && current.status != DocumentStatus::Failed {
                        if current.metadata == new.metadata {
                            return Ok(AddedDocument { document: current, version_id: None, job_id: None });
                        }
                        // Same content, new metadata: no new version to ingest, the metadata changes at once.
                        set_document_metadata(tx, t, &id, &new.metadata).await?;
                        let details = serde_json::json!({"metadata": new.metadata.entries()});
                        audit(tx, t, a, "document.metadata", ("document", &id), details).await?;
                        let document = fetch_document(&mut **tx, t, &id).await?;
                        return Ok(AddedDocument { document, version_id: None, job_id: None });
                    }
                    let version = current.latest_version + 1;
                    sqlx::query(
                        "UPDATE documents SET title = $1, url = $2, status = 'queued', error = NULL, \
                         latest_version = $3, content_hash = $4, updated_at = $5 WHERE org_id = $6 AND id = $7",
                    )
                    .bind(&new.title)
                    .bind(&new.url)
                    .bind(version)
                    .bind(&new.content_hash)
                    .bind(now)
                    .bind(t.org_id())
                    .bind(&id)
                    .execute(&mut **tx)
                    .await?;
                    (id, version)
                }
                None => {
                    let id = new_id();
                    sqlx::query(
                        "INSERT INTO documents (id, org_id, collection_id, source_key, source_kind, title, url, \
                         status, latest_version, content_hash, created_at, updated_at, crawl_source_id) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, 'queued', 1, $8, $9, $9, $10)",
                    )
                    .bind(&id)
                    .bind(t.org_id())
                    .bind(collection_id)
                    .bind(&new.source_key)
                    .bind(&new.source_kind)
                    .bind(&new.title)
                    .bind(&new.url)
                    .bind(&new.content_hash)
                    .bind(now)
                    .bind(crawl_source_id)
                    .execute(&mut **tx)
                    .await?;
                    (id, 1)
                }
            };
            set_document_metadata(tx, t, &document_id, &new.metadata).await?;
            let version_id = new_id();
            sqlx::query(
                "INSERT INTO document_versions (id, org_id, document_id, version, status, content_hash, media_type, \
                 byte_size, content, created_at, updated_at) VALUES ($1, $2, $3, $4, 'queued', $5, $6, $7, $8, $9, $9)",
            )
            .bind(&version_id)
            .bind(t.org_id())
            .bind(&document_id)
            .bind(version)
            .bind(&new.content_hash)
            .bind(&new.media_type)
            .bind(new.content.len() as i64)
            .bind(&new.content)
            .bind(now)
            .execute(&mut **tx)
            .await?;
            let job_id = new_id();
            sqlx::query(
                "INSERT INTO jobs (id, org_id, kind, payload, status, attempts, max_attempts, run_after, \
                 created_at, updated_at) VALUES ($1, $2, 'ingest', $3, 'queued', 0, $4, $5, $5, $5)",
            )
            .bind(&job_id)
            .bind(t.org_id())
            .bind(serde_json::json!({"version_id": version_id}).to_string())
            .bind(job_max_attempts.max(1))
            .bind(now)
            .execute(&mut **tx)
            .await?;
            let details = serde_json::json!({"title": new.title, "version": version, "source": new.source_key});
            let action = if crawl_source_id.is_some() { "document.crawl" } else { "document.upload" };
            audit(tx, t, a, action, ("document", &document_id), details).await?;
            let document = fetch_document(&mut **tx, t, &document_id).await?;
            Ok(AddedDocument { document, version_id: Some(version_id), job_id: Some(job_id) })
        }

        /// Replaces a document's metadata: the JSON it is read back as, and the
        /// key/value rows search filters look up.
        async fn set_document_metadata(
            tx: &mut sqlx::Transaction<'_, $db>,
            t: &Tenant,
            document_id: &str,
            metadata: &crate::Metadata,
        ) -> Result<()> {
            sqlx::query("UPDATE documents SET metadata = $1 WHERE org_id = $2 AND id = $3")
                .bind(metadata.to_json())
                .bind(t.org_id())
                .bind(document_id)
                .execute(&mut **tx)
                .await?;
            sqlx::query("DELETE FROM document_metadata WHERE org_id = $1 AND document_id = $2")
                .bind(t.org_id())
                .bind(document_id)
                .execute(&mut **tx)
                .await?;
            for (key, value) in metadata.entries() {
                sqlx::query("INSERT INTO document_metadata (document_id, key, org_id, value) VALUES ($1, $2, $3, $4)")
                    .bind(document_id)
                    .bind(key)
                    .bind(t.org_id())
                    .bind(value)
                    .execute(&mut **tx)
                    .await?;
            }
            Ok(())
        }

        /// Deletes a document with its versions and chunks inside the caller's transaction.
        async fn delete_document_in(tx: &mut sqlx::Transaction<'_, $db>, t: &Tenant, id: &str) -> Result<()> {
            // Explicit, child first, so the full-text index triggers see every chunk go.
            for sql in [
                "DELETE FROM chunks WHERE org_id = $1 AND document_id = $2",
                "DELETE FROM document_metadata WHERE org_id = $1 AND document_id = $2",
                "DELETE FROM document_versions WHERE org_id = $1 AND document_id = $2",
                "DELETE FROM documents WHERE org_id = $1 AND id = $2",
            ] {
                sqlx::query(sql).bind(t.org_id()).bind(id).execute(&mut **tx).await?;
            }
            Ok(())
        }

        async fn fetch_collection<'e, E>(exec: E, t: &Tenant, id: &str) -> Result<Collection>
        where
            E: sqlx::Executor<'e, Database = $db>,
        {
            let sql = format!("SELECT {COLLECTION_COLUMNS} FROM collections WHERE org_id = $1 AND id = $2");
            let row = sqlx::query(&sql).bind(t.org_id()).bind(id).fetch_optional(exec).await?;
            Ok(rows::collection(&row.ok_or(StoreError::NotFound)?)?)
        }

        /// Writes one audit entry inside the caller's transaction.
        async fn audit(
            tx: &mut sqlx::Transaction<'_, $db>,
            t: &Tenant,
            a: &AuditCtx,
            action: &str,
            target: (&str, &str),
            details: serde_json::Value,
        ) -> Result<()> {
            sqlx::query(
                "INSERT INTO audit_log (id, org_id, actor_type, actor_id, action, target_type, target_id, \
                 request_id, details, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(new_id())
            .bind(t.org_id())
            .bind(a.actor.kind())
            .bind(a.actor.id())
            .bind(action)
            .bind(target.0)
            .bind(target.1)
            .bind(&a.request_id)
            .bind(details.to_string())
            .bind(now_millis())
            .execute(&mut **tx)
            .await?;
            Ok(())
        }

        async fn fetch_member<'e, E>(exec: E, t: &Tenant, user_id: &str) -> Result<Member>
        where
            E: sqlx::Executor<'e, Database = $db>,
        {
            let sql = format!("{MEMBER_SELECT} WHERE m.org_id = $1 AND m.user_id = $2");
            let row = sqlx::query(&sql).bind(t.org_id()).bind(user_id).fetch_optional(exec).await?;
            let row = row.ok_or(StoreError::NotFound)?;
            Ok(rows::member(&row)?)
        }

        async fn fetch_api_key<'e, E>(exec: E, t: &Tenant, id: &str) -> Result<ApiKey>
        where
            E: sqlx::Executor<'e, Database = $db>,
        {
            let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE org_id = $1 AND id = $2");
            let row = sqlx::query(&sql).bind(t.org_id()).bind(id).fetch_optional(exec).await?;
            Ok(rows::api_key(&row.ok_or(StoreError::NotFound)?)?)
        }

        async fn insert_api_key(
            tx: &mut sqlx::Transaction<'_, $db>,
            t: &Tenant,
            new: &NewApiKey,
        ) -> Result<ApiKey> {
            let id = new_id();
            sqlx::query(
                "INSERT INTO api_keys (id, org_id, name, prefix, key_hash, role, scopes, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&id)
            .bind(t.org_id())
            .bind(&new.name)
            .bind(&new.prefix)
            .bind(&new.key_hash)
            .bind(new.role.as_str())
            .bind(scopes_to_text(&new.scopes))
            .bind(&new.created_by)
            .bind(now_millis())
            .execute(&mut **tx)
            .await
            .map_err(|e| StoreError::unique(e, "an API key with this secret exists"))?;
            fetch_api_key(&mut **tx, t, &id).await
        }

        /// Finds the user with this email or creates one; returns the user id.
        async fn upsert_user(
            tx: &mut sqlx::Transaction<'_, $db>,
            email: &str,
            name: &str,
            password_hash: &str,
        ) -> Result<String> {
            let email = email.trim().to_lowercase();
            let existing: Option<(String,)> =
                sqlx::query_as("SELECT id FROM users WHERE email = $1").bind(&email).fetch_optional(&mut **tx).await?;
            if let Some((id,)) = existing {
                return Ok(id);
            }
            let id = new_id();
            sqlx::query("INSERT INTO users (id, email, name, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(&id)
                .bind(&email)
                .bind(name)
                .bind(password_hash)
                .bind(now_millis())
                .execute(&mut **tx)
                .await
                .map_err(|e| StoreError::unique(e, "a user with this email exists"))?;
            Ok(id)
        }

        /// Refuses to leave an organization without an owner.
        async fn ensure_other_owner(tx: &mut sqlx::Transaction<'_, $db>, t: &Tenant, user_id: &str) -> Result<()> {
            let (owners,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM memberships WHERE org_id = $1 AND role = 'owner' AND user_id <> $2",
            )
            .bind(t.org_id())
            .bind(user_id)
            .fetch_one(&mut **tx)
            .await?;
            if owners == 0 {
                return Err(StoreError::Conflict("an organization must keep at least one owner".into()));
            }
            Ok(())
        }

        crate::crawl_sql::impl_crawl_store!($store, $db);

        #[async_trait::async_trait]
        impl Store for $store {
            fn backend(&self) -> Backend {
                $backend
            }

            async fn ping(&self) -> Result<()> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            async fn bootstrap_org(&self, req: BootstrapOrg) -> Result<(Org, User, ApiKey)> {
                let mut tx = self.begin_write().await?;
                let org_id = new_id();
                let now = now_millis();
                sqlx::query("INSERT INTO orgs (id, name, created_at) VALUES ($1, $2, $3)")
                    .bind(&org_id)
                    .bind(&req.org_name)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                let t = Tenant::new(org_id);
                let user_id = upsert_user(&mut tx, &req.owner_email, &req.owner_name, &req.owner_password_hash).await?;
                sqlx::query("INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, 'owner', $3)")
                    .bind(t.org_id())
                    .bind(&user_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                let mut first_key = req.first_key.clone();
                first_key.created_by = Some(user_id.clone());
                let key = insert_api_key(&mut tx, &t, &first_key).await?;
                let a = AuditCtx { actor: Actor::System, request_id: "init".into() };
                audit(&mut tx, &t, &a, "org.create", ("org", t.org_id()), serde_json::json!({"name": req.org_name}))
                    .await?;
                audit(&mut tx, &t, &a, "api_key.create", ("api_key", &key.id), serde_json::json!({"name": key.name}))
                    .await?;
                let member = fetch_member(&mut *tx, &t, &user_id).await?;
                let org = self.get_org_in(&mut *tx, &t).await?;
                tx.commit().await?;
                Ok((org, member.user, key))
            }

            async fn first_orgs(&self, limit: u32) -> Result<Vec<Org>> {
                let found = sqlx::query("SELECT id, name, created_at FROM orgs ORDER BY created_at, id LIMIT $1")
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                Ok(found.iter().map(rows::org).collect::<Result<Vec<_>, _>>()?)
            }

            async fn get_org(&self, t: &Tenant) -> Result<Org> {
                self.get_org_in(&self.pool, t).await
            }

            async fn rename_org(&self, t: &Tenant, a: &AuditCtx, name: &str) -> Result<Org> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query("UPDATE orgs SET name = $1 WHERE id = $2")
                    .bind(name)
                    .bind(t.org_id())
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                audit(&mut tx, t, a, "org.update", ("org", t.org_id()), serde_json::json!({"name": name})).await?;
                let org = self.get_org_in(&mut *tx, t).await?;
                tx.commit().await?;
                Ok(org)
            }

            async fn get_billing(&self, t: &Tenant) -> Result<Billing> {
                let row: Option<(Option<String>, Option<i64>)> =
                    sqlx::query_as("SELECT billing_email, monthly_token_budget FROM orgs WHERE id = $1")
                        .bind(t.org_id())
                        .fetch_optional(&self.pool)
                        .await?;
                let (billing_email, monthly_token_budget) = row.ok_or(StoreError::NotFound)?;
                Ok(Billing { billing_email, monthly_token_budget })
            }

            async fn update_billing(&self, t: &Tenant, a: &AuditCtx, billing: &Billing) -> Result<Billing> {
                let mut tx = self.begin_write().await?;
                sqlx::query("UPDATE orgs SET billing_email = $1, monthly_token_budget = $2 WHERE id = $3")
                    .bind(&billing.billing_email)
                    .bind(billing.monthly_token_budget)
                    .bind(t.org_id())
                    .execute(&mut *tx)
                    .await?;
                let details = serde_json::json!({
                    "billing_email": billing.billing_email,
                    "monthly_token_budget": billing.monthly_token_budget,
                });
                audit(&mut tx, t, a, "billing.update", ("org", t.org_id()), details).await?;
                tx.commit().await?;
                Ok(billing.clone())
            }

            async fn find_user_credentials(&self, email: &str) -> Result<Option<UserCredentials>> {
                let row = sqlx::query(
                    "SELECT id AS user_id, email, name AS user_name, created_at AS user_created_at, password_hash \
                     FROM users WHERE email = $1",
                )
                .bind(email.trim().to_lowercase())
                .fetch_optional(&self.pool)
                .await?;
                let Some(row) = row else { return Ok(None) };
                use sqlx::Row;
                Ok(Some(UserCredentials { user: rows::user(&row)?, password_hash: row.try_get("password_hash")? }))
            }

            async fn memberships_of(&self, user_id: &str) -> Result<Vec<Membership>> {
                let found = sqlx::query(
                    "SELECT o.id, o.name, o.created_at, m.role FROM memberships m JOIN orgs o ON o.id = m.org_id \
                     WHERE m.user_id = $1 ORDER BY o.id",
                )
                .bind(user_id)
                .fetch_all(&self.pool)
                .await?;
                found
                    .iter()
                    .map(|r| Ok(Membership { org: rows::org(r)?, role: rows::role(r, "role")? }))
                    .collect()
            }

            async fn list_members(&self, t: &Tenant, page: &PageRequest) -> Result<Page<Member>> {
                let sql = format!(
                    "{MEMBER_SELECT} WHERE m.org_id = $1 AND ($2 IS NULL OR u.id > $2) ORDER BY u.id LIMIT $3"
                );
                let found = sqlx::query(&sql)
                    .bind(t.org_id())
                    .bind(&page.after)
                    .bind(i64::from(page.limit) + 1)
                    .fetch_all(&self.pool)
                    .await?;
                let items = found.iter().map(rows::member).collect::<Result<Vec<_>, _>>()?;
                Ok(page.finish(items, |m| &m.user.id))
            }

            async fn get_member(&self, t: &Tenant, user_id: &str) -> Result<Member> {
                fetch_member(&self.pool, t, user_id).await
            }

            async fn add_member(&self, t: &Tenant, a: &AuditCtx, new: &NewMember) -> Result<Member> {
                let mut tx = self.begin_write().await?;
                let user_id = upsert_user(&mut tx, &new.email, &new.name, &new.password_hash).await?;
                sqlx::query("INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(t.org_id())
                    .bind(&user_id)
                    .bind(new.role.as_str())
                    .bind(now_millis())
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| StoreError::unique(e, "this user is already a member"))?;
                let details = serde_json::json!({"email": new.email.trim().to_lowercase(), "role": new.role});
                audit(&mut tx, t, a, "member.add", ("user", &user_id), details).await?;
                let member = fetch_member(&mut *tx, t, &user_id).await?;
                tx.commit().await?;
                Ok(member)
            }

            async fn set_member_role(&self, t: &Tenant, a: &AuditCtx, user_id: &str, role: Role) -> Result<Member> {
                let mut tx = self.begin_write().await?;
                let before = fetch_member(&mut *tx, t, user_id).await?;
                if before.role == Role::Owner && role != Role::Owner {
                    ensure_other_owner(&mut tx, t, user_id).await?;
                }
                sqlx::query("UPDATE memberships SET role = $1 WHERE org_id = $2 AND user_id = $3")
                    .bind(role.as_str())
                    .bind(t.org_id())
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                let details = serde_json::json!({"from": before.role, "to": role});
                audit(&mut tx, t, a, "member.update_role", ("user", user_id), details).await?;
                let member = fetch_member(&mut *tx, t, user_id).await?;
                tx.commit().await?;
                Ok(member)
            }

            async fn remove_member(&self, t: &Tenant, a: &AuditCtx, user_id: &str) -> Result<()> {
                let mut tx = self.begin_write().await?;
                let before = fetch_member(&mut *tx, t, user_id).await?;
                if before.role == Role::Owner {
                    ensure_other_owner(&mut tx, t, user_id).await?;
                }
                sqlx::query("DELETE FROM memberships WHERE org_id = $1 AND user_id = $2")
                    .bind(t.org_id())
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM sessions WHERE org_id = $1 AND user_id = $2")
                    .bind(t.org_id())
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                let details = serde_json::json!({"email": before.user.email, "role": before.role});
                audit(&mut tx, t, a, "member.remove", ("user", user_id), details).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn create_api_key(&self, t: &Tenant, a: &AuditCtx, new: &NewApiKey) -> Result<ApiKey> {
                let mut tx = self.begin_write().await?;
                let key = insert_api_key(&mut tx, t, new).await?;
                let details = serde_json::json!({"name": key.name, "role": key.role, "scopes": key.scopes});
                audit(&mut tx, t, a, "api_key.create", ("api_key", &key.id), details).await?;
                tx.commit().await?;
                Ok(key)
            }

            async fn list_api_keys(&self, t: &Tenant, page: &PageRequest) -> Result<Page<ApiKey>> {
                let sql = format!(
                    "SELECT {API_KEY_COLUMNS} FROM api_keys WHERE org_id = $1 AND ($2 IS NULL OR id > $2) \
                     ORDER BY id LIMIT $3"
                );
                let found = sqlx::query(&sql)
                    .bind(t.org_id())
                    .bind(&page.after)
                    .bind(i64::from(page.limit) + 1)
                    .fetch_all(&self.pool)
                    .await?;
                let items = found.iter().map(rows::api_key).collect::<Result<Vec<_>, _>>()?;
                Ok(page.finish(items, |k| &k.id))
            }

            async fn get_api_key(&self, t: &Tenant, id: &str) -> Result<ApiKey> {
                fetch_api_key(&self.pool, t, id).await
            }

            async fn revoke_api_key(&self, t: &Tenant, a: &AuditCtx, id: &str) -> Result<ApiKey> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(
                    "UPDATE api_keys SET revoked_at = $1 WHERE org_id = $2 AND id = $3 AND revoked_at IS NULL",
                )
                .bind(now_millis())
                .bind(t.org_id())
                .bind(id)
                .execute(&mut *tx)
                .await?;
                let key = fetch_api_key(&mut *tx, t, id).await?;
                if done.rows_affected() > 0 {
                    audit(&mut tx, t, a, "api_key.revoke", ("api_key", id), serde_json::json!({"name": key.name}))
                        .await?;
                }
                tx.commit().await?;
                Ok(key)
            }

            async fn find_api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKey>> {
                let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL");
                let row = sqlx::query(&sql).bind(key_hash).fetch_optional(&self.pool).await?;
                Ok(row.as_ref().map(rows::api_key).transpose()?)
            }

            async fn touch_api_key(&self, t: &Tenant, id: &str, at: Millis) -> Result<()> {
                sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE org_id = $2 AND id = $3")
                    .bind(at)
                    .bind(t.org_id())
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn create_session(&self, a: &AuditCtx, new: &NewSession) -> Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO sessions (token_hash, user_id, org_id, csrf_token, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&new.token_hash)
                .bind(&new.user_id)
                .bind(&new.org_id)
                .bind(&new.csrf_token)
                .bind(now_millis())
                .bind(new.expires_at)
                .execute(&mut *tx)
                .await?;
                let t = Tenant::new(new.org_id.clone());
                audit(&mut tx, &t, a, "session.login", ("user", &new.user_id), serde_json::json!({})).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn find_session(&self, token_hash: &str, now: Millis) -> Result<Option<Session>> {
                use sqlx::Row;
                let row = sqlx::query(
                    "SELECT u.id AS user_id, u.email, u.name AS user_name, u.created_at AS user_created_at, \
                     o.id, o.name, o.created_at, m.role, s.csrf_token, s.expires_at \
                     FROM sessions s \
                     JOIN users u ON u.id = s.user_id \
                     JOIN orgs o ON o.id = s.org_id \
                     JOIN memberships m ON m.org_id = s.org_id AND m.user_id = s.user_id \
                     WHERE s.token_hash = $1 AND s.expires_at > $2",
                )
                .bind(token_hash)
                .bind(now)
                .fetch_optional(&self.pool)
                .await?;
                let Some(r) = row else { return Ok(None) };
                Ok(Some(Session {
                    user: rows::user(&r)?,
                    org: rows::org(&r)?,
                    role: rows::role(&r, "role")?,
                    csrf_token: r.try_get("csrf_token")?,
                    expires_at: r.try_get("expires_at")?,
                }))
            }

            async fn delete_session(&self, token_hash: &str) -> Result<()> {
                sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(&self.pool).await?;
                Ok(())
            }

            async fn list_audit(&self, t: &Tenant, page: &PageRequest) -> Result<Page<AuditEntry>> {
                // Newest first: the cursor walks ids downwards.
                let found = sqlx::query(
                    "SELECT id, actor_type, actor_id, action, target_type, target_id, request_id, details, created_at \
                     FROM audit_log WHERE org_id = $1 AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
                )
                .bind(t.org_id())
                .bind(&page.after)
                .bind(i64::from(page.limit) + 1)
                .fetch_all(&self.pool)
                .await?;
                let items = found.iter().map(rows::audit).collect::<Result<Vec<_>, _>>()?;
                Ok(page.finish(items, |e| &e.id))
            }

            async fn idempotency_begin(
                &self,
                t: &Tenant,
                scope: &IdempotencyScope,
                now: Millis,
            ) -> Result<IdempotencyBegin> {
                use sqlx::Row;
                let inserted = sqlx::query(
                    "INSERT INTO idempotency_keys (org_id, principal, key, request_hash, state, created_at) \
                     VALUES ($1, $2, $3, $4, 'in_flight', $5) ON CONFLICT DO NOTHING",
                )
                .bind(t.org_id())
                .bind(&scope.principal)
                .bind(&scope.key)
                .bind(&scope.request_hash)
                .bind(now)
                .execute(&self.pool)
                .await?;
                if inserted.rows_affected() == 1 {
                    return Ok(IdempotencyBegin::Started);
                }
                let row = sqlx::query(
                    "SELECT request_hash, state, status, content_type, body, created_at FROM idempotency_keys \
                     WHERE org_id = $1 AND principal = $2 AND key = $3",
                )
                .bind(t.org_id())
                .bind(&scope.principal)
                .bind(&scope.key)
                .fetch_optional(&self.pool)
                .await?;
                // Deleted between the insert and the read (an abort): the caller may simply retry.
                let Some(row) = row else { return Ok(IdempotencyBegin::InFlight) };
                let hash: String = row.try_get("request_hash")?;
                if hash != scope.request_hash {
                    return Ok(IdempotencyBegin::Mismatch);
                }
                let state: String = row.try_get("state")?;
                if state != "completed" {
                    // A request whose process died never completes; after a
                    // while the key may be taken over by a retry.
                    let created: i64 = row.try_get("created_at")?;
                    if created < now - IDEMPOTENCY_ABANDONED_MS {
                        let took = sqlx::query(
                            "UPDATE idempotency_keys SET created_at = $1 WHERE org_id = $2 AND principal = $3 \
                             AND key = $4 AND state = 'in_flight' AND created_at = $5",
                        )
                        .bind(now)
                        .bind(t.org_id())
                        .bind(&scope.principal)
                        .bind(&scope.key)
                        .bind(created)
                        .execute(&self.pool)
                        .await?;
                        if took.rows_affected() == 1 {
                            return Ok(IdempotencyBegin::Started);
                        }
                    }
                    return Ok(IdempotencyBegin::InFlight);
                }
                let status: i32 = row.try_get::<Option<i32>, _>("status")?.unwrap_or(500);
                Ok(IdempotencyBegin::Completed(StoredResponse {
                    status: u16::try_from(status).unwrap_or(500),
                    content_type: row.try_get("content_type")?,
                    body: row.try_get::<Option<Vec<u8>>, _>("body")?.unwrap_or_default(),
                }))
            }

            async fn idempotency_complete(
                &self,
                t: &Tenant,
                scope: &IdempotencyScope,
                response: &StoredResponse,
            ) -> Result<()> {
                sqlx::query(
                    "UPDATE idempotency_keys SET state = 'completed', status = $1, content_type = $2, body = $3 \
                     WHERE org_id = $4 AND principal = $5 AND key = $6",
                )
                .bind(i32::from(response.status))
                .bind(&response.content_type)
                .bind(&response.body)
                .bind(t.org_id())
                .bind(&scope.principal)
                .bind(&scope.key)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn idempotency_abort(&self, t: &Tenant, scope: &IdempotencyScope) -> Result<()> {
                sqlx::query(
                    "DELETE FROM idempotency_keys WHERE org_id = $1 AND principal = $2 AND key = $3 \
                     AND state = 'in_flight'",
                )
                .bind(t.org_id())
                .bind(&scope.principal)
                .bind(&scope.key)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn idempotency_purge(&self, before: Millis) -> Result<u64> {
                let done = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
                    .bind(before)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
            }

            async fn create_collection(&self, t: &Tenant, a: &AuditCtx, new: &NewCollection) -> Result<Collection> {
                let mut tx = self.begin_write().await?;
                let id = new_id();
                let now = now_millis();
                sqlx::query(
                    "INSERT INTO collections (id, org_id, name, description, embedding_model, embedding_dim, \
                     embedding_endpoint, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
                )
                .bind(&id)
                .bind(t.org_id())
                .bind(&new.name)
                .bind(&new.description)
                .bind(&new.embedding_model)
                .bind(new.embedding_dim)
                .bind(endpoint_json(new.embedding_endpoint.as_ref()))
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::unique(e, "a collection with this name exists"))?;
                let details = serde_json::json!({"name": new.name, "embedding_model": new.embedding_model});
                audit(&mut tx, t, a, "collection.create", ("collection", &id), details).await?;
                let collection = fetch_collection(&mut *tx, t, &id).await?;
                tx.commit().await?;
                Ok(collection)
            }

            async fn list_collections(&self, t: &Tenant, page: &PageRequest) -> Result<Page<Collection>> {
                let sql = format!(
                    "SELECT {COLLECTION_COLUMNS} FROM collections WHERE org_id = $1 AND ($2 IS NULL OR id > $2) \
                     ORDER BY id LIMIT $3"
                );
                let found = sqlx::query(&sql)
                    .bind(t.org_id())
                    .bind(&page.after)
                    .bind(i64::from(page.limit) + 1)
                    .fetch_all(&self.pool)
                    .await?;
                let items = found.iter().map(rows::collection).collect::<Result<Vec<_>, _>>()?;
                Ok(page.finish(items, |c| &c.id))
            }

            async fn get_collection(&self, t: &Tenant, id: &str) -> Result<Collection> {
                fetch_collection(&self.pool, t, id).await
            }

            async fn update_collection(
                &self,
                t: &Tenant,
                a: &AuditCtx,
                id: &str,
                patch: &CollectionPatch,
            ) -> Result<Collection> {
                let mut tx = self.begin_write().await?;
                let before = fetch_collection(&mut *tx, t, id).await?;
                let name = patch.name.clone().unwrap_or(before.name);
                let description = patch.description.clone().unwrap_or(before.description);
                sqlx::query(
                    "UPDATE collections SET name = $1, description = $2, updated_at = $3 WHERE org_id = $4 AND id = $5",
                )
                .bind(&name)
                .bind(&description)
                .bind(now_millis())
                .bind(t.org_id())
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::unique(e, "a collection with this name exists"))?;
                let mut details = serde_json::json!({"name": name, "description": description});
                if let Some(choice) = &patch.embedding {
                    sqlx::query(
                        "UPDATE collections SET embedding_model = $1, embedding_dim = $2, embedding_endpoint = $3 \
                         WHERE org_id = $4 AND id = $5",
                    )
                    .bind(&choice.model)
                    .bind(choice.dim)
                    .bind(endpoint_json(choice.endpoint.as_ref()))
                    .bind(t.org_id())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    details["embedding_model"] = choice.model.clone().into();
                    details["embedding_dim"] = choice.dim.into();
                    // Vectors of another model cannot be compared with the new
                    // one's: drop them all, and queue their computation.
                    if (choice.model.as_str(), choice.dim) != (before.embedding_model.as_str(), before.embedding_dim) {
                        Self::clear_vectors(&mut tx, t, id).await?;
                        let now = now_millis();
                        sqlx::query(
                            "INSERT INTO jobs (id, org_id, kind, payload, status, attempts, max_attempts, run_after, \
                             created_at, updated_at) VALUES ($1, $2, 'embed', $3, 'queued', 0, $4, $5, $5, $5)",
                        )
                        .bind(new_id())
                        .bind(t.org_id())
                        .bind(serde_json::json!({"collection_id": id, "model": choice.model}).to_string())
                        .bind(choice.job_max_attempts.max(1))
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                        details["reembedding"] = true.into();
                    }
                }
                audit(&mut tx, t, a, "collection.update", ("collection", id), details).await?;
                let collection = fetch_collection(&mut *tx, t, id).await?;
                tx.commit().await?;
                Ok(collection)
            }

            async fn delete_collection(&self, t: &Tenant, a: &AuditCtx, id: &str) -> Result<()> {
                let mut tx = self.begin_write().await?;
                let before = fetch_collection(&mut *tx, t, id).await?;
                sqlx::query("DELETE FROM collections WHERE org_id = $1 AND id = $2")
                    .bind(t.org_id())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                audit(&mut tx, t, a, "collection.delete", ("collection", id), serde_json::json!({"name": before.name}))
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn enqueue_job(&self, t: &Tenant, new: &NewJob) -> Result<Job> {
                let id = new_id();
                let now = now_millis();
                sqlx::query(
                    "INSERT INTO jobs (id, org_id, kind, payload, status, attempts, max_attempts, run_after, \
                     created_at, updated_at) VALUES ($1, $2, $3, $4, 'queued', 0, $5, $6, $7, $7)",
                )
                .bind(&id)
                .bind(t.org_id())
                .bind(&new.kind)
                .bind(new.payload.to_string())
                .bind(new.max_attempts.max(1))
                .bind(new.run_after)
                .bind(now)
                .execute(&self.pool)
                .await?;
                self.get_job(t, &id).await
            }

            async fn get_job(&self, t: &Tenant, id: &str) -> Result<Job> {
                let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE org_id = $1 AND id = $2");
                let row = sqlx::query(&sql).bind(t.org_id()).bind(id).fetch_optional(&self.pool).await?;
                Ok(rows::job(&row.ok_or(StoreError::NotFound)?)?)
            }

            async fn claim_job(&self, worker: &str, now: Millis, lease_ms: i64) -> Result<Option<Job>> {
                // Jobs whose workers died holding them as often as they may be
                // tried end here, with the reason, instead of looping forever.
                sqlx::query(
                    "UPDATE jobs SET status = 'failed', updated_at = $1, lease_until = NULL, \
                     last_error = COALESCE(last_error || '; ', '') || 'abandoned: the worker stopped while running it ' \
                     || attempts || ' times' \
                     WHERE status = 'running' AND lease_until < $1 AND attempts >= max_attempts",
                )
                .bind(now)
                .execute(&self.pool)
                .await?;
                let sql = format!(
                    "UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_until = $1, leased_by = $2, \
                     updated_at = $3 WHERE id = (SELECT id FROM jobs WHERE (status = 'queued' AND run_after <= $3) \
                     OR (status = 'running' AND lease_until < $3) ORDER BY run_after, id LIMIT 1{}) \
                     RETURNING {JOB_COLUMNS}",
                    $skip_locked
                );
                let row = sqlx::query(&sql).bind(now + lease_ms).bind(worker).bind(now).fetch_optional(&self.pool).await?;
                Ok(row.as_ref().map(rows::job).transpose()?)
            }

            async fn claim_job_by_id(
                &self,
                t: &Tenant,
                id: &str,
                worker: &str,
                now: Millis,
                lease_ms: i64,
            ) -> Result<Option<Job>> {
                let sql = format!(
                    "UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_until = $1, leased_by = $2, \
                     updated_at = $3 WHERE id = (SELECT id FROM jobs WHERE org_id = $4 AND id = $5 AND \
                     ((status = 'queued' AND run_after <= $3) OR (status = 'running' AND lease_until < $3 \
                     AND attempts < max_attempts)){}) RETURNING {JOB_COLUMNS}",
                    $skip_locked
                );
                let row = sqlx::query(&sql)
                    .bind(now + lease_ms)
                    .bind(worker)
                    .bind(now)
                    .bind(t.org_id())
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.as_ref().map(rows::job).transpose()?)
            }

            async fn renew_job_lease(&self, job: &Job, until: Millis) -> Result<bool> {
                let done = sqlx::query(
                    "UPDATE jobs SET lease_until = $1, updated_at = $2 WHERE id = $3 AND status = 'running' \
                     AND leased_by = $4 AND attempts = $5",
                )
                .bind(until)
                .bind(now_millis())
                .bind(&job.id)
                .bind(&job.leased_by)
                .bind(job.attempts)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn complete_job(&self, job: &Job) -> Result<bool> {
                let done = sqlx::query(
                    "UPDATE jobs SET status = 'succeeded', lease_until = NULL, updated_at = $1 WHERE id = $2 \
                     AND status = 'running' AND leased_by = $3 AND attempts = $4",
                )
                .bind(now_millis())
                .bind(&job.id)
                .bind(&job.leased_by)
                .bind(job.attempts)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn fail_job(&self, job: &Job, error: &str, retry_at: Option<Millis>) -> Result<bool> {
                let (status, run_after) = match retry_at {
                    Some(at) if job.attempts < job.max_attempts => ("queued", at),
                    _ => ("failed", job.run_after),
                };
                let done = sqlx::query(
                    "UPDATE jobs SET status = $1, run_after = $2, last_error = $3, lease_until = NULL, updated_at = $4 \
                     WHERE id = $5 AND status = 'running' AND leased_by = $6 AND attempts = $7",
                )
                .bind(status)
                .bind(run_after)
                .bind(error)
                .bind(now_millis())
                .bind(&job.id)
                .bind(&job.leased_by)
                .bind(job.attempts)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn add_document_version(
                &self,
                t: &Tenant,
                a: &AuditCtx,
                collection_id: &str,
                new: &NewDocumentVersion,
                job_max_attempts: i32,
            ) -> Result<AddedDocument> {
                let mut tx = self.begin_write().await?;
                let added = add_version_in(&mut tx, t, a, collection_id, new, job_max_attempts, None).await?;
                tx.commit().await?;
                Ok(added)
            }

            async fn get_document(&self, t: &Tenant, id: &str) -> Result<Document> {
                fetch_document(&self.pool, t, id).await
            }

            async fn list_documents(&self, t: &Tenant, collection_id: &str, page: &PageRequest) -> Result<Page<Document>> {
                fetch_collection(&self.pool, t, collection_id).await?;
                let sql = format!(
                    "SELECT {DOCUMENT_COLUMNS} FROM documents WHERE org_id = $1 AND collection_id = $2 \
                     AND ($3 IS NULL OR id > $3) ORDER BY id LIMIT $4"
                );
                let found = sqlx::query(&sql)
                    .bind(t.org_id())
                    .bind(collection_id)
                    .bind(&page.after)
                    .bind(i64::from(page.limit) + 1)
                    .fetch_all(&self.pool)
                    .await?;
                let items = found.iter().map(rows::document).collect::<Result<Vec<_>, _>>()?;
                Ok(page.finish(items, |d| &d.id))
            }

            async fn delete_document(&self, t: &Tenant, a: &AuditCtx, id: &str) -> Result<()> {
                let mut tx = self.begin_write().await?;
                let before = fetch_document(&mut *tx, t, id).await?;
                delete_document_in(&mut tx, t, id).await?;
                audit(&mut tx, t, a, "document.delete", ("document", id), serde_json::json!({"title": before.title}))
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn version_to_ingest(&self, t: &Tenant, version_id: &str) -> Result<VersionToIngest> {
                use sqlx::Row;
                let row = sqlx::query(
                    "SELECT v.document_id, v.version, v.media_type, v.content, d.collection_id \
                     FROM document_versions v JOIN documents d ON d.id = v.document_id \
                     WHERE v.org_id = $1 AND v.id = $2",
                )
                .bind(t.org_id())
                .bind(version_id)
                .fetch_optional(&self.pool)
                .await?
                .ok_or(StoreError::NotFound)?;
                let document_id: String = row.try_get("document_id")?;
                let collection_id: String = row.try_get("collection_id")?;
                let embedding = self
                    .collection_embeddings(t, std::slice::from_ref(&collection_id))
                    .await?
                    .pop()
                    .ok_or(StoreError::NotFound)?;
                Ok(VersionToIngest {
                    version_id: version_id.to_owned(),
                    version: row.try_get("version")?,
                    media_type: row.try_get("media_type")?,
                    content: row.try_get("content")?,
                    embedding,
                    document: fetch_document(&self.pool, t, &document_id).await?,
                })
            }

            async fn set_version_processing(&self, t: &Tenant, version_id: &str) -> Result<()> {
                let mut tx = self.begin_write().await?;
                let (document_id, version) = version_owner(&mut tx, t, version_id).await?;
                let now = now_millis();
                sqlx::query("UPDATE document_versions SET status = 'processing', updated_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(version_id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "UPDATE documents SET status = 'processing', updated_at = $1 WHERE id = $2 AND latest_version = $3",
                )
                .bind(now)
                .bind(&document_id)
                .bind(version)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn publish_version(
                &self,
                t: &Tenant,
                version_id: &str,
                chunks: &[NewChunk],
                embedded_with: Option<&str>,
            ) -> Result<Document> {
                let mut tx = self.begin_write().await?;
                let (document_id, version) = version_owner(&mut tx, t, version_id).await?;
                let document = fetch_document(&mut *tx, t, &document_id).await?;
                sqlx::query("DELETE FROM chunks WHERE org_id = $1 AND version_id = $2")
                    .bind(t.org_id())
                    .bind(version_id)
                    .execute(&mut *tx)
                    .await?;
                // Vectors of a model the collection left while they were computed are
                // not stored: the chunks wait for the `embed` job instead.
                let current = Self::collection_model_shared(&mut tx, t, &document.collection_id).await?;
                let mut dropped = 0;
                for chunk in chunks {
                    let fits = |v: &Vec<f32>| embedded_with == Some(current.0.as_str()) && v.len() == current.1 as usize;
                    if chunk.embedding.as_ref().is_some_and(|v| !fits(v)) {
                        let chunk = NewChunk { embedding: None, ..chunk.clone() };
                        Self::insert_chunk(&mut tx, t, &document, version_id, &chunk).await?;
                        dropped += 1;
                    } else {
                        Self::insert_chunk(&mut tx, t, &document, version_id, chunk).await?;
                    }
                }
                let now = now_millis();
                if dropped > 0 {
                    // The model changed while these were embedded, perhaps after the change's own
                    // `embed` job finished: one more job gives them the new model's vectors.
                    sqlx::query(
                        "INSERT INTO jobs (id, org_id, kind, payload, status, attempts, max_attempts, run_after, \
                         created_at, updated_at) VALUES ($1, $2, 'embed', $3, 'queued', 0, $4, $5, $5, $5)",
                    )
                    .bind(new_id())
                    .bind(t.org_id())
                    .bind(serde_json::json!({"collection_id": document.collection_id, "model": current.0}).to_string())
                    .bind(LATE_EMBED_ATTEMPTS)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                sqlx::query(
                    "UPDATE document_versions SET status = 'ready', error = NULL, chunk_count = $1, updated_at = $2 \
                     WHERE id = $3",
                )
                .bind(chunks.len() as i32)
                .bind(now)
                .bind(version_id)
                .execute(&mut *tx)
                .await?;
                // A slow old version finishing after a newer one must not take over.
                let live_version: Option<(i32,)> =
                    sqlx::query_as("SELECT v.version FROM documents d JOIN document_versions v ON v.id = d.live_version_id WHERE d.id = $1")
                        .bind(&document_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                if live_version.is_none_or(|(live,)| live < version) {
                    sqlx::query("UPDATE documents SET live_version_id = $1, chunk_count = $2, updated_at = $3 WHERE id = $4")
                        .bind(version_id)
                        .bind(chunks.len() as i32)
                        .bind(now)
                        .bind(&document_id)
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query(
                    "UPDATE documents SET status = 'ready', error = NULL, updated_at = $1 WHERE id = $2 AND latest_version = $3",
                )
                .bind(now)
                .bind(&document_id)
                .bind(version)
                .execute(&mut *tx)
                .await?;
                let document = fetch_document(&mut *tx, t, &document_id).await?;
                tx.commit().await?;
                Ok(document)
            }

            async fn fail_version(&self, t: &Tenant, version_id: &str, error: &str) -> Result<()> {
                let mut tx = self.begin_write().await?;
                let (document_id, version) = version_owner(&mut tx, t, version_id).await?;
                let now = now_millis();
                sqlx::query("UPDATE document_versions SET status = 'failed', error = $1, updated_at = $2 WHERE id = $3")
                    .bind(error)
                    .bind(now)
                    .bind(version_id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "UPDATE documents SET status = 'failed', error = $1, updated_at = $2 WHERE id = $3 AND latest_version = $4",
                )
                .bind(error)
                .bind(now)
                .bind(&document_id)
                .bind(version)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn count_chunks(&self, t: &Tenant, document_id: &str) -> Result<i64> {
                let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM chunks WHERE org_id = $1 AND document_id = $2")
                    .bind(t.org_id())
                    .bind(document_id)
                    .fetch_one(&self.pool)
                    .await?;
                Ok(n)
            }

            async fn add_crawl_source(
                &self,
                t: &Tenant,
                a: &AuditCtx,
                collection_id: &str,
                new: &NewCrawlSource,
                job_max_attempts: i32,
            ) -> Result<AddedCrawl> {
                self.crawl_add_source(t, a, collection_id, new, job_max_attempts).await
            }

            async fn get_crawl_source(&self, t: &Tenant, id: &str) -> Result<CrawlSource> {
                self.crawl_get_source(t, id).await
            }

            async fn crawl_start_urls(&self, t: &Tenant, collection_ids: &[String]) -> Result<Vec<String>> {
                self.crawl_start_urls_of(t, collection_ids).await
            }

            async fn start_crawl(&self, t: &Tenant, a: &AuditCtx, id: &str, job_max_attempts: i32) -> Result<CrawlSource> {
                self.crawl_start(t, a, id, job_max_attempts).await
            }

            async fn start_due_crawls(&self, now: Millis, job_max_attempts: i32) -> Result<u64> {
                self.crawl_start_due(now, job_max_attempts).await
            }

            async fn begin_crawl_run(&self, t: &Tenant, id: &str, run: i32) -> Result<CrawlSource> {
                self.crawl_begin_run(t, id, run).await
            }

            async fn queue_crawl_pages(&self, t: &Tenant, id: &str, run: i32, urls: &[String], depth: i32) -> Result<usize> {
                self.crawl_queue_pages(t, id, run, urls, depth).await
            }

            async fn crawl_frontier(&self, t: &Tenant, id: &str, run: i32, limit: u32) -> Result<Vec<CrawlPage>> {
                self.crawl_pending_pages(t, id, run, limit).await
            }

            async fn record_crawl_page(
                &self,
                t: &Tenant,
                a: &AuditCtx,
                id: &str,
                run: i32,
                page: &CrawledPage,
                job_max_attempts: i32,
            ) -> Result<RecordedPage> {
                self.crawl_record_page(t, a, id, run, page, job_max_attempts).await
            }

            async fn finish_crawl_run(
                &self,
                t: &Tenant,
                a: &AuditCtx,
                id: &str,
                run: i32,
                complete: bool,
                error: Option<&str>,
            ) -> Result<FinishedCrawl> {
                self.crawl_finish_run(t, a, id, run, complete, error).await
            }

            async fn search_text(&self, t: &Tenant, scope: &SearchScope, query: &str) -> Result<Vec<ChunkHit>> {
                self.search_text_backend(t, scope, query).await
            }

            async fn search_vector(&self, t: &Tenant, scope: &SearchScope, embedding: &[f32]) -> Result<Vec<ChunkHit>> {
                self.search_vector_backend(t, scope, embedding).await
            }

            async fn chunk_embeddings(
                &self,
                t: &Tenant,
                chunk_ids: &[String],
            ) -> Result<std::collections::HashMap<String, Vec<f32>>> {
                if chunk_ids.is_empty() {
                    return Ok(Default::default());
                }
                self.chunk_embeddings_backend(t, chunk_ids).await
            }

            async fn collection_embeddings(
                &self,
                t: &Tenant,
                collection_ids: &[String],
            ) -> Result<Vec<CollectionEmbedding>> {
                let mut out = Vec::with_capacity(collection_ids.len());
                for id in collection_ids {
                    let found: Option<(String, i32, Option<String>)> = sqlx::query_as(
                        "SELECT embedding_model, embedding_dim, embedding_endpoint FROM collections \
                         WHERE org_id = $1 AND id = $2",
                    )
                    .bind(t.org_id())
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                    if let Some((model, dim, endpoint)) = found {
                        let endpoint = endpoint
                            .map(|json| serde_json::from_str(&json))
                            .transpose()
                            .map_err(|e| StoreError::Other(anyhow::anyhow!("collection {id}'s embedding endpoint: {e}")))?;
                        out.push(CollectionEmbedding { collection_id: id.clone(), model, dim, endpoint });
                    }
                }
                Ok(out)
            }

            async fn queue_missing_vectors(&self, model: &str, job_max_attempts: i32) -> Result<u64> {
                let found: Vec<(String, String)> = sqlx::query_as(
                    "SELECT c.org_id, c.id FROM collections c \
                     WHERE c.embedding_model = $1 AND c.embedding_endpoint IS NULL \
                     AND EXISTS (SELECT 1 FROM chunks k WHERE k.collection_id = c.id AND k.embedding IS NULL) \
                     AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.org_id = c.org_id AND j.kind = 'embed' \
                         AND j.status IN ('queued', 'running') AND j.payload LIKE '%' || c.id || '%')",
                )
                .bind(model)
                .fetch_all(&self.pool)
                .await?;
                let now = now_millis();
                for (org_id, collection_id) in &found {
                    sqlx::query(
                        "INSERT INTO jobs (id, org_id, kind, payload, status, attempts, max_attempts, run_after, \
                         created_at, updated_at) VALUES ($1, $2, 'embed', $3, 'queued', 0, $4, $5, $5, $5)",
                    )
                    .bind(new_id())
                    .bind(org_id)
                    .bind(serde_json::json!({"collection_id": collection_id, "model": model}).to_string())
                    .bind(job_max_attempts.max(1))
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                }
                Ok(found.len() as u64)
            }

            async fn prepare_vector_index(&self, dim: i32) -> Result<()> {
                self.prepare_vector_index_backend(dim).await
            }

            async fn chunks_without_vectors(
                &self,
                t: &Tenant,
                collection_id: &str,
                limit: u32,
            ) -> Result<Vec<ChunkToEmbed>> {
                let found: Vec<(String, String, String)> = sqlx::query_as(
                    "SELECT id, heading_path, text FROM chunks \
                     WHERE org_id = $1 AND collection_id = $2 AND embedding IS NULL ORDER BY id LIMIT $3",
                )
                .bind(t.org_id())
                .bind(collection_id)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                Ok(found
                    .into_iter()
                    .map(|(chunk_id, heading_path, text)| ChunkToEmbed { chunk_id, heading_path, text })
                    .collect())
            }

            async fn store_chunk_vectors(
                &self,
                t: &Tenant,
                collection_id: &str,
                model: &str,
                vectors: &[(String, Vec<f32>)],
            ) -> Result<Option<u64>> {
                let mut tx = self.begin_write().await?;
                let (current, dim) = Self::collection_model_shared(&mut tx, t, collection_id).await?;
                if current != model {
                    return Ok(None);
                }
                let mut written = 0;
                for (chunk_id, vector) in vectors {
                    if vector.len() != dim as usize {
                        return Err(StoreError::Other(anyhow::anyhow!(
                            "a vector of {} dimensions for a collection of {dim}",
                            vector.len()
                        )));
                    }
                    written += Self::write_vector(&mut tx, t, collection_id, chunk_id, vector).await?;
                }
                tx.commit().await?;
                Ok(Some(written))
            }
        }

        /// Attempts of the `embed` job a publication queues for vectors it could not keep
        /// (the server's default `job_max_attempts`).
        const LATE_EMBED_ATTEMPTS: i32 = 5;

        /// A collection's remote embedding endpoint as stored (JSON).
        fn endpoint_json(endpoint: Option<&EmbeddingEndpoint>) -> Option<String> {
            endpoint.map(|e| serde_json::to_string(e).expect("an endpoint serialises"))
        }

        impl $store {
            /// The collection's model and dimension, read under a lock that a
            /// model change waits for (PostgreSQL `FOR SHARE`; SQLite writers are
            /// serialised anyway), so vectors are never written for a model the
            /// collection has just left.
            async fn collection_model_shared(
                tx: &mut sqlx::Transaction<'_, $db>,
                t: &Tenant,
                collection_id: &str,
            ) -> Result<(String, i32)> {
                let sql = format!(
                    "SELECT embedding_model, embedding_dim FROM collections WHERE org_id = $1 AND id = $2{}",
                    Self::SHARE_LOCK
                );
                let found: Option<(String, i32)> =
                    sqlx::query_as(&sql).bind(t.org_id()).bind(collection_id).fetch_optional(&mut **tx).await?;
                found.ok_or(StoreError::NotFound)
            }

            async fn get_org_in<'e, E>(&self, exec: E, t: &Tenant) -> Result<Org>
            where
                E: sqlx::Executor<'e, Database = $db>,
            {
                let row = sqlx::query("SELECT id, name, created_at FROM orgs WHERE id = $1")
                    .bind(t.org_id())
                    .fetch_optional(exec)
                    .await?;
                Ok(rows::org(&row.ok_or(StoreError::NotFound)?)?)
            }
        }
    };
}

pub(crate) use impl_store;
