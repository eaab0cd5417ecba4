//! [`Job`]: a job as its author writes it, with the reference model that
//! judges its runs (docs/api.md). The built-in jobs (`flinch::jobs`)
//! implement it and nothing else; a user's job does the same and runs
//! under faults with [`crate::Test`].

use crate::{Finding, FindingKind, JobGraph, KeyedState, Record, Timers, Watermarks, Workload};
use flinch_engine::config::JobConfig;
use flinch_engine::event::Vertex;
use flinch_engine::operator::job_code;
use flinch_harness::job::JobModel;
use std::fmt;
use std::rc::Rc;
use std::sync::Arc;

/// A job and its reference model: what to run (the graph of operators,
/// the seeded input log, the watermarks) and how to judge a run (the
/// committed output against the input, and optionally each checkpoint's
/// state against the input before its source offsets).
///
/// The model is written independently of the operators: it computes from
/// the input what the output must be, because a model that calls the
/// operator under test would share its bugs. Output may depend on how
/// partitions interleave (keyed-count's counts do), so the model checks
/// the output rather than producing it; [`crate::check_multiset`] covers
/// the common case of an expected multiset.
///
/// Everything here must be deterministic: the same seed gives the same
/// input, and the operators in [`Job::graph`] must not do I/O, spawn
/// threads, read the clock or iterate a `HashMap` into their output
/// ([`crate::Test`] runs its first seed twice to catch that).
///
/// ```
/// use flinch::{Context, Finding, Job, JobGraph, Operator, Record, Workload};
///
/// /// Emits every record it gets, keyed as it came: output = input.
/// struct Pass;
///
/// impl Operator for Pass {
///     type Key = u32;
///     type In = ();
///     type OutKey = u32;
///     type Out = ();
///     type State = ();
///     fn process(&mut self, key: &u32, _: (), _: &mut (), ctx: &mut Context<'_, u32, ()>) {
///         ctx.emit(*key, ());
///     }
/// }
///
/// #[derive(Debug)]
/// struct Forward;
///
/// impl Job for Forward {
///     fn name(&self) -> &'static str {
///         "forward"
///     }
///     fn graph(&self) -> JobGraph {
///         JobGraph::source("source")
///             .and_then(|s| s.key_by("pass", || Pass))
///             .expect("valid, distinct vertex names")
///             .build()
///     }
///     fn input(&self, workload: &Workload, seed: u64) -> Vec<Vec<Record>> {
///         flinch::workload_records(workload, seed)
///     }
///     /// Exactly-once: each input record's `(key, value)` committed once.
///     fn check_output(&self, input: &[Vec<Record>], output: &[Record]) -> Vec<Finding> {
///         let expected = flinch::multiset(input.iter().flatten());
///         flinch::check_multiset(expected, output, |k, v| format!("key {k:?} value {v:?}"))
///     }
/// }
///
/// flinch::Test::new(Forward).seeds(0..2).run();
/// ```
pub trait Job: Send + Sync + fmt::Debug + 'static {
    /// The job's name in reports and plan files: 1 to 32 characters of
    /// `a-z`, `0-9` and `-`, starting with a letter.
    fn name(&self) -> &'static str;

    /// The job graph, built with [`JobGraph::source`] and the user's
    /// operators. Called once per run and once when a scenario is checked
    /// against it (its task filters name its vertices).
    fn graph(&self) -> JobGraph;

    /// The input log: one `Vec` per partition (`workload.partitions` of
    /// them), `workload.records` records in all (the run's time budget and
    /// its faults' times follow the workload; a run fails as a `job-panic`
    /// naming both counts otherwise), each record's key and value encoded
    /// with [`crate::encode`], `timestamp` in ms, `origin = Some((partition,
    /// offset))`. A pure function of `workload` and `seed`. The default is the reference
    /// workload's log ([`crate::workload_records`]): `u32` keys, `()`
    /// values.
    fn input(&self, workload: &Workload, seed: u64) -> Vec<Vec<Record>> {
        crate::workload_records(workload, seed)
    }

    /// Event time: the watermark (ms) the source of a partition emits after
    /// reading its offsets `0..next_offset`, a pure function of both
    /// (nondecreasing in `next_offset`). `None` (the default): no event
    /// time; timers fire only at end of input.
    fn watermarks(&self) -> Option<Watermarks> {
        None
    }

    /// The exactly-once check: all committed output, in no particular
    /// order, against the input. Empty: the output is right; else each
    /// [`Finding`] names an output record and what is wrong with it.
    fn check_output(&self, input: &[Vec<Record>], output: &[Record]) -> Vec<Finding>;

    /// The at-least-once check (checkpoints without alignment). The
    /// default keeps only the [`FindingKind::Missing`] findings of
    /// [`Job::check_output`]: copies are allowed, loss is not. A job whose
    /// replays change values (a count counted twice) overrides it.
    fn check_output_at_least_once(&self, input: &[Vec<Record>], output: &[Record]) -> Vec<Finding> {
        missing_only(self.check_output(input, output))
    }

    /// The consistent-cut check of keyed vertex `vertex`'s state at a
    /// completed checkpoint (all its subtasks together; keys and values as
    /// encoded bytes) against the input before `offsets` (one per
    /// partition). Empty: right, else what is wrong in words. The default
    /// checks nothing.
    fn check_state(
        &self,
        input: &[Vec<Record>],
        offsets: &[u64],
        vertex: &str,
        state: &KeyedState,
        timers: &Timers,
    ) -> Vec<String> {
        let _ = (input, offsets, vertex, state, timers);
        Vec::new()
    }

    /// One output record as typed JSON (for reports and
    /// `flinch replay --output`); `None` (the default): its bytes.
    fn output_json(&self, record: &Record) -> Option<serde_json::Value> {
        let _ = record;
        None
    }
}

