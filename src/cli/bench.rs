//! `flinch bench [--json] [--quick]`: how many fault schedules flinch
//! explores per second, measured in one process and one run (issue 13;
//! BENCHMARKS.md holds the figures and how to reproduce them).
//!
//! Every figure is the median of [`REPS`] repetitions of a pinned
//! workload, and every ratio compares two runs of this same process, so a
//! figure means the same on another machine only as a ratio. Seeds run
//! through [`run_parallel`], on worker threads as `flinch run` runs them;
//! "one thread" is one worker. Before the first figure, the bench runs
//! `taskmanager-crash` unmeasured for [`WARM_UP`] (a warm-up, as criterion
//! does): a process's first second ran up to a fifth slower on the machine
//! of BENCHMARKS.md, and the first figure measured would pay for it.

use super::exec::{run_parallel, HasSeed};
use super::seeds::default_jobs;
use super::{load_scenario, Output, EXIT_PASSED};
use anyhow::{anyhow, Context as _};
use clap::Args;
use flinch_engine::config::WorkloadConfig;
use flinch_engine::event::Event;
use flinch_harness::budget::default_max_sim_time;
use flinch_harness::plan::render;
use flinch_harness::scenario::{parse, Scenario};
use flinch_harness::seed::run_seed;
use flinch_harness::trace::{TraceEvent, What};
use serde::Serialize;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// Repetitions of each measurement; its figure is their median.
pub const REPS: usize = 7;
/// How long the warm-up runs before the first figure: whole repetitions
/// of `taskmanager-crash` on one thread, unmeasured, until this much wall
/// time has passed (at most [`WARM_UP_REPS`]; none with `--quick`).
pub const WARM_UP: Duration = Duration::from_secs(2);
const WARM_UP_REPS: usize = 50;
/// Seeds of each repetition.
pub const SEEDS: u64 = 40;
/// `--quick`: one repetition of 2 seeds, for a smoke test of the command
/// (its figures are noise).
const QUICK_REPS: usize = 1;
const QUICK_SEEDS: u64 = 2;
/// The input of every pinned workload, in records.
pub const RECORDS: u64 = 10_000;
/// A pinned workload's rate, in records per simulated second per source
/// subtask: its scenario's rate scaled as its records are (to [`RECORDS`]),
/// rounded up, so that the input spans the simulated time the scenario's
/// faults are timed for. `taskmanager-crash` and `steady` (2,000 records
/// at 1,000 a second) run at 5,000 a second, one simulated second of
/// input; `nemesis-mixed` (6,000, with faults until 3 s) at 1,667, three
/// seconds. At its own rate `taskmanager-crash`'s 10,000 records would take
/// five seconds, its crash (300 to 900 ms) falling in their first fifth and
/// the rest of the run spent waiting between batches. Errors: a rate
/// beyond what the sources honour (`workload::max_rate`).
fn scaled_rate(workload: &WorkloadConfig) -> anyhow::Result<u64> {
    let records = workload.records.max(1);
    let rate = (u128::from(workload.rate) * u128::from(RECORDS)).div_ceil(u128::from(records));
    let max = flinch_engine::workload::max_rate(workload.batch);
    u64::try_from(rate)
        .ok()
        .filter(|&rate| rate <= max)
        .ok_or_else(|| anyhow!("the bench's rate {rate}/s exceeds the sources' most, {max}/s"))
}
/// The checkpoint interval whose cost the checkpoint-overhead ratio gives.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(100);

/// Flink's default `state.storage.fs.memory-threshold`, 20 KiB: the
/// second checkpoint-overhead figure keeps `steady`'s snapshots (a few
/// hundred bytes each) inline in the metadata, as Flink would.
const FLINK_MEMORY_THRESHOLD: u64 = 20 * 1024;

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Print one JSON object (fields in README.md, "`flinch bench`").
    #[arg(long)]
    pub json: bool,
    /// One repetition of 2 seeds per figure: checks the command works;
    /// its figures mean nothing.
    #[arg(long)]
    pub quick: bool,
    /// An earlier `flinch bench --json` output: also print each figure's
    /// ratio to it (new over old).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<std::path::PathBuf>,
    /// Internal: run one seed of a scaled workload and print its figures as
    /// JSON (the bench runs each size in a child process of its own, so that
    /// the process's peak memory is that size's).
    #[arg(long, hide = true, value_name = "RECORDS,TASKMANAGERS")]
    pub scale_child: Option<String>,
}

/// A workload the figures are measured on, pinned so that runs compare.
#[derive(Debug, Clone, Serialize)]
struct Pinned {
    /// What it is called in the figures.
    name: &'static str,
    /// The built-in scenario it starts from.
    scenario: &'static str,
    records: u64,
    /// Records per simulated second per source subtask.
    rate: u64,
    /// Records per source batch.
    batch: u32,
    /// Checkpoint interval, in ms.
    checkpoint_interval_ms: u64,
    /// `checkpoint.memory_threshold`, in bytes (0: every snapshot uploaded).
    memory_threshold: u64,
    taskmanagers: u32,
    parallelism: u32,
    /// Faults of the seed plans: hand-written, or drawn by the nemesis.
    faults: &'static str,
}

/// One seed's run, as the bench keeps it.
struct Ran {
    seed: u64,
    passed: bool,
    sim: Duration,
    host_steps: flinch_harness::seed::HostSteps,
    /// Checkpoints the seed completed.
    checkpoints: usize,
}

impl HasSeed for Ran {
    fn seed(&self) -> u64 {
        self.seed
    }

    fn failed(&self) -> bool {
        !self.passed
    }
}

/// The median repetition of running a workload's seeds.
#[derive(Debug, Clone, Copy, Serialize)]
struct Rate {
    /// Seeds per wall-clock second.
    seeds_per_second: f64,
    /// Simulated seconds per wall-clock second.
    sim_seconds_per_wall_second: f64,
    /// Worker threads.
    threads: usize,
    /// Wall time per host per simulation step (a step of one host, run or
    /// skipped as idle), in microseconds: the repetition's wall time (on one
    /// thread; core time on several) over its host steps.
    us_per_host_step: f64,
    /// The share of host steps skipped because the host was idle.
    idle_host_steps_skipped: f64,
}

#[derive(Debug, Serialize)]
struct Machine {
    /// Cores the process may use (`available_parallelism`).
    cores: usize,
    /// `model name` of /proc/cpuinfo, or `unknown`.
    cpu: String,
}

#[derive(Debug, Serialize)]
struct Bench {
    /// The git commit flinch was built from (`unknown` outside a checkout).
    commit: &'static str,
    machine: Machine,
    /// Repetitions per figure (each figure is their median) and seeds per
    /// repetition.
    repetitions: usize,
    seeds: u64,
    /// Wall seconds of unmeasured repetitions before the first figure
    /// ([`WARM_UP`]).
    warm_up_seconds: f64,
    workloads: Vec<Pinned>,
    /// `taskmanager-crash`, one worker thread.
    taskmanager_crash: Rate,
    /// `taskmanager-crash`, one worker per core.
    taskmanager_crash_all_cores: Rate,
    /// `taskmanager-crash` at its scenario's own rate, one worker thread.
    taskmanager_crash_scenario_rate: Rate,
    /// `nemesis-mixed`, one worker thread.
    nemesis_mixed: Rate,
    /// All cores over one thread, on `taskmanager-crash`.
    parallel_speedup: f64,
    /// Wall time of `steady` with a checkpoint every 100 ms over the same
    /// with only its final checkpoint: the median of one ratio per
    /// repetition, the two runs of each back to back.
    checkpoint_overhead: f64,
    /// The lowest and highest of the repetitions' ratios whose median is
    /// `checkpoint_overhead`: how far one repetition strays.
    checkpoint_overhead_spread: Spread,
    /// The same runs as `checkpoint_overhead`, each seed's fastest run of
    /// each side over the repetitions, summed over the seeds, the
    /// checkpointed over the other (see [`overhead`]).
    checkpoint_overhead_fastest: f64,
    /// The same with [`FLINK_MEMORY_THRESHOLD`]: each task's snapshot is
    /// kept inline in the checkpoint's metadata, not uploaded on its own.
    checkpoint_overhead_inline_state: f64,
    /// As `checkpoint_overhead_spread`, for
    /// `checkpoint_overhead_inline_state`.
    checkpoint_overhead_inline_state_spread: Spread,
    /// As `checkpoint_overhead_fastest`, for
    /// `checkpoint_overhead_inline_state`.
    checkpoint_overhead_inline_state_fastest: f64,
    /// The job in turmoil over the same operators in-process.
    simulation_overhead: Overhead,
    /// `taskmanager-crash`, seed 0, one size per child process.
    scaling: Scaling,
    /// Ratios to `--baseline`, if given.
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline: Option<Baseline>,
    /// Wall time of the whole bench, in seconds.
    wall_seconds: f64,
}

