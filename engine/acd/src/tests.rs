//! Scenario tests for each strategy and lifecycle rule, and a property test over random
//! event sequences for the guarantees in the crate docs.

use super::*;
use proptest::prelude::{ProptestConfig, prop_assert, prop_assert_eq, prop_oneof, proptest};
use proptest::strategy::Strategy as _;
use std::collections::{BTreeMap, BTreeSet};

fn queue(id: &str, strategy: Strategy, members: &[(&str, u32)]) -> QueueConfig {
    QueueConfig {
        id: QueueId::from(id),
        strategy,
        members: members
            .iter()
            .map(|(agent, penalty)| Member {
                agent: AgentId::from(*agent),
                penalty: *penalty,
            })
            .collect(),
        max_wait_ms: 60_000,
        max_length: None,
        ring_timeout_ms: 15_000,
        wrap_up_ms: 10_000,
        overflow: Overflow::Flow,
        announce_every_ms: None,
    }
}

struct Harness {
    acd: Acd,
    now: u64,
}

impl Harness {
    fn new(queues: Vec<QueueConfig>) -> Harness {
        Harness::with(AcdConfig {
            queues,
            skills: BTreeMap::new(),
            auto_pause_after_misses: 0,
            pause_reasons: Vec::new(),
        })
    }
    fn with(config: AcdConfig) -> Harness {
        Harness {
            acd: Acd::new(config),
            now: 0,
        }
    }
    fn at(&mut self, ms: u64) -> &mut Self {
        self.now = ms;
        self
    }
    /// Handles an event; returns the commands, agent changes left out.
    fn event(&mut self, event: Event) -> Vec<String> {
        self.acd
            .handle(event, Instant(self.now))
            .expect("the test's events are accepted");
        self.commands()
    }
    fn advance_to(&mut self, ms: u64) -> Vec<String> {
        self.now = ms;
        self.acd.handle_timeout(Instant(ms));
        self.commands()
    }
    fn commands(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(command) = self.acd.poll_command() {
            match command {
                Command::AgentChanged { .. } => {}
                Command::Offer { call, agent, .. } => out.push(format!("offer {call} {agent}")),
                Command::CancelOffer { call, agent } => out.push(format!("cancel {call} {agent}")),
                Command::Leave { call, result } => out.push(format!(
                    "leave {call} {}",
                    match result {
                        QueueResult::Answered { agent } => format!("answered {agent}"),
                        QueueResult::Timeout => "timeout".into(),
                        QueueResult::NoAgents => "no-agents".into(),
                        QueueResult::Full => "full".into(),
                    }
                )),
                Command::Moved { call, to, .. } => out.push(format!("moved {call} {to}")),
                Command::Announce {
                    call,
                    position,
                    expected_wait_ms,
                } => out.push(format!("announce {call} {position} {expected_wait_ms:?}")),
            }
        }
        out
    }
    fn login(&mut self, agents: &[&str]) {
        for agent in agents {
            self.event(Event::LoggedIn {
                agent: AgentId::from(*agent),
            });
        }
    }
    fn state(&self, agent: &str) -> &'static str {
        self.acd
            .agent(&AgentId::from(agent))
            .map_or("none", |a| a.state.name())
    }
}

fn queued(call: &str, queue: &str) -> Event {
    Event::CallQueued {
        call: CallId::from(call),
        queue: QueueId::from(queue),
        priority: 0,
        skills: Vec::new(),
    }
}
fn answered(call: &str, agent: &str) -> Event {
    Event::AgentAnswered {
        call: CallId::from(call),
        agent: AgentId::from(agent),
    }
}

