//! Campaign validation: every problem of a [`CampaignSpec`] at once, each with its field
//! path. The parts that need no database are pure functions (unit-tested here); the
//! references (list, trunk, queue, flow, users) are checked by the store.

use super::settings::{
    CampaignSpec, CampaignType, DialerSettings, DialingMode, InteractionType, RetryRule, Schedule,
};
use crate::validation::Checker;
use std::collections::HashSet;

/// Minutes since midnight of `HH:MM` (`24:00` allowed, as an end).
fn minutes(text: &str) -> Option<u32> {
    let (hours, minutes) = text.split_once(':')?;
    if hours.len() != 2 || minutes.len() != 2 {
        return None;
    }
    let hours: u32 = hours.parse().ok()?;
    let minutes: u32 = minutes.parse().ok()?;
    match (hours, minutes) {
        (0..=23, 0..=59) | (24, 0) => Some(hours * 60 + minutes),
        _ => None,
    }
}

pub(crate) fn check_schedule(checker: &mut Checker, path: &str, schedule: &Schedule) {
    if schedule.time_zone.parse::<chrono_tz::Tz>().is_err() {
        checker.fail(
            format!("{path}.time_zone"),
            "unknown",
            format!(
                "`{}` is not an IANA time zone (e.g. America/Sao_Paulo)",
                schedule.time_zone
            ),
        );
    }
    if schedule.days.len() > 1000 {
        checker.fail(format!("{path}.days"), "too_long", "at most 1000 days");
    }
    let mut days = HashSet::new();
    for (index, day) in schedule.days.iter().enumerate() {
        let valid = day.len() == 10 && chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").is_ok();
        if !valid {
            checker.fail(
                format!("{path}.days[{index}]"),
                "format",
                "a date is YYYY-MM-DD",
            );
        } else if !days.insert(day) {
            checker.fail(
                format!("{path}.days[{index}]"),
                "duplicate",
                format!("{day} is listed twice"),
            );
        }
    }
    if schedule.windows.is_empty() {
        checker.fail(
            format!("{path}.windows"),
            "required",
            "at least one time window",
        );
    }
    if schedule.windows.len() > 100 {
        checker.fail(format!("{path}.windows"), "too_long", "at most 100 windows");
    }
    // (weekday, start, end, index) of the valid windows, to find overlaps.
    let mut spans = Vec::new();
    for (index, window) in schedule.windows.iter().enumerate() {
        let here = format!("{path}.windows[{index}]");
        let start = minutes(&window.start).filter(|&start| start < 24 * 60);
        let end = minutes(&window.end);
        if start.is_none() {
            checker.fail(
                format!("{here}.start"),
                "format",
                "a time is HH:MM, 00:00 to 23:59",
            );
        }
        if end.is_none() {
            checker.fail(
                format!("{here}.end"),
                "format",
                "a time is HH:MM, 00:00 to 24:00",
            );
        }
        if window.weekdays.is_empty() {
            checker.fail(
                format!("{here}.weekdays"),
                "required",
                "at least one weekday",
            );
        }
        let mut seen = HashSet::new();
        for (day_index, day) in window.weekdays.iter().enumerate() {
            if !seen.insert(day) {
                checker.fail(
                    format!("{here}.weekdays[{day_index}]"),
                    "duplicate",
                    "listed twice",
                );
            }
        }
        if let (Some(start), Some(end)) = (start, end) {
            if end <= start {
                checker.fail(format!("{here}.end"), "out_of_range", "must be after start");
            } else {
                for day in seen {
                    spans.push((*day, start, end, index));
                }
            }
        }
    }
    spans.sort();
    for pair in spans.windows(2) {
        let ((day, _, first_end, first), (next_day, next_start, _, next)) = (pair[0], pair[1]);
        if day == next_day && next_start < first_end && first != next {
            checker.fail(
                format!("{path}.windows[{}]", first.max(next)),
                "overlap",
                format!("overlaps windows[{}] on {day:?}", first.min(next)),
            );
        }
    }
}

