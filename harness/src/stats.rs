//! Per-seed figures for a sweep's report: how often the job failed over,
//! how long it took to run again, how long its checkpoints took. A pure
//! function of the trace, small enough to keep for every seed of a sweep
//! of thousands (a few numbers each, not the trace).

use crate::trace::{FaultEvent, TraceEvent, What};
use flinch_engine::event::{Event, HostRole, JobState};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// What one seed's trace says about recovery and checkpointing.
///
/// - A **failover** is a task failover, a `failover` event (the jobmanager
///   cancelled every task to restart the job: Flink's global failover), or
///   a jobmanager failover: the jobmanager that leads the job (the last to
///   trace its state or deploy its tasks) crashed or paused while the job
///   ran, and a restarted or standby jobmanager recovers it from
///   checkpoint storage (the engine traces no `failover` for that).
/// - A **recovery** runs from a failover to the next `job_state running`:
///   the restart strategy's delay (or the new leader's election),
///   redeploying and restoring. A failover the job never ran again after
///   (it failed, or the run ended first) is counted in `failovers` but has
///   no recovery time. A failover while another's recovery is under way
///   joins it. Detecting a task's failure (a heartbeat timeout) comes
///   before its failover and is not included.
/// - A **checkpoint's duration** runs from its `checkpoint_triggered` to
///   its `checkpoint_completed` (or, for a plain savepoint, which has
///   none, its `savepoint_completed`); aborted checkpoints have none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SeedStats {
    /// Task failovers (`failover` events) and jobmanager failovers.
    pub failovers: u32,
    /// Of `failovers`, the jobmanager's.
    pub jobmanager_failovers: u32,
    /// Failovers after which the job ran again.
    pub recoveries: u32,
    /// The longest recovery (simulated time); `None` with no recovery.
    pub longest_recovery: Option<Duration>,
    /// Checkpoints (and savepoints) that completed.
    pub checkpoints: u32,
    /// The slowest of them, trigger to completion (simulated time);
    /// `None` with none completed.
    pub longest_checkpoint: Option<Duration>,
    /// `checkpoint_aborted` events.
    pub checkpoints_aborted: u32,
}

impl SeedStats {
    /// The figures of one run's `trace` (simulation order).
    pub fn of(trace: &[TraceEvent]) -> SeedStats {
        let mut stats = SeedStats::default();
        // The failover a recovery is under way from.
        let mut failed_at: Option<Duration> = None;
        // When each checkpoint id was last triggered (an id may be handed
        // out again by a later attempt; the latest trigger counts).
        let mut triggered: BTreeMap<u64, Duration> = BTreeMap::new();
        // The jobmanager leading the job, and whether the job runs.
        let mut leader: Option<&str> = None;
        let mut running = false;
        for e in trace {
            let event = match &e.what {
                What::Engine(event) => event,
                What::Fault(FaultEvent::Crash | FaultEvent::Pause)
                    if running && leader == Some(e.host.as_str()) =>
                {
                    stats.failovers += 1;
                    stats.jobmanager_failovers += 1;
                    failed_at.get_or_insert(e.at);
                    leader = None;
                    continue;
                }
                What::Fault(_) => continue,
            };
            if matches!(event, Event::JobState(_) | Event::TasksDeployed { .. })
                && HostRole::of(&e.host) == Some(HostRole::JobManager)
            {
                leader = Some(e.host.as_str());
            }
            match event {
                Event::Failover { .. } => {
                    stats.failovers += 1;
                    // A second failover before the job ran again extends
                    // the recovery under way.
                    failed_at.get_or_insert(e.at);
                }
                Event::JobState(JobState::Running { .. }) => {
                    running = true;
                    if let Some(from) = failed_at.take() {
                        stats.recoveries += 1;
                        stats.longest_recovery = stats.longest_recovery.max(Some(e.at - from));
                    }
                }
                Event::JobState(JobState::Restarting { .. }) => running = true,
                Event::JobState(JobState::Failed { .. } | JobState::Finished) => {
                    failed_at = None;
                    running = false;
                }
                Event::CheckpointTriggered { checkpoint, .. } => {
                    triggered.insert(*checkpoint, e.at);
                }
                Event::CheckpointCompleted { checkpoint, .. }
                | Event::SavepointCompleted { checkpoint } => {
                    if let Some(from) = triggered.remove(checkpoint) {
                        stats.checkpoints += 1;
                        stats.longest_checkpoint = stats.longest_checkpoint.max(Some(e.at - from));
                    }
                }
                Event::CheckpointAborted { checkpoint, .. } => {
                    triggered.remove(checkpoint);
                    stats.checkpoints_aborted += 1;
                }
                _ => {}
            }
        }
        stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64, event: Event) -> TraceEvent {
        TraceEvent {
            at: Duration::from_millis(ms),
            host: "jobmanager".into(),
            what: What::Engine(event),
        }
    }

    fn failover(ms: u64) -> TraceEvent {
        let cause = "taskmanager-1 lost".to_string();
        at(ms, Event::Failover { epoch: 2, cause })
    }

    fn running(ms: u64) -> TraceEvent {
        at(ms, Event::JobState(JobState::Running { epoch: 2 }))
    }

    #[test]
    fn recoveries_run_from_the_failover_to_running_again_and_checkpoints_from_trigger_to_completion(
    ) {
        let trace = vec![
            running(0),
            at(
                100,
                Event::CheckpointTriggered {
                    checkpoint: 1,
                    epoch: 1,
                },
            ),
            at(
                130,
                Event::CheckpointCompleted {
                    checkpoint: 1,
                    offsets: vec![],
                },
            ),
            at(
                300,
                Event::CheckpointTriggered {
                    checkpoint: 2,
                    epoch: 1,
                },
            ),
            failover(400),
            at(
                400,
                Event::CheckpointAborted {
                    checkpoint: 2,
                    reason: "failover".into(),
                },
            ),
            // A second failover before running again: one recovery, from 400.
            failover(450),
            running(520),
            at(
                600,
                Event::CheckpointTriggered {
                    checkpoint: 2,
                    epoch: 2,
                },
            ),
            at(
                690,
                Event::CheckpointCompleted {
                    checkpoint: 2,
                    offsets: vec![],
                },
            ),
            failover(800),
            running(830),
            // The leading jobmanager crashes; its restart runs the job again.
            TraceEvent {
                at: Duration::from_millis(860),
                host: "jobmanager".into(),
                what: What::Fault(FaultEvent::Crash),
            },
            running(890),
            // Never ran again.
            failover(900),
            at(
                950,
                Event::JobState(JobState::Failed {
                    reason: "gave up".into(),
                }),
            ),
            // A crash after the job ended is no failover.
            TraceEvent {
                at: Duration::from_millis(990),
                host: "jobmanager".into(),
                what: What::Fault(FaultEvent::Crash),
            },
        ];
        let stats = SeedStats::of(&trace);
        assert_eq!(
            stats,
            SeedStats {
                failovers: 5,
                jobmanager_failovers: 1,
                recoveries: 3,
                longest_recovery: Some(Duration::from_millis(120)),
                checkpoints: 2,
                longest_checkpoint: Some(Duration::from_millis(90)),
                checkpoints_aborted: 1,
            }
        );
        assert_eq!(SeedStats::of(&[]), SeedStats::default());
    }
}
