//! Validation tests: one per diagnostic code, each checking the code, the node and the JSON
//! path, plus documents with many problems, hostile expressions and port resolution.

use super::*;
use crate::diagnostic::Severity;
use serde_json::{Value, json};

/// A document with `nodes` (and declared `variables`).
fn document_with(variables: Value, nodes: Value) -> FlowDocument {
    let value = json!({
        "schema": "ramal.flow/v1",
        "id": "test",
        "name": "Test",
        "variables": variables,
        "nodes": nodes,
    });
    serde_json::from_value(value).expect("test documents have the document's shape")
}

fn check(nodes: Value) -> Compilation {
    compile(&document_with(json!({}), nodes), &Environment::default())
}

fn check_in(environment: &Environment, nodes: Value) -> Compilation {
    compile(&document_with(json!({}), nodes), environment)
}

/// `start → x`, where `x` is the node under test, and `x`'s ports lead to `end`.
fn start_then(node: Value) -> Value {
    json!([
        { "id": "start", "kind": "start", "ports": { "next": "x" } },
        node,
        { "id": "end", "kind": "hangup" },
    ])
}

fn listing(compilation: &Compilation) -> String {
    compilation
        .diagnostics
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The diagnostics with `code`, as (severity, node, path).
fn found(compilation: &Compilation, code: &str) -> Vec<(Severity, Option<String>, String)> {
    compilation
        .diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.code == code)
        .map(|diagnostic| {
            (
                diagnostic.severity,
                diagnostic.node_id.clone(),
                diagnostic.json_path.clone(),
            )
        })
        .collect()
}

/// Asserts that `compilation` has exactly one diagnostic with `code`, at `node` and `path`.
fn assert_one(
    compilation: &Compilation,
    code: &str,
    severity: Severity,
    node: Option<&str>,
    path: &str,
) {
    assert_eq!(
        found(compilation, code),
        vec![(severity, node.map(str::to_owned), path.to_owned())],
        "diagnostics:\n{}",
        listing(compilation)
    );
    if severity == Severity::Error {
        assert!(compilation.flow.is_none(), "an error must block the flow");
    }
}

fn assert_error(compilation: &Compilation, code: &str, node: Option<&str>, path: &str) {
    assert_one(compilation, code, Severity::Error, node, path);
}

fn assert_clean(compilation: &Compilation) {
    assert!(
        !compilation.has_errors(),
        "unexpected errors:\n{}",
        listing(compilation)
    );
    assert!(compilation.flow.is_some());
}

fn tts(text: &str) -> Value {
    json!({ "tts": text })
}

// --- the document itself --------------------------------------------------------------

#[test]
fn unreadable_documents_give_document_diagnostics_without_a_node() {
    let cases = [
        ("not json", "document.syntax", ""),
        (
            r#"{"schema": "ramal.flow/v2", "nodes": []}"#,
            "document.schema_version",
            "/schema",
        ),
        (
            r#"{"id": "a", "nodes": []}"#,
            "document.schema_version",
            "/schema",
        ),
        (
            r#"{"schema": "ramal.flow/v1", "id": "a", "name": "A", "nodes": [{"id": "s"}]}"#,
            "document.shape",
            "/nodes/0",
        ),
        (
            r#"{"schema": "ramal.flow/v1", "id": "a", "name": "A", "nodes": [{"id": 7, "kind": "start"}]}"#,
            "document.shape",
            "/nodes/0/id",
        ),
    ];
    for (text, code, path) in cases {
        let compilation = compile_json(text, &Environment::default());
        assert!(compilation.flow.is_none(), "{text}");
        assert_eq!(compilation.diagnostics.len(), 1, "{text}");
        let diagnostic = &compilation.diagnostics[0];
        assert_eq!(
            (
                diagnostic.code.as_str(),
                diagnostic.json_path.as_str(),
                diagnostic.node_id.as_deref()
            ),
            (code, path, None),
            "{text}"
        );
    }
}

