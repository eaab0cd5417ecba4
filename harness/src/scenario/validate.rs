//! From a scenario file as written to a [`Scenario`]: defaults filled in,
//! every rule checked, each violation reported on its own line and field.

use super::limits::{self, Limit};
use super::locate::line_of;
use super::raw::{
    Field, RawCheckpoint, RawEdge, RawExpect, RawFault, RawFaultKind, RawMode, RawOutcome,
    RawScenario, RawSink, RawSometimes, RawTiming, RawTopology, RawTrigger, RawWorkload,
};
use super::suggest;
use super::{
    duration::SimDuration, lifecycle, nemesis, parse_seed_range, restart, topology_hosts,
    JobChoice, Scenario, ScenarioError, SeedRange,
};
use crate::budget::{self, secs};
use crate::coverage::{Sometimes, DEFAULT_MIN_SHARE};
use crate::expect::Expectation;
use crate::fault::{
    format_duration, Edge, EventTrigger, Fault, FaultKind, FaultTrigger, Trigger, ALL_PEERS,
    ID_MAX_LEN,
};
use crate::job::ScenarioJob;
use crate::nemesis::Nemesis;
use crate::world::LATENCY_MIN;
use flinch_engine::config::{
    default_max_parallelism, CheckpointConfig, CheckpointMode, JobConfig, PlantedBug,
    RestartConfig, SinkConfig, TimingConfig, TopologyConfig, WorkloadConfig, MAX_INLINE_STATE,
};
use flinch_engine::event::{Event, HostRole, TaskId};
use flinch_engine::graph::SINK_ALIAS;
use flinch_engine::job::Plan;
use flinch_engine::probe::Probe;
use flinch_engine::workload;
use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;
use toml::Spanned;

/// The seeds of a file without `[seeds] range`: 0..100.
const SEEDS: SeedRange = SeedRange::new(0, 99).expect("0 <= 99");

/// The file being validated, for reporting errors in it.
pub(super) struct Ctx<'a> {
    pub file: &'a str,
    pub source: &'a str,
}

impl Ctx<'_> {
    pub fn error(
        &self,
        span: Range<usize>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> ScenarioError {
        ScenarioError {
            file: self.file.to_owned(),
            line: Some(line_of(self.source, span.start)),
            field: Some(field.into()),
            message: message.into(),
        }
    }

    /// A count from 1 to `limit.max`, or `default` when absent.
    pub fn count<T: Copy + Into<u64>>(
        &self,
        value: &Option<Spanned<T>>,
        field: &str,
        default: T,
        limit: Limit,
    ) -> Result<T, ScenarioError> {
        match value {
            Some(v) if (*v.get_ref()).into() == 0 => {
                Err(self.error(v.span(), field, "must be at least 1, got 0"))
            }
            Some(v) => self.at_most(v, field, limit),
            None => Ok(default),
        }
    }

    /// `value` if it is at most `limit.max`.
    pub fn at_most<T: Copy + Into<u64>>(
        &self,
        value: &Spanned<T>,
        field: &str,
        limit: Limit,
    ) -> Result<T, ScenarioError> {
        let n: u64 = (*value.get_ref()).into();
        if n > limit.max {
            let message = format!("must be at most {}, got {n}: {}", limit.max, limit.why);
            return Err(self.error(value.span(), field, message));
        }
        Ok(*value.get_ref())
    }

    /// A duration that may be zero, or `default` when absent.
    pub fn duration(&self, value: &Option<Spanned<SimDuration>>, default: Duration) -> Duration {
        value.as_ref().map_or(default, |v| v.get_ref().0)
    }

    /// A duration that must be longer than zero, or `default` when absent.
    pub fn positive_duration(
        &self,
        value: &Option<Spanned<SimDuration>>,
        field: &str,
        default: Duration,
    ) -> Result<Duration, ScenarioError> {
        match value {
            Some(v) => match self.not_positive(v) {
                Some(message) => Err(self.error(v.span(), field, message)),
                None => Ok(v.get_ref().0),
            },
            None => Ok(self.duration(value, default)),
        }
    }
}

impl Ctx<'_> {
    /// A checkpoint interval or timeout, or `default` when absent: at least
    /// [`limits::MIN_CHECKPOINT_TIME`], Flink's least, for `why`.
    fn checkpoint_time(
        &self,
        value: &Option<Spanned<SimDuration>>,
        field: &str,
        why: &str,
        default: Duration,
    ) -> Result<Duration, ScenarioError> {
        let Some(v) = value else {
            return Ok(default);
        };
        let duration = v.get_ref().0;
        if duration >= limits::MIN_CHECKPOINT_TIME {
            return Ok(duration);
        }
        let written = (self.source.get(v.span()))
            .map_or_else(|| format_duration(duration), |w| w.trim().to_owned());
        let least = format_duration(limits::MIN_CHECKPOINT_TIME);
        let message = format!("must be at least {least}, got {written}: {why}");
        Err(self.error(v.span(), field, message))
    }

    /// Why `value` cannot be a duration that must be positive, or `None`
    /// if it can: zero, or under a millisecond (the simulation, and Flink,
    /// count such durations in whole milliseconds, so `"0.5ms"` would be
    /// 0). The message quotes the value as the file writes it.
    pub(super) fn not_positive(&self, value: &Spanned<SimDuration>) -> Option<String> {
        let duration = value.get_ref().0;
        if duration.is_zero() {
            Some("must be longer than 0".to_owned())
        } else if duration < Duration::from_millis(1) {
            let written = (self.source.get(value.span()))
                .map_or_else(|| format_duration(duration), |w| w.trim().to_owned());
            Some(format!(
                "must be at least 1ms, got {written}: the simulation counts durations in whole \
                 milliseconds"
            ))
        } else {
            None
        }
    }
}

pub(super) fn scenario(
    cx: &Ctx,
    raw: RawScenario,
    choice: JobChoice,
) -> Result<Scenario, ScenarioError> {
    let name = not_blank(cx, &raw.name, "name")?;
    let description = not_blank(cx, &raw.description, "description")?;
    let job = match choice {
        JobChoice::File => match &raw.job {
            Some(table) => job(cx, table)?,
            None => {
                let message = "missing: which job the scenario runs, e.g. \
                               `job = { name = \"keyed-count\" }`";
                return Err(cx.error(0..0, "job", message));
            }
        },
        JobChoice::Instead(instead) => {
            // The file's own job must still be one it could run.
            if let Some(table) = &raw.job {
                job(cx, table)?;
            }
            instead
        }
        JobChoice::Given(given) => {
            if let Some(table) = &raw.job {
                same_job(cx, table, &given)?;
            }
            given
        }
    };
    let topology = topology(cx, &raw.topology)?;
    let resumed = lifecycle::topologies(cx, &raw.lifecycle, &topology)?;
    // Faults and stops may name any host or task of any run.
    let widest = crate::lifecycle::widest(&topology, &resumed);
    let checkpoint = checkpoint(cx, &raw.checkpoint)?;
    let restart = match &raw.restart {
        Some(raw) => restart::restart(cx, raw)?,
        None => RestartConfig::default(),
    };
    let explicit_max_sim_time = limited_duration(cx, &raw.max_sim_time, "max_sim_time")?;
    let liveness_bound = limited_duration(cx, &raw.liveness_bound, "liveness_bound")?;
    let workload = workload(cx, &raw.workload)?;
    connections_fit(cx, &raw, &job, &workload, &topology, &resumed)?;
    // A lifecycle that stops with a savepoint, or plain savepoints, have a
    // `client` host, which faults may name too.
    let mut hosts = topology_hosts(&widest);
    let stops_with_savepoint = raw
        .lifecycle
        .iter()
        .any(|s| *s.get_ref().stop.get_ref().with.get_ref() == super::raw::RawStopWith::Savepoint);
    if stops_with_savepoint || !raw.savepoint.is_empty() {
        hosts.push(flinch_engine::io::addr::CLIENT.to_owned());
    }
    let shape = Shape {
        hosts,
        plan: Plan::new(
            &job.model.graph(),
            &JobConfig {
                topology: widest,
                workload: workload.clone(),
                ..JobConfig::default()
            },
        ),
        resumed: !raw.lifecycle.is_empty(),
    };
    inline_state(cx, &raw.checkpoint, &checkpoint, &shape.plan)?;
    let faults = faults(cx, &raw.fault, &shape, explicit_max_sim_time)?;
    disk_faults_find_data(cx, &raw.fault, &faults, checkpoint.local_recovery)?;
    let lifecycle = lifecycle::steps(cx, &raw.lifecycle, resumed, &shape)?;
    let savepoints = lifecycle::savepoints(cx, &raw.savepoint, &shape)?;
    let expect = expect(cx, &raw.expect, checkpoint.mode)?;
    let sometimes = sometimes(
        cx,
        raw.expect.sometimes.as_ref(),
        topology.jobmanagers > 1,
        topology.store_replicas > 1,
    )?;
    nemesis::unsurvivable_faults(cx, &raw.fault, &faults, &expect)?;
    let nemesis = match &raw.nemesis {
        Some(n) => {
            let first = topology_hosts(&topology);
            let resumed_only: Vec<String> = (shape.hosts.iter())
                .filter(|h| !first.contains(h) && *h != flinch_engine::io::addr::CLIENT)
                .cloned()
                .collect();
            let context = nemesis::Context {
                hosts: &first,
                resumed_only: &resumed_only,
                expect: &expect,
                workload: &workload,
                max_sim_time: explicit_max_sim_time.unwrap_or(budget::MAX_SIM_TIME),
            };
            Some(nemesis::nemesis(cx, n, &context)?)
        }
        None => None,
    };
    let config = JobConfig {
        workload,
        timing: timing(cx, &raw.timing)?,
        sink: sink(cx, &raw.sink)?,
        planted_bug: raw.bug.as_ref().map(|b| bug(cx, b)).transpose()?,
        topology,
        checkpoint,
        restart,
        run: 0,
        restore_mode: Default::default(),
    };
    if let (Some(ttl), 1) = (&raw.timing.lease_ttl, config.topology.jobmanagers) {
        let message = "has no effect with one jobmanager: `ha` grants a leader lease only with \
                       standby jobmanagers (topology.jobmanagers above 1, the same in every run)";
        return Err(cx.error(ttl.span(), "timing.lease_ttl", message));
    }
    if let (Some(bug), Some(raw_bug)) = (config.planted_bug, raw.bug.as_ref()) {
        let needs = bug.requires();
        if !needs.met_by(&job.model.graph(), job.model.event_time()) {
            let message = format!(
                "planted bug \"{}\" {}, which job \"{}\" does not have: it could never show",
                bug.name(),
                needs.describe(),
                job.name
            );
            return Err(cx.error(raw_bug.span(), "bug", message));
        }
    }
    let run = Run {
        config: &config,
        liveness_bound,
        faults: &faults,
        nemesis: nemesis.as_ref(),
        lifecycle: &lifecycle,
        savepoints: &savepoints,
    };
    let max_sim_time = max_sim_time(cx, &raw, &run)?;
    Ok(Scenario {
        name,
        description,
        job,
        config,
        faults,
        nemesis,
        lifecycle,
        savepoints,
        expect,
        sometimes,
        seeds: seeds(cx, raw.seeds.range.as_ref())?,
        max_sim_time,
        liveness_bound,
    })
}

/// Every run's taskmanagers must each open at most
/// [`limits::CONNECTIONS_PER_TASKMANAGER`] connections
/// ([`Plan::connections_per_taskmanager`]): each takes one of its host's
/// ephemeral ports ([`crate::world::EPHEMERAL_PORTS`]), and a host out of
/// them cannot connect at all. The error names the field of the run at
/// fault that raises the count most: `topology.parallelism` when set, else
/// `workload.partitions`, else `topology.taskmanagers` (for a resumed run,
/// under `lifecycle[i].resume.topology`).
fn connections_fit(
    cx: &Ctx,
    raw: &RawScenario,
    job: &ScenarioJob,
    workload: &WorkloadConfig,
    first: &TopologyConfig,
    resumed: &[TopologyConfig],
) -> Result<(), ScenarioError> {
    let graph = job.model.graph();
    let runs = std::iter::once((None, &raw.topology, first)).chain(
        (raw.lifecycle.iter().zip(resumed).enumerate()).filter_map(|(i, (step, topology))| {
            let resume = step.get_ref().resume.as_ref()?;
            Some((Some(i), &resume.get_ref().topology, topology))
        }),
    );
    for (step, raw_topology, topology) in runs {
        let config = JobConfig {
            topology: topology.clone(),
            workload: workload.clone(),
            ..JobConfig::default()
        };
        let plan = Plan::new(&graph, &config);
        let connections = plan.connections_per_taskmanager(topology.store_replicas);
        let limit = limits::CONNECTIONS_PER_TASKMANAGER;
        if connections <= limit.max {
            continue;
        }
        let prefix = step.map_or("topology".to_owned(), |i| {
            format!("lifecycle[{i}].resume.topology")
        });
        let (span, field) = match (&raw_topology.parallelism, &raw.workload.partitions) {
            (Some(p), _) => (p.span(), format!("{prefix}.parallelism")),
            (None, Some(p)) if step.is_none() => (p.span(), "workload.partitions".to_owned()),
            _ => match &raw_topology.taskmanagers {
                Some(t) => (t.span(), format!("{prefix}.taskmanagers")),
                None => (0..0, format!("{prefix}.parallelism")),
            },
        };
        let message = format!(
            "a taskmanager would open {connections} connections (workload.partitions {} and \
             topology.parallelism {} over {} taskmanagers: every subtask has a channel to \
             every subtask of the vertex after it), more than the {} each may: {}; use more \
             taskmanagers or a lower parallelism",
            workload.partitions, topology.parallelism, topology.taskmanagers, limit.max, limit.why
        );
        return Err(cx.error(span, field, message));
    }
    Ok(())
}

/// A top-level duration that, when given, must be longer than zero and at
/// most [`budget::MAX_SIM_TIME`].
fn limited_duration(
    cx: &Ctx,
    value: &Option<Spanned<SimDuration>>,
    field: &str,
) -> Result<Option<Duration>, ScenarioError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let duration = value.get_ref().0;
    if let Some(message) = cx.not_positive(value) {
        return Err(cx.error(value.span(), field, message));
    }
    if duration > budget::MAX_SIM_TIME {
        let message = format!(
            "must be at most {:?} of simulated time, got {duration:?}: {}",
            budget::MAX_SIM_TIME,
            MAX_SIM_TIME_WHY
        );
        return Err(cx.error(value.span(), field, message));
    }
    Ok(Some(duration))
}

/// Why a run may last at most [`budget::MAX_SIM_TIME`].
const MAX_SIM_TIME_WHY: &str = "a simulated second costs 30 to 65 ms of wall time, so an hour \
    is two to four minutes per seed";

/// What a run's length depends on.
struct Run<'a> {
    config: &'a JobConfig,
    liveness_bound: Option<Duration>,
    faults: &'a [Fault],
    nemesis: Option<&'a Nemesis>,
    lifecycle: &'a [crate::lifecycle::Step],
    savepoints: &'a [crate::lifecycle::Savepoint],
}

/// The scenario's `max_sim_time`, or the default that follows from its
/// input and faults ([`budget::default_max_sim_time`]). An explicit one must
/// be longer than a fault-free run's liveness deadline, or a job that
/// hangs could not be told from a slow one (and a correct job could be cut
/// off); a default one must stay within [`budget::MAX_SIM_TIME`].
fn max_sim_time(cx: &Ctx, raw: &RawScenario, run: &Run) -> Result<Duration, ScenarioError> {
    let needed = budget::needed_sim_time(run.config, run.liveness_bound);
    if let Some(spanned) = &raw.max_sim_time {
        let given = spanned.get_ref().0;
        if given <= needed {
            let message = format!(
                "{given:?} is too short for the input: a run needs more than {} ({}), or a job \
                 that hangs could not be told from a slow one",
                secs(needed),
                why_needed(run)
            );
            return Err(cx.error(spanned.span(), "max_sim_time", message));
        }
        // The lifecycle's stops and resumes come first: the last run's
        // deadline is that much later.
        let stopped = budget::lifecycle_floor(run.config, run.liveness_bound, run.lifecycle);
        if given <= needed.saturating_add(stopped) {
            let message = format!(
                "{given:?} is too short for the lifecycle: its stops and resumes take up to {} \
                 before the last run starts (each stop's `at`, `jitter` and `on.delay` after its \
                 run starts, then its resume's `after`, and the slowest run's extra time), and \
                 that run needs more than {} ({}), so more than {} in all, or a job that hangs \
                 could not be told from a slow one",
                secs(stopped),
                secs(needed),
                why_needed(run),
                secs(needed.saturating_add(stopped))
            );
            return Err(cx.error(spanned.span(), "max_sim_time", message));
        }
        // A savepoint whose time (from which its event counts, with `on`)
        // may come at or after the end of the run is refused, as such a
        // fault is.
        let late = (run.savepoints.iter().zip(&raw.savepoint).enumerate())
            .find(|(_, (s, _))| s.at.saturating_add(s.jitter) >= given);
        if let Some((i, (savepoint, raw_savepoint))) = late {
            let (at, jitter) = (savepoint.at, savepoint.jitter);
            let span = (raw_savepoint.get_ref().at.as_ref())
                .map_or_else(|| raw_savepoint.span(), |at| at.span());
            let message = format!(
                "at {at:?} (+ jitter {jitter:?}) the savepoint may never be asked for: \
                 max_sim_time is {given:?}"
            );
            return Err(cx.error(span, format!("savepoint[{i}].at"), message));
        }
        return Ok(given);
    }
    let default =
        budget::default_max_sim_time(run.config, run.liveness_bound, run.faults, run.nemesis)
            .saturating_add(budget::lifecycle_time(
                run.config,
                run.liveness_bound,
                run.lifecycle,
            ))
            .saturating_add(budget::savepoint_time(
                run.config,
                run.liveness_bound,
                run.savepoints,
            ));
    if default > budget::MAX_SIM_TIME {
        let part = largest_part(raw, run);
        let message = format!(
            "the run this scenario describes needs {} of simulated time (without faults, more \
             than {}: {}), more than the {:?} a run may last: {MAX_SIM_TIME_WHY}; the largest \
             part is {}: {}",
            secs(default),
            secs(needed),
            why_needed(run),
            budget::MAX_SIM_TIME,
            part.said(),
            part.fix
        );
        return Err(ScenarioError {
            file: cx.file.to_owned(),
            line: part.span.map(|s| line_of(cx.source, s.start)),
            field: Some(part.field),
            message,
        });
    }
    Ok(default)
}

