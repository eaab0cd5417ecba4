//! The HTML page of a sweep (`flinch run ... --report DIR`): `DIR/index.html`,
//! self-contained like a seed's page ([`super::page`]), for a person who
//! asks "how did these seeds go": pass or fail per seed, how the seeds
//! spread over faults, failovers, recovery times and checkpoint durations
//! (histograms, [`super::histogram`]), which coverage probes they hit, and
//! the first failing seed with its shrunk plan and a link to its full
//! page (`DIR/seed-N.html`).
//!
//! Bounded like a seed's page: at most [`MAX_SEED_CELLS`] seeds get a cell
//! of their own and [`MAX_FAILURES_LISTED`] failing seeds a line; the
//! histograms have at most [`super::histogram::MAX_BUCKETS`] buckets of
//! values, and the probe table a row per probe of the catalogue.

use super::histogram::{self, millis, Histogram, Value};
use crate::report::{FailureKind, SeedSummary, ShrunkPlan};
use flinch_harness::plan::fault_line;
use flinch_harness::scenario::{Scenario, SeedRange};
use flinch_harness::violation::Tally;
use maud::{html, Markup, PreEscaped};

/// Seeds drawn as a cell each at most; a longer sweep lists only its
/// failing seeds.
pub const MAX_SEED_CELLS: usize = 10_000;
/// Failing seeds listed at most, lowest first (the summary line counts
/// them all).
pub const MAX_FAILURES_LISTED: usize = 100;
/// Violations of the first failing seed listed (its own page has more).
const VIOLATIONS_LISTED: usize = 10;

/// What the sweep page shows, as `flinch run` gathered it.
pub struct Sweep<'a> {
    /// The scenario as it ran.
    pub scenario: &'a Scenario,
    /// The command that runs the sweep again (`flinch run ... --seeds A..B`).
    pub command: &'a str,
    /// The seeds asked for.
    pub seeds: SeedRange,
    /// Each seed that ran, by seed.
    pub results: &'a [SeedSummary],
    /// Seeds of the range without a result, and why, in words (`48 not
    /// run: --fail-fast stopped the sweep`); `None` when all ran.
    pub not_run: Option<String>,
    /// The probe table, in catalogue order.
    pub probes: Vec<ProbeLine>,
    /// The lowest failing seed, if any.
    pub first_failure: Option<FirstFailure<'a>>,
    /// For an at-least-once scenario of `keyed-count`, the duplicates its
    /// seeds committed (allowed), as `flinch run` counts them: output
    /// records, and the seeds with any.
    pub duplicates: Option<Count>,
    /// For a scenario that accepts losing output to the sink's transaction
    /// timeout, what its seeds lost, as `flinch run` counts it.
    pub lost: Option<Count>,
}

/// Output records over all seeds, and the seeds that had any: `flinch
/// run`'s `duplicates` and `lost` (in its summary, its `--json` and here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Count {
    pub records: u64,
    pub seeds: usize,
}

/// One row of the probe table.
pub struct ProbeLine {
    /// The probe's name.
    pub probe: &'static str,
    /// Seeds (with a verdict) that hit it.
    pub seeds: usize,
    /// The lowest of them.
    pub first: Vec<u64>,
    /// The scenario's requirement and its verdict, in words (`at least 20
    /// %: met`), if it has one.
    pub required: Option<String>,
}

/// The first failing seed, as the page links to it.
pub struct FirstFailure<'a> {
    /// Its summary (violations, kind).
    pub seed: &'a SeedSummary,
    /// The file name of its full page in the report folder, if written
    /// (a timed-out seed has none).
    pub page: Option<String>,
    /// The command that replays it.
    pub replay: &'a str,
    /// Its plan, shrunk (when it was).
    pub shrunk: Option<&'a ShrunkPlan>,
    /// The command that shrinks it further.
    pub shrink: &'a str,
}

