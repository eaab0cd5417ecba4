//! Checkers (docs/design.md §4): pure functions of what a run left behind
//! ([`RunOutcome`]) and what its scenario expects, returning [`Violation`]s
//! as data, never errors.
//!
//! - [`exactly_once`] and [`at_least_once`]: the keyed-count oracle, record
//!   by record (`check/records.rs`); for any other job, [`model_output`]:
//!   the job's own reference model over its whole output (`check/model.rs`);
//! - [`recovered_state`]: every restore read the state its checkpoint wrote
//!   (`check/state.rs`);
//! - [`restore_was_completed`]: every restore read a checkpoint the
//!   coordinator announced completed and never declared failed
//!   (`check/restore.rs`);
//! - [`key_group_coverage`]: after every restore each key group is restored
//!   by exactly one subtask, its owner at the restored parallelism
//!   (`check/keygroups.rs`);
//! - [`consistent_cut`]: every completed checkpoint's keyed state is the
//!   oracle's at its source offsets (`check/cut.rs`);
//! - [`restart_conformance`]: every failover was restarted or given up on as
//!   the configured strategy says, judged by an independent model of Flink's
//!   strategies (`check/restarts.rs`, `check/restart_model.rs`);
//! - [`single_leader`]: with `ha`, no jobmanager acted as the leader after
//!   `ha` granted a newer leader epoch to another (`check/leader.rs`);
//! - [`liveness`]: after the last fault heals, the job ends within a
//!   [`LivenessBound`] judged from the input it has left (`check/liveness.rs`);
//! - [`expected_outcome`]: the job ended the way the scenario said it would
//!   (`check/expected.rs`);
//! - [`lingering_transactions`]: a finished job leaves no transaction
//!   pre-committed and neither committed nor aborted on the sink, nor does
//!   a stop-with-savepoint at its end (`check/lingering.rs`);
//! - [`snapshot_ownership`]: a job deletes no snapshot it does not own: a
//!   savepoint, or what a resume in restore mode `no-claim` restored
//!   (`check/ownership.rs`).
//!
//! Each checker reports at most [`MAX_PER_KIND`] violations of one kind, then
//! one violation of the same kind saying how many more it left out, so a run
//! that lost everything still reads in one screen.
//!
//! A checker that cannot fail is a defect: every one is tested by tampering
//! with a correct run (`check/fixture.rs`) and watching it catch the damage.

mod cap;
pub mod clocks;
mod cut;
mod expected;
#[cfg(test)]
mod fixture;
mod keygroups;
mod leader;
mod lingering;
mod liveness;
mod model;
pub mod moment;
mod ownership;
mod records;
pub mod restart_model;
mod restarts;
mod restore;
mod state;

pub use cap::MAX_PER_KIND;
pub use cut::consistent_cut;
pub use expected::expected_outcome;
pub use keygroups::key_group_coverage;
pub use leader::single_leader;
pub use lingering::lingering_transactions;
pub use liveness::{liveness, LivenessBound};
pub use model::{model_cut, model_output};
pub use ownership::snapshot_ownership;
pub use records::{at_least_once, duplicates, exactly_once};
pub use restarts::restart_conformance;
pub use restore::restore_was_completed;
pub use state::recovered_state;

use crate::expect::Expectation;
use crate::lifecycle::StopWith;
use crate::outcome::RunOutcome;
use crate::scenario::Scenario;
use crate::violation::Violation;
use flinch_engine::event::{Event, JobState};