pub fn bench(args: &BenchArgs) -> anyhow::Result<Output> {
    if let Some(spec) = &args.scale_child {
        return scale_child(spec);
    }
    let started = Instant::now();
    // Read and checked first: a bad file fails now, not after minutes of
    // measuring.
    let old = args.baseline.as_deref().map(read_baseline).transpose()?;
    if let Some(old) = old.as_ref().filter(|old| !old.absent.is_empty()) {
        eprintln!(
            "flinch: bench: the baseline {} has no {} (added to the bench since): no ratio for {}",
            printable(&old.file),
            old.absent.join(", "),
            if old.absent.len() == 1 { "it" } else { "them" }
        );
    }
    let (reps, seeds) = if args.quick {
        (QUICK_REPS, QUICK_SEEDS)
    } else {
        (REPS, SEEDS)
    };
    let cores = default_jobs();
    if let Some(old) = &old {
        old.comparable(reps, seeds, args.quick)?;
        if let Some(machine) = old.other_machine(cores, &cpu_model()) {
            eprintln!(
                "flinch: bench: the baseline {} ran on {machine}: its ratios mix two machines' \
                 speeds",
                printable(&old.file)
            );
        }
    }
    let crash = pinned("taskmanager-crash", "taskmanager-crash", None)?;
    let own_rate = load_scenario("taskmanager-crash", None)?
        .config
        .workload
        .rate;
    let slow = pinned_with(
        "taskmanager-crash-scenario-rate",
        "taskmanager-crash",
        |s| s.config.workload.rate = own_rate,
    )?;
    let nemesis = pinned("nemesis-mixed", "nemesis-mixed", None)?;
    let checkpointed = pinned("steady-100ms", "steady", Some(CHECKPOINT_INTERVAL))?;
    // Progress goes to stderr, but with `--json`, as `run --json` prints
    // none: stderr then holds only what went wrong.
    let say = |what: &str| {
        if !args.json {
            eprintln!("flinch: bench: {what}");
        }
    };
    say("warm-up: taskmanager-crash, one thread, not measured");
    let warm_up = warm_up(
        &crash.1,
        seeds,
        if args.quick { Duration::ZERO } else { WARM_UP },
    )?;
    say("taskmanager-crash, one thread");
    let one = measure(&crash.1, seeds, reps, 1)?;
    say("taskmanager-crash, all cores");
    let all = measure(&crash.1, seeds, reps, cores)?;
    say("taskmanager-crash at its scenario's rate, one thread");
    let at_scenario_rate = measure(&slow.1, seeds, reps, 1)?;
    say("nemesis-mixed, one thread");
    let mixed = measure(&nemesis.1, seeds, reps, 1)?;
    say("checkpoint overhead");
    // The engine takes a checkpoint at each interval and the job ends with
    // the first one after its input. The checkpointed run's last comes at
    // most one interval after the input ends; an interval of the input's
    // duration plus one more gives one checkpoint at about the same time,
    // so both runs last about as long in simulated time (an idle host
    // still costs: a longer run without checkpoints would flatter them).
    let input = flinch_engine::workload::nominal_duration(&checkpointed.1.config.workload);
    let only_final = ceil_ms(input + CHECKPOINT_INTERVAL);
    let unchecked = pinned("steady-final-only", "steady", Some(only_final))?;
    let checkpoint = overhead(&checkpointed.1, &unchecked.1, seeds, reps)?;
    say("checkpoint overhead, state inline in the metadata");
    let inline = |s: &mut Scenario| s.config.checkpoint.memory_threshold = FLINK_MEMORY_THRESHOLD;
    let inline_checkpointed = pinned_with("steady-100ms-inline-state", "steady", |s| {
        s.config.checkpoint.interval = CHECKPOINT_INTERVAL;
        inline(s);
    })?;
    let inline_unchecked = pinned_with("steady-final-only-inline-state", "steady", |s| {
        s.config.checkpoint.interval = only_final;
        inline(s);
    })?;
    let inline_state = overhead(&inline_checkpointed.1, &inline_unchecked.1, seeds, reps)?;
    say("simulation overhead");
    let (floor, overhead) = simulation_overhead(args.quick, reps)?;
    say("scaling (a child process per size)");
    let scaling = scaling(args.quick)?;
    let mut bench = Bench {
        commit: env!("FLINCH_GIT_COMMIT"),
        machine: Machine {
            cores,
            cpu: cpu_model(),
        },
        repetitions: reps,
        seeds,
        warm_up_seconds: warm_up.as_secs_f64(),
        workloads: vec![
            crash.0,
            slow.0,
            nemesis.0,
            checkpointed.0,
            unchecked.0,
            floor,
            inline_checkpointed.0,
            inline_unchecked.0,
        ],
        taskmanager_crash: one,
        taskmanager_crash_all_cores: all,
        taskmanager_crash_scenario_rate: at_scenario_rate,
        nemesis_mixed: mixed,
        parallel_speedup: all.seeds_per_second / one.seeds_per_second,
        checkpoint_overhead: checkpoint.median,
        checkpoint_overhead_spread: checkpoint.spread,
        checkpoint_overhead_fastest: checkpoint.fastest,
        checkpoint_overhead_inline_state: inline_state.median,
        checkpoint_overhead_inline_state_spread: inline_state.spread,
        checkpoint_overhead_inline_state_fastest: inline_state.fastest,
        simulation_overhead: overhead,
        scaling,
        baseline: None,
        wall_seconds: started.elapsed().as_secs_f64(),
    };
    if let Some(old) = &old {
        let new = serde_json::to_value(&bench)?;
        for differs in old.differences(&new) {
            eprintln!("flinch: bench: {differs}");
        }
        bench.baseline = Some(old.compare(&new));
    }
    let stdout = if args.json {
        let mut text = serde_json::to_string_pretty(&bench)?;
        text.push('\n');
        text
    } else {
        human(&bench)
    };
    Ok(Output {
        stdout,
        code: EXIT_PASSED,
    })
}

/// A built-in scenario with [`RECORDS`] records at its [`scaled_rate`] (and `interval`, if
/// given), read back through the scenario parser so it is a valid one.
fn pinned(
    name: &'static str,
    builtin: &'static str,
    interval: Option<Duration>,
) -> anyhow::Result<(Pinned, Scenario)> {
    pinned_with(name, builtin, |scenario| {
        if let Some(interval) = interval {
            scenario.config.checkpoint.interval = interval;
        }
    })
}

/// A built-in scenario with [`RECORDS`] records at its [`scaled_rate`],
/// changed by `change`, read back through the scenario parser so it is a
/// valid one.
fn pinned_with(
    name: &'static str,
    builtin: &'static str,
    change: impl FnOnce(&mut Scenario),
) -> anyhow::Result<(Pinned, Scenario)> {
    let mut scenario = load_scenario(builtin, None)?;
    // Named for the workload, so that a failing seed's replay file says
    // which (the name changes no run).
    scenario.name = name.to_owned();
    scenario.config.workload.rate = scaled_rate(&scenario.config.workload)?;
    scenario.config.workload.records = RECORDS;
    change(&mut scenario);
    scenario.max_sim_time = default_max_sim_time(
        &scenario.config,
        scenario.liveness_bound,
        &scenario.faults,
        scenario.nemesis.as_ref(),
    );
    let scenario =
        parse(&render(&scenario), &format!("the bench's {name}")).map_err(|e| anyhow!("{e}"))?;
    let c = &scenario.config;
    let faults = match (&scenario.nemesis, scenario.faults.len()) {
        (Some(_), _) => "drawn by the nemesis",
        (None, 0) => "none",
        (None, _) => "the scenario's",
    };
    let pinned = Pinned {
        name,
        scenario: builtin,
        records: c.workload.records,
        rate: c.workload.rate,
        batch: c.workload.batch,
        checkpoint_interval_ms: u64::try_from(c.checkpoint.interval.as_millis())
            .unwrap_or(u64::MAX),
        memory_threshold: c.checkpoint.memory_threshold,
        taskmanagers: c.topology.taskmanagers,
        parallelism: c.topology.parallelism,
        faults,
    };
    Ok((pinned, scenario))
}

/// Whole repetitions of `scenario` on one thread, unmeasured, until `at_least`
/// has passed (at most [`WARM_UP_REPS`]); how long they took. Errors: as
/// [`measure`].
fn warm_up(scenario: &Scenario, seeds: u64, at_least: Duration) -> anyhow::Result<Duration> {
    if at_least.is_zero() {
        return Ok(Duration::ZERO);
    }
    let started = Instant::now();
    for _ in 0..WARM_UP_REPS {
        if started.elapsed() >= at_least {
            break;
        }
        repetition(scenario, seeds, 1)?;
    }
    Ok(started.elapsed())
}

/// Run seeds `0..seeds` of `scenario` on `threads` workers, `reps` times;
/// the median repetition by wall time. Errors: a seed that fails (a bench
/// of a failing workload measures the failure, not the harness).
fn measure(scenario: &Scenario, seeds: u64, reps: usize, threads: usize) -> anyhow::Result<Rate> {
    let runs = (0..reps)
        .map(|_| repetition(scenario, seeds, threads))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(median_rate(runs, seeds, threads))
}

