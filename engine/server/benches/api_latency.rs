//! API latency under load on loopback: `ramal serve` in process (SQLite, the example flows,
//! no SIP), and 16 concurrent keep-alive clients sending a bounded number of requests per
//! route. Prints requests/s, p50 and p99 per route, and each p50 as a ratio of the
//! baseline measured in the same run: `GET /healthz`, the same HTTP stack with no session
//! and no database.
//!
//! `cargo bench -p ramal --bench api_latency [-- --requests N --clients C]`

use anyhow::Context;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// No route runs longer than this, whatever `--requests` says.
const MAX_PER_ROUTE: Duration = Duration::from_secs(30);

struct Args {
    requests: usize,
    clients: usize,
}

fn args() -> anyhow::Result<Args> {
    let mut args = Args {
        requests: 20_000,
        clients: 16,
    };
    let mut given = std::env::args().skip(1);
    while let Some(arg) = given.next() {
        match arg.as_str() {
            "--requests" => args.requests = given.next().context("--requests N")?.parse()?,
            "--clients" => args.clients = given.next().context("--clients C")?.parse()?,
            // cargo bench passes --bench.
            _ => {}
        }
    }
    anyhow::ensure!(args.requests > 0 && args.clients > 0, "nothing to measure");
    Ok(args)
}

struct Measured {
    count: usize,
    elapsed: Duration,
    p50: Duration,
    p99: Duration,
}

/// `args.requests` GETs of `path` from `args.clients` concurrent clients (or until
/// [`MAX_PER_ROUTE`]); every answer must be 200.
async fn measure(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    cookie: &str,
    args: &Args,
) -> anyhow::Result<Measured> {
    let url = format!("{base}{path}");
    let issued = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.clients {
        let (client, url, cookie, issued) = (
            client.clone(),
            url.clone(),
            cookie.to_owned(),
            issued.clone(),
        );
        let total = args.requests;
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while issued.fetch_add(1, Ordering::Relaxed) < total
                && started.elapsed() < MAX_PER_ROUTE
            {
                let sent = Instant::now();
                let response = client.get(&url).header("cookie", &cookie).send().await?;
                let status = response.status();
                let _ = response.bytes().await?;
                latencies.push(sent.elapsed());
                anyhow::ensure!(status.is_success(), "{url} answered {status}");
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let at = |q: f64| {
        let index = ((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1));
        latencies.get(index).copied().unwrap_or_default()
    };
    Ok(Measured {
        count: latencies.len(),
        elapsed,
        p50: at(0.50),
        p99: at(0.99),
    })
}

fn main() -> anyhow::Result<()> {
    let args = args()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    // reqwest is built without a default TLS provider; plain HTTP still needs one chosen.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = std::env::temp_dir().join(format!("ramal-api-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let flows = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../flows");
    let mut config = ramal::config::Config::new(
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        flows,
        dir.join("data"),
    );
    let password = "bench admin password";
    config.admin_password = Some(ramal::config::Secret::new(password));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(ramal::server::run(config, listener, async {
        let _ = stopped.await;
    }));
    let base = format!("http://{address}");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients)
        .timeout(Duration::from_secs(10))
        .build()?;
    let mut login = None;
    for _ in 0..100 {
        let attempt = client
            .post(format!("{base}/api/auth/login"))
            .header("content-type", "application/json")
            .body(serde_json::json!({"username": "admin", "password": password}).to_string())
            .send()
            .await;
        if let Ok(response) = attempt {
            login = Some(response);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let login = login.context("the server never answered")?;
    anyhow::ensure!(login.status().is_success(), "login: {}", login.status());
    let cookie = login
        .headers()
        .get("set-cookie")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .context("a session cookie")?
        .to_owned();

    println!(
        "API latency on loopback: {} clients, up to {} requests per route (SQLite, example flows)",
        args.clients, args.requests
    );
    let routes = [
        ("/healthz", "baseline: HTTP only"),
        ("/api/auth/me", "session lookup"),
        ("/api/flows", "session + flows from the store"),
        ("/api/calls?limit=50", "session + call records"),
        ("/api/campaigns", "session + campaigns"),
    ];
    let mut baseline = None;
    for (path, what) in routes {
        // A short warm-up fills the connection pool and the caches.
        let warm = Args {
            requests: 200,
            clients: args.clients,
        };
        measure(&client, &base, path, &cookie, &warm).await?;
        let measured = measure(&client, &base, path, &cookie, &args).await?;
        let p50_us = measured.p50.as_secs_f64() * 1e6;
        let base_p50 = *baseline.get_or_insert(p50_us);
        println!(
            "{path:<22} {what:<32} {:>7.0} req/s  p50 {:>7.0} µs  p99 {:>7.0} µs  p50 {:.2}× baseline  ({} requests)",
            measured.count as f64 / measured.elapsed.as_secs_f64(),
            p50_us,
            measured.p99.as_secs_f64() * 1e6,
            p50_us / base_p50,
            measured.count,
        );
    }
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(15), server).await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
