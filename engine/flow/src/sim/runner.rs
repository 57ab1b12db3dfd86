//! Runs scripted calls against a compiled flow on a virtual clock. The runner plays the
//! driver's part: prompts end after an estimated length, webhooks, custom nodes, queues
//! and transfers answer when the script says so, and every command the flow emits must be
//! expected by the script, in order.

use super::script::{Expectation, Script, ScriptCall, Step};
use crate::execution::{
    CallInfo, Command, CommandId, CustomOutcome, Direction, Event, Execution, QueueOutcome,
    TraceStep, TransferOutcome,
};
use crate::flow::Flow;
use crate::time::Instant;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

/// How far `expect` lets virtual time run looking for the next command.
const EXPECT_HORIZON: Duration = Duration::from_secs(600);
/// Assumed length of a recording prompt.
const FILE_PROMPT: Duration = Duration::from_secs(2);
/// Assumed speaking time per character of TTS text.
const TTS_PER_CHAR_MS: u64 = 60;

/// The result of one scripted call.
#[derive(Debug, Clone)]
pub struct CallReport {
    /// The call's name.
    pub name: String,
    /// The line the call starts on.
    pub line: usize,
    /// Why it failed: (line, message). `None` when it passed.
    pub failure: Option<(usize, String)>,
    /// What happened, one line per command or input, with virtual times.
    pub transcript: Vec<String>,
    /// The executor's trace.
    pub trace: Vec<TraceStep>,
}

impl CallReport {
    /// Did every step pass?
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
    /// A failure report: the script line, the message, the transcript and the trace.
    pub fn explain(&self, script_name: &str) -> String {
        let mut out = String::new();
        if let Some((line, message)) = &self.failure {
            out.push_str(&format!(
                "{script_name}:{line}: call \"{}\": {message}\n",
                self.name
            ));
        }
        out.push_str("  transcript:\n");
        for entry in &self.transcript {
            out.push_str(&format!("    {entry}\n"));
        }
        out.push_str("  trace:\n");
        for step in &self.trace {
            out.push_str(&format!("    {step}\n"));
        }
        out
    }
}

/// Runs every call of `script` against `flow`.
pub fn run_script(flow: &Arc<Flow>, script: &Script) -> Vec<CallReport> {
    script
        .calls
        .iter()
        .map(|call| run_call(flow, call))
        .collect()
}

/// A kind of command the script answers (`http returns`, `agent answers`, …).
#[derive(Debug, Clone, Copy)]
enum Awaited {
    Http,
    CustomNode,
    Queue,
    Transfer,
    Recording,
}

impl Awaited {
    fn is(self, command: &Command) -> bool {
        matches!(
            (self, command),
            (Awaited::Http, Command::Http { .. })
                | (Awaited::CustomNode, Command::RunCustomNode { .. })
                | (Awaited::Queue, Command::Enqueue { .. })
                | (Awaited::Transfer, Command::Transfer { .. })
                | (Awaited::Recording, Command::RecordMessage { .. })
        )
    }

    fn take(self, pending: &mut Pending) -> Option<CommandId> {
        match self {
            Awaited::Http => pending.http.pop_front(),
            Awaited::CustomNode => pending.custom.pop_front(),
            Awaited::Queue => pending.queue.take(),
            Awaited::Transfer => pending.transfer.take(),
            Awaited::Recording => pending.recording.take(),
        }
    }
}

impl std::fmt::Display for Awaited {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Awaited::Http => "make an HTTP request",
            Awaited::CustomNode => "run a custom node",
            Awaited::Queue => "enqueue",
            Awaited::Transfer => "transfer",
            Awaited::Recording => "record a voicemail",
        })
    }
}

/// Pending driver-side work, by kind.
#[derive(Default)]
struct Pending {
    prompts: BTreeMap<CommandId, Instant>,
    http: VecDeque<CommandId>,
    custom: VecDeque<CommandId>,
    queue: Option<CommandId>,
    transfer: Option<CommandId>,
    recording: Option<CommandId>,
}

/// A scripted call in progress: the driver's side of one [`Execution`] on a virtual clock.
/// `run_script` drives one per call; `ramal flow run` and the editor's simulator drive one
/// step at a time.
pub struct Session {
    execution: Execution,
    now: Instant,
    origin: Instant,
    outbox: VecDeque<Command>,
    pending: Pending,
    transcript: Vec<String>,
}

