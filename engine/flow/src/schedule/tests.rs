#![allow(clippy::unwrap_used)]

use super::*;
use chrono::TimeZone;
use proptest::prelude::*;
use serde_json::json;

const EXAMPLE: &str = r#"{
  "timezone": "America/Sao_Paulo",
  "weekly": { "mon": ["08:00-18:00"], "tue": ["08:00-12:00", "13:00-18:00"],
              "wed": ["08:00-18:00"], "thu": ["08:00-18:00"], "fri": ["08:00-18:00"],
              "sat": ["09:00-13:00"] },
  "exceptions": [ { "date": "2025-12-25", "name": "Natal" },
                  { "date": "2025-12-24", "windows": ["08:00-12:00"], "name": "Véspera" } ]
}"#;

fn example() -> CompiledSchedule {
    let s: Schedule = serde_json::from_str(EXAMPLE).unwrap();
    s.compile().unwrap()
}

/// Unix ms of a local wall-clock time (the earlier instant if ambiguous).
fn local(tz: &str, y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
    let tz: Tz = tz.parse().unwrap();
    tz.with_ymd_and_hms(y, mo, d, h, mi, 0)
        .earliest()
        .unwrap()
        .timestamp_millis()
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
    chrono::Utc
        .with_ymd_and_hms(y, mo, d, h, mi, 0)
        .unwrap()
        .timestamp_millis()
}

fn sp(d: u32, h: u32, mi: u32) -> i64 {
    local("America/Sao_Paulo", 2025, 12, d, h, mi)
}

fn schedule(value: serde_json::Value) -> Result<Schedule, serde_json::Error> {
    serde_json::from_value(value)
}

fn compiled(value: serde_json::Value) -> CompiledSchedule {
    schedule(value).unwrap().compile().unwrap()
}

#[test]
fn monday_edges() {
    let s = example();
    // 2025-12-22 is a Monday.
    assert!(!s.is_open(sp(22, 7, 59)));
    assert!(s.is_open(sp(22, 8, 0)));
    assert!(s.is_open(sp(22, 17, 59)));
    assert!(!s.is_open(sp(22, 18, 0)));
    assert!(s.is_open(sp(22, 18, 0) - 1));
    assert!(!s.is_open(sp(22, 8, 0) - 1));
    // Sao Paulo is UTC-3 in 2025.
    assert_eq!(sp(22, 8, 0), utc(2025, 12, 22, 11, 0));
}

#[test]
fn tuesday_lunch_saturday_sunday() {
    let s = example();
    assert!(s.is_open(sp(23, 11, 59)));
    assert!(!s.is_open(sp(23, 12, 0)));
    assert!(!s.is_open(sp(23, 12, 59)));
    assert!(s.is_open(sp(23, 13, 0)));
    assert!(!s.is_open(sp(27, 8, 59)));
    assert!(s.is_open(sp(27, 9, 0)));
    assert!(!s.is_open(sp(27, 13, 0)));
    for h in 0..24 {
        assert!(!s.is_open(sp(28, h, 30)), "sunday {h}:30");
    }
}

#[test]
fn holiday_and_special_hours() {
    let s = example();
    // Thursday 25: Natal, closed all day although Thursdays are open.
    assert!(!s.is_open(sp(25, 10, 0)));
    assert!(s.is_open(sp(18, 10, 0)), "the Thursday before is open");
    // Wednesday 24: only 08:00-12:00.
    assert!(s.is_open(sp(24, 11, 59)));
    assert!(!s.is_open(sp(24, 12, 0)));
    assert!(!s.is_open(sp(24, 15, 0)));
    assert_eq!(s.next_change(sp(24, 9, 0)), Some(sp(24, 12, 0)));
    assert_eq!(s.next_change(sp(24, 12, 0)), Some(sp(26, 8, 0)));
}

