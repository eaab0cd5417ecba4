//! Everything a job run is configured by. Option names follow Flink's keys
//! (see FLINK-REFERENCE.md); defaults are scaled for simulation, where a
//! simulated second costs real time (TURMOIL-NOTES.md).

use std::time::Duration;

/// One job run: where it runs, what it reads, how it checkpoints and restarts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JobConfig {
    pub topology: TopologyConfig,
    pub workload: WorkloadConfig,
    pub checkpoint: CheckpointConfig,
    pub restart: RestartConfig,
    pub timing: TimingConfig,
    /// A deliberate defect for proving the harness catches it. Production
    /// code paths never set this; `None` is the correct engine.
    pub planted_bug: Option<PlantedBug>,
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
}

impl Default for TopologyConfig {
    fn default() -> Self {
        TopologyConfig {
            taskmanagers: 2,
            parallelism: 2,
            max_parallelism: 128,
        }
    }
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
}

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
        }
    }
}

/// Flink's restart strategies (`restart-strategy.type`).
#[derive(Debug, Clone, PartialEq)]
pub enum RestartConfig {
    None,
    FixedDelay {
        attempts: u32,
        delay: Duration,
    },
    FailureRate {
        max_failures_per_interval: u32,
        interval: Duration,
        delay: Duration,
    },
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
    fn default() -> Self {
        RestartConfig::FixedDelay {
            attempts: 10,
            delay: Duration::from_millis(50),
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
}

impl Default for TimingConfig {
    fn default() -> Self {
        TimingConfig {
            heartbeat_interval: Duration::from_millis(100),
            heartbeat_timeout: Duration::from_secs(1),
            channel_keepalive_timeout: Duration::from_millis(500),
            rpc_timeout: Duration::from_millis(500),
            slot_request_timeout: Duration::from_secs(3),
        }
    }
}

/// Deliberate defects that re-create real exactly-once bugs (FLINK-REFERENCE.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PlantedBug {
    /// The sink commits its transaction when the barrier passes, not when
    /// the checkpoint completes: a failover before completion replays
    /// records that are already committed (duplicates).
    CommitOnBarrier,
    /// Sources ignore the restored offset and keep reading where the
    /// crashed attempt stopped reading (loss).
    SourceNoRewind,
}

impl PlantedBug {
    pub const ALL: [PlantedBug; 2] = [PlantedBug::CommitOnBarrier, PlantedBug::SourceNoRewind];

    pub fn name(self) -> &'static str {
        match self {
            PlantedBug::CommitOnBarrier => "commit-on-barrier",
            PlantedBug::SourceNoRewind => "source-no-rewind",
        }
    }

    pub fn from_name(name: &str) -> Option<PlantedBug> {
        PlantedBug::ALL.into_iter().find(|b| b.name() == name)
    }
}
