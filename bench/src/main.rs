//! `payrec-bench`: the load generator behind BENCHMARKS.md.
//!
//! By default it starts the real payrec server in this process on 127.0.0.1:0 (durable
//! settings: SQLite `synchronous=FULL`, or PostgreSQL as configured), seeds it, and drives each
//! scenario with N keep-alive connections, next to a minimal axum endpoint (`ceiling`) that
//! measures the HTTP limit of this stack on this machine in the same run. With `--url` and
//! `--key` it targets a server started elsewhere instead.

use clap::Parser;

mod amplification;
mod args;
mod client;
mod dashboard;
mod ids;
mod load;
mod pace;
mod scenarios;
mod seed;
mod server;
mod soak;
mod stats;
mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::SmallRng;
use serde::Serialize;
use sqlx::Connection;
use tokio::runtime::{Builder, Handle};

use args::{Args, Scenario};
use client::{Conn, Target};
use ids::RecordIds;
use seed::SeedReport;
use server::{Database, Running};
use stats::{ScenarioResult, print_table, rss_mb};

/// mimalloc: the request path allocates many small, short-lived buffers, and glibc's malloc
/// showed up at ~5% of the server threads' profile (docs/decisions.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("payrec-bench: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Everything a run reports (`--json`).
#[derive(Debug, Serialize)]
struct Report {
    backend: &'static str,
    durability: String,
    connections: usize,
    client_threads: usize,
    warmup_seconds: u64,
    duration_seconds: u64,
    seed: Option<SeedReport>,
    /// RSS of this process before any server started (the load generator alone).
    rss_before_servers_mb: Option<f64>,
    /// Peak RSS (VmHWM) of this process over the run, seeding included.
    rss_peak_mb: Option<f64>,
    results: Vec<ScenarioResult>,
}

/// The server under test and what it was seeded with.
struct Under {
    target: Target,
    ids: Arc<RecordIds>,
    running: Option<Running>,
    database: Option<Database>,
    backend: &'static str,
    durability: String,
    seed: Option<SeedReport>,
}

pub fn run(args: Args) -> Result<(), String> {
    if let (Some(template), Some(url)) = (&args.seed_copies_of, &args.database_url) {
        let runtime = Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        return runtime.block_on(seed::copy_rows(
            url,
            template,
            args.seed,
            args.seed_salt,
            args.seed_keys,
        ));
    }
    if args.server_log {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    }
    // The server's runtime is built as `#[tokio::main]` builds payrec's: one worker per core.
    let server = Builder::new_multi_thread()
        .enable_all()
        .thread_name("payrec-server")
        .build()
        .map_err(|e| e.to_string())?;
    let client = Builder::new_multi_thread()
        .worker_threads(args.client_threads.max(1))
        .enable_all()
        .thread_name("bench-client")
        .build()
        .map_err(|e| e.to_string())?;
    let result = client.block_on(bench(&args, server.handle().clone()));
    server.shutdown_timeout(Duration::from_secs(5));
    result
}