/// The file name of seed `seed`'s full page in a sweep's report folder.
pub fn seed_page_name(seed: u64) -> String {
    format!("seed-{seed}.html")
}

/// The sweep's four histograms, one value per seed that ran (so each
/// one's counts add up to the seeds that ran).
pub fn histograms(results: &[SeedSummary]) -> Vec<Histogram> {
    let per_seed = |f: &dyn Fn(&SeedSummary) -> Value| -> Vec<Value> {
        (results.iter())
            .map(|r| match r.timed_out {
                Some(_) => Value::NoVerdict,
                None => f(r),
            })
            .collect()
    };
    let faults: Vec<Value> = (results.iter())
        .map(|r| Value::Of(r.faults as u64))
        .collect();
    vec![
        Histogram::of(
            "faults",
            "Faults per seed",
            "how many faults each seed's plan has (a nemesis draws another plan for every seed; \
             a timed-out seed's plan is known too)",
            ("faults", ""),
            &faults,
        ),
        Histogram::of(
            "failovers",
            "Failovers per seed",
            "how many times the job failed over: task failovers (failover events: every task \
             cancelled and the job restarted from its latest completed checkpoint) and \
             jobmanager failovers (the leading jobmanager crashed or paused while the job ran, \
             and a restarted or standby one recovered it)",
            ("failovers", ""),
            &per_seed(&|r| Value::Of(u64::from(r.stats.failovers))),
        ),
        Histogram::of(
            "recovery",
            "Longest recovery per seed",
            "simulated milliseconds from a failover until the job was running again (the restart \
             strategy's delay or a new leader's election, redeploying and restoring; detecting a \
             task's failure comes before and is not counted), the longest of the seed; none: it \
             never failed over, or never ran again",
            ("simulated ms (a long range named by its lower bound; the counts table has each range)", " ms"),
            &per_seed(&|r| millis(r.stats.longest_recovery)),
        ),
        Histogram::of(
            "checkpoint",
            "Slowest checkpoint per seed",
            "simulated milliseconds from a checkpoint's trigger to its completion, the slowest \
             of the seed (savepoints included; aborted checkpoints have no duration); none: no \
             checkpoint completed",
            ("simulated ms (a long range named by its lower bound; the counts table has each range)", " ms"),
            &per_seed(&|r| millis(r.stats.longest_checkpoint)),
        ),
    ]
}

/// The sweep page: a complete HTML document, deterministic for its inputs
/// (no wall times: those are `flinch run`'s summary's).
pub fn page(s: &Sweep) -> String {
    let title = format!("flinch: {} seeds {}", s.scenario.name, s.seeds);
    let body = html! {
        (header(s))
        (seeds_section(s))
        (histograms_section(s))
        (probes_section(s))
        (first_failure_section(s))
    };
    super::document(&title, SWEEP_CSS, body)
}

fn header(s: &Sweep) -> Markup {
    let failed = s.results.iter().filter(|r| !r.passed).count();
    let ran = s.results.len();
    let sim: f64 = s.results.iter().map(|r| r.sim_time.as_secs_f64()).sum();
    let faults: usize = s.results.iter().map(|r| r.faults).sum();
    let records: u64 = s.results.iter().map(|r| r.records).sum();
    let count = |c: &Count| {
        let seeds = if c.seeds == 1 { "seed" } else { "seeds" };
        format!("{} output records in {} {seeds}", c.records, c.seeds)
    };
    html! {
        header {
            h1 { (s.scenario.name) " " span.seed { "seeds " (s.seeds.to_string()) } }
            @if failed == 0 {
                p.badge.passed { "PASSED: all " (ran) " seeds" }
            } @else {
                p.badge.failed { "FAILED: " (failed) " of " (ran) " seeds" }
            }
            dl.facts {
                dt { "command" } dd { code.command { (s.command) } }
                dt { "seeds run" } dd { (ran) @if let Some(why) = &s.not_run { " (" (why) ")" } }
                dt { "passed" } dd { (ran - failed) }
                dt { "failed" } dd { (failed) (kinds(s.results)) }
                dt { "sim time" } dd { (format!("{sim:.3} s")) " (all seeds)" }
                dt { "records" } dd { (records) " input records (all seeds)" }
                @if let Some(d) = &s.duplicates {
                    dt { "duplicates" } dd { (count(d)) " (allowed: at-least-once)" }
                }
                @if let Some(l) = &s.lost {
                    dt { "lost" } dd { (count(l)) " (accepted: sink.ignore_failures_after_transaction_timeout)" }
                }
                dt { "faults" } dd { (format!("{:.2}", faults as f64 / ran.max(1) as f64)) " per seed" }
            }
            details.description {
                summary { "What the scenario tests" }
                p { (s.scenario.description) }
            }
        }
    }
}

