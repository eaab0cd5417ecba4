//! A violation is data: which checker, what kind, and the evidence a user
//! needs to find the record, transaction or checkpoint.
//!
//! A run that breaks usually breaks at several levels at once: a job that
//! never finished also leaves records missing. [`root_cause_first`] orders
//! violations so that the first one printed is the one that explains the
//! others ([`Cause`]), and a [`Tally`] counts them the way a person asks
//! "how bad is it": records, not report lines.

use flinch_engine::event::TaskId;
use flinch_engine::record::{Key, TxnId};
use serde::Serialize;
use std::fmt;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Checker {
    ExactlyOnce,
    RecoveredState,
    RestoreWasCompleted,
    /// A restore left a key group to the wrong subtask, to two, or to none
    /// (`check/keygroups.rs`).
    KeyGroupCoverage,
    ConsistentCut,
    /// A finished job left a transaction pre-committed on the sink
    /// (`check/lingering.rs`).
    LingeringTransaction,
    /// A job deleted a snapshot it does not own: a savepoint, or what a
    /// `no-claim` resume restored (`check/ownership.rs`).
    SnapshotOwnership,
    RestartConformance,
    /// A deposed jobmanager acted beside the leader `ha` elected after it
    /// (`check/leader.rs`).
    SingleLeader,
    Liveness,
    ExpectedOutcome,
}

impl Checker {
    pub fn name(self) -> &'static str {
        match self {
            Checker::ExactlyOnce => "exactly-once",
            Checker::RecoveredState => "recovered-state",
            Checker::RestoreWasCompleted => "restore-was-completed",
            Checker::KeyGroupCoverage => "key-group-coverage",
            Checker::ConsistentCut => "consistent-cut",
            Checker::LingeringTransaction => "lingering-transaction",
            Checker::SnapshotOwnership => "snapshot-ownership",
            Checker::RestartConformance => "restart-conformance",
            Checker::SingleLeader => "single-leader",
            Checker::Liveness => "liveness",
            Checker::ExpectedOutcome => "expected-outcome",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub checker: Checker,
    /// Short kebab-case name: `missing`, `duplicated`, `wrong-count`,
    /// `digest-mismatch`, `job-did-not-fail`, ...
    pub kind: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<Key>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// Transactions that hold the offending output records.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub txns: Vec<TxnId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<TaskId>,
    /// On a summary line a checker writes after its cap
    /// ([`MAX_PER_KIND`](crate::check::MAX_PER_KIND) of a kind): how many
    /// violations of this kind the line stands for, which the list leaves
    /// out. `None` on every other violation, which stands for itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub omitted: Option<u64>,
    /// The simulated time (since the start of the run) the violation
    /// refers to, as each checker defines it: when the wrong record was
    /// committed, when the bad state was restored, when the job ended.
    /// `None` when nothing in the run marks a moment (a record that was
    /// never committed at all). `--json`: `at_ms`, in milliseconds.
    #[serde(
        rename = "at_ms",
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_ms"
    )]
    pub at: Option<Duration>,
}

fn ser_opt_ms<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        None => s.serialize_none(),
    }
}

impl Violation {
    /// A violation with only checker, kind and message; fill in evidence
    /// with struct update syntax.
    pub fn new(checker: Checker, kind: &'static str, message: impl Into<String>) -> Self {
        Violation {
            checker,
            kind,
            message: message.into(),
            key: None,
            partition: None,
            offset: None,
            txns: Vec::new(),
            checkpoint: None,
            task: None,
            omitted: None,
            at: None,
        }
    }

    /// How many violations this one stands for: 1, or on a checker's
    /// summary line the number it left out.
    pub fn count(&self) -> u64 {
        self.omitted.unwrap_or(1)
    }

    /// The level this violation is found at (see [`Cause`]).
    pub fn cause(&self) -> Cause {
        match self.checker {
            Checker::ExpectedOutcome if INTERNAL_KINDS.contains(&self.kind) => Cause::Internal,
            Checker::ExpectedOutcome
            | Checker::Liveness
            | Checker::RestartConformance
            | Checker::SingleLeader => Cause::Job,
            Checker::RecoveredState
            | Checker::RestoreWasCompleted
            | Checker::KeyGroupCoverage
            | Checker::ConsistentCut
            | Checker::LingeringTransaction
            | Checker::SnapshotOwnership => Cause::State,
            Checker::ExactlyOnce => Cause::Record,
        }
    }

