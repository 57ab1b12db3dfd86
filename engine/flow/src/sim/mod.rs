//! The flow-test runner: scripted calls (`flows/<name>.calls`) run against flows on a
//! virtual clock, with no IO. `ramal flow test`, the test that walks `flows/`, and the
//! editor's simulator all use it; the caller reads the files.

mod runner;
mod script;

pub use runner::{CallReport, Session, run_script};
pub use script::{
    DEFAULT_START_UNIX_MS, Expectation, Script, ScriptCall, ScriptError, Step, parse_step,
};

use crate::compile::{Environment, compile_json};
use crate::diagnostic::Diagnostic;
use crate::flow::Flow;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A set of flows compiled together, so `subflow` nodes can call each other by id.
#[derive(Debug, Default)]
pub struct FlowSet {
    /// Compiled flows by id.
    pub flows: BTreeMap<String, Arc<Flow>>,
    /// Diagnostics by source name (file name), errors and warnings.
    pub diagnostics: BTreeMap<String, Vec<Diagnostic>>,
    /// The flow id each source compiled to.
    pub ids: BTreeMap<String, String>,
}

impl FlowSet {
    /// Compiles `(name, json)` sources. A flow that calls another is compiled after it;
    /// sources that never compile keep their diagnostics.
    pub fn compile(sources: &[(String, String)]) -> FlowSet {
        FlowSet::compile_in(sources, Environment::default())
    }

    /// Like [`FlowSet::compile`], in `environment` (e.g. with the installed custom nodes);
    /// the compiled flows are added to its `flows`.
    pub fn compile_in(sources: &[(String, String)], mut environment: Environment) -> FlowSet {
        let mut set = FlowSet::default();
        let mut remaining: Vec<&(String, String)> = sources.iter().collect();
        // Each pass compiles what it can; a pass that adds nothing ends the loop.
        loop {
            let mut progressed = false;
            let mut still = Vec::new();
            for source in remaining {
                let compilation = compile_json(&source.1, &environment);
                let waits_for_subflow = compilation
                    .diagnostics
                    .iter()
                    .any(|d| d.code == "subflow.unknown");
                match compilation.flow {
                    Some(flow) => {
                        set.ids.insert(source.0.clone(), flow.id().to_owned());
                        environment.flows.insert(flow.id().to_owned(), flow.clone());
                        set.flows.insert(flow.id().to_owned(), flow);
                        set.diagnostics
                            .insert(source.0.clone(), compilation.diagnostics);
                        progressed = true;
                    }
                    None if waits_for_subflow => {
                        set.diagnostics
                            .insert(source.0.clone(), compilation.diagnostics);
                        still.push(source);
                    }
                    None => {
                        set.diagnostics
                            .insert(source.0.clone(), compilation.diagnostics);
                    }
                }
            }
            remaining = still;
            if !progressed || remaining.is_empty() {
                break;
            }
        }
        set
    }

    /// The flow compiled from the source `name`.
    pub fn flow_of(&self, name: &str) -> Option<&Arc<Flow>> {
        self.ids.get(name).and_then(|id| self.flows.get(id))
    }
}
