//! Property tests of the executor through the public API: the example flows and randomly
//! generated valid flows, driven by random inputs (keys, timers, completions for real and
//! made-up command ids, hang-ups, jumps in time). Whatever happens, the executor must not
//! panic, must stay within its step limit, must say nothing after the call ends, must never
//! ask for a timer in the past, and must only cancel commands it sent.

use proptest::prelude::*;
use ramal_flow::execution::{CustomOutcome, MAX_STEPS, QueueOutcome, TransferOutcome};
use ramal_flow::{
    CallInfo, Command, CommandId, Environment, Event, Execution, Flow, FlowDocument, Instant,
    compile, compile_json,
};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

// --- flows ------------------------------------------------------------------------------

/// The four example flows, compiled once (survey first: reception calls it).
fn examples() -> &'static [Arc<Flow>] {
    static EXAMPLES: OnceLock<Vec<Arc<Flow>>> = OnceLock::new();
    EXAMPLES.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../flows");
        let mut environment = Environment::default();
        let mut flows = Vec::new();
        for name in ["survey", "reception", "cpf-check", "campaign-answer"] {
            let path = dir.join(format!("{name}.json"));
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
            let compilation = compile_json(&text, &environment);
            let flow = compilation.flow.unwrap_or_else(|| {
                let listing: Vec<String> = compilation
                    .diagnostics
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                panic!("{name} does not compile:\n{}", listing.join("\n"))
            });
            environment.flows.insert(flow.id().to_owned(), flow.clone());
            flows.push(flow);
        }
        flows
    })
}

/// One generated node: its kind, a byte that picks its parameters, and bytes that pick
/// where its ports lead.
#[derive(Debug, Clone)]
struct NodeSpec {
    kind: u8,
    choice: u8,
    targets: Vec<u8>,
}

const KINDS: u8 = 7;

