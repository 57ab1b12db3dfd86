//! Custom node modules: WebAssembly components stored by the SHA-256 of their bytes, with
//! the name, version and description their `describe()` returned at upload. A
//! (name, version) pair is immutable once stored — flows pin it.

use crate::error::StoreError;
use crate::pool::{Store, with_pool};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::Row;

/// The largest module accepted, in bytes.
pub const MAX_MODULE_BYTES: usize = 16 << 20;

/// A module to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewNodeModule {
    /// SHA-256 of `wasm`, lowercase hex (checked).
    pub hash: String,
    /// Name from `describe()`.
    pub name: String,
    /// Version from `describe()`.
    pub version: String,
    /// `describe()`'s whole answer as JSON.
    pub description: Value,
    /// The component's bytes.
    pub wasm: Vec<u8>,
}

/// A stored module, without its bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeModule {
    /// SHA-256 of the bytes, hex.
    pub hash: String,
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// What `describe()` returned (name, version, description, params schema, ports).
    pub description: Value,
    /// Size of the component in bytes.
    pub size: i64,
    /// When it was stored, Unix ms.
    pub created_at: i64,
    /// Who stored it.
    pub created_by: Option<i64>,
}

fn module_of<R: Row>(row: &R) -> Result<NodeModule, StoreError>
where
    for<'r> &'r str: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let description: String = row.try_get("description")?;
    Ok(NodeModule {
        hash: row.try_get("hash")?,
        name: row.try_get("name")?,
        version: row.try_get("version")?,
        description: serde_json::from_str(&description).map_err(|error| StoreError::Invalid {
            field: "description",
            message: format!("stored description is not JSON: {error}"),
        })?,
        size: row.try_get("size")?,
        created_at: row.try_get("created_at")?,
        created_by: row.try_get("created_by")?,
    })
}

fn check(module: &NewNodeModule) -> Result<(), StoreError> {
    let invalid = |field: &'static str, message: &str| {
        Err(StoreError::Invalid {
            field,
            message: message.to_owned(),
        })
    };
    if module.hash.len() != 64
        || !module
            .hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return invalid("hash", "a SHA-256 in lowercase hex");
    }
    if module.name.is_empty() || module.name.len() > 64 {
        return invalid("name", "1 to 64 characters");
    }
    if module.version.is_empty() || module.version.len() > 32 {
        return invalid("version", "1 to 32 characters");
    }
    if module.wasm.is_empty() || module.wasm.len() > MAX_MODULE_BYTES {
        return invalid("wasm", "1 byte to 16 MiB");
    }
    Ok(())
}

/// The `SELECT` of every column but the bytes, then `$tail` (a literal: the SQL is static).
macro_rules! select_module {
    ($extra:literal, $tail:literal) => {
        concat!(
            "SELECT hash, name, version, description, size, created_at, created_by",
            $extra,
            " FROM node_modules ",
            $tail
        )
    };
}

impl Store {
    /// Stores a module (audited as done `by` that user). Storing the same bytes again
    /// returns the stored module; another module with the same name and version is a
    /// conflict.
    pub async fn add_node_module(
        &self,
        module: &NewNodeModule,
        by: Option<i64>,
        now_ms: i64,
    ) -> Result<NodeModule, StoreError> {
        check(module)?;
        if let Some(existing) = self.node_module_by_hash(&module.hash).await? {
            return Ok(existing);
        }
        let size = i64::try_from(module.wasm.len()).unwrap_or(i64::MAX);
        let inserted = with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO node_modules (hash, name, version, description, wasm, size, created_at, created_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&module.hash)
            .bind(&module.name)
            .bind(&module.version)
            .bind(module.description.to_string())
            .bind(&module.wasm)
            .bind(size)
            .bind(now_ms)
            .bind(by)
            .execute(pool)
            .await
            .map(|_| ())
        });
        match inserted {
            Ok(_) => {}
            Err(error) => {
                return Err(match StoreError::from(error) {
                    StoreError::Conflict(_) => StoreError::Conflict(format!(
                        "node module {} version {} is already installed with other contents",
                        module.name, module.version
                    )),
                    other => other,
                });
            }
        }
        self.audit(
            by,
            "add-node-module",
            "node-module",
            &format!("{}@{}", module.name, module.version),
            Some(&module.hash),
            now_ms,
        )
        .await?;
        self.node_module_by_hash(&module.hash)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                entity: "node module",
                id: module.hash.clone(),
            })
    }

    /// Every module, by name then version (newest first within a name).
    pub async fn node_modules(&self) -> Result<Vec<NodeModule>, StoreError> {
        with_pool!(self, pool => {
            sqlx::query(select_module!("", "ORDER BY name, created_at DESC, version"))
                .fetch_all(pool)
                .await?
                .iter()
                .map(module_of)
                .collect()
        })
    }

    /// A module by its hash.
    pub async fn node_module_by_hash(&self, hash: &str) -> Result<Option<NodeModule>, StoreError> {
        with_pool!(self, pool => {
            sqlx::query(select_module!("", "WHERE hash = $1"))
                .bind(hash)
                .fetch_optional(pool)
                .await?
                .as_ref()
                .map(module_of)
                .transpose()
        })
    }

    /// A module and its bytes, by the name and version a flow pins.
    pub async fn node_module_wasm(
        &self,
        name: &str,
        version: &str,
    ) -> Result<(NodeModule, Vec<u8>), StoreError> {
        with_pool!(self, pool => {
            let row = sqlx::query(select_module!(", wasm", "WHERE name = $1 AND version = $2"))
                .bind(name)
                .bind(version)
                .fetch_optional(pool)
                .await?
                .ok_or_else(|| StoreError::NotFound {
                    entity: "node module",
                    id: format!("{name}@{version}"),
                })?;
            let wasm: Vec<u8> = row.try_get("wasm")?;
            Ok((module_of(&row)?, wasm))
        })
    }
}
