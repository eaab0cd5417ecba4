//! One seed of one scenario, start to verdict.
//!
//! The verdict's violations come root cause first
//! ([`root_cause_first`]): an engine panic or internal error, then how the
//! job ended, then state, then records.

use crate::check;
use crate::expect::Expectation;
use crate::fault::{Fault, Trigger};
use crate::outcome::CommittedTxn;
use crate::panics::{self, Phase};
use crate::scenario::Scenario;
use crate::trace::{trace_hash, TraceEvent};
use crate::violation::{root_cause_first, Checker, Violation, VACUOUS};
use crate::world::{self, Breakage, Broken, SimError};
use flinch_engine::record::{Record, TxnId};
use std::time::Duration;

/// Host steps a simulation ran and skipped as idle (turmoil's, patched:
/// vendor/turmoil/PATCHES.md, 5).
pub use turmoil::HostSteps;
/// Everything a user needs about one seed.
#[derive(Debug, Clone)]
pub struct SeedReport {
    pub seed: u64,
    pub passed: bool,
    pub violations: Vec<Violation>,
    /// Every event of the run, in order ([`SeedReport::trace_hash`] hashes it).
    pub trace: Vec<TraceEvent>,
    pub sim_time: Duration,
    /// How many host steps the simulation ran, and how many it skipped as
    /// idle (all zero if the run broke before its end).
    pub host_steps: HostSteps,
    /// Connection requests that found a listener's accept queue full and
    /// were refused, over every host and the whole run (turmoil's, patched:
    /// vendor/turmoil/PATCHES.md, 1), as a kernel refuses them past a
    /// listener's backlog. A `stall` that holds a link while clients dial
    /// again and again releases their requests together; 0 in most runs
    /// (and if the run broke before its end).
    pub refused_connections: u64,
    /// Input records of the run.
    pub records: u64,
    /// keyed-count's committed output, decoded (empty for other jobs).
    pub committed: Vec<CommittedTxn>,
    /// The committed output as engine records, any job's.
    pub output: Vec<(TxnId, Vec<Record>)>,
    /// Extra copies of output records ([`check::duplicates`]): what an
    /// at-least-once run duplicated; 0 for any other expectation (an
    /// exactly-once run reports each duplicate as a violation) and when the
    /// run broke before its output was read.
    pub duplicates: u64,
    /// Output records the job declared lost on purpose, with the
    /// transactions that held them: transactions the sink aborted after
    /// `sink.transaction_timeout`, given up under
    /// `sink.ignore_failures_after_transaction_timeout`
    /// ([`crate::outcome::RunOutcome::output_lost`]). Empty for any other
    /// run.
    pub lost: Vec<(TxnId, u64)>,
    /// The fault plan this seed ran.
    pub plan: Vec<Fault>,
    /// When each fault of [`SeedReport::plan`] fired (simulated time since
    /// the start of the run), in plan order; `None` for one that never
    /// fired. Empty when the run broke before its end (a panic or a host's
    /// error): then only the trace says what fired.
    pub fired_at: Vec<Option<Duration>>,
}

impl SeedReport {
    /// CRC-32 over the trace's lines ([`trace_hash`]): what `replay`
    /// prints and a campaign records. Computed when asked, since formatting
    /// every event of a run costs about as much as a checkpoint's work, and
    /// most runs (a sweep's passing seeds) are never asked.
    pub fn trace_hash(&self) -> u32 {
        trace_hash(&self.trace)
    }
}

/// A seed whose run was stopped from outside before its verdict (the
/// caller's stop hook said so; see [`world::simulate_plan_until`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "seed {seed} was stopped at {at:?} of simulated time, after {steps} steps, before its verdict"
)]
pub struct Stopped {
    /// The seed that was stopped.
    pub seed: u64,
    /// Simulated time the run had reached.
    pub at: Duration,
    /// Steps of [`world::TICK`] it had taken.
    pub steps: u64,
}

/// Run one seed and check it. A panic, in the simulation or the checkers,
/// comes back as a failed report with an `engine-panic` or `internal-error`
/// violation (see [`panics`]) and the trace up to it, never as a panic of
/// the caller. The plan is the scenario's for this seed ([`Scenario::plan`]).
pub fn run_seed(scenario: &Scenario, seed: u64) -> SeedReport {
    run_plan(scenario, seed, &scenario.plan(seed))
}