/// One field's share of a run's default length ([`largest_part`]).
struct Part {
    /// Where the file sets the field; `None` for a default.
    span: Option<Range<usize>>,
    field: String,
    /// The field's value, or for a whole entry (`whole`) when the entry
    /// may end.
    value: Duration,
    /// How often the budget counts the field: once, and once more for each
    /// fault that waits for an event (each may come after a whole run).
    times: u32,
    /// For a fault, a lifecycle step or a savepoint: the entry, said before
    /// `length` (`fault[0], which may end as late as`), with `field` the
    /// largest of its terms.
    whole: Option<String>,
    fix: &'static str,
}

impl Part {
    /// The part as the error names it: `checkpoint.interval (3600.000s)`,
    /// `timing.rpc_timeout (1.000s, its default)`, `checkpoint.timeout
    /// (1200.000s, counted 3 times: ...)`, `fault[0], which may end as late
    /// as 3600.301s (`fault[0].jitter` the most of it)`.
    fn said(&self) -> String {
        if let Some(whole) = &self.whole {
            return format!(
                "{whole} {} (`{}` the most of it)",
                secs(self.value),
                self.field
            );
        }
        let value = self.value;
        let default = if self.span.is_none() {
            ", its default"
        } else {
            ""
        };
        match self.times {
            0 | 1 => format!("{} ({}{default})", self.field, secs(value)),
            n => format!(
                "{} ({}{default}, counted {n} times, {}: once for the run and once for each \
                 fault that waits for an event, which may come after a whole run)",
                self.field,
                secs(value),
                secs(self.length())
            ),
        }
    }

    /// How much of the run's length the part accounts for: the value as
    /// often as the budget counts it.
    fn length(&self) -> Duration {
        self.value.saturating_mul(self.times)
    }
}

/// Of an entry's duration fields, by name, the one set to the longest
/// duration: the field a late entry is named by. The first listed when none
/// is set.
fn longest_field<'a, const N: usize>(
    fields: [(Option<&'a Spanned<SimDuration>>, &'static str); N],
) -> (Option<&'a Spanned<SimDuration>>, &'static str) {
    (fields.into_iter())
        .rev()
        .max_by_key(|(f, _)| f.map(|d| d.get_ref().0))
        .expect("an entry has duration fields")
}

/// The field that accounts for most of `run`'s default length
/// ([`budget::default_max_sim_time`], with the lifecycle's and the
/// savepoints' time): the input's read time (`workload.records`, or
/// `workload.rate` when only that is set), `liveness_bound`, each timeout
/// and interval of the margin ([`budget::Margin`]), each counted as often as
/// the budget counts a fault-free run (once, and once more for each fault
/// that waits for an event), a fault's `at`, `jitter`, duration or trigger
/// delay (its largest), the nemesis's `until`, the lifecycle and the
/// savepoints. A field the file sets is named with its line; one it leaves
/// at its default is named all the same, without a line.
fn largest_part(raw: &RawScenario, run: &Run) -> Part {
    const LOWER: &str = "lower it";
    const LATE: &str = "move it earlier, or set max_sim_time to at most 1h (a fault that then \
                        may never fire is refused)";
    let runs = 1 + run.faults.iter().filter(|f| f.on.is_some()).count() as u32;
    let mut parts: Vec<Part> = Vec::new();
    let part = |field: &Field<SimDuration>, name: &str, value: Duration, fix| Part {
        span: field.as_ref().map(Spanned::span),
        field: name.to_owned(),
        value,
        times: runs,
        whole: None,
        fix,
    };
    let config = run.config;
    let workload = &config.workload;
    let read = workload::read_time(workload, workload::records_per_partition(workload));
    let (span, field) = match (&raw.workload.records, &raw.workload.rate) {
        (None, Some(rate)) => (Some(rate.span()), "workload.rate"),
        (records, _) => (records.as_ref().map(Spanned::span), "workload.records"),
    };
    parts.push(Part {
        span,
        field: field.to_owned(),
        value: read,
        times: runs,
        whole: None,
        fix: "shorten the input or raise workload.rate",
    });
    if let Some(bound) = run.liveness_bound {
        parts.push(part(&raw.liveness_bound, "liveness_bound", bound, LOWER));
    }
    let t = &raw.timing;
    let timing = &config.timing;
    let elections = match config.topology.jobmanagers {
        n if n > 1 => n + 1,
        _ => 0,
    };
    for (field, name, length) in [
        (
            &t.heartbeat_timeout,
            "timing.heartbeat_timeout",
            timing.heartbeat_timeout,
        ),
        (
            &t.heartbeat_interval,
            "timing.heartbeat_interval",
            timing.heartbeat_interval,
        ),
        (
            &t.channel_keepalive_timeout,
            "timing.channel_keepalive_timeout",
            timing.channel_keepalive_timeout,
        ),
        (&t.rpc_timeout, "timing.rpc_timeout", timing.rpc_timeout),
        (
            &t.slot_request_timeout,
            "timing.slot_request_timeout",
            timing.slot_request_timeout,
        ),
        (
            &t.lease_ttl,
            "timing.lease_ttl",
            timing.lease_ttl.saturating_mul(elections),
        ),
        (
            &raw.checkpoint.interval,
            "checkpoint.interval",
            config.checkpoint.interval,
        ),
        (
            &raw.checkpoint.timeout,
            "checkpoint.timeout",
            config.checkpoint.timeout,
        ),
        (
            &raw.checkpoint.min_pause,
            "checkpoint.min_pause",
            config.checkpoint.min_pause,
        ),
    ] {
        parts.push(part(field, name, length, LOWER));
    }
    if let Some(restart) = &raw.restart {
        let longest = budget::longest_restart_delay(&config.restart);
        let (field, name) = longest_field([
            (restart.delay.as_ref(), "restart.delay"),
            (restart.max_backoff.as_ref(), "restart.max_backoff"),
            (restart.initial_backoff.as_ref(), "restart.initial_backoff"),
        ]);
        parts.push(Part {
            span: field.map(Spanned::span),
            ..part(&None, name, longest, LOWER)
        });
    }
    for (i, (fault, raw_fault)) in run.faults.iter().zip(&raw.fault).enumerate() {
        let delay = fault.on.as_ref().map_or(Duration::ZERO, Trigger::delay);
        let heal = (fault.at.saturating_add(fault.jitter))
            .saturating_add(delay)
            .saturating_add(fault.kind.duration().unwrap_or(Duration::ZERO));
        let on_delay = raw_fault
            .on
            .as_ref()
            .and_then(|on| on.get_ref().delay.as_ref());
        let (field, name) = longest_field([
            (raw_fault.at.as_ref(), "at"),
            (raw_fault.jitter.as_ref(), "jitter"),
            (raw_fault.duration.as_ref(), "for"),
            (raw_fault.after.as_ref(), "after"),
            (on_delay, "on.delay"),
        ]);
        parts.push(Part {
            span: field.map(Spanned::span),
            field: format!("fault[{i}].{name}"),
            value: heal,
            times: 1,
            whole: Some(format!("fault[{i}], which may end as late as")),
            fix: LATE,
        });
    }
    if let (Some(nemesis), Some(raw_nemesis)) = (run.nemesis, &raw.nemesis) {
        let until = raw_nemesis.get_ref().until.as_ref();
        parts.push(Part {
            span: Some(until.map_or(raw_nemesis.span(), Spanned::span)),
            field: "nemesis.until".to_owned(),
            value: nemesis.until.saturating_add(budget::longest_drawn_fault()),
            times: 1,
            whole: None,
            fix: "end the nemesis earlier",
        });
    }
    // A lifecycle step's part: when its stop may come after its run
    // started, and how long the job then stays stopped; a savepoint's: when
    // it may be asked for. Each named by its largest field.
    let needed = budget::needed_sim_time(config, run.liveness_bound);
    for (i, (step, raw_step)) in run.lifecycle.iter().zip(&raw.lifecycle).enumerate() {
        let (stop, raw_stop) = (&step.stop, raw_step.get_ref().stop.get_ref());
        let waits = (stop.on.as_ref()).map_or(Duration::ZERO, |on| needed.saturating_add(on.delay));
        let after = step.resume.as_ref().map_or(Duration::ZERO, |r| r.after);
        let raw_after =
            (raw_step.get_ref().resume.as_ref()).and_then(|r| r.get_ref().after.as_ref());
        let on_delay = raw_stop
            .on
            .as_ref()
            .and_then(|on| on.get_ref().delay.as_ref());
        let (field, name) = longest_field([
            (raw_stop.at.as_ref(), "stop.at"),
            (raw_stop.jitter.as_ref(), "stop.jitter"),
            (on_delay, "stop.on.delay"),
            (raw_after, "resume.after"),
        ]);
        parts.push(Part {
            span: Some(field.map_or(raw_step.span(), Spanned::span)),
            field: format!("lifecycle[{i}].{name}"),
            value: (stop.at.saturating_add(stop.jitter))
                .saturating_add(waits)
                .saturating_add(after),
            times: 1,
            whole: Some(format!(
                "lifecycle[{i}], which may have stopped the job until"
            )),
            fix: "stop earlier, or resume sooner",
        });
    }
    for (i, (savepoint, raw_savepoint)) in run.savepoints.iter().zip(&raw.savepoint).enumerate() {
        let raw_savepoint = raw_savepoint.get_ref();
        let waits =
            (savepoint.on.as_ref()).map_or(Duration::ZERO, |on| needed.saturating_add(on.delay));
        let on_delay = raw_savepoint
            .on
            .as_ref()
            .and_then(|on| on.get_ref().delay.as_ref());
        let (field, name) = longest_field([
            (raw_savepoint.at.as_ref(), "at"),
            (raw_savepoint.jitter.as_ref(), "jitter"),
            (on_delay, "on.delay"),
        ]);
        parts.push(Part {
            span: field.map(Spanned::span),
            field: format!("savepoint[{i}].{name}"),
            value: (savepoint.at.saturating_add(savepoint.jitter)).saturating_add(waits),
            times: 1,
            whole: Some(format!("savepoint[{i}], which may be asked for as late as")),
            fix: "ask for it earlier",
        });
    }
    // The first of the longest: the input before the margin, the margin
    // before the faults.
    let longest = parts.iter().map(Part::length).max().unwrap_or_default();
    parts
        .into_iter()
        .find(|p| p.length() == longest)
        .expect("the input is always a part")
}

/// How the time a fault-free run needs comes about, for errors.
fn why_needed(run: &Run) -> String {
    let workload = &run.config.workload;
    let per_partition = workload::records_per_partition(workload);
    let input = format!(
        "reading {per_partition} records per source at {} records/s takes {}, plus a margin of {}",
        workload::sustained_rate(workload),
        secs(workload::read_time(workload, per_partition)),
        budget::Margin::of(run.config)
    );
    match run.liveness_bound {
        Some(bound) if bound > budget::input_time(run.config) => {
            format!("the liveness_bound {bound:?}, longer than the input needs: {input}")
        }
        _ => input,
    }
}

/// A text field a person writes: not blank, at most [`limits::NAME_CHARS`]
/// characters for the scenario's `name` and [`limits::TEXT_CHARS`] for the
/// others, and without control characters (a name is printed on every
/// report line and progress line, where they would drive the terminal),
/// but for line breaks and tabs in the longer texts.
fn not_blank(cx: &Ctx, value: &Spanned<String>, field: &str) -> Result<String, ScenarioError> {
    let text = value.get_ref();
    if text.trim().is_empty() {
        return Err(cx.error(value.span(), field, "must not be empty"));
    }
    let (limit, breaks) = match field {
        "name" => (limits::NAME_CHARS, false),
        _ => (limits::TEXT_CHARS, true),
    };
    let chars = text.chars().count() as u64;
    if chars > limit.max {
        let message = format!(
            "at most {} characters, got {chars}: {}",
            limit.max, limit.why
        );
        return Err(cx.error(value.span(), field, message));
    }
    let allowed = |c: char| breaks && matches!(c, '\n' | '\r' | '\t');
    if let Some(c) = text.chars().find(|&c| c.is_control() && !allowed(c)) {
        let message = format!(
            "must not hold control characters, got {:?}: it is printed to terminals",
            c
        );
        return Err(cx.error(value.span(), field, message));
    }
    Ok(text.clone())
}

/// `job = { name = "...", <parameters> }`, resolved through the process's
/// job registry ([`crate::job::registry`]).
fn job(cx: &Ctx, raw: &Spanned<toml::Table>) -> Result<ScenarioJob, ScenarioError> {
    let mut params = raw.get_ref().clone();
    let name = match params.remove("name") {
        Some(toml::Value::String(name)) => name,
        Some(_) => return Err(cx.error(raw.span(), "job.name", "must be a string")),
        None => return Err(cx.error(raw.span(), "job.name", "missing: which job to run")),
    };
    crate::job::resolve(&name, &params).map_err(|e| {
        let field = e.field.map_or("job".to_string(), |f| format!("job.{f}"));
        cx.error(raw.span(), &field, e.message)
    })
}

/// A file's `job` table, for a job given in code: it may only name that
/// job, without parameters (the job's parameters are in the code).
fn same_job(
    cx: &Ctx,
    raw: &Spanned<toml::Table>,
    given: &ScenarioJob,
) -> Result<(), ScenarioError> {
    let table = raw.get_ref();
    match table.get("name") {
        Some(toml::Value::String(name)) if *name == given.name => {}
        Some(toml::Value::String(name)) => {
            let message = format!(
                "this scenario is for job \"{name}\", but the test runs \"{}\": name it, or \
                 leave `job` out",
                given.name
            );
            return Err(cx.error(raw.span(), "job.name", message));
        }
        Some(_) => return Err(cx.error(raw.span(), "job.name", "must be a string")),
        None => return Err(cx.error(raw.span(), "job.name", "missing: which job to run")),
    }
    if let Some(field) = table.keys().find(|k| *k != "name") {
        let message = format!(
            "job \"{}\" is given in code, with its parameters: leave `{field}` out",
            given.name
        );
        return Err(cx.error(raw.span(), format!("job.{field}"), message));
    }
    Ok(())
}

fn topology(cx: &Ctx, raw: &RawTopology) -> Result<TopologyConfig, ScenarioError> {
    topology_at(cx, raw, "topology", None)
}

/// The topology `raw` at `prefix` (`topology`, or a resume's
/// `lifecycle[i].resume.topology`). A resume's (`before`: the topology of
/// the run it resumes) takes what it leaves out from `before`, and keeps
/// `before`'s key groups, store replicas and jobmanagers: giving another
/// is an error.
pub(super) fn topology_at(
    cx: &Ctx,
    raw: &RawTopology,
    prefix: &str,
    before: Option<&TopologyConfig>,
) -> Result<TopologyConfig, ScenarioError> {
    let default = before.cloned().unwrap_or_default();
    let field = |name: &str| format!("{prefix}.{name}");
    let taskmanagers = cx.count(
        &raw.taskmanagers,
        &field("taskmanagers"),
        default.taskmanagers,
        limits::TASKMANAGERS,
    )?;
    let parallelism = cx.count(
        &raw.parallelism,
        &field("parallelism"),
        default.parallelism,
        limits::PARALLELISM,
    )?;
    let default_max = before.map_or(default_max_parallelism(parallelism), |b| b.max_parallelism);
    let topology = TopologyConfig {
        taskmanagers,
        parallelism,
        max_parallelism: cx.count(
            &raw.max_parallelism,
            &field("max_parallelism"),
            default_max,
            limits::MAX_PARALLELISM,
        )?,
        store_replicas: cx.count(
            &raw.store_replicas,
            &field("store_replicas"),
            default.store_replicas,
            limits::STORE_REPLICAS,
        )?,
        jobmanagers: cx.count(
            &raw.jobmanagers,
            &field("jobmanagers"),
            default.jobmanagers,
            limits::JOBMANAGERS,
        )?,
    };
    if let Some(before) = before {
        let fixed = [
            (
                "max_parallelism",
                raw.max_parallelism
                    .as_ref()
                    .map(|v| (v.span(), *v.get_ref())),
                before.max_parallelism,
                "key groups are fixed for a job's life, as in Flink: a checkpoint's keyed state \
                 is filed by key group",
            ),
            (
                "store_replicas",
                raw.store_replicas
                    .as_ref()
                    .map(|v| (v.span(), *v.get_ref())),
                before.store_replicas,
                "checkpoint storage outlives the job's cluster, so every run uses the same",
            ),
            (
                "jobmanagers",
                raw.jobmanagers.as_ref().map(|v| (v.span(), *v.get_ref())),
                before.jobmanagers,
                "`ha` outlives the job's cluster, so every run has as many jobmanagers",
            ),
        ];
        for (name, given, kept, why) in fixed {
            if let Some((span, value)) = given.filter(|(_, v)| *v != kept) {
                let message = format!("must stay {kept}, the first run's, got {value}: {why}");
                return Err(cx.error(span, field(name), message));
            }
        }
    }
    if let Some(replicas) = raw
        .store_replicas
        .as_ref()
        .filter(|r| *r.get_ref() % 2 == 0)
    {
        let message = format!(
            "must be odd, got {}: a majority of an even number of replicas is no more \
             available than of one fewer",
            replicas.get_ref()
        );
        return Err(cx.error(replicas.span(), field("store_replicas"), message));
    }
    if topology.parallelism > topology.max_parallelism {
        let (span, name) = match (&raw.parallelism, &raw.max_parallelism) {
            (_, Some(max)) => (max.span(), "max_parallelism"),
            (Some(p), None) => (p.span(), "parallelism"),
            (None, None) => unreachable!("the defaults have parallelism <= max_parallelism"),
        };
        let message = format!(
            "parallelism {} exceeds max_parallelism {}: there would be fewer key groups than subtasks",
            topology.parallelism, topology.max_parallelism
        );
        return Err(cx.error(span, field(name), message));
    }
    Ok(topology)
}

