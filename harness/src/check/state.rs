//! Recovered state equals checkpoint state: every restore read exactly the
//! bytes its checkpoint's snapshot wrote, judged by their digests.

use super::{cap, kind};
use crate::trace::{TraceEvent, What};
use crate::violation::{Checker, Violation};
use flinch_engine::event::{Event, TaskId};
use std::collections::BTreeMap;
use std::time::Duration;

/// What a task wrote for a checkpoint, or read back from it.
#[derive(Debug, Clone, Copy)]
struct Digest {
    checkpoint: u64,
    task: TaskId,
    epoch: u64,
    digest: u32,
    at: Duration,
}

/// Each `state_restored` carries the digest of the latest `state_snapshotted`
/// for the same checkpoint and task earlier in the trace (of any epoch).
pub fn recovered_state(trace: &[TraceEvent]) -> Vec<Violation> {
    let mut snapshots: BTreeMap<(u64, TaskId), Digest> = BTreeMap::new();
    let mut violations = Vec::new();
    for e in trace {
        match &e.what {
            What::Engine(Event::StateSnapshotted {
                checkpoint,
                task,
                epoch,
                digest,
                ..
            }) => {
                let d = digest_at(e.at, *checkpoint, *task, *epoch, *digest);
                snapshots.insert((*checkpoint, *task), d);
            }
            What::Engine(Event::StateRestored {
                checkpoint,
                task,
                epoch,
                digest,
                from,
            }) => {
                let restored = digest_at(e.at, *checkpoint, *task, *epoch, *digest);
                // A restore at another parallelism reads other tasks' snapshots.
                let owner = from.unwrap_or(*task);
                let snapshot = snapshots.get(&(*checkpoint, owner));
                violations.extend(check_restore(&restored, owner, snapshot));
            }
            _ => {}
        }
    }
    cap::limit(violations)
}

fn digest_at(at: Duration, checkpoint: u64, task: TaskId, epoch: u64, digest: u32) -> Digest {
    Digest {
        checkpoint,
        task,
        epoch,
        digest,
        at,
    }
}

/// The violation, if any, of `restored`, which read the snapshot of
/// `owner` (the restoring task itself unless the parallelism changed),
/// against that snapshot as traced.
fn check_restore(restored: &Digest, owner: TaskId, snapshot: Option<&Digest>) -> Option<Violation> {
    let Digest {
        checkpoint, task, ..
    } = *restored;
    let whose = if owner == task {
        String::new()
    } else {
        format!(" from {owner}'s snapshot")
    };
    let read = format!(
        "at {} {task} restored checkpoint {checkpoint}{whose} in epoch {} and read digest {:#010x}",
        secs(restored.at),
        restored.epoch,
        restored.digest
    );
    let (kind, message) = match snapshot {
        None => (
            kind::UNKNOWN_CHECKPOINT,
            format!(
                "{read}, but no snapshot of checkpoint {checkpoint} by {owner} was recorded before"
            ),
        ),
        Some(s) if s.digest != restored.digest => (
            kind::DIGEST_MISMATCH,
            format!(
                "{read}, but its snapshot (epoch {}, at {}) had digest {:#010x}",
                s.epoch,
                secs(s.at),
                s.digest
            ),
        ),
        Some(_) => return None,
    };
    Some(Violation {
        checkpoint: Some(checkpoint),
        task: Some(task),
        at: Some(restored.at),
        ..Violation::new(Checker::RecoveredState, kind, message)
    })
}

