//! `TrainReport::plot`: PNG and SVG pictures of a training history, and its errors.
#![cfg(feature = "plot")]

use nn::train::{EpochReport, TrainReport};

/// Ten epochs of a classifier: falling losses, rising accuracy, best at epoch 8.
fn classifier_history() -> TrainReport {
    let mut report = TrainReport::default();
    for epoch in 1..=10 {
        let t = epoch as f32;
        report.epochs.push(EpochReport {
            epoch,
            train_loss: 0.9 / t,
            valid_loss: Some(0.15 + 0.3 / t),
            valid_accuracy: Some(0.95 - 0.1 / t),
            seconds: 0.25,
        });
    }
    report.best_epoch = Some(8);
    report
}

/// Width and height from a PNG's IHDR chunk, after checking the signature.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.len() > 24, "a PNG is longer than {} bytes", bytes.len());
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR", "the first chunk is IHDR");
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    (width, height)
}

#[test]
fn png_has_the_signature_and_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("curves.png");
    classifier_history().plot(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(png_size(&bytes), (900, 400));
    assert!(bytes.len() < 100_000, "the picture stays small: {} bytes", bytes.len());
    assert!(bytes.ends_with(b"IEND\xae\x42\x60\x82"), "the PNG is complete");
    // Written atomically: nothing but the picture is left in the directory.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["curves.png"]);
}

#[test]
fn png_draws_text_and_curves_in_colour() {
    // The picture is not blank: decoded, it holds the curves' colours and dark text pixels.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("curves.PNG");
    classifier_history().plot(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let pixels = decode_rgb(&bytes);
    let count = |rgb: [u8; 3]| pixels.chunks_exact(3).filter(|p| **p == rgb).count();
    assert!(count([31, 119, 180]) > 200, "train loss in blue");
    assert!(count([255, 127, 14]) > 200, "valid loss in orange");
    assert!(count([44, 160, 44]) > 200, "valid accuracy in green");
    assert!(count([0, 0, 0]) > 500, "black text and axes");
}

/// The RGB pixels of a PNG (through the zlib stream of its IDAT chunks and its filters).
fn decode_rgb(bytes: &[u8]) -> Vec<u8> {
    let (width, height) = png_size(bytes);
    assert_eq!((bytes[24], bytes[25]), (8, 2), "8-bit RGB");
    let mut data = Vec::new();
    let mut at = 8;
    while at + 8 <= bytes.len() {
        let length = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        if &bytes[at + 4..at + 8] == b"IDAT" {
            data.extend_from_slice(&bytes[at + 8..at + 8 + length]);
        }
        at += 12 + length;
    }
    let mut raw = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::ZlibDecoder::new(&data[..]), &mut raw).unwrap();
    let stride = width as usize * 3;
    assert_eq!(raw.len(), (stride + 1) * height as usize);
    let mut out = vec![0u8; stride * height as usize];
    for row in 0..height as usize {
        let filter = raw[row * (stride + 1)];
        let line = &raw[row * (stride + 1) + 1..(row + 1) * (stride + 1)];
        for i in 0..stride {
            let a = if i >= 3 { out[row * stride + i - 3] } else { 0 };
            let b = if row > 0 { out[(row - 1) * stride + i] } else { 0 };
            let c = if row > 0 && i >= 3 {
                out[(row - 1) * stride + i - 3]
            } else {
                0
            };
            let predictor = match filter {
                0 => 0,
                1 => a,
                2 => b,
                3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                4 => {
                    let p = i16::from(a) + i16::from(b) - i16::from(c);
                    let (pa, pb, pc) = (
                        (p - i16::from(a)).abs(),
                        (p - i16::from(b)).abs(),
                        (p - i16::from(c)).abs(),
                    );
                    if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    }
                }
                other => panic!("unknown PNG filter {other}"),
            };
            out[row * stride + i] = line[i].wrapping_add(predictor);
        }
    }
    out
}

