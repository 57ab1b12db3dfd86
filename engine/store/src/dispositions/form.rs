//! Disposition forms: typed fields (text, number, date, choice) and the checks — of a form
//! when it is saved, and of the values an agent fills in against it.

use super::DispositionSpec;
use crate::validation::{Checker, ValidationErrors};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};

/// The type of a form field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum FieldKind {
    /// Free text.
    Text {
        /// At most this many characters (default and most 2,000).
        #[serde(default)]
        max_length: Option<u32>,
    },
    /// A number.
    Number {
        /// The smallest allowed.
        #[serde(default)]
        min: Option<f64>,
        /// The largest allowed.
        #[serde(default)]
        max: Option<f64>,
    },
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// One of a list of options.
    Choice {
        /// The options (1–100, distinct).
        options: Vec<String>,
    },
}

/// A field of a disposition form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FormField {
    /// Its key in the values: 1–64 of `a-z`, `0-9`, `_`.
    pub name: String,
    /// What agents see.
    pub label: String,
    /// Its type.
    #[serde(flatten)]
    pub kind: FieldKind,
    /// Whether it must be filled in.
    #[serde(default)]
    pub required: bool,
}

const MAX_TEXT: u32 = 2000;

pub(crate) fn check_spec(spec: &DispositionSpec) -> Result<(), ValidationErrors> {
    let mut checker = Checker::new();
    checker.name("name", &spec.name, 100);
    let Some(fields) = &spec.form else {
        return checker.finish();
    };
    if fields.is_empty() {
        checker.fail(
            "form",
            "required",
            "a form has at least one field (or send no form)",
        );
    }
    if fields.len() > 100 {
        checker.fail("form", "too_long", "at most 100 fields");
    }
    let mut names = HashSet::new();
    for (index, field) in fields.iter().enumerate() {
        let path = format!("form[{index}]");
        let key_ok = (1..=64).contains(&field.name.len())
            && field
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !key_ok {
            checker.fail(format!("{path}.name"), "format", "1–64 of a-z, 0-9, _");
        } else if !names.insert(field.name.as_str()) {
            checker.fail(
                format!("{path}.name"),
                "duplicate",
                format!("`{}` is used twice", field.name),
            );
        }
        checker.name(&format!("{path}.label"), &field.label, 200);
        match &field.kind {
            FieldKind::Text { max_length } => {
                if let Some(max) = max_length {
                    checker.range(&format!("{path}.max_length"), *max, 1, MAX_TEXT);
                }
            }
            FieldKind::Number { min, max } => {
                for (value, name) in [(min, "min"), (max, "max")] {
                    if value.is_some_and(|v| !v.is_finite()) {
                        checker.fail(
                            format!("{path}.{name}"),
                            "format",
                            "must be a finite number",
                        );
                    }
                }
                if let (Some(min), Some(max)) = (min, max)
                    && min > max
                {
                    checker.fail(
                        format!("{path}.max"),
                        "out_of_range",
                        "must not be below min",
                    );
                }
            }
            FieldKind::Date => {}
            FieldKind::Choice { options } => {
                if options.is_empty() || options.len() > 100 {
                    checker.fail(
                        format!("{path}.options"),
                        "out_of_range",
                        "1 to 100 options",
                    );
                }
                let mut seen = HashSet::new();
                for (option_index, option) in options.iter().enumerate() {
                    let option_path = format!("{path}.options[{option_index}]");
                    checker.name(&option_path, option, 200);
                    if !seen.insert(option) {
                        checker.fail(option_path, "duplicate", "listed twice");
                    }
                }
            }
        }
    }
    checker.finish()
}

/// Checks `values` against `fields`: each value has its field's type, every required
/// field is there, no value without a field.
pub fn check_values(
    fields: &[FormField],
    values: &BTreeMap<String, Value>,
) -> Result<(), ValidationErrors> {
    let mut checker = Checker::new();
    for name in values.keys() {
        if !fields.iter().any(|field| &field.name == name) {
            checker.fail(
                format!("values.{name}"),
                "unknown",
                "the form has no such field",
            );
        }
    }
    for field in fields {
        let path = format!("values.{}", field.name);
        let value = values.get(&field.name).filter(|value| {
            !value.is_null() && value.as_str().is_none_or(|text| !text.trim().is_empty())
        });
        let Some(value) = value else {
            if field.required {
                checker.fail(path, "required", format!("`{}` is required", field.label));
            }
            continue;
        };
        match &field.kind {
            FieldKind::Text { max_length } => match value.as_str() {
                None => checker.fail(path, "type", "must be text"),
                Some(text) => checker.max_len(&path, text, max_length.unwrap_or(MAX_TEXT) as usize),
            },
            FieldKind::Number { min, max } => match value.as_f64() {
                None => checker.fail(path, "type", "must be a number"),
                Some(number) => {
                    if min.is_some_and(|min| number < min) || max.is_some_and(|max| number > max) {
                        checker.fail(
                            path,
                            "out_of_range",
                            format!(
                                "must be between {} and {}",
                                min.map_or("-∞".into(), |v| v.to_string()),
                                max.map_or("∞".into(), |v| v.to_string())
                            ),
                        );
                    }
                }
            },
            FieldKind::Date => {
                let valid = value.as_str().is_some_and(|text| {
                    text.len() == 10 && chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok()
                });
                if !valid {
                    checker.fail(path, "format", "must be a date, YYYY-MM-DD");
                }
            }
            FieldKind::Choice { options } => {
                if !value
                    .as_str()
                    .is_some_and(|text| options.iter().any(|o| o == text))
                {
                    checker.fail(
                        path,
                        "unknown",
                        format!("must be one of: {}", options.join(", ")),
                    );
                }
            }
        }
    }
    checker.finish()
}
