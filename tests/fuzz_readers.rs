//! Generated hostile inputs for the three readers of outside files: safetensors, IDX (raw and
//! gzip) and CSV (issue 16, "fuzzing"). Each case starts from a valid file and mutates it
//! (bit flips, extreme header values, truncation, insertion, duplication; for CSV also texts
//! built from a grammar of awkward values), then reads it. A case passes if the reader returns
//! (a value or an error) without panicking or aborting, and the memory it held at its peak stays
//! within a bound proportional to the input's size.
//!
//! `cargo test` runs a few hundred cases per reader (about a second). A long run:
//!
//! ```text
//! TMPDIR=/dev/shm FUZZ_CASES=1000000 cargo test --release --test fuzz_readers -- --nocapture --test-threads 1
//! ```
//!
//! Each case is written to a file and read back through the public path-taking readers: on a
//! disk-backed `/tmp` that costs about 3 ms a case, on `/dev/shm` (memory) 0.15 ms, so the
//! long run takes minutes instead of hours there. A failing case prints its number; `FUZZ_FIRST=<number> FUZZ_CASES=1` replays it alone.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use nn::data::Csv;
use nn::prelude::*;
use nn::Rng;

/// The system allocator, keeping the bytes live now and the most live since the last reset.
struct PeakAllocator;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

