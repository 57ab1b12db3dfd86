//! The call engine: the SIP endpoint, the dispatcher that gives each new INVITE its own
//! task and forwards dialog events to it, and an orderly shutdown that hangs every call up
//! and waits for the records to be stored.

use crate::call::{self, Incoming, Signal};
use crate::config::CallConfig;
use crate::library::FlowLibrary;
use crate::prompts::Prompts;
use crate::records::RecordWriter;
use crate::webhook::{ClientError, Webhooks};
use ramal_sip::{CallKey, EndpointConfig, SipEndpoint, SipHandle, TransportError, UaEvent};
use ramal_store::Store;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};

/// How long shutdown waits for calls to hang up and store their records.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// What every call's task shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: CallConfig,
    pub sip: SipHandle,
    pub records: RecordWriter,
    pub library: FlowLibrary,
    pub prompts: Prompts,
    pub webhooks: Webhooks,
}

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The SIP socket.
    #[error(transparent)]
    Sip(#[from] TransportError),
    /// The webhook client.
    #[error(transparent)]
    Http(#[from] ClientError),
}

/// A running call engine. Dropping it without [`CallEngine::shutdown`] leaves calls to the
/// runtime's end.
#[derive(Debug)]
pub struct CallEngine {
    sip_address: SocketAddr,
    stop: oneshot::Sender<()>,
    dispatcher: JoinHandle<()>,
    writer: JoinHandle<()>,
}

impl CallEngine {
    /// Binds SIP on `config.sip` and starts answering calls with the flows published in
    /// `store`.
    pub async fn start(config: CallConfig, store: Store) -> Result<CallEngine, StartError> {
        let mut endpoint = EndpointConfig::default();
        endpoint.ua.max_dialogs = config.max_calls;
        endpoint.ua.transaction.max_transactions = config.max_transactions;
        endpoint.rate_limit.per_second = config.requests_per_source;
        endpoint.rate_limit.burst = config.requests_per_source.saturating_mul(2);
        let (sip, events) = SipEndpoint::bind(config.sip, endpoint).await?;
        let sip_address = sip.local_addr();
        let (records, writer) = RecordWriter::spawn(store.clone());
        let shared = Arc::new(Shared {
            library: FlowLibrary::new(store.clone(), config.default_flow.clone()),
            prompts: Prompts::new(
                config.prompts_dir.clone(),
                config.espeak.clone(),
                config.tts_cache_dir.clone(),
                config.default_voice.clone(),
            ),
            webhooks: Webhooks::new()?,
            config,
            sip,
            records,
        });
        let (stop, stopped) = oneshot::channel();
        let dispatcher = tokio::spawn(dispatch(shared, events, stopped));
        tracing::info!("SIP on udp:{sip_address}");
        Ok(CallEngine {
            sip_address,
            stop,
            dispatcher,
            writer,
        })
    }

    /// The bound SIP address.
    pub fn sip_addr(&self) -> SocketAddr {
        self.sip_address
    }

    /// Hangs up every call, waits (a few seconds at most) for them to end, writes their
    /// records, and stops.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let _ = self.dispatcher.await;
        // The dispatcher held the last handle to the writer's queue: it drains and stops.
        let _ = self.writer.await;
    }
}

async fn dispatch(
    shared: Arc<Shared>,
    mut events: mpsc::Receiver<UaEvent>,
    mut stopped: oneshot::Receiver<()>,
) {
    let mut calls: HashMap<CallKey, mpsc::UnboundedSender<Signal>> = HashMap::new();
    let mut tasks: JoinSet<CallKey> = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                match done {
                    Ok(call) => { calls.remove(&call); }
                    Err(error) => tracing::error!(%error, "a call task failed"),
                }
            }
            event = events.recv() => {
                let Some(event) = event else { break };
                match event {
                    UaEvent::IncomingCall { call, from, to, offer, source } => {
                        tracing::info!(%call, %from, %to, %source, "incoming call");
                        let (signal, signals) = mpsc::unbounded_channel();
                        calls.insert(call, signal);
                        let incoming = Incoming { call, from, to, offer };
                        tasks.spawn(call::run(shared.clone(), incoming, signals));
                    }
                    UaEvent::CallEnded { call, cause } => {
                        if let Some(signal) = calls.get(&call) {
                            let _ = signal.send(Signal::Ended(cause));
                        }
                    }
                    UaEvent::Refused { source, status } => {
                        tracing::warn!(%source, status, "INVITE refused by the SIP layer");
                    }
                    UaEvent::Established { .. }
                    | UaEvent::ReInvite { .. }
                    | UaEvent::Progress { .. }
                    | UaEvent::Answered { .. }
                    | UaEvent::Failed { .. } => {}
                }
            }
        }
    }
    for signal in calls.values() {
        let _ = signal.send(Signal::Shutdown);
    }
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            left = tasks.len(),
            "calls did not end in time; abandoning them"
        );
        tasks.abort_all();
    }
}
