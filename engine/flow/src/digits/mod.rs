//! Validating the digits a caller typed: the rules of the `collect` node.
//!
//! A list of [`DigitRule`]s is written in the flow document, compiled once
//! into a [`DigitValidator`], and checked against each input; the first rule
//! that fails gives the [`Rejection`].

mod checksum;

#[cfg(test)]
mod tests;

use regex::{Regex, RegexBuilder};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use checksum::{is_valid_cnpj, is_valid_cpf, is_valid_luhn};

/// Size limit of a compiled `regex` rule, in bytes.
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// Nesting limit of a `regex` rule's pattern.
pub const REGEX_NEST_LIMIT: u32 = 32;

/// The `code` of each kind of [`Rejection`].
pub mod code {
    /// The input does not match a `regex` rule.
    pub const REGEX: &str = "digits.regex";
    /// The input is too short or too long for a `length` rule.
    pub const LENGTH: &str = "digits.length";
    /// The input is not a valid CPF.
    pub const CPF: &str = "digits.cpf";
    /// The input is not a valid CNPJ.
    pub const CNPJ: &str = "digits.cnpj";
    /// The input fails the Luhn check.
    pub const LUHN: &str = "digits.luhn";
    /// The input differs from the referenced value's digits.
    pub const EQUALS: &str = "digits.equals";
    /// The input is empty or not the start of the referenced value's digits.
    pub const PREFIX: &str = "digits.prefix";
    /// The referenced variable is not set or holds no digits.
    pub const MISSING_REFERENCE: &str = "digits.missing_reference";
}

/// One validation rule for typed digits. Written as `{"regex": "^[0-9]{3}$"}`,
/// `{"length": {"min": 3, "max": 11}}`, `"cpf"`, `"cnpj"`, `"luhn"`,
/// `{"equals": "contact.cpf"}` or `{"prefix-of": "contact.cpf"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum DigitRule {
    /// The digits must match this regular expression (not anchored implicitly:
    /// use ^ and $ to match the whole input).
    Regex(String),
    /// The number of digits typed must be within these bounds (inclusive).
    Length {
        /// Fewest digits accepted; no lower bound if missing.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<u32>,
        /// Most digits accepted; no upper bound if missing.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<u32>,
    },
    /// The digits must be a valid CPF (11 digits with both check digits right).
    Cpf,
    /// The digits must be a valid CNPJ (14 digits with both check digits right).
    Cnpj,
    /// The digits must pass the Luhn check (card numbers and similar).
    Luhn,
    /// The digits must equal the digits of this variable, like "contact.cpf"
    /// (punctuation in the variable's value is ignored).
    Equals(#[schemars(length(min = 1))] String),
    /// The digits must be the start of this variable's digits, like
    /// "contact.cpf" (punctuation in the value is ignored; empty input never matches).
    PrefixOf(#[schemars(length(min = 1))] String),
}

/// A rule ready to check.
#[derive(Debug, Clone)]
enum Compiled {
    Regex(Regex),
    Length { min: Option<u32>, max: Option<u32> },
    Cpf,
    Cnpj,
    Luhn,
    Equals(String),
    PrefixOf(String),
}

/// Compiled rules (regexes built once with a size limit of 1 MiB and a nest
/// limit of 32).
#[derive(Debug, Clone)]
pub struct DigitValidator {
    rules: Vec<Compiled>,
}

/// Why an input was refused: the first failing rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Rejection {
    /// Index of the failing rule in the list.
    pub rule: usize,
    /// Machine-readable reason, one of the constants in [`code`].
    pub code: &'static str,
    /// What went wrong, for logs and tests (never contains the typed digits).
    pub message: String,
}

/// Compiles one rule, or says why it is bad.
fn compile_rule(rule: &DigitRule) -> Result<Compiled, String> {
    let path = |p: &str| {
        if p.trim().is_empty() {
            Err("the variable path is empty: name a variable like \"contact.cpf\"".to_owned())
        } else {
            Ok(p.trim().to_owned())
        }
    };
    Ok(match rule {
        DigitRule::Regex(pattern) => RegexBuilder::new(pattern)
            .size_limit(REGEX_SIZE_LIMIT)
            .nest_limit(REGEX_NEST_LIMIT)
            .build()
            .map(Compiled::Regex)
            .map_err(|e| format!("invalid regular expression: {e}"))?,
        DigitRule::Length { min, max } => {
            if let (Some(lo), Some(hi)) = (min, max)
                && lo > hi
            {
                return Err(format!("length min ({lo}) is greater than max ({hi})"));
            }
            Compiled::Length {
                min: *min,
                max: *max,
            }
        }
        DigitRule::Cpf => Compiled::Cpf,
        DigitRule::Cnpj => Compiled::Cnpj,
        DigitRule::Luhn => Compiled::Luhn,
        DigitRule::Equals(p) => Compiled::Equals(path(p)?),
        DigitRule::PrefixOf(p) => Compiled::PrefixOf(path(p)?),
    })
}

