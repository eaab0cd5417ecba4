//! Faults the harness injects, as data: a scenario lists them (or a nemesis
//! draws them from a seed), the run loop applies them between simulation
//! steps. The plan, not the RNG, is what shrinking edits.

use flinch_engine::event::{Event, TaskId};
use flinch_engine::probe::Probe;
use serde::Serialize;
use std::fmt;
use std::time::Duration;

/// One fault of a plan (Jepsen's nemesis operations, as data): what
/// happens to which host, and when.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fault {
    /// The name other faults' triggers use for it (`on = { fault = "cut" }`):
    /// at most [`ID_MAX_LEN`] characters of `a-z`, `0-9`, `-` and `_`,
    /// unique in a scenario. Faults are referred to by id, never by index,
    /// so merging a nemesis's plan or removing faults while shrinking keeps
    /// every reference. Nemesis faults have none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub kind: FaultKind,
    /// The host it targets, by name (`taskmanager-2`, `sink`, ...). For a
    /// fault on a link, one end of it (the sender, for a one-way partition).
    pub host: String,
    /// Simulated time at which it fires, at the earliest. With an event
    /// trigger, only events at or after it count; with a fault trigger it
    /// is always zero (refused in a file).
    #[serde(serialize_with = "ser_duration")]
    pub at: Duration,
    /// A time trigger fires at a time drawn from `[at, at + jitter)` by the
    /// run's seed, so a sweep over seeds probes many points of the run. A
    /// trigger adds the draw to its `delay`: an event trigger fires in
    /// `[event + delay, event + delay + jitter)` (counting events from `at`,
    /// undrawn), a fault trigger in `[edge + delay, edge + delay + jitter)`.
    #[serde(serialize_with = "ser_duration")]
    pub jitter: Duration,
    /// Fire on an engine event, or on another fault's start or end, instead
    /// of at a time.
    pub on: Option<Trigger>,
}

/// The longest fault id, in characters: ids are names a person types.
pub const ID_MAX_LEN: usize = 32;

/// What a triggered fault waits for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Trigger {
    /// An engine event, as the trace shows it.
    Event(EventTrigger),
    /// Another fault of the plan starting or ending.
    Fault(FaultTrigger),
}

impl Trigger {
    /// How long after the event or edge the fault fires.
    pub fn delay(&self) -> Duration {
        match self {
            Trigger::Event(t) => t.delay,
            Trigger::Fault(t) => t.delay,
        }
    }
}

/// "When checkpoint 3 is triggered", "50 ms after the 2nd pre-commit of
/// `count[1]` in epoch 2". Each filter that is set must hold of the event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventTrigger {
    /// The event's trace name, e.g. `checkpoint_triggered` (`Event::NAMES`).
    pub event: String,
    /// Only events that this host emitted (the trace's host column).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Only events about this task ([`Event::task`]; a transaction's task
    /// is the subtask of the sink's vertex that owns it, `count[subtask]` in
    /// keyed-count).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<TaskId>,
    /// Only events of this job attempt ([`Event::epoch`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epoch: Option<u64>,
    /// Only events about this checkpoint.
    pub checkpoint: Option<u64>,
    /// Only `probe` events of this probe.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probe: Option<Probe>,
    /// Which matching event fires the fault: 1 is the first.
    pub occurrence: u32,
    /// The fault fires this long after the matching event (simulated time;
    /// zero: at the next tick).
    #[serde(
        skip_serializing_if = "Duration::is_zero",
        serialize_with = "ser_duration"
    )]
    pub delay: Duration,
}

impl EventTrigger {
    /// A trigger on the first `event`, without filters or delay.
    pub fn on(event: &str) -> EventTrigger {
        EventTrigger {
            event: event.to_owned(),
            host: None,
            task: None,
            epoch: None,
            checkpoint: None,
            probe: None,
            occurrence: 1,
            delay: Duration::ZERO,
        }
    }

    /// Whether `event`, emitted by `host`, passes every filter.
    pub fn matches(&self, host: &str, event: &Event) -> bool {
        event.name() == self.event
            && self.host.as_deref().is_none_or(|h| h == host)
            && self.task.is_none_or(|t| {
                // A transaction's task is a subtask of the sink's vertex,
                // which validation required `t` to name.
                event.task() == Some(t) || event.txn().is_some_and(|txn| txn.subtask == t.subtask)
            })
            && self.epoch.is_none_or(|e| event.epoch() == Some(e))
            && self
                .checkpoint
                .is_none_or(|c| event.checkpoint() == Some(c))
            && self
                .probe
                .is_none_or(|p| matches!(event, Event::Probe { probe } if *probe == p))
    }
}

