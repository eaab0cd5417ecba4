//! `[restart]`: a Flink restart strategy and its parameters (docs/flink-semantics.md),
//! with Flink's defaults but delays scaled for simulation.

use super::raw::{RawRestart, RawStrategy};
use super::validate::Ctx;
use super::ScenarioError;
use flinch_engine::config::RestartConfig;
use std::ops::Range;
use std::time::Duration;
use toml::Spanned;

const DELAY: Duration = Duration::from_millis(50);
const FAILURE_RATE_INTERVAL: Duration = Duration::from_secs(1);
const INITIAL_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(1);
const MULTIPLIER: f64 = 1.5;
const JITTER: f64 = 0.1;
const RESET_BACKOFF_THRESHOLD: Duration = Duration::from_secs(10);

pub(super) fn restart(cx: &Ctx, raw: &RawRestart) -> Result<RestartConfig, ScenarioError> {
    reject_foreign_parameters(cx, raw)?;
    Ok(match raw.strategy {
        RawStrategy::None => RestartConfig::None,
        RawStrategy::FixedDelay => RestartConfig::FixedDelay {
            attempts: raw.attempts.as_ref().map_or(1, |a| *a.get_ref()),
            delay: cx.duration(&raw.delay, DELAY),
        },
        RawStrategy::FailureRate => RestartConfig::FailureRate {
            max_failures_per_interval: cx.count(
                &raw.max_failures_per_interval,
                "restart.max_failures_per_interval",
                1,
            )?,
            interval: cx.positive_duration(
                &raw.interval,
                "restart.interval",
                FAILURE_RATE_INTERVAL,
            )?,
            delay: cx.duration(&raw.delay, DELAY),
        },
        RawStrategy::ExponentialDelay => exponential_delay(cx, raw)?,
    })
}

fn exponential_delay(cx: &Ctx, raw: &RawRestart) -> Result<RestartConfig, ScenarioError> {
    let multiplier = number(&raw.multiplier, MULTIPLIER);
    if let Some(m) = raw
        .multiplier
        .as_ref()
        .filter(|_| !multiplier.is_finite() || multiplier < 1.0)
    {
        let message = format!("must be at least 1 (a backoff never shrinks), got {multiplier}");
        return Err(cx.error(m.span(), "restart.multiplier", message));
    }
    let jitter = number(&raw.jitter, JITTER);
    if let Some(j) = raw
        .jitter
        .as_ref()
        .filter(|_| !(0.0..=1.0).contains(&jitter))
    {
        let message = format!("must be between 0 and 1, got {jitter}");
        return Err(cx.error(j.span(), "restart.jitter", message));
    }
    let initial_backoff = cx.duration(&raw.initial_backoff, INITIAL_BACKOFF);
    let max_backoff = cx.duration(&raw.max_backoff, MAX_BACKOFF);
    if initial_backoff > max_backoff {
        let (span, field) = match (&raw.max_backoff, &raw.initial_backoff) {
            (Some(max), _) => (max.span(), "restart.max_backoff"),
            (None, Some(initial)) => (initial.span(), "restart.initial_backoff"),
            (None, None) => unreachable!("the default initial backoff is within the maximum"),
        };
        let message = format!(
            "max_backoff ({max_backoff:?}) must not be shorter than initial_backoff ({initial_backoff:?})"
        );
        return Err(cx.error(span, field, message));
    }
    Ok(RestartConfig::ExponentialDelay {
        initial_backoff,
        max_backoff,
        multiplier,
        jitter,
        reset_backoff_threshold: cx.duration(&raw.reset_backoff_threshold, RESET_BACKOFF_THRESHOLD),
        attempts: raw.attempts.as_ref().map(|a| *a.get_ref()),
    })
}

fn number(value: &Option<Spanned<f64>>, default: f64) -> f64 {
    value.as_ref().map_or(default, |v| *v.get_ref())
}