/// [`run_seed`], stopped when `stop` says so (asked every
/// [`world::STOP_POLL_STEPS`] steps): then there is no verdict, only
/// [`Stopped`]. This is how the CLI enforces `--timeout` and Ctrl-C.
pub fn run_seed_until(
    scenario: &Scenario,
    seed: u64,
    stop: &dyn Fn() -> bool,
) -> Result<SeedReport, Stopped> {
    run_plan_until(scenario, seed, &scenario.plan(seed), stop)
}

/// Run one seed with an explicit fault plan instead of the scenario's.
pub fn run_plan(scenario: &Scenario, seed: u64, plan: &[Fault]) -> SeedReport {
    run_plan_until(scenario, seed, plan, &|| false)
        .expect("a run whose stop hook never says stop is never stopped")
}

/// [`run_plan`], stopped when `stop` says so (see [`run_seed_until`]).
pub fn run_plan_until(
    scenario: &Scenario,
    seed: u64,
    plan: &[Fault],
    stop: &dyn Fn() -> bool,
) -> Result<SeedReport, Stopped> {
    let records = scenario.config.workload.records;
    let run = panics::catch(Phase::Harness, Duration::ZERO, || {
        world::simulate_plan_until(scenario, seed, plan, stop)
    });
    let broken = |broken: Broken| SeedReport {
        seed,
        passed: false,
        violations: vec![broken.violation()],
        trace: broken.trace,
        sim_time: broken.at,
        host_steps: Default::default(),
        refused_connections: 0,
        records,
        committed: Vec::new(),
        output: Vec::new(),
        duplicates: 0,
        lost: Vec::new(),
        plan: plan.to_vec(),
        fired_at: Vec::new(),
    };
    let outcome = match run {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(SimError::Stopped { at, steps })) => return Err(Stopped { seed, at, steps }),
        Ok(Err(SimError::Broken(b))) => return Ok(broken(*b)),
        Err(panic) => {
            return Ok(broken(Broken {
                at: panic.at,
                breakage: Breakage::Panic(panic),
                trace: Vec::new(),
            }))
        }
    };
    let fired_at = outcome.fired_at.clone();
    let checked = panics::catch(Phase::Check, outcome.sim_time, || {
        let mut violations = check::check_all(&outcome, scenario);
        let drawn = (scenario.nemesis.as_ref())
            .map(|n| n.plan(seed, &scenario.config, &scenario.expect))
            .unwrap_or_default();
        violations.extend(vacuity(
            plan,
            &outcome.fired_at,
            &outcome.without_effect,
            &drawn,
        ));
        violations.extend(savepoints_never_asked(&scenario.savepoints, &outcome.trace));
        // Counted only where duplicates are allowed: elsewhere the
        // checkers already named each one, and the count is never shown.
        let duplicates = match scenario.expect {
            Expectation::AtLeastOnce => check::duplicates(&outcome),
            _ => 0,
        };
        (violations, duplicates)
    });
    let (mut violations, duplicates) = checked.unwrap_or_else(|panic| (vec![panic.violation()], 0));
    check::moment::place(&mut violations, &outcome.trace, outcome.sim_time);
    root_cause_first(&mut violations);
    Ok(SeedReport {
        seed,
        passed: violations.is_empty(),
        violations,
        trace: outcome.trace,
        sim_time: outcome.sim_time,
        host_steps: outcome.host_steps,
        refused_connections: outcome.refused_connections,
        records,
        committed: outcome.committed,
        output: outcome.output,
        duplicates,
        lost: (outcome.output_lost.iter())
            .map(|(txn, records)| (*txn, records.len() as u64))
            .collect(),
        plan: plan.to_vec(),
        fired_at,
    })
}

