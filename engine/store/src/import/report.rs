//! What an import tells its caller: progress while it runs, and a report at the end with
//! every rejected row counted and the first ones listed with their reason.

use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// Why a row was not imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RejectReason {
    /// The row has a different number of columns than the header.
    ColumnCount {
        /// Columns in the row.
        found: usize,
        /// Columns in the header.
        expected: usize,
    },
    /// The row is longer than the limit (bytes).
    TooLong {
        /// The limit.
        limit: usize,
    },
    /// The row has more columns than the limit.
    TooManyColumns {
        /// The limit.
        limit: usize,
    },
    /// A quoted field never closes: the rest of the file was read as this row.
    UnclosedQuote,
    /// The row's bytes are not UTF-8 text (the file is probably in another encoding).
    NotUtf8,
    /// The row holds a NUL character, which no text column can store.
    NulCharacter,
    /// None of the phone columns holds a number.
    NoPhone,
    /// A phone column holds something that is not a valid number.
    BadPhone {
        /// The column's header.
        column: String,
        /// What it holds (cut to 64 characters).
        value: String,
        /// Why it was refused.
        why: String,
    },
    /// The list avoids duplicates and a phone of this row is already in it.
    DuplicatePhone {
        /// The number, E.164.
        e164: String,
        /// The line of this file that has it, if it came from this import; else it was in
        /// the list already.
        first_line: Option<u64>,
    },
}

impl RejectReason {
    /// A short stable name for counting (`bad_phone`, `duplicate_phone`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            RejectReason::ColumnCount { .. } => "column_count",
            RejectReason::TooLong { .. } => "too_long",
            RejectReason::TooManyColumns { .. } => "too_many_columns",
            RejectReason::UnclosedQuote => "unclosed_quote",
            RejectReason::NotUtf8 => "not_utf8",
            RejectReason::NulCharacter => "nul_character",
            RejectReason::NoPhone => "no_phone",
            RejectReason::BadPhone { .. } => "bad_phone",
            RejectReason::DuplicatePhone { .. } => "duplicate_phone",
        }
    }
}

impl std::fmt::Display for RejectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RejectReason::ColumnCount { found, expected } => {
                write!(f, "has {found} columns; the header has {expected}")
            }
            RejectReason::TooLong { limit } => {
                write!(f, "is longer than {limit} bytes (the row was skipped)")
            }
            RejectReason::TooManyColumns { limit } => write!(f, "has more than {limit} columns"),
            RejectReason::UnclosedQuote => write!(
                f,
                "a quote opened on this line never closes: the rest of the file was read as this row"
            ),
            RejectReason::NotUtf8 => write!(
                f,
                "is not valid UTF-8 text (is the file Latin-1? import it with that encoding)"
            ),
            RejectReason::NulCharacter => write!(f, "contains a NUL character"),
            RejectReason::NoPhone => write!(f, "has no phone number"),
            RejectReason::BadPhone { column, value, why } => {
                write!(f, "column `{column}`: `{value}` is {why}")
            }
            RejectReason::DuplicatePhone {
                e164,
                first_line: Some(line),
            } => write!(f, "phone {e164} is a duplicate of line {line}"),
            RejectReason::DuplicatePhone {
                e164,
                first_line: None,
            } => write!(f, "phone {e164} is already in the list"),
        }
    }
}

/// A row that was not imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct RejectedRow {
    /// The line of the file (1-based, the header is line 1) on which the row starts.
    pub line: u64,
    /// Why.
    pub reason: RejectReason,
}

/// How far an import has got; given to the progress callback after every batch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Progress {
    /// Data rows read (imported or rejected).
    pub rows_read: u64,
    /// Rows written (in all-or-nothing mode: written so far in the open transaction).
    pub rows_imported: u64,
    /// Rows rejected.
    pub rows_rejected: u64,
    /// Bytes of the file read.
    pub bytes_read: u64,
    /// The file's size, when known.
    pub total_bytes: Option<u64>,
    /// Time since the import started.
    pub elapsed: Duration,
}

impl Progress {
    /// How much of the file is read, 0–100, when its size is known.
    pub fn percent(&self) -> Option<f64> {
        self.total_bytes.map(|total| {
            if total == 0 {
                100.0
            } else {
                (self.bytes_read as f64 * 100.0 / total as f64).min(100.0)
            }
        })
    }

    /// Rows read per second so far.
    pub fn rows_per_second(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 {
            self.rows_read as f64 / seconds
        } else {
            0.0
        }
    }
}

/// The end of an import.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ImportReport {
    /// The `contact_imports` row that records it.
    pub import_id: i64,
    /// The list imported into.
    pub list_id: i64,
    /// Whether the good rows were written: false when an all-or-nothing import met a bad
    /// row (nothing was written).
    pub committed: bool,
    /// The encoding read (`UTF-8`, `windows-1252`, …).
    pub encoding: String,
    /// The delimiter used.
    pub delimiter: char,
    /// The header, as read.
    pub header: Vec<String>,
    /// Which of them are phone columns.
    pub phone_columns: Vec<String>,
    /// Data rows read.
    pub rows_read: u64,
    /// Rows written.
    pub rows_imported: u64,
    /// Rows rejected.
    pub rows_rejected: u64,
    /// Rejected rows by [`RejectReason::kind`].
    pub rejected_by_kind: BTreeMap<String, u64>,
    /// The first rejected rows, in file order (at most `ImportOptions::max_listed_rejections`).
    pub rejected: Vec<RejectedRow>,
    /// Bytes of the file read.
    pub bytes_read: u64,
    /// How long it took.
    pub elapsed: Duration,
}

impl ImportReport {
    pub(crate) fn reject(&mut self, row: RejectedRow, keep: usize) {
        self.rows_rejected += 1;
        *self
            .rejected_by_kind
            .entry(row.reason.kind().to_owned())
            .or_default() += 1;
        if self.rejected.len() < keep {
            self.rejected.push(row);
        }
    }

    /// Rows read per second.
    pub fn rows_per_second(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 {
            self.rows_read as f64 / seconds
        } else {
            0.0
        }
    }
}
