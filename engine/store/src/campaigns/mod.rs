//! Campaigns: their configuration ([`settings`]), its validation ([`check`]) and the
//! repository. The columns other rows point at (contact list, trunk, queue, flow) are real
//! columns with foreign keys; the rest of the configuration is one JSON document, written
//! only after it validates. Supervisors and agents are rows of `campaign_users`, so "the
//! campaigns of this agent" is one index lookup.

pub(crate) mod check;
pub(crate) mod settings;

use crate::error::StoreError;
use crate::pool::{Store, with_pool};
use crate::trunks::not_found;
use crate::validation::{Checker, ValidationErrors};
use settings::{Campaign, CampaignSpec, CampaignStatus, PrimaryAction};
use sqlx::Row;

const CAMPAIGN_COLUMNS: &str = "id, name, kind, status, contact_list_id, trunk_id, settings, \
     created_at, updated_at";

/// A campaign row before its users are attached.
struct Stored {
    campaign: Campaign,
}

trait CampaignRow {
    fn campaign(&self) -> Result<Stored, StoreError>;
}

macro_rules! campaign_row {
    ($row:ty) => {
        impl CampaignRow for $row {
            fn campaign(&self) -> Result<Stored, StoreError> {
                let mut spec: CampaignSpec =
                    crate::validation::json("settings", self.try_get("settings")?)?;
                spec.name = self.try_get("name")?;
                spec.contact_list_id = self.try_get("contact_list_id")?;
                spec.trunk_id = self.try_get("trunk_id")?;
                let kind: String = self.try_get("kind")?;
                if kind != spec.kind.as_str() {
                    return Err(crate::validation::corrupt("kind", &kind));
                }
                Ok(Stored {
                    campaign: Campaign {
                        id: self.try_get("id")?,
                        status: CampaignStatus::parse(self.try_get("status")?)?,
                        spec,
                        created_at: self.try_get("created_at")?,
                        updated_at: self.try_get("updated_at")?,
                    },
                })
            }
        }
    };
}
campaign_row!(sqlx::sqlite::SqliteRow);
campaign_row!(sqlx::postgres::PgRow);

impl Store {
    /// Checks `spec` completely: its fields, then what it refers to.
    async fn check_campaign(&self, spec: &CampaignSpec) -> Result<(), StoreError> {
        let mut checker = Checker::new();
        check::check_fields(&mut checker, spec);
        if let Some(list) = spec.contact_list_id
            && !self.exists("contact_lists", list).await?
        {
            checker.fail(
                "contact_list_id",
                "unknown",
                format!("no contact list {list}"),
            );
        }
        if let Some(trunk) = spec.trunk_id
            && !self.exists("trunks", trunk).await?
        {
            checker.fail("trunk_id", "unknown", format!("no trunk {trunk}"));
        }
        match spec.dialer.as_ref().map(|dialer| &dialer.primary_action) {
            Some(PrimaryAction::ConnectToAgent { queue_id })
                if !self.exists("queues", *queue_id).await? =>
            {
                checker.fail(
                    "dialer.primary_action.queue_id",
                    "unknown",
                    format!("no queue {queue_id}"),
                );
            }
            Some(PrimaryAction::RunFlow { flow_id }) if !self.flow_exists(flow_id).await? => {
                checker.fail(
                    "dialer.primary_action.flow_id",
                    "unknown",
                    format!("no flow `{flow_id}`"),
                );
            }
            _ => {}
        }
        let roles = self
            .user_roles(spec.supervisors.iter().chain(&spec.agents).copied())
            .await?;
        for (list, path, allowed, wanted) in [
            (
                &spec.supervisors,
                "supervisors",
                &["supervisor", "admin"][..],
                "a supervisor or an admin",
            ),
            (&spec.agents, "agents", &["agent"][..], "an agent"),
        ] {
            for (index, id) in list.iter().enumerate() {
                match roles.get(id) {
                    None => checker.fail(
                        format!("{path}[{index}]"),
                        "unknown",
                        format!("no user {id}"),
                    ),
                    Some(role) if !allowed.contains(&role.as_str()) => checker.fail(
                        format!("{path}[{index}]"),
                        "wrong_role",
                        format!("user {id} is not {wanted}"),
                    ),
                    Some(_) => {}
                }
            }
        }
        Ok(checker.finish()?)
    }

    /// Creates a campaign, as a draft.
    pub async fn create_campaign(
        &self,
        spec: &CampaignSpec,
        by: Option<i64>,
        now_ms: i64,
    ) -> Result<Campaign, StoreError> {
        self.write_campaign(None, spec, by, now_ms).await
    }

