//! `[restart]`: a Flink restart strategy and its parameters (docs/flink-semantics.md),
//! with Flink's defaults but delays scaled for simulation.
//!
//! A configuration loads exactly when Flink 2.3 would accept it. Every
//! parameter goes through the `checkArgument`s of Flink's strategy
//! constructors, in their order, and a refusal quotes Flink's message after
//! flinch's own words for the field. The rules, and where Flink states them
//! (paths under `flink-runtime/src/main/java/org/apache/flink/runtime/
//! executiongraph/failover/`, lines as of Flink 2.3):
//!
//! | strategy | rule | Flink |
//! |---|---|---|
//! | fixed-delay | `attempts >= 0` | `FixedDelayRestartBackoffTimeStrategy.java:41-43` |
//! | fixed-delay | `delay >= 0` ms | `FixedDelayRestartBackoffTimeStrategy.java:44-45` |
//! | failure-rate | `max_failures_per_interval > 0` | `FailureRateRestartBackoffTimeStrategy.java:50-52` |
//! | failure-rate | `interval > 0` ms | `FailureRateRestartBackoffTimeStrategy.java:53` |
//! | failure-rate | `delay >= 0` ms | `FailureRateRestartBackoffTimeStrategy.java:54` |
//! | exponential-delay | `initial_backoff >= 1` ms | `ExponentialDelayRestartBackoffTimeStrategy.java:71` |
//! | exponential-delay | `max_backoff >= 1` ms | `ExponentialDelayRestartBackoffTimeStrategy.java:72` |
//! | exponential-delay | `initial_backoff <= max_backoff` | `ExponentialDelayRestartBackoffTimeStrategy.java:73-75` |
//! | exponential-delay | `multiplier > 1` | `ExponentialDelayRestartBackoffTimeStrategy.java:76` |
//! | exponential-delay | `reset_backoff_threshold >= 1` ms | `ExponentialDelayRestartBackoffTimeStrategy.java:77-79` |
//! | exponential-delay | `0 <= jitter <= 1` | `ExponentialDelayRestartBackoffTimeStrategy.java:80-81` |
//! | exponential-delay | `attempts >= 1` | `ExponentialDelayRestartBackoffTimeStrategy.java:82-84` |
//!
//! Each strategy's `createFactory` reads durations with `Duration.toMillis()`,
//! so the rules apply to whole milliseconds: `"0.5ms"` is 0 ms, and a
//! backoff of `"0.5ms"` is refused as Flink refuses it. A negative delay
//! cannot be written at all (durations are never negative), as in Flink's
//! own duration syntax. Counts are Java `int`s in Flink's options
//! (`intType()` in `flink-core/.../configuration/RestartStrategyOptions.java`),
//! durations Java `long` milliseconds, so larger values are refused too.
//!
//! flinch refuses one value Flink takes: an infinite `multiplier`, because
//! every number in a loaded scenario is finite, so that it prints back as a
//! file (`crate::plan`) and as JSON.

use super::raw::{RawRestart, RawStrategy};
use super::validate::Ctx;
use super::ScenarioError;
use flinch_engine::config::RestartConfig;
use std::fmt;
use std::ops::Range;
use std::time::Duration;
use toml::Spanned;

// Defaults: Flink's, from `RestartStrategyOptions.java` (Flink 2.3, the
// line of each `defaultValue`), with delays scaled for simulation. The
// exponential-delay ones are also the engine's `RestartConfig::default()`,
// the strategy of a scenario without `[restart]`; a test holds them equal.
/// fixed-delay and failure-rate `delay`; Flink: 1 s (lines 174, 218).
const DELAY: Duration = Duration::from_millis(50);
/// Flink: 1 min (line 205).
const FAILURE_RATE_INTERVAL: Duration = Duration::from_secs(1);
/// Flink: 1 s (line 231).
const INITIAL_BACKOFF: Duration = Duration::from_millis(50);
/// Flink: 1 min (line 244).
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// Flink: 1.5, unscaled (line 259).
const MULTIPLIER: f64 = 1.5;
/// Flink: 0.1, unscaled (line 290).
const JITTER: f64 = 0.1;
/// Flink: 1 h (line 275).
const RESET_BACKOFF_THRESHOLD: Duration = Duration::from_secs(10);
/// fixed-delay `attempts` and failure-rate `max_failures_per_interval`;
/// Flink: 1 (lines 162, 192). exponential-delay's `attempts` is unlimited
/// by default (Flink: `Integer.MAX_VALUE`, line 305).
const COUNT: u32 = 1;

