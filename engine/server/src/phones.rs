//! Agents on SIP phones in `ramal serve`: the ACD's queues come from the stored queues (read
//! at start and again after every change through the API), and the registrar's credentials from the stored SIP accounts (read at start
//! and again whenever one changes through the API). An agent's SIP user is their user name.

use ramal_store::{Queue, QueueStrategy, Store, StoreError};
use std::collections::{BTreeMap, HashMap};

/// The ACD configuration for the stored queues: members by user name; overflow to another
/// queue by its name (to a flow, back to the caller's flow through `timeout` — the flow
/// decides what comes next).
pub async fn acd_config(
    store: &Store,
    pause_reasons: &[String],
) -> Result<ramal_acd::AcdConfig, StoreError> {
    let users: HashMap<i64, String> = store
        .users()
        .await?
        .into_iter()
        .map(|user| (user.id, user.username))
        .collect();
    let queues = store.queues().await?;
    let names: HashMap<i64, String> = queues.iter().map(|q| (q.id, q.name.clone())).collect();
    let mut skills: BTreeMap<ramal_acd::AgentId, BTreeMap<String, u8>> = BTreeMap::new();
    let configs = queues
        .iter()
        .map(|queue| {
            for member in &queue.members {
                if let Some(name) = users.get(&member.user_id) {
                    skills
                        .entry(ramal_acd::AgentId(name.clone()))
                        .or_default()
                        .insert(
                            queue.name.clone(),
                            u8::try_from(member.skill_level).unwrap_or(10),
                        );
                }
            }
            queue_config(queue, &users, &names)
        })
        .collect();
    Ok(ramal_acd::AcdConfig {
        queues: configs,
        skills,
        auto_pause_after_misses: queues
            .iter()
            .map(|q| q.auto_pause_after_misses)
            .max()
            .unwrap_or(0),
        pause_reasons: pause_reasons.to_vec(),
    })
}

fn queue_config(
    queue: &Queue,
    users: &HashMap<i64, String>,
    names: &HashMap<i64, String>,
) -> ramal_acd::QueueConfig {
    let strategy = match queue.strategy {
        QueueStrategy::LongestIdle => ramal_acd::Strategy::LongestIdle,
        QueueStrategy::FewestCalls => ramal_acd::Strategy::FewestCalls,
        QueueStrategy::RoundRobin => ramal_acd::Strategy::RoundRobin,
        QueueStrategy::RingAll => ramal_acd::Strategy::RingAll,
        QueueStrategy::SkillBased => ramal_acd::Strategy::SkillBased,
    };
    let overflow = match &queue.overflow {
        Some(ramal_store::Overflow::Queue { queue_id }) => names
            .get(queue_id)
            .map(|name| ramal_acd::Overflow::Queue(ramal_acd::QueueId(name.clone())))
            .unwrap_or(ramal_acd::Overflow::Flow),
        Some(ramal_store::Overflow::Flow { .. }) | None => ramal_acd::Overflow::Flow,
    };
    ramal_acd::QueueConfig {
        id: ramal_acd::QueueId(queue.name.clone()),
        strategy,
        members: queue
            .members
            .iter()
            .filter_map(|member| {
                users.get(&member.user_id).map(|name| ramal_acd::Member {
                    agent: ramal_acd::AgentId(name.clone()),
                    penalty: member.penalty,
                })
            })
            .collect(),
        max_wait_ms: u64::from(queue.max_wait_secs) * 1000,
        max_length: (queue.max_length > 0)
            .then_some(usize::try_from(queue.max_length).unwrap_or(usize::MAX)),
        ring_timeout_ms: u64::from(queue.ring_timeout_secs) * 1000,
        wrap_up_ms: u64::from(queue.wrap_up_secs) * 1000,
        overflow,
        announce_every_ms: None,
    }
}

/// The stored SIP accounts of `realm`, as the registrar's credentials.
pub async fn credentials(
    store: &Store,
    realm: &str,
) -> Result<HashMap<String, ramal_sip::Credential>, StoreError> {
    Ok(store
        .sip_accounts(realm)
        .await?
        .into_iter()
        .map(|account| {
            (
                account.username,
                ramal_sip::Credential::Ha1 {
                    md5: Some(account.ha1_md5),
                    sha256: Some(account.ha1_sha256),
                },
            )
        })
        .collect())
}

/// Gives the running call engine the stored credentials again.
pub async fn refresh(store: &Store, phones: &ramal_call::Phones, realm: &str) {
    match credentials(store, realm).await {
        Ok(credentials) => {
            if phones.set_credentials(credentials).await.is_err() {
                tracing::warn!("the SIP endpoint has stopped; phone credentials not updated");
            }
        }
        Err(error) => tracing::error!(%error, "cannot read the agents' SIP accounts"),
    }
}
