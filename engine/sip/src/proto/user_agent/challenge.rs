//! An outgoing call's answer to a 401/407: the INVITE again, in the same dialog, with the
//! digest of [`crate::proto::digest`] — once per call.

use super::{Purpose, UserAgent, allow_header};
use crate::proto::dialog::{CallKey, Dialog};
use crate::proto::digest::{DigestRequest, authorize};
use crate::proto::message::{Header, Method, NewRequest, Response};
use crate::proto::time::Instant;

impl UserAgent {
    /// The dialog's next INVITE outside a confirmed dialog (the first, or its authorized
    /// repeat): Contact, Allow, the offer, and an authorization header if given.
    pub(super) fn initial_invite(
        &self,
        dialog: &mut Dialog,
        authorization: Option<Header>,
    ) -> NewRequest {
        let mut request = dialog.next_request(Method::Invite);
        request.headers.push(self.contact_header());
        request.headers.push(allow_header());
        request.headers.extend(authorization);
        let offer_sdp = dialog.local_sdp.as_deref().unwrap_or_default();
        if !offer_sdp.is_empty() {
            request
                .headers
                .push(Header::new("Content-Type", "application/sdp"));
            request.body = offer_sdp.as_bytes().to_vec();
        }
        request
    }

    /// A 401/407 to our INVITE: sends it again with the answer to the challenge, once.
    /// Returns whether it did; if not, the challenge is the call's failure.
    pub(super) fn answer_challenge(
        &mut self,
        call: CallKey,
        response: &Response,
        now: Instant,
    ) -> bool {
        let (challenge_header, answer_header) = match response.status {
            401 => ("WWW-Authenticate", "Authorization"),
            407 => ("Proxy-Authenticate", "Proxy-Authorization"),
            _ => return false,
        };
        let cnonce = format!("{:016x}", self.fresh());
        let Some(auth) = self.uac_auth.get_mut(&call) else {
            return false;
        };
        if auth.answered_challenge {
            return false;
        }
        auth.answered_challenge = true;
        let Some(dialog) = self.dialogs.get(&call) else {
            return false;
        };
        let challenges = response
            .headers
            .iter()
            .filter(|header| header.name.eq_ignore_ascii_case(challenge_header))
            .map(|header| header.value.as_str());
        let request = DigestRequest {
            username: &auth.credentials.username,
            password: &auth.credentials.password,
            method: Method::Invite.as_str(),
            uri: &dialog.remote_target,
            cnonce: &cnonce,
            nc: 1,
        };
        let Ok(authorization) = authorize(challenges, &request) else {
            return false;
        };
        let header = Header::new(answer_header, authorization.to_header_value());
        let mut dialog = match self.dialogs.remove(&call) {
            Some(dialog) => dialog,
            None => return false,
        };
        let request = self.initial_invite(&mut dialog, Some(header));
        let destination = dialog.remote_address;
        let sent = self.layer.send_request(request, destination, now);
        if let Ok(id) = sent {
            dialog.invite = Some(id);
            self.by_transaction.insert(id, (call, Purpose::Invite));
        }
        self.dialogs.insert(call, dialog);
        sent.is_ok()
    }
}
