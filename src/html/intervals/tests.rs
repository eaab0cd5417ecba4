use super::*;
use flinch_engine::event::TaskId;
use flinch_harness::violation::Checker;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn engine(at: u64, host: &str, event: Event) -> TraceEvent {
    TraceEvent {
        at: ms(at),
        host: host.into(),
        what: What::Engine(event),
    }
}

fn fault_event(at: u64, host: &str, f: FaultEvent) -> TraceEvent {
    TraceEvent {
        at: ms(at),
        host: host.into(),
        what: What::Fault(f),
    }
}

fn fault(host: &str, at: u64, kind: FaultKind) -> Fault {
    Fault {
        id: None,
        kind,
        host: host.into(),
        at: ms(at),
        jitter: Duration::ZERO,
        on: None,
    }
}

fn partition(peer: &str, duration: u64) -> FaultKind {
    FaultKind::Partition {
        peer: peer.into(),
        oneway: false,
        duration: ms(duration),
    }
}

fn repair(at: u64, host: &str, peer: &str) -> TraceEvent {
    fault_event(at, host, FaultEvent::Repair { peer: peer.into() })
}

fn task(name: &str) -> TaskId {
    TaskId::try_from(name.to_owned()).expect("a task id")
}

#[test]
fn lanes_go_jobmanagers_taskmanagers_stores_client_then_the_rest_by_name() {
    let hosts = [
        "sink",
        "taskmanager-10",
        "client",
        "jobmanager-2",
        "store-2",
        "taskmanager-2",
        "log",
        "store-1",
        "ha",
        "jobmanager-1",
        "taskmanager-2",
    ];
    let trace: Vec<TraceEvent> = (hosts.iter())
        .map(|h| engine(0, h, Event::HostStarted))
        .collect();
    // A host only the plan names has a lane too.
    let plan = [fault("taskmanager-3", 0, FaultKind::Crash)];
    assert_eq!(
        lanes(&trace, &plan),
        [
            "jobmanager-1",
            "jobmanager-2",
            "taskmanager-2",
            "taskmanager-3",
            "taskmanager-10",
            "store-1",
            "store-2",
            "client",
            "ha",
            "log",
            "sink"
        ]
    );
}

#[test]
fn thinning_keeps_what_it_must_first_then_spreads_the_rest_evenly() {
    let all: Vec<u32> = (0..100).collect();
    let t = thin(all.clone(), 5);
    assert_eq!(t.shown, [0, 24, 49, 74, 99]);
    assert_eq!((t.total, t.left_out()), (100, 95));
    assert_eq!(thin(all.clone(), 200).shown, all);
    assert_eq!(thin(all.clone(), 1).shown, [0]);
    assert!(thin(all.clone(), 0).shown.is_empty());
    // Multiples of 30 are kept first; the other 2 places go to the rest.
    let t = thin_keeping(all.clone(), 6, |n| n % 30 == 0);
    assert_eq!(t.shown, [0, 1, 30, 60, 90, 99]);
    // More to keep than room: the kept ones are thinned themselves.
    let t = thin_keeping(all, 3, |n| n % 10 == 0);
    assert_eq!(t.shown, [0, 40, 90]);
}

