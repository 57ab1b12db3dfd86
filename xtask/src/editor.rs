//! `cargo xtask editor`: builds the browser editor (`flow-editor/`, crate `ramal-editor`)
//! into `flow-editor/dist`, which `ramal serve --editor` serves at `/`.
//!
//! Plain cargo for `wasm32-unknown-unknown` (profile `editor`: size first), then the
//! `wasm-bindgen` CLI of exactly the version in `Cargo.lock` (installed under
//! `~/.cache/ramal/tools`), then `wasm-opt` from the npm package `binaryen` (Debian's is too
//! old to read current wasm-bindgen output; optional: without it the bundle is only
//! larger). Every file gets a `.gz` beside it, which the server sends to browsers that
//! accept gzip. ARCHITECTURE.md says why not trunk.

use crate::components::target_dir;
use crate::install::{self, run};
use crate::suite::{cargo, root};
use anyhow::{Context, bail};
use flate2::Compression;
use flate2::write::GzEncoder;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The npm `binaryen` release whose `wasm-opt` optimises the bundle.
const BINARYEN_VERSION: &str = "132.0.0";

/// `wasm-opt` flags: the WebAssembly features rustc's `wasm32-unknown-unknown` output uses
/// (LLVM's `generic` CPU since Rust 1.82/1.87) — wasm-opt refuses a module using a feature
/// it was not told about.
const WASM_OPT_FEATURES: &[&str] = &[
    "--enable-bulk-memory",
    "--enable-bulk-memory-opt",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-reference-types",
    "--enable-multivalue",
    "--enable-call-indirect-overlong",
];

/// The files `index.html` loads: `wasm-bindgen --out-name`.
const OUT_NAME: &str = "ramal_editor";

/// Builds the editor; returns the directory of the bundle (`flow-editor/dist`).
pub fn build() -> anyhow::Result<PathBuf> {
    install::rust_targets(&["wasm32-unknown-unknown"])?;
    let version = lockfile_version(&root().join("Cargo.lock"), "wasm-bindgen")?;
    let wasm_bindgen = ensure_wasm_bindgen(&version)?;
    let wasm_opt = match ensure_wasm_opt() {
        Ok(path) => Some(path),
        Err(error) => {
            warn(&format!(
                "wasm-opt (npm binaryen@{BINARYEN_VERSION}) is not available: {error:#}\n\
                 The editor is built WITHOUT wasm-opt: it works, but the bundle is larger."
            ));
            None
        }
    };

    run(cargo().args([
        "build",
        "--profile",
        "editor",
        "--target",
        "wasm32-unknown-unknown",
        "-p",
        "ramal-editor",
    ]))?;
    let module = target_dir().join(format!("wasm32-unknown-unknown/editor/{OUT_NAME}.wasm"));

    let editor = root().join("flow-editor");
    let dist = editor.join("dist");
    if dist.exists() {
        std::fs::remove_dir_all(&dist).with_context(|| format!("emptying {}", dist.display()))?;
    }
    std::fs::create_dir_all(&dist).with_context(|| format!("creating {}", dist.display()))?;
    run(Command::new(&wasm_bindgen)
        .args(["--target", "web", "--no-typescript", "--out-name", OUT_NAME])
        .arg("--out-dir")
        .arg(&dist)
        .arg(&module))?;
    let wasm = dist.join(format!("{OUT_NAME}_bg.wasm"));
    if let Some(wasm_opt) = wasm_opt {
        let before = file_size(&wasm)?;
        run(Command::new(wasm_opt)
            .arg("-Oz")
            .args(WASM_OPT_FEATURES)
            .arg(&wasm)
            .arg("-o")
            .arg(&wasm))?;
        eprintln!("wasm-opt -Oz: {before} -> {} bytes", file_size(&wasm)?);
    }
    for name in ["index.html", "style.css"] {
        let from = editor.join(name);
        std::fs::copy(&from, dist.join(name))
            .with_context(|| format!("copying {} into {}", from.display(), dist.display()))?;
    }

    let mut files = Vec::new();
    collect_files(&dist, &mut files)?;
    let (mut raw_total, mut gz_total) = (0u64, 0u64);
    for file in &files {
        let (raw, gz) = gzip_beside(file)?;
        raw_total += raw;
        gz_total += gz;
        if file == &wasm {
            eprintln!("editor wasm: {} raw, {} gzipped", human(raw), human(gz));
        }
    }
    eprintln!(
        "editor bundle ({} files in {}): {} raw, {} gzipped",
        files.len(),
        dist.display(),
        human(raw_total),
        human(gz_total)
    );
    Ok(dist)
}

/// The version of `package` in a `Cargo.lock` — exactly one, or an error.
fn lockfile_version(lockfile: &Path, package: &str) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(lockfile)
        .with_context(|| format!("reading {}", lockfile.display()))?;
    let wanted = format!("name = \"{package}\"");
    let mut versions = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.trim() != wanted {
            continue;
        }
        let version = lines
            .next()
            .and_then(|next| next.trim().strip_prefix("version = \""))
            .and_then(|rest| rest.strip_suffix('"'));
        match version {
            Some(version) => versions.push(version.to_owned()),
            None => bail!(
                "{}: `{wanted}` is not followed by its version",
                lockfile.display()
            ),
        }
    }
    match versions.as_slice() {
        [version] => Ok(version.clone()),
        [] => bail!(
            "{} has no `{package}` package: is ramal-editor in the workspace?",
            lockfile.display()
        ),
        many => bail!(
            "{} has several `{package}` versions ({}); the CLI must match the one ramal-editor uses",
            lockfile.display(),
            many.join(", ")
        ),
    }
}

