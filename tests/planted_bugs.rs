//! The harness catches each planted bug, naming the record it broke, and
//! the same scenarios pass without it.

use flinch_engine::config::PlantedBug;
use flinch_harness::job::resolve;
use flinch_harness::scenario::{load_with_job, Scenario};
use flinch_harness::seed::{run_seed, SeedReport};
use flinch_harness::selfcheck::applies;
use flinch_harness::violation::Violation;

/// A built-in scenario, with `job` instead of its own if given.
fn scenario_with(name: &str, job: Option<&str>) -> Scenario {
    // Some built-in scenarios, and every job but keyed-count, are the root
    // crate's.
    flinch::jobs::install();
    let job = job.map(|j| resolve(j, &toml::Table::new()).expect("a built-in job"));
    load_with_job(name, job).expect("built-in")
}

/// The first failing seed of `scenario` with `bug` planted, within 20 seeds.
fn first_failure(scenario: &str, bug: PlantedBug) -> (u64, SeedReport) {
    first_failure_with(scenario, None, bug)
}

/// [`first_failure`], the scenario running `job` instead of its own.
fn first_failure_with(scenario: &str, job: Option<&str>, bug: PlantedBug) -> (u64, SeedReport) {
    let mut s = scenario_with(scenario, job);
    s.config.planted_bug = Some(bug);
    (0..20)
        .map(|seed| (seed, run_seed(&s, seed)))
        .find(|(_, r)| !r.passed)
        .unwrap_or_else(|| {
            let job = &s.job.name;
            panic!(
                "{} went unnoticed by {scenario} with {job} for 20 seeds",
                bug.name()
            )
        })
}

fn names_a_record(v: &Violation) -> bool {
    v.key.is_some() && v.partition.is_some() && v.offset.is_some()
}

#[test]
fn commit_on_barrier_duplicates_output_and_is_caught() {
    for scenario in ["taskmanager-crash", "crash-during-checkpoint"] {
        let (seed, report) = first_failure(scenario, PlantedBug::CommitOnBarrier);
        let dup = report.violations.iter().find(|v| v.kind == "duplicated");
        let dup = dup.unwrap_or_else(|| {
            panic!(
                "{scenario} seed {seed}: no duplicate in {:#?}",
                report.violations
            )
        });
        assert!(names_a_record(dup), "{dup:?}");
        assert_eq!(
            dup.txns.len(),
            2,
            "both transactions holding the record are named: {dup:?}"
        );
        assert!(dup.message.contains("committed 2 times"), "{}", dup.message);
    }
}

#[test]
fn source_no_rewind_loses_output_and_is_caught() {
    let (seed, report) = first_failure("taskmanager-crash", PlantedBug::SourceNoRewind);
    let missing = report.violations.iter().find(|v| v.kind == "missing");
    let missing = missing
        .unwrap_or_else(|| panic!("seed {seed}: no missing record in {:#?}", report.violations));
    assert!(names_a_record(missing), "{missing:?}");
    assert!(missing.message.contains("partition") && missing.message.contains("offset"));
}

/// Bugs whose damage needs a failure to show: a run without faults passes.
/// (`offset-after-barrier` and `skip-alignment` corrupt every checkpoint's
/// cut, which the consistent-cut checker may see without any fault.)
const NEED_A_FAILURE: [PlantedBug; 14] = [
    PlantedBug::CommitOnBarrier,
    PlantedBug::SourceNoRewind,
    PlantedBug::CommitNotIdempotent,
    PlantedBug::UnverifiedRestore,
    PlantedBug::RestoreOlderCheckpoint,
    PlantedBug::SkipCorruptMetadata,
    PlantedBug::CommitNewerTxn,
    PlantedBug::SwallowedWriteError,
    PlantedBug::AckBeforeSync,
    PlantedBug::TrustMetadataListing,
    PlantedBug::NoEpochFence,
    PlantedBug::FailoverNotCounted,
    PlantedBug::StalePrecommitKept,
    PlantedBug::RestoredWatermark,
];

#[test]
fn planted_bugs_that_need_a_failure_stay_silent_without_one() {
    for bug in NEED_A_FAILURE {
        // steady, with a job the bug applies to.
        let job = ["keyed-count", "windowed-sum"]
            .into_iter()
            .find(|job| applies(bug, &scenario_with("steady", Some(job))))
            .expect("a job the bug applies to");
        let mut s = scenario_with("steady", Some(job));
        s.config.planted_bug = Some(bug);
        let report = run_seed(&s, 0);
        assert!(
            report.passed,
            "{} broke a run with {job} and no failure: {:?}",
            bug.name(),
            report.violations
        );
    }
}

