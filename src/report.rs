//! The report of a failing seed: what `flinch run` prints for its first
//! failure and what [`crate::Test`] panics with, one renderer for both
//! (docs/api.md, step 2). Only the replay command and where the shrunk plan
//! goes next differ: `flinch replay ...` and `flinch shrink ...` on the
//! command line, `FLINCH_SEED=.. FLINCH_PLAN=.. cargo test ..` and the plan
//! file from a test.

use flinch_engine::probe::Probe;
use flinch_harness::coverage;
use flinch_harness::fault::Fault;
use flinch_harness::plan::fault_line;
use flinch_harness::seed::{SeedReport, Stopped};
use flinch_harness::shrink::ShrinkReport;
use flinch_harness::stats::SeedStats;
use flinch_harness::trace::{TraceEvent, What};
use flinch_harness::violation::{Cause, Tally, Violation, ENGINE_PANIC, JOB_PANIC};
use serde::Serialize;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::Duration;

/// Violations printed for the first failing seed; `--json` has every one the
/// checkers report (at most 20 of a kind, then a summary of the rest).
pub(crate) const MAX_VIOLATIONS_SHOWN: usize = 10;
/// Trace lines printed for the first failing seed: around the first
/// violation's moment ([`Violation::at`]), or the trace's end.
pub(crate) const TRACE_WINDOW: usize = 20;
/// Of [`TRACE_WINDOW`], how many lines come after the one at the moment:
/// the rest lead up to it.
const TRACE_AFTER: usize = 5;
/// The first failing seed's plan, shrunk.
#[derive(Debug, Clone)]
pub struct ShrunkPlan {
    pub seed: u64,
    pub original: usize,
    pub plan: Vec<Fault>,
    pub runs: usize,
    pub exhausted: bool,
}

impl From<&ShrinkReport> for ShrunkPlan {
    fn from(r: &ShrinkReport) -> Self {
        ShrunkPlan {
            seed: r.seed,
            original: r.original.len(),
            plan: r.shrunk.plan.clone(),
            runs: r.shrunk.runs,
            exhausted: r.shrunk.exhausted,
        }
    }
}

/// What `flinch run` keeps of one seed: enough for the summary, without the
/// whole trace and output of thousands of seeds.
#[derive(Debug, Clone)]
pub struct SeedSummary {
    pub seed: u64,
    pub passed: bool,
    pub violations: Vec<Violation>,
    /// The trace lines printed for it (see [`TraceExcerpt`]); empty for a
    /// passing seed, whose trace no report prints.
    pub trace_excerpt: TraceExcerpt,
    pub sim_time: Duration,
    pub records: u64,
    /// Extra copies of output records (what at-least-once duplicated).
    pub duplicates: u64,
    /// Output records lost on purpose (`SeedReport::lost`).
    pub lost: u64,
    /// Faults in the plan the seed ran.
    pub faults: usize,
    /// Set when the seed ran past `--timeout` and was stopped: it has no
    /// verdict, no violations and no trace.
    pub timed_out: Option<TimedOut>,
    /// The probes its trace hit (none for a timed-out seed).
    pub probes: BTreeSet<Probe>,
    /// Its failovers, recoveries and checkpoints, for a sweep's report
    /// (all zero for a timed-out seed).
    pub stats: SeedStats,
}

/// The trace lines a failure report prints: [`TRACE_WINDOW`] lines around
/// the first violation's moment (the first, root cause first, that has
/// one), the line at that moment marked, and the fault nearest to it in
/// simulated time, wherever it is; the last [`TRACE_WINDOW`] lines when no
/// violation has a moment. Lines are numbered from 1, as in the trace
/// `flinch replay` prints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceExcerpt {
    /// The moment the excerpt is centred on (simulated time).
    pub moment: Option<Duration>,
    /// The lines shown, as (line number from 1, text form), in trace order.
    pub lines: Vec<(usize, String)>,
    /// The line number of the last line at or before the moment.
    pub marked: Option<usize>,
    /// The line number of the fault nearest to the moment: the last one
    /// that began at or before it (what may have caused it), else the first
    /// after it; `None` when the trace has no fault. Heals and lifecycle
    /// steps are no faults here
    /// ([`flinch_harness::trace::FaultEvent::is_onset`]).
    pub nearest_fault: Option<usize>,
    /// How many lines the whole trace has.
    pub trace_len: usize,
}

