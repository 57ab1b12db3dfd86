//! `ramal contacts import|lists`: contact lists from the command line.

use anyhow::Context;
use clap::Subcommand;
use ramal_store::{
    ColumnTarget, Duplicates, ImportMode, ImportOptions, ImportReport, NewContactList, Progress,
    Store, StoreError, TextEncoding,
};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Debug, Subcommand)]
pub enum ContactsCommand {
    /// Import a CSV file into a contact list (created if it does not exist). Progress goes
    /// to stderr; the summary and the first rejected rows to stdout. Exits 1 when rows were
    /// rejected.
    Import {
        /// The CSV file.
        file: PathBuf,
        /// The list's name.
        #[arg(long)]
        list: String,
        /// Country for numbers written without `+` (ISO code, e.g. BR); a new list keeps it
        /// as its default. Default: the list's, or BR for a new list.
        #[arg(long)]
        country: Option<String>,
        /// The phone columns, by header name (default: columns named like phone, telefone,
        /// celular, mobile…).
        #[arg(long, value_delimiter = ',')]
        phones: Vec<String>,
        /// `auto`, `,`, `;`, `tab` or `|`.
        #[arg(long, default_value = "auto")]
        delimiter: String,
        /// `auto`, `utf-8` or `latin1`.
        #[arg(long, default_value = "auto")]
        encoding: String,
        /// Write nothing unless every row is good.
        #[arg(long)]
        all_or_nothing: bool,
        /// A new list allows duplicate phone numbers (default: avoid them).
        #[arg(long)]
        allow_duplicates: bool,
        /// How many rejected rows to print.
        #[arg(long, default_value_t = 20)]
        show_rejected: usize,
        #[command(flatten)]
        database: Database,
    },
    /// Print the contact lists with their sizes.
    Lists {
        #[command(flatten)]
        database: Database,
    },
}

/// Which database, as `ramal serve` finds it.
#[derive(Debug, clap::Args)]
pub struct Database {
    /// `sqlite://…` or `postgres://…`; default: `sqlite://<data-dir>/ramal.db`.
    #[arg(long = "database", env = "DATABASE_URL")]
    url: Option<String>,
    /// Where Ramal keeps its data.
    #[arg(long, env = "RAMAL_DATA", default_value = ".data")]
    data_dir: PathBuf,
}

impl Database {
    pub(super) async fn open(&self) -> anyhow::Result<Store> {
        let url = match &self.url {
            Some(url) => url.clone(),
            None => {
                std::fs::create_dir_all(&self.data_dir)
                    .with_context(|| format!("creating {}", self.data_dir.display()))?;
                format!("sqlite://{}", self.data_dir.join("ramal.db").display())
            }
        };
        Store::open(&url)
            .await
            .with_context(|| format!("opening the database {url}"))
    }
}

pub fn run(command: ContactsCommand) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        match command {
            ContactsCommand::Lists { database } => lists(&database.open().await?).await,
            ContactsCommand::Import {
                file,
                list,
                country,
                phones,
                delimiter,
                encoding,
                all_or_nothing,
                allow_duplicates,
                show_rejected,
                database,
            } => {
                let store = database.open().await?;
                let now_ms = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |since| since.as_millis() as i64);
                let list_id = match store.contact_list_named(&list).await {
                    Ok(found) => found.id,
                    Err(StoreError::NotFound { .. }) => {
                        let new = NewContactList {
                            name: list.clone(),
                            default_country: country.clone().unwrap_or_else(|| "BR".into()),
                            duplicates: if allow_duplicates {
                                Duplicates::Allow
                            } else {
                                Duplicates::Avoid
                            },
                            columns: Vec::new(),
                        };
                        let created = store.create_contact_list(&new, now_ms).await?;
                        eprintln!(
                            "created list `{}` (country {}, duplicates {})",
                            created.name,
                            created.default_country,
                            created.duplicates.as_str()
                        );
                        created.id
                    }
                    Err(error) => return Err(error.into()),
                };
                let options = ImportOptions {
                    source: file.display().to_string(),
                    total_bytes: std::fs::metadata(&file).ok().map(|m| m.len()),
                    encoding: parse_encoding(&encoding)?,
                    delimiter: parse_delimiter(&delimiter)?,
                    columns: phones
                        .iter()
                        .map(|name| (name.trim().to_owned(), ColumnTarget::Phone))
                        .collect(),
                    country,
                    mode: if all_or_nothing {
                        ImportMode::AllOrNothing
                    } else {
                        ImportMode::CommitGood
                    },
                    ..ImportOptions::default()
                };
                import(&store, list_id, &file, options, now_ms, show_rejected).await
            }
        }
    })
}

