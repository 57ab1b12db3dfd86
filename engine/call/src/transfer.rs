//! Transfers: where a `transfer` node's call goes (a number through a trunk, or a SIP URI),
//! and the second leg that rings it and, once answered, is bridged to the caller.
//!
//! The call's task owns the [`Leg`]; the dispatcher forwards the leg's dialog events to it
//! like the caller's own. Media is relayed by the two RTP sessions (each in its codec, on
//! its own clock) — Ramal stays in the media path, so it can record both sides.

use crate::config::{CallConfig, TrunkConfig};
use ramal_flow::execution::CommandId;
use ramal_media::RtpSession;
use ramal_sip::{CallKey, UacCredentials};
use ramal_store::{Store, Transport, rewrite_number};
use std::net::SocketAddr;
use thiserror::Error;

/// Why a transfer could not even be tried.
#[derive(Debug, Error, PartialEq, Eq)]
pub(crate) enum TargetError {
    /// The flow named a trunk that is not configured.
    #[error("no trunk named `{0}`")]
    UnknownTrunk(String),
    /// A number, and no trunk to send it through.
    #[error("no trunk is configured to reach `{0}`")]
    NoTrunk(String),
    /// Not a number and not a `sip:` URI.
    #[error("`{0}` is neither a phone number nor a sip: URI")]
    BadTarget(String),
    /// The host did not resolve.
    #[error("cannot resolve `{0}`")]
    Unresolved(String),
}

/// Where the second leg's INVITE goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// The Request-URI.
    pub uri: String,
    /// The host and port to resolve.
    pub host: String,
    /// UDP, or TCP for a TCP trunk or a URI with `;transport=tcp`.
    pub transport: ramal_sip::Transport,
    /// Its port.
    pub port: u16,
    /// The To value.
    pub to: String,
    /// The user part of our From (the caller ID shown).
    pub caller_id: String,
    /// Digest credentials of the trunk.
    pub credentials: Option<UacCredentials>,
}

/// The trunks a transfer may use: those configured at start-up, then those stored (created
/// through the API), read afresh for every transfer.
pub(crate) async fn trunks(config: &CallConfig, store: &Store) -> Vec<TrunkConfig> {
    let mut trunks = config.trunks.clone();
    let stored = match store.trunks().await {
        Ok(stored) => stored,
        Err(error) => {
            tracing::error!(%error, "cannot read the stored trunks");
            return trunks;
        }
    };
    for trunk in stored {
        if trunks.iter().any(|t| t.name == trunk.name) {
            continue;
        }
        let credentials = match store.trunk_credentials(trunk.id).await {
            Ok(credentials) => credentials,
            Err(error) => {
                tracing::error!(trunk = %trunk.name, %error, "cannot read the trunk's credentials");
                continue;
            }
        };
        trunks.push(TrunkConfig {
            name: trunk.name,
            host: trunk.host,
            port: u16::try_from(trunk.port).unwrap_or(5060),
            transport: match trunk.transport {
                Transport::Udp => ramal_sip::Transport::Udp,
                Transport::Tcp => ramal_sip::Transport::Tcp,
            },
            username: credentials.as_ref().map(|c| c.username.clone()),
            password: credentials.map(|c| c.password),
            caller_id: trunk.caller_id,
            rewrite: trunk.rewrite_rules,
        });
    }
    trunks
}

fn is_number(text: &str) -> bool {
    let digits = text.strip_prefix('+').unwrap_or(text);
    !digits.is_empty()
        && digits.len() <= 32
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'*' || b == b'#')
}

