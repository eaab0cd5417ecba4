//! What the timeline shows, as data: lanes, fault bands, checkpoint bars,
//! failovers, restores, transaction and event marks, and violation moments,
//! each with its simulated times. Pure functions of a [`SeedReport`] (no
//! drawing, no IO), so what the picture claims can be tested apart from how
//! it looks ([`super::timeline`] draws it).
//!
//! Every list that grows with the run's length is bounded by a named limit
//! and comes as a [`Thinned`] list that knows how many it left out.
//!
//! **Fault bands come from the plan**, one per fault of
//! [`SeedReport::plan`], with the fault's index: the plan is what a person
//! edits and what `flinch replay` and a vacuous fault's message number
//! (`fault[3]`), and one fault can leave several trace lines (a
//! `disk_loss` is a `crash`, a `disk_wiped` and a `restart`) or none (a
//! crash of a host that is down already). When a fault fired comes from
//! [`SeedReport::fired_at`], the step loop's own record; when it ended
//! comes from the trace (its heal: `restart`, `repair`, `release`, ...).

use flinch_engine::event::{Event, JobState};
use flinch_engine::record::TxnId;
use flinch_harness::fault::{Fault, FaultKind};
use flinch_harness::seed::SeedReport;
use flinch_harness::trace::{FaultEvent, TraceEvent, What};
use flinch_harness::violation::Violation;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Checkpoint bars drawn at most. Beyond it every aborted, unfinished,
/// restored or savepoint bar is kept first, and the completed ones are
/// thinned evenly; the page says how many were not drawn.
pub const MAX_CHECKPOINT_BARS: usize = 300;
/// Transaction marks (pre-commit, commit, abort, timeout, loss) drawn at
/// most; aborts, timeouts and losses are kept first, the rest thinned.
pub const MAX_TXN_MARKS: usize = 600;
/// Other event marks on the host lanes (task failures, restored state,
/// probes, lifecycle steps, ...) drawn at most, thinned evenly.
pub const MAX_EVENT_MARKS: usize = 400;
/// Failovers drawn at most, each with its restart delay and job states
/// (a job that restarts without end, or a flapping network, makes many).
pub const MAX_FAILOVERS: usize = 100;
/// Job state spans (running, restarting, finished, failed) drawn at most.
pub const MAX_JOB_STATES: usize = 2 * MAX_FAILOVERS + 4;
/// Distinct violation moments marked in the timeline at most (checkers
/// list at most 20 violations of a kind, so a run has a few hundred at
/// most); the first ones in time.
pub const MAX_VIOLATION_MARKS: usize = 50;
/// Rows a checkpoint bar may take when checkpoints overlap (more than one
/// in flight, or a savepoint beside a checkpoint); the last row takes the
/// rest.
pub const CHECKPOINT_ROWS: usize = 3;

/// A list cut to a limit: `shown` in time order, and how many there were.
#[derive(Debug, Clone, PartialEq)]
pub struct Thinned<T> {
    /// What is drawn, in time order.
    pub shown: Vec<T>,
    /// How many there were before thinning.
    pub total: usize,
}

impl<T> Thinned<T> {
    /// How many were not drawn.
    pub fn left_out(&self) -> usize {
        self.total - self.shown.len()
    }
}

/// At most `max` of `items`, evenly spaced, the first and the last kept;
/// the order stays.
pub fn thin<T>(items: Vec<T>, max: usize) -> Thinned<T> {
    thin_keeping(items, max, |_| false)
}

/// At most `max` of `items`: those `keep` says first (themselves thinned
/// evenly if they are more than `max`), then the others thinned evenly into
/// what room is left; the order stays.
pub fn thin_keeping<T>(items: Vec<T>, max: usize, keep: impl Fn(&T) -> bool) -> Thinned<T> {
    let total = items.len();
    if total <= max {
        return Thinned {
            shown: items,
            total,
        };
    }
    let (kept, rest): (Vec<usize>, Vec<usize>) = (0..total).partition(|&i| keep(&items[i]));
    let kept = evenly(&kept, max);
    let rest = evenly(&rest, max - kept.len());
    let mut chosen = vec![false; total];
    for i in kept.into_iter().chain(rest) {
        chosen[i] = true;
    }
    let shown = (items.into_iter().zip(chosen))
        .filter_map(|(item, chosen)| chosen.then_some(item))
        .collect();
    Thinned { shown, total }
}

