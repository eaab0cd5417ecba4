//! A user's job, tested for exactly-once with flinch (README, "Test your own job"): each key of
//! the input is emitted once, the first time it comes.
use flinch::{Context, Finding, Job, JobGraph, Operator, Record};

/// One key's state: whether the key was emitted.
#[derive(Default, serde::Serialize, serde::Deserialize)]
pub struct Seen {
    emitted: bool,
}

/// Emits a key the first time it comes, never again.
pub struct FirstOfKey;

impl Operator for FirstOfKey {
    type Key = u32;
    type In = ();
    type OutKey = u32;
    type Out = ();
    type State = Seen;

    fn process(&mut self, key: &u32, _: (), state: &mut Seen, ctx: &mut Context<'_, u32, ()>) {
        if !state.emitted {
            state.emitted = true;
            ctx.emit(*key, ());
        }
    }
}

/// The job and its model: every key of the input committed exactly once.
#[derive(Debug)]
pub struct DistinctKeys;

impl Job for DistinctKeys {
    fn name(&self) -> &'static str {
        "distinct-keys"
    }

    fn graph(&self) -> JobGraph {
        let graph = JobGraph::source("source").and_then(|s| s.key_by("first", || FirstOfKey));
        graph.expect("distinct vertex names").build()
    }

    fn check_output(&self, input: &[Vec<Record>], output: &[Record]) -> Vec<Finding> {
        // Each key of the input once, with `()`'s bytes (none) as its value.
        let keys = input.iter().flatten().map(|r| r.key.to_vec());
        let expected = keys.map(|key| ((key, Vec::new()), 1)).collect();
        flinch::check_multiset(expected, output, |key, _| format!("key {key:?}"))
    }
}
