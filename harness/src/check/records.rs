//! The keyed-count oracle (docs/design.md §3): every input record has exactly one
//! committed output record, and a key with n records has the counts 1..n,
//! each once, rising with the offset within each partition. Which count goes
//! with which record is not fixed: partitions interleave freely.

use super::{cap, kind};
use crate::outcome::{CommittedTxn, RunOutcome};
use crate::violation::{Checker, Violation};
use flinch_engine::record::{InputRecord, Key, TxnId};
use std::collections::{BTreeMap, BTreeSet};

/// One committed copy of an input record's output.
#[derive(Debug, Clone, Copy)]
struct Held {
    txn: TxnId,
    count: u64,
}

/// Committed output by the input record it answers; copies in commit order.
type Index = BTreeMap<InputRecord, Vec<Held>>;

/// Each input record has exactly one committed output, and every key's
/// counts are right. Keys with missing, duplicated or unexpected records
/// are not also reported for their counts: those explain them.
pub fn exactly_once(outcome: &RunOutcome) -> Vec<Violation> {
    let index = index(&outcome.committed);
    let input = input_set(&outcome.input);
    let mut violations = Vec::new();
    for record in &input {
        violations.extend(missing_or_duplicated(record, held(&index, record)));
    }
    violations.extend(unexpected(&index, &input));
    let flawed: BTreeSet<Key> = violations.iter().filter_map(|v| v.key).collect();
    violations.extend(wrong_counts(&index, &input, &flawed));
    cap::limit(violations)
}

/// Each input record has at least one committed output; duplicates, and the
/// counts they shift, are allowed.
pub fn at_least_once(outcome: &RunOutcome) -> Vec<Violation> {
    let index = index(&outcome.committed);
    let input = input_set(&outcome.input);
    let violations = input
        .iter()
        .filter(|record| held(&index, record).is_empty())
        .map(missing)
        .collect();
    cap::limit(violations)
}

/// How many output records are extra copies: for each input record, its
/// committed outputs beyond the first (0 for an exactly-once run). An
/// at-least-once run may duplicate; this is how much it did, for the seed
/// report and the `flinch run` summary (output for records not in the
/// input is not counted: it is a violation of its own).
pub fn duplicates(outcome: &RunOutcome) -> u64 {
    let index = index(&outcome.committed);
    let input = input_set(&outcome.input);
    input
        .iter()
        .map(|record| held(&index, record).len().saturating_sub(1) as u64)
        .sum()
}

fn index(committed: &[CommittedTxn]) -> Index {
    let mut index = Index::new();
    for txn in committed {
        for out in &txn.records {
            index.entry(out.input()).or_default().push(Held {
                txn: txn.txn,
                count: out.count,
            });
        }
    }
    index
}

/// The input in (key, partition, offset) order, so one key's records are
/// together and in offset order within each partition.
fn input_set(input: &[Vec<InputRecord>]) -> BTreeSet<InputRecord> {
    input.iter().flatten().copied().collect()
}

fn held<'a>(index: &'a Index, record: &InputRecord) -> &'a [Held] {
    index.get(record).map_or(&[], Vec::as_slice)
}

fn missing_or_duplicated(record: &InputRecord, held: &[Held]) -> Option<Violation> {
    match held.len() {
        0 => Some(missing(record)),
        1 => None,
        n => {
            let (names, txns) = holders(held);
            let message = format!("{record} was committed {n} times: in {names}");
            Some(about(record, kind::DUPLICATED, message, txns))
        }
    }
}

fn missing(record: &InputRecord) -> Violation {
    let message = format!("{record} is missing: no committed transaction holds its output");
    about(record, kind::MISSING, message, Vec::new())
}

