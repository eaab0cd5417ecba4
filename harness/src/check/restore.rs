//! Restore-was-completed: every restore reads a checkpoint that the
//! coordinator announced completed and never declared failed.
//!
//! Independent of the output: a job may restore a checkpoint it gave up and
//! still commit the right records by luck (its transactions happened to be
//! committed), and this checker still fails it. It reads only the trace:
//! - `checkpoint_triggered` starts a checkpoint id afresh (a restarted
//!   jobmanager may hand out an id that an earlier one had aborted);
//! - `checkpoint_completed`, and `checkpoints_recovered` (a jobmanager that
//!   read the register of completed checkpoints), announce completion;
//! - `checkpoint_aborted` declares the checkpoint failed, for good: no later
//!   announcement makes it restorable until it is triggered again;
//! - `state_restored` is a restore, judged once per job attempt and checkpoint.
//!
//! This follows Flink's contract for its `CompletedCheckpointStore`: only
//! checkpoints added to the store are ever recovered.

use super::state::secs;
use super::{cap, kind};
use crate::trace::{TraceEvent, What};
use crate::violation::{Checker, Violation};
use flinch_engine::event::{Event, TaskId};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// What the coordinator has said about one checkpoint id.
#[derive(Debug, Clone)]
enum Status {
    Triggered,
    Completed,
    Aborted { at: Duration, reason: String },
}

pub fn restore_was_completed(trace: &[TraceEvent]) -> Vec<Violation> {
    let mut status: BTreeMap<u64, Status> = BTreeMap::new();
    let mut judged: BTreeSet<(u64, u64)> = BTreeSet::new();
    let mut violations = Vec::new();
    for e in trace {
        let What::Engine(event) = &e.what else {
            continue;
        };
        match event {
            Event::CheckpointTriggered { checkpoint, .. } => {
                status.insert(*checkpoint, Status::Triggered);
            }
            Event::CheckpointCompleted { checkpoint, .. } => complete(&mut status, *checkpoint),
            Event::CheckpointsRecovered { checkpoints, .. } => {
                for checkpoint in checkpoints {
                    complete(&mut status, *checkpoint);
                }
            }
            Event::CheckpointAborted { checkpoint, reason } => {
                let reason = reason.clone();
                status.insert(*checkpoint, Status::Aborted { at: e.at, reason });
            }
            Event::StateRestored {
                checkpoint,
                task,
                epoch,
                ..
            } if judged.insert((*epoch, *checkpoint)) => {
                let restore = Restore {
                    at: e.at,
                    checkpoint: *checkpoint,
                    task: *task,
                    epoch: *epoch,
                };
                violations.extend(judge(&restore, status.get(checkpoint)));
            }
            _ => {}
        }
    }
    cap::limit(violations)
}

/// An announcement of completion counts unless the checkpoint was declared
/// failed since it was last triggered.
fn complete(status: &mut BTreeMap<u64, Status>, checkpoint: u64) {
    let entry = status.entry(checkpoint).or_insert(Status::Triggered);
    if !matches!(entry, Status::Aborted { .. }) {
        *entry = Status::Completed;
    }
}

struct Restore {
    at: Duration,
    checkpoint: u64,
    task: TaskId,
    epoch: u64,
}

fn judge(restore: &Restore, status: Option<&Status>) -> Option<Violation> {
    let Restore {
        at,
        checkpoint,
        task,
        epoch,
    } = restore;
    let what = format!(
        "at {} {task} restored checkpoint {checkpoint} in epoch {epoch}",
        secs(*at)
    );
    let (kind, message) = match status? {
        Status::Completed => return None,
        Status::Aborted { at, reason } => (
            kind::RESTORED_ABORTED,
            format!(
                "{what}, which the coordinator declared failed at {}: {reason}",
                secs(*at)
            ),
        ),
        Status::Triggered => (
            kind::RESTORED_UNCOMPLETED,
            format!("{what}, which the coordinator never announced completed"),
        ),
    };
    Some(Violation {
        checkpoint: Some(*checkpoint),
        task: Some(*task),
        at: Some(restore.at),
        ..Violation::new(Checker::RestoreWasCompleted, kind, message)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::fixture::{correct_run, event, kinds, RESTORED};

    fn aborted(checkpoint: u64) -> Event {
        Event::CheckpointAborted {
            checkpoint,
            reason: "expired after 1s".into(),
        }
    }

    fn recovered() -> Event {
        Event::CheckpointsRecovered {
            version: 3,
            epoch: 1,
            checkpoints: vec![RESTORED],
        }
    }

    /// The correct run with `events` of the jobmanager right after the
    /// completion of the checkpoint it later restores (`replace`: instead
    /// of that completion).
    fn tampered(events: Vec<Event>, replace: bool) -> Vec<Violation> {
        let mut run = correct_run();
        let completion = |e: &TraceEvent| matches!(&e.what, What::Engine(Event::CheckpointCompleted { checkpoint, .. }) if *checkpoint == RESTORED);
        let i = run
            .trace
            .iter()
            .position(completion)
            .expect("the fixture completes it");
        let at = run.trace[i].at;
        let new = events.into_iter().map(|e| event(at, "jobmanager", e));
        let place = if replace { i..i + 1 } else { i + 1..i + 1 };
        run.trace.splice(place, new);
        restore_was_completed(&run.trace)
    }

    #[test]
    fn a_correct_run_restores_only_completed_checkpoints() {
        assert_eq!(restore_was_completed(&correct_run().trace), []);
    }

    #[test]
    fn restoring_a_checkpoint_declared_failed_is_caught_once_per_attempt() {
        let violations = tampered(vec![aborted(RESTORED)], false);
        assert_eq!(kinds(&violations), [kind::RESTORED_ABORTED]);
        let v = &violations[0];
        assert_eq!(v.checker, Checker::RestoreWasCompleted);
        assert_eq!(v.checkpoint, Some(RESTORED));
        assert!(
            v.message.contains(
                "restored checkpoint 2 in epoch 2, which the coordinator declared failed at"
            ) && v.message.ends_with("expired after 1s"),
            "{v}"
        );
    }

    #[test]
    fn restoring_a_checkpoint_never_announced_completed_is_caught() {
        let violations = tampered(vec![], true);
        assert_eq!(kinds(&violations), [kind::RESTORED_UNCOMPLETED]);
        assert!(violations[0].message.contains("never announced completed"));
    }

    #[test]
    fn a_later_announcement_does_not_revive_a_failed_checkpoint() {
        let violations = tampered(vec![aborted(RESTORED), recovered()], false);
        assert_eq!(kinds(&violations), [kind::RESTORED_ABORTED]);
    }

    #[test]
    fn a_register_read_announces_completion_and_a_new_trigger_starts_an_id_afresh() {
        let trigger = Event::CheckpointTriggered {
            checkpoint: RESTORED,
            epoch: 1,
        };
        // Aborted, triggered again, then found in the register: restorable.
        let violations = tampered(vec![aborted(RESTORED), trigger, recovered()], true);
        assert_eq!(violations, []);
    }
}
