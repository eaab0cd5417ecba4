//! Running seeds: one seed behind a panic guard, or many over a pool of
//! worker threads.

use flinch_harness::scenario::Scenario;
use flinch_harness::seed::{run_seed, SeedReport};
use flinch_harness::violation::{Checker, Violation};
use std::any::Any;
use std::ops::Range;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::Duration;

/// Stack of the threads that run seeds: a simulation keeps deep futures on
/// it, and a thread's default (2 MiB) is smaller than the main thread's.
pub const WORKER_STACK: usize = 32 << 20;

/// Run one seed; a panic that escapes the harness becomes a failed report
/// with a `panic` violation instead of ending the CLI.
pub fn run_guarded(scenario: &Scenario, seed: u64) -> SeedReport {
    guard(seed, || run_seed(scenario, seed))
}

/// Run one seed on a worker thread, as `flinch run` does, so a replay runs
/// with the same stack as the run that found the failure.
pub fn run_one(scenario: &Scenario, seed: u64) -> anyhow::Result<SeedReport> {
    let scenario = scenario.clone();
    let handle = thread::Builder::new()
        .name(format!("seed-{seed}"))
        .stack_size(WORKER_STACK)
        .spawn(move || run_guarded(&scenario, seed))
        .map_err(|e| anyhow::anyhow!("cannot start a thread to run the seed: {e}"))?;
    // `run_guarded` catches panics, so the thread cannot end in one.
    Ok(handle.join().unwrap_or_else(|p| panicked(seed, &*p)))
}

pub fn guard(seed: u64, f: impl FnOnce() -> SeedReport) -> SeedReport {
    panic::catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| panicked(seed, &*p))
}

fn panicked(seed: u64, payload: &(dyn Any + Send)) -> SeedReport {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(a panic without a message)".to_string());
    SeedReport {
        seed,
        passed: false,
        violations: vec![panic_violation(&message)],
        trace: Vec::new(),
        trace_hash: flinch_harness::trace::trace_hash(&[]),
        sim_time: Duration::ZERO,
        records: 0,
        committed: Vec::new(),
        plan: Vec::new(),
    }
}

/// The violation for a run that panicked: it certainly did not meet the
/// scenario's expectation. Kind `panic`, so it prints as
/// `[expected-outcome] panic: <message>`.
pub fn panic_violation(message: &str) -> Violation {
    Violation::new(Checker::ExpectedOutcome, "panic", message)
}

