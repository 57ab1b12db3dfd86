//! Authentication and roles: every route × every role (by cookie and by token), login,
//! logout and the cookie's flags, the login rate limit, API tokens, users, and the first
//! start's administrator.

mod auth_support;

use auth_support::{ADMIN_PASSWORD, Caller, PASSWORD, TempDir, app, config, now_ms};
use axum::http::StatusCode;
use ramal::api::{MAX_LOGIN_FAILURES, routes};
use ramal_store::{Role, Store};
use serde_json::json;
use std::collections::BTreeSet;
use std::net::SocketAddr;

/// The least a caller needs, as this test expects it (written independently of the API's
/// own table, which it is checked against).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Needs {
    Nothing,
    Login,
    Supervisor,
    Admin,
}

const EXPECTED: &[(&str, &str, Needs)] = &[
    ("GET", "/", Needs::Nothing),
    ("GET", "/api", Needs::Nothing),
    ("GET", "/healthz", Needs::Nothing),
    ("POST", "/api/auth/login", Needs::Nothing),
    ("POST", "/api/auth/logout", Needs::Login),
    ("GET", "/api/auth/me", Needs::Login),
    ("GET", "/api/users", Needs::Admin),
    ("POST", "/api/users", Needs::Admin),
    ("PUT", "/api/users/{id}/sip-password", Needs::Admin),
    ("GET", "/api/tokens", Needs::Admin),
    ("POST", "/api/tokens", Needs::Admin),
    ("DELETE", "/api/tokens/{id}", Needs::Admin),
    ("GET", "/api/flows", Needs::Supervisor),
    ("POST", "/api/flows/validate", Needs::Supervisor),
    ("GET", "/api/flows/{id}", Needs::Supervisor),
    ("PUT", "/api/flows/{id}", Needs::Supervisor),
    ("POST", "/api/flows/{id}/publish", Needs::Supervisor),
    ("POST", "/api/flows/{id}/test", Needs::Supervisor),
    ("GET", "/api/prompts", Needs::Supervisor),
    ("GET", "/api/prompts/speech", Needs::Supervisor),
    ("GET", "/api/schema/flow", Needs::Supervisor),
    ("GET", "/api/calls", Needs::Supervisor),
    ("GET", "/api/calls/{id}", Needs::Supervisor),
    ("PUT", "/api/routes/{number}", Needs::Supervisor),
    ("GET", "/api/trunks", Needs::Supervisor),
    ("POST", "/api/trunks", Needs::Supervisor),
    ("GET", "/api/trunks/{id}", Needs::Supervisor),
    ("PUT", "/api/trunks/{id}", Needs::Supervisor),
    ("DELETE", "/api/trunks/{id}", Needs::Supervisor),
    ("GET", "/api/queues", Needs::Supervisor),
    ("POST", "/api/queues", Needs::Supervisor),
    ("GET", "/api/queues/{id}", Needs::Supervisor),
    ("PUT", "/api/queues/{id}", Needs::Supervisor),
    ("DELETE", "/api/queues/{id}", Needs::Supervisor),
    ("GET", "/api/campaigns", Needs::Login),
    ("POST", "/api/campaigns", Needs::Supervisor),
    ("GET", "/api/campaigns/{id}", Needs::Login),
    ("PUT", "/api/campaigns/{id}", Needs::Supervisor),
    ("DELETE", "/api/campaigns/{id}", Needs::Supervisor),
    ("POST", "/api/campaigns/{id}/status", Needs::Supervisor),
    ("GET", "/api/campaigns/{id}/dispositions", Needs::Login),
    (
        "POST",
        "/api/campaigns/{id}/dispositions",
        Needs::Supervisor,
    ),
    (
        "PUT",
        "/api/campaigns/{id}/dispositions/{disposition_id}",
        Needs::Supervisor,
    ),
    (
        "DELETE",
        "/api/campaigns/{id}/dispositions/{disposition_id}",
        Needs::Supervisor,
    ),
    ("GET", "/api/campaigns/{id}/results", Needs::Login),
    ("POST", "/api/campaigns/{id}/results", Needs::Login),
    ("GET", "/api/contact-lists", Needs::Supervisor),
    ("POST", "/api/contact-lists", Needs::Supervisor),
    ("GET", "/api/contact-lists/{id}", Needs::Supervisor),
    ("GET", "/api/contact-lists/{id}/contacts", Needs::Supervisor),
    (
        "POST",
        "/api/contact-lists/{id}/contacts",
        Needs::Supervisor,
    ),
    ("GET", "/api/contact-lists/{id}/imports", Needs::Supervisor),
    ("POST", "/api/contact-lists/{id}/imports", Needs::Supervisor),
    ("GET", "/api/nodes", Needs::Supervisor),
    ("POST", "/api/nodes", Needs::Admin),
    ("GET", "/api/agent", Needs::Login),
    ("POST", "/api/agent/login", Needs::Login),
    ("POST", "/api/agent/logout", Needs::Login),
    ("POST", "/api/agent/pause", Needs::Login),
    ("POST", "/api/agent/unpause", Needs::Login),
    ("POST", "/api/agent/disposition", Needs::Login),
    ("GET", "/api/agents", Needs::Supervisor),
    ("GET", "/api/events", Needs::Login),
    ("GET", "/api/openapi.json", Needs::Nothing),
    ("GET", "/api/docs", Needs::Nothing),
];

