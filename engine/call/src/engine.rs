//! The call engine: the SIP endpoint, the dispatcher that gives each new INVITE its own
//! task and forwards dialog events to it, and an orderly shutdown that hangs every call up
//! and waits for the records to be stored.

use crate::acd::AcdHandle;
use crate::call::{self, Incoming, Signal};
use crate::config::CallConfig;
use crate::custom::{NodeModules, ReqwestHttp};
use crate::library::FlowLibrary;
use crate::prompts::Prompts;
use crate::records::RecordWriter;
use crate::webhook::{ClientError, Webhooks};
use ramal_sip::RegisterOutcome;
use ramal_sip::{CallKey, EndpointConfig, SipEndpoint, SipHandle, TransportError, UaEvent};
use ramal_store::Store;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};

/// How long shutdown waits for calls to hang up and store their records.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The agents' phones: their credentials and where they are registered.
#[derive(Debug, Clone)]
pub struct Phones(SipHandle);

impl Phones {
    /// Replaces the credentials phones REGISTER with (SIP user name → credential).
    pub async fn set_credentials(
        &self,
        credentials: HashMap<String, ramal_sip::Credential>,
    ) -> Result<(), ramal_sip::CommandError> {
        self.0.set_credentials(credentials).await
    }

    /// Where the phone of SIP user `aor` is registered now.
    pub async fn registered(
        &self,
        aor: &str,
    ) -> Result<Vec<ramal_sip::Binding>, ramal_sip::CommandError> {
        self.0.lookup(aor).await
    }
}

/// What every call's task shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: CallConfig,
    pub sip: SipHandle,
    pub records: RecordWriter,
    pub library: FlowLibrary,
    pub prompts: Prompts,
    pub webhooks: Webhooks,
    /// The store (stored trunks are read at transfer time).
    pub store: Store,
    /// The ACD, when queues are configured.
    pub acd: Option<AcdHandle>,
    /// Outgoing legs' keys, sent to the dispatcher so their events reach the call's task.
    pub legs: mpsc::UnboundedSender<(CallKey, mpsc::UnboundedSender<Signal>)>,
    pub nodes: Arc<NodeModules>,
    /// Calls started, nodes entered, calls ended.
    pub notices: crate::notices::CallNotices,
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
    /// The Wasm host for custom nodes.
    #[error(transparent)]
    Wasm(#[from] ramal_wasm::HostError),
}

/// A running call engine. Dropping it without [`CallEngine::shutdown`] leaves calls to the
/// runtime's end.
#[derive(Debug)]
pub struct CallEngine {
    phones: SipHandle,
    sip_address: SocketAddr,
    stop: oneshot::Sender<()>,
    dispatcher: JoinHandle<()>,
    writer: JoinHandle<()>,
    agents: Option<crate::Agents>,
    notices: crate::notices::CallNotices,
}

impl CallEngine {
    /// Binds SIP on `config.sip` and starts answering calls with the flows published in
    /// `store`.
    pub async fn start(config: CallConfig, store: Store) -> Result<CallEngine, StartError> {
        let host = ramal_wasm::WasmHost::new(config.nodes.clone(), Arc::new(ReqwestHttp::new()?))?;
        let nodes = Arc::new(NodeModules::new(store.clone(), Arc::new(host)));
        CallEngine::start_with_nodes(config, store, nodes).await
    }

    /// Like [`CallEngine::start`], running custom nodes with `nodes` (shared with the API's
    /// uploads).
    pub async fn start_with_nodes(
        config: CallConfig,
        store: Store,
        nodes: Arc<NodeModules>,
    ) -> Result<CallEngine, StartError> {
        let mut endpoint = EndpointConfig::default();
        endpoint.ua.max_dialogs = config.max_calls;
        endpoint.ua.transaction.max_transactions = config.max_transactions;
        endpoint.rate_limit.per_second = config.requests_per_source;
        endpoint.rate_limit.burst = config.requests_per_source.saturating_mul(2);
        endpoint.registrar = config.registrar.clone();
        let (sip, events) = SipEndpoint::bind(config.sip, endpoint).await?;
        let sip_address = sip.local_addr();
        let phones = sip.clone();
        let (records, writer) = RecordWriter::spawn(store.clone());
        let (legs, new_legs) = mpsc::unbounded_channel();
        let acd = config
            .acd
            .clone()
            .map(|acd| AcdHandle::spawn(acd, sip.clone()));
        let shared = Arc::new(Shared {
            library: FlowLibrary::new(store.clone(), config.default_flow.clone())
                .with_nodes(Arc::clone(&nodes)),
            nodes,
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
            legs,
            store: store.clone(),
            acd,
            notices: crate::notices::CallNotices::new(),
        });
        let agents = shared.acd.as_ref().map(AcdHandle::agents);
        let notices = shared.notices.clone();
        let (stop, stopped) = oneshot::channel();
        let dispatcher = tokio::spawn(dispatch(shared, events, new_legs, stopped));
        tracing::info!("SIP on udp:{sip_address}");
        Ok(CallEngine {
            phones,
            sip_address,
            stop,
            dispatcher,
            writer,
            agents,
            notices,
        })
    }

