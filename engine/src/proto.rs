//! Every message that crosses the simulated network, by connection.

use crate::event::TaskId;
use crate::record::{Record, TxnId};
use crate::register::Versioned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

// ---- source task <-> log ----

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FetchRequest {
    pub partition: u32,
    pub from: u64,
    pub max: u32,
}

/// A [`FetchResponse`] read with its records left as the batch's bytes,
/// checked when they are read ([`crate::record::batch::split`] or
/// `decode`): what a source that forwards them without decoding them
/// reads. The same bytes on the wire.
#[derive(Debug, Deserialize)]
pub struct FetchedBatch {
    pub records: crate::record::batch::Unchecked,
    pub end: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FetchResponse {
    /// Offsets `from..from + records.len()` of the partition.
    #[serde(with = "crate::record::batch")]
    pub records: Vec<Record>,
    /// The partition's length: the source is done when it reaches it.
    pub end: u64,
}

// ---- anyone <-> store ----

/// A request to `store`. Writes carry the simulated time after which their
/// sender has given up waiting (`deadline`): a write that arrives later
/// still lands (the store cannot know the sender gave up), and the store
/// reports it as `store_write_late`, the evidence that late writes happen.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum StoreRequest {
    Put {
        name: String,
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
        deadline: Duration,
    },
    Get {
        name: String,
    },
    List {
        prefix: String,
    },
    /// Remove the blobs `names`, in order, going on past a removal that
    /// fails: `Done` once every one is gone (a blob that is not there
    /// counts as gone), else `Error` naming the first failure. A
    /// checkpoint's blobs go in one request, its metadata first, as a
    /// filesystem client deletes a directory; the request is bounded by
    /// the wire's frame limit, as every request is.
    Delete {
        names: Vec<String>,
        deadline: Duration,
    },
    /// Replace the versioned blob `name` (see [`crate::register::Versioned`])
    /// with `bytes` at version `expected + 1`, only if its version is
    /// `expected` (0: the blob does not exist yet).
    /// `leader` is the writer's leader epoch (0 without `ha`): a store
    /// that has taken a swap of a higher one refuses it (`Fenced`).
    /// `delete`: blobs to remove once the swap has landed, as a `Delete`
    /// removes them (the files of the checkpoints the new register no
    /// longer names); best effort, the answer is the swap's.
    CompareAndSet {
        name: String,
        expected: u64,
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
        deadline: Duration,
        leader: u64,
        delete: Vec<String>,
    },
    // Replicated storage only (`TopologyConfig::store_replicas` > 1); appended
    // last, so the requests above keep their encoding.
    /// A replica's copy of the register of completed checkpoints.
    ReadRegister,
    /// Replace a replica's copy of the register with `entry` if `entry` is
    /// newer by (epoch, version); else `Refused` with the replica's copy.
    WriteRegister {
        entry: ReplicaRegister,
        deadline: Duration,
    },
    /// From a replica repairing its disk: whether this replica holds data
    /// (`Status`), and the name of every blob it holds (`Inventory`).
    Status,
    Inventory,
}

impl StoreRequest {
    /// Whether sending the request twice does what sending it once does, so
    /// that a client may send it again when the connection it went out on
    /// turns out dead (a store that restarted reset it): blob reads, puts
    /// (the same bytes again), deletes and listings are; a compare-and-set
    /// or a register write, which may have landed, is not.
    pub fn idempotent(&self) -> bool {
        !matches!(
            self,
            StoreRequest::CompareAndSet { .. } | StoreRequest::WriteRegister { .. }
        )
    }
}

/// One replica's copy of the register of completed checkpoints: the
/// register's bytes ([`crate::register::Register`]) with the leader epoch
/// of the jobmanager that wrote them (`leader`: 0 without `ha`), its job
/// attempt (`epoch`), its version, and which jobmanager process wrote it
/// (`writer`: the simulated time it started, in µs). Copies are ordered by
/// [`ReplicaRegister::rank`]: a replica refuses a write that is not newer,
/// so a write of a fenced attempt, or of a deposed leader, never replaces
/// the fence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ReplicaRegister {
    pub leader: u64,
    pub epoch: u64,
    pub version: u64,
    pub writer: u64,
    #[serde(with = "serde_bytes")]
    pub bytes: Option<Vec<u8>>,
}

