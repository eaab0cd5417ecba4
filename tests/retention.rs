//! Checkpoint retention (`[checkpoint] retained`, Flink's
//! `state.checkpoints.num-retained`): once a run without faults ends,
//! checkpoint storage holds the metadata of the newest `retained`
//! completed checkpoints and of no other (what
//! `RunOutcome::stored_checkpoints` lists; a checkpoint's state blobs go
//! in the same request as its metadata). A completion's compare-and-set
//! on the register deletes the checkpoints it subsumes in the same request
//! on one store; with replicas the jobmanager deletes them once the swap
//! has landed, on a task of its own, which the job's end (a round trip to
//! the sink later) does not wait for, but which lands first in these runs.
//! Either way a subsumed checkpoint that stays behind, or a retained one
//! that goes, fails here.

use flinch_engine::event::Event;
use flinch_harness::scenario::{builtin, parse, Scenario};
use flinch_harness::trace::What;
use flinch_harness::world::simulate;
use std::collections::BTreeSet;

const SEEDS: u64 = 3;

const TOPOLOGY: &str = "topology = { taskmanagers = 2, parallelism = 2 }";

/// `steady` (no faults) with these topology fields added (`store_replicas`,
/// `jobmanagers`) and these lines added to its file.
fn steady_with(topology_fields: &str, extra: &str) -> Scenario {
    let steady = (builtin().into_iter())
        .find(|b| b.name == "steady")
        .expect("steady is built in");
    assert!(steady.source.contains(TOPOLOGY), "steady's topology moved");
    let topology = format!("topology = {{ taskmanagers = 2, parallelism = 2{topology_fields} }}");
    let source = format!("{}\n{extra}\n", steady.source.replace(TOPOLOGY, &topology));
    parse(&source, "steady-retained.toml").expect("a valid scenario")
}

/// For each seed: the (checkpoint, epoch) storage holds after the run, and
/// the newest `retained` checkpoints the run completed (all in epoch 1: no
/// fault fails the job over).
fn stored_and_newest(scenario: &Scenario, retained: usize) {
    for seed in 0..SEEDS {
        let outcome = simulate(scenario, seed).expect("the run completes");
        let completed: Vec<u64> = (outcome.trace.iter())
            .filter_map(|e| match &e.what {
                What::Engine(Event::CheckpointCompleted { checkpoint, .. }) => Some(*checkpoint),
                _ => None,
            })
            .collect();
        assert!(
            completed.len() > retained,
            "seed {seed}: only {} checkpoints completed, so none was subsumed",
            completed.len()
        );
        let newest: BTreeSet<(u64, u64)> = (completed.iter().rev().take(retained))
            .map(|&c| (c, 1))
            .collect();
        assert_eq!(outcome.stored_checkpoints, newest, "seed {seed}");
    }
}

#[test]
fn one_store_keeps_the_one_retained_checkpoint() {
    stored_and_newest(&steady_with("", ""), 1);
}

#[test]
fn one_store_keeps_the_three_retained_checkpoints() {
    stored_and_newest(&steady_with("", "[checkpoint]\nretained = 3"), 3);
}

#[test]
fn replicas_keep_the_retained_checkpoints() {
    let replicas = ", store_replicas = 3";
    stored_and_newest(&steady_with(replicas, "[checkpoint]\nretained = 2"), 2);
}

/// With standby jobmanagers the leader deletes what its swap subsumed only
/// once it knows it still leads (a deposed leader's quorum swap may be
/// outranked by the new leader's fence): in a run without faults it always
/// leads, and deletes.
#[test]
fn replicas_under_a_leader_keep_the_retained_checkpoints() {
    let ha = ", store_replicas = 3, jobmanagers = 2";
    stored_and_newest(&steady_with(ha, "[checkpoint]\nretained = 2"), 2);
}
