//! What a campaign is configured with: the fields a supervisor fills in (the campaign
//! wizard), and for dialer campaigns the primary action, pacing, schedule, dialing mode
//! and retry rules. Plain serde types; [`super::check`] validates them.

use crate::contacts::Duplicates;
use serde::{Deserialize, Serialize};

/// What kind of campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CampaignType {
    /// Calls come in (routed to the campaign's queue or flow).
    Inbound,
    /// Agents dial by hand.
    Manual,
    /// Ramal offers the next contact; the agent confirms before it is dialled.
    Preview,
    /// Ramal dials contacts by itself and connects answered calls.
    Dialer,
}

impl CampaignType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CampaignType::Inbound => "inbound",
            CampaignType::Manual => "manual",
            CampaignType::Preview => "preview",
            CampaignType::Dialer => "dialer",
        }
    }
}

/// Where a campaign stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CampaignStatus {
    /// Being set up; no calls.
    Draft,
    /// Running.
    Active,
    /// Stopped for now; agents may still disposition calls.
    Paused,
    /// Over for good.
    Finished,
}

impl CampaignStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignStatus::Draft => "draft",
            CampaignStatus::Active => "active",
            CampaignStatus::Paused => "paused",
            CampaignStatus::Finished => "finished",
        }
    }
    pub(crate) fn parse(text: &str) -> Result<Self, crate::StoreError> {
        Ok(match text {
            "draft" => CampaignStatus::Draft,
            "active" => CampaignStatus::Active,
            "paused" => CampaignStatus::Paused,
            "finished" => CampaignStatus::Finished,
            other => return Err(crate::validation::corrupt("status", other)),
        })
    }
    /// Whether a campaign may go from `self` to `to`: draft → active ⇄ paused → finished
    /// (and active → finished); finished is final.
    pub fn can_become(self, to: CampaignStatus) -> bool {
        use CampaignStatus::{Active, Draft, Finished, Paused};
        matches!(
            (self, to),
            (Draft, Active) | (Active, Paused) | (Paused, Active) | (Active | Paused, Finished)
        )
    }
}

/// How agents record the outcome of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum InteractionType {
    /// Ramal's disposition forms.
    RamalForms,
    /// An external CRM page opened for every connected call.
    ExternalUrl,
    /// Both.
    Both,
}

/// A channel the campaign accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// Telephone calls.
    Voice,
    /// WhatsApp conversations (not carried by Ramal yet; kept for the configuration).
    Whatsapp,
}

/// What a dialer does with an answered call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum PrimaryAction {
    /// Connect it to an agent of a queue.
    ConnectToAgent {
        /// The queue.
        queue_id: i64,
    },
    /// Run a flow (an IVR that may confirm, validate, then queue).
    RunFlow {
        /// The flow (its published version).
        flow_id: String,
    },
}

/// A day of the week.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    /// Monday.
    Mon,
    /// Tuesday.
    Tue,
    /// Wednesday.
    Wed,
    /// Thursday.
    Thu,
    /// Friday.
    Fri,
    /// Saturday.
    Sat,
    /// Sunday.
    Sun,
}

/// Hours on some weekdays when the dialer may call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeWindow {
    /// The days it applies to.
    pub weekdays: Vec<Weekday>,
    /// `HH:MM`, local time of the schedule's zone.
    pub start: String,
    /// `HH:MM`, after `start` (`24:00` for the end of the day).
    pub end: String,
}

/// When a dialer campaign may call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// IANA time zone (`America/Sao_Paulo`).
    pub time_zone: String,
    /// Calendar days (`YYYY-MM-DD`) on which the campaign runs; empty: every day.
    #[serde(default)]
    pub days: Vec<String>,
    /// The hours, per weekday (at least one window).
    pub windows: Vec<TimeWindow>,
}

/// How a dialer walks the list and a contact's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DialingMode {
    /// Each contact once, in list order; no retries.
    Sequential,
    /// All of a contact's numbers before the next contact.
    Horizontal,
    /// The list is dialled in passes; each pass retries what the retry rules allow.
    Vertical,
}

/// How often and how soon a number is retried after one outcome.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct RetryRule {
    /// Further attempts after this outcome (0–20).
    pub max_attempts: u32,
    /// Seconds before the next attempt (0–604,800).
    pub delay_secs: u32,
}

/// Retry rules per call outcome.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct RetryRules {
    /// The line was busy.
    #[serde(default)]
    pub busy: RetryRule,
    /// Nobody answered.
    #[serde(default)]
    pub no_answer: RetryRule,
    /// The call failed (network, trunk, bad number).
    #[serde(default)]
    pub failed: RetryRule,
    /// A voicemail answered.
    #[serde(default)]
    pub voicemail: RetryRule,
}

