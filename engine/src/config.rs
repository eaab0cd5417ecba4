//! Everything a job run is configured by. Option names follow Flink's keys
//! (see docs/flink-semantics.md); defaults are scaled for simulation, where a
//! simulated second costs real time (docs/simulation.md).

use std::time::Duration;

/// One job run: where it runs, what it reads, how it checkpoints and restarts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JobConfig {
    pub topology: TopologyConfig,
    pub workload: WorkloadConfig,
    pub checkpoint: CheckpointConfig,
    pub restart: RestartConfig,
    pub timing: TimingConfig,
    pub sink: SinkConfig,
    /// A deliberate defect for proving the harness catches it. Production
    /// code paths never set this; `None` is the correct engine.
    pub planted_bug: Option<PlantedBug>,
    /// Which run of the job's lifecycle this is, from 0 (docs/savepoints.md):
    /// each resume submits the job anew, so the end an earlier run recorded
    /// in checkpoint storage (finished, or failed) is not this run's, and a
    /// failed job can be resumed from its retained checkpoint.
    pub run: u32,
    /// Who owns the checkpoint or savepoint a resumed run (`run` above 0)
    /// restores: Flink's `RestoreMode`, applied to the register at the
    /// run's first fence ([`crate::register::Register::fenced`]).
    pub restore_mode: RestoreMode,
}

/// Who owns the snapshot a resumed job restores (Flink's `RestoreMode`,
/// FLIP-193 "Snapshots ownership").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RestoreMode {
    /// The resumed job owns it: it deletes it like one of its own
    /// checkpoints once a newer one subsumes it.
    Claim,
    /// The resumed job never deletes it (Flink's default): it stays in
    /// storage, the user's, whatever the job retains.
    #[default]
    NoClaim,
}

