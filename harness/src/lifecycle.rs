//! A job's lifecycle beyond one run (a scenario's `[[lifecycle]]`,
//! docs/savepoints.md): each step stops the running job and resumes it, maybe
//! at another parallelism and on another number of taskmanagers, from what
//! the stopped run left in checkpoint storage. One input log and one sink
//! span every run, so the exactly-once oracle judges the whole lifecycle.
//!
//! The runs share the hosts that outlive a Flink job (`log`, `sink`, the
//! checkpoint store, `ha`); each resume replaces the job's cluster: every
//! jobmanager and taskmanager is stopped, its disk emptied (new machines,
//! as a new application cluster on Kubernetes gets), and started again with
//! the resumed run's configuration. Taskmanagers a run does not use sit
//! idle.

use crate::fault::EventTrigger;
use flinch_engine::config::{JobConfig, TopologyConfig};
use std::time::Duration;

/// The name the trace gives the one who stops and resumes the job (its
/// `job_stopped` and `job_resumed` lines).
pub const CLIENT: &str = "client";

/// The most lifecycle steps a scenario may have: each is a whole run of
/// the job, and a run's length bounds a seed's.
pub const MAX_STEPS: usize = 4;

/// The most plain savepoints (`[[savepoint]]`) a scenario may ask for.
pub const MAX_SAVEPOINTS: usize = 4;

/// A plain savepoint the `client` host asks for while the job runs on
/// (`flink savepoint`; a scenario's `[[savepoint]]`): it commits nothing,
/// a failover never restores it, and the job never deletes it
/// (docs/savepoints.md).
#[derive(Debug, Clone, PartialEq)]
pub struct Savepoint {
    /// Simulated time from the start of the simulation, as a fault's; with
    /// `on`, events count from then.
    pub at: Duration,
    /// The request comes at a time drawn from `[at, at + jitter)`; with
    /// `on`, that long after the event's `delay` (a draw in `[0, jitter)`).
    pub jitter: Duration,
    /// Ask on an engine event (and its `delay`) instead of at a time.
    pub on: Option<EventTrigger>,
}

/// The `client` host's request id for `[[savepoint]]` number `n` (from 0):
/// apart from a lifecycle step's stop (step `k` asks as `k + 1`).
pub fn savepoint_request(n: usize) -> u64 {
    1_000 + n as u64
}

/// One step: stop the running job, then resume it. Only the last step
/// may leave `resume` out, and then its stop drains: the job ends there for
/// good.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub stop: Stop,
    pub resume: Option<Resume>,
}

/// When and how the running job is stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct Stop {
    /// Simulated time after the start of the run it stops (the first run
    /// starts at 0, a resumed one when it resumes); with `on`, events count
    /// from then.
    pub at: Duration,
    /// The stop comes at a time drawn from `[at, at + jitter)` by the seed
    /// (whole milliseconds), as a fault's does.
    pub jitter: Duration,
    /// Stop on an engine event (and its `delay`) instead of at a time.
    pub on: Option<EventTrigger>,
    pub with: StopWith,
    /// With [`StopWith::Savepoint`]: stop with drain (`flink stop
    /// --drain`): the sources send the `MAX` watermark and end of input
    /// before the savepoint, so every window and timer fires and the job
    /// ends as at the end of its input. Only a last step without a resume
    /// drains; the oracle then expects the output of the input up to where
    /// the sources stopped.
    pub drain: bool,
}

/// How a job is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopWith {
    /// The cluster goes away at once, as `flink cancel` of an application
    /// cluster or deleting its deployment: no final checkpoint, whatever
    /// was pre-committed stays open on the sink, and the retained
    /// checkpoints stay in checkpoint storage.
    Cancel,
    /// Stop-with-savepoint (`flink stop`, with [`Stop::drain`] `--drain`): the `client` host
    /// asks the leading jobmanager, which triggers a savepoint after whose
    /// barrier the sources read no more; once it completed and the sink
    /// committed its transactions, the job ends FINISHED. A savepoint that
    /// fails fails the job over, and the client asks again (bounded by
    /// `flinch_engine::hosts::client::PATIENCE`). The job's cluster goes
    /// away at the resume.
    Savepoint,
}

