//! What can be put on the canvas: the built-in kinds (from `ramal-flow`'s catalog) and the
//! installed custom Wasm nodes, each with the parameters a new node starts with, and the
//! output ports a node shows.

use ramal_flow::catalog::NodeKind;
use ramal_flow::compile::{CustomNodeInfo, Environment};
use ramal_flow::document::NodeDocument;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// An installed custom node, as `GET /api/nodes` describes it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CustomNodeSpec {
    /// Module name.
    pub module: String,
    /// Module version.
    pub version: String,
    /// One line for the palette.
    #[serde(default)]
    pub description: String,
    /// Output ports besides `error`.
    #[serde(default)]
    pub ports: Vec<String>,
    /// JSON Schema of the node's own `params`.
    #[serde(default)]
    pub params_schema: Value,
}

/// One entry of the palette.
#[derive(Debug, Clone, PartialEq)]
pub struct PaletteItem {
    /// The document kind (`menu`, or `custom` for Wasm nodes).
    pub kind: String,
    /// What the palette shows.
    pub title: String,
    /// One line of help.
    pub summary: String,
    /// For custom nodes: which module.
    pub custom: Option<(String, String)>,
}

/// The palette: built-in kinds in catalog order (except `start`, of which a flow has one),
/// then the installed custom nodes.
pub fn palette(custom: &[CustomNodeSpec]) -> Vec<PaletteItem> {
    let builtin = NodeKind::all()
        .filter(|kind| *kind != NodeKind::Start && *kind != NodeKind::Custom)
        .map(|kind| PaletteItem {
            kind: kind.name().to_owned(),
            title: kind.name().to_owned(),
            summary: kind.info().summary.to_owned(),
            custom: None,
        });
    let modules = custom.iter().map(|spec| PaletteItem {
        kind: "custom".to_owned(),
        title: format!("{}@{}", spec.module, spec.version),
        summary: spec.description.clone(),
        custom: Some((spec.module.clone(), spec.version.clone())),
    });
    builtin.chain(modules).collect()
}

/// The parameters a new node of `kind` starts with: the required ones filled with
/// examples a supervisor edits, so a fresh node is valid wherever that is possible.
pub fn default_params(kind: &str, custom: Option<&(String, String)>) -> Value {
    match kind {
        "play" => json!({ "prompt": { "tts": "Welcome." } }),
        "menu" => json!({
            "prompt": { "tts": "For sales, press 1. For support, press 2." },
            "options": { "1": "Sales", "2": "Support" }
        }),
        "collect" => json!({
            "prompt": { "tts": "Please type the first three digits of your CPF." },
            "min_digits": 3, "max_digits": 3, "store": "digits"
        }),
        "condition" => json!({ "expr": "call.caller != ''" }),
        "switch" => json!({ "cases": [ { "port": "vip", "expr": "contact.vip == true" } ] }),
        "time-range" => json!({
            "timezone": "America/Sao_Paulo",
            "weekly": { "mon": ["08:00-18:00"], "tue": ["08:00-18:00"], "wed": ["08:00-18:00"],
                        "thu": ["08:00-18:00"], "fri": ["08:00-18:00"] }
        }),
        "set-variables" => json!({ "assign": { "tries": "0" } }),
        "http-request" => json!({ "method": "POST", "url": "https://example.com/webhook" }),
        "custom" => match custom {
            Some((module, version)) => {
                json!({ "module": module, "version": version, "params": {} })
            }
            None => json!({ "module": "", "version": "" }),
        },
        "queue" => json!({ "queue": "sales" }),
        "transfer" => json!({ "to": "+5511999990000" }),
        "voicemail" => json!({ "prompt": { "tts": "Please leave a message after the tone." } }),
        "survey" => json!({
            "survey": "satisfaction",
            "question": { "tts": "From 1 to 5, how satisfied are you?" }
        }),
        "subflow" => json!({ "flow": "" }),
        "exit" => json!({ "port": "done" }),
        _ => json!({}),
    }
}

