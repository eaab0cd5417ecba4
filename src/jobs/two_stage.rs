//! `two-stage`: a keyed count re-keyed by region into a second keyed stage
//! (two aligned shuffles, as a Flink job with two `keyBy`s).
//!
//! # The job
//!
//! Input: key `u32` (the workload's keys, as keyed-count's log), value
//! `()`. Two keyed vertices:
//!
//! 1. [`STAGE_1`] runs [`CountStage`]: per key, the number `n` of its
//!    records so far; emits `(key, n)`;
//! 2. a stateless re-key ([`rekey`]) makes that `(region(key), (key, n))`,
//!    with [`region`]`(key) = key mod regions`;
//! 3. [`STAGE_2`] runs [`RegionStage`], keyed by region: keeps the
//!    region's total of records, and emits `(key, (n, region))`.
//!
//! No event time: timestamps are 0 and the watermark is 0 until end of
//! input.
//!
//! # Exactly-once ([`check_output`])
//!
//! The committed output is exactly the multiset `{(k, (n, region(k))) : n
//! in 1..=N_k}` where `N_k` is the number of input records of key `k`,
//! each once. Which record gets which `n` depends on how partitions
//! interleave; the multiset does not. A record lost, replayed into a
//! count or duplicated at either shuffle shows as a missing, unexpected or
//! duplicated output.
//!
//! # State at a cut ([`check_state`])
//!
//! With aligned barriers at both shuffles, at source offsets `c`:
//! [`STAGE_1`] holds, per key with records before the cut, their number;
//! [`STAGE_2`] holds, per region with records before the cut, the number
//! of them. Neither has timers.
//!
//! State is bounded: one counter per key, one per region.

use super::{encode, Finding, KeyedState, Multiset, ParamError, Timers};
use flinch_engine::config::WorkloadConfig;
use flinch_engine::operator::{Context, Operator};
use flinch_engine::record::{self, Record};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// The job's name in a scenario's `job = { name = "two-stage" }`.
pub const NAME: &str = "two-stage";
/// The first keyed vertex: the per-key count (subtasks `count[i]`).
pub const STAGE_1: &str = "count";
/// The second keyed vertex: the per-region total (subtasks `region[i]`).
pub const STAGE_2: &str = "region";

/// The parameters, from `job = { name = "two-stage", regions = 4 }`
/// without its `name`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {
    /// How many regions the second stage groups keys into; default 4,
    /// `1..=1024`.
    pub regions: u32,
}

impl Default for Params {
    fn default() -> Self {
        Params { regions: 4 }
    }
}

/// The most regions.
pub const REGIONS_MAX: u32 = 1_024;

impl Params {
    /// Check every field against its bound. Errors: `regions` outside
    /// `1..=1024` ([`ParamError`]).
    pub fn validate(&self) -> Result<Params, ParamError> {
        if (1..=REGIONS_MAX).contains(&self.regions) {
            return Ok(self.clone());
        }
        Err(ParamError {
            job: NAME,
            field: "regions",
            bound: format!("at least 1 and at most {REGIONS_MAX}"),
            got: self.regions.to_string(),
            why: "the second stage merges keys into fewer regions; more regions than the default 128 key groups, many times over, would spread them as thinly as the keys",
        })
    }
}

/// The region of `key`: `key mod regions`.
pub fn region(params: &Params, key: u32) -> u32 {
    key % params.regions.max(1)
}

/// The stateless step between the stages, chained before [`STAGE_2`]
/// (Flink's `map` before a `keyBy`): `(key, n)` → `(region(key), (key, n))`.
pub fn rekey(params: &Params) -> impl Fn(u32, u64) -> (u32, (u32, u64)) + Clone + 'static {
    let params = params.clone();
    move |key, n| (region(&params, key), (key, n))
}

/// two-stage uses no event time: its sources' watermark is 0 until end
/// of input (`u64::MAX`).
pub fn watermark(params: &Params, partition: u32, next_offset: u64) -> u64 {
    let _ = (params, partition, next_offset);
    0
}

/// The input log: keyed-count's ([`flinch_engine::workload::generate`]:
/// `records` round robin over `partitions`, keys by `keys` and `skew`),
/// as engine records (value `()`, timestamp 0). Pure.
pub fn generate(params: &Params, workload: &WorkloadConfig, seed: u64) -> Vec<Vec<Record>> {
    let _ = params;
    let log = flinch_engine::workload::generate(workload, seed);
    log.iter()
        .map(|p| p.iter().map(|r| r.to_record()).collect())
        .collect()
}

