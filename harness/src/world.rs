//! One seeded simulation of a scenario: builds the turmoil world with every
//! host, applies the fault plan between steps, records the trace, and
//! reads the committed and pending output from the `sink` host's disk afterwards.
//! This loop owns `Sim::step`, so it is the one place faults happen.
//!
//! A caller may stop a run from outside ([`simulate_plan_until`]): the loop
//! asks a hook every [`STOP_POLL_STEPS`] steps. The hook is the caller's
//! (the CLI's `--timeout` watchdog and Ctrl-C set a flag it reads); the loop
//! itself never reads the wall clock, so a run that is not stopped is the
//! same run, step for step, as one without a hook.

use crate::fault::{Edge, EventTrigger, Fault, FaultKind, Trigger, ALL_PEERS};
use crate::lifecycle::{self, Step, StopWith};
use crate::outcome::{keyed_count_outputs, CommittedTxn, PendingTxn, RunOutcome};
use crate::panics::{self, Panic, Phase};
use crate::scenario::Scenario;
use crate::trace::{FaultEvent, TraceEvent, What};
use crate::violation::{Checker, Violation, INTERNAL_ERROR};
use flinch_engine::config::JobConfig;
use flinch_engine::event::{Event, JobState, Observer, StateTap, TaskId};
use flinch_engine::graph::{Job, JobGraph};
use flinch_engine::hosts::{self, jobmanager, HostContext, HostResult};
use flinch_engine::io::disk::{self, Disk};
use flinch_engine::io::{addr, clock};
use flinch_engine::job::Plan;
use flinch_engine::record::{InputRecord, Record, TxnId};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::rc::Rc;
use std::time::{Duration, SystemTime};
use turmoil::fs::FsHandle;

/// The simulation's tick: network delivery rounds up to it.
pub const TICK: Duration = Duration::from_millis(2);
/// Message latency between any two hosts, drawn per message.
pub const LATENCY_MIN: Duration = Duration::from_millis(1);
pub const LATENCY_MAX: Duration = Duration::from_millis(6);
/// After the job ends, keep simulating this long: a commit that arrives
/// after a failure must still be seen.
pub const GRACE: Duration = Duration::from_millis(500);
/// The ports a host's outgoing connections take (turmoil's
/// `Builder::ephemeral_ports`; its default is 49152 to 65535, IANA's
/// dynamic range): every port above those flinch's hosts listen on (all
/// under 10000, `flinch_engine::io::addr`), so that a taskmanager with
/// many channels has 55,536 rather than 16,384. A host out of them cannot
/// connect at all (turmoil panics), which the scenario's load refuses
/// before it can happen ([`crate::scenario`]'s
/// `CONNECTIONS_PER_TASKMANAGER`).
pub const EPHEMERAL_PORTS: std::ops::RangeInclusive<u16> = 10_000..=65_535;
/// How many ports [`EPHEMERAL_PORTS`] holds.
pub const EPHEMERAL_PORT_COUNT: u64 =
    *EPHEMERAL_PORTS.end() as u64 - *EPHEMERAL_PORTS.start() as u64 + 1;
/// The fixed simulated wall-clock start of every run.
pub const SIM_EPOCH_SECS: u64 = 1_700_000_000;
/// turmoil's default capacity of a listener's queue of connections not yet
/// accepted, and of each stream's buffer (`Builder::tcp_capacity`).
pub const TURMOIL_TCP_CAPACITY: usize = 64;

/// The TCP capacity a job with `graph` needs: at most every task and every
/// taskmanager connect to one listener at the same moment (every task
/// uploading its snapshot to `store`, every taskmanager registering with
/// the jobmanager), or every data channel into one taskmanager connects to
/// its data port at once (every upstream subtask connects all its channels
/// when it is deployed: [`Plan::channels_into_taskmanager`]). Raised above
/// turmoil's default only when the topology needs it: it also sizes every
/// stream's buffer, so it changes backpressure and trace hashes.
///
/// More requests than this can still land at once (a `stall` holds them
/// while every connect gives up after `rpc_timeout` and dials again, and
/// releases them together): flinch's turmoil drops the ones a full queue
/// cannot take, and their clients see the connection refused, as from a
/// kernel past a listener's backlog (vendor/README.md). Upstream turmoil
/// panics there.
pub fn tcp_capacity(config: &JobConfig, graph: &JobGraph) -> usize {
    let plan = Plan::new(graph, config);
    let subtasks: u64 = plan.vertices.iter().map(|v| u64::from(v.parallelism)).sum();
    let connectors = (subtasks + u64::from(config.topology.taskmanagers) + 1)
        .max(plan.channels_into_taskmanager());
    if connectors < TURMOIL_TCP_CAPACITY as u64 {
        return TURMOIL_TCP_CAPACITY;
    }
    usize::try_from(connectors.next_power_of_two() * 2).unwrap_or(usize::MAX)
}

/// The TCP capacity a scenario's simulation needs: the most any of its
/// runs needs ([`tcp_capacity`]), since a lifecycle's resumed run may be
/// wider than its first (parallelism 1 resumed at 64 opens 64 times the
/// data channels into one taskmanager), and the simulation is built once.
pub fn lifecycle_tcp_capacity(scenario: &Scenario) -> usize {
    let graph = scenario.job.model.graph();
    (0..crate::lifecycle::run_count(&scenario.lifecycle))
        .map(|run| crate::lifecycle::run_config(&scenario.config, &scenario.lifecycle, run))
        .map(|config| tcp_capacity(&config, &graph))
        .max()
        .unwrap_or(TURMOIL_TCP_CAPACITY)
}

thread_local! {
    static SKIP_IDLE_HOSTS: std::cell::Cell<bool> = const { std::cell::Cell::new(true) };
}

/// Whether simulations built on this thread skip a host's step when it has
/// nothing to do (turmoil's `skip_idle_hosts`, a flinch patch:
/// vendor/turmoil/PATCHES.md). On unless [`tick_idle_hosts`] turned it off.
pub fn skip_idle_hosts() -> bool {
    SKIP_IDLE_HOSTS.with(std::cell::Cell::get)
}

/// Run `f` with simulations on this thread stepping every host on every
/// step, idle or not, as upstream turmoil does, and with every jobmanager
/// looking at its timers every 10 ms whether one is due or not: the
/// reference that the skipping of idle hosts and idle jobmanager ticks is
/// checked against (a run must be the same, trace hash for trace hash,
/// either way).
pub fn tick_idle_hosts<R>(f: impl FnOnce() -> R) -> R {
    /// Puts the settings back when dropped, so a panic in `f` (a failing
    /// test) does not leave the thread stepping every host.
    struct Restore(bool, bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            SKIP_IDLE_HOSTS.with(|skip| skip.set(self.0));
            jobmanager::set_skip_idle_ticks(self.1);
        }
    }
    let _restore = Restore(
        SKIP_IDLE_HOSTS.with(|skip| skip.replace(false)),
        jobmanager::set_skip_idle_ticks(false),
    );
    f()
}

/// How often the step loop asks its stop hook, in steps of [`TICK`]: every
/// 32 ms of simulated time, which a debug build runs in about half a
/// millisecond of wall time, so a stop takes effect well within a
/// millisecond while the hook (an atomic load) costs nothing measurable.
pub const STOP_POLL_STEPS: u64 = 16;

type Trace = Rc<RefCell<Vec<TraceEvent>>>;

/// Why a simulation did not come back with an outcome.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// The simulation broke before its end (a panic, a host's error, a
    /// step turmoil refused): what broke it, when, and the trace so far.
    #[error("{}", .0.breakage)]
    Broken(Box<Broken>),
    /// The caller's stop hook asked the loop to stop, at `at` of simulated
    /// time after `steps` steps. The run has no verdict.
    #[error("stopped from outside at {at:?} of simulated time, after {steps} steps")]
    Stopped { at: Duration, steps: u64 },
}

/// A simulation that broke: there is no outcome to check, only this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    pub breakage: Breakage,
    /// Simulated time of the step (or fault) that broke it.
    pub at: Duration,
    /// The trace up to the break: what `flinch replay` shows of the run.
    pub trace: Vec<TraceEvent>,
}

/// What broke a simulation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Breakage {
    /// A panic, placed ([`panics`]): the engine's bug or flinch's.
    #[error("{0}")]
    Panic(Panic),
    /// An error without a panic: a host's main function returned one, turmoil
    /// refused a step, or the sink's disk could not be read (an internal
    /// error, with its message).
    #[error("{0}")]
    Error(String),
}

impl Broken {
    /// The one violation of a run that broke: `engine-panic` or
    /// `internal-error`.
    pub fn violation(&self) -> Violation {
        match &self.breakage {
            Breakage::Panic(panic) => panic.violation(),
            Breakage::Error(message) => Violation {
                at: Some(self.at),
                ..Violation::new(Checker::ExpectedOutcome, INTERNAL_ERROR, message.clone())
            },
        }
    }
}

/// What holds of a run that ran to its end.
struct Ran {
    /// When each fault of the plan fired (`None`: never).
    fired_at: Vec<Option<Duration>>,
    /// Why each fault that fired did nothing ([`RunOutcome::without_effect`]).
    without_effect: Vec<Option<String>>,
    final_state: Option<JobState>,
}

/// Seeds the harness's own RNG for message-loss draws, mixed with the
/// run's seed (a different constant from jitter's, so neither shifts the
/// other, and turmoil's RNG is never drawn from).
const LOSS_SEED: u64 = 0x1055_b11b;

/// What the harness holds of each host: its disk's fault knobs, and its
/// filesystem (captured the first time the host runs) for wiping and reading.
struct HostHandles {
    disk: Disk,
    fs: Rc<RefCell<Option<FsHandle>>>,
    /// What the host's software starts with: a resume swaps in the resumed
    /// run's configuration before it starts the host again.
    slot: Rc<RefCell<HostContext>>,
}

/// Run one seed with the scenario's own fault plan: its hand-written faults
/// and, with a `[nemesis]`, the faults drawn for this seed.
pub fn simulate(scenario: &Scenario, seed: u64) -> Result<RunOutcome, String> {
    simulate_plan(scenario, seed, &scenario.plan(seed))
}

/// Run one seed with an explicit fault plan (what shrinking edits). `Err`
/// when the simulation itself broke (a host panicked or returned an
/// error), with its message.
pub fn simulate_plan(
    scenario: &Scenario,
    seed: u64,
    faults: &[Fault],
) -> Result<RunOutcome, String> {
    simulate_plan_until(scenario, seed, faults, &|| false).map_err(|e| e.to_string())
}

