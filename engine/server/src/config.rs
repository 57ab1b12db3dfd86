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
    /// SIP address (UDP and TCP on the same port) calls arrive on, or `off` for an API-only
    /// server.
    #[arg(long, env = "RAMAL_SIP", default_value = "127.0.0.1:5060")]
    pub sip: SipListen,
    /// RTP ports for calls' media, `FIRST-LAST` (even ports are used).
    #[arg(long, env = "RAMAL_RTP_PORTS", default_value = "20000-20999")]
    pub rtp_ports: PortRange,
    /// The flow that answers numbers without an inbound route.
    #[arg(long, env = "RAMAL_DEFAULT_FLOW", default_value = "reception")]
    pub default_flow: String,
    /// Prompt files that `play` nodes name (`"file": "welcome.wav"`).
    #[arg(long, env = "RAMAL_PROMPTS", default_value = "flows/prompts")]
    pub prompts: PathBuf,
    /// Concurrent calls; more are refused with 503 and Retry-After.
    #[arg(long, env = "RAMAL_MAX_CALLS", default_value_t = 500)]
    pub max_calls: usize,
    /// New SIP requests per second accepted from one address (bursts of twice as many);
    /// more are dropped. Size it to your trunk's call rate.
    #[arg(long, env = "RAMAL_SIP_RATE_LIMIT", default_value_t = 100)]
    pub sip_rate_limit: u32,
    /// Threads that run calls and API requests (the async runtime's workers). One (the
    /// default) is the cheapest per call: with two on a 2-core machine the idle one is woken
    /// for every hand-over between the SIP, call and media tasks, which cost 22-28% more CPU
    /// per call and dropped SIP datagrams at 2,400 calls/s (see ARCHITECTURE.md). One thread
    /// carries about 2,400 new calls/s or 3,000 calls with media; raise it beyond that.
    #[arg(long, env = "RAMAL_WORKER_THREADS", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub worker_threads: u16,

    /// The digest realm agents' phones register in (their SIP passwords are stored for
    /// it: changing it needs new passwords).
    #[arg(long, env = "RAMAL_SIP_REALM", default_value = "ramal")]
    pub sip_realm: String,

    /// The digest algorithms phones are challenged with, most preferred first (one
    /// challenge each). Clients should take the first they support, but some (older desk
    /// phones, sipp) take the first offered: list `MD5` alone or first for those.
    #[arg(long, env = "RAMAL_SIP_DIGEST", value_delimiter = ',', default_value = "SHA-256,MD5", value_parser = parse_algorithm)]
    pub sip_digest: Vec<ramal_sip::Algorithm>,
    /// The reasons agents may pause with, comma-separated (the console offers them; the
    /// ACD adds its own `missed-offers` and `phone-unreachable`).
    #[arg(long, env = "RAMAL_PAUSE_REASONS", value_delimiter = ',', default_value = DEFAULT_PAUSE_REASONS)]
    pub pause_reasons: Vec<String>,
    /// Hosts custom nodes may reach over HTTP, comma-separated: `crm.example.com`, or
    /// `*.example.com` for its subdomains. Empty: none.
    #[arg(long, env = "RAMAL_NODE_HTTP_ALLOW", value_delimiter = ',')]
    pub node_http_allow: Vec<String>,
    /// Wall-clock time a custom node's run may spend in WebAssembly, in milliseconds (a
    /// backstop: its CPU is bounded by fuel).
    #[arg(long, env = "RAMAL_NODE_TIME_BUDGET_MS", default_value_t = 100)]
    pub node_time_budget_ms: u64,
    /// The browser editor's files (built by `cargo xtask editor`), served at `/`; default:
    /// `flow-editor/dist` when it holds a built editor under the current directory.
    /// Without an editor, `/` lists the API (as `/api` always does).
    #[arg(long = "editor", env = "RAMAL_EDITOR_DIR", value_name = "DIR")]
    pub editor_dir: Option<PathBuf>,
}

/// Where `cargo xtask editor` puts the editor, relative to the repository.
pub const DEFAULT_EDITOR_DIR: &str = "flow-editor/dist";

/// Where SIP listens: an address, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SipListen(pub Option<SocketAddr>);

impl std::str::FromStr for SipListen {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.eq_ignore_ascii_case("off") {
            return Ok(SipListen(None));
        }
        text.parse()
            .map(|address| SipListen(Some(address)))
            .map_err(|_| format!("`{text}` is not `IP:PORT` or `off`"))
    }
}

/// An inclusive port range, `FIRST-LAST`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    /// First port.
    pub first: u16,
    /// Last port.
    pub last: u16,
}

