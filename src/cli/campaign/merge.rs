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
use crate::report::{plural, FailureKind};
use anyhow::bail;
use clap::Args;
use flinch_engine::probe::Probe;
use flinch_harness::coverage::{self, Judgement, Sometimes};
use flinch_harness::{plan, shrink};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

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
    /// shrunk scenario file into DIR, named SCENARIO-SEED.toml, ready for
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
    let mut merged = Merged::of(&args.files, args.force)?;
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

/// One scenario over the whole campaign.
#[derive(Debug, Default)]
pub struct ScenarioResults {
    /// Content hashes its lines carry (one, unless forced).
    pub hashes: BTreeSet<String>,
    /// Each seed's line, by seed.
    pub seeds: BTreeMap<u64, Line>,
}

impl ScenarioResults {
    fn failures(&self) -> impl Iterator<Item = &Line> {
        self.seeds.values().filter(|l| !l.passed)
    }

    /// The failing seed with the least simulated time to its first
    /// violation (the lowest such seed on a tie).
    fn fastest(
        lines: impl Iterator<Item = impl std::ops::Deref<Target = Line>>,
    ) -> Option<(u64, u64)> {
        lines
            .filter(|l| !l.passed)
            .map(|l| (l.first_violation_ms.unwrap_or(l.sim_ms), l.seed))
            .min()
    }

    /// Distinct failures: the violation kinds a failing seed shows, with
    /// the seeds that show them.
    fn classes(&self) -> BTreeMap<Vec<String>, Vec<&Line>> {
        let mut classes: BTreeMap<Vec<String>, Vec<&Line>> = BTreeMap::new();
        for line in self.failures() {
            classes
                .entry(line.violation_kinds())
                .or_default()
                .push(line);
        }
        classes
    }

