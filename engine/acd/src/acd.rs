//! The ACD: every agent and every waiting caller, one state machine. See the crate docs for
//! the driving contract.

use crate::agent::{Agent, AgentState};
use crate::config::{AcdConfig, Overflow, QueueConfig};
use crate::ids::{AgentId, CallId, Instant, QueueId};
use crate::io::{AcdError, Command, Event, QueueResult};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// How many overflow moves a caller may make before the wait simply times out (a guard
/// against queues that overflow into each other).
pub const MAX_OVERFLOW_HOPS: u8 = 4;
/// Recent answered waits kept per queue for the expected-wait estimate.
const RECENT_WAITS: usize = 20;

#[derive(Debug)]
pub(crate) struct QueueState {
    pub config: QueueConfig,
    /// Round robin: the member index offered last.
    pub cursor: usize,
    pub recent_waits: VecDeque<u64>,
}

/// How a queue's wait stands (see [`Acd::queue_waits`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueWait {
    /// The queue.
    pub queue: QueueId,
    /// Callers waiting in it.
    pub waiting: usize,
    /// When the longest-waiting of them joined it (overflowed callers: this queue).
    pub oldest: Option<Instant>,
}

#[derive(Debug)]
pub(crate) struct WaitingCall {
    pub queue: QueueId,
    pub priority: i64,
    pub skills: Vec<(String, u8)>,
    pub queued_at: Instant,
    pub seq: u64,
    pub deadline: Instant,
    /// Agents ringing for it and until when.
    pub offers: Vec<(AgentId, Instant)>,
    /// Agents that missed it or whose phone failed, this round.
    pub tried: BTreeSet<AgentId>,
    pub next_announce: Option<Instant>,
    pub hops: u8,
}

/// A timer, ordered with its instant in one set.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Timer {
    MaxWait(CallId),
    Ring(CallId, AgentId),
    Announce(CallId),
    WrapUp(AgentId),
}

/// The automatic call distributor.
#[derive(Debug)]
pub struct Acd {
    pub(crate) queues: BTreeMap<QueueId, QueueState>,
    pub(crate) agents: BTreeMap<AgentId, Agent>,
    pub(crate) skills: BTreeMap<AgentId, BTreeMap<String, u8>>,
    pub(crate) auto_pause_after_misses: u32,
    pub(crate) pause_reasons: BTreeSet<String>,
    pub(crate) waiting: BTreeMap<CallId, WaitingCall>,
    /// Answered calls: the agent on them and the queue they came from (for its wrap-up).
    pub(crate) talking: BTreeMap<CallId, (AgentId, QueueId)>,
    pub(crate) wrap_ups: BTreeMap<AgentId, Instant>,
    pub(crate) timers: BTreeSet<(Instant, Timer)>,
    pub(crate) commands: VecDeque<Command>,
    pub(crate) seq: u64,
    /// Agents in the ready state (kept by `transition`, the one place states change).
    pub(crate) ready: BTreeSet<AgentId>,
    /// Waiting callers in service order: priority, then arrival.
    pub(crate) order: BTreeSet<(Reverse<i64>, u64, CallId)>,
    /// The queues each agent is a member of.
    pub(crate) queues_of: BTreeMap<AgentId, Vec<QueueId>>,
}

impl Acd {
    /// An ACD with `config`; every member agent starts logged out.
    pub fn new(config: AcdConfig) -> Acd {
        let mut acd = Acd {
            queues: BTreeMap::new(),
            agents: BTreeMap::new(),
            skills: BTreeMap::new(),
            auto_pause_after_misses: 0,
            pause_reasons: BTreeSet::new(),
            waiting: BTreeMap::new(),
            talking: BTreeMap::new(),
            wrap_ups: BTreeMap::new(),
            timers: BTreeSet::new(),
            commands: VecDeque::new(),
            seq: 0,
            ready: BTreeSet::new(),
            order: BTreeSet::new(),
            queues_of: BTreeMap::new(),
        };
        acd.install(config);
        acd
    }

