//! Progress while training: an indicatif bar per epoch on a terminal, one plain line per epoch
//! otherwise (so CI logs stay readable), or nothing.

use std::io::IsTerminal;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

use super::EpochReport;

/// How a [`crate::Trainer`] shows progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// A bar when stderr is a terminal, plain lines otherwise (the default).
    Auto,
    /// One plain line per epoch on stderr.
    Lines,
    /// Nothing.
    Quiet,
}

/// The display of one epoch.
pub(crate) struct EpochProgress {
    bar: Option<ProgressBar>,
    lines: bool,
    start: Instant,
}

impl EpochProgress {
    pub(crate) fn start(mode: Progress, epoch: usize, epochs: usize, samples: usize) -> Self {
        let use_bar = mode == Progress::Auto && std::io::stderr().is_terminal();
        let bar = use_bar.then(|| {
            let bar = ProgressBar::new(samples as u64);
            let style = ProgressStyle::with_template(
                "epoch {prefix} [{bar:30}] {human_pos}/{human_len} samples  ETA {eta}  {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(format!("{epoch}/{epochs}"));
            bar
        });
        EpochProgress {
            bar,
            lines: mode != Progress::Quiet,
            start: Instant::now(),
        }
    }

    /// `samples` more trained; `loss` is the running mean loss.
    pub(crate) fn advance(&self, samples: usize, step: usize, loss: f64) {
        if let Some(bar) = &self.bar {
            bar.inc(samples as u64);
            // Formatting the message allocates: refresh it a few times a second's worth of steps.
            if step.is_multiple_of(16) {
                let rate = bar.position() as f64 / self.start.elapsed().as_secs_f64().max(1e-9);
                bar.set_message(format!("loss {loss:.4}  {rate:.0} samples/s"));
            }
        }
    }

    pub(crate) fn finish(self, report: &EpochReport) {
        match self.bar {
            // The bar gives way to the same line a log would get.
            Some(bar) => {
                bar.finish_and_clear();
                eprintln!("{report}");
            }
            None if self.lines => eprintln!("{report}"),
            None => {}
        }
    }
}
