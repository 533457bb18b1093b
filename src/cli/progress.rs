//! Progress of long commands on stderr, as a person reads it: what is done in its own unit
//! (lines, records) with its rate, and the bytes' rate in MB/s. On a terminal, a bar (with ETA
//! when the input's size is known); off a terminal, a line every `PROGRESS_LINE_INTERVAL`;
//! always a final summary (printed by the command).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often a line is written when stderr is not a terminal.
pub const PROGRESS_LINE_INTERVAL: Duration = Duration::from_secs(2);
/// Overrides `PROGRESS_LINE_INTERVAL`, in milliseconds (a log that wants more or fewer lines;
/// the tests, which want one per step).
pub const PROGRESS_INTERVAL_ENV: &str = "PAYREC_PROGRESS_INTERVAL_MS";
/// How often a terminal's bar gets a new message (the rates): often enough to look alive.
pub const PROGRESS_BAR_REFRESH: Duration = Duration::from_millis(200);

const BYTES_PER_MB: f64 = 1_000_000.0;

fn line_interval() -> Duration {
    std::env::var(PROGRESS_INTERVAL_ENV)
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map_or(PROGRESS_LINE_INTERVAL, Duration::from_millis)
}

pub struct Progress {
    /// What the command is doing ("importing").
    verb: &'static str,
    /// What it counts ("lines").
    noun: &'static str,
    bar: Option<ProgressBar>,
    started: Instant,
    last_shown: Instant,
    interval: Duration,
    items: u64,
    bytes: u64,
    total_bytes: Option<u64>,
}

impl Progress {
    /// `verb`ing `noun`s, over an input of `total_bytes` when known.
    pub fn new(verb: &'static str, noun: &'static str, total_bytes: Option<u64>) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let (bar, template) = match total_bytes {
                Some(total) => (
                    ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr()),
                    "{msg} [{bar:30}] {percent}% ETA {eta}",
                ),
                None => (
                    ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
                    "{spinner} {msg}",
                ),
            };
            let style = ProgressStyle::with_template(template).expect("a valid template");
            bar.set_style(style.progress_chars("=> "));
            bar.set_message(verb);
            bar
        });
        let now = Instant::now();
        Progress {
            verb,
            noun,
            bar,
            started: now,
            last_shown: now,
            interval: line_interval(),
            items: 0,
            bytes: 0,
            total_bytes,
        }
    }

    /// `items` more done, from `bytes` more of the input (or output).
    pub fn advance(&mut self, items: u64, bytes: u64) {
        self.items += items;
        self.bytes += bytes;
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
            if self.last_shown.elapsed() >= PROGRESS_BAR_REFRESH {
                self.last_shown = Instant::now();
                bar.set_message(self.rates());
            }
            return;
        }
        if self.last_shown.elapsed() >= self.interval {
            self.last_shown = Instant::now();
            eprintln!("payrec: {}", self.rates());
        }
    }

    /// `importing: 1200 lines (40%), 600 lines/s, 0.3 MB/s`.
    fn rates(&self) -> String {
        let seconds = self.started.elapsed().as_secs_f64().max(1e-9);
        let share = match self.total_bytes {
            Some(total) => format!(" ({:.0}%)", self.bytes as f64 * 100.0 / total.max(1) as f64),
            None => String::new(),
        };
        format!(
            "{}: {} {}{share}, {:.0} {}/s, {:.1} MB/s",
            self.verb,
            self.items,
            self.noun,
            self.items as f64 / seconds,
            self.noun,
            self.bytes as f64 / BYTES_PER_MB / seconds
        )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_progress_line_says_lines_per_second_and_megabytes_per_second() {
        let mut progress = Progress::new("importing", "lines", Some(4_000_000));
        progress.items = 1200;
        progress.bytes = 1_000_000;
        let line = progress.rates();
        assert!(line.starts_with("importing: 1200 lines (25%), "), "{line}");
        assert!(line.contains(" lines/s, ") && line.ends_with(" MB/s"), "{line}");
        assert!(!line.contains("bytes"), "{line}");
    }
}
