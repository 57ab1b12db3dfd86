//! The writing side of an import: one chunk of checked rows into the database, inside a
//! transaction the caller opens and commits. Duplicate control runs here, against the
//! list as the transaction sees it (which includes this import's earlier chunks), so no
//! set of the file's phones is kept in memory.
//!
//! SQLite gets multi-row `INSERT … VALUES` (its statements are cheap, each round trip to
//! its worker thread is not); PostgreSQL gets one statement per chunk for both tables
//! (`INSERT … SELECT FROM UNNEST(arrays)` feeding the phones' insert through a CTE), a
//! single prepared statement whatever the chunk's size. Values are always bound, never put
//! in the SQL text.

use super::report::{RejectReason, RejectedRow};
use super::rows::{Chunk, GoodRow};
use crate::error::StoreError;
use crate::value_rows::push_value_rows;
use sqlx::{PgConnection, SqliteConnection};
use std::collections::{HashMap, HashSet};

/// Rows per multi-row INSERT of phones on SQLite (4 bound values each and one shared: under
/// its 32,766 limit; a chunk of contacts binds at most 3 + 5,000 × 2).
const SQLITE_PHONES_PER_INSERT: usize = 8000;

/// Where a chunk goes.
pub(crate) struct Target {
    pub(crate) list_id: i64,
    pub(crate) import_id: i64,
    pub(crate) now_ms: i64,
    pub(crate) avoid_duplicates: bool,
}

/// The statements an import needs, per backend.
pub(crate) trait ImportConnection {
    /// Makes other writers to this list wait for this transaction.
    async fn lock_list(&mut self, list_id: i64) -> Result<(), sqlx::Error>;
    /// Which of `numbers` the list holds: number → the line of this import that brought it,
    /// or `None` when it was there before.
    async fn existing_phones(
        &mut self,
        target: &Target,
        numbers: &[&str],
    ) -> Result<HashMap<String, Option<u64>>, sqlx::Error>;
    /// Inserts the rows: contacts and their phones.
    async fn insert_rows(&mut self, target: &Target, rows: &[GoodRow]) -> Result<(), StoreError>;
    /// Records progress in `contact_imports`.
    async fn record_progress(
        &mut self,
        import_id: i64,
        counts: [u64; 3],
        now_ms: i64,
    ) -> Result<(), sqlx::Error>;
    /// Sets the list's column names (JSON).
    async fn set_columns(&mut self, list_id: i64, columns: &str) -> Result<(), sqlx::Error>;
}

/// Orders the ids RETURNING gave (with their source lines) by the rows' order.
fn ids_in_row_order(rows: &[GoodRow], returned: Vec<(i64, i64)>) -> Result<Vec<i64>, StoreError> {
    let by_line: HashMap<i64, i64> = returned.into_iter().map(|(id, line)| (line, id)).collect();
    rows.iter()
        .map(|row| {
            by_line
                .get(&(row.line as i64))
                .copied()
                .ok_or_else(|| StoreError::Conflict("an inserted contact was not returned".into()))
        })
        .collect()
}

macro_rules! shared_statements {
    () => {
        async fn record_progress(
            &mut self,
            import_id: i64,
            counts: [u64; 3],
            now_ms: i64,
        ) -> Result<(), sqlx::Error> {
            sqlx::query(
                "UPDATE contact_imports SET rows_read = $2, rows_imported = $3, rows_rejected = $4, \
                 updated_at = $5 WHERE id = $1",
            )
            .bind(import_id)
            .bind(counts[0] as i64)
            .bind(counts[1] as i64)
            .bind(counts[2] as i64)
            .bind(now_ms)
            .execute(&mut *self)
            .await
            .map(|_| ())
        }

        async fn set_columns(&mut self, list_id: i64, columns: &str) -> Result<(), sqlx::Error> {
            sqlx::query("UPDATE contact_lists SET columns = $2 WHERE id = $1")
                .bind(list_id)
                .bind(columns)
                .execute(&mut *self)
                .await
                .map(|_| ())
        }
    };
}

const EXISTING_PHONES: &str = "SELECT p.e164, c.import_id, c.source_line FROM contact_phones p \
     JOIN contacts c ON c.id = p.contact_id WHERE p.list_id = $1 AND p.e164 IN ";