/// The wall time of `with` over that of `without`, one thread: the median
/// of `reps` ratios (and their [`Spread`]), each of the summed wall times
/// of seeds `0..seeds` run in pairs: each seed of `with` right before or
/// after the same seed of `without` (each first in turn), so that a
/// machine that speeds up or slows down during the bench (a virtual
/// machine's neighbours come and go within a second) moves both sides of a
/// ratio alike. Each repetition's worker thread first runs one seed of
/// each side untimed: a fresh thread's first seed ran slower (its
/// allocator's heap, its thread-locals), and would be charged to whichever
/// side of seed 0 ran first (`with` in even repetitions, whose ratios
/// averaged above the odd ones' in 10 of 11 bench runs, by 0.017 over all;
/// BENCHMARKS.md).
///
/// The same runs also give [`Overheads::fastest`]: a seed runs the same
/// instructions every time (same seed, same run), and what the machine adds
/// to a run (a neighbour on the host, an interrupt) only ever adds time, so
/// each seed's fastest run of each side, over the repetitions, is that
/// seed's cost with the least of the machine in it. Over nine sets of seven
/// repetitions their sums' ratio had a standard deviation of 0.0035 where
/// the median's was 0.0085 (BENCHMARKS.md), so it compares two builds more
/// finely; it is not the median of repetitions issue 13 asks for, and
/// `checkpoint_overhead` stays that. Errors: a seed that fails, as
/// [`measure`], and a seed of `without` that completed more than one
/// checkpoint (its single checkpoint came before the end of its input, and
/// it ran on to another: it would not measure a run without checkpoints).
fn overhead(
    with: &Scenario,
    without: &Scenario,
    seeds: u64,
    reps: usize,
) -> anyhow::Result<Overheads> {
    let mut ratios = Vec::with_capacity(reps);
    let mut fastest = Fastest::new(seeds)?;
    for rep in 0..reps {
        let mut warm = false;
        let pairs = run_parallel(
            0..seeds,
            1,
            move |seed| {
                if !warm {
                    warm = true;
                    ran(with, seed);
                    ran(without, seed);
                }
                let timed = |scenario: &Scenario| {
                    let started = Instant::now();
                    let ran = ran(scenario, seed);
                    (started.elapsed(), ran)
                };
                let (a, b) = if (seed + rep as u64).is_multiple_of(2) {
                    let a = timed(with);
                    (a, timed(without))
                } else {
                    let b = timed(without);
                    (timed(with), b)
                };
                Pair {
                    with: a,
                    without: b,
                }
            },
            |_| {},
        )?;
        let mut walls = (Duration::ZERO, Duration::ZERO);
        for pair in &pairs {
            for (scenario, (_, ran)) in [(with, &pair.with), (without, &pair.without)] {
                if !ran.passed {
                    return Err(failed_seed(scenario, ran.seed));
                }
            }
            if pair.without.1.checkpoints > 1 {
                return Err(anyhow!(
                    "a seed of the bench's {} with a checkpoint every {:?} completed {} \
                     checkpoints, where the interval was meant to give one after its input",
                    without.name,
                    without.config.checkpoint.interval,
                    pair.without.1.checkpoints
                ));
            }
            walls.0 += pair.with.0;
            walls.1 += pair.without.0;
            fastest.record(pair.with.1.seed, pair.with.0, pair.without.0)?;
        }
        ratios.push(ratio(walls.0, walls.1));
    }
    Ok(Overheads::of(ratios, &fastest))
}

/// `a` over `b`, as a ratio of seconds (a zero `b` counts as the smallest
/// positive time, so the ratio stays finite).
fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(f64::MIN_POSITIVE)
}

/// Each seed's fastest run of each side of an [`overhead`] ratio so far,
/// by seed (`0..seeds`).
struct Fastest(Vec<(Duration, Duration)>);

impl Fastest {
    /// No run yet for any of `seeds` seeds. Errors: more seeds than this
    /// machine can index.
    fn new(seeds: u64) -> anyhow::Result<Fastest> {
        Ok(Fastest(vec![
            (Duration::MAX, Duration::MAX);
            usize::try_from(seeds)?
        ]))
    }

    /// One more run of `seed` on each side. Errors: a seed outside `0..seeds`.
    fn record(&mut self, seed: u64, with: Duration, without: Duration) -> anyhow::Result<()> {
        let best = usize::try_from(seed)
            .ok()
            .and_then(|s| self.0.get_mut(s))
            .ok_or_else(|| anyhow!("seed {seed} is outside the bench's seeds"))?;
        *best = (best.0.min(with), best.1.min(without));
        Ok(())
    }

    /// The summed fastest runs of `with` over those of `without`.
    fn ratio(&self) -> f64 {
        let with: Duration = self.0.iter().map(|f| f.0).sum();
        let without: Duration = self.0.iter().map(|f| f.1).sum();
        ratio(with, without)
    }
}

/// What [`overhead`] measures of one pair of workloads.
#[derive(Debug)]
struct Overheads {
    /// The median of the repetitions' ratios: the bench's figure.
    median: f64,
    /// The lowest and highest of those ratios.
    spread: Spread,
    /// The ratio of the summed fastest runs of each seed, each side's over
    /// the repetitions.
    fastest: f64,
}

impl Overheads {
    /// The figures of one repetition's ratio each (at least one), and of
    /// each seed's fastest runs.
    fn of(mut ratios: Vec<f64>, fastest: &Fastest) -> Overheads {
        ratios.sort_by(f64::total_cmp);
        Overheads {
            median: ratios[ratios.len() / 2],
            spread: Spread {
                lowest: ratios[0],
                highest: ratios[ratios.len() - 1],
            },
            fastest: fastest.ratio(),
        }
    }
}

/// The lowest and the highest of a figure's repetitions (the figure is
/// their median): a figure's noise, beside it.
#[derive(Debug, Clone, Copy, Serialize)]
struct Spread {
    lowest: f64,
    highest: f64,
}

/// One seed of each side of an [`overhead`] ratio, each with its wall time.
struct Pair {
    with: (Duration, Ran),
    without: (Duration, Ran),
}

impl HasSeed for Pair {
    fn seed(&self) -> u64 {
        self.with.1.seed
    }

    fn failed(&self) -> bool {
        !self.with.1.passed || !self.without.1.passed
    }
}

/// One repetition: seeds `0..seeds` of `scenario` on `threads` workers.
/// Returns its wall time, the simulated time of all its seeds, the host
/// steps run and skipped, and the most checkpoints a seed completed.
/// Errors: a seed that fails.
fn repetition(
    scenario: &Scenario,
    seeds: u64,
    threads: usize,
) -> anyhow::Result<(Duration, Duration, u64, u64, usize)> {
    let started = Instant::now();
    let ran = run_parallel(0..seeds, threads, |seed| ran(scenario, seed), |_| {})?;
    let wall = started.elapsed();
    if let Some(failed) = ran.iter().find(|r| !r.passed) {
        return Err(failed_seed(scenario, failed.seed));
    }
    let sim: Duration = ran.iter().map(|r| r.sim).sum();
    let run: u64 = ran.iter().map(|r| r.host_steps.run).sum();
    let skipped: u64 = ran.iter().map(|r| r.host_steps.skipped).sum();
    let checkpoints = ran.iter().map(|r| r.checkpoints).max().unwrap_or(0);
    Ok((wall, sim, run, skipped, checkpoints))
}

/// Run one seed of `scenario`, checkers included, as every bench figure does.
fn ran(scenario: &Scenario, seed: u64) -> Ran {
    let report = run_seed(scenario, seed);
    let completed =
        |e: &&TraceEvent| matches!(e.what, What::Engine(Event::CheckpointCompleted { .. }));
    Ran {
        seed,
        passed: report.passed,
        sim: report.sim_time,
        host_steps: report.host_steps,
        checkpoints: report.trace.iter().filter(completed).count(),
    }
}

/// The error of a bench workload's seed that failed, with the command that
/// replays it: the workload's scenario, as the bench pinned it, is written
/// to a file in the temporary directory for that command (or, if it cannot
/// be written, described by its pinned settings).
fn failed_seed(scenario: &Scenario, seed: u64) -> anyhow::Error {
    let path = std::env::temp_dir().join(format!(
        "flinch-bench-{}-{}.toml",
        scenario.name,
        std::process::id()
    ));
    let replay = match std::fs::write(&path, render(scenario)) {
        Ok(()) => format!(
            "its scenario, as the bench pinned it, is in {0}: flinch replay {0} --seed {seed}",
            path.display()
        ),
        Err(e) => {
            let (w, c) = (&scenario.config.workload, &scenario.config.checkpoint);
            let t = &scenario.config.topology;
            format!(
                "writing its scenario to {} failed ({e}); it is a copy of the built-in with \
                 `[workload] records = {}, rate = {}, batch = {}`, `[checkpoint] interval = \
                 \"{}ms\", memory_threshold = {}` and `topology = {{ taskmanagers = {}, \
                 parallelism = {} }}`, replayed with --seed {seed}",
                path.display(),
                w.records,
                w.rate,
                w.batch,
                c.interval.as_millis(),
                c.memory_threshold,
                t.taskmanagers,
                t.parallelism,
            )
        }
    };
    anyhow!(
        "seed {seed} of the bench's workload {} failed; {replay}",
        scenario.name
    )
    .context("a bench workload must pass")
}

/// The [`Rate`] of the median repetition by wall time.
fn median_rate(
    mut runs: Vec<(Duration, Duration, u64, u64, usize)>,
    seeds: u64,
    threads: usize,
) -> Rate {
    runs.sort();
    let (wall, sim, run, skipped, _) = runs[runs.len() / 2];
    let wall = wall.as_secs_f64().max(f64::MIN_POSITIVE);
    let host_steps = (run + skipped).max(1) as f64;
    Rate {
        seeds_per_second: seeds as f64 / wall,
        sim_seconds_per_wall_second: sim.as_secs_f64() / wall,
        threads,
        us_per_host_step: wall * 1e6 * threads as f64 / host_steps,
        idle_host_steps_skipped: skipped as f64 / host_steps,
    }
}

/// The input of the simulation-overhead figure (`--quick`: 4,000).
const OVERHEAD_RECORDS: u64 = 1_000_000;
const QUICK_OVERHEAD_RECORDS: u64 = 4_000;