/// A fault that never fired makes the run vacuous, not passed, and so does
/// one that fired and did nothing (`without_effect`, by plan index: a
/// `bit_rot` that matched no file). The message names the fault by its
/// index in the plan (`fault[3]`, as `replay` lists the plan and as load
/// errors name a file's faults) and the fault's whole `Display` (id, link,
/// trigger with every filter and delay), so no two faults of a plan read
/// alike. A fault the nemesis drew (`drawn`) for a time the run did not
/// reach is no fault of the scenario's, and not judged.
fn vacuity(
    plan: &[Fault],
    fired_at: &[Option<Duration>],
    without_effect: &[Option<String>],
    drawn: &[Fault],
) -> Vec<Violation> {
    let message = |index: usize, f: &Fault| {
        // What a fault the nemesis drew met (a host a stop held down) was
        // the draw's, not something the scenario asked for.
        let drawn_here = f.on.is_none() && drawn.contains(f);
        if let Some(why) = without_effect.get(index).and_then(Option::as_deref) {
            return (!drawn_here)
                .then(|| format!("fault[{index}] `{f}` fired and did nothing: {why}"));
        }
        // Past the end of `fired_at` as the old zip of the two was: no
        // verdict on a fault the run kept no time for.
        if !matches!(fired_at.get(index), Some(None)) {
            return None;
        }
        // A fault the nemesis drew for a time the run did not reach (a
        // drain or a stop ended it sooner than the input would have) was
        // a draw, not something the scenario asked for.
        if drawn_here {
            return None;
        }
        let why = match &f.on {
            None => "the run ended before its time came",
            Some(Trigger::Event(_)) => "its event never came before the run ended",
            Some(Trigger::Fault(_)) => "its anchor's edge never came before the run ended",
        };
        Some(format!("fault[{index}] `{f}` never fired: {why}"))
    };
    (plan.iter().enumerate())
        .filter_map(|(index, f)| message(index, f))
        .map(|m| Violation::new(Checker::ExpectedOutcome, VACUOUS, m))
        .collect()
}

