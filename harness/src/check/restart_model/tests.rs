//! The model on the worked examples of docs/flink-semantics.md, "Restart strategies".

use super::*;

fn ms_(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// What the model decides for failures at these times (ms), jitter-free
/// choices, in the short form `"restart 1 after 50ms"`, `"merged 1 after
/// 500ms"` or `"give up"`.
fn check(config: RestartConfig, failures: &[u64]) -> Vec<String> {
    let mut model = RestartModel::new(&config);
    let short = |d: Decision| match d {
        Decision::Restart {
            attempt,
            delay,
            merged,
        } => {
            let what = if merged { "merged" } else { "restart" };
            format!("{what} {attempt} after {delay}")
        }
        Decision::GiveUp { .. } => "give up".into(),
    };
    failures
        .iter()
        .map(|&at| short(model.on_failure(at, None)))
        .collect()
}

fn fixed(attempts: u32, delay_ms: u64) -> RestartConfig {
    RestartConfig::FixedDelay {
        attempts,
        delay: ms_(delay_ms),
    }
}

fn rate(max: u32, interval_ms: u64) -> RestartConfig {
    RestartConfig::FailureRate {
        max_failures_per_interval: max,
        interval: ms_(interval_ms),
        delay: ms_(50),
    }
}

/// Exponential-delay options; `.config()` makes them a [`RestartConfig`].
#[derive(Clone, Copy)]
struct Exponential {
    initial_ms: u64,
    multiplier: f64,
    max_ms: u64,
    jitter: f64,
    reset_ms: u64,
    attempts: Option<u32>,
}

impl Exponential {
    fn config(self) -> RestartConfig {
        RestartConfig::ExponentialDelay {
            initial_backoff: ms_(self.initial_ms),
            max_backoff: ms_(self.max_ms),
            multiplier: self.multiplier,
            jitter: self.jitter,
            reset_backoff_threshold: ms_(self.reset_ms),
            attempts: self.attempts,
        }
    }
}

/// No jitter, a reset threshold of an hour, unlimited attempts.
fn exponential(initial_ms: u64, multiplier: f64, max_ms: u64) -> Exponential {
    Exponential {
        initial_ms,
        multiplier,
        max_ms,
        jitter: 0.0,
        reset_ms: 3_600_000,
        attempts: None,
    }
}

#[test]
fn none_never_restarts() {
    assert_eq!(check(RestartConfig::None, &[0]), ["give up"]);
}

#[test]
fn fixed_delay_with_n_attempts_restarts_n_times_and_refuses_failure_n_plus_1() {
    assert_eq!(
        check(fixed(3, 50), &[100, 200, 300, 400]),
        [
            "restart 1 after 50ms",
            "restart 2 after 50ms",
            "restart 3 after 50ms",
            "give up"
        ]
    );
    assert_eq!(check(fixed(0, 50), &[100]), ["give up"]);
}

#[test]
fn fixed_delay_counts_every_failure_even_in_the_same_millisecond() {
    assert_eq!(
        check(fixed(2, 10), &[5, 5, 5]),
        ["restart 1 after 10ms", "restart 2 after 10ms", "give up"]
    );
}

#[test]
fn failure_rate_refuses_more_than_max_failures_in_a_window_boundary_included() {
    assert_eq!(
        check(rate(2, 10_000), &[0, 4000, 10_000]),
        ["restart 1 after 50ms", "restart 2 after 50ms", "give up"]
    );
    assert_eq!(
        check(rate(2, 10_000), &[0, 5000, 10_001]),
        [
            "restart 1 after 50ms",
            "restart 2 after 50ms",
            "restart 3 after 50ms"
        ]
    );
}

#[test]
fn failure_rate_judges_each_failure_by_the_window_ending_at_it() {
    let found = check(rate(2, 10_000), &[0, 5000, 10_001, 15_001, 20_001]);
    assert_eq!(found[..4].iter().filter(|d| *d == "give up").count(), 0);
    assert_eq!(found[4], "give up", "10_001, 15_001 and 20_001 fall in 10s");
    assert_eq!(
        check(rate(1, 100), &[0, 100]),
        ["restart 1 after 50ms", "give up"]
    );
    assert_eq!(check(rate(0, 100), &[0]), ["give up"]);
}

#[test]
fn exponential_delay_doubles_up_to_its_maximum() {
    // Each failure comes 1ms after the previous restart was due.
    let mut at = 0;
    let mut failures = Vec::new();
    for delay in [1000, 2000, 4000, 8000, 10_000, 10_000] {
        failures.push(at);
        at += delay + 1;
    }
    assert_eq!(
        check(exponential(1000, 2.0, 10_000).config(), &failures),
        [
            "restart 1 after 1000ms",
            "restart 2 after 2000ms",
            "restart 3 after 4000ms",
            "restart 4 after 8000ms",
            "restart 5 after 10000ms",
            "restart 6 after 10000ms"
        ]
    );
}

#[test]
fn exponential_delay_truncates_the_backoff_to_whole_milliseconds() {
    let found = check(
        exponential(1000, 1.2, 60_000).config(),
        &[0, 1001, 2202, 3643],
    );
    assert_eq!(found[3], "restart 4 after 1727ms", "{found:?}");
}

#[test]
fn exponential_delay_merges_failures_up_to_and_at_the_pending_restart() {
    assert_eq!(
        check(
            exponential(1000, 1.5, 60_000).config(),
            &[0, 500, 1000, 1001]
        ),
        [
            "restart 1 after 1000ms",
            "merged 1 after 500ms",
            "merged 1 after 0ms",
            "restart 2 after 1500ms"
        ]
    );
}

#[test]
fn exponential_delay_resets_when_the_threshold_is_reached_exactly() {
    let config = Exponential {
        reset_ms: 10_000,
        ..exponential(1000, 1.5, 60_000)
    }
    .config();
    // The failure at 6002 schedules the restart at 7002.
    assert_eq!(
        check(config.clone(), &[6002, 17_002]),
        ["restart 1 after 1000ms", "restart 2 after 1000ms"]
    );
    assert_eq!(
        check(config, &[6002, 17_001]),
        ["restart 1 after 1000ms", "restart 2 after 1500ms"]
    );
}

#[test]
fn exponential_delay_refuses_counted_failure_n_plus_1_until_a_reset() {
    let config = Exponential {
        reset_ms: 10_000,
        attempts: Some(2),
        ..exponential(100, 2.0, 60_000)
    }
    .config();
    assert_eq!(
        check(config.clone(), &[0, 150, 160, 500]),
        [
            "restart 1 after 100ms",
            "restart 2 after 200ms",
            "merged 2 after 190ms",
            "give up"
        ]
    );
    // The refused failure at 500 was due at 900; 10s later the count resets
    // (the backoff's, not the restarts' numbering).
    assert_eq!(
        check(config, &[0, 150, 500, 10_900]),
        [
            "restart 1 after 100ms",
            "restart 2 after 200ms",
            "give up",
            "restart 3 after 100ms"
        ]
    );
}

#[test]
fn exponential_delay_jitter_widens_the_delay_within_initial_and_max() {
    let config = Exponential {
        jitter: 0.5,
        ..exponential(1000, 2.0, 5000)
    }
    .config();
    let mut model = RestartModel::new(&config);
    let range = |d: Decision| match d {
        Decision::Restart { delay, .. } => (delay.lo_ms, delay.hi_ms),
        Decision::GiveUp { why } => panic!("gave up: {why}"),
    };
    // 1000 ± 500, but never below the initial backoff.
    assert_eq!(range(model.on_failure(0, Some(1400))), (1000, 1500));
    // 2000 ± 1000; the choice of 1400 put the pending restart at 1400.
    assert_eq!(range(model.on_failure(1400, None)), (0, 0));
    assert_eq!(range(model.on_failure(1401, Some(2900))), (1000, 3000));
    // 4000 ± 2000, capped at 5000; a choice outside the range becomes 5000.
    assert_eq!(range(model.on_failure(4302, Some(9999))), (2000, 5000));
    assert_eq!(range(model.on_failure(9302, None)), (0, 0), "due at 9302");
    // 8000 ± 4000: from 4000 up to the cap.
    assert_eq!(range(model.on_failure(9303, None)), (4000, 5000));
}

#[test]
fn exponential_delay_saturates_instead_of_overflowing() {
    let config = exponential(1000, 10.0, 60_000).config();
    let mut model = RestartModel::new(&config);
    let mut at = 0;
    for _ in 0..400 {
        match model.on_failure(at, None) {
            Decision::Restart { delay, .. } => at += delay.hi_ms + 1,
            Decision::GiveUp { why } => panic!("gave up: {why}"),
        }
    }
    assert_eq!(
        model.on_failure(at, None),
        Decision::Restart {
            attempt: 401,
            delay: DelayRange::exactly(60_000),
            merged: false
        }
    );
}
