//! The built-in jobs beyond keyed-count (issue 11, step 5 of
//! docs/dataflow.md), as pure code the engine's task runtimes run:
//!
//! - [`windowed_sum`]: tumbling event-time windows summing a value per key,
//!   late records dropped and counted;
//! - [`dedup`]: drops records whose id was seen before;
//! - [`two_stage`]: a keyed count re-keyed by region into a second keyed
//!   stage (two aligned shuffles).
//!
//! Each job module has the same parts, all pure and deterministic:
//!
//! 1. `Params`: a struct read from the scenario's `job = { name = …, … }`
//!    table without its `name` (`serde(deny_unknown_fields)`, durations as
//!    strings like `"200ms"`), with defaults and a `validate()` that bounds
//!    every field ([`ParamError`]);
//! 2. its operators: [`flinch_engine::operator::Operator`] impls, and the
//!    stateless steps between keyed stages as plain functions;
//! 3. `generate(params, workload, seed)`: the input log, one `Vec` of
//!    engine [`Record`]s per partition (key and value postcard-encoded,
//!    `timestamp` in ms, `origin = Some((partition, offset))`);
//! 4. `watermark(params, partition, next_offset)`: the watermark (ms) a
//!    source emits after reading offsets `0..next_offset` of its partition;
//! 5. the reference model, written without calling the operators:
//!    `check_output(params, input, output)` over the committed output (in
//!    no particular order) and `check_state(params, input, offsets, vertex,
//!    state, timers)`, the consistent-cut check of a keyed vertex's
//!    restored state. Each module's docs state its exactly-once property.
//!
//! [`check_multiset`] and [`check_multiset_at_least_once`] are the generic
//! checkers for a job whose expected output is a multiset computed from
//! the input (dedup, two-stage).

pub mod dedup;
pub mod two_stage;
pub mod windowed_sum;

#[cfg(test)]
mod testing;

use flinch_engine::record::Record;
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// A job parameter outside its bound: the job, the field, the bound, the
/// value given and why the bound exists. The scenario loader adds the
/// file and line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("job `{job}`: field `{field}`: must be {bound}, got {got}: {why}")]
pub struct ParamError {
    /// The job's name, e.g. `windowed-sum`.
    pub job: &'static str,
    /// The parameter, as the scenario file spells it.
    pub field: &'static str,
    /// The bound, in words: `at least 1ms and at most 1h`.
    pub bound: String,
    /// The value given, as the file would write it.
    pub got: String,
    /// Why the bound exists.
    pub why: &'static str,
}

/// The longest duration a job parameter may hold: an hour of simulated
/// time, the bound of every duration in a scenario file
/// (`flinch_harness::scenario::limits::DURATION`).
pub const MAX_DURATION: Duration = flinch_harness::scenario::limits::DURATION;

/// A duration parameter: a string as the scenario format writes it
/// (`"250ms"`, `"1.5s"`), parsed by the scenario loader's own parser
/// ([`flinch_harness::scenario::parse_duration`]), so job parameters and
/// the rest of a scenario read durations alike.
pub(crate) fn duration<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(deserializer)?;
    flinch_harness::scenario::parse_duration(&text).map_err(serde::de::Error::custom)
}

/// `d` in whole milliseconds, or the [`ParamError`] for `field` if it is
/// not a whole number of them or lies outside `min..=max`.
pub(crate) fn millis_within(
    job: &'static str,
    field: &'static str,
    d: Duration,
    min: Duration,
    why: &'static str,
) -> Result<u64, ParamError> {
    let in_range = d >= min && d <= MAX_DURATION && d.subsec_nanos().is_multiple_of(1_000_000);
    if in_range {
        // At most an hour: 3.6 million ms fits a u64.
        return Ok(d.as_millis() as u64);
    }
    Err(ParamError {
        job,
        field,
        bound: format!(
            "a whole number of milliseconds, at least {} and at most {}",
            show(min),
            show(MAX_DURATION)
        ),
        got: show(d),
        why,
    })
}

/// A fraction in `0.0..=max`, or the [`ParamError`] for `field`.
pub(crate) fn fraction_within(
    job: &'static str,
    field: &'static str,
    value: f64,
    max: f64,
    why: &'static str,
) -> Result<(), ParamError> {
    if (0.0..=max).contains(&value) {
        return Ok(());
    }
    Err(ParamError {
        job,
        field,
        bound: format!("at least 0 and at most {max}"),
        got: value.to_string(),
        why,
    })
}

