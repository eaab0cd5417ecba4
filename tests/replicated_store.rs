//! Replicated checkpoint storage (`topology.store_replicas`): a replica
//! that lost its disk is repaired from the others before it votes again,
//! writes go on at a majority while one replica is away, a register read
//! takes the newest copy of a majority, and the loss of every replica's
//! disk fails the job naming the lost checkpoints. The planted bugs
//! `durable-at-one-replica` and `stale-register-read` are caught by
//! `tests/planted_bugs.rs` with the rest.

use flinch_engine::event::Event;
use flinch_engine::io::addr;
use flinch_harness::scenario::{load, parse, topology_hosts};
use flinch_harness::seed::run_seed;
use flinch_harness::trace::{TraceEvent, What};

const SEEDS: u64 = 8;

/// (host, from, complete) of every repair in a trace.
fn repairs(trace: &[TraceEvent]) -> Vec<(String, Vec<String>, bool)> {
    (trace.iter())
        .filter_map(|e| match &e.what {
            What::Engine(Event::StoreReplicaRepaired { from, complete, .. }) => {
                Some((e.host.clone(), from.clone(), *complete))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn a_replica_that_lost_its_disk_is_repaired_from_both_others() {
    let scenario = load("store-replica-disk-loss").expect("built in");
    for seed in 0..SEEDS {
        let report = run_seed(&scenario, seed);
        assert!(report.passed, "seed {seed}: {:?}", report.violations);
        let from = vec!["store-1".to_owned(), "store-3".to_owned()];
        assert_eq!(
            repairs(&report.trace),
            [("store-2".to_owned(), from, true)],
            "seed {seed}"
        );
    }
}

#[test]
fn with_two_replicas_cut_off_no_checkpoint_completes() {
    let scenario = load("store-replica-disk-loss-during-checkpoint").expect("built in");
    for seed in 0..SEEDS {
        let report = run_seed(&scenario, seed);
        assert!(report.passed, "seed {seed}: {:?}", report.violations);
        // store-2 and store-3 are cut off from 300ms to 1.5s: nothing
        // completed in that window (bar a completion whose writes had all
        // landed before the cut, announced within a few ms of it).
        let completed_inside = report.trace.iter().any(|e| {
            let inside = e.at.as_millis() > 320 && e.at.as_millis() < 1_500;
            inside && matches!(e.what, What::Engine(Event::CheckpointCompleted { .. }))
        });
        assert!(!completed_inside, "seed {seed}");
    }
}

#[test]
fn losing_every_replica_fails_the_job_naming_the_lost_checkpoints() {
    let scenario = load("all-replicas-lost").expect("built in");
    for seed in 0..SEEDS {
        let report = run_seed(&scenario, seed);
        assert!(report.passed, "seed {seed}: {:?}", report.violations);
        let reason = report.trace.iter().find_map(|e| match &e.what {
            What::Engine(Event::JobState(flinch_engine::event::JobState::Failed { reason })) => {
                Some(reason.clone())
            }
            _ => None,
        });
        let reason = reason.expect("the job failed");
        assert!(reason.contains("checkpoints ["), "seed {seed}: {reason}");
        // No replica could be repaired from one that held data.
        assert!(
            repairs(&report.trace)
                .iter()
                .all(|(_, _, complete)| !complete),
            "seed {seed}"
        );
    }
}

#[test]
fn replicated_topologies_name_their_store_hosts() {
    assert_eq!(addr::stores(1), ["store"]);
    assert_eq!(addr::stores(3), ["store-1", "store-2", "store-3"]);
    let scenario = load("store-replica-disk-loss").expect("built in");
    let hosts = topology_hosts(&scenario.config.topology);
    assert!(hosts.contains(&"store-3".to_owned()) && !hosts.contains(&"store".to_owned()));
}

#[test]
fn store_replicas_must_be_odd_and_at_most_seven() {
    let scenario = |replicas: u32| {
        format!(
            "name = \"r\"\ndescription = \"r\"\njob = {{ name = \"keyed-count\" }}\n\
             topology = {{ store_replicas = {replicas} }}\n[expect]\noutcome = \"exactly-once\"\n"
        )
    };
    assert!(parse(&scenario(5), "r.toml").is_ok());
    let even = parse(&scenario(2), "r.toml").unwrap_err().to_string();
    assert!(
        even.contains("topology.store_replicas") && even.contains("must be odd"),
        "{even}"
    );
    let many = parse(&scenario(9), "r.toml").unwrap_err().to_string();
    assert!(many.contains("must be at most 7"), "{many}");
    let fault_on_store = format!(
        "{}[[fault]]\nkind = \"crash\"\nhost = \"store\"\nat = \"1s\"\n",
        scenario(3)
    );
    let err = parse(&fault_on_store, "r.toml").unwrap_err().to_string();
    assert!(err.contains("store"), "{err}");
}
