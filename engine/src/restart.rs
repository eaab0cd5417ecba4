//! Flink's restart strategies as a pure, synchronous state machine: every
//! failure, observed at a simulated time, gets a restart delay or a refusal.
//! Semantics and edge cases follow docs/flink-semantics.md, "Restart strategies".
//!
//! No IO, no wall clock, no OS randomness: the caller passes the time, and the
//! exponential-delay jitter comes from an RNG seeded by the caller. Times are
//! read at millisecond resolution, as Flink's clock reads them.

use std::collections::VecDeque;
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::config::RestartConfig;

/// What happens after a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestartDecision {
    /// Restart after `delay`. `attempt` counts restarts granted so far, this
    /// one included (1-based). It never goes back, not even when the
    /// exponential-delay backoff resets. A failure that merges into a pending
    /// restart reports that restart's attempt and its remaining delay.
    Restart { delay: Duration, attempt: u32 },
    /// The strategy gives up; `reason` starts with
    /// "restart strategy <name>" (name as [`RestartConfig::name`]).
    GiveUp { reason: String },
}

/// One job's restart strategy, fed every failure in time order.
#[derive(Debug, Clone)]
pub struct RestartStrategy {
    kind: Kind,
    /// Restarts granted so far (new ones, not merged failures).
    granted: u32,
}

#[derive(Debug, Clone)]
enum Kind {
    None,
    FixedDelay(FixedDelay),
    FailureRate(FailureRate),
    ExponentialDelay(ExponentialDelay),
}

/// A strategy's answer before the attempt number is attached.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    /// A new restart, counted as an attempt.
    New(Duration),
    /// The failure joins the pending restart; the remaining delay.
    Merged(Duration),
    Refused(String),
}

impl RestartStrategy {
    /// `seed` seeds the jitter RNG (only exponential-delay draws from it).
    pub fn new(config: &RestartConfig, seed: u64) -> Self {
        let kind = match config {
            RestartConfig::None => Kind::None,
            RestartConfig::FixedDelay { attempts, delay } => {
                Kind::FixedDelay(FixedDelay::new(*attempts, *delay))
            }
            RestartConfig::FailureRate {
                max_failures_per_interval,
                interval,
                delay,
            } => Kind::FailureRate(FailureRate::new(
                *max_failures_per_interval,
                *interval,
                *delay,
            )),
            RestartConfig::ExponentialDelay { .. } => {
                Kind::ExponentialDelay(ExponentialDelay::new(config, seed))
            }
        };
        RestartStrategy { kind, granted: 0 }
    }

    /// A failure observed at simulated time `now` (time since the job started).
    #[must_use = "the decision says whether and when to restart"]
    pub fn on_failure(&mut self, now: Duration) -> RestartDecision {
        let now = millis(now);
        let verdict = match &mut self.kind {
            Kind::None => Verdict::Refused("restart strategy none: no restarts allowed".into()),
            Kind::FixedDelay(s) => s.on_failure(),
            Kind::FailureRate(s) => s.on_failure(now),
            Kind::ExponentialDelay(s) => s.on_failure(now),
        };
        self.decide(verdict)
    }

    fn decide(&mut self, verdict: Verdict) -> RestartDecision {
        match verdict {
            Verdict::New(delay) => {
                self.granted = self.granted.saturating_add(1);
                RestartDecision::Restart {
                    delay,
                    attempt: self.granted,
                }
            }
            Verdict::Merged(delay) => RestartDecision::Restart {
                delay,
                attempt: self.granted,
            },
            Verdict::Refused(reason) => RestartDecision::GiveUp { reason },
        }
    }
}

/// Whole milliseconds, saturating (Flink's clock has millisecond resolution).
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// `fixed-delay`: restart while the failure counter is at most `attempts`.
#[derive(Debug, Clone)]
struct FixedDelay {
    attempts: u32,
    delay: Duration,
    failures: u64,
}

impl FixedDelay {
    fn new(attempts: u32, delay: Duration) -> Self {
        FixedDelay {
            attempts,
            delay,
            failures: 0,
        }
    }

    fn on_failure(&mut self) -> Verdict {
        self.failures = self.failures.saturating_add(1);
        if self.failures <= u64::from(self.attempts) {
            return Verdict::New(self.delay);
        }
        Verdict::Refused(format!(
            "restart strategy fixed-delay exhausted: failure {} exceeds attempts = {}",
            self.failures, self.attempts
        ))
    }
}

