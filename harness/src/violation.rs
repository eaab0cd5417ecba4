//! A violation is data: which checker, what kind, and the evidence a user
//! needs to find the record, transaction or checkpoint.

use flinch_engine::event::TaskId;
use flinch_engine::record::{Key, TxnId};
use serde::Serialize;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Checker {
    ExactlyOnce,
    RecoveredState,
    RestoreWasCompleted,
    ConsistentCut,
    RestartConformance,
    Liveness,
    ExpectedOutcome,
}

impl Checker {
    pub fn name(self) -> &'static str {
        match self {
            Checker::ExactlyOnce => "exactly-once",
            Checker::RecoveredState => "recovered-state",
            Checker::RestoreWasCompleted => "restore-was-completed",
            Checker::ConsistentCut => "consistent-cut",
            Checker::RestartConformance => "restart-conformance",
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
        }
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