#[test]
fn a_document_over_the_size_limit_is_too_large() {
    let text = format!(
        r#"{{"schema": "ramal.flow/v1", "id": "a", "name": "{}", "nodes": []}}"#,
        "x".repeat(crate::document::MAX_DOCUMENT_BYTES)
    );
    let compilation = compile_json(&text, &Environment::default());
    assert_error(&compilation, "document.too_large", None, "");
}

#[test]
fn a_document_with_too_many_nodes_is_too_large() {
    let nodes: Vec<Value> = (0..=crate::document::MAX_NODES)
        .map(|index| json!({ "id": format!("n{index}"), "kind": "hangup" }))
        .collect();
    let text =
        json!({ "schema": "ramal.flow/v1", "id": "a", "name": "A", "nodes": nodes }).to_string();
    let compilation = compile_json(&text, &Environment::default());
    assert_error(&compilation, "document.too_large", None, "/nodes");
}

// --- flow-level checks ------------------------------------------------------------------

#[test]
fn a_flow_id_with_capitals_or_spaces_is_a_bad_id() {
    let long = "a".repeat(65);
    for id in ["Bad Id", "", "ação", long.as_str()] {
        let mut document = document_with(
            json!({}),
            start_then(json!({ "id": "x", "kind": "hangup" })),
        );
        document.id = id.to_owned();
        let compilation = compile(&document, &Environment::default());
        assert_error(&compilation, "flow.bad_id", None, "/id");
    }
}

#[test]
fn declared_variables_with_bad_or_reserved_names_are_bad_names() {
    for name in ["2x", "a-b", "call", "contact", "true", "", "ç"] {
        let document = document_with(
            json!({ name: { "default": 1 } }),
            start_then(json!({ "id": "x", "kind": "hangup" })),
        );
        let compilation = compile(&document, &Environment::default());
        let path = format!("/variables/{}", crate::diagnostic::pointer_segment(name));
        assert_error(&compilation, "variable.bad_name", None, &path);
    }
}

#[test]
fn a_node_storing_into_a_bad_variable_name_is_a_bad_name_at_that_node() {
    let cases = [
        (
            json!({ "id": "x", "kind": "collect", "params": { "max_digits": 3, "store": "contact" } }),
            "/nodes/1/params/store",
        ),
        (
            json!({ "id": "x", "kind": "set-variables", "params": { "assign": { "9lives": "1" } } }),
            "/nodes/1/params/assign/9lives",
        ),
        (
            json!({ "id": "x", "kind": "http-request", "params": { "url": "https://a.example", "response": { "a b": "/x" } } }),
            "/nodes/1/params/response/a b",
        ),
    ];
    for (node, path) in cases {
        let compilation = check(start_then(node));
        assert_error(&compilation, "variable.bad_name", Some("x"), path);
    }
}

#[test]
fn an_empty_or_overlong_node_id_is_a_bad_node_id() {
    let long = "n".repeat(65);
    for id in ["", long.as_str(), "tab\there"] {
        let compilation = check(json!([
            { "id": "start", "kind": "start", "ports": { "next": id } },
            { "id": id, "kind": "hangup" },
        ]));
        assert_error(&compilation, "node.bad_id", Some(id), "/nodes/1/id");
    }
}

#[test]
fn a_second_node_with_the_same_id_is_a_duplicate() {
    let compilation = check(json!([
        { "id": "start", "kind": "start", "ports": { "next": "a" } },
        { "id": "a", "kind": "hangup" },
        { "id": "a", "kind": "hangup" },
    ]));
    assert_error(&compilation, "node.duplicate_id", Some("a"), "/nodes/2/id");
}

#[test]
fn an_unknown_kind_is_reported_at_the_kind() {
    let compilation = check(start_then(json!({ "id": "x", "kind": "teleport" })));
    assert_error(
        &compilation,
        "node.unknown_kind",
        Some("x"),
        "/nodes/1/kind",
    );
}

