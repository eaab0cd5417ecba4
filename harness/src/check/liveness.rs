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
//! The bound is judged from what is left to do at the heal, not a constant
//! ([`LivenessBound`]): the input the latest checkpoint completed by then
//! does not cover, at the rate the sources really read, plus a margin from
//! the configuration (`crate::budget`); or the scenario's own
//! `liveness_bound`. So a long input gets the time it needs, and a job that
//! hangs after reading its input still misses its deadline.
//!
//! How the two divide a run that never ended (the run reached its time
//! bound, so `expected_outcome` already reports `not-finished` or
//! `job-did-not-fail`): if the run went on past the deadline, the job had
//! its chance and missed it, and `not-live` adds what was pending; if the
//! run stopped sooner, liveness cannot be judged and stays silent rather
//! than repeat `expected_outcome` (a scenario's `max_sim_time` is always
//! longer than a fault-free run's deadline, see
//! [`needed_sim_time`](crate::budget::needed_sim_time)). A job that did
//! end, but after its deadline, is reported only here.

use super::state::secs;
use super::{cap, kind};
use crate::budget::Margin;
use crate::outcome::RunOutcome;
use crate::scenario::Scenario;
use crate::trace::{TraceEvent, What};
use crate::violation::{Checker, Violation};
use flinch_engine::config::WorkloadConfig;
use flinch_engine::event::{Event, JobState};
use flinch_engine::workload::{read_time, sustained_rate};
use std::time::Duration;

/// Engine events the `not-live` message lists at its end.
const LAST_EVENTS: usize = 5;

/// How long a job may take to end once the last fault has healed (or from
/// its start, without faults): what the liveness checker holds it to.
#[derive(Debug, Clone, PartialEq)]
pub enum LivenessBound {
    /// The scenario's `liveness_bound`: the job ends within this long
    /// after the heal, whatever is left to do.
    Fixed(Duration),
    /// Judged from what is left to do at the heal: the input that the
    /// latest checkpoint completed by then does not cover (in the longest
    /// partition), read at the rate the sources sustain
    /// ([`sustained_rate`]), plus a [`Margin`] for a failover and the
    /// final checkpoint, taken from the configuration. A recovery rewinds
    /// the sources to that checkpoint at the earliest, so this is what the
    /// job may have to read again, however far it had read.
    Input {
        workload: WorkloadConfig,
        margin: Margin,
    },
}

impl LivenessBound {
    /// The scenario's `liveness_bound` if it sets one, else judged from
    /// its input and configuration.
    pub fn of(scenario: &Scenario) -> LivenessBound {
        match scenario.liveness_bound {
            Some(bound) => LivenessBound::Fixed(bound),
            None => LivenessBound::Input {
                workload: scenario.config.workload.clone(),
                margin: Margin::of(&scenario.config),
            },
        }
    }

    /// When the job of `outcome` must have ended, the last fault having
    /// healed at `heal` (or the job started there), and how that follows,
    /// in words for the report.
    fn deadline(&self, outcome: &RunOutcome, heal: Duration, healed: &str) -> (Duration, String) {
        match self {
            LivenessBound::Fixed(bound) => (
                heal.saturating_add(*bound),
                format!("{healed}, and the scenario's liveness_bound is {bound:?}"),
            ),
            LivenessBound::Input { workload, margin } => {
                let (left, checkpoint) = left_at(outcome, heal);
                let reading = read_time(workload, left);
                let why = format!(
                    "{healed}, with {left} records of the longest partition not covered by a \
                     completed checkpoint ({checkpoint}): {} to read at {} records/s per \
                     source, plus a margin of {margin}",
                    secs(reading),
                    sustained_rate(workload)
                );
                let bound = reading.saturating_add(margin.total());
                (heal.saturating_add(bound), why)
            }
        }
    }
}

/// How many records of the longest partition the latest checkpoint
/// completed by `at` leaves to read, and where that checkpoint stood, in
/// words.
fn left_at(outcome: &RunOutcome, at: Duration) -> (u64, String) {
    let lengths: Vec<u64> = outcome.job_input.iter().map(|p| p.len() as u64).collect();
    let covered = covered_at(&outcome.trace, at);
    let offset = |p: usize| covered.and_then(|(_, offsets)| offsets.get(p)).copied();
    let left = (lengths.iter().enumerate())
        .map(|(p, len)| len.saturating_sub(offset(p).unwrap_or(0)))
        .max()
        .unwrap_or(0);
    let checkpoint = match covered {
        None => "none had completed".to_string(),
        Some((n, offsets)) => format!("checkpoint {n} stood at offsets {offsets:?} of {lengths:?}"),
    };
    (left, checkpoint)
}

/// `not-live` when the job ended after its deadline (the `bound` after the
/// last heal), or had not ended although the run lasted past it.
pub fn liveness(outcome: &RunOutcome, bound: &LivenessBound) -> Vec<Violation> {
    let last_fault = last_fault(&outcome.trace);
    let heal = last_fault.unwrap_or(Duration::ZERO);
    let healed = match last_fault {
        None => "no fault was injected".to_string(),
        Some(at) => format!("the last fault healed at {}", secs(at)),
    };
    let (deadline, why) = bound.deadline(outcome, heal, &healed);
    let message = match ended(outcome) {
        Some((at, _)) if at <= deadline => return Vec::new(),
        Some((at, state)) => format!(
            "the job {} at {}, {} after its deadline of {}: {why}; since then {}",
            super::expected::describe(state),
            secs(at),
            secs(at - deadline),
            secs(deadline),
            since(&outcome.trace, heal, at)
        ),
        None if outcome.sim_time <= deadline => return Vec::new(),
        None => format!(
            "the job had not ended at {}, the end of the run, {} after its deadline of {}: \
             {why}; since then {}; {}",
            secs(outcome.sim_time),
            secs(outcome.sim_time - deadline),
            secs(deadline),
            since(&outcome.trace, heal, outcome.sim_time),
            pending(outcome)
        ),
    };
    // The moment: the deadline the job missed.
    let violation = Violation {
        at: Some(deadline),
        ..Violation::new(Checker::Liveness, kind::NOT_LIVE, message)
    };
    cap::limit(vec![violation])
}

/// The latest checkpoint completed at or before `at`, with its sources'
/// offsets.
fn covered_at(trace: &[TraceEvent], at: Duration) -> Option<(u64, &[u64])> {
    let until = trace.iter().take_while(|e| e.at <= at);
    until
        .filter_map(|e| match &e.what {
            What::Engine(Event::CheckpointCompleted {
                checkpoint,
                offsets,
            }) => Some((*checkpoint, offsets.as_slice())),
            _ => None,
        })
        .last()
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
    // In the last run of a lifecycle: an earlier run's end is not the job's.
    let runs = crate::lifecycle::runs(&outcome.trace);
    let last = runs.last().copied().unwrap_or(&outcome.trace);
    let first_end = last.iter().find_map(|e| match &e.what {
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
