//! `/api/contact-lists` (supervisor and admin): contact lists, their contacts (keyset
//! pages, or found by phone) and CSV imports.
//!
//! `POST /api/contact-lists/{id}/imports` streams the request body into the store's
//! import: a task forwards body chunks through a channel of [`IMPORT_CHANNEL_CHUNKS`], and
//! the import's reading thread pulls from it, so memory stays flat whatever the file's
//! size, and a slow database slows the upload instead of buffering it. At most
//! [`MAX_IMPORT_BYTES`] are read.

use super::body::{JsonBody, Page, PageQuery};
use super::{ApiError, AppState, CurrentUser, now_ms};
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use http_body_util::BodyExt;
use ramal_store::{
    ColumnTarget, Contact, ContactImport, ContactList, Duplicates, ImportError, ImportMode,
    ImportOptions, ImportReport, NewContact, NewContactList, TextEncoding,
};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::{self, Read};

/// The largest CSV an import reads.
pub const MAX_IMPORT_BYTES: u64 = 2 * 1024 * 1024 * 1024;
/// Body chunks in flight between the upload and the import.
pub const IMPORT_CHANNEL_CHUNKS: usize = 4;

/// The body of `POST /api/contact-lists`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewList {
    /// Unique name.
    pub name: String,
    /// ISO 3166 alpha-2 code for numbers written without a country code (`BR`).
    pub default_country: String,
    /// Duplicate control (default: allow).
    #[serde(default)]
    pub duplicates: Option<Duplicates>,
    /// Custom column names known up front.
    #[serde(default)]
    pub columns: Vec<String>,
}

/// The body of `POST /api/contact-lists/{id}/contacts`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewContactBody {
    /// Custom columns.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// Phone numbers as typed (at least one).
    pub phones: Vec<String>,
}

/// `GET /api/contact-lists`.
pub(super) async fn lists(
    State(state): State<AppState>,
) -> Result<Json<Vec<ContactList>>, ApiError> {
    Ok(Json(state.store.contact_lists().await?))
}

/// `POST /api/contact-lists`.
pub(super) async fn create_list(
    State(state): State<AppState>,
    user: CurrentUser,
    JsonBody(list): JsonBody<NewList>,
) -> Result<(StatusCode, Json<ContactList>), ApiError> {
    let new = NewContactList {
        name: list.name,
        default_country: list.default_country,
        duplicates: list.duplicates.unwrap_or(Duplicates::Allow),
        columns: list.columns,
    };
    let created = state.store.create_contact_list(&new, now_ms()).await?;
    tracing::info!(by = user.id, list = created.id, "contact list created");
    Ok((StatusCode::CREATED, Json(created)))
}

/// `GET /api/contact-lists/{id}`.
pub(super) async fn get_list(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<ContactList>, ApiError> {
    Ok(Json(state.store.contact_list(id).await?))
}

/// `?after=&limit=&phone=`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ContactQuery {
    #[serde(default)]
    after: i64,
    #[serde(default)]
    limit: Option<i64>,
    #[serde(default)]
    phone: Option<String>,
}

/// `GET /api/contact-lists/{id}/contacts?after=&limit=&phone=`: by id, or those with a
/// phone number (typed any way the list's country understands).
pub(super) async fn contacts(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(query): Query<ContactQuery>,
) -> Result<Json<Page<Contact>>, ApiError> {
    let page = PageQuery {
        after: query.after,
        limit: query.limit,
    };
    let limit = page.limit()?;
    let items = match &query.phone {
        Some(phone) => {
            let mut found = state.store.find_contacts_by_phone(id, phone).await?;
            found.retain(|contact| contact.id > page.after);
            found.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
            found
        }
        None => {
            state.store.contact_list(id).await?;
            state.store.contacts(id, page.after, limit).await?
        }
    };
    Ok(Json(Page::new(items, limit, |contact| contact.id)))
}

/// `POST /api/contact-lists/{id}/contacts`.
pub(super) async fn add_contact(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    JsonBody(contact): JsonBody<NewContactBody>,
) -> Result<(StatusCode, Json<Contact>), ApiError> {
    let new = NewContact {
        fields: contact.fields,
        phones: contact.phones,
    };
    Ok((
        StatusCode::CREATED,
        Json(state.store.add_contact(id, &new, now_ms()).await?),
    ))
}

/// `GET /api/contact-lists/{id}/imports`: newest first.
pub(super) async fn imports(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<Vec<ContactImport>>, ApiError> {
    state.store.contact_list(id).await?;
    Ok(Json(state.store.contact_imports(id).await?))
}

/// The query of an import.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// A name for the file, kept with the import (default `upload.csv`).
    #[serde(default)]
    pub source: Option<String>,
    /// `commit-good` (default: write the good rows, report the bad) or `all-or-nothing`.
    #[serde(default)]
    pub mode: Option<String>,
    /// `auto` (default), `utf-8` or `latin-1`.
    #[serde(default)]
    pub encoding: Option<String>,
    /// One character; default: detected among `,` `;` tab `|`.
    #[serde(default)]
    pub delimiter: Option<String>,
    /// Comma-separated header names that are phone numbers (default: detected by name).
    #[serde(default)]
    pub phones: Option<String>,
    /// Comma-separated header names to skip.
    #[serde(default)]
    pub ignore: Option<String>,
    /// ISO 3166 code for numbers without a country code (default: the list's).
    #[serde(default)]
    pub country: Option<String>,
}