#[test]
fn bad_node_parameters_are_reported_at_the_parameter() {
    let window = |mon: Value, timezone: &str| {
        json!({ "id": "x", "kind": "time-range",
                "params": { "timezone": timezone, "weekly": { "mon": mon } } })
    };
    let cases = [
        (
            "prompt with file and tts",
            json!({ "id": "x", "kind": "play", "params": { "prompt": { "file": "a", "tts": "b" } } }),
            "/nodes/1/params/prompt",
        ),
        (
            "prompt with neither",
            json!({ "id": "x", "kind": "play", "params": { "prompt": {} } }),
            "/nodes/1/params/prompt",
        ),
        (
            "menu option of two keys",
            json!({ "id": "x", "kind": "menu", "params": { "prompt": tts("hi"), "options": { "12": "twelve" } } }),
            "/nodes/1/params/options/12",
        ),
        (
            "menu without options",
            json!({ "id": "x", "kind": "menu", "params": { "prompt": tts("hi"), "options": {} } }),
            "/nodes/1/params/options",
        ),
        (
            "menu timeout that is not a duration",
            json!({ "id": "x", "kind": "menu", "params": { "prompt": tts("hi"), "options": { "1": "a" }, "timeout": "5 days" } }),
            "/nodes/1/params/timeout",
        ),
        (
            "collect min above max",
            json!({ "id": "x", "kind": "collect", "params": { "min_digits": 4, "max_digits": 3 } }),
            "/nodes/1/params/min_digits",
        ),
        (
            "collect max of zero",
            json!({ "id": "x", "kind": "collect", "params": { "min_digits": 0, "max_digits": 0 } }),
            "/nodes/1/params/max_digits",
        ),
        (
            "collect terminator of two keys",
            json!({ "id": "x", "kind": "collect", "params": { "max_digits": 3, "terminator": "##" } }),
            "/nodes/1/params/terminator",
        ),
        (
            "collect with a bad regex rule",
            json!({ "id": "x", "kind": "collect", "params": { "max_digits": 3, "validate": [ "cpf", { "regex": "(" } ] } }),
            "/nodes/1/params/validate/1",
        ),
        (
            "schedule window out of range",
            window(json!(["08:00-25:00"]), "America/Sao_Paulo"),
            "/nodes/1/params/weekly/mon/0",
        ),
        (
            "schedule windows that overlap",
            window(json!(["08:00-12:00", "11:00-13:00"]), "America/Sao_Paulo"),
            "/nodes/1/params/weekly/mon/1",
        ),
        (
            "schedule in an unknown time zone",
            window(json!(["08:00-12:00"]), "Mars/Olympus"),
            "/nodes/1/params/timezone",
        ),
        (
            "http with an unknown method",
            json!({ "id": "x", "kind": "http-request", "params": { "method": "FETCH", "url": "https://a.example" } }),
            "/nodes/1/params/method",
        ),
        (
            "http url without http",
            json!({ "id": "x", "kind": "http-request", "params": { "url": "ftp://a.example" } }),
            "/nodes/1/params/url",
        ),
        (
            "http response that is not a pointer",
            json!({ "id": "x", "kind": "http-request", "params": { "url": "https://a.example", "response": { "name": "customer.name" } } }),
            "/nodes/1/params/response/name",
        ),
        (
            "survey scale up to 12",
            json!({ "id": "x", "kind": "survey", "params": { "survey": "s", "question": tts("rate"), "max": 12 } }),
            "/nodes/1/params/max",
        ),
        (
            "switch case port used twice",
            json!({ "id": "x", "kind": "switch", "params": { "cases": [
                { "port": "a", "expr": "true" }, { "port": "a", "expr": "false" } ] } }),
            "/nodes/1/params/cases/1/port",
        ),
        (
            "switch case named like a fixed port",
            json!({ "id": "x", "kind": "switch", "params": { "cases": [ { "port": "default", "expr": "true" } ] } }),
            "/nodes/1/params/cases/0/port",
        ),
        (
            "queue without an id",
            json!({ "id": "x", "kind": "queue", "params": { "queue": " " } }),
            "/nodes/1/params/queue",
        ),
        (
            "exit without a port",
            json!({ "id": "x", "kind": "exit", "params": { "port": "" } }),
            "/nodes/1/params/port",
        ),
        (
            "set-variables with nothing to assign",
            json!({ "id": "x", "kind": "set-variables", "params": { "assign": {} } }),
            "/nodes/1/params/assign",
        ),
    ];
    for (name, node, path) in cases {
        let compilation = check(start_then(node));
        let bad: Vec<_> = found(&compilation, "node.bad_params");
        assert_eq!(
            bad,
            vec![(Severity::Error, Some("x".to_owned()), path.to_owned())],
            "{name}:\n{}",
            listing(&compilation)
        );
        assert!(compilation.flow.is_none(), "{name}");
    }
}

