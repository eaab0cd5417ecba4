//! The bounds of every number a scenario file may hold, and why each exists
//! (TigerBeetle's rule: a limit on everything, checked at load). README.md,
//! "Limits", lists them for users; a value outside its bound is an error
//! naming the file, line and field, the bound and its reason.

use std::time::Duration;

/// An inclusive upper bound on a field, with the reason for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: u64,
    pub why: &'static str,
}

/// Every duration in a scenario file is simulated time; a simulated hour
/// takes minutes of wall time per seed, and no engine timer needs longer.
pub const DURATION: Duration = Duration::from_secs(3_600);
/// Why [`DURATION`] bounds every duration.
pub const DURATION_WHY: &str = "a simulated second costs 30 to 65 ms of wall time";

/// The shortest checkpoint interval and checkpoint timeout: Flink's
/// `CheckpointConfig.MINIMAL_CHECKPOINT_TIME`, below which Flink refuses
/// either setting.
pub const MIN_CHECKPOINT_TIME: Duration = Duration::from_millis(10);
/// Why [`MIN_CHECKPOINT_TIME`] bounds `checkpoint.interval`.
pub const MIN_CHECKPOINT_INTERVAL_WHY: &str =
    "Flink's least checkpoint interval (`CheckpointConfig.MINIMAL_CHECKPOINT_TIME`)";
/// Why [`MIN_CHECKPOINT_TIME`] bounds `checkpoint.timeout`. The floor is
/// Flink's, not enough for a checkpoint: `steady` passes every seed from
/// about 20 ms.
pub const MIN_CHECKPOINT_TIMEOUT_WHY: &str = "Flink's least checkpoint timeout \
     (`CheckpointConfig.MINIMAL_CHECKPOINT_TIME`); a checkpoint takes a dozen messages of 1 ms or \
     more one after another, so a shorter timeout expires every checkpoint (and one of a few tens \
     of ms still expires many)";

pub const TASKMANAGERS: Limit = Limit {
    max: 256,
    why: "each taskmanager is a simulated host, and turmoil's cost per tick grows with every host",
};
pub const STORE_REPLICAS: Limit = Limit {
    max: flinch_engine::config::MAX_STORE_REPLICAS as u64,
    why: "every write goes to every replica, and each replica is a simulated host",
};
pub const JOBMANAGERS: Limit = Limit {
    max: flinch_engine::config::MAX_JOBMANAGERS as u64,
    why: "one leader and standbys: each standby is a simulated host polling ha",
};
pub const PARALLELISM: Limit = Limit {
    max: 256,
    why: "every source keeps a channel to every keyed subtask, so channels grow with the product",
};
/// Connections one taskmanager opens
/// ([`flinch_engine::job::Plan::connections_per_taskmanager`]): half its
/// host's ephemeral ports ([`crate::world::EPHEMERAL_PORTS`]), so that a
/// redeploy's new connections fit before the old ones have closed.
pub const CONNECTIONS_PER_TASKMANAGER: Limit = Limit {
    max: crate::world::EPHEMERAL_PORT_COUNT / 2,
    why: "each connection takes one of its host's ephemeral ports (10000 to 65535), and half \
          of them are kept for a redeploy's new connections",
};
pub const MAX_PARALLELISM: Limit = Limit {
    max: flinch_engine::config::UPPER_BOUND_MAX_PARALLELISM as u64,
    why: "Flink's upper bound on key groups (KeyGroupRangeAssignment.UPPER_BOUND_MAX_PARALLELISM)",
};
pub const PARTITIONS: Limit = Limit {
    max: 256,
    why: "each partition is read by its own source subtask, which keeps a channel to every keyed subtask",
};
/// Characters in a scenario's `name`.
pub const NAME_CHARS: Limit = Limit {
    max: 128,
    why: "a name is printed on every report and progress line; the built-in ones are under 64",
};
/// Characters in a scenario's `description` and an expectation's `reason`.
pub const TEXT_CHARS: Limit = Limit {
    max: 16_384,
    why: "a text a person writes, printed by `flinch list` and kept in every shrunk case",
};
/// The largest `workload.skew` (the exponent of the keys' Zipf-like weights,
/// `1 / (k + 1)^skew`).
pub const MAX_SKEW: f64 = 10.0;
/// Why [`MAX_SKEW`] bounds `workload.skew`.
pub const MAX_SKEW_WHY: &str = "at 10 the second key already gets a thousandth of the first's \
    records, so a larger skew only puts every record on the first key";
pub const RECORDS: Limit = Limit {
    max: 5_000_000,
    why: "a seed holds every record in memory several times (the log, the oracle, the sink's disk, the committed output), about 340 bytes a record",
};
pub const KEYS: Limit = Limit {
    max: RECORDS.max,
    why: "a key without records tests nothing, so there are at most as many keys as records",
};
pub const RATE: Limit = Limit {
    max: 1_000_000,
    why: "a source emits at most this many records per simulated second",
};
pub const BATCH: Limit = Limit {
    max: 100_000,
    why: "a batch travels in one network frame, and frames are at most 16 MiB",
};
pub const MAX_CONCURRENT: Limit = Limit {
    max: 100,
    why: "each checkpoint in flight holds a snapshot of every task",
};
pub const RETAINED: Limit = Limit {
    max: 100,
    why:
        "every retained checkpoint is kept in checkpoint storage and read at every jobmanager start",
};
pub const MEMORY_THRESHOLD: Limit = Limit {
    max: flinch_engine::config::MAX_MEMORY_THRESHOLD,
    why: "Flink's bound on state.storage.fs.memory-threshold (1 MiB): state below it travels in \
          every acknowledgement, deployment and metadata write",
};
pub const TOLERABLE_FAILURES: Limit = Limit {
    max: 1_000_000,
    why: "a bound that no run reaches: more failures than this never fit in a simulated hour",
};
/// A scenario file's size, in bytes: read no further (a device such as
/// `/dev/zero` named by mistake would be read forever).
pub const FILE_BYTES: Limit = Limit {
    max: 1 << 20,
    why: "a file of 1,000 faults, the most a scenario may have, is about 200 KiB",
};
pub const FAULTS: Limit = Limit {
    max: 1_000,
    why: "each fault is applied by the step loop and reported in the trace",
};
pub const OCCURRENCE: Limit = Limit {
    max: 1_000_000,
    why: "no engine event happens this often in a simulated hour",
};
/// Characters in a `bit_rot` fault's `path`.
pub const PATH_LEN: Limit = Limit {
    max: 256,
    why: "a path on a simulated disk; the engine's longest is under 64 characters",
};
