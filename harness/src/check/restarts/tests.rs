use super::*;
use crate::check::fixture::{
    correct_run, event, failed_run, failed_scenario, kinds, real_run, scenario,
};
use crate::expect::Expectation;
use crate::outcome::RunOutcome;
use crate::trace::FaultEvent;

fn fixed(attempts: u32, delay_ms: u64) -> RestartConfig {
    RestartConfig::FixedDelay {
        attempts,
        delay: Duration::from_millis(delay_ms),
    }
}

/// One step of a hand-written jobmanager timeline, at a time in ms.
enum Step {
    /// A failover answered by a restart (attempt, delay in ms).
    Restart(u64, u32, u64),
    /// A failover answered by nothing, then the job's failure 5ms later.
    GiveUp(u64),
    /// The jobmanager process (re)starts.
    JmStarted(u64),
}

/// The trace of `steps`, with a taskmanager crash at the start.
fn timeline(steps: &[Step]) -> Vec<TraceEvent> {
    let at = Duration::from_millis;
    let jm = |ms: u64, e: Event| event(at(ms), JOBMANAGER, e);
    let failover = |ms: u64| {
        let cause = "taskmanager-2 lost: connection closed".to_string();
        jm(ms, Event::Failover { epoch: 2, cause })
    };
    let mut trace = vec![TraceEvent {
        at: Duration::ZERO,
        host: "taskmanager-2".into(),
        what: What::Fault(FaultEvent::Crash),
    }];
    for step in steps {
        match *step {
            Step::Restart(ms, attempt, delay_ms) => trace.extend([
                failover(ms),
                jm(ms, Event::RestartScheduled { attempt, delay_ms }),
                jm(ms, Event::JobState(JobState::Restarting { epoch: 2 })),
            ]),
            Step::GiveUp(ms) => {
                let reason = format!("{GIVE_UP_PREFIX} gave up");
                let failed = Event::JobState(JobState::Failed { reason });
                trace.extend([failover(ms), jm(ms + 5, failed)]);
            }
            Step::JmStarted(ms) => trace.push(jm(ms, Event::HostStarted)),
        }
    }
    trace
}

fn check(config: &RestartConfig, steps: &[Step]) -> Vec<&'static str> {
    kinds(&restart_conformance(&timeline(steps), config))
}

#[test]
fn the_fixture_runs_conform_to_their_strategies() {
    let s = scenario(Expectation::ExactlyOnce);
    assert_eq!(
        restart_conformance(&correct_run().trace, &s.config.restart),
        []
    );
    let s = failed_scenario();
    assert_eq!(
        restart_conformance(&failed_run().trace, &s.config.restart),
        []
    );
}

#[test]
fn real_runs_conform_to_their_strategies() {
    for name in ["taskmanager-crash", "restarts-exhausted"] {
        for seed in 0..3 {
            let (s, run) = real_run(name, seed);
            let failovers = run.trace.iter().filter(|e| is_failover(e)).count();
            assert!(failovers >= 1, "{name} seed {seed} failed over");
            let found = restart_conformance(&run.trace, &s.config.restart);
            assert_eq!(found, [], "{name} seed {seed}");
        }
    }
}

fn is_failover(e: &TraceEvent) -> bool {
    matches!(e.what, What::Engine(Event::Failover { .. }))
}

/// `restarts-exhausted`, seed 0: two restarts, then a give-up.
fn exhausted() -> (RestartConfig, RunOutcome) {
    let (s, run) = real_run("restarts-exhausted", 0);
    (s.config.restart, run)
}

fn scheduled(run: &mut RunOutcome) -> Vec<(&mut u32, &mut u64)> {
    let all = run.trace.iter_mut().filter_map(|e| match &mut e.what {
        What::Engine(Event::RestartScheduled { attempt, delay_ms }) => Some((attempt, delay_ms)),
        _ => None,
    });
    all.collect()
}