/// `n` of `indices`, evenly spaced, the first and the last among them.
fn evenly(indices: &[usize], n: usize) -> Vec<usize> {
    let len = indices.len();
    if len <= n {
        return indices.to_vec();
    }
    match n {
        0 => Vec::new(),
        1 => vec![indices[0]],
        _ => (0..n).map(|k| indices[k * (len - 1) / (n - 1)]).collect(),
    }
}

/// A stretch of simulated time, `start <= end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// Since the start of the run.
    pub start: Duration,
    /// Since the start of the run.
    pub end: Duration,
}

/// The lanes' order: jobmanager(s), taskmanagers, store(s), client, then
/// the rest by name; within a role by number (`taskmanager-2` before
/// `taskmanager-10`).
fn lane_rank(host: &str) -> (u8, u64, &str) {
    let number = |prefix: &str| {
        let n = host.strip_prefix(prefix)?;
        n.parse::<u64>().ok()
    };
    if host == "jobmanager" {
        (0, 0, host)
    } else if let Some(n) = number("jobmanager-") {
        (0, n, host)
    } else if let Some(n) = number("taskmanager-") {
        (1, n, host)
    } else if host == "store" {
        (2, 0, host)
    } else if let Some(n) = number("store-") {
        (2, n, host)
    } else if host == "client" {
        (3, 0, host)
    } else {
        (4, 0, host)
    }
}

/// Every host of the run, one lane each, in lane order: the trace's hosts
/// and the hosts the plan's faults target.
pub fn lanes(trace: &[TraceEvent], plan: &[Fault]) -> Vec<String> {
    let hosts: BTreeSet<&str> = (trace.iter().map(|e| e.host.as_str()))
        .chain(plan.iter().map(|f| f.host.as_str()))
        .collect();
    let mut hosts: Vec<&str> = hosts.into_iter().collect();
    hosts.sort_by_key(|h| lane_rank(h));
    hosts.into_iter().map(str::to_owned).collect()
}

/// A fault event's name, as the trace writes it.
pub fn fault_event_name(f: &FaultEvent) -> &'static str {
    match f {
        FaultEvent::Crash => "crash",
        FaultEvent::Restart => "restart",
        FaultEvent::DiskWiped => "disk_wiped",
        FaultEvent::Partition { .. } => "partition",
        FaultEvent::Repair { .. } => "repair",
        FaultEvent::Stall { .. } => "stall",
        FaultEvent::Release { .. } => "release",
        FaultEvent::Latency { .. } => "latency",
        FaultEvent::LatencyRestored { .. } => "latency_restored",
        FaultEvent::MessageLoss { .. } => "message_loss",
        FaultEvent::MessageLossEnded => "message_loss_ended",
        FaultEvent::IoErrors { .. } => "io_errors",
        FaultEvent::ReadCorruption { .. } => "read_corruption",
        FaultEvent::DiskFull { .. } => "disk_full",
        FaultEvent::DiskHealed => "disk_healed",
        FaultEvent::Pause => "pause",
        FaultEvent::Resume => "resume",
        FaultEvent::ClockDrift { .. } => "clock_drift",
        FaultEvent::ClockDriftEnded { .. } => "clock_drift_ended",
        FaultEvent::JobStopped { .. } => "job_stopped",
        FaultEvent::SavepointRequested { .. } => "savepoint_requested",
        FaultEvent::JobResumed { .. } => "job_resumed",
        FaultEvent::BitRot { .. } => "bit_rot",
    }
}

/// The other end of a link fault's event, if it names one.
fn fault_event_peer(f: &FaultEvent) -> Option<&str> {
    match f {
        FaultEvent::Partition { peer, .. }
        | FaultEvent::Repair { peer }
        | FaultEvent::Stall { peer }
        | FaultEvent::Release { peer }
        | FaultEvent::Latency { peer, .. }
        | FaultEvent::LatencyRestored { peer }
        | FaultEvent::MessageLoss { peer, .. } => Some(peer),
        _ => None,
    }
}

/// The trace name of an event of either kind.
pub fn event_name(what: &What) -> &'static str {
    match what {
        What::Engine(e) => e.name(),
        What::Fault(f) => fault_event_name(f),
    }
}

/// The other end of a link fault (`*`: every other host), if it has one.
pub fn fault_peer(kind: &FaultKind) -> Option<&str> {
    match kind {
        FaultKind::Partition { peer, .. }
        | FaultKind::Stall { peer, .. }
        | FaultKind::Latency { peer, .. }
        | FaultKind::MessageLoss { peer, .. } => Some(peer),
        _ => None,
    }
}

