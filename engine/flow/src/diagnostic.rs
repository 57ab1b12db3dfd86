//! What validation says about a flow: every problem at once, each pointing at a node and a
//! JSON path so the editor can put a marker on it.

use serde::{Deserialize, Serialize};
use std::fmt;

/// How bad a diagnostic is. Errors block compiling and publishing; warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The flow cannot run.
    Error,
    /// The flow runs, but probably not as meant.
    Warning,
}

/// One problem found in a flow document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The node the problem is in, when it is in one.
    pub node_id: Option<String>,
    /// A JSON pointer into the document (`/nodes/3/params/options`), `""` for the whole document.
    pub json_path: String,
    /// A stable, dotted code (`port.dangling`); tools and tests match on it, never on the message.
    pub code: String,
    /// A sentence for a person.
    pub message: String,
}

impl Diagnostic {
    /// An error at `json_path`.
    pub fn error(code: &str, json_path: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            node_id: None,
            json_path: json_path.into(),
            code: code.to_owned(),
            message: message.into(),
        }
    }
    /// A warning at `json_path`.
    pub fn warning(code: &str, json_path: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, json_path, message)
        }
    }
    /// The same diagnostic, attached to `node_id`.
    pub fn at_node(mut self, node_id: &str) -> Self {
        self.node_id = Some(node_id.to_owned());
        self
    }
    /// Is this an error (rather than a warning)?
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{severity}[{}]", self.code)?;
        if let Some(node) = &self.node_id {
            write!(f, " node `{node}`")?;
        }
        if !self.json_path.is_empty() {
            write!(f, " at {}", self.json_path)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Escapes one JSON-pointer segment (`~` → `~0`, `/` → `~1`).
pub fn pointer_segment(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}
