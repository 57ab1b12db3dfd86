//! Runs every flow in `flows/` through its call scripts (`flows/<name>.calls`), and checks
//! that every flow compiles without errors. A failure names the script line and shows the
//! transcript and the trace.

use ramal_flow::sim::{FlowSet, Script, run_script};
use std::path::PathBuf;

fn flows_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../flows")
}

#[test]
fn every_example_flow_compiles_and_passes_its_call_scripts() {
    let dir = flows_dir();
    let mut sources = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("flows/ is part of the repository")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .collect();
    entries.sort();
    for path in &entries {
        if path.extension().is_some_and(|ext| ext == "json") {
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read_to_string(path).expect("readable flow");
            sources.push((name, text));
        }
    }
    assert!(sources.len() >= 4, "the four example flows are in flows/");
    let set = FlowSet::compile(&sources);
    let mut failures = Vec::new();
    for (name, diagnostics) in &set.diagnostics {
        for diagnostic in diagnostics {
            failures.push(format!("{name}: {diagnostic}"));
        }
    }
    let mut scripts = 0;
    let mut calls = 0;
    for (name, _) in &sources {
        let script_path = dir.join(name.replace(".json", ".calls"));
        let Ok(text) = std::fs::read_to_string(&script_path) else {
            failures.push(format!("{name} has no call script"));
            continue;
        };
        let script_name = script_path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let script = match Script::parse(&text) {
            Ok(script) => script,
            Err(error) => {
                failures.push(format!("{script_name}:{}: {}", error.line, error.message));
                continue;
            }
        };
        let Some(flow) = set.flow_of(name) else {
            failures.push(format!("{name} did not compile"));
            continue;
        };
        scripts += 1;
        for report in run_script(flow, &script) {
            calls += 1;
            if !report.passed() {
                failures.push(report.explain(&script_name));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        scripts >= 4 && calls >= 20,
        "ran {calls} calls from {scripts} scripts"
    );
}
