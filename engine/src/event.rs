//! What the engine tells the world it did. The harness installs an
//! [`Observer`]; observing never changes behaviour.

use crate::probe::Probe;
use crate::record::TxnId;
use crate::rescale::KeyGroupRange;
use crate::text::{Ascii, TextVisitor};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::rc::Rc;

/// A subtask of the job graph, e.g. `source[1]` or `count[0]`: a vertex's
/// name and the subtask's index (also its serialized form, so traces and
/// JSON read as people write them). Ordered by vertex name, then subtask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId {
    pub vertex: Vertex,
    pub subtask: u32,
}

/// The name of a vertex of the job graph (docs/dataflow.md): 1 to
/// [`Vertex::MAX_LEN`] bytes of `a-z`, `0-9` and `-`, starting with a
/// letter. Stored inline, so a [`TaskId`] is `Copy` and prints without the
/// graph; which vertices a job has is the graph's business
/// ([`crate::job::Plan`]), as a Flink `JobVertexID` means nothing without
/// its `JobGraph`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Vertex {
    // Zero-padded, so the derived order is the names' order.
    bytes: [u8; Vertex::MAX_LEN],
    len: u8,
}

impl Vertex {
    /// The longest vertex name, in bytes.
    pub const MAX_LEN: usize = 16;

    /// The vertex named `name`.
    ///
    /// # Errors
    /// A name that is empty, longer than [`Vertex::MAX_LEN`], or not a
    /// lowercase letter followed by lowercase letters, digits and `-`.
    pub fn new(name: &str) -> Result<Vertex, String> {
        let valid = name.len() <= Vertex::MAX_LEN
            && name.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid {
            return Err(format!(
                "not a vertex name (1 to {} characters of a-z, 0-9 and -, starting with a \
                 letter): {name:?}",
                Vertex::MAX_LEN
            ));
        }
        let mut bytes = [0; Vertex::MAX_LEN];
        bytes[..name.len()].copy_from_slice(name.as_bytes());
        Ok(Vertex {
            bytes,
            len: name.len() as u8,
        })
    }

    /// The vertex named `name`, in a constant: an invalid name (see
    /// [`Vertex::new`]) fails the build there, or panics at run time.
    pub const fn named(name: &str) -> Vertex {
        let given = name.as_bytes();
        assert!(
            !given.is_empty() && given.len() <= Vertex::MAX_LEN && given[0].is_ascii_lowercase(),
            "a vertex name is 1 to 16 characters, starting with a-z"
        );
        let mut bytes = [0; Vertex::MAX_LEN];
        let mut i = 0;
        while i < given.len() {
            let b = given[i];
            assert!(
                b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-',
                "a vertex name is made of a-z, 0-9 and -"
            );
            bytes[i] = b;
            i += 1;
        }
        Vertex {
            bytes,
            len: given.len() as u8,
        }
    }

    /// The name as written.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)])
            .expect("a vertex name is ASCII, checked in Vertex::new")
    }
}

impl fmt::Display for Vertex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Vertex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl TaskId {
    /// The text form, `count[0]`, on the stack: a vertex name of at most
    /// [`Vertex::MAX_LEN`] bytes, brackets and a `u32` fit in 32.
    pub(crate) fn text(&self) -> Ascii<32> {
        let mut text = Ascii::new();
        text.push(self.vertex.as_str())
            .push("[")
            .uint(u64::from(self.subtask))
            .push("]");
        text
    }

    /// Parse the text form `count[0]`.
    ///
    /// # Errors
    /// Text that is not a vertex name (see [`Vertex::new`]) followed by a
    /// subtask index in brackets.
    pub fn parse(text: &str) -> Result<TaskId, String> {
        let bad = || format!("not a task id like \"count[0]\": {text:?}");
        let (name, rest) = text.split_once('[').ok_or_else(bad)?;
        let subtask = rest
            .strip_suffix(']')
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse().ok())
            .ok_or_else(bad)?;
        let vertex = Vertex::new(name).map_err(|_| bad())?;
        Ok(TaskId { vertex, subtask })
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text().as_str())
    }
}

impl From<TaskId> for String {
    fn from(task: TaskId) -> String {
        task.text().as_str().to_owned()
    }
}

impl TryFrom<String> for TaskId {
    type Error = String;

    fn try_from(text: String) -> Result<TaskId, String> {
        TaskId::parse(&text)
    }
}