/// The parameters `strategy` takes, in Flink's order.
fn parameters(strategy: RawStrategy) -> &'static [&'static str] {
    match strategy {
        RawStrategy::None => &[],
        RawStrategy::FixedDelay => &["attempts", "delay"],
        RawStrategy::FailureRate => &["max_failures_per_interval", "interval", "delay"],
        RawStrategy::ExponentialDelay => &[
            "initial_backoff",
            "max_backoff",
            "multiplier",
            "jitter",
            "reset_backoff_threshold",
            "attempts",
        ],
    }
}

fn strategy_name(strategy: RawStrategy) -> &'static str {
    match strategy {
        RawStrategy::None => "none",
        RawStrategy::FixedDelay => "fixed-delay",
        RawStrategy::FailureRate => "failure-rate",
        RawStrategy::ExponentialDelay => "exponential-delay",
    }
}

/// Every parameter the file sets, with its span, in file order.
fn present(raw: &RawRestart) -> Vec<(&'static str, Range<usize>)> {
    fn span<T>(value: &Option<Spanned<T>>) -> Option<Range<usize>> {
        value.as_ref().map(Spanned::span)
    }
    let mut present: Vec<_> = [
        ("attempts", span(&raw.attempts)),
        ("delay", span(&raw.delay)),
        (
            "max_failures_per_interval",
            span(&raw.max_failures_per_interval),
        ),
        ("interval", span(&raw.interval)),
        ("initial_backoff", span(&raw.initial_backoff)),
        ("max_backoff", span(&raw.max_backoff)),
        ("multiplier", span(&raw.multiplier)),
        ("jitter", span(&raw.jitter)),
        (
            "reset_backoff_threshold",
            span(&raw.reset_backoff_threshold),
        ),
    ]
    .into_iter()
    .filter_map(|(name, span)| Some((name, span?)))
    .collect();
    present.sort_by_key(|(_, span)| span.start);
    present
}

