//! Regression cases: every scenario file in `tests/regressions/` meets its
//! expectation on every seed of its `[seeds] range`.
//!
//! A failing `flinch run` seed becomes one with a single command (README,
//! "Turning a failing seed into a regression case"):
//!
//! ```sh
//! flinch shrink nemesis-mixed --seed 417 > tests/regressions/nemesis-mixed-417.toml
//! ```
//!
//! `flinch shrink` prints the scenario with its shrunk plan written out and
//! `[seeds] range = "417..418"`, so the file replays exactly the failing
//! run: this suite fails until the bug is fixed, and guards the fix from
//! then on. Edit the description to say what the case is about.
//!
//! A case that pins seeds for a moment of their timing turns vacuous when a
//! change of the engine's timing moves every trace: its seeds pass, but no
//! longer reach that moment. Every case says how it is guarded, and
//! `every_case_is_guarded` holds each to one of three:
//!
//! - an `[expect] sometimes` probe that marks the moment: here each one
//!   must be hit by at least one of the case's seeds (too few for the share
//!   a sweep judges);
//! - where no probe marks it, a [`Moment`] below: a test of one seed's run
//!   (its trace, in the terms the case's description uses), which at least
//!   one of the case's seeds must pass. Where the trace shows only part of
//!   the moment (a disk error that struck one operation leaves no event),
//!   the moment's text says which part it tests;
//! - [`BY_CONSTRUCTION`]: a plan whose faults land at fixed times with
//!   certainty reaches its moment on every seed whatever the timing, and
//!   says why.

