//! The simulator: a call run in the browser with `ramal-flow`'s own executor and its
//! flow-test driver ([`Session`]), on a virtual clock. The supervisor presses keys, lets
//! time pass and answers webhooks; every input and everything the flow did is written down,
//! so the simulation can be saved as a flow test script (`flows/<id>.calls`) that `ramal flow
//! test` — and the engine's CI — run again.

use ramal_flow::Flow;
use ramal_flow::execution::{Command, TraceStep};
use ramal_flow::sim::{Script, ScriptCall, Session, Step, parse_step, run_script};
use serde_json::{Map, Value};
use std::sync::Arc;

/// The call the simulator places.
#[derive(Debug, Clone, PartialEq)]
pub struct CallSetup {
    /// Caller number.
    pub from: String,
    /// Number called.
    pub to: String,
    /// When the call happens: an RFC 3339 time with its offset (`2025-03-03T10:00:00-03:00`).
    pub at: String,
    /// Contact fields.
    pub contact: Map<String, Value>,
}

impl Default for CallSetup {
    fn default() -> Self {
        CallSetup {
            from: "+5511999990000".into(),
            to: "4000".into(),
            at: "2025-03-03T10:00:00-03:00".into(),
            contact: Map::new(),
        }
    }
}

/// Why a simulation could not start or a step could not be taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimulationError {
    /// The flow has errors; fix them first.
    #[error("the flow has errors: fix them before simulating")]
    NotCompiled,
    /// The call set-up is not valid (a bad time, say).
    #[error("the call set-up: {0}")]
    Setup(String),
    /// The step was refused by the driver.
    #[error("{0}")]
    Step(String),
}

/// A simulated call in progress.
pub struct Simulation {
    flow: Arc<Flow>,
    session: Session,
    setup: CallSetup,
    /// Script lines written so far (steps and expectations), without indentation.
    lines: Vec<String>,
    transcript: Vec<String>,
}

impl std::fmt::Debug for Simulation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulation")
            .field("setup", &self.setup)
            .field("lines", &self.lines)
            .finish_non_exhaustive()
    }
}

/// The header of a script call: `call "NAME" from F to T at TIME` and the contact line.
fn header_of(name: &str, setup: &CallSetup) -> String {
    let mut header = format!(
        "call {} from {} to {} at {}",
        quoted(name),
        setup.from,
        setup.to,
        setup.at
    );
    if !setup.contact.is_empty() {
        header.push_str("\n  contact");
        for (key, value) in &setup.contact {
            header.push_str(&format!(" {key}={value}"));
        }
    }
    header
}

fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".into())
}

/// A command as the `expect` line that checks it.
pub fn expect_line(command: &Command) -> Option<String> {
    Some(match command {
        Command::Play { prompt, .. } => format!("expect play {}", quoted(prompt.label())),
        Command::Http { request, .. } => {
            format!("expect http {} {}", request.method, request.url)
        }
        Command::RunCustomNode { module, .. } => format!("expect node {module}"),
        Command::Enqueue { queue, .. } => format!("expect enqueue {queue}"),
        Command::Transfer { to, .. } => format!("expect transfer {to}"),
        Command::StartRecording { .. } => "expect record".to_owned(),
        Command::RecordMessage { .. } => "expect voicemail".to_owned(),
        Command::SurveyAnswered { value, .. } => format!("expect survey {value}"),
        Command::Hangup {
            reason,
            disposition,
        } => match disposition {
            Some(disposition) => format!("expect hangup {reason} disposition={disposition}"),
            None => format!("expect hangup {reason}"),
        },
        Command::Cancel { .. } => return None,
    })
}

impl Simulation {
    /// Starts a call on `flow` (compiled: the editor's flow without errors).
    pub fn start(
        flow: Option<&Arc<Flow>>,
        setup: &CallSetup,
    ) -> Result<Simulation, SimulationError> {
        let flow = flow.ok_or(SimulationError::NotCompiled)?.clone();
        let header = header_of("simulated call", setup);
        // The script parser reads the header, so the set-up is checked the way a saved
        // script will be.
        let script =
            Script::parse(&header).map_err(|error| SimulationError::Setup(error.message))?;
        let call: &ScriptCall = script
            .calls
            .first()
            .ok_or_else(|| SimulationError::Setup("no call".into()))?;
        let session = Session::new(&flow, call);
        let mut simulation = Simulation {
            flow,
            session,
            setup: setup.clone(),
            lines: Vec::new(),
            transcript: Vec::new(),
        };
        simulation.collect();
        Ok(simulation)
    }

    /// Applies one script step written as text (`press 1`, `wait 5s`, `http returns 200
    /// {}`, `agent answers ana`, `hang up`, …) and records it.
    pub fn step(&mut self, text: &str) -> Result<(), SimulationError> {
        let step = parse_step(text.trim()).map_err(SimulationError::Step)?;
        if matches!(step, Step::Expect(_)) {
            return Err(SimulationError::Step(
                "the simulator writes the expectations itself".into(),
            ));
        }
        self.session.apply(&step).map_err(SimulationError::Step)?;
        self.lines.push(text.trim().to_owned());
        self.collect();
        Ok(())
    }

    /// The caller presses a key.
    pub fn press(&mut self, key: char) -> Result<(), SimulationError> {
        self.step(&format!("press {key}"))
    }