fn check_retry(checker: &mut Checker, path: String, rule: &RetryRule, mode: DialingMode) {
    checker.range(&format!("{path}.max_attempts"), rule.max_attempts, 0, 20);
    checker.range(&format!("{path}.delay_secs"), rule.delay_secs, 0, 604_800);
    if mode == DialingMode::Sequential && rule.max_attempts > 0 {
        checker.fail(
            format!("{path}.max_attempts"),
            "not_allowed",
            "sequential dialling makes one attempt per contact: no retries",
        );
    }
}

pub(crate) fn check_dialer(checker: &mut Checker, dialer: &DialerSettings) {
    checker.range(
        "dialer.max_simultaneous_calls",
        dialer.max_simultaneous_calls,
        1,
        1000,
    );
    checker.range("dialer.max_call_secs", dialer.max_call_secs, 0, 86_400);
    check_schedule(checker, "dialer.schedule", &dialer.schedule);
    let mode = dialer.dialing_mode;
    let retries = &dialer.retries;
    check_retry(checker, "dialer.retries.busy".into(), &retries.busy, mode);
    check_retry(
        checker,
        "dialer.retries.no_answer".into(),
        &retries.no_answer,
        mode,
    );
    check_retry(
        checker,
        "dialer.retries.failed".into(),
        &retries.failed,
        mode,
    );
    check_retry(
        checker,
        "dialer.retries.voicemail".into(),
        &retries.voicemail,
        mode,
    );
    checker.range(
        "dialer.limits.max_attempts_per_contact",
        dialer.limits.max_attempts_per_contact,
        1,
        100,
    );
    checker.range(
        "dialer.limits.ring_timeout_secs",
        dialer.limits.ring_timeout_secs,
        5,
        120,
    );
}