/// Decides where `to` goes: a `sip:` URI directly (its host and port), a number through
/// `trunk` (or the first configured trunk). `caller_id` overrides the trunk's, which
/// overrides `caller`.
pub(crate) fn target(
    trunks: &[TrunkConfig],
    to: &str,
    trunk: Option<&str>,
    caller_id: Option<&str>,
    caller: &str,
) -> Result<Target, TargetError> {
    let to = to.trim();
    let chosen = match trunk {
        Some(name) => Some(
            trunks
                .iter()
                .find(|t| t.name == name)
                .ok_or_else(|| TargetError::UnknownTrunk(name.to_owned()))?,
        ),
        None => trunks.first(),
    };
    let shown = |trunk: Option<&TrunkConfig>| {
        caller_id
            .map(str::to_owned)
            .or_else(|| trunk.and_then(|t| t.caller_id.clone()))
            .unwrap_or_else(|| caller.to_owned())
    };
    if let Some(rest) = to.strip_prefix("sip:") {
        let hostport = rest.rsplit('@').next().unwrap_or(rest);
        let hostport = hostport.split(';').next().unwrap_or(hostport);
        let (host, port) = match hostport.rsplit_once(':') {
            Some((host, port)) if !host.contains(']') || host.ends_with(']') => (
                host,
                port.parse::<u16>()
                    .map_err(|_| TargetError::BadTarget(to.to_owned()))?,
            ),
            _ => (hostport, 5060),
        };
        if host.is_empty()
            || host
                .chars()
                .any(|c| c.is_whitespace() || c == '>' || c == '<')
        {
            return Err(TargetError::BadTarget(to.to_owned()));
        }
        let tcp = rest
            .split(';')
            .skip(1)
            .any(|param| param.eq_ignore_ascii_case("transport=tcp"));
        return Ok(Target {
            uri: to.to_owned(),
            host: host.trim_matches(['[', ']']).to_owned(),
            transport: if tcp {
                ramal_sip::Transport::Tcp
            } else {
                ramal_sip::Transport::Udp
            },
            port,
            to: format!("<{to}>"),
            caller_id: shown(None),
            credentials: None,
        });
    }
    if !is_number(to) {
        return Err(TargetError::BadTarget(to.to_owned()));
    }
    let trunk = chosen.ok_or_else(|| TargetError::NoTrunk(to.to_owned()))?;
    let number = rewrite_number(&trunk.rewrite, to);
    let uri = format!("sip:{number}@{}:{}", trunk.host, trunk.port);
    Ok(Target {
        to: format!("<{uri}>"),
        uri,
        host: trunk.host.clone(),
        transport: trunk.transport,
        port: trunk.port,
        caller_id: shown(Some(trunk)),
        credentials: trunk.username.clone().map(|username| UacCredentials {
            username,
            password: trunk.password.clone().unwrap_or_default(),
        }),
    })
}

/// Resolves the target's host (an address or a DNS name; the first address wins).
pub(crate) async fn resolve(target: &Target) -> Result<SocketAddr, TargetError> {
    tokio::net::lookup_host((target.host.as_str(), target.port))
        .await
        .ok()
        .and_then(|mut addresses| addresses.next())
        .ok_or_else(|| TargetError::Unresolved(target.host.clone()))
}

/// Where to send an INVITE to a registered phone: its Contact's address when that names
/// the host the REGISTER came from (no NAT in between), else the REGISTER's source address
/// (the NAT's mapping, which the phone keeps open by re-registering). A phone registered
/// over TCP (`;transport=tcp`) is reached over the connection it registered on, which is
/// the source.
pub(crate) fn phone_address(contact: &str, source: SocketAddr) -> SocketAddr {
    let tcp = contact
        .split('>')
        .next()
        .unwrap_or_default()
        .split(';')
        .skip(1)
        .any(|param| param.eq_ignore_ascii_case("transport=tcp"));
    if tcp {
        return source;
    }
    let hostport = contact
        .split_once('@')
        .map_or(contact, |(_, rest)| rest)
        .split([';', '>'])
        .next()
        .unwrap_or_default();
    match hostport.parse::<SocketAddr>() {
        Ok(address) if address.ip() == source.ip() => address,
        _ => source,
    }
}

/// The second leg of a transfer, while it rings and while it is bridged.
#[derive(Debug)]
pub(crate) struct Leg {
    /// The `Transfer` command.
    pub id: CommandId,
    /// Its dialog.
    pub call: CallKey,
    /// Its media.
    pub rtp: RtpSession,
    /// Who was called, for the executor and the record.
    pub to: String,
    /// When to give up ringing (a transfer's; the ACD times its own offers).
    pub ring_deadline: Option<tokio::time::Instant>,
    /// The agent rung for a queue, if this leg is one.
    pub agent: Option<String>,
    /// The agent's phone reported ringing.
    pub ringing: bool,
    /// Answered and bridged.
    pub bridged: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RewriteRule;

