//! Queues: how waiting callers are matched with agents — the strategy, the timeouts, the
//! size, what happens on overflow — and their members (agents with a skill level and a
//! penalty). The matching itself is `ramal-acd`'s; this is its configuration.

use crate::error::StoreError;
use crate::pool::{Store, with_pool};
use crate::trunks::not_found;
use crate::validation::{Checker, corrupt};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use std::collections::{BTreeMap, HashSet};

/// How a queue picks an agent (after the lowest penalty).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum QueueStrategy {
    /// The agent idle the longest.
    LongestIdle,
    /// The agent who took the fewest calls.
    FewestCalls,
    /// Each agent in turn.
    RoundRobin,
    /// Every free agent at once; the first to answer takes it.
    RingAll,
    /// The highest skill level first.
    SkillBased,
}

impl QueueStrategy {
    fn as_str(self) -> &'static str {
        match self {
            QueueStrategy::LongestIdle => "longest-idle",
            QueueStrategy::FewestCalls => "fewest-calls",
            QueueStrategy::RoundRobin => "round-robin",
            QueueStrategy::RingAll => "ring-all",
            QueueStrategy::SkillBased => "skill-based",
        }
    }
    fn parse(text: &str) -> Result<Self, StoreError> {
        Ok(match text {
            "longest-idle" => QueueStrategy::LongestIdle,
            "fewest-calls" => QueueStrategy::FewestCalls,
            "round-robin" => QueueStrategy::RoundRobin,
            "ring-all" => QueueStrategy::RingAll,
            "skill-based" => QueueStrategy::SkillBased,
            other => return Err(corrupt("strategy", other)),
        })
    }
}

/// Where callers go when the queue is full or they waited too long.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Overflow {
    /// Another queue.
    Queue {
        /// Its id.
        queue_id: i64,
    },
    /// A flow (its published version).
    Flow {
        /// Its id.
        flow_id: String,
    },
}

/// An agent in a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueMember {
    /// The agent's user id.
    pub user_id: i64,
    /// 1 (novice) to 10 (expert); used by `skill-based` (default 5).
    #[serde(default = "default_skill")]
    pub skill_level: u32,
    /// 0 to 100; agents with a lower penalty are offered calls first (default 0).
    #[serde(default)]
    pub penalty: u32,
}

fn default_skill() -> u32 {
    5
}

/// A queue to create or the new state of one.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueSpec {
    /// Unique name.
    pub name: String,
    /// How agents are picked.
    pub strategy: QueueStrategy,
    /// Seconds an agent's phone rings before the call is offered to another (5–300,
    /// default 20).
    #[serde(default = "default_ring_timeout")]
    pub ring_timeout_secs: u32,
    /// Seconds a caller may wait before overflowing (0 = no limit; at most 86,400).
    #[serde(default)]
    pub max_wait_secs: u32,
    /// Callers waiting at most (0 = no limit; at most 100,000).
    #[serde(default)]
    pub max_length: u32,
    /// Seconds after a call before the agent is offered another (0–3,600).
    #[serde(default)]
    pub wrap_up_secs: u32,
    /// Pause an agent after this many unanswered offers in a row (0 = never; at most 100).
    #[serde(default)]
    pub auto_pause_after_misses: u32,
    /// Where callers go on overflow (none: they leave the queue with its `timeout` or
    /// `full` result).
    #[serde(default)]
    pub overflow: Option<Overflow>,
    /// The agents.
    #[serde(default)]
    pub members: Vec<QueueMember>,
}

fn default_ring_timeout() -> u32 {
    20
}

/// A queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Queue {
    /// Id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// How agents are picked.
    pub strategy: QueueStrategy,
    /// Ring timeout, seconds.
    pub ring_timeout_secs: u32,
    /// Maximum wait, seconds (0 = none).
    pub max_wait_secs: u32,
    /// Maximum callers waiting (0 = none).
    pub max_length: u32,
    /// Wrap-up, seconds.
    pub wrap_up_secs: u32,
    /// Auto-pause after this many misses (0 = never).
    pub auto_pause_after_misses: u32,
    /// Overflow target.
    pub overflow: Option<Overflow>,
    /// The agents, by user id.
    pub members: Vec<QueueMember>,
    /// Created, Unix ms.
    pub created_at: i64,
    /// Last changed, Unix ms.
    pub updated_at: i64,
}