/// What the simulation costs over the job's own work: the median wall time
/// of seed 0 of `steady` without faults and with only its final
/// checkpoint, simulated (turmoil, hosts, network, disks; no checkers),
/// over that of the same job's operators on the same input run in this
/// process with the same framing and serialization and no network
/// (`flinch_engine::inprocess`).
#[derive(Debug, Serialize)]
struct Overhead {
    records: u64,
    simulated_seconds: f64,
    in_process_seconds: f64,
    /// `simulated_seconds / in_process_seconds`.
    ratio: f64,
}

/// Measure [`Overhead`]: `reps` runs of each side, medians. Errors: the
/// two sides do not output the same number of records (one of them does
/// not do the job's work), or either fails.
fn simulation_overhead(quick: bool, reps: usize) -> anyhow::Result<(Pinned, Overhead)> {
    let records = match quick {
        true => QUICK_OVERHEAD_RECORDS,
        false => OVERHEAD_RECORDS,
    };
    let (pinned, scenario) = pinned_with("steady-final-only-in-process", "steady", |s| {
        s.config.workload.records = records;
        // One checkpoint, the final one: the first interval ends after the
        // input does.
        let input = flinch_engine::workload::nominal_duration(&s.config.workload);
        s.config.checkpoint.interval = ceil_ms(input + Duration::from_secs(1));
    })?;
    let config = &scenario.config;
    let job = scenario.job.model.job(config, 0);
    let (mut simulated, mut in_process) = (Vec::new(), Vec::new());
    for _ in 0..reps {
        let started = Instant::now();
        let outcome = flinch_harness::world::simulate_plan(&scenario, 0, &[])
            .map_err(|e| anyhow!("the bench's simulated {}: {e}", scenario.name))?;
        simulated.push(started.elapsed());
        let started = Instant::now();
        let floor = flinch_engine::inprocess::run_in_process(
            &job,
            config.topology.parallelism,
            config.topology.max_parallelism,
            config.workload.batch,
        )?;
        in_process.push(started.elapsed());
        let committed: usize = outcome.output.iter().map(|(_, r)| r.len()).sum();
        if committed != floor.output.len() {
            return Err(anyhow!(
                "the bench's simulated run committed {committed} records and the in-process \
                 floor {}: they must do the same work",
                floor.output.len()
            ));
        }
    }
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2].as_secs_f64().max(f64::MIN_POSITIVE)
    };
    let (simulated_seconds, in_process_seconds) = (median(simulated), median(in_process));
    Ok((
        pinned,
        Overhead {
            records,
            simulated_seconds,
            in_process_seconds,
            ratio: simulated_seconds / in_process_seconds,
        },
    ))
}

/// Input sizes of the scaling figures, with 2 taskmanagers.
const SCALE_RECORDS: [u64; 3] = [10_000, 100_000, 1_000_000];
/// Taskmanager counts of the scaling figures, with [`RECORDS`] records
/// (parallelism stays 2: the added taskmanagers are hosts to step, with
/// slots to offer, as in a cluster bigger than the job).
const SCALE_TASKMANAGERS: [u32; 3] = [2, 8, 64];
/// `--quick`'s sizes: the same shape, small enough for a smoke test.
const QUICK_SCALE_RECORDS: [u64; 3] = [1_000, 2_000, 4_000];
const QUICK_SCALE_TASKMANAGERS: [u32; 3] = [2, 3, 4];

/// How seeds/s and peak memory grow with the input and the cluster: seed 0
/// of `taskmanager-crash`, each size in a child process of its own.
#[derive(Debug, Serialize)]
struct Scaling {
    /// 2 taskmanagers, growing input.
    records: Vec<Scaled>,
    /// [`RECORDS`] records (1,000 with `--quick`), growing cluster.
    taskmanagers: Vec<Scaled>,
}

/// One size's figures, as its child process measured them.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
struct Scaled {
    records: u64,
    taskmanagers: u32,
    seeds_per_second: f64,
    sim_seconds_per_wall_second: f64,
    /// The child process's peak resident memory (`VmHWM`), in bytes; `null`
    /// where /proc does not say.
    peak_memory_bytes: Option<u64>,
}

/// Run every size of the scaling figures, each in a child process.
fn scaling(quick: bool) -> anyhow::Result<Scaling> {
    let (records, taskmanagers) = match quick {
        true => (QUICK_SCALE_RECORDS, QUICK_SCALE_TASKMANAGERS),
        false => (SCALE_RECORDS, SCALE_TASKMANAGERS),
    };
    let base = match quick {
        true => QUICK_SCALE_RECORDS[0],
        false => RECORDS,
    };
    let by_records = records.iter().map(|&r| child(r, 2));
    let by_taskmanagers = taskmanagers.iter().map(|&t| child(base, t));
    Ok(Scaling {
        records: by_records.collect::<anyhow::Result<_>>()?,
        taskmanagers: by_taskmanagers.collect::<anyhow::Result<_>>()?,
    })
}

/// Run `flinch bench --scale-child RECORDS,TASKMANAGERS` and read its line.
fn child(records: u64, taskmanagers: u32) -> anyhow::Result<Scaled> {
    let exe = std::env::current_exe().context("finding the flinch executable")?;
    let spec = format!("{records},{taskmanagers}");
    let out = std::process::Command::new(&exe)
        .args(["bench", "--scale-child", &spec])
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("running {} bench --scale-child {spec}", exe.display()))?;
    if !out.status.success() {
        return Err(anyhow!(
            "the bench's child for {records} records and {taskmanagers} taskmanagers failed ({})",
            out.status
        ));
    }
    serde_json::from_slice(&out.stdout)
        .with_context(|| format!("reading the output of bench --scale-child {spec}"))
}

/// `--scale-child RECORDS,TASKMANAGERS`: run seed 0 of `taskmanager-crash`
/// at that size and print its [`Scaled`] figures as one JSON line.
fn scale_child(spec: &str) -> anyhow::Result<Output> {
    let parsed = spec.split_once(',').and_then(|(r, t)| {
        let records = r.trim().parse::<u64>().ok()?;
        let taskmanagers = t.trim().parse::<u32>().ok()?;
        Some((records, taskmanagers))
    });
    let Some((records, taskmanagers)) = parsed else {
        return Err(anyhow!(
            "--scale-child takes RECORDS,TASKMANAGERS (two whole numbers), not {spec:?}"
        ));
    };
    let most = flinch_harness::scenario::limits::RECORDS.max;
    if records > most {
        return Err(anyhow!(
            "--scale-child: at most {most} records (the scenario format's limit), not {records}"
        ));
    }
    let (_, scenario) = pinned_with("taskmanager-crash-scaled", "taskmanager-crash", |s| {
        // Fewer records than the bench's (`--quick`) at a rate as much
        // lower, so the input still spans the scenario's crash; more at
        // the bench's rate, over a longer run.
        let w = &mut s.config.workload;
        w.rate = (w.rate * records.min(RECORDS)).div_ceil(RECORDS).max(1);
        w.records = records;
        s.config.topology.taskmanagers = taskmanagers;
    })?;
    let started = Instant::now();
    let report = run_seed(&scenario, 0);
    let wall = started.elapsed().as_secs_f64().max(f64::MIN_POSITIVE);
    if !report.passed {
        return Err(failed_seed(&scenario, 0));
    }
    let scaled = Scaled {
        records,
        taskmanagers,
        seeds_per_second: 1.0 / wall,
        sim_seconds_per_wall_second: report.sim_time.as_secs_f64() / wall,
        peak_memory_bytes: peak_memory(),
    };
    let mut stdout = serde_json::to_string(&scaled)?;
    stdout.push('\n');
    Ok(Output {
        stdout,
        code: EXIT_PASSED,
    })
}

/// This process's peak resident memory in bytes, from `VmHWM` in
/// /proc/self/status (Linux); `None` elsewhere.
fn peak_memory() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?;
    let kib: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    Some(kib * 1024)
}

/// Each figure's ratio to an earlier run's, new over old.
#[derive(Debug, Serialize)]
struct Baseline {
    /// The earlier run's commit.
    commit: String,
    /// By the figure's path in the JSON (`taskmanager_crash.seeds_per_second`),
    /// for every number both runs have, but the bench's settings.
    ratios: std::collections::BTreeMap<String, f64>,
}

/// Fields that describe a run, or a figure's noise, rather than measure
/// it: not compared (at the top level; each rate's `threads`, each scaling
/// size's `records` and `taskmanagers`, and `simulation_overhead.records`
/// too, by [`is_setting`]).
const SETTINGS: [&str; 8] = [
    "repetitions",
    "seeds",
    "warm_up_seconds",
    "machine",
    "workloads",
    "wall_seconds",
    "checkpoint_overhead_spread",
    "checkpoint_overhead_inline_state_spread",
];

/// Whether the field `key` of the object at `path` is one of the bench's
/// settings, not a figure: not compared.
fn is_setting(path: &str, key: &str) -> bool {
    match path {
        "" => SETTINGS.contains(&key),
        "simulation_overhead" => key == "records",
        _ if path.starts_with("scaling.") => key == "records" || key == "taskmanagers",
        _ => key == "threads",
    }
}

/// The largest `--baseline` file read: a `flinch bench --json` output is
/// about 6 KiB.
const MAX_BASELINE_BYTES: u64 = 1 << 20;

/// The most characters of a baseline's value an error message quotes.
const QUOTED_CHARS: usize = 60;

/// An earlier `flinch bench --json` (`--baseline`), read and checked
/// before anything is measured.
#[derive(Debug)]
struct Old {
    /// The file as the user named it, for messages.
    file: String,
    commit: String,
    /// Its `repetitions` and `seeds`: a run of other counts (`--quick`
    /// against a full run) measures other things.
    repetitions: u64,
    seeds: u64,
    json: serde_json::Value,
    /// Figures added to the bench after the file was written, by path: no
    /// ratio is taken of them.
    absent: Vec<String>,
}

