//! How the UA reacts to each transaction event: requests in and out of dialogs, ACKs,
//! responses to our INVITEs, BYEs and CANCELs, and transaction timeouts.

use super::{Purpose, UaEvent, UserAgent, allow_header};
use crate::proto::dialog::{
    CallKey, CallState, Dialog, EndCause, Role, header_uri, session_expires, uri_user, without_tag,
};
use crate::proto::message::{Header, Method, NewResponse, Request, Response};
use crate::proto::sdp::{Offer, SdpError, choose_answer, parse_offer, reanswer};
use crate::proto::time::Instant;
use crate::proto::transaction::{TransactionEvent, TransactionId};
use core::net::SocketAddr;
use std::time::Duration;

impl UserAgent {
    pub(super) fn on_transaction_event(&mut self, event: TransactionEvent, now: Instant) {
        match event {
            TransactionEvent::RequestReceived {
                id,
                request,
                source,
                cancels,
            } => self.on_request(id, request, source, cancels, now),
            TransactionEvent::AckReceived { request, .. } => self.on_ack(&request, now),
            TransactionEvent::ResponseReceived {
                id,
                response,
                source,
            } => self.on_response(id, response, source, now),
            TransactionEvent::Timeout { id } | TransactionEvent::TransportError { id } => {
                self.on_timeout(id, now)
            }
            TransactionEvent::Terminated { id } => {
                self.by_transaction.remove(&id);
            }
            TransactionEvent::StrayResponse { response, source } => {
                self.on_stray(response, source);
            }
            TransactionEvent::Overloaded { .. } | TransactionEvent::Malformed { .. } => {}
        }
    }

    /// Answers `id` with `status`, ignoring failures: the transaction may be gone, and a
    /// peer that gets no answer retransmits or gives up by its own timers.
    fn respond(&mut self, id: TransactionId, status: u16, reason: &str, now: Instant) {
        let _ = self
            .layer
            .send_response(id, NewResponse::new(status, reason), now);
    }

    fn offer_of(&self, request: &Request) -> Result<Option<Offer>, SdpError> {
        if request.body.is_empty() {
            return Ok(None);
        }
        let offer = parse_offer(&request.body, self.config.sdp_limits)?;
        choose_answer(&offer)?;
        Ok(Some(offer))
    }

    fn on_request(
        &mut self,
        id: TransactionId,
        request: Request,
        source: SocketAddr,
        cancels: Option<TransactionId>,
        now: Instant,
    ) {
        if let Some(invite) = cancels {
            self.respond(id, 200, "OK", now);
            self.on_cancel(invite, now);
            return;
        }
        if request.method == Method::Register && self.on_register(id, &request, source, now) {
            return;
        }
        let Some(to_tag) = request.to_tag.clone() else {
            match request.method {
                Method::Invite => self.on_new_invite(id, request, source, now),
                Method::Options => {
                    let mut response = NewResponse::new(200, "OK");
                    response.headers.push(allow_header());
                    response
                        .headers
                        .push(Header::new("Accept", "application/sdp"));
                    let _ = self.layer.send_response(id, response, now);
                }
                _ => {
                    let mut response = NewResponse::new(405, "Method Not Allowed");
                    response.headers.push(allow_header());
                    let _ = self.layer.send_response(id, response, now);
                }
            }
            return;
        };
        let Some(&call) = self.by_tags.get(&(request.call_id.clone(), to_tag)) else {
            self.respond(id, 481, "Call/Transaction Does Not Exist", now);
            return;
        };
        let Some(dialog) = self.dialogs.get_mut(&call) else {
            return;
        };
        if dialog.remote_cseq.is_some_and(|cseq| request.cseq <= cseq) {
            self.respond(id, 500, "CSeq Out of Order", now);
            return;
        }
        dialog.remote_cseq = Some(request.cseq);
        match request.method {
            Method::Bye => {
                self.respond(id, 200, "OK", now);
                if let Some(dialog) = self.dialogs.get(&call)
                    && dialog.state == CallState::Incoming
                    && let Some(invite) = dialog.invite
                {
                    self.respond(invite, 487, "Request Terminated", now);
                }
                self.finish(call, EndCause::RemoteHangup);
            }
            Method::Invite => self.on_reinvite(call, id, &request, now),
            Method::Update => {
                self.respond(id, 200, "OK", now);
                self.refresh_session(call, now);
            }
            Method::Options | Method::Info | Method::Notify => self.respond(id, 200, "OK", now),
            _ => self.respond(id, 501, "Not Implemented", now),
        }
    }

