//! keyed-count, the harness's reference job: `source` (one subtask per log
//! partition) -> key_by -> `count` (the keyed count, with the
//! two-phase-commit sink chained). Each record of key `k` yields `(k, n)`,
//! `n` being how many records of `k` its `count` subtask has seen, this one
//! included; the harness's record-level checkers, its consistent-cut oracle
//! and most built-in scenarios are written for it.
//!
//! Its exactly-once property: the committed output holds exactly one
//! record per input record (the same key, partition and offset), and for
//! each key the counts of its records from one partition rise with the
//! offset (records of one key and partition are counted in log order).

use crate::job::{JobModel, JobSpec, ParamError};
use crate::model::{Finding, FindingKind, KeyedState, Timers};
use flinch_engine::config::{JobConfig, WorkloadConfig};
use flinch_engine::event::Vertex;
use flinch_engine::graph::{Job, JobGraph};
use flinch_engine::job::Plan;
use flinch_engine::operator::{Context, Operator};
use flinch_engine::record::{self, Record};
use flinch_engine::workload;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;

/// The job's name in scenarios and on the command line.
pub const NAME: &str = "keyed-count";

/// The keyed count: key the workload's `u32` key, input value `()`,
/// output `(key, count)`, state the count so far.
#[derive(Debug, Default, Clone, Copy)]
pub struct KeyedCount;

impl Operator for KeyedCount {
    type Key = u32;
    type In = ();
    type OutKey = u32;
    type Out = u64;
    type State = u64;

    fn process(&mut self, key: &u32, (): (), count: &mut u64, ctx: &mut Context<'_, u32, u64>) {
        *count += 1;
        ctx.emit(*key, *count);
    }
}

/// keyed-count's graph: `source` -> key_by -> `count`.
pub fn graph() -> JobGraph {
    JobGraph::source("source")
        .and_then(|source| source.key_by("count", || KeyedCount))
        .expect("keyed-count's vertex names are valid and distinct")
        .build()
}

/// keyed-count's plan under `config`.
pub fn plan(config: &JobConfig) -> Plan {
    Plan::new(&graph(), config)
}

/// keyed-count's input log for `seed`: [`workload::generate`]'s records as
/// engine records (key the encoded `u32`, value `()`, timestamp 0).
pub fn input(workload: &WorkloadConfig, seed: u64) -> Vec<Vec<Record>> {
    let log = workload::generate(workload, seed);
    log.iter()
        .map(|partition| partition.iter().map(|r| r.to_record()).collect())
        .collect()
}

/// What a run of keyed-count under `config` with `seed` executes.
pub fn job(config: &JobConfig, seed: u64) -> Job {
    Job {
        graph: graph(),
        input: Rc::new(input(&config.workload, seed)),
        watermarks: None,
    }
}

/// keyed-count as the registry knows it: it takes no parameters.
#[derive(Debug, Clone, Copy)]
pub struct Spec;

impl JobSpec for Spec {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "source -> key_by -> count: each record of a key yields the count of that key's records \
         so far (the reference job; no parameters)"
    }

    fn configure(&self, params: &toml::Table) -> Result<Arc<dyn JobModel>, ParamError> {
        match params.keys().next() {
            Some(field) => Err(ParamError {
                field: Some(field.clone()),
                message: format!("keyed-count takes no parameters, got `{field}`"),
            }),
            None => Ok(Arc::new(Model)),
        }
    }
}

/// keyed-count's model. Its record-level checkers (`check/records.rs`,
/// `check/cut.rs`) are what a run is judged by; this model states the same
/// properties over engine records, for code that handles every job alike.
#[derive(Debug, Clone, Copy)]
pub struct Model;

/// An output record typed: (key, count, origin).
type Typed = (u32, u64, Option<(u32, u64)>);

fn typed(r: &Record) -> Option<Typed> {
    let key = record::decode(&r.key).ok()?;
    let count = record::decode(&r.value).ok()?;
    Some((key, count, r.origin))
}