/// The checks that need no database.
pub(crate) fn check_fields(checker: &mut Checker, spec: &CampaignSpec) {
    checker.name("name", &spec.name, 100);
    let outbound = matches!(
        spec.kind,
        CampaignType::Manual | CampaignType::Preview | CampaignType::Dialer
    );
    if matches!(spec.kind, CampaignType::Preview | CampaignType::Dialer)
        && spec.contact_list_id.is_none()
    {
        checker.fail(
            "contact_list_id",
            "required",
            "preview and dialer campaigns call a contact list",
        );
    }
    if outbound && spec.trunk_id.is_none() {
        checker.fail(
            "trunk_id",
            "required",
            "an outbound campaign needs an outbound route",
        );
    }
    match (spec.interaction, &spec.external_url) {
        (InteractionType::ExternalUrl | InteractionType::Both, None) => {
            checker.fail(
                "external_url",
                "required",
                "this interaction type opens an external URL",
            );
        }
        (InteractionType::RamalForms, Some(_)) => checker.fail(
            "external_url",
            "not_allowed",
            "set interaction to external-url or both to use an external URL",
        ),
        (_, Some(url)) => checker.url("external_url", url),
        (_, None) => {}
    }
    if let Some(field) = &spec.address_field {
        checker.name("address_field", field, 100);
    }
    checker.range("objective", spec.objective, 0, 100_000_000);
    checker.optional("external_system", spec.external_system.as_deref(), 100);
    checker.optional("external_id", spec.external_id.as_deref(), 100);
    if spec.external_id.is_some() && spec.external_system.is_none() {
        checker.fail(
            "external_system",
            "required",
            "an external id belongs to an external system",
        );
    }
    if let Some(caller_id) = &spec.caller_id {
        checker.caller_id("caller_id", caller_id);
        if spec.trunk_id.is_none() {
            checker.fail(
                "caller_id",
                "not_allowed",
                "a caller ID is sent on an outbound route: set trunk_id",
            );
        }
    }
    checker.max_len("speech", &spec.speech, 20_000);
    if spec.channels.is_empty() {
        checker.fail("channels", "required", "at least one channel");
    }
    let mut channels = HashSet::new();
    for (index, channel) in spec.channels.iter().enumerate() {
        if !channels.insert(channel) {
            checker.fail(format!("channels[{index}]"), "duplicate", "listed twice");
        }
    }
    match (&spec.dialer, spec.kind) {
        (None, CampaignType::Dialer) => {
            checker.fail(
                "dialer",
                "required",
                "a dialer campaign needs its dialer settings",
            );
        }
        (Some(_), kind) if kind != CampaignType::Dialer => checker.fail(
            "dialer",
            "not_allowed",
            format!(
                "only dialer campaigns have dialer settings, this one is {}",
                kind.as_str()
            ),
        ),
        (Some(dialer), _) => check_dialer(checker, dialer),
        (None, _) => {}
    }
    if let Some(webhook) = &spec.webhook {
        checker.url("webhook.url", &webhook.url);
        if webhook.events.is_empty() {
            checker.fail("webhook.events", "required", "at least one event");
        }
        let mut events = HashSet::new();
        for (index, event) in webhook.events.iter().enumerate() {
            if !events.insert(event) {
                checker.fail(
                    format!("webhook.events[{index}]"),
                    "duplicate",
                    "listed twice",
                );
            }
        }
    }
    for (list, path) in [(&spec.supervisors, "supervisors"), (&spec.agents, "agents")] {
        if list.len() > 5000 {
            checker.fail(path, "too_long", "at most 5000 users");
        }
        let mut seen = HashSet::new();
        for (index, id) in list.iter().enumerate() {
            if !seen.insert(id) {
                checker.fail(format!("{path}[{index}]"), "duplicate", "listed twice");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaigns::settings::{TimeWindow, Weekday};

    fn window(days: &[Weekday], start: &str, end: &str) -> TimeWindow {
        TimeWindow {
            weekdays: days.to_vec(),
            start: start.into(),
            end: end.into(),
        }
    }

    fn paths(schedule: &Schedule) -> Vec<(String, String)> {
        let mut checker = Checker::new();
        check_schedule(&mut checker, "schedule", schedule);
        checker
            .finish()
            .err()
            .map(|errors| errors.0)
            .unwrap_or_default()
            .into_iter()
            .map(|error| (error.path, error.code))
            .collect()
    }

    #[test]
    fn schedules_report_each_bad_field_by_path() {
        use Weekday::{Fri, Mon, Sat};
        let good = Schedule {
            time_zone: "America/Sao_Paulo".into(),
            days: vec!["2026-12-01".into()],
            windows: vec![
                window(&[Mon, Fri], "09:00", "12:00"),
                window(&[Mon], "13:00", "24:00"),
            ],
        };
        assert_eq!(paths(&good), []);
        let bad = Schedule {
            time_zone: "Mars/Olympus".into(),
            days: vec![
                "2026-02-30".into(),
                "2026-12-01".into(),
                "2026-12-01".into(),
            ],
            windows: vec![
                window(&[Mon], "09:00", "12:00"),
                window(&[Sat, Sat], "9:00", "10:00"),
                window(&[Mon], "11:30", "11:00"),
                window(&[Mon], "11:00", "13:00"),
                window(&[], "24:00", "25:00"),
            ],
        };
        let expected: Vec<(String, String)> = [
            ("schedule.time_zone", "unknown"),
            ("schedule.days[0]", "format"),
            ("schedule.days[2]", "duplicate"),
            ("schedule.windows[1].start", "format"),
            ("schedule.windows[1].weekdays[1]", "duplicate"),
            ("schedule.windows[2].end", "out_of_range"),
            ("schedule.windows[4].start", "format"),
            ("schedule.windows[4].end", "format"),
            ("schedule.windows[4].weekdays", "required"),
            ("schedule.windows[3]", "overlap"),
        ]
        .iter()
        .map(|(path, code)| ((*path).to_owned(), (*code).to_owned()))
        .collect();
        assert_eq!(paths(&bad), expected);
    }

    #[test]
    fn times_are_hours_and_minutes() {
        assert_eq!(minutes("00:00"), Some(0));
        assert_eq!(minutes("23:59"), Some(1439));
        assert_eq!(minutes("24:00"), Some(1440));
        for bad in ["24:01", "7:00", "07:60", "0700", "ab:cd", "-1:00", ""] {
            assert_eq!(minutes(bad), None, "{bad}");
        }
    }
}