/// The largest count Flink's `int` options hold (`intType()`, lines 161,
/// 191 and 304).
const JAVA_INT_MAX: u32 = i32::MAX.unsigned_abs();
/// The longest duration Flink holds, in milliseconds (a Java `long`).
const JAVA_LONG_MAX_MS: u128 = i64::MAX.unsigned_abs() as u128;

/// One of Flink's `checkArgument`s on a strategy's parameters: what the
/// parameter must be, in flinch's words, and Flink's message verbatim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rule {
    requirement: &'static str,
    flink: &'static str,
}

/// `FixedDelayRestartBackoffTimeStrategy.java:41-43`.
const FIXED_DELAY_ATTEMPTS: Rule = Rule {
    requirement: "must be at least 0",
    flink: "Maximum number of restart attempts must be at least 0.",
};
/// `FailureRateRestartBackoffTimeStrategy.java:50-52`.
const MAX_FAILURES_PER_INTERVAL: Rule = Rule {
    requirement: "must be greater than 0",
    flink: "Maximum number of restart attempts per time unit must be greater than 0.",
};
/// `FailureRateRestartBackoffTimeStrategy.java:53`.
const FAILURES_INTERVAL: Rule = Rule {
    requirement: "must be greater than 0 ms",
    flink: "Failures interval must be greater than 0 ms.",
};
/// `ExponentialDelayRestartBackoffTimeStrategy.java:71`.
const INITIAL_BACKOFF_AT_LEAST_1: Rule = Rule {
    requirement: "must be at least 1 ms",
    flink: "Initial backoff must be at least 1.",
};
/// `ExponentialDelayRestartBackoffTimeStrategy.java:72`.
const MAX_BACKOFF_AT_LEAST_1: Rule = Rule {
    requirement: "must be at least 1 ms",
    flink: "Maximum backoff must be at least 1.",
};
/// `ExponentialDelayRestartBackoffTimeStrategy.java:73-75`.
const INITIAL_NOT_ABOVE_MAX: Rule = Rule {
    requirement: "restart.initial_backoff cannot be higher than restart.max_backoff",
    flink: "Initial backoff cannot be higher than maximum backoff.",
};
/// `ExponentialDelayRestartBackoffTimeStrategy.java:76`.
const MULTIPLIER_ABOVE_1: Rule = Rule {
    requirement: "must be greater than 1",
    flink: "Backoff multiplier must be greater than 1.",
};
/// `ExponentialDelayRestartBackoffTimeStrategy.java:77-79`.
const RESET_THRESHOLD_AT_LEAST_1: Rule = Rule {
    requirement: "must be at least 1 ms",
    flink: "Threshold duration for exponential backoff reset must be at least 1.",
};
/// `ExponentialDelayRestartBackoffTimeStrategy.java:80-81`.
const JITTER_FACTOR: Rule = Rule {
    requirement: "must be >= 0 and <= 1",
    flink: "Jitter factor must be >= 0 and <= 1.",
};
/// `ExponentialDelayRestartBackoffTimeStrategy.java:82-84`.
const ATTEMPTS_BEFORE_RESET: Rule = Rule {
    requirement: "must be at least 1",
    flink: "The attemptsBeforeResetBackoff must be at least 1.",
};

/// A value refused: the parameters it is about, in the order to report
/// them (the first one the file sets is the one reported), and why.
#[derive(Debug, Clone, PartialEq)]
struct Refusal {
    parameters: &'static [&'static str],
    message: String,
}

