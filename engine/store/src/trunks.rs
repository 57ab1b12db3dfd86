//! Trunks: outbound routes to a SIP provider — where to send calls, how to authenticate,
//! the caller ID and how numbers are rewritten before dialling.
//!
//! The password is stored because the SIP client answers digest challenges with it (HA1
//! depends on the realm the provider sends, so a hash cannot be kept instead). It is
//! never part of [`Trunk`]; only [`Store::trunk_credentials`] reads it, for the SIP
//! client.

use crate::error::StoreError;
use crate::pool::{Store, with_pool};
use crate::validation::Checker;
use serde::{Deserialize, Serialize};
use sqlx::Row;

/// The SIP transport of a trunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// SIP over UDP.
    Udp,
    /// SIP over TCP.
    Tcp,
}

impl Transport {
    fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
        }
    }
    fn parse(text: &str) -> Result<Transport, StoreError> {
        match text {
            "udp" => Ok(Transport::Udp),
            "tcp" => Ok(Transport::Tcp),
            other => Err(crate::validation::corrupt("transport", other)),
        }
    }
}

/// How a number is rewritten before it is sent to the trunk; rules apply in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum RewriteRule {
    /// Removes `prefix` when the number starts with it.
    StripPrefix {
        /// What to remove.
        prefix: String,
    },
    /// Puts `prefix` in front of the number.
    AddPrefix {
        /// What to add.
        prefix: String,
    },
    /// Replaces the first match of `pattern` with `replacement` (`$1` for groups).
    Regex {
        /// A regular expression (Rust `regex` syntax).
        pattern: String,
        /// The replacement.
        replacement: String,
    },
}

/// Applies `rules` to `number`, in order. Patterns are checked when a trunk is saved; one
/// that fails to compile here (it cannot) leaves the number as it is.
pub fn rewrite_number(rules: &[RewriteRule], number: &str) -> String {
    let mut number = number.to_owned();
    for rule in rules {
        match rule {
            RewriteRule::StripPrefix { prefix } => {
                if let Some(rest) = number.strip_prefix(prefix.as_str()) {
                    number = rest.to_owned();
                }
            }
            RewriteRule::AddPrefix { prefix } => number = format!("{prefix}{number}"),
            RewriteRule::Regex {
                pattern,
                replacement,
            } => {
                if let Ok(regex) = compile_rule(pattern) {
                    number = regex.replace(&number, replacement.as_str()).into_owned();
                }
            }
        }
    }
    number
}

fn compile_rule(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(pattern)
        .size_limit(64 * 1024)
        .build()
}

/// A trunk to create or the new state of one (`PUT`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrunkSpec {
    /// Unique name.
    pub name: String,
    /// The provider's host name or address.
    pub host: String,
    /// Its SIP port (default 5060).
    #[serde(default = "default_port")]
    pub port: u32,
    /// `udp` (default) or `tcp`.
    #[serde(default = "default_transport")]
    pub transport: Transport,
    /// The digest username, if the provider asks for one.
    #[serde(default)]
    pub username: Option<String>,
    /// The digest password. Never returned. On an update, absent keeps the stored one and
    /// `""` removes it.
    #[serde(default)]
    pub password: Option<String>,
    /// The caller ID sent when a campaign sets none.
    #[serde(default)]
    pub caller_id: Option<String>,
    /// Number rewrite rules, applied in order.
    #[serde(default)]
    pub rewrite_rules: Vec<RewriteRule>,
}

fn default_port() -> u32 {
    5060
}

fn default_transport() -> Transport {
    Transport::Udp
}

/// A trunk, as the API shows it (without its password).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Trunk {
    /// Id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Host.
    pub host: String,
    /// Port.
    pub port: u32,
    /// Transport.
    pub transport: Transport,
    /// Digest username.
    pub username: Option<String>,
    /// Whether a password is stored (it is never shown).
    pub has_password: bool,
    /// Default caller ID.
    pub caller_id: Option<String>,
    /// Number rewrite rules.
    pub rewrite_rules: Vec<RewriteRule>,
    /// Created, Unix ms.
    pub created_at: i64,
    /// Last changed, Unix ms.
    pub updated_at: i64,
}

/// What the SIP client needs to authenticate on a trunk.
#[derive(Clone, PartialEq, Eq)]
pub struct TrunkCredentials {
    /// Digest username.
    pub username: String,
    /// Digest password.
    pub password: String,
}

impl std::fmt::Debug for TrunkCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrunkCredentials")
            .field("username", &self.username)
            .field("password", &"<hidden>")
            .finish()
    }
}

