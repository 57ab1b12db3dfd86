//! The caller's second leg: a transfer's target or a queue's agent — ringing it, the ACD's
//! orders, bridging on answer, and its end.

use super::{Driver, bind_rtp, local_media, media_codec_of as media_codec, sip_user};
use crate::acd::AcdOrder;
use crate::transfer::{self, Leg};
use ramal_flow::execution::{CommandId, Event, QueueOutcome, TransferOutcome};
use ramal_media::MediaEvent;
use ramal_sip::proto::sdp;
use ramal_sip::{OutgoingCall, UaEvent};
use std::net::SocketAddr;
use std::time::Duration;

/// Where a second leg's INVITE goes and who it shows as calling.
struct Outgoing {
    uri: String,
    from_user: String,
    to: String,
    destination: SocketAddr,
    transport: ramal_sip::Transport,
    credentials: Option<ramal_sip::UacCredentials>,
}

impl Driver {
    /// Rings the transfer target on a second leg; the executor hears of it through
    /// [`Self::on_leg_event`]. An error means nothing was sent.
    pub(super) async fn start_transfer(
        &mut self,
        id: CommandId,
        to: &str,
        trunk: Option<&str>,
        timeout: Duration,
        caller_id: Option<&str>,
    ) -> Result<(), String> {
        if self.leg.is_some() {
            return Err("a transfer is already ringing".into());
        }
        let trunks = transfer::trunks(&self.shared.config, &self.shared.store).await;
        let target = transfer::target(&trunks, to, trunk, caller_id, &self.caller)
            .map_err(|error| error.to_string())?;
        let destination = transfer::resolve(&target)
            .await
            .map_err(|error| error.to_string())?;
        let outgoing = Outgoing {
            uri: target.uri.clone(),
            from_user: target.caller_id.clone(),
            to: target.to.clone(),
            destination,
            transport: target.transport,
            credentials: target.credentials.clone(),
        };
        let ring_deadline = Some(tokio::time::Instant::now() + timeout);
        self.open_leg(id, outgoing, to, ring_deadline, None).await
    }

    /// The ACD's order: ring an agent, stop ringing one, or leave the queue.
    pub(super) async fn on_acd_order(&mut self, order: AcdOrder) {
        let (Some(acd), Some(id)) = (self.shared.acd.clone(), self.queued) else {
            return;
        };
        let call = ramal_acd::CallId(self.record_id.clone());
        match order {
            AcdOrder::Offer { agent } => {
                if let Err(reason) = self.ring_agent(id, &agent).await {
                    tracing::info!(call = %self.call, %agent, %reason, "offer failed");
                    acd.event(ramal_acd::Event::OfferFailed {
                        call,
                        agent: ramal_acd::AgentId(agent),
                    });
                }
            }
            AcdOrder::Cancel { agent } => {
                let ours = self
                    .leg
                    .as_ref()
                    .is_some_and(|leg| !leg.bridged && leg.agent.as_deref() == Some(&agent));
                if ours && let Some(leg) = self.leg.take() {
                    let _ = self.shared.sip.hangup(leg.call).await;
                }
            }
            AcdOrder::Leave(result) => {
                let outcome = match result {
                    // The conversation is on; the queue node ends when the agent hangs up.
                    ramal_acd::QueueResult::Answered { .. } => return,
                    ramal_acd::QueueResult::Timeout => QueueOutcome::Timeout,
                    ramal_acd::QueueResult::NoAgents | ramal_acd::QueueResult::Full => {
                        QueueOutcome::NoAgents
                    }
                };
                self.queued = None;
                if self
                    .leg
                    .as_ref()
                    .is_some_and(|leg| leg.agent.is_some() && !leg.bridged)
                    && let Some(leg) = self.leg.take()
                {
                    let _ = self.shared.sip.hangup(leg.call).await;
                }
                self.handle(Event::QueueEnded { id, outcome });
            }
        }
    }