/// A `[[savepoint]]` that was never asked for (its time came after the
/// run ended, or its event never came) makes the run vacuous too, as a
/// fault that never fired does: it tested nothing of what the scenario says.
/// Named by its index in the file, `savepoint[n]`, with its time or event.
fn savepoints_never_asked(
    savepoints: &[crate::lifecycle::Savepoint],
    trace: &[crate::trace::TraceEvent],
) -> Vec<Violation> {
    use crate::trace::{FaultEvent, What};
    let asked = |n: usize| {
        trace.iter().any(|e| {
            matches!(&e.what, What::Fault(FaultEvent::SavepointRequested { n: m, .. })
                if *m as usize == n)
        })
    };
    (savepoints.iter().enumerate())
        .filter(|(n, _)| !asked(*n))
        .map(|(n, savepoint)| {
            let when = match &savepoint.on {
                None => format!(
                    "at {}: the run ended before its time came",
                    crate::fault::format_duration(savepoint.at)
                ),
                Some(on) => format!(
                    "on {}: its event never came before the run ended",
                    crate::fault::Trigger::Event(on.clone())
                ),
            };
            let message = format!("savepoint[{n}] was never asked for, {when}");
            Violation::new(Checker::ExpectedOutcome, VACUOUS, message)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::kind;
    use crate::fault::{FaultKind, ALL_PEERS};
    use crate::violation::{Cause, ENGINE_PANIC, INTERNAL_ERROR};
    use crate::world::TICK;

    fn steady() -> Scenario {
        crate::scenario::load("steady").expect("built-in scenarios load")
    }

    #[test]
    fn a_job_cut_short_reports_not_finished_before_its_missing_records() {
        let mut s = steady();
        // Too short for the job to finish: the output checker finds records
        // missing, and they are only the consequence.
        s.max_sim_time = Duration::from_millis(300);
        let report = run_seed(&s, 0);
        assert!(!report.passed);
        let first = &report.violations[0];
        assert_eq!(
            (first.checker, first.kind),
            (Checker::ExpectedOutcome, kind::NOT_FINISHED)
        );
        let causes: Vec<Cause> = report.violations.iter().map(Violation::cause).collect();
        assert!(causes.contains(&Cause::Record), "{:#?}", report.violations);
        assert!(causes.windows(2).all(|w| w[0] <= w[1]), "{causes:?}");
    }

    #[test]
    fn a_stopped_seed_has_no_verdict() {
        let s = steady();
        let stopped = run_seed_until(&s, 4, &|| true).expect_err("stopped at once");
        assert_eq!(
            stopped,
            Stopped {
                seed: 4,
                at: Duration::ZERO,
                steps: 0
            }
        );
        let full = run_seed_until(&s, 4, &|| false).expect("never stopped");
        assert!(full.passed, "{:?}", full.violations);
        assert_eq!(full.trace_hash(), run_seed(&s, 4).trace_hash());
    }

    /// The one violation of a run that broke, after checking what the
    /// report keeps of it: the trace up to the break, hashed, ending at
    /// the step that broke it.
    fn broken_run(report: &SeedReport) -> &Violation {
        assert!(!report.passed);
        assert_eq!(report.violations.len(), 1, "{:#?}", report.violations);
        let v = &report.violations[0];
        assert_eq!(
            (v.checker, v.cause()),
            (Checker::ExpectedOutcome, Cause::Internal)
        );
        let last = report.trace.last().expect("the trace up to the break");
        assert!(last.at <= report.sim_time + TICK, "{last:?}");
        assert_eq!(report.trace_hash(), trace_hash(&report.trace));
        let at = format!(
            "at {:.3} s of simulated time",
            report.sim_time.as_secs_f64()
        );
        assert!(v.message.contains(&at), "{at}: {v}");
        v
    }

    #[test]
    fn a_host_that_panics_in_the_engines_code_is_an_engine_panic_with_the_trace_up_to_it() {
        // Validation refuses max_parallelism 0; past it, the engine's key
        // routing divides by zero in the sources' taskmanager.
        let mut s = steady();
        s.config.topology.max_parallelism = 0;
        let report = run_seed(&s, 2);
        let v = broken_run(&report);
        assert_eq!(v.kind, ENGINE_PANIC, "{v}");
        assert!(v.message.starts_with("engine/src/keygroup.rs:"), "{v}");
        assert!(
            v.message.ends_with(
                "s of simulated time: attempt to calculate the remainder with a divisor of zero"
            ),
            "{v}"
        );
        assert!(report.sim_time > Duration::ZERO);
        // Deterministic, like any run: the same place, time and trace.
        let again = run_seed(&s, 2);
        assert_eq!(
            (again.violations.clone(), again.trace_hash()),
            (report.violations.clone(), report.trace_hash())
        );
    }

    #[test]
    fn a_fault_on_a_host_the_simulation_lacks_is_an_internal_error() {
        // Validation refuses this plan (no such host); past it, the
        // harness asks turmoil to crash a host it never built, and
        // turmoil's own panic is the harness's fault, not the engine's.
        let mut s = steady();
        s.faults = vec![Fault {
            id: None,
            kind: FaultKind::Crash,
            host: "taskmanager-9".into(),
            at: Duration::from_millis(500),
            jitter: Duration::ZERO,
            on: None,
        }];
        let report = run_seed(&s, 0);
        let v = broken_run(&report);
        assert_eq!(v.kind, INTERNAL_ERROR, "{v}");
        assert!(!v.message.starts_with("engine/"), "{v}");
    }

    /// Found by a colleague's review of the internal-error report (and
    /// the class the scenario_run fuzz target aims at): the store's links
    /// hold every message for a minute while the other hosts keep dialling
    /// it; when the stall ends, the held connection requests land at once,
    /// more than turmoil's listener queue holds, and upstream turmoil
    /// panicked. flinch's turmoil drops what a full queue cannot take, as a
    /// kernel does (vendor/README.md), and the job survives exactly once.
    /// From the review of the first fix (a TCP capacity sized from the
    /// plan's holds): a jobmanager that restarts while its link to `store`
    /// is held dials again at once, so held connection requests pile up
    /// faster than one per `rpc_timeout`, and no capacity sized in advance
    /// holds them. Whatever the verdict, the run must have one.
    #[test]
    fn a_jobmanager_restarted_seventy_times_during_a_hold_is_never_an_internal_error() {
        let mut s = steady();
        s.config.timing.rpc_timeout = Duration::from_secs(60);
        s.max_sim_time = Duration::from_secs(120);
        s.faults = vec![Fault {
            id: None,
            kind: FaultKind::Stall {
                peer: "jobmanager".into(),
                duration: Duration::from_secs(50),
            },
            host: "store".into(),
            at: Duration::from_millis(100),
            jitter: Duration::ZERO,
            on: None,
        }];
        s.faults.extend((0..70_u64).map(|n| Fault {
            id: None,
            kind: FaultKind::CrashRestart {
                after: Duration::from_millis(200),
            },
            host: "jobmanager".into(),
            at: Duration::from_millis(200 + 700 * n),
            jitter: Duration::ZERO,
            on: None,
        }));
        let report = run_seed(&s, 0);
        let internal: Vec<_> = report
            .violations
            .iter()
            .filter(|v| v.cause() == Cause::Internal)
            .collect();
        assert!(internal.is_empty(), "{internal:#?}");
    }

    /// The messages of a report's `vacuous` violations, in order.
    fn vacuous_messages(report: &SeedReport) -> Vec<&str> {
        (report.violations.iter())
            .filter(|v| v.kind == VACUOUS)
            .map(|v| v.message.as_str())
            .collect()
    }

    #[test]
    fn a_minute_long_stall_of_the_store_is_survived() {
        let mut s = steady();
        s.max_sim_time = Duration::from_secs(90);
        s.faults = vec![Fault {
            id: None,
            kind: FaultKind::Stall {
                peer: ALL_PEERS.to_string(),
                duration: Duration::from_secs(60),
            },
            host: "store".into(),
            at: Duration::from_millis(500),
            jitter: Duration::ZERO,
            on: None,
        }];
        let report = run_seed(&s, 0);
        assert!(report.passed, "{:#?}", report.violations);
    }

    /// A `[[savepoint]]` whose time comes after the job ended, or whose
    /// event never comes, leaves the run vacuous, named by its index; one
    /// that is asked for does not.
    #[test]
    fn a_savepoint_never_asked_for_makes_the_run_vacuous() {
        use crate::fault::EventTrigger;
        use crate::lifecycle::Savepoint;
        let mut s = steady();
        let at = |ms| Savepoint {
            at: Duration::from_millis(ms),
            jitter: Duration::ZERO,
            on: None,
        };
        s.savepoints = vec![
            at(300),
            at(20_000),
            Savepoint {
                on: Some(EventTrigger {
                    checkpoint: Some(999),
                    ..EventTrigger::on("checkpoint_completed")
                }),
                ..at(0)
            },
        ];
        let report = run_seed(&s, 0);
        let vacuous = vacuous_messages(&report);
        assert_eq!(
            vacuous,
            [
                "savepoint[1] was never asked for, at 20s: the run ended before its time came",
                "savepoint[2] was never asked for, on { event = \"checkpoint_completed\", \
                 checkpoint = 999, occurrence = 1 }: its event never came before the run ended",
            ],
            "{:?}",
            report.violations
        );
        s.savepoints.truncate(1);
        let asked = run_seed(&s, 0);
        assert!(asked.passed, "{:?}", asked.violations);
    }

    /// A `bit_rot` whose path matches no file on its host's disk fires and
    /// changes nothing: the run is vacuous, naming the fault and the path;
    /// one that rots a file is not.
    #[test]
    fn a_bit_rot_that_matched_no_file_makes_the_run_vacuous() {
        let mut s = steady();
        let rot = |path: &str| Fault {
            id: None,
            kind: FaultKind::BitRot { path: path.into() },
            host: "store".into(),
            at: Duration::from_millis(900),
            jitter: Duration::ZERO,
            on: None,
        };
        s.faults = vec![rot("/store/no-such-dir/")];
        let report = run_seed(&s, 0);
        let vacuous = vacuous_messages(&report);
        assert_eq!(
            vacuous,
            [
                "fault[0] `bit_rot store path \"/store/no-such-dir/\" at 900ms` fired and did \
                 nothing: no non-empty file on store's disk had a path starting with \"/store/no-such-dir/\""
            ],
            "{:?}",
            report.violations
        );
        assert_eq!(report.fired_at, [Some(Duration::from_millis(900))]);
        // The same fault aimed at what the store holds by then rots a file
        // (the newest checkpoint's metadata, which a run without a failure
        // never reads back).
        s.faults = vec![rot("/store/meta/")];
        let rotted = run_seed(&s, 0);
        assert!(
            rotted.violations.iter().all(|v| v.kind != "vacuous"),
            "{:?}",
            rotted.violations
        );
    }

    /// A bare `restart` of a host that is up, and a bare `crash` or a
    /// `pause` of one already down, fire and do nothing: the run is
    /// vacuous, naming each;
    /// the crash that took the host down, and a restart after it, are not.
    #[test]
    fn a_restart_of_a_running_host_and_a_crash_of_a_down_one_make_the_run_vacuous() {
        let mut s = steady();
        let fault = |kind: FaultKind, ms: u64| Fault {
            id: None,
            kind,
            host: "taskmanager-1".into(),
            at: Duration::from_millis(ms),
            jitter: Duration::ZERO,
            on: None,
        };
        s.faults = vec![
            fault(FaultKind::Restart, 200),
            fault(FaultKind::Crash, 300),
            fault(FaultKind::Crash, 320),
            fault(
                FaultKind::Pause {
                    duration: Duration::from_millis(20),
                },
                340,
            ),
            fault(FaultKind::Restart, 400),
        ];
        let report = run_seed(&s, 0);
        let vacuous = vacuous_messages(&report);
        assert_eq!(
            vacuous,
            [
                "fault[0] `restart taskmanager-1 at 200ms` fired and did nothing: taskmanager-1 \
                 was up: nothing had taken it down since it last started",
                "fault[2] `crash taskmanager-1 at 320ms` fired and did nothing: taskmanager-1 \
                 was already down",
                "fault[3] `pause taskmanager-1 at 340ms for 20ms` fired and did nothing: \
                 taskmanager-1 was down",
            ],
            "{:?}",
            report.violations
        );
        s.faults.remove(3);
        s.faults.remove(2);
        s.faults.remove(0);
        let effective = run_seed(&s, 0);
        assert!(effective.passed, "{:?}", effective.violations);
    }

    /// A `crash_restart` of a host a lifecycle stop holds down, whose
    /// restart then starts nothing (the job still stopped, or the resume
    /// started the host), did nothing: the run is vacuous, as with a bare
    /// `crash` there (it once passed silently). Judged at the restart: one
    /// that starts the host another fault took down after the resume did
    /// something.
    #[test]
    fn a_crash_restart_while_the_job_is_stopped_is_judged_at_its_restart() {
        let text = |restart_after: &str, later_crash: &str| {
            format!(
                r#"
name = "crash-restart-while-stopped"
description = "a crash_restart of a taskmanager while the lifecycle holds it down"
job = {{ name = "keyed-count" }}
topology = {{ taskmanagers = 2, parallelism = 2 }}

[workload]
records = 6000

[[fault]]
kind = "crash_restart"
host = "taskmanager-1"
at = "700ms"
after = "{restart_after}"
{later_crash}
[[lifecycle]]
stop = {{ at = "500ms", with = "cancel" }}
resume = {{ from = "retained", after = "500ms" }}

[expect]
outcome = "exactly-once"
"#
            )
        };
        let parse = |t: String| crate::scenario::parse(&t, "test.toml").expect("a valid scenario");
        for after in ["100ms", "1500ms"] {
            let report = run_seed(&parse(text(after, "")), 0);
            let vacuous = vacuous_messages(&report);
            assert_eq!(vacuous.len(), 1, "{after}: {:?}", report.violations);
            assert!(
                vacuous[0].starts_with(&format!(
                    "fault[0] `crash_restart taskmanager-1 at 700ms after {after}` fired and did \
                     nothing: taskmanager-1 was already down, stopped with the job"
                )),
                "{}",
                vacuous[0]
            );
        }
        let crash = "\n[[fault]]\nkind = \"crash\"\nhost = \"taskmanager-1\"\nat = \"1800ms\"\n";
        let restarted = run_seed(&parse(text("1500ms", crash)), 0);
        assert!(restarted.passed, "{:?}", restarted.violations);
    }

    /// An `io_errors` fault with a `path` that no disk operation met while
    /// it lasted did nothing: the run is vacuous. One whose path the
    /// store's writes meet is not, even where its probability drew no
    /// error.
    #[test]
    fn io_errors_whose_path_no_operation_met_make_the_run_vacuous() {
        let mut s = steady();
        let errors = |path: &str, probability: f64| Fault {
            id: None,
            kind: FaultKind::IoErrors {
                probability,
                duration: Duration::from_millis(500),
                path: Some(path.into()),
            },
            host: "store".into(),
            at: Duration::from_millis(300),
            jitter: Duration::ZERO,
            on: None,
        };
        s.faults = vec![errors("/store/nothing-here/", 1.0)];
        let report = run_seed(&s, 0);
        let vacuous = vacuous_messages(&report);
        assert_eq!(vacuous.len(), 1, "{:?}", report.violations);
        assert!(
            vacuous[0].starts_with("fault[0] `io_errors store")
                && vacuous[0].ends_with(
                    "fired and did nothing: no operation on store's disk was on a path starting \
                 with \"/store/nothing-here/\" while it lasted"
                ),
            "{}",
            vacuous[0]
        );
        s.faults = vec![errors("/store/", 0.001)];
        let met = run_seed(&s, 0);
        assert!(met.passed, "{:?}", met.violations);
    }

    /// Two faults that differ only in what their triggers filter on, their
    /// delay or their id never print alike: each vacuous line names the
    /// fault's index, id, link and whole trigger.
    #[test]
    fn vacuous_faults_are_named_by_index_id_and_whole_trigger() {
        use crate::fault::{Edge, EventTrigger, FaultTrigger};
        use flinch_engine::event::{TaskId, Vertex};
        let crash = |id: Option<&str>, on: Trigger| Fault {
            id: id.map(str::to_owned),
            kind: FaultKind::CrashRestart {
                after: Duration::from_millis(300),
            },
            host: "taskmanager-1".into(),
            at: Duration::ZERO,
            jitter: Duration::ZERO,
            on: Some(on),
        };
        let filtered = EventTrigger {
            host: Some("taskmanager-1".into()),
            task: Some(TaskId {
                vertex: Vertex::named("count"),
                subtask: 1,
            }),
            epoch: Some(2),
            checkpoint: Some(3),
            occurrence: 2,
            delay: Duration::from_millis(50),
            ..EventTrigger::on("txn_pre_committed")
        };
        let plan = vec![
            crash(None, Trigger::Event(EventTrigger::on("txn_pre_committed"))),
            crash(Some("late"), Trigger::Event(filtered)),
            Fault {
                kind: FaultKind::Partition {
                    peer: "jobmanager".into(),
                    oneway: true,
                    duration: Duration::from_secs(1),
                },
                at: Duration::from_millis(300),
                jitter: Duration::from_millis(20),
                on: None,
                ..crash(Some("cut"), Trigger::Event(EventTrigger::on("x")))
            },
            crash(
                None,
                Trigger::Fault(FaultTrigger {
                    fault: "cut".into(),
                    edge: Edge::End,
                    delay: Duration::from_millis(5),
                }),
            ),
        ];
        let fired_at = [None, None, Some(Duration::from_millis(310)), None];
        let messages: Vec<String> = vacuity(&plan, &fired_at, &[], &[])
            .into_iter()
            .map(|v| v.message)
            .collect();
        assert_eq!(
            messages,
            [
                "fault[0] `crash_restart taskmanager-1 on { event = \"txn_pre_committed\", \
                 occurrence = 1 } after 300ms` never fired: its event never came before the run ended",
                "fault[1] `crash_restart taskmanager-1 (id \"late\") on { event = \
                 \"txn_pre_committed\", host = \"taskmanager-1\", task = \"count[1]\", epoch = 2, \
                 checkpoint = 3, occurrence = 2, delay = \"50ms\" } after 300ms` never fired: its \
                 event never came before the run ended",
                "fault[3] `crash_restart taskmanager-1 on { fault = \"cut\", edge = \"end\", delay = \
                 \"5ms\" } after 300ms` never fired: its anchor's edge never came before the run ended",
            ]
        );
        let mut time = plan[2].clone();
        time.id = None;
        assert_eq!(
            vacuity(std::slice::from_ref(&time), &[None], &[], &[])[0].message,
            "fault[0] `partition taskmanager-1 -> jobmanager at 300ms jitter 20ms for 1s` never \
             fired: the run ended before its time came"
        );
        // The same fault drawn by a nemesis: a draw the run outlasted less
        // than the nemesis's window, not judged.
        let drawn = std::slice::from_ref(&time);
        assert_eq!(vacuity(drawn, &[None], &[], drawn), []);
        assert!(messages.iter().all(|m| !m.contains('\n')));
    }
}