    /// Replaces campaign `id`'s configuration. Refused once it is finished; its type can
    /// change only while it is a draft.
    pub async fn update_campaign(
        &self,
        id: i64,
        spec: &CampaignSpec,
        by: Option<i64>,
        now_ms: i64,
    ) -> Result<Campaign, StoreError> {
        let current = self.campaign(id).await?;
        if current.status == CampaignStatus::Finished {
            return Err(StoreError::Conflict(format!("campaign {id} is finished")));
        }
        if current.status != CampaignStatus::Draft && current.spec.kind != spec.kind {
            return Err(StoreError::Validation(ValidationErrors(vec![
                crate::validation::FieldError {
                    path: "type".into(),
                    code: "not_allowed".into(),
                    message: "the type of a campaign changes only while it is a draft".into(),
                },
            ])));
        }
        self.write_campaign(Some(id), spec, by, now_ms).await
    }

    async fn write_campaign(
        &self,
        id: Option<i64>,
        spec: &CampaignSpec,
        by: Option<i64>,
        now_ms: i64,
    ) -> Result<Campaign, StoreError> {
        self.check_campaign(spec).await?;
        let action = if id.is_none() { "create" } else { "update" };
        let name = spec.name.trim();
        let mut stored = spec.clone();
        stored.name = name.to_owned();
        stored.supervisors.clear();
        stored.agents.clear();
        let settings = crate::validation::to_json(&stored)?;
        let (queue_id, flow_id) = match spec.dialer.as_ref().map(|dialer| &dialer.primary_action) {
            Some(PrimaryAction::ConnectToAgent { queue_id }) => (Some(*queue_id), None),
            Some(PrimaryAction::RunFlow { flow_id }) => (None, Some(flow_id.as_str())),
            None => (None, None),
        };
        let conflict = |error: sqlx::Error| match StoreError::from(error) {
            StoreError::Conflict(_) => {
                StoreError::Conflict(format!("a campaign named `{name}` exists"))
            }
            other => other,
        };
        let id: i64 = with_pool!(self, pool => {
            let mut transaction = pool.begin().await?;
            let id: i64 = match id {
                None => sqlx::query_scalar(
                    "INSERT INTO campaigns (name, kind, status, contact_list_id, trunk_id, queue_id, flow_id, \
                     settings, created_at, updated_at) VALUES ($1, $2, 'draft', $3, $4, $5, $6, $7, $8, $8) RETURNING id",
                )
                .bind(name)
                .bind(spec.kind.as_str())
                .bind(spec.contact_list_id)
                .bind(spec.trunk_id)
                .bind(queue_id)
                .bind(flow_id)
                .bind(&settings)
                .bind(now_ms)
                .fetch_one(&mut *transaction)
                .await
                .map_err(conflict)?,
                Some(id) => {
                    sqlx::query(
                        "UPDATE campaigns SET name = $2, kind = $3, contact_list_id = $4, trunk_id = $5, \
                         queue_id = $6, flow_id = $7, settings = $8, updated_at = $9 WHERE id = $1",
                    )
                    .bind(id)
                    .bind(name)
                    .bind(spec.kind.as_str())
                    .bind(spec.contact_list_id)
                    .bind(spec.trunk_id)
                    .bind(queue_id)
                    .bind(flow_id)
                    .bind(&settings)
                    .bind(now_ms)
                    .execute(&mut *transaction)
                    .await
                    .map_err(conflict)?;
                    sqlx::query("DELETE FROM campaign_users WHERE campaign_id = $1")
                        .bind(id)
                        .execute(&mut *transaction)
                        .await?;
                    id
                }
            };
            for (users, role) in [(&spec.supervisors, "supervisor"), (&spec.agents, "agent")] {
                for user in users {
                    sqlx::query("INSERT INTO campaign_users (campaign_id, user_id, role) VALUES ($1, $2, $3)")
                        .bind(id)
                        .bind(user)
                        .bind(role)
                        .execute(&mut *transaction)
                        .await?;
                }
            }
            transaction.commit().await?;
            id
        });
        self.audit(by, action, "campaign", &id.to_string(), Some(name), now_ms)
            .await?;
        self.campaign(id).await
    }

    async fn attach_users(&self, campaigns: &mut [Campaign]) -> Result<(), StoreError> {
        for campaign in campaigns {
            let rows: Vec<(i64, String)> = with_pool!(self, pool => {
                sqlx::query_as("SELECT user_id, role FROM campaign_users WHERE campaign_id = $1 ORDER BY user_id")
                    .bind(campaign.id)
                    .fetch_all(pool)
                    .await?
            });
            for (user, role) in rows {
                match role.as_str() {
                    "supervisor" => campaign.spec.supervisors.push(user),
                    "agent" => campaign.spec.agents.push(user),
                    other => return Err(crate::validation::corrupt("role", other)),
                }
            }
        }
        Ok(())
    }

    /// Campaign `id`.
    pub async fn campaign(&self, id: i64) -> Result<Campaign, StoreError> {
        let campaign = with_pool!(self, pool => {
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE id = $1")))
                .bind(id)
                .fetch_optional(pool)
                .await?
                .as_ref()
                .map(CampaignRow::campaign)
                .transpose()?
                .ok_or_else(|| not_found("campaign", id))?
        });
        let mut campaigns = [campaign.campaign];
        self.attach_users(&mut campaigns).await?;
        let [campaign] = campaigns;
        Ok(campaign)
    }

