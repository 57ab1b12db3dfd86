//! Executor benchmarks (`cargo bench -p ramal-flow --bench executor`, or `cargo xtask bench`).
//!
//! - pure node steps: a chain of `condition` nodes, against a straw-man executor (an enum
//!   match over a node vector with a hash-map of integers) measured in the same run;
//! - a whole IVR call through the reception flow, driven by events;
//! - memory per idle call (waiting in a menu), counted by a global allocator;
//! - read + validate + compile a 500-node flow.
//!
//! Goals (issue 2): ≤ 100 ns per pure step, ≤ 10 µs per IVR call, ≤ 4 KiB per idle call,
//! ≤ 5 ms to validate a 500-node flow.

use criterion::{BatchSize, Criterion};
use ramal_flow::execution::{CallInfo, Command, Event, Execution, QueueOutcome};
use ramal_flow::sim::FlowSet;
use ramal_flow::{Environment, Instant, compile_json};
use serde_json::json;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use std::alloc::System;
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;

#[global_allocator]
static ALLOCATOR: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const CHAIN: usize = 200;

/// start → `length` conditions (`tries < 3`, all true) → hangup.
fn chain_flow(length: usize) -> String {
    let first = if length == 0 { "end" } else { "c0" };
    let mut nodes = vec![json!({"id": "start", "kind": "start", "ports": {"next": first}})];
    for i in 0..length {
        let next = if i + 1 == length {
            "end".to_owned()
        } else {
            format!("c{}", i + 1)
        };
        nodes.push(
            json!({"id": format!("c{i}"), "kind": "condition", "params": {"expr": "tries < 3"},
            "ports": {"true": next, "false": "end", "error": "end"}}),
        );
    }
    nodes.push(json!({"id": "end", "kind": "hangup"}));
    json!({"schema": "ramal.flow/v1", "id": "chain", "name": "chain",
        "variables": {"tries": {"default": 1}}, "nodes": nodes})
    .to_string()
}

/// A flow of `n` nodes: blocks of play → menu → condition → set-variables → queue.
fn big_flow(n: usize) -> String {
    let blocks = n / 5;
    let mut nodes = vec![json!({"id": "start", "kind": "start", "ports": {"next": "p0"}})];
    for b in 0..blocks {
        let next = if b + 1 == blocks {
            "end".to_owned()
        } else {
            format!("p{}", b + 1)
        };
        nodes.push(json!({"id": format!("p{b}"), "kind": "play", "params": {"prompt": {"tts": format!("Olá {{{{ contact.name }}}}, bloco {b}")}}, "ports": {"next": format!("m{b}")}}));
        nodes.push(json!({"id": format!("m{b}"), "kind": "menu", "params": {"prompt": {"file": "menu.wav"}, "options": {"1": "a", "2": "b"}},
            "ports": {"1": format!("c{b}"), "2": format!("q{b}"), "no-input": next, "invalid": next}}));
        nodes.push(json!({"id": format!("c{b}"), "kind": "condition", "params": {"expr": "tries < 3 && contact.vip == true"},
            "ports": {"true": format!("s{b}"), "false": next, "error": next}}));
        nodes.push(json!({"id": format!("s{b}"), "kind": "set-variables", "params": {"assign": {"tries": "tries + 1"}},
            "ports": {"next": next, "error": "end"}}));
        nodes.push(
            json!({"id": format!("q{b}"), "kind": "queue", "params": {"queue": "sales"},
            "ports": {"answered": "end", "timeout": next, "no-agents": next}}),
        );
    }
    nodes.push(json!({"id": "end", "kind": "hangup"}));
    json!({"schema": "ramal.flow/v1", "id": "big", "name": "big", "variables": {"tries": {"default": 0}}, "nodes": nodes}).to_string()
}

fn reception() -> Arc<ramal_flow::Flow> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../flows");
    let read = |name: &str| {
        (
            name.to_owned(),
            std::fs::read_to_string(dir.join(name)).expect("example flow"),
        )
    };
    let set = FlowSet::compile(&[read("survey.json"), read("reception.json")]);
    set.flow_of("reception.json")
        .expect("reception compiles")
        .clone()
}

