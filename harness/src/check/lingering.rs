//! Lingering transactions: at the end of a finished job, the sink holds no
//! transaction pre-committed and neither committed nor aborted.
//!
//! A pre-committed transaction is durable but invisible output. In a real
//! transactional sink (Kafka transactions, which flinch's sink follows) an
//! open transaction holds back the last stable offset, so read-committed
//! consumers stall behind it until it is resolved or times out. Flink's
//! `TwoPhaseCommitSinkFunction` resolves every one: a transaction whose
//! checkpoint never completed is committed with the next completed
//! checkpoint (`notifyCheckpointComplete` commits every pending transaction
//! up to it), and on restore the recovered transaction is committed and
//! every other one of an older attempt aborted (`initializeState`). A job
//! that finished has had its last checkpoint completed and committed, so
//! nothing may be left.
//!
//! A run of a lifecycle that a stop-with-savepoint ended FINISHED is judged
//! from the trace at its end (kind `open-at-stop`): Flink's stop commits
//! the savepoint's transactions before the job finishes, so the stopped
//! job's output is visible whether or not anyone resumes it. A transaction
//! pre-committed in the run and neither committed, aborted nor timed out
//! when the run's `job_state finished` was traced is open at the stop.
//!
//! Only a **finished** job is judged. A job that ended FAILED (or never
//! ended) leaves its open transactions, in Flink as here, to whoever resumes
//! the job from its last checkpoint, whose restore commits or aborts them,
//! or to the external system's transaction timeout; nothing in the run
//! could have resolved them, so a leftover there is no defect.

use super::cap;
use super::kind::{LINGERING, OPEN_AT_STOP};
use super::state::secs;
use crate::outcome::RunOutcome;
use crate::trace::What;
use crate::violation::{Checker, Violation};
use flinch_engine::event::{Event, JobState};
use flinch_engine::job::Plan;
use flinch_engine::record::TxnId;
use std::collections::{BTreeMap, BTreeSet};

/// One violation per transaction the sink still holds pre-committed after
/// a finished job, naming the transaction (its sink subtask, epoch and
/// checkpoint in `txns`, `checkpoint` and `task`), how many records it
/// holds, when it was pre-committed and whether its checkpoint completed.
/// A pending copy of a transaction that is also committed, or also timed
/// out (`/sink/timed-out/`), is not lingering: the commit or the abort
/// happened, only the removal of the pending copy did not, and the sink's
/// recovery counts it as committed or timed out.
pub fn lingering_transactions(outcome: &RunOutcome, plan: &Plan) -> Vec<Violation> {
    let mut violations = open_at_stop(outcome, plan);
    if outcome.final_state != Some(JobState::Finished) {
        return cap::limit(violations);
    }
    let committed: BTreeSet<TxnId> = (outcome.output.iter().map(|c| c.0))
        .chain(outcome.timed_out.iter().copied())
        .collect();
    let completed = completed_checkpoints(outcome);
    violations.extend(
        (outcome.output_pending.iter())
            .filter(|(txn, _)| !committed.contains(txn))
            .map(|(txn, records)| lingering(outcome, plan, *txn, records.len(), &completed)),
    );
    cap::limit(violations)
}

/// One violation per transaction a lifecycle's run other than the last
/// (the last is judged by the sink's disk) left open when it ended
/// FINISHED, by the trace.
fn open_at_stop(outcome: &RunOutcome, plan: &Plan) -> Vec<Violation> {
    let runs = crate::lifecycle::runs(&outcome.trace);
    let mut violations = Vec::new();
    for (index, run) in runs.iter().enumerate().take(runs.len().saturating_sub(1)) {
        let Some(end) = run
            .iter()
            .position(|e| matches!(&e.what, What::Engine(Event::JobState(JobState::Finished))))
        else {
            continue;
        };
        // Each transaction's state at the end, in trace order.
        let mut open: BTreeMap<TxnId, (std::time::Duration, u64)> = BTreeMap::new();
        for e in &run[..end] {
            match &e.what {
                What::Engine(Event::TxnPreCommitted { txn, records }) => {
                    open.insert(*txn, (e.at, *records));
                }
                What::Engine(
                    Event::TxnCommitted { txn, .. }
                    | Event::TxnAborted { txn }
                    | Event::TxnTimedOut { txn, .. },
                ) => {
                    open.remove(txn);
                }
                _ => {}
            }
        }
        let finished = run[end].at;
        for (txn, (at, records)) in open {
            let message = format!(
                "{txn} (sink subtask {}, epoch {}, checkpoint {}) was pre-committed at {} with \
                 {records} records and was still open when run {} of the lifecycle ended \
                 FINISHED at {}: a stop-with-savepoint commits the savepoint's transactions \
                 before the job finishes",
                txn.subtask,
                txn.epoch,
                txn.checkpoint,
                secs(at),
                index + 1,
                secs(finished)
            );
            violations.push(Violation {
                txns: vec![txn],
                checkpoint: Some(txn.checkpoint),
                task: Some(plan.sink(txn.subtask)),
                at: Some(finished),
                ..Violation::new(Checker::LingeringTransaction, OPEN_AT_STOP, message)
            });
        }
    }
    violations
}