    /// Sort key for [`root_cause_first`]: the cause, then, among job-level
    /// violations, the verdicts on how the job ended before the rest.
    fn rank(&self) -> (Cause, bool) {
        let cause = self.cause();
        let verdict = cause == Cause::Job && JOB_VERDICT_KINDS.contains(&self.kind);
        (cause, !verdict)
    }
}

/// The kind of the violation for a run in which a host panicked in the
/// engine's code: a found engine bug, `[expected-outcome] engine-panic:
/// engine/src/...:line:col at 1.234 s of simulated time: <message>` (see
/// [`crate::panics`] for how a panic is placed).
pub const ENGINE_PANIC: &str = "engine-panic";
/// The kind of the violation for a run that broke for a reason of turmoil's
/// or flinch's, not the engine's: a panic in turmoil, tokio or the harness,
/// any panic outside the hosts, or a host's error or a step turmoil
/// refused. The run has no verdict to trust.
pub const INTERNAL_ERROR: &str = "internal-error";
/// The kind of the violation for a run in which the job's own code
/// panicked: one of its operators while the hosts ran, or its model while
/// the run was checked (a file that is neither the engine's, the
/// harness's, the standard library's nor a dependency's): a bug of the job
/// under test, `[expected-outcome] job-panic: src/lib.rs:44:37 at 0.238 s
/// of simulated time, while the hosts ran: <message>`.
pub const JOB_PANIC: &str = "job-panic";
/// The kind of a violation that says a fault (or savepoint) of the plan
/// never fired or did nothing: the seed tested nothing it meant to.
pub const VACUOUS: &str = "vacuous";
/// Kinds of [`Cause::Internal`].
const INTERNAL_KINDS: [&str; 3] = [ENGINE_PANIC, JOB_PANIC, INTERNAL_ERROR];
/// The job-level verdicts that come first among [`Cause::Job`]: whether
/// and how the job ended.
const JOB_VERDICT_KINDS: [&str; 5] = [
    crate::check::kind::LIFECYCLE_INCOMPLETE,
    crate::check::kind::NOT_FINISHED,
    crate::check::kind::JOB_FAILED,
    crate::check::kind::JOB_DID_NOT_FAIL,
    crate::check::kind::WRONG_FAILURE_REASON,
];

/// Where a violation's cause sits, the deepest first. The order is the
/// order of explanation: a panic explains a job that did not finish, a job
/// that did not finish (or failed) explains bad state and missing records,
/// and bad restored state explains wrong output records. (TigerBeetle's
/// VOPR tells crash, liveness and correctness failures apart the same way.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cause {
    /// The simulation itself broke: a host panicked in the engine's code
    /// ([`ENGINE_PANIC`]), the job's own code panicked ([`JOB_PANIC`]), or
    /// turmoil or flinch broke ([`INTERNAL_ERROR`]).
    Internal,
    /// The job as a whole: how it ended (`not-finished`, `job-failed`,
    /// `job-did-not-fail`, `wrong-failure-reason`, first), then liveness,
    /// restart conformance, a job that resumed after its end, commits after
    /// a failure, and faults that never fired (`vacuous`).
    Job,
    /// Checkpointed or restored state: `recovered-state`,
    /// `restore-was-completed` and `consistent-cut`, and the sink's state
    /// of transactions (`lingering-transaction`).
    State,
    /// Output records, one violation per input record (or per key for
    /// `wrong-count`): the `exactly-once` and at-least-once checkers.
    Record,
}

impl Cause {
    /// How a [`Tally`] names it.
    pub fn label(self) -> &'static str {
        match self {
            Cause::Internal => "internal",
            Cause::Job => "job-level",
            Cause::State => "state",
            Cause::Record => "records",
        }
    }
}

/// Put the root cause first: sort by [`Cause`] (internal, job, state,
/// record), job verdicts first among job-level violations. The sort is
/// stable, so within a level the checkers' own order stays (and a
/// checker's summary line stays after the violations it follows).
pub fn root_cause_first(violations: &mut [Violation]) {
    violations.sort_by_key(Violation::rank);
}