impl std::str::FromStr for PortRange {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{text}` is not a port range like `20000-20999`");
        let (first, last) = text.split_once('-').ok_or_else(bad)?;
        let first: u16 = first.trim().parse().map_err(|_| bad())?;
        let last: u16 = last.trim().parse().map_err(|_| bad())?;
        if first == 0 || last < first.saturating_add(1) {
            return Err(format!(
                "`{text}`: the range needs at least two ports and may not start at 0"
            ));
        }
        Ok(PortRange { first, last })
    }
}

/// A digest algorithm by its RFC 8760 name (`MD5`, `SHA-256`, `MD5-sess`, `SHA-256-sess`).
fn parse_algorithm(name: &str) -> Result<ramal_sip::Algorithm, String> {
    ramal_sip::Algorithm::from_name(name.trim()).ok_or_else(|| {
        format!("`{name}` is not a digest algorithm (MD5, SHA-256, MD5-sess, SHA-256-sess)")
    })
}

/// A fresh key for the registrar's nonces (a restart makes outstanding nonces stale, and
/// phones simply answer the new challenge).
fn nonce_secret() -> Vec<u8> {
    let mut secret = vec![0u8; 32];
    if getrandom::fill(&mut secret).is_err() {
        // No OS randomness: nonces are then only as unguessable as the start time and the
        // process id — say so loudly.
        tracing::error!("no OS randomness for the registrar's nonce key");
        let seed = format!("{:?}/{}", std::time::SystemTime::now(), std::process::id());
        secret = seed.into_bytes();
    }
    secret
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

/// The pause reasons when none are configured.
pub const DEFAULT_PAUSE_REASONS: &str = "break,lunch,training,meeting,back-office";

impl Config {
    /// Defaults for everything but the directories — what tests and embedders start from.
    pub fn new(http: SocketAddr, flows: PathBuf, data_dir: PathBuf) -> Config {
        Config {
            http,
            flows,
            data_dir,
            database_url: None,
            admin_password: None,
            sip: SipListen(None),
            rtp_ports: PortRange {
                first: 20_000,
                last: 20_999,
            },
            default_flow: "reception".into(),
            prompts: PathBuf::from("flows/prompts"),
            max_calls: 500,
            sip_rate_limit: 100,
            worker_threads: 1,
            sip_realm: "ramal".into(),
            sip_digest: vec![ramal_sip::Algorithm::Sha256, ramal_sip::Algorithm::Md5],
            node_http_allow: Vec::new(),
            node_time_budget_ms: 100,
            editor_dir: None,
            pause_reasons: DEFAULT_PAUSE_REASONS
                .split(',')
                .map(str::to_owned)
                .collect(),
        }
    }

    /// Fills in the editor's default: [`DEFAULT_EDITOR_DIR`] under the current directory,
    /// when it holds an `index.html` (a built editor).
    pub fn with_default_editor(mut self) -> Config {
        if self.editor_dir.is_none() {
            let dir = PathBuf::from(DEFAULT_EDITOR_DIR);
            if dir.join("index.html").is_file() {
                self.editor_dir = Some(dir);
            }
        }
        self
    }

    /// The call engine's configuration, when SIP is on.
    pub fn calls(&self) -> Option<ramal_call::CallConfig> {
        let sip = self.sip.0?;
        Some(ramal_call::CallConfig {
            sip,
            rtp_ip: sip.ip(),
            rtp_ports: self.rtp_ports.first..=self.rtp_ports.last,
            default_flow: Some(self.default_flow.clone()),
            prompts_dir: self.prompts.clone(),
            tts_cache_dir: self.data_dir.join("tts-cache"),
            recordings_dir: self.data_dir.join("recordings"),
            max_calls: self.max_calls,
            requests_per_source: self.sip_rate_limit,
            nodes: self.nodes(),
            registrar: Some(ramal_sip::RegistrarConfig::new(ramal_sip::AuthConfig {
                algorithms: self.sip_digest.clone(),
                ..ramal_sip::AuthConfig::new(self.sip_realm.clone(), nonce_secret())
            })),
            ..ramal_call::CallConfig::default()
        })
    }

    /// The Wasm host's configuration for custom nodes.
    pub fn nodes(&self) -> ramal_wasm::HostConfig {
        let mut nodes = ramal_wasm::HostConfig {
            http_allowlist: self.node_http_allow.clone(),
            ..ramal_wasm::HostConfig::default()
        };
        nodes.limits.time_budget =
            std::time::Duration::from_millis(self.node_time_budget_ms.max(1));
        nodes
    }

    /// The database URL to open.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("ramal.db").display()))
    }
}

#[cfg(test)]
mod digest_tests {
    use super::parse_algorithm;

    #[test]
    fn digest_algorithms_parse_by_name_and_bad_names_are_clear_errors() {
        assert_eq!(parse_algorithm("MD5"), Ok(ramal_sip::Algorithm::Md5));
        assert_eq!(
            parse_algorithm(" SHA-256"),
            Ok(ramal_sip::Algorithm::Sha256)
        );
        let error = parse_algorithm("SHA-1").expect_err("not offered");
        assert!(error.contains("SHA-1") && error.contains("MD5"), "{error}");
    }
}
