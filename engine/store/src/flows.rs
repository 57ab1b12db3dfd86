//! Flows: a draft being edited, and numbered published versions that never change (a call
//! pins the version it started on).

use crate::error::StoreError;
use crate::pool::{Store, with_pool};
use serde::{Deserialize, Serialize};
use sqlx::Row;

/// A flow in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowSummary {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Whether a draft is saved.
    pub has_draft: bool,
    /// The newest published version, if any.
    pub published_version: Option<i64>,
}

/// A published version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowVersion {
    /// The flow.
    pub flow_id: String,
    /// 1, 2, …
    pub version: i64,
    /// The `ramal.flow/v1` document, exactly as published.
    pub document: String,
    /// When, Unix ms.
    pub published_at: i64,
    /// By whom.
    pub published_by: Option<i64>,
}

fn version_of(row: &impl RowLike) -> Result<FlowVersion, StoreError> {
    row.version()
}

/// Reading a version row on either backend.
trait RowLike {
    fn version(&self) -> Result<FlowVersion, StoreError>;
}

macro_rules! row_like {
    ($row:ty) => {
        impl RowLike for $row {
            fn version(&self) -> Result<FlowVersion, StoreError> {
                Ok(FlowVersion {
                    flow_id: self.try_get("flow_id")?,
                    version: self.try_get("version")?,
                    document: self.try_get("document")?,
                    published_at: self.try_get("published_at")?,
                    published_by: self.try_get("published_by")?,
                })
            }
        }
    };
}
row_like!(sqlx::sqlite::SqliteRow);
row_like!(sqlx::postgres::PgRow);

/// The columns of a [`FlowSummary`], from `flows f`.
const SUMMARY_COLUMNS: &str = "f.id, f.name, f.draft IS NOT NULL AS has_draft, \
     (SELECT MAX(v.version) FROM flow_versions v WHERE v.flow_id = f.id) AS published_version";

/// A [`FlowSummary`] from a row with [`SUMMARY_COLUMNS`] (either backend's row type).
macro_rules! flow_summary {
    ($row:expr) => {
        FlowSummary {
            id: $row.try_get("id")?,
            name: $row.try_get("name")?,
            has_draft: $row.try_get("has_draft")?,
            published_version: $row.try_get("published_version")?,
        }
    };
}

impl Store {
    /// Saves the draft of flow `id` (creating the flow on first save).
    pub async fn save_draft(
        &self,
        id: &str,
        name: &str,
        document: &str,
        by: Option<i64>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        if id.is_empty() || name.trim().is_empty() {
            return Err(StoreError::Invalid {
                field: "flow",
                message: "a flow needs an id and a name".into(),
            });
        }
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO flows (id, name, draft, draft_updated_at, created_at) VALUES ($1, $2, $3, $4, $4) \
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, draft = excluded.draft, \
                 draft_updated_at = excluded.draft_updated_at",
            )
            .bind(id)
            .bind(name)
            .bind(document)
            .bind(now_ms)
            .execute(pool)
            .await?;
        });
        self.audit(by, "save-draft", "flow", id, None, now_ms).await
    }

    /// The saved draft of flow `id`.
    pub async fn draft(&self, id: &str) -> Result<String, StoreError> {
        let draft: Option<Option<String>> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT draft FROM flows WHERE id = $1").bind(id).fetch_optional(pool).await?
        });
        draft.flatten().ok_or_else(|| StoreError::NotFound {
            entity: "flow draft",
            id: id.to_owned(),
        })
    }

    /// Publishes the current draft as the next version, atomically: a crash leaves either no
    /// new version or a complete one. Two publishes racing get a conflict, not a gap.
    pub async fn publish(&self, id: &str, by: Option<i64>, now_ms: i64) -> Result<i64, StoreError> {
        let version: i64 = with_pool!(self, pool => {
            let mut transaction = pool.begin().await?;
            let draft: Option<Option<String>> = sqlx::query_scalar("SELECT draft FROM flows WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *transaction)
                .await?;
            let Some(document) = draft.flatten() else {
                return Err(StoreError::NotFound { entity: "flow draft", id: id.to_owned() });
            };
            let next: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) + 1 FROM flow_versions WHERE flow_id = $1")
                .bind(id)
                .fetch_one(&mut *transaction)
                .await?;
            sqlx::query(
                "INSERT INTO flow_versions (flow_id, version, document, published_at, published_by) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id)
            .bind(next)
            .bind(&document)
            .bind(now_ms)
            .bind(by)
            .execute(&mut *transaction)
            .await
            .map_err(|error| match StoreError::from(error) {
                StoreError::Conflict(_) => StoreError::Conflict(format!("flow `{id}` was published at the same time; try again")),
                other => other,
            })?;
            sqlx::query("INSERT INTO audit_log (at, user_id, action, entity, entity_id, detail) VALUES ($1, $2, 'publish', 'flow', $3, $4)")
                .bind(now_ms)
                .bind(by)
                .bind(id)
                .bind(format!("version {next}"))
                .execute(&mut *transaction)
                .await?;
            transaction.commit().await?;
            next
        });
        Ok(version)
    }

    /// The newest published version of flow `id`.
    pub async fn published(&self, id: &str) -> Result<FlowVersion, StoreError> {
        with_pool!(self, pool => {
            sqlx::query("SELECT flow_id, version, document, published_at, published_by FROM flow_versions \
                         WHERE flow_id = $1 ORDER BY version DESC LIMIT 1")
                .bind(id)
                .fetch_optional(pool)
                .await?
                .as_ref()
                .map(version_of)
                .transpose()?
                .ok_or_else(|| StoreError::NotFound { entity: "published flow", id: id.to_owned() })
        })
    }

    /// Version `version` of flow `id` (calls pin the version they started on).
    pub async fn flow_version(&self, id: &str, version: i64) -> Result<FlowVersion, StoreError> {
        with_pool!(self, pool => {
            sqlx::query("SELECT flow_id, version, document, published_at, published_by FROM flow_versions \
                         WHERE flow_id = $1 AND version = $2")
                .bind(id)
                .bind(version)
                .fetch_optional(pool)
                .await?
                .as_ref()
                .map(version_of)
                .transpose()?
                .ok_or_else(|| StoreError::NotFound { entity: "flow version", id: format!("{id}@{version}") })
        })
    }

    /// Every flow, by id.
    pub async fn flows(&self) -> Result<Vec<FlowSummary>, StoreError> {
        with_pool!(self, pool => {
            sqlx::query(
                sqlx::AssertSqlSafe(format!("SELECT {SUMMARY_COLUMNS} FROM flows f ORDER BY f.id")),
            )
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|row| Ok(flow_summary!(row)))
            .collect()
        })
    }

    /// Every flow, by id, with its current document: the draft, else the newest published
    /// version (`None` for a flow with neither). One query, for lists that show every
    /// flow's diagnostics.
    pub async fn flows_with_documents(
        &self,
    ) -> Result<Vec<(FlowSummary, Option<String>)>, StoreError> {
        with_pool!(self, pool => {
            sqlx::query(
                sqlx::AssertSqlSafe(format!(
                    "SELECT {SUMMARY_COLUMNS}, \
                     COALESCE(f.draft, (SELECT v.document FROM flow_versions v WHERE v.flow_id = f.id \
                     ORDER BY v.version DESC LIMIT 1)) AS document \
                     FROM flows f ORDER BY f.id"
                )),
            )
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|row| {
                Ok((flow_summary!(row), row.try_get("document")?))
            })
            .collect()
        })
    }
}