/// "Right after the partition `cut` heals": fires `delay` after the named
/// fault's start or end edge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FaultTrigger {
    /// The anchor's [`Fault::id`].
    pub fault: String,
    pub edge: Edge,
    /// Simulated time after the edge (plus the fault's resolved jitter).
    #[serde(
        skip_serializing_if = "Duration::is_zero",
        serialize_with = "ser_duration"
    )]
    pub delay: Duration,
}

/// Which edge of a fault: when it fires, or when it heals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Edge {
    /// The fault is applied.
    Start,
    /// The fault ends: its restart, repair, release, restored latency, end
    /// of message loss or disk heal (a `restart`'s end is its start).
    End,
}

impl Edge {
    /// As scenario files spell it.
    pub fn name(self) -> &'static str {
        match self {
            Edge::Start => "start",
            Edge::End => "end",
        }
    }
}

impl Fault {
    /// The id of the fault this one waits for, if it has a fault trigger.
    pub fn anchor(&self) -> Option<&str> {
        match &self.on {
            Some(Trigger::Fault(t)) => Some(&t.fault),
            _ => None,
        }
    }

    /// The event trigger, if it has one.
    pub fn event_trigger(&self) -> Option<&EventTrigger> {
        match &self.on {
            Some(Trigger::Event(t)) => Some(t),
            _ => None,
        }
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
    /// Raise the latency between `host` and `peer` to at most `max`, and
    /// to at least `min` (0: the simulation's own floor, 1 ms): each
    /// message's latency is drawn from `min` to `max`, most of them near
    /// `min` (turmoil's exponential curve).
    Latency {
        peer: String,
        #[serde(
            serialize_with = "ser_duration",
            skip_serializing_if = "Duration::is_zero"
        )]
        min: Duration,
        #[serde(serialize_with = "ser_duration")]
        max: Duration,
        #[serde(rename = "for", serialize_with = "ser_duration")]
        duration: Duration,
    },
    /// The links between `host` and `peer` (`*`: every other host) lose
    /// messages: each tick, each link is cut for that one tick with
    /// probability `rate`, dropping what is in flight on it (turmoil's
    /// partition), then repaired unless a `partition` holds it cut. The
    /// draws come from the harness's own RNG, seeded by the run's seed, so
    /// they never shift turmoil's.
    MessageLoss {
        peer: String,
        rate: f64,
        #[serde(rename = "for", serialize_with = "ser_duration")]
        duration: Duration,
    },
    /// Disk operations on `host` fail with an I/O error with this
    /// probability; with `path`, only those on paths that start with it (a
    /// storage service throttling or failing one prefix, as S3 does).
    IoErrors {
        probability: f64,
        #[serde(rename = "for", serialize_with = "ser_duration")]
        duration: Duration,
        #[serde(skip_serializing_if = "Option::is_none")]
        path: Option<String>,
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
    /// Bit rot (a latent sector error): one byte of a file at rest on
    /// `host`'s disk changes, durably, so every later read of that file
    /// fails its checksum. The file is the last, in path order, of those
    /// whose path starts with `path` (leftover `.tmp` files aside): with
    /// `path = "/store/meta/"` the newest checkpoint's metadata. Instant:
    /// its end edge is its start. Nothing matching is traced, not an error.
    BitRot { path: String },
    /// The host's software stops for `duration` and then carries on as if
    /// nothing happened (a long garbage collection, `SIGSTOP`, a migrated
    /// VM): no task runs, nothing is delivered to it meanwhile (messages
    /// wait), and its timers that came due fire at once when it resumes. A
    /// crash ends the pause.
    Pause {
        #[serde(rename = "for", serialize_with = "ser_duration")]
        duration: Duration,
    },
    /// The host's clock runs `1 + drift` times as fast as simulated time
    /// for `duration` (negative: slower), then at the right rate again,
    /// off by what it gained or lost (`engine/src/io.rs`, `clock`). What
    /// the host's timers, timeouts and leases see; the trace keeps
    /// simulated time.
    ClockDrift {
        drift: f64,
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
            FaultKind::BitRot { .. } => "bit_rot",
            FaultKind::Pause { .. } => "pause",
            FaultKind::ClockDrift { .. } => "clock_drift",
        }
    }

    /// Whether the fault has an end edge: everything but a bare `crash`.
    pub fn ends(&self) -> bool {
        !matches!(self, FaultKind::Crash)
    }

    /// How long the fault lasts once it fired: the time a host stays down,
    /// or a link or disk stays faulty. `None` for a crash without restart.
    pub fn duration(&self) -> Option<Duration> {
        match self {
            FaultKind::Crash => None,
            FaultKind::Restart | FaultKind::BitRot { .. } => Some(Duration::ZERO),
            FaultKind::CrashRestart { after } | FaultKind::DiskLoss { after } => Some(*after),
            FaultKind::Partition { duration, .. }
            | FaultKind::Stall { duration, .. }
            | FaultKind::Latency { duration, .. }
            | FaultKind::MessageLoss { duration, .. }
            | FaultKind::IoErrors { duration, .. }
            | FaultKind::ReadCorruption { duration, .. }
            | FaultKind::DiskFull { duration, .. }
            | FaultKind::Pause { duration }
            | FaultKind::ClockDrift { duration, .. } => Some(*duration),
        }
    }
}

