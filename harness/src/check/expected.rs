//! Expected outcome: the job ended the way the scenario said it would, and a
//! failed job committed nothing after it failed.

use super::state::secs;
use super::{cap, kind};
use crate::expect::Expectation;
use crate::outcome::RunOutcome;
use crate::trace::{TraceEvent, What};
use crate::violation::{Checker, Violation};
use flinch_engine::event::{Event, JobState};

/// `ExactlyOnce` and `AtLeastOnce` need a finished job; `JobFailed` needs a
/// job that failed for the expected reason and committed nothing afterwards.
pub fn expected_outcome(outcome: &RunOutcome, expect: &Expectation) -> Vec<Violation> {
    let mut violations: Vec<Violation> = match expect {
        Expectation::ExactlyOnce | Expectation::AtLeastOnce => {
            finished(outcome).into_iter().collect()
        }
        Expectation::JobFailed { reason } => {
            let mut v: Vec<Violation> = failed_with(outcome, reason).into_iter().collect();
            let runs = crate::lifecycle::runs(&outcome.trace);
            v.extend(runs.into_iter().flat_map(committed_after_failure));
            v
        }
    };
    // Within each run of a lifecycle: a resume submits the job anew.
    let runs = crate::lifecycle::runs(&outcome.trace);
    violations.extend(runs.into_iter().filter_map(resumed_after_end));
    cap::limit(violations)
}

fn finished(outcome: &RunOutcome) -> Option<Violation> {
    let (kind, message) = match &outcome.final_state {
        Some(JobState::Finished) => return None,
        Some(JobState::Failed { reason }) => (
            kind::JOB_FAILED,
            format!("the job failed, but it was expected to finish: {reason}"),
        ),
        _ => (
            kind::NOT_FINISHED,
            format!(
                "the job did not finish within {:?}; {}",
                outcome.sim_time,
                pending(outcome)
            ),
        ),
    };
    Some(Violation {
        at: Some(ended_at(outcome)),
        ..verdict(kind, message)
    })
}

fn failed_with(outcome: &RunOutcome, expected: &str) -> Option<Violation> {
    let wanted = format!("a failure with a reason containing {expected:?}");
    let (kind, message) = match &outcome.final_state {
        Some(JobState::Failed { reason }) if reason.contains(expected) => return None,
        Some(JobState::Failed { reason }) => (
            kind::WRONG_FAILURE_REASON,
            format!("the job failed with reason {reason:?}, but the scenario expected {wanted}"),
        ),
        Some(JobState::Finished) => (
            kind::JOB_DID_NOT_FAIL,
            format!("the job finished, but the scenario expected {wanted}"),
        ),
        _ => (
            kind::JOB_DID_NOT_FAIL,
            format!(
                "the job did not fail within {:?}, but the scenario expected {wanted}; {}",
                outcome.sim_time,
                pending(outcome)
            ),
        ),
    };
    Some(Violation {
        at: Some(ended_at(outcome)),
        ..verdict(kind, message)
    })
}

/// A job that ended (finished or failed) must stay ended: running it again,
/// e.g. after a jobmanager restart, replays work it already gave up or did.
/// `trace` is one run's ([`crate::lifecycle::runs`]).
fn resumed_after_end(trace: &[TraceEvent]) -> Option<Violation> {
    let is_state = |e: &TraceEvent| match &e.what {
        What::Engine(Event::JobState(state)) => Some((e.at, state.clone())),
        _ => None,
    };
    let mut states = trace.iter().filter_map(is_state);
    let (ended_at, end) = states
        .by_ref()
        .find(|(_, s)| matches!(s, JobState::Finished | JobState::Failed { .. }))?;
    let (at, again) = states
        .find(|(_, s)| matches!(s, JobState::Running { .. } | JobState::Restarting { .. }))?;
    let message = format!(
        "the job ended ({}) at {} but was {} again at {}",
        describe(&end),
        secs(ended_at),
        describe(&again),
        secs(at)
    );
    Some(Violation {
        at: Some(at),
        ..verdict(kind::RESUMED_AFTER_END, message)
    })
}

