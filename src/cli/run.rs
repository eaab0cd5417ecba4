//! `flinch run <SCENARIO> [--seeds A..B] [--jobs N] [--fail-fast]
//! [--timeout D] [--json]`
//!
//! Seeds run on worker threads ([`exec::sweep`]); the calling thread shows
//! progress and is the watchdog for `--timeout` and Ctrl-C. The summary
//! (or the `--json` object) says what ran, what failed and how, and what
//! did not run; its contract is in README.md ("The `run --json` contract").

use super::exec::{self, Controls, HasSeed, Stop, StopReason};
use super::shrink::{shrink_on_worker, StderrProgress};
use super::{
    exit_code, interrupt, load_scenario, replay_command, seeds, shrink_command, Output,
    EXIT_ENGINE_PANIC, EXIT_FAILED, EXIT_INTERNAL_ERROR, EXIT_INTERRUPTED,
};
use crate::html;
use crate::html::sweep::Count;
use crate::report::{plural, FailureKind, FailureReport, SeedSummary, ShrunkPlan};
use clap::Args;
use flinch_engine::probe::Probe;
use flinch_harness::coverage::{self, Judgement, ProbeHits, Sometimes, MIN_SEEDS_TO_JUDGE};
use flinch_harness::expect::Expectation;
use flinch_harness::plan::fault_json;
use flinch_harness::scenario::{Scenario, SeedRange};
use flinch_harness::violation::{Tally, Violation};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Other failing seeds named in the human summary.
const MAX_OTHER_SEEDS_SHOWN: usize = 20;
/// When stderr is not a terminal, a progress line this often.
const PLAIN_PROGRESS_EVERY: Duration = Duration::from_secs(10);
/// Plans run at most to shrink the first failing seed: shrinking costs a
/// run per candidate plan, so `flinch run` does a bounded pass and points to
/// `flinch shrink` (which runs up to 500) for the rest.
const SHRINK_MAX_RUNS: usize = 100;

#[derive(Args, Debug)]
pub struct RunArgs {
    /// A built-in scenario (see `flinch list`) or the path of a .toml file.
    pub scenario: String,
    /// Seeds to run, half-open: 0..100 runs seeds 0 to 99 (as does
    /// 0..=99, the end included).
    /// [default: the scenario's `[seeds] range`]
    #[arg(long, value_name = "A..B", value_parser = seeds::parse_seed_range)]
    pub seeds: Option<SeedRange>,
    /// Worker threads. [default: all cores]
    #[arg(long, short = 'j', value_name = "N", value_parser = seeds::parse_jobs)]
    pub jobs: Option<usize>,
    /// Print one JSON object on stdout instead of the summary, and no progress.
    #[arg(long)]
    pub json: bool,
    /// Do not shrink the first failing seed's fault plan.
    #[arg(long)]
    pub no_shrink: bool,
    /// Start no more seeds after the first failure; seeds already running
    /// finish, and the lowest failing seed among all that ran is reported.
    #[arg(long)]
    pub fail_fast: bool,
    /// Wall-clock limit of one seed, as "500ms" or "10s" (1ms to 24h): a
    /// seed still running then is stopped and reported as timed out, with
    /// its replay command. [default: none]
    #[arg(long, value_name = "DURATION", value_parser = seeds::parse_timeout)]
    pub timeout: Option<Duration>,
    /// Run this job instead of the scenario's own: a name (`dedup`, with its
    /// default parameters; see `flinch list --jobs`) or a TOML inline table
    /// (`{ name = "windowed-sum", window = "2s" }`).
    #[arg(long, value_name = "JOB")]
    pub job: Option<String>,
    /// Write an HTML report of the sweep to DIR/index.html (creating DIR):
    /// pass or fail per seed, histograms of faults, failovers, recovery
    /// times and checkpoint durations, the probe table, and the first
    /// failing seed with its shrunk plan and its own full page
    /// (DIR/seed-N.html).
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
}

pub fn run(args: &RunArgs) -> anyhow::Result<Output> {
    let scenario = load_scenario(&args.scenario, args.job.as_deref())?;
    // Never empty: the parser refuses an empty range.
    let seeds = args.seeds.unwrap_or(scenario.seeds);
    if let Some(dir) = &args.report {
        html::prepare(dir)?;
    }
    let count = seeds.count();
    let (jobs, note) = seeds::bound_jobs(args.jobs, seeds::default_jobs(), count);
    if let Some(note) = note {
        let _ = writeln!(std::io::stderr(), "flinch: {note}");
    }
    let interrupt = match interrupt::install() {
        Ok(flag) => Some(flag),
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "flinch: {e}; Ctrl-C will end the run without a summary"
            );
            None
        }
    };
    let controls = Controls {
        jobs,
        fail_fast: args.fail_fast,
        timeout: args.timeout,
        interrupt,
        ..Controls::default()
    };

    let started = Instant::now();
    let mut progress = Progress::new(count, args.json, &scenario.name, jobs, interrupt);
    let swept = exec::sweep(
        seeds.seeds(),
        &controls,
        {
            let scenario = scenario.clone();
            move |seed, stop: &Stop| run_one_seed(&scenario, seed, stop, args.timeout)
        },
        |done| progress.event(done),
    )?;
    progress.finish();
    let interrupted_now = || interrupt.is_some_and(|i| i.load(Ordering::Relaxed));
    let shrunk = if args.no_shrink || interrupted_now() {
        None
    } else {
        shrink_first_failure(&scenario, &swept.results, args.json, &interrupted_now)?
    };

    let summary = RunSummary {
        scenario: scenario.name.clone(),
        scenario_arg: args.scenario.clone(),
        job_arg: args.job.clone(),
        sometimes: scenario.sometimes.clone(),
        seeds,
        jobs,
        results: swept.results,
        wall: started.elapsed(),
        shrunk,
        timeout: args.timeout,
        stopped: swept.stopped,
        not_started: swept.not_started,
        // Ctrl-C while shrinking counts too: the summary is printed at once.
        interrupted: swept.interrupted || interrupted_now(),
        failed_fast: swept.failed_fast,
        // Only keyed-count's output is matched record by record to its
        // input: another job's duplicates are not counted, so none shown.
        at_least_once: scenario.expect == Expectation::AtLeastOnce && scenario.job.is_keyed_count(),
        accepts_loss: scenario
            .config
            .sink
            .ignore_failures_after_transaction_timeout,
        report: None,
    };
    let mut summary = summary;
    if let Some(dir) = &args.report {
        summary.report = Some(write_report(dir, &scenario, &summary, args)?);
    }
    let stdout = if args.json {
        let mut s = serde_json::to_string(&summary.json())?;
        s.push('\n');
        s
    } else {
        summary.human()
    };
    Ok(Output {
        stdout,
        code: summary.exit_code(),
    })
}