/// This file as the compiler names it: the adapter's checks of what a
/// job returns are the job's side of a panic's blame.
pub(crate) const SOURCE: &str = file!();

/// Only the lost outputs among `findings`: what an at-least-once run must
/// not have (copies, and values that copies shifted, are allowed).
pub(crate) fn missing_only(findings: Vec<Finding>) -> Vec<Finding> {
    (findings.into_iter())
        .filter(|f| matches!(f.kind, FindingKind::Missing { .. }))
        .collect()
}

/// A [`Job`] as the harness runs it ([`JobModel`]), with the parameters a
/// scenario gave it (empty for a job given in code).
#[derive(Debug)]
pub(crate) struct Model<J> {
    job: Arc<J>,
    params: toml::Table,
}

impl<J: Job> Model<J> {
    pub(crate) fn new(job: J) -> Model<J> {
        Model::with_params(job, toml::Table::new())
    }

    pub(crate) fn with_params(job: J, params: toml::Table) -> Model<J> {
        Model {
            job: Arc::new(job),
            params,
        }
    }
}

impl<J: Job> JobModel for Model<J> {
    fn name(&self) -> &'static str {
        self.job.name()
    }

    fn params(&self) -> toml::Table {
        self.params.clone()
    }

    fn graph(&self) -> JobGraph {
        job_code::run(|| self.job.graph())
    }

    /// Panics (a `job-panic`: this file is the job's side, [`SOURCE`])
    /// when the input does not have one `Vec` per partition, or not the
    /// workload's number of records in all.
    fn job(&self, config: &JobConfig, seed: u64) -> flinch_engine::graph::Job {
        let input = job_code::run(|| self.job.input(&config.workload, seed));
        let partitions = config.workload.partitions;
        assert!(
            input.len() == partitions as usize,
            "Job::input of job {} returned {} partition{}, but the workload has {partitions} \
             (`[workload] partitions`): it must return one Vec per partition",
            self.job.name(),
            input.len(),
            if input.len() == 1 { "" } else { "s" }
        );
        // The run's time budget, its faults' times and its sources' pace
        // are worked out from the workload: more records would not finish
        // in time, fewer would end before the faults.
        let records: u64 = input.iter().map(|p| p.len() as u64).sum();
        assert!(
            records == config.workload.records,
            "Job::input of job {} returned {records} record{} in all, but the workload has {} \
             (`[workload] records`): it must return that many, as the default input does (the \
             run's time budget and its faults' times follow the workload); to run other input, \
             give the scenario that many records (`records` in its [workload], or \
             `Scenario::records`)",
            self.job.name(),
            if records == 1 { "" } else { "s" },
            config.workload.records
        );
        flinch_engine::graph::Job {
            graph: self.graph(),
            input: Rc::new(input),
            watermarks: job_code::run(|| self.job.watermarks()),
        }
    }

    fn event_time(&self) -> bool {
        job_code::run(|| self.job.watermarks().is_some())
    }

    fn check_output(&self, input: &[Vec<Record>], output: &[Record]) -> Vec<Finding> {
        job_code::run(|| self.job.check_output(input, output))
    }

    fn check_output_at_least_once(&self, input: &[Vec<Record>], output: &[Record]) -> Vec<Finding> {
        job_code::run(|| self.job.check_output_at_least_once(input, output))
    }

    fn check_state(
        &self,
        input: &[Vec<Record>],
        offsets: &[u64],
        vertex: Vertex,
        state: &KeyedState,
        timers: &Timers,
    ) -> Vec<String> {
        job_code::run(|| {
            self.job
                .check_state(input, offsets, vertex.as_str(), state, timers)
        })
    }

    fn output_json(&self, r: &Record) -> serde_json::Value {
        job_code::run(|| self.job.output_json(r)).unwrap_or_else(|| {
            serde_json::json!({ "key_bytes": r.key, "value_bytes": r.value, "origin": r.origin })
        })
    }
}