// --- ports ------------------------------------------------------------------------------

#[test]
fn a_port_the_kind_does_not_have_is_unknown() {
    let compilation = check(start_then(json!({
        "id": "x", "kind": "play", "params": { "prompt": tts("hi") },
        "ports": { "next": "end", "a/b": "end" }
    })));
    assert_error(
        &compilation,
        "port.unknown",
        Some("x"),
        "/nodes/1/ports/a~1b",
    );
}

#[test]
fn a_port_leading_to_a_missing_node_is_dangling() {
    let compilation = check(start_then(json!({
        "id": "x", "kind": "play", "params": { "prompt": tts("hi") }, "ports": { "next": "ghost" }
    })));
    assert_error(
        &compilation,
        "port.dangling",
        Some("x"),
        "/nodes/1/ports/next",
    );
}

#[test]
fn a_declared_port_left_unconnected_is_only_a_warning() {
    let compilation = check(json!([
        { "id": "start", "kind": "start", "ports": { "next": "x" } },
        { "id": "x", "kind": "play", "params": { "prompt": tts("hi") } },
    ]));
    assert_one(
        &compilation,
        "port.unconnected",
        Severity::Warning,
        Some("x"),
        "/nodes/1/ports",
    );
    assert_clean(&compilation);
}

// --- graph ------------------------------------------------------------------------------

#[test]
fn a_flow_without_start_has_no_start() {
    let compilation = check(json!([{ "id": "end", "kind": "hangup" }]));
    assert_error(&compilation, "flow.no_start", None, "/nodes");
}

#[test]
fn every_start_after_the_first_is_one_too_many() {
    let compilation = check(json!([
        { "id": "a", "kind": "start", "ports": { "next": "end" } },
        { "id": "end", "kind": "hangup" },
        { "id": "b", "kind": "start", "ports": { "next": "end" } },
    ]));
    assert_error(&compilation, "flow.many_starts", Some("b"), "/nodes/2");
}

#[test]
fn a_node_no_path_reaches_is_unreachable_as_a_warning() {
    let compilation = check(json!([
        { "id": "start", "kind": "start", "ports": { "next": "end" } },
        { "id": "end", "kind": "hangup" },
        { "id": "island", "kind": "hangup" },
    ]));
    assert_one(
        &compilation,
        "node.unreachable",
        Severity::Warning,
        Some("island"),
        "/nodes/2",
    );
    assert_clean(&compilation);
}