impl Refusal {
    /// A refusal by one of Flink's rules.
    fn flink(parameters: &'static [&'static str], rule: Rule, got: impl fmt::Display) -> Self {
        Refusal {
            parameters,
            message: flink_message(rule, got),
        }
    }
}

/// `rule` broken by the value `got`: flinch's words, then Flink's.
fn flink_message(rule: Rule, got: impl fmt::Display) -> String {
    format!(
        "{}, got {got} (Flink: \"{}\")",
        rule.requirement, rule.flink
    )
}

/// The `[restart]` section as a [`RestartConfig`], or the first of Flink's
/// rules it breaks, on the line of the parameter that breaks it.
pub(super) fn restart(cx: &Ctx, raw: &RawRestart) -> Result<RestartConfig, ScenarioError> {
    reject_foreign_parameters(cx, raw)?;
    let config = match *raw.strategy.get_ref() {
        RawStrategy::None => RestartConfig::None,
        RawStrategy::FixedDelay => RestartConfig::FixedDelay {
            attempts: count(cx, &raw.attempts, "attempts", FIXED_DELAY_ATTEMPTS)?.unwrap_or(COUNT),
            delay: cx.duration(&raw.delay, DELAY),
        },
        RawStrategy::FailureRate => RestartConfig::FailureRate {
            max_failures_per_interval: count(
                cx,
                &raw.max_failures_per_interval,
                "max_failures_per_interval",
                MAX_FAILURES_PER_INTERVAL,
            )?
            .unwrap_or(COUNT),
            interval: cx.duration(&raw.interval, FAILURE_RATE_INTERVAL),
            delay: cx.duration(&raw.delay, DELAY),
        },
        RawStrategy::ExponentialDelay => RestartConfig::ExponentialDelay {
            initial_backoff: cx.duration(&raw.initial_backoff, INITIAL_BACKOFF),
            max_backoff: cx.duration(&raw.max_backoff, MAX_BACKOFF),
            multiplier: number(&raw.multiplier, MULTIPLIER),
            jitter: number(&raw.jitter, JITTER),
            reset_backoff_threshold: cx
                .duration(&raw.reset_backoff_threshold, RESET_BACKOFF_THRESHOLD),
            attempts: count(cx, &raw.attempts, "attempts", ATTEMPTS_BEFORE_RESET)?,
        },
    };
    match refusal(&config) {
        None => Ok(config),
        Some(refusal) => {
            let present = present(raw);
            let (name, span) = refusal
                .parameters
                .iter()
                .find_map(|p| present.iter().find(|(name, _)| name == p))
                .cloned()
                .unwrap_or(("strategy", raw.strategy.span()));
            Err(cx.error(span, format!("restart.{name}"), refusal.message))
        }
    }
}

/// The count `restart.<name>` as written: a TOML integer that must fit
/// Flink's Java `int`; below 0, Flink's `rule` for the parameter refuses it
/// (a count of 0 is left to [`refusal`], which knows whether 0 is allowed).
fn count(
    cx: &Ctx,
    value: &Option<Spanned<i64>>,
    name: &str,
    rule: Rule,
) -> Result<Option<u32>, ScenarioError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let field = format!("restart.{name}");
    let got = *value.get_ref();
    if got < 0 {
        return Err(cx.error(value.span(), field, flink_message(rule, got)));
    }
    match u32::try_from(got) {
        Ok(n) if n <= JAVA_INT_MAX => Ok(Some(n)),
        _ => Err(cx.error(value.span(), field, too_large_int(got))),
    }
}

fn too_large_int(got: impl fmt::Display) -> String {
    format!("must be at most {JAVA_INT_MAX} (Flink reads it as a Java int), got {got}")
}

