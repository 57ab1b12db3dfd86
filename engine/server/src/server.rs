//! `ramal serve`: open the store, set up a first start, serve the API (and the editor's
//! files) until shutdown.

use crate::api::{AppState, now_ms, router};
use crate::bootstrap;
use crate::config::Config;
use anyhow::Context;
use ramal_store::Store;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Runs the server on an already bound listener until `shutdown` completes, then drains
/// requests in flight. Tests pass a listener on `127.0.0.1:0`.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let mut state = open(&config).await?;
    let calls = match config.calls() {
        Some(mut calls) => {
            calls.acd = Some(
                crate::phones::acd_config(&state.store, &config.pause_reasons)
                    .await
                    .context("reading the queues")?,
            );
            // One Wasm host for calls and the API's uploads.
            let http = ramal_call::ReqwestHttp::new().context("the custom nodes' HTTP client")?;
            let host = ramal_wasm::WasmHost::new(calls.nodes.clone(), Arc::new(http))
                .context("starting the Wasm host")?;
            let nodes = Arc::new(ramal_call::NodeModules::new(
                state.store.clone(),
                Arc::new(host),
            ));
            state = state.with_nodes(Arc::clone(&nodes));
            let engine =
                ramal_call::CallEngine::start_with_nodes(calls, state.store.clone(), nodes)
                    .await
                    .context("starting the call engine")?;
            let phones = engine.phones();
            crate::phones::refresh(&state.store, &phones, &config.sip_realm).await;
            state = state.with_phones(config.sip_realm.clone(), Some(phones));
            tokio::spawn(forward_calls(engine.call_notices(), state.events.clone()));
            if let Some(agents) = engine.agents() {
                tokio::spawn(forward_notices(agents.subscribe(), state.events.clone()));
                state = state.with_agents(Some(agents));
            }
            Some(engine)
        }
        None => None,
    };
    let address = listener.local_addr()?;
    tracing::info!("Ramal API on http://{address}/api");
    match &config.editor_dir {
        Some(dir) => tracing::info!("the editor on http://{address}/ (from {})", dir.display()),
        None => tracing::info!(
            "no editor (build it with `cargo xtask editor`, then `ramal serve --editor flow-editor/dist`)"
        ),
    }
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    if let Some(calls) = calls {
        calls.shutdown().await;
    }
    served?;
    tracing::info!("stopped");
    Ok(())
}

/// Opens the store (creating the data directory), does the first-start setup (the admin
/// user, the example flows) and builds the API's state.
pub async fn open(config: &Config) -> anyhow::Result<AppState> {
    if let Some(dir) = &config.editor_dir {
        anyhow::ensure!(
            dir.join("index.html").is_file(),
            "the editor directory {} has no index.html: build the editor with `cargo xtask editor`",
            dir.display()
        );
    }
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating the data directory {}", config.data_dir.display()))?;
    // The URL may hold a password: name the backend, not the URL.
    let store = Store::open(&config.database_url())
        .await
        .context("opening the database")?;
    tracing::info!(backend = ?store.backend(), "database open");
    let report = bootstrap::first_start(
        &store,
        config.admin_password.as_ref(),
        &config.flows,
        now_ms(),
    )
    .await?;
    if let Some(password) = &report.generated_admin_password {
        tracing::warn!(
            "\n\n    ************************************************************\n    \
             First start: created the user `admin` with the password\n\n        \
             {password}\n\n    \
             It is shown only this once. Log in and keep it safe, or set\n    \
             RAMAL_ADMIN_PASSWORD on a fresh database to choose your own.\n    \
             ************************************************************\n"
        );
    }
    for id in &report.imported_flows {
        tracing::info!(flow = %id, "example flow imported and published");
    }
    let defaults = ramal_call::CallConfig::default();
    let speech = ramal_call::Prompts::new(
        config.prompts.clone(),
        defaults.espeak,
        config.data_dir.join("tts-cache"),
        defaults.default_voice,
    );
    Ok(AppState::new(store)
        .with_editor(config.editor_dir.clone())
        .with_prompts(speech))
}

/// Publishes the call engine's notices (calls started and ended, nodes entered) on the
/// API's event stream, until the call engine stops.
async fn forward_calls(
    mut notices: tokio::sync::broadcast::Receiver<ramal_call::CallNotice>,
    events: crate::api::EventBus,
) {
    use ramal_call::CallNotice;
    use tokio::sync::broadcast::error::RecvError;
    loop {
        let event = match notices.recv().await {
            Ok(CallNotice::Started {
                call_id,
                caller,
                callee,
                flow_id,
                at,
            }) => crate::api::Event::CallStarted {
                call_id,
                caller,
                callee,
                flow_id: Some(flow_id),
                at,
            },
            Ok(CallNotice::NodeEntered { call_id, node, at }) => crate::api::Event::NodeEntered {
                call_id,
                node: node.to_string(),
                at,
            },
            Ok(CallNotice::Ended {
                call_id,
                end_reason,
                at,
            }) => crate::api::Event::CallEnded {
                call_id,
                end_reason,
                at,
            },
            Err(RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "the event stream fell behind the calls");
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        events.publish(event);
    }
}

/// Publishes the ACD's notices (agent states, queue waits) on the API's event stream,
/// until the call engine stops.
async fn forward_notices(
    mut notices: tokio::sync::broadcast::Receiver<ramal_call::AcdNotice>,
    events: crate::api::EventBus,
) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        let event = match notices.recv().await {
            Ok(ramal_call::AcdNotice::Agent(view)) => crate::api::Event::AgentState {
                state: view.state.to_owned(),
                reason: view.reason,
                call_id: view.call.map(|call| call.call_id),
                at: view.since,
                agent: view.agent,
            },
            Ok(ramal_call::AcdNotice::Queue(queue)) => crate::api::Event::QueueStatus {
                queue: queue.queue,
                waiting: queue.waiting,
                longest_wait_ms: queue.longest_wait_ms,
                at: now_ms(),
            },
            Err(RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "the event stream fell behind the ACD");
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        events.publish(event);
    }
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
