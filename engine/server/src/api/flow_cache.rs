//! What checking flows costs, paid once: the published flows compiled together (the
//! environment drafts are checked against) and each document's diagnostic counts.
//!
//! A published version never changes, so the environment is rebuilt only when the set of
//! (flow, newest version) or of installed custom node modules changes — two queries tell.
//! The modules are part of it so that a draft (and a publish) is checked against the
//! (module, version) pairs that are installed, with their ports. A document's counts are kept by the
//! hash of its text for as long as the environment they were counted against is current.
//! `GET /api/flows` compiled every published flow and then every document on each request
//! (about 1 ms of CPU for the four example flows); with the cache it costs two queries
//! (the flow list with its documents, and the installed modules).

use super::ApiError;
use ramal_flow::compile::CustomNodeInfo;
use ramal_flow::{Diagnostic, Environment, compile_json};
use ramal_store::{FlowSummary, Store};
use std::collections::{BTreeMap, HashMap};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};

/// Counts kept at most; beyond, they are all forgotten at once.
const MAX_COUNTS: usize = 4096;

/// The cache (one per server).
#[derive(Debug, Default)]
pub(super) struct FlowCache {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// What the environment was built from.
    published: Vec<(String, i64)>,
    /// The installed custom nodes it was built with: (module, version) → ports.
    custom_nodes: BTreeMap<(String, String), CustomNodeInfo>,
    environment: Option<Arc<Environment>>,
    /// (text length, text hash) → (errors, warnings) against `environment`.
    counts: HashMap<(usize, u64), (usize, usize)>,
}

impl FlowCache {
    /// The published flows compiled together, rebuilt if a flow was published since.
    pub(super) async fn environment(&self, store: &Store) -> Result<Arc<Environment>, ApiError> {
        let flows = store.flows().await?;
        self.environment_of(store, &flows).await
    }

    /// As [`FlowCache::environment`], with the flow list already read.
    pub(super) async fn environment_of(
        &self,
        store: &Store,
        flows: &[FlowSummary],
    ) -> Result<Arc<Environment>, ApiError> {
        let published: Vec<(String, i64)> = flows
            .iter()
            .filter_map(|flow| {
                flow.published_version
                    .map(|version| (flow.id.clone(), version))
            })
            .collect();
        let custom_nodes = ramal_call::custom_node_infos(store.node_modules().await?);
        if let Ok(inner) = self.inner.lock()
            && inner.published == published
            && inner.custom_nodes == custom_nodes
            && let Some(environment) = &inner.environment
        {
            return Ok(environment.clone());
        }
        let set =
            ramal_call::compile_published(store, &published, Some(custom_nodes.clone())).await?;
        let environment = Arc::new(Environment {
            flows: set.flows,
            custom_nodes: Some(custom_nodes.clone()),
        });
        if let Ok(mut inner) = self.inner.lock() {
            *inner = Inner {
                published,
                custom_nodes,
                environment: Some(environment.clone()),
                counts: HashMap::new(),
            };
        }
        Ok(environment)
    }

    /// How many errors and warnings `text` has against `environment`.
    pub(super) fn counts(&self, environment: &Arc<Environment>, text: &str) -> (usize, usize) {
        let mut hasher = DefaultHasher::new();
        text.hash(&mut hasher);
        let key = (text.len(), hasher.finish());
        let current = |inner: &Inner| {
            inner
                .environment
                .as_ref()
                .is_some_and(|cached| Arc::ptr_eq(cached, environment))
        };
        if let Ok(inner) = self.inner.lock()
            && current(&inner)
            && let Some(&counts) = inner.counts.get(&key)
        {
            return counts;
        }
        let counts = counts(&compile_json(text, environment).diagnostics);
        if let Ok(mut inner) = self.inner.lock()
            && current(&inner)
        {
            if inner.counts.len() >= MAX_COUNTS {
                inner.counts.clear();
            }
            inner.counts.insert(key, counts);
        }
        counts
    }
}

/// (errors, warnings).
pub(super) fn counts(diagnostics: &[Diagnostic]) -> (usize, usize) {
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    (errors, diagnostics.len() - errors)
}
