//! HTTP Digest authentication for SIP (RFC 7616 as RFC 8760 applies it to SIP; RFC 3261
//! §22), sans-IO: algorithms MD5 and SHA-256 and their `-sess` variants, `qop=auth`.
//!
//! This module owns both sides of the exchange:
//! - **server**: an [`Authenticator`] issues [`Challenge`]s (rendered as
//!   `WWW-Authenticate`/`Proxy-Authenticate` values) and verifies parsed [`Authorization`]s
//!   against a stored [`Credential`]. Nonces are stateless: a timestamp and a counter,
//!   authenticated by HMAC-SHA-256 under a server secret, so they expire without a table
//!   (an expired nonce with a correct response gets `stale=true`). What little state there
//!   is, the highest nonce-count seen per nonce (replay protection), lives in a bounded map.
//! - **client**: [`authorize`] answers a 401/407 challenge (SHA-256 preferred over MD5) with
//!   the value of an `Authorization`/`Proxy-Authorization` header.
//!
//! Time is the [`Instant`](super::time::Instant) the driver passes in; the server secret and client cnonces come
//! from the caller, so nothing here reads a clock or draws randomness. Parsing is bounded
//! (see [`DigestError`]) and never panics; response comparison is constant-time.

mod params;
mod server;

#[cfg(test)]
mod tests;

use md5::Md5;
use sha2::{Digest, Sha256};
use thiserror::Error;

pub use server::{AuthConfig, AuthFailure, Authenticator};

/// A digest algorithm (RFC 7616 §3.3; RFC 8760 for SIP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// `MD5`, the RFC 2617 default, still what most SIP phones speak.
    Md5,
    /// `MD5-sess`.
    Md5Sess,
    /// `SHA-256`.
    Sha256,
    /// `SHA-256-sess`.
    Sha256Sess,
}

impl Algorithm {
    /// The algorithm's name on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
        }
    }

    /// The algorithm named `name` (case-insensitive), if supported.
    pub fn from_name(name: &str) -> Option<Algorithm> {
        [
            Algorithm::Md5,
            Algorithm::Md5Sess,
            Algorithm::Sha256,
            Algorithm::Sha256Sess,
        ]
        .into_iter()
        .find(|algorithm| algorithm.as_str().eq_ignore_ascii_case(name))
    }

    /// Whether this is a `-sess` variant (HA1 also covers nonce and cnonce).
    pub const fn is_session(self) -> bool {
        matches!(self, Algorithm::Md5Sess | Algorithm::Sha256Sess)
    }

    /// Whether the hash is SHA-256 (so an HA1 for SHA-256 applies).
    pub const fn is_sha256(self) -> bool {
        matches!(self, Algorithm::Sha256 | Algorithm::Sha256Sess)
    }

    /// Length of a hash in hex digits.
    const fn hex_len(self) -> usize {
        if self.is_sha256() { 64 } else { 32 }
    }

    /// `H(parts joined with ':')` as lower-case hex.
    fn hash(self, parts: &[&str]) -> String {
        let joined = parts.join(":");
        if self.is_sha256() {
            hex(&Sha256::digest(joined.as_bytes()))
        } else {
            hex(&Md5::digest(joined.as_bytes()))
        }
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    out
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |b: u8| char::from(b).to_digit(16);
    text.as_bytes()
        .chunks(2)
        .map(|pair| match pair {
            [high, low] => Some(u8::try_from(digit(*high)? * 16 + digit(*low)?).ok()?),
            _ => None,
        })
        .collect()
}

/// Equality that takes the same time wherever `a` and `b` differ (their lengths are not
/// secret).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > block.len() {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(message);
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// `H(username:realm:password)`, the HA1 to store instead of a password, as lower-case hex.
pub fn ha1(algorithm: Algorithm, username: &str, realm: &str, password: &str) -> String {
    algorithm.hash(&[username, realm, password])
}

/// What the server knows about a user's secret.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// The plaintext password (tests and development; prefer [`Credential::Ha1`]).
    Password(String),
    /// Precomputed `H(username:realm:password)` per hash, lower-case hex (see [`ha1`]).
    /// An algorithm whose HA1 is missing cannot be verified.
    Ha1 {
        /// The MD5 HA1 (used by `MD5` and `MD5-sess`).
        md5: Option<String>,
        /// The SHA-256 HA1 (used by `SHA-256` and `SHA-256-sess`).
        sha256: Option<String>,
    },
}

