//! The HTML report of one seed (`flinch replay ... --report DIR`): one
//! self-contained page, `DIR/index.html`, with no scripts and nothing
//! fetched (styles inline, no fonts, no network), in the order a person
//! needs it: what ran and how to replay it, the verdict with each
//! violation's evidence, a timeline of the run (hosts, fault bands,
//! checkpoints, failovers, restores, transactions), a figure of source
//! offsets and output over time, the fault plan, the coverage probes hit,
//! and a window of the trace.
//!
//! The page is a pure function of the scenario, the seed's report and the
//! replay command ([`page`]): byte for byte the same for the same seed (no
//! dates, no map iteration order), and reusable for a page of a sweep's
//! first failing seed. Its size is bounded whatever the run's length: each
//! list that grows with the run is cut to a named limit
//! ([`intervals::MAX_CHECKPOINT_BARS`], [`intervals::MAX_TXN_MARKS`],
//! [`intervals::MAX_EVENT_MARKS`], [`intervals::MAX_FAILOVERS`],
//! [`intervals::MAX_VIOLATION_MARKS`], [`plot::MAX_PLOT_POINTS`],
//! [`MAX_TRACE_LINES`], [`MAX_VIOLATIONS_LISTED`]), and the page says how
//! many it left out. What is left grows only with what a scenario file
//! bounds itself (at most 1,000 faults, a few hundred hosts): a page stays
//! under [`PAGE_BYTES_MAX`] (a test builds one at every limit).

pub mod campaign;
pub mod histogram;
pub mod intervals;
pub mod plot;
pub mod sweep;
pub mod timeline;

use crate::report::FailureKind;
use flinch_harness::coverage;
use flinch_harness::expect::Expectation;
use flinch_harness::plan::fault_line;
use flinch_harness::scenario::Scenario;
use flinch_harness::seed::SeedReport;
use flinch_harness::trace::TraceEvent;
use flinch_harness::violation::{Tally, Violation};
use intervals::{Ended, Fired, Timeline};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;
use timeline::secs;

/// Trace lines shown from the start of the run.
pub const TRACE_HEAD_LINES: usize = 100;
/// Trace lines shown from the end of the run.
pub const TRACE_TAIL_LINES: usize = 40;
/// Trace lines shown either side of each violation's moment.
pub const TRACE_CONTEXT_LINES: usize = 10;
/// Trace lines shown at most, all windows together (the head first, then
/// the violations' moments in time order, then the tail); `flinch replay`
/// without `--report` prints every line.
pub const MAX_TRACE_LINES: usize = 600;
/// Violations listed at most (checkers already list at most 20 of a kind
/// and sum up the rest); `flinch replay --json` has every one.
pub const MAX_VIOLATIONS_LISTED: usize = 200;
/// Violations listed open; the rest of [`MAX_VIOLATIONS_LISTED`] are one
/// click away, so the timeline stays near the top.
const VIOLATIONS_OPEN: usize = 5;
/// What a page weighs at most, in bytes, for any run a scenario file can
/// describe: the limits above, at most 1,000 faults and a few hundred
/// hosts. `tests` builds a page of a run at every limit and checks it.
pub const PAGE_BYTES_MAX: usize = 2 * 1024 * 1024;

/// The page's file name inside the report folder.
pub const INDEX: &str = "index.html";

/// Writing the report failed; names the path and says why (the I/O
/// error is part of the message, not a separate source, so that `{:#}`
/// prints it once).
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The folder could not be created.
    #[error("cannot create the report folder {}: {error}", path.display())]
    CreateDir {
        path: PathBuf,
        error: std::io::Error,
    },
    /// The page could not be written.
    #[error("cannot write the report {}: {error}", path.display())]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
}

/// Write `page` as `dir/index.html`, creating `dir` (and its parents) if
/// needed; returns the page's path.
///
/// # Errors
/// [`WriteError`], naming the folder or file that could not be written.
pub fn write(dir: &Path, page: &str) -> Result<PathBuf, WriteError> {
    write_file(dir, INDEX, page)
}