    fn on_new_invite(
        &mut self,
        id: TransactionId,
        request: Request,
        source: SocketAddr,
        now: Instant,
    ) {
        if self.dialogs.len() >= self.config.max_dialogs {
            let mut response = NewResponse::new(503, "Service Unavailable");
            response.headers.push(Header::new(
                "Retry-After",
                self.config.retry_after_secs.to_string(),
            ));
            let _ = self.layer.send_response(id, response, now);
            self.events.push_back(UaEvent::Refused {
                source,
                status: 503,
            });
            return;
        }
        let offer = match self.offer_of(&request) {
            Ok(offer) => offer,
            Err(_) => {
                self.respond(id, 488, "Not Acceptable Here", now);
                self.events.push_back(UaEvent::Refused {
                    source,
                    status: 488,
                });
                return;
            }
        };
        let session_interval = request
            .header("Session-Expires")
            .or_else(|| request.header("x"))
            .and_then(session_expires)
            .map(|secs| Duration::from_secs(secs.into()).max(self.config.min_session_expires));
        let from = request.header("From").unwrap_or_default().to_string();
        let to = request.header("To").unwrap_or_default();
        let remote_target = request
            .header("Contact")
            .map(header_uri)
            .filter(|uri| !uri.is_empty())
            .unwrap_or_else(|| header_uri(&from))
            .to_string();
        let call = self.new_call_key();
        let dialog = Dialog {
            key: call,
            role: Role::Uas,
            state: CallState::Incoming,
            call_id: request.call_id.clone(),
            local_tag: self.new_tag(),
            remote_tag: Some(request.from_tag.clone()),
            local_uri: without_tag(to),
            remote_uri: without_tag(&from),
            remote_target,
            remote_address: source,
            local_cseq: 0,
            remote_cseq: Some(request.cseq),
            invite: Some(id),
            pending_reinvite: None,
            local_sdp: None,
            ack: None,
            ending: None,
            max_end: now + self.config.max_call_duration,
            session_interval,
            session_expiry: None,
        };
        self.insert_dialog(dialog);
        self.by_transaction.insert(id, (call, Purpose::Invite));
        self.events.push_back(UaEvent::IncomingCall {
            call,
            from,
            to: uri_user(&request.uri).to_string(),
            offer,
            source,
        });
    }

    fn on_cancel(&mut self, invite: TransactionId, now: Instant) {
        let Some(&(call, _)) = self.by_transaction.get(&invite) else {
            return;
        };
        let Some(dialog) = self.dialogs.get(&call) else {
            return;
        };
        if dialog.state == CallState::Incoming {
            let mut response = NewResponse::new(487, "Request Terminated");
            response.to_tag = Some(dialog.local_tag.clone());
            let _ = self.layer.send_response(invite, response, now);
            self.finish(call, EndCause::Cancelled);
        }
    }

    fn on_reinvite(&mut self, call: CallKey, id: TransactionId, request: &Request, now: Instant) {
        let offer = match self.offer_of(request) {
            Ok(offer) => offer,
            Err(_) => {
                self.respond(id, 488, "Not Acceptable Here", now);
                return;
            }
        };
        let Some(dialog) = self.dialogs.get_mut(&call) else {
            return;
        };
        if dialog.state != CallState::Confirmed || dialog.pending_reinvite.is_some() {
            self.respond(id, 491, "Request Pending", now);
            return;
        }
        self.events.push_back(UaEvent::ReInvite {
            call,
            offer: offer.clone(),
        });
        dialog.pending_reinvite = Some((id, offer.clone()));
        if self.config.reinvite == super::ReInvitePolicy::AskTu {
            return;
        }
        let current = dialog.local_sdp.clone().unwrap_or_default();
        let sdp = match &offer {
            Some(offer) => reanswer(&current, offer).unwrap_or(current),
            None => current,
        };
        // The dialog is confirmed and a re-INVITE is pending, so this cannot be refused.
        let _ = self.answer(call, &sdp, now);
    }

    fn on_ack(&mut self, request: &Request, now: Instant) {
        let Some(to_tag) = &request.to_tag else {
            return;
        };
        let Some(&call) = self.by_tags.get(&(request.call_id.clone(), to_tag.clone())) else {
            return;
        };
        if let Some(dialog) = self.dialogs.get_mut(&call)
            && dialog.state == CallState::Answered
        {
            dialog.state = CallState::Confirmed;
            self.events.push_back(UaEvent::Established { call });
            self.refresh_session(call, now);
        }
    }

