//! First start: an administrator (never with a default password) and the example flows.

use crate::config::Secret;
use crate::flows_dir;
use ramal_store::{NewUser, Role, Store, StoreError};
use std::path::Path;

/// What the first start did, for the log.
#[derive(Debug, Default)]
pub struct FirstStart {
    /// A generated one-time admin password, when `RAMAL_ADMIN_PASSWORD` was not set.
    pub generated_admin_password: Option<String>,
    /// Flows imported and published.
    pub imported_flows: Vec<String>,
}

/// Creates `admin` when there are no users (password from `admin_password`, or a generated
/// one returned to be printed once), and imports the flows in `flows` when the store has
/// none. Flows with errors are saved as drafts, not published. Running it again changes
/// nothing.
pub async fn first_start(
    store: &Store,
    admin_password: Option<&Secret>,
    flows: &Path,
    now_ms: i64,
) -> anyhow::Result<FirstStart> {
    let mut report = FirstStart::default();
    if store.users().await?.is_empty() {
        let password = match admin_password {
            Some(password) => password.expose().to_owned(),
            None => {
                let generated = random_token(12)?;
                report.generated_admin_password = Some(generated.clone());
                generated
            }
        };
        let admin = NewUser {
            username: "admin".into(),
            display_name: "Administrator".into(),
            password,
            role: Role::Admin,
        };
        match store.create_user(&admin, now_ms).await {
            Ok(_) => {}
            Err(StoreError::Invalid { message, .. }) => {
                anyhow::bail!("RAMAL_ADMIN_PASSWORD is not acceptable: {message}")
            }
            Err(error) => return Err(error.into()),
        }
    }
    if store.flows().await?.is_empty() && flows.is_dir() {
        let sources = flows_dir::read_flows(&[flows.to_path_buf()])?;
        let set = flows_dir::compile(&sources);
        for source in &sources {
            let name = source.path.display().to_string();
            let Ok(document) = ramal_flow::FlowDocument::from_json(&source.text) else {
                continue;
            };
            store
                .save_draft(&document.id, &document.name, &source.text, None, now_ms)
                .await?;
            if set.flow_of(&name).is_some() {
                store.publish(&document.id, None, now_ms).await?;
                report.imported_flows.push(document.id);
            }
        }
    }
    Ok(report)
}

/// The operating system's random generator failed.
#[derive(Debug, thiserror::Error)]
#[error("the operating system's random generator failed: {0}")]
pub struct RandomError(String);

/// A random token of `bytes` bytes, hex-encoded, from the operating system's generator.
pub fn random_token(bytes: usize) -> Result<String, RandomError> {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer).map_err(|error| RandomError(error.to_string()))?;
    Ok(buffer.iter().map(|byte| format!("{byte:02x}")).collect())
}