/// What each caller has.
fn has(role: Option<Role>) -> Needs {
    match role {
        None => Needs::Nothing,
        Some(Role::Agent) => Needs::Login,
        Some(Role::Supervisor) => Needs::Supervisor,
        Some(Role::Admin) => Needs::Admin,
    }
}

#[tokio::test]
async fn every_route_is_in_the_access_table_and_each_role_gets_exactly_its_share() {
    let served: BTreeSet<(String, &str)> = routes()
        .iter()
        .map(|route| (route.verb.method().to_string(), route.path))
        .collect();
    let expected: BTreeSet<(String, &str)> = EXPECTED
        .iter()
        .map(|(method, path, _)| ((*method).to_owned(), *path))
        .collect();
    assert_eq!(
        served.difference(&expected).collect::<Vec<_>>(),
        Vec::<&(String, &str)>::new(),
        "routes the API serves but this test does not know: add them to EXPECTED"
    );
    assert_eq!(
        expected.difference(&served).collect::<Vec<_>>(),
        Vec::<&(String, &str)>::new(),
        "routes this test expects but the API does not serve"
    );

    let app = app().await;
    for by_token in [false, true] {
        for (method, path, needs) in EXPECTED {
            for (username, role) in [
                (None, None),
                (Some("ana"), Some(Role::Agent)),
                (Some("sara"), Some(Role::Supervisor)),
                (Some("admin"), Some(Role::Admin)),
            ] {
                // A fresh caller each time: the logout row must not end the next row's session.
                let caller = match (username, role) {
                    (Some(name), Some(role)) if by_token => app.bearer(name, role).await,
                    (Some(name), _) => app.session(name).await,
                    _ => Caller::Anonymous,
                };
                let uri = path
                    .replace("/api/tokens/{id}", "/api/tokens/999999")
                    .replace("{number}", "4000")
                    .replace("{disposition_id}", "1")
                    .replace("{id}", "reception");
                let body = if *path == "/api/auth/login" { "{}" } else { "" };
                let reply = app.call(method, &uri, &caller, body).await;
                let body: String = reply.body.to_string().chars().take(200).collect();
                let context = format!(
                    "{method} {uri} as {role:?} (token: {by_token}): {} {body}",
                    reply.status
                );
                if has(role) >= *needs {
                    assert!(
                        !matches!(
                            reply.status,
                            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
                        ),
                        "allowed, yet refused: {context}"
                    );
                    // The agent routes need the call engine, which this app does not run:
                    // they say so (503 `unavailable`), and nothing else may fail.
                    assert!(
                        !reply.status.is_server_error()
                            || (path.starts_with("/api/agent") && reply.code() == "unavailable"),
                        "{context}"
                    );
                } else if role.is_none() {
                    assert_eq!(
                        (reply.status, reply.code()),
                        (StatusCode::UNAUTHORIZED, "auth.required"),
                        "{context}"
                    );
                } else {
                    assert_eq!(
                        (reply.status, reply.code()),
                        (StatusCode::FORBIDDEN, "auth.forbidden"),
                        "{context}"
                    );
                }
            }
        }
    }
}

