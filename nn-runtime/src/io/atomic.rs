//! Writing a file so that a crash never leaves a half-written file in place of a good one.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Error, Result};

/// Temporary files created by this process so far: with the process id, a name no other save
/// (another thread of this process, or another process) is using at the same time.
static TEMPORARIES: AtomicU64 = AtomicU64::new(0);

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename: the
/// file at `path` is either the old one or the new one, never a mix, even after a power cut.
///
/// The temporary file (`.name.<pid>.<n>.tmp`, `n` counting this process's saves) is unique to
/// the call, so threads saving the same path at once do not collide: each rename is atomic and
/// the last one wins. The data is flushed to the disk (`fsync`) before the rename, and on Unix
/// the directory after it, so the new name never points at an empty file. Errors name `path`,
/// not the temporary file; a failed save removes its temporary file.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("nn-atomic-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("notes.txt");
/// nn_runtime::io::write_atomically(&path, b"first").unwrap();
/// nn_runtime::io::write_atomically(&path, b"second").unwrap();
/// assert_eq!(std::fs::read(&path).unwrap(), b"second");
/// let error = nn_runtime::io::write_atomically(&dir.join("no/such/dir/x.txt"), b"").unwrap_err();
/// assert!(error.to_string().starts_with(&dir.join("no/such/dir/x.txt").display().to_string()));
/// std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let file_name = path.file_name().ok_or_else(|| Error::format(path, "not a file path"))?;
    let mut temporary_name = std::ffi::OsString::from(".");
    temporary_name.push(file_name);
    temporary_name.push(format!(
        ".{}.{}.tmp",
        std::process::id(),
        TEMPORARIES.fetch_add(1, Ordering::Relaxed)
    ));
    let temporary = Temporary(path.with_file_name(temporary_name));
    let mut file = File::options()
        .write(true)
        .create_new(true)
        .open(&temporary.0)
        .map_err(|source| Error::io(path, source))?;
    let (first, rest) = bytes.split_at(bytes.len() / 2);
    file.write_all(first)
        .and_then(|()| {
            pause_for_tests();
            file.write_all(rest)
        })
        .and_then(|()| file.sync_all())
        .map_err(|source| Error::io(path, source))?;
    drop(file);
    std::fs::rename(&temporary.0, path).map_err(|source| Error::io(path, source))?;
    std::mem::forget(temporary);
    sync_directory(path).map_err(|source| Error::io(path, source))
}

/// For the crash tests (`tests/resume.rs`): with `NN_TEST_WRITE_PAUSE_MS` set, every atomic
/// write sleeps that long with half its bytes in the temporary file, so that a test can kill
/// the process in the middle of a write. Unset (always, outside those tests), it does nothing.
fn pause_for_tests() {
    if let Some(ms) = std::env::var_os("NN_TEST_WRITE_PAUSE_MS").and_then(|ms| ms.to_str()?.parse().ok()) {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

/// A temporary file, removed when dropped (on every error path before the rename).
struct Temporary(PathBuf);

impl Drop for Temporary {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Flushes the directory holding `path`, so that the rename itself survives a power cut.
#[cfg(unix)]
fn sync_directory(path: &Path) -> std::io::Result<()> {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    File::open(directory)?.sync_all()
}

/// Elsewhere a directory cannot be opened as a file to flush it; the file itself was flushed.
#[cfg(not(unix))]
fn sync_directory(_path: &Path) -> std::io::Result<()> {
    Ok(())
}
