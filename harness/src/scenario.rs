//! Scenario files (docs/design.md §6): one TOML file per scenario in `scenarios/`,
//! embedded in the binary so that `flinch list` works anywhere.
//!
//! A scenario is a story with no logic: the job and its configuration, faults
//! in time order, and what must happen. Every field is optional except
//! `name`, `description`, `job` and `[expect]`; what is left out takes the
//! engine's defaults ([`JobConfig::default`]). Unknown fields are errors, and
//! every error names the file, the line and the field:
//!
//! ```text
//! scenarios/foo.toml:12: field `checkpoint.interval`: expected a duration like "250ms" or "2s", got "fast"
//! ```
//!
//! ```toml
//! name = "taskmanager-crash"
//! description = """What the scenario proves, and how."""
//! job = { name = "keyed-count" }
//! topology = { taskmanagers = 2, parallelism = 2 }   # and max_parallelism
//! max_sim_time = "30s"             # default: from the input and the faults
//! liveness_bound = "10s"           # default: from the input left at the heal
//! bug = "commit-on-barrier"        # a planted bug, for harness self-tests only
//!
//! [workload]       # records, keys, partitions, skew, rate, batch
//! [checkpoint]     # mode = "exactly-once" | "at-least-once", interval, timeout,
//!                  # min_pause, max_concurrent, retained, tolerable_failures
//! [restart]        # strategy = "none" | "fixed-delay" | "failure-rate" |
//!                  # "exponential-delay" (or Flink's aliases), and that
//!                  # strategy's parameters, as Flink accepts them;
//!                  # default: exponential-delay, Flink's with checkpointing
//! [timing]         # heartbeat_interval, heartbeat_timeout,
//!                  # channel_keepalive_timeout, rpc_timeout, slot_request_timeout
//!
//! [[fault]]        # zero or more, in time order
//! kind = "crash_restart"           # or "crash", "restart"
//! host = "taskmanager-2"
//! at = "500ms"
//! after = "300ms"                  # crash_restart only
//!
//! [nemesis]        # faults drawn from each seed, on top of [[fault]]
//! intensity = 2.0                  # mean faults per simulated second
//! kinds = ["crash_restart", "partition"]   # default: every kind
//! hosts = ["*"]                    # default: every host
//! from = "200ms"                   # the window faults start in;
//! until = "3s"                     # default until: the input's duration
//!
//! [expect]
//! outcome = "exactly-once"         # or "at-least-once", or "job-failed" with a reason
//!
//! [seeds]
//! range = "0..100"
//! ```
//!
//! Durations are strings with a unit: `"250ms"`, `"2s"`, `"1.5s"`, `"1m"`.

mod duration;
mod lifecycle;
pub mod limits;
mod locate;
mod nemesis;
mod raw;
mod restart;
mod seed_range;
pub mod suggest;
mod validate;

pub use duration::parse_duration;
pub use seed_range::{parse_seed_range, SeedRange};

use crate::coverage::Sometimes;
use crate::expect::Expectation;
use crate::fault::Fault;
use crate::job::ScenarioJob;
use crate::nemesis::Nemesis;
use flinch_engine::config::{JobConfig, TopologyConfig};
use std::fmt;
use std::path::Path;
use std::time::Duration;

/// A parsed, validated scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    /// The job it runs (`job = { name, ... }`, or `--job`).
    pub job: ScenarioJob,
    pub config: JobConfig,
    /// Hand-written faults, in time order.
    pub faults: Vec<Fault>,
    /// Faults drawn from each seed (`[nemesis]`), on top of `faults`.
    pub nemesis: Option<Nemesis>,
    /// `[[lifecycle]]`: the job's stops and resumes after its first run
    /// (runs under `config`), in order; empty for a job that runs once.
    pub lifecycle: Vec<crate::lifecycle::Step>,
    /// `[[savepoint]]`: plain savepoints the `client` host asks for while
    /// the job runs (docs/savepoints.md).
    pub savepoints: Vec<crate::lifecycle::Savepoint>,
    pub expect: Expectation,
    /// `[expect] sometimes`: probes a sweep's seeds must hit, each in at
    /// least its share of them (judged by `flinch run` over at least
    /// [`crate::coverage::MIN_SEEDS_TO_JUDGE`] seeds; never by one seed).
    pub sometimes: Vec<Sometimes>,
    /// The default seed range (`[seeds] range`).
    pub seeds: SeedRange,
    /// Bound on simulated time: a run that has not ended by then is
    /// stopped, and fails `expected_outcome` (and `liveness`, if it ran past
    /// its deadline). By default it follows from the input and the faults
    /// ([`crate::budget::default_max_sim_time`]); it is always longer than
    /// a fault-free run's liveness deadline and at most
    /// [`crate::budget::MAX_SIM_TIME`].
    pub max_sim_time: Duration,
    /// `liveness_bound`: how long after the last fault healed the job must
    /// end, instead of the bound judged from its input
    /// ([`crate::check::LivenessBound`]).
    pub liveness_bound: Option<Duration>,
}

