//! Single leader: with `ha` (`topology.jobmanagers` > 1), no jobmanager
//! acts as the job's leader once `ha` has granted a newer leader epoch to
//! another (no split brain).
//!
//! It reads only the trace:
//! - `lease_granted {candidate, leader}` (from `ha`) makes `candidate` the
//!   holder of epoch `leader`, and every older epoch stale from then on;
//! - `leader_elected {leader}` (from a jobmanager) is the epoch that
//!   jobmanager acts under until its next election;
//! - a leader action is `checkpoint_triggered`, `checkpoint_completed` or
//!   `tasks_deployed` from a jobmanager: each reaches the taskmanagers or
//!   the sink. One from a jobmanager that was never elected, or whose
//!   epoch is older than the newest granted when the action is traced, is
//!   a violation.
//!
//! A correct jobmanager stops before its lease can run out on `ha`'s clock
//! ([`flinch_engine::lease::act_until`]), so `ha` grants the next epoch
//! only after its last action, whatever the clocks' drift within the bound;
//! a pause between a check and an action cannot split the two either, since
//! a check and the action it guards run in one step of the host. (Effects
//! already in flight, such as a register write, are fenced by the epoch in
//! checkpoint storage instead.)

use super::state::secs;
use super::{cap, kind};
use crate::trace::{TraceEvent, What};
use crate::violation::{Checker, Violation};
use flinch_engine::event::{Event, HostRole};
use std::collections::BTreeMap;
use std::time::Duration;

/// Every leader action taken under a leader epoch older than the newest
/// `ha` had granted by then. A trace without `ha` has no violations.
pub fn single_leader(trace: &[TraceEvent]) -> Vec<Violation> {
    // The newest grant so far: (epoch, candidate, when).
    let mut newest: Option<(u64, &str, Duration)> = None;
    // The epoch each jobmanager was last elected with.
    let mut elected: BTreeMap<&str, u64> = BTreeMap::new();
    let mut violations = Vec::new();
    for e in trace {
        let What::Engine(event) = &e.what else {
            continue;
        };
        let action = match event {
            Event::LeaseGranted { candidate, leader } => {
                newest = Some((*leader, candidate.as_str(), e.at));
                continue;
            }
            Event::LeaderElected { leader } => {
                elected.insert(e.host.as_str(), *leader);
                continue;
            }
            Event::CheckpointTriggered { checkpoint, .. } => {
                format!("triggered checkpoint {checkpoint}")
            }
            Event::CheckpointCompleted { checkpoint, .. } => {
                format!("completed checkpoint {checkpoint}")
            }
            Event::TasksDeployed { epoch, .. } => format!("deployed job attempt {epoch}"),
            _ => continue,
        };
        if HostRole::of(&e.host) != Some(HostRole::JobManager) {
            continue;
        }
        let Some((granted, holder, since)) = newest else {
            continue; // no `ha`: one jobmanager
        };
        let acting = elected.get(e.host.as_str()).copied();
        if acting.is_some_and(|a| a >= granted) {
            continue;
        }
        let under = match acting {
            Some(a) => format!("under leader epoch {a}"),
            None => "never elected".to_owned(),
        };
        let message = format!(
            "{} {action} at {} {under}, after ha granted leader epoch {granted} to {holder} at {}",
            e.host,
            secs(e.at),
            secs(since)
        );
        violations.push(Violation {
            at: Some(e.at),
            ..Violation::new(Checker::SingleLeader, kind::SPLIT_BRAIN, message)
        });
    }
    cap::limit(violations)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flinch_engine::event::JobState;

    fn at(ms: u64, host: &str, event: Event) -> TraceEvent {
        TraceEvent {
            at: Duration::from_millis(ms),
            host: host.into(),
            what: What::Engine(event),
        }
    }

    fn granted(ms: u64, candidate: &str, leader: u64) -> TraceEvent {
        let candidate = candidate.into();
        at(ms, "ha", Event::LeaseGranted { candidate, leader })
    }

    fn trigger(ms: u64, host: &str, checkpoint: u64) -> TraceEvent {
        at(
            ms,
            host,
            Event::CheckpointTriggered {
                checkpoint,
                epoch: 1,
            },
        )
    }

    /// jobmanager-1 leads with epoch 1, then jobmanager-2 with epoch 2.
    fn takeover() -> Vec<TraceEvent> {
        vec![
            granted(5, "jobmanager-1", 1),
            at(6, "jobmanager-1", Event::LeaderElected { leader: 1 }),
            trigger(300, "jobmanager-1", 1),
            granted(2_500, "jobmanager-2", 2),
            at(2_501, "jobmanager-2", Event::LeaderElected { leader: 2 }),
            trigger(2_800, "jobmanager-2", 2),
            at(3_000, "jobmanager-2", Event::JobState(JobState::Finished)),
        ]
    }

    #[test]
    fn a_takeover_after_the_old_leader_stopped_passes() {
        assert_eq!(single_leader(&takeover()), []);
    }

    #[test]
    fn an_old_leader_acting_after_a_newer_grant_is_split_brain() {
        let mut trace = takeover();
        trace.insert(5, trigger(2_600, "jobmanager-1", 9));
        let found = single_leader(&trace);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].checker, Checker::SingleLeader);
        assert_eq!(found[0].kind, kind::SPLIT_BRAIN);
        assert!(
            found[0].message.contains(
                "jobmanager-1 triggered checkpoint 9 at 2.600s under leader epoch 1, after ha \
                 granted leader epoch 2 to jobmanager-2"
            ),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn a_jobmanager_acting_without_an_election_is_split_brain() {
        let mut trace = takeover();
        trace.insert(3, trigger(200, "jobmanager-2", 1));
        let found = single_leader(&trace);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("never elected"), "{found:?}");
    }

    #[test]
    fn without_ha_nothing_is_judged() {
        let trace = vec![trigger(300, "jobmanager", 1)];
        assert_eq!(single_leader(&trace), []);
    }
}
