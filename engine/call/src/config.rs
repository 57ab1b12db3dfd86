//! How the call engine runs: where it listens, which ports media may use, which flow answers
//! numbers without a route, where prompts and the TTS cache live.

pub use ramal_store::RewriteRule;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration;

/// An outbound route: where transfers to numbers go, and how to authenticate there.
#[derive(Clone, PartialEq, Eq)]
pub struct TrunkConfig {
    /// Its name, as flows refer to it (`transfer.trunk`).
    pub name: String,
    /// Host name or address.
    pub host: String,
    /// SIP port.
    pub port: u16,
    /// UDP or TCP (a connection is opened on the first call and kept).
    pub transport: ramal_sip::Transport,
    /// Digest user name, when the trunk challenges.
    pub username: Option<String>,
    /// Digest password.
    pub password: Option<String>,
    /// The caller ID to show, unless the flow sets one.
    pub caller_id: Option<String>,
    /// How numbers are rewritten before dialling, in order.
    pub rewrite: Vec<RewriteRule>,
}

impl Default for TrunkConfig {
    fn default() -> Self {
        TrunkConfig {
            name: String::new(),
            host: String::new(),
            port: 5060,
            transport: ramal_sip::Transport::Udp,
            username: None,
            password: None,
            caller_id: None,
            rewrite: Vec::new(),
        }
    }
}

impl std::fmt::Debug for TrunkConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrunkConfig")
            .field("name", &self.name)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("transport", &self.transport)
            .field("username", &self.username)
            .field("caller_id", &self.caller_id)
            .field("rewrite", &self.rewrite)
            .finish_non_exhaustive()
    }
}

/// The call engine's settings. `Default` suits a loopback quick start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallConfig {
    /// The SIP address to bind (UDP, and TCP on the same port).
    pub sip: SocketAddr,
    /// The address to bind RTP sockets on and to put in SDP answers.
    pub rtp_ip: IpAddr,
    /// The RTP port range (even ports are used).
    pub rtp_ports: RangeInclusive<u16>,
    /// The flow that answers numbers without an inbound route. `None`: such calls get 404.
    pub default_flow: Option<String>,
    /// Directory of prompt files (`play` nodes' `file`), resolved without leaving it.
    pub prompts_dir: PathBuf,
    /// Where synthesized speech is cached.
    pub tts_cache_dir: PathBuf,
    /// Where call recordings (`record` nodes) are written, one WAV per call.
    pub recordings_dir: PathBuf,
    /// Outbound routes for transfers; the first is the default.
    pub trunks: Vec<TrunkConfig>,
    /// Answer REGISTERs from agents' phones with this registrar (digest realm, algorithms,
    /// expiry limits); `None`: REGISTER gets 405. Credentials are given at run time
    /// ([`crate::CallEngine::phones`]).
    pub registrar: Option<ramal_sip::RegistrarConfig>,
    /// Queues and their agents (agents are SIP users of the registrar; a registered phone
    /// logs its agent in). `None`: `queue` nodes take their `no-agents` port.
    pub acd: Option<ramal_acd::AcdConfig>,
    /// The espeak-ng program.
    pub espeak: PathBuf,
    /// The voice for TTS prompts that name none.
    pub default_voice: String,
    /// Concurrent calls; more get 503 with Retry-After.
    pub max_calls: usize,
    /// A call whose peer sends no RTP for this long is hung up.
    pub rtp_timeout: Duration,
    /// New SIP requests accepted per second from one source address (a burst of twice as
    /// many); more are dropped unanswered — the flood guard. A carrier trunk sends every
    /// call from one address: size this to its call rate.
    pub requests_per_source: u32,
    /// SIP transactions alive at once; more new requests get 503 with Retry-After. Over
    /// UDP a finished transaction lingers 32 s (RFC 3261 timers J and L) to absorb
    /// retransmissions, so a call rate R needs about 2 × 32 × R.
    pub max_transactions: usize,
    /// The Wasm host for custom nodes: per-run limits, the pool, the HTTP allowlist.
    pub nodes: ramal_wasm::HostConfig,
}

impl Default for CallConfig {
    fn default() -> Self {
        CallConfig {
            sip: SocketAddr::from(([127, 0, 0, 1], 5060)),
            rtp_ip: IpAddr::from([127, 0, 0, 1]),
            rtp_ports: 20_000..=20_999,
            default_flow: None,
            prompts_dir: PathBuf::from("flows/prompts"),
            tts_cache_dir: PathBuf::from(".data/tts-cache"),
            recordings_dir: PathBuf::from(".data/recordings"),
            trunks: Vec::new(),
            registrar: None,
            acd: None,
            espeak: PathBuf::from("espeak-ng"),
            default_voice: "pt-BR".into(),
            max_calls: 200,
            rtp_timeout: ramal_media::session::DEFAULT_RTP_TIMEOUT,
            requests_per_source: 100,
            max_transactions: 200_000,
            nodes: ramal_wasm::HostConfig::default(),
        }
    }
}
