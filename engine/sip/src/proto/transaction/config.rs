//! The layer's configuration: RFC 3261 timer values and the limits that shed load.

use std::time::Duration;

/// Timer values and limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// RTT estimate, 500 ms.
    pub t1: Duration,
    /// Longest re-send interval for non-INVITE requests and INVITE responses, 4 s.
    pub t2: Duration,
    /// Longest time a message stays in the network, 5 s.
    pub t4: Duration,
    /// Timer D: how long a client INVITE absorbs retransmitted non-2xx finals, 32 s.
    pub timer_d: Duration,
    /// Timer C: how long a client INVITE waits for a final after a provisional, 3 min.
    pub timer_c: Duration,
    /// How long a server INVITE waits for the TU before sending 100 Trying itself, 200 ms
    /// (zero: at once).
    pub trying_delay: Duration,
    /// Live transactions at most; beyond it new requests get 503.
    pub max_transactions: usize,
    /// The `Retry-After` of those 503s, in seconds.
    pub retry_after_secs: u32,
    /// The largest datagram accepted.
    pub max_message_size: usize,
    /// Our Via sent-by, `host:port`.
    pub sent_by: String,
    /// Seed for branches and tags; the driver passes a random one.
    pub seed: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
            timer_d: Duration::from_secs(32),
            timer_c: Duration::from_secs(180),
            trying_delay: Duration::from_millis(200),
            max_transactions: 10_000,
            retry_after_secs: 5,
            max_message_size: 65_535,
            sent_by: "127.0.0.1:5060".into(),
            seed: 0,
        }
    }
}
