//! `ramal node add|list`: custom node modules (WebAssembly components) in the registry.

use super::contacts::Database;
use anyhow::Context;
use clap::Subcommand;
use ramal_call::NodeModules;
use ramal_wasm::{HostConfig, NoHttp, WasmHost};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Subcommand)]
pub enum NodeCommand {
    /// Install a custom node: the component is compiled and its `describe()` read; flows
    /// can then pin its name and version. Installing the same file again does nothing; a
    /// different file with the same name and version is refused.
    Add {
        /// The component (`.wasm`), e.g. built with `cargo xtask components`.
        file: PathBuf,
        #[command(flatten)]
        database: Database,
    },
    /// List the installed custom nodes.
    List {
        #[command(flatten)]
        database: Database,
    },
}

pub fn run(command: NodeCommand) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        match command {
            NodeCommand::Add { file, database } => {
                let wasm =
                    std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
                let store = database.open().await?;
                let host = WasmHost::new(
                    HostConfig {
                        pooling: false,
                        ..HostConfig::default()
                    },
                    Arc::new(NoHttp),
                )?;
                let nodes = NodeModules::new(store, Arc::new(host));
                let module = nodes
                    .install(wasm, None, crate::api::now_ms())
                    .await
                    .with_context(|| format!("installing {}", file.display()))?;
                println!(
                    "installed {} {} ({} bytes, sha256 {}); ports: {}",
                    module.name,
                    module.version,
                    module.size,
                    module.hash,
                    ports(&module.description)
                );
                Ok(ExitCode::SUCCESS)
            }
            NodeCommand::List { database } => {
                let store = database.open().await?;
                for module in store.node_modules().await? {
                    println!(
                        "{} {}\t{}\tports: {}",
                        module.name,
                        module.version,
                        module.description["description"]
                            .as_str()
                            .unwrap_or_default(),
                        ports(&module.description)
                    );
                }
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}

fn ports(description: &serde_json::Value) -> String {
    description["ports"]
        .as_array()
        .map(|ports| {
            ports
                .iter()
                .filter_map(serde_json::Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}