/// (kind name, port names, does it wait?)
fn kind_info(kind: u8) -> (&'static str, &'static [&'static str], bool) {
    match kind % KINDS {
        0 => ("play", &["next"], true),
        1 => ("menu", &["1", "2", "no-input", "invalid"], true),
        2 => ("collect", &["ok", "invalid", "no-input"], true),
        3 => ("condition", &["true", "false", "error"], false),
        4 => ("set-variables", &["next", "error"], false),
        5 => ("http-request", &["ok", "error"], false),
        _ => ("hangup", &[], false),
    }
}

fn params(kind: u8, choice: u8, index: usize) -> Value {
    let c = choice as u64;
    let prompt = |text: &str| json!({ "tts": format!("{text} {index} {{{{ v }}}}") });
    match kind % KINDS {
        0 => {
            json!({ "prompt": { "file": format!("p{index}") }, "barge_in": choice.is_multiple_of(2) })
        }
        1 => {
            let mut params = json!({
                "prompt": prompt("menu"), "options": { "1": "one", "2": "two" },
                "timeout": 1000 + (c % 5) * 1000, "retries": c % 3, "type_ahead": !choice.is_multiple_of(4),
            });
            if choice.is_multiple_of(3) {
                params["invalid_prompt"] = prompt("invalid");
            }
            if choice.is_multiple_of(5) {
                params["no_input_prompt"] = prompt("silence");
            }
            params
        }
        2 => {
            let mut params = json!({
                "min_digits": 1 + c % 2, "max_digits": 2 + c % 3,
                "first_digit_timeout": 1000 + (c % 7) * 300, "inter_digit_timeout": 1000 + (c % 3) * 200,
                "retries": c % 3, "store": "d", "type_ahead": !choice.is_multiple_of(5),
            });
            if choice.is_multiple_of(2) {
                params["terminator"] = json!("#");
            }
            if !choice.is_multiple_of(4) {
                params["prompt"] = prompt("collect");
            }
            match choice % 3 {
                0 => params["validate"] = json!([{ "regex": "^1" }]),
                1 => params["validate"] = json!([{ "length": { "min": 2 } }]),
                _ => {}
            }
            params
        }
        3 => {
            let exprs = [
                "v > 3",
                "v % 2 == 0",
                "size(d) > 1",
                "10 / v > 1",
                "st == 200",
                "r == 1",
            ];
            json!({ "expr": exprs[choice as usize % exprs.len()] })
        }
        4 => {
            let assigns = [
                json!({ "v": "v + 1" }),
                json!({ "v": "v * 2 + 1" }),
                json!({ "s": "string(v) + d", "v": "v + 2" }),
            ];
            json!({ "assign": assigns[choice as usize % assigns.len()] })
        }
        5 => {
            let mut params = json!({
                "url": "https://hooks.example/{{ v }}?d={{ d }}",
                "timeout": 200 + (c % 4) * 700, "retries": c % 3, "backoff": 100 * (1 + c % 4),
            });
            if choice.is_multiple_of(2) {
                params["filler"] = json!({ "file": "hold" });
                params["filler_after"] = json!(300);
            }
            if !choice.is_multiple_of(3) {
                params["response"] = json!({ "r": "/r" });
            }
            if !choice.is_multiple_of(5) {
                params["store_status"] = json!("st");
            }
            params
        }
        _ => json!({ "reason": format!("r{}", choice % 3) }),
    }
}

/// A flow document from specs. Nodes that wait may lead anywhere; nodes that do not wait
/// only lead forward, so every loop passes through a node that waits and the flow is valid.
fn generated_document(specs: &[NodeSpec]) -> FlowDocument {
    let count = specs.len();
    let mut nodes = vec![json!({ "id": "start", "kind": "start", "ports": { "next": "n0" } })];
    for (index, spec) in specs.iter().enumerate() {
        let (name, ports, waits) = kind_info(spec.kind);
        let mut connected = serde_json::Map::new();
        for (slot, port) in ports.iter().enumerate() {
            let byte = spec.targets.get(slot).copied().unwrap_or(0) as usize;
            if byte.is_multiple_of(6) {
                continue;
            }
            let target = if waits {
                Some(byte % count)
            } else if index + 1 < count {
                Some(index + 1 + byte % (count - index - 1))
            } else {
                None
            };
            if let Some(target) = target {
                connected.insert((*port).to_owned(), json!(format!("n{target}")));
            }
        }
        nodes.push(json!({
            "id": format!("n{index}"), "kind": name,
            "params": params(spec.kind, spec.choice, index), "ports": connected,
        }));
    }
    serde_json::from_value(json!({
        "schema": "ramal.flow/v1", "id": "generated", "name": "Generated",
        "variables": {
            "v": { "default": 0 }, "d": { "default": "" }, "s": { "default": "" },
            "r": { "default": null }, "st": { "default": 0 },
        },
        "nodes": nodes,
    }))
    .expect("generated documents have the document's shape")
}

fn node_spec() -> impl Strategy<Value = NodeSpec> {
    (0..KINDS, any::<u8>(), prop::collection::vec(any::<u8>(), 4)).prop_map(
        |(kind, choice, targets)| NodeSpec {
            kind,
            choice,
            targets,
        },
    )
}

#[derive(Debug, Clone)]
enum FlowChoice {
    Example(usize),
    Generated(Vec<NodeSpec>),
}

fn flow_choice() -> impl Strategy<Value = FlowChoice> {
    prop_oneof![
        1 => (0..4usize).prop_map(FlowChoice::Example),
        2 => prop::collection::vec(node_spec(), 1..10).prop_map(FlowChoice::Generated),
    ]
}

// --- inputs -----------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Input {
    /// A key (sometimes not a DTMF key at all).
    Digit(char),
    /// `handle_timeout` at `poll_timeout()`.
    Timeout,
    /// Time passes, then `handle_timeout` at the new time.
    Jump(u32),
    /// A completion for one of the commands sent so far (picked by index).
    Complete { pick: u16, variant: u8 },
    /// A completion for an id that may never have been sent.
    Stale { id: u32, variant: u8 },
    /// The caller hangs up.
    HungUp,
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        30 => prop::sample::select(vec!['0', '1', '2', '3', '4', '5', '9', '*', '#', 'A', 'x']).prop_map(Input::Digit),
        25 => Just(Input::Timeout),
        8 => (0u32..20_000).prop_map(Input::Jump),
        25 => (any::<u16>(), any::<u8>()).prop_map(|(pick, variant)| Input::Complete { pick, variant }),
        8 => (0u32..64, any::<u8>()).prop_map(|(id, variant)| Input::Stale { id, variant }),
        1 => Just(Input::HungUp),
    ]
}

/// What kind of command an id belongs to, to build a fitting completion.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Play,
    Http,
    Custom,
    Queue,
    Transfer,
    Recording,
    Other,
}

