//! The flows API over the store, called through the router without a socket as a
//! logged-in supervisor, and `run` on a real loopback socket with a shutdown signal.

mod auth_support;

use auth_support::{Caller, TempDir, app, config};
use axum::http::StatusCode;
use serde_json::{Value, json};

fn codes(diagnostics: &Value) -> Vec<&str> {
    diagnostics
        .as_array()
        .expect("diagnostics are a list")
        .iter()
        .map(|d| d["code"].as_str().expect("a diagnostic has a code"))
        .collect()
}

/// The example `reception` flow with a different name.
fn renamed_reception(name: &str) -> String {
    let text = std::fs::read_to_string(auth_support::flows_dir().join("reception.json"))
        .expect("the example flow is readable");
    let mut document: Value = serde_json::from_str(&text).expect("the example flow is JSON");
    document["name"] = json!(name);
    document.to_string()
}

/// A flow whose only problem is a port leading nowhere.
fn broken(id: &str) -> String {
    json!({"schema": "ramal.flow/v1", "id": id, "name": "Broken", "nodes": [
        {"id": "s", "kind": "start", "ports": {"next": "gone"}}
    ]})
    .to_string()
}

#[tokio::test]
async fn the_example_flows_are_imported_published_and_clean() {
    let app = app().await;
    let sara = app.session("sara").await;
    let reply = app.call("GET", "/api/flows", &sara, "").await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let flows = reply.body.as_array().unwrap();
    let ids: Vec<&str> = flows.iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["campaign-answer", "cpf-check", "reception", "survey"]);
    for flow in flows {
        assert_eq!(flow["published_version"], 1, "{flow}");
        assert_eq!(flow["has_draft"], true, "{flow}");
        assert_eq!(flow["errors"], 0, "{flow}");
    }
}

#[tokio::test]
async fn a_flow_document_is_served_by_version_and_an_unknown_one_is_a_404_with_a_code() {
    let app = app().await;
    let sara = app.session("sara").await;
    let reply = app.call("GET", "/api/flows/cpf-check", &sara, "").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["document"]["schema"], "ramal.flow/v1");
    assert_eq!(
        (reply.body["draft"].clone(), reply.body["version"].clone()),
        (json!(true), Value::Null)
    );
    assert_eq!(reply.body["diagnostics"], json!([]));
    let reply = app
        .call("GET", "/api/flows/cpf-check?version=1", &sara, "")
        .await;
    assert_eq!(
        (reply.status, reply.body["version"].clone()),
        (StatusCode::OK, json!(1))
    );
    assert_eq!(reply.body["draft"], false);

    for (uri, status, code) in [
        ("/api/flows/nope", StatusCode::NOT_FOUND, "not_found"),
        (
            "/api/flows/cpf-check?version=9",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "/api/flows/cpf-check?version=x",
            StatusCode::BAD_REQUEST,
            "query.version",
        ),
    ] {
        let reply = app.call("GET", uri, &sara, "").await;
        assert_eq!((reply.status, reply.code()), (status, code), "{uri}");
    }
}

#[tokio::test]
async fn validation_returns_every_diagnostic_as_data() {
    let app = app().await;
    let sara = app.session("sara").await;
    let document = json!({"schema": "ramal.flow/v1", "id": "x", "name": "x", "nodes": [
        {"id": "s", "kind": "start", "ports": {"next": "sub"}},
        {"id": "sub", "kind": "subflow", "params": {"flow": "survey"}, "ports": {"done": "c"}},
        {"id": "c", "kind": "condition", "params": {"expr": "nope > 1"}, "ports": {"true": "gone"}}
    ]});
    let reply = app
        .call("POST", "/api/flows/validate", &sara, &document.to_string())
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["ok"], false);
    let codes = codes(&reply.body["diagnostics"]);
    assert!(codes.contains(&"expr.unknown_variable"), "{codes:?}");
    assert!(codes.contains(&"port.dangling"), "{codes:?}");
    assert!(
        !codes.contains(&"subflow.unknown"),
        "the published flows are available as subflows: {codes:?}"
    );
    let reply = app
        .call("POST", "/api/flows/validate", &sara, "{not json")
        .await;
    assert_eq!(reply.body["diagnostics"][0]["code"], "document.syntax");
}

