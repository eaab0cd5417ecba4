//! `flinch campaign merge`: many shards' results files, one verdict.
//!
//! Lines are keyed by (scenario, seed). The same pair twice with the same
//! build and scenario content is one result when the two agree in
//! everything but wall time and shard (a retried shard), and
//! *nondeterminism* when they do not: same input, different run, a bug of
//! flinch or turmoil. Results of different builds or scenario contents are
//! refused unless `--force`d, since their verdicts answer different
//! questions; forced, the first line read for a pair counts.
//!
//! Probe requirements (`[expect] sometimes`) are judged here, over every
//! seed of the campaign, and never per shard: a shard's share of a rare
//! probe says little.

use super::results::{self, BadLine, Line};
use super::Entry;
use crate::cli::run::{share, verdict};
use crate::cli::shrink::{header, shrink_on_worker, StderrProgress};
use crate::cli::{exit_code, replay_command, Output, EXIT_FAILED, EXIT_INTERNAL_ERROR};
use crate::html;
use crate::report::{plural, shell_quote_path, FailureKind};
use anyhow::bail;
use clap::Args;
use flinch_engine::probe::Probe;
use flinch_harness::coverage::{self, Judgement, Sometimes};
use flinch_harness::scenario::SeedRange;
use flinch_harness::{plan, shrink};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Plans run at most to shrink one failure for `--regressions` (as
/// `flinch shrink`'s default).
const SHRINK_MAX_RUNS: usize = 500;
/// Failing seeds named per scenario in `--json` (lowest first).
const FAILING_SEEDS_SHOWN: usize = 20;
/// Lines not counted, and nondeterministic seeds, listed in the summary
/// (`--json` lists up to [`JSON_LISTED`]); both count them all.
const LISTED: usize = 20;
const JSON_LISTED: usize = 1000;

#[derive(Args, Debug)]
pub struct MergeArgs {
    /// Results files of `flinch campaign run` (a shell glob such as
    /// results-*.jsonl names them all).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Print one JSON object instead of the summary.
    #[arg(long)]
    pub json: bool,
    /// Merge results of different builds or scenario contents anyway; the
    /// first line read for a (scenario, seed) counts.
    #[arg(long)]
    pub force: bool,
    /// Write each distinct failure (scenario and violation kinds) as a
    /// shrunk scenario file into DIR, named STEM-SEED.toml, ready for
    /// tests/regressions/.
    #[arg(long, value_name = "DIR")]
    pub regressions: Option<PathBuf>,
    /// Write an HTML page of the campaign to DIR/index.html (creating
    /// DIR): a row per scenario, the fastest failures with their replay
    /// commands, the probe requirements, and what was not counted.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
}

pub fn merge(args: &MergeArgs) -> anyhow::Result<Output> {
    // A file named twice (a glob and its own name, a symlink or a hard
    // link) is read once.
    let mut files: Vec<PathBuf> = Vec::with_capacity(args.files.len());
    let mut seen = BTreeSet::new();
    for file in &args.files {
        let key = super::same_file(file).unwrap_or_else(|| super::FileId::Path(file.clone()));
        if seen.insert(key) {
            files.push(file.clone());
        } else if !args.json {
            let _ = writeln!(
                std::io::stderr(),
                "flinch: {} is named twice: read once",
                file.display()
            );
        }
    }
    let mut merged = Merged::of(&files, args.force)?;
    if merged.lines == 0 {
        bail!(
            "no results to merge: {} file{} with no line that parsed ({} not counted{})",
            files.len(),
            plural(files.len()),
            merged.bad_lines,
            merged
                .bad
                .first()
                .map_or_else(String::new, |b| format!("; the first: {b}"))
        );
    }
    // Both folders are checked before anything is shrunk or written.
    if let Some(dir) = &args.regressions {
        prepare_regressions(dir)?;
    }
    if let Some(dir) = &args.report {
        html::prepare(dir)?;
    }
    if let Some(dir) = &args.regressions {
        merged.regressions = Some(write_regressions(&merged, dir, args.json)?);
    }
    if let Some(dir) = &args.report {
        merged.report = Some(html::write(dir, &html::campaign::page(&merged.page()))?);
    }
    output(&merged, args.json)
}

/// The summary of `merged`, and its exit code: 4 on nondeterminism, else as
/// `flinch run`'s (the gravest failure kind; 1 when a required probe
/// missed its share), 0 when every seed passed.
pub fn output(merged: &Merged, json: bool) -> anyhow::Result<Output> {
    let stdout = if json {
        let mut s = serde_json::to_string(&merged.json())?;
        s.push('\n');
        s
    } else {
        merged.human()
    };
    Ok(Output {
        stdout,
        code: merged.exit_code(),
    })
}

/// Where a line came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct At {
    pub file: PathBuf,
    pub line: usize,
}

