//! What a node waits for, and how each event or timer moves it on: prompts, gatherings,
//! webhooks (timeout, retries with back-off, filler prompt), custom nodes, queues,
//! transfers and voicemail.

use super::gather::GatherState;
use super::timers::Timer;
use super::{
    Command, CommandId, Event, Execution, HttpRequest, QueueOutcome, Step, TransferOutcome,
};
use crate::compile::variable_name_problem;
use crate::expr::{EvalError, Scope};
use crate::flow::{HttpOp, Op};
use crate::template::push_value;
use crate::time::Instant;
use std::sync::Arc;
use std::time::Duration;

/// Extra time the executor allows a queue or a transfer beyond its own limit before it
/// gives up on an answer that never comes.
pub(crate) const GRACE: Duration = Duration::from_secs(30);
/// Extra time a voicemail recording may run past its maximum before it is abandoned.
const RECORDING_GRACE: Duration = Duration::from_secs(10);
/// The longest back-off between webhook attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// What the current node waits for.
#[derive(Debug, Default)]
pub(crate) enum Wait {
    #[default]
    Nothing,
    Prompt {
        id: CommandId,
        barge_in: bool,
    },
    Gather(Box<GatherState>),
    Http(Box<HttpState>),
    Custom {
        id: CommandId,
    },
    Queue {
        id: CommandId,
    },
    Transfer {
        id: CommandId,
    },
    VoicemailPrompt {
        id: CommandId,
    },
    Recording {
        id: CommandId,
    },
}

/// A webhook call in progress.
#[derive(Debug)]
pub(crate) struct HttpState {
    request: HttpRequest,
    /// Retries used.
    attempt: u32,
    /// The attempt in flight.
    pending: Option<CommandId>,
    /// The filler prompt playing.
    filler: Option<CommandId>,
}

impl HttpState {
    pub fn render(op: &HttpOp, scope: &dyn Scope) -> Result<Box<HttpState>, EvalError> {
        let url = op.url.render(scope)?;
        let headers = op
            .headers
            .iter()
            .map(|(name, value)| Ok((name.clone(), value.render(scope)?)))
            .collect::<Result<Vec<_>, EvalError>>()?;
        let body = match &op.body {
            Some(template) => Some(template.render(scope)?.to_string()),
            None => None,
        };
        Ok(Box::new(HttpState {
            request: HttpRequest {
                method: op.method.clone(),
                url,
                headers,
                body,
                timeout: op.timeout.duration(),
            },
            attempt: 0,
            pending: None,
            filler: None,
        }))
    }
}

impl Execution {
    pub(super) fn on_event(&mut self, wait: Wait, event: Event, now: Instant) -> Step {
        match (wait, event) {
            (Wait::Gather(state), Event::Digit { digit }) => self.gather_digit(state, digit, now),
            (Wait::Gather(state), Event::PromptFinished { id }) => {
                self.gather_prompt_finished(state, id, now)
            }

            (Wait::Prompt { id, barge_in }, Event::Digit { digit }) => {
                self.keep_type_ahead(digit);
                if barge_in {
                    self.cancel(id);
                    Step::Take(0)
                } else {
                    self.wait = Wait::Prompt { id, barge_in };
                    Step::Wait
                }
            }
            (Wait::Prompt { id, .. }, Event::PromptFinished { id: finished }) if id == finished => {
                Step::Take(0)
            }

            (Wait::Http(state), event) => self.http_event(state, event, now),

            (
                Wait::Custom { id },
                Event::CustomNodeFinished {
                    id: finished,
                    result,
                },
            ) if id == finished => {
                self.timers.stop(Timer::Deadline);
                match result {
                    Ok(outcome) => self.custom_outcome(outcome),
                    Err(reason) => {
                        self.add_note(&format!("custom node failed: {reason}"));
                        Step::Take(0)
                    }
                }
            }

            (
                Wait::Queue { id },
                Event::Connected {
                    id: answered,
                    party,
                },
            ) if id == answered => {
                self.timers.stop(Timer::Deadline);
                self.add_note(&format!("answered by {party}"));
                self.wait = Wait::Queue { id };
                Step::Wait
            }
            (Wait::Queue { id }, Event::QueueEnded { id: ended, outcome }) if id == ended => {
                match outcome {
                    QueueOutcome::Answered => Step::Take(0),
                    QueueOutcome::Timeout => Step::Take(1),
                    QueueOutcome::NoAgents => Step::Take(2),
                }
            }

            (
                Wait::Transfer { id },
                Event::Connected {
                    id: answered,
                    party,
                },
            ) if id == answered => {
                self.timers.stop(Timer::Deadline);
                self.add_note(&format!("answered by {party}"));
                self.wait = Wait::Transfer { id };
                Step::Wait
            }
            (Wait::Transfer { id }, Event::TransferEnded { id: ended, outcome }) if id == ended => {
                match outcome {
                    TransferOutcome::Completed => Step::Take(0),
                    TransferOutcome::Failed => Step::Take(1),
                }
            }

            (Wait::VoicemailPrompt { id }, Event::Digit { .. }) => {
                self.cancel(id);
                self.record_message(now)
            }
            (Wait::VoicemailPrompt { id }, Event::PromptFinished { id: finished })
                if id == finished =>
            {
                self.record_message(now)
            }
            (
                Wait::Recording { id },
                Event::RecordingFinished {
                    id: finished,
                    recording,
                },
            ) if id == finished => {
                let flow = self.flow.clone();
                if let Op::Voicemail(op) = &flow.node(self.node).op
                    && let Some(store) = &op.store
                {
                    self.set_variable(store.clone(), serde_json::Value::String(recording));
                }
                Step::Take(0)
            }
            // Keys pressed while recording are the recorder's business (its terminator), and
            // keys pressed while waiting for or talking to an agent or a transfer target
            // belong to that conversation, not to a menu after it.
            (
                wait @ (Wait::Recording { .. } | Wait::Queue { .. } | Wait::Transfer { .. }),
                Event::Digit { .. },
            ) => {
                self.wait = wait;
                Step::Wait
            }

            // Keys pressed while nothing listens are kept for the next menu or collect.
            (wait, Event::Digit { digit }) => {
                self.keep_type_ahead(digit);
                self.wait = wait;
                Step::Wait
            }
            // A completion for a command nobody waits for any more (or a mismatched id): drop it.
            (wait, _) => {
                self.wait = wait;
                Step::Wait
            }
        }
    }