fn workload(cx: &Ctx, raw: &RawWorkload) -> Result<WorkloadConfig, ScenarioError> {
    let default = WorkloadConfig::default();
    let skew = match &raw.skew {
        Some(s) if !s.get_ref().is_finite() || *s.get_ref() < 0.0 => {
            let message = format!("must be 0 (uniform) or more, got {}", s.get_ref());
            return Err(cx.error(s.span(), "workload.skew", message));
        }
        Some(s) if *s.get_ref() > limits::MAX_SKEW => {
            let message = format!(
                "must be at most {}, got {}: {}",
                limits::MAX_SKEW,
                s.get_ref(),
                limits::MAX_SKEW_WHY
            );
            return Err(cx.error(s.span(), "workload.skew", message));
        }
        Some(s) => *s.get_ref(),
        None => default.skew,
    };
    let records = cx.count(
        &raw.records,
        "workload.records",
        default.records,
        limits::RECORDS,
    )?;
    let keys = cx.count(&raw.keys, "workload.keys", default.keys, limits::KEYS)?;
    if u64::from(keys) > records {
        let (span, field) = match (&raw.keys, &raw.records) {
            (Some(k), _) => (k.span(), "workload.keys"),
            (None, Some(r)) => (r.span(), "workload.records"),
            (None, None) => unreachable!("the default keys are fewer than the default records"),
        };
        let why = limits::KEYS.why;
        let message = format!("{keys} keys but only {records} records: {why}");
        return Err(cx.error(span, field, message));
    }
    let workload = WorkloadConfig {
        records,
        keys,
        partitions: cx.count(
            &raw.partitions,
            "workload.partitions",
            default.partitions,
            limits::PARTITIONS,
        )?,
        skew,
        rate: cx.count(&raw.rate, "workload.rate", default.rate, limits::RATE)?,
        batch: cx.count(&raw.batch, "workload.batch", default.batch, limits::BATCH)?,
    };
    let max_rate = workload::max_rate(workload.batch);
    if workload.rate > max_rate {
        let (span, field) = match (&raw.rate, &raw.batch) {
            (Some(rate), _) => (rate.span(), "workload.rate"),
            (None, Some(batch)) => (batch.span(), "workload.batch"),
            (None, None) => unreachable!("the default rate is within the default batch's"),
        };
        let message = format!(
            "a source reads at most {} batches a second at the rate it is told (one fetch round \
             trip to the log takes 2 to 14 ms of simulated time), so with batches of {} records \
             the rate may be at most {max_rate} records/s per source, got {}; raise \
             workload.batch to at least {} or lower workload.rate",
            workload::MAX_BATCHES_PER_SECOND,
            workload.batch,
            workload.rate,
            workload.rate.div_ceil(workload::MAX_BATCHES_PER_SECOND),
        );
        return Err(cx.error(span, field, message));
    }
    Ok(workload)
}

fn checkpoint(cx: &Ctx, raw: &RawCheckpoint) -> Result<CheckpointConfig, ScenarioError> {
    let default = CheckpointConfig::default();
    let mode = match raw.mode {
        Some(RawMode::ExactlyOnce) => CheckpointMode::ExactlyOnce,
        Some(RawMode::AtLeastOnce) => CheckpointMode::AtLeastOnce,
        None => default.mode,
    };
    Ok(CheckpointConfig {
        mode,
        interval: cx.checkpoint_time(
            &raw.interval,
            "checkpoint.interval",
            limits::MIN_CHECKPOINT_INTERVAL_WHY,
            default.interval,
        )?,
        timeout: cx.checkpoint_time(
            &raw.timeout,
            "checkpoint.timeout",
            limits::MIN_CHECKPOINT_TIMEOUT_WHY,
            default.timeout,
        )?,
        min_pause: cx.duration(&raw.min_pause, default.min_pause),
        max_concurrent: cx.count(
            &raw.max_concurrent,
            "checkpoint.max_concurrent",
            default.max_concurrent,
            limits::MAX_CONCURRENT,
        )?,
        retained: cx.count(
            &raw.retained,
            "checkpoint.retained",
            default.retained,
            limits::RETAINED,
        )?,
        tolerable_failures: match &raw.tolerable_failures {
            Some(t) => cx.at_most(
                t,
                "checkpoint.tolerable_failures",
                limits::TOLERABLE_FAILURES,
            )?,
            None => default.tolerable_failures,
        },
        local_recovery: raw
            .local_recovery
            .as_ref()
            .map_or(default.local_recovery, |b| *b.get_ref()),
        memory_threshold: match &raw.memory_threshold {
            Some(t) => cx.at_most(t, "checkpoint.memory_threshold", limits::MEMORY_THRESHOLD)?,
            None => default.memory_threshold,
        },
    })
}

/// Refuse a `checkpoint.memory_threshold` under which one checkpoint's
/// metadata could hold more than [`MAX_INLINE_STATE`] bytes of inline
/// state: the threshold times the tasks of the job's widest run.
fn inline_state(
    cx: &Ctx,
    raw: &RawCheckpoint,
    checkpoint: &CheckpointConfig,
    plan: &Plan,
) -> Result<(), ScenarioError> {
    let Some(field) = &raw.memory_threshold else {
        return Ok(());
    };
    let tasks = plan.tasks().len() as u64;
    let most = checkpoint.memory_threshold.saturating_mul(tasks);
    if most <= MAX_INLINE_STATE {
        return Ok(());
    }
    let message = format!(
        "{} bytes for each of the job's {tasks} tasks would let one checkpoint's metadata hold \
         {most} bytes of state inline, more than {MAX_INLINE_STATE} (the metadata travels whole \
         in one network frame of at most 16 MiB); lower it to at most {}",
        checkpoint.memory_threshold,
        MAX_INLINE_STATE / tasks.max(1),
    );
    Err(cx.error(field.span(), "checkpoint.memory_threshold", message))
}

/// The shortest `timing.lease_ttl`.
const MIN_LEASE_TTL: Duration = Duration::from_millis(200);

fn timing(cx: &Ctx, raw: &RawTiming) -> Result<TimingConfig, ScenarioError> {
    let default = TimingConfig::default();
    let positive = |value, name: &str, default| {
        cx.positive_duration(value, &format!("timing.{name}"), default)
    };
    let timing = TimingConfig {
        heartbeat_interval: positive(
            &raw.heartbeat_interval,
            "heartbeat_interval",
            default.heartbeat_interval,
        )?,
        heartbeat_timeout: positive(
            &raw.heartbeat_timeout,
            "heartbeat_timeout",
            default.heartbeat_timeout,
        )?,
        channel_keepalive_timeout: positive(
            &raw.channel_keepalive_timeout,
            "channel_keepalive_timeout",
            default.channel_keepalive_timeout,
        )?,
        rpc_timeout: positive(&raw.rpc_timeout, "rpc_timeout", default.rpc_timeout)?,
        slot_request_timeout: positive(
            &raw.slot_request_timeout,
            "slot_request_timeout",
            default.slot_request_timeout,
        )?,
        lease_ttl: positive(&raw.lease_ttl, "lease_ttl", default.lease_ttl)?,
    };
    if let Some(ttl) = raw
        .lease_ttl
        .as_ref()
        .filter(|_| timing.lease_ttl < MIN_LEASE_TTL)
    {
        let message = format!(
            "must be at least {MIN_LEASE_TTL:?}, got {:?}: a leader acts for a third of it after \
             each renewal and renews every eighth, so a shorter lease leaves it no time to act",
            timing.lease_ttl
        );
        return Err(cx.error(ttl.span(), "timing.lease_ttl", message));
    }
    if timing.heartbeat_timeout <= timing.heartbeat_interval {
        let (span, field) = match (&raw.heartbeat_timeout, &raw.heartbeat_interval) {
            (Some(t), _) => (t.span(), "timing.heartbeat_timeout"),
            (None, Some(i)) => (i.span(), "timing.heartbeat_interval"),
            (None, None) => unreachable!("the default heartbeat timeout exceeds the interval"),
        };
        let message = format!(
            "heartbeat_timeout ({:?}) must be longer than heartbeat_interval ({:?})",
            timing.heartbeat_timeout, timing.heartbeat_interval
        );
        return Err(cx.error(span, field, message));
    }
    Ok(timing)
}

/// `[sink]`: no transaction timeout unless one is given (then longer than
/// 0, and at most an hour like every duration).
fn sink(cx: &Ctx, raw: &RawSink) -> Result<SinkConfig, ScenarioError> {
    let timeout = raw
        .transaction_timeout
        .as_ref()
        .map(|t| cx.positive_duration(&Some(t.clone()), "sink.transaction_timeout", t.get_ref().0))
        .transpose()?;
    let ignore = &raw.ignore_failures_after_transaction_timeout;
    if let (Some(flag), None) = (ignore, timeout) {
        if *flag.get_ref() {
            return Err(cx.error(
                flag.span(),
                "sink.ignore_failures_after_transaction_timeout",
                "has no effect without sink.transaction_timeout: no transaction ever times out",
            ));
        }
    }
    Ok(SinkConfig {
        transaction_timeout: timeout,
        ignore_failures_after_transaction_timeout: ignore.as_ref().is_some_and(|b| *b.get_ref()),
    })
}

fn bug(cx: &Ctx, name: &Spanned<String>) -> Result<PlantedBug, ScenarioError> {
    PlantedBug::from_name(name.get_ref()).ok_or_else(|| {
        let known: Vec<_> = PlantedBug::ALL.iter().map(|b| b.name()).collect();
        let message = format!(
            "unknown planted bug \"{}\"; known bugs: {}",
            name.get_ref(),
            known.join(", ")
        );
        let message = suggest::hint(message, name.get_ref(), known);
        cx.error(name.span(), "bug", message)
    })
}

/// What a fault's host and an event trigger's `host` and `task` may name.
pub(super) struct Shape {
    hosts: Vec<String>,
    /// The job graph: which tasks exist (in the widest run of a lifecycle).
    plan: Plan,
    /// Whether a `[[lifecycle]]` resumes the job: `plan` is then the
    /// widest run's, which errors say.
    resumed: bool,
}

fn faults(
    cx: &Ctx,
    raw: &[RawFault],
    shape: &Shape,
    max_sim_time: Option<Duration>,
) -> Result<Vec<Fault>, ScenarioError> {
    if raw.len() as u64 > limits::FAULTS.max {
        let (max, why) = (limits::FAULTS.max, limits::FAULTS.why);
        let message = format!("at most {max} faults, got {}: {why}", raw.len());
        let span = raw[max as usize].kind.span();
        return Err(cx.error(span, format!("fault[{max}]"), message));
    }
    let hosts = &shape.hosts;
    let mut faults: Vec<Fault> = Vec::with_capacity(raw.len());
    for (index, raw) in raw.iter().enumerate() {
        let field = |name: &str| format!("fault[{index}].{name}");
        let host = raw.host.get_ref();
        if !hosts.contains(host) {
            let message = format!("unknown host \"{host}\"; hosts: {}", hosts.join(", "));
            let message = suggest::hint(message, host, hosts.iter().map(String::as_str));
            return Err(cx.error(raw.host.span(), field("host"), message));
        }
        let id = match &raw.id {
            Some(id) => Some(fault_id(cx, id, &faults, &field("id"))?),
            None => None,
        };
        let on = match &raw.on {
            Some(on) => Some(trigger(cx, on.get_ref(), shape, &field("on"))?),
            None => None,
        };
        let (at, at_span) = match (&raw.at, &on) {
            (Some(at), Some(Trigger::Fault(_))) => {
                let message = "a fault triggered by another fault has no `at`: it fires at the \
                               anchor's edge plus `delay` (and `jitter` spreads that delay)";
                return Err(cx.error(at.span(), field("at"), message));
            }
            (Some(at), _) => (at.get_ref().0, at.span()),
            (None, Some(_)) => (Duration::ZERO, raw.kind.span()),
            (None, None) => {
                let message = "a fault needs `at` (a time) or `on` (an engine event)";
                return Err(cx.error(raw.kind.span(), field("at"), message));
            }
        };
        let jitter = raw
            .jitter
            .as_ref()
            .map_or(Duration::ZERO, |j| j.get_ref().0);
        let latest = at.saturating_add(jitter);
        if let Some(max_sim_time) = max_sim_time.filter(|max| latest >= *max) {
            let message =
                format!("at {at:?} (+ jitter {jitter:?}) the fault may never fire: max_sim_time is {max_sim_time:?}");
            return Err(cx.error(at_span.clone(), field("at"), message));
        }
        if let Some(previous) = faults
            .iter()
            .rev()
            .find(|p| p.on.is_none())
            .filter(|p| on.is_none() && p.at > at)
        {
            let message = format!(
                "faults must be listed in time order, but this one at {at:?} follows one at {:?}",
                previous.at
            );
            return Err(cx.error(at_span.clone(), field("at"), message));
        }
        let kind = fault_kind(cx, raw, index, hosts)?;
        faults.push(Fault {
            id,
            kind,
            host: host.clone(),
            at,
            jitter,
            on,
        });
    }
    anchors(cx, raw, &faults)?;
    Ok(faults)
}

/// A fault's `id`: short, plain, and not taken by an earlier fault.
fn fault_id(
    cx: &Ctx,
    id: &Spanned<String>,
    earlier: &[Fault],
    field: &str,
) -> Result<String, ScenarioError> {
    let text = id.get_ref();
    let plain = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_';
    if text.is_empty() || text.chars().count() > ID_MAX_LEN || !text.chars().all(plain) {
        let message = format!(
            "a fault id is 1 to {ID_MAX_LEN} characters of a-z, 0-9, `-` and `_` (a name other \
             faults' `on = {{ fault = ... }}` can refer to), got {text:?}"
        );
        return Err(cx.error(id.span(), field, message));
    }
    if let Some(index) = earlier
        .iter()
        .position(|f| f.id.as_deref() == Some(text.as_str()))
    {
        let message = format!("fault id \"{text}\" is already the id of fault[{index}]");
        return Err(cx.error(id.span(), field, message));
    }
    Ok(text.clone())
}

/// Every fault trigger names a fault of the file, not itself, whose edge
/// exists, and no chain of them comes back to where it started.
fn anchors(cx: &Ctx, raw: &[RawFault], faults: &[Fault]) -> Result<(), ScenarioError> {
    // Ids are unique (checked as each fault was read). A map, not a search
    // of the plan per link: following every fault's chain is then at most
    // quadratic in the plan, not cubic.
    let ids: BTreeMap<&str, usize> = faults
        .iter()
        .enumerate()
        .filter_map(|(index, f)| Some((f.id.as_deref()?, index)))
        .collect();
    let by_id = |id: &str| ids.get(id).copied();
    for (index, fault) in faults.iter().enumerate() {
        let Some(Trigger::Fault(trigger)) = &fault.on else {
            continue;
        };
        let on = raw[index]
            .on
            .as_ref()
            .expect("a fault trigger was parsed from `on`")
            .get_ref();
        let span = on
            .fault
            .as_ref()
            .expect("a fault trigger has `fault`")
            .span();
        let field = format!("fault[{index}].on.fault");
        let Some(anchor) = by_id(&trigger.fault) else {
            let ids: Vec<&str> = faults.iter().filter_map(|f| f.id.as_deref()).collect();
            let known = if ids.is_empty() {
                "no fault has an id".to_owned()
            } else {
                format!("ids: {}", ids.join(", "))
            };
            let message = format!("no fault has the id \"{}\"; {known}", trigger.fault);
            let message = suggest::hint(message, &trigger.fault, ids);
            return Err(cx.error(span, field, message));
        };
        if anchor == index {
            let message = "a fault cannot be triggered by itself";
            return Err(cx.error(span, field, message));
        }
        if trigger.edge == Edge::End && !faults[anchor].kind.ends() {
            let message = format!(
                "fault[{anchor}] (\"{}\") is a {} that never ends, so it has no `end` edge; use \
                 `edge = \"start\"`, or a crash_restart",
                trigger.fault,
                faults[anchor].kind.name()
            );
            let span = on.edge.as_ref().map_or(span, |e| e.span());
            return Err(cx.error(span, format!("fault[{index}].on.edge"), message));
        }
        // Follow the chain of anchors; it is at most as long as the plan.
        let mut chain = vec![index];
        let mut at = anchor;
        while let Some(next) = faults[at].anchor().and_then(by_id) {
            chain.push(at);
            if next == index {
                return Err(cx.error(span, field, cycle_message(&chain)));
            }
            if chain.len() > faults.len() {
                break;
            }
            at = next;
        }
    }
    Ok(())
}

/// How many links of a trigger cycle its error names before it says how
/// many more there are: a file of [`limits::FAULTS`] faults in one cycle
/// would otherwise make a single error line of about 21 KB.
pub const CYCLE_LINKS_SHOWN: usize = 5;

/// The error for the trigger cycle `cycle` (fault indices, each waiting
/// for the next and the last for the first): every link when there are at
/// most [`CYCLE_LINKS_SHOWN`], else the first ones, how many more, and the
/// cycle's length.
fn cycle_message(cycle: &[usize]) -> String {
    let name = |i: &usize| format!("fault[{i}]");
    let first = cycle.first().map(name).unwrap_or_default();
    let links = cycle.len();
    if links <= CYCLE_LINKS_SHOWN {
        let names: Vec<String> = cycle.iter().map(name).chain([first]).collect();
        return format!("fault triggers form a cycle: {}", names.join(" waits for "));
    }
    let names: Vec<String> = cycle[..=CYCLE_LINKS_SHOWN].iter().map(name).collect();
    let more = links - CYCLE_LINKS_SHOWN;
    format!(
        "fault triggers form a cycle of {links} faults: {} ... and {more} more link{} back to \
         {first}",
        names.join(" waits for "),
        if more == 1 { "" } else { "s" },
    )
}

