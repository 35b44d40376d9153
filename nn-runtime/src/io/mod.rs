//! Files: weights in safetensors with PyTorch's `state_dict` key names, and atomic writes.

mod atomic;
mod load_options;
mod safetensors_file;
mod writable;

pub use atomic::write_atomically;
pub use load_options::{LoadOptions, LoadReport};
pub use safetensors_file::{load, load_into, load_with, save};
pub(crate) use safetensors_file::{load_checkpoint_weights, read_checkpoint_extras, save_checkpoint};
pub use writable::unwritable_reason;