/// (number, import, line) rows → number → the line of this import that brought it.
fn existing_map(
    rows: Vec<(String, Option<i64>, Option<i64>)>,
    import_id: i64,
) -> HashMap<String, Option<u64>> {
    let mut found = HashMap::new();
    for (e164, from, line) in rows {
        let line = if from == Some(import_id) {
            line.map(|line| line as u64)
        } else {
            None
        };
        found
            .entry(e164)
            .and_modify(|first: &mut Option<u64>| {
                if line.is_none() {
                    *first = None;
                }
            })
            .or_insert(line);
    }
    found
}

impl ImportConnection for SqliteConnection {
    async fn lock_list(&mut self, _list_id: i64) -> Result<(), sqlx::Error> {
        // The transaction began IMMEDIATE: it holds SQLite's single write lock already.
        Ok(())
    }

    async fn existing_phones(
        &mut self,
        target: &Target,
        numbers: &[&str],
    ) -> Result<HashMap<String, Option<u64>>, sqlx::Error> {
        let numbers = serde_json::to_string(numbers).map_err(|e| sqlx::Error::Encode(e.into()))?;
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{EXISTING_PHONES}(SELECT value FROM json_each($2))"
        )))
        .bind(target.list_id)
        .bind(numbers)
        .fetch_all(&mut *self)
        .await?;
        Ok(existing_map(rows, target.import_id))
    }

    async fn insert_rows(&mut self, target: &Target, rows: &[GoodRow]) -> Result<(), StoreError> {
        let ids = sqlite_insert_contacts(self, target, rows).await?;
        let phones: Vec<(i64, i64, &crate::contacts::Phone)> = rows
            .iter()
            .zip(&ids)
            .flat_map(|(row, id)| {
                row.phones
                    .iter()
                    .enumerate()
                    .map(move |(position, phone)| (*id, position as i64, phone))
            })
            .collect();
        sqlite_insert_phones(self, target, &phones).await?;
        Ok(())
    }

    shared_statements!();
}

/// Inserts the contacts; returns their ids in row order.
async fn sqlite_insert_contacts(
    connection: &mut SqliteConnection,
    target: &Target,
    rows: &[GoodRow],
) -> Result<Vec<i64>, StoreError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    // Anonymous `?` only: with numbered parameters SQLite looks each name up in a list,
    // which makes binding a thousand rows quadratic. The three values every row shares are
    // bound once; the rows bind two each.
    let mut sql = String::with_capacity(200 + rows.len() * 6);
    sql.push_str(
        "INSERT INTO contacts (list_id, import_id, created_at, source_line, fields) \
         SELECT ?, ?, ?, column1, column2 FROM (VALUES ",
    );
    push_value_rows(&mut sql, rows.len(), 2, false);
    sql.push_str(") RETURNING id, source_line");
    let mut query = sqlx::query_as::<_, (i64, i64)>(sqlx::AssertSqlSafe(sql))
        .bind(target.list_id)
        .bind(target.import_id)
        .bind(target.now_ms);
    for row in rows {
        query = query.bind(row.line as i64).bind(row.fields.as_str());
    }
    let returned = query.fetch_all(&mut *connection).await?;
    ids_in_row_order(rows, returned)
}

/// Inserts `(contact id, position, phone)`.
async fn sqlite_insert_phones(
    connection: &mut SqliteConnection,
    target: &Target,
    phones: &[(i64, i64, &crate::contacts::Phone)],
) -> Result<(), sqlx::Error> {
    for part in phones.chunks(SQLITE_PHONES_PER_INSERT) {
        let mut sql = String::with_capacity(200 + part.len() * 10);
        sql.push_str(
            "INSERT INTO contact_phones (list_id, contact_id, position, raw, e164) \
             SELECT ?, column1, column2, column3, column4 FROM (VALUES ",
        );
        push_value_rows(&mut sql, part.len(), 4, false);
        sql.push(')');
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(target.list_id);
        for (contact, position, phone) in part {
            query = query
                .bind(*contact)
                .bind(*position)
                .bind(phone.raw.as_str())
                .bind(phone.e164.as_str());
        }
        query.execute(&mut *connection).await?;
    }
    Ok(())
}

