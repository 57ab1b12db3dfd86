//! Streamed CSV import of contacts into a list.
//!
//! A thread reads the file ([`csv_reader`]: encoding, delimiter, quoting, row caps) and
//! turns rows into contacts ([`rows`]: header mapping, phones to E.164), sending chunks of
//! `batch_rows` rows through a channel that holds two; the caller's task writes each
//! chunk ([`write`]) in one transaction. Memory is therefore the same for 1,000 rows as
//! for 10 million: a read buffer, at most three chunks, and the first rejected rows kept
//! for the report.
//!
//! **Crash safety.** In [`ImportMode::CommitGood`] each chunk commits whole together with
//! the import's counts, so a crash leaves complete chunks and a `running` import whose
//! counts match them. In [`ImportMode::AllOrNothing`] there is one transaction: any bad row
//! (or a crash) means nothing is written.

pub(crate) mod csv_reader;
pub(crate) mod phone;
mod report;
mod rows;
mod write;

pub use csv_reader::{FileError, Limits, TextEncoding};
pub use report::{ImportReport, Progress, RejectReason, RejectedRow};

use crate::contacts::{Duplicates, ImportStatus, merged_columns};
use crate::error::StoreError;
use crate::pool::{Backend, Store, with_pool};
use rows::Message;
use std::io::Read;
use std::time::Instant;
use write::{ImportConnection, Target};

/// What a CSV column becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnTarget {
    /// A custom field with this name.
    Field(String),
    /// A phone number (a contact may have several).
    Phone,
    /// Nothing.
    Ignore,
}

/// What happens to the good rows when some are bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImportMode {
    /// Write every good row; report the bad ones.
    #[default]
    CommitGood,
    /// Write nothing unless every row is good.
    AllOrNothing,
}

impl ImportMode {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ImportMode::CommitGood => "commit_good",
            ImportMode::AllOrNothing => "all_or_nothing",
        }
    }
}

/// How to read and write an import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Recorded with the import (a file name).
    pub source: String,
    /// The file's size, for progress in percent.
    pub total_bytes: Option<u64>,
    /// The text encoding.
    pub encoding: TextEncoding,
    /// The delimiter, or `None` to detect it among `,` `;` tab `|`.
    pub delimiter: Option<u8>,
    /// Column name (as in the header, any case) → what it becomes. Columns not named are
    /// custom fields under their header name; when no column is named a phone, columns
    /// named like one (`telefone`, `celular`, `phone 2`, …) are.
    pub columns: Vec<(String, ColumnTarget)>,
    /// The country for numbers without `+` (default: the list's).
    pub country: Option<String>,
    /// What bad rows do to good ones.
    pub mode: ImportMode,
    /// Rows per chunk and transaction (default and most 5,000: fewer round trips matter,
    /// sqlx does not set TCP_NODELAY, so each PostgreSQL round trip after a large message
    /// can wait for a delayed ACK; SQLite binds 5 values a row, under its 32,766 limit).
    pub batch_rows: usize,
    /// Row caps.
    pub limits: Limits,
    /// How many rejected rows the report lists (all are counted; default 1,000).
    pub max_listed_rejections: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            source: String::new(),
            total_bytes: None,
            encoding: TextEncoding::Auto,
            delimiter: None,
            columns: Vec::new(),
            country: None,
            mode: ImportMode::CommitGood,
            batch_rows: 5000,
            limits: Limits::default(),
            max_listed_rejections: 1000,
        }
    }
}