/// The trace event a fault of this kind starts with.
fn start_event(kind: &FaultKind) -> &'static str {
    match kind {
        FaultKind::Crash | FaultKind::CrashRestart { .. } | FaultKind::DiskLoss { .. } => "crash",
        // The others' trace events are named as the kinds are.
        other => other.name(),
    }
}

/// The trace events that end a fault of this kind, each with whether it
/// counts only from the fault's own end on (`start + duration`): a link's
/// repair, release or restored latency may belong to another fault on the
/// same link that heals first, while the first restart after a crash ends
/// the host's downtime whoever caused it, the first disk heal ends every
/// disk fault of the host (the harness clears them all at once), and a
/// crash ends a pause. A pause's `resume` is traced when the last of the
/// host's overlapping pauses ends, so one within a longer pause ends with
/// it. Empty for an instant fault.
fn end_events(kind: &FaultKind) -> &'static [(&'static str, bool)] {
    match kind {
        FaultKind::Crash | FaultKind::CrashRestart { .. } | FaultKind::DiskLoss { .. } => {
            &[("restart", false)]
        }
        FaultKind::Restart | FaultKind::BitRot { .. } => &[],
        FaultKind::Partition { .. } => &[("repair", true)],
        FaultKind::Stall { .. } => &[("release", true)],
        FaultKind::Latency { .. } => &[("latency_restored", true)],
        FaultKind::MessageLoss { .. } => &[("message_loss_ended", true)],
        FaultKind::IoErrors { .. }
        | FaultKind::ReadCorruption { .. }
        | FaultKind::DiskFull { .. } => &[("disk_healed", false)],
        FaultKind::Pause { .. } => &[("resume", true), ("crash", false)],
        FaultKind::ClockDrift { .. } => &[("clock_drift_ended", true)],
    }
}

/// Where a band's start comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fired {
    /// The step loop's record of when it fired ([`SeedReport::fired_at`]).
    Recorded,
    /// The run broke, so the step loop left no record: the first trace
    /// line of the fault's kind on its host from its `at` on that no other
    /// fault of the plan took.
    FromTrace,
    /// It never fired (the band is the stretch it could have fired in:
    /// from its `at` to the end of the run).
    Never,
}

/// How a band's end was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// An instant fault (`restart`, `bit_rot`): start and end are one.
    Instant,
    /// The trace line that ended it (`restart`, `repair`, ...).
    Traced,
    /// Its own end (start + duration) with no trace line: a heal that
    /// changed nothing is not traced (resuming a host a crash already
    /// ended, restarting a host a lifecycle stop keeps down).
    Nominal,
    /// It had not ended when the run ended (a crash with no restart, or a
    /// heal due after the end): the band runs to the end of the run.
    Open,
}

/// One fault of the plan on the timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultBand {
    /// The fault's index in the plan (`fault[3]`).
    pub index: usize,
    /// As scenario files spell it (`crash_restart`).
    pub kind: &'static str,
    /// The host it hit: its band is on this host's lane.
    pub host: String,
    /// The other end of a link fault (`*`: every other host).
    pub peer: Option<String>,
    /// The fault as one line (its `Display`: kind, link, settings, trigger).
    pub text: String,
    /// When it was in force (for [`Fired::Never`], when it could have fired).
    pub span: Span,
    pub fired: Fired,
    pub ended: Ended,
    /// Which row of its lane it is drawn in (from 0), so that faults
    /// overlapping on one host do not hide each other.
    pub row: usize,
    /// How many rows its lane's bands take (at most [`FAULT_ROWS`]).
    pub rows: usize,
}

/// Rows the fault bands of one lane may take when they overlap; the last
/// row takes the rest.
pub const FAULT_ROWS: usize = 3;

