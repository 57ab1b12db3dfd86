//! The executor: one call's run through a flow, as a value — a sans-IO state machine.
//!
//! # Contract
//! An [`Execution`] opens no sockets, spawns nothing and never reads a clock: time is an
//! argument. Its driver (the server's per-call task, the flow-test runner, the editor's
//! simulator) follows one loop:
//!
//! 1. feed one input: [`Execution::start`], [`Execution::handle`] or
//!    [`Execution::handle_timeout`];
//! 2. drain [`Execution::poll_command`] until it returns `None`, carrying out each command;
//! 3. arm a timer for [`Execution::poll_timeout`] and wait for it or the next event.
//!
//! Commands that complete later carry a [`CommandId`]; an event for a command the executor
//! no longer waits for is dropped. After [`Command::Hangup`] or [`Event::CallerHungUp`] the
//! execution emits nothing more. A step limit ends runaway flows, and every node visit is in
//! the [`trace`](Execution::trace).

mod gather;
mod io;
#[cfg(test)]
mod tests;
mod timers;
mod trace;
mod waits;

pub use io::*;
use trace::Trace;
pub use trace::TraceStep;

use crate::compile::nodes::is_dtmf;
use crate::expr::{Scope, Value};
use crate::flow::{CompiledPrompt, Flow, NodeIndex, Op};
use crate::time::Instant;
use gather::GatherState;
use serde_json::Map;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use timers::{Timer, Timers};
use waits::{HttpState, Wait};

/// Node steps allowed between two waits (validation already refuses loops that never wait).
pub const MAX_STEPS_WITHOUT_WAITING: u32 = 1_000;
/// Node steps allowed in one call.
pub const MAX_STEPS: u32 = 100_000;
/// How deep subflows may nest.
pub const MAX_SUBFLOW_DEPTH: usize = 8;
/// Keys pressed ahead that are kept for the next menu or collect.
pub const MAX_TYPE_AHEAD: usize = 32;
/// Barge-in prompts skipped for keys pressed ahead, per key press. A flow that plays
/// prompts in a loop without ever reading keys then plays them instead of spinning.
pub const MAX_PROMPTS_SKIPPED: u32 = 16;

/// Why a call's execution ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "by", rename_all = "kebab-case")]
pub enum Ending {
    /// The flow hung up (a `hangup` node, an unconnected port, or an engine limit).
    Flow {
        /// The stable reason code (`normal`, `flow.error`, `flow.step_limit`, or the node's).
        reason: String,
        /// The disposition the flow set.
        disposition: Option<String>,
    },
    /// The caller hung up.
    Caller,
}

/// What the run loop does next.
enum Step {
    /// The node waits; `self.wait` says for what.
    Wait,
    /// Leave the current node through the port in this slot.
    Take(usize),
    /// The call is over.
    Ended,
}

/// One call running through a flow. See the [module docs](self) for the driving contract.
#[derive(Debug)]
pub struct Execution {
    flow: Arc<Flow>,
    node: NodeIndex,
    /// Callers of the running subflows: (flow, subflow node, when it was entered).
    frames: Vec<(Arc<Flow>, NodeIndex, Instant)>,
    wait: Wait,
    variables: BTreeMap<Arc<str>, Value>,
    call: Value,
    contact: Value,
    type_ahead: VecDeque<char>,
    commands: VecDeque<Command>,
    timers: Timers,
    next_id: u32,
    trace: Trace,
    entered_at: Instant,
    origin: Instant,
    started_at_unix_ms: i64,
    steps: u32,
    steps_without_waiting: u32,
    /// Barge-in prompts skipped since the last key arrived (see `MAX_PROMPTS_SKIPPED`).
    prompts_skipped: u32,
    ending: Option<Ending>,
}

/// The variables an expression sees: `call`, `contact` and the flow variables.
struct ExecutionScope<'a> {
    call: &'a Value,
    contact: &'a Value,
    variables: &'a BTreeMap<Arc<str>, Value>,
}