#[test]
fn an_offset_taken_after_the_barrier_breaks_the_cut_even_without_a_fault() {
    let mut s = scenario_with("steady", None);
    s.config.planted_bug = Some(PlantedBug::OffsetAfterBarrier);
    let report = run_seed(&s, 0);
    let checkers: Vec<&str> = report.violations.iter().map(|v| v.checker.name()).collect();
    assert!(
        checkers.contains(&"consistent-cut"),
        "{:#?}",
        report.violations
    );
}

/// A job that hangs after reading its whole input is still not live: the
/// liveness bound is judged from the input left to read, so it is not
/// just a bigger constant that a hang could hide behind.
#[test]
fn a_job_that_never_finishes_after_its_input_is_not_live() {
    let (seed, report) = first_failure("steady", PlantedBug::NeverFinish);
    assert_eq!(seed, 0, "every run hangs");
    let live = report
        .violations
        .iter()
        .find(|v| v.checker.name() == "liveness")
        .unwrap_or_else(|| panic!("liveness missed the hang: {:#?}", report.violations));
    assert_eq!(live.kind, "not-live");
    // Everything was read and committed: the job hangs after its input.
    assert!(
        live.message.contains(
            "last job state: running (epoch 1); last completed checkpoint: \
             "
        ) && live
            .message
            .contains("with sources at offsets [1000, 1000] of [1000, 1000] records"),
        "{}",
        live.message
    );
    assert!(
        !report
            .violations
            .iter()
            .any(|v| v.checker.name() == "exactly-once"),
        "the output is complete: {:#?}",
        report.violations
    );
}

#[test]
fn every_planted_bug_is_caught_by_its_checker_in_its_scenario() {
    for bug in PlantedBug::ALL {
        let (scenario, checker) = bug.meant_to_catch();
        let (seed, report) = first_failure(scenario, bug);
        assert!(
            report
                .violations
                .iter()
                .any(|v| v.checker.name() == checker),
            "{} was caught by {scenario} at seed {seed}, but not by {checker}: {:#?}",
            bug.name(),
            report.violations
        );
        assert_placed(&report, &format!("{} in {scenario}", bug.name()));
    }
}

/// Every violation of `report` but a checker's summary line says when it
/// happened, within the run (the terminal summary and the report's
/// timeline point there).
fn assert_placed(report: &SeedReport, what: &str) {
    for v in &report.violations {
        match v.at {
            None if v.omitted.is_some() => {}
            Some(at) if at <= report.sim_time => {}
            _ => panic!(
                "{what}, seed {}: {v} has no moment within the run of {:?}: {:?}",
                report.seed, report.sim_time, v.at
            ),
        }
    }
}

/// A transaction an older attempt left open, still pending when the job
/// finished, is named with its epoch and checkpoint, and it is of an
/// attempt before the last (a restore should have aborted it).
#[test]
fn a_transaction_left_open_by_an_older_attempt_lingers_and_is_named() {
    for bug in [PlantedBug::StalePrecommitKept, PlantedBug::NoEpochFence] {
        let (scenario, _) = bug.meant_to_catch();
        let (seed, report) = first_failure(scenario, bug);
        let left = report
            .violations
            .iter()
            .find(|v| v.kind == "lingering")
            .unwrap_or_else(|| panic!("{scenario} seed {seed}: {:#?}", report.violations));
        let [txn] = left.txns[..] else {
            panic!("one transaction per violation: {left:?}");
        };
        assert_eq!(left.checkpoint, Some(txn.checkpoint));
        let last_epoch = report
            .trace
            .iter()
            .filter_map(|e| match &e.what {
                flinch_harness::trace::What::Engine(
                    flinch_engine::event::Event::TasksDeployed { epoch, .. },
                ) => Some(*epoch),
                _ => None,
            })
            .max()
            .expect("deployed");
        assert!(txn.epoch < last_epoch, "{}: {left:?}", bug.name());
        assert!(
            left.message.contains(&format!(
                "{txn} (sink subtask {}, epoch {}, checkpoint {})",
                txn.subtask, txn.epoch, txn.checkpoint
            )),
            "{}",
            left.message
        );
    }
}