/// The list's counts are cached against the published flows: a draft calling a flow that
/// is not published has an error, which goes once that flow is published (and a draft
/// edit is counted afresh).
#[tokio::test]
async fn the_flow_list_counts_follow_publishes_and_edits() {
    let app = app().await;
    let sara = app.session("sara").await;
    let errors_of = |body: &Value, id: &str| {
        body.as_array()
            .and_then(|flows| flows.iter().find(|f| f["id"] == id))
            .map(|flow| flow["errors"].clone())
            .unwrap_or(Value::Null)
    };
    let caller = json!({"schema": "ramal.flow/v1", "id": "caller", "name": "Caller", "nodes": [
        {"id": "s", "kind": "start", "ports": {"next": "sub"}},
        {"id": "sub", "kind": "subflow", "params": {"flow": "helper"}, "ports": {"done": "h"}},
        {"id": "h", "kind": "hangup", "params": {"reason": "normal"}}
    ]});
    let helper = json!({"schema": "ramal.flow/v1", "id": "helper", "name": "Helper", "nodes": [
        {"id": "s", "kind": "start", "ports": {"next": "x"}},
        {"id": "x", "kind": "exit", "params": {"port": "done"}}
    ]});
    for (id, document) in [("caller", &caller), ("helper", &helper)] {
        let saved = app
            .call(
                "PUT",
                &format!("/api/flows/{id}"),
                &sara,
                &document.to_string(),
            )
            .await;
        assert_eq!(saved.status, StatusCode::OK, "{:?}", saved.body);
    }
    let list = app.call("GET", "/api/flows", &sara, "").await;
    assert_eq!(
        errors_of(&list.body, "caller"),
        1,
        "helper is not published"
    );
    let list = app.call("GET", "/api/flows", &sara, "").await;
    assert_eq!(
        errors_of(&list.body, "caller"),
        1,
        "the same from the cache"
    );

    let published = app
        .call("POST", "/api/flows/helper/publish", &sara, "")
        .await;
    assert_eq!(published.status, StatusCode::OK, "{:?}", published.body);
    let list = app.call("GET", "/api/flows", &sara, "").await;
    let caller_now = app.call("GET", "/api/flows/caller", &sara, "").await;
    assert_eq!(
        errors_of(&list.body, "caller"),
        0,
        "helper is published now: {:?}",
        caller_now.body["diagnostics"]
    );

    let mut broken = caller.clone();
    broken["nodes"][2]["ports"] = json!({"next": "nowhere"});
    app.call("PUT", "/api/flows/caller", &sara, &broken.to_string())
        .await;
    let list = app.call("GET", "/api/flows", &sara, "").await;
    assert!(
        errors_of(&list.body, "caller").as_u64() >= Some(1),
        "the edited draft is counted afresh: {:?}",
        list.body
    );
}

#[tokio::test]
async fn call_scripts_run_against_the_draft() {
    let app = app().await;
    let sara = app.session("sara").await;
    let script = "call \"menu\"\n  expect play welcome\n  press 1\n  expect enqueue sales\n\ncall \"wrong\"\n  expect play nothing-like-this\n";
    let reply = app
        .call("POST", "/api/flows/reception/test", &sara, script)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let body = &reply.body;
    assert_eq!(
        (body["passed"].as_u64(), body["failed"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(body["calls"][1]["failure"]["line"], 7);
    assert!(!body["calls"][0]["trace"].as_array().unwrap().is_empty());
    let reply = app
        .call("POST", "/api/flows/reception/test", &sara, "press 1")
        .await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::BAD_REQUEST, "script.syntax")
    );

    // The draft is what runs: a broken draft cannot be tested, and says why.
    app.call("PUT", "/api/flows/reception", &sara, &broken("reception"))
        .await;
    let reply = app
        .call("POST", "/api/flows/reception/test", &sara, script)
        .await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "flow.not_compiled")
    );
    assert!(codes(&reply.body["error"]["diagnostics"]).contains(&"port.dangling"));
}