/// One band per fault of `plan`, in plan order (see the module's docs).
/// `end` is the end of the run.
pub fn fault_bands(
    plan: &[Fault],
    fired_at: &[Option<Duration>],
    trace: &[TraceEvent],
    end: Duration,
) -> Vec<FaultBand> {
    let mut taken = vec![false; trace.len()];
    let recorded = fired_at.len() == plan.len();
    // Faults leave a few lines each in a trace of any length: search
    // those alone.
    let faults: Vec<usize> = (0..trace.len())
        .filter(|&i| matches!(trace[i].what, What::Fault(_)))
        .collect();
    let from = |start: usize| &faults[faults.partition_point(|&i| i < start)..];
    let mut bands = Vec::with_capacity(plan.len());
    for (index, fault) in plan.iter().enumerate() {
        let start_name = start_event(&fault.kind);
        let is_start = |e: &TraceEvent| e.host == fault.host && event_name(&e.what) == start_name;
        let (fired, start, after) = if recorded {
            match fired_at[index] {
                Some(at) => {
                    let first = trace.partition_point(|e| e.at < at);
                    // Its own line when traced, else just past the lines
                    // before it.
                    let own = (from(first).iter().copied())
                        .take_while(|&i| trace[i].at == at)
                        .find(|&i| is_start(&trace[i]) && !taken[i]);
                    if let Some(i) = own {
                        taken[i] = true;
                    }
                    (Fired::Recorded, at, own.map_or(first, |i| i + 1))
                }
                None => (Fired::Never, fault.at.min(end), trace.len()),
            }
        } else {
            let first = trace.partition_point(|e| e.at < fault.at);
            match (from(first).iter().copied()).find(|&i| is_start(&trace[i]) && !taken[i]) {
                Some(i) => {
                    taken[i] = true;
                    (Fired::FromTrace, trace[i].at, i + 1)
                }
                None => (Fired::Never, fault.at.min(end), trace.len()),
            }
        };
        let (span_end, ended) = match fired {
            Fired::Never => (end, Ended::Open),
            _ => band_end(fault, start, from(after).iter().map(|&i| &trace[i]), end),
        };
        bands.push(FaultBand {
            index,
            kind: fault.kind.name(),
            host: fault.host.clone(),
            peer: fault_peer(&fault.kind).map(str::to_owned),
            text: fault.to_string(),
            span: Span {
                start,
                end: span_end.max(start),
            },
            fired,
            ended,
            row: 0,
            rows: 1,
        });
    }
    assign_fault_rows(&mut bands);
    bands
}

/// Put each band in the first row of its host's lane that is free when it
/// starts (the last of [`FAULT_ROWS`] if none), in order of start, and
/// tell every band how many rows its lane uses.
fn assign_fault_rows(bands: &mut [FaultBand]) {
    let mut order: Vec<usize> = (0..bands.len()).collect();
    order.sort_by_key(|&i| (bands[i].host.clone(), bands[i].span.start, i));
    let mut lane_rows: BTreeMap<String, Vec<Duration>> = BTreeMap::new();
    for &i in &order {
        let ends = lane_rows.entry(bands[i].host.clone()).or_default();
        let span = bands[i].span;
        let row = match ends.iter().position(|&end| end < span.start) {
            Some(row) => row,
            None if ends.len() < FAULT_ROWS => {
                ends.push(Duration::ZERO);
                ends.len() - 1
            }
            None => FAULT_ROWS - 1,
        };
        ends[row] = ends[row].max(span.end);
        bands[i].row = row;
    }
    for band in bands.iter_mut() {
        band.rows = lane_rows.get(&band.host).map_or(1, Vec::len);
    }
}

/// When a fault that fired at `start` ended, from the trace's fault lines
/// after its start (`after`).
fn band_end<'a>(
    fault: &Fault,
    start: Duration,
    mut after: impl Iterator<Item = &'a TraceEvent>,
    end: Duration,
) -> (Duration, Ended) {
    let ends = end_events(&fault.kind);
    if ends.is_empty() {
        return (start, Ended::Instant);
    }
    let own_end = fault.kind.duration().map(|d| start + d);
    let peer = fault_peer(&fault.kind);
    let ends_it = |e: &TraceEvent| {
        let What::Fault(f) = &e.what else {
            return false;
        };
        let name = fault_event_name(f);
        e.host == fault.host
            && fault_event_peer(f).is_none_or(|p| Some(p) == peer)
            && ends.iter().any(|&(n, from_own_end)| {
                n == name && (!from_own_end || own_end.is_none_or(|o| e.at >= o))
            })
    };
    match (after.find(|e| ends_it(e)), own_end) {
        (Some(e), _) => (e.at, Ended::Traced),
        (None, Some(own)) if own <= end => (own, Ended::Nominal),
        (None, _) => (end, Ended::Open),
    }
}

