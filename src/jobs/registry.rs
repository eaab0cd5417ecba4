//! The built-in jobs as the harness's registry knows them
//! ([`flinch_harness::job`]): each job module's parameters, graph, input,
//! watermarks and reference model behind [`JobSpec`] and [`JobModel`].

use super::{dedup, two_stage, windowed_sum, Finding, FindingKind, KeyedState, Timers};
use crate::job::{missing_only, Job, Model};
use flinch_engine::config::WorkloadConfig;
use flinch_engine::graph::{JobGraph, Watermarks};
use flinch_engine::record::{self, Record};
use flinch_harness::job::{JobModel, JobRegistry, JobSpec, ParamError};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::rc::Rc;
use std::sync::Arc;

/// Every built-in job: keyed-count (the harness's), then windowed-sum,
/// dedup and two-stage.
pub fn registry() -> JobRegistry {
    JobRegistry::builtin()
        .with(Spec::<WindowedSum>::default())
        .with(Spec::<Dedup>::default())
        .with(Spec::<TwoStage>::default())
}

/// Make [`registry`] the process's registry (`flinch_harness::job::install`);
/// `false` if another was installed first. Also tells the harness which
/// panics are flinch's own (its `src/`) and which the built-in jobs'
/// (`src/jobs/`).
pub fn install() -> bool {
    // flinch's sources are not the job's, except the built-in jobs' and
    // the checks of what a job returns.
    let jobs = file!().strip_suffix("registry.rs").unwrap_or(file!());
    let src = jobs.strip_suffix("jobs/").unwrap_or(jobs);
    flinch_harness::panics::claim_sources(src, vec![jobs, crate::job::SOURCE]);
    flinch_harness::job::install(registry())
}

/// A built-in job as the registry configures it from a scenario's `job`
/// table: its name, its one-line description and its typed parameters.
trait BuiltIn: Job + Sized {
    const NAME: &'static str;
    const DESCRIPTION: &'static str;
    /// The parameters as a scenario writes them.
    type Params: DeserializeOwned + Default;
    fn validate(params: &Self::Params) -> Result<Self, super::ParamError>;
}

/// A built-in job's public type: a newtype of its validated parameters,
/// with `new(params)` (errors: a parameter outside its bound), `Default`
/// (the scenario format's defaults) and a doc example that runs it under
/// `$scenario`; `$params` is what `new` takes. The type implements [`Job`]
/// and [`BuiltIn`] below.
macro_rules! built_in_job {
    ($(#[doc = $doc:literal])* $name:ident($inner:ty), $params:ty, $scenario:literal) => {
        $(#[doc = $doc])*
        ///
        /// Its default parameters are the scenario format's defaults; `new`
        /// takes others. Run under faults from a test:
        ///
        /// ```
        #[doc = concat!("flinch::Test::new(flinch::jobs::", stringify!($name), "::default())")]
        #[doc = concat!("    .scenario(\"", $scenario, "\")")]
        ///     .seeds(0..2)
        ///     .run();
        /// ```
        #[derive(Debug)]
        pub struct $name($inner);

        impl $name {
            /// The job with `params`. Errors: a parameter outside its bound.
            pub fn new(params: &$params) -> Result<$name, super::ParamError> {
                <$name as BuiltIn>::validate(params)
            }
        }

        impl Default for $name {
            fn default() -> Self {
                $name::new(&<$params>::default())
                    .expect("the default parameters are within their bounds")
            }
        }
    };
}

/// A built-in job behind the registry's [`JobSpec`].
#[derive(Debug)]
struct Spec<J>(std::marker::PhantomData<fn() -> J>);

impl<J> Default for Spec<J> {
    fn default() -> Self {
        Spec(std::marker::PhantomData)
    }
}

impl<J: BuiltIn> JobSpec for Spec<J> {
    fn name(&self) -> &'static str {
        J::NAME
    }

    fn description(&self) -> &'static str {
        J::DESCRIPTION
    }

    fn configure(&self, params: &toml::Table) -> Result<Arc<dyn JobModel>, ParamError> {
        let typed: J::Params =
            toml::Value::Table(params.clone())
                .try_into()
                .map_err(|e: toml::de::Error| ParamError {
                    field: None,
                    message: format!("{}: {}", J::NAME, e.message()),
                })?;
        let job = J::validate(&typed).map_err(|e| ParamError {
            field: Some(e.field.to_string()),
            message: format!("must be {}, got {}: {}", e.bound, e.got, e.why),
        })?;
        Ok(Arc::new(Model::with_params(job, params.clone())))
    }
}