fn run_call(flow: &Arc<Flow>, call: &ScriptCall) -> CallReport {
    let mut sim = Session::new(flow, call);
    let mut failure = None;
    for (line, step) in &call.steps {
        if let Err(message) = sim.apply(step) {
            failure = Some((*line, message));
            break;
        }
    }
    if failure.is_none() && !sim.outbox.is_empty() {
        let left: Vec<String> = sim.outbox.iter().map(describe).collect();
        let last_line = call.steps.last().map_or(call.line, |(line, _)| *line);
        failure = Some((
            last_line,
            format!(
                "the flow did more than the script expects: {}",
                left.join(", ")
            ),
        ));
    }
    CallReport {
        name: call.name.clone(),
        line: call.line,
        failure,
        transcript: sim.transcript,
        trace: sim.execution.trace(),
    }
}

impl Session {
    /// Starts `call` (its header, contact and variables; not its steps) on `flow`.
    pub fn new(flow: &Arc<Flow>, call: &ScriptCall) -> Session {
        let origin = Instant::from_millis(1_000_000);
        let info = CallInfo {
            call_id: format!("sim-{}", call.line),
            caller: call.from.clone(),
            callee: call.to.clone(),
            direction: if call.outbound {
                Direction::Outbound
            } else {
                Direction::Inbound
            },
            campaign: call.campaign.clone(),
            started_at_unix_ms: call.at_unix_ms,
            contact: call.contact.clone(),
            variables: call.variables.clone(),
        };
        let mut session = Session {
            execution: Execution::start(flow.clone(), info, origin),
            now: origin,
            origin,
            outbox: VecDeque::new(),
            pending: Pending::default(),
            transcript: Vec::new(),
        };
        session.drain();
        session
    }

    /// The execution being driven.
    pub fn execution(&self) -> &Execution {
        &self.execution
    }

    /// Transcript lines written since the last call (all of them the first time).
    pub fn take_transcript(&mut self) -> Vec<String> {
        std::mem::take(&mut self.transcript)
    }

    /// Forgets commands no `expect` consumed (interactive use, where nothing is expected).
    pub fn forget_unexpected(&mut self) {
        self.outbox.clear();
    }

    /// Takes, in order, the commands no `expect` consumed yet (interactive use: the editor's
    /// simulator shows them and writes each as an `expect` line of a script).
    pub fn take_commands(&mut self) -> Vec<Command> {
        self.outbox.drain(..).collect()
    }

    /// Lets virtual time run to the next thing that happens by itself (a prompt ends, a
    /// timer fires). `false` if nothing would ever happen without an input.
    pub fn run_until_next(&mut self) -> bool {
        match self.next_due() {
            Some(due) => {
                self.advance_to(due);
                true
            }
            None => false,
        }
    }

    /// Milliseconds of virtual time since the call started.
    pub fn elapsed_ms(&self) -> u64 {
        (self.now - self.origin).as_millis() as u64
    }
}

/// A command in a line, for messages and transcripts.
fn describe(command: &Command) -> String {
    match command {
        Command::Play { prompt, .. } => format!("play {:?}", prompt.label()),
        Command::Cancel { id } => format!("cancel #{}", id.0),
        Command::Http { request, .. } => format!("http {} {}", request.method, request.url),
        Command::RunCustomNode {
            module, version, ..
        } => format!("node {module}@{version}"),
        Command::Enqueue {
            queue, priority, ..
        } => format!("enqueue {queue} (priority {priority})"),
        Command::Transfer { to, .. } => format!("transfer {to}"),
        Command::StartRecording { .. } => "record".to_owned(),
        Command::RecordMessage { .. } => "voicemail".to_owned(),
        Command::SurveyAnswered { survey, value, .. } => format!("survey {survey} = {value}"),
        Command::Hangup {
            reason,
            disposition,
        } => match disposition {
            Some(disposition) => format!("hangup {reason} disposition={disposition}"),
            None => format!("hangup {reason}"),
        },
    }
}

impl Session {
    fn at(&self) -> String {
        format!("{:>7.3}s", (self.now - self.origin).as_secs_f64())
    }

    fn log(&mut self, entry: String) {
        let line = format!("{} {entry}", self.at());
        self.transcript.push(line);
    }