impl Scope for ExecutionScope<'_> {
    fn lookup(&self, root: &str) -> Option<&Value> {
        match root {
            "call" => Some(self.call),
            "contact" => Some(self.contact),
            name => self.variables.get(name),
        }
    }
}

impl Execution {
    /// Starts `flow` for `call` at `now`, running it up to its first wait.
    pub fn start(flow: Arc<Flow>, call: CallInfo, now: Instant) -> Execution {
        let mut variables: BTreeMap<Arc<str>, Value> = flow
            .defaults
            .iter()
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        for (name, value) in call.variables {
            variables.insert(Arc::from(name.as_str()), value);
        }
        let call_value = serde_json::json!({
            "id": call.call_id,
            "caller": call.caller,
            "callee": call.callee,
            "direction": call.direction,
            "campaign": call.campaign,
            "started_at": call.started_at_unix_ms,
        });
        let start = flow.start;
        let trace = Trace::new(flow.clone());
        let mut execution = Execution {
            flow,
            node: start,
            frames: Vec::new(),
            wait: Wait::Nothing,
            variables,
            call: call_value,
            contact: Value::Object(call.contact),
            type_ahead: VecDeque::new(),
            commands: VecDeque::new(),
            timers: Timers::default(),
            next_id: 0,
            trace,
            entered_at: now,
            origin: now,
            started_at_unix_ms: call.started_at_unix_ms,
            steps: 0,
            steps_without_waiting: 0,
            prompts_skipped: 0,
            ending: None,
        };
        let step = execution.enter(start, now);
        execution.advance(step, now);
        execution
    }

    /// Feeds one event.
    pub fn handle(&mut self, event: Event, now: Instant) {
        if self.ending.is_some() {
            return;
        }
        match event {
            Event::CallerHungUp => {
                self.add_note("the caller hung up");
                self.record_step(None, now);
                self.timers.clear();
                self.wait = Wait::Nothing;
                self.ending = Some(Ending::Caller);
            }
            Event::Digit { digit } if !is_dtmf(digit) => {}
            event => {
                let wait = std::mem::take(&mut self.wait);
                let step = self.on_event(wait, event, now);
                self.advance(step, now);
            }
        }
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while self.ending.is_none() {
            let Some(timer) = self.timers.take_expired(now) else {
                break;
            };
            let wait = std::mem::take(&mut self.wait);
            let step = self.on_timer(wait, timer, now);
            self.advance(step, now);
        }
    }

    /// The next command for the driver.
    pub fn poll_command(&mut self) -> Option<Command> {
        self.commands.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.ending.is_some() {
            None
        } else {
            self.timers.next()
        }
    }

    /// Has the call ended, and how?
    pub fn ending(&self) -> Option<&Ending> {
        self.ending.as_ref()
    }

    /// Every node visit so far, with names resolved.
    pub fn trace(&self) -> Vec<TraceStep> {
        self.trace.steps()
    }

    /// How many node visits the trace holds.
    pub fn trace_len(&self) -> usize {
        self.trace.len()
    }

    /// The node of the trace's visit `index` (0: the first node run), without building the
    /// whole trace.
    pub fn trace_node(&self, index: usize) -> Option<Arc<str>> {
        self.trace.node_at(index)
    }

    /// The flow variables now.
    pub fn variables(&self) -> Map<String, Value> {
        self.variables
            .iter()
            .map(|(name, value)| (name.to_string(), value.clone()))
            .collect()
    }

    /// The node the call is in, unless it has ended.
    pub fn current_node(&self) -> Option<&str> {
        self.ending
            .is_none()
            .then(|| &*self.flow.node(self.node).id)
    }

    // --- the run loop -------------------------------------------------------------------

