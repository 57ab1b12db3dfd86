//! The JSON Schema of `ramal.flow/v1` and the node reference in `docs/flow-format.md`, both
//! generated from the catalog's types so they cannot drift from the code (a test compares
//! the committed files with what this module generates).

use crate::catalog::NodeKind;
use crate::document::{FlowDocument, SCHEMA_V1};
use serde_json::{Value, json};

/// The JSON Schema of a flow document: the document's shape, and for each node kind the
/// schema of its `params` (selected by `kind`).
pub fn document_schema() -> Value {
    let mut schema =
        serde_json::to_value(schemars::schema_for!(FlowDocument)).unwrap_or(Value::Null);
    let mut branches = Vec::new();
    let mut definitions = serde_json::Map::new();
    for kind in NodeKind::all() {
        let mut params = serde_json::to_value(kind.params_schema()).unwrap_or(Value::Null);
        if let Some(object) = params.as_object_mut() {
            object.remove("$schema");
            if let Some(Value::Object(defs)) = object.remove("$defs") {
                for (name, definition) in defs {
                    definitions.insert(name, definition);
                }
            }
        }
        branches.push(json!({
            "if": { "properties": { "kind": { "const": kind.name() } } },
            "then": { "properties": { "params": params } }
        }));
    }
    if let Some(object) = schema.as_object_mut() {
        object.insert(
            "$id".into(),
            json!("https://ramal.dev/schema/ramal.flow-v1.json"),
        );
        if let Some(Value::Object(properties)) = object.get_mut("properties") {
            properties.insert("schema".into(), json!({ "const": SCHEMA_V1 }));
        }
        let defs = object.entry("$defs").or_insert_with(|| json!({}));
        if let Some(defs) = defs.as_object_mut() {
            for (name, definition) in definitions {
                defs.entry(name).or_insert(definition);
            }
            if let Some(node) = defs.get_mut("NodeDocument").and_then(Value::as_object_mut) {
                let kinds: Vec<&str> = NodeKind::all().map(NodeKind::name).collect();
                if let Some(Value::Object(properties)) = node.get_mut("properties") {
                    properties.insert(
                        "kind".into(),
                        json!({ "enum": kinds, "description": "The node kind." }),
                    );
                }
                node.insert("allOf".into(), Value::Array(branches));
            }
        }
    }
    schema
}

/// The node reference in Markdown: for each kind, what it does, its ports and a table of
/// its parameters with types, defaults and descriptions.
pub fn node_reference_markdown() -> String {
    let mut out = String::new();
    for kind in NodeKind::all() {
        let info = kind.info();
        out.push_str(&format!("### `{}`\n\n{}\n\n", info.name, info.summary));
        let schema = serde_json::to_value(kind.params_schema()).unwrap_or(Value::Null);
        let ports = match kind {
            NodeKind::Menu => "one per option digit, `no-input`, `invalid`".to_owned(),
            NodeKind::Switch => "one per case (`cases[].port`), `default`, `error`".to_owned(),
            NodeKind::Custom => "those the module declares, and `error`".to_owned(),
            NodeKind::Subflow => "the called flow's `exit` port names".to_owned(),
            _ if info.fixed_ports.is_empty() => "none".to_owned(),
            _ => info
                .fixed_ports
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", "),
        };
        out.push_str(&format!("Ports: {ports}.\n\n"));
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if let Some(Value::Object(properties)) = schema.get("properties") {
            out.push_str("| param | type | default | description |\n|---|---|---|---|\n");
            for (name, property) in properties {
                let default = match property.get("default") {
                    Some(value) => format!("`{value}`"),
                    None if required.contains(&name.as_str()) => "required".to_owned(),
                    None => "—".to_owned(),
                };
                let description = property
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                out.push_str(&format!(
                    "| `{name}` | {} | {default} | {} |\n",
                    type_of(property),
                    one_line(description).replace('|', "\\|")
                ));
            }
            out.push('\n');
        } else {
            out.push_str("No parameters.\n\n");
        }
    }
    out
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn type_of(property: &Value) -> String {
    if let Some(reference) = property.get("$ref").and_then(Value::as_str) {
        return reference.rsplit('/').next().unwrap_or("object").to_owned();
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(options)) = property.get(key) {
            let names: Vec<String> = options
                .iter()
                .map(type_of)
                .filter(|name| name != "null")
                .collect();
            return names.join(" or ");
        }
    }
    match property.get("type") {
        Some(Value::String(name)) if name == "array" => {
            format!(
                "list of {}",
                property
                    .get("items")
                    .map(type_of)
                    .unwrap_or_else(|| "any".into())
            )
        }
        Some(Value::String(name)) => name.clone(),
        Some(Value::Array(names)) => names
            .iter()
            .filter_map(Value::as_str)
            .filter(|name| *name != "null")
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "any".to_owned(),
    }
}
