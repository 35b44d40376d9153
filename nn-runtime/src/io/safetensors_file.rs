//! Saving and loading a [`Module`]'s parameters as a safetensors file.
//!
//! Keys and layouts are PyTorch's, so a file from
//! `safetensors.torch.save_file(model.state_dict(), path)` loads here and the reverse.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use super::write_atomically;
use super::{LoadOptions, LoadReport};
use crate::{Error, Module, Result};

/// Writes every tensor of `module`'s `state_dict` to `path` in safetensors format: parameters
/// and buffers as f32 tensors, counters (`num_batches_tracked`) as 0-dimensional I64 tensors,
/// as PyTorch stores them.
///
/// The file is written under a temporary name beside `path` and renamed, so an interrupted
/// save never leaves a half-written file in place of a good one.
pub fn save<M: Module>(module: &M, path: &Path) -> Result<()> {
    save_params(module, path)
}

/// The parameters of a [`Module`], behind a trait object: [`save`] and [`load_with`] hand the
/// network to non-generic functions through it, so their code (safetensors, serde_json) is
/// compiled once, in this crate, instead of once per network type in every crate that saves one.
#[allow(clippy::type_complexity)] // `Module::visit_params`'s signatures
trait Params {
    fn visit(&self, visit: &mut dyn FnMut(&str, &[usize], &[f32]));
    fn visit_mut(&mut self, visit: &mut dyn FnMut(&str, &[usize], &mut [f32]));
    fn visit_counters(&self, visit: &mut dyn FnMut(&str, i64));
    fn visit_counters_mut(&mut self, visit: &mut dyn FnMut(&str, &mut i64));
}

impl<M: Module> Params for M {
    fn visit(&self, visit: &mut dyn FnMut(&str, &[usize], &[f32])) {
        self.visit_params("", visit);
    }
    fn visit_mut(&mut self, visit: &mut dyn FnMut(&str, &[usize], &mut [f32])) {
        self.visit_params_mut("", visit);
    }
    fn visit_counters(&self, visit: &mut dyn FnMut(&str, i64)) {
        Module::visit_counters(self, "", visit);
    }
    fn visit_counters_mut(&mut self, visit: &mut dyn FnMut(&str, &mut i64)) {
        Module::visit_counters_mut(self, "", visit);
    }
}

/// The shape of a counter's tensor: a 0-dimensional scalar, as PyTorch saves `num_batches_tracked`.
const SCALAR: [usize; 0] = [];

fn save_params(module: &dyn Params, path: &Path) -> Result<()> {
    save_params_with(module, &[], None, path)
}

/// Writes a training checkpoint (atomically): `module`'s tensors as [`save`] writes them, then
/// the f32 vectors of `extra` under their keys, and `metadata` in the header's `__metadata__`.
pub(crate) fn save_checkpoint<M: Module>(
    module: &M,
    extra: &[(String, &[f32])],
    metadata: std::collections::HashMap<String, String>,
    path: &Path,
) -> Result<()> {
    save_params_with(module, extra, Some(metadata), path)
}

/// The `__metadata__` of a safetensors header.
type Metadata = std::collections::HashMap<String, String>;

/// A training checkpoint read back: the tensors whose key starts with `extra_prefix` (as f32
/// vectors, under their keys) and the header's metadata. The rest is the network's, for
/// [`load_checkpoint_weights`].
pub(crate) fn read_checkpoint_extras(
    path: &Path,
    extra_prefix: &str,
) -> Result<(BTreeMap<String, Vec<f32>>, Metadata)> {
    let bytes = std::fs::read(path).map_err(|source| Error::io(path, source))?;
    let file = SafeTensors::deserialize(&bytes)
        .map_err(|error| Error::format(path, format!("not a valid safetensors file: {error}")))?;
    let (_, header) = SafeTensors::read_metadata(&bytes)
        .map_err(|error| Error::format(path, format!("not a valid safetensors file: {error}")))?;
    let metadata = header.metadata().clone().unwrap_or_default();
    let mut extras = BTreeMap::new();
    for (name, view) in file.tensors() {
        if !name.starts_with(extra_prefix) {
            continue;
        }
        if view.dtype() != Dtype::F32 || view.shape().len() != 1 {
            return Err(Error::format(
                path,
                format!(
                    "tensor `{name}` is {:?} {:?}, expected a vector of f32",
                    view.dtype(),
                    view.shape()
                ),
            ));
        }
        let values = view
            .data()
            .chunks_exact(4)
            .map(|le| f32::from_le_bytes([le[0], le[1], le[2], le[3]]))
            .collect();
        extras.insert(name, values);
    }
    Ok((extras, metadata))
}