/// Serialized as its text form (`count[0]`), so traces and JSON read as
/// people write them.
impl Serialize for TaskId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.text().as_str())
    }
}

impl<'de> Deserialize<'de> for TaskId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<TaskId, D::Error> {
        deserializer.deserialize_str(TextVisitor::new(
            "a task id like \"count[0]\"",
            TaskId::parse,
        ))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum JobState {
    Running { epoch: u64 },
    Restarting { epoch: u64 },
    Finished,
    Failed { reason: String },
}

/// One thing the engine did. Every event names the host that did it in the
/// [`Observer`] call; the harness adds the simulated time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A host's software (re)started.
    HostStarted,
    JobState(JobState),
    /// Every task of `epoch` was deployed, restoring `restore` if any.
    TasksDeployed {
        epoch: u64,
        restore: Option<u64>,
    },
    CheckpointTriggered {
        checkpoint: u64,
        epoch: u64,
    },
    CheckpointAcknowledged {
        checkpoint: u64,
        task: TaskId,
    },
    /// The metadata is durable in `store`; `offsets[p]` is where partition
    /// p's source stood when it took the checkpoint.
    CheckpointCompleted {
        checkpoint: u64,
        offsets: Vec<u64>,
    },
    CheckpointAborted {
        checkpoint: u64,
        reason: String,
    },
    /// A task's state at a checkpoint, with its digest (crc32 of the bytes).
    /// `operator_digest` is the keyed operator's own state (crc32 of its
    /// encoded `operator::KeyedSnapshot`), for checking it against an oracle;
    /// sources have none (their state is the offset).
    StateSnapshotted {
        checkpoint: u64,
        task: TaskId,
        epoch: u64,
        digest: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        operator_digest: Option<u32>,
    },
    /// A task restored the state of a checkpoint; digest of what it read.
    /// `from`: the task whose snapshot it read, when not its own (a restore
    /// at another parallelism reads the snapshots of every old subtask whose
    /// key groups or transactions it takes over, one event each:
    /// docs/savepoints.md).
    StateRestored {
        checkpoint: u64,
        task: TaskId,
        epoch: u64,
        digest: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        from: Option<TaskId>,
    },
    /// A keyed subtask restored checkpoint `checkpoint` as subtask
    /// `task.subtask` of `parallelism`, keeping the key groups
    /// `key_groups` (`first..=last`) of what it read: the
    /// `key-group-coverage` checker's evidence. Sources, which have no key
    /// groups, do not trace it.
    KeyGroupsRestored {
        checkpoint: u64,
        task: TaskId,
        epoch: u64,
        parallelism: u32,
        key_groups: KeyGroupRange,
    },
    /// The jobmanager triggered checkpoint id `checkpoint` of attempt
    /// `epoch` as a savepoint a client asked for (after its
    /// `checkpoint_triggered`). `stop`: the synchronous savepoint of a
    /// stop-with-savepoint, after whose barrier the sources read no more;
    /// otherwise a plain savepoint, the job running on (docs/savepoints.md).
    /// `drain` (with `stop`): the sources end their input before its
    /// barrier (`flink stop --drain`).
    SavepointTriggered {
        checkpoint: u64,
        epoch: u64,
        stop: bool,
        drain: bool,
    },
    /// Savepoint `checkpoint` completed. A stop's comes after its
    /// `checkpoint_completed` (it enters the register; the job finishes
    /// once the sink has committed it); a plain savepoint has no
    /// `checkpoint_completed`: it is never restored by a failover and
    /// commits nothing.
    SavepointCompleted {
        checkpoint: u64,
    },
    TxnPreCommitted {
        txn: TxnId,
        records: u64,
    },
    TxnCommitted {
        txn: TxnId,
        records: u64,
    },
    TxnAborted {
        txn: TxnId,
    },
    /// The sink aborted a pre-committed transaction, holding `records`
    /// records, that stayed open longer than `sink.transaction_timeout`
    /// (a Kafka broker aborting an expired transaction). Its records stay
    /// on the sink's disk, invisible, under `/sink/timed-out/`.
    TxnTimedOut {
        txn: TxnId,
        records: u64,
    },
    /// A restoring sink subtask found the transaction its checkpoint
    /// recorded aborted by the sink's timeout, and went on without it
    /// (`sink.ignore_failures_after_transaction_timeout`, Flink's
    /// `ignoreFailuresAfterTransactionTimeout`): its `records` records are
    /// lost, on purpose. Emitted by the taskmanager running the subtask.
    TxnLost {
        txn: TxnId,
        records: u64,
    },
    /// The sink host refused a request of an older job attempt.
    Fenced {
        txn: TxnId,
        current_epoch: u64,
    },
    /// A read from storage failed its checksum (and will be retried or
    /// fail): checkpoint storage (`name` is the blob's), or `ha`'s disk
    /// (`name` is the file's, `/ha/epoch`).
    CorruptRead {
        name: String,
    },
    TaskFailed {
        task: TaskId,
        epoch: u64,
        reason: String,
    },
    /// The jobmanager lost a taskmanager (heartbeat timeout or disconnect).
    TaskManagerLost {
        taskmanager: String,
        reason: String,
    },
    /// All tasks are cancelled; the job will restart as `epoch`.
    Failover {
        epoch: u64,
        cause: String,
    },
    RestartScheduled {
        attempt: u32,
        delay_ms: u64,
    },
    /// The jobmanager read the register of completed checkpoints
    /// (`register.rs`) at its start, or found it changed by a swap it did
    /// not make: these are the completed checkpoints it now restores from.
    CheckpointsRecovered {
        version: u64,
        epoch: u64,
        checkpoints: Vec<u64>,
    },
    /// A write reached `store` after its sender had stopped waiting for it
    /// (`deadline` passed `late_ms` ago); `applied` says whether it changed
    /// anything.
    StoreWriteLate {
        op: String,
        name: String,
        late_ms: u64,
        applied: bool,
    },
    /// A store replica that came back with an empty disk copied `blobs`
    /// blobs and the newest register copy from the replicas `from`, and
    /// votes again. `complete`: enough replicas answered to be sure nothing
    /// durable was missed; false when a majority had lost its disks, and
    /// what only they held is gone, or when a peer's copy of a blob or of
    /// the register kept failing its check (rot).
    StoreReplicaRepaired {
        from: Vec<String>,
        blobs: u64,
        complete: bool,
    },
    /// The jobmanager gave up reading retained checkpoint `checkpoint`: its
    /// metadata, or a task's state of it, failed its check on every read
    /// (`reason` says which blob and how). It is never restored; an older
    /// one may be ([`Event::CheckpointFallback`]).
    CheckpointUnreadable {
        checkpoint: u64,
        reason: String,
    },
    /// Recovery restores `restore` (`None`: no checkpoint, from the start)
    /// although newer retained checkpoints `unreadable` exist, because the
    /// sink confirmed that the newest checkpoint any subtask committed,
    /// `newest_committed` (`None`: nothing committed), is not newer.
    CheckpointFallback {
        restore: Option<u64>,
        unreadable: Vec<u64>,
        newest_committed: Option<u64>,
    },
    /// The host took a protocol path that handles a fault (see
    /// [`crate::probe`]); the trace shows `probe {"probe":"write-fenced"}`.
    Probe {
        probe: Probe,
    },
    /// `ha` granted the leader lease to jobmanager `candidate` with leader
    /// epoch `leader`, newer than any before (renewals are not traced).
    LeaseGranted {
        candidate: String,
        leader: u64,
    },
    /// This jobmanager heard its grant of leader epoch `leader` and leads
    /// from now on: it recovers the job from checkpoint storage.
    LeaderElected {
        leader: u64,
    },
    /// This jobmanager stopped leading: its lease could have run out, or
    /// storage refused its write for a newer leader's.
    LeaderRevoked {
        leader: u64,
        reason: String,
    },
}

