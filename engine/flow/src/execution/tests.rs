//! Executor tests: small flows driven by hand, with the time of every input given.

use super::*;
use crate::compile::{CustomNodeInfo, Environment, compile};
use crate::document::FlowDocument;
use serde_json::json;

// --- helpers ----------------------------------------------------------------------------

fn document(id: &str, variables: Value, nodes: Value) -> FlowDocument {
    serde_json::from_value(json!({
        "schema": "ramal.flow/v1", "id": id, "name": id, "variables": variables, "nodes": nodes,
    }))
    .expect("test documents have the document's shape")
}

fn build_in(environment: &Environment, document: &FlowDocument) -> Arc<Flow> {
    let compilation = compile(document, environment);
    let errors: Vec<String> = compilation
        .diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.is_error())
        .map(ToString::to_string)
        .collect();
    assert!(
        errors.is_empty(),
        "the test flow does not compile:\n{}",
        errors.join("\n")
    );
    compilation.flow.expect("no errors")
}

/// A flow `main` with `variables` and `nodes`.
fn flow_with(variables: Value, nodes: Value) -> Arc<Flow> {
    build_in(&Environment::default(), &document("main", variables, nodes))
}

fn flow(nodes: Value) -> Arc<Flow> {
    flow_with(json!({}), nodes)
}

/// `start → first`, then `nodes`, then one `hangup` per reason named in `ends` (node id =
/// reason), so a test reads which port was taken from the hang-up reason.
fn flow_ending(nodes: Value, ends: &[&str]) -> Arc<Flow> {
    flow_with(json!({}), with_ends(nodes, ends))
}

fn with_ends(nodes: Value, ends: &[&str]) -> Value {
    let mut all = nodes.as_array().expect("an array of nodes").clone();
    let first = all[0]["id"].clone();
    all.insert(
        0,
        json!({ "id": "start", "kind": "start", "ports": { "next": first } }),
    );
    for end in ends {
        all.push(json!({ "id": end, "kind": "hangup", "params": { "reason": end } }));
    }
    Value::Array(all)
}

fn at(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

fn run(flow: &Arc<Flow>) -> Execution {
    run_call(flow, CallInfo::default(), 0)
}

fn run_call(flow: &Arc<Flow>, call: CallInfo, ms: u64) -> Execution {
    Execution::start(flow.clone(), call, at(ms))
}

/// Everything the execution wants done now, in a short form: `play#1 welcome`,
/// `cancel#1`, `http#2 GET https://…`, `hangup normal`.
fn drain(execution: &mut Execution) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(command) = execution.poll_command() {
        out.push(describe(&command));
    }
    out
}

fn describe(command: &Command) -> String {
    match command {
        Command::Play {
            id, prompt, looped, ..
        } => {
            format!(
                "play#{} {}{}",
                id.0,
                prompt.label(),
                if *looped { " (looped)" } else { "" }
            )
        }
        Command::Cancel { id } => format!("cancel#{}", id.0),
        Command::Http { id, request } => {
            format!("http#{} {} {}", id.0, request.method, request.url)
        }
        Command::RunCustomNode { id, module, .. } => format!("custom#{} {module}", id.0),
        Command::Enqueue {
            id,
            queue,
            priority,
            ..
        } => format!("enqueue#{} {queue} priority {priority}", id.0),
        Command::Transfer { id, to, .. } => format!("transfer#{} {to}", id.0),
        Command::StartRecording { id } => format!("record#{}", id.0),
        Command::RecordMessage { id, mailbox, .. } => {
            format!(
                "record-message#{} {}",
                id.0,
                mailbox.as_deref().unwrap_or("-")
            )
        }
        Command::SurveyAnswered { survey, value, .. } => format!("survey {survey}={value}"),
        Command::Hangup {
            reason,
            disposition,
        } => match disposition {
            Some(disposition) => format!("hangup {reason} ({disposition})"),
            None => format!("hangup {reason}"),
        },
    }
}

fn press(execution: &mut Execution, digit: char, ms: u64) -> Vec<String> {
    execution.handle(Event::Digit { digit }, at(ms));
    drain(execution)
}

fn finish(execution: &mut Execution, id: u32, ms: u64) -> Vec<String> {
    execution.handle(Event::PromptFinished { id: CommandId(id) }, at(ms));
    drain(execution)
}

fn send(execution: &mut Execution, event: Event, ms: u64) -> Vec<String> {
    execution.handle(event, at(ms));
    drain(execution)
}

/// Fires the next timer at exactly its time; returns that time and the commands.
fn fire(execution: &mut Execution) -> (u64, Vec<String>) {
    let due = execution.poll_timeout().expect("a timer is armed");
    execution.handle_timeout(due);
    (due.as_millis(), drain(execution))
}

fn timeout_ms(execution: &Execution) -> Option<u64> {
    execution.poll_timeout().map(Instant::as_millis)
}

/// The trace as `node:port` (`node:end` when the call ended there).
fn path(execution: &Execution) -> Vec<String> {
    execution
        .trace()
        .iter()
        .map(|step| format!("{}:{}", step.node, step.port.as_deref().unwrap_or("end")))
        .collect()
}

/// The last visit of `node`.
fn step(execution: &Execution, node: &str) -> TraceStep {
    execution
        .trace()
        .iter()
        .rev()
        .find(|step| &*step.node == node)
        .cloned()
        .unwrap_or_else(|| panic!("{node} is not in the trace: {:?}", path(execution)))
}

fn note_of(execution: &Execution, node: &str) -> String {
    step(execution, node).note.clone().unwrap_or_default()
}

fn ended_with(execution: &Execution, reason: &str) {
    assert_eq!(
        execution.ending(),
        Some(&Ending::Flow {
            reason: reason.to_owned(),
            disposition: None
        }),
        "trace: {:?}",
        path(execution)
    );
    assert_eq!(execution.poll_timeout(), None);
    assert_eq!(execution.current_node(), None);
}

fn file(name: &str) -> Value {
    json!({ "file": name })
}

fn menu(params: Value) -> Value {
    let mut params = params;
    params["prompt"] = file("menu");
    params["options"] = json!({ "1": "one", "2": "two" });
    json!({ "id": "m", "kind": "menu", "params": params,
            "ports": { "1": "one", "2": "two", "no-input": "no-input", "invalid": "invalid" } })
}

const MENU_ENDS: &[&str] = &["one", "two", "no-input", "invalid"];

// --- prompts and type-ahead -------------------------------------------------------------

#[test]
fn play_waits_for_its_prompt_then_takes_next() {
    let flow = flow_ending(
        json!([{ "id": "p", "kind": "play", "params": { "prompt": file("welcome") }, "ports": { "next": "done" } }]),
        &["done"],
    );
    let mut execution = run(&flow);
    assert_eq!(drain(&mut execution), ["play#1 welcome"]);
    assert_eq!(execution.current_node(), Some("p"));
    assert_eq!(execution.poll_timeout(), None);
    assert_eq!(finish(&mut execution, 1, 2_000), ["hangup done"]);
    ended_with(&execution, "done");
    assert_eq!(path(&execution), ["start:next", "p:next", "done:end"]);
}

#[test]
fn a_key_during_a_barge_in_prompt_cancels_it_and_chooses_in_the_next_menu() {
    let flow = flow_ending(
        json!([
            { "id": "p", "kind": "play", "params": { "prompt": file("welcome") }, "ports": { "next": "m" } },
            menu(json!({})),
        ]),
        MENU_ENDS,
    );
    let mut execution = run(&flow);
    assert_eq!(drain(&mut execution), ["play#1 welcome"]);
    assert_eq!(press(&mut execution, '2', 500), ["cancel#1", "hangup two"]);
    assert_eq!(path(&execution), ["start:next", "p:next", "m:2", "two:end"]);
}

