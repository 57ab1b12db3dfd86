//! A call's path drawn on the canvas: which nodes it visited, when, and which ports it took.
//! The simulator and the replay of a stored call both give an executor trace; this turns it
//! into what the canvas highlights.

use ramal_flow::execution::TraceStep;
use std::collections::{BTreeMap, BTreeSet};

/// One node's visits.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Visit {
    /// How many times the call entered the node.
    pub count: u32,
    /// When it first entered, ms after the call started.
    pub first_ms: u64,
    /// How long it stayed, in all, ms.
    pub total_ms: u64,
}

/// The highlighted path.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PathHighlight {
    /// Visited nodes of the flow on the canvas.
    pub visits: BTreeMap<String, Visit>,
    /// Ports taken: (node, port).
    pub ports: BTreeSet<(String, String)>,
    /// The node the call is in (or ended in).
    pub current: Option<String>,
    /// The visited node ids in order (steps inside subflows left out).
    pub order: Vec<String>,
}

impl PathHighlight {
    /// The path of `trace` through the flow `flow_id` (steps in other flows — subflows — are
    /// not on this canvas).
    pub fn from_trace(flow_id: &str, trace: &[TraceStep]) -> PathHighlight {
        let mut highlight = PathHighlight::default();
        for step in trace.iter().filter(|step| &*step.flow == flow_id) {
            let node = step.node.to_string();
            let visit = highlight.visits.entry(node.clone()).or_insert(Visit {
                first_ms: step.entered_ms,
                ..Visit::default()
            });
            visit.count += 1;
            visit.total_ms += step.left_ms.saturating_sub(step.entered_ms);
            if let Some(port) = &step.port {
                highlight.ports.insert((node.clone(), port.to_string()));
            }
            highlight.order.push(node.clone());
            highlight.current = Some(node);
        }
        highlight
    }

    /// Was the node visited?
    pub fn visited(&self, node: &str) -> bool {
        self.visits.contains_key(node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn step(flow: &str, node: &str, at: u64, left: u64, port: Option<&str>) -> TraceStep {
        TraceStep {
            flow: Arc::from(flow),
            node: Arc::from(node),
            entered_ms: at,
            left_ms: left,
            port: port.map(Arc::from),
            changes: Vec::new(),
            note: None,
        }
    }

    #[test]
    fn a_trace_becomes_visits_ports_and_order() {
        let trace = [
            step("main", "start", 0, 0, Some("next")),
            step("main", "menu", 0, 4000, Some("invalid")),
            step("main", "menu", 4000, 6500, Some("1")),
            step("other", "inner", 6500, 7000, Some("next")),
            step("main", "sales", 7000, 9000, None),
        ];
        let path = PathHighlight::from_trace("main", &trace);
        assert_eq!(path.order, ["start", "menu", "menu", "sales"]);
        assert_eq!(path.visits["menu"].count, 2);
        assert_eq!(path.visits["menu"].total_ms, 6500);
        assert_eq!(path.visits["sales"].first_ms, 7000);
        assert!(path.ports.contains(&("menu".into(), "1".into())));
        assert!(!path.visited("inner"));
        assert_eq!(path.current.as_deref(), Some("sales"));
    }
}