/// Write the sweep's report into `dir`: `index.html`, and the first failing
/// seed's full page, run again for its trace (a timed-out seed has none:
/// it would run as long again). Returns the path of `index.html`.
fn write_report(
    dir: &Path,
    scenario: &Scenario,
    summary: &RunSummary,
    args: &RunArgs,
) -> anyhow::Result<PathBuf> {
    let first = summary.failures().next();
    let mut page = None;
    if let Some(first) = first.filter(|f| f.timed_out.is_none()) {
        let report = exec::run_one(scenario, first.seed)?;
        let replay = summary.replay_command(first.seed);
        let name = html::sweep::seed_page_name(first.seed);
        html::write_file(dir, &name, &html::page(scenario, &report, &replay))?;
        page = Some(name);
    }
    let replay = first.map(|f| summary.replay_command(f.seed));
    let shrink =
        first.map(|f| shrink_command(&summary.scenario_arg, summary.job_arg.as_deref(), f.seed));
    // The sweep again: what changes which seeds run and what is reported.
    let job = (summary.job_arg.as_deref()).map_or(String::new(), |j| {
        format!(" --job {}", crate::report::shell_quote(j))
    });
    let mut command = format!(
        "flinch run {}{job} --seeds {}",
        crate::report::shell_quote_path(&summary.scenario_arg),
        summary.seeds
    );
    if let Some(timeout) = args.timeout {
        let _ = write!(command, " --timeout {}ms", timeout.as_millis());
    }
    if args.fail_fast {
        command.push_str(" --fail-fast");
    }
    if args.no_shrink {
        command.push_str(" --no-shrink");
    }
    let not_run = match (summary.not_run(), summary.interrupted) {
        (0, _) => None,
        (n, true) => Some(format!("{n} not run: Ctrl-C stopped the sweep")),
        (n, false) => Some(format!("{n} not run: --fail-fast stopped the sweep")),
    };
    let probes = (summary.probe_rows().into_iter())
        .map(|row| html::sweep::ProbeLine {
            probe: row.probe.name(),
            seeds: row.hits.seeds,
            first: row.hits.first,
            required: row.required.map(|(req, judgement)| {
                format!("{}: {}", share(req.min_share), verdict(judgement))
            }),
        })
        .collect();
    let sweep = html::sweep::Sweep {
        scenario,
        command: &command,
        seeds: summary.seeds,
        results: &summary.results,
        not_run,
        probes,
        first_failure: first.map(|seed| html::sweep::FirstFailure {
            seed,
            page,
            replay: replay.as_deref().unwrap_or_default(),
            shrunk: summary.shrunk_for(seed.seed),
            shrink: shrink.as_deref().unwrap_or_default(),
        }),
        duplicates: summary.duplicates(),
        lost: summary.lost(),
    };
    Ok(html::write(dir, &html::sweep::page(&sweep))?)
}

/// One seed as a worker runs it: its summary, a timed-out summary when the
/// watchdog stopped it, or `None` when Ctrl-C did (it has no result).
fn run_one_seed(
    scenario: &Scenario,
    seed: u64,
    stop: &Stop,
    timeout: Option<Duration>,
) -> Option<SeedSummary> {
    match exec::run_guarded_until(scenario, seed, stop) {
        Ok(report) => Some(SeedSummary::from(report)),
        Err(stopped) => match (stop.reason(), timeout) {
            (Some(StopReason::TimedOut), Some(limit)) => Some(SeedSummary::timed_out(
                stopped,
                limit,
                scenario.plan(seed).len(),
            )),
            _ => None,
        },
    }
}

/// Shrink the first failing seed's plan, if it has faults (bounded by
/// [`SHRINK_MAX_RUNS`]); the first whose failure is more than `vacuous`,
/// if one is (a seed that fails only as vacuous is not shrunk: its plan is
/// what is wrong, and the summary shows the real failure after it).
/// Not when the first failure timed out: shrinking runs its plan again and
/// again, each without a limit. `stop` (Ctrl-C) ends shrinking early, with
/// no shrunk plan.
fn shrink_first_failure(
    scenario: &Scenario,
    results: &[SeedSummary],
    json: bool,
    stop: &(dyn Fn() -> bool + Sync),
) -> anyhow::Result<Option<ShrunkPlan>> {
    let failing = || results.iter().filter(|r| !r.passed);
    let Some(first) = (failing().find(|r| !r.only_vacuous())).or_else(|| failing().next()) else {
        return Ok(None);
    };
    if first.faults == 0 || first.timed_out.is_some() {
        // Nothing to shrink, or too slow to shrink.
        return Ok(None);
    }
    let seed = first.seed;
    if !json {
        let _ = writeln!(
            std::io::stderr(),
            "flinch: shrinking the fault plan of seed {seed} (at most {SHRINK_MAX_RUNS} runs; --no-shrink skips this)"
        );
    }
    let mut progress = StderrProgress::new(!json, &scenario.name, seed);
    let result = shrink_on_worker(
        scenario,
        seed,
        SHRINK_MAX_RUNS,
        |p| progress.report(p),
        stop,
    )?;
    Ok(match result {
        Ok(report) => Some(ShrunkPlan::from(&report)),
        Err(e) => {
            if !json {
                let _ = writeln!(std::io::stderr(), "flinch: not shrunk: {e}");
            }
            None
        }
    })
}

impl FailureKind {
    /// The exit code of a seed that failed this way (see
    /// [`super::exit_code`] for a run of many).
    pub fn exit_code(self) -> u8 {
        match self {
            FailureKind::InternalError => EXIT_INTERNAL_ERROR,
            FailureKind::EnginePanic => EXIT_ENGINE_PANIC,
            FailureKind::TimedOut
            | FailureKind::JobPanic
            | FailureKind::Job
            | FailureKind::State
            | FailureKind::Records => EXIT_FAILED,
        }
    }
}

impl HasSeed for SeedSummary {
    fn seed(&self) -> u64 {
        self.seed
    }

    fn failed(&self) -> bool {
        !self.passed
    }
}

/// The results of one `flinch run`, sorted by seed.
#[derive(Debug)]
pub struct RunSummary {
    /// The scenario's name.
    pub scenario: String,
    /// What the user typed for it (a name or a path), for replay commands.
    pub scenario_arg: String,
    /// The `--job` the user gave, for replay commands. With one, the
    /// scenario's `sometimes` shares are not judged: they are calibrated
    /// for the timing of the scenario's own job.
    pub job_arg: Option<String>,
    /// The scenario's `[expect] sometimes`, judged over the seeds that
    /// reached a verdict.
    pub sometimes: Vec<Sometimes>,
    pub seeds: SeedRange,
    pub jobs: usize,
    pub results: Vec<SeedSummary>,
    pub wall: Duration,
    /// The first failing seed's plan, shrunk (when it had faults).
    pub shrunk: Option<ShrunkPlan>,
    /// `--timeout`, if given.
    pub timeout: Option<Duration>,
    /// Seeds running when Ctrl-C came, stopped without a result.
    pub stopped: u64,
    /// Seeds of the range never started (Ctrl-C or `--fail-fast`).
    pub not_started: u64,
    /// Ctrl-C stopped the run.
    pub interrupted: bool,
    /// `--fail-fast` stopped the sweep from starting seeds.
    pub failed_fast: bool,
    /// The scenario expects at-least-once output of keyed-count:
    /// duplicates are allowed, and the summary counts them.
    pub at_least_once: bool,
    /// The scenario sets `sink.ignore_failures_after_transaction_timeout`:
    /// output may be lost on purpose, and the summary counts it.
    pub accepts_loss: bool,
    /// Where `--report` wrote the sweep's page, if asked.
    pub report: Option<PathBuf>,
}