use flinch_engine::event::{Event, JobState};
use flinch_engine::probe::Probe;
use flinch_harness::coverage::probes_hit;
use flinch_harness::scenario::{load, Scenario};
use flinch_harness::seed::{run_seed, SeedReport};
use flinch_harness::trace::{FaultEvent, TraceEvent, What};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn regression_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_regression_case_meets_its_expectation() {
    // A case may run any built-in job: every job but keyed-count is the
    // root crate's.
    flinch::jobs::install();
    let files = regression_files();
    assert!(!files.is_empty(), "tests/regressions/ holds no cases");
    let failures: Vec<String> = (files.iter())
        .flat_map(|file| case_failures(file.to_str().expect("a UTF-8 path")))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A case whose seeds all pass but none hits a probe its `sometimes`
/// requires is vacuous, and fails.
#[test]
fn a_case_whose_seeds_miss_its_sometimes_probe_fails() {
    let failures = failures_of_edited(
        "steady-fenced",
        include_str!("../scenarios/steady.toml"),
        "[expect]\noutcome = \"exactly-once\"",
        "[expect]\noutcome = \"exactly-once\"\nsometimes = [\"write-fenced\"]\n\n[seeds]\nrange = \"0..2\"",
    );
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(
        failures[0].contains("no seed of 0..2 hits `write-fenced`"),
        "{failures:?}"
    );
}

/// [`case_failures`] of `original` with `from` replaced by `to`, written
/// to a temporary `name.toml` (a case's moment is found by its file name).
fn failures_of_edited(name: &str, original: &str, from: &str, to: &str) -> Vec<String> {
    let text = original.replace(from, to);
    assert_ne!(text, original, "`{from}` was not found");
    let dir =
        std::env::temp_dir().join(format!("flinch-regressions-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let file = dir.join(format!("{name}.toml"));
    std::fs::write(&file, text).expect("written");
    let failures = case_failures(file.to_str().expect("a UTF-8 path"));
    std::fs::remove_dir_all(&dir).expect("removed");
    failures
}

/// What is wrong with the case at `path`: each failing seed, and each
/// `[expect] sometimes` probe none of its seeds hit.
fn case_failures(path: &str) -> Vec<String> {
    let scenario = load(path).unwrap_or_else(|e| panic!("{e}"));
    let mut failures = Vec::new();
    let mut unhit: Vec<_> = scenario.sometimes.iter().map(|s| s.probe).collect();
    let moment = moment_of(Path::new(path));
    let mut reached = false;
    for seed in scenario.seeds {
        let report = run_seed(&scenario, seed);
        let hit = probes_hit(&report.trace);
        unhit.retain(|probe| !hit.contains(probe));
        reached |= moment.is_some_and(|m| (m.reached)(&scenario, &report));
        if !report.passed {
            let first = report.violations.first().map(|v| v.to_string());
            failures.push(format!(
                "{path} seed {seed}: {} violation(s), first: {}\n  replay: flinch replay {path} --seed {seed}",
                report.violations.len(),
                first.unwrap_or_default()
            ));
        }
    }
    if let Some(moment) = moment.filter(|_| !reached) {
        failures.push(format!(
            "{path}: no seed of {} reaches the moment the case was written for ({}): \
             the case no longer tests it; pick seeds that do",
            scenario.seeds, moment.what
        ));
    }
    for probe in unhit {
        failures.push(format!(
            "{path}: no seed of {} hits `{}`, which `[expect] sometimes` requires: \
             the case no longer reaches the moment it was written for; pick seeds that do",
            scenario.seeds,
            probe.name()
        ));
    }
    failures
}

/// The moment a case was written for, where no probe marks it.
struct Moment {
    /// The case's file name, without `.toml`.
    case: &'static str,
    /// The moment, as the case's description tells it.
    what: &'static str,
    /// Whether one seed's run reached it.
    reached: fn(&Scenario, &SeedReport) -> bool,
}

/// The moment of the cases of a restart strategy on a drifting
/// jobmanager clock.
const DECIDED_ON_A_DRIFTING_CLOCK: &str = "a failover on which the restart strategy decides \
    otherwise on the jobmanager's drifting clock than it would in simulated time";

const MOMENTS: &[Moment] = &[
    Moment {
        case: "restart-strategy-on-a-fast-jobmanager-clock",
        what: DECIDED_ON_A_DRIFTING_CLOCK,
        reached: decided_otherwise_on_a_drifting_clock,
    },
    Moment {
        case: "backoff-reset-on-a-fast-jobmanager-clock",
        what: DECIDED_ON_A_DRIFTING_CLOCK,
        reached: decided_otherwise_on_a_drifting_clock,
    },
    Moment {
        case: "failure-rate-gives-up-on-a-slow-jobmanager-clock",
        what: DECIDED_ON_A_DRIFTING_CLOCK,
        reached: decided_otherwise_on_a_drifting_clock,
    },
    Moment {
        case: "checkpoints-as-long-as-their-interval",
        what:
            "the final checkpoint completes an interval or more after its trigger, when the next \
               trigger is already due",
        reached: final_checkpoint_completes_overdue,
    },
    Moment {
        case: "at-least-once-checkpoints-as-long-as-their-interval",
        what:
            "the final checkpoint completes an interval or more after its trigger, when the next \
               trigger is already due",
        reached: final_checkpoint_completes_overdue,
    },
    Moment {
        case: "many-channels-redeployed-at-once",
        what: "after the crash, the job runs again at a later attempt: every source has \
               connected all its channels anew",
        reached: running_again_after_a_failover,
    },
    Moment {
        case: "rescaled-to-one-recommits-past-the-keepalive",
        what: "after its key groups are restored, the one count subtask re-commits restored \
               transactions for longer than the channel keepalive timeout",
        reached: recommits_outlast_the_keepalive,
    },
    Moment {
        case: "stop-with-savepoint-during-a-long-restore",
        what: STOP_DURING_A_RESTORE,
        reached: stop_asked_while_a_subtask_restores,
    },
    Moment {
        case: "stop-asked-during-a-restore-outlasting-the-input",
        what: STOP_DURING_A_RESTORE,
        reached: stop_asked_while_a_subtask_restores,
    },
    Moment {
        case: "stop-asked-while-a-plain-savepoint-is-under-way",
        what: "the stop is asked for after a plain savepoint is triggered and before it \
               completes, and the stop's savepoint is triggered after that completion",
        reached: stop_queued_behind_a_plain_savepoint,
    },
    Moment {
        case: "savepoint-outlasted-by-a-newer-checkpoint",
        what: "a checkpoint triggered after a plain savepoint completes while the savepoint is \
               pending, and the savepoint later completes or is aborted",
        reached: savepoint_outlasts_a_newer_checkpoint,
    },
    Moment {
        case: "nemesis-past-a-drained-stop",
        what: "the run ends before the time of a fault the nemesis drew",
        reached: a_drawn_fault_never_fired,
    },
    Moment {
        case: "stop-asked-before-the-job-is-deployed",
        what: "the stop is asked for before run 1's tasks are deployed, and its savepoint is \
               triggered",
        reached: stop_asked_before_the_first_deploy,
    },
    Moment {
        case: "final-checkpoint-then-one-more-trigger",
        what: "a checkpoint is triggered before the final one completes",
        reached: checkpoint_triggered_before_the_final_completes,
    },
    Moment {
        case: "deposed-leader-traced-an-abort",
        what: "a leader triggers a checkpoint, loses its lease before completing it, and the next \
               leader completes and later restores a checkpoint of the same id",
        reached: deposed_leaders_checkpoint_id_completed_by_the_next,
    },
    Moment {
        case: "disk-wipe-left-nested-removals-unsynced",
        what:
            "a store replica whose disk was wiped crashes again (a plain crash, not another disk \
               loss) before it is repaired",
        reached: wiped_store_replica_crashes_again_before_its_repair,
    },
    Moment {
        case: "ha-store-gone-for-good",
        what: "a jobmanager steps down because it could not recover the job from checkpoint \
               storage, is elected again, and the job fails",
        reached: leader_that_stepped_down_is_elected_again_and_the_job_fails,
    },
    Moment {
        case: "drained-attempts-final-checkpoint-restored",
        what: "a failover restores a drained savepoint, the attempt completes a checkpoint, and a \
               second failover restores that checkpoint",
        reached: drained_attempts_checkpoint_restored,
    },
    Moment {
        case: "drained-savepoint-restored-without-its-completion-traced",
        what: "a drained savepoint is triggered, the jobmanager crashes before any \
               `savepoint_completed` of it, and a task restores it",
        reached: drained_savepoint_restored_without_its_completion,
    },
    Moment {
        case: "replica-repair-reused-a-timed-out-connection",
        what: "a store replica's link to a peer stalls while the replica is repairing (after its \
               restart, before its repair ends), and the repair, copying from that peer, ends an \
               RPC timeout or more after the stall began (the trace does not show the timed-out \
               call itself)",
        reached: repair_outlasts_a_stall_by_the_rpc_timeout,
    },
    Moment {
        case: "replica-repair-skipped-an-unreadable-blob",
        what: "a store replica's repair copies from a peer whose reads are being corrupted (the \
               trace does not show which reads failed their check)",
        reached: repair_reads_a_corrupting_peer,
    },
    Moment {
        case: "plain-savepoint-replaced-a-stop-under-way",
        what: "a plain savepoint is asked for after a stop-with-savepoint is asked and before its \
               savepoint completes",
        reached: savepoint_asked_while_a_stop_is_under_way,
    },
    Moment {
        case: "savepoints-on-events-across-a-stop",
        what: "a plain savepoint is asked for after a stop-with-savepoint is asked and before its \
               savepoint completes",
        reached: savepoint_asked_while_a_stop_is_under_way,
    },
    Moment {
        case: "stale-client-stops-the-resumed-run",
        what: "the client crashes while the stop's savepoint is in flight, and restarts after the \
               resume",
        reached: client_crashes_mid_stop_and_restarts_after_the_resume,
    },
    Moment {
        case: "store-stalled-a-minute",
        what: "connection requests find the store's accept queue full and are refused",
        reached: |_, report| report.refused_connections > 0,
    },
    Moment {
        case: "timed-out-txn-pending-copy-left-by-disk-errors",
        what: "the sink times out a transaction while its disk is failing operations (the trace \
               does not show whether the removal of the pending copy was one that failed)",
        reached: txn_times_out_under_disk_errors,
    },
];

/// Cases whose plan reaches their moment on every seed, whatever the
/// timing, and why (or, where a trace cannot show the moment, what guards
/// it instead).
/// The moment of both cases of a stop asked during a restore.
const STOP_DURING_A_RESTORE: &str = "the client asks for the stop while the resumed run's count \
     subtask is still re-committing restored transactions; the stop's savepoint is triggered after \
     the last of them and completes";

const BY_CONSTRUCTION: &[(&str, &str)] = &[
    (
        "ha-io-errors-then-crash-at-start",
        "every operation of ha's disk fails (probability 1) from 0 to 300 ms, and ha crashes at \
         100 ms and restarts at 200 ms: its first start cannot write the marker, and it restarts \
         before it can grant a lease",
    ),
    (
        "latency-floor-outlives-a-lower-ceiling",
        "the faults start and heal at fixed times: the second (600 ms to 700 ms, ceiling 50 ms) \
         lies inside the first (500 ms to 2.5 s, floor 300 ms)",
    ),
];

fn moment_of(path: &Path) -> Option<&'static Moment> {
    let case = path.file_stem()?.to_str()?;
    MOMENTS.iter().find(|m| m.case == case)
}

/// Each case has a `sometimes`, a [`Moment`] or a [`BY_CONSTRUCTION`]
/// entry, and each entry names a case that exists.
#[test]
fn every_case_is_guarded() {
    flinch::jobs::install();
    let files = regression_files();
    let stem = |file: &PathBuf| {
        let stem = file.file_stem().and_then(|s| s.to_str());
        stem.expect("a UTF-8 file name").to_string()
    };
    let cases: Vec<String> = files.iter().map(stem).collect();
    let named = (MOMENTS.iter().map(|m| m.case)).chain(BY_CONSTRUCTION.iter().map(|b| b.0));
    for case in named {
        assert!(
            cases.iter().any(|c| c == case),
            "tests/regressions.rs names `{case}`, which tests/regressions/ does not hold"
        );
    }
    let unguarded: Vec<&String> = (files.iter().zip(&cases))
        .filter(|(file, case)| {
            let scenario =
                load(file.to_str().expect("a UTF-8 path")).unwrap_or_else(|e| panic!("{e}"));
            scenario.sometimes.is_empty()
                && moment_of(file).is_none()
                && !BY_CONSTRUCTION.iter().any(|b| b.0 == case.as_str())
        })
        .map(|(_, case)| case)
        .collect();
    assert!(
        unguarded.is_empty(),
        "regression cases with no guard of their moment (an `[expect] sometimes` probe, a \
         `Moment` or a `BY_CONSTRUCTION` entry in tests/regressions.rs): {unguarded:?}"
    );
}

/// A case whose seeds all pass but none reaches its moment is vacuous, and
/// fails: checkpoints-as-long-as-their-interval with an interval far longer
/// than a checkpoint takes.
#[test]
fn a_case_whose_seeds_miss_its_moment_fails() {
    let failures = failures_of_edited(
        "checkpoints-as-long-as-their-interval",
        include_str!("regressions/checkpoints-as-long-as-their-interval.toml"),
        "interval = \"20ms\"",
        "interval = \"1s\"",
    );
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(
        failures[0].contains("no seed of 0..6 reaches the moment the case was written for"),
        "{failures:?}"
    );
}

/// The engine events of a run with their time and host, in order.
fn engine(report: &SeedReport) -> impl Iterator<Item = (Duration, &str, &Event)> {
    report
        .trace
        .iter()
        .filter_map(|e: &TraceEvent| match &e.what {
            What::Engine(event) => Some((e.at, e.host.as_str(), event)),
            What::Fault(_) => None,
        })
}

/// The faults and lifecycle steps of a run with their position in the
/// trace, time and host.
fn faults(report: &SeedReport) -> impl Iterator<Item = (usize, Duration, &str, &FaultEvent)> {
    report
        .trace
        .iter()
        .enumerate()
        .filter_map(|(i, e)| match &e.what {
            What::Fault(fault) => Some((i, e.at, e.host.as_str(), fault)),
            What::Engine(_) => None,
        })
}

/// Where in the trace, and when, each engine event matching `pick` is.
fn positions(
    report: &SeedReport,
    pick: impl Fn(&str, &Event) -> bool,
) -> std::vec::IntoIter<(usize, Duration)> {
    (report.trace.iter().enumerate())
        .filter_map(|(i, e)| match &e.what {
            What::Engine(event) if pick(&e.host, event) => Some((i, e.at)),
            _ => None,
        })
        .collect::<Vec<_>>()
        .into_iter()
}

/// The savepoint whose `savepoint_triggered` is at position `i` of the
/// trace: its id, and where its `savepoint_completed` is (`None`: never).
fn savepoint_at(report: &SeedReport, i: usize) -> Option<(u64, Option<usize>)> {
    let What::Engine(Event::SavepointTriggered { checkpoint: id, .. }) = report.trace[i].what
    else {
        return None;
    };
    let completed = positions(
        report,
        |_, e| matches!(e, Event::SavepointCompleted { checkpoint } if *checkpoint == id),
    )
    .map(|(j, _)| j)
    .find(|j| *j > i);
    Some((id, completed))
}

/// The final checkpoint: the first completed whose offsets add up to the
/// whole input. Its id and where its completion is in the trace.
fn final_checkpoint(report: &SeedReport) -> Option<(u64, usize, Duration)> {
    report
        .trace
        .iter()
        .enumerate()
        .find_map(|(i, e)| match &e.what {
            What::Engine(Event::CheckpointCompleted {
                checkpoint,
                offsets,
            }) if offsets.iter().sum::<u64>() == report.records => Some((*checkpoint, i, e.at)),
            _ => None,
        })
}

fn final_checkpoint_completes_overdue(scenario: &Scenario, report: &SeedReport) -> bool {
    let Some((id, _, completed)) = final_checkpoint(report) else {
        return false;
    };
    let triggered = engine(report).find_map(|(at, _, e)| {
        matches!(e, Event::CheckpointTriggered { checkpoint, .. } if *checkpoint == id)
            .then_some(at)
    });
    triggered.is_some_and(|t| completed - t >= scenario.config.checkpoint.interval)
}

/// Whether some failover's decision by the scenario's restart strategy,
/// fed the failovers in order, differs between their times on the clock of
/// the host that traced them and their simulated times.
fn decided_otherwise_on_a_drifting_clock(scenario: &Scenario, report: &SeedReport) -> bool {
    use flinch_harness::check::clocks::HostClocks;
    use flinch_harness::check::restart_model::RestartModel;
    let clocks = HostClocks::of(&report.trace);
    let config = &scenario.config.restart;
    let (mut on_its_clock, mut simulated) = (RestartModel::new(config), RestartModel::new(config));
    let ms = |at: Duration| at.as_millis() as u64;
    report.trace.iter().any(|e| {
        matches!(e.what, What::Engine(Event::Failover { .. }))
            && on_its_clock.on_failure(ms(clocks.local(&e.host, e.at)), None)
                != simulated.on_failure(ms(e.at), None)
    })
}

fn running_again_after_a_failover(_: &Scenario, report: &SeedReport) -> bool {
    positions(
        report,
        |_, e| matches!(e, Event::JobState(JobState::Running { epoch }) if *epoch > 1),
    )
    .next()
    .is_some()
}

fn stop_asked_while_a_subtask_restores(_: &Scenario, report: &SeedReport) -> bool {
    let stops = faults(report).filter(
        |(.., f)| matches!(f, FaultEvent::JobStopped { run: 2, with } if with == "savepoint"),
    );
    let recommits: Vec<usize> = positions(report, |_, e| {
        matches!(
            e,
            Event::Probe {
                probe: Probe::RecoveredTxnAlreadyCommitted
            }
        )
    })
    .map(|(k, _)| k)
    .collect();
    let first_after = |pick: fn(&Event) -> bool, after: usize| {
        positions(report, |_, e| pick(e))
            .map(|(k, _)| k)
            .find(|&k| k > after)
    };
    stops.into_iter().any(|(i, ..)| {
        let Some(s) = first_after(
            |e| matches!(e, Event::SavepointTriggered { stop: true, .. }),
            i,
        ) else {
            return false;
        };
        // The restore under way when the stop was asked ends before its
        // savepoint: no recommit between the trigger and the next deploy.
        let next_deploy = first_after(|e| matches!(e, Event::TasksDeployed { .. }), s);
        let before = recommits.iter().any(|&k| i < k && k < s);
        let after = (recommits.iter()).any(|&k| s < k && next_deploy.is_none_or(|d| k < d));
        let completed = first_after(|e| matches!(e, Event::SavepointCompleted { .. }), s);
        before && !after && completed.is_some()
    })
}

fn stop_queued_behind_a_plain_savepoint(_: &Scenario, report: &SeedReport) -> bool {
    let stops = faults(report)
        .filter(|(.., f)| matches!(f, FaultEvent::JobStopped { with, .. } if with == "savepoint"));
    stops.into_iter().any(|(i, ..)| {
        let plain = positions(report, |_, e| {
            matches!(e, Event::SavepointTriggered { stop: false, .. })
        })
        .map(|(k, _)| k)
        .rfind(|&k| k < i);
        let completed = positions(report, |_, e| matches!(e, Event::SavepointCompleted { .. }))
            .map(|(k, _)| k)
            .find(|&k| plain.is_some_and(|p| k > p));
        let stop = positions(report, |_, e| {
            matches!(e, Event::SavepointTriggered { stop: true, .. })
        })
        .map(|(k, _)| k)
        .find(|&k| k > i);
        match (completed, stop) {
            (Some(c), Some(s)) => i < c && c < s,
            _ => false,
        }
    })
}

fn savepoint_outlasts_a_newer_checkpoint(_: &Scenario, report: &SeedReport) -> bool {
    let plain = positions(report, |_, e| {
        matches!(e, Event::SavepointTriggered { stop: false, .. })
    });
    plain.into_iter().any(|(p, _)| {
        let What::Engine(Event::SavepointTriggered { checkpoint: c, .. }) = report.trace[p].what
        else {
            return false;
        };
        let settled = positions(report, |_, e| match e {
            Event::SavepointCompleted { checkpoint } => *checkpoint == c,
            Event::CheckpointAborted { checkpoint, .. } => *checkpoint == c,
            _ => false,
        })
        .map(|(k, _)| k)
        .next();
        let newer = positions(
            report,
            |_, e| matches!(e, Event::CheckpointCompleted { checkpoint, .. } if *checkpoint > c),
        )
        .map(|(k, _)| k)
        .find(|&k| k > p);
        matches!((newer, settled), (Some(n), Some(s)) if n < s)
    })
}

fn a_drawn_fault_never_fired(_: &Scenario, report: &SeedReport) -> bool {
    report.fired_at.iter().any(Option::is_none)
}

fn stop_asked_before_the_first_deploy(_: &Scenario, report: &SeedReport) -> bool {
    let stop = faults(report)
        .find(|(.., f)| matches!(f, FaultEvent::JobStopped { run: 1, with } if with == "savepoint"))
        .map(|(i, ..)| i);
    let deployed = positions(report, |_, e| matches!(e, Event::TasksDeployed { .. }))
        .map(|(k, _)| k)
        .next();
    let triggered = positions(report, |_, e| {
        matches!(e, Event::SavepointTriggered { stop: true, .. })
    })
    .next()
    .is_some();
    matches!((stop, deployed), (Some(s), Some(d)) if s < d) && triggered
}

fn recommits_outlast_the_keepalive(scenario: &Scenario, report: &SeedReport) -> bool {
    let restored = positions(report, |_, e| matches!(e, Event::KeyGroupsRestored { .. }));
    let Some((from, _)) = restored.last() else {
        return false;
    };
    let recommits: Vec<Duration> = positions(report, |_, e| {
        matches!(
            e,
            Event::Probe {
                probe: Probe::RecoveredTxnAlreadyCommitted
            }
        )
    })
    .filter(|(i, _)| *i > from)
    .map(|(_, at)| at)
    .collect();
    let keepalive = scenario.config.timing.channel_keepalive_timeout;
    match (recommits.first(), recommits.last()) {
        (Some(first), Some(last)) => *last - *first > keepalive,
        _ => false,
    }
}

fn checkpoint_triggered_before_the_final_completes(_: &Scenario, report: &SeedReport) -> bool {
    let Some((id, completed, _)) = final_checkpoint(report) else {
        return false;
    };
    positions(
        report,
        |_, e| matches!(e, Event::CheckpointTriggered { checkpoint, .. } if *checkpoint > id),
    )
    .any(|(i, _)| i < completed)
}

fn deposed_leaders_checkpoint_id_completed_by_the_next(_: &Scenario, report: &SeedReport) -> bool {
    let events: Vec<_> = engine(report).collect();
    let triggers = events.iter().filter_map(|(_, host, e)| match e {
        Event::CheckpointTriggered { checkpoint, .. } => Some((*host, *checkpoint)),
        _ => None,
    });
    triggers.clone().any(|(deposed, id)| {
        let after_trigger = events.iter().skip_while(
            |(_, host, e)| !(*host == deposed && matches!(e, Event::CheckpointTriggered { checkpoint, .. } if *checkpoint == id)),
        );
        let completed_by = |leader: &str| {
            events.iter().any(|(_, host, e)| {
                *host == leader && matches!(e, Event::CheckpointCompleted { checkpoint, .. } if *checkpoint == id)
            })
        };
        let revoked = (after_trigger.clone())
            .any(|(_, host, e)| *host == deposed && matches!(e, Event::LeaderRevoked { .. }));
        let next = triggers.clone().any(|(leader, other)| {
            leader != deposed && other == id && completed_by(leader)
        });
        let restored = (after_trigger.clone())
            .any(|(_, _, e)| matches!(e, Event::TasksDeployed { restore: Some(r), .. } if *r == id));
        revoked && !completed_by(deposed) && next && restored
    })
}

fn wiped_store_replica_crashes_again_before_its_repair(_: &Scenario, report: &SeedReport) -> bool {
    let trace = &report.trace;
    // A disk loss traces `crash`, then `disk_wiped` on the same host.
    let plain_crash = |i: usize| {
        matches!(trace[i].what, What::Fault(FaultEvent::Crash))
            && !trace.get(i + 1).is_some_and(|next| {
                next.host == trace[i].host
                    && matches!(next.what, What::Fault(FaultEvent::DiskWiped))
            })
    };
    let wipes = (trace.iter().enumerate()).filter(|(_, e)| {
        e.host.starts_with("store") && matches!(e.what, What::Fault(FaultEvent::DiskWiped))
    });
    wipes.into_iter().any(|(i, wiped)| {
        let repaired = (trace.iter().enumerate().skip(i))
            .find(|(_, e)| {
                e.host == wiped.host
                    && matches!(e.what, What::Engine(Event::StoreReplicaRepaired { .. }))
            })
            .map_or(trace.len(), |(j, _)| j);
        (i + 1..repaired).any(|k| trace[k].host == wiped.host && plain_crash(k))
    })
}

fn leader_that_stepped_down_is_elected_again_and_the_job_fails(
    _: &Scenario,
    report: &SeedReport,
) -> bool {
    let stepped_down = positions(report, |_, e| {
        matches!(e, Event::LeaderRevoked { reason, .. }
            if reason.contains("could not recover the job from checkpoint storage"))
    });
    let failed = positions(report, |_, e| {
        matches!(
            e,
            Event::JobState(flinch_engine::event::JobState::Failed { .. })
        )
    });
    stepped_down.into_iter().any(|(i, _)| {
        let host = &report.trace[i].host;
        positions(report, |h, e| {
            h == host && matches!(e, Event::LeaderElected { .. })
        })
        .any(|(j, _)| j > i && failed.clone().any(|(k, _)| k > j))
    })
}

fn drained_attempts_checkpoint_restored(_: &Scenario, report: &SeedReport) -> bool {
    let drained = engine(report).filter_map(|(_, _, e)| match e {
        Event::SavepointTriggered {
            checkpoint,
            drain: true,
            ..
        } => Some(*checkpoint),
        _ => None,
    });
    let restored = |id: u64| {
        positions(
            report,
            move |_, e| matches!(e, Event::TasksDeployed { restore: Some(r), .. } if *r == id),
        )
    };
    drained.into_iter().any(|savepoint| {
        restored(savepoint).any(|(i, _)| {
            positions(report, |_, e| {
                matches!(e, Event::CheckpointCompleted { .. })
            })
            .filter(|(j, _)| *j > i)
            .filter_map(|(j, _)| match &report.trace[j].what {
                What::Engine(Event::CheckpointCompleted { checkpoint, .. }) => {
                    Some((j, *checkpoint))
                }
                _ => None,
            })
            .any(|(j, c)| c > savepoint && restored(c).any(|(k, _)| k > j))
        })
    })
}

fn drained_savepoint_restored_without_its_completion(_: &Scenario, report: &SeedReport) -> bool {
    let drained = positions(report, |_, e| {
        matches!(e, Event::SavepointTriggered { drain: true, .. })
    });
    drained.into_iter().any(|(i, _)| {
        let Some((id, completed)) = savepoint_at(report, i) else {
            return false;
        };
        let crash = faults(report)
            .find(|(j, _, host, f)| {
                *j > i && *host == "jobmanager" && matches!(f, FaultEvent::Crash)
            })
            .map(|(j, ..)| j);
        let restored = positions(
            report,
            move |_, e| matches!(e, Event::StateRestored { checkpoint, .. } if *checkpoint == id),
        )
        .any(|(k, _)| crash.is_some_and(|c| k > c));
        crash.is_some_and(|c| completed.is_none_or(|done| c < done)) && restored
    })
}

fn repair_outlasts_a_stall_by_the_rpc_timeout(scenario: &Scenario, report: &SeedReport) -> bool {
    let rpc_timeout = scenario.config.timing.rpc_timeout;
    faults(report).any(|(i, stalled, host, f)| {
        let FaultEvent::Stall { peer } = f else {
            return false;
        };
        // Repairing when the stall began: restarted (after a disk loss),
        // and not repaired since.
        let restarted = faults(report)
            .any(|(j, _, h, g)| j < i && h == host && matches!(g, FaultEvent::Restart));
        let repaired_before = positions(report, |h, e| {
            h == host && matches!(e, Event::StoreReplicaRepaired { .. })
        })
        .any(|(j, _)| j < i);
        if !restarted || repaired_before {
            return false;
        }
        engine(report).any(|(at, repaired, e)| {
            repaired == host
                && matches!(e, Event::StoreReplicaRepaired { from, .. } if from.contains(peer))
                && at >= stalled + rpc_timeout
        })
    })
}

fn repair_reads_a_corrupting_peer(_: &Scenario, report: &SeedReport) -> bool {
    let corrupting = disk_fault_windows(report, |f| matches!(f, FaultEvent::ReadCorruption { .. }));
    corrupting.into_iter().any(|(peer, from, until)| {
        positions(
            report,
            |_, e| matches!(e, Event::StoreReplicaRepaired { from, .. } if from.contains(&peer)),
        )
        .any(|(k, _)| from < k && k < until)
    })
}

fn savepoint_asked_while_a_stop_is_under_way(_: &Scenario, report: &SeedReport) -> bool {
    let stops = faults(report)
        .filter(|(.., f)| matches!(f, FaultEvent::JobStopped { with, .. } if with == "savepoint"));
    stops.into_iter().any(|(i, ..)| {
        let stop_savepoints: Vec<u64> = engine(report)
            .filter_map(|(_, _, e)| match e {
                Event::SavepointTriggered { checkpoint, stop: true, .. } => Some(*checkpoint),
                _ => None,
            })
            .collect();
        let done = positions(report, |_, e| matches!(e, Event::SavepointCompleted { checkpoint } if stop_savepoints.contains(checkpoint)))
            .map(|(j, _)| j)
            .find(|j| *j > i);
        faults(report).any(|(k, .., f)| {
            matches!(f, FaultEvent::SavepointRequested { .. }) && k > i && done.is_some_and(|d| k < d)
        })
    })
}

fn client_crashes_mid_stop_and_restarts_after_the_resume(
    _: &Scenario,
    report: &SeedReport,
) -> bool {
    let client = |kind: fn(&FaultEvent) -> bool| {
        faults(report)
            .filter(move |(_, _, host, f)| *host == "client" && kind(f))
            .map(|(i, ..)| i)
    };
    let resumed = faults(report)
        .find(|(.., f)| matches!(f, FaultEvent::JobResumed { .. }))
        .map(|(i, ..)| i);
    let stops = positions(report, |_, e| {
        matches!(e, Event::SavepointTriggered { stop: true, .. })
    });
    stops.into_iter().any(|(i, _)| {
        let Some((_, done)) = savepoint_at(report, i) else {
            return false;
        };
        let crashed = client(|f| matches!(f, FaultEvent::Crash))
            .any(|c| c > i && done.is_some_and(|d| c < d));
        let restarted =
            client(|f| matches!(f, FaultEvent::Restart)).any(|r| resumed.is_some_and(|m| r > m));
        crashed && restarted
    })
}

fn txn_times_out_under_disk_errors(_: &Scenario, report: &SeedReport) -> bool {
    let failing = disk_fault_windows(report, |f| matches!(f, FaultEvent::IoErrors { .. }));
    failing.into_iter().any(|(host, from, until)| {
        positions(report, |h, e| {
            h == host && matches!(e, Event::TxnTimedOut { .. })
        })
        .any(|(k, _)| from < k && k < until)
    })
}

/// Each disk fault `kind` picks, with its host and where in the trace it
/// starts and heals (the trace's end if it never does).
fn disk_fault_windows(
    report: &SeedReport,
    kind: fn(&FaultEvent) -> bool,
) -> Vec<(String, usize, usize)> {
    let faults: Vec<_> = faults(report).collect();
    (faults.iter())
        .filter(|(.., f)| kind(f))
        .map(|(i, _, host, _)| {
            let healed = (faults.iter())
                .find(|(j, _, h, g)| j > i && h == host && matches!(g, FaultEvent::DiskHealed))
                .map_or(report.trace.len(), |(j, ..)| *j);
            (host.to_string(), *i, healed)
        })
        .collect()
}

/// Every moment is a test a run can fail: a run of `steady` (no faults,
/// no stop, one checkpoint at a time) reaches none of them.
#[test]
fn a_run_without_faults_reaches_no_moment() {
    let steady = load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/steady.toml"
    ))
    .expect("steady loads");
    let report = run_seed(&steady, 0);
    assert!(report.passed, "{:?}", report.violations);
    for moment in MOMENTS {
        assert!(
            !(moment.reached)(&steady, &report),
            "{}: steady seed 0 reaches \"{}\"",
            moment.case,
            moment.what
        );
    }
}
