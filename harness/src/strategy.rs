//! proptest strategies for everything a run is made of: faults, fault
//! plans, workloads, checkpoint and restart configurations, topologies,
//! and whole [`Case`]s that combine them. Property suites compose these
//! (flinch's own are in `tests/properties_simulated.rs`); when a property
//! fails, proptest shrinks the case toward fewer, shorter and earlier
//! faults and a smaller workload, and prints the minimal case as a
//! scenario file that `flinch run` accepts.
//!
//! Every value is drawn from a range whose low end is the simple one, so
//! shrinking moves there: a plan loses faults, a fault's `at` moves toward
//! the start of its window and its duration toward the shortest, a
//! workload toward fewer records, keys and partitions.
//!
//! ```no_run
//! use flinch_engine::config::CheckpointMode;
//! use flinch_harness::strategy;
//! use proptest::prelude::*;
//!
//! proptest! {
//!     #[test]
//!     fn survivable_cases_pass(case in strategy::survivable_case(CheckpointMode::ExactlyOnce)) {
//!         let report = case.run();
//!         prop_assert!(report.passed, "{:?}", report.violations);
//!     }
//! }
//! ```

use crate::expect::Expectation;
use crate::fault::{EventTrigger, Fault, FaultKind, Trigger, ALL_PEERS};
use crate::nemesis::{ranges, NemesisKind};
use crate::plan;
use crate::scenario::{host_names, Scenario};
use crate::seed::{run_seed, SeedReport};
use flinch_engine::config::{
    CheckpointConfig, CheckpointMode, JobConfig, RestartConfig, SinkConfig, TimingConfig,
    TopologyConfig, WorkloadConfig,
};
use flinch_engine::io::addr::{JOBMANAGER, STORE};
use flinch_engine::workload::{earliest_end_of_input, max_rate};
use proptest::prelude::*;
use proptest::sample::select;
use std::fmt;
use std::ops::{Range, RangeInclusive};
use std::time::Duration;

/// The most taskmanagers [`topology`] draws.
pub const MAX_TASKMANAGERS: u32 = 3;
/// A link fault's peer is drawn as one of this many choices, wrapped
/// around the hosts there are.
const PEER_CHOICES: usize = 8;
/// The most faults in one [`survivable_case`].
pub const MAX_CASE_FAULTS: usize = 5;
/// Cases draw their seed below this: any seed is as good as another, and
/// short ones are easier to type.
pub const SEEDS: u64 = 1_000_000;
/// How long a generated case may run: far beyond what a survivable plan
/// needs (at most 3 s of input, and a liveness margin of at most 8.5 s
/// with the drawn configurations, see [`crate::budget::Margin`]), so a
/// run that hits it has hung. A case's scenario file must parse back, so
/// this is checked against [`crate::budget::needed_sim_time`] like any
/// explicit `max_sim_time`.
pub const CASE_MAX_SIM_TIME: Duration = Duration::from_secs(30);

/// Engine events every run produces again after any moment before its
/// input can have been read ([`earliest_end_of_input`]), at least as often
/// as the bound says: the job cannot finish without a final checkpoint
/// whose offsets are the input's ends, so its barrier reached each source
/// after the source read its last record; that checkpoint then snapshots
/// and acknowledges at least two tasks (a source and a count) and
/// completes. Faults triggered by them therefore always fire, and a
/// generated plan is never vacuous. (Not `checkpoint_triggered`: the final
/// checkpoint may be triggered early and its barrier held up on the way,
/// found by a 15,000-case run.)
const SURE_EVENTS: [(&str, u32); 3] = [
    ("state_snapshotted", 2),
    ("checkpoint_acknowledged", 2),
    ("checkpoint_completed", 1),
];

fn ms(range: RangeInclusive<u64>) -> impl Strategy<Value = Duration> {
    range.prop_map(Duration::from_millis)
}

/// A number in tenths: few values, so it shrinks in a few steps (a float
/// range shrinks by bisection, each step a whole simulation).
fn tenths(range: RangeInclusive<u32>) -> impl Strategy<Value = f64> {
    range.prop_map(|n| f64::from(n) / 10.0)
}

