//! Coverage probes: named marks on the protocol paths that exist to handle
//! a fault, in the spirit of FoundationDB's code probes (`CODE_PROBE`) and
//! Antithesis' `sometimes` assertions. When a run takes such a path, the
//! host that took it emits [`crate::event::Event::Probe`]; the trace shows it
//! as `probe {"probe":"write-fenced"}`, and a scenario can require that a
//! share of a sweep's seeds hit it (`[expect] sometimes`, judged by the
//! harness). A probe never changes behaviour: it is an event like any other.
//!
//! Flink has no such catalogue; each probe names the Flink class whose
//! branch the path copies.

use crate::event::HostRole;
use serde::{Deserialize, Serialize};
use std::fmt;

/// One protocol path that handles a fault. The serialized form (trace,
/// scenario files, `--json`) is [`Probe::name`], kebab-case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Probe {
    /// `sink`: a request of an older job attempt was refused by the epoch
    /// fence (Kafka's `ProducerFencedException`, which Flink's
    /// `KafkaWriter` turns into a failure).
    WriteFenced,
    /// `sink`: a zombie (a task of an older attempt still running) sent
    /// data, a pre-commit holding records or a commit, and the fence
    /// refused it: narrower than [`Probe::WriteFenced`], which also counts
    /// empty pre-commits and aborts.
    ZombieDataFenced,
    /// `jobmanager`: a pending checkpoint expired
    /// (`CheckpointCoordinator`'s canceller, `CHECKPOINT_EXPIRED`).
    CheckpointAbortedTimeout,
    /// `jobmanager`: a task declined a checkpoint because it could not
    /// upload its state (`CheckpointCoordinator#receiveDeclineMessage`).
    CheckpointAbortedDeclined,
    /// `jobmanager`: writing a checkpoint's metadata, or swapping in the
    /// register naming it, failed before anything was written
    /// (`CheckpointCoordinator#completePendingCheckpoint` failing with
    /// `FINALIZE_CHECKPOINT_FAILURE`).
    CheckpointAbortedStorage,
    /// `jobmanager`: more consecutive checkpoint failures than
    /// `tolerable_failures` failed the job over (`CheckpointFailureManager`).
    TolerableFailuresExceeded,
    /// `count[k]`: a frame of an input that already delivered the barrier
    /// was held until alignment ended (`CheckpointedInputGate` blocking a
    /// channel).
    ChannelHeldForAlignment,
    /// `count[k]`: in at-least-once mode, a snapshot's state included
    /// records that an input sent after its barrier of that checkpoint,
    /// processed while another input's barrier was still on its way
    /// (Flink's `CheckpointBarrierTracker`, which never blocks a channel).
    /// A restore of that checkpoint replays them: their output is
    /// duplicated, never lost.
    SnapshotPastBarrier,
    /// `count[k]`: an input channel stayed silent past the keepalive
    /// timeout and failed the task (Flink's netty
    /// `RemoteTransportException` on an idle connection).
    ChannelSilent,
    /// `count[k]`: a restore committed a transaction the checkpoint had
    /// recorded pre-committed, which its attempt never committed
    /// (`TwoPhaseCommitSinkFunction#recoverAndCommit`).
    RecoveredTxnCommitted,
    /// `count[k]`: a restore re-committed a transaction the sink had already
    /// committed, and the sink said so (the idempotent commit of
    /// `recoverAndCommit`).
    RecoveredTxnAlreadyCommitted,
    /// `sink`: a restore aborted pre-committed transactions an older
    /// attempt left behind (`TwoPhaseCommitSinkFunction#recoverAndAbort`,
    /// Kafka's `abortTransactions` on restore).
    StaleTxnsAborted,
    /// A read of durable state failed its checksum and a later read of the
    /// same data verified: checkpoint storage (`count`/`source` restoring
    /// state, or the jobmanager reading the register and metadata at its
    /// start), or `ha` reading its newest leader epoch at its start.
    CorruptReadRetried,
    /// A task's state upload failed with a storage error and a retry
    /// succeeded (Flink's changelog uploader `RetryingExecutor`,
    /// `dstl.dfs.upload.max-attempts`).
    StateUploadRetried,
    /// `jobmanager`: a taskmanager's heartbeats stopped for longer than the
    /// heartbeat timeout (`HeartbeatManager` timeout).
    #[serde(rename = "taskmanager-heartbeat-timeout")]
    TaskManagerHeartbeatTimeout,
    /// `taskmanager-N`: the jobmanager went silent for longer than the
    /// heartbeat timeout, and the taskmanager cancelled its tasks
    /// (`TaskExecutor` disconnecting from the `JobMaster`).
    #[serde(rename = "jobmanager-heartbeat-timeout")]
    JobManagerHeartbeatTimeout,
    /// `jobmanager`: a completion whose register write had an unknown
    /// outcome was found in the register by the next fence: completed after
    /// all (Flink's `CompletedCheckpointStore` after an unknown ZooKeeper
    /// write).
    UnknownOutcomeCompleted,
    /// `jobmanager`: the same, not found: aborted.
    UnknownOutcomeAborted,
    /// `jobmanager`: a compare-and-set on the register met a version it had
    /// not written (a late swap landed); it adopted the register's
    /// checkpoints (`DefaultCompletedCheckpointStore` recovering from a
    /// changed store).
    RegisterConflictAdopted,
    /// `store`: a write arrived after its sender's deadline had passed
    /// (an S3 PUT that lands after the client gave up).
    StoreWriteLate,
    /// `taskmanager`: a keyed subtask restored state holding event-time
    /// timers (windows open at the checkpoint): they fire only once the
    /// watermark, recomputed from the restored sources, passes them
    /// (Flink's `InternalTimeServiceManager` restoring its timers).
    TimersRestored,
    /// `jobmanager`: a restarted jobmanager found completed checkpoints in
    /// the register and recovers from them
    /// (`CheckpointRecoveryFactory`, `DefaultCompletedCheckpointStoreUtils`).
    #[serde(rename = "jobmanager-recovered-checkpoints")]
    JobManagerRecoveredCheckpoints,
    /// `jobmanager`: the restart strategy gave up, failing the job
    /// (`ExecutionFailureHandler` with a strategy that says no).
    RestartsExhausted,
    /// `jobmanager`: a task found its recovery impossible (the state it
    /// restores is gone, or the sink holds output of an attempt whose
    /// checkpoints are gone), or the register went back: the job fails at
    /// once (Flink's unrecoverable `SuppressRestartsException`).
    RecoveryImpossible,
    /// `sink`: a pre-committed transaction stayed open longer than
    /// `sink.transaction_timeout` and the sink aborted it (a Kafka
    /// transaction coordinator expiring a transaction).
    TxnTimedOut,
    /// `count[k]`: a restore found the transaction its checkpoint recorded
    /// aborted by the sink's timeout and went on without its output, as
    /// `sink.ignore_failures_after_transaction_timeout` allows
    /// (`TwoPhaseCommitSinkFunction#recoverAndCommitInternal` logging
    /// "data loss might have occurred").
    TxnLostAfterTimeout,
    /// `count[k]`/`source[k]`: a restore read the task's state from the
    /// copy its taskmanager kept, which matched the completed checkpoint's
    /// handle (Flink's task-local recovery, `TaskLocalStateStore`).
    LocalStateRestored,
    /// `count[k]`/`source[k]`: task-local recovery is on but the
    /// taskmanager had no usable copy (none, one of another checkpoint, or
    /// one failing its checksum): the restore read `store` (or the
    /// metadata, for state kept inline) instead.
    LocalStateFallback,
    /// `count[k]`/`source[k]`: a restore took the task's state from the
    /// completed checkpoint's metadata, where it was kept inline below
    /// `checkpoint.memory_threshold` (Flink's `ByteStreamStateHandle`).
    InlineStateRestored,
    /// `store-N`: a replica that came back with an empty disk copied what
    /// its peers hold and votes again (a ZooKeeper or etcd member rejoining
    /// and catching up from the leader's snapshot).
    StoreReplicaRepaired,
    /// `jobmanager`/`taskmanager-N`: a write to replicated checkpoint
    /// storage became durable at a majority while a replica did not take
    /// it (down, cut off, repairing, or failing): the quorum write at work.
    StoreQuorumWithoutReplica,
    /// `jobmanager`: a retained checkpoint newer than the one restored
    /// could not be read (its metadata or a task's state failed its check
    /// on every read), and the sink confirmed that nothing newer than the
    /// one restored was committed, so the older one is restored.
    CheckpointFallback,
    /// `jobmanager`: a retained checkpoint could not be read, and the sink
    /// had committed output newer than any checkpoint left to restore: the
    /// job fails naming what was lost rather than duplicate that output.
    CheckpointFallbackRefused,
    /// `jobmanager-N`: a standby took the leader lease after another
    /// jobmanager had held it, and recovered the job from checkpoint
    /// storage (Flink's `DefaultLeaderElectionService` granting leadership
    /// to a new `JobMaster`, which restores from the
    /// `CompletedCheckpointStore`).
    #[serde(rename = "jobmanager-takeover")]
    JobManagerTakeover,
    /// `jobmanager-N`: a leader stopped leading because its lease could
    /// have run out before a renewal came (cut off from `ha`, or `ha` down).
    LeaderLeaseExpired,
    /// `jobmanager-N`: checkpoint storage refused a register write for a
    /// newer leader's epoch, and the deposed leader stepped down.
    LeaderFenced,
    /// `taskmanager`: a keyed subtask restored a checkpoint taken at
    /// another parallelism, taking its key groups out of other subtasks'
    /// snapshots (Flink's `StateAssignmentOperation` reassigning key-group
    /// ranges: docs/savepoints.md).
    KeyedStateRescaled,
    /// `sink`: a restore aborted transactions left open under a subtask id
    /// other than the restoring subtask's own: one it took over after a
    /// downscale, or one no subtask has any more (Flink's
    /// `TwoPhaseCommitSinkFunction` aborting per transactional id, and
    /// `KafkaSink` probing ids past its parallelism).
    RemovedSubtaskTxnsAborted,
    /// `jobmanager`: a stop-with-savepoint failed (its savepoint was
    /// aborted, or the job failed over before it finished): the job fails
    /// over and runs on, and the client may ask again (Flink restarts a
    /// job whose synchronous savepoint failed: docs/savepoints.md).
    StopWithSavepointFailed,
    /// `jobmanager`: a periodic checkpoint was due while a task of the
    /// attempt was still restoring its state, so none was triggered
    /// (Flink's `NOT_ALL_REQUIRED_TASKS_RUNNING`, which counts for no
    /// tolerable failure); the next try comes one interval later.
    TriggerNotAllTasksRunning,
}