#[test]
fn a_key_during_a_prompt_without_barge_in_waits_for_the_prompt_but_is_kept() {
    let flow = flow_ending(
        json!([
            { "id": "p", "kind": "play", "params": { "prompt": file("welcome"), "barge_in": false }, "ports": { "next": "m" } },
            menu(json!({})),
        ]),
        MENU_ENDS,
    );
    let mut execution = run(&flow);
    assert_eq!(drain(&mut execution), ["play#1 welcome"]);
    assert_eq!(press(&mut execution, '1', 500), Vec::<String>::new());
    assert_eq!(execution.current_node(), Some("p"));
    assert_eq!(finish(&mut execution, 1, 3_000), ["hangup one"]);
}

#[test]
fn a_menu_without_type_ahead_discards_keys_pressed_before_it() {
    let flow = flow_ending(
        json!([
            { "id": "p", "kind": "play", "params": { "prompt": file("welcome") }, "ports": { "next": "m" } },
            menu(json!({ "type_ahead": false })),
        ]),
        MENU_ENDS,
    );
    let mut execution = run(&flow);
    assert_eq!(drain(&mut execution), ["play#1 welcome"]);
    assert_eq!(press(&mut execution, '1', 500), ["cancel#1", "play#2 menu"]);
    assert_eq!(execution.current_node(), Some("m"));
    assert_eq!(press(&mut execution, '2', 700), ["cancel#2", "hangup two"]);
}

#[test]
fn a_later_barge_in_prompt_is_skipped_while_a_key_waits_for_a_menu() {
    let flow = flow_ending(
        json!([
            { "id": "p", "kind": "play", "params": { "prompt": file("welcome") }, "ports": { "next": "q" } },
            { "id": "q", "kind": "play", "params": { "prompt": file("news") }, "ports": { "next": "m" } },
            menu(json!({})),
        ]),
        MENU_ENDS,
    );
    let mut execution = run(&flow);
    drain(&mut execution);
    assert_eq!(press(&mut execution, '1', 100), ["cancel#1", "hangup one"]);
    assert!(
        note_of(&execution, "q").contains("pressed ahead"),
        "{:?}",
        execution.trace()
    );
}

#[test]
fn a_late_completion_or_an_unknown_id_changes_nothing() {
    let flow = flow_ending(
        json!([
            { "id": "p", "kind": "play", "params": { "prompt": file("welcome") }, "ports": { "next": "m" } },
            menu(json!({ "type_ahead": false })),
        ]),
        MENU_ENDS,
    );
    let mut execution = run(&flow);
    drain(&mut execution);
    assert_eq!(press(&mut execution, '1', 500), ["cancel#1", "play#2 menu"]);
    let trace_length = execution.trace().len();
    let events = [
        Event::PromptFinished { id: CommandId(1) },
        Event::PromptFinished { id: CommandId(99) },
        Event::HttpResponded {
            id: CommandId(2),
            status: 200,
            body: "{}".to_owned(),
        },
        Event::QueueEnded {
            id: CommandId(2),
            outcome: QueueOutcome::Answered,
        },
        Event::RecordingFinished {
            id: CommandId(2),
            recording: "r".to_owned(),
        },
        Event::Digit { digit: 'x' },
    ];
    for event in events {
        let description = format!("{event:?}");
        assert_eq!(
            send(&mut execution, event, 600),
            Vec::<String>::new(),
            "{description}"
        );
        assert_eq!(execution.current_node(), Some("m"), "{description}");
        assert_eq!(
            execution.poll_timeout(),
            None,
            "{description}: the menu prompt still plays"
        );
        assert_eq!(execution.trace().len(), trace_length, "{description}");
    }
    // The real prompt still counts.
    assert_eq!(finish(&mut execution, 2, 2_000), Vec::<String>::new());
    assert_eq!(timeout_ms(&execution), Some(7_000));
}

// --- menu -------------------------------------------------------------------------------

#[test]
fn the_menu_timer_starts_when_its_prompt_ends_and_silence_replays_it_with_the_no_input_prompt() {
    let flow = flow_ending(
        json!([menu(
            json!({ "timeout": "5s", "retries": 1, "no_input_prompt": file("silence") })
        )]),
        MENU_ENDS,
    );
    let mut execution = run(&flow);
    assert_eq!(drain(&mut execution), ["play#1 menu"]);
    assert_eq!(execution.poll_timeout(), None);
    assert_eq!(finish(&mut execution, 1, 3_000), Vec::<String>::new());
    assert_eq!(timeout_ms(&execution), Some(8_000));
    execution.handle_timeout(at(7_999));
    assert_eq!(drain(&mut execution), Vec::<String>::new());
    assert_eq!(
        fire(&mut execution),
        (8_000, vec!["play#2 silence".to_owned()])
    );
    assert_eq!(execution.poll_timeout(), None);
    assert_eq!(finish(&mut execution, 2, 9_000), ["play#3 menu"]);
    assert_eq!(finish(&mut execution, 3, 12_000), Vec::<String>::new());
    assert_eq!(
        fire(&mut execution),
        (17_000, vec!["hangup no-input".to_owned()])
    );
    assert_eq!(
        path(&execution),
        ["start:next", "m:no-input", "no-input:end"]
    );
    assert!(note_of(&execution, "m").contains("no input"));
}

#[test]
fn a_wrong_key_plays_the_invalid_prompt_and_exhausted_retries_take_invalid() {
    let flow = flow_ending(
        json!([menu(
            json!({ "retries": 1, "invalid_prompt": file("wrong") })
        )]),
        MENU_ENDS,
    );
    let mut execution = run(&flow);
    assert_eq!(drain(&mut execution), ["play#1 menu"]);
    assert_eq!(
        press(&mut execution, '9', 500),
        ["cancel#1", "play#2 wrong"]
    );
    assert_eq!(finish(&mut execution, 2, 1_000), ["play#3 menu"]);
    assert_eq!(
        press(&mut execution, '*', 1_500),
        ["cancel#3", "hangup invalid"]
    );
    assert!(
        note_of(&execution, "m").contains("invalid key 9"),
        "{:?}",
        execution.trace()
    );
}

#[test]
fn a_right_key_after_a_retry_takes_its_port() {
    let flow = flow_ending(json!([menu(json!({ "retries": 2 }))]), MENU_ENDS);
    let mut execution = run(&flow);
    drain(&mut execution);
    assert_eq!(press(&mut execution, '7', 500), ["cancel#1", "play#2 menu"]);
    assert_eq!(finish(&mut execution, 2, 1_000), Vec::<String>::new());
    assert_eq!(press(&mut execution, '1', 2_000), ["hangup one"]);
}

// --- collect ----------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum Input {
    Key(char),
    Timeout,
}

fn collect_flow(params: Value) -> Arc<Flow> {
    flow_ending(
        json!([{ "id": "c", "kind": "collect", "params": params,
                 "ports": { "ok": "ok", "invalid": "invalid", "no-input": "no-input" } }]),
        &["ok", "invalid", "no-input"],
    )
}

fn feed(execution: &mut Execution, inputs: &[Input]) -> Vec<String> {
    let mut out = Vec::new();
    let mut now = 0;
    for input in inputs {
        match input {
            Input::Key(digit) => {
                now += 100;
                out.extend(press(execution, *digit, now));
            }
            Input::Timeout => {
                let (due, commands) = fire(execution);
                now = due;
                out.extend(commands);
            }
        }
    }
    out
}