#[test]
fn next_change_across_weekend() {
    let s = example();
    assert_eq!(s.next_change(sp(26, 18, 0)), Some(sp(27, 9, 0)));
    assert_eq!(s.next_change(sp(27, 10, 0)), Some(sp(27, 13, 0)));
    assert_eq!(s.next_change(sp(27, 13, 0)), Some(sp(29, 8, 0)));
    assert_eq!(s.next_change(sp(27, 13, 0) - 1), Some(sp(27, 13, 0)));
}

#[test]
fn next_change_none_when_constant() {
    let closed = compiled(json!({"timezone": "UTC", "weekly": {}}));
    assert_eq!(closed.next_change(0), None);
    let all = ["00:00-24:00"];
    let open = compiled(json!({"timezone": "Europe/Lisbon", "weekly": {
        "mon": all, "tue": all, "wed": all, "thu": all, "fri": all, "sat": all, "sun": all}}));
    assert!(open.is_open(utc(2025, 3, 30, 1, 0)));
    assert_eq!(open.next_change(utc(2025, 1, 1, 0, 0)), None);
    // Beyond 400 days: a single exception far away is not found.
    let far = compiled(json!({"timezone": "UTC", "weekly": {},
        "exceptions": [{"date": "2027-06-01", "windows": ["10:00-11:00"]}]}));
    assert_eq!(far.next_change(utc(2025, 1, 1, 0, 0)), None);
    assert_eq!(
        far.next_change(utc(2026, 6, 1, 0, 0)),
        Some(utc(2027, 6, 1, 10, 0))
    );
}

#[test]
fn new_york_spring_forward() {
    // 2025-03-09: 02:00 EST jumps to 03:00 EDT (07:00 UTC).
    let s = compiled(json!({"timezone": "America/New_York", "weekly": {"sun": ["01:00-02:30"]}}));
    assert!(s.is_open(utc(2025, 3, 9, 6, 30)));
    assert!(!s.is_open(utc(2025, 3, 9, 7, 0)));
    assert_eq!(
        s.next_change(utc(2025, 3, 9, 6, 30)),
        Some(utc(2025, 3, 9, 7, 0))
    );
    // A window entirely in the gap never opens that day.
    let gap = compiled(json!({"timezone": "America/New_York", "weekly": {"sun": ["02:10-02:50"]}}));
    assert_eq!(
        gap.next_change(utc(2025, 3, 8, 0, 0)),
        Some(local("America/New_York", 2025, 3, 16, 2, 10))
    );
    // A window starting in the gap opens at the jump.
    let start =
        compiled(json!({"timezone": "America/New_York", "weekly": {"sun": ["02:30-04:00"]}}));
    assert_eq!(
        start.next_change(utc(2025, 3, 9, 0, 0)),
        Some(utc(2025, 3, 9, 7, 0))
    );
}

#[test]
fn new_york_fall_back() {
    // 2025-11-02: 02:00 EDT (06:00 UTC) falls back to 01:00 EST.
    let s = compiled(json!({"timezone": "America/New_York", "weekly": {"sun": ["01:30-02:00"]}}));
    assert!(s.is_open(utc(2025, 11, 2, 5, 45)));
    assert!(!s.is_open(utc(2025, 11, 2, 6, 0)));
    assert!(s.is_open(utc(2025, 11, 2, 6, 30)));
    assert!(!s.is_open(utc(2025, 11, 2, 7, 0)));
    let t = utc(2025, 11, 2, 5, 45);
    assert_eq!(s.next_change(t), Some(utc(2025, 11, 2, 6, 0)));
    assert_eq!(
        s.next_change(utc(2025, 11, 2, 6, 0)),
        Some(utc(2025, 11, 2, 6, 30))
    );
    assert_eq!(
        s.next_change(utc(2025, 11, 2, 6, 30)),
        Some(utc(2025, 11, 2, 7, 0))
    );
}

