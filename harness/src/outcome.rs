//! What one simulated run left behind, for the checkers: the trace, the
//! committed and still pending output read from the `sink` host's disk,
//! and the input log.

use crate::fault::Fault;
use crate::trace::TraceEvent;
use flinch_engine::event::JobState;
use flinch_engine::record::{self, InputRecord, OutputRecord, Record, TxnId};
use std::time::Duration;

/// keyed-count's output record from the engine record its sink stored: key
/// the encoded `u32` key, value the encoded `u64` count, origin the input
/// record's `(partition, offset)`. The one place the harness reads
/// keyed-count's engine records, so every checker works on
/// [`OutputRecord`]s. Errors: a key or value of another type, or no origin
/// (keyed-count never emits from a timer), naming the transaction.
pub fn keyed_count_output(txn: TxnId, r: &Record) -> Result<OutputRecord, String> {
    let bad = |what: &str| format!("{txn} holds a record that is not keyed-count's: {what}");
    let key = record::decode_uint(&r.key).map_err(|e| bad(&format!("key: {e}")))?;
    let count = record::decode_uint(&r.value).map_err(|e| bad(&format!("count: {e}")))?;
    let (partition, offset) = r.origin.ok_or_else(|| bad("no origin"))?;
    Ok(OutputRecord {
        key,
        count,
        partition,
        offset,
    })
}

/// Every record of a transaction as keyed-count's output.
pub fn keyed_count_outputs(txn: TxnId, records: &[Record]) -> Result<Vec<OutputRecord>, String> {
    // Sized up front: collecting `Result`s gives no size hint.
    let mut outputs = Vec::with_capacity(records.len());
    for r in records {
        outputs.push(keyed_count_output(txn, r)?);
    }
    Ok(outputs)
}

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
    /// The sink's committed transactions, in commit order, as engine
    /// records: any job's output.
    pub output: Vec<(TxnId, Vec<Record>)>,
    /// What the sink still holds pre-committed after the run. A pending
    /// copy of a transaction that is also committed is a commit whose
    /// cleanup did not happen (the sink's recovery removes it).
    pub output_pending: Vec<(TxnId, Vec<Record>)>,
    /// Transactions the sink aborted after `sink.transaction_timeout` that
    /// the job declared lost (`txn_lost`, with
    /// `sink.ignore_failures_after_transaction_timeout`), as engine records:
    /// output missing on purpose. The output checkers count it as output,
    /// so that only this loss is forgiven, and reports say how much it was.
    pub output_lost: Vec<(TxnId, Vec<Record>)>,
    /// Every transaction the sink aborted after `sink.transaction_timeout`
    /// (`/sink/timed-out/`). A pending copy of one is not lingering: only
    /// its removal failed, and the sink counts it as timed out.
    pub timed_out: Vec<TxnId>,
    /// The job's input log, partition by partition, in offset order.
    pub job_input: Vec<Vec<Record>>,
    /// Where each partition's input ended when the lifecycle ended the job
    /// with a drained stop ([`crate::lifecycle::drained_input_ends`]):
    /// the output is judged against the log up to there
    /// ([`RunOutcome::judged_input`]). `None`: the whole log.
    pub drained_ends: Option<Vec<u64>>,
    /// keyed-count's committed output, decoded (empty for other jobs).
    pub committed: Vec<CommittedTxn>,
    /// keyed-count's pending transactions, decoded (empty for other jobs).
    pub pending: Vec<PendingTxn>,
    /// keyed-count's declared-lost transactions ([`RunOutcome::output_lost`]),
    /// decoded (empty for other jobs).
    pub lost: Vec<CommittedTxn>,
    /// keyed-count's input log, typed (empty for other jobs); up to
    /// [`RunOutcome::drained_ends`], if any.
    pub input: Vec<Vec<InputRecord>>,
    /// The job's last state: `None` if the run hit its time bound first.
    pub final_state: Option<JobState>,
    pub sim_time: Duration,
    /// How many host steps the simulation ran, and how many it skipped
    /// because the host was idle (for `flinch bench`; no checker reads it).
    pub host_steps: turmoil::HostSteps,
    /// Connection requests refused at a full accept queue
    /// ([`crate::seed::SeedReport::refused_connections`]).
    pub refused_connections: u64,
    /// Faults of the plan whose time or event never came: a run in which
    /// a fault never fired proves nothing about that fault.
    pub unfired: Vec<Fault>,
    /// When each fault of the plan fired, in plan order (`None`: never).
    /// Shrinking pins a fault to this time when it removes its anchor.
    pub fired_at: Vec<Option<Duration>>,
    /// Why each fault of the plan that fired did nothing, in plan order
    /// (`None`: it took effect, or never fired): a `bit_rot` whose path
    /// matched no non-empty file on its host's disk, an `io_errors` with a
    /// `path` that no disk operation met while it lasted, a bare `crash` or
    /// `pause` of a host already down, a bare `restart` of a host that was
    /// up (or stopped with the job). Such a run tested that fault no more
    /// than one where it never fired, so it is vacuous too
    /// ([`crate::seed`]).
    pub without_effect: Vec<Option<String>>,
    /// Every keyed operator snapshot, by (epoch, checkpoint, task), for a
    /// job other than keyed-count (empty for keyed-count, whose
    /// consistent-cut check compares digests).
    pub snapshots: crate::world::Snapshots,
    /// The checkpoints and savepoints whose metadata checkpoint storage
    /// still holds after the run (on any replica), as (checkpoint id, epoch
    /// that took it): what the job did not delete (the
    /// `snapshot-ownership` checker).
    pub stored_checkpoints: std::collections::BTreeSet<(u64, u64)>,
}