/// Checkpoints the trace shows completed: announced by the coordinator
/// (with the job attempt that triggered them: a checkpoint id an attempt
/// gave up may be handed out again by a later one), or found in the
/// register by a jobmanager that recovered them (an id the register names
/// is never handed out again).
#[derive(Debug, Default)]
struct Completed {
    /// (epoch, checkpoint)
    announced: BTreeSet<(u64, u64)>,
    recovered: BTreeSet<u64>,
}

impl Completed {
    /// Whether the checkpoint that pre-committed `txn` completed.
    fn of(&self, txn: TxnId) -> bool {
        self.announced.contains(&(txn.epoch, txn.checkpoint))
            || self.recovered.contains(&txn.checkpoint)
    }

    /// Another attempt that completed a checkpoint of `txn`'s id.
    fn reused(&self, txn: TxnId) -> Option<u64> {
        (self.announced.iter())
            .find(|(e, c)| *c == txn.checkpoint && *e != txn.epoch)
            .map(|(e, _)| *e)
    }
}

fn completed_checkpoints(outcome: &RunOutcome) -> Completed {
    let mut completed = Completed::default();
    // The attempt that last triggered each checkpoint id.
    let mut triggered: BTreeMap<u64, u64> = BTreeMap::new();
    for e in &outcome.trace {
        match &e.what {
            What::Engine(Event::CheckpointTriggered { checkpoint, epoch }) => {
                triggered.insert(*checkpoint, *epoch);
            }
            What::Engine(Event::CheckpointCompleted { checkpoint, .. }) => {
                let epoch = triggered.get(checkpoint).copied().unwrap_or_default();
                completed.announced.insert((epoch, *checkpoint));
            }
            What::Engine(Event::CheckpointsRecovered { checkpoints, .. }) => {
                completed.recovered.extend(checkpoints.iter().copied());
            }
            _ => {}
        }
    }
    completed
}

