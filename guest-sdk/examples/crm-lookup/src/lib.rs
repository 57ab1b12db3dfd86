//! `crm-lookup`: a Ramal custom node that looks the contact up in a CRM over HTTP (through
//! the host's `http` import, so only hosts the operator allowed are reachable) and maps
//! fields of the JSON answer into flow variables.
//!
//! Ports: `found` (2xx with a JSON body), `not-found` (404, or the key field is empty).
//! Anything else — a refused host, a timeout, a 5xx, a body that is not JSON — is a
//! `NodeError`, so the call takes the node's `error` port and the trace says why.

use ramal_guest::{Context, Description, Node, NodeError, Outcome, http, log};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The node.
pub struct CrmLookup;

/// Params.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The CRM endpoint; `{key}` is replaced with the (URL-encoded) key.
    pub url: String,
    /// The contact field used as the key (default `id`).
    #[serde(default = "id")]
    pub key_field: String,
    /// JSON pointer in the answer → variable name.
    #[serde(default)]
    pub map: BTreeMap<String, String>,
    /// Timeout in milliseconds (the host caps it).
    #[serde(default = "timeout")]
    pub timeout_ms: u32,
}

fn id() -> String {
    "id".to_owned()
}
fn timeout() -> u32 {
    800
}

/// Percent-encodes everything but unreserved characters.
pub fn encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// Maps the answer's fields into variables (missing pointers are skipped).
pub fn map_fields(
    body: &serde_json::Value,
    map: &BTreeMap<String, String>,
    outcome: Outcome,
) -> Outcome {
    map.iter().fold(outcome, |outcome, (pointer, variable)| {
        match body.pointer(pointer) {
            Some(value) => outcome.set(variable, value.clone()),
            None => outcome,
        }
    })
}

impl Node for CrmLookup {
    type Params = Params;

    fn describe() -> Description {
        Description::new(
            "crm-lookup",
            "1.0.0",
            "Looks the contact up in a CRM and copies fields into variables",
        )
        .ports(["found", "not-found"])
        .params_schema(serde_json::json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["url"],
            "properties": {
                "url": { "type": "string", "description": "`{key}` is replaced with the key" },
                "key_field": { "type": "string", "default": "id" },
                "map": { "type": "object", "additionalProperties": { "type": "string" } },
                "timeout_ms": { "type": "integer", "minimum": 1, "default": 800 }
            }
        }))
    }

    fn run(ctx: &Context, params: Params) -> Result<Outcome, NodeError> {
        let key = ctx.contact(&params.key_field).unwrap_or_default().trim();
        if key.is_empty() {
            return Ok(Outcome::port("not-found"));
        }
        let url = params.url.replace("{key}", &encode(key));
        let response = http::get(&url, params.timeout_ms)
            .map_err(|error| NodeError::failed(format!("CRM request failed: {error:?}")))?;
        match response.status {
            404 => Ok(Outcome::port("not-found")),
            200..=299 => {
                let body = http::json(&response).map_err(|error| {
                    NodeError::failed(format!("CRM answer is not JSON: {error}"))
                })?;
                log::debug(&format!(
                    "CRM answered for contact field {}",
                    params.key_field
                ));
                Ok(map_fields(&body, &params.map, Outcome::port("found")))
            }
            status => Err(NodeError::failed(format!("CRM answered {status}"))),
        }
    }
}

ramal_guest::export_node!(CrmLookup);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_encoded_and_fields_mapped() {
        assert_eq!(encode("a b/ç"), "a%20b%2F%C3%A7");
        let map = BTreeMap::from([
            ("/customer/tier".to_owned(), "tier".to_owned()),
            ("/missing".to_owned(), "nope".to_owned()),
        ]);
        let outcome = map_fields(
            &json!({"customer": {"tier": "gold"}}),
            &map,
            Outcome::port("found"),
        );
        assert_eq!(outcome.set.get("tier"), Some(&json!("gold")));
        assert!(!outcome.set.contains_key("nope"));
    }
}