fn completion(kind: Kind, id: CommandId, variant: u8) -> Event {
    match (kind, variant % 5) {
        (Kind::Play, _) | (Kind::Other, 0) => Event::PromptFinished { id },
        (Kind::Http, 0) => Event::HttpResponded {
            id,
            status: 200,
            body: r#"{"r": 1}"#.to_owned(),
        },
        (Kind::Http, 1) => Event::HttpResponded {
            id,
            status: 503,
            body: String::new(),
        },
        (Kind::Http, 2) => Event::HttpResponded {
            id,
            status: 404,
            body: String::new(),
        },
        (Kind::Http, 3) => Event::HttpFailed {
            id,
            reason: "refused".to_owned(),
        },
        (Kind::Http, _) => Event::HttpResponded {
            id,
            status: 200,
            body: "not json".to_owned(),
        },
        (Kind::Custom, 0) => Event::CustomNodeFinished {
            id,
            result: Err("trap".to_owned()),
        },
        (Kind::Custom, variant) => Event::CustomNodeFinished {
            id,
            result: Ok(CustomOutcome {
                port: ["found", "error", "nope", "missing"][variant as usize % 4].to_owned(),
                variables: serde_json::Map::new(),
            }),
        },
        (Kind::Queue, 0) => Event::Connected {
            id,
            party: "agent".to_owned(),
        },
        (Kind::Queue, variant) => Event::QueueEnded {
            id,
            outcome: [
                QueueOutcome::Answered,
                QueueOutcome::Timeout,
                QueueOutcome::NoAgents,
            ][variant as usize % 3],
        },
        (Kind::Transfer, 0) => Event::Connected {
            id,
            party: "+5511".to_owned(),
        },
        (Kind::Transfer, variant) => Event::TransferEnded {
            id,
            outcome: [TransferOutcome::Completed, TransferOutcome::Failed][variant as usize % 2],
        },
        (Kind::Recording, _) | (Kind::Other, 1) => Event::RecordingFinished {
            id,
            recording: "rec".to_owned(),
        },
        (Kind::Other, 2) => Event::HttpResponded {
            id,
            status: 200,
            body: "{}".to_owned(),
        },
        (Kind::Other, 3) => Event::QueueEnded {
            id,
            outcome: QueueOutcome::Answered,
        },
        (Kind::Other, _) => Event::Connected {
            id,
            party: "x".to_owned(),
        },
    }
}

fn stale_kind(variant: u8) -> Kind {
    [
        Kind::Play,
        Kind::Http,
        Kind::Custom,
        Kind::Queue,
        Kind::Transfer,
        Kind::Recording,
        Kind::Other,
    ][variant as usize % 7]
}

// --- the driver -------------------------------------------------------------------------

struct Driver {
    execution: Execution,
    now: u64,
    sent: Vec<(CommandId, Kind)>,
    last_id: u32,
    ended: bool,
}

impl Driver {
    fn new(flow: Arc<Flow>, call: CallInfo, now: u64) -> Result<Driver, TestCaseError> {
        let execution = Execution::start(flow, call, Instant::from_millis(now));
        let mut driver = Driver {
            execution,
            now,
            sent: Vec::new(),
            last_id: 0,
            ended: false,
        };
        driver.drain()?;
        Ok(driver)
    }

    /// Takes every command, checking each against what came before.
    fn drain(&mut self) -> Result<(), TestCaseError> {
        while let Some(command) = self.execution.poll_command() {
            prop_assert!(
                !self.ended,
                "a command after the end of the call: {command:?}"
            );
            let (id, kind) = match &command {
                Command::Cancel { id } => {
                    prop_assert!(
                        self.sent.iter().any(|(sent, _)| sent == id),
                        "cancel of {id:?}, which was never sent"
                    );
                    continue;
                }
                Command::Hangup { .. } => {
                    self.ended = true;
                    continue;
                }
                Command::SurveyAnswered { .. } => continue,
                Command::Play { id, .. } => (*id, Kind::Play),
                Command::Http { id, .. } => (*id, Kind::Http),
                Command::RunCustomNode { id, .. } => (*id, Kind::Custom),
                Command::Enqueue { id, .. } => (*id, Kind::Queue),
                Command::Transfer { id, .. } => (*id, Kind::Transfer),
                Command::RecordMessage { id, .. } => (*id, Kind::Recording),
                Command::StartRecording { id } => (*id, Kind::Other),
            };
            prop_assert!(
                id.0 > self.last_id,
                "ids must increase: {id:?} after {}",
                self.last_id
            );
            self.last_id = id.0;
            self.sent.push((id, kind));
        }
        if self.ended {
            prop_assert!(self.execution.ending().is_some());
            prop_assert_eq!(self.execution.poll_timeout(), None);
        }
        prop_assert!(self.execution.trace().len() <= MAX_STEPS as usize);
        Ok(())
    }