/// Taskmanagers 1 to [`MAX_TASKMANAGERS`], parallelism 1 to 3, max
/// parallelism 8 to 128 key groups.
pub fn topology() -> impl Strategy<Value = TopologyConfig> {
    (1..=MAX_TASKMANAGERS, 1u32..=3, 8u32..=128).prop_map(
        |(taskmanagers, parallelism, max_parallelism)| TopologyConfig {
            taskmanagers,
            parallelism,
            max_parallelism,
            store_replicas: 1,
            jobmanagers: 1,
        },
    )
}

/// 50 to 1,500 records over 1 to 3 partitions, 1 to 32 keys, skew 0 to
/// 1.5, 500 to 2,000 records per second per source, batches of 10 to 100:
/// at most 3 simulated seconds of input. The rate is held to what sources
/// honour with the batch drawn ([`max_rate`]: 1,250 records/s with
/// batches of 10), as a scenario file must.
pub fn workload() -> impl Strategy<Value = WorkloadConfig> {
    (
        50u64..=1_500,
        1u32..=32,
        1u32..=3,
        tenths(0..=15),
        500u64..=2_000,
        10u32..=100,
    )
        .prop_map(
            |(records, keys, partitions, skew, rate, batch)| WorkloadConfig {
                records,
                keys,
                partitions,
                skew,
                rate: rate.min(max_rate(batch)),
                batch,
            },
        )
}

/// Checkpoints in `mode` every 50 to 500 ms, timing out after 1 to 3 s,
/// with a pause of up to 100 ms, 1 or 2 at once, 1 to 3 retained, and up
/// to 3 tolerable failures.
pub fn checkpoint(mode: CheckpointMode) -> impl Strategy<Value = CheckpointConfig> {
    (
        ms(50..=500),
        ms(1_000..=3_000),
        ms(0..=100),
        1u32..=2,
        1u32..=3,
        0u32..=3,
    )
        .prop_map(
            move |(interval, timeout, min_pause, max_concurrent, retained, tolerable_failures)| {
                CheckpointConfig {
                    mode,
                    interval,
                    timeout,
                    min_pause,
                    max_concurrent,
                    retained,
                    tolerable_failures,
                    local_recovery: false,
                    memory_threshold: 0,
                }
            },
        )
}

/// Any of Flink's four restart strategies with any parameters Flink
/// accepts (see `scenario`'s `[restart]` rules), including ones that give
/// up at the first failure: `none`, and `fixed-delay` with 0 attempts.
/// exponential-delay draws a multiplier just above 1 up to 3 (Flink refuses
/// 1) and 1 to 5 attempts or none (Flink refuses 0).
pub fn restart() -> impl Strategy<Value = RestartConfig> {
    let exponential = (1u64..1000)
        .prop_flat_map(|initial| (Just(initial), initial..=20_000))
        .prop_flat_map(|(initial, max)| {
            (
                Just(initial),
                Just(max),
                (1.0 + f64::EPSILON)..3.0,
                0.0f64..0.5,
                100u64..20_000,
                proptest::option::of(1u32..6),
            )
        })
        .prop_map(|(initial, max, multiplier, jitter, threshold, attempts)| {
            RestartConfig::ExponentialDelay {
                initial_backoff: Duration::from_millis(initial),
                max_backoff: Duration::from_millis(max),
                multiplier,
                jitter,
                reset_backoff_threshold: Duration::from_millis(threshold),
                attempts,
            }
        });
    prop_oneof![
        Just(RestartConfig::None),
        (0u32..6, ms(1..=1_999))
            .prop_map(|(attempts, delay)| RestartConfig::FixedDelay { attempts, delay }),
        (1u32..4, ms(100..=9_999), ms(1..=1_999)).prop_map(|(max, interval, delay)| {
            RestartConfig::FailureRate {
                max_failures_per_interval: max,
                interval,
                delay,
            }
        }),
        exponential,
    ]
}

