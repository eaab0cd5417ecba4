//! The reference-model API of a job (docs/dataflow.md, "Reference models
//! and checkers"): what a job's model reports about a run's committed
//! output ([`Finding`]) and the shapes it checks a checkpoint's keyed state
//! in ([`KeyedState`], [`Timers`]), with the generic checkers for a job whose
//! expected output is a multiset computed from the input
//! ([`check_multiset`], [`check_multiset_at_least_once`]). The harness turns
//! findings into violations naming the transactions that hold the output.

use flinch_engine::record::Record;
use std::collections::BTreeMap;
use std::fmt;

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
        *found.entry((r.key.to_vec(), r.value.to_vec())).or_default() += 1;
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

/// `1 time`, `0 times`, `3 times`.
fn times(n: u64) -> String {
    format!("{n} time{}", if n == 1 { "" } else { "s" })
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
            let message = format!(
                "missing: {what} was committed {}, expected {want}",
                times(got)
            );
            Some((
                FindingKind::Missing {
                    expected: want,
                    found: got,
                },
                message,
            ))
        } else if got > want && !at_least_once {
            let message = format!(
                "duplicated: {what} was committed {}, expected {want}",
                times(got)
            );
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

    fn encode<T: serde::Serialize>(v: &T) -> Vec<u8> {
        flinch_engine::record::encode(v).unwrap().to_vec()
    }

    fn rec(key: u32, value: u64) -> Record {
        Record {
            key: encode(&key).into(),
            value: encode(&value).into(),
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
}