/// Resolves `path` and keeps only its ASCII digits; a rejection if the variable
/// is missing or holds no digits.
fn referenced_digits(
    rule: usize,
    path: &str,
    resolve: &dyn Fn(&str) -> Option<String>,
) -> Result<String, Rejection> {
    let missing = |what: &str| Rejection {
        rule,
        code: code::MISSING_REFERENCE,
        message: format!("cannot compare: {path} {what}"),
    };
    let value = resolve(path).ok_or_else(|| missing("is not set"))?;
    let digits: String = value.chars().filter(char::is_ascii_digit).collect();
    if digits.is_empty() {
        return Err(missing("has no digits"));
    }
    Ok(digits)
}

impl DigitValidator {
    /// Compiles the rules. Errors (index of the rule, message) for every bad
    /// rule: bad or too large regex, `min` greater than `max`, empty variable path.
    pub fn compile(rules: &[DigitRule]) -> Result<DigitValidator, Vec<(usize, String)>> {
        let mut compiled = Vec::with_capacity(rules.len());
        let mut errors = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            match compile_rule(rule) {
                Ok(c) => compiled.push(c),
                Err(e) => errors.push((i, e)),
            }
        }
        if errors.is_empty() {
            Ok(DigitValidator { rules: compiled })
        } else {
            Err(errors)
        }
    }

    /// The variable paths the rules read, each once, in rule order (for the
    /// flow validator's "unknown variable" check).
    pub fn references(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for rule in &self.rules {
            if let Compiled::Equals(p) | Compiled::PrefixOf(p) = rule
                && !out.contains(&p.as_str())
            {
                out.push(p);
            }
        }
        out
    }

    /// Checks `input` against every rule in order; the first failing rule is
    /// the outcome. `resolve(path)` returns a referenced variable's value as a
    /// string, or `None` if it is missing (which fails the rule with code
    /// `digits.missing_reference`).
    pub fn check(
        &self,
        input: &str,
        resolve: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(), Rejection> {
        for (i, rule) in self.rules.iter().enumerate() {
            let fail = |code: &'static str, message: String| {
                Err(Rejection {
                    rule: i,
                    code,
                    message,
                })
            };
            match rule {
                Compiled::Regex(re) => {
                    if !re.is_match(input) {
                        return fail(
                            code::REGEX,
                            format!("the digits do not match the pattern {}", re.as_str()),
                        );
                    }
                }
                Compiled::Length { min, max } => {
                    let n = u32::try_from(input.chars().count()).unwrap_or(u32::MAX);
                    let too_short = min.is_some_and(|lo| n < lo);
                    let too_long = max.is_some_and(|hi| n > hi);
                    if too_short || too_long {
                        let expected = match (min, max) {
                            (Some(lo), Some(hi)) if lo == hi => format!("exactly {lo}"),
                            (Some(lo), Some(hi)) => format!("between {lo} and {hi}"),
                            (Some(lo), None) => format!("at least {lo}"),
                            (None, Some(hi)) => format!("at most {hi}"),
                            (None, None) => String::new(),
                        };
                        return fail(code::LENGTH, format!("expected {expected} digits, got {n}"));
                    }
                }
                Compiled::Cpf => {
                    if !is_valid_cpf(input) {
                        return fail(code::CPF, "the digits are not a valid CPF".into());
                    }
                }
                Compiled::Cnpj => {
                    if !is_valid_cnpj(input) {
                        return fail(code::CNPJ, "the digits are not a valid CNPJ".into());
                    }
                }
                Compiled::Luhn => {
                    if !is_valid_luhn(input) {
                        return fail(code::LUHN, "the digits fail the Luhn check".into());
                    }
                }
                Compiled::Equals(path) => {
                    let want = referenced_digits(i, path, resolve)?;
                    if input != want {
                        return fail(code::EQUALS, format!("the digits do not match {path}"));
                    }
                }
                Compiled::PrefixOf(path) => {
                    let want = referenced_digits(i, path, resolve)?;
                    if input.is_empty() {
                        return fail(code::PREFIX, "no digits were typed".into());
                    }
                    if !want.starts_with(input) {
                        return fail(
                            code::PREFIX,
                            format!("the digits are not the start of {path}"),
                        );
                    }
                }
            }
        }
        Ok(())
    }
}