    fn advance(&mut self, mut step: Step, now: Instant) {
        loop {
            match step {
                Step::Wait => {
                    self.steps_without_waiting = 0;
                    return;
                }
                Step::Ended => return,
                Step::Take(slot) => {
                    let Some(target) = self
                        .flow
                        .node(self.node)
                        .ports
                        .get(slot)
                        .map(|port| port.target)
                    else {
                        step = self.end_call(
                            "flow.error",
                            None,
                            "internal: no such port slot",
                            now,
                            true,
                        );
                        continue;
                    };
                    self.timers.clear();
                    self.wait = Wait::Nothing;
                    self.record_step(Some(slot), now);
                    step = match target {
                        Some(target) => {
                            self.steps += 1;
                            self.steps_without_waiting += 1;
                            if self.steps > MAX_STEPS
                                || self.steps_without_waiting > MAX_STEPS_WITHOUT_WAITING
                            {
                                self.end_call(
                                    "flow.step_limit",
                                    None,
                                    "the flow ran too many steps",
                                    now,
                                    false,
                                )
                            } else {
                                self.enter(target, now)
                            }
                        }
                        None => {
                            let node = self.flow.node(self.node);
                            let name = node
                                .ports
                                .get(slot)
                                .map(|port| &*port.name)
                                .unwrap_or_default();
                            let reason = if name == "error" {
                                "flow.error"
                            } else {
                                "normal"
                            };
                            let note = format!("port `{name}` of `{}` is not connected", node.id);
                            self.end_call(reason, None, &note, now, false)
                        }
                    };
                }
            }
        }
    }