    /// Rings `agent`'s registered phone on a second leg.
    pub(super) async fn ring_agent(&mut self, id: CommandId, agent: &str) -> Result<(), String> {
        if self.leg.is_some() {
            return Err("the caller already has a second leg".into());
        }
        let bindings = self
            .shared
            .sip
            .lookup(agent)
            .await
            .map_err(|error| error.to_string())?;
        let binding = bindings
            .first()
            .ok_or_else(|| format!("`{agent}` has no registered phone"))?;
        let sip = self.shared.sip.local_addr();
        let outgoing = Outgoing {
            uri: binding.contact.clone(),
            from_user: self.caller.clone(),
            to: format!("<sip:{agent}@{sip}>"),
            destination: transfer::phone_address(&binding.contact, binding.source),
            // A phone that registered over TCP is reached over that connection, which the
            // endpoint knows; to any other it is UDP.
            transport: ramal_sip::Transport::Udp,
            credentials: None,
        };
        self.open_leg(id, outgoing, agent, None, Some(agent.to_owned()))
            .await
    }

    /// Opens the second leg: its RTP session, our offer, the INVITE, the dispatcher told
    /// where the leg's events go. An error means nothing was sent.
    async fn open_leg(
        &mut self,
        id: CommandId,
        outgoing: Outgoing,
        to: &str,
        ring_deadline: Option<tokio::time::Instant>,
        agent: Option<String>,
    ) -> Result<(), String> {
        let config = &self.shared.config;
        let rtp = bind_rtp(config).await.map_err(|error| error.to_string())?;
        let sip = self.shared.sip.local_addr();
        let invite = OutgoingCall {
            target_uri: outgoing.uri.clone(),
            from: format!("<sip:{}@{sip}>", sip_user(&outgoing.from_user)),
            to: outgoing.to,
            offer_sdp: sdp::build_offer(&local_media(config, &rtp)),
            destination: outgoing.destination,
            transport: outgoing.transport,
            credentials: outgoing.credentials,
        };
        let leg = self
            .shared
            .sip
            .invite(invite)
            .await
            .map_err(|error| error.to_string())?;
        // The dispatcher replays what the leg did before this registration reached it.
        let _ = self.shared.legs.send((leg, self.signal.clone()));
        tracing::info!(call = %self.call, %leg, uri = %outgoing.uri, "second leg ringing");
        self.leg = Some(Leg {
            id,
            call: leg,
            rtp,
            to: to.to_owned(),
            ring_deadline,
            agent,
            ringing: false,
            bridged: false,
        });
        Ok(())
    }

    /// Whether the campaign the caller was queued under records its calls. A campaign
    /// that cannot be read is taken as not recording, and said so.
    async fn campaign_records(&self) -> bool {
        let Some(name) = &self.queue_campaign else {
            return false;
        };
        match self.shared.store.campaign_named(name).await {
            Ok(campaign) => campaign.is_some_and(|campaign| campaign.spec.record_calls),
            Err(error) => {
                tracing::error!(call = %self.call, campaign = %name, %error, "cannot read the campaign: not recording");
                false
            }
        }
    }

    /// Tells the ACD the caller is gone (from the queue, or from the agent).
    pub(super) async fn leave_queue(&mut self) {
        if self.queued.take().is_none() {
            return;
        }
        if let Some(acd) = &self.shared.acd {
            acd.event(ramal_acd::Event::CallerHungUp {
                call: ramal_acd::CallId(self.record_id.clone()),
            });
        }
        if self.leg.as_ref().is_some_and(|leg| leg.agent.is_some())
            && let Some(leg) = self.leg.take()
        {
            let _ = self.shared.sip.hangup(leg.call).await;
        }
    }

    /// Reports an agent leg's progress to the ACD.
    pub(super) fn tell_acd(&self, event: ramal_acd::Event) {
        if let Some(acd) = &self.shared.acd {
            acd.event(event);
        }
    }

    /// The transfer target did not answer in time: cancel it and tell the executor.
    pub(super) async fn transfer_unanswered(&mut self) {
        if let Some(leg) = self.leg.take() {
            tracing::info!(call = %self.call, leg = %leg.call, "transfer not answered in time");
            let _ = self.shared.sip.hangup(leg.call).await;
            self.handle(Event::TransferEnded {
                id: leg.id,
                outcome: TransferOutcome::Failed,
            });
        }
    }

