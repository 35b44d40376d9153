//! How a file's tensors are matched to a network's parameters ([`LoadOptions`]), and what a
//! load did ([`LoadReport`]).

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use safetensors::Dtype;

use crate::{Module, Result};

/// How a file's tensors are matched to a network's parameters: strictly or partially, and with
/// which renaming of the file's keys.
///
/// PyTorch's MNIST tutorial keeps its layers in a `Sequential` attribute after a separate
/// `Flatten` (`self.flatten = nn.Flatten()`, `self.linear_relu_stack = nn.Sequential(Linear,
/// ReLU, Linear, ReLU, Linear)`), so its keys are `linear_relu_stack.0.weight`, `.2.`, `.4.`,
/// while a `network!` chain `Flatten -> Linear -> ReLU -> ..` has its `Flatten` at position 0
/// and stores `1.weight`, `3.`, `5.`. One line loads it:
///
/// ```
/// use nn::io::LoadOptions;
/// use nn::prelude::*;
///
/// network! {
///     struct Tutorial: [28, 28] => Flatten -> Linear<784, 16> -> ReLU -> Linear<16, 16> -> ReLU -> Linear<16, 10>
/// }
/// # let dir = tempfile::tempdir().unwrap();
/// # let ours = dir.path().join("ours.safetensors");
/// # Tutorial::init(1).save(&ours)?;
/// # let bytes = std::fs::read(&ours).unwrap();
/// # let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
/// # let torch_keys: Vec<(String, safetensors::tensor::TensorView<'_>)> = file.tensors().into_iter().map(|(key, view)| {
/// #     let (index, rest) = key.split_once('.').unwrap();
/// #     (format!("linear_relu_stack.{}.{rest}", index.parse::<usize>().unwrap() - 1), view)
/// # }).collect();
/// # let path = dir.path().join("tutorial.safetensors");
/// # safetensors::serialize_to_file(torch_keys, &None, &path).unwrap();
/// // `path` holds `linear_relu_stack.0.weight`, ..., `linear_relu_stack.4.bias`.
/// let net: Tutorial = LoadOptions::strict().sequential("linear_relu_stack", 1).load(&path)?;
/// # assert_eq!(net.forward(&[[0.5; 28]; 28]), Tutorial::init(1).forward(&[[0.5; 28]; 28]));
/// # Ok::<(), nn::Error>(())
/// ```
///
/// Renamings ([`LoadOptions::sequential`], [`LoadOptions::replace_prefix`],
/// [`LoadOptions::rename`]) apply to each of the file's keys in the order they were added.
pub struct LoadOptions {
    strict: bool,
    renames: Vec<Rename>,
}

/// Maps a file's key to a network's key, or drops it.
type Rename = Box<dyn Fn(&str) -> Option<String>>;