fn describe(r: &Record) -> String {
    match typed(r) {
        Some((key, count, Some((p, o)))) => {
            format!("key-{key} count {count} (partition {p}, offset {o})")
        }
        Some((key, count, None)) => format!("key-{key} count {count} (no origin)"),
        None => format!("undecodable output {:?}={:?}", r.key, r.value),
    }
}

impl Model {
    /// Each input record's output `at_least` once (exactly once unless
    /// `at_least`), by origin and key; and the counts of each key are
    /// `1..=n`, each once (exactly once only).
    fn check(&self, input: &[Vec<Record>], output: &[Record], at_least: bool) -> Vec<Finding> {
        let mut by_origin: BTreeMap<(u32, u64), Vec<&Record>> = BTreeMap::new();
        let mut findings = Vec::new();
        let finding = |r: &Record, kind, what: &str| Finding {
            key: r.key.to_vec(),
            value: r.value.to_vec(),
            kind,
            message: format!("{what}: {}", describe(r)),
        };
        for r in output {
            match r.origin {
                Some(origin) => by_origin.entry(origin).or_default().push(r),
                None => findings.push(finding(
                    r,
                    FindingKind::Unexpected { found: 1 },
                    "unexpected",
                )),
            }
        }
        let mut counts: BTreeMap<Vec<u8>, Vec<u64>> = BTreeMap::new();
        for (p, partition) in input.iter().enumerate() {
            for (o, r) in partition.iter().enumerate() {
                let origin = (p as u32, o as u64);
                let outs = by_origin.remove(&origin).unwrap_or_default();
                let found = outs.len() as u64;
                let same_key = outs.iter().all(|out| out.key == r.key);
                if found == 0 {
                    let missing = Record {
                        origin: Some(origin),
                        ..r.clone()
                    };
                    let kind = FindingKind::Missing { expected: 1, found };
                    findings.push(finding(&missing, kind, "missing"));
                } else if !same_key {
                    findings.push(finding(outs[0], FindingKind::WrongValue, "another key"));
                } else if found > 1 && !at_least {
                    let kind = FindingKind::Duplicated { expected: 1, found };
                    findings.push(finding(outs[0], kind, "duplicated"));
                }
                let values = outs.iter().filter_map(|out| typed(out).map(|t| t.1));
                counts.entry(r.key.to_vec()).or_default().extend(values);
            }
        }
        for outs in by_origin.into_values() {
            let kind = FindingKind::Unexpected {
                found: outs.len() as u64,
            };
            findings.push(finding(outs[0], kind, "unexpected"));
        }
        if !at_least {
            for (key, mut values) in counts {
                values.sort_unstable();
                if values.iter().zip(1..).any(|(v, n)| *v != n) {
                    let r = Record {
                        key: key.into(),
                        value: Vec::new().into(),
                        timestamp: 0,
                        origin: None,
                    };
                    let message = format!(
                        "wrong counts: key bytes {:?} counted {values:?}, not 1..={}",
                        r.key,
                        values.len()
                    );
                    findings.push(Finding {
                        message,
                        ..finding(&r, FindingKind::WrongValue, "")
                    });
                }
            }
        }
        findings
    }
}