fn check(spec: &TrunkSpec) -> Result<(), StoreError> {
    let mut checker = Checker::new();
    checker.name("name", &spec.name, 100);
    let host = spec.host.trim();
    if host.is_empty() {
        checker.fail("host", "required", "must not be empty");
    } else if host.len() > 253
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
    {
        checker.fail(
            "host",
            "format",
            "a host name, IPv4 address or [IPv6] address",
        );
    }
    checker.range("port", spec.port, 1, 65535);
    checker.optional("username", spec.username.as_deref(), 128);
    checker.optional("password", spec.password.as_deref(), 256);
    if spec.password.as_deref().is_some_and(|p| !p.is_empty())
        && spec.username.as_deref().is_none_or(|u| u.trim().is_empty())
    {
        checker.fail("username", "required", "a password needs a username");
    }
    if let Some(caller_id) = &spec.caller_id {
        checker.caller_id("caller_id", caller_id);
    }
    if spec.rewrite_rules.len() > 20 {
        checker.fail("rewrite_rules", "too_long", "at most 20 rules");
    }
    for (index, rule) in spec.rewrite_rules.iter().enumerate() {
        let path = format!("rewrite_rules[{index}]");
        match rule {
            RewriteRule::StripPrefix { prefix } | RewriteRule::AddPrefix { prefix } => {
                if prefix.is_empty() {
                    checker.fail(format!("{path}.prefix"), "required", "must not be empty");
                }
                checker.max_len(&format!("{path}.prefix"), prefix, 32);
            }
            RewriteRule::Regex {
                pattern,
                replacement,
            } => {
                checker.max_len(&format!("{path}.replacement"), replacement, 64);
                if pattern.len() > 256 {
                    checker.fail(
                        format!("{path}.pattern"),
                        "too_long",
                        "at most 256 characters",
                    );
                } else if let Err(error) = compile_rule(pattern) {
                    checker.fail(
                        format!("{path}.pattern"),
                        "format",
                        format!("not a valid regular expression: {error}"),
                    );
                }
            }
        }
    }
    Ok(checker.finish()?)
}

const TRUNK_COLUMNS: &str = "id, name, host, port, transport, username, password, caller_id, \
     rewrite_rules, created_at, updated_at";

trait TrunkRow {
    fn trunk(&self) -> Result<Trunk, StoreError>;
}

macro_rules! trunk_row {
    ($row:ty) => {
        impl TrunkRow for $row {
            fn trunk(&self) -> Result<Trunk, StoreError> {
                let password: Option<String> = self.try_get("password")?;
                let port: i64 = self.try_get("port")?;
                Ok(Trunk {
                    id: self.try_get("id")?,
                    name: self.try_get("name")?,
                    host: self.try_get("host")?,
                    port: u32::try_from(port)
                        .map_err(|_| crate::validation::corrupt("port", &port.to_string()))?,
                    transport: Transport::parse(self.try_get("transport")?)?,
                    username: self.try_get("username")?,
                    has_password: password.is_some_and(|p| !p.is_empty()),
                    caller_id: self.try_get("caller_id")?,
                    rewrite_rules: crate::validation::json(
                        "rewrite_rules",
                        self.try_get("rewrite_rules")?,
                    )?,
                    created_at: self.try_get("created_at")?,
                    updated_at: self.try_get("updated_at")?,
                })
            }
        }
    };
}
trunk_row!(sqlx::sqlite::SqliteRow);
trunk_row!(sqlx::postgres::PgRow);

fn named_conflict(error: sqlx::Error, what: &str, name: &str) -> StoreError {
    match StoreError::from(error) {
        StoreError::Conflict(_) => StoreError::Conflict(format!("a {what} named `{name}` exists")),
        other => other,
    }
}

fn trimmed(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .map(str::to_owned)
}