#[derive(Serialize)]
struct RunJson<'a> {
    scenario: &'a str,
    seeds: usize,
    passed: usize,
    failed: usize,
    failures: Vec<FailureJson<'a>>,
    sim_seconds: f64,
    wall_seconds: f64,
    records: u64,
    /// At-least-once scenarios only: extra copies of output records over
    /// the seeds that reached a verdict, and how many seeds had any.
    #[serde(skip_serializing_if = "Option::is_none")]
    duplicates: Option<Count>,
    /// Scenarios that set `sink.ignore_failures_after_transaction_timeout`
    /// only: output records lost on purpose, and how many seeds lost any.
    #[serde(skip_serializing_if = "Option::is_none")]
    lost: Option<Count>,
    /// Seeds stopped by `--timeout` (also counted in `failed`).
    timed_out: usize,
    /// Seeds of the range without a result: never started, or stopped by
    /// Ctrl-C while running.
    not_run: u64,
    /// Ctrl-C stopped the run.
    interrupted: bool,
    /// Left out when no seed ran a fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    faults_per_seed: Option<f64>,
    /// Every probe hit by some seed or required, in catalogue order.
    probes: Vec<ProbeJson>,
    /// Required probes whose share was missed (0 when not judged).
    sometimes_missed: usize,
    /// The sweep's HTML page, with `--report`.
    #[serde(skip_serializing_if = "Option::is_none")]
    report: Option<String>,
}

#[derive(Serialize)]
struct ProbeJson {
    probe: Probe,
    /// Seeds (with a verdict) that hit it.
    seeds: usize,
    /// The lowest of them, at most [`coverage::FIRST_SEEDS_SHOWN`].
    first_seeds: Vec<u64>,
    /// When the scenario requires it: the share it requires.
    #[serde(skip_serializing_if = "Option::is_none")]
    min_share: Option<f64>,
    /// When required: `met`, `missed` or `not-judged`.
    #[serde(skip_serializing_if = "Option::is_none")]
    verdict: Option<&'static str>,
}

/// One row of the probe table: a probe hit or required.
struct ProbeRow {
    probe: Probe,
    hits: ProbeHits,
    required: Option<(Sometimes, Judgement)>,
}

#[derive(Serialize)]
struct FailureJson<'a> {
    seed: u64,
    kind: FailureKind,
    /// Violations by cause, each counted as what it stands for.
    counts: Tally,
    violations: &'a [Violation],
    replay: String,
    /// For a timed-out seed: how far its simulation had come.
    #[serde(skip_serializing_if = "Option::is_none")]
    stopped_at_sim_seconds: Option<f64>,
    /// For the first failing seed, when it was shrunk.
    #[serde(skip_serializing_if = "Option::is_none")]
    shrunk_plan: Option<Vec<serde_json::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shrink: Option<String>,
}

impl RunSummary {
    fn failures(&self) -> impl Iterator<Item = &SeedSummary> {
        self.results.iter().filter(|r| !r.passed)
    }

    pub fn failed(&self) -> usize {
        self.failures().count()
    }

    pub fn passed(&self) -> usize {
        self.results.len() - self.failed()
    }

    /// 130 when Ctrl-C stopped the run; else 4 if a seed hit an internal
    /// error, 3 if one hit an engine panic, 1 if one failed otherwise (or
    /// timed out) or a required probe missed its share, and 0 otherwise.
    pub fn exit_code(&self) -> u8 {
        if self.interrupted {
            return EXIT_INTERRUPTED;
        }
        let seeds = exit_code(self.results.iter().filter_map(SeedSummary::kind));
        if self.sometimes_missed() > 0 {
            seeds.max(EXIT_FAILED)
        } else {
            seeds
        }
    }

    /// Seeds that reached a verdict: the ones coverage is judged over.
    fn judged_seeds(&self) -> impl Iterator<Item = &SeedSummary> {
        self.results.iter().filter(|r| r.timed_out.is_none())
    }

    /// The probe table: each probe hit or required, in catalogue order,
    /// with the verdict on its requirement. A run Ctrl-C stopped judges
    /// nothing (its seeds are not the sweep that was asked for).
    fn probe_rows(&self) -> Vec<ProbeRow> {
        let run = if self.interrupted || self.job_arg.is_some() {
            0
        } else {
            self.judged_seeds().count()
        };
        let mut hits = coverage::tally(self.judged_seeds().map(|r| (r.seed, &r.probes)));
        let required: BTreeMap<Probe, Sometimes> =
            self.sometimes.iter().map(|s| (s.probe, *s)).collect();
        Probe::ALL
            .into_iter()
            .filter_map(|probe| {
                let hits = match (hits.remove(&probe), required.contains_key(&probe)) {
                    (Some(hits), _) => hits,
                    (None, true) => ProbeHits {
                        seeds: 0,
                        first: Vec::new(),
                    },
                    (None, false) => return None,
                };
                let required = required
                    .get(&probe)
                    .map(|s| (*s, coverage::judge(s, hits.seeds, run)));
                Some(ProbeRow {
                    probe,
                    hits,
                    required,
                })
            })
            .collect()
    }

    /// Required probes that missed their share.
    pub fn sometimes_missed(&self) -> usize {
        self.probe_rows()
            .iter()
            .filter(|r| r.required.is_some_and(|(_, j)| j.missed()))
            .count()
    }

    /// How many failing seeds are of `kind`.
    fn count(&self, kind: FailureKind) -> usize {
        self.results
            .iter()
            .filter(|r| r.kind() == Some(kind))
            .count()
    }

    fn timed_out(&self) -> usize {
        self.results
            .iter()
            .filter(|r| r.timed_out.is_some())
            .count()
    }

    fn not_run(&self) -> u64 {
        self.stopped + self.not_started
    }

    fn sim_time(&self) -> Duration {
        self.results.iter().map(|r| r.sim_time).sum()
    }

    fn records(&self) -> u64 {
        self.results.iter().map(|r| r.records).sum()
    }

    /// For an at-least-once scenario, its duplicates: extra output copies
    /// over all seeds, and the seeds that had any.
    fn duplicates(&self) -> Option<Count> {
        self.at_least_once.then(|| Count {
            records: self.results.iter().map(|r| r.duplicates).sum(),
            seeds: self.results.iter().filter(|r| r.duplicates > 0).count(),
        })
    }

    /// For a scenario that accepts losing output to the sink's transaction
    /// timeout, what it lost: output records over all seeds, and the seeds
    /// that lost any (the same shape as [`RunSummary::duplicates`]).
    fn lost(&self) -> Option<Count> {
        self.accepts_loss.then(|| Count {
            records: self.results.iter().map(|r| r.lost).sum(),
            seeds: self.results.iter().filter(|r| r.lost > 0).count(),
        })
    }

    /// The mean number of faults in the seeds' plans.
    pub fn faults_per_seed(&self) -> f64 {
        let faults: usize = self.results.iter().map(|r| r.faults).sum();
        faults as f64 / self.results.len().max(1) as f64
    }

    /// The command that replays `seed`.
    fn replay_command(&self, seed: u64) -> String {
        replay_command(&self.scenario_arg, self.job_arg.as_deref(), seed)
    }

    fn shrunk_for(&self, seed: u64) -> Option<&ShrunkPlan> {
        self.shrunk.as_ref().filter(|s| s.seed == seed)
    }