impl Event {
    /// Every event's name, as the trace and scenario triggers spell it.
    pub const NAMES: [&'static str; 32] = [
        "host_started",
        "job_state",
        "tasks_deployed",
        "checkpoint_triggered",
        "checkpoint_acknowledged",
        "checkpoint_completed",
        "checkpoint_aborted",
        "state_snapshotted",
        "state_restored",
        "txn_pre_committed",
        "txn_committed",
        "txn_aborted",
        "fenced",
        "corrupt_read",
        "task_failed",
        "task_manager_lost",
        "failover",
        "restart_scheduled",
        "checkpoints_recovered",
        "store_write_late",
        "probe",
        "txn_timed_out",
        "txn_lost",
        "store_replica_repaired",
        "checkpoint_unreadable",
        "checkpoint_fallback",
        "lease_granted",
        "leader_elected",
        "leader_revoked",
        "key_groups_restored",
        "savepoint_triggered",
        "savepoint_completed",
    ];

    pub fn name(&self) -> &'static str {
        let index = match self {
            Event::HostStarted => 0,
            Event::JobState(_) => 1,
            Event::TasksDeployed { .. } => 2,
            Event::CheckpointTriggered { .. } => 3,
            Event::CheckpointAcknowledged { .. } => 4,
            Event::CheckpointCompleted { .. } => 5,
            Event::CheckpointAborted { .. } => 6,
            Event::StateSnapshotted { .. } => 7,
            Event::StateRestored { .. } => 8,
            Event::TxnPreCommitted { .. } => 9,
            Event::TxnCommitted { .. } => 10,
            Event::TxnAborted { .. } => 11,
            Event::Fenced { .. } => 12,
            Event::CorruptRead { .. } => 13,
            Event::TaskFailed { .. } => 14,
            Event::TaskManagerLost { .. } => 15,
            Event::Failover { .. } => 16,
            Event::RestartScheduled { .. } => 17,
            Event::CheckpointsRecovered { .. } => 18,
            Event::StoreWriteLate { .. } => 19,
            Event::Probe { .. } => 20,
            Event::TxnTimedOut { .. } => 21,
            Event::TxnLost { .. } => 22,
            Event::StoreReplicaRepaired { .. } => 23,
            Event::CheckpointUnreadable { .. } => 24,
            Event::CheckpointFallback { .. } => 25,
            Event::LeaseGranted { .. } => 26,
            Event::LeaderElected { .. } => 27,
            Event::LeaderRevoked { .. } => 28,
            Event::KeyGroupsRestored { .. } => 29,
            Event::SavepointTriggered { .. } => 30,
            Event::SavepointCompleted { .. } => 31,
        };
        Event::NAMES[index]
    }

    /// The checkpoint the event is about, if any (a transaction's is the
    /// checkpoint whose barrier pre-committed it).
    pub fn checkpoint(&self) -> Option<u64> {
        match self {
            Event::CheckpointTriggered { checkpoint, .. }
            | Event::CheckpointAcknowledged { checkpoint, .. }
            | Event::CheckpointCompleted { checkpoint, .. }
            | Event::CheckpointAborted { checkpoint, .. }
            | Event::StateSnapshotted { checkpoint, .. }
            | Event::StateRestored { checkpoint, .. }
            | Event::KeyGroupsRestored { checkpoint, .. }
            | Event::SavepointTriggered { checkpoint, .. }
            | Event::SavepointCompleted { checkpoint }
            | Event::CheckpointUnreadable { checkpoint, .. } => Some(*checkpoint),
            Event::TasksDeployed { restore, .. } | Event::CheckpointFallback { restore, .. } => {
                *restore
            }
            Event::TxnPreCommitted { txn, .. }
            | Event::TxnCommitted { txn, .. }
            | Event::TxnAborted { txn }
            | Event::TxnTimedOut { txn, .. }
            | Event::TxnLost { txn, .. }
            | Event::Fenced { txn, .. } => Some(txn.checkpoint),
            _ => None,
        }
    }
}