/// Loads `module`'s tensors from a training checkpoint strictly, ignoring the keys that start
/// with `extra_prefix`; on error `module` is unchanged.
pub(crate) fn load_checkpoint_weights<M: Module>(module: &mut M, path: &Path, extra_prefix: &str) -> Result<()> {
    let prefix = extra_prefix.to_string();
    let options = LoadOptions::strict().rename(move |key| (!key.starts_with(&prefix)).then(|| key.to_string()));
    load_params(module, path, &options, false).map(|_| ())
}

fn save_params_with(
    module: &dyn Params,
    extra: &[(String, &[f32])],
    metadata: Option<std::collections::HashMap<String, String>>,
    path: &Path,
) -> Result<()> {
    let mut tensors: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
    module.visit(&mut |key, shape, values| {
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        tensors.push((key.to_string(), Dtype::F32, shape.to_vec(), bytes));
    });
    module.visit_counters(&mut |key, value| {
        tensors.push((
            key.to_string(),
            Dtype::I64,
            SCALAR.to_vec(),
            value.to_le_bytes().to_vec(),
        ));
    });
    for (key, values) in extra {
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        tensors.push((key.clone(), Dtype::F32, vec![values.len()], bytes));
    }
    let views = tensors
        .iter()
        .map(|(key, dtype, shape, bytes)| {
            let view = TensorView::new(*dtype, shape.clone(), bytes)
                .map_err(|error| Error::format(path, format!("tensor `{key}`: {error}")))?;
            Ok((key.as_str(), view))
        })
        .collect::<Result<Vec<_>>>()?;
    let bytes = safetensors::serialize(views, &metadata)
        .map_err(|error| Error::format(path, format!("cannot serialise: {error}")))?;
    write_atomically(path, &bytes)
}

/// Reads a network of type `M` from `path`, strictly: the file must hold exactly `M`'s keys,
/// each an f32 tensor of the right shape.
pub fn load<M: Module>(path: &Path) -> Result<M> {
    let mut module = M::zeros();
    load_into(&mut module, path)?;
    Ok(module)
}

/// Overwrites `module`'s parameters with those in `path`, strictly (see [`load`]). On error
/// the message lists every missing, unexpected and mis-shaped key.
pub fn load_into<M: Module>(module: &mut M, path: &Path) -> Result<()> {
    load_with(module, path, &LoadOptions::strict()).map(|_| ())
}

/// Loads `module`'s parameters from `path` as `options` say. Strict loading fails (leaving
/// `module` unchanged) unless the file fits exactly; partial loading loads what fits and
/// reports the rest, and fails if nothing fits. Parameters and buffers must be f32 tensors,
/// counters 0-dimensional I64 ones (`num_batches_tracked`); a key of the other dtype is an
/// error naming it.
///
/// A network declared with `network!` has this as a method: `net.load_from(path, &options)`.
pub fn load_with<M: Module>(module: &mut M, path: &Path, options: &LoadOptions) -> Result<LoadReport> {
    load_params(module, path, options, false)
}

/// Loads every parameter of `module` from `path` (see [`LoadOptions::load`]): as [`load_with`],
/// and an error if one is missing or mis-shaped even when `options` are partial.
pub(super) fn load_whole<M: Module>(module: &mut M, path: &Path, options: &LoadOptions) -> Result<()> {
    load_params(module, path, options, true).map(|_| ())
}

/// How many keys an error quotes from the file and from the network when none match.
const QUOTED_KEYS: usize = 4;

/// Up to [`QUOTED_KEYS`] of `keys`, quoted, and how many there are in all.
fn some_keys<'a>(keys: impl ExactSizeIterator<Item = &'a str>) -> String {
    let count = keys.len();
    let mut quoted: Vec<String> = keys.take(QUOTED_KEYS).map(|key| format!("`{key}`")).collect();
    if count > QUOTED_KEYS {
        quoted.push(format!("... ({count} in all)"));
    }
    quoted.join(", ")
}

