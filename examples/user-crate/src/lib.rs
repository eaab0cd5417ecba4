//! A user's job: count each key's records and emit the running count, tested for exactly-once
//! with flinch. `Forgetful` is the same operator with a bug planted: its count is left out of
//! the snapshot.

use flinch::{Context, Finding, Job, JobGraph, Multiset, Operator, Record, Workload};
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;

/// The state of one key: how many of its records so far.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Counted {
    n: u64,
}

/// The same state, written by someone who thought the count could be rebuilt: `n` is not
/// snapshotted, so a restore starts it from 0 again.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Forgetful {
    #[serde(skip)]
    n: u64,
}

/// A per-key count state.
pub trait Count:
    Serialize + serde::de::DeserializeOwned + Default + std::fmt::Debug + 'static
{
    /// Count one more record; the new count.
    fn next(&mut self) -> u64;
}

impl Count for Counted {
    fn next(&mut self) -> u64 {
        self.n += 1;
        self.n
    }
}

impl Count for Forgetful {
    fn next(&mut self) -> u64 {
        self.n += 1;
        self.n
    }
}

/// Emits `(key, n)` for the n-th record of each key.
pub struct Counter<S>(PhantomData<S>);

impl<S: Count> Operator for Counter<S> {
    type Key = u32;
    type In = ();
    type OutKey = u32;
    type Out = u64;
    type State = S;

    fn process(&mut self, key: &u32, _: (), state: &mut S, ctx: &mut Context<'_, u32, u64>) {
        ctx.emit(*key, state.next());
    }
}

/// The job: the reference workload's records, keyed by `u32`, counted per key. Exactly-once
/// means each key's counts `1..=N` are committed once each, however partitions interleave.
#[derive(Debug)]
pub struct PerKeyCount<S>(PhantomData<fn() -> S>);

impl<S> PerKeyCount<S> {
    pub fn new() -> Self {
        PerKeyCount(PhantomData)
    }
}

impl<S> Default for PerKeyCount<S> {
    fn default() -> Self {
        PerKeyCount::new()
    }
}

impl<S: Count> Job for PerKeyCount<S> {
    fn name(&self) -> &'static str {
        "per-key-count"
    }

    fn graph(&self) -> JobGraph {
        JobGraph::source("source")
            .and_then(|s| s.key_by("count", || Counter::<S>(PhantomData)))
            .expect("valid, distinct vertex names")
            .build()
    }

    fn input(&self, workload: &Workload, seed: u64) -> Vec<Vec<Record>> {
        flinch::workload_records(workload, seed)
    }

    fn check_output(&self, input: &[Vec<Record>], output: &[Record]) -> Vec<Finding> {
        let mut totals = std::collections::BTreeMap::<u32, u64>::new();
        for r in input.iter().flatten() {
            *totals
                .entry(flinch::decode(&r.key).expect("u32 keys"))
                .or_default() += 1;
        }
        let mut expected = Multiset::new();
        for (key, total) in totals {
            for n in 1..=total {
                let k = flinch::encode(&key).expect("postcard encodes a u32");
                let v = flinch::encode(&n).expect("postcard encodes a u64");
                expected.insert((k.to_vec(), v.to_vec()), 1);
            }
        }
        flinch::check_multiset(expected, output, |k, v| {
            let key: Option<u32> = flinch::decode(k).ok();
            let n: Option<u64> = flinch::decode(v).ok();
            format!("key {key:?}, count {n:?}")
        })
    }
}