impl FaultKind {
    /// The fault's length, to change it (what shrinking shortens); `None`
    /// for a crash or restart, which have none of their own.
    pub fn duration_mut(&mut self) -> Option<&mut Duration> {
        match self {
            FaultKind::Crash | FaultKind::Restart | FaultKind::BitRot { .. } => None,
            FaultKind::CrashRestart { after } | FaultKind::DiskLoss { after } => Some(after),
            FaultKind::Partition { duration, .. }
            | FaultKind::Stall { duration, .. }
            | FaultKind::Latency { duration, .. }
            | FaultKind::MessageLoss { duration, .. }
            | FaultKind::IoErrors { duration, .. }
            | FaultKind::ReadCorruption { duration, .. }
            | FaultKind::DiskFull { duration, .. }
            | FaultKind::Pause { duration }
            | FaultKind::ClockDrift { duration, .. } => Some(duration),
        }
    }
}

/// One line that tells this fault from every other of a plan: kind, host
/// (and link: `a -> b` one way, `a <-> b` both ways), the kind's own
/// setting (`max`, `rate`, `probability`, `capacity`), id, when it fires
/// and how long it lasts (`after` for the delay of a `crash_restart` or
/// `disk_loss`'s restart, as a file writes it; `for` otherwise):
/// `partition taskmanager-1 <-> jobmanager (id "cut") at 300ms jitter 300ms for 1s`,
/// `crash_restart taskmanager-2 on { fault = "cut", edge = "end", delay = "5ms" } after 300ms`.
/// A trigger is written whole, as a scenario file writes it ([`Trigger`]'s
/// `Display`). Durations are as scenario files spell them (`250ms`, `2s`).
impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind.name(), self.host)?;
        match &self.kind {
            FaultKind::Partition {
                peer, oneway: true, ..
            } => write!(f, " -> {peer}")?,
            FaultKind::Partition { peer, .. }
            | FaultKind::Stall { peer, .. }
            | FaultKind::Latency { peer, .. }
            | FaultKind::MessageLoss { peer, .. } => write!(f, " <-> {peer}")?,
            _ => {}
        }
        match &self.kind {
            FaultKind::Latency { min, max, .. } => {
                if !min.is_zero() {
                    write!(f, " min {}", format_duration(*min))?;
                }
                write!(f, " max {}", format_duration(*max))?;
            }
            FaultKind::MessageLoss { rate, .. } => write!(f, " rate {rate}")?,
            FaultKind::IoErrors {
                probability, path, ..
            } => {
                write!(f, " probability {probability}")?;
                if let Some(path) = path {
                    write!(f, " path {path:?}")?;
                }
            }
            FaultKind::ReadCorruption { probability, .. } => {
                write!(f, " probability {probability}")?
            }
            FaultKind::DiskFull { capacity, .. } => write!(f, " capacity {capacity}")?,
            FaultKind::BitRot { path } => write!(f, " path {path:?}")?,
            FaultKind::ClockDrift { drift, .. } => write!(f, " drift {drift}")?,
            _ => {}
        }
        if let Some(id) = &self.id {
            write!(f, " (id {id:?})")?;
        }
        // An event trigger counts events from `at` on; a fault trigger has
        // no `at` of its own.
        if !matches!(self.on, Some(Trigger::Fault(_))) && (self.on.is_none() || !self.at.is_zero())
        {
            write!(f, " at {}", format_duration(self.at))?;
        }
        if !self.jitter.is_zero() {
            write!(f, " jitter {}", format_duration(self.jitter))?;
        }
        if let Some(on) = &self.on {
            write!(f, " on {on}")?;
        }
        // Named as a file names it: a restart's delay is `after`, every
        // other length `for`.
        let word = match self.kind {
            FaultKind::CrashRestart { .. } | FaultKind::DiskLoss { .. } => "after",
            _ => "for",
        };
        if let Some(d) = self.kind.duration().filter(|d| !d.is_zero()) {
            write!(f, " {word} {}", format_duration(d))?;
        }
        Ok(())
    }
}