/// Every transaction committed after the first time the job failed, in
/// one run's `trace`.
fn committed_after_failure(trace: &[TraceEvent]) -> Vec<Violation> {
    let failed = trace.iter().position(|e| {
        matches!(
            e.what,
            What::Engine(Event::JobState(JobState::Failed { .. }))
        )
    });
    let Some(failed) = failed else {
        return Vec::new();
    };
    let failed_at = trace[failed].at;
    let after = trace[failed + 1..].iter().filter_map(|e| match &e.what {
        What::Engine(Event::TxnCommitted { txn, .. }) => Some((e.at, *txn)),
        _ => None,
    });
    after
        .map(|(at, txn)| {
            let message = format!(
                "{txn} was committed at {}, after the job failed at {}",
                secs(at),
                secs(failed_at)
            );
            Violation {
                txns: vec![txn],
                at: Some(at),
                ..verdict(kind::COMMITTED_AFTER_FAILURE, message)
            }
        })
        .collect()
}

/// The moment a verdict on how the job ended refers to: when it reached
/// its final state (the last `job_state` finished or failed), or the end
/// of the run for a job that never ended.
fn ended_at(outcome: &RunOutcome) -> std::time::Duration {
    let ended = outcome.trace.iter().rev().find_map(|e| match &e.what {
        What::Engine(Event::JobState(JobState::Finished | JobState::Failed { .. })) => Some(e.at),
        _ => None,
    });
    match outcome.final_state {
        Some(JobState::Finished | JobState::Failed { .. }) => ended.unwrap_or(outcome.sim_time),
        _ => outcome.sim_time,
    }
}

/// Where a job that did not end stood: its last state and the last
/// completed checkpoint, with how far the sources had come.
pub(super) fn pending(outcome: &RunOutcome) -> String {
    let mut state = None;
    let mut checkpoint = None;
    for e in &outcome.trace {
        match &e.what {
            What::Engine(Event::JobState(s)) => state = Some(s),
            What::Engine(Event::CheckpointCompleted {
                checkpoint: n,
                offsets,
            }) => checkpoint = Some((n, offsets)),
            _ => {}
        }
    }
    let state = state.map_or("none seen".to_string(), describe);
    let checkpoint = match checkpoint {
        None => "none".to_string(),
        Some((n, offsets)) => {
            let lengths: Vec<usize> = outcome.job_input.iter().map(Vec::len).collect();
            format!("{n}, with sources at offsets {offsets:?} of {lengths:?} records")
        }
    };
    format!("last job state: {state}; last completed checkpoint: {checkpoint}")
}

/// A job state as reports name it: `running (epoch 2)`, `failed (reason)`.
pub(super) fn describe(state: &JobState) -> String {
    match state {
        JobState::Running { epoch } => format!("running (epoch {epoch})"),
        JobState::Restarting { epoch } => format!("restarting (epoch {epoch})"),
        JobState::Finished => "finished".to_string(),
        JobState::Failed { reason } => format!("failed ({reason})"),
    }
}

