//! Call records — one row per call with the flow version it ran, the executed path and the
//! variables it ended with — and inbound routes (number dialled → flow).

use crate::error::StoreError;
use crate::pool::{Store, with_pool};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::Row;

/// The `SELECT` of every call column, followed by `$tail` (a literal, so the SQL is static).
macro_rules! select_call {
    ($tail:literal) => {
        concat!(
            "SELECT id, direction, caller, callee, flow_id, flow_version, started_at, answered_at, ",
            "ended_at, end_reason, disposition, trace, variables, surveys, recording FROM calls ",
            $tail
        )
    };
}

/// A finished call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CallRecord {
    /// Unique id.
    pub id: String,
    /// `inbound` or `outbound`.
    pub direction: String,
    /// Who called (the From user or URI).
    pub caller: String,
    /// The number dialled.
    pub callee: String,
    /// The flow that ran, if one did.
    pub flow_id: Option<String>,
    /// Its published version (a call pins the version it started on).
    pub flow_version: Option<i64>,
    /// When the INVITE arrived, Unix ms.
    pub started_at: i64,
    /// When the call was answered, if it was.
    pub answered_at: Option<i64>,
    /// When it ended.
    pub ended_at: i64,
    /// Why it ended: `normal`, `caller-hung-up`, `rtp-timeout`, `no-flow`, …
    pub end_reason: String,
    /// The disposition a `hangup` node set, if any.
    pub disposition: Option<String>,
    /// The executor's trace (a JSON array of steps).
    pub trace: Value,
    /// The flow variables at the end (a JSON object).
    pub variables: Value,
    /// Survey answers (a JSON array).
    pub surveys: Value,
    /// The recording's file name under the recordings directory, if the call was recorded.
    pub recording: Option<String>,
}

/// Records per INSERT statement: 15 values each, under SQLite's 32,766 bound values and
/// PostgreSQL's 65,535.
const CALLS_PER_INSERT: usize = 1000;

/// `INSERT INTO calls … VALUES (…), (…)` for `rows` records.
fn insert_calls_sql(rows: usize, numbered: bool) -> String {
    let mut sql = String::from(
        "INSERT INTO calls (id, direction, caller, callee, flow_id, flow_version, started_at, \
         answered_at, ended_at, end_reason, disposition, trace, variables, surveys, recording) VALUES ",
    );
    crate::value_rows::push_value_rows(&mut sql, rows, 15, numbered);
    sql
}

impl Store {
    /// Stores a finished call. A second record with the same id is a conflict.
    pub async fn record_call(&self, call: &CallRecord) -> Result<(), StoreError> {
        self.record_calls(std::slice::from_ref(call)).await
    }

    /// Stores finished calls in one transaction: all of them or, on any error, none.
    ///
    /// One multi-row INSERT per [`CALLS_PER_INSERT`] records: the call engine's record
    /// writer hands over everything that finished during the previous write, and a statement
    /// per record cost a round trip to SQLite's worker thread (two thread wake-ups) each.
    pub async fn record_calls(&self, calls: &[CallRecord]) -> Result<(), StoreError> {
        if calls.is_empty() {
            return Ok(());
        }
        let numbered = self.backend() == crate::pool::Backend::Postgres;
        // One statement is atomic by itself: a transaction only when there are several.
        let single = calls.len() <= CALLS_PER_INSERT;
        with_pool!(self, pool => {
            let mut transaction = if single { None } else { Some(pool.begin().await?) };
            for part in calls.chunks(CALLS_PER_INSERT) {
                let sql = insert_calls_sql(part.len(), numbered);
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                for call in part {
                    query = query
                        .bind(&call.id)
                        .bind(&call.direction)
                        .bind(&call.caller)
                        .bind(&call.callee)
                        .bind(&call.flow_id)
                        .bind(call.flow_version)
                        .bind(call.started_at)
                        .bind(call.answered_at)
                        .bind(call.ended_at)
                        .bind(&call.end_reason)
                        .bind(&call.disposition)
                        .bind(call.trace.to_string())
                        .bind(call.variables.to_string())
                        .bind(call.surveys.to_string())
                        .bind(&call.recording);
                }
                match transaction.as_mut() {
                    Some(transaction) => query.execute(&mut **transaction).await?,
                    None => query.execute(pool).await?,
                };
            }
            if let Some(transaction) = transaction {
                transaction.commit().await?;
            }
        });
        Ok(())
    }