/// A crash that comes back, two partitions of one link that overlap (each
/// ends at its own repair, not the other's), a bit rot (an instant), a pause
/// a crash ended early, a crash never restarted (open to the end), and a
/// latency that never fired.
#[test]
fn each_fault_of_the_plan_is_one_band_from_when_it_fired_to_its_own_end() {
    let plan = vec![
        fault(
            "taskmanager-2",
            300,
            FaultKind::CrashRestart { after: ms(300) },
        ),
        fault("taskmanager-1", 100, partition("jobmanager", 500)),
        fault("taskmanager-1", 200, partition("jobmanager", 100)),
        fault(
            "store",
            400,
            FaultKind::BitRot {
                path: "/store/meta/".into(),
            },
        ),
        fault("log", 500, FaultKind::Pause { duration: ms(1000) }),
        fault("sink", 1500, FaultKind::Crash),
        fault(
            "sink",
            1600,
            FaultKind::Latency {
                peer: "*".into(),
                min: ms(0),
                max: ms(50),
                duration: ms(100),
            },
        ),
    ];
    let trace = vec![
        fault_event(
            100,
            "taskmanager-1",
            FaultEvent::Partition {
                peer: "jobmanager".into(),
                oneway: false,
            },
        ),
        fault_event(
            200,
            "taskmanager-1",
            FaultEvent::Partition {
                peer: "jobmanager".into(),
                oneway: false,
            },
        ),
        repair(300, "taskmanager-1", "jobmanager"),
        fault_event(512, "taskmanager-2", FaultEvent::Crash),
        fault_event(
            400,
            "store",
            FaultEvent::BitRot {
                path: "/store/meta/".into(),
                file: None,
            },
        ),
        fault_event(500, "log", FaultEvent::Pause),
        repair(600, "taskmanager-1", "jobmanager"),
        fault_event(700, "log", FaultEvent::Crash),
        fault_event(812, "taskmanager-2", FaultEvent::Restart),
        fault_event(1500, "sink", FaultEvent::Crash),
    ];
    let mut trace = trace;
    trace.sort_by_key(|e| e.at);
    let fired = [
        Some(ms(512)),
        Some(ms(100)),
        Some(ms(200)),
        Some(ms(400)),
        Some(ms(500)),
        Some(ms(1500)),
        None,
    ];
    let bands = fault_bands(&plan, &fired, &trace, ms(2000));
    assert_eq!(bands.len(), plan.len());
    type Band<'a> = (usize, &'a str, &'a str, u64, u64, Fired, Ended);
    let got: Vec<Band> = (bands.iter())
        .map(|b| {
            (
                b.index,
                b.kind,
                b.host.as_str(),
                b.span.start.as_millis() as u64,
                b.span.end.as_millis() as u64,
                b.fired,
                b.ended,
            )
        })
        .collect();
    use Ended::*;
    use Fired::*;
    assert_eq!(
        got,
        [
            (
                0,
                "crash_restart",
                "taskmanager-2",
                512,
                812,
                Recorded,
                Traced
            ),
            (1, "partition", "taskmanager-1", 100, 600, Recorded, Traced),
            (2, "partition", "taskmanager-1", 200, 300, Recorded, Traced),
            (3, "bit_rot", "store", 400, 400, Recorded, Instant),
            (4, "pause", "log", 500, 700, Recorded, Traced),
            (5, "crash", "sink", 1500, 2000, Recorded, Open),
            (6, "latency", "sink", 1600, 2000, Never, Open),
        ]
    );
    assert_eq!(bands[1].peer.as_deref(), Some("jobmanager"));
    // The two partitions overlap on taskmanager-1's lane: two rows there.
    let rows: Vec<(usize, usize)> = bands.iter().map(|b| (b.row, b.rows)).collect();
    assert_eq!(
        rows,
        [(0, 1), (0, 2), (1, 2), (0, 1), (0, 1), (0, 2), (1, 2)]
    );
    assert_eq!(
        bands[0].text,
        "crash_restart taskmanager-2 at 300ms after 300ms"
    );
}

/// A heal that changed nothing is not traced (a pause of a host that was
/// down): the band ends at its own end; one due after the run ends runs to
/// the end.
#[test]
fn a_fault_whose_end_is_not_traced_ends_at_its_own_end_or_the_runs() {
    let plan = vec![
        fault("log", 100, FaultKind::Pause { duration: ms(200) }),
        fault("sink", 100, FaultKind::Pause { duration: ms(5000) }),
    ];
    let bands = fault_bands(&plan, &[Some(ms(100)), Some(ms(100))], &[], ms(1000));
    assert_eq!(
        (bands[0].span.end, bands[0].ended),
        (ms(300), Ended::Nominal)
    );
    assert_eq!((bands[1].span.end, bands[1].ended), (ms(1000), Ended::Open));
}

/// A run that broke has no record of when faults fired: each takes the
/// first trace line of its kind on its host from its `at` on, one line per
/// fault.
#[test]
fn a_broken_runs_faults_are_placed_from_the_trace() {
    let plan = vec![
        fault(
            "taskmanager-1",
            100,
            FaultKind::CrashRestart { after: ms(50) },
        ),
        fault(
            "taskmanager-1",
            100,
            FaultKind::CrashRestart { after: ms(50) },
        ),
        fault("taskmanager-1", 900, FaultKind::Crash),
    ];
    let trace = vec![
        fault_event(150, "taskmanager-1", FaultEvent::Crash),
        fault_event(200, "taskmanager-1", FaultEvent::Restart),
        fault_event(300, "taskmanager-1", FaultEvent::Crash),
        fault_event(350, "taskmanager-1", FaultEvent::Restart),
    ];
    let bands = fault_bands(&plan, &[], &trace, ms(400));
    let spans: Vec<(u128, u128, Fired)> = (bands.iter())
        .map(|b| (b.span.start.as_millis(), b.span.end.as_millis(), b.fired))
        .collect();
    assert_eq!(
        spans,
        [
            (150, 200, Fired::FromTrace),
            (300, 350, Fired::FromTrace),
            (400, 400, Fired::Never)
        ]
    );
}

