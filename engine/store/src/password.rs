//! Password hashing with argon2 (PHC strings, a random salt per hash).

use crate::error::StoreError;
use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// [`hash`] on a blocking thread. Argon2 costs tens of milliseconds of CPU by design; on an
/// async worker thread that time would stall every call and request scheduled there.
pub(crate) async fn hash_blocking(password: &str) -> Result<String, StoreError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || hash(&password))
        .await
        .map_err(|error| StoreError::Background(error.to_string()))?
}

/// [`verify`] on a blocking thread (see [`hash_blocking`]).
pub(crate) async fn verify_blocking(password: &str, stored: String) -> Result<bool, StoreError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || verify(&password, &stored))
        .await
        .map_err(|error| StoreError::Background(error.to_string()))
}

pub(crate) fn hash(password: &str) -> Result<String, StoreError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(StoreError::Invalid {
            field: "password",
            message: format!("at least {MIN_PASSWORD_CHARS} characters"),
        });
    }
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|error| StoreError::Invalid {
            field: "password",
            message: error.to_string(),
        })
}

pub(crate) fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::{hash_blocking, verify_blocking};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// Hashing and verifying leave the async thread free: on a one-thread runtime another
    /// task runs while argon2 works (inline, it could not run until argon2 was done).
    #[tokio::test(flavor = "current_thread")]
    async fn argon2_runs_off_the_async_thread() {
        let turns = Arc::new(AtomicU64::new(0));
        let spinner = {
            let turns = Arc::clone(&turns);
            tokio::spawn(async move {
                loop {
                    turns.fetch_add(1, Ordering::Relaxed);
                    tokio::task::yield_now().await;
                }
            })
        };
        let stored = hash_blocking("correct horse battery")
            .await
            .expect("hashed");
        let during_hash = turns.swap(0, Ordering::Relaxed);
        let good = verify_blocking("correct horse battery", stored.clone()).await;
        let during_verify = turns.swap(0, Ordering::Relaxed);
        let bad = verify_blocking("wrong horse battery", stored).await;
        spinner.abort();
        assert!(good.expect("verified"));
        assert!(!bad.expect("verified"));
        assert!(during_hash > 0, "the other task ran while hashing");
        assert!(during_verify > 0, "the other task ran while verifying");
    }
}