impl fmt::Debug for LoadOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadOptions")
            .field("strict", &self.strict)
            .field("renames", &self.renames.len())
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
            renames: Vec::new(),
        }
    }

    /// Loads every parameter the file has with the right shape and keeps the others as they
    /// are (fine-tuning a network whose head differs); the returned [`LoadReport`] says which
    /// were loaded and which not. A file of which no parameter loads is an error naming some of
    /// its keys and the network's, so a wrong key layout is never a silent no-op.
    ///
    /// ```
    /// use nn::io::LoadOptions;
    /// use nn::prelude::*;
    /// network! { struct Old: [4] => body: Linear<4, 8> -> ReLU -> head: Linear<8, 3> }
    /// network! { struct New: [4] => body: Linear<4, 8> -> ReLU -> head: Linear<8, 5> }
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("old.safetensors");
    /// Old::init(1).save(&path)?;
    /// let mut net = New::init(2);
    /// let report = net.load_from(&path, &LoadOptions::partial())?;
    /// assert_eq!(report.loaded, ["body.weight", "body.bias"]);
    /// println!("{report}"); // loaded 2 of 4 parameters; ... `head.weight` has shape [3, 8], ours [5, 8]
    /// # Ok::<(), nn::Error>(())
    /// ```
    pub fn partial() -> Self {
        LoadOptions {
            strict: false,
            renames: Vec::new(),
        }
    }

    /// Maps each key of the file to this network's key (`None` ignores the tensor), as
    /// `state_dict` surgery in PyTorch: `|key| key.strip_prefix("backbone.").map(String::from)`.
    pub fn rename(mut self, rename: impl Fn(&str) -> Option<String> + 'static) -> Self {
        self.renames.push(Box::new(rename));
        self
    }

    /// Replaces the prefix `from` of the file's keys with `to` (keys without it are kept as
    /// they are): `.replace_prefix("backbone.", "body.")`.
    pub fn replace_prefix(self, from: &str, to: &str) -> Self {
        let (from, to) = (from.to_string(), to.to_string());
        self.rename(move |key| {
            Some(
                key.strip_prefix(&from)
                    .map_or_else(|| key.to_string(), |rest| format!("{to}{rest}")),
            )
        })
    }

    /// Reads the layers of a PyTorch `nn.Sequential` attribute named `prefix` as this chain's
    /// layers from position `offset` on: the file's `<prefix>.<i>.<rest>` is this network's
    /// `<i + offset>.<rest>`. Other keys are kept as they are.
    ///
    /// `offset` is the number of this chain's layers before the first one of the `Sequential`:
    /// 1 for PyTorch's tutorial model, whose `Flatten` is an attribute of its own
    /// (`self.flatten`) while ours is the chain's layer 0. `prefix` may end with a `.` or not.
    ///
    /// ```
    /// use nn::io::LoadOptions;
    /// // linear_relu_stack.0.weight -> 1.weight, linear_relu_stack.4.bias -> 5.bias
    /// let options = LoadOptions::strict().sequential("linear_relu_stack", 1);
    /// # let _ = options;
    /// ```
    pub fn sequential(self, prefix: &str, offset: usize) -> Self {
        let prefix = format!("{}.", prefix.strip_suffix('.').unwrap_or(prefix));
        self.rename(move |key| {
            let shifted = key.strip_prefix(&prefix).and_then(|rest| {
                let (index, rest) = rest.split_once('.')?;
                Some(format!("{}.{rest}", index.parse::<usize>().ok()? + offset))
            });
            Some(shifted.unwrap_or_else(|| key.to_string()))
        })
    }

    /// Reads a network of type `M` from `path` with these options, without building one first.
    ///
    /// Every parameter of the network must come from the file, with its shape, whether the
    /// options are strict or partial (a network built from a file has nowhere else to get a
    /// weight from); with [`LoadOptions::partial`] the file may also hold tensors the network
    /// does not use. To load part of a file into an initialised network, use
    /// `Net::init(seed).load_from(path, &options)`.
    ///
    /// ```
    /// use nn::io::LoadOptions;
    /// use nn::prelude::*;
    /// network! { struct Net: [4] => Linear<4, 8> -> ReLU -> Linear<8, 3> }
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("net.safetensors");
    /// Net::init(1).save(&path)?;
    /// let net: Net = LoadOptions::strict().load(&path)?; // the same as `Net::load(&path)`
    /// # let _ = net;
    /// # Ok::<(), nn::Error>(())
    /// ```
    pub fn load<M: Module>(&self, path: impl AsRef<Path>) -> Result<M> {
        let mut module = M::zeros();
        super::safetensors_file::load_whole(&mut module, path.as_ref(), self)?;
        Ok(module)
    }

    /// Whether every parameter must be in the file and the file may hold nothing else.
    pub(super) fn is_strict(&self) -> bool {
        self.strict
    }

    /// The network key of the file's `key` after every renaming, or `None` if one drops it.
    pub(super) fn network_key(&self, key: &str) -> Option<String> {
        let mut key = key.to_string();
        for rename in &self.renames {
            key = rename(&key)?;
        }
        Some(key)
    }
}

/// What a load did: the parameters loaded and those it could not. `println!("{report}")` gives
/// a summary with every key that was not loaded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use = "a partial load may have skipped parameters: print the report or check `is_complete()`"]
pub struct LoadReport {
    /// Network keys loaded from the file.
    pub loaded: Vec<String>,
    /// Network keys the file does not have (they keep their values).
    pub missing: Vec<String>,
    /// File keys (after renaming) the network does not have.
    pub unexpected: Vec<String>,
    /// Keys present in both with different shapes: `(key, file shape, network shape)`; the
    /// network's parameter keeps its value.
    pub mismatched: Vec<(String, Vec<usize>, Vec<usize>)>,
}

impl LoadReport {
    /// Whether every parameter was loaded and the file held nothing else.
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty() && self.unexpected.is_empty() && self.mismatched.is_empty()
    }

    /// One line per problem, sorted by key; `expected` gives the network's dtype and shape of
    /// each key.
    pub(super) fn details(&self, expected: &BTreeMap<String, (Dtype, Vec<usize>)>) -> String {
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

/// `loaded 4 of 6 parameters`, then one line per key that was not loaded, or that the network
/// does not have.
impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = self.loaded.len() + self.missing.len() + self.mismatched.len();
        write!(f, "loaded {} of {total} parameters", self.loaded.len())?;
        for key in &self.missing {
            write!(f, "\n  `{key}` not in the file: kept as it was")?;
        }
        for (key, file, ours) in &self.mismatched {
            write!(
                f,
                "\n  `{key}` has shape {file:?} in the file, ours {ours:?}: kept as it was"
            )?;
        }
        for key in &self.unexpected {
            write!(
                f,
                "\n  `{key}` of the file: this network has no such parameter, ignored"
            )?;
        }
        Ok(())
    }
}