/// How a checkpoint ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// `checkpoint_completed` (or, for a plain savepoint,
    /// `savepoint_completed`).
    Completed,
    /// `checkpoint_aborted`.
    Aborted,
    /// Neither: its jobmanager failed over, crashed or ended first, or the
    /// run ended (the bar ends there).
    Unfinished,
}

impl Outcome {
    /// The CSS class the bar carries.
    pub fn class(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Aborted => "aborted",
            Outcome::Unfinished => "unfinished",
        }
    }
}

/// A checkpoint from its trigger to its completion or abort.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointBar {
    pub checkpoint: u64,
    /// The job attempt that triggered it.
    pub epoch: u64,
    /// The jobmanager that triggered it.
    pub host: String,
    pub span: Span,
    pub outcome: Outcome,
    /// A savepoint: `savepoint`, `stop savepoint` or `drained stop
    /// savepoint`.
    pub savepoint: Option<&'static str>,
    /// Why it was aborted.
    pub reason: Option<String>,
    /// Where the sources stood (`checkpoint_completed`'s offsets).
    pub offsets: Vec<u64>,
    /// Some later attempt restored it.
    pub restored: bool,
    /// Which of [`CHECKPOINT_ROWS`] rows it is drawn in (from 0).
    pub row: usize,
}

/// Every checkpoint of the trace as a bar, thinned to
/// [`MAX_CHECKPOINT_BARS`] (see there).
pub fn checkpoint_bars(trace: &[TraceEvent], end: Duration) -> Thinned<CheckpointBar> {
    let mut bars: Vec<CheckpointBar> = Vec::new();
    // The open bar of each (jobmanager, checkpoint id).
    let mut open: BTreeMap<(&str, u64), usize> = BTreeMap::new();
    for e in trace {
        let What::Engine(event) = &e.what else {
            if matches!(e.what, What::Fault(FaultEvent::Crash)) {
                close_all(&mut bars, &mut open, &e.host, e.at);
            }
            continue;
        };
        match event {
            Event::CheckpointTriggered { checkpoint, epoch } => {
                if let Some(i) = open.insert((&e.host, *checkpoint), bars.len()) {
                    bars[i].span.end = e.at;
                }
                bars.push(CheckpointBar {
                    checkpoint: *checkpoint,
                    epoch: *epoch,
                    host: e.host.clone(),
                    span: Span {
                        start: e.at,
                        end: e.at,
                    },
                    outcome: Outcome::Unfinished,
                    savepoint: None,
                    reason: None,
                    offsets: Vec::new(),
                    restored: false,
                    row: 0,
                });
            }
            Event::SavepointTriggered {
                checkpoint,
                stop,
                drain,
                ..
            } => {
                if let Some(&i) = open.get(&(e.host.as_str(), *checkpoint)) {
                    bars[i].savepoint = Some(match (stop, drain) {
                        (false, _) => "savepoint",
                        (true, false) => "stop savepoint",
                        (true, true) => "drained stop savepoint",
                    });
                }
            }
            Event::CheckpointCompleted {
                checkpoint,
                offsets,
            } => {
                if let Some(i) = open.remove(&(e.host.as_str(), *checkpoint)) {
                    bars[i].span.end = e.at;
                    bars[i].outcome = Outcome::Completed;
                    bars[i].offsets.clone_from(offsets);
                }
            }
            Event::SavepointCompleted { checkpoint } => {
                if let Some(i) = open.remove(&(e.host.as_str(), *checkpoint)) {
                    bars[i].span.end = e.at;
                    bars[i].outcome = Outcome::Completed;
                }
            }
            Event::CheckpointAborted { checkpoint, reason } => {
                if let Some(i) = open.remove(&(e.host.as_str(), *checkpoint)) {
                    bars[i].span.end = e.at;
                    bars[i].outcome = Outcome::Aborted;
                    bars[i].reason = Some(reason.clone());
                }
            }
            Event::Failover { .. }
            | Event::LeaderRevoked { .. }
            | Event::JobState(JobState::Finished | JobState::Failed { .. }) => {
                close_all(&mut bars, &mut open, &e.host, e.at);
            }
            Event::TasksDeployed {
                restore: Some(c), ..
            } => {
                let restored = bars.iter_mut().rev().find(|b| {
                    b.checkpoint == *c && b.outcome == Outcome::Completed && b.span.end <= e.at
                });
                if let Some(bar) = restored {
                    bar.restored = true;
                }
            }
            _ => {}
        }
    }
    for (_, i) in open {
        bars[i].span.end = end;
    }
    assign_rows(&mut bars);
    thin_keeping(bars, MAX_CHECKPOINT_BARS, |b| {
        b.outcome != Outcome::Completed || b.savepoint.is_some() || b.restored
    })
}