    fn config() -> Vec<TrunkConfig> {
        CallConfig {
            trunks: vec![
                TrunkConfig {
                    name: "carrier".into(),
                    host: "10.0.0.9".into(),
                    port: 5080,
                    transport: ramal_sip::Transport::Tcp,
                    username: Some("ramal".into()),
                    password: Some("s3cret".into()),
                    caller_id: Some("551130000000".into()),
                    rewrite: vec![
                        RewriteRule::StripPrefix { prefix: "0".into() },
                        RewriteRule::AddPrefix {
                            prefix: "55".into(),
                        },
                    ],
                },
                TrunkConfig {
                    name: "backup".into(),
                    host: "backup.example".into(),
                    ..TrunkConfig::default()
                },
            ],
            ..CallConfig::default()
        }
        .trunks
    }

    #[test]
    fn a_number_goes_through_the_default_trunk_rewritten() {
        let target = target(&config(), "011999990000", None, None, "1001").expect("a target");
        assert_eq!(target.uri, "sip:5511999990000@10.0.0.9:5080");
        assert_eq!(target.transport, ramal_sip::Transport::Tcp, "the trunk's");
        assert_eq!(target.caller_id, "551130000000");
        assert_eq!(
            target.credentials.map(|c| (c.username, c.password)),
            Some(("ramal".into(), "s3cret".into()))
        );
    }

    #[test]
    fn a_named_trunk_and_a_caller_id_override() {
        let target = target(
            &config(),
            "+5511999990000",
            Some("backup"),
            Some("4000"),
            "1001",
        )
        .expect("a target");
        assert_eq!(target.uri, "sip:+5511999990000@backup.example:5060");
        assert_eq!(target.caller_id, "4000");
        assert_eq!(target.credentials, None);
    }

    #[test]
    fn a_sip_uri_goes_straight_to_its_host() {
        let target =
            target(&config(), "sip:agent7@127.0.0.1:5099", None, None, "1001").expect("a target");
        assert_eq!((target.host.as_str(), target.port), ("127.0.0.1", 5099));
        assert_eq!(target.uri, "sip:agent7@127.0.0.1:5099");
        assert_eq!(target.caller_id, "1001", "the caller is shown by default");
        assert_eq!(target.transport, ramal_sip::Transport::Udp);
        let bare = super::target(&config(), "sip:pbx.example", None, None, "x").expect("a target");
        assert_eq!((bare.host.as_str(), bare.port), ("pbx.example", 5060));
        let tcp = super::target(
            &config(),
            "sip:pbx.example:5070;transport=TCP",
            None,
            None,
            "x",
        )
        .expect("a target");
        assert_eq!((tcp.port, tcp.transport), (5070, ramal_sip::Transport::Tcp));
    }

    #[test]
    fn a_phone_is_reached_at_its_contact_unless_it_is_behind_nat() {
        let source: SocketAddr = "203.0.113.7:40312".parse().expect("an address");
        assert_eq!(
            phone_address("sip:1001@203.0.113.7:5062;transport=udp", source),
            "203.0.113.7:5062"
                .parse::<SocketAddr>()
                .expect("an address")
        );
        assert_eq!(phone_address("sip:1001@192.168.1.20:5060", source), source);
        assert_eq!(phone_address("sip:1001@phone.example", source), source);
        assert_eq!(phone_address("garbage", source), source);
        assert_eq!(
            phone_address("<sip:1001@203.0.113.7:5062;transport=tcp>", source),
            source,
            "over the connection it registered on"
        );
    }

    #[test]
    fn bad_targets_are_errors() {
        assert_eq!(
            target(&[], "1234", None, None, "x"),
            Err(TargetError::NoTrunk("1234".into()))
        );
        assert_eq!(
            target(&config(), "1234", Some("nope"), None, "x"),
            Err(TargetError::UnknownTrunk("nope".into()))
        );
        for bad in [
            "",
            "call me",
            "sip:",
            "sip:a@host:port",
            "sip:a@<evil>",
            "12 34",
        ] {
            assert!(
                matches!(
                    target(&config(), bad, None, None, "x"),
                    Err(TargetError::BadTarget(_))
                ),
                "{bad:?}"
            );
        }
    }
}