#[test]
fn lisbon_short_day() {
    // 2025-03-30 has 23 hours in Lisbon (01:00 WET -> 02:00 WEST).
    let s = compiled(json!({"timezone": "Europe/Lisbon", "weekly": {"sun": ["00:00-24:00"]}}));
    let sat = utc(2025, 3, 29, 12, 0);
    assert_eq!(s.next_change(sat), Some(utc(2025, 3, 30, 0, 0)));
    assert_eq!(
        s.next_change(utc(2025, 3, 30, 0, 0)),
        Some(utc(2025, 3, 30, 23, 0))
    );
    assert!(s.is_open(utc(2025, 3, 30, 22, 59)));
    assert!(!s.is_open(utc(2025, 3, 30, 23, 0)));
}

#[test]
fn sao_paulo_2018_dst() {
    let s = example();
    // December 2018: Sao Paulo was on summer time, UTC-2.
    let mon = local("America/Sao_Paulo", 2018, 12, 10, 8, 0);
    assert_eq!(mon, utc(2018, 12, 10, 10, 0));
    assert!(s.is_open(mon));
    assert!(!s.is_open(mon - 1));
    // 2018-11-04: 00:00 -03 jumped to 01:00 -02 (03:00 UTC).
    let s = compiled(json!({"timezone": "America/Sao_Paulo", "weekly": {"sun": ["00:00-02:00"]}}));
    assert_eq!(
        s.next_change(utc(2018, 11, 3, 23, 0)),
        Some(utc(2018, 11, 4, 3, 0))
    );
    assert_eq!(
        s.next_change(utc(2018, 11, 4, 3, 0)),
        Some(utc(2018, 11, 4, 4, 0))
    );
}

#[test]
fn check_reports_everything() {
    let s = schedule(json!({
        "timezone": "Mars/Olympus",
        "weekly": { "mon": ["08:00-12:00", "11:00-13:00", "13:00-14:00"],
                    "tue": ["08:00-18:00", "09:00-10:00"] },
        "exceptions": [ {"date": "2025-12-25"}, {"date": "2025-12-25", "windows": ["08:00-09:00", "08:30-10:00"]} ]
    }))
    .unwrap();
    let problems = s.check();
    let paths: Vec<&str> = problems.iter().map(|p| p.json_path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/timezone",
            "/weekly/mon/1",
            "/weekly/tue/1",
            "/exceptions/1/date",
            "/exceptions/1/windows/1"
        ],
        "{problems:#?}"
    );
    assert!(problems[0].message.contains("Mars/Olympus"));
    assert!(problems[1].message.contains("/weekly/mon/0"));
    match s.compile() {
        Err(ScheduleError::Invalid(p)) => assert_eq!(p, problems),
        other => panic!("{other:?}"),
    }
}

#[test]
fn zone_case_suggestion_and_limits() {
    let mut s = schedule(json!({"timezone": "america/sao_paulo", "weekly": {}})).unwrap();
    let p = s.check();
    assert_eq!(p.len(), 1);
    assert!(
        p[0].message.contains("\"America/Sao_Paulo\""),
        "{}",
        p[0].message
    );
    s.timezone = "UTC".into();
    s.weekly.wed = (0..17)
        .map(|i| TimeWindow::new(i * 60, i * 60 + 30).unwrap())
        .collect();
    let start = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    s.exceptions = (0..1001)
        .map(|i| DateException {
            date: start + chrono::Days::new(i),
            windows: vec![],
            name: None,
        })
        .collect();
    let paths: Vec<String> = s.check().into_iter().map(|p| p.json_path).collect();
    assert_eq!(paths, ["/weekly/wed", "/exceptions"]);
}

#[test]
fn touching_windows_are_fine() {
    let s = schedule(json!({"timezone": "UTC", "weekly": {"fri": ["13:00-18:00", "08:00-13:00"]}}))
        .unwrap();
    assert_eq!(s.check(), vec![]);
    let c = s.compile().unwrap();
    // 2025-12-26 is a Friday: no change at 13:00.
    assert_eq!(
        c.next_change(utc(2025, 12, 26, 9, 0)),
        Some(utc(2025, 12, 26, 18, 0))
    );
}