fn verdict(kind: &'static str, message: String) -> Violation {
    Violation::new(Checker::ExpectedOutcome, kind, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::fixture::{correct_run, event, failed_run, kinds, txn, REASON};
    use std::time::Duration;

    fn job_failed(reason: &str) -> Expectation {
        let reason = reason.to_string();
        Expectation::JobFailed { reason }
    }

    /// The one violation `expected_outcome` finds, as (kind, message).
    fn only(run: &RunOutcome, expect: &Expectation) -> (&'static str, String) {
        let found = expected_outcome(run, expect);
        assert_eq!(found.len(), 1, "{found:#?}");
        (found[0].kind, found[0].message.clone())
    }

    #[test]
    fn a_finished_job_meets_both_delivery_expectations() {
        let run = correct_run();
        assert_eq!(expected_outcome(&run, &Expectation::ExactlyOnce), []);
        assert_eq!(expected_outcome(&run, &Expectation::AtLeastOnce), []);
    }

    #[test]
    fn a_failed_job_when_exactly_once_is_expected_reports_the_reason() {
        let (kind, message) = only(&failed_run(), &Expectation::ExactlyOnce);
        assert_eq!(kind, kind::JOB_FAILED);
        assert_eq!(
            message,
            format!("the job failed, but it was expected to finish: {REASON}")
        );
    }

    #[test]
    fn a_job_that_did_not_finish_says_what_was_pending() {
        let mut run = correct_run();
        run.trace.pop();
        run.final_state = None;
        let (kind, message) = only(&run, &Expectation::AtLeastOnce);
        assert_eq!(kind, kind::NOT_FINISHED);
        assert_eq!(
            message,
            "the job did not finish within 30s; last job state: running (epoch 2); \
             last completed checkpoint: 4, with sources at offsets [80, 80, 80] of [80, 80, 80] records"
        );
        run.trace.clear();
        let (_, message) = only(&run, &Expectation::ExactlyOnce);
        assert!(message.ends_with("last job state: none seen; last completed checkpoint: none"));
    }

    #[test]
    fn a_job_that_failed_for_the_expected_reason_meets_the_expectation() {
        let run = failed_run();
        assert_eq!(expected_outcome(&run, &job_failed(REASON)), []);
        assert_eq!(expected_outcome(&run, &job_failed("gave up")), []);
    }

    #[test]
    fn a_job_that_finished_when_failure_was_expected_did_not_fail() {
        let (kind, message) = only(&correct_run(), &job_failed("gave up"));
        assert_eq!(kind, kind::JOB_DID_NOT_FAIL);
        assert_eq!(
            message,
            "the job finished, but the scenario expected a failure with a reason containing \"gave up\""
        );
        let mut run = correct_run();
        run.final_state = Some(JobState::Running { epoch: 2 });
        let (kind, message) = only(&run, &job_failed("gave up"));
        assert_eq!(kind, kind::JOB_DID_NOT_FAIL);
        assert!(
            message.starts_with("the job did not fail within 30s"),
            "{message}"
        );
    }

    #[test]
    fn a_failure_for_another_reason_is_a_wrong_failure_reason() {
        let (kind, message) = only(&failed_run(), &job_failed("checkpoint tolerable"));
        assert_eq!(kind, kind::WRONG_FAILURE_REASON);
        assert!(message.starts_with(&format!("the job failed with reason {REASON:?}")));
    }

    #[test]
    fn a_commit_after_the_failure_is_reported_naming_the_transaction() {
        let mut run = failed_run();
        let late = txn(3);
        let at = Duration::from_millis(500);
        let commit = Event::TxnCommitted {
            txn: late,
            records: 60,
        };
        run.trace.push(event(at, "sink", commit));
        let found = expected_outcome(&run, &job_failed(REASON));
        assert_eq!(kinds(&found), [kind::COMMITTED_AFTER_FAILURE]);
        assert_eq!(found[0].txns, [late]);
        assert_eq!(
            found[0].message,
            "txn-s0-e2-c3 was committed at 0.500s, after the job failed at 0.150s"
        );
    }

    #[test]
    fn a_job_that_runs_again_after_it_failed_is_reported() {
        let mut run = failed_run();
        let again = Event::JobState(JobState::Running { epoch: 9 });
        run.trace
            .push(event(Duration::from_millis(700), "jobmanager", again));
        let found = expected_outcome(&run, &job_failed(REASON));
        assert_eq!(kinds(&found), [kind::RESUMED_AFTER_END]);
        assert!(
            found[0].message.contains("again at 0.700s"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn commits_before_the_failure_are_fine() {
        let run = failed_run();
        let commits = run
            .trace
            .iter()
            .filter(|e| matches!(e.what, What::Engine(Event::TxnCommitted { .. })));
        assert_eq!(commits.count(), 2);
        assert_eq!(committed_after_failure(&run.trace), []);
    }
}
