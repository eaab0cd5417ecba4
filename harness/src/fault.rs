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
    /// Fire on an engine event instead: the `occurrence`-th matching event
    /// at or after the (jittered) `at`. The fault lands at the next tick.
    pub on: Option<EventTrigger>,
}

/// "When checkpoint 3 is triggered", "after the 2nd pre-commit".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventTrigger {
    /// The event's trace name, e.g. `checkpoint_triggered` (`Event::NAMES`).
    pub event: String,
    /// Only events about this checkpoint.
    pub checkpoint: Option<u64>,
    /// Which matching event fires the fault: 1 is the first.
    pub occurrence: u32,
}

impl EventTrigger {
    pub fn matches(&self, event: &flinch_engine::event::Event) -> bool {
        event.name() == self.event
            && self
                .checkpoint
                .is_none_or(|c| event.checkpoint() == Some(c))
    }
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
