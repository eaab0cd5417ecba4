use super::*;
use crate::check::fixture::{correct_run, failed_run, kinds, real_run};
use crate::trace::FaultEvent;

const BOUND: Duration = LIVENESS_BOUND;

fn s(secs: f64) -> Duration {
    Duration::from_secs_f64(secs)
}

/// The correct run with a partition from 0.05s to `repair`, finishing at
/// `finish` (moved there with everything after the repair).
fn healed_at(repair: f64, finish: f64) -> RunOutcome {
    let mut run = correct_run();
    let fault = |at: f64, what: FaultEvent| TraceEvent {
        at: s(at),
        host: "taskmanager-2".into(),
        what: What::Fault(what),
    };
    let peer = "jobmanager".to_string();
    run.trace.insert(
        1,
        fault(
            0.05,
            FaultEvent::Partition {
                peer: peer.clone(),
                oneway: false,
            },
        ),
    );
    let last = run.trace.len() - 1;
    run.trace[last].at = s(finish);
    run.trace
        .insert(last, fault(repair, FaultEvent::Repair { peer }));
    run.sim_time = s(finish) + Duration::from_secs(1);
    run
}

#[test]
fn a_run_that_ends_before_or_within_the_bound_is_live() {
    assert_eq!(liveness(&correct_run(), BOUND), []);
    assert_eq!(liveness(&failed_run(), BOUND), []);
    assert_eq!(
        liveness(&healed_at(2.0, 12.0), BOUND),
        [],
        "the bound is inclusive"
    );
}

#[test]
fn a_job_that_ends_later_than_the_bound_after_the_heal_is_not_live() {
    let found = liveness(&healed_at(2.0, 12.002), BOUND);
    assert_eq!(kinds(&found), [kind::NOT_LIVE]);
    assert_eq!(found[0].checker, Checker::Liveness);
    assert_eq!(
        found[0].message,
        "the job finished at 12.002s, 0.002s after the bound of 10s: the last fault healed \
         at 2.000s; since then no failover and 0 completed checkpoint(s)"
    );
}

#[test]
fn the_heal_is_the_last_fault_event_of_any_kind() {
    let mut run = healed_at(2.0, 12.002);
    let late = TraceEvent {
        at: s(3.0),
        host: "sink".into(),
        what: What::Fault(FaultEvent::DiskHealed),
    };
    run.trace.push(late);
    assert_eq!(liveness(&run, BOUND), []);
}

#[test]
fn a_late_failure_is_late_like_a_late_finish() {
    let mut run = failed_run();
    let end = run.trace.len() - 1;
    run.trace[end].at = s(10.2);
    let found = liveness(&run, BOUND);
    assert_eq!(kinds(&found), [kind::NOT_LIVE]);
    assert!(
        found[0].message.starts_with(
            "the job failed (restart strategy none gave up: it never restarts) at 10.200s, \
             0.200s after the bound of 10s: no fault was injected; since then 1 failover(s), \
             the last because taskmanager-2 lost: heartbeat timeout"
        ),
        "{}",
        found[0]
    );
}

#[test]
fn a_job_that_never_ended_says_what_was_pending() {
    let mut run = healed_at(2.0, 12.0);
    run.trace.pop();
    run.final_state = None;
    run.sim_time = s(30.0);
    let found = liveness(&run, BOUND);
    assert_eq!(kinds(&found), [kind::NOT_LIVE]);
    assert_eq!(
        found[0].message,
        "the job had not ended at 30.000s, the end of the run, though the last fault healed \
         at 2.000s and it had 10s to end; since then no failover and 0 completed \
         checkpoint(s); last job state: running (epoch 2); last completed checkpoint: 4, \
         with sources at offsets [80, 80, 80] of [80, 80, 80] records; last engine events: \
         0.270s taskmanager-1 state_snapshotted, 0.280s taskmanager-1 state_snapshotted, \
         0.290s sink txn_pre_committed, 0.300s jobmanager checkpoint_completed, 0.310s sink \
         txn_committed"
    );
}

#[test]
fn a_run_too_short_to_judge_is_left_to_the_expected_outcome() {
    let mut run = healed_at(2.0, 12.0);
    run.trace.pop();
    run.final_state = None;
    run.sim_time = s(12.0);
    assert_eq!(liveness(&run, BOUND), []);
    run.sim_time = s(12.002);
    assert_eq!(kinds(&liveness(&run, BOUND)), [kind::NOT_LIVE]);
}

#[test]
fn real_runs_end_within_the_bound_and_a_delayed_end_shows() {
    for name in ["taskmanager-crash", "restarts-exhausted"] {
        let (_, mut run) = real_run(name, 2);
        assert_eq!(liveness(&run, BOUND), [], "{name}");
        let heal = run
            .trace
            .iter()
            .filter(|e| matches!(e.what, What::Fault(_)));
        let heal = heal
            .last()
            .map(|e| e.at)
            .expect("the scenario injects faults");
        let ended = run.trace.iter_mut().find(|e| {
            matches!(
                e.what,
                What::Engine(Event::JobState(
                    JobState::Finished | JobState::Failed { .. }
                ))
            )
        });
        ended.expect("the job ended").at = heal + BOUND + Duration::from_millis(2);
        assert_eq!(kinds(&liveness(&run, BOUND)), [kind::NOT_LIVE], "{name}");
    }
}