#[test]
fn collect_ends_on_max_digits_terminator_or_timeout_and_checks_min_digits() {
    use Input::{Key, Timeout};
    let flow = collect_flow(json!({
        "min_digits": 2, "max_digits": 4, "terminator": "#",
        "first_digit_timeout": "5s", "inter_digit_timeout": "3s", "retries": 0, "store": "code"
    }));
    let cases: &[(&str, &[Input], &str, Option<&str>)] = &[
        (
            "max digits",
            &[Key('1'), Key('2'), Key('3'), Key('4')],
            "ok",
            Some("1234"),
        ),
        (
            "terminator",
            &[Key('1'), Key('2'), Key('#')],
            "ok",
            Some("12"),
        ),
        (
            "inter-digit timeout",
            &[Key('1'), Key('2'), Key('3'), Timeout],
            "ok",
            Some("123"),
        ),
        (
            "too few before the terminator",
            &[Key('1'), Key('#')],
            "invalid",
            None,
        ),
        (
            "too few before the timeout",
            &[Key('1'), Timeout],
            "invalid",
            None,
        ),
        ("nothing", &[Timeout], "no-input", None),
    ];
    for (name, inputs, port, stored) in cases {
        let mut execution = run(&flow);
        assert_eq!(
            drain(&mut execution),
            Vec::<String>::new(),
            "{name}: no prompt"
        );
        assert_eq!(
            timeout_ms(&execution),
            Some(5_000),
            "{name}: first-digit timeout"
        );
        let commands = feed(&mut execution, inputs);
        assert_eq!(commands, [format!("hangup {port}")], "{name}");
        let expected = stored.map(|digits| json!(digits));
        assert_eq!(
            execution.variables().get("code"),
            expected.as_ref(),
            "{name}"
        );
        let changes: Vec<(String, Value)> = step(&execution, "c")
            .changes
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let expected_changes: Vec<(String, Value)> = stored
            .map(|digits| ("code".to_owned(), json!(digits)))
            .into_iter()
            .collect();
        assert_eq!(changes, expected_changes, "{name}");
    }
}

#[test]
fn collect_restarts_the_inter_digit_timer_on_every_key() {
    let flow = collect_flow(
        json!({ "max_digits": 4, "first_digit_timeout": "5s", "inter_digit_timeout": "3s" }),
    );
    let mut execution = run(&flow);
    assert_eq!(press(&mut execution, '1', 1_000), Vec::<String>::new());
    assert_eq!(timeout_ms(&execution), Some(4_000));
    assert_eq!(press(&mut execution, '2', 3_500), Vec::<String>::new());
    assert_eq!(timeout_ms(&execution), Some(6_500));
}

#[test]
fn collect_checks_its_rules_against_the_contact_with_formatting_ignored() {
    let flow = collect_flow(json!({
        "min_digits": 3, "max_digits": 3, "retries": 0, "store": "prefix",
        "validate": [ { "prefix-of": "contact.cpf" } ]
    }));
    let contact = json!({ "cpf": "529.982.247-25" })
        .as_object()
        .cloned()
        .expect("an object");
    for (typed, port) in [("529", "ok"), ("123", "invalid"), ("52", "invalid")] {
        let call = CallInfo {
            contact: contact.clone(),
            ..CallInfo::default()
        };
        let mut execution = run_call(&flow, call, 0);
        let mut commands = Vec::new();
        for (index, digit) in typed.chars().enumerate() {
            commands.extend(press(&mut execution, digit, 100 * index as u64 + 100));
        }
        if commands.is_empty() {
            commands = fire(&mut execution).1;
        }
        assert_eq!(commands, [format!("hangup {port}")], "{typed}");
        if port == "ok" {
            assert_eq!(execution.variables().get("prefix"), Some(&json!(typed)));
        } else {
            assert_eq!(execution.variables().get("prefix"), None);
            assert!(
                note_of(&execution, "c").contains(&format!("rejected {typed}")),
                "{:?}",
                execution.trace()
            );
        }
    }
}

#[test]
fn collect_retries_with_its_prompts_after_a_rejection() {
    let flow = collect_flow(json!({
        "prompt": file("ask"), "invalid_prompt": file("wrong"), "max_digits": 2, "retries": 1,
        "validate": [ { "regex": "^4" } ]
    }));
    let mut execution = run(&flow);
    assert_eq!(drain(&mut execution), ["play#1 ask"]);
    assert_eq!(press(&mut execution, '1', 100), ["cancel#1"]);
    assert_eq!(press(&mut execution, '1', 200), ["play#2 wrong"]);
    assert_eq!(finish(&mut execution, 2, 1_000), ["play#3 ask"]);
    assert_eq!(press(&mut execution, '4', 1_100), ["cancel#3"]);
    assert_eq!(press(&mut execution, '2', 1_200), ["hangup ok"]);
}

// --- condition and switch ---------------------------------------------------------------

fn call_with(variables: Value) -> CallInfo {
    CallInfo {
        variables: variables.as_object().cloned().expect("an object"),
        ..CallInfo::default()
    }
}

#[test]
fn condition_takes_true_false_or_error_with_the_reason_noted() {
    let flow = flow_with(
        json!({ "n": { "default": 0 } }),
        with_ends(
            json!([{ "id": "c", "kind": "condition", "params": { "expr": "n > 1" },
                     "ports": { "true": "true", "false": "false", "error": "error" } }]),
            &["true", "false", "error"],
        ),
    );
    let cases = [
        (json!(2), "true", ""),
        (json!(1), "false", ""),
        (json!("many"), "error", "expression failed: cannot apply"),
        (json!(null), "error", "expression failed"),
    ];
    for (n, port, note) in cases {
        let mut execution = run_call(&flow, call_with(json!({ "n": n })), 0);
        assert_eq!(drain(&mut execution), [format!("hangup {port}")], "n = {n}");
        assert_eq!(step(&execution, "c").port.as_deref(), Some(port));
        let noted = note_of(&execution, "c");
        assert!(noted.starts_with(note), "n = {n}: {noted}");
        assert_eq!(noted.is_empty(), note.is_empty(), "n = {n}: {noted}");
    }
}

#[test]
fn switch_takes_the_first_true_case_or_default_or_error() {
    let flow = flow_with(
        json!({ "n": { "default": 0 } }),
        with_ends(
            json!([{ "id": "s", "kind": "switch",
                     "params": { "cases": [ { "port": "low", "expr": "n < 10" }, { "port": "mid", "expr": "n < 100" } ] },
                     "ports": { "low": "low", "mid": "mid", "default": "default", "error": "error" } }]),
            &["low", "mid", "default", "error"],
        ),
    );
    let cases = [
        (json!(5), "low", None),
        (json!(50), "mid", None),
        (json!(500), "default", None),
        (json!("x"), "error", Some("case 1 failed")),
    ];
    for (n, port, note) in cases {
        let mut execution = run_call(&flow, call_with(json!({ "n": n })), 0);
        assert_eq!(drain(&mut execution), [format!("hangup {port}")], "n = {n}");
        match note {
            Some(note) => assert!(
                note_of(&execution, "s").starts_with(note),
                "{:?}",
                execution.trace()
            ),
            None => assert_eq!(step(&execution, "s").note, None),
        }
    }
}

// --- time-range -------------------------------------------------------------------------

#[test]
fn time_range_uses_the_call_start_plus_the_time_that_passed() {
    let flow = flow_ending(
        json!([
            { "id": "p", "kind": "play", "params": { "prompt": file("hello"), "barge_in": false }, "ports": { "next": "hours" } },
            { "id": "hours", "kind": "time-range",
              "params": { "timezone": "America/Sao_Paulo",
                          "weekly": { "mon": ["08:00-18:00"], "tue": ["08:00-18:00"] } },
              "ports": { "in": "in", "out": "out" } },
        ]),
        &["in", "out"],
    );
    // Monday 2025-03-03, 17:59:59 in São Paulo (UTC-3, no daylight saving).
    let started = chrono::DateTime::parse_from_rfc3339("2025-03-03T17:59:59-03:00")
        .expect("a valid time")
        .timestamp_millis();
    let origin = 50_000;
    for (played_ms, port) in [(500, "in"), (999, "in"), (1_000, "out"), (2_000, "out")] {
        let call = CallInfo {
            started_at_unix_ms: started,
            ..CallInfo::default()
        };
        let mut execution = run_call(&flow, call, origin);
        assert_eq!(drain(&mut execution), ["play#1 hello"]);
        assert_eq!(
            finish(&mut execution, 1, origin + played_ms),
            [format!("hangup {port}")],
            "{played_ms}"
        );
    }
}

// --- http-request -----------------------------------------------------------------------

fn http_flow(params: Value) -> Arc<Flow> {
    let mut params = params;
    params["url"] = json!("https://api.example/customers/{{ call.caller }}");
    flow_ending(
        json!([{ "id": "h", "kind": "http-request", "params": params, "ports": { "ok": "ok", "error": "error" } }]),
        &["ok", "error"],
    )
}

