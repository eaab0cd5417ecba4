//! `windowed-sum`: per key, the sum and count of the values in tumbling
//! event-time windows (Flink's `TumblingEventTimeWindows` with a sum
//! aggregate and bounded-out-of-orderness watermarks), late records
//! dropped and counted (Flink's `WindowOperator` with zero allowed
//! lateness and a side count of what it dropped).
//!
//! # The job
//!
//! Input: key `u32` (the workload's keys), value `u64`, timestamp in ms.
//! One keyed vertex, [`VERTEX`], runs [`WindowedSum`]: a record whose
//! window `[start, start + window)` (with `start = ts - ts % window`) has
//! already fired, i.e. `start + window - 1 <= watermark`, is dropped and
//! counted; any other is added to its window, whose timer at
//! `start + window - 1` emits `(key, Window { start, sum, count })`. At end
//! of input (the `u64::MAX` watermark) each key emits `(key, Dropped {
//! count })` once.
//!
//! # Event time ([`watermark`])
//!
//! Partition offsets run at a fixed event-time pace: offset `o` has base
//! time `b(o) = out_of_orderness + o × record_interval`. An *on-time*
//! record's timestamp lies in `[b(o) - out_of_orderness, b(o)]`; a
//! fraction `late_fraction` of records lag further, by 1 ms up to one
//! window beyond the bound (timestamps saturate at 0). The source of a
//! partition, having read offsets `0..n`, emits watermark `n ×
//! record_interval - 1` (0 before it read anything): no on-time record of
//! a later offset is at or before it.
//!
//! A record at offset `o` of partition `p` reaches a keyed subtask whose
//! watermark is at most `watermark(p, o)` (its own partition's watermark
//! before its batch; the subtask's is the minimum over all partitions, and
//! after a restore it starts from 0 again). So a record whose window ends
//! after that, `start + window - 1 > watermark(p, o)`, is *surely on
//! time*; any other is *maybe late* ([`maybe_late`]): dropped or not,
//! depending on how partitions interleave and when the job restored. The
//! generator gives maybe-late records the value [`LATE_VALUE`] and all
//! others a value in `1..=`[`VALUE_MAX`], so an output's sum says how
//! many maybe-late records it holds.
//!
//! # Exactly-once ([`check_output`])
//!
//! Per key `k` and window `w`, let `S` be its surely-on-time records and
//! `M` its maybe-late ones. The committed output must hold:
//!
//! - for `w` with `S` non-empty, exactly one *full* `Window` output: all
//!   of `S` plus `m` records of `M` (`count = |S| + m`, `sum = Σ S + m ×
//!   LATE_VALUE`);
//! - besides, any number of *late-only* outputs of `w` (`sum = count ×
//!   LATE_VALUE`): a window that fired before a checkpoint can fire again
//!   after a restore, when the restarted watermark lets its maybe-late
//!   records in again (Flink does the same);
//! - the maybe-late records of `w` included over all its outputs at most
//!   `|M|`; no output for a window or key without input;
//! - exactly one `Dropped { count }` per key with input, and per key the
//!   maybe-late records included in its windows plus `count` equal its
//!   maybe-late records: each record counted once, included or dropped.
//!
//! # State at a cut ([`check_state`])
//!
//! At a checkpoint with source offsets `c`, every keyed subtask has seen
//! watermark `W = min_p watermark(p, c_p)` (sources emit it after each
//! batch, before a barrier; after a restore a source emits the watermark
//! of its restored offset before any record or barrier), where a partition
//! read to its end counts `u64::MAX` (its source sent the final watermark
//! with the batch that reached the end). Every
//! drop so far happened at a watermark `<= W`, so a window ending after
//! `W` has dropped nothing: its state is exactly all its records up to the
//! cut; windows ending at or before `W` have fired and are gone; a key's
//! `dropped` is at most its maybe-late records in fired windows. Timers:
//! one per open window at its end, and one per key at `u64::MAX` (none
//! once `W` is `u64::MAX`: every timer fired).
//!
//! State is bounded by the input: open windows per key (at most
//! `out_of_orderness + window` of event time behind the watermark, plus
//! those a lagging partition holds open) and one counter.

