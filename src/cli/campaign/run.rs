//! `flinch campaign run`: one shard of a campaign, appended to its results
//! file, resumable.

use super::merge::{self, Merged};
use super::results::{Line, Writer, BUILD};
use super::shard::{self, Shard, ShardSpec};
use super::{scenarios, Entry};
use crate::cli::exec::{self, Controls, HasSeed, Stop, StopReason};
use crate::cli::{interrupt, seeds, Output, EXIT_INTERRUPTED};
use crate::report::plural;
use anyhow::{anyhow, bail};
use clap::Args;
use flinch_harness::scenario::SeedRange;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{IsTerminal, Write as _};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The longest `--minutes`: a week. Longer campaigns are several runs of
/// the same shard, each resuming the last.
pub const MAX_MINUTES: f64 = 7.0 * 24.0 * 60.0;
/// When stderr is not a terminal, a progress line this often.
const PLAIN_PROGRESS_EVERY: Duration = Duration::from_secs(10);

#[derive(Args, Debug)]
pub struct CampaignRunArgs {
    /// `all` (every built-in scenario) or a comma-separated list of
    /// built-in names and scenario files.
    #[arg(long, value_name = "all|NAME,...", default_value = "all")]
    pub scenarios: String,
    /// Seeds, half-open (0..1000 is seeds 0 to 999, as is 0..=999, the
    /// end included), run against every scenario. [default: each scenario's own `[seeds] range`; with
    /// --minutes, 0 and up]
    #[arg(long, value_name = "A..B", value_parser = seeds::parse_seed_range)]
    pub seeds: Option<SeedRange>,
    /// Start no seed after this many minutes (a decimal, such as 0.5);
    /// running seeds finish. Stops sooner at the end of --seeds.
    #[arg(long, value_name = "M", value_parser = parse_minutes)]
    pub minutes: Option<f64>,
    /// Run shard K of N (0-based): the seeds s with s mod N = K. `auto/N`
    /// takes K from JOB_COMPLETION_INDEX (Kubernetes), or from Slurm:
    /// (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN) / SLURM_ARRAY_TASK_STEP.
    #[arg(long, value_name = "K/N", value_parser = shard::parse)]
    pub shard: Option<ShardSpec>,
    /// The results file: one JSON line per finished (scenario, seed),
    /// appended; what it already holds is not run again.
    #[arg(long, value_name = "FILE", default_value = "results.jsonl")]
    pub out: PathBuf,
    /// Worker threads. [default: all cores]
    #[arg(long, short = 'j', value_name = "N", value_parser = seeds::parse_jobs)]
    pub jobs: Option<usize>,
    /// Print the summary as `flinch campaign merge --json` does, and no
    /// progress.
    #[arg(long)]
    pub json: bool,
    /// Wall-clock limit of one seed, as "500ms" or "10s" (1ms to 24h): a
    /// seed still running then is stopped and written as `timed-out`, so a
    /// resumed shard gets past it. [default: none]
    #[arg(long, value_name = "DURATION", value_parser = seeds::parse_timeout)]
    pub timeout: Option<Duration>,
}

/// `--minutes`: a positive number of minutes, at most [`MAX_MINUTES`].
fn parse_minutes(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(m) if m > 0.0 && m <= MAX_MINUTES => Ok(m),
        Ok(m) if m > MAX_MINUTES => Err(format!(
            "at most {MAX_MINUTES} minutes (a week); run the shard again to resume it"
        )),
        _ => Err(format!(
            "expected a positive number of minutes, such as 30 or 0.5, got \"{}\"",
            s.trim()
        )),
    }
}

/// `m` minutes, in words.
fn minutes(m: f64) -> String {
    if m == 1.0 {
        "1 minute".to_owned()
    } else {
        format!("{m} minutes")
    }
}

/// The (scenario, seed) pairs of a shard, in the order it runs them:
/// step by step, every scenario in turn. Index `i` is step `i / scenarios`
/// of scenario `i % scenarios`: its shard's seed number `i / scenarios`
/// within its range, so scenarios with ranges far apart still alternate.
struct Space {
    entries: Vec<Entry>,
    shard: Shard,
    /// Per scenario: the seeds to take the shard's from (`--seeds`, or its
    /// own range), the shard's first seed there, and how many it has.
    ranges: Vec<SeedRange>,
    firsts: Vec<u64>,
    counts: Vec<u64>,
    /// No end but the clock (`--minutes` without `--seeds`).
    unbounded: bool,
    /// Per scenario: seeds the results file holds, not run again.
    done: Vec<BTreeSet<u64>>,
}