    /// The newest calls first, at most `limit`.
    pub async fn recent_calls(&self, limit: i64) -> Result<Vec<CallRecord>, StoreError> {
        with_pool!(self, pool => {
            sqlx::query(select_call!("ORDER BY started_at DESC, id LIMIT $1"))
                .bind(limit)
                .fetch_all(pool)
                .await?
                .iter()
                .map(call_of)
                .collect()
        })
    }

    /// Up to `limit` calls in the order of [`Store::recent_calls`] (newest first, then by
    /// id) that come after the call `after` = `(started_at, id)` — keyset paging: pass the
    /// last call of the previous page — optionally only those that ran flow `flow_id`.
    pub async fn calls_page(
        &self,
        after: Option<(i64, &str)>,
        flow_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<CallRecord>, StoreError> {
        let (after_started, after_id) = after.unzip();
        with_pool!(self, pool => {
            sqlx::query(select_call!(
                "WHERE (CAST($1 AS BIGINT) IS NULL OR started_at < $1 OR (started_at = $1 AND id > CAST($2 AS TEXT))) \
                 AND (CAST($3 AS TEXT) IS NULL OR flow_id = $3) ORDER BY started_at DESC, id LIMIT $4"
            ))
            .bind(after_started)
            .bind(after_id)
            .bind(flow_id)
            .bind(limit.clamp(0, 10_000))
            .fetch_all(pool)
            .await?
            .iter()
            .map(call_of)
            .collect()
        })
    }

    /// One call by id.
    pub async fn call_record(&self, id: &str) -> Result<CallRecord, StoreError> {
        with_pool!(self, pool => {
            sqlx::query(select_call!("WHERE id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?
                .as_ref()
                .map(call_of)
                .transpose()?
                .ok_or_else(|| StoreError::NotFound { entity: "call", id: id.to_owned() })
        })
    }

    /// Routes calls to `number` to flow `flow_id` (replacing an earlier route); audited as
    /// done `by` that user.
    pub async fn set_inbound_route(
        &self,
        number: &str,
        flow_id: &str,
        by: Option<i64>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        if number.is_empty() || number.len() > 64 {
            return Err(StoreError::Invalid {
                field: "number",
                message: "a number is 1 to 64 characters".into(),
            });
        }
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO inbound_routes (number, flow_id, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (number) DO UPDATE SET flow_id = excluded.flow_id",
            )
            .bind(number)
            .bind(flow_id)
            .bind(now_ms)
            .execute(pool)
            .await?;
        });
        self.audit(
            by,
            "set-route",
            "inbound-route",
            number,
            Some(flow_id),
            now_ms,
        )
        .await
    }

    /// The flow that answers calls to `number`, if a route says so.
    pub async fn inbound_route(&self, number: &str) -> Result<Option<String>, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar("SELECT flow_id FROM inbound_routes WHERE number = $1")
                .bind(number)
                .fetch_optional(pool)
                .await?
        }))
    }
}

fn call_of<R: Row>(row: &R) -> Result<CallRecord, StoreError>
where
    for<'r> &'r str: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let json = |column: &'static str| -> Result<Value, StoreError> {
        let text: String = row.try_get(column)?;
        serde_json::from_str(&text).map_err(|error| StoreError::Invalid {
            field: column,
            message: format!("stored JSON does not parse: {error}"),
        })
    };
    Ok(CallRecord {
        id: row.try_get("id")?,
        direction: row.try_get("direction")?,
        caller: row.try_get("caller")?,
        callee: row.try_get("callee")?,
        flow_id: row.try_get("flow_id")?,
        flow_version: row.try_get("flow_version")?,
        started_at: row.try_get("started_at")?,
        answered_at: row.try_get("answered_at")?,
        ended_at: row.try_get("ended_at")?,
        end_reason: row.try_get("end_reason")?,
        disposition: row.try_get("disposition")?,
        trace: json("trace")?,
        variables: json("variables")?,
        surveys: json("surveys")?,
        recording: row.try_get("recording")?,
    })
}
