use super::*;
use crate::check::fixture::{correct_run, failed_run, failed_scenario, kinds, real_run, scenario};
use crate::expect::Expectation;
use crate::trace::FaultEvent;
use flinch_engine::workload::generate;

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// The bound the fixture's scenario gets from its input: 80 records per
/// partition at 1,000 records/s per source in batches of 50, and a margin
/// of 6.56s (detect 1.1s, restart 10ms, redeploy 3s, checkpoint 2.2s,
/// messages 0.25s).
fn bound() -> LivenessBound {
    LivenessBound::of(&scenario(Expectation::ExactlyOnce))
}

const MARGIN: Duration = Duration::from_millis(6_560);

/// The correct run with a partition from 5 ms to `repair`, finishing at
/// `finish` (its last event moved there).
fn healed_at(repair: Duration, finish: Duration) -> RunOutcome {
    let mut run = correct_run();
    let fault = |at: Duration, what: FaultEvent| TraceEvent {
        at,
        host: "taskmanager-2".into(),
        what: What::Fault(what),
    };
    let peer = "jobmanager".to_string();
    run.trace.insert(
        0,
        fault(
            ms(5),
            FaultEvent::Partition {
                peer: peer.clone(),
                oneway: false,
            },
        ),
    );
    let last = run.trace.len() - 1;
    run.trace[last].at = finish;
    let at = run.trace.partition_point(|e| e.at <= repair);
    run.trace
        .insert(at, fault(repair, FaultEvent::Repair { peer }));
    run.sim_time = finish + Duration::from_secs(1);
    run
}

#[test]
fn the_margin_of_the_fixture_is_what_the_tests_assume() {
    let LivenessBound::Input { margin, .. } = bound() else {
        panic!("the fixture sets no liveness_bound");
    };
    assert_eq!(margin.total(), MARGIN);
}

#[test]
fn a_run_that_ends_before_or_at_its_deadline_is_live() {
    assert_eq!(liveness(&correct_run(), &bound()), []);
    assert_eq!(
        liveness(&failed_run(), &LivenessBound::of(&failed_scenario())),
        []
    );
    // Every checkpoint had completed at the heal: nothing left to read.
    assert_eq!(
        liveness(&healed_at(ms(2_000), ms(2_000) + MARGIN), &bound()),
        [],
        "the deadline is inclusive"
    );
}

#[test]
fn a_job_that_ends_after_its_deadline_is_not_live() {
    let found = liveness(&healed_at(ms(2_000), ms(2_002) + MARGIN), &bound());
    assert_eq!(kinds(&found), [kind::NOT_LIVE]);
    assert_eq!(found[0].checker, Checker::Liveness);
    assert_eq!(
        found[0].message,
        "the job finished at 8.562s, 0.002s after its deadline of 8.560s: the last fault \
         healed at 2.000s, with 0 records of the longest partition not covered by a completed \
         checkpoint (checkpoint 4 stood at offsets [80, 80, 80] of [80, 80, 80]): 0.000s to \
         read at 1000 records/s per source, plus a margin of 6.560s (detect 1.100s + restart \
         0.010s + redeploy 3.000s + checkpoint 2.200s + messages 0.250s); since then no \
         failover and 0 completed checkpoint(s)"
    );
}