/// What a figure of a baseline must be to divide by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Figure {
    /// A finite number above 0.
    Positive,
    /// A share from 0 to 1 (at 0, no ratio is taken).
    Share,
    /// A finite number above 0, or `null` where /proc did not say.
    PositiveOrNull,
}

/// A rate's figures (each rate's `threads` is a setting).
const RATE_FIGURES: [(&str, Figure); 4] = [
    ("seeds_per_second", Figure::Positive),
    ("sim_seconds_per_wall_second", Figure::Positive),
    ("us_per_host_step", Figure::Positive),
    ("idle_host_steps_skipped", Figure::Share),
];

/// A scaling size's fields: its size, then its figures.
const SCALED_FIGURES: [(&str, Figure); 5] = [
    ("records", Figure::Positive),
    ("taskmanagers", Figure::Positive),
    ("seeds_per_second", Figure::Positive),
    ("sim_seconds_per_wall_second", Figure::Positive),
    ("peak_memory_bytes", Figure::PositiveOrNull),
];

/// The figures `--baseline` divides by, by path, and whether a baseline may
/// lack it: every bench output `--baseline` could read (since it came in)
/// has the others; these came later, each with the top-level field it is
/// under (so a baseline may lack that field, not a part of it).
fn baseline_figures() -> Vec<(String, Figure, bool)> {
    let mut figures = Vec::new();
    for (rate, later) in [
        ("taskmanager_crash", false),
        ("taskmanager_crash_all_cores", false),
        ("taskmanager_crash_scenario_rate", true),
        ("nemesis_mixed", false),
    ] {
        for (field, figure) in RATE_FIGURES {
            figures.push((format!("{rate}.{field}"), figure, later));
        }
    }
    for (field, later) in [
        ("parallel_speedup", false),
        ("checkpoint_overhead", false),
        ("checkpoint_overhead_fastest", true),
        ("checkpoint_overhead_inline_state", true),
        ("checkpoint_overhead_inline_state_fastest", true),
        ("simulation_overhead.records", true),
        ("simulation_overhead.simulated_seconds", true),
        ("simulation_overhead.in_process_seconds", true),
        ("simulation_overhead.ratio", true),
    ] {
        figures.push((field.to_owned(), Figure::Positive, later));
    }
    figures
}

/// Read the `--baseline` file, at most [`MAX_BASELINE_BYTES`], and check
/// it (see [`check_baseline`]).
fn read_baseline(path: &std::path::Path) -> anyhow::Result<Old> {
    use std::io::Read as _;
    let file = path.display().to_string();
    let reading = || format!("reading the baseline {file}");
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_BASELINE_BYTES + 1).read_to_end(&mut bytes))
        .with_context(reading)?;
    if bytes.len() as u64 > MAX_BASELINE_BYTES {
        return Err(anyhow!(
            "{file}: larger than {} KiB, not the JSON of `flinch bench --json` (about 6 KiB)",
            MAX_BASELINE_BYTES / 1024
        ));
    }
    let json: serde_json::Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("{file}: not the JSON of `flinch bench --json`"))?;
    check_baseline(&file, json).map_err(|e| anyhow!(e))
}

/// `value` as an error message quotes it: its JSON, cut to
/// [`QUOTED_CHARS`] characters.
fn quoted(value: &serde_json::Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(QUOTED_CHARS) {
        Some((cut, _)) => format!("{}... ({} bytes)", &text[..cut], text.len()),
        None => text,
    }
}

/// `json`, the baseline `file`, if it is the output of `flinch bench
/// --json`: a `commit`, every figure a ratio divides by present (or added
/// to the bench after it, then named in [`Old::absent`]) and as [`Figure`]
/// says, and its `repetitions` and `seeds` whole numbers above 0. Errors
/// name the file and the field.
fn check_baseline(file: &str, json: serde_json::Value) -> Result<Old, String> {
    use serde_json::Value;
    let not_bench = "not the JSON of `flinch bench --json`";
    let field = |path: &str, why: String| format!("{file}: field `{path}`: {why}");
    let commit = match json.get("commit") {
        Some(Value::String(commit)) => commit.clone(),
        Some(other) => {
            return Err(field(
                "commit",
                format!("must be a string, got {}", quoted(other)),
            ))
        }
        None => return Err(format!("{file}: no `commit` field: {not_bench}")),
    };
    // Why a field was not found, as an error.
    let not_found = |error: Lookup| match error {
        Lookup::Missing(missing) => field(&missing, format!("missing: {not_bench}")),
        Lookup::NotAnObject(at, value) => {
            field(&at, format!("must be an object, got {}", quoted(value)))
        }
    };
    let mut absent: Vec<String> = Vec::new();
    for (path, figure, later) in baseline_figures() {
        match lookup(&json, &path) {
            Ok(value) => check_figure(value, figure).map_err(|why| field(&path, why))?,
            // A later figure's whole field (`simulation_overhead`) is named
            // once; a part of one the file has is missing.
            Err(Lookup::Missing(missing)) if later && !missing.contains('.') => {
                if !absent.contains(&missing) {
                    absent.push(missing);
                }
            }
            Err(error) => return Err(not_found(error)),
        }
    }
    for list in ["scaling.records", "scaling.taskmanagers"] {
        let sizes = match lookup(&json, list) {
            Ok(Value::Array(sizes)) if !sizes.is_empty() => sizes,
            Ok(other) => {
                let got = quoted(other);
                return Err(field(list, format!("must be a list of sizes, got {got}")));
            }
            Err(error) => return Err(not_found(error)),
        };
        for (i, size) in sizes.iter().enumerate() {
            for (name, figure) in SCALED_FIGURES {
                let path = format!("{list}.{i}.{name}");
                let value = size
                    .get(name)
                    .ok_or_else(|| field(&path, format!("missing: {not_bench}")))?;
                check_figure(value, figure).map_err(|why| field(&path, why))?;
            }
        }
    }
    let count = |name: &str| match json.get(name) {
        Some(value) => (value.as_u64().filter(|&n| n >= 1)).ok_or_else(|| {
            field(
                name,
                format!("must be a whole number above 0, got {}", quoted(value)),
            )
        }),
        None => Err(field(name, format!("missing: {not_bench}"))),
    };
    let (repetitions, seeds) = (count("repetitions")?, count("seeds")?);
    Ok(Old {
        file: file.to_owned(),
        commit,
        repetitions,
        seeds,
        json,
        absent,
    })
}

/// Why [`lookup`] found no value.
#[derive(Debug)]
enum Lookup<'a> {
    /// The path as far as its first field missing from an object.
    Missing(String),
    /// The path as far as a value that is not an object, where a field of
    /// it was looked for, and that value.
    NotAnObject(String, &'a serde_json::Value),
}

/// The value at dotted `path` in `json`.
fn lookup<'a>(
    json: &'a serde_json::Value,
    path: &str,
) -> Result<&'a serde_json::Value, Lookup<'a>> {
    let mut value = json;
    let mut walked = String::new();
    for key in path.split('.') {
        let Some(object) = value.as_object() else {
            let at = if walked.is_empty() {
                "(the top level)".to_owned()
            } else {
                walked
            };
            return Err(Lookup::NotAnObject(at, value));
        };
        if !walked.is_empty() {
            walked.push('.');
        }
        walked.push_str(key);
        value = object
            .get(key)
            .ok_or_else(|| Lookup::Missing(walked.clone()))?;
    }
    Ok(value)
}

/// The smallest positive figure a baseline may hold: each of the bench's
/// figures (seeds/s, ratios, µs, MiB) is many orders above it, and a new
/// figure over one below it could overflow to infinity.
const MIN_FIGURE: f64 = 1e-9;

/// Whether `value` is a `figure`; if not, why.
fn check_figure(value: &serde_json::Value, figure: Figure) -> Result<(), String> {
    let number = match (value, figure) {
        (serde_json::Value::Null, Figure::PositiveOrNull) => return Ok(()),
        (serde_json::Value::Number(n), _) => n.as_f64().filter(|n| n.is_finite()),
        _ => None,
    };
    let Some(number) = number else {
        return Err(format!("must be a number, got {}", quoted(value)));
    };
    match figure {
        Figure::Share if (0.0..=1.0).contains(&number) => Ok(()),
        Figure::Share => Err(format!("must be a share from 0 to 1, got {value}")),
        _ if number >= MIN_FIGURE => Ok(()),
        _ => Err(format!(
            "must be at least {MIN_FIGURE:e} (a ratio divides by it), got {value}"
        )),
    }
}

impl Old {
    /// Errors if this run, of `repetitions` repetitions of `seeds` seeds
    /// (`quick`: `--quick`'s), measures other things than the baseline's:
    /// a quick run's figures are noise, and a full run's are not.
    fn comparable(&self, repetitions: usize, seeds: u64, quick: bool) -> anyhow::Result<()> {
        if (self.repetitions, self.seeds) == (repetitions as u64, seeds) {
            return Ok(());
        }
        let runs = |reps: u64, seeds: u64| {
            let s = if reps == 1 { "" } else { "s" };
            format!("{reps} repetition{s} of {seeds} seeds")
        };
        Err(anyhow!(
            "{}: the baseline ran {}, this run {} ({}): their figures do not compare; run both \
             with --quick or both without",
            self.file,
            runs(self.repetitions, self.seeds),
            runs(repetitions as u64, seeds),
            if quick { "--quick" } else { "without --quick" }
        ))
    }