#[test]
fn the_longest_idle_agent_gets_the_call_and_a_missed_offer_moves_to_the_next() {
    let mut h = Harness::new(vec![queue(
        "sales",
        Strategy::LongestIdle,
        &[("ana", 0), ("bia", 0)],
    )]);
    h.at(0).login(&["bia"]);
    h.at(10).login(&["ana"]);
    assert_eq!(h.at(20).event(queued("c1", "sales")), ["offer c1 bia"]);
    assert_eq!(h.state("bia"), "reserved");
    assert_eq!(h.advance_to(15_020), ["cancel c1 bia", "offer c1 ana"]);
    assert_eq!(h.state("bia"), "ready");
    assert_eq!(
        h.acd.agent(&AgentId::from("bia")).map(|a| a.misses),
        Some(1)
    );
    assert_eq!(h.event(answered("c1", "ana")), ["leave c1 answered ana"]);
    assert_eq!(h.state("ana"), "on-call");
}

#[test]
fn after_the_call_the_agent_wraps_up_until_the_disposition_or_the_timer() {
    let mut h = Harness::new(vec![queue("sales", Strategy::LongestIdle, &[("ana", 0)])]);
    h.login(&["ana"]);
    h.event(queued("c1", "sales"));
    h.event(answered("c1", "ana"));
    h.at(5_000).event(Event::AgentHungUp {
        call: CallId::from("c1"),
    });
    assert_eq!(h.state("ana"), "wrap-up");
    assert_eq!(h.acd.poll_timeout(), Some(Instant(15_000)));
    h.at(6_000).event(Event::DispositionSaved {
        agent: AgentId::from("ana"),
    });
    assert_eq!(h.state("ana"), "ready");
    assert_eq!(h.acd.poll_timeout(), None, "the wrap-up timer is gone");
    // Without a disposition the timer ends the wrap-up.
    h.event(queued("c2", "sales"));
    h.event(answered("c2", "ana"));
    h.at(7_000).event(Event::CallerHungUp {
        call: CallId::from("c2"),
    });
    assert_eq!(h.state("ana"), "wrap-up");
    h.advance_to(17_000);
    assert_eq!(h.state("ana"), "ready");
}

#[test]
fn a_caller_who_hangs_up_while_waiting_or_ringing_is_removed_at_once() {
    let mut h = Harness::new(vec![queue("sales", Strategy::LongestIdle, &[("ana", 0)])]);
    h.login(&["ana"]);
    h.event(queued("c1", "sales"));
    assert_eq!(
        h.event(Event::CallerHungUp {
            call: CallId::from("c1")
        }),
        ["cancel c1 ana"]
    );
    assert_eq!(h.state("ana"), "ready");
    assert_eq!(
        h.acd.agent(&AgentId::from("ana")).map(|a| a.misses),
        Some(0),
        "not the agent's miss"
    );
    h.event(Event::Paused {
        agent: AgentId::from("ana"),
        reason: "lunch".into(),
    });
    h.event(queued("c2", "sales"));
    assert_eq!(
        h.event(Event::CallerHungUp {
            call: CallId::from("c2")
        }),
        Vec::<String>::new()
    );
    assert_eq!(h.acd.waiting_count(), 0);
    assert_eq!(
        h.acd.poll_timeout(),
        None,
        "no timer is left for the caller"
    );
    // The agent answering after the caller left gets its leg dropped.
    assert_eq!(h.event(answered("c2", "ana")), ["cancel c2 ana"]);
}

#[test]
fn agents_who_keep_missing_offers_are_paused() {
    let mut config = AcdConfig {
        queues: vec![queue("sales", Strategy::LongestIdle, &[("ana", 0)])],
        ..AcdConfig::default()
    };
    config.auto_pause_after_misses = 2;
    let mut h = Harness::with(config);
    h.login(&["ana"]);
    h.event(queued("c1", "sales"));
    h.advance_to(15_000);
    assert_eq!(
        h.state("ana"),
        "reserved",
        "alone in the queue, a new round offers it again"
    );
    h.advance_to(30_000);
    assert_eq!(h.state("ana"), "paused");
    assert!(
        matches!(&h.acd.agent(&AgentId::from("ana")).map(|a| a.state.clone()), Some(AgentState::Paused { reason }) if reason == "missed-offers")
    );
}