#[test]
fn a_loop_of_condition_and_set_variables_is_an_instant_loop() {
    let document = document_with(
        json!({ "n": { "default": 0 } }),
        json!([
            { "id": "start", "kind": "start", "ports": { "next": "check" } },
            { "id": "check", "kind": "condition", "params": { "expr": "n < 3" },
              "ports": { "true": "bump", "false": "end", "error": "end" } },
            { "id": "bump", "kind": "set-variables", "params": { "assign": { "n": "n + 1" } },
              "ports": { "next": "check", "error": "end" } },
            { "id": "end", "kind": "hangup" },
        ]),
    );
    let compilation = compile(&document, &Environment::default());
    assert_error(&compilation, "flow.instant_loop", Some("check"), "/nodes/1");
    let message = &compilation
        .diagnostics
        .iter()
        .find(|d| d.code == "flow.instant_loop")
        .expect("reported")
        .message;
    assert!(message.contains("check → bump"), "{message}");
}

#[test]
fn a_node_leading_to_itself_without_waiting_is_an_instant_loop() {
    let compilation = check(start_then(json!({
        "id": "x", "kind": "set-variables", "params": { "assign": { "n": "1" } },
        "ports": { "next": "x", "error": "end" }
    })));
    assert_error(&compilation, "flow.instant_loop", Some("x"), "/nodes/1");
}

#[test]
fn a_loop_through_a_menu_is_not_an_instant_loop() {
    let document = document_with(
        json!({ "n": { "default": 0 } }),
        json!([
            { "id": "start", "kind": "start", "ports": { "next": "check" } },
            { "id": "check", "kind": "condition", "params": { "expr": "n < 3" },
              "ports": { "true": "menu", "false": "end", "error": "end" } },
            { "id": "menu", "kind": "menu", "params": { "prompt": tts("again?"), "options": { "1": "yes" } },
              "ports": { "1": "bump", "no-input": "end", "invalid": "end" } },
            { "id": "bump", "kind": "set-variables", "params": { "assign": { "n": "n + 1" } },
              "ports": { "next": "check", "error": "end" } },
            { "id": "end", "kind": "hangup" },
        ]),
    );
    let compilation = compile(&document, &Environment::default());
    assert!(
        found(&compilation, "flow.instant_loop").is_empty(),
        "{}",
        listing(&compilation)
    );
    assert_clean(&compilation);
}

// --- expressions ------------------------------------------------------------------------

#[test]
fn an_expression_that_does_not_parse_is_a_compile_error_at_the_expression() {
    let cases = [
        (
            json!({ "id": "x", "kind": "condition", "params": { "expr": "1 +" } }),
            "/nodes/1/params/expr",
        ),
        (
            json!({ "id": "x", "kind": "switch", "params": { "cases": [ { "port": "a", "expr": "true" }, { "port": "b", "expr": "((" } ] } }),
            "/nodes/1/params/cases/1/expr",
        ),
        (
            json!({ "id": "x", "kind": "play", "params": { "prompt": tts("Hi {{ 1 + }}") } }),
            "/nodes/1/params/prompt/tts",
        ),
        (
            json!({ "id": "x", "kind": "http-request", "params": { "url": "https://a.example/{{ ) }}" } }),
            "/nodes/1/params/url",
        ),
    ];
    for (node, path) in cases {
        let compilation = check(start_then(node));
        assert_error(&compilation, "expr.compile", Some("x"), path);
    }
}

#[test]
fn hostile_expressions_are_compile_errors_not_crashes() {
    let long_sum = vec!["1"; 2500].join("+");
    assert!(long_sum.len() >= 4999);
    let nested = format!("{}1{}", "(".repeat(2000), ")".repeat(2000));
    let huge_string = format!("\"{}\" == \"\"", "a".repeat(1 << 20));
    let deep_unary = format!("{}true", "!".repeat(3000));
    for source in [long_sum, nested, huge_string, deep_unary] {
        let compilation = check(start_then(json!({
            "id": "x", "kind": "condition", "params": { "expr": source },
            "ports": { "true": "end", "false": "end", "error": "end" }
        })));
        assert_error(
            &compilation,
            "expr.compile",
            Some("x"),
            "/nodes/1/params/expr",
        );
    }
}

