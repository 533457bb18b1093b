//! Drives one scenario: N workers, each on its own keep-alive connection, for warmup plus the
//! measured window (closed-loop, or paced at a fixed rate: `pace`), then merges their samples.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::args::{Args, Scenario};
use super::client::{Conn, Target};
use super::ids::RecordIds;
use super::pace::Pace;
use super::scenarios::{step_names, worker};
use super::stats::{Recorder, ScenarioResult, Window, rss_mb};

/// Runs `scenario` against `target` with `args.connections` workers.
pub async fn run(
    scenario: Scenario,
    target: &Target,
    ids: &Arc<RecordIds>,
    args: &Args,
    in_process: bool,
) -> Result<ScenarioResult, String> {
    if scenario.needs_seed() && ids.len() == 0 {
        return Err(format!("scenario {} needs --seed of at least 1", scenario.name()));
    }
    if args.rate.is_some() && !scenario.single_request() {
        return Err(format!(
            "--rate paces single-request scenarios; {} makes several requests an iteration",
            scenario.name()
        ));
    }
    let now = Instant::now();
    let start = now + Duration::from_secs(args.warmup);
    let window = Window {
        start,
        end: start + Duration::from_secs(args.duration),
    };
    let pace = args.rate.map(|rate| {
        let end = tokio::time::Instant::from_std(window.end);
        Arc::new(Pace::new(rate, tokio::time::Instant::from_std(now), end))
    });
    let workers: Vec<_> = (0..args.connections)
        .map(|_| {
            let conn = Conn::new(target.clone());
            tokio::spawn(worker(scenario, conn, ids.clone(), window, pace.clone()))
        })
        .collect();
    let names = step_names(scenario);
    let mut merged = Recorder::new(window, names.len());
    for w in workers {
        merged.merge(w.await.map_err(|e| format!("worker failed: {e}"))?);
    }
    let (all, steps) = merged.summarize(names, pace.is_some());
    Ok(ScenarioResult {
        scenario: scenario.name(),
        connections: args.connections,
        seconds: window.seconds(),
        requests: all.requests,
        errors: all.errors,
        throughput_rps: all.throughput_rps,
        ratio_to_ceiling: None,
        p50_ms: all.p50_ms,
        p90_ms: all.p90_ms,
        p99_ms: all.p99_ms,
        p999_ms: all.p999_ms,
        max_ms: all.max_ms,
        rate_rps: args.rate,
        rss_mb: if in_process { rss_mb().map(|(rss, _)| rss) } else { None },
        steps,
        round_rps: Vec::new(),
    })
}
