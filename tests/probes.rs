//! No dead probes: every probe of the engine's catalogue
//! (`flinch_engine::probe::Probe::ALL`) is required by some built-in
//! scenario's `[expect] sometimes`, and a seed of that scenario really hits
//! it; every built-in fault scenario requires some probe.
//!
//! One witness seed per probe keeps this cheap in a debug build (the
//! shares themselves are judged by `flinch run NAME --seeds 0..200`, see
//! README.md "Coverage probes"). A witness that stops hitting its probe
//! after an engine change is a failing test: run the scenario's sweep and
//! take a seed from the probe table's "first seeds".

use flinch_engine::probe::Probe;
use flinch_harness::coverage::probes_hit;
use flinch_harness::scenario::{builtin, load};
use flinch_harness::seed::run_seed;

/// (probe, a scenario that requires it, a seed of that scenario that hits it)
const WITNESSES: [(Probe, &str, u64); 40] = [
    (Probe::WriteFenced, "partition-taskmanager-jobmanager", 0),
    (
        Probe::ZombieDataFenced,
        "partition-taskmanager-jobmanager",
        0,
    ),
    (Probe::CheckpointAbortedTimeout, "checkpoint-expires", 0),
    (Probe::CheckpointAbortedDeclined, "store-write-errors", 1),
    (Probe::CheckpointAbortedStorage, "store-unsynced-loss", 0),
    (Probe::TolerableFailuresExceeded, "store-write-errors", 1),
    (Probe::ChannelHeldForAlignment, "stall-during-alignment", 0),
    (Probe::SnapshotPastBarrier, "at-least-once-crash", 0),
    (Probe::ChannelSilent, "partition-between-taskmanagers", 0),
    (
        Probe::RecoveredTxnCommitted,
        "crash-between-precommit-and-commit",
        0,
    ),
    (Probe::RecoveredTxnAlreadyCommitted, "taskmanager-crash", 2),
    (Probe::StaleTxnsAborted, "crash-during-checkpoint", 0),
    (Probe::CorruptReadRetried, "checkpoint-read-corruption", 0),
    (Probe::StateUploadRetried, "store-write-errors", 0),
    (
        Probe::TaskManagerHeartbeatTimeout,
        "partition-taskmanager-jobmanager",
        0,
    ),
    (
        Probe::JobManagerHeartbeatTimeout,
        "partition-taskmanager-jobmanager",
        0,
    ),
    (
        Probe::UnknownOutcomeCompleted,
        "register-write-unknown-outcome",
        0,
    ),
    (
        Probe::UnknownOutcomeAborted,
        "register-write-unknown-outcome",
        1,
    ),
    (
        Probe::RegisterConflictAdopted,
        "register-write-unknown-outcome",
        0,
    ),
    (Probe::StoreWriteLate, "metadata-lands-after-timeout", 0),
    (Probe::TimersRestored, "windowed-crash-mid-window", 0),
    (Probe::JobManagerRecoveredCheckpoints, "jobmanager-crash", 0),
    (Probe::RestartsExhausted, "restarts-exhausted", 0),
    (Probe::RecoveryImpossible, "store-disk-loss", 0),
    (Probe::TxnTimedOut, "transaction-timeout-during-recovery", 0),
    (
        Probe::TxnLostAfterTimeout,
        "transaction-timeout-loss-accepted",
        0,
    ),
    (
        Probe::LocalStateRestored,
        "taskmanager-disk-loss-local-recovery",
        2,
    ),
    (
        Probe::LocalStateFallback,
        "local-copy-stale-after-unclean-crash",
        0,
    ),
    (
        Probe::InlineStateRestored,
        "taskmanager-crash-inline-state",
        0,
    ),
    (Probe::StoreReplicaRepaired, "store-replica-disk-loss", 0),
    (
        Probe::StoreQuorumWithoutReplica,
        "store-replica-disk-loss",
        0,
    ),
    (
        Probe::CheckpointFallback,
        "checkpoint-unreadable-fallback",
        0,
    ),
    (
        Probe::CheckpointFallbackRefused,
        "checkpoint-unreadable-after-commit",
        0,
    ),
    (Probe::JobManagerTakeover, "jobmanager-failover-standby", 0),
    (
        Probe::LeaderLeaseExpired,
        "jobmanager-leader-partitioned-from-ha",
        0,
    ),
    (Probe::LeaderFenced, "jobmanager-leader-paused", 14),
    (Probe::KeyedStateRescaled, "rescale-up", 0),
    (Probe::RemovedSubtaskTxnsAborted, "rescale-down", 0),
    (Probe::StopWithSavepointFailed, "crash-during-savepoint", 0),
    (
        Probe::TriggerNotAllTasksRunning,
        "partition-taskmanager-jobmanager",
        0,
    ),
];

#[test]
fn the_witnesses_cover_the_catalogue_once_each() {
    let listed: Vec<Probe> = WITNESSES.iter().map(|w| w.0).collect();
    assert_eq!(listed, Probe::ALL.to_vec());
}

#[test]
fn every_probe_is_required_and_every_fault_scenario_requires_one() {
    // Some built-in scenarios run jobs of the root crate's registry.
    flinch::jobs::install();
    let mut required = std::collections::BTreeSet::new();
    for entry in builtin() {
        let scenario = load(entry.name).expect("built-in scenarios load");
        // A lifecycle's stops and resumes take fault-handling paths too.
        let has_faults = !scenario.faults.is_empty()
            || scenario.nemesis.is_some()
            || !scenario.lifecycle.is_empty();
        assert_eq!(
            has_faults,
            !scenario.sometimes.is_empty(),
            "{}: a fault or lifecycle scenario declares the probes it exists for, a fault-free \
             one none",
            entry.name
        );
        required.extend(scenario.sometimes.iter().map(|s| s.probe));
    }
    let dead: Vec<&str> = Probe::ALL
        .into_iter()
        .filter(|p| !required.contains(p))
        .map(Probe::name)
        .collect();
    assert!(dead.is_empty(), "no built-in scenario requires {dead:?}");
}

#[test]
fn every_probe_is_hit_by_a_seed_of_a_scenario_that_requires_it() {
    flinch::jobs::install();
    for (probe, name, seed) in WITNESSES {
        let scenario = load(name).expect("built-in scenarios load");
        assert!(
            scenario.sometimes.iter().any(|s| s.probe == probe),
            "{name} does not require {probe}"
        );
        let report = run_seed(&scenario, seed);
        assert!(
            report.passed,
            "{name} seed {seed}: {:#?}",
            report.violations
        );
        assert!(
            probes_hit(&report.trace).contains(&probe),
            "{name} seed {seed} no longer hits {probe}: run `flinch run {name} --seeds 0..200` \
             and take a seed from its probe table"
        );
    }
}