    pub(super) fn on_timer(&mut self, wait: Wait, timer: Timer, now: Instant) -> Step {
        match (wait, timer) {
            (Wait::Gather(state), Timer::Digits) => self.gather_timeout(state, now),
            (Wait::Http(state), timer) => self.http_timer(state, timer, now),
            (Wait::Custom { id }, Timer::Deadline) => {
                self.cancel(id);
                self.add_note("custom node timed out");
                Step::Take(0)
            }
            (Wait::Queue { id }, Timer::Deadline) => {
                self.cancel(id);
                self.add_note("the queue did not answer in time");
                Step::Take(1)
            }
            (Wait::Transfer { id }, Timer::Deadline) => {
                self.cancel(id);
                self.add_note("the transfer did not answer in time");
                Step::Take(1)
            }
            (Wait::Recording { id }, Timer::Deadline) => {
                self.cancel(id);
                self.add_note("the recording did not finish");
                Step::Take(0)
            }
            (wait, _) => {
                self.wait = wait;
                Step::Wait
            }
        }
    }

    // --- webhooks ---------------------------------------------------------------------

    pub(super) fn http_send(&mut self, mut state: Box<HttpState>, now: Instant) -> Step {
        let id = self.next_command_id();
        self.commands.push_back(Command::Http {
            id,
            request: state.request.clone(),
        });
        state.pending = Some(id);
        self.timers
            .set(Timer::Deadline, now + state.request.timeout);
        if state.attempt == 0
            && let Op::Http(op) = &self.flow.node(self.node).op
            && op.filler.is_some()
        {
            let filler_at = now + op.filler_after.duration();
            self.timers.set(Timer::Filler, filler_at);
        }
        self.wait = Wait::Http(state);
        Step::Wait
    }

    fn http_event(&mut self, mut state: Box<HttpState>, event: Event, now: Instant) -> Step {
        match event {
            Event::HttpResponded { id, status, body } if state.pending == Some(id) => {
                self.timers.stop(Timer::Deadline);
                state.pending = None;
                if (200..300).contains(&status) {
                    self.http_succeeded(state, status, &body)
                } else if status >= 500 || status == 429 || status == 408 {
                    self.http_retry_or_fail(state, status, &format!("HTTP {status}"), now)
                } else {
                    self.http_failed(state, status, &format!("HTTP {status}"))
                }
            }
            Event::HttpFailed { id, reason } if state.pending == Some(id) => {
                self.timers.stop(Timer::Deadline);
                state.pending = None;
                self.http_retry_or_fail(state, 0, &reason, now)
            }
            Event::Digit { digit } => {
                self.keep_type_ahead(digit);
                self.wait = Wait::Http(state);
                Step::Wait
            }
            _ => {
                self.wait = Wait::Http(state);
                Step::Wait
            }
        }
    }