/// Caps on a dialer's attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DialLimits {
    /// Attempts per contact, all numbers together (1–100, default 10).
    #[serde(default = "default_contact_attempts")]
    pub max_attempts_per_contact: u32,
    /// Seconds a dialled number rings before it counts as no answer (5–120, default 30).
    #[serde(default = "default_ring_secs")]
    pub ring_timeout_secs: u32,
}

fn default_contact_attempts() -> u32 {
    10
}

fn default_ring_secs() -> u32 {
    30
}

impl Default for DialLimits {
    fn default() -> Self {
        DialLimits {
            max_attempts_per_contact: default_contact_attempts(),
            ring_timeout_secs: default_ring_secs(),
        }
    }
}

/// A dialer campaign's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DialerSettings {
    /// What happens to an answered call.
    pub primary_action: PrimaryAction,
    /// Calls in progress at most (1–1,000).
    pub max_simultaneous_calls: u32,
    /// Seconds a call may last (0 = no limit; at most 86,400).
    #[serde(default)]
    pub max_call_secs: u32,
    /// When it may call.
    pub schedule: Schedule,
    /// How it walks the list.
    pub dialing_mode: DialingMode,
    /// Retries per outcome (none in sequential mode).
    #[serde(default)]
    pub retries: RetryRules,
    /// Caps.
    #[serde(default)]
    pub limits: DialLimits,
}

/// Something a campaign tells its webhook about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum WebhookEvent {
    /// A call of the campaign started.
    CallStarted,
    /// It was answered.
    CallAnswered,
    /// It ended.
    CallEnded,
    /// An agent dispositioned it.
    Dispositioned,
    /// The campaign changed status.
    StatusChanged,
}

/// Where a campaign posts its events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    /// `http://` or `https://` URL that receives a `POST` per event.
    pub url: String,
    /// Which events (at least one).
    pub events: Vec<WebhookEvent>,
}

/// A campaign to create, or the new state of one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignSpec {
    /// Unique name.
    pub name: String,
    /// Inbound, manual, preview or dialer.
    #[serde(rename = "type")]
    pub kind: CampaignType,
    /// The contact list (required for preview and dialer campaigns).
    #[serde(default)]
    pub contact_list_id: Option<i64>,
    /// Whether the campaign's contacts may repeat a phone number.
    #[serde(default = "default_duplicates")]
    pub duplicates: Duplicates,
    /// Ramal forms, an external CRM URL, or both.
    #[serde(default = "default_interaction")]
    pub interaction: InteractionType,
    /// The external CRM URL opened per connected call (for `external-url` and `both`).
    #[serde(default)]
    pub external_url: Option<String>,
    /// The contact column holding the address (for a map in the agent console).
    #[serde(default)]
    pub address_field: Option<String>,
    /// Record every call.
    #[serde(default)]
    pub record_calls: bool,
    /// Positive dispositions expected (0 = no objective).
    #[serde(default)]
    pub objective: u32,
    /// The external system that sends click-to-call or disposition requests.
    #[serde(default)]
    pub external_system: Option<String>,
    /// The campaign's id in that system.
    #[serde(default)]
    pub external_id: Option<String>,
    /// The outbound route (required for manual, preview and dialer campaigns).
    #[serde(default)]
    pub trunk_id: Option<i64>,
    /// The caller ID sent on that route (else the trunk's).
    #[serde(default)]
    pub caller_id: Option<String>,
    /// The script shown to agents.
    #[serde(default)]
    pub speech: String,
    /// Accepted channels (default: voice).
    #[serde(default = "default_channels")]
    pub channels: Vec<Channel>,
    /// Dialer settings: required for dialer campaigns, refused for others.
    #[serde(default)]
    pub dialer: Option<DialerSettings>,
    /// Where events are posted.
    #[serde(default)]
    pub webhook: Option<Webhook>,
    /// Supervisors of the campaign (user ids of supervisors or admins).
    #[serde(default)]
    pub supervisors: Vec<i64>,
    /// Agents of the campaign (user ids of agents).
    #[serde(default)]
    pub agents: Vec<i64>,
}

fn default_duplicates() -> Duplicates {
    Duplicates::Allow
}

fn default_interaction() -> InteractionType {
    InteractionType::RamalForms
}

fn default_channels() -> Vec<Channel> {
    vec![Channel::Voice]
}

/// A campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Campaign {
    /// Id.
    pub id: i64,
    /// Where it stands.
    pub status: CampaignStatus,
    /// Its configuration.
    #[serde(flatten)]
    pub spec: CampaignSpec,
    /// Created, Unix ms.
    pub created_at: i64,
    /// Last changed, Unix ms.
    pub updated_at: i64,
}