/// `" (2 engine panic, 1 timed out)"` for failures that are not verdicts
/// about the job; empty when all are.
fn kinds(results: &[SeedSummary]) -> String {
    let mut tags: Vec<(&str, usize)> = Vec::new();
    for tag in results
        .iter()
        .filter_map(|r| r.kind().and_then(FailureKind::tag))
    {
        match tags.iter_mut().find(|(t, _)| *t == tag) {
            Some((_, n)) => *n += 1,
            None => tags.push((tag, 1)),
        }
    }
    if tags.is_empty() {
        return String::new();
    }
    let words: Vec<String> = tags.iter().map(|(t, n)| format!("{n} {t}")).collect();
    format!(" ({})", words.join(", "))
}

fn seeds_section(s: &Sweep) -> Markup {
    let failures: Vec<&SeedSummary> = s.results.iter().filter(|r| !r.passed).collect();
    html! {
        section #seeds {
            h2 { "Seeds" }
            @if s.results.len() <= MAX_SEED_CELLS {
                p { "One cell per seed, in seed order: green passed, red failed. Hover for the seed." }
                div.seed-grid {
                    @for r in s.results {
                        @let state = if r.passed { "passed" } else { "failed" };
                        span class={ "seed-cell " (state) } data-seed=(r.seed)
                            title={ "seed " (r.seed) ": " (state) } {}
                    }
                }
            } @else {
                p.note { (s.results.len()) " seeds: more than " (MAX_SEED_CELLS) " get no cell each; the failing ones are listed." }
            }
            @if !failures.is_empty() {
                h3 { "Failing seeds" }
                ul.failures {
                    @for r in failures.iter().take(MAX_FAILURES_LISTED) {
                        li data-seed=(r.seed) {
                            "seed " (r.seed) ": "
                            @match (r.timed_out, r.violations.first()) {
                                (Some(t), _) => { "timed out at " (format!("{:.3}", t.sim_at.as_secs_f64())) " s of simulated time" }
                                (None, Some(v)) => { span.checker { "[" (v.checker.name()) "] " } b { (v.kind) } " (" (Tally::of(&r.violations).to_string()) ")" }
                                (None, None) => { "failed" }
                            }
                        }
                    }
                }
                @if failures.len() > MAX_FAILURES_LISTED {
                    p.note { "... and " (failures.len() - MAX_FAILURES_LISTED) " more failing seeds (all in flinch run --json)." }
                }
            }
        }
    }
}