/// Restart strategies that never give up on the failures a survivable
/// plan causes, with short delays: fixed-delay with 100 attempts,
/// failure-rate with 100 failures per 1 to 5 s, or exponential-delay
/// without an attempt limit, a multiplier of 1.1 to 2 and a backoff of at
/// most 500 ms. Every one is a configuration Flink accepts.
pub fn survivable_restart() -> impl Strategy<Value = RestartConfig> {
    prop_oneof![
        ms(0..=100).prop_map(|delay| RestartConfig::FixedDelay {
            attempts: 100,
            delay,
        }),
        (ms(1_000..=5_000), ms(0..=100)).prop_map(|(interval, delay)| {
            RestartConfig::FailureRate {
                max_failures_per_interval: 100,
                interval,
                delay,
            }
        }),
        (ms(1..=50), ms(50..=500), tenths(11..=20), tenths(0..=3)).prop_map(
            |(initial_backoff, max_backoff, multiplier, jitter)| {
                RestartConfig::ExponentialDelay {
                    initial_backoff,
                    max_backoff,
                    multiplier,
                    jitter,
                    reset_backoff_threshold: Duration::from_secs(1),
                    attempts: None,
                }
            }
        ),
    ]
}

/// A trigger on an event every run produces again after any moment before
/// its input can have been read (see `SURE_EVENTS`), so the fault always
/// fires in a plan fitted by [`survivable_case`].
pub fn trigger() -> impl Strategy<Value = Trigger> {
    select(SURE_EVENTS.to_vec()).prop_flat_map(|(event, most)| {
        (1..=most).prop_map(move |occurrence| {
            Trigger::Event(EventTrigger {
                occurrence,
                ..EventTrigger::on(event)
            })
        })
    })
}

/// One fault kind's parameters, drawn from the nemesis's [`ranges`]. A
/// link fault's peer is left as [`ALL_PEERS`]; [`fault_on`] picks it.
fn kind(kind: NemesisKind) -> BoxedStrategy<FaultKind> {
    use ranges::*;
    let fraction =
        |range: RangeInclusive<u32>, per: f64| range.prop_map(move |n| f64::from(n) / per);
    let peer = || ALL_PEERS.to_owned();
    match kind {
        NemesisKind::CrashRestart => ms(DOWN_MS)
            .prop_map(|after| FaultKind::CrashRestart { after })
            .boxed(),
        NemesisKind::DiskLoss => ms(DOWN_MS)
            .prop_map(|after| FaultKind::DiskLoss { after })
            .boxed(),
        NemesisKind::Partition => (any::<bool>(), ms(LINK_MS))
            .prop_map(move |(oneway, duration)| FaultKind::Partition {
                peer: peer(),
                oneway,
                duration,
            })
            .boxed(),
        NemesisKind::Stall => ms(LINK_MS)
            .prop_map(move |duration| FaultKind::Stall {
                peer: peer(),
                duration,
            })
            .boxed(),
        NemesisKind::Latency => (ms(LATENCY_MAX_MS), ms(LATENCY_MS))
            .prop_map(move |(max, duration)| FaultKind::Latency {
                peer: peer(),
                min: Duration::ZERO,
                max,
                duration,
            })
            .boxed(),
        NemesisKind::MessageLoss => (fraction(LOSS_PERCENT, 100.0), ms(LOSS_MS))
            .prop_map(move |(rate, duration)| FaultKind::MessageLoss {
                peer: peer(),
                rate,
                duration,
            })
            .boxed(),
        NemesisKind::IoErrors => (fraction(DISK_TENTHS, 10.0), ms(DISK_MS))
            .prop_map(|(probability, duration)| FaultKind::IoErrors {
                probability,
                duration,
                path: None,
            })
            .boxed(),
        NemesisKind::ReadCorruption => (fraction(DISK_TENTHS, 10.0), ms(DISK_MS))
            .prop_map(|(probability, duration)| FaultKind::ReadCorruption {
                probability,
                duration,
            })
            .boxed(),
        NemesisKind::DiskFull => (CAPACITY_PAGES, ms(DISK_MS))
            .prop_map(|(pages, duration)| FaultKind::DiskFull {
                capacity: u64::from(pages) * PAGE,
                duration,
            })
            .boxed(),
    }
}