/// [`simulate_plan`], asking `stop` every [`STOP_POLL_STEPS`] steps (and
/// before the first) whether to give up; when it says yes the run ends at
/// once with [`SimError::Stopped`]. `stop` is how a caller bounds a run in
/// wall-clock time without the loop reading the clock: the CLI's watchdog
/// sets a flag and `stop` reads it. A hook that never says yes leaves the
/// run exactly as [`simulate_plan`] runs it (the same trace, byte for byte).
///
/// Every part of the run is under a [`panics::catch`], so a panic ends it
/// with [`SimError::Broken`] placed and timed, and with the trace up to it.
pub fn simulate_plan_until(
    scenario: &Scenario,
    seed: u64,
    faults: &[Fault],
    stop: &dyn Fn() -> bool,
) -> Result<RunOutcome, SimError> {
    // The job's graph and input are the job's code: a panic there is
    // placed and blamed like any other.
    let job = panics::catch(Phase::Build, Duration::ZERO, || {
        scenario.job.model.job(&scenario.config, seed)
    })
    .map_err(|panic| broken(Breakage::Panic(panic), Duration::ZERO, Vec::new()))?;
    let mut raw = simulate_job(scenario, seed, faults, job, stop)?;
    // The hosts are gone: the log is no longer shared, so no copy is made.
    let job_input =
        Rc::try_unwrap(std::mem::take(&mut raw.input)).unwrap_or_else(|rc| (*rc).clone());
    // A lifecycle that ends with a drained stop ends the input where the
    // sources stopped: the output is judged against the log up to there.
    let drained_ends = crate::lifecycle::drained_input_ends(&raw.trace, &scenario.lifecycle);
    // keyed-count's record-level view: its checkers read it.
    let keyed_count = scenario.job.is_keyed_count();
    let decode = |txns: &[(TxnId, Vec<Record>)]| {
        let decoded = txns
            .iter()
            .filter(|_| keyed_count)
            .map(|(txn, records)| Ok((*txn, keyed_count_outputs(*txn, records)?)));
        decoded.collect::<Result<Vec<_>, String>>()
    };
    let output = decode(&raw.committed)
        .and_then(|c| Ok((c, decode(&raw.pending)?)))
        .and_then(|(c, p)| Ok((c, p, decode(&raw.lost)?)));
    let (committed, pending, lost) = output.map_err(|e| {
        let at = raw.sim_time;
        broken(Breakage::Error(e), at, raw.trace.clone())
    })?;
    let committed = (committed.into_iter())
        .map(|(txn, records)| CommittedTxn { txn, records })
        .collect();
    let pending = (pending.into_iter())
        .map(|(txn, records)| PendingTxn { txn, records })
        .collect();
    let lost = (lost.into_iter())
        .map(|(txn, records)| CommittedTxn { txn, records })
        .collect();
    let unfired = faults
        .iter()
        .zip(&raw.fired_at)
        .filter(|(_, f)| f.is_none())
        .map(|(f, _)| f.clone())
        .collect();
    let input = match keyed_count {
        true => typed_input(&crate::outcome::judged(&job_input, drained_ends.as_deref()))
            .map_err(|e| broken(Breakage::Error(e), raw.sim_time, raw.trace.clone()))?,
        false => Vec::new(),
    };
    Ok(RunOutcome {
        trace: raw.trace,
        output: raw.committed,
        output_pending: raw.pending,
        output_lost: raw.lost,
        timed_out: raw.timed_out,
        job_input,
        drained_ends,
        committed,
        pending,
        lost,
        input,
        final_state: raw.final_state,
        sim_time: raw.sim_time,
        host_steps: raw.host_steps,
        refused_connections: raw.refused_connections,
        unfired,
        fired_at: raw.fired_at,
        without_effect: raw.without_effect,
        snapshots: raw.snapshots,
        stored_checkpoints: raw.stored_checkpoints,
    })
}

/// keyed-count's input log, typed: each record's `u32` key with its
/// partition and offset.
fn typed_input(input: &[Vec<Record>]) -> Result<Vec<Vec<InputRecord>>, String> {
    let typed = |(p, partition): (usize, &Vec<Record>)| {
        // Sized up front: collecting `Result`s gives no size hint.
        let mut typed = Vec::with_capacity(partition.len());
        for (o, r) in partition.iter().enumerate() {
            let key = flinch_engine::record::decode_uint(&r.key)
                .map_err(|e| format!("keyed-count's input at partition {p}, offset {o}: {e}"))?;
            typed.push(InputRecord {
                key,
                partition: p as u32,
                offset: o as u64,
            });
        }
        Ok(typed)
    };
    input.iter().enumerate().map(typed).collect()
}

/// What one run of any job left: its trace, the sink's transactions as
/// engine records (committed, and still pre-committed), the job's last
/// state, and when each fault fired. A job's own model decodes the records.
#[derive(Debug, Clone)]
pub struct RawOutcome {
    pub trace: Vec<TraceEvent>,
    /// Committed transactions, in commit order.
    pub committed: Vec<(TxnId, Vec<Record>)>,
    /// Transactions still pre-committed after the run.
    pub pending: Vec<(TxnId, Vec<Record>)>,
    /// Transactions the sink aborted after its transaction timeout and the
    /// job then declared lost (a `txn_lost` event: the scenario set
    /// `sink.ignore_failures_after_transaction_timeout`), in file-name
    /// order: output missing on purpose.
    pub lost: Vec<(TxnId, Vec<Record>)>,
    /// Every transaction the sink aborted after its transaction timeout
    /// (`/sink/timed-out/`), lost on purpose or not.
    pub timed_out: Vec<TxnId>,
    /// `None` if the run hit its time bound first.
    pub final_state: Option<JobState>,
    pub sim_time: Duration,
    /// Host steps run and skipped as idle.
    pub host_steps: turmoil::HostSteps,
    /// Connection requests refused at a full accept queue
    /// ([`crate::seed::SeedReport::refused_connections`]).
    pub refused_connections: u64,
    /// When each fault of the plan fired, in plan order (`None`: never).
    pub fired_at: Vec<Option<Duration>>,
    /// Why each fault that fired did nothing, in plan order
    /// ([`RunOutcome::without_effect`]).
    pub without_effect: Vec<Option<String>>,
    /// Every keyed operator snapshot taken, when the scenario's job is not
    /// keyed-count (whose checkers read digests only).
    pub snapshots: Snapshots,
    /// The job's input log.
    pub input: Rc<Vec<Vec<Record>>>,
    /// The checkpoints and savepoints whose metadata checkpoint storage
    /// still holds after the run, on any replica.
    pub stored_checkpoints: BTreeSet<(u64, u64)>,
}

/// Keyed operator snapshots (postcard `KeyedSnapshot`s) by (epoch,
/// checkpoint, task).
pub type Snapshots = BTreeMap<(u64, u64, TaskId), Vec<u8>>;

/// Run one seed of `scenario` executing `job` (its graph, input and
/// watermarks) instead of keyed-count, under `faults`, asking `stop` as
/// [`simulate_plan_until`] does. Errors as [`simulate_plan_until`]'s.
pub fn simulate_job(
    scenario: &Scenario,
    seed: u64,
    faults: &[Fault],
    job: Job,
    stop: &dyn Fn() -> bool,
) -> Result<RawOutcome, SimError> {
    let input = job.input.clone();
    let job = Rc::new(job);
    let build = || World::build(scenario, seed, job);
    let mut world = panics::catch(Phase::Build, Duration::ZERO, build)
        .map_err(|p| broken(Breakage::Panic(p), Duration::ZERO, Vec::new()))?;
    let ran = world.run(scenario, seed, faults, stop);
    let sim_time = world.sim.elapsed();
    let host_steps = world.sim.host_steps();
    let refused_connections = world.sim.refused_connections();
    let committed = ran.and_then(|ran| {
        let read = panics::catch(Phase::Output, sim_time, || {
            Ok((world.read_sink()?, world.read_stored_checkpoints()?))
        });
        world
            .settle(read, sim_time)
            .map(|committed| (ran, committed))
    });
    // Taken, not copied: what a host's drop code emits below was never
    // part of the run's trace either.
    let trace = std::mem::take(&mut *world.trace.borrow_mut());
    let snapshots = std::mem::take(&mut *world.snapshots.borrow_mut());
    // Dropping the world drops every host's software: its drop code runs
    // here, and a panic in it ends a run that had not broken yet.
    let dropped = panics::catch(Phase::Hosts, sim_time, move || drop(world));
    let (ran, (files, stored_checkpoints)) = committed?;
    let SinkFiles {
        committed,
        pending,
        timed_out,
    } = files;
    let declared: BTreeSet<TxnId> = (trace.iter())
        .filter_map(|e| match &e.what {
            What::Engine(Event::TxnLost { txn, .. }) => Some(*txn),
            _ => None,
        })
        .collect();
    // Forgiven only where the scenario allows it: a `txn_lost` without the
    // opt-in is an engine defect, and its records count as missing.
    let allowed = scenario
        .config
        .sink
        .ignore_failures_after_transaction_timeout;
    let timed_out_ids = timed_out.iter().map(|(txn, _)| *txn).collect();
    let lost = (timed_out.into_iter())
        .filter(|(txn, _)| allowed && declared.contains(txn))
        .collect();
    if let Err(p) = dropped {
        return Err(broken(Breakage::Panic(p), sim_time, trace));
    }
    Ok(RawOutcome {
        trace,
        committed,
        pending,
        lost,
        timed_out: timed_out_ids,
        final_state: ran.final_state,
        sim_time,
        host_steps,
        refused_connections,
        fired_at: ran.fired_at,
        without_effect: ran.without_effect,
        snapshots,
        input,
        stored_checkpoints,
    })
}

fn broken(breakage: Breakage, at: Duration, trace: Vec<TraceEvent>) -> SimError {
    SimError::Broken(Box::new(Broken {
        breakage,
        at,
        trace,
    }))
}

struct World<'a> {
    sim: turmoil::Sim<'a>,
    trace: Trace,
    /// Keyed operator snapshots by (epoch, checkpoint, task), when tapped.
    snapshots: Rc<RefCell<Snapshots>>,
    hosts: BTreeMap<String, HostHandles>,
    /// How much of the trace has been matched against event triggers.
    seen: usize,
    /// When each fault of the plan fired, and when it ended (its edges,
    /// for fault triggers).
    started: Vec<Option<Duration>>,
    ended: Vec<Option<Duration>>,
    /// Why each fault of the plan that fired did nothing (`None`: it took
    /// effect, or never fired): a `bit_rot` whose path matched no file, an
    /// `io_errors` whose path no operation met, a bare `crash` or `pause`
    /// of a host already down, a bare `restart` of one up, a
    /// `crash_restart` of a host a lifecycle stop held down whose restart
    /// started nothing either.
    without_effect: Vec<Option<String>>,
    /// The `crash_restart` faults whose crash found their host held down
    /// by a lifecycle stop, by plan index: each is judged at its restart,
    /// which may still start the host (another fault crashed it after the
    /// resume, or a resume to fewer taskmanagers left it down).
    crashed_while_stopped: BTreeSet<usize>,
    /// The `io_errors` faults with a `path` in force, by plan index: their
    /// host and path. Each is judged when it ends (or the run does): one
    /// that no disk operation under its path met did nothing.
    aimed_io_errors: BTreeMap<usize, (String, String)>,
    /// How many reasons each directed link (from, to) has to be cut: a
    /// `partition` holds one for its whole length, a message-loss blip for
    /// one tick. The link is cut while any is held, so one ending never
    /// repairs a link another still cuts.
    cuts: BTreeMap<(String, String), u32>,
    /// How many stalls hold each link (both ways: a stall holds the pair),
    /// keyed by [`link_pair`]. The first stall holds it, the last release
    /// lets it go, and a cut that ends on a held link holds it again.
    holds: BTreeMap<(String, String), u32>,
    /// Message losses in force, by the number their heal names.
    losses: BTreeMap<u64, Loss>,
    next_loss: u64,
    /// The pauses holding each host paused, by the number their heal
    /// names: the host pauses with the first and resumes when the last
    /// ends, so a shorter pause that lands within a longer one never ends
    /// it early. A crash ends them all (the host's software is gone).
    pauses: BTreeMap<String, BTreeSet<u64>>,
    /// The clock drifts of each host that have not ended, oldest first,
    /// each with the number its heal names: the newest sets the clock's
    /// rate; when it ends, the newest of the rest (if any) runs the clock
    /// again, so every drift is in force from its start to its end
    /// whenever no newer one is.
    drifts: BTreeMap<String, Vec<(u64, f64)>>,
    /// Numbers the next pause and the next drift take.
    next_pause: u64,
    next_drift: u64,
    /// Links cut by a loss blip for the current tick, repaired at the next.
    blips: Vec<(String, String)>,
    loss_rng: SmallRng,
    /// The scenario's `[[lifecycle]]` and the first run's configuration.
    steps: Vec<Step>,
    /// The scenario's `[[savepoint]]`.
    savepoints: Vec<lifecycle::Savepoint>,
    first: JobConfig,
    /// Draws each stop's jitter ([`STOP_SEED`]).
    stop_rng: SmallRng,
    /// The jobmanagers, and every run's taskmanagers (`taskmanager-1..`):
    /// the job's cluster, which each resume replaces.
    jobmanagers: Vec<String>,
    taskmanagers: Vec<String>,
    /// The run on (0: the first), and where in the trace it started.
    run: usize,
    run_from: usize,
    /// The hosts a stop took down, until the resume: a fault's heal does
    /// not start them again meanwhile (the job is stopped).
    stopped: BTreeSet<String>,
    /// The `client` host's commands, with a lifecycle that stops with a
    /// savepoint or plain savepoints (`None`: the simulation has no
    /// `client` host).
    commands: Option<hosts::client::Commands>,
}