    /// The next command for the server.
    pub fn poll_command(&mut self) -> Option<Command> {
        self.commands.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.first().map(|(at, _)| *at)
    }

    /// An agent's state.
    pub fn agent(&self, agent: &AgentId) -> Option<&Agent> {
        self.agents.get(agent)
    }

    /// Every agent.
    pub fn agents(&self) -> impl Iterator<Item = &Agent> {
        self.agents.values()
    }

    /// Callers waiting in `queue`, in the order they will be served.
    pub fn waiting_in(&self, queue: &QueueId) -> Vec<CallId> {
        self.order
            .iter()
            .filter(|(_, _, call)| self.waiting.get(call).is_some_and(|c| &c.queue == queue))
            .map(|(_, _, call)| call.clone())
            .collect()
    }

    /// Every queue with how many callers wait in it and since when the longest has waited.
    pub fn queue_waits(&self) -> Vec<QueueWait> {
        let mut waits: BTreeMap<&QueueId, QueueWait> = self
            .queues
            .keys()
            .map(|id| {
                (
                    id,
                    QueueWait {
                        queue: id.clone(),
                        waiting: 0,
                        oldest: None,
                    },
                )
            })
            .collect();
        for call in self.waiting.values() {
            if let Some(wait) = waits.get_mut(&call.queue) {
                wait.waiting += 1;
                wait.oldest = Some(
                    wait.oldest
                        .map_or(call.queued_at, |at| at.min(call.queued_at)),
                );
            }
        }
        waits.into_values().collect()
    }

    /// Takes a caller out of the waiting set and the service order.
    pub(crate) fn remove_waiting(&mut self, call: &CallId) -> Option<WaitingCall> {
        let waiting = self.waiting.remove(call)?;
        self.order
            .remove(&(Reverse(waiting.priority), waiting.seq, call.clone()));
        Some(waiting)
    }

    /// Is `call` waiting in a queue?
    pub fn waiting_in_any(&self, call: &CallId) -> bool {
        self.waiting.contains_key(call)
    }

    /// Every waiting call.
    pub fn waiting_calls(&self) -> Vec<CallId> {
        self.waiting.keys().cloned().collect()
    }

    /// The strategy of the queue `call` waits in.
    pub fn waiting_queue_strategy(&self, call: &CallId) -> Option<crate::config::Strategy> {
        let queue = &self.waiting.get(call)?.queue;
        Some(self.queues.get(queue)?.config.strategy)
    }

    /// How many callers wait in all queues.
    pub fn waiting_count(&self) -> usize {
        self.waiting.len()
    }

    /// The agent ringing for `call`, for one-at-a-time queues (the first, for ring-all).
    pub fn offers_of(&self, call: &CallId) -> Vec<AgentId> {
        self.waiting
            .get(call)
            .map(|c| c.offers.iter().map(|(agent, _)| agent.clone()).collect())
            .unwrap_or_default()
    }