/// The trigger as a scenario file's inline table writes it, every field
/// that is set and nothing else: `{ event = "state_restored", host =
/// "taskmanager-1", task = "count[0]", epoch = 2, occurrence = 2, delay =
/// "50ms" }`, `{ fault = "cut", edge = "end" }`. `occurrence` is always
/// written (it defaults to 1), `delay` only when it is not zero.
impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trigger::Event(t) => {
                write!(f, "{{ event = {:?}", t.event)?;
                if let Some(host) = &t.host {
                    write!(f, ", host = {host:?}")?;
                }
                if let Some(task) = &t.task {
                    write!(f, ", task = \"{task}\"")?;
                }
                if let Some(epoch) = t.epoch {
                    write!(f, ", epoch = {epoch}")?;
                }
                if let Some(checkpoint) = t.checkpoint {
                    write!(f, ", checkpoint = {checkpoint}")?;
                }
                if let Some(probe) = t.probe {
                    write!(f, ", probe = \"{probe}\"")?;
                }
                write!(f, ", occurrence = {}", t.occurrence)?;
            }
            Trigger::Fault(t) => {
                write!(f, "{{ fault = {:?}, edge = {:?}", t.fault, t.edge.name())?;
            }
        }
        let delay = self.delay();
        if !delay.is_zero() {
            // Exact, in a form scenario files parse (`"0.0015s"`).
            write!(f, ", delay = {}", crate::plan::duration(delay))?;
        }
        f.write_str(" }")
    }
}

/// Durations serialize as scenario files write them: `"250ms"`.
pub(crate) fn ser_duration<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn on_store(kind: FaultKind) -> Fault {
        Fault {
            id: None,
            kind,
            host: "store".into(),
            at: Duration::from_millis(1_500),
            jitter: Duration::ZERO,
            on: None,
        }
    }

    /// Each kind's own setting is part of the line, so two faults on one
    /// link or disk that differ only in it read apart.
    #[test]
    fn a_fault_reads_with_its_link_and_its_kinds_setting() {
        let s = Duration::from_secs;
        let lines: Vec<String> = [
            FaultKind::Crash,
            FaultKind::Restart,
            FaultKind::DiskLoss { after: s(2) },
            FaultKind::Stall {
                peer: "sink".into(),
                duration: s(1),
            },
            FaultKind::Latency {
                peer: ALL_PEERS.into(),
                min: Duration::ZERO,
                max: Duration::from_millis(80),
                duration: s(1),
            },
            FaultKind::MessageLoss {
                peer: "jobmanager".into(),
                rate: 0.25,
                duration: s(1),
            },
            FaultKind::IoErrors {
                probability: 0.5,
                duration: s(1),
                path: None,
            },
            FaultKind::IoErrors {
                probability: 0.5,
                duration: s(1),
                path: Some("/store/chk-".into()),
            },
            FaultKind::ReadCorruption {
                probability: 0.01,
                duration: s(1),
            },
            FaultKind::DiskFull {
                capacity: 4096,
                duration: s(1),
            },
            FaultKind::BitRot {
                path: "/store/meta/".into(),
            },
            FaultKind::Pause { duration: s(2) },
            FaultKind::ClockDrift {
                drift: -0.25,
                duration: s(1),
            },
        ]
        .into_iter()
        .map(|kind| on_store(kind).to_string())
        .collect();
        assert_eq!(
            lines,
            [
                "crash store at 1500ms",
                "restart store at 1500ms",
                "disk_loss store at 1500ms after 2s",
                "stall store <-> sink at 1500ms for 1s",
                "latency store <-> * max 80ms at 1500ms for 1s",
                "message_loss store <-> jobmanager rate 0.25 at 1500ms for 1s",
                "io_errors store probability 0.5 at 1500ms for 1s",
                "io_errors store probability 0.5 path \"/store/chk-\" at 1500ms for 1s",
                "read_corruption store probability 0.01 at 1500ms for 1s",
                "disk_full store capacity 4096 at 1500ms for 1s",
                "bit_rot store path \"/store/meta/\" at 1500ms",
                "pause store at 1500ms for 2s",
                "clock_drift store drift -0.25 at 1500ms for 1s",
            ]
        );
    }

    /// An event trigger counts events only from `at` on, so a non-zero
    /// `at` is shown with it; a zero one is the default and left out.
    #[test]
    fn an_event_trigger_shows_the_at_it_counts_from() {
        let mut fault = on_store(FaultKind::Crash);
        fault.on = Some(Trigger::Event(EventTrigger::on("checkpoint_completed")));
        assert_eq!(
            fault.to_string(),
            "crash store at 1500ms on { event = \"checkpoint_completed\", occurrence = 1 }"
        );
        fault.at = Duration::ZERO;
        assert_eq!(
            fault.to_string(),
            "crash store on { event = \"checkpoint_completed\", occurrence = 1 }"
        );
    }
}