pub(super) fn trigger(
    cx: &Ctx,
    raw: &RawTrigger,
    shape: &Shape,
    field: &str,
) -> Result<Trigger, ScenarioError> {
    let sub = |name: &str| format!("{field}.{name}");
    let delay = raw.delay.as_ref().map_or(Duration::ZERO, |d| d.get_ref().0);
    let event_filters = [
        ("host", raw.host.as_ref().map(Spanned::span)),
        ("task", raw.task.as_ref().map(Spanned::span)),
        ("epoch", raw.epoch.as_ref().map(Spanned::span)),
        ("checkpoint", raw.checkpoint.as_ref().map(Spanned::span)),
        ("occurrence", raw.occurrence.as_ref().map(Spanned::span)),
        ("probe", raw.probe.as_ref().map(Spanned::span)),
    ];
    let event = match (&raw.event, &raw.fault) {
        (Some(event), None) => event,
        (None, Some(fault)) => {
            if let Some((name, Some(span))) = event_filters.iter().find(|(_, s)| s.is_some()) {
                let message = format!(
                    "`{name}` filters engine events; a trigger on a fault takes `fault`, `edge` \
                     and `delay`"
                );
                return Err(cx.error(span.clone(), sub(name), message));
            }
            let Some(edge) = &raw.edge else {
                let message = "a trigger on a fault needs `edge`: \"start\" (when it fires) or \
                               \"end\" (when it heals)";
                return Err(cx.error(fault.span(), sub("edge"), message));
            };
            let edge = match edge.get_ref() {
                RawEdge::Start => Edge::Start,
                RawEdge::End => Edge::End,
            };
            let trigger = FaultTrigger {
                fault: fault.get_ref().clone(),
                edge,
                delay,
            };
            return Ok(Trigger::Fault(trigger));
        }
        (Some(_), Some(fault)) => {
            let message = "a trigger waits for an engine event (`event`) or a fault (`fault`), \
                           not both";
            return Err(cx.error(fault.span(), sub("fault"), message));
        }
        (None, None) => {
            let message = "a trigger needs `event` (an engine event) or `fault` (another \
                           fault's id)";
            return Err(missing_trigger(cx, raw, &sub("event"), message));
        }
    };
    if let Some(edge) = &raw.edge {
        let message = "`edge` belongs to a trigger on a fault (`fault = \"<id>\"`)";
        return Err(cx.error(edge.span(), sub("edge"), message));
    }
    let name = event.get_ref();
    if !Event::NAMES.contains(&name.as_str()) {
        let message = format!(
            "unknown engine event \"{name}\"; events: {}",
            Event::NAMES.join(", ")
        );
        let message = suggest::hint(message, name, Event::NAMES);
        return Err(cx.error(event.span(), sub("event"), message));
    }
    let never = |filter: &str, span: Range<usize>, carriers: &[&str]| {
        let message = format!(
            "{name} events never carry `{filter}`, so this filter would never match; events \
             that do: {}",
            carriers.join(", ")
        );
        cx.error(span, sub(filter), message)
    };
    let probe = match &raw.probe {
        Some(p) if name != "probe" => {
            let message = format!(
                "`probe` names which probe a `probe` event must be; {name} events are not probes"
            );
            return Err(cx.error(p.span(), sub("probe"), message));
        }
        Some(p) => {
            let text = p.get_ref();
            let Some(probe) = Probe::from_name(text) else {
                let names: Vec<&str> = Probe::names().collect();
                let message = format!("unknown probe \"{text}\"; probes: {}", names.join(", "));
                let message = suggest::hint(message, text, Probe::names());
                return Err(cx.error(p.span(), sub("probe"), message));
            };
            Some(probe)
        }
        None => None,
    };
    let (span, field, what) = match (&raw.probe, probe) {
        (Some(p), Some(probe)) => (p.span(), "probe", format!("the {probe} probe comes")),
        _ => (event.span(), "event", format!("{name} events come")),
    };
    let ha_only = Event::needs_ha(name) || probe.is_some_and(Probe::needs_ha);
    if ha_only && !shape.hosts.iter().any(|h| h == "ha") {
        let message = format!(
            "{what} only from a topology with standby jobmanagers (topology.jobmanagers above \
             1), so this trigger would never fire"
        );
        return Err(cx.error(span, sub(field), message));
    }
    let replicas_only = Event::needs_replicas(name) || probe.is_some_and(Probe::needs_replicas);
    if replicas_only && !shape.hosts.iter().any(|h| h.starts_with("store-")) {
        let message = format!(
            "{what} only from replicated checkpoint storage (topology.store_replicas above \
             1), so this trigger would never fire"
        );
        return Err(cx.error(span, sub(field), message));
    }
    let host = match &raw.host {
        Some(h) => {
            let text = h.get_ref();
            if !shape.hosts.contains(text) {
                let hosts = shape.hosts.join(", ");
                let message = format!("unknown host \"{text}\"; hosts: {hosts}");
                let message = suggest::hint(message, text, shape.hosts.iter().map(String::as_str));
                return Err(cx.error(h.span(), sub("host"), message));
            }
            let (emitters, what) = match probe {
                Some(probe) => (probe.emitters(), format!("the {probe} probe")),
                None => (Event::emitters(name), format!("{name} events")),
            };
            if !HostRole::of(text).is_some_and(|role| emitters.contains(&role)) {
                let roles: Vec<&str> = emitters.iter().map(|r| r.name()).collect();
                let message = format!(
                    "{text} never emits {what}, so this filter would never match; they come \
                     from: {}",
                    roles.join(", ")
                );
                return Err(cx.error(h.span(), sub("host"), message));
            }
            Some(text.clone())
        }
        None => None,
    };
    let task = match &raw.task {
        Some(t) if !Event::WITH_TASK.contains(&name.as_str()) => {
            return Err(never("task", t.span(), &Event::WITH_TASK));
        }
        Some(t) => {
            let task = task_id(cx, t, shape, &sub("task"))?;
            let sink = shape.plan.sink_vertex().name;
            let source = shape.plan.source_vertex().name;
            if task.vertex == source && Event::keyed_only(name) {
                let message = format!(
                    "{name} events are about keyed subtasks, which own key groups, never a \
                     source subtask ({task}), so this filter would never match"
                );
                return Err(cx.error(t.span(), sub("task"), message));
            }
            if task.vertex != sink && Event::WITH_TXN.contains(&name.as_str()) {
                let message = format!(
                    "{name} events are about the subtask of the last vertex, whose chained \
                     sink owns the transaction ({sink}[i]), never a {task}, so this filter \
                     would never match"
                );
                return Err(cx.error(t.span(), sub("task"), message));
            }
            Some(task)
        }
        None => None,
    };
    let epoch = match &raw.epoch {
        Some(e) if !Event::WITH_EPOCH.contains(&name.as_str()) => {
            return Err(never("epoch", e.span(), &Event::WITH_EPOCH));
        }
        Some(e) if *e.get_ref() == 0 => {
            let message = "epochs count from 1 (the job's first attempt)";
            return Err(cx.error(e.span(), sub("epoch"), message));
        }
        Some(e) => Some(*e.get_ref()),
        None => None,
    };
    let checkpoint = match &raw.checkpoint {
        Some(c) if !Event::WITH_CHECKPOINT.contains(&name.as_str()) => {
            return Err(never("checkpoint", c.span(), &Event::WITH_CHECKPOINT));
        }
        Some(c) if *c.get_ref() == 0 => {
            let message = "checkpoints count from 1 (the job's first checkpoint)";
            return Err(cx.error(c.span(), sub("checkpoint"), message));
        }
        Some(c) => Some(*c.get_ref()),
        None => None,
    };
    let occurrence = match &raw.occurrence {
        Some(o) if *o.get_ref() == 0 => {
            let message = "occurrence counts from 1 (the first matching event)";
            return Err(cx.error(o.span(), sub("occurrence"), message));
        }
        Some(o) => cx.at_most(o, &sub("occurrence"), limits::OCCURRENCE)?,
        None => 1,
    };
    Ok(Trigger::Event(EventTrigger {
        event: name.clone(),
        host,
        task,
        epoch,
        checkpoint,
        probe,
        occurrence,
        delay,
    }))
}

/// A trigger with neither `event` nor `fault`, reported on its first field.
fn missing_trigger(cx: &Ctx, raw: &RawTrigger, field: &str, message: &str) -> ScenarioError {
    let spans = [
        raw.edge.as_ref().map(Spanned::span),
        raw.delay.as_ref().map(Spanned::span),
        raw.host.as_ref().map(Spanned::span),
        raw.task.as_ref().map(Spanned::span),
        raw.epoch.as_ref().map(Spanned::span),
        raw.checkpoint.as_ref().map(Spanned::span),
        raw.occurrence.as_ref().map(Spanned::span),
        raw.probe.as_ref().map(Spanned::span),
    ];
    let span = spans.into_iter().flatten().min_by_key(|s| s.start);
    match span {
        Some(span) => cx.error(span, field, message),
        None => ScenarioError {
            file: cx.file.to_owned(),
            line: None,
            field: Some(field.to_owned()),
            message: message.to_owned(),
        },
    }
}

/// A task filter: `<vertex>[i]` for a vertex of the job (`source[i]` for i
/// below the partitions, a keyed vertex's below the parallelism), or
/// `sink[i]` ([`SINK_ALIAS`]) for the last vertex's, whatever its name: a
/// scenario that says `sink[1]` runs with any job.
fn task_id(
    cx: &Ctx,
    raw: &Spanned<String>,
    shape: &Shape,
    field: &str,
) -> Result<TaskId, ScenarioError> {
    let mut task =
        TaskId::try_from(raw.get_ref().clone()).map_err(|e| cx.error(raw.span(), field, e))?;
    let plan = &shape.plan;
    if task.vertex.as_str() == SINK_ALIAS {
        task.vertex = plan.sink_vertex().name;
    }
    let Some(vertex) = plan.vertex(task.vertex) else {
        let names: Vec<&str> = plan.vertices.iter().map(|v| v.name.as_str()).collect();
        let message = format!(
            "unknown task \"{task}\": the job's vertices are {}",
            names.join(", ")
        );
        let message = suggest::hint(message, task.vertex.as_str(), names.iter().copied());
        return Err(cx.error(raw.span(), field, message));
    };
    let (bound, why) = if vertex == plan.source_vertex() {
        (vertex.parallelism, "workload.partitions")
    } else if shape.resumed {
        (
            vertex.parallelism,
            "the highest parallelism of any run of the lifecycle",
        )
    } else {
        (vertex.parallelism, "topology.parallelism")
    };
    let vertex = vertex.name;
    if task.subtask >= bound {
        let message = format!(
            "unknown task \"{task}\": the job has {vertex}[0] to {vertex}[{}] ({why} = {bound})",
            bound.saturating_sub(1)
        );
        return Err(cx.error(raw.span(), field, message));
    }
    Ok(task)
}

/// Which parameters each fault kind takes (in the order errors list them).
fn parameters(kind: RawFaultKind) -> &'static [&'static str] {
    match kind {
        RawFaultKind::Crash | RawFaultKind::Restart => &[],
        RawFaultKind::CrashRestart | RawFaultKind::DiskLoss => &["after"],
        RawFaultKind::Partition => &["peer", "oneway", "for"],
        RawFaultKind::Stall => &["peer", "for"],
        RawFaultKind::Latency => &["peer", "min", "max", "for"],
        RawFaultKind::MessageLoss => &["peer", "rate", "for"],
        RawFaultKind::IoErrors => &["probability", "for", "path"],
        RawFaultKind::ReadCorruption => &["probability", "for"],
        RawFaultKind::DiskFull => &["capacity", "for"],
        RawFaultKind::BitRot => &["path"],
        RawFaultKind::Pause => &["for"],
        RawFaultKind::ClockDrift => &["drift", "for"],
    }
}

fn kind_name(kind: RawFaultKind) -> &'static str {
    match kind {
        RawFaultKind::Crash => "crash",
        RawFaultKind::Restart => "restart",
        RawFaultKind::CrashRestart => "crash_restart",
        RawFaultKind::DiskLoss => "disk_loss",
        RawFaultKind::Partition => "partition",
        RawFaultKind::Stall => "stall",
        RawFaultKind::Latency => "latency",
        RawFaultKind::MessageLoss => "message_loss",
        RawFaultKind::IoErrors => "io_errors",
        RawFaultKind::ReadCorruption => "read_corruption",
        RawFaultKind::DiskFull => "disk_full",
        RawFaultKind::BitRot => "bit_rot",
        RawFaultKind::Pause => "pause",
        RawFaultKind::ClockDrift => "clock_drift",
    }
}

/// The parameters a fault gave, by name, with where they stand.
fn given(raw: &RawFault) -> Vec<(&'static str, Range<usize>)> {
    let spans = [
        ("after", raw.after.as_ref().map(Spanned::span)),
        ("peer", raw.peer.as_ref().map(Spanned::span)),
        ("oneway", raw.oneway.as_ref().map(Spanned::span)),
        ("for", raw.duration.as_ref().map(Spanned::span)),
        ("min", raw.min.as_ref().map(Spanned::span)),
        ("max", raw.max.as_ref().map(Spanned::span)),
        ("rate", raw.rate.as_ref().map(Spanned::span)),
        ("probability", raw.probability.as_ref().map(Spanned::span)),
        ("capacity", raw.capacity.as_ref().map(Spanned::span)),
        ("path", raw.path.as_ref().map(Spanned::span)),
        ("drift", raw.drift.as_ref().map(Spanned::span)),
    ];
    spans
        .into_iter()
        .filter_map(|(name, span)| span.map(|s| (name, s)))
        .collect()
}

fn fault_kind(
    cx: &Ctx,
    raw: &RawFault,
    index: usize,
    hosts: &[String],
) -> Result<FaultKind, ScenarioError> {
    let kind = *raw.kind.get_ref();
    let name = kind_name(kind);
    let takes = parameters(kind);
    let field = |param: &str| format!("fault[{index}].{param}");
    for (param, span) in given(raw) {
        if !takes.contains(&param) {
            let they_take = if takes.is_empty() {
                "none".to_owned()
            } else {
                takes.join(", ")
            };
            let message =
                format!("`{param}` is not a parameter of {name} faults; they take {they_take}");
            return Err(cx.error(span, field(param), message));
        }
    }
    let need = |param: &str, what: &str| {
        let message = format!("a {name} fault needs `{param}`: {what}");
        cx.error(raw.kind.span(), field(param), message)
    };
    let positive = |d: &Field<SimDuration>, param: &str, what: &str| match d {
        None => Err(need(param, what)),
        Some(d) => match cx.not_positive(d) {
            Some(message) => Err(cx.error(d.span(), field(param), message)),
            None => Ok(d.get_ref().0),
        },
    };
    let fraction = |p: &Field<f64>, param: &str, what: &str| match p {
        None => Err(need(param, what)),
        Some(p) if !(0.0..=1.0).contains(p.get_ref()) => {
            let message = format!("must be a probability from 0 to 1, got {}", p.get_ref());
            Err(cx.error(p.span(), field(param), message))
        }
        Some(p) if *p.get_ref() == 0.0 => {
            let message = "must be above 0: with 0 the fault would do nothing";
            Err(cx.error(p.span(), field(param), message))
        }
        Some(p) => Ok(*p.get_ref()),
    };
    let peer = || -> Result<String, ScenarioError> {
        let Some(peer) = &raw.peer else {
            return Err(need(
                "peer",
                "the other end of the link, or \"*\" for every other host",
            ));
        };
        let name = peer.get_ref();
        if name == raw.host.get_ref() {
            return Err(cx.error(
                peer.span(),
                field("peer"),
                "a link needs two different hosts",
            ));
        }
        if name != ALL_PEERS && !hosts.contains(name) {
            let message = format!(
                "unknown host \"{name}\"; hosts: {}, or \"*\" for every other host",
                hosts.join(", ")
            );
            let message = suggest::hint(message, name, hosts.iter().map(String::as_str));
            return Err(cx.error(peer.span(), field("peer"), message));
        }
        Ok(name.clone())
    };
    let down = "how long the host stays down";
    let lasts = "how long the fault lasts";
    Ok(match kind {
        RawFaultKind::Crash => FaultKind::Crash,
        RawFaultKind::Restart => FaultKind::Restart,
        RawFaultKind::CrashRestart => FaultKind::CrashRestart {
            after: positive(&raw.after, "after", down)?,
        },
        RawFaultKind::DiskLoss => FaultKind::DiskLoss {
            after: positive(&raw.after, "after", down)?,
        },
        RawFaultKind::Partition => FaultKind::Partition {
            peer: peer()?,
            oneway: raw.oneway.as_ref().is_some_and(|o| *o.get_ref()),
            duration: positive(&raw.duration, "for", lasts)?,
        },
        RawFaultKind::Stall => FaultKind::Stall {
            peer: peer()?,
            duration: positive(&raw.duration, "for", lasts)?,
        },
        RawFaultKind::Latency => {
            let peer = peer()?;
            let max = positive(&raw.max, "max", "the highest latency a message sees")?;
            let min = match &raw.min {
                None => Duration::ZERO,
                Some(min) if min.get_ref().0 > max => {
                    let message = format!(
                        "must be at most `max` ({}), got {}",
                        format_duration(max),
                        format_duration(min.get_ref().0)
                    );
                    return Err(cx.error(min.span(), field("min"), message));
                }
                Some(min) if min.get_ref().0 < LATENCY_MIN && !min.get_ref().0.is_zero() => {
                    let message = format!(
                        "must be at least {} (the simulation's own floor), got {}",
                        format_duration(LATENCY_MIN),
                        format_duration(min.get_ref().0)
                    );
                    return Err(cx.error(min.span(), field("min"), message));
                }
                Some(min) => min.get_ref().0,
            };
            FaultKind::Latency {
                peer,
                min,
                max,
                duration: positive(&raw.duration, "for", lasts)?,
            }
        }
        RawFaultKind::MessageLoss => FaultKind::MessageLoss {
            peer: match raw.peer {
                Some(_) => peer()?,
                None => ALL_PEERS.to_owned(),
            },
            rate: fraction(
                &raw.rate,
                "rate",
                "the probability that a link is cut for a tick, per tick and link",
            )?,
            duration: positive(&raw.duration, "for", lasts)?,
        },
        RawFaultKind::IoErrors => FaultKind::IoErrors {
            probability: fraction(
                &raw.probability,
                "probability",
                "the probability that a disk operation fails",
            )?,
            duration: positive(&raw.duration, "for", lasts)?,
            path: (raw.path.as_ref())
                .map(|path| disk_path(cx, index, path, raw.host.get_ref()))
                .transpose()?,
        },
        RawFaultKind::ReadCorruption => FaultKind::ReadCorruption {
            probability: fraction(
                &raw.probability,
                "probability",
                "the probability that a read is corrupted",
            )?,
            duration: positive(&raw.duration, "for", lasts)?,
        },
        RawFaultKind::DiskFull => FaultKind::DiskFull {
            capacity: raw
                .capacity
                .as_ref()
                .map(|c| *c.get_ref())
                .ok_or_else(|| need("capacity", "the disk's size in bytes"))?,
            duration: positive(&raw.duration, "for", lasts)?,
        },
        RawFaultKind::ClockDrift => {
            let max = flinch_engine::io::clock::MAX_DRIFT;
            let drift = match &raw.drift {
                None => {
                    return Err(need(
                        "drift",
                        "how much faster the clock runs than simulated time, e.g. 0.2 or -0.2",
                    ))
                }
                Some(d) if !(-max..=max).contains(d.get_ref()) => {
                    let message = format!(
                        "must be from -{max} to {max} (a clock at most half again as fast, or \
                         half as slow), got {}",
                        d.get_ref()
                    );
                    return Err(cx.error(d.span(), field("drift"), message));
                }
                Some(d) if *d.get_ref() == 0.0 => {
                    let message = "must not be 0: with 0 the clock would run as it does";
                    return Err(cx.error(d.span(), field("drift"), message));
                }
                Some(d) => *d.get_ref(),
            };
            FaultKind::ClockDrift {
                drift,
                duration: positive(&raw.duration, "for", lasts)?,
            }
        }
        RawFaultKind::Pause => FaultKind::Pause {
            duration: positive(&raw.duration, "for", "how long the host's software stops")?,
        },
        RawFaultKind::BitRot => {
            let host = raw.host.get_ref();
            let role = HostRole::of(host);
            if !matches!(role, Some(HostRole::Store | HostRole::TaskManager)) {
                let message = format!(
                    "bit_rot faults target checkpoint storage (store or store-N) or a \
                     taskmanager (its task-local copies), whose data the job verifies; not \
                     \"{host}\" (the sink's committed output is what the checkers judge, and \
                     is assumed durable)"
                );
                return Err(cx.error(raw.host.span(), field("host"), message));
            }
            let Some(path) = &raw.path else {
                return Err(need(
                    "path",
                    "the start of the path of the file to rot, e.g. \"/store/meta/\"",
                ));
            };
            FaultKind::BitRot {
                path: disk_path(cx, index, path, host)?,
            }
        }
    })
}