impl Probe {
    /// Every probe, in catalogue order.
    pub const ALL: [Probe; 40] = [
        Probe::WriteFenced,
        Probe::ZombieDataFenced,
        Probe::CheckpointAbortedTimeout,
        Probe::CheckpointAbortedDeclined,
        Probe::CheckpointAbortedStorage,
        Probe::TolerableFailuresExceeded,
        Probe::ChannelHeldForAlignment,
        Probe::SnapshotPastBarrier,
        Probe::ChannelSilent,
        Probe::RecoveredTxnCommitted,
        Probe::RecoveredTxnAlreadyCommitted,
        Probe::StaleTxnsAborted,
        Probe::CorruptReadRetried,
        Probe::StateUploadRetried,
        Probe::TaskManagerHeartbeatTimeout,
        Probe::JobManagerHeartbeatTimeout,
        Probe::UnknownOutcomeCompleted,
        Probe::UnknownOutcomeAborted,
        Probe::RegisterConflictAdopted,
        Probe::StoreWriteLate,
        Probe::TimersRestored,
        Probe::JobManagerRecoveredCheckpoints,
        Probe::RestartsExhausted,
        Probe::RecoveryImpossible,
        Probe::TxnTimedOut,
        Probe::TxnLostAfterTimeout,
        Probe::LocalStateRestored,
        Probe::LocalStateFallback,
        Probe::InlineStateRestored,
        Probe::StoreReplicaRepaired,
        Probe::StoreQuorumWithoutReplica,
        Probe::CheckpointFallback,
        Probe::CheckpointFallbackRefused,
        Probe::JobManagerTakeover,
        Probe::LeaderLeaseExpired,
        Probe::LeaderFenced,
        Probe::KeyedStateRescaled,
        Probe::RemovedSubtaskTxnsAborted,
        Probe::StopWithSavepointFailed,
        Probe::TriggerNotAllTasksRunning,
    ];