/// End every open bar of jobmanager `host` at `at`, unfinished.
fn close_all(
    bars: &mut [CheckpointBar],
    open: &mut BTreeMap<(&str, u64), usize>,
    host: &str,
    at: Duration,
) {
    open.retain(|(h, _), i| {
        if *h == host {
            bars[*i].span.end = at;
        }
        *h != host
    });
}

/// Put each bar in the first row whose last bar ended before it started
/// (the last row if none), so overlapping checkpoints do not hide each
/// other.
fn assign_rows(bars: &mut [CheckpointBar]) {
    let mut row_ends = [Duration::ZERO; CHECKPOINT_ROWS];
    let mut used = [false; CHECKPOINT_ROWS];
    for bar in bars.iter_mut() {
        let row = (0..CHECKPOINT_ROWS)
            .find(|&r| !used[r] || row_ends[r] < bar.span.start)
            .unwrap_or(CHECKPOINT_ROWS - 1);
        bar.row = row;
        used[row] = true;
        row_ends[row] = row_ends[row].max(bar.span.end);
    }
}

/// A job state from its `job_state` line to the next.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSpan {
    /// `running`, `restarting`, `finished` or `failed`.
    pub state: &'static str,
    /// The attempt, while running or restarting.
    pub epoch: Option<u64>,
    /// Why it failed.
    pub reason: Option<String>,
    pub span: Span,
}

/// The job's states over the run, thinned to [`MAX_JOB_STATES`].
pub fn job_spans(trace: &[TraceEvent], end: Duration) -> Thinned<JobSpan> {
    let mut spans: Vec<JobSpan> = Vec::new();
    for e in trace {
        let What::Engine(Event::JobState(state)) = &e.what else {
            continue;
        };
        if let Some(last) = spans.last_mut() {
            last.span.end = e.at;
        }
        let (state, epoch, reason) = match state {
            JobState::Running { epoch } => ("running", Some(*epoch), None),
            JobState::Restarting { epoch } => ("restarting", Some(*epoch), None),
            JobState::Finished => ("finished", None, None),
            JobState::Failed { reason } => ("failed", None, Some(reason.clone())),
        };
        spans.push(JobSpan {
            state,
            epoch,
            reason,
            span: Span { start: e.at, end },
        });
    }
    thin_keeping(spans, MAX_JOB_STATES, |s| s.state != "running")
}

/// A failover and what followed it: the restart delay, from the failover
/// until the next attempt's tasks were deployed.
#[derive(Debug, Clone, PartialEq)]
pub struct Failover {
    pub at: Duration,
    /// The attempt the job restarts as.
    pub epoch: u64,
    pub cause: String,
    /// The jobmanager that failed the job over.
    pub host: String,
    /// The strategy's delay (`restart_scheduled`), in milliseconds.
    pub delay_ms: Option<u64>,
    /// From the failover until `tasks_deployed` of `epoch` (or, if that
    /// never came, the end of the run or of the job).
    pub restart: Span,
    /// Whether the tasks were deployed again (`restart.end` is then when).
    pub deployed: bool,
    /// Whether another failover came first and replaced it (`restart.end`
    /// is then that failover's time).
    pub replaced: bool,
}

/// Every failover, thinned to [`MAX_FAILOVERS`].
pub fn failovers(trace: &[TraceEvent], end: Duration) -> Thinned<Failover> {
    let mut all: Vec<Failover> = Vec::new();
    let mut open: Option<usize> = None;
    for e in trace {
        let What::Engine(event) = &e.what else {
            continue;
        };
        match event {
            Event::Failover { epoch, cause } => {
                // A failover before the last one's tasks were deployed
                // replaces it: the earlier one's wait ends here.
                if let Some(i) = open.take() {
                    all[i].restart.end = e.at;
                    all[i].replaced = true;
                }
                all.push(Failover {
                    at: e.at,
                    epoch: *epoch,
                    cause: cause.clone(),
                    host: e.host.clone(),
                    delay_ms: None,
                    restart: Span { start: e.at, end },
                    deployed: false,
                    replaced: false,
                });
                open = Some(all.len() - 1);
            }
            Event::RestartScheduled { delay_ms, .. } => {
                if let Some(i) = open {
                    all[i].delay_ms.get_or_insert(*delay_ms);
                }
            }
            Event::TasksDeployed { epoch, .. } => {
                if let Some(i) = open.filter(|&i| all[i].epoch <= *epoch) {
                    all[i].restart.end = e.at;
                    all[i].deployed = true;
                    open = None;
                }
            }
            Event::JobState(JobState::Finished | JobState::Failed { .. }) => {
                if let Some(i) = open.take() {
                    all[i].restart.end = e.at;
                }
            }
            _ => {}
        }
    }
    thin(all, MAX_FAILOVERS)
}