#[test]
fn nobody_logged_in_means_no_agents_and_the_last_logout_empties_the_queue() {
    let mut h = Harness::new(vec![queue("sales", Strategy::LongestIdle, &[("ana", 0)])]);
    assert_eq!(h.event(queued("c1", "sales")), ["leave c1 no-agents"]);
    h.login(&["ana"]);
    h.event(Event::Paused {
        agent: AgentId::from("ana"),
        reason: "lunch".into(),
    });
    assert_eq!(
        h.event(queued("c2", "sales")),
        Vec::<String>::new(),
        "a paused agent still counts"
    );
    assert_eq!(
        h.event(Event::LoggedOut {
            agent: AgentId::from("ana")
        }),
        ["leave c2 no-agents"]
    );
}

#[test]
fn the_wait_runs_out_to_the_flow_or_overflows_to_another_queue() {
    let mut sales = queue("sales", Strategy::LongestIdle, &[("ana", 0)]);
    sales.overflow = Overflow::Queue(QueueId::from("support"));
    let support = queue("support", Strategy::LongestIdle, &[("bia", 0)]);
    let mut h = Harness::new(vec![sales, support]);
    h.login(&["ana", "bia"]);
    h.event(Event::Paused {
        agent: AgentId::from("ana"),
        reason: "lunch".into(),
    });
    h.event(Event::Paused {
        agent: AgentId::from("bia"),
        reason: "lunch".into(),
    });
    h.event(queued("c1", "sales"));
    assert_eq!(h.advance_to(60_000), ["moved c1 support"]);
    assert_eq!(
        h.event(Event::Unpaused {
            agent: AgentId::from("bia")
        }),
        ["offer c1 bia"]
    );
    assert_eq!(h.advance_to(120_000), ["cancel c1 bia", "leave c1 timeout"]);
    assert_eq!(h.state("bia"), "ready");
}

#[test]
fn overflow_cycles_end_in_a_timeout() {
    let mut a = queue("a", Strategy::LongestIdle, &[("ana", 0)]);
    a.overflow = Overflow::Queue(QueueId::from("b"));
    let mut b = queue("b", Strategy::LongestIdle, &[("ana", 0)]);
    b.overflow = Overflow::Queue(QueueId::from("a"));
    let mut h = Harness::new(vec![a, b]);
    h.login(&["ana"]);
    h.event(Event::Paused {
        agent: AgentId::from("ana"),
        reason: "x".into(),
    });
    h.event(queued("c1", "a"));
    let mut all = Vec::new();
    for step in 1..=10 {
        all.extend(h.advance_to(step * 60_000));
    }
    assert_eq!(
        all.iter().filter(|c| c.starts_with("moved")).count(),
        MAX_OVERFLOW_HOPS as usize
    );
    assert_eq!(all.last().map(String::as_str), Some("leave c1 timeout"));
}

#[test]
fn a_full_queue_overflows_or_refuses() {
    let mut sales = queue("sales", Strategy::LongestIdle, &[("ana", 0)]);
    sales.max_length = Some(1);
    let mut h = Harness::new(vec![sales]);
    h.login(&["ana"]);
    h.event(Event::Paused {
        agent: AgentId::from("ana"),
        reason: "x".into(),
    });
    h.event(queued("c1", "sales"));
    assert_eq!(h.event(queued("c2", "sales")), ["leave c2 full"]);
}

#[test]
fn a_vip_queued_later_is_served_first() {
    let mut h = Harness::new(vec![queue("sales", Strategy::LongestIdle, &[("ana", 0)])]);
    h.login(&["ana"]);
    h.event(Event::Paused {
        agent: AgentId::from("ana"),
        reason: "x".into(),
    });
    h.event(queued("c1", "sales"));
    h.event(Event::CallQueued {
        call: CallId::from("vip"),
        queue: QueueId::from("sales"),
        priority: 10,
        skills: Vec::new(),
    });
    assert_eq!(
        h.acd.waiting_in(&QueueId::from("sales")),
        [CallId::from("vip"), CallId::from("c1")]
    );
    assert_eq!(
        h.event(Event::Unpaused {
            agent: AgentId::from("ana")
        }),
        ["offer vip ana"]
    );
}

