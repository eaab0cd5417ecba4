//! Durations as scenario files write them: `"250ms"`, `"2s"`, `"1.5s"`, `"1m"`.
//!
//! Parsed exactly, in integer nanoseconds: `"1.5s"` is 1 500 000 000 ns, not
//! whatever a float makes of it, so a scenario means the same on every machine.

use super::limits;
use serde::de::{self, Deserialize, Deserializer, Visitor};
use std::fmt;
use std::time::Duration;

const EXPECTED: &str = r#"a duration like "250ms" or "2s""#;
const NANOS_PER_SEC: u128 = 1_000_000_000;

/// A duration field of a scenario file. Its own `Deserialize` so that a bad
/// value fails inside the TOML parser, which then knows where it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SimDuration(pub Duration);

/// Parse a duration: a non-negative decimal number, then a unit (`ms`, `s`,
/// `m` or `h`), with nothing in between. The error says what was wrong.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let reject = |why: &str| Err(format!("expected {EXPECTED}, got \"{text}\"{why}"));
    if text.starts_with('-') {
        return reject(" (durations cannot be negative)");
    }
    let unit_at = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(unit_at);
    if number.is_empty() {
        return reject("");
    }
    let unit_nanos: u128 = match unit {
        "ms" => 1_000_000,
        "s" => NANOS_PER_SEC,
        "m" => 60 * NANOS_PER_SEC,
        "h" => 3_600 * NANOS_PER_SEC,
        "" => return reject(" (missing unit: ms, s, m or h)"),
        _ => return reject(" (unknown unit: use ms, s, m or h)"),
    };
    match nanos(number, unit_nanos) {
        Some(Ok(nanos)) => to_duration(nanos).map_or_else(|| reject(" (too large)"), Ok),
        Some(Err(())) => reject(" (finer than a nanosecond)"),
        None => reject(""),
    }
}

/// `number` (digits, at most one `.` with digits on both sides) times
/// `unit_nanos`; `None` when malformed or too large, `Some(Err)` when it
/// does not come to a whole number of nanoseconds.
fn nanos(number: &str, unit_nanos: u128) -> Option<Result<u128, ()>> {
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let has_point = number.contains('.');
    if whole.is_empty() || (has_point && fraction.is_empty()) || fraction.contains('.') {
        return None;
    }
    if fraction.len() > 18 {
        return Some(Err(()));
    }
    let whole: u128 = whole.parse().ok()?;
    let scale = 10u128.pow(u32::try_from(fraction.len()).ok()?);
    let fraction: u128 = if fraction.is_empty() {
        0
    } else {
        fraction.parse().ok()?
    };
    let fraction_nanos = fraction.checked_mul(unit_nanos)?;
    if fraction_nanos % scale != 0 {
        return Some(Err(()));
    }
    let total = whole
        .checked_mul(unit_nanos)?
        .checked_add(fraction_nanos / scale)?;
    Some(Ok(total))
}

fn to_duration(nanos: u128) -> Option<Duration> {
    let secs = u64::try_from(nanos / NANOS_PER_SEC).ok()?;
    let subsec = u32::try_from(nanos % NANOS_PER_SEC).ok()?;
    Some(Duration::new(secs, subsec))
}

impl<'de> Deserialize<'de> for SimDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DurationVisitor)
    }
}

struct DurationVisitor;

impl DurationVisitor {
    fn bare_number<E: de::Error>(number: impl fmt::Display) -> E {
        E::custom(format!(
            "expected {EXPECTED}, got the number {number} (durations are strings with a unit)"
        ))
    }
}

impl Visitor<'_> for DurationVisitor {
    type Value = SimDuration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(EXPECTED)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<SimDuration, E> {
        let duration = parse_duration(text).map_err(E::custom)?;
        if duration > limits::DURATION {
            let (most, why) = (limits::DURATION.as_secs(), limits::DURATION_WHY);
            return Err(E::custom(format!(
                "must be at most {most}s of simulated time, got {duration:?}: {why}"
            )));
        }
        Ok(SimDuration(duration))
    }

    fn visit_i64<E: de::Error>(self, number: i64) -> Result<SimDuration, E> {
        Err(Self::bare_number(number))
    }

    fn visit_u64<E: de::Error>(self, number: u64) -> Result<SimDuration, E> {
        Err(Self::bare_number(number))
    }

    fn visit_f64<E: de::Error>(self, number: f64) -> Result<SimDuration, E> {
        Err(Self::bare_number(number))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: Duration) {
        assert_eq!(parse_duration(text), Ok(expected), "parsing {text:?}");
    }

    fn check_rejected(text: &str, expected_substring: &str) {
        let error = parse_duration(text).expect_err(text);
        assert!(
            error.contains(expected_substring),
            "parsing {text:?}: error {error:?} does not contain {expected_substring:?}"
        );
    }

    #[test]
    fn durations_in_every_unit_parse() {
        check("250ms", Duration::from_millis(250));
        check("2s", Duration::from_secs(2));
        check("1m", Duration::from_secs(60));
        check("1h", Duration::from_secs(3_600));
        check("0s", Duration::ZERO);
    }

    #[test]
    fn fractional_durations_parse_exactly() {
        check("1.5s", Duration::from_millis(1_500));
        check("0.1s", Duration::from_millis(100));
        check("0.25ms", Duration::from_micros(250));
        check("1.000000001s", Duration::new(1, 1));
        check("0.5m", Duration::from_secs(30));
    }

    #[test]
    fn negative_empty_and_unitless_durations_are_rejected() {
        check_rejected("-1s", "durations cannot be negative");
        check_rejected("", r#"expected a duration like "250ms" or "2s", got """#);
        check_rejected("250", "missing unit");
        check_rejected("fast", r#"got "fast""#);
        check_rejected("2 s", "unknown unit");
        check_rejected("2sec", "unknown unit");
    }

    #[test]
    fn malformed_numbers_are_rejected() {
        check_rejected(".5s", r#"got ".5s""#);
        check_rejected("1.s", r#"got "1.s""#);
        check_rejected("1.2.3s", r#"got "1.2.3s""#);
        check_rejected("+1s", r#"got "+1s""#);
    }

    #[test]
    fn durations_finer_than_a_nanosecond_or_too_large_are_rejected() {
        check_rejected("0.0000000001s", "finer than a nanosecond");
        check_rejected("99999999999999999999999h", "too large");
        check_rejected("999999999999999999999999999999999999999999s", r#"got "9"#);
    }

    #[test]
    fn numbers_without_quotes_are_rejected_with_a_hint() {
        #[derive(serde::Deserialize, Debug)]
        struct Doc {
            #[allow(dead_code)]
            d: SimDuration,
        }
        let error = toml::from_str::<Doc>("d = 200").expect_err("a bare number");
        assert_eq!(
            error.message(),
            r#"expected a duration like "250ms" or "2s", got the number 200 (durations are strings with a unit)"#
        );
        let error = toml::from_str::<Doc>("d = true").expect_err("a boolean");
        assert_eq!(
            error.message(),
            r#"invalid type: boolean `true`, expected a duration like "250ms" or "2s""#
        );
    }
}