fn triggered(at: u64, checkpoint: u64, epoch: u64) -> TraceEvent {
    engine(
        at,
        "jobmanager",
        Event::CheckpointTriggered { checkpoint, epoch },
    )
}

fn completed(at: u64, checkpoint: u64, offsets: Vec<u64>) -> TraceEvent {
    engine(
        at,
        "jobmanager",
        Event::CheckpointCompleted {
            checkpoint,
            offsets,
        },
    )
}

/// The story of taskmanager-crash: checkpoints complete, one is in flight
/// at the failover, a plain savepoint completes, the next attempt restores
/// checkpoint 2 after the restart delay.
fn failover_story() -> Vec<TraceEvent> {
    vec![
        engine(
            0,
            "jobmanager",
            Event::JobState(JobState::Running { epoch: 1 }),
        ),
        triggered(100, 1, 1),
        completed(120, 1, vec![10, 10]),
        triggered(200, 2, 1),
        triggered(210, 3, 1),
        engine(
            212,
            "jobmanager",
            Event::SavepointTriggered {
                checkpoint: 3,
                epoch: 1,
                stop: false,
                drain: false,
            },
        ),
        completed(230, 2, vec![20, 20]),
        engine(
            240,
            "jobmanager",
            Event::SavepointCompleted { checkpoint: 3 },
        ),
        triggered(300, 4, 1),
        engine(
            310,
            "jobmanager",
            Event::CheckpointAborted {
                checkpoint: 4,
                reason: "declined".into(),
            },
        ),
        triggered(400, 5, 1),
        engine(
            420,
            "jobmanager",
            Event::Failover {
                epoch: 2,
                cause: "taskmanager-2 lost".into(),
            },
        ),
        engine(
            420,
            "jobmanager",
            Event::JobState(JobState::Restarting { epoch: 2 }),
        ),
        engine(
            421,
            "jobmanager",
            Event::RestartScheduled {
                attempt: 1,
                delay_ms: 50,
            },
        ),
        engine(
            600,
            "jobmanager",
            Event::TasksDeployed {
                epoch: 2,
                restore: Some(2),
            },
        ),
        engine(
            600,
            "jobmanager",
            Event::JobState(JobState::Running { epoch: 2 }),
        ),
        engine(
            610,
            "taskmanager-1",
            Event::StateRestored {
                checkpoint: 2,
                task: task("count[0]"),
                epoch: 2,
                digest: 1,
                from: None,
            },
        ),
        engine(900, "jobmanager", Event::JobState(JobState::Finished)),
    ]
}

#[test]
fn checkpoints_are_bars_from_trigger_to_outcome_and_the_restored_one_is_marked() {
    let bars = checkpoint_bars(&failover_story(), ms(1000));
    assert_eq!(bars.total, 5);
    type Bar<'a> = (u64, u64, u64, Outcome, Option<&'a str>, bool, usize);
    let got: Vec<Bar> = (bars.shown.iter())
        .map(|b| {
            (
                b.checkpoint,
                b.span.start.as_millis() as u64,
                b.span.end.as_millis() as u64,
                b.outcome,
                b.savepoint,
                b.restored,
                b.row,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (1, 100, 120, Outcome::Completed, None, false, 0),
            (2, 200, 230, Outcome::Completed, None, true, 0),
            // In flight beside 2: the next row.
            (3, 210, 240, Outcome::Completed, Some("savepoint"), false, 1),
            (4, 300, 310, Outcome::Aborted, None, false, 0),
            // The failover ends what was in flight.
            (5, 400, 420, Outcome::Unfinished, None, false, 0),
        ]
    );
    assert_eq!(bars.shown[0].offsets, [10, 10]);
    assert_eq!(bars.shown[3].reason.as_deref(), Some("declined"));
}

