//! Faults the harness injects, as data: a scenario lists them, the run loop
//! applies them between simulation steps.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub kind: FaultKind,
    /// The host it targets, by name (`taskmanager-2`, `sink`, ...).
    pub host: String,
    /// Simulated time at which it fires, at the earliest.
    pub at: Duration,
    /// The fault fires at a time drawn from `[at, at + jitter)` by the run's
    /// seed, so a sweep over seeds probes many points of the run.
    pub jitter: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// The host loses power: its software stops and unsynced writes are lost.
    Crash,
    /// A crashed host's software starts again.
    Restart,
    /// Crash, then restart `after` later.
    CrashRestart { after: Duration },
}
