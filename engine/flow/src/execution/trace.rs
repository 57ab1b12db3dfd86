//! The trace: one entry per node a call passed through — when it entered and left, the port
//! it took, the variables it changed, and a note (an error, a rejected input, the agent who
//! answered). It is stored on the call record and drives "replay this call" in the editor.
//!
//! The executor keeps it compact — indices into the flow, with changes and notes in side
//! tables — and resolves names only when asked ([`Trace::steps`]): a step costs no
//! allocation and no reference counting on the hot path.

use crate::flow::{Flow, NodeIndex};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;

/// One node visit, with names resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceStep {
    /// The flow the node belongs to (differs from the main flow inside a subflow).
    pub flow: Arc<str>,
    /// The node id.
    pub node: Arc<str>,
    /// Milliseconds after the call started that the node was entered.
    pub entered_ms: u64,
    /// Milliseconds after the call started that the node was left.
    pub left_ms: u64,
    /// The port taken; `None` when the call ended at this node — or, for a `subflow` node,
    /// when the call went into the called flow (its return is a later step with the exit).
    pub port: Option<Arc<str>>,
    /// Variables set while in the node, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<(Arc<str>, Value)>,
    /// What happened, for people: an error, the reason for a hang-up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl std::fmt::Display for TraceStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:>7.3}s  {:<20} -> {:<12}",
            self.entered_ms as f64 / 1000.0,
            self.node,
            self.port.as_deref().unwrap_or("(end)")
        )?;
        for (name, value) in &self.changes {
            write!(f, " {name}={value}")?;
        }
        if let Some(note) = &self.note {
            write!(f, "  # {note}")?;
        }
        Ok(())
    }
}

const NO_PORT: u16 = u16::MAX;

#[derive(Debug, Clone, Copy)]
struct Entry {
    node: NodeIndex,
    entered_ms: u32,
    left_ms: u32,
    port: u16,
    flow: u8,
}

/// The executor's compact trace.
#[derive(Debug)]
pub(crate) struct Trace {
    /// Flows the call has run in; index 0 is the main flow.
    flows: Vec<Arc<Flow>>,
    entries: Vec<Entry>,
    /// (entry index, variable, value)
    changes: Vec<(u32, Arc<str>, Value)>,
    /// (entry index, note)
    notes: Vec<(u32, String)>,
}

fn millis(ms: u64) -> u32 {
    u32::try_from(ms).unwrap_or(u32::MAX)
}

impl Trace {
    pub fn new(main: Arc<Flow>) -> Trace {
        Trace {
            flows: vec![main],
            entries: Vec::new(),
            changes: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Records leaving `node` of `flow` through the port in `slot` (`None`: the call ended).
    pub fn push(
        &mut self,
        flow: &Arc<Flow>,
        node: NodeIndex,
        entered_ms: u64,
        left_ms: u64,
        slot: Option<usize>,
    ) {
        let flow_index = match self.flows.iter().position(|known| Arc::ptr_eq(known, flow)) {
            Some(index) => index,
            None => {
                self.flows.push(flow.clone());
                self.flows.len() - 1
            }
        };
        self.entries.push(Entry {
            node,
            entered_ms: millis(entered_ms),
            left_ms: millis(left_ms),
            port: slot
                .and_then(|slot| u16::try_from(slot).ok())
                .unwrap_or(NO_PORT),
            flow: u8::try_from(flow_index).unwrap_or(u8::MAX),
        });
    }

    /// A variable set in the node being run (the next entry).
    pub fn change(&mut self, name: Arc<str>, value: Value) {
        self.changes.push((self.entries.len() as u32, name, value));
    }

    /// A note on the node being run (the next entry).
    pub fn note(&mut self, text: String) {
        self.notes.push((self.entries.len() as u32, text));
    }

    /// A note on the last recorded entry.
    pub fn note_on_last(&mut self, text: String) {
        let index = self.entries.len().saturating_sub(1) as u32;
        self.notes.push((index, text));
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The node of entry `index`.
    pub fn node_at(&self, index: usize) -> Option<Arc<str>> {
        let entry = self.entries.get(index)?;
        let flow = self
            .flows
            .get(entry.flow as usize)
            .unwrap_or(&self.flows[0]);
        Some(flow.node(entry.node).id.clone())
    }

    /// The trace with names resolved.
    pub fn steps(&self) -> Vec<TraceStep> {
        let mut steps: Vec<TraceStep> = self
            .entries
            .iter()
            .map(|entry| {
                let flow = self
                    .flows
                    .get(entry.flow as usize)
                    .unwrap_or(&self.flows[0]);
                let node = flow.node(entry.node);
                TraceStep {
                    flow: flow.id.clone(),
                    node: node.id.clone(),
                    entered_ms: u64::from(entry.entered_ms),
                    left_ms: u64::from(entry.left_ms),
                    port: (entry.port != NO_PORT)
                        .then(|| {
                            node.ports
                                .get(entry.port as usize)
                                .map(|port| port.name.clone())
                        })
                        .flatten(),
                    changes: Vec::new(),
                    note: None,
                }
            })
            .collect();
        for (index, name, value) in &self.changes {
            if let Some(step) = steps.get_mut(*index as usize) {
                step.changes.push((name.clone(), value.clone()));
            }
        }
        for (index, text) in &self.notes {
            if let Some(step) = steps.get_mut(*index as usize) {
                step.note = Some(match step.note.take() {
                    Some(existing) => format!("{existing}; {text}"),
                    None => text.clone(),
                });
            }
        }
        steps
    }
}
