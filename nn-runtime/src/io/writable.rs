//! Whether a file can be written at a path, checked before expensive work (training) rather
//! than after it.

use std::ffi::OsString;
use std::path::Path;

/// Why a file could not be written at `path` now, if it could not: `path` must name a file
/// (not a directory) in a directory that exists and is writable, which is checked by creating
/// and removing a hidden file there.
///
/// ```
/// let dir = std::env::temp_dir();
/// assert_eq!(nn::io::unwritable_reason(&dir.join("weights.safetensors")), None);
/// assert!(nn::io::unwritable_reason(&dir.join("no-such-dir").join("w.safetensors")).is_some());
/// ```
pub fn unwritable_reason(path: &Path) -> Option<String> {
    let Some(name) = path.file_name() else {
        return Some("not a file path".into());
    };
    if path.is_dir() {
        return Some("is a directory".into());
    }
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if !directory.is_dir() {
        return Some(format!("the directory {} does not exist", directory.display()));
    }
    let mut probe_name = OsString::from(".");
    probe_name.push(name);
    probe_name.push(format!(".{}.probe", std::process::id()));
    let probe = directory.join(probe_name);
    match std::fs::OpenOptions::new().write(true).create_new(true).open(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            None
        }
        Err(error) => Some(format!(
            "the directory {} is not writable: {error}",
            directory.display()
        )),
    }
}