fn call() -> CallInfo {
    CallInfo {
        call_id: "c1".into(),
        caller: "+5511999990000".into(),
        callee: "4000".into(),
        started_at_unix_ms: 1_736_168_400_000,
        ..CallInfo::default()
    }
}

/// One whole IVR call: welcome, menu, 1, agent, survey 5, thanks, hang-up.
fn ivr_call(flow: &Arc<ramal_flow::Flow>) -> usize {
    let mut t = 0;
    let mut execution = Execution::start(flow.clone(), call(), Instant::from_millis(t));
    let mut commands = 0;
    let mut last_id = None;
    let mut drain = |execution: &mut Execution, last_id: &mut Option<ramal_flow::CommandId>| {
        while let Some(command) = execution.poll_command() {
            commands += 1;
            if let Command::Play { id, .. } | Command::Enqueue { id, .. } = command {
                *last_id = Some(id);
            }
        }
    };
    drain(&mut execution, &mut last_id);
    let step = |execution: &mut Execution, event: Event, t: &mut u64| {
        *t += 1000;
        execution.handle(event, Instant::from_millis(*t));
    };
    if let Some(id) = last_id {
        step(&mut execution, Event::PromptFinished { id }, &mut t);
    }
    drain(&mut execution, &mut last_id);
    step(&mut execution, Event::Digit { digit: '1' }, &mut t);
    drain(&mut execution, &mut last_id);
    let queue = last_id;
    if let Some(id) = queue {
        step(
            &mut execution,
            Event::Connected {
                id,
                party: "alice".into(),
            },
            &mut t,
        );
        step(
            &mut execution,
            Event::QueueEnded {
                id,
                outcome: QueueOutcome::Answered,
            },
            &mut t,
        );
    }
    drain(&mut execution, &mut last_id);
    step(&mut execution, Event::Digit { digit: '5' }, &mut t);
    drain(&mut execution, &mut last_id);
    if let Some(id) = last_id {
        step(&mut execution, Event::PromptFinished { id }, &mut t);
    }
    drain(&mut execution, &mut last_id);
    assert!(
        execution.ending().is_some(),
        "the IVR call ends: {:?}",
        execution.trace()
    );
    commands
}

// --- the straw man: the least an executor could do per step ---------------------------
enum Straw {
    Cond {
        var: String,
        below: i64,
        yes: usize,
        no: usize,
    },
    End,
}
fn straw_run(nodes: &[Straw], vars: &HashMap<String, i64>) -> usize {
    let (mut at, mut steps) = (0, 0);
    while let Straw::Cond {
        var,
        below,
        yes,
        no,
    } = &nodes[at]
    {
        at = if vars.get(var).copied().unwrap_or(0) < *below {
            *yes
        } else {
            *no
        };
        steps += 1;
    }
    steps
}