    /// Seeds per violation kind.
    fn kinds(&self) -> BTreeMap<String, usize> {
        let mut kinds = BTreeMap::new();
        for line in self.failures() {
            for kind in line.violation_kinds() {
                *kinds.entry(kind).or_insert(0) += 1;
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
    /// Lines not counted, with why.
    pub bad: Vec<BadLine>,
    /// Lines equal to one read before (a retried shard), merged into it.
    pub duplicates: usize,
    /// Lines of another build or content than the first read for their
    /// pair (only with `--force`).
    pub superseded: usize,
    pub nondeterminism: Vec<Nondeterminism>,
    /// Builds of the lines.
    pub builds: BTreeSet<String>,
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
        // Where each kept line came from.
        let mut origin: BTreeMap<(String, u64), At> = BTreeMap::new();
        let mut first_of_build: BTreeMap<String, At> = BTreeMap::new();
        for file in files {
            let read = results::read(file)?;
            merged.bad.extend(read.bad);
            for (number, line) in read.lines {
                merged.lines += 1;
                let at = At {
                    file: file.clone(),
                    line: number,
                };
                first_of_build
                    .entry(line.build.clone())
                    .or_insert_with(|| at.clone());
                merged.builds.insert(line.build.clone());
                let scenario = merged.scenarios.entry(line.scenario.clone()).or_default();
                scenario.hashes.insert(line.scenario_hash.clone());
                let key = (line.scenario.clone(), line.seed);
                match scenario.seeds.get(&line.seed) {
                    None => {
                        origin.insert(key, at);
                        scenario.seeds.insert(line.seed, line);
                    }
                    Some(kept)
                        if kept.build != line.build || kept.scenario_hash != line.scenario_hash =>
                    {
                        merged.superseded += 1;
                    }
                    Some(kept) if kept.verdict() == line.verdict() => merged.duplicates += 1,
                    Some(kept) => merged.nondeterminism.push(Nondeterminism {
                        scenario: line.scenario.clone(),
                        seed: line.seed,
                        first: origin[&key].clone(),
                        second: at,
                        fields: differing(kept, &line),
                    }),
                }
            }
        }
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
                    let run = results.seeds.len();
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
        if !self.nondeterminism.is_empty() {
            return EXIT_INTERNAL_ERROR;
        }
        let kinds = (self.scenarios.values())
            .flat_map(|s| s.failures())
            .map(|l| parse_kind(l.kind.as_deref()));
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
        if self.duplicates + self.superseded > 0 {
            let _ = writeln!(
                s,
                "merged     {} duplicate line{} (a seed run twice the same way){}",
                self.duplicates,
                plural(self.duplicates),
                if self.superseded > 0 {
                    format!(
                        "; {} line{} of another build or content not counted (--force)",
                        self.superseded,
                        plural(self.superseded)
                    )
                } else {
                    String::new()
                }
            );
        }
        for bad in self.bad.iter().take(LISTED) {
            let _ = writeln!(s, "not counted {bad}");
        }
        if self.bad.len() > LISTED {
            let _ = writeln!(
                s,
                "not counted ... and {} more lines",
                self.bad.len() - LISTED
            );
        }
        if self.nondeterminism.len() > LISTED {
            let _ = writeln!(
                s,
                "NONDETERMINISM in {} seeds; the first {LISTED}:",
                self.nondeterminism.len()
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
        let _ = writeln!(
            s,
            "\nsometimes  {met} met, {} missed, {not_judged} not judged (fewer than {} seeds), over \
             the whole campaign",
            self.sometimes_missed(),
            coverage::MIN_SEEDS_TO_JUDGE
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
            "not_counted_lines": self.bad.len(),
            "not_counted": self.bad.iter().take(JSON_LISTED).map(|b| serde_json::json!({"file": b.file.display().to_string(), "line": b.line, "reason": b.reason})).collect::<Vec<_>>(),
            "duplicates": self.duplicates,
            "superseded": self.superseded,
            "nondeterminism_seeds": self.nondeterminism.len(),
            "nondeterminism": self.nondeterminism.iter().take(JSON_LISTED).map(|n| serde_json::json!({"scenario": n.scenario, "seed": n.seed, "first": n.first.to_string(), "second": n.second.to_string(), "fields": n.fields})).collect::<Vec<_>>(),
            "builds": self.builds,
            "seeds": self.seeds(),
            "failed": self.failed(),
            "sometimes_missed": self.sometimes_missed(),
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
    for line in results.seeds.values() {
        for probe in line.known_probes() {
            *hits.entry(probe).or_insert(0) += 1;
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

/// `--regressions DIR`: for each distinct failure of each scenario (its
/// violation kinds), shrink the fastest-failing seed's plan and write the
/// shrunk scenario as `DIR/SCENARIO-SEED.toml`.
fn write_regressions(
    merged: &Merged,
    dir: &Path,
    json: bool,
) -> anyhow::Result<Vec<Result<PathBuf, String>>> {
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("--regressions: cannot create {}: {e}", dir.display()))?;
    let mut written = Vec::new();
    for (name, results) in &merged.scenarios {
        let classes = results.classes();
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
            )?;
            let report = match shrunk {
                Ok(report) => report,
                Err(e) => {
                    written.push(Err(format!("{name} seed {seed}: {e}")));
                    continue;
                }
            };
            let stem = Path::new(&entry.scenario.name).file_stem().map_or_else(
                || "scenario".to_owned(),
                |s| s.to_string_lossy().into_owned(),
            );
            let path = dir.join(format!("{stem}-{seed}.toml"));
            let text = format!(
                "{}{}",
                header(
                    name,
                    &report,
                    &path.display().to_string(),
                    &format!(
                        "flinch run {} --seeds {seed}..{}",
                        path.display(),
                        seed.saturating_add(1)
                    )
                ),
                plan::render(&shrink::shrunk_scenario(&entry.scenario, &report))
            );
            std::fs::write(&path, text).map_err(|e| {
                anyhow::anyhow!("--regressions: cannot write {}: {e}", path.display())
            })?;
            if !json {
                let _ = writeln!(std::io::stderr(), "flinch: wrote {}", path.display());
            }
            written.push(Ok(path));
        }
    }
    Ok(written)
}