    fn http_timer(&mut self, mut state: Box<HttpState>, timer: Timer, now: Instant) -> Step {
        match timer {
            Timer::Deadline => {
                if let Some(id) = state.pending.take() {
                    self.cancel(id);
                }
                let reason = format!("no answer within {} ms", state.request.timeout.as_millis());
                self.http_retry_or_fail(state, 0, &reason, now)
            }
            Timer::Backoff => self.http_send(state, now),
            Timer::Filler => {
                let flow = self.flow.clone();
                if let Op::Http(op) = &flow.node(self.node).op
                    && let Some(filler) = &op.filler
                {
                    state.filler = Some(self.play_with(filler, false, true));
                }
                self.wait = Wait::Http(state);
                Step::Wait
            }
            Timer::Digits => {
                self.wait = Wait::Http(state);
                Step::Wait
            }
        }
    }

    fn http_retry_or_fail(
        &mut self,
        mut state: Box<HttpState>,
        status: u16,
        reason: &str,
        now: Instant,
    ) -> Step {
        let flow = self.flow.clone();
        let Op::Http(op) = &flow.node(self.node).op else {
            return Step::Take(1);
        };
        if state.attempt >= op.retries {
            return self.http_failed(state, status, reason);
        }
        state.attempt += 1;
        let factor = 1u32 << (state.attempt - 1).min(10);
        let delay = op
            .backoff
            .duration()
            .saturating_mul(factor)
            .min(MAX_BACKOFF);
        self.add_note(&format!(
            "attempt {} failed ({reason}), retrying",
            state.attempt
        ));
        self.timers.set(Timer::Backoff, now + delay);
        self.wait = Wait::Http(state);
        Step::Wait
    }

    fn http_stop_filler(&mut self, state: &mut HttpState) {
        self.timers.stop(Timer::Filler);
        if let Some(id) = state.filler.take() {
            self.cancel(id);
        }
    }

    fn http_failed(&mut self, mut state: Box<HttpState>, status: u16, reason: &str) -> Step {
        self.http_stop_filler(&mut state);
        self.http_store_status(status);
        self.add_note(&format!("request failed: {reason}"));
        Step::Take(1)
    }

    fn http_succeeded(&mut self, mut state: Box<HttpState>, status: u16, body: &str) -> Step {
        self.http_stop_filler(&mut state);
        self.http_store_status(status);
        let flow = self.flow.clone();
        let Op::Http(op) = &flow.node(self.node).op else {
            return Step::Take(0);
        };
        if op.response.is_empty() {
            return Step::Take(0);
        }
        let parsed: serde_json::Value = match serde_json::from_str(body) {
            Ok(value) => value,
            Err(error) => {
                self.add_note(&format!("the response is not JSON: {error}"));
                return Step::Take(1);
            }
        };
        for (variable, pointer) in &op.response {
            let value = parsed
                .pointer(pointer)
                .cloned()
                .unwrap_or(serde_json::Value::Null);
            self.set_variable(variable.clone(), value);
        }
        Step::Take(0)
    }

    fn http_store_status(&mut self, status: u16) {
        if let Op::Http(op) = &self.flow.clone().node(self.node).op
            && let Some(store) = &op.store_status
        {
            self.set_variable(store.clone(), serde_json::Value::from(status));
        }
    }

    // --- custom nodes and voicemail -----------------------------------------------------

    fn custom_outcome(&mut self, outcome: super::CustomOutcome) -> Step {
        for name in outcome.variables.keys() {
            if let Some(problem) = variable_name_problem(name) {
                self.add_note(&format!("custom node set a bad variable: {problem}"));
                return Step::Take(0);
            }
        }
        let flow = self.flow.clone();
        let node = flow.node(self.node);
        if outcome.port == "error" {
            self.add_note("custom node chose its `error` port");
            return Step::Take(0);
        }
        match node.port_named(&outcome.port) {
            Some(slot) if slot != 0 => {
                for (name, value) in outcome.variables {
                    self.set_variable(Arc::from(name.as_str()), value);
                }
                Step::Take(slot)
            }
            _ => {
                let mut ports = String::new();
                for port in node.ports.iter().skip(1) {
                    if !ports.is_empty() {
                        ports.push_str(", ");
                    }
                    push_value(
                        &mut ports,
                        &serde_json::Value::String(port.name.to_string()),
                    );
                }
                self.add_note(&format!(
                    "custom node chose port `{}`, which this node does not have (it has: {ports})",
                    outcome.port
                ));
                Step::Take(0)
            }
        }
    }

    pub(super) fn record_message(&mut self, now: Instant) -> Step {
        let flow = self.flow.clone();
        let Op::Voicemail(op) = &flow.node(self.node).op else {
            return Step::Take(0);
        };
        let id = self.next_command_id();
        self.commands.push_back(Command::RecordMessage {
            id,
            mailbox: op.mailbox.clone(),
            max_duration: op.max_duration.duration(),
            terminator: op.terminator,
        });
        self.timers.set(
            Timer::Deadline,
            now + op.max_duration.duration() + RECORDING_GRACE,
        );
        self.wait = Wait::Recording { id };
        Step::Wait
    }
}