/// The first stage: per key, how many records it has seen (Flink's
/// `KeyedProcessFunction` with a `ValueState<Long>`). Key `u32`, input
/// `()`, output `(key, n)`: keyed-count's operator.
pub use flinch_harness::keyed_count::KeyedCount as CountStage;

/// The second stage, keyed by region: keeps the region's total of records
/// and passes each `(key, n)` on as `(key, (n, region))`.
#[derive(Debug, Clone, Copy, Default)]
pub struct RegionStage;

impl Operator for RegionStage {
    type Key = u32;
    type In = (u32, u64);
    type OutKey = u32;
    type Out = (u64, u32);
    type State = u64;

    fn process(
        &mut self,
        region: &u32,
        (key, n): (u32, u64),
        total: &mut u64,
        ctx: &mut Context<'_, u32, (u64, u32)>,
    ) {
        *total += 1;
        ctx.emit(key, (n, *region));
    }
}

// ---------------------------------------------------------------------
// The reference model: written from the module docs, not from the operators.

/// Records per key among those before `cut` (every record for `None`).
fn per_key(input: &[Vec<Record>], cut: Option<&[u64]>) -> BTreeMap<u32, u64> {
    let mut counts = BTreeMap::new();
    for (p, log) in input.iter().enumerate() {
        let end = cut.map_or(log.len(), |c| {
            c.get(p).map_or(0, |&n| n as usize).min(log.len())
        });
        for r in &log[..end] {
            if let Ok(key) = record::decode::<u32>(&r.key) {
                *counts.entry(key).or_default() += 1;
            }
        }
    }
    counts
}

fn describe(key: &[u8], value: &[u8]) -> String {
    match (
        record::decode::<u32>(key),
        record::decode::<(u64, u32)>(value),
    ) {
        (Ok(key), Ok((n, region))) => format!("key-{key} count {n} in region {region}"),
        _ => format!("output {key:?} = {value:?}"),
    }
}

/// The exactly-once check (module docs): `{(k, (n, region(k))) : n in
/// 1..=N_k}`, each once, nothing else.
pub fn check_output(params: &Params, input: &[Vec<Record>], output: &[Record]) -> Vec<Finding> {
    let mut expected = Multiset::new();
    for (key, total) in per_key(input, None) {
        for n in 1..=total {
            expected.insert((encode(&key), encode(&(n, region(params, key)))), 1);
        }
    }
    super::check_multiset(expected, output, describe)
}

/// The consistent-cut check of [`STAGE_1`]'s or [`STAGE_2`]'s state
/// (module docs) against the input before `offsets`. One line per
/// discrepancy.
pub fn check_state(
    params: &Params,
    input: &[Vec<Record>],
    offsets: &[u64],
    vertex: &str,
    state: &KeyedState,
    timers: &Timers,
) -> Vec<String> {
    if offsets.len() != input.len() {
        return vec![format!(
            "{} offsets for {} partitions",
            offsets.len(),
            input.len()
        )];
    }
    let counts = per_key(input, Some(offsets));
    let want: BTreeMap<u32, u64> = match vertex {
        STAGE_1 => counts,
        STAGE_2 => {
            let mut regions = BTreeMap::new();
            for (key, n) in counts {
                *regions.entry(region(params, key)).or_default() += n;
            }
            regions
        }
        _ => {
            return vec![format!(
                "two-stage has no keyed vertex `{vertex}` (only `{STAGE_1}` and `{STAGE_2}`)"
            )]
        }
    };
    let what = if vertex == STAGE_1 { "key" } else { "region" };
    let mut got = BTreeMap::new();
    let mut problems = Vec::new();
    for (k, v) in state {
        match (record::decode::<u32>(k), record::decode::<u64>(v)) {
            (Ok(k), Ok(v)) => {
                got.insert(k, v);
            }
            _ => problems.push(format!("undecodable state entry {k:?} = {v:?}")),
        }
    }
    let all: BTreeSet<u32> = want.keys().chain(got.keys()).copied().collect();
    for k in all {
        let (w, g) = (want.get(&k).copied(), got.get(&k).copied());
        if w != g {
            let show = |x: Option<u64>| x.map_or("nothing".to_string(), |n| n.to_string());
            problems.push(format!(
                "{vertex}: {what} {k} holds {}, expected {}",
                show(g),
                show(w)
            ));
        }
    }
    if !timers.is_empty() {
        problems.push(format!(
            "{vertex} registers no timers, but the state has {}",
            timers.len()
        ));
    }
    problems
}

#[cfg(test)]
mod tests;
