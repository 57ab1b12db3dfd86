//! Users and their roles.

use crate::error::StoreError;
use crate::password;
use crate::pool::{Store, with_pool};
use serde::{Deserialize, Serialize};
use sqlx::Row;

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including users.
    Admin,
    /// Flows, campaigns, queues, reports; not users.
    Supervisor,
    /// Their own calls and dispositions.
    Agent,
}

impl Role {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Supervisor => "supervisor",
            Role::Agent => "agent",
        }
    }
    fn parse(text: &str) -> Result<Role, StoreError> {
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
}

/// A user (never with the password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct User {
    /// Id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Shown name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Created, Unix ms.
    pub created_at: i64,
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Login name: 3–64 of a–z, 0–9, `.`, `_`, `-`.
    pub username: String,
    /// Shown name.
    pub display_name: String,
    /// Plain password (hashed with argon2 before it is stored).
    pub password: String,
    /// Role.
    pub role: Role,
}

fn check_username(username: &str) -> Result<(), StoreError> {
    let ok = (3..=64).contains(&username.len())
        && username
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid {
            field: "username",
            message: "3–64 characters of a–z, 0–9, `.`, `_`, `-`".into(),
        })
    }
}

impl Store {
    /// Creates a user; a taken username is a conflict.
    pub async fn create_user(&self, user: &NewUser, now_ms: i64) -> Result<User, StoreError> {
        check_username(&user.username)?;
        let hash = password::hash_blocking(&user.password).await?;
        let id: i64 = with_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO users (username, display_name, password_hash, role, created_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(&user.username)
            .bind(&user.display_name)
            .bind(&hash)
            .bind(user.role.as_str())
            .bind(now_ms)
            .fetch_one(pool)
            .await
        })
        .map_err(|error| match StoreError::from(error) {
            StoreError::Conflict(_) => {
                StoreError::Conflict(format!("the username `{}` is taken", user.username))
            }
            other => other,
        })?;
        self.audit(Some(id), "create", "user", &id.to_string(), None, now_ms)
            .await?;
        Ok(User {
            id,
            username: user.username.clone(),
            display_name: user.display_name.clone(),
            role: user.role,
            created_at: now_ms,
        })
    }

    /// The user with `username` if `password` is theirs. Unknown users and wrong passwords
    /// look the same to the caller.
    pub async fn authenticate(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<User>, StoreError> {
        let row = with_pool!(self, pool => {
            sqlx::query("SELECT id, username, display_name, password_hash, role, created_at FROM users WHERE username = $1")
                .bind(username)
                .fetch_optional(pool)
                .await?
                .map(|row| -> Result<(User, String), StoreError> {
                    Ok((
                        User {
                            id: row.try_get("id")?,
                            username: row.try_get("username")?,
                            display_name: row.try_get("display_name")?,
                            role: Role::parse(&row.try_get::<String, _>("role")?)?,
                            created_at: row.try_get("created_at")?,
                        },
                        row.try_get("password_hash")?,
                    ))
                })
                .transpose()?
        });
        match row {
            Some((user, hash)) => Ok(password::verify_blocking(password, hash)
                .await?
                .then_some(user)),
            None => Ok(None),
        }
    }

    /// Every user, by username.
    pub async fn users(&self) -> Result<Vec<User>, StoreError> {
        with_pool!(self, pool => {
            sqlx::query("SELECT id, username, display_name, role, created_at FROM users ORDER BY username")
                .fetch_all(pool)
                .await?
                .into_iter()
                .map(|row| {
                    Ok(User {
                        id: row.try_get("id")?,
                        username: row.try_get("username")?,
                        display_name: row.try_get("display_name")?,
                        role: Role::parse(&row.try_get::<String, _>("role")?)?,
                        created_at: row.try_get("created_at")?,
                    })
                })
                .collect()
        })
    }
}