use super::{bytes, encode, Finding, FindingKind, KeyedState, ParamError, Timers};
use flinch_engine::config::WorkloadConfig;
use flinch_engine::operator::{Context, Operator};
use flinch_engine::record::{self, Record};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// The job's name in a scenario's `job = { name = "windowed-sum" }`.
pub const NAME: &str = "windowed-sum";
/// The name of its keyed vertex (subtasks `window[i]`).
pub const VERTEX: &str = "window";
/// The value of every maybe-late record ([`maybe_late`]): larger than the
/// sum of any number of on-time values a run can hold (at most
/// 5,000,000 records of at most [`VALUE_MAX`]), so a sum tells how many
/// maybe-late records it includes.
pub const LATE_VALUE: u64 = 1_000_000_000;
/// The largest value of a surely-on-time record (values are `1..=VALUE_MAX`).
pub const VALUE_MAX: u64 = 100;

/// The parameters, from `job = { name = "windowed-sum", window = "1s",
/// out_of_orderness = "200ms" }` without its `name`. Durations are strings
/// as scenario files write them and must be whole milliseconds.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {
    /// The tumbling window's length; default `"1s"`, `"1ms"..="1h"`.
    #[serde(deserialize_with = "super::duration")]
    pub window: Duration,
    /// How far an on-time record's timestamp may lag its offset's base
    /// time; default `"200ms"`, `"0ms"..="1h"`.
    #[serde(deserialize_with = "super::duration")]
    pub out_of_orderness: Duration,
    /// Event time between consecutive offsets of a partition; default
    /// `"10ms"` (2,000 records over 2 partitions span 10 s), `"1ms"..="1h"`.
    #[serde(deserialize_with = "super::duration")]
    pub record_interval: Duration,
    /// The fraction of records that lag beyond `out_of_orderness`;
    /// default 0.05, `0.0..=0.5`.
    pub late_fraction: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            window: Duration::from_secs(1),
            out_of_orderness: Duration::from_millis(200),
            record_interval: Duration::from_millis(10),
            late_fraction: 0.05,
        }
    }
}

/// The largest `late_fraction`.
pub const LATE_FRACTION_MAX: f64 = 0.5;

/// The parameters in whole milliseconds, as [`Params::validate`] returns them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Valid {
    /// `window` in ms, at least 1.
    pub window: u64,
    /// `out_of_orderness` in ms.
    pub out_of_orderness: u64,
    /// `record_interval` in ms, at least 1.
    pub record_interval: u64,
    /// `late_fraction`, in `0.0..=0.5`.
    pub late_fraction: f64,
}

impl Params {
    /// Check every field against its bound. Errors: the first field out of
    /// bounds ([`ParamError`]): `window` and `record_interval` from 1 ms
    /// (event time is in whole ms) to an hour, `out_of_orderness` up to an
    /// hour (every scenario duration's bound), `late_fraction` up to 0.5.
    pub fn validate(&self) -> Result<Valid, ParamError> {
        let ms = |field, d, min, why| super::millis_within(NAME, field, d, min, why);
        let one = Duration::from_millis(1);
        let window = ms(
            "window",
            self.window,
            one,
            "timestamps are whole milliseconds, and no run spans more than an hour of event time",
        )?;
        let out_of_orderness = ms(
            "out_of_orderness",
            self.out_of_orderness,
            Duration::ZERO,
            "timestamps are whole milliseconds, and no run spans more than an hour of event time",
        )?;
        let record_interval = ms(
            "record_interval",
            self.record_interval,
            one,
            "event time must advance with the offset, in whole milliseconds, by at most an hour a record",
        )?;
        super::fraction_within(
            NAME,
            "late_fraction",
            self.late_fraction,
            LATE_FRACTION_MAX,
            "late records exercise the drop path; with more than half the input late the job mostly drops",
        )?;
        Ok(Valid {
            window,
            out_of_orderness,
            record_interval,
            late_fraction: self.late_fraction,
        })
    }
}

/// The watermark (ms) the source of `partition` emits after reading
/// offsets `0..next_offset`: `next_offset × record_interval - 1`, 0 for
/// `next_offset = 0`. Nondecreasing in `next_offset`; the same for every
/// partition.
pub fn watermark(params: &Valid, partition: u32, next_offset: u64) -> u64 {
    let _ = partition;
    next_offset
        .saturating_mul(params.record_interval)
        .saturating_sub(1)
}