fn bad_query(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::BadRequest {
        code,
        message: message.into(),
    }
}

fn options(query: ImportQuery) -> Result<ImportOptions, ApiError> {
    let mut options = ImportOptions {
        source: query.source.unwrap_or_else(|| "upload.csv".into()),
        country: query.country,
        ..ImportOptions::default()
    };
    options.mode = match query.mode.as_deref() {
        None | Some("commit-good") => ImportMode::CommitGood,
        Some("all-or-nothing") => ImportMode::AllOrNothing,
        Some(other) => return Err(bad_query("query.mode", format!("unknown mode `{other}`"))),
    };
    options.encoding = match query.encoding.as_deref() {
        None | Some("auto") => TextEncoding::Auto,
        Some("utf-8") => TextEncoding::Utf8,
        Some("latin-1") => TextEncoding::Latin1,
        Some(other) => {
            return Err(bad_query(
                "query.encoding",
                format!("unknown encoding `{other}`"),
            ));
        }
    };
    options.delimiter = match query.delimiter.as_deref() {
        None => None,
        Some("\\t" | "tab") => Some(b'\t'),
        Some(one) if one.len() == 1 && one != "\"" => one.bytes().next(),
        Some(other) => {
            return Err(bad_query(
                "query.delimiter",
                format!("`{other}` is not one character"),
            ));
        }
    };
    let names = |list: Option<String>| -> Vec<String> {
        list.unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_owned)
            .collect()
    };
    for name in names(query.phones) {
        options.columns.push((name, ColumnTarget::Phone));
    }
    for name in names(query.ignore) {
        options.columns.push((name, ColumnTarget::Ignore));
    }
    Ok(options)
}

/// A blocking reader over body chunks sent by the upload task (used on the import's
/// reading thread, never on the runtime).
struct ChannelReader {
    chunks: tokio::sync::mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(error)) => return Err(error),
                None => return Ok(0),
            }
        }
        let count = buffer.len().min(self.current.len());
        buffer[..count].copy_from_slice(&self.current.split_to(count));
        Ok(count)
    }
}

/// Forwards `body` into `sender`, chunk by chunk, stopping after `max` bytes.
async fn pump(mut body: Body, sender: tokio::sync::mpsc::Sender<io::Result<Bytes>>, max: u64) {
    let mut total: u64 = 0;
    loop {
        let item = match body.frame().await {
            None => return,
            Some(Err(error)) => Err(io::Error::other(format!("the upload failed: {error}"))),
            Some(Ok(frame)) => match frame.into_data() {
                Err(_) => continue,
                Ok(data) => {
                    total += data.len() as u64;
                    if total > max {
                        Err(io::Error::other(format!(
                            "the file is larger than {max} bytes"
                        )))
                    } else {
                        Ok(data)
                    }
                }
            },
        };
        let stop = item.is_err();
        if sender.send(item).await.is_err() || stop {
            return;
        }
    }
}

/// `POST /api/contact-lists/{id}/imports?…` with the CSV as the body: imports it,
/// streaming, and answers with the report (every rejected row counted, the first listed
/// with line and reason).
pub(super) async fn import(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(query): Query<ImportQuery>,
    body: Body,
) -> Result<Json<ImportReport>, ApiError> {
    let options = options(query)?;
    state.store.contact_list(id).await?;
    let (sender, receiver) = tokio::sync::mpsc::channel(IMPORT_CHANNEL_CHUNKS);
    let upload = tokio::spawn(pump(body, sender, MAX_IMPORT_BYTES));
    let reader = ChannelReader {
        chunks: receiver,
        current: Bytes::new(),
    };
    let result = state
        .store
        .import_contacts(id, reader, options, now_ms(), &mut |_| {})
        .await;
    upload.abort();
    let report = result.map_err(|error| match error {
        ImportError::File(error) => ApiError::Unprocessable {
            code: "import.file",
            message: error.to_string(),
            diagnostics: Vec::new(),
        },
        ImportError::Header(message) => ApiError::Unprocessable {
            code: "import.header",
            message,
            diagnostics: Vec::new(),
        },
        ImportError::Store(error) => error.into(),
        other => ApiError::Internal(other.to_string()),
    })?;
    tracing::info!(
        by = user.id,
        list = id,
        import = report.import_id,
        rows = report.rows_read,
        imported = report.rows_imported,
        rejected = report.rows_rejected,
        "contacts imported"
    );
    Ok(Json(report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_channel_reader_returns_chunks_in_order_then_the_end() {
        let (sender, receiver) = tokio::sync::mpsc::channel(4);
        for chunk in ["nome,", "telefone\n", "Ana,1198"] {
            sender
                .try_send(Ok(Bytes::from(chunk)))
                .expect("room in the channel");
        }
        drop(sender);
        let mut reader = ChannelReader {
            chunks: receiver,
            current: Bytes::new(),
        };
        let mut text = String::new();
        reader.read_to_string(&mut text).expect("reads to the end");
        assert_eq!(text, "nome,telefone\nAna,1198");
    }
}
