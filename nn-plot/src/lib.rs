//! The drawing half of `nn::train::TrainReport::plot`: training and validation curves as PNG or
//! SVG, drawn with plotters and the bundled DejaVu Sans (pure-Rust text rendering: no system
//! font libraries are needed).
//!
//! A crate of its own, not a module of `nn-runtime`, so that its compilation (plotters' generic
//! chart code, about half of what `nn-runtime` took) runs in parallel with `nn-runtime`'s instead
//! of before the examples that need both (docs/decisions.md, "Build time"). Use it through
//! `TrainReport::plot`.

use std::fmt;
use std::ops::Range;
use std::sync::Once;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{register_font, FontFamily, FontStyle, RGBColor};

/// The figures of one epoch that the picture shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Epoch {
    /// The epoch, counted from 1.
    pub epoch: usize,
    /// Mean training loss.
    pub train_loss: f32,
    /// Mean validation loss, if measured.
    pub valid_loss: Option<f32>,
    /// Validation accuracy in `[0, 1]`, if measured.
    pub valid_accuracy: Option<f32>,
}

/// A training history to draw.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// One entry per epoch, in order; at least one.
    pub epochs: Vec<Epoch>,
    /// The epoch marked with a dashed line, if any.
    pub best_epoch: Option<usize>,
    /// Whether early stopping ended training (said in the title).
    pub stopped_early: bool,
}

/// Why a picture could not be made.
#[derive(Debug)]
pub enum Error {
    /// plotters failed to draw (none is expected).
    Draw(String),
    /// The PNG encoder failed (none is expected: it writes to memory).
    Png(std::io::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Draw(problem) => write!(f, "could not draw the plot: {problem}"),
            Error::Png(error) => write!(f, "PNG encoding: {error}"),
        }
    }
}

impl std::error::Error for Error {}

/// Width and height of the picture, in pixels.
const SIZE: (u32, u32) = (900, 400);

const TRAIN: RGBColor = RGBColor(31, 119, 180);
const VALID: RGBColor = RGBColor(255, 127, 14);
const ACCURACY: RGBColor = RGBColor(44, 160, 44);
const BEST: RGBColor = RGBColor(120, 120, 120);
const GRID: RGBColor = RGBColor(232, 232, 232);

/// DejaVu Sans, cut down to Latin-1 (see `assets/DejaVuSans-LICENSE.txt`).
static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

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

/// The history as a PNG file's bytes, 900x400 pixels.
///
/// # Errors
///
/// [`Error`] if drawing or encoding fails (none is expected).
pub fn png(history: &History) -> Result<Vec<u8>, Error> {
    register_bundled_font();
    let (width, height) = SIZE;
    let mut pixels = vec![0u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, SIZE).into_drawing_area();
        draw(history, &root).map_err(Error::Draw)?;
        root.present().map_err(|e| Error::Draw(e.to_string()))?;
    }
    encode_png(&pixels, SIZE).map_err(Error::Png)
}

/// The history as an SVG document, 900x400, naming the font `sans-serif`.
///
/// # Errors
///
/// [`Error::Draw`] if drawing fails (none is expected).
pub fn svg(history: &History) -> Result<String, Error> {
    register_bundled_font();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        draw(history, &root).map_err(Error::Draw)?;
        root.present().map_err(|e| Error::Draw(e.to_string()))?;
    }
    Ok(svg)
}

/// An RGB buffer as a PNG file's bytes: 8-bit RGB, not interlaced, one zlib stream in one
/// IDAT chunk.
///
/// Written here rather than with the `png` crate, which with its own deflate code (fdeflate and
/// a second miniz_oxide) was an eighth of a clean build's compile time; `flate2` is compiled
/// anyway (gzip MNIST files). Every row has filter type 0 (none): on these flat-coloured
/// pictures that gives a smaller file than the `png` crate did (26 kB against 30 kB, the same
/// pixels) and costs nothing, which matters because this crate is built at opt-level 0.
fn encode_png(pixels: &[u8], (width, height): (u32, u32)) -> Result<Vec<u8>, std::io::Error> {
    use std::io::Write;

    let stride = width as usize * 3;
    let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    for row in pixels.chunks_exact(stride).take(height as usize) {
        zlib.write_all(&[0])?;
        zlib.write_all(row)?;
    }
    let data = zlib.finish()?;

    let mut header = Vec::with_capacity(13);
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    // Bit depth 8, colour type 2 (RGB), deflate, filtering method 0, no interlace.
    header.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut out = Vec::with_capacity(data.len() + 64);
    out.extend_from_slice(b"\x89PNG\r\n\x1a\n");
    for (kind, body) in [(b"IHDR", &header[..]), (b"IDAT", &data[..]), (b"IEND", &[][..])] {
        let length = u32::try_from(body.len()).map_err(std::io::Error::other)?;
        out.extend_from_slice(&length.to_be_bytes());
        let mut crc = crc32fast::Hasher::new();
        crc.update(kind);
        crc.update(body);
        out.extend_from_slice(kind);
        out.extend_from_slice(body);
        out.extend_from_slice(&crc.finalize().to_be_bytes());
    }
    Ok(out)
}

/// One curve: its legend entry, colour and finite points.
struct Curve {
    label: &'static str,
    color: RGBColor,
    points: Vec<(f64, f64)>,
}

impl Curve {
    fn new(label: &'static str, color: RGBColor, history: &History, figure: fn(&Epoch) -> Option<f64>) -> Self {
        let points = history
            .epochs
            .iter()
            .filter_map(|e| figure(e).filter(|v| v.is_finite()).map(|v| (e.epoch as f64, v)))
            .collect();
        Curve { label, color, points }
    }
}

/// Draws the whole picture on `root`.
fn draw<DB: DrawingBackend>(history: &History, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
    let text = |size: f64| (FAMILY, size).into_font().color(&BLACK);
    root.fill(&WHITE).map_err(|e| e.to_string())?;

    let epochs = history.epochs.len();
    let mut title = format!("Training history: {epochs} epoch{}", if epochs == 1 { "" } else { "s" });
    if let Some(best) = history.best_epoch {
        title.push_str(&format!(", best epoch {best}"));
    }
    if history.stopped_early {
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
            Curve::new("train loss", TRAIN, history, |e| Some(f64::from(e.train_loss))),
            Curve::new("valid loss", VALID, history, |e| e.valid_loss.map(f64::from)),
        ],
        legend_at_top: true,
        clamp: None,
    };
    let accuracy = Panel {
        caption: "Validation accuracy",
        y_label: "accuracy (%)",
        curves: vec![Curve::new("valid accuracy", ACCURACY, history, |e| {
            e.valid_accuracy.map(|a| f64::from(a) * 100.0)
        })],
        legend_at_top: false,
        clamp: Some((0.0, 100.0)),
    };

    let x_axis = EpochAxis::new(history);
    if accuracy.curves[0].points.is_empty() {
        loss.draw(&body, x_axis, history.best_epoch)
    } else {
        let (left, right) = body.split_horizontally(SIZE.0 / 2);
        loss.draw(&left, x_axis.clone(), history.best_epoch)?;
        accuracy.draw(&right, x_axis, history.best_epoch)
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
    fn new(history: &History) -> Self {
        let first = history.epochs.iter().map(|e| e.epoch).min().unwrap_or(0);
        let last = history.epochs.iter().map(|e| e.epoch).max().unwrap_or(0);
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
    ) -> Result<(), String> {
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
