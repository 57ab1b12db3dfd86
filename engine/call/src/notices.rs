//! What calls tell the outside while they run — a call started, entered a node, ended —
//! for the API's event stream and dashboards. One broadcast channel for the engine; with
//! nobody subscribed, a notice costs a failed send.

use serde::Serialize;
use std::sync::Arc;
use tokio::sync::broadcast;

/// How many notices a slow subscriber may be behind before it misses some.
const NOTICE_BUFFER: usize = 4096;

/// Something that happened to a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "notice", rename_all = "kebab-case")]
pub enum CallNotice {
    /// A call reached a flow (it is about to be answered).
    Started {
        /// The call (its record's id).
        call_id: String,
        /// Who called.
        caller: String,
        /// The number dialled.
        callee: String,
        /// The flow it runs.
        flow_id: String,
        /// When, Unix ms.
        at: i64,
    },
    /// The call entered a node of its flow.
    NodeEntered {
        /// The call.
        call_id: String,
        /// The node's id.
        node: Arc<str>,
        /// When, Unix ms.
        at: i64,
    },
    /// The call ended.
    Ended {
        /// The call.
        call_id: String,
        /// Why (the record's end reason).
        end_reason: String,
        /// When, Unix ms.
        at: i64,
    },
}

/// The engine's notice channel.
#[derive(Debug, Clone)]
pub(crate) struct CallNotices(broadcast::Sender<CallNotice>);

impl CallNotices {
    pub(crate) fn new() -> CallNotices {
        CallNotices(broadcast::channel(NOTICE_BUFFER).0)
    }

    /// Sends `notice` to every subscriber (none: dropped).
    pub(crate) fn send(&self, notice: CallNotice) {
        if self.0.receiver_count() > 0 {
            let _ = self.0.send(notice);
        }
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<CallNotice> {
        self.0.subscribe()
    }
}

/// Which of a call's node visits have been announced.
#[derive(Debug, Default)]
pub(crate) struct NodeAnnouncer {
    /// Trace entries announced so far.
    announced: usize,
    /// The trace index of the node announced as current, if any.
    current: Option<usize>,
}

impl NodeAnnouncer {
    /// The nodes entered since the last call, in order: visits recorded in the trace since,
    /// then the node the call is in now (whose visit the trace records as entry `trace_len`
    /// once it is left) — each visit once.
    pub(crate) fn entered(&mut self, execution: &ramal_flow::Execution) -> Vec<Arc<str>> {
        let mut nodes = Vec::new();
        let len = execution.trace_len();
        while self.announced < len {
            let index = self.announced;
            self.announced += 1;
            if self.current != Some(index)
                && let Some(node) = execution.trace_node(index)
            {
                nodes.push(node);
            }
        }
        if self.current != Some(len)
            && let Some(node) = execution.current_node()
        {
            nodes.push(Arc::from(node));
            self.current = Some(len);
        }
        nodes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ramal_flow::execution::QueueOutcome;
    use ramal_flow::{CallInfo, CommandId, Environment, Event, Execution, Instant, compile_json};

    #[test]
    fn every_node_visit_is_announced_once_in_order() {
        let flow = compile_json(
            r#"{"schema": "ramal.flow/v1", "id": "q", "name": "q", "version": 1, "nodes": [
                {"id": "start", "kind": "start", "ports": {"next": "q"}},
                {"id": "q", "kind": "queue", "params": {"queue": "sales"},
                 "ports": {"answered": "end", "timeout": "end", "no-agents": "end"}},
                {"id": "end", "kind": "hangup", "params": {"reason": "normal"}}]}"#,
            &Environment::default(),
        )
        .flow
        .expect("the flow compiles");
        let mut execution = Execution::start(flow, CallInfo::default(), Instant::from_millis(0));
        while execution.poll_command().is_some() {}
        let mut announcer = NodeAnnouncer::default();
        let names = |nodes: Vec<Arc<str>>| nodes.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        assert_eq!(names(announcer.entered(&execution)), ["start", "q"]);
        assert!(announcer.entered(&execution).is_empty(), "nothing new");
        execution.handle(
            Event::QueueEnded {
                id: CommandId(1),
                outcome: QueueOutcome::NoAgents,
            },
            Instant::from_millis(5),
        );
        assert_eq!(
            names(announcer.entered(&execution)),
            ["end"],
            "q is not announced twice"
        );
    }
}