    /// Feeds one event. An error means the input was refused and nothing changed.
    pub fn handle(&mut self, event: Event, now: Instant) -> Result<(), AcdError> {
        match event {
            Event::LoggedIn { agent } => {
                let agent_entry = self
                    .agents
                    .entry(agent.clone())
                    .or_insert_with(|| Agent::new(agent.clone()));
                if agent_entry.state == AgentState::LoggedOut {
                    self.transition(&agent, AgentState::Ready, now);
                }
            }
            Event::LoggedOut { agent } => {
                self.refuse_while_busy(&agent, "log out")?;
                self.release(&agent);
                self.transition(&agent, AgentState::LoggedOut, now);
                self.drop_calls_of_empty_queues(now);
            }
            Event::Paused { agent, reason } => {
                if !self.pause_reasons.is_empty() && !self.pause_reasons.contains(&reason) {
                    return Err(AcdError::UnknownPauseReason(reason));
                }
                self.refuse_while_busy(&agent, "pause")?;
                if self
                    .agents
                    .get(&agent)
                    .is_none_or(|a| a.state == AgentState::LoggedOut)
                {
                    return Err(AcdError::NotNow {
                        agent,
                        action: "pause",
                        state: "logged out",
                    });
                }
                self.release(&agent);
                self.transition(&agent, AgentState::Paused { reason }, now);
            }
            Event::Unpaused { agent } => match self.agents.get(&agent).map(|a| &a.state) {
                Some(AgentState::Paused { .. }) => {
                    self.transition(&agent, AgentState::Ready, now);
                }
                Some(AgentState::LoggedOut) | None => {
                    return Err(AcdError::NotNow {
                        agent,
                        action: "unpause",
                        state: "logged out",
                    });
                }
                Some(_) => {}
            },
            Event::CallQueued {
                call,
                queue,
                priority,
                skills,
            } => {
                if !self.queues.contains_key(&queue) {
                    return Err(AcdError::UnknownQueue(queue));
                }
                if self.waiting.contains_key(&call) || self.talking.contains_key(&call) {
                    return Err(AcdError::AlreadyQueued(call));
                }
                self.enqueue(call, queue, priority, skills, 0, now);
            }
            Event::CallerHungUp { call } => {
                if let Some(waiting) = self.remove_waiting(&call) {
                    self.forget_timers_of(&call, &waiting);
                    for (agent, _) in waiting.offers {
                        self.cancel_offer(&call, &agent, now, false);
                    }
                } else {
                    self.agent_hung_up(&call, now);
                }
            }
            Event::AgentRinging { call, agent } => {
                if self
                    .agents
                    .get(&agent)
                    .is_some_and(|a| a.state == AgentState::Reserved { call: call.clone() })
                {
                    self.transition(&agent, AgentState::Ringing { call }, now);
                }
            }
            Event::AgentAnswered { call, agent } => self.answered(call, agent, now),
            Event::OfferFailed { call, agent } => {
                if self.take_offer(&call, &agent) {
                    // Every offer is closed by a CancelOffer or an answer, even a failed one.
                    self.commands.push_back(Command::CancelOffer {
                        call: call.clone(),
                        agent: agent.clone(),
                    });
                    self.transition(
                        &agent,
                        AgentState::Paused {
                            reason: "phone-unreachable".into(),
                        },
                        now,
                    );
                    if let Some(waiting) = self.waiting.get_mut(&call) {
                        waiting.tried.insert(agent);
                    }
                }
            }
            Event::AgentHungUp { call } => self.agent_hung_up(&call, now),
            Event::DispositionSaved { agent } => {
                if matches!(
                    self.agents.get(&agent).map(|a| &a.state),
                    Some(AgentState::WrapUp { .. })
                ) {
                    if let Some(until) = self.wrap_ups.remove(&agent) {
                        self.timers.remove(&(until, Timer::WrapUp(agent.clone())));
                    }
                    self.transition(&agent, AgentState::Ready, now);
                }
            }
        }
        self.dispatch(now);
        Ok(())
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some((at, _)) = self.timers.first() {
            if *at > now {
                break;
            }
            let Some((_, timer)) = self.timers.pop_first() else {
                break;
            };
            match timer {
                Timer::MaxWait(call) => self.wait_ran_out(call, now),
                Timer::Ring(call, agent) => {
                    if self.take_offer(&call, &agent) {
                        self.commands.push_back(Command::CancelOffer {
                            call: call.clone(),
                            agent: agent.clone(),
                        });
                        self.missed(&agent, now);
                        if let Some(waiting) = self.waiting.get_mut(&call) {
                            waiting.tried.insert(agent);
                        }
                    }
                }
                Timer::Announce(call) => self.announce(call, now),
                Timer::WrapUp(agent) => {
                    self.wrap_ups.remove(&agent);
                    if matches!(
                        self.agents.get(&agent).map(|a| &a.state),
                        Some(AgentState::WrapUp { .. })
                    ) {
                        self.transition(&agent, AgentState::Ready, now);
                    }
                }
            }
        }
        self.dispatch(now);
    }

    // --- internals ------------------------------------------------------------------

