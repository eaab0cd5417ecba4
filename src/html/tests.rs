use super::*;
use flinch_engine::event::{Event, JobState, TaskId};
use flinch_engine::record::TxnId;
use flinch_harness::fault::{Fault, FaultKind};
use flinch_harness::trace::{FaultEvent, What};
use flinch_harness::violation::Checker;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Seed `seed` of the built-in `name`, run on a thread with the stack the
/// CLI gives a seed.
fn run(name: &str, seed: u64) -> (Scenario, SeedReport) {
    let scenario = flinch_harness::scenario::load(name).expect("a built-in scenario");
    let s = scenario.clone();
    let report = std::thread::Builder::new()
        .stack_size(32 << 20)
        .spawn(move || flinch_harness::seed::run_seed(&s, seed))
        .expect("a thread")
        .join()
        .expect("the seed's run catches its panics");
    (scenario, report)
}

/// A report with `trace`, `plan` (fired as `fired_at` says) and
/// `violations`, of `taskmanager-crash`'s scenario.
fn report(
    trace: Vec<TraceEvent>,
    plan: Vec<Fault>,
    fired_at: Vec<Option<Duration>>,
    violations: Vec<Violation>,
) -> (Scenario, SeedReport) {
    let scenario = flinch_harness::scenario::load("taskmanager-crash").expect("built-in");
    let sim_time = trace.last().map_or(ms(1000), |e| e.at + ms(500));
    let report = SeedReport {
        seed: 3,
        passed: violations.is_empty(),
        violations,
        trace,
        sim_time,
        host_steps: Default::default(),
        refused_connections: 0,
        records: 2000,
        committed: Vec::new(),
        output: Vec::new(),
        duplicates: 0,
        lost: Vec::new(),
        plan,
        fired_at,
    };
    (scenario, report)
}

/// How many elements of the page carry `class` among their classes.
fn count_class(page: &str, class: &str) -> usize {
    page.match_indices("class=\"")
        .filter(|(i, _)| {
            let rest = &page[i + 7..];
            let value = &rest[..rest.find('"').unwrap_or(0)];
            value.split(' ').any(|c| c == class)
        })
        .count()
}

fn ev(at: u64, host: &str, event: Event) -> TraceEvent {
    TraceEvent {
        at: ms(at),
        host: host.into(),
        what: What::Engine(event),
    }
}

#[test]
fn the_page_of_a_crash_has_its_lanes_band_failover_and_restore() {
    let (scenario, r) = run("taskmanager-crash", 7);
    assert!(r.passed, "{:?}", r.violations);
    let replay = "flinch replay taskmanager-crash --seed 7";
    let page = page(&scenario, &r, replay);
    let hosts: std::collections::BTreeSet<&str> = r.trace.iter().map(|e| e.host.as_str()).collect();
    assert_eq!(count_class(&page, "lane"), hosts.len());
    for host in &hosts {
        assert!(
            page.contains(&format!("class=\"lane\" data-host=\"{host}\"")),
            "{host}"
        );
    }
    assert_eq!(count_class(&page, "fault"), r.plan.len());
    assert!(page.contains(
        "class=\"fault\" id=\"fault-0\" data-fault=\"0\" data-kind=\"crash_restart\" \
         data-host=\"taskmanager-2\""
    ));
    assert!(count_class(&page, "failover") >= 1);
    assert!(count_class(&page, "restart-delay") >= 1);
    assert!(count_class(&page, "restored") >= 1);
    assert!(count_class(&page, "completed") >= 1);
    assert!(page.contains(replay));
    assert!(page.contains(&format!("hash <code>{:08x}</code>", r.trace_hash())));
    // plotters' text is SVG text (no font library draws it as paths).
    assert!(page.contains("<text") && page.contains("simulated time (s)"));
    // The same seed, the same page, byte for byte.
    let (scenario, again) = run("taskmanager-crash", 7);
    assert_eq!(page, super::page(&scenario, &again, replay));
}

#[test]
fn the_page_fetches_nothing_and_runs_no_script() {
    let (scenario, r) = run("taskmanager-crash", 7);
    let page = page(&scenario, &r, "flinch replay taskmanager-crash --seed 7");
    assert!(page.starts_with("<!DOCTYPE html>"));
    for needle in ["<script", "<link", "src=", "@import", "url(", "https:"] {
        assert!(!page.contains(needle), "{needle}");
    }
    // The only address is SVG's namespace, a name, not a fetch.
    let http: Vec<&str> = page
        .match_indices("http:")
        .map(|(i, _)| &page[i..i + 26])
        .collect();
    assert!(
        http.iter().all(|h| *h == "http://www.w3.org/2000/svg"),
        "{http:?}"
    );
}

