//! Consistent cut: each completed checkpoint's keyed state equals the
//! oracle's state at that checkpoint's source offsets.
//!
//! The oracle for `count[k]` at offsets `o` is a fresh [`CountModel`] (the
//! harness's own keyed count, not the engine's operator) fed every input
//! record `r` with `r.offset < o[r.partition]` that the job routes to `k`;
//! its digest (crc32 of the state encoded as the engine encodes a keyed
//! operator's snapshot, per key group) must equal the `operator_digest`
//! that `count[k]` reported when it snapshotted that checkpoint. A count map does not depend on the order records arrive
//! in, so the oracle needs no interleaving, and it can move from one
//! checkpoint's offsets to the next one's by feeding only the records in
//! between (it starts over if offsets ever go back): one pass over the input
//! for a whole run.
//!
//! Only exactly-once checkpoints are cuts: in at-least-once mode a task
//! snapshots without aligning, so its state may legitimately hold records
//! from after the barrier on a faster input (docs/flink-semantics.md). The checker
//! says nothing in that mode.

use super::state::secs;
use super::{cap, kind};
use crate::outcome::RunOutcome;
use crate::trace::What;
use crate::violation::{Checker, Violation};
use flinch_engine::config::{CheckpointMode, JobConfig};
use flinch_engine::event::{Event, TaskId};
use flinch_engine::job::Plan;
use flinch_engine::keygroup;
use flinch_engine::operator::SnapshotWriter;
use flinch_engine::record::{self, Bytes, InputRecord, Key};
use std::collections::BTreeMap;
use std::time::Duration;

/// What a count subtask reported for one checkpoint.
#[derive(Debug, Clone, Copy)]
struct Snapshot {
    epoch: u64,
    operator_digest: Option<u32>,
    at: Duration,
}

/// A completed checkpoint.
struct Completed<'a> {
    checkpoint: u64,
    offsets: &'a [u64],
    at: Duration,
}

/// The oracle's state of one count subtask at a checkpoint's offsets.
struct Expected {
    digest: u32,
    records: u64,
}

/// Every count subtask of every completed checkpoint against the oracle;
/// nothing in at-least-once mode (see the module documentation).
pub fn consistent_cut(outcome: &RunOutcome, config: &JobConfig) -> Vec<Violation> {
    if config.checkpoint.mode == CheckpointMode::AtLeastOnce {
        return Vec::new();
    }
    let mut plan = crate::keyed_count::plan(config);
    let mut routed = route(&outcome.input, &plan);
    let mut counts = plan.sink_vertex();
    let mut oracle = Oracle::new(counts.parallelism, plan.max_parallelism, routed.len());
    let mut snapshots: BTreeMap<(u64, TaskId), Snapshot> = BTreeMap::new();
    let mut violations = Vec::new();
    for e in &outcome.trace {
        if let Some(parallelism) = crate::lifecycle::resumed_parallelism(e) {
            // A resumed run routes by its own parallelism.
            let mut resumed = config.clone();
            resumed.topology.parallelism = parallelism;
            plan = crate::keyed_count::plan(&resumed);
            routed = route(&outcome.input, &plan);
            counts = plan.sink_vertex();
            oracle = Oracle::new(counts.parallelism, plan.max_parallelism, routed.len());
            continue;
        }
        match &e.what {
            What::Engine(Event::StateSnapshotted {
                checkpoint,
                task,
                epoch,
                operator_digest,
                ..
            }) if task.vertex == counts.name => {
                let snapshot = Snapshot {
                    epoch: *epoch,
                    operator_digest: *operator_digest,
                    at: e.at,
                };
                snapshots.insert((*checkpoint, *task), snapshot);
            }
            What::Engine(Event::CheckpointCompleted {
                checkpoint,
                offsets,
            }) => {
                let completed = Completed {
                    checkpoint: *checkpoint,
                    offsets,
                    at: e.at,
                };
                let expected = oracle.at(&routed, offsets);
                for (k, expected) in (0..counts.parallelism).zip(&expected) {
                    let task = plan.sink(k);
                    let snapshot = snapshots.get(&(*checkpoint, task));
                    violations.extend(check_cut(&completed, task, snapshot, expected));
                }
            }
            _ => {}
        }
    }
    cap::limit(violations)
}