    /// The bound SIP address.
    pub fn sip_addr(&self) -> SocketAddr {
        self.sip_address
    }

    /// A handle on the agents' phones (credentials, registrations) that outlives borrows.
    pub fn phones(&self) -> Phones {
        Phones(self.phones.clone())
    }

    /// Every call notice from now on: calls started, nodes entered, calls ended.
    pub fn call_notices(&self) -> tokio::sync::broadcast::Receiver<crate::CallNotice> {
        self.notices.subscribe()
    }

    /// The agents (log in, pause, wrap-up; their states and the queues' waits), when the
    /// engine has an ACD.
    pub fn agents(&self) -> Option<crate::Agents> {
        self.agents.clone()
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

/// Events of outgoing legs whose key the call's task has not registered yet (the far end
/// can answer before `invite` returns), at most this many.
const ORPHANS: usize = 1024;

async fn dispatch(
    shared: Arc<Shared>,
    mut events: mpsc::Receiver<UaEvent>,
    mut new_legs: mpsc::UnboundedReceiver<(CallKey, mpsc::UnboundedSender<Signal>)>,
    mut stopped: oneshot::Receiver<()>,
) {
    let mut calls: HashMap<CallKey, mpsc::UnboundedSender<Signal>> = HashMap::new();
    // Outgoing legs → their caller's task.
    let mut legs: HashMap<CallKey, mpsc::UnboundedSender<Signal>> = HashMap::new();
    let mut orphans: VecDeque<UaEvent> = VecDeque::new();
    let mut tasks: JoinSet<CallKey> = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            Some((leg, signal)) = new_legs.recv() => {
                let (early, rest): (Vec<_>, Vec<_>) =
                    orphans.drain(..).partition(|event| leg_of(event) == Some(leg));
                orphans = rest.into();
                let ended = early.iter().any(ends_leg);
                for event in early {
                    let _ = signal.send(Signal::Leg(Box::new(event)));
                }
                if !ended {
                    legs.insert(leg, signal);
                }
            }
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
                        calls.insert(call, signal.clone());
                        let incoming = Incoming { call, from, to, offer, signal };
                        tasks.spawn(call::run(shared.clone(), incoming, signals));
                    }
                    UaEvent::CallEnded { call, cause } if !legs.contains_key(&call) => {
                        if let Some(signal) = calls.get(&call) {
                            let _ = signal.send(Signal::Ended(cause));
                        } else {
                            keep_orphan(&mut orphans, UaEvent::CallEnded { call, cause });
                        }
                    }
                    UaEvent::CallEnded { .. }
                    | UaEvent::Progress { .. }
                    | UaEvent::Answered { .. }
                    | UaEvent::Failed { .. } => {
                        let Some(leg) = leg_of(&event) else { continue };
                        let signal = if ends_leg(&event) {
                            legs.remove(&leg)
                        } else {
                            legs.get(&leg).cloned()
                        };
                        match signal {
                            Some(signal) => {
                                let _ = signal.send(Signal::Leg(Box::new(event)));
                            }
                            None => keep_orphan(&mut orphans, event),
                        }
                    }
                    UaEvent::Refused { source, status } => {
                        tracing::warn!(%source, status, "INVITE refused by the SIP layer");
                    }
                                        UaEvent::Registration { source, outcome } => {
                        tracing::debug!(%source, ?outcome, "REGISTER");
                        // A phone's last binding going logs its agent out (logging in is
                        // the agent's own act, through the API).
                        if let (Some(acd), RegisterOutcome::Updated { aor, bindings, .. }) =
                            (&shared.acd, outcome)
                            && bindings.is_empty()
                        {
                            acd.event(ramal_acd::Event::LoggedOut {
                                agent: ramal_acd::AgentId(aor),
                            });
                        }
                    }
                    UaEvent::Established { .. } | UaEvent::ReInvite { .. } => {}
                }
            }
        }
    }
    for signal in calls.values() {
        let _ = signal.send(Signal::Shutdown);
    }
    drop(legs);
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

/// The outgoing leg an event is about, for events a leg can have.
fn leg_of(event: &UaEvent) -> Option<CallKey> {
    match event {
        UaEvent::Progress { call, .. }
        | UaEvent::Answered { call, .. }
        | UaEvent::Failed { call, .. }
        | UaEvent::CallEnded { call, .. } => Some(*call),
        _ => None,
    }
}

/// Whether the leg is gone after `event`.
fn ends_leg(event: &UaEvent) -> bool {
    matches!(event, UaEvent::Failed { .. } | UaEvent::CallEnded { .. })
}

/// Keeps an event for a leg not registered yet; the oldest goes when full (most are the
/// `CallEnded` of inbound calls whose task already finished, which nobody will claim).
fn keep_orphan(orphans: &mut VecDeque<UaEvent>, event: UaEvent) {
    if orphans.len() >= ORPHANS {
        orphans.pop_front();
    }
    orphans.push_back(event);
}