/// Seeds the harness's RNG for the lifecycle's stop jitter, mixed with the
/// run's seed (apart from the faults' and the losses' draws).
const STOP_SEED: u64 = 0x5709_11fe;
/// Seeds the draws of the plain savepoints' jitter, apart from the stops'.
const SAVEPOINT_SEED: u64 = 0x5a7e_9017;

/// A message loss in force: each tick, each link between `host` and one
/// of `peers` is cut for the tick with probability `rate`.
struct Loss {
    host: String,
    peers: Vec<String>,
    rate: f64,
}

impl World<'_> {
    /// Step until the scenario's `max_sim_time`, or [`GRACE`] after the job
    /// ended, applying the plan's faults between steps.
    fn run(
        &mut self,
        scenario: &Scenario,
        seed: u64,
        faults: &[Fault],
        stop: &dyn Fn() -> bool,
    ) -> Result<Ran, SimError> {
        // A host whose clock a fault may make drift, or whose timers a
        // pause holds until it resumes, is declared so before anything
        // runs: its code must not count on its timers keeping simulated
        // time (`clock::steady`).
        for fault in faults {
            if let FaultKind::ClockDrift { .. } | FaultKind::Pause { .. } = fault.kind {
                clock::unsteady(self.sim.lookup(fault.host.as_str()));
            }
        }
        let mut plan = expand(faults, seed);
        plan.extend(self.next_stop(0));
        plan.extend(self.savepoint_requests(seed));
        self.started = vec![None; faults.len()];
        self.ended = vec![None; faults.len()];
        self.without_effect = vec![None; faults.len()];
        self.aimed_io_errors.clear();
        self.crashed_while_stopped.clear();
        let mut end = scenario.max_sim_time;
        // The end of the current run, if it ended: the job's end once it is
        // the last run's (or once an earlier run ends for good, its stop
        // waiting for an event that may never come).
        let mut final_state = None;
        // When the current run's end was found.
        let mut ended_at: Option<Duration> = None;
        let mut run = self.run;
        let (mut steps, mut next_poll): (u64, u64) = (0, 0);
        // How much of the trace has been searched for the job's end: each
        // step searches only what it added (the whole trace every step was
        // quadratic in a run's length).
        let mut searched = 0;
        // Whether the last step ran no host.
        let mut idle = false;
        while self.sim.elapsed() < end {
            let at = self.sim.elapsed();
            if steps == next_poll {
                next_poll += STOP_POLL_STEPS;
                if stop() {
                    return Err(SimError::Stopped { at, steps });
                }
            }
            steps += 1;
            let applied = panics::catch(Phase::Faults, at, || {
                self.apply_due(&mut plan)?;
                self.lose_messages();
                Ok(())
            });
            self.settle(applied, at)?;
            if self.run != run {
                // A resume: the job runs again, whatever the run before did.
                run = self.run;
                final_state = None;
                ended_at = None;
                end = scenario.max_sim_time;
            }
            // After a step in which no host ran, skip at once the steps in
            // which none would (turmoil's `skip_idle_steps`, a flinch patch:
            // vendor/turmoil/PATCHES.md), up to the next moment this loop
            // does something between steps: a fault or heal due, a stop
            // poll, the end. Not while messages are being lost: each step
            // draws its losses.
            if idle && self.losses.is_empty() && self.blips.is_empty() {
                let max = self.quiet_steps(&plan, at, end, next_poll + 1 - steps);
                let skipped = self.sim.skip_idle_steps(max);
                if skipped > 0 {
                    steps += skipped - 1;
                    continue;
                }
            }
            let ran = self.sim.host_steps().run;
            let stepped = panics::catch(Phase::Hosts, at, || {
                self.sim.step().map_err(|e| {
                    format!(
                        "a host returned an error, or turmoil refused the step, at {:.3} s of \
                         simulated time: {e}",
                        at.as_secs_f64()
                    )
                })
            });
            self.settle(stepped, at)?;
            idle = self.sim.host_steps().run == ran;
            if final_state.is_none() {
                let trace = self.trace.borrow();
                searched = searched.max(self.run_from);
                final_state = last_final_state(&trace[searched..]);
                searched = trace.len();
                drop(trace);
                if final_state.is_some() {
                    ended_at = Some(self.sim.elapsed());
                }
            }
            // A stop-with-savepoint's resume comes once the run has ended.
            if ended_at.is_some() {
                let now = self.sim.elapsed();
                for p in plan.iter_mut() {
                    if let Wait::RunEnd { after } = p.wait {
                        (p.at, p.wait) = (now + after, Wait::Time);
                    }
                }
            }
            // The last run's end ends the lifecycle; an earlier run's only
            // while its stop still waits for an event, which may never come
            // now (a stop at a time, or one whose event came, and the resume
            // after it, come anyway: checked each step, as the event may
            // come with the end or after it).
            if let Some(t) = ended_at {
                let waits = plan.iter().any(|p| {
                    matches!(p.action, Action::Stop(step) if step == run)
                        && matches!(p.wait, Wait::Event { .. })
                });
                end = if run + 1 == lifecycle::run_count(&self.steps) || waits {
                    scenario.max_sim_time.min(t + GRACE)
                } else {
                    scenario.max_sim_time
                };
            }
        }
        // An `io_errors` window the run's end cut short is judged on what
        // it met until then.
        let open: Vec<usize> = self.aimed_io_errors.keys().copied().collect();
        for index in open {
            self.judge_aimed_io_errors(index);
        }
        Ok(Ran {
            fired_at: self.started.clone(),
            without_effect: self.without_effect.clone(),
            final_state,
        })
    }

    /// How many steps, from the one starting at `at`, the step loop may
    /// skip at once, at most `polls` (the steps to the next stop poll,
    /// this one included): up to, not including, the first step that
    /// starts when an action of the plan is due or at `end`. An action
    /// waiting for an event or for another fault is not due before some
    /// step runs.
    fn quiet_steps(&self, plan: &[Pending], at: Duration, end: Duration, polls: u64) -> u64 {
        let next = plan
            .iter()
            .filter(|p| matches!(p.wait, Wait::Time))
            .map(|p| p.at)
            .fold(end, Duration::min);
        // Steps j = 1..k-1 start at `at + j * TICK`, each before `next`.
        let room = next
            .saturating_sub(at)
            .saturating_sub(Duration::from_nanos(1));
        let steps = u64::try_from(room.as_nanos() / TICK.as_nanos()).unwrap_or(u64::MAX);
        steps.saturating_add(1).min(polls)
    }

    /// What a caught part of the run gave, or how it broke the run at `at`.
    fn settle<T>(
        &self,
        caught: Result<Result<T, String>, Panic>,
        at: Duration,
    ) -> Result<T, SimError> {
        let breakage = match caught {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(message)) => Breakage::Error(message),
            Err(panic) => Breakage::Panic(panic),
        };
        Err(broken(breakage, at, self.trace.borrow().clone()))
    }

    fn build(scenario: &Scenario, seed: u64, job: Rc<Job>) -> Self {
        let config = Rc::new(scenario.config.clone());
        let trace: Trace = Rc::default();
        // Clocks are kept per thread; a thread runs one simulation at a time.
        clock::reset();
        let sim = turmoil::Builder::new()
            .rng_seed(seed)
            .epoch(SystemTime::UNIX_EPOCH + Duration::from_secs(SIM_EPOCH_SECS))
            .tick_duration(TICK)
            .min_message_latency(LATENCY_MIN)
            .max_message_latency(LATENCY_MAX)
            .simulation_duration(scenario.max_sim_time + GRACE + Duration::from_secs(1))
            .tcp_capacity(lifecycle_tcp_capacity(scenario))
            .ephemeral_ports(EPHEMERAL_PORTS)
            .skip_idle_hosts(skip_idle_hosts())
            .build();
        let mut world = World {
            sim,
            trace: trace.clone(),
            snapshots: Rc::default(),
            hosts: BTreeMap::new(),
            seen: 0,
            started: Vec::new(),
            ended: Vec::new(),
            without_effect: Vec::new(),
            aimed_io_errors: BTreeMap::new(),
            crashed_while_stopped: BTreeSet::new(),
            cuts: BTreeMap::new(),
            holds: BTreeMap::new(),
            losses: BTreeMap::new(),
            next_loss: 0,
            pauses: BTreeMap::new(),
            drifts: BTreeMap::new(),
            next_pause: 0,
            next_drift: 0,
            blips: Vec::new(),
            loss_rng: SmallRng::seed_from_u64(seed ^ LOSS_SEED),
            steps: scenario.lifecycle.clone(),
            savepoints: scenario.savepoints.clone(),
            first: scenario.config.clone(),
            stop_rng: SmallRng::seed_from_u64(seed ^ STOP_SEED),
            jobmanagers: Vec::new(),
            taskmanagers: Vec::new(),
            run: 0,
            run_from: 0,
            stopped: BTreeSet::new(),
            commands: None,
        };
        let mut observer = observer(trace);
        if !scenario.job.is_keyed_count() {
            // Other jobs' consistent-cut check reads the state itself.
            let snapshots = world.snapshots.clone();
            observer = observer.with_state_tap(move |tap: StateTap| {
                let at = (tap.epoch, tap.checkpoint, tap.task);
                snapshots.borrow_mut().insert(at, tap.operator);
            });
        }
        let ctx = |name: &str| {
            HostContext::new(config.clone(), job.clone(), seed, observer.clone(), name)
        };
        world.host(ctx(addr::LOG), hosts::log::run);
        for store in addr::stores(config.topology.store_replicas) {
            world.host(ctx(&store), hosts::store::run);
        }
        world.host(ctx(addr::SINK), hosts::sink::run);
        for jobmanager in addr::jobmanagers(config.topology.jobmanagers) {
            world.host(ctx(&jobmanager), hosts::jobmanager::run);
            world.jobmanagers.push(jobmanager);
        }
        if config.topology.jobmanagers > 1 {
            world.host(ctx(addr::HA), hosts::ha::run);
        }
        // Every run's taskmanagers; one a run does not use sits idle.
        let widest = lifecycle::widest_of(&config.topology, &scenario.lifecycle);
        for i in 0..widest.taskmanagers {
            let name = addr::taskmanager(i);
            world.host(ctx(&name), move |ctx| async move {
                if i < ctx.config.topology.taskmanagers {
                    hosts::taskmanager::run(ctx, i).await
                } else {
                    std::future::pending().await
                }
            });
            world.taskmanagers.push(name);
        }
        let mut steps = scenario.lifecycle.iter();
        if steps.any(|s| s.stop.with == StopWith::Savepoint) || !scenario.savepoints.is_empty() {
            // Idle until given a command; a restart sends each command not
            // yet done again.
            let commands = hosts::client::Commands::default();
            let given = commands.clone();
            world.host(ctx(addr::CLIENT), move |ctx| {
                hosts::client::run(ctx, given.clone())
            });
            world.commands = Some(commands);
        }
        world
    }

    /// Register a host whose software is `main(ctx)`, run anew on every restart.
    fn host<F, Fut>(&mut self, ctx: HostContext, main: F)
    where
        F: Fn(HostContext) -> Fut + 'static,
        Fut: Future<Output = HostResult> + 'static,
    {
        let name = ctx.name.to_string();
        let fs: Rc<RefCell<Option<FsHandle>>> = Rc::default();
        let slot = Rc::new(RefCell::new(ctx.clone()));
        self.hosts.insert(
            name.clone(),
            HostHandles {
                disk: ctx.disk.clone(),
                fs: fs.clone(),
                slot: slot.clone(),
            },
        );
        self.sim.host(name, move || {
            let ctx = slot.borrow().clone();
            ctx.count_start();
            let software = main(ctx);
            let fs = fs.clone();
            async move {
                // Inside the future: turmoil sets the current host only while polling.
                fs.borrow_mut().get_or_insert_with(FsHandle::current);
                software.await
            }
        });
    }

    fn others(&self, host: &str) -> Vec<String> {
        self.hosts.keys().filter(|h| *h != host).cloned().collect()
    }

    fn peers(&self, host: &str, peer: &str) -> Vec<String> {
        if peer == ALL_PEERS {
            self.others(host)
        } else {
            vec![peer.to_string()]
        }
    }

    fn record(&self, host: &str, what: FaultEvent) {
        let at = self.sim.elapsed();
        self.trace.borrow_mut().push(TraceEvent {
            at,
            host: host.to_string(),
            what: What::Fault(what),
        });
    }

    /// Apply every action that is due, in plan order. An event trigger
    /// that matched becomes due at the event's time plus its delay; a fault
    /// trigger at its anchor's edge plus its delay, so a dependent with no
    /// delay lands in the same tick as its anchor's edge, right after it.
    fn apply_due(&mut self, plan: &mut Vec<Pending>) -> Result<(), String> {
        let now = self.sim.elapsed();
        {
            // Read in place: the actions below append to the trace, so the
            // borrow ends first.
            let trace = self.trace.borrow();
            let fresh = &trace[self.seen..];
            for p in plan.iter_mut() {
                if let Wait::Event { trigger, count } = &mut p.wait {
                    for e in fresh
                        .iter()
                        .filter(|e| e.at >= p.at && is_match(trigger, e))
                    {
                        *count += 1;
                        if *count == trigger.occurrence {
                            p.at = e.at + trigger.delay;
                            p.wait = Wait::Time;
                            break;
                        }
                    }
                }
            }
        }
        // Each pass applies at least one action or ends; a fault fires at
        // most once and heals once, so the passes are bounded by the plan.
        loop {
            for p in plan.iter_mut() {
                if let Wait::Fault {
                    anchor,
                    edge,
                    delay,
                } = p.wait
                {
                    let edges = match edge {
                        Edge::Start => &self.started,
                        Edge::End => &self.ended,
                    };
                    if let Some(t) = anchor.and_then(|a| edges[a]) {
                        p.at = t + delay;
                        p.wait = Wait::Time;
                    }
                }
            }
            let mut due = Vec::new();
            plan.retain(|p| {
                let ready = matches!(p.wait, Wait::Time) && p.at <= now;
                if ready {
                    due.push(p.clone());
                }
                !ready
            });
            if due.is_empty() {
                break;
            }
            // A lifecycle's stop or resume first: a fault due at the same
            // tick then meets the cluster it leaves.
            due.sort_by_key(|p| !matches!(p.action, Action::Stop(_) | Action::Resume(_)));
            for p in due {
                if let Some(index) = p.fault {
                    self.started[index] = Some(now);
                    if matches!(
                        p.action,
                        Action::Fault(FaultKind::Restart | FaultKind::BitRot { .. })
                    ) {
                        self.ended[index] = Some(now);
                    }
                }
                if let Some(index) = p.ends {
                    self.ended[index] = Some(now);
                    self.judge_aimed_io_errors(index);
                }
                // A crash_restart's restart (a lifecycle step's host is
                // no simulated host: asked only of a restart's).
                let restart = matches!(p.action, Action::Heal(Heal::Restart));
                let was_down = restart && !self.sim.is_host_running(p.host.as_str());
                if let Some(mut heal) = self.apply(&p.host, &p.action, p.fault)? {
                    heal.ends = p.fault;
                    plan.push(heal);
                }
                if let Some(index) = p.ends.filter(|_| restart) {
                    let started = was_down && self.sim.is_host_running(p.host.as_str());
                    if self.crashed_while_stopped.remove(&index) && !started {
                        let why = "stopped with the job until its resume, and its restart \
                                   started nothing (the job was still stopped, or the resume \
                                   had started the host)";
                        let host = &p.host;
                        self.did_nothing(Some(index), format!("{host} was already down, {why}"));
                    }
                }
            }
        }
        // Faults recorded above are in the trace but never trigger events.
        self.seen = self.trace.borrow().len();
        Ok(())
    }

    /// Repair last tick's message-loss blips, then draw this tick's: each
    /// link of each loss in force is cut for one tick with its rate.
    fn lose_messages(&mut self) {
        for (from, to) in std::mem::take(&mut self.blips) {
            self.uncut(&from, &to);
        }
        let mut blips = Vec::new();
        for loss in self.losses.values() {
            for peer in &loss.peers {
                // Drawn for every link, held or not, so a stall never
                // shifts the draws of other links.
                let lost = self.loss_rng.gen_bool(loss.rate);
                // A held link delivers nothing until its release, so there
                // is nothing in flight to lose, and cutting it would drop
                // what the stall holds (and repairing it would end the
                // stall early).
                if lost && !self.holds.contains_key(&link_pair(&loss.host, peer)) {
                    blips.push((loss.host.clone(), peer.clone()));
                    blips.push((peer.clone(), loss.host.clone()));
                }
            }
        }
        for (from, to) in &blips {
            self.cut(from, to);
        }
        self.blips = blips;
    }

    /// Hold one more reason to cut `from` -> `to`; cut it if it was whole
    /// (dropping what `from` has in flight on it).
    fn cut(&mut self, from: &str, to: &str) {
        let count = self.cuts.entry((from.into(), to.into())).or_default();
        *count += 1;
        if *count == 1 {
            self.sim.partition_oneway(from, to);
        }
    }

    /// Let go of one reason to cut `from` -> `to`; repair it when none is
    /// left, and hold it again if a stall still holds it (turmoil's repair
    /// makes a link whole, ending its hold).
    fn uncut(&mut self, from: &str, to: &str) {
        let key = (from.to_owned(), to.to_owned());
        let Some(count) = self.cuts.get_mut(&key) else {
            return;
        };
        *count = count.saturating_sub(1);
        if *count == 0 {
            self.cuts.remove(&key);
            self.sim.repair_oneway(from, to);
            if self.holds.contains_key(&link_pair(from, to)) {
                self.sim.hold(from, to);
            }
        }
    }

    /// Cut again the directions of the link between `host` and `peer` (one
    /// host) that are still held cut: turmoil's hold and release both set
    /// the whole link's state, so they would end a cut.
    fn recut(&mut self, host: &str, peer: &str) {
        for (from, to) in [(host, peer), (peer, host)] {
            if self.cuts.contains_key(&(from.to_owned(), to.to_owned())) {
                self.sim.partition_oneway(from, to);
            }
        }
    }

    /// Judge the `io_errors` fault `index` with a `path`, now that it ends
    /// (or the run does): if no disk operation under its path came while
    /// it was in force, it did nothing. Nothing for any other fault.
    fn judge_aimed_io_errors(&mut self, index: usize) {
        let Some((host, path)) = self.aimed_io_errors.remove(&index) else {
            return;
        };
        let mut aimed = 0;
        self.disk(&host).faults(|f| aimed = f.io_error_aimed);
        if aimed == 0 {
            self.did_nothing(
                Some(index),
                format!(
                    "no operation on {host}'s disk was on a path starting with {path:?} while it \
                     lasted"
                ),
            );
        }
    }

    /// Record that fault `fault` (its index in the plan, if the action is
    /// a fault's start) fired and did nothing, and why.
    fn did_nothing(&mut self, fault: Option<usize>, why: String) {
        if let Some(slot) = fault.and_then(|index| self.without_effect.get_mut(index)) {
            *slot = Some(why);
        }
    }

    /// Apply one action; returns the action that ends it, if it lasts.
    /// `fault`: the action's index in the plan, when it is a fault's start.
    fn apply(
        &mut self,
        host: &str,
        action: &Action,
        fault: Option<usize>,
    ) -> Result<Option<Pending>, String> {
        let now = self.sim.elapsed();
        let later = |after: Duration, heal: Heal| Some(Pending::heal(host, now + after, heal));
        Ok(match action {
            Action::Stop(step) => self.stop_job(*step),
            Action::Savepoint(n) => {
                let request = lifecycle::savepoint_request(*n);
                self.record(
                    lifecycle::CLIENT,
                    FaultEvent::SavepointRequested {
                        n: *n as u32,
                        request,
                    },
                );
                let run = self.run as u32;
                self.command(hosts::client::Command::TriggerSavepoint { run, request });
                None
            }
            Action::Resume(step) => self.resume_job(*step)?,
            Action::Fault(kind) => match kind {
                FaultKind::Crash => {
                    if self.stopped.contains(host) {
                        let why = "stopped with the job until its resume";
                        self.did_nothing(fault, format!("{host} was already down, {why}"));
                    } else if !self.sim.is_host_running(host) {
                        self.did_nothing(fault, format!("{host} was already down"));
                    }
                    self.crash(host);
                    None
                }
                FaultKind::Restart => {
                    if self.stopped.contains(host) {
                        self.did_nothing(
                            fault,
                            format!("{host} was stopped with the job, until its resume"),
                        );
                    } else if self.sim.is_host_running(host) {
                        self.did_nothing(
                            fault,
                            format!(
                                "{host} was up: nothing had taken it down since it last started"
                            ),
                        );
                    }
                    self.restart(host);
                    None
                }
                FaultKind::CrashRestart { after } => {
                    // Judged at its restart (above, `crashed_while_stopped`).
                    if let Some(index) = fault.filter(|_| self.stopped.contains(host)) {
                        self.crashed_while_stopped.insert(index);
                    }
                    self.crash(host);
                    later(*after, Heal::Restart)
                }
                FaultKind::DiskLoss { after } => {
                    self.crash(host);
                    self.wipe(host)?;
                    later(*after, Heal::Restart)
                }
                FaultKind::Partition {
                    peer,
                    oneway,
                    duration,
                } => {
                    for p in self.peers(host, peer) {
                        self.cut(host, &p);
                        if !*oneway {
                            self.cut(&p, host);
                        }
                    }
                    self.record(
                        host,
                        FaultEvent::Partition {
                            peer: peer.clone(),
                            oneway: *oneway,
                        },
                    );
                    later(
                        *duration,
                        Heal::Repair {
                            peer: peer.clone(),
                            oneway: *oneway,
                        },
                    )
                }
                FaultKind::Stall { peer, duration } => {
                    for p in self.peers(host, peer) {
                        let held = self.holds.entry(link_pair(host, &p)).or_default();
                        *held += 1;
                        if *held == 1 {
                            self.sim.hold(host, p.as_str());
                            // A link a partition or loss holds cut stays
                            // cut; its repair holds it (see `uncut`).
                            self.recut(host, &p);
                        }
                    }
                    self.record(host, FaultEvent::Stall { peer: peer.clone() });
                    later(*duration, Heal::Release { peer: peer.clone() })
                }
                FaultKind::Latency {
                    peer,
                    min,
                    max,
                    duration,
                } => {
                    self.set_latency(host, peer, *min, *max);
                    self.record(
                        host,
                        FaultEvent::Latency {
                            peer: peer.clone(),
                            min_ms: min.as_millis() as u64,
                            max_ms: max.as_millis() as u64,
                        },
                    );
                    later(*duration, Heal::Latency { peer: peer.clone() })
                }
                FaultKind::MessageLoss {
                    peer,
                    rate,
                    duration,
                } => {
                    let number = self.next_loss;
                    self.next_loss += 1;
                    let loss = Loss {
                        host: host.to_owned(),
                        peers: self.peers(host, peer),
                        rate: *rate,
                    };
                    self.losses.insert(number, loss);
                    self.record(
                        host,
                        FaultEvent::MessageLoss {
                            peer: peer.clone(),
                            rate: rate.to_string(),
                        },
                    );
                    later(*duration, Heal::Loss { number })
                }
                FaultKind::IoErrors {
                    probability,
                    duration,
                    path,
                } => {
                    self.disk(host).faults(|f| {
                        f.io_error_probability = *probability;
                        f.io_error_path = path.clone();
                        f.io_error_aimed = 0;
                    });
                    // Only one with a path is judged on what it met:
                    // the nemesis draws none, and one on every path
                    // meets what the host does, which may rightly be
                    // nothing.
                    if let (Some(path), Some(index)) = (path, fault) {
                        (self.aimed_io_errors).insert(index, (host.to_owned(), path.clone()));
                    }
                    self.record(
                        host,
                        FaultEvent::IoErrors {
                            probability: probability.to_string(),
                            path: path.clone(),
                        },
                    );
                    later(*duration, Heal::Disk)
                }
                FaultKind::ReadCorruption {
                    probability,
                    duration,
                } => {
                    self.disk(host)
                        .faults(|f| f.corruption_probability = *probability);
                    self.record(
                        host,
                        FaultEvent::ReadCorruption {
                            probability: probability.to_string(),
                        },
                    );
                    later(*duration, Heal::Disk)
                }
                FaultKind::ClockDrift { drift, duration } => {
                    // The newest drift sets the rate, over any older one
                    // still in force (which runs the clock again when this
                    // one ends: see `drifts`).
                    let number = self.next_drift;
                    self.next_drift += 1;
                    let ip = self.sim.lookup(host);
                    clock::set_drift(ip, now, *drift);
                    (self.drifts.entry(host.to_owned()).or_default()).push((number, *drift));
                    self.record(
                        host,
                        FaultEvent::ClockDrift {
                            drift: drift.to_string(),
                        },
                    );
                    later(*duration, Heal::Clock { number })
                }
                FaultKind::Pause { duration } => {
                    let number = self.next_pause;
                    self.next_pause += 1;
                    // Pausing a crashed host does nothing (and is not
                    // traced); its end still comes, for faults waiting on it.
                    // A host another pause holds stays paused until this
                    // one ends too (see `pauses`): traced, as it holds it.
                    if self.sim.is_host_running(host) {
                        if !self.sim.is_host_paused(host) {
                            self.sim.pause(host);
                        }
                        (self.pauses.entry(host.to_owned()).or_default()).insert(number);
                        self.record(host, FaultEvent::Pause);
                    } else {
                        self.did_nothing(fault, format!("{host} was down"));
                    }
                    later(*duration, Heal::Resume { number })
                }
                FaultKind::BitRot { path } => {
                    let file = self.rot(host, path)?;
                    if file.is_none() {
                        self.did_nothing(
                            fault,
                            format!(
                                "no non-empty file on {host}'s disk had a path starting with \
                                 {path:?}"
                            ),
                        );
                    }
                    self.record(
                        host,
                        FaultEvent::BitRot {
                            path: path.clone(),
                            file,
                        },
                    );
                    None
                }
                FaultKind::DiskFull { capacity, duration } => {
                    self.disk(host).faults(|f| f.capacity = Some(*capacity));
                    self.record(
                        host,
                        FaultEvent::DiskFull {
                            capacity: *capacity,
                        },
                    );
                    later(*duration, Heal::Disk)
                }
            },
            Action::Heal(heal) => {
                self.heal(host, heal);
                None
            }
        })
    }

    fn heal(&mut self, host: &str, heal: &Heal) {
        match heal {
            Heal::Restart => self.restart(host),
            Heal::Clock { number } => {
                // This drift ends; the newest of the others still in
                // force, if any, sets the rate from now on (the same one
                // when this was not the newest).
                let drifts = self.drifts.entry(host.to_owned()).or_default();
                drifts.retain(|(n, _)| n != number);
                let left = drifts.last().map(|&(_, drift)| drift);
                if drifts.is_empty() {
                    self.drifts.remove(host);
                }
                let ip = self.sim.lookup(host);
                let now = self.sim.elapsed();
                clock::set_drift(ip, now, left.unwrap_or(0.0));
                let local = clock::host_time(ip, now);
                let offset_ms = local.as_millis() as i64 - now.as_millis() as i64;
                self.record(
                    host,
                    FaultEvent::ClockDriftEnded {
                        offset_ms,
                        drift: left.map(|d| d.to_string()),
                    },
                );
            }
            Heal::Resume { number } => {
                // The host resumes when the last pause holding it ends; a
                // crash meanwhile ended them all (`forget_pauses`).
                let Some(pauses) = self.pauses.get_mut(host) else {
                    return;
                };
                if !pauses.remove(number) || !pauses.is_empty() {
                    return;
                }
                self.pauses.remove(host);
                if self.sim.is_host_paused(host) {
                    self.sim.resume(host);
                    self.record(host, FaultEvent::Resume);
                }
            }
            Heal::Repair { peer, oneway } => {
                for p in self.peers(host, peer) {
                    self.uncut(host, &p);
                    if !*oneway {
                        self.uncut(&p, host);
                    }
                }
                self.record(host, FaultEvent::Repair { peer: peer.clone() });
            }
            Heal::Release { peer } => {
                for p in self.peers(host, peer) {
                    let pair = link_pair(host, &p);
                    let Some(held) = self.holds.get_mut(&pair) else {
                        continue;
                    };
                    *held = held.saturating_sub(1);
                    if *held == 0 {
                        self.holds.remove(&pair);
                        self.sim.release(host, p.as_str());
                        self.recut(host, &p);
                    }
                }
                self.record(host, FaultEvent::Release { peer: peer.clone() });
            }
            Heal::Latency { peer } => {
                self.set_latency(host, peer, LATENCY_MIN, LATENCY_MAX);
                self.record(host, FaultEvent::LatencyRestored { peer: peer.clone() });
            }
            Heal::Loss { number } => {
                self.losses.remove(number);
                self.record(host, FaultEvent::MessageLossEnded);
            }
            Heal::Disk => {
                self.disk(host).faults(|f| {
                    f.io_error_probability = 0.0;
                    f.io_error_path = None;
                    f.corruption_probability = 0.0;
                    f.capacity = None;
                });
                self.record(host, FaultEvent::DiskHealed);
            }
        }
    }

    /// Messages between `host` and `peer` (`*`: every other host) take
    /// from `min` (the simulation's [`LATENCY_MIN`] when lower) to `max`.
    /// Floor and ceiling are set together, the last fault to start or heal
    /// on a link deciding both: a floor left above a lower ceiling would
    /// make turmoil's draw (`max - min`) overflow. Setting them draws no
    /// random number, so a plan without floors draws the same latencies as
    /// before floors existed.
    fn set_latency(&self, host: &str, peer: &str, min: Duration, max: Duration) {
        let min = min.max(LATENCY_MIN);
        for p in self.peers(host, peer) {
            // Sets the floor and the ceiling alike; the ceiling follows.
            self.sim.set_link_latency(host, p.as_str(), min);
            self.sim
                .set_link_max_message_latency(host, p.as_str(), max.max(min));
        }
    }

    /// The pending stop of lifecycle step `step`, whose run started now:
    /// due `at` (plus its jitter's draw) from now, or, waiting for an
    /// event, counting events from then. `None` past the last step.
    fn next_stop(&mut self, step: usize) -> Option<Pending> {
        let stop = self.steps.get(step)?.stop.clone();
        let jitter = stop.jitter.as_millis().max(1) as u64;
        let draw = Duration::from_millis(self.stop_rng.gen_range(0..jitter));
        Some(Pending {
            host: lifecycle::CLIENT.to_string(),
            action: Action::Stop(step),
            at: self.sim.elapsed() + stop.at + draw,
            wait: match stop.on {
                Some(trigger) => Wait::Event { trigger, count: 0 },
                None => Wait::Time,
            },
            fault: None,
            ends: None,
        })
    }

    /// Give the `client` host `command`, beside those it is still at (the
    /// jobmanager refuses a second request while one is under way, and the
    /// client asks again). A client a fault took down works at it when it
    /// restarts.
    fn command(&mut self, command: hosts::client::Command) {
        let commands =
            (self.commands.as_ref()).expect("a simulation with savepoints has a client host");
        // At most MAX_STEPS stops and MAX_SAVEPOINTS savepoints are given.
        const _: () = assert!(
            lifecycle::MAX_STEPS + lifecycle::MAX_SAVEPOINTS <= hosts::client::MAX_COMMANDS
        );
        commands
            .give(command)
            .expect("a scenario gives the client fewer than MAX_COMMANDS commands");
    }

    /// The pending requests of the scenario's plain savepoints, due `at`
    /// (plus its jitter's draw, [`resolve_savepoint_jitter`]) or on their
    /// event.
    fn savepoint_requests(&self, seed: u64) -> Vec<Pending> {
        (resolve_savepoint_jitter(&self.savepoints, seed)
            .iter()
            .enumerate())
        .map(|(n, s)| Pending {
            host: lifecycle::CLIENT.to_string(),
            action: Action::Savepoint(n),
            at: s.at,
            wait: match &s.on {
                Some(trigger) => Wait::Event {
                    trigger: trigger.clone(),
                    count: 0,
                },
                None => Wait::Time,
            },
            fault: None,
            ends: None,
        })
        .collect()
    }

    /// The cluster of run `run` (0: the first): every jobmanager and the
    /// taskmanagers it uses.
    fn cluster(&self, run: usize) -> Vec<String> {
        let config = lifecycle::run_config(&self.first, &self.steps, run);
        let used = config.topology.taskmanagers as usize;
        let taskmanagers = self.taskmanagers.iter().take(used);
        self.jobmanagers
            .iter()
            .chain(taskmanagers)
            .cloned()
            .collect()
    }

    /// Stop the job as lifecycle step `step` says: with `cancel`, its
    /// cluster goes away at once. Returns the pending resume.
    fn stop_job(&mut self, step: usize) -> Option<Pending> {
        let Step { stop, resume } = self.steps[step].clone();
        self.record(
            lifecycle::CLIENT,
            FaultEvent::JobStopped {
                run: step as u32 + 1,
                with: stop.with.name().to_string(),
            },
        );
        if stop.with == StopWith::Savepoint {
            // The client asks the jobmanager; the resume waits for the
            // run's end, however it ends (a drained stop has none: the job
            // ends for good).
            self.command(hosts::client::Command::StopWithSavepoint {
                run: step as u32,
                request: step as u64 + 1,
                drain: stop.drain,
            });
            return Some(Pending {
                host: lifecycle::CLIENT.to_string(),
                action: Action::Resume(step),
                at: self.sim.elapsed(),
                wait: Wait::RunEnd {
                    after: resume?.after,
                },
                fault: None,
                ends: None,
            });
        }
        let resume = resume.expect("only a drained stop, with a savepoint, has no resume");
        for host in self.cluster(step) {
            self.crash(&host);
            self.stopped.insert(host);
        }
        Some(Pending {
            host: lifecycle::CLIENT.to_string(),
            action: Action::Resume(step),
            at: self.sim.elapsed() + resume.after,
            wait: Wait::Time,
            fault: None,
            ends: None,
        })
    }

    /// Resume the job as lifecycle step `step` says, on a new cluster:
    /// every host the stopped run used stopped (a fault may have started
    /// one again meanwhile) with its disk emptied, and the hosts of the
    /// resumed run started with its configuration (a taskmanager the
    /// stopped run did not use was idle, with nothing on its disk). Returns
    /// the next step's pending stop, if any.
    fn resume_job(&mut self, step: usize) -> Result<Option<Pending>, String> {
        let resume =
            (self.steps[step].resume.clone()).expect("only a step with a resume schedules one");
        let run = step + 1;
        let config = Rc::new(lifecycle::run_config(&self.first, &self.steps, run));
        let stopped = self.cluster(step);
        for host in &stopped {
            self.crash(host);
            self.wipe(host)?;
        }
        for host in self.jobmanagers.iter().chain(&self.taskmanagers) {
            let slot = &self.hosts[host].slot;
            let next = slot.borrow().for_run(config.clone());
            *slot.borrow_mut() = next;
        }
        self.record(
            lifecycle::CLIENT,
            FaultEvent::JobResumed {
                run: run as u32 + 1,
                from: resume.from.name().to_string(),
                restore_mode: resume.restore_mode.name().to_string(),
                parallelism: resume.topology.parallelism,
                taskmanagers: resume.topology.taskmanagers,
            },
        );
        self.run = run;
        self.run_from = self.trace.borrow().len();
        self.stopped.clear();
        // The stopped run's commands are done with: a client still at one
        // hears from the new jobmanager that its run is over, and one that
        // restarts from now on sends none of them.
        if let Some(commands) = &self.commands {
            commands.retire_all();
        }
        for host in self.cluster(run) {
            if !stopped.contains(&host) {
                // Idle until now: its software starts over, untraced
                // (and no pause holds it any more).
                self.pauses.remove(&host);
                panics::within(Phase::Hosts, || self.sim.crash(host.as_str()));
            }
            self.restart(&host);
        }
        Ok(self.next_stop(run))
    }

    fn disk(&self, host: &str) -> Disk {
        self.hosts[host].disk.clone()
    }

    /// Crashing a crashed host does nothing (and is not traced). A crash
    /// drops the host's software, so its drop code runs here.
    fn crash(&mut self, host: &str) {
        if self.sim.is_host_running(host) {
            self.pauses.remove(host);
            panics::within(Phase::Hosts, || self.sim.crash(host));
            self.record(host, FaultEvent::Crash);
        }
    }

    /// Restarting a running host does nothing (and is not traced), nor does
    /// restarting one a lifecycle stop took down, until its resume. A
    /// restart drops what is left of the host's software and starts it anew.
    fn restart(&mut self, host: &str) {
        if self.stopped.contains(host) {
            // The job is stopped: its hosts stay down until the resume.
            return;
        }
        if !self.sim.is_host_running(host) {
            panics::within(Phase::Hosts, || self.sim.bounce(host));
            self.record(host, FaultEvent::Restart);
        }
    }

    /// Bit rot: change one byte of the last file under `path` on `host`'s
    /// disk, durably; the file's path, or `None` when nothing matched.
    fn rot(&mut self, host: &str, path: &str) -> Result<Option<String>, String> {
        let fs = self.hosts[host].fs.borrow();
        let Some(fs) = fs.as_ref() else {
            return Ok(None);
        };
        let _entered = fs.enter();
        disk::rot(path).map_err(|e| format!("bit rot on the disk of {host}: {e}"))
    }

    /// Empty a (crashed) host's disk, durably.
    fn wipe(&mut self, host: &str) -> Result<(), String> {
        if let Some(fs) = self.hosts[host].fs.borrow().as_ref() {
            let _entered = fs.enter();
            disk::wipe().map_err(|e| format!("wiping the disk of {host}: {e}"))?;
        }
        self.record(host, FaultEvent::DiskWiped);
        Ok(())
    }

    /// The checkpoints and savepoints whose metadata the store hosts' disks
    /// hold after the run, as (checkpoint id, epoch).
    fn read_stored_checkpoints(&self) -> Result<BTreeSet<(u64, u64)>, String> {
        let mut ids = BTreeSet::new();
        for store in addr::stores(self.first.topology.store_replicas) {
            let fs = self.hosts[&store].fs.borrow();
            let Some(fs) = fs.as_ref() else {
                continue;
            };
            let _entered = fs.enter();
            let stored = hosts::store::read_stored_checkpoints()
                .map_err(|e| format!("listing the checkpoints on {store}'s disk: {e}"))?;
            ids.extend(stored);
        }
        Ok(ids)
    }

    /// The sink's committed, pre-committed and timed-out transactions, as
    /// engine records.
    fn read_sink(&self) -> Result<SinkFiles, String> {
        let fs = self.hosts[addr::SINK].fs.borrow();
        let Some(fs) = fs.as_ref() else {
            return Ok(SinkFiles::default());
        };
        let _entered = fs.enter();
        let committed = hosts::sink::read_committed()
            .map_err(|e| format!("reading the sink's committed output: {e}"))?;
        let pending = hosts::sink::read_pending()
            .map_err(|e| format!("reading the sink's pending transactions: {e}"))?;
        let timed_out = hosts::sink::read_timed_out()
            .map_err(|e| format!("reading the sink's timed-out transactions: {e}"))?;
        Ok(SinkFiles {
            committed,
            pending,
            timed_out,
        })
    }
}