#[test]
fn round_robin_takes_turns_in_member_order() {
    let mut h = Harness::new(vec![queue(
        "q",
        Strategy::RoundRobin,
        &[("a", 0), ("b", 0), ("c", 0)],
    )]);
    h.login(&["c", "b", "a"]);
    let mut offered = Vec::new();
    for i in 0..4 {
        let call = format!("c{i}");
        let commands = h.event(queued(&call, "q"));
        offered.push(
            commands[0]
                .rsplit(' ')
                .next()
                .unwrap_or_default()
                .to_owned(),
        );
        let agent = offered.last().cloned().unwrap_or_default();
        h.event(answered(&call, &agent));
        h.event(Event::AgentHungUp {
            call: CallId::from(call.as_str()),
        });
        h.event(Event::DispositionSaved {
            agent: AgentId::from(agent.as_str()),
        });
    }
    assert_eq!(offered, ["a", "b", "c", "a"]);
}

#[test]
fn ring_all_rings_everyone_and_the_first_answer_wins() {
    let mut h = Harness::new(vec![queue(
        "q",
        Strategy::RingAll,
        &[("a", 0), ("b", 0), ("c", 1)],
    )]);
    h.login(&["a", "b", "c"]);
    assert_eq!(
        h.event(queued("c1", "q")),
        ["offer c1 a", "offer c1 b"],
        "only the lowest penalty"
    );
    assert_eq!(
        h.event(answered("c1", "b")),
        ["cancel c1 a", "leave c1 answered b"]
    );
    assert_eq!(
        (h.state("a"), h.state("b"), h.state("c")),
        ("ready", "on-call", "ready")
    );
}

#[test]
fn fewest_calls_and_penalties_order_the_agents() {
    let mut h = Harness::new(vec![queue(
        "q",
        Strategy::FewestCalls,
        &[("busy", 0), ("fresh", 0), ("backup", 5)],
    )]);
    h.login(&["busy", "fresh", "backup"]);
    h.event(Event::Paused {
        agent: AgentId::from("fresh"),
        reason: "x".into(),
    });
    h.event(queued("c1", "q"));
    h.event(answered("c1", "busy"));
    h.event(Event::AgentHungUp {
        call: CallId::from("c1"),
    });
    h.event(Event::DispositionSaved {
        agent: AgentId::from("busy"),
    });
    h.event(Event::Unpaused {
        agent: AgentId::from("fresh"),
    });
    assert_eq!(h.event(queued("c2", "q")), ["offer c2 fresh"]);
    h.event(Event::Paused {
        agent: AgentId::from("busy"),
        reason: "x".into(),
    });
    assert_eq!(
        h.event(queued("c3", "q")),
        ["offer c3 backup"],
        "penalty 5 only when nobody better is able"
    );
}

#[test]
fn skill_based_routing_prefers_the_best_match_and_never_the_unqualified() {
    let mut skills = BTreeMap::new();
    skills.insert(
        AgentId::from("novice"),
        BTreeMap::from([("spanish".to_owned(), 3)]),
    );
    skills.insert(
        AgentId::from("expert"),
        BTreeMap::from([("spanish".to_owned(), 9)]),
    );
    let config = AcdConfig {
        queues: vec![queue(
            "q",
            Strategy::SkillBased,
            &[("novice", 0), ("expert", 0), ("none", 0)],
        )],
        skills,
        ..AcdConfig::default()
    };
    let mut h = Harness::with(config);
    h.login(&["novice", "expert", "none"]);
    let spanish = |call: &str, level: u8| Event::CallQueued {
        call: CallId::from(call),
        queue: QueueId::from("q"),
        priority: 0,
        skills: vec![("spanish".to_owned(), level)],
    };
    assert_eq!(h.event(spanish("c1", 2)), ["offer c1 expert"]);
    assert_eq!(
        h.event(spanish("c2", 5)),
        Vec::<String>::new(),
        "the novice is not good enough"
    );
    assert_eq!(
        h.event(spanish("c3", 1)),
        ["offer c3 novice"],
        "a later call the novice can take"
    );
}

