//! `import-bench`: the contact CSV import against each database's own bulk load.
//!
//! ```text
//! cargo run --release -p ramal-store --bin import-bench -- --rows 100000,1000000
//!     [--phones 1|2] [--duplicates avoid|allow] [--batch ROWS] [--dir DIR] [--postgres URL]
//!     [--no-sqlite] [--no-postgres]
//! ```
//!
//! For each size it writes a CSV (name, e-mail, city, phone[, second phone]), then times:
//! our import into SQLite; `sqlite3 DB ".import --csv"` of the same file (the sqlite3
//! command-line tool); our import into PostgreSQL; `COPY … FROM STDIN (FORMAT csv)` of the
//! same file. Each native load runs twice: into a bare table, and into one with an index
//! per phone column (closer to what an import keeps up: contacts, phones, their indexes). It prints rows/s, ours/native, and the peak RSS of each of our imports
//! (VmHWM, reset before each run through /proc/self/clear_refs), which should not grow
//! with the file. PostgreSQL: `--postgres` or `RAMAL_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) names a server where a scratch database
//! is created and dropped.

use ramal_store::{Duplicates, ImportOptions, NewContactList, Store};
use sqlx::Connection;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

struct Args {
    sizes: Vec<u64>,
    phones: u32,
    duplicates: Duplicates,
    dir: PathBuf,
    sqlite: bool,
    postgres: Option<String>,
    batch: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        sizes: vec![1_000_000],
        phones: 2,
        duplicates: Duplicates::Avoid,
        dir: std::env::temp_dir(),
        sqlite: true,
        batch: ImportOptions::default().batch_rows,
        postgres: Some(
            std::env::var("RAMAL_TEST_POSTGRES")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into()),
        ),
    };
    let mut list = std::env::args().skip(1);
    while let Some(flag) = list.next() {
        let mut value = || list.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--rows" => {
                args.sizes = value()?
                    .split(',')
                    .map(|size| size.trim().replace('_', "").parse::<u64>())
                    .collect::<Result<_, _>>()
                    .map_err(|error| format!("--rows: {error}"))?;
            }
            "--phones" => {
                args.phones = match value()?.as_str() {
                    "1" => 1,
                    "2" => 2,
                    other => return Err(format!("--phones 1 or 2, not {other}")),
                }
            }
            "--duplicates" => {
                args.duplicates = match value()?.as_str() {
                    "avoid" => Duplicates::Avoid,
                    "allow" => Duplicates::Allow,
                    other => return Err(format!("--duplicates avoid|allow, not {other}")),
                }
            }
            "--dir" => args.dir = PathBuf::from(value()?),
            "--batch" => {
                args.batch = value()?
                    .parse()
                    .map_err(|error| format!("--batch: {error}"))?
            }
            "--postgres" => args.postgres = Some(value()?),
            "--no-postgres" => args.postgres = None,
            "--no-sqlite" => args.sqlite = false,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

/// Writes `rows` contacts to `path`: distinct valid Brazilian numbers, accents, a quoted
/// comma now and then.
fn generate(path: &Path, rows: u64, phones: u32) -> std::io::Result<u64> {
    let cities = [
        "São Paulo",
        "\"Rio de Janeiro, RJ\"",
        "Belo Horizonte",
        "Curitiba",
    ];
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    write!(out, "nome,email,cidade,telefone")?;
    if phones == 2 {
        write!(out, ",celular")?;
    }
    writeln!(out)?;
    for i in 0..rows {
        write!(
            out,
            "Cliente {i},cliente{i}@example.com,{},(21) 3{:03}-{:04}",
            cities[(i % 4) as usize],
            (i / 10_000) % 1000,
            i % 10_000
        )?;
        if phones == 2 {
            write!(out, ",11 9{:04}-{:04}", (i / 10_000) % 10_000, i % 10_000)?;
        }
        writeln!(out)?;
    }
    out.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

/// Peak resident memory since the last reset, in MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Resets the peak to the current RSS (Linux ≥ 4.0; ignored elsewhere).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn rate(rows: u64, took: Duration) -> f64 {
    rows as f64 / took.as_secs_f64().max(1e-9)
}