    /// The baseline's machine, described, if it is not this one (`cores`
    /// and `cpu` as this run's `machine` has them).
    fn other_machine(&self, cores: usize, cpu: &str) -> Option<String> {
        let Some(machine) = self.json.get("machine") else {
            return Some("a machine it does not name".to_owned());
        };
        let old_cores = machine.get("cores").and_then(|c| c.as_u64());
        let old_cpu = machine.get("cpu").and_then(|c| c.as_str());
        if old_cores == Some(cores as u64) && old_cpu == Some(cpu) {
            return None;
        }
        let cores = old_cores.map_or_else(|| "? cores".to_owned(), |c| format!("{c} cores"));
        let cpu = old_cpu.map_or_else(|| "an unknown CPU".to_owned(), printable);
        Some(format!("{cores} of {cpu}, not this machine"))
    }

    /// What differs between the baseline's pinned workloads and scaling
    /// sizes and this run's (`new`, as JSON), one line each: their figures
    /// measure other workloads (a bench of another version). A workload is
    /// matched by name, a size by its records and taskmanagers.
    fn differences(&self, new: &serde_json::Value) -> Vec<String> {
        let mut lines = Vec::new();
        let by_name = |json: &serde_json::Value| -> Vec<(String, serde_json::Value)> {
            let workloads = json.get("workloads").and_then(|w| w.as_array());
            (workloads.into_iter().flatten())
                .filter_map(|w| Some((w.get("name")?.as_str()?.to_owned(), w.clone())))
                .collect()
        };
        let old_workloads = by_name(&self.json);
        for (name, workload) in by_name(new) {
            let Some((_, old)) = old_workloads.iter().find(|(n, _)| *n == name) else {
                continue;
            };
            // Each field that differs, old then new.
            let fields = (workload.as_object().into_iter().flatten())
                .filter(|(key, value)| old.get(key.as_str()) != Some(value))
                .map(|(key, value)| {
                    let was = old
                        .get(key.as_str())
                        .map_or_else(|| "none".to_owned(), quoted);
                    format!("{key} {was} then, {} now", quoted(value))
                })
                .collect::<Vec<_>>();
            if !fields.is_empty() {
                lines.push(format!(
                    "the baseline {} pins workload {} otherwise: {}",
                    printable(&self.file),
                    printable(&name),
                    fields.join(", ")
                ));
            }
        }
        for list in ["records", "taskmanagers"] {
            let unmatched: Vec<String> = sizes(new, list)
                .into_iter()
                .filter(|size| !sizes(&self.json, list).contains(size))
                .map(|(r, t)| format!("{r} records and {t} taskmanagers"))
                .collect();
            if !unmatched.is_empty() {
                lines.push(format!(
                    "the baseline {} has no scaling.{list} size of {}: no ratio for {}",
                    printable(&self.file),
                    unmatched.join(", "),
                    if unmatched.len() == 1 { "it" } else { "them" }
                ));
            }
        }
        lines
    }

    /// Each figure of `new` (this run, as JSON) over the baseline's; a
    /// scaling size's over the baseline's size of the same records and
    /// taskmanagers, under this run's index.
    fn compare(&self, new: &serde_json::Value) -> Baseline {
        let mut ratios = std::collections::BTreeMap::new();
        ratios_of(&self.json, new, String::new(), &mut ratios);
        Baseline {
            commit: self.commit.clone(),
            ratios,
        }
    }
}

/// The (records, taskmanagers) of each size of `json`'s `scaling.list`.
fn sizes(json: &serde_json::Value, list: &str) -> Vec<(u64, u64)> {
    let sizes = json
        .get("scaling")
        .and_then(|s| s.get(list))
        .and_then(|l| l.as_array());
    (sizes.into_iter().flatten())
        .map(|size| {
            let field = |name: &str| size.get(name).and_then(|v| v.as_u64()).unwrap_or(0);
            (field("records"), field("taskmanagers"))
        })
        .collect()
}

/// Every number at the same path in `old` and `new`, skipping the
/// settings ([`is_setting`]): its ratio, new over old. Arrays pair by
/// index, but a scaling list's sizes by their records and taskmanagers.
fn ratios_of(
    old: &serde_json::Value,
    new: &serde_json::Value,
    path: String,
    out: &mut std::collections::BTreeMap<String, f64>,
) {
    use serde_json::Value;
    let join = |key: &str| match path.is_empty() {
        true => key.to_owned(),
        false => format!("{path}.{key}"),
    };
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            for (key, nv) in n {
                if is_setting(&path, key) {
                    continue;
                }
                if let Some(ov) = o.get(key) {
                    ratios_of(ov, nv, join(key), out);
                }
            }
        }
        (Value::Array(o), Value::Array(n)) if path.starts_with("scaling.") => {
            let size = |v: &Value| (v.get("records").cloned(), v.get("taskmanagers").cloned());
            for (i, nv) in n.iter().enumerate() {
                if let Some(ov) = o.iter().find(|ov| size(ov) == size(nv)) {
                    ratios_of(ov, nv, join(&i.to_string()), out);
                }
            }
        }
        (Value::Array(o), Value::Array(n)) => {
            for (i, (ov, nv)) in o.iter().zip(n).enumerate() {
                ratios_of(ov, nv, join(&i.to_string()), out);
            }
        }
        (Value::Number(o), Value::Number(n)) => {
            if let (Some(o), Some(n)) = (o.as_f64(), n.as_f64()) {
                if o != 0.0 {
                    out.insert(path, n / o);
                }
            }
        }
        _ => {}
    }
}

/// `text` with its control characters escaped, to print what a file says
/// (a baseline's commit or CPU) without its escape sequences acting.
fn printable(text: &str) -> String {
    text.chars()
        .flat_map(|c| match c.is_control() {
            true => c.escape_default().collect::<Vec<_>>(),
            false => vec![c],
        })
        .collect()
}

/// A ratio as the table prints it: three decimals, or three significant
/// digits in scientific notation far from 1.
fn ratio_text(ratio: f64) -> String {
    match (1e-3..1e4).contains(&ratio) {
        true => format!("{ratio:.3}x"),
        false => format!("{ratio:.3e}x"),
    }
}

/// `d` rounded up to the millisecond.
fn ceil_ms(d: Duration) -> Duration {
    let ms = d.as_nanos().div_ceil(1_000_000);
    Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
}

