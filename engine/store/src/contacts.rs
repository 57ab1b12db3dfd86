//! Contact lists and contacts. A list has a default country (for phone numbers written
//! without `+`), a duplicate policy and its custom column names; a contact has custom
//! columns and several phone numbers, each kept as typed and in E.164. CSV imports are in
//! `import/`.

use crate::error::StoreError;
use crate::import::phone::{PhoneNormaliser, parse_country};
use crate::pool::{Store, with_pool};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use std::collections::{BTreeMap, HashSet};

/// Whether a list may hold the same phone number twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Duplicates {
    /// Any number of contacts may share a number.
    Allow,
    /// A contact whose number is already in the list is refused.
    Avoid,
}

impl Duplicates {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Duplicates::Allow => "allow",
            Duplicates::Avoid => "avoid",
        }
    }
    fn parse(text: &str) -> Result<Self, StoreError> {
        match text {
            "allow" => Ok(Duplicates::Allow),
            "avoid" => Ok(Duplicates::Avoid),
            other => Err(corrupt("duplicates", other)),
        }
    }
}

fn corrupt(field: &'static str, value: &str) -> StoreError {
    StoreError::Invalid {
        field,
        message: format!("unexpected `{value}` in the database"),
    }
}

/// A list to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewContactList {
    /// Unique name.
    pub name: String,
    /// ISO 3166 alpha-2 code (`BR`) for numbers written without a country code.
    pub default_country: String,
    /// Duplicate control.
    pub duplicates: Duplicates,
    /// Custom column names known up front (imports add theirs).
    pub columns: Vec<String>,
}

/// A contact list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ContactList {
    /// Id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// ISO 3166 alpha-2, upper case.
    pub default_country: String,
    /// Duplicate control.
    pub duplicates: Duplicates,
    /// Custom column names, in the order first seen.
    pub columns: Vec<String>,
    /// Created, Unix ms.
    pub created_at: i64,
}

/// One phone number of a contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Phone {
    /// As typed.
    pub raw: String,
    /// E.164 (`+5511987654321`).
    pub e164: String,
}

/// A contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Contact {
    /// Id.
    pub id: i64,
    /// Its list.
    pub list_id: i64,
    /// Custom columns.
    pub fields: BTreeMap<String, String>,
    /// Phone numbers, in column order.
    pub phones: Vec<Phone>,
    /// The import that brought it, if any.
    pub import_id: Option<i64>,
    /// The line of that import's file.
    pub source_line: Option<i64>,
    /// Created, Unix ms.
    pub created_at: i64,
}

/// A contact to add by hand.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewContact {
    /// Custom columns.
    pub fields: BTreeMap<String, String>,
    /// Phone numbers as typed (at least one).
    pub phones: Vec<String>,
}

/// Where an import stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ImportStatus {
    /// Still going (or its process died: nothing half-written is visible either way).
    Running,
    /// Done; see the counts.
    Finished,
    /// Stopped on an error, or an all-or-nothing import with bad rows (nothing written).
    Failed,
}

impl ImportStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ImportStatus::Running => "running",
            ImportStatus::Finished => "finished",
            ImportStatus::Failed => "failed",
        }
    }
    fn parse(text: &str) -> Result<Self, StoreError> {
        match text {
            "running" => Ok(ImportStatus::Running),
            "finished" => Ok(ImportStatus::Finished),
            "failed" => Ok(ImportStatus::Failed),
            other => Err(corrupt("status", other)),
        }
    }
}

/// The record of one import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ContactImport {
    /// Id.
    pub id: i64,
    /// The list.
    pub list_id: i64,
    /// Where the rows came from (a file name).
    pub source: String,
    /// `commit_good` or `all_or_nothing`.
    pub mode: String,
    /// Where it stands.
    pub status: ImportStatus,
    /// Data rows read so far.
    pub rows_read: i64,
    /// Rows written (committed).
    pub rows_imported: i64,
    /// Rows rejected.
    pub rows_rejected: i64,
    /// Why it failed.
    pub error: Option<String>,
    /// Started, Unix ms.
    pub started_at: i64,
    /// Last progress, Unix ms.
    pub updated_at: i64,
    /// Ended, Unix ms.
    pub finished_at: Option<i64>,
}

const LIST_COLUMNS: &str = "id, name, default_country, duplicates, columns, created_at";
const CONTACT_COLUMNS: &str = "id, list_id, fields, import_id, source_line, created_at";
const IMPORT_COLUMNS: &str = "id, list_id, source, mode, status, rows_read, rows_imported, \
     rows_rejected, error, started_at, updated_at, finished_at";