impl Scenario {
    /// The fault plan seed `seed` runs: the hand-written faults and the
    /// nemesis's, merged by time (a stable merge: on a tie the hand-written
    /// fault comes first). Jitter is not resolved here: the run resolves it
    /// from the seed, in this order ([`crate::world::resolve_jitter`]).
    pub fn plan(&self, seed: u64) -> Vec<Fault> {
        let mut plan = self.faults.clone();
        if let Some(nemesis) = &self.nemesis {
            plan.extend(nemesis.plan(seed, &self.config, &self.expect));
            plan.sort_by_key(|f| f.at);
        }
        plan
    }
}

/// Every host of a topology with `taskmanagers` taskmanagers and one
/// `store`, by the names scenarios target them with (docs/design.md §2).
pub fn host_names(taskmanagers: u32) -> Vec<String> {
    topology_hosts(&TopologyConfig {
        taskmanagers,
        store_replicas: 1,
        ..TopologyConfig::default()
    })
}

/// Every host of `topology`: [`host_names`], with `store-1..=N` in place of
/// `store` when checkpoint storage is replicated, and `jobmanager-1..=N`
/// and `ha` in place of `jobmanager` with more than one jobmanager.
pub fn topology_hosts(topology: &TopologyConfig) -> Vec<String> {
    use flinch_engine::io::addr;
    let taskmanagers = (1..=topology.taskmanagers).map(|n| format!("taskmanager-{n}"));
    let ha = (topology.jobmanagers > 1).then(|| addr::HA.to_owned());
    addr::jobmanagers(topology.jobmanagers)
        .into_iter()
        .chain(taskmanagers)
        .chain(["log", "sink"].map(str::to_owned))
        .chain(addr::stores(topology.store_replicas))
        .chain(ha)
        .collect()
}

/// What is wrong with a scenario file, and where.
///
/// Displays as `file:line: field `path`: message`, leaving out what is not
/// known: a syntax error has no field, a missing top-level field no line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ScenarioError {
    /// The file as the user named it (`scenarios/steady.toml` for a built-in).
    pub file: String,
    /// 1-based.
    pub line: Option<usize>,
    /// Dotted path, array elements indexed from 0: `fault[1].at`.
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// A scenario shipped in `scenarios/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltinScenario {
    /// The file stem, which is also the scenario's `name`.
    pub name: &'static str,
    /// The file's text.
    pub source: &'static str,
    pub description: String,
}

impl BuiltinScenario {
    /// The name its errors are reported under.
    pub fn file(&self) -> String {
        builtin_file(self.name)
    }

    /// The description's first sentence on one line, for `flinch list`.
    pub fn summary(&self) -> String {
        let text = self.description.split_whitespace().collect::<Vec<_>>();
        let text = text.join(" ");
        match text.find(". ") {
            Some(end) => text[..=end].to_owned(),
            None => text,
        }
    }
}

