//! The repository's own rules, checked as ordinary tests (rust-analyzer's tidy): crate docs,
//! purity of the sans-IO crates, no ignored or should-panic tests, no stubs, file sizes.

use crate::suite::root;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|name| name == "target") {
                continue;
            }
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
    out
}

fn sources() -> Vec<(PathBuf, String)> {
    ["engine", "xtask", "guest-sdk", "flow-editor", "tests"]
        .iter()
        .flat_map(|dir| rust_files(&root().join(dir)))
        .filter_map(|path| std::fs::read_to_string(&path).ok().map(|text| (path, text)))
        .collect()
}

/// Crates that do no IO and read no clock: they take time and input as arguments.
const PURE_CRATES: &[&str] = &["engine/flow", "engine/acd"];
/// Pure modules inside crates whose other modules do IO.
const PURE_MODULES: &[&str] = &[
    "engine/sip/src/proto",
    "engine/media/src/dtmf",
    "engine/media/src/codec",
    "flow-editor/src/model",
];

#[test]
fn every_crate_says_what_it_owns() {
    for (path, text) in sources() {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let is_root = (name == "lib.rs" || name == "main.rs")
            && path.parent().is_some_and(|p| p.ends_with("src"));
        if is_root {
            assert!(
                text.trim_start().starts_with("//!"),
                "{} lacks crate docs (//!)",
                path.display()
            );
        }
    }
}

#[test]
fn no_test_is_ignored_or_expected_to_panic_and_no_stub_ships() {
    let banned = [
        ["#[", "ignore"].concat(),
        ["#[", "should_panic"].concat(),
        ["todo", "!("].concat(),
        ["unimplemented", "!("].concat(),
    ];
    for (path, text) in sources() {
        for pattern in &banned {
            assert!(
                !text.contains(pattern.as_str()),
                "{} contains {pattern}",
                path.display()
            );
        }
    }
}

#[test]
fn pure_crates_read_no_clock_and_do_no_io() {
    let banned_code = [
        "Instant::now",
        "SystemTime::now",
        "std::fs",
        "UdpSocket",
        "TcpStream",
        "TcpListener",
        "std::thread::sleep",
        "thread_rng",
        "tokio",
        "getrandom",
        "Utc::now",
        "Local::now",
    ];
    let banned_dependencies = [
        "tokio",
        "sqlx",
        "wasmtime",
        "rand",
        "getrandom",
        "reqwest",
        "hyper",
        "axum",
    ];
    let pure_dirs = PURE_CRATES
        .iter()
        .map(|krate| root().join(krate).join("src"))
        .chain(PURE_MODULES.iter().map(|module| root().join(module)));
    for dir in pure_dirs {
        for path in rust_files(&dir) {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let code: String = text
                .lines()
                .filter(|line| !line.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            for pattern in banned_code {
                assert!(
                    !code.contains(pattern),
                    "{} uses {pattern}, but {} is pure",
                    path.display(),
                    dir.display()
                );
            }
        }
    }
    for crate_dir in PURE_CRATES {
        let manifest =
            std::fs::read_to_string(root().join(crate_dir).join("Cargo.toml")).unwrap_or_default();
        let dependencies = manifest
            .split("[dev-dependencies]")
            .next()
            .unwrap_or_default();
        for dependency in banned_dependencies {
            let found = dependencies.lines().any(|line| {
                line.trim_start().starts_with(&format!("{dependency} "))
                    || line.trim_start().starts_with(&format!("{dependency}."))
            });
            assert!(
                !found,
                "{crate_dir} depends on {dependency}, but it is pure"
            );
        }
    }
}

#[test]
fn source_files_stay_small() {
    const MAX_LINES: usize = 700;
    for (path, text) in sources() {
        let is_test = path.components().any(|c| c.as_os_str() == "tests")
            || path.file_name().is_some_and(|name| name == "tests.rs");
        let lines = text.lines().count();
        assert!(
            is_test || lines <= MAX_LINES,
            "{} has {lines} lines; split it (limit {MAX_LINES})",
            path.display()
        );
    }
}