/// `failure-rate`: keeps the timestamps of the last `max` failures; a failure
/// is refused when `max` earlier ones lie within `interval` of it, boundary
/// included (so `max + 1` failures in one window).
#[derive(Debug, Clone)]
struct FailureRate {
    max: u32,
    interval: Duration,
    interval_ms: u64,
    delay: Duration,
    recent: VecDeque<u64>,
}

impl FailureRate {
    fn new(max: u32, interval: Duration, delay: Duration) -> Self {
        FailureRate {
            max,
            interval,
            interval_ms: millis(interval),
            delay,
            recent: VecDeque::new(),
        }
    }

    fn on_failure(&mut self, now: u64) -> Verdict {
        let allowed = self.allows(now);
        self.record(now);
        if allowed {
            return Verdict::New(self.delay);
        }
        Verdict::Refused(format!(
            "restart strategy failure-rate: {} failures within {:?} exceed \
             max_failures_per_interval = {}",
            u64::from(self.max) + 1,
            self.interval,
            self.max
        ))
    }

    /// Fewer than `max` kept, or the oldest kept is more than `interval` ago.
    /// With `max = 0` nothing is ever kept and every failure is refused.
    fn allows(&self, now: u64) -> bool {
        if self.recent.len() < self.max as usize {
            return true;
        }
        self.recent
            .front()
            .is_some_and(|&oldest| now.saturating_sub(oldest) > self.interval_ms)
    }

    /// Every failure counts, refused ones too; only the last `max` are kept.
    fn record(&mut self, now: u64) {
        if self.max == 0 {
            return;
        }
        if self.recent.len() >= self.max as usize {
            self.recent.pop_front();
        }
        self.recent.push_back(now);
    }
}

/// `exponential-delay`, the reference's pseudo-code with all times in whole
/// milliseconds.
#[derive(Debug, Clone)]
struct ExponentialDelay {
    initial_ms: u64,
    max_ms: u64,
    multiplier: f64,
    jitter: f64,
    reset_threshold_ms: u64,
    attempts: Option<u32>,
    /// Counted failures since the last backoff reset.
    attempt: u32,
    /// When the last counted failure's restart is scheduled. `None` before the
    /// first failure: Flink starts from a time far in the past so that the
    /// first failure counts, even one at time 0.
    next_restart_at: Option<u64>,
    rng: SmallRng,
}

impl ExponentialDelay {
    /// Takes the whole config so the many fields need not be passed one by
    /// one; anything but `ExponentialDelay` is a caller bug.
    fn new(config: &RestartConfig, seed: u64) -> Self {
        let RestartConfig::ExponentialDelay {
            initial_backoff,
            max_backoff,
            multiplier,
            jitter,
            reset_backoff_threshold,
            attempts,
        } = config
        else {
            unreachable!("ExponentialDelay::new is only called for exponential-delay configs")
        };
        ExponentialDelay {
            initial_ms: millis(*initial_backoff),
            max_ms: millis(*max_backoff),
            multiplier: *multiplier,
            jitter: *jitter,
            reset_threshold_ms: millis(*reset_backoff_threshold),
            attempts: *attempts,
            attempt: 0,
            next_restart_at: None,
            rng: SmallRng::seed_from_u64(seed),
        }
    }

    fn on_failure(&mut self, now: u64) -> Verdict {
        match self.next_restart_at {
            // Failures while a restart is pending count once, the boundary included.
            Some(next) if now <= next => {
                return self.verdict(Verdict::Merged(delay_ms(next - now)))
            }
            Some(next) if now - next >= self.reset_threshold_ms => self.attempt = 0,
            _ => {}
        }
        let backoff = self.backoff();
        self.next_restart_at = Some(now.saturating_add(backoff));
        self.attempt = self.attempt.saturating_add(1);
        self.verdict(Verdict::New(delay_ms(backoff)))
    }

