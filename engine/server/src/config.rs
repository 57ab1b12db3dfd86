//! Configuration of `ramal serve`: flags, each also read from the environment. The
//! defaults make the quick start work: loopback only, an SQLite file under `.data/`, the
//! repository's example flows imported on first start.

use clap::Args;
use std::fmt;
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
    /// The password of the first administrator (`admin`), used only when the database has
    /// no users. Read from `RAMAL_ADMIN_PASSWORD` alone — never a flag, since command lines
    /// are visible to every local user. Unset: a random password is generated and logged
    /// once.
    #[arg(skip = std::env::var("RAMAL_ADMIN_PASSWORD").ok().map(Secret::new))]
    pub admin_password: Option<Secret>,
}

/// A value that must not appear in logs: `Debug` prints `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }
    /// The value itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl Config {
    /// The database URL to open.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("ramal.db").display()))
    }
}
