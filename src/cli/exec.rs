//! Running seeds: one seed behind a panic guard, or many over a pool of
//! worker threads.

use flinch_harness::panics::{self, Panic, Phase};
use flinch_harness::scenario::Scenario;
use flinch_harness::seed::{run_seed_until, SeedReport, Stopped};
use std::collections::BTreeMap;
use std::ops::{Bound, Range, RangeBounds};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// Stack of the threads that run seeds: a simulation keeps deep futures on
/// it, and a thread's default (2 MiB) is smaller than the main thread's.
pub const WORKER_STACK: usize = 32 << 20;

/// Run one seed; a panic that escapes the harness (which catches its own:
/// this is the last resort) becomes a failed report with an
/// `internal-error` violation instead of ending the CLI.
pub fn run_guarded(scenario: &Scenario, seed: u64) -> SeedReport {
    run_guarded_until(scenario, seed, &Stop::never())
        .expect("a seed nobody stops reaches its verdict")
}

/// [`run_guarded`], stopped when `stop` is flipped: then `Err` with how far
/// the run got.
pub fn run_guarded_until(
    scenario: &Scenario,
    seed: u64,
    stop: &Stop,
) -> Result<SeedReport, Stopped> {
    panics::catch(Phase::Harness, Duration::ZERO, || {
        run_seed_until(scenario, seed, &|| stop.requested())
    })
    .unwrap_or_else(|p| Ok(panicked(seed, &p)))
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
    Ok(handle.join().unwrap_or_else(|p| {
        panicked(
            seed,
            &Panic::unplaced(p.as_ref(), Phase::Harness, Duration::ZERO),
        )
    }))
}

/// `f`'s report, or the failed report [`run_guarded`] makes of its panic.
#[cfg(test)]
pub fn guard(seed: u64, f: impl FnOnce() -> SeedReport) -> SeedReport {
    panics::catch(Phase::Harness, Duration::ZERO, f).unwrap_or_else(|p| panicked(seed, &p))
}

/// The report of a seed whose run panicked outside the harness's own
/// guard: its verdict cannot be trusted, and nothing of it is left.
fn panicked(seed: u64, panic: &Panic) -> SeedReport {
    SeedReport {
        seed,
        passed: false,
        violations: vec![panic.violation()],
        trace: Vec::new(),
        sim_time: Duration::ZERO,
        host_steps: Default::default(),
        refused_connections: 0,
        records: 0,
        committed: Vec::new(),
        output: Vec::new(),
        duplicates: 0,
        lost: Vec::new(),
        plan: Vec::new(),
        fired_at: Vec::new(),
    }
}

/// Run every seed of `seeds` over `jobs` worker threads, each pulling the
/// next seed from a shared counter. `runner` is cloned into every thread (so
/// what it captures needs only be `Send`), and `on_event` runs on the
/// calling thread: with `Some(result)` as each seed finishes, and with
/// `None` several times a second so progress can be shown during long seeds.
/// The results come back sorted by seed. (No timeout, no fail-fast, no
/// Ctrl-C: [`sweep`] has those.)
pub fn run_parallel<T, R>(
    seeds: Range<u64>,
    jobs: usize,
    mut runner: R,
    on_event: impl FnMut(Option<&T>),
) -> anyhow::Result<Vec<T>>
where
    T: Send + HasSeed,
    R: FnMut(u64) -> T + Clone + Send,
{
    let controls = Controls {
        jobs,
        ..Controls::default()
    };
    let swept = sweep(
        seeds,
        &controls,
        move |seed, _: &Stop| Some(runner(seed)),
        on_event,
    )?;
    Ok(swept.results)
}