    /// `initial * multiplier^attempt`, truncated to whole milliseconds, then
    /// jittered and bounded to `[initial, max]`.
    fn backoff(&mut self) -> u64 {
        let exact = self.initial_ms as f64 * self.multiplier.powf(f64::from(self.attempt));
        // `as` truncates towards zero and saturates (infinity -> u64::MAX, NaN -> 0).
        let backoff = exact as u64;
        let offset = self.jitter_offset(backoff);
        let jittered = (i128::from(backoff) + offset)
            .min(i128::from(self.max_ms))
            .max(i128::from(self.initial_ms));
        u64::try_from(jittered).expect("bounded by max(initial, min(_, max)), both u64 values")
    }

    /// `uniform[-j, +j]` over whole milliseconds, `j = floor(backoff * jitter)`.
    /// Draws from the RNG only when `j > 0`.
    fn jitter_offset(&mut self, backoff: u64) -> i128 {
        let j = i128::from((backoff as f64 * self.jitter) as u64);
        if j == 0 {
            return 0;
        }
        self.rng.gen_range(-j..=j)
    }

    /// `can_restart = attempt <= attempts_before_reset`.
    fn verdict(&self, granted: Verdict) -> Verdict {
        match self.attempts {
            Some(limit) if self.attempt > limit => Verdict::Refused(format!(
                "restart strategy exponential-delay: attempts-before-reset-backoff = {limit} \
                 exhausted"
            )),
            _ => granted,
        }
    }
}

