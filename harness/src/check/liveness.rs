//! Liveness (docs/design.md §4): after the last fault heals, the job ends within
//! a bound, and if it does not, the report says what was still pending, as
//! TigerBeetle's VOPR does in its liveness mode.
//!
//! The heal is the last fault event of the trace (a crash, a restart, a
//! repaired partition, a released stall, restored latency, a healed disk:
//! each is a fault event), or the start if there was none. The job ends when
//! it reaches a final state, finished or failed: whether that was the state
//! the scenario wanted is [`expected_outcome`](super::expected_outcome)'s
//! question; this checker only asks *when*.
//!
//! How the two divide a run that never ended (the run reached its time
//! bound, so `expected_outcome` already reports `not-finished` or
//! `job-did-not-fail`): if the run went on for more than the bound after the
//! heal, the job had its chance and missed it, and `not-live` adds what was
//! pending; if the run stopped sooner, liveness cannot be judged and stays
//! silent rather than repeat `expected_outcome`. A job that did end, but
//! later than the bound after the heal, is reported only here.

use super::state::secs;
use super::{cap, kind};
use crate::outcome::RunOutcome;
use crate::trace::{TraceEvent, What};
use crate::violation::{Checker, Violation};
use flinch_engine::event::{Event, JobState};
use std::time::Duration;

/// How long the job may take to end once the last fault has healed. Ten
/// simulated seconds: a built-in workload runs in about a second, a
/// failover with default timings (1s heartbeat timeout, restart delays in
/// tens of ms) takes about one more, so this leaves room for several
/// failovers and checkpoint timeouts while still catching a job that
/// hangs. A scenario option will replace it.
pub const LIVENESS_BOUND: Duration = Duration::from_secs(10);

/// Engine events the `not-live` message lists at its end.
const LAST_EVENTS: usize = 5;

/// `not-live` when the job ended more than `bound` after the last heal, or
/// had not ended although the run lasted longer than that.
pub fn liveness(outcome: &RunOutcome, bound: Duration) -> Vec<Violation> {
    let last_fault = last_fault(&outcome.trace);
    let heal = last_fault.unwrap_or(Duration::ZERO);
    let deadline = heal + bound;
    let healed = match last_fault {
        None => "no fault was injected".to_string(),
        Some(at) => format!("the last fault healed at {}", secs(at)),
    };
    let message = match ended(outcome) {
        Some((at, _)) if at <= deadline => return Vec::new(),
        Some((at, state)) => format!(
            "the job {} at {}, {} after the bound of {bound:?}: {healed}; since then {}",
            super::expected::describe(state),
            secs(at),
            secs(at - deadline),
            since(&outcome.trace, heal, at)
        ),
        None if outcome.sim_time <= deadline => return Vec::new(),
        None => format!(
            "the job had not ended at {}, the end of the run, though {healed} and it had \
             {bound:?} to end; since then {}; {}",
            secs(outcome.sim_time),
            since(&outcome.trace, heal, outcome.sim_time),
            pending(outcome)
        ),
    };
    let violation = Violation::new(Checker::Liveness, kind::NOT_LIVE, message);
    cap::limit(vec![violation])
}

/// When the last fault event happened, if any did.
fn last_fault(trace: &[TraceEvent]) -> Option<Duration> {
    let fault = trace
        .iter()
        .rev()
        .find(|e| matches!(e.what, What::Fault(_)));
    fault.map(|e| e.at)
}

/// When the job first reached the final state the run ended in.
fn ended(outcome: &RunOutcome) -> Option<(Duration, &JobState)> {
    let state = outcome.final_state.as_ref()?;
    if !matches!(state, JobState::Finished | JobState::Failed { .. }) {
        return None;
    }
    let first_end = outcome.trace.iter().find_map(|e| match &e.what {
        What::Engine(Event::JobState(JobState::Finished | JobState::Failed { .. })) => Some(e.at),
        _ => None,
    });
    Some((first_end.unwrap_or(outcome.sim_time), state))
}

/// What the job did between the heal and `until`: failovers (with the last
/// cause) and completed checkpoints.
fn since(trace: &[TraceEvent], heal: Duration, until: Duration) -> String {
    let window = trace.iter().filter(|e| e.at >= heal && e.at <= until);
    let mut failovers = 0;
    let mut last_cause = None;
    let mut checkpoints = 0;
    for e in window {
        match &e.what {
            What::Engine(Event::Failover { cause, .. }) => {
                failovers += 1;
                last_cause = Some(cause.as_str());
            }
            What::Engine(Event::CheckpointCompleted { .. }) => checkpoints += 1,
            _ => {}
        }
    }
    let failed_over = match last_cause {
        None => "no failover".to_string(),
        Some(cause) => format!("{failovers} failover(s), the last because {cause}"),
    };
    format!("{failed_over} and {checkpoints} completed checkpoint(s)")
}

/// Where a job that did not end stood (as `expected_outcome` says it), and
/// its last engine events.
fn pending(outcome: &RunOutcome) -> String {
    let events = last_events(&outcome.trace);
    format!(
        "{}; last engine events: {events}",
        super::expected::pending(outcome)
    )
}

fn last_events(trace: &[TraceEvent]) -> String {
    let engine = trace.iter().filter(|e| matches!(e.what, What::Engine(_)));
    let mut last: Vec<String> = engine
        .rev()
        .take(LAST_EVENTS)
        .map(|e| match &e.what {
            What::Engine(event) => format!("{} {} {}", secs(e.at), e.host, event.name()),
            What::Fault(_) => unreachable!("only engine events pass the filter"),
        })
        .collect();
    last.reverse();
    match last.is_empty() {
        true => "none".into(),
        false => last.join(", "),
    }
}

#[cfg(test)]
mod tests;
