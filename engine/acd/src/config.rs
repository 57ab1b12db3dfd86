//! How queues route: strategy, limits, timers, members with skills and penalties.

use crate::ids::{AgentId, QueueId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How a queue picks among the agents able to take a call. Among agents with different
/// penalties, the lowest penalty always goes first; the strategy orders agents of equal
/// penalty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// The agent idle the longest.
    LongestIdle,
    /// The agent who answered the fewest calls since logging in.
    FewestCalls,
    /// The next agent after the last one offered, in member order.
    RoundRobin,
    /// Every able agent at once; the first to answer takes the call.
    RingAll,
    /// The agent whose skills match the call best (sum of levels of the required skills),
    /// then the longest idle.
    SkillBased,
}

/// Where a call goes when its wait runs out or the queue is full.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Overflow {
    /// Back to the flow, through the queue node's `timeout` port.
    Flow,
    /// Into another queue (keeping the caller's priority); its own limits apply there.
    Queue(QueueId),
}

/// A member of a queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The agent.
    pub agent: AgentId,
    /// Lower is offered first.
    #[serde(default)]
    pub penalty: u32,
}

/// One queue's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueConfig {
    /// The queue.
    pub id: QueueId,
    /// How agents are picked.
    pub strategy: Strategy,
    /// Members, in order (round robin follows it).
    pub members: Vec<Member>,
    /// Longest a caller waits, ms.
    pub max_wait_ms: u64,
    /// Most callers waiting; more overflow at once.
    pub max_length: Option<usize>,
    /// How long an offer rings before it moves on, ms.
    pub ring_timeout_ms: u64,
    /// After-call work before the agent is ready again, ms (a saved disposition ends it
    /// sooner).
    pub wrap_up_ms: u64,
    /// Where callers go when the wait runs out or the queue is full.
    pub overflow: Overflow,
    /// Announce position and expected wait this often, ms (`None`: never).
    pub announce_every_ms: Option<u64>,
}

/// The whole ACD's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AcdConfig {
    /// The queues.
    pub queues: Vec<QueueConfig>,
    /// Agents' skills: skill → level (1–10).
    pub skills: BTreeMap<AgentId, BTreeMap<String, u8>>,
    /// Consecutive unanswered offers after which an agent is paused (0: never).
    pub auto_pause_after_misses: u32,
    /// The reasons an agent may pause with (empty: any reason). The ACD's own reasons
    /// (`missed-offers`, `phone-unreachable`) are always possible.
    #[serde(default)]
    pub pause_reasons: Vec<String>,
}