impl Event {
    /// Names of the events that may carry a checkpoint ([`Event::checkpoint`]):
    /// a trigger's `checkpoint` filter is refused on any other event.
    pub const WITH_CHECKPOINT: [&'static str; 18] = [
        "tasks_deployed",
        "checkpoint_triggered",
        "checkpoint_acknowledged",
        "checkpoint_completed",
        "checkpoint_aborted",
        "state_snapshotted",
        "state_restored",
        "txn_pre_committed",
        "txn_committed",
        "txn_aborted",
        "txn_timed_out",
        "txn_lost",
        "fenced",
        "checkpoint_unreadable",
        "checkpoint_fallback",
        "key_groups_restored",
        "savepoint_triggered",
        "savepoint_completed",
    ];

    /// Names of the events about one task ([`Event::task`]): a trigger's
    /// `task` filter is refused on any other event.
    pub const WITH_TASK: [&'static str; 11] = [
        "checkpoint_acknowledged",
        "state_snapshotted",
        "state_restored",
        "txn_pre_committed",
        "txn_committed",
        "txn_aborted",
        "txn_timed_out",
        "txn_lost",
        "fenced",
        "task_failed",
        "key_groups_restored",
    ];

    /// Names of the events that may carry a job attempt ([`Event::epoch`]):
    /// a trigger's `epoch` filter is refused on any other event.
    pub const WITH_EPOCH: [&'static str; 16] = [
        "job_state",
        "tasks_deployed",
        "checkpoint_triggered",
        "state_snapshotted",
        "state_restored",
        "txn_pre_committed",
        "txn_committed",
        "txn_aborted",
        "txn_timed_out",
        "txn_lost",
        "fenced",
        "task_failed",
        "failover",
        "checkpoints_recovered",
        "key_groups_restored",
        "savepoint_triggered",
    ];