/// The `kind` of every violation these checkers report.
pub mod kind {
    /// An input record without committed output.
    pub const MISSING: &str = "missing";
    /// An input record whose output was committed more than once.
    pub const DUPLICATED: &str = "duplicated";
    /// Committed output for a record that is not in the input.
    pub const UNEXPECTED: &str = "unexpected";
    /// A key whose counts are not 1..n, each once, rising within a partition.
    pub const WRONG_COUNT: &str = "wrong-count";
    /// An output with a value its job's model says it cannot have (a wrong
    /// sum, count or payload).
    pub const WRONG_VALUE: &str = "wrong-value";
    /// A restore read other state than its checkpoint's snapshot wrote.
    pub const DIGEST_MISMATCH: &str = "digest-mismatch";
    /// A restore of a checkpoint that no snapshot was recorded for.
    pub const UNKNOWN_CHECKPOINT: &str = "unknown-checkpoint";
    /// A restore of a checkpoint the coordinator declared failed.
    pub const RESTORED_ABORTED: &str = "restored-aborted";
    /// A restore of a checkpoint the coordinator never announced completed.
    pub const RESTORED_UNCOMPLETED: &str = "restored-uncompleted";
    /// The job failed although the scenario expected it to finish.
    pub const JOB_FAILED: &str = "job-failed";
    /// The job ran again after it had finished or failed.
    pub const RESUMED_AFTER_END: &str = "resumed-after-end";
    /// The job had not finished when the run hit its time bound.
    pub const NOT_FINISHED: &str = "not-finished";
    /// The scenario expected the job to fail, and it did not.
    pub const JOB_DID_NOT_FAIL: &str = "job-did-not-fail";
    /// The job failed, but not for the reason the scenario expected.
    pub const WRONG_FAILURE_REASON: &str = "wrong-failure-reason";
    /// A transaction committed after the job had failed.
    pub const COMMITTED_AFTER_FAILURE: &str = "committed-after-failure";
    /// A completed checkpoint's keyed state differs from the oracle's at its
    /// source offsets.
    pub const INCONSISTENT_CUT: &str = "inconsistent-cut";
    /// A completed checkpoint without a keyed subtask's snapshot (or its
    /// operator digest).
    pub const MISSING_SNAPSHOT: &str = "missing-snapshot";
    /// A restart the strategy should have refused, or one no failover asked for.
    pub const UNEXPECTED_RESTART: &str = "unexpected-restart";
    /// A give-up where the strategy should have restarted, or one no
    /// failover asked for.
    pub const UNEXPECTED_GIVE_UP: &str = "unexpected-give-up";
    /// A restart after another delay than the strategy's.
    pub const WRONG_DELAY: &str = "wrong-delay";
    /// A restart numbered otherwise than the strategy counts.
    pub const WRONG_ATTEMPT: &str = "wrong-attempt";
    /// The job did not end within the bound after the last fault healed.
    pub const NOT_LIVE: &str = "not-live";
    /// A transaction still pre-committed, neither committed nor aborted,
    /// after the job finished.
    pub const LINGERING: &str = "lingering";
    /// A run of a lifecycle that ended FINISHED (a stop-with-savepoint)
    /// with a transaction its sink pre-committed still open.
    pub const OPEN_AT_STOP: &str = "open-at-stop";
    /// A savepoint, or a checkpoint a `no-claim` resume restored, is gone
    /// from checkpoint storage: the job deleted a snapshot it did not own.
    pub const UNOWNED_SNAPSHOT_DELETED: &str = "unowned-snapshot-deleted";
    /// A jobmanager acted as the leader under an epoch older than one `ha`
    /// had granted to another.
    pub const SPLIT_BRAIN: &str = "split-brain";
    /// A subtask restored other key groups than it owns at its parallelism.
    pub const KEY_GROUP_MISASSIGNED: &str = "key-group-misassigned";
    /// Two subtasks of one job attempt restored the same key group.
    pub const KEY_GROUP_RESTORED_TWICE: &str = "key-group-restored-twice";
    /// Every subtask of a job attempt restored, and none restored this group.
    pub const KEY_GROUP_NOT_RESTORED: &str = "key-group-not-restored";
    /// The run ended before a lifecycle step's stop came: the job ran
    /// fewer runs than its `[[lifecycle]]` describes.
    pub const LIFECYCLE_INCOMPLETE: &str = "lifecycle-incomplete";
}

