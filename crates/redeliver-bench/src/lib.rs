//! The benchmark crate's library: the model-based checker behind `redeliver-check` and its tests.

pub mod checker;