impl ReplicaRegister {
    /// The order replicas and readers compare copies by: (leader, epoch,
    /// version), then the writer, so that two jobmanager processes that
    /// wrote the same (epoch, version) (the first one's write landed at a
    /// minority only, then it crashed, and its successor's read missed it)
    /// never leave two copies of equal rank: the later process wins.
    pub fn rank(&self) -> (u64, u64, u64, u64) {
        (self.leader, self.epoch, self.version, self.writer)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum StoreResponse {
    Done,
    Blob(#[serde(with = "serde_bytes")] Option<Vec<u8>>),
    Names(Vec<String>),
    /// A compare-and-set wrote this version.
    Swapped {
        version: u64,
    },
    /// A compare-and-set found another version: nothing was written, and
    /// this is what the blob holds.
    Conflict(Versioned),
    /// The request failed before it changed anything (an I/O error or a
    /// full disk before the write, a corrupt read of the current blob).
    NotApplied(String),
    /// The request failed, and may or may not have changed the blob.
    Error(String),
    // Replicated storage only; appended last (see `StoreRequest`).
    /// A replica's copy of the register (`ReadRegister`, or a
    /// `WriteRegister` it applied).
    Register(ReplicaRegister),
    /// A `WriteRegister` was refused: this copy is as new or newer.
    Refused(ReplicaRegister),
    /// The replica came back with an empty disk and is being repaired from
    /// the others: it answers nothing and votes in no quorum until then.
    Repairing,
    /// `Status`: whether the replica holds data (its incarnation marker is
    /// on its disk), and is not repairing.
    Initialized(bool),
    /// A `CompareAndSet` from a deposed leader: the store has taken a swap
    /// of this newer leader epoch. Nothing was written.
    Fenced {
        leader: u64,
    },
}

// ---- jobmanager or taskmanager <-> ha ----

/// A request to the `ha` host (`jobmanagers` > 1).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum HaRequest {
    /// A jobmanager campaigns for the leader lease: granted, for
    /// `timing.lease_ttl` on `ha`'s clock, only if nobody holds it (the
    /// caller included: a jobmanager that stepped down does not get back a
    /// lease it still holds at `ha`, so a standby can win once it runs out).
    Acquire { candidate: String },
    /// The leader renews the lease it holds with leader epoch `epoch`;
    /// anything else is refused (`Held`).
    Renew { candidate: String, epoch: u64 },
    /// Who leads now: a taskmanager looking for its jobmanager.
    Leader,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum HaResponse {
    /// The caller holds the lease with this leader epoch (new or renewed);
    /// `previous`: who held the epoch before it, if anyone did (`ha`
    /// keeps it with the epoch).
    Granted {
        epoch: u64,
        previous: Option<String>,
    },
    /// Another candidate holds it (or nobody may hold it yet: an empty
    /// `candidate`, after `ha` restarted).
    Held { candidate: String, epoch: u64 },
    /// The current leader, if any.
    Leader {
        candidate: Option<String>,
        epoch: u64,
    },
    /// `ha` lost the leader epochs it had granted (its disk): no leader
    /// can be elected safely again.
    Lost(String),
}

// ---- sink subtask (the last vertex's) <-> sink ----

/// A request to the sink host from a sink subtask of job attempt `epoch`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SinkRequest {
    pub epoch: u64,
    pub op: SinkOp,
}

/// A [`SinkRequest`] pre-committing records borrowed from the open
/// transaction: the same bytes as the request with
/// `SinkOp::PreCommit { txn, records }` (a test holds the two to it), so
/// the sender keeps its buffer.
#[derive(Debug, Serialize)]
pub struct PreCommitRequest<'a> {
    pub epoch: u64,
    pub op: PreCommitOp<'a>,
}

/// [`SinkOp`]'s first variant, `PreCommit`, with its records borrowed as
/// a batch's bytes, count included ([`crate::record::batch::Builder::bytes`]).
#[derive(Debug, Serialize)]
pub enum PreCommitOp<'a> {
    PreCommit {
        txn: TxnId,
        #[serde(serialize_with = "batch_bytes")]
        records: &'a [u8],
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum SinkOp {
    /// Make the transaction durable but invisible.
    PreCommit {
        txn: TxnId,
        #[serde(with = "crate::record::batch")]
        records: Vec<Record>,
    },
    /// Make it visible; committing a committed transaction is success.
    Commit { txn: TxnId },
    /// Abort every pre-committed transaction of `subtask` from an attempt
    /// older than the request's epoch. `from_scratch`: the subtask starts
    /// without a checkpoint, which is only sound if it never committed.
    /// `also`: more subtask ids whose stale transactions go too (those of
    /// the old subtasks a rescaled restore took over:
    /// [`crate::rescale::Assignment::abort_ids`]); `and_from`: every subtask
    /// id at or above it too ([`crate::rescale::Assignment::abort_from`]).
    AbortStale {
        subtask: u32,
        from_scratch: bool,
        also: Vec<u32>,
        and_from: Option<u32>,
    },
    /// From the jobmanager, before it restores a checkpoint older than a
    /// newer one it cannot read: the newest committed transaction of each
    /// subtask that committed any ([`SinkResponse::NewestCommitted`]). Like
    /// every request it raises the sink's fence to the request's epoch, so
    /// no older attempt commits after the answer. Appended last, so the
    /// other variants keep their encoding.
    NewestCommitted,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SinkResponse {
    Done,
    AlreadyCommitted,
    /// The request came from an attempt older than `current_epoch`.
    Fenced {
        current_epoch: u64,
    },
    UnknownTxn,
    /// A subtask starting from scratch already committed this transaction:
    /// its checkpoints are lost, and replaying would duplicate output.
    CommittedBefore {
        txn: TxnId,
    },
    Error(String),
    /// The sink aborted the transaction, holding `records` records, after
    /// its timeout (`SinkConfig::transaction_timeout`): it can never be
    /// committed. Appended last, so the other variants keep their encoding.
    TimedOut {
        records: u64,
    },
    /// The answer to [`SinkOp::NewestCommitted`]: per subtask that ever
    /// committed, its committed transaction of the highest checkpoint, by
    /// subtask.
    NewestCommitted(Vec<TxnId>),
}

// ---- taskmanager <-> jobmanager ----

/// Where a task's snapshot lives, and how to verify it: the blob `name`
/// in `store` (Flink's `FileStateHandle`), or, for a blob smaller than
/// [`crate::config::CheckpointConfig::memory_threshold`], the blob itself
/// in `inline`, carried in the acknowledgement and kept in the
/// checkpoint's metadata (Flink's `ByteStreamStateHandle`; `name` is then
/// the name it would have had, never written). `size` (bytes) and `crc`
/// (crc32) are of the blob either way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateHandle {
    pub name: String,
    pub size: u64,
    pub crc: u32,
    #[serde(with = "serde_bytes")]
    pub inline: Option<Vec<u8>>,
}

/// A completed checkpoint, as written durably to `store`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointMeta {
    pub checkpoint: u64,
    pub epoch: u64,
    /// Source offsets by partition.
    pub offsets: Vec<u64>,
    pub handles: BTreeMap<TaskId, StateHandle>,
    /// Taken after a drain ended the input: the synchronous savepoint of a
    /// stop-with-savepoint with drain (every source ended its input at its
    /// offset before the barrier), or a later checkpoint of an attempt
    /// whose input a drain ended. A restore of it reads no more (the
    /// restored job ends its input at once and finishes), as Flink
    /// restores a finished task finished (FLIP-147) rather than run the
    /// drained state on.
    pub drained: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ToTaskManager {
    /// Set up these tasks of attempt `epoch`, restoring `restore` if any;
    /// answer `Deployed` when their inputs are ready to accept connections.
    /// `leader`: the sender's leader epoch (0 without `ha`); a
    /// taskmanager that has deployed for a newer leader ignores it.
    Deploy {
        epoch: u64,
        leader: u64,
        tasks: Vec<TaskId>,
        restore: Option<CheckpointMeta>,
    },
    /// Every taskmanager has deployed: sources may start.
    Start {
        epoch: u64,
    },
    /// Take checkpoint `checkpoint`. `stop`: it is the synchronous
    /// savepoint of a stop-with-savepoint, after whose barrier the sources
    /// read no more (Flink's `SavepointType.suspend`, FLIP-34's
    /// suspension); `drain` (with `stop`): each source first sends the
    /// `MAX` watermark and end of input, so every window and timer fires
    /// before the barrier (`SavepointType.terminate`, `flink stop --drain`).
    Trigger {
        epoch: u64,
        checkpoint: u64,
        stop: bool,
        drain: bool,
    },
    /// Checkpoint `checkpoint` completed: sinks commit its transactions
    /// (Flink's `notifyCheckpointComplete`). `report`: each sink subtask
    /// answers `Committed` once it has; the jobmanager asks only from the
    /// final checkpoint on, when the job's end waits for those commits.
    Notify {
        epoch: u64,
        checkpoint: u64,
        report: bool,
    },
    Cancel {
        epoch: u64,
    },
    Heartbeat,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ToJobManager {
    Register {
        taskmanager: u32,
    },
    Heartbeat,
    Deployed {
        epoch: u64,
    },
    /// Every task of attempt `epoch` on this taskmanager has restored its
    /// state and runs: Flink's `updateTaskExecutionState` from INITIALIZING
    /// to RUNNING. Sent only for a `Deploy` with a checkpoint to restore and
    /// tasks to run; until every such taskmanager has sent it, the
    /// jobmanager triggers no periodic checkpoint
    /// ([`crate::coordinator::Decision::NotAllTasksRunning`]).
    Running {
        epoch: u64,
    },
    Ack {
        epoch: u64,
        checkpoint: u64,
        task: TaskId,
        handle: StateHandle,
        source_offset: Option<u64>,
        /// The task had seen end of input on every input (a source: read
        /// its whole partition) when it took the snapshot: FLIP-147's
        /// finished task. The first checkpoint every task acknowledges so
        /// is the job's final checkpoint.
        finished: bool,
    },
    Decline {
        epoch: u64,
        checkpoint: u64,
        task: TaskId,
        reason: String,
    },
    TaskFailed {
        epoch: u64,
        task: TaskId,
        reason: String,
        /// No restart can mend it: fail the job now.
        fatal: bool,
        /// The task could not read its state of this checkpoint (it failed
        /// its check on every read): the checkpoint cannot be restored.
        unreadable: Option<u64>,
    },
    /// A sink subtask committed everything up to `checkpoint`, as a
    /// `Notify` with `report` asked.
    Committed {
        epoch: u64,
        checkpoint: u64,
        task: TaskId,
    },
}

// ---- client <-> jobmanager (its REST port) ----

/// A request from the `client` host to the leading jobmanager, after
/// Flink's REST API: a stop is triggered, then its status polled by the
/// request id the client chose (Flink's trigger id). `run` names the job
/// the request is for, as Flink's job id does: each run of a lifecycle is
/// a job of its own ([`crate::config::JobConfig::run`]), and a jobmanager
/// of another run answers [`ClientResponse::Ended`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ClientRequest {
    /// Stop the job with a savepoint (`POST /jobs/:id/stop`), with `drain`
    /// (`"drain": true`: the `MAX` watermark and end of input before the
    /// savepoint) or without. Sending it again for a request whose
    /// savepoint failed tries again; for one under way or done it changes
    /// nothing.
    StopWithSavepoint { run: u32, request: u64, drain: bool },
    /// Take a savepoint while the job runs on (`POST
    /// /jobs/:id/savepoints`): it commits nothing and is never restored by
    /// a failover. Asked again after a failure, it tries again.
    TriggerSavepoint { run: u32, request: u64 },
    /// How request `request` stands (`GET /jobs/:id/savepoints/:trigger`).
    Status { run: u32, request: u64 },
}

/// The jobmanager's answer to a [`ClientRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientResponse {
    /// The request is under way (or done): poll its status.
    Accepted,
    /// Not now, and why (the job is restarting, or not running).
    Refused(String),
    /// The savepoint has not completed or failed yet.
    Pending,
    /// The savepoint completed (checkpoint id `savepoint`), and for a stop
    /// the job finished.
    Completed { savepoint: u64 },
    /// The savepoint failed, and why (a stop's failure failed the job
    /// over).
    Failed(String),
    /// The job has ended (finished or failed) without this stop: there is
    /// nothing to stop.
    Ended(String),
    /// This jobmanager knows no such request (it started since, or
    /// another one leads now).
    Unknown,
}

// ---- data channels (a subtask -> a subtask of the next vertex) ----

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataFrame {
    pub channel: u32,
    pub epoch: u64,
    /// Starts at 0 (the `Hello`), then +1 per frame.
    pub seq: u64,
    pub payload: Payload,
}

/// A [`DataFrame`] of records to send whose records are a batch's bytes
/// already ([`crate::record::batch::Builder`]): it serializes to the same
/// bytes as the `DataFrame` of those records (a test holds the two to
/// it), and the receiver reads it as one.
#[derive(Debug, Serialize)]
pub struct EncodedFrame<'a> {
    pub channel: u32,
    pub epoch: u64,
    pub seq: u64,
    pub payload: EncodedPayload<'a>,
}

