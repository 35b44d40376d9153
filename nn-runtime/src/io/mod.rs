//! Weights in safetensors files with PyTorch's `state_dict` key names.

mod safetensors_file;

pub use safetensors_file::{load, load_into, save};
