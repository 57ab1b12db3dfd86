//! Webhook attempts against a real HTTP server on loopback: answers, server errors,
//! timeouts, oversized bodies and refused connections each become the right event.

use axum::Router;
use axum::routing::{get, post};
use ramal_call::webhook::{MAX_RESPONSE_BYTES, Webhooks};
use ramal_flow::execution::{CommandId, Event, HttpRequest};
use std::time::Duration;

async fn server() -> std::net::SocketAddr {
    let app = Router::new()
        .route("/echo", post(|body: String| async move { body }))
        .route(
            "/fail",
            get(|| async { (axum::http::StatusCode::SERVICE_UNAVAILABLE, "down") }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        )
        .route(
            "/huge",
            get(|| async { "x".repeat(MAX_RESPONSE_BYTES + 1) }),
        )
        .route(
            "/headers",
            get(|headers: axum::http::HeaderMap| async move {
                headers
                    .get("x-token")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("none")
                    .to_owned()
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("loopback is available");
    let address = listener
        .local_addr()
        .expect("a bound listener has an address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    address
}

fn request(method: &str, url: String, body: Option<&str>, timeout_ms: u64) -> HttpRequest {
    HttpRequest {
        method: method.into(),
        url,
        headers: vec![("X-Token".into(), "secret".into())],
        body: body.map(str::to_owned),
        timeout: Duration::from_millis(timeout_ms),
    }
}

#[tokio::test]
async fn each_outcome_becomes_the_event_the_executor_waits_for() {
    let address = server().await;
    let webhooks = Webhooks::new().unwrap();
    let id = CommandId(7);
    let event = webhooks
        .perform(
            id,
            request(
                "POST",
                format!("http://{address}/echo"),
                Some(r#"{"ok":true}"#),
                2000,
            ),
        )
        .await;
    assert_eq!(
        event,
        Event::HttpResponded {
            id,
            status: 200,
            body: r#"{"ok":true}"#.into()
        }
    );
    let event = webhooks
        .perform(
            id,
            request("GET", format!("http://{address}/headers"), None, 2000),
        )
        .await;
    assert_eq!(
        event,
        Event::HttpResponded {
            id,
            status: 200,
            body: "secret".into()
        }
    );
    let event = webhooks
        .perform(
            id,
            request("GET", format!("http://{address}/fail"), None, 2000),
        )
        .await;
    assert!(
        matches!(event, Event::HttpResponded { status: 503, .. }),
        "{event:?}"
    );
    let event = webhooks
        .perform(
            id,
            request("GET", format!("http://{address}/slow"), None, 200),
        )
        .await;
    assert!(
        matches!(&event, Event::HttpFailed { reason, .. } if reason.starts_with("timed out")),
        "{event:?}"
    );
    let event = webhooks
        .perform(
            id,
            request("GET", format!("http://{address}/huge"), None, 5000),
        )
        .await;
    assert!(
        matches!(&event, Event::HttpFailed { reason, .. } if reason.contains("larger than")),
        "{event:?}"
    );
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let event = webhooks
        .perform(id, request("GET", format!("http://{closed}/"), None, 2000))
        .await;
    assert!(
        matches!(&event, Event::HttpFailed { reason, .. } if reason.starts_with("could not connect")),
        "{event:?}"
    );
    let event = webhooks
        .perform(
            id,
            request("BR EW", format!("http://{address}/"), None, 2000),
        )
        .await;
    assert!(
        matches!(&event, Event::HttpFailed { reason, .. } if reason.contains("not an HTTP method")),
        "{event:?}"
    );
}
