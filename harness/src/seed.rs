//! One seed of one scenario, start to verdict.
//!
//! The verdict's violations come root cause first
//! ([`root_cause_first`]): a panic or internal error, then how the job
//! ended, then state, then records.

use crate::check;
use crate::fault::Fault;
use crate::outcome::CommittedTxn;
use crate::scenario::Scenario;
use crate::trace::{trace_hash, TraceEvent};
use crate::violation::{root_cause_first, Checker, Violation, INTERNAL_ERROR, PANIC};
use crate::world::{self, SimError};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

/// Everything a user needs about one seed.
#[derive(Debug, Clone)]
pub struct SeedReport {
    pub seed: u64,
    pub passed: bool,
    pub violations: Vec<Violation>,
    pub trace: Vec<TraceEvent>,
    pub trace_hash: u32,
    pub sim_time: Duration,
    /// Input records of the run.
    pub records: u64,
    pub committed: Vec<CommittedTxn>,
    /// The fault plan this seed ran.
    pub plan: Vec<Fault>,
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

/// Run one seed and check it. A panic inside the simulation comes back as a
/// failed report with a `panic` violation, never as a panic of the caller.
/// The plan is the scenario's for this seed ([`Scenario::plan`]).
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
    let run = catch_unwind(AssertUnwindSafe(|| {
        world::simulate_plan_until(scenario, seed, plan, stop)
    }));
    let broken = |kind, message: String| SeedReport {
        seed,
        passed: false,
        violations: vec![Violation::new(Checker::ExpectedOutcome, kind, message)],
        trace: Vec::new(),
        trace_hash: 0,
        sim_time: Duration::ZERO,
        records,
        committed: Vec::new(),
        plan: plan.to_vec(),
    };
    let outcome = match run {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(SimError::Stopped { at, steps })) => return Err(Stopped { seed, at, steps }),
        Ok(Err(SimError::Broken(message))) => return Ok(broken(INTERNAL_ERROR, message)),
        Err(panic) => return Ok(broken(PANIC, panic_message(panic.as_ref()))),
    };
    let mut violations = check::check_all(&outcome, scenario);
    violations.extend(vacuity(&outcome.unfired));
    root_cause_first(&mut violations);
    Ok(SeedReport {
        seed,
        passed: violations.is_empty(),
        trace_hash: trace_hash(&outcome.trace),
        violations,
        trace: outcome.trace,
        sim_time: outcome.sim_time,
        records,
        committed: outcome.committed,
        plan: plan.to_vec(),
    })
}

/// A fault that never fired makes the run vacuous, not passed.
fn vacuity(unfired: &[Fault]) -> Vec<Violation> {
    let message =
        |f: &Fault| format!("fault `{f}` never fired: the run ended or its event never came");
    unfired
        .iter()
        .map(|f| Violation::new(Checker::ExpectedOutcome, "vacuous", message(f)))
        .collect()
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".into());
    format!("panic: {text}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::kind;
    use crate::violation::Cause;

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
        assert_eq!(full.trace_hash, run_seed(&s, 4).trace_hash);
    }
}