/// What the sink's disk holds after a run ([`World::read_sink`]).
#[derive(Default)]
struct SinkFiles {
    committed: Vec<(TxnId, Vec<Record>)>,
    pending: Vec<(TxnId, Vec<Record>)>,
    timed_out: Vec<(TxnId, Vec<Record>)>,
}

fn observer(trace: Trace) -> Observer {
    Observer::new(move |host, event| {
        let at = turmoil::sim_elapsed().unwrap_or_default();
        trace.borrow_mut().push(TraceEvent {
            at,
            host: host.to_string(),
            what: What::Engine(event),
        });
    })
}

/// Something the loop will do to a host: inject a fault, or end one.
#[derive(Debug, Clone)]
enum Action {
    Fault(FaultKind),
    Heal(Heal),
    /// Stop the job as lifecycle step `n` says.
    Stop(usize),
    /// Ask for plain savepoint `n` of the scenario's `[[savepoint]]`.
    Savepoint(usize),
    /// Resume the job as lifecycle step `n` says.
    Resume(usize),
}

/// How a fault that lasts ends.
#[derive(Debug, Clone)]
enum Heal {
    Restart,
    /// The pause of this number ([`World::pauses`]) ends: the host carries
    /// on, unless another pause still holds it.
    Resume {
        number: u64,
    },
    /// The clock drift of this number ([`World::drifts`]) ends: the clock
    /// runs at the right rate again, or at the newest other drift's.
    Clock {
        number: u64,
    },
    Repair {
        peer: String,
        oneway: bool,
    },
    Release {
        peer: String,
    },
    Latency {
        peer: String,
    },
    /// The message loss of this number ([`World::losses`]) ends.
    Loss {
        number: u64,
    },
    Disk,
}

