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

    /// Every input record's slot, in (key, partition, offset) order: the
    /// order in which violations of a kind are reported. (The checkers
    /// visit records in [`Pass`] order and sort what they find.)
    #[cfg(test)]
    fn key_order(&self) -> Vec<Slot> {
        let pass = Pass::new(self);
        let mut order = Vec::new();
        pass.visit(self.input, |pos, slot| {
            order.push((self.record(slot).key, pos, slot));
        });
        order.sort_unstable();
        order.into_iter().map(|(_, _, slot)| slot).collect()
    }
}

/// The order in which the checkers visit the input: by the records'
/// (partition, offset), so that each key's records come in the order its
/// counts must rise in, and the tables shaped like the input are read
/// front to back (in key order, each record was a cache miss in three
/// tables: BENCHMARKS.md). For the generated input that is slot order;
/// an input with records away from home is sorted first.
struct Pass {
    /// Slots in visiting order, when not slot order.
    sorted: Option<Vec<Slot>>,
    /// In slot order, where each partition's records begin.
    starts: Vec<usize>,
}

impl Pass {
    fn new(index: &Index) -> Pass {
        let mut starts = Vec::with_capacity(index.input.len());
        let mut total = 0;
        for log in index.input {
            starts.push(total);
            total += log.len();
        }
        let sorted = (!index.elsewhere.is_empty()).then(|| {
            let mut order: Vec<Slot> = (index.input.iter().enumerate())
                .flat_map(|(p, log)| (0..log.len()).map(move |i| (p, i)))
                .collect();
            order.sort_unstable_by_key(|&slot| {
                let r = index.record(slot);
                (r.partition, r.offset, slot)
            });
            order
        });
        Pass { sorted, starts }
    }

    /// `f(position, slot)` for every slot, positions counting from 0.
    fn visit(&self, input: &[Vec<InputRecord>], mut f: impl FnMut(usize, Slot)) {
        match &self.sorted {
            Some(order) => order
                .iter()
                .enumerate()
                .for_each(|(pos, &slot)| f(pos, slot)),
            None => {
                let mut pos = 0;
                for (p, log) in input.iter().enumerate() {
                    for i in 0..log.len() {
                        f(pos, (p, i));
                        pos += 1;
                    }
                }
            }
        }
    }

    /// The slot visited at `pos`.
    fn slot(&self, pos: usize) -> Slot {
        match &self.sorted {
            Some(order) => order[pos],
            None => {
                // The last partition starting at or before `pos` (empty
                // partitions start where the next one does).
                let p = self.starts.partition_point(|&s| s <= pos) - 1;
                (p, pos - self.starts[p])
            }
        }
    }
}

/// Dense numbers for the input's keys, to keep per-key state in a table:
/// the key itself when keys are few next to records (keyed-count's are
/// `0..keys`), else its rank among the distinct keys.
enum KeyIds {
    Direct(usize),
    Ranked(Vec<Key>),
}

impl KeyIds {
    fn new(input: &[Vec<InputRecord>]) -> KeyIds {
        let total: usize = input.iter().map(Vec::len).sum();
        let direct = (input.iter().flatten().map(|r| r.key).max()).map_or(0, |k| k as usize + 1);
        if direct <= total.saturating_mul(2).max(1024) {
            return KeyIds::Direct(direct);
        }
        let mut keys: Vec<Key> = input.iter().flatten().map(|r| r.key).collect();
        keys.sort_unstable();
        keys.dedup();
        KeyIds::Ranked(keys)
    }

    fn len(&self) -> usize {
        match self {
            KeyIds::Direct(n) => *n,
            KeyIds::Ranked(keys) => keys.len(),
        }
    }