#[test]
fn the_input_not_yet_covered_at_the_heal_is_given_the_time_to_read_it() {
    // Healed at 15 ms, before checkpoint 1 completed: all 80 records of a
    // partition are left, two batches of 50 ms.
    let deadline = ms(15 + 100) + MARGIN;
    assert_eq!(liveness(&healed_at(ms(15), deadline), &bound()), []);
    let found = liveness(&healed_at(ms(15), deadline + ms(2)), &bound());
    assert_eq!(kinds(&found), [kind::NOT_LIVE]);
    assert!(
        found[0].message.contains(
            "the last fault healed at 0.015s, with 80 records of the longest partition not \
             covered by a completed checkpoint (none had completed): 0.100s to read at 1000 \
             records/s per source"
        ),
        "{}",
        found[0]
    );
    // Healed after checkpoint 2 ([40, 40, 40]): one batch left.
    let after_two = correct_run().trace.iter().position(|e| {
        matches!(
            e.what,
            What::Engine(Event::CheckpointCompleted { checkpoint: 2, .. })
        )
    });
    let at = correct_run().trace[after_two.expect("checkpoint 2 completes")].at;
    let deadline = at + ms(50) + MARGIN;
    assert_eq!(liveness(&healed_at(at, deadline), &bound()), []);
    assert_eq!(
        kinds(&liveness(&healed_at(at, deadline + ms(2)), &bound())),
        [kind::NOT_LIVE]
    );
}

/// The user's finding: 30,000 records in 2 partitions take 15 s to read,
/// far beyond the old constant 10 s bound; a correct job that reads them
/// is live, one that ends later than reading them allows is not.
#[test]
fn a_long_input_is_given_the_time_it_takes_to_read() {
    let mut scenario = scenario(Expectation::ExactlyOnce);
    scenario.config.workload.records = 30_000;
    scenario.config.workload.partitions = 2;
    let bound = LivenessBound::of(&scenario);
    let mut run = correct_run();
    run.input = generate(&scenario.config.workload, 7);
    run.job_input = crate::keyed_count::input(&scenario.config.workload, 7);
    run.trace
        .retain(|e| !matches!(e.what, What::Engine(Event::CheckpointCompleted { .. })));
    let end = run.trace.len() - 1;
    run.trace[end].at = ms(15_000) + MARGIN;
    run.sim_time = ms(30_000);
    assert_eq!(liveness(&run, &bound), []);
    run.trace[end].at = ms(15_002) + MARGIN;
    let found = liveness(&run, &bound);
    assert_eq!(kinds(&found), [kind::NOT_LIVE]);
    assert!(
        found[0].message.contains(
            "no fault was injected, with 15000 records of the longest partition not covered by \
             a completed checkpoint (none had completed): 15.000s to read"
        ),
        "{}",
        found[0]
    );
}

#[test]
fn the_rate_is_what_the_sources_sustain_not_what_is_asked() {
    let mut scenario = scenario(Expectation::ExactlyOnce);
    // Asked for 100,000 records/s with batches of 50: sources read 6,250.
    scenario.config.workload.rate = 100_000;
    let bound = LivenessBound::of(&scenario);
    let mut run = healed_at(ms(15), ms(20_000));
    run.trace.pop();
    run.final_state = None;
    let found = liveness(&run, &bound);
    assert!(
        found[0]
            .message
            .contains("0.016s to read at 6250 records/s per source"),
        "{}",
        found[0]
    );
}

#[test]
fn a_scenario_liveness_bound_replaces_the_input_bound() {
    let bound = LivenessBound::Fixed(Duration::from_secs(10));
    assert_eq!(liveness(&healed_at(ms(2_000), ms(12_000)), &bound), []);
    let found = liveness(&healed_at(ms(2_000), ms(12_002)), &bound);
    assert_eq!(kinds(&found), [kind::NOT_LIVE]);
    assert_eq!(
        found[0].message,
        "the job finished at 12.002s, 0.002s after its deadline of 12.000s: the last fault \
         healed at 2.000s, and the scenario's liveness_bound is 10s; since then no failover \
         and 0 completed checkpoint(s)"
    );
}

#[test]
fn the_heal_is_the_last_fault_event_of_any_kind() {
    let mut run = healed_at(ms(2_000), ms(2_002) + MARGIN);
    let late = TraceEvent {
        at: ms(3_000),
        host: "sink".into(),
        what: What::Fault(FaultEvent::DiskHealed),
    };
    run.trace.push(late);
    assert_eq!(liveness(&run, &bound()), []);
}

