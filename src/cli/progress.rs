//! Progress of long commands on stderr: on a terminal, a bar with rate (and ETA when the total
//! is known); off a terminal, a line every `PROGRESS_LINE_INTERVAL`; always a final summary
//! (printed by the command).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often a line is written when stderr is not a terminal.
pub const PROGRESS_LINE_INTERVAL: Duration = Duration::from_secs(2);
/// Overrides `PROGRESS_LINE_INTERVAL`, in milliseconds (a log that wants more or fewer lines;
/// the tests, which want one per step).
pub const PROGRESS_INTERVAL_ENV: &str = "PAYREC_PROGRESS_INTERVAL_MS";

fn line_interval() -> Duration {
    std::env::var(PROGRESS_INTERVAL_ENV)
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map_or(PROGRESS_LINE_INTERVAL, Duration::from_millis)
}

pub struct Progress {
    what: &'static str,
    bar: Option<ProgressBar>,
    started: Instant,
    last_line: Instant,
    interval: Duration,
    done: u64,
    total: Option<u64>,
}

impl Progress {
    /// `what` counts in `unit`s ("records", "bytes"); `total` when known.
    pub fn new(what: &'static str, total: Option<u64>) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = match total {
                Some(total) => {
                    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
                    bar.set_style(
                        ProgressStyle::with_template("{msg} [{bar:30}] {percent}% {per_sec} ETA {eta}")
                            .expect("a valid template")
                            .progress_chars("=> "),
                    );
                    bar
                }
                None => {
                    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                    bar.set_style(
                        ProgressStyle::with_template("{spinner} {msg} {human_pos} {per_sec}")
                            .expect("a valid template"),
                    );
                    bar
                }
            };
            bar.set_message(what);
            bar
        });
        let now = Instant::now();
        Progress {
            what,
            bar,
            started: now,
            last_line: now,
            interval: line_interval(),
            done: 0,
            total,
        }
    }

    /// `n` more done.
    pub fn advance(&mut self, n: u64) {
        self.done += n;
        if let Some(bar) = &self.bar {
            bar.inc(n);
            return;
        }
        if self.last_line.elapsed() >= self.interval {
            self.last_line = Instant::now();
            let rate = self.done as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
            match self.total {
                Some(total) => eprintln!(
                    "payrec: {}: {} of {} ({:.0}%), {rate:.0}/s",
                    self.what,
                    self.done,
                    total,
                    self.done as f64 * 100.0 / total.max(1) as f64
                ),
                None => eprintln!("payrec: {}: {}, {rate:.0}/s", self.what, self.done),
            }
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Removes the bar (the command then prints its summary).
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}