    /// The `--json` object; fields serialize in the contract's order.
    pub fn json(&self) -> impl Serialize + '_ {
        RunJson {
            scenario: &self.scenario,
            seeds: self.results.len(),
            passed: self.passed(),
            failed: self.failed(),
            failures: self
                .failures()
                .map(|r| FailureJson {
                    seed: r.seed,
                    kind: r.kind().unwrap_or(FailureKind::Job),
                    counts: Tally::of(&r.violations),
                    violations: &r.violations,
                    replay: replay_command(&self.scenario_arg, self.job_arg.as_deref(), r.seed),
                    stopped_at_sim_seconds: r.timed_out.map(|t| millis(t.sim_at)),
                    shrunk_plan: self
                        .shrunk_for(r.seed)
                        .map(|s| s.plan.iter().map(fault_json).collect()),
                    shrink: self.shrunk_for(r.seed).map(|_| {
                        shrink_command(&self.scenario_arg, self.job_arg.as_deref(), r.seed)
                    }),
                })
                .collect(),
            sim_seconds: millis(self.sim_time()),
            wall_seconds: millis(self.wall),
            records: self.records(),
            duplicates: self.duplicates(),
            lost: self.lost(),
            timed_out: self.timed_out(),
            not_run: self.not_run(),
            interrupted: self.interrupted,
            faults_per_seed: self
                .results
                .iter()
                .any(|r| r.faults > 0)
                .then(|| (self.faults_per_seed() * 100.0).round() / 100.0),
            probes: self
                .probe_rows()
                .into_iter()
                .map(|row| ProbeJson {
                    probe: row.probe,
                    seeds: row.hits.seeds,
                    first_seeds: row.hits.first,
                    min_share: row.required.map(|(s, _)| s.min_share),
                    verdict: row.required.map(|(_, j)| verdict(j)),
                })
                .collect(),
            sometimes_missed: self.sometimes_missed(),
            report: (self.report.as_ref()).map(|p| p.display().to_string()),
        }
    }

    pub fn human(&self) -> String {
        let mut s = String::new();
        let failed = self.failed();
        // Writing to a String cannot fail.
        let _ = writeln!(s, "scenario   {}", self.scenario);
        let _ = writeln!(
            s,
            "seeds      {} ({} run on {} thread{})",
            self.seeds,
            self.results.len(),
            self.jobs,
            plural(self.jobs)
        );
        let _ = writeln!(s, "passed     {}", self.passed());
        let _ = writeln!(s, "failed     {failed}{}", self.human_failed_kinds());
        self.human_stopped(&mut s);
        let _ = writeln!(
            s,
            "sim time   {:.3} s (all seeds)",
            self.sim_time().as_secs_f64()
        );
        let _ = writeln!(s, "wall time  {:.3} s", self.wall.as_secs_f64());
        let _ = writeln!(s, "records    {}", self.records());
        if let Some(d) = self.duplicates() {
            let _ = writeln!(
                s,
                "duplicates {} output records in {} seed{} (allowed: at-least-once)",
                d.records,
                d.seeds,
                plural(d.seeds)
            );
        }
        if let Some(l) = self.lost() {
            let _ = writeln!(
                s,
                "lost       {} output records in {} seed{} (accepted: \
                 sink.ignore_failures_after_transaction_timeout)",
                l.records,
                l.seeds,
                plural(l.seeds)
            );
        }
        let _ = writeln!(s, "faults     {:.2} per seed", self.faults_per_seed());
        if let Some(report) = &self.report {
            let _ = writeln!(s, "report     {}", report.display());
        }
        self.human_probes(&mut s);

        let mut failures = self.failures();
        let Some(first) = failures.next() else {
            return s;
        };
        let others: Vec<String> = failures
            .map(|r| match r.kind().and_then(FailureKind::tag) {
                Some(tag) => format!("{} ({tag})", r.seed),
                None => r.seed.to_string(),
            })
            .collect();
        let _ = write!(s, "\nFAILED: seed {}", first.seed);
        if !others.is_empty() {
            let shown = others[..others.len().min(MAX_OTHER_SEEDS_SHOWN)].join(", ");
            let more = others.len().saturating_sub(MAX_OTHER_SEEDS_SHOWN);
            let _ = write!(
                s,
                " (and {} other failing seed{}: {shown}{})",
                others.len(),
                plural(others.len()),
                if more > 0 {
                    format!(", ... {more} more")
                } else {
                    String::new()
                }
            );
        }
        let _ = writeln!(s);
        self.render_failure(first, &mut s);
        // A seed that fails only as vacuous is a plan that needs fixing:
        // the first real failure after it, shrunk, is shown too.
        if first.only_vacuous() {
            if let Some(real) = self.failures().find(|r| !r.only_vacuous()) {
                let _ = writeln!(
                    s,
                    "\nFAILED beyond vacuous: seed {} (the first failing seed that fails otherwise)",
                    real.seed
                );
                self.render_failure(real, &mut s);
            }
        }
        s
    }

    /// A failing seed's report, as its `FAILED` line's block: the replay
    /// and shrink commands, the violations, its shrunk plan if it has one,
    /// the trace around its first violation.
    fn render_failure(&self, seed: &SeedSummary, s: &mut String) {
        let replay = replay_command(&self.scenario_arg, self.job_arg.as_deref(), seed.seed);
        let shrunk_next = format!(
            "shrink: {}  (prints it as a scenario file)",
            shrink_command(&self.scenario_arg, self.job_arg.as_deref(), seed.seed)
        );
        FailureReport {
            seed,
            replay: &replay,
            shrunk: self.shrunk_for(seed.seed),
            shrunk_next: &shrunk_next,
            shrink_further: "`flinch shrink`",
            all_violations: "--json and flinch replay",
            unshrunk_plan: None,
        }
        .render(s);
    }
}

impl RunSummary {
    /// After the number of failed seeds, those that are not verdicts about
    /// the job: ` (1 internal error, 2 engine panics, 1 timed out after 1s)`.
    fn human_failed_kinds(&self) -> String {
        let mut parts = Vec::new();
        let internal = self.count(FailureKind::InternalError);
        if internal > 0 {
            parts.push(format!("{internal} internal error{}", plural(internal)));
        }
        let panics = self.count(FailureKind::EnginePanic);
        if panics > 0 {
            parts.push(format!("{panics} engine panic{}", plural(panics)));
        }
        let timed_out = self.timed_out();
        if let (true, Some(limit)) = (timed_out > 0, self.timeout) {
            parts.push(format!("{timed_out} timed out after {limit:?}"));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!(" ({})", parts.join(", "))
        }
    }

    /// The probe table, then a line for every required probe that missed
    /// its share, or one saying the sweep was too small to judge.
    fn human_probes(&self, s: &mut String) {
        let rows = self.probe_rows();
        let run = self.judged_seeds().count();
        if rows.is_empty() {
            let _ = writeln!(s, "probes     none hit");
            return;
        }
        let _ = writeln!(
            s,
            "\nprobes hit (* required)              seeds of {run}   first seeds"
        );
        for row in &rows {
            let first = if row.hits.first.is_empty() {
                "-".to_owned()
            } else {
                let more = if row.hits.seeds > row.hits.first.len() {
                    ", ..."
                } else {
                    ""
                };
                let seeds: Vec<String> = row.hits.first.iter().map(u64::to_string).collect();
                format!("{}{more}", seeds.join(", "))
            };
            let mark = if row.required.is_some() { '*' } else { ' ' };
            let mut line = format!(
                "{mark} {:<34} {:>5} {:>7}  {first}",
                row.probe.name(),
                row.hits.seeds,
                percent(row.hits.seeds, run)
            );
            if let Some((req, judgement)) = row.required {
                let _ = write!(
                    line,
                    "  (required {}: {})",
                    share(req.min_share),
                    verdict(judgement)
                );
            }
            let _ = writeln!(s, "{line}");
        }
        let required = rows.iter().filter(|r| r.required.is_some()).count();
        if required > 0 && self.interrupted {
            let _ = writeln!(
                s,
                "sometimes  not judged: Ctrl-C stopped the sweep before it was complete"
            );
        } else if required > 0 && self.job_arg.is_some() {
            let _ = writeln!(
                s,
                "sometimes  not judged: the scenario's shares are set for its own job and \
                 parameters, and --job ran another (or other parameters)"
            );
        } else if required > 0 && run < MIN_SEEDS_TO_JUDGE {
            let _ = writeln!(
                s,
                "sometimes  not judged: {run} seed{} ran, fewer than the {MIN_SEEDS_TO_JUDGE} a \
                 share needs; run a longer sweep to judge the {required} required probe{}",
                plural(run),
                plural(required)
            );
        }
        for row in &rows {
            if let Some((req, Judgement::Missed { hit, run, need })) = row.required {
                let _ = writeln!(
                    s,
                    "MISSED: probe {} hit in {hit} of {run} seeds ({}), the scenario requires {} \
                     ({need} seeds)",
                    row.probe.name(),
                    percent(hit, run),
                    share(req.min_share)
                );
            }
        }
    }