/// Whether a record at `offset` with timestamp `ts` (ms) may be dropped
/// as late: its window's last millisecond is at or before the watermark
/// its own partition had emitted before it (`watermark(offset)`). A
/// record for which this is false is surely on time.
pub fn maybe_late(params: &Valid, partition: u32, offset: u64, ts: u64) -> bool {
    let window_last = ts - ts % params.window + (params.window - 1);
    window_last <= watermark(params, partition, offset)
}

/// The input log: keys, partitions and offsets as the engine's workload
/// ([`flinch_engine::workload::generate`]: `records` round robin over
/// `partitions`, keys by `keys` and `skew`); timestamps per the module
/// docs (a `late_fraction` of records lag by 1 ms to one window beyond
/// `out_of_orderness`); values [`LATE_VALUE`] for maybe-late records,
/// else uniform in `1..=VALUE_MAX`. Pure: the same arguments give the
/// same log.
pub fn generate(params: &Valid, workload: &WorkloadConfig, seed: u64) -> Vec<Vec<Record>> {
    let log = flinch_engine::workload::generate(workload, seed);
    let mut rng = SmallRng::seed_from_u64(seed ^ 0x0031_7d07_75a1_1ed5_u64);
    let mut out = Vec::with_capacity(log.len());
    for partition in log {
        let mut records = Vec::with_capacity(partition.len());
        for r in partition {
            let earliest_on_time = r.offset.saturating_mul(params.record_interval);
            let ts = if rng.gen_bool(params.late_fraction) {
                earliest_on_time.saturating_sub(rng.gen_range(1..=params.window))
            } else {
                earliest_on_time + rng.gen_range(0..=params.out_of_orderness)
            };
            let value = if maybe_late(params, r.partition, r.offset, ts) {
                LATE_VALUE
            } else {
                rng.gen_range(1..=VALUE_MAX)
            };
            records.push(Record {
                key: bytes(&r.key),
                value: bytes(&value),
                timestamp: ts,
                origin: Some((r.partition, r.offset)),
            });
        }
        out.push(records);
    }
    out
}

/// What [`WindowedSum`] emits, under the record's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WindowOutput {
    /// A fired window `[start, start + window)` (ms) with the sum and
    /// number of the values it included; emitted at `start + window - 1`.
    Window {
        /// The window's first millisecond of event time.
        start: u64,
        /// The sum of the values it included.
        sum: u64,
        /// How many values it included.
        count: u64,
    },
    /// How many of the key's records were dropped as late; emitted once,
    /// at end of input.
    Dropped {
        /// The records dropped.
        count: u64,
    },
}

/// One open window's running aggregate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acc {
    /// Sum of the included values.
    pub sum: u64,
    /// Number of included records.
    pub count: u64,
}

/// The state of one key: open windows by start (ms), and the records
/// dropped as late so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyState {
    /// Open windows by their start.
    pub windows: BTreeMap<u64, Acc>,
    /// Records of this key dropped as late.
    pub dropped: u64,
}

/// The windowing operator (Flink's `WindowOperator` over
/// `TumblingEventTimeWindows` with a sum, zero allowed lateness). Key
/// `u32`, input `u64`, output [`WindowOutput`] under the same key.
#[derive(Debug, Clone, Copy)]
pub struct WindowedSum {
    /// The window's length in ms, at least 1.
    pub window: u64,
}

impl WindowedSum {
    /// The operator for validated parameters.
    pub fn new(params: &Valid) -> Self {
        WindowedSum {
            window: params.window,
        }
    }
}

impl Operator for WindowedSum {
    type Key = u32;
    type In = u64;
    type OutKey = u32;
    type Out = WindowOutput;
    type State = KeyState;

    fn process(
        &mut self,
        _key: &u32,
        value: u64,
        state: &mut KeyState,
        ctx: &mut Context<'_, u32, WindowOutput>,
    ) {
        let ts = ctx.timestamp();
        let start = ts - ts % self.window;
        let last = start.saturating_add(self.window - 1);
        if last <= ctx.watermark() {
            state.dropped += 1;
        } else {
            let acc = state.windows.entry(start).or_default();
            acc.sum += value;
            acc.count += 1;
            ctx.register_timer(last);
        }
        // The key's dropped count, once at end of input (registering the
        // same time again is a no-op).
        ctx.register_timer(u64::MAX);
    }