    /// The task the event is about, if it names one: the task of an
    /// acknowledgement, snapshot, restore or failure. A transaction's events
    /// (and a fenced request) are about a subtask of the job's last vertex,
    /// whose chained sink owns the transaction: that is
    /// `TaskId { vertex: <the last vertex>, subtask: txn.subtask }`, see
    /// [`Event::txn`]. `task` or `txn` is `Some` exactly for the events
    /// named in [`Event::WITH_TASK`].
    pub fn task(&self) -> Option<TaskId> {
        match self {
            Event::CheckpointAcknowledged { task, .. }
            | Event::StateSnapshotted { task, .. }
            | Event::StateRestored { task, .. }
            | Event::KeyGroupsRestored { task, .. }
            | Event::TaskFailed { task, .. } => Some(*task),
            _ => None,
        }
    }

    /// The transaction a `txn_` event or a fenced request is about.
    pub fn txn(&self) -> Option<TxnId> {
        match self {
            Event::TxnPreCommitted { txn, .. }
            | Event::TxnCommitted { txn, .. }
            | Event::TxnAborted { txn }
            | Event::TxnTimedOut { txn, .. }
            | Event::TxnLost { txn, .. }
            | Event::Fenced { txn, .. } => Some(*txn),
            _ => None,
        }
    }

    /// The job attempt (epoch, Flink's attempt number of the whole job) the
    /// event belongs to, if it has one: a transaction's is the epoch in its
    /// [`TxnId`] (for `fenced`, the refused request's epoch, not the sink's
    /// current one); a `job_state` has one while running or restarting.
    /// Possibly `Some` only for the events named in [`Event::WITH_EPOCH`].
    pub fn epoch(&self) -> Option<u64> {
        match self {
            Event::JobState(JobState::Running { epoch } | JobState::Restarting { epoch })
            | Event::TasksDeployed { epoch, .. }
            | Event::CheckpointTriggered { epoch, .. }
            | Event::StateSnapshotted { epoch, .. }
            | Event::StateRestored { epoch, .. }
            | Event::KeyGroupsRestored { epoch, .. }
            | Event::SavepointTriggered { epoch, .. }
            | Event::TaskFailed { epoch, .. }
            | Event::Failover { epoch, .. }
            | Event::CheckpointsRecovered { epoch, .. } => Some(*epoch),
            Event::TxnPreCommitted { txn, .. }
            | Event::TxnCommitted { txn, .. }
            | Event::TxnAborted { txn }
            | Event::TxnTimedOut { txn, .. }
            | Event::TxnLost { txn, .. }
            | Event::Fenced { txn, .. } => Some(txn.epoch),
            _ => None,
        }
    }
}

/// The kinds of host a job runs on (docs/design.md §2). A host's role is its
/// name without the `-N` of a taskmanager, a store replica or a jobmanager
/// with `ha`: `jobmanager`, `taskmanager-2`, `log`, `sink`, `store`, `ha`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HostRole {
    JobManager,
    TaskManager,
    Log,
    Sink,
    Store,
    Ha,
}

impl HostRole {
    /// The role of the host named `host`, or `None` for a name no job
    /// host has.
    pub fn of(host: &str) -> Option<HostRole> {
        match host {
            "jobmanager" => Some(HostRole::JobManager),
            "log" => Some(HostRole::Log),
            "sink" => Some(HostRole::Sink),
            "store" => Some(HostRole::Store),
            "ha" => Some(HostRole::Ha),
            _ if numbered(host, "store-") => Some(HostRole::Store),
            _ if numbered(host, "jobmanager-") => Some(HostRole::JobManager),
            _ => {
                let n = host.strip_prefix("taskmanager-")?;
                let numbered = !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit());
                numbered.then_some(HostRole::TaskManager)
            }
        }
    }

    /// How hosts of this role are named, for messages (`taskmanager-N`).
    pub fn name(self) -> &'static str {
        match self {
            HostRole::JobManager => "jobmanager or jobmanager-N",
            HostRole::TaskManager => "taskmanager-N",
            HostRole::Log => "log",
            HostRole::Sink => "sink",
            HostRole::Store => "store",
            HostRole::Ha => "ha",
        }
    }
}