impl TraceExcerpt {
    /// The excerpt of `trace` for a seed with `violations` (root cause
    /// first).
    pub fn of(trace: &[TraceEvent], violations: &[Violation]) -> Self {
        let moment = violations.iter().find_map(|v| v.at);
        let window = TRACE_WINDOW.min(trace.len());
        let (start, marked) = match moment {
            None => (trace.len() - window, None),
            Some(at) => {
                // The last line at or before the moment (the first line if
                // none is).
                let at_or_before = trace.partition_point(|e| e.at <= at).max(1) - 1;
                let end = (at_or_before + 1 + TRACE_AFTER).min(trace.len());
                (end.saturating_sub(window), Some(at_or_before))
            }
        };
        // The last fault at or before the moment (what may have caused
        // it), else the first after it.
        let is_fault = |e: &TraceEvent| matches!(&e.what, What::Fault(f) if f.is_onset());
        let nearest_fault = moment.and_then(|at| {
            let before = trace.iter().rposition(|e| e.at <= at && is_fault(e));
            before.or_else(|| trace.iter().position(|e| e.at > at && is_fault(e)))
        });
        let mut shown: Vec<usize> = (start..start + window).collect();
        if let Some(f) = nearest_fault.filter(|f| !shown.contains(f)) {
            shown.push(f);
            shown.sort_unstable();
        }
        TraceExcerpt {
            moment: moment.filter(|_| !trace.is_empty()),
            lines: shown
                .into_iter()
                .map(|i| (i + 1, trace[i].line()))
                .collect(),
            marked: marked.filter(|_| !trace.is_empty()).map(|i| i + 1),
            nearest_fault: nearest_fault.map(|i| i + 1),
            trace_len: trace.len(),
        }
    }

    /// Append the excerpt to `s`: a heading that says what it shows, then
    /// one line each, numbered, `>` before the moment's line, `...` where
    /// lines are left out.
    fn render(&self, s: &mut String) {
        let Some(last) = self.lines.last() else {
            let _ = writeln!(s, "trace: (empty)");
            return;
        };
        let heading = match self.moment {
            None => format!(
                "last {} of {} trace lines",
                self.lines.len(),
                self.trace_len
            ),
            Some(at) => {
                let fault = match self.nearest_fault {
                    Some(n) if self.marked.is_some_and(|m| n <= m) => {
                        format!("with the last fault before it, line {n}")
                    }
                    Some(n) => format!("with the first fault after it, line {n} (none before)"),
                    None => "no fault in the trace".to_string(),
                };
                format!(
                    "trace at the first violation's moment, {:.3}s (> marks it), {fault}; lines \
                     {} of {}",
                    at.as_secs_f64(),
                    ranges(self.lines.iter().map(|(n, _)| *n)),
                    self.trace_len
                )
            }
        };
        let _ = writeln!(s, "{heading}:");
        let width = last.0.to_string().len();
        let mut previous = None;
        for (n, line) in &self.lines {
            if previous.is_some_and(|p| p + 1 < *n) {
                let _ = writeln!(s, "  {:>width$}", "...");
            }
            let mark = if self.marked == Some(*n) { '>' } else { ' ' };
            let _ = writeln!(s, "{mark} {n:>width$} {line}");
            previous = Some(*n);
        }
    }
}

/// A seed stopped by `--timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimedOut {
    /// The `--timeout` it ran past (wall clock).
    pub limit: Duration,
    /// How far its simulation had come (simulated time).
    pub sim_at: Duration,
}

