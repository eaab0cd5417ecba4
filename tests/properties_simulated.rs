//! Property tests over whole simulated runs, on cases drawn by
//! `flinch_harness::strategy`: a topology, workload, checkpoint and restart
//! configuration, and a plan of up to five survivable faults.
//!
//! - (a) in exactly-once mode, every checker passes;
//! - (b) in at-least-once mode, no input record is lost;
//! - (e) a case run twice gives the same trace, byte for byte;
//! - late storage writes: with the jobmanager–store link stalled or slow
//!   and the jobmanager crashing, writes land after their timeout in a good
//!   share of cases, and every checker still passes.
//!
//! Each case is a full simulation, so the default case counts are small
//! enough for `cargo test` in CI (see README.md for the times);
//! `PROPTEST_CASES` overrides them for long local runs. Failures are
//! persisted to `proptest-regressions/properties_simulated.txt` and rerun
//! first from then on. proptest prints the minimal failing case as a
//! scenario file: save it and `flinch run` it.
//!
//! `FLINCH_PLANT_BUG=<name>` plants one of the engine's planted bugs
//! (`flinch selfcheck` lists them) in every case of (a), to watch the
//! property catch it and shrink the plan; nothing is persisted then.

use flinch_engine::config::{CheckpointMode, PlantedBug};
use flinch_engine::event::Event;
use flinch_harness::seed::SeedReport;
use flinch_harness::strategy::{jobmanager_store_case, survivable_case, Case};
use flinch_harness::trace::What;
use flinch_harness::violation::Tally;
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, RngAlgorithm, TestError, TestRng, TestRunner};
use std::cell::Cell;
use std::collections::BTreeSet;

const REGRESSIONS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/proptest-regressions/properties_simulated.txt"
);

/// The bug `FLINCH_PLANT_BUG` names, if any.
fn planted() -> Option<PlantedBug> {
    let name = std::env::var("FLINCH_PLANT_BUG").ok()?;
    let bug = PlantedBug::from_name(&name);
    assert!(bug.is_some(), "FLINCH_PLANT_BUG: no planted bug `{name}`");
    bug
}

/// `cases` unless `PROPTEST_CASES` says otherwise, with failures persisted
/// (but not those of a planted bug: they are not regressions).
fn config(cases: u32) -> ProptestConfig {
    let from_env = std::env::var("PROPTEST_CASES").is_ok();
    ProptestConfig {
        cases: if from_env {
            ProptestConfig::default().cases
        } else {
            cases
        },
        // Every shrink step is a simulation; 1,024 is plenty for plans of
        // up to five faults (proptest's default is four per case).
        max_shrink_iters: 1_024,
        failure_persistence: if planted().is_some() {
            None
        } else {
            Some(Box::new(FileFailurePersistence::Direct(REGRESSIONS)))
        },
        ..ProptestConfig::default()
    }
}

/// The most violations a failure message lists.
const SHOWN: usize = 6;

/// Survivable exactly-once cases with `bug` planted in each (in the case,
/// so the minimal failing input proptest prints has it too).
fn with_bug(bug: Option<PlantedBug>) -> impl Strategy<Value = Case> {
    survivable_case(CheckpointMode::ExactlyOnce).prop_map(move |mut case| {
        case.config.planted_bug = bug;
        case
    })
}