    fn enter(&mut self, index: NodeIndex, now: Instant) -> Step {
        self.node = index;
        self.entered_at = now;
        // The hot path: nodes that only read, without cloning the flow.
        let scope = ExecutionScope {
            call: &self.call,
            contact: &self.contact,
            variables: &self.variables,
        };
        let quick = match &self.flow.node(index).op {
            Op::Start => Some(Ok(0)),
            Op::Condition { expr } => Some(match expr.evaluate_bool(&scope) {
                Ok(true) => Ok(0),
                Ok(false) => Ok(1),
                Err(error) => Err(format!("expression failed: {error}")),
            }),
            _ => None,
        };
        match quick {
            Some(Ok(slot)) => return Step::Take(slot),
            Some(Err(note)) => {
                self.add_note(&note);
                return Step::Take(2);
            }
            None => {}
        }
        let flow = self.flow.clone();
        let node = flow.node(index);
        match &node.op {
            Op::Start | Op::Condition { .. } => Step::Take(0),
            Op::Hangup {
                reason,
                disposition,
            } => self.end_call(reason, disposition.clone(), "", now, true),
            Op::Play { prompt, barge_in } => {
                if *barge_in
                    && !self.type_ahead.is_empty()
                    && self.prompts_skipped < MAX_PROMPTS_SKIPPED
                {
                    self.prompts_skipped += 1;
                    self.add_note("skipped: the caller pressed ahead");
                    return Step::Take(0);
                }
                let id = self.play(prompt, *barge_in);
                self.wait = Wait::Prompt {
                    id,
                    barge_in: *barge_in,
                };
                Step::Wait
            }
            Op::Menu(op) => {
                let state = GatherState::menu(op);
                self.gather_start(state, vec![op.prompt.clone()], op.type_ahead, now)
            }
            Op::Collect(op) => {
                let state = GatherState::collect(op);
                self.gather_start(
                    state,
                    op.prompt.iter().cloned().collect(),
                    op.type_ahead,
                    now,
                )
            }
            Op::Survey(op) => {
                let state = GatherState::survey(op);
                self.gather_start(state, vec![op.question.clone()], false, now)
            }
            Op::Switch { cases } => {
                for (index, case) in cases.iter().enumerate() {
                    match case.evaluate_bool(&self.scope()) {
                        Ok(true) => return Step::Take(2 + index),
                        Ok(false) => {}
                        Err(error) => {
                            self.add_note(&format!("case {} failed: {error}", index + 1));
                            return Step::Take(1);
                        }
                    }
                }
                Step::Take(0)
            }
            Op::TimeRange { schedule } => {
                if schedule.is_open(self.wall_clock_ms(now)) {
                    Step::Take(0)
                } else {
                    Step::Take(1)
                }
            }
            Op::SetVariables { assign } => {
                let mut values = Vec::with_capacity(assign.len());
                for (name, expr) in assign {
                    match expr.evaluate(&self.scope()) {
                        Ok(value) => values.push((name.clone(), value)),
                        Err(error) => {
                            self.add_note(&format!("`{name}` failed: {error}"));
                            return Step::Take(1);
                        }
                    }
                }
                for (name, value) in values {
                    self.set_variable(name, value);
                }
                Step::Take(0)
            }
            Op::Http(op) => match HttpState::render(op, &self.scope()) {
                Ok(state) => self.http_send(state, now),
                Err(error) => {
                    self.add_note(&format!("request template failed: {error}"));
                    Step::Take(1)
                }
            },
            Op::Custom(op) => {
                let id = self.next_command_id();
                let variables = self.variables();
                self.commands.push_back(Command::RunCustomNode {
                    id,
                    module: op.module.clone(),
                    version: op.version.clone(),
                    params: op.params.clone(),
                    variables,
                    call: self.call.clone(),
                    contact: self.contact.clone(),
                    timeout: op.timeout.duration(),
                });
                self.timers
                    .set(Timer::Deadline, now + op.timeout.duration());
                self.wait = Wait::Custom { id };
                Step::Wait
            }
            Op::Queue(op) => {
                let priority = match &op.priority {
                    None => 0,
                    Some(expr) => match expr.evaluate(&self.scope()) {
                        Ok(value) => value.as_i64().unwrap_or(0),
                        Err(error) => {
                            self.add_note(&format!("priority failed, using 0: {error}"));
                            0
                        }
                    },
                };
                let id = self.next_command_id();
                self.commands.push_back(Command::Enqueue {
                    id,
                    queue: op.queue.clone(),
                    max_wait: op.max_wait.duration(),
                    music_on_hold: op.music_on_hold.clone(),
                    announce_position: op.announce_position,
                    announce_every: op.announce_every.duration(),
                    priority,
                    campaign: op.campaign.clone().or_else(|| {
                        self.call
                            .get("campaign")
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                    }),
                });
                // The queue enforces max_wait; this is the executor's own guard in case the
                // queue never answers.
                self.timers
                    .set(Timer::Deadline, now + op.max_wait.duration() + waits::GRACE);
                self.wait = Wait::Queue { id };
                Step::Wait
            }
            Op::Transfer(op) => match op.to.render(&self.scope()) {
                Ok(to) => {
                    let id = self.next_command_id();
                    self.commands.push_back(Command::Transfer {
                        id,
                        to,
                        trunk: op.trunk.clone(),
                        timeout: op.timeout.duration(),
                        caller_id: op.caller_id.clone(),
                    });
                    self.timers
                        .set(Timer::Deadline, now + op.timeout.duration() + waits::GRACE);
                    self.wait = Wait::Transfer { id };
                    Step::Wait
                }
                Err(error) => {
                    self.add_note(&format!("target failed: {error}"));
                    Step::Take(1)
                }
            },
            Op::Record => {
                let id = self.next_command_id();
                self.commands.push_back(Command::StartRecording { id });
                Step::Take(0)
            }
            Op::Voicemail(op) => match &op.prompt {
                Some(prompt) => {
                    let id = self.play(prompt, true);
                    self.wait = Wait::VoicemailPrompt { id };
                    Step::Wait
                }
                None => self.record_message(now),
            },
            Op::Subflow { flow: subflow } => {
                if self.frames.len() >= MAX_SUBFLOW_DEPTH {
                    return self.end_call(
                        "flow.error",
                        None,
                        "subflows nest too deeply",
                        now,
                        true,
                    );
                }
                self.add_note(&format!("runs flow `{}`", subflow.id()));
                self.record_step(None, now);
                self.frames.push((self.flow.clone(), index, now));
                self.flow = subflow.clone();
                self.enter(subflow.start, now)
            }
            Op::Exit { port } => {
                let Some((caller_flow, caller_node, caller_entered)) = self.frames.pop() else {
                    return self.end_call("normal", None, "exit outside a subflow", now, true);
                };
                self.add_note(&format!("returns through `{port}`"));
                self.record_step(None, now);
                self.flow = caller_flow;
                self.node = caller_node;
                self.entered_at = caller_entered;
                match self.flow.node(caller_node).port_named(port) {
                    Some(slot) => Step::Take(slot),
                    None => self.end_call(
                        "flow.error",
                        None,
                        "the subflow node has no such exit",
                        now,
                        true,
                    ),
                }
            }
        }
    }