/// Reading rows on either backend.
trait RowLike {
    fn list(&self) -> Result<ContactList, StoreError>;
    fn contact(&self) -> Result<Contact, StoreError>;
    fn import(&self) -> Result<ContactImport, StoreError>;
    fn phone(&self) -> Result<(i64, Phone), StoreError>;
}

fn json<T: serde::de::DeserializeOwned>(field: &'static str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|error| StoreError::Invalid {
        field,
        message: format!("bad JSON in the database: {error}"),
    })
}

macro_rules! row_like {
    ($row:ty) => {
        impl RowLike for $row {
            fn list(&self) -> Result<ContactList, StoreError> {
                Ok(ContactList {
                    id: self.try_get("id")?,
                    name: self.try_get("name")?,
                    default_country: self.try_get("default_country")?,
                    duplicates: Duplicates::parse(self.try_get("duplicates")?)?,
                    columns: json("columns", self.try_get("columns")?)?,
                    created_at: self.try_get("created_at")?,
                })
            }
            fn contact(&self) -> Result<Contact, StoreError> {
                Ok(Contact {
                    id: self.try_get("id")?,
                    list_id: self.try_get("list_id")?,
                    fields: json("fields", self.try_get("fields")?)?,
                    phones: Vec::new(),
                    import_id: self.try_get("import_id")?,
                    source_line: self.try_get("source_line")?,
                    created_at: self.try_get("created_at")?,
                })
            }
            fn import(&self) -> Result<ContactImport, StoreError> {
                Ok(ContactImport {
                    id: self.try_get("id")?,
                    list_id: self.try_get("list_id")?,
                    source: self.try_get("source")?,
                    mode: self.try_get("mode")?,
                    status: ImportStatus::parse(self.try_get("status")?)?,
                    rows_read: self.try_get("rows_read")?,
                    rows_imported: self.try_get("rows_imported")?,
                    rows_rejected: self.try_get("rows_rejected")?,
                    error: self.try_get("error")?,
                    started_at: self.try_get("started_at")?,
                    updated_at: self.try_get("updated_at")?,
                    finished_at: self.try_get("finished_at")?,
                })
            }
            fn phone(&self) -> Result<(i64, Phone), StoreError> {
                Ok((
                    self.try_get("contact_id")?,
                    Phone {
                        raw: self.try_get("raw")?,
                        e164: self.try_get("e164")?,
                    },
                ))
            }
        }
    };
}
row_like!(sqlx::sqlite::SqliteRow);
row_like!(sqlx::postgres::PgRow);

fn invalid(field: &'static str, message: impl Into<String>) -> StoreError {
    StoreError::Invalid {
        field,
        message: message.into(),
    }
}