/// Make sure a report can be written into `dir` before the work it reports
/// on: create `dir` (and its parents) and an empty `dir/index.html`, which
/// [`write`] later replaces. A sweep of thousands of seeds must not run to
/// its end only to find its folder is a file or read-only.
///
/// # Errors
/// [`WriteError`], naming the folder or file that could not be written.
pub fn prepare(dir: &Path) -> Result<(), WriteError> {
    write(dir, "").map(|_| ())
}

/// Write `page` as `dir/name`, creating `dir` (and its parents) if needed;
/// returns the page's path. A sweep's report writes its first failing
/// seed's page beside its own `index.html`.
///
/// # Errors
/// [`WriteError`], naming the folder or file that could not be written.
pub fn write_file(dir: &Path, name: &str, page: &str) -> Result<PathBuf, WriteError> {
    std::fs::create_dir_all(dir).map_err(|error| WriteError::CreateDir {
        path: dir.to_owned(),
        error,
    })?;
    let path = dir.join(name);
    std::fs::write(&path, page).map_err(|error| WriteError::Write {
        path: path.clone(),
        error,
    })?;
    Ok(path)
}

/// The page of one seed: `scenario` as it ran, its `report`, and `replay`,
/// the command that replays the seed (and prints its whole trace). A
/// complete HTML document, deterministic for its inputs.
pub fn page(scenario: &Scenario, report: &SeedReport, replay: &str) -> String {
    let timeline = Timeline::of(report);
    let title = format!("flinch: {} seed {}", scenario.name, report.seed);
    let body = html! {
        (header(scenario, report, replay))
        (verdict(report, &timeline))
        (timeline_section(&timeline))
        (figure_section(report))
        (plan_section(&timeline, report))
        (probes_section(scenario, report))
        (trace_section(report, replay))
    };
    document(&title, "", body)
}

/// A complete HTML document: `title`, the pages' [`CSS`] and `more_css`
/// inline, and `body`.
fn document(title: &str, more_css: &str, body: Markup) -> String {
    let doc = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(CSS)) (PreEscaped(more_css)) }
            }
            body { (body) }
        }
    };
    doc.into_string()
}

fn expectation(e: &Expectation) -> String {
    match e {
        Expectation::ExactlyOnce => "exactly-once".to_owned(),
        Expectation::AtLeastOnce => "at-least-once".to_owned(),
        Expectation::JobFailed { reason } => format!("job-failed ({reason:?})"),
    }
}

fn header(scenario: &Scenario, r: &SeedReport, replay: &str) -> Markup {
    let lost: u64 = r.lost.iter().map(|(_, n)| n).sum();
    html! {
        header {
            h1 { (scenario.name) " " span.seed { "seed " (r.seed) } }
            @if r.passed {
                p.badge.passed { "PASSED" }
            } @else {
                p.badge.failed { "FAILED: " (Tally::of(&r.violations).to_string()) }
            }
            dl.facts {
                dt { "replay" } dd { code.command { (replay) } }
                dt { "expected" } dd { (expectation(&scenario.expect)) }
                dt { "trace" } dd { (r.trace.len()) " events, hash " code { (format!("{:08x}", r.trace_hash())) } }
                dt { "sim time" } dd { (format!("{:.3} s", r.sim_time.as_secs_f64())) }
                dt { "records" } dd { (r.records) " input records" }
                @if !r.lost.is_empty() {
                    dt { "lost" } dd { (lost) " output records on purpose, in " (r.lost.len()) " transactions" }
                }
                dt { "faults" } dd { (r.plan.len()) }
            }
            details.description {
                summary { "What the scenario tests" }
                p { (scenario.description) }
            }
        }
    }
}

