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

/// Where an input record sits in the input: `input[partition][position]`.
type Slot = (usize, usize);

/// Committed output by the input record it answers, built in one pass over
/// the committed records and looked up in constant time: the first copy of
/// each input record in a table shaped like the input, the rarer rest
/// (later copies, and output for records not in the input: each a
/// violation) apart. Copies are in commit order.
struct Index<'a> {
    input: &'a [Vec<InputRecord>],
    /// `first[p][i]`: the first committed copy of `input[p][i]`.
    first: Vec<Vec<Option<Held>>>,
    /// Copies after the first, by slot.
    more: BTreeMap<Slot, Vec<Held>>,
    /// Committed output whose record is not in the input, by record.
    strays: BTreeMap<InputRecord, Vec<Held>>,
    /// Input records not at `input[partition][offset]`, where the generated
    /// input puts every record (so this is empty but for hand-made inputs).
    elsewhere: BTreeMap<InputRecord, Slot>,
}

impl<'a> Index<'a> {
    fn new(input: &'a [Vec<InputRecord>], committed: &[CommittedTxn]) -> Self {
        let mut elsewhere = BTreeMap::new();
        for (p, log) in input.iter().enumerate() {
            for (i, record) in log.iter().enumerate() {
                if !at_home(record, p, i) {
                    elsewhere.entry(*record).or_insert((p, i));
                }
            }
        }
        let mut index = Index {
            input,
            first: input.iter().map(|log| vec![None; log.len()]).collect(),
            more: BTreeMap::new(),
            strays: BTreeMap::new(),
            elsewhere,
        };
        for txn in committed {
            for out in &txn.records {
                let held = Held {
                    txn: txn.txn,
                    count: out.count,
                };
                index.add(out.input(), held);
            }
        }
        index
    }

    fn add(&mut self, record: InputRecord, held: Held) {
        match self.slot(&record) {
            None => self.strays.entry(record).or_default().push(held),
            Some((p, i)) => match &mut self.first[p][i] {
                first @ None => *first = Some(held),
                Some(_) => self.more.entry((p, i)).or_default().push(held),
            },
        }
    }

    /// Where `record` is in the input, if it is.
    fn slot(&self, record: &InputRecord) -> Option<Slot> {
        let home = usize::try_from(record.partition).ok().and_then(|p| {
            let i = usize::try_from(record.offset).ok()?;
            (self.input.get(p)?.get(i)? == record).then_some((p, i))
        });
        home.or_else(|| self.elsewhere.get(record).copied())
    }

    /// How many committed copies the input record at `slot` has.
    fn copies(&self, (p, i): Slot) -> usize {
        match self.first[p][i] {
            None => 0,
            Some(_) => 1 + self.more.get(&(p, i)).map_or(0, Vec::len),
        }
    }

    /// Every committed copy of the input record at `slot`, in commit order.
    fn held(&self, (p, i): Slot) -> Vec<Held> {
        let more = self.more.get(&(p, i)).map_or(&[][..], Vec::as_slice);
        self.first[p][i].iter().chain(more).copied().collect()
    }

    fn record(&self, (p, i): Slot) -> &'a InputRecord {
        &self.input[p][i]
    }

    /// Every input record's slot, in (key, partition, offset) order, so one
    /// key's records are together and in offset order within each
    /// partition.
    fn key_order(&self) -> Vec<Slot> {
        let slots = || {
            (self.input.iter().enumerate()).flat_map(|(p, log)| (0..log.len()).map(move |i| (p, i)))
        };
        if !self.elsewhere.is_empty() {
            let mut order: Vec<Slot> = slots().collect();
            order.sort_unstable_by_key(|&slot| self.record(slot));
            return order;
        }
        let total: usize = self.input.iter().map(Vec::len).sum();
        let keys = (self.input.iter().flatten().map(|r| r.key).max()).map_or(0, |k| k as usize + 1);
        // Slots in order are records in (partition, offset) order: a stable
        // sort by key alone finishes the job. Keys are few next to records
        // (keyed-count's are 0..keys): counted, then placed, in one pass
        // each; else sorted.
        if keys > total.saturating_mul(4).max(1 << 16) {
            let mut order: Vec<Slot> = slots().collect();
            order.sort_by_key(|&slot| self.record(slot).key);
            return order;
        }
        let mut start = vec![0usize; keys + 1];
        for r in self.input.iter().flatten() {
            start[r.key as usize + 1] += 1;
        }
        for k in 1..start.len() {
            start[k] += start[k - 1];
        }
        let mut order = vec![(0, 0); total];
        for slot in slots() {
            let next = &mut start[self.record(slot).key as usize];
            order[*next] = slot;
            *next += 1;
        }
        order
    }
}