fn caller(number: &str) -> CallInfo {
    CallInfo {
        caller: number.to_owned(),
        ..CallInfo::default()
    }
}

fn responded(id: u32, status: u16, body: &str) -> Event {
    Event::HttpResponded {
        id: CommandId(id),
        status,
        body: body.to_owned(),
    }
}

const URL: &str = "https://api.example/customers/100";

#[test]
fn a_successful_request_maps_the_response_into_variables() {
    let flow = http_flow(
        json!({ "response": { "name": "/customer/name", "missing": "/nope" }, "store_status": "status" }),
    );
    let mut execution = run_call(&flow, caller("100"), 0);
    assert_eq!(drain(&mut execution), [format!("http#1 GET {URL}")]);
    let body = r#"{"customer": {"name": "Ana"}}"#;
    assert_eq!(
        send(&mut execution, responded(1, 200, body), 400),
        ["hangup ok"]
    );
    let variables = execution.variables();
    assert_eq!(variables.get("name"), Some(&json!("Ana")));
    assert_eq!(variables.get("missing"), Some(&Value::Null));
    assert_eq!(variables.get("status"), Some(&json!(200)));
    let visit = step(&execution, "h");
    let changes: Vec<&str> = visit.changes.iter().map(|(name, _)| &**name).collect();
    // The mapping is applied in variable-name order.
    assert_eq!(changes, ["status", "missing", "name"]);
}

#[test]
fn a_client_error_takes_error_without_retrying() {
    let flow = http_flow(json!({ "retries": 3, "store_status": "status" }));
    for status in [400, 404, 301] {
        let mut execution = run_call(&flow, caller("100"), 0);
        drain(&mut execution);
        assert_eq!(
            send(&mut execution, responded(1, status, ""), 100),
            ["hangup error"],
            "{status}"
        );
        assert_eq!(execution.variables().get("status"), Some(&json!(status)));
        assert!(note_of(&execution, "h").contains(&format!("HTTP {status}")));
    }
}

#[test]
fn a_server_error_is_retried_after_a_doubling_backoff_then_takes_error() {
    let flow = http_flow(json!({ "retries": 2, "backoff": "1s", "timeout": "3s" }));
    let mut execution = run_call(&flow, caller("100"), 0);
    assert_eq!(drain(&mut execution), [format!("http#1 GET {URL}")]);
    assert_eq!(timeout_ms(&execution), Some(3_000));
    assert_eq!(
        send(&mut execution, responded(1, 503, ""), 500),
        Vec::<String>::new()
    );
    assert_eq!(timeout_ms(&execution), Some(1_500));
    assert_eq!(
        fire(&mut execution),
        (1_500, vec![format!("http#2 GET {URL}")])
    );
    assert_eq!(timeout_ms(&execution), Some(4_500));
    execution.handle(
        Event::HttpFailed {
            id: CommandId(2),
            reason: "connection refused".to_owned(),
        },
        at(2_000),
    );
    assert_eq!(drain(&mut execution), Vec::<String>::new());
    assert_eq!(timeout_ms(&execution), Some(4_000));
    assert_eq!(
        fire(&mut execution),
        (4_000, vec![format!("http#3 GET {URL}")])
    );
    assert_eq!(
        send(&mut execution, responded(3, 502, ""), 4_200),
        ["hangup error"]
    );
    let note = note_of(&execution, "h");
    assert!(note.contains("attempt 1 failed (HTTP 503)"), "{note}");
    assert!(
        note.contains("attempt 2 failed (connection refused)"),
        "{note}"
    );
    assert!(note.contains("request failed: HTTP 502"), "{note}");
}

#[test]
fn a_request_that_never_answers_is_cancelled_retried_and_then_takes_error() {
    let flow = http_flow(
        json!({ "retries": 1, "backoff": "1s", "timeout": "3s", "store_status": "status" }),
    );
    let mut execution = run_call(&flow, caller("100"), 0);
    assert_eq!(drain(&mut execution), [format!("http#1 GET {URL}")]);
    assert_eq!(fire(&mut execution), (3_000, vec!["cancel#1".to_owned()]));
    assert_eq!(
        fire(&mut execution),
        (4_000, vec![format!("http#2 GET {URL}")])
    );
    // The first attempt's answer arrives too late and is dropped.
    assert_eq!(
        send(&mut execution, responded(1, 200, "{}"), 4_500),
        Vec::<String>::new()
    );
    assert_eq!(
        fire(&mut execution),
        (
            7_000,
            vec!["cancel#2".to_owned(), "hangup error".to_owned()]
        )
    );
    assert_eq!(execution.variables().get("status"), Some(&json!(0)));
    assert!(note_of(&execution, "h").contains("no answer within 3000 ms"));
}

#[test]
fn the_filler_starts_after_filler_after_loops_and_stops_with_the_answer() {
    let flow = http_flow(json!({ "filler": file("hold"), "filler_after": "1s", "timeout": "5s" }));
    let mut execution = run_call(&flow, caller("100"), 0);
    assert_eq!(drain(&mut execution), [format!("http#1 GET {URL}")]);
    assert_eq!(timeout_ms(&execution), Some(1_000));
    execution.handle_timeout(at(999));
    assert_eq!(drain(&mut execution), Vec::<String>::new());
    execution.handle_timeout(at(1_000));
    let mut commands = Vec::new();
    while let Some(command) = execution.poll_command() {
        commands.push(command);
    }
    assert!(
        matches!(
            &commands[..],
            [Command::Play {
                id: CommandId(2),
                looped: true,
                barge_in: false,
                ..
            }]
        ),
        "{commands:?}"
    );
    assert_eq!(timeout_ms(&execution), Some(5_000));
    assert_eq!(
        send(&mut execution, responded(1, 204, ""), 2_000),
        ["cancel#2", "hangup ok"]
    );

    // An answer before `filler_after` plays nothing.
    let mut execution = run_call(&flow, caller("100"), 0);
    drain(&mut execution);
    assert_eq!(
        send(&mut execution, responded(1, 200, ""), 999),
        ["hangup ok"]
    );
}

#[test]
fn a_body_that_is_not_json_takes_error_when_the_response_is_mapped() {
    let flow = http_flow(json!({ "response": { "name": "/name" } }));
    let mut execution = run_call(&flow, caller("100"), 0);
    drain(&mut execution);
    assert_eq!(
        send(&mut execution, responded(1, 200, "<html>"), 100),
        ["hangup error"]
    );
    assert!(note_of(&execution, "h").contains("not JSON"));
    assert_eq!(execution.variables().get("name"), None);

    // Without a mapping the body is not read.
    let flow = http_flow(json!({}));
    let mut execution = run_call(&flow, caller("100"), 0);
    drain(&mut execution);
    assert_eq!(
        send(&mut execution, responded(1, 200, "<html>"), 100),
        ["hangup ok"]
    );
}

#[test]
fn a_request_renders_its_body_and_headers_from_variables() {
    let flow = flow_with(
        json!({ "n": { "default": 7 } }),
        with_ends(
            json!([{ "id": "h", "kind": "http-request",
                     "params": { "method": "post", "url": "https://api.example/x",
                                 "headers": { "X-Caller": "{{ call.caller }}" },
                                 "body": { "n": "{{ n }}", "text": "n={{ n }}" } },
                     "ports": { "ok": "ok", "error": "error" } }]),
            &["ok", "error"],
        ),
    );
    let mut execution = run_call(&flow, caller("555"), 0);
    let Some(Command::Http { request, .. }) = execution.poll_command() else {
        panic!("expected an HTTP request");
    };
    assert_eq!(request.method, "POST");
    assert_eq!(request.headers, [("X-Caller".to_owned(), "555".to_owned())]);
    let body: Value =
        serde_json::from_str(request.body.as_deref().unwrap_or_default()).expect("a JSON body");
    assert_eq!(body, json!({ "n": 7, "text": "n=7" }));
}