fn verdict(r: &SeedReport, t: &Timeline) -> Markup {
    let shown = r.violations.len().min(MAX_VIOLATIONS_LISTED);
    html! {
        section #verdict {
            h2 { "Verdict" }
            @if r.passed {
                p { "Every checker agreed with the scenario's expectation." }
            } @else {
                @if let Some(meaning) = FailureKind::of(&r.violations).meaning() {
                    p.meaning { (meaning) }
                }
                p { "Violations, root cause first (the first explains the others):" }
                ol.violations {
                    @for (i, v) in r.violations.iter().take(shown.min(VIOLATIONS_OPEN)).enumerate() {
                        li #(format!("v-{}", i + 1)) { (violation(v, t)) }
                    }
                }
                @if shown > VIOLATIONS_OPEN {
                    details.more {
                        summary { (shown - VIOLATIONS_OPEN) " more" }
                        ol.violations start=(VIOLATIONS_OPEN + 1) {
                            @for (i, v) in r.violations.iter().enumerate().take(shown).skip(VIOLATIONS_OPEN) {
                                li #(format!("v-{}", i + 1)) { (violation(v, t)) }
                            }
                        }
                    }
                }
                @if r.violations.len() > shown {
                    p.note {
                        (r.violations.len() - shown) " more violations not listed (at most "
                        (MAX_VIOLATIONS_LISTED) "); " code { "flinch replay ... --json" }
                        " has every one."
                    }
                }
            }
        }
    }
}

fn violation(v: &Violation, t: &Timeline) -> Markup {
    let txns: Vec<String> = v.txns.iter().map(ToString::to_string).collect();
    let marked = |at: Duration| {
        let id = intervals::moment_id(at);
        t.moments.shown.iter().any(|m| m.id() == id)
    };
    html! {
        span.checker { "[" (v.checker.name()) "]" } " " strong { (v.kind) } ": " (v.message)
        dl.evidence {
            @if let Some(at) = v.at {
                dt { "at" }
                dd {
                    @if marked(at) {
                        a href=(format!("#{}", intervals::moment_id(at))) { (secs(at)) }
                        " (the red line in the timeline)"
                    } @else {
                        (secs(at)) " (not marked: the timeline marks the first "
                        (intervals::MAX_VIOLATION_MARKS) " moments)"
                    }
                }
            }
            @if let Some(key) = v.key { dt { "key" } dd { (key) } }
            @if let Some(p) = v.partition { dt { "partition" } dd { (p) } }
            @if let Some(o) = v.offset { dt { "offset" } dd { (o) } }
            @if !txns.is_empty() { dt { "txns" } dd { (txns.join(", ")) } }
            @if let Some(c) = v.checkpoint { dt { "checkpoint" } dd { (c) } }
            @if let Some(task) = v.task { dt { "task" } dd { (task.to_string()) } }
            @if let Some(n) = v.omitted { dt { "stands for" } dd { (n) " violations" } }
        }
    }
}

/// A legend entry: a swatch of `style` and its text. The swatches carry
/// none of the timeline's classes, so that only the timeline's own
/// elements answer to them.
fn swatch(style: &str, text: &str) -> Markup {
    html! { li { span.swatch style=(style) {} " " (text) } }
}

/// The legend: (swatch style, text).
const LEGEND: [(&str, &str); 28] = [
    ("background:#c7e9c0", "job running"),
    ("background:#fdd0a2", "job restarting"),
    ("background:#74c476", "job finished"),
    ("background:#d62728", "job failed"),
    (
        "border-left:2px dashed #d62728;width:2px;border-radius:0",
        "failover",
    ),
    (
        "border-left:3px solid #d62728;width:3px;border-radius:0",
        "a violation's moment",
    ),
    ("background:#d62728;opacity:.7", "crash (until restart)"),
    ("background:#ff7f0e;opacity:.7", "partition"),
    ("background:#bcbd22;opacity:.7", "stall"),
    ("background:#9467bd;opacity:.7", "latency"),
    ("background:#e377c2;opacity:.7", "message loss"),
    ("background:#8c564b;opacity:.7", "disk faults"),
    ("background:#7f7f7f;opacity:.7", "pause"),
    ("background:#17becf;opacity:.7", "clock drift"),
    ("border:1px dashed #999", "never fired"),
    ("background:#2ca02c", "checkpoint completed"),
    ("background:#d62728", "aborted"),
    ("background:#bbb", "unfinished"),
    (
        "background:#1f77b4;transform:rotate(45deg) scale(.8)",
        "restored",
    ),
    ("background:#9ecae1", "pre-commit"),
    ("background:#1f77b4", "commit"),
    ("background:#d62728", "abort"),
    ("background:#fd8d3c", "failover until redeployed"),
    ("background:#d62728;border-radius:50%", "task failed"),
    ("background:#1f77b4;border-radius:50%", "state restored"),
    ("background:#2ca02c;border-radius:50%", "host started"),
    ("background:#bbb;border-radius:50%", "probe"),
    ("background:#555;border-radius:50%", "other event"),
];

