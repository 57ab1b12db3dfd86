//! The command line.

mod contacts;
mod flow;
mod node;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Ramal: a WebAssembly-scriptable call-flow engine.
#[derive(Debug, Parser)]
#[command(name = "ramal", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run Ramal: load the flows and serve the HTTP API.
    Serve(crate::config::Config),
    /// Work with flow documents: check, test, run, schema.
    #[command(subcommand)]
    Flow(flow::FlowCommand),
    /// Contact lists: import a CSV file, list them.
    #[command(subcommand)]
    Contacts(contacts::ContactsCommand),
    /// Custom nodes (WebAssembly components): install one, list them.
    #[command(subcommand)]
    Node(node::NodeCommand),
}

/// Runs the command line; the exit code says whether it succeeded.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Flow(command) => flow::run(command),
        Command::Contacts(command) => contacts::run(command),
        Command::Node(command) => node::run(command),
        Command::Serve(config) => serve(config.with_default_editor()),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn serve(config: crate::config::Config) -> anyhow::Result<ExitCode> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(usize::from(config.worker_threads))
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(config.http)
            .await
            .map_err(|error| anyhow::anyhow!("cannot listen on {}: {error}", config.http))?;
        crate::server::run(config, listener, crate::server::shutdown_signal()).await
    })?;
    Ok(ExitCode::SUCCESS)
}