    /// What did not run, and why: Ctrl-C or `--fail-fast`.
    fn human_stopped(&self, s: &mut String) {
        let seeds = |n: u64| format!("{n} seed{}", if n == 1 { "" } else { "s" });
        if self.interrupted && self.not_run() == 0 {
            let _ = writeln!(
                s,
                "stopped    by Ctrl-C after every seed had run (the first failure is not shrunk)"
            );
        } else if self.interrupted {
            let _ = writeln!(
                s,
                "stopped    by Ctrl-C: {} stopped while running, {} never started",
                seeds(self.stopped),
                seeds(self.not_started)
            );
        } else if self.failed_fast {
            let _ = writeln!(
                s,
                "stopped    by --fail-fast: {} never started after a failure",
                seeds(self.not_started)
            );
        }
    }
}

/// How a requirement's judgement reads in the table and `--json`.
pub(super) fn verdict(judgement: Judgement) -> &'static str {
    match judgement {
        Judgement::Met { .. } => "met",
        Judgement::Missed { .. } => "missed",
        Judgement::NotJudged { .. } => "not-judged",
    }
}

/// `hit` of `run` as a percentage with one decimal: `22.5 %`.
fn percent(hit: usize, run: usize) -> String {
    format!("{:.1} %", 100.0 * hit as f64 / run.max(1) as f64)
}

/// A required share as a percentage, as short as it is exact: `20 %`.
pub(super) fn share(min_share: f64) -> String {
    let p = min_share * 100.0;
    if (p - p.round()).abs() < 1e-9 {
        format!(">= {} %", p.round())
    } else {
        format!(">= {p} %")
    }
}

/// Seconds, rounded to the millisecond, for JSON.
fn millis(d: Duration) -> f64 {
    d.as_millis() as f64 / 1000.0
}

/// Progress on stderr: a bar on a terminal, a line every
/// [`PLAIN_PROGRESS_EVERY`] otherwise, nothing with `--json`.
/// Ctrl-C is said on stderr in every mode, once, when the sweep notices it.
struct Progress<'a> {
    bar: ProgressBar,
    plain: bool,
    total: u64,
    done: u64,
    failed: u64,
    started: Instant,
    last_line: Instant,
    interrupt: Option<&'a AtomicBool>,
    said_interrupted: bool,
}