impl Store {
    /// Creates a contact list. The name must be new; the country a known ISO 3166 code.
    pub async fn create_contact_list(
        &self,
        list: &NewContactList,
        now_ms: i64,
    ) -> Result<ContactList, StoreError> {
        let name = list.name.trim();
        if name.is_empty() || name.len() > 200 {
            return Err(invalid("name", "a list needs a name of 1–200 characters"));
        }
        if parse_country(&list.default_country).is_none() {
            return Err(invalid(
                "default_country",
                format!(
                    "`{}` is not an ISO 3166 country code with a numbering plan (e.g. BR)",
                    list.default_country
                ),
            ));
        }
        let country = list.default_country.trim().to_ascii_uppercase();
        let mut columns: Vec<String> = Vec::new();
        for column in &list.columns {
            if !columns.contains(column) {
                columns.push(column.clone());
            }
        }
        let columns_json = serde_json::to_string(&columns)
            .map_err(|error| invalid("columns", error.to_string()))?;
        let id: i64 = with_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO contact_lists (name, default_country, duplicates, columns, created_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(name)
            .bind(&country)
            .bind(list.duplicates.as_str())
            .bind(&columns_json)
            .bind(now_ms)
            .fetch_one(pool)
            .await
            .map_err(|error| match StoreError::from(error) {
                StoreError::Conflict(_) => StoreError::Conflict(format!("a contact list named `{name}` exists")),
                other => other,
            })?
        });
        Ok(ContactList {
            id,
            name: name.to_owned(),
            default_country: country,
            duplicates: list.duplicates,
            columns,
            created_at: now_ms,
        })
    }

    /// Contact list `id`.
    pub async fn contact_list(&self, id: i64) -> Result<ContactList, StoreError> {
        with_pool!(self, pool => {
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {LIST_COLUMNS} FROM contact_lists WHERE id = $1")))
                .bind(id)
                .fetch_optional(pool)
                .await?
                .as_ref()
                .map(RowLike::list)
                .transpose()?
                .ok_or_else(|| StoreError::NotFound { entity: "contact list", id: id.to_string() })
        })
    }

    /// The contact list called `name`.
    pub async fn contact_list_named(&self, name: &str) -> Result<ContactList, StoreError> {
        with_pool!(self, pool => {
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {LIST_COLUMNS} FROM contact_lists WHERE name = $1")))
                .bind(name.trim())
                .fetch_optional(pool)
                .await?
                .as_ref()
                .map(RowLike::list)
                .transpose()?
                .ok_or_else(|| StoreError::NotFound { entity: "contact list", id: name.to_owned() })
        })
    }

    /// Every contact list, by name.
    pub async fn contact_lists(&self) -> Result<Vec<ContactList>, StoreError> {
        with_pool!(self, pool => {
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {LIST_COLUMNS} FROM contact_lists ORDER BY name")))
                .fetch_all(pool)
                .await?
                .iter()
                .map(RowLike::list)
                .collect()
        })
    }

    /// Adds one contact: its phones are normalised with the list's country, and under
    /// [`Duplicates::Avoid`] a number already in the list is a conflict.
    pub async fn add_contact(
        &self,
        list_id: i64,
        contact: &NewContact,
        now_ms: i64,
    ) -> Result<Contact, StoreError> {
        let list = self.contact_list(list_id).await?;
        let country = parse_country(&list.default_country)
            .ok_or_else(|| corrupt("default_country", &list.default_country))?;
        let normaliser = PhoneNormaliser::new(country);
        let mut phones: Vec<Phone> = Vec::new();
        for raw in contact.phones.iter().filter(|raw| !raw.trim().is_empty()) {
            let e164 = normaliser
                .normalise(raw)
                .map_err(|why| invalid("phones", format!("`{raw}` is {why}")))?;
            if !phones.iter().any(|phone| phone.e164 == e164) {
                phones.push(Phone {
                    raw: raw.trim().to_owned(),
                    e164,
                });
            }
        }
        if phones.is_empty() {
            return Err(invalid("phones", "a contact needs a phone number"));
        }
        let fields = serde_json::to_string(&contact.fields)
            .map_err(|error| invalid("fields", error.to_string()))?;
        let begin = match self.backend() {
            crate::Backend::Sqlite => "BEGIN IMMEDIATE",
            crate::Backend::Postgres => "BEGIN",
        };
        let id: i64 = with_pool!(self, pool => {
            let mut transaction = pool.begin_with(begin).await?;
            if self.backend() == crate::Backend::Postgres {
                // Serialises writers to this list (SQLite's IMMEDIATE already does).
                sqlx::query("SELECT id FROM contact_lists WHERE id = $1 FOR UPDATE")
                    .bind(list_id)
                    .execute(&mut *transaction)
                    .await?;
            }
            if list.duplicates == Duplicates::Avoid {
                for phone in &phones {
                    let taken: Option<i64> = sqlx::query_scalar(
                        "SELECT contact_id FROM contact_phones WHERE list_id = $1 AND e164 = $2 LIMIT 1",
                    )
                    .bind(list_id)
                    .bind(&phone.e164)
                    .fetch_optional(&mut *transaction)
                    .await?;
                    if taken.is_some() {
                        return Err(StoreError::Conflict(format!("{} is already in list `{}`", phone.e164, list.name)));
                    }
                }
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO contacts (list_id, fields, created_at) VALUES ($1, $2, $3) RETURNING id",
            )
            .bind(list_id)
            .bind(&fields)
            .bind(now_ms)
            .fetch_one(&mut *transaction)
            .await?;
            for (position, phone) in phones.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO contact_phones (contact_id, position, list_id, raw, e164) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(id)
                .bind(position as i64)
                .bind(list_id)
                .bind(&phone.raw)
                .bind(&phone.e164)
                .execute(&mut *transaction)
                .await?;
            }
            transaction.commit().await?;
            id
        });
        let new_columns: Vec<String> = contact.fields.keys().cloned().collect();
        self.add_list_columns(&list, &new_columns).await?;
        Ok(Contact {
            id,
            list_id,
            fields: contact.fields.clone(),
            phones,
            import_id: None,
            source_line: None,
            created_at: now_ms,
        })
    }

    /// Records column names the list did not know yet.
    pub(crate) async fn add_list_columns(
        &self,
        list: &ContactList,
        columns: &[String],
    ) -> Result<(), StoreError> {
        let Some(merged) = merged_columns(&list.columns, columns) else {
            return Ok(());
        };
        with_pool!(self, pool => {
            sqlx::query("UPDATE contact_lists SET columns = $2 WHERE id = $1")
                .bind(list.id)
                .bind(merged)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Up to `limit` contacts of a list with ids above `after_id`, by id (keyset paging:
    /// pass the last id seen).
    pub async fn contacts(
        &self,
        list_id: i64,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<Contact>, StoreError> {
        let limit = limit.clamp(0, 10_000);
        with_pool!(self, pool => {
            let mut contacts = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {CONTACT_COLUMNS} FROM contacts WHERE list_id = $1 AND id > $2 ORDER BY id LIMIT $3"
            )))
            .bind(list_id)
            .bind(after_id)
            .bind(limit)
            .fetch_all(pool)
            .await?
            .iter()
            .map(RowLike::contact)
            .collect::<Result<Vec<_>, _>>()?;
            if let (Some(first), Some(last)) = (contacts.first(), contacts.last()) {
                let phones = sqlx::query(
                    "SELECT contact_id, raw, e164 FROM contact_phones \
                     WHERE contact_id BETWEEN $1 AND $2 AND list_id = $3 ORDER BY contact_id, position",
                )
                .bind(first.id)
                .bind(last.id)
                .bind(list_id)
                .fetch_all(pool)
                .await?;
                attach_phones(&mut contacts, phones.iter().map(RowLike::phone))?;
            }
            Ok(contacts)
        })
    }

    /// How many contacts a list holds.
    pub async fn contact_count(&self, list_id: i64) -> Result<i64, StoreError> {
        with_pool!(self, pool => {
            Ok(sqlx::query_scalar("SELECT COUNT(*) FROM contacts WHERE list_id = $1")
                .bind(list_id)
                .fetch_one(pool)
                .await?)
        })
    }

    /// The contacts of a list with phone number `e164`.
    pub async fn contacts_with_phone(
        &self,
        list_id: i64,
        e164: &str,
    ) -> Result<Vec<Contact>, StoreError> {
        with_pool!(self, pool => {
            let mut contacts = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {CONTACT_COLUMNS} FROM contacts WHERE id IN \
                 (SELECT contact_id FROM contact_phones WHERE list_id = $1 AND e164 = $2) ORDER BY id"
            )))
            .bind(list_id)
            .bind(e164)
            .fetch_all(pool)
            .await?
            .iter()
            .map(RowLike::contact)
            .collect::<Result<Vec<_>, _>>()?;
            for contact in &mut contacts {
                let phones = sqlx::query(
                    "SELECT contact_id, raw, e164 FROM contact_phones WHERE contact_id = $1 ORDER BY position",
                )
                .bind(contact.id)
                .fetch_all(pool)
                .await?;
                contact.phones = phones.iter().map(|row| row.phone().map(|(_, phone)| phone)).collect::<Result<_, _>>()?;
            }
            Ok(contacts)
        })
    }

    /// Import `id`.
    pub async fn contact_import(&self, id: i64) -> Result<ContactImport, StoreError> {
        with_pool!(self, pool => {
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {IMPORT_COLUMNS} FROM contact_imports WHERE id = $1")))
                .bind(id)
                .fetch_optional(pool)
                .await?
                .as_ref()
                .map(RowLike::import)
                .transpose()?
                .ok_or_else(|| StoreError::NotFound { entity: "contact import", id: id.to_string() })
        })
    }

    /// The imports into a list, newest first.
    pub async fn contact_imports(&self, list_id: i64) -> Result<Vec<ContactImport>, StoreError> {
        with_pool!(self, pool => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {IMPORT_COLUMNS} FROM contact_imports WHERE list_id = $1 ORDER BY id DESC"
            )))
            .bind(list_id)
            .fetch_all(pool)
            .await?
            .iter()
            .map(RowLike::import)
            .collect()
        })
    }
}

/// `known` followed by the names in `more` it lacks, as JSON; `None` when nothing is new.
pub(crate) fn merged_columns(known: &[String], more: &[String]) -> Option<String> {
    let seen: HashSet<&String> = known.iter().collect();
    let mut added = false;
    let mut merged = known.to_vec();
    for column in more {
        if !seen.contains(column) && !merged.contains(column) {
            merged.push(column.clone());
            added = true;
        }
    }
    if added {
        serde_json::to_string(&merged).ok()
    } else {
        None
    }
}

fn attach_phones(
    contacts: &mut [Contact],
    phones: impl Iterator<Item = Result<(i64, Phone), StoreError>>,
) -> Result<(), StoreError> {
    let mut index = 0;
    for phone in phones {
        let (contact_id, phone) = phone?;
        while index < contacts.len() && contacts[index].id < contact_id {
            index += 1;
        }
        if let Some(contact) = contacts.get_mut(index).filter(|c| c.id == contact_id) {
            contact.phones.push(phone);
        }
    }
    Ok(())
}
