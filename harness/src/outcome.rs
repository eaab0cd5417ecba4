//! What one simulated run left behind, for the checkers: the trace, the
//! committed and still pending output read from the `sink` host's disk,
//! and the input log.

use crate::fault::Fault;
use crate::trace::TraceEvent;
use flinch_engine::event::JobState;
use flinch_engine::record::{InputRecord, OutputRecord, TxnId};
use std::time::Duration;

/// One committed transaction as found on the sink's disk, in commit order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedTxn {
    pub txn: TxnId,
    pub records: Vec<OutputRecord>,
}

/// One transaction still pre-committed on the sink's disk after the run
/// (`/sink/pending/<txn>`): neither committed nor aborted, in file-name
/// order. Read for the `lingering-transaction` checker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingTxn {
    pub txn: TxnId,
    pub records: Vec<OutputRecord>,
}

#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub trace: Vec<TraceEvent>,
    pub committed: Vec<CommittedTxn>,
    /// What the sink still holds pre-committed after the run. A pending
    /// copy of a transaction that is also in `committed` is a commit whose
    /// cleanup did not happen (the sink's recovery removes it).
    pub pending: Vec<PendingTxn>,
    /// The input log, partition by partition, in offset order.
    pub input: Vec<Vec<InputRecord>>,
    /// The job's last state: `None` if the run hit its time bound first.
    pub final_state: Option<JobState>,
    pub sim_time: Duration,
    /// Faults of the plan whose time or event never came: a run in which
    /// a fault never fired proves nothing about that fault.
    pub unfired: Vec<Fault>,
    /// When each fault of the plan fired, in plan order (`None`: never).
    /// Shrinking pins a fault to this time when it removes its anchor.
    pub fired_at: Vec<Option<Duration>>,
}
