//! Hostile guests (`guest-sdk/fixtures/hostile`): each attack fails its own run quickly with
//! the right error, and the next run on the same module works.

mod common;

use common::{FakeHttp, host_with, load};
use ramal_wasm::{HostConfig, LoadError, NoHttp, RunError, RunInput, WasmHost};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn attack(
    host: &WasmHost,
    module: &ramal_wasm::LoadedModule,
    name: &str,
) -> (Result<ramal_wasm::NodeOutcome, RunError>, Duration) {
    let started = Instant::now();
    let result = host.run(
        module,
        &RunInput {
            call_id: "hostile-call".into(),
            params: json!({ "attack": name }),
            ..RunInput::default()
        },
    );
    (result, started.elapsed())
}

fn still_works(host: &WasmHost, module: &ramal_wasm::LoadedModule) {
    let (result, _) = attack(host, module, "none");
    let outcome = result.expect("the next run on the same module works");
    assert_eq!(outcome.port, "ok");
    assert_eq!(outcome.variables.get("fine"), Some(&json!(true)));
}

fn check(name: &str, adjust: impl FnOnce(&mut HostConfig), expected: impl Fn(&RunError) -> bool) {
    let host = host_with(Arc::new(NoHttp), adjust);
    let Some(module) = load(&host, "hostile") else {
        return;
    };
    let (result, took) = attack(&host, &module, name);
    match &result {
        Err(error) => assert!(expected(error), "{name}: unexpected error {error:?}"),
        Ok(outcome) => panic!("{name}: the attack succeeded: {outcome:?}"),
    }
    assert!(took < Duration::from_secs(2), "{name} took {took:?}");
    still_works(&host, &module);
}

#[test]
fn an_infinite_loop_burns_its_cpu_budget() {
    let host = host_with(Arc::new(NoHttp), |config| {
        config.limits.fuel = Some(10_000_000)
    });
    let Some(module) = load(&host, "hostile") else {
        return;
    };
    let (result, took) = attack(&host, &module, "loop");
    assert_eq!(result, Err(RunError::CpuLimit { fuel: 10_000_000 }));
    assert!(
        took < Duration::from_millis(500),
        "stopped only after {took:?}"
    );
    still_works(&host, &module);
}

#[test]
fn an_infinite_loop_without_a_fuel_budget_runs_out_of_wall_clock_time() {
    let budget = Duration::from_millis(20);
    let host = host_with(Arc::new(NoHttp), |config| {
        config.limits.time_budget = budget;
        config.limits.fuel = None;
    });
    let Some(module) = load(&host, "hostile") else {
        return;
    };
    let (result, took) = attack(&host, &module, "loop");
    assert_eq!(result, Err(RunError::Timeout { budget }));
    assert!(took >= budget, "stopped after {took:?}");
    assert!(
        took < Duration::from_millis(500),
        "stopped only after {took:?}"
    );
    still_works(&host, &module);
}

#[test]
fn a_gigabyte_allocation_hits_the_memory_limit() {
    check(
        "alloc",
        |_| {},
        |error| matches!(error, RunError::MemoryLimit { limit } if *limit == 32 << 20),
    );
}

#[test]
fn a_gigabyte_allocation_hits_the_memory_limit_without_the_pool_too() {
    check(
        "alloc",
        |config| config.pooling = false,
        |error| matches!(error, RunError::MemoryLimit { .. }),
    );
}

#[test]
fn unbounded_recursion_overflows_the_stack() {
    check(
        "recursion",
        |_| {},
        |error| *error == RunError::StackOverflow,
    );
}

#[test]
fn a_panic_is_a_trap() {
    check("trap", |_| {}, |error| matches!(error, RunError::Trap(_)));
}

#[test]
fn a_huge_output_is_refused() {
    // 4 MiB fits in the guest's 32 MiB, not in the 64 KiB outcome.
    check(
        "huge-output",
        |config| config.limits.fuel = None,
        |error| matches!(error, RunError::OutputTooLarge { .. }),
    );
}

#[test]
fn a_port_the_module_did_not_declare_is_a_malformed_outcome() {
    check(
        "bad-port",
        |_| {},
        |error| matches!(error, RunError::BadOutcome(_)),
    );
}

#[test]
fn a_host_not_on_the_allowlist_is_refused_before_any_request() {
    let http = FakeHttp::answering(200, "{}");
    let host = host_with(http.clone(), |_| {});
    let Some(module) = load(&host, "hostile") else {
        return;
    };
    let (result, _) = attack(&host, &module, "forbidden-host");
    let outcome = result.expect("the guest handles the refusal");
    let refusal = outcome
        .variables
        .get("http_error")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    assert!(
        refusal.contains("NotAllowed(\"evil.example.net\")"),
        "{refusal}"
    );
    assert!(http.seen.lock().unwrap().is_empty(), "nothing was sent");
    still_works(&host, &module);
}

#[test]
fn the_key_value_store_is_bounded() {
    let host = host_with(Arc::new(NoHttp), |_| {});
    let Some(module) = load(&host, "hostile") else {
        return;
    };
    let (result, _) = attack(&host, &module, "kv-flood");
    let outcome = result.expect("the guest sees the refusal");
    let refusal = outcome
        .variables
        .get("kv_error")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    assert!(refusal.ends_with("Full"), "{refusal}");
    // 1000 keys or 1 MiB, whichever comes first.
    let stored = outcome
        .variables
        .get("stored")
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    assert!((900..=1000).contains(&stored), "{stored}");
}

#[test]
fn garbage_and_core_modules_are_not_components() {
    let host = host_with(Arc::new(NoHttp), |_| {});
    assert!(matches!(
        host.load(b"not wasm at all"),
        Err(LoadError::Invalid(_))
    ));
    // The smallest core module: magic and version only.
    let core = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    assert!(matches!(host.load(&core), Err(LoadError::Invalid(_))));
}

#[test]
fn many_runs_in_parallel_on_one_module() {
    let host = Arc::new(host_with(Arc::new(NoHttp), |_| {}));
    let Some(module) = load(&host, "hostile") else {
        return;
    };
    let threads: Vec<_> = (0..4)
        .map(|thread| {
            let host = Arc::clone(&host);
            let module = Arc::clone(&module);
            std::thread::spawn(move || {
                for round in 0..25 {
                    let name = if (thread + round) % 5 == 0 {
                        "trap"
                    } else {
                        "none"
                    };
                    let (result, _) = attack(&host, &module, name);
                    assert_eq!(result.is_ok(), name == "none", "{name}: {result:?}");
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("no thread panicked");
    }
}