/// Whether `record` is where the generated input puts it.
fn at_home(record: &InputRecord, p: usize, i: usize) -> bool {
    usize::try_from(record.partition) == Ok(p) && usize::try_from(record.offset) == Ok(i)
}

/// Each input record has exactly one committed output, and every key's
/// counts are right. Keys with missing, duplicated or unexpected records
/// are not also reported for their counts: those explain them.
///
/// Linear in the input and the committed output, but for sorting the input
/// by key.
pub fn exactly_once(outcome: &RunOutcome) -> Vec<Violation> {
    let index = Index::new(&outcome.input, &outcome.committed);
    let order = index.key_order();
    let mut violations = Vec::new();
    for &slot in &order {
        // Most records have their one copy: nothing to build.
        if index.copies(slot) != 1 {
            violations.extend(missing_or_duplicated(&index, slot));
        }
    }
    violations.extend(unexpected(&index));
    let flawed: BTreeSet<Key> = violations.iter().filter_map(|v| v.key).collect();
    violations.extend(wrong_counts(&index, &order, &flawed));
    cap::limit(violations)
}

/// Each input record has at least one committed output; duplicates, and the
/// counts they shift, are allowed.
pub fn at_least_once(outcome: &RunOutcome) -> Vec<Violation> {
    let index = Index::new(&outcome.input, &outcome.committed);
    let violations = (index.key_order().into_iter())
        .filter(|&slot| index.copies(slot) == 0)
        .map(|slot| missing(index.record(slot)))
        .collect();
    cap::limit(violations)
}

/// How many output records are extra copies: for each input record, its
/// committed outputs beyond the first (0 for an exactly-once run). An
/// at-least-once run may duplicate; this is how much it did, for the seed
/// report and the `flinch run` summary (output for records not in the
/// input is not counted: it is a violation of its own).
pub fn duplicates(outcome: &RunOutcome) -> u64 {
    let index = Index::new(&outcome.input, &outcome.committed);
    index.more.values().map(|more| more.len() as u64).sum()
}

fn missing_or_duplicated(index: &Index, slot: Slot) -> Option<Violation> {
    let record = index.record(slot);
    match index.copies(slot) {
        0 => Some(missing(record)),
        1 => None,
        n => {
            let (names, txns) = holders(&index.held(slot));
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
fn unexpected(index: &Index) -> Vec<Violation> {
    (index.strays.iter())
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

/// At most one `wrong-count` per key, for keys not in `flawed`; `order`
/// is every input record's slot in (key, partition, offset) order.
fn wrong_counts(index: &Index, order: &[Slot], flawed: &BTreeSet<Key>) -> Vec<Violation> {
    let mut violations = Vec::new();
    let mut outputs: Vec<Counted> = Vec::new();
    // Which record has each count so far, by count; reused from key to key.
    let mut seen: Vec<Option<InputRecord>> = Vec::new();
    for group in order.chunk_by(|&a, &b| index.record(a).key == index.record(b).key) {
        if flawed.contains(&index.record(group[0]).key) {
            continue;
        }
        outputs.clear();
        for &(p, i) in group {
            let record = index.record((p, i));
            let Some(only) = index.first[p][i] else {
                unreachable!("{record} has one output: its key has no missing records");
            };
            outputs.push(Counted {
                record: *record,
                count: only.count,
                txn: only.txn,
            });
        }
        seen.clear();
        seen.resize(group.len() + 1, None);
        violations.extend(first_wrong_count(&outputs, &mut seen));
    }
    violations
}

/// `outputs`: all of one key's records, in (partition, offset) order;
/// `seen`: a `None` for each count from 0 to `outputs.len()`.
fn first_wrong_count(outputs: &[Counted], seen: &mut [Option<InputRecord>]) -> Option<Violation> {
    let n = outputs.len() as u64;
    for (i, out) in outputs.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| &outputs[j]);
        let prev = prev.filter(|p| p.record.partition == out.record.partition);
        let at = usize::try_from(out.count).ok().filter(|&c| c < seen.len());
        let twin = at.and_then(|c| seen[c].as_ref());
        // The common case, decided inline (as `count_problem` would): a
        // count in 1..=n, not seen before, not below the previous one of
        // its partition.
        let fine = (1..=n).contains(&out.count)
            && twin.is_none()
            && prev.is_none_or(|p| p.count <= out.count);
        if !fine {
            if let Some(problem) = count_problem(out, n, twin, prev) {
                let message = format!("{} has a wrong count: {problem}", out.record);
                return Some(about(
                    &out.record,
                    kind::WRONG_COUNT,
                    message,
                    vec![out.txn],
                ));
            }
        }
        if let Some(c) = at {
            seen[c] = Some(out.record);
        }
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
