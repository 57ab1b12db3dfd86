//! The editor's state as a value. Everything the supervisor does on the canvas is an
//! [`Action`]; [`Editor::apply`] is the one reducer. The UI only turns DOM events into
//! actions (pointer positions in canvas pixels) and draws [`Editor::node_views`], so every
//! behaviour here — hit testing, dragging, connecting, snapping, undo, copy and paste,
//! validation — is tested natively without a browser.

pub mod geometry;
pub mod history;
mod operations;
pub mod palette;
pub mod path;
mod sample;
#[cfg(test)]
mod tests;
pub mod weekly;

pub use sample::big_flow;

use geometry::{Point, Rect, Viewport};
use history::History;
use palette::{CustomNodeSpec, PaletteItem};
use ramal_flow::compile::{Environment, compile};
use ramal_flow::diagnostic::Diagnostic;
use ramal_flow::document::{FlowDocument, NodeDocument, NodeUi, SCHEMA_V1};
use ramal_flow::{Flow, Severity};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Something the supervisor did. Points are canvas pixels (screen units).
#[derive(Debug, Clone)]
pub enum Action {
    /// Open a document (forgets history and selection).
    Load(FlowDocument),
    /// The installed custom nodes (from the API).
    SetCustomNodes(Vec<CustomNodeSpec>),
    /// Compiled flows that `subflow` nodes may call, by id.
    SetSubflows(BTreeMap<String, Arc<Flow>>),
    /// Drop a palette item at a point.
    AddNode {
        /// What to add.
        item: PaletteItem,
        /// Where (canvas pixels).
        at: Point,
    },
    /// Pointer pressed on the canvas; `additive` is Shift (or Ctrl/Cmd) held.
    PointerDown {
        /// Where.
        at: Point,
        /// Add to / toggle the selection instead of replacing it.
        additive: bool,
    },
    /// Pointer moved.
    PointerMove {
        /// Where.
        at: Point,
    },
    /// Pointer released.
    PointerUp {
        /// Where.
        at: Point,
    },
    /// Mouse wheel: zoom around the pointer (`delta` > 0 zooms out).
    Wheel {
        /// Where.
        at: Point,
        /// The wheel's delta in pixels.
        delta: f64,
    },
    /// Show every node in a canvas of this size.
    Fit {
        /// Canvas width in pixels.
        width: f64,
        /// Canvas height in pixels.
        height: f64,
    },
    /// Select one node (or none), e.g. from the diagnostics list.
    Select(Option<String>),
    /// Select every node.
    SelectAll,
    /// Move the selection by whole grid steps (arrow keys).
    Nudge {
        /// Steps right.
        dx: i32,
        /// Steps down.
        dy: i32,
    },
    /// Delete the selected nodes and the connections into them.
    Delete,
    /// Copy the selected nodes.
    Copy,
    /// Paste what was copied, offset, with new ids; connections among the pasted nodes kept.
    Paste,
    /// Undo the last change to the document.
    Undo,
    /// Redo what was undone.
    Redo,
    /// Replace a node's parameters.
    SetParams {
        /// Node id.
        node: String,
        /// The new `params`.
        params: Value,
    },
    /// Set (or clear, with `""`) a node's label.
    SetLabel {
        /// Node id.
        node: String,
        /// Label.
        label: String,
    },
    /// Give a node a new id; connections into it follow.
    RenameNode {
        /// Current id.
        from: String,
        /// New id.
        to: String,
    },
    /// Connect (or, with `None`, disconnect) an output port — the keyboard's way to draw.
    Connect {
        /// Node id.
        node: String,
        /// Port name.
        port: String,
        /// Target node id.
        target: Option<String>,
    },
    /// Rename the flow.
    SetName(String),
    /// Describe the flow.
    SetDescription(String),
    /// Snap to the grid while dragging, or not.
    ToggleSnap,
}

/// An action the editor refused, and why (shown to the supervisor).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// No node has that id.
    #[error("there is no node `{0}`")]
    NoSuchNode(String),
    /// The id is taken or unusable.
    #[error("{0}")]
    BadId(String),
    /// Nothing to undo or redo.
    #[error("nothing to {0}")]
    NothingTo(&'static str),
}