fn set_cookie(reply: &auth_support::Reply) -> Option<String> {
    reply
        .headers
        .get("set-cookie")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

#[tokio::test]
async fn login_sets_a_strict_http_only_session_cookie_and_logout_ends_the_session() {
    let app = app().await;
    let credentials = json!({"username": "sara", "password": PASSWORD}).to_string();
    let reply = app
        .call("POST", "/api/auth/login", &Caller::Anonymous, &credentials)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(
        (reply.body["username"].as_str(), reply.body["role"].as_str()),
        (Some("sara"), Some("supervisor"))
    );
    let cookie = set_cookie(&reply).expect("a session cookie");
    let mut attributes = cookie.split("; ");
    let token = attributes
        .next()
        .and_then(|pair| pair.strip_prefix("ramal_session="))
        .expect("the cookie is ramal_session")
        .to_owned();
    assert_eq!(token.len(), 64, "32 random bytes");
    let attributes: BTreeSet<&str> = attributes.collect();
    assert_eq!(
        attributes,
        BTreeSet::from(["HttpOnly", "SameSite=Strict", "Path=/"])
    );

    let session = Caller::Cookie(token);
    let me = app.call("GET", "/api/auth/me", &session, "").await;
    assert_eq!(
        (me.status, me.body["username"].as_str()),
        (StatusCode::OK, Some("sara"))
    );
    assert_eq!(me.body["via"]["kind"], "session");

    let reply = app.call("POST", "/api/auth/logout", &session, "").await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let cleared = set_cookie(&reply).expect("the cookie is cleared");
    assert!(
        cleared.starts_with("ramal_session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    let me = app.call("GET", "/api/auth/me", &session, "").await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED, "the session is over");
}

#[tokio::test]
async fn a_wrong_password_or_unknown_user_is_a_401_and_starts_no_session() {
    let app = app().await;
    for (username, password) in [
        ("sara", "wrong password!"),
        ("nobody", PASSWORD),
        ("sara", ""),
    ] {
        let body = json!({"username": username, "password": password}).to_string();
        let reply = app
            .call("POST", "/api/auth/login", &Caller::Anonymous, &body)
            .await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::UNAUTHORIZED, "auth.invalid_credentials"),
            "{username}"
        );
        assert_eq!(set_cookie(&reply), None, "no cookie for {username}");
    }
    let reply = app
        .call(
            "POST",
            "/api/auth/login",
            &Caller::Anonymous,
            "{\"username\": 1}",
        )
        .await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::BAD_REQUEST, "body.invalid")
    );
    let forged = Caller::Cookie("0".repeat(64));
    let reply = app.call("GET", "/api/auth/me", &forged, "").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn repeated_failed_logins_are_refused_per_username_and_address() {
    let app = app().await;
    let here: SocketAddr = "192.0.2.1:5000".parse().unwrap();
    let there: SocketAddr = "192.0.2.2:5000".parse().unwrap();
    let wrong = json!({"username": "ana", "password": "wrong password!"}).to_string();
    let right = json!({"username": "ana", "password": PASSWORD}).to_string();
    for _ in 0..MAX_LOGIN_FAILURES {
        let reply = app
            .call_from(
                "POST",
                "/api/auth/login",
                &Caller::Anonymous,
                &wrong,
                Some(here),
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let reply = app
        .call_from(
            "POST",
            "/api/auth/login",
            &Caller::Anonymous,
            &right,
            Some(here),
        )
        .await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::TOO_MANY_REQUESTS, "auth.rate_limited")
    );
    let retry: u64 = reply.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(set_cookie(&reply), None, "even the right password waits");

    let reply = app
        .call_from(
            "POST",
            "/api/auth/login",
            &Caller::Anonymous,
            &right,
            Some(there),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "another address is not locked out"
    );
    let other = json!({"username": "sara", "password": PASSWORD}).to_string();
    let reply = app
        .call_from(
            "POST",
            "/api/auth/login",
            &Caller::Anonymous,
            &other,
            Some(here),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "another user is not locked out"
    );
}

