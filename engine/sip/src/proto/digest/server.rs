//! The server side of Digest: stateless HMAC nonces, challenges, verification, and the
//! bounded nonce-count table that refuses replays.

use super::{
    Algorithm, Authorization, Challenge, Credential, compute_response, constant_time_eq, hex,
    hmac_sha256, unhex,
};
use crate::proto::time::Instant;
use std::collections::BTreeMap;
use std::time::Duration;
use thiserror::Error;

/// Bytes of HMAC kept in a nonce.
const MAC_LEN: usize = 16;
/// Nonce layout: issue time (ms, 8 bytes) ‖ counter (4 bytes) ‖ MAC, hex-encoded.
const NONCE_BYTES: usize = 8 + 4 + MAC_LEN;

/// How an [`Authenticator`] challenges and verifies.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthConfig {
    /// The realm (usually the SIP domain). HA1s are bound to it.
    pub realm: String,
    /// The key nonces are authenticated with: at least 16 random bytes from the driver.
    /// Changing it (a restart) turns outstanding nonces stale.
    pub secret: Vec<u8>,
    /// How long a nonce stays valid; later uses get `stale=true`.
    pub nonce_lifetime: Duration,
    /// The algorithms offered, most preferred first (one challenge header each).
    pub algorithms: Vec<Algorithm>,
    /// Nonces whose highest nonce-count is remembered at most; the oldest are forgotten
    /// (and then treated as stale) beyond it.
    pub max_tracked_nonces: usize,
}

impl AuthConfig {
    /// A configuration for `realm` keyed by `secret`: SHA-256 then MD5, nonces valid for
    /// five minutes, 4096 tracked nonces.
    pub fn new(realm: impl Into<String>, secret: impl Into<Vec<u8>>) -> AuthConfig {
        AuthConfig {
            realm: realm.into(),
            secret: secret.into(),
            nonce_lifetime: Duration::from_secs(300),
            algorithms: vec![Algorithm::Sha256, Algorithm::Md5],
            max_tracked_nonces: 4096,
        }
    }
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field("realm", &self.realm)
            .field("secret", &"<redacted>")
            .field("nonce_lifetime", &self.nonce_lifetime)
            .field("algorithms", &self.algorithms)
            .field("max_tracked_nonces", &self.max_tracked_nonces)
            .finish()
    }
}

/// Why credentials were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum AuthFailure {
    /// The realm is not ours.
    #[error("wrong realm")]
    WrongRealm,
    /// The algorithm is not one we offered.
    #[error("algorithm not offered")]
    AlgorithmNotOffered,
    /// No `qop=auth`: we always offer it, and need its nonce-count against replays.
    #[error("qop=auth is required")]
    QopRequired,
    /// The stored credential has no HA1 for this algorithm.
    #[error("no credential for this algorithm")]
    NoCredential,
    /// The response hash is wrong (wrong password, user, URI or method).
    #[error("wrong response")]
    WrongResponse,
    /// The response is right but the nonce expired or is not ours (any more): challenge
    /// again with `stale=true`.
    #[error("stale nonce")]
    Stale,
    /// The nonce-count is not above the highest already seen for this nonce.
    #[error("replayed nonce count")]
    Replayed,
}

/// Digest's server side: issues challenges and verifies credentials.
#[derive(Debug)]
pub struct Authenticator {
    config: AuthConfig,
    counter: u32,
    /// (issue time ms, counter) of each nonce used → highest nc seen.
    nonce_counts: BTreeMap<(u64, u32), u32>,
    /// Nonces issued at or before this (ms) that are not in the table were forgotten.
    forgotten_until: Option<u64>,
}