/// Our import of `file` into a fresh list; (time, peak RSS MiB).
async fn ours(
    store: &Store,
    file: &Path,
    rows: u64,
    args: &Args,
    name: &str,
) -> Result<(Duration, Option<f64>), String> {
    let list = store
        .create_contact_list(
            &NewContactList {
                name: name.into(),
                default_country: "BR".into(),
                duplicates: args.duplicates,
                columns: Vec::new(),
            },
            0,
        )
        .await
        .map_err(|error| error.to_string())?;
    let input = std::fs::File::open(file).map_err(|error| error.to_string())?;
    let options = ImportOptions {
        source: file.display().to_string(),
        total_bytes: std::fs::metadata(file).ok().map(|m| m.len()),
        batch_rows: args.batch,
        ..ImportOptions::default()
    };
    reset_peak_rss();
    let started = Instant::now();
    let report = store
        .import_contacts(list.id, input, options, 0, &mut |_| {})
        .await
        .map_err(|error| error.to_string())?;
    let took = started.elapsed();
    let peak = peak_rss_mib();
    if report.rows_imported != rows {
        return Err(format!(
            "imported {} of {rows} rows; first rejections: {:?}",
            report.rows_imported,
            &report.rejected[..report.rejected.len().min(3)]
        ));
    }
    Ok((took, peak))
}

/// The CSV's columns, and the statements that index its phone columns.
fn native_schema(phones: u32) -> (&'static str, &'static [&'static str]) {
    if phones == 2 {
        (
            "nome TEXT, email TEXT, cidade TEXT, telefone TEXT, celular TEXT",
            &[
                "CREATE INDEX native_telefone ON native (telefone)",
                "CREATE INDEX native_celular ON native (celular)",
            ],
        )
    } else {
        (
            "nome TEXT, email TEXT, cidade TEXT, telefone TEXT",
            &["CREATE INDEX native_telefone ON native (telefone)"],
        )
    }
}

/// `sqlite3 DB ".import --csv"`; `indexed`: into a table made first with an index per
/// phone column (and its rowid), a yardstick closer to what an import maintains.
fn sqlite_native(db: &Path, file: &Path, phones: u32, indexed: bool) -> Result<Duration, String> {
    let mut command = std::process::Command::new("sqlite3");
    command.arg(db);
    if indexed {
        let (columns, indexes) = native_schema(phones);
        command
            .arg("-cmd")
            .arg(format!("CREATE TABLE native ({columns})"));
        for index in indexes {
            command.arg("-cmd").arg(index);
        }
        command.arg(format!(".import --csv --skip 1 {} native", file.display()));
    } else {
        command.arg(format!(".import --csv {} native", file.display()));
    }
    let started = Instant::now();
    let output = command
        .output()
        .map_err(|error| format!("cannot run sqlite3 (apt-get install sqlite3): {error}"))?;
    let took = started.elapsed();
    if !output.status.success() || !output.stderr.is_empty() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    Ok(took)
}

/// `COPY native FROM STDIN (FORMAT csv)`; `indexed`: into a table with a BIGSERIAL primary
/// key and an index per phone column.
async fn postgres_native(
    url: &str,
    file: &Path,
    phones: u32,
    indexed: bool,
) -> Result<Duration, String> {
    let mut connection = sqlx::PgConnection::connect(url)
        .await
        .map_err(|error| error.to_string())?;
    let (columns, indexes) = native_schema(phones);
    let mut setup = vec!["DROP TABLE IF EXISTS native".to_owned()];
    if indexed {
        setup.push(format!(
            "CREATE TABLE native (id BIGSERIAL PRIMARY KEY, {columns})"
        ));
        setup.extend(indexes.iter().map(|index| (*index).to_owned()));
    } else {
        setup.push(format!("CREATE TABLE native ({columns})"));
    }
    for statement in setup {
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .execute(&mut connection)
            .await
            .map_err(|error| error.to_string())?;
    }
    let names: Vec<&str> = columns
        .split(", ")
        .filter_map(|c| c.split(' ').next())
        .collect();
    let started = Instant::now();
    let mut copy = connection
        .copy_in_raw(&format!(
            "COPY native ({}) FROM STDIN WITH (FORMAT csv, HEADER true)",
            names.join(", ")
        ))
        .await
        .map_err(|error| error.to_string())?;
    let mut input = std::fs::File::open(file).map_err(|error| error.to_string())?;
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let read = input.read(&mut buffer).map_err(|error| error.to_string())?;
        if read == 0 {
            break;
        }
        copy.send(&buffer[..read])
            .await
            .map_err(|error| error.to_string())?;
    }
    copy.finish().await.map_err(|error| error.to_string())?;
    Ok(started.elapsed())
}

