//! Progress while training: an indicatif bar per epoch on a terminal, one plain line per epoch
//! otherwise (so CI logs stay readable), or nothing.

use std::io::IsTerminal;

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
}

impl EpochProgress {
    pub(crate) fn start(mode: Progress, epoch: usize, epochs: usize, samples: usize) -> Self {
        let use_bar = mode == Progress::Auto && std::io::stderr().is_terminal();
        let bar = use_bar.then(|| {
            let bar = ProgressBar::new(samples as u64);
            let style = ProgressStyle::with_template(
                "epoch {prefix} [{bar:30}] {pos}/{len} samples  {per_sec}  ETA {eta}  {msg}",
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
        }
    }

    /// `samples` more trained; `loss` is the running mean loss.
    pub(crate) fn advance(&self, samples: usize, step: usize, loss: f64) {
        if let Some(bar) = &self.bar {
            bar.inc(samples as u64);
            // Formatting the message allocates: refresh it a few times a second's worth of steps.
            if step.is_multiple_of(16) {
                bar.set_message(format!("loss {loss:.4}"));
            }
        }
    }

    pub(crate) fn finish(self, report: &EpochReport) {
        match self.bar {
            Some(bar) => bar.finish_with_message(format!("{report}")),
            None if self.lines => eprintln!("{report}"),
            None => {}
        }
    }
}
