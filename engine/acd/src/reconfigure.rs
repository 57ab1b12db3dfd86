//! Changing the queues while calls wait: queue and member changes made through the API
//! take effect at once, without dropping anyone who is waiting or talking.

use crate::acd::{Acd, QueueState};
use crate::agent::Agent;
use crate::config::AcdConfig;
use crate::ids::{AgentId, Instant, QueueId};
use std::collections::{BTreeMap, VecDeque};

impl Acd {
    /// Replaces the configuration. Queues keep their round-robin position and wait history;
    /// new members start logged out; agents keep their state. Callers waiting in a queue
    /// that is gone, or that has no logged-in member any more, leave with `no-agents`;
    /// the others may be offered to new members at once. Waits keep the deadline they
    /// were given.
    pub fn reconfigure(&mut self, config: AcdConfig, now: Instant) {
        self.install(config);
        self.drop_calls_of_empty_queues(now);
        self.dispatch(now);
    }

    /// Takes `config`'s queues, members and settings. A queue already known keeps its
    /// round-robin position and wait history; an agent not yet known starts logged out.
    pub(crate) fn install(&mut self, config: AcdConfig) {
        let mut old = std::mem::take(&mut self.queues);
        let mut queues_of: BTreeMap<AgentId, Vec<QueueId>> = BTreeMap::new();
        for queue in config.queues {
            for member in &queue.members {
                self.agents
                    .entry(member.agent.clone())
                    .or_insert_with(|| Agent::new(member.agent.clone()));
                queues_of
                    .entry(member.agent.clone())
                    .or_default()
                    .push(queue.id.clone());
            }
            let state = match old.remove(&queue.id) {
                Some(kept) => QueueState {
                    config: queue,
                    ..kept
                },
                None => QueueState {
                    config: queue,
                    cursor: usize::MAX,
                    recent_waits: VecDeque::new(),
                },
            };
            self.queues.insert(state.config.id.clone(), state);
        }
        self.queues_of = queues_of;
        self.skills = config.skills;
        self.auto_pause_after_misses = config.auto_pause_after_misses;
        self.pause_reasons = config.pause_reasons.into_iter().collect();
    }
}
