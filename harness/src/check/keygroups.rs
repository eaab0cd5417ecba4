//! Key-group coverage: after every restore, each key group of a keyed
//! vertex is restored by exactly one subtask, the one that owns it at the
//! parallelism it restored at (Flink's key-group ranges,
//! `KeyGroupRangeAssignment.computeKeyGroupRangeForOperatorIndex`).
//!
//! It reads only the trace's `key_groups_restored {checkpoint, task,
//! epoch, parallelism, key_groups}` (one per keyed subtask per restore,
//! docs/savepoints.md) and the job's `max_parallelism`:
//! - a subtask whose range is not the one Flink's formula gives subtask
//!   `task.subtask` of `parallelism` is `key-group-misassigned`: its records
//!   are routed by the formula, so state restored elsewhere is never read and
//!   state it lacks starts from nothing;
//! - two subtasks of one vertex and job attempt whose ranges share a group
//!   is `key-group-restored-twice`;
//! - when every subtask of a vertex in an attempt restored, a group none of
//!   them did is `key-group-not-restored`.
//!
//! The range formula is written here again, apart from the engine's
//! (`flinch_engine::rescale`), so that a wrong formula there is caught.

use super::state::secs;
use super::{cap, kind};
use crate::trace::{TraceEvent, What};
use crate::violation::{Checker, Violation};
use flinch_engine::event::{Event, TaskId, Vertex};
use flinch_engine::rescale::KeyGroupRange;
use std::collections::BTreeMap;
use std::time::Duration;

/// One subtask's restore as traced.
#[derive(Debug, Clone, Copy)]
struct Restore {
    at: Duration,
    checkpoint: u64,
    task: TaskId,
    parallelism: u32,
    range: KeyGroupRange,
}

/// Flink's range for subtask `index` of `parallelism` over `max` key
/// groups: `[(i·max + p − 1) / p, ((i + 1)·max − 1) / p]`, or `None` when
/// the subtask cannot exist (`index >= parallelism`, `parallelism` 0 or
/// above `max`).
fn flink_range(index: u32, parallelism: u32, max: u32) -> Option<KeyGroupRange> {
    if parallelism == 0 || parallelism > max || index >= parallelism {
        return None;
    }
    let (i, p, m) = (u64::from(index), u64::from(parallelism), u64::from(max));
    // Flink's expression as written, not the engine's `div_ceil`.
    #[allow(clippy::manual_div_ceil)]
    let first = (i * m + p - 1) / p;
    let last = ((i + 1) * m - 1) / p;
    Some(KeyGroupRange {
        first: u32::try_from(first).ok()?,
        last: u32::try_from(last).ok()?,
    })
}

/// Every restore whose key groups are not exactly its own, and every key
/// group a job attempt's restore gave to two subtasks or, with all of them
/// restored, to none; `max_parallelism` is the job's number of key groups.
pub fn key_group_coverage(trace: &[TraceEvent], max_parallelism: u32) -> Vec<Violation> {
    let mut violations = Vec::new();
    // Per (epoch, vertex): each subtask's latest restore.
    let mut attempts: BTreeMap<(u64, Vertex), BTreeMap<u32, Restore>> = BTreeMap::new();
    for e in trace {
        let What::Engine(Event::KeyGroupsRestored {
            checkpoint,
            task,
            epoch,
            parallelism,
            key_groups,
        }) = &e.what
        else {
            continue;
        };
        let restore = Restore {
            at: e.at,
            checkpoint: *checkpoint,
            task: *task,
            parallelism: *parallelism,
            range: *key_groups,
        };
        let expected = flink_range(task.subtask, *parallelism, max_parallelism);
        if expected != Some(*key_groups) {
            let owns = expected.map_or_else(
                || format!("no subtask {} of {parallelism} exists", task.subtask),
                |r| format!("subtask {} of {parallelism} owns {r}", task.subtask),
            );
            violations.push(violation(
                kind::KEY_GROUP_MISASSIGNED,
                &restore,
                *epoch,
                format!("over {max_parallelism} key groups {owns}"),
            ));
        }
        attempts
            .entry((*epoch, task.vertex))
            .or_default()
            .insert(task.subtask, restore);
    }
    for ((epoch, _), restores) in &attempts {
        violations.extend(coverage(restores, *epoch, max_parallelism));
    }
    cap::limit(violations)
}