// --- custom nodes -----------------------------------------------------------------------

fn custom_flow() -> Arc<Flow> {
    let environment = Environment {
        custom_nodes: Some(BTreeMap::from([(
            ("crm".to_owned(), "1.0".to_owned()),
            CustomNodeInfo {
                ports: vec!["found".to_owned(), "missing".to_owned()],
            },
        )])),
        ..Environment::default()
    };
    let nodes = with_ends(
        json!([{ "id": "x", "kind": "custom", "params": { "module": "crm", "version": "1.0", "params": { "a": 1 }, "timeout": "2s" },
                 "ports": { "found": "found", "missing": "missing", "error": "error" } }]),
        &["found", "missing", "error"],
    );
    build_in(
        &environment,
        &document("main", json!({ "seed": { "default": 1 } }), nodes),
    )
}

fn outcome(port: &str, variables: Value) -> Result<CustomOutcome, String> {
    Ok(CustomOutcome {
        port: port.to_owned(),
        variables: variables.as_object().cloned().expect("an object"),
    })
}

#[test]
fn a_custom_node_continues_through_the_port_it_chose_with_its_variables() {
    let flow = custom_flow();
    let mut execution = run(&flow);
    let Some(Command::RunCustomNode {
        id,
        module,
        version,
        params,
        variables,
        timeout,
        ..
    }) = execution.poll_command()
    else {
        panic!("expected a custom node");
    };
    assert_eq!(
        (id, module.as_str(), version.as_str()),
        (CommandId(1), "crm", "1.0")
    );
    assert_eq!(params, json!({ "a": 1 }));
    assert_eq!(variables.get("seed"), Some(&json!(1)));
    assert_eq!(timeout, std::time::Duration::from_secs(2));
    assert_eq!(timeout_ms(&execution), Some(2_000));
    let event = Event::CustomNodeFinished {
        id,
        result: outcome("missing", json!({ "tier": "gold" })),
    };
    assert_eq!(send(&mut execution, event, 300), ["hangup missing"]);
    assert_eq!(execution.variables().get("tier"), Some(&json!("gold")));
}

#[test]
fn a_custom_node_that_fails_or_picks_a_wrong_port_or_is_late_takes_error() {
    let flow = custom_flow();
    let cases = [
        (
            outcome("maybe", json!({ "tier": "gold" })),
            "chose port `maybe`",
        ),
        (outcome("error", json!({})), "chose its `error` port"),
        (outcome("found", json!({ "bad name": 1 })), "bad variable"),
        (
            Err("trap: unreachable".to_owned()),
            "custom node failed: trap: unreachable",
        ),
    ];
    for (result, note) in cases {
        let mut execution = run(&flow);
        drain(&mut execution);
        let event = Event::CustomNodeFinished {
            id: CommandId(1),
            result,
        };
        assert_eq!(send(&mut execution, event, 300), ["hangup error"], "{note}");
        assert!(
            note_of(&execution, "x").contains(note),
            "{note}: {:?}",
            execution.trace()
        );
        assert_eq!(execution.variables().get("tier"), None);
    }

    let mut execution = run(&flow);
    drain(&mut execution);
    assert_eq!(
        fire(&mut execution),
        (
            2_000,
            vec!["cancel#1".to_owned(), "hangup error".to_owned()]
        )
    );
    assert!(note_of(&execution, "x").contains("timed out"));
}

// --- queue and transfer -----------------------------------------------------------------

fn queue_flow() -> Arc<Flow> {
    flow_ending(
        json!([{ "id": "q", "kind": "queue", "params": { "queue": "sales", "max_wait": "60s", "priority": "2 + 3" },
                 "ports": { "answered": "answered", "timeout": "timeout", "no-agents": "no-agents" } }]),
        &["answered", "timeout", "no-agents"],
    )
}

#[test]
fn the_current_node_and_each_visit_are_readable_without_the_whole_trace() {
    let flow = queue_flow();
    let mut execution = run(&flow);
    drain(&mut execution);
    assert_eq!(execution.current_node(), Some("q"));
    assert_eq!(execution.trace_len(), 1);
    assert_eq!(execution.trace_node(0).as_deref(), Some("start"));
    assert_eq!(
        execution.trace_node(1),
        None,
        "q is being visited, not yet recorded"
    );
    let event = Event::QueueEnded {
        id: CommandId(1),
        outcome: QueueOutcome::Timeout,
    };
    send(&mut execution, event, 10_000);
    assert_eq!(execution.current_node(), None, "the call ended");
    let visits: Vec<_> = (0..execution.trace_len())
        .filter_map(|index| execution.trace_node(index))
        .collect();
    assert_eq!(
        visits.iter().map(|n| &**n).collect::<Vec<_>>(),
        ["start", "q", "timeout"]
    );
}

#[test]
fn a_queue_takes_the_port_of_how_it_ended() {
    let flow = queue_flow();
    for (outcome, port) in [
        (QueueOutcome::Answered, "answered"),
        (QueueOutcome::Timeout, "timeout"),
        (QueueOutcome::NoAgents, "no-agents"),
    ] {
        let mut execution = run(&flow);
        assert_eq!(drain(&mut execution), ["enqueue#1 sales priority 5"]);
        let event = Event::QueueEnded {
            id: CommandId(1),
            outcome,
        };
        assert_eq!(
            send(&mut execution, event, 10_000),
            [format!("hangup {port}")]
        );
    }
}

#[test]
fn a_queued_call_names_the_nodes_campaign_else_the_calls_own() {
    let campaign_of = |flow: &Arc<Flow>, call_campaign: Option<&str>| {
        let call = CallInfo {
            campaign: call_campaign.map(str::to_owned),
            ..CallInfo::default()
        };
        let mut execution = run_call(flow, call, 0);
        match execution.poll_command() {
            Some(Command::Enqueue { campaign, .. }) => campaign,
            other => panic!("expected an enqueue, got {other:?}"),
        }
    };
    let plain = queue_flow();
    assert_eq!(campaign_of(&plain, None), None);
    assert_eq!(
        campaign_of(&plain, Some("outbound")),
        Some("outbound".into())
    );
    let named = flow_ending(
        json!([{ "id": "q", "kind": "queue", "params": { "queue": "sales", "campaign": "Cobrança" },
                 "ports": { "answered": "done", "timeout": "done", "no-agents": "done" } }]),
        &["done"],
    );
    assert_eq!(
        campaign_of(&named, Some("outbound")),
        Some("Cobrança".into())
    );
}

#[test]
fn an_answered_queue_waits_for_the_agent_without_a_deadline() {
    let flow = queue_flow();
    let mut execution = run(&flow);
    drain(&mut execution);
    assert_eq!(timeout_ms(&execution), Some(90_000));
    let event = Event::Connected {
        id: CommandId(1),
        party: "agent-7".to_owned(),
    };
    assert_eq!(send(&mut execution, event, 5_000), Vec::<String>::new());
    assert_eq!(execution.poll_timeout(), None);
    execution.handle_timeout(at(1_000_000));
    assert_eq!(drain(&mut execution), Vec::<String>::new());
    let event = Event::QueueEnded {
        id: CommandId(1),
        outcome: QueueOutcome::Answered,
    };
    assert_eq!(send(&mut execution, event, 1_200_000), ["hangup answered"]);
    assert!(note_of(&execution, "q").contains("answered by agent-7"));
}

#[test]
fn a_queue_that_never_answers_is_cancelled_at_max_wait_plus_grace() {
    let flow = queue_flow();
    let mut execution = run_call(&flow, CallInfo::default(), 1_000);
    drain(&mut execution);
    assert_eq!(
        fire(&mut execution),
        (
            91_000,
            vec!["cancel#1".to_owned(), "hangup timeout".to_owned()]
        )
    );
}

