//! Scenario files (DESIGN.md §6). PLACEHOLDER: being written.

use crate::expect::Expectation;
use crate::fault::Fault;
use flinch_engine::config::JobConfig;
use std::ops::Range;
use std::time::Duration;

/// A parsed, validated scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    pub config: JobConfig,
    /// Hand-written faults, in time order.
    pub faults: Vec<Fault>,
    pub expect: Expectation,
    /// The default seed range (`[seeds] range`).
    pub seeds: Range<u64>,
    /// Bound on simulated time: a run that has not ended by then fails liveness.
    pub max_sim_time: Duration,
}
