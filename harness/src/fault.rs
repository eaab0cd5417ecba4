//! Faults the harness injects, as data: a scenario lists them (or a nemesis
//! draws them from a seed), the run loop applies them between simulation
//! steps. The plan, not the RNG, is what shrinking edits.

use serde::Serialize;
use std::fmt;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fault {
    pub kind: FaultKind,
    /// The host it targets, by name (`taskmanager-2`, `sink`, ...). For a
    /// fault on a link, one end of it (the sender, for a one-way partition).
    pub host: String,
    /// Simulated time at which it fires, at the earliest.
    #[serde(serialize_with = "ser_duration")]
    pub at: Duration,
    /// The fault fires at a time drawn from `[at, at + jitter)` by the run's
    /// seed, so a sweep over seeds probes many points of the run.
    #[serde(serialize_with = "ser_duration")]
    pub jitter: Duration,
    /// Fire on an engine event instead: the `occurrence`-th matching event
    /// at or after the (jittered) `at`. The fault lands at the next tick.
    pub on: Option<EventTrigger>,
}

/// "When checkpoint 3 is triggered", "after the 2nd pre-commit".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

/// The other end of a link fault: one host, or every other host (`*`).
pub const ALL_PEERS: &str = "*";

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// The host loses power: its software stops and unsynced writes are lost.
    Crash,
    /// A crashed host's software starts again.
    Restart,
    /// Crash, then restart `after` later.
    CrashRestart {
        #[serde(serialize_with = "ser_duration")]
        after: Duration,
    },
    /// Crash, lose the whole disk, restart `after` later with an empty disk.
    DiskLoss {
        #[serde(serialize_with = "ser_duration")]
        after: Duration,
    },
    /// Drop every message between `host` and `peer` for `duration` (only
    /// `host` -> `peer` when one-way). turmoil TCP never retransmits, so a
    /// connection that lost a segment stays broken after the partition heals.
    Partition {
        peer: String,
        oneway: bool,
        #[serde(rename = "for", serialize_with = "ser_duration")]
        duration: Duration,
    },
    /// Hold every message between `host` and `peer` for `duration`, then
    /// deliver them (nothing is lost).
    Stall {
        peer: String,
        #[serde(rename = "for", serialize_with = "ser_duration")]
        duration: Duration,
    },
    /// Raise the latency between `host` and `peer` to at most `max`.
    Latency {
        peer: String,
        #[serde(serialize_with = "ser_duration")]
        max: Duration,
        #[serde(rename = "for", serialize_with = "ser_duration")]
        duration: Duration,
    },
    /// Messages are lost with probability `rate` (turmoil's link failure: the
    /// link drops what is in flight and heals on a later send). turmoil 0.7.2
    /// applies only its global fail rate, so this hits every link, not just
    /// `host`'s, while it lasts.
    MessageLoss {
        rate: f64,
        #[serde(rename = "for", serialize_with = "ser_duration")]
        duration: Duration,
    },
    /// Disk operations on `host` fail with an I/O error with this probability.
    IoErrors {
        probability: f64,
        #[serde(rename = "for", serialize_with = "ser_duration")]
        duration: Duration,
    },
    /// Bytes read from `host`'s disk are corrupted with this probability.
    ReadCorruption {
        probability: f64,
        #[serde(rename = "for", serialize_with = "ser_duration")]
        duration: Duration,
    },
    /// `host`'s disk holds at most `capacity` bytes; writes beyond fail.
    DiskFull {
        capacity: u64,
        #[serde(rename = "for", serialize_with = "ser_duration")]
        duration: Duration,
    },
}

impl FaultKind {
    /// The kind's name as scenario files spell it.
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::Crash => "crash",
            FaultKind::Restart => "restart",
            FaultKind::CrashRestart { .. } => "crash_restart",
            FaultKind::DiskLoss { .. } => "disk_loss",
            FaultKind::Partition { .. } => "partition",
            FaultKind::Stall { .. } => "stall",
            FaultKind::Latency { .. } => "latency",
            FaultKind::MessageLoss { .. } => "message_loss",
            FaultKind::IoErrors { .. } => "io_errors",
            FaultKind::ReadCorruption { .. } => "read_corruption",
            FaultKind::DiskFull { .. } => "disk_full",
        }
    }

    /// How long the fault lasts once it fired: the time a host stays down,
    /// or a link or disk stays faulty. `None` for a crash without restart.
    pub fn duration(&self) -> Option<Duration> {
        match self {
            FaultKind::Crash => None,
            FaultKind::Restart => Some(Duration::ZERO),
            FaultKind::CrashRestart { after } | FaultKind::DiskLoss { after } => Some(*after),
            FaultKind::Partition { duration, .. }
            | FaultKind::Stall { duration, .. }
            | FaultKind::Latency { duration, .. }
            | FaultKind::MessageLoss { duration, .. }
            | FaultKind::IoErrors { duration, .. }
            | FaultKind::ReadCorruption { duration, .. }
            | FaultKind::DiskFull { duration, .. } => Some(*duration),
        }
    }
}

impl FaultKind {
    /// The fault's length, to change it (what shrinking shortens); `None`
    /// for a crash or restart, which have none of their own.
    pub fn duration_mut(&mut self) -> Option<&mut Duration> {
        match self {
            FaultKind::Crash | FaultKind::Restart => None,
            FaultKind::CrashRestart { after } | FaultKind::DiskLoss { after } => Some(after),
            FaultKind::Partition { duration, .. }
            | FaultKind::Stall { duration, .. }
            | FaultKind::Latency { duration, .. }
            | FaultKind::MessageLoss { duration, .. }
            | FaultKind::IoErrors { duration, .. }
            | FaultKind::ReadCorruption { duration, .. }
            | FaultKind::DiskFull { duration, .. } => Some(duration),
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind.name(), self.host)?;
        match &self.on {
            Some(t) => write!(f, " on {} #{}", t.event, t.occurrence)?,
            None => write!(f, " at {:?}", self.at)?,
        }
        if let Some(d) = self.kind.duration().filter(|d| !d.is_zero()) {
            write!(f, " for {d:?}")?;
        }
        Ok(())
    }
}

/// Durations serialize as scenario files write them: `"250ms"`.
fn ser_duration<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_duration(*d))
}

/// `250ms`, `2s`, `1.5s`: the shortest form scenario files parse back.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if !d.subsec_nanos().is_multiple_of(1_000_000) {
        format!("{}ns", d.as_nanos())
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}
