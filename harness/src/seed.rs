//! One seed of one scenario, start to verdict. PLACEHOLDER: being written.

use crate::outcome::CommittedTxn;
use crate::scenario::Scenario;
use crate::trace::TraceEvent;
use crate::violation::Violation;
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
}

/// Run one seed and check it. A panic inside the simulation comes back as a
/// failed report with a `panic` violation, never as a panic of the caller.
pub fn run_seed(scenario: &Scenario, seed: u64) -> SeedReport {
    let _ = (scenario, seed);
    unimplemented!("run_seed is being written")
}
