//! Language-model tokens per organization and calendar month: what turns
//! used, and what turns in flight have reserved. A turn reserves its most
//! likely cost before it calls a model, and the reservation succeeds only if
//! it fits the budget with everything used and reserved so far, in one
//! statement: turns running at once cannot overrun the budget together.
//!
//! Written once as a macro over the backend's pool type, like `secrets.rs`.

use async_trait::async_trait;

use crate::Result;
use crate::model::Tenant;

/// One month's tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenUsage {
    pub used: i64,
    pub reserved: i64,
}

#[async_trait]
pub trait UsageStore: Send + Sync {
    /// This `period`'s (`YYYY-MM`) tokens.
    async fn token_usage(&self, t: &Tenant, period: &str) -> Result<TokenUsage>;
    /// Reserves `tokens` if used + reserved + `tokens` stays within `budget`; false otherwise.
    async fn reserve_tokens(&self, t: &Tenant, period: &str, tokens: i64, budget: i64) -> Result<bool>;
    /// Ends a reservation of `reserved` tokens (0 for none) and counts `used`.
    async fn settle_tokens(&self, t: &Tenant, period: &str, reserved: i64, used: i64) -> Result<()>;
}

macro_rules! impl_usage_store {
    ($store:ty, $db:ty) => {
        async fn ensure_usage_row(tx: &mut sqlx::Transaction<'_, $db>, t: &Tenant, period: &str) -> Result<()> {
            sqlx::query(
                "INSERT INTO token_usage (org_id, period, used, reserved) VALUES ($1, $2, 0, 0) \
                 ON CONFLICT (org_id, period) DO NOTHING",
            )
            .bind(t.org_id())
            .bind(period)
            .execute(&mut **tx)
            .await?;
            Ok(())
        }

        #[async_trait::async_trait]
        impl crate::usage::UsageStore for $store {
            async fn token_usage(&self, t: &Tenant, period: &str) -> Result<crate::usage::TokenUsage> {
                let found: Option<(i64, i64)> =
                    sqlx::query_as("SELECT used, reserved FROM token_usage WHERE org_id = $1 AND period = $2")
                        .bind(t.org_id())
                        .bind(period)
                        .fetch_optional(&self.pool)
                        .await?;
                Ok(found.map(|(used, reserved)| crate::usage::TokenUsage { used, reserved }).unwrap_or_default())
            }

            async fn reserve_tokens(&self, t: &Tenant, period: &str, tokens: i64, budget: i64) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                ensure_usage_row(&mut tx, t, period).await?;
                let done = sqlx::query(
                    "UPDATE token_usage SET reserved = reserved + $3 \
                     WHERE org_id = $1 AND period = $2 AND used + reserved + $3 <= $4",
                )
                .bind(t.org_id())
                .bind(period)
                .bind(tokens)
                .bind(budget)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(done.rows_affected() == 1)
            }

            async fn settle_tokens(&self, t: &Tenant, period: &str, reserved: i64, used: i64) -> Result<()> {
                let mut tx = self.begin_write().await?;
                ensure_usage_row(&mut tx, t, period).await?;
                sqlx::query(
                    "UPDATE token_usage SET \
                     reserved = CASE WHEN reserved > $3 THEN reserved - $3 ELSE 0 END, used = used + $4 \
                     WHERE org_id = $1 AND period = $2",
                )
                .bind(t.org_id())
                .bind(period)
                .bind(reserved)
                .bind(used)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }
        }
    };
}

pub(crate) use impl_usage_store;