/// Every checker, with the output checker that `scenario.expect` calls for,
/// in the order a person reads them: the output first, then the state, then
/// the restarts, then when and how the job ended. (The consistent cut says
/// nothing about at-least-once checkpoints: see `check/cut.rs`.)
///
/// Output the job declared lost on purpose ([`RunOutcome::output_lost`]:
/// transactions the sink's timeout aborted, given up by a job that set
/// `sink.ignore_failures_after_transaction_timeout`) counts as output for
/// the output checkers: that loss, and only that, is forgiven, and it is
/// still checked to be real output that nothing else committed again.
pub fn check_all(outcome: &RunOutcome, scenario: &Scenario) -> Vec<Violation> {
    let expect = &scenario.expect;
    let keyed_count = scenario.job.is_keyed_count();
    let with_lost;
    let output = if outcome.output_lost.is_empty() {
        outcome
    } else {
        with_lost = counting_lost_output(outcome);
        &with_lost
    };
    let mut violations = match expect {
        _ if !keyed_count => model_output(output, scenario.job.model.as_ref(), expect),
        Expectation::ExactlyOnce => exactly_once(output),
        Expectation::AtLeastOnce => at_least_once(output),
        Expectation::JobFailed { .. } => never_duplicated(output),
    };
    violations.extend(recovered_state(&outcome.trace));
    violations.extend(restore_was_completed(&outcome.trace));
    violations.extend(key_group_coverage(
        &outcome.trace,
        scenario.config.topology.max_parallelism,
    ));
    let plan = flinch_engine::job::Plan::new(&scenario.job.model.graph(), &scenario.config);
    if keyed_count {
        violations.extend(consistent_cut(outcome, &scenario.config));
    } else {
        let model = scenario.job.model.as_ref();
        violations.extend(model_cut(outcome, model, &plan, &scenario.config));
    }
    violations.extend(restart_conformance(
        &outcome.trace,
        &scenario.config.restart,
    ));
    violations.extend(single_leader(&outcome.trace));
    violations.extend(lingering_transactions(outcome, &plan));
    violations.extend(snapshot_ownership(outcome));
    violations.extend(liveness(outcome, &LivenessBound::of(scenario)));
    let expects_failure = matches!(expect, Expectation::JobFailed { .. });
    violations.extend(lifecycle_completed(
        outcome,
        &scenario.lifecycle,
        expects_failure,
    ));
    violations.extend(expected_outcome(outcome, expect));
    violations
}

/// A violation when the run ended before every `[[lifecycle]]` step
/// resumed the job: a stop that never came (its event never happened, or
/// came too late for `max_sim_time`) leaves the job in an earlier run,
/// which the other verdicts would judge as if it were the last.
/// `expects_failure`: the scenario expects the job to fail, so the last
/// run may end FAILED before its stop (with a savepoint) ended it.
fn lifecycle_completed(
    outcome: &RunOutcome,
    steps: &[crate::lifecycle::Step],
    expects_failure: bool,
) -> Vec<Violation> {
    let resumed = (outcome.trace.iter())
        .filter(|e| crate::lifecycle::resumed_parallelism(e).is_some())
        .count();
    let mut violations = savepoints_taken(outcome, steps, expects_failure);
    violations.extend(cancels_came_while_running(outcome, steps));
    if resumed + 1 >= crate::lifecycle::run_count(steps) {
        return violations;
    }
    let Some(step) = steps.get(resumed) else {
        return violations;
    };
    let stopped = outcome.trace.iter().any(|e| {
        matches!(&e.what, crate::trace::What::Fault(crate::trace::FaultEvent::JobStopped { run, .. })
            if *run as usize == resumed + 1)
    });
    let waited = match stopped {
        true => "its stop came, but the run ended before the resume".to_string(),
        false => format!("its stop, {}, never came", stop_due(step, resumed + 1)),
    };
    let message = format!(
        "the lifecycle has {} runs, but the job ran {}: lifecycle[{resumed}] did not resume it ({waited}; the run lasted {:.3}s of max_sim_time)",
        crate::lifecycle::run_count(steps),
        resumed + 1,
        outcome.sim_time.as_secs_f64()
    );
    violations.push(Violation::new(
        crate::violation::Checker::ExpectedOutcome,
        kind::LIFECYCLE_INCOMPLETE,
        message,
    ));
    violations
}

