//! `flinch` as a library: test your own stream-processing job for
//! exactly-once under crashes, partitions and storage faults, from
//! `cargo test` (docs/api.md).
//!
//! A job is a [`JobGraph`] of [`Operator`]s with a reference model: the
//! [`Job`] trait. [`Test`] runs it under a scenario's faults, seed after
//! seed, and panics at the first seed whose committed output or
//! checkpointed state the model rejects, with the violations, the fault
//! plan shrunk to what still fails, and the command that replays it: the
//! report `flinch run` prints. The scenario is a built-in one, a file, or
//! a [`Scenario`] built in code; [`strategy`] draws fault plans for
//! proptest. README.md, "Test your own job", walks through a whole crate.
//!
//! [`jobs`] holds the built-in jobs beyond keyed-count (`windowed-sum`,
//! `dedup`, `two-stage`), written with this same API.
//!
//! Every build of flinch, a user's included, needs `--cfg tokio_unstable`
//! (in the user's `.cargo/config.toml`: `[build] rustflags = ["--cfg",
//! "tokio_unstable"]`): the simulation is deterministic only then, and the
//! engine refuses to build without it.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "cli")]
#[doc(hidden)]
#[allow(missing_docs)]
pub mod cli;
/// The HTML report of one seed (`flinch replay --report DIR`); part of the
/// command line, not a public API.
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod html;
mod job;
pub mod jobs;
// Without the command line, some of what `flinch run` reports goes unused.
#[cfg_attr(not(feature = "cli"), allow(dead_code))]
mod report;
mod runner;
mod scenario;
pub mod strategy;

pub use job::Job;
pub use runner::{
    Failure, Passed, ScenarioSource, Test, DEFAULT_SCENARIO, PLAN_VAR, SEED_VAR, SHRINK_MAX_RUNS,
};
pub use scenario::{Event, Fault, Scenario};

pub use flinch_engine::config::WorkloadConfig as Workload;
pub use flinch_engine::graph::{GraphBuilder, GraphError, JobGraph, KeyedBuilder, Watermarks};
pub use flinch_engine::operator::{Context, Operator};
pub use flinch_engine::record::{Bytes, Record};
pub use flinch_harness::model::{
    check_multiset, check_multiset_at_least_once, Finding, FindingKind, KeyedState, Multiset,
    Timers,
};

/// The reference workload's input log as records: `workload.records`
/// records over `workload.partitions` partitions (round robin), each keyed
/// by a `u32` in `0..workload.keys` drawn with the workload's skew, value
/// `()`, timestamp 0, origin `(partition, offset)`. keyed-count reads this
/// log; a job with no input of its own can too. A pure function of
/// `workload` and `seed`.
pub fn workload_records(workload: &Workload, seed: u64) -> Vec<Vec<Record>> {
    flinch_engine::workload::generate(workload, seed)
        .iter()
        .map(|partition| partition.iter().map(|r| r.to_record()).collect())
        .collect()
}

/// The multiset of `(key, value)` bytes of `records`: what
/// [`check_multiset`] expects when a job's output is a function of each
/// input record (a filter, a map, a dedup of exact copies).
pub fn multiset<'a>(records: impl IntoIterator<Item = &'a Record>) -> Multiset {
    let mut set = Multiset::new();
    for r in records {
        *set.entry((r.key.to_vec(), r.value.to_vec())).or_default() += 1;
    }
    set
}

/// Why a value did not encode, or bytes did not decode as the type asked
/// for: postcard's message (the engine's encoding of keys, values and
/// state).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CodecError(String);

/// A key, value or state as the engine encodes it: postcard, whose
/// encoding is canonical (equal values, equal bytes), so a model can
/// build the exact bytes a job commits. Errors: only types postcard cannot
/// encode (a sequence of unknown length).
///
/// ```
/// let bytes = flinch::encode(&7u32).expect("a u32 encodes");
/// assert_eq!(flinch::decode::<u32>(&bytes), Ok(7));
/// ```
pub fn encode<T: serde::Serialize + ?Sized>(value: &T) -> Result<Bytes, CodecError> {
    flinch_engine::record::encode(value).map_err(|e| CodecError(e.to_string()))
}

/// The inverse of [`encode`]. Errors: bytes that are not the encoding of
/// a `T`, all of them (a `T` read from their beginning with bytes left
/// over is an error).
///
/// ```
/// let pair = flinch::encode(&(1u32, 2u32)).expect("a pair encodes");
/// assert!(flinch::decode::<u32>(&pair).is_err());
/// ```
pub fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    flinch_engine::record::decode(bytes).map_err(|e| CodecError(e.to_string()))
}