    fn on_timer(
        &mut self,
        key: &u32,
        time: u64,
        state: &mut KeyState,
        ctx: &mut Context<'_, u32, WindowOutput>,
    ) {
        if time == u64::MAX {
            ctx.emit(
                *key,
                WindowOutput::Dropped {
                    count: state.dropped,
                },
            );
            return;
        }
        let start = time + 1 - self.window;
        if let Some(acc) = state.windows.remove(&start) {
            let (sum, count) = (acc.sum, acc.count);
            ctx.emit(*key, WindowOutput::Window { start, sum, count });
        }
    }
}

// ---------------------------------------------------------------------
// The reference model: written from the module docs, not from the operator.

/// What the input holds for one (key, window): its surely-on-time records
/// (count, sum) and its maybe-late ones (count).
#[derive(Debug, Clone, Copy, Default)]
struct Expect {
    sure: u64,
    sure_sum: u64,
    late: u64,
}

/// Per (key, window start): what records with `offset < cut[p]` hold
/// (`cut = None`: every record). Records that do not decode are skipped
/// (the generator writes none).
fn expectations(
    params: &Valid,
    input: &[Vec<Record>],
    cut: Option<&[u64]>,
) -> BTreeMap<(u32, u64), Expect> {
    let mut out: BTreeMap<(u32, u64), Expect> = BTreeMap::new();
    for (p, log) in input.iter().enumerate() {
        let end = cut.map_or(log.len(), |c| {
            c.get(p).map_or(0, |&n| n as usize).min(log.len())
        });
        for (offset, r) in log[..end].iter().enumerate() {
            let (Ok(key), Ok(value)) = (
                record::decode::<u32>(&r.key),
                record::decode::<u64>(&r.value),
            ) else {
                continue;
            };
            let start = r.timestamp / params.window * params.window;
            let e = out.entry((key, start)).or_default();
            if maybe_late(params, p as u32, offset as u64, r.timestamp) {
                e.late += 1;
            } else {
                e.sure += 1;
                e.sure_sum += value;
            }
        }
    }
    out
}

/// A window output of the model's making, for findings.
fn window_bytes(key: u32, start: u64, sum: u64, count: u64) -> (Vec<u8>, Vec<u8>) {
    (
        encode(&key),
        encode(&WindowOutput::Window { start, sum, count }),
    )
}

fn finding(key: u32, value: WindowOutput, kind: FindingKind, message: String) -> Finding {
    Finding {
        key: encode(&key),
        value: encode(&value),
        kind,
        message,
    }
}

/// How many maybe-late records an output of a window holds, and whether
/// it holds the window's surely-on-time records: `Some((late, true))` for
/// a full output, `Some((late, false))` for a late-only one, `None` for a
/// value no set of the window's records gives.
fn classify(e: &Expect, sum: u64, count: u64) -> Option<(u64, bool)> {
    let late_only = count >= 1 && count <= e.late && Some(sum) == count.checked_mul(LATE_VALUE);
    if e.sure > 0 && count >= e.sure {
        let late = count - e.sure;
        let full = late <= e.late
            && late
                .checked_mul(LATE_VALUE)
                .and_then(|l| l.checked_add(e.sure_sum))
                == Some(sum);
        if full {
            return Some((late, true));
        }
    }
    late_only.then_some((count, false))
}

