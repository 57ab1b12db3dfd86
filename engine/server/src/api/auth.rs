//! Who is calling: a browser session (cookie `ramal_session`) or an API token
//! (`Authorization: Bearer …`). The router wraps every non-public route in [`authorize`],
//! which resolves the caller, checks the route's [`Access`] and hands the handler a
//! [`CurrentUser`]. Also `/api/auth/login`, `/logout` and `/me`.

use super::session::sha256_hex;
use super::{Access, ApiError, AppState, now_ms, parse_json};
use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ramal_store::{Role, User};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "ramal_session";
/// Longer passwords are refused before hashing (argon2 on megabytes is a cheap attack).
const MAX_PASSWORD_BYTES: usize = 1024;

/// How the caller proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Via {
    /// A browser session.
    Session,
    /// An API token.
    Token {
        /// The token's id.
        id: i64,
    },
}

/// The authenticated caller, as handlers see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct CurrentUser {
    /// User id (what the audit log records).
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Shown name.
    pub display_name: String,
    /// The role in effect (a token's may be lower than its user's).
    pub role: Role,
    /// Session or token.
    pub via: Via,
}

impl CurrentUser {
    fn from_user(user: User, role: Role, via: Via) -> CurrentUser {
        CurrentUser {
            id: user.id,
            username: user.username,
            display_name: user.display_name,
            role,
            via,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        // Put there by `authorize`; a public route has no caller.
        parts
            .extensions
            .get::<CurrentUser>()
            .cloned()
            .ok_or(ApiError::Unauthorized)
    }
}

/// The client's address, when the server was started with connection info (tests that
/// call the router directly have none).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        Ok(ClientAddress(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(address)| address.ip()),
        ))
    }
}

/// The value of cookie `name`, from any `Cookie` header.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// Who sent `headers`: a bearer token wins over a cookie, and a bad one is not excused by
/// a good cookie.
async fn resolve(
    state: &AppState,
    headers: &HeaderMap,
    now_ms: i64,
) -> Result<Option<CurrentUser>, ApiError> {
    if let Some(authorization) = headers.get(AUTHORIZATION) {
        let token = authorization
            .to_str()
            .ok()
            .and_then(|value| value.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim());
        let Some(token) = token.filter(|token| !token.is_empty()) else {
            return Ok(None);
        };
        let identity = state
            .store
            .token_identity(&sha256_hex(token), now_ms)
            .await?;
        return Ok(identity.map(|identity| {
            let via = Via::Token {
                id: identity.token_id,
            };
            CurrentUser::from_user(identity.user, identity.role, via)
        }));
    }
    Ok(cookie(headers, SESSION_COOKIE)
        .and_then(|token| state.sessions.user(token, now_ms))
        .map(|user| {
            let role = user.role;
            CurrentUser::from_user(user, role, Via::Session)
        }))
}

/// The guard on every non-public route: 401 without a valid session or token, 403 when
/// the role may not use the route; otherwise the handler runs with a [`CurrentUser`].
pub(super) async fn authorize(
    State((state, access)): State<(AppState, Access)>,
    mut request: Request,
    next: Next,
) -> Response {
    let user = match resolve(&state, request.headers(), now_ms()).await {
        Ok(Some(user)) => user,
        Ok(None) => return ApiError::Unauthorized.into_response(),
        Err(error) => return error.into_response(),
    };
    if !access.allows(user.role) {
        return ApiError::Forbidden.into_response();
    }
    request.extensions_mut().insert(user);
    next.run(request).await
}

fn session_cookie(token: &str) -> String {
    // No Max-Age: the browser forgets it on exit, and the server ends it after idling.
    format!("{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/")
}

fn cleared_cookie() -> String {
    format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0")
}

/// A login.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct Credentials {
    username: String,
    password: String,
}

/// `POST /api/auth/login`: `{username, password}` → the user, and a session cookie.
pub(super) async fn login(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    body: String,
) -> Result<Response, ApiError> {
    let credentials: Credentials = parse_json(&body)?;
    let username = credentials.username.as_str();
    let now = now_ms();
    if let Err(retry_after_ms) = state.login_limiter.check(username, address, now) {
        return Err(ApiError::TooManyAttempts {
            retry_after_secs: (retry_after_ms + 999) / 1_000,
        });
    }
    let user = if credentials.password.len() > MAX_PASSWORD_BYTES {
        None
    } else {
        state
            .store
            .authenticate(username, &credentials.password)
            .await?
    };
    let Some(user) = user else {
        state.login_limiter.failed(username, address, now);
        tracing::info!(username, ?address, "failed login");
        return Err(ApiError::InvalidCredentials);
    };
    state.login_limiter.succeeded(username, address);
    let token = state
        .sessions
        .start(user.clone(), now)
        .map_err(|error| ApiError::Internal(error.to_string()))?;
    let role = user.role;
    let me = CurrentUser::from_user(user, role, Via::Session);
    Ok(([(SET_COOKIE, session_cookie(&token))], Json(me)).into_response())
}

/// `POST /api/auth/logout`: ends the session (a token caller has none) and clears the
/// cookie.
pub(super) async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        state.sessions.end(token);
    }
    (StatusCode::NO_CONTENT, [(SET_COOKIE, cleared_cookie())]).into_response()
}

/// `GET /api/auth/me`: the caller.
pub(super) async fn me(user: CurrentUser) -> Json<CurrentUser> {
    Json(user)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn the_session_cookie_is_found_among_others_and_headers() {
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, HeaderValue::from_static("theme=dark; lang=pt"));
        headers.append(
            COOKIE,
            HeaderValue::from_static("x=1;ramal_session=abc=; other=2"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc="));
        assert_eq!(cookie(&headers, "lang"), Some("pt"));
        assert_eq!(cookie(&headers, "ramal"), None);
        assert_eq!(cookie(&HeaderMap::new(), SESSION_COOKIE), None);
    }
}