/// Faults of `kinds` on one of `targets`, at a time in `window`, one time
/// in four on an event from [`trigger`] instead (at or after that time).
/// A link fault's peer is one of the other hosts of `all`, or every other
/// host (`*`).
fn fault_on(
    kinds: BoxedStrategy<FaultKind>,
    targets: Vec<String>,
    all: Vec<String>,
    window: Range<Duration>,
) -> impl Strategy<Value = Fault> {
    let at = (window.start.as_millis() as u64..window.end.as_millis().max(1) as u64)
        .prop_map(Duration::from_millis);
    (
        kinds,
        select(targets),
        // Few values, so shrinking takes few steps (an `Index` would
        // bisect over 64 bits, each step a simulation).
        0..PEER_CHOICES,
        at,
        proptest::option::weighted(0.25, trigger()),
    )
        .prop_map(move |(mut kind, host, peer, at, on)| {
            if let FaultKind::Partition { peer: p, .. }
            | FaultKind::Stall { peer: p, .. }
            | FaultKind::Latency { peer: p, .. }
            | FaultKind::MessageLoss { peer: p, .. } = &mut kind
            {
                let mut peers: Vec<&String> = all.iter().filter(|h| **h != host).collect();
                let every = ALL_PEERS.to_owned();
                peers.push(&every);
                *p = peers[peer % peers.len()].to_string();
            }
            Fault {
                id: None,
                kind,
                host,
                at,
                jitter: Duration::ZERO,
                on,
            }
        })
}

/// Any fault of any kind (docs/design.md §4) on any of `hosts`, at a time in
/// `window` or on an event. This includes a crash that never comes back
/// and the loss of the disk holding checkpoints or committed output: not
/// every plan of these is survivable. `hosts` must not be empty.
pub fn fault(hosts: Vec<String>, window: Range<Duration>) -> impl Strategy<Value = Fault> {
    let kinds = prop_oneof![
        Just(FaultKind::Crash),
        Just(FaultKind::Restart),
        proptest::strategy::Union::new(NemesisKind::ALL.map(kind)),
    ]
    .boxed();
    fault_on(kinds, hosts.clone(), hosts, window)
}

/// A fault a correct engine survives: one of the kinds the nemesis draws
/// (each heals by itself), on a host where it means something and loses
/// nothing that was promised ([`NemesisKind::targets`]). `hosts` is every
/// host of the topology ([`host_names`]).
pub fn survivable_fault(
    hosts: Vec<String>,
    window: Range<Duration>,
) -> impl Strategy<Value = Fault> {
    let arms: Vec<_> = NemesisKind::ALL
        .into_iter()
        .map(|k| {
            let targets = k.targets(&hosts, &Expectation::ExactlyOnce);
            fault_on(kind(k), targets, hosts.clone(), window.clone()).boxed()
        })
        .collect();
    proptest::strategy::Union::new(arms)
}

/// Up to `max` faults from `fault`, in time order: what a scenario's
/// `[[fault]]` list holds.
pub fn fault_plan(
    fault: impl Strategy<Value = Fault>,
    max: usize,
) -> impl Strategy<Value = Vec<Fault>> {
    proptest::collection::vec(fault, 0..=max).prop_map(|mut plan| {
        plan.sort_by_key(|f| f.at);
        plan
    })
}

/// One generated run: a job configuration, a fault plan and a seed. Its
/// `Debug` form is the scenario file that runs it, so proptest's
/// "minimal failing input" is ready for `flinch run`.
#[derive(Clone, PartialEq)]
pub struct Case {
    pub config: JobConfig,
    pub plan: Vec<Fault>,
    pub seed: u64,
}

