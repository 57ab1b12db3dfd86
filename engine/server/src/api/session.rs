//! What authentication keeps in memory: browser sessions (random tokens, idle expiry) and
//! the login rate limit. Time comes in as an argument, so both are tested without waiting.
//! Sessions do not survive a restart, and each Ramal node has its own.

use crate::bootstrap::{RandomError, random_token};
use ramal_store::User;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// A session ends after this long without a request: 12 hours.
pub const SESSION_IDLE_MS: i64 = 12 * 60 * 60 * 1000;
/// Failed logins allowed per username and client address within [`LOGIN_WINDOW_MS`].
pub const MAX_LOGIN_FAILURES: usize = 10;
/// The login rate-limit window: one minute.
pub const LOGIN_WINDOW_MS: i64 = 60_000;
/// Bytes of randomness in a session token.
const SESSION_TOKEN_BYTES: usize = 32;
/// Above this many tracked keys, the limiter forgets keys with no recent failure.
const MAX_TRACKED_LOGINS: usize = 10_000;

/// The SHA-256 of `text`, as lowercase hex. Tokens are kept and looked up by this, never
/// as given.
pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The maps stay consistent even if a holder panicked: every update is one insert/remove.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

struct Session {
    user: User,
    last_seen_ms: i64,
}

/// Logged-in browsers, by the hash of their session token.
pub struct Sessions {
    idle_ms: i64,
    by_hash: Mutex<HashMap<String, Session>>,
}

impl fmt::Debug for Sessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sessions")
            .field("idle_ms", &self.idle_ms)
            .field("open", &lock(&self.by_hash).len())
            .finish()
    }
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions::new(SESSION_IDLE_MS)
    }
}

impl Sessions {
    /// No sessions; each ends after `idle_ms` without use.
    pub fn new(idle_ms: i64) -> Sessions {
        Sessions {
            idle_ms,
            by_hash: Mutex::new(HashMap::new()),
        }
    }

    /// Starts a session for `user` and returns its token (for the cookie). Forgets expired
    /// sessions on the way.
    pub fn start(&self, user: User, now_ms: i64) -> Result<String, RandomError> {
        let token = random_token(SESSION_TOKEN_BYTES)?;
        let mut sessions = lock(&self.by_hash);
        sessions.retain(|_, session| now_ms - session.last_seen_ms < self.idle_ms);
        sessions.insert(
            sha256_hex(&token),
            Session {
                user,
                last_seen_ms: now_ms,
            },
        );
        Ok(token)
    }

    /// The user of session `token`, if it is open; counts as activity.
    pub fn user(&self, token: &str, now_ms: i64) -> Option<User> {
        let key = sha256_hex(token);
        let mut sessions = lock(&self.by_hash);
        let session = sessions.get_mut(&key)?;
        if now_ms - session.last_seen_ms >= self.idle_ms {
            sessions.remove(&key);
            return None;
        }
        session.last_seen_ms = session.last_seen_ms.max(now_ms);
        Some(session.user.clone())
    }

    /// Ends session `token` (nothing happens if it is not open).
    pub fn end(&self, token: &str) {
        lock(&self.by_hash).remove(&sha256_hex(token));
    }
}

type LoginKey = (String, Option<IpAddr>);

/// Failed logins per username and client address: after [`MAX_LOGIN_FAILURES`] within
/// [`LOGIN_WINDOW_MS`], further attempts are refused without checking the password.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<LoginKey, Vec<i64>>>,
}

fn key(username: &str, address: Option<IpAddr>) -> LoginKey {
    // Usernames are at most 64 characters; longer input cannot grow the map's keys.
    (username.chars().take(64).collect(), address)
}

impl LoginLimiter {
    /// `Err(retry_after_ms)` when `username` from `address` must wait.
    pub fn check(&self, username: &str, address: Option<IpAddr>, now_ms: i64) -> Result<(), i64> {
        let failures = lock(&self.failures);
        let Some(times) = failures.get(&key(username, address)) else {
            return Ok(());
        };
        let recent: Vec<i64> = times
            .iter()
            .copied()
            .filter(|at| now_ms - at < LOGIN_WINDOW_MS)
            .collect();
        if recent.len() < MAX_LOGIN_FAILURES {
            return Ok(());
        }
        // Allowed again once enough of the recent failures leave the window.
        let oldest_that_counts = recent[recent.len() - MAX_LOGIN_FAILURES];
        Err((oldest_that_counts + LOGIN_WINDOW_MS - now_ms).max(1))
    }

    /// Records a failed login.
    pub fn failed(&self, username: &str, address: Option<IpAddr>, now_ms: i64) {
        let mut failures = lock(&self.failures);
        if failures.len() >= MAX_TRACKED_LOGINS {
            failures.retain(|_, times| times.iter().any(|at| now_ms - at < LOGIN_WINDOW_MS));
        }
        let times = failures.entry(key(username, address)).or_default();
        times.retain(|at| now_ms - at < LOGIN_WINDOW_MS);
        times.push(now_ms);
    }

    /// A successful login clears the failures of `username` from `address`.
    pub fn succeeded(&self, username: &str, address: Option<IpAddr>) {
        lock(&self.failures).remove(&key(username, address));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ramal_store::Role;

    fn ana() -> User {
        User {
            id: 7,
            username: "ana".into(),
            display_name: "Ana".into(),
            role: Role::Agent,
            created_at: 0,
        }
    }

    #[test]
    fn a_session_lives_while_used_and_ends_after_idling() {
        let sessions = Sessions::new(1_000);
        let token = sessions.start(ana(), 0).unwrap();
        assert_eq!(token.len(), 64, "32 random bytes, hex");
        assert_eq!(sessions.user(&token, 900).map(|u| u.id), Some(7));
        assert_eq!(
            sessions.user(&token, 1_800).map(|u| u.id),
            Some(7),
            "use extends it"
        );
        assert_eq!(sessions.user(&token, 2_800), None, "idle for 1 000 ms");
        assert_eq!(sessions.user(&token, 2_801), None, "and it stays gone");
        assert_eq!(sessions.user("not-a-token", 0), None);
    }

    #[test]
    fn an_ended_session_is_gone_and_others_stay() {
        let sessions = Sessions::default();
        let first = sessions.start(ana(), 0).unwrap();
        let second = sessions.start(ana(), 0).unwrap();
        assert_ne!(first, second);
        sessions.end(&first);
        assert_eq!(sessions.user(&first, 1), None);
        assert!(sessions.user(&second, 1).is_some());
        assert!(
            !format!("{sessions:?}").contains(&second[..16]),
            "no tokens in Debug"
        );
    }

    #[test]
    fn logins_are_limited_per_username_and_address_within_the_window() {
        let limiter = LoginLimiter::default();
        let here: Option<IpAddr> = "192.0.2.1".parse().ok();
        let there: Option<IpAddr> = "192.0.2.2".parse().ok();
        for at in 0..10 {
            assert_eq!(limiter.check("ana", here, at * 1_000), Ok(()));
            limiter.failed("ana", here, at * 1_000);
        }
        assert_eq!(limiter.check("ana", here, 10_000), Err(50_000));
        assert_eq!(
            limiter.check("ana", there, 10_000),
            Ok(()),
            "another address"
        );
        assert_eq!(limiter.check("bia", here, 10_000), Ok(()), "another user");
        assert_eq!(
            limiter.check("ana", here, 60_000),
            Ok(()),
            "the first failure aged out"
        );
        limiter.succeeded("ana", here);
        assert_eq!(limiter.check("ana", here, 10_000), Ok(()));
    }
}
