//! Snapshot ownership (Flink's FLIP-193, `RestoreMode`): a job deletes only
//! the checkpoints it owns. A savepoint is the user's; a checkpoint a
//! resumed job restored in restore mode `no-claim` stays the old job's.
//! Neither may be gone from checkpoint storage after the run, unless a
//! resume in restore mode `claim` took the savepoint over (the resumed job
//! then owns it and deletes it once subsumed).
//!
//! Judged from the trace (`savepoint_completed`, and each `job_resumed`
//! with the first `tasks_deployed` after it, which names the restored
//! checkpoint) against the metadata left on the store hosts' disks
//! ([`crate::outcome::RunOutcome::stored_checkpoints`]). A snapshot is known
//! by its id and the epoch that took it (the latest `checkpoint_triggered`
//! of that id), as its metadata blob is named: a plain savepoint's id is not
//! in the register, so a jobmanager that restarts may hand it out again,
//! and the checkpoint that then reuses it is another snapshot. A run in which a
//! store host lost its disk (`disk_wiped` on `store` or `store-N`) is not
//! judged: the fault, not the job, may have taken the snapshot.

use super::kind::UNOWNED_SNAPSHOT_DELETED;
use super::state::secs;
use crate::outcome::RunOutcome;
use crate::trace::{FaultEvent, What};
use crate::violation::{Checker, Violation};
use flinch_engine::config::RestoreMode;
use flinch_engine::event::{Event, HostRole};
use flinch_engine::register::metadata_name;
use std::collections::BTreeMap;
use std::time::Duration;