#[test]
fn serde_errors() {
    let bad = [
        json!({"timezone": "UTC", "weekly": {"mon": ["25:00-26:00"]}}),
        json!({"timezone": "UTC", "weekly": {"mon": ["08:00-25:00"]}}),
        json!({"timezone": "UTC", "weekly": {"mon": ["10:00-09:00"]}}),
        json!({"timezone": "UTC", "weekly": {"mon": ["10:00-10:00"]}}),
        json!({"timezone": "UTC", "weekly": {"mon": ["24:00-24:00"]}}),
        json!({"timezone": "UTC", "weekly": {"mon": ["8:00-18:00"]}}),
        json!({"timezone": "UTC", "weekly": {"mon": ["08:00 - 18:00"]}}),
        json!({"timezone": "UTC", "weekly": {"mon": ["08:60-18:00"]}}),
        json!({"timezone": "UTC", "weekly": {"mon": ["+8:00-18:00"]}}),
        json!({"timezone": "UTC", "weekly": {"mon": [480]}}),
        json!({"timezone": "UTC", "weekly": {"monday": ["08:00-18:00"]}}),
        json!({"timezone": "UTC", "weekly": {}, "extra": 1}),
        json!({"timezone": "UTC", "weekly": {}, "exceptions": [{"date": "2025-02-30"}]}),
        json!({"timezone": "UTC", "weekly": {}, "exceptions": [{"date": "2025-1-05"}]}),
        json!({"timezone": "UTC", "weekly": {}, "exceptions": [{"date": "25/12/2025"}]}),
        json!({"timezone": "UTC", "weekly": {}, "exceptions": [{"date": "2025-12-25", "hours": []}]}),
        json!({"weekly": {}}),
    ];
    for v in bad {
        assert!(schedule(v.clone()).is_err(), "{v} should be rejected");
    }
    let e = schedule(json!({"timezone": "UTC", "weekly": {"mon": ["10:00-09:00"]}})).unwrap_err();
    assert!(e.to_string().contains("two windows on two days"), "{e}");
    let e = schedule(json!({"timezone": "UTC", "weekly": {"mon": ["25:00-26:00"]}})).unwrap_err();
    assert!(e.to_string().contains("\"25:00\""), "{e}");
}

#[test]
fn serde_round_trip_and_schema() {
    let s: Schedule = serde_json::from_str(EXAMPLE).unwrap();
    assert_eq!(s.weekly.tue[1], TimeWindow::new(13 * 60, 18 * 60).unwrap());
    assert_eq!(
        "00:00-24:00".parse::<TimeWindow>().unwrap(),
        TimeWindow::ALL_DAY
    );
    let v = serde_json::to_value(&s).unwrap();
    assert_eq!(v["weekly"]["tue"], json!(["08:00-12:00", "13:00-18:00"]));
    assert_eq!(v["exceptions"][0]["date"], json!("2025-12-25"));
    assert_eq!(serde_json::from_value::<Schedule>(v).unwrap(), s);

    let schema = serde_json::to_value(schemars::schema_for!(Schedule)).unwrap();
    let text = schema.to_string();
    assert!(text.contains(&serde_json::to_string(TIME_WINDOW_PATTERN).unwrap()));
    assert!(text.contains("\"format\":\"date\""), "{text}");
    assert!(text.contains("The local date"), "{text}");
    let re = regex::Regex::new(TIME_WINDOW_PATTERN).unwrap();
    for ok in ["00:00-24:00", "08:00-18:00", "23:59-24:00"] {
        assert!(re.is_match(ok));
    }
    for bad in ["24:00-24:00", "8:00-18:00", "08:00-24:01"] {
        assert!(!re.is_match(bad));
    }
}