/// A fault aimed at a host's disk (`io_errors`, `read_corruption`,
/// `disk_full`, `bit_rot`) on a host that keeps nothing there would do
/// nothing: refused, naming the fault's host. A taskmanager keeps files
/// only with `[checkpoint] local_recovery` (its local copies).
fn disk_faults_find_data(
    cx: &Ctx,
    raw: &[RawFault],
    faults: &[Fault],
    local_recovery: bool,
) -> Result<(), ScenarioError> {
    for (index, (raw, fault)) in raw.iter().zip(faults).enumerate() {
        if !matches!(
            fault.kind,
            FaultKind::IoErrors { .. }
                | FaultKind::ReadCorruption { .. }
                | FaultKind::DiskFull { .. }
                | FaultKind::BitRot { .. }
        ) {
            continue;
        }
        let host = fault.host.as_str();
        let role = HostRole::of(host);
        let why = match role {
            Some(HostRole::TaskManager) if !local_recovery => format!(
                "{host} keeps files on its disk only with [checkpoint] local_recovery = true \
                 (its tasks' local copies)"
            ),
            _ if data_roots(role).is_empty() => format!("{host} keeps nothing on its disk"),
            _ => continue,
        };
        let reach = match fault.kind {
            FaultKind::BitRot { .. } => {
                "bit_rot reaches data on store, store-N, and taskmanagers with local_recovery"
            }
            _ => {
                "disk faults reach data on sink, store, store-N, ha, and taskmanagers with \
                 local_recovery"
            }
        };
        let message = format!(
            "{} on {host} would do nothing: {why}; {reach}",
            fault.kind.name()
        );
        return Err(cx.error(raw.host.span(), format!("fault[{index}].host"), message));
    }
    Ok(())
}

/// Where a host of `role` keeps its files: a fault's `path` outside them
/// matches nothing, and is refused as a mistake.
fn data_roots(role: Option<HostRole>) -> &'static [&'static str] {
    match role {
        Some(HostRole::TaskManager) => &["/local/"],
        Some(HostRole::Store) => &["/store/", "/replica/"],
        Some(HostRole::Sink) => &["/sink/"],
        Some(HostRole::Ha) => &["/ha/"],
        Some(HostRole::JobManager | HostRole::Log) | None => &[],
    }
}

/// A fault's `path`, the start of the paths it picks on `host`'s disk:
/// absolute, without `.` or `..` parts or NUL (it is matched as written),
/// under one of the host's [`data_roots`] (or a start of one), and at most
/// [`limits::PATH_LEN`] characters. Errors name the field.
fn disk_path(
    cx: &Ctx,
    index: usize,
    path: &Spanned<String>,
    host: &str,
) -> Result<String, ScenarioError> {
    let roots = data_roots(HostRole::of(host));
    let field = |param: &str| format!("fault[{index}].{param}");
    let text = path.get_ref();
    if !text.starts_with('/') {
        let message = "must be an absolute path on the host's disk, starting with `/`";
        return Err(cx.error(path.span(), field("path"), message));
    }
    if text.split('/').any(|part| part == "." || part == "..") || text.contains('\0') {
        let message = "must not hold `.` or `..` parts or NUL: it is matched as written";
        return Err(cx.error(path.span(), field("path"), message));
    }
    if !roots
        .iter()
        .any(|root| text.starts_with(root) || root.starts_with(text.as_str()))
    {
        let message = match roots {
            [] => format!("matches no file: {host} keeps none on its disk"),
            _ => format!(
                "matches no file {host} keeps: its files are under {}",
                roots.join(" and ")
            ),
        };
        return Err(cx.error(path.span(), field("path"), message));
    }
    let limit = limits::PATH_LEN;
    if text.chars().count() as u64 > limit.max {
        let message = format!("longer than {} characters ({})", limit.max, limit.why);
        return Err(cx.error(path.span(), field("path"), message));
    }
    Ok(text.clone())
}

fn expect(cx: &Ctx, raw: &RawExpect, mode: CheckpointMode) -> Result<Expectation, ScenarioError> {
    let outcome = *raw.outcome.get_ref();
    match (outcome, &raw.reason) {
        (RawOutcome::JobFailed, Some(reason)) => Ok(Expectation::JobFailed {
            reason: not_blank(cx, reason, "expect.reason")?,
        }),
        (RawOutcome::JobFailed, None) => Err(cx.error(
            raw.outcome.span(),
            "expect.reason",
            "outcome \"job-failed\" needs a `reason`: text the job's failure reason must contain",
        )),
        (_, Some(reason)) => Err(cx.error(
            reason.span(),
            "expect.reason",
            "only outcome \"job-failed\" takes a reason",
        )),
        (RawOutcome::ExactlyOnce, None) if mode == CheckpointMode::AtLeastOnce => Err(cx.error(
            raw.outcome.span(),
            "expect.outcome",
            "outcome \"exactly-once\" needs checkpoint mode \"exactly-once\": \
             at-least-once checkpoints do not align barriers, so after a failover \
             they cannot promise exactly-once output",
        )),
        (RawOutcome::ExactlyOnce, None) => Ok(Expectation::ExactlyOnce),
        (RawOutcome::AtLeastOnce, None) => Ok(Expectation::AtLeastOnce),
    }
}

/// `[expect] sometimes`: each probe known (with a hint when misspelt), at
/// most once, with a `min_share` in (0, 1] ([`DEFAULT_MIN_SHARE`] when left
/// out), and one a topology without `ha` can take when `with_ha` is false,
/// and one without store replicas when `with_replicas` is false. At most
/// one entry per probe of the catalogue, so the list is bounded by it.
fn sometimes(
    cx: &Ctx,
    raw: Option<&Spanned<Vec<Spanned<RawSometimes>>>>,
    with_ha: bool,
    with_replicas: bool,
) -> Result<Vec<Sometimes>, ScenarioError> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    let mut out: Vec<Sometimes> = Vec::new();
    for (i, entry) in raw.get_ref().iter().enumerate() {
        let field = format!("expect.sometimes[{i}]");
        let RawSometimes { probe, min_share } = entry.get_ref();
        let Some(known) = Probe::from_name(probe) else {
            let names: Vec<&str> = Probe::names().collect();
            let message = format!("unknown probe \"{probe}\"; probes: {}", names.join(", "));
            let message = suggest::hint(message, probe, names);
            return Err(cx.error(entry.span(), field, message));
        };
        if known.needs_ha() && !with_ha {
            let message = format!(
                "the {known} probe comes only from a topology with standby jobmanagers \
                 (topology.jobmanagers above 1), so no seed could hit it"
            );
            return Err(cx.error(entry.span(), field, message));
        }
        if known.needs_replicas() && !with_replicas {
            let message = format!(
                "the {known} probe comes only from replicated checkpoint storage \
                 (topology.store_replicas above 1), so no seed could hit it"
            );
            return Err(cx.error(entry.span(), field, message));
        }
        if out.iter().any(|s| s.probe == known) {
            let message = format!("probe \"{probe}\" is required twice");
            return Err(cx.error(entry.span(), field, message));
        }
        let min_share = min_share.unwrap_or(DEFAULT_MIN_SHARE);
        if !(min_share > 0.0 && min_share <= 1.0) {
            let message = format!(
                "must be more than 0 and at most 1 (a share of the sweep's seeds), got {min_share}"
            );
            return Err(cx.error(entry.span(), format!("{field}.min_share"), message));
        }
        out.push(Sometimes {
            probe: known,
            min_share,
        });
    }
    Ok(out)
}

