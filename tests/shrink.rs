//! Shrinking a planted bug's failing seed: a nemesis plan of several faults
//! comes down to at most two that still fail the same way, and the scenario
//! file `flinch shrink` prints fails again under `flinch run`.

use flinch_engine::config::PlantedBug;
use flinch_harness::plan::render;
use flinch_harness::scenario::{load, parse, Scenario, SeedRange};
use flinch_harness::seed::{run_plan, run_seed};
use flinch_harness::shrink::{shrink_seed, shrink_seed_until, shrunk_scenario, ShrinkError};
use flinch_harness::world::resolve_jitter;
use std::cell::Cell;
use std::time::Duration;

mod common;
use common::{flinch, TempDir};

/// nemesis-mixed with `commit-on-barrier` planted, on half its input (and
/// the nemesis window to match) so that it runs fast in debug builds, and
/// at three times the intensity so that a plan has several faults to shrink.
fn planted_nemesis() -> Scenario {
    let mut s = load("nemesis-mixed").expect("built-in");
    s.config.planted_bug = Some(PlantedBug::CommitOnBarrier);
    s.config.workload.records = 3_000;
    let nemesis = s.nemesis.as_mut().expect("nemesis-mixed has a nemesis");
    nemesis.until = Duration::from_millis(1_500);
    nemesis.intensity *= 3.0;
    s
}

fn first_failure(s: &Scenario) -> u64 {
    (0..20)
        .find(|&seed| !run_seed(s, seed).passed)
        .unwrap_or_else(|| {
            panic!(
                "commit-on-barrier went unnoticed by {} for 20 seeds",
                s.name
            )
        })
}

#[test]
fn a_planted_bugs_nemesis_plan_shrinks_to_at_most_two_faults_that_still_fail() {
    let s = planted_nemesis();
    let seed = first_failure(&s);
    let shrink = shrink_seed(&s, seed, 200, |_| {}).expect("the seed fails");
    let plan = &shrink.shrunk.plan;
    assert!(
        shrink.original.len() >= 4,
        "seed {seed}: only {} faults to shrink",
        shrink.original.len()
    );
    println!(
        "seed {seed}: {} of {} faults in {} runs",
        plan.len(),
        shrink.original.len(),
        shrink.shrunk.runs
    );
    assert!(
        !shrink.shrunk.exhausted,
        "seed {seed}: not 1-minimal in 200 runs"
    );
    assert!(
        plan.len() <= 2,
        "seed {seed}: {} of {} faults left: {plan:#?}",
        plan.len(),
        shrink.original.len()
    );
    let again = run_plan(&s, seed, plan);
    assert!(!again.passed, "seed {seed}: the shrunk plan passes");
    assert!(
        again.violations.iter().any(|v| v.kind == "duplicated"),
        "seed {seed}: the shrunk plan fails differently: {:#?}",
        again.violations
    );

    // The printed scenario file means the same: it parses to the shrunk
    // scenario and fails as a plain run of that seed.
    let shrunk = shrunk_scenario(&s, &shrink);
    let text = render(&shrunk);
    let parsed = parse(&text, "shrunk.toml").unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(parsed, shrunk);
    assert!(parsed.nemesis.is_none());
    assert_eq!(parsed.seeds, SeedRange::one(seed));
    assert!(!run_seed(&parsed, seed).passed);
}

/// `crash-during-checkpoint` with commit-on-barrier, whose seed 2^64 - 1
/// fails.
fn planted_at_the_last_seed() -> Scenario {
    let mut s = load("crash-during-checkpoint").expect("built-in");
    s.config.planted_bug = Some(PlantedBug::CommitOnBarrier);
    s
}

#[test]
fn the_last_seed_shrinks_to_a_file_that_reads_back_as_that_seed() {
    let s = planted_at_the_last_seed();
    let shrink = shrink_seed(&s, u64::MAX, 200, |_| {}).expect("the last seed fails");
    let text = render(&shrunk_scenario(&s, &shrink));
    let range = format!("{0}..={0}", u64::MAX);
    assert!(text.contains(&format!("range = \"{range}\"")), "{text}");
    let parsed = parse(&text, "shrunk.toml").unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(parsed.seeds, SeedRange::one(u64::MAX));
    assert_eq!(parsed.seeds.into_iter().collect::<Vec<_>>(), [u64::MAX]);
}

