//! The IDX format of the MNIST files, raw or gzip-compressed.
//!
//! An IDX file is a 4-byte magic number (`0x00 0x00 0x08 <rank>` for unsigned bytes), one
//! big-endian `u32` per dimension, then the values row-major.

use std::borrow::Cow;
use std::io::Read;
use std::path::Path;

use crate::{Error, Result};

/// The first two bytes of every gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// IDX type code for unsigned bytes, the only type MNIST uses.
const UNSIGNED_BYTE: u8 = 0x08;

/// Reads an IDX image file (`idx3-ubyte`, raw or `.gz`) into `[[f32; W]; H]` images with
/// pixels scaled to `[0, 1]` (`byte / 255`, as torchvision's `ToTensor`).
///
/// The file's height and width must be `H` and `W`; anything else is an [`Error::Format`]
/// naming the file.
pub fn read_idx_images<const H: usize, const W: usize>(path: &Path) -> Result<Vec<[[f32; W]; H]>> {
    let bytes = read_maybe_gzip(path)?;
    images_from_bytes(&bytes, path)
}

/// Reads an IDX label file (`idx1-ubyte`, raw or `.gz`) into class indices.
pub fn read_idx_labels(path: &Path) -> Result<Vec<usize>> {
    let bytes = read_maybe_gzip(path)?;
    labels_from_bytes(&bytes, path)
}

/// Decodes image bytes (already decompressed); `path` only names the source in errors.
pub(crate) fn images_from_bytes<const H: usize, const W: usize>(
    bytes: &[u8],
    path: &Path,
) -> Result<Vec<[[f32; W]; H]>> {
    let (dims, pixels) = parse(bytes, 3, path)?;
    let [count, height, width] = [dims[0], dims[1], dims[2]];
    if height == 0 || width == 0 {
        return Err(Error::format(
            path,
            format!("the header announces images of {height}x{width} pixels; an image needs at least one pixel"),
        ));
    }
    if (height, width) != (H, W) {
        return Err(Error::format(
            path,
            format!("images are {height}x{width}, but {H}x{W} images were expected"),
        ));
    }
    Ok(pixels
        .chunks_exact(H * W)
        .take(count)
        .map(|image| {
            let mut out = [[0.0; W]; H];
            for (value, &byte) in out.as_flattened_mut().iter_mut().zip(image) {
                *value = f32::from(byte) / 255.0;
            }
            out
        })
        .collect())
}

/// Decodes label bytes (already decompressed); `path` only names the source in errors.
pub(crate) fn labels_from_bytes(bytes: &[u8], path: &Path) -> Result<Vec<usize>> {
    let (_, labels) = parse(bytes, 1, path)?;
    Ok(labels.iter().map(|&label| usize::from(label)).collect())
}

/// Reads a file, decompressing it if it starts with the gzip magic number.
fn read_maybe_gzip(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|source| Error::io(path, source))?;
    Ok(decompress_if_gzip(&raw, path)?.into_owned())
}

/// Bytes a gzip stream may inflate to beyond what its IDX header announces before it is
/// rejected (room for the trailing bytes some writers add).
const GZIP_SLACK: u64 = 4096;

/// The largest ratio of inflated to compressed size deflate can reach (about 1032:1): no
/// valid stream inflates further, so a header announcing more is bounded by this instead.
const DEFLATE_MAX_RATIO: u64 = 1032;

/// Returns `bytes` decompressed if they are a gzip stream, unchanged otherwise.
///
/// The stream is inflated with a bound, never whole: its IDX header is read first, and the
/// stream may inflate to at most the header and the data it announces (and [`GZIP_SLACK`]
/// bytes); one that inflates to more is an error, so a small hostile file cannot fill memory.
pub(crate) fn decompress_if_gzip<'a>(bytes: &'a [u8], path: &Path) -> Result<Cow<'a, [u8]>> {
    if !bytes.starts_with(&GZIP_MAGIC) {
        return Ok(Cow::Borrowed(bytes));
    }
    let invalid = |error: std::io::Error| Error::format(path, format!("not a valid gzip file: {error}"));
    let mut decoder = flate2::read::GzDecoder::new(bytes);
    // The magic number (whose last byte is the rank), then the dimensions: read whatever of
    // them there is, `parse` reports a short or wrong header.
    let mut out = Vec::new();
    (&mut decoder).take(4).read_to_end(&mut out).map_err(invalid)?;
    let rank = out.get(3).copied().map_or(0, u64::from);
    (&mut decoder).take(4 * rank).read_to_end(&mut out).map_err(invalid)?;
    let announced = out
        .get(4..)
        .unwrap_or_default()
        .chunks_exact(4)
        .map(|be| u64::from(u32::from_be_bytes([be[0], be[1], be[2], be[3]])))
        .try_fold(1u64, u64::checked_mul)
        .unwrap_or(u64::MAX);
    let limit = announced
        .min((bytes.len() as u64).saturating_mul(DEFLATE_MAX_RATIO))
        .saturating_add(GZIP_SLACK);
    let header = out.len() as u64;
    (&mut decoder)
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(invalid)?;
    let data = out.len() as u64 - header;
    if data > limit {
        return Err(Error::format(
            path,
            format!(
                "the gzip stream inflates to more than the {announced} data bytes its IDX header \
                 announces (reading stopped after {limit}); the file is corrupt or not an IDX file"
            ),
        ));
    }
    Ok(Cow::Owned(out))
}

/// Checks the header of an unsigned-byte IDX file of the given rank; returns its dimensions
/// and exactly the data bytes they describe.
fn parse<'a>(bytes: &'a [u8], rank: u8, path: &Path) -> Result<(Vec<usize>, &'a [u8])> {
    let header_len = 4 + 4 * usize::from(rank);
    if bytes.len() < header_len {
        return Err(Error::format(
            path,
            format!(
                "truncated: {} bytes, shorter than the {header_len}-byte IDX header",
                bytes.len()
            ),
        ));
    }
    let expected_magic = [0, 0, UNSIGNED_BYTE, rank];
    if bytes[..4] != expected_magic {
        return Err(Error::format(
            path,
            format!(
                "wrong magic number {:02x?}: an IDX file of rank {rank} holding bytes starts with {:02x?}",
                &bytes[..4],
                expected_magic
            ),
        ));
    }
    let dims: Vec<usize> = bytes[4..header_len]
        .chunks_exact(4)
        .map(|be| u32::from_be_bytes([be[0], be[1], be[2], be[3]]) as usize)
        .collect();
    let data_len = dims.iter().try_fold(1usize, |acc, &dim| acc.checked_mul(dim));
    let data = &bytes[header_len..];
    match data_len {
        Some(len) if len <= data.len() => Ok((dims, &data[..len])),
        _ => Err(Error::format(
            path,
            format!(
                "truncated: the header announces dimensions {dims:?} but only {} data bytes follow",
                data.len()
            ),
        )),
    }
}