impl From<SeedReport> for SeedSummary {
    fn from(r: SeedReport) -> Self {
        SeedSummary {
            seed: r.seed,
            passed: r.passed,
            // Only a failing seed's is printed: a passing seed formats no
            // trace line.
            trace_excerpt: match r.passed {
                true => TraceExcerpt::default(),
                false => TraceExcerpt::of(&r.trace, &r.violations),
            },
            probes: coverage::probes_hit(&r.trace),
            stats: SeedStats::of(&r.trace),
            violations: r.violations,
            sim_time: r.sim_time,
            records: r.records,
            duplicates: r.duplicates,
            lost: r.lost.iter().map(|(_, n)| n).sum(),
            faults: r.plan.len(),
            timed_out: None,
        }
    }
}

impl SeedSummary {
    /// Whether this seed failed only as `vacuous` (a fault of its plan never
    /// fired or did nothing): its plan is what is wrong, and it is not
    /// shrunk.
    pub fn only_vacuous(&self) -> bool {
        !self.passed
            && self.timed_out.is_none()
            && !self.violations.is_empty()
            && (self.violations.iter()).all(|v| v.kind == flinch_harness::violation::VACUOUS)
    }

    /// A seed the watchdog stopped after `limit`, with `faults` faults in
    /// its plan. Its simulated time counts; its records do not (nothing
    /// was checked).
    pub fn timed_out(stopped: Stopped, limit: Duration, faults: usize) -> Self {
        SeedSummary {
            seed: stopped.seed,
            passed: false,
            violations: Vec::new(),
            trace_excerpt: TraceExcerpt::default(),
            sim_time: stopped.at,
            records: 0,
            duplicates: 0,
            lost: 0,
            faults,
            probes: BTreeSet::new(),
            stats: SeedStats::default(),
            timed_out: Some(TimedOut {
                limit,
                sim_at: stopped.at,
            }),
        }
    }

    /// What kind of failure this seed is; `None` if it passed. The
    /// violations come root cause first, so the first one says it.
    pub fn kind(&self) -> Option<FailureKind> {
        if self.passed {
            return None;
        }
        if self.timed_out.is_some() {
            return Some(FailureKind::TimedOut);
        }
        Some(FailureKind::of(&self.violations))
    }
}

/// How a seed failed, root cause first: the `"kind"` of a `--json`
/// failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// A host panicked in the engine's code: a found engine bug.
    EnginePanic,
    /// The job's own code panicked (an operator, or its graph, input or
    /// model): a bug of the job under test.
    JobPanic,
    /// turmoil or flinch broke (a panic of theirs, a panic outside the
    /// hosts, a host's error): the seed has no verdict to trust.
    InternalError,
    /// The seed ran past `--timeout` and was stopped, without a verdict.
    TimedOut,
    /// How the job ended or ran: not finished, failed, liveness, restarts,
    /// a fault that never fired.
    Job,
    /// Checkpointed or restored state.
    State,
    /// Output records: missing, duplicated, unexpected, wrong counts.
    Records,
}

impl FailureKind {
    /// The kind of a failure with `violations` (root cause first, as
    /// `run_seed` orders them): the first one's. A failure has violations;
    /// `job` also stands for none.
    pub fn of(violations: &[Violation]) -> FailureKind {
        match violations.first().map(|v| (v.cause(), v.kind)) {
            Some((Cause::Internal, ENGINE_PANIC)) => FailureKind::EnginePanic,
            Some((Cause::Internal, JOB_PANIC)) => FailureKind::JobPanic,
            Some((Cause::Internal, _)) => FailureKind::InternalError,
            Some((Cause::State, _)) => FailureKind::State,
            Some((Cause::Record, _)) => FailureKind::Records,
            Some((Cause::Job, _)) | None => FailureKind::Job,
        }
    }

    /// What a person should make of a failure of this kind, when it is not
    /// a verdict about the job.
    pub fn meaning(self) -> Option<&'static str> {
        match self {
            FailureKind::EnginePanic => Some(
                "engine panic: a host panicked in the engine's own code, a bug in the engine \
                 (the violation says where)",
            ),
            FailureKind::InternalError => Some(
                "internal error: turmoil or flinch broke, not the job under test, so this seed \
                 has no verdict to trust",
            ),
            FailureKind::JobPanic => Some(
                "job panic: the job's own code (an operator, or its graph, input or model) \
                 panicked, a bug in the job under test (the violation says where)",
            ),
            _ => None,
        }
    }

    /// How the summary names a seed of this kind among others, if it
    /// is not a verdict about the job.
    pub(crate) fn tag(self) -> Option<&'static str> {
        match self {
            FailureKind::EnginePanic => Some("engine panic"),
            FailureKind::JobPanic => Some("job panic"),
            FailureKind::InternalError => Some("internal error"),
            FailureKind::TimedOut => Some("timed out"),
            _ => None,
        }
    }
}