/// How the stopped job resumes.
#[derive(Debug, Clone, PartialEq)]
pub struct Resume {
    pub from: ResumeFrom,
    pub restore_mode: RestoreMode,
    /// How long the job stays stopped before its new cluster starts.
    pub after: Duration,
    /// The resumed run's topology: taskmanagers and parallelism may change;
    /// `max_parallelism`, `store_replicas` and `jobmanagers` stay the first
    /// run's (key groups are fixed for a job's life, as in Flink).
    pub topology: TopologyConfig,
}

/// What a resumed job restores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResumeFrom {
    /// The latest checkpoint the stopped job completed and retained
    /// (Flink's externalized checkpoints, `-s <checkpoint>`).
    Retained,
    /// The savepoint the step's stop-with-savepoint took (`-s <savepoint>`):
    /// the newest checkpoint in the register when the stopped job finished.
    Savepoint,
}

/// Who owns the restored checkpoint (Flink's `RestoreMode`): `claim`, or
/// `no-claim`, the default.
pub use flinch_engine::config::RestoreMode;

impl StopWith {
    /// Its name in a scenario file.
    pub fn name(self) -> &'static str {
        match self {
            StopWith::Cancel => "cancel",
            StopWith::Savepoint => "savepoint",
        }
    }
}

impl ResumeFrom {
    /// Its name in a scenario file.
    pub fn name(self) -> &'static str {
        match self {
            ResumeFrom::Retained => "retained",
            ResumeFrom::Savepoint => "savepoint",
        }
    }
}

/// How many runs a lifecycle of `steps` has: the first, and one per step
/// that resumes the job.
pub fn run_count(steps: &[Step]) -> usize {
    1 + steps.iter().filter(|s| s.resume.is_some()).count()
}

/// The configuration run `run` (0: the first, `k`: the one step `k - 1`
/// resumes) of a job configured by `first` runs under: `first` with the
/// resuming step's topology. Runs past the last resume get the last's.
pub fn run_config(first: &JobConfig, steps: &[Step], run: usize) -> JobConfig {
    let resumes: Vec<&Resume> = steps.iter().filter_map(|s| s.resume.as_ref()).collect();
    match run
        .checked_sub(1)
        .and_then(|i| resumes.get(i).or(resumes.last()))
    {
        Some(resume) => JobConfig {
            topology: resume.topology.clone(),
            run: u32::try_from(run.min(resumes.len())).unwrap_or(u32::MAX),
            restore_mode: resume.restore_mode,
            ..first.clone()
        },
        None => first.clone(),
    }
}

/// The topology with the most of each kind of host over the first run's
/// `first` and the resumed runs' `resumed`: the hosts a lifecycle's
/// simulation holds, and the tasks its triggers may name.
pub fn widest(first: &TopologyConfig, resumed: &[TopologyConfig]) -> TopologyConfig {
    let mut widest = first.clone();
    for t in resumed {
        widest.taskmanagers = widest.taskmanagers.max(t.taskmanagers);
        widest.parallelism = widest.parallelism.max(t.parallelism);
    }
    widest
}

/// [`widest`] of a scenario's first run and its steps.
pub fn widest_of(first: &TopologyConfig, steps: &[Step]) -> TopologyConfig {
    let resumed: Vec<TopologyConfig> = (steps.iter())
        .filter_map(|s| Some(s.resume.as_ref()?.topology.clone()))
        .collect();
    widest(first, &resumed)
}