/// An action that has not happened yet.
#[derive(Debug, Clone)]
struct Pending {
    host: String,
    action: Action,
    /// When it is due, once `wait` is [`Wait::Time`]; before that, for an
    /// event trigger, the time from which events count.
    at: Duration,
    wait: Wait,
    /// The plan's fault this comes from (heals have none).
    fault: Option<usize>,
    /// For a heal: the plan's fault whose end it is.
    ends: Option<usize>,
}

/// What a pending action waits for before its time counts.
#[derive(Debug, Clone)]
enum Wait {
    /// Nothing: it is due at `at`.
    Time,
    /// The `trigger.occurrence`-th matching event; `count` so far.
    Event { trigger: EventTrigger, count: u32 },
    /// An edge of the plan's fault `anchor` (`None`: no fault of the plan
    /// has the id, so it never fires), plus `delay`.
    Fault {
        anchor: Option<usize>,
        edge: Edge,
        delay: Duration,
    },
    /// The end (finished or failed) of the run on, plus `after`: a
    /// stop-with-savepoint's resume.
    RunEnd { after: Duration },
}

impl Pending {
    fn heal(host: &str, at: Duration, heal: Heal) -> Pending {
        Pending {
            host: host.to_string(),
            action: Action::Heal(heal),
            at,
            wait: Wait::Time,
            fault: None,
            ends: None,
        }
    }
}