fn timeline_section(t: &Timeline) -> Markup {
    let notes = timeline::left_out(t);
    html! {
        section #timeline {
            h2 { "Timeline" }
            div.scroll { (timeline::svg(t)) }
            ul.legend {
                @for (style, text) in LEGEND { (swatch(style, text)) }
            }
            p {
                "Simulated time runs left to right. The " em { "job" } " track shows the job's state "
                "(running, restarting, finished, failed), each failover (a dashed red line) and the "
                "wait after it until the next attempt's tasks were deployed: the restart strategy's "
                "delay, then deploying (hover for the strategy's own delay). A solid red line is "
                "a violation's moment. The "
                em { "checkpoints" } " track has a bar from each checkpoint's trigger to its "
                "completion or abort (outlined: a savepoint), and a diamond where an attempt "
                "restored one, joined to its completion. The " em { "transactions" } " track marks "
                "each pre-commit, commit and abort at the sink. Then one lane per host: a band for "
                "each fault of the plan while it was in force, on the lane of the host it hit (a "
                "link fault also shows faintly on the other end's lane), and dots for events on "
                "that host. Hover over anything for its details."
            }
            @for n in &notes { p.note { (n) } }
        }
    }
}

fn figure_section(r: &SeedReport) -> Markup {
    let figure = plot::figure(r);
    let svg = plot::svg(&figure);
    let thinned: Vec<String> = (figure.lines.iter())
        .filter(|l| l.points.left_out() > 0)
        .map(|l| {
            format!(
                "{}: {} of {} points drawn (at most {}, thinned evenly).",
                l.name,
                l.points.shown.len(),
                l.points.total,
                plot::MAX_PLOT_POINTS
            )
        })
        .collect();
    html! {
        section #figure {
            h2 { "Source offsets and output" }
            @match svg {
                Ok(svg) => div.scroll.plot { (PreEscaped(svg)) },
                Err(e) => p.note { "The figure could not be drawn: " (e) },
            }
            ul {
                @for l in &figure.lines { li { (l.meaning) } }
                li { "input records: the run's whole input (" (figure.input) " records)." }
                li { "failover: a red line where the job failed over." }
            }
            @for n in &thinned { p.note { (n) } }
        }
    }
}

