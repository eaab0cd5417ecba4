//! `flinch` as a library: what a user's own tests will build on (the public
//! API of a later issue), beside the `flinch` command line (`src/main.rs`).
//!
//! Today it holds [`jobs`], the built-in jobs beyond keyed-count
//! (`windowed-sum`, `dedup`, `two-stage`): their parameters, operators,
//! seeded input generators, watermarks and reference models, written only
//! against what users have (the engine's `Operator` API and records), so
//! that nothing moves when the API is published (docs/dataflow.md, "Where
//! jobs live").
#![forbid(unsafe_code)]

pub mod jobs;