#[test]
fn flinch_shrink_of_the_last_seed_prints_a_file_and_command_that_run_it() {
    let dir = TempDir::new("cli-last-seed");
    let planted = dir.write("planted.toml", &render(&planted_at_the_last_seed()));
    let seed = u64::MAX.to_string();
    let (code, stdout, stderr) = flinch(&["shrink", &planted, "--seed", &seed]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let range = format!("{seed}..={seed}");
    assert!(
        stdout.contains(&format!("flinch run shrunk.toml --seeds {range}\n")),
        "{stdout}"
    );
    let shrunk = dir.write("shrunk.toml", &stdout);
    let (code, out, err) = flinch(&["check", &shrunk]);
    assert_eq!(code, 0, "{out}\n{err}");
    for run in [&["run", &shrunk][..], &["run", &shrunk, "--seeds", &range]] {
        let (code, out, err) = flinch(&[run, &["--no-shrink", "--json"]].concat());
        assert_eq!(code, 1, "{run:?}: the shrunk plan passes:\n{out}\n{err}");
        assert!(out.contains(&format!("--seed {seed}")), "{run:?}: {out}");
    }
}

#[test]
fn a_plan_with_its_jitter_pinned_runs_exactly_as_the_jittered_one() {
    let s = load("taskmanager-crash").expect("built-in");
    for seed in 0..3 {
        let plan = s.plan(seed);
        let pinned = resolve_jitter(&plan, seed);
        assert_ne!(pinned, plan, "taskmanager-crash's fault has jitter");
        assert!(pinned.iter().all(|f| f.jitter.is_zero()));
        assert_eq!(
            resolve_jitter(&pinned, seed),
            pinned,
            "pinning is idempotent"
        );
        assert_eq!(
            run_plan(&s, seed, &plan).trace_hash(),
            run_plan(&s, seed, &pinned).trace_hash(),
            "seed {seed}"
        );
    }
}

#[test]
fn a_passing_seed_has_nothing_to_shrink() {
    let s = load("taskmanager-crash").expect("built-in");
    let error = shrink_seed(&s, 0, 10, |_| {}).expect_err("seed 0 passes");
    assert_eq!(
        error.to_string(),
        "seed 0 passes: there is no failure to shrink"
    );
}

#[test]
fn flinch_shrink_prints_a_scenario_file_that_flinch_run_fails_on() {
    let dir = TempDir::new("cli");
    let mut s = load("taskmanager-crash").expect("built-in");
    s.config.planted_bug = Some(PlantedBug::CommitOnBarrier);
    let seed = first_failure(&s);
    let planted = dir.write("planted.toml", &render(&s));

    let (code, stdout, stderr) = flinch(&["shrink", &planted, "--seed", &seed.to_string()]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let range = format!("{seed}..{}", seed + 1);
    assert!(
        stdout.contains(&format!(
            "# Replay: save this as shrunk.toml, then: flinch run shrunk.toml --seeds {range}"
        )),
        "{stdout}"
    );
    assert!(stderr.contains("flinch: shrunk seed"), "{stderr}");
    let shrunk = dir.write("shrunk.toml", &stdout);

    let (code, out, err) = flinch(&["run", &shrunk, "--seeds", &range, "--no-shrink"]);
    assert_eq!(code, 1, "the shrunk plan passes:\n{out}\n{err}\n{stdout}");
    assert!(out.contains("[exactly-once] duplicated"), "{out}");

    // The header's command repeats the `--job` the shrink was given.
    let seed = seed.to_string();
    let args = ["shrink", &planted, "--job", "keyed-count", "--seed", &seed];
    let (code, stdout, stderr) = flinch(&args);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let first = stdout.lines().next().unwrap_or_default();
    assert_eq!(
        first,
        format!("# flinch shrink {planted} --job keyed-count --seed {seed}"),
        "{stdout}"
    );

    // A passing seed: exit 1, nothing on stdout (where a shrunk scenario
    // would go, `> case.toml`), the reason on stderr.
    let steady = dir.write("steady.toml", &render(&load("steady").expect("built-in")));
    let (code, stdout, stderr) = flinch(&["shrink", &steady, "--seed", "0"]);
    assert_eq!(code, 1, "{stdout}");
    assert_eq!(stdout, "");
    assert!(
        stderr.contains("seed 0 of steady passes: nothing to shrink\n"),
        "{stderr}"
    );
}

#[test]
fn a_stop_hook_ends_shrinking_without_a_plan() {
    let s = planted_nemesis();
    let seed = first_failure(&s);
    let at_once = shrink_seed_until(&s, seed, 200, |_| {}, &|| true);
    assert_eq!(at_once.err(), Some(ShrinkError::Stopped { seed }));

    // Stopped after the first candidate plan ran (as Ctrl-C in the middle
    // of `flinch run`'s shrinking): no half-shrunk plan comes back.
    let stop = Cell::new(false);
    let midway = shrink_seed_until(&s, seed, 200, |_| stop.set(true), &|| stop.get());
    assert_eq!(midway.err(), Some(ShrinkError::Stopped { seed }));
}

/// A plan with fault triggers shrinks to one whose every trigger names a
/// fault still in it (a dependent whose anchor went is pinned to a time),
/// that prints as a file that parses back to it, and that still fails.
#[test]
fn a_plan_with_fault_triggers_shrinks_to_anchors_that_are_all_there() {
    let mut s = load("crash-after-partition-heals").expect("built-in");
    // Any failover loses records with this bug, so the plan shrinks to
    // one fault: for seed 0 the message loss that waited for `cut`, pinned.
    s.config.planted_bug = Some(PlantedBug::SourceNoRewind);
    let seed = (0..20)
        .find(|&seed| !run_seed(&s, seed).passed)
        .expect("source-no-rewind is caught within 20 seeds");
    let shrink = shrink_seed(&s, seed, 100, |_| {}).expect("the seed fails");
    let plan = &shrink.shrunk.plan;
    for fault in plan {
        if let Some(anchor) = fault.anchor() {
            assert!(
                plan.iter().any(|f| f.id.as_deref() == Some(anchor)),
                "seed {seed}: {fault} waits for a fault not in {plan:?}"
            );
        }
    }
    // Both plans list every anchor before the faults that wait for it.
    for plan in [&shrink.original, plan] {
        for (index, fault) in plan.iter().enumerate() {
            if let Some(anchor) = fault.anchor() {
                assert!(
                    plan[..index]
                        .iter()
                        .any(|f| f.id.as_deref() == Some(anchor)),
                    "seed {seed}: {fault} is listed before its anchor in {plan:?}"
                );
            }
        }
    }
    let scenario = shrunk_scenario(&s, &shrink);
    let text = render(&scenario);
    let parsed = parse(&text, "shrunk.toml").expect("the shrunk plan parses back");
    assert_eq!(parsed.faults, *plan, "{text}");
    assert!(!run_plan(&s, seed, plan).passed, "seed {seed}: {plan:?}");
    assert!(
        plan.len() < shrink.original.len(),
        "seed {seed}: nothing removed from {plan:?}"
    );
}

/// Shrinking also drops the plain savepoints (`[[savepoint]]`) the failure
/// does not need: `no-claim-snapshot-deleted` deletes the stop's savepoint
/// that a `no-claim` resume restored, whatever plain savepoints the run
/// also took, so both of these go, and the printed file still fails.
#[test]
fn shrinking_drops_the_plain_savepoints_the_failure_does_not_need() {
    let source = r#"
name = "two-idle-savepoints"
description = "An inline scenario of this test."
job = { name = "keyed-count" }
topology = { taskmanagers = 2, parallelism = 2 }
bug = "no-claim-snapshot-deleted"

[workload]
records = 3000

[checkpoint]
retained = 2

[[savepoint]]
at = "200ms"
jitter = "100ms"

[[savepoint]]
at = "1300ms"
jitter = "100ms"

[[lifecycle]]
stop = { at = "500ms", with = "savepoint" }
resume = { from = "savepoint", restore_mode = "no-claim", after = "100ms" }

[expect]
outcome = "exactly-once"
"#;
    let scenario = parse(source, "inline.toml").expect("valid");
    let seed = 0;
    assert!(
        !run_seed(&scenario, seed).passed,
        "the planted bug must fail seed 0"
    );
    let report = shrink_seed(&scenario, seed, 50, |_| {}).expect("fails, so it shrinks");
    assert_eq!(report.original_savepoints, 2);
    assert_eq!(report.savepoints, [], "neither savepoint is needed");
    let shrunk = shrunk_scenario(&scenario, &report);
    let again = parse(&render(&shrunk), "shrunk.toml").expect("the printed file parses");
    assert!(again.savepoints.is_empty());
    let rerun = run_seed(&again, seed);
    assert!(
        (rerun.violations.iter()).any(|v| v.kind == "unowned-snapshot-deleted"),
        "{:#?}",
        rerun.violations
    );
}

/// A fault on an engine event with `jitter` fires a seeded time after the
/// event, and shrinking pins that draw into the trigger's `delay` (never
/// into `at`, which for an event trigger is only when events start to
/// count): the shrunk plan fires the fault at the time it fired in the
/// failing run, and the printed file fails again when replayed.
#[test]
fn a_shrunk_event_trigger_keeps_its_drawn_delay_and_the_file_fails_again() {
    use flinch_harness::fault::Trigger;
    let source = r#"
name = "crash-after-checkpoint-jittered"
description = "An inline scenario of this test."
job = { name = "keyed-count" }
topology = { taskmanagers = 2, parallelism = 2 }
bug = "source-no-rewind"

[workload]
records = 2000

[[fault]]
kind = "crash_restart"
host = "taskmanager-2"
on = { event = "checkpoint_completed", checkpoint = 2, delay = "1ms" }
jitter = "40ms"
after = "200ms"

[expect]
outcome = "exactly-once"
"#;
    let s = parse(source, "inline.toml").expect("valid");
    let seed = (0..20)
        .find(|&seed| {
            let delay = match &resolve_jitter(&s.faults, seed)[0].on {
                Some(Trigger::Event(on)) => on.delay,
                other => panic!("an event trigger: {other:?}"),
            };
            // A seed whose draw is not 0, so that a draw lost or put in
            // the wrong place would show.
            delay > Duration::from_millis(5) && !run_seed(&s, seed).passed
        })
        .expect("source-no-rewind fails a seed with a draw within 20 seeds");
    let original = run_seed(&s, seed);
    let shrink = shrink_seed(&s, seed, 20, |_| {}).expect("the seed fails");
    let plan = &shrink.shrunk.plan;
    assert_eq!(plan.len(), 1, "{plan:?}");
    let fault = &plan[0];
    assert_eq!((fault.at, fault.jitter), (Duration::ZERO, Duration::ZERO));
    let Some(Trigger::Event(on)) = &fault.on else {
        panic!("the event trigger stays: {fault:?}");
    };
    let drawn = on.delay - Duration::from_millis(1);
    assert!(
        drawn > Duration::ZERO && drawn < Duration::from_millis(40),
        "{on:?}"
    );
    // The shrunk plan fires the fault when the failing run did.
    assert_eq!(shrink.report.fired_at, original.fired_at, "seed {seed}");
    // Its file reads back as the plan, and fails again.
    let text = render(&shrunk_scenario(&s, &shrink));
    let again = parse(&text, "shrunk.toml").expect("the printed file parses");
    assert_eq!(again.faults, *plan, "{text}");
    let rerun = run_seed(&again, seed);
    assert_eq!(rerun.fired_at, original.fired_at, "{text}");
    assert!(
        (rerun.violations.iter()).any(|v| v.kind == "missing"),
        "{text}\n{:#?}",
        rerun.violations
    );
}

/// A seed that fails only as `vacuous` (here a pause of a host a crash
/// already took down) is not shrunk: its plan is what needs fixing, and any
/// smaller plan with a fault that does nothing would fail "the same way".
/// `flinch shrink` prints no plan, exits 2 and names the fault; `flinch
/// run` says the same instead of writing a shrunk plan.
#[test]
fn a_seed_that_fails_only_as_vacuous_is_not_shrunk_and_the_fault_is_named() {
    let source = r#"
name = "pause-of-a-crashed-host"
description = "An inline scenario of this test."
job = { name = "keyed-count" }
topology = { taskmanagers = 2, parallelism = 2 }

[workload]
records = 2000

[[fault]]
kind = "partition"
host = "taskmanager-2"
peer = "sink"
at = "200ms"
for = "100ms"

[[fault]]
kind = "crash_restart"
host = "taskmanager-1"
at = "300ms"
after = "200ms"

[[fault]]
kind = "pause"
host = "taskmanager-1"
at = "400ms"
for = "50ms"

[expect]
outcome = "exactly-once"
"#;
    let s = parse(source, "inline.toml").expect("valid");
    let report = run_seed(&s, 0);
    let kinds: Vec<&str> = report.violations.iter().map(|v| v.kind).collect();
    assert_eq!(kinds, ["vacuous"], "{:#?}", report.violations);
    let vacuous = "fault[2] `pause taskmanager-1 at 400ms for 50ms` fired and did nothing: \
                   taskmanager-1 was down";
    match shrink_seed(&s, 0, 50, |_| {}) {
        Err(ShrinkError::OnlyVacuous { seed: 0, why }) => assert_eq!(why, [vacuous]),
        other => panic!("{other:?}"),
    }

    let dir = TempDir::new("vacuous");
    let file = dir.write("vacuous.toml", source);
    let (code, stdout, stderr) = flinch(&["shrink", &file, "--seed", "0"]);
    assert_eq!((code, stdout.as_str()), (2, ""), "{stderr}");
    assert!(
        stderr.contains("seed 0 fails only as vacuous, so it is not shrunk")
            && stderr.contains(vacuous),
        "{stderr}"
    );
    let (code, stdout, stderr) = flinch(&["run", &file, "--seeds", "0..1"]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("flinch: not shrunk: seed 0 fails only as vacuous"),
        "{stderr}"
    );
}