#[test]
fn a_restart_after_another_delay_is_a_wrong_delay_naming_both() {
    let (config, mut run) = exhausted();
    *scheduled(&mut run)[1].1 = 60;
    let found = restart_conformance(&run.trace, &config);
    assert_eq!(kinds(&found), [kind::WRONG_DELAY]);
    assert_eq!(found[0].checker, Checker::RestartConformance);
    assert_eq!(
        found[0].message,
        "the failover at 0.802s (cause: count[0] failed: input channel 1 broken: connection \
         closed by peer) should restart attempt 2 after 50ms under restart strategy fixed-delay {attempts = 2, delay = 50ms}, \
         but it scheduled attempt 2 after 60ms"
    );
}

#[test]
fn a_restart_numbered_otherwise_is_a_wrong_attempt() {
    let (config, mut run) = exhausted();
    *scheduled(&mut run)[0].0 = 2;
    assert_eq!(
        kinds(&restart_conformance(&run.trace, &config)),
        [kind::WRONG_ATTEMPT]
    );
}

#[test]
fn a_restart_where_the_strategy_gives_up_is_an_unexpected_restart() {
    let (config, mut run) = exhausted();
    let last = run.trace.iter().rposition(is_failover);
    let last = last.expect("restarts-exhausted fails over");
    let at = run.trace[last].at;
    let restart = Event::RestartScheduled {
        attempt: 3,
        delay_ms: 50,
    };
    run.trace.insert(last + 1, event(at, JOBMANAGER, restart));
    run.trace.retain(|e| {
        !matches!(
            e.what,
            What::Engine(Event::JobState(JobState::Failed { .. }))
        )
    });
    let found = restart_conformance(&run.trace, &config);
    assert_eq!(kinds(&found), [kind::UNEXPECTED_RESTART]);
    assert!(
        found[0].message.contains(
            "should give up (fixed-delay allows 2 restarts and this is failure 3) under \
             restart strategy fixed-delay {attempts = 2, delay = 50ms}, but it scheduled \
             restart attempt 3 after 50ms"
        ),
        "{}",
        found[0]
    );
}

#[test]
fn a_give_up_without_its_failover_is_an_unexpected_give_up() {
    let (config, mut run) = exhausted();
    let last = run.trace.iter().rposition(is_failover);
    run.trace
        .remove(last.expect("restarts-exhausted fails over"));
    let found = restart_conformance(&run.trace, &config);
    assert_eq!(kinds(&found), [kind::UNEXPECTED_GIVE_UP]);
    assert!(found[0]
        .message
        .contains("but no failover before it was refused a restart"));
}

#[test]
fn more_restarts_than_the_strategy_allows_are_caught() {
    let (s, mut run) = real_run("taskmanager-crash", 1);
    let RestartConfig::FixedDelay { attempts, .. } = s.config.restart else {
        panic!("taskmanager-crash restarts with fixed-delay");
    };
    let seen = run.trace.iter().filter(|e| is_failover(e)).count() as u32;
    assert!(seen <= attempts, "{seen} failovers");
    let first = run.trace.iter().position(is_failover);
    let first = first.expect("taskmanager-crash fails over");
    let pair = run.trace[first..first + 2].to_vec();
    let end = run.trace.last().map_or(Duration::ZERO, |e| e.at);
    // Failures seen+1 up to attempts are allowed; failure attempts+1 is not.
    for n in seen + 1..=attempts + 1 {
        for mut e in pair.clone() {
            e.at = end + Duration::from_millis(100 * u64::from(n));
            if let What::Engine(Event::RestartScheduled { attempt, .. }) = &mut e.what {
                *attempt = n;
            }
            run.trace.push(e);
        }
    }
    let found = restart_conformance(&run.trace, &s.config.restart);
    assert_eq!(kinds(&found), [kind::UNEXPECTED_RESTART], "{found:#?}");
    assert!(found[0]
        .message
        .contains(&format!("and this is failure {}", attempts + 1)));
}