/// The plan as pending actions, each fault's jitter resolved by the seed
/// and each fault trigger's id resolved to the fault it names.
fn expand(faults: &[Fault], seed: u64) -> Vec<Pending> {
    let index_of = |id: &str| faults.iter().position(|f| f.id.as_deref() == Some(id));
    let pending = |(index, f): (usize, Fault)| Pending {
        host: f.host,
        action: Action::Fault(f.kind),
        at: f.at,
        wait: match f.on {
            None => Wait::Time,
            Some(Trigger::Event(trigger)) => Wait::Event { trigger, count: 0 },
            Some(Trigger::Fault(t)) => Wait::Fault {
                anchor: index_of(&t.fault),
                edge: t.edge,
                delay: t.delay,
            },
        },
        fault: Some(index),
        ends: None,
    };
    resolve_jitter(faults, seed)
        .into_iter()
        .enumerate()
        .map(pending)
        .collect()
}

/// The plan with each fault's jitter resolved by the seed: `at` becomes the
/// time drawn from `[at, at + jitter)` (whole milliseconds) and `jitter`
/// zero; a trigger's draw (an event's or a fault's) is added to its
/// `delay` instead, so the fault fires that much later after the event or
/// edge (its `at`, when events start to count, stays). One draw
/// per fault in plan order, from an RNG of its own, so the plan never
/// shifts turmoil's choices. A resolved plan runs exactly as the plan it
/// came from (a fault without jitter always draws 0), which is what lets
/// shrinking remove faults without moving the others.
pub fn resolve_jitter(faults: &[Fault], seed: u64) -> Vec<Fault> {
    let mut rng = SmallRng::seed_from_u64(seed ^ 0xfa17_7157);
    let mut resolve = |f: &Fault| {
        let draw = Duration::from_millis(rng.gen_range(0..f.jitter.as_millis().max(1) as u64));
        let mut resolved = Fault {
            jitter: Duration::ZERO,
            ..f.clone()
        };
        match &mut resolved.on {
            Some(Trigger::Fault(t)) => t.delay += draw,
            Some(Trigger::Event(t)) => t.delay += draw,
            None => resolved.at += draw,
        }
        resolved
    };
    faults.iter().map(&mut resolve).collect()
}

/// The scenario's plain savepoints with each one's jitter resolved by the
/// seed, as [`resolve_jitter`] resolves the faults': `at` becomes the time
/// drawn from `[at, at + jitter)` (whole milliseconds), or with `on` the
/// draw is added to the trigger's `delay` (`at`, when events start to
/// count, stays), and `jitter` zero. One draw per savepoint in
/// order, from an RNG of their own ([`SAVEPOINT_SEED`]); resolved, they run
/// exactly as before, which lets shrinking remove one without moving the
/// others.
pub fn resolve_savepoint_jitter(
    savepoints: &[lifecycle::Savepoint],
    seed: u64,
) -> Vec<lifecycle::Savepoint> {
    let mut rng = SmallRng::seed_from_u64(seed ^ SAVEPOINT_SEED);
    (savepoints.iter())
        .map(|s| {
            let jitter = s.jitter.as_millis().max(1) as u64;
            let draw = Duration::from_millis(rng.gen_range(0..jitter));
            let mut resolved = lifecycle::Savepoint {
                jitter: Duration::ZERO,
                ..s.clone()
            };
            match &mut resolved.on {
                Some(on) => on.delay += draw,
                None => resolved.at += draw,
            }
            resolved
        })
        .collect()
}

/// A link between two hosts regardless of direction (a stall holds both).
fn link_pair(a: &str, b: &str) -> (String, String) {
    if a <= b {
        (a.to_owned(), b.to_owned())
    } else {
        (b.to_owned(), a.to_owned())
    }
}

fn is_match(trigger: &EventTrigger, e: &TraceEvent) -> bool {
    matches!(&e.what, What::Engine(event) if trigger.matches(&e.host, event))
}

