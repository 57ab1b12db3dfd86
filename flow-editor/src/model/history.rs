//! Undo and redo: snapshots of the document, bounded.

use ramal_flow::document::FlowDocument;

/// How many steps can be undone.
pub const DEPTH: usize = 200;

/// Past and undone documents.
#[derive(Debug, Clone, Default)]
pub struct History {
    undo: Vec<FlowDocument>,
    redo: Vec<FlowDocument>,
}

impl History {
    /// Remembers `before`, the document as it was before a change; a new change forgets
    /// what was undone.
    pub fn record(&mut self, before: FlowDocument) {
        if self.undo.len() == DEPTH {
            self.undo.remove(0);
        }
        self.undo.push(before);
        self.redo.clear();
    }
    /// The document to go back to, given the current one (kept for redo).
    pub fn undo(&mut self, current: &FlowDocument) -> Option<FlowDocument> {
        let previous = self.undo.pop()?;
        self.redo.push(current.clone());
        Some(previous)
    }
    /// The document to go forward to, given the current one (kept for undo).
    pub fn redo(&mut self, current: &FlowDocument) -> Option<FlowDocument> {
        let next = self.redo.pop()?;
        self.undo.push(current.clone());
        Some(next)
    }
    /// Is there anything to undo?
    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }
    /// Is there anything to redo?
    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }
    /// Forgets everything (a new document was loaded).
    pub fn clear(&mut self) {
        self.undo.clear();
        self.redo.clear();
    }
}
