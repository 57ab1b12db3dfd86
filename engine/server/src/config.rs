//! Configuration of `ramal serve`: flags, each also read from the environment. The
//! defaults make the quick start work: loopback only, an SQLite file under `.data/`, the
//! repository's example flows imported on first start.

use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;

/// How `ramal serve` runs.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address of the HTTP API.
    #[arg(long, env = "RAMAL_HTTP", default_value = "127.0.0.1:8080")]
    pub http: SocketAddr,
    /// Example flows (`*.json`) imported and published on first start.
    #[arg(long, env = "RAMAL_FLOWS", default_value = "flows")]
    pub flows: PathBuf,
    /// Where Ramal keeps its data (the SQLite file, recordings, the TTS cache).
    #[arg(long, env = "RAMAL_DATA", default_value = ".data")]
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; default: `sqlite://<data-dir>/ramal.db`.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
}

impl Config {
    /// The database URL to open.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("ramal.db").display()))
    }
}
