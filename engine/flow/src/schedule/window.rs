//! [`TimeWindow`]: one `"HH:MM-HH:MM"` interval of a day, and the `"YYYY-MM-DD"`
//! date format used by exceptions.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Minutes in a day: the largest allowed end (`"24:00"`).
pub const MINUTES_PER_DAY: u16 = 24 * 60;

/// The JSON Schema pattern of a [`TimeWindow`] string.
pub const TIME_WINDOW_PATTERN: &str =
    "^([01][0-9]|2[0-3]):[0-5][0-9]-(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$";

/// A half-open interval `[start, end)` of local time within one day, written
/// `"HH:MM-HH:MM"` (24-hour clock). The end may be `"24:00"` (end of the day);
/// the start must be before the end, so a window across midnight is written as
/// two windows on two days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimeWindow {
    start_minute: u16,
    end_minute: u16,
}

/// Why a `"HH:MM-HH:MM"` string is not a valid [`TimeWindow`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeWindowError {
    /// The text is not of the form `"HH:MM-HH:MM"`.
    #[error("invalid time window {0:?}: expected \"HH:MM-HH:MM\", like \"08:00-18:00\"")]
    Format(String),
    /// An hour or minute is out of range (hours 00-23, minutes 00-59; the end may be 24:00).
    #[error(
        "invalid time {0:?}: hours go from 00 to 23 and minutes from 00 to 59 (the end may be 24:00)"
    )]
    OutOfRange(String),
    /// The start is not before the end.
    #[error(
        "time window {0:?} ends before it starts: the start must be before the end \
         (write a window across midnight as two windows on two days)"
    )]
    NotIncreasing(String),
}

impl TimeWindow {
    /// A window from `start_minute` to `end_minute` (minutes since local midnight).
    /// Requires `start_minute < end_minute <= 1440`.
    pub fn new(start_minute: u16, end_minute: u16) -> Result<Self, TimeWindowError> {
        if end_minute > MINUTES_PER_DAY {
            return Err(TimeWindowError::OutOfRange(format_minute(end_minute)));
        }
        if start_minute >= end_minute {
            return Err(TimeWindowError::NotIncreasing(format!(
                "{}-{}",
                format_minute(start_minute),
                format_minute(end_minute)
            )));
        }
        Ok(Self {
            start_minute,
            end_minute,
        })
    }

    /// The whole day, `"00:00-24:00"`.
    pub const ALL_DAY: Self = Self {
        start_minute: 0,
        end_minute: MINUTES_PER_DAY,
    };

    /// Start, in minutes since local midnight (inclusive).
    pub fn start_minute(&self) -> u16 {
        self.start_minute
    }

    /// End, in minutes since local midnight (exclusive; 1440 = end of the day).
    pub fn end_minute(&self) -> u16 {
        self.end_minute
    }

    /// Whether the two windows share at least one minute (touching ends do not).
    pub fn overlaps(&self, other: &TimeWindow) -> bool {
        self.start_minute < other.end_minute && other.start_minute < self.end_minute
    }
}

/// `"HH:MM"` for a minute of the day (1440 prints as `"24:00"`).
fn format_minute(minute: u16) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// Parses exactly two ASCII digits.
fn two_digits(s: &str) -> Option<u16> {
    let b = s.as_bytes();
    match b {
        [h, l] if h.is_ascii_digit() && l.is_ascii_digit() => {
            Some(u16::from(h - b'0') * 10 + u16::from(l - b'0'))
        }
        _ => None,
    }
}

/// Parses `"HH:MM"` into minutes since midnight; `allow_24` permits `"24:00"`.
fn parse_time(s: &str, whole: &str, allow_24: bool) -> Result<u16, TimeWindowError> {
    let (h, m) = s
        .split_once(':')
        .ok_or_else(|| TimeWindowError::Format(whole.to_owned()))?;
    let (h, m) = match (two_digits(h), two_digits(m)) {
        (Some(h), Some(m)) => (h, m),
        _ => return Err(TimeWindowError::Format(whole.to_owned())),
    };
    let ok = (h < 24 && m < 60) || (allow_24 && h == 24 && m == 0);
    if ok {
        Ok(h * 60 + m)
    } else {
        Err(TimeWindowError::OutOfRange(s.to_owned()))
    }
}

impl FromStr for TimeWindow {
    type Err = TimeWindowError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (a, b) = s
            .split_once('-')
            .ok_or_else(|| TimeWindowError::Format(s.to_owned()))?;
        let start = parse_time(a, s, false)?;
        let end = parse_time(b, s, true)?;
        if start >= end {
            return Err(TimeWindowError::NotIncreasing(s.to_owned()));
        }
        Ok(Self {
            start_minute: start,
            end_minute: end,
        })
    }
}

impl fmt::Display for TimeWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}",
            format_minute(self.start_minute),
            format_minute(self.end_minute)
        )
    }
}

impl Serialize for TimeWindow {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TimeWindow {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = Cow::<'de, str>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for TimeWindow {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "TimeWindow".into()
    }

    fn schema_id() -> Cow<'static, str> {
        concat!(module_path!(), "::TimeWindow").into()
    }

    fn json_schema(_generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": TIME_WINDOW_PATTERN,
            "examples": ["08:00-18:00", "00:00-24:00"]
        })
    }
}

/// Serde and JSON Schema helpers for a `"YYYY-MM-DD"` [`NaiveDate`].
pub(crate) mod date_format {
    use super::*;

    /// Parses exactly `"YYYY-MM-DD"` (four-digit year).
    pub(crate) fn parse(s: &str) -> Option<NaiveDate> {
        let b = s.as_bytes();
        if b.len() != 10 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            let part = s.get(r)?;
            if !part.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            part.parse().ok()
        };
        let year = i32::try_from(num(0..4)?).ok()?;
        NaiveDate::from_ymd_opt(year, num(5..7)?, num(8..10)?)
    }

    pub(crate) fn serialize<S: Serializer>(date: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&date.format("%Y-%m-%d"))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
        let s = Cow::<'de, str>::deserialize(d)?;
        parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "invalid date {s:?}: expected an existing calendar date \"YYYY-MM-DD\", like \"2025-12-25\""
            ))
        })
    }

    pub(crate) fn schema(_generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "format": "date",
            "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
        })
    }
}
