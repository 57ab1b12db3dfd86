//! # ramal-editor
//!
//! The supervisors' browser editor. This crate owns
//! - [`model`]: the editor's state as a pure value — the flow being drawn, selection,
//!   viewport, undo/redo, clipboard, snapping — changed only by [`model::Action`]s through
//!   one reducer, so it is unit-tested natively;
//! - [`simulate`]: the simulator, which drives `ramal-flow`'s own executor (the one the
//!   engine runs) one keypad press at a time and writes what was done as a flow test script;
//! - the Yew UI (`ui`, wasm32 only): login, the flow list, the canvas, the palette, the
//!   property panel, diagnostics, the simulator and replay panels, and the HTTP API client.
//!
//! Validation in the browser is `ramal_flow::compile`: the same code the engine runs.

pub mod model;
pub mod simulate;

#[cfg(target_arch = "wasm32")]
mod ui;

/// Starts the editor in the page's `<body>`.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    ui::mount();
}