fn seeds(cx: &Ctx, range: Option<&Spanned<String>>) -> Result<SeedRange, ScenarioError> {
    match range {
        Some(range) => parse_seed_range(range.get_ref())
            .map_err(|message| cx.error(range.span(), "seeds.range", message)),
        None => Ok(SEEDS),
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;

    /// Lines 1-3 of every test scenario; the body starts on line 4.
    const HEADER: &str = r#"name = "test"
description = "A scenario under test."
job = { name = "keyed-count" }
"#;

    /// The scenario `HEADER` + `body`, with an exactly-once `[expect]`
    /// appended when the body has none.
    fn source(body: &str) -> String {
        if body.contains("[expect]") {
            format!("{HEADER}{body}")
        } else {
            format!("{HEADER}{body}\n[expect]\noutcome = \"exactly-once\"\n")
        }
    }

    fn check(body: &str) -> Scenario {
        match parse(&source(body), "test.toml") {
            Ok(scenario) => scenario,
            Err(error) => panic!("expected {body:?} to parse, got: {error}"),
        }
    }

    fn check_error(body: &str, expected_substring: &str) {
        crate::scenario::assert_parse_error(&source(body), expected_substring);
    }

    const EXPECT: &str = "[expect]\noutcome = \"exactly-once\"\n";

    #[test]
    fn sometimes_takes_names_and_shares_from_just_above_0_to_1() {
        let scenario = check(&format!(
            "{EXPECT}sometimes = [\"write-fenced\", {{ probe = \"zombie-data-fenced\", \
             min_share = 1.0 }}, {{ probe = \"stale-txns-aborted\", min_share = 1e-9 }}]"
        ));
        let want = [
            (Probe::WriteFenced, DEFAULT_MIN_SHARE),
            (Probe::ZombieDataFenced, 1.0),
            (Probe::StaleTxnsAborted, 1e-9),
        ]
        .map(|(probe, min_share)| Sometimes { probe, min_share });
        assert_eq!(scenario.sometimes, want);
        assert_eq!(check("").sometimes, vec![]);
    }

    #[test]
    fn sometimes_refuses_unknown_probes_bad_shares_and_repeats() {
        check_error(
            &format!("{EXPECT}sometimes = [\"write-fenced\", \"zombie-data-fence\"]"),
            "test.toml:6: field `expect.sometimes[1]`: unknown probe \"zombie-data-fence\"; \
             probes: write-fenced, zombie-data-fenced,",
        );
        check_error(
            &format!("{EXPECT}sometimes = [\"zombie-data-fence\"]"),
            "; did you mean \"zombie-data-fenced\"?",
        );
        for bad in ["0.0", "-0.5", "1.01", "nan", "inf"] {
            check_error(
                &format!("{EXPECT}sometimes = [{{ probe = \"write-fenced\", min_share = {bad} }}]"),
                "test.toml:6: field `expect.sometimes[0].min_share`: must be more than 0 and at \
                 most 1",
            );
        }
        check_error(
            &format!("{EXPECT}sometimes = [\"write-fenced\", {{ probe = \"write-fenced\" }}]"),
            "test.toml:6: field `expect.sometimes[1]`: probe \"write-fenced\" is required twice",
        );
        check_error(
            &format!("{EXPECT}sometimes = [{{ probe = \"write-fenced\", share = 0.5 }}]"),
            "unknown field `share`, expected `probe` or `min_share`",
        );
        check_error(
            &format!("{EXPECT}sometimes = [{{ min_share = 0.5 }}]"),
            "test.toml:6: field `expect.sometimes[0].probe`: this field is required",
        );
        check_error(&format!("{EXPECT}sometimes = [3]"), "a probe name like");
    }

    #[test]
    fn a_minimal_scenario_gets_every_default() {
        let scenario = check("");
        assert_eq!(scenario.name, "test");
        assert_eq!(scenario.config, JobConfig::default());
        assert_eq!(scenario.faults, vec![]);
        assert_eq!(scenario.expect, Expectation::ExactlyOnce);
        assert_eq!(scenario.seeds.to_string(), "0..100");
        // 2,000 records at 1,000 records/s per source, a margin of 6.6s
        // and the run loop's grace of 0.5s.
        assert_eq!(scenario.max_sim_time, Duration::from_millis(9_050));
        assert_eq!(scenario.liveness_bound, None);
    }

    #[test]
    fn every_section_can_be_set() {
        let scenario = check(
            r#"topology = { taskmanagers = 3, parallelism = 4, max_parallelism = 64 }
max_sim_time = "2m"
liveness_bound = "90s"
bug = "source-no-rewind"
[workload]
records = 10
keys = 2
partitions = 1
skew = 1.2
rate = 5
batch = 3
[checkpoint]
mode = "at-least-once"
interval = "1s"
timeout = "3s"
min_pause = "100ms"
max_concurrent = 2
retained = 3
tolerable_failures = 4
[timing]
heartbeat_interval = "1s"
heartbeat_timeout = "5s"
channel_keepalive_timeout = "2s"
rpc_timeout = "1m"
slot_request_timeout = "1.5s"
[seeds]
range = "7..9"
[expect]
outcome = "at-least-once"
"#,
        );
        let config = &scenario.config;
        assert_eq!(config.topology.max_parallelism, 64);
        assert_eq!(config.workload.skew, 1.2);
        assert_eq!(config.workload.batch, 3);
        assert_eq!(config.checkpoint.mode, CheckpointMode::AtLeastOnce);
        assert_eq!(config.checkpoint.min_pause, Duration::from_millis(100));
        assert_eq!(config.checkpoint.tolerable_failures, 4);
        assert_eq!(config.timing.rpc_timeout, Duration::from_secs(60));
        assert_eq!(config.planted_bug, Some(PlantedBug::SourceNoRewind));
        assert_eq!(scenario.max_sim_time, Duration::from_secs(120));
        assert_eq!(scenario.liveness_bound, Some(Duration::from_secs(90)));
        assert_eq!(scenario.seeds.to_string(), "7..9");
        assert_eq!(scenario.expect, Expectation::AtLeastOnce);
    }

    #[test]
    fn faults_of_every_kind_parse_in_order() {
        let scenario = check(
            r#"[[fault]]
kind = "crash"
host = "sink"
at = "1s"
[[fault]]
kind = "restart"
host = "sink"
at = "1s"
[[fault]]
kind = "crash_restart"
host = "taskmanager-2"
at = "1.5s"
after = "300ms"
"#,
        );
        let kinds: Vec<_> = scenario.faults.iter().map(|f| f.kind.clone()).collect();
        assert_eq!(
            kinds,
            vec![
                FaultKind::Crash,
                FaultKind::Restart,
                FaultKind::CrashRestart {
                    after: Duration::from_millis(300)
                }
            ]
        );
        assert_eq!(scenario.faults[2].at, Duration::from_millis(1_500));
    }

    #[test]
    fn zero_counts_are_rejected() {
        let must_be_positive = ": must be at least 1, got 0";
        for (body, field) in [
            ("topology = { parallelism = 0 }", "topology.parallelism"),
            ("topology = { taskmanagers = 0 }", "topology.taskmanagers"),
            (
                "topology = { max_parallelism = 0 }",
                "topology.max_parallelism",
            ),
            ("[workload]\npartitions = 0", "workload.partitions"),
            ("[workload]\nkeys = 0", "workload.keys"),
            ("[workload]\nrecords = 0", "workload.records"),
            ("[workload]\nbatch = 0", "workload.batch"),
            ("[workload]\nrate = 0", "workload.rate"),
            (
                "[checkpoint]\nmax_concurrent = 0",
                "checkpoint.max_concurrent",
            ),
            ("[checkpoint]\nretained = 0", "checkpoint.retained"),
        ] {
            let line = 4 + body.lines().count() - 1;
            check_error(
                body,
                &format!("test.toml:{line}: field `{field}`{must_be_positive}"),
            );
        }
    }

    #[test]
    fn a_rate_sources_cannot_honour_is_rejected_and_the_fastest_they_can_is_accepted() {
        check_error(
            "[workload]\nrate = 6251",
            "test.toml:5: field `workload.rate`: a source reads at most 125 batches a second at \
             the rate it is told (one fetch round trip to the log takes 2 to 14 ms of simulated \
             time), so with batches of 50 records the rate may be at most 6250 records/s per \
             source, got 6251; raise workload.batch to at least 51 or lower workload.rate",
        );
        assert_eq!(check("[workload]\nrate = 6250").config.workload.rate, 6_250);
        // A batch too small for the default rate of 1,000 records/s.
        check_error(
            "[workload]\nbatch = 7",
            "test.toml:5: field `workload.batch`: a source reads at most 125 batches a second",
        );
        assert_eq!(check("[workload]\nbatch = 8").config.workload.batch, 8);
    }

    #[test]
    fn more_records_than_the_limit_are_rejected() {
        check_error(
            "[workload]\nrecords = 5000001\nrate = 6250",
            "test.toml:5: field `workload.records`: must be at most 5000000, got 5000001",
        );
        let most = check("[workload]\nrecords = 5000000\nrate = 6250");
        assert_eq!(most.config.workload.records, 5_000_000);
    }

    #[test]
    fn memory_threshold_is_bounded_alone_and_over_all_tasks() {
        assert_eq!(check("").config.checkpoint.memory_threshold, 0);
        let flink = check("[checkpoint]\nmemory_threshold = 20480");
        assert_eq!(flink.config.checkpoint.memory_threshold, 20_480);
        check_error(
            "[checkpoint]\nmemory_threshold = 1048577",
            "test.toml:5: field `checkpoint.memory_threshold`: must be at most 1048576, got \
             1048577: Flink's bound",
        );
        // 2 sources and 2 count subtasks at 1 MiB each: 4 MiB, allowed.
        let most = check("[checkpoint]\nmemory_threshold = 1048576");
        assert_eq!(most.config.checkpoint.memory_threshold, 1 << 20);
        // 16 sources and 2 count subtasks: 18 MiB inline, refused.
        check_error(
            "[workload]\npartitions = 16\n[checkpoint]\nmemory_threshold = 1048576",
            "test.toml:7: field `checkpoint.memory_threshold`: 1048576 bytes for each of the \
             job's 18 tasks would let one checkpoint's metadata hold 18874368 bytes of state \
             inline, more than 8388608 (the metadata travels whole in one network frame of at \
             most 16 MiB); lower it to at most 466033",
        );
        // Negative: refused by the TOML reader, naming the field.
        check_error("[checkpoint]\nmemory_threshold = -1", "memory_threshold");
    }

    #[test]
    fn max_sim_time_follows_from_the_input() {
        // 30,000 records: 15s to read at 1,000 records/s per source, plus
        // the margin of 6.6s and the grace of 0.5s.
        let long = check("[workload]\nrecords = 30000");
        assert_eq!(long.max_sim_time, Duration::from_millis(23_050));
        assert!(long.max_sim_time > Duration::from_secs(15));
    }

    #[test]
    fn an_explicit_max_sim_time_too_short_for_the_input_names_the_time_needed() {
        check_error(
            "max_sim_time = \"20s\"\n[workload]\nrecords = 30000",
            "test.toml:4: field `max_sim_time`: 20s is too short for the input: a run needs more \
             than 22.550s (reading 15000 records per source at 1000 records/s takes 15.000s, \
             plus a margin of 7.550s (detect 1.100s + restart 1.000s + redeploy 3.000s + \
             checkpoint 2.200s + messages 0.250s)), or a job that hangs could not be told from \
             a slow one",
        );
        check_error(
            "max_sim_time = \"22.55s\"\n[workload]\nrecords = 30000",
            "test.toml:4: field `max_sim_time`: 22.55s is too short for the input: a run needs \
             more than 22.550s",
        );
        let just = check("max_sim_time = \"22.551s\"\n[workload]\nrecords = 30000");
        assert_eq!(just.max_sim_time, Duration::from_millis(22_551));
    }

    #[test]
    fn a_liveness_bound_is_a_positive_duration_a_run_can_outlast() {
        let bound = check("liveness_bound = \"20s\"");
        assert_eq!(bound.liveness_bound, Some(Duration::from_secs(20)));
        assert_eq!(bound.max_sim_time, Duration::from_millis(20_500));
        check_error(
            "liveness_bound = \"0s\"",
            "test.toml:4: field `liveness_bound`: must be longer than 0",
        );
        check_error(
            "liveness_bound = \"61m\"",
            "test.toml:4: field `liveness_bound`: must be at most 3600s of simulated time, got \
             3660s: a simulated second costs 30 to 65 ms of wall time",
        );
        check_error(
            "max_sim_time = \"30s\"\nliveness_bound = \"30s\"",
            "test.toml:4: field `max_sim_time`: 30s is too short for the input: a run needs more \
             than 30.000s (the liveness_bound 30s, longer than the input needs: reading 1000 \
             records per source",
        );
        let short = check("liveness_bound = \"1s\"");
        assert_eq!(
            short.max_sim_time,
            Duration::from_millis(9_050),
            "a bound shorter than the input needs does not shorten the run"
        );
    }

    #[test]
    fn a_run_longer_than_an_hour_is_rejected() {
        check_error(
            "max_sim_time = \"3600.001s\"",
            "test.toml:4: field `max_sim_time`: must be at most 3600s of simulated time, got \
             3600.001s",
        );
        assert_eq!(
            check("max_sim_time = \"1h\"").max_sim_time,
            Duration::from_secs(3_600)
        );
        check_error(
            "[workload]\nrecords = 5000000\npartitions = 1",
            "test.toml:5: field `workload.records`: the run this scenario describes needs \
             5008.050s of simulated time (without faults, more than 5007.550s: reading 5000000 \
             records per source at 1000 records/s takes 5000.000s",
        );
        // The field that makes the run too long is named, at its line: a
        // timeout or interval of the margin, a restart delay, the liveness
        // bound, a late fault.
        for (body, field) in [
            (
                "[checkpoint]\ntimeout = \"1h\"",
                "5: field `checkpoint.timeout`",
            ),
            (
                "[checkpoint]\ninterval = \"1h\"",
                "5: field `checkpoint.interval`",
            ),
            (
                "[checkpoint]\nmin_pause = \"1h\"",
                "5: field `checkpoint.min_pause`",
            ),
            (
                "[timing]\nrpc_timeout = \"1h\"",
                "5: field `timing.rpc_timeout`",
            ),
            (
                "[timing]\nheartbeat_timeout = \"1h\"",
                "5: field `timing.heartbeat_timeout`",
            ),
            (
                "[restart]\nstrategy = \"fixed-delay\"\nattempts = 3\ndelay = \"1h\"",
                "7: field `restart.delay`",
            ),
            ("liveness_bound = \"1h\"", "4: field `liveness_bound`"),
        ] {
            check_error(
                body,
                &format!("test.toml:{field}: the run this scenario describes needs"),
            );
            check_error(body, "lower it");
        }
        let late =
            "[[fault]]\nkind = \"crash_restart\"\nhost = \"sink\"\nat = \"3595s\"\nafter = \"1s\"";
        check_error(
            late,
            "test.toml:7: field `fault[0].at`: the run this scenario describes needs 3605.050s",
        );
        check_error(
            late,
            "the largest part is fault[0], which may end as late as 3596.000s (`fault[0].at` the \
             most of it): move it earlier, or set max_sim_time to at most 1h",
        );
        let delayed = "[[fault]]\nkind = \"crash\"\nhost = \"sink\"\n\
                       on = { event = \"checkpoint_completed\", delay = \"1h\" }";
        check_error(delayed, "test.toml:7: field `fault[0].on.delay`: the run");
        // The entry at fault, not the first of its kind: the second
        // savepoint, the second lifecycle step.
        let savepoints = "[[savepoint]]\nat = \"1s\"\n\n[[savepoint]]\nat = \"3599s\"";
        check_error(
            savepoints,
            "test.toml:8: field `savepoint[1].at`: the run this scenario describes needs",
        );
        check_error(
            savepoints,
            "the largest part is savepoint[1], which may be asked for as late as 3599.000s \
             (`savepoint[1].at` the most of it): ask for it earlier",
        );
        let steps = "[[lifecycle]]\nstop = { at = \"200ms\", with = \"savepoint\" }\n\
                     resume = { from = \"savepoint\" }\n\n\
                     [[lifecycle]]\nstop = { at = \"50m\", with = \"savepoint\" }\n\
                     resume = { from = \"savepoint\", after = \"15m\" }";
        check_error(steps, "test.toml:9: field `lifecycle[1].stop.at`: the run");
        // A timeout counted once per event-triggered fault says so, with the
        // value the file gives.
        let counted = "[checkpoint]\ntimeout = \"20m\"\n\
                       [[fault]]\nkind = \"crash\"\nhost = \"sink\"\n\
                       on = { event = \"checkpoint_completed\" }\n\
                       [[fault]]\nkind = \"crash\"\nhost = \"store\"\n\
                       on = { event = \"checkpoint_completed\" }";
        check_error(
            counted,
            "the largest part is checkpoint.timeout (1200.000s, counted 3 times, 3600.000s: once \
             for the run and once for each fault that waits for an event",
        );
        let explicit = check(&format!("max_sim_time = \"1h\"\n{late}"));
        assert_eq!(explicit.max_sim_time, Duration::from_secs(3_600));
    }

    /// A probe or event that only replicated checkpoint storage gives is
    /// refused where there is one store: no seed could hit it.
    #[test]
    fn replica_probes_and_events_need_store_replicas() {
        let expecting = |replicas: u32| {
            format!(
                "topology = {{ taskmanagers = 2, parallelism = 2, store_replicas = {replicas} }}\n\
                 [expect]\noutcome = \"exactly-once\"\nsometimes = [\"store-replica-repaired\"]\n"
            )
        };
        check_error(
            &expecting(1),
            "field `expect.sometimes[0]`: the store-replica-repaired probe comes only from \
             replicated checkpoint storage (topology.store_replicas above 1), so no seed could \
             hit it",
        );
        check(&expecting(3));
        let on_repair = "topology = { taskmanagers = 2, parallelism = 2, store_replicas = 3 }\n\
                         [[fault]]\nkind = \"crash\"\nhost = \"taskmanager-1\"\n\
                         on = { event = \"store_replica_repaired\" }";
        check(on_repair);
    }

    /// A lease is granted only with standby jobmanagers: a `lease_ttl`
    /// with one would change nothing, and is refused.
    #[test]
    fn a_lease_ttl_needs_standby_jobmanagers() {
        check_error(
            "[timing]\nlease_ttl = \"1s\"",
            "test.toml:5: field `timing.lease_ttl`: has no effect with one jobmanager",
        );
        let with_ha = check(
            "topology = { taskmanagers = 2, parallelism = 2, jobmanagers = 2 }\n\
             [timing]\nlease_ttl = \"1s\"",
        );
        assert_eq!(with_ha.config.timing.lease_ttl, Duration::from_secs(1));
    }

    #[test]
    fn zero_intervals_and_timeouts_are_rejected() {
        check_error(
            "[timing]\nrpc_timeout = \"0s\"",
            "test.toml:5: field `timing.rpc_timeout`: must be longer than 0",
        );
        check_error(
            "max_sim_time = \"0s\"",
            "test.toml:4: field `max_sim_time`: must be longer than 0",
        );
        // Under a millisecond is 0 ms to the simulation, as to Flink.
        check_error(
            "[timing]\nrpc_timeout = \"0.5ms\"",
            "test.toml:5: field `timing.rpc_timeout`: must be at least 1ms, got \"0.5ms\": the \
             simulation counts durations in whole milliseconds",
        );
        check_error(
            "max_sim_time = \"0.999ms\"",
            "test.toml:4: field `max_sim_time`: must be at least 1ms, got \"0.999ms\"",
        );
    }

    /// Flink refuses a checkpoint interval or timeout under 10 ms; 0 and
    /// under a millisecond get the same message.
    #[test]
    fn checkpoint_intervals_and_timeouts_under_10ms_are_rejected() {
        check_error(
            "[checkpoint]\ntimeout = \"5ms\"",
            "test.toml:5: field `checkpoint.timeout`: must be at least 10ms, got \"5ms\": Flink's \
             least checkpoint timeout (`CheckpointConfig.MINIMAL_CHECKPOINT_TIME`); a checkpoint \
             takes a dozen messages of 1 ms or more one after another, so a shorter timeout \
             expires every checkpoint (and one of a few tens of ms still expires many)",
        );
        check_error(
            "[checkpoint]\ninterval = \"9.9ms\"",
            "test.toml:5: field `checkpoint.interval`: must be at least 10ms, got \"9.9ms\": \
             Flink's least checkpoint interval (`CheckpointConfig.MINIMAL_CHECKPOINT_TIME`)",
        );
        for zero in ["0ms", "0.5ms"] {
            check_error(
                &format!("[checkpoint]\ninterval = \"{zero}\""),
                &format!("field `checkpoint.interval`: must be at least 10ms, got \"{zero}\""),
            );
        }
        let ok = check("[checkpoint]\ninterval = \"10ms\"\ntimeout = \"10ms\"");
        assert_eq!(ok.config.checkpoint.timeout, Duration::from_millis(10));
    }

    #[test]
    fn parallelism_beyond_max_parallelism_is_rejected() {
        check_error(
            "topology = { parallelism = 200, max_parallelism = 128 }",
            "test.toml:4: field `topology.max_parallelism`: parallelism 200 exceeds max_parallelism 128",
        );
    }

    #[test]
    fn negative_skew_is_rejected() {
        check_error(
            "[workload]\nskew = -0.5",
            "test.toml:5: field `workload.skew`: must be 0 (uniform) or more, got -0.5",
        );
    }

    #[test]
    fn a_heartbeat_timeout_within_the_interval_is_rejected() {
        check_error(
            "[timing]\nheartbeat_interval = \"2s\"",
            "test.toml:5: field `timing.heartbeat_interval`: heartbeat_timeout (1s) must be longer than heartbeat_interval (2s)",
        );
    }

    #[test]
    fn an_unknown_job_is_rejected() {
        let source = format!(
            "{}job = {{ name = \"word-count\" }}\n",
            HEADER.replace("job = { name = \"keyed-count\" }\n", "")
        );
        let error = parse(
            &format!("{source}[expect]\noutcome = \"exactly-once\""),
            "test.toml",
        )
        .expect_err("word-count is no job");
        assert_eq!(
            error.to_string(),
            r#"test.toml:3: field `job.name`: unknown job "word-count"; the jobs are keyed-count"#
        );
        let typo = source.replace("word-count", "keyed-cont");
        let error = parse(
            &format!("{typo}[expect]\noutcome = \"exactly-once\""),
            "test.toml",
        )
        .expect_err("a typo");
        assert!(
            error.to_string().ends_with("did you mean \"keyed-count\"?"),
            "{error}"
        );
        let params = source.replace("\"word-count\"", "\"keyed-count\", window = \"1s\"");
        let error = parse(
            &format!("{params}[expect]\noutcome = \"exactly-once\""),
            "test.toml",
        )
        .expect_err("keyed-count takes no parameters");
        assert_eq!(
            error.to_string(),
            "test.toml:3: field `job.window`: keyed-count takes no parameters, got `window`"
        );
    }

    #[test]
    fn a_fault_on_an_unknown_host_is_rejected() {
        check_error(
            "[[fault]]\nkind = \"crash\"\nhost = \"taskmanager-3\"\nat = \"1s\"",
            "test.toml:6: field `fault[0].host`: unknown host \"taskmanager-3\"; hosts: jobmanager, taskmanager-1, taskmanager-2, log, sink, store",
        );
    }

    #[test]
    fn faults_out_of_time_order_are_rejected() {
        check_error(
            "[[fault]]\nkind = \"crash\"\nhost = \"sink\"\nat = \"2s\"\n\
             [[fault]]\nkind = \"restart\"\nhost = \"sink\"\nat = \"1s\"",
            "test.toml:11: field `fault[1].at`: faults must be listed in time order, but this one at 1s follows one at 2s",
        );
    }

    #[test]
    fn a_fault_after_the_end_of_the_run_is_rejected() {
        check_error(
            "max_sim_time = \"30s\"\n[[fault]]\nkind = \"crash\"\nhost = \"sink\"\nat = \"30s\"",
            "test.toml:8: field `fault[0].at`: at 30s (+ jitter 0ns) the fault may never fire: max_sim_time is 30s",
        );
        check_error(
            "max_sim_time = \"30s\"\n[[fault]]\nkind = \"crash\"\nhost = \"sink\"\nat = \"29s\"\njitter = \"1s\"",
            "test.toml:8: field `fault[0].at`: at 29s (+ jitter 1s) the fault may never fire",
        );
        check_error(
            "max_sim_time = \"30s\"\n[[fault]]\nkind = \"crash\"\nhost = \"sink\"\nat = \"18446744073709551615s\"\njitter = \"1s\"",
            "test.toml:8: field `fault[0].at`: must be at most 3600s of simulated time, got 18446744073709551615s",
        );
        let late = check("max_sim_time = \"30s\"\n[[fault]]\nkind = \"crash\"\nhost = \"sink\"\nat = \"29.998s\"");
        assert_eq!(late.faults[0].at, Duration::from_millis(29_998));
        // Without max_sim_time, the run lasts until a late fault healed
        // and the job had its time after it.
        let later = check(
            "[[fault]]\nkind = \"crash_restart\"\nhost = \"sink\"\nat = \"30s\"\nafter = \"1s\"",
        );
        assert_eq!(
            later.max_sim_time,
            Duration::from_millis(31_000 + 8_550 + 500)
        );
    }

    /// An explicit `max_sim_time` must outlast the lifecycle's stops and
    /// resumes as well as the last run, and every savepoint asked for at a
    /// time, as it must every fault (both were once accepted, and every
    /// seed then failed: a new user's review).
    #[test]
    fn an_explicit_max_sim_time_must_outlast_the_lifecycle_and_the_savepoints() {
        let lifecycle = "[[lifecycle]]\nstop = { at = \"300ms\", with = \"savepoint\" }\n\
             resume = { from = \"savepoint\", after = \"20s\" }\n[[lifecycle]]\n\
             stop = { at = \"300ms\", with = \"cancel\" }\nresume = { from = \"retained\", \
             after = \"20s\" }";
        check_error(
            &format!("max_sim_time = \"41s\"\n{lifecycle}"),
            "test.toml:4: field `max_sim_time`: 41s is too short for the lifecycle: its stops \
             and resumes take up to 40.600s before the last run starts",
        );
        check_error(
            &format!("max_sim_time = \"49.15s\"\n{lifecycle}"),
            "so more than 49.150s in all",
        );
        let enough = check(&format!("max_sim_time = \"49.151s\"\n{lifecycle}"));
        assert_eq!(enough.max_sim_time, Duration::from_millis(49_151));
        // The default counts the lifecycle too, and more.
        assert!(check(lifecycle).max_sim_time > Duration::from_millis(49_150));
        check_error(
            "max_sim_time = \"12s\"\n[[savepoint]]\nat = \"20s\"",
            "test.toml:6: field `savepoint[0].at`: at 20s (+ jitter 0ns) the savepoint may never \
             be asked for: max_sim_time is 12s",
        );
        check_error(
            "max_sim_time = \"12s\"\n[[savepoint]]\nat = \"11s\"\njitter = \"1s\"",
            "field `savepoint[0].at`: at 11s (+ jitter 1s) the savepoint may never be asked for",
        );
        check_error(
            "max_sim_time = \"12s\"\n[[savepoint]]\nat = \"20s\"\n\
             on = { event = \"checkpoint_completed\" }",
            "field `savepoint[0].at`: at 20s (+ jitter 0ns) the savepoint may never be asked for",
        );
        let asked = check("max_sim_time = \"12s\"\n[[savepoint]]\nat = \"11.999s\"");
        assert_eq!(asked.savepoints[0].at, Duration::from_millis(11_999));
    }

    #[test]
    fn a_fault_fires_at_a_time_or_on_a_known_engine_event() {
        check_error(
            "[[fault]]\nkind = \"crash\"\nhost = \"sink\"",
            "test.toml:5: field `fault[0].at`: a fault needs `at` (a time) or `on` (an engine event)",
        );
        check_error(
            "[[fault]]\nkind = \"crash\"\nhost = \"sink\"\non = { event = \"barrier_seen\" }",
            "test.toml:7: field `fault[0].on.event`: unknown engine event \"barrier_seen\"; events: host_started",
        );
        check_error(
            "[[fault]]\nkind = \"crash\"\nhost = \"sink\"\non = { event = \"failover\", occurrence = 0 }",
            "test.toml:7: field `fault[0].on.occurrence`: occurrence counts from 1",
        );
        let scenario = check(
            "[[fault]]\nkind = \"crash\"\nhost = \"sink\"\non = { event = \"txn_pre_committed\", checkpoint = 3 }",
        );
        let trigger = scenario.faults[0].event_trigger().expect("a trigger");
        assert_eq!(
            (
                trigger.event.as_str(),
                trigger.checkpoint,
                trigger.occurrence
            ),
            ("txn_pre_committed", Some(3), 1)
        );
    }

    /// A crash of `sink` with this `on` table (line 7 of the file).
    fn crash_on(on: &str) -> String {
        format!("[[fault]]\nkind = \"crash\"\nhost = \"sink\"\non = {on}")
    }

    #[test]
    fn sink_names_the_last_vertex_of_any_job() {
        let on = r#"{ event = "txn_pre_committed", host = "sink", task = "sink[1]" }"#;
        let scenario = check(&crash_on(on));
        let t = scenario.faults[0]
            .event_trigger()
            .expect("an event trigger");
        assert_eq!(t.task.map(|t| t.to_string()), Some("count[1]".into()));
        let source = source(&crash_on(on));
        let two_stage = crate::job::ScenarioJob {
            name: "two-stage-like".into(),
            params: toml::Table::new(),
            model: std::sync::Arc::new(TwoVertices),
        };
        let scenario = crate::scenario::parse_with_job(&source, "test.toml", Some(two_stage))
            .expect("sink[1] is the last vertex's");
        let t = scenario.faults[0]
            .event_trigger()
            .expect("an event trigger");
        assert_eq!(t.task.map(|t| t.to_string()), Some("region[1]".into()));
        check_error(
            &crash_on(r#"{ event = "state_restored", task = "sink[2]" }"#),
            "test.toml:7: field `fault[0].on.task`: unknown task \"count[2]\": the job has count[0] to count[1]",
        );
    }

    /// keyed-count with a second keyed vertex `region` after `count`.
    #[derive(Debug)]
    struct TwoVertices;

    impl crate::job::JobModel for TwoVertices {
        fn name(&self) -> &'static str {
            "two-stage-like"
        }
        fn params(&self) -> toml::Table {
            toml::Table::new()
        }
        fn graph(&self) -> flinch_engine::graph::JobGraph {
            flinch_engine::graph::JobGraph::source("source")
                .and_then(|s| s.key_by("count", || crate::keyed_count::KeyedCount))
                .and_then(|s| s.key_by("region", || crate::keyed_count::KeyedCount))
                .expect("valid")
                .build()
        }
        fn job(&self, config: &JobConfig, seed: u64) -> flinch_engine::graph::Job {
            crate::keyed_count::job(config, seed)
        }
        fn event_time(&self) -> bool {
            false
        }
        fn check_output(
            &self,
            _: &[Vec<flinch_engine::record::Record>],
            _: &[flinch_engine::record::Record],
        ) -> Vec<crate::model::Finding> {
            Vec::new()
        }
        fn check_output_at_least_once(
            &self,
            _: &[Vec<flinch_engine::record::Record>],
            _: &[flinch_engine::record::Record],
        ) -> Vec<crate::model::Finding> {
            Vec::new()
        }
        fn check_state(
            &self,
            _: &[Vec<flinch_engine::record::Record>],
            _: &[u64],
            _: flinch_engine::event::Vertex,
            _: &crate::model::KeyedState,
            _: &crate::model::Timers,
        ) -> Vec<String> {
            Vec::new()
        }
        fn output_json(&self, _: &flinch_engine::record::Record) -> serde_json::Value {
            serde_json::Value::Null
        }
    }

    #[test]
    fn event_filters_name_hosts_tasks_and_epochs_the_event_carries() {
        let scenario = check(&crash_on(
            r#"{ event = "state_restored", host = "taskmanager-1", task = "count[1]", epoch = 2, checkpoint = 2, occurrence = 1, delay = "50ms" }"#,
        ));
        let t = scenario.faults[0]
            .event_trigger()
            .expect("an event trigger");
        assert_eq!(t.host.as_deref(), Some("taskmanager-1"));
        assert_eq!(t.task.map(|t| t.to_string()), Some("count[1]".into()));
        assert_eq!((t.epoch, t.checkpoint, t.occurrence), (Some(2), Some(2), 1));
        assert_eq!(t.delay, Duration::from_millis(50));
        // The boundaries: the last task of each vertex, epoch 1, a zero delay.
        let edge = check(&crash_on(
            r#"{ event = "task_failed", task = "source[0]", epoch = 1, delay = "0ms" }"#,
        ));
        let t = edge.faults[0].event_trigger().expect("an event trigger");
        assert_eq!((t.epoch, t.delay), (Some(1), Duration::ZERO));
        check(&crash_on(r#"{ event = "fenced", task = "count[1]" }"#));

        for (on, expected) in [
            (
                r#"{ event = "state_restored", host = "taskmanager-9" }"#,
                "test.toml:7: field `fault[0].on.host`: unknown host \"taskmanager-9\"",
            ),
            (
                r#"{ event = "state_restored", host = "sinks" }"#,
                "did you mean \"sink\"?",
            ),
            (
                r#"{ event = "state_restored", task = "count[2]" }"#,
                "test.toml:7: field `fault[0].on.task`: unknown task \"count[2]\": the job has count[0] to count[1] (topology.parallelism = 2)",
            ),
            (
                r#"{ event = "state_restored", task = "window[0]" }"#,
                "test.toml:7: field `fault[0].on.task`: unknown task \"window[0]\": the job's vertices are source, count",
            ),
            (
                r#"{ event = "state_restored", task = "cont[0]" }"#,
                "the job's vertices are source, count; did you mean \"count\"?",
            ),
            (
                r#"{ event = "state_restored", task = "Count[0]" }"#,
                "test.toml:7: field `fault[0].on.task`: not a task id like \"count[0]\"",
            ),
            (
                r#"{ event = "checkpoint_completed", task = "count[0]" }"#,
                "test.toml:7: field `fault[0].on.task`: checkpoint_completed events never carry `task`",
            ),
            (
                r#"{ event = "checkpoint_completed", epoch = 2 }"#,
                "test.toml:7: field `fault[0].on.epoch`: checkpoint_completed events never carry `epoch`",
            ),
            (
                r#"{ event = "failover", checkpoint = 2 }"#,
                "test.toml:7: field `fault[0].on.checkpoint`: failover events never carry `checkpoint`",
            ),
            (
                r#"{ event = "failover", epoch = 0 }"#,
                "test.toml:7: field `fault[0].on.epoch`: epochs count from 1",
            ),
            (
                r#"{ event = "failover", edge = "end" }"#,
                "test.toml:7: field `fault[0].on.edge`: `edge` belongs to a trigger on a fault",
            ),
            (
                r#"{ delay = "5ms" }"#,
                "test.toml:7: field `fault[0].on.event`: a trigger needs `event` (an engine event) or `fault`",
            ),
        ] {
            check_error(&crash_on(on), expected);
        }
    }

    #[test]
    fn filters_no_event_of_that_kind_can_pass_are_refused_at_load() {
        // What a run does emit still loads: each event from a host of its
        // table, a keyed transaction task, checkpoint 1, a probe by name.
        for on in [
            r#"{ event = "txn_pre_committed", host = "sink", task = "count[0]", checkpoint = 1 }"#,
            r#"{ event = "state_restored", host = "taskmanager-2", task = "source[1]" }"#,
            r#"{ event = "checkpoint_acknowledged", host = "jobmanager", task = "source[0]" }"#,
            r#"{ event = "corrupt_read", host = "jobmanager" }"#,
            r#"{ event = "host_started", host = "log" }"#,
            r#"{ event = "probe", probe = "write-fenced", host = "sink" }"#,
            r#"{ event = "probe", probe = "corrupt-read-retried", host = "taskmanager-1" }"#,
        ] {
            check(&crash_on(on));
        }
        let probe = check(&crash_on(
            r#"{ event = "probe", probe = "channel-silent" }"#,
        ));
        let t = probe.faults[0].event_trigger().expect("an event trigger");
        assert_eq!(t.probe, Some(Probe::ChannelSilent));

        for (on, expected) in [
            (
                r#"{ event = "txn_pre_committed", host = "taskmanager-1" }"#,
                "test.toml:7: field `fault[0].on.host`: taskmanager-1 never emits txn_pre_committed events, so this filter would never match; they come from: sink",
            ),
            (
                r#"{ event = "state_restored", host = "sink" }"#,
                "field `fault[0].on.host`: sink never emits state_restored events, so this filter would never match; they come from: taskmanager-N",
            ),
            (
                r#"{ event = "store_write_late", host = "jobmanager" }"#,
                "they come from: store",
            ),
            (
                r#"{ event = "probe", probe = "write-fenced", host = "jobmanager" }"#,
                "field `fault[0].on.host`: jobmanager never emits the write-fenced probe",
            ),
            (
                r#"{ event = "txn_committed", task = "source[0]" }"#,
                "test.toml:7: field `fault[0].on.task`: txn_committed events are about the subtask of the last vertex, whose chained sink owns the transaction (count[i]), never a source[0]",
            ),
            (
                r#"{ event = "fenced", task = "source[1]" }"#,
                "field `fault[0].on.task`: fenced events are about the subtask of the last vertex",
            ),
            (
                r#"{ event = "key_groups_restored", task = "source[0]" }"#,
                "test.toml:7: field `fault[0].on.task`: key_groups_restored events are about \
                 keyed subtasks, which own key groups, never a source subtask (source[0]), so \
                 this filter would never match",
            ),
            (
                r#"{ event = "store_replica_repaired" }"#,
                "test.toml:7: field `fault[0].on.event`: store_replica_repaired events come only \
                 from replicated checkpoint storage (topology.store_replicas above 1), so this \
                 trigger would never fire",
            ),
            (
                r#"{ event = "probe", probe = "store-quorum-without-replica" }"#,
                "test.toml:7: field `fault[0].on.probe`: the store-quorum-without-replica probe \
                 comes only from replicated checkpoint storage",
            ),
            (
                r#"{ event = "probe", probe = "leader-fenced" }"#,
                "test.toml:7: field `fault[0].on.probe`: the leader-fenced probe comes only from \
                 a topology with standby jobmanagers",
            ),
            (
                r#"{ event = "checkpoint_completed", checkpoint = 0 }"#,
                "test.toml:7: field `fault[0].on.checkpoint`: checkpoints count from 1",
            ),
            (
                r#"{ event = "probe", probe = "write-fenced-x" }"#,
                "test.toml:7: field `fault[0].on.probe`: unknown probe \"write-fenced-x\"; probes: write-fenced, ",
            ),
            (
                r#"{ event = "failover", probe = "write-fenced" }"#,
                "field `fault[0].on.probe`: `probe` names which probe a `probe` event must be; failover events are not probes",
            ),
            (
                r#"{ fault = "x", edge = "end", probe = "write-fenced" }"#,
                "field `fault[0].on.probe`: `probe` filters engine events",
            ),
        ] {
            check_error(&crash_on(on), expected);
        }
    }

    /// Two faults: `first` (a partition with id "cut" unless it says
    /// otherwise) and `second`, each a `[[fault]]` body.
    fn two(first: &str, second: &str) -> String {
        format!("[[fault]]\n{first}\n\n[[fault]]\n{second}")
    }

    const CUT: &str = "kind = \"partition\"\nid = \"cut\"\nhost = \"taskmanager-1\"\npeer = \"jobmanager\"\nat = \"1s\"\nfor = \"200ms\"";

    #[test]
    fn a_fault_can_wait_for_another_faults_start_or_end() {
        let scenario = check(&two(
            CUT,
            "kind = \"crash_restart\"\nhost = \"taskmanager-2\"\non = { fault = \"cut\", edge = \"end\", delay = \"5ms\" }\njitter = \"3ms\"\nafter = \"100ms\"",
        ));
        assert_eq!(scenario.faults[0].id.as_deref(), Some("cut"));
        let dependent = &scenario.faults[1];
        assert_eq!(dependent.anchor(), Some("cut"));
        assert_eq!(dependent.jitter, Duration::from_millis(3));
        let Some(Trigger::Fault(t)) = &dependent.on else {
            panic!("a fault trigger: {dependent:?}");
        };
        assert_eq!((t.edge, t.delay), (Edge::End, Duration::from_millis(5)));
        // The longest id and every character allowed.
        let long = "a".repeat(ID_MAX_LEN - 6) + "-_0z9y";
        check(&two(
            &CUT.replace("\"cut\"", &format!("\"{long}\"")),
            &format!("kind = \"crash\"\nhost = \"sink\"\non = {{ fault = \"{long}\", edge = \"start\" }}"),
        ));
    }

    #[test]
    fn bad_fault_ids_and_fault_triggers_are_refused_where_they_stand() {
        let crash = |on: &str| format!("kind = \"crash\"\nhost = \"sink\"\non = {on}");
        for (faults, expected) in [
            (
                two(CUT, &crash(r#"{ fault = "cat", edge = "start" }"#)),
                "test.toml:15: field `fault[1].on.fault`: no fault has the id \"cat\"",
            ),
            (
                two(CUT, &crash(r#"{ fault = "cat", edge = "start" }"#)),
                "; ids: cut; did you mean \"cut\"?",
            ),
            (
                two(CUT, &crash(r#"{ fault = "cut" }"#)),
                "test.toml:15: field `fault[1].on.edge`: a trigger on a fault needs `edge`",
            ),
            (
                two(CUT, &crash(r#"{ fault = "cut", edge = "start", event = "failover" }"#)),
                "test.toml:15: field `fault[1].on.fault`: a trigger waits for an engine event (`event`) or a fault (`fault`), not both",
            ),
            (
                two(CUT, &crash(r#"{ fault = "cut", edge = "start", checkpoint = 2 }"#)),
                "test.toml:15: field `fault[1].on.checkpoint`: `checkpoint` filters engine events",
            ),
            (
                two(CUT, &format!("{}\nat = \"2s\"", crash(r#"{ fault = "cut", edge = "start" }"#))),
                "test.toml:16: field `fault[1].at`: a fault triggered by another fault has no `at`",
            ),
            (
                two(CUT, &format!("id = \"cut\"\n{}", crash(r#"{ event = "failover" }"#))),
                "test.toml:13: field `fault[1].id`: fault id \"cut\" is already the id of fault[0]",
            ),
            (
                two(&CUT.replace("\"cut\"", "\"Cut\""), &crash(r#"{ event = "failover" }"#)),
                "test.toml:6: field `fault[0].id`: a fault id is 1 to 32 characters",
            ),
            (
                two(&CUT.replace("\"cut\"", &format!("\"{}\"", "a".repeat(ID_MAX_LEN + 1))), &crash(r#"{ event = "failover" }"#)),
                "test.toml:6: field `fault[0].id`: a fault id is 1 to 32 characters",
            ),
            (
                two(
                    "kind = \"crash\"\nid = \"down\"\nhost = \"sink\"\nat = \"1s\"",
                    &crash(r#"{ fault = "down", edge = "end" }"#),
                ),
                "test.toml:13: field `fault[1].on.edge`: fault[0] (\"down\") is a crash that never ends",
            ),
            (
                two(
                    "kind = \"crash\"\nid = \"self\"\nhost = \"sink\"\non = { fault = \"self\", edge = \"start\" }",
                    &crash(r#"{ event = "failover" }"#),
                ),
                "test.toml:8: field `fault[0].on.fault`: a fault cannot be triggered by itself",
            ),
            (
                two(
                    "kind = \"crash_restart\"\nid = \"a\"\nhost = \"sink\"\nafter = \"1s\"\non = { fault = \"b\", edge = \"start\" }",
                    "kind = \"crash_restart\"\nid = \"b\"\nhost = \"store\"\nafter = \"1s\"\non = { fault = \"a\", edge = \"end\" }",
                ),
                "test.toml:9: field `fault[0].on.fault`: fault triggers form a cycle: fault[0] waits for fault[1] waits for fault[0]",
            ),
        ] {
            check_error(&faults, expected);
        }
    }

    /// `lead` time-triggered faults, then `n` faults `a0..` in one trigger
    /// cycle: `a{i}` waits for the start of `a{i+1 mod n}`. Each fault of
    /// the cycle is 6 lines, its `on` the 6th; each lead fault 5 lines.
    fn trigger_cycle(lead: usize, n: usize) -> String {
        let mut body = String::new();
        for _ in 0..lead {
            body.push_str("[[fault]]\nkind = \"crash_restart\"\nhost = \"log\"\nat = \"1s\"\nafter = \"1s\"\n");
        }
        for i in 0..n {
            body.push_str(&format!(
                "[[fault]]\nkind = \"crash_restart\"\nid = \"a{i}\"\nhost = \"sink\"\nafter = \"1s\"\n\
                 on = {{ fault = \"a{}\", edge = \"start\" }}\n",
                (i + 1) % n
            ));
        }
        body
    }

    fn error_of(body: &str) -> String {
        match parse(&source(body), "test.toml") {
            Ok(_) => panic!("expected an error for {body}"),
            Err(error) => error.to_string(),
        }
    }

    /// A cycle of up to `CYCLE_LINKS_SHOWN` faults is named link by link.
    #[test]
    fn a_short_trigger_cycle_is_named_in_full() {
        assert_eq!(
            error_of(&trigger_cycle(0, 3)),
            "test.toml:9: field `fault[0].on.fault`: fault triggers form a cycle: fault[0] waits \
             for fault[1] waits for fault[2] waits for fault[0]"
        );
        let five: Vec<String> = (0..=CYCLE_LINKS_SHOWN)
            .map(|i| format!("fault[{}]", 1 + i % CYCLE_LINKS_SHOWN))
            .collect();
        assert_eq!(
            error_of(&trigger_cycle(1, CYCLE_LINKS_SHOWN)),
            format!(
                "test.toml:14: field `fault[1].on.fault`: fault triggers form a cycle: {}",
                five.join(" waits for ")
            )
        );
    }

    /// A longer cycle names its first `CYCLE_LINKS_SHOWN` links, how many
    /// more there are and the cycle's length, so that even the largest plan
    /// in one cycle is one short line, at a fault in the cycle.
    #[test]
    fn a_long_trigger_cycle_is_named_in_a_bounded_line() {
        assert_eq!(
            error_of(&trigger_cycle(2, CYCLE_LINKS_SHOWN + 1)),
            "test.toml:19: field `fault[2].on.fault`: fault triggers form a cycle of 6 faults: \
             fault[2] waits for fault[3] waits for fault[4] waits for fault[5] waits for fault[6] \
             waits for fault[7] ... and 1 more link back to fault[2]"
        );
        let most = limits::FAULTS.max as usize;
        let long = error_of(&trigger_cycle(0, most));
        assert_eq!(
            long,
            "test.toml:9: field `fault[0].on.fault`: fault triggers form a cycle of 1000 faults: \
             fault[0] waits for fault[1] waits for fault[2] waits for fault[3] waits for fault[4] \
             waits for fault[5] ... and 995 more links back to fault[0]"
        );
        // One more fault is over the limit, and that is the error instead.
        assert!(error_of(&trigger_cycle(0, most + 1))
            .contains("field `fault[1000]`: at most 1000 faults"),);
    }

    /// A taskmanager that would open more connections than its host has
    /// ephemeral ports for is refused at load, naming the field that drives
    /// the count: every source has a channel to every count, so one
    /// taskmanager with 256 of each opens 65,536. Within the bound, the
    /// same product spread over more taskmanagers loads.
    #[test]
    fn a_taskmanager_with_more_connections_than_ports_is_refused() {
        let one = "topology = { taskmanagers = 1, parallelism = 256 }\n\
                   [workload]\nrecords = 256\npartitions = 256\n";
        let error = error_of(one);
        assert!(
            error.starts_with(
                "test.toml:4: field `topology.parallelism`: a taskmanager would open 67080 \
                 connections (workload.partitions 256 and topology.parallelism 256 over 1 \
                 taskmanagers"
            ),
            "{error}"
        );
        assert!(error.contains("more than the 27768 each may"), "{error}");
        let partitions = "topology = { max_parallelism = 256 }\n\
                          [workload]\nrecords = 256\npartitions = 256\n\
                          [[lifecycle]]\nstop = { at = \"200ms\", with = \"savepoint\" }\n\
                          resume = { from = \"savepoint\", topology = { taskmanagers = 1, \
                          parallelism = 200 } }\n";
        let error = error_of(partitions);
        assert!(
            error.contains(
                "field `lifecycle[0].resume.topology.parallelism`: a taskmanager would open"
            ),
            "{error}"
        );
        check(
            "topology = { taskmanagers = 4, parallelism = 256 }\n\
               [workload]\nrecords = 256\npartitions = 256\n",
        );
    }

    /// A name is one printable line of at most 128 characters; a
    /// description may hold line breaks but no other control characters.
    /// `workload.skew` is at most 10.
    #[test]
    fn texts_are_bounded_and_printable_and_skew_is_bounded() {
        let with_name = |name: &str| {
            format!("name = \"{name}\"\ndescription = \"d\"\njob = {{ name = \"keyed-count\" }}\n{EXPECT}")
        };
        let error = |text: &str| {
            parse(text, "test.toml")
                .map(|_| ())
                .unwrap_err()
                .to_string()
        };
        assert!(parse(&with_name(&"n".repeat(128)), "test.toml").is_ok());
        assert_eq!(
            error(&with_name(&"n".repeat(129))),
            format!(
                "test.toml:1: field `name`: at most 128 characters, got 129: {}",
                limits::NAME_CHARS.why
            )
        );
        assert_eq!(
            // TOML's escapes: a bell, then an escape sequence that turns a
            // terminal's text red.
            error(&with_name("a\\u0007\\u001b[31mRED")),
            "test.toml:1: field `name`: must not hold control characters, got '\\u{7}': it is \
             printed to terminals"
        );
        let described = "name = \"n\"\ndescription = \"\"\"\ntwo\n\tlines\"\"\"\n\
                         job = { name = \"keyed-count\" }\n";
        assert!(parse(&format!("{described}{EXPECT}"), "test.toml").is_ok());
        check_error(
            "[workload]\nskew = 10.5",
            "test.toml:5: field `workload.skew`: must be at most 10, got 10.5",
        );
        assert_eq!(check("[workload]\nskew = 10.0").config.workload.skew, 10.0);
    }

    #[test]
    fn message_loss_takes_a_peer_and_defaults_to_every_link() {
        let loss = "[[fault]]\nkind = \"message_loss\"\nhost = \"taskmanager-1\"\nat = \"1s\"\nrate = 0.5\nfor = \"1s\"";
        let every = check(loss);
        assert!(
            matches!(&every.faults[0].kind, FaultKind::MessageLoss { peer, .. } if peer == ALL_PEERS)
        );
        let one = check(&format!("{loss}\npeer = \"sink\""));
        assert!(
            matches!(&one.faults[0].kind, FaultKind::MessageLoss { peer, .. } if peer == "sink")
        );
        check_error(
            &format!("{loss}\npeer = \"taskmanager-1\""),
            "field `fault[0].peer`: a link needs two different hosts",
        );
    }

    #[test]
    fn latency_takes_an_optional_floor_at_most_its_ceiling() {
        let latency = "[[fault]]\nkind = \"latency\"\nhost = \"taskmanager-2\"\npeer = \"sink\"\nat = \"1s\"\nmax = \"2s\"\nfor = \"300ms\"";
        let ms = Duration::from_millis;
        let without = check(latency);
        assert!(matches!(
            &without.faults[0].kind,
            FaultKind::Latency { min, max, .. } if min.is_zero() && *max == ms(2000)
        ));
        let floored = check(&format!("{latency}\nmin = \"700ms\""));
        assert!(matches!(
            &floored.faults[0].kind,
            FaultKind::Latency { min, max, .. } if *min == ms(700) && *max == ms(2000)
        ));
        let equal = check(&format!("{latency}\nmin = \"2s\""));
        assert!(matches!(
            &equal.faults[0].kind,
            FaultKind::Latency { min, max, .. } if min == max
        ));
    }

    #[test]
    fn each_fault_kind_takes_its_own_parameters() {
        let cases = [
            ("kind = \"bit_rot\"\nhost = \"store\"\nat = \"1s\"",
             "test.toml:5: field `fault[0].path`: a bit_rot fault needs `path`"),
            ("kind = \"bit_rot\"\nhost = \"store\"\nat = \"1s\"\npath = \"store/meta\"",
             "test.toml:8: field `fault[0].path`: must be an absolute path on the host's disk, starting with `/`"),
            ("kind = \"bit_rot\"\nhost = \"sink\"\nat = \"1s\"\npath = \"/sink/\"",
             "test.toml:6: field `fault[0].host`: bit_rot faults target checkpoint storage (store or store-N) or a taskmanager"),
            ("kind = \"bit_rot\"\nhost = \"taskmanager-1\"\nat = \"1s\"\npath = \"/store/meta/\"",
             "test.toml:8: field `fault[0].path`: matches no file taskmanager-1 keeps: its files are under /local/"),
            ("kind = \"bit_rot\"\nhost = \"store\"\nat = \"1s\"\npath = \"/store/../store/meta/\"",
             "test.toml:8: field `fault[0].path`: must not hold `.` or `..` parts or NUL"),
            ("kind = \"io_errors\"\nhost = \"store\"\nat = \"1s\"\nprobability = 0.5\nfor = \"1s\"\npath = \"chk-\"",
             "test.toml:10: field `fault[0].path`: must be an absolute path on the host's disk, starting with `/`"),
            ("kind = \"io_errors\"\nhost = \"sink\"\nat = \"1s\"\nprobability = 0.5\nfor = \"1s\"\npath = \"/store/chk-\"",
             "test.toml:10: field `fault[0].path`: matches no file sink keeps: its files are under /sink/"),
            ("kind = \"io_errors\"\nhost = \"jobmanager\"\nat = \"1s\"\nprobability = 0.5\nfor = \"1s\"\npath = \"/ha/\"",
             "test.toml:10: field `fault[0].path`: matches no file: jobmanager keeps none on its disk"),
            ("kind = \"read_corruption\"\nhost = \"store\"\nat = \"1s\"\nprobability = 0.5\nfor = \"1s\"\npath = \"/store/\"",
             "test.toml:10: field `fault[0].path`: `path` is not a parameter of read_corruption faults; they take probability, for"),
            ("kind = \"clock_drift\"\nhost = \"sink\"\nat = \"1s\"\nfor = \"1s\"",
             "test.toml:5: field `fault[0].drift`: a clock_drift fault needs `drift`"),
            ("kind = \"clock_drift\"\nhost = \"sink\"\nat = \"1s\"\ndrift = 0.7\nfor = \"1s\"",
             "test.toml:8: field `fault[0].drift`: must be from -0.5 to 0.5"),
            ("kind = \"pause\"\nhost = \"sink\"\nat = \"1s\"",
             "test.toml:5: field `fault[0].for`: a pause fault needs `for`"),
            ("kind = \"bit_rot\"\nhost = \"store\"\nat = \"1s\"\npath = \"/store/meta/\"\nfor = \"1s\"",
             "test.toml:9: field `fault[0].for`: `for` is not a parameter of bit_rot faults; they take path"),
            ("kind = \"crash_restart\"\nhost = \"sink\"\nat = \"1s\"",
             "test.toml:5: field `fault[0].after`: a crash_restart fault needs `after`"),
            ("kind = \"crash\"\nhost = \"sink\"\nat = \"1s\"\nafter = \"1s\"",
             "test.toml:8: field `fault[0].after`: `after` is not a parameter of crash faults; they take none"),
            ("kind = \"partition\"\nhost = \"sink\"\nat = \"1s\"\nfor = \"1s\"",
             "test.toml:5: field `fault[0].peer`: a partition fault needs `peer`"),
            ("kind = \"partition\"\nhost = \"sink\"\npeer = \"sink\"\nat = \"1s\"\nfor = \"1s\"",
             "test.toml:7: field `fault[0].peer`: a link needs two different hosts"),
            ("kind = \"stall\"\nhost = \"sink\"\npeer = \"mars\"\nat = \"1s\"\nfor = \"1s\"",
             "test.toml:7: field `fault[0].peer`: unknown host \"mars\""),
            ("kind = \"latency\"\nhost = \"sink\"\npeer = \"*\"\nat = \"1s\"\nfor = \"1s\"",
             "test.toml:5: field `fault[0].max`: a latency fault needs `max`"),
            ("kind = \"latency\"\nhost = \"sink\"\npeer = \"*\"\nat = \"1s\"\nmin = \"2s\"\nmax = \"1s\"\nfor = \"1s\"",
             "test.toml:9: field `fault[0].min`: must be at most `max` (1s), got 2s"),
            ("kind = \"latency\"\nhost = \"sink\"\npeer = \"*\"\nat = \"1s\"\nmin = \"0.4ms\"\nmax = \"1s\"\nfor = \"1s\"",
             "test.toml:9: field `fault[0].min`: must be at least 1ms (the simulation's own floor), got 400000ns"),
            ("kind = \"latency\"\nhost = \"sink\"\nat = \"1s\"\nmin = \"2s\"\nfor = \"1s\"",
             "test.toml:5: field `fault[0].peer`: a latency fault needs `peer`"),
            ("kind = \"message_loss\"\nhost = \"sink\"\nat = \"1s\"\nrate = 1.5\nfor = \"1s\"",
             "test.toml:8: field `fault[0].rate`: must be a probability from 0 to 1, got 1.5"),
            ("kind = \"io_errors\"\nhost = \"store\"\nat = \"1s\"\nprobability = -0.1\nfor = \"1s\"",
             "test.toml:8: field `fault[0].probability`: must be a probability from 0 to 1, got -0.1"),
            ("kind = \"disk_full\"\nhost = \"store\"\nat = \"1s\"\nfor = \"1s\"",
             "test.toml:5: field `fault[0].capacity`: a disk_full fault needs `capacity`"),
            ("kind = \"stall\"\nhost = \"sink\"\npeer = \"log\"\nat = \"1s\"\nfor = \"0s\"",
             "test.toml:9: field `fault[0].for`: must be longer than 0"),
            // Parameters and hosts with which a fault would do nothing.
            ("kind = \"message_loss\"\nhost = \"sink\"\nat = \"1s\"\nrate = 0.0\nfor = \"1s\"",
             "test.toml:8: field `fault[0].rate`: must be above 0: with 0 the fault would do nothing"),
            ("kind = \"io_errors\"\nhost = \"store\"\nat = \"1s\"\nprobability = 0\nfor = \"1s\"",
             "test.toml:8: field `fault[0].probability`: must be above 0"),
            ("kind = \"clock_drift\"\nhost = \"sink\"\nat = \"1s\"\ndrift = 0.0\nfor = \"1s\"",
             "test.toml:8: field `fault[0].drift`: must not be 0: with 0 the clock would run as it does"),
            ("kind = \"read_corruption\"\nhost = \"jobmanager\"\nat = \"1s\"\nprobability = 1.0\nfor = \"1s\"",
             "test.toml:6: field `fault[0].host`: read_corruption on jobmanager would do nothing: jobmanager keeps nothing on its disk"),
            ("kind = \"io_errors\"\nhost = \"log\"\nat = \"1s\"\nprobability = 1.0\nfor = \"1s\"",
             "test.toml:6: field `fault[0].host`: io_errors on log would do nothing: log keeps nothing on its disk"),
            ("kind = \"disk_full\"\nhost = \"taskmanager-1\"\nat = \"1s\"\ncapacity = 0\nfor = \"1s\"",
             "test.toml:6: field `fault[0].host`: disk_full on taskmanager-1 would do nothing: taskmanager-1 keeps files on its disk only with [checkpoint] local_recovery = true"),
            ("kind = \"partition\"\nhost = \"sink\"\npeer = \"log\"\nat = \"1s\"\nfor = \"0.4ms\"",
             "test.toml:9: field `fault[0].for`: must be at least 1ms, got \"0.4ms\""),
            ("kind = \"read_corruption\"\nhost = \"store\"\nat = \"1s\"\nprobability = 0.5\nfor = \"1s\"\npeer = \"log\"",
             "test.toml:10: field `fault[0].peer`: `peer` is not a parameter of read_corruption faults; they take probability, for"),
        ];
        for (fault, expected) in cases {
            check_error(&format!("[[fault]]\n{fault}"), expected);
        }
        let scenario = check("[[fault]]\nkind = \"partition\"\nhost = \"taskmanager-1\"\npeer = \"*\"\noneway = true\nat = \"1s\"\nfor = \"500ms\"");
        assert_eq!(
            scenario.faults[0].kind,
            FaultKind::Partition {
                peer: "*".into(),
                oneway: true,
                duration: Duration::from_millis(500)
            }
        );
    }

    #[test]
    fn an_unknown_fault_kind_is_rejected() {
        check_error(
            "[[fault]]\nkind = \"meteor\"\nhost = \"sink\"\nat = \"1s\"",
            "test.toml:5: field `fault[0].kind`: unknown variant `meteor`, expected one of `crash`, `restart`, `crash_restart`",
        );
    }

    #[test]
    fn an_unknown_outcome_is_rejected() {
        check_error(
            "[expect]\noutcome = \"exactly_once\"",
            "test.toml:5: field `expect.outcome`: unknown variant `exactly_once`, expected one of `exactly-once`, `at-least-once`, `job-failed`",
        );
    }

    #[test]
    fn job_failed_needs_a_reason_and_only_it_takes_one() {
        check_error(
            "[expect]\noutcome = \"job-failed\"",
            "test.toml:5: field `expect.reason`: outcome \"job-failed\" needs a `reason`",
        );
        check_error(
            "[expect]\noutcome = \"at-least-once\"\nreason = \"fixed-delay\"",
            "test.toml:6: field `expect.reason`: only outcome \"job-failed\" takes a reason",
        );
        let scenario = check("[expect]\noutcome = \"job-failed\"\nreason = \"fixed-delay\"");
        let reason = "fixed-delay".to_owned();
        assert_eq!(scenario.expect, Expectation::JobFailed { reason });
    }

    #[test]
    fn exactly_once_output_cannot_be_expected_of_at_least_once_checkpoints() {
        check_error(
            "[checkpoint]\nmode = \"at-least-once\"\n[expect]\noutcome = \"exactly-once\"",
            "test.toml:7: field `expect.outcome`: outcome \"exactly-once\" needs checkpoint mode \"exactly-once\"",
        );
        let scenario =
            check("[checkpoint]\nmode = \"exactly-once\"\n[expect]\noutcome = \"at-least-once\"");
        assert_eq!(scenario.expect, Expectation::AtLeastOnce);
    }

    #[test]
    fn an_unknown_bug_is_rejected() {
        check_error(
            "bug = \"off-by-one\"",
            "test.toml:4: field `bug`: unknown planted bug \"off-by-one\"; known bugs: commit-on-barrier, source-no-rewind",
        );
        let scenario = check("bug = \"commit-on-barrier\"");
        assert_eq!(
            scenario.config.planted_bug,
            Some(PlantedBug::CommitOnBarrier)
        );
    }

    /// A bug in code the job never runs could never show: a run with it
    /// would pass and prove nothing.
    #[test]
    fn a_bug_the_job_cannot_show_is_rejected() {
        check_error(
            "bug = \"restored-watermark\"",
            "test.toml:4: field `bug`: planted bug \"restored-watermark\" needs event time, which \
             job \"keyed-count\" does not have: it could never show",
        );
        check_error(
            "bug = \"skip-second-alignment\"",
            "test.toml:4: field `bug`: planted bug \"skip-second-alignment\" needs 2 keyed \
             stages, which job \"keyed-count\" does not have: it could never show",
        );
    }

    #[test]
    fn empty_or_malformed_seed_ranges_are_rejected() {
        check_error(
            "[seeds]\nrange = \"5..5\"",
            "test.toml:5: field `seeds.range`: seed range \"5..5\" is empty",
        );
        check_error(
            "[seeds]\nrange = \"0-100\"",
            "test.toml:5: field `seeds.range`: expected a seed range like \"0..100\" or \"0..=99\", got \"0-100\"",
        );
        check_error(
            "[seeds]\nrange = 100",
            "test.toml:5: field `seeds.range`: invalid type: integer `100`, expected a string",
        );
    }

    #[test]
    fn unknown_fields_are_named_with_their_line() {
        check_error(
            "[checkpoint]\nintervall = \"1s\"",
            "test.toml:5: field `checkpoint.intervall`: unknown field `intervall`, expected one of",
        );
        check_error(
            "topology = { taskmanagers = 2, hosts = 3 }",
            "test.toml:4: field `topology.hosts`: unknown field `hosts`",
        );
        check_error(
            "[[fault]]\nkind = \"crash\"\nhost = \"sink\"\nat = \"1s\"\nwhen = \"barrier\"",
            "test.toml:8: field `fault[0].when`: unknown field `when`",
        );
        check_error(
            "[nemesis]\nintensity = 1\nseed = 3",
            "test.toml:6: field `nemesis.seed`: unknown field `seed`",
        );
    }

    #[test]
    fn bad_durations_are_reported_on_their_field() {
        check_error(
            "[checkpoint]\ninterval = \"fast\"",
            r#"test.toml:5: field `checkpoint.interval`: expected a duration like "250ms" or "2s", got "fast""#,
        );
        check_error(
            "[checkpoint]\ntimeout = 200",
            "test.toml:5: field `checkpoint.timeout`: expected a duration like \"250ms\" or \"2s\", got the number 200",
        );
        check_error(
            "[[fault]]\nkind = \"crash\"\nhost = \"sink\"\nat = \"-1s\"",
            "test.toml:7: field `fault[0].at`: expected a duration like \"250ms\" or \"2s\", got \"-1s\" (durations cannot be negative)",
        );
    }

    #[test]
    fn wrong_types_and_missing_fields_are_reported_on_their_field() {
        check_error(
            "topology = { parallelism = -1 }",
            "test.toml:4: field `topology.parallelism`: invalid value: integer `-1`, expected u32",
        );
        check_error(
            "[[fault]]\nkind = \"crash\"\nat = \"1s\"",
            "test.toml:4: field `fault[0].host`: this field is required",
        );
        let error = parse("name = \"x\"\n", "test.toml").expect_err("no description");
        assert_eq!(
            error.to_string(),
            "test.toml: field `description`: this field is required"
        );
    }

    #[test]
    fn syntax_errors_have_a_line_but_no_field() {
        check_error("[checkpoint\n", "test.toml:4: invalid table header");
    }

    #[test]
    fn blank_names_and_descriptions_are_rejected() {
        for (from, to, expected) in [
            (
                "\"test\"",
                "\" \"",
                "test.toml:1: field `name`: must not be empty",
            ),
            (
                "\"A scenario under test.\"",
                "\"\"\"\n\"\"\"",
                "test.toml:2: field `description`: must not be empty",
            ),
        ] {
            let source = source("").replacen(from, to, 1);
            let error = parse(&source, "test.toml").expect_err(to);
            assert_eq!(error.to_string(), expected);
        }
    }
}