#[test]
fn a_transfer_takes_completed_failed_or_gives_up_after_its_deadline() {
    let flow = flow_ending(
        json!([{ "id": "t", "kind": "transfer", "params": { "to": "+55{{ call.callee }}", "timeout": "20s" },
                 "ports": { "completed": "completed", "failed": "failed" } }]),
        &["completed", "failed"],
    );
    let call = || CallInfo {
        callee: "1133334444".to_owned(),
        ..CallInfo::default()
    };
    for (outcome, port) in [
        (TransferOutcome::Completed, "completed"),
        (TransferOutcome::Failed, "failed"),
    ] {
        let mut execution = run_call(&flow, call(), 0);
        assert_eq!(drain(&mut execution), ["transfer#1 +551133334444"]);
        let event = Event::Connected {
            id: CommandId(1),
            party: "+551133334444".to_owned(),
        };
        assert_eq!(send(&mut execution, event, 3_000), Vec::<String>::new());
        assert_eq!(execution.poll_timeout(), None);
        let event = Event::TransferEnded {
            id: CommandId(1),
            outcome,
        };
        assert_eq!(
            send(&mut execution, event, 60_000),
            [format!("hangup {port}")]
        );
    }
    let mut execution = run_call(&flow, call(), 0);
    drain(&mut execution);
    assert_eq!(
        fire(&mut execution),
        (
            50_000,
            vec!["cancel#1".to_owned(), "hangup failed".to_owned()]
        )
    );
}

// --- voicemail, record, survey ----------------------------------------------------------

#[test]
fn voicemail_plays_its_prompt_records_and_stores_the_recording() {
    let flow = flow_ending(
        json!([{ "id": "v", "kind": "voicemail",
                 "params": { "prompt": file("leave"), "mailbox": "sales", "max_duration": "60s", "store": "message" },
                 "ports": { "next": "done" } }]),
        &["done"],
    );
    // A key stops the prompt and starts recording.
    let mut execution = run(&flow);
    assert_eq!(drain(&mut execution), ["play#1 leave"]);
    assert_eq!(
        press(&mut execution, '5', 1_000),
        ["cancel#1", "record-message#2 sales"]
    );
    assert_eq!(timeout_ms(&execution), Some(71_000));
    assert_eq!(press(&mut execution, '#', 2_000), Vec::<String>::new());
    let event = Event::RecordingFinished {
        id: CommandId(2),
        recording: "rec-42".to_owned(),
    };
    assert_eq!(send(&mut execution, event, 20_000), ["hangup done"]);
    assert_eq!(execution.variables().get("message"), Some(&json!("rec-42")));
    assert_eq!(
        step(&execution, "v").changes,
        [(Arc::from("message"), json!("rec-42"))]
    );

    // The end of the prompt starts recording too; a recording that never ends is abandoned.
    let mut execution = run(&flow);
    drain(&mut execution);
    assert_eq!(finish(&mut execution, 1, 3_000), ["record-message#2 sales"]);
    assert_eq!(
        fire(&mut execution),
        (
            73_000,
            vec!["cancel#2".to_owned(), "hangup done".to_owned()]
        )
    );
    assert_eq!(execution.variables().get("message"), None);
}

#[test]
fn record_starts_recording_and_moves_on_at_once() {
    let flow = flow_ending(
        json!([{ "id": "r", "kind": "record", "ports": { "next": "done" } }]),
        &["done"],
    );
    let mut execution = run(&flow);
    assert_eq!(drain(&mut execution), ["record#1", "hangup done"]);
}

#[test]
fn survey_reports_and_stores_an_answer_on_the_scale() {
    let flow = flow_ending(
        json!([{ "id": "s", "kind": "survey",
                 "params": { "survey": "nps", "question": file("rate"), "min": 1, "max": 5, "retries": 0, "store": "rating" },
                 "ports": { "answered": "answered", "invalid": "invalid", "no-input": "no-input" } }]),
        &["answered", "invalid", "no-input"],
    );
    let mut execution = run(&flow);
    assert_eq!(drain(&mut execution), ["play#1 rate"]);
    assert_eq!(
        press(&mut execution, '4', 500),
        ["cancel#1", "survey nps=4", "hangup answered"]
    );
    assert_eq!(execution.variables().get("rating"), Some(&json!(4)));

    let mut execution = run(&flow);
    drain(&mut execution);
    assert_eq!(
        press(&mut execution, '9', 500),
        ["cancel#1", "hangup invalid"]
    );
}

// --- subflows ---------------------------------------------------------------------------

#[test]
fn a_subflow_runs_the_other_flow_and_returns_through_the_exit_port() {
    let called = build_in(
        &Environment::default(),
        &document(
            "sub",
            json!({}),
            json!([
                { "id": "start", "kind": "start", "ports": { "next": "p" } },
                { "id": "p", "kind": "play", "params": { "prompt": file("inside") }, "ports": { "next": "x" } },
                { "id": "x", "kind": "exit", "params": { "port": "done" } },
            ]),
        ),
    );
    let environment = Environment {
        flows: BTreeMap::from([("sub".to_owned(), called)]),
        ..Environment::default()
    };
    let flow = build_in(
        &environment,
        &document(
            "main",
            json!({}),
            json!([
                { "id": "start", "kind": "start", "ports": { "next": "s" } },
                { "id": "s", "kind": "subflow", "params": { "flow": "sub" }, "ports": { "done": "back" } },
                { "id": "back", "kind": "hangup", "params": { "reason": "back" } },
            ]),
        ),
    );
    let mut execution = run(&flow);
    assert_eq!(drain(&mut execution), ["play#1 inside"]);
    assert_eq!(execution.current_node(), Some("p"));
    assert_eq!(finish(&mut execution, 1, 1_000), ["hangup back"]);
    let visits: Vec<(String, String, Option<String>)> = execution
        .trace()
        .iter()
        .map(|step| {
            (
                step.flow.to_string(),
                step.node.to_string(),
                step.port.as_deref().map(str::to_owned),
            )
        })
        .collect();
    let visit = |flow: &str, node: &str, port: Option<&str>| {
        (flow.to_owned(), node.to_owned(), port.map(str::to_owned))
    };
    assert_eq!(
        visits,
        [
            visit("main", "start", Some("next")),
            visit("main", "s", None),
            visit("sub", "start", Some("next")),
            visit("sub", "p", Some("next")),
            visit("sub", "x", None),
            visit("main", "s", Some("done")),
            visit("main", "back", None),
        ]
    );
    assert!(note_of(&execution, "x").contains("returns through `done`"));
}

// --- the end of a call ------------------------------------------------------------------

#[test]
fn after_the_caller_hangs_up_nothing_more_happens() {
    let flow = flow_ending(json!([menu(json!({}))]), MENU_ENDS);
    let mut execution = run(&flow);
    assert_eq!(drain(&mut execution), ["play#1 menu"]);
    assert_eq!(finish(&mut execution, 1, 1_000), Vec::<String>::new());
    assert!(execution.poll_timeout().is_some());
    assert_eq!(
        send(&mut execution, Event::CallerHungUp, 2_000),
        Vec::<String>::new()
    );
    assert_eq!(execution.poll_timeout(), None);
    assert_eq!(execution.ending(), Some(&Ending::Caller));
    assert_eq!(execution.current_node(), None);
    let trace_length = execution.trace().len();
    assert_eq!(
        step(&execution, "m").note.as_deref(),
        Some("the caller hung up")
    );
    assert_eq!(step(&execution, "m").left_ms, 2_000);
    assert_eq!(press(&mut execution, '1', 3_000), Vec::<String>::new());
    assert_eq!(finish(&mut execution, 1, 3_000), Vec::<String>::new());
    assert_eq!(
        send(&mut execution, Event::CallerHungUp, 3_000),
        Vec::<String>::new()
    );
    execution.handle_timeout(at(100_000));
    assert_eq!(drain(&mut execution), Vec::<String>::new());
    assert_eq!(execution.trace().len(), trace_length);
    assert_eq!(execution.ending(), Some(&Ending::Caller));
}