impl Credential {
    /// Both HA1s of `password`, for storing.
    pub fn hashed(username: &str, realm: &str, password: &str) -> Credential {
        Credential::Ha1 {
            md5: Some(ha1(Algorithm::Md5, username, realm, password)),
            sha256: Some(ha1(Algorithm::Sha256, username, realm, password)),
        }
    }

    /// The HA1 for `algorithm`'s hash, if known.
    fn base_ha1(&self, algorithm: Algorithm, username: &str, realm: &str) -> Option<String> {
        match self {
            Credential::Password(password) => Some(ha1(algorithm, username, realm, password)),
            Credential::Ha1 { md5, sha256 } => {
                let stored = if algorithm.is_sha256() { sha256 } else { md5 };
                stored.as_ref().map(|hash| hash.to_ascii_lowercase())
            }
        }
    }
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Password(_) => f.write_str("Credential::Password(<redacted>)"),
            Credential::Ha1 { md5, sha256 } => f
                .debug_struct("Credential::Ha1")
                .field("md5", &md5.as_ref().map(|_| "<redacted>"))
                .field("sha256", &sha256.as_ref().map(|_| "<redacted>"))
                .finish(),
        }
    }
}

/// The response hash of RFC 7616 §3.4.1. `qop` is `(nc as 8 hex digits, cnonce)` for
/// `qop=auth`, `None` for RFC 2069 style. `None` if a `-sess` algorithm lacks a cnonce.
fn compute_response(
    algorithm: Algorithm,
    base_ha1: &str,
    nonce: &str,
    qop: Option<(&str, &str)>,
    method: &str,
    uri: &str,
) -> Option<String> {
    let ha1 = if algorithm.is_session() {
        let (_, cnonce) = qop?;
        algorithm.hash(&[base_ha1, nonce, cnonce])
    } else {
        base_ha1.to_string()
    };
    let ha2 = algorithm.hash(&[method, uri]);
    Some(match qop {
        Some((nc, cnonce)) => algorithm.hash(&[&ha1, nonce, nc, cnonce, "auth", &ha2]),
        None => algorithm.hash(&[&ha1, nonce, &ha2]),
    })
}

