//! `cargo xtask`: the project's own commands.
//!
//! - `cargo xtask run`   — build and run Ramal on 127.0.0.1 with the example flows.
//! - `cargo xtask test`  — install what the tests need, then run every test suite.
//! - `cargo xtask bench` — run the benchmarks and print their figures.
//! - `cargo xtask components` — build the custom-node examples and fixtures as components.
//! - `cargo xtask editor` — build the browser editor into `flow-editor/dist` (wasm32,
//!   wasm-bindgen, wasm-opt, gzip), which `ramal serve --editor` serves.
//!
//! Everything a fresh Debian machine with only the Rust toolchain lacks is installed here
//! (rustup targets, Debian packages, the wasm-bindgen CLI and wasm-opt under
//! `~/.cache/ramal/tools`), never assumed.

mod components;
mod editor;
mod install;
mod run;
mod suite;
#[cfg(test)]
mod tidy;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => run::run(&args[1..]),
        Some("test") | Some("ci") => suite::test(),
        Some("bench") => suite::bench(),
        Some("components") => components::build().map(|_| ()),
        Some("editor") => editor::build().map(|_| ()),
        _ => {
            eprintln!("usage: cargo xtask run [ARGS…] | test | bench | components | editor");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: {error:#}");
            ExitCode::FAILURE
        }
    }
}
