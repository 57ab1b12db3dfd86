//! The example nodes from `guest-sdk/examples`, built as real components, run by the host.

mod common;

use common::{FakeHttp, host_with, load};
use ramal_wasm::{HttpFailure, NoHttp, RunError, RunInput};
use serde_json::{Map, Value, json};
use std::sync::Arc;

fn contact(fields: Value) -> Map<String, Value> {
    fields.as_object().cloned().unwrap_or_default()
}

#[test]
fn cpf_check_describes_itself_and_routes_on_the_typed_prefix() {
    let host = host_with(Arc::new(NoHttp), |_| {});
    let Some(module) = load(&host, "cpf-check") else {
        return;
    };
    let description = module.description();
    assert_eq!(description.name, "cpf-check");
    assert_eq!(description.version, "1.0.0");
    assert_eq!(description.ports, ["match", "mismatch", "invalid-cpf"]);
    assert_eq!(description.params_schema["type"], "object");

    let run = |cpf: &str, digits: &str| {
        host.run(
            &module,
            &RunInput {
                call_id: "call-1".into(),
                contact: contact(json!({ "name": "Ana", "cpf": cpf })),
                params: json!({ "min_digits": 3 }),
                digits: digits.into(),
                ..RunInput::default()
            },
        )
    };
    let outcome = run("529.982.247-25", "529").expect("runs");
    assert_eq!(outcome.port, "match");
    assert_eq!(outcome.variables.get("cpf_checked"), Some(&json!(true)));
    assert_eq!(run("529.982.247-25", "111").expect("runs").port, "mismatch");
    assert_eq!(
        run("529.982.247-24", "529").expect("runs").port,
        "invalid-cpf"
    );
    assert_eq!(
        run("52998224725", "52998224725").expect("runs").port,
        "match"
    );
}

#[test]
fn cpf_check_rejects_params_of_the_wrong_type() {
    let host = host_with(Arc::new(NoHttp), |_| {});
    let Some(module) = load(&host, "cpf-check") else {
        return;
    };
    let result = host.run(
        &module,
        &RunInput {
            params: json!({ "min_digits": "three" }),
            ..RunInput::default()
        },
    );
    assert!(
        matches!(result, Err(RunError::InvalidParams(_))),
        "{result:?}"
    );
}

#[test]
fn loading_the_same_bytes_twice_is_one_module() {
    let host = host_with(Arc::new(NoHttp), |_| {});
    let Some(bytes) = common::component("cpf-check") else {
        return;
    };
    let first = host.load(&bytes).expect("loads");
    let second = host.load(&bytes).expect("loads");
    assert!(Arc::ptr_eq(&first, &second));
    assert_eq!(
        host.module(first.hash()).map(|m| m.hash()),
        Some(first.hash())
    );
}

#[test]
fn crm_lookup_maps_the_answer_into_variables() {
    let http = FakeHttp::answering(200, r#"{"customer": {"tier": "gold", "score": 7}}"#);
    let host = host_with(http.clone(), |_| {});
    let Some(module) = load(&host, "crm-lookup") else {
        return;
    };
    let outcome = host
        .run(
            &module,
            &RunInput {
                call_id: "call-1".into(),
                contact: contact(json!({ "id": "42 b" })),
                params: json!({
                    "url": "https://crm.example.com/contacts/{key}",
                    "map": { "/customer/tier": "tier", "/customer/score": "score" }
                }),
                ..RunInput::default()
            },
        )
        .expect("runs");
    assert_eq!(outcome.port, "found");
    assert_eq!(outcome.variables.get("tier"), Some(&json!("gold")));
    assert_eq!(outcome.variables.get("score"), Some(&json!(7)));
    let seen = http.seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].url, "https://crm.example.com/contacts/42%20b");
}

#[test]
fn crm_lookup_takes_not_found_and_fails_on_errors() {
    let http = FakeHttp::answering(404, "{}");
    let host = host_with(http.clone(), |_| {});
    let Some(module) = load(&host, "crm-lookup") else {
        return;
    };
    let input = RunInput {
        contact: contact(json!({ "id": "7" })),
        params: json!({ "url": "https://crm.example.com/c/{key}" }),
        ..RunInput::default()
    };
    assert_eq!(host.run(&module, &input).expect("runs").port, "not-found");
    *http.answer.lock().unwrap() = Some(Err(HttpFailure::Timeout));
    let result = host.run(&module, &input);
    assert!(
        matches!(&result, Err(RunError::Failed(message)) if message.contains("Timeout")),
        "{result:?}"
    );
    // A CRM outside the allowlist is never contacted.
    let before = http.seen.lock().unwrap().len();
    let elsewhere = RunInput {
        params: json!({ "url": "https://crm.evil.test/c/{key}" }),
        ..input
    };
    let result = host.run(&module, &elsewhere);
    assert!(
        matches!(&result, Err(RunError::Failed(message)) if message.contains("NotAllowed")),
        "{result:?}"
    );
    assert_eq!(http.seen.lock().unwrap().len(), before);
}

#[test]
fn ab_split_is_stable_per_call_and_follows_the_weights() {
    let host = host_with(Arc::new(NoHttp), |_| {});
    let Some(module) = load(&host, "ab-split") else {
        return;
    };
    let port = |call: &str, weights: Value| {
        host.run(
            &module,
            &RunInput {
                call_id: call.into(),
                params: weights,
                ..RunInput::default()
            },
        )
        .map(|outcome| outcome.port)
    };
    assert_eq!(port("c-1", json!({})), port("c-1", json!({})));
    assert_eq!(port("c-1", json!({ "a": 0, "b": 1 })).as_deref(), Ok("b"));
    let a = (0..200)
        .filter(|n| port(&format!("call-{n}"), json!({ "a": 80, "b": 20 })).as_deref() == Ok("a"))
        .count();
    assert!((130..=190).contains(&a), "{a} of 200 took a");
    assert!(matches!(
        port("c", json!({ "a": 0, "b": 0 })),
        Err(RunError::InvalidParams(_))
    ));
}