/// [`Payload`]'s variants in its order (postcard writes a variant's
/// index), `Records` and `Progress` holding a batch's bytes. Only those two
/// are built; the others keep the indices.
#[derive(Debug, Serialize)]
pub enum EncodedPayload<'a> {
    Hello,
    Records(#[serde(serialize_with = "batch_bytes")] &'a [u8]),
    Barrier(u64),
    Keepalive,
    Progress {
        #[serde(serialize_with = "batch_bytes")]
        records: &'a [u8],
        watermark: u64,
        end_of_input: bool,
    },
}

/// A batch's bytes as `#[serde(with = "crate::record::batch")]` writes
/// them: one byte string.
fn batch_bytes<S: serde::Serializer>(bytes: &&[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_bytes(bytes)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Payload {
    Hello,
    Records(#[serde(with = "crate::record::batch")] Vec<Record>),
    Barrier(u64),
    Keepalive,
    /// Records (maybe none), then the sender's watermark (ms) after them:
    /// no record it sends later is meant to be older (Flink's `Watermark`
    /// element). `end_of_input`: the sender has reached the end of its
    /// input and sends no more records, only barriers (Flink's
    /// `EndOfData` with the final `MAX_WATERMARK`, FLIP-147); the
    /// watermark is then `u64::MAX`.
    Progress {
        #[serde(with = "crate::record::batch")]
        records: Vec<Record>,
        watermark: u64,
        end_of_input: bool,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::batch;
    use crate::wire;

    fn records(n: u64) -> Vec<Record> {
        (0..n)
            .map(|i| Record {
                key: vec![i as u8 % 7].into(),
                value: vec![1, 2].into(),
                timestamp: i,
                origin: Some((1, 1000 + i)),
            })
            .collect()
    }

    /// A frame of records sent as their batch's bytes is the frame of the
    /// records: the same bytes, which the receiver reads back.
    #[test]
    fn an_encoded_frame_is_the_data_frame_of_its_records() {
        for n in [0, 1, 3, 200] {
            let records = records(n);
            let bytes = batch::encode(&records);
            let frame = |payload| DataFrame {
                channel: 2,
                epoch: 3,
                seq: 4,
                payload,
            };
            let encoded = |payload| EncodedFrame {
                channel: 2,
                epoch: 3,
                seq: 4,
                payload,
            };
            let plain = wire::encode(&frame(Payload::Records(records.clone())));
            assert_eq!(
                wire::encode(&encoded(EncodedPayload::Records(&bytes))),
                plain
            );
            assert_eq!(
                wire::decode::<DataFrame>(&plain).unwrap(),
                frame(Payload::Records(records.clone()))
            );
            for (watermark, end_of_input) in [(0, false), (u64::MAX, true)] {
                let progress = Payload::Progress {
                    records: records.clone(),
                    watermark,
                    end_of_input,
                };
                let sent = EncodedPayload::Progress {
                    records: &bytes,
                    watermark,
                    end_of_input,
                };
                assert_eq!(wire::encode(&encoded(sent)), wire::encode(&frame(progress)));
            }
        }
    }

    /// Byte fields (`serde_bytes`: one copy each way) encode as they did as
    /// plain `Vec<u8>`s (a varint length, then each byte), so every
    /// message, blob and register on disk keeps its bytes, and decode back.
    #[test]
    fn byte_fields_encode_as_a_plain_vec_of_bytes() {
        #[derive(Serialize)]
        enum PlainRequest {
            Put {
                name: String,
                bytes: Vec<u8>,
                deadline: Duration,
            },
            #[allow(dead_code)]
            Get,
            #[allow(dead_code)]
            List,
            #[allow(dead_code)]
            Delete,
            CompareAndSet {
                name: String,
                expected: u64,
                bytes: Vec<u8>,
                deadline: Duration,
                leader: u64,
                delete: Vec<String>,
            },
        }
        #[derive(Serialize)]
        enum PlainResponse {
            #[allow(dead_code)]
            Done,
            Blob(Option<Vec<u8>>),
        }
        #[derive(Serialize)]
        struct PlainHandle(String, u64, u32, Option<Vec<u8>>);
        #[derive(Serialize)]
        struct PlainRegister(u64, u64, u64, u64, Option<Vec<u8>>);
        #[derive(Serialize)]
        struct PlainVersioned(u64, Option<Vec<u8>>);

        let deadline = Duration::from_millis(1234);
        // Lengths whose varint takes one, two and three bytes.
        for len in [0usize, 1, 127, 128, 300, 20_000] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 7 + len) as u8).collect();
            let same = |ours: Vec<u8>, plain: Vec<u8>| assert_eq!(ours, plain, "{len} bytes");
            let put = StoreRequest::Put {
                name: "state/1".into(),
                bytes: bytes.clone(),
                deadline,
            };
            same(
                wire::encode(&put),
                wire::encode(&PlainRequest::Put {
                    name: "state/1".into(),
                    bytes: bytes.clone(),
                    deadline,
                }),
            );
            match wire::decode::<StoreRequest>(&wire::encode(&put)).unwrap() {
                StoreRequest::Put { bytes: back, .. } => assert_eq!(back, bytes),
                other => panic!("{other:?}"),
            }
            let swap = StoreRequest::CompareAndSet {
                name: "job/checkpoints".into(),
                expected: 3,
                bytes: bytes.clone(),
                deadline,
                leader: 2,
                delete: vec!["meta/0000000002-1".into()],
            };
            same(
                wire::encode(&swap),
                wire::encode(&PlainRequest::CompareAndSet {
                    name: "job/checkpoints".into(),
                    expected: 3,
                    bytes: bytes.clone(),
                    deadline,
                    leader: 2,
                    delete: vec!["meta/0000000002-1".into()],
                }),
            );
            for blob in [None, Some(bytes.clone())] {
                let response = StoreResponse::Blob(blob.clone());
                same(
                    wire::encode(&response),
                    wire::encode(&PlainResponse::Blob(blob.clone())),
                );
                match wire::decode::<StoreResponse>(&wire::encode(&response)).unwrap() {
                    StoreResponse::Blob(back) => assert_eq!(back, blob),
                    other => panic!("{other:?}"),
                }
                let handle = StateHandle {
                    name: "n".into(),
                    size: 5,
                    crc: 6,
                    inline: blob.clone(),
                };
                same(
                    wire::encode(&handle),
                    wire::encode(&PlainHandle("n".into(), 5, 6, blob.clone())),
                );
                assert_eq!(
                    wire::decode::<StateHandle>(&wire::encode(&handle)).unwrap(),
                    handle
                );
                let register = ReplicaRegister {
                    leader: 1,
                    epoch: 2,
                    version: 3,
                    writer: 4,
                    bytes: blob.clone(),
                };
                same(
                    wire::encode(&register),
                    wire::encode(&PlainRegister(1, 2, 3, 4, blob.clone())),
                );
                assert_eq!(
                    wire::decode::<ReplicaRegister>(&wire::encode(&register)).unwrap(),
                    register
                );
                let versioned = crate::register::Versioned {
                    version: 9,
                    bytes: blob.clone(),
                };
                same(
                    wire::encode(&versioned),
                    wire::encode(&PlainVersioned(9, blob.clone())),
                );
            }
        }
    }

    /// A pre-commit of a builder's batch is the pre-commit of its records,
    /// whether they were pushed as records or as their fields, and
    /// however many batches the builder held before.
    #[test]
    fn a_borrowed_pre_commit_is_the_pre_commit() {
        let txn = TxnId {
            subtask: 1,
            epoch: 2,
            checkpoint: 3,
        };
        let mut open = batch::Builder::default();
        for n in [0, 2, 300, 1] {
            let records = records(n);
            let owned = SinkRequest {
                epoch: 7,
                op: SinkOp::PreCommit {
                    txn,
                    records: records.clone(),
                },
            };
            for (i, r) in records.iter().enumerate() {
                if i.is_multiple_of(2) {
                    open.push(r);
                } else {
                    open.push_fields(&r.key, &r.value, r.timestamp, r.origin);
                }
            }
            let borrowed = PreCommitRequest {
                epoch: 7,
                op: PreCommitOp::PreCommit {
                    txn,
                    records: open.bytes(),
                },
            };
            assert_eq!(wire::encode(&borrowed), wire::encode(&owned), "{n} records");
            open.clear();
        }
    }

    /// A fetch's response read with its batch left as bytes holds the
    /// bytes of the records the response holds.
    #[test]
    fn a_fetched_batch_is_the_fetch_responses_batch() {
        let response = FetchResponse {
            records: records(5),
            end: 99,
        };
        let fetched: FetchedBatch = wire::decode(&wire::encode(&response)).unwrap();
        assert_eq!(fetched.end, 99);
        assert_eq!(fetched.records.0, batch::encode(&response.records));
    }
}
