//! Choosing agents for a call: who is able (ready, a member, skilled enough, not already
//! tried for this call), then the lowest penalty, then the queue's strategy.

use crate::agent::{Agent, AgentState};
use crate::config::{Member, Strategy};
use crate::ids::AgentId;
use std::collections::{BTreeMap, BTreeSet};

/// Does the agent have every skill the call needs, at its level?
pub(crate) fn qualifies(skills: Option<&BTreeMap<String, u8>>, needed: &[(String, u8)]) -> bool {
    needed.iter().all(|(skill, level)| {
        skills
            .and_then(|skills| skills.get(skill))
            .is_some_and(|have| have >= level)
    })
}

fn skill_score(skills: Option<&BTreeMap<String, u8>>, needed: &[(String, u8)]) -> u32 {
    needed
        .iter()
        .map(|(skill, _)| u32::from(skills.and_then(|s| s.get(skill)).copied().unwrap_or(0)))
        .sum()
}

/// Everything selection looks at.
pub(crate) struct Selection<'a> {
    pub strategy: Strategy,
    pub members: &'a [Member],
    pub agents: &'a BTreeMap<AgentId, Agent>,
    pub skills: &'a BTreeMap<AgentId, BTreeMap<String, u8>>,
    pub needed: &'a [(String, u8)],
    pub tried: &'a BTreeSet<AgentId>,
    /// Round robin: the member index offered last.
    pub cursor: usize,
}

impl Selection<'_> {
    /// Indices (into `members`) of the agents able to take the call.
    pub fn able(&self) -> Vec<usize> {
        self.members
            .iter()
            .enumerate()
            .filter(|(_, member)| {
                self.agents
                    .get(&member.agent)
                    .is_some_and(|agent| agent.state == AgentState::Ready)
                    && !self.tried.contains(&member.agent)
                    && qualifies(self.skills.get(&member.agent), self.needed)
            })
            .map(|(index, _)| index)
            .collect()
    }

    /// The member indices to offer the call to: one agent, or several for ring-all. Keys are
    /// computed once per candidate and only the best is kept (no sort).
    pub fn choose(&self, able: &[usize]) -> Vec<usize> {
        let Some(lowest) = able.iter().map(|&i| self.members[i].penalty).min() else {
            return Vec::new();
        };
        let tier = able
            .iter()
            .copied()
            .filter(|&i| self.members[i].penalty == lowest);
        if self.strategy == Strategy::RingAll {
            return tier.collect();
        }
        let n = self.members.len().max(1);
        let first = self.cursor.wrapping_add(1) % n;
        let key = |i: usize| -> (u32, u64, u64, usize) {
            let agent = self.agents.get(&self.members[i].agent);
            let idle = agent.map_or(0, |a| a.idle_since.0);
            match self.strategy {
                Strategy::FewestCalls => (0, u64::from(agent.map_or(0, |a| a.answered)), idle, i),
                Strategy::RoundRobin => (0, 0, 0, (i + n - first) % n),
                Strategy::SkillBased => {
                    let score = skill_score(self.skills.get(&self.members[i].agent), self.needed);
                    (u32::MAX - score, idle, 0, i)
                }
                Strategy::LongestIdle | Strategy::RingAll => (0, idle, 0, i),
            }
        };
        tier.map(|i| (key(i), i))
            .min()
            .map(|(_, i)| vec![i])
            .unwrap_or_default()
    }
}