/// Every file in `scenarios/`, sorted by name.
const BUILTIN: [(&str, &str); 53] = [
    (
        "all-replicas-lost",
        include_str!("../../scenarios/all-replicas-lost.toml"),
    ),
    (
        "at-least-once-crash",
        include_str!("../../scenarios/at-least-once-crash.toml"),
    ),
    (
        "checkpoint-expires",
        include_str!("../../scenarios/checkpoint-expires.toml"),
    ),
    (
        "checkpoint-read-corruption",
        include_str!("../../scenarios/checkpoint-read-corruption.toml"),
    ),
    (
        "checkpoint-state-unreadable-fallback",
        include_str!("../../scenarios/checkpoint-state-unreadable-fallback.toml"),
    ),
    (
        "checkpoint-unreadable-after-commit",
        include_str!("../../scenarios/checkpoint-unreadable-after-commit.toml"),
    ),
    (
        "checkpoint-unreadable-fallback",
        include_str!("../../scenarios/checkpoint-unreadable-fallback.toml"),
    ),
    (
        "crash-after-partition-heals",
        include_str!("../../scenarios/crash-after-partition-heals.toml"),
    ),
    (
        "crash-after-precommit",
        include_str!("../../scenarios/crash-after-precommit.toml"),
    ),
    (
        "crash-between-precommit-and-commit",
        include_str!("../../scenarios/crash-between-precommit-and-commit.toml"),
    ),
    (
        "crash-during-checkpoint",
        include_str!("../../scenarios/crash-during-checkpoint.toml"),
    ),
    (
        "crash-during-savepoint",
        include_str!("../../scenarios/crash-during-savepoint.toml"),
    ),
    (
        "crash-while-restoring",
        include_str!("../../scenarios/crash-while-restoring.toml"),
    ),
    (
        "dedup-repeats-across-crashes",
        include_str!("../../scenarios/dedup-repeats-across-crashes.toml"),
    ),
    (
        "failover-after-resume",
        include_str!("../../scenarios/failover-after-resume.toml"),
    ),
    (
        "flapping-network",
        include_str!("../../scenarios/flapping-network.toml"),
    ),
    (
        "ha-disk-loss",
        include_str!("../../scenarios/ha-disk-loss.toml"),
    ),
    (
        "jobmanager-crash",
        include_str!("../../scenarios/jobmanager-crash.toml"),
    ),
    (
        "jobmanager-failover-standby",
        include_str!("../../scenarios/jobmanager-failover-standby.toml"),
    ),
    (
        "jobmanager-leader-partitioned-from-ha",
        include_str!("../../scenarios/jobmanager-leader-partitioned-from-ha.toml"),
    ),
    (
        "jobmanager-leader-paused",
        include_str!("../../scenarios/jobmanager-leader-paused.toml"),
    ),
    (
        "late-precommit-after-failover",
        include_str!("../../scenarios/late-precommit-after-failover.toml"),
    ),
    (
        "local-copy-stale-after-unclean-crash",
        include_str!("../../scenarios/local-copy-stale-after-unclean-crash.toml"),
    ),
    (
        "metadata-lands-after-timeout",
        include_str!("../../scenarios/metadata-lands-after-timeout.toml"),
    ),
    (
        "nemesis-mixed",
        include_str!("../../scenarios/nemesis-mixed.toml"),
    ),
    (
        "partition-between-taskmanagers",
        include_str!("../../scenarios/partition-between-taskmanagers.toml"),
    ),
    (
        "partition-taskmanager-jobmanager",
        include_str!("../../scenarios/partition-taskmanager-jobmanager.toml"),
    ),
    (
        "register-write-unknown-outcome",
        include_str!("../../scenarios/register-write-unknown-outcome.toml"),
    ),
    (
        "rescale-down",
        include_str!("../../scenarios/rescale-down.toml"),
    ),
    (
        "rescale-up",
        include_str!("../../scenarios/rescale-up.toml"),
    ),
    (
        "restarts-exhausted",
        include_str!("../../scenarios/restarts-exhausted.toml"),
    ),
    (
        "resume-from-retained",
        include_str!("../../scenarios/resume-from-retained.toml"),
    ),
    (
        "savepoint-while-running",
        include_str!("../../scenarios/savepoint-while-running.toml"),
    ),
    (
        "stall-during-alignment",
        include_str!("../../scenarios/stall-during-alignment.toml"),
    ),
    (
        "state-upload-errors",
        include_str!("../../scenarios/state-upload-errors.toml"),
    ),
    ("steady", include_str!("../../scenarios/steady.toml")),
    (
        "stop-with-drain",
        include_str!("../../scenarios/stop-with-drain.toml"),
    ),
    (
        "store-and-jobmanager-loss",
        include_str!("../../scenarios/store-and-jobmanager-loss.toml"),
    ),
    (
        "store-disk-loss",
        include_str!("../../scenarios/store-disk-loss.toml"),
    ),
    (
        "store-replica-disk-loss",
        include_str!("../../scenarios/store-replica-disk-loss.toml"),
    ),
    (
        "store-replica-disk-loss-during-checkpoint",
        include_str!("../../scenarios/store-replica-disk-loss-during-checkpoint.toml"),
    ),
    (
        "store-replica-stale-register",
        include_str!("../../scenarios/store-replica-stale-register.toml"),
    ),
    (
        "store-unsynced-loss",
        include_str!("../../scenarios/store-unsynced-loss.toml"),
    ),
    (
        "store-write-errors",
        include_str!("../../scenarios/store-write-errors.toml"),
    ),
    (
        "taskmanager-crash",
        include_str!("../../scenarios/taskmanager-crash.toml"),
    ),
    (
        "taskmanager-crash-inline-state",
        include_str!("../../scenarios/taskmanager-crash-inline-state.toml"),
    ),
    (
        "taskmanager-disk-loss",
        include_str!("../../scenarios/taskmanager-disk-loss.toml"),
    ),
    (
        "taskmanager-disk-loss-local-recovery",
        include_str!("../../scenarios/taskmanager-disk-loss-local-recovery.toml"),
    ),
    (
        "taskmanager-pause",
        include_str!("../../scenarios/taskmanager-pause.toml"),
    ),
    (
        "transaction-timeout-during-recovery",
        include_str!("../../scenarios/transaction-timeout-during-recovery.toml"),
    ),
    (
        "transaction-timeout-loss-accepted",
        include_str!("../../scenarios/transaction-timeout-loss-accepted.toml"),
    ),
    (
        "two-stage-slow-link",
        include_str!("../../scenarios/two-stage-slow-link.toml"),
    ),
    (
        "windowed-crash-mid-window",
        include_str!("../../scenarios/windowed-crash-mid-window.toml"),
    ),
];

