//! The flows the server knows: documents loaded from the flows directory, compiled
//! together (so subflows resolve), with their diagnostics. Replaced by the store later.

use crate::flows_dir;
use ramal_flow::Diagnostic;
use ramal_flow::Flow;
use ramal_flow::document::FlowDocument;
use ramal_flow::sim::FlowSet;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// One loaded flow.
#[derive(Debug, Clone)]
pub struct LoadedFlow {
    /// The file it came from.
    pub file: String,
    /// The document as read (when it could be read).
    pub document: Option<FlowDocument>,
    /// Errors and warnings.
    pub diagnostics: Vec<Diagnostic>,
    /// The compiled flow, when it has no errors.
    pub compiled: Option<Arc<Flow>>,
}

/// Every loaded flow, by id (files that cannot be read at all are keyed by file name).
#[derive(Debug, Clone, Default)]
pub struct FlowCatalog {
    /// The flows.
    pub flows: BTreeMap<String, LoadedFlow>,
}

impl FlowCatalog {
    /// Loads and compiles every `*.json` in `dir`.
    pub fn load(dir: &Path) -> anyhow::Result<FlowCatalog> {
        let sources = flows_dir::read_flows(&[dir.to_path_buf()])?;
        let set: FlowSet = flows_dir::compile(&sources);
        let mut catalog = FlowCatalog::default();
        for source in &sources {
            let file = source.path.display().to_string();
            let document = FlowDocument::from_json(&source.text).ok();
            let key = document
                .as_ref()
                .map_or_else(|| file.clone(), |d| d.id.clone());
            catalog.flows.insert(
                key,
                LoadedFlow {
                    diagnostics: set.diagnostics.get(&file).cloned().unwrap_or_default(),
                    compiled: set.flow_of(&file).cloned(),
                    document,
                    file,
                },
            );
        }
        Ok(catalog)
    }

    /// The compiled flows, for use as subflows when validating a new document.
    pub fn environment(&self) -> ramal_flow::Environment {
        let mut environment = ramal_flow::Environment::default();
        for (id, flow) in &self.flows {
            if let Some(compiled) = &flow.compiled {
                environment.flows.insert(id.clone(), compiled.clone());
            }
        }
        environment
    }
}
