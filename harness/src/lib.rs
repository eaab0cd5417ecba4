//! flinch's harness: runs the engine in a seeded turmoil simulation, injects
//! faults, and checks what it committed against an oracle.
#![forbid(unsafe_code)]

pub mod check;
pub mod expect;
pub mod fault;
pub mod outcome;
pub mod scenario;
pub mod seed;
pub mod trace;
pub mod violation;
pub mod world;