impl Case {
    /// The case as a scenario: its plan as hand-written faults, expecting
    /// what its checkpoint mode promises, with its seed as the only seed.
    pub fn scenario(&self) -> Scenario {
        let expect = match self.config.checkpoint.mode {
            CheckpointMode::ExactlyOnce => Expectation::ExactlyOnce,
            CheckpointMode::AtLeastOnce => Expectation::AtLeastOnce,
        };
        Scenario {
            name: "generated".into(),
            description: "A case generated by flinch_harness::strategy.".into(),
            job: crate::job::ScenarioJob::keyed_count(),
            config: self.config.clone(),
            faults: self.plan.clone(),
            nemesis: None,
            lifecycle: Vec::new(),
            savepoints: Vec::new(),
            expect,
            sometimes: Vec::new(),
            seeds: crate::scenario::SeedRange::one(self.seed),
            max_sim_time: CASE_MAX_SIM_TIME,
            liveness_bound: None,
        }
    }

    /// Run the case's seed and check it with every checker.
    pub fn run(&self) -> SeedReport {
        run_seed(&self.scenario(), self.seed)
    }
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\n{}", plan::render(&self.scenario()))
    }
}

/// A case a correct engine survives with every promise of `mode` kept: a
/// [`topology`], [`workload`], [`checkpoint`] config and
/// [`survivable_restart`] strategy, and up to [`MAX_CASE_FAULTS`]
/// [`survivable_fault`]s before the input can have been read
/// ([`earliest_end_of_input`]), so every fault fires.
///
/// The plan is drawn for the largest topology over a window of one second
/// and then fitted to the case: times scale to the workload's input
/// duration, and taskmanagers the topology lacks fold onto those it has.
/// So no part of the case depends on another while it is drawn, and each
/// shrinks on its own.
pub fn survivable_case(mode: CheckpointMode) -> impl Strategy<Value = Case> {
    let unit = Duration::from_secs(1);
    let hosts = host_names(MAX_TASKMANAGERS);
    // proptest shrinks a tuple's members in order: the plan first, as it
    // matters most, and never the seed (a smaller seed is no simpler
    // run).
    (
        fault_plan(
            survivable_fault(hosts, Duration::ZERO..unit),
            MAX_CASE_FAULTS,
        ),
        workload(),
        topology(),
        checkpoint(mode),
        survivable_restart(),
        (0..SEEDS).no_shrink(),
    )
        .prop_map(
            move |(plan, workload, topology, checkpoint, restart, seed)| {
                let input = earliest_end_of_input(&workload);
                let config = JobConfig {
                    topology,
                    workload,
                    checkpoint,
                    restart,
                    timing: TimingConfig::default(),
                    sink: SinkConfig::default(),
                    planted_bug: None,
                    run: 0,
                    restore_mode: Default::default(),
                };
                let plan = plan
                    .into_iter()
                    .map(|f| fit(f, unit, input, config.topology.taskmanagers))
                    .collect();
                Case { config, plan, seed }
            },
        )
}

/// The most link faults, and the most crashes, in a [`jobmanager_store_case`].
pub const MAX_JOBMANAGER_STORE_FAULTS: usize = 3;

