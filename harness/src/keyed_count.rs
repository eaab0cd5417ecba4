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

use flinch_engine::config::{JobConfig, WorkloadConfig};
use flinch_engine::graph::{Job, JobGraph};
use flinch_engine::job::Plan;
use flinch_engine::operator::{Context, Operator};
use flinch_engine::record::Record;
use flinch_engine::workload;
use std::rc::Rc;

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
