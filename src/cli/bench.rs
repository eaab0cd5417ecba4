//! `flinch bench [--json] [--quick]`: how many fault schedules flinch
//! explores per second, measured in one process and one run (issue 13;
//! BENCHMARKS.md holds the figures and how to reproduce them).
//!
//! Every figure is the median of [`REPS`] repetitions of a pinned
//! workload, and every ratio compares two runs of this same process, so a
//! figure means the same on another machine only as a ratio. Seeds run
//! through [`run_parallel`], on worker threads as `flinch run` runs them;
//! "one thread" is one worker.

use super::exec::{run_parallel, HasSeed};
use super::seeds::default_jobs;
use super::{load_scenario, Output, EXIT_PASSED};
use anyhow::{anyhow, Context as _};
use clap::Args;
use flinch_harness::budget::default_max_sim_time;
use flinch_harness::plan::render;
use flinch_harness::scenario::{parse, Scenario};
use flinch_harness::seed::run_seed;
use serde::Serialize;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// Repetitions of each measurement; its figure is their median.
pub const REPS: usize = 5;
/// Seeds of each repetition.
pub const SEEDS: u64 = 40;
/// `--quick`: one repetition of 2 seeds, for a smoke test of the command
/// (its figures are noise).
const QUICK_REPS: usize = 1;
const QUICK_SEEDS: u64 = 2;
/// The input of every pinned workload, in records.
pub const RECORDS: u64 = 10_000;
/// The checkpoint interval whose cost the checkpoint-overhead ratio gives.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(100);

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Print one JSON object (fields in README.md, "`flinch bench`").
    #[arg(long)]
    pub json: bool,
    /// One repetition of 2 seeds per figure: checks the command works;
    /// its figures mean nothing.
    #[arg(long)]
    pub quick: bool,
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
    /// The longest seed, in simulated time.
    #[serde(skip)]
    longest_seed: Duration,
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
    workloads: Vec<Pinned>,
    /// `taskmanager-crash`, one worker thread.
    taskmanager_crash: Rate,
    /// `taskmanager-crash`, one worker per core.
    taskmanager_crash_all_cores: Rate,
    /// `nemesis-mixed`, one worker thread.
    nemesis_mixed: Rate,
    /// All cores over one thread, on `taskmanager-crash`.
    parallel_speedup: f64,
    /// Wall time of `steady` with a checkpoint every 100 ms over the same
    /// with only its final checkpoint.
    checkpoint_overhead: f64,
    /// Wall time of the whole bench, in seconds.
    wall_seconds: f64,
}

pub fn bench(args: &BenchArgs) -> anyhow::Result<Output> {
    let started = Instant::now();
    let (reps, seeds) = if args.quick {
        (QUICK_REPS, QUICK_SEEDS)
    } else {
        (REPS, SEEDS)
    };
    let cores = default_jobs();
    let crash = pinned("taskmanager-crash", "taskmanager-crash", None)?;
    let nemesis = pinned("nemesis-mixed", "nemesis-mixed", None)?;
    let checkpointed = pinned("steady-100ms", "steady", Some(CHECKPOINT_INTERVAL))?;
    let say = |what: &str| {
        if !args.json {
            eprintln!("flinch: bench: {what}");
        }
    };
    say("taskmanager-crash, one thread");
    let one = measure(&crash.1, seeds, reps, 1)?;
    say("taskmanager-crash, all cores");
    let all = measure(&crash.1, seeds, reps, cores)?;
    say("nemesis-mixed, one thread");
    let mixed = measure(&nemesis.1, seeds, reps, 1)?;
    say("checkpoint overhead");
    let with = measure(&checkpointed.1, seeds, reps, 1)?;
    // The engine takes a checkpoint at each interval and the job ends with
    // the first one after its input: an interval as long as the longest
    // checkpointed run gives one checkpoint, right after the input ends,
    // and runs as long in simulated time.
    let only_final = ceil_ms(with.longest_seed);
    let unchecked = pinned("steady-final-only", "steady", Some(only_final))?;
    let without = measure(&unchecked.1, seeds, reps, 1)?;
    let bench = Bench {
        commit: env!("FLINCH_GIT_COMMIT"),
        machine: Machine {
            cores,
            cpu: cpu_model(),
        },
        repetitions: reps,
        seeds,
        workloads: vec![crash.0, nemesis.0, checkpointed.0, unchecked.0],
        taskmanager_crash: one,
        taskmanager_crash_all_cores: all,
        nemesis_mixed: mixed,
        parallel_speedup: all.seeds_per_second / one.seeds_per_second,
        checkpoint_overhead: without.seeds_per_second / with.seeds_per_second,
        wall_seconds: started.elapsed().as_secs_f64(),
    };
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

/// A built-in scenario with [`RECORDS`] records (and `interval`, if
/// given), read back through the scenario parser so it is a valid one.
fn pinned(
    name: &'static str,
    builtin: &'static str,
    interval: Option<Duration>,
) -> anyhow::Result<(Pinned, Scenario)> {
    let mut scenario = load_scenario(builtin, None)?;
    scenario.config.workload.records = RECORDS;
    if let Some(interval) = interval {
        scenario.config.checkpoint.interval = interval;
    }
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
        taskmanagers: c.topology.taskmanagers,
        parallelism: c.topology.parallelism,
        faults,
    };
    Ok((pinned, scenario))
}

