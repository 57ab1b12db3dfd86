//! # ramal-store
//!
//! Everything Ramal keeps: SQLite (WAL) as the embedded default — a file created and
//! migrated on first start — and PostgreSQL when the URL says `postgres://`. Both sit
//! behind one [`Store`] whose repositories hold all the SQL; callers never see `sqlx`
//! types. Migrations live per backend in `migrations/{sqlite,postgres}` at the repository
//! root. Times are Unix milliseconds on both backends.
//!
//! **Architecture invariant:** SQL lives here and nowhere else; every repository test runs
//! on both backends.

mod audit;
mod calls;
mod campaigns;
mod contact_search;
mod contacts;
mod dispositions;
mod error;
mod flows;
mod import;
mod modules;
mod password;
mod pool;
mod queues;
mod sip_accounts;
mod tokens;
mod trunks;
mod users;
mod validation;
mod value_rows;

pub use audit::AuditEntry;
pub use calls::CallRecord;
pub use campaigns::settings::{
    Campaign, CampaignSpec, CampaignStatus, CampaignType, Channel, DialLimits, DialerSettings,
    DialingMode, InteractionType, PrimaryAction, RetryRule, RetryRules, Schedule, TimeWindow,
    Webhook, WebhookEvent, Weekday,
};
pub use contacts::{
    Contact, ContactImport, ContactList, Duplicates, ImportStatus, NewContact, NewContactList,
    Phone,
};
pub use dispositions::{
    Disposition, DispositionResult, DispositionSpec, FieldKind, Form, FormField,
    NewDispositionResult, check_values,
};
pub use error::StoreError;
pub use flows::{FlowSummary, FlowVersion};
pub use import::{
    ColumnTarget, FileError, ImportError, ImportMode, ImportOptions, ImportReport, Limits,
    Progress, RejectReason, RejectedRow, TextEncoding,
};
pub use modules::{MAX_MODULE_BYTES, NewNodeModule, NodeModule};
pub use pool::{Backend, Store};
pub use queues::{Overflow, Queue, QueueMember, QueueSpec, QueueStrategy};
pub use sip_accounts::SipAccount;
pub use tokens::{ApiToken, LAST_USED_RESOLUTION_MS, NewApiToken, TokenIdentity};
pub use trunks::{RewriteRule, Transport, Trunk, TrunkCredentials, TrunkSpec, rewrite_number};
pub use users::{NewUser, Role, User};
pub use validation::{FieldError, ValidationErrors};