fn load_params(module: &mut dyn Params, path: &Path, options: &LoadOptions, whole: bool) -> Result<LoadReport> {
    let bytes = std::fs::read(path).map_err(|source| Error::io(path, source))?;
    let file = SafeTensors::deserialize(&bytes)
        .map_err(|error| Error::format(path, format!("not a valid safetensors file: {error}")))?;
    // Network key -> file key, after renaming.
    // Two file keys renamed onto one network key are an error naming both: neither may win
    // (the file's order of keys is a hash map's, so the winner changed from run to run).
    let mut by_network_key: BTreeMap<String, String> = BTreeMap::new();
    let mut names = file.names();
    names.sort();
    for name in &names {
        if let Some(key) = options.network_key(name) {
            if let Some(first) = by_network_key.insert(key.clone(), name.to_string()) {
                return Err(Error::format(
                    path,
                    format!(
                        "the renaming maps both `{first}` and `{name}` of the file onto `{key}`; \
                         map at most one tensor onto each key (return `None` to skip one)"
                    ),
                ));
            }
        }
    }
    let mut report = LoadReport::default();
    let mut wrong_types = Vec::new();
    let mut expected = BTreeMap::new();
    // First pass: decide, without writing, so a failed strict load changes nothing. A key of the
    // wrong dtype is an error of its own, neither loaded nor unexpected.
    let mut classify = |key: &str, dtype: Dtype, shape: &[usize]| {
        expected.insert(key.to_string(), (dtype, shape.to_vec()));
        match by_network_key.get(key).map(|name| file.tensor(name)) {
            None | Some(Err(_)) => report.missing.push(key.to_string()),
            Some(Ok(view)) if view.dtype() != dtype => {
                wrong_types.push(format!("`{key}` is {:?}, expected {dtype:?}", view.dtype()))
            }
            Some(Ok(view)) if view.shape() != shape => {
                report
                    .mismatched
                    .push((key.to_string(), view.shape().to_vec(), shape.to_vec()))
            }
            Some(Ok(_)) => report.loaded.push(key.to_string()),
        }
    };
    module.visit(&mut |key, shape, _| classify(key, Dtype::F32, shape));
    module.visit_counters(&mut |key, _| classify(key, Dtype::I64, &SCALAR));
    let known: BTreeSet<&str> = expected.keys().map(String::as_str).collect();
    report.unexpected = by_network_key
        .keys()
        .filter(|key| !known.contains(key.as_str()))
        .cloned()
        .collect();
    let incomplete = if options.is_strict() {
        !report.is_complete()
    } else {
        whole && !(report.missing.is_empty() && report.mismatched.is_empty())
    };
    if !wrong_types.is_empty() || incomplete {
        let mut details =
            report.details(&expected) + &wrong_types.iter().map(|line| format!("\n  {line}")).collect::<String>();
        if report.loaded.is_empty() && !expected.is_empty() && !report.unexpected.is_empty() {
            details += "\n  (no key matches: map the file's keys with `LoadOptions::sequential`, \
                        `replace_prefix` or `rename`)";
        }
        if whole && !options.is_strict() {
            details += "\n  (a network read from a file alone needs every parameter from it; to load part \
                        of a file, build the network first: `Net::init(seed).load_from(path, &options)`)";
        }
        return Err(Error::WeightsMismatch {
            path: path.to_path_buf(),
            details,
        });
    }
    if report.loaded.is_empty() && !expected.is_empty() {
        // A partial load that matches nothing is almost always keys laid out differently (a
        // prefix, an offset): an error, not a report that is easy to overlook.
        let renamed: Vec<&str> = by_network_key.keys().map(String::as_str).collect();
        let file_keys = if names.iter().map(|name| name.as_str()).eq(renamed.iter().copied()) {
            some_keys(names.iter().map(|name| name.as_str()))
        } else {
            format!(
                "{} (after renaming: {})",
                some_keys(names.iter().map(|name| name.as_str())),
                some_keys(renamed.iter().copied())
            )
        };
        return Err(Error::WeightsMismatch {
            path: path.to_path_buf(),
            details: format!(
                "\n  no parameter loaded: the file has {file_keys},\n  this network has {}{}\n  \
                 (map the file's keys with `LoadOptions::sequential`, `replace_prefix` or `rename`)",
                some_keys(expected.keys().map(String::as_str)),
                report
                    .details(&expected)
                    .lines()
                    .filter(|line| line.contains("has shape"))
                    .map(|line| format!("\n{line}"))
                    .collect::<String>()
            ),
        });
    }
    let loaded: BTreeSet<&str> = report.loaded.iter().map(String::as_str).collect();
    let view_of = |key: &str| match by_network_key.get(key).map(|name| file.tensor(name)) {
        Some(Ok(view)) if loaded.contains(key) => Some(view),
        _ => None,
    };
    module.visit_mut(&mut |key, _, values| {
        if let Some(view) = view_of(key) {
            for (value, le) in values.iter_mut().zip(view.data().chunks_exact(4)) {
                *value = f32::from_le_bytes([le[0], le[1], le[2], le[3]]);
            }
        }
    });
    module.visit_counters_mut(&mut |key, value| {
        if let Some(le) = view_of(key).and_then(|view| <[u8; 8]>::try_from(view.data()).ok()) {
            *value = i64::from_le_bytes(le);
        }
    });
    Ok(report)
}