fn lingering(
    outcome: &RunOutcome,
    plan: &Plan,
    txn: TxnId,
    records: usize,
    completed: &Completed,
) -> Violation {
    let pre_committed = outcome.trace.iter().rev().find_map(|e| match &e.what {
        What::Engine(Event::TxnPreCommitted { txn: t, .. }) if *t == txn => Some(e.at),
        _ => None,
    });
    let when = pre_committed.map_or(String::new(), |at| format!(" at {}", secs(at)));
    let checkpoint = match (completed.of(txn), completed.reused(txn)) {
        (true, _) => format!("its checkpoint {} completed", txn.checkpoint),
        (false, Some(epoch)) => format!(
            "its checkpoint {} never completed in epoch {}; epoch {epoch} completed a \
             checkpoint {} of its own",
            txn.checkpoint, txn.epoch, txn.checkpoint
        ),
        (false, None) => format!("its checkpoint {} never completed", txn.checkpoint),
    };
    let message = format!(
        "{txn} (sink subtask {}, epoch {}, checkpoint {}) was pre-committed{when} with \
         {records} records and is still pending after the job finished: neither committed nor \
         aborted ({checkpoint}); read-committed consumers would wait behind it",
        txn.subtask, txn.epoch, txn.checkpoint
    );
    // The moment: the job finished with it still pending.
    let finished = outcome.trace.iter().rev().find_map(|e| match &e.what {
        What::Engine(Event::JobState(JobState::Finished)) => Some(e.at),
        _ => None,
    });
    Violation {
        txns: vec![txn],
        checkpoint: Some(txn.checkpoint),
        task: Some(plan.sink(txn.subtask)),
        at: Some(finished.unwrap_or(outcome.sim_time)),
        ..Violation::new(Checker::LingeringTransaction, LINGERING, message)
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{correct_run, failed_run, kinds, leave_pending, txn, TXNS};
    use super::*;
    use crate::check::MAX_PER_KIND;
    use flinch_engine::config::JobConfig;

    fn plan() -> Plan {
        crate::keyed_count::plan(&JobConfig::default())
    }

    #[test]
    fn a_clean_finished_run_leaves_nothing_pending() {
        let run = correct_run();
        assert!(run.output_pending.is_empty());
        assert_eq!(lingering_transactions(&run, &plan()), []);
    }

    #[test]
    fn a_transaction_left_pre_committed_is_named_with_its_epoch_and_checkpoint() {
        let mut run = correct_run();
        // Pre-committed in epoch 2 at checkpoint 5, after the last one that
        // completed: never committed, never aborted.
        let left = TxnId {
            subtask: 0,
            epoch: 2,
            checkpoint: TXNS + 1,
        };
        leave_pending(&mut run, left, 3);
        let found = lingering_transactions(&run, &plan());
        assert_eq!(kinds(&found), [LINGERING]);
        let v = &found[0];
        assert_eq!(v.checker, Checker::LingeringTransaction);
        assert_eq!(v.txns, [left]);
        assert_eq!(v.checkpoint, Some(TXNS + 1));
        assert_eq!(v.task.map(|t| t.to_string()), Some("count[0]".into()));
        assert!(
            v.message.starts_with(
                "txn-s0-e2-c5 (sink subtask 0, epoch 2, checkpoint 5) was pre-committed at "
            ) && v.message.contains("with 3 records and is still pending")
                && v.message.contains("its checkpoint 5 never completed"),
            "{}",
            v.message
        );
    }

    #[test]
    fn a_pending_transaction_of_a_completed_checkpoint_says_so() {
        let mut run = correct_run();
        // Checkpoint 2 completed in epoch 1, the attempt of the transaction
        // left pending (a restore should have committed it).
        let kept = TxnId {
            subtask: 1,
            epoch: 1,
            checkpoint: 2,
        };
        leave_pending(&mut run, kept, 1);
        let found = lingering_transactions(&run, &plan());
        assert_eq!(found.len(), 1);
        assert!(
            found[0].message.contains("its checkpoint 2 completed"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn an_id_another_attempt_completed_is_not_this_attempts_checkpoint() {
        let mut run = correct_run();
        // An older attempt's transaction at checkpoint 3, an id epoch 2
        // handed out again and completed: epoch 1's checkpoint 3 never did.
        let stale = TxnId {
            subtask: 0,
            epoch: 1,
            checkpoint: 3,
        };
        leave_pending(&mut run, stale, 1);
        let found = lingering_transactions(&run, &plan());
        assert_eq!(found.len(), 1);
        assert!(
            found[0].message.contains(
                "its checkpoint 3 never completed in epoch 1; epoch 2 completed a checkpoint 3 \
                 of its own"
            ),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn a_pending_copy_of_a_committed_transaction_is_not_lingering() {
        // The sink crashed (or its disk failed) between writing the committed
        // copy and removing the pending one; its recovery counts it committed.
        let mut run = correct_run();
        leave_pending(&mut run, txn(TXNS), 2);
        assert_eq!(lingering_transactions(&run, &plan()), []);
    }

    #[test]
    fn a_failed_or_unfinished_job_is_not_judged() {
        let left = TxnId {
            subtask: 0,
            epoch: 1,
            checkpoint: 3,
        };
        let mut failed = failed_run();
        leave_pending(&mut failed, left, 1);
        assert_eq!(lingering_transactions(&failed, &plan()), []);
        let mut unfinished = correct_run();
        unfinished.final_state = None;
        leave_pending(&mut unfinished, left, 1);
        assert_eq!(lingering_transactions(&unfinished, &plan()), []);
    }

    #[test]
    fn many_leftovers_are_capped_with_a_summary() {
        let mut run = correct_run();
        let many = MAX_PER_KIND as u64 + 5;
        for checkpoint in 100..100 + many {
            let t = TxnId {
                subtask: 1,
                epoch: 3,
                checkpoint,
            };
            leave_pending(&mut run, t, 1);
        }
        let found = lingering_transactions(&run, &plan());
        assert_eq!(found.len(), MAX_PER_KIND + 1);
        assert_eq!(found.last().and_then(|v| v.omitted), Some(5));
        assert_eq!(found.iter().map(Violation::count).sum::<u64>(), many);
    }
}
