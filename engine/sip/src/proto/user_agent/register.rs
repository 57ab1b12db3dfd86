//! The UA as a registrar for agents' phones: REGISTERs go to [`Registrar`], whose bindings
//! expire on the UA's timers.

use super::{UaEvent, UserAgent};
use crate::proto::digest::Credential;
use crate::proto::message::Request;
use crate::proto::registrar::{Binding, Registrar};
use crate::proto::time::Instant;
use crate::proto::transaction::TransactionId;
use core::net::SocketAddr;
use std::collections::HashMap;

impl UserAgent {
    /// Makes this UA answer REGISTERs with `registrar` (without one they get 405).
    pub fn with_registrar(mut self, registrar: Registrar) -> Self {
        self.registrar = Some(registrar);
        self
    }

    /// Replaces the credentials REGISTERs are checked against (user name → credential).
    pub fn set_credentials(&mut self, credentials: HashMap<String, Credential>) {
        self.credentials = credentials;
    }

    /// The live contacts of `aor` (a phone's user part), newest first as the registrar keeps
    /// them; none without a registrar.
    pub fn lookup(&self, aor: &str, now: Instant) -> Vec<Binding> {
        self.registrar
            .as_ref()
            .map(|registrar| registrar.lookup(aor, now))
            .unwrap_or_default()
    }

    /// Answers a REGISTER through its server transaction `id`.
    pub(super) fn on_register(
        &mut self,
        id: TransactionId,
        request: &Request,
        source: SocketAddr,
        now: Instant,
    ) -> bool {
        let Some(registrar) = self.registrar.as_mut() else {
            return false;
        };
        let reply = registrar.handle_register(request, source, &self.credentials, now);
        // The transaction may be gone; the phone then retransmits or gives up.
        let _ = self.layer.send_response(id, reply.response, now);
        self.events.push_back(UaEvent::Registration {
            source,
            outcome: reply.outcome,
        });
        true
    }
}