/// Simulated time as the trace prints it: `1.234s`.
pub(super) fn secs(at: Duration) -> String {
    format!("{:.3}s", at.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::fixture::{correct_run, digest, event, kinds, RESTORED, TASKS};

    const COUNT: TaskId = TASKS[1];

    fn snapshot(checkpoint: u64, task: TaskId, digest: u32) -> Event {
        let epoch = 1;
        Event::StateSnapshotted {
            checkpoint,
            task,
            epoch,
            digest,
            operator_digest: None,
        }
    }

    fn restore(checkpoint: u64, task: TaskId, digest: u32) -> Event {
        let epoch = 2;
        Event::StateRestored {
            checkpoint,
            task,
            epoch,
            digest,
            from: None,
        }
    }

    /// The kinds `recovered_state` finds in a trace of these events.
    fn check(events: Vec<Event>) -> Vec<&'static str> {
        let at = |i: usize| Duration::from_millis(i as u64);
        let trace: Vec<TraceEvent> = (events.into_iter().enumerate())
            .map(|(i, e)| event(at(i), "taskmanager-1", e))
            .collect();
        kinds(&recovered_state(&trace))
    }

    /// The correct run with every restore's event changed by `tamper`.
    fn tampered(tamper: impl Fn(&mut u64, &mut u32)) -> Vec<Violation> {
        let mut run = correct_run();
        for e in &mut run.trace {
            if let What::Engine(Event::StateRestored {
                checkpoint, digest, ..
            }) = &mut e.what
            {
                tamper(checkpoint, digest);
            }
        }
        recovered_state(&run.trace)
    }

    #[test]
    fn a_correct_run_restores_what_its_checkpoint_wrote() {
        assert_eq!(recovered_state(&correct_run().trace), []);
    }

    #[test]
    fn a_restore_with_another_digest_is_a_digest_mismatch_showing_both() {
        let violations = tampered(|_, digest| *digest = 0xbad);
        assert_eq!(kinds(&violations), [kind::DIGEST_MISMATCH; 2]);
        let v = &violations[1];
        assert_eq!((v.checkpoint, v.task), (Some(RESTORED), Some(COUNT)));
        assert_eq!(v.checker, Checker::RecoveredState);
        let wrote = format!("{:#010x}", digest(RESTORED, COUNT));
        assert!(
            v.message
                .contains("count[0] restored checkpoint 2 in epoch 2"),
            "{v}"
        );
        assert!(v.message.contains("read digest 0x00000bad"), "{v}");
        assert!(
            v.message
                .ends_with(&format!("(epoch 1, at 0.100s) had digest {wrote}")),
            "{v}"
        );
    }

    #[test]
    fn a_restore_of_a_checkpoint_never_snapshotted_is_an_unknown_checkpoint() {
        let violations = tampered(|checkpoint, _| *checkpoint = 9);
        assert_eq!(kinds(&violations), [kind::UNKNOWN_CHECKPOINT; 2]);
        assert_eq!(violations[0].checkpoint, Some(9));
        assert!(violations[0]
            .message
            .contains("no snapshot of checkpoint 9 by source[0]"));
    }

    #[test]
    fn a_restore_matches_only_a_snapshot_of_the_same_task_taken_before_it() {
        let source = TASKS[0];
        let cases: [(Vec<Event>, &[&str]); 4] = [
            (vec![snapshot(3, COUNT, 7), restore(3, COUNT, 7)], &[]),
            (
                vec![restore(3, COUNT, 7), snapshot(3, COUNT, 7)],
                &[kind::UNKNOWN_CHECKPOINT],
            ),
            (
                vec![snapshot(3, source, 7), restore(3, COUNT, 7)],
                &[kind::UNKNOWN_CHECKPOINT],
            ),
            (
                vec![snapshot(2, COUNT, 7), restore(3, COUNT, 7)],
                &[kind::UNKNOWN_CHECKPOINT],
            ),
        ];
        for (i, (events, expected)) in cases.into_iter().enumerate() {
            assert_eq!(check(events), expected, "case {i}");
        }
    }

    #[test]
    fn a_restore_matches_the_latest_snapshot_of_its_checkpoint_and_task() {
        let twice = || vec![snapshot(3, COUNT, 7), snapshot(3, COUNT, 8)];
        let with = |e: Event| twice().into_iter().chain([e]).collect();
        assert_eq!(check(with(restore(3, COUNT, 8))), Vec::<&str>::new());
        assert_eq!(check(with(restore(3, COUNT, 7))), [kind::DIGEST_MISMATCH]);
    }

    #[test]
    fn many_bad_restores_are_capped() {
        let events = (0..30).map(|c| restore(c, COUNT, 1)).collect();
        let found = check(events);
        assert_eq!(found, [kind::UNKNOWN_CHECKPOINT; 21]);
    }
}