/// An attempt's deployment that restored a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restore {
    /// When the tasks were deployed.
    pub at: Duration,
    pub epoch: u64,
    /// The checkpoint (or savepoint) restored.
    pub checkpoint: u64,
    /// When that checkpoint completed, if the trace shows it (a resumed
    /// job restores one of an earlier run's).
    pub completed_at: Option<Duration>,
}

/// Every `tasks_deployed` with a `restore`, thinned to [`MAX_FAILOVERS`].
pub fn restores(trace: &[TraceEvent]) -> Thinned<Restore> {
    let mut completed: BTreeMap<u64, Duration> = BTreeMap::new();
    let mut all = Vec::new();
    for e in trace {
        match &e.what {
            What::Engine(
                Event::CheckpointCompleted { checkpoint, .. }
                | Event::SavepointCompleted { checkpoint },
            ) => {
                completed.entry(*checkpoint).or_insert(e.at);
            }
            What::Engine(Event::TasksDeployed {
                epoch,
                restore: Some(c),
            }) => all.push(Restore {
                at: e.at,
                epoch: *epoch,
                checkpoint: *c,
                completed_at: completed.get(c).copied(),
            }),
            _ => {}
        }
    }
    thin(all, MAX_FAILOVERS)
}

/// What a transaction mark stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnStep {
    PreCommitted,
    Committed,
    Aborted,
    /// The sink's transaction timeout aborted it.
    TimedOut,
    /// A restoring subtask gave its output up on purpose.
    Lost,
}

impl TxnStep {
    /// The CSS class the mark carries, and its row (from the top).
    pub fn class_and_row(self) -> (&'static str, usize) {
        match self {
            TxnStep::PreCommitted => ("pre-commit", 0),
            TxnStep::Committed => ("commit", 1),
            TxnStep::Aborted => ("abort", 2),
            TxnStep::TimedOut => ("timed-out", 2),
            TxnStep::Lost => ("lost", 2),
        }
    }
}

/// One step of one sink transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnMark {
    pub at: Duration,
    pub step: TxnStep,
    pub txn: TxnId,
    /// Records it held, when the event says.
    pub records: Option<u64>,
}

/// Every transaction step of the trace, thinned to [`MAX_TXN_MARKS`]
/// (aborts, timeouts and losses kept first).
pub fn txn_marks(trace: &[TraceEvent]) -> Thinned<TxnMark> {
    let marks = trace
        .iter()
        .filter_map(|e| {
            let What::Engine(event) = &e.what else {
                return None;
            };
            let (step, txn, records) = match event {
                Event::TxnPreCommitted { txn, records } => {
                    (TxnStep::PreCommitted, txn, Some(*records))
                }
                Event::TxnCommitted { txn, records } => (TxnStep::Committed, txn, Some(*records)),
                Event::TxnAborted { txn } => (TxnStep::Aborted, txn, None),
                Event::TxnTimedOut { txn, records } => (TxnStep::TimedOut, txn, Some(*records)),
                Event::TxnLost { txn, records } => (TxnStep::Lost, txn, Some(*records)),
                _ => return None,
            };
            Some(TxnMark {
                at: e.at,
                step,
                txn: *txn,
                records,
            })
        })
        .collect();
    thin_keeping(marks, MAX_TXN_MARKS, |m| {
        !matches!(m.step, TxnStep::PreCommitted | TxnStep::Committed)
    })
}

/// Events drawn as marks on their host's lane (the rest are bars, bands,
/// the job track, the transactions track, or too many to be worth a mark:
/// acknowledgements and snapshots).
const MARKED: [&str; 20] = [
    "host_started",
    "task_failed",
    "task_manager_lost",
    "state_restored",
    "probe",
    "corrupt_read",
    "fenced",
    "checkpoints_recovered",
    "store_write_late",
    "store_replica_repaired",
    "checkpoint_unreadable",
    "checkpoint_fallback",
    "lease_granted",
    "leader_elected",
    "leader_revoked",
    "disk_wiped",
    "job_stopped",
    "job_resumed",
    "savepoint_requested",
    "bit_rot",
];