#[test]
fn an_agent_in_two_queues_takes_the_caller_who_waited_longest() {
    let mut h = Harness::new(vec![
        queue("a", Strategy::LongestIdle, &[("ana", 0)]),
        queue("b", Strategy::LongestIdle, &[("ana", 0)]),
    ]);
    h.login(&["ana"]);
    h.event(Event::Paused {
        agent: AgentId::from("ana"),
        reason: "x".into(),
    });
    h.at(1).event(queued("early", "b"));
    h.at(2).event(queued("late", "a"));
    assert_eq!(
        h.at(3).event(Event::Unpaused {
            agent: AgentId::from("ana")
        }),
        ["offer early ana"]
    );
}

#[test]
fn logging_out_or_a_failing_phone_never_leaves_an_agent_reserved() {
    let mut h = Harness::new(vec![queue(
        "q",
        Strategy::LongestIdle,
        &[("a", 0), ("b", 0)],
    )]);
    h.at(0).login(&["a"]);
    h.at(1).login(&["b"]);
    h.event(queued("c1", "q"));
    assert_eq!(
        h.event(Event::LoggedOut {
            agent: AgentId::from("a")
        }),
        ["cancel c1 a", "offer c1 b"]
    );
    assert_eq!(h.state("a"), "logged-out");
    assert_eq!(
        h.event(Event::OfferFailed {
            call: CallId::from("c1"),
            agent: AgentId::from("b")
        }),
        ["cancel c1 b"]
    );
    assert_eq!(h.state("b"), "paused");
    assert_eq!(h.acd.offers_of(&CallId::from("c1")), Vec::<AgentId>::new());
    assert_eq!(h.acd.waiting_count(), 1, "the caller still waits");
}

#[test]
fn refused_input_changes_nothing() {
    let mut h = Harness::new(vec![queue("q", Strategy::LongestIdle, &[("a", 0)])]);
    h.login(&["a"]);
    h.event(queued("c1", "q"));
    h.event(answered("c1", "a"));
    let before = h.acd.agent(&AgentId::from("a")).map(|a| a.history.len());
    for (event, error) in [
        (
            Event::Paused {
                agent: AgentId::from("a"),
                reason: "x".into(),
            },
            "cannot pause while on a call",
        ),
        (
            Event::LoggedOut {
                agent: AgentId::from("a"),
            },
            "cannot log out while on a call",
        ),
        (queued("c2", "nope"), "no queue `nope`"),
        (queued("c1", "q"), "already in a queue"),
        (
            Event::Unpaused {
                agent: AgentId::from("ghost"),
            },
            "cannot unpause while logged out",
        ),
    ] {
        let refused = h.acd.handle(event, Instant(5));
        assert!(
            refused
                .as_ref()
                .is_err_and(|e| e.to_string().contains(error)),
            "{refused:?}"
        );
        assert_eq!(h.acd.poll_command(), None);
    }
    assert_eq!(
        h.acd.agent(&AgentId::from("a")).map(|a| a.history.len()),
        before
    );
    assert_eq!(h.state("a"), "on-call");
}

#[test]
fn callers_hear_their_position_and_an_estimate_once_calls_were_answered() {
    let mut sales = queue("sales", Strategy::LongestIdle, &[("ana", 0)]);
    sales.announce_every_ms = Some(30_000);
    let mut h = Harness::new(vec![sales]);
    h.login(&["ana"]);
    h.at(0).event(queued("c0", "sales"));
    h.at(20_000).event(answered("c0", "ana"));
    h.at(21_000).event(queued("c1", "sales"));
    h.at(22_000).event(queued("c2", "sales"));
    assert_eq!(h.advance_to(51_000), ["announce c1 1 Some(20000)"]);
    assert_eq!(h.advance_to(52_000), ["announce c2 2 Some(40000)"]);
}