#[test]
fn a_violation_with_a_moment_links_to_its_line_in_the_timeline() {
    let trace = vec![
        ev(0, "jobmanager", Event::HostStarted),
        ev(1234, "sink", Event::HostStarted),
    ];
    let txn = TxnId {
        subtask: 1,
        epoch: 2,
        checkpoint: 3,
    };
    let violations = vec![
        Violation {
            at: Some(ms(1234)),
            key: Some(7),
            partition: Some(1),
            offset: Some(42),
            txns: vec![txn],
            checkpoint: Some(3),
            task: Some(TaskId::try_from("count[1]".to_owned()).expect("a task")),
            ..Violation::new(Checker::ExactlyOnce, "duplicated", "key 7 <twice> & more")
        },
        Violation::new(Checker::ExactlyOnce, "missing", "never committed"),
    ];
    let (scenario, r) = report(trace, Vec::new(), Vec::new(), violations);
    let page = page(&scenario, &r, "flinch replay x --seed 3");
    assert!(page.contains("<a href=\"#t-1234\">1.234 s</a>"), "{page}");
    assert!(page.contains("class=\"violation\" id=\"t-1234\" data-at-ms=\"1234\""));
    assert_eq!(count_class(&page, "violation"), 1);
    // The evidence, escaped where it must be.
    assert!(page.contains("key 7 &lt;twice&gt; &amp; more"));
    for evidence in [
        "<dt>key</dt><dd>7</dd>",
        "<dt>partition</dt><dd>1</dd>",
        "<dt>offset</dt><dd>42</dd>",
        "<dt>txns</dt><dd>txn-s1-e2-c3</dd>",
        "<dt>checkpoint</dt><dd>3</dd>",
        "<dt>task</dt><dd>count[1]</dd>",
    ] {
        assert!(page.contains(evidence), "{evidence}");
    }
    assert!(page.contains("FAILED: 2 records (1 duplicated, 1 missing)"));
    // No moment, no link.
    assert_eq!(page.matches("href=\"#t-").count(), 1);
}

#[test]
fn a_fault_that_never_fired_is_still_one_band_and_says_so() {
    let plan = vec![Fault {
        id: None,
        kind: FaultKind::Crash,
        host: "taskmanager-1".into(),
        at: ms(5000),
        jitter: Duration::ZERO,
        on: None,
    }];
    let trace = vec![ev(0, "jobmanager", Event::HostStarted)];
    let (scenario, r) = report(trace, plan, vec![None], Vec::new());
    let page = page(&scenario, &r, "flinch replay x --seed 3");
    assert_eq!(count_class(&page, "fault"), 1);
    assert_eq!(count_class(&page, "unfired"), 1);
    assert!(page.contains("never fired"));
    assert!(page.contains("class=\"lane\" data-host=\"taskmanager-1\""));
}

#[test]
fn the_trace_window_keeps_the_head_each_moment_and_the_tail_within_its_limit() {
    let all = trace_window(50, &[]);
    assert_eq!((all.len(), all.first()), (1, Some(&(0..50))));
    assert_eq!(
        trace_window(10_000, &[5_000]),
        [
            0..TRACE_HEAD_LINES,
            5_000 - TRACE_CONTEXT_LINES..5_000 + TRACE_CONTEXT_LINES,
            10_000 - TRACE_TAIL_LINES..10_000
        ]
    );
    // Windows that touch merge.
    assert_eq!(
        trace_window(10_000, &[TRACE_HEAD_LINES + 2]),
        [0..TRACE_HEAD_LINES + 2 + TRACE_CONTEXT_LINES, 9_960..10_000]
    );
    // However many moments, at most MAX_TRACE_LINES lines.
    let moments: Vec<usize> = (0..1000).map(|i| i * 997).collect();
    let shown: usize = trace_window(1_000_000, &moments)
        .iter()
        .map(Range::len)
        .sum();
    assert!(shown <= MAX_TRACE_LINES, "{shown}");
    assert!(shown > MAX_TRACE_LINES - 2 * TRACE_CONTEXT_LINES, "{shown}");
}