/// `{"key": .., "value": .., "origin": [p, o] | null}` with key and value
/// decoded as `K` and `V`; `None` if they are not.
fn typed_json<K, V>(r: &Record) -> Option<serde_json::Value>
where
    K: DeserializeOwned + Serialize,
    V: DeserializeOwned + Serialize,
{
    let key: K = record::decode(&r.key).ok()?;
    let value: V = record::decode(&r.value).ok()?;
    Some(serde_json::json!({ "key": key, "value": value, "origin": r.origin }))
}

built_in_job! {
/// Tumbling event-time windows summing a value per key, late records dropped and counted
/// ([`windowed_sum`]), as a [`Job`].
    WindowedSum(windowed_sum::Valid), windowed_sum::Params, "windowed-crash-mid-window"
}

impl BuiltIn for WindowedSum {
    const NAME: &'static str = windowed_sum::NAME;
    const DESCRIPTION: &'static str = "source -> key_by -> window: tumbling event-time windows \
        summing a value per key; late records beyond the out-of-orderness dropped and counted \
        (window, out_of_orderness, record_interval, late_fraction)";
    type Params = windowed_sum::Params;

    fn validate(params: &Self::Params) -> Result<Self, super::ParamError> {
        params.validate().map(WindowedSum)
    }
}

impl Job for WindowedSum {
    fn name(&self) -> &'static str {
        <Self as BuiltIn>::NAME
    }

    fn graph(&self) -> JobGraph {
        let valid = self.0;
        JobGraph::source("source")
            .and_then(|s| {
                s.key_by(windowed_sum::VERTEX, move || {
                    windowed_sum::WindowedSum::new(&valid)
                })
            })
            .expect("windowed-sum's vertex names are valid and distinct")
            .build()
    }

    fn input(&self, workload: &WorkloadConfig, seed: u64) -> Vec<Vec<Record>> {
        windowed_sum::generate(&self.0, workload, seed)
    }

    fn watermarks(&self) -> Option<Watermarks> {
        let valid = self.0;
        Some(Rc::new(move |p, n| windowed_sum::watermark(&valid, p, n)))
    }

    fn check_output(&self, input: &[Vec<Record>], output: &[Record]) -> Vec<Finding> {
        windowed_sum::check_output(&self.0, input, output)
    }

    /// Every window the exactly-once check expects committed at least
    /// once, with any sum and count (replayed records add to them), and the
    /// per-key dropped counts present.
    fn check_output_at_least_once(&self, input: &[Vec<Record>], output: &[Record]) -> Vec<Finding> {
        use windowed_sum::WindowOutput;
        let window_of = |key: &[u8], value: &[u8]| match record::decode::<WindowOutput>(value) {
            Ok(WindowOutput::Window { start, .. }) => Some((key.to_vec(), Some(start))),
            Ok(WindowOutput::Dropped { .. }) => Some((key.to_vec(), None)),
            Err(_) => None,
        };
        let committed: std::collections::BTreeSet<_> = (output.iter())
            .filter_map(|r| window_of(&r.key, &r.value))
            .collect();
        (missing_only(self.check_output(input, output)).into_iter())
            .filter(|f| window_of(&f.key, &f.value).is_none_or(|w| !committed.contains(&w)))
            .collect()
    }

    fn check_state(
        &self,
        input: &[Vec<Record>],
        offsets: &[u64],
        vertex: &str,
        state: &KeyedState,
        timers: &Timers,
    ) -> Vec<String> {
        windowed_sum::check_state(&self.0, input, offsets, vertex, state, timers)
    }

    fn output_json(&self, r: &Record) -> Option<serde_json::Value> {
        typed_json::<u32, windowed_sum::WindowOutput>(r)
    }
}

built_in_job! {
/// Drops records whose id was seen before ([`dedup`]), as a [`Job`].
    Dedup(dedup::Params), dedup::Params, "dedup-repeats-across-crashes"
}

impl BuiltIn for Dedup {
    const NAME: &'static str = dedup::NAME;
    const DESCRIPTION: &'static str = "source -> key_by id -> dedup: drops records whose id was \
        seen before; state grows with the distinct ids (repeat_fraction)";
    type Params = dedup::Params;

    fn validate(params: &Self::Params) -> Result<Self, super::ParamError> {
        params.validate().map(Dedup)
    }
}

