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
//!    engine [`Record`](flinch_engine::record::Record)s per partition (key and value postcard-encoded,
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
mod registry;
pub mod two_stage;
pub mod windowed_sum;

pub use registry::{install, registry, Dedup, TwoStage, WindowedSum};

#[cfg(test)]
mod testing;

use serde::{Deserialize, Deserializer};
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
    bytes(value).into_vec()
}

/// [`encode`] as a record's key or value ([`flinch_engine::record::Bytes`]:
/// no allocation for the short ones).
pub(crate) fn bytes<T: serde::Serialize>(value: &T) -> flinch_engine::record::Bytes {
    flinch_engine::record::encode(value).expect(
        "the jobs' keys, values and states are integers, tuples and maps: postcard encodes them",
    )
}

pub use flinch_harness::model::{
    check_multiset, check_multiset_at_least_once, Finding, FindingKind, KeyedState, Multiset,
    Timers,
};

#[cfg(test)]
mod tests {
    use super::*;

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