/// How [`sweep`] runs seeds besides the runner.
#[derive(Default, Clone, Copy)]
pub struct Controls<'a> {
    /// Worker threads (at least 1 is used; the caller bounds it, see
    /// `seeds::bound_jobs`).
    pub jobs: usize,
    /// Start no seed after the first result that [`HasSeed::failed`];
    /// seeds already running finish.
    pub fail_fast: bool,
    /// Wall-clock limit of one seed: a seed running longer is asked to stop
    /// ([`StopReason::TimedOut`]).
    pub timeout: Option<Duration>,
    /// Set (by Ctrl-C) to start no more seeds and ask running ones to stop
    /// ([`StopReason::Interrupted`]).
    pub interrupt: Option<&'a AtomicBool>,
    /// When set, start no seed at or after this instant; running seeds
    /// finish (`flinch campaign run --minutes`).
    pub deadline: Option<Instant>,
    /// Hand each result to `on_event` only, and keep none: a long campaign
    /// writes them out as they come, and [`Swept::results`] stays empty.
    pub discard_results: bool,
    /// Seeds a worker passes over without running them or telling the
    /// calling thread (a campaign's pairs already in its results file):
    /// they have no result, and count as neither run nor not started.
    pub skip: Option<&'a (dyn Fn(u64) -> bool + Sync)>,
}

/// Why a running seed was asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// It ran longer than [`Controls::timeout`].
    TimedOut,
    /// The sweep was interrupted (Ctrl-C).
    Interrupted,
}

/// A running seed's stop switch, handed to the runner. The simulation's
/// step loop polls [`Stop::requested`], an atomic load: the wall clock is
/// read only by the sweep's watchdog (the calling thread), which flips the
/// switch when the seed's time is up.
#[derive(Debug)]
pub struct Stop<'a> {
    switch: Arc<AtomicU8>,
    interrupt: Option<&'a AtomicBool>,
}

const RUN: u8 = 0;
const TIMED_OUT: u8 = 1;

impl Stop<'_> {
    /// A switch nobody flips: the run goes to its verdict.
    pub fn never() -> Stop<'static> {
        Stop {
            switch: Arc::new(AtomicU8::new(RUN)),
            interrupt: None,
        }
    }

    /// Whether the run should stop now.
    pub fn requested(&self) -> bool {
        self.reason().is_some()
    }

    /// Why the run should stop, if it should: a timeout wins over an
    /// interrupt, since the seed had run out of time either way.
    pub fn reason(&self) -> Option<StopReason> {
        if self.switch.load(Ordering::Relaxed) == TIMED_OUT {
            Some(StopReason::TimedOut)
        } else if self.interrupt.is_some_and(|i| i.load(Ordering::Relaxed)) {
            Some(StopReason::Interrupted)
        } else {
            None
        }
    }
}

/// What a [`sweep`] did: the results, and what it did not run.
#[derive(Debug)]
pub struct Swept<T> {
    /// Sorted by seed: every seed that finished, and every one the runner
    /// gave a result for after it was stopped (a timed-out seed).
    pub results: Vec<T>,
    /// Seeds that were running when the sweep was interrupted, stopped
    /// without a result.
    pub stopped: u64,
    /// Seeds of the range never started (interrupt or fail-fast).
    pub not_started: u64,
    /// The interrupt flag was set before the sweep ended.
    pub interrupted: bool,
    /// A failure stopped the sweep from starting seeds (`fail_fast`).
    pub failed_fast: bool,
    /// [`Controls::deadline`] passed before the sweep ended.
    pub deadline_passed: bool,
}

/// How often the calling thread wakes at least: to show progress, and to
/// notice Ctrl-C while every worker is busy with a long seed.
const POLL: Duration = Duration::from_millis(100);

/// A worker's report to the calling thread.
enum Message<T> {
    Started {
        seed: u64,
        at: Instant,
        switch: Arc<AtomicU8>,
    },
    /// `None`: stopped without a result (interrupted).
    Done { seed: u64, result: Option<T> },
}

