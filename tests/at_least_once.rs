//! `at-least-once-crash` really duplicates, and still loses nothing.
//!
//! In at-least-once mode a count task does not block an input that
//! delivered its barrier (Flink's `CheckpointBarrierTracker`): the records
//! it sends before the other inputs' barriers arrive are in the snapshot,
//! and a restore of that checkpoint replays them. The scenario stalls the
//! link between the taskmanagers while checkpoint 2 is taken, so every
//! count task snapshots its local source's records past the barrier, and
//! crashes taskmanager-2 after checkpoint 2 completed. A few witness seeds
//! keep this cheap in a debug build; the share is measured with
//! `flinch run at-least-once-crash --seeds 0..200` (every seed duplicates).

use flinch_engine::config::PlantedBug;
use flinch_engine::probe::Probe;
use flinch_harness::coverage::probes_hit;
use flinch_harness::fault::FaultKind;
use flinch_harness::scenario::load;
use flinch_harness::seed::run_seed;

const WITNESS_SEEDS: [u64; 3] = [0, 1, 2];

#[test]
fn at_least_once_crash_duplicates_output_and_loses_no_record() {
    let scenario = load("at-least-once-crash").expect("built-in");
    for seed in WITNESS_SEEDS {
        let report = run_seed(&scenario, seed);
        assert!(
            report.passed,
            "seed {seed}: at-least-once must hold: {:#?}",
            report.violations
        );
        assert!(
            report.duplicates > 0,
            "seed {seed}: the restore of checkpoint 2 should replay records its snapshot \
             already counted, but nothing was duplicated"
        );
        assert!(
            probes_hit(&report.trace).contains(&Probe::SnapshotPastBarrier),
            "seed {seed}: no snapshot included records past a barrier"
        );
    }
}

/// Why the scenario stalls a link: with both barriers a few milliseconds
/// apart, no record passes a barrier before the snapshot, and the crash
/// alone duplicates nothing (what seeds 0..200 of the scenario did before).
#[test]
fn without_the_stall_the_same_crash_duplicates_nothing() {
    let mut scenario = load("at-least-once-crash").expect("built-in");
    let before = scenario.faults.len();
    scenario
        .faults
        .retain(|f| !matches!(f.kind, FaultKind::Stall { .. }));
    assert_eq!(
        scenario.faults.len(),
        before - 1,
        "the scenario has one stall"
    );
    let report = run_seed(&scenario, WITNESS_SEEDS[0]);
    assert!(report.passed, "{:#?}", report.violations);
    assert_eq!(report.duplicates, 0);
    assert!(!probes_hit(&report.trace).contains(&Probe::SnapshotPastBarrier));
}

/// The scenario's expectation still catches loss: a source that does not
/// rewind on restore loses the records between checkpoint and crash.
#[test]
fn a_lost_record_fails_at_least_once_crash() {
    let mut scenario = load("at-least-once-crash").expect("built-in");
    scenario.config.planted_bug = Some(PlantedBug::SourceNoRewind);
    let report = run_seed(&scenario, WITNESS_SEEDS[0]);
    assert!(!report.passed, "a source that skips records must fail");
    assert!(
        report.violations.iter().any(|v| v.kind == "missing"),
        "{:#?}",
        report.violations
    );
}