/// A violation for each run a stop-with-savepoint was to end that it did
/// not: the run must end FINISHED after a savepoint of the stop completed,
/// with no failover and no redeploy between the two (a failover fails the
/// stop, and a jobmanager that restarts or takes over redeploys the job
/// without one; either way the job reads on past the savepoint). Otherwise the job ended before the stop
/// took a savepoint, or a failed stop was not asked again (the client
/// crashed, was cut off, or ran out of patience), and the resume `from =
/// "savepoint"` would restore something else.
///
/// A drained stop (the last step, which does not resume) is judged on the
/// last run: a failover after its savepoint completed restores the drained
/// savepoint, whose sources end their input at once, so the job still ends
/// by it; a redeploy that restores anything else reads on. A redeploy that
/// restores the drained savepoint proves it completed, even where the trace
/// has no `savepoint_completed` (the jobmanager went down after the
/// register write that completed it landed, before it could say so).
fn savepoints_taken(
    outcome: &RunOutcome,
    steps: &[crate::lifecycle::Step],
    expects_failure: bool,
) -> Vec<Violation> {
    use crate::trace::What;
    let runs = crate::lifecycle::runs(&outcome.trace);
    let judged = runs.iter().zip(steps).enumerate().filter(|(i, (_, s))| {
        // A resumed step once the run after it started; the drained last
        // step on its own run, unless the job is expected to fail in it.
        let last = s.resume.is_none() && !expects_failure;
        s.stop.with == StopWith::Savepoint && (i + 1 < runs.len() || last)
    });
    let mut violations = Vec::new();
    for (i, (run, step)) in judged {
        let drain = step.stop.drain;
        // The stop's savepoints (not a plain one the run also took), and
        // whether the last one completed with nothing failing after it.
        let mut stops = crate::lifecycle::StopSavepoints::new(false);
        // With a drain: the checkpoints completed after it, drained too.
        let mut drained = std::collections::BTreeSet::new();
        let mut stopped_by_it = false;
        let mut finished = false;
        for e in run.iter() {
            let What::Engine(event) = &e.what else {
                continue;
            };
            stops.follow(event);
            match event {
                Event::CheckpointTriggered { checkpoint, .. } => {
                    drained.remove(checkpoint);
                }
                Event::CheckpointCompleted { checkpoint, .. } if drain && stopped_by_it => {
                    drained.insert(*checkpoint);
                }
                Event::SavepointCompleted { checkpoint } if stops.contains(*checkpoint) => {
                    stopped_by_it = true;
                }
                Event::Failover { .. } if !drain => stopped_by_it = false,
                Event::TasksDeployed { restore, .. } => {
                    let restored = |r: &u64| stops.contains(*r) || drained.contains(r);
                    stopped_by_it = drain && restore.is_some_and(|r| restored(&r));
                }
                Event::JobState(JobState::Finished) => {
                    finished = true;
                    break;
                }
                _ => {}
            }
        }
        let asked = outcome.trace.iter().any(|e| {
            matches!(&e.what, What::Fault(crate::trace::FaultEvent::JobStopped { run, .. })
                if *run as usize == i + 1)
        });
        if !asked {
            // The stop never came: say when it was due, and when the run ended.
            let due = stop_due(step, i + 1);
            let ended = run.last().map_or(std::time::Duration::ZERO, |e| e.at);
            let message = format!(
                "lifecycle[{i}] stops run {} with a {}savepoint, but its stop, {due}, never came: \
                 the run ended first (its last trace line is at {:.3}s)",
                i + 1,
                if drain { "drained " } else { "" },
                ended.as_secs_f64()
            );
            violations.push(Violation::new(
                crate::violation::Checker::ExpectedOutcome,
                kind::LIFECYCLE_INCOMPLETE,
                message,
            ));
            continue;
        }
        if !(stopped_by_it && finished) {
            let message = format!(
                "lifecycle[{i}] stops run {} with a {}savepoint, but the run did not end by it: no \
                 savepoint of the stop completed with the job finishing after it (the job ended \
                 before the stop took one; a failover, or a jobmanager that restarted or took \
                 over, redeployed it past the savepoint; or a failed stop was not asked again: \
                 the client crashed, was cut off, or gave up after {}s)",
                i + 1,
                if drain { "drained " } else { "" },
                flinch_engine::hosts::client::PATIENCE.as_secs()
            );
            violations.push(Violation::new(
                crate::violation::Checker::ExpectedOutcome,
                kind::LIFECYCLE_INCOMPLETE,
                message,
            ));
        }
    }
    violations
}

/// When `step`'s stop was due, as the file gives it: `on { event = ... }`,
/// or `400ms after run 1 started` (`run`: the run it stops, from 1).
fn stop_due(step: &crate::lifecycle::Step, run: usize) -> String {
    match &step.stop.on {
        Some(on) => format!("on {}", crate::fault::Trigger::Event(on.clone())),
        None => format!(
            "{} after run {run} started",
            crate::fault::format_duration(step.stop.at)
        ),
    }
}