#[test]
fn reading_a_variable_nobody_declares_or_stores_is_an_unknown_variable() {
    let unknown = ["nope", "call.nope", "call.caller == nope", "nope.field > 1"];
    let known = [
        "contact.anything",
        "contact.deep.path == 1",
        "call.caller",
        "call",
        "declared > 1",
        "typed == '1'",
        "assigned == 1",
        "fetched == 'x'",
        "status == 200",
    ];
    let nodes = |expr: &str| {
        json!([
            { "id": "start", "kind": "start", "ports": { "next": "ask" } },
            { "id": "ask", "kind": "collect", "params": { "max_digits": 3, "store": "typed" },
              "ports": { "ok": "set", "invalid": "set", "no-input": "set" } },
            { "id": "set", "kind": "set-variables", "params": { "assign": { "assigned": "1" } },
              "ports": { "next": "fetch", "error": "fetch" } },
            { "id": "fetch", "kind": "http-request",
              "params": { "url": "https://a.example", "response": { "fetched": "/x" }, "store_status": "status" },
              "ports": { "ok": "x", "error": "x" } },
            { "id": "x", "kind": "condition", "params": { "expr": expr },
              "ports": { "true": "end", "false": "end", "error": "end" } },
            { "id": "end", "kind": "hangup" },
        ])
    };
    let compile_expr = |expr: &str| {
        compile(
            &document_with(json!({ "declared": { "default": 0 } }), nodes(expr)),
            &Environment::default(),
        )
    };
    for expr in unknown {
        let compilation = compile_expr(expr);
        assert_error(
            &compilation,
            "expr.unknown_variable",
            Some("x"),
            "/nodes/4/params/expr",
        );
    }
    for expr in known {
        let compilation = compile_expr(expr);
        assert!(
            found(&compilation, "expr.unknown_variable").is_empty(),
            "{expr}:\n{}",
            listing(&compilation)
        );
        assert_clean(&compilation);
    }
}

#[test]
fn a_digit_rule_reading_an_unknown_variable_is_an_unknown_variable() {
    let compilation = check(start_then(json!({
        "id": "x", "kind": "collect",
        "params": { "max_digits": 3, "validate": [ { "prefix-of": "missing.cpf" } ] },
        "ports": { "ok": "end", "invalid": "end", "no-input": "end" }
    })));
    assert_error(
        &compilation,
        "expr.unknown_variable",
        Some("x"),
        "/nodes/1/params/validate",
    );
}

#[test]
fn a_template_hole_reading_an_unknown_variable_is_an_unknown_variable() {
    let compilation = check(start_then(json!({
        "id": "x", "kind": "play", "params": { "prompt": tts("Hello {{ who }}") }, "ports": { "next": "end" }
    })));
    assert_error(
        &compilation,
        "expr.unknown_variable",
        Some("x"),
        "/nodes/1/params/prompt/tts",
    );
}

// --- the environment --------------------------------------------------------------------

#[test]
fn a_subflow_that_is_not_in_the_environment_is_unknown() {
    let compilation = check(start_then(json!({
        "id": "x", "kind": "subflow", "params": { "flow": "elsewhere" }
    })));
    assert_error(
        &compilation,
        "subflow.unknown",
        Some("x"),
        "/nodes/1/params/flow",
    );
}

#[test]
fn a_custom_module_missing_from_the_registry_is_unknown() {
    let environment = Environment {
        custom_nodes: Some(BTreeMap::from([(
            ("crm".to_owned(), "1.0".to_owned()),
            CustomNodeInfo {
                ports: vec!["found".to_owned()],
            },
        )])),
        ..Environment::default()
    };
    let compilation = check_in(
        &environment,
        start_then(
            json!({ "id": "x", "kind": "custom", "params": { "module": "crm", "version": "2.0" } }),
        ),
    );
    assert_error(
        &compilation,
        "custom.unknown_module",
        Some("x"),
        "/nodes/1/params/module",
    );
}