/// Why a `Digest` header value was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DigestError {
    /// The value, or one parameter, is longer than the limit (bytes).
    #[error("longer than {limit} bytes")]
    TooLong {
        /// The limit.
        limit: usize,
    },
    /// More parameters than the limit.
    #[error("more than {limit} parameters")]
    TooManyParams {
        /// The limit.
        limit: usize,
    },
    /// The scheme is not `Digest`.
    #[error("not a Digest value")]
    NotDigest,
    /// A quoted string without its closing quote.
    #[error("unterminated quoted string")]
    UnterminatedQuote,
    /// Malformed syntax.
    #[error("syntax error: {0}")]
    Syntax(&'static str),
    /// A parameter given twice.
    #[error("parameter `{0}` appears twice")]
    Duplicate(String),
    /// A required parameter is missing.
    #[error("missing parameter `{0}`")]
    Missing(&'static str),
    /// A parameter's value is not valid.
    #[error("invalid value for `{0}`")]
    Invalid(&'static str),
    /// An algorithm this module does not implement.
    #[error("unsupported algorithm `{0}`")]
    UnsupportedAlgorithm(String),
    /// A qop other than `auth` (such as `auth-int`).
    #[error("unsupported qop `{0}`")]
    UnsupportedQop(String),
    /// RFC 8760 `userhash=true`, which this module does not implement.
    #[error("userhash is not supported")]
    UserHash,
    /// No challenge offered anything usable.
    #[error("no usable Digest challenge")]
    NoUsableChallenge,
}

fn algorithm_param(params: &params::Params) -> Result<Algorithm, DigestError> {
    match params.get("algorithm") {
        None => Ok(Algorithm::Md5),
        Some(name) => Algorithm::from_name(name)
            .ok_or_else(|| DigestError::UnsupportedAlgorithm(name.to_string())),
    }
}

fn reject_userhash(params: &params::Params) -> Result<(), DigestError> {
    match params.get("userhash") {
        Some(flag) if flag.eq_ignore_ascii_case("true") => Err(DigestError::UserHash),
        _ => Ok(()),
    }
}

/// A `WWW-Authenticate`/`Proxy-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The protection space (`realm`).
    pub realm: String,
    /// The server nonce.
    pub nonce: String,
    /// The opaque string the client echoes, if any.
    pub opaque: Option<String>,
    /// The algorithm.
    pub algorithm: Algorithm,
    /// The qop values offered, lower-cased (`["auth"]`); empty means RFC 2069 style.
    pub qop: Vec<String>,
    /// Whether the previous request was refused only because its nonce was stale.
    pub stale: bool,
}

impl Challenge {
    /// Parses a challenge header value (`Digest realm="…", nonce="…", …`).
    pub fn parse(value: &str) -> Result<Challenge, DigestError> {
        let params = params::parse(value)?;
        reject_userhash(&params)?;
        let qop = params
            .get("qop")
            .map(|list| {
                list.split(',')
                    .map(|token| token.trim().to_ascii_lowercase())
                    .filter(|token| !token.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        Ok(Challenge {
            realm: params.require("realm")?.to_string(),
            nonce: params.require("nonce")?.to_string(),
            opaque: params.get("opaque").map(str::to_string),
            algorithm: algorithm_param(&params)?,
            qop,
            stale: params
                .get("stale")
                .is_some_and(|flag| flag.eq_ignore_ascii_case("true")),
        })
    }

    /// The header value.
    pub fn to_header_value(&self) -> String {
        let mut out = format!(
            "Digest realm={}, nonce={}",
            params::quote(&self.realm),
            params::quote(&self.nonce)
        );
        if let Some(opaque) = &self.opaque {
            out.push_str(&format!(", opaque={}", params::quote(opaque)));
        }
        out.push_str(&format!(", algorithm={}", self.algorithm));
        if !self.qop.is_empty() {
            out.push_str(&format!(", qop={}", params::quote(&self.qop.join(","))));
        }
        if self.stale {
            out.push_str(", stale=true");
        }
        out
    }
}

impl std::fmt::Display for Challenge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_header_value())
    }
}

/// `qop=auth` details of an [`Authorization`]: the client nonce and the nonce count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QopAuth {
    /// The client nonce (`cnonce`).
    pub cnonce: String,
    /// The nonce count (`nc`), how many requests used this nonce.
    pub nc: u32,
}

/// The credentials in an `Authorization`/`Proxy-Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// The user name.
    pub username: String,
    /// The realm.
    pub realm: String,
    /// The server nonce being answered.
    pub nonce: String,
    /// The digest URI (the Request-URI the client signed).
    pub uri: String,
    /// The response hash, lower-case hex.
    pub response: String,
    /// The algorithm (`MD5` when absent).
    pub algorithm: Algorithm,
    /// The opaque string echoed back, if any.
    pub opaque: Option<String>,
    /// `qop=auth` and its cnonce and nc; `None` for RFC 2069 style.
    pub qop: Option<QopAuth>,
}

