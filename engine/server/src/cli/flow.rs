//! `ramal flow check|test|run|schema`.

use crate::flows_dir::{self, Source};
use anyhow::Context;
use clap::Subcommand;
use ramal_flow::sim::{Script, Session, parse_step, run_script};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum FlowCommand {
    /// Validate flow documents; prints every diagnostic and exits 1 if any is an error.
    Check {
        /// Flow files or directories of them.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Run the call scripts (`<flow>.calls`) beside the flows in a directory.
    Test {
        /// The directory (default `flows`).
        #[arg(default_value = "flows")]
        dir: PathBuf,
    },
    /// Run a flow interactively: type keys and steps, see prompts and the path taken.
    Run {
        /// The flow file.
        file: PathBuf,
        /// Other flow files or directories it calls as subflows.
        #[arg(long = "with")]
        with: Vec<PathBuf>,
        /// Start time, e.g. 2025-03-03T10:00:00-03:00.
        #[arg(long)]
        at: Option<String>,
        /// Caller number.
        #[arg(long, default_value = "+5511999990000")]
        from: String,
        /// Contact fields, `name=value` (repeatable).
        #[arg(long = "contact")]
        contact: Vec<String>,
    },
    /// Print the JSON Schema of `ramal.flow/v1`.
    Schema,
}

pub fn run(command: FlowCommand) -> anyhow::Result<ExitCode> {
    match command {
        FlowCommand::Check { paths } => check(&paths),
        FlowCommand::Test { dir } => test(&dir),
        FlowCommand::Run {
            file,
            with,
            at,
            from,
            contact,
        } => interactive(&file, &with, at, &from, &contact),
        FlowCommand::Schema => {
            let schema = ramal_flow::schema::document_schema();
            println!("{}", serde_json::to_string_pretty(&schema)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn check(paths: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let sources = flows_dir::read_flows(paths)?;
    anyhow::ensure!(!sources.is_empty(), "no flow files (*.json) found");
    let set = flows_dir::compile(&sources);
    let mut errors = 0;
    let mut warnings = 0;
    for source in &sources {
        let name = source.path.display().to_string();
        let diagnostics = set
            .diagnostics
            .get(&name)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for diagnostic in diagnostics {
            if diagnostic.is_error() {
                errors += 1;
            } else {
                warnings += 1;
            }
            println!("{name}: {diagnostic}");
        }
        if set.flow_of(&name).is_some() {
            println!("{name}: ok");
        }
    }
    println!(
        "{} flows, {errors} errors, {warnings} warnings",
        sources.len()
    );
    Ok(if errors > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn test(dir: &Path) -> anyhow::Result<ExitCode> {
    let sources = flows_dir::read_flows(&[dir.to_path_buf()])?;
    let set = flows_dir::compile(&sources);
    let (mut passed, mut failed) = (0usize, 0usize);
    for source in &sources {
        let name = source.path.display().to_string();
        let script_path = source.path.with_extension("calls");
        let Some(flow) = set.flow_of(&name) else {
            println!("FAIL {name}: does not compile");
            for diagnostic in set.diagnostics.get(&name).into_iter().flatten() {
                println!("     {diagnostic}");
            }
            failed += 1;
            continue;
        };
        let Ok(text) = std::fs::read_to_string(&script_path) else {
            println!("     {name}: no call script ({})", script_path.display());
            continue;
        };
        let script = Script::parse(&text)
            .map_err(|error| anyhow::anyhow!("{}:{}", script_path.display(), error))?;
        for report in run_script(flow, &script) {
            if report.passed() {
                passed += 1;
                println!("ok   {}: {}", script_path.display(), report.name);
            } else {
                failed += 1;
                println!(
                    "FAIL {}",
                    report.explain(&script_path.display().to_string())
                );
            }
        }
    }
    println!("flow tests: {passed} passed, {failed} failed");
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn interactive(
    file: &Path,
    with: &[PathBuf],
    at: Option<String>,
    from: &str,
    contact: &[String],
) -> anyhow::Result<ExitCode> {
    let mut paths = vec![file.to_path_buf()];
    paths.extend(with.iter().cloned());
    let sources: Vec<Source> = flows_dir::read_flows(&paths)?;
    let set = flows_dir::compile(&sources);
    let name = file.display().to_string();
    for diagnostic in set.diagnostics.get(&name).into_iter().flatten() {
        println!("{diagnostic}");
    }
    let flow = set
        .flow_of(&name)
        .with_context(|| format!("{name} does not compile"))?;
    // The call header and contact are written in the script language and parsed by it.
    let mut header = format!("call \"interactive\" from {from}");
    if let Some(at) = at {
        header.push_str(&format!(" at {at}"));
    }
    for field in contact {
        header.push_str(&format!("\n  contact {field}"));
    }
    let script = Script::parse(&header).map_err(|error| anyhow::anyhow!("{error}"))?;
    let call = script.calls.first().context("no call")?;
    let mut session = Session::new(flow, call);
    println!(
        "Type keys (`1 2 3`), `wait 5s`, `http returns 200 {{}}`, `agent answers ana`, `hang up`, …;"
    );
    println!("an empty line lets time run to the next event; `quit` leaves.");
    show(&mut session);
    let stdin = std::io::stdin();
    loop {
        if session.execution().ending().is_some() {
            println!("-- the call ended: {:?}", session.execution().ending());
            break;
        }
        print!("{}> ", session.execution().current_node().unwrap_or("-"));
        std::io::stdout().flush()?;
        let mut line = String::new();
        if stdin.lock().read_line(&mut line)? == 0 {
            break;
        }
        let line = line.trim();
        if line == "quit" || line == "exit" {
            break;
        }
        if line.is_empty() {
            if !session.run_until_next() {
                println!("-- nothing happens until you do something");
            }
        } else {
            let step_text = if line
                .chars()
                .all(|c| c.is_ascii_digit() || "*#ABCD ".contains(c))
            {
                format!("press {line}")
            } else {
                line.to_owned()
            };
            match parse_step(&step_text) {
                Ok(step) => {
                    if let Err(message) = session.apply(&step) {
                        println!("-- {message}");
                    }
                }
                Err(message) => println!("-- {message}"),
            }
        }
        show(&mut session);
    }
    println!("path:");
    for step in session.execution().trace() {
        println!("  {step}");
    }
    Ok(ExitCode::SUCCESS)
}

fn show(session: &mut Session) {
    for line in session.take_transcript() {
        println!("   {line}");
    }
    session.forget_unexpected();
}