impl Space {
    fn new(entries: Vec<Entry>, shard: Shard, seeds: Option<SeedRange>, unbounded: bool) -> Self {
        let ranges: Vec<SeedRange> = (entries.iter())
            .map(|e| seeds.unwrap_or(e.scenario.seeds))
            .collect();
        Space {
            firsts: (ranges.iter())
                .map(|r| shard.seeds(*r).next().unwrap_or(r.last()))
                .collect(),
            counts: ranges.iter().map(|r| shard.count_in(*r)).collect(),
            done: vec![BTreeSet::new(); entries.len()],
            entries,
            shard,
            ranges,
            unbounded,
        }
    }

    /// How many indices the sweep walks (saturating: `--minutes` alone
    /// names more than it can run).
    fn indices(&self) -> u64 {
        let steps = self.counts.iter().copied().max().unwrap_or(0);
        steps.saturating_mul(self.entries.len() as u64)
    }

    /// The pair at index `i`, or `None` when there is none to run: the
    /// scenario has fewer seeds, or the file holds it.
    fn pair(&self, i: u64) -> Option<(&Entry, u64)> {
        let n = self.entries.len() as u64;
        let (step, e) = (i / n, usize::try_from(i % n).ok()?);
        if step >= self.counts[e] {
            return None;
        }
        let seed = self.firsts[e].checked_add(step.checked_mul(self.shard.count)?)?;
        (!self.done[e].contains(&seed)).then_some((&self.entries[e], seed))
    }

    /// Pairs of this shard the file holds.
    fn already_done(&self) -> u64 {
        (self.done.iter().zip(&self.ranges))
            .map(|(done, range)| {
                done.range(range.seeds())
                    .filter(|s| self.shard.owns(**s))
                    .count() as u64
            })
            .sum()
    }

    /// How many pairs are to run, when that is bounded.
    /// (Saturated at `u64::MAX`: every seed of several scenarios is more.)
    fn to_run(&self) -> Option<u64> {
        (!self.unbounded).then(|| {
            (self.counts.iter())
                .fold(0u64, |sum, &n| sum.saturating_add(n))
                .saturating_sub(self.already_done())
        })
    }
}

/// A seed's line, by its index in the [`Space`].
struct Ran(u64, Box<Line>);

impl HasSeed for Ran {
    fn seed(&self) -> u64 {
        self.0
    }
}