fn builtin_file(name: &str) -> String {
    format!("scenarios/{name}.toml")
}

/// The built-in scenarios, sorted by name. Only their text is read here:
/// a built-in scenario may run a job of the root crate's registry
/// (`flinch::jobs`), which loading it ([`load`]) resolves.
pub fn builtin() -> Vec<BuiltinScenario> {
    let mut scenarios: Vec<_> = BUILTIN
        .iter()
        .map(|&(name, source)| {
            let raw = toml::from_str::<raw::RawScenario>(source)
                .expect("built-in scenarios are scenario files (tests/scenarios.rs)");
            BuiltinScenario {
                name,
                source,
                description: raw.description.into_inner(),
            }
        })
        .collect();
    scenarios.sort_by_key(|s| s.name);
    scenarios
}

/// Parse and validate a scenario file's text; `file` names it in errors.
pub fn parse(source: &str, file: &str) -> Result<Scenario, ScenarioError> {
    parse_with_job(source, file, None)
}

/// Which job a scenario runs when it is loaded.
#[derive(Debug, Clone)]
pub enum JobChoice {
    /// The file's own `job` table (required).
    File,
    /// Another job instead of the file's (`--job`); the file's own must
    /// still resolve.
    Instead(ScenarioJob),
    /// A job given in code (a user's test, `flinch::Test`): a scenario
    /// file's `job` must be absent or name it, without parameters. A
    /// built-in scenario runs it instead of its own ([`JobChoice::Instead`]),
    /// as `--job` does.
    Given(ScenarioJob),
}

/// [`parse`], running `job` instead of the file's own `job` (`--job`): the
/// scenario is validated against `job`'s graph.
pub fn parse_with_job(
    source: &str,
    file: &str,
    job: Option<ScenarioJob>,
) -> Result<Scenario, ScenarioError> {
    parse_choosing(
        source,
        file,
        job.map_or(JobChoice::File, JobChoice::Instead),
    )
}