/// A pointer gesture in progress.
#[derive(Debug, Clone)]
enum Gesture {
    /// Dragging the selected nodes.
    Move {
        origin: Point,
        starts: Vec<(String, Point)>,
        before: Box<FlowDocument>,
        moved: bool,
    },
    /// Dragging a new connection out of a port.
    Connect {
        node: String,
        port: String,
        cursor: Point,
    },
    /// Dragging the canvas.
    Pan { last: Point },
}

/// What is under a point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hit {
    /// An output port.
    Port(String, String),
    /// A node's body.
    Node(String),
    /// Empty canvas.
    Canvas,
}

/// A node as the canvas draws it.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeView {
    /// Node id.
    pub id: String,
    /// Kind name.
    pub kind: String,
    /// What the node shows as its title (label or id).
    pub title: String,
    /// Its box, world units.
    pub rect: Rect,
    /// Output ports: name, where (world), and the node it leads to.
    pub ports: Vec<(String, Point, Option<String>)>,
    /// Selected?
    pub selected: bool,
    /// Errors on this node.
    pub errors: usize,
    /// Warnings on this node.
    pub warnings: usize,
}

/// The editor.
#[derive(Debug, Clone)]
pub struct Editor {
    doc: FlowDocument,
    environment: Environment,
    custom_nodes: Vec<CustomNodeSpec>,
    selection: BTreeSet<String>,
    view: Viewport,
    history: History,
    clipboard: Vec<NodeDocument>,
    gesture: Option<Gesture>,
    diagnostics: Vec<Diagnostic>,
    compiled: Option<Arc<Flow>>,
    snap: bool,
    /// The node whose parameters were edited last: successive edits of one node are one
    /// undo step.
    editing: Option<String>,
    /// Bumped on every change to the document (not the view), so the UI knows when to save.
    revision: u64,
}

impl Default for Editor {
    fn default() -> Self {
        Editor::new(empty_flow("new-flow", "New flow"))
    }
}

/// A flow with only a `start` node.
pub fn empty_flow(id: &str, name: &str) -> FlowDocument {
    FlowDocument {
        schema: SCHEMA_V1.to_owned(),
        id: id.to_owned(),
        name: name.to_owned(),
        version: 0,
        description: None,
        variables: BTreeMap::new(),
        nodes: vec![NodeDocument {
            id: "start".to_owned(),
            kind: "start".to_owned(),
            params: Value::Object(serde_json::Map::new()),
            ports: BTreeMap::new(),
            ui: Some(NodeUi {
                x: 0.0,
                y: 0.0,
                label: None,
            }),
        }],
    }
}

impl Editor {
    /// An editor on `doc`.
    pub fn new(doc: FlowDocument) -> Editor {
        let mut editor = Editor {
            doc,
            environment: Environment {
                custom_nodes: Some(BTreeMap::new()),
                ..Environment::default()
            },
            custom_nodes: Vec::new(),
            selection: BTreeSet::new(),
            view: Viewport::default(),
            history: History::default(),
            clipboard: Vec::new(),
            gesture: None,
            diagnostics: Vec::new(),
            compiled: None,
            snap: true,
            editing: None,
            revision: 0,
        };
        editor.validate();
        editor
    }

