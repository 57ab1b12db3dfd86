//! Instantiate + run latency of a real custom node (`cpf-check`, built by
//! `cargo xtask components`): a fresh instance per run, with and without the pooling
//! allocator, and with the optional fuel budget. Prints p50/p99 in µs and runs per second
//! on one core.
//!
//! `cargo bench -p ramal-wasm --bench runs` (or `cargo xtask bench`). `RUNS=N` changes the
//! number of measured runs (default 20 000).

use ramal_wasm::{HostConfig, NoHttp, RunInput, WasmHost};
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn component(name: &str) -> Vec<u8> {
    let dir = std::env::var_os("RAMAL_COMPONENTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let exe = std::env::current_exe().expect("the bench has a path");
            exe.ancestors()
                .nth(3)
                .expect("<target>/<profile>/deps/<bench>")
                .join("wasm32-unknown-unknown/components")
        });
    let path = dir.join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|error| {
        panic!(
            "{} is missing ({error}): run `cargo xtask components`",
            path.display()
        )
    })
}

struct Figures {
    p50: Duration,
    p99: Duration,
    max: Duration,
    per_second: f64,
}

fn measure(pooling: bool, fuel: Option<u64>, runs: usize, bytes: &[u8]) -> Figures {
    let mut config = HostConfig {
        pooling,
        ..HostConfig::default()
    };
    config.limits.fuel = fuel;
    let host = WasmHost::new(config, Arc::new(NoHttp)).expect("the host starts");
    let module = host.load(bytes).expect("cpf-check loads");
    let input = RunInput {
        call_id: "bench-call".into(),
        contact: json!({ "name": "Ana", "cpf": "529.982.247-25" })
            .as_object()
            .cloned()
            .unwrap_or_default(),
        params: json!({ "min_digits": 3 }),
        digits: "529".into(),
        ..RunInput::default()
    };
    for _ in 0..1000 {
        let outcome = host.run(&module, &input).expect("warm-up run");
        assert_eq!(outcome.port, "match");
    }
    let mut times = Vec::with_capacity(runs);
    let started = Instant::now();
    for _ in 0..runs {
        let run_started = Instant::now();
        let outcome = host.run(&module, &input);
        times.push(run_started.elapsed());
        assert!(outcome.is_ok(), "{outcome:?}");
    }
    let total = started.elapsed();
    times.sort_unstable();
    let at = |fraction: f64| times[((times.len() as f64 * fraction) as usize).min(times.len() - 1)];
    Figures {
        p50: at(0.50),
        p99: at(0.99),
        max: times[times.len() - 1],
        per_second: runs as f64 / total.as_secs_f64(),
    }
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is accepted.
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|runs| runs.parse().ok())
        .unwrap_or(20_000);
    let bytes = component("cpf-check");
    println!(
        "cpf-check ({} bytes): new store + instantiate from InstancePre + run + drop, {runs} runs, one thread",
        bytes.len()
    );
    println!();
    println!("| allocator | p50 µs | p99 µs | max µs | runs/s (one core) |");
    println!("|---|---:|---:|---:|---:|");
    for (name, pooling, fuel) in [
        ("pooling (default limits)", true, Some(10_000_000)),
        ("on-demand", false, Some(10_000_000)),
        ("pooling, no fuel budget", true, None),
    ] {
        let figures = measure(pooling, fuel, runs, &bytes);
        println!(
            "| {name} | {:.1} | {:.1} | {:.0} | {:.0} |",
            figures.p50.as_secs_f64() * 1e6,
            figures.p99.as_secs_f64() * 1e6,
            figures.max.as_secs_f64() * 1e6,
            figures.per_second
        );
    }
    println!();
    println!("goal for a fresh instance per run: p50 <= 15 us, p99 <= 60 us");
}
