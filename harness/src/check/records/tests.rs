use super::*;
use crate::check::fixture::*;
use crate::check::MAX_PER_KIND;
use flinch_engine::record::OutputRecord;

/// The correct run, tampered with, checked by `checker`.
fn after(
    checker: fn(&RunOutcome) -> Vec<Violation>,
    tamper: impl FnOnce(&mut RunOutcome),
) -> Vec<Violation> {
    let mut run = correct_run();
    tamper(&mut run);
    checker(&run)
}

/// The one violation `violations` must hold.
fn only(violations: Vec<Violation>) -> Violation {
    assert_eq!(violations.len(), 1, "{violations:#?}");
    violations.into_iter().next().expect("length checked above")
}

fn at(v: &Violation) -> (Option<Key>, Option<u32>, Option<u64>) {
    (v.key, v.partition, v.offset)
}

fn of(r: &OutputRecord) -> (Option<Key>, Option<u32>, Option<u64>) {
    (Some(r.key), Some(r.partition), Some(r.offset))
}

#[test]
fn a_correct_run_has_exactly_once_output() {
    assert_eq!(exactly_once(&correct_run()), []);
    assert_eq!(at_least_once(&correct_run()), []);
}

#[test]
fn any_interleaving_of_partitions_is_correct_if_each_partition_keeps_its_order() {
    let run = run_in_order(partition_after_partition(&input()));
    assert_ne!(run.committed, correct_run().committed, "counts differ");
    assert_eq!(exactly_once(&run), []);
}

#[test]
fn a_dropped_record_is_missing_with_its_key_partition_and_offset() {
    let mut dropped = None;
    let v = only(after(exactly_once, |run| {
        dropped = Some(run.committed[2].records.remove(5));
    }));
    let dropped = dropped.expect("the tamper ran");
    assert_eq!(v.kind, kind::MISSING);
    assert_eq!(v.checker, Checker::ExactlyOnce);
    assert_eq!(at(&v), of(&dropped));
    assert!(v.txns.is_empty());
    assert_eq!(
        v.message,
        format!(
            "{} is missing: no committed transaction holds its output",
            dropped.input()
        )
    );
}

/// The generated input holds partition p's record at offset o at
/// `input[p][o]`, and the index finds records there; an input laid out
/// otherwise (here, its partitions listed in reverse) is checked the same
/// way through the index's fallback, passing and failing alike.
#[test]
fn an_input_not_laid_out_by_partition_and_offset_is_checked_the_same() {
    assert_eq!(after(exactly_once, |run| run.input.reverse()), []);
    let mut dropped = None;
    let v = only(after(exactly_once, |run| {
        run.input.reverse();
        dropped = Some(run.committed[2].records.remove(5));
    }));
    let dropped = dropped.expect("the tamper ran");
    assert_eq!(v.kind, kind::MISSING);
    assert_eq!(at(&v), of(&dropped));
    let v = only(after(exactly_once, |run| {
        run.input.reverse();
        let copy = run.committed[1].records[3];
        run.committed[2].records.push(copy);
    }));
    assert_eq!(v.kind, kind::DUPLICATED);
}

#[test]
fn a_transaction_committed_twice_duplicates_each_record_naming_both_transactions() {
    let run = {
        let mut run = correct_run();
        recommit(&mut run, 1, 2);
        run
    };
    let violations = exactly_once(&run);
    let copied = &run.committed[1].records;
    assert_eq!(violations.len(), copied.len().min(MAX_PER_KIND) + 1);
    assert!(violations.iter().all(|v| v.kind == kind::DUPLICATED));
    let first = &violations[0];
    let (once, twice) = (txn(2), TxnId { epoch: 2, ..txn(2) });
    assert_eq!(first.txns, [once, twice]);
    let record = copied
        .iter()
        .map(OutputRecord::input)
        .min()
        .expect("txn 2 has records");
    assert_eq!(
        at(first),
        (
            Some(record.key),
            Some(record.partition),
            Some(record.offset)
        )
    );
    assert_eq!(
        first.message,
        format!("{record} was committed 2 times: in txn-s0-e1-c2 and txn-s0-e2-c2")
    );
}

#[test]
fn a_record_twice_in_one_transaction_is_duplicated_in_that_transaction() {
    let v = only(after(exactly_once, |run| {
        let copy = run.committed[0].records[0];
        run.committed[0].records.push(copy);
    }));
    assert_eq!(v.kind, kind::DUPLICATED);
    assert_eq!(v.txns, [txn(1)]);
    assert!(
        v.message
            .ends_with("committed 2 times: in txn-s0-e1-c1 (2 copies)"),
        "{v}"
    );
}