#[test]
fn a_failover_without_a_restart_where_one_was_due_is_an_unexpected_give_up() {
    let (config, mut run) = exhausted();
    let first = run
        .trace
        .iter()
        .position(|e| matches!(e.what, What::Engine(Event::RestartScheduled { .. })));
    run.trace
        .remove(first.expect("restarts-exhausted restarts"));
    let found = restart_conformance(&run.trace, &config);
    // Only the first failover is wrong: the strategy counted it all the same.
    assert_eq!(kinds(&found), [kind::UNEXPECTED_GIVE_UP]);
    // The job went on all the same: a failover that bypassed the strategy.
    assert!(
        found[0]
            .message
            .contains("but no restart was scheduled, yet the job went on as attempt (epoch) 2 at "),
        "{}",
        found[0].message
    );
    // Without any state after it, the failover just stops there.
    let failover = run
        .trace
        .iter()
        .position(|e| matches!(e.what, What::Engine(Event::Failover { .. })))
        .expect("restarts-exhausted fails over");
    run.trace.truncate(failover + 1);
    let found = restart_conformance(&run.trace, &config);
    assert_eq!(kinds(&found), [kind::UNEXPECTED_GIVE_UP]);
    assert!(found[0].message.ends_with("but no restart was scheduled"));
}

#[test]
fn a_restart_scheduled_without_a_failover_is_an_unexpected_restart() {
    let mut trace = timeline(&[Step::Restart(100, 1, 50)]);
    trace.push(event(
        Duration::from_millis(300),
        JOBMANAGER,
        Event::RestartScheduled {
            attempt: 2,
            delay_ms: 50,
        },
    ));
    let found = restart_conformance(&trace, &fixed(5, 50));
    assert_eq!(kinds(&found), [kind::UNEXPECTED_RESTART]);
    assert!(found[0]
        .message
        .contains("but no failover at that instant asked"));
}

#[test]
fn a_restart_scheduled_a_moment_after_its_failover_does_not_answer_it() {
    let mut trace = timeline(&[Step::Restart(100, 1, 50)]);
    for e in &mut trace[2..] {
        e.at += Duration::from_millis(2);
    }
    assert_eq!(
        kinds(&restart_conformance(&trace, &fixed(5, 50))),
        [kind::UNEXPECTED_GIVE_UP, kind::UNEXPECTED_RESTART]
    );
}

#[test]
fn a_restarted_jobmanager_starts_a_fresh_strategy() {
    use Step::*;
    let config = fixed(1, 50);
    assert_eq!(
        check(
            &config,
            &[Restart(100, 1, 50), JmStarted(200), Restart(300, 1, 50)]
        ),
        Vec::<&str>::new()
    );
    assert_eq!(
        check(&config, &[Restart(100, 1, 50), Restart(300, 2, 50)]),
        [kind::UNEXPECTED_RESTART]
    );
    assert_eq!(
        check(&config, &[Restart(100, 1, 50), GiveUp(300)]),
        Vec::<&str>::new()
    );
    assert_eq!(check(&config, &[GiveUp(300)]), [kind::UNEXPECTED_GIVE_UP]);
}

#[test]
fn strategy_none_gives_up_at_once() {
    use Step::*;
    assert_eq!(
        check(&RestartConfig::None, &[GiveUp(100)]),
        Vec::<&str>::new()
    );
    assert_eq!(
        check(&RestartConfig::None, &[Restart(100, 1, 0)]),
        [kind::UNEXPECTED_RESTART]
    );
}

#[test]
fn failure_rate_restarts_are_judged_by_their_window() {
    use Step::*;
    let config = RestartConfig::FailureRate {
        max_failures_per_interval: 2,
        interval: Duration::from_secs(10),
        delay: Duration::from_millis(50),
    };
    let ok = [
        Restart(0, 1, 50),
        Restart(5000, 2, 50),
        Restart(10_001, 3, 50),
    ];
    assert_eq!(check(&config, &ok), Vec::<&str>::new());
    let late = [
        Restart(0, 1, 50),
        Restart(4000, 2, 50),
        Restart(10_000, 3, 50),
    ];
    assert_eq!(check(&config, &late), [kind::UNEXPECTED_RESTART]);
    let refused = [Restart(0, 1, 50), Restart(4000, 2, 50), GiveUp(10_000)];
    assert_eq!(check(&config, &refused), Vec::<&str>::new());
}