/// [`parse`], the job chosen by `choice`.
pub fn parse_choosing(
    source: &str,
    file: &str,
    choice: JobChoice,
) -> Result<Scenario, ScenarioError> {
    let raw = toml::from_str::<raw::RawScenario>(source)
        .map_err(|error| toml_error(source, file, &error))?;
    validate::scenario(&validate::Ctx { file, source }, raw, choice)
}

/// A built-in scenario by name, else a scenario file by path.
pub fn load(name_or_path: &str) -> Result<Scenario, ScenarioError> {
    load_with_job(name_or_path, None)
}

/// [`load`], running `job` instead of the scenario's own (`--job`).
pub fn load_with_job(
    name_or_path: &str,
    job: Option<ScenarioJob>,
) -> Result<Scenario, ScenarioError> {
    load_choosing(
        name_or_path,
        job.map_or(JobChoice::File, JobChoice::Instead),
    )
}

/// [`load`], the job chosen by `choice`.
pub fn load_choosing(name_or_path: &str, choice: JobChoice) -> Result<Scenario, ScenarioError> {
    if let Some(&(name, source)) = BUILTIN.iter().find(|(name, _)| *name == name_or_path) {
        let choice = match choice {
            JobChoice::Given(job) => JobChoice::Instead(job),
            other => other,
        };
        return parse_choosing(source, &builtin_file(name), choice);
    }
    let path = Path::new(name_or_path);
    let looks_like_path = name_or_path.ends_with(".toml") || path.components().count() > 1;
    if !looks_like_path && !path.is_file() {
        let names: Vec<_> = BUILTIN.iter().map(|(name, _)| *name).collect();
        return Err(ScenarioError {
            file: name_or_path.to_owned(),
            line: None,
            field: None,
            message: format!(
                "no built-in scenario has this name, and it is no .toml file; built-in scenarios: {}",
                names.join(", ")
            ),
        });
    }
    let source = read_file(name_or_path)?;
    parse_choosing(&source, name_or_path, choice)
}

/// The text of the scenario file at `path`, read to
/// [`limits::FILE_BYTES`] at most (a device such as `/dev/zero` named by
/// mistake is not read forever). Errors: the file cannot be read or is not
/// UTF-8, or it is larger than the limit; each names the file.
pub fn read_file(path: &str) -> Result<String, ScenarioError> {
    let unreadable = |message: String| ScenarioError {
        file: path.to_owned(),
        line: None,
        field: None,
        message,
    };
    read_capped(Path::new(path)).map_err(|error| match error {
        Capped::Io(error) => unreadable(format!("cannot read the scenario file: {error}")),
        Capped::TooLarge => {
            let max = limits::FILE_BYTES;
            unreadable(format!(
                "the file is larger than {} bytes, the most a scenario file may be ({}): not a \
                 scenario file",
                max.max, max.why
            ))
        }
    })
}

/// Why [`read_capped`] read no scenario.
enum Capped {
    Io(std::io::Error),
    TooLarge,
}

/// The file at `path` as text, reading at most [`limits::FILE_BYTES`]
/// and one byte more (to tell a file of the limit from a larger one).
#[expect(
    clippy::disallowed_types,
    reason = "the user's scenario file, on the real disk, read before any simulation"
)]
fn read_capped(path: &Path) -> Result<String, Capped> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(Capped::Io)?;
    let mut bytes = Vec::new();
    (file.take(limits::FILE_BYTES.max + 1))
        .read_to_end(&mut bytes)
        .map_err(Capped::Io)?;
    if bytes.len() as u64 > limits::FILE_BYTES.max {
        return Err(Capped::TooLarge);
    }
    String::from_utf8(bytes).map_err(|e| {
        Capped::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("stream did not contain valid UTF-8 ({})", e.utf8_error()),
        ))
    })
}