/// The exactly-once check of the module docs over `output`, the job's
/// committed output in any order, against `input` (the log [`generate`]
/// wrote). Findings: per (key, window) a missing or duplicated full
/// output, a value no set of the window's records gives (wrong value), an
/// output for a window or key without input (unexpected), more maybe-late
/// records included than exist (duplicated); per key a missing or
/// duplicated `Dropped` output, or one whose count with the included
/// maybe-late records does not make the key's maybe-late records (wrong
/// value).
pub fn check_output(params: &Valid, input: &[Vec<Record>], output: &[Record]) -> Vec<Finding> {
    let expected = expectations(params, input, None);
    let mut windows: BTreeMap<(u32, u64), Vec<(u64, u64)>> = BTreeMap::new();
    let mut dropped: BTreeMap<u32, Vec<u64>> = BTreeMap::new();
    let mut findings = Vec::new();
    for r in output {
        match (
            record::decode::<u32>(&r.key),
            record::decode::<WindowOutput>(&r.value),
        ) {
            (Ok(key), Ok(WindowOutput::Window { start, sum, count })) => {
                windows.entry((key, start)).or_default().push((sum, count));
            }
            (Ok(key), Ok(WindowOutput::Dropped { count })) => {
                dropped.entry(key).or_default().push(count);
            }
            _ => findings.push(Finding {
                key: r.key.to_vec(),
                value: r.value.to_vec(),
                kind: FindingKind::Unexpected { found: 1 },
                message: format!(
                    "unexpected: output {:?} = {:?} is not a windowed-sum output",
                    r.key, r.value
                ),
            }),
        }
    }
    let mut included: BTreeMap<u32, u64> = BTreeMap::new();
    let keys: BTreeSet<(u32, u64)> = expected.keys().chain(windows.keys()).copied().collect();
    for (key, start) in keys {
        let outputs = windows.remove(&(key, start)).unwrap_or_default();
        let late = check_window(
            key,
            start,
            expected.get(&(key, start)),
            &outputs,
            &mut findings,
        );
        *included.entry(key).or_default() += late;
    }
    let mut late_per_key: BTreeMap<u32, u64> = BTreeMap::new();
    for (&(key, _), e) in &expected {
        *late_per_key.entry(key).or_default() += e.late;
    }
    let keys: BTreeSet<u32> = late_per_key.keys().chain(dropped.keys()).copied().collect();
    for key in keys {
        let counts = dropped.remove(&key).unwrap_or_default();
        let late = late_per_key.get(&key).copied();
        check_dropped(
            key,
            late,
            included.get(&key).copied().unwrap_or(0),
            &counts,
            &mut findings,
        );
    }
    findings
}

/// One (key, window)'s outputs against what its input holds; returns how
/// many maybe-late records its valid outputs include.
fn check_window(
    key: u32,
    start: u64,
    expect: Option<&Expect>,
    outputs: &[(u64, u64)],
    findings: &mut Vec<Finding>,
) -> u64 {
    let at = |sum, count| WindowOutput::Window { start, sum, count };
    let Some(e) = expect else {
        for &(sum, count) in outputs {
            let message = format!("unexpected: key-{key} window {start} (sum {sum}, count {count}): no input record falls in it");
            findings.push(finding(
                key,
                at(sum, count),
                FindingKind::Unexpected { found: 1 },
                message,
            ));
        }
        return 0;
    };
    let (mut full, mut late) = (0, 0);
    for &(sum, count) in outputs {
        match classify(e, sum, count) {
            Some((l, is_full)) => {
                late += l;
                full += u64::from(is_full);
            }
            None => {
                let message = format!(
                    "wrong value: key-{key} window {start} has sum {sum} and count {count}, but its input has {} on-time records summing to {} and {} maybe-late records of value {LATE_VALUE}",
                    e.sure, e.sure_sum, e.late
                );
                findings.push(finding(
                    key,
                    at(sum, count),
                    FindingKind::WrongValue,
                    message,
                ));
            }
        }
    }
    let (k, v) = window_bytes(key, start, e.sure_sum, e.sure);
    if e.sure > 0 && full != 1 {
        let (kind, what) = if full == 0 {
            (
                FindingKind::Missing {
                    expected: 1,
                    found: 0,
                },
                "missing",
            )
        } else {
            (
                FindingKind::Duplicated {
                    expected: 1,
                    found: full,
                },
                "duplicated",
            )
        };
        let message = format!(
            "{what}: key-{key} window {start}, holding {} on-time records summing to {}, was committed {full} times, expected once",
            e.sure, e.sure_sum
        );
        findings.push(Finding {
            key: k.clone(),
            value: v.clone(),
            kind,
            message,
        });
    }
    if late > e.late {
        let message = format!(
            "duplicated: key-{key} window {start}'s outputs include {late} maybe-late records, but its input has {}",
            e.late
        );
        let kind = FindingKind::Duplicated {
            expected: e.late,
            found: late,
        };
        findings.push(Finding {
            key: k,
            value: v,
            kind,
            message,
        });
    }
    late
}

