//! Jobs by name (docs/dataflow.md, "Where jobs live"): a [`JobSpec`] is a
//! job the harness can run, known by its name and configured by the
//! parameters of a scenario's `job = { name = "...", ... }` table into a
//! [`JobModel`]: the job's graph, its seeded input and watermarks, and its
//! reference model (the checks of its committed output and of its
//! checkpointed state).
//!
//! The harness resolves names through the process's [`JobRegistry`]:
//! [`registry`] is the one a program [`install`]ed, or
//! [`JobRegistry::builtin`] (keyed-count alone, the harness's reference
//! job). The `flinch` CLI installs `flinch::jobs::registry()`, which adds
//! the other built-in jobs; a user's test installs its own.

use crate::model::{Finding, KeyedState, Timers};
use flinch_engine::config::JobConfig;
use flinch_engine::event::Vertex;
use flinch_engine::graph::{Job, JobGraph};
use flinch_engine::record::Record;
use std::fmt;
use std::sync::{Arc, OnceLock};

/// The most jobs a registry holds: a bound on what `flinch list` and the
/// "did you mean" of an unknown name go through.
pub const MAX_JOBS: usize = 64;

/// A job the harness can run, by name.
pub trait JobSpec: Send + Sync {
    /// The name scenarios and `--job` use: 1 to 32 characters of `a-z`,
    /// `0-9` and `-`.
    fn name(&self) -> &'static str;
    /// One line for `flinch list --jobs` and the README.
    fn description(&self) -> &'static str;
    /// The job with `params` (the scenario's `job` table without `name`).
    /// Errors: an unknown field or a value out of its bound, naming the
    /// field.
    fn configure(&self, params: &toml::Table) -> Result<Arc<dyn JobModel>, ParamError>;
}

/// A job parameter that cannot be taken: the field (as the scenario file
/// spells it, without the `job.` prefix; `None` for the table as a whole)
/// and why. The scenario loader adds file and line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParamError {
    pub field: Option<String>,
    pub message: String,
}

/// A configured job: how to run it and how to judge its run.
pub trait JobModel: Send + Sync + fmt::Debug {
    /// The registry name of the job.
    fn name(&self) -> &'static str;
    /// The parameters as the scenario gave them (without `name`); printed
    /// in shrunk scenario files.
    fn params(&self) -> toml::Table;
    /// The job's graph (what scenario validation checks task filters
    /// against).
    fn graph(&self) -> JobGraph;
    /// What a run under `config` with `seed` executes: [`JobModel::graph`],
    /// the input log (from `config.workload` and `seed`), the watermarks.
    fn job(&self, config: &JobConfig, seed: u64) -> Job;
    /// Whether [`JobModel::job`] has watermarks (event time), known
    /// without building its input.
    fn event_time(&self) -> bool;
    /// The exactly-once check of all committed output (in no particular
    /// order) against the input. Empty: the output is right.
    fn check_output(&self, input: &[Vec<Record>], output: &[Record]) -> Vec<Finding>;
    /// The at-least-once check: every effect of every input record is in
    /// the output, some maybe more than once, and nothing else is.
    fn check_output_at_least_once(&self, input: &[Vec<Record>], output: &[Record]) -> Vec<Finding>;
    /// The consistent-cut check of keyed vertex `vertex`'s state at a
    /// completed checkpoint (the union over its subtasks), against the
    /// input up to `offsets` (per partition: the records before it).
    /// Empty: the state is right; else what is wrong, in words.
    fn check_state(
        &self,
        input: &[Vec<Record>],
        offsets: &[u64],
        vertex: Vertex,
        state: &KeyedState,
        timers: &Timers,
    ) -> Vec<String>;
    /// One output record as JSON, typed (for `replay --output`).
    fn output_json(&self, record: &Record) -> serde_json::Value;
}

/// The jobs a program can run, by name, in the order they were added.
#[derive(Clone)]
pub struct JobRegistry {
    specs: Vec<Arc<dyn JobSpec>>,
}

impl fmt::Debug for JobRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