/// A violation for each `cancel` stop that came after its run's job had
/// already finished: the cancel stopped nothing, and the resumed run only
/// restored the final checkpoint (Flink refuses to cancel a finished job,
/// and does not keep its checkpoints to resume from). The lifecycle was
/// meant to stop the job while it ran, so such a seed tested nothing of it.
fn cancels_came_while_running(
    outcome: &RunOutcome,
    steps: &[crate::lifecycle::Step],
) -> Vec<Violation> {
    use crate::trace::{FaultEvent, What};
    let runs = crate::lifecycle::runs(&outcome.trace);
    let mut violations = Vec::new();
    for (i, (run, step)) in runs.iter().zip(steps).enumerate() {
        if step.stop.with != StopWith::Cancel {
            continue;
        }
        let finished = run
            .iter()
            .find(|e| matches!(&e.what, What::Engine(Event::JobState(JobState::Finished))));
        let stopped = run.iter().find(|e| {
            matches!(&e.what, What::Fault(FaultEvent::JobStopped { run, .. })
                if *run as usize == i + 1)
        });
        let (Some(finished), Some(stopped)) = (finished, stopped) else {
            continue;
        };
        if finished.at <= stopped.at {
            let message = format!(
                "lifecycle[{i}] cancels run {} {} (at {:.3}s), but its job had already \
                 finished at {:.3}s: the cancel stopped nothing, and the next run only restored \
                 the final checkpoint (stop the run earlier, or on an event while it runs)",
                i + 1,
                stop_due(step, i + 1),
                stopped.at.as_secs_f64(),
                finished.at.as_secs_f64()
            );
            violations.push(Violation {
                at: Some(stopped.at),
                ..Violation::new(
                    crate::violation::Checker::ExpectedOutcome,
                    kind::LIFECYCLE_INCOMPLETE,
                    message,
                )
            });
        }
    }
    violations
}

/// `outcome` with its declared-lost transactions appended to the committed
/// output, as if committed last.
fn counting_lost_output(outcome: &RunOutcome) -> RunOutcome {
    let mut with = outcome.clone();
    with.output.extend(outcome.output_lost.iter().cloned());
    with.committed.extend(outcome.lost.iter().cloned());
    with
}

