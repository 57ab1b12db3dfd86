//! Gathering keys for `menu`, `collect` and `survey`: prompts that a key stops, type-ahead,
//! first- and inter-digit timeouts, a terminator, and retries with their own prompts.

use super::timers::Timer;
use super::waits::Wait;
use super::{Command, Execution, Step};
use crate::flow::{CollectOp, CompiledPrompt, MenuOp, Op, SurveyOp};
use crate::time::{Instant, Millis};

/// A gathering in progress.
#[derive(Debug)]
pub(crate) struct GatherState {
    min: u32,
    max: u32,
    terminator: Option<char>,
    first_timeout: Millis,
    inter_timeout: Millis,
    pub digits: String,
    /// The prompt playing now.
    pub playing: Option<super::CommandId>,
    /// Prompts still to play in this try, last first.
    queued: Vec<CompiledPrompt>,
    /// Retries used.
    attempt: u32,
}

/// How a gathering ended.
enum Gathered {
    Digits(String),
    NoInput,
}

impl GatherState {
    fn new(
        min: u32,
        max: u32,
        terminator: Option<char>,
        first: Millis,
        inter: Millis,
    ) -> Box<Self> {
        Box::new(GatherState {
            min,
            max,
            terminator,
            first_timeout: first,
            inter_timeout: inter,
            digits: String::new(),
            playing: None,
            queued: Vec::new(),
            attempt: 0,
        })
    }
    pub fn menu(op: &MenuOp) -> Box<Self> {
        Self::new(1, 1, None, op.timeout, op.timeout)
    }
    pub fn collect(op: &CollectOp) -> Box<Self> {
        Self::new(
            op.min_digits,
            op.max_digits,
            op.terminator,
            op.first_digit_timeout,
            op.inter_digit_timeout,
        )
    }
    pub fn survey(op: &SurveyOp) -> Box<Self> {
        Self::new(1, 1, None, op.timeout, op.timeout)
    }

    /// Adds a key; `true` when the gathering is complete.
    fn feed(&mut self, digit: char) -> bool {
        if Some(digit) == self.terminator {
            return true;
        }
        self.digits.push(digit);
        self.digits.len() >= self.max as usize
    }
}

impl Execution {
    /// Starts (or restarts, for a retry) a gathering: keys pressed ahead first, then the
    /// prompts, then the timers.
    pub(super) fn gather_start(
        &mut self,
        mut state: Box<GatherState>,
        prompts: Vec<CompiledPrompt>,
        type_ahead: bool,
        now: Instant,
    ) -> Step {
        if !type_ahead {
            self.type_ahead.clear();
        }
        while let Some(digit) = self.type_ahead.pop_front() {
            if state.feed(digit) {
                let digits = std::mem::take(&mut state.digits);
                return self.gathered(state, Gathered::Digits(digits), now);
            }
        }
        if !state.digits.is_empty() {
            self.timers
                .set(Timer::Digits, now + state.inter_timeout.duration());
        } else {
            state.queued = prompts.into_iter().rev().collect();
            self.play_next_or_listen(&mut state, now);
        }
        self.wait = Wait::Gather(state);
        Step::Wait
    }

    fn play_next_or_listen(&mut self, state: &mut GatherState, now: Instant) {
        match state.queued.pop() {
            Some(prompt) => state.playing = Some(self.play(&prompt, true)),
            None => {
                state.playing = None;
                self.timers
                    .set(Timer::Digits, now + state.first_timeout.duration());
            }
        }
    }

    pub(super) fn gather_digit(
        &mut self,
        mut state: Box<GatherState>,
        digit: char,
        now: Instant,
    ) -> Step {
        if let Some(id) = state.playing.take() {
            self.commands.push_back(Command::Cancel { id });
            state.queued.clear();
        }
        if state.feed(digit) {
            self.timers.stop(Timer::Digits);
            let digits = std::mem::take(&mut state.digits);
            return self.gathered(state, Gathered::Digits(digits), now);
        }
        self.timers
            .set(Timer::Digits, now + state.inter_timeout.duration());
        self.wait = Wait::Gather(state);
        Step::Wait
    }

    pub(super) fn gather_prompt_finished(
        &mut self,
        mut state: Box<GatherState>,
        id: super::CommandId,
        now: Instant,
    ) -> Step {
        if state.playing == Some(id) {
            self.play_next_or_listen(&mut state, now);
        }
        self.wait = Wait::Gather(state);
        Step::Wait
    }

