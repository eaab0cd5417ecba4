//! Restart conformance: every failover was restarted, after the right delay,
//! or given up on, exactly as the configured strategy says
//! ([`RestartModel`], written apart from the engine's strategies).
//!
//! What the trace shows, and how it is read:
//! - each `failover` is one failure handed to the strategy, at the
//!   failover's time (failures while a restart is pending are absorbed by
//!   the jobmanager and produce no failover, so the model sees exactly one
//!   failure per failover);
//! - the strategy's answer is emitted by the jobmanager at the same instant:
//!   `restart_scheduled {attempt, delay_ms}`, or nothing, which is a give-up;
//!   the job's `failed` state with the strategy's reason comes later, once
//!   the end is durable (a jobmanager crash in between may lose it);
//! - a jobmanager that (re)starts builds a fresh strategy, as Flink's
//!   JobMaster does after a failover of its own: the model starts afresh at
//!   every `host_started` of the jobmanager, and with `ha` at every
//!   `leader_elected` (a standby's start is no failover of the leader's);
//! - the strategy counts time on the jobmanager's clock (failures within
//!   `interval`, the backoff's reset after `reset_backoff_threshold`), as
//!   Flink's do on the JobMaster's: a failover's time is read on the clock
//!   of the host that traced it ([`HostClocks`]), which a `clock_drift`
//!   fault makes run fast or slow.

use super::clocks::HostClocks;
use super::restart_model::{Decision, RestartModel};
use super::state::secs;
use super::{cap, kind};
use crate::trace::{TraceEvent, What};
use crate::violation::{Checker, Violation};
use flinch_engine::config::RestartConfig;
use flinch_engine::event::{Event, JobState};
use flinch_engine::io::addr::JOBMANAGER;
use std::collections::BTreeSet;
use std::time::Duration;

/// A give-up announced by the jobmanager names the strategy first.
pub const GIVE_UP_PREFIX: &str = "restart strategy";

/// What the jobmanager did about one failover.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Observed {
    Restart {
        attempt: u32,
        delay_ms: u64,
        /// Where the `restart_scheduled` event is in the trace.
        index: usize,
    },
    /// No restart was scheduled; the job's next state, if it was
    /// announced: its failure, or (a failover that bypassed the strategy)
    /// its next attempt.
    GaveUp { next: Option<(Duration, JobState)> },
}

/// Every failover's decision against the model of `config`, plus restarts
/// and give-ups that no failover asked for.
pub fn restart_conformance(trace: &[TraceEvent], config: &RestartConfig) -> Vec<Violation> {
    let clocks = HostClocks::of(trace);
    let mut model = RestartModel::new(config);
    let mut answered: BTreeSet<usize> = BTreeSet::new();
    let mut gave_up = false;
    let mut violations = Vec::new();
    for (i, e) in trace.iter().enumerate() {
        let What::Engine(event) = &e.what else {
            continue;
        };
        match event {
            Event::HostStarted if e.host == JOBMANAGER => model = RestartModel::new(config),
            Event::LeaderElected { .. } => model = RestartModel::new(config),
            Event::Failover { cause, .. } => {
                let observed = observe(trace, i);
                let chosen = match &observed {
                    Observed::Restart { delay_ms, .. } => Some(*delay_ms),
                    Observed::GaveUp { .. } => None,
                };
                let local = clocks.local(&e.host, e.at);
                let expected = model.on_failure(millis(local), chosen);
                let failover = Failover {
                    at: e.at,
                    local: clocks.drifts(&e.host).then_some((e.host.as_str(), local)),
                    cause,
                };
                violations.extend(compare(config, &failover, &expected, &observed));
                match observed {
                    Observed::Restart { index, .. } => {
                        answered.insert(index);
                    }
                    Observed::GaveUp { .. } => gave_up = true,
                }
            }
            Event::RestartScheduled { attempt, delay_ms } if !answered.contains(&i) => {
                violations.push(unasked_restart(e.at, *attempt, *delay_ms));
            }
            Event::JobState(JobState::Failed { reason })
                if reason.starts_with(GIVE_UP_PREFIX) && !gave_up =>
            {
                violations.push(unasked_give_up(e.at, reason));
            }
            _ => {}
        }
    }
    cap::limit(violations)
}

/// The answer to the failover at `trace[i]`: a `restart_scheduled` from the
/// same host at the same instant, else a give-up.
fn observe(trace: &[TraceEvent], i: usize) -> Observed {
    let failover = &trace[i];
    let same_instant = trace[i + 1..].iter().enumerate();
    let same_instant = same_instant.take_while(|(_, e)| e.at == failover.at);
    for (j, e) in same_instant.filter(|(_, e)| e.host == failover.host) {
        match &e.what {
            What::Engine(Event::RestartScheduled { attempt, delay_ms }) => {
                return Observed::Restart {
                    attempt: *attempt,
                    delay_ms: *delay_ms,
                    index: i + 1 + j,
                }
            }
            What::Engine(Event::Failover { .. }) => break,
            _ => {}
        }
    }
    Observed::GaveUp {
        next: next_state(&trace[i + 1..], &failover.host),
    }
}