/// A failed job may leave its output incomplete, but what it did commit must
/// still be committed at most once and answer real input.
fn never_duplicated(outcome: &RunOutcome) -> Vec<Violation> {
    exactly_once(outcome)
        .into_iter()
        .filter(|v| v.kind == kind::DUPLICATED || v.kind == kind::UNEXPECTED)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::fixture::{
        correct_run, failed_run, failed_scenario, kinds, recommit, scenario, REASON,
    };
    use super::*;
    use crate::trace::What;
    use flinch_engine::event::{Event, JobState};

    fn job_failed() -> Scenario {
        scenario(Expectation::JobFailed {
            reason: REASON.into(),
        })
    }

    fn check_all_kinds(
        run: &RunOutcome,
        expect: Expectation,
    ) -> Vec<(crate::violation::Checker, &'static str)> {
        check_all(run, &scenario(expect))
            .iter()
            .map(|v| (v.checker, v.kind))
            .collect()
    }

    #[test]
    fn a_correct_run_passes_every_checker_for_the_outcome_it_expects() {
        let run = correct_run();
        assert_eq!(check_all(&run, &scenario(Expectation::ExactlyOnce)), []);
        assert_eq!(check_all(&run, &scenario(Expectation::AtLeastOnce)), []);
        assert_eq!(check_all(&failed_run(), &failed_scenario()), []);
    }

    #[test]
    fn a_lifecycle_step_that_never_resumed_the_job_is_a_verdict_ranked_first() {
        use crate::lifecycle::{RestoreMode, Resume, ResumeFrom, Step, Stop, StopWith};
        let mut s = scenario(Expectation::ExactlyOnce);
        let step = Step {
            stop: Stop {
                at: std::time::Duration::from_millis(400),
                jitter: std::time::Duration::ZERO,
                on: None,
                with: StopWith::Cancel,
                drain: false,
            },
            resume: Some(Resume {
                from: ResumeFrom::Retained,
                restore_mode: RestoreMode::Claim,
                after: std::time::Duration::ZERO,
                topology: s.config.topology.clone(),
            }),
        };
        s.lifecycle = vec![step];
        // The correct run of one run: the step never stopped it.
        let mut violations = check_all(&correct_run(), &s);
        crate::violation::root_cause_first(&mut violations);
        assert_eq!(violations.len(), 1, "{violations:?}");
        let v = &violations[0];
        assert_eq!(v.kind, kind::LIFECYCLE_INCOMPLETE);
        assert!(
            v.message.contains(
                "the lifecycle has 2 runs, but the job ran 1: lifecycle[0] did not resume it \
                 (its stop, 400ms after run 1 started, never came"
            ),
            "{v}"
        );
    }

    #[test]
    fn a_stop_with_savepoint_counts_only_if_the_job_finished_after_its_savepoint() {
        use crate::lifecycle::{RestoreMode, Resume, ResumeFrom, Step, Stop, StopWith};
        use crate::trace::{FaultEvent, TraceEvent};
        use std::time::Duration;
        let step = Step {
            stop: Stop {
                at: Duration::from_millis(400),
                jitter: Duration::ZERO,
                on: None,
                with: StopWith::Savepoint,
                drain: false,
            },
            resume: Some(Resume {
                from: ResumeFrom::Savepoint,
                restore_mode: RestoreMode::NoClaim,
                after: Duration::ZERO,
                topology: Default::default(),
            }),
        };
        let at = |ms: u64, what: What| TraceEvent {
            at: Duration::from_millis(ms),
            host: "jobmanager".into(),
            what,
        };
        // Run 1: savepoint 6 of the stop completes, then `between` (if
        // any), then the job finishes; run 2 resumes.
        let run = |between: Option<Event>| {
            let mut outcome = correct_run();
            let stopped = FaultEvent::JobStopped {
                run: 1,
                with: "savepoint".into(),
            };
            let mut trace = vec![
                at(90, What::Fault(stopped)),
                at(
                    100,
                    What::Engine(Event::SavepointTriggered {
                        checkpoint: 6,
                        epoch: 1,
                        stop: true,
                        drain: false,
                    }),
                ),
                at(
                    120,
                    What::Engine(Event::SavepointCompleted { checkpoint: 6 }),
                ),
            ];
            trace.extend(between.map(|e| at(130, What::Engine(e))));
            trace.push(at(140, What::Engine(Event::JobState(JobState::Finished))));
            trace.push(at(
                200,
                What::Fault(FaultEvent::JobResumed {
                    run: 2,
                    from: "savepoint".into(),
                    restore_mode: "no-claim".into(),
                    parallelism: 2,
                    taskmanagers: 2,
                }),
            ));
            outcome.trace = trace;
            outcome
        };
        assert_eq!(savepoints_taken(&run(None), &[step.clone()], false), []);
        // A failover, or a redeploy by a jobmanager that restarted or took
        // over (no failover event), between the savepoint and the end.
        let failover = Event::Failover {
            epoch: 2,
            cause: "taskmanager-1 lost".into(),
        };
        let redeploy = Event::TasksDeployed {
            epoch: 2,
            restore: Some(6),
        };
        for between in [failover, redeploy] {
            let found = savepoints_taken(&run(Some(between.clone())), &[step.clone()], false);
            assert_eq!(kinds(&found), [kind::LIFECYCLE_INCOMPLETE], "{between:?}");
            assert!(
                found[0].message.contains(
                    "lifecycle[0] stops run 1 with a savepoint, but the run did not end by it"
                ),
                "{}",
                found[0].message
            );
        }
        // The run must also have ended FINISHED.
        let mut unfinished = run(None);
        (unfinished.trace).retain(|e| !matches!(e.what, What::Engine(Event::JobState(_))));
        let found = savepoints_taken(&unfinished, &[step.clone()], false);
        assert_eq!(kinds(&found), [kind::LIFECYCLE_INCOMPLETE]);

        // A drained last step (no resume) is judged on the last run: a
        // failover whose redeploy restores the drained savepoint still
        // ends the run by it (its sources end their input at once); one
        // that restores an older checkpoint reads on.
        let drained = Step {
            stop: Stop {
                drain: true,
                ..step.stop.clone()
            },
            resume: None,
        };
        let redeployed = |restore: u64| {
            let failover = Event::Failover {
                epoch: 2,
                cause: "taskmanager-1 lost".into(),
            };
            let mut outcome = run(Some(failover));
            (outcome.trace)
                .retain(|e| !matches!(e.what, What::Fault(FaultEvent::JobResumed { .. })));
            let deployed = Event::TasksDeployed {
                epoch: 2,
                restore: Some(restore),
            };
            outcome.trace.insert(4, at(135, What::Engine(deployed)));
            outcome
        };
        assert_eq!(
            savepoints_taken(&redeployed(6), &[drained.clone()], false),
            []
        );
        // Restored, its completion untraced (the jobmanager went down as
        // its register write landed): it completed all the same.
        let mut untraced = redeployed(6);
        (untraced.trace)
            .retain(|e| !matches!(e.what, What::Engine(Event::SavepointCompleted { .. })));
        assert_eq!(savepoints_taken(&untraced, &[drained.clone()], false), []);
        let found = savepoints_taken(&redeployed(5), &[drained.clone()], false);
        assert_eq!(kinds(&found), [kind::LIFECYCLE_INCOMPLETE]);
        assert!(
            found[0]
                .message
                .contains("stops run 1 with a drained savepoint, but the run did not end by it"),
            "{}",
            found[0].message
        );
        // A stop that never came says so, and when the run ended.
        let mut never = redeployed(6);
        (never.trace).retain(|e| !matches!(e.what, What::Fault(FaultEvent::JobStopped { .. })));
        let found = savepoints_taken(&never, &[drained], false);
        assert!(
            found[0].message.contains(
                "but its stop, 400ms after run 1 started, never came: the run ended first \
                 (its last trace line is at 0.140s)"
            ),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn exactly_once_expectation_runs_the_output_state_and_outcome_checkers() {
        use crate::violation::Checker::*;
        let mut run = correct_run();
        run.committed[1].records.remove(0);
        for e in &mut run.trace {
            if let What::Engine(Event::StateRestored { digest, .. }) = &mut e.what {
                *digest ^= 1;
            }
        }
        run.final_state = None;
        let found = check_all_kinds(&run, Expectation::ExactlyOnce);
        assert!(found.contains(&(ExactlyOnce, kind::MISSING)), "{found:?}");
        assert!(found.contains(&(RecoveredState, kind::DIGEST_MISMATCH)));
        assert_eq!(found.last(), Some(&(ExpectedOutcome, kind::NOT_FINISHED)));
    }

    #[test]
    fn every_expectation_runs_the_cut_restart_and_liveness_checkers() {
        use crate::violation::Checker::*;
        let mut run = correct_run();
        for e in &mut run.trace {
            match &mut e.what {
                What::Engine(Event::CheckpointCompleted { offsets, .. }) => offsets[0] += 1,
                What::Engine(Event::RestartScheduled { delay_ms, .. }) => *delay_ms += 1,
                _ => {}
            }
        }
        run.final_state = None;
        let expectations = [
            Expectation::ExactlyOnce,
            Expectation::AtLeastOnce,
            Expectation::JobFailed {
                reason: REASON.into(),
            },
        ];
        for expect in expectations {
            let found = check_all_kinds(&run, expect.clone());
            for wanted in [
                (ConsistentCut, kind::INCONSISTENT_CUT),
                (RestartConformance, kind::WRONG_DELAY),
                (Liveness, kind::NOT_LIVE),
            ] {
                assert!(found.contains(&wanted), "{expect:?}: {found:?}");
            }
        }
    }

    #[test]
    fn every_expectation_runs_the_lingering_transaction_checker() {
        use crate::violation::Checker::LingeringTransaction;
        use flinch_engine::record::TxnId;
        let mut run = correct_run();
        let left = TxnId {
            subtask: 0,
            epoch: 1,
            checkpoint: 3,
        };
        super::fixture::leave_pending(&mut run, left, 2);
        for expect in [Expectation::ExactlyOnce, Expectation::AtLeastOnce] {
            let found = check_all_kinds(&run, expect.clone());
            assert_eq!(
                found,
                [(LingeringTransaction, kind::LINGERING)],
                "{expect:?}"
            );
        }
        // A pending copy of a transaction the sink timed out is not
        // lingering: only the copy's removal failed.
        run.timed_out.push(left);
        assert_eq!(check_all(&run, &scenario(Expectation::ExactlyOnce)), []);
    }

    #[test]
    fn at_least_once_checkpoints_are_not_held_to_a_consistent_cut() {
        use flinch_engine::config::CheckpointMode;
        let mut run = correct_run();
        for e in &mut run.trace {
            if let What::Engine(Event::CheckpointCompleted { offsets, .. }) = &mut e.what {
                offsets[0] += 1;
            }
        }
        let mut s = scenario(Expectation::AtLeastOnce);
        assert_eq!(kinds(&check_all(&run, &s)), [kind::INCONSISTENT_CUT; 3]);
        s.config.checkpoint.mode = CheckpointMode::AtLeastOnce;
        assert_eq!(check_all(&run, &s), []);
    }

    #[test]
    fn at_least_once_expectation_tolerates_duplicates_but_not_loss() {
        let mut run = correct_run();
        let s = scenario(Expectation::AtLeastOnce);
        recommit(&mut run, 0, 2);
        assert_eq!(check_all(&run, &s), []);
        run.committed[2].records.remove(0);
        assert_eq!(kinds(&check_all(&run, &s)), [kind::MISSING]);
    }

    #[test]
    fn duplicates_count_the_extra_copies_of_each_input_record() {
        let mut run = correct_run();
        assert_eq!(duplicates(&run), 0);
        let copies = run.committed[0].records.len() as u64;
        recommit(&mut run, 0, 2);
        assert_eq!(duplicates(&run), copies);
        recommit(&mut run, 0, 3);
        recommit(&mut run, 1, 3);
        let second = run.committed[1].records.len() as u64;
        assert_eq!(duplicates(&run), 2 * copies + second);
        // Output for a record not in the input is no copy of one.
        let mut stray = run.committed[1].clone();
        for r in &mut stray.records {
            r.offset += 1_000_000;
        }
        run.committed.push(stray);
        assert_eq!(duplicates(&run), 2 * copies + second);
    }

    #[test]
    fn an_expected_failure_may_lose_output_but_must_not_commit_duplicates() {
        let mut run = failed_run();
        run.committed[0].records.truncate(3);
        assert_eq!(check_all(&run, &failed_scenario()), [], "loss is allowed");
        recommit(&mut run, 1, 2);
        let found = check_all(&run, &failed_scenario());
        assert!(!found.is_empty());
        assert!(
            found.iter().all(|v| v.kind == kind::DUPLICATED),
            "{found:?}"
        );
    }

    /// Transaction `i` of the correct run taken out of the committed
    /// output and declared lost on purpose, as a job that set
    /// `sink.ignore_failures_after_transaction_timeout` leaves it.
    fn lose(run: &mut RunOutcome, i: usize) {
        let txn = run.committed.remove(i);
        run.output.remove(i);
        run.output_lost
            .extend(super::fixture::raw(std::slice::from_ref(&txn)));
        run.lost.push(txn);
    }

    #[test]
    fn output_declared_lost_is_forgiven_and_nothing_else() {
        let s = scenario(Expectation::ExactlyOnce);
        let mut run = correct_run();
        lose(&mut run, 1);
        assert_eq!(check_all(&run, &s), [], "the declared loss is forgiven");
        // The same records also committed: duplicated, not forgiven.
        let again = run.lost[0].clone();
        run.committed.push(again);
        run.output = super::fixture::raw(&run.committed);
        let found = kinds(&check_all(&run, &s));
        assert!(
            !found.is_empty() && found.iter().all(|k| *k == kind::DUPLICATED),
            "{found:?}"
        );
        // A loss not declared, next to one that is: still missing.
        let mut run = correct_run();
        lose(&mut run, 1);
        run.committed[0].records.remove(0);
        run.output = super::fixture::raw(&run.committed);
        assert_eq!(kinds(&check_all(&run, &s)), [kind::MISSING]);
        // Without the declaration, the same loss is missing output.
        let mut run = correct_run();
        lose(&mut run, 1);
        run.output_lost.clear();
        run.lost.clear();
        let found = kinds(&check_all(&run, &s));
        assert!(
            !found.is_empty() && found.iter().all(|k| *k == kind::MISSING),
            "{found:?}"
        );
    }

    #[test]
    fn an_expected_failure_that_did_not_happen_is_reported_with_the_output_intact() {
        let run = correct_run();
        assert_eq!(run.final_state, Some(JobState::Finished));
        assert_eq!(
            kinds(&check_all(&run, &job_failed())),
            [kind::JOB_DID_NOT_FAIL]
        );
    }
}