fn line(what: &str, rows: u64, took: Duration, peak: Option<f64>) {
    let peak = peak.map_or(String::new(), |mib| format!("  peak RSS {mib:7.1} MiB"));
    println!(
        "  {what:<28} {:>8.2} s  {:>10.0} rows/s{peak}",
        took.as_secs_f64(),
        rate(rows, took)
    );
}

async fn bench_size(args: &Args, rows: u64) -> Result<(), String> {
    let file = args
        .dir
        .join(format!("ramal-bench-{}-{rows}.csv", std::process::id()));
    let bytes = generate(&file, rows, args.phones).map_err(|error| error.to_string())?;
    println!(
        "{rows} rows, {} phone column(s), duplicates {}, batches of {}, {:.1} MiB CSV",
        args.phones,
        args.duplicates.as_str(),
        args.batch,
        bytes as f64 / 1048576.0
    );
    let result = bench_file(args, rows, &file).await;
    let _ = std::fs::remove_file(&file);
    result
}

async fn bench_file(args: &Args, rows: u64, file: &Path) -> Result<(), String> {
    if args.sqlite {
        let ours_db = args
            .dir
            .join(format!("ramal-bench-{}-ours.db", std::process::id()));
        let native_db = args
            .dir
            .join(format!("ramal-bench-{}-native.db", std::process::id()));
        let store = Store::open(&format!("sqlite://{}", ours_db.display()))
            .await
            .map_err(|error| error.to_string())?;
        let (took, peak) = ours(&store, file, rows, args, "bench").await?;
        store.close().await;
        let remove = |path: &Path| {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        };
        let native = sqlite_native(&native_db, file, args.phones, false);
        remove(&native_db);
        let indexed = sqlite_native(&native_db, file, args.phones, true);
        remove(&native_db);
        remove(&ours_db);
        line("SQLite, ours", rows, took, peak);
        let (native, indexed) = (native?, indexed?);
        line("SQLite, sqlite3 .import", rows, native, None);
        line("SQLite, .import + indexes", rows, indexed, None);
        println!(
            "  SQLite ours/native: {:.2}x (vs indexed: {:.2}x)",
            native.as_secs_f64() / took.as_secs_f64(),
            indexed.as_secs_f64() / took.as_secs_f64()
        );
    }
    if let Some(server) = &args.postgres {
        let mut admin = sqlx::PgConnection::connect(server)
            .await
            .map_err(|error| format!("PostgreSQL at {server}: {error} (or pass --no-postgres)"))?;
        let database = format!("ramal_bench_{}", std::process::id());
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
            .execute(&mut admin)
            .await
            .map_err(|error| error.to_string())?;
        let url = match server.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{database}"),
            None => return Err("the PostgreSQL URL must end with /DATABASE".into()),
        };
        let result = async {
            let store = Store::open(&url).await.map_err(|error| error.to_string())?;
            let (took, peak) = ours(&store, file, rows, args, "bench").await?;
            store.close().await;
            let native = postgres_native(&url, file, args.phones, false).await?;
            let indexed = postgres_native(&url, file, args.phones, true).await?;
            Ok::<_, String>((took, peak, native, indexed))
        }
        .await;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE {database} WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await
        .map_err(|error| error.to_string())?;
        let (took, peak, native, indexed) = result?;
        line("PostgreSQL, ours", rows, took, peak);
        line("PostgreSQL, COPY FROM STDIN", rows, native, None);
        line("PostgreSQL, COPY + indexes", rows, indexed, None);
        println!(
            "  PostgreSQL ours/native: {:.2}x (vs indexed: {:.2}x)",
            native.as_secs_f64() / took.as_secs_f64(),
            indexed.as_secs_f64() / took.as_secs_f64()
        );
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("import-bench: {message}");
            return std::process::ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("import-bench: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    for &rows in &args.sizes {
        if let Err(message) = runtime.block_on(bench_size(&args, rows)) {
            eprintln!("import-bench: {message}");
            return std::process::ExitCode::FAILURE;
        }
    }
    std::process::ExitCode::SUCCESS
}
