//! Restoring a checkpoint taken at another parallelism: which key groups a
//! subtask owns, whose snapshots it reads, and which of the old subtasks'
//! transactions it takes over (docs/savepoints.md, "Rescaling").
//!
//! Follows Flink's `StateAssignmentOperation`:
//! - keyed state moves by key group: subtask `i` of `p` owns the contiguous
//!   range `KeyGroupRangeAssignment.computeKeyGroupRangeForOperatorIndex`
//!   gives, and reads every old snapshot whose range overlaps it, keeping
//!   only its own groups;
//! - operator (list) state, here the two-phase-commit sink's pending
//!   transactions, is redistributed round robin: old subtask `j`'s list goes
//!   to new subtask `j mod p`, which commits it and then aborts whatever
//!   else `j` left open (Flink's `TwoPhaseCommitSinkFunction` commits its
//!   restored pending transactions, then aborts the rest, per transactional
//!   id);
//! - transactions of subtask ids no subtask of either parallelism has (a run
//!   at a still higher parallelism that never checkpointed) are aborted by
//!   subtask 0 (what Flink's `KafkaSink` does by probing transactional ids
//!   past the parallelism until it finds none).
//!
//! Pure data and functions: no IO here.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A contiguous range of key groups, `first..=last` (Flink's
/// `KeyGroupRange`). Never empty when built by [`key_group_range`] with
/// `parallelism <= max_parallelism`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct KeyGroupRange {
    pub first: u32,
    pub last: u32,
}

impl KeyGroupRange {
    /// Whether key group `group` is in the range.
    pub fn contains(self, group: u32) -> bool {
        self.first <= group && group <= self.last
    }

    /// Whether the two ranges share a key group.
    pub fn overlaps(self, other: KeyGroupRange) -> bool {
        self.first <= other.last && other.first <= self.last
    }
}

impl fmt::Display for KeyGroupRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..={}", self.first, self.last)
    }
}

/// The key groups subtask `subtask` of `parallelism` owns, out of
/// `max_parallelism`: Flink's `computeKeyGroupRangeForOperatorIndex`,
/// `first = ceil(subtask × max / p)`, `last = ceil((subtask + 1) × max / p) − 1`,
/// computed in u64. Exactly the groups [`crate::keygroup::subtask_of`]
/// routes to `subtask`.
///
/// # Panics
/// If `parallelism` is 0, or above `max_parallelism` (an empty range),
/// which scenario validation refuses.
pub fn key_group_range(subtask: u32, parallelism: u32, max_parallelism: u32) -> KeyGroupRange {
    assert!(
        parallelism > 0 && parallelism <= max_parallelism && subtask < parallelism,
        "subtask {subtask} of parallelism {parallelism} over {max_parallelism} key groups"
    );
    let (i, p, m) = (
        u64::from(subtask),
        u64::from(parallelism),
        u64::from(max_parallelism),
    );
    let first = (i * m).div_ceil(p);
    let end = ((i + 1) * m).div_ceil(p);
    // Both at most `max_parallelism`, a u32; `end > first` as p <= m.
    KeyGroupRange {
        first: first as u32,
        last: (end - 1) as u32,
    }
}

/// What subtask `subtask` of a vertex now at `parallelism` restores from a
/// checkpoint its vertex took at `old_parallelism`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// The key groups it owns and restores.
    pub key_groups: KeyGroupRange,
    /// The old subtasks whose keyed state it reads (their ranges overlap
    /// its own), ascending.
    pub keyed_from: Vec<u32>,
    /// The old subtasks whose list state (the sink's pending
    /// transactions) it takes over: `j < old_parallelism` with
    /// `j mod parallelism == subtask`, ascending.
    pub list_from: Vec<u32>,
    /// The subtask ids whose transactions left open by older attempts it
    /// aborts, after committing those its list state names: its own and the
    /// old ones it takes over, ascending.
    pub abort_ids: Vec<u32>,
    /// Subtask 0 only: also abort every transaction of a subtask id at or
    /// above this, `max(parallelism, old_parallelism)`, which no subtask of
    /// either parallelism has.
    pub abort_from: Option<u32>,
}

impl Assignment {
    /// Every old subtask whose snapshot it reads, ascending, each once.
    pub fn reads(&self) -> Vec<u32> {
        let mut reads: Vec<u32> = self.keyed_from.clone();
        reads.extend(&self.list_from);
        reads.sort_unstable();
        reads.dedup();
        reads
    }
}

