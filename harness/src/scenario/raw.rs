//! A scenario file as written, before validation: every field the format
//! knows, unknown ones refused, values kept with their spans so that
//! validation can say on which line a value is wrong.

use super::duration::SimDuration;
use serde::Deserialize;
use toml::Spanned;

pub(super) type Field<T> = Option<Spanned<T>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScenario {
    pub name: Spanned<String>,
    pub description: Spanned<String>,
    /// `{ name = "...", <the job's parameters> }`; absent only in a file
    /// for a job given in code ([`super::JobChoice::Given`]).
    #[serde(default)]
    pub job: Option<Spanned<toml::Table>>,
    #[serde(default)]
    pub topology: RawTopology,
    #[serde(default)]
    pub workload: RawWorkload,
    #[serde(default)]
    pub checkpoint: RawCheckpoint,
    pub restart: Option<RawRestart>,
    #[serde(default)]
    pub timing: RawTiming,
    #[serde(default)]
    pub sink: RawSink,
    pub max_sim_time: Field<SimDuration>,
    pub liveness_bound: Field<SimDuration>,
    pub bug: Field<String>,
    #[serde(default)]
    pub fault: Vec<RawFault>,
    pub nemesis: Option<Spanned<RawNemesis>>,
    #[serde(default)]
    pub lifecycle: Vec<Spanned<RawStep>>,
    #[serde(default)]
    pub savepoint: Vec<Spanned<RawSavepoint>>,
    pub expect: RawExpect,
    #[serde(default)]
    pub seeds: RawSeeds,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTopology {
    pub taskmanagers: Field<u32>,
    pub parallelism: Field<u32>,
    pub max_parallelism: Field<u32>,
    pub store_replicas: Field<u32>,
    pub jobmanagers: Field<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWorkload {
    pub records: Field<u64>,
    pub keys: Field<u32>,
    pub partitions: Field<u32>,
    pub skew: Field<f64>,
    pub rate: Field<u64>,
    pub batch: Field<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCheckpoint {
    pub mode: Option<RawMode>,
    pub interval: Field<SimDuration>,
    pub timeout: Field<SimDuration>,
    pub min_pause: Field<SimDuration>,
    pub max_concurrent: Field<u32>,
    pub retained: Field<u32>,
    pub tolerable_failures: Field<u32>,
    pub local_recovery: Field<bool>,
    pub memory_threshold: Field<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) enum RawMode {
    ExactlyOnce,
    AtLeastOnce,
}

/// `[restart]`: one strategy, and the parameters of every strategy; which
/// of them the chosen strategy takes is checked in validation, so that a
/// stray one is reported on its own line. The counts are read as any TOML
/// integer, so that a negative or too large one is refused with Flink's
/// reason rather than a type error.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRestart {
    pub strategy: Spanned<RawStrategy>,
    pub attempts: Field<i64>,
    pub delay: Field<SimDuration>,
    pub max_failures_per_interval: Field<i64>,
    pub interval: Field<SimDuration>,
    pub initial_backoff: Field<SimDuration>,
    pub max_backoff: Field<SimDuration>,
    pub multiplier: Field<f64>,
    pub jitter: Field<f64>,
    pub reset_backoff_threshold: Field<SimDuration>,
}

/// A restart strategy's name, with the aliases Flink accepts for it
/// (`RestartStrategyOptions.RestartStrategyType`, Flink 2.3
/// `flink-core/.../configuration/RestartStrategyOptions.java:70-73`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) enum RawStrategy {
    #[serde(alias = "off", alias = "disable")]
    None,
    #[serde(alias = "fixeddelay")]
    FixedDelay,
    #[serde(alias = "failurerate")]
    FailureRate,
    #[serde(alias = "exponentialdelay")]
    ExponentialDelay,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTiming {
    pub heartbeat_interval: Field<SimDuration>,
    pub heartbeat_timeout: Field<SimDuration>,
    pub channel_keepalive_timeout: Field<SimDuration>,
    pub rpc_timeout: Field<SimDuration>,
    pub slot_request_timeout: Field<SimDuration>,
    pub lease_ttl: Field<SimDuration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSink {
    pub transaction_timeout: Field<SimDuration>,
    pub ignore_failures_after_transaction_timeout: Field<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFault {
    pub id: Field<String>,
    pub kind: Spanned<RawFaultKind>,
    pub host: Spanned<String>,
    pub at: Field<SimDuration>,
    pub jitter: Field<SimDuration>,
    pub on: Field<RawTrigger>,
    pub after: Field<SimDuration>,
    pub peer: Field<String>,
    pub oneway: Field<bool>,
    #[serde(rename = "for")]
    pub duration: Field<SimDuration>,
    pub min: Field<SimDuration>,
    pub max: Field<SimDuration>,
    pub rate: Field<f64>,
    pub probability: Field<f64>,
    pub capacity: Field<u64>,
    pub path: Field<String>,
    pub drift: Field<f64>,
}

/// `on = { ... }`: an engine event with its filters, or another fault's
/// edge; which fields go with which is checked in validation, so that a
/// stray one is reported on its own field.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTrigger {
    pub event: Field<String>,
    pub host: Field<String>,
    pub task: Field<String>,
    pub epoch: Field<u64>,
    pub checkpoint: Field<u64>,
    pub occurrence: Field<u32>,
    pub probe: Field<String>,
    pub fault: Field<String>,
    pub edge: Field<RawEdge>,
    pub delay: Field<SimDuration>,
}

/// One `[[savepoint]]`: a plain savepoint the `client` asks for while the
/// job runs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSavepoint {
    pub at: Field<SimDuration>,
    pub jitter: Field<SimDuration>,
    pub on: Field<RawTrigger>,
}

/// One `[[lifecycle]]` step: `stop = { ... }` and `resume = { ... }` (the
/// last step's may be left out when its stop drains).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStep {
    pub stop: Spanned<RawStop>,
    pub resume: Option<Spanned<RawResume>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStop {
    pub at: Field<SimDuration>,
    pub jitter: Field<SimDuration>,
    pub on: Field<RawTrigger>,
    pub with: Spanned<RawStopWith>,
    pub drain: Field<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) enum RawStopWith {
    Cancel,
    Savepoint,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawResume {
    pub from: Spanned<RawResumeFrom>,
    pub restore_mode: Field<RawRestoreMode>,
    pub after: Field<SimDuration>,
    #[serde(default)]
    pub topology: RawTopology,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) enum RawResumeFrom {
    Retained,
    Savepoint,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) enum RawRestoreMode {
    Claim,
    NoClaim,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum RawEdge {
    Start,
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum RawFaultKind {
    Crash,
    Restart,
    CrashRestart,
    DiskLoss,
    Partition,
    Stall,
    Latency,
    MessageLoss,
    IoErrors,
    ReadCorruption,
    DiskFull,
    BitRot,
    Pause,
    ClockDrift,
}

/// `[nemesis]`: kinds and hosts as names, checked in validation so that an
/// unknown one is reported on its own element.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNemesis {
    pub intensity: Field<f64>,
    pub kinds: Field<Vec<Spanned<String>>>,
    pub hosts: Field<Vec<Spanned<String>>>,
    pub from: Field<SimDuration>,
    pub until: Field<SimDuration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawExpect {
    pub outcome: Spanned<RawOutcome>,
    pub reason: Field<String>,
    pub sometimes: Field<Vec<Spanned<RawSometimes>>>,
}

/// One `[expect] sometimes` entry: a probe name, or
/// `{ probe = "...", min_share = 0.5 }`.
#[derive(Debug)]
pub(super) struct RawSometimes {
    pub probe: String,
    pub min_share: Option<f64>,
}

impl<'de> Deserialize<'de> for RawSometimes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SometimesVisitor)
    }
}

struct SometimesVisitor;

impl<'de> serde::de::Visitor<'de> for SometimesVisitor {
    type Value = RawSometimes;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(
            "a probe name like \"write-fenced\", or a table like \
             { probe = \"write-fenced\", min_share = 0.5 }",
        )
    }

    fn visit_str<E: serde::de::Error>(self, probe: &str) -> Result<RawSometimes, E> {
        Ok(RawSometimes {
            probe: probe.to_owned(),
            min_share: None,
        })
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<RawSometimes, A::Error> {
        const FIELDS: &[&str] = &["probe", "min_share"];
        let (mut probe, mut min_share) = (None, None);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "probe" if probe.is_none() => probe = Some(map.next_value::<String>()?),
                "min_share" if min_share.is_none() => min_share = Some(map.next_value::<f64>()?),
                "probe" | "min_share" => {
                    return Err(serde::de::Error::custom(format!("duplicate field `{key}`")))
                }
                _ => return Err(serde::de::Error::unknown_field(&key, FIELDS)),
            }
        }
        let probe = probe.ok_or_else(|| serde::de::Error::missing_field("probe"))?;
        Ok(RawSometimes { probe, min_share })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) enum RawOutcome {
    ExactlyOnce,
    AtLeastOnce,
    JobFailed,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSeeds {
    pub range: Field<String>,
}