fn memory_report(flow: &Arc<ramal_flow::Flow>) {
    const CALLS: usize = 10_000;
    let mut calls = Vec::with_capacity(CALLS);
    let region = Region::new(ALLOCATOR);
    for i in 0..CALLS {
        let mut execution = Execution::start(
            flow.clone(),
            CallInfo {
                call_id: format!("c{i}"),
                ..call()
            },
            Instant::from_millis(0),
        );
        let mut play = None;
        while let Some(command) = execution.poll_command() {
            if let Command::Play { id, .. } = command {
                play = Some(id);
            }
        }
        // Past the welcome: waiting in the menu, its prompt playing.
        if let Some(id) = play {
            execution.handle(Event::PromptFinished { id }, Instant::from_millis(2000));
        }
        while execution.poll_command().is_some() {}
        calls.push(execution);
    }
    let change = region.change();
    let total = change.bytes_allocated as isize - change.bytes_deallocated as isize;
    let per_call = total as f64 / CALLS as f64 + std::mem::size_of::<Execution>() as f64;
    println!(
        "memory per idle call (in the reception menu, {CALLS} calls): {per_call:.0} bytes \
        (heap {:.0} + inline {}) — goal ≤ 4096",
        total as f64 / CALLS as f64,
        std::mem::size_of::<Execution>()
    );
    drop(black_box(calls));
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    let chain = compile_json(&chain_flow(CHAIN), &Environment::default())
        .flow
        .expect("chain compiles");
    let empty = compile_json(&chain_flow(0), &Environment::default())
        .flow
        .expect("empty chain compiles");
    let flow = reception();
    memory_report(&flow);

    let mut straw_nodes: Vec<Straw> = (0..CHAIN)
        .map(|i| Straw::Cond {
            var: "tries".into(),
            below: 3,
            yes: i + 1,
            no: CHAIN,
        })
        .collect();
    straw_nodes.push(Straw::End);
    let straw_vars: HashMap<String, i64> = [("tries".to_owned(), 1)].into();

    let mut group = criterion.benchmark_group("pure steps");
    group.throughput(criterion::Throughput::Elements(CHAIN as u64));
    group.bench_function("ramal executor: 200 condition steps", |b| {
        b.iter(|| {
            let execution = Execution::start(chain.clone(), call(), Instant::from_millis(0));
            black_box(execution.trace_len())
        })
    });
    group.bench_function("ramal executor: 0 condition steps", |b| {
        b.iter(|| {
            let execution = Execution::start(empty.clone(), call(), Instant::from_millis(0));
            black_box(execution.trace_len())
        })
    });
    group.bench_function("straw man: 200 condition steps", |b| {
        b.iter(|| black_box(straw_run(&straw_nodes, &straw_vars)))
    });
    group.finish();

    let scope: serde_json::Map<String, serde_json::Value> = serde_json::from_value(json!({
        "attempts": 2, "call": {"caller": "+5511999990000", "queue": "support"},
        "contact": {"cpf": "123.456.789-09"}}))
    .unwrap_or_default();
    let mut expressions = criterion.benchmark_group("expressions");
    for source in [
        "attempts < 3",
        "call.caller.startsWith('+55') && attempts < 3",
        "digits(contact.cpf) == '12345678909'",
        "call.queue in ['sales', 'support', 'billing']",
    ] {
        let expr = ramal_flow::expr::Expr::compile(source).expect("benchmark expressions compile");
        expressions.bench_function(format!("evaluate {source}"), |b| {
            b.iter(|| black_box(expr.evaluate_bool(&scope)))
        });
        expressions.bench_function(format!("compile {source}"), |b| {
            b.iter(|| black_box(ramal_flow::expr::Expr::compile(black_box(source)).is_ok()))
        });
    }
    expressions.finish();

    criterion.bench_function("whole IVR call (reception: menu, agent, survey)", |b| {
        b.iter(|| black_box(ivr_call(&flow)))
    });

    let big = big_flow(500);
    let compiled = compile_json(&big, &Environment::default());
    assert!(
        !compiled.has_errors(),
        "{:?}",
        compiled.diagnostics.iter().take(3).collect::<Vec<_>>()
    );
    criterion.bench_function("read + validate + compile a 500-node flow", |b| {
        b.iter_batched(
            || big.clone(),
            |text| black_box(compile_json(&text, &Environment::default()).flow.is_some()),
            BatchSize::SmallInput,
        )
    });
    criterion.final_summary();
    ratio_summary();
}

/// Prints ours / straw-man per step from criterion's saved estimates of this run.
fn ratio_summary() {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let read = |name: &str| -> Option<f64> {
        let path = target
            .join("criterion/pure steps")
            .join(name)
            .join("new/estimates.json");
        let value: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
        value.pointer("/median/point_estimate")?.as_f64()
    };
    let (Some(ours), Some(setup), Some(straw)) = (
        read("ramal executor_ 200 condition steps"),
        read("ramal executor_ 0 condition steps"),
        read("straw man_ 200 condition steps"),
    ) else {
        return;
    };
    let per_step = (ours - setup) / CHAIN as f64;
    println!("start + hang-up without steps: {:.0} ns", setup);
    println!(
        "per pure step (200-step chain minus empty chain): ramal {per_step:.1} ns, straw man {:.1} ns, \
        ratio {:.2}x (goal ≤ 100 ns)",
        straw / CHAIN as f64,
        per_step / (straw / CHAIN as f64)
    );
}