/// An import that could not run to its end.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file cannot be read, or is not text.
    #[error(transparent)]
    File(#[from] FileError),
    /// The header is unusable (no phone column, a duplicate name, a mapped column missing).
    #[error("bad header: {0}")]
    Header(String),
    /// The database refused (or the list does not exist).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The reading thread ended without saying why (a bug).
    #[error("the import stopped unexpectedly: {0}")]
    Stopped(&'static str),
}

impl From<sqlx::Error> for ImportError {
    fn from(error: sqlx::Error) -> Self {
        ImportError::Store(StoreError::from(error))
    }
}

impl Store {
    /// Imports a CSV file into list `list_id`, streaming it (see the module docs), calling
    /// `progress` after every chunk. Row problems are in the report; `Err` means the file
    /// or the database failed as a whole (what was committed before stays, in
    /// commit-good mode, and the import is recorded as failed).
    pub async fn import_contacts<R: Read + Send + 'static>(
        &self,
        list_id: i64,
        input: R,
        options: ImportOptions,
        now_ms: i64,
        progress: &mut (dyn FnMut(&Progress) + Send),
    ) -> Result<ImportReport, ImportError> {
        let list = self.contact_list(list_id).await?;
        let country_code = options.country.as_deref().unwrap_or(&list.default_country);
        let country = phone::parse_country(country_code).ok_or_else(|| StoreError::Invalid {
            field: "country",
            message: format!("`{country_code}` is not an ISO 3166 country code (e.g. BR)"),
        })?;
        let import_id: i64 = with_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO contact_imports (list_id, source, mode, status, started_at, updated_at) \
                 VALUES ($1, $2, $3, 'running', $4, $4) RETURNING id",
            )
            .bind(list_id)
            .bind(&options.source)
            .bind(options.mode.as_str())
            .bind(now_ms)
            .fetch_one(pool)
            .await
            .map_err(StoreError::from)?
        });
        let started = Instant::now();
        let (sender, mut receiver) = tokio::sync::mpsc::channel(2);
        let settings = rows::ReadSettings {
            encoding: options.encoding,
            delimiter: options.delimiter,
            limits: options.limits,
            columns: options.columns.clone(),
            normaliser: phone::PhoneNormaliser::with_fast_path(country),
            batch_rows: options.batch_rows.clamp(1, 5000),
        };
        let spawned = std::thread::Builder::new()
            .name("contact-import".into())
            .spawn(move || rows::read_all(input, settings, sender));
        let mut report = ImportReport {
            import_id,
            list_id,
            committed: false,
            encoding: String::new(),
            delimiter: ',',
            header: Vec::new(),
            phone_columns: Vec::new(),
            rows_read: 0,
            rows_imported: 0,
            rows_rejected: 0,
            rejected_by_kind: Default::default(),
            rejected: Vec::new(),
            bytes_read: 0,
            elapsed: Default::default(),
        };
        let result = match spawned {
            Err(_) => Err(ImportError::Stopped("cannot start the reading thread")),
            Ok(_) => match receiver.recv().await {
                Some(Message::Started {
                    encoding,
                    delimiter,
                    header,
                    phone_columns,
                    field_names,
                }) => {
                    report.encoding = encoding.to_owned();
                    report.delimiter = char::from(delimiter);
                    report.header = header;
                    report.phone_columns = phone_columns;
                    let columns = merged_columns(&list.columns, &field_names);
                    let target = Target {
                        list_id,
                        import_id,
                        now_ms,
                        avoid_duplicates: list.duplicates == Duplicates::Avoid,
                    };
                    let run = Run {
                        options: &options,
                        target: &target,
                        started,
                    };
                    self.write_all(&run, &mut receiver, columns, &mut report, progress)
                        .await
                }
                Some(Message::Failed(error)) => Err(error),
                _ => Err(ImportError::Stopped("the reading thread sent nothing")),
            },
        };
        drop(receiver);
        if options.mode == ImportMode::AllOrNothing && !report.committed {
            // Its one transaction was rolled back (or dropped, on an error).
            report.rows_imported = 0;
        }
        report.elapsed = started.elapsed();
        let finished_at = now_ms + report.elapsed.as_millis() as i64;
        let (status, error) = match &result {
            Ok(()) if report.committed => (ImportStatus::Finished, None),
            Ok(()) => (
                ImportStatus::Failed,
                Some(format!(
                    "{} rows rejected: nothing written (all or nothing)",
                    report.rows_rejected
                )),
            ),
            Err(error) => (ImportStatus::Failed, Some(error.to_string())),
        };
        with_pool!(self, pool => {
            sqlx::query(
                "UPDATE contact_imports SET status = $2, error = $3, rows_read = $4, rows_imported = $5, \
                 rows_rejected = $6, updated_at = $7, finished_at = $7 WHERE id = $1",
            )
            .bind(import_id)
            .bind(status.as_str())
            .bind(error)
            .bind(report.rows_read as i64)
            .bind(report.rows_imported as i64)
            .bind(report.rows_rejected as i64)
            .bind(finished_at)
            .execute(pool)
            .await
            .map_err(StoreError::from)?;
        });
        result.map(|()| report)
    }

    /// Receives the chunks and writes them; fills `report`.
    async fn write_all(
        &self,
        run: &Run<'_>,
        receiver: &mut tokio::sync::mpsc::Receiver<Message>,
        mut columns: Option<String>,
        report: &mut ImportReport,
        progress: &mut (dyn FnMut(&Progress) + Send),
    ) -> Result<(), ImportError> {
        let begin = match self.backend() {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        };
        let target = run.target;
        let all_or_nothing = run.options.mode == ImportMode::AllOrNothing;
        with_pool!(self, pool => {
            // All or nothing: one transaction for everything, opened now.
            let mut whole = None;
            if all_or_nothing {
                let mut transaction = pool.begin_with(begin).await?;
                transaction.lock_list(target.list_id).await?;
                if let Some(columns) = columns.take() {
                    transaction.set_columns(target.list_id, &columns).await?;
                }
                whole = Some(transaction);
            }
            loop {
                let mut chunk = match receiver.recv().await {
                    Some(Message::Chunk(chunk)) => chunk,
                    Some(Message::Done) => break,
                    Some(Message::Failed(error)) => return Err(error),
                    Some(Message::Started { .. }) => continue,
                    None => return Err(ImportError::Stopped("the reading thread ended early")),
                };
                report.rows_read += chunk.rows_read;
                report.bytes_read = chunk.bytes_read;
                let mut rejected = std::mem::take(&mut chunk.rejected);
                let written = match whole.as_mut() {
                    Some(transaction) => {
                        let (written, duplicates) = write::write_chunk(&mut **transaction, target, &mut chunk).await?;
                        rejected.extend(duplicates);
                        written
                    }
                    None => {
                        let mut transaction = pool.begin_with(begin).await?;
                        transaction.lock_list(target.list_id).await?;
                        if let Some(columns) = columns.take() {
                            transaction.set_columns(target.list_id, &columns).await?;
                        }
                        let (written, duplicates) = write::write_chunk(&mut *transaction, target, &mut chunk).await?;
                        rejected.extend(duplicates);
                        let counts = [
                            report.rows_read,
                            report.rows_imported + written,
                            report.rows_rejected + rejected.len() as u64,
                        ];
                        transaction.record_progress(target.import_id, counts, run.now_ms()).await?;
                        transaction.commit().await?;
                        written
                    }
                };
                report.rows_imported += written;
                rejected.sort_by_key(|row| row.line);
                for row in rejected {
                    report.reject(row, run.options.max_listed_rejections);
                }
                progress(&Progress {
                    rows_read: report.rows_read,
                    rows_imported: report.rows_imported,
                    rows_rejected: report.rows_rejected,
                    bytes_read: report.bytes_read,
                    total_bytes: run.options.total_bytes,
                    elapsed: run.started.elapsed(),
                });
            }
            match whole {
                Some(transaction) if report.rows_rejected > 0 => {
                    transaction.rollback().await?;
                    report.rows_imported = 0;
                }
                Some(mut transaction) => {
                    let counts = [report.rows_read, report.rows_imported, 0];
                    transaction.record_progress(target.import_id, counts, run.now_ms()).await?;
                    transaction.commit().await?;
                    report.committed = true;
                }
                None => report.committed = true,
            }
        });
        Ok(())
    }
}

/// One import's fixed facts, for `write_all`.
struct Run<'a> {
    options: &'a ImportOptions,
    target: &'a Target,
    started: Instant,
}

impl Run<'_> {
    /// The time now, Unix ms, from the start time given plus the time elapsed.
    fn now_ms(&self) -> i64 {
        self.target.now_ms + self.started.elapsed().as_millis() as i64
    }
}