impl RunOutcome {
    /// The input the output is judged against: [`RunOutcome::job_input`],
    /// up to [`RunOutcome::drained_ends`] if the job was drained.
    pub fn judged_input(&self) -> std::borrow::Cow<'_, [Vec<Record>]> {
        judged(&self.job_input, self.drained_ends.as_deref())
    }
}

/// `log` with each partition cut at its entry in `ends`, if given.
pub fn judged<'a>(
    log: &'a [Vec<Record>],
    ends: Option<&[u64]>,
) -> std::borrow::Cow<'a, [Vec<Record>]> {
    let Some(ends) = ends else {
        return std::borrow::Cow::Borrowed(log);
    };
    let cut = |(partition, end): (&Vec<Record>, Option<&u64>)| {
        let end = end.map_or(partition.len(), |e| {
            usize::try_from(*e).unwrap_or(usize::MAX)
        });
        partition[..end.min(partition.len())].to_vec()
    };
    let ends = ends.iter().map(Some).chain(std::iter::repeat(None));
    std::borrow::Cow::Owned(log.iter().zip(ends).map(cut).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TXN: TxnId = TxnId {
        subtask: 1,
        epoch: 2,
        checkpoint: 3,
    };

    fn record(count: u64, origin: Option<(u32, u64)>) -> Record {
        Record {
            key: record::encode(&17u32).unwrap(),
            value: record::encode(&count).unwrap(),
            timestamp: 0,
            origin,
        }
    }

    #[test]
    fn keyed_counts_engine_records_read_back_as_its_output_records() {
        let read = keyed_count_outputs(TXN, &[record(4, Some((2, 9)))]);
        let expected = OutputRecord {
            key: 17,
            count: 4,
            partition: 2,
            offset: 9,
        };
        assert_eq!(read, Ok(vec![expected]));
        // The largest values the fields hold read back too.
        let max = Record {
            key: record::encode(&u32::MAX).unwrap(),
            ..record(u64::MAX, Some((u32::MAX, u64::MAX)))
        };
        assert!(keyed_count_output(TXN, &max).is_ok());
    }

    #[test]
    fn a_record_that_is_not_keyed_counts_names_its_transaction() {
        let no_origin = keyed_count_output(TXN, &record(4, None)).unwrap_err();
        assert_eq!(
            no_origin,
            "txn-s1-e2-c3 holds a record that is not keyed-count's: no origin"
        );
        let bad_count = Record {
            value: Vec::new().into(),
            ..record(4, Some((0, 0)))
        };
        let err = keyed_count_output(TXN, &bad_count).unwrap_err();
        assert!(err.starts_with("txn-s1-e2-c3 holds a record that is not keyed-count's: count"));
        let bad_key = Record {
            key: vec![0xff; 6].into(),
            ..record(4, Some((0, 0)))
        };
        assert!(keyed_count_output(TXN, &bad_key).is_err());
    }
}

/// The engine record keyed-count's sink stores for `r`: the inverse of
/// [`keyed_count_output`] (for tests that build a run by hand).
pub fn keyed_count_record(r: &OutputRecord) -> Record {
    Record {
        key: record::encode(&r.key).expect("postcard encodes a u32"),
        value: record::encode(&r.count).expect("postcard encodes a u64"),
        timestamp: 0,
        origin: Some((r.partition, r.offset)),
    }
}
