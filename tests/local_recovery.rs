//! Task-local recovery (`[checkpoint] local_recovery`): a restore reads the
//! task's local copy when it matches the completed checkpoint's handle, and
//! checkpoint storage when it does not. Both paths occur, each restores the
//! state the checkpoint holds (the recovered-state checker passes), and a
//! scenario without local recovery takes neither.

use flinch_engine::event::Event;
use flinch_engine::probe::Probe;
use flinch_harness::scenario::load;
use flinch_harness::seed::run_seed;
use flinch_harness::trace::{TraceEvent, What};

const SEEDS: u64 = 8;

/// The (host, probe) of every local-recovery probe in a trace.
fn local_probes(trace: &[TraceEvent]) -> Vec<(String, Probe)> {
    (trace.iter())
        .filter_map(|e| match &e.what {
            What::Engine(Event::Probe { probe })
                if matches!(probe, Probe::LocalStateRestored | Probe::LocalStateFallback) =>
            {
                Some((e.host.clone(), *probe))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn a_taskmanager_that_lost_its_disk_reads_the_store_and_the_other_its_copies() {
    let scenario = load("taskmanager-disk-loss-local-recovery").expect("built in");
    let (mut local, mut fallback) = (0, 0);
    for seed in 0..SEEDS {
        let report = run_seed(&scenario, seed);
        assert!(report.passed, "seed {seed}: {:?}", report.violations);
        for (host, probe) in local_probes(&report.trace) {
            match probe {
                // The disk is gone: nothing local to read on taskmanager-1.
                Probe::LocalStateRestored => {
                    assert_eq!(host, "taskmanager-2", "seed {seed}");
                    local += 1;
                }
                _ => fallback += 1,
            }
        }
    }
    assert!(
        local > 0 && fallback > 0,
        "{local} local, {fallback} fallback"
    );
}

#[test]
fn a_copy_of_a_checkpoint_that_never_completed_is_refused() {
    let scenario = load("local-copy-stale-after-unclean-crash").expect("built in");
    for seed in 0..SEEDS {
        let report = run_seed(&scenario, seed);
        assert!(report.passed, "seed {seed}: {:?}", report.violations);
        // taskmanager-2 kept checkpoint 3's copy of count[1]; the job
        // restores checkpoint 2, so that task reads the store.
        let refused = local_probes(&report.trace)
            .into_iter()
            .any(|(host, p)| host == "taskmanager-2" && p == Probe::LocalStateFallback);
        assert!(refused, "seed {seed}");
    }
}

#[test]
fn without_local_recovery_no_restore_looks_for_a_copy() {
    let scenario = load("taskmanager-disk-loss").expect("built in");
    assert!(!scenario.config.checkpoint.local_recovery);
    for seed in 0..SEEDS {
        let report = run_seed(&scenario, seed);
        assert!(report.passed, "seed {seed}: {:?}", report.violations);
        assert_eq!(local_probes(&report.trace), [], "seed {seed}");
    }
}
