//! Dispositions (how an agent classifies a call) per campaign, each positive or not and
//! optionally with a form of typed fields; and disposition results — one per call and
//! campaign, with the form's values checked against the form.
//!
//! **A disposition in use keeps its form.** Forms are versioned: editing the form of a
//! disposition that results already used adds a new version, which later results use,
//! while the earlier results keep pointing at the version they were filled in with (so
//! their values always match their fields). A form no result used yet is edited in place.

mod form;
#[cfg(test)]
mod tests;

pub use form::{FieldKind, FormField, check_values};

use crate::campaigns::settings::CampaignStatus;
use crate::error::StoreError;
use crate::pool::{Store, with_pool};
use crate::trunks::not_found;
use crate::validation::{Checker, ValidationErrors};
use form::check_spec;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::Row;
use std::collections::BTreeMap;

/// A disposition to create, or the new state of one.
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DispositionSpec {
    /// Its name, unique in the campaign.
    pub name: String,
    /// Whether it counts towards the campaign's objective.
    #[serde(default)]
    pub positive: bool,
    /// The form's fields; none: no form.
    #[serde(default)]
    pub form: Option<Vec<FormField>>,
}

/// One version of a disposition's form.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Form {
    /// Its version (1, 2, …).
    pub version: i64,
    /// Its fields.
    pub fields: Vec<FormField>,
}

/// A disposition.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Disposition {
    /// Id.
    pub id: i64,
    /// Its campaign.
    pub campaign_id: i64,
    /// Name.
    pub name: String,
    /// Positive or not.
    pub positive: bool,
    /// The current form, if it has one.
    pub form: Option<Form>,
    /// Created, Unix ms.
    pub created_at: i64,
    /// Last changed, Unix ms.
    pub updated_at: i64,
}

/// A disposition result to record.
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDispositionResult {
    /// The call.
    pub call_id: String,
    /// The disposition chosen.
    pub disposition_id: i64,
    /// The contact called, if known (a contact of the campaign's list).
    #[serde(default)]
    pub contact_id: Option<i64>,
    /// The form's values, by field name.
    #[serde(default)]
    pub values: BTreeMap<String, Value>,
}

/// A recorded disposition result.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct DispositionResult {
    /// Id.
    pub id: i64,
    /// The call.
    pub call_id: String,
    /// The campaign.
    pub campaign_id: i64,
    /// The agent who recorded it.
    pub agent_id: i64,
    /// The disposition.
    pub disposition_id: i64,
    /// The form version its values follow.
    pub form_version: Option<i64>,
    /// The contact.
    pub contact_id: Option<i64>,
    /// The values.
    pub values: BTreeMap<String, Value>,
    /// Recorded, Unix ms.
    pub created_at: i64,
}

const DISPOSITION_COLUMNS: &str =
    "id, campaign_id, name, positive, form_version, created_at, updated_at";
const RESULT_COLUMNS: &str = "id, call_id, campaign_id, agent_id, disposition_id, form_version, \
     contact_id, form_values, created_at";

trait DispositionRow {
    fn disposition(&self) -> Result<(Disposition, Option<i64>), StoreError>;
    fn result(&self) -> Result<DispositionResult, StoreError>;
}

macro_rules! disposition_row {
    ($row:ty) => {
        impl DispositionRow for $row {
            fn disposition(&self) -> Result<(Disposition, Option<i64>), StoreError> {
                Ok((
                    Disposition {
                        id: self.try_get("id")?,
                        campaign_id: self.try_get("campaign_id")?,
                        name: self.try_get("name")?,
                        positive: self.try_get("positive")?,
                        form: None,
                        created_at: self.try_get("created_at")?,
                        updated_at: self.try_get("updated_at")?,
                    },
                    self.try_get("form_version")?,
                ))
            }
            fn result(&self) -> Result<DispositionResult, StoreError> {
                Ok(DispositionResult {
                    id: self.try_get("id")?,
                    call_id: self.try_get("call_id")?,
                    campaign_id: self.try_get("campaign_id")?,
                    agent_id: self.try_get("agent_id")?,
                    disposition_id: self.try_get("disposition_id")?,
                    form_version: self.try_get("form_version")?,
                    contact_id: self.try_get("contact_id")?,
                    values: crate::validation::json("form_values", self.try_get("form_values")?)?,
                    created_at: self.try_get("created_at")?,
                })
            }
        }
    };
}
disposition_row!(sqlx::sqlite::SqliteRow);
disposition_row!(sqlx::postgres::PgRow);

