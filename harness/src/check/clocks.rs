//! Each host's clock, rebuilt from the trace: what a host read as "now" at
//! a moment of simulated time.
//!
//! The engine's hosts run on their own clocks (`flinch_engine::io::clock`):
//! simulated time, until a `clock_drift` fault makes one run at `1 + drift`
//! times its rate, from where it stood, and its end makes it run at the
//! right rate again, from where it stands then (ahead or behind). A
//! checker that models what a host decided by its clock (the jobmanager's
//! restart strategy counts failures within an interval and backs off by
//! the time since the last one, as Flink's strategies do on the
//! JobMaster's clock) must read the trace's times on that host's clock.
//! The trace holds both edges of every drift (`clock_drift`,
//! `clock_drift_ended`, at the simulated time the harness set the host's
//! clock), and a host's clock outlives its restarts, as a machine's does.

use crate::trace::{FaultEvent, TraceEvent, What};
use flinch_engine::io::clock::drifted;
use std::collections::BTreeMap;
use std::time::Duration;

/// From simulated time `since` on, the host's clock reads `local` plus the
/// time since at `1 + drift`.
#[derive(Debug, Clone, Copy)]
struct Segment {
    since: Duration,
    local: Duration,
    drift: f64,
}

/// Every host's clock over a run, by host name: hosts without a drift in
/// the trace keep simulated time.
#[derive(Debug, Default)]
pub struct HostClocks {
    segments: BTreeMap<String, Vec<Segment>>,
}

impl HostClocks {
    /// The clocks the trace's drift events describe.
    pub fn of(trace: &[TraceEvent]) -> HostClocks {
        let mut clocks = HostClocks::default();
        for e in trace {
            let drift = match &e.what {
                // A drift the harness wrote from an f64 reads back as it.
                What::Fault(FaultEvent::ClockDrift { drift }) => drift.parse().unwrap_or(0.0),
                // Another drift still in force runs the clock on.
                What::Fault(FaultEvent::ClockDriftEnded { drift, .. }) => {
                    drift.as_deref().map_or(0.0, |d| d.parse().unwrap_or(0.0))
                }
                _ => continue,
            };
            let local = clocks.local(&e.host, e.at);
            (clocks.segments.entry(e.host.clone()).or_default()).push(Segment {
                since: e.at,
                local,
                drift,
            });
        }
        clocks
    }

    /// What `host`'s clock read at simulated time `at`.
    pub fn local(&self, host: &str, at: Duration) -> Duration {
        let segment = (self.segments.get(host))
            .and_then(|segments| segments.iter().rev().find(|s| s.since <= at));
        match segment {
            Some(s) => drifted(s.local, at - s.since, s.drift),
            None => at,
        }
    }

    /// Whether `host`'s clock ever drifted in the run.
    pub fn drifts(&self, host: &str) -> bool {
        self.segments.contains_key(host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(at_ms: u64, host: &str, what: FaultEvent) -> TraceEvent {
        TraceEvent {
            at: Duration::from_millis(at_ms),
            host: host.into(),
            what: What::Fault(what),
        }
    }

    /// The rebuilt clock reads what the engine's own clock read, through a
    /// drift, its end and a second drift; other hosts keep simulated time.
    #[test]
    fn a_rebuilt_clock_reads_what_the_hosts_clock_read() {
        use flinch_engine::io::clock;
        let ms = Duration::from_millis;
        let drift = |d: f64| FaultEvent::ClockDrift {
            drift: d.to_string(),
        };
        let trace = [
            event(100, "jobmanager", drift(0.5)),
            event(
                300,
                "jobmanager",
                FaultEvent::ClockDriftEnded {
                    offset_ms: 100,
                    drift: None,
                },
            ),
            event(500, "jobmanager", drift(-0.25)),
        ];
        let clocks = HostClocks::of(&trace);
        // The engine's clock, set as the harness sets it, read within each
        // segment (it keeps only its latest).
        let ip: std::net::IpAddr = [192, 168, 0, 9].into();
        clock::reset();
        let segments = [
            (100, 0.5, [100, 150, 299]),
            (300, 0.0, [300, 301, 499]),
            (500, -0.25, [500, 777, 10_000]),
        ];
        for (since, drift, reads) in segments {
            clock::set_drift(ip, ms(since), drift);
            for at in reads.map(ms) {
                assert_eq!(
                    clocks.local("jobmanager", at),
                    clock::host_time(ip, at),
                    "{at:?}"
                );
            }
        }
        clock::reset();
        assert_eq!(clocks.local("jobmanager", ms(50)), ms(50));
        assert_eq!(clocks.local("jobmanager", ms(200)), ms(250));
        assert_eq!(clocks.local("jobmanager", ms(400)), ms(500));
        assert_eq!(clocks.local("taskmanager-1", ms(400)), ms(400));
        assert!(clocks.drifts("jobmanager") && !clocks.drifts("taskmanager-1"));
    }
}