async fn bench(args: &Args, server: Handle) -> Result<(), String> {
    let rss_before_servers_mb = rss_mb().map(|(rss, _)| rss);
    let wants_seed = args.scenario.iter().any(|s| s.needs_seed());
    let ceiling = if args.scenario.contains(&Scenario::Ceiling) {
        Some(server::start_ceiling(&server).await?)
    } else {
        None
    };
    let under = match &args.url {
        Some(url) => external(args, url, wants_seed).await?,
        None => in_process(args, &server, wants_seed).await?,
    };
    let in_process_server = args.url.is_none();
    let sink = if args.webhook_endpoint || args.scenario.contains(&Scenario::Deliver) {
        let sink = webhooks::start_sink(&server).await?;
        webhooks::create_endpoint(&under.target, &sink.url).await?;
        Some(sink)
    } else {
        None
    };
    if args.scenario.contains(&Scenario::Deliver) {
        if args.scenario.len() > 1 {
            return Err("deliver runs alone".into());
        }
        let sink = sink.as_ref().expect("started above");
        let delivered = webhooks::deliver(args, &under.target, &under.ids, sink).await;
        if let Some(r) = under.running {
            r.stop().await;
        }
        release_database(under.database.as_ref(), args.keep_db).await;
        let d = delivered?;
        println!(
            "backend {} ({}), {} connections",
            under.backend, under.durability, args.connections
        );
        println!("{}", serde_json::to_string_pretty(&d).expect("serializes"));
        return Ok(());
    }
    if args.scenario.contains(&Scenario::Dashboard) {
        if args.scenario.len() > 1 {
            return Err("dashboard runs alone".into());
        }
        let key = under
            .target
            .auth
            .to_str()
            .map_err(|e| e.to_string())?
            .trim_start_matches("Bearer ")
            .to_owned();
        let timings = dashboard::run(args, &under.target, &key, &under.ids).await;
        if let Some(r) = under.running {
            r.stop().await;
        }
        release_database(under.database.as_ref(), args.keep_db).await;
        let timings = timings?;
        println!("backend {} ({})", under.backend, under.durability);
        if let Some(s) = &under.seed {
            println!("seeded {} records", s.records);
        }
        if args.json {
            println!("{}", serde_json::to_string_pretty(&timings).expect("timings serialize"));
        } else {
            dashboard::print(&timings);
        }
        return Ok(());
    }
    if args.scenario.contains(&Scenario::Amplification) {
        if args.scenario.len() > 1 {
            return Err("amplification runs alone".into());
        }
        let Some(database) = under.database.as_ref() else {
            return Err("amplification reads the database's counters: run it without --url".into());
        };
        eprintln!("amplification: {} calls of each", args.calls);
        let mut conn = Conn::new(under.target.clone());
        let costs = amplification::run(&mut conn, database, args.calls).await;
        drop(conn);
        if let Some(r) = under.running {
            r.stop().await;
        }
        release_database(under.database.as_ref(), args.keep_db).await;
        let costs = costs?;
        println!("backend {} ({})", under.backend, under.durability);
        if args.json {
            println!("{}", serde_json::to_string_pretty(&costs).expect("costs serialize"));
        } else {
            amplification::print(&costs, under.backend);
        }
        return Ok(());
    }
    if args.scenario.contains(&Scenario::Soak) {
        if args.scenario.len() > 1 {
            return Err("soak runs alone".into());
        }
        eprintln!("soak: the mixed load for {} minutes", args.soak_minutes);
        let minutes = soak::run(
            args,
            &under.target,
            &under.ids,
            under.database.as_ref(),
            in_process_server,
        )
        .await;
        if let Some(r) = under.running {
            r.stop().await;
        }
        release_database(under.database.as_ref(), args.keep_db).await;
        let minutes = minutes?;
        println!(
            "backend {} ({}), {} connections",
            under.backend, under.durability, args.connections
        );
        if args.json {
            println!("{}", serde_json::to_string_pretty(&minutes).expect("minutes serialize"));
        } else {
            soak::print(&minutes);
        }
        return Ok(());
    }
    let mut rounds: Vec<Vec<ScenarioResult>> = Vec::new();
    let outcome = async {
        for round in 1..=args.rounds {
            let mut results = Vec::new();
            let mut ceiling_rps = None;
            for &scenario in &args.scenario {
                let target = match (scenario, &ceiling) {
                    (Scenario::Ceiling, Some(c)) => Target::new(c.addr, "sk_test_ceiling"),
                    _ => under.target.clone(),
                };
                let in_process = in_process_server || scenario == Scenario::Ceiling;
                eprintln!(
                    "round {round}/{}: running {} ({} s warmup, {} s measured)",
                    args.rounds,
                    scenario.name(),
                    args.warmup,
                    args.duration
                );
                let mut result = load::run(scenario, &target, &under.ids, args, in_process).await?;
                if scenario == Scenario::Ceiling {
                    ceiling_rps = Some(result.throughput_rps);
                }
                result.ratio_to_ceiling = ceiling_rps.map(|c| result.throughput_rps / c);
                eprintln!(
                    "  {:.0} req/s, p99 {:.2} ms, {} errors",
                    result.throughput_rps, result.p99_ms, result.errors
                );
                results.push(result);
            }
            rounds.push(results);
        }
        Ok::<(), String>(())
    }
    .await;
    let results = stats::median_rounds(rounds);
    let rss_peak_mb = rss_mb().map(|(_, hwm)| hwm);
    if let Some(c) = ceiling {
        c.stop().await;
    }
    if let Some(sink) = sink {
        eprintln!(
            "the webhook receiver got {} deliveries",
            sink.received.load(std::sync::atomic::Ordering::Relaxed)
        );
        sink.running.stop().await;
    }
    if let Some(r) = under.running {
        r.stop().await;
    }
    release_database(under.database.as_ref(), args.keep_db).await;
    outcome?;
    let report = Report {
        backend: under.backend,
        durability: under.durability,
        connections: args.connections,
        client_threads: args.client_threads,
        warmup_seconds: args.warmup,
        duration_seconds: args.duration,
        seed: under.seed,
        rss_before_servers_mb,
        rss_peak_mb,
        results,
    };
    print_report(&report, args.json);
    Ok(())
}

/// The bench's database after a run: removed, or kept (and named) with --keep-db.
async fn release_database(db: Option<&Database>, keep: bool) {
    let Some(db) = db else { return };
    if keep {
        eprintln!("kept the database: {}", db.url());
    } else {
        db.remove().await;
    }
}