fn parse_delimiter(text: &str) -> anyhow::Result<Option<u8>> {
    Ok(match text {
        "auto" => None,
        "," | "comma" => Some(b','),
        ";" | "semicolon" => Some(b';'),
        "tab" | "\t" | "\\t" => Some(b'\t'),
        "|" | "pipe" => Some(b'|'),
        other => anyhow::bail!("--delimiter: auto, `,`, `;`, tab or `|`, not `{other}`"),
    })
}

fn parse_encoding(text: &str) -> anyhow::Result<TextEncoding> {
    Ok(match text.to_ascii_lowercase().as_str() {
        "auto" => TextEncoding::Auto,
        "utf-8" | "utf8" => TextEncoding::Utf8,
        "latin1" | "latin-1" | "iso-8859-1" | "windows-1252" | "cp1252" => TextEncoding::Latin1,
        other => anyhow::bail!("--encoding: auto, utf-8 or latin1, not `{other}`"),
    })
}

async fn import(
    store: &Store,
    list_id: i64,
    file: &Path,
    options: ImportOptions,
    now_ms: i64,
    show_rejected: usize,
) -> anyhow::Result<ExitCode> {
    let input =
        std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let mut last_print: Option<Instant> = None;
    let mut printed = false;
    let mut on_progress = |progress: &Progress| {
        if last_print.is_some_and(|at| at.elapsed() < Duration::from_millis(250)) {
            return;
        }
        last_print = Some(Instant::now());
        printed = true;
        let percent = progress
            .percent()
            .map_or(String::new(), |p| format!("{p:5.1}%  "));
        eprint!(
            "\r{percent}{} rows, {} imported, {} rejected, {:.0} rows/s   ",
            progress.rows_read,
            progress.rows_imported,
            progress.rows_rejected,
            progress.rows_per_second()
        );
        let _ = std::io::stderr().flush();
    };
    let result = store
        .import_contacts(list_id, input, options, now_ms, &mut on_progress)
        .await;
    if printed {
        eprintln!();
    }
    let report = result.with_context(|| format!("importing {}", file.display()))?;
    print_report(&report, show_rejected);
    Ok(if report.rows_rejected == 0 && report.committed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_report(report: &ImportReport, show_rejected: usize) {
    let outcome = if report.committed {
        format!(
            "imported {} of {} rows",
            report.rows_imported, report.rows_read
        )
    } else {
        format!(
            "imported nothing: {} of {} rows were rejected (all or nothing)",
            report.rows_rejected, report.rows_read
        )
    };
    println!(
        "{outcome} (import {}, {:.1} s, {:.0} rows/s)",
        report.import_id,
        report.elapsed.as_secs_f64(),
        report.rows_per_second()
    );
    println!(
        "encoding {}, delimiter {:?}, phone columns: {}",
        report.encoding,
        report.delimiter,
        report.phone_columns.join(", ")
    );
    if report.rows_rejected > 0 {
        let kinds: Vec<String> = report
            .rejected_by_kind
            .iter()
            .map(|(kind, count)| format!("{kind} {count}"))
            .collect();
        println!("rejected {}: {}", report.rows_rejected, kinds.join(", "));
        for row in report.rejected.iter().take(show_rejected) {
            println!("  line {}: {}", row.line, row.reason);
        }
        if report.rows_rejected as usize > show_rejected.min(report.rejected.len()) {
            println!("  …");
        }
    }
}

async fn lists(store: &Store) -> anyhow::Result<ExitCode> {
    for list in store.contact_lists().await? {
        println!(
            "{}\t{} contacts\tcountry {}\tduplicates {}",
            list.name,
            store.contact_count(list.id).await?,
            list.default_country,
            list.duplicates.as_str()
        );
    }
    Ok(ExitCode::SUCCESS)
}
