//! The writing side of an import: one chunk of checked rows into the database, inside a
//! transaction the caller opens and commits. Duplicate control runs here, against the
//! list as the transaction sees it (which includes this import's earlier chunks), so no
//! set of the file's phones is kept in memory.
//!
//! SQLite gets multi-row `INSERT … VALUES` (its statements are cheap, each round trip to
//! its worker thread is not); PostgreSQL gets `COPY … FROM STDIN` per table, with the
//! contacts' ids taken from their sequence first (COPY returns nothing). Values are
//! bound or sent as COPY data (escaped by [`push_copy_text`]), never put in the SQL text.

use super::report::{RejectReason, RejectedRow};
use super::rows::{Chunk, GoodRow};
use crate::error::StoreError;
use sqlx::{PgConnection, SqliteConnection};
use std::collections::{HashMap, HashSet};

/// Rows per multi-row INSERT of phones on SQLite (5 bound values each, well under its
/// 32,766 limit; a chunk of contacts is at most 5,000 × 5).
const SQLITE_PHONES_PER_INSERT: usize = 2000;

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
    /// Inserts the contacts; returns their ids in row order.
    async fn insert_contacts(
        &mut self,
        target: &Target,
        rows: &[GoodRow],
    ) -> Result<Vec<i64>, StoreError>;
    /// Inserts `(contact id, position, phone)`.
    async fn insert_phones(
        &mut self,
        target: &Target,
        phones: &[(i64, i64, &crate::contacts::Phone)],
    ) -> Result<(), sqlx::Error>;
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

    async fn insert_contacts(
        &mut self,
        target: &Target,
        rows: &[GoodRow],
    ) -> Result<Vec<i64>, StoreError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        // Anonymous `?` only: with numbered parameters SQLite looks each name up in a list,
        // which makes binding a thousand rows quadratic.
        let mut sql = String::with_capacity(100 + rows.len() * 12);
        sql.push_str(
            "INSERT INTO contacts (list_id, import_id, created_at, source_line, fields) VALUES ",
        );
        for index in 0..rows.len() {
            sql.push_str(if index == 0 {
                "(?,?,?,?,?)"
            } else {
                ",(?,?,?,?,?)"
            });
        }
        sql.push_str(" RETURNING id, source_line");
        let mut query = sqlx::query_as::<_, (i64, i64)>(sqlx::AssertSqlSafe(sql));
        for row in rows {
            query = query
                .bind(target.list_id)
                .bind(target.import_id)
                .bind(target.now_ms)
                .bind(row.line as i64)
                .bind(row.fields.as_str());
        }
        let returned = query.fetch_all(&mut *self).await?;
        ids_in_row_order(rows, returned)
    }

    async fn insert_phones(
        &mut self,
        target: &Target,
        phones: &[(i64, i64, &crate::contacts::Phone)],
    ) -> Result<(), sqlx::Error> {
        for part in phones.chunks(SQLITE_PHONES_PER_INSERT) {
            let mut sql = String::with_capacity(100 + part.len() * 12);
            sql.push_str(
                "INSERT INTO contact_phones (list_id, contact_id, position, raw, e164) VALUES ",
            );
            for index in 0..part.len() {
                sql.push_str(if index == 0 {
                    "(?,?,?,?,?)"
                } else {
                    ",(?,?,?,?,?)"
                });
            }
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (contact, position, phone) in part {
                query = query
                    .bind(target.list_id)
                    .bind(*contact)
                    .bind(*position)
                    .bind(phone.raw.as_str())
                    .bind(phone.e164.as_str());
            }
            query.execute(&mut *self).await?;
        }
        Ok(())
    }

    shared_statements!();
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

    async fn insert_contacts(
        &mut self,
        target: &Target,
        rows: &[GoodRow],
    ) -> Result<Vec<i64>, StoreError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        // The ids are taken from the column's sequence first (one round trip), so that the
        // rows can go in through COPY, which returns nothing.
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT nextval(pg_get_serial_sequence('contacts', 'id')) FROM generate_series(1, $1)",
        )
        .bind(rows.len() as i64)
        .fetch_all(&mut *self)
        .await?;
        if ids.len() != rows.len() {
            return Err(StoreError::Conflict("the contact id sequence gave too few ids".into()));
        }
        let mut data = Vec::with_capacity(rows.len() * (64 + rows[0].fields.len()));
        let fixed = format!("\t{}\t{}\t{}\t", target.list_id, target.import_id, target.now_ms);
        for (id, row) in ids.iter().zip(rows) {
            data.extend_from_slice(id.to_string().as_bytes());
            data.extend_from_slice(fixed.as_bytes());
            data.extend_from_slice(row.line.to_string().as_bytes());
            data.push(b'\t');
            push_copy_text(&mut data, &row.fields);
            data.push(b'\n');
        }
        let mut copy = self
            .copy_in_raw("COPY contacts (id, list_id, import_id, created_at, source_line, fields) FROM STDIN")
            .await?;
        copy.send(data).await?;
        copy.finish().await?;
        Ok(ids)
    }

    async fn insert_phones(
        &mut self,
        target: &Target,
        phones: &[(i64, i64, &crate::contacts::Phone)],
    ) -> Result<(), sqlx::Error> {
        let list = format!("{}\t", target.list_id);
        let mut data = Vec::with_capacity(phones.len() * 64);
        for (contact, position, phone) in phones {
            data.extend_from_slice(list.as_bytes());
            data.extend_from_slice(format!("{contact}\t{position}\t").as_bytes());
            push_copy_text(&mut data, &phone.raw);
            data.push(b'\t');
            push_copy_text(&mut data, &phone.e164);
            data.push(b'\n');
        }
        let mut copy = self
            .copy_in_raw("COPY contact_phones (list_id, contact_id, position, raw, e164) FROM STDIN")
            .await?;
        copy.send(data).await?;
        copy.finish().await.map(|_| ())
    }

    shared_statements!();
}

/// Appends `text` as one column of `COPY … FROM STDIN` text format: backslash, tab, newline
/// and carriage return escaped, so no value can end its column or row early.
fn push_copy_text(data: &mut Vec<u8>, text: &str) {
    for byte in text.bytes() {
        match byte {
            b'\\' => data.extend_from_slice(b"\\\\"),
            b'\t' => data.extend_from_slice(b"\\t"),
            b'\n' => data.extend_from_slice(b"\\n"),
            b'\r' => data.extend_from_slice(b"\\r"),
            other => data.push(other),
        }
    }
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
    let to_write = &chunk.rows;
    let ids = connection.insert_contacts(target, to_write).await?;
    let phones: Vec<(i64, i64, &crate::contacts::Phone)> = to_write
        .iter()
        .zip(&ids)
        .flat_map(|(row, id)| {
            row.phones
                .iter()
                .enumerate()
                .map(move |(position, phone)| (*id, position as i64, phone))
        })
        .collect();
    if !phones.is_empty() {
        connection.insert_phones(target, &phones).await?;
    }
    Ok((to_write.len() as u64, rejected))
}

#[cfg(test)]
mod tests {
    use super::push_copy_text;

    #[test]
    fn copy_text_escapes_what_would_end_a_column_or_row() {
        let mut data = Vec::new();
        push_copy_text(&mut data, "a\tb\nc\rd\\e \"ç\"");
        assert_eq!(data, "a\\tb\\nc\\rd\\\\e \"ç\"".as_bytes());
    }
}