impl JobModel for Model {
    fn name(&self) -> &'static str {
        NAME
    }

    fn params(&self) -> toml::Table {
        toml::Table::new()
    }

    fn graph(&self) -> JobGraph {
        graph()
    }

    fn job(&self, config: &JobConfig, seed: u64) -> Job {
        job(config, seed)
    }

    fn event_time(&self) -> bool {
        false
    }

    fn check_output(&self, input: &[Vec<Record>], output: &[Record]) -> Vec<Finding> {
        self.check(input, output, false)
    }

    fn check_output_at_least_once(&self, input: &[Vec<Record>], output: &[Record]) -> Vec<Finding> {
        self.check(input, output, true)
    }

    fn check_state(
        &self,
        input: &[Vec<Record>],
        offsets: &[u64],
        vertex: Vertex,
        state: &KeyedState,
        timers: &Timers,
    ) -> Vec<String> {
        let mut expected: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
        for (partition, &offset) in input.iter().zip(offsets) {
            for r in partition.iter().take(offset as usize) {
                *expected.entry(r.key.to_vec()).or_default() += 1;
            }
        }
        let mut wrong = Vec::new();
        if vertex.as_str() != "count" {
            wrong.push(format!("keyed-count has no keyed vertex {vertex}"));
        }
        if !timers.is_empty() {
            wrong.push(format!(
                "{} timers; keyed-count registers none",
                timers.len()
            ));
        }
        let got: BTreeMap<Vec<u8>, Option<u64>> = (state.iter())
            .map(|(k, v)| (k.clone(), record::decode(v).ok()))
            .collect();
        let keys: std::collections::BTreeSet<&Vec<u8>> =
            expected.keys().chain(got.keys()).collect();
        for key in keys {
            let (want, have) = (expected.get(key).copied(), got.get(key).copied().flatten());
            if want != have {
                let key =
                    record::decode::<u32>(key).map_or(format!("{key:?}"), |k| format!("key-{k}"));
                wrong.push(format!("{key}: count {have:?}, expected {want:?}"));
            }
        }
        wrong
    }

    fn output_json(&self, r: &Record) -> serde_json::Value {
        match typed(r) {
            Some((key, count, origin)) => serde_json::json!({
                "key": key,
                "count": count,
                "partition": origin.map(|o| o.0),
                "offset": origin.map(|o| o.1),
            }),
            None => serde_json::json!({ "key_bytes": r.key, "value_bytes": r.value }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> (Vec<Vec<Record>>, Vec<Record>) {
        let config = JobConfig::default();
        let input = input(&config.workload, 3);
        let mut counts: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
        let mut output = Vec::new();
        for partition in &input {
            for r in partition {
                let n = counts.entry(r.key.to_vec()).or_default();
                *n += 1;
                output.push(Record {
                    value: record::encode(&*n).unwrap(),
                    ..r.clone()
                });
            }
        }
        (input, output)
    }

    #[test]
    fn the_model_accepts_a_right_output_and_names_what_is_wrong() {
        let (input, output) = run();
        assert!(Model.check_output(&input, &output).is_empty());
        let mut dup = output.clone();
        dup.push(output[5].clone());
        let found = Model.check_output(&input, &dup);
        assert!(
            found
                .iter()
                .any(|f| matches!(f.kind, FindingKind::Duplicated { .. })),
            "{found:?}"
        );
        assert!(Model.check_output_at_least_once(&input, &dup).is_empty());
        let lost = &output[1..];
        let found = Model.check_output_at_least_once(&input, lost);
        assert!(
            found
                .iter()
                .any(|f| matches!(f.kind, FindingKind::Missing { .. })),
            "{found:?}"
        );
        let mut wrong = output.clone();
        wrong[7].value = record::encode(&999u64).unwrap();
        assert!(!Model.check_output(&input, &wrong).is_empty());
    }

    #[test]
    fn the_state_at_a_cut_is_the_count_of_each_key_before_it() {
        let (input, _) = run();
        let offsets = [10, 20];
        let mut state = KeyedState::new();
        for (p, &o) in input.iter().zip(&offsets) {
            for r in p.iter().take(o as usize) {
                let n = state
                    .entry(r.key.to_vec())
                    .or_insert(record::encode(&0u64).unwrap().to_vec());
                let next: u64 = record::decode::<u64>(n).unwrap() + 1;
                *n = record::encode(&next).unwrap().to_vec();
            }
        }
        let count = Vertex::named("count");
        assert_eq!(
            Model.check_state(&input, &offsets, count, &state, &Timers::new()),
            Vec::<String>::new()
        );
        assert!(!Model
            .check_state(&input, &[10, 21], count, &state, &Timers::new())
            .is_empty());
    }
}
