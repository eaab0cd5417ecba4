//! An independent model of Flink's four restart strategies, written from
//! docs/flink-semantics.md ("Restart strategies") and sharing no code with the
//! engine's `restart.rs`: checking one against the other only means
//! something if they were not written as one.
//!
//! Time is whole milliseconds since the run started, as Flink's clock is.
//! The model is fed every failure the strategy sees, in order, and answers
//! what the strategy must do: restart after a delay (exact, or a range when
//! exponential-delay adds jitter), or give up.

use flinch_engine::config::RestartConfig;
use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

/// The delays a strategy may choose: exactly one unless jitter widens it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DelayRange {
    pub lo_ms: u64,
    pub hi_ms: u64,
}

impl DelayRange {
    pub fn exactly(ms: u64) -> Self {
        DelayRange {
            lo_ms: ms,
            hi_ms: ms,
        }
    }

    pub fn contains(self, ms: u64) -> bool {
        (self.lo_ms..=self.hi_ms).contains(&ms)
    }
}

impl fmt::Display for DelayRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.lo_ms == self.hi_ms {
            write!(f, "{}ms", self.lo_ms)
        } else {
            write!(f, "{}ms to {}ms", self.lo_ms, self.hi_ms)
        }
    }
}

/// What the strategy must do about one failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// `attempt` numbers the restarts the strategy granted, from 1, this
    /// one included; an exponential-delay backoff reset does not renumber
    /// them. `merged`: exponential-delay counted this failure together with
    /// the pending restart, whose attempt number it reports.
    Restart {
        attempt: u32,
        delay: DelayRange,
        merged: bool,
    },
    /// Why the strategy refuses, in words.
    GiveUp { why: String },
}

/// One strategy's state, fed failures in time order.
#[derive(Debug, Clone)]
pub struct RestartModel {
    strategy: Strategy,
    /// Restarts granted so far (merged failures are not new restarts).
    granted: u32,
}

/// A strategy's answer, before the restart is numbered.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    New(DelayRange),
    Merged(DelayRange),
    Refused(String),
}

#[derive(Debug, Clone)]
enum Strategy {
    None,
    FixedDelay(FixedDelay),
    FailureRate(FailureRate),
    ExponentialDelay(ExponentialDelay),
}

impl RestartModel {
    /// A fresh strategy, as a (re)started jobmanager creates it.
    pub fn new(config: &RestartConfig) -> Self {
        let strategy = match config {
            RestartConfig::None => Strategy::None,
            RestartConfig::FixedDelay { attempts, delay } => Strategy::FixedDelay(FixedDelay {
                attempts: *attempts,
                delay_ms: ms(*delay),
                failures: 0,
            }),
            RestartConfig::FailureRate {
                max_failures_per_interval,
                interval,
                delay,
            } => Strategy::FailureRate(FailureRate {
                max: *max_failures_per_interval,
                interval_ms: ms(*interval),
                delay_ms: ms(*delay),
                kept: VecDeque::new(),
            }),
            RestartConfig::ExponentialDelay {
                initial_backoff,
                max_backoff,
                multiplier,
                jitter,
                reset_backoff_threshold,
                attempts,
            } => Strategy::ExponentialDelay(ExponentialDelay {
                initial_ms: ms(*initial_backoff),
                max_ms: ms(*max_backoff),
                multiplier: *multiplier,
                jitter: *jitter,
                reset_ms: ms(*reset_backoff_threshold),
                attempts_before_reset: *attempts,
                attempt: 0,
                next_restart_at: None,
            }),
        };
        RestartModel {
            strategy,
            granted: 0,
        }
    }

    /// The decision for a failure at `now_ms`.
    ///
    /// `chosen_delay_ms` is the delay the implementation under test picked,
    /// if known. Only jitter needs it: the model cannot know the seeded draw,
    /// so a choice inside the jitter range becomes the model's pending
    /// restart time (which later merges and resets depend on); a choice
    /// outside it, or none, is replaced by the nearest value inside.
    pub fn on_failure(&mut self, now_ms: u64, chosen_delay_ms: Option<u64>) -> Decision {
        let answer = match &mut self.strategy {
            Strategy::None => Answer::Refused("restart strategy none never restarts".into()),
            Strategy::FixedDelay(s) => s.on_failure(),
            Strategy::FailureRate(s) => s.on_failure(now_ms),
            Strategy::ExponentialDelay(s) => s.on_failure(now_ms, chosen_delay_ms),
        };
        let (delay, merged) = match answer {
            Answer::Refused(why) => return Decision::GiveUp { why },
            Answer::New(delay) => {
                self.granted = self.granted.saturating_add(1);
                (delay, false)
            }
            Answer::Merged(delay) => (delay, true),
        };
        Decision::Restart {
            attempt: self.granted,
            delay,
            merged,
        }
    }
}

/// `fixed-delay`: every failure increments a counter; restart while
/// `counter <= attempts`, always after the same delay.
#[derive(Debug, Clone)]
struct FixedDelay {
    attempts: u32,
    delay_ms: u64,
    failures: u32,
}

