//! API tokens for integrations. The caller generates a random token, shows it once and
//! hands the store only its SHA-256 (hex): a leaked database holds no usable token. A token
//! acts as its user, with its own role, never more than the user's current role.

use crate::error::StoreError;
use crate::pool::{Store, with_pool};
use crate::users::{Role, User};
use serde::{Deserialize, Serialize};
use sqlx::Row;

/// `last_used_at` is written at most this often per token, so a busy integration does not
/// turn every request into a write.
pub const LAST_USED_RESOLUTION_MS: i64 = 60_000;

/// An API token as listed (never with its hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ApiToken {
    /// Id.
    pub id: i64,
    /// What it is for (`crm`, `reports`, …).
    pub name: String,
    /// The user it acts as.
    pub user_id: i64,
    /// That user's login name.
    pub username: String,
    /// The role it acts with.
    pub role: Role,
    /// Created, Unix ms.
    pub created_at: i64,
    /// Created by.
    pub created_by: Option<i64>,
    /// Last used, Unix ms (to a resolution of [`LAST_USED_RESOLUTION_MS`]).
    pub last_used_at: Option<i64>,
    /// Revoked, Unix ms; a revoked token authenticates nobody.
    pub revoked_at: Option<i64>,
}

/// A token to create.
#[derive(Debug, Clone)]
pub struct NewApiToken {
    /// What it is for: 1–100 characters.
    pub name: String,
    /// The user it acts as.
    pub user_id: i64,
    /// The role it acts with; at most the user's.
    pub role: Role,
    /// The SHA-256 of the token, 64 lowercase hex digits.
    pub token_hash: String,
}

/// Who a presented token acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenIdentity {
    /// The token.
    pub token_id: i64,
    /// Its user.
    pub user: User,
    /// The effective role: the token's, lowered to the user's if the user's is lower.
    pub role: Role,
}

fn rank(role: Role) -> u8 {
    match role {
        Role::Agent => 1,
        Role::Supervisor => 2,
        Role::Admin => 3,
    }
}

fn role_from(text: &str) -> Result<Role, StoreError> {
    match text {
        "admin" => Ok(Role::Admin),
        "supervisor" => Ok(Role::Supervisor),
        "agent" => Ok(Role::Agent),
        other => Err(StoreError::Invalid {
            field: "role",
            message: format!("unknown role `{other}` in the database"),
        }),
    }
}

fn check_new(token: &NewApiToken) -> Result<(), StoreError> {
    let name = token.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(StoreError::Invalid {
            field: "name",
            message: "1–100 characters".into(),
        });
    }
    let hash = &token.token_hash;
    if hash.len() != 64
        || !hash
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    {
        return Err(StoreError::Invalid {
            field: "token_hash",
            message: "the SHA-256 of the token, as 64 lowercase hex digits".into(),
        });
    }
    Ok(())
}

/// The listing query, up to its `WHERE`/`ORDER BY`.
macro_rules! select_tokens {
    () => {
        "SELECT t.id, t.name, t.user_id, u.username, t.role, t.created_at, t.created_by, \
         t.last_used_at, t.revoked_at FROM api_tokens t JOIN users u ON u.id = t.user_id"
    };
}

/// Reading a token row on either backend.
trait TokenRow {
    fn token(&self) -> Result<ApiToken, StoreError>;
}

macro_rules! token_row {
    ($row:ty) => {
        impl TokenRow for $row {
            fn token(&self) -> Result<ApiToken, StoreError> {
                Ok(ApiToken {
                    id: self.try_get("id")?,
                    name: self.try_get("name")?,
                    user_id: self.try_get("user_id")?,
                    username: self.try_get("username")?,
                    role: role_from(&self.try_get::<String, _>("role")?)?,
                    created_at: self.try_get("created_at")?,
                    created_by: self.try_get("created_by")?,
                    last_used_at: self.try_get("last_used_at")?,
                    revoked_at: self.try_get("revoked_at")?,
                })
            }
        }
    };
}
token_row!(sqlx::sqlite::SqliteRow);
token_row!(sqlx::postgres::PgRow);