#[test]
fn exponential_delay_accepts_any_jittered_delay_in_range_and_no_other() {
    use Step::*;
    let config = RestartConfig::ExponentialDelay {
        initial_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_millis(1000),
        multiplier: 2.0,
        jitter: 0.1,
        reset_backoff_threshold: Duration::from_secs(10),
        attempts: None,
    };
    // 100..=110, then 180..=220 (after the 107 chosen), then 360..=440.
    let ok = [
        Restart(0, 1, 107),
        Restart(108, 2, 180),
        Restart(289, 3, 440),
    ];
    assert_eq!(check(&config, &ok), Vec::<&str>::new());
    let short = [Restart(0, 1, 107), Restart(108, 2, 179)];
    assert_eq!(check(&config, &short), [kind::WRONG_DELAY]);
    let long = [Restart(0, 1, 111)];
    assert_eq!(check(&config, &long), [kind::WRONG_DELAY]);
    // Far after the last restart was due, the backoff starts over.
    let reset = [Restart(0, 1, 100), Restart(10_100, 2, 105)];
    assert_eq!(check(&config, &reset), Vec::<&str>::new());
}

/// The strategy counts time on the jobmanager's clock: under a drift of
/// +0.5 from 0 ms, failovers at 500, 1,000 and 1,400 ms of simulated time
/// are at 750, 1,500 and 2,100 ms on it, so failure-rate 2 per 1 s still
/// restarts the third (two failures within the second before 2,100 ms).
/// Read in simulated time (900 ms for all three) it would give up, which
/// the checker once demanded (a false alarm found by a review); a restart
/// at the same times without the drift is still caught.
#[test]
fn failover_times_are_read_on_the_jobmanagers_drifting_clock() {
    let rate = RestartConfig::FailureRate {
        max_failures_per_interval: 2,
        interval: Duration::from_secs(1),
        delay: Duration::from_millis(10),
    };
    let steps = [
        Step::Restart(500, 1, 10),
        Step::Restart(1_000, 2, 10),
        Step::Restart(1_400, 3, 10),
    ];
    let mut trace = timeline(&steps);
    let without_drift = restart_conformance(&trace, &rate);
    assert_eq!(kinds(&without_drift), [kind::UNEXPECTED_RESTART]);
    trace.insert(
        1,
        TraceEvent {
            at: Duration::ZERO,
            host: JOBMANAGER.into(),
            what: What::Fault(FaultEvent::ClockDrift {
                drift: "0.5".into(),
            }),
        },
    );
    assert_eq!(restart_conformance(&trace, &rate), []);
    // A slow clock the other way: 800 ms apart are 400 ms on it, so the
    // third failover within 1 s on the clock must give up.
    let slow = |steps: &[Step]| {
        let mut trace = timeline(steps);
        let drift = FaultEvent::ClockDrift {
            drift: "-0.5".into(),
        };
        let at = Duration::ZERO;
        (trace.insert(1, event_fault(at, drift)), trace).1
    };
    let gave_up = slow(&[
        Step::Restart(500, 1, 10),
        Step::Restart(1_300, 2, 10),
        Step::GiveUp(2_100),
    ]);
    assert_eq!(restart_conformance(&gave_up, &rate), []);
    let restarted = slow(&[
        Step::Restart(500, 1, 10),
        Step::Restart(1_300, 2, 10),
        Step::Restart(2_100, 3, 10),
    ]);
    let violations = restart_conformance(&restarted, &rate);
    assert_eq!(kinds(&violations), [kind::UNEXPECTED_RESTART]);
    assert!(
        violations[0]
            .message
            .contains("1.050s on the jobmanager's drifting clock"),
        "{}",
        violations[0].message
    );
}

fn event_fault(at: Duration, what: FaultEvent) -> TraceEvent {
    TraceEvent {
        at,
        host: JOBMANAGER.into(),
        what: What::Fault(what),
    }
}