impl Authenticator {
    /// An authenticator with no nonces seen.
    pub fn new(config: AuthConfig) -> Authenticator {
        Authenticator {
            config,
            counter: 0,
            nonce_counts: BTreeMap::new(),
            forgotten_until: None,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    /// The realm.
    pub fn realm(&self) -> &str {
        &self.config.realm
    }

    fn mac(&self, issued: u64, counter: u32) -> [u8; 32] {
        let mut message = b"ramal-nonce:".to_vec();
        message.extend_from_slice(&issued.to_be_bytes());
        message.extend_from_slice(&counter.to_be_bytes());
        message.extend_from_slice(self.config.realm.as_bytes());
        hmac_sha256(&self.config.secret, &message)
    }

    fn opaque(&self) -> String {
        let mut message = b"ramal-opaque:".to_vec();
        message.extend_from_slice(self.config.realm.as_bytes());
        hex(&hmac_sha256(&self.config.secret, &message)[..MAC_LEN])
    }

    fn nonce(&mut self, now: Instant) -> String {
        self.counter = self.counter.wrapping_add(1);
        let issued = now.as_millis();
        let mut bytes = Vec::with_capacity(NONCE_BYTES);
        bytes.extend_from_slice(&issued.to_be_bytes());
        bytes.extend_from_slice(&self.counter.to_be_bytes());
        bytes.extend_from_slice(&self.mac(issued, self.counter)[..MAC_LEN]);
        hex(&bytes)
    }

    /// The (issue time, counter) of `nonce` if we issued it (under the current secret).
    fn decode_nonce(&self, nonce: &str) -> Option<(u64, u32)> {
        let bytes = unhex(nonce)?;
        if bytes.len() != NONCE_BYTES {
            return None;
        }
        let issued = u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?);
        let counter = u32::from_be_bytes(bytes.get(8..12)?.try_into().ok()?);
        let expected = self.mac(issued, counter);
        constant_time_eq(bytes.get(12..)?, &expected[..MAC_LEN]).then_some((issued, counter))
    }

    /// Fresh challenges, one per configured algorithm (most preferred first), sharing one
    /// nonce. `stale` says the last request failed only on its nonce.
    pub fn challenge(&mut self, now: Instant, stale: bool) -> Vec<Challenge> {
        let nonce = self.nonce(now);
        let opaque = self.opaque();
        self.config
            .algorithms
            .iter()
            .map(|&algorithm| Challenge {
                realm: self.config.realm.clone(),
                nonce: nonce.clone(),
                opaque: Some(opaque.clone()),
                algorithm,
                qop: vec!["auth".to_string()],
                stale,
            })
            .collect()
    }

    /// Verifies `authorization` for a request with `method` against `credential`. The
    /// response is checked first, so [`AuthFailure::Stale`] implies the password was right.
    /// On success the nonce-count is recorded. Checking that `authorization.uri` is the
    /// request's and that `username` may act is the caller's business.
    pub fn verify(
        &mut self,
        authorization: &Authorization,
        method: &str,
        credential: &Credential,
        now: Instant,
    ) -> Result<(), AuthFailure> {
        if authorization.realm != self.config.realm {
            return Err(AuthFailure::WrongRealm);
        }
        if !self.config.algorithms.contains(&authorization.algorithm) {
            return Err(AuthFailure::AlgorithmNotOffered);
        }
        let qop = authorization.qop.as_ref().ok_or(AuthFailure::QopRequired)?;
        let base = credential
            .base_ha1(
                authorization.algorithm,
                &authorization.username,
                &self.config.realm,
            )
            .ok_or(AuthFailure::NoCredential)?;
        let nc = format!("{:08x}", qop.nc);
        let expected = compute_response(
            authorization.algorithm,
            &base,
            &authorization.nonce,
            Some((&nc, &qop.cnonce)),
            method,
            &authorization.uri,
        )
        .ok_or(AuthFailure::WrongResponse)?;
        if !constant_time_eq(expected.as_bytes(), authorization.response.as_bytes()) {
            return Err(AuthFailure::WrongResponse);
        }
        let key = self
            .decode_nonce(&authorization.nonce)
            .ok_or(AuthFailure::Stale)?;
        let opaque_ok = authorization
            .opaque
            .as_ref()
            .is_some_and(|opaque| constant_time_eq(opaque.as_bytes(), self.opaque().as_bytes()));
        let now_ms = now.as_millis();
        let lifetime = u64::try_from(self.config.nonce_lifetime.as_millis()).unwrap_or(u64::MAX);
        let expired = key.0 > now_ms || now_ms - key.0 > lifetime;
        if !opaque_ok || expired {
            return Err(AuthFailure::Stale);
        }
        self.record_nc(key, qop.nc, now_ms.saturating_sub(lifetime))
    }

    /// Records `nc` for the nonce `key`, refusing it unless it is above the last one.
    fn record_nc(&mut self, key: (u64, u32), nc: u32, oldest_live: u64) -> Result<(), AuthFailure> {
        if let Some(highest) = self.nonce_counts.get_mut(&key) {
            if nc <= *highest {
                return Err(AuthFailure::Replayed);
            }
            *highest = nc;
            return Ok(());
        }
        if self.forgotten_until.is_some_and(|until| key.0 <= until) {
            return Err(AuthFailure::Stale);
        }
        if nc == 0 {
            return Err(AuthFailure::Replayed);
        }
        // Expired nonces can never verify again: drop them first.
        self.nonce_counts = self.nonce_counts.split_off(&(oldest_live, 0));
        while self.nonce_counts.len() >= self.config.max_tracked_nonces.max(1) {
            let Some(((issued, _), _)) = self.nonce_counts.pop_first() else {
                break;
            };
            self.forgotten_until = Some(self.forgotten_until.map_or(issued, |t| t.max(issued)));
        }
        if self.forgotten_until.is_some_and(|until| key.0 <= until) {
            return Err(AuthFailure::Stale);
        }
        self.nonce_counts.insert(key, nc);
        Ok(())
    }

    /// How many nonces' counts are remembered.
    pub fn tracked_nonces(&self) -> usize {
        self.nonce_counts.len()
    }
}
