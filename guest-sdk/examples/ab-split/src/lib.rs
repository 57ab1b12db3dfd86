//! `ab-split`: a Ramal custom node that sends calls down port `a` or `b` with the given
//! weights. The choice is seeded from the call id, so a call that passes the node twice
//! takes the same branch, and a replayed call is reproducible. Sets `ab_branch` and counts
//! the calls per branch in the module's key-value store (`count-a`, `count-b`).

use ramal_guest::{Context, Description, Node, NodeError, Outcome, kv};
use serde::Deserialize;

/// The node.
pub struct AbSplit;

/// Params: the weights of `a` and `b` (any non-negative integers, not both 0).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Weight of port `a`.
    #[serde(default = "fifty")]
    pub a: u32,
    /// Weight of port `b`.
    #[serde(default = "fifty")]
    pub b: u32,
}

fn fifty() -> u32 {
    50
}

/// FNV-1a, 64 bits: a stable hash with no dependencies.
pub fn seed(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The branch for `call_id` given the weights.
pub fn branch(call_id: &str, a: u32, b: u32) -> Option<&'static str> {
    let total = u64::from(a) + u64::from(b);
    if total == 0 {
        return None;
    }
    // splitmix64 finalizer so that similar ids spread evenly.
    let mut mixed = seed(call_id);
    mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    mixed ^= mixed >> 31;
    Some(if mixed % total < u64::from(a) {
        "a"
    } else {
        "b"
    })
}

fn count(port: &str) {
    let key = format!("count-{port}");
    let current = kv::get(&key)
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.parse::<u64>().ok())
        .unwrap_or(0);
    // A full store only loses the statistics, never the call.
    let _ = kv::set(&key, (current + 1).to_string().as_bytes());
}

impl Node for AbSplit {
    type Params = Params;

    fn describe() -> Description {
        Description::new("ab-split", "1.0.0", "Weighted A/B split, stable per call")
            .ports(["a", "b"])
            .params_schema(serde_json::json!({
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "a": { "type": "integer", "minimum": 0, "default": 50 },
                    "b": { "type": "integer", "minimum": 0, "default": 50 }
                }
            }))
    }

    fn run(ctx: &Context, params: Params) -> Result<Outcome, NodeError> {
        let port = branch(&ctx.call_id, params.a, params.b)
            .ok_or_else(|| NodeError::InvalidParams("the weights are both 0".to_owned()))?;
        if cfg!(target_arch = "wasm32") {
            count(port);
        }
        Ok(Outcome::port(port).set("ab_branch", port))
    }
}

ramal_guest::export_node!(AbSplit);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_split_follows_the_weights_and_is_stable() {
        let ids: Vec<String> = (0..10_000).map(|n| format!("call-{n}")).collect();
        let a = ids
            .iter()
            .filter(|id| branch(id, 70, 30) == Some("a"))
            .count();
        assert!((6_700..7_300).contains(&a), "{a} of 10000 took a");
        assert_eq!(branch("x", 1, 1), branch("x", 1, 1));
        assert_eq!(branch("x", 0, 5), Some("b"));
        assert_eq!(branch("x", 0, 0), None);
    }
}