#[test]
fn a_failover_has_its_restart_delay_until_the_tasks_are_deployed_again() {
    let trace = failover_story();
    let f = failovers(&trace, ms(1000));
    assert_eq!(f.total, 1);
    let f = &f.shown[0];
    assert_eq!((f.at, f.epoch, f.delay_ms), (ms(420), 2, Some(50)));
    assert_eq!(
        (f.restart, f.deployed),
        (
            Span {
                start: ms(420),
                end: ms(600)
            },
            true
        )
    );
    let r = restores(&trace);
    assert_eq!(
        r.shown,
        [Restore {
            at: ms(600),
            epoch: 2,
            checkpoint: 2,
            completed_at: Some(ms(230)),
        }]
    );
    let states: Vec<(&str, Option<u64>, u128, u128)> = (job_spans(&trace, ms(1000)).shown)
        .iter()
        .map(|s| {
            (
                s.state,
                s.epoch,
                s.span.start.as_millis(),
                s.span.end.as_millis(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("running", Some(1), 0, 420),
            ("restarting", Some(2), 420, 600),
            ("running", Some(2), 600, 900),
            ("finished", None, 900, 1000),
        ]
    );
    let marks = event_marks(&trace);
    assert_eq!(marks.shown.len(), 1);
    assert_eq!(
        (marks.shown[0].event, marks.shown[0].host.as_str()),
        ("state_restored", "taskmanager-1")
    );
}

#[test]
fn a_failover_whose_tasks_never_come_back_runs_to_the_job_end() {
    let trace = vec![
        engine(
            100,
            "jobmanager",
            Event::Failover {
                epoch: 2,
                cause: "x".into(),
            },
        ),
        engine(
            500,
            "jobmanager",
            Event::JobState(JobState::Failed {
                reason: "restarts exhausted".into(),
            }),
        ),
    ];
    let f = &failovers(&trace, ms(800)).shown[0];
    assert_eq!((f.restart.end, f.deployed), (ms(500), false));
}

#[test]
fn transactions_keep_their_aborts_when_thinned() {
    let txn = |checkpoint| TxnId {
        subtask: 0,
        epoch: 1,
        checkpoint,
    };
    let mut trace = Vec::new();
    for c in 0..(MAX_TXN_MARKS as u64) {
        trace.push(engine(
            c,
            "sink",
            Event::TxnPreCommitted {
                txn: txn(c),
                records: 3,
            },
        ));
        trace.push(engine(
            c,
            "sink",
            Event::TxnCommitted {
                txn: txn(c),
                records: 3,
            },
        ));
    }
    trace.push(engine(5000, "sink", Event::TxnAborted { txn: txn(9999) }));
    let marks = txn_marks(&trace);
    assert_eq!(marks.total, 2 * MAX_TXN_MARKS + 1);
    assert_eq!(marks.shown.len(), MAX_TXN_MARKS);
    assert!(marks.shown.iter().any(|m| m.step == TxnStep::Aborted));
    assert_eq!(marks.shown[0].records, Some(3));
}

#[test]
fn violations_at_one_millisecond_share_a_moment_and_moments_are_capped() {
    let at = |ms_: u64| Violation {
        at: Some(ms(ms_)),
        ..Violation::new(Checker::ExactlyOnce, "duplicated", "x")
    };
    let violations = vec![
        at(900),
        Violation::new(Checker::ExactlyOnce, "missing", "never committed"),
        at(300),
        Violation {
            at: Some(Duration::from_micros(900_400)),
            ..at(0)
        },
    ];
    let m = moments(&violations);
    assert_eq!(
        m.shown,
        [
            Moment {
                at: ms(300),
                violations: vec![2]
            },
            Moment {
                at: ms(900),
                violations: vec![0, 3]
            }
        ]
    );
    assert_eq!(m.shown[1].id(), "t-900");
    let many: Vec<Violation> = (0..MAX_VIOLATION_MARKS as u64 + 7).map(at).collect();
    let m = moments(&many);
    assert_eq!((m.shown.len(), m.total), (MAX_VIOLATION_MARKS, many.len()));
    assert_eq!(m.shown[0].at, ms(0));
}

#[test]
fn a_failover_replaced_by_another_waits_only_until_it() {
    let failover = |at, epoch| {
        engine(
            at,
            "jobmanager",
            Event::Failover {
                epoch,
                cause: "x".into(),
            },
        )
    };
    let trace = vec![
        failover(100, 2),
        failover(400, 3),
        engine(
            600,
            "jobmanager",
            Event::TasksDeployed {
                epoch: 3,
                restore: Some(1),
            },
        ),
    ];
    let shown = failovers(&trace, ms(900)).shown;
    let ends: Vec<_> = (shown.iter())
        .map(|f| (f.restart.end, f.deployed, f.replaced))
        .collect();
    assert_eq!(ends, [(ms(400), false, true), (ms(600), true, false)]);
}
