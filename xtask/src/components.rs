//! `cargo xtask components`: builds the custom-node examples and test fixtures in
//! `guest-sdk/` for `wasm32-unknown-unknown` and turns each core module into a component
//! (with the `wit-component` crate: no WASI, no external tool). They land in
//! `<target>/wasm32-unknown-unknown/components/<name>.wasm`, where `ramal-wasm`'s tests,
//! the call tests and the benchmark look for them.

use crate::install::{self, run};
use crate::suite::{cargo, root};
use anyhow::Context;
use std::path::PathBuf;

/// The components: cargo package name = component file name.
pub const COMPONENTS: &[&str] = &["cpf-check", "crm-lookup", "ab-split", "hostile"];

/// Cargo's target directory (`CARGO_TARGET_DIR`, else `target/`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|dir| {
            if dir.is_absolute() {
                dir
            } else {
                root().join(dir)
            }
        })
        .unwrap_or_else(|| root().join("target"))
}

/// Builds every component; returns the directory they are in.
pub fn build() -> anyhow::Result<PathBuf> {
    install::rust_targets(&["wasm32-unknown-unknown"])?;
    let mut build = cargo();
    // No debug info in the components: a quarter of the size, and nothing reads it.
    build.args([
        "build",
        "--release",
        "--target",
        "wasm32-unknown-unknown",
        "--config",
        "profile.release.debug=false",
        "--config",
        "profile.release.strip=true",
    ]);
    for name in COMPONENTS {
        build.args(["-p", name]);
    }
    run(&mut build)?;
    let release = target_dir().join("wasm32-unknown-unknown/release");
    let out = target_dir().join("wasm32-unknown-unknown/components");
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    for name in COMPONENTS {
        let core_path = release.join(format!("{}.wasm", name.replace('-', "_")));
        let core = std::fs::read(&core_path)
            .with_context(|| format!("reading {}", core_path.display()))?;
        let component = wit_component::ComponentEncoder::default()
            .validate(true)
            .module(&core)
            .and_then(|encoder| encoder.encode())
            .with_context(|| format!("making a component of {}", core_path.display()))?;
        let path = out.join(format!("{name}.wasm"));
        std::fs::write(&path, &component).with_context(|| format!("writing {}", path.display()))?;
        eprintln!(
            "{name}: core module {} bytes -> component {} bytes",
            core.len(),
            component.len()
        );
    }
    Ok(out)
}