#[test]
fn swapped_counts_within_a_partition_are_a_wrong_count_at_the_later_record() {
    let mut later = None;
    let v = only(after(exactly_once, |run| {
        let (a, b) = next_in_partition(run);
        let (ca, cb) = (output_mut(run, a).count, output_mut(run, b).count);
        output_mut(run, a).count = cb;
        output_mut(run, b).count = ca;
        later = Some((*output_mut(run, a), *output_mut(run, b)));
    }));
    let (a, b) = later.expect("the tamper ran");
    assert_eq!(v.kind, kind::WRONG_COUNT);
    assert_eq!(at(&v), of(&b));
    let expected = format!(
        "{} has a wrong count: count {} at offset {} after count {} at offset {} in partition {}",
        b.input(),
        b.count,
        b.offset,
        a.count,
        a.offset,
        a.partition
    );
    assert_eq!(v.message, expected);
}

#[test]
fn a_count_beyond_the_keys_records_is_a_wrong_count() {
    let mut changed = None;
    let v = only(after(exactly_once, |run| {
        let n = records_of(run, run.committed[3].records[0].key);
        run.committed[3].records[0].count = n + 1;
        changed = Some((run.committed[3].records[0], n));
    }));
    let (r, n) = changed.expect("the tamper ran");
    assert_eq!((v.kind, at(&v)), (kind::WRONG_COUNT, of(&r)));
    assert_eq!(v.txns, [txn(4)]);
    assert!(
        v.message
            .ends_with(&format!("count {} > {n} records of this key", n + 1)),
        "{v}"
    );
}

#[test]
fn a_count_given_to_two_records_is_a_wrong_count() {
    let mut key = None;
    let v = only(after(exactly_once, |run| {
        let last = run.committed[3].records.len() - 1;
        let r = &mut run.committed[3].records[last];
        r.count -= 1;
        key = Some((r.key, r.count));
    }));
    let (key, count) = key.expect("the tamper ran");
    assert_eq!((v.kind, v.key), (kind::WRONG_COUNT, Some(key)));
    assert!(
        v.message.contains(&format!("count {count} appears twice")),
        "{v}"
    );
}

#[test]
fn a_count_of_zero_is_a_wrong_count() {
    let v = only(after(exactly_once, |run| {
        run.committed[0].records[0].count = 0
    }));
    assert_eq!(v.kind, kind::WRONG_COUNT);
    assert!(v.message.ends_with("count 0, but counts start at 1"), "{v}");
}

#[test]
fn output_for_a_record_not_in_the_input_is_unexpected() {
    let stray = OutputRecord {
        key: 0,
        count: 1,
        partition: 1,
        offset: RECORDS,
    };
    let v = only(after(exactly_once, |run| {
        run.committed[1].records.push(stray)
    }));
    assert_eq!((v.kind, at(&v)), (kind::UNEXPECTED, of(&stray)));
    assert_eq!(v.txns, [txn(2)]);
    assert_eq!(
        v.message,
        format!("key-0 (partition 1, offset {RECORDS}) is not in the input, but output for it was committed in txn-s0-e1-c2")
    );
}

#[test]
fn at_least_once_reports_loss_only() {
    let v = only(after(at_least_once, |run| {
        recommit(run, 0, 2);
        run.committed[1].records[0].count += 1;
        run.committed[2].records.remove(0);
    }));
    assert_eq!((v.checker, v.kind), (Checker::ExactlyOnce, kind::MISSING));
}

#[test]
fn dropping_a_hundred_records_reports_twenty_and_a_summary_of_the_rest() {
    let violations = after(exactly_once, |run| {
        run.committed[0].records.clear();
        run.committed[1].records.drain(..40);
    });
    assert_eq!(
        RECORDS / TXNS,
        60,
        "the fixture's transactions hold 60 records"
    );
    assert_eq!(violations.len(), MAX_PER_KIND + 1);
    assert!(violations.iter().all(|v| v.kind == kind::MISSING));
    assert!(violations[..MAX_PER_KIND].iter().all(|v| v.key.is_some()));
    let summary = violations.last().expect("not empty");
    assert_eq!(summary.message, "... and 80 more missing records");
    assert_eq!(at(summary), (None, None, None));
    let loss = after(at_least_once, |run| run.committed.truncate(1));
    assert_eq!(
        loss.last().map(|v| v.message.as_str()),
        Some("... and 160 more missing records")
    );
}