impl RestoreMode {
    /// Its name in a scenario file and the trace.
    pub fn name(self) -> &'static str {
        match self {
            RestoreMode::Claim => "claim",
            RestoreMode::NoClaim => "no-claim",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TopologyConfig {
    /// Number of `taskmanager-N` hosts.
    pub taskmanagers: u32,
    /// Parallelism of the keyed operator (and its chained sink). Sources
    /// always run one subtask per log partition.
    pub parallelism: u32,
    /// Number of key groups (Flink's max parallelism).
    pub max_parallelism: u32,
    /// Checkpoint storage replicas: 1 is the single host `store`; an odd
    /// number above 1 runs hosts `store-1..=N`, where a blob or register
    /// write is durable once a majority has it (docs/storage.md). At most
    /// [`MAX_STORE_REPLICAS`].
    pub store_replicas: u32,
    /// Jobmanagers: 1 is the single host `jobmanager`; more run hosts
    /// `jobmanager-1..=N` and the coordination host `ha`, which grants one
    /// of them the leader lease at a time (Flink's high-availability
    /// services: docs/high-availability.md). At most [`MAX_JOBMANAGERS`].
    pub jobmanagers: u32,
}

/// The most checkpoint storage replicas a topology may have.
pub const MAX_STORE_REPLICAS: u32 = 7;

/// The most jobmanagers a topology may have.
pub const MAX_JOBMANAGERS: u32 = 3;

impl Default for TopologyConfig {
    fn default() -> Self {
        TopologyConfig {
            taskmanagers: 2,
            parallelism: 2,
            max_parallelism: default_max_parallelism(2),
            store_replicas: 1,
            jobmanagers: 1,
        }
    }
}

/// Flink's upper bound on key groups
/// (`KeyGroupRangeAssignment.UPPER_BOUND_MAX_PARALLELISM`, 2^15).
pub const UPPER_BOUND_MAX_PARALLELISM: u32 = 1 << 15;

/// The number of key groups when a job does not say: Flink's
/// `KeyGroupRangeAssignment.computeDefaultMaxParallelism`, the next power of
/// two at or above 1.5 × `parallelism` (in integer arithmetic, `p + p / 2`),
/// at least 128 and at most [`UPPER_BOUND_MAX_PARALLELISM`].
pub fn default_max_parallelism(parallelism: u32) -> u32 {
    let wanted = parallelism.saturating_add(parallelism / 2);
    wanted
        .checked_next_power_of_two()
        .unwrap_or(UPPER_BOUND_MAX_PARALLELISM)
        .clamp(128, UPPER_BOUND_MAX_PARALLELISM)
}

#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadConfig {
    /// Total input records over all partitions.
    pub records: u64,
    /// Distinct keys.
    pub keys: u32,
    /// Log partitions (= source parallelism).
    pub partitions: u32,
    /// Zipf exponent of the key distribution; 0 is uniform.
    pub skew: f64,
    /// Records per second each source subtask emits (simulated time).
    pub rate: u64,
    /// Records per network batch (like Flink's network buffers).
    pub batch: u32,
}

impl Default for WorkloadConfig {
    fn default() -> Self {
        WorkloadConfig {
            records: 2_000,
            keys: 16,
            partitions: 2,
            skew: 0.0,
            rate: 1_000,
            batch: 50,
        }
    }
}

/// The `sink` host's transactions: Flink's `TwoPhaseCommitSinkFunction`
/// over a transactional store such as Kafka, whose broker aborts a
/// transaction left open longer than `transaction.timeout.ms`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SinkConfig {
    /// How long the sink keeps a pre-committed transaction before aborting
    /// it, measured on the sink host's clock from the pre-commit (the sink
    /// learns of a transaction only then; Kafka counts from its first
    /// write). A sink that restarts counts again from its restart for the
    /// transactions it finds on its disk. `None`: never (the default).
    pub transaction_timeout: Option<Duration>,
    /// Flink's `TwoPhaseCommitSinkFunction#ignoreFailuresAfterTransactionTimeout`:
    /// a restore that finds the transaction it must commit aborted by the
    /// timeout records the loss (`Event::TxnLost`) and goes on. Without it
    /// (the default) the job fails at once naming the lost output: no
    /// restart can bring it back.
    pub ignore_failures_after_transaction_timeout: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckpointMode {
    ExactlyOnce,
    AtLeastOnce,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointConfig {
    pub mode: CheckpointMode,
    pub interval: Duration,
    pub timeout: Duration,
    pub min_pause: Duration,
    pub max_concurrent: u32,
    pub retained: u32,
    pub tolerable_failures: u32,
    /// Task-local recovery (Flink's `execution.checkpointing.local-backup.enabled`,
    /// formerly `state.backend.local-recovery`): each task also keeps its
    /// latest snapshot on its taskmanager's disk, and a restore on that
    /// taskmanager reads it there when it matches the handle in the
    /// completed checkpoint's metadata (checkpoint, name, size, crc32),
    /// else from `store`, which stays the source of truth. Off by default.
    pub local_recovery: bool,
    /// Flink's `state.storage.fs.memory-threshold`, in bytes: a task's
    /// snapshot blob smaller than this is not uploaded to checkpoint
    /// storage but carried in its acknowledgement and kept inline in the
    /// checkpoint's metadata (Flink's `ByteStreamStateHandle`, written by
    /// `FsCheckpointStreamFactory` below the threshold); a restore reads it
    /// from there, with the same size and crc32 checks. At most
    /// [`MAX_MEMORY_THRESHOLD`] (Flink's bound, 1 MiB). 0 (flinch's
    /// default, where Flink's is 20 KiB): every snapshot is uploaded.
    pub memory_threshold: u64,
}

/// The largest [`CheckpointConfig::memory_threshold`]: Flink's bound on
/// `state.storage.fs.memory-threshold` (`FsStateBackend.MAX_FILE_STATE_THRESHOLD`), 1 MiB.
pub const MAX_MEMORY_THRESHOLD: u64 = 1 << 20;

/// The most state, in bytes, one checkpoint's metadata may hold inline
/// ([`CheckpointConfig::memory_threshold`] times the job's tasks, checked
/// where a scenario loads): 8 MiB, half a network frame
/// ([`crate::wire::MAX_FRAME`]), since the metadata travels whole in every
/// deployment that restores it and in its write to checkpoint storage.
pub const MAX_INLINE_STATE: u64 = 8 << 20;

impl Default for CheckpointConfig {
    fn default() -> Self {
        CheckpointConfig {
            mode: CheckpointMode::ExactlyOnce,
            interval: Duration::from_millis(200),
            timeout: Duration::from_secs(2),
            min_pause: Duration::ZERO,
            max_concurrent: 1,
            retained: 1,
            tolerable_failures: 0,
            local_recovery: false,
            memory_threshold: 0,
        }
    }
}

/// Flink's restart strategies (`restart-strategy.type`), with Flink's
/// parameters; [`crate::restart`] runs them. The engine takes any value; the
/// scenario loader (`flinch_harness::scenario`) accepts only what Flink's
/// strategy constructors accept (e.g. `multiplier > 1`).
#[derive(Debug, Clone, PartialEq)]
pub enum RestartConfig {
    /// `none` (Flink's `NoRestartBackoffTimeStrategy`): the first failure
    /// fails the job.
    None,
    /// `fixed-delay` (`FixedDelayRestartBackoffTimeStrategy`): up to
    /// `attempts` restarts, each after `delay`.
    FixedDelay { attempts: u32, delay: Duration },
    /// `failure-rate` (`FailureRateRestartBackoffTimeStrategy`): restart
    /// after `delay` unless more than `max_failures_per_interval` failures
    /// fall within `interval`.
    FailureRate {
        max_failures_per_interval: u32,
        interval: Duration,
        delay: Duration,
    },
    /// `exponential-delay` (`ExponentialDelayRestartBackoffTimeStrategy`):
    /// backoffs from `initial_backoff`, times `multiplier` per attempt, at
    /// most `max_backoff`, each jittered by up to `jitter` (a fraction, 0 to
    /// 1) of itself; reset after `reset_backoff_threshold` without failure.
    ExponentialDelay {
        initial_backoff: Duration,
        max_backoff: Duration,
        multiplier: f64,
        jitter: f64,
        reset_backoff_threshold: Duration,
        /// `attempts-before-reset-backoff`; `None` is unlimited.
        attempts: Option<u32>,
    },
}

impl Default for RestartConfig {
    /// Flink's default when checkpointing is on, as it always is in flinch
    /// (Flink 2.3, `RestartBackoffTimeStrategyFactoryLoader.java:97`):
    /// `exponential-delay` with `RestartStrategyOptions`' defaults, the
    /// delays scaled for simulation. Initial backoff 50 ms (Flink: 1 s),
    /// at most 1 s (Flink: 1 min), multiplier 1.5 and jitter 0.1 (as
    /// Flink), reset after 10 s without failure (Flink: 1 h), and unlimited
    /// attempts (Flink: `Integer.MAX_VALUE`).
    fn default() -> Self {
        RestartConfig::ExponentialDelay {
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(1),
            multiplier: 1.5,
            jitter: 0.1,
            reset_backoff_threshold: Duration::from_secs(10),
            attempts: None,
        }
    }
}

impl RestartConfig {
    /// The name Flink gives the strategy (`restart-strategy.type`).
    pub fn name(&self) -> &'static str {
        match self {
            RestartConfig::None => "none",
            RestartConfig::FixedDelay { .. } => "fixed-delay",
            RestartConfig::FailureRate { .. } => "failure-rate",
            RestartConfig::ExponentialDelay { .. } => "exponential-delay",
        }
    }
}

/// Failure-detection and network timings, scaled for simulation.
#[derive(Debug, Clone, PartialEq)]
pub struct TimingConfig {
    pub heartbeat_interval: Duration,
    pub heartbeat_timeout: Duration,
    /// A data channel that stays silent this long fails its task.
    pub channel_keepalive_timeout: Duration,
    /// Any request to `log`, `sink` or `store` that takes longer fails.
    pub rpc_timeout: Duration,
    /// How long a restart waits for every taskmanager to be registered
    /// before it counts as another failure.
    pub slot_request_timeout: Duration,
    /// How long the `ha` host's leader lease lasts on its clock, from a
    /// grant or renewal (with `jobmanagers` > 1 only): a leader renews it
    /// every eighth of it, and a standby takes over at most this long
    /// after the leader stopped renewing (Flink's
    /// `high-availability.kubernetes.leader-election.lease-duration`).
    pub lease_ttl: Duration,
}

impl Default for TimingConfig {
    fn default() -> Self {
        TimingConfig {
            heartbeat_interval: Duration::from_millis(100),
            heartbeat_timeout: Duration::from_secs(1),
            channel_keepalive_timeout: Duration::from_millis(500),
            rpc_timeout: Duration::from_millis(500),
            slot_request_timeout: Duration::from_secs(3),
            lease_ttl: Duration::from_secs(2),
        }
    }
}

/// Deliberate defects that re-create real exactly-once bugs (the classes in
/// docs/flink-semantics.md). Production code paths never set one; each is a
/// single `if` at the place the real bug lived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PlantedBug {
    /// The sink commits its transaction when the barrier passes, not when
    /// the checkpoint completes: a failover before completion replays
    /// records that are already committed (duplicates).
    CommitOnBarrier,
    /// Sources ignore the restored offset and keep reading where the
    /// crashed attempt stopped reading (loss).
    SourceNoRewind,
    /// Exactly-once mode without alignment: records that passed barrier n on
    /// one input enter snapshot n and are replayed after restore (duplicates).
    SkipAlignment,
    /// A source records its offset after reading past the barrier: records
    /// between the barrier and the recorded offset are never replayed (loss).
    OffsetAfterBarrier,
    /// Committing an already committed transaction commits it again, so the
    /// re-commit on restore publishes its records twice (duplicates).
    CommitNotIdempotent,
    /// Restored state is used without verifying its checksum: a corrupt read
    /// becomes the task's state.
    UnverifiedRestore,
    /// Recovery restores the checkpoint before the latest completed one,
    /// whose transactions were already committed (duplicates).
    RestoreOlderCheckpoint,
    /// Checkpoint metadata that fails its checksum is skipped silently when
    /// the jobmanager recovers: it runs from an older checkpoint, or none.
    SkipCorruptMetadata,
    /// Transaction ids are guessed on restore: the restored task also
    /// commits the transaction after the checkpoint's, a newer one holding
    /// records that will be replayed (duplicates).
    CommitNewerTxn,
    /// A failed state upload is acknowledged anyway: the checkpoint
    /// completes on state that does not exist.
    SwallowedWriteError,
    /// The store acknowledges a put before syncing it: a store crash loses
    /// state of a completed checkpoint.
    AckBeforeSync,
    /// Recovery trusts every checkpoint metadata file it finds in `store`
    /// (a directory listing) instead of the register of completed
    /// checkpoints: metadata that landed after the coordinator gave its
    /// checkpoint up is restored, though its transactions were aborted.
    TrustMetadataListing,
    /// The jobmanager never declares the job finished: every sink committed
    /// the final checkpoint, whose offsets are the input's ends, and the
    /// job runs on, idle, for ever (a bounded job stuck after its input).
    NeverFinish,
    /// The sink skips its epoch fence: writes and commits of an older job
    /// attempt (a zombie taskmanager the jobmanager has given up on) are
    /// accepted, so a zombie's pre-commit lands after the new attempt
    /// aborted its stale transactions and is never resolved, or a zombie's
    /// commit publishes records the new attempt replays (Kafka's producer
    /// fencing by epoch, missing).
    NoEpochFence,
    /// A taskmanager lost fails the job over without asking the restart
    /// strategy: the restart neither waits the strategy's delay nor counts
    /// as an attempt, so a crash loop is never given up on (a region
    /// failover that bypasses the `RestartBackoffTimeStrategy`).
    FailoverNotCounted,
    /// Restore commits the transactions its checkpoint recorded but never
    /// aborts the other transactions older attempts left pre-committed
    /// (Flink's `TwoPhaseCommitSinkFunction` aborts them in
    /// `initializeState`): they stay open for ever, blocking read-committed
    /// consumers.
    StalePrecommitKept,
    /// A keyed task restarted on a taskmanager that outlived the failover
    /// resumes from the watermark its previous attempt reached (memory the
    /// taskmanager process kept), instead of recomputing it from its
    /// inputs, whose restored sources rewound: timers still pending in the
    /// checkpoint fire before their replayed records come back, and those
    /// records are dropped as late. Only a job with event time can show it
    /// ([`Requires::EventTime`]).
    RestoredWatermark,
    /// A keyed vertex fed by another keyed vertex does not align its
    /// inputs (only the first shuffle, after the sources, does): records
    /// that passed barrier n on one input enter snapshot n and are replayed
    /// after restore. Only a job with two keyed stages can show it
    /// ([`Requires::KeyedStages`]).
    SkipSecondAlignment,
    /// Task-local recovery restores whatever local copy its taskmanager
    /// kept, without checking it against the checkpoint's handle: a copy
    /// left by a newer checkpoint that never completed (the taskmanager
    /// crashed first) is restored in place of the completed one.
    LocalCopyUnchecked,
    /// Replicated checkpoint storage acknowledges a write, blob or
    /// register, as soon as one replica has it, not a majority: losing that
    /// replica's disk loses a checkpoint the job already counted completed.
    DurableAtOneReplica,
    /// Replicated checkpoint storage reads the register of completed
    /// checkpoints from the first replica that answers, not from a
    /// majority: a replica that missed the latest completions hands the
    /// jobmanager an older register, so it restores an older checkpoint
    /// whose output the sink already committed, or finds the register gone
    /// back and fails the job.
    StaleRegisterRead,
    /// A jobmanager whose leader lease ran out, or whose write checkpoint
    /// storage refused for a newer leader's epoch, keeps acting as the
    /// leader: it triggers and completes checkpoints, and fails the job
    /// over, beside the leader `ha` elected after it (split brain).
    OldLeaderKeepsActing,
    /// A restore at another parallelism hands each keyed subtask the key
    /// groups its index owned at the old parallelism, reading that old
    /// subtask's snapshot whole (index modulo the old parallelism past its
    /// end), as a restore that ignores the change would: keys whose group
    /// moved are routed to a subtask without their state, and groups are
    /// restored twice.
    KeyGroupMisassigned,
    /// After a downscale, each sink subtask aborts the transactions left
    /// open only under its own subtask id: those of the old subtasks that
    /// no longer exist stay pre-committed on the sink for ever.
    DownscaledTxnNotAborted,
    /// A jobmanager restores what its first deploy restored at every
    /// failover after it, not the newest completed checkpoint: a job
    /// resumed from a checkpoint or savepoint goes back to it again (the
    /// `-s` path applied to every restart), replaying output its newer
    /// checkpoints committed.
    FailoverRestoresResumePoint,
    /// A jobmanager deletes the checkpoint its first deploy restored as
    /// soon as that attempt runs, not when a newer checkpoint subsumes it
    /// (a resumed job that claims its checkpoint and discards it too
    /// early): a failover before the job's first checkpoint finds the state
    /// gone.
    ClaimedCheckpointDeletedEarly,
    /// A stop-with-savepoint ends the job FINISHED as soon as its savepoint
    /// completes, without notifying the sink of the completion: the
    /// savepoint's transactions stay pre-committed, the stopped job's last
    /// output invisible until (unless) a resumed job restores it.
    SavepointTxnNotCommitted,
    /// A jobmanager deletes every checkpoint a newer one subsumes, whether
    /// it owns it or not: a savepoint, or the checkpoint a resume in
    /// restore mode `no-claim` restored, is deleted under its owner.
    NoClaimSnapshotDeleted,
    /// A stop-with-savepoint with drain ends each source's input with the
    /// watermark it stood at, not `MAX`: event-time windows still open at
    /// the stop never fire, and their output is lost with the job's end
    /// (the drain exists to flush them, `flink stop --drain`).
    DrainWithoutMaxWatermark,
}

