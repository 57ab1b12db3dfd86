//! The audit log: who changed what, when.

use crate::error::StoreError;
use crate::pool::{Store, with_pool};
use serde::{Deserialize, Serialize};
use sqlx::Row;

/// One change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When, Unix ms.
    pub at: i64,
    /// Who (none for the system).
    pub user_id: Option<i64>,
    /// `create`, `save-draft`, `publish`, …
    pub action: String,
    /// `user`, `flow`, …
    pub entity: String,
    /// The entity's id.
    pub entity_id: String,
    /// More, as text.
    pub detail: Option<String>,
}

impl Store {
    pub(crate) async fn audit(
        &self,
        user_id: Option<i64>,
        action: &str,
        entity: &str,
        entity_id: &str,
        detail: Option<&str>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("INSERT INTO audit_log (at, user_id, action, entity, entity_id, detail) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(now_ms)
                .bind(user_id)
                .bind(action)
                .bind(entity)
                .bind(entity_id)
                .bind(detail)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// The latest `limit` audit entries, newest first.
    pub async fn audit_log(&self, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        with_pool!(self, pool => {
            sqlx::query("SELECT at, user_id, action, entity, entity_id, detail FROM audit_log ORDER BY id DESC LIMIT $1")
                .bind(limit)
                .fetch_all(pool)
                .await?
                .into_iter()
                .map(|row| {
                    Ok(AuditEntry {
                        at: row.try_get("at")?,
                        user_id: row.try_get("user_id")?,
                        action: row.try_get("action")?,
                        entity: row.try_get("entity")?,
                        entity_id: row.try_get("entity_id")?,
                        detail: row.try_get("detail")?,
                    })
                })
                .collect()
        })
    }
}