pub fn run(args: &CampaignRunArgs) -> anyhow::Result<Output> {
    // First: a signal while the results file is read stops the shard
    // cleanly too.
    // Ctrl-C and SIGTERM set the handler's flag, which the sweep watches;
    // without a handler, a flag of our own (for a failed write).
    let local = AtomicBool::new(false);
    let flag: &AtomicBool = match interrupt::install() {
        Ok(flag) => flag,
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "flinch: {e}; Ctrl-C and SIGTERM will end the shard at once (a torn last line is \
                 cut off on resume)"
            );
            &local
        }
    };
    let shard = match args.shard {
        None => Shard::ALL,
        Some(spec) => spec
            .resolve(|name| std::env::var(name).ok())
            .map_err(|e| anyhow!(e))?,
    };
    let entries = scenarios(&args.scenarios)?;
    if BUILD == "unknown" && !args.json {
        let _ = writeln!(
            std::io::stderr(),
            "flinch: this flinch was built outside a git checkout: its lines say build \
             `unknown`, and merge cannot tell two such builds apart"
        );
    }
    let unbounded = args.minutes.is_some() && args.seeds.is_none();
    let seeds = match (&args.seeds, unbounded) {
        (Some(range), _) => Some(*range),
        (None, true) => SeedRange::new(0, u64::MAX),
        (None, false) => None,
    };
    let mut space = Space::new(entries, shard, seeds, unbounded);
    let out = args.out.display().to_string();
    let (mut writer, held) = {
        let by_name: BTreeMap<&str, usize> = (space.entries.iter().enumerate())
            .map(|(i, e)| (e.arg.as_str(), i))
            .collect();
        let (entries, done) = (&space.entries, &mut space.done);
        Writer::open(&args.out, |number, line| {
            if line.build != BUILD {
                bail!(
                    "{out}:{number}: a result of build {}, and this flinch is build {BUILD}: \
                     resume with that build, or write to another --out (merge refuses mixed \
                     builds)",
                    line.build
                );
            }
            if let Some(&i) = by_name.get(line.scenario.as_str()) {
                if line.scenario_hash != entries[i].hash {
                    bail!(
                        "{out}:{number}: a result of {} as it was (content hash {}); the file \
                         now hashes to {}: write to another --out",
                        line.scenario,
                        line.scenario_hash,
                        entries[i].hash
                    );
                }
                done[i].insert(line.seed);
            }
            Ok(())
        })?
    };
    // Only a torn last line that began as a results line is cut off: any
    // other line that is not a result is not ours to skip or to overwrite.
    let complete_bad = held.bad_lines - usize::from(held.torn_is_ours);
    if complete_bad > 0 {
        let first = held
            .bad
            .first()
            .map_or_else(String::new, ToString::to_string);
        bail!(
            "{first}; {out} holds {complete_bad} line{} that {} not results: remove them, or \
             write to another --out (the file is left as it is)",
            plural(complete_bad),
            if complete_bad == 1 { "is" } else { "are" }
        );
    }
    if let (Some((torn, at)), true) = (&held.torn, held.torn_is_ours) {
        writer.cut(*at)?;
        if !args.json {
            let _ = writeln!(
                std::io::stderr(),
                "flinch: {torn}: cut off a torn last line (its seed runs again)"
            );
        }
    }
    let space = Arc::new(space);
    let (jobs, note) = seeds::bound_jobs(args.jobs, seeds::default_jobs(), u64::MAX);
    if let Some(note) = note {
        let _ = writeln!(std::io::stderr(), "flinch: {note}");
    }
    let deadline = args
        .minutes
        .and_then(|m| Instant::now().checked_add(Duration::from_secs_f64(m * 60.0)));
    let skip = {
        let space = Arc::clone(&space);
        move |i: u64| space.pair(i).is_none()
    };
    let controls = Controls {
        jobs,
        interrupt: Some(flag),
        deadline,
        timeout: args.timeout,
        discard_results: true,
        skip: Some(&skip),
        ..Controls::default()
    };
    let mut progress = Progress::new(args, &space, jobs);
    let mut write_error = None;
    let shard_name = shard.to_string();
    let swept = exec::sweep(
        0..space.indices(),
        &controls,
        {
            let space = Arc::clone(&space);
            let timeout = args.timeout;
            move |i, stop: &Stop| {
                let (entry, seed) = space.pair(i)?;
                let started = Instant::now();
                let line = match exec::run_guarded_until(&entry.scenario, seed, stop) {
                    Ok(report) => Line::of(
                        &entry.arg,
                        &entry.hash,
                        &shard_name,
                        &report,
                        started.elapsed(),
                    ),
                    Err(stopped) => match (stop.reason(), timeout) {
                        (Some(StopReason::TimedOut), Some(limit)) => Line::timed_out(
                            &entry.arg,
                            &entry.hash,
                            &shard_name,
                            &stopped,
                            entry.scenario.plan(seed).len(),
                            limit,
                        ),
                        // Interrupted: no line; it runs again on resume.
                        _ => return None,
                    },
                };
                Some(Ran(i, Box::new(line)))
            }
        },
        |event| {
            if let Some(Ran(_, line)) = event {
                if write_error.is_none() {
                    if let Err(e) = writer.append(line) {
                        write_error = Some(e);
                        flag.store(true, Ordering::Relaxed);
                    }
                }
                progress.ran(line);
            } else {
                progress.tick();
            }
        },
    )?;
    let interrupted = swept.interrupted && write_error.is_none();
    progress.finish(interrupted);
    if let Some(e) = write_error {
        return Err(e);
    }
    writer.sync()?;
    drop(writer);
    if !args.json {
        let why = if interrupted {
            "stopped by a signal (Ctrl-C or SIGTERM): running seeds were dropped and run again on \
             resume"
        } else if swept.deadline_passed {
            "--minutes passed"
        } else {
            "every seed of the shard ran"
        };
        let _ = writeln!(
            std::io::stderr(),
            "flinch: campaign shard {shard} ended: {why}; the summary of {out} follows{}",
            if shard.count > 1 {
                " (`sometimes` is judged by campaign merge, over every shard)"
            } else {
                ""
            }
        );
    }
    let mut merged = Merged::of(std::slice::from_ref(&args.out), true)?;
    if shard.count > 1 {
        merged.not_judged_here("a shard: campaign merge judges it over every shard");
    }
    let mut output = merge::output(&merged, args.json)?;
    if interrupted {
        output.code = EXIT_INTERRUPTED;
    }
    Ok(output)
}