fn print_report(report: &Report, json: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(report).expect("reports serialize"));
        return;
    }
    println!(
        "backend {} ({}), {} connections, {} client threads, {} s measured after {} s warmup",
        report.backend,
        report.durability,
        report.connections,
        report.client_threads,
        report.duration_seconds,
        report.warmup_seconds
    );
    if let Some(s) = &report.seed {
        println!(
            "seeded {} records in {:.1} s; database {:.1} MB, {:.0} bytes per record",
            s.records,
            s.seconds,
            s.database_bytes as f64 / 1e6,
            s.bytes_per_record
        );
    }
    if let (Some(before), Some(peak)) = (report.rss_before_servers_mb, report.rss_peak_mb) {
        println!("RSS of the load generator alone {before:.1} MB; peak RSS of the run {peak:.1} MB");
    }
    print_table(&report.results);
}

/// Starts payrec in this process on a fresh database, seeded for `retrieve` and `list`.
async fn in_process(args: &Args, server: &Handle, wants_seed: bool) -> Result<Under, String> {
    let database = Database::create(args).await?;
    let durability = durability(&database, args).await;
    let mut store = server::open_store(server, database.url(), args).await?;
    let key = server::create_account(store.as_ref()).await?;
    let mut seed = None;
    let salt: u64 = rand::random();
    let copies = if wants_seed { args.seed } else { 0 };
    if copies > 0 || args.seed_keys > 0 {
        eprintln!("seeding {} records and {} idempotency keys", copies + 1, args.seed_keys);
        let template = {
            let running = server::start_payrec(server, store, false).await?;
            let mut conn = Conn::new(Target::new(running.addr, &key));
            let made = seed::make_payment(&mut conn, &mut SmallRng::from_os_rng()).await;
            drop(conn);
            running.stop().await;
            made?
        };
        // The store reopens after the copies, so the SQLite writer numbers new rows after them.
        seed = Some(seed::bulk(&database, &template, copies, salt, args.seed_keys).await?);
        store = server::open_store(server, database.url(), args).await?;
    }
    let running = server::start_payrec(server, store, true).await?;
    Ok(Under {
        target: Target::new(running.addr, &key),
        ids: Arc::new(RecordIds::Derived { salt, count: copies }),
        running: Some(running),
        backend: database.backend(),
        database: Some(database),
        durability,
        seed,
    })
}

/// What a commit waits for, as configured.
async fn durability(database: &Database, args: &Args) -> String {
    match database {
        Database::Sqlite { .. } => format!(
            "SQLite WAL, synchronous={}",
            format!("{:?}", args.sqlite_synchronous).to_uppercase()
        ),
        Database::Postgres { admin_url, .. } => {
            let shown = async {
                let mut conn = sqlx::PgConnection::connect(admin_url).await?;
                let sync: String = sqlx::query_scalar("SHOW synchronous_commit")
                    .fetch_one(&mut conn)
                    .await?;
                let fsync: String = sqlx::query_scalar("SHOW fsync").fetch_one(&mut conn).await?;
                Ok::<_, sqlx::Error>(format!("PostgreSQL synchronous_commit={sync}, fsync={fsync}"))
            };
            shown
                .await
                .unwrap_or_else(|e| format!("PostgreSQL (settings unknown: {e})"))
        }
    }
}

/// Targets a server started elsewhere; seeds through the API.
async fn external(args: &Args, url: &str, wants_seed: bool) -> Result<Under, String> {
    let authority = url.trim_start_matches("http://").split('/').next().unwrap_or_default();
    let addr = tokio::net::lookup_host(authority)
        .await
        .map_err(|e| format!("cannot resolve {authority}: {e}"))?
        .next()
        .ok_or(format!("{authority} resolves to no address"))?;
    let target = Target::new(addr, args.key.as_deref().unwrap_or_default());
    let mut ids = Vec::new();
    if wants_seed && args.seed > 0 {
        eprintln!("seeding {} records through the API", args.seed);
        let workers = args.connections.max(1) as u64;
        let tasks: Vec<_> = (0..workers)
            .map(|w| {
                let mut conn = Conn::new(target.clone());
                let count = args.seed / workers + u64::from(w < args.seed % workers);
                tokio::spawn(async move {
                    let mut rng = SmallRng::from_os_rng();
                    let mut made = Vec::new();
                    for _ in 0..count {
                        made.push(seed::make_payment(&mut conn, &mut rng).await?.record);
                    }
                    Ok::<_, String>(made)
                })
            })
            .collect();
        for t in tasks {
            ids.extend(t.await.map_err(|e| e.to_string())??);
        }
    }
    Ok(Under {
        target,
        ids: Arc::new(RecordIds::Listed(ids)),
        running: None,
        database: None,
        backend: "external",
        durability: "as configured on the server".into(),
        seed: None,
    })
}
