//! [`TrainReport::plot`]: the loss and accuracy curves of a training history as PNG or SVG,
//! drawn with plotters and the bundled DejaVu Sans (pure-Rust text rendering: no system font
//! libraries are needed).

use std::ops::Range;
use std::path::Path;
use std::sync::Once;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{register_font, FontFamily, FontStyle, RGBColor};

use super::{EpochReport, TrainReport};
use crate::io::write_atomically;
use crate::{Error, Result};

/// Width and height of the picture, in pixels.
const SIZE: (u32, u32) = (900, 400);

const TRAIN: RGBColor = RGBColor(31, 119, 180);
const VALID: RGBColor = RGBColor(255, 127, 14);
const ACCURACY: RGBColor = RGBColor(44, 160, 44);
const BEST: RGBColor = RGBColor(120, 120, 120);
const GRID: RGBColor = RGBColor(232, 232, 232);

/// DejaVu Sans, cut down to Latin-1 (see `assets/DejaVuSans-LICENSE.txt`).
static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// The font family every text of the plot uses.
const FAMILY: &str = "sans-serif";

/// Makes the bundled font plotters' `sans-serif`, unless the program registered its own.
fn register_bundled_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let registered = FontDesc::new(FontFamily::SansSerif, 12.0, FontStyle::Normal)
            .box_size("0")
            .is_ok();
        if !registered {
            // The bundled file is a valid TrueType font (the tests draw with it), so this
            // cannot fail; should it, drawing reports the missing font as an error.
            let _ = register_font(FAMILY, FontStyle::Normal, FONT);
        }
    });
}

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
        let path = path.as_ref();
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
        register_bundled_font();
        let drawing_failed = |problem: String| Error::format(path, format!("could not draw the plot: {problem}"));
        match format {
            Format::Png => {
                let (width, height) = SIZE;
                let mut pixels = vec![0u8; width as usize * height as usize * 3];
                {
                    let root = BitMapBackend::with_buffer(&mut pixels, SIZE).into_drawing_area();
                    draw(self, &root).map_err(drawing_failed)?;
                    root.present().map_err(|e| drawing_failed(e.to_string()))?;
                }
                let png = encode_png(&pixels, SIZE).map_err(|e| Error::format(path, format!("PNG encoding: {e}")))?;
                write_atomically(path, &png)
            }
            Format::Svg => {
                let mut svg = String::new();
                {
                    let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
                    draw(self, &root).map_err(drawing_failed)?;
                    root.present().map_err(|e| drawing_failed(e.to_string()))?;
                }
                write_atomically(path, svg.as_bytes())
            }
        }
    }
}

/// An RGB buffer as a PNG file's bytes.
fn encode_png(pixels: &[u8], (width, height): (u32, u32)) -> std::result::Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Best);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(pixels)?;
    writer.finish()?;
    Ok(out)
}

/// One curve: its legend entry, colour and finite points.
struct Curve {
    label: &'static str,
    color: RGBColor,
    points: Vec<(f64, f64)>,
}

impl Curve {
    fn new(
        label: &'static str,
        color: RGBColor,
        report: &TrainReport,
        figure: fn(&EpochReport) -> Option<f64>,
    ) -> Self {
        let points = report
            .epochs
            .iter()
            .filter_map(|e| figure(e).filter(|v| v.is_finite()).map(|v| (e.epoch as f64, v)))
            .collect();
        Curve { label, color, points }
    }
}

/// Draws the whole picture on `root`.
fn draw<DB: DrawingBackend>(report: &TrainReport, root: &DrawingArea<DB, Shift>) -> std::result::Result<(), String> {
    let text = |size: f64| (FAMILY, size).into_font().color(&BLACK);
    root.fill(&WHITE).map_err(|e| e.to_string())?;

    let epochs = report.epochs.len();
    let mut title = format!("Training history: {epochs} epoch{}", if epochs == 1 { "" } else { "s" });
    if let Some(best) = report.best_epoch {
        title.push_str(&format!(", best epoch {best}"));
    }
    if report.stopped_early {
        title.push_str(", stopped early");
    }
    let body = root
        .margin(6, 0, 0, 0)
        .titled(&title, text(20.0))
        .map_err(|e| e.to_string())?;

    let loss = Panel {
        caption: "Loss",
        y_label: "loss",
        curves: vec![
            Curve::new("train loss", TRAIN, report, |e| Some(f64::from(e.train_loss))),
            Curve::new("valid loss", VALID, report, |e| e.valid_loss.map(f64::from)),
        ],
        legend_at_top: true,
        clamp: None,
    };
    let accuracy = Panel {
        caption: "Validation accuracy",
        y_label: "accuracy (%)",
        curves: vec![Curve::new("valid accuracy", ACCURACY, report, |e| {
            e.valid_accuracy.map(|a| f64::from(a) * 100.0)
        })],
        legend_at_top: false,
        clamp: Some((0.0, 100.0)),
    };

    let x_axis = EpochAxis::new(report);
    if accuracy.curves[0].points.is_empty() {
        loss.draw(&body, x_axis, report.best_epoch)
    } else {
        let (left, right) = body.split_horizontally(SIZE.0 / 2);
        loss.draw(&left, x_axis.clone(), report.best_epoch)?;
        accuracy.draw(&right, x_axis, report.best_epoch)
    }
}