/// How many violations a run has, by [`Cause`], each counted as what it
/// stands for (a checker's "... and 80 more missing records" counts 80), so
/// the numbers say how many records, not how many report lines.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub internal: u64,
    pub job: u64,
    pub state: u64,
    pub records: u64,
    /// Per cause, each kind with its count, in order of first appearance.
    #[serde(skip)]
    pub kinds: Vec<(Cause, &'static str, u64)>,
}

impl Tally {
    /// Count `violations`.
    pub fn of(violations: &[Violation]) -> Tally {
        let mut tally = Tally::default();
        for v in violations {
            let (cause, n) = (v.cause(), v.count());
            *tally.total_mut(cause) += n;
            match tally
                .kinds
                .iter_mut()
                .find(|(c, k, _)| *c == cause && *k == v.kind)
            {
                Some((_, _, count)) => *count += n,
                None => tally.kinds.push((cause, v.kind, n)),
            }
        }
        tally
    }

    /// All violations, each counted as what it stands for.
    pub fn total(&self) -> u64 {
        self.internal + self.job + self.state + self.records
    }

    fn total_mut(&mut self, cause: Cause) -> &mut u64 {
        match cause {
            Cause::Internal => &mut self.internal,
            Cause::Job => &mut self.job,
            Cause::State => &mut self.state,
            Cause::Record => &mut self.records,
        }
    }

    fn total_of(&self, cause: Cause) -> u64 {
        match cause {
            Cause::Internal => self.internal,
            Cause::Job => self.job,
            Cause::State => self.state,
            Cause::Record => self.records,
        }
    }
}