    /// Lets time run until something happens by itself (a prompt ends, a timeout fires);
    /// `false` when nothing would happen without an input.
    pub fn run_until_next(&mut self) -> bool {
        let before = self.session.elapsed_ms();
        if !self.session.run_until_next() {
            return false;
        }
        let waited = self.session.elapsed_ms() - before;
        self.lines.push(format!("wait {waited}ms"));
        self.collect();
        true
    }

    /// Takes what the flow did: expectations for the script, lines for the transcript.
    fn collect(&mut self) {
        for command in self.session.take_commands() {
            if let Some(line) = expect_line(&command) {
                self.lines.push(line);
            }
        }
        self.transcript.extend(self.session.take_transcript());
    }

    /// Has the call ended?
    pub fn ended(&self) -> bool {
        self.session.execution().ending().is_some()
    }

    /// Where the call is.
    pub fn current_node(&self) -> Option<&str> {
        self.session.execution().current_node()
    }

    /// The executor's trace so far.
    pub fn trace(&self) -> Vec<TraceStep> {
        self.session.execution().trace()
    }

    /// The nodes visited so far, as `expect path` reads them: repeats in a row once, and
    /// the node the call is in last.
    pub fn path(&self) -> Vec<String> {
        let mut path: Vec<String> = Vec::new();
        for step in self.trace() {
            if path.last().map(String::as_str) != Some(&*step.node) {
                path.push(step.node.to_string());
            }
        }
        if let Some(node) = self.current_node()
            && path.last().map(String::as_str) != Some(node)
        {
            path.push(node.to_owned());
        }
        path
    }

    /// What happened, one line per event, with virtual times.
    pub fn transcript(&self) -> &[String] {
        &self.transcript
    }

    /// Virtual milliseconds since the call started.
    pub fn elapsed_ms(&self) -> u64 {
        self.session.elapsed_ms()
    }

    /// The simulation as a flow test script named `name`, ending with the path it took.
    pub fn script(&self, name: &str) -> String {
        let mut text = header_of(name, &self.setup);
        for line in &self.lines {
            text.push_str("\n  ");
            text.push_str(line);
        }
        let path = self.path();
        if !path.is_empty() {
            text.push_str("\n  expect path ");
            text.push_str(&path.join(" "));
        }
        text.push('\n');
        text
    }

    /// Runs the saved script against the flow again: `Ok` when it passes, else why not.
    pub fn check_script(&self, name: &str) -> Result<(), String> {
        let script = Script::parse(&self.script(name)).map_err(|error| error.to_string())?;
        let reports = run_script(&self.flow, &script);
        match reports.iter().find(|report| !report.passed()) {
            Some(report) => Err(report.explain(name)),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ramal_flow::compile::{Environment, compile};
    use ramal_flow::document::FlowDocument;

    fn flow(name: &str) -> Arc<Flow> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../flows")
            .join(format!("{name}.json"));
        let text = std::fs::read_to_string(path).expect("the example flow");
        let doc = FlowDocument::from_json(&text).expect("a document");
        compile(&doc, &Environment::default())
            .flow
            .expect("the example compiles")
    }

    #[test]
    fn pressing_keys_runs_the_flow_and_the_saved_script_passes() {
        let flow = flow("cpf-check");
        let setup = CallSetup {
            contact: serde_json::from_str(r#"{"id": 42, "name": "Ana", "cpf": "529.982.247-25"}"#)
                .expect("contact"),
            ..CallSetup::default()
        };
        let mut sim = Simulation::start(Some(&flow), &setup).expect("started");
        for key in ['5', '2', '9'] {
            sim.press(key).expect("pressed");
        }
        sim.step("http returns 201 {\"id\": \"chk-1\"}")
            .expect("answered");
        let path: Vec<String> = sim.trace().iter().map(|s| s.node.to_string()).collect();
        assert!(path.len() >= 3, "{path:?}");
        let script = sim.script("the right prefix");
        assert!(script.contains("press 5"), "{script}");
        assert!(script.contains("expect http POST"), "{script}");
        assert!(
            script.contains("expect enqueue verified-customers"),
            "{script}"
        );
        assert!(script.contains("expect path start"), "{script}");
        sim.check_script("the right prefix")
            .expect("the saved script passes");
        assert!(!sim.transcript().is_empty());
    }

    #[test]
    fn waiting_lets_timeouts_fire_and_is_written_as_wait() {
        let flow = flow("cpf-check");
        let mut sim = Simulation::start(Some(&flow), &CallSetup::default()).expect("started");
        let mut waits = 0;
        while !sim.ended() && waits < 50 && sim.run_until_next() {
            waits += 1;
        }
        assert!(sim.ended(), "silence ends the call in the end");
        let script = sim.script("silence");
        assert!(script.contains("wait "), "{script}");
        assert!(script.contains("expect hangup"), "{script}");
        if let Err(error) = sim.check_script("silence") {
            panic!("{error}\n{script}");
        }
    }

    #[test]
    fn bad_input_is_refused_and_changes_nothing() {
        let flow = flow("cpf-check");
        assert_eq!(
            Simulation::start(None, &CallSetup::default()).err(),
            Some(SimulationError::NotCompiled)
        );
        let bad_time = CallSetup {
            at: "yesterday".into(),
            ..CallSetup::default()
        };
        assert!(matches!(
            Simulation::start(Some(&flow), &bad_time),
            Err(SimulationError::Setup(_))
        ));
        let mut sim = Simulation::start(Some(&flow), &CallSetup::default()).expect("started");
        let before = sim.script("x");
        assert!(sim.step("dance").is_err());
        assert!(sim.step("expect play x").is_err());
        assert_eq!(sim.script("x"), before);
    }
}