/// A TOML syntax or type error, with the line and field its span points at.
fn toml_error(source: &str, file: &str, error: &toml::de::Error) -> ScenarioError {
    let mut message = suggest::hint_serde(error.message().trim().replace('\n', "; "));
    if message.is_empty() {
        // The TOML parser gives some syntax errors no message (a control
        // character in a comment, for one): say what stands at the span.
        message = unexpected_at(source, error.span().map_or(0, |s| s.start));
    }
    let mut scenario_error = ScenarioError {
        file: file.to_owned(),
        line: None,
        field: None,
        message,
    };
    let Some(span) = error.span() else {
        return scenario_error;
    };
    let missing = scenario_error
        .message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'));
    if let Some(missing) = missing {
        // Reported on the table that lacks it: its header's line, but no
        // line for the file as a whole.
        let table = locate::table_at(source, &span).unwrap_or_default();
        scenario_error.line = (!table.is_empty()).then(|| locate::line_of(source, span.start));
        scenario_error.field = Some(locate::join(&table, missing));
        scenario_error.message = "this field is required".to_owned();
    } else {
        scenario_error.line = Some(locate::line_of(source, span.start));
        scenario_error.field = locate::field_at(source, &span).filter(|f| !f.is_empty());
    }
    scenario_error
}

/// "invalid TOML: unexpected ... at column N" for the character at byte
/// `offset` of `source`, for a syntax error that came without a message.
fn unexpected_at(source: &str, offset: usize) -> String {
    let mut offset = offset.min(source.len());
    // The parser's spans fall on character boundaries; stay safe if not.
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    let line_start = source[..offset].rfind('\n').map_or(0, |i| i + 1);
    let column = source[line_start..offset].chars().count() + 1;
    let what = match source[offset..].chars().next() {
        None => "end of file".to_owned(),
        Some(c) if c.is_control() => format!(
            "control character U+{:04X} (TOML allows none but tab, outside strings' escapes)",
            u32::from(c)
        ),
        Some(c) => format!("{c:?}"),
    };
    format!("invalid TOML: unexpected {what} at column {column}")
}

