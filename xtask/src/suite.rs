//! `cargo xtask test` and `cargo xtask bench`.

use crate::install::{self, run};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The workspace root (xtask lives one level down). `cargo run` says where xtask's manifest
/// is at run time; the compile-time path is only a fallback, because one target directory
/// shared by two checkouts (CI's clone and a working copy) can hand either checkout an
/// xtask built in the other, and the commands would then run on the wrong tree.
pub fn root() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

pub fn cargo() -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(root());
    command
}

struct Stage {
    name: &'static str,
    started: Instant,
}

fn stage(name: &'static str) -> Stage {
    eprintln!("\n==> {name}");
    Stage {
        name,
        started: Instant::now(),
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        eprintln!(
            "<== {} ({:.1}s)",
            self.name,
            self.started.elapsed().as_secs_f64()
        );
    }
}

/// Every test suite.
pub fn test() -> anyhow::Result<()> {
    {
        let _stage = stage("install what the tests need");
        install::rust_targets(&["wasm32-unknown-unknown", "wasm32-wasip1"])?;
        // Node runs the flow crate's tests compiled to WebAssembly (WASI); espeak-ng is the
        // TTS engine the media tests synthesize speech with; Chromium and chromedriver run
        // the editor's browser tests; baresip is a real softphone registered as an agent.
        install::debian_packages(&[
            ("node", "nodejs"),
            ("espeak-ng", "espeak-ng"),
            ("sipp", "sip-tester"),
            ("baresip", "baresip-core"),
            ("chromium", "chromium"),
            ("chromedriver", "chromium-driver"),
        ])?;
    }
    {
        let _stage = stage("formatting");
        run(cargo().args(["fmt", "--all", "--check"]))?;
    }
    {
        let _stage = stage("lints");
        run(cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))?;
    }
    {
        let _stage = stage("custom-node components (guest-sdk, wasm32 -> component)");
        crate::components::build()?;
    }
    {
        // Before the native tests: the browser tests among them load flow-editor/dist.
        let _stage = stage("the editor (wasm32): lints and build");
        run(cargo().args([
            "clippy",
            "-p",
            "ramal-editor",
            "--target",
            "wasm32-unknown-unknown",
            "--",
            "-D",
            "warnings",
        ]))?;
        crate::editor::build()?;
    }
    {
        let _stage = stage("native tests (every crate, flow scripts, tidy)");
        run(cargo().args(["test", "--workspace"]))?;
    }
    {
        let _stage = stage("ramal-flow on wasm32: builds for the browser, tests under WASI");
        run(cargo().args([
            "build",
            "-p",
            "ramal-flow",
            "--target",
            "wasm32-unknown-unknown",
        ]))?;
        let runner = root().join("xtask/wasi-runner.mjs");
        run(cargo()
            .args(["test", "-p", "ramal-flow", "--target", "wasm32-wasip1"])
            .env(
                "CARGO_TARGET_WASM32_WASIP1_RUNNER",
                format!("node {}", runner.display()),
            ))?;
    }
    {
        let _stage = stage("the CLI on the example flows");
        run(cargo().args(["run", "-q", "-p", "ramal", "--", "flow", "check", "flows"]))?;
        run(cargo().args(["run", "-q", "-p", "ramal", "--", "flow", "test", "flows"]))?;
    }
    eprintln!("\nall suites passed");
    Ok(())
}

/// The benchmarks.
pub fn bench() -> anyhow::Result<()> {
    let _stage = stage("benchmarks");
    run(cargo().args(["bench", "-p", "ramal-flow", "--bench", "executor"]))?;
    // Custom nodes: instantiate + run of a real component, pooling vs on-demand.
    crate::components::build()?;
    run(cargo().args(["bench", "-p", "ramal-wasm", "--bench", "runs"]))?;
    // The ACD: routing decisions per second (1000 agents, 50 queues), then a queued caller
    // to the agent's INVITE on loopback through the real call engine.
    run(cargo().args(["bench", "-p", "ramal-acd", "--bench", "routing"]))?;
    run(cargo().args(["bench", "-p", "ramal-call", "--bench", "queue_latency"]))?;
    // The API under load on loopback, against /healthz in the same run.
    run(cargo().args(["bench", "-p", "ramal", "--bench", "api_latency"]))
}
