//! Latency samples and their summaries. Every latency inside the measured window is kept (in
//! microseconds), so percentiles are exact rather than bucketed.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::client::Reply;

/// The measured part of a scenario: requests that start inside it count.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub start: Instant,
    pub end: Instant,
}

impl Window {
    pub fn seconds(&self) -> f64 {
        (self.end - self.start).as_secs_f64()
    }
}

#[derive(Debug, Default)]
struct StepSamples {
    latencies_us: Vec<u32>,
    errors: u64,
    first_error: Option<String>,
}

/// One worker's samples, one list per step of the scenario.
#[derive(Debug)]
pub struct Recorder {
    window: Window,
    steps: Vec<StepSamples>,
    /// When the last measured request answered.
    last_done: Option<Instant>,
}

impl Recorder {
    pub fn new(window: Window, steps: usize) -> Recorder {
        Recorder {
            window,
            steps: (0..steps).map(|_| StepSamples::default()).collect(),
            last_done: None,
        }
    }

    /// Whether the worker should start another request or iteration.
    pub fn running(&self) -> bool {
        Instant::now() < self.window.end
    }

    /// Records one request that started at `started`; an error is a transport failure or a
    /// non-2xx status.
    pub fn record(&mut self, step: usize, started: Instant, result: &Result<Reply, String>) {
        let elapsed = started.elapsed();
        if started < self.window.start || started >= self.window.end {
            return;
        }
        self.last_done = self.last_done.max(Some(started + elapsed));
        let samples = &mut self.steps[step];
        samples.latencies_us.push(micros(elapsed));
        let error = match result {
            Ok(reply) if reply.is_success() => None,
            Ok(reply) => Some(format!(
                "HTTP {}: {}",
                reply.status,
                String::from_utf8_lossy(&reply.body[..reply.body.len().min(300)])
            )),
            Err(e) => Some(e.clone()),
        };
        if let Some(e) = error {
            samples.errors += 1;
            samples.first_error.get_or_insert(e);
        }
    }

    pub fn merge(&mut self, other: Recorder) {
        self.last_done = self.last_done.max(other.last_done);
        for (mine, theirs) in self.steps.iter_mut().zip(other.steps) {
            mine.latencies_us.extend(theirs.latencies_us);
            mine.errors += theirs.errors;
            if mine.first_error.is_none() {
                mine.first_error = theirs.first_error;
            }
        }
    }

    /// All requests together, then each step. `paced`: the rate is what was achieved, over
    /// the window or until the last request due in it answered, whichever is longer.
    pub fn summarize(self, names: &[&str], paced: bool) -> (StepSummary, Vec<StepSummary>) {
        let mut seconds = self.window.seconds();
        if paced && let Some(done) = self.last_done {
            seconds = seconds.max((done - self.window.start).as_secs_f64());
        }
        let mut all = StepSamples::default();
        for samples in &self.steps {
            all.latencies_us.extend_from_slice(&samples.latencies_us);
            all.errors += samples.errors;
        }
        let steps = self
            .steps
            .into_iter()
            .zip(names)
            .map(|(samples, name)| StepSummary::new(name, samples, seconds))
            .collect();
        (StepSummary::new("all", all, seconds), steps)
    }
}

fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

/// One step's figures (a scenario has one step, `lifecycle` five).
#[derive(Debug, Clone, Serialize)]
pub struct StepSummary {
    pub step: String,
    pub requests: u64,
    pub errors: u64,
    pub throughput_rps: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
}

impl StepSummary {
    fn new(name: &str, mut samples: StepSamples, seconds: f64) -> StepSummary {
        samples.latencies_us.sort_unstable();
        let sorted = &samples.latencies_us;
        let at = |q: f64| -> f64 {
            if sorted.is_empty() {
                return 0.0;
            }
            let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
            f64::from(sorted[rank - 1]) / 1000.0
        };
        StepSummary {
            step: name.to_owned(),
            requests: sorted.len() as u64,
            errors: samples.errors,
            throughput_rps: sorted.len() as f64 / seconds,
            p50_ms: at(0.50),
            p90_ms: at(0.90),
            p99_ms: at(0.99),
            p999_ms: at(0.999),
            max_ms: at(1.0),
            first_error: samples.first_error,
        }
    }
}