/// The CPU's model name from /proc/cpuinfo, or `unknown`.
fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .and_then(|rest| rest.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

fn human(b: &Bench) -> String {
    let mut s = String::new();
    let rate = |r: &Rate| {
        format!(
            "{:>8.1} seeds/s  {:>7.1} simulated s per wall s  ({} thread{})",
            r.seeds_per_second,
            r.sim_seconds_per_wall_second,
            r.threads,
            if r.threads == 1 { "" } else { "s" }
        )
    };
    // Writing to a String cannot fail.
    let _ = writeln!(s, "commit     {}", b.commit);
    let _ = writeln!(s, "machine    {} cores, {}", b.machine.cores, b.machine.cpu);
    let _ = writeln!(
        s,
        "runs       median of {} repetition{} of seeds 0..{}, after a warm-up of {:.1} s",
        b.repetitions,
        if b.repetitions == 1 { "" } else { "s" },
        b.seeds,
        b.warm_up_seconds
    );
    let _ = writeln!(s, "\nworkloads");
    let width = b.workloads.iter().map(|w| w.name.len()).max().unwrap_or(0);
    for w in &b.workloads {
        let _ = writeln!(
            s,
            "  {:<width$} {} records at {}/s per source (batches of {}), checkpoint every {} ms, {} \
             taskmanagers, parallelism {}, faults: {}",
            w.name,
            w.records,
            w.rate,
            w.batch,
            w.checkpoint_interval_ms,
            w.taskmanagers,
            w.parallelism,
            w.faults
        );
        if w.memory_threshold > 0 {
            let _ = writeln!(
                s,
                "  {:<width$} snapshots under {} bytes kept inline in the metadata",
                "", w.memory_threshold
            );
        }
    }
    let _ = writeln!(s, "\nfigures");
    let _ = writeln!(s, "  taskmanager-crash  {}", rate(&b.taskmanager_crash));
    let _ = writeln!(
        s,
        "  taskmanager-crash  {}",
        rate(&b.taskmanager_crash_all_cores)
    );
    let _ = writeln!(
        s,
        "  taskmanager-crash  {}  at the scenario's rate",
        rate(&b.taskmanager_crash_scenario_rate)
    );
    let _ = writeln!(s, "  nemesis-mixed      {}", rate(&b.nemesis_mixed));
    let _ = writeln!(
        s,
        "  parallel speedup     {:.2}x (all cores over one thread)",
        b.parallel_speedup
    );
    let _ = writeln!(
        s,
        "  checkpoint overhead  {:.2}x (every {} ms over one checkpoint, after the input; \
         repetitions {:.2}x to {:.2}x; each seed's fastest runs {:.3}x)",
        b.checkpoint_overhead,
        CHECKPOINT_INTERVAL.as_millis(),
        b.checkpoint_overhead_spread.lowest,
        b.checkpoint_overhead_spread.highest,
        b.checkpoint_overhead_fastest
    );
    let _ = writeln!(
        s,
        "  checkpoint overhead  {:.2}x (the same, each snapshot inline in the metadata below {} \
         bytes; repetitions {:.2}x to {:.2}x; each seed's fastest runs {:.3}x)",
        b.checkpoint_overhead_inline_state,
        FLINK_MEMORY_THRESHOLD,
        b.checkpoint_overhead_inline_state_spread.lowest,
        b.checkpoint_overhead_inline_state_spread.highest,
        b.checkpoint_overhead_inline_state_fastest
    );
    let o = &b.simulation_overhead;
    let _ = writeln!(
        s,
        "  simulation overhead  {:.2}x ({} records of steady in turmoil, {:.1} ms, over its \
         operators in-process, {:.1} ms)",
        o.ratio,
        o.records,
        o.simulated_seconds * 1e3,
        o.in_process_seconds * 1e3
    );
    let _ = writeln!(
        s,
        "  host steps           {:.2} µs per host per step, {:.0} % skipped as idle \
         (taskmanager-crash, 1 thread)",
        b.taskmanager_crash.us_per_host_step,
        b.taskmanager_crash.idle_host_steps_skipped * 100.0
    );
    let _ = writeln!(
        s,
        "\nscaling (taskmanager-crash, seed 0, a child process each)"
    );
    for r in b.scaling.records.iter().chain(&b.scaling.taskmanagers) {
        let memory = match r.peak_memory_bytes {
            Some(bytes) => format!("{:.0} MiB peak", bytes as f64 / (1 << 20) as f64),
            None => "peak memory unknown".to_owned(),
        };
        let _ = writeln!(
            s,
            "  {:>9} records, {:>2} taskmanagers  {:>8.2} seeds/s  {:>7.1} simulated s per wall s  {}",
            r.records, r.taskmanagers, r.seeds_per_second, r.sim_seconds_per_wall_second, memory
        );
    }
    if let Some(base) = &b.baseline {
        let _ = writeln!(
            s,
            "\nagainst the baseline (commit {}), new over old",
            printable(&base.commit.chars().take(QUOTED_CHARS).collect::<String>())
        );
        let width = base.ratios.keys().map(String::len).max().unwrap_or(0);
        for (figure, ratio) in &base.ratios {
            let _ = writeln!(s, "  {figure:<width$} {}", ratio_text(*ratio));
        }
    }
    let _ = writeln!(s, "\nwall time  {:.1} s", b.wall_seconds);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A rate as the bench writes it.
    fn rate() -> serde_json::Value {
        json!({
            "seeds_per_second": 30.5,
            "sim_seconds_per_wall_second": 40.0,
            "threads": 1,
            "us_per_host_step": 0.8,
            "idle_host_steps_skipped": 0.6,
        })
    }

    /// A baseline with every figure of today's bench.
    fn full_baseline() -> serde_json::Value {
        let size = |records: u64, taskmanagers: u32| {
            json!({
                "records": records,
                "taskmanagers": taskmanagers,
                "seeds_per_second": 2.0,
                "sim_seconds_per_wall_second": 3.0,
                "peak_memory_bytes": 1_000_000,
            })
        };
        json!({
            "commit": "abc",
            "machine": { "cores": 2, "cpu": "unknown" },
            "repetitions": 7,
            "seeds": 40,
            "workloads": [],
            "taskmanager_crash": rate(),
            "taskmanager_crash_all_cores": rate(),
            "taskmanager_crash_scenario_rate": rate(),
            "nemesis_mixed": rate(),
            "parallel_speedup": 1.9,
            "checkpoint_overhead": 1.14,
            "checkpoint_overhead_spread": { "lowest": 1.1, "highest": 1.2 },
            "checkpoint_overhead_fastest": 1.13,
            "checkpoint_overhead_inline_state": 1.1,
            "checkpoint_overhead_inline_state_spread": { "lowest": 1.0, "highest": 1.2 },
            "checkpoint_overhead_inline_state_fastest": 1.09,
            "simulation_overhead": {
                "records": 1_000_000,
                "simulated_seconds": 2.0,
                "in_process_seconds": 0.5,
                "ratio": 4.0,
            },
            "scaling": {
                "records": [size(10_000, 2), size(100_000, 2)],
                "taskmanagers": [size(10_000, 2), size(10_000, 8)],
            },
            "wall_seconds": 100.0,
        })
    }

    /// `edit` applied to a full baseline, checked as `old.json`.
    fn check(edit: impl FnOnce(&mut serde_json::Value)) -> Result<Old, String> {
        let mut json = full_baseline();
        edit(&mut json);
        check_baseline("old.json", json)
    }

    #[test]
    fn a_full_baseline_is_accepted_and_compared() {
        let old = check(|_| {}).expect("a full baseline");
        assert_eq!((old.commit.as_str(), old.absent.len()), ("abc", 0));
        let mut new = full_baseline();
        new["taskmanager_crash"]["seeds_per_second"] = json!(61.0);
        let ratios = old.compare(&new).ratios;
        assert_eq!(ratios["taskmanager_crash.seeds_per_second"], 2.0);
        assert_eq!(ratios["scaling.taskmanagers.1.seeds_per_second"], 1.0);
        // Settings are not figures: a size's records and taskmanagers, the
        // overhead's records, a rate's threads, the run's counts.
        for setting in [
            "seeds",
            "scaling.taskmanagers.1.taskmanagers",
            "scaling.records.0.records",
            "simulation_overhead.records",
            "taskmanager_crash.threads",
        ] {
            assert!(!ratios.contains_key(setting), "{setting}: {ratios:?}");
        }
        assert_eq!((old.repetitions, old.seeds), (7, 40));
        assert!(old.differences(&new).is_empty());
    }

    /// A scaling size is compared with the baseline's size of the same
    /// records and taskmanagers, wherever it is in the list; a size the
    /// baseline lacks gets no ratio, and stderr says so.
    #[test]
    fn scaling_sizes_pair_by_size_not_by_place() {
        let old = check(|_| {}).expect("a full baseline");
        let mut new = full_baseline();
        let sizes = new["scaling"]["records"].as_array_mut().unwrap();
        sizes.reverse();
        sizes[0]["seeds_per_second"] = json!(4.0);
        sizes.push(json!({
            "records": 1_000_000, "taskmanagers": 2, "seeds_per_second": 1.0,
            "sim_seconds_per_wall_second": 1.0, "peak_memory_bytes": null,
        }));
        let ratios = old.compare(&new).ratios;
        // New index 0 is the baseline's 100,000 records, at index 1.
        assert_eq!(ratios["scaling.records.0.seeds_per_second"], 2.0);
        assert_eq!(ratios["scaling.records.1.seeds_per_second"], 1.0);
        assert!(!ratios.contains_key("scaling.records.2.seeds_per_second"));
        let differences = old.differences(&new);
        assert_eq!(
            differences,
            [
                "the baseline old.json has no scaling.records size of 1000000 records and 2 \
              taskmanagers: no ratio for it"
            ]
        );
        new["workloads"] = json!([{ "name": "steady", "records": 20, "rate": 5 }]);
        let mut old_json = full_baseline();
        old_json["workloads"] = json!([{ "name": "steady", "records": 10, "rate": 5 }]);
        let old = check_baseline("old.json", old_json).expect("valid");
        assert_eq!(
            old.differences(&new)[0],
            "the baseline old.json pins workload steady otherwise: records 10 then, 20 now"
        );
    }

    /// A quick run and a full one measure other things: refused before
    /// anything is measured.
    #[test]
    fn a_baseline_of_other_repetitions_or_seeds_is_refused() {
        let old = check(|_| {}).expect("a full baseline");
        old.comparable(7, 40, false).expect("the same counts");
        let error = old
            .comparable(1, 2, true)
            .expect_err("--quick against a full run");
        assert_eq!(
            error.to_string(),
            "old.json: the baseline ran 7 repetitions of 40 seeds, this run 1 repetition of 2 \
             seeds (--quick): their figures do not compare; run both with --quick or both without"
        );
        for (field, value) in [("seeds", json!(0)), ("repetitions", json!("7"))] {
            let error = check(|j| j[field] = value.clone()).expect_err(field);
            assert!(
                error.starts_with(&format!(
                    "old.json: field `{field}`: must be a whole number"
                )),
                "{error}"
            );
        }
        assert_eq!(old.other_machine(2, "unknown"), None);
        assert_eq!(
            old.other_machine(4, "unknown").as_deref(),
            Some("2 cores of unknown, not this machine")
        );
    }

    #[test]
    fn a_ratio_prints_with_three_decimals_or_three_significant_digits() {
        assert_eq!(ratio_text(1.0), "1.000x");
        assert_eq!(ratio_text(0.0042), "0.004x");
        assert_eq!(ratio_text(1e-300), "1.000e-300x");
        assert_eq!(ratio_text(204186288543.6), "2.042e11x");
        assert_eq!(printable("ab\u{1b}[31m\nc"), "ab\\u{1b}[31m\\nc");
        let long = json!("x".repeat(1_000_000));
        let text = quoted(&long);
        assert!(
            text.len() < 100 && text.ends_with("... (1000002 bytes)"),
            "{text}"
        );
    }

    #[test]
    fn a_figure_missing_or_not_a_positive_number_is_an_error_naming_file_and_field() {
        let cases: [(&str, serde_json::Value, &str); 7] = [
            ("taskmanager_crash", json!(0), "must be at least 1e-9"),
            // Positive, but a new figure over it overflows to infinity.
            ("taskmanager_crash", json!(5e-324), "must be at least 1e-9"),
            ("taskmanager_crash", json!(-5), "must be at least 1e-9"),
            (
                "taskmanager_crash",
                json!("fast"),
                "must be a number, got \"fast\"",
            ),
            (
                "taskmanager_crash",
                json!(null),
                "must be a number, got null",
            ),
            ("nemesis_mixed", json!(-0.0), "must be at least 1e-9"),
            (
                "taskmanager_crash_all_cores",
                json!(true),
                "must be a number",
            ),
        ];
        for (rate, value, says) in cases {
            let error = check(|j| j[rate]["seeds_per_second"] = value.clone()).expect_err(rate);
            let expected = format!("old.json: field `{rate}.seeds_per_second`: {says}");
            assert!(error.starts_with(&expected), "{value}: {error}");
        }
        let error = check(|j| {
            j["taskmanager_crash"]
                .as_object_mut()
                .unwrap()
                .remove("seeds_per_second");
        })
        .expect_err("a missing figure");
        assert_eq!(
            error,
            "old.json: field `taskmanager_crash.seeds_per_second`: missing: not the JSON of \
             `flinch bench --json`"
        );
        let error = check(|j| {
            j.as_object_mut().unwrap().remove("taskmanager_crash");
        })
        .expect_err("a missing rate");
        assert!(
            error.starts_with("old.json: field `taskmanager_crash`: missing"),
            "{error}"
        );
        let error = check(|j| j["taskmanager_crash"]["idle_host_steps_skipped"] = json!(1.5))
            .expect_err("a share above 1");
        assert!(
            error.contains("must be a share from 0 to 1, got 1.5"),
            "{error}"
        );
        let error = check(|j| j["scaling"]["records"][1]["seeds_per_second"] = json!(0.0))
            .expect_err("a scaling figure of 0");
        assert!(
            error.starts_with("old.json: field `scaling.records.1.seeds_per_second`"),
            "{error}"
        );
        let error = check(|j| j["scaling"]["taskmanagers"] = json!([])).expect_err("no sizes");
        assert!(
            error.contains("`scaling.taskmanagers`: must be a list"),
            "{error}"
        );
        let error = check(|j| j["commit"] = json!(5)).expect_err("a commit of 5");
        assert_eq!(error, "old.json: field `commit`: must be a string, got 5");
        let error = check_baseline("old.json", json!([1, 2])).expect_err("no object");
        assert!(error.contains("no `commit` field"), "{error}");
    }

    #[test]
    fn a_figure_added_after_an_older_baseline_is_named_not_refused() {
        let old = check(|j| {
            let o = j.as_object_mut().unwrap();
            o.remove("checkpoint_overhead_fastest");
            o.remove("simulation_overhead");
            o.remove("taskmanager_crash_scenario_rate");
        })
        .expect("an older baseline");
        assert_eq!(
            old.absent,
            [
                "taskmanager_crash_scenario_rate",
                "checkpoint_overhead_fastest",
                "simulation_overhead"
            ]
        );
        // A later figure's field, present, must be what it is.
        for (edit, says) in [
            (
                json!(5),
                "field `simulation_overhead`: must be an object, got 5",
            ),
            (json!({}), "field `simulation_overhead.records`: missing"),
        ] {
            let error = check(|j| j["simulation_overhead"] = edit.clone()).expect_err(says);
            assert!(error.starts_with(&format!("old.json: {says}")), "{error}");
        }
        let error = check(|j| {
            j["taskmanager_crash_scenario_rate"]
                .as_object_mut()
                .unwrap()
                .remove("seeds_per_second");
        })
        .expect_err("a part of a later rate");
        assert!(
            error.contains("`taskmanager_crash_scenario_rate.seeds_per_second`: missing"),
            "{error}"
        );
        // A figure it has must still be good.
        let error = check(|j| {
            j.as_object_mut()
                .unwrap()
                .remove("checkpoint_overhead_fastest");
            j["checkpoint_overhead_inline_state"] = json!("1.1");
        })
        .expect_err("a string");
        assert!(error.contains("`checkpoint_overhead_inline_state`: must be a number"));
        // No share skipped and no peak memory: allowed, no ratio.
        let old = check(|j| {
            j["nemesis_mixed"]["idle_host_steps_skipped"] = json!(0.0);
            j["scaling"]["records"][0]["peak_memory_bytes"] = json!(null);
        })
        .expect("a share of 0, a null peak");
        let ratios = old.compare(&full_baseline()).ratios;
        assert!(!ratios.contains_key("nemesis_mixed.idle_host_steps_skipped"));
        assert!(!ratios.contains_key("scaling.records.0.peak_memory_bytes"));
    }

    #[test]
    fn a_baseline_that_cannot_be_read_or_is_not_json_is_refused_naming_it() {
        let dir =
            std::env::temp_dir().join(format!("flinch-bench-baseline-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.json");
        let error = format!("{:#}", read_baseline(&missing).expect_err("no such file"));
        assert!(
            error.contains(&format!("reading the baseline {}", missing.display())),
            "{error}"
        );
        let error = format!("{:#}", read_baseline(&dir).expect_err("a directory"));
        assert!(
            error.contains(&format!("reading the baseline {}", dir.display())),
            "{error}"
        );
        let text = dir.join("text.json");
        std::fs::write(&text, "not json").unwrap();
        let error = format!("{:#}", read_baseline(&text).expect_err("not JSON"));
        assert!(
            error.contains("not the JSON of `flinch bench --json`"),
            "{error}"
        );
        let big = dir.join("big.json");
        std::fs::write(&big, vec![b' '; MAX_BASELINE_BYTES as usize + 1]).unwrap();
        let error = format!("{:#}", read_baseline(&big).expect_err("too large"));
        assert!(error.contains("larger than 1024 KiB"), "{error}");
        let good = dir.join("good.json");
        std::fs::write(&good, full_baseline().to_string()).unwrap();
        assert_eq!(
            read_baseline(&good).expect("a good file").file,
            good.display().to_string()
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A failing seed's error names the workload and a replay command of a
    /// file that holds its scenario as the bench pinned it.
    #[test]
    fn a_failing_seed_says_how_to_replay_it() {
        let (_, inline) = pinned_with("steady-100ms-inline-state", "steady", |s| {
            s.config.checkpoint.interval = CHECKPOINT_INTERVAL;
            s.config.checkpoint.memory_threshold = FLINK_MEMORY_THRESHOLD;
        })
        .expect("a valid scenario");
        let error = format!("{:#}", failed_seed(&inline, 3));
        let path = std::env::temp_dir().join(format!(
            "flinch-bench-steady-100ms-inline-state-{}.toml",
            std::process::id()
        ));
        let replay = format!("flinch replay {} --seed 3", path.display());
        assert!(
            error.contains("seed 3 of the bench's workload steady-100ms-inline-state failed")
                && error.contains(&replay),
            "{error}"
        );
        let text = std::fs::read_to_string(&path).expect("the scenario written");
        let written = parse(&text, "replay").expect("a valid scenario");
        assert_eq!(render(&written), render(&inline));
        assert_eq!(
            written.config.checkpoint.memory_threshold,
            FLINK_MEMORY_THRESHOLD
        );
        let _ = std::fs::remove_file(&path);
    }

    /// The overhead figure refuses a run "without checkpoints" that took
    /// several: its interval did not leave one after the input.
    #[test]
    fn a_run_without_checkpoints_that_took_several_is_refused() {
        let (_, every_100ms) = pinned_with("steady-100ms", "steady", |s| {
            s.config.workload.records = 2_000;
            s.config.checkpoint.interval = CHECKPOINT_INTERVAL;
        })
        .expect("a valid scenario");
        let err = overhead(&every_100ms, &every_100ms, 1, 1).expect_err("several checkpoints");
        assert!(err.to_string().contains("checkpoints"), "{err}");
        let (_, only_final) = pinned_with("steady-final-only", "steady", |s| {
            s.config.workload.records = 2_000;
            let input = flinch_engine::workload::nominal_duration(&s.config.workload);
            s.config.checkpoint.interval = ceil_ms(input + CHECKPOINT_INTERVAL);
        })
        .expect("a valid scenario");
        let one = overhead(&every_100ms, &only_final, 1, 1).expect("one checkpoint");
        assert!(one.median > 0.0);
        // One repetition: it is the median, the lowest and the highest,
        // and each seed's fastest run is its only one.
        let spread = one.spread;
        assert_eq!((spread.lowest, spread.highest), (one.median, one.median));
        assert_eq!(one.fastest, one.median);
    }

    /// The median and spread are of the repetitions' ratios; the fastest
    /// figure takes each seed's fastest run of each side on its own, which
    /// no single repetition need hold (here neither does).
    #[test]
    fn the_figures_of_several_repetitions() {
        let ms = Duration::from_millis;
        let mut fastest = Fastest::new(2).expect("two seeds");
        // Repetition 0: seed 0 fast with checkpoints, seed 1 slow.
        fastest.record(0, ms(10), ms(20)).expect("seed 0");
        fastest.record(1, ms(40), ms(10)).expect("seed 1");
        // Repetition 1: the other way round.
        fastest.record(0, ms(30), ms(10)).expect("seed 0");
        fastest.record(1, ms(20), ms(30)).expect("seed 1");
        assert!(
            fastest.record(2, ms(1), ms(1)).is_err(),
            "seed 2 is not one"
        );
        let o = Overheads::of(vec![1.4, 1.2, 1.3], &fastest);
        assert_eq!(o.median, 1.3);
        assert_eq!((o.spread.lowest, o.spread.highest), (1.2, 1.4));
        // Fastest: with 10 + 20, without 10 + 10; either repetition alone
        // gives 50/30 (5/3) or 50/40 (5/4).
        assert_eq!(o.fastest, 1.5);
    }
}