/// keyed-count's state in one count subtask, as the harness models it:
/// how many records of each key it has counted. Only its encoding is the
/// engine's ([`KeyedSnapshot`]: per key group, keys and counts in postcard),
/// because the consistent-cut check compares digests of bytes.
///
/// Keys below [`DENSE_KEYS`] (those of most workloads) are counted in
/// a table indexed by key, the rest in a map: one record costs an index,
/// not a tree search.
#[derive(Debug, Clone, Default)]
pub(crate) struct CountModel {
    /// `dense[k]`: the count of key `k` (0: not counted), for `k` below
    /// [`DENSE_KEYS`]; as long as the largest such key counted, plus one.
    dense: Vec<u64>,
    /// The counts of keys from [`DENSE_KEYS`] up.
    sparse: BTreeMap<Key, u64>,
}

/// The keys [`CountModel`] and [`route`] keep in tables indexed by key (a
/// table of this many counts is 512 KiB; keyed-count's default workload
/// has 16 keys). Larger keys go to a map.
const DENSE_KEYS: Key = 1 << 16;

impl PartialEq for CountModel {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for CountModel {}

impl CountModel {
    /// Count one record of `key`.
    pub(crate) fn count(&mut self, key: Key) {
        if key < DENSE_KEYS {
            let k = key as usize;
            if k >= self.dense.len() {
                self.dense.resize(k + 1, 0);
            }
            self.dense[k] += 1;
        } else {
            *self.sparse.entry(key).or_insert(0) += 1;
        }
    }

    /// Each counted key with its count, in key order.
    fn iter(&self) -> impl Iterator<Item = (Key, u64)> + '_ {
        let dense = (0..).zip(self.dense.iter().copied());
        let dense = dense.filter(|&(_, count)| count > 0);
        dense.chain(self.sparse.iter().map(|(k, c)| (*k, *c)))
    }

    /// The crc32 of this state encoded as a keyed operator's snapshot over
    /// `max_parallelism` key groups: the `operator_digest` a count subtask
    /// holding it reports.
    pub(crate) fn digest(&self, max_parallelism: u32) -> u32 {
        // (key group, key, count), in the snapshot's order: by key group,
        // then by key bytes (not by key).
        let mut states: Vec<(u32, Bytes, u64)> = (self.iter())
            .map(|(key, count)| {
                let key = encode(&key);
                (keygroup::key_group(&key, max_parallelism), key, count)
            })
            .collect();
        states.sort_unstable_by(|a, b| (a.0, a.1.as_slice()).cmp(&(b.0, b.1.as_slice())));
        let groups = || states.chunk_by(|a, b| a.0 == b.0);
        let mut snapshot = SnapshotWriter::new(groups().count());
        for group in groups() {
            snapshot.group(group[0].0, group.len());
            for (_, key, count) in group {
                snapshot.state(key, &encode(count));
            }
            snapshot.timers(0);
        }
        crc32fast::hash(&snapshot.finish())
    }
}

/// A key or count in the engine's record encoding.
fn encode<T: serde::Serialize>(value: &T) -> Bytes {
    record::encode(value).expect("postcard encodes integers")
}

/// Each input record with the count subtask its key goes to. A key is
/// encoded and routed once: the input has many records per key.
fn route(input: &[Vec<InputRecord>], plan: &Plan) -> Vec<Vec<(InputRecord, u32)>> {
    let parallelism = plan.sink_vertex().parallelism;
    // Each key is routed once: small keys remembered by index, the rest
    // in a map.
    let mut dense: Vec<Option<u32>> = Vec::new();
    let mut sparse: BTreeMap<Key, u32> = BTreeMap::new();
    let mut with_subtask = |r: &InputRecord| {
        let subtask = || plan.route(&encode(&r.key), parallelism);
        let to = if r.key < DENSE_KEYS {
            let k = r.key as usize;
            if k >= dense.len() {
                dense.resize(k + 1, None);
            }
            *dense[k].get_or_insert_with(subtask)
        } else {
            *sparse.entry(r.key).or_insert_with(subtask)
        };
        (*r, to)
    };
    input
        .iter()
        .map(|log| log.iter().map(&mut with_subtask).collect())
        .collect()
}

