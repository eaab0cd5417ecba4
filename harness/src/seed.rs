//! One seed of one scenario, start to verdict.

use crate::check;
use crate::fault::Fault;
use crate::outcome::CommittedTxn;
use crate::scenario::Scenario;
use crate::trace::{trace_hash, TraceEvent};
use crate::violation::{Checker, Violation};
use crate::world;
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

/// Run one seed and check it. A panic inside the simulation comes back as a
/// failed report with a `panic` violation, never as a panic of the caller.
/// The plan is the scenario's for this seed ([`Scenario::plan`]).
pub fn run_seed(scenario: &Scenario, seed: u64) -> SeedReport {
    run_plan(scenario, seed, &scenario.plan(seed))
}

/// Run one seed with an explicit fault plan instead of the scenario's.
pub fn run_plan(scenario: &Scenario, seed: u64, plan: &[Fault]) -> SeedReport {
    let records = scenario.config.workload.records;
    let run = catch_unwind(AssertUnwindSafe(|| {
        world::simulate_plan(scenario, seed, plan)
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
        Ok(Err(message)) => return broken("simulation-error", message),
        Err(panic) => return broken("panic", panic_message(panic.as_ref())),
    };
    let mut violations = check::check_all(&outcome, scenario);
    violations.extend(vacuity(&outcome.unfired));
    SeedReport {
        seed,
        passed: violations.is_empty(),
        trace_hash: trace_hash(&outcome.trace),
        violations,
        trace: outcome.trace,
        sim_time: outcome.sim_time,
        records,
        committed: outcome.committed,
        plan: plan.to_vec(),
    }
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
