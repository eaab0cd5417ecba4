//! The two fuzz targets over the scenario format, as functions: `fuzz/`
//! runs them under libFuzzer (cargo-fuzz, nightly) and `tests/fuzz.rs` runs
//! them on the committed corpus, every input that ever failed, and a
//! bounded number of fresh inputs, under `cargo test`. Each returns what
//! went wrong instead of panicking, so a caller decides how to fail.
//!
//! - [`check_parse`]: any bytes, as a structured sketch or raw text
//!   ([`scenario_text`]), through parsing and validation. Any outcome but a
//!   panic is fine, but an error must say where and what.
//! - [`check_run`]: an input that validation accepts runs one seed under a
//!   step budget ([`step_budget`]). Any verdict about the job is fine; a
//!   panic or internal error of the simulation is not, since an accepted
//!   file is the harness's promise that it can run it.
//!
//! Both are deterministic: the same bytes give the same result.

pub mod sketch;

use crate::scenario::{self, limits, Scenario};
use crate::seed::{run_seed_until, SeedReport};
use crate::violation::Cause;
use arbitrary::Unstructured;
use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// The file name scenario errors name for a fuzz input.
pub const FILE: &str = "fuzz.toml";

/// Upper bound on one run's work, in host-steps (steps of
/// [`crate::world::TICK`] times hosts): turmoil's cost per step grows with
/// the number of hosts, so the budget does too. About 5 s of simulated time
/// for the default six hosts, which a release build runs in well under a
/// second, and libFuzzer's per-input timeout catches a step that never
/// returns.
pub const HOST_STEPS: u64 = 16_000;

/// How an input is read: its first byte's low bit picks raw text (the
/// rest as UTF-8, invalid bytes replaced) or a structured sketch
/// ([`sketch::scenario`]) built from the rest.
pub fn scenario_text(data: &[u8]) -> String {
    match data.split_first() {
        Some((mode, rest)) if mode & 1 == 1 => String::from_utf8_lossy(rest).into_owned(),
        Some((_, rest)) => sketch::scenario(&mut Unstructured::new(rest)).unwrap_or_default(),
        None => String::new(),
    }
}

/// The raw-text input for `text` (what [`scenario_text`] gives back): how
/// the scenario files seed the corpus.
pub fn raw_input(text: &str) -> Vec<u8> {
    let mut data = vec![1];
    data.extend_from_slice(text.as_bytes());
    data
}

/// What a fuzz target found wrong with an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The scenario text the input stood for.
    pub text: String,
    /// What went wrong.
    pub problem: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}\n--- the input as a scenario file ---\n{}",
            self.problem, self.text
        )
    }
}

/// Target 1: parse and validate `data`. `Ok(Some(scenario))` when accepted,
/// `Ok(None)` when refused with a proper error, `Err` when the error does
/// not say where (no line and no field) or the accepted scenario cannot
/// plan its first seed. A panic escapes: that is the finding libFuzzer
/// reports.
pub fn check_parse(data: &[u8]) -> Result<Option<Scenario>, Finding> {
    let text = scenario_text(data);
    let finding = |problem: String| Finding {
        text: text.clone(),
        problem,
    };
    match scenario::parse(&text, FILE) {
        Ok(scenario) => {
            // Drawing a seed's plan belongs to loading (`flinch check`
            // prints it): bounded by the hand-written faults' limit plus
            // the nemesis's.
            let plan = scenario.plan(scenario.seeds.first());
            let most = limits::FAULTS.max as usize + crate::nemesis::MAX_FAULTS;
            if plan.len() > most {
                let problem = format!("a plan of {} faults, above the bound of {most}", plan.len());
                return Err(finding(problem));
            }
            Ok(Some(scenario))
        }
        Err(error) => {
            if error.file != FILE {
                return Err(finding(format!("an error naming another file: {error}")));
            }
            if error.message.trim().is_empty() {
                return Err(finding(format!("an error without a message: {error}")));
            }
            if error.line.is_none() && error.field.is_none() {
                return Err(finding(format!(
                    "an error that names no line and no field: {error}"
                )));
            }
            Ok(None)
        }
    }
}

/// How a run under [`check_run`] ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunEnd {
    /// Validation refused the input.
    Refused,
    /// The run reached its verdict; `passed` is the verdict.
    Verdict { passed: bool },
    /// The step budget ran out first.
    OutOfBudget,
}

/// Target 2: an input validation accepts runs its first seed under
/// [`step_budget`]. `Err` when the simulation panicked or broke (a
/// violation of [`Cause::Internal`]), with the violation.
pub fn check_run(data: &[u8]) -> Result<RunEnd, Finding> {
    let Some(scenario) = check_parse(data)? else {
        return Ok(RunEnd::Refused);
    };
    let budget = step_budget(&scenario);
    let polls = Cell::new(0_u64);
    let stop = || {
        polls.set(polls.get() + 1);
        polls.get().saturating_mul(crate::world::STOP_POLL_STEPS) > budget
    };
    match run_seed_until(&scenario, scenario.seeds.first(), &stop) {
        Err(_) => Ok(RunEnd::OutOfBudget),
        Ok(report) => match internal(&report) {
            Some(problem) => Err(Finding {
                text: scenario_text(data),
                problem,
            }),
            None => Ok(RunEnd::Verdict {
                passed: report.passed,
            }),
        },
    }
}

/// The step budget of one run of `scenario`: [`HOST_STEPS`] shared by its
/// hosts.
pub fn step_budget(scenario: &Scenario) -> u64 {
    let hosts = scenario::topology_hosts(&scenario.config.topology).len() as u64;
    HOST_STEPS / hosts.max(1)
}

fn internal(report: &SeedReport) -> Option<String> {
    let v = report
        .violations
        .iter()
        .find(|v| v.cause() == Cause::Internal)?;
    Some(format!("seed {}: {v}", report.seed))
}

/// Counts of what a fuzz target's inputs came to, printed to stderr at
/// every power of two inputs (libFuzzer's own lines say how many runs, not
/// how many were accepted): the acceptance rate of a campaign is the last
/// line. One per target process, as a `static`.
#[derive(Debug, Default)]
pub struct Tally {
    inputs: AtomicU64,
    accepted: AtomicU64,
    verdicts: AtomicU64,
}

impl Tally {
    /// An empty tally, for a `static`.
    pub const fn new() -> Tally {
        Tally {
            inputs: AtomicU64::new(0),
            accepted: AtomicU64::new(0),
            verdicts: AtomicU64::new(0),
        }
    }

    /// Count one input: whether validation `accepted` it and whether its run
    /// reached a `verdict` (the parse target runs nothing: `false`).
    pub fn record(&self, accepted: bool, verdict: bool) {
        let inputs = self.inputs.fetch_add(1, Ordering::Relaxed) + 1;
        let accepted = self
            .accepted
            .fetch_add(u64::from(accepted), Ordering::Relaxed)
            + u64::from(accepted);
        let verdicts = self
            .verdicts
            .fetch_add(u64::from(verdict), Ordering::Relaxed)
            + u64::from(verdict);
        if inputs.is_power_of_two() {
            eprintln!("{}", Tally::line(inputs, accepted, verdicts));
        }
    }

    /// `flinch-fuzz: 4096 inputs, 1203 accepted (29.4 %), 977 ran to a verdict`
    fn line(inputs: u64, accepted: u64, verdicts: u64) -> String {
        let percent = accepted as f64 * 100.0 / inputs.max(1) as f64;
        format!(
            "flinch-fuzz: {inputs} inputs, {accepted} accepted ({percent:.1} %), {verdicts} ran to a verdict"
        )
    }
}
