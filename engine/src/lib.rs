//! flinch's engine: a small Flink-style streaming engine whose hosts run on
//! turmoil's simulated network and filesystem.
#![forbid(unsafe_code)]

pub mod align;
pub mod config;
pub mod coordinator;
pub mod event;
pub mod hosts;
pub mod io;
pub mod job;
pub mod operator;
pub mod proto;
pub mod record;
pub mod restart;
pub mod task;
pub mod wire;
pub mod workload;
