//! flinch's engine: a small Flink-style streaming engine whose hosts run on
//! turmoil's simulated network and filesystem.
#![forbid(unsafe_code)]

pub mod config;
pub mod event;
pub mod record;
pub mod restart;
pub mod workload;