/// Every count subtask's keyed count after the input records below some
/// offsets.
struct Oracle {
    counts: u32,
    max_parallelism: u32,
    ops: Vec<CountModel>,
    /// Records fed per count subtask.
    records: Vec<u64>,
    /// Per partition: the offset bound fed up to, and how many records of
    /// the partition that is.
    fed: Vec<(u64, usize)>,
}

impl Oracle {
    fn new(counts: u32, max_parallelism: u32, partitions: usize) -> Self {
        Oracle {
            counts,
            max_parallelism,
            ops: vec![CountModel::default(); counts as usize],
            records: vec![0; counts as usize],
            fed: vec![(0, 0); partitions],
        }
    }

    /// The state of every count subtask after the records below `offsets`
    /// (a partition without an offset contributes nothing) of the input
    /// `routed` to them (always the same between two calls of [`Oracle::new`]).
    fn at(&mut self, routed: &[Vec<(InputRecord, u32)>], offsets: &[u64]) -> Vec<Expected> {
        let bound = |p: usize| offsets.get(p).copied().unwrap_or(0);
        if (0..self.fed.len()).any(|p| bound(p) < self.fed[p].0) {
            *self = Oracle::new(self.counts, self.max_parallelism, self.fed.len());
        }
        for (p, log) in routed.iter().enumerate() {
            let (_, done) = self.fed[p];
            let below = log[done..].iter().take_while(|(r, _)| r.offset < bound(p));
            let mut fed = 0;
            for (record, k) in below {
                let Some(op) = self.ops.get_mut(*k as usize) else {
                    unreachable!("Plan::route gives a subtask below parallelism, not {k}");
                };
                op.count(record.key);
                self.records[*k as usize] += 1;
                fed += 1;
            }
            self.fed[p] = (bound(p), done + fed);
        }
        let expected = self.ops.iter().zip(&self.records);
        let expected = expected.map(|(op, records)| Expected {
            digest: op.digest(self.max_parallelism),
            records: *records,
        });
        expected.collect()
    }
}

fn check_cut(
    completed: &Completed,
    task: TaskId,
    snapshot: Option<&Snapshot>,
    expected: &Expected,
) -> Option<Violation> {
    let Completed {
        checkpoint,
        offsets,
        at,
    } = *completed;
    if snapshot.and_then(|s| s.operator_digest) == Some(expected.digest) {
        return None;
    }
    // Only a violation pays for its message.
    let done = format!(
        "checkpoint {checkpoint} completed at {} with sources at offsets {offsets:?}",
        secs(at)
    );
    let (kind, message) = match snapshot {
        None => (
            kind::MISSING_SNAPSHOT,
            format!("{done}, but no snapshot of it by {task} was recorded before"),
        ),
        Some(s) => match s.operator_digest {
            None => (
                kind::MISSING_SNAPSHOT,
                format!(
                    "{done}, but {task}'s snapshot of it (epoch {}, at {}) carries no \
                     operator digest",
                    s.epoch,
                    secs(s.at)
                ),
            ),
            Some(d) => (
                kind::INCONSISTENT_CUT,
                format!(
                    "{done}, but {task}'s snapshot of it (epoch {}, at {}) has operator digest \
                     {d:#010x}, while the oracle's state after the {} records routed to {task} \
                     below those offsets has digest {:#010x}",
                    s.epoch,
                    secs(s.at),
                    expected.records,
                    expected.digest
                ),
            ),
        },
    };
    Some(Violation {
        checkpoint: Some(checkpoint),
        task: Some(task),
        at: Some(at),
        ..Violation::new(Checker::ConsistentCut, kind, message)
    })
}

#[cfg(test)]
mod tests;
