//! Which flow answers a call: the inbound route for the number dialled, else the default
//! flow; and the compiled published flows, recompiled only when a published version
//! changes. A call pins the version it started on: it holds its `Arc<Flow>` to the end.
//!
//! Lookups are cached for [`FRESH_FOR`]: a route change or a publish reaches new calls
//! within a second, and a burst of calls costs the database one query per second instead
//! of two per call.

use crate::custom::NodeModules;
use ramal_flow::compile::CustomNodeInfo;
use ramal_flow::sim::FlowSet;
use ramal_flow::{Environment, Flow};
use ramal_store::{Store, StoreError};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// How long a looked-up route or set of published versions is used without asking again.
pub const FRESH_FOR: Duration = Duration::from_secs(1);

/// Cached routes are forgotten all at once beyond this many numbers.
const MAX_CACHED_ROUTES: usize = 10_000;

/// The flow a call runs.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The compiled flow.
    pub flow: Arc<Flow>,
    /// Its id.
    pub flow_id: String,
    /// The published version it was compiled from.
    pub version: i64,
}

/// Why no flow can answer a call.
#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    /// No route for the number and no default flow.
    #[error("no flow answers `{0}` (no inbound route and no default flow)")]
    NoRoute(String),
    /// The routed flow has no published version that compiles.
    #[error("flow `{0}` has no published version that compiles")]
    NotRunnable(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Compiled published flows, shared by every call.
#[derive(Debug)]
pub struct FlowLibrary {
    store: Store,
    default_flow: Option<String>,
    compiled: Mutex<Compiled>,
    routes: Mutex<HashMap<String, (Option<String>, Instant)>>,
    /// Installed custom nodes: when set, custom nodes take their ports from the registry
    /// and a flow pinning a module that is not installed does not compile.
    nodes: Option<Arc<NodeModules>>,
}

#[derive(Debug, Default)]
struct Compiled {
    /// When the published versions were last read.
    checked_at: Option<Instant>,
    /// (flow id, version) of every published flow the set was compiled from.
    versions: Vec<(String, i64)>,
    /// The custom nodes the set was compiled with.
    custom_nodes: Option<BTreeMap<(String, String), CustomNodeInfo>>,
    set: Arc<FlowSet>,
}

impl FlowLibrary {
    /// A library over `store`; `default_flow` answers numbers without a route.
    pub fn new(store: Store, default_flow: Option<String>) -> FlowLibrary {
        FlowLibrary {
            store,
            default_flow,
            compiled: Mutex::new(Compiled::default()),
            routes: Mutex::new(HashMap::new()),
            nodes: None,
        }
    }

    /// Compiles flows against the custom nodes installed in `nodes`.
    pub fn with_nodes(mut self, nodes: Arc<NodeModules>) -> FlowLibrary {
        self.nodes = Some(nodes);
        self
    }

    /// The flow for a call to `dialled`.
    pub async fn resolve(&self, dialled: &str) -> Result<Resolved, RouteError> {
        let flow_id = match self.route(dialled).await? {
            Some(flow_id) => flow_id,
            None => self
                .default_flow
                .clone()
                .ok_or_else(|| RouteError::NoRoute(dialled.to_owned()))?,
        };
        let (set, versions) = self.current().await?;
        let flow = set
            .flows
            .get(&flow_id)
            .cloned()
            .ok_or_else(|| RouteError::NotRunnable(flow_id.clone()))?;
        let version = versions
            .iter()
            .find(|(id, _)| *id == flow_id)
            .map(|(_, version)| *version)
            .ok_or_else(|| RouteError::NotRunnable(flow_id.clone()))?;
        Ok(Resolved {
            flow,
            flow_id,
            version,
        })
    }

    /// The inbound route for `dialled`, cached for [`FRESH_FOR`].
    async fn route(&self, dialled: &str) -> Result<Option<String>, StoreError> {
        let now = Instant::now();
        if let Some((flow, at)) = self.routes.lock().await.get(dialled)
            && now.duration_since(*at) < FRESH_FOR
        {
            return Ok(flow.clone());
        }
        let flow = self.store.inbound_route(dialled).await?;
        let mut routes = self.routes.lock().await;
        if routes.len() >= MAX_CACHED_ROUTES {
            routes.clear();
        }
        routes.insert(dialled.to_owned(), (flow.clone(), now));
        Ok(flow)
    }

    /// The compiled set of the newest published versions, recompiled when they changed.
    async fn current(&self) -> Result<(Arc<FlowSet>, Vec<(String, i64)>), StoreError> {
        let mut compiled = self.compiled.lock().await;
        if let Some(at) = compiled.checked_at
            && at.elapsed() < FRESH_FOR
        {
            return Ok((compiled.set.clone(), compiled.versions.clone()));
        }
        let versions: Vec<(String, i64)> = self
            .store
            .flows()
            .await?
            .into_iter()
            .filter_map(|flow| flow.published_version.map(|version| (flow.id, version)))
            .collect();
        let custom_nodes = match &self.nodes {
            Some(nodes) => Some(nodes.custom_nodes().await?),
            None => None,
        };
        compiled.checked_at = Some(Instant::now());
        if compiled.versions != versions
            || compiled.custom_nodes != custom_nodes
            || compiled.set.flows.is_empty()
        {
            let set = compile_published(&self.store, &versions, custom_nodes.clone()).await?;
            compiled.versions = versions.clone();
            compiled.custom_nodes = custom_nodes;
            compiled.set = Arc::new(set);
        }
        Ok((compiled.set.clone(), versions))
    }
}

/// The published flows `(id, version)` compiled together, with `custom_nodes` when the
/// installed modules are known: what calls run, and what drafts' `subflow` nodes may call.
/// A published flow that does not compile (a module removed since) is logged and left out.
pub async fn compile_published(
    store: &Store,
    versions: &[(String, i64)],
    custom_nodes: Option<BTreeMap<(String, String), CustomNodeInfo>>,
) -> Result<FlowSet, StoreError> {
    let mut sources = Vec::with_capacity(versions.len());
    for (id, version) in versions {
        let published = store.flow_version(id, *version).await?;
        sources.push((format!("{id}@{version}"), published.document));
    }
    let environment = Environment {
        custom_nodes,
        ..Environment::default()
    };
    let set = FlowSet::compile_in(&sources, environment);
    for (source, diagnostics) in &set.diagnostics {
        for diagnostic in diagnostics.iter().filter(|d| d.is_error()) {
            tracing::warn!(%source, "published flow does not compile: {diagnostic}");
        }
    }
    Ok(set)
}