fn single(path: &str, code: &str, message: String) -> StoreError {
    StoreError::Validation(ValidationErrors(vec![crate::validation::FieldError {
        path: path.into(),
        code: code.into(),
        message,
    }]))
}

impl Store {
    async fn form(&self, disposition_id: i64, version: i64) -> Result<Form, StoreError> {
        let text: String = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT fields FROM disposition_forms WHERE disposition_id = $1 AND version = $2")
                .bind(disposition_id)
                .bind(version)
                .fetch_optional(pool)
                .await?
                .ok_or_else(|| not_found("disposition form", version))?
        });
        Ok(Form {
            version,
            fields: crate::validation::json("fields", &text)?,
        })
    }

    async fn with_form(
        &self,
        (mut disposition, version): (Disposition, Option<i64>),
    ) -> Result<Disposition, StoreError> {
        if let Some(version) = version {
            disposition.form = Some(self.form(disposition.id, version).await?);
        }
        Ok(disposition)
    }

    /// The dispositions of campaign `campaign_id`, by name.
    pub async fn dispositions(&self, campaign_id: i64) -> Result<Vec<Disposition>, StoreError> {
        let rows = with_pool!(self, pool => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {DISPOSITION_COLUMNS} FROM dispositions WHERE campaign_id = $1 ORDER BY name"
            )))
            .bind(campaign_id)
            .fetch_all(pool)
            .await?
            .iter()
            .map(DispositionRow::disposition)
            .collect::<Result<Vec<_>, _>>()?
        });
        let mut dispositions = Vec::with_capacity(rows.len());
        for row in rows {
            dispositions.push(self.with_form(row).await?);
        }
        Ok(dispositions)
    }

    /// Disposition `id` of campaign `campaign_id`.
    pub async fn disposition(&self, campaign_id: i64, id: i64) -> Result<Disposition, StoreError> {
        let row = with_pool!(self, pool => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {DISPOSITION_COLUMNS} FROM dispositions WHERE id = $1 AND campaign_id = $2"
            )))
            .bind(id)
            .bind(campaign_id)
            .fetch_optional(pool)
            .await?
            .as_ref()
            .map(DispositionRow::disposition)
            .transpose()?
            .ok_or_else(|| not_found("disposition", id))?
        });
        self.with_form(row).await
    }

    /// Adds a disposition to campaign `campaign_id`.
    pub async fn create_disposition(
        &self,
        campaign_id: i64,
        spec: &DispositionSpec,
        by: Option<i64>,
        now_ms: i64,
    ) -> Result<Disposition, StoreError> {
        check_spec(spec)?;
        let campaign = self.campaign(campaign_id).await?;
        if campaign.status == CampaignStatus::Finished {
            return Err(StoreError::Conflict(format!(
                "campaign {campaign_id} is finished"
            )));
        }
        let name = spec.name.trim();
        let fields = spec
            .form
            .as_ref()
            .map(crate::validation::to_json)
            .transpose()?;
        let id: i64 = with_pool!(self, pool => {
            let mut transaction = pool.begin().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO dispositions (campaign_id, name, positive, form_version, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
            )
            .bind(campaign_id)
            .bind(name)
            .bind(spec.positive)
            .bind(fields.as_ref().map(|_| 1_i64))
            .bind(now_ms)
            .fetch_one(&mut *transaction)
            .await
            .map_err(|error| match StoreError::from(error) {
                StoreError::Conflict(_) => StoreError::Conflict(format!("campaign {campaign_id} has a disposition named `{name}`")),
                other => other,
            })?;
            if let Some(fields) = &fields {
                sqlx::query("INSERT INTO disposition_forms (disposition_id, version, fields, created_at) VALUES ($1, 1, $2, $3)")
                    .bind(id)
                    .bind(fields)
                    .bind(now_ms)
                    .execute(&mut *transaction)
                    .await?;
            }
            transaction.commit().await?;
            id
        });
        self.audit(
            by,
            "create",
            "disposition",
            &id.to_string(),
            Some(name),
            now_ms,
        )
        .await?;
        self.disposition(campaign_id, id).await
    }

    /// Changes disposition `id`. A changed form that results used becomes a new version
    /// (see the module docs); one no result used is replaced.
    pub async fn update_disposition(
        &self,
        campaign_id: i64,
        id: i64,
        spec: &DispositionSpec,
        by: Option<i64>,
        now_ms: i64,
    ) -> Result<Disposition, StoreError> {
        check_spec(spec)?;
        let current = self.disposition(campaign_id, id).await?;
        let name = spec.name.trim();
        let fields = spec
            .form
            .as_ref()
            .map(crate::validation::to_json)
            .transpose()?;
        let form_unchanged = current.form.as_ref().map(|form| &form.fields) == spec.form.as_ref();
        with_pool!(self, pool => {
            let mut transaction = pool.begin().await?;
            let version: Option<i64> = match (&fields, &current.form) {
                _ if form_unchanged => current.form.as_ref().map(|form| form.version),
                (None, _) => None,
                (Some(fields), current_form) => {
                    let used: i64 = match current_form {
                        Some(form) => sqlx::query_scalar(
                            "SELECT COUNT(*) FROM disposition_results WHERE disposition_id = $1 AND form_version = $2",
                        )
                        .bind(id)
                        .bind(form.version)
                        .fetch_one(&mut *transaction)
                        .await?,
                        None => 0,
                    };
                    match current_form {
                        Some(form) if used == 0 => {
                            sqlx::query("UPDATE disposition_forms SET fields = $3 WHERE disposition_id = $1 AND version = $2")
                                .bind(id)
                                .bind(form.version)
                                .bind(fields)
                                .execute(&mut *transaction)
                                .await?;
                            Some(form.version)
                        }
                        _ => {
                            let latest: Option<i64> = sqlx::query_scalar(
                                "SELECT MAX(version) FROM disposition_forms WHERE disposition_id = $1",
                            )
                            .bind(id)
                            .fetch_one(&mut *transaction)
                            .await?;
                            let version = latest.unwrap_or(0) + 1;
                            sqlx::query("INSERT INTO disposition_forms (disposition_id, version, fields, created_at) VALUES ($1, $2, $3, $4)")
                                .bind(id)
                                .bind(version)
                                .bind(fields)
                                .bind(now_ms)
                                .execute(&mut *transaction)
                                .await?;
                            Some(version)
                        }
                    }
                }
            };
            sqlx::query("UPDATE dispositions SET name = $2, positive = $3, form_version = $4, updated_at = $5 WHERE id = $1")
                .bind(id)
                .bind(name)
                .bind(spec.positive)
                .bind(version)
                .bind(now_ms)
                .execute(&mut *transaction)
                .await
                .map_err(|error| match StoreError::from(error) {
                    StoreError::Conflict(_) => StoreError::Conflict(format!("campaign {campaign_id} has a disposition named `{name}`")),
                    other => other,
                })?;
            transaction.commit().await?;
        });
        self.audit(
            by,
            "update",
            "disposition",
            &id.to_string(),
            Some(name),
            now_ms,
        )
        .await?;
        self.disposition(campaign_id, id).await
    }

    /// Deletes disposition `id`; refused once a result uses it.
    pub async fn delete_disposition(
        &self,
        campaign_id: i64,
        id: i64,
        by: Option<i64>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.disposition(campaign_id, id).await?;
        with_pool!(self, pool => {
            let mut transaction = pool.begin().await?;
            let used: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM disposition_results WHERE disposition_id = $1")
                .bind(id)
                .fetch_one(&mut *transaction)
                .await?;
            if used > 0 {
                return Err(StoreError::Conflict(format!("disposition {id} is used by {used} result(s)")));
            }
            sqlx::query("DELETE FROM dispositions WHERE id = $1")
                .bind(id)
                .execute(&mut *transaction)
                .await?;
            transaction.commit().await?;
        });
        self.audit(by, "delete", "disposition", &id.to_string(), None, now_ms)
            .await
    }

    /// Records that `agent_id` dispositioned a call of campaign `campaign_id`. The
    /// disposition must be the campaign's, the values must fit its current form, the
    /// contact (if any) must be in the campaign's list, and the campaign must have
    /// started. A second result for the same call is a conflict.
    pub async fn record_disposition_result(
        &self,
        campaign_id: i64,
        agent_id: i64,
        result: &NewDispositionResult,
        now_ms: i64,
    ) -> Result<DispositionResult, StoreError> {
        let mut checker = Checker::new();
        checker.name("call_id", &result.call_id, 128);
        checker.finish()?;
        let campaign = self.campaign(campaign_id).await?;
        if campaign.status == CampaignStatus::Draft {
            return Err(StoreError::Conflict(format!(
                "campaign {campaign_id} has not started"
            )));
        }
        let disposition = match self.disposition(campaign_id, result.disposition_id).await {
            Err(StoreError::NotFound { .. }) => {
                return Err(single(
                    "disposition_id",
                    "unknown",
                    format!(
                        "campaign {campaign_id} has no disposition {}",
                        result.disposition_id
                    ),
                ));
            }
            other => other?,
        };
        match &disposition.form {
            Some(form) => check_values(&form.fields, &result.values)?,
            None if !result.values.is_empty() => {
                return Err(single(
                    "values",
                    "not_allowed",
                    format!("disposition `{}` has no form", disposition.name),
                ));
            }
            None => {}
        }
        if let Some(contact) = result.contact_id {
            let list: Option<i64> = with_pool!(self, pool => {
                sqlx::query_scalar("SELECT list_id FROM contacts WHERE id = $1")
                    .bind(contact)
                    .fetch_optional(pool)
                    .await?
            });
            if list.is_none() || list != campaign.spec.contact_list_id {
                return Err(single(
                    "contact_id",
                    "unknown",
                    format!("contact {contact} is not in the campaign's list"),
                ));
            }
        }
        let values = crate::validation::to_json(&result.values)?;
        let form_version = disposition.form.as_ref().map(|form| form.version);
        let id: i64 = with_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO disposition_results (call_id, campaign_id, agent_id, disposition_id, form_version, \
                 contact_id, form_values, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(result.call_id.trim())
            .bind(campaign_id)
            .bind(agent_id)
            .bind(disposition.id)
            .bind(form_version)
            .bind(result.contact_id)
            .bind(&values)
            .bind(now_ms)
            .fetch_one(pool)
            .await
            .map_err(|error| match StoreError::from(error) {
                StoreError::Conflict(_) => StoreError::Conflict(format!(
                    "call `{}` already has a disposition in campaign {campaign_id}", result.call_id.trim()
                )),
                other => other,
            })?
        });
        Ok(DispositionResult {
            id,
            call_id: result.call_id.trim().to_owned(),
            campaign_id,
            agent_id,
            disposition_id: disposition.id,
            form_version,
            contact_id: result.contact_id,
            values: result.values.clone(),
            created_at: now_ms,
        })
    }

    /// Up to `limit` results of a campaign with ids above `after_id`, by id (keyset
    /// paging); with `agent_id`, only that agent's.
    pub async fn disposition_results(
        &self,
        campaign_id: i64,
        agent_id: Option<i64>,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<DispositionResult>, StoreError> {
        let limit = limit.clamp(0, 1000);
        with_pool!(self, pool => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {RESULT_COLUMNS} FROM disposition_results WHERE campaign_id = $1 AND id > $2 \
                 AND (CAST($3 AS BIGINT) IS NULL OR agent_id = $3) ORDER BY id LIMIT $4"
            )))
            .bind(campaign_id)
            .bind(after_id)
            .bind(agent_id)
            .bind(limit)
            .fetch_all(pool)
            .await?
            .iter()
            .map(DispositionRow::result)
            .collect()
        })
    }

    /// How many positive results a campaign has (progress towards its objective).
    pub async fn positive_results(&self, campaign_id: i64) -> Result<i64, StoreError> {
        with_pool!(self, pool => {
            Ok(sqlx::query_scalar(
                "SELECT COUNT(*) FROM disposition_results r JOIN dispositions d ON d.id = r.disposition_id \
                 WHERE r.campaign_id = $1 AND d.positive",
            )
            .bind(campaign_id)
            .fetch_one(pool)
            .await?)
        })
    }
}