#[test]
fn custom_node_ports_come_from_the_registry_when_there_is_one() {
    let environment = Environment {
        custom_nodes: Some(BTreeMap::from([(
            ("crm".to_owned(), "1.0".to_owned()),
            CustomNodeInfo {
                ports: vec!["found".to_owned(), "missing".to_owned()],
            },
        )])),
        ..Environment::default()
    };
    let node = |ports: Value| {
        start_then(
            json!({ "id": "x", "kind": "custom", "params": { "module": "crm", "version": "1.0" }, "ports": ports }),
        )
    };

    let compilation = check_in(
        &environment,
        node(json!({ "found": "end", "maybe": "end" })),
    );
    assert_error(
        &compilation,
        "port.unknown",
        Some("x"),
        "/nodes/1/ports/maybe",
    );
    let unconnected: Vec<(&str, &str)> = compilation
        .diagnostics
        .iter()
        .filter(|d| d.code == "port.unconnected")
        .map(|d| (d.json_path.as_str(), d.message.as_str()))
        .collect();
    assert_eq!(unconnected.len(), 2, "{}", listing(&compilation));
    assert!(unconnected[0].1.contains("`error`"), "{unconnected:?}");
    assert!(unconnected[1].1.contains("`missing`"), "{unconnected:?}");
    assert!(
        unconnected
            .iter()
            .all(|(path, _)| *path == "/nodes/1/ports")
    );

    let compilation = check_in(
        &environment,
        node(json!({ "found": "end", "missing": "end", "error": "end" })),
    );
    assert_clean(&compilation);
    let flow = compilation.flow.expect("clean");
    let ports: Vec<&str> = flow.node(1).ports.iter().map(|port| &*port.name).collect();
    assert_eq!(ports, ["error", "found", "missing"]);
}

#[test]
fn custom_node_ports_come_from_the_document_without_a_registry() {
    let compilation = check(start_then(json!({
        "id": "x", "kind": "custom", "params": { "module": "crm", "version": "1.0" },
        "ports": { "yes": "end", "error": "end", "maybe": "end" }
    })));
    assert_clean(&compilation);
    assert!(
        compilation.diagnostics.is_empty(),
        "{}",
        listing(&compilation)
    );
    let flow = compilation.flow.expect("clean");
    let ports: Vec<&str> = flow.node(1).ports.iter().map(|port| &*port.name).collect();
    assert_eq!(ports, ["error", "maybe", "yes"]);
}

#[test]
fn subflow_ports_are_the_called_flows_exit_names() {
    let called = compile(
        &FlowDocument {
            id: "called".to_owned(),
            ..document_with(
                json!({}),
                json!([
                    { "id": "start", "kind": "start", "ports": { "next": "pick" } },
                    { "id": "pick", "kind": "menu", "params": { "prompt": tts("pick"), "options": { "1": "a", "2": "b" } },
                      "ports": { "1": "ok", "2": "fail", "no-input": "fail", "invalid": "fail" } },
                    { "id": "ok", "kind": "exit", "params": { "port": "done" } },
                    { "id": "fail", "kind": "exit", "params": { "port": "failed" } },
                ]),
            )
        },
        &Environment::default(),
    );
    assert_clean(&called);
    let called = called.flow.expect("clean");
    assert_eq!(called.exit_ports(), ["done", "failed"]);
    let environment = Environment {
        flows: BTreeMap::from([("called".to_owned(), called)]),
        ..Environment::default()
    };

    let compilation = check_in(
        &environment,
        start_then(
            json!({ "id": "x", "kind": "subflow", "params": { "flow": "called" },
                           "ports": { "done": "end", "failed": "end" } }),
        ),
    );
    assert_clean(&compilation);
    let flow = compilation.flow.expect("clean");
    let ports: Vec<&str> = flow.node(1).ports.iter().map(|port| &*port.name).collect();
    assert_eq!(ports, ["done", "failed"]);

    let compilation = check_in(
        &environment,
        start_then(
            json!({ "id": "x", "kind": "subflow", "params": { "flow": "called" },
                           "ports": { "done": "end", "failed": "end", "next": "end" } }),
        ),
    );
    assert_error(
        &compilation,
        "port.unknown",
        Some("x"),
        "/nodes/1/ports/next",
    );
}

