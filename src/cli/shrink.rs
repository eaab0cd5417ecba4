//! `flinch shrink <SCENARIO> --seed S [--max-runs N] [--json]`
//!
//! Runs the seed; if it fails, shrinks its fault plan (see
//! `flinch_harness::shrink`) and prints the smallest plan that still fails
//! the same way as a complete scenario file: the original scenario with the
//! shrunk plan as its faults, no nemesis, and the seed as its range. A
//! comment block on top says how it was found and how to replay it.
//!
//! Exit codes: 0 a failing plan was printed (1-minimal unless the run
//! budget ran out, which stderr says), 1 the seed passes (nothing to
//! shrink), 2 a usage or scenario-file error.

use super::{exec, load_scenario, seeds, Output, EXIT_FAILED, EXIT_PASSED};
use crate::report::plural;
use anyhow::anyhow;
use clap::Args;
use flinch_harness::plan;
use flinch_harness::scenario::{Scenario, SeedRange};
use flinch_harness::shrink::{self, Progress, ShrinkError, ShrinkReport};
use flinch_harness::violation::{Tally, Violation};
use serde::Serialize;
use std::fmt::Write as _;
use std::io::Write as _;
use std::thread;
use std::time::{Duration, Instant};

/// Progress on stderr at most this often.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

#[derive(Args, Debug)]
pub struct ShrinkArgs {
    /// A built-in scenario (see `flinch list`) or the path of a .toml file.
    pub scenario: String,
    /// The failing seed whose plan to shrink.
    #[arg(long, value_name = "S", value_parser = seeds::parse_seed)]
    pub seed: u64,
    /// Run at most N plans while shrinking.
    #[arg(long, value_name = "N", default_value_t = shrink::MAX_RUNS, value_parser = parse_runs)]
    pub max_runs: usize,
    /// Print one JSON object (with the scenario file as "toml") instead.
    #[arg(long)]
    pub json: bool,
    /// Run this job instead of the scenario's own: a name (`dedup`, with its
    /// default parameters; see `flinch list --jobs`) or a TOML inline table
    /// (`{ name = "windowed-sum", window = "2s" }`).
    #[arg(long, value_name = "JOB")]
    pub job: Option<String>,
}

fn parse_runs(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) | Err(_) => Err(format!(
            "expected a number of runs (1 or more), got \"{}\"",
            s.trim()
        )),
        Ok(n) => Ok(n),
    }
}

pub fn shrink(args: &ShrinkArgs) -> anyhow::Result<Output> {
    let scenario = load_scenario(&args.scenario, args.job.as_deref())?;
    let seed = args.seed;
    let mut progress = StderrProgress::new(!args.json, &scenario.name, seed);
    let result = shrink_on_worker(
        &scenario,
        seed,
        args.max_runs,
        |p| progress.report(p),
        &|| false,
    )?;
    let report = match result {
        Ok(report) => report,
        Err(ShrinkError::Passes { .. }) => {
            // Stdout holds a shrunk scenario (`> case.toml`) or JSON:
            // without `--json`, the reason goes to stderr and the file
            // stays empty.
            let stdout = if args.json {
                let json =
                    serde_json::json!({"scenario": scenario.name, "seed": seed, "passed": true});
                format!("{json}\n")
            } else {
                eprintln!("seed {seed} of {} passes: nothing to shrink", scenario.name);
                String::new()
            };
            return Ok(Output {
                stdout,
                code: EXIT_FAILED,
            });
        }
        Err(e) => return Err(anyhow!("{e}")),
    };
    let shrunk = shrink::shrunk_scenario(&scenario, &report);
    let toml = plan::render(&shrunk);
    let replay = replay_hint(seed);
    if !args.json {
        let _ = writeln!(
            std::io::stderr(),
            "flinch: shrunk seed {seed} of {} from {} to {} fault{} in {} runs{}\n\
             flinch: replay: save stdout as shrunk.toml, then: {replay}",
            scenario.name,
            report.original.len(),
            report.shrunk.plan.len(),
            plural(report.shrunk.plan.len()),
            report.shrunk.runs,
            if report.shrunk.exhausted {
                " (run budget spent: a smaller plan may exist; raise --max-runs)"
            } else {
                ""
            }
        );
    }
    let stdout = if args.json {
        let json = ShrinkJson {
            scenario: &scenario.name,
            seed,
            passed: false,
            failure: failure_names(&report),
            original_faults: report.original.len(),
            original_savepoints: report.original_savepoints,
            savepoints: report.savepoints.len(),
            plan: report.shrunk.plan.iter().map(plan::fault_json).collect(),
            runs: report.shrunk.runs,
            minimal: !report.shrunk.exhausted,
            violations: &report.report.violations,
            toml: &toml,
            replay,
        };
        let mut s = serde_json::to_string(&json)?;
        s.push('\n');
        s
    } else {
        format!(
            "{}{toml}",
            header(
                &args.scenario,
                args.job.as_deref(),
                &report,
                "shrunk.toml",
                &replay
            )
        )
    };
    Ok(Output {
        stdout,
        code: EXIT_PASSED,
    })
}