#[allow(unsafe_code)]
// SAFETY: every call is forwarded unchanged to the system allocator; the counters are atomics.
unsafe impl GlobalAlloc for PeakAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size >= layout.size() {
            let live = LIVE.fetch_add(new_size - layout.size(), Ordering::Relaxed) + new_size - layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        } else {
            LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: PeakAllocator = PeakAllocator;

/// One reader at a time: the peak is process-wide.
static SERIAL: Mutex<()> = Mutex::new(());

network! {
    struct Tiny: [2] => Linear<2, 3> -> ReLU -> fc: Linear<3, 2>
}

fn cases() -> (u64, u64) {
    let read = |name: &str, default: u64| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    (read("FUZZ_FIRST", 0), read("FUZZ_CASES", 300))
}

/// Mutates `bytes` in one to four random ways.
fn mutate(rng: &mut Rng, bytes: &mut Vec<u8>) {
    const EXTREMES: [u32; 6] = [0, 1, 0xFFFF_FFFF, 0x7FFF_FFFF, 0x0100_0000, 65_536];
    for _ in 0..1 + rng.below(4) {
        let len = bytes.len();
        match rng.below(7) {
            0 if len > 0 => {
                let at = rng.below(len);
                bytes[at] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let at = rng.below(len);
                bytes[at] = [0, 0xFF, b'9', b'"', b',', b'\n', rng.below(256) as u8][rng.below(7)];
            }
            2 => bytes.truncate(rng.below(len + 1)),
            3 => {
                let at = rng.below(len + 1);
                let extra: Vec<u8> = (0..1 + rng.below(16)).map(|_| rng.below(256) as u8).collect();
                bytes.splice(at..at, extra);
            }
            4 if len >= 4 => {
                // An extreme big-endian u32: a dimension or a count in an IDX header.
                let at = rng.below(len.min(20) - 3);
                bytes[at..at + 4].copy_from_slice(&EXTREMES[rng.below(EXTREMES.len())].to_be_bytes());
            }
            5 if len > 0 => {
                let start = rng.below(len);
                let end = (start + 1 + rng.below(64)).min(len);
                let copy = bytes[start..end].to_vec();
                let at = rng.below(len + 1);
                bytes.splice(at..at, copy);
            }
            _ => {
                // A digit changed or inserted: a shape, an offset or a header length in text.
                let digits: Vec<usize> = (0..len.min(400)).filter(|&i| bytes[i].is_ascii_digit()).collect();
                if !digits.is_empty() {
                    let at = digits[rng.below(digits.len())];
                    if rng.below(2) == 0 {
                        bytes[at] = b'0' + rng.below(10) as u8;
                    } else {
                        bytes.splice(at..at, b"99999999999".iter().copied());
                    }
                }
            }
        }
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Runs `read` on every case `make` builds, failing on a panic or on a peak of live memory
/// above `ratio` times the case's size (as `size` measures it) plus `fixed` bytes; returns the
/// largest ratio of peak to size seen (sizes under 4 KiB counted as 4 KiB), for the report.
fn fuzz(
    reader: &str,
    ratio: usize,
    fixed: usize,
    mut make: impl FnMut(&mut Rng) -> Vec<u8>,
    size: impl Fn(&[u8]) -> usize,
    read: impl Fn(&[u8]),
) -> f64 {
    let _serial = SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let (first, count) = cases();
    let (mut worst, mut largest) = (0.0f64, 0usize);
    for case in first..first + count {
        let mut rng = Rng::seed(case.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ reader.len() as u64);
        let input = make(&mut rng);
        let size = size(&input).max(1);
        let baseline = LIVE.load(Ordering::Relaxed);
        PEAK.store(baseline, Ordering::Relaxed);
        let outcome = catch_unwind(AssertUnwindSafe(|| read(&input)));
        let peak = PEAK.load(Ordering::Relaxed).saturating_sub(baseline);
        assert!(
            outcome.is_ok(),
            "{reader}: case {case} panicked on {} bytes: {:02x?}",
            input.len(),
            &input[..input.len().min(64)]
        );
        assert!(
            peak <= ratio * size + fixed,
            "{reader}: case {case} held {peak} bytes for an input of {size} bytes"
        );
        // Small inputs cost the readers' fixed buffers (a gzip window, the CSV reader's 8 KiB):
        // the ratio is taken over at least 4 KiB.
        worst = worst.max(peak as f64 / size.max(4096) as f64);
        largest = largest.max(peak);
    }
    eprintln!(
        "{reader}: {count} cases from {first}, no panic; peak memory at most {worst:.1}x the input \
         (inputs under 4 KiB counted as 4 KiB), {largest} bytes at most"
    );
    worst
}

/// Writes `bytes` to a file of this thread's own in the temporary directory.
fn scratch(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("nn-fuzz-{}-{name}", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Bytes a gzip stream inflates to (the first 256 MiB at most), or the input's size if it is
/// not one: what a reader of it may fairly hold.
fn inflated_size(bytes: &[u8]) -> usize {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return bytes.len();
    }
    let mut decoder = flate2::read::GzDecoder::new(bytes);
    let mut sink = std::io::sink();
    let inflated = std::io::copy(&mut std::io::Read::take(&mut decoder, 256 << 20), &mut sink).unwrap_or(0);
    bytes.len().max(inflated as usize)
}

fn idx_header(dims: &[u32]) -> Vec<u8> {
    let mut bytes = vec![0, 0, 0x08, dims.len() as u8];
    dims.iter().for_each(|d| bytes.extend(d.to_be_bytes()));
    bytes
}

#[test]
fn safetensors_reader() {
    let dir = tempfile::tempdir().unwrap();
    let valid = dir.path().join("tiny.safetensors");
    Tiny::init(1).save(&valid).unwrap();
    let valid = std::fs::read(&valid).unwrap();
    fuzz(
        "safetensors",
        32,
        1 << 20,
        |rng| {
            let mut bytes = valid.clone();
            mutate(rng, &mut bytes);
            bytes
        },
        <[u8]>::len,
        |bytes| {
            let path = scratch("tiny.safetensors", bytes);
            let _ = Tiny::load(&path);
            let mut net = Tiny::init(0);
            let options = nn::io::LoadOptions::partial().replace_prefix("fc.", "0.");
            let _ = net.load_from(&path, &options);
        },
    );
}

#[test]
fn idx_reader_raw_and_gzip() {
    let mut images = idx_header(&[3, 28, 28]);
    images.extend((0..3 * 784).map(|i| (i % 256) as u8));
    let mut labels = idx_header(&[3]);
    labels.extend([7, 2, 1]);
    fuzz(
        "idx",
        // The images as f32 (4 bytes per pixel) beside the bytes they came from.
        16,
        1 << 20,
        |rng| {
            let mut bytes = if rng.below(2) == 0 {
                images.clone()
            } else {
                labels.clone()
            };
            match rng.below(3) {
                0 => mutate(rng, &mut bytes),
                1 => {
                    mutate(rng, &mut bytes);
                    bytes = gzip(&bytes);
                }
                _ => {
                    bytes = gzip(&bytes);
                    mutate(rng, &mut bytes);
                }
            }
            bytes
        },
        inflated_size,
        |bytes| {
            let path = scratch("images.idx", bytes);
            let _ = nn::data::read_idx_images::<28, 28>(&path);
            let _ = nn::data::read_idx_images::<1, 1>(&path);
            let _ = nn::data::read_idx_labels(&path);
        },
    );
}

/// A CSV text from a grammar of awkward values: numbers of every size, huge class indices,
/// names, quotes, blank lines, missing and extra fields.
fn csv_text(rng: &mut Rng) -> String {
    const VALUES: [&str; 16] = [
        "0",
        "1",
        "2.5",
        "-3e7",
        "nan",
        "inf",
        "",
        "\"a, b\"",
        "\"\"\"\"",
        "apple",
        "65535",
        "65536",
        "100000000000",
        "18446744073709551615",
        "18446744073709551616",
        "1e39",
    ];
    let mut text = String::from(["a,b,label", "a,b,label,extra", "a,a,label", "", "label"][rng.below(5)]);
    for _ in 0..rng.below(12) {
        text.push(['\n', '\n', '\n', '\r'][rng.below(4)]);
        let fields = [3, 3, 3, 2, 4][rng.below(5)];
        let row: Vec<&str> = (0..fields).map(|_| VALUES[rng.below(VALUES.len())]).collect();
        text.push_str(&row.join(","));
    }
    if rng.below(2) == 0 {
        text.push('\n');
    }
    text
}

#[test]
fn csv_loader() {
    fuzz(
        "csv",
        // Each row is a `csv::StringRecord` (its fields and their bounds) and a line number:
        // about 200 bytes for a row of a few bytes. A label of 65535 makes 65,536 class names
        // ("0" to "65535", `MAX_CLASSES`), about 2 MiB whatever the input's size.
        256,
        4 << 20,
        |rng| {
            let mut bytes = csv_text(rng).into_bytes();
            if rng.below(2) == 0 {
                mutate(rng, &mut bytes);
            }
            bytes
        },
        <[u8]>::len,
        |bytes| {
            let path = scratch("table.csv", bytes);
            for table in [
                Csv::read(&path),
                Csv::from_text("table.csv", &String::from_utf8_lossy(bytes)),
            ] {
                let Ok(table) = table else { continue };
                let _ = table.classification(["a", "b"], "label");
                let _ = table.classification_with(["a"], "label", &["apple", "0"]);
                let _ = table.regression(["a"], ["b"]);
                let _ = table.columns_except::<2>(&["label"]);
            }
        },
    );
}

#[test]
fn the_fuzzer_catches_what_it_is_for() {
    // The bound and the panic check can fail: a reader that holds 100 MiB for a small input,
    // or one that panics, is reported.
    let holds_too_much = catch_unwind(|| {
        fuzz(
            "self-check",
            16,
            1 << 20,
            |_| vec![0; 10],
            <[u8]>::len,
            |_| drop(std::hint::black_box(vec![1u8; 100 << 20])),
        )
    });
    assert!(holds_too_much.is_err());
    let panics = catch_unwind(|| {
        fuzz(
            "self-check",
            16,
            1 << 20,
            |_| vec![0; 10],
            <[u8]>::len,
            |_| panic!("boom"),
        )
    });
    assert!(panics.is_err());
}