/// Output for records that are not in the input, one violation per record.
fn unexpected(index: &Index, input: &BTreeSet<InputRecord>) -> Vec<Violation> {
    let strays = index.iter().filter(|(r, _)| !input.contains(r));
    strays
        .map(|(record, held)| {
            let (names, txns) = holders(held);
            let message =
                format!("{record} is not in the input, but output for it was committed in {names}");
            about(record, kind::UNEXPECTED, message, txns)
        })
        .collect()
}

/// One input record with the count its single output carries.
struct Counted {
    record: InputRecord,
    count: u64,
    txn: TxnId,
}

/// At most one `wrong-count` per key, for keys not in `flawed`.
fn wrong_counts(
    index: &Index,
    input: &BTreeSet<InputRecord>,
    flawed: &BTreeSet<Key>,
) -> Vec<Violation> {
    let mut by_key: BTreeMap<Key, Vec<Counted>> = BTreeMap::new();
    for record in input.iter().filter(|r| !flawed.contains(&r.key)) {
        let [only] = held(index, record) else {
            unreachable!("{record} has one output: its key has no missing or duplicated records");
        };
        let counted = Counted {
            record: *record,
            count: only.count,
            txn: only.txn,
        };
        by_key.entry(record.key).or_default().push(counted);
    }
    by_key
        .values()
        .filter_map(|c| first_wrong_count(c))
        .collect()
}

/// `outputs`: all of one key's records, in (partition, offset) order.
fn first_wrong_count(outputs: &[Counted]) -> Option<Violation> {
    let n = outputs.len() as u64;
    let mut seen: BTreeMap<u64, InputRecord> = BTreeMap::new();
    for (i, out) in outputs.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| &outputs[j]);
        let prev = prev.filter(|p| p.record.partition == out.record.partition);
        if let Some(problem) = count_problem(out, n, seen.get(&out.count), prev) {
            let message = format!("{} has a wrong count: {problem}", out.record);
            return Some(about(
                &out.record,
                kind::WRONG_COUNT,
                message,
                vec![out.txn],
            ));
        }
        seen.insert(out.count, out.record);
    }
    None
}

/// What is wrong with `out`'s count, given the key's `n` records, the record
/// that already has this count (if any) and the one before it in its
/// partition (if any).
fn count_problem(
    out: &Counted,
    n: u64,
    twin: Option<&InputRecord>,
    prev: Option<&Counted>,
) -> Option<String> {
    let count = out.count;
    if count == 0 {
        return Some("count 0, but counts start at 1".to_string());
    }
    if count > n {
        return Some(format!("count {count} > {n} records of this key"));
    }
    if let Some(twin) = twin {
        return Some(format!(
            "count {count} appears twice (also at partition {}, offset {})",
            twin.partition, twin.offset
        ));
    }
    let prev = prev.filter(|p| p.count > count)?;
    Some(format!(
        "count {count} at offset {} after count {} at offset {} in partition {}",
        out.record.offset, prev.count, prev.record.offset, out.record.partition
    ))
}

fn about(record: &InputRecord, kind: &'static str, message: String, txns: Vec<TxnId>) -> Violation {
    Violation {
        key: Some(record.key),
        partition: Some(record.partition),
        offset: Some(record.offset),
        txns,
        ..Violation::new(Checker::ExactlyOnce, kind, message)
    }
}

/// "txn-a and txn-b (2 copies)", and the distinct txns in commit order.
fn holders(held: &[Held]) -> (String, Vec<TxnId>) {
    let mut txns: Vec<(TxnId, usize)> = Vec::new();
    for h in held {
        match txns.iter_mut().find(|(t, _)| *t == h.txn) {
            Some((_, copies)) => *copies += 1,
            None => txns.push((h.txn, 1)),
        }
    }
    let names: Vec<String> = txns
        .iter()
        .map(|(t, copies)| match copies {
            1 => t.to_string(),
            n => format!("{t} ({n} copies)"),
        })
        .collect();
    (join_and(&names), txns.into_iter().map(|(t, _)| t).collect())
}

fn join_and(items: &[String]) -> String {
    match items.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests;
