//! When a violation happened: the simulated time it refers to
//! ([`Violation::at`]), which the terminal summary centres its trace lines
//! on and the report's timeline marks.
//!
//! Each checker sets the moment it knows: a restore's (`recovered-state`,
//! `restore-was-completed`, `key-group-coverage`), a checkpoint's
//! completion (`consistent-cut`), a failover's or a restart's
//! (`restart-conformance`), a deposed leader's action (`single-leader`),
//! the missed deadline (`liveness`), the job's end (`lingering-transaction`
//! and the `expected-outcome` verdicts on how the job ended), a panic's
//! step. [`place`] gives the rest the moment their evidence points at: an
//! output record's, the commit that made it wrong; anything else, the end
//! of the run, when the output and storage were judged.

use super::kind;
use crate::trace::{TraceEvent, What};
use crate::violation::Violation;
use flinch_engine::event::Event;
use flinch_engine::record::TxnId;
use std::collections::BTreeMap;
use std::time::Duration;

/// Fill in [`Violation::at`] where the checker left it `None`, from the
/// run's `trace` and its length `sim_time`:
/// - a violation with transactions (`txns`): the commit that made the
///   output wrong, the second holder's of a `duplicated` record (the first
///   copy was right), the first holder's otherwise (`unexpected`,
///   `wrong-count`, `wrong-value`, `committed-after-failure`);
/// - any other, and one whose transactions were never traced as committed
///   (output declared lost): `sim_time`, the end of the run, when the
///   output and checkpoint storage were read and judged (`missing`,
///   `snapshot-ownership`, `lifecycle-incomplete`, `vacuous`).
///
/// A checker's summary line (`omitted`, `... and 380 more`) stands for
/// many moments and keeps `None`.
pub fn place(violations: &mut [Violation], trace: &[TraceEvent], sim_time: Duration) {
    if violations
        .iter()
        .all(|v| v.at.is_some() || v.omitted.is_some())
    {
        return;
    }
    let committed = commit_times(trace);
    for v in violations.iter_mut() {
        if v.at.is_some() || v.omitted.is_some() {
            continue;
        }
        let culprit = match v.kind {
            kind::DUPLICATED => v.txns.get(1).or(v.txns.first()),
            _ => v.txns.first(),
        };
        let at = culprit.and_then(|txn| committed.get(txn)).copied();
        v.at = Some(at.unwrap_or(sim_time));
    }
}

/// When each transaction was first committed, by the trace.
fn commit_times(trace: &[TraceEvent]) -> BTreeMap<TxnId, Duration> {
    let mut times = BTreeMap::new();
    for e in trace {
        if let What::Engine(Event::TxnCommitted { txn, .. }) = &e.what {
            times.entry(*txn).or_insert(e.at);
        }
    }
    times
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::fixture::{event, txn};
    use crate::violation::Checker;

    fn committed(ms: u64, checkpoint: u64) -> TraceEvent {
        let txn = txn(checkpoint);
        event(
            Duration::from_millis(ms),
            "sink",
            Event::TxnCommitted { txn, records: 1 },
        )
    }

    #[test]
    fn a_duplicate_happened_at_its_second_commit_and_a_missing_record_at_the_end() {
        let trace = vec![committed(100, 1), committed(250, 2)];
        let end = Duration::from_millis(900);
        let mut violations = vec![
            Violation {
                txns: vec![txn(1), txn(2)],
                ..Violation::new(Checker::ExactlyOnce, kind::DUPLICATED, "")
            },
            Violation {
                txns: vec![txn(2)],
                ..Violation::new(Checker::ExactlyOnce, kind::UNEXPECTED, "")
            },
            Violation::new(Checker::ExactlyOnce, kind::MISSING, ""),
            Violation {
                txns: vec![txn(3)],
                ..Violation::new(Checker::ExactlyOnce, kind::WRONG_VALUE, "")
            },
            Violation {
                at: Some(Duration::from_millis(5)),
                ..Violation::new(Checker::Liveness, kind::NOT_LIVE, "")
            },
            Violation {
                omitted: Some(3),
                ..Violation::new(Checker::ExactlyOnce, kind::MISSING, "")
            },
        ];
        place(&mut violations, &trace, end);
        let ms: Vec<Option<u128>> = violations
            .iter()
            .map(|v| v.at.map(|at| at.as_millis()))
            .collect();
        assert_eq!(
            ms,
            [Some(250), Some(250), Some(900), Some(900), Some(5), None]
        );
    }
}