/// Run seeds `0..seeds` of `scenario` on `threads` workers, `reps` times;
/// the median repetition by wall time. Errors: a seed that fails (a bench
/// of a failing workload measures the failure, not the harness).
fn measure(scenario: &Scenario, seeds: u64, reps: usize, threads: usize) -> anyhow::Result<Rate> {
    let mut runs = Vec::with_capacity(reps);
    for _ in 0..reps {
        let started = Instant::now();
        let ran = run_parallel(
            0..seeds,
            threads,
            |seed| {
                let report = run_seed(scenario, seed);
                Ran {
                    seed,
                    passed: report.passed,
                    sim: report.sim_time,
                }
            },
            |_| {},
        )?;
        let wall = started.elapsed();
        if let Some(failed) = ran.iter().find(|r| !r.passed) {
            return Err(anyhow!(
                "seed {} of the bench's {} failed; run it: flinch replay {} --seed {}",
                failed.seed,
                scenario.name,
                scenario.name,
                failed.seed
            ))
            .context("a bench workload must pass");
        }
        let sim: Duration = ran.iter().map(|r| r.sim).sum();
        let longest = ran.iter().map(|r| r.sim).max().unwrap_or_default();
        runs.push((wall, sim, longest));
    }
    runs.sort();
    let (wall, sim, longest_seed) = runs[runs.len() / 2];
    let wall = wall.as_secs_f64().max(f64::MIN_POSITIVE);
    Ok(Rate {
        seeds_per_second: seeds as f64 / wall,
        sim_seconds_per_wall_second: sim.as_secs_f64() / wall,
        threads,
        longest_seed,
    })
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
        "runs       median of {} repetitions of seeds 0..{}",
        b.repetitions, b.seeds
    );
    let _ = writeln!(s, "\nworkloads");
    for w in &b.workloads {
        let _ = writeln!(
            s,
            "  {:<20} {} records at {}/s per source (batches of {}), checkpoint every {} ms, {} \
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
    }
    let _ = writeln!(s, "\nfigures");
    let _ = writeln!(s, "  taskmanager-crash  {}", rate(&b.taskmanager_crash));
    let _ = writeln!(
        s,
        "  taskmanager-crash  {}",
        rate(&b.taskmanager_crash_all_cores)
    );
    let _ = writeln!(s, "  nemesis-mixed      {}", rate(&b.nemesis_mixed));
    let _ = writeln!(
        s,
        "  parallel speedup     {:.2}x (all cores over one thread)",
        b.parallel_speedup
    );
    let _ = writeln!(
        s,
        "  checkpoint overhead  {:.2}x (every {} ms over one checkpoint, after the input)",
        b.checkpoint_overhead,
        CHECKPOINT_INTERVAL.as_millis()
    );
    let _ = writeln!(s, "\nwall time  {:.1} s", b.wall_seconds);
    s
}