impl std::fmt::Display for At {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// Two runs of the same (scenario, seed, build, scenario content) that
/// disagree.
#[derive(Debug, Clone)]
pub struct Nondeterminism {
    pub scenario: String,
    pub seed: u64,
    pub first: At,
    pub second: At,
    /// The fields that differ.
    pub fields: Vec<String>,
}

/// Two lines of one (scenario, seed) that disagree: the scenario, the
/// seed, and each line as (file index, line number).
type Clash = (String, u64, (usize, usize), (usize, usize));

/// What merge keeps of one (scenario, seed): its verdict, compactly (a
/// campaign has millions), and where its line is.
#[derive(Debug, Clone)]
pub struct Seen {
    pub seed: u64,
    pub passed: bool,
    /// How it failed; `None` when it passed.
    pub kind: Option<FailureKind>,
    /// Simulated ms to its first violation (failures only).
    pub first_ms: Option<u64>,
    /// The probes of this build's catalogue it hit.
    pub probes: Vec<Probe>,
    /// `[checker] kind` of its violations (failures only), shared by every
    /// seed that shows the same ones.
    pub kinds: Arc<[String]>,
    /// CRC-32 of the line's [`Line::verdict`]: equal for equal runs.
    verdict: u32,
    /// `--timeout` stopped it: no verdict of the simulation's.
    timed_out: bool,
    /// The build and scenario content it ran (an index into
    /// `Merged::identities`).
    identity: usize,
    /// Its line: the file (an index into `Merged::files`) and number.
    file: usize,
    line: usize,
}

impl Seen {
    /// What merge keeps of `line`, found at (file index, line number).
    fn of(
        line: Line,
        verdict: u32,
        identity: usize,
        (file, number): (usize, usize),
        interned: &mut BTreeSet<Arc<[String]>>,
    ) -> Seen {
        let timed_out = line.is_timed_out();
        let kinds: Vec<String> = if line.passed {
            Vec::new()
        } else {
            line.violation_kinds()
        };
        let kinds = match interned.get(&kinds[..]) {
            Some(shared) => Arc::clone(shared),
            None => {
                let shared: Arc<[String]> = kinds.into();
                interned.insert(Arc::clone(&shared));
                shared
            }
        };
        Seen {
            seed: line.seed,
            passed: line.passed,
            kinds,
            probes: line.known_probes().collect(),
            first_ms: (line.first_violation_ms)
                .or((!line.passed && !timed_out).then_some(line.sim_ms)),
            timed_out,
            kind: (!line.passed).then(|| parse_kind(line.kind.as_deref())),
            verdict,
            identity,
            file,
            line: number,
        }
    }

    /// Whether it has a verdict: it was not stopped by `--timeout`.
    fn judged(&self) -> bool {
        !self.timed_out
    }
}

/// CRC-32 of the line's verdict (everything but wall time and shard).
fn verdict_crc(line: &Line) -> u32 {
    let json = serde_json::to_vec(&line.verdict()).expect("a line serializes");
    crc32fast::hash(&json)
}

/// One scenario over the whole campaign.
#[derive(Debug, Default)]
pub struct ScenarioResults {
    /// Content hashes its lines carry (one, unless forced).
    pub hashes: BTreeSet<String>,
    /// Each seed's result, by seed.
    pub seeds: BTreeMap<u64, Seen>,
}

impl ScenarioResults {
    fn failures(&self) -> impl Iterator<Item = &Seen> {
        self.seeds.values().filter(|l| !l.passed)
    }

    /// The failing seed with the least simulated time to its first
    /// violation (the lowest such seed on a tie): (that time, seed).
    /// Seeds `--timeout` stopped have no first violation, and are never
    /// the fastest.
    fn fastest<'a>(seen: impl Iterator<Item = &'a Seen>) -> Option<(u64, u64)> {
        seen.filter(|l| !l.passed)
            .filter_map(|l| Some((l.first_ms?, l.seed)))
            .min()
    }

    /// Seeds `--timeout` stopped.
    fn timed_out(&self) -> usize {
        self.seeds.values().filter(|s| s.timed_out).count()
    }

    /// Distinct failures: the violation kinds a failing seed shows, with
    /// the seeds that show them.
    fn classes(&self) -> BTreeMap<&[String], Vec<&Seen>> {
        let mut classes: BTreeMap<&[String], Vec<&Seen>> = BTreeMap::new();
        for seen in self.failures().filter(|s| s.judged()) {
            classes.entry(&seen.kinds).or_default().push(seen);
        }
        classes
    }

    /// Seeds per violation kind.
    fn kinds(&self) -> BTreeMap<String, usize> {
        let mut kinds = BTreeMap::new();
        for seen in self.failures() {
            for kind in seen.kinds.iter() {
                *kinds.entry(kind.clone()).or_insert(0) += 1;
            }
        }
        kinds
    }
}