    /// The document being edited.
    pub fn document(&self) -> &FlowDocument {
        &self.doc
    }
    /// The view.
    pub fn viewport(&self) -> Viewport {
        self.view
    }
    /// Selected node ids.
    pub fn selection(&self) -> &BTreeSet<String> {
        &self.selection
    }
    /// The one selected node, if exactly one is.
    pub fn selected_node(&self) -> Option<&NodeDocument> {
        match self.selection.len() {
            1 => self.node(self.selection.iter().next()?),
            _ => None,
        }
    }
    /// A node by id.
    pub fn node(&self, id: &str) -> Option<&NodeDocument> {
        self.doc.nodes.iter().find(|node| node.id == id)
    }
    /// Every diagnostic of the current document.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }
    /// How many errors (publishing is refused while there are any).
    pub fn error_count(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }
    /// The compiled flow, when the document has no errors (the simulator runs it).
    pub fn compiled(&self) -> Option<&Arc<Flow>> {
        self.compiled.as_ref()
    }
    /// The installed custom nodes.
    pub fn custom_nodes(&self) -> &[CustomNodeSpec] {
        &self.custom_nodes
    }
    /// Is snapping on?
    pub fn snapping(&self) -> bool {
        self.snap
    }
    /// Can the last change be undone / redone?
    pub fn can_undo(&self) -> bool {
        self.history.can_undo()
    }
    /// See [`Editor::can_undo`].
    pub fn can_redo(&self) -> bool {
        self.history.can_redo()
    }
    /// Changes to the document so far.
    pub fn revision(&self) -> u64 {
        self.revision
    }
    /// The connection being dragged: from (world) and to (world).
    pub fn pending_connection(&self) -> Option<(Point, Point)> {
        match &self.gesture {
            Some(Gesture::Connect { node, port, cursor }) => {
                let view = self.node_view(self.node(node)?)?;
                let (_, from, _) = view.ports.iter().find(|(name, _, _)| name == port)?;
                Some((*from, *cursor))
            }
            _ => None,
        }
    }
    /// Is any pointer gesture (move, connect, pan) in progress?
    pub fn gesture_active(&self) -> bool {
        self.gesture.is_some()
    }
    /// Is a node drag in progress (the UI skips work it does not need meanwhile)?
    pub fn dragging(&self) -> bool {
        matches!(self.gesture, Some(Gesture::Move { moved: true, .. }))
    }

    /// The output ports of a node.
    pub fn ports_of(&self, node: &NodeDocument) -> Vec<String> {
        palette::ports_of(node, &self.environment)
    }

    /// One node as drawn.
    pub fn node_view(&self, node: &NodeDocument) -> Option<NodeView> {
        let ports = self.ports_of(node);
        let rect = geometry::node_rect(node, ports.len());
        let count = ports.len();
        let (errors, warnings) = self
            .diagnostics
            .iter()
            .filter(|d| d.node_id.as_deref() == Some(node.id.as_str()))
            .fold((0, 0), |(e, w), d| match d.severity {
                Severity::Error => (e + 1, w),
                Severity::Warning => (e, w + 1),
            });
        Some(NodeView {
            id: node.id.clone(),
            kind: node.kind.clone(),
            title: node
                .ui
                .as_ref()
                .and_then(|ui| ui.label.clone())
                .unwrap_or_else(|| node.id.clone()),
            rect,
            ports: ports
                .into_iter()
                .enumerate()
                .map(|(index, name)| {
                    let target = node.ports.get(&name).cloned();
                    (name, geometry::port_point(&rect, index, count), target)
                })
                .collect(),
            selected: self.selection.contains(&node.id),
            errors,
            warnings,
        })
    }

    /// Every node as drawn, in document order.
    pub fn node_views(&self) -> Vec<NodeView> {
        self.doc
            .nodes
            .iter()
            .filter_map(|node| self.node_view(node))
            .collect()
    }

    /// The box around every node, world units.
    pub fn bounds(&self) -> Option<Rect> {
        self.node_views()
            .iter()
            .map(|view| view.rect)
            .reduce(|a, b| a.union(&b))
    }

    /// What is under a canvas point.
    pub fn hit(&self, at: Point) -> Hit {
        let world = self.view.to_world(at);
        let grab = geometry::PORT_GRAB_RADIUS.max(6.0 / self.view.zoom);
        let views = self.node_views();
        for view in views.iter().rev() {
            if let Some((port, _, _)) = view
                .ports
                .iter()
                .find(|(_, point, _)| geometry::distance(*point, world) <= grab)
            {
                return Hit::Port(view.id.clone(), port.clone());
            }
        }
        match views.iter().rev().find(|view| view.rect.contains(world)) {
            Some(view) => Hit::Node(view.id.clone()),
            None => Hit::Canvas,
        }
    }