// --- property test ----------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Step {
    LogIn(u8),
    LogOut(u8),
    Pause(u8),
    Unpause(u8),
    Queue(u8, u8, i8),
    CallerHangsUp(u8),
    Ringing(u8),
    Answer(u8),
    Fail(u8),
    AgentHangsUp(u8),
    Disposition(u8),
    Wait(u16),
}

fn step() -> impl proptest::strategy::Strategy<Value = Step> {
    prop_oneof![
        (0..6u8).prop_map(Step::LogIn),
        (0..6u8).prop_map(Step::LogOut),
        (0..6u8).prop_map(Step::Pause),
        (0..6u8).prop_map(Step::Unpause),
        (0..20u8, 0..3u8, -2..3i8).prop_map(|(c, q, p)| Step::Queue(c, q, p)),
        (0..20u8).prop_map(Step::CallerHangsUp),
        (0..6u8).prop_map(Step::Ringing),
        (0..6u8).prop_map(Step::Answer),
        (0..6u8).prop_map(Step::Fail),
        (0..20u8).prop_map(Step::AgentHangsUp),
        (0..6u8).prop_map(Step::Disposition),
        (0..40_000u16).prop_map(Step::Wait),
    ]
}

fn property_config(misses: u32) -> AcdConfig {
    let strategies = [
        Strategy::LongestIdle,
        Strategy::RingAll,
        Strategy::RoundRobin,
    ];
    let mut queues = Vec::new();
    for (index, strategy) in strategies.into_iter().enumerate() {
        let members: Vec<(String, u32)> = (0..6)
            .filter(|a| (a + index) % 3 != 0)
            .map(|a| (format!("a{a}"), (a % 2) as u32))
            .collect();
        let refs: Vec<(&str, u32)> = members.iter().map(|(a, p)| (a.as_str(), *p)).collect();
        let mut q = queue(&format!("q{index}"), strategy, &refs);
        q.max_wait_ms = 20_000 + index as u64 * 10_000;
        q.ring_timeout_ms = 5_000;
        q.wrap_up_ms = 3_000 * index as u64;
        q.max_length = Some(4);
        q.announce_every_ms = Some(7_000);
        q.overflow = if index == 0 {
            Overflow::Queue(QueueId::from("q1"))
        } else {
            Overflow::Flow
        };
        queues.push(q);
    }
    AcdConfig {
        queues,
        auto_pause_after_misses: misses,
        ..AcdConfig::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
    #[test]
    fn random_events_keep_every_guarantee(steps in proptest::collection::vec(step(), 1..150), misses in 0..3u32) {
        let mut acd = Acd::new(property_config(misses));
        let mut now = 0u64;
        let mut queued: BTreeSet<String> = BTreeSet::new();
        let mut finished: BTreeSet<String> = BTreeSet::new();
        let mut offers: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut last_offer: BTreeMap<String, String> = BTreeMap::new();
        let agent = |i: u8| AgentId(format!("a{i}"));
        let call = |i: u8| CallId(format!("c{i}"));
        for step in steps {
            let event = match step {
                Step::LogIn(a) => Some(Event::LoggedIn { agent: agent(a) }),
                Step::LogOut(a) => Some(Event::LoggedOut { agent: agent(a) }),
                Step::Pause(a) => Some(Event::Paused { agent: agent(a), reason: "p".into() }),
                Step::Unpause(a) => Some(Event::Unpaused { agent: agent(a) }),
                Step::Queue(c, q, p) => Some(Event::CallQueued { call: call(c), queue: QueueId(format!("q{q}")), priority: i64::from(p), skills: Vec::new() }),
                Step::CallerHangsUp(c) => Some(Event::CallerHungUp { call: call(c) }),
                Step::Ringing(a) | Step::Answer(a) | Step::Fail(a) => {
                    last_offer.get(&format!("a{a}")).cloned().map(|c| {
                        let (call, agent) = (CallId(c), agent(a));
                        match step {
                            Step::Ringing(_) => Event::AgentRinging { call, agent },
                            Step::Answer(_) => Event::AgentAnswered { call, agent },
                            _ => Event::OfferFailed { call, agent },
                        }
                    })
                }
                Step::AgentHangsUp(c) => Some(Event::AgentHungUp { call: call(c) }),
                Step::Disposition(a) => Some(Event::DispositionSaved { agent: agent(a) }),
                Step::Wait(ms) => {
                    now += u64::from(ms);
                    acd.handle_timeout(Instant(now));
                    None
                }
            };
            if let Some(event) = event {
                let is_queue = match &event { Event::CallQueued { call, .. } => Some(call.0.clone()), _ => None };
                let is_hangup = match &event { Event::CallerHungUp { call } => Some(call.0.clone()), _ => None };
                let accepted = acd.handle(event, Instant(now)).is_ok();
                if accepted && let Some(c) = is_queue { prop_assert!(!queued.contains(&c) || finished.contains(&c)); queued.insert(c.clone()); finished.remove(&c); }
                if let Some(c) = is_hangup && queued.contains(&c) && !finished.contains(&c) && !acd.waiting_in_any(&CallId(c.clone())) { finished.insert(c); }
            }
            while let Some(command) = acd.poll_command() {
                match command {
                    Command::Offer { call, agent, .. } => {
                        prop_assert!(offers.entry(agent.0.clone()).or_default().insert(call.0.clone()), "offered twice");
                        prop_assert_eq!(offers[&agent.0].len(), 1, "an agent rings for one call at a time");
                        last_offer.insert(agent.0, call.0);
                    }
                    Command::CancelOffer { call, agent } => {
                        if let Some(set) = offers.get_mut(&agent.0) { set.remove(&call.0); }
                    }
                    Command::Leave { call, result } => {
                        prop_assert!(!finished.contains(&call.0), "a caller left twice: {}", call.0);
                        finished.insert(call.0.clone());
                        if let QueueResult::Answered { agent } = result
                            && let Some(set) = offers.get_mut(&agent.0)
                        {
                            set.remove(&call.0);
                        }
                    }
                    _ => {}
                }
            }
            // No agent is reserved or ringing past its ring timeout, and every offered agent
            // is reserved or ringing for exactly that call.
            for a in acd.agents() {
                if let Some(c) = a.state.offered_call() {
                    prop_assert!(acd.offers_of(c).contains(&a.id), "{} reserved for {} without an offer", a.id, c);
                }
            }
            if let Some(next) = acd.poll_timeout() {
                prop_assert!(next.0 > now, "a timer due now was not fired");
            }
            let ring_all = |c: &CallId| acd.waiting_queue_strategy(c) == Some(Strategy::RingAll);
            for c in acd.waiting_calls() {
                prop_assert!(acd.offers_of(&c).len() <= 1 || ring_all(&c), "{} rings several agents", c);
            }
        }
        // Let all time run out (overflow starts a new wait, so follow the timers): nobody is
        // left waiting or ringing.
        let mut rounds = 0;
        while let Some(next) = acd.poll_timeout() {
            rounds += 1;
            prop_assert!(rounds < 10_000, "timers never run out");
            acd.handle_timeout(next);
            while acd.poll_command().is_some() {}
        }
        prop_assert_eq!(acd.waiting_count(), 0);
        for a in acd.agents() {
            prop_assert!(a.state.offered_call().is_none(), "{} still {}", a.id, a.state.name());
        }
    }
}

#[test]
fn a_pause_reason_outside_the_configured_list_is_refused_and_changes_nothing() {
    let mut h = Harness::with(AcdConfig {
        queues: vec![queue("sales", Strategy::LongestIdle, &[("ana", 0)])],
        pause_reasons: vec!["lunch".into(), "training".into()],
        ..AcdConfig::default()
    });
    h.login(&["ana"]);
    let refused = h.acd.handle(
        Event::Paused {
            agent: AgentId::from("ana"),
            reason: "nap".into(),
        },
        Instant(5),
    );
    assert_eq!(refused, Err(AcdError::UnknownPauseReason("nap".into())));
    assert_eq!(h.state("ana"), "ready");
    assert!(
        h.acd.poll_command().is_none(),
        "a refused pause emits nothing"
    );
    h.event(Event::Paused {
        agent: AgentId::from("ana"),
        reason: "training".into(),
    });
    assert_eq!(h.state("ana"), "paused");
}

#[test]
fn queue_waits_count_callers_and_their_longest_wait_per_queue() {
    let mut h = Harness::new(vec![
        queue("sales", Strategy::LongestIdle, &[("ana", 0)]),
        queue("support", Strategy::LongestIdle, &[("bia", 0)]),
    ]);
    h.login(&["ana", "bia"]);
    for agent in ["ana", "bia"] {
        h.event(Event::Paused {
            agent: AgentId::from(agent),
            reason: "lunch".into(),
        });
    }
    h.at(100).event(queued("c1", "sales"));
    h.at(250).event(queued("c2", "sales"));
    let waits = h.acd.queue_waits();
    assert_eq!(
        waits,
        [
            QueueWait {
                queue: QueueId::from("sales"),
                waiting: 2,
                oldest: Some(Instant(100)),
            },
            QueueWait {
                queue: QueueId::from("support"),
                waiting: 0,
                oldest: None,
            },
        ]
    );
    h.at(300).event(Event::CallerHungUp {
        call: CallId::from("c1"),
    });
    assert_eq!(h.acd.queue_waits()[0].oldest, Some(Instant(250)));
}

#[test]
fn reconfiguring_adds_members_who_take_waiting_callers_and_drops_callers_of_removed_queues() {
    let mut h = Harness::new(vec![
        queue("sales", Strategy::LongestIdle, &[("ana", 0)]),
        queue("support", Strategy::LongestIdle, &[("ana", 0)]),
    ]);
    h.login(&["ana"]);
    h.event(Event::Paused {
        agent: AgentId::from("ana"),
        reason: "lunch".into(),
    });
    h.at(10).event(queued("c1", "sales"));
    h.at(20).event(queued("c2", "support"));
    // bia joins sales; support is deleted.
    h.acd.reconfigure(
        AcdConfig {
            queues: vec![queue(
                "sales",
                Strategy::LongestIdle,
                &[("ana", 0), ("bia", 0)],
            )],
            ..AcdConfig::default()
        },
        Instant(30),
    );
    assert_eq!(h.commands(), ["leave c2 no-agents"]);
    assert_eq!(
        h.state("bia"),
        "logged-out",
        "a new member starts logged out"
    );
    assert_eq!(
        h.at(40).event(Event::LoggedIn {
            agent: AgentId::from("bia")
        }),
        ["offer c1 bia"]
    );
    assert!(
        h.acd
            .queue_waits()
            .iter()
            .all(|w| w.queue != QueueId::from("support"))
    );
}

#[test]
fn reconfiguring_away_the_last_logged_in_member_empties_the_queue() {
    let mut h = Harness::new(vec![queue("sales", Strategy::LongestIdle, &[("ana", 0)])]);
    h.login(&["ana"]);
    h.event(Event::Paused {
        agent: AgentId::from("ana"),
        reason: "lunch".into(),
    });
    h.at(10).event(queued("c1", "sales"));
    h.acd.reconfigure(
        AcdConfig {
            queues: vec![queue("sales", Strategy::LongestIdle, &[("bia", 0)])],
            ..AcdConfig::default()
        },
        Instant(20),
    );
    assert_eq!(h.commands(), ["leave c1 no-agents"]);
    assert_eq!(h.state("ana"), "paused", "the agent keeps their state");
}