/// One key's `Dropped` outputs: exactly one, and with the maybe-late
/// records its windows included, all of the key's maybe-late records.
fn check_dropped(
    key: u32,
    late: Option<u64>,
    included: u64,
    counts: &[u64],
    findings: &mut Vec<Finding>,
) {
    let Some(late) = late else {
        for &count in counts {
            let message = format!("unexpected: key-{key} dropped {count}: the key has no input");
            findings.push(finding(
                key,
                WindowOutput::Dropped { count },
                FindingKind::Unexpected { found: 1 },
                message,
            ));
        }
        return;
    };
    match counts {
        [count] if included + count == late => {}
        [count] => {
            let message = format!(
                "wrong value: key-{key} dropped {count} records and its windows include {included} maybe-late ones, but it has {late}: each must be included or dropped exactly once"
            );
            findings.push(finding(
                key,
                WindowOutput::Dropped { count: *count },
                FindingKind::WrongValue,
                message,
            ));
        }
        _ => {
            let found = counts.len() as u64;
            let expected_count = late.saturating_sub(included);
            let (kind, what) = if found == 0 {
                (FindingKind::Missing { expected: 1, found }, "missing")
            } else {
                (FindingKind::Duplicated { expected: 1, found }, "duplicated")
            };
            let message = format!(
                "{what}: key-{key}'s dropped count was committed {found} times, expected once"
            );
            findings.push(finding(
                key,
                WindowOutput::Dropped {
                    count: expected_count,
                },
                kind,
                message,
            ));
        }
    }
}

/// The consistent-cut check (module docs, "State at a cut") of
/// [`VERTEX`]'s restored state, the union over its subtasks (key bytes →
/// [`KeyState`] bytes; timers as (time ms, key bytes)), against the input
/// up to `offsets` (records with `offset < offsets[p]`). Returns one line
/// per discrepancy; empty when the state is one the job can have there.
pub fn check_state(
    params: &Valid,
    input: &[Vec<Record>],
    offsets: &[u64],
    vertex: &str,
    state: &KeyedState,
    timers: &Timers,
) -> Vec<String> {
    if vertex != VERTEX {
        return vec![format!(
            "windowed-sum has no keyed vertex `{vertex}` (only `{VERTEX}`)"
        )];
    }
    if offsets.len() != input.len() {
        return vec![format!(
            "{} offsets for {} partitions",
            offsets.len(),
            input.len()
        )];
    }
    // A source that read its whole partition sent the MAX watermark with
    // the batch that reached the end, before any later barrier.
    let wm = (0..input.len())
        .map(|p| match offsets[p] >= input[p].len() as u64 {
            true => u64::MAX,
            false => watermark(params, p as u32, offsets[p]),
        })
        .min()
        .unwrap_or(0);
    let expected = expectations(params, input, Some(offsets));
    let mut want: BTreeMap<u32, (KeyState, u64)> = BTreeMap::new();
    let mut want_timers = BTreeSet::new();
    for (&(key, start), e) in &expected {
        let (s, may_drop) = want.entry(key).or_default();
        let last = start + params.window - 1;
        if last <= wm {
            *may_drop += e.late;
        } else {
            let sum = e.sure_sum + e.late * LATE_VALUE;
            s.windows.insert(
                start,
                Acc {
                    sum,
                    count: e.sure + e.late,
                },
            );
            want_timers.insert((last, encode(&key)));
        }
        if wm < u64::MAX {
            // The end-of-input timer that emits the dropped count.
            want_timers.insert((u64::MAX, encode(&key)));
        }
    }
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for (key_bytes, bytes) in state {
        let (Ok(key), Ok(got)) = (
            record::decode::<u32>(key_bytes),
            record::decode::<KeyState>(bytes),
        ) else {
            problems.push(format!("undecodable state entry {key_bytes:?} = {bytes:?}"));
            continue;
        };
        seen.insert(key);
        let Some((w, may_drop)) = want.get(&key) else {
            problems.push(format!("key-{key} has state but no input before the cut"));
            continue;
        };
        if got.windows != w.windows {
            problems.push(format!(
                "key-{key}: open windows {:?}, expected {:?} (watermark {wm})",
                got.windows, w.windows
            ));
        }
        if got.dropped > *may_drop {
            problems.push(format!(
                "key-{key}: dropped {} records, but only {may_drop} could be late by the cut",
                got.dropped
            ));
        }
    }
    for key in want.keys().filter(|k| !seen.contains(*k)) {
        problems.push(format!("key-{key} has input before the cut but no state"));
    }
    if timers != &want_timers {
        let extra: Vec<_> = timers.difference(&want_timers).collect();
        let missing: Vec<_> = want_timers.difference(timers).collect();
        problems.push(format!(
            "timers differ (watermark {wm}): extra {extra:?}, missing {missing:?}"
        ));
    }
    problems
}

#[cfg(test)]
mod tests;