    /// Applies one action.
    pub fn apply(&mut self, action: Action) -> Result<(), EditError> {
        if !matches!(action, Action::SetParams { .. }) {
            self.editing = None;
        }
        match action {
            Action::Load(doc) => {
                self.doc = doc;
                self.selection.clear();
                self.history.clear();
                self.gesture = None;
                self.revision = 0;
                self.validate();
            }
            Action::SetCustomNodes(specs) => {
                self.environment.custom_nodes = Some(palette::custom_registry(&specs));
                self.custom_nodes = specs;
                self.validate();
            }
            Action::SetSubflows(flows) => {
                self.environment.flows = flows;
                self.validate();
            }
            Action::AddNode { item, at } => self.add_node(&item, at),
            Action::PointerDown { at, additive } => self.pointer_down(at, additive),
            Action::PointerMove { at } => self.pointer_move(at),
            Action::PointerUp { at } => self.pointer_up(at),
            Action::Wheel { at, delta } => {
                self.view.zoom_around(at, (-delta * 0.0015).exp());
            }
            Action::Fit { width, height } => {
                if let Some(bounds) = self.bounds() {
                    self.view = Viewport::fitting(bounds, width, height);
                }
            }
            Action::Select(node) => {
                self.selection.clear();
                if let Some(node) = node {
                    if self.node(&node).is_none() {
                        return Err(EditError::NoSuchNode(node));
                    }
                    self.selection.insert(node);
                }
            }
            Action::SelectAll => {
                self.selection = self.doc.nodes.iter().map(|n| n.id.clone()).collect();
            }
            Action::Nudge { dx, dy } => self.nudge(dx, dy),
            Action::Delete => self.delete_selection(),
            Action::Copy => {
                self.clipboard = self
                    .doc
                    .nodes
                    .iter()
                    .filter(|node| self.selection.contains(&node.id))
                    .cloned()
                    .collect();
            }
            Action::Paste => self.paste(),
            Action::Undo => {
                let previous = self
                    .history
                    .undo(&self.doc)
                    .ok_or(EditError::NothingTo("undo"))?;
                self.replace_document(previous);
            }
            Action::Redo => {
                let next = self
                    .history
                    .redo(&self.doc)
                    .ok_or(EditError::NothingTo("redo"))?;
                self.replace_document(next);
            }
            Action::SetParams { node, params } => {
                let index = self.index_of(&node)?;
                if self.editing.as_deref() != Some(node.as_str()) {
                    self.history.record(self.doc.clone());
                }
                self.doc.nodes[index].params = params;
                self.editing = Some(node);
                self.changed();
            }
            Action::SetLabel { node, label } => {
                let index = self.index_of(&node)?;
                self.history.record(self.doc.clone());
                let ui = self.doc.nodes[index].ui.get_or_insert_with(NodeUi::default);
                ui.label = Some(label).filter(|label| !label.trim().is_empty());
                self.changed();
            }
            Action::RenameNode { from, to } => self.rename(&from, to)?,
            Action::Connect { node, port, target } => {
                let index = self.index_of(&node)?;
                if let Some(target) = &target {
                    self.index_of(target)?;
                }
                self.history.record(self.doc.clone());
                let ports = &mut self.doc.nodes[index].ports;
                match target {
                    Some(target) => ports.insert(port, target),
                    None => ports.remove(&port),
                };
                self.changed();
            }
            Action::SetName(name) => {
                self.history.record(self.doc.clone());
                self.doc.name = name;
                self.changed();
            }
            Action::SetDescription(text) => {
                self.history.record(self.doc.clone());
                self.doc.description = Some(text).filter(|text| !text.trim().is_empty());
                self.changed();
            }
            Action::ToggleSnap => self.snap = !self.snap,
        }
        Ok(())
    }

    fn index_of(&self, id: &str) -> Result<usize, EditError> {
        self.doc
            .nodes
            .iter()
            .position(|node| node.id == id)
            .ok_or_else(|| EditError::NoSuchNode(id.to_owned()))
    }

    fn validate(&mut self) {
        let compilation = compile(&self.doc, &self.environment);
        self.diagnostics = compilation.diagnostics;
        self.compiled = compilation.flow;
    }

    /// The document changed in a way the engine sees: count it and validate again.
    fn changed(&mut self) {
        self.revision += 1;
        self.validate();
    }

    fn replace_document(&mut self, doc: FlowDocument) {
        self.doc = doc;
        self.selection
            .retain(|id| self.doc.nodes.iter().any(|n| &n.id == id));
        self.changed();
    }
}