/// The parallelism of the run that `event` resumes, if it is a resume's
/// trace line (`job_resumed`): the checkers that model the job's keyed
/// subtasks follow the trace from one run to the next with it.
pub fn resumed_parallelism(event: &crate::trace::TraceEvent) -> Option<u32> {
    match &event.what {
        crate::trace::What::Fault(crate::trace::FaultEvent::JobResumed { parallelism, .. }) => {
            Some(*parallelism)
        }
        _ => None,
    }
}

/// The savepoints of stop-with-savepoint requests a trace triggered, as it
/// is read in order (`savepoint_triggered` with `stop`; only a drain's, if
/// `drained_only`). An id that a later `checkpoint_triggered` hands out
/// again (a jobmanager that restarted before the savepoint entered the
/// register numbers on from the register) is another snapshot, and leaves
/// the set; a savepoint's own `checkpoint_triggered` comes just before its
/// `savepoint_triggered`. A restore of an id in the set restores the
/// savepoint, which proves it completed, traced or not.
#[derive(Debug, Clone, Default)]
pub struct StopSavepoints {
    ids: Vec<u64>,
    drained_only: bool,
}

impl StopSavepoints {
    /// Every stop's savepoints, or with `drained_only` a drain's only.
    pub fn new(drained_only: bool) -> Self {
        StopSavepoints {
            ids: Vec::new(),
            drained_only,
        }
    }

    /// Follow the trace: `event` is the next engine event.
    pub fn follow(&mut self, event: &flinch_engine::event::Event) {
        use flinch_engine::event::Event;
        match event {
            Event::CheckpointTriggered { checkpoint, .. } => self.ids.retain(|i| i != checkpoint),
            Event::SavepointTriggered {
                checkpoint,
                stop: true,
                drain,
                ..
            } if *drain || !self.drained_only => self.ids.push(*checkpoint),
            _ => {}
        }
    }

    /// Whether `checkpoint` is one of them.
    pub fn contains(&self, checkpoint: u64) -> bool {
        self.ids.contains(&checkpoint)
    }
}

/// Where each partition's input ended, when the lifecycle's last step
/// stops the job with a drain: the offsets of the last run's last completed
/// checkpoint, which is where its sources stopped, once the run ended
/// FINISHED or a drained savepoint of the stop completed (traced, or
/// proved by a restore of it; the job may still fail after, its drained
/// output committed). The output is judged against the log up to there;
/// `None` otherwise (the whole log).
pub fn drained_input_ends(trace: &[crate::trace::TraceEvent], steps: &[Step]) -> Option<Vec<u64>> {
    use crate::trace::What;
    use flinch_engine::event::{Event, JobState};
    let last = steps.last()?;
    if last.resume.is_some() || !last.stop.drain {
        return None;
    }
    let run = runs(trace).pop()?;
    let (mut ends, mut drained) = (None, false);
    let mut drains = StopSavepoints::new(true);
    for e in run {
        let What::Engine(event) = &e.what else {
            continue;
        };
        drains.follow(event);
        match event {
            Event::SavepointCompleted { checkpoint } => drained |= drains.contains(*checkpoint),
            Event::TasksDeployed {
                restore: Some(restore),
                ..
            } => drained |= drains.contains(*restore),
            Event::CheckpointCompleted { offsets, .. } => ends = Some(offsets),
            Event::JobState(JobState::Finished) => drained = true,
            _ => {}
        }
    }
    ends.filter(|_| drained).cloned()
}

/// The trace cut into the job's runs: before the first `job_resumed`, then
/// from each to the next. A job's end, and what it may do after it, is
/// judged within one run: a resume submits the job anew.
pub fn runs(trace: &[crate::trace::TraceEvent]) -> Vec<&[crate::trace::TraceEvent]> {
    let mut runs = Vec::new();
    let mut start = 0;
    for (i, e) in trace.iter().enumerate() {
        if resumed_parallelism(e).is_some() {
            runs.push(&trace[start..i]);
            start = i;
        }
    }
    runs.push(&trace[start..]);
    runs
}