/// How a failing seed's report reads, after its `FAILED: seed N` line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FailureReport<'a> {
    /// The failing seed.
    pub seed: &'a SeedSummary,
    /// The command that replays it.
    pub replay: &'a str,
    /// Its fault plan, shrunk (when it was).
    pub shrunk: Option<&'a ShrunkPlan>,
    /// The line after the shrunk plan: where it is written or how to print
    /// it as a scenario file.
    pub shrunk_next: &'a str,
    /// Said when shrinking spent its budget: what goes further.
    pub shrink_further: &'a str,
    /// Where the violations not shown are.
    pub all_violations: &'a str,
    /// Where the plan was written when it was not shrunk.
    pub unshrunk_plan: Option<&'a str>,
}

impl FailureReport<'_> {
    /// Append the report to `s`: the replay command; what an engine panic
    /// or internal error means; the violations, root cause first, under a
    /// count of what they stand for (records, not lines); the shrunk plan,
    /// one fault a line; the trace around the first violation's moment
    /// ([`TraceExcerpt`]).
    pub fn render(&self, s: &mut String) {
        let first = self.seed;
        // Writing to a String cannot fail.
        let _ = writeln!(s, "replay: {}", self.replay);
        if let Some(meaning) = first.kind().and_then(FailureKind::meaning) {
            let _ = writeln!(s, "{meaning}");
        }
        if let Some(t) = first.timed_out {
            let _ = writeln!(
                s,
                "timed out: still running after the --timeout of {:?} (wall clock), stopped at \
                 {:.3} s of simulated time; the replay runs it to its verdict",
                t.limit,
                t.sim_at.as_secs_f64()
            );
            return;
        }
        let _ = writeln!(s, "violations: {}", Tally::of(&first.violations));
        for v in first.violations.iter().take(MAX_VIOLATIONS_SHOWN) {
            let _ = writeln!(s, "  {v}");
        }
        let left = first.violations.len().saturating_sub(MAX_VIOLATIONS_SHOWN);
        if left > 0 {
            let _ = writeln!(
                s,
                "  ... {left} more line{} (all in {})",
                plural(left),
                self.all_violations
            );
        }
        if let Some(shrunk) = self.shrunk.filter(|s| s.plan.is_empty()) {
            // What fails without faults: the job (or its model), or, for an
            // internal error or an engine panic, flinch itself.
            let culprit = match first.kind() {
                Some(FailureKind::InternalError) => "turmoil or flinch breaks",
                Some(FailureKind::EnginePanic) => "the engine panics",
                _ => "the job or its model is wrong",
            };
            let _ = writeln!(
                s,
                "shrunk plan: no fault is needed, the seed fails without any ({} runs): \
                 {culprit} even when nothing goes wrong",
                shrunk.runs
            );
            let _ = writeln!(s, "{}", self.shrunk_next);
        }
        if let Some(shrunk) = self.shrunk.filter(|s| !s.plan.is_empty()) {
            let _ = writeln!(
                s,
                "shrunk plan: {} of {} fault{} still fail{} ({} runs{}):",
                shrunk.plan.len(),
                shrunk.original,
                plural(shrunk.original),
                if shrunk.plan.len() == 1 { "s" } else { "" },
                shrunk.runs,
                if shrunk.exhausted {
                    format!("; budget spent, {} goes further", self.shrink_further)
                } else {
                    String::new()
                }
            );
            for fault in &shrunk.plan {
                let _ = writeln!(s, "  {}", fault_line(fault));
            }
            let _ = writeln!(s, "{}", self.shrunk_next);
        }
        if let (None, Some(line)) = (self.shrunk, self.unshrunk_plan) {
            let _ = writeln!(s, "{line}");
        }
        first.trace_excerpt.render(s);
    }
}