/// A case aimed at the jobmanager's writes to checkpoint storage: stalls
/// and latency spikes on the jobmanager–store link, long enough to outlast
/// the jobmanager's RPC timeout, with crashes of the jobmanager. Metadata
/// and register writes then time out and land later (the store reports
/// each as `store_write_late`), and a restarted jobmanager meets the
/// leftovers. Exactly-once, with 1 to [`MAX_JOBMANAGER_STORE_FAULTS`] link
/// faults and up to as many crashes, each at a time before the input can
/// have been read or (one in two) on an event that is sure to come.
pub fn jobmanager_store_case() -> impl Strategy<Value = Case> {
    let unit = Duration::from_secs(1);
    let store = || STORE.to_owned();
    let link = prop_oneof![
        ms(400..=1_500).prop_map(move |duration| FaultKind::Stall {
            peer: store(),
            duration,
        }),
        (ms(300..=1_000), ms(400..=1_500)).prop_map(move |(max, duration)| {
            FaultKind::Latency {
                peer: store(),
                min: Duration::ZERO,
                max,
                duration,
            }
        }),
    ];
    let crash = ms(ranges::DOWN_MS).prop_map(|after| FaultKind::CrashRestart { after });
    let on_jobmanager = |kinds: BoxedStrategy<FaultKind>| {
        let at = (0..unit.as_millis() as u64).prop_map(Duration::from_millis);
        (kinds, at, proptest::option::weighted(0.5, trigger())).prop_map(|(kind, at, on)| Fault {
            id: None,
            kind,
            host: JOBMANAGER.to_owned(),
            at,
            jitter: Duration::ZERO,
            on,
        })
    };
    let max = MAX_JOBMANAGER_STORE_FAULTS;
    (
        proptest::collection::vec(on_jobmanager(link.boxed()), 1..=max),
        proptest::collection::vec(on_jobmanager(crash.boxed()), 0..=max),
        workload(),
        topology(),
        survivable_restart(),
        (0..SEEDS).no_shrink(),
    )
        .prop_map(move |(links, crashes, workload, topology, restart, seed)| {
            let input = earliest_end_of_input(&workload);
            let taskmanagers = topology.taskmanagers;
            let mut plan: Vec<Fault> = (links.into_iter().chain(crashes))
                .map(|f| fit(f, unit, input, taskmanagers))
                .collect();
            plan.sort_by_key(|f| f.at);
            let config = JobConfig {
                topology,
                workload,
                restart,
                ..JobConfig::default()
            };
            Case { config, plan, seed }
        })
}

/// A fault drawn over `unit` for [`MAX_TASKMANAGERS`], moved into a run
/// whose input lasts `input` and that has `taskmanagers` taskmanagers.
fn fit(mut fault: Fault, unit: Duration, input: Duration, taskmanagers: u32) -> Fault {
    let scaled = fault.at.as_millis() * input.as_millis() / unit.as_millis();
    fault.at = Duration::from_millis(scaled as u64);
    fault.host = fold(&fault.host, taskmanagers);
    if let FaultKind::Partition { peer, .. }
    | FaultKind::Stall { peer, .. }
    | FaultKind::Latency { peer, .. }
    | FaultKind::MessageLoss { peer, .. } = &mut fault.kind
    {
        *peer = fold(peer, taskmanagers);
        if *peer == fault.host {
            *peer = ALL_PEERS.to_owned();
        }
    }
    fault
}