#[test]
fn a_hangup_node_sends_its_reason_and_disposition_and_then_nothing() {
    let flow = flow(json!([
        { "id": "start", "kind": "start", "ports": { "next": "bye" } },
        { "id": "bye", "kind": "hangup", "params": { "reason": "dnc-request", "disposition": "do-not-call" } },
    ]));
    let mut execution = run(&flow);
    assert_eq!(
        execution.poll_command(),
        Some(Command::Hangup {
            reason: "dnc-request".to_owned(),
            disposition: Some("do-not-call".to_owned())
        })
    );
    assert_eq!(execution.poll_command(), None);
    assert_eq!(
        execution.ending(),
        Some(&Ending::Flow {
            reason: "dnc-request".to_owned(),
            disposition: Some("do-not-call".to_owned())
        })
    );
    assert_eq!(execution.poll_timeout(), None);
    assert_eq!(press(&mut execution, '1', 10), Vec::<String>::new());
    assert_eq!(
        send(&mut execution, Event::CallerHungUp, 20),
        Vec::<String>::new()
    );
    assert_eq!(
        execution
            .ending()
            .map(|ending| matches!(ending, Ending::Flow { .. })),
        Some(true)
    );
}

#[test]
fn an_unconnected_port_hangs_up_normally_or_as_an_error() {
    let cases = [
        (
            json!([{ "id": "p", "kind": "play", "params": { "prompt": file("hi") } }]),
            "normal",
            "port `next` of `p` is not connected",
        ),
        (
            json!([{ "id": "p", "kind": "set-variables", "params": { "assign": { "x": "1 / zero" } } }]),
            "flow.error",
            "port `error` of `p` is not connected",
        ),
    ];
    for (nodes, reason, note) in cases {
        let flow = flow_with(json!({ "zero": { "default": 0 } }), with_ends(nodes, &[]));
        let mut execution = run(&flow);
        let mut commands = drain(&mut execution);
        if commands == ["play#1 hi"] {
            commands = finish(&mut execution, 1, 500);
        }
        assert_eq!(commands, [format!("hangup {reason}")]);
        ended_with(&execution, reason);
        assert!(
            note_of(&execution, "p").contains(note),
            "{:?}",
            execution.trace()
        );
    }
}

// --- limits -----------------------------------------------------------------------------

#[test]
fn a_prompt_loop_with_a_key_waiting_plays_again_instead_of_spinning() {
    // A barge-in prompt is skipped while a key waits for a menu; in a loop that never reads
    // keys, the skips stop after MAX_PROMPTS_SKIPPED and the prompt plays (the call waits).
    let flow = flow_with(
        json!({ "n": { "default": 0 } }),
        with_ends(
            json!([
                { "id": "p", "kind": "play", "params": { "prompt": file("again") }, "ports": { "next": "count" } },
                { "id": "count", "kind": "set-variables", "params": { "assign": { "n": "n + 1" } },
                  "ports": { "next": "p", "error": "p" } },
            ]),
            &[],
        ),
    );
    let mut execution = run(&flow);
    assert_eq!(drain(&mut execution), ["play#1 again"]);
    assert_eq!(
        press(&mut execution, '1', 100),
        ["cancel#1", "play#2 again"]
    );
    assert!(execution.ending().is_none());
    let n = execution
        .variables()
        .get("n")
        .and_then(Value::as_u64)
        .unwrap_or_default();
    assert_eq!(n, u64::from(super::MAX_PROMPTS_SKIPPED) + 1);
}

#[test]
fn keys_pressed_while_talking_to_an_agent_do_not_answer_the_next_menu() {
    let flow = flow_ending(
        json!([
            { "id": "q", "kind": "queue", "params": { "queue": "sales" },
              "ports": { "answered": "m", "timeout": "m", "no-agents": "m" } },
            { "id": "m", "kind": "menu", "params": { "prompt": file("after"), "options": { "1": "one" } },
              "ports": { "1": "one", "no-input": "one", "invalid": "one" } },
        ]),
        &["one"],
    );
    let mut execution = run(&flow);
    drain(&mut execution);
    let id = CommandId(1);
    send(
        &mut execution,
        Event::Connected {
            id,
            party: "ana".into(),
        },
        100,
    );
    press(&mut execution, '1', 200);
    let commands = send(
        &mut execution,
        Event::QueueEnded {
            id,
            outcome: QueueOutcome::Answered,
        },
        300,
    );
    assert_eq!(
        commands,
        ["play#2 after"],
        "the menu plays: the key went to the agent"
    );
}

#[test]
fn a_subflow_step_records_when_the_subflow_node_was_entered() {
    let inner = build_in(
        &Environment::default(),
        &document(
            "inner",
            json!({}),
            json!([
        { "id": "start", "kind": "start", "ports": { "next": "p" } },
        { "id": "p", "kind": "play", "params": { "prompt": file("inside") }, "ports": { "next": "out" } },
        { "id": "out", "kind": "exit", "params": { "port": "done" } } ]),
        ),
    );
    let mut environment = Environment::default();
    environment.flows.insert("inner".into(), inner);
    let outer = build_in(
        &environment,
        &document(
            "outer",
            json!({}),
            json!([
        { "id": "start", "kind": "start", "ports": { "next": "sub" } },
        { "id": "sub", "kind": "subflow", "params": { "flow": "inner" }, "ports": { "done": "bye" } },
        { "id": "bye", "kind": "hangup" } ]),
        ),
    );
    let mut execution = run(&outer);
    drain(&mut execution);
    send(
        &mut execution,
        Event::PromptFinished { id: CommandId(1) },
        5_000,
    );
    let trace = execution.trace();
    let returns: Vec<_> = trace.iter().filter(|step| &*step.node == "sub").collect();
    assert_eq!(returns.len(), 2, "{trace:?}");
    assert_eq!(returns[0].port, None);
    assert_eq!(returns[1].port.as_deref(), Some("done"));
    assert_eq!((returns[1].entered_ms, returns[1].left_ms), (0, 5_000));
}

#[test]
fn only_the_terminator_counts_as_no_input() {
    let flow = flow_ending(
        json!([{ "id": "c", "kind": "collect", "params": { "max_digits": 3, "terminator": "#", "retries": 0 },
                 "ports": { "ok": "ok", "invalid": "bad", "no-input": "silent" } }]),
        &["ok", "bad", "silent"],
    );
    let mut execution = run(&flow);
    drain(&mut execution);
    assert_eq!(press(&mut execution, '#', 100), ["hangup silent"]);
}

#[test]
fn a_call_that_keeps_waiting_in_a_loop_is_ended_by_the_total_step_limit() {
    // No input leads back into the same node: every timeout is one more step.
    let flow = flow_ending(
        json!([{ "id": "c", "kind": "collect", "params": { "max_digits": 1, "first_digit_timeout": "1s", "retries": 0 },
                 "ports": { "ok": "ok", "invalid": "ok", "no-input": "c" } }]),
        &["ok"],
    );
    let mut execution = run(&flow);
    let mut timeouts = 0u32;
    while execution.ending().is_none() && timeouts <= MAX_STEPS {
        let due = execution
            .poll_timeout()
            .expect("the collect always waits for a timer");
        execution.handle_timeout(due);
        timeouts += 1;
    }
    // The first step (start → c) counts too.
    assert_eq!(timeouts, MAX_STEPS);
    assert_eq!(drain(&mut execution), ["hangup flow.step_limit"]);
    ended_with(&execution, "flow.step_limit");
}

#[test]
fn a_long_chain_of_instant_nodes_runs_to_its_end() {
    let mut nodes = Vec::new();
    for index in 0..50 {
        let next = if index == 49 {
            "done".to_owned()
        } else {
            format!("s{}", index + 1)
        };
        nodes.push(json!({ "id": format!("s{index}"), "kind": "set-variables",
                           "params": { "assign": { "n": "n + 1" } }, "ports": { "next": next } }));
    }
    let flow = flow_with(
        json!({ "n": { "default": 0 } }),
        with_ends(Value::Array(nodes), &["done"]),
    );
    let mut execution = run(&flow);
    assert_eq!(drain(&mut execution), ["hangup done"]);
    assert_eq!(execution.variables().get("n"), Some(&json!(50)));
    assert_eq!(execution.trace().len(), 52);
}