/// A failover that bypasses the strategy schedules no restart, yet the job
/// runs on: restart conformance sees a failure the strategy was never asked
/// about.
#[test]
fn a_failover_that_bypasses_the_restart_strategy_is_caught() {
    let bug = PlantedBug::FailoverNotCounted;
    let (scenario, _) = bug.meant_to_catch();
    let (seed, report) = first_failure(scenario, bug);
    let v = report
        .violations
        .iter()
        .find(|v| v.checker.name() == "restart-conformance")
        .unwrap_or_else(|| panic!("{scenario} seed {seed}: {:#?}", report.violations));
    assert_eq!(v.kind, "unexpected-give-up", "{v:?}");
    assert!(
        v.message.contains("lost"),
        "the cause is named: {}",
        v.message
    );
}

/// The jobs besides keyed-count, which `tests/planted_bugs.rs` holds to the
/// whole catalogue too.
const JOBS: [&str; 3] = ["windowed-sum", "dedup", "two-stage"];

#[test]
fn every_bug_applies_to_its_own_scenario_and_every_job_meets_some_bug() {
    for bug in PlantedBug::ALL {
        let (scenario, _) = bug.meant_to_catch();
        let s = scenario_with(scenario, None);
        assert!(applies(bug, &s), "{} cannot show in {scenario}", bug.name());
    }
    // Which bugs apply to which job: the table in the README.
    let applicable = |job: &str| -> Vec<&str> {
        PlantedBug::ALL
            .into_iter()
            .filter(|b| applies(*b, &scenario_with("steady", Some(job))))
            .map(|b| b.name())
            .collect()
    };
    let all_but = |skip: &[&str]| -> Vec<&str> {
        PlantedBug::ALL
            .into_iter()
            .map(|b| b.name())
            .filter(|n| !skip.contains(n))
            .collect()
    };
    let (watermark, drain) = ("restored-watermark", "drain-without-max-watermark");
    let second = "skip-second-alignment";
    assert_eq!(
        applicable("keyed-count"),
        all_but(&[watermark, second, drain])
    );
    assert_eq!(applicable("windowed-sum"), all_but(&[second]));
    assert_eq!(applicable("dedup"), all_but(&[watermark, second, drain]));
    assert_eq!(applicable("two-stage"), all_but(&[watermark, drain]));
}

/// Each bug that applies to a job is caught with that job by the bug's
/// own checker, in its own scenario run with the job (`--job`).
fn every_applicable_bug_is_caught_with(job: &str) {
    for bug in PlantedBug::ALL {
        let (scenario, checker) = bug.meant_to_catch();
        if !applies(bug, &scenario_with(scenario, Some(job))) {
            continue;
        }
        let (seed, report) = first_failure_with(scenario, Some(job), bug);
        assert!(
            report
                .violations
                .iter()
                .any(|v| v.checker.name() == checker),
            "{} was caught by {scenario} with {job} at seed {seed}, but not by {checker}: {:#?}",
            bug.name(),
            report.violations
        );
        assert_placed(&report, &format!("{} in {scenario} with {job}", bug.name()));
    }
}

#[test]
fn every_applicable_bug_is_caught_with_windowed_sum() {
    every_applicable_bug_is_caught_with(JOBS[0]);
}

#[test]
fn every_applicable_bug_is_caught_with_dedup() {
    every_applicable_bug_is_caught_with(JOBS[1]);
}

#[test]
fn every_applicable_bug_is_caught_with_two_stage() {
    every_applicable_bug_is_caught_with(JOBS[2]);
}

/// A watermark carried over a failover fires restored windows early: the
/// replayed records of those windows are dropped as late, so a window is
/// committed with the wrong sum or not at all.
#[test]
fn a_watermark_kept_across_a_failover_loses_window_contents() {
    let (seed, report) = first_failure("windowed-crash-mid-window", PlantedBug::RestoredWatermark);
    let wrong = report
        .violations
        .iter()
        .find(|v| v.checker.name() == "exactly-once")
        .unwrap_or_else(|| panic!("seed {seed}: {:#?}", report.violations));
    assert!(
        ["wrong-value", "missing"].contains(&wrong.kind),
        "seed {seed}: {wrong:?}"
    );
}

/// Alignment skipped at the second shuffle only breaks the cut of the
/// second keyed stage, never the first's, and needs no failure.
#[test]
fn alignment_skipped_at_the_second_shuffle_breaks_only_the_second_stage() {
    let (seed, report) = first_failure("two-stage-slow-link", PlantedBug::SkipSecondAlignment);
    let cut: Vec<&Violation> = report
        .violations
        .iter()
        .filter(|v| v.checker.name() == "consistent-cut")
        .collect();
    assert!(!cut.is_empty(), "seed {seed}: {:#?}", report.violations);
    for v in cut {
        assert!(v.message.contains("vertex region"), "seed {seed}: {v:?}");
    }
}