#[test]
fn next_change_matches_minute_scan() {
    // Brute force over DST weeks: every minute, compare with a scan.
    let s = compiled(json!({"timezone": "America/New_York", "weekly": {
        "sat": ["23:00-24:00"], "sun": ["00:00-01:15", "01:30-02:00", "02:20-03:10", "23:59-24:00"],
        "mon": ["00:00-00:01"] }}));
    for (start, end) in [
        (utc(2025, 3, 8, 0, 0), utc(2025, 3, 11, 0, 0)),
        (utc(2025, 11, 1, 0, 0), utc(2025, 11, 4, 0, 0)),
    ] {
        let minutes: Vec<i64> = (start..end).step_by(60_000).collect();
        for (i, &t) in minutes.iter().enumerate() {
            let want = minutes[i + 1..]
                .iter()
                .copied()
                .find(|&u| s.is_open(u) != s.is_open(t));
            if let Some(want) = want {
                assert_eq!(s.next_change(t), Some(want), "from {t}");
            }
        }
    }
}

fn zone() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "America/Sao_Paulo",
        "America/New_York",
        "Europe/Lisbon",
        "Australia/Lord_Howe",
        "Asia/Kolkata",
        "UTC",
    ])
}

fn day() -> impl Strategy<Value = Vec<TimeWindow>> {
    prop::collection::btree_set(0u16..=1440, 0..6).prop_map(|set| {
        let v: Vec<u16> = set.into_iter().collect();
        v.chunks_exact(2)
            .filter_map(|c| TimeWindow::new(c[0], c[1]).ok())
            .collect()
    })
}

fn any_schedule() -> impl Strategy<Value = CompiledSchedule> {
    (zone(), prop::collection::vec(day(), 7), day(), 0i64..800).prop_map(
        |(tz, days, ex, ex_day)| {
            let mut w = days.into_iter();
            let mut next = || w.next().unwrap_or_default();
            let weekly = Weekly {
                mon: next(),
                tue: next(),
                wed: next(),
                thu: next(),
                fri: next(),
                sat: next(),
                sun: next(),
            };
            let date =
                NaiveDate::from_ymd_opt(2000, 1, 1).unwrap() + chrono::Duration::days(ex_day * 40);
            let s = Schedule {
                timezone: tz.into(),
                weekly,
                exceptions: vec![DateException {
                    date,
                    windows: ex,
                    name: None,
                }],
            };
            s.compile().unwrap()
        },
    )
}

const CENTURY_MS: i64 = 100 * 366 * MS_PER_DAY;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn never_panics_and_next_change_flips(
        s in any_schedule(),
        t in -CENTURY_MS..CENTURY_MS,
        fractions in prop::collection::vec(0.0f64..1.0, 4),
    ) {
        let state = s.is_open(t);
        if let Some(n) = s.next_change(t) {
            prop_assert!(n > t);
            prop_assert!(n - t <= NEXT_CHANGE_HORIZON_DAYS * MS_PER_DAY);
            prop_assert_ne!(s.is_open(n), state);
            prop_assert_eq!(s.is_open(n - 1), state);
            for f in fractions {
                let u = t + ((n - t) as f64 * f) as i64;
                if u < n {
                    prop_assert_eq!(s.is_open(u), state, "at {} between {} and {}", u, t, n);
                }
            }
        }
    }

    #[test]
    fn is_open_total(s in any_schedule(), t in any::<i64>()) {
        let _ = s.is_open(t);
        if (-CENTURY_MS * 3..CENTURY_MS * 3).contains(&t) {
            let _ = s.next_change(t);
        }
    }
}

#[test]
fn extreme_instants() {
    let s = example();
    for t in [i64::MIN, i64::MAX, i64::MIN + 1, i64::MAX - 1] {
        assert!(!s.is_open(t));
        assert_eq!(s.next_change(t), None);
    }
}

#[test]
fn compiled_is_send_sync_clone() {
    fn check<T: Send + Sync + Clone + std::fmt::Debug>() {}
    check::<CompiledSchedule>();
    check::<ScheduleError>();
}