#[test]
fn instant_loops_never_reach_the_executor() {
    let document = document(
        "main",
        json!({ "n": { "default": 0 } }),
        with_ends(
            json!([{ "id": "s", "kind": "set-variables", "params": { "assign": { "n": "n + 1" } },
                     "ports": { "next": "s", "error": "s" } }]),
            &[],
        ),
    );
    let compilation = compile(&document, &Environment::default());
    assert!(compilation.flow.is_none());
    assert!(
        compilation
            .diagnostics
            .iter()
            .any(|d| d.code == "flow.instant_loop")
    );
}

// --- ids, times and variables -----------------------------------------------------------

#[test]
fn command_ids_increase_and_trace_times_are_relative_to_the_start() {
    let flow = flow_ending(
        json!([
            { "id": "a", "kind": "play", "params": { "prompt": file("a"), "barge_in": false }, "ports": { "next": "b" } },
            { "id": "b", "kind": "play", "params": { "prompt": file("b"), "barge_in": false }, "ports": { "next": "c" } },
            { "id": "c", "kind": "play", "params": { "prompt": file("c"), "barge_in": false }, "ports": { "next": "done" } },
        ]),
        &["done"],
    );
    let origin = 1_000_000;
    let mut execution = run_call(&flow, CallInfo::default(), origin);
    assert_eq!(drain(&mut execution), ["play#1 a"]);
    assert_eq!(finish(&mut execution, 1, origin + 2_500), ["play#2 b"]);
    assert_eq!(finish(&mut execution, 2, origin + 4_000), ["play#3 c"]);
    assert_eq!(finish(&mut execution, 3, origin + 4_001), ["hangup done"]);
    let trace = execution.trace();
    let times: Vec<(&str, u64, u64)> = trace
        .iter()
        .map(|step| (&*step.node, step.entered_ms, step.left_ms))
        .collect();
    assert_eq!(
        times,
        [
            ("start", 0, 0),
            ("a", 0, 2_500),
            ("b", 2_500, 4_000),
            ("c", 4_000, 4_001),
            ("done", 4_001, 4_001)
        ]
    );
}

#[test]
fn call_variables_override_defaults_and_templates_see_call_and_contact() {
    let flow = flow_with(
        json!({ "greeting": { "default": "Hi" }, "n": { "default": 1 } }),
        with_ends(
            json!([{ "id": "p", "kind": "play",
                     "params": { "prompt": { "tts": "{{ greeting }} {{ contact.name }}, {{ call.caller }} #{{ n }}" } },
                     "ports": { "next": "done" } }]),
            &["done"],
        ),
    );
    let call = CallInfo {
        caller: "+5511".to_owned(),
        contact: json!({ "name": "Ana" })
            .as_object()
            .cloned()
            .expect("an object"),
        variables: json!({ "greeting": "Olá" })
            .as_object()
            .cloned()
            .expect("an object"),
        ..CallInfo::default()
    };
    let mut execution = run_call(&flow, call, 0);
    assert_eq!(drain(&mut execution), ["play#1 Olá Ana, +5511 #1"]);
    assert_eq!(execution.variables().get("greeting"), Some(&json!("Olá")));
    assert_eq!(execution.variables().get("n"), Some(&json!(1)));
}

#[test]
fn set_variables_evaluates_every_expression_against_the_values_before_the_node() {
    let flow = flow_with(
        json!({ "a": { "default": 1 }, "b": { "default": 2 } }),
        with_ends(
            json!([{ "id": "swap", "kind": "set-variables", "params": { "assign": { "a": "b", "b": "a" } },
                     "ports": { "next": "done" } }]),
            &["done"],
        ),
    );
    let mut execution = run(&flow);
    assert_eq!(drain(&mut execution), ["hangup done"]);
    assert_eq!(execution.variables().get("a"), Some(&json!(2)));
    assert_eq!(execution.variables().get("b"), Some(&json!(1)));

    // One failing expression sets nothing.
    let flow = flow_with(
        json!({ "a": { "default": 1 }, "zero": { "default": 0 } }),
        with_ends(
            json!([{ "id": "s", "kind": "set-variables", "params": { "assign": { "a": "5", "b": "1 / zero" } },
                     "ports": { "next": "done", "error": "error" } }]),
            &["done", "error"],
        ),
    );
    let mut execution = run(&flow);
    assert_eq!(drain(&mut execution), ["hangup error"]);
    assert_eq!(execution.variables().get("a"), Some(&json!(1)));
    assert!(
        note_of(&execution, "s").contains("`b` failed: division by zero"),
        "{:?}",
        execution.trace()
    );
}

#[test]
fn keys_pressed_ahead_are_capped_and_feed_the_next_collect() {
    let flow = flow_ending(
        json!([
            { "id": "p", "kind": "play", "params": { "prompt": file("long"), "barge_in": false }, "ports": { "next": "c" } },
            { "id": "c", "kind": "collect", "params": { "max_digits": 64, "inter_digit_timeout": "2s", "store": "typed" },
              "ports": { "ok": "ok", "invalid": "invalid", "no-input": "no-input" } },
        ]),
        &["ok", "invalid", "no-input"],
    );
    let mut execution = run(&flow);
    assert_eq!(drain(&mut execution), ["play#1 long"]);
    for index in 0..40u64 {
        assert_eq!(press(&mut execution, '7', 10 + index), Vec::<String>::new());
    }
    // The collect starts with the kept keys, plays no prompt and waits for the next key.
    assert_eq!(finish(&mut execution, 1, 1_000), Vec::<String>::new());
    assert_eq!(timeout_ms(&execution), Some(3_000));
    assert_eq!(fire(&mut execution), (3_000, vec!["hangup ok".to_owned()]));
    assert_eq!(
        execution.variables().get("typed"),
        Some(&json!("7".repeat(MAX_TYPE_AHEAD)))
    );
}

#[test]
fn keys_pressed_while_a_webhook_runs_are_kept_for_the_next_menu() {
    let flow = flow_ending(
        json!([
            { "id": "h", "kind": "http-request", "params": { "url": "https://api.example/x" }, "ports": { "ok": "m", "error": "m" } },
            menu(json!({})),
        ]),
        MENU_ENDS,
    );
    let mut execution = run(&flow);
    assert_eq!(drain(&mut execution), ["http#1 GET https://api.example/x"]);
    assert_eq!(press(&mut execution, '2', 100), Vec::<String>::new());
    assert_eq!(
        send(&mut execution, responded(1, 200, ""), 200),
        ["hangup two"]
    );
}

#[test]
fn subflows_nest_eight_deep_and_no_deeper() {
    let mut environment = Environment::default();
    let mut flows = Vec::new();
    for level in 0..10 {
        let nodes = if level == 0 {
            json!([
                { "id": "start", "kind": "start", "ports": { "next": "x" } },
                { "id": "x", "kind": "exit", "params": { "port": "done" } },
            ])
        } else {
            json!([
                { "id": "start", "kind": "start", "ports": { "next": "s" } },
                { "id": "s", "kind": "subflow", "params": { "flow": format!("level{}", level - 1) }, "ports": { "done": "x" } },
                { "id": "x", "kind": "exit", "params": { "port": "done" } },
            ])
        };
        let flow = build_in(
            &environment,
            &document(&format!("level{level}"), json!({}), nodes),
        );
        environment
            .flows
            .insert(format!("level{level}"), flow.clone());
        flows.push(flow);
    }
    // `level8` runs eight subflows deep and ends at its own top-level exit.
    let mut execution = run(&flows[8]);
    assert_eq!(drain(&mut execution), ["hangup normal"]);
    assert!(
        note_of(&execution, "x").contains("exit outside a subflow"),
        "{:?}",
        path(&execution)
    );
    // `level9` needs a ninth.
    let mut execution = run(&flows[9]);
    assert_eq!(drain(&mut execution), ["hangup flow.error"]);
    assert!(
        execution
            .trace()
            .last()
            .and_then(|step| step.note.as_deref())
            .unwrap_or_default()
            .contains("nest too deeply"),
        "{:?}",
        execution.trace()
    );
}
