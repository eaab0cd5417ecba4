//! `flinch campaign run`: one shard of a campaign, appended to its results
//! file, resumable.

use super::merge::{self, Merged};
use super::results::{Line, Writer, BUILD};
use super::shard::{self, Shard, ShardSpec};
use super::{scenarios, Entry};
use crate::cli::exec::{self, Controls, HasSeed, Stop};
use crate::cli::{interrupt, seeds, Output, EXIT_INTERRUPTED};
use crate::report::plural;
use anyhow::{anyhow, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeSet;
use std::io::{IsTerminal, Write as _};
use std::ops::Range;
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
    /// Seeds, half-open (0..1000 is seeds 0 to 999), run against every
    /// scenario. [default: each scenario's own `[seeds] range`; with
    /// --minutes, 0 and up]
    #[arg(long, value_name = "A..B", value_parser = seeds::parse_seed_range)]
    pub seeds: Option<Range<u64>>,
    /// Start no seed after this many minutes (a decimal, such as 0.5);
    /// running seeds finish. Stops sooner at the end of --seeds.
    #[arg(long, value_name = "M", value_parser = parse_minutes)]
    pub minutes: Option<f64>,
    /// Run shard K of N (0-based): the seeds s with s mod N = K. `auto/N`
    /// takes K from JOB_COMPLETION_INDEX (Kubernetes) or
    /// SLURM_ARRAY_TASK_ID minus SLURM_ARRAY_TASK_MIN (Slurm).
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
/// seed by seed, every scenario in turn. Index `i` is seed number
/// `i / scenarios` of the shard and scenario `i % scenarios`.
struct Space {
    entries: Vec<Entry>,
    shard: Shard,
    /// The seeds to take the shard's from.
    range: Range<u64>,
    /// The shard's lowest seed of `range`.
    first: u64,
    /// Each scenario's own range is kept (no `--seeds`).
    own_ranges: bool,
    /// Pairs the results file holds: not run again.
    done: BTreeSet<(String, u64)>,
}

impl Space {
    /// How many indices the sweep walks (saturating: `--minutes` alone
    /// names more than it can run).
    fn indices(&self) -> u64 {
        self.shard
            .count_in(self.range.clone())
            .saturating_mul(self.entries.len() as u64)
    }

    /// The pair at index `i`, or `None` when it is not to run: already in
    /// the file, or outside its scenario's own range.
    fn pair(&self, i: u64) -> Option<(&Entry, u64)> {
        let n = self.entries.len() as u64;
        let seed = self
            .first
            .checked_add((i / n).checked_mul(self.shard.count)?)?;
        let entry = &self.entries[usize::try_from(i % n).ok()?];
        let skip = (self.own_ranges && !entry.scenario.seeds.contains(&seed))
            || self.done.contains(&(entry.arg.clone(), seed));
        (!skip).then_some((entry, seed))
    }

    /// How many pairs are to run, when that is bounded.
    fn to_run(&self) -> Option<u64> {
        if self.range.end == u64::MAX {
            return None;
        }
        let mut total = 0u64;
        for entry in &self.entries {
            let range = if self.own_ranges {
                entry.scenario.seeds.clone()
            } else {
                self.range.clone()
            };
            let done = (self.done.iter())
                .filter(|(arg, seed)| {
                    *arg == entry.arg && range.contains(seed) && self.shard.owns(*seed)
                })
                .count() as u64;
            total = total.saturating_add(self.shard.count_in(range) - done);
        }
        Some(total)
    }
}

/// What a worker hands back for one index.
enum Ran {
    /// Not run: in the file already, or outside its range.
    Skipped(u64),
    Line(u64, Box<Line>),
}

impl HasSeed for Ran {
    fn seed(&self) -> u64 {
        match self {
            Ran::Skipped(i) | Ran::Line(i, _) => *i,
        }
    }
}

pub fn run(args: &CampaignRunArgs) -> anyhow::Result<Output> {
    let shard = match args.shard {
        None => Shard::ALL,
        Some(spec) => spec
            .resolve(|name| std::env::var(name).ok())
            .map_err(|e| anyhow!(e))?,
    };
    let entries = scenarios(&args.scenarios)?;
    let (own_ranges, range) = match (&args.seeds, args.minutes) {
        (Some(range), _) => (false, range.clone()),
        (None, Some(_)) => (false, 0..u64::MAX),
        (None, None) => {
            let start = entries.iter().map(|e| e.scenario.seeds.start).min();
            let end = entries.iter().map(|e| e.scenario.seeds.end).max();
            (true, start.unwrap_or(0)..end.unwrap_or(0))
        }
    };
    let (mut writer, held) = Writer::open(&args.out)?;
    // A torn last line is the last bad one, cut off already; any other is
    // not ours to skip or to overwrite.
    let complete = held.bad.len() - usize::from(held.torn_at.is_some());
    if let Some(bad) = held.bad[..complete].first() {
        bail!(
            "{bad}; {} holds lines that are not results: remove them, or write to another --out",
            args.out.display()
        );
    }
    let mut done = BTreeSet::new();
    for (number, line) in &held.lines {
        let at = format!("{}:{number}", args.out.display());
        if line.build != BUILD {
            bail!(
                "{at}: a result of build {}, and this flinch is build {BUILD}: resume with that \
                 build, or write to another --out (merge refuses mixed builds)",
                line.build
            );
        }
        if let Some(entry) = entries.iter().find(|e| e.arg == line.scenario) {
            if line.scenario_hash != entry.hash {
                bail!(
                    "{at}: a result of {} as it was (content hash {}); the file now hashes to \
                     {}: write to another --out",
                    line.scenario,
                    line.scenario_hash,
                    entry.hash
                );
            }
        }
        done.insert((line.scenario.clone(), line.seed));
    }
    if held.torn_at.is_some() && !args.json {
        let _ = writeln!(
            std::io::stderr(),
            "flinch: {}: cut off a torn last line (its seed runs again)",
            held.bad
                .last()
                .map_or_else(String::new, ToString::to_string)
        );
    }
    let first = shard.seeds(range.clone()).next().unwrap_or(range.end);
    let space = Arc::new(Space {
        entries,
        shard,
        range,
        first,
        own_ranges,
        done,
    });
    let jobs = seeds::bound_jobs(args.jobs, seeds::default_jobs(), u64::MAX).0;
    let interrupt = match interrupt::install() {
        Ok(flag) => Some(flag),
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "flinch: {e}; Ctrl-C and SIGTERM will end the shard at once (a torn last line is \
                 cut off on resume)"
            );
            None
        }
    };
    // Ctrl-C or a failed write: the sweep's interrupt, set by `on_event`.
    let stop = AtomicBool::new(false);
    let deadline = args
        .minutes
        .and_then(|m| Instant::now().checked_add(Duration::from_secs_f64(m * 60.0)));
    let controls = Controls {
        jobs,
        interrupt: Some(&stop),
        deadline,
        discard_results: true,
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
            move |i, stop: &Stop| match space.pair(i) {
                None => Some(Ran::Skipped(i)),
                Some((entry, seed)) => {
                    let started = Instant::now();
                    let report = exec::run_guarded_until(&entry.scenario, seed, stop).ok()?;
                    let line = Line::of(
                        &entry.arg,
                        &entry.hash,
                        &shard_name,
                        &report,
                        started.elapsed(),
                    );
                    Some(Ran::Line(i, Box::new(line)))
                }
            }
        },
        |event| {
            if let Some(Ran::Line(_, line)) = event {
                if write_error.is_none() {
                    if let Err(e) = writer.append(line) {
                        write_error = Some(e);
                    }
                }
                progress.ran(line);
            } else {
                progress.tick();
            }
            let interrupted = interrupt.is_some_and(|i| i.load(Ordering::Relaxed));
            if interrupted || write_error.is_some() {
                stop.store(true, Ordering::Relaxed);
            }
        },
    )?;
    progress.finish(interrupt.is_some_and(|i| i.load(Ordering::Relaxed)));
    if let Some(e) = write_error {
        return Err(e);
    }
    writer.sync()?;
    drop(writer);
    let interrupted = swept.interrupted;
    if !args.json {
        let why = if interrupted {
            "stopped by a signal (Ctrl-C or SIGTERM): running seeds were dropped and run again on resume"
        } else if swept.deadline_passed {
            "--minutes passed"
        } else {
            "every seed of the shard ran"
        };
        let _ = writeln!(
            std::io::stderr(),
            "flinch: campaign shard {shard} ended: {why}; the summary of {} follows",
            args.out.display()
        );
    }
    let merged = Merged::of(std::slice::from_ref(&args.out), true)?;
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
                (Some(n), None) => format!("{n} seed{}", plural(n as usize)),
                (Some(n), Some(m)) => format!("{n} seeds or {}, whichever ends first", minutes(m)),
                (None, Some(m)) => format!("{} of seeds", minutes(m)),
                (None, None) => "every seed".to_owned(),
            },
            space.done.len(),
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