/// One violation per snapshot the job did not own that checkpoint storage
/// no longer holds after the run: a savepoint no `claim` resume took over,
/// or the restore point of a `no-claim` resume. `checkpoint` names it.
pub fn snapshot_ownership(outcome: &RunOutcome) -> Vec<Violation> {
    let store_lost = outcome.trace.iter().any(|e| {
        matches!(e.what, What::Fault(FaultEvent::DiskWiped))
            && HostRole::of(&e.host) == Some(HostRole::Store)
    });
    if store_lost {
        return Vec::new();
    }
    // Each snapshot the job must leave, by (id, epoch), with why.
    let mut unowned: BTreeMap<(u64, Option<u64>), String> = BTreeMap::new();
    // The epoch that last triggered each checkpoint id.
    let mut triggered: BTreeMap<u64, u64> = BTreeMap::new();
    // The restore mode of the resume whose first deploy is still to come.
    let mut resuming: Option<(u32, String, Duration)> = None;
    for e in &outcome.trace {
        match &e.what {
            What::Engine(Event::CheckpointTriggered { checkpoint, epoch }) => {
                triggered.insert(*checkpoint, *epoch);
            }
            What::Engine(Event::SavepointCompleted { checkpoint }) => {
                let why = format!("savepoint {checkpoint}, completed at {}", secs(e.at));
                let key = (*checkpoint, triggered.get(checkpoint).copied());
                unowned.insert(key, why);
            }
            What::Fault(FaultEvent::JobResumed {
                run, restore_mode, ..
            }) => resuming = Some((*run, restore_mode.clone(), e.at)),
            What::Engine(Event::TasksDeployed { restore, .. }) => {
                let Some((run, mode, at)) = resuming.take() else {
                    continue;
                };
                let Some(restored) = restore else {
                    continue;
                };
                let key = (*restored, triggered.get(restored).copied());
                if mode == RestoreMode::Claim.name() {
                    // The resumed job owns it now, savepoint or not.
                    unowned.remove(&key);
                } else {
                    let why = format!(
                        "the checkpoint run {run}, resumed at {} in restore mode {mode}, restored",
                        secs(at)
                    );
                    unowned.entry(key).or_insert(why);
                }
            }
            _ => {}
        }
    }
    // Stored, by its epoch if the trace told it (it always does: a
    // snapshot's trigger comes before it completes or is restored).
    let stored = |(checkpoint, epoch): &(u64, Option<u64>)| match epoch {
        Some(epoch) => outcome.stored_checkpoints.contains(&(*checkpoint, *epoch)),
        None => (outcome.stored_checkpoints.iter()).any(|(c, _)| c == checkpoint),
    };
    (unowned.into_iter())
        .filter(|(key, _)| !stored(key))
        .map(|((checkpoint, epoch), why)| {
            let blob = match epoch {
                Some(epoch) => format!(", metadata {}", metadata_name(checkpoint, epoch)),
                None => String::new(),
            };
            let message = format!(
                "checkpoint {checkpoint} ({why}{blob}) is gone from checkpoint storage after \
                 the run: the job deleted a snapshot it does not own (only a resume in restore \
                 mode claim hands a job the snapshot it restores)"
            );
            Violation {
                checkpoint: Some(checkpoint),
                ..Violation::new(
                    Checker::SnapshotOwnership,
                    UNOWNED_SNAPSHOT_DELETED,
                    message,
                )
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::fixture::correct_run;
    use crate::trace::TraceEvent;

    fn at(ms: u64, host: &str, what: What) -> TraceEvent {
        TraceEvent {
            at: Duration::from_millis(ms),
            host: host.into(),
            what,
        }
    }

    fn resumed(ms: u64, mode: RestoreMode, restore: u64) -> [TraceEvent; 2] {
        [
            at(
                ms,
                "client",
                What::Fault(FaultEvent::JobResumed {
                    run: 2,
                    from: "savepoint".into(),
                    restore_mode: mode.name().into(),
                    parallelism: 3,
                    taskmanagers: 3,
                }),
            ),
            at(
                ms + 20,
                "jobmanager",
                What::Engine(Event::TasksDeployed {
                    epoch: 3,
                    restore: Some(restore),
                }),
            ),
        ]
    }

    fn triggered(ms: u64, checkpoint: u64, epoch: u64) -> TraceEvent {
        let what = What::Engine(Event::CheckpointTriggered { checkpoint, epoch });
        at(ms, "jobmanager", what)
    }

    /// A run that took savepoint 7 in epoch 2 and resumed from it in
    /// `mode`, with `stored` (id, epoch) left in storage.
    fn savepoint_run(mode: RestoreMode, stored: &[(u64, u64)]) -> RunOutcome {
        let mut run = correct_run();
        run.trace.push(triggered(990, 7, 2));
        let completed = at(
            1_000,
            "jobmanager",
            What::Engine(Event::SavepointCompleted { checkpoint: 7 }),
        );
        run.trace.push(completed);
        run.trace.extend(resumed(1_200, mode, 7));
        run.stored_checkpoints = stored.iter().copied().collect();
        run
    }

    #[test]
    fn a_savepoint_restored_without_claim_must_stay_in_storage() {
        let kept = savepoint_run(RestoreMode::NoClaim, &[(7, 2), (9, 2)]);
        assert_eq!(snapshot_ownership(&kept), []);
        let deleted = savepoint_run(RestoreMode::NoClaim, &[(9, 2)]);
        let found = snapshot_ownership(&deleted);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].kind, UNOWNED_SNAPSHOT_DELETED);
        assert_eq!(found[0].checker, Checker::SnapshotOwnership);
        assert_eq!(found[0].checkpoint, Some(7));
        assert!(
            found[0].message.starts_with(
                "checkpoint 7 (savepoint 7, completed at 1.000s, metadata meta/0000000007-2) is \
                 gone from checkpoint storage"
            ),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn a_claimed_savepoint_is_the_jobs_to_delete() {
        assert_eq!(
            snapshot_ownership(&savepoint_run(RestoreMode::Claim, &[(9, 2)])),
            []
        );
    }

    /// A jobmanager that restarts may hand a plain savepoint's id out again
    /// (it is not in the register): checkpoint 7 of epoch 3 is another
    /// snapshot, and does not stand for the savepoint 7 of epoch 2 the job
    /// deleted.
    #[test]
    fn a_checkpoint_that_reuses_a_savepoints_id_does_not_stand_for_it() {
        let mut run = savepoint_run(RestoreMode::NoClaim, &[(7, 3), (9, 3)]);
        run.trace.push(triggered(1_100, 7, 3));
        let found = snapshot_ownership(&run);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].message.contains("meta/0000000007-2"),
            "{}",
            found[0].message
        );
        let kept = savepoint_run(RestoreMode::NoClaim, &[(7, 2), (7, 3)]);
        assert_eq!(snapshot_ownership(&kept), []);
    }

    #[test]
    fn a_checkpoint_restored_without_claim_must_stay_too() {
        let mut run = correct_run();
        run.trace.push(triggered(900, 4, 1));
        run.trace.extend(resumed(1_200, RestoreMode::NoClaim, 4));
        run.stored_checkpoints = [(4, 2), (5, 1)].into();
        let found = snapshot_ownership(&run);
        assert_eq!(found.len(), 1);
        assert!(
            found[0].message.contains(
                "the checkpoint run 2, resumed at 1.200s in restore mode no-claim, restored"
            ),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn a_store_that_lost_its_disk_is_not_judged() {
        let mut run = savepoint_run(RestoreMode::NoClaim, &[]);
        run.trace
            .push(at(1_500, "store", What::Fault(FaultEvent::DiskWiped)));
        assert_eq!(snapshot_ownership(&run), []);
    }
}