/// What a job must have for a planted bug to be able to show
/// ([`PlantedBug::requires`]): a bug in code a job never runs is no bug of
/// that job, and the self-check reports it as not applicable rather than
/// missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requires {
    /// Any job.
    Nothing,
    /// Event time: the job has watermarks ([`crate::graph::Job::watermarks`]).
    EventTime,
    /// At least this many keyed vertices, so a shuffle runs between two
    /// keyed stages.
    KeyedStages(usize),
}

impl Requires {
    /// Whether a job with `graph`, and with watermarks if `event_time`,
    /// has what the bug needs. Judged on the job's shape, not its
    /// operators: event time means the job has watermarks, whether or not
    /// an operator sets timers (a job with watermarks its operators ignore
    /// meets [`Requires::EventTime`] yet cannot show the bug).
    pub fn met_by(self, graph: &crate::graph::JobGraph, event_time: bool) -> bool {
        match self {
            Requires::Nothing => true,
            Requires::EventTime => event_time,
            Requires::KeyedStages(n) => {
                let keyed = graph.vertices().iter().filter(|v| v.keyed.is_some());
                keyed.count() >= n
            }
        }
    }

    /// What the job lacks when [`Requires::met_by`] is false, as a phrase:
    /// `"needs event time"`, `"needs 2 keyed stages"`.
    pub fn describe(self) -> String {
        match self {
            Requires::Nothing => "applies to any job".to_owned(),
            Requires::EventTime => "needs event time".to_owned(),
            Requires::KeyedStages(n) => format!("needs {n} keyed stages"),
        }
    }
}

