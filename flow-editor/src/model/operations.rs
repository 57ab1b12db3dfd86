//! The editing operations behind [`Editor::apply`]: adding, pointer gestures, nudging,
//! deleting, pasting and renaming.

use super::geometry::{self, Point};
use super::palette::{self, PaletteItem};
use super::{Action, EditError, Editor, Gesture, Hit};
use ramal_flow::document::{NodeDocument, NodeUi};
use std::collections::{BTreeMap, BTreeSet};

impl Editor {
    pub(super) fn unused_id(&self, base: &str) -> String {
        let base: String = base
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        let base = if base.is_empty() { "node".into() } else { base };
        if self.node(&base).is_none() {
            return base;
        }
        (2..)
            .map(|n| format!("{base}-{n}"))
            .find(|id| self.node(id).is_none())
            .unwrap_or(base)
    }

    pub(super) fn snapped(&self, point: Point) -> Point {
        if self.snap {
            Point::new(geometry::snap(point.x), geometry::snap(point.y))
        } else {
            point
        }
    }

    pub(super) fn add_node(&mut self, item: &PaletteItem, at: Point) {
        let base = match &item.custom {
            Some((module, _)) => module.as_str(),
            None => item.kind.as_str(),
        };
        let id = self.unused_id(base);
        let world = self.free_spot(self.snapped(self.view.to_world(at)));
        self.history.record(self.doc.clone());
        self.doc.nodes.push(NodeDocument {
            id: id.clone(),
            kind: item.kind.clone(),
            params: palette::default_params(&item.kind, item.custom.as_ref()),
            ports: BTreeMap::new(),
            ui: Some(NodeUi {
                x: world.x,
                y: world.y,
                label: None,
            }),
        });
        self.selection = BTreeSet::from([id]);
        self.changed();
    }

    /// `at`, or the first place below it where a new node would not cover another's
    /// corner (clicking the palette twice must not stack two nodes on each other).
    pub(super) fn free_spot(&self, at: Point) -> Point {
        let taken = |p: Point| {
            self.doc.nodes.iter().any(|node| {
                let q = geometry::position(node);
                (q.x - p.x).abs() < geometry::NODE_MIN_WIDTH + geometry::GRID
                    && (q.y - p.y).abs() < geometry::NODE_HEIGHT + geometry::GRID
            })
        };
        let step = geometry::NODE_HEIGHT + 2.0 * geometry::GRID;
        (0..200)
            .map(|n| Point::new(at.x, at.y + f64::from(n) * step))
            .find(|p| !taken(*p))
            .unwrap_or(at)
    }

    pub(super) fn pointer_down(&mut self, at: Point, additive: bool) {
        let world = self.view.to_world(at);
        match self.hit(at) {
            Hit::Port(node, port) => {
                self.gesture = Some(Gesture::Connect {
                    node,
                    port,
                    cursor: world,
                });
            }
            Hit::Node(id) => {
                if additive {
                    if !self.selection.remove(&id) {
                        self.selection.insert(id);
                    }
                } else if !self.selection.contains(&id) {
                    self.selection = BTreeSet::from([id]);
                }
                let starts = self
                    .doc
                    .nodes
                    .iter()
                    .filter(|node| self.selection.contains(&node.id))
                    .map(|node| (node.id.clone(), geometry::position(node)))
                    .collect();
                self.gesture = Some(Gesture::Move {
                    origin: world,
                    starts,
                    before: Box::new(self.doc.clone()),
                    moved: false,
                });
            }
            Hit::Canvas => {
                if !additive {
                    self.selection.clear();
                }
                self.gesture = Some(Gesture::Pan { last: at });
            }
        }
    }

    pub(super) fn pointer_move(&mut self, at: Point) {
        let world = self.view.to_world(at);
        let snap = self.snap;
        match &mut self.gesture {
            Some(Gesture::Move {
                origin,
                starts,
                moved,
                ..
            }) => {
                let (dx, dy) = (world.x - origin.x, world.y - origin.y);
                for (id, start) in starts.iter() {
                    let mut to = Point::new(start.x + dx, start.y + dy);
                    if snap {
                        to = Point::new(geometry::snap(to.x), geometry::snap(to.y));
                    }
                    if let Some(node) = self.doc.nodes.iter_mut().find(|n| &n.id == id) {
                        let ui = node.ui.get_or_insert_with(NodeUi::default);
                        if ui.x != to.x || ui.y != to.y {
                            ui.x = to.x;
                            ui.y = to.y;
                            *moved = true;
                        }
                    }
                }
            }
            Some(Gesture::Connect { cursor, .. }) => *cursor = world,
            Some(Gesture::Pan { last }) => {
                self.view.pan.x += at.x - last.x;
                self.view.pan.y += at.y - last.y;
                *last = at;
            }
            None => {}
        }
    }

