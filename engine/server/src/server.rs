//! `ramal serve`: load the flows, serve the API until shutdown.

use crate::api::{AppState, router};
use crate::catalog::FlowCatalog;
use crate::config::Config;
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Runs the server on an already bound listener until `shutdown` completes, then drains
/// requests in flight. Tests pass a listener on `127.0.0.1:0`.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let catalog = FlowCatalog::load(&config.flows)?;
    for (id, flow) in &catalog.flows {
        let errors = flow.diagnostics.iter().filter(|d| d.is_error()).count();
        if errors > 0 {
            tracing::warn!(flow = %id, file = %flow.file, errors, "flow has errors; it is listed but cannot run");
            for diagnostic in flow.diagnostics.iter().filter(|d| d.is_error()) {
                tracing::warn!(flow = %id, "{diagnostic}");
            }
        } else {
            tracing::info!(flow = %id, file = %flow.file, "flow loaded");
        }
    }
    let state = AppState {
        catalog: Arc::new(catalog),
    };
    let address = listener.local_addr()?;
    tracing::info!("Ramal API on http://{address}/");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await?;
    tracing::info!("stopped");
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
