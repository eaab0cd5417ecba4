//! flinch's harness: runs the engine in a seeded turmoil simulation, injects
//! faults, and checks what it committed against an oracle.
#![forbid(unsafe_code)]

pub mod budget;
pub mod check;
pub mod coverage;
pub mod expect;
pub mod fault;
#[cfg(feature = "fuzzing")]
pub mod fuzz;
pub mod job;
pub mod keyed_count;
pub mod lifecycle;
pub mod model;
pub mod nemesis;
pub mod outcome;
pub mod panics;
pub mod plan;
pub mod scenario;
pub mod seed;
pub mod selfcheck;
pub mod shrink;
pub mod stats;
pub mod strategy;
pub mod trace;
pub mod violation;
pub mod world;
