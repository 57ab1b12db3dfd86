//! `cargo xtask run`: build the editor, then build and start Ramal with the example flows,
//! serving the editor at `/`.

use crate::install::run as run_command;
use crate::suite::root;
use std::process::Command;

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let editor = crate::editor::build()?;
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command
        .current_dir(root())
        .args([
            "run",
            "--release",
            "-p",
            "ramal",
            "--",
            "serve",
            "--flows",
            "flows",
            "--editor",
        ])
        .arg(editor)
        .args(args);
    run_command(&mut command)
}
