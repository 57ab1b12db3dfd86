//! Store errors: what a caller can act on (not found, conflict, invalid input) apart from
//! database failures, whose details stay in logs.

/// A failed store operation.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such row.
    #[error("no {entity} `{id}`")]
    NotFound {
        /// What kind of thing.
        entity: &'static str,
        /// Its id.
        id: String,
    },
    /// The change collides with existing data (a unique name, a concurrent publish).
    #[error("{0}")]
    Conflict(String),
    /// The input is not acceptable.
    #[error("{field}: {message}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Why.
        message: String,
    },
    /// The input is not acceptable, field by field (with paths such as
    /// `schedule.windows[2].start`).
    #[error(transparent)]
    Validation(#[from] crate::validation::ValidationErrors),
    /// The database URL cannot be used.
    #[error("bad database URL: {0}")]
    Url(String),
    /// A migration failed.
    #[error("migrating the database failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// Anything else the database said.
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// Work moved off the async threads (password hashing) did not finish: it panicked, or
    /// the runtime is shutting down.
    #[error("a background task failed: {0}")]
    Background(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        if let sqlx::Error::Database(database) = &error {
            if database.is_unique_violation() {
                return StoreError::Conflict(format!("already exists ({})", database.message()));
            }
            if database.is_foreign_key_violation() {
                return StoreError::Invalid {
                    field: "reference",
                    message: database.message().to_owned(),
                };
            }
        }
        StoreError::Database(error)
    }
}