fn delay_ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    fn restart(delay_ms: u64, attempt: u32) -> RestartDecision {
        RestartDecision::Restart {
            delay: ms(delay_ms),
            attempt,
        }
    }

    fn give_up(reason: &str) -> RestartDecision {
        RestartDecision::GiveUp {
            reason: reason.to_string(),
        }
    }

    fn fixed(attempts: u32, delay_ms: u64) -> RestartStrategy {
        let config = RestartConfig::FixedDelay {
            attempts,
            delay: ms(delay_ms),
        };
        RestartStrategy::new(&config, 0)
    }

    fn rate(max: u32, interval_ms: u64) -> RestartStrategy {
        let config = RestartConfig::FailureRate {
            max_failures_per_interval: max,
            interval: ms(interval_ms),
            delay: ms(100),
        };
        RestartStrategy::new(&config, 0)
    }

    /// Exponential-delay options; `exp(initial, multiplier)` defaults to no
    /// jitter, max 1 min, reset threshold 1 h and unlimited attempts.
    #[derive(Clone, Copy)]
    struct Exp {
        initial_ms: u64,
        multiplier: f64,
        max_ms: u64,
        jitter: f64,
        threshold_ms: u64,
        attempts: Option<u32>,
    }

    fn exp(initial_ms: u64, multiplier: f64) -> Exp {
        Exp {
            initial_ms,
            multiplier,
            max_ms: 60_000,
            jitter: 0.0,
            threshold_ms: 3_600_000,
            attempts: None,
        }
    }

    impl Exp {
        fn max(self, max_ms: u64) -> Self {
            Exp { max_ms, ..self }
        }

        fn threshold(self, threshold_ms: u64) -> Self {
            Exp {
                threshold_ms,
                ..self
            }
        }

        fn attempts(self, attempts: u32) -> Self {
            Exp {
                attempts: Some(attempts),
                ..self
            }
        }

        fn config(self) -> RestartConfig {
            RestartConfig::ExponentialDelay {
                initial_backoff: ms(self.initial_ms),
                max_backoff: ms(self.max_ms),
                multiplier: self.multiplier,
                jitter: self.jitter,
                reset_backoff_threshold: ms(self.threshold_ms),
                attempts: self.attempts,
            }
        }

        fn start(self, seed: u64) -> RestartStrategy {
            RestartStrategy::new(&self.config(), seed)
        }
    }

    fn delays(strategy: &mut RestartStrategy, times_ms: &[u64]) -> Vec<u64> {
        times_ms
            .iter()
            .map(|&t| match strategy.on_failure(ms(t)) {
                RestartDecision::Restart { delay, .. } => millis(delay),
                RestartDecision::GiveUp { reason } => panic!("gave up at {t} ms: {reason}"),
            })
            .collect()
    }

    /// Failures each 1 ms after the pending restart, so each one counts.
    fn counted_delays(strategy: &mut RestartStrategy, n: usize) -> Vec<u64> {
        let mut now = 0;
        let mut out = Vec::new();
        for _ in 0..n {
            match strategy.on_failure(ms(now)) {
                RestartDecision::Restart { delay, .. } => {
                    out.push(millis(delay));
                    now += millis(delay) + 1;
                }
                RestartDecision::GiveUp { reason } => panic!("gave up at {now} ms: {reason}"),
            }
        }
        out
    }

    fn is_give_up(decision: &RestartDecision) -> bool {
        matches!(decision, RestartDecision::GiveUp { .. })
    }

    #[test]
    fn none_gives_up_on_every_failure() {
        let mut s = RestartStrategy::new(&RestartConfig::None, 0);
        for t in [0, 0, 5_000] {
            assert_eq!(
                s.on_failure(ms(t)),
                give_up("restart strategy none: no restarts allowed")
            );
        }
    }

    #[test]
    fn fixed_delay_refuses_failure_n_plus_one() {
        let mut s = fixed(2, 50);
        assert_eq!(s.on_failure(ms(0)), restart(50, 1));
        assert_eq!(s.on_failure(ms(1_000)), restart(50, 2));
        assert_eq!(
            s.on_failure(ms(2_000)),
            give_up("restart strategy fixed-delay exhausted: failure 3 exceeds attempts = 2")
        );
    }

    #[test]
    fn fixed_delay_counts_every_failure_even_in_the_same_millisecond() {
        let mut s = fixed(2, 50);
        assert_eq!(s.on_failure(ms(7)), restart(50, 1));
        assert_eq!(s.on_failure(ms(7)), restart(50, 2));
        assert!(is_give_up(&s.on_failure(ms(7))));
    }

    #[test]
    fn fixed_delay_keeps_a_constant_delay() {
        let mut s = fixed(5, 300);
        assert_eq!(delays(&mut s, &[0, 1, 400, 10_000, 10_001]), [300; 5]);
    }

    #[test]
    fn fixed_delay_with_zero_attempts_refuses_the_first_failure() {
        let mut s = fixed(0, 50);
        assert!(is_give_up(&s.on_failure(ms(0))));
    }

    #[test]
    fn fixed_delay_stays_exhausted_and_keeps_counting() {
        let mut s = fixed(1, 50);
        assert_eq!(s.on_failure(ms(0)), restart(50, 1));
        assert!(is_give_up(&s.on_failure(ms(10))));
        assert_eq!(
            s.on_failure(ms(1_000_000)),
            give_up("restart strategy fixed-delay exhausted: failure 3 exceeds attempts = 1")
        );
    }

    #[test]
    fn failure_rate_refuses_a_third_failure_at_the_window_boundary() {
        let mut s = rate(2, 10_000);
        assert_eq!(s.on_failure(ms(0)), restart(100, 1));
        assert_eq!(s.on_failure(ms(4_000)), restart(100, 2));
        assert_eq!(
            s.on_failure(ms(10_000)),
            give_up(
                "restart strategy failure-rate: 3 failures within 10s exceed \
                 max_failures_per_interval = 2"
            )
        );
    }

    #[test]
    fn failure_rate_allows_a_third_failure_just_past_the_window() {
        let mut s = rate(2, 10_000);
        assert_eq!(delays(&mut s, &[0, 5_000, 10_001]), [100, 100, 100]);
    }

    #[test]
    fn failure_rate_counts_every_failure_even_in_the_same_millisecond() {
        let mut s = rate(2, 10_000);
        assert_eq!(s.on_failure(ms(3)), restart(100, 1));
        assert_eq!(s.on_failure(ms(3)), restart(100, 2));
        assert!(is_give_up(&s.on_failure(ms(3))));
    }

    #[test]
    fn failure_rate_counts_refused_failures_in_the_window() {
        let mut s = rate(1, 10_000);
        assert_eq!(s.on_failure(ms(0)), restart(100, 1));
        assert!(is_give_up(&s.on_failure(ms(5_000))));
        // 12 s is more than 10 s after 0 but not after the refused 5 s.
        assert!(is_give_up(&s.on_failure(ms(12_000))));
        assert_eq!(s.on_failure(ms(22_001)), restart(100, 2));
    }

    #[test]
    fn failure_rate_window_slides_over_a_long_run() {
        let mut s = rate(2, 10_000);
        let times: Vec<u64> = (0..50).map(|i| i * 5_001).collect();
        assert_eq!(delays(&mut s, &times), vec![100; 50]);
    }

    #[test]
    fn failure_rate_with_zero_max_refuses_the_first_failure() {
        let mut s = rate(0, 10_000);
        assert!(is_give_up(&s.on_failure(ms(0))));
    }

    #[test]
    fn exponential_delay_doubles_up_to_max_one_two_four_eight_ten_ten() {
        let mut s = exp(1_000, 2.0).max(10_000).start(0);
        assert_eq!(
            counted_delays(&mut s, 6),
            [1_000, 2_000, 4_000, 8_000, 10_000, 10_000]
        );
    }

    #[test]
    fn exponential_delay_counts_a_first_failure_at_time_zero() {
        let mut s = exp(1_000, 1.5).start(0);
        assert_eq!(s.on_failure(ms(0)), restart(1_000, 1));
        assert_eq!(s.on_failure(ms(0)), restart(1_000, 1));
    }

    #[test]
    fn exponential_delay_merges_failures_while_a_restart_is_pending() {
        let mut s = exp(1_000, 1.5).start(0);
        let got: Vec<_> = [0, 500, 1_000, 1_001]
            .iter()
            .map(|&t| s.on_failure(ms(t)))
            .collect();
        let want = [
            restart(1_000, 1),
            restart(500, 1),
            restart(0, 1),
            restart(1_500, 2),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn exponential_delay_truncates_the_backoff_to_whole_milliseconds() {
        let mut s = exp(1_000, 1.2).start(0);
        assert_eq!(counted_delays(&mut s, 4), [1_000, 1_200, 1_440, 1_727]);
    }

    /// Failures at 0, 1001 and 3002 schedule restarts at 1000, 3001 and 7002.
    fn scheduled_at_7002() -> RestartStrategy {
        let mut s = exp(1_000, 2.0).threshold(10_000).start(0);
        assert_eq!(delays(&mut s, &[0, 1_001, 3_002]), [1_000, 2_000, 4_000]);
        s
    }

    #[test]
    fn exponential_delay_resets_when_the_threshold_is_reached_exactly() {
        let mut s = scheduled_at_7002();
        assert_eq!(s.on_failure(ms(17_002)), restart(1_000, 4));
    }

    #[test]
    fn exponential_delay_does_not_reset_one_millisecond_before_the_threshold() {
        let mut s = scheduled_at_7002();
        assert_eq!(s.on_failure(ms(17_001)), restart(8_000, 4));
    }

    #[test]
    fn exponential_delay_refuses_counted_failure_n_plus_one() {
        let mut s = exp(1_000, 1.5).threshold(10_000).attempts(2).start(0);
        assert_eq!(delays(&mut s, &[0, 1_001]), [1_000, 1_500]);
        assert_eq!(
            s.on_failure(ms(2_502)),
            give_up(
                "restart strategy exponential-delay: attempts-before-reset-backoff = 2 exhausted"
            )
        );
    }

    #[test]
    fn exponential_delay_merged_failures_do_not_use_up_attempts() {
        let mut s = exp(1_000, 1.5).threshold(10_000).attempts(2).start(0);
        assert_eq!(delays(&mut s, &[0, 10, 20, 1_000, 1_001, 2_000]).len(), 6);
        assert!(is_give_up(&s.on_failure(ms(2_502))));
    }

    #[test]
    fn exponential_delay_allows_restarts_again_after_a_reset() {
        let mut s = exp(1_000, 1.5).threshold(10_000).attempts(2).start(0);
        assert_eq!(delays(&mut s, &[0, 1_001]), [1_000, 1_500]);
        // Refused failure 3 at 2502 still schedules 2502 + 2250 = 4752.
        assert!(is_give_up(&s.on_failure(ms(2_502))));
        assert!(
            is_give_up(&s.on_failure(ms(3_000))),
            "merges into the refused one"
        );
        assert!(
            is_give_up(&s.on_failure(ms(14_751))),
            "one ms short of a reset"
        );
        // 14751 scheduled 14751 + 3375 = 18126; reaching the threshold resets.
        assert_eq!(s.on_failure(ms(28_126)), restart(1_000, 3));
    }

    #[test]
    fn exponential_delay_with_unlimited_attempts_never_gives_up() {
        let mut s = exp(10, 2.0).max(100).start(0);
        let got = counted_delays(&mut s, 1_000);
        assert!(got[10..].iter().all(|&d| d == 100));
    }

    #[test]
    fn exponential_delay_saturates_huge_exponents_at_max_backoff() {
        let mut s = exp(1, 1e300).max(5).start(0);
        assert_eq!(counted_delays(&mut s, 5), [1, 5, 5, 5, 5]);
    }

    #[test]
    fn exponential_delay_reads_time_at_millisecond_resolution() {
        let mut s = exp(1_000, 1.5).start(0);
        assert_eq!(s.on_failure(ms(0)), restart(1_000, 1));
        let same_ms_as_restart = ms(1_000) + Duration::from_micros(900);
        assert_eq!(s.on_failure(same_ms_as_restart), restart(0, 1));
    }

    /// 1 s x1.5 up to 20 s with 30 % jitter.
    fn jittered(seed: u64) -> RestartStrategy {
        Exp {
            jitter: 0.3,
            ..exp(1_000, 1.5).max(20_000)
        }
        .start(seed)
    }

    #[test]
    fn jitter_is_deterministic_for_a_seed() {
        let a = counted_delays(&mut jittered(42), 20);
        let b = counted_delays(&mut jittered(42), 20);
        assert_eq!(a, b);
    }

    #[test]
    fn jitter_differs_between_seeds() {
        let a = counted_delays(&mut jittered(1), 20);
        let b = counted_delays(&mut jittered(2), 20);
        assert_ne!(a, b);
    }

    #[test]
    fn jitter_stays_within_bounds_and_within_j_of_the_backoff() {
        for seed in 0..200 {
            let got = counted_delays(&mut jittered(seed), 12);
            for (attempt, &delay) in got.iter().enumerate() {
                let nominal = (1_000.0 * 1.5f64.powi(attempt as i32)) as u64;
                let j = (nominal as f64 * 0.3) as u64;
                assert!((1_000..=20_000).contains(&delay), "seed {seed}: {delay}");
                let lo = nominal.saturating_sub(j).clamp(1_000, 20_000);
                let hi = (nominal + j).clamp(1_000, 20_000);
                assert!((lo..=hi).contains(&delay), "seed {seed}: {delay}");
            }
        }
    }

    #[test]
    fn jitter_spreads_both_below_and_above_the_backoff() {
        // The third counted failure has a nominal 2250 ms and j = 675 ms.
        let third: Vec<u64> = (0..100)
            .map(|seed| counted_delays(&mut jittered(seed), 3)[2])
            .collect();
        assert!(third.iter().any(|&d| d < 2_250), "{third:?}");
        assert!(third.iter().any(|&d| d > 2_250), "{third:?}");
    }

    #[test]
    fn jitter_does_not_compound_across_attempts() {
        // The nominal backoff is recomputed from `initial`, so late attempts
        // still centre on initial * multiplier^attempt.
        let got = counted_delays(&mut jittered(7), 6);
        let nominal = (1_000.0 * 1.5f64.powi(5)) as u64;
        assert!(got[5].abs_diff(nominal) <= (nominal as f64 * 0.3) as u64);
    }

    #[test]
    fn give_up_reasons_start_with_the_strategy_name() {
        let configs = [
            RestartConfig::None,
            RestartConfig::FixedDelay {
                attempts: 0,
                delay: ms(1),
            },
            RestartConfig::FailureRate {
                max_failures_per_interval: 0,
                interval: ms(1),
                delay: ms(1),
            },
            exp(1, 2.0).attempts(0).config(),
        ];
        for config in configs {
            let prefix = format!("restart strategy {}", config.name());
            match RestartStrategy::new(&config, 0).on_failure(ms(0)) {
                RestartDecision::GiveUp { reason } => assert!(reason.starts_with(&prefix)),
                other => panic!("{}: expected a refusal, got {other:?}", config.name()),
            }
        }
    }

    #[test]
    fn fixed_delay_numbers_attempts_from_one() {
        let mut s = fixed(3, 10);
        let attempts: Vec<_> = (0..3)
            .map(|t| match s.on_failure(ms(t)) {
                RestartDecision::Restart { attempt, .. } => attempt,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(attempts, [1, 2, 3]);
    }
}