impl ImportConnection for PgConnection {
    async fn lock_list(&mut self, list_id: i64) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT id FROM contact_lists WHERE id = $1 FOR UPDATE")
            .bind(list_id)
            .execute(&mut *self)
            .await
            .map(|_| ())
    }

    async fn existing_phones(
        &mut self,
        target: &Target,
        numbers: &[&str],
    ) -> Result<HashMap<String, Option<u64>>, sqlx::Error> {
        let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{EXISTING_PHONES}(SELECT * FROM UNNEST($2::TEXT[]))"
        )))
        .bind(target.list_id)
        .bind(numbers)
        .fetch_all(&mut *self)
        .await?;
        Ok(existing_map(rows, target.import_id))
    }

    async fn insert_rows(&mut self, target: &Target, rows: &[GoodRow]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let lines: Vec<i64> = rows.iter().map(|row| row.line as i64).collect();
        let fields: Vec<&str> = rows.iter().map(|row| row.fields.as_str()).collect();
        let phones = rows.iter().map(|row| row.phones.len()).sum();
        let mut phone_lines: Vec<i64> = Vec::with_capacity(phones);
        let mut positions: Vec<i64> = Vec::with_capacity(phones);
        let mut raw: Vec<&str> = Vec::with_capacity(phones);
        let mut e164: Vec<&str> = Vec::with_capacity(phones);
        for row in rows {
            for (position, phone) in row.phones.iter().enumerate() {
                phone_lines.push(row.line as i64);
                positions.push(position as i64);
                raw.push(&phone.raw);
                e164.push(&phone.e164);
            }
        }
        // One statement for both tables: the phones find their contact's new id by the
        // source line (unique within an import). One message out and one back, so no
        // round trip per table and no small write waiting on a delayed ACK (sqlx does
        // not set TCP_NODELAY, which made COPY's closing message wait ~40 ms).
        sqlx::query(
            "WITH added AS ( \
                 INSERT INTO contacts (list_id, import_id, created_at, source_line, fields) \
                 SELECT $1, $2, $3, t.line, t.fields FROM UNNEST($4::BIGINT[], $5::TEXT[]) AS t (line, fields) \
                 RETURNING id, source_line) \
             INSERT INTO contact_phones (list_id, contact_id, position, raw, e164) \
             SELECT $1, added.id, p.position, p.raw, p.e164 \
             FROM UNNEST($6::BIGINT[], $7::BIGINT[], $8::TEXT[], $9::TEXT[]) AS p (line, position, raw, e164) \
             JOIN added ON added.source_line = p.line",
        )
        .bind(target.list_id)
        .bind(target.import_id)
        .bind(target.now_ms)
        .bind(&lines)
        .bind(&fields)
        .bind(&phone_lines)
        .bind(&positions)
        .bind(&raw)
        .bind(&e164)
        .execute(&mut *self)
        .await?;
        Ok(())
    }

    shared_statements!();
}

/// Writes a chunk's good rows, rejecting duplicates first when the list avoids them (they
/// leave `chunk.rows`); returns how many were written and the rows rejected here.
pub(crate) async fn write_chunk<C: ImportConnection>(
    connection: &mut C,
    target: &Target,
    chunk: &mut Chunk,
) -> Result<(u64, Vec<RejectedRow>), StoreError> {
    let mut rejected = Vec::new();
    let mut keep: Vec<bool> = vec![true; chunk.rows.len()];
    if target.avoid_duplicates && !chunk.rows.is_empty() {
        let numbers: Vec<&str> = chunk
            .rows
            .iter()
            .flat_map(|row| row.phones.iter().map(|phone| phone.e164.as_str()))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let existing = connection.existing_phones(target, &numbers).await?;
        let mut in_chunk: HashMap<&str, u64> = HashMap::new();
        for (index, row) in chunk.rows.iter().enumerate() {
            let duplicate = row.phones.iter().find_map(|phone| {
                existing
                    .get(&phone.e164)
                    .map(|first_line| (phone, *first_line))
                    .or_else(|| {
                        in_chunk
                            .get(phone.e164.as_str())
                            .map(|line| (phone, Some(*line)))
                    })
            });
            if let Some((phone, first_line)) = duplicate {
                keep[index] = false;
                rejected.push(RejectedRow {
                    line: row.line,
                    reason: RejectReason::DuplicatePhone {
                        e164: phone.e164.clone(),
                        first_line,
                    },
                });
            } else {
                for phone in &row.phones {
                    in_chunk.insert(&phone.e164, row.line);
                }
            }
        }
    }
    if !rejected.is_empty() {
        let mut flags = keep.iter();
        chunk.rows.retain(|_| flags.next().copied().unwrap_or(true));
    }
    connection.insert_rows(target, &chunk.rows).await?;
    Ok((chunk.rows.len() as u64, rejected))
}