/// A run at every limit: an hour of checkpoints and transactions, a
/// thousand faults, a thousand failovers, hundreds of violations each at
/// its own moment, and over 600,000 trace lines. Its page stays under
/// [`PAGE_BYTES_MAX`] and says what it left out.
#[test]
fn the_page_of_a_run_at_every_limit_stays_under_its_size_bound() {
    let checkpoints = 36_000u64;
    let mut trace = Vec::with_capacity(1_000_000);
    for c in 0..checkpoints {
        let at = c * 100;
        trace.push(ev(
            at,
            "jobmanager",
            Event::CheckpointTriggered {
                checkpoint: c,
                epoch: 1,
            },
        ));
        for subtask in 0..4 {
            let txn = TxnId {
                subtask,
                epoch: 1,
                checkpoint: c,
            };
            trace.push(ev(
                at + 5,
                "sink",
                Event::TxnPreCommitted { txn, records: 7 },
            ));
            trace.push(ev(at + 9, "sink", Event::TxnCommitted { txn, records: 7 }));
        }
        trace.push(ev(
            at + 8,
            "jobmanager",
            Event::CheckpointCompleted {
                checkpoint: c,
                offsets: vec![c * 10; 16],
            },
        ));
        if c % 36 == 0 {
            trace.push(ev(
                at + 50,
                "jobmanager",
                Event::Failover {
                    epoch: c,
                    cause: "a long reason that takes room ".repeat(4),
                },
            ));
            trace.push(ev(
                at + 50,
                "jobmanager",
                Event::JobState(JobState::Restarting { epoch: c }),
            ));
            trace.push(ev(
                at + 60,
                "jobmanager",
                Event::TasksDeployed {
                    epoch: c,
                    restore: Some(c),
                },
            ));
            trace.push(ev(
                at + 60,
                "jobmanager",
                Event::JobState(JobState::Running { epoch: c }),
            ));
            trace.push(TraceEvent {
                at: ms(at + 61),
                host: format!("taskmanager-{}", c % 200 + 1),
                what: What::Fault(FaultEvent::Restart),
            });
        }
        for p in 0..8 {
            trace.push(TraceEvent {
                at: ms(at + 70),
                host: format!("taskmanager-{}", (c + p) % 200 + 1),
                what: What::Engine(Event::Probe {
                    probe: flinch_engine::probe::Probe::ALL[(p as usize) % 3],
                }),
            });
        }
    }
    let plan: Vec<Fault> = (0..1000u64)
        .map(|i| Fault {
            id: Some(format!("fault-with-a-long-id-{i:010}")),
            kind: FaultKind::Partition {
                peer: format!("taskmanager-{}", (i + 7) % 200 + 1),
                oneway: false,
                duration: ms(900),
            },
            host: format!("taskmanager-{}", i % 200 + 1),
            at: ms(i * 3_000),
            jitter: ms(100),
            on: None,
        })
        .collect();
    let fired = (0..1000u64).map(|i| Some(ms(i * 3_000 + 17))).collect();
    let violations: Vec<Violation> = (0..400u64)
        .map(|i| Violation {
            at: Some(ms(i * 9_000 + 3)),
            key: Some(i as u32),
            partition: Some(3),
            offset: Some(i * 11),
            txns: vec![TxnId {
                subtask: 1,
                epoch: 2,
                checkpoint: i,
            }],
            ..Violation::new(
                Checker::ExactlyOnce,
                "duplicated",
                format!(
                    "key-{i} (partition 3, offset {}) was committed 2 times",
                    i * 11
                ),
            )
        })
        .collect();
    let (scenario, r) = report(trace, plan, fired, violations);
    let started = std::time::Instant::now();
    let page = page(&scenario, &r, "flinch replay long.toml --seed 3");
    let took = started.elapsed();
    println!(
        "{} trace lines: a page of {} bytes in {took:?}",
        r.trace.len(),
        page.len()
    );
    for section in ["verdict", "timeline", "figure", "plan", "probes", "trace"] {
        let start = page
            .find(&format!("<section id=\"{section}\""))
            .unwrap_or(0);
        let end = page[start + 1..]
            .find("<section")
            .map_or(page.len(), |e| e + start + 1);
        println!("  {section}: {} bytes", end - start);
    }
    assert!(r.trace.len() > 600_000);
    assert!(
        page.len() < PAGE_BYTES_MAX,
        "{} bytes, more than {PAGE_BYTES_MAX}",
        page.len()
    );
    assert_eq!(count_class(&page, "fault"), 1000);
    assert_eq!(
        count_class(&page, "checkpoint"),
        intervals::MAX_CHECKPOINT_BARS
    );
    assert_eq!(count_class(&page, "txn"), intervals::MAX_TXN_MARKS);
    assert_eq!(
        count_class(&page, "violation"),
        intervals::MAX_VIOLATION_MARKS
    );
    for note in [
        "checkpoints not drawn",
        "transaction steps not drawn",
        "event marks not drawn",
        "failovers not drawn",
        "violation moments not drawn",
        "points drawn (at most 400, thinned evenly)",
        "200 more violations not listed",
        " left out. All of them: ",
    ] {
        assert!(page.contains(note), "{note}");
    }
}

#[test]
fn writing_a_report_creates_the_folder_and_an_error_names_the_path() {
    let dir = std::env::temp_dir().join(format!("flinch-html-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = write(&dir.join("a/b"), "<p>x</p>").expect("writes");
    assert_eq!(path, dir.join("a/b/index.html"));
    assert_eq!(std::fs::read_to_string(&path).expect("reads"), "<p>x</p>");
    // A folder under a file cannot be made.
    let err = write(&path.join("c"), "x").expect_err("a file is in the way");
    // Said once, also where the whole chain is printed.
    assert_eq!(
        format!("{:#}", anyhow::Error::new(err))
            .matches("Not a directory")
            .count(),
        1
    );
    let err = write(&path.join("c"), "x").expect_err("a file is in the way");
    assert!(
        err.to_string().starts_with(&format!(
            "cannot create the report folder {}",
            path.join("c").display()
        )),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