    pub(super) fn pointer_up(&mut self, at: Point) {
        match self.gesture.take() {
            Some(Gesture::Move { before, moved, .. }) => {
                if moved {
                    self.history.record(*before);
                    // Positions do not change what the flow does: no validation needed.
                    self.revision += 1;
                }
            }
            Some(Gesture::Connect { node, port, .. }) => {
                let target = match self.hit(at) {
                    Hit::Node(target) | Hit::Port(target, _) if target != node => Some(target),
                    Hit::Canvas => None,
                    _ => return,
                };
                let connected = self.node(&node).and_then(|n| n.ports.get(&port)).cloned();
                if connected != target {
                    // Dropping on empty canvas removes the connection.
                    let _ = self.apply(Action::Connect { node, port, target });
                }
            }
            Some(Gesture::Pan { .. }) | None => {}
        }
    }

    pub(super) fn nudge(&mut self, dx: i32, dy: i32) {
        if self.selection.is_empty() {
            return;
        }
        self.history.record(self.doc.clone());
        for node in &mut self.doc.nodes {
            if self.selection.contains(&node.id) {
                let ui = node.ui.get_or_insert_with(NodeUi::default);
                ui.x += f64::from(dx) * geometry::GRID;
                ui.y += f64::from(dy) * geometry::GRID;
            }
        }
        self.revision += 1;
    }

    pub(super) fn delete_selection(&mut self) {
        if self.selection.is_empty() {
            return;
        }
        self.history.record(self.doc.clone());
        let gone = std::mem::take(&mut self.selection);
        self.doc.nodes.retain(|node| !gone.contains(&node.id));
        for node in &mut self.doc.nodes {
            node.ports.retain(|_, target| !gone.contains(target));
        }
        self.changed();
    }

    pub(super) fn paste(&mut self) {
        if self.clipboard.is_empty() {
            return;
        }
        self.history.record(self.doc.clone());
        let mut renamed = BTreeMap::new();
        let count = self.clipboard.len();
        for node in &self.clipboard {
            let id = self.unused_id(&format!("{}-copy", node.id));
            renamed.insert(node.id.clone(), id.clone());
            let mut copy = node.clone();
            copy.id = id;
            let ui = copy.ui.get_or_insert_with(NodeUi::default);
            ui.x += 2.0 * geometry::GRID;
            ui.y += 2.0 * geometry::GRID;
            // Reserve the id before naming the next copy.
            self.doc.nodes.push(copy);
        }
        let start = self.doc.nodes.len() - count;
        for node in &mut self.doc.nodes[start..] {
            node.ports = std::mem::take(&mut node.ports)
                .into_iter()
                .filter_map(|(port, target)| Some((port, renamed.get(&target)?.clone())))
                .collect();
        }
        self.selection = self.doc.nodes[start..]
            .iter()
            .map(|n| n.id.clone())
            .collect();
        // Pasting again cascades from the copies.
        self.clipboard = self.doc.nodes[start..].to_vec();
        self.changed();
    }

    pub(super) fn rename(&mut self, from: &str, to: String) -> Result<(), EditError> {
        let index = self.index_of(from)?;
        let to = to.trim().to_owned();
        if to == from {
            return Ok(());
        }
        if to.is_empty()
            || !to
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(EditError::BadId(format!(
                "`{to}`: a node id is letters, digits, `-` and `_`"
            )));
        }
        if self.node(&to).is_some() {
            return Err(EditError::BadId(format!("another node is called `{to}`")));
        }
        self.history.record(self.doc.clone());
        self.doc.nodes[index].id.clone_from(&to);
        for node in &mut self.doc.nodes {
            for target in node.ports.values_mut() {
                if target == from {
                    target.clone_from(&to);
                }
            }
        }
        if self.selection.remove(from) {
            self.selection.insert(to);
        }
        self.changed();
        Ok(())
    }
}
