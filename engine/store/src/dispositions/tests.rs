//! Unit tests of disposition forms and values.

use super::DispositionSpec;
use super::form::{FormField, check_spec, check_values};
use serde_json::Value;
use serde_json::json;
use std::collections::BTreeMap;

fn fields() -> Vec<FormField> {
    serde_json::from_value(json!([
        {"name": "plan", "label": "Plan", "type": "choice", "options": ["basic", "gold"], "required": true},
        {"name": "amount", "label": "Amount", "type": "number", "min": 0, "max": 1000},
        {"name": "callback", "label": "Call back on", "type": "date"},
        {"name": "note", "label": "Note", "type": "text", "max_length": 5},
    ]))
    .expect("the fields parse")
}

fn codes(values: Value) -> Vec<(String, String)> {
    let values: BTreeMap<String, Value> = serde_json::from_value(values).expect("an object");
    check_values(&fields(), &values)
        .err()
        .map(|errors| errors.0)
        .unwrap_or_default()
        .into_iter()
        .map(|error| (error.path, error.code))
        .collect()
}

#[test]
fn values_are_checked_against_the_form() {
    assert_eq!(
        codes(json!({"plan": "gold", "amount": 10.5, "callback": "2026-12-01", "note": "ok"})),
        []
    );
    assert_eq!(
        codes(json!({"plan": "gold", "note": ""})),
        [],
        "empty optional text is absent"
    );
    let found =
        codes(json!({"amount": "10", "callback": "01/12/2026", "note": "too long", "extra": 1}));
    let expected = [
        ("values.extra", "unknown"),
        ("values.plan", "required"),
        ("values.amount", "type"),
        ("values.callback", "format"),
        ("values.note", "too_long"),
    ];
    assert_eq!(
        found,
        expected.map(|(path, code)| (path.to_owned(), code.to_owned()))
    );
    assert_eq!(
        codes(json!({"plan": "platinum", "amount": 1001})),
        [
            ("values.plan".to_owned(), "unknown".to_owned()),
            ("values.amount".to_owned(), "out_of_range".to_owned())
        ]
    );
}

#[test]
fn forms_are_checked_field_by_field() {
    let spec: DispositionSpec = serde_json::from_value(json!({
        "name": "Sale",
        "form": [
            {"name": "Plan", "label": "Plan", "type": "choice", "options": []},
            {"name": "x", "label": "", "type": "number", "min": 5, "max": 1},
            {"name": "x", "label": "X", "type": "choice", "options": ["a", "a"]},
        ]
    }))
    .expect("the spec parses");
    let found: Vec<(String, String)> = check_spec(&spec)
        .expect_err("refused")
        .0
        .into_iter()
        .map(|error| (error.path, error.code))
        .collect();
    let expected = [
        ("form[0].name", "format"),
        ("form[0].options", "out_of_range"),
        ("form[1].label", "required"),
        ("form[1].max", "out_of_range"),
        ("form[2].name", "duplicate"),
        ("form[2].options[1]", "duplicate"),
    ];
    assert_eq!(found, expected.map(|(p, c)| (p.to_owned(), c.to_owned())));
}