impl FixedDelay {
    fn on_failure(&mut self) -> Answer {
        self.failures = self.failures.saturating_add(1);
        if self.failures <= self.attempts {
            return Answer::New(DelayRange::exactly(self.delay_ms));
        }
        let why = format!(
            "fixed-delay allows {} restarts and this is failure {}",
            self.attempts, self.failures
        );
        Answer::Refused(why)
    }
}

/// `failure-rate`: keep the times of the last `max` failures; restart if
/// fewer than `max` are kept, or if the oldest kept is more than `interval`
/// before this one. So more than `max` failures in any window of length
/// `interval`, both ends included, are refused.
#[derive(Debug, Clone)]
struct FailureRate {
    max: u32,
    interval_ms: u64,
    delay_ms: u64,
    /// Oldest first, at most `max`.
    kept: VecDeque<u64>,
}

impl FailureRate {
    fn on_failure(&mut self, now_ms: u64) -> Answer {
        let full = self.kept.len() >= self.max as usize;
        let oldest = self.kept.front().copied();
        let allowed = match oldest {
            _ if !full => true,
            Some(oldest) => now_ms.saturating_sub(oldest) > self.interval_ms,
            None => false, // max = 0: nothing is ever allowed
        };
        self.kept.push_back(now_ms);
        while self.kept.len() > self.max as usize {
            self.kept.pop_front();
        }
        if allowed {
            return Answer::New(DelayRange::exactly(self.delay_ms));
        }
        let why = format!(
            "failure-rate allows {} failures per {}ms, and this one at {now_ms}ms makes {} \
             since {}ms",
            self.max,
            self.interval_ms,
            u64::from(self.max) + 1,
            oldest.unwrap_or(now_ms)
        );
        Answer::Refused(why)
    }
}

/// `exponential-delay`, after the reference's pseudo-code:
///
/// ```text
/// on failure at now:
///   if now <= next_restart_at: return            # merged with the pending restart
///   if now - next_restart_at >= reset_threshold: attempt = 0
///   backoff = initial * multiplier^attempt       # truncated to whole ms
///   j = floor(backoff * jitter)
///   backoff = max(initial, min(backoff + uniform[-j, +j], max))
///   next_restart_at = now + backoff; attempt += 1
/// can_restart = attempt <= attempts_before_reset
/// delay = max(0, next_restart_at - now)
/// ```
#[derive(Debug, Clone)]
struct ExponentialDelay {
    initial_ms: u64,
    max_ms: u64,
    multiplier: f64,
    jitter: f64,
    reset_ms: u64,
    /// `None` is unlimited.
    attempts_before_reset: Option<u32>,
    /// Counted failures since the last reset: the backoff's exponent.
    attempt: u32,
    /// `None` before the first failure: that one never merges.
    next_restart_at: Option<u64>,
}

impl ExponentialDelay {
    fn on_failure(&mut self, now_ms: u64, chosen_delay_ms: Option<u64>) -> Answer {
        let answer = match self.next_restart_at {
            Some(next) if now_ms <= next => Answer::Merged(DelayRange::exactly(next - now_ms)),
            previous => {
                let reset = match previous {
                    None => true,
                    Some(next) => now_ms - next >= self.reset_ms,
                };
                if reset {
                    self.attempt = 0;
                }
                let range = self.backoff_range();
                let chosen = chosen_delay_ms.unwrap_or(self.unjittered());
                let backoff = chosen.clamp(range.lo_ms, range.hi_ms);
                self.next_restart_at = Some(now_ms.saturating_add(backoff));
                self.attempt = self.attempt.saturating_add(1);
                Answer::New(range)
            }
        };
        match self.attempts_before_reset {
            Some(limit) if self.attempt > limit => Answer::Refused(format!(
                "exponential-delay allows {limit} attempts before its backoff resets, and \
                 this is attempt {}",
                self.attempt
            )),
            _ => answer,
        }
    }

    /// `initial * multiplier^attempt`, truncated to whole ms (1000 × 1.2³
    /// is 1727.999… in floating point, so 1727), saturating.
    fn raw_backoff(&self) -> u64 {
        let exponent = f64::from(self.attempt);
        // A float-to-int `as` saturates (and infinity becomes u64::MAX).
        (self.initial_ms as f64 * self.multiplier.powf(exponent)) as u64
    }

    fn bounded(&self, backoff: u64) -> u64 {
        backoff.min(self.max_ms).max(self.initial_ms)
    }

    /// Every backoff the jitter can give, before the attempt is counted.
    fn backoff_range(&self) -> DelayRange {
        let b = self.raw_backoff();
        let j = (b as f64 * self.jitter).floor() as u64;
        DelayRange {
            lo_ms: self.bounded(b.saturating_sub(j)),
            hi_ms: self.bounded(b.saturating_add(j)),
        }
    }

    fn unjittered(&self) -> u64 {
        self.bounded(self.raw_backoff())
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests;