    pub(crate) fn transition(&mut self, agent: &AgentId, to: AgentState, now: Instant) -> bool {
        let Some(entry) = self.agents.get_mut(agent) else {
            return false;
        };
        match entry.become_(to, now) {
            Some(transition) => {
                if transition.to == AgentState::Ready {
                    self.ready.insert(agent.clone());
                } else {
                    self.ready.remove(agent);
                }
                self.commands.push_back(Command::AgentChanged {
                    agent: agent.clone(),
                    transition,
                });
                true
            }
            None => false,
        }
    }

    fn refuse_while_busy(&self, agent: &AgentId, action: &'static str) -> Result<(), AcdError> {
        match self.agents.get(agent).map(|a| &a.state) {
            Some(AgentState::OnCall { .. }) => Err(AcdError::NotNow {
                agent: agent.clone(),
                action,
                state: "on a call",
            }),
            _ => Ok(()),
        }
    }

    /// Frees an agent from an offer or a wrap-up before pausing or logging out.
    fn release(&mut self, agent: &AgentId) {
        let offered = self
            .agents
            .get(agent)
            .and_then(|a| a.state.offered_call().cloned());
        if let Some(call) = offered {
            self.take_offer(&call, agent);
            self.commands.push_back(Command::CancelOffer {
                call,
                agent: agent.clone(),
            });
        }
        if let Some(until) = self.wrap_ups.remove(agent) {
            self.timers.remove(&(until, Timer::WrapUp(agent.clone())));
        }
    }

    /// Removes the offer of `call` to `agent`; `true` if there was one.
    fn take_offer(&mut self, call: &CallId, agent: &AgentId) -> bool {
        let Some(waiting) = self.waiting.get_mut(call) else {
            return false;
        };
        let Some(position) = waiting.offers.iter().position(|(a, _)| a == agent) else {
            return false;
        };
        let (_, until) = waiting.offers.remove(position);
        self.timers
            .remove(&(until, Timer::Ring(call.clone(), agent.clone())));
        true
    }

    /// Cancels an offer: the agent is ready again (a miss only if `missed`).
    fn cancel_offer(&mut self, call: &CallId, agent: &AgentId, now: Instant, missed: bool) {
        self.commands.push_back(Command::CancelOffer {
            call: call.clone(),
            agent: agent.clone(),
        });
        if missed {
            self.missed(agent, now);
        } else if self
            .agents
            .get(agent)
            .is_some_and(|a| a.state.offered_call() == Some(call))
        {
            self.transition(agent, AgentState::Ready, now);
        }
    }

    fn missed(&mut self, agent: &AgentId, now: Instant) {
        let limit = self.auto_pause_after_misses;
        let Some(entry) = self.agents.get_mut(agent) else {
            return;
        };
        entry.misses += 1;
        let to = if limit > 0 && entry.misses >= limit {
            AgentState::Paused {
                reason: "missed-offers".into(),
            }
        } else {
            AgentState::Ready
        };
        self.transition(agent, to, now);
    }

    pub(crate) fn forget_timers_of(&mut self, call: &CallId, waiting: &WaitingCall) {
        self.timers
            .remove(&(waiting.deadline, Timer::MaxWait(call.clone())));
        if let Some(at) = waiting.next_announce {
            self.timers.remove(&(at, Timer::Announce(call.clone())));
        }
        for (agent, until) in &waiting.offers {
            self.timers
                .remove(&(*until, Timer::Ring(call.clone(), agent.clone())));
        }
    }

    fn has_agents(&self, queue: &QueueConfig) -> bool {
        queue.members.iter().any(|member| {
            self.agents
                .get(&member.agent)
                .is_some_and(|a| a.state != AgentState::LoggedOut)
        })
    }

