//! Saving and loading a [`Module`]'s parameters as a safetensors file.
//!
//! Keys and layouts are PyTorch's, so a file from
//! `safetensors.torch.save_file(model.state_dict(), path)` loads here and the reverse.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use super::write_atomically;
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
    load_params(module, path, &options).map(|_| ())
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

/// How [`load_with`] matches a file's tensors to a network's parameters.
///
/// ```
/// use nn::io::LoadOptions;
/// // A PyTorch model whose layers live in `self.linear_relu_stack = nn.Sequential(...)`:
/// let options = LoadOptions::partial().rename(|key| key.strip_prefix("linear_relu_stack.").map(String::from));
/// # let _ = options;
/// ```
pub struct LoadOptions {
    strict: bool,
    rename: Option<Rename>,
}

/// Maps a file's key to a network's key, or drops it.
type Rename = Box<dyn Fn(&str) -> Option<String>>;

impl std::fmt::Debug for LoadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadOptions")
            .field("strict", &self.strict)
            .field("rename", &self.rename.as_ref().map(|_| "closure"))
            .finish()
    }
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self::strict()
    }
}

impl LoadOptions {
    /// Every parameter must be in the file with its shape, and the file may hold nothing else;
    /// otherwise an error lists every missing, unexpected and mis-shaped key (nothing is loaded).
    pub fn strict() -> Self {
        LoadOptions {
            strict: true,
            rename: None,
        }
    }

    /// Loads every parameter the file has with the right shape and reports the rest in the
    /// returned [`LoadReport`] (fine-tuning a network whose head differs).
    pub fn partial() -> Self {
        LoadOptions {
            strict: false,
            rename: None,
        }
    }

    /// Maps each key of the file to this network's key (`None` ignores the tensor), as
    /// `state_dict` surgery in PyTorch: `|key| key.strip_prefix("backbone.").map(String::from)`.
    pub fn rename(mut self, rename: impl Fn(&str) -> Option<String> + 'static) -> Self {
        self.rename = Some(Box::new(rename));
        self
    }

    /// Replaces the prefix `from` of the file's keys with `to` (keys without it are kept as
    /// they are): `.replace_prefix("linear_relu_stack.", "")`.
    pub fn replace_prefix(self, from: &str, to: &str) -> Self {
        let (from, to) = (from.to_string(), to.to_string());
        self.rename(move |key| {
            Some(
                key.strip_prefix(&from)
                    .map_or_else(|| key.to_string(), |rest| format!("{to}{rest}")),
            )
        })
    }
}

/// What [`load_with`] did: the parameters loaded and those it could not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Network keys loaded from the file.
    pub loaded: Vec<String>,
    /// Network keys the file does not have (they keep their values).
    pub missing: Vec<String>,
    /// File keys (after renaming) the network does not have.
    pub unexpected: Vec<String>,
    /// Keys present in both with different shapes: `(key, file shape, network shape)`.
    pub mismatched: Vec<(String, Vec<usize>, Vec<usize>)>,
}

impl LoadReport {
    /// Whether every parameter was loaded and the file held nothing else.
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty() && self.unexpected.is_empty() && self.mismatched.is_empty()
    }

    /// One line per problem, sorted by key; `expected` gives the network's dtype and shape of
    /// each key.
    fn details(&self, expected: &BTreeMap<String, (Dtype, Vec<usize>)>) -> String {
        let mut lines: Vec<(String, String)> = Vec::new();
        lines.extend(self.missing.iter().map(|key| {
            let (dtype, shape) = &expected[key];
            let dtype = format!("{dtype:?}").to_lowercase();
            (key.clone(), format!("`{key}` missing (expected {dtype} {shape:?})"))
        }));
        lines.extend(self.unexpected.iter().map(|key| {
            (
                key.clone(),
                format!("`{key}` unexpected: this network has no such parameter"),
            )
        }));
        lines.extend(self.mismatched.iter().map(|(key, file, expected)| {
            (
                key.clone(),
                format!("`{key}` has shape {file:?}, expected {expected:?}"),
            )
        }));
        lines.sort();
        lines.into_iter().map(|(_, line)| format!("\n  {line}")).collect()
    }
}

/// Loads `module`'s parameters from `path` as `options` say. Strict loading fails (leaving
/// `module` unchanged) unless the file fits exactly; partial loading loads what fits and
/// reports the rest. Parameters and buffers must be f32 tensors, counters 0-dimensional I64
/// ones (`num_batches_tracked`); a key of the other dtype is an error naming it.
pub fn load_with<M: Module>(module: &mut M, path: &Path, options: &LoadOptions) -> Result<LoadReport> {
    load_params(module, path, options)
}

fn load_params(module: &mut dyn Params, path: &Path, options: &LoadOptions) -> Result<LoadReport> {
    let bytes = std::fs::read(path).map_err(|source| Error::io(path, source))?;
    let file = SafeTensors::deserialize(&bytes)
        .map_err(|error| Error::format(path, format!("not a valid safetensors file: {error}")))?;
    // Network key -> file key, after renaming.
    // Two file keys renamed onto one network key are an error naming both: neither may win
    // (the file's order of keys is a hash map's, so the winner changed from run to run).
    let mut by_network_key: BTreeMap<String, String> = BTreeMap::new();
    let mut names = file.names();
    names.sort();
    for name in names {
        let renamed = match &options.rename {
            Some(rename) => rename(name),
            None => Some(name.clone()),
        };
        if let Some(key) = renamed {
            if let Some(first) = by_network_key.insert(key.clone(), name.clone()) {
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
    if !wrong_types.is_empty() || (options.strict && !report.is_complete()) {
        let details =
            report.details(&expected) + &wrong_types.iter().map(|line| format!("\n  {line}")).collect::<String>();
        return Err(Error::WeightsMismatch {
            path: path.to_path_buf(),
            details,
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