/// Ascending line numbers as ranges: `185-204 and 217`.
fn ranges(numbers: impl Iterator<Item = usize>) -> String {
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for n in numbers {
        match spans.last_mut() {
            Some((_, end)) if *end + 1 == n => *end = n,
            _ => spans.push((n, n)),
        }
    }
    let words: Vec<String> = (spans.iter())
        .map(|&(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect();
    match words.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// `""` for one, `"s"` for any other count.
pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// A path as a command's argument, quoted as [`shell_quote`] quotes it,
/// with `./` before one that starts with `-` (which a command would read
/// as an option).
pub(crate) fn shell_quote_path(path: &str) -> String {
    match path.starts_with('-') {
        true => shell_quote(&format!("./{path}")),
        false => shell_quote(path),
    }
}

/// `s` as one word of a POSIX shell command: as it is when it has only
/// characters no shell treats specially, else in single quotes.
/// One with a control character (a line break in a file name) is written
/// in `$'...'` quotes with the character escaped, byte by byte (`\xHH`, so
/// that it reads back the same in any locale), as bash, zsh and ksh read
/// them (dash, and other plain POSIX shells, do not): the command stays on
/// one line, copies as it prints, and drives no terminal.
pub(crate) fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=+,@%".contains(c));
    if plain {
        s.to_string()
    } else if s.chars().any(char::is_control) {
        let mut quoted = String::from("$'");
        for c in s.chars() {
            match c {
                '\\' => quoted.push_str("\\\\"),
                '\'' => quoted.push_str("\\'"),
                '\n' => quoted.push_str("\\n"),
                '\t' => quoted.push_str("\\t"),
                '\r' => quoted.push_str("\\r"),
                c if c.is_control() => {
                    let mut bytes = [0u8; 4];
                    for b in c.encode_utf8(&mut bytes).bytes() {
                        quoted.push_str(&format!("\\x{b:02x}"));
                    }
                }
                c => quoted.push(c),
            }
        }
        quoted.push('\'');
        quoted
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flinch_harness::violation::Checker;

    fn failed(faults: usize) -> SeedSummary {
        SeedSummary {
            seed: 4,
            passed: false,
            violations: vec![Violation::new(
                Checker::ExactlyOnce,
                "missing",
                "key-1 was committed 0 times, expected 1",
            )],
            trace_excerpt: TraceExcerpt {
                moment: None,
                lines: vec![(1, "0.000s jobmanager job_state".to_owned())],
                marked: None,
                nearest_fault: None,
                trace_len: 1,
            },
            sim_time: Duration::from_secs(1),
            records: 10,
            duplicates: 0,
            lost: 0,
            faults,
            timed_out: None,
            probes: BTreeSet::new(),
            stats: SeedStats::default(),
        }
    }

    fn render(seed: &SeedSummary, shrunk: Option<&ShrunkPlan>) -> String {
        let mut s = String::new();
        FailureReport {
            seed,
            replay: "flinch replay x --seed 4",
            shrunk,
            shrunk_next: "shrink: flinch shrink x --seed 4",
            shrink_further: "`flinch shrink`",
            all_violations: "--json",
            unshrunk_plan: None,
        }
        .render(&mut s);
        s
    }

    #[test]
    fn a_plan_shrunk_to_no_fault_says_the_job_fails_without_any() {
        let seed = failed(1);
        let none = ShrunkPlan {
            seed: 4,
            original: 1,
            plan: Vec::new(),
            runs: 1,
            exhausted: false,
        };
        let text = render(&seed, Some(&none));
        assert!(
            text.contains(
                "shrunk plan: no fault is needed, the seed fails without any (1 runs): the job or \
                 its model is wrong even when nothing goes wrong\nshrink: flinch shrink x --seed 4"
            ),
            "{text}"
        );
        assert!(!text.contains("still fail"), "{text}");
        let mut internal = failed(1);
        internal.violations = vec![Violation::new(
            Checker::ExpectedOutcome,
            flinch_harness::violation::INTERNAL_ERROR,
            "panic in vendor/turmoil/src/host.rs:117:9: Host: 'taskmanager-2' ports exhausted",
        )];
        let text = render(&internal, Some(&none));
        assert!(
            text.contains(
                "no fault is needed, the seed fails without any (1 runs): turmoil or flinch \
                 breaks even when nothing goes wrong"
            ),
            "{text}"
        );
        let unshrunk = render(&seed, None);
        assert!(!unshrunk.contains("shrunk plan"), "{unshrunk}");
        assert!(unshrunk.starts_with("replay: flinch replay x --seed 4\nviolations: "));
    }

    fn line(ms: u64, what: What) -> TraceEvent {
        TraceEvent {
            at: Duration::from_millis(ms),
            host: "taskmanager-1".into(),
            what,
        }
    }

    /// A trace of 60 engine events, one every 10 ms, with a crash at
    /// 45 ms and another at 505 ms.
    fn trace() -> Vec<TraceEvent> {
        use flinch_engine::event::Event;
        use flinch_harness::trace::FaultEvent;
        let mut trace: Vec<TraceEvent> = (0..60)
            .map(|i| line(i * 10, What::Engine(Event::HostStarted)))
            .collect();
        trace.insert(5, line(45, What::Fault(FaultEvent::Crash)));
        trace.insert(52, line(505, What::Fault(FaultEvent::Crash)));
        trace
    }

    fn at(ms: u64) -> Violation {
        Violation {
            at: Some(Duration::from_millis(ms)),
            ..Violation::new(Checker::Liveness, "not-live", "x")
        }
    }

    #[test]
    fn the_trace_excerpt_is_centred_on_the_first_violations_moment_with_the_fault_before_it() {
        let trace = trace();
        // The first violation with a moment counts; lines at 300 ms and
        // before lead up to it, five follow.
        let excerpt = TraceExcerpt::of(
            &trace,
            &[
                Violation::new(Checker::ExactlyOnce, "missing", "x"),
                at(300),
            ],
        );
        assert_eq!(excerpt.marked, Some(32), "{excerpt:?}");
        let numbers: Vec<usize> = excerpt.lines.iter().map(|(n, _)| *n).collect();
        let mut expected = vec![6];
        expected.extend(18..=37);
        assert_eq!(numbers, expected);
        assert_eq!(excerpt.nearest_fault, Some(6));
        let mut s = String::new();
        excerpt.render(&mut s);
        assert!(
            s.starts_with(
                "trace at the first violation's moment, 0.300s (> marks it), with the last fault \
                 before it, line 6; lines 6 and 18-37 of 62:\n   6     0.045s taskmanager-1"
            ),
            "{s}"
        );
        assert!(s.contains("\n  ...\n  18 "), "{s}");
        assert!(s.contains("\n> 32     0.300s "), "{s}");
    }

    #[test]
    fn a_moment_before_any_fault_shows_the_first_fault_after_it_and_none_shows_the_end() {
        let trace = trace();
        let early = TraceExcerpt::of(&trace, &[at(0)]);
        assert_eq!(early.marked, Some(1));
        assert_eq!(early.nearest_fault, Some(6));
        assert_eq!(
            early.lines.len(),
            TRACE_WINDOW,
            "the fault is within the window"
        );
        let mut s = String::new();
        early.render(&mut s);
        assert!(
            s.contains("with the first fault after it, line 6 (none before)"),
            "{s}"
        );
        let none = TraceExcerpt::of(&trace, &[]);
        assert_eq!(none.moment, None);
        assert_eq!(none.lines.first().map(|l| l.0), Some(62 - TRACE_WINDOW + 1));
        let mut s = String::new();
        none.render(&mut s);
        assert!(s.starts_with("last 20 of 62 trace lines:\n"), "{s}");
        let empty = TraceExcerpt::of(&[], &[at(5)]);
        let mut s = String::new();
        empty.render(&mut s);
        assert_eq!(s, "trace: (empty)\n");
    }
}