/// Root cause first, levels without violations left out:
/// `1 job-level (not-finished), 45 records (40 missing, 5 duplicated)`.
/// A level with one violation names its kind without a number.
impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for cause in [Cause::Internal, Cause::Job, Cause::State, Cause::Record] {
            let total = self.total_of(cause);
            if total == 0 {
                continue;
            }
            let label = match (cause, total) {
                (Cause::Record, 1) => "record",
                _ => cause.label(),
            };
            let kinds: Vec<String> = self
                .kinds
                .iter()
                .filter(|(c, _, _)| *c == cause)
                .map(|(_, kind, n)| {
                    if total == 1 {
                        kind.to_string()
                    } else {
                        format!("{n} {kind}")
                    }
                })
                .collect();
            let sep = if first { "" } else { ", " };
            write!(f, "{sep}{total} {label} ({})", kinds.join(", "))?;
            first = false;
        }
        if first {
            write!(f, "none")?;
        }
        Ok(())
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{}] {}: {}",
            self.checker.name(),
            self.kind,
            self.message
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::kind;

    fn v(checker: Checker, kind: &'static str) -> Violation {
        Violation::new(checker, kind, format!("{} {kind}", checker.name()))
    }

    fn order(mut violations: Vec<Violation>) -> Vec<(Checker, &'static str)> {
        root_cause_first(&mut violations);
        violations.iter().map(|v| (v.checker, v.kind)).collect()
    }

    #[test]
    fn the_root_cause_comes_first_panic_then_job_then_state_then_records() {
        use Checker::*;
        // In the order check_all reports them: output first.
        let found = vec![
            v(ExactlyOnce, kind::MISSING),
            v(ExactlyOnce, kind::DUPLICATED),
            v(RecoveredState, kind::DIGEST_MISMATCH),
            v(ConsistentCut, kind::INCONSISTENT_CUT),
            v(RestartConformance, kind::WRONG_DELAY),
            v(Liveness, kind::NOT_LIVE),
            v(ExpectedOutcome, kind::NOT_FINISHED),
            v(ExpectedOutcome, "vacuous"),
            v(ExpectedOutcome, ENGINE_PANIC),
        ];
        assert_eq!(
            order(found),
            [
                (ExpectedOutcome, ENGINE_PANIC),
                (ExpectedOutcome, kind::NOT_FINISHED),
                (RestartConformance, kind::WRONG_DELAY),
                (Liveness, kind::NOT_LIVE),
                (ExpectedOutcome, "vacuous"),
                (RecoveredState, kind::DIGEST_MISMATCH),
                (ConsistentCut, kind::INCONSISTENT_CUT),
                (ExactlyOnce, kind::MISSING),
                (ExactlyOnce, kind::DUPLICATED),
            ]
        );
    }

    #[test]
    fn job_verdicts_lead_the_job_level_and_internal_errors_lead_everything() {
        use Checker::*;
        let found = vec![
            v(ExpectedOutcome, kind::RESUMED_AFTER_END),
            v(ExpectedOutcome, kind::JOB_FAILED),
            v(ExactlyOnce, kind::MISSING),
            v(ExpectedOutcome, INTERNAL_ERROR),
        ];
        assert_eq!(
            order(found),
            [
                (ExpectedOutcome, INTERNAL_ERROR),
                (ExpectedOutcome, kind::JOB_FAILED),
                (ExpectedOutcome, kind::RESUMED_AFTER_END),
                (ExactlyOnce, kind::MISSING),
            ]
        );
        // Already in order, or a single violation: nothing moves.
        let one = vec![v(ExactlyOnce, kind::WRONG_COUNT)];
        assert_eq!(order(one), [(ExactlyOnce, kind::WRONG_COUNT)]);
        assert_eq!(order(Vec::new()), []);
    }

    #[test]
    fn the_order_within_a_level_is_kept_so_summaries_follow_their_kind() {
        let mut found: Vec<Violation> = (0..3)
            .map(|i| Violation {
                key: Some(i),
                ..v(Checker::ExactlyOnce, kind::MISSING)
            })
            .collect();
        found.push(Violation {
            omitted: Some(80),
            ..v(Checker::ExactlyOnce, kind::MISSING)
        });
        found.insert(0, v(Checker::Liveness, kind::NOT_LIVE));
        root_cause_first(&mut found);
        let keys: Vec<Option<Key>> = found.iter().map(|v| v.key).collect();
        assert_eq!(keys, [None, Some(0), Some(1), Some(2), None]);
        assert_eq!(found[4].omitted, Some(80));
    }

    #[test]
    fn a_tally_counts_records_not_lines() {
        let mut found: Vec<Violation> = (0..20)
            .map(|_| v(Checker::ExactlyOnce, kind::MISSING))
            .collect();
        found.push(Violation {
            omitted: Some(80),
            ..v(Checker::ExactlyOnce, kind::MISSING)
        });
        found.extend((0..5).map(|_| v(Checker::ExactlyOnce, kind::DUPLICATED)));
        found.push(v(Checker::RecoveredState, kind::DIGEST_MISMATCH));
        found.push(v(Checker::ExpectedOutcome, kind::NOT_FINISHED));
        let tally = Tally::of(&found);
        assert_eq!(
            (tally.internal, tally.job, tally.state, tally.records),
            (0, 1, 1, 105)
        );
        assert_eq!(tally.total(), 107);
        assert_eq!(
            tally.to_string(),
            "1 job-level (not-finished), 1 state (digest-mismatch), \
             105 records (100 missing, 5 duplicated)"
        );
        assert_eq!(
            serde_json::to_value(&tally).expect("serializes"),
            serde_json::json!({"internal": 0, "job": 1, "state": 1, "records": 105})
        );
    }

    #[test]
    fn a_tally_of_one_names_the_kind_and_of_none_says_so() {
        let panic = Tally::of(&[v(Checker::ExpectedOutcome, ENGINE_PANIC)]);
        assert_eq!(panic.to_string(), "1 internal (engine-panic)");
        let record = Tally::of(&[v(Checker::ExactlyOnce, kind::UNEXPECTED)]);
        assert_eq!(record.to_string(), "1 record (unexpected)");
        let jobs = Tally::of(&[
            v(Checker::Liveness, kind::NOT_LIVE),
            v(Checker::ExpectedOutcome, "vacuous"),
        ]);
        assert_eq!(jobs.to_string(), "2 job-level (1 not-live, 1 vacuous)");
        assert_eq!(Tally::of(&[]).to_string(), "none");
    }

    #[test]
    fn a_summary_line_serializes_what_it_stands_for() {
        let line = Violation {
            omitted: Some(7),
            ..v(Checker::ExactlyOnce, kind::MISSING)
        };
        let json = serde_json::to_value(&line).expect("serializes");
        assert_eq!(json["omitted"], 7);
        let plain =
            serde_json::to_value(v(Checker::ExactlyOnce, kind::MISSING)).expect("serializes");
        assert!(plain.get("omitted").is_none(), "{plain}");
    }
}
