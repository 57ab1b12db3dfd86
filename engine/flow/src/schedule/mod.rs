//! Business hours: the parameters of the `time-range` node.
//!
//! A [`Schedule`] is written in the flow document as
//! ```json
//! { "timezone": "America/Sao_Paulo",
//!   "weekly": { "mon": ["08:00-18:00"], "tue": ["08:00-12:00", "13:00-18:00"] },
//!   "exceptions": [ { "date": "2025-12-25", "name": "Natal" } ] }
//! ```
//! [`Schedule::check`] lists every problem with its JSON path;
//! [`Schedule::compile`] turns it into a [`CompiledSchedule`] that answers
//! [`is_open`](CompiledSchedule::is_open) and
//! [`next_change`](CompiledSchedule::next_change) for an instant in Unix
//! milliseconds. Local time is computed with `chrono-tz`, so daylight-saving
//! gaps and overlaps follow the wall clock of the zone.

mod window;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, Offset, TimeZone, Timelike};
use chrono_tz::Tz;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use window::{MINUTES_PER_DAY, TIME_WINDOW_PATTERN, TimeWindow, TimeWindowError};

/// The most windows allowed on one day (weekly or exception).
pub const MAX_WINDOWS_PER_DAY: usize = 16;
/// The most date exceptions allowed in one schedule.
pub const MAX_EXCEPTIONS: usize = 1000;
/// How far ahead [`CompiledSchedule::next_change`] searches, in days.
pub const NEXT_CHANGE_HORIZON_DAYS: i64 = 400;

const MS_PER_MINUTE: i64 = 60_000;
const MS_PER_DAY: i64 = 86_400_000;
/// Step used to look for time-zone offset transitions; no zone changes its
/// offset twice within this span.
const OFFSET_PROBE_MS: i64 = 6 * 3_600_000;

/// Business hours in a time zone: weekly windows plus dated exceptions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// IANA time zone the hours are written in, like "America/Sao_Paulo".
    #[schemars(length(min = 1))]
    pub timezone: String,
    /// Opening hours for each day of the week; a missing day is closed all day.
    pub weekly: Weekly,
    /// Dates whose hours replace the weekly hours (holidays, special days).
    #[serde(default)]
    #[schemars(length(max = 1000))]
    pub exceptions: Vec<DateException>,
}

/// Opening hours for each day of the week, as lists of "HH:MM-HH:MM" windows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Weekly {
    /// Monday's windows; empty or missing = closed ("00:00-24:00" = all day).
    #[serde(default)]
    #[schemars(length(max = 16))]
    pub mon: Vec<TimeWindow>,
    /// Tuesday's windows; empty or missing = closed ("00:00-24:00" = all day).
    #[serde(default)]
    #[schemars(length(max = 16))]
    pub tue: Vec<TimeWindow>,
    /// Wednesday's windows; empty or missing = closed ("00:00-24:00" = all day).
    #[serde(default)]
    #[schemars(length(max = 16))]
    pub wed: Vec<TimeWindow>,
    /// Thursday's windows; empty or missing = closed ("00:00-24:00" = all day).
    #[serde(default)]
    #[schemars(length(max = 16))]
    pub thu: Vec<TimeWindow>,
    /// Friday's windows; empty or missing = closed ("00:00-24:00" = all day).
    #[serde(default)]
    #[schemars(length(max = 16))]
    pub fri: Vec<TimeWindow>,
    /// Saturday's windows; empty or missing = closed ("00:00-24:00" = all day).
    #[serde(default)]
    #[schemars(length(max = 16))]
    pub sat: Vec<TimeWindow>,
    /// Sunday's windows; empty or missing = closed ("00:00-24:00" = all day).
    #[serde(default)]
    #[schemars(length(max = 16))]
    pub sun: Vec<TimeWindow>,
}

impl Weekly {
    /// The days in order Monday..Sunday with their JSON key.
    pub fn days(&self) -> [(&'static str, &[TimeWindow]); 7] {
        [
            ("mon", &self.mon),
            ("tue", &self.tue),
            ("wed", &self.wed),
            ("thu", &self.thu),
            ("fri", &self.fri),
            ("sat", &self.sat),
            ("sun", &self.sun),
        ]
    }
}

/// Special hours for one local date, replacing that date's weekly hours.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DateException {
    /// The local date, "YYYY-MM-DD".
    #[serde(with = "window::date_format")]
    #[schemars(schema_with = "window::date_format::schema")]
    pub date: NaiveDate,
    /// Opening hours on that date; empty or missing = closed all day.
    #[serde(default)]
    #[schemars(length(max = 16))]
    pub windows: Vec<TimeWindow>,
    /// A label for people, like "Natal"; not used to decide anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// One problem found by [`Schedule::check`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScheduleProblem {
    /// JSON pointer relative to the schedule, like "/weekly/mon/1" or "/timezone".
    pub json_path: String,
    /// What is wrong, for the person editing the flow.
    pub message: String,
}