/// Shrink on a thread with the stack `flinch run` gives each seed; `stop`
/// (Ctrl-C in `flinch run`) ends it early with [`ShrinkError::Stopped`].
pub fn shrink_on_worker(
    scenario: &Scenario,
    seed: u64,
    max_runs: usize,
    mut progress: impl FnMut(Progress) + Send,
    stop: &(dyn Fn() -> bool + Sync),
) -> anyhow::Result<Result<ShrinkReport, ShrinkError>> {
    thread::scope(|scope| {
        let handle = thread::Builder::new()
            .name(format!("shrink-{seed}"))
            .stack_size(exec::WORKER_STACK)
            .spawn_scoped(scope, || {
                shrink::shrink_seed_until(scenario, seed, max_runs, &mut progress, stop)
            })
            .map_err(|e| anyhow!("cannot start a thread to shrink the seed: {e}"))?;
        handle
            .join()
            .map_err(|_| anyhow!("shrinking seed {seed} panicked"))
    })
}

/// The command that replays the printed file.
fn replay_hint(seed: u64) -> String {
    format!("flinch run shrunk.toml --seeds {}", SeedRange::one(seed))
}

fn failure_names(report: &ShrinkReport) -> Vec<String> {
    let names = report.signature.iter();
    names
        .map(|(checker, kind)| format!("[{}] {kind}", checker.name()))
        .collect()
}

/// The comment block on top of the printed scenario file: first the
/// command that shrank it, with the `--job` it was given (`job`).
/// `file` is where the scenario is (to be) saved.
pub(super) fn header(
    scenario_arg: &str,
    job: Option<&str>,
    report: &ShrinkReport,
    file: &str,
    replay: &str,
) -> String {
    let mut s = String::new();
    let seed = report.seed;
    let n = report.shrunk.plan.len();
    let _ = writeln!(s, "# {}", super::shrink_command(scenario_arg, job, seed));
    let _ = writeln!(
        s,
        "# {n} of {} fault{} remain after {} runs{}",
        report.original.len(),
        plural(report.original.len()),
        report.shrunk.runs,
        if report.shrunk.exhausted {
            "; the run budget ran out, so a smaller plan may exist (raise --max-runs)."
        } else if n == 0 {
            "; the seed fails without any fault."
        } else {
            "; removing any one of them, or halving how long it lasts, makes the seed pass."
        }
    );
    if report.original_savepoints > 0 {
        let k = report.savepoints.len();
        let _ = writeln!(
            s,
            "# {k} of {} plain savepoint{} remain{}",
            report.original_savepoints,
            plural(report.original_savepoints),
            if k == 0 {
                "; the seed fails without any."
            } else {
                "; removing any one of them makes the seed pass."
            }
        );
    }
    let _ = writeln!(
        s,
        "# Fails with {}; violations: {}.",
        failure_names(report).join(", "),
        Tally::of(&report.report.violations)
    );
    let _ = writeln!(s, "# Replay: save this as {file}, then: {replay}");
    let _ = writeln!(s, "#     or: flinch replay {file} --seed {seed}");
    s
}

#[derive(Serialize)]
struct ShrinkJson<'a> {
    scenario: &'a str,
    seed: u64,
    passed: bool,
    /// The failure kept while shrinking: `[checker] kind` each.
    failure: Vec<String>,
    original_faults: usize,
    plan: Vec<serde_json::Value>,
    /// The scenario's plain savepoints, and how many of them the shrunk
    /// plan still needs (the `toml` lists them).
    original_savepoints: usize,
    savepoints: usize,
    runs: usize,
    /// 1-minimal: the run budget did not run out.
    minimal: bool,
    /// The shrunk plan's violations.
    violations: &'a [Violation],
    toml: &'a str,
    replay: String,
}

/// A line on stderr at most every [`PROGRESS_EVERY`], when enabled.
pub struct StderrProgress {
    enabled: bool,
    what: String,
    last: Instant,
}

impl StderrProgress {
    pub fn new(enabled: bool, scenario: &str, seed: u64) -> Self {
        StderrProgress {
            enabled,
            what: format!("seed {seed} of {scenario}"),
            last: Instant::now(),
        }
    }
}

impl StderrProgress {
    pub fn report(&mut self, p: Progress) {
        if !self.enabled || self.last.elapsed() < PROGRESS_EVERY {
            return;
        }
        self.last = Instant::now();
        let _ = writeln!(
            std::io::stderr(),
            "flinch: shrinking {}: run {}/{}, smallest failing plan so far {} fault{}",
            self.what,
            p.runs,
            p.max_runs,
            p.faults,
            plural(p.faults)
        );
    }
}