    fn on_response(
        &mut self,
        id: TransactionId,
        response: Response,
        source: SocketAddr,
        now: Instant,
    ) {
        let Some(&(call, purpose)) = self.by_transaction.get(&id) else {
            return;
        };
        match purpose {
            Purpose::Invite => self.on_invite_response(call, response, source, now),
            Purpose::Bye if !response.is_provisional() => {
                let cause = self
                    .dialogs
                    .get(&call)
                    .and_then(|dialog| dialog.ending)
                    .unwrap_or(EndCause::LocalHangup);
                self.finish(call, cause);
            }
            Purpose::Bye | Purpose::Cancel => {}
        }
    }

    fn on_invite_response(
        &mut self,
        call: CallKey,
        response: Response,
        source: SocketAddr,
        now: Instant,
    ) {
        let limits = self.config.sdp_limits;
        let Some(dialog) = self.dialogs.get_mut(&call) else {
            return;
        };
        if dialog.role != Role::Uac {
            return;
        }
        if response.is_provisional() {
            if dialog.state == CallState::Outgoing {
                self.events.push_back(UaEvent::Progress {
                    call,
                    status: response.status,
                });
            }
            return;
        }
        if response.status >= 300 {
            if dialog.state == CallState::Cancelling {
                let cause = dialog.ending.unwrap_or(EndCause::LocalHangup);
                self.finish(call, cause);
            } else if dialog.is_early() {
                if matches!(response.status, 401 | 407)
                    && self.answer_challenge(call, &response, now)
                {
                    return;
                }
                self.remove_dialog(call);
                self.events.push_back(UaEvent::Failed {
                    call,
                    status: response.status,
                });
            }
            return;
        }
        // A 2xx: the first one confirms the dialog; later ones only get the ACK again.
        if let Some(ack) = dialog.ack.clone() {
            let destination = dialog.remote_address;
            self.send_ack(ack, destination);
            return;
        }
        dialog.remote_tag = response.to_tag.clone();
        if let Some(contact) = response.header("Contact").map(header_uri)
            && !contact.is_empty()
        {
            dialog.remote_target = contact.to_string();
        }
        dialog.remote_address = source;
        let mut ack = dialog.next_request(Method::Ack);
        ack.cseq = response.cseq;
        dialog.local_cseq = response.cseq;
        dialog.ack = Some(ack.clone());
        let cancelled = dialog.state == CallState::Cancelling;
        let cause = dialog.ending.unwrap_or(EndCause::LocalHangup);
        dialog.state = CallState::Confirmed;
        self.send_ack(ack, source);
        if cancelled {
            self.end_call(call, cause, now);
            return;
        }
        let answer = parse_offer(&response.body, limits).ok();
        self.events.push_back(UaEvent::Answered { call, answer });
    }

    fn on_timeout(&mut self, id: TransactionId, now: Instant) {
        let Some(&(call, purpose)) = self.by_transaction.get(&id) else {
            return;
        };
        let Some(dialog) = self.dialogs.get(&call) else {
            return;
        };
        match (purpose, dialog.role, dialog.state) {
            (Purpose::Invite, Role::Uas, CallState::Answered) => {
                self.end_call(call, EndCause::AckTimeout, now);
            }
            (Purpose::Invite, Role::Uac, CallState::Outgoing) => {
                self.remove_dialog(call);
                self.events.push_back(UaEvent::Failed { call, status: 408 });
            }
            (Purpose::Invite, Role::Uac, CallState::Cancelling) | (Purpose::Bye, _, _) => {
                let cause = dialog.ending.unwrap_or(EndCause::LocalHangup);
                self.finish(call, cause);
            }
            _ => {}
        }
    }

    /// A 2xx to an INVITE whose client transaction is gone: ACK it again if we know it.
    fn on_stray(&mut self, response: Response, source: SocketAddr) {
        if response.cseq_method != Method::Invite || !(200..300).contains(&response.status) {
            return;
        }
        let Some(from_tag) = &response.from_tag else {
            return;
        };
        let key = (response.call_id.clone(), from_tag.clone());
        if let Some(ack) = self
            .by_tags
            .get(&key)
            .and_then(|call| self.dialogs.get(call))
            .and_then(|dialog| dialog.ack.clone())
        {
            self.send_ack(ack, source);
        }
    }
}