impl JobRegistry {
    /// keyed-count alone.
    pub fn builtin() -> JobRegistry {
        JobRegistry {
            specs: vec![Arc::new(crate::keyed_count::Spec)],
        }
    }

    /// This registry with `spec` added.
    ///
    /// # Panics
    /// On a name already taken, a name that is not 1 to 32 characters of
    /// `a-z0-9-`, or past [`MAX_JOBS`] jobs: a registry is built by code.
    pub fn with(mut self, spec: impl JobSpec + 'static) -> JobRegistry {
        let name = spec.name();
        let valid = !name.is_empty()
            && name.len() <= 32
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        assert!(valid, "job name {name:?} is not 1 to 32 of a-z0-9-");
        assert!(self.get(name).is_none(), "two jobs named {name:?}");
        assert!(self.specs.len() < MAX_JOBS, "more than {MAX_JOBS} jobs");
        self.specs.push(Arc::new(spec));
        self
    }

    /// The job named `name`.
    pub fn get(&self, name: &str) -> Option<&dyn JobSpec> {
        self.specs
            .iter()
            .find(|s| s.name() == name)
            .map(|s| s.as_ref())
    }

    /// Every job's name, in registry order.
    pub fn names(&self) -> Vec<&'static str> {
        self.specs.iter().map(|s| s.name()).collect()
    }

    /// Every job, in registry order.
    pub fn specs(&self) -> impl Iterator<Item = &dyn JobSpec> {
        self.specs.iter().map(|s| s.as_ref())
    }
}

static INSTALLED: OnceLock<JobRegistry> = OnceLock::new();

/// Make `registry` the one this process resolves job names through. Only
/// the first call counts; a later one returns `false` (and changes nothing)
/// unless it installs the same names.
pub fn install(registry: JobRegistry) -> bool {
    let names = registry.names();
    let installed = INSTALLED.get_or_init(|| registry);
    installed.names() == names
}

/// The registry this process resolves job names through: the installed
/// one, or [`JobRegistry::builtin`].
pub fn registry() -> &'static JobRegistry {
    static BUILTIN: OnceLock<JobRegistry> = OnceLock::new();
    INSTALLED
        .get()
        .unwrap_or_else(|| BUILTIN.get_or_init(JobRegistry::builtin))
}

/// A scenario's job: its name and parameters as written, and the model
/// they configure. Two are equal when name and parameters are.
#[derive(Clone)]
pub struct ScenarioJob {
    pub name: String,
    /// The `job` table without `name`, as written.
    pub params: toml::Table,
    pub model: Arc<dyn JobModel>,
}

impl ScenarioJob {
    /// keyed-count, the default job.
    pub fn keyed_count() -> ScenarioJob {
        ScenarioJob {
            name: crate::keyed_count::NAME.to_string(),
            params: toml::Table::new(),
            model: Arc::new(crate::keyed_count::Model),
        }
    }

    /// Whether this is keyed-count, whose output the record-level
    /// checkers read.
    pub fn is_keyed_count(&self) -> bool {
        self.name == crate::keyed_count::NAME
    }
}

impl fmt::Debug for ScenarioJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScenarioJob")
            .field("name", &self.name)
            .field("params", &self.params)
            .finish()
    }
}

impl PartialEq for ScenarioJob {
    fn eq(&self, other: &ScenarioJob) -> bool {
        self.name == other.name && self.params == other.params
    }
}

/// Resolve `name` with `params` through [`registry`]. Errors: an unknown
/// name (listing the known ones), or the job's own parameter error.
pub fn resolve(name: &str, params: &toml::Table) -> Result<ScenarioJob, ParamError> {
    let registry = registry();
    let Some(spec) = registry.get(name) else {
        let known = registry.names();
        let message = format!("unknown job \"{name}\"; the jobs are {}", known.join(", "));
        return Err(ParamError {
            field: Some("name".into()),
            message: crate::scenario::suggest::hint(message, name, known.iter().copied()),
        });
    };
    let model = spec.configure(params)?;
    Ok(ScenarioJob {
        name: name.to_string(),
        params: params.clone(),
        model,
    })
}
