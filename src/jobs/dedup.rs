//! `dedup`: drops every record whose id was seen before (Flink's
//! deduplication pattern: a `KeyedProcessFunction` keyed by id with a
//! `ValueState<Boolean>` "seen").
//!
//! # The job
//!
//! Input: key an [`Id`] (`u64`: the workload key in the high 32 bits, a
//! sequence number in the low 32), value a `u64` payload, the same for
//! every copy of an id ([`payload`]: a duplicate is a redelivered message,
//! not a new one). One keyed vertex, [`VERTEX`], runs [`Dedup`]: the first
//! record of an id passes as `(id, payload)`, later ones are dropped. No
//! event time: timestamps are 0 and the watermark is 0 until end of input.
//!
//! # Exactly-once ([`check_output`])
//!
//! The committed output is exactly the multiset `{(id, payload(id)) : id
//! in the input}`, each once, whatever the interleaving (which copy passes
//! depends on it, but copies are equal). At-least-once
//! ([`check_output_at_least_once`]): each of them at least once, nothing
//! else.
//!
//! # State at a cut ([`check_state`])
//!
//! Exactly the ids of the records before the cut, each `true`; no timers.
//!
//! State grows with the input: one entry per distinct id, for the whole
//! run (there is no TTL); the generator makes `records × (1 -
//! repeat_fraction)` distinct ids, about.

use super::{bytes, encode, Finding, KeyedState, Multiset, ParamError, Timers};
use flinch_engine::config::WorkloadConfig;
use flinch_engine::operator::{Context, Operator};
use flinch_engine::record::{self, Record};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// The job's name in a scenario's `job = { name = "dedup" }`.
pub const NAME: &str = "dedup";
/// The name of its keyed vertex (subtasks `dedup[i]`).
pub const VERTEX: &str = "dedup";

/// A record's id: `(workload key << 32) | sequence number of that key`.
pub type Id = u64;

/// The parameters, from `job = { name = "dedup", repeat_fraction = 0.3 }`
/// without its `name`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {
    /// The fraction of records that repeat an id drawn uniformly from the
    /// ids generated before them (in any partition); default 0.3,
    /// `0.0..=0.95`.
    pub repeat_fraction: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            repeat_fraction: 0.3,
        }
    }
}

/// The largest `repeat_fraction`.
pub const REPEAT_FRACTION_MAX: f64 = 0.95;

impl Params {
    /// Check every field against its bound. Errors: `repeat_fraction`
    /// outside `0.0..=0.95` ([`ParamError`]).
    pub fn validate(&self) -> Result<Params, ParamError> {
        super::fraction_within(
            NAME,
            "repeat_fraction",
            self.repeat_fraction,
            REPEAT_FRACTION_MAX,
            "at least one record in 20 brings a new id, so the state the job keeps grows with the input",
        )?;
        Ok(self.clone())
    }
}

