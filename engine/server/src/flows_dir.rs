//! Reading flows and their call scripts from files and directories.

use anyhow::Context;
use ramal_flow::sim::FlowSet;
use std::path::{Path, PathBuf};

/// A flow file's name and text.
pub struct Source {
    /// Where it was read from.
    pub path: PathBuf,
    /// The JSON text.
    pub text: String,
}

/// Reads `*.json` flows from `paths` (files, or directories read one level deep).
pub fn read_flows(paths: &[PathBuf]) -> anyhow::Result<Vec<Source>> {
    let mut sources = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("reading {}", path.display()))?
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|entry| entry.extension().is_some_and(|ext| ext == "json"))
                .collect();
            entries.sort();
            for entry in entries {
                sources.push(read_one(&entry)?);
            }
        } else {
            sources.push(read_one(path)?);
        }
    }
    Ok(sources)
}

fn read_one(path: &Path) -> anyhow::Result<Source> {
    let metadata =
        std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    anyhow::ensure!(
        metadata.len() <= ramal_flow::document::MAX_DOCUMENT_BYTES as u64,
        "{} is {} bytes; a flow is at most {} bytes",
        path.display(),
        metadata.len(),
        ramal_flow::document::MAX_DOCUMENT_BYTES
    );
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(Source {
        path: path.to_owned(),
        text,
    })
}

/// Compiles the sources together (so subflows resolve), keyed by their path.
pub fn compile(sources: &[Source]) -> FlowSet {
    let named: Vec<(String, String)> = sources
        .iter()
        .map(|source| (source.path.display().to_string(), source.text.clone()))
        .collect();
    FlowSet::compile(&named)
}