/// A duration as a scenario file writes it, to the millisecond or finer.
fn show(d: Duration) -> String {
    if d.subsec_nanos().is_multiple_of(1_000_000) {
        format!("\"{}ms\"", d.as_millis())
    } else {
        format!("\"{}ns\"", d.as_nanos())
    }
}

/// The bytes of a job's key, value or state: the engine's encoding
/// (postcard, [`flinch_engine::record::encode`]).
pub(crate) fn encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
    flinch_engine::record::encode(value).expect(
        "the jobs' keys, values and states are integers, tuples and maps: postcard encodes them",
    )
}

/// What is wrong with one output `(key, value)` of a job, as a reference
/// model found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FindingKind {
    /// Committed fewer times than the model expects (`found` may be 0).
    Missing { expected: u64, found: u64 },
    /// Committed more times than the model allows.
    Duplicated { expected: u64, found: u64 },
    /// An output the model expects in some form, with a value it cannot
    /// have (a wrong sum, count or payload).
    WrongValue,
    /// An output the input cannot have produced at all.
    Unexpected { found: u64 },
}

/// One finding of a reference model about the committed output: the
/// output record it names (its key and value bytes, as the sink holds
/// them; for a missing output, the value the model expected) and what is
/// wrong. `message` says it in words, with the key and value decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The output's key bytes.
    pub key: Vec<u8>,
    /// The output's value bytes (for a missing one: the expected value).
    pub value: Vec<u8>,
    /// What is wrong.
    pub kind: FindingKind,
    /// The finding in words.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A keyed vertex's state as a checkpoint holds it, the union over its
/// subtasks: serialized key → serialized state (postcard).
pub type KeyedState = BTreeMap<Vec<u8>, Vec<u8>>;

/// A keyed vertex's event-time timers, the union over its subtasks:
/// (time in ms, serialized key).
pub type Timers = std::collections::BTreeSet<(u64, Vec<u8>)>;

/// An expected output multiset: `(key bytes, value bytes)` → how many
/// times it must be committed.
pub type Multiset = BTreeMap<(Vec<u8>, Vec<u8>), u64>;

/// How many times each `(key, value)` occurs in `output`.
fn count(output: &[Record]) -> Multiset {
    let mut found = Multiset::new();
    for r in output {
        *found.entry((r.key.clone(), r.value.clone())).or_default() += 1;
    }
    found
}

/// The exactly-once check of a job whose expected output is a multiset
/// computed from the input: every `(key, value)` of `expected` committed
/// exactly its number of times, nothing else. Findings in `(key, value)`
/// byte order: missing (fewer), duplicated (more), unexpected (not
/// expected at all). `describe` renders a `(key, value)` for the message.
pub fn check_multiset(
    expected: Multiset,
    output: &[Record],
    describe: impl Fn(&[u8], &[u8]) -> String,
) -> Vec<Finding> {
    compare(expected, count(output), describe, false)
}

/// The at-least-once variant of [`check_multiset`]: every expected
/// `(key, value)` committed at least once (duplicates allowed), nothing
/// that is not expected. Meaningful for a job whose output values do not
/// shift when a record is processed twice (dedup: a replayed id is seen
/// again and dropped); a counting job's replays change its values.
pub fn check_multiset_at_least_once(
    expected: Multiset,
    output: &[Record],
    describe: impl Fn(&[u8], &[u8]) -> String,
) -> Vec<Finding> {
    compare(expected, count(output), describe, true)
}