/// The payload of every copy of `id`: splitmix64's finalizer of it, so
/// that a wrong pairing of id and payload shows.
pub fn payload(id: Id) -> u64 {
    let mut z = id.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// dedup uses no event time: its sources' watermark is 0 until end of
/// input (`u64::MAX`).
pub fn watermark(params: &Params, partition: u32, next_offset: u64) -> u64 {
    let _ = (params, partition, next_offset);
    0
}

/// The input log: partitions, offsets and keys as the engine's workload
/// ([`flinch_engine::workload::generate`]); each record, in the
/// workload's order (round robin over partitions), repeats with
/// probability `repeat_fraction` an id drawn uniformly from those made
/// before it, else makes a new id of its workload key. Value
/// [`payload`]`(id)`, timestamp 0. Pure.
///
/// # Panics
/// If `params` did not pass [`Params::validate`] (a `repeat_fraction`
/// outside `0.0..=1.0` is no probability).
pub fn generate(params: &Params, workload: &WorkloadConfig, seed: u64) -> Vec<Vec<Record>> {
    let log = flinch_engine::workload::generate(workload, seed);
    let mut rng = SmallRng::seed_from_u64(seed ^ 0x0ded_e0ba_d1d5_u64);
    let mut ids: Vec<Id> = Vec::new();
    let mut next_seq: BTreeMap<u32, u32> = BTreeMap::new();
    let mut out: Vec<Vec<Record>> = log.iter().map(|p| Vec::with_capacity(p.len())).collect();
    let longest = log.iter().map(Vec::len).max().unwrap_or(0);
    for offset in 0..longest {
        for (partition, records) in log.iter().enumerate() {
            let Some(r) = records.get(offset) else {
                continue;
            };
            let id = if !ids.is_empty() && rng.gen_bool(params.repeat_fraction) {
                ids[rng.gen_range(0..ids.len())]
            } else {
                let seq = next_seq.entry(r.key).or_default();
                let id = (u64::from(r.key) << 32) | u64::from(*seq);
                *seq = seq.wrapping_add(1);
                ids.push(id);
                id
            };
            out[partition].push(Record {
                key: bytes(&id),
                value: bytes(&payload(id)),
                timestamp: 0,
                origin: Some((r.partition, r.offset)),
            });
        }
    }
    out
}

/// The deduplicating operator. Key [`Id`], input and output the payload
/// `u64` under the same key; state "seen".
#[derive(Debug, Clone, Copy, Default)]
pub struct Dedup;

impl Operator for Dedup {
    type Key = Id;
    type In = u64;
    type OutKey = Id;
    type Out = u64;
    type State = bool;

    fn process(&mut self, id: &Id, value: u64, seen: &mut bool, ctx: &mut Context<'_, Id, u64>) {
        if !*seen {
            *seen = true;
            ctx.emit(*id, value);
        }
    }
}

// ---------------------------------------------------------------------
// The reference model: written from the module docs, not from the operator.

/// Each distinct `(id, payload)` of `input` once.
fn expected(input: &[Vec<Record>]) -> Multiset {
    let mut expected = Multiset::new();
    for r in input.iter().flatten() {
        expected.insert((r.key.to_vec(), r.value.to_vec()), 1);
    }
    expected
}

fn id_text(key: &[u8]) -> String {
    match record::decode::<Id>(key) {
        Ok(id) => format!("id {id:#x}"),
        Err(_) => format!("key {key:?}"),
    }
}

fn describe(key: &[u8], value: &[u8]) -> String {
    match (record::decode::<Id>(key), record::decode::<u64>(value)) {
        (Ok(id), Ok(payload)) => format!("id {id:#x} with payload {payload:#x}"),
        _ => format!("output {key:?} = {value:?}"),
    }
}

/// The exactly-once check (module docs): every distinct `(id, payload)`
/// of the input committed exactly once, nothing else.
pub fn check_output(params: &Params, input: &[Vec<Record>], output: &[Record]) -> Vec<Finding> {
    let _ = params;
    super::check_multiset(expected(input), output, describe)
}

/// The at-least-once check: every distinct `(id, payload)` of the input
/// committed at least once, nothing else.
pub fn check_output_at_least_once(
    params: &Params,
    input: &[Vec<Record>],
    output: &[Record],
) -> Vec<Finding> {
    let _ = params;
    super::check_multiset_at_least_once(expected(input), output, describe)
}

/// The consistent-cut check of [`VERTEX`]'s state (module docs): exactly
/// the ids of the records before `offsets`, each `true`, and no timers.
/// One line per discrepancy.
pub fn check_state(
    params: &Params,
    input: &[Vec<Record>],
    offsets: &[u64],
    vertex: &str,
    state: &KeyedState,
    timers: &Timers,
) -> Vec<String> {
    let _ = params;
    if vertex != VERTEX {
        return vec![format!(
            "dedup has no keyed vertex `{vertex}` (only `{VERTEX}`)"
        )];
    }
    if offsets.len() != input.len() {
        return vec![format!(
            "{} offsets for {} partitions",
            offsets.len(),
            input.len()
        )];
    }
    let mut want = BTreeSet::new();
    for (log, &cut) in input.iter().zip(offsets) {
        want.extend(log.iter().take(cut as usize).map(|r| r.key.to_vec()));
    }
    let mut problems = Vec::new();
    let seen_true = encode(&true);
    for (key, value) in state {
        if !want.contains(key) {
            problems.push(format!(
                "{} is in the state but not before the cut",
                id_text(key)
            ));
        } else if *value != seen_true {
            problems.push(format!(
                "{}: state {value:?}, expected `true`",
                id_text(key)
            ));
        }
    }
    for key in want.iter().filter(|k| !state.contains_key(*k)) {
        problems.push(format!(
            "{} is before the cut but not in the state",
            id_text(key)
        ));
    }
    if !timers.is_empty() {
        problems.push(format!(
            "dedup registers no timers, but the state has {}",
            timers.len()
        ));
    }
    problems
}

#[cfg(test)]
mod tests;
