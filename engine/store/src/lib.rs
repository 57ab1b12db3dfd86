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
mod contacts;
mod error;
mod flows;
mod import;
mod password;
mod pool;
mod tokens;
mod users;

pub use audit::AuditEntry;
pub use calls::CallRecord;
pub use contacts::{
    Contact, ContactImport, ContactList, Duplicates, ImportStatus, NewContact, NewContactList,
    Phone,
};
pub use error::StoreError;
pub use flows::{FlowSummary, FlowVersion};
pub use import::{
    ColumnTarget, FileError, ImportError, ImportMode, ImportOptions, ImportReport, Limits,
    Progress, RejectReason, RejectedRow, TextEncoding,
};
pub use pool::{Backend, Store};
pub use tokens::{ApiToken, LAST_USED_RESOLUTION_MS, NewApiToken, TokenIdentity};
pub use users::{NewUser, Role, User};
