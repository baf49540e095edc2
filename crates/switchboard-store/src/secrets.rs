//! Tenant secrets: values an organization gives us to use on its behalf (an
//! LLM provider's API key, a header of one of its HTTP tools).
//!
//! The store keeps only the sealed value (the server seals it with its key
//! before the call, bound to the secret's id) and never returns it with the
//! secret's description: [`SecretStore::sealed_secret`] is the one way to
//! read it back, for the server to open at the moment of use.
//!
//! Written once as a macro over the backend's pool type, like `widget.rs`.

use async_trait::async_trait;

use crate::Result;
use crate::model::{AuditCtx, Millis, Page, PageRequest, Tenant};

/// A secret as the API shows it: never its value.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantSecret {
    pub id: String,
    /// Unique in the organization; what configurations refer to.
    pub name: String,
    pub created_by: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

#[derive(Clone)]
pub struct NewTenantSecret {
    /// Chosen by the caller: the sealed value is bound to it.
    pub id: String,
    pub name: String,
    /// The value, encrypted by the caller; the store never sees it in clear.
    pub sealed: Vec<u8>,
}

impl std::fmt::Debug for NewTenantSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewTenantSecret").field("id", &self.id).field("name", &self.name).finish_non_exhaustive()
    }
}

#[async_trait]
pub trait SecretStore: Send + Sync {
    /// Stores a new secret; a name already in use is a conflict.
    async fn create_secret(&self, t: &Tenant, a: &AuditCtx, new: &NewTenantSecret) -> Result<TenantSecret>;
    async fn list_secrets(&self, t: &Tenant, page: &PageRequest) -> Result<Page<TenantSecret>>;
    async fn get_secret(&self, t: &Tenant, id: &str) -> Result<TenantSecret>;
    /// The secret named `name` (what agent configurations refer to).
    async fn find_secret_by_name(&self, t: &Tenant, name: &str) -> Result<Option<TenantSecret>>;
    /// The sealed value, for the server to open when it uses it.
    async fn sealed_secret(&self, t: &Tenant, id: &str) -> Result<Vec<u8>>;
    async fn delete_secret(&self, t: &Tenant, a: &AuditCtx, id: &str) -> Result<()>;
}

macro_rules! impl_secret_store {
    ($store:ty, $db:ty) => {
        mod secret_rows {
            use sqlx::Row;

            use crate::secrets::TenantSecret;

            type DbRow = <$db as sqlx::Database>::Row;

            pub fn secret(r: &DbRow) -> Result<TenantSecret, sqlx::Error> {
                Ok(TenantSecret {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    created_by: r.try_get("created_by")?,
                    created_at: r.try_get("created_at")?,
                    updated_at: r.try_get("updated_at")?,
                })
            }
        }

        const SECRET_COLUMNS: &str = "id, name, created_by, created_at, updated_at";

        async fn fetch_secret<'e, E>(exec: E, t: &Tenant, id: &str) -> Result<crate::secrets::TenantSecret>
        where
            E: sqlx::Executor<'e, Database = $db>,
        {
            let sql = format!("SELECT {SECRET_COLUMNS} FROM tenant_secrets WHERE org_id = $1 AND id = $2");
            let row = sqlx::query(&sql).bind(t.org_id()).bind(id).fetch_optional(exec).await?;
            Ok(secret_rows::secret(&row.ok_or(StoreError::NotFound)?)?)
        }

        #[async_trait::async_trait]
        impl crate::secrets::SecretStore for $store {
            async fn create_secret(
                &self,
                t: &Tenant,
                a: &AuditCtx,
                new: &crate::secrets::NewTenantSecret,
            ) -> Result<crate::secrets::TenantSecret> {
                let mut tx = self.begin_write().await?;
                let now = now_millis();
                sqlx::query(
                    "INSERT INTO tenant_secrets (id, org_id, name, value, created_by, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $6)",
                )
                .bind(&new.id)
                .bind(t.org_id())
                .bind(&new.name)
                .bind(&new.sealed)
                .bind(a.actor.id())
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::unique(e, "a secret with this name exists"))?;
                let details = serde_json::json!({"name": new.name});
                audit(&mut tx, t, a, "secret.create", ("secret", &new.id), details).await?;
                let secret = fetch_secret(&mut *tx, t, &new.id).await?;
                tx.commit().await?;
                Ok(secret)
            }

            async fn list_secrets(
                &self,
                t: &Tenant,
                page: &PageRequest,
            ) -> Result<Page<crate::secrets::TenantSecret>> {
                let sql = format!(
                    "SELECT {SECRET_COLUMNS} FROM tenant_secrets WHERE org_id = $1 \
                     AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3"
                );
                let found = sqlx::query(&sql)
                    .bind(t.org_id())
                    .bind(&page.after)
                    .bind(i64::from(page.limit) + 1)
                    .fetch_all(&self.pool)
                    .await?;
                let items = found.iter().map(secret_rows::secret).collect::<Result<Vec<_>, _>>()?;
                Ok(page.finish(items, |x| &x.id))
            }

            async fn get_secret(&self, t: &Tenant, id: &str) -> Result<crate::secrets::TenantSecret> {
                fetch_secret(&self.pool, t, id).await
            }

            async fn find_secret_by_name(
                &self,
                t: &Tenant,
                name: &str,
            ) -> Result<Option<crate::secrets::TenantSecret>> {
                let sql = format!("SELECT {SECRET_COLUMNS} FROM tenant_secrets WHERE org_id = $1 AND name = $2");
                let row = sqlx::query(&sql).bind(t.org_id()).bind(name).fetch_optional(&self.pool).await?;
                Ok(row.as_ref().map(secret_rows::secret).transpose()?)
            }

            async fn sealed_secret(&self, t: &Tenant, id: &str) -> Result<Vec<u8>> {
                let found: Option<(Vec<u8>,)> =
                    sqlx::query_as("SELECT value FROM tenant_secrets WHERE org_id = $1 AND id = $2")
                        .bind(t.org_id())
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await?;
                found.map(|(v,)| v).ok_or(StoreError::NotFound)
            }

            async fn delete_secret(&self, t: &Tenant, a: &AuditCtx, id: &str) -> Result<()> {
                let mut tx = self.begin_write().await?;
                let before = fetch_secret(&mut *tx, t, id).await?;
                sqlx::query("DELETE FROM tenant_secrets WHERE org_id = $1 AND id = $2")
                    .bind(t.org_id())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                let details = serde_json::json!({"name": before.name});
                audit(&mut tx, t, a, "secret.delete", ("secret", id), details).await?;
                tx.commit().await?;
                Ok(())
            }
        }
    };
}

pub(crate) use impl_secret_store;