/// Run every seed of `seeds` as [`run_parallel`] does, under `controls`:
/// each seed's runner gets a [`Stop`] to poll (and to ask why it stopped);
/// it returns `None` for a seed stopped without a result. The calling
/// thread is the watchdog: it wakes at the next seed's deadline (or every
/// [`POLL`]) and flips the switch of a seed past its time; after an
/// interrupt or (with `fail_fast`) a failure, no seed starts. Every seed
/// below the highest one started was started too, so with `fail_fast` the
/// lowest failing seed among the results is the lowest failing seed of all
/// those started, whichever finished first.
pub fn sweep<T, R>(
    seeds: impl RangeBounds<u64>,
    controls: &Controls<'_>,
    runner: R,
    mut on_event: impl FnMut(Option<&T>),
) -> anyhow::Result<Swept<T>>
where
    T: Send + HasSeed,
    R: FnMut(u64, &Stop) -> Option<T> + Clone + Send,
{
    let (start, count) = first_and_count(&seeds);
    let threads = u64::try_from(controls.jobs.max(1))
        .unwrap_or(u64::MAX)
        .min(count);
    let next = AtomicU64::new(0);
    // Set once no more seeds may start.
    let closed = AtomicBool::new(false);
    // Set when a failure closed it (`fail_fast`): by the worker that ran
    // the failing seed, before it could claim another.
    let failed_fast = AtomicBool::new(false);
    let fail_fast = controls.fail_fast;
    let interrupted = || {
        controls
            .interrupt
            .is_some_and(|i| i.load(Ordering::Relaxed))
    };
    let mut swept = Swept {
        // Capacity capped: a range can name more seeds than memory could hold.
        results: Vec::with_capacity(usize::try_from(count.min(1 << 16)).unwrap_or(0)),
        stopped: 0,
        not_started: 0,
        interrupted: false,
        failed_fast: false,
        deadline_passed: false,
    };
    thread::scope(|scope| -> anyhow::Result<()> {
        let (tx, rx) = mpsc::channel::<Message<T>>();
        let mut started = 0;
        for n in 0..threads {
            let tx = tx.clone();
            let mut runner = runner.clone();
            let (next, closed, failed_fast) = (&next, &closed, &failed_fast);
            let interrupt = controls.interrupt;
            let sweep_deadline = controls.deadline;
            let skip = controls.skip;
            let spawned = thread::Builder::new()
                .name(format!("seed-worker-{n}"))
                .stack_size(WORKER_STACK)
                .spawn_scoped(scope, move || {
                    // Claim indices 0..count; never overflows, never repeats.
                    // Not after the sweep closed, nor once Ctrl-C came (the
                    // calling thread closes it at its next wake-up).
                    let open = || {
                        !closed.load(Ordering::Relaxed)
                            && !interrupt.is_some_and(|i| i.load(Ordering::Relaxed))
                            && sweep_deadline.is_none_or(|d| Instant::now() < d)
                    };
                    let claim = || {
                        next.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |i| {
                            (i < count && open()).then_some(i + 1)
                        })
                    };
                    while let Ok(i) = claim() {
                        let seed = start + i;
                        if skip.is_some_and(|skip| skip(seed)) {
                            continue;
                        }
                        let stop = Stop {
                            switch: Arc::new(AtomicU8::new(RUN)),
                            interrupt,
                        };
                        let at = Instant::now();
                        let switch = stop.switch.clone();
                        if tx.send(Message::Started { seed, at, switch }).is_err() {
                            break;
                        }
                        let result = runner(seed, &stop);
                        if fail_fast
                            && result.as_ref().is_some_and(HasSeed::failed)
                            && !closed.swap(true, Ordering::Relaxed)
                        {
                            failed_fast.store(true, Ordering::Relaxed);
                        }
                        if tx.send(Message::Done { seed, result }).is_err() {
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
        // Running seeds, with their deadline and switch.
        let mut running: BTreeMap<u64, (Option<Instant>, Arc<AtomicU8>)> = BTreeMap::new();
        loop {
            let now = Instant::now();
            let wait = running
                .values()
                .filter_map(|(deadline, _)| *deadline)
                .min()
                .map_or(POLL, |d| d.saturating_duration_since(now).min(POLL));
            match rx.recv_timeout(wait) {
                Ok(Message::Started { seed, at, switch }) => {
                    let deadline = controls.timeout.and_then(|t| at.checked_add(t));
                    running.insert(seed, (deadline, switch));
                }
                Ok(Message::Done { seed, result }) => {
                    running.remove(&seed);
                    match result {
                        Some(r) => {
                            on_event(Some(&r));
                            if !controls.discard_results {
                                swept.results.push(r);
                            }
                        }
                        None => swept.stopped += 1,
                    }
                }
                Err(RecvTimeoutError::Timeout) => on_event(None),
                Err(RecvTimeoutError::Disconnected) => break,
            }
            let now = Instant::now();
            for (deadline, switch) in running.values_mut() {
                if deadline.is_some_and(|d| now >= d) {
                    // Only a running seed's switch: a finished one's is gone.
                    switch.store(TIMED_OUT, Ordering::Relaxed);
                    *deadline = None;
                }
            }
            if interrupted() {
                swept.interrupted = true;
                closed.store(true, Ordering::Relaxed);
            }
            if controls.deadline.is_some_and(|d| now >= d) {
                closed.store(true, Ordering::Relaxed);
            }
        }
        Ok(())
    })?;
    let claimed = next.load(Ordering::Relaxed);
    swept.not_started = count - claimed;
    swept.interrupted |= interrupted();
    swept.failed_fast = failed_fast.load(Ordering::Relaxed);
    swept.deadline_passed =
        swept.not_started > 0 && controls.deadline.is_some_and(|d| Instant::now() >= d);
    swept.results.sort_by_key(HasSeed::seed);
    Ok(swept)
}

/// The first seed of `seeds` and how many there are, saturating: of
/// `0..=u64::MAX`, whose count a `u64` cannot hold, the last seed is never
/// reached (nor would it be in any lifetime).
fn first_and_count(seeds: &impl RangeBounds<u64>) -> (u64, u64) {
    let first = match seeds.start_bound() {
        Bound::Included(&first) => first,
        Bound::Excluded(&before) => match before.checked_add(1) {
            Some(first) => first,
            None => return (0, 0),
        },
        Bound::Unbounded => 0,
    };
    let count = match seeds.end_bound() {
        Bound::Included(&last) if last < first => 0,
        Bound::Included(&last) => (last - first).saturating_add(1),
        Bound::Excluded(&end) => end.saturating_sub(first),
        Bound::Unbounded => (u64::MAX - first).saturating_add(1),
    };
    (first, count)
}

/// What [`sweep`] needs of a result.
pub trait HasSeed {
    fn seed(&self) -> u64;
    /// Whether it stops a `fail_fast` sweep.
    fn failed(&self) -> bool {
        false
    }
}

impl HasSeed for SeedReport {
    fn seed(&self) -> u64 {
        self.seed
    }

    fn failed(&self) -> bool {
        !self.passed
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use flinch_engine::event::Event;
    use flinch_engine::record::{OutputRecord, TxnId};
    use flinch_harness::outcome::CommittedTxn;
    use flinch_harness::trace::{TraceEvent, What};
    use flinch_harness::violation::{Checker, Violation};

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
            trace,
            sim_time: Duration::from_millis(1500),
            host_steps: Default::default(),
            refused_connections: 0,
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
            output: Vec::new(),
            duplicates: 0,
            lost: Vec::new(),
            plan: Vec::new(),
            fired_at: Vec::new(),
        }
    }

    #[test]
    fn a_panic_that_escapes_the_harness_becomes_an_internal_error() {
        let line = line!() + 1;
        let r = guard(9, || panic!("boom at {}", 9));
        assert_eq!(r.seed, 9);
        assert!(!r.passed);
        assert_eq!(r.violations.len(), 1);
        assert_eq!(r.violations[0].kind, "internal-error");
        assert_eq!(
            r.violations[0].to_string(),
            format!(
                "[expected-outcome] internal-error: panic in src/cli/exec.rs:{line}:29 in \
                 flinch, outside the simulation: boom at 9"
            )
        );

        let r = guard(1, || panic!("static"));
        assert!(r.violations[0].message.ends_with(": static"));

        let r = guard(2, || std::panic::panic_any(17_u32));
        assert!(r.violations[0]
            .message
            .ends_with(": (a panic without a message)"));

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
    fn the_last_seed_there_is_runs() {
        let max = u64::MAX;
        let swept = sweep(
            max - 2..=max,
            &Controls::default(),
            |seed, _: &Stop| Some(fake_report(seed, 0, 0)),
            |_: Option<&SeedReport>| {},
        )
        .expect("threads start");
        let seeds: Vec<u64> = swept.results.iter().map(|r| r.seed).collect();
        assert_eq!(seeds, [max - 2, max - 1, max]);
        assert_eq!(first_and_count(&(max..=max)), (max, 1));
        assert_eq!(first_and_count(&(0..=max)), (0, max));
        let reversed = std::ops::RangeInclusive::new(5, 4);
        assert_eq!(first_and_count(&reversed), (5, 0));
        assert_eq!(first_and_count(&(5..5)), (5, 0));
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

    /// A result of the sweep tests: which seed, whether it failed, and
    /// how it ended.
    #[derive(Debug, PartialEq)]
    struct Ran {
        seed: u64,
        failed: bool,
        ended: &'static str,
    }

    impl HasSeed for Ran {
        fn seed(&self) -> u64 {
            self.seed
        }
        fn failed(&self) -> bool {
            self.failed
        }
    }

    fn ran(seed: u64, failed: bool) -> Option<Ran> {
        Some(Ran {
            seed,
            failed,
            ended: "verdict",
        })
    }

    /// Spin until `stop` is requested (as the step loop polls), for at
    /// most 10 s so a broken watchdog fails the test instead of hanging it.
    fn until_stopped(stop: &Stop) -> Option<StopReason> {
        let t = Instant::now();
        while !stop.requested() && t.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_micros(200));
        }
        stop.reason()
    }

    fn seeds_of(results: &[Ran]) -> Vec<u64> {
        results.iter().map(|r| r.seed).collect()
    }

    #[test]
    fn fail_fast_waits_for_running_seeds_and_reports_the_lowest_failure() {
        let controls = Controls {
            jobs: 4,
            fail_fast: true,
            ..Controls::default()
        };
        // Seed 5 fails at once, while seed 3 (started earlier) is still
        // running toward its own, lower, failure.
        let swept = sweep(
            0..100,
            &controls,
            |seed, _: &Stop| {
                let ms = if seed == 3 { 200 } else { 1 };
                std::thread::sleep(Duration::from_millis(if seed == 5 { 0 } else { ms }));
                ran(seed, seed == 3 || seed == 5)
            },
            |_: Option<&Ran>| {},
        )
        .expect("threads start");
        assert!(swept.failed_fast && !swept.interrupted);
        let first = swept.results.iter().find(|r| r.failed).expect("a failure");
        assert_eq!(first.seed, 3, "{:?}", seeds_of(&swept.results));
        // Every seed below the highest that ran ran too: no gaps.
        let seeds = seeds_of(&swept.results);
        assert_eq!(seeds, (0..seeds.len() as u64).collect::<Vec<_>>());
        assert_eq!(swept.stopped, 0);
        assert_eq!(swept.results.len() as u64 + swept.not_started, 100);
        assert!(swept.not_started > 50, "{} not started", swept.not_started);
    }

    /// Found by a colleague trying the README's claim: the worker that ran
    /// a failing seed used to claim the next one before the calling thread
    /// closed the sweep, so one seed more ran.
    #[test]
    fn fail_fast_on_one_thread_starts_no_seed_after_the_failure() {
        for _ in 0..20 {
            let controls = Controls {
                jobs: 1,
                fail_fast: true,
                ..Controls::default()
            };
            let swept = sweep(
                0..40,
                &controls,
                |seed, _: &Stop| ran(seed, seed == 2),
                |_: Option<&Ran>| {},
            )
            .expect("threads start");
            assert_eq!(seeds_of(&swept.results), vec![0, 1, 2]);
            assert!(swept.failed_fast);
            assert_eq!(swept.not_started, 37);
        }
    }

    #[test]
    fn without_fail_fast_every_seed_runs_despite_failures() {
        let swept = sweep(
            0..40,
            &Controls {
                jobs: 3,
                ..Controls::default()
            },
            |seed, _: &Stop| ran(seed, seed % 2 == 0),
            |_: Option<&Ran>| {},
        )
        .expect("threads start");
        assert_eq!(seeds_of(&swept.results), (0..40).collect::<Vec<_>>());
        assert!(!swept.failed_fast);
        assert_eq!(swept.not_started, 0);
    }

    #[test]
    fn the_watchdog_stops_a_seed_past_its_timeout_and_no_other() {
        let controls = Controls {
            jobs: 2,
            timeout: Some(Duration::from_millis(20)),
            ..Controls::default()
        };
        let started = Instant::now();
        let swept = sweep(
            0..6,
            &controls,
            |seed, stop: &Stop| {
                if seed != 2 {
                    return ran(seed, false);
                }
                let ended = match until_stopped(stop) {
                    Some(StopReason::TimedOut) => "timed out",
                    Some(StopReason::Interrupted) => "interrupted",
                    None => "never stopped",
                };
                Some(Ran {
                    seed,
                    failed: true,
                    ended,
                })
            },
            |_: Option<&Ran>| {},
        )
        .expect("threads start");
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(seeds_of(&swept.results), (0..6).collect::<Vec<_>>());
        let ended: Vec<&str> = swept.results.iter().map(|r| r.ended).collect();
        assert_eq!(
            ended,
            [
                "verdict",
                "verdict",
                "timed out",
                "verdict",
                "verdict",
                "verdict"
            ]
        );
    }

    #[test]
    fn skipped_seeds_are_neither_run_nor_reported_nor_counted_as_not_started() {
        let skip = |seed: u64| !seed.is_multiple_of(3);
        let controls = Controls {
            jobs: 2,
            skip: Some(&skip),
            ..Controls::default()
        };
        let mut reported = Vec::new();
        let swept = sweep(
            0..30,
            &controls,
            |seed, _: &Stop| {
                assert!(
                    seed.is_multiple_of(3),
                    "seed {seed} was skipped, yet it ran"
                );
                ran(seed, false)
            },
            |r: Option<&Ran>| reported.extend(r.map(|r| r.seed)),
        )
        .expect("threads start");
        let expected: Vec<u64> = (0..30).step_by(3).collect();
        reported.sort_unstable();
        assert_eq!(reported, expected);
        let results: Vec<u64> = swept.results.iter().map(|r| r.seed).collect();
        assert_eq!(results, expected);
        assert_eq!((swept.not_started, swept.stopped), (0, 0));
    }

    #[test]
    fn past_the_deadline_no_seed_starts_and_running_ones_finish() {
        let controls = Controls {
            jobs: 2,
            deadline: Some(Instant::now() + Duration::from_millis(50)),
            discard_results: true,
            ..Controls::default()
        };
        let mut seen = Vec::new();
        let swept = sweep(
            0..1_000_000,
            &controls,
            |seed, stop: &Stop| {
                std::thread::sleep(Duration::from_millis(20));
                // The deadline stops no running seed.
                assert!(!stop.requested());
                ran(seed, false)
            },
            |r: Option<&Ran>| seen.extend(r.map(|r| r.seed)),
        )
        .expect("threads start");
        assert!(swept.deadline_passed && !swept.interrupted);
        assert!(swept.results.is_empty(), "discarded");
        // About 50 ms / 20 ms per seed on each of 2 threads; every seed
        // started also finished.
        assert!((2..=40).contains(&seen.len()), "{seen:?}");
        seen.sort_unstable();
        assert_eq!(seen, (0..seen.len() as u64).collect::<Vec<_>>());
        assert_eq!(swept.not_started, 1_000_000 - seen.len() as u64);
    }

    #[test]
    fn an_interrupt_stops_running_seeds_and_starts_no_more() {
        let flag = AtomicBool::new(false);
        let controls = Controls {
            jobs: 2,
            interrupt: Some(&flag),
            ..Controls::default()
        };
        let swept = sweep(
            0..1000,
            &controls,
            |seed, stop: &Stop| {
                if seed == 10 {
                    // Ctrl-C arrives while seed 10 runs.
                    flag.store(true, Ordering::Relaxed);
                    assert_eq!(until_stopped(stop), Some(StopReason::Interrupted));
                    return None;
                }
                std::thread::sleep(Duration::from_millis(1));
                ran(seed, false)
            },
            |_: Option<&Ran>| {},
        )
        .expect("threads start");
        assert!(swept.interrupted && !swept.failed_fast);
        assert_eq!(swept.stopped, 1);
        assert!(!seeds_of(&swept.results).contains(&10));
        assert_eq!(
            swept.results.len() as u64 + swept.stopped + swept.not_started,
            1000
        );
        assert!(swept.not_started > 900, "{} not started", swept.not_started);
    }

    #[test]
    fn a_stop_nobody_flips_is_never_requested() {
        let stop = Stop::never();
        assert!(!stop.requested());
        assert_eq!(stop.reason(), None);
        let flag = AtomicBool::new(true);
        let switch = Arc::new(AtomicU8::new(TIMED_OUT));
        let both = Stop {
            switch,
            interrupt: Some(&flag),
        };
        assert_eq!(both.reason(), Some(StopReason::TimedOut), "a timeout wins");
    }
}