fn compare(
    expected: Multiset,
    mut found: Multiset,
    describe: impl Fn(&[u8], &[u8]) -> String,
    at_least_once: bool,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for ((key, value), want) in expected {
        let got = found.remove(&(key.clone(), value.clone())).unwrap_or(0);
        let what = describe(&key, &value);
        let kind = if got < want.min(if at_least_once { 1 } else { want }) {
            let message = format!("missing: {what} was committed {got} times, expected {want}");
            Some((
                FindingKind::Missing {
                    expected: want,
                    found: got,
                },
                message,
            ))
        } else if got > want && !at_least_once {
            let message = format!("duplicated: {what} was committed {got} times, expected {want}");
            Some((
                FindingKind::Duplicated {
                    expected: want,
                    found: got,
                },
                message,
            ))
        } else {
            None
        };
        if let Some((kind, message)) = kind {
            findings.push(Finding {
                key,
                value,
                kind,
                message,
            });
        }
    }
    for ((key, value), got) in found {
        let message = format!(
            "unexpected: {} was committed {got} times, but the input cannot produce it",
            describe(&key, &value)
        );
        findings.push(Finding {
            key,
            value,
            kind: FindingKind::Unexpected { found: got },
            message,
        });
    }
    findings.sort_by(|a, b| (&a.key, &a.value).cmp(&(&b.key, &b.value)));
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(key: u32, value: u64) -> Record {
        Record {
            key: encode(&key),
            value: encode(&value),
            timestamp: 0,
            origin: None,
        }
    }

    fn describe(key: &[u8], value: &[u8]) -> String {
        format!("{key:?}={value:?}")
    }

    fn expected() -> Multiset {
        let mut e = Multiset::new();
        e.insert((encode(&1u32), encode(&10u64)), 1);
        e.insert((encode(&2u32), encode(&20u64)), 2);
        e
    }

    fn kinds(findings: &[Finding]) -> Vec<FindingKind> {
        findings.iter().map(|f| f.kind.clone()).collect()
    }

    #[test]
    fn a_multiset_committed_exactly_passes_in_any_order() {
        let out = [rec(2, 20), rec(1, 10), rec(2, 20)];
        assert!(check_multiset(expected(), &out, describe).is_empty());
        assert!(check_multiset_at_least_once(expected(), &out, describe).is_empty());
        assert!(check_multiset(Multiset::new(), &[], describe).is_empty());
    }

    #[test]
    fn the_multiset_check_names_missing_duplicated_and_unexpected_outputs() {
        let out = [rec(1, 10), rec(1, 10), rec(2, 20), rec(3, 30)];
        let findings = check_multiset(expected(), &out, describe);
        assert_eq!(
            kinds(&findings),
            vec![
                FindingKind::Duplicated {
                    expected: 1,
                    found: 2
                },
                FindingKind::Missing {
                    expected: 2,
                    found: 1
                },
                FindingKind::Unexpected { found: 1 },
            ]
        );
        assert_eq!(findings[2].key, encode(&3u32));
        assert_eq!(findings[2].value, encode(&30u64));
        assert!(
            findings[0].message.starts_with("duplicated: "),
            "{}",
            findings[0]
        );
    }

    #[test]
    fn the_at_least_once_variant_allows_copies_but_not_loss_or_strangers() {
        let out = [rec(1, 10), rec(1, 10), rec(2, 20)];
        assert!(check_multiset_at_least_once(expected(), &out, describe).is_empty());
        let out = [rec(1, 10), rec(3, 30)];
        assert_eq!(
            kinds(&check_multiset_at_least_once(expected(), &out, describe)),
            vec![
                FindingKind::Missing {
                    expected: 2,
                    found: 0
                },
                FindingKind::Unexpected { found: 1 },
            ]
        );
    }

    #[test]
    fn durations_must_be_whole_milliseconds_within_an_hour() {
        let ms = |n| Duration::from_millis(n);
        assert_eq!(millis_within("j", "f", ms(1), ms(1), "w"), Ok(1));
        assert_eq!(
            millis_within("j", "f", MAX_DURATION, ms(1), "w"),
            Ok(3_600_000)
        );
        let error = millis_within("j", "f", ms(0), ms(1), "why").unwrap_err();
        assert_eq!(
            error.to_string(),
            "job `j`: field `f`: must be a whole number of milliseconds, at least \"1ms\" and at most \"3600000ms\", got \"0ms\": why"
        );
        assert!(millis_within("j", "f", MAX_DURATION + ms(1), ms(0), "w").is_err());
        assert!(millis_within("j", "f", Duration::from_micros(1500), ms(0), "w").is_err());
    }

    #[test]
    fn fractions_are_bounded_and_nan_is_refused() {
        assert!(fraction_within("j", "f", 0.0, 0.5, "w").is_ok());
        assert!(fraction_within("j", "f", 0.5, 0.5, "w").is_ok());
        assert!(fraction_within("j", "f", 0.51, 0.5, "w").is_err());
        assert!(fraction_within("j", "f", -0.01, 0.5, "w").is_err());
        assert!(fraction_within("j", "f", f64::NAN, 0.5, "w").is_err());
    }
}