/// Run every seed of `seeds` over `jobs` worker threads, each pulling the
/// next seed from a shared counter. `runner` is cloned into every thread (so
/// what it captures needs only be `Send`), and `on_event` runs on the
/// calling thread: with `Some(result)` as each seed finishes, and with
/// `None` about once a second so progress can be shown during long seeds.
/// The results come back sorted by seed.
pub fn run_parallel<T, R>(
    seeds: Range<u64>,
    jobs: usize,
    runner: R,
    mut on_event: impl FnMut(Option<&T>),
) -> anyhow::Result<Vec<T>>
where
    T: Send + HasSeed,
    R: FnMut(u64) -> T + Clone + Send,
{
    let count = seeds.end.saturating_sub(seeds.start);
    let threads = u64::try_from(jobs.max(1)).unwrap_or(u64::MAX).min(count);
    let next = AtomicU64::new(0);
    // Capacity capped: a range can name more seeds than memory could hold.
    let mut results = Vec::with_capacity(usize::try_from(count.min(1 << 16)).unwrap_or(0));
    thread::scope(|scope| -> anyhow::Result<()> {
        let (tx, rx) = mpsc::channel::<T>();
        let mut started = 0;
        for n in 0..threads {
            let tx = tx.clone();
            let mut runner = runner.clone();
            let next = &next;
            let start = seeds.start;
            let spawned = thread::Builder::new()
                .name(format!("seed-worker-{n}"))
                .stack_size(WORKER_STACK)
                .spawn_scoped(scope, move || {
                    // Claim indices 0..count; never overflows, never repeats.
                    while let Ok(i) = next.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |i| {
                        (i < count).then_some(i + 1)
                    }) {
                        if tx.send(runner(start + i)).is_err() {
                            break;
                        }
                    }
                });
            match spawned {
                Ok(_) => started += 1,
                // Fewer threads than asked for is fine; none is not.
                Err(e) if started == 0 => {
                    return Err(anyhow::anyhow!("cannot start a worker thread: {e}"))
                }
                Err(_) => break,
            }
        }
        drop(tx);
        loop {
            match rx.recv_timeout(Duration::from_secs(1)) {
                Ok(result) => {
                    on_event(Some(&result));
                    results.push(result);
                }
                Err(RecvTimeoutError::Timeout) => on_event(None),
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        Ok(())
    })?;
    results.sort_by_key(HasSeed::seed);
    Ok(results)
}

pub trait HasSeed {
    fn seed(&self) -> u64;
}

impl HasSeed for SeedReport {
    fn seed(&self) -> u64 {
        self.seed
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use flinch_engine::event::Event;
    use flinch_engine::record::{OutputRecord, TxnId};
    use flinch_harness::outcome::CommittedTxn;
    use flinch_harness::trace::{TraceEvent, What};

    /// A report as `run_seed` would return it: `events` trace lines, and
    /// `violations` exactly-once violations (failed if any).
    pub fn fake_report(seed: u64, events: u64, violations: u32) -> SeedReport {
        let trace: Vec<TraceEvent> = (0..events)
            .map(|i| TraceEvent {
                at: Duration::from_millis(100 * i),
                host: "jobmanager".into(),
                what: What::Engine(Event::CheckpointTriggered {
                    checkpoint: i,
                    epoch: 1,
                }),
            })
            .collect();
        let violations: Vec<Violation> = (0..violations)
            .map(|k| Violation {
                key: Some(k),
                partition: Some(0),
                offset: Some(u64::from(k)),
                ..Violation::new(
                    Checker::ExactlyOnce,
                    "missing",
                    format!("key-{k} has no output"),
                )
            })
            .collect();
        let txn = TxnId {
            subtask: 1,
            epoch: 2,
            checkpoint: 3,
        };
        SeedReport {
            seed,
            passed: violations.is_empty(),
            violations,
            trace_hash: flinch_harness::trace::trace_hash(&trace),
            trace,
            sim_time: Duration::from_millis(1500),
            records: 100,
            committed: vec![CommittedTxn {
                txn,
                records: vec![
                    OutputRecord {
                        key: 4,
                        count: 1,
                        partition: 0,
                        offset: 0,
                    },
                    OutputRecord {
                        key: 4,
                        count: 2,
                        partition: 0,
                        offset: 1,
                    },
                ],
            }],
            plan: Vec::new(),
        }
    }

    #[test]
    fn a_panic_becomes_a_failed_seed() {
        let r = guard(9, || panic!("boom at {}", 9));
        assert_eq!(r.seed, 9);
        assert!(!r.passed);
        assert_eq!(r.violations.len(), 1);
        assert_eq!(r.violations[0].kind, "panic");
        assert_eq!(r.violations[0].message, "boom at 9");
        assert_eq!(
            r.violations[0].to_string(),
            "[expected-outcome] panic: boom at 9"
        );

        let r = guard(1, || panic!("static"));
        assert_eq!(r.violations[0].message, "static");

        let r = guard(2, || std::panic::panic_any(17_u32));
        assert_eq!(r.violations[0].message, "(a panic without a message)");

        let r = guard(3, || fake_report(3, 1, 0));
        assert!(r.passed);
    }

    #[test]
    fn every_seed_runs_once_and_results_are_sorted() {
        for jobs in [1, 3, 64] {
            let mut events = 0;
            let results = run_parallel(
                10..60,
                jobs,
                |seed| {
                    // Uneven work so threads finish out of order.
                    std::thread::sleep(Duration::from_micros((seed * 7919) % 500));
                    fake_report(seed, 0, u32::from(seed % 10 == 0))
                },
                |r: Option<&SeedReport>| events += usize::from(r.is_some()),
            )
            .expect("threads start");
            assert_eq!(events, 50);
            let seeds: Vec<u64> = results.iter().map(|r| r.seed).collect();
            assert_eq!(seeds, (10..60).collect::<Vec<_>>(), "jobs {jobs}");
        }
    }

    #[test]
    fn seeds_at_the_top_of_the_range_do_not_wrap() {
        let results = run_parallel(
            u64::MAX - 3..u64::MAX,
            8,
            |seed| fake_report(seed, 0, 0),
            |_: Option<&SeedReport>| {},
        )
        .expect("threads start");
        let seeds: Vec<u64> = results.iter().map(|r| r.seed).collect();
        assert_eq!(seeds, vec![u64::MAX - 3, u64::MAX - 2, u64::MAX - 1]);
    }
}
