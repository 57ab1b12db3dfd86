//! The configuration API end to end over the router: trunks, queues, contact lists with a
//! streamed CSV import, campaigns, dispositions and results — who may do what, 422s with
//! field paths — and the OpenAPI document.

mod auth_support;

use auth_support::events::{event_socket, next_event};
use auth_support::{Caller, app};
use axum::http::StatusCode;
use ramal::api::{MAX_JSON_BYTES, openapi_document, routes};
use serde_json::{Value, json};

fn paths_and_codes(body: &Value) -> Vec<(String, String)> {
    body["error"]["fields"]
        .as_array()
        .map(|fields| {
            fields
                .iter()
                .map(|field| {
                    (
                        field["path"].as_str().unwrap_or("").to_owned(),
                        field["code"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_supervisor_sets_up_a_dialer_campaign_and_an_agent_dispositions_its_calls() {
    let app = app().await;
    let sara = app.session("sara").await;
    let ana = app.session("ana").await;
    let ana_id = app.user("ana").await.id;
    let sara_id = app.user("sara").await.id;

    let trunk = json!({
        "name": "Provider", "host": "sip.provider.example", "username": "ramal",
        "password": "s3cret", "caller_id": "+551130000000",
        "rewrite_rules": [{"kind": "strip-prefix", "prefix": "+55"}]
    });
    let reply = app
        .call("POST", "/api/trunks", &sara, &trunk.to_string())
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    assert!(
        !reply.body.to_string().contains("s3cret"),
        "{:?}",
        reply.body
    );
    assert_eq!(reply.body["has_password"], true);
    let trunk_id = reply.body["id"].as_i64().unwrap();

    let queue = json!({"name": "Vendas", "strategy": "longest-idle", "members": [{"user_id": ana_id, "skill_level": 7}]});
    let reply = app
        .call("POST", "/api/queues", &sara, &queue.to_string())
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    let queue_id = reply.body["id"].as_i64().unwrap();

    let list = json!({"name": "Clientes", "default_country": "BR", "duplicates": "avoid"});
    let reply = app
        .call("POST", "/api/contact-lists", &sara, &list.to_string())
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    let list_id = reply.body["id"].as_i64().unwrap();

    let csv = "nome;telefone;celular\nAna;(11) 3333-4444;11 98765-4321\nBia;11 3333-4444;\nCaio;abc;\nDora;21 2222-3333;\n";
    let reply = app
        .call(
            "POST",
            &format!("/api/contact-lists/{list_id}/imports?source=clientes.csv"),
            &sara,
            csv,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(
        (
            reply.body["rows_read"].as_u64(),
            reply.body["rows_imported"].as_u64()
        ),
        (Some(4), Some(2))
    );
    assert_eq!(
        reply.body["rejected_by_kind"],
        json!({"bad_phone": 1, "duplicate_phone": 1})
    );
    assert_eq!(reply.body["delimiter"], ";");
    let reply = app
        .call(
            "GET",
            &format!("/api/contact-lists/{list_id}/imports"),
            &sara,
            "",
        )
        .await;
    assert_eq!(reply.body[0]["source"], "clientes.csv");

    let reply = app
        .call(
            "GET",
            &format!("/api/contact-lists/{list_id}/contacts?limit=1"),
            &sara,
            "",
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["items"].as_array().map(Vec::len), Some(1));
    let after = reply.body["next_after"].as_i64().expect("a next page");
    let reply = app
        .call(
            "GET",
            &format!("/api/contact-lists/{list_id}/contacts?limit=1&after={after}"),
            &sara,
            "",
        )
        .await;
    assert_eq!(reply.body["items"][0]["fields"]["nome"], "Dora");
    let reply = app
        .call(
            "GET",
            &format!("/api/contact-lists/{list_id}/contacts?phone=%2B55%2011%2098765%204321"),
            &sara,
            "",
        )
        .await;
    assert_eq!(
        reply.body["items"][0]["fields"]["nome"], "Ana",
        "{:?}",
        reply.body
    );
    let ana_contact = reply.body["items"][0]["id"].as_i64().unwrap();

    let campaign = json!({
        "name": "Renovação", "type": "dialer", "contact_list_id": list_id, "trunk_id": trunk_id,
        "interaction": "ramal-forms", "record_calls": true, "objective": 100,
        "speech": "Bom dia!", "supervisors": [sara_id], "agents": [ana_id],
        "dialer": {
            "primary_action": {"kind": "connect-to-agent", "queue_id": queue_id},
            "max_simultaneous_calls": 5,
            "schedule": {"time_zone": "America/Sao_Paulo", "windows": [{"weekdays": ["mon"], "start": "09:00", "end": "18:00"}]},
            "dialing_mode": "horizontal",
            "retries": {"busy": {"max_attempts": 2, "delay_secs": 300}}
        }
    });
    let reply = app
        .call("POST", "/api/campaigns", &sara, &campaign.to_string())
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    assert_eq!(reply.body["status"], "draft");
    let id = reply.body["id"].as_i64().unwrap();

    let disposition = json!({"name": "Venda", "positive": true, "form": [
        {"name": "plano", "label": "Plano", "type": "choice", "options": ["básico", "ouro"], "required": true}
    ]});
    let reply = app
        .call(
            "POST",
            &format!("/api/campaigns/{id}/dispositions"),
            &sara,
            &disposition.to_string(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    let venda = reply.body["id"].as_i64().unwrap();
    let reply = app
        .call(
            "POST",
            &format!("/api/campaigns/{id}/status"),
            &sara,
            r#"{"status": "active"}"#,
        )
        .await;
    assert_eq!(
        (reply.status, reply.body["status"].as_str()),
        (StatusCode::OK, Some("active"))
    );

    // The agent: sees the campaign and its dispositions, cannot change them.
    let reply = app.call("GET", "/api/campaigns", &ana, "").await;
    assert_eq!(reply.body.as_array().map(Vec::len), Some(1));
    let reply = app
        .call(
            "GET",
            &format!("/api/campaigns/{id}/dispositions"),
            &ana,
            "",
        )
        .await;
    assert_eq!(reply.body[0]["name"], "Venda");
    let reply = app
        .call(
            "PUT",
            &format!("/api/campaigns/{id}"),
            &ana,
            &campaign.to_string(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);

    let result = json!({"call_id": "call-1", "disposition_id": venda, "contact_id": ana_contact, "values": {"plano": "ouro"}});
    let reply = app
        .call(
            "POST",
            &format!("/api/campaigns/{id}/results"),
            &ana,
            &result.to_string(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    assert_eq!(
        (
            reply.body["agent_id"].as_i64(),
            reply.body["form_version"].as_i64()
        ),
        (Some(ana_id), Some(1))
    );
    let reply = app
        .call(
            "POST",
            &format!("/api/campaigns/{id}/results"),
            &ana,
            &result.to_string(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    let bad = json!({"call_id": "call-2", "disposition_id": venda, "values": {"plano": "prata"}});
    let reply = app
        .call(
            "POST",
            &format!("/api/campaigns/{id}/results"),
            &ana,
            &bad.to_string(),
        )
        .await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation.failed")
    );
    assert_eq!(
        paths_and_codes(&reply.body),
        [("values.plano".to_owned(), "unknown".to_owned())]
    );
    let reply = app
        .call("GET", &format!("/api/campaigns/{id}/results"), &ana, "")
        .await;
    assert_eq!(
        reply.body["items"].as_array().map(Vec::len),
        Some(1),
        "{:?}",
        reply.body
    );

    // Unassigned, the campaign does not exist for the agent.
    let reply = app.call("PUT", &format!("/api/campaigns/{id}"), &sara, &json!({
        "name": "Renovação", "type": "dialer", "contact_list_id": list_id, "trunk_id": trunk_id,
        "dialer": campaign["dialer"].clone()
    }).to_string()).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(
        app.call("GET", &format!("/api/campaigns/{id}"), &ana, "")
            .await
            .status,
        StatusCode::NOT_FOUND,
        "ana was unassigned"
    );
    let reply = app
        .call(
            "POST",
            &format!("/api/campaigns/{id}/results"),
            &ana,
            &result.to_string(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn invalid_input_is_a_422_with_field_paths_and_oversized_json_a_413() {
    let app = app().await;
    let sara = app.session("sara").await;
    let reply = app
        .call(
            "POST",
            "/api/trunks",
            &sara,
            r#"{"name": "x", "host": "h", "port": "5060"}"#,
        )
        .await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation.failed")
    );
    assert_eq!(
        paths_and_codes(&reply.body),
        [("port".to_owned(), "type".to_owned())]
    );

    let campaign = json!({
        "name": "'; DROP TABLE campaigns; --", "type": "dialer",
        "dialer": {
            "primary_action": {"kind": "run-flow", "flow_id": "reception"},
            "max_simultaneous_calls": 5,
            "schedule": {"time_zone": "UTC", "windows": [
                {"weekdays": ["mon"], "start": "09:00", "end": "12:00"},
                {"weekdays": ["tue"], "start": "13:00", "end": "18:00"},
                {"weekdays": ["wed"], "start": "7h", "end": "18:00"}
            ]},
            "dialing_mode": "vertical"
        }
    });
    let reply = app
        .call("POST", "/api/campaigns", &sara, &campaign.to_string())
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        reply.body
    );
    assert_eq!(
        paths_and_codes(&reply.body),
        [
            ("contact_list_id".to_owned(), "required".to_owned()),
            ("trunk_id".to_owned(), "required".to_owned()),
            (
                "dialer.schedule.windows[2].start".to_owned(),
                "format".to_owned()
            ),
        ]
    );
    let reply = app
        .call(
            "POST",
            "/api/campaigns",
            &sara,
            r#"{"name": "x", "type": "outbound"}"#,
        )
        .await;
    assert_eq!(paths_and_codes(&reply.body)[0].0, "type");
    let reply = app.call("POST", "/api/campaigns", &sara, "{not json").await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::BAD_REQUEST, "body.invalid")
    );
    let huge = json!({"name": "x".repeat(MAX_JSON_BYTES), "host": "h"}).to_string();
    let reply = app.call("POST", "/api/trunks", &sara, &huge).await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::PAYLOAD_TOO_LARGE, "body.too_large")
    );
    let reply = app.call("GET", "/api/campaigns", &sara, "").await;
    assert_eq!(reply.body, json!([]), "nothing was written");
}

#[tokio::test]
async fn the_openapi_document_lists_every_route_of_the_table() {
    let document = openapi_document();
    for route in routes() {
        let method = route.verb.method().as_str().to_lowercase();
        let operation = &document["paths"][route.path][&method];
        assert!(operation.is_object(), "{method} {} is missing", route.path);
        assert_eq!(operation["summary"], route.summary);
    }
    let operations: usize = document["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    assert_eq!(operations, routes().len(), "nothing but the table's routes");
    let schemas = document["components"]["schemas"].as_object().unwrap();
    for name in [
        "CampaignSpec",
        "Campaign",
        "DialerSettings",
        "TrunkSpec",
        "QueueSpec",
        "DispositionSpec",
        "ImportReport",
        "User",
        "CreateUser",
        "CallRecord",
        "CurrentUser",
        "ApiToken",
        "NewToken",
    ] {
        assert!(
            schemas.contains_key(name),
            "{name} in components: {:?}",
            schemas.keys().collect::<Vec<_>>()
        );
    }
    let create = &document["paths"]["/api/campaigns"]["post"];
    assert_eq!(
        create["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/CampaignSpec"
    );
    assert!(!schemas["TrunkSpec"].to_string().is_empty());
    assert!(
        schemas["User"]["properties"].get("password_hash").is_none()
            && schemas["User"]["properties"].get("role").is_some(),
        "a user never shows a password hash"
    );
    assert_eq!(
        document["paths"]["/api/calls/{id}"]["get"]["responses"]["2XX"]["content"]["application/json"]
            ["schema"]["$ref"],
        "#/components/schemas/CallRecord"
    );
    assert!(
        schemas["Trunk"]["properties"].get("password").is_none()
            && schemas["Trunk"]["properties"].get("has_password").is_some(),
        "a trunk never shows its password"
    );

    let app = app().await;
    let served = app
        .call("GET", "/api/openapi.json", &Caller::Anonymous, "")
        .await;
    assert_eq!(
        (served.status, served.body["openapi"].as_str()),
        (StatusCode::OK, Some("3.1.0"))
    );
    let page = app.call("GET", "/api/docs", &Caller::Anonymous, "").await;
    assert!(
        page.body
            .as_str()
            .is_some_and(|html| html.contains("/api/openapi.json"))
    );
}

#[tokio::test]
async fn calls_are_listed_page_by_page_with_the_next_cursor_in_a_header() {
    let app = app().await;
    let sara = app.session("sara").await;
    let calls: Vec<ramal_store::CallRecord> = (0..5)
        .map(|n| {
            serde_json::from_value(json!({
                "id": format!("call-{n}"), "direction": "inbound", "caller": "100", "callee": "4000",
                "flow_id": if n == 2 { "sales" } else { "reception" }, "flow_version": 1,
                "started_at": 1_000 + n / 2, "answered_at": null, "ended_at": 9_000,
                "end_reason": "normal", "disposition": null, "trace": [], "variables": {},
                "surveys": [], "recording": null
            }))
            .expect("a call record")
        })
        .collect();
    app.state.store.record_calls(&calls).await.unwrap();
    let mut seen = Vec::new();
    let mut uri = "/api/calls?limit=2".to_owned();
    loop {
        let reply = app.call("GET", &uri, &sara, "").await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        seen.extend(
            reply
                .body
                .as_array()
                .unwrap()
                .iter()
                .map(|call| call["id"].as_str().unwrap().to_owned()),
        );
        let Some(next) = reply.headers.get("x-next-after") else {
            break;
        };
        uri = format!("/api/calls?limit=2&after={}", next.to_str().unwrap());
    }
    assert_eq!(seen, ["call-4", "call-2", "call-3", "call-0", "call-1"]);
    let reply = app.call("GET", "/api/calls?flow_id=sales", &sara, "").await;
    assert_eq!(reply.body.as_array().map(Vec::len), Some(1));
    let reply = app
        .call("GET", "/api/calls?after=nonsense", &sara, "")
        .await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::BAD_REQUEST, "query.after")
    );
}

#[tokio::test]
async fn the_event_stream_gives_each_role_its_share_over_a_websocket() {
    use ramal::api::Event;
    let app = app().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = app.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let token = |caller: Caller| match caller {
        Caller::Cookie(token) => token,
        _ => unreachable!("a session"),
    };
    let mut supervisor = event_socket(address, &token(app.session("sara").await)).await;
    let mut agent = event_socket(address, &token(app.session("ana").await)).await;

    app.state.events.publish(Event::CampaignProgress {
        campaign_id: 999,
        status: "active".into(),
        positive: 1,
        objective: 10,
        at: 1,
    });
    app.state.events.publish(Event::AgentState {
        agent: "ana".into(),
        state: "ready".into(),
        reason: None,
        call_id: None,
        at: 2,
    });
    let first = next_event(&mut supervisor).await;
    assert_eq!(
        (first["type"].as_str(), first["campaign_id"].as_i64()),
        (Some("campaign-progress"), Some(999))
    );
    assert_eq!(next_event(&mut supervisor).await["type"], "agent-state");
    let only = next_event(&mut agent).await;
    assert_eq!(
        (only["type"].as_str(), only["agent"].as_str()),
        (Some("agent-state"), Some("ana")),
        "not a campaign the agent is not assigned to"
    );

    let refused = app.call("GET", "/api/events", &Caller::Anonymous, "").await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn hostile_csv_uploads_get_clear_errors_and_write_nothing() {
    let app = app().await;
    let sara = app.session("sara").await;
    let list = json!({"name": "Hostil", "default_country": "BR"});
    let reply = app
        .call("POST", "/api/contact-lists", &sara, &list.to_string())
        .await;
    let id = reply.body["id"].as_i64().expect("a list");
    for (body, code) in [
        (
            "x\u{0}\u{1}\u{2}\u{3}\u{4}\u{5}\u{6}garbage\u{0}\u{0}\u{0}",
            "import.file",
        ),
        ("nome,\"telefone\n1,2\n", "import.header"),
        ("nome;cidade\nAna;SP\n", "import.header"),
    ] {
        let reply = app
            .call(
                "POST",
                &format!("/api/contact-lists/{id}/imports"),
                &sara,
                body,
            )
            .await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, code),
            "{body:?}: {:?}",
            reply.body
        );
    }
    let reply = app
        .call(
            "POST",
            &format!("/api/contact-lists/{id}/imports?mode=sometimes"),
            &sara,
            "a\n",
        )
        .await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::BAD_REQUEST, "query.mode")
    );
    let all_or_nothing = "nome,telefone\nAna,11987654321\nBia,not a phone\n";
    let reply = app
        .call(
            "POST",
            &format!("/api/contact-lists/{id}/imports?mode=all-or-nothing"),
            &sara,
            all_or_nothing,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(
        (
            reply.body["committed"].as_bool(),
            reply.body["rows_rejected"].as_u64()
        ),
        (Some(false), Some(1))
    );
    let reply = app
        .call(
            "GET",
            &format!("/api/contact-lists/{id}/contacts"),
            &sara,
            "",
        )
        .await;
    assert_eq!(reply.body["items"], json!([]), "nothing written");
}
