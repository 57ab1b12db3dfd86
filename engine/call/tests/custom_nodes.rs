//! Custom nodes on calls: `cpf-check` (a real component built by `cargo xtask components`)
//! installed in the registry, its ports read from `describe()` into the flow compiler, and
//! a call driven through the executor with the node run by the Wasm host.

use ramal_call::NodeModules;
use ramal_flow::execution::{Command, Direction, Ending, Event};
use ramal_flow::{CallInfo, Environment, Execution, Instant, compile_json};
use ramal_store::Store;
use ramal_wasm::{HostConfig, NoHttp, WasmHost};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

fn component(name: &str) -> Option<Vec<u8>> {
    let exe = std::env::current_exe().expect("the test binary has a path");
    let dir = std::env::var_os("RAMAL_COMPONENTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            exe.ancestors()
                .nth(3)
                .expect("<target>/<profile>/deps/<test>")
                .join("wasm32-unknown-unknown/components")
        });
    let path = dir.join(format!("{name}.wasm"));
    match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(error) => {
            let message = format!(
                "\n!!! {} is missing ({error}): run `cargo xtask components` (cargo xtask test does).\n",
                path.display()
            );
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{message}under CI this is a failure"
            );
            eprintln!("{message}!!! this test did NOT run.\n");
            None
        }
    }
}

async fn registry(test: &str) -> (Arc<NodeModules>, PathBuf) {
    let path = std::env::temp_dir().join(format!(
        "ramal_custom_nodes_{test}_{}.db",
        std::process::id()
    ));
    let store = Store::open(&format!("sqlite://{}", path.display()))
        .await
        .expect("SQLite opens");
    let mut config = HostConfig::default();
    config.limits.time_budget = Duration::from_millis(200);
    let host = WasmHost::new(config, Arc::new(NoHttp)).expect("the host starts");
    (Arc::new(NodeModules::new(store, Arc::new(host))), path)
}

/// Runs one call: the caller presses `digits`; returns how the flow ended.
async fn call(
    nodes: &NodeModules,
    flow: &Arc<ramal_flow::Flow>,
    cpf: &str,
    digits: &str,
) -> String {
    let info = CallInfo {
        call_id: format!("call-{digits}"),
        caller: "+5511999990000".into(),
        callee: "4000".into(),
        direction: Direction::Inbound,
        campaign: None,
        started_at_unix_ms: 1_700_000_000_000,
        contact: json!({ "name": "Ana", "cpf": cpf })
            .as_object()
            .cloned()
            .unwrap_or_default(),
        variables: Default::default(),
    };
    let mut now = Instant::from_millis(0);
    let mut execution = Execution::start(Arc::clone(flow), info, now);
    for digit in digits.chars() {
        now = Instant::from_millis(now.as_millis() + 200);
        execution.handle(Event::Digit { digit }, now);
    }
    for _ in 0..10 {
        let Some(command) = execution.poll_command() else {
            break;
        };
        if let Command::RunCustomNode {
            id,
            module,
            version,
            params,
            variables,
            call,
            contact,
            ..
        } = command
        {
            let result = nodes
                .run(&module, &version, params, variables, &call, &contact)
                .await;
            now = Instant::from_millis(now.as_millis() + 5);
            execution.handle(Event::CustomNodeFinished { id, result }, now);
        }
    }
    match execution.ending() {
        Some(Ending::Flow { reason, .. }) => reason.clone(),
        other => format!("not ended: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpf_check_routes_a_call() {
    let Some(wasm) = component("cpf-check") else {
        return;
    };
    let (nodes, path) = registry("routes").await;
    let installed = nodes
        .install(wasm.clone(), None, 1_000)
        .await
        .expect("installs");
    assert_eq!(
        (installed.name.as_str(), installed.version.as_str()),
        ("cpf-check", "1.0.0")
    );
    assert_eq!(
        installed.description["ports"],
        json!(["match", "mismatch", "invalid-cpf"])
    );
    // Installing the same bytes again is a no-op.
    assert_eq!(
        nodes
            .install(wasm, None, 2_000)
            .await
            .expect("installs")
            .hash,
        installed.hash
    );

    let custom_nodes = nodes.custom_nodes().await.expect("the registry answers");
    let document = include_str!("fixtures/cpf-custom.json");
    let environment = Environment {
        custom_nodes: Some(custom_nodes),
        ..Environment::default()
    };
    let compilation = compile_json(document, &environment);
    assert!(!compilation.has_errors(), "{:?}", compilation.diagnostics);
    let flow = compilation.flow.expect("compiles");

    assert_eq!(
        call(&nodes, &flow, "529.982.247-25", "529").await,
        "verified"
    );
    assert_eq!(
        call(&nodes, &flow, "529.982.247-25", "123").await,
        "refused"
    );
    assert_eq!(
        call(&nodes, &flow, "111.111.111-11", "111").await,
        "refused"
    );
    let _ = std::fs::remove_file(&path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flow_pinning_a_module_that_is_not_installed_does_not_compile_and_a_missing_module_fails_the_node()
 {
    let (nodes, path) = registry("missing").await;
    let custom_nodes = nodes.custom_nodes().await.expect("the registry answers");
    let environment = Environment {
        custom_nodes: Some(custom_nodes),
        ..Environment::default()
    };
    let compilation = compile_json(include_str!("fixtures/cpf-custom.json"), &environment);
    assert!(
        compilation
            .diagnostics
            .iter()
            .any(|d| d.code == "custom.unknown_module")
    );
    let result = nodes
        .run(
            "cpf-check",
            "9.9.9",
            Value::Null,
            Default::default(),
            &json!({ "id": "c" }),
            &json!({}),
        )
        .await;
    assert!(result.is_err());
    let _ = std::fs::remove_file(&path);
}
