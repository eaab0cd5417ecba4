//! The trace of one run: every engine event and every injected fault, in
//! simulation order, stamped with simulated time and the host.
//!
//! Text form (one line per event, what `flinch replay` prints):
//! `   1.234s jobmanager       checkpoint_completed {"checkpoint":3,...}`
//! The trace hash is a CRC-32 over the text form, so two runs agree on the
//! hash exactly when they agree on every line.

use flinch_engine::event::Event;
use serde::Serialize;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TraceEvent {
    /// Simulated time since the start of the run.
    #[serde(serialize_with = "ser_ms")]
    pub at: Duration,
    pub host: String,
    pub what: What,
}

/// An engine event, or something the harness did to the world.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum What {
    Engine(Event),
    Fault(FaultEvent),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "fault", rename_all = "snake_case")]
pub enum FaultEvent {
    Crash,
    Restart,
    DiskWiped,
    Partition {
        peer: String,
        oneway: bool,
    },
    Repair {
        peer: String,
    },
    Stall {
        peer: String,
    },
    Release {
        peer: String,
    },
    Latency {
        peer: String,
        /// Only when the fault has a `min` (traces of faults without one
        /// stay as they were).
        #[serde(default, skip_serializing_if = "is_zero")]
        min_ms: u64,
        max_ms: u64,
    },
    LatencyRestored {
        peer: String,
    },
    /// Rates and probabilities as text, so events stay `Eq`.
    MessageLoss {
        peer: String,
        rate: String,
    },
    MessageLossEnded,
    IoErrors {
        probability: String,
        /// The start of the paths the errors are limited to, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        path: Option<String>,
    },
    ReadCorruption {
        probability: String,
    },
    DiskFull {
        capacity: u64,
    },
    DiskHealed,
    /// The host's software stopped ([`crate::fault::FaultKind::Pause`]).
    Pause,
    /// A paused host's software carries on.
    Resume,
    /// The host's clock starts to drift (as text, so events stay `Eq`).
    ClockDrift {
        drift: String,
    },
    /// A clock drift ended: the host's clock is `offset_ms` ahead of
    /// simulated time (negative: behind), and runs at the right rate
    /// again, or, when another drift of the host is still in force, at
    /// that one's `drift` (the newest of those left; as text, as above).
    ClockDriftEnded {
        offset_ms: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        drift: Option<String>,
    },
    /// Lifecycle step: run `run` (from 1) of the job was stopped, `with`
    /// as the step says (`cancel`).
    JobStopped {
        run: u32,
        with: String,
    },
    /// `[[savepoint]]` number `n` (from 0): the `client` host asks for a
    /// plain savepoint, request id `request`.
    SavepointRequested {
        n: u32,
        request: u64,
    },
    /// Lifecycle step: run `run` (from 2) starts on a new cluster, restoring
    /// `from` (`retained`) in `restore_mode` (`claim`).
    JobResumed {
        run: u32,
        from: String,
        restore_mode: String,
        parallelism: u32,
        taskmanagers: u32,
    },
    /// `file`: the file whose byte changed; `None` when no file matched.
    BitRot {
        path: String,
        file: Option<String>,
    },
}

impl FaultEvent {
    /// Whether a fault begins here: a crash, a disk wiped, a link cut,
    /// stalled, slowed or lossy, storage failing, rotting or full, a pause,
    /// a clock drifting. Not a heal (`restart`, `repair`, `release`,
    /// `resume`, `..._restored`, `..._ended`, `disk_healed`: a `restart`
    /// is how a crashed host comes back, even when a plan asks for it), and
    /// not a lifecycle step or a savepoint request, which are no faults.
    pub fn is_onset(&self) -> bool {
        match self {
            FaultEvent::Crash
            | FaultEvent::DiskWiped
            | FaultEvent::Partition { .. }
            | FaultEvent::Stall { .. }
            | FaultEvent::Latency { .. }
            | FaultEvent::MessageLoss { .. }
            | FaultEvent::IoErrors { .. }
            | FaultEvent::ReadCorruption { .. }
            | FaultEvent::DiskFull { .. }
            | FaultEvent::Pause
            | FaultEvent::ClockDrift { .. }
            | FaultEvent::BitRot { .. } => true,
            FaultEvent::Restart
            | FaultEvent::Repair { .. }
            | FaultEvent::Release { .. }
            | FaultEvent::LatencyRestored { .. }
            | FaultEvent::MessageLossEnded
            | FaultEvent::DiskHealed
            | FaultEvent::Resume
            | FaultEvent::ClockDriftEnded { .. }
            | FaultEvent::JobStopped { .. }
            | FaultEvent::SavepointRequested { .. }
            | FaultEvent::JobResumed { .. } => false,
        }
    }
}

fn ser_ms<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

impl TraceEvent {
    /// The one-line text form.
    pub fn line(&self) -> String {
        let body = serde_json::to_value(&self.what).expect("trace events serialize");
        let (name, rest) = split_tag(body);
        format!(
            "{:>9.3}s {:<16} {name}{rest}",
            self.at.as_secs_f64(),
            self.host
        )
    }
}

/// Pull the `event`/`fault` tag out of a serialized event so a line reads
/// `checkpoint_completed {"checkpoint":3}` rather than repeating the tag.
fn split_tag(value: serde_json::Value) -> (String, String) {
    let serde_json::Value::Object(mut map) = value else {
        return (value.to_string(), String::new());
    };
    let name = ["event", "fault"]
        .iter()
        .find_map(|tag| map.remove(*tag))
        .and_then(|v| v.as_str().map(|s| s.to_string()))
        .unwrap_or_default();
    let rest = if map.is_empty() {
        String::new()
    } else {
        format!(" {}", serde_json::Value::Object(map))
    };
    (name, rest)
}

/// CRC-32 over every line of the text form, newline-terminated.
pub fn trace_hash(trace: &[TraceEvent]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    for e in trace {
        h.update(e.line().as_bytes());
        h.update(b"\n");
    }
    h.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;
    use flinch_engine::event::JobState;

    #[test]
    fn a_line_names_time_host_event_and_fields() {
        let e = TraceEvent {
            at: Duration::from_millis(1234),
            host: "jobmanager".into(),
            what: What::Engine(Event::CheckpointCompleted {
                checkpoint: 3,
                offsets: vec![10, 12],
            }),
        };
        assert_eq!(
            e.line(),
            "    1.234s jobmanager       checkpoint_completed {\"checkpoint\":3,\"offsets\":[10,12]}"
        );
        let f = TraceEvent {
            at: Duration::from_millis(5),
            host: "taskmanager-1".into(),
            what: What::Fault(FaultEvent::Crash),
        };
        assert_eq!(f.line(), "    0.005s taskmanager-1    crash");
        let j = TraceEvent {
            at: Duration::ZERO,
            host: "jobmanager".into(),
            what: What::Engine(Event::JobState(JobState::Finished)),
        };
        assert!(
            j.line().contains("job_state {\"state\":\"finished\"}"),
            "{}",
            j.line()
        );
    }

    #[test]
    fn the_hash_changes_with_any_line() {
        let mut t = vec![TraceEvent {
            at: Duration::from_millis(1),
            host: "sink".into(),
            what: What::Engine(Event::HostStarted),
        }];
        let h = trace_hash(&t);
        assert_eq!(h, trace_hash(&t.clone()));
        t[0].at = Duration::from_millis(2);
        assert_ne!(h, trace_hash(&t));
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}