/// The output ports a node shows, in order: the kind's fixed ports, then those its
/// parameters make (menu digits, switch cases, module ports, the called flow's exits), then
/// any port the document connects that the node does not have (validation reports it; the
/// canvas shows it so it can be removed).
pub fn ports_of(node: &NodeDocument, environment: &Environment) -> Vec<String> {
    let mut ports: Vec<String> = Vec::new();
    let add = |name: &str, ports: &mut Vec<String>| {
        if !ports.iter().any(|port| port == name) {
            ports.push(name.to_owned());
        }
    };
    let kind = NodeKind::from_name(&node.kind);
    match kind {
        Some(NodeKind::Menu) => {
            if let Some(options) = node.params.get("options").and_then(Value::as_object) {
                for digit in options.keys() {
                    add(digit, &mut ports);
                }
            }
        }
        Some(NodeKind::Switch) => {
            if let Some(cases) = node.params.get("cases").and_then(Value::as_array) {
                for port in cases.iter().filter_map(|case| case.get("port")?.as_str()) {
                    add(port, &mut ports);
                }
            }
        }
        Some(NodeKind::Custom) => {
            let module = node.params.get("module").and_then(Value::as_str);
            let version = node.params.get("version").and_then(Value::as_str);
            if let (Some(module), Some(version), Some(registry)) =
                (module, version, environment.custom_nodes.as_ref())
                && let Some(info) = registry.get(&(module.to_owned(), version.to_owned()))
            {
                for port in &info.ports {
                    add(port, &mut ports);
                }
            }
        }
        Some(NodeKind::Subflow) => {
            let called = node.params.get("flow").and_then(Value::as_str);
            if let Some(flow) = called.and_then(|id| environment.flows.get(id)) {
                for port in flow.exit_ports() {
                    add(port, &mut ports);
                }
            }
        }
        _ => {}
    }
    if let Some(kind) = kind {
        for port in kind.info().fixed_ports {
            add(port, &mut ports);
        }
    }
    for port in node.ports.keys() {
        add(port, &mut ports);
    }
    ports
}

/// The validation environment for installed custom nodes.
pub fn custom_registry(custom: &[CustomNodeSpec]) -> BTreeMap<(String, String), CustomNodeInfo> {
    custom
        .iter()
        .map(|spec| {
            (
                (spec.module.clone(), spec.version.clone()),
                CustomNodeInfo {
                    ports: spec.ports.clone(),
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ramal_flow::catalog::NodeParams;

    #[test]
    fn every_new_node_starts_with_parameters_its_kind_accepts() {
        for kind in NodeKind::all() {
            let params = default_params(kind.name(), Some(&("m".into(), "1.0.0".into())));
            if let Err(error) = NodeParams::parse(kind, &params) {
                panic!("{}: {} at {}", kind.name(), error.message, error.path);
            }
        }
    }

    #[test]
    fn ports_come_from_the_kind_the_params_and_the_document() {
        let node: NodeDocument = serde_json::from_value(json!({
            "id": "m", "kind": "menu",
            "params": { "prompt": { "tts": "x" }, "options": { "1": "a", "2": "b" } },
            "ports": { "1": "x", "9": "y" }
        }))
        .expect("a node");
        let ports = ports_of(&node, &Environment::default());
        assert_eq!(ports, ["1", "2", "no-input", "invalid", "9"]);
    }

    #[test]
    fn custom_ports_come_from_the_registry() {
        let spec = CustomNodeSpec {
            module: "cpf-check".into(),
            version: "0.1.0".into(),
            description: "checks".into(),
            ports: vec!["valid".into(), "invalid".into()],
            params_schema: Value::Null,
        };
        let environment = Environment {
            custom_nodes: Some(custom_registry(std::slice::from_ref(&spec))),
            ..Environment::default()
        };
        let node: NodeDocument = serde_json::from_value(json!({
            "id": "c", "kind": "custom",
            "params": { "module": "cpf-check", "version": "0.1.0" }
        }))
        .expect("a node");
        let ports = ports_of(&node, &environment);
        assert_eq!(ports, ["valid", "invalid", "error"]);
        let items = palette(&[spec]);
        assert!(items.iter().any(|item| item.title == "cpf-check@0.1.0"));
        assert!(!items.iter().any(|item| item.kind == "start"));
    }
}
