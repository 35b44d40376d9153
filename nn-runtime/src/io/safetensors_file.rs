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

/// Writes every parameter of `module` to `path` as f32 tensors in safetensors format.
///
/// The file is written under a temporary name beside `path` and renamed, so an interrupted
/// save never leaves a half-written file in place of a good one.
pub fn save<M: Module>(module: &M, path: &Path) -> Result<()> {
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    module.visit_params("", &mut |key, shape, values| {
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        tensors.push((key.to_string(), shape.to_vec(), bytes));
    });
    let views = tensors
        .iter()
        .map(|(key, shape, bytes)| {
            let view = TensorView::new(Dtype::F32, shape.clone(), bytes)
                .map_err(|error| Error::format(path, format!("tensor `{key}`: {error}")))?;
            Ok((key.as_str(), view))
        })
        .collect::<Result<Vec<_>>>()?;
    let bytes = safetensors::serialize(views, &None)
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
    let bytes = std::fs::read(path).map_err(|source| Error::io(path, source))?;
    let file = SafeTensors::deserialize(&bytes)
        .map_err(|error| Error::format(path, format!("not a valid safetensors file: {error}")))?;
    let mut unused: BTreeSet<String> = file.names().into_iter().cloned().collect();
    let mut problems = BTreeMap::new();
    module.visit_params_mut("", &mut |key, shape, values| {
        unused.remove(key);
        match file.tensor(key) {
            Err(_) => {
                problems.insert(key.to_string(), format!("missing (expected f32 {shape:?})"));
            }
            Ok(view) if view.dtype() != Dtype::F32 => {
                problems.insert(key.to_string(), format!("is {:?}, expected F32", view.dtype()));
            }
            Ok(view) if view.shape() != shape => {
                problems.insert(
                    key.to_string(),
                    format!("has shape {:?}, expected {shape:?}", view.shape()),
                );
            }
            Ok(view) => {
                for (value, le) in values.iter_mut().zip(view.data().chunks_exact(4)) {
                    *value = f32::from_le_bytes([le[0], le[1], le[2], le[3]]);
                }
            }
        }
    });
    for key in unused {
        problems.insert(key, "unexpected: this network has no such parameter".to_string());
    }
    if problems.is_empty() {
        return Ok(());
    }
    let details: String = problems
        .iter()
        .map(|(key, problem)| format!("\n  `{key}` {problem}"))
        .collect();
    Err(Error::WeightsMismatch {
        path: path.to_path_buf(),
        details,
    })
}