impl Store {
    /// Creates a trunk; audited as done `by` that user.
    pub async fn create_trunk(
        &self,
        spec: &TrunkSpec,
        by: Option<i64>,
        now_ms: i64,
    ) -> Result<Trunk, StoreError> {
        check(spec)?;
        let name = spec.name.trim();
        let rules = crate::validation::to_json(&spec.rewrite_rules)?;
        let id: i64 = with_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO trunks (name, host, port, transport, username, password, caller_id, \
                 rewrite_rules, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
            )
            .bind(name)
            .bind(spec.host.trim())
            .bind(i64::from(spec.port))
            .bind(spec.transport.as_str())
            .bind(trimmed(&spec.username))
            .bind(spec.password.as_deref().filter(|p| !p.is_empty()))
            .bind(trimmed(&spec.caller_id))
            .bind(&rules)
            .bind(now_ms)
            .fetch_one(pool)
            .await
            .map_err(|error| named_conflict(error, "trunk", name))?
        });
        self.audit(by, "create", "trunk", &id.to_string(), Some(name), now_ms)
            .await?;
        self.trunk(id).await
    }

    /// Replaces trunk `id` with `spec` (an absent password keeps the stored one).
    pub async fn update_trunk(
        &self,
        id: i64,
        spec: &TrunkSpec,
        by: Option<i64>,
        now_ms: i64,
    ) -> Result<Trunk, StoreError> {
        check(spec)?;
        let name = spec.name.trim();
        let rules = crate::validation::to_json(&spec.rewrite_rules)?;
        let keep_password = spec.password.is_none();
        let updated = with_pool!(self, pool => {
            sqlx::query(
                "UPDATE trunks SET name = $2, host = $3, port = $4, transport = $5, username = $6, \
                 password = CASE WHEN $7 THEN password ELSE $8 END, caller_id = $9, \
                 rewrite_rules = $10, updated_at = $11 WHERE id = $1",
            )
            .bind(id)
            .bind(name)
            .bind(spec.host.trim())
            .bind(i64::from(spec.port))
            .bind(spec.transport.as_str())
            .bind(trimmed(&spec.username))
            .bind(keep_password)
            .bind(spec.password.as_deref().filter(|p| !p.is_empty()))
            .bind(trimmed(&spec.caller_id))
            .bind(&rules)
            .bind(now_ms)
            .execute(pool)
            .await
            .map_err(|error| named_conflict(error, "trunk", name))?
            .rows_affected()
        });
        if updated == 0 {
            return Err(not_found("trunk", id));
        }
        self.audit(by, "update", "trunk", &id.to_string(), Some(name), now_ms)
            .await?;
        self.trunk(id).await
    }

    /// Trunk `id`.
    pub async fn trunk(&self, id: i64) -> Result<Trunk, StoreError> {
        with_pool!(self, pool => {
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {TRUNK_COLUMNS} FROM trunks WHERE id = $1")))
                .bind(id)
                .fetch_optional(pool)
                .await?
                .as_ref()
                .map(TrunkRow::trunk)
                .transpose()?
                .ok_or_else(|| not_found("trunk", id))
        })
    }

    /// Every trunk, by name.
    pub async fn trunks(&self) -> Result<Vec<Trunk>, StoreError> {
        with_pool!(self, pool => {
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {TRUNK_COLUMNS} FROM trunks ORDER BY name")))
                .fetch_all(pool)
                .await?
                .iter()
                .map(TrunkRow::trunk)
                .collect()
        })
    }

    /// The username and password of trunk `id`, for the SIP client; `None` when it has
    /// none.
    pub async fn trunk_credentials(&self, id: i64) -> Result<Option<TrunkCredentials>, StoreError> {
        let row: Option<(Option<String>, Option<String>)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT username, password FROM trunks WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        match row {
            None => Err(not_found("trunk", id)),
            Some((Some(username), Some(password))) => {
                Ok(Some(TrunkCredentials { username, password }))
            }
            Some(_) => Ok(None),
        }
    }

    /// Deletes trunk `id`; refused while a campaign uses it.
    pub async fn delete_trunk(
        &self,
        id: i64,
        by: Option<i64>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let users: i64 = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM campaigns WHERE trunk_id = $1")
                .bind(id)
                .fetch_one(pool)
                .await?
        });
        if users > 0 {
            return Err(StoreError::Conflict(format!(
                "trunk {id} is the outbound route of {users} campaign(s)"
            )));
        }
        let deleted = with_pool!(self, pool => {
            sqlx::query("DELETE FROM trunks WHERE id = $1").bind(id).execute(pool).await?.rows_affected()
        });
        if deleted == 0 {
            return Err(not_found("trunk", id));
        }
        self.audit(by, "delete", "trunk", &id.to_string(), None, now_ms)
            .await
    }
}

pub(crate) fn not_found(entity: &'static str, id: i64) -> StoreError {
    StoreError::NotFound {
        entity,
        id: id.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_rewrite_numbers_in_order() {
        let rules = vec![
            RewriteRule::StripPrefix {
                prefix: "+55".into(),
            },
            RewriteRule::Regex {
                pattern: r"^(\d{2})9(\d{8})$".into(),
                replacement: "${1}9${2}".into(),
            },
            RewriteRule::AddPrefix { prefix: "0".into() },
        ];
        assert_eq!(rewrite_number(&rules, "+5511987654321"), "011987654321");
        assert_eq!(rewrite_number(&rules, "1130000000"), "01130000000");
    }
}
