//! Agents' SIP accounts: the digest secrets a user's phone registers with. Only HA1s are
//! kept (`H(username:realm:password)` for MD5 and SHA-256, computed by the caller), bound
//! to the realm they were made for; a realm change needs new passwords.

use crate::error::StoreError;
use crate::pool::{Store, with_pool};

/// One user's SIP secret, as the registrar needs it.
#[derive(Clone, PartialEq, Eq)]
pub struct SipAccount {
    /// The user (and SIP user name).
    pub username: String,
    /// The MD5 HA1, lower-case hex.
    pub ha1_md5: String,
    /// The SHA-256 HA1, lower-case hex.
    pub ha1_sha256: String,
}

impl std::fmt::Debug for SipAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SipAccount")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

fn is_hex(text: &str, len: usize) -> bool {
    text.len() == len
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl Store {
    /// Sets (or replaces) user `user_id`'s SIP secret for `realm`; audited as done `by`.
    pub async fn set_sip_account(
        &self,
        user_id: i64,
        realm: &str,
        ha1_md5: &str,
        ha1_sha256: &str,
        by: Option<i64>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        if realm.is_empty() || realm.len() > 255 {
            return Err(StoreError::Invalid {
                field: "realm",
                message: "a realm is 1 to 255 characters".into(),
            });
        }
        if !is_hex(ha1_md5, 32) || !is_hex(ha1_sha256, 64) {
            return Err(StoreError::Invalid {
                field: "ha1",
                message: "HA1s are lower-case hex (32 digits for MD5, 64 for SHA-256)".into(),
            });
        }
        let username: Option<String> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT username FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_optional(pool)
                .await?
        });
        let username = username.ok_or_else(|| StoreError::NotFound {
            entity: "user",
            id: user_id.to_string(),
        })?;
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO sip_accounts (user_id, realm, ha1_md5, ha1_sha256, updated_at) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (user_id) DO UPDATE SET realm = excluded.realm, \
                 ha1_md5 = excluded.ha1_md5, ha1_sha256 = excluded.ha1_sha256, \
                 updated_at = excluded.updated_at",
            )
            .bind(user_id)
            .bind(realm)
            .bind(ha1_md5)
            .bind(ha1_sha256)
            .bind(now_ms)
            .execute(pool)
            .await?;
        });
        self.audit(
            by,
            "set-sip-account",
            "user",
            &user_id.to_string(),
            Some(&username),
            now_ms,
        )
        .await
    }

    /// Removes user `user_id`'s SIP secret (its phone can no longer register).
    pub async fn remove_sip_account(
        &self,
        user_id: i64,
        by: Option<i64>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let removed = with_pool!(self, pool => {
            sqlx::query("DELETE FROM sip_accounts WHERE user_id = $1")
                .bind(user_id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if removed == 0 {
            return Err(StoreError::NotFound {
                entity: "SIP account",
                id: user_id.to_string(),
            });
        }
        self.audit(
            by,
            "remove-sip-account",
            "user",
            &user_id.to_string(),
            None,
            now_ms,
        )
        .await
    }

    /// Every SIP account made for `realm`, by user name.
    pub async fn sip_accounts(&self, realm: &str) -> Result<Vec<SipAccount>, StoreError> {
        let rows: Vec<(String, String, String)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT users.username, sip_accounts.ha1_md5, sip_accounts.ha1_sha256 \
                 FROM sip_accounts JOIN users ON users.id = sip_accounts.user_id \
                 WHERE sip_accounts.realm = $1 ORDER BY users.username",
            )
            .bind(realm)
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(username, ha1_md5, ha1_sha256)| SipAccount {
                username,
                ha1_md5,
                ha1_sha256,
            })
            .collect())
    }
}