/// The [`Assignment`] of subtask `subtask` of `parallelism` restoring a
/// checkpoint taken at `old_parallelism`, over `max_parallelism` key
/// groups. At equal parallelisms it reads only its own old snapshot.
///
/// # Panics
/// As [`key_group_range`], for either parallelism.
pub fn assign(
    subtask: u32,
    parallelism: u32,
    old_parallelism: u32,
    max_parallelism: u32,
) -> Assignment {
    let key_groups = key_group_range(subtask, parallelism, max_parallelism);
    let keyed_from = (0..old_parallelism)
        .filter(|&j| key_group_range(j, old_parallelism, max_parallelism).overlaps(key_groups))
        .collect();
    let list_from: Vec<u32> = (0..old_parallelism)
        .filter(|j| j % parallelism == subtask)
        .collect();
    let mut abort_ids = list_from.clone();
    if !abort_ids.contains(&subtask) {
        abort_ids.push(subtask);
        abort_ids.sort_unstable();
    }
    Assignment {
        key_groups,
        keyed_from,
        list_from,
        abort_ids,
        abort_from: (subtask == 0).then_some(parallelism.max(old_parallelism)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keygroup::subtask_of;

    #[test]
    fn ranges_are_exactly_the_groups_routing_sends_to_the_subtask() {
        for max in [1, 2, 7, 128, 129, 1000] {
            for p in 1..=max.min(12) {
                let mut next = 0;
                for i in 0..p {
                    let range = key_group_range(i, p, max);
                    assert_eq!(range.first, next, "p {p} max {max}: contiguous");
                    for g in range.first..=range.last {
                        assert_eq!(subtask_of(g, p, max), i, "group {g}, p {p}, max {max}");
                    }
                    next = range.last + 1;
                }
                assert_eq!(next, max, "p {p} max {max}: every group once");
            }
        }
    }

    #[test]
    fn flinks_ranges_for_three_subtasks_of_128() {
        // KeyGroupRangeAssignmentTest-style fixed values.
        let ranges: Vec<_> = (0..3).map(|i| key_group_range(i, 3, 128)).collect();
        assert_eq!(
            ranges,
            vec![
                KeyGroupRange { first: 0, last: 42 },
                KeyGroupRange {
                    first: 43,
                    last: 85
                },
                KeyGroupRange {
                    first: 86,
                    last: 127
                },
            ]
        );
    }

    #[test]
    fn at_equal_parallelism_each_subtask_reads_only_its_own_snapshot() {
        for i in 0..4 {
            let a = assign(i, 4, 4, 128);
            assert_eq!(a.keyed_from, vec![i]);
            assert_eq!(a.list_from, vec![i]);
            assert_eq!(a.abort_ids, vec![i]);
            assert_eq!(a.reads(), vec![i]);
        }
        assert_eq!(assign(0, 4, 4, 128).abort_from, Some(4));
        assert_eq!(assign(1, 4, 4, 128).abort_from, None);
    }

    #[test]
    fn a_downscale_hands_every_old_list_and_id_to_exactly_one_subtask() {
        for (old, new) in [(4, 2), (5, 2), (3, 1), (7, 3), (2, 3), (1, 4)] {
            let assignments: Vec<_> = (0..new).map(|i| assign(i, new, old, 128)).collect();
            let mut lists: Vec<u32> = assignments
                .iter()
                .flat_map(|a| a.list_from.clone())
                .collect();
            lists.sort_unstable();
            assert_eq!(lists, (0..old).collect::<Vec<_>>(), "{old} -> {new}: lists");
            let mut ids: Vec<u32> = assignments
                .iter()
                .flat_map(|a| a.abort_ids.clone())
                .collect();
            ids.sort_unstable();
            assert_eq!(
                ids,
                (0..old.max(new)).collect::<Vec<_>>(),
                "{old} -> {new}: ids"
            );
            // Every old subtask's keyed state is read by the owners of its groups.
            for j in 0..old {
                let range = key_group_range(j, old, 128);
                for g in [range.first, range.last] {
                    let owner = subtask_of(g, new, 128);
                    assert!(assignments[owner as usize].keyed_from.contains(&j));
                }
            }
        }
    }

    #[test]
    fn an_upscale_reads_the_overlapping_old_snapshots() {
        // 2 -> 3 over 128: old ranges 0..=63 and 64..=127; new 0..=42,
        // 43..=85, 86..=127.
        assert_eq!(assign(0, 3, 2, 128).keyed_from, vec![0]);
        assert_eq!(assign(1, 3, 2, 128).keyed_from, vec![0, 1]);
        assert_eq!(assign(2, 3, 2, 128).keyed_from, vec![1]);
        assert_eq!(assign(2, 3, 2, 128).list_from, Vec::<u32>::new());
        assert_eq!(assign(2, 3, 2, 128).abort_ids, vec![2]);
        assert_eq!(assign(0, 3, 2, 128).abort_from, Some(3));
    }

    #[test]
    #[should_panic(expected = "parallelism 5 over 4 key groups")]
    fn more_subtasks_than_key_groups_is_refused() {
        key_group_range(0, 5, 4);
    }
}
