//! The flow document, `ramal.flow/v1`: the JSON a supervisor's editor saves and the engine
//! loads. This is the stable, versioned format; node parameters stay raw JSON here and are
//! typed by the catalog during validation, so one bad node never hides the others.

use crate::diagnostic::Diagnostic;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The schema identifier this crate reads and writes.
pub const SCHEMA_V1: &str = "ramal.flow/v1";
/// The largest document accepted, in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 4 * 1024 * 1024;
/// The most nodes a flow may have.
pub const MAX_NODES: usize = 5000;

/// A flow as stored and exchanged: the `ramal.flow/v1` document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowDocument {
    /// Always `"ramal.flow/v1"` for this version of the format.
    pub schema: String,
    /// A stable identifier: lowercase letters, digits, `-` and `_`.
    pub id: String,
    /// The name people see.
    pub name: String,
    /// The version number; the store assigns it on publish.
    #[serde(default)]
    pub version: u32,
    /// What the flow is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Flow variables and their defaults. Nodes may also create variables (`store`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub variables: BTreeMap<String, VariableDecl>,
    /// The nodes. Exactly one has kind `start`.
    pub nodes: Vec<NodeDocument>,
}

/// A declared flow variable.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VariableDecl {
    /// The value the variable starts with (`null` if absent).
    #[serde(default)]
    pub default: Value,
    /// What the variable holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// One node of the flow graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeDocument {
    /// Unique within the flow.
    pub id: String,
    /// The node kind, e.g. `menu`; see `docs/flow-format.md`.
    pub kind: String,
    /// The kind's parameters.
    #[serde(default = "empty_object")]
    pub params: Value,
    /// Output port name → the id of the node it leads to.
    #[serde(default)]
    pub ports: BTreeMap<String, String>,
    /// Where the editor draws the node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ui: Option<NodeUi>,
}

/// Editor layout of a node; the engine ignores it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeUi {
    /// Horizontal position on the canvas.
    pub x: f64,
    /// Vertical position on the canvas.
    pub y: f64,
    /// A label shown instead of the id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

#[derive(Deserialize)]
struct SchemaHeader {
    schema: Option<Value>,
}

impl FlowDocument {
    /// Reads a document from JSON text. Every failure is a diagnostic with a JSON path:
    /// too large, not JSON, an unknown schema version, or the wrong shape.
    pub fn from_json(text: &str) -> Result<FlowDocument, Diagnostic> {
        if text.len() > MAX_DOCUMENT_BYTES {
            return Err(Diagnostic::error(
                "document.too_large",
                "",
                format!(
                    "the document is {} bytes; the limit is {MAX_DOCUMENT_BYTES}",
                    text.len()
                ),
            ));
        }
        let header: SchemaHeader = serde_json::from_str(text).map_err(|error| {
            Diagnostic::error("document.syntax", "", format!("not a JSON object: {error}"))
        })?;
        match header.schema {
            Some(Value::String(schema)) if schema == SCHEMA_V1 => {}
            Some(Value::String(schema)) => {
                return Err(Diagnostic::error(
                    "document.schema_version",
                    "/schema",
                    format!("unknown schema `{schema}`; this version of Ramal reads `{SCHEMA_V1}`"),
                ));
            }
            _ => {
                return Err(Diagnostic::error(
                    "document.schema_version",
                    "/schema",
                    format!("missing `\"schema\": \"{SCHEMA_V1}\"`"),
                ));
            }
        }
        let deserializer = &mut serde_json::Deserializer::from_str(text);
        let document: FlowDocument =
            serde_path_to_error::deserialize(deserializer).map_err(|error| {
                let path = json_pointer_of(error.path());
                Diagnostic::error("document.shape", path, error.inner().to_string())
            })?;
        if document.nodes.len() > MAX_NODES {
            return Err(Diagnostic::error(
                "document.too_large",
                "/nodes",
                format!(
                    "the flow has {} nodes; the limit is {MAX_NODES}",
                    document.nodes.len()
                ),
            ));
        }
        Ok(document)
    }

    /// The document as pretty JSON.
    pub fn to_json_pretty(&self) -> String {
        // Serializing plain data with string keys cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// Turns a serde_path_to_error path (`nodes[3].params`) into a JSON pointer (`/nodes/3/params`).
pub(crate) fn json_pointer_of(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut pointer = String::new();
    for segment in path.iter() {
        pointer.push('/');
        match segment {
            Segment::Seq { index } => pointer.push_str(&index.to_string()),
            Segment::Map { key } => pointer.push_str(&crate::diagnostic::pointer_segment(key)),
            Segment::Enum { variant } => {
                pointer.push_str(&crate::diagnostic::pointer_segment(variant))
            }
            Segment::Unknown => pointer.push('?'),
        }
    }
    pointer
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(text: &str) -> (String, String) {
        let diagnostic = FlowDocument::from_json(text).unwrap_err();
        (diagnostic.code, diagnostic.json_path)
    }

    #[test]
    fn bad_documents_are_diagnostics_with_paths() {
        let cases = [
            ("", "document.syntax", ""),
            ("[1,2]", "document.syntax", ""),
            (
                "{\"schema\": \"ramal.flow/v9\", \"nodes\": []}",
                "document.schema_version",
                "/schema",
            ),
            ("{\"nodes\": []}", "document.schema_version", "/schema"),
            (
                r#"{"schema":"ramal.flow/v1","id":"a","name":"a","nodes":[{"id":"s","kind":"start","ports":{"next":5}}]}"#,
                "document.shape",
                "/nodes/0/ports/next",
            ),
            (
                r#"{"schema":"ramal.flow/v1","id":"a","name":"a","nodes":[],"extra":1}"#,
                "document.shape",
                "/extra",
            ),
        ];
        for (text, code, path) in cases {
            assert_eq!(code_of(text), (code.to_owned(), path.to_owned()), "{text}");
        }
    }

    #[test]
    fn huge_and_deeply_nested_documents_are_refused_cleanly() {
        let huge = format!(
            "{{\"schema\":\"ramal.flow/v1\",\"pad\":\"{}\"}}",
            "x".repeat(MAX_DOCUMENT_BYTES)
        );
        assert_eq!(code_of(&huge).0, "document.too_large");
        let nested = format!(
            "{{\"schema\":\"ramal.flow/v1\",\"id\":\"a\",\"name\":\"a\",\"nodes\":[{{\"id\":\"s\",\"kind\":\"start\",\"params\":{}{}}}]}}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        // Refused by the full parse's depth limit (the header pass skips what it ignores).
        assert_eq!(code_of(&nested).0, "document.shape");
    }

    #[test]
    fn a_document_round_trips() {
        let text = r#"{"schema":"ramal.flow/v1","id":"a","name":"A","version":2,
            "variables":{"tries":{"default":0}},
            "nodes":[{"id":"s","kind":"start","ports":{"next":"h"},"ui":{"x":1.0,"y":2.0}},
                     {"id":"h","kind":"hangup"}]}"#;
        let document = FlowDocument::from_json(text).unwrap();
        let again = FlowDocument::from_json(&document.to_json_pretty()).unwrap();
        assert_eq!(document, again);
        assert_eq!(document.nodes[1].params, serde_json::json!({}));
    }
}