// --- whole documents --------------------------------------------------------------------

#[test]
fn a_document_with_many_problems_reports_all_of_them() {
    let document = document_with(
        json!({ "call": { "default": 1 } }),
        json!([
            { "id": "a", "kind": "start", "ports": { "next": "menu" } },
            { "id": "b", "kind": "start", "ports": { "next": "ghost" } },
            { "id": "menu", "kind": "menu", "params": { "prompt": { "file": "x", "tts": "y" }, "options": { "1": "a" } } },
            { "id": "menu", "kind": "teleport" },
            { "id": "cond", "kind": "condition", "params": { "expr": "nope > 1" },
              "ports": { "true": "cond", "false": "ghost", "maybe": "cond" } },
            { "id": "bad", "kind": "condition", "params": { "expr": "1 +" } },
            { "id": "", "kind": "hangup" },
        ]),
    );
    let mut compilation = compile(&document, &Environment::default());
    let mut codes: Vec<&str> = compilation
        .diagnostics
        .iter()
        .map(|d| d.code.as_str())
        .collect();
    codes.sort_unstable();
    codes.dedup();
    for expected in [
        "variable.bad_name",
        "flow.many_starts",
        "port.dangling",
        "node.bad_params",
        "node.duplicate_id",
        "node.unknown_kind",
        "expr.unknown_variable",
        "port.unknown",
        "flow.instant_loop",
        "expr.compile",
        "node.bad_id",
        "node.unreachable",
    ] {
        assert!(codes.contains(&expected), "missing {expected} in {codes:?}");
    }
    assert!(codes.len() >= 5);
    assert!(compilation.flow.take().is_none());
}

#[test]
fn a_valid_flow_compiles_with_no_errors() {
    let document = document_with(
        json!({ "tries": { "default": 0 } }),
        json!([
            { "id": "start", "kind": "start", "ports": { "next": "welcome" } },
            { "id": "welcome", "kind": "play", "params": { "prompt": { "file": "welcome" } }, "ports": { "next": "menu" } },
            { "id": "menu", "kind": "menu", "params": { "prompt": tts("1 or 2"), "options": { "1": "a", "2": "b" } },
              "ports": { "1": "count", "2": "end", "no-input": "end", "invalid": "end" } },
            { "id": "count", "kind": "set-variables", "params": { "assign": { "tries": "tries + 1" } },
              "ports": { "next": "again", "error": "end" } },
            { "id": "again", "kind": "condition", "params": { "expr": "tries < 3" },
              "ports": { "true": "menu", "false": "end", "error": "end" } },
            { "id": "end", "kind": "hangup", "params": { "reason": "normal" } },
        ]),
    );
    let compilation = compile(&document, &Environment::default());
    assert!(
        compilation.diagnostics.is_empty(),
        "{}",
        listing(&compilation)
    );
    let flow = compilation.flow.expect("no errors");
    assert_eq!(flow.id(), "test");
    assert_eq!(flow.node_count(), 6);
    assert_eq!(flow.start, 0);
    let targets: Vec<(&str, Option<&str>)> = flow
        .node(2)
        .ports
        .iter()
        .map(|port| (&*port.name, port.target.map(|index| &*flow.node(index).id)))
        .collect();
    assert_eq!(
        targets,
        [
            ("no-input", Some("end")),
            ("invalid", Some("end")),
            ("1", Some("count")),
            ("2", Some("end"))
        ]
    );
}