    /// Takes every command the execution emitted: driver bookkeeping, then the outbox.
    fn drain(&mut self) {
        while let Some(command) = self.execution.poll_command() {
            match &command {
                Command::Play { looped: true, .. } => {}
                Command::Play { id, prompt, .. } => {
                    let length = match &prompt.text {
                        Some(text) => Duration::from_millis(
                            (text.chars().count() as u64 * TTS_PER_CHAR_MS).max(1000),
                        ),
                        None => FILE_PROMPT,
                    };
                    self.pending.prompts.insert(*id, self.now + length);
                }
                Command::Cancel { id } => {
                    self.pending.prompts.remove(id);
                    self.pending.http.retain(|pending| pending != id);
                    self.pending.custom.retain(|pending| pending != id);
                    for slot in [
                        &mut self.pending.queue,
                        &mut self.pending.transfer,
                        &mut self.pending.recording,
                    ] {
                        if *slot == Some(*id) {
                            *slot = None;
                        }
                    }
                    self.log(describe(&command));
                    continue;
                }
                Command::Http { id, .. } => self.pending.http.push_back(*id),
                Command::RunCustomNode { id, .. } => self.pending.custom.push_back(*id),
                Command::Enqueue { id, .. } => self.pending.queue = Some(*id),
                Command::Transfer { id, .. } => self.pending.transfer = Some(*id),
                Command::RecordMessage { id, .. } => self.pending.recording = Some(*id),
                Command::StartRecording { .. }
                | Command::SurveyAnswered { .. }
                | Command::Hangup { .. } => {}
            }
            self.log(describe(&command));
            self.outbox.push_back(command);
        }
    }