/// The first rule of Flink's (or flinch's limits) that `config` breaks, in
/// the order Flink's constructor checks them; `None` when Flink accepts it.
fn refusal(config: &RestartConfig) -> Option<Refusal> {
    match config {
        RestartConfig::None => None,
        RestartConfig::FixedDelay { attempts, delay } => {
            java_int(&["attempts"], *attempts).or_else(|| java_long_ms(&["delay"], *delay))
        }
        RestartConfig::FailureRate {
            max_failures_per_interval,
            interval,
            delay,
        } => {
            const MAX: &[&str] = &["max_failures_per_interval"];
            if *max_failures_per_interval == 0 {
                return Some(Refusal::flink(MAX, MAX_FAILURES_PER_INTERVAL, 0));
            }
            java_int(MAX, *max_failures_per_interval)
                .or_else(|| at_least_1_ms(&["interval"], FAILURES_INTERVAL, *interval))
                .or_else(|| java_long_ms(&["interval"], *interval))
                .or_else(|| java_long_ms(&["delay"], *delay))
        }
        RestartConfig::ExponentialDelay {
            initial_backoff,
            max_backoff,
            multiplier,
            jitter,
            reset_backoff_threshold,
            attempts,
        } => exponential_delay(
            *initial_backoff,
            *max_backoff,
            *multiplier,
            *jitter,
            *reset_backoff_threshold,
            *attempts,
        ),
    }
}

fn exponential_delay(
    initial_backoff: Duration,
    max_backoff: Duration,
    multiplier: f64,
    jitter: f64,
    reset_backoff_threshold: Duration,
    attempts: Option<u32>,
) -> Option<Refusal> {
    const INITIAL: &[&str] = &["initial_backoff"];
    const MAX: &[&str] = &["max_backoff"];
    const BOTH: &[&str] = &["initial_backoff", "max_backoff"];
    const MULTIPLIER: &[&str] = &["multiplier"];
    const RESET: &[&str] = &["reset_backoff_threshold"];
    let initial_ms = initial_backoff.as_millis();
    let max_ms = max_backoff.as_millis();
    at_least_1_ms(INITIAL, INITIAL_BACKOFF_AT_LEAST_1, initial_backoff)
        .or_else(|| java_long_ms(INITIAL, initial_backoff))
        .or_else(|| at_least_1_ms(MAX, MAX_BACKOFF_AT_LEAST_1, max_backoff))
        .or_else(|| java_long_ms(MAX, max_backoff))
        .or_else(|| {
            let got = format!("{} > {}", shown(initial_backoff), shown(max_backoff));
            (initial_ms > max_ms).then(|| Refusal::flink(BOTH, INITIAL_NOT_ABOVE_MAX, got))
        })
        // Flink's `m > 1` is false for NaN too.
        .or_else(|| {
            (multiplier.is_nan() || multiplier <= 1.0)
                .then(|| Refusal::flink(MULTIPLIER, MULTIPLIER_ABOVE_1, multiplier))
        })
        .or_else(|| {
            (!multiplier.is_finite()).then(|| Refusal {
                parameters: MULTIPLIER,
                message: format!(
                    "must be finite, got {multiplier} (Flink would take it; flinch keeps every \
                     number of a scenario finite, so that it prints back as a file)"
                ),
            })
        })
        .or_else(|| at_least_1_ms(RESET, RESET_THRESHOLD_AT_LEAST_1, reset_backoff_threshold))
        .or_else(|| java_long_ms(RESET, reset_backoff_threshold))
        .or_else(|| {
            (!(0.0..=1.0).contains(&jitter))
                .then(|| Refusal::flink(&["jitter"], JITTER_FACTOR, jitter))
        })
        .or_else(|| match attempts {
            Some(0) => Some(Refusal::flink(&["attempts"], ATTEMPTS_BEFORE_RESET, 0)),
            Some(n) => java_int(&["attempts"], n),
            None => None,
        })
}

/// Flink's rules on durations are on whole milliseconds (`toMillis()`).
fn at_least_1_ms(
    parameters: &'static [&'static str],
    rule: Rule,
    value: Duration,
) -> Option<Refusal> {
    (value.as_millis() < 1).then(|| Refusal::flink(parameters, rule, shown(value)))
}