    /// A dialog event of the second leg (a transfer's or an agent's): ringing, answered
    /// (bridge), failed, or ended.
    pub(super) async fn on_leg_event(&mut self, event: UaEvent) {
        let Some(leg) = self.leg.as_mut() else {
            return;
        };
        let acd_call = ramal_acd::CallId(self.record_id.clone());
        let agent = leg.agent.clone().map(ramal_acd::AgentId);
        match event {
            UaEvent::Progress { call, .. } if call == leg.call => {
                if let Some(agent) = agent
                    && !leg.ringing
                {
                    leg.ringing = true;
                    self.tell_acd(ramal_acd::Event::AgentRinging {
                        call: acd_call,
                        agent,
                    });
                }
            }
            UaEvent::Answered { call, answer } if call == leg.call => {
                let plan = answer
                    .as_ref()
                    .and_then(|answer| sdp::choose_answer(answer).ok().map(|plan| (answer, plan)));
                let Some((answer, plan)) = plan else {
                    tracing::warn!(call = %self.call, leg = %call, "the far end answered without a usable SDP; hanging up");
                    let _ = self.shared.sip.hangup(call).await;
                    return;
                };
                leg.rtp.set_remote(
                    SocketAddr::new(answer.connection, answer.audio_port),
                    media_codec(plan.codec),
                    plan.telephone_event,
                );
                leg.rtp.relay_to(Some(self.rtp.audio_sink()));
                self.rtp.relay_to(Some(leg.rtp.audio_sink()));
                leg.bridged = true;
                let (id, party) = (leg.id, leg.to.clone());
                tracing::info!(call = %self.call, leg = %call, "second leg answered; bridged");
                if let Some(agent) = agent {
                    self.tell_acd(ramal_acd::Event::AgentAnswered {
                        call: acd_call,
                        agent,
                    });
                    if self.campaign_records().await {
                        self.start_recording().await;
                    }
                }
                self.handle(Event::Connected { id, party });
            }
            UaEvent::Failed { call, status } if call == leg.call => {
                tracing::info!(call = %self.call, leg = %call, status, "second leg refused");
                let id = leg.id;
                self.leg = None;
                match agent {
                    Some(agent) => self.tell_acd(ramal_acd::Event::OfferFailed {
                        call: acd_call,
                        agent,
                    }),
                    None => self.handle(Event::TransferEnded {
                        id,
                        outcome: TransferOutcome::Failed,
                    }),
                }
            }
            UaEvent::CallEnded { call, cause } if call == leg.call => {
                tracing::info!(call = %self.call, leg = %call, ?cause, "second leg ended");
                self.rtp.relay_to(None);
                let (id, bridged) = (leg.id, leg.bridged);
                self.leg = None;
                match agent {
                    Some(_) if bridged => {
                        self.tell_acd(ramal_acd::Event::AgentHungUp { call: acd_call });
                        self.queued = None;
                        self.handle(Event::QueueEnded {
                            id,
                            outcome: QueueOutcome::Answered,
                        });
                    }
                    Some(agent) => self.tell_acd(ramal_acd::Event::OfferFailed {
                        call: acd_call,
                        agent,
                    }),
                    None => {
                        let outcome = if bridged {
                            TransferOutcome::Completed
                        } else {
                            TransferOutcome::Failed
                        };
                        self.handle(Event::TransferEnded { id, outcome });
                    }
                }
            }
            _ => {}
        }
    }

    /// Hangs the transfer's leg up (the call is ending).
    pub(super) async fn hang_up_leg(&mut self) {
        if let Some(leg) = self.leg.take() {
            let _ = self.shared.sip.hangup(leg.call).await;
        }
    }
}

/// The second leg's next media event, or never when there is none.
pub(super) async fn leg_media(leg: &mut Option<Leg>) -> Option<MediaEvent> {
    match leg {
        Some(leg) => leg.rtp.next_event().await,
        None => std::future::pending().await,
    }
}