impl Store {
    /// Creates a token acting as `token.user_id` with `token.role`, which may not exceed the
    /// user's role. The same hash twice is a conflict.
    pub async fn create_token(
        &self,
        token: &NewApiToken,
        by: Option<i64>,
        now_ms: i64,
    ) -> Result<ApiToken, StoreError> {
        check_new(token)?;
        let user_role: Option<String> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT role FROM users WHERE id = $1")
                .bind(token.user_id)
                .fetch_optional(pool)
                .await?
        });
        let user_role = user_role.ok_or_else(|| StoreError::NotFound {
            entity: "user",
            id: token.user_id.to_string(),
        })?;
        if rank(token.role) > rank(role_from(&user_role)?) {
            return Err(StoreError::Invalid {
                field: "role",
                message: format!(
                    "a token may not act with more than its user's role ({user_role})"
                ),
            });
        }
        let name = token.name.trim();
        let id: i64 = with_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO api_tokens (name, user_id, role, token_hash, created_at, created_by) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(name)
            .bind(token.user_id)
            .bind(token.role.as_str())
            .bind(&token.token_hash)
            .bind(now_ms)
            .bind(by)
            .fetch_one(pool)
            .await?
        });
        self.audit(
            by,
            "create",
            "api-token",
            &id.to_string(),
            Some(name),
            now_ms,
        )
        .await?;
        self.token(id).await
    }

    /// The token `id`.
    pub async fn token(&self, id: i64) -> Result<ApiToken, StoreError> {
        let found = with_pool!(self, pool => {
            sqlx::query(concat!(select_tokens!(), " WHERE t.id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?
                .map(|row| row.token())
                .transpose()?
        });
        found.ok_or_else(|| StoreError::NotFound {
            entity: "api token",
            id: id.to_string(),
        })
    }

    /// Every token, revoked ones included, oldest first.
    pub async fn tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        with_pool!(self, pool => {
            sqlx::query(concat!(select_tokens!(), " ORDER BY t.id"))
                .fetch_all(pool)
                .await?
                .iter()
                .map(TokenRow::token)
                .collect()
        })
    }

    /// Who the token with SHA-256 `token_hash` acts as, unless it is unknown or revoked.
    /// Records the use (see [`LAST_USED_RESOLUTION_MS`]).
    pub async fn token_identity(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<Option<TokenIdentity>, StoreError> {
        let found = with_pool!(self, pool => {
            sqlx::query(
                "SELECT t.id AS token_id, t.role AS token_role, u.id, u.username, u.display_name, \
                 u.role, u.created_at FROM api_tokens t JOIN users u ON u.id = t.user_id \
                 WHERE t.token_hash = $1 AND t.revoked_at IS NULL",
            )
            .bind(token_hash)
            .fetch_optional(pool)
            .await?
            .map(|row| -> Result<TokenIdentity, StoreError> {
                let user = User {
                    id: row.try_get("id")?,
                    username: row.try_get("username")?,
                    display_name: row.try_get("display_name")?,
                    role: role_from(&row.try_get::<String, _>("role")?)?,
                    created_at: row.try_get("created_at")?,
                };
                let token_role = role_from(&row.try_get::<String, _>("token_role")?)?;
                let role = if rank(token_role) <= rank(user.role) { token_role } else { user.role };
                Ok(TokenIdentity { token_id: row.try_get("token_id")?, user, role })
            })
            .transpose()?
        });
        if let Some(identity) = &found {
            with_pool!(self, pool => {
                sqlx::query(
                    "UPDATE api_tokens SET last_used_at = $2 \
                     WHERE id = $1 AND (last_used_at IS NULL OR last_used_at <= $3)",
                )
                .bind(identity.token_id)
                .bind(now_ms)
                .bind(now_ms - LAST_USED_RESOLUTION_MS)
                .execute(pool)
                .await?;
            });
        }
        Ok(found)
    }

    /// Revokes token `id` for good. Revoking a revoked token changes nothing.
    pub async fn revoke_token(
        &self,
        id: i64,
        by: Option<i64>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let changed = with_pool!(self, pool => {
            sqlx::query("UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                .bind(id)
                .bind(now_ms)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if changed == 0 {
            // Unknown (an error) or already revoked (nothing to do).
            self.token(id).await?;
            return Ok(());
        }
        self.audit(by, "revoke", "api-token", &id.to_string(), None, now_ms)
            .await
    }
}