/// The contents of an SVG's `<text>` elements, trimmed.
fn svg_texts(svg: &str) -> Vec<&str> {
    svg.split("<text")
        .skip(1)
        .filter_map(|element| Some(element.split_once('>')?.1.split_once("</text>")?.0.trim()))
        .collect()
}

#[test]
fn svg_holds_the_title_panels_axis_labels_and_legend() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("curves.svg");
    classifier_history().plot(&path).unwrap();
    let svg = std::fs::read_to_string(&path).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(80)]);
    assert!(svg.contains(r#"width="900""#) && svg.contains(r#"height="400""#));
    assert!(svg.trim_end().ends_with("</svg>"));
    let texts = svg_texts(&svg);
    for text in [
        "Training history: 10 epochs, best epoch 8",
        "Loss",
        "Validation accuracy",
        "epoch",
        "loss",
        "accuracy (%)",
        "train loss",
        "valid loss",
        "valid accuracy",
        "best epoch 8",
    ] {
        assert!(texts.contains(&text), "the SVG shows {text:?}: {texts:?}");
    }
    // Every epoch is a tick on both x axes.
    for epoch in 1..=10 {
        let tick = epoch.to_string();
        assert_eq!(
            texts.iter().filter(|t| **t == tick).count(),
            2,
            "tick {tick}: {texts:?}"
        );
    }
}

#[test]
fn missing_figures_leave_their_curves_out() {
    // A regression history: training loss only, no validation, no best epoch, stopped early.
    let mut report = TrainReport::default();
    for epoch in 1..=3 {
        report.epochs.push(EpochReport {
            epoch,
            train_loss: 10.0 / epoch as f32,
            valid_loss: None,
            valid_accuracy: None,
            seconds: 0.1,
        });
    }
    report.stopped_early = true;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("loss.svg");
    report.plot(&path).unwrap();
    let svg = std::fs::read_to_string(&path).unwrap();
    let texts = svg_texts(&svg);
    assert!(
        texts.contains(&"Training history: 3 epochs, stopped early"),
        "{texts:?}"
    );
    assert!(texts.contains(&"train loss") && texts.contains(&"Loss"), "{texts:?}");
    for absent in ["valid loss", "Validation accuracy", "valid accuracy", "best epoch"] {
        assert!(!svg.contains(absent), "no {absent} without its figures: {texts:?}");
    }
    report.plot(dir.path().join("loss.png")).unwrap();
}

#[test]
fn a_single_epoch_and_non_finite_figures_still_plot() {
    let mut report = TrainReport::default();
    report.epochs.push(EpochReport {
        epoch: 1,
        train_loss: f32::NAN,
        valid_loss: Some(f32::INFINITY),
        valid_accuracy: Some(1.0),
        seconds: 0.1,
    });
    report.best_epoch = Some(1);
    let dir = tempfile::tempdir().unwrap();
    report.plot(dir.path().join("one.png")).unwrap();
    let svg_path = dir.path().join("one.svg");
    report.plot(&svg_path).unwrap();
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    assert!(svg_texts(&svg).contains(&"Training history: 1 epoch, best epoch 1"));
}

#[test]
fn the_extension_must_be_png_or_svg() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["curves.jpg", "curves", "curves.png.txt"] {
        let path = dir.path().join(name);
        let error = classifier_history().plot(&path).unwrap_err();
        assert!(matches!(error, nn::Error::InvalidArgument(_)), "{error:?}");
        let message = error.to_string();
        assert!(
            message.contains(&path.display().to_string()),
            "names the path: {message}"
        );
        assert!(message.contains(".png or .svg"), "says what is accepted: {message}");
        assert!(!path.exists());
    }
}

#[test]
fn an_empty_history_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("curves.png");
    let error = TrainReport::default().plot(&path).unwrap_err();
    assert!(matches!(error, nn::Error::InvalidArgument(_)), "{error:?}");
    assert!(error.to_string().contains("no epoch"), "{error}");
    assert!(!path.exists());
}

#[test]
fn a_missing_directory_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no/such/dir/curves.svg");
    let error = classifier_history().plot(&path).unwrap_err();
    assert!(matches!(error, nn::Error::Io { .. }), "{error:?}");
}
