//! A bound on what one checker reports: the first [`MAX_PER_KIND`]
//! violations of each kind, then one summary of that kind counting the rest.

use super::kind;
use crate::violation::Violation;
use std::collections::BTreeMap;

/// How many violations of one kind a checker reports before it summarizes.
pub const MAX_PER_KIND: usize = 20;

/// Keeps the order of `violations`; the summary of a kind follows the last
/// violation kept of that kind.
pub(super) fn limit(violations: Vec<Violation>) -> Vec<Violation> {
    let mut totals: BTreeMap<&'static str, usize> = BTreeMap::new();
    for v in &violations {
        *totals.entry(v.kind).or_default() += 1;
    }
    let mut kept: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut out = Vec::new();
    for v in violations {
        let n = kept.entry(v.kind).or_default();
        *n += 1;
        if *n > MAX_PER_KIND {
            continue;
        }
        let omitted = totals[v.kind] - *n;
        let summary = (*n == MAX_PER_KIND && omitted > 0).then(|| summary(&v, omitted));
        out.push(v);
        out.extend(summary);
    }
    out
}

fn summary(last_kept: &Violation, omitted: usize) -> Violation {
    let what = match last_kept.kind {
        kind::MISSING => "missing records".to_string(),
        kind::DUPLICATED => "duplicated records".to_string(),
        kind::UNEXPECTED => "unexpected records".to_string(),
        kind::WRONG_COUNT => "keys with wrong counts".to_string(),
        other => format!("{other} violations"),
    };
    Violation {
        omitted: Some(u64::try_from(omitted).unwrap_or(u64::MAX)),
        ..Violation::new(
            last_kept.checker,
            last_kept.kind,
            format!("... and {omitted} more {what}"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::violation::Checker;

    /// Limits a run of violations given as kinds, returning kind and message.
    fn check(kinds: &[&'static str]) -> Vec<(&'static str, String)> {
        let input = kinds
            .iter()
            .enumerate()
            .map(|(i, kind)| Violation::new(Checker::ExactlyOnce, kind, format!("{kind} {i}")));
        limit(input.collect())
            .into_iter()
            .map(|v| (v.kind, v.message))
            .collect()
    }

    #[test]
    fn twenty_of_a_kind_pass_unchanged() {
        let kinds = vec!["missing"; MAX_PER_KIND];
        assert_eq!(check(&kinds).len(), MAX_PER_KIND);
        assert!(check(&kinds).iter().all(|(_, m)| !m.starts_with("...")));
    }

    #[test]
    fn the_twenty_first_of_a_kind_becomes_a_summary_after_the_twentieth() {
        let mut kinds = vec!["duplicated"];
        kinds.extend(vec!["missing"; 25]);
        kinds.push("duplicated");
        kinds.push("digest-mismatch");
        kinds.extend(vec!["digest-mismatch"; 21]);
        let out = check(&kinds);
        assert_eq!(out.len(), 1 + 20 + 1 + 1 + 20 + 1);
        assert_eq!(out[0], ("duplicated", "duplicated 0".to_string()));
        assert_eq!(out[20], ("missing", "missing 20".to_string()));
        assert_eq!(
            out[21],
            ("missing", "... and 5 more missing records".into())
        );
        let summary = limit(
            kinds
                .iter()
                .map(|k| Violation::new(Checker::ExactlyOnce, k, String::new()))
                .collect(),
        );
        assert_eq!(
            summary[21].omitted,
            Some(5),
            "the summary counts what it stands for"
        );
        assert_eq!(summary[20].omitted, None);
        let total: u64 = summary.iter().map(Violation::count).sum();
        assert_eq!(total, kinds.len() as u64, "counted as records, not lines");
        assert_eq!(out[22], ("duplicated", "duplicated 26".to_string()));
        assert_eq!(
            out.last(),
            Some(&(
                "digest-mismatch",
                "... and 2 more digest-mismatch violations".into()
            ))
        );
    }
}