#[tokio::test]
async fn a_saved_draft_publishes_as_the_next_version_and_both_are_audited() {
    let app = app().await;
    let sara = app.session("sara").await;
    let sara_id = app.user("sara").await.id;
    let reply = app
        .call(
            "PUT",
            "/api/flows/reception",
            &sara,
            &renamed_reception("Reception v2"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(
        (reply.body["saved"].clone(), reply.body["ok"].clone()),
        (json!(true), json!(true))
    );

    let reply = app.call("GET", "/api/flows/reception", &sara, "").await;
    assert_eq!(
        reply.body["document"]["name"], "Reception v2",
        "the draft is shown"
    );
    assert_eq!(reply.body["published_version"], 1, "not published yet");

    let reply = app
        .call("POST", "/api/flows/reception/publish", &sara, "")
        .await;
    assert_eq!(
        (reply.status, reply.body["version"].clone()),
        (StatusCode::OK, json!(2))
    );
    let reply = app
        .call("POST", "/api/flows/reception/publish", &sara, "")
        .await;
    assert_eq!(reply.body["version"], 3, "every publish is a new version");

    let old = app
        .call("GET", "/api/flows/reception?version=1", &sara, "")
        .await;
    assert_eq!(
        old.body["document"]["name"], "Business-hours reception",
        "versions never change"
    );
    let new = app
        .call("GET", "/api/flows/reception?version=2", &sara, "")
        .await;
    assert_eq!(new.body["document"]["name"], "Reception v2");
    let list = app.call("GET", "/api/flows", &sara, "").await;
    let reception = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "reception")
        .unwrap();
    assert_eq!(reception["published_version"], 3);

    let log = app.state.store.audit_log(3).await.unwrap();
    let entries: Vec<(&str, &str, Option<i64>)> = log
        .iter()
        .map(|entry| {
            (
                entry.action.as_str(),
                entry.entity_id.as_str(),
                entry.user_id,
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            ("publish", "reception", Some(sara_id)),
            ("publish", "reception", Some(sara_id)),
            ("save-draft", "reception", Some(sara_id)),
        ]
    );
}

#[tokio::test]
async fn a_draft_with_errors_is_saved_but_its_publish_is_refused_with_the_diagnostics() {
    let app = app().await;
    let sara = app.session("sara").await;
    let reply = app
        .call("PUT", "/api/flows/reception", &sara, &broken("reception"))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "work in progress is saved");
    assert_eq!(reply.body["ok"], false);
    assert!(codes(&reply.body["diagnostics"]).contains(&"port.dangling"));

    let reply = app
        .call("POST", "/api/flows/reception/publish", &sara, "")
        .await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "flow.invalid")
    );
    assert!(codes(&reply.body["error"]["diagnostics"]).contains(&"port.dangling"));
    let published = app.state.store.published("reception").await.unwrap();
    assert_eq!(published.version, 1, "nothing was published");

    let list = app.call("GET", "/api/flows", &sara, "").await;
    let reception = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "reception")
        .unwrap();
    assert!(
        reception["errors"].as_u64().unwrap() >= 1,
        "the list counts the draft's errors"
    );
}