/// The groups two subtasks of one attempt both restored, and, when all of
/// its subtasks restored, those none did.
fn coverage(restores: &BTreeMap<u32, Restore>, epoch: u64, max: u32) -> Vec<Violation> {
    let mut violations = Vec::new();
    let mut by_first: Vec<&Restore> = restores.values().collect();
    by_first.sort_by_key(|r| (r.range.first, r.task.subtask));
    for pair in by_first.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if a.range.overlaps(b.range) {
            violations.push(violation(
                kind::KEY_GROUP_RESTORED_TWICE,
                b,
                epoch,
                format!(
                    "{} restored {} in the same attempt, so key groups {}..={} were restored twice",
                    a.task,
                    a.range,
                    b.range.first,
                    a.range.last.min(b.range.last)
                ),
            ));
        }
    }
    let Some(any) = restores.values().next() else {
        return violations;
    };
    let complete = (0..any.parallelism).all(|s| restores.contains_key(&s));
    if !complete {
        return violations;
    }
    let mut next = 0u64;
    for r in &by_first {
        if u64::from(r.range.first) > next {
            violations.push(violation(
                kind::KEY_GROUP_NOT_RESTORED,
                r,
                epoch,
                format!(
                    "no subtask of the {} that restored restored key groups {next}..={}",
                    any.parallelism,
                    r.range.first - 1
                ),
            ));
        }
        next = next.max(u64::from(r.range.last) + 1);
    }
    if next < u64::from(max) {
        let last = by_first.last().expect("a complete attempt has a restore");
        violations.push(violation(
            kind::KEY_GROUP_NOT_RESTORED,
            last,
            epoch,
            format!(
                "no subtask of the {} that restored restored key groups {next}..={}",
                any.parallelism,
                max - 1
            ),
        ));
    }
    violations
}

fn violation(kind: &'static str, r: &Restore, epoch: u64, why: String) -> Violation {
    let message = format!(
        "at {} {} restored checkpoint {} in epoch {epoch} as subtask {} of {} with key groups \
         {}, but {why}",
        secs(r.at),
        r.task,
        r.checkpoint,
        r.task.subtask,
        r.parallelism,
        r.range
    );
    Violation {
        checkpoint: Some(r.checkpoint),
        task: Some(r.task),
        at: Some(r.at),
        ..Violation::new(Checker::KeyGroupCoverage, kind, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::fixture::{event, kinds};

    fn restored(epoch: u64, subtask: u32, parallelism: u32, first: u32, last: u32) -> TraceEvent {
        let at = Duration::from_millis(u64::from(subtask) + epoch * 100);
        event(
            at,
            "taskmanager-1",
            Event::KeyGroupsRestored {
                checkpoint: 3,
                task: TaskId {
                    vertex: Vertex::named("count"),
                    subtask,
                },
                epoch,
                parallelism,
                key_groups: KeyGroupRange { first, last },
            },
        )
    }

    #[test]
    fn flinks_formula_gives_contiguous_ranges_covering_every_group() {
        for max in [1, 3, 128, 1000] {
            for p in 1..=max.min(9) {
                let ranges: Vec<_> = (0..p).map(|i| flink_range(i, p, max).unwrap()).collect();
                assert_eq!(ranges[0].first, 0);
                assert_eq!(ranges[p as usize - 1].last, max - 1);
                assert!(ranges.windows(2).all(|w| w[1].first == w[0].last + 1));
            }
        }
        assert_eq!(flink_range(3, 3, 128), None);
        assert_eq!(flink_range(0, 129, 128), None);
    }

    #[test]
    fn a_rescaled_restore_by_flinks_ranges_passes() {
        // 2 -> 3 subtasks over 128 key groups, then 3 -> 1.
        let trace = vec![
            restored(2, 0, 3, 0, 42),
            restored(2, 1, 3, 43, 85),
            restored(2, 2, 3, 86, 127),
            restored(3, 0, 1, 0, 127),
        ];
        assert_eq!(key_group_coverage(&trace, 128), []);
    }

    #[test]
    fn a_subtask_restoring_its_old_range_is_misassigned_and_the_groups_go_twice_or_nowhere() {
        // Upscale 2 -> 3 where each subtask kept its old index's range:
        // subtask 0 took 0..=63, subtask 1 64..=127, subtask 2 nothing.
        let trace = vec![
            restored(2, 0, 3, 0, 63),
            restored(2, 1, 3, 64, 127),
            restored(2, 2, 3, 86, 127),
        ];
        let violations = key_group_coverage(&trace, 128);
        assert_eq!(
            kinds(&violations),
            [
                kind::KEY_GROUP_MISASSIGNED,
                kind::KEY_GROUP_MISASSIGNED,
                kind::KEY_GROUP_RESTORED_TWICE,
            ]
        );
        let v = &violations[0];
        assert_eq!(v.checker, Checker::KeyGroupCoverage);
        assert!(
            v.message.contains(
                "count[0] restored checkpoint 3 in epoch 2 as subtask 0 of 3 with key groups \
                 0..=63, but over 128 key groups subtask 0 of 3 owns 0..=42"
            ),
            "{v}"
        );
        assert!(
            violations[2].message.contains("64..=127"),
            "{}",
            violations[2]
        );
    }

    #[test]
    fn a_group_no_subtask_restored_is_reported_once_all_restored() {
        // Subtask 1 restored a range ending short of the last group.
        let short = vec![restored(2, 0, 2, 0, 63), restored(2, 1, 2, 64, 100)];
        let violations = key_group_coverage(&short, 128);
        assert_eq!(
            kinds(&violations),
            [kind::KEY_GROUP_MISASSIGNED, kind::KEY_GROUP_NOT_RESTORED]
        );
        assert!(
            violations[1].message.contains("101..=127"),
            "{}",
            violations[1]
        );
        // An attempt whose subtask 1 never restored (it failed first) is
        // not judged for coverage.
        assert_eq!(key_group_coverage(&short[..1], 128), []);
    }
}
