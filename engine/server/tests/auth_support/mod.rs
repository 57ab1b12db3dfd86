//! Shared by the server tests: an app over its own SQLite file (a temp directory per test,
//! removed afterwards), set up as on a first start with the example flows, plus a
//! supervisor and an agent; requests as anonymous, by session cookie or by bearer token.
#![allow(dead_code)]

pub mod events;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use ramal::api::{AppState, SESSION_COOKIE, router, sha256_hex};
use ramal::config::{Config, Secret};
use ramal_store::{NewApiToken, NewUser, Role, User};
use serde_json::Value;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use tower::ServiceExt;

/// `admin`'s password in these tests.
pub const ADMIN_PASSWORD: &str = "admin password for tests";
/// The password of `sara` (supervisor) and `ana` (agent).
pub const PASSWORD: &str = "correct horse battery";

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A name no other test in any process uses.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// The repository's example flows.
pub fn flows_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../flows")
}

/// A configuration over a fresh data directory.
pub fn config(data_dir: PathBuf, admin_password: Option<&str>) -> Config {
    let mut config = Config::new(SocketAddr::from(([127, 0, 0, 1], 0)), flows_dir(), data_dir);
    config.admin_password = admin_password.map(Secret::new);
    config
}

/// A temporary directory, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A new, empty directory.
    pub fn new() -> TempDir {
        let path = std::env::temp_dir().join(unique("ramal-server-test"));
        std::fs::create_dir_all(&path).expect("the temp directory is created");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Who sends a request.
#[derive(Debug, Clone)]
pub enum Caller {
    /// Nobody logged in.
    Anonymous,
    /// A session token, sent as the cookie.
    Cookie(String),
    /// An API token.
    Bearer(String),
    /// Both: a session cookie and an API token.
    CookieAndBearer(String, String),
}

/// A response, the body parsed as JSON when it is JSON.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The error code of an error body.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

/// The app, its state and its data directory.
pub struct TestApp {
    pub state: AppState,
    pub router: axum::Router,
    pub dir: TempDir,
}

pub fn now_ms() -> i64 {
    let elapsed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970");
    i64::try_from(elapsed.as_millis()).expect("milliseconds fit in i64")
}

/// A first start (admin with [`ADMIN_PASSWORD`], the example flows published), plus `sara`
/// (supervisor) and `ana` (agent).
pub async fn app() -> TestApp {
    let dir = TempDir::new();
    let state = ramal::server::open(&config(dir.0.clone(), Some(ADMIN_PASSWORD)))
        .await
        .expect("the server state opens on a fresh SQLite file");
    for (username, role) in [("sara", Role::Supervisor), ("ana", Role::Agent)] {
        let user = NewUser {
            username: username.into(),
            display_name: username.into(),
            password: PASSWORD.into(),
            role,
        };
        state
            .store
            .create_user(&user, now_ms())
            .await
            .expect("the test user is created");
    }
    TestApp {
        router: router(state.clone()),
        state,
        dir,
    }
}

impl TestApp {
    /// The user called `username`.
    pub async fn user(&self, username: &str) -> User {
        self.state
            .store
            .users()
            .await
            .expect("users are listed")
            .into_iter()
            .find(|user| user.username == username)
            .expect("the user exists")
    }

    /// A session for `username`, opened directly (no password hashing: fast).
    pub async fn session(&self, username: &str) -> Caller {
        let user = self.user(username).await;
        let token = self
            .state
            .sessions
            .start(user, now_ms())
            .expect("a session starts");
        Caller::Cookie(token)
    }

    /// An API token acting as `username` with `role`, created directly in the store.
    pub async fn bearer(&self, username: &str, role: Role) -> Caller {
        let user = self.user(username).await;
        let secret = unique("ramal_test_token");
        let token = NewApiToken {
            name: format!("test {username}"),
            user_id: user.id,
            role,
            token_hash: sha256_hex(&secret),
        };
        self.state
            .store
            .create_token(&token, Some(user.id), now_ms())
            .await
            .expect("the token is created");
        Caller::Bearer(secret)
    }

    /// Sends a request.
    pub async fn call(&self, method: &str, uri: &str, caller: &Caller, body: &str) -> Reply {
        self.call_from(method, uri, caller, body, None).await
    }

    /// Sends a request from the client address `from` (as the real server sees it).
    pub async fn call_from(
        &self,
        method: &str,
        uri: &str,
        caller: &Caller,
        body: &str,
        from: Option<SocketAddr>,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(uri);
        let (cookie, bearer) = match caller {
            Caller::Anonymous => (None, None),
            Caller::Cookie(cookie) => (Some(cookie), None),
            Caller::Bearer(bearer) => (None, Some(bearer)),
            Caller::CookieAndBearer(cookie, bearer) => (Some(cookie), Some(bearer)),
        };
        if let Some(token) = cookie {
            request = request.header("cookie", format!("theme=dark; {SESSION_COOKIE}={token}"));
        }
        if let Some(token) = bearer {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if let Some(address) = from {
            request = request.extension(ConnectInfo(address));
        }
        let request = request
            .body(Body::from(body.to_owned()))
            .expect("a valid request");
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router answers");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("a body")
            .to_bytes();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Reply {
            status,
            headers,
            body,
        }
    }
}