    fn enqueue(
        &mut self,
        call: CallId,
        queue_id: QueueId,
        priority: i64,
        skills: Vec<(String, u8)>,
        hops: u8,
        now: Instant,
    ) {
        let Some(queue) = self.queues.get(&queue_id) else {
            self.commands.push_back(Command::Leave {
                call,
                result: QueueResult::Timeout,
            });
            return;
        };
        if !self.has_agents(&queue.config) {
            self.commands.push_back(Command::Leave {
                call,
                result: QueueResult::NoAgents,
            });
            return;
        }
        let length = self
            .waiting
            .values()
            .filter(|c| c.queue == queue_id)
            .count();
        if queue.config.max_length.is_some_and(|max| length >= max) {
            match queue.config.overflow.clone() {
                Overflow::Queue(next) if hops < MAX_OVERFLOW_HOPS && next != queue_id => {
                    self.commands.push_back(Command::Moved {
                        call: call.clone(),
                        from: queue_id,
                        to: next.clone(),
                    });
                    self.enqueue(call, next, priority, skills, hops + 1, now);
                }
                _ => self.commands.push_back(Command::Leave {
                    call,
                    result: QueueResult::Full,
                }),
            }
            return;
        }
        self.seq += 1;
        let deadline = now.after_ms(queue.config.max_wait_ms);
        let next_announce = queue
            .config
            .announce_every_ms
            .map(|every| now.after_ms(every.max(1)));
        self.timers.insert((deadline, Timer::MaxWait(call.clone())));
        if let Some(at) = next_announce {
            self.timers.insert((at, Timer::Announce(call.clone())));
        }
        self.order
            .insert((Reverse(priority), self.seq, call.clone()));
        self.waiting.insert(
            call,
            WaitingCall {
                queue: queue_id,
                priority,
                skills,
                queued_at: now,
                seq: self.seq,
                deadline,
                offers: Vec::new(),
                tried: BTreeSet::new(),
                next_announce,
                hops,
            },
        );
    }

    fn wait_ran_out(&mut self, call: CallId, now: Instant) {
        let Some(waiting) = self.remove_waiting(&call) else {
            return;
        };
        self.forget_timers_of(&call, &waiting);
        for (agent, _) in &waiting.offers {
            self.cancel_offer(&call, agent, now, false);
        }
        let overflow = self
            .queues
            .get(&waiting.queue)
            .map(|q| q.config.overflow.clone());
        match overflow {
            Some(Overflow::Queue(next))
                if waiting.hops < MAX_OVERFLOW_HOPS && next != waiting.queue =>
            {
                self.commands.push_back(Command::Moved {
                    call: call.clone(),
                    from: waiting.queue,
                    to: next.clone(),
                });
                self.enqueue(
                    call,
                    next,
                    waiting.priority,
                    waiting.skills,
                    waiting.hops + 1,
                    now,
                );
            }
            _ => self.commands.push_back(Command::Leave {
                call,
                result: QueueResult::Timeout,
            }),
        }
    }

    fn answered(&mut self, call: CallId, agent: AgentId, now: Instant) {
        let offered = self
            .waiting
            .get(&call)
            .is_some_and(|w| w.offers.iter().any(|(a, _)| *a == agent));
        if !offered {
            // A late answer (the caller hung up, or the offer moved on): drop the agent's leg.
            self.commands
                .push_back(Command::CancelOffer { call, agent });
            return;
        }
        let Some(waiting) = self.remove_waiting(&call) else {
            return;
        };
        self.forget_timers_of(&call, &waiting);
        for (other, _) in &waiting.offers {
            if *other != agent {
                self.cancel_offer(&call, other, now, false);
            }
        }
        if let Some(queue) = self.queues.get_mut(&waiting.queue) {
            if queue.recent_waits.len() == RECENT_WAITS {
                queue.recent_waits.pop_front();
            }
            queue.recent_waits.push_back(now.since(waiting.queued_at));
        }
        self.transition(&agent, AgentState::OnCall { call: call.clone() }, now);
        if let Some(entry) = self.agents.get_mut(&agent) {
            entry.answered += 1;
            entry.misses = 0;
        }
        self.talking
            .insert(call.clone(), (agent.clone(), waiting.queue));
        self.commands.push_back(Command::Leave {
            call,
            result: QueueResult::Answered { agent },
        });
    }
}