/// Whether `host` is `prefix` and a number (`store-` and `store-2`).
fn numbered(host: &str, prefix: &str) -> bool {
    host.strip_prefix(prefix)
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

impl Event {
    /// Names of the events about a transaction ([`Event::txn`]): their task
    /// is always a subtask of the job's last vertex, whose chained sink owns
    /// the transaction (`count[i]` in keyed-count), never a source.
    pub const WITH_TXN: [&'static str; 6] = [
        "txn_pre_committed",
        "txn_committed",
        "txn_aborted",
        "txn_timed_out",
        "txn_lost",
        "fenced",
    ];

    /// Whether events named `name` come only from a topology with `ha`
    /// (`topology.jobmanagers` above 1): a trigger on one elsewhere never
    /// fires.
    pub fn needs_ha(name: &str) -> bool {
        matches!(name, "lease_granted" | "leader_elected" | "leader_revoked")
    }

    /// Whether events named `name` come only from replicated checkpoint
    /// storage (`topology.store_replicas` above 1): a replica repaired
    /// after it lost its disk.
    pub fn needs_replicas(name: &str) -> bool {
        name == "store_replica_repaired"
    }

    /// Whether events named `name` are only ever about a keyed subtask
    /// (one that owns key groups), never a source's.
    pub fn keyed_only(name: &str) -> bool {
        name == "key_groups_restored"
    }

    /// The roles of the hosts that emit events named `name` (one of
    /// [`Event::NAMES`]; empty for any other name): a trigger's `host`
    /// filter naming another host could never match. Tasks run on
    /// taskmanagers, so task events come from there; the jobmanager reports
    /// the checkpoint protocol (an acknowledgement as it receives it); the
    /// sink its transactions. A `probe` comes from the host that took the
    /// path: see [`crate::probe::Probe::emitters`]. `tests/event_hosts.rs`
    /// checks this table against the hosts that emit each event in runs of
    /// every built-in scenario.
    pub fn emitters(name: &str) -> &'static [HostRole] {
        use HostRole::*;
        match name {
            "host_started" => &[JobManager, TaskManager, Log, Sink, Store, Ha],
            "job_state"
            | "tasks_deployed"
            | "checkpoint_triggered"
            | "checkpoint_acknowledged"
            | "checkpoint_completed"
            | "checkpoint_aborted"
            | "task_manager_lost"
            | "failover"
            | "restart_scheduled"
            | "checkpoints_recovered"
            | "checkpoint_unreadable"
            | "checkpoint_fallback"
            | "leader_elected"
            | "leader_revoked"
            | "savepoint_triggered"
            | "savepoint_completed" => &[JobManager],
            "lease_granted" => &[Ha],
            "state_snapshotted" | "state_restored" | "key_groups_restored" | "task_failed" => {
                &[TaskManager]
            }
            "corrupt_read" => &[JobManager, TaskManager, Ha],
            "txn_pre_committed" | "txn_committed" | "txn_aborted" | "txn_timed_out" | "fenced" => {
                &[Sink]
            }
            "txn_lost" => &[TaskManager],
            "store_write_late" | "store_replica_repaired" => &[Store],
            "probe" => &[JobManager, TaskManager, Sink, Store],
            _ => &[],
        }
    }
}

type Sink = Rc<dyn Fn(&str, Event)>;
type StateSink = Rc<dyn Fn(StateTap)>;

/// A keyed subtask's operator snapshot as it goes to storage (a postcard
/// `operator::KeyedSnapshot`), for checkers that judge the state itself,
/// not only its digest (`Event::StateSnapshotted::operator_digest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateTap {
    pub checkpoint: u64,
    pub epoch: u64,
    pub task: TaskId,
    pub operator: Vec<u8>,
}

/// Where events go. Cloned into every host; calls are synchronous and in
/// simulation order, so the trace is deterministic.
#[derive(Clone)]
pub struct Observer(Sink, Option<StateSink>);

impl Observer {
    pub fn new(f: impl Fn(&str, Event) + 'static) -> Self {
        Observer(Rc::new(f), None)
    }

    /// This observer, also handed every keyed operator snapshot
    /// ([`StateTap`]). Without it, snapshots are not copied.
    pub fn with_state_tap(self, f: impl Fn(StateTap) + 'static) -> Self {
        Observer(self.0, Some(Rc::new(f)))
    }