    pub(super) fn gather_timeout(&mut self, mut state: Box<GatherState>, now: Instant) -> Step {
        let result = if state.digits.is_empty() {
            Gathered::NoInput
        } else {
            Gathered::Digits(std::mem::take(&mut state.digits))
        };
        self.gathered(state, result, now)
    }

    /// The node decides what the keys mean.
    fn gathered(&mut self, state: Box<GatherState>, result: Gathered, now: Instant) -> Step {
        let flow = self.flow.clone();
        let node = flow.node(self.node);
        let digits = match result {
            Gathered::Digits(digits) if !digits.is_empty() => digits,
            Gathered::Digits(_) | Gathered::NoInput => {
                self.add_note("no input");
                return match &node.op {
                    Op::Menu(op) => self.retry(
                        state,
                        op.retries,
                        &op.no_input_prompt,
                        Some(&op.prompt),
                        0,
                        now,
                    ),
                    Op::Collect(op) => self.retry(
                        state,
                        op.retries,
                        &op.no_input_prompt,
                        op.prompt.as_ref(),
                        2,
                        now,
                    ),
                    Op::Survey(op) => {
                        self.retry(state, op.retries, &None, Some(&op.question), 2, now)
                    }
                    _ => Step::Take(0),
                };
            }
        };
        match &node.op {
            Op::Menu(op) => {
                let mut chars = digits.chars();
                let choice = match (chars.next(), chars.next()) {
                    (Some(key), None) => op.options.iter().position(|&option| option == key),
                    _ => None,
                };
                match choice {
                    Some(position) => Step::Take(2 + position),
                    None => {
                        self.add_note(&format!("invalid key {digits}"));
                        self.retry(
                            state,
                            op.retries,
                            &op.invalid_prompt,
                            Some(&op.prompt),
                            1,
                            now,
                        )
                    }
                }
            }
            Op::Collect(op) => {
                let verdict = if (digits.chars().count() as u32) < state.min {
                    Err(format!(
                        "{} digits, fewer than {}",
                        digits.chars().count(),
                        state.min
                    ))
                } else {
                    let scope = self.scope();
                    let resolve = |path: &str| resolve_path(&scope, path);
                    op.validator
                        .check(&digits, &resolve)
                        .map_err(|rejection| rejection.message)
                };
                match verdict {
                    Ok(()) => {
                        if let Some(store) = &op.store {
                            self.set_variable(store.clone(), serde_json::Value::String(digits));
                        }
                        Step::Take(0)
                    }
                    Err(reason) => {
                        self.add_note(&format!("rejected {digits}: {reason}"));
                        self.retry(
                            state,
                            op.retries,
                            &op.invalid_prompt,
                            op.prompt.as_ref(),
                            1,
                            now,
                        )
                    }
                }
            }
            Op::Survey(op) => match digits.parse::<u32>() {
                Ok(value) if (op.min..=op.max).contains(&value) => {
                    if let Some(store) = &op.store {
                        self.set_variable(store.clone(), serde_json::Value::from(value));
                    }
                    self.commands.push_back(Command::SurveyAnswered {
                        survey: op.survey.clone(),
                        node: node.id.to_string(),
                        value,
                    });
                    Step::Take(0)
                }
                _ => {
                    self.add_note(&format!("{digits} is outside {}–{}", op.min, op.max));
                    self.retry(
                        state,
                        op.retries,
                        &op.invalid_prompt,
                        Some(&op.question),
                        1,
                        now,
                    )
                }
            },
            _ => Step::Take(0),
        }
    }

    /// Another try (with the retry prompt, then the node's prompt), or the give-up port.
    fn retry(
        &mut self,
        mut state: Box<GatherState>,
        retries: u32,
        retry_prompt: &Option<CompiledPrompt>,
        prompt: Option<&CompiledPrompt>,
        give_up_slot: usize,
        now: Instant,
    ) -> Step {
        if state.attempt >= retries {
            return Step::Take(give_up_slot);
        }
        state.attempt += 1;
        state.digits.clear();
        let prompts: Vec<CompiledPrompt> = retry_prompt.iter().chain(prompt).cloned().collect();
        self.gather_start(state, prompts, false, now)
    }
}

/// Reads `contact.cpf` (a dotted path) from the scope as text, for digit rules.
fn resolve_path(scope: &dyn crate::expr::Scope, path: &str) -> Option<String> {
    let mut segments = path.split('.');
    let mut value = scope.lookup(segments.next()?)?;
    for segment in segments {
        value = value.get(segment)?;
    }
    match value {
        serde_json::Value::String(text) => Some(text.clone()),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}