/// The x axis: epochs from half a step before the first to half a step after the last, so their
/// markers show whole, with a tick at every epoch up to ten, then at round steps (2, 5, 10, ..).
#[derive(Clone)]
struct EpochAxis {
    shown: Range<f64>,
    ticks: Vec<f64>,
}

impl EpochAxis {
    fn new(report: &TrainReport) -> Self {
        let first = report.epochs.iter().map(|e| e.epoch).min().unwrap_or(0);
        let last = report.epochs.iter().map(|e| e.epoch).max().unwrap_or(0);
        let steps = (0..).flat_map(|power| [1, 2, 5].map(|m: usize| m.saturating_mul(10usize.saturating_pow(power))));
        let step = steps.into_iter().find(|&step| (last - first) / step < 10).unwrap_or(1);
        let ticks = (first.div_ceil(step) * step..=last)
            .step_by(step)
            .map(|e| e as f64)
            .collect();
        let pad = (step as f64 * 0.3).max((last - first) as f64 * 0.02);
        EpochAxis {
            shown: (first as f64 - pad)..(last as f64 + pad),
            ticks,
        }
    }
}

impl Ranged for EpochAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, (from, to): (i32, i32)) -> i32 {
        let fraction = (value - self.shown.start) / (self.shown.end - self.shown.start);
        from + (fraction * f64::from(to - from)).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.shown.clone()
    }
}

/// The y range showing every point with a margin, kept inside `clamp` when given.
fn value_range(curves: &[Curve], clamp: Option<(f64, f64)>) -> Range<f64> {
    let values = curves.iter().flat_map(|c| c.points.iter().map(|&(_, v)| v));
    let (mut low, mut high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if !low.is_finite() {
        (low, high) = (0.0, 1.0);
    }
    let span = high - low;
    let margin = if span > 0.0 {
        span * 0.08
    } else {
        low.abs().max(1.0) * 0.05
    };
    (low, high) = (low - margin, high + margin);
    if let Some((min, max)) = clamp {
        (low, high) = (low.max(min), high.min(max));
    }
    low..high
}

/// Decimals that tell apart ticks over a range of `span`.
fn decimals(span: f64) -> usize {
    let step = span / 5.0;
    if step >= 1.0 || step <= 0.0 || !step.is_finite() {
        0
    } else {
        (-step.log10()).ceil().min(6.0) as usize
    }
}

/// One chart: a caption, axes with labels, curves with markers, the best epoch, a legend.
struct Panel {
    caption: &'static str,
    y_label: &'static str,
    curves: Vec<Curve>,
    /// Where the curves usually leave room: above falling losses, below rising accuracy.
    legend_at_top: bool,
    /// Bounds the y axis never goes past (accuracy stays within 0 and 100 %).
    clamp: Option<(f64, f64)>,
}

impl Panel {
    fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        x_axis: EpochAxis,
        best_epoch: Option<usize>,
    ) -> std::result::Result<(), String> {
        let text = |size: f64| (FAMILY, size).into_font().color(&BLACK);
        let failed = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        let y_range = value_range(&self.curves, self.clamp);
        let y_decimals = decimals(y_range.end - y_range.start);
        let x_shown = x_axis.shown.clone();

        let mut chart = ChartBuilder::on(area)
            .caption(self.caption, text(16.0))
            .margin_left(10)
            .margin_right(25)
            .margin_bottom(10)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(x_axis, y_range.clone())
            .map_err(failed)?;
        let y_formatter = |v: &f64| format!("{v:.y_decimals$}");
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .x_label_formatter(&|epoch: &f64| format!("{epoch:.0}"))
            .y_labels(6)
            .y_label_formatter(&y_formatter)
            .label_style(text(12.0))
            .axis_desc_style(text(14.0))
            .x_desc("epoch")
            .y_desc(self.y_label)
            .draw()
            .map_err(failed)?;

        if let Some(best) = best_epoch.filter(|&b| x_shown.contains(&(b as f64))) {
            let style = BEST.stroke_width(1);
            let line = [(best as f64, y_range.start), (best as f64, y_range.end)];
            chart
                .draw_series(DashedLineSeries::new(line, 6, 4, style))
                .map_err(failed)?
                .label(format!("best epoch {best}"))
                .legend(move |(x, y)| {
                    EmptyElement::at((x, y))
                        + PathElement::new(vec![(0, 0), (6, 0)], style)
                        + PathElement::new(vec![(10, 0), (16, 0)], style)
                });
        }
        for curve in self.curves.iter().filter(|c| !c.points.is_empty()) {
            let style = curve.color.stroke_width(2);
            chart
                .draw_series(LineSeries::new(curve.points.iter().copied(), style))
                .map_err(failed)?
                .label(curve.label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
            if curve.points.len() <= 50 {
                let color = curve.color;
                chart
                    .draw_series(curve.points.iter().map(|&p| Circle::new(p, 3, color.filled())))
                    .map_err(failed)?;
            }
        }
        chart
            .configure_series_labels()
            .position(if self.legend_at_top {
                SeriesLabelPosition::UpperRight
            } else {
                SeriesLabelPosition::LowerRight
            })
            .margin(8)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(190, 190, 190))
            .label_font(text(13.0))
            .draw()
            .map_err(failed)?;
        Ok(())
    }
}