    /// The next instant something happens by itself: a prompt ends or a timer fires.
    fn next_due(&self) -> Option<Instant> {
        let prompt = self.pending.prompts.values().min().copied();
        match (prompt, self.execution.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Runs virtual time up to `until`, delivering prompt ends and timeouts in order.
    fn advance_to(&mut self, until: Instant) {
        while let Some(due) = self.next_due().filter(|&due| due <= until) {
            self.now = self.now.max(due);
            let finished: Vec<CommandId> = self
                .pending
                .prompts
                .iter()
                .filter(|&(_, &end)| end <= self.now)
                .map(|(&id, _)| id)
                .collect();
            for id in finished {
                self.pending.prompts.remove(&id);
                self.execution
                    .handle(Event::PromptFinished { id }, self.now);
                self.drain();
            }
            if self
                .execution
                .poll_timeout()
                .is_some_and(|at| at <= self.now)
            {
                self.execution.handle_timeout(self.now);
                self.drain();
            }
        }
        self.now = self.now.max(until);
    }

    /// The next command, letting virtual time run (up to the horizon) until there is one.
    fn next_command(&mut self) -> Result<Command, String> {
        let horizon = self.now + EXPECT_HORIZON;
        loop {
            if let Some(command) = self.outbox.pop_front() {
                return Ok(command);
            }
            if self.execution.ending().is_some() {
                return Err("the call has already ended".to_owned());
            }
            match self.next_due() {
                Some(due) if due <= horizon => self.advance_to(due),
                _ => {
                    return Err(
                        "nothing happens: the flow waits for the caller or the driver".to_owned(),
                    );
                }
            }
        }
    }

    fn event(&mut self, event: Event, entry: String) {
        self.log(entry);
        self.execution.handle(event, self.now);
        self.drain();
    }

    /// The pending command of one kind, taking its announcement from the outbox first.
    fn pending_of(&mut self, kind: Awaited) -> Result<CommandId, String> {
        if let Some(id) = kind.take(&mut self.pending) {
            if self.outbox.front().is_some_and(|command| kind.is(command)) {
                self.outbox.pop_front();
            }
            return Ok(id);
        }
        let command = self.next_command()?;
        if !kind.is(&command) {
            return Err(format!(
                "expected the flow to {kind}, but it did: {}",
                describe(&command)
            ));
        }
        kind.take(&mut self.pending)
            .ok_or_else(|| format!("no {kind} is pending"))
    }

    /// Applies one script step; `Err` says why the step failed.
    pub fn apply(&mut self, step: &Step) -> Result<(), String> {
        match step {
            Step::Press(keys) => {
                if self.execution.ending().is_some() {
                    return Err("pressed a key after the call ended".to_owned());
                }
                for digit in keys.chars() {
                    self.event(Event::Digit { digit }, format!("caller presses {digit}"));
                }
            }
            Step::Wait(duration) => {
                self.log(format!("caller waits {duration}"));
                let until = self.now + duration.duration();
                self.advance_to(until);
            }
            Step::HangUp => {
                self.event(Event::CallerHungUp, "caller hangs up".to_owned());
                if let Some(command) = self
                    .outbox
                    .iter()
                    .find(|c| !matches!(c, Command::Cancel { .. }))
                {
                    return Err(format!(
                        "the flow emitted {} after the caller hung up",
                        describe(command)
                    ));
                }
                self.outbox.clear();
            }
            Step::HttpReturns { status, body } => {
                let id = self.pending_of(Awaited::Http)?;
                self.event(
                    Event::HttpResponded {
                        id,
                        status: *status,
                        body: body.clone(),
                    },
                    format!("http answers {status}"),
                );
            }
            Step::HttpFails(reason) => {
                let id = self.pending_of(Awaited::Http)?;
                self.event(
                    Event::HttpFailed {
                        id,
                        reason: reason.clone(),
                    },
                    format!("http fails: {reason}"),
                );
            }
            Step::NodeReturns { port, variables } => {
                let id = self.pending_of(Awaited::CustomNode)?;
                let outcome = CustomOutcome {
                    port: port.clone(),
                    variables: variables.clone(),
                };
                self.event(
                    Event::CustomNodeFinished {
                        id,
                        result: Ok(outcome),
                    },
                    format!("node returns {port}"),
                );
            }
            Step::NodeFails(reason) => {
                let id = self.pending_of(Awaited::CustomNode)?;
                self.event(
                    Event::CustomNodeFinished {
                        id,
                        result: Err(reason.clone()),
                    },
                    format!("node fails: {reason}"),
                );
            }
            Step::Answers(party) => {
                let id = match (self.pending.queue, self.pending.transfer) {
                    (Some(id), _) | (None, Some(id)) => {
                        self.outbox.retain(|c| {
                            !matches!(c, Command::Enqueue { .. } | Command::Transfer { .. })
                        });
                        id
                    }
                    (None, None) => match self.next_command()? {
                        Command::Enqueue { id, .. } | Command::Transfer { id, .. } => id,
                        other => {
                            return Err(format!(
                                "expected a queue or transfer, but the flow did: {}",
                                describe(&other)
                            ));
                        }
                    },
                };
                self.event(
                    Event::Connected {
                        id,
                        party: party.clone(),
                    },
                    format!("{party} answers"),
                );
            }
            Step::AgentHangsUp => {
                let id = self.pending_of(Awaited::Queue)?;
                self.event(
                    Event::QueueEnded {
                        id,
                        outcome: QueueOutcome::Answered,
                    },
                    "agent hangs up".to_owned(),
                );
            }
            Step::QueueTimesOut => {
                let id = self.pending_of(Awaited::Queue)?;
                self.event(
                    Event::QueueEnded {
                        id,
                        outcome: QueueOutcome::Timeout,
                    },
                    "queue times out".to_owned(),
                );
            }
            Step::QueueHasNoAgents => {
                let id = self.pending_of(Awaited::Queue)?;
                self.event(
                    Event::QueueEnded {
                        id,
                        outcome: QueueOutcome::NoAgents,
                    },
                    "queue has no agents".to_owned(),
                );
            }
            Step::TransferCompletes | Step::TransferFails => {
                let id = self.pending_of(Awaited::Transfer)?;
                let outcome = if *step == Step::TransferCompletes {
                    TransferOutcome::Completed
                } else {
                    TransferOutcome::Failed
                };
                self.event(
                    Event::TransferEnded { id, outcome },
                    format!("transfer ends: {outcome:?}"),
                );
            }
            Step::RecordingEnds(name) => {
                let id = self.pending_of(Awaited::Recording)?;
                self.event(
                    Event::RecordingFinished {
                        id,
                        recording: name.clone(),
                    },
                    "recording ends".to_owned(),
                );
            }
            Step::Expect(expectation) => self.expect(expectation)?,
        }
        Ok(())
    }

    fn expect(&mut self, expectation: &Expectation) -> Result<(), String> {
        match expectation {
            Expectation::Variable(name, expected) => {
                let variables = self.execution.variables();
                let actual = variables.get(name);
                return if actual == Some(expected) {
                    Ok(())
                } else {
                    Err(format!(
                        "expected {name} = {expected}, found {}",
                        actual.map_or("nothing".to_owned(), |v| v.to_string())
                    ))
                };
            }
            Expectation::Path(expected) => {
                let mut actual: Vec<String> = Vec::new();
                for step in &self.execution.trace() {
                    if actual.last().map(String::as_str) != Some(&*step.node) {
                        actual.push(step.node.to_string());
                    }
                }
                if let Some(node) = self.execution.current_node()
                    && actual.last().map(String::as_str) != Some(node)
                {
                    actual.push(node.to_owned());
                }
                return if &actual == expected {
                    Ok(())
                } else {
                    Err(format!(
                        "expected the path {}, but it was {}",
                        expected.join(" "),
                        actual.join(" ")
                    ))
                };
            }
            Expectation::Silence => {
                return match self.outbox.front() {
                    None => Ok(()),
                    Some(command) => Err(format!(
                        "expected silence, but the flow did: {}",
                        describe(command)
                    )),
                };
            }
            _ => {}
        }
        let command = self.next_command()?;
        let matched = match (expectation, &command) {
            (Expectation::Play(wanted), Command::Play { prompt, .. }) if wanted.is_empty() => {
                prompt.label().is_empty()
            }
            (Expectation::Play(wanted), Command::Play { prompt, .. }) => {
                let wanted_lower = wanted.to_lowercase();
                prompt.file.as_deref().is_some_and(|file| {
                    file == wanted
                        || file
                            .rsplit_once('.')
                            .is_some_and(|(stem, _)| stem == wanted)
                }) || prompt
                    .text
                    .as_deref()
                    .is_some_and(|text| text.to_lowercase().contains(&wanted_lower))
            }
            (Expectation::Http { method, url }, Command::Http { request, .. }) => {
                method
                    .as_ref()
                    .is_none_or(|method| *method == request.method)
                    && request.url.contains(url.as_str())
            }
            (Expectation::Node(module), Command::RunCustomNode { module: actual, .. }) => {
                module == actual
            }
            (Expectation::Enqueue(queue), Command::Enqueue { queue: actual, .. }) => {
                queue == actual
            }
            (Expectation::Transfer(to), Command::Transfer { to: actual, .. }) => to == actual,
            (Expectation::Record, Command::StartRecording { .. }) => true,
            (Expectation::Voicemail, Command::RecordMessage { .. }) => true,
            (Expectation::Survey(value), Command::SurveyAnswered { value: actual, .. }) => {
                value == actual
            }
            (
                Expectation::Hangup {
                    reason,
                    disposition,
                },
                Command::Hangup {
                    reason: actual,
                    disposition: actual_disposition,
                },
            ) => {
                reason.as_ref().is_none_or(|reason| reason == actual)
                    && disposition
                        .as_ref()
                        .is_none_or(|d| Some(d) == actual_disposition.as_ref())
            }
            _ => false,
        };
        if matched {
            Ok(())
        } else {
            Err(format!(
                "expected {}, but the flow did: {}",
                expectation_text(expectation),
                describe(&command)
            ))
        }
    }
}

fn expectation_text(expectation: &Expectation) -> String {
    match expectation {
        Expectation::Play(what) => format!("play {what:?}"),
        Expectation::Http { method, url } => {
            format!("http {} {url}", method.as_deref().unwrap_or(""))
        }
        Expectation::Node(module) => format!("node {module}"),
        Expectation::Enqueue(queue) => format!("enqueue {queue}"),
        Expectation::Transfer(to) => format!("transfer {to}"),
        Expectation::Record => "record".to_owned(),
        Expectation::Voicemail => "voicemail".to_owned(),
        Expectation::Survey(value) => format!("survey answer {value}"),
        Expectation::Hangup {
            reason,
            disposition,
        } => format!(
            "hangup {} {}",
            reason.as_deref().unwrap_or(""),
            disposition
                .as_deref()
                .map(|d| format!("disposition={d}"))
                .unwrap_or_default()
        ),
        Expectation::Variable(name, value) => format!("{name} = {value}"),
        Expectation::Path(path) => path.join(" "),
        Expectation::Silence => "silence".to_owned(),
    }
}