fn histograms_section(s: &Sweep) -> Markup {
    html! {
        section #histograms {
            h2 { "Distributions" }
            p { "Each histogram counts every seed that ran once, so its bars add up to the "
                (s.results.len()) " seeds." }
            div.histograms {
                @for h in histograms(s.results) {
                    figure.histogram #(format!("histogram-{}", h.id)) {
                        figcaption { b { (h.title) } ": " (h.meaning) "." }
                        @match histogram::svg(&h) {
                            Ok(svg) => { div.scroll { (PreEscaped(svg)) } }
                            Err(e) => { p.note { "the figure could not be drawn: " (e) } }
                        }
                        details.more {
                            summary { "the counts" }
                            table.histogram data-histogram=(h.id) data-seeds=(h.total()) {
                                tr { th { "bucket" } th { "seeds" } }
                                @for b in &h.buckets {
                                    tr { td { (b.label) } td.count data-count=(b.count) { (b.count) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn probes_section(s: &Sweep) -> Markup {
    html! {
        section #probes {
            h2 { "Coverage probes" }
            @if s.probes.is_empty() {
                p { "No seed hit a probe: no fault reached a protocol path that handles one." }
            } @else {
                p { "Each protocol path that handles a fault, with the seeds that reached it (of the "
                    (s.results.iter().filter(|r| r.timed_out.is_none()).count())
                    " seeds with a verdict)." }
                table.probes {
                    tr { th { "probe" } th { "seeds" } th { "first seeds" } th { "required" } }
                    @for p in &s.probes {
                        tr data-probe=(p.probe) {
                            td { code { (p.probe) } }
                            td.count { (p.seeds) }
                            td { (p.first.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")) }
                            td { (p.required.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
        }
    }
}

fn first_failure_section(s: &Sweep) -> Markup {
    let Some(f) = &s.first_failure else {
        return html! {};
    };
    let r = f.seed;
    html! {
        section #first-failure {
            h2 { "First failing seed: " (r.seed) }
            dl.facts {
                dt { "replay" } dd { code.command { (f.replay) } }
                @if let Some(page) = &f.page {
                    dt { "full report" } dd { a href=(page) { (page) } }
                }
            }
            @if let Some(meaning) = r.kind().and_then(FailureKind::meaning) {
                p.note { (meaning) }
            }
            @if !r.violations.is_empty() {
                p { "Violations, root cause first: " (Tally::of(&r.violations).to_string()) }
                ol.violations {
                    @for v in r.violations.iter().take(VIOLATIONS_LISTED) {
                        li { span.checker { "[" (v.checker.name()) "] " } b { (v.kind) } ": " (v.message) }
                    }
                }
            }
            @match f.shrunk {
                Some(shrunk) if shrunk.plan.is_empty() => {
                    p { "Shrunk plan: no fault is needed; the seed fails without any (" (shrunk.runs) " runs)." }
                }
                Some(shrunk) => {
                    p { "Shrunk plan: " (shrunk.plan.len()) " of " (shrunk.original) " faults still fail ("
                        (shrunk.runs) " runs" @if shrunk.exhausted { "; budget spent" } "):" }
                    ol.plan start="0" {
                        @for fault in &shrunk.plan { li { code { (fault_line(fault)) } } }
                    }
                    p { "As a scenario file: " code.command { (f.shrink) } }
                }
                None => {
                    p { "Not shrunk (" code { "--no-shrink" } ", no faults, or timed out): " code.command { (f.shrink) } }
                }
            }
        }
    }
}

const SWEEP_CSS: &str = r#"
h3 { font-size: 1.05em; margin: 1em 0 .3em; }
.seed-grid { display: flex; flex-wrap: wrap; gap: 2px; max-width: 1200px; }
.seed-cell { display: inline-block; width: 10px; height: 10px; border-radius: 1px; }
.seed-cell.passed { background: #74c476; } .seed-cell.failed { background: #d62728; }
ul.failures { columns: 2; font-size: 13px; }
.histograms { display: grid; grid-template-columns: repeat(auto-fill, minmax(580px, 1fr)); gap: 1em; }
figure.histogram { margin: 0; }
figure.histogram figcaption { font-size: 13px; color: #444; margin-bottom: .3em; }
table.histogram, table.probes { border-collapse: collapse; font-size: 12.5px; margin-top: .4em; }
table.histogram td, table.histogram th, table.probes td, table.probes th { border-bottom: 1px solid #eee; padding: .1em .8em .1em 0; text-align: left; }
td.count { text-align: right; font-variant-numeric: tabular-nums; }
"#;

#[cfg(test)]
mod tests;
