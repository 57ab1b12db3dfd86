//! `cpf-check`: a Ramal custom node that checks the contact's CPF (Brazilian taxpayer
//! number) checksum and compares the digits the caller typed with its first digits.
//!
//! Ports: `match` (the typed digits are the start of a valid CPF on the contact),
//! `mismatch` (they are not), `invalid-cpf` (the contact has no CPF, or its checksum is
//! wrong, or the caller typed all 11 digits and they fail the checksum). Sets `cpf_checked`.

use ramal_guest::{Context, Description, Node, NodeError, Outcome};
use serde::Deserialize;

/// The node.
pub struct CpfCheck;

/// Params: which contact field holds the CPF and how many digits the caller must type.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The contact field with the CPF (formatted or not).
    #[serde(default = "cpf_field")]
    pub field: String,
    /// How many typed digits must match (at least).
    #[serde(default = "three")]
    pub min_digits: usize,
}

fn cpf_field() -> String {
    "cpf".to_owned()
}
fn three() -> usize {
    3
}

/// Does `digits` (exactly 11 ASCII digits) pass the CPF checksum?
pub fn cpf_is_valid(digits: &[u8]) -> bool {
    if digits.len() != 11 || !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let values: Vec<u32> = digits.iter().map(|digit| u32::from(digit - b'0')).collect();
    if values.iter().all(|value| *value == values[0]) {
        return false;
    }
    let check = |count: usize| {
        let sum: u32 = values[..count]
            .iter()
            .enumerate()
            .map(|(index, value)| value * (count as u32 + 1 - index as u32))
            .sum();
        let rest = (sum * 10) % 11;
        if rest == 10 { 0 } else { rest }
    };
    check(9) == values[9] && check(10) == values[10]
}

fn only_digits(text: &str) -> Vec<u8> {
    text.bytes().filter(u8::is_ascii_digit).collect()
}

impl Node for CpfCheck {
    type Params = Params;

    fn describe() -> Description {
        Description::new(
            "cpf-check",
            "1.0.0",
            "Checks the contact's CPF and compares the digits typed with its start",
        )
        .ports(["match", "mismatch", "invalid-cpf"])
        .params_schema(serde_json::json!({
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "field": { "type": "string", "default": "cpf" },
                "min_digits": { "type": "integer", "minimum": 1, "maximum": 11, "default": 3 },
                "digits_from": { "type": "string", "description": "the variable with the typed digits (host setting)" }
            }
        }))
    }

    fn run(ctx: &Context, params: Params) -> Result<Outcome, NodeError> {
        let Some(stored) = ctx.contact(&params.field) else {
            return Ok(Outcome::port("invalid-cpf").set("cpf_checked", false));
        };
        let stored = only_digits(stored);
        if !cpf_is_valid(&stored) {
            return Ok(Outcome::port("invalid-cpf").set("cpf_checked", false));
        }
        let typed = only_digits(&ctx.digits);
        if typed.len() == 11 && !cpf_is_valid(&typed) {
            return Ok(Outcome::port("invalid-cpf").set("cpf_checked", false));
        }
        let port = if typed.len() >= params.min_digits && stored.starts_with(&typed) {
            "match"
        } else {
            "mismatch"
        };
        Ok(Outcome::port(port).set("cpf_checked", true))
    }
}

ramal_guest::export_node!(CpfCheck);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_cpfs_pass_and_altered_ones_fail() {
        assert!(cpf_is_valid(b"52998224725"));
        assert!(!cpf_is_valid(b"52998224726"));
        assert!(!cpf_is_valid(b"11111111111"));
        assert!(!cpf_is_valid(b"5299822472"));
    }

    fn context(cpf: &str, digits: &str) -> Context {
        Context {
            contact: [("cpf".to_owned(), cpf.to_owned())].into(),
            digits: digits.to_owned(),
            ..Context::default()
        }
    }

    fn port(cpf: &str, digits: &str) -> String {
        let params = Params {
            field: cpf_field(),
            min_digits: 3,
        };
        CpfCheck::run(&context(cpf, digits), params)
            .map(|outcome| outcome.port)
            .unwrap_or_default()
    }

    #[test]
    fn typed_prefix_routes() {
        assert_eq!(port("529.982.247-25", "529"), "match");
        assert_eq!(port("529.982.247-25", "52998224725"), "match");
        assert_eq!(port("529.982.247-25", "530"), "mismatch");
        assert_eq!(port("529.982.247-25", "52"), "mismatch");
        assert_eq!(port("529.982.247-26", "529"), "invalid-cpf");
    }
}
