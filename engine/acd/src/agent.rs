//! An agent's state and the transitions allowed between states. Every transition is
//! checked against one table and recorded in the agent's history.

use crate::ids::{AgentId, CallId, Instant};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Where an agent is in their working day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum AgentState {
    /// Not working.
    LoggedOut,
    /// Waiting for a call.
    Ready,
    /// Logged in but not taking calls.
    Paused {
        /// From the configured list (or `missed-offers`, `phone-unreachable`).
        reason: String,
    },
    /// Chosen for a call; the phone is about to ring.
    Reserved {
        /// The call.
        call: CallId,
    },
    /// The phone rings.
    Ringing {
        /// The call.
        call: CallId,
    },
    /// Talking.
    OnCall {
        /// The call.
        call: CallId,
    },
    /// After-call work (the disposition form).
    WrapUp {
        /// The call that ended.
        call: CallId,
    },
}

impl AgentState {
    /// A short name for messages.
    pub fn name(&self) -> &'static str {
        match self {
            AgentState::LoggedOut => "logged-out",
            AgentState::Ready => "ready",
            AgentState::Paused { .. } => "paused",
            AgentState::Reserved { .. } => "reserved",
            AgentState::Ringing { .. } => "ringing",
            AgentState::OnCall { .. } => "on-call",
            AgentState::WrapUp { .. } => "wrap-up",
        }
    }

    /// The call an offer is ringing for, if any.
    pub fn offered_call(&self) -> Option<&CallId> {
        match self {
            AgentState::Reserved { call } | AgentState::Ringing { call } => Some(call),
            _ => None,
        }
    }

    /// Can an agent go from `self` to `to`? The one table of allowed transitions.
    pub fn may_become(&self, to: &AgentState) -> bool {
        use AgentState::*;
        matches!(
            (self, to),
            (LoggedOut, Ready | Paused { .. })
                | (Ready, Paused { .. } | Reserved { .. } | LoggedOut)
                | (Paused { .. }, Ready | Paused { .. } | LoggedOut)
                | (
                    Reserved { .. },
                    Ringing { .. } | OnCall { .. } | Ready | Paused { .. } | LoggedOut
                )
                | (
                    Ringing { .. },
                    OnCall { .. } | Ready | Paused { .. } | LoggedOut
                )
                | (OnCall { .. }, WrapUp { .. })
                | (WrapUp { .. }, Ready | Paused { .. } | LoggedOut)
        )
    }
}

/// One recorded transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// When.
    pub at: Instant,
    /// From.
    pub from: AgentState,
    /// To.
    pub to: AgentState,
}

/// How many transitions an agent keeps in memory (the store keeps them all).
pub const HISTORY: usize = 64;

/// An agent as the ACD tracks it.
#[derive(Debug, Clone)]
pub struct Agent {
    /// Who.
    pub id: AgentId,
    /// Now.
    pub state: AgentState,
    /// When the agent last became ready (longest-idle order).
    pub idle_since: Instant,
    /// Calls answered since logging in (fewest-calls order).
    pub answered: u32,
    /// Offers missed in a row.
    pub misses: u32,
    /// Recent transitions, oldest first.
    pub history: VecDeque<Transition>,
}

impl Agent {
    pub(crate) fn new(id: AgentId) -> Agent {
        Agent {
            id,
            state: AgentState::LoggedOut,
            idle_since: Instant::default(),
            answered: 0,
            misses: 0,
            history: VecDeque::new(),
        }
    }

    /// Moves to `to` if allowed, recording it; returns the transition.
    pub(crate) fn become_(&mut self, to: AgentState, now: Instant) -> Option<Transition> {
        if !self.state.may_become(&to) {
            return None;
        }
        let from = std::mem::replace(&mut self.state, to.clone());
        if to == AgentState::Ready {
            self.idle_since = now;
        }
        if from == AgentState::LoggedOut {
            self.answered = 0;
            self.misses = 0;
        }
        let transition = Transition { at: now, from, to };
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(transition.clone());
        Some(transition)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_table_s_transitions_are_allowed() {
        let call = || CallId("c".into());
        let paused = || AgentState::Paused {
            reason: "lunch".into(),
        };
        let all = [
            AgentState::LoggedOut,
            AgentState::Ready,
            paused(),
            AgentState::Reserved { call: call() },
            AgentState::Ringing { call: call() },
            AgentState::OnCall { call: call() },
            AgentState::WrapUp { call: call() },
        ];
        let allowed: Vec<(&str, &str)> = all
            .iter()
            .flat_map(|from| {
                all.iter()
                    .filter(|to| from.may_become(to))
                    .map(move |to| (from.name(), to.name()))
            })
            .collect();
        assert_eq!(
            allowed,
            [
                ("logged-out", "ready"),
                ("logged-out", "paused"),
                ("ready", "logged-out"),
                ("ready", "paused"),
                ("ready", "reserved"),
                ("paused", "logged-out"),
                ("paused", "ready"),
                ("paused", "paused"),
                ("reserved", "logged-out"),
                ("reserved", "ready"),
                ("reserved", "paused"),
                ("reserved", "ringing"),
                ("reserved", "on-call"),
                ("ringing", "logged-out"),
                ("ringing", "ready"),
                ("ringing", "paused"),
                ("ringing", "on-call"),
                ("on-call", "wrap-up"),
                ("wrap-up", "logged-out"),
                ("wrap-up", "ready"),
                ("wrap-up", "paused"),
            ]
        );
    }

    #[test]
    fn history_is_bounded_and_ordered() {
        let mut agent = Agent::new(AgentId("a".into()));
        for i in 0..200u64 {
            let to = if i % 2 == 0 {
                AgentState::Ready
            } else {
                AgentState::Paused { reason: "x".into() }
            };
            assert!(agent.become_(to, Instant(i)).is_some());
        }
        assert_eq!(agent.history.len(), HISTORY);
        assert_eq!(agent.history.back().map(|t| t.at), Some(Instant(199)));
        assert!(
            agent
                .become_(
                    AgentState::OnCall {
                        call: CallId("c".into())
                    },
                    Instant(300)
                )
                .is_none()
        );
    }
}