/// Progress on stderr: a bar on a terminal (seeds, or minutes with
/// `--minutes`), a line every [`PLAIN_PROGRESS_EVERY`] otherwise, nothing
/// with `--json`.
struct Progress {
    bar: ProgressBar,
    plain: bool,
    ran: u64,
    failed: u64,
    minutes: Option<f64>,
    started: Instant,
    last_line: Instant,
}

impl Progress {
    fn new(args: &CampaignRunArgs, space: &Space, jobs: usize) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let total = space.to_run();
        let what = format!(
            "campaign shard {}: {} scenario{}, {} to run ({} already in {}), on {jobs} thread{}",
            space.shard,
            space.entries.len(),
            plural(space.entries.len()),
            match (total, args.minutes) {
                (Some(u64::MAX), None) => format!("{} or more seeds", u64::MAX),
                (Some(n), None) => format!("{n} seed{}", plural(n as usize)),
                (Some(n), Some(m)) => {
                    let more = if n == u64::MAX { " or more" } else { "" };
                    format!("{n}{more} seeds or {}, whichever ends first", minutes(m))
                }
                (None, Some(m)) => format!("{} of seeds", minutes(m)),
                (None, None) => "every seed".to_owned(),
            },
            space.already_done(),
            args.out.display(),
            plural(jobs),
        );
        if !args.json {
            let _ = writeln!(std::io::stderr(), "flinch: {what}");
        }
        let bar = if args.json || !terminal {
            ProgressBar::hidden()
        } else {
            let (len, template) = match (args.minutes, total) {
                (Some(m), _) => (
                    (m * 60.0) as u64,
                    "[{elapsed_precise}] {wide_bar} {msg} (s: {pos}/{len})",
                ),
                (None, total) => (
                    total.unwrap_or(0),
                    "[{elapsed_precise}] {wide_bar} {pos}/{len} seeds, {msg} (eta {eta})",
                ),
            };
            let style =
                ProgressStyle::with_template(template).expect("the progress template is valid");
            let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr())
                .with_style(style)
                .with_message("0 failed");
            bar.enable_steady_tick(Duration::from_millis(250));
            bar
        };
        let now = Instant::now();
        Progress {
            bar,
            plain: !args.json && !terminal,
            ran: 0,
            failed: 0,
            minutes: args.minutes,
            started: now,
            last_line: now,
        }
    }

    fn ran(&mut self, line: &Line) {
        self.ran += 1;
        if !line.passed {
            self.failed += 1;
        }
        self.bar
            .set_message(format!("{} ran, {} failed", self.ran, self.failed));
        if self.minutes.is_none() {
            self.bar.inc(1);
        }
        self.tick();
    }

    fn tick(&mut self) {
        if self.minutes.is_some() {
            self.bar.set_position(self.started.elapsed().as_secs());
        }
        if self.plain && self.last_line.elapsed() >= PLAIN_PROGRESS_EVERY {
            self.last_line = Instant::now();
            let _ = writeln!(
                std::io::stderr(),
                "flinch: {} seeds ran, {} failed, {:.0} s",
                self.ran,
                self.failed,
                self.started.elapsed().as_secs_f64()
            );
        }
    }

    fn finish(&mut self, interrupted: bool) {
        self.bar.finish_and_clear();
        if interrupted {
            let _ = writeln!(
                std::io::stderr(),
                "flinch: interrupted: the running seeds were stopped; no line is half-written"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_are_positive_and_bounded() {
        assert_eq!(parse_minutes("0.5"), Ok(0.5));
        assert_eq!(parse_minutes(" 30 "), Ok(30.0));
        for bad in ["0", "-1", "x", "", "NaN", "inf", "20000"] {
            assert!(parse_minutes(bad).is_err(), "{bad}");
        }
    }
}