/// `~/.cache/ramal/tools`: tools xtask installs for itself.
fn tools_dir() -> anyhow::Result<PathBuf> {
    let home = std::env::var_os("HOME").context("HOME is not set")?;
    Ok(PathBuf::from(home).join(".cache/ramal/tools"))
}

/// The `wasm-bindgen` CLI at `version` (its output must match the library's version).
fn ensure_wasm_bindgen(version: &str) -> anyhow::Result<PathBuf> {
    let tools = tools_dir()?;
    let program = tools.join("bin/wasm-bindgen");
    if prints_version(&program, &format!("wasm-bindgen {version}")) {
        return Ok(program);
    }
    eprintln!("installing wasm-bindgen-cli {version} (a few minutes, once)");
    // Not `--locked`: the CLI's own lockfile pins a crate version the registry may lack.
    // Its own temporary target directory, so this does not hold the workspace's build lock.
    run(
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args([
                "install",
                "wasm-bindgen-cli",
                "--version",
                version,
                "--root",
            ])
            .arg(&tools)
            .env_remove("CARGO_TARGET_DIR"),
    )?;
    if !prints_version(&program, &format!("wasm-bindgen {version}")) {
        bail!(
            "{} does not report version {version} after installing it",
            program.display()
        );
    }
    Ok(program)
}

/// `wasm-opt` from the npm package `binaryen` (Node and npm from Debian).
fn ensure_wasm_opt() -> anyhow::Result<PathBuf> {
    let prefix = tools_dir()?.join("npm");
    let program = prefix.join("node_modules/.bin/wasm-opt");
    let major = BINARYEN_VERSION
        .split('.')
        .next()
        .unwrap_or(BINARYEN_VERSION);
    let expected = format!("wasm-opt version {major} ");
    if prints_version(&program, &expected) {
        return Ok(program);
    }
    install::debian_packages(&[("node", "nodejs"), ("npm", "npm")])?;
    std::fs::create_dir_all(&prefix).with_context(|| format!("creating {}", prefix.display()))?;
    run(Command::new("npm")
        .args([
            "install",
            "--no-audit",
            "--no-fund",
            "--save-exact",
            "--prefix",
        ])
        .arg(&prefix)
        .arg(format!("binaryen@{BINARYEN_VERSION}")))?;
    if !prints_version(&program, &expected) {
        bail!(
            "{} does not report `{}` after installing it",
            program.display(),
            expected.trim()
        );
    }
    Ok(program)
}

/// Does `program --version` run and print something starting with `expected`?
fn prints_version(program: &Path, expected: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|output| {
            output.status.success()
                && String::from_utf8_lossy(&output.stdout)
                    .trim_start()
                    .starts_with(expected)
        })
}

/// Every file under `dir`, recursively (wasm-bindgen may write `snippets/`).
fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    for entry in entries {
        let path = entry
            .with_context(|| format!("reading {}", dir.display()))?
            .path();
        if path.is_dir() {
            collect_files(&path, out)?;
        } else if path.extension().is_none_or(|ext| ext != "gz") {
            out.push(path);
        }
    }
    out.sort();
    Ok(())
}

/// Writes `<file>.gz` (level 9, no timestamp: the same input gives the same bytes);
/// returns the sizes of both.
fn gzip_beside(file: &Path) -> anyhow::Result<(u64, u64)> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder
        .write_all(&bytes)
        .and_then(|()| encoder.finish())
        .and_then(|gz| {
            let mut name = file.as_os_str().to_owned();
            name.push(".gz");
            std::fs::write(&name, &gz).map(|()| gz.len())
        })
        .map(|gz| (bytes.len() as u64, gz as u64))
        .with_context(|| format!("writing {}.gz", file.display()))
}

fn file_size(path: &Path) -> anyhow::Result<u64> {
    Ok(std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len())
}

fn human(bytes: u64) -> String {
    format!("{bytes} bytes ({:.1} KiB)", bytes as f64 / 1024.0)
}

fn warn(message: &str) {
    let rule = "!".repeat(78);
    eprintln!("\n{rule}\nWARNING: {message}\n{rule}\n");
}

#[cfg(test)]
mod tests {
    use super::lockfile_version;

    #[test]
    fn the_wasm_bindgen_version_comes_from_the_lockfile() {
        let dir = std::env::temp_dir().join(format!("xtask-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temp directory");
        let lock = dir.join("Cargo.lock");
        let package = |name: &str, version: &str| {
            format!("[[package]]\nname = \"{name}\"\nversion = \"{version}\"\n\n")
        };
        let one = package("wasm-bindgen-macro", "0.2.130") + &package("wasm-bindgen", "0.2.130");
        std::fs::write(&lock, &one).expect("written");
        assert_eq!(
            lockfile_version(&lock, "wasm-bindgen").expect("found"),
            "0.2.130"
        );
        std::fs::write(&lock, one + &package("wasm-bindgen", "0.2.99")).expect("written");
        assert!(lockfile_version(&lock, "wasm-bindgen").is_err(), "two");
        assert!(lockfile_version(&lock, "yew").is_err(), "none");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_workspace_lockfile_names_one_wasm_bindgen() {
        let version = lockfile_version(&crate::suite::root().join("Cargo.lock"), "wasm-bindgen")
            .expect("the workspace locks one wasm-bindgen");
        assert!(version.starts_with("0.2."), "{version}");
    }
}