/// What `merge` found.
#[derive(Debug, Default)]
pub struct Merged {
    pub files: Vec<PathBuf>,
    /// Lines that parsed.
    pub lines: usize,
    /// Lines not counted, with why (the first [`results::MAX_BAD_KEPT`]).
    pub bad: Vec<BadLine>,
    /// How many lines were not counted.
    pub bad_lines: usize,
    /// Lines equal to one read before (a retried shard), merged into it.
    pub duplicates: usize,
    /// Lines of another build or content than the first read for their
    /// pair (only with `--force`).
    pub superseded: usize,
    /// Seeds that ran two ways, the first [`JSON_LISTED`] of them.
    pub nondeterminism: Vec<Nondeterminism>,
    /// How many seeds ran two ways.
    pub nondeterministic_seeds: usize,
    /// Builds of the lines.
    pub builds: BTreeSet<String>,
    /// The shard counts `N` of the lines' `K/N`.
    pub shard_counts: Vec<u64>,
    /// Shards `K/N` of those counts with no line in the files (the first
    /// [`JSON_LISTED`] of each count): a shard that never ran, or whose
    /// file is missing, or that had no seed to run.
    pub shards_missing: Vec<String>,
    /// How many shards are missing, all of them (`shards_missing` lists
    /// at most [`JSON_LISTED`] of each count).
    pub shards_missing_count: u64,
    /// By scenario (as named in the lines).
    pub scenarios: BTreeMap<String, ScenarioResults>,
    /// Probe requirements per scenario, judged over the campaign; a
    /// scenario missing here could not be loaded or has changed.
    pub judged: BTreeMap<String, Result<Vec<(Sometimes, Judgement)>, String>>,
    /// Files `--regressions` wrote, and failures it could not write.
    pub regressions: Option<Vec<Result<PathBuf, String>>>,
    /// Where `--report` wrote the campaign's page.
    pub report: Option<PathBuf>,
}

impl Merged {
    /// Merge `files`. Errors when a file cannot be read, or (unless
    /// `force`) when lines of different builds or scenario contents meet.
    pub fn of(files: &[PathBuf], force: bool) -> anyhow::Result<Merged> {
        let mut merged = Merged {
            files: files.to_vec(),
            ..Merged::default()
        };
        let mut identities: Vec<(String, String)> = Vec::new();
        let mut first_of_build: BTreeMap<String, At> = BTreeMap::new();
        // Nondeterminism: (scenario, seed, first line, second line).
        let mut clashes: Vec<Clash> = Vec::new();
        let mut clashed: BTreeSet<(String, u64)> = BTreeSet::new();
        let mut interned: BTreeSet<Arc<[String]>> = BTreeSet::new();
        let mut shards: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
        for (index, file) in files.iter().enumerate() {
            let scan = results::scan(file, |number, line| {
                merged.lines += 1;
                if let Some((k, n)) = line.shard.split_once('/') {
                    if let (Ok(k), Ok(n)) = (k.parse::<u64>(), n.parse::<u64>()) {
                        shards.entry(n).or_default().insert(k);
                    }
                }
                if !merged.builds.contains(&line.build) {
                    let at = At {
                        file: file.clone(),
                        line: number,
                    };
                    first_of_build.insert(line.build.clone(), at);
                    merged.builds.insert(line.build.clone());
                }
                let identity = (line.build.clone(), line.scenario_hash.clone());
                let identity = match identities.iter().position(|i| *i == identity) {
                    Some(i) => i,
                    None => {
                        identities.push(identity);
                        identities.len() - 1
                    }
                };
                let scenario = merged.scenarios.entry(line.scenario.clone()).or_default();
                if !scenario.hashes.contains(&line.scenario_hash) {
                    scenario.hashes.insert(line.scenario_hash.clone());
                }
                let verdict = verdict_crc(&line);
                let timed_out = line.is_timed_out();
                let kept = (scenario.seeds.get(&line.seed))
                    .map(|k| (k.identity, k.verdict, k.timed_out, k.file, k.line));
                match kept {
                    None => {
                        let seen =
                            Seen::of(line, verdict, identity, (index, number), &mut interned);
                        scenario.seeds.insert(seen.seed, seen);
                    }
                    Some((kept, ..)) if kept != identity => merged.superseded += 1,
                    // A verdict replaces a seed `--timeout` stopped (whose
                    // outcome was the wall clock's); a stopped seed adds
                    // nothing to one with a verdict.
                    Some((_, _, true, ..)) if !timed_out => {
                        merged.duplicates += 1;
                        let seen =
                            Seen::of(line, verdict, identity, (index, number), &mut interned);
                        scenario.seeds.insert(seen.seed, seen);
                    }
                    Some((_, kept, kept_timed_out, ..))
                        if kept == verdict || timed_out || kept_timed_out =>
                    {
                        merged.duplicates += 1;
                    }
                    Some((.., file, number_kept)) => {
                        // Each seed once, with its first disagreement.
                        if clashed.insert((line.scenario.clone(), line.seed)) {
                            clashes.push((
                                line.scenario,
                                line.seed,
                                (file, number_kept),
                                (index, number),
                            ));
                        }
                    }
                }
                Ok(())
            })?;
            merged.bad_lines += scan.bad_lines;
            let room = results::MAX_BAD_KEPT.saturating_sub(merged.bad.len());
            merged.bad.extend(scan.bad.into_iter().take(room));
        }
        merged.shard_counts = shards.keys().copied().collect();
        for (n, present) in &shards {
            // Every line's shard is a valid `K/N` (results::scan), so each
            // present `k` is below `n`.
            merged.shards_missing_count += n - present.len() as u64;
            let missing = (0..*n).filter(|k| !present.contains(k));
            merged
                .shards_missing
                .extend(missing.take(JSON_LISTED).map(|k| format!("{k}/{n}")));
        }
        clashes.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        merged.nondeterminism = nondeterminism(files, &clashes)?;
        merged.nondeterministic_seeds = clashes.len();
        if !force {
            if merged.builds.len() > 1 {
                let builds: Vec<String> = (first_of_build.iter())
                    .map(|(build, at)| format!("{build} (first at {at})"))
                    .collect();
                bail!(
                    "the results come from {} builds: {}; their verdicts answer different \
                     questions. Merge one build's files, or pass --force",
                    builds.len(),
                    builds.join(", ")
                );
            }
            if let Some((name, s)) = merged.scenarios.iter().find(|(_, s)| s.hashes.len() > 1) {
                bail!(
                    "the results of {name} come from {} different scenario contents (hashes {}): \
                     the file changed between shards. Merge one version's files, or pass --force",
                    s.hashes.len(),
                    s.hashes.iter().cloned().collect::<Vec<_>>().join(", ")
                );
            }
        }
        merged.judge();
        Ok(merged)
    }

