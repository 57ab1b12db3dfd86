//! Routing decisions per second in the pure ACD: 1000 agents, 50 queues of 40 members
//! (each agent in two queues), longest-idle. (`cargo bench -p ramal-acd`)
//!
//! - "route one call": queue a caller while agents are free → offer → answer → the agent
//!   hangs up → disposition (ready again). One routing decision per iteration.
//! - "drain a backlog": 500 callers wait and all agents are paused; agents unpause one by
//!   one, each taking the longest-waiting caller they can serve.

use criterion::{BatchSize, Criterion};
use ramal_acd::{
    Acd, AcdConfig, AgentId, CallId, Command, Event, Instant, Member, Overflow, QueueConfig,
    QueueId, Strategy,
};
use std::hint::black_box;

const AGENTS: usize = 1000;
const QUEUES: usize = 50;

fn config() -> AcdConfig {
    let queues = (0..QUEUES)
        .map(|q| QueueConfig {
            id: QueueId(format!("q{q}")),
            strategy: Strategy::LongestIdle,
            // Agent a is in queues a % 50 and (a + 25) % 50: 40 members per queue.
            members: (0..AGENTS)
                .filter(|a| a % QUEUES == q || (a + QUEUES / 2) % QUEUES == q)
                .map(|a| Member {
                    agent: AgentId(format!("a{a}")),
                    penalty: 0,
                })
                .collect(),
            max_wait_ms: 600_000,
            max_length: None,
            ring_timeout_ms: 15_000,
            wrap_up_ms: 0,
            overflow: Overflow::Flow,
            announce_every_ms: None,
        })
        .collect();
    AcdConfig {
        queues,
        ..AcdConfig::default()
    }
}

fn ready_acd() -> Acd {
    let mut acd = Acd::new(config());
    for a in 0..AGENTS {
        acd.handle(
            Event::LoggedIn {
                agent: AgentId(format!("a{a}")),
            },
            Instant(a as u64),
        )
        .expect("log in");
    }
    while acd.poll_command().is_some() {}
    acd
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    let mut acd = ready_acd();
    let mut n: u64 = 0;
    criterion.bench_function("route one call (1000 agents, 50 queues)", |b| {
        b.iter(|| {
            n += 1;
            let now = Instant(10_000 + n);
            let call = CallId(format!("c{n}"));
            acd.handle(
                Event::CallQueued {
                    call: call.clone(),
                    queue: QueueId(format!("q{}", n % QUEUES as u64)),
                    priority: 0,
                    skills: Vec::new(),
                },
                now,
            )
            .expect("queued");
            let mut agent = None;
            while let Some(command) = acd.poll_command() {
                if let Command::Offer { agent: offered, .. } = command {
                    agent = Some(offered);
                }
            }
            let agent = agent.expect("a free agent is offered");
            acd.handle(
                Event::AgentAnswered {
                    call: call.clone(),
                    agent: agent.clone(),
                },
                now,
            )
            .expect("answer");
            acd.handle(Event::AgentHungUp { call }, now)
                .expect("hang up");
            while acd.poll_command().is_some() {}
            black_box(agent)
        })
    });
    criterion.bench_function(
        "drain a backlog of 500 callers (1000 agents, 50 queues)",
        |b| {
            b.iter_batched(
                || {
                    let mut acd = ready_acd();
                    for a in 0..AGENTS {
                        acd.handle(
                            Event::Paused {
                                agent: AgentId(format!("a{a}")),
                                reason: "x".into(),
                            },
                            Instant(5_000),
                        )
                        .expect("pause");
                    }
                    for c in 0..500 {
                        acd.handle(
                            Event::CallQueued {
                                call: CallId(format!("c{c}")),
                                queue: QueueId(format!("q{}", c % QUEUES)),
                                priority: 0,
                                skills: Vec::new(),
                            },
                            Instant(6_000 + c as u64),
                        )
                        .expect("queued");
                    }
                    while acd.poll_command().is_some() {}
                    acd
                },
                |mut acd| {
                    let mut offers = 0;
                    for a in 0..500 {
                        acd.handle(
                            Event::Unpaused {
                                agent: AgentId(format!("a{a}")),
                            },
                            Instant(10_000),
                        )
                        .expect("unpause");
                        while let Some(command) = acd.poll_command() {
                            if matches!(command, Command::Offer { .. }) {
                                offers += 1;
                            }
                        }
                    }
                    black_box(offers)
                },
                BatchSize::LargeInput,
            )
        },
    );
    criterion.final_summary();
}