impl Job for Dedup {
    fn name(&self) -> &'static str {
        <Self as BuiltIn>::NAME
    }

    fn graph(&self) -> JobGraph {
        JobGraph::source("source")
            .and_then(|s| s.key_by(dedup::VERTEX, || dedup::Dedup))
            .expect("dedup's vertex names are valid and distinct")
            .build()
    }

    fn input(&self, workload: &WorkloadConfig, seed: u64) -> Vec<Vec<Record>> {
        dedup::generate(&self.0, workload, seed)
    }

    fn check_output(&self, input: &[Vec<Record>], output: &[Record]) -> Vec<Finding> {
        dedup::check_output(&self.0, input, output)
    }

    fn check_output_at_least_once(&self, input: &[Vec<Record>], output: &[Record]) -> Vec<Finding> {
        dedup::check_output_at_least_once(&self.0, input, output)
    }

    fn check_state(
        &self,
        input: &[Vec<Record>],
        offsets: &[u64],
        vertex: &str,
        state: &KeyedState,
        timers: &Timers,
    ) -> Vec<String> {
        dedup::check_state(&self.0, input, offsets, vertex, state, timers)
    }

    fn output_json(&self, r: &Record) -> Option<serde_json::Value> {
        typed_json::<dedup::Id, u64>(r)
    }
}

built_in_job! {
/// A keyed count re-keyed by region into a second keyed stage ([`two_stage`]), as a
/// [`Job`].
    TwoStage(two_stage::Params), two_stage::Params, "two-stage-slow-link"
}

impl BuiltIn for TwoStage {
    const NAME: &'static str = two_stage::NAME;
    const DESCRIPTION: &'static str = "source -> key_by -> count -> re-key by region -> key_by \
        -> region: two keyed stages, two aligned shuffles (regions)";
    type Params = two_stage::Params;

    fn validate(params: &Self::Params) -> Result<Self, super::ParamError> {
        params.validate().map(TwoStage)
    }
}

impl Job for TwoStage {
    fn name(&self) -> &'static str {
        <Self as BuiltIn>::NAME
    }

    fn graph(&self) -> JobGraph {
        JobGraph::source("source")
            .and_then(|s| s.key_by(two_stage::STAGE_1, || two_stage::CountStage))
            .map(|s| {
                let rekey = two_stage::rekey(&self.0);
                s.map(move |key: u32, n: u64| rekey(key, n))
            })
            .and_then(|s| s.key_by(two_stage::STAGE_2, || two_stage::RegionStage))
            .expect("two-stage's vertex names are valid and distinct")
            .build()
    }

    fn input(&self, workload: &WorkloadConfig, seed: u64) -> Vec<Vec<Record>> {
        two_stage::generate(&self.0, workload, seed)
    }

    fn check_output(&self, input: &[Vec<Record>], output: &[Record]) -> Vec<Finding> {
        two_stage::check_output(&self.0, input, output)
    }

    /// Replays shift counts: every `(k, n)` for `n` in `1..=N_k` at least
    /// once, in the key's region; higher counts allowed.
    fn check_output_at_least_once(&self, input: &[Vec<Record>], output: &[Record]) -> Vec<Finding> {
        let shifted = |f: &Finding| {
            let count = record::decode::<(u64, u32)>(&f.value);
            let key = record::decode::<u32>(&f.key);
            match (key, count, &f.kind) {
                (Ok(key), Ok((_, region)), FindingKind::Unexpected { .. }) => {
                    region == two_stage::region(&self.0, key)
                }
                _ => false,
            }
        };
        let findings = self.check_output(input, output);
        (findings.into_iter())
            .filter(|f| !matches!(f.kind, FindingKind::Duplicated { .. }) && !shifted(f))
            .collect()
    }

    fn check_state(
        &self,
        input: &[Vec<Record>],
        offsets: &[u64],
        vertex: &str,
        state: &KeyedState,
        timers: &Timers,
    ) -> Vec<String> {
        two_stage::check_state(&self.0, input, offsets, vertex, state, timers)
    }

    fn output_json(&self, r: &Record) -> Option<serde_json::Value> {
        typed_json::<u32, (u64, u32)>(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_job_resolves_with_defaults_and_refuses_bad_parameters() {
        let registry = registry();
        assert_eq!(
            registry.names(),
            ["keyed-count", "windowed-sum", "dedup", "two-stage"]
        );
        for spec in registry.specs() {
            let model = spec.configure(&toml::Table::new()).expect("defaults");
            assert_eq!(model.name(), spec.name());
            let graph = model.graph();
            assert!(graph.vertices().len() >= 2);
            let again = spec
                .configure(&model.params())
                .expect("printed parameters load");
            assert_eq!(again.params(), model.params());
        }
        let mut bad = toml::Table::new();
        bad.insert("regions".into(), toml::Value::Integer(0));
        let spec = registry.get("two-stage").unwrap();
        let err = spec.configure(&bad).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("regions"));
        bad.insert("colour".into(), toml::Value::Integer(0));
        let err = spec.configure(&bad).unwrap_err();
        assert!(err.message.contains("colour"), "{}", err.message);
    }
}