impl fmt::Display for ScheduleProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.json_path, self.message)
    }
}

/// Why a [`Schedule`] cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// [`Schedule::check`] reported these problems (never empty).
    #[error("invalid schedule: {}", join_problems(.0))]
    Invalid(Vec<ScheduleProblem>),
}

fn join_problems(problems: &[ScheduleProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Finds `name` among the zones chrono-tz knows; on failure, an error message
/// (with a suggestion when only the letter case differs).
fn parse_zone(name: &str) -> Result<Tz, String> {
    if let Ok(tz) = name.parse::<Tz>() {
        return Ok(tz);
    }
    if name.trim().is_empty() {
        return Err("the time zone is empty: use an IANA name like \"America/Sao_Paulo\"".into());
    }
    let suggestion = chrono_tz::TZ_VARIANTS
        .iter()
        .find(|tz| tz.name().eq_ignore_ascii_case(name.trim()));
    Err(match suggestion {
        Some(tz) => format!("unknown time zone {name:?}: did you mean {:?}?", tz.name()),
        None => format!("unknown time zone {name:?}: use an IANA name like \"America/Sao_Paulo\""),
    })
}

/// Checks one day's windows: count and overlaps. `path` is the list's JSON path.
fn check_day(path: &str, windows: &[TimeWindow], out: &mut Vec<ScheduleProblem>) {
    if windows.len() > MAX_WINDOWS_PER_DAY {
        out.push(ScheduleProblem {
            json_path: path.to_owned(),
            message: format!(
                "{} windows on one day; at most {MAX_WINDOWS_PER_DAY} are allowed",
                windows.len()
            ),
        });
    }
    // Sweep in start order, remembering the window reaching furthest so far.
    let mut order: Vec<(usize, &TimeWindow)> = windows.iter().enumerate().collect();
    order.sort_by_key(|&(i, w)| (w.start_minute(), w.end_minute(), i));
    let mut furthest: Option<(usize, &TimeWindow)> = None;
    for &(i, w) in &order {
        if let Some((j, prev)) = furthest {
            if prev.overlaps(w) {
                let (first, later) = if j < i { (j, i) } else { (i, j) };
                let (a, b) = if j < i { (prev, w) } else { (w, prev) };
                out.push(ScheduleProblem {
                    json_path: format!("{path}/{later}"),
                    message: format!("window {b} overlaps window {a} at {path}/{first}"),
                });
            }
            if w.end_minute() > prev.end_minute() {
                furthest = Some((i, w));
            }
        } else {
            furthest = Some((i, w));
        }
    }
}

impl Schedule {
    /// All problems, never stopping at the first: unknown IANA zone,
    /// overlapping windows on a day, duplicate exception dates, more than 16
    /// windows a day, more than 1000 exceptions. Each has a JSON path relative
    /// to the schedule (like "/weekly/mon/1" or "/timezone") and a message.
    pub fn check(&self) -> Vec<ScheduleProblem> {
        let mut out = Vec::new();
        if let Err(message) = parse_zone(&self.timezone) {
            out.push(ScheduleProblem {
                json_path: "/timezone".into(),
                message,
            });
        }
        for (key, windows) in self.weekly.days() {
            check_day(&format!("/weekly/{key}"), windows, &mut out);
        }
        if self.exceptions.len() > MAX_EXCEPTIONS {
            out.push(ScheduleProblem {
                json_path: "/exceptions".into(),
                message: format!(
                    "{} exceptions; at most {MAX_EXCEPTIONS} are allowed",
                    self.exceptions.len()
                ),
            });
        }
        let mut seen: BTreeMap<NaiveDate, usize> = BTreeMap::new();
        for (i, ex) in self.exceptions.iter().enumerate() {
            if let Some(first) = seen.get(&ex.date) {
                out.push(ScheduleProblem {
                    json_path: format!("/exceptions/{i}/date"),
                    message: format!(
                        "date {} is already listed at /exceptions/{first}",
                        ex.date.format("%Y-%m-%d")
                    ),
                });
            } else {
                seen.insert(ex.date, i);
            }
            check_day(&format!("/exceptions/{i}/windows"), &ex.windows, &mut out);
        }
        out
    }

    /// Compiles for fast evaluation. Errors with every problem if
    /// [`check`](Self::check) reports any.
    pub fn compile(&self) -> Result<CompiledSchedule, ScheduleError> {
        let problems = self.check();
        if !problems.is_empty() {
            return Err(ScheduleError::Invalid(problems));
        }
        let tz = parse_zone(&self.timezone).map_err(|message| {
            ScheduleError::Invalid(vec![ScheduleProblem {
                json_path: "/timezone".into(),
                message,
            }])
        })?;
        let sorted = |w: &[TimeWindow]| {
            let mut v = w.to_vec();
            v.sort();
            v
        };
        let weekly = self.weekly.days().map(|(_, w)| sorted(w));
        let exceptions = self
            .exceptions
            .iter()
            .map(|ex| (ex.date, sorted(&ex.windows)))
            .collect();
        Ok(CompiledSchedule {
            tz,
            weekly,
            exceptions,
        })
    }
}

/// A checked [`Schedule`], ready to answer "open at this instant?".
#[derive(Debug, Clone)]
pub struct CompiledSchedule {
    tz: Tz,
    /// Sorted windows, Monday first.
    weekly: [Vec<TimeWindow>; 7],
    /// Sorted windows of each exception date.
    exceptions: BTreeMap<NaiveDate, Vec<TimeWindow>>,
}

impl CompiledSchedule {
    /// The schedule's time zone.
    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// The windows in force on a local date (the exception's, if any).
    fn windows_on(&self, date: NaiveDate) -> &[TimeWindow] {
        match self.exceptions.get(&date) {
            Some(w) => w,
            None => self
                .weekly
                .get(date.weekday().num_days_from_monday() as usize)
                .map_or(&[], Vec::as_slice),
        }
    }

    /// Is the instant `unix_ms` (milliseconds since the Unix epoch, UTC)
    /// inside the schedule, in the schedule's zone? Exceptions replace that
    /// local date's weekly windows. Instants chrono cannot represent are closed.
    pub fn is_open(&self, unix_ms: i64) -> bool {
        let Some(utc) = DateTime::from_timestamp_millis(unix_ms) else {
            return false;
        };
        let local = utc.with_timezone(&self.tz).naive_local();
        let ms_of_day = i64::from(local.num_seconds_from_midnight()) * 1000
            + i64::from(local.nanosecond() / 1_000_000);
        self.windows_on(local.date()).iter().any(|w| {
            i64::from(w.start_minute()) * MS_PER_MINUTE <= ms_of_day
                && ms_of_day < i64::from(w.end_minute()) * MS_PER_MINUTE
        })
    }

    /// The zone's UTC offset at an instant, in milliseconds.
    fn offset_ms(&self, unix_ms: i64) -> Option<i64> {
        let utc = DateTime::from_timestamp_millis(unix_ms)?;
        let off = self.tz.offset_from_utc_datetime(&utc.naive_utc()).fix();
        Some(i64::from(off.local_minus_utc()) * 1000)
    }

    /// The first instant in `(from, limit]` whose offset differs from `off`.
    fn next_offset_change(&self, from: i64, off: i64, limit: i64) -> Option<i64> {
        let mut lo = from;
        loop {
            if lo >= limit {
                return None;
            }
            let hi = lo.saturating_add(OFFSET_PROBE_MS).min(limit);
            if self.offset_ms(hi)? != off {
                // Offset is `off` at `lo` and differs at `hi`: bisect.
                let (mut lo, mut hi) = (lo, hi);
                while hi - lo > 1 {
                    let mid = lo + (hi - lo) / 2;
                    if self.offset_ms(mid)? == off {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                return Some(hi);
            }
            lo = hi;
        }
    }

    /// The next instant (unix ms) after `unix_ms` at which
    /// [`is_open`](Self::is_open) changes value, searching at most 400 days
    /// ahead; `None` if it does not change within that span.
    pub fn next_change(&self, unix_ms: i64) -> Option<i64> {
        let state = self.is_open(unix_ms);
        let horizon = unix_ms.checked_add(NEXT_CHANGE_HORIZON_DAYS * MS_PER_DAY)?;
        let mut cur = unix_ms;
        // Walk segments of constant UTC offset. Inside one, local time is UTC
        // plus a constant, so `is_open` changes only at window boundaries.
        while cur < horizon {
            let off = self.offset_ms(cur)?;
            let transition = self.next_offset_change(cur, off, horizon);
            let seg_end = transition.unwrap_or(horizon);
            let local_cur = DateTime::from_timestamp_millis(cur.checked_add(off)?)?.naive_utc();
            let mut date = local_cur.date();
            loop {
                let day_start = date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis() - off;
                if day_start > seg_end {
                    break;
                }
                for w in self.windows_on(date) {
                    for minute in [w.start_minute(), w.end_minute()] {
                        let at = day_start + i64::from(minute) * MS_PER_MINUTE;
                        if at > cur && at < seg_end && self.is_open(at) != state {
                            return (at <= horizon).then_some(at);
                        }
                    }
                }
                date = date.succ_opt()?;
            }
            match transition {
                Some(t) if self.is_open(t) != state => return Some(t),
                Some(t) => cur = t,
                None => break,
            }
        }
        None
    }
}