impl Authorization {
    /// Parses a credentials header value (`Digest username="…", …`).
    pub fn parse(value: &str) -> Result<Authorization, DigestError> {
        let params = params::parse(value)?;
        reject_userhash(&params)?;
        let algorithm = algorithm_param(&params)?;
        let response = params.require("response")?.to_ascii_lowercase();
        if response.len() != algorithm.hex_len() || unhex(&response).is_none() {
            return Err(DigestError::Invalid("response"));
        }
        let qop = match params.get("qop") {
            None => None,
            Some(qop) if qop.eq_ignore_ascii_case("auth") => {
                let nc = params.require("nc")?;
                if nc.len() != 8 || !nc.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(DigestError::Invalid("nc"));
                }
                let nc = u32::from_str_radix(nc, 16).map_err(|_| DigestError::Invalid("nc"))?;
                Some(QopAuth {
                    cnonce: params.require("cnonce")?.to_string(),
                    nc,
                })
            }
            Some(other) => return Err(DigestError::UnsupportedQop(other.to_string())),
        };
        if algorithm.is_session() && qop.is_none() {
            return Err(DigestError::Missing("cnonce"));
        }
        Ok(Authorization {
            username: params.require("username")?.to_string(),
            realm: params.require("realm")?.to_string(),
            nonce: params.require("nonce")?.to_string(),
            uri: params.require("uri")?.to_string(),
            response,
            algorithm,
            opaque: params.get("opaque").map(str::to_string),
            qop,
        })
    }

    /// The header value.
    pub fn to_header_value(&self) -> String {
        let mut out = format!(
            "Digest username={}, realm={}, nonce={}, uri={}, response={}, algorithm={}",
            params::quote(&self.username),
            params::quote(&self.realm),
            params::quote(&self.nonce),
            params::quote(&self.uri),
            params::quote(&self.response),
            self.algorithm,
        );
        if let Some(opaque) = &self.opaque {
            out.push_str(&format!(", opaque={}", params::quote(opaque)));
        }
        if let Some(qop) = &self.qop {
            out.push_str(&format!(
                ", qop=auth, nc={:08x}, cnonce={}",
                qop.nc,
                params::quote(&qop.cnonce)
            ));
        }
        out
    }
}

impl std::fmt::Display for Authorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_header_value())
    }
}

/// What a client needs to answer a challenge.
#[derive(Debug, Clone, Copy)]
pub struct DigestRequest<'a> {
    /// The user name.
    pub username: &'a str,
    /// The password.
    pub password: &'a str,
    /// The method of the request being authorized (`Method::Register.as_str()`).
    pub method: &'a str,
    /// Its Request-URI.
    pub uri: &'a str,
    /// A fresh client nonce (from the caller's randomness).
    pub cnonce: &'a str,
    /// The nonce count: 1 for the first request on a nonce.
    pub nc: u32,
}

/// Client side: answers the best of `challenges` (the values of every `WWW-Authenticate`
/// or `Proxy-Authenticate` header of a 401/407), preferring SHA-256 over MD5 and plain over
/// `-sess`. Challenges that fail to parse or offer only `auth-int` are skipped.
pub fn authorize<'a>(
    challenges: impl IntoIterator<Item = &'a str>,
    request: &DigestRequest<'_>,
) -> Result<Authorization, DigestError> {
    let rank = |algorithm: Algorithm| match algorithm {
        Algorithm::Sha256 => 0,
        Algorithm::Sha256Sess => 1,
        Algorithm::Md5 => 2,
        Algorithm::Md5Sess => 3,
    };
    let mut first_error = None;
    let mut best: Option<Challenge> = None;
    for value in challenges {
        match Challenge::parse(value) {
            Ok(challenge) => {
                let usable = if challenge.qop.is_empty() {
                    !challenge.algorithm.is_session()
                } else {
                    challenge.qop.iter().any(|qop| qop == "auth")
                };
                if usable
                    && best
                        .as_ref()
                        .is_none_or(|b| rank(challenge.algorithm) < rank(b.algorithm))
                {
                    best = Some(challenge);
                }
            }
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    let challenge = best.ok_or(first_error.unwrap_or(DigestError::NoUsableChallenge))?;
    let qop = (!challenge.qop.is_empty()).then(|| QopAuth {
        cnonce: request.cnonce.to_string(),
        nc: request.nc,
    });
    let base = ha1(
        challenge.algorithm,
        request.username,
        &challenge.realm,
        request.password,
    );
    let nc = qop.as_ref().map(|qop| format!("{:08x}", qop.nc));
    let response = compute_response(
        challenge.algorithm,
        &base,
        &challenge.nonce,
        nc.as_deref()
            .zip(qop.as_ref().map(|qop| qop.cnonce.as_str())),
        request.method,
        request.uri,
    )
    .ok_or(DigestError::NoUsableChallenge)?;
    Ok(Authorization {
        username: request.username.to_string(),
        realm: challenge.realm,
        nonce: challenge.nonce,
        uri: request.uri.to_string(),
        response,
        algorithm: challenge.algorithm,
        opaque: challenge.opaque,
        qop,
    })
}