/// A scenario's result: all its requests together, and each step.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    pub scenario: &'static str,
    pub connections: usize,
    pub seconds: f64,
    pub requests: u64,
    pub errors: u64,
    pub throughput_rps: f64,
    /// Throughput over the ceiling's in the same run, when the ceiling ran first.
    pub ratio_to_ceiling: Option<f64>,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    /// The fixed rate asked for (--rate), requests/s; `throughput_rps` is the rate achieved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_rps: Option<u64>,
    /// VmRSS of this process (server and load generator) after the scenario; None with --url.
    pub rss_mb: Option<f64>,
    pub steps: Vec<StepSummary>,
    /// Throughput of every round (--rounds), in order; this result is the median one.
    pub round_rps: Vec<f64>,
}

/// Per scenario, the round with the median ratio to the ceiling (or median throughput), with
/// every round's throughput attached. `rounds` holds one result list per round, same order.
pub fn median_rounds(rounds: Vec<Vec<ScenarioResult>>) -> Vec<ScenarioResult> {
    let scenarios = rounds.first().map_or(0, Vec::len);
    assert!(
        rounds.iter().all(|r| r.len() == scenarios),
        "every round runs every scenario"
    );
    let mut columns: Vec<Vec<ScenarioResult>> = (0..scenarios).map(|_| Vec::new()).collect();
    for round in rounds {
        for (column, result) in columns.iter_mut().zip(round) {
            column.push(result);
        }
    }
    columns
        .into_iter()
        .map(|mut column| {
            let round_rps: Vec<f64> = column.iter().map(|r| r.throughput_rps).collect();
            let rank = |r: &ScenarioResult| r.ratio_to_ceiling.unwrap_or(r.throughput_rps);
            column.sort_by(|a, b| rank(a).total_cmp(&rank(b)));
            let mut median = column.swap_remove(column.len() / 2);
            median.round_rps = round_rps;
            median
        })
        .collect()
}

/// VmRSS and VmHWM of this process, in MB.
pub fn rss_mb() -> Option<(f64, f64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<f64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb / 1024.0)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

pub fn print_table(results: &[ScenarioResult]) {
    println!(
        "{:<24} {:>9} {:>7} {:>10} {:>7} {:>8} {:>8} {:>8} {:>9} {:>8} {:>8}",
        "scenario/step",
        "requests",
        "errors",
        "req/s",
        "ratio",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "p99.9 ms",
        "max ms",
        "RSS MB"
    );
    for r in results {
        let ratio = r.ratio_to_ceiling.map_or("-".into(), |x| format!("{x:.3}"));
        let rss = r.rss_mb.map_or("-".into(), |x| format!("{x:.1}"));
        println!(
            "{:<24} {:>9} {:>7} {:>10.0} {:>7} {:>8.2} {:>8.2} {:>8.2} {:>9.2} {:>8.2} {:>8}",
            r.scenario,
            r.requests,
            r.errors,
            r.throughput_rps,
            ratio,
            r.p50_ms,
            r.p90_ms,
            r.p99_ms,
            r.p999_ms,
            r.max_ms,
            rss
        );
        if let Some(rate) = r.rate_rps {
            println!(
                "  at a fixed rate of {rate}/s (achieved {:.0}/s); latency from each request's due time",
                r.throughput_rps
            );
        }
        if r.steps.len() > 1 {
            for s in &r.steps {
                println!(
                    "{:<24} {:>9} {:>7} {:>10.0} {:>7} {:>8.2} {:>8.2} {:>8.2} {:>9.2} {:>8.2} {:>8}",
                    format!("  {}", s.step),
                    s.requests,
                    s.errors,
                    s.throughput_rps,
                    "",
                    s.p50_ms,
                    s.p90_ms,
                    s.p99_ms,
                    s.p999_ms,
                    s.max_ms,
                    ""
                );
            }
        }
        if r.round_rps.len() > 1 {
            let each: Vec<String> = r.round_rps.iter().map(|x| format!("{x:.0}")).collect();
            println!("  req/s per round: {}", each.join(", "));
        }
        for s in &r.steps {
            if let Some(e) = &s.first_error {
                println!("  first error in {}: {e}", s.step);
            }
        }
    }
}