/// Test helper for the parser's modules: parsing `source` must fail with
/// an error whose text contains `expected`.
#[cfg(test)]
fn assert_parse_error(source: &str, expected: &str) {
    match parse(source, "test.toml") {
        Ok(scenario) => panic!("expected an error for {source:?}, got {scenario:?}"),
        Err(error) => {
            let shown = error.to_string();
            assert!(
                shown.contains(expected),
                "error\n  {shown}\ndoes not contain\n  {expected}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::FaultKind;
    use flinch_engine::config::{CheckpointMode, RestartConfig};

    fn scenarios_dir() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
    }

    fn load_error(name_or_path: &str) -> String {
        match load(name_or_path) {
            Ok(scenario) => panic!("expected {name_or_path:?} not to load, got {scenario:?}"),
            Err(error) => error.to_string(),
        }
    }

    /// Found by the scenario_parse fuzz target (fuzz/regressions/): the
    /// TOML parser reports a control character in a comment with no
    /// message, and the comment was taken for a key.
    #[test]
    fn a_syntax_error_without_a_message_says_what_and_where() {
        assert_parse_error(
            "name = \"x\"\n# a comment with \u{1d} in it\n",
            "test.toml:2: invalid TOML: unexpected control character U+001D",
        );
        assert_parse_error("name = \"x\"\n# say = \u{7f}\n", "at column 9");
    }

    #[test]
    fn every_file_in_scenarios_is_built_in() {
        let mut on_disk: Vec<String> = std::fs::read_dir(scenarios_dir())
            .expect("the scenarios directory is readable")
            .map(|entry| entry.expect("a directory entry").path())
            .filter(|path| path.extension().is_some_and(|e| e == "toml"))
            .map(|path| {
                let stem = path.file_stem().expect("a .toml file has a stem");
                stem.to_string_lossy().into_owned()
            })
            .collect();
        on_disk.sort();
        let built_in: Vec<_> = builtin().iter().map(|s| s.name.to_owned()).collect();
        assert_eq!(built_in, on_disk);
    }

    #[test]
    fn built_in_scenarios_are_listed_by_name_with_a_one_line_summary() {
        let scenarios = builtin();
        let names: Vec<_> = scenarios.iter().map(|s| s.name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
        for scenario in &scenarios {
            let summary = scenario.summary();
            assert!(
                !summary.contains('\n') && summary.ends_with('.'),
                "{summary:?}"
            );
            assert_eq!(scenario.file(), format!("scenarios/{}.toml", scenario.name));
        }
    }

    #[test]
    fn built_in_scenarios_load_by_name_or_by_path() {
        let by_name = load("taskmanager-crash").expect("a built-in name loads");
        let path = scenarios_dir().join("taskmanager-crash.toml");
        let by_path = load(&path.to_string_lossy()).expect("a scenario file loads");
        assert_eq!(by_name, by_path);
        assert_eq!(
            by_name.faults,
            vec![Fault {
                id: None,
                kind: FaultKind::CrashRestart {
                    after: Duration::from_millis(300)
                },
                host: "taskmanager-2".to_owned(),
                at: Duration::from_millis(300),
                jitter: Duration::from_millis(600),
                on: None,
            }]
        );
    }

    #[test]
    fn the_built_in_scenarios_configure_what_their_stories_tell() {
        let steady = load("steady").expect("steady loads");
        assert!(steady.faults.is_empty());
        assert_eq!(steady.config, JobConfig::default());

        let at_least_once = load("at-least-once-crash").expect("at-least-once-crash loads");
        assert_eq!(
            at_least_once.config.checkpoint.mode,
            CheckpointMode::AtLeastOnce
        );
        assert_eq!(at_least_once.expect, Expectation::AtLeastOnce);

        let exhausted = load("restarts-exhausted").expect("restarts-exhausted loads");
        let delay = Duration::from_millis(50);
        assert_eq!(
            exhausted.config.restart,
            RestartConfig::FixedDelay { attempts: 2, delay }
        );
        assert_eq!(
            exhausted.faults.len(),
            3,
            "one failover more than attempts allow"
        );
        let reason = "fixed-delay".to_owned();
        assert_eq!(exhausted.expect, Expectation::JobFailed { reason });
    }

    #[test]
    fn an_unknown_scenario_name_lists_the_built_in_ones() {
        let names: Vec<&str> = builtin().iter().map(|b| b.name).collect();
        assert!(names.contains(&"steady") && names.contains(&"nemesis-mixed"));
        assert_eq!(
            load_error("no-such-scenario"),
            format!(
                "no-such-scenario: no built-in scenario has this name, and it is no .toml file; \
                 built-in scenarios: {}",
                names.join(", ")
            )
        );
    }

    #[test]
    fn a_missing_scenario_file_is_reported_with_its_path() {
        let error = load_error("does/not/exist.toml");
        assert!(
            error.starts_with("does/not/exist.toml: cannot read the scenario file: "),
            "{error}"
        );
    }

    /// A file past [`limits::FILE_BYTES`] is refused after reading that
    /// much, not read on (a device named by mistake is endless); one of
    /// exactly the limit is read and parsed.
    #[test]
    fn a_file_larger_than_a_scenario_may_be_is_refused_after_the_limit() {
        let dir = std::env::temp_dir().join(format!("flinch-capped-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temp dir");
        let big = dir.join("big.toml");
        let max = limits::FILE_BYTES.max as usize;
        std::fs::write(&big, "#".repeat(max + 1)).expect("written");
        let error = load_error(&big.display().to_string());
        assert!(
            error
                .contains("the file is larger than 1048576 bytes, the most a scenario file may be"),
            "{error}"
        );
        std::fs::write(&big, "#".repeat(max)).expect("written");
        let error = load_error(&big.display().to_string());
        assert!(!error.contains("larger than"), "{error}");
        #[cfg(unix)]
        {
            let error = load_error("/dev/zero");
            assert!(error.contains("larger than"), "{error}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn errors_leave_out_what_is_not_known() {
        let error = |line, field: Option<&str>| ScenarioError {
            file: "f.toml".to_owned(),
            line,
            field: field.map(str::to_owned),
            message: "bad".to_owned(),
        };
        assert_eq!(
            error(Some(3), Some("a.b")).to_string(),
            "f.toml:3: field `a.b`: bad"
        );
        assert_eq!(error(Some(3), None).to_string(), "f.toml:3: bad");
        assert_eq!(error(None, Some("a")).to_string(), "f.toml: field `a`: bad");
        assert_eq!(error(None, None).to_string(), "f.toml: bad");
    }
}