fn java_long_ms(parameters: &'static [&'static str], value: Duration) -> Option<Refusal> {
    (value.as_millis() > JAVA_LONG_MAX_MS).then(|| Refusal {
        parameters,
        message: format!(
            "must be at most {JAVA_LONG_MAX_MS} ms (Flink holds it as a Java long), got {}",
            shown(value)
        ),
    })
}

fn java_int(parameters: &'static [&'static str], value: u32) -> Option<Refusal> {
    (value > JAVA_INT_MAX).then(|| Refusal {
        parameters,
        message: too_large_int(value),
    })
}

/// A duration as the file may have written it; a fraction of a millisecond
/// is also shown as the whole milliseconds Flink reads.
fn shown(d: Duration) -> String {
    let text = crate::plan::duration(d).trim_matches('"').to_owned();
    if d.subsec_nanos().is_multiple_of(1_000_000) {
        text
    } else {
        format!("{text} ({} ms in whole milliseconds)", d.as_millis())
    }
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
    let strategy = *raw.strategy.get_ref();
    let takes = parameters(strategy);
    let Some((name, span)) = present(raw).into_iter().find(|(n, _)| !takes.contains(n)) else {
        return Ok(());
    };
    let strategy = strategy_name(strategy);
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

    fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    /// exponential-delay with every parameter at its default but `change`.
    fn exponential(change: impl FnOnce(&mut RestartConfig)) -> RestartConfig {
        let mut config = RestartConfig::default();
        change(&mut config);
        config
    }

    #[test]
    fn each_strategy_has_flinks_defaults_scaled_for_simulation() {
        assert_eq!(check("strategy = \"none\""), RestartConfig::None);
        assert_eq!(
            check("strategy = \"fixed-delay\""),
            RestartConfig::FixedDelay {
                attempts: 1,
                delay: ms(50)
            }
        );
        assert_eq!(
            check("strategy = \"failure-rate\""),
            RestartConfig::FailureRate {
                max_failures_per_interval: 1,
                interval: Duration::from_secs(1),
                delay: ms(50)
            }
        );
        assert_eq!(
            check("strategy = \"exponential-delay\""),
            RestartConfig::ExponentialDelay {
                initial_backoff: ms(50),
                max_backoff: Duration::from_secs(1),
                multiplier: 1.5,
                jitter: 0.1,
                reset_backoff_threshold: Duration::from_secs(10),
                attempts: None
            }
        );
    }

    /// Flink's default with checkpointing on, and flinch always checkpoints.
    #[test]
    fn without_a_restart_section_the_strategy_is_exponential_delay_with_its_defaults() {
        let text =
            "name = \"test\"\ndescription = \"Restarts.\"\njob = { name = \"keyed-count\" }\n\
                    [expect]\noutcome = \"exactly-once\"\n";
        let scenario = parse(text, "test.toml").expect("a minimal scenario parses");
        assert_eq!(scenario.config.restart, RestartConfig::default());
        assert_eq!(
            check("strategy = \"exponential-delay\""),
            RestartConfig::default()
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

    /// `RestartStrategyOptions.RestartStrategyType` (Flink 2.3,
    /// `RestartStrategyOptions.java:70-73`).
    #[test]
    fn flinks_aliases_name_the_same_strategies() {
        for (alias, name) in [
            ("off", "none"),
            ("disable", "none"),
            ("fixeddelay", "fixed-delay"),
            ("failurerate", "failure-rate"),
            ("exponentialdelay", "exponential-delay"),
        ] {
            assert_eq!(
                check(&format!("strategy = \"{alias}\"")),
                check(&format!("strategy = \"{name}\"")),
                "{alias}"
            );
        }
        assert_eq!(
            check("strategy = \"fixeddelay\"\nattempts = 3"),
            RestartConfig::FixedDelay {
                attempts: 3,
                delay: ms(50)
            }
        );
        check_error(
            "strategy = \"off\"\nattempts = 3",
            "test.toml:6: field `restart.attempts`: restart strategy \"none\" takes no parameters",
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
            "test.toml:5: field `restart.strategy`: unknown variant `fixed`, expected one of `disable`, `none`, `off`, `fixed-delay`, `fixeddelay`, `failure-rate`, `failurerate`, `exponential-delay`, `exponentialdelay`",
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

    /// The four configurations issue 9 found accepted, each refused with
    /// Flink's message, on the line of the parameter.
    #[test]
    fn exponential_delay_refuses_what_flinks_constructor_refuses() {
        let e = "strategy = \"exponential-delay\"\n";
        for (restart, expected) in [
            (
                "attempts = 0",
                "test.toml:6: field `restart.attempts`: must be at least 1, got 0 (Flink: \"The attemptsBeforeResetBackoff must be at least 1.\")",
            ),
            (
                "multiplier = 1.0",
                "test.toml:6: field `restart.multiplier`: must be greater than 1, got 1 (Flink: \"Backoff multiplier must be greater than 1.\")",
            ),
            (
                "initial_backoff = \"0s\"",
                "test.toml:6: field `restart.initial_backoff`: must be at least 1 ms, got 0s (Flink: \"Initial backoff must be at least 1.\")",
            ),
            (
                "max_backoff = \"0ms\"",
                "test.toml:6: field `restart.max_backoff`: must be at least 1 ms, got 0s (Flink: \"Maximum backoff must be at least 1.\")",
            ),
            (
                "reset_backoff_threshold = \"0s\"",
                "test.toml:6: field `restart.reset_backoff_threshold`: must be at least 1 ms, got 0s (Flink: \"Threshold duration for exponential backoff reset must be at least 1.\")",
            ),
        ] {
            check_error(&format!("{e}{restart}"), expected);
        }
    }

    #[test]
    fn exponential_delay_refuses_every_other_value_flink_refuses() {
        let e = "strategy = \"exponential-delay\"\n";
        for (restart, expected) in [
            ("attempts = -1", "field `restart.attempts`: must be at least 1, got -1 (Flink: \"The attemptsBeforeResetBackoff must be at least 1.\")"),
            ("attempts = 2147483648", "field `restart.attempts`: must be at most 2147483647 (Flink reads it as a Java int), got 2147483648"),
            ("multiplier = 1", "field `restart.multiplier`: must be greater than 1, got 1 (Flink"),
            ("multiplier = 0.5", "field `restart.multiplier`: must be greater than 1, got 0.5 (Flink"),
            ("multiplier = -inf", "field `restart.multiplier`: must be greater than 1, got -inf (Flink"),
            ("multiplier = nan", "field `restart.multiplier`: must be greater than 1, got NaN (Flink: \"Backoff multiplier must be greater than 1.\")"),
            ("jitter = 1.5", "field `restart.jitter`: must be >= 0 and <= 1, got 1.5 (Flink: \"Jitter factor must be >= 0 and <= 1.\")"),
            ("jitter = -0.1", "field `restart.jitter`: must be >= 0 and <= 1, got -0.1 (Flink"),
            ("jitter = nan", "field `restart.jitter`: must be >= 0 and <= 1, got NaN (Flink"),
            // Flink reads whole milliseconds: half of one is none.
            ("initial_backoff = \"0.5ms\"", "field `restart.initial_backoff`: must be at least 1 ms, got 0.0005s (0 ms in whole milliseconds) (Flink: \"Initial backoff must be at least 1.\")"),
            ("max_backoff = \"0.9ms\"\ninitial_backoff = \"0.9ms\"", "test.toml:7: field `restart.initial_backoff`: must be at least 1 ms"),
            ("reset_backoff_threshold = \"0.999ms\"", "field `restart.reset_backoff_threshold`: must be at least 1 ms, got 0.000999s (0 ms in whole milliseconds) (Flink"),
            ("initial_backoff = \"9223372036854775808ms\"\nmax_backoff = \"9223372036854775808ms\"", "test.toml:6: field `restart.initial_backoff`: must be at most 3600s of simulated time, got 9223372036854775.808s"),
        ] {
            check_error(&format!("{e}{restart}"), expected);
        }
    }

    #[test]
    fn an_initial_backoff_above_the_maximum_is_reported_where_it_is_written() {
        let flink = "(Flink: \"Initial backoff cannot be higher than maximum backoff.\")";
        check_error(
            "strategy = \"exponential-delay\"\ninitial_backoff = \"2s\"",
            &format!("test.toml:6: field `restart.initial_backoff`: restart.initial_backoff cannot be higher than restart.max_backoff, got 2s > 1s {flink}"),
        );
        check_error(
            "strategy = \"exponential-delay\"\nmax_backoff = \"10ms\"",
            &format!("test.toml:6: field `restart.max_backoff`: restart.initial_backoff cannot be higher than restart.max_backoff, got 50ms > 10ms {flink}"),
        );
        check_error(
            "strategy = \"exponential-delay\"\nmax_backoff = \"1s\"\ninitial_backoff = \"1001ms\"",
            "test.toml:7: field `restart.initial_backoff`",
        );
    }

    /// flinch's one limit beyond Flink's: numbers stay finite.
    #[test]
    fn an_infinite_multiplier_is_refused_as_flinchs_own_limit() {
        check_error(
            "strategy = \"exponential-delay\"\nmultiplier = inf",
            "test.toml:6: field `restart.multiplier`: must be finite, got inf (Flink would take it; flinch keeps every number of a scenario finite",
        );
    }

    /// Flink's constructor accepts these, so flinch does.
    #[test]
    fn exponential_delay_accepts_flinks_boundary_values() {
        assert_eq!(
            check(
                "strategy = \"exponential-delay\"\ninitial_backoff = \"1ms\"\nmax_backoff = \"1ms\"\n\
                 multiplier = 1.0000000000000002\njitter = 0\nreset_backoff_threshold = \"1ms\"\nattempts = 1"
            ),
            RestartConfig::ExponentialDelay {
                initial_backoff: ms(1),
                max_backoff: ms(1),
                multiplier: 1.0 + f64::EPSILON,
                jitter: 0.0,
                reset_backoff_threshold: ms(1),
                attempts: Some(1),
            }
        );
        let cases: [(&str, RestartConfig); 5] = [
            (
                "jitter = 1",
                exponential(|c| {
                    if let RestartConfig::ExponentialDelay { jitter, .. } = c {
                        *jitter = 1.0;
                    }
                }),
            ),
            (
                "attempts = 2147483647",
                exponential(|c| {
                    if let RestartConfig::ExponentialDelay { attempts, .. } = c {
                        *attempts = Some(2_147_483_647);
                    }
                }),
            ),
            (
                "initial_backoff = \"1s\"\nmax_backoff = \"1s\"",
                exponential(|c| {
                    if let RestartConfig::ExponentialDelay {
                        initial_backoff,
                        max_backoff,
                        ..
                    } = c
                    {
                        *initial_backoff = Duration::from_secs(1);
                        *max_backoff = Duration::from_secs(1);
                    }
                }),
            ),
            // 1 ms each in whole milliseconds, as Flink compares them.
            (
                "initial_backoff = \"1.5ms\"\nmax_backoff = \"1.2ms\"",
                exponential(|c| {
                    if let RestartConfig::ExponentialDelay {
                        initial_backoff,
                        max_backoff,
                        ..
                    } = c
                    {
                        *initial_backoff = Duration::from_micros(1_500);
                        *max_backoff = Duration::from_micros(1_200);
                    }
                }),
            ),
            (
                "multiplier = 1e300",
                exponential(|c| {
                    if let RestartConfig::ExponentialDelay { multiplier, .. } = c {
                        *multiplier = 1e300;
                    }
                }),
            ),
        ];
        for (restart, expected) in cases {
            assert_eq!(
                check(&format!("strategy = \"exponential-delay\"\n{restart}")),
                expected,
                "{restart}"
            );
        }
    }

    #[test]
    fn fixed_delay_refuses_negative_attempts_and_accepts_zero() {
        check_error(
            "strategy = \"fixed-delay\"\nattempts = -1",
            "test.toml:6: field `restart.attempts`: must be at least 0, got -1 (Flink: \"Maximum number of restart attempts must be at least 0.\")",
        );
        check_error(
            "strategy = \"fixed-delay\"\nattempts = 2147483648",
            "test.toml:6: field `restart.attempts`: must be at most 2147483647 (Flink reads it as a Java int), got 2147483648",
        );
        // Flink's `delay >= 0` cannot fail: no duration is negative.
        check_error(
            "strategy = \"fixed-delay\"\ndelay = \"-1s\"",
            "test.toml:6: field `restart.delay`: expected a duration like \"250ms\" or \"2s\", got \"-1s\" (durations cannot be negative)",
        );
        check_error(
            "strategy = \"fixed-delay\"\ndelay = \"9223372036854775808ms\"",
            "test.toml:6: field `restart.delay`: must be at most 3600s of simulated time",
        );
        assert_eq!(
            check("strategy = \"fixed-delay\"\nattempts = 0\ndelay = \"0s\""),
            RestartConfig::FixedDelay {
                attempts: 0,
                delay: Duration::ZERO
            }
        );
        assert_eq!(
            check("strategy = \"fixed-delay\"\nattempts = 2147483647\ndelay = \"30m\""),
            RestartConfig::FixedDelay {
                attempts: 2_147_483_647,
                // Flink takes any Java long of milliseconds; flinch's
                // limits come first: an hour for any duration, and the
                // run this delay needs must fit in an hour too.
                delay: Duration::from_secs(1_800)
            }
        );
    }

    #[test]
    fn failure_rate_refuses_no_failures_or_no_interval() {
        let f = "strategy = \"failure-rate\"\n";
        let max =
            "(Flink: \"Maximum number of restart attempts per time unit must be greater than 0.\")";
        let interval = "(Flink: \"Failures interval must be greater than 0 ms.\")";
        for (restart, expected) in [
            ("max_failures_per_interval = 0", format!("test.toml:6: field `restart.max_failures_per_interval`: must be greater than 0, got 0 {max}")),
            ("max_failures_per_interval = -3", format!("test.toml:6: field `restart.max_failures_per_interval`: must be greater than 0, got -3 {max}")),
            ("max_failures_per_interval = 2147483648", "field `restart.max_failures_per_interval`: must be at most 2147483647".to_owned()),
            ("interval = \"0s\"", format!("test.toml:6: field `restart.interval`: must be greater than 0 ms, got 0s {interval}")),
            ("interval = \"0.5ms\"", format!("test.toml:6: field `restart.interval`: must be greater than 0 ms, got 0.0005s (0 ms in whole milliseconds) {interval}")),
        ] {
            check_error(&format!("{f}{restart}"), &expected);
        }
        assert_eq!(
            check(&format!(
                "{f}max_failures_per_interval = 1\ninterval = \"1ms\"\ndelay = \"0s\""
            )),
            RestartConfig::FailureRate {
                max_failures_per_interval: 1,
                interval: ms(1),
                delay: Duration::ZERO
            }
        );
    }

    /// Every strategy's defaults, and the engine's default strategy, pass
    /// Flink's rules.
    #[test]
    fn every_default_passes_flinks_rules() {
        for strategy in ["none", "fixed-delay", "failure-rate", "exponential-delay"] {
            let config = check(&format!("strategy = \"{strategy}\""));
            assert_eq!(refusal(&config), None, "{strategy}");
        }
        assert_eq!(refusal(&RestartConfig::default()), None);
    }
}