    /// `key`'s number; `key` is one of the input's.
    fn id(&self, key: Key) -> usize {
        match self {
            KeyIds::Direct(_) => key as usize,
            KeyIds::Ranked(keys) => keys.binary_search(&key).expect("every input key is ranked"),
        }
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
/// Linear in the input and the committed output: one pass over the input
/// in [`Pass`] order, judging each key's counts as its records come.
/// Reported in this order: missing and duplicated records together, in
/// (key, partition, offset) order (two equal input records of a
/// hand-made input in input order); then unexpected output, by record;
/// then wrong counts, by key.
pub fn exactly_once(outcome: &RunOutcome) -> Vec<Violation> {
    let index = Index::new(&outcome.input, &outcome.committed);
    let pass = Pass::new(&index);
    let mut counts = Counts::new(index.input);
    // Records without exactly one copy, by (key, position).
    let mut flawed_records: Vec<(Key, usize, Slot)> = Vec::new();
    let mut wrong: Vec<(Key, Violation)> = Vec::new();
    pass.visit(index.input, |pos, slot| {
        let record = index.record(slot);
        let (p, i) = slot;
        match index.first[p][i] {
            Some(only) if !index.more.contains_key(&slot) => {
                if let Some(v) = counts.judge(&pass, &index, pos, record, only) {
                    wrong.push((record.key, v));
                }
            }
            _ => {
                counts.flaw(record.key);
                flawed_records.push((record.key, pos, slot));
            }
        }
    });
    flawed_records.sort_unstable();
    let mut violations: Vec<Violation> = (flawed_records.iter())
        .filter_map(|&(_, _, slot)| missing_or_duplicated(&index, slot))
        .collect();
    violations.extend(unexpected(&index));
    let flawed: BTreeSet<Key> = violations.iter().filter_map(|v| v.key).collect();
    wrong.sort_by_key(|(key, _)| *key);
    let unexplained = wrong.into_iter().filter(|(key, _)| !flawed.contains(key));
    violations.extend(unexplained.map(|(_, v)| v));
    cap::limit(violations)
}

/// Each input record has at least one committed output; duplicates, and the
/// counts they shift, are allowed.
pub fn at_least_once(outcome: &RunOutcome) -> Vec<Violation> {
    let index = Index::new(&outcome.input, &outcome.committed);
    let pass = Pass::new(&index);
    let mut lost: Vec<(Key, usize, Slot)> = Vec::new();
    pass.visit(index.input, |pos, slot| {
        if index.copies(slot) == 0 {
            lost.push((index.record(slot).key, pos, slot));
        }
    });
    lost.sort_unstable();
    let violations = (lost.iter())
        .map(|&(_, _, slot)| missing(index.record(slot)))
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

/// Each key's counts, judged as its records come in [`Pass`] order: a key
/// with n records has the counts 1..=n, each once, rising with the offset
/// within each partition. At most one `wrong-count` a key: the first.
struct Counts {
    keys: KeyIds,
    by_key: Vec<KeyCounts>,
    /// For each key, for each count from 0 to its n, the position of the
    /// record that has it (`NONE`: none yet); a key's run starts at its
    /// `KeyCounts::seen`.
    seen: Vec<usize>,
}

const NONE: usize = usize::MAX;

#[derive(Clone, Default)]
struct KeyCounts {
    /// How many input records the key has.
    n: u64,
    /// Where its run of `Counts::seen` starts.
    seen: usize,
    /// Its last record so far: position, partition and count.
    last: Option<(usize, u32, u64)>,
    /// Judged: it has a wrong count, or a record without exactly one copy
    /// (whose violation explains it). A wrong count found before such a
    /// record is dropped at the end, with those of keys that have
    /// unexpected output.
    done: bool,
}

impl Counts {
    fn new(input: &[Vec<InputRecord>]) -> Counts {
        let keys = KeyIds::new(input);
        let mut by_key = vec![KeyCounts::default(); keys.len()];
        for r in input.iter().flatten() {
            by_key[keys.id(r.key)].n += 1;
        }
        let mut total = 0;
        for k in &mut by_key {
            k.seen = total;
            total += usize::try_from(k.n).expect("a key's records fit in memory") + 1;
        }
        Counts {
            keys,
            by_key,
            seen: vec![NONE; total],
        }
    }

    /// `key` has a record without exactly one copy: its counts are not
    /// judged.
    fn flaw(&mut self, key: Key) {
        self.by_key[self.keys.id(key)].done = true;
    }

    /// The record at `pos`, whose one copy is `only`: its key's first
    /// wrong count, if this is it.
    fn judge(
        &mut self,
        pass: &Pass,
        index: &Index,
        pos: usize,
        record: &InputRecord,
        only: Held,
    ) -> Option<Violation> {
        let k = &mut self.by_key[self.keys.id(record.key)];
        if k.done {
            return None;
        }
        let (n, count) = (k.n, only.count);
        let prev = k
            .last
            .filter(|&(_, partition, _)| partition == record.partition);
        let at = usize::try_from(count).ok().filter(|&c| c as u64 <= n);
        let twin = at.map(|c| self.seen[k.seen + c]).filter(|&t| t != NONE);
        // The common case, decided inline (as `count_problem` would): a
        // count in 1..=n, not seen before, not below the previous one of
        // its partition.
        let fine =
            (1..=n).contains(&count) && twin.is_none() && prev.is_none_or(|(_, _, c)| c <= count);
        if !fine {
            let twin = twin.map(|t| index.record(pass.slot(t)));
            let prev = prev.map(|(p, _, c)| (index.record(pass.slot(p)), c));
            if let Some(problem) = count_problem(record, count, n, twin, prev) {
                k.done = true;
                let message = format!("{record} has a wrong count: {problem}");
                return Some(about(record, kind::WRONG_COUNT, message, vec![only.txn]));
            }
        }
        if let Some(c) = at {
            self.seen[k.seen + c] = pos;
        }
        k.last = Some((pos, record.partition, count));
        None
    }
}

/// What is wrong with `record`'s `count`, given the key's `n` records, the
/// record that already has this count (if any) and the one before it in
/// its partition with its count (if any).
fn count_problem(
    record: &InputRecord,
    count: u64,
    n: u64,
    twin: Option<&InputRecord>,
    prev: Option<(&InputRecord, u64)>,
) -> Option<String> {
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
    let (prev, prev_count) = prev.filter(|&(_, c)| c > count)?;
    Some(format!(
        "count {count} at offset {} after count {prev_count} at offset {} in partition {}",
        record.offset, prev.offset, record.partition
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