/// `taskmanager-k` of a larger topology, as one of `taskmanagers`; any
/// other host as it is.
fn fold(host: &str, taskmanagers: u32) -> String {
    match host
        .strip_prefix("taskmanager-")
        .and_then(|n| n.parse::<u32>().ok())
    {
        Some(n) => format!("taskmanager-{}", (n - 1) % taskmanagers + 1),
        None => host.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nemesis::unsurvivable;
    use crate::scenario::parse;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// A generated case is a valid scenario: its Debug form parses back
        /// to the same scenario, so the printed minimal case runs as is.
        #[test]
        fn a_case_prints_as_the_scenario_file_that_runs_it(
            case in survivable_case(CheckpointMode::ExactlyOnce),
        ) {
            let text = format!("{case:?}");
            let parsed = parse(&text, "case.toml").map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(parsed, case.scenario());
        }

        #[test]
        fn survivable_plans_stay_in_the_input_and_on_survivable_targets(
            case in survivable_case(CheckpointMode::AtLeastOnce),
        ) {
            let input = earliest_end_of_input(&case.config.workload);
            let hosts = host_names(case.config.topology.taskmanagers);
            prop_assert!(case.plan.len() <= MAX_CASE_FAULTS);
            prop_assert!(case.plan.windows(2).all(|w| w[0].at <= w[1].at));
            for f in &case.plan {
                prop_assert!(f.at <= input, "{} after the input's {:?}", f, input);
                prop_assert!(hosts.contains(&f.host), "{}", f);
                prop_assert!(unsurvivable(&f.kind, &f.host).is_none(), "{}", f);
                prop_assert!(f.kind.duration().is_some(), "{} never heals", f);
                if let FaultKind::Partition { peer, .. } | FaultKind::Stall { peer, .. } = &f.kind {
                    prop_assert!(peer == ALL_PEERS || (hosts.contains(peer) && *peer != f.host), "{}", f);
                }
            }
        }
    }

    proptest! {
        // Loading takes microseconds, and the values Flink refuses sit at
        // the low ends of ranges, one draw in tens: many cases find them.
        #![proptest_config(ProptestConfig::with_cases(2048))]

        /// Both restart strategies draw only configurations Flink accepts:
        /// each prints into a scenario file that loads back the same.
        #[test]
        fn restart_configs_drawn_are_ones_the_scenario_loader_accepts(
            config in prop_oneof![restart(), survivable_restart()],
        ) {
            let mut scenario = crate::scenario::load("steady").expect("a built-in scenario");
            scenario.config.restart = config;
            // Long enough for any drawn strategy's backoffs: this is about
            // the restart section, not the run's length.
            scenario.max_sim_time = CASE_MAX_SIM_TIME;
            let text = crate::plan::render(&scenario);
            let parsed = parse(&text, "restart.toml").map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(parsed.config.restart, scenario.config.restart);
        }
    }

    /// `fault` draws every kind docs/design.md §4 names, on the given hosts, in
    /// the given window.
    #[test]
    fn any_fault_can_be_of_every_kind() {
        let hosts = host_names(2);
        let window = Duration::ZERO..Duration::from_secs(2);
        let strategy = fault(hosts.clone(), window.clone());
        let mut runner = TestRunner::deterministic();
        let mut kinds = std::collections::BTreeSet::new();
        for _ in 0..1_000 {
            let f = strategy.new_tree(&mut runner).expect("a fault").current();
            assert!(hosts.contains(&f.host), "{f}");
            assert!(window.contains(&f.at), "{f}");
            kinds.insert(f.kind.name());
        }
        let every: std::collections::BTreeSet<&str> = [
            "crash",
            "restart",
            "crash_restart",
            "disk_loss",
            "partition",
            "stall",
            "latency",
            "message_loss",
            "io_errors",
            "read_corruption",
            "disk_full",
        ]
        .into();
        assert_eq!(kinds, every);
    }

    /// Shrinking a case that fails because it has any fault ends with one
    /// fault, as short and as early as its kind allows, on a workload of
    /// the fewest records.
    #[test]
    fn shrinking_moves_to_fewer_shorter_earlier_faults_and_smaller_workloads() {
        let mut runner = TestRunner::deterministic();
        let strategy = survivable_case(CheckpointMode::ExactlyOnce);
        let mut tree = loop {
            let tree = strategy.new_tree(&mut runner).expect("a case");
            if tree.current().plan.len() >= 3 {
                break tree;
            }
        };
        // proptest's own loop: simplify while the case fails, complicate
        // when a step went too far, keep the last failing case.
        let fails = |case: &Case| !case.plan.is_empty();
        let mut case = tree.current();
        loop {
            let moved = if fails(&tree.current()) {
                case = tree.current();
                tree.simplify()
            } else {
                tree.complicate()
            };
            if !moved {
                break;
            }
        }
        assert_eq!(case.plan.len(), 1, "{case:?}");
        let f = &case.plan[0];
        assert_eq!(f.at, Duration::ZERO, "{case:?}");
        assert_eq!(
            f.kind.duration(),
            Some(Duration::from_millis(100)),
            "{case:?}"
        );
        assert_eq!(case.config.workload.records, 50, "{case:?}");
        assert_eq!(case.config.topology.taskmanagers, 1, "{case:?}");
    }

    #[test]
    fn taskmanagers_fold_onto_the_topology() {
        assert_eq!(fold("taskmanager-3", 2), "taskmanager-1");
        assert_eq!(fold("taskmanager-2", 2), "taskmanager-2");
        assert_eq!(fold("taskmanager-3", 1), "taskmanager-1");
        assert_eq!(fold("sink", 1), "sink");
    }
}