impl PlantedBug {
    pub const ALL: [PlantedBug; 29] = [
        PlantedBug::CommitOnBarrier,
        PlantedBug::SourceNoRewind,
        PlantedBug::SkipAlignment,
        PlantedBug::OffsetAfterBarrier,
        PlantedBug::CommitNotIdempotent,
        PlantedBug::UnverifiedRestore,
        PlantedBug::RestoreOlderCheckpoint,
        PlantedBug::SkipCorruptMetadata,
        PlantedBug::CommitNewerTxn,
        PlantedBug::SwallowedWriteError,
        PlantedBug::AckBeforeSync,
        PlantedBug::TrustMetadataListing,
        PlantedBug::NeverFinish,
        PlantedBug::NoEpochFence,
        PlantedBug::FailoverNotCounted,
        PlantedBug::StalePrecommitKept,
        PlantedBug::RestoredWatermark,
        PlantedBug::SkipSecondAlignment,
        PlantedBug::LocalCopyUnchecked,
        PlantedBug::DurableAtOneReplica,
        PlantedBug::StaleRegisterRead,
        PlantedBug::OldLeaderKeepsActing,
        PlantedBug::KeyGroupMisassigned,
        PlantedBug::DownscaledTxnNotAborted,
        PlantedBug::FailoverRestoresResumePoint,
        PlantedBug::ClaimedCheckpointDeletedEarly,
        PlantedBug::SavepointTxnNotCommitted,
        PlantedBug::NoClaimSnapshotDeleted,
        PlantedBug::DrainWithoutMaxWatermark,
    ];