#[tokio::test]
async fn an_api_token_is_shown_once_works_by_bearer_and_stops_when_revoked() {
    let app = app().await;
    let admin = app.session("admin").await;
    let reply = app
        .call(
            "POST",
            "/api/tokens",
            &admin,
            &json!({"name": "crm", "role": "supervisor"}).to_string(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    let secret = reply.body["token"]
        .as_str()
        .expect("the secret, this once")
        .to_owned();
    assert!(
        secret.starts_with("ramal_") && secret.len() == 6 + 64,
        "{secret}"
    );
    let id = reply.body["id"].as_i64().unwrap();

    let listed = app.call("GET", "/api/tokens", &admin, "").await;
    assert!(
        !listed.body.to_string().contains(&secret[6..]),
        "never listed: {:?}",
        listed.body
    );
    assert_eq!(listed.body[0]["name"], "crm");

    let bearer = Caller::Bearer(secret.clone());
    let me = app.call("GET", "/api/auth/me", &bearer, "").await;
    assert_eq!(
        (me.body["username"].as_str(), me.body["role"].as_str()),
        (Some("admin"), Some("supervisor"))
    );
    assert_eq!(me.body["via"], json!({"kind": "token", "id": id}));
    assert_eq!(
        app.call("GET", "/api/flows", &bearer, "").await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.call("GET", "/api/users", &bearer, "").await.status,
        StatusCode::FORBIDDEN,
        "the token's role, not its user's"
    );
    let listed = app.call("GET", "/api/tokens", &admin, "").await;
    assert!(listed.body[0]["last_used_at"].is_i64(), "use is recorded");

    let reply = app
        .call("DELETE", &format!("/api/tokens/{id}"), &admin, "")
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.call("GET", "/api/flows", &bearer, "").await.status,
        StatusCode::UNAUTHORIZED
    );
    let reply = app.call("DELETE", "/api/tokens/nope", &admin, "").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);

    // A bad bearer is not excused by a good cookie; other schemes are not tokens.
    let bad = Caller::Bearer("ramal_not-a-token".into());
    assert_eq!(
        app.call("GET", "/api/auth/me", &bad, "").await.status,
        StatusCode::UNAUTHORIZED
    );
    let Caller::Cookie(session) = admin else {
        unreachable!("a session")
    };
    let both = Caller::CookieAndBearer(session.clone(), "ramal_not-a-token".into());
    assert_eq!(
        app.call("GET", "/api/auth/me", &both, "").await.status,
        StatusCode::UNAUTHORIZED
    );
    let basic = Caller::Cookie(session);
    assert_eq!(
        app.call("GET", "/api/auth/me", &basic, "").await.status,
        StatusCode::OK
    );
    let audit = app.state.store.audit_log(2).await.unwrap();
    let admin_id = app.user("admin").await.id;
    assert_eq!(
        audit
            .iter()
            .map(|e| (e.action.as_str(), e.user_id))
            .collect::<Vec<_>>(),
        [("revoke", Some(admin_id)), ("create", Some(admin_id))]
    );
}

#[tokio::test]
async fn a_token_never_acts_above_its_user() {
    let app = app().await;
    let admin = app.session("admin").await;
    let ana = app.user("ana").await.id;
    let body = json!({"name": "x", "role": "admin", "user_id": ana}).to_string();
    let reply = app.call("POST", "/api/tokens", &admin, &body).await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "field.invalid")
    );
    let body = json!({"name": "x", "role": "agent", "user_id": ana}).to_string();
    let reply = app.call("POST", "/api/tokens", &admin, &body).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let bearer = Caller::Bearer(reply.body["token"].as_str().unwrap().to_owned());
    let me = app.call("GET", "/api/auth/me", &bearer, "").await;
    assert_eq!(me.body["username"], "ana");
}

