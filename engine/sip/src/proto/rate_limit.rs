//! A per-source token bucket for new requests: each IP address may start
//! [`RateLimit::per_second`] requests a second on average, with bursts up to
//! [`RateLimit::burst`]; what exceeds it is dropped before parsing. Time comes in as `now`.
//!
//! Which datagrams count is [`counts_against_limit`]'s call: requests that may open
//! something (INVITE, OPTIONS, REGISTER…), not responses, and not ACK, BYE or CANCEL, which
//! only close what exists. Retransmissions count too: a peer that retransmits beyond the
//! rate is overloading us anyway.

use super::time::Instant;
use core::net::IpAddr;
use std::collections::HashMap;

/// The limit's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Average requests per second per source, 50.
    pub per_second: u32,
    /// Bucket size, 100.
    pub burst: u32,
    /// Sources tracked at most, 10 000; beyond it idle (full) buckets are forgotten, and if
    /// none is idle new sources are refused until some are.
    pub max_sources: usize,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            per_second: 50,
            burst: 100,
            max_sources: 10_000,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Tokens in thousandths.
    milli_tokens: u64,
    last: Instant,
}

/// Token buckets keyed by source address.
#[derive(Debug)]
pub struct RateLimiter {
    limit: RateLimit,
    buckets: HashMap<IpAddr, Bucket>,
}

impl RateLimiter {
    /// No source has used anything yet.
    pub fn new(limit: RateLimit) -> Self {
        RateLimiter {
            limit,
            buckets: HashMap::new(),
        }
    }

    /// How many sources are tracked.
    pub fn sources(&self) -> usize {
        self.buckets.len()
    }

    fn refill(limit: RateLimit, bucket: &mut Bucket, now: Instant) {
        let elapsed = now.as_millis().saturating_sub(bucket.last.as_millis());
        let capacity = u64::from(limit.burst) * 1000;
        bucket.milli_tokens = bucket
            .milli_tokens
            .saturating_add(elapsed.saturating_mul(u64::from(limit.per_second)))
            .min(capacity);
        bucket.last = bucket.last.max(now);
    }

    /// Whether `source` may send one more request at `now`; takes a token if so.
    pub fn allow(&mut self, source: IpAddr, now: Instant) -> bool {
        let limit = self.limit;
        if !self.buckets.contains_key(&source) && self.buckets.len() >= limit.max_sources {
            let capacity = u64::from(limit.burst) * 1000;
            self.buckets.retain(|_, bucket| {
                Self::refill(limit, bucket, now);
                bucket.milli_tokens < capacity
            });
            if self.buckets.len() >= limit.max_sources {
                return false;
            }
        }
        let bucket = self.buckets.entry(source).or_insert(Bucket {
            milli_tokens: u64::from(limit.burst) * 1000,
            last: now,
        });
        Self::refill(limit, bucket, now);
        if bucket.milli_tokens >= 1000 {
            bucket.milli_tokens -= 1000;
            true
        } else {
            false
        }
    }
}

/// Whether a datagram is a request that counts against the limit (see the module docs).
pub fn counts_against_limit(datagram: &[u8]) -> bool {
    let start = datagram
        .iter()
        .position(|byte| !byte.is_ascii_whitespace())
        .unwrap_or(datagram.len());
    let line = datagram.get(start..).unwrap_or_default();
    let exempt: [&[u8]; 4] = [b"SIP/", b"ACK ", b"BYE ", b"CANCEL "];
    !line.is_empty() && !exempt.iter().any(|prefix| line.starts_with(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    #[test]
    fn a_burst_passes_then_the_rate_holds() {
        let limit = RateLimit {
            per_second: 50,
            burst: 10,
            max_sources: 100,
        };
        let mut limiter = RateLimiter::new(limit);
        let t0 = Instant::from_millis(1_000);
        let allowed = (0..20).filter(|_| limiter.allow(ip(1), t0)).count();
        assert_eq!(allowed, 10, "the burst");
        assert!(limiter.allow(ip(2), t0), "other sources are not affected");
        // 50/s: one token every 20 ms.
        assert!(!limiter.allow(ip(1), Instant::from_millis(1_019)));
        assert!(limiter.allow(ip(1), Instant::from_millis(1_020)));
        // Over one second at 100 requests/s, about half pass.
        let passed = (0..100)
            .filter(|i| limiter.allow(ip(1), Instant::from_millis(2_000 + i * 10)))
            .count();
        assert!((50..=60).contains(&passed), "{passed} passed");
    }

    #[test]
    fn the_source_table_is_bounded() {
        let limit = RateLimit {
            per_second: 1,
            burst: 1,
            max_sources: 2,
        };
        let mut limiter = RateLimiter::new(limit);
        let t0 = Instant::from_millis(0);
        assert!(limiter.allow(ip(1), t0) && limiter.allow(ip(2), t0));
        assert!(!limiter.allow(ip(3), t0), "table full of busy sources");
        assert!(
            limiter.allow(ip(3), Instant::from_millis(5_000)),
            "idle ones evicted"
        );
        assert!(limiter.sources() <= 2);
    }

    #[test]
    fn only_opening_requests_count() {
        assert!(counts_against_limit(b"INVITE sip:a@b SIP/2.0\r\n"));
        assert!(counts_against_limit(b"\r\nOPTIONS sip:a@b SIP/2.0\r\n"));
        for exempt in [
            "SIP/2.0 200 OK",
            "ACK sip:a SIP/2.0",
            "BYE sip:a SIP/2.0",
            "CANCEL x",
            "",
        ] {
            assert!(!counts_against_limit(exempt.as_bytes()), "{exempt}");
        }
    }
}