    pub fn name(self) -> &'static str {
        match self {
            PlantedBug::CommitOnBarrier => "commit-on-barrier",
            PlantedBug::SourceNoRewind => "source-no-rewind",
            PlantedBug::SkipAlignment => "skip-alignment",
            PlantedBug::OffsetAfterBarrier => "offset-after-barrier",
            PlantedBug::CommitNotIdempotent => "commit-not-idempotent",
            PlantedBug::UnverifiedRestore => "unverified-restore",
            PlantedBug::RestoreOlderCheckpoint => "restore-older-checkpoint",
            PlantedBug::SkipCorruptMetadata => "skip-corrupt-metadata",
            PlantedBug::CommitNewerTxn => "commit-newer-txn",
            PlantedBug::SwallowedWriteError => "swallowed-write-error",
            PlantedBug::AckBeforeSync => "ack-before-sync",
            PlantedBug::TrustMetadataListing => "trust-metadata-listing",
            PlantedBug::NeverFinish => "never-finish",
            PlantedBug::NoEpochFence => "no-epoch-fence",
            PlantedBug::FailoverNotCounted => "failover-not-counted",
            PlantedBug::StalePrecommitKept => "stale-precommit-kept",
            PlantedBug::RestoredWatermark => "restored-watermark",
            PlantedBug::SkipSecondAlignment => "skip-second-alignment",
            PlantedBug::LocalCopyUnchecked => "local-copy-unchecked",
            PlantedBug::DurableAtOneReplica => "durable-at-one-replica",
            PlantedBug::StaleRegisterRead => "stale-register-read",
            PlantedBug::OldLeaderKeepsActing => "old-leader-keeps-acting",
            PlantedBug::KeyGroupMisassigned => "key-group-misassigned",
            PlantedBug::DownscaledTxnNotAborted => "downscaled-txn-not-aborted",
            PlantedBug::FailoverRestoresResumePoint => "failover-restores-resume-point",
            PlantedBug::ClaimedCheckpointDeletedEarly => "claimed-checkpoint-deleted-early",
            PlantedBug::SavepointTxnNotCommitted => "savepoint-txn-not-committed",
            PlantedBug::NoClaimSnapshotDeleted => "no-claim-snapshot-deleted",
            PlantedBug::DrainWithoutMaxWatermark => "drain-without-max-watermark",
        }
    }

    /// The real-world incident class the bug re-creates.
    pub fn incident(self) -> &'static str {
        match self {
            PlantedBug::CommitOnBarrier => "2PC sink commits before the checkpoint is complete",
            PlantedBug::SourceNoRewind => "split reader keeps its position across failover",
            PlantedBug::SkipAlignment => {
                "barrier tracking wrong: in-flight data mixed into a snapshot"
            }
            PlantedBug::OffsetAfterBarrier => "source offset taken after the barrier",
            PlantedBug::CommitNotIdempotent => "re-commit after restore is not idempotent",
            PlantedBug::UnverifiedRestore => "corrupt checkpoint restored without checksum",
            PlantedBug::RestoreOlderCheckpoint => "recovery prefers an older checkpoint",
            PlantedBug::SkipCorruptMetadata => "recovery silently skips checkpoints it cannot read",
            PlantedBug::CommitNewerTxn => {
                "transaction id reused: recovery commits a newer transaction"
            }
            PlantedBug::SwallowedWriteError => "asynchronous write error swallowed",
            PlantedBug::AckBeforeSync => "checkpoint acknowledged before its state is durable",
            PlantedBug::TrustMetadataListing => {
                "a snapshot left out of the completed-checkpoint store is restored anyway"
            }
            PlantedBug::NeverFinish => "end of input never acted on: a bounded job hangs",
            PlantedBug::NoEpochFence => {
                "zombie writes accepted: the sink does not fence an older job attempt"
            }
            PlantedBug::FailoverNotCounted => {
                "a failover bypasses the restart strategy: no backoff, no attempt counted"
            }
            PlantedBug::StalePrecommitKept => {
                "restore forgets to abort older attempts' open transactions"
            }
            PlantedBug::RestoredWatermark => {
                "watermark carried over a failover, not recomputed: windows fire early, replays dropped as late"
            }
            PlantedBug::SkipSecondAlignment => {
                "barriers aligned after the sources but not at a later shuffle"
            }
            PlantedBug::LocalCopyUnchecked => {
                "a leftover local state copy reused after an unclean crash"
            }
            PlantedBug::DurableAtOneReplica => {
                "replicated storage acknowledges a write before a majority has it"
            }
            PlantedBug::StaleRegisterRead => {
                "a new leader recovers from a stale replica, not the latest checkpoint"
            }
            PlantedBug::OldLeaderKeepsActing => {
                "a deposed leader keeps acting after a new one was elected (split brain)"
            }
            PlantedBug::KeyGroupMisassigned => {
                "rescaled restore hands out key groups by the old parallelism"
            }
            PlantedBug::DownscaledTxnNotAborted => {
                "after a downscale, removed subtasks' open transactions are never aborted"
            }
            PlantedBug::FailoverRestoresResumePoint => {
                "a resumed job's failovers go back to the checkpoint it resumed from"
            }
            PlantedBug::ClaimedCheckpointDeletedEarly => {
                "a claimed restored checkpoint deleted before a newer one subsumes it"
            }
            PlantedBug::SavepointTxnNotCommitted => {
                "stop-with-savepoint finishes without committing the savepoint's transaction"
            }
            PlantedBug::NoClaimSnapshotDeleted => {
                "a snapshot restored without claim is deleted once a newer checkpoint subsumes it"
            }
            PlantedBug::DrainWithoutMaxWatermark => {
                "a drained stop ends the input without the MAX watermark: open windows never fire"
            }
        }
    }

    /// The built-in scenario meant to catch the bug, and the checker whose
    /// violation counts as the catch (by their names: the checkers live in
    /// the harness). `tests/planted_bugs.rs` asserts both; a catch by an
    /// unrelated violation does not count.
    pub fn meant_to_catch(self) -> (&'static str, &'static str) {
        match self {
            PlantedBug::CommitOnBarrier => ("crash-between-precommit-and-commit", "exactly-once"),
            PlantedBug::SourceNoRewind => ("taskmanager-crash", "exactly-once"),
            PlantedBug::SkipAlignment => ("stall-during-alignment", "consistent-cut"),
            PlantedBug::OffsetAfterBarrier => ("taskmanager-crash", "consistent-cut"),
            PlantedBug::CommitNotIdempotent => ("taskmanager-crash", "exactly-once"),
            PlantedBug::UnverifiedRestore => ("checkpoint-read-corruption", "recovered-state"),
            PlantedBug::RestoreOlderCheckpoint => ("jobmanager-crash", "exactly-once"),
            PlantedBug::SkipCorruptMetadata => ("checkpoint-read-corruption", "exactly-once"),
            PlantedBug::CommitNewerTxn => ("crash-between-precommit-and-commit", "exactly-once"),
            PlantedBug::SwallowedWriteError => ("state-upload-errors", "expected-outcome"),
            PlantedBug::AckBeforeSync => ("store-unsynced-loss", "expected-outcome"),
            PlantedBug::TrustMetadataListing => {
                ("metadata-lands-after-timeout", "restore-was-completed")
            }
            PlantedBug::NeverFinish => ("steady", "liveness"),
            PlantedBug::NoEpochFence => ("late-precommit-after-failover", "lingering-transaction"),
            PlantedBug::FailoverNotCounted => ("taskmanager-crash", "restart-conformance"),
            PlantedBug::StalePrecommitKept => (
                "crash-between-precommit-and-commit",
                "lingering-transaction",
            ),
            PlantedBug::RestoredWatermark => ("windowed-crash-mid-window", "exactly-once"),
            PlantedBug::SkipSecondAlignment => ("two-stage-slow-link", "consistent-cut"),
            PlantedBug::LocalCopyUnchecked => {
                ("local-copy-stale-after-unclean-crash", "recovered-state")
            }
            PlantedBug::DurableAtOneReplica => (
                "store-replica-disk-loss-during-checkpoint",
                "expected-outcome",
            ),
            PlantedBug::StaleRegisterRead => ("store-replica-stale-register", "exactly-once"),
            PlantedBug::OldLeaderKeepsActing => {
                ("jobmanager-leader-partitioned-from-ha", "single-leader")
            }
            PlantedBug::KeyGroupMisassigned => ("rescale-up", "key-group-coverage"),
            PlantedBug::DownscaledTxnNotAborted => ("rescale-down", "lingering-transaction"),
            PlantedBug::FailoverRestoresResumePoint => ("failover-after-resume", "exactly-once"),
            PlantedBug::ClaimedCheckpointDeletedEarly => {
                ("resume-from-retained", "expected-outcome")
            }
            PlantedBug::SavepointTxnNotCommitted => {
                ("crash-during-savepoint", "lingering-transaction")
            }
            PlantedBug::NoClaimSnapshotDeleted => ("crash-during-savepoint", "snapshot-ownership"),
            PlantedBug::DrainWithoutMaxWatermark => ("stop-with-drain", "consistent-cut"),
        }
    }

    /// What a job must have for the bug to show: the self-check and
    /// `tests/planted_bugs.rs` try a bug only with jobs that meet it, and
    /// its [`PlantedBug::meant_to_catch`] scenario's own job always does.
    pub fn requires(self) -> Requires {
        match self {
            PlantedBug::RestoredWatermark | PlantedBug::DrainWithoutMaxWatermark => {
                Requires::EventTime
            }
            PlantedBug::SkipSecondAlignment => Requires::KeyedStages(2),
            _ => Requires::Nothing,
        }
    }

    pub fn from_name(name: &str) -> Option<PlantedBug> {
        PlantedBug::ALL.into_iter().find(|b| b.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_max_parallelism_is_flinks() {
        // computeDefaultMaxParallelism: roundUpToPowerOfTwo(p + p/2), in [128, 32768].
        let cases = [
            (1, 128),
            (2, 128),
            (85, 128),
            (86, 256),
            (128, 256),
            (256, 512),
            (21_845, 32_768),
            (30_000, 32_768),
            (u32::MAX, 32_768),
        ];
        for (parallelism, expected) in cases {
            assert_eq!(
                default_max_parallelism(parallelism),
                expected,
                "parallelism {parallelism}"
            );
        }
    }
}