    /// The kebab-case name, as traces and scenario files spell it.
    pub fn name(self) -> &'static str {
        match self {
            Probe::WriteFenced => "write-fenced",
            Probe::ZombieDataFenced => "zombie-data-fenced",
            Probe::CheckpointAbortedTimeout => "checkpoint-aborted-timeout",
            Probe::CheckpointAbortedDeclined => "checkpoint-aborted-declined",
            Probe::CheckpointAbortedStorage => "checkpoint-aborted-storage",
            Probe::TolerableFailuresExceeded => "tolerable-failures-exceeded",
            Probe::ChannelHeldForAlignment => "channel-held-for-alignment",
            Probe::SnapshotPastBarrier => "snapshot-past-barrier",
            Probe::ChannelSilent => "channel-silent",
            Probe::RecoveredTxnCommitted => "recovered-txn-committed",
            Probe::RecoveredTxnAlreadyCommitted => "recovered-txn-already-committed",
            Probe::StaleTxnsAborted => "stale-txns-aborted",
            Probe::CorruptReadRetried => "corrupt-read-retried",
            Probe::StateUploadRetried => "state-upload-retried",
            Probe::TaskManagerHeartbeatTimeout => "taskmanager-heartbeat-timeout",
            Probe::JobManagerHeartbeatTimeout => "jobmanager-heartbeat-timeout",
            Probe::UnknownOutcomeCompleted => "unknown-outcome-completed",
            Probe::UnknownOutcomeAborted => "unknown-outcome-aborted",
            Probe::RegisterConflictAdopted => "register-conflict-adopted",
            Probe::StoreWriteLate => "store-write-late",
            Probe::TimersRestored => "timers-restored",
            Probe::JobManagerRecoveredCheckpoints => "jobmanager-recovered-checkpoints",
            Probe::RestartsExhausted => "restarts-exhausted",
            Probe::RecoveryImpossible => "recovery-impossible",
            Probe::TxnTimedOut => "txn-timed-out",
            Probe::TxnLostAfterTimeout => "txn-lost-after-timeout",
            Probe::LocalStateRestored => "local-state-restored",
            Probe::LocalStateFallback => "local-state-fallback",
            Probe::InlineStateRestored => "inline-state-restored",
            Probe::StoreReplicaRepaired => "store-replica-repaired",
            Probe::StoreQuorumWithoutReplica => "store-quorum-without-replica",
            Probe::CheckpointFallback => "checkpoint-fallback",
            Probe::CheckpointFallbackRefused => "checkpoint-fallback-refused",
            Probe::JobManagerTakeover => "jobmanager-takeover",
            Probe::LeaderLeaseExpired => "leader-lease-expired",
            Probe::LeaderFenced => "leader-fenced",
            Probe::KeyedStateRescaled => "keyed-state-rescaled",
            Probe::RemovedSubtaskTxnsAborted => "removed-subtask-txns-aborted",
            Probe::StopWithSavepointFailed => "stop-with-savepoint-failed",
            Probe::TriggerNotAllTasksRunning => "trigger-not-all-tasks-running",
        }
    }

    /// The roles of the hosts that take this path and emit the probe (the
    /// host named first in each probe's documentation). Checked against
    /// runs of every built-in scenario by `tests/event_hosts.rs`.
    pub fn emitters(self) -> &'static [HostRole] {
        use HostRole::*;
        match self {
            Probe::WriteFenced
            | Probe::ZombieDataFenced
            | Probe::StaleTxnsAborted
            | Probe::RemovedSubtaskTxnsAborted
            | Probe::TxnTimedOut => &[Sink],
            Probe::ChannelHeldForAlignment
            | Probe::SnapshotPastBarrier
            | Probe::ChannelSilent
            | Probe::RecoveredTxnCommitted
            | Probe::RecoveredTxnAlreadyCommitted
            | Probe::StateUploadRetried
            | Probe::TimersRestored
            | Probe::JobManagerHeartbeatTimeout
            | Probe::TxnLostAfterTimeout
            | Probe::LocalStateRestored
            | Probe::LocalStateFallback
            | Probe::InlineStateRestored
            | Probe::KeyedStateRescaled => &[TaskManager],
            Probe::CorruptReadRetried => &[JobManager, TaskManager, Ha],
            Probe::StoreWriteLate | Probe::StoreReplicaRepaired => &[Store],
            Probe::StoreQuorumWithoutReplica => &[JobManager, TaskManager],
            Probe::CheckpointAbortedTimeout
            | Probe::CheckpointAbortedDeclined
            | Probe::CheckpointAbortedStorage
            | Probe::TolerableFailuresExceeded
            | Probe::TaskManagerHeartbeatTimeout
            | Probe::UnknownOutcomeCompleted
            | Probe::UnknownOutcomeAborted
            | Probe::RegisterConflictAdopted
            | Probe::JobManagerRecoveredCheckpoints
            | Probe::RestartsExhausted
            | Probe::RecoveryImpossible
            | Probe::CheckpointFallback
            | Probe::CheckpointFallbackRefused
            | Probe::JobManagerTakeover
            | Probe::LeaderLeaseExpired
            | Probe::LeaderFenced
            | Probe::StopWithSavepointFailed
            | Probe::TriggerNotAllTasksRunning => &[JobManager],
        }
    }

    /// Whether only a topology with `ha` (`topology.jobmanagers` above 1)
    /// takes this path.
    pub fn needs_ha(self) -> bool {
        matches!(
            self,
            Probe::JobManagerTakeover | Probe::LeaderLeaseExpired | Probe::LeaderFenced
        )
    }

    /// Whether the probe is hit only with replicated checkpoint storage
    /// (`topology.store_replicas` above 1).
    pub fn needs_replicas(self) -> bool {
        matches!(
            self,
            Probe::StoreReplicaRepaired | Probe::StoreQuorumWithoutReplica
        )
    }

    /// The probe named `name`, if any.
    pub fn from_name(name: &str) -> Option<Probe> {
        Probe::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Every probe's name, in catalogue order (for "did you mean" hints).
    pub fn names() -> impl Iterator<Item = &'static str> {
        Probe::ALL.into_iter().map(Probe::name)
    }
}

impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_kebab_case_and_match_serde() {
        let names: std::collections::BTreeSet<&str> = Probe::names().collect();
        assert_eq!(names.len(), Probe::ALL.len());
        for probe in Probe::ALL {
            let json = serde_json::to_value(probe).expect("probes serialize");
            assert_eq!(json, probe.name());
            assert_eq!(Probe::from_name(probe.name()), Some(probe));
            assert!(probe
                .name()
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '-'));
        }
        assert_eq!(Probe::from_name("write_fenced"), None);
    }
}