#[test]
fn a_late_failure_is_late_like_a_late_finish() {
    let mut run = failed_run();
    let end = run.trace.len() - 1;
    run.trace[end].at = ms(100 + 200) + MARGIN;
    let found = liveness(&run, &bound());
    assert_eq!(kinds(&found), [kind::NOT_LIVE]);
    assert!(
        found[0].message.starts_with(
            "the job failed (restart strategy none gave up: it never restarts) at 6.860s, \
             0.200s after its deadline of 6.660s: no fault was injected, with 80 records"
        ),
        "{}",
        found[0]
    );
    assert!(
        found[0].message.ends_with(
            "since then 1 failover(s), the last because taskmanager-2 lost: heartbeat timeout \
             and 2 completed checkpoint(s)"
        ),
        "{}",
        found[0]
    );
}

#[test]
fn a_job_that_never_ended_says_what_was_pending() {
    let mut run = healed_at(ms(2_000), ms(12_000));
    run.trace.pop();
    run.final_state = None;
    run.sim_time = ms(30_000);
    let found = liveness(&run, &bound());
    assert_eq!(kinds(&found), [kind::NOT_LIVE]);
    assert_eq!(
        found[0].message,
        "the job had not ended at 30.000s, the end of the run, 21.440s after its deadline of \
         8.560s: the last fault healed at 2.000s, with 0 records of the longest partition not \
         covered by a completed checkpoint (checkpoint 4 stood at offsets [80, 80, 80] of [80, \
         80, 80]): 0.000s to read at 1000 records/s per source, plus a margin of 6.560s \
         (detect 1.100s + restart 0.010s + redeploy 3.000s + checkpoint 2.200s + messages \
         0.250s); since then no failover and 0 completed checkpoint(s); last job state: \
         running (epoch 2); last completed checkpoint: 4, with sources at offsets [80, 80, 80] \
         of [80, 80, 80] records; last engine events: 0.270s taskmanager-1 state_snapshotted, \
         0.280s taskmanager-1 state_snapshotted, 0.290s sink txn_pre_committed, 0.300s \
         jobmanager checkpoint_completed, 0.310s sink txn_committed"
    );
}

#[test]
fn a_run_too_short_to_judge_is_left_to_the_expected_outcome() {
    let mut run = healed_at(ms(2_000), ms(12_000));
    run.trace.pop();
    run.final_state = None;
    run.sim_time = ms(2_000) + MARGIN;
    assert_eq!(liveness(&run, &bound()), []);
    run.sim_time = ms(2_002) + MARGIN;
    assert_eq!(kinds(&liveness(&run, &bound())), [kind::NOT_LIVE]);
}

#[test]
fn a_deadline_beyond_any_time_saturates_instead_of_overflowing() {
    let mut run = healed_at(ms(2_000), ms(12_000));
    run.trace.pop();
    run.final_state = None;
    run.sim_time = Duration::MAX;
    assert_eq!(liveness(&run, &LivenessBound::Fixed(Duration::MAX)), []);
}

#[test]
fn real_runs_end_within_the_bound_and_a_delayed_end_shows() {
    for name in ["taskmanager-crash", "restarts-exhausted"] {
        let (scenario, mut run) = real_run(name, 2);
        let bound = LivenessBound::of(&scenario);
        assert_eq!(liveness(&run, &bound), [], "{name}");
        let heal = run
            .trace
            .iter()
            .rfind(|e| matches!(e.what, What::Fault(_)))
            .map(|e| e.at)
            .expect("the scenario injects faults");
        let (deadline, _) = bound.deadline(&run, heal, "");
        let ended = run.trace.iter_mut().find(|e| {
            matches!(
                e.what,
                What::Engine(Event::JobState(
                    JobState::Finished | JobState::Failed { .. }
                ))
            )
        });
        ended.expect("the job ended").at = deadline + Duration::from_millis(2);
        assert_eq!(kinds(&liveness(&run, &bound)), [kind::NOT_LIVE], "{name}");
    }
}
