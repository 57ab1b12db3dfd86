//! Matching waiting callers with able agents, hang-ups, empty queues and announcements:
//! the parts of the ACD that run after every input.

use crate::acd::{Acd, Timer};
use crate::agent::AgentState;
use crate::ids::{AgentId, CallId, Instant, QueueId};
use crate::io::{Command, QueueResult};
use crate::strategy::Selection;
use std::ops::Bound::{Excluded, Unbounded};

impl Acd {
    /// Offers waiting callers to able agents: callers in priority order, then arrival, across
    /// all queues, so the longest-waiting caller gets the first free agent.
    pub(crate) fn dispatch(&mut self, now: Instant) {
        if self.ready.is_empty() || self.waiting.is_empty() {
            return;
        }
        let nobody = std::collections::BTreeSet::new();
        // Whether a queue has a ready member, decided once per queue and dispatch: callers in
        // queues where nobody is free are skipped without looking at each member again.
        let mut idle_queues: std::collections::BTreeMap<QueueId, bool> =
            std::collections::BTreeMap::new();
        // One pass over the service order; keys of callers still waiting do not change while
        // offers are made, so the pass resumes just after the last key it looked at.
        let mut after: Option<(std::cmp::Reverse<i64>, u64, CallId)> = None;
        loop {
            if self.ready.is_empty() {
                return;
            }
            let remaining = match &after {
                None => self
                    .order
                    .range::<(std::cmp::Reverse<i64>, u64, CallId), _>(..),
                Some(key) => self.order.range((Excluded(key.clone()), Unbounded)),
            };
            // Skipping only borrows; the caller to serve is cloned once found.
            let mut found = None;
            for key in remaining {
                let Some(waiting) = self.waiting.get(&key.2) else {
                    continue;
                };
                if !waiting.offers.is_empty() {
                    continue;
                }
                let has_ready = match idle_queues.get(&waiting.queue) {
                    Some(has_ready) => *has_ready,
                    None => {
                        let has_ready = self.queues.get(&waiting.queue).is_some_and(|queue| {
                            queue
                                .config
                                .members
                                .iter()
                                .any(|m| self.ready.contains(&m.agent))
                        });
                        idle_queues.insert(waiting.queue.clone(), has_ready);
                        has_ready
                    }
                };
                if has_ready {
                    found = Some(key.clone());
                    break;
                }
            }
            let Some(key) = found else { return };
            let call_id = key.2.clone();
            after = Some(key);
            let Some(call) = self.waiting.get(&call_id) else {
                continue;
            };
            let Some(queue) = self.queues.get(&call.queue) else {
                continue;
            };
            let mut selection = Selection {
                strategy: queue.config.strategy,
                members: &queue.config.members,
                agents: &self.agents,
                skills: &self.skills,
                needed: &call.skills,
                tried: &call.tried,
                cursor: queue.cursor,
            };
            let mut able = selection.able();
            let mut new_round = false;
            if able.is_empty() && !call.tried.is_empty() {
                // Everyone able has had a go: start another round.
                selection.tried = &nobody;
                able = selection.able();
                new_round = !able.is_empty();
            }
            let chosen = selection.choose(&able);
            if chosen.is_empty() {
                continue;
            }
            let ring_ms = queue.config.ring_timeout_ms;
            let queue_id = call.queue.clone();
            let agents: Vec<AgentId> = chosen
                .iter()
                .map(|&i| queue.config.members[i].agent.clone())
                .collect();
            if let Some(&last) = chosen.last()
                && let Some(queue) = self.queues.get_mut(&queue_id)
            {
                queue.cursor = last;
            }
            let until = now.after_ms(ring_ms);
            // The chosen agents are no longer ready: their queues must be looked at again.
            for agent in &agents {
                for queue in self.queues_of.get(agent).into_iter().flatten() {
                    idle_queues.remove(queue);
                }
            }
            if let Some(call) = self.waiting.get_mut(&call_id) {
                if new_round {
                    call.tried.clear();
                }
                for agent in &agents {
                    call.offers.push((agent.clone(), until));
                }
            }
            for agent in agents {
                self.timers
                    .insert((until, Timer::Ring(call_id.clone(), agent.clone())));
                self.transition(
                    &agent,
                    AgentState::Reserved {
                        call: call_id.clone(),
                    },
                    now,
                );
                self.commands.push_back(Command::Offer {
                    call: call_id.clone(),
                    agent,
                    ring_timeout_ms: ring_ms,
                });
            }
        }
    }