    /// Leave every `[expect] sometimes` unjudged, saying `why` (a shard's
    /// own summary: only the whole campaign is judged).
    pub fn not_judged_here(&mut self, why: &str) {
        // Only requirements there are; another reason not to judge stays.
        for judged in self.judged.values_mut() {
            if judged.as_ref().is_ok_and(|j| !j.is_empty()) {
                *judged = Err(format!("not judged: {why}"));
            }
        }
    }

    /// Judge each scenario's `[expect] sometimes` over all its seeds, as
    /// `flinch run` does over one sweep.
    fn judge(&mut self) {
        for (name, results) in &self.scenarios {
            let judged = match Entry::load(name) {
                Err(e) => Err(format!("not judged: cannot load the scenario: {e}")),
                Ok(entry) if !results.hashes.contains(&entry.hash) => Err(format!(
                    "not judged: {name} has changed since it ran (content hash {}, ran as {})",
                    entry.hash,
                    results
                        .hashes
                        .iter()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
                Ok(entry) => {
                    let hits = hits(results);
                    // Over seeds with a verdict, as `flinch run` judges.
                    let run = results.seeds.values().filter(|s| s.judged()).count();
                    Ok(entry
                        .scenario
                        .sometimes
                        .iter()
                        .map(|s| {
                            (
                                *s,
                                coverage::judge(s, hits.get(&s.probe).copied().unwrap_or(0), run),
                            )
                        })
                        .collect())
                }
            };
            self.judged.insert(name.clone(), judged);
        }
    }

    fn seeds(&self) -> usize {
        self.scenarios.values().map(|s| s.seeds.len()).sum()
    }

    fn failed(&self) -> usize {
        self.scenarios.values().map(|s| s.failures().count()).sum()
    }

    fn sometimes_missed(&self) -> usize {
        (self.judged.values())
            .filter_map(|j| j.as_ref().ok())
            .flatten()
            .filter(|(_, j)| j.missed())
            .count()
    }

    /// 4 on nondeterminism; else the gravest failure's code, at least 1
    /// when a required probe missed its share; 0 when all passed.
    pub fn exit_code(&self) -> u8 {
        if self.nondeterministic_seeds > 0 {
            return EXIT_INTERNAL_ERROR;
        }
        let kinds = (self.scenarios.values())
            .flat_map(|s| s.failures())
            .map(|l| l.kind.unwrap_or(FailureKind::Job));
        let code = exit_code(kinds);
        if self.sometimes_missed() > 0 {
            code.max(EXIT_FAILED)
        } else {
            code
        }
    }

    pub fn human(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "campaign   {} file{}, {} line{}, build {}",
            self.files.len(),
            plural(self.files.len()),
            self.lines,
            plural(self.lines),
            self.builds.iter().cloned().collect::<Vec<_>>().join(" + ")
        );
        let _ = writeln!(
            s,
            "seeds      {} run over {} scenario{}, {} failed",
            self.seeds(),
            self.scenarios.len(),
            plural(self.scenarios.len()),
            self.failed()
        );
        if !self.shards_missing.is_empty() {
            let _ = writeln!(
                s,
                "shards     MISSING {}: no line from {}{} (a shard that did not run, a file not \
                 given, or a shard with no seed to run)",
                self.shards_missing_count,
                self.shards_missing
                    .iter()
                    .take(LISTED)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
                if self.shards_missing_count > LISTED as u64 {
                    ", ..."
                } else {
                    ""
                }
            );
        }
        if self.shard_counts.len() > 1 {
            let _ = writeln!(
                s,
                "shards     the lines come from campaigns split {} ways: N = {}",
                self.shard_counts.len(),
                self.shard_counts
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        if self.duplicates > 0 {
            let _ = writeln!(
                s,
                "merged     {} duplicate line{} (a seed run again the same way, or stopped by \
                 --timeout once)",
                self.duplicates,
                plural(self.duplicates),
            );
        }
        if self.superseded > 0 {
            let _ = writeln!(
                s,
                "forced     {} line{} of another build or scenario content not counted",
                self.superseded,
                plural(self.superseded)
            );
        }
        for bad in self.bad.iter().take(LISTED) {
            let _ = writeln!(s, "not counted {bad}");
        }
        if self.bad_lines > LISTED {
            let _ = writeln!(
                s,
                "not counted ... and {} more lines",
                self.bad_lines - LISTED
            );
        }
        if self.nondeterministic_seeds > LISTED {
            let _ = writeln!(
                s,
                "NONDETERMINISM in {} seeds; the first {LISTED}:",
                self.nondeterministic_seeds
            );
        }
        for n in self.nondeterminism.iter().take(LISTED) {
            let _ = writeln!(
                s,
                "NONDETERMINISM {} seed {}: {} and {} ran the same build and scenario and differ in {}",
                n.scenario,
                n.seed,
                n.first,
                n.second,
                n.fields.join(", ")
            );
        }
        let width = self
            .scenarios
            .keys()
            .map(String::len)
            .max()
            .unwrap_or(8)
            .max(8);
        let _ = writeln!(
            s,
            "\n{:<width$}  {:>7}  {:>6}",
            "scenario", "seeds", "failed"
        );
        for (name, results) in &self.scenarios {
            let failed = results.failures().count();
            let _ = writeln!(s, "{name:<width$}  {:>7}  {failed:>6}", results.seeds.len());
            for (kind, seeds) in results.kinds() {
                let _ = writeln!(s, "    {kind}: {seeds} seed{}", plural(seeds));
            }
            let timed_out = results.timed_out();
            if timed_out > 0 {
                let _ = writeln!(
                    s,
                    "    timed out (--timeout, no verdict): {timed_out} seed{}",
                    plural(timed_out)
                );
            }
            if let Some((ms, seed)) = ScenarioResults::fastest(results.seeds.values()) {
                let _ = writeln!(
                    s,
                    "    fastest failure: seed {seed}, first violation at {:.3} s: {}",
                    ms as f64 / 1000.0,
                    replay_command(name, None, seed)
                );
            }
            match self.judged.get(name) {
                Some(Ok(judged)) => {
                    for (req, judgement) in judged
                        .iter()
                        .filter(|(_, j)| !matches!(j, Judgement::Met { .. }))
                    {
                        let (hit, run) = match *judgement {
                            Judgement::Met { hit, run, .. }
                            | Judgement::Missed { hit, run, .. }
                            | Judgement::NotJudged { hit, run } => (hit, run),
                        };
                        let _ = writeln!(
                            s,
                            "    sometimes {}: {hit} of {run} seeds, {}: {}",
                            req.probe.name(),
                            share(req.min_share),
                            verdict(*judgement)
                        );
                    }
                }
                Some(Err(why)) => {
                    let _ = writeln!(s, "    sometimes: {why}");
                }
                None => {}
            }
        }
        let met = (self.judged.values())
            .filter_map(|j| j.as_ref().ok())
            .flatten()
            .filter(|(_, j)| matches!(j, Judgement::Met { .. }))
            .count();
        let not_judged = (self.judged.values())
            .filter_map(|j| j.as_ref().ok())
            .flatten()
            .filter(|(_, j)| matches!(j, Judgement::NotJudged { .. }))
            .count();
        let unjudged = self.judged.values().filter(|j| j.is_err()).count();
        let _ = writeln!(
            s,
            "\nsometimes  {met} met, {} missed, {not_judged} not judged (fewer than {} seeds){}",
            self.sometimes_missed(),
            coverage::MIN_SEEDS_TO_JUDGE,
            if unjudged > 0 {
                format!(
                    "; {unjudged} scenario{} not judged (see above)",
                    plural(unjudged)
                )
            } else {
                ", over the whole campaign".to_owned()
            }
        );
        if let Some(report) = &self.report {
            let _ = writeln!(s, "report     {}", report.display());
        }
        if let Some(written) = &self.regressions {
            for w in written {
                match w {
                    Ok(path) => {
                        let _ = writeln!(s, "regression {}", path.display());
                    }
                    Err(why) => {
                        let _ = writeln!(s, "regression not written: {why}");
                    }
                }
            }
        }
        s
    }

    pub fn json(&self) -> serde_json::Value {
        let scenarios: Vec<serde_json::Value> = (self.scenarios.iter())
            .map(|(name, results)| {
                let hits = hits(results);
                let judged = self.judged.get(name).and_then(|j| j.as_ref().ok());
                let required: BTreeMap<Probe, (Sometimes, Judgement)> =
                    judged.into_iter().flatten().map(|(s, j)| (s.probe, (*s, *j))).collect();
                let probes: Vec<serde_json::Value> = Probe::ALL
                    .into_iter()
                    .filter(|p| hits.contains_key(p) || required.contains_key(p))
                    .map(|p| {
                        let mut o = serde_json::json!({
                            "probe": p,
                            "seeds": hits.get(&p).copied().unwrap_or(0),
                        });
                        if let Some((req, j)) = required.get(&p) {
                            o["min_share"] = serde_json::json!(req.min_share);
                            o["verdict"] = serde_json::json!(verdict(*j));
                        }
                        o
                    })
                    .collect();
                let fastest = ScenarioResults::fastest(results.seeds.values()).map(|(ms, seed)| {
                    serde_json::json!({
                        "seed": seed,
                        "first_violation_ms": ms,
                        "replay": replay_command(name, None, seed),
                    })
                });
                serde_json::json!({
                    "scenario": name,
                    "scenario_hash": results.hashes,
                    "seeds": results.seeds.len(),
                    "failed": results.failures().count(),
                    "timed_out": results.timed_out(),
                    "failing_seeds": results.failures().map(|l| l.seed).take(FAILING_SEEDS_SHOWN).collect::<Vec<_>>(),
                    "violation_kinds": results.kinds().into_iter().map(|(kind, seeds)| serde_json::json!({"kind": kind, "seeds": seeds})).collect::<Vec<_>>(),
                    "fastest_failure": fastest,
                    "probes": probes,
                    "sometimes_not_judged": self.judged.get(name).and_then(|j| j.as_ref().err()),
                })
            })
            .collect();
        serde_json::json!({
            "files": self.files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
            "lines": self.lines,
            "not_counted_lines": self.bad_lines,
            "not_counted": self.bad.iter().take(JSON_LISTED).map(|b| serde_json::json!({"file": b.file.display().to_string(), "line": b.line, "reason": b.reason})).collect::<Vec<_>>(),
            "duplicates": self.duplicates,
            "superseded": self.superseded,
            "nondeterminism_seeds": self.nondeterministic_seeds,
            "nondeterminism": self.nondeterminism.iter().take(JSON_LISTED).map(|n| serde_json::json!({"scenario": n.scenario, "seed": n.seed, "first": n.first.to_string(), "second": n.second.to_string(), "fields": n.fields})).collect::<Vec<_>>(),
            "builds": self.builds,
            "seeds": self.seeds(),
            "failed": self.failed(),
            "sometimes_missed": self.sometimes_missed(),
            "timed_out": self.scenarios.values().map(ScenarioResults::timed_out).sum::<usize>(),
            "shards_missing": self.shards_missing,
            "shards_missing_count": self.shards_missing_count,
            "scenarios": scenarios,
            "report": self.report.as_ref().map(|p| p.display().to_string()),
            "regressions": self.regressions.as_ref().map(|r| r.iter().map(|w| match w {
                Ok(p) => serde_json::json!({"file": p.display().to_string()}),
                Err(e) => serde_json::json!({"error": e}),
            }).collect::<Vec<_>>()),
        })
    }
}

impl Merged {
    /// What the campaign's HTML page shows.
    fn page(&self) -> html::campaign::Campaign {
        use html::campaign::{Campaign, ScenarioRow};
        let scenarios = (self.scenarios.iter())
            .map(|(name, results)| {
                let hits = hits(results);
                let judged = self.judged.get(name);
                ScenarioRow {
                    name: name.clone(),
                    seeds: results.seeds.len(),
                    failed: results.failures().count(),
                    kinds: results.kinds().into_iter().collect(),
                    fastest: ScenarioResults::fastest(results.seeds.values())
                        .map(|(ms, seed)| (seed, ms, replay_command(name, None, seed))),
                    required: (judged.and_then(|j| j.as_ref().ok()).into_iter().flatten())
                        .map(|(req, j)| {
                            (
                                req.probe.name().to_owned(),
                                hits.get(&req.probe).copied().unwrap_or(0),
                                format!("{}: {}", share(req.min_share), verdict(*j)),
                            )
                        })
                        .collect(),
                    not_judged: judged.and_then(|j| j.as_ref().err()).cloned(),
                }
            })
            .collect();
        Campaign {
            files: self.files.iter().map(|f| f.display().to_string()).collect(),
            lines: self.lines,
            builds: self.builds.iter().cloned().collect(),
            seeds: self.seeds(),
            failed: self.failed(),
            sometimes_missed: self.sometimes_missed(),
            not_counted: self.bad.iter().map(ToString::to_string).collect(),
            not_counted_lines: self.bad_lines,
            nondeterministic_seeds: self.nondeterministic_seeds,
            shards_missing: self.shards_missing.clone(),
            shards_missing_count: usize::try_from(self.shards_missing_count).unwrap_or(usize::MAX),
            nondeterminism: (self.nondeterminism.iter())
                .map(|n| {
                    format!(
                        "{} seed {}: {} and {} differ in {}",
                        n.scenario,
                        n.seed,
                        n.first,
                        n.second,
                        n.fields.join(", ")
                    )
                })
                .collect(),
            scenarios,
        }
    }
}

/// Seeds per probe hit, over a scenario's seeds.
fn hits(results: &ScenarioResults) -> BTreeMap<Probe, usize> {
    let mut hits = BTreeMap::new();
    for seen in results.seeds.values() {
        for probe in &seen.probes {
            *hits.entry(*probe).or_insert(0) += 1;
        }
    }
    hits
}

/// A line's failure kind (an unknown one, from another build, counts as a
/// verdict about the job).
fn parse_kind(kind: Option<&str>) -> FailureKind {
    kind.and_then(|k| serde_json::from_value(serde_json::Value::String(k.to_owned())).ok())
        .unwrap_or(FailureKind::Job)
}

/// The names of the fields in which two lines' verdicts differ.
fn differing(a: &Line, b: &Line) -> Vec<String> {
    let (a, b) = (
        serde_json::to_value(a.verdict()).expect("a line serializes"),
        serde_json::to_value(b.verdict()).expect("a line serializes"),
    );
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return Vec::new();
    };
    a.iter()
        .filter(|(k, v)| b.get(k.as_str()) != Some(v))
        .map(|(k, _)| k.clone())
        .collect()
}

/// The first [`JSON_LISTED`] clashes, described: both lines read again
/// (each file once) to name the fields that differ.
fn nondeterminism(files: &[PathBuf], clashes: &[Clash]) -> anyhow::Result<Vec<Nondeterminism>> {
    let clashes = &clashes[..clashes.len().min(JSON_LISTED)];
    let mut wanted: BTreeMap<(usize, usize), Option<Line>> = BTreeMap::new();
    for (_, _, a, b) in clashes {
        wanted.insert(*a, None);
        wanted.insert(*b, None);
    }
    for (index, file) in files.iter().enumerate() {
        if !wanted.keys().any(|(f, _)| *f == index) {
            continue;
        }
        results::scan(file, |number, line| {
            if let Some(slot) = wanted.get_mut(&(index, number)) {
                *slot = Some(line);
            }
            Ok(())
        })?;
    }
    let at = |(file, line): (usize, usize)| At {
        file: files[file].clone(),
        line,
    };
    Ok(clashes
        .iter()
        .map(|(scenario, seed, a, b)| Nondeterminism {
            scenario: scenario.clone(),
            seed: *seed,
            first: at(*a),
            second: at(*b),
            fields: match (&wanted[a], &wanted[b]) {
                (Some(a), Some(b)) => differing(a, b),
                // A file changed while it was merged.
                _ => vec!["(a file changed while merging)".to_owned()],
            },
        })
        .collect())
}

/// Create `dir` and make sure it takes files, before anything is shrunk.
fn prepare_regressions(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("--regressions: cannot create {}: {e}", dir.display()))?;
    let probe = dir.join(".flinch-write-test");
    std::fs::write(&probe, b"")
        .map_err(|e| anyhow::anyhow!("--regressions: cannot write into {}: {e}", dir.display()))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// `STEM-SEED.toml` for the scenario `name` (a built-in name or a path:
/// its file stem), with `-2`, `-3`, ... after the seed when taken already
/// in `names` or by a file in `dir` (an earlier merge's is never overwritten).
fn unique_name(dir: &Path, names: &mut BTreeSet<String>, name: &str, seed: u64) -> String {
    let stem = Path::new(name).file_stem().map_or_else(
        || "scenario".to_owned(),
        |s| s.to_string_lossy().into_owned(),
    );
    let stem: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    // A name that starts with `-` reads as a flag on a command line
    // (`flinch check -x.toml`).
    let stem = match stem.starts_with('-') || stem.is_empty() {
        true => format!("case{stem}"),
        false => stem,
    };
    let mut file = format!("{stem}-{seed}.toml");
    let mut n = 2;
    while dir.join(&file).exists() || !names.insert(file.clone()) {
        file = format!("{stem}-{seed}-{n}.toml");
        n += 1;
    }
    file
}

/// `--regressions DIR`: for each distinct failure of each scenario (its
/// violation kinds), shrink the fastest-failing seed's plan and write the
/// shrunk scenario as `DIR/STEM-SEED.toml` ([`unique_name`]); what cannot be
/// shrunk or written is an `Err` entry, and the rest goes on.
fn write_regressions(
    merged: &Merged,
    dir: &Path,
    json: bool,
) -> anyhow::Result<Vec<Result<PathBuf, String>>> {
    let mut written = Vec::new();
    let mut names = BTreeSet::new();
    for (name, results) in &merged.scenarios {
        let classes = results.classes();
        if let Some(seen) = results.seeds.values().find(|s| s.timed_out) {
            written.push(Err(format!(
                "{name}: {} seed{} timed out, not shrunk (no verdict to keep); replay one: {}",
                results.timed_out(),
                plural(results.timed_out()),
                replay_command(name, None, seen.seed)
            )));
        }
        if classes.is_empty() {
            continue;
        }
        let entry = match Entry::load(name) {
            Ok(e) if results.hashes.contains(&e.hash) => e,
            Ok(_) => {
                written.push(Err(format!("{name}: the scenario changed since it ran")));
                continue;
            }
            Err(e) => {
                written.push(Err(format!("{name}: {e}")));
                continue;
            }
        };
        for lines in classes.values() {
            let Some((_, seed)) = ScenarioResults::fastest(lines.iter().copied()) else {
                continue;
            };
            let mut progress = StderrProgress::new(!json, name, seed);
            let shrunk = shrink_on_worker(
                &entry.scenario,
                seed,
                SHRINK_MAX_RUNS,
                |p| progress.report(p),
                &|| false,
            );
            let report = match shrunk {
                Ok(Ok(report)) => report,
                Ok(Err(e)) => {
                    written.push(Err(format!("{name} seed {seed}: {e}")));
                    continue;
                }
                Err(e) => {
                    written.push(Err(format!("{name} seed {seed}: {e:#}")));
                    continue;
                }
            };
            // Named after the scenario as the campaign named it (two copies
            // of one built-in share its `name`), once each.
            let path = dir.join(unique_name(dir, &mut names, name, seed));
            let shown = shell_quote_path(&path.display().to_string());
            let text = format!(
                "{}{}",
                header(
                    name,
                    None,
                    &report,
                    &shown,
                    &format!("flinch run {shown} --seeds {}", SeedRange::one(seed))
                ),
                plan::render(&shrink::shrunk_scenario(&entry.scenario, &report))
            );
            // Whole or not at all: written beside it, then renamed.
            let partial = path.with_extension("toml.partial");
            let wrote =
                std::fs::write(&partial, text).and_then(|()| std::fs::rename(&partial, &path));
            match wrote {
                Ok(()) => {
                    if !json {
                        let _ = writeln!(std::io::stderr(), "flinch: wrote {}", path.display());
                    }
                    written.push(Ok(path));
                }
                Err(e) => {
                    let _ = std::fs::remove_file(&partial);
                    written.push(Err(format!("cannot write {}: {e}", path.display())));
                }
            }
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A regression file's name keeps ASCII letters, digits, `-` and `_`
    /// of the scenario's stem, never starts with `-` (it would read as a
    /// flag), and takes `-2`, `-3` on a clash.
    #[test]
    fn a_regression_file_name_is_safe_on_a_command_line() {
        let dir = std::env::temp_dir().join(format!("flinch-names-{}", std::process::id()));
        let mut names = BTreeSet::new();
        let mut name = |scenario: &str, seed: u64| unique_name(&dir, &mut names, scenario, seed);
        assert_eq!(name("tm-crash", 3), "tm-crash-3.toml");
        assert_eq!(name("dir/tm-crash.toml", 3), "tm-crash-3-2.toml");
        assert_eq!(
            name("<script>alert(x).toml", 8),
            "case-script-alert-x--8.toml"
        );
        assert_eq!(name("dir/caf\u{e9} b.toml", 1), "caf--b-1.toml");
        assert_eq!(name("", 0), "scenario-0.toml");
    }
}
