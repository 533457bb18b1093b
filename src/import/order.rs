//! The order lines are applied in. Lists (and the export) order records by `created`, newest
//! first, and records created in the same second by the order they were written. So that an
//! export imported into an empty database exports again byte for byte, each run of lines with
//! the same `created` is applied oldest first: from its last line when the file is newest first
//! (as the export is), else in file order. The file's direction is seen at the first change of
//! `created` (or, for a file of one second, from its first and last ids, which payrec makes
//! time-ordered); a run is held until it ends, at most `RUN_LINES_MAX` lines.

use super::ReadyLine;

/// Most lines of one `created` second held to be reordered; a longer run is reordered in
/// pieces of this many.
pub const RUN_LINES_MAX: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Unknown,
    OldestFirst,
    NewestFirst,
}

#[derive(Debug)]
pub struct Sequencer {
    run: Vec<ReadyLine>,
    direction: Direction,
}

impl Default for Sequencer {
    fn default() -> Self {
        Sequencer {
            run: Vec::new(),
            direction: Direction::Unknown,
        }
    }
}

impl Sequencer {
    /// Takes the next line of the file; returns the lines ready to apply, in order.
    pub fn push(&mut self, line: ReadyLine) -> Vec<ReadyLine> {
        let Some(first) = self.run.first() else {
            self.run.push(line);
            return Vec::new();
        };
        if first.created == line.created {
            if self.run.len() < RUN_LINES_MAX {
                self.run.push(line);
                return Vec::new();
            }
            let ready = self.take_run();
            self.run.push(line);
            return ready;
        }
        if self.direction == Direction::Unknown {
            self.direction = if line.created < first.created {
                Direction::NewestFirst
            } else {
                Direction::OldestFirst
            };
        }
        let ready = self.take_run();
        self.run.push(line);
        ready
    }

    /// The lines still held, in order, at the end of the file.
    pub fn finish(mut self) -> Vec<ReadyLine> {
        if self.direction == Direction::Unknown
            && let (Some(first), Some(last)) = (self.run.first(), self.run.last())
            && first.record_id() > last.record_id()
        {
            self.direction = Direction::NewestFirst;
        }
        self.take_run()
    }

    fn take_run(&mut self) -> Vec<ReadyLine> {
        let mut run = std::mem::take(&mut self.run);
        if self.direction == Direction::NewestFirst {
            run.reverse();
        }
        run
    }
}