#[tokio::test]
async fn a_draft_that_cannot_be_read_or_names_another_id_is_refused() {
    let app = app().await;
    let sara = app.session("sara").await;
    let reply = app
        .call("PUT", "/api/flows/reception", &sara, "{not json")
        .await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "flow.unreadable")
    );
    assert_eq!(
        codes(&reply.body["error"]["diagnostics"]),
        ["document.syntax"]
    );
    let reply = app
        .call("PUT", "/api/flows/survey", &sara, &renamed_reception("x"))
        .await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "flow.id_mismatch")
    );
    let reply = app
        .call("PUT", "/api/flows/Bad%20Id", &sara, &broken("Bad Id"))
        .await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "flow.bad_id")
    );
    let draft = app.state.store.draft("reception").await.unwrap();
    assert!(draft.contains("Business-hours reception"), "unchanged");

    // A new id creates a flow: a draft, not yet published.
    let reply = app
        .call("PUT", "/api/flows/fresh", &sara, &broken("fresh"))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let reply = app.call("GET", "/api/flows/fresh", &sara, "").await;
    assert_eq!(
        (
            reply.body["draft"].clone(),
            reply.body["published_version"].clone()
        ),
        (json!(true), Value::Null)
    );
    let reply = app.call("POST", "/api/flows/nope/publish", &sara, "").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_index_page_lists_every_route_without_logging_in() {
    let app = app().await;
    // `/api` always; `/` too when there is no editor (this app has none).
    for path in ["/api", "/"] {
        let reply = app.call("GET", path, &Caller::Anonymous, "").await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        let page = reply.body.as_str().expect("an HTML page");
        for route in ramal::api::routes() {
            let line = format!("<code>{} {}</code>", route.verb.method(), route.path);
            assert!(page.contains(&line), "{line} is missing from {path}");
        }
        assert!(
            page.contains("cargo xtask editor"),
            "says how to build the editor"
        );
    }
}

#[tokio::test]
async fn an_oversized_body_is_refused() {
    let app = app().await;
    let sara = app.session("sara").await;
    let huge = "x".repeat(ramal_flow::document::MAX_DOCUMENT_BYTES + 1);
    let reply = app.call("POST", "/api/flows/validate", &sara, &huge).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    let reply = app
        .call("POST", "/api/flows/validate", &Caller::Anonymous, &huge)
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNAUTHORIZED,
        "strangers are refused first"
    );
}

#[tokio::test]
async fn the_server_runs_on_a_loopback_socket_and_stops_on_shutdown() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = TempDir::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let mut config = config(dir.0.clone(), Some(auth_support::ADMIN_PASSWORD));
    config.http = address;
    let server = tokio::spawn(ramal::server::run(config, listener, async {
        let _ = stopped.await;
    }));
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("ok"), "{response}");
    assert!(
        dir.0.join("ramal.db").exists(),
        "the database is in the data directory"
    );
    stop.send(()).unwrap();
    let result = tokio::time::timeout(std::time::Duration::from_secs(10), server).await;
    assert!(
        matches!(result, Ok(Ok(Ok(())))),
        "the server stops cleanly: {result:?}"
    );
}

#[tokio::test]
async fn prompt_speech_is_the_engines_tts_as_wav_and_bad_text_is_refused() {
    let app = app().await;
    let sara = app.session("sara").await;
    let reply = app
        .call(
            "GET",
            "/api/prompts/speech?text=Ol%C3%A1%2C%20Ana.&voice=pt-BR",
            &sara,
            "",
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.headers["content-type"], "audio/wav");
    let wav = reply.body.as_str().unwrap_or_default();
    assert!(
        wav.starts_with("RIFF") && wav.len() > 4000,
        "a WAV with speech in it"
    );
    // The prompt files a `file` prompt may name (this app's prompts directory does not
    // exist: none; `ramal-call` tests the listing itself).
    let reply = app.call("GET", "/api/prompts", &sara, "").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, json!([]));
    for (query, code) in [
        ("text=%20", "speech.empty"),
        (&*format!("text={}", "a".repeat(2001)), "speech.too_long"),
    ] {
        let reply = app
            .call("GET", &format!("/api/prompts/speech?{query}"), &sara, "")
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(reply.code(), code);
    }
}