    /// The agent's leg of an answered call ended: wrap-up (or ready, with no wrap-up time).
    pub(crate) fn agent_hung_up(&mut self, call: &CallId, now: Instant) {
        let Some((agent, queue)) = self.talking.remove(call) else {
            return;
        };
        let wrap_up_ms = self.queues.get(&queue).map_or(0, |q| q.config.wrap_up_ms);
        self.transition(&agent, AgentState::WrapUp { call: call.clone() }, now);
        if wrap_up_ms == 0 {
            self.transition(&agent, AgentState::Ready, now);
        } else {
            let until = now.after_ms(wrap_up_ms);
            self.wrap_ups.insert(agent.clone(), until);
            self.timers.insert((until, Timer::WrapUp(agent)));
        }
    }

    /// Callers of queues with nobody logged in leave with `no-agents`.
    pub(crate) fn drop_calls_of_empty_queues(&mut self, now: Instant) {
        let empty: Vec<QueueId> = self
            .queues
            .iter()
            .filter(|(_, queue)| !self.has_agents_in(&queue.config.members))
            .map(|(id, _)| id.clone())
            .collect();
        let leaving: Vec<CallId> = self
            .waiting
            .iter()
            .filter(|(_, call)| {
                empty.contains(&call.queue) || !self.queues.contains_key(&call.queue)
            })
            .map(|(id, _)| id.clone())
            .collect();
        for call in leaving {
            if let Some(waiting) = self.remove_waiting(&call) {
                self.forget_timers_of(&call, &waiting);
                for (agent, _) in &waiting.offers {
                    self.commands.push_back(Command::CancelOffer {
                        call: call.clone(),
                        agent: agent.clone(),
                    });
                    if self
                        .agents
                        .get(agent)
                        .is_some_and(|a| a.state.offered_call() == Some(&call))
                    {
                        self.transition(agent, AgentState::Ready, now);
                    }
                }
                self.commands.push_back(Command::Leave {
                    call,
                    result: QueueResult::NoAgents,
                });
            }
        }
    }

    fn has_agents_in(&self, members: &[crate::config::Member]) -> bool {
        members.iter().any(|member| {
            self.agents
                .get(&member.agent)
                .is_some_and(|a| a.state != AgentState::LoggedOut)
        })
    }

    /// Position and an expected wait: the average of the queue's recent answered waits
    /// times the position, divided among its logged-in, unpaused agents. A rough estimate,
    /// `None` until some call was answered.
    pub(crate) fn announce(&mut self, call: CallId, now: Instant) {
        let Some(waiting) = self.waiting.get(&call) else {
            return;
        };
        let queue_id = waiting.queue.clone();
        let order = self.waiting_in(&queue_id);
        let position = order.iter().position(|c| *c == call).map_or(1, |p| p + 1);
        let Some(queue) = self.queues.get(&queue_id) else {
            return;
        };
        let working = queue
            .config
            .members
            .iter()
            .filter(|m| {
                self.agents.get(&m.agent).is_some_and(|a| {
                    !matches!(a.state, AgentState::LoggedOut | AgentState::Paused { .. })
                })
            })
            .count()
            .max(1) as u64;
        let expected_wait_ms = (!queue.recent_waits.is_empty()).then(|| {
            let average = queue.recent_waits.iter().sum::<u64>() / queue.recent_waits.len() as u64;
            average * position as u64 / working
        });
        let every = queue.config.announce_every_ms;
        self.commands.push_back(Command::Announce {
            call: call.clone(),
            position,
            expected_wait_ms,
        });
        if let Some(every) = every
            && let Some(waiting) = self.waiting.get_mut(&call)
        {
            let next = now.after_ms(every.max(1));
            waiting.next_announce = Some(next);
            self.timers.insert((next, Timer::Announce(call)));
        }
    }
}