impl<'a> Progress<'a> {
    fn new(
        total: u64,
        json: bool,
        scenario: &str,
        jobs: usize,
        interrupt: Option<&'a AtomicBool>,
    ) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let bar = if json || !terminal {
            ProgressBar::hidden()
        } else {
            let style = ProgressStyle::with_template(
                "{prefix} [{elapsed_precise}] {wide_bar} {pos}/{len} seeds, {msg} (eta {eta})",
            )
            .expect("the progress template is valid");
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
                .with_style(style)
                .with_prefix(scenario.to_string())
                .with_message("0 failed");
            bar.enable_steady_tick(Duration::from_millis(250));
            bar
        };
        let plain = !json && !terminal;
        if plain {
            let _ = writeln!(
                std::io::stderr(),
                "flinch: running {total} seed{} of {scenario} on {jobs} thread{}",
                if total == 1 { "" } else { "s" },
                plural(jobs)
            );
        }
        let now = Instant::now();
        Progress {
            bar,
            plain,
            total,
            done: 0,
            failed: 0,
            started: now,
            last_line: now,
            interrupt,
            said_interrupted: false,
        }
    }

    /// Say Ctrl-C once, as soon as it is seen.
    fn say_interrupted(&mut self) {
        let interrupted = self.interrupt.is_some_and(|i| i.load(Ordering::Relaxed));
        if interrupted && !self.said_interrupted {
            self.said_interrupted = true;
            self.bar.suspend(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "flinch: interrupted: stopping the running seeds; a summary of the \
                     finished ones follows (Ctrl-C again quits at once)"
                );
            });
        }
    }

    fn event(&mut self, finished: Option<&SeedSummary>) {
        self.say_interrupted();
        if let Some(r) = finished {
            self.done += 1;
            if !r.passed {
                self.failed += 1;
                self.bar.set_message(format!("{} failed", self.failed));
            }
            self.bar.inc(1);
        }
        if self.plain && self.last_line.elapsed() >= PLAIN_PROGRESS_EVERY {
            self.last_line = Instant::now();
            let _ = writeln!(
                std::io::stderr(),
                "flinch: {}/{} seeds done, {} failed, {:.0} s",
                self.done,
                self.total,
                self.failed,
                self.started.elapsed().as_secs_f64()
            );
        }
    }

    /// Clear the bar; a Ctrl-C the last events did not show is said now.
    fn finish(&mut self) {
        self.say_interrupted();
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::exec::tests::fake_report;
    use crate::cli::{EXIT_FAILED, EXIT_PASSED};
    use flinch_harness::fault::Fault;
    use flinch_harness::seed::{SeedReport, Stopped};
    use flinch_harness::violation::{Checker, ENGINE_PANIC};

    fn summary(reports: Vec<SeedReport>) -> RunSummary {
        RunSummary {
            scenario: "tm-crash".into(),
            scenario_arg: "scenarios/tm crash.toml".into(),
            job_arg: None,
            sometimes: Vec::new(),
            seeds: SeedRange::from_exclusive(0..reports.len() as u64).expect("some reports"),
            jobs: 4,
            results: reports.into_iter().map(SeedSummary::from).collect(),
            wall: Duration::from_millis(2345),
            shrunk: None,
            timeout: None,
            stopped: 0,
            not_started: 0,
            interrupted: false,
            failed_fast: false,
            at_least_once: false,
            accepts_loss: false,
            report: None,
        }
    }

    /// `seeds` passing seeds, of which `hit` hit `zombie-data-fenced`
    /// (the lowest ones) and all hit `write-fenced`; the scenario requires
    /// the first in 20 % of seeds.
    fn coverage_summary(seeds: u64, hit: u64) -> RunSummary {
        let mut s = summary((0..seeds).map(|i| fake_report(i, 1, 0)).collect());
        for r in &mut s.results {
            r.probes.insert(Probe::WriteFenced);
            if r.seed < hit {
                r.probes.insert(Probe::ZombieDataFenced);
            }
        }
        s.sometimes = vec![Sometimes {
            probe: Probe::ZombieDataFenced,
            min_share: 0.2,
        }];
        s
    }

    #[test]
    fn a_required_probe_below_its_share_fails_the_sweep_and_says_so() {
        let s = coverage_summary(25, 4);
        assert_eq!(s.sometimes_missed(), 1);
        assert_eq!(s.exit_code(), EXIT_FAILED);
        let human = s.human();
        assert!(
            human.contains(
                "MISSED: probe zombie-data-fenced hit in 4 of 25 seeds (16.0 %), the scenario \
                 requires >= 20 % (5 seeds)"
            ),
            "{human}"
        );
        assert!(
            human.contains("* zombie-data-fenced                     4  16.0 %  0, 1, 2, 3  (required >= 20 %: missed)"),
            "{human}"
        );
        assert!(
            human
                .contains("  write-fenced                          25 100.0 %  0, 1, 2, 3, 4, ..."),
            "{human}"
        );
        let json = serde_json::to_value(s.json()).expect("serializes");
        assert_eq!(json["sometimes_missed"], 1);
        assert_eq!(
            json["probes"],
            serde_json::json!([
                {"probe": "write-fenced", "seeds": 25, "first_seeds": [0, 1, 2, 3, 4]},
                {"probe": "zombie-data-fenced", "seeds": 4, "first_seeds": [0, 1, 2, 3],
                 "min_share": 0.2, "verdict": "missed"},
            ])
        );
    }

    #[test]
    fn a_sweep_that_hit_no_probe_says_so_in_one_line() {
        let s = summary((0..3).map(|i| fake_report(i, 1, 0)).collect());
        let human = s.human();
        assert!(human.contains("\nprobes     none hit\n"), "{human}");
        assert!(!human.contains("probes hit"), "{human}");
        let json = serde_json::to_value(s.json()).expect("serializes");
        assert_eq!(json["probes"], serde_json::json!([]));
    }

    #[test]
    fn a_required_probe_at_its_share_passes() {
        // 5 of 25 is exactly 20 %.
        let s = coverage_summary(25, 5);
        assert_eq!(s.sometimes_missed(), 0);
        assert_eq!(s.exit_code(), EXIT_PASSED);
        assert!(s.human().contains("(required >= 20 %: met)"));
        assert!(!s.human().contains("MISSED"));
    }

    #[test]
    fn a_sweep_too_small_is_not_judged_and_says_so() {
        let s = coverage_summary(10, 0);
        assert_eq!(s.exit_code(), EXIT_PASSED);
        let human = s.human();
        assert!(
            human.contains(
                "sometimes  not judged: 10 seeds ran, fewer than the 20 a share needs; run a \
                 longer sweep to judge the 1 required probe"
            ),
            "{human}"
        );
        assert!(human.contains("(required >= 20 %: not-judged)"), "{human}");
        let json = serde_json::to_value(s.json()).expect("serializes");
        assert_eq!(json["probes"][1]["verdict"], "not-judged");
        assert_eq!(json["sometimes_missed"], 0);
    }

    /// A first failing seed that fails only as vacuous does not hide the
    /// real failure after it: the summary shows that one too.
    #[test]
    fn a_real_failure_after_a_vacuous_only_seed_is_shown() {
        let mut vacuous = fake_report(0, 3, 0);
        vacuous.passed = false;
        vacuous.violations = vec![Violation::new(
            Checker::ExpectedOutcome,
            "vacuous",
            "fault[0] `pause sink at 9s for 5ms` never fired",
        )];
        let s = summary(vec![vacuous, fake_report(1, 3, 2), fake_report(2, 3, 0)]);
        assert!(s.results[0].only_vacuous() && !s.results[1].only_vacuous());
        let human = s.human();
        assert!(
            human.contains("FAILED: seed 0 (and 1 other failing seed: 1)")
                && human.contains(
                    "FAILED beyond vacuous: seed 1 (the first failing seed that fails otherwise)"
                )
                && human.contains("[exactly-once] missing: key-0 has no output"),
            "{human}"
        );
        let only = summary(vec![fake_report(0, 3, 2)]);
        assert!(!only.human().contains("beyond vacuous"));
    }

    fn timed_out(seed: u64, sim_ms: u64) -> SeedSummary {
        let stopped = Stopped {
            seed,
            at: Duration::from_millis(sim_ms),
            steps: sim_ms / 2,
        };
        SeedSummary::timed_out(stopped, Duration::from_millis(1), 2)
    }

    fn crash(at_ms: u64) -> Fault {
        Fault {
            id: None,
            kind: flinch_harness::fault::FaultKind::CrashRestart {
                after: Duration::from_millis(300),
            },
            host: "taskmanager-2".into(),
            at: Duration::from_millis(at_ms),
            jitter: Duration::ZERO,
            on: None,
        }
    }

    /// Seeds 0 and 1 (failing) ran 3 faults each, seed 2 none; seed 1's
    /// plan shrank to one fault.
    fn shrunk_summary() -> RunSummary {
        let with_plan = |mut r: SeedReport, n: u64| {
            r.plan = (0..n).map(|i| crash(100 * i)).collect();
            r
        };
        let mut s = summary(vec![
            with_plan(fake_report(0, 3, 0), 3),
            with_plan(fake_report(1, 3, 2), 3),
            fake_report(2, 3, 1),
        ]);
        s.shrunk = Some(ShrunkPlan {
            seed: 1,
            original: 3,
            plan: vec![crash(200)],
            runs: 17,
            exhausted: false,
        });
        s
    }

    #[test]
    fn the_summary_has_the_mean_faults_per_seed_and_the_shrunk_plan() {
        let s = shrunk_summary();
        assert_eq!(s.faults_per_seed(), 2.0);
        let text = s.human();
        assert!(text.contains("faults     2.00 per seed\n"), "{text}");
        assert!(
            text.contains(
                "shrunk plan: 1 of 3 faults still fails (17 runs):\n  \
                 crash_restart host=taskmanager-2 at=200ms after=300ms\n\
                 shrink: flinch shrink 'scenarios/tm crash.toml' --seed 1  (prints it as a scenario file)\n"
            ),
            "{text}"
        );
        // In the order a person needs it: violations, shrunk plan, trace.
        let at = |needle: &str| text.find(needle).unwrap_or_else(|| panic!("{needle}"));
        assert!(at("violations: ") < at("shrunk plan") && at("shrunk plan") < at("trace lines"));
        println!("{text}");

        let json = serde_json::to_value(s.json()).expect("serializes");
        assert_eq!(json["faults_per_seed"], 2.0);
        let failures = json["failures"].as_array().expect("an array");
        assert_eq!(
            failures[0]["shrunk_plan"][0],
            serde_json::json!({"kind": "crash_restart", "host": "taskmanager-2", "at": "200ms", "after": "300ms"})
        );
        assert_eq!(
            failures[0]["shrink"],
            "flinch shrink 'scenarios/tm crash.toml' --seed 1"
        );
        assert!(failures[1].get("shrunk_plan").is_none(), "{json}");
    }

    #[test]
    fn an_at_least_once_summary_counts_duplicates_and_an_exactly_once_one_does_not() {
        let with_dups = |mut r: SeedReport, n: u64| {
            r.duplicates = n;
            r
        };
        let mut s = summary(vec![
            with_dups(fake_report(0, 3, 0), 7),
            with_dups(fake_report(1, 3, 0), 0),
            with_dups(fake_report(2, 3, 0), 5),
        ]);
        let text = s.human();
        assert!(!text.contains("duplicates"), "{text}");
        let json = serde_json::to_value(s.json()).expect("serializes");
        assert!(json.get("duplicates").is_none(), "{json}");

        s.at_least_once = true;
        let text = s.human();
        assert!(
            text.contains(
                "records    300\nduplicates 12 output records in 2 seeds (allowed: at-least-once)\n"
            ),
            "{text}"
        );
        let json = serde_json::to_value(s.json()).expect("serializes");
        assert_eq!(
            json["duplicates"],
            serde_json::json!({"records": 12, "seeds": 2})
        );
        // Right after `records`, in the contract's order.
        let text = serde_json::to_string(&s.json()).expect("serializes");
        assert!(
            text.contains("\"records\":300,\"duplicates\":{\"records\":12,\"seeds\":2},"),
            "{text}"
        );
        // No duplicates at all is still said: 0, not left out.
        let none = RunSummary {
            at_least_once: true,
            accepts_loss: false,
            ..summary(vec![fake_report(0, 3, 0)])
        };
        assert!(none
            .human()
            .contains("duplicates 0 output records in 0 seeds"));
    }

    #[test]
    fn json_summary_has_the_contract_shape() {
        let s = summary(vec![
            fake_report(0, 3, 0),
            fake_report(1, 3, 2),
            fake_report(2, 3, 0),
            exec::guard(3, || panic!("lost the sink")),
        ]);
        let text = serde_json::to_string(&s.json()).expect("serializes");
        assert!(
            text.starts_with(
                "{\"scenario\":\"tm-crash\",\"seeds\":4,\"passed\":2,\"failed\":2,\"failures\":[{\"seed\":1,"
            ),
            "{text}"
        );
        println!("{text}");
        let json: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        let keys: Vec<&str> = json
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        let mut expected = [
            "scenario",
            "seeds",
            "passed",
            "failed",
            "failures",
            "sim_seconds",
            "wall_seconds",
            "records",
            "timed_out",
            "not_run",
            "interrupted",
            "probes",
            "sometimes_missed",
        ];
        expected.sort_unstable();
        assert_eq!(keys, expected);
        assert_eq!(json["scenario"], "tm-crash");
        assert_eq!(json["seeds"], 4);
        assert_eq!(json["passed"], 2);
        assert_eq!(json["failed"], 2);
        assert_eq!(json["sim_seconds"], 4.5);
        assert_eq!(json["wall_seconds"], 2.345);
        assert_eq!(json["records"], 300);
        assert_eq!(json["timed_out"], 0);
        assert_eq!(json["not_run"], 0);
        assert_eq!(json["interrupted"], false);
        let failures = json["failures"].as_array().expect("an array");
        assert_eq!(failures.len(), 2);
        assert_eq!(failures[0]["seed"], 1);
        assert_eq!(
            failures[0]["replay"],
            "flinch replay 'scenarios/tm crash.toml' --seed 1"
        );
        assert_eq!(
            failures[0]["violations"][1],
            serde_json::json!({
                "checker": "exactly-once",
                "kind": "missing",
                "message": "key-1 has no output",
                "key": 1,
                "partition": 0,
                "offset": 1,
            })
        );
        assert_eq!(failures[0]["kind"], "records");
        assert_eq!(
            failures[0]["counts"],
            serde_json::json!({"internal": 0, "job": 0, "state": 0, "records": 2})
        );
        assert!(failures[0].get("stopped_at_sim_seconds").is_none());
        assert_eq!(failures[1]["seed"], 3);
        assert_eq!(failures[1]["kind"], "internal-error");
        assert_eq!(failures[1]["counts"]["internal"], 1);
        assert_eq!(failures[1]["violations"][0]["kind"], "internal-error");
        let message = failures[1]["violations"][0]["message"]
            .as_str()
            .expect("a string");
        assert!(message.ends_with(": lost the sink"), "{message}");
        assert_eq!(s.exit_code(), EXIT_INTERNAL_ERROR);
    }

    #[test]
    fn a_clean_run_exits_0_and_says_nothing_of_failures() {
        let s = summary(vec![fake_report(0, 3, 0), fake_report(1, 3, 0)]);
        assert_eq!(s.exit_code(), EXIT_PASSED);
        let json = serde_json::to_value(s.json()).expect("serializes");
        assert_eq!(json["failures"], serde_json::json!([]));
        let text = s.human();
        assert!(text.contains("passed     2\nfailed     0\n"), "{text}");
        assert!(!text.contains("FAILED"), "{text}");
        assert!(!text.contains("replay"), "{text}");
    }

    #[test]
    fn the_human_summary_shows_the_first_failure() {
        let s = summary(vec![
            fake_report(0, 30, 0),
            fake_report(1, 30, 12),
            fake_report(2, 30, 1),
            fake_report(3, 30, 1),
        ]);
        let text = s.human();
        assert!(
            text.contains("FAILED: seed 1 (and 2 other failing seeds: 2, 3)\n"),
            "{text}"
        );
        assert!(
            text.contains("replay: flinch replay 'scenarios/tm crash.toml' --seed 1\n"),
            "{text}"
        );
        assert!(
            text.contains("violations: 12 records (12 missing)\n"),
            "{text}"
        );
        assert!(text.contains("  [exactly-once] missing: key-9 has no output\n"));
        assert!(!text.contains("key-10 has no output"), "{text}");
        assert!(
            text.contains("  ... 2 more lines (all in --json and flinch replay)\n"),
            "{text}"
        );
        assert!(text.contains("last 20 of 30 trace lines:\n"), "{text}");
        // The tail is the last 20 lines: checkpoints 10 to 29.
        assert!(!text.contains("\"checkpoint\":9,"), "{text}");
        assert!(text.contains("\"checkpoint\":10,"), "{text}");
        assert!(text.contains("\"checkpoint\":29,"), "{text}");
        println!("{text}");
    }

    #[test]
    fn a_timed_out_seed_is_its_own_kind_with_its_replay_command() {
        let mut s = summary(vec![fake_report(0, 3, 0), fake_report(2, 3, 1)]);
        s.results.insert(1, timed_out(1, 96));
        s.timeout = Some(Duration::from_millis(1));
        assert_eq!(s.failed(), 2);
        assert_eq!(s.exit_code(), EXIT_FAILED);

        let json = serde_json::to_value(s.json()).expect("serializes");
        assert_eq!(json["timed_out"], 1);
        assert_eq!(json["failed"], 2);
        let first = &json["failures"][0];
        assert_eq!(first["seed"], 1);
        assert_eq!(first["kind"], "timed-out");
        assert_eq!(first["violations"], serde_json::json!([]));
        assert_eq!(
            first["replay"],
            "flinch replay 'scenarios/tm crash.toml' --seed 1"
        );
        assert_eq!(first["stopped_at_sim_seconds"], 0.096);
        assert_eq!(json["failures"][1]["kind"], "records");

        let text = s.human();
        assert!(
            text.contains("failed     2 (1 timed out after 1ms)\n"),
            "{text}"
        );
        assert!(text.contains("FAILED: seed 1 (and 1 other failing seed: 2)\n"));
        assert!(text.contains("replay: flinch replay 'scenarios/tm crash.toml' --seed 1\n"));
        assert!(
            text.contains(
                "timed out: still running after the --timeout of 1ms (wall clock), stopped at \
                 0.096 s of simulated time; the replay runs it to its verdict\n"
            ),
            "{text}"
        );
        assert!(!text.contains("violations"), "{text}");
        println!("{text}");

        // A timed-out seed named among the others says so.
        let mut s = summary(vec![fake_report(0, 3, 1)]);
        s.results.push(timed_out(1, 10));
        s.timeout = Some(Duration::from_millis(1));
        let text = s.human();
        assert!(
            text.contains("(and 1 other failing seed: 1 (timed out))"),
            "{text}"
        );
    }

    #[test]
    fn an_interrupted_run_summarizes_what_finished_and_exits_130() {
        let mut s = summary(vec![fake_report(0, 3, 0), fake_report(1, 3, 2)]);
        s.seeds = SeedRange::new(0, 999).expect("not empty");
        s.interrupted = true;
        s.stopped = 2;
        s.not_started = 996;
        assert_eq!(s.exit_code(), EXIT_INTERRUPTED);
        let text = s.human();
        assert!(
            text.contains("seeds      0..1000 (2 run on 4 threads)\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "stopped    by Ctrl-C: 2 seeds stopped while running, 996 seeds never started\n"
            ),
            "{text}"
        );
        // The first failure among the finished seeds, as always.
        assert!(text.contains("FAILED: seed 1\n"), "{text}");
        assert!(
            text.contains("violations: 2 records (2 missing)\n"),
            "{text}"
        );
        let json = serde_json::to_value(s.json()).expect("serializes");
        assert_eq!(json["interrupted"], true);
        assert_eq!(json["not_run"], 998);
        assert_eq!(json["seeds"], 2);
        assert_eq!(json["failures"][0]["seed"], 1);

        // Interrupted with nothing failed: still 130, not 0.
        let mut clean = summary(vec![fake_report(0, 3, 0)]);
        clean.interrupted = true;
        assert_eq!(clean.exit_code(), EXIT_INTERRUPTED);
        // Interrupted while shrinking, after every seed ran.
        let text = clean.human();
        assert!(
            text.contains(
                "stopped    by Ctrl-C after every seed had run (the first failure is not shrunk)\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_fail_fast_run_says_how_many_seeds_never_started() {
        let mut s = summary(vec![fake_report(0, 3, 0), fake_report(1, 3, 1)]);
        s.seeds = SeedRange::new(0, 49).expect("not empty");
        s.failed_fast = true;
        s.not_started = 48;
        assert_eq!(s.exit_code(), EXIT_FAILED);
        let text = s.human();
        assert!(
            text.contains("stopped    by --fail-fast: 48 seeds never started after a failure\n"),
            "{text}"
        );
        let json = serde_json::to_value(s.json()).expect("serializes");
        assert_eq!(
            (json["not_run"].as_u64(), json["interrupted"].as_bool()),
            (Some(48), Some(false))
        );
        // A run that was not stopped has no `stopped` line.
        let plain = summary(vec![fake_report(0, 3, 1)]).human();
        assert!(!plain.contains("stopped "), "{plain}");
    }

    #[test]
    fn the_failure_kind_is_the_root_causes() {
        use flinch_harness::violation::{Checker, INTERNAL_ERROR};
        let kind = |violations: Vec<Violation>| FailureKind::of(&violations);
        let v = Violation::new;
        assert_eq!(
            kind(vec![v(Checker::ExpectedOutcome, ENGINE_PANIC, "")]),
            FailureKind::EnginePanic
        );
        assert_eq!(
            kind(vec![v(Checker::ExpectedOutcome, INTERNAL_ERROR, "")]),
            FailureKind::InternalError
        );
        assert_eq!(
            kind(vec![v(Checker::ExpectedOutcome, "not-finished", "")]),
            FailureKind::Job
        );
        assert_eq!(
            kind(vec![v(Checker::RecoveredState, "digest-mismatch", "")]),
            FailureKind::State
        );
        assert_eq!(
            kind(vec![v(Checker::ExactlyOnce, "missing", "")]),
            FailureKind::Records
        );
        assert_eq!(
            serde_json::to_value(FailureKind::InternalError).expect("serializes"),
            "internal-error"
        );
        assert_eq!(
            serde_json::to_value(FailureKind::EnginePanic).expect("serializes"),
            "engine-panic"
        );
        assert_eq!(
            serde_json::to_value(FailureKind::TimedOut).expect("serializes"),
            "timed-out"
        );
        assert_eq!(summary(vec![fake_report(0, 1, 0)]).results[0].kind(), None);
    }

    /// Seed 0 of `steady` with a topology validation refuses: the engine's
    /// key routing divides by zero, a real engine panic in a real run.
    fn engine_panic(seed: u64) -> SeedReport {
        let mut scenario = flinch_harness::scenario::load("steady").expect("built-in");
        scenario.config.topology.max_parallelism = 0;
        exec::run_guarded(&scenario, seed)
    }

    #[test]
    fn an_engine_panic_exits_3_and_says_it_is_a_bug_in_the_engine() {
        let panicked = engine_panic(1);
        assert!(!panicked.trace.is_empty(), "the trace up to the panic");
        let s = summary(vec![fake_report(0, 3, 1), panicked, fake_report(2, 3, 0)]);
        assert_eq!(s.exit_code(), EXIT_ENGINE_PANIC);
        let text = s.human();
        assert!(text.contains("failed     2 (1 engine panic)\n"), "{text}");
        // The first failure is an ordinary one; the other says what it is.
        assert!(
            text.contains("FAILED: seed 0 (and 1 other failing seed: 1 (engine panic))\n"),
            "{text}"
        );
        println!("{text}");

        let mut s = summary(vec![engine_panic(0)]);
        s.scenario_arg = "broken.toml".into();
        let text = s.human();
        assert!(
            text.contains(
                "FAILED: seed 0\nreplay: flinch replay broken.toml --seed 0\nengine panic: a host \
                 panicked in the engine's own code, a bug in the engine (the violation says where)\n\
                 violations: 1 internal (engine-panic)\n  [expected-outcome] engine-panic: \
                 engine/src/keygroup.rs:"
            ),
            "{text}"
        );
        assert!(
            text.contains("trace at the first violation's moment, 0.034s (> marks it)"),
            "{text}"
        );
        println!("{text}");
        let json = serde_json::to_value(s.json()).expect("serializes");
        assert_eq!(json["failures"][0]["kind"], "engine-panic");
        assert_eq!(json["failures"][0]["counts"]["internal"], 1);
    }

    #[test]
    fn an_internal_error_exits_4_over_engine_panics_and_verdicts() {
        let mut s = summary(vec![
            engine_panic(0),
            exec::guard(1, || panic!("lost the sink")),
            fake_report(2, 3, 1),
            exec::guard(3, || panic!("lost it again")),
        ]);
        s.results.push(timed_out(4, 10));
        s.timeout = Some(Duration::from_millis(1));
        assert_eq!(s.exit_code(), EXIT_INTERNAL_ERROR);
        let text = s.human();
        assert!(
            text.contains(
                "failed     5 (2 internal errors, 1 engine panic, 1 timed out after 1ms)\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "(and 4 other failing seeds: 1 (internal error), 2, 3 (internal error), \
                 4 (timed out))"
            ),
            "{text}"
        );
        s.results.remove(0);
        let text = s.human();
        assert!(
            text.contains(
                "FAILED: seed 1 (and 3 other failing seeds: 2, 3 (internal error), 4 (timed out))\n\
                 replay: flinch replay 'scenarios/tm crash.toml' --seed 1\n\
                 internal error: turmoil or flinch broke, not the job under test, so this seed has \
                 no verdict to trust\n"
            ),
            "{text}"
        );
        println!("{text}");
        // Ctrl-C still wins.
        s.interrupted = true;
        assert_eq!(s.exit_code(), EXIT_INTERRUPTED);
    }
}