#[tokio::test]
async fn an_admin_creates_users_who_can_then_log_in() {
    let app = app().await;
    let admin = app.session("admin").await;
    let new = json!({"username": "bia", "display_name": "Bia", "password": PASSWORD, "role": "supervisor"});
    let reply = app
        .call("POST", "/api/users", &admin, &new.to_string())
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    assert_eq!(reply.body["role"], "supervisor");
    assert!(reply.body.get("password").is_none() && reply.body.get("password_hash").is_none());
    let reply = app
        .call("POST", "/api/users", &admin, &new.to_string())
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    let short = json!({"username": "caio", "password": "short", "role": "agent"});
    let reply = app
        .call("POST", "/api/users", &admin, &short.to_string())
        .await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "field.invalid")
    );

    let users = app.call("GET", "/api/users", &admin, "").await;
    let names: Vec<&str> = users
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "ana", "bia", "sara"]);
    let login = json!({"username": "bia", "password": PASSWORD}).to_string();
    let reply = app
        .call("POST", "/api/auth/login", &Caller::Anonymous, &login)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
}

async fn open_fresh(
    dir: &TempDir,
    password: Option<&str>,
) -> (Store, ramal::bootstrap::FirstStart) {
    let config = config(dir.0.clone(), password);
    let store = Store::open(&config.database_url())
        .await
        .expect("a fresh SQLite store");
    let report = ramal::bootstrap::first_start(
        &store,
        config.admin_password.as_ref(),
        &config.flows,
        now_ms(),
    )
    .await
    .expect("the first start succeeds");
    (store, report)
}

#[tokio::test]
async fn the_first_start_uses_ramal_admin_password_and_never_a_default_one() {
    let dir = TempDir::new();
    let (store, report) = open_fresh(&dir, Some(ADMIN_PASSWORD)).await;
    assert_eq!(report.generated_admin_password, None);
    assert_eq!(
        report.imported_flows.len(),
        4,
        "{:?}",
        report.imported_flows
    );
    let admin = store
        .authenticate("admin", ADMIN_PASSWORD)
        .await
        .unwrap()
        .expect("admin logs in");
    assert_eq!(admin.role, Role::Admin);
    for guess in ["admin", "password", "ramal", "changeme", "admin123456"] {
        assert_eq!(
            store.authenticate("admin", guess).await.unwrap(),
            None,
            "{guess}"
        );
    }
    // Again: nothing changes, nothing is generated.
    let again = ramal::bootstrap::first_start(&store, None, &auth_support::flows_dir(), now_ms())
        .await
        .unwrap();
    assert_eq!(
        (again.generated_admin_password, again.imported_flows.len()),
        (None, 0)
    );
    assert_eq!(store.users().await.unwrap().len(), 1);

    let refused = open_fresh_result(&TempDir::new(), "short").await;
    assert!(refused.contains("RAMAL_ADMIN_PASSWORD"), "{refused}");
}

async fn open_fresh_result(dir: &TempDir, password: &str) -> String {
    let config = config(dir.0.clone(), Some(password));
    let store = Store::open(&config.database_url())
        .await
        .expect("a fresh SQLite store");
    match ramal::bootstrap::first_start(
        &store,
        config.admin_password.as_ref(),
        &config.flows,
        now_ms(),
    )
    .await
    {
        Ok(_) => "accepted".into(),
        Err(error) => error.to_string(),
    }
}

#[tokio::test]
async fn without_ramal_admin_password_the_first_start_generates_a_random_one() {
    let (first, second) = (TempDir::new(), TempDir::new());
    let (store, report) = open_fresh(&first, None).await;
    let password = report
        .generated_admin_password
        .expect("a generated password");
    assert!(password.len() >= 20, "{password}");
    assert!(
        store
            .authenticate("admin", &password)
            .await
            .unwrap()
            .is_some()
    );
    let (_, other) = open_fresh(&second, None).await;
    assert_ne!(
        other.generated_admin_password,
        Some(password),
        "random, not a default"
    );
    let again = ramal::bootstrap::first_start(&store, None, &auth_support::flows_dir(), now_ms())
        .await
        .unwrap();
    assert_eq!(
        again.generated_admin_password, None,
        "shown once, on the first start only"
    );
}