/// The order the checkers visit the input in ([`Pass`]: slot order, or
/// sorted when records are away from home), sorted by key, agrees with
/// sorting by (key, partition, offset), for few keys and many.
#[test]
fn key_order_is_key_then_partition_then_offset_for_few_keys_and_many() {
    let record = |key, partition, offset| InputRecord {
        key,
        partition,
        offset,
    };
    // By the records' own fields (where the input holds them, at home).
    let reference = |input: &[Vec<InputRecord>]| {
        let mut all: Vec<(InputRecord, usize, usize)> = (input.iter().enumerate())
            .flat_map(|(p, log)| log.iter().enumerate().map(move |(i, r)| (*r, p, i)))
            .collect();
        all.sort();
        all.into_iter().map(|(_, p, i)| (p, i)).collect::<Vec<_>>()
    };
    let few = |p: u32| {
        (0..50)
            .map(|i| record((i * 7 + p) % 5, p, u64::from(i)))
            .collect()
    };
    let many = |p: u32| {
        (0..50)
            .map(|i| record(u32::MAX - (i * 7 + p) % 5, p, u64::from(i)))
            .collect()
    };
    let mut away: Vec<Vec<InputRecord>> = vec![few(0), few(1)];
    away[1][3].offset = 99;
    for input in [vec![few(0), few(1)], vec![many(0), many(1)], away, vec![]] {
        let index = Index::new(&input, &[]);
        assert_eq!(index.key_order(), reference(&input), "{input:?}");
    }
}

/// Keys far apart, which the checker numbers by rank instead of using them
/// as table indexes, are judged as close ones are: the same violations at
/// the same records.
#[test]
fn keys_far_apart_are_judged_as_close_ones() {
    let far = |key: Key| u32::MAX - key * 7919;
    let spread = |run: &mut RunOutcome| {
        for r in run.input.iter_mut().flatten() {
            r.key = far(r.key);
        }
        for r in run.committed.iter_mut().flat_map(|t| &mut t.records) {
            r.key = far(r.key);
        }
    };
    let tampers: [fn(&mut RunOutcome); 4] = [
        |run| {
            let (a, b) = next_in_partition(run);
            let (ca, cb) = (output_mut(run, a).count, output_mut(run, b).count);
            output_mut(run, a).count = cb;
            output_mut(run, b).count = ca;
        },
        |run| output_mut(run, (1, 3)).count = 0,
        |run| {
            run.committed[2].records.remove(5);
        },
        |run| {
            let copy = run.committed[1].records[3];
            run.committed[2].records.push(copy);
        },
    ];
    let found = |violations: Vec<Violation>| {
        let mut found: Vec<_> = (violations.iter())
            .map(|v| (v.kind, v.partition, v.offset))
            .collect();
        found.sort();
        found
    };
    for tamper in tampers {
        let close = after(exactly_once, tamper);
        assert!(!close.is_empty(), "the tamper is caught");
        let apart = after(exactly_once, |run| {
            tamper(run);
            spread(run);
        });
        assert_eq!(found(apart), found(close));
    }
}

/// Two equal records in a hand-made input (the one at home gets every
/// copy, the other none) are reported in input order, however long the
/// input: here the one without a copy comes first.
#[test]
fn equal_input_records_are_reported_in_input_order() {
    // Key k at offset k + 1, shuffled, with key 27's record twice: at
    // slot 5 and at home (slot 28). 33 records, past the short inputs
    // whose sort kept equal records in order anyway.
    let keys = [
        22, 28, 30, 3, 10, 27, 20, 1, 6, 25, 16, 19, 9, 7, 14, 11, 15, 29, 12, 13, 23, 17, 5, 18,
        26, 21, 4, 31, 27, 24, 2, 8, 0,
    ];
    let log: Vec<InputRecord> = (keys.iter())
        .map(|&key| InputRecord {
            key,
            partition: 0,
            offset: u64::from(key) + 1,
        })
        .collect();
    assert_eq!(log[28], log[5]);
    let output = |key: Key| OutputRecord {
        key,
        count: 1,
        partition: 0,
        offset: u64::from(key) + 1,
    };
    let mut records: Vec<OutputRecord> = (0..32).map(output).collect();
    records.push(output(27));
    let mut run = correct_run();
    run.input = vec![log];
    run.committed = vec![CommittedTxn {
        txn: txn(1),
        records,
    }];
    let kinds: Vec<_> = (exactly_once(&run).into_iter())
        .filter(|v| v.key == Some(27))
        .map(|v| v.kind)
        .collect();
    assert_eq!(kinds, [kind::MISSING, kind::DUPLICATED]);
}