fn last_final_state(trace: &[TraceEvent]) -> Option<JobState> {
    trace.iter().rev().find_map(|e| match &e.what {
        What::Engine(Event::JobState(s @ (JobState::Finished | JobState::Failed { .. }))) => {
            Some(s.clone())
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::trace_hash;
    use flinch_engine::probe::Probe;
    use std::cell::Cell;

    fn taskmanager_crash() -> Scenario {
        crate::scenario::load("taskmanager-crash").expect("built-in scenarios load")
    }

    #[test]
    fn ticking_idle_hosts_is_undone_after_the_closure_even_if_it_panics() {
        assert!(skip_idle_hosts());
        assert!(!tick_idle_hosts(skip_idle_hosts));
        assert!(skip_idle_hosts());
        let panicked = std::panic::catch_unwind(|| tick_idle_hosts(|| panic!("a failing test")));
        assert!(panicked.is_err());
        assert!(skip_idle_hosts(), "restored after the panic");
    }

    /// The jobmanager waits through the ticks at which it would do nothing
    /// (`JobManager::idle_wait`): the run is the one it makes looking at
    /// its timers every tick, trace hash for trace hash, with fewer host
    /// steps run. A jobmanager whose clock the plan makes drift, or that
    /// the plan pauses (cut off from everyone, so that no message sets its
    /// rhythm again: a run a review found to differ before pauses were
    /// declared), keeps ticking: its run is the same either way too, and so
    /// are its steps.
    #[test]
    fn a_jobmanager_that_skips_its_idle_ticks_runs_as_one_that_ticks() {
        let s = taskmanager_crash();
        let fault = |kind, at| Fault {
            id: None,
            kind,
            host: flinch_engine::io::addr::JOBMANAGER.to_string(),
            at: Duration::from_millis(at),
            jitter: Duration::ZERO,
            on: None,
        };
        let drift = [fault(
            FaultKind::ClockDrift {
                drift: 0.25,
                duration: Duration::from_millis(400),
            },
            700,
        )];
        let cut_off_and_paused = [
            fault(
                FaultKind::Partition {
                    peer: "*".to_string(),
                    oneway: false,
                    duration: Duration::from_millis(2000),
                },
                500,
            ),
            fault(
                FaultKind::Pause {
                    duration: Duration::from_millis(14),
                },
                760,
            ),
        ];
        for seed in 0..3 {
            for (extra, skips) in [
                (&[][..], true),
                (&drift, false),
                (&cut_off_and_paused, false),
            ] {
                let mut plan = s.plan(seed);
                plan.extend(extra.iter().cloned());
                let skipping = simulate_plan(&s, seed, &plan).expect("simulates");
                let before = jobmanager::set_skip_idle_ticks(false);
                let ticking = simulate_plan(&s, seed, &plan);
                jobmanager::set_skip_idle_ticks(before);
                let ticking = ticking.expect("simulates");
                let (skipped, ticked) = (skipping.host_steps.run, ticking.host_steps.run);
                let case = format!("seed {seed}, {} more faults", extra.len());
                assert_eq!(
                    trace_hash(&skipping.trace),
                    trace_hash(&ticking.trace),
                    "{case}"
                );
                assert_eq!(skipping.committed, ticking.committed, "{case}");
                assert_eq!(
                    skipped < ticked,
                    skips,
                    "{case}: {skipped} and {ticked} steps"
                );
            }
        }
    }

    #[test]
    fn a_hook_that_never_stops_leaves_the_run_as_it_was() {
        let s = taskmanager_crash();
        let plan = s.plan(3);
        let plain = simulate_plan(&s, 3, &plan).expect("simulates");
        let asked = Cell::new(0_u64);
        let hooked = simulate_plan_until(&s, 3, &plan, &|| {
            asked.set(asked.get() + 1);
            false
        })
        .expect("simulates");
        assert_eq!(trace_hash(&plain.trace), trace_hash(&hooked.trace));
        assert_eq!(plain.committed, hooked.committed);
        assert_eq!(plain.sim_time, hooked.sim_time);
        // Asked before the first step and then every STOP_POLL_STEPS steps.
        let steps = (plain.sim_time.as_millis() / TICK.as_millis()) as u64;
        assert_eq!(
            asked.get(),
            steps.div_ceil(STOP_POLL_STEPS),
            "{steps} steps"
        );
    }

    #[test]
    fn a_hook_that_says_stop_ends_the_run_at_the_next_poll() {
        let s = taskmanager_crash();
        let plan = s.plan(3);
        let asked = Cell::new(0_u64);
        let stopped = simulate_plan_until(&s, 3, &plan, &|| {
            asked.set(asked.get() + 1);
            asked.get() == 5
        });
        let steps = 4 * STOP_POLL_STEPS;
        assert_eq!(
            stopped.expect_err("stopped"),
            SimError::Stopped {
                at: TICK * steps as u32,
                steps
            }
        );

        let at_once = simulate_plan_until(&s, 3, &plan, &|| true);
        assert_eq!(
            at_once.expect_err("stopped"),
            SimError::Stopped {
                at: Duration::ZERO,
                steps: 0
            }
        );
    }

    /// The fault events of a run of `s`'s plan on `seed`, as (time, host, name).
    fn fault_events(s: &Scenario, seed: u64) -> Vec<(Duration, String, String)> {
        let run = simulate(s, seed).expect("simulates");
        run.trace
            .iter()
            .filter_map(|e| match &e.what {
                What::Fault(f) => {
                    let json = serde_json::to_value(f).expect("fault events serialize");
                    let name = json["fault"].as_str().unwrap_or_default().to_owned();
                    Some((e.at, e.host.clone(), name))
                }
                What::Engine(_) => None,
            })
            .collect()
    }

    fn engine_events(s: &Scenario, seed: u64) -> Vec<TraceEvent> {
        let run = simulate(s, seed).expect("simulates");
        run.trace
            .into_iter()
            .filter(|e| matches!(e.what, What::Engine(_)))
            .collect()
    }

    fn scenario(faults: &str) -> Scenario {
        let text = format!(
            "name = \"t\"\ndescription = \"t\"\njob = {{ name = \"keyed-count\" }}\n\
             topology = {{ taskmanagers = 2, parallelism = 2 }}\n[workload]\nrecords = 600\n\
             {faults}\n[expect]\noutcome = \"exactly-once\"\n"
        );
        crate::scenario::parse(&text, "t.toml").expect("parses")
    }

    #[test]
    fn a_fault_trigger_fires_at_its_anchors_edge_plus_its_delay() {
        let s = scenario(
            "[[fault]]\nkind = \"partition\"\nid = \"cut\"\nhost = \"taskmanager-1\"\n\
             peer = \"taskmanager-2\"\nat = \"300ms\"\nfor = \"200ms\"\n\
             [[fault]]\nkind = \"latency\"\nhost = \"log\"\npeer = \"*\"\nmax = \"7ms\"\n\
             for = \"10ms\"\non = { fault = \"cut\", edge = \"start\" }\n\
             [[fault]]\nkind = \"crash_restart\"\nhost = \"taskmanager-2\"\nafter = \"100ms\"\n\
             on = { fault = \"cut\", edge = \"end\", delay = \"10ms\" }\n",
        );
        let events = fault_events(&s, 1);
        let at = |name: &str| {
            events
                .iter()
                .find(|(_, _, n)| n == name)
                .map(|(t, _, _)| *t)
                .unwrap_or_else(|| panic!("no {name} in {events:?}"))
        };
        let ms = Duration::from_millis;
        assert_eq!(at("partition"), ms(300));
        // Edge start, no delay: the same tick, right after its anchor.
        assert_eq!(at("latency"), ms(300));
        let order: Vec<&str> = events.iter().map(|(_, _, n)| n.as_str()).collect();
        assert_eq!(&order[..2], ["partition", "latency"]);
        assert_eq!(at("repair"), ms(500));
        assert_eq!(at("crash"), ms(510));
        assert_eq!(at("restart"), ms(610));
        let run = simulate(&s, 1).expect("simulates");
        assert_eq!(run.fired_at, [Some(ms(300)), Some(ms(300)), Some(ms(510))]);
        assert!(run.unfired.is_empty());
    }

    /// When checkpoint 2 completed in seed `seed` of `s`, and when the
    /// first crash fired.
    fn completed_then_crash(s: &Scenario, seed: u64) -> (Duration, Duration) {
        let completed = engine_events(s, seed)
            .into_iter()
            .find(|e| matches!(&e.what, What::Engine(ev) if ev.name() == "checkpoint_completed" && ev.checkpoint() == Some(2)))
            .expect("checkpoint 2 completes")
            .at;
        let (crash, _, _) = fault_events(s, seed)
            .into_iter()
            .find(|(_, _, n)| n == "crash")
            .expect("the crash fired");
        (completed, crash)
    }

    #[test]
    fn an_event_trigger_fires_its_delay_after_the_matching_event() {
        let s = scenario(
            "[[fault]]\nkind = \"crash_restart\"\nhost = \"taskmanager-2\"\nafter = \"100ms\"\n\
             on = { event = \"checkpoint_completed\", checkpoint = 2, delay = \"50ms\" }\n",
        );
        for seed in 0..3 {
            let (completed, crash) = completed_then_crash(&s, seed);
            let late = crash - completed;
            assert!(
                late >= Duration::from_millis(50) && late <= Duration::from_millis(50) + TICK,
                "seed {seed}: completed at {completed:?}, crash at {crash:?}"
            );
        }
    }

    /// `jitter` on an event trigger spreads the delay after the event, as
    /// on a fault trigger: the fault fires at the event plus `delay` plus
    /// a seeded draw from `[0, jitter)` (then at the next tick), so the
    /// gap differs from seed to seed; resolved, the draw is in the delay
    /// and `at` (when events start to count) stays.
    #[test]
    fn jitter_on_an_event_trigger_spreads_the_delay_after_the_event() {
        let s = scenario(
            "[[fault]]\nkind = \"crash_restart\"\nhost = \"taskmanager-2\"\nafter = \"100ms\"\n\
             on = { event = \"checkpoint_completed\", checkpoint = 2, delay = \"5ms\" }\n\
             jitter = \"40ms\"\n",
        );
        let ms = Duration::from_millis;
        let mut gaps = BTreeSet::new();
        for seed in 0..6 {
            let resolved = resolve_jitter(&s.faults, seed);
            let Some(Trigger::Event(on)) = &resolved[0].on else {
                panic!("an event trigger: {resolved:?}");
            };
            assert_eq!((resolved[0].at, resolved[0].jitter), (ms(0), ms(0)));
            let drawn = on.delay - ms(5);
            assert!(drawn < ms(40), "seed {seed}: {drawn:?}");
            let (completed, crash) = completed_then_crash(&s, seed);
            let late = crash - completed;
            assert!(
                late >= on.delay && late <= on.delay + TICK,
                "seed {seed}: completed at {completed:?}, crash at {crash:?}, delay {:?}",
                on.delay
            );
            gaps.insert(late);
        }
        assert!(gaps.len() > 2, "the jitter spreads the gap: {gaps:?}");
    }

    #[test]
    fn a_probe_filter_waits_for_that_probe() {
        // A crash after checkpoint 1 restores it: the restore re-commits
        // checkpoint 1's transactions (recovered-txn-already-committed).
        // The log crashes on that probe; the store waits for write-fenced,
        // which no seed here hits, so the store never crashes even though
        // other probes happen.
        let s = scenario(
            "[[fault]]\nkind = \"crash_restart\"\nhost = \"taskmanager-2\"\nat = \"300ms\"\nafter = \"300ms\"\n\
             [[fault]]\nkind = \"crash\"\nhost = \"log\"\n\
             on = { event = \"probe\", probe = \"recovered-txn-already-committed\", host = \"taskmanager-2\" }\n\
             [[fault]]\nkind = \"crash\"\nhost = \"store\"\n\
             on = { event = \"probe\", probe = \"write-fenced\" }\n",
        );
        // Seeds on which taskmanager-1's probe comes a tick or more before
        // taskmanager-2's: a filter that ignored `host` would crash the log
        // too early (on seeds 0 to 2 both come in the same millisecond).
        for seed in [3, 4] {
            let events = engine_events(&s, seed);
            let probes: Vec<(&str, Probe, Duration)> = events
                .iter()
                .filter_map(|e| match &e.what {
                    What::Engine(Event::Probe { probe }) => Some((e.host.as_str(), *probe, e.at)),
                    _ => None,
                })
                .collect();
            let wanted = probes
                .iter()
                .find(|(h, p, _)| {
                    *h == "taskmanager-2" && *p == Probe::RecoveredTxnAlreadyCommitted
                })
                .map(|(_, _, at)| *at)
                .expect("the restore re-commits checkpoint 1");
            assert!(
                probes.iter().any(|(_, _, at)| *at < wanted),
                "seed {seed}: an earlier probe the filter passes over: {probes:?}"
            );
            assert!(!probes.iter().any(|(_, p, _)| *p == Probe::WriteFenced));
            let crashes = fault_events(&s, seed);
            let crash = |host: &str| {
                crashes
                    .iter()
                    .find(|(_, h, n)| h == host && n == "crash")
                    .map(|(t, _, _)| *t)
            };
            let log = crash("log").expect("the log crashed");
            assert!(
                log >= wanted && log <= wanted + TICK,
                "seed {seed}: {log:?} {wanted:?}"
            );
            assert_eq!(crash("store"), None, "seed {seed}: no write-fenced probe");
        }
    }

    #[test]
    fn host_task_and_epoch_filters_wait_for_the_matching_event() {
        let s = scenario(
            "[[fault]]\nkind = \"crash_restart\"\nhost = \"taskmanager-2\"\nat = \"400ms\"\nafter = \"300ms\"\n\
             [[fault]]\nkind = \"crash_restart\"\nhost = \"taskmanager-1\"\nafter = \"300ms\"\n\
             on = { event = \"state_restored\", host = \"taskmanager-1\", task = \"count[0]\", epoch = 2 }\n",
        );
        let mut excluded = 0;
        for seed in 0..4 {
            let events = engine_events(&s, seed);
            let restored = |e: &&TraceEvent| matches!(&e.what, What::Engine(ev) if ev.name() == "state_restored");
            let first_any = events.iter().find(restored).expect("a restore").at;
            let matching = events
                .iter()
                .filter(restored)
                .find(|e| match &e.what {
                    What::Engine(ev) => {
                        e.host == "taskmanager-1"
                            && ev.task().map(|t| t.to_string()).as_deref() == Some("count[0]")
                            && ev.epoch() == Some(2)
                    }
                    What::Fault(_) => false,
                })
                .expect("count[0] restores on taskmanager-1 in epoch 2")
                .at;
            let crash = fault_events(&s, seed)
                .into_iter()
                .filter(|(_, h, n)| h == "taskmanager-1" && n == "crash")
                .map(|(t, _, _)| t)
                .next()
                .expect("taskmanager-1 crashed");
            assert!(
                crash >= matching && crash <= matching + TICK,
                "seed {seed}: {crash:?} {matching:?}"
            );
            excluded += usize::from(first_any < matching);
        }
        assert!(
            excluded > 0,
            "the filters never excluded an earlier restore"
        );
    }

    #[test]
    fn a_loss_blip_never_cuts_a_held_link_and_the_last_release_lets_it_go() {
        let s = taskmanager_crash();
        let mut world = World::build(&s, 0, Rc::new(crate::keyed_count::job(&s.config, 0)));
        let (tm1, tm2) = ("taskmanager-1", "taskmanager-2");
        let stall = FaultKind::Stall {
            peer: tm2.into(),
            duration: Duration::from_secs(1),
        };
        let loss = FaultKind::MessageLoss {
            peer: tm2.into(),
            rate: 1.0,
            duration: Duration::from_secs(1),
        };
        let pair = link_pair(tm1, tm2);
        world
            .apply(tm1, &Action::Fault(stall), None)
            .expect("applies");
        // The second stall is written from the other end: the same link.
        let back = FaultKind::Stall {
            peer: tm1.into(),
            duration: Duration::from_secs(1),
        };
        world
            .apply(tm2, &Action::Fault(back), None)
            .expect("applies");
        assert_eq!(world.holds.get(&pair), Some(&2));
        world
            .apply(tm1, &Action::Fault(loss), None)
            .expect("applies");
        world.lose_messages();
        assert!(world.cuts.is_empty(), "a held link is never cut by a loss");
        let release = Heal::Release { peer: tm2.into() };
        world.heal(tm1, &release);
        assert_eq!(
            world.holds.get(&pair),
            Some(&1),
            "still held by the other stall"
        );
        world.lose_messages();
        assert!(world.cuts.is_empty());
        world.heal(tm2, &Heal::Release { peer: tm1.into() });
        assert_eq!(world.holds.get(&pair), None);
        world.lose_messages();
        assert_eq!(
            world.cuts.len(),
            2,
            "released, the link loses messages again"
        );
    }

    /// The fault events of `s`'s seed 0, as `(ms, host, line)` with the
    /// line's fields (`clock_drift_ended {"offset_ms":..}`).
    fn fault_lines(s: &Scenario) -> Vec<(u128, String, String)> {
        let run = simulate(s, 0).expect("simulates");
        (run.trace.iter())
            .filter(|e| matches!(e.what, What::Fault(_)))
            .map(|e| {
                let line = e.line();
                let what = line
                    .split_whitespace()
                    .skip(2)
                    .collect::<Vec<_>>()
                    .join(" ");
                (e.at.as_millis(), e.host.clone(), what)
            })
            .collect()
    }

    /// Overlapping pauses of one host hold it paused until the last of them
    /// ends: a shorter one that lands within a longer one never resumes
    /// the host early, and a pause a crash ended never resumes a later one.
    #[test]
    fn a_host_stays_paused_until_the_last_overlapping_pause_ends() {
        let tm1 = "taskmanager-1";
        let pause = |at: &str, lasts: &str| {
            format!(
                "[[fault]]\nkind = \"pause\"\nhost = \"{tm1}\"\nat = \"{at}\"\n\
                 for = \"{lasts}\"\n"
            )
        };
        let nested = scenario(&(pause("300ms", "600ms") + &pause("400ms", "100ms")));
        let paused = |at: u128| (at, tm1.to_owned(), "pause".to_owned());
        let resumed = |at: u128| (at, tm1.to_owned(), "resume".to_owned());
        assert_eq!(
            fault_lines(&nested),
            [paused(300), paused(400), resumed(900)]
        );
        // The later pause outlasts the first: the host resumes at its end.
        let staggered = scenario(&(pause("300ms", "200ms") + &pause("400ms", "300ms")));
        assert_eq!(
            fault_lines(&staggered),
            [paused(300), paused(400), resumed(700)]
        );
        // A crash ends the first pause; its end then leaves alone a pause
        // that began after the restart.
        let crash = format!(
            "[[fault]]\nkind = \"crash_restart\"\nhost = \"{tm1}\"\nat = \"400ms\"\n\
             after = \"50ms\"\n"
        );
        let crashed = scenario(&(pause("300ms", "300ms") + &crash + &pause("500ms", "400ms")));
        let at = |what: &str| (tm1.to_owned(), what.to_owned());
        let lines: Vec<_> = (fault_lines(&crashed).into_iter())
            .map(|(t, h, w)| (t, (h, w)))
            .collect();
        assert_eq!(
            lines,
            [
                (300, at("pause")),
                (400, at("crash")),
                (450, at("restart")),
                (500, at("pause")),
                (900, at("resume")),
            ]
        );
    }

    /// Of overlapping clock drifts of one host the newest sets the rate;
    /// when it ends, the older one still in force runs the clock again
    /// (`clock_drift_ended` names that drift) until its own end, and the
    /// end of an older drift under a newer one leaves the rate alone. The
    /// host's clock is what the trace's edges describe
    /// ([`crate::check::clocks::HostClocks`]).
    #[test]
    fn overlapping_clock_drifts_each_hold_until_their_own_end_the_newest_setting_the_rate() {
        let jm = "jobmanager";
        let drift = |at: &str, drift: f64, lasts: &str| {
            format!(
                "[[fault]]\nkind = \"clock_drift\"\nhost = \"{jm}\"\nat = \"{at}\"\n\
                 drift = {drift}\nfor = \"{lasts}\"\n"
            )
        };
        let line = |at: u128, what: &str| (at, jm.to_owned(), what.to_owned());
        // 300..400 at +0.5 (+50ms), 400..500 at -0.5 (-50ms), 500..900 at
        // +0.5 again (+200ms).
        let nested = scenario(&(drift("300ms", 0.5, "600ms") + &drift("400ms", -0.5, "100ms")));
        assert_eq!(
            fault_lines(&nested),
            [
                line(300, r#"clock_drift {"drift":"0.5"}"#),
                line(400, r#"clock_drift {"drift":"-0.5"}"#),
                line(500, r#"clock_drift_ended {"drift":"0.5","offset_ms":0}"#),
                line(900, r#"clock_drift_ended {"offset_ms":200}"#),
            ]
        );
        // The older ends first, under the newer: the rate stays the newer's.
        let staggered = scenario(&(drift("300ms", 0.5, "200ms") + &drift("400ms", -0.25, "400ms")));
        assert_eq!(
            fault_lines(&staggered),
            [
                line(300, r#"clock_drift {"drift":"0.5"}"#),
                line(400, r#"clock_drift {"drift":"-0.25"}"#),
                line(500, r#"clock_drift_ended {"drift":"-0.25","offset_ms":25}"#),
                line(800, r#"clock_drift_ended {"offset_ms":-50}"#),
            ]
        );
        let run = simulate(&staggered, 0).expect("simulates");
        let clocks = crate::check::clocks::HostClocks::of(&run.trace);
        let ms = Duration::from_millis;
        for (at, local) in [(300, 300), (400, 450), (500, 525), (800, 750), (1000, 950)] {
            assert_eq!(clocks.local(jm, ms(at)), ms(local), "at {at}ms");
        }
    }

    #[test]
    fn a_loss_blip_cuts_only_its_links_and_never_repairs_a_partition() {
        let s = taskmanager_crash();
        let mut world = World::build(&s, 0, Rc::new(crate::keyed_count::job(&s.config, 0)));
        let (tm1, log) = ("taskmanager-1", "log");
        let partition = FaultKind::Partition {
            peer: log.into(),
            oneway: false,
            duration: Duration::from_secs(1),
        };
        let loss = FaultKind::MessageLoss {
            peer: log.into(),
            rate: 1.0,
            duration: Duration::from_secs(1),
        };
        let held = |w: &World, a: &str, b: &str| w.cuts.get(&(a.to_owned(), b.to_owned())).copied();
        let first = world
            .apply(tm1, &Action::Fault(partition.clone()), None)
            .expect("applies");
        let second = world
            .apply(tm1, &Action::Fault(partition), None)
            .expect("applies");
        world
            .apply(tm1, &Action::Fault(loss), None)
            .expect("applies");
        world.lose_messages();
        assert_eq!(held(&world, tm1, log), Some(3));
        assert_eq!(held(&world, log, tm1), Some(3));
        // Only the loss's link: no other link is cut.
        assert_eq!(world.cuts.len(), 2);
        // One partition heals: the other still holds the link cut.
        let heal = |p: Option<Pending>| match p.expect("a partition heals").action {
            Action::Heal(h) => h,
            _ => unreachable!("a heal"),
        };
        world.heal(tm1, &heal(first));
        world.lose_messages();
        assert_eq!(held(&world, tm1, log), Some(2));
        world.heal(tm1, &heal(second));
        world.heal(tm1, &Heal::Loss { number: 0 });
        world.lose_messages();
        assert_eq!(held(&world, tm1, log), None, "whole once nothing holds it");
        assert!(world.cuts.is_empty());
    }
}
