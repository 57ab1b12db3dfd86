//! Field-level validation: every problem of an input at once, each with the path of the
//! field it is about (`schedule.windows[2].start`), a stable code and a message.

use serde::Serialize;

/// One invalid field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct FieldError {
    /// Where, as a path into the input (`dialer.retries.busy.max_attempts`).
    pub path: String,
    /// A stable code: `required`, `too_long`, `out_of_range`, `format`, `unknown`,
    /// `duplicate`, `not_allowed`, `wrong_role`, `type`.
    pub code: String,
    /// For people.
    pub message: String,
}

/// Input refused, with every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} invalid field(s), first `{}`: {}", .0.len(), first_path(.0), first_message(.0))]
pub struct ValidationErrors(pub Vec<FieldError>);

fn first_path(errors: &[FieldError]) -> &str {
    errors.first().map_or("", |error| error.path.as_str())
}

fn first_message(errors: &[FieldError]) -> &str {
    errors.first().map_or("", |error| error.message.as_str())
}

/// Collects field errors while an input is checked.
#[derive(Debug, Default)]
pub(crate) struct Checker {
    errors: Vec<FieldError>,
}

impl Checker {
    pub(crate) fn new() -> Checker {
        Checker::default()
    }

    /// Records a problem at `path`.
    pub(crate) fn fail(&mut self, path: impl Into<String>, code: &str, message: impl Into<String>) {
        self.errors.push(FieldError {
            path: path.into(),
            code: code.to_owned(),
            message: message.into(),
        });
    }

    /// A required text of 1 to `max` characters once trimmed.
    pub(crate) fn name(&mut self, path: &str, value: &str, max: usize) {
        let trimmed = value.trim();
        if trimmed.is_empty() {
            self.fail(path, "required", "must not be empty");
        } else {
            self.max_len(path, trimmed, max);
        }
    }

    /// A text of at most `max` characters, without control characters other than
    /// newlines and tabs.
    pub(crate) fn max_len(&mut self, path: &str, value: &str, max: usize) {
        if value.chars().count() > max {
            self.fail(path, "too_long", format!("at most {max} characters"));
        } else if value
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
        {
            self.fail(path, "format", "control characters are not allowed");
        }
    }

    /// An optional text of at most `max` characters.
    pub(crate) fn optional(&mut self, path: &str, value: Option<&str>, max: usize) {
        if let Some(value) = value {
            self.max_len(path, value, max);
        }
    }

    /// `value` within `min..=max`.
    pub(crate) fn range(&mut self, path: &str, value: u32, min: u32, max: u32) {
        if !(min..=max).contains(&value) {
            self.fail(path, "out_of_range", format!("must be {min} to {max}"));
        }
    }

    /// An `http://` or `https://` URL with a host, at most 2,000 characters.
    pub(crate) fn url(&mut self, path: &str, value: &str) {
        let rest = value
            .strip_prefix("https://")
            .or_else(|| value.strip_prefix("http://"));
        let host_ok = rest.is_some_and(|rest| {
            let host = rest.split(['/', '?', '#']).next().unwrap_or("");
            !host.is_empty() && !host.contains(char::is_whitespace)
        });
        if value.len() > 2000 {
            self.fail(path, "too_long", "at most 2000 characters");
        } else if !host_ok || value.contains(char::is_whitespace) {
            self.fail(path, "format", "must be an http:// or https:// URL");
        }
    }

    /// A caller ID: `+` and digits, or digits, 1 to 32 of them (a display name is not
    /// sent by trunks reliably).
    pub(crate) fn caller_id(&mut self, path: &str, value: &str) {
        let digits = value.strip_prefix('+').unwrap_or(value);
        if digits.is_empty() || digits.len() > 32 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            self.fail(
                path,
                "format",
                "a caller ID is digits, optionally after `+`",
            );
        }
    }

    /// `Ok` when nothing was recorded, else every error.
    pub(crate) fn finish(self) -> Result<(), ValidationErrors> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ValidationErrors(self.errors))
        }
    }
}

/// A value read back from the database that the code does not know.
pub(crate) fn corrupt(field: &'static str, value: &str) -> crate::StoreError {
    crate::StoreError::Invalid {
        field,
        message: format!("unexpected `{value}` in the database"),
    }
}

/// Stored JSON, parsed.
pub(crate) fn json<T: serde::de::DeserializeOwned>(
    field: &'static str,
    text: &str,
) -> Result<T, crate::StoreError> {
    serde_json::from_str(text).map_err(|error| crate::StoreError::Invalid {
        field,
        message: format!("bad JSON in the database: {error}"),
    })
}

/// A value as JSON text, to store.
pub(crate) fn to_json<T: Serialize>(value: &T) -> Result<String, crate::StoreError> {
    serde_json::to_string(value).map_err(|error| crate::StoreError::Invalid {
        field: "json",
        message: error.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checker_keeps_every_error_with_its_path() {
        let mut checker = Checker::new();
        checker.name("name", "  ", 10);
        checker.max_len("speech", &"x".repeat(11), 10);
        checker.range("port", 0, 1, 65535);
        checker.url("url", "ftp://x");
        checker.url("ok", "https://crm.example/a?b=1");
        checker.caller_id("caller_id", "+55 11");
        checker.caller_id("fine", "+551130000000");
        let errors = checker.finish().unwrap_err().0;
        let found: Vec<(&str, &str)> = errors
            .iter()
            .map(|error| (error.path.as_str(), error.code.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                ("name", "required"),
                ("speech", "too_long"),
                ("port", "out_of_range"),
                ("url", "format"),
                ("caller_id", "format"),
            ]
        );
    }
}