/// Fail, counting and naming the violations (root cause first) and saying
/// how to replay, if any checker found one in the case's run.
fn every_checker_passed(case: &Case, report: &SeedReport) -> Result<(), TestCaseError> {
    if report.passed {
        return Ok(());
    }
    let mut lines: Vec<String> = report
        .violations
        .iter()
        .take(SHOWN)
        .map(|v| v.to_string())
        .collect();
    if report.violations.len() > SHOWN {
        lines.push(format!("... and {} more", report.violations.len() - SHOWN));
    }
    // Root cause first, under a count of what they stand for (records).
    Err(TestCaseError::fail(format!(
        "seed {} failed: {}\n  {}\nreplay: save the minimal failing input below as case.toml, \
         then `flinch replay case.toml --seed {}`",
        case.seed,
        Tally::of(&report.violations),
        lines.join("\n  "),
        case.seed
    )))
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn exactly_once_cases_pass_every_checker(
        case in with_bug(planted()),
    ) {
        every_checker_passed(&case, &case.run())?;
    }
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn at_least_once_cases_lose_no_record(
        case in survivable_case(CheckpointMode::AtLeastOnce),
    ) {
        let report = case.run();
        let committed: BTreeSet<(u32, u64)> = report
            .committed
            .iter()
            .flat_map(|txn| &txn.records)
            .map(|r| (r.partition, r.offset))
            .collect();
        let input = flinch_engine::workload::generate(&case.config.workload, case.seed);
        let lost: Vec<(u32, u64)> = input
            .iter()
            .flatten()
            .map(|r| (r.partition, r.offset))
            .filter(|id| !committed.contains(id))
            .collect();
        prop_assert!(
            lost.is_empty(),
            "{} records lost, the first (partition, offset): {:?}",
            lost.len(),
            &lost[..lost.len().min(5)]
        );
        // The checkers agree, and find nothing else wrong either.
        every_checker_passed(&case, &report)?;
    }
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn a_case_run_twice_gives_the_same_trace(
        case in survivable_case(CheckpointMode::ExactlyOnce),
    ) {
        let first = case.run();
        let second = case.run();
        prop_assert_eq!(first.trace_hash(), second.trace_hash());
        prop_assert_eq!(first.trace, second.trace);
    }
}

/// Property (a) must be able to fail: with a bug planted that loses records
/// on every failover, proptest finds a failing case and shrinks its plan
/// to at most two faults.
#[test]
fn a_planted_bug_fails_property_a_with_a_shrunk_plan() {
    let config = ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    // A fixed RNG: the same cases every run, so the test cannot flake.
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let result = runner.run(&with_bug(Some(PlantedBug::SourceNoRewind)), |case| {
        every_checker_passed(&case, &case.run())
    });
    match result {
        Err(TestError::Fail(reason, minimal)) => {
            eprintln!("{reason}\nminimal failing input: {minimal:?}");
            assert!(!minimal.plan.is_empty(), "{reason}: {minimal:?}");
            assert_eq!(minimal.config.planted_bug, Some(PlantedBug::SourceNoRewind));
            assert!(minimal.plan.len() <= 2, "{reason}: {minimal:?}");
            assert!(reason.message().contains("missing"), "{reason}");
        }
        other => panic!("source-no-rewind went unnoticed: {other:?}"),
    }
}

/// The share of cases of [`late_storage_writes_never_break_a_recovery`]
/// that must see a write land after its timeout, for the property to test
/// what it claims to.
const LATE_WRITE_SHARE: f64 = 0.25;

/// A checkpoint the coordinator gave up must never be restored, however
/// late its writes land: cases with stalls and latency on the
/// jobmanager–store link and jobmanager crashes pass every checker
/// (restore-was-completed among them), and in at least
/// [`LATE_WRITE_SHARE`] of them a write to the store really did land after
/// its sender's timeout (a `store_write_late` event that changed the
/// store). A fixed RNG, so the share is the same every run.
#[test]
fn late_storage_writes_never_break_a_recovery() {
    let config = ProptestConfig {
        failure_persistence: None,
        ..config(48)
    };
    let cases = config.cases;
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let (ran, late) = (Cell::new(0u32), Cell::new(0u32));
    let result = runner.run(&jobmanager_store_case(), |case| {
        let report = case.run();
        ran.set(ran.get() + 1);
        let landed_late = report.trace.iter().any(|e| {
            matches!(
                &e.what,
                What::Engine(Event::StoreWriteLate { applied: true, .. })
            )
        });
        late.set(late.get() + u32::from(landed_late));
        every_checker_passed(&case, &report)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let share = f64::from(late.get()) / f64::from(ran.get());
    eprintln!(
        "{} of {} cases ({cases} asked) saw a store write land after its timeout",
        late.get(),
        ran.get()
    );
    assert!(
        share >= LATE_WRITE_SHARE,
        "only {} of {} cases saw a late write: the property tests less than it claims",
        late.get(),
        ran.get()
    );
}