const QUEUE_COLUMNS: &str = "id, name, strategy, ring_timeout_secs, max_wait_secs, max_length, \
     wrap_up_secs, auto_pause_after_misses, overflow_queue_id, overflow_flow_id, created_at, updated_at";

trait QueueRow {
    fn queue(&self) -> Result<Queue, StoreError>;
    fn member(&self) -> Result<(i64, QueueMember), StoreError>;
}

fn small(field: &'static str, value: i64) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| corrupt(field, &value.to_string()))
}

macro_rules! queue_row {
    ($row:ty) => {
        impl QueueRow for $row {
            fn queue(&self) -> Result<Queue, StoreError> {
                let overflow_queue: Option<i64> = self.try_get("overflow_queue_id")?;
                let overflow_flow: Option<String> = self.try_get("overflow_flow_id")?;
                Ok(Queue {
                    id: self.try_get("id")?,
                    name: self.try_get("name")?,
                    strategy: QueueStrategy::parse(self.try_get("strategy")?)?,
                    ring_timeout_secs: small(
                        "ring_timeout_secs",
                        self.try_get("ring_timeout_secs")?,
                    )?,
                    max_wait_secs: small("max_wait_secs", self.try_get("max_wait_secs")?)?,
                    max_length: small("max_length", self.try_get("max_length")?)?,
                    wrap_up_secs: small("wrap_up_secs", self.try_get("wrap_up_secs")?)?,
                    auto_pause_after_misses: small(
                        "auto_pause_after_misses",
                        self.try_get("auto_pause_after_misses")?,
                    )?,
                    overflow: match (overflow_queue, overflow_flow) {
                        (Some(queue_id), _) => Some(Overflow::Queue { queue_id }),
                        (None, Some(flow_id)) => Some(Overflow::Flow { flow_id }),
                        (None, None) => None,
                    },
                    members: Vec::new(),
                    created_at: self.try_get("created_at")?,
                    updated_at: self.try_get("updated_at")?,
                })
            }
            fn member(&self) -> Result<(i64, QueueMember), StoreError> {
                Ok((
                    self.try_get("queue_id")?,
                    QueueMember {
                        user_id: self.try_get("user_id")?,
                        skill_level: small("skill_level", self.try_get("skill_level")?)?,
                        penalty: small("penalty", self.try_get("penalty")?)?,
                    },
                ))
            }
        }
    };
}
queue_row!(sqlx::sqlite::SqliteRow);
queue_row!(sqlx::postgres::PgRow);

impl Store {
    /// The roles of the users among `ids` that exist (as stored: `agent`, …).
    pub(crate) async fn user_roles(
        &self,
        ids: impl IntoIterator<Item = i64>,
    ) -> Result<BTreeMap<i64, String>, StoreError> {
        let mut roles = BTreeMap::new();
        for id in ids.into_iter().collect::<HashSet<_>>() {
            let role: Option<String> = with_pool!(self, pool => {
                sqlx::query_scalar("SELECT role FROM users WHERE id = $1")
                    .bind(id)
                    .fetch_optional(pool)
                    .await?
            });
            if let Some(role) = role {
                roles.insert(id, role);
            }
        }
        Ok(roles)
    }

