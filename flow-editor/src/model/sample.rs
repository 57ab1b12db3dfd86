//! A large generated flow, for measuring the editor (open, render, drag) and for tests.

use super::empty_flow;
use ramal_flow::document::{FlowDocument, NodeDocument, NodeUi};
use serde_json::json;
use std::collections::BTreeMap;

/// A valid flow of `count` nodes (at least 2): `start`, then a chain that cycles through
/// play, menu, condition and set-variables nodes, every port connected, ending in a
/// `hangup`; laid out 20 to a row.
pub fn big_flow(count: usize) -> FlowDocument {
    let count = count.max(2);
    let mut doc = empty_flow("big", "A big flow");
    let id = |i: usize| {
        if i == 0 {
            "start".to_owned()
        } else {
            format!("n{i}")
        }
    };
    let last = id(count - 1);
    doc.nodes.clear();
    for i in 0..count {
        let next = id(i + 1);
        let (kind, params, ports): (&str, _, Vec<(&str, String)>) = if i == 0 {
            ("start", json!({}), vec![("next", next)])
        } else if i == count - 1 {
            ("hangup", json!({}), vec![])
        } else {
            match i % 4 {
                0 => (
                    "play",
                    json!({ "prompt": { "tts": format!("Step {i}.") } }),
                    vec![("next", next)],
                ),
                1 => (
                    "menu",
                    json!({ "prompt": { "tts": "Press 1 or 2." }, "options": { "1": "a", "2": "b" } }),
                    vec![
                        ("1", next.clone()),
                        ("2", next),
                        ("no-input", last.clone()),
                        ("invalid", last.clone()),
                    ],
                ),
                2 => (
                    "condition",
                    json!({ "expr": "call.caller != ''" }),
                    vec![
                        ("true", next.clone()),
                        ("false", next),
                        ("error", last.clone()),
                    ],
                ),
                _ => (
                    "set-variables",
                    json!({ "assign": { format!("v{i}"): "1" } }),
                    vec![("next", next), ("error", last.clone())],
                ),
            }
        };
        doc.nodes.push(NodeDocument {
            id: id(i),
            kind: kind.to_owned(),
            params,
            ports: ports
                .into_iter()
                .map(|(port, target)| (port.to_owned(), target))
                .collect::<BTreeMap<_, _>>(),
            ui: Some(NodeUi {
                x: (i % 20) as f64 * 260.0,
                y: (i / 20) as f64 * 140.0,
                label: None,
            }),
        });
    }
    doc
}