/// The job's next state change by `host`, before the host restarts or
/// fails over again.
fn next_state(rest: &[TraceEvent], host: &str) -> Option<(Duration, JobState)> {
    for e in rest.iter().filter(|e| e.host == host) {
        match &e.what {
            What::Engine(Event::JobState(state)) => return Some((e.at, state.clone())),
            What::Engine(Event::HostStarted | Event::Failover { .. }) => return None,
            _ => {}
        }
    }
    None
}

struct Failover<'a> {
    at: Duration,
    /// Its host and its time on the host's clock, if that clock drifted.
    local: Option<(&'a str, Duration)>,
    cause: &'a str,
}

fn compare(
    config: &RestartConfig,
    failover: &Failover,
    expected: &Decision,
    observed: &Observed,
) -> Option<Violation> {
    let (kind, should, but) = match (expected, observed) {
        (
            Decision::Restart { attempt, delay, .. },
            Observed::Restart {
                attempt: seen,
                delay_ms,
                ..
            },
        ) => {
            let should = format!("restart attempt {attempt} after {delay}");
            let but = format!("it scheduled attempt {seen} after {delay_ms}ms");
            if !delay.contains(*delay_ms) {
                (kind::WRONG_DELAY, should, but)
            } else if attempt != seen {
                (kind::WRONG_ATTEMPT, should, but)
            } else {
                return None;
            }
        }
        (Decision::GiveUp { .. }, Observed::GaveUp { .. }) => return None,
        (Decision::Restart { attempt, delay, .. }, Observed::GaveUp { next }) => (
            kind::UNEXPECTED_GIVE_UP,
            format!("restart attempt {attempt} after {delay}"),
            gave_up(next),
        ),
        (
            Decision::GiveUp { why },
            Observed::Restart {
                attempt, delay_ms, ..
            },
        ) => (
            kind::UNEXPECTED_RESTART,
            format!("give up ({why})"),
            format!("it scheduled restart attempt {attempt} after {delay_ms}ms"),
        ),
    };
    let on_its_clock = match failover.local {
        Some((host, local)) => format!(", {} on the {host}'s drifting clock", secs(local)),
        None => String::new(),
    };
    let message = format!(
        "the failover at {}{on_its_clock} (cause: {}) should {should} under {}, but {but}",
        secs(failover.at),
        failover.cause,
        describe(config)
    );
    Some(Violation {
        at: Some(failover.at),
        ..Violation::new(Checker::RestartConformance, kind, message)
    })
}

fn gave_up(next: &Option<(Duration, JobState)>) -> String {
    match next {
        Some((at, JobState::Failed { reason })) => format!(
            "no restart was scheduled and the job failed at {}: {reason}",
            secs(*at)
        ),
        Some((at, JobState::Restarting { epoch } | JobState::Running { epoch })) => format!(
            "no restart was scheduled, yet the job went on as attempt (epoch) {epoch} at {}: \
             the failover bypassed the strategy, neither waiting nor counting",
            secs(*at)
        ),
        _ => "no restart was scheduled".into(),
    }
}

fn unasked_restart(at: Duration, attempt: u32, delay_ms: u64) -> Violation {
    let message = format!(
        "restart attempt {attempt} after {delay_ms}ms was scheduled at {}, but no failover \
         at that instant asked the strategy",
        secs(at)
    );
    Violation {
        at: Some(at),
        ..Violation::new(
            Checker::RestartConformance,
            kind::UNEXPECTED_RESTART,
            message,
        )
    }
}

fn unasked_give_up(at: Duration, reason: &str) -> Violation {
    let message = format!(
        "the job failed at {} with reason {reason:?}, but no failover before it was refused \
         a restart",
        secs(at)
    );
    Violation {
        at: Some(at),
        ..Violation::new(
            Checker::RestartConformance,
            kind::UNEXPECTED_GIVE_UP,
            message,
        )
    }
}

/// The strategy with its options, as a scenario file names them.
pub fn describe(config: &RestartConfig) -> String {
    let d = |d: &Duration| format!("{}ms", d.as_millis());
    let options = match config {
        RestartConfig::None => return "restart strategy none".into(),
        RestartConfig::FixedDelay { attempts, delay } => {
            format!("attempts = {attempts}, delay = {}", d(delay))
        }
        RestartConfig::FailureRate {
            max_failures_per_interval,
            interval,
            delay,
        } => format!(
            "max_failures_per_interval = {max_failures_per_interval}, interval = {}, delay = {}",
            d(interval),
            d(delay)
        ),
        RestartConfig::ExponentialDelay {
            initial_backoff,
            max_backoff,
            multiplier,
            jitter,
            reset_backoff_threshold,
            attempts,
        } => {
            let attempts = attempts.map_or("unlimited".to_string(), |a| a.to_string());
            format!(
                "initial_backoff = {}, max_backoff = {}, multiplier = {multiplier}, \
                 jitter = {jitter}, reset_backoff_threshold = {}, attempts = {attempts}",
                d(initial_backoff),
                d(max_backoff),
                d(reset_backoff_threshold)
            )
        }
    };
    format!("restart strategy {} {{{options}}}", config.name())
}

fn millis(at: Duration) -> u64 {
    u64::try_from(at.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests;