    /// Whether snapshots go to a state tap.
    pub fn taps_state(&self) -> bool {
        self.1.is_some()
    }

    /// Hand `tap` to the state tap, if there is one.
    pub fn tap_state(&self, tap: StateTap) {
        if let Some(f) = &self.1 {
            f(tap)
        }
    }

    /// An observer that drops every event.
    pub fn noop() -> Self {
        Observer::new(|_, _| {})
    }

    pub fn emit(&self, host: &str, event: Event) {
        (self.0)(host, event)
    }
}

impl fmt::Debug for Observer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Observer")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ids cross serde as their text (JSON and postcard alike), read from
    /// the borrowed string; a malformed one is refused there, not later.
    #[test]
    fn ids_serialize_as_their_text_and_refuse_a_malformed_one() {
        let task = TaskId::parse("count[12]").expect("a task id");
        let txn = TxnId {
            subtask: 1,
            epoch: 2,
            checkpoint: 30,
        };
        assert_eq!(serde_json::to_string(&task).unwrap(), "\"count[12]\"");
        assert_eq!(serde_json::to_string(&txn).unwrap(), "\"txn-s1-e2-c30\"");
        let bytes = postcard::to_stdvec(&(task, txn)).unwrap();
        assert_eq!(
            bytes,
            postcard::to_stdvec(&("count[12]", "txn-s1-e2-c30")).unwrap()
        );
        assert_eq!(
            postcard::from_bytes::<(TaskId, TxnId)>(&bytes).unwrap(),
            (task, txn)
        );
        assert!(serde_json::from_str::<TaskId>("\"count[x]\"").is_err());
        assert!(serde_json::from_str::<TxnId>("\"txn-s1-e2\"").is_err());
        let bad = postcard::to_stdvec(&"Count[0]").unwrap();
        assert!(postcard::from_bytes::<TaskId>(&bad).is_err());
    }

    #[test]
    fn task_ids_serialize_as_their_display_form_and_parse_back() {
        let task = TaskId {
            vertex: Vertex::new("count").unwrap(),
            subtask: 3,
        };
        assert_eq!(serde_json::to_string(&task).unwrap(), "\"count[3]\"");
        for good in [
            "source[12]",
            "sink[0]",
            "a[0]",
            "window-2[7]",
            "abcdefghijklmnop[1]",
        ] {
            assert_eq!(
                TaskId::try_from(good.to_string()).map(|t| t.to_string()),
                Ok(good.into())
            );
        }
        let bytes = postcard::to_stdvec(&task).unwrap();
        assert_eq!(postcard::from_bytes::<TaskId>(&bytes).unwrap(), task);
        for bad in [
            "count",
            "count[x]",
            "count[1",
            "count[+1]",
            "Count[0]",
            "[0]",
            "2nd[0]",
            "a_b[0]",
            "abcdefghijklmnopq[1]",
        ] {
            assert!(TaskId::try_from(bad.to_string()).is_err(), "{bad}");
        }
    }

    #[test]
    fn vertices_order_and_print_by_name() {
        let v = |n: &str| Vertex::new(n).unwrap();
        assert!(v("count") < v("source"));
        assert!(v("a") < v("ab"));
        assert_eq!(
            format!("{} {:?}", v("sum-2"), v("sum-2")),
            "sum-2 \"sum-2\""
        );
        const COUNT: Vertex = Vertex::named("count");
        assert_eq!(COUNT, v("count"));
    }

    /// One event of every kind, each with every optional part present.
    fn one_of_each() -> Vec<Event> {
        let task = TaskId {
            vertex: Vertex::new("source").unwrap(),
            subtask: 1,
        };
        let txn = TxnId {
            subtask: 2,
            epoch: 3,
            checkpoint: 4,
        };
        vec![
            Event::HostStarted,
            Event::JobState(JobState::Running { epoch: 1 }),
            Event::TasksDeployed {
                epoch: 1,
                restore: Some(2),
            },
            Event::CheckpointTriggered {
                checkpoint: 1,
                epoch: 1,
            },
            Event::CheckpointAcknowledged {
                checkpoint: 1,
                task,
            },
            Event::CheckpointCompleted {
                checkpoint: 1,
                offsets: vec![],
            },
            Event::CheckpointAborted {
                checkpoint: 1,
                reason: String::new(),
            },
            Event::StateSnapshotted {
                checkpoint: 1,
                task,
                epoch: 1,
                digest: 0,
                operator_digest: None,
            },
            Event::StateRestored {
                checkpoint: 1,
                task,
                epoch: 1,
                digest: 0,
                from: None,
            },
            Event::KeyGroupsRestored {
                checkpoint: 1,
                task,
                epoch: 1,
                parallelism: 2,
                key_groups: KeyGroupRange { first: 0, last: 63 },
            },
            Event::SavepointTriggered {
                checkpoint: 1,
                epoch: 1,
                stop: true,
                drain: false,
            },
            Event::SavepointCompleted { checkpoint: 1 },
            Event::TxnPreCommitted { txn, records: 1 },
            Event::TxnCommitted { txn, records: 1 },
            Event::TxnAborted { txn },
            Event::TxnTimedOut { txn, records: 1 },
            Event::TxnLost { txn, records: 1 },
            Event::Fenced {
                txn,
                current_epoch: 4,
            },
            Event::CorruptRead {
                name: String::new(),
            },
            Event::TaskFailed {
                task,
                epoch: 1,
                reason: String::new(),
            },
            Event::TaskManagerLost {
                taskmanager: String::new(),
                reason: String::new(),
            },
            Event::Failover {
                epoch: 2,
                cause: String::new(),
            },
            Event::RestartScheduled {
                attempt: 1,
                delay_ms: 1,
            },
            Event::CheckpointsRecovered {
                version: 1,
                epoch: 1,
                checkpoints: vec![],
            },
            Event::StoreWriteLate {
                op: String::new(),
                name: String::new(),
                late_ms: 1,
                applied: true,
            },
            Event::Probe {
                probe: crate::probe::Probe::WriteFenced,
            },
            Event::CheckpointUnreadable {
                checkpoint: 3,
                reason: String::new(),
            },
            Event::CheckpointFallback {
                restore: Some(2),
                unreadable: vec![3],
                newest_committed: Some(2),
            },
            Event::StoreReplicaRepaired {
                from: vec![],
                blobs: 1,
                complete: true,
            },
            Event::LeaseGranted {
                candidate: "jobmanager-1".into(),
                leader: 1,
            },
            Event::LeaderElected { leader: 1 },
            Event::LeaderRevoked {
                leader: 1,
                reason: String::new(),
            },
        ]
    }

    #[test]
    fn the_filter_tables_name_exactly_the_events_whose_accessors_answer() {
        let events = one_of_each();
        assert_eq!(events.len(), Event::NAMES.len(), "one event of every kind");
        for e in &events {
            let name = e.name();
            assert_eq!(
                e.task().is_some() || e.txn().is_some(),
                Event::WITH_TASK.contains(&name),
                "{name}"
            );
            assert_eq!(e.txn().is_some(), Event::WITH_TXN.contains(&name), "{name}");
            assert_eq!(
                e.epoch().is_some(),
                Event::WITH_EPOCH.contains(&name),
                "{name}"
            );
            assert_eq!(
                e.checkpoint().is_some(),
                Event::WITH_CHECKPOINT.contains(&name),
                "{name}"
            );
        }
    }

    #[test]
    fn a_transactions_epoch_is_the_txns() {
        let txn = TxnId {
            subtask: 2,
            epoch: 3,
            checkpoint: 4,
        };
        let fenced = Event::Fenced {
            txn,
            current_epoch: 5,
        };
        assert_eq!(fenced.task(), None);
        assert_eq!(fenced.txn(), Some(txn));
        assert_eq!(fenced.epoch(), Some(3));
        assert_eq!(Event::HostStarted.epoch(), None);
        assert_eq!(Event::JobState(JobState::Finished).epoch(), None);
    }

    #[test]
    fn names_match_the_serialized_tags() {
        let events = [
            Event::HostStarted,
            Event::CheckpointTriggered {
                checkpoint: 1,
                epoch: 1,
            },
            Event::TxnAborted {
                txn: TxnId {
                    subtask: 0,
                    epoch: 1,
                    checkpoint: 2,
                },
            },
            Event::RestartScheduled {
                attempt: 1,
                delay_ms: 5,
            },
            Event::Probe {
                probe: Probe::WriteFenced,
            },
        ];
        for e in events {
            let json = serde_json::to_value(&e).expect("events serialize");
            assert_eq!(json["event"], e.name());
        }
    }
}
