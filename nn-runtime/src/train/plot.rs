//! [`TrainReport::plot`]: the loss and accuracy curves of a training history as PNG or SVG,
//! drawn by the `nn-plot` crate.

use std::path::Path;

use super::TrainReport;
use crate::io::write_atomically;
use crate::{Error, Result};

/// The picture's file format, from the path's extension.
enum Format {
    Png,
    Svg,
}

impl TrainReport {
    /// Draws the history as a picture: training and validation loss against epoch on the left,
    /// validation accuracy (in percent) on the right, with a title, axis labels, a legend, and a
    /// dashed line at [`best_epoch`](TrainReport::best_epoch) when it is set. Figures that were
    /// not measured (no validation set, or a loss that does not classify) leave their curve
    /// out; without any accuracy the loss panel takes the whole width.
    ///
    /// The extension chooses the format: `.png` (900x400 pixels) or `.svg`. The file is
    /// written atomically (a temporary file, then a rename), so a reader never sees half a
    /// picture. Text is drawn with the bundled DejaVu Sans, so no system font is needed.
    ///
    /// Only with the default `plot` feature.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] when the extension is neither `.png` nor `.svg` or when the
    /// history has no epoch; [`Error::Io`] when the file cannot be written.
    ///
    /// # Example
    ///
    /// ```
    /// use nn::train::{EpochReport, TrainReport};
    /// let mut history = TrainReport::default();
    /// for epoch in 1..=5 {
    ///     let loss = 1.0 / epoch as f32;
    ///     history.epochs.push(EpochReport {
    ///         epoch,
    ///         train_loss: loss,
    ///         valid_loss: Some(loss + 0.05),
    ///         valid_accuracy: Some(0.8 + 0.03 * epoch as f32),
    ///         seconds: 0.2,
    ///     });
    /// }
    /// history.best_epoch = Some(5);
    /// let dir = tempfile::tempdir().unwrap();
    /// history.plot(dir.path().join("curves.png"))?;
    /// history.plot(dir.path().join("curves.svg"))?;
    /// assert!(history.plot(dir.path().join("curves.jpg")).is_err());
    /// # Ok::<(), nn::Error>(())
    /// ```
    pub fn plot(&self, path: impl AsRef<Path>) -> Result<()> {
        self.plot_to(path.as_ref())
    }

    /// [`TrainReport::plot`] without the generic parameter: compiled once, here, instead of in
    /// every crate that calls `plot`.
    fn plot_to(&self, path: &Path) -> Result<()> {
        let extension = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        let format = match extension.as_deref() {
            Some("png") => Format::Png,
            Some("svg") => Format::Svg,
            _ => {
                return Err(Error::InvalidArgument(format!(
                    "cannot plot to {}: the file name must end in .png or .svg",
                    path.display()
                )))
            }
        };
        if self.epochs.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "cannot plot to {}: the training history has no epoch",
                path.display()
            )));
        }
        let history = nn_plot::History {
            epochs: self
                .epochs
                .iter()
                .map(|e| nn_plot::Epoch {
                    epoch: e.epoch,
                    train_loss: e.train_loss,
                    valid_loss: e.valid_loss,
                    valid_accuracy: e.valid_accuracy,
                })
                .collect(),
            best_epoch: self.best_epoch,
            stopped_early: self.stopped_early,
        };
        let failed = |error: nn_plot::Error| Error::format(path, error.to_string());
        match format {
            Format::Png => write_atomically(path, &nn_plot::png(&history).map_err(failed)?),
            Format::Svg => write_atomically(path, nn_plot::svg(&history).map_err(failed)?.as_bytes()),
        }
    }
}
