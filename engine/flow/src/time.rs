//! Time as the executor sees it: a monotonic [`Instant`] in milliseconds that the caller
//! passes in, and [`Millis`], a duration that flow documents write as `"5s"`, `"500ms"`,
//! `"2m"` or a plain number of milliseconds.
//!
//! Nothing here reads a clock: `std::time::Instant::now()` panics on
//! `wasm32-unknown-unknown`, and a pure executor gets its time from its driver.

use std::fmt;
use std::ops::{Add, Sub};
use std::time::Duration;

/// A point on the driver's monotonic clock, in milliseconds from an arbitrary origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(u64);

impl Instant {
    /// The instant `ms` milliseconds after the clock's origin.
    pub const fn from_millis(ms: u64) -> Self {
        Instant(ms)
    }
    /// Milliseconds since the clock's origin.
    pub const fn as_millis(self) -> u64 {
        self.0
    }
    /// Time from `earlier` to `self`, zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Instant) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, rhs: Duration) -> Instant {
        let ms = u64::try_from(rhs.as_millis()).unwrap_or(u64::MAX);
        Instant(self.0.saturating_add(ms))
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_since(rhs)
    }
}

/// A duration in a flow document: `"5s"`, `"1500ms"`, `"2m"`, `"1h"`, or an integer of
/// milliseconds. Always serialized back in the shortest exact unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Millis(pub u64);

impl Millis {
    /// `n` seconds.
    pub const fn secs(n: u64) -> Self {
        Millis(n * 1000)
    }
    /// As a std duration.
    pub const fn duration(self) -> Duration {
        Duration::from_millis(self.0)
    }
    /// Parses `"5s"`, `"500ms"`, `"2m"`, `"1h"` or `"750"` (milliseconds).
    pub fn parse(text: &str) -> Result<Millis, String> {
        let text = text.trim();
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (digits, unit) = text.split_at(split);
        if digits.is_empty() || digits.len() > 12 {
            return Err(format!(
                "`{text}` is not a duration; write e.g. \"5s\", \"500ms\", \"2m\""
            ));
        }
        let value: u64 = digits
            .parse()
            .map_err(|_| format!("`{text}` is not a duration"))?;
        let factor = match unit.trim() {
            "" | "ms" => 1,
            "s" => 1000,
            "m" | "min" => 60_000,
            "h" => 3_600_000,
            other => {
                return Err(format!(
                    "unknown unit `{other}` in `{text}`; use ms, s, m or h"
                ));
            }
        };
        value
            .checked_mul(factor)
            .map(Millis)
            .ok_or_else(|| format!("`{text}` is too long a duration"))
    }
}

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0;
        if ms != 0 && ms.is_multiple_of(3_600_000) {
            write!(f, "{}h", ms / 3_600_000)
        } else if ms != 0 && ms.is_multiple_of(60_000) {
            write!(f, "{}m", ms / 60_000)
        } else if ms.is_multiple_of(1000) {
            write!(f, "{}s", ms / 1000)
        } else {
            write!(f, "{ms}ms")
        }
    }
}

impl serde::Serialize for Millis {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Millis {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Millis;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"5s\", \"500ms\", \"2m\" or milliseconds")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Millis, E> {
                Ok(Millis(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Millis, E> {
                u64::try_from(v)
                    .map(Millis)
                    .map_err(|_| E::custom("a duration cannot be negative"))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Millis, E> {
                Millis::parse(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl schemars::JsonSchema for Millis {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A duration: \"5s\", \"500ms\", \"2m\", \"1h\", or milliseconds as an integer.",
            "oneOf": [
                { "type": "string", "pattern": "^[0-9]{1,12}(ms|s|m|min|h)?$" },
                { "type": "integer", "minimum": 0 }
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_print_in_the_shortest_exact_unit() {
        for (text, ms, printed) in [
            ("5s", 5000, "5s"),
            ("500ms", 500, "500ms"),
            ("1500", 1500, "1500ms"),
            ("2m", 120_000, "2m"),
            ("1h", 3_600_000, "1h"),
            ("90s", 90_000, "90s"),
            ("0", 0, "0s"),
        ] {
            let parsed = Millis::parse(text).unwrap();
            assert_eq!(parsed, Millis(ms), "{text}");
            assert_eq!(parsed.to_string(), printed, "{text}");
        }
        for bad in ["", "s", "5 days", "-1s", "1.5s", "99999999999999999s", "5x"] {
            assert!(Millis::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn durations_deserialize_from_strings_and_integers() {
        let parsed: Vec<Millis> = serde_json::from_str(r#"["3s", 250]"#).unwrap();
        assert_eq!(parsed, vec![Millis(3000), Millis(250)]);
        assert!(serde_json::from_str::<Millis>("-5").is_err());
    }

    #[test]
    fn instants_saturate_instead_of_overflowing() {
        let late = Instant::from_millis(u64::MAX - 1) + Duration::from_secs(10);
        assert_eq!(late.as_millis(), u64::MAX);
        assert_eq!(
            Instant::from_millis(5) - Instant::from_millis(10),
            Duration::ZERO
        );
    }
}