/// Marks kept first when thinning: rare and telling.
const KEPT: [&str; 9] = [
    "task_failed",
    "task_manager_lost",
    "checkpoint_unreadable",
    "checkpoint_fallback",
    "leader_revoked",
    "disk_wiped",
    "job_stopped",
    "job_resumed",
    "savepoint_requested",
];

/// One event drawn on its host's lane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventMark {
    pub at: Duration,
    pub host: String,
    /// Its trace name (`task_failed`).
    pub event: &'static str,
    /// Its trace line, for the hover text.
    pub line: String,
}

/// The events of [`MARKED`], thinned to [`MAX_EVENT_MARKS`].
pub fn event_marks(trace: &[TraceEvent]) -> Thinned<EventMark> {
    // Thinned first: only the marks drawn pay for their text.
    let marked = (trace.iter().enumerate())
        .map(|(i, e)| (i, event_name(&e.what)))
        .filter(|(_, event)| MARKED.contains(event))
        .collect();
    let thinned = thin_keeping(marked, MAX_EVENT_MARKS, |(_, event)| KEPT.contains(event));
    let shown = (thinned.shown.into_iter())
        .map(|(i, event)| EventMark {
            at: trace[i].at,
            host: trace[i].host.clone(),
            event,
            line: trace[i].line().trim().to_owned(),
        })
        .collect();
    Thinned {
        shown,
        total: thinned.total,
    }
}

/// A moment some violations refer to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moment {
    pub at: Duration,
    /// The violations' indices in the report, root cause first.
    pub violations: Vec<usize>,
}

impl Moment {
    /// The element id of its marker in the timeline: `t-1234`
    /// (milliseconds), what a violation links to.
    pub fn id(&self) -> String {
        moment_id(self.at)
    }
}

/// The element id of the timeline's marker at `at`.
pub fn moment_id(at: Duration) -> String {
    format!("t-{}", at.as_millis())
}

/// The moments the violations refer to (each [`Violation::at`] that is
/// set, to the millisecond), in time order, the first
/// [`MAX_VIOLATION_MARKS`] of them.
pub fn moments(violations: &[Violation]) -> Thinned<Moment> {
    let mut by_ms: BTreeMap<u128, Moment> = BTreeMap::new();
    for (i, v) in violations.iter().enumerate() {
        if let Some(at) = v.at {
            let at = Duration::from_millis(u64::try_from(at.as_millis()).unwrap_or(u64::MAX));
            let moment = by_ms.entry(at.as_millis()).or_insert(Moment {
                at,
                violations: Vec::new(),
            });
            moment.violations.push(i);
        }
    }
    let total = by_ms.len();
    Thinned {
        shown: by_ms.into_values().take(MAX_VIOLATION_MARKS).collect(),
        total,
    }
}

/// Everything the timeline draws.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    /// The end of the x axis: the run's simulated time (or its last trace
    /// line, if later).
    pub end: Duration,
    /// One per host, in lane order.
    pub lanes: Vec<String>,
    /// One per fault of the plan, in plan order.
    pub faults: Vec<FaultBand>,
    pub checkpoints: Thinned<CheckpointBar>,
    pub job: Thinned<JobSpan>,
    pub failovers: Thinned<Failover>,
    pub restores: Thinned<Restore>,
    pub txns: Thinned<TxnMark>,
    pub events: Thinned<EventMark>,
    pub moments: Thinned<Moment>,
}

impl Timeline {
    /// The timeline of one seed's run.
    pub fn of(report: &SeedReport) -> Timeline {
        let trace = &report.trace;
        let end = (trace.last().map(|e| e.at))
            .unwrap_or_default()
            .max(report.sim_time);
        Timeline {
            end,
            lanes: lanes(trace, &report.plan),
            faults: fault_bands(&report.plan, &report.fired_at, trace, end),
            checkpoints: checkpoint_bars(trace, end),
            job: job_spans(trace, end),
            failovers: failovers(trace, end),
            restores: restores(trace),
            txns: txn_marks(trace),
            events: event_marks(trace),
            moments: moments(&report.violations),
        }
    }
}

#[cfg(test)]
mod tests;