fn plan_section(t: &Timeline, r: &SeedReport) -> Markup {
    html! {
        section #plan {
            h2 { "Fault plan" }
            @if r.plan.is_empty() {
                p { "No faults." }
            } @else {
                ol.plan start="0" {
                    @for (fault, band) in r.plan.iter().zip(&t.faults) {
                        li #(format!("plan-{}", band.index)) {
                            code { (fault_line(fault)) }
                            " — "
                            @match band.fired {
                                Fired::Never => span.never { "never fired" },
                                _ => {
                                    a href=(format!("#fault-{}", band.index)) {
                                        "fired at " (secs(band.span.start))
                                    }
                                    @match band.ended {
                                        Ended::Instant => {},
                                        Ended::Open => ", still in force at the end",
                                        _ => { ", ended at " (secs(band.span.end)) },
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn probes_section(scenario: &Scenario, r: &SeedReport) -> Markup {
    let hit = coverage::probes_hit(&r.trace);
    let required = |p| scenario.sometimes.iter().any(|s| s.probe == p);
    html! {
        section #probes {
            h2 { "Coverage probes hit" }
            @if hit.is_empty() {
                p { "None: the run took no fault-handling path the engine marks." }
            } @else {
                ul.probes {
                    @for p in &hit {
                        li { code { (p.to_string()) } @if required(*p) { " (the scenario requires it in a share of seeds)" } }
                    }
                }
            }
        }
    }
}

/// The lines of a trace of `len` lines that the page shows, as sorted,
/// disjoint ranges: the first [`TRACE_HEAD_LINES`], [`TRACE_CONTEXT_LINES`]
/// either side of each of `moments` (line indices), and the last
/// [`TRACE_TAIL_LINES`], at most [`MAX_TRACE_LINES`] in all (in that order
/// of precedence).
pub fn trace_window(len: usize, moments: &[usize]) -> Vec<Range<usize>> {
    let mut wanted = Vec::with_capacity(moments.len() + 2);
    wanted.push(0..TRACE_HEAD_LINES.min(len));
    for &m in moments {
        let m = m.min(len);
        wanted.push(m.saturating_sub(TRACE_CONTEXT_LINES)..(m + TRACE_CONTEXT_LINES).min(len));
    }
    wanted.push(len.saturating_sub(TRACE_TAIL_LINES)..len);
    let mut budget = MAX_TRACE_LINES;
    let mut ranges: Vec<Range<usize>> = Vec::new();
    for w in wanted {
        let take = w.len().min(budget);
        budget -= take;
        if take > 0 {
            ranges.push(w.start..w.start + take);
        }
    }
    ranges.sort_by_key(|r| (r.start, r.end));
    let mut merged: Vec<Range<usize>> = Vec::new();
    for r in ranges {
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    merged
}

/// The trace line index of each violation's moment: the first line at or
/// after it.
fn moment_lines(trace: &[TraceEvent], violations: &[Violation]) -> Vec<usize> {
    let mut at: Vec<Duration> = violations.iter().filter_map(|v| v.at).collect();
    at.sort();
    at.dedup();
    at.into_iter()
        .map(|t| trace.partition_point(|e| e.at < t))
        .collect()
}

fn trace_section(r: &SeedReport, replay: &str) -> Markup {
    let len = r.trace.len();
    let moments = moment_lines(&r.trace, &r.violations);
    let has_moments = !moments.is_empty();
    let ranges = trace_window(len, &moments);
    let shown: usize = ranges.iter().map(Range::len).sum();
    let mut text = String::new();
    let mut next = 0;
    for range in &ranges {
        if range.start > next {
            text.push_str(&format!(
                "          … {} lines left out …\n",
                range.start - next
            ));
        }
        for e in &r.trace[range.clone()] {
            text.push_str(&e.line());
            text.push('\n');
        }
        next = range.end;
    }
    if next < len {
        text.push_str(&format!("          … {} lines left out …\n", len - next));
    }
    html! {
        section #trace {
            h2 { "Trace" }
            @if shown < len {
                p {
                    "Showing " (shown) " of " (len) " lines (the first " (TRACE_HEAD_LINES) ", "
                    @if has_moments {
                        (TRACE_CONTEXT_LINES) " either side of each violation's moment, "
                    }
                    "and the last " (TRACE_TAIL_LINES) "; at most " (MAX_TRACE_LINES) "); "
                    (len - shown) " left out. All of them: " code.command { (replay) }
                }
            } @else {
                p { "All " (len) " lines, as " code.command { (replay) } " prints them." }
            }
            pre.trace { (text) }
        }
    }
}

/// The page's whole style sheet: colours keyed on the timeline's classes
/// and `data-*` attributes, `:target` highlights for the links.
const CSS: &str = r#"
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5em auto; max-width: 1240px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; margin: 0 0 .3em; } h1 .seed { color: #666; font-weight: normal; }
h2 { font-size: 1.2em; border-bottom: 1px solid #ddd; padding-bottom: .2em; margin-top: 1.6em; }
code, pre { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12.5px; }
code.command { background: #f3f3f3; padding: .1em .4em; border-radius: 3px; user-select: all; }
.badge { display: inline-block; font-weight: bold; padding: .2em .7em; border-radius: 4px; color: #fff; margin: 0 0 .6em; }
.badge.passed { background: #2ca02c; } .badge.failed { background: #d62728; }
dl.facts { display: grid; grid-template-columns: repeat(3, max-content) 1fr; gap: .15em 1em; margin: 0; }
dl.facts dt { color: #666; }
dl.facts dd { margin: 0 2.5em 0 0; }
dl.evidence { display: flex; flex-wrap: wrap; gap: 0 .4em; margin: .2em 0 .6em; font-size: 13px; color: #444; }
dl.evidence dt { color: #888; } dl.evidence dt::after { content: ":"; }
dl.evidence dd { margin: 0 .8em 0 0; }
ol.violations li:target, ol.plan li:target { background: #fff3bf; }
details.more summary { cursor: pointer; color: #555; }
.checker { color: #666; }
.note { color: #8a6d3b; font-size: 13px; }
.scroll { overflow-x: auto; }
svg text { font-size: 11px; fill: #333; }
svg .axis-title { font-size: 12px; }
.grid { stroke: #e4e4e4; stroke-width: 1; }
.track-bg { fill: #f7f7f7; } .lane-bg { fill: #fff; } .lane-bg.odd { fill: #fafafa; }
[data-kind="crash"], [data-kind="crash_restart"], [data-kind="disk_loss"] { --c: #d62728; }
[data-kind="restart"] { --c: #2ca02c; }
[data-kind="partition"] { --c: #ff7f0e; } [data-kind="stall"] { --c: #bcbd22; }
[data-kind="latency"] { --c: #9467bd; } [data-kind="message_loss"] { --c: #e377c2; }
[data-kind="io_errors"], [data-kind="read_corruption"], [data-kind="disk_full"], [data-kind="bit_rot"] { --c: #8c564b; }
[data-kind="pause"] { --c: #7f7f7f; } [data-kind="clock_drift"] { --c: #17becf; }
.fault { fill: var(--c, #d62728); fill-opacity: .55; stroke: var(--c, #d62728); stroke-width: 1; }
.fault.unfired { fill: none; stroke: #999; stroke-dasharray: 4 3; }
.fault.open { stroke-dasharray: 6 2; }
.fault:target { stroke: #000; stroke-width: 2.5; fill-opacity: .8; }
.fault-echo { fill: var(--c, #d62728); fill-opacity: .22; }
.checkpoint.completed { fill: #2ca02c; } .checkpoint.aborted { fill: #d62728; } .checkpoint.unfinished { fill: #bbb; }
.checkpoint.savepoint { stroke: #000; stroke-width: 1.2; }
.restored { fill: #1f77b4; stroke: #fff; stroke-width: 1; }
.restore-link { stroke: #1f77b4; stroke-width: 1; stroke-dasharray: 3 2; }
.txn.pre-commit { fill: #9ecae1; } .txn.commit { fill: #1f77b4; } .txn.abort { fill: #d62728; }
.txn.timed-out { fill: #ff7f0e; } .txn.lost { fill: #8c564b; }
.job-state[data-state="running"] { fill: #c7e9c0; } .job-state[data-state="restarting"] { fill: #fdd0a2; }
.job-state[data-state="finished"] { fill: #74c476; } .job-state[data-state="failed"] { fill: #d62728; }
.restart-delay { fill: #fd8d3c; }
.failover { stroke: #d62728; stroke-width: 1.2; stroke-dasharray: 5 3; }
.event { fill: #555; }
.event[data-event="task_failed"], .event[data-event="task_manager_lost"] { fill: #d62728; }
.event[data-event="state_restored"] { fill: #1f77b4; } .event[data-event="host_started"] { fill: #2ca02c; }
.event[data-event="probe"] { fill: #bbb; }
.violation line { stroke: #d62728; stroke-width: 2; opacity: .8; }
.violation:target line { stroke-width: 5; opacity: 1; }
ul.legend { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .3em 1.2em; font-size: 12.5px; }
.swatch { display: inline-block; width: 12px; height: 12px; vertical-align: -1px; border-radius: 2px; box-sizing: border-box; }
pre.trace { background: #fafafa; border: 1px solid #eee; padding: .6em; overflow-x: auto; max-height: 40em; }
span.never { color: #999; }
details.description { margin-top: .6em; color: #444; }
"#;

#[cfg(test)]
mod tests;