    /// Whether row `id` exists in `table` (a name from this crate, never from input).
    pub(crate) async fn exists(&self, table: &'static str, id: i64) -> Result<bool, StoreError> {
        let found: Option<i64> = with_pool!(self, pool => {
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT id FROM {table} WHERE id = $1")))
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        Ok(found.is_some())
    }

    /// Whether flow `id` exists.
    pub(crate) async fn flow_exists(&self, id: &str) -> Result<bool, StoreError> {
        let found: Option<String> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT id FROM flows WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        Ok(found.is_some())
    }

    async fn check_queue(&self, spec: &QueueSpec, id: Option<i64>) -> Result<(), StoreError> {
        let mut checker = Checker::new();
        checker.name("name", &spec.name, 100);
        checker.range("ring_timeout_secs", spec.ring_timeout_secs, 5, 300);
        checker.range("max_wait_secs", spec.max_wait_secs, 0, 86_400);
        checker.range("max_length", spec.max_length, 0, 100_000);
        checker.range("wrap_up_secs", spec.wrap_up_secs, 0, 3_600);
        checker.range(
            "auto_pause_after_misses",
            spec.auto_pause_after_misses,
            0,
            100,
        );
        match &spec.overflow {
            Some(Overflow::Queue { queue_id }) => {
                if Some(*queue_id) == id {
                    checker.fail(
                        "overflow.queue_id",
                        "not_allowed",
                        "a queue cannot overflow into itself",
                    );
                } else if !self.exists("queues", *queue_id).await? {
                    checker.fail(
                        "overflow.queue_id",
                        "unknown",
                        format!("no queue {queue_id}"),
                    );
                }
            }
            Some(Overflow::Flow { flow_id }) if !self.flow_exists(flow_id).await? => {
                checker.fail(
                    "overflow.flow_id",
                    "unknown",
                    format!("no flow `{flow_id}`"),
                );
            }
            _ => {}
        }
        if spec.members.len() > 1000 {
            checker.fail("members", "too_long", "at most 1000 members");
        }
        let roles = self
            .user_roles(spec.members.iter().map(|m| m.user_id))
            .await?;
        let mut seen = HashSet::new();
        for (index, member) in spec.members.iter().enumerate() {
            let path = format!("members[{index}]");
            if !seen.insert(member.user_id) {
                checker.fail(
                    format!("{path}.user_id"),
                    "duplicate",
                    "this agent is listed twice",
                );
            }
            match roles.get(&member.user_id).map(String::as_str) {
                None => checker.fail(
                    format!("{path}.user_id"),
                    "unknown",
                    format!("no user {}", member.user_id),
                ),
                Some("agent") => {}
                Some(other) => checker.fail(
                    format!("{path}.user_id"),
                    "wrong_role",
                    format!(
                        "user {} is a{} {other}, not an agent",
                        member.user_id,
                        if other == "admin" { "n" } else { "" }
                    ),
                ),
            }
            checker.range(&format!("{path}.skill_level"), member.skill_level, 1, 10);
            checker.range(&format!("{path}.penalty"), member.penalty, 0, 100);
        }
        Ok(checker.finish()?)
    }

    /// Creates a queue with its members.
    pub async fn create_queue(
        &self,
        spec: &QueueSpec,
        by: Option<i64>,
        now_ms: i64,
    ) -> Result<Queue, StoreError> {
        self.write_queue(None, spec, by, now_ms).await
    }

    /// Replaces queue `id` (members included) with `spec`.
    pub async fn update_queue(
        &self,
        id: i64,
        spec: &QueueSpec,
        by: Option<i64>,
        now_ms: i64,
    ) -> Result<Queue, StoreError> {
        self.queue(id).await?;
        self.write_queue(Some(id), spec, by, now_ms).await
    }

    async fn write_queue(
        &self,
        id: Option<i64>,
        spec: &QueueSpec,
        by: Option<i64>,
        now_ms: i64,
    ) -> Result<Queue, StoreError> {
        self.check_queue(spec, id).await?;
        let action = if id.is_none() { "create" } else { "update" };
        let name = spec.name.trim();
        let (overflow_queue, overflow_flow) = match &spec.overflow {
            Some(Overflow::Queue { queue_id }) => (Some(*queue_id), None),
            Some(Overflow::Flow { flow_id }) => (None, Some(flow_id.as_str())),
            None => (None, None),
        };
        let conflict = |error: sqlx::Error| match StoreError::from(error) {
            StoreError::Conflict(_) => {
                StoreError::Conflict(format!("a queue named `{name}` exists"))
            }
            other => other,
        };
        let id: i64 = with_pool!(self, pool => {
            let mut transaction = pool.begin().await?;
            let id: i64 = match id {
                None => sqlx::query_scalar(
                    "INSERT INTO queues (name, strategy, ring_timeout_secs, max_wait_secs, max_length, \
                     wrap_up_secs, auto_pause_after_misses, overflow_queue_id, overflow_flow_id, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
                )
                .bind(name)
                .bind(spec.strategy.as_str())
                .bind(i64::from(spec.ring_timeout_secs))
                .bind(i64::from(spec.max_wait_secs))
                .bind(i64::from(spec.max_length))
                .bind(i64::from(spec.wrap_up_secs))
                .bind(i64::from(spec.auto_pause_after_misses))
                .bind(overflow_queue)
                .bind(overflow_flow)
                .bind(now_ms)
                .fetch_one(&mut *transaction)
                .await
                .map_err(conflict)?,
                Some(id) => {
                    sqlx::query(
                        "UPDATE queues SET name = $2, strategy = $3, ring_timeout_secs = $4, max_wait_secs = $5, \
                         max_length = $6, wrap_up_secs = $7, auto_pause_after_misses = $8, overflow_queue_id = $9, \
                         overflow_flow_id = $10, updated_at = $11 WHERE id = $1",
                    )
                    .bind(id)
                    .bind(name)
                    .bind(spec.strategy.as_str())
                    .bind(i64::from(spec.ring_timeout_secs))
                    .bind(i64::from(spec.max_wait_secs))
                    .bind(i64::from(spec.max_length))
                    .bind(i64::from(spec.wrap_up_secs))
                    .bind(i64::from(spec.auto_pause_after_misses))
                    .bind(overflow_queue)
                    .bind(overflow_flow)
                    .bind(now_ms)
                    .execute(&mut *transaction)
                    .await
                    .map_err(conflict)?;
                    sqlx::query("DELETE FROM queue_members WHERE queue_id = $1")
                        .bind(id)
                        .execute(&mut *transaction)
                        .await?;
                    id
                }
            };
            for member in &spec.members {
                sqlx::query("INSERT INTO queue_members (queue_id, user_id, skill_level, penalty) VALUES ($1, $2, $3, $4)")
                    .bind(id)
                    .bind(member.user_id)
                    .bind(i64::from(member.skill_level))
                    .bind(i64::from(member.penalty))
                    .execute(&mut *transaction)
                    .await?;
            }
            transaction.commit().await?;
            id
        });
        self.audit(by, action, "queue", &id.to_string(), Some(name), now_ms)
            .await?;
        self.queue(id).await
    }

    /// Queue `id` with its members.
    pub async fn queue(&self, id: i64) -> Result<Queue, StoreError> {
        let mut queue = with_pool!(self, pool => {
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {QUEUE_COLUMNS} FROM queues WHERE id = $1")))
                .bind(id)
                .fetch_optional(pool)
                .await?
                .as_ref()
                .map(QueueRow::queue)
                .transpose()?
                .ok_or_else(|| not_found("queue", id))?
        });
        queue.members = with_pool!(self, pool => {
            sqlx::query("SELECT queue_id, user_id, skill_level, penalty FROM queue_members WHERE queue_id = $1 ORDER BY user_id")
                .bind(id)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|row| row.member().map(|(_, member)| member))
                .collect::<Result<_, StoreError>>()?
        });
        Ok(queue)
    }

    /// Every queue with its members, by name.
    pub async fn queues(&self) -> Result<Vec<Queue>, StoreError> {
        let (mut queues, members) = with_pool!(self, pool => {
            let queues = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {QUEUE_COLUMNS} FROM queues ORDER BY name")))
                .fetch_all(pool)
                .await?
                .iter()
                .map(QueueRow::queue)
                .collect::<Result<Vec<_>, _>>()?;
            let members = sqlx::query("SELECT queue_id, user_id, skill_level, penalty FROM queue_members ORDER BY queue_id, user_id")
                .fetch_all(pool)
                .await?
                .iter()
                .map(QueueRow::member)
                .collect::<Result<Vec<_>, _>>()?;
            (queues, members)
        });
        for (queue_id, member) in members {
            if let Some(queue) = queues.iter_mut().find(|queue| queue.id == queue_id) {
                queue.members.push(member);
            }
        }
        Ok(queues)
    }

    /// Deletes queue `id`; refused while a campaign or another queue's overflow uses it.
    pub async fn delete_queue(
        &self,
        id: i64,
        by: Option<i64>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let (campaigns, queues): (i64, i64) = with_pool!(self, pool => {
            (
                sqlx::query_scalar("SELECT COUNT(*) FROM campaigns WHERE queue_id = $1").bind(id).fetch_one(pool).await?,
                sqlx::query_scalar("SELECT COUNT(*) FROM queues WHERE overflow_queue_id = $1").bind(id).fetch_one(pool).await?,
            )
        });
        if campaigns + queues > 0 {
            return Err(StoreError::Conflict(format!(
                "queue {id} is used by {campaigns} campaign(s) and the overflow of {queues} queue(s)"
            )));
        }
        let deleted = with_pool!(self, pool => {
            sqlx::query("DELETE FROM queues WHERE id = $1").bind(id).execute(pool).await?.rows_affected()
        });
        if deleted == 0 {
            return Err(not_found("queue", id));
        }
        self.audit(by, "delete", "queue", &id.to_string(), None, now_ms)
            .await
    }
}