fn reject_foreign_parameters(cx: &Ctx, raw: &RawRestart) -> Result<(), ScenarioError> {
    let takes = parameters(raw.strategy);
    let Some((name, span)) = present(raw).into_iter().find(|(n, _)| !takes.contains(n)) else {
        return Ok(());
    };
    let strategy = strategy_name(raw.strategy);
    let message = if takes.is_empty() {
        format!("restart strategy \"{strategy}\" takes no parameters")
    } else {
        format!(
            "not a parameter of restart strategy \"{strategy}\"; it takes {}",
            takes.join(", ")
        )
    };
    Err(cx.error(span, format!("restart.{name}"), message))
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;

    /// A scenario with `restart` as its `[restart]` section, starting on line 4.
    fn source(restart: &str) -> String {
        format!(
            "name = \"test\"\ndescription = \"Restarts.\"\njob = {{ name = \"keyed-count\" }}\n\
             [restart]\n{restart}\n[expect]\noutcome = \"exactly-once\"\n"
        )
    }

    fn check(restart: &str) -> RestartConfig {
        match parse(&source(restart), "test.toml") {
            Ok(scenario) => scenario.config.restart,
            Err(error) => panic!("expected {restart:?} to parse, got: {error}"),
        }
    }

    fn check_error(restart: &str, expected_substring: &str) {
        crate::scenario::assert_parse_error(&source(restart), expected_substring);
    }

    #[test]
    fn each_strategy_has_flinks_defaults_scaled_for_simulation() {
        assert_eq!(check("strategy = \"none\""), RestartConfig::None);
        assert_eq!(
            check("strategy = \"fixed-delay\""),
            RestartConfig::FixedDelay {
                attempts: 1,
                delay: Duration::from_millis(50)
            }
        );
        assert_eq!(
            check("strategy = \"failure-rate\""),
            RestartConfig::FailureRate {
                max_failures_per_interval: 1,
                interval: Duration::from_secs(1),
                delay: Duration::from_millis(50)
            }
        );
        assert_eq!(
            check("strategy = \"exponential-delay\""),
            RestartConfig::ExponentialDelay {
                initial_backoff: Duration::from_millis(50),
                max_backoff: Duration::from_secs(1),
                multiplier: 1.5,
                jitter: 0.1,
                reset_backoff_threshold: Duration::from_secs(10),
                attempts: None
            }
        );
    }

    #[test]
    fn each_strategy_takes_its_parameters() {
        assert_eq!(
            check("strategy = \"fixed-delay\"\nattempts = 2\ndelay = \"1s\""),
            RestartConfig::FixedDelay {
                attempts: 2,
                delay: Duration::from_secs(1)
            }
        );
        assert_eq!(
            check("strategy = \"failure-rate\"\nmax_failures_per_interval = 3\ninterval = \"1m\"\ndelay = \"0s\""),
            RestartConfig::FailureRate {
                max_failures_per_interval: 3,
                interval: Duration::from_secs(60),
                delay: Duration::ZERO
            }
        );
        assert_eq!(
            check(
                "strategy = \"exponential-delay\"\ninitial_backoff = \"1s\"\nmax_backoff = \"10s\"\n\
                 multiplier = 2\njitter = 0\nreset_backoff_threshold = \"1h\"\nattempts = 5"
            ),
            RestartConfig::ExponentialDelay {
                initial_backoff: Duration::from_secs(1),
                max_backoff: Duration::from_secs(10),
                multiplier: 2.0,
                jitter: 0.0,
                reset_backoff_threshold: Duration::from_secs(3_600),
                attempts: Some(5)
            }
        );
    }

    #[test]
    fn parameters_of_another_strategy_are_rejected() {
        check_error(
            "strategy = \"fixed-delay\"\nattempts = 2\ninterval = \"1s\"",
            "test.toml:7: field `restart.interval`: not a parameter of restart strategy \"fixed-delay\"; it takes attempts, delay",
        );
        check_error(
            "strategy = \"none\"\ndelay = \"1s\"",
            "test.toml:6: field `restart.delay`: restart strategy \"none\" takes no parameters",
        );
        check_error(
            "strategy = \"failure-rate\"\nattempts = 2",
            "test.toml:6: field `restart.attempts`: not a parameter of restart strategy \"failure-rate\"",
        );
    }

    #[test]
    fn an_unknown_strategy_or_parameter_is_rejected() {
        check_error(
            "strategy = \"fixed\"",
            "test.toml:5: field `restart.strategy`: unknown variant `fixed`, expected one of `none`, `fixed-delay`, `failure-rate`, `exponential-delay`",
        );
        check_error(
            "strategy = \"fixed-delay\"\nrestart-attempts = 3",
            "test.toml:6: field `restart.restart-attempts`: unknown field `restart-attempts`",
        );
        check_error(
            "attempts = 3",
            "test.toml:4: field `restart.strategy`: this field is required",
        );
    }

    #[test]
    fn out_of_range_backoff_parameters_are_rejected() {
        check_error(
            "strategy = \"exponential-delay\"\nmultiplier = 0.5",
            "test.toml:6: field `restart.multiplier`: must be at least 1 (a backoff never shrinks), got 0.5",
        );
        check_error(
            "strategy = \"exponential-delay\"\njitter = 1.5",
            "test.toml:6: field `restart.jitter`: must be between 0 and 1, got 1.5",
        );
        check_error(
            "strategy = \"exponential-delay\"\njitter = -0.1",
            "test.toml:6: field `restart.jitter`: must be between 0 and 1, got -0.1",
        );
        check_error(
            "strategy = \"exponential-delay\"\ninitial_backoff = \"2s\"",
            "test.toml:6: field `restart.initial_backoff`: max_backoff (1s) must not be shorter than initial_backoff (2s)",
        );
    }

    #[test]
    fn a_zero_failure_rate_interval_or_maximum_is_rejected() {
        check_error(
            "strategy = \"failure-rate\"\ninterval = \"0s\"",
            "test.toml:6: field `restart.interval`: must be longer than 0",
        );
        check_error(
            "strategy = \"failure-rate\"\nmax_failures_per_interval = 0",
            "test.toml:6: field `restart.max_failures_per_interval`: must be at least 1, got 0",
        );
    }
}