    fn timeout_at(&mut self, now: u64) -> Result<(), TestCaseError> {
        self.now = now;
        self.execution.handle_timeout(Instant::from_millis(now));
        self.drain()?;
        if let Some(next) = self.execution.poll_timeout() {
            prop_assert!(
                next.as_millis() > now,
                "poll_timeout {next:?} is not after {now}"
            );
        }
        Ok(())
    }

    fn apply(&mut self, input: &Input) -> Result<(), TestCaseError> {
        let now = Instant::from_millis(self.now);
        match input {
            Input::Digit(digit) => self.execution.handle(Event::Digit { digit: *digit }, now),
            Input::Timeout => {
                let due = self
                    .execution
                    .poll_timeout()
                    .map_or(self.now, Instant::as_millis);
                return self.timeout_at(due.max(self.now));
            }
            Input::Jump(ms) => return self.timeout_at(self.now + u64::from(*ms)),
            Input::Complete { pick, variant } => {
                if self.sent.is_empty() {
                    return Ok(());
                }
                let (id, kind) = self.sent[*pick as usize % self.sent.len()];
                self.execution.handle(completion(kind, id, *variant), now);
            }
            Input::Stale { id, variant } => {
                let event = completion(stale_kind(*variant), CommandId(*id), variant / 7);
                self.execution.handle(event, now);
            }
            Input::HungUp => {
                let was_over = self.ended;
                self.execution.handle(Event::CallerHungUp, now);
                self.drain()?;
                prop_assert!(self.execution.ending().is_some());
                prop_assert_eq!(self.execution.poll_timeout(), None);
                if !was_over {
                    prop_assert_eq!(
                        self.execution.ending(),
                        Some(&ramal_flow::execution::Ending::Caller)
                    );
                }
                self.ended = true;
                return Ok(());
            }
        }
        self.drain()
    }
}

fn call_info(started_at_unix_ms: i64) -> CallInfo {
    CallInfo {
        call_id: "prop".to_owned(),
        caller: "+5511999990000".to_owned(),
        callee: "+551133334444".to_owned(),
        campaign: Some("spring".to_owned()),
        started_at_unix_ms,
        contact: json!({ "id": 42, "name": "Ana", "cpf": "529.982.247-25" })
            .as_object()
            .cloned()
            .unwrap_or_default(),
        variables: serde_json::Map::new(),
        ..CallInfo::default()
    }
}

fn flow_of(choice: &FlowChoice) -> Result<Arc<Flow>, TestCaseError> {
    match choice {
        FlowChoice::Example(index) => Ok(examples()[*index].clone()),
        FlowChoice::Generated(specs) => {
            let compilation = compile(&generated_document(specs), &Environment::default());
            let errors: Vec<String> = compilation
                .diagnostics
                .iter()
                .filter(|diagnostic| diagnostic.is_error())
                .map(ToString::to_string)
                .collect();
            prop_assert!(
                errors.is_empty(),
                "a generated flow does not compile:\n{}",
                errors.join("\n")
            );
            compilation
                .flow
                .ok_or_else(|| TestCaseError::fail("no flow without errors"))
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_calls_keep_the_executor_contract(
        choice in flow_choice(),
        // 2024-01-01 .. 2027-01-01: business hours open and closed, holidays included.
        started_at in 1_704_067_200_000i64..1_798_761_600_000,
        origin in 0u64..1_000_000,
        inputs in prop::collection::vec(input(), 0..200),
    ) {
        let flow = flow_of(&choice)?;
        let mut driver = Driver::new(flow, call_info(started_at), origin)?;
        for input in &inputs {
            driver.apply(input)?;
        }
    }
}

#[test]
fn the_example_flows_compile_in_order() {
    let ids: Vec<&str> = examples().iter().map(|flow| flow.id()).collect();
    assert_eq!(ids, ["survey", "reception", "cpf-check", "campaign-answer"]);
}