    /// The campaign named `name` (names are unique), if there is one.
    pub async fn campaign_named(&self, name: &str) -> Result<Option<Campaign>, StoreError> {
        let campaign = with_pool!(self, pool => {
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE name = $1")))
                .bind(name)
                .fetch_optional(pool)
                .await?
                .as_ref()
                .map(CampaignRow::campaign)
                .transpose()?
        });
        let Some(campaign) = campaign else {
            return Ok(None);
        };
        let mut campaigns = [campaign.campaign];
        self.attach_users(&mut campaigns).await?;
        let [campaign] = campaigns;
        Ok(Some(campaign))
    }

    /// Every campaign, by name; with `user_id`, only those that user is assigned to (as
    /// supervisor or agent).
    pub async fn campaigns(&self, user_id: Option<i64>) -> Result<Vec<Campaign>, StoreError> {
        let mut campaigns: Vec<Campaign> = with_pool!(self, pool => {
            let rows = match user_id {
                None => sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns ORDER BY name")))
                    .fetch_all(pool)
                    .await?,
                Some(user) => sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE id IN \
                     (SELECT campaign_id FROM campaign_users WHERE user_id = $1) ORDER BY name"
                )))
                .bind(user)
                .fetch_all(pool)
                .await?,
            };
            rows.iter()
                .map(|row| row.campaign().map(|stored| stored.campaign))
                .collect::<Result<_, StoreError>>()?
        });
        self.attach_users(&mut campaigns).await?;
        Ok(campaigns)
    }

    /// Whether `user_id` is assigned to campaign `campaign_id` as an agent or supervisor.
    pub async fn is_assigned(&self, campaign_id: i64, user_id: i64) -> Result<bool, StoreError> {
        let found: Option<i64> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT user_id FROM campaign_users WHERE campaign_id = $1 AND user_id = $2 LIMIT 1")
                .bind(campaign_id)
                .bind(user_id)
                .fetch_optional(pool)
                .await?
        });
        Ok(found.is_some())
    }

    /// Moves campaign `id` to `status` (see [`CampaignStatus::can_become`]). Activation
    /// needs at least one disposition.
    pub async fn set_campaign_status(
        &self,
        id: i64,
        status: CampaignStatus,
        by: Option<i64>,
        now_ms: i64,
    ) -> Result<Campaign, StoreError> {
        let current = self.campaign(id).await?;
        if current.status == status {
            return Ok(current);
        }
        if !current.status.can_become(status) {
            return Err(StoreError::Conflict(format!(
                "a {} campaign cannot become {}",
                current.status.as_str(),
                status.as_str()
            )));
        }
        if status == CampaignStatus::Active && self.dispositions(id).await?.is_empty() {
            return Err(StoreError::Validation(ValidationErrors(vec![
                crate::validation::FieldError {
                    path: "dispositions".into(),
                    code: "required".into(),
                    message: "a campaign needs at least one disposition before it starts".into(),
                },
            ])));
        }
        let changed = with_pool!(self, pool => {
            sqlx::query("UPDATE campaigns SET status = $2, updated_at = $3 WHERE id = $1 AND status = $4")
                .bind(id)
                .bind(status.as_str())
                .bind(now_ms)
                .bind(current.status.as_str())
                .execute(pool)
                .await?
                .rows_affected()
        });
        if changed == 0 {
            return Err(StoreError::Conflict(format!(
                "campaign {id} changed status meanwhile; try again"
            )));
        }
        self.audit(
            by,
            "set-status",
            "campaign",
            &id.to_string(),
            Some(status.as_str()),
            now_ms,
        )
        .await?;
        self.campaign(id).await
    }

    /// Deletes campaign `id` with its dispositions; refused once calls were dispositioned
    /// in it (finish it instead).
    pub async fn delete_campaign(
        &self,
        id: i64,
        by: Option<i64>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.campaign(id).await?;
        let deleted = with_pool!(self, pool => {
            let mut transaction = pool.begin().await?;
            let results: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM disposition_results WHERE campaign_id = $1")
                .bind(id)
                .fetch_one(&mut *transaction)
                .await?;
            if results > 0 {
                return Err(StoreError::Conflict(format!(
                    "campaign {id} has {results} disposition result(s); finish it instead"
                )));
            }
            sqlx::query("DELETE FROM dispositions WHERE campaign_id = $1")
                .bind(id)
                .execute(&mut *transaction)
                .await?;
            let deleted = sqlx::query("DELETE FROM campaigns WHERE id = $1")
                .bind(id)
                .execute(&mut *transaction)
                .await?
                .rows_affected();
            transaction.commit().await?;
            deleted
        });
        if deleted == 0 {
            return Err(not_found("campaign", id));
        }
        self.audit(by, "delete", "campaign", &id.to_string(), None, now_ms)
            .await
    }
}