    // --- helpers used by the node logic ---------------------------------------------------

    fn scope(&self) -> ExecutionScope<'_> {
        ExecutionScope {
            call: &self.call,
            contact: &self.contact,
            variables: &self.variables,
        }
    }

    fn wall_clock_ms(&self, now: Instant) -> i64 {
        let elapsed = i64::try_from((now - self.origin).as_millis()).unwrap_or(i64::MAX);
        self.started_at_unix_ms.saturating_add(elapsed)
    }

    fn next_command_id(&mut self) -> CommandId {
        self.next_id = self.next_id.wrapping_add(1);
        CommandId(self.next_id)
    }

    fn set_variable(&mut self, name: Arc<str>, value: Value) {
        self.variables.insert(name.clone(), value.clone());
        self.trace.change(name, value);
    }

    fn add_note(&mut self, note: &str) {
        if !note.is_empty() {
            self.trace.note(note.to_owned());
        }
    }

    /// Plays a prompt, filling its text template (a failing hole is left empty and noted).
    fn play(&mut self, prompt: &CompiledPrompt, barge_in: bool) -> CommandId {
        self.play_with(prompt, barge_in, false)
    }

    /// Plays a prompt once or looped.
    fn play_with(&mut self, prompt: &CompiledPrompt, barge_in: bool, looped: bool) -> CommandId {
        let text = match &prompt.tts {
            Some(template) => match template.render(&self.scope()) {
                Ok(text) => Some(text),
                Err(error) => {
                    self.add_note(&format!("prompt text failed: {error}"));
                    Some(String::new())
                }
            },
            None => None,
        };
        let id = self.next_command_id();
        self.commands.push_back(Command::Play {
            id,
            prompt: PromptSpec {
                file: prompt.file.clone(),
                text,
                voice: prompt.voice.clone(),
            },
            barge_in,
            looped,
        });
        id
    }

    fn cancel(&mut self, id: CommandId) {
        self.commands.push_back(Command::Cancel { id });
    }

    fn record_step(&mut self, slot: Option<usize>, now: Instant) {
        let entered = self.entered_at.saturating_since(self.origin).as_millis() as u64;
        let left = now.saturating_since(self.origin).as_millis() as u64;
        self.trace.push(&self.flow, self.node, entered, left, slot);
    }

    /// Ends the call from the flow's side: emits `Hangup`, optionally records the current
    /// node's step, and stops everything.
    fn end_call(
        &mut self,
        reason: &str,
        disposition: Option<String>,
        note: &str,
        now: Instant,
        record: bool,
    ) -> Step {
        if record {
            self.add_note(note);
            self.record_step(None, now);
        } else if !note.is_empty() {
            self.trace.note_on_last(note.to_owned());
        }
        self.commands.push_back(Command::Hangup {
            reason: reason.to_owned(),
            disposition: disposition.clone(),
        });
        self.timers.clear();
        self.wait = Wait::Nothing;
        self.ending = Some(Ending::Flow {
            reason: reason.to_owned(),
            disposition,
        });
        Step::Ended
    }

    fn keep_type_ahead(&mut self, digit: char) {
        self.prompts_skipped = 0;
        if self.type_ahead.len() < MAX_TYPE_AHEAD {
            self.type_ahead.push_back(digit);
        }
    }
}
