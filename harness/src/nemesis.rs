//! The nemesis: turns a seed into an explicit fault plan (docs/design.md §4).
//!
//! A scenario's `[nemesis]` section says how often faults come
//! (`intensity`), which kinds it may draw (`kinds`), which hosts it may
//! target (`hosts`) and in which window of simulated time (`from`, `until`).
//! [`Nemesis::plan`] draws the faults from the seed alone, so a seed always
//! gets the same plan; the plan, not the RNG, is what a run applies and what
//! shrinking edits.
//!
//! Every fault it draws heals by itself (a crashed host comes back, a
//! partition is repaired, a faulty disk recovers) and lasts far shorter than
//! the engine's timeouts allow it to recover in, so a correct engine
//! survives every plan by construction. The one fault no engine can survive
//! is losing a disk that holds what was promised to the user: the sink's
//! committed output or the store's checkpoints ([`unsurvivable`]). The
//! nemesis draws it only when the scenario expects the job to fail.

use crate::expect::Expectation;
use crate::fault::{Fault, FaultKind, ALL_PEERS};
use flinch_engine::config::JobConfig;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::time::Duration;

/// Mixed into the seed so the nemesis's draws are independent of turmoil's
/// and of the jitter of hand-written faults.
const NEMESIS_SEED: u64 = 0x6e65_6d65_7369_7321;
/// At most this many faults in one plan, whatever the intensity.
pub const MAX_FAULTS: usize = 100;
/// Hosts that keep durable data on their disk: disk faults target them,
/// and the replicas `store-N` of replicated checkpoint storage
/// ([`is_disk_host`]).
pub const DISK_HOSTS: [&str; 2] = ["sink", "store"];

/// Whether `host` keeps durable data on its disk: one of [`DISK_HOSTS`] or
/// a store replica `store-N`.
pub fn is_disk_host(host: &str) -> bool {
    DISK_HOSTS.contains(&host) || store_replica(host).is_some()
}

/// `N` of a store replica `store-N`.
fn store_replica(host: &str) -> Option<u32> {
    host.strip_prefix("store-")?.parse().ok()
}
/// "Every host", in `hosts`.
pub const ALL_HOSTS: &str = "*";

/// The default intensity: mean faults per simulated second.
pub const DEFAULT_INTENSITY: f64 = 2.0;

/// How many faults a nemesis draws, of which kinds, where and when.
#[derive(Debug, Clone, PartialEq)]
pub struct Nemesis {
    /// Mean faults per simulated second of the window: each millisecond of
    /// `[from, until)` holds a fault with probability `intensity / 1000`
    /// (a Bernoulli approximation of a Poisson process), so a plan has
    /// `intensity × (until − from)` faults on average.
    pub intensity: f64,
    /// The kinds it draws from, each equally likely.
    pub kinds: Vec<NemesisKind>,
    /// The hosts it targets, by name; [`ALL_HOSTS`] is every host. A kind
    /// targets only the hosts it makes sense for ([`Nemesis::targets`]).
    pub hosts: Vec<String>,
    /// Faults start at or after `from` ...
    pub from: Duration,
    /// ... and before `until`.
    pub until: Duration,
}

/// The fault kinds a nemesis draws: the ones that heal by themselves.
/// (`crash` alone never comes back, and `restart` is half of a crash.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NemesisKind {
    CrashRestart,
    DiskLoss,
    Partition,
    Stall,
    Latency,
    MessageLoss,
    IoErrors,
    ReadCorruption,
    DiskFull,
}

impl NemesisKind {
    pub const ALL: [NemesisKind; 9] = [
        NemesisKind::CrashRestart,
        NemesisKind::DiskLoss,
        NemesisKind::Partition,
        NemesisKind::Stall,
        NemesisKind::Latency,
        NemesisKind::MessageLoss,
        NemesisKind::IoErrors,
        NemesisKind::ReadCorruption,
        NemesisKind::DiskFull,
    ];

    /// The name scenario files use, the same as the fault kind's.
    pub fn name(self) -> &'static str {
        match self {
            NemesisKind::CrashRestart => "crash_restart",
            NemesisKind::DiskLoss => "disk_loss",
            NemesisKind::Partition => "partition",
            NemesisKind::Stall => "stall",
            NemesisKind::Latency => "latency",
            NemesisKind::MessageLoss => "message_loss",
            NemesisKind::IoErrors => "io_errors",
            NemesisKind::ReadCorruption => "read_corruption",
            NemesisKind::DiskFull => "disk_full",
        }
    }

    pub fn from_name(name: &str) -> Option<NemesisKind> {
        NemesisKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether the kind acts on a host's disk (and so only on [`DISK_HOSTS`]).
    fn on_disk(self) -> bool {
        matches!(
            self,
            NemesisKind::IoErrors | NemesisKind::ReadCorruption | NemesisKind::DiskFull
        )
    }

    /// Draw one fault of this kind on `host`, from [`ranges`]. A partition
    /// is one-way one time in four; a partition, stall or latency spike is
    /// between `host` and one other host or, one time in five, every other
    /// host (`*`).
    fn draw(self, rng: &mut SmallRng, host: &str, all: &[String]) -> FaultKind {
        use ranges::*;
        let ms = |rng: &mut SmallRng, range| Duration::from_millis(rng.gen_range(range));
        let peer = |rng: &mut SmallRng| {
            if rng.gen_bool(0.2) {
                return ALL_PEERS.to_owned();
            }
            let others: Vec<&String> = all.iter().filter(|h| *h != host).collect();
            others[rng.gen_range(0..others.len())].clone()
        };
        let fraction = |rng: &mut SmallRng, range, per: f64| f64::from(rng.gen_range(range)) / per;
        match self {
            NemesisKind::CrashRestart => FaultKind::CrashRestart {
                after: ms(rng, DOWN_MS),
            },
            NemesisKind::DiskLoss => FaultKind::DiskLoss {
                after: ms(rng, DOWN_MS),
            },
            NemesisKind::Partition => FaultKind::Partition {
                peer: peer(rng),
                oneway: rng.gen_bool(0.25),
                duration: ms(rng, LINK_MS),
            },
            NemesisKind::Stall => FaultKind::Stall {
                peer: peer(rng),
                duration: ms(rng, LINK_MS),
            },
            NemesisKind::Latency => FaultKind::Latency {
                peer: peer(rng),
                min: Duration::ZERO,
                max: ms(rng, LATENCY_MAX_MS),
                duration: ms(rng, LATENCY_MS),
            },
            // Every link of the host (no peer drawn, so plans drawn before
            // message loss had a peer are drawn the same).
            NemesisKind::MessageLoss => FaultKind::MessageLoss {
                peer: ALL_PEERS.to_owned(),
                rate: fraction(rng, LOSS_PERCENT, 100.0),
                duration: ms(rng, LOSS_MS),
            },
            NemesisKind::IoErrors => FaultKind::IoErrors {
                probability: fraction(rng, DISK_TENTHS, 10.0),
                duration: ms(rng, DISK_MS),
                path: None,
            },
            NemesisKind::ReadCorruption => FaultKind::ReadCorruption {
                probability: fraction(rng, DISK_TENTHS, 10.0),
                duration: ms(rng, DISK_MS),
            },
            NemesisKind::DiskFull => FaultKind::DiskFull {
                capacity: u64::from(rng.gen_range(CAPACITY_PAGES)) * PAGE,
                duration: ms(rng, DISK_MS),
            },
        }
    }
}

/// The ranges survivable faults are drawn from, by the nemesis and by the
/// proptest strategies ([`crate::strategy`]): every fault heals, and lasts
/// far shorter than the engine's timeouts allow it to recover in. Times
/// are whole milliseconds, so plans print exactly.
pub mod ranges {
    use std::ops::RangeInclusive;

    /// crash_restart, disk_loss: how long the host stays down (ms).
    pub const DOWN_MS: RangeInclusive<u64> = 100..=500;
    /// partition, stall: how long the link is cut or held (ms).
    pub const LINK_MS: RangeInclusive<u64> = 100..=1_000;
    /// latency: the highest latency of the spike (ms) ...
    pub const LATENCY_MAX_MS: RangeInclusive<u64> = 20..=200;
    /// ... and how long it lasts (ms).
    pub const LATENCY_MS: RangeInclusive<u64> = 200..=1_000;
    /// message_loss: the loss rate in percent (turmoil breaks a whole link
    /// per lost message, so small rates already hurt) ...
    pub const LOSS_PERCENT: RangeInclusive<u32> = 1..=10;
    /// ... and how long it lasts (ms).
    pub const LOSS_MS: RangeInclusive<u64> = 100..=500;
    /// io_errors, read_corruption: the probability in tenths.
    pub const DISK_TENTHS: RangeInclusive<u32> = 1..=5;
    /// io_errors, read_corruption, disk_full: how long the disk is faulty (ms).
    pub const DISK_MS: RangeInclusive<u64> = 100..=500;
    /// disk_full: the capacity left, in pages of [`PAGE`] bytes.
    pub const CAPACITY_PAGES: RangeInclusive<u32> = 0..=16;
    pub const PAGE: u64 = 4_096;
}

/// Why losing `host`'s disk cannot be survived by any engine, or `None`
/// when it can. The sink's disk holds the committed output (what users
/// saw), the store's every checkpoint: once either is gone, no recovery can
/// make the output exactly-once again, and the only correct outcome is a
/// job failure that names what was lost. `ha`'s holds the leader epochs:
/// without them a new leader cannot be fenced from an old one, and the
/// engine fails the job rather than risk two leaders.
pub fn unsurvivable(kind: &FaultKind, host: &str) -> Option<&'static str> {
    match (kind, host) {
        (FaultKind::DiskLoss { .. }, "sink") => Some("it holds the committed output"),
        (FaultKind::DiskLoss { .. }, "store") => Some("it holds every checkpoint"),
        (FaultKind::DiskLoss { .. }, "ha") => {
            Some("it holds the leader epochs that fence a deposed jobmanager")
        }
        _ => None,
    }
}

/// Whether an expectation allows faults that no engine survives.
pub fn allows_unsurvivable(expect: &Expectation) -> bool {
    matches!(expect, Expectation::JobFailed { .. })
}

impl NemesisKind {
    /// The hosts, of `all` (every host of the topology), where the kind
    /// means something and is survivable unless `expect` allows otherwise.
    pub fn targets(self, all: &[String], expect: &Expectation) -> Vec<String> {
        all.iter()
            .filter(|h| !self.on_disk() || is_disk_host(h))
            // Losing the disks of a majority of store replicas is not
            // survivable, and a nemesis draws faults independently, so it
            // takes one replica's disk only: store-1's, as often as it
            // likes (an empty replica loses nothing more).
            .filter(|h| self != NemesisKind::DiskLoss || store_replica(h).is_none_or(|n| n == 1))
            .filter(|h| {
                self != NemesisKind::DiskLoss
                    || allows_unsurvivable(expect)
                    || unsurvivable(
                        &FaultKind::DiskLoss {
                            after: Duration::ZERO,
                        },
                        h,
                    )
                    .is_none()
            })
            .cloned()
            .collect()
    }
}

impl Nemesis {
    /// The hosts, of `all` (every host of the topology), that `kind` may
    /// target: the nemesis's `hosts` (with `*` standing for `all`), and of
    /// those only [`NemesisKind::targets`].
    pub fn targets(&self, kind: NemesisKind, all: &[String], expect: &Expectation) -> Vec<String> {
        let named = |h: &String| self.hosts.iter().any(|n| n == ALL_HOSTS || n == h);
        kind.targets(all, expect)
            .into_iter()
            .filter(named)
            .collect()
    }

    /// The plan for `seed`: faults in time order, none jittered, none
    /// triggered by an event. `hosts` is every host of the topology.
    pub fn plan(&self, seed: u64, config: &JobConfig, expect: &Expectation) -> Vec<Fault> {
        let all = crate::scenario::topology_hosts(&config.topology);
        let choices: Vec<(NemesisKind, Vec<String>)> = self
            .kinds
            .iter()
            .map(|&k| (k, self.targets(k, &all, expect)))
            .filter(|(_, hosts)| !hosts.is_empty())
            .collect();
        let per_ms = (self.intensity / 1_000.0).clamp(0.0, 1.0);
        if choices.is_empty() || per_ms <= 0.0 {
            return Vec::new();
        }
        let mut rng = SmallRng::seed_from_u64(seed ^ NEMESIS_SEED);
        let mut faults = Vec::new();
        let window = self.from.as_millis() as u64..self.until.as_millis() as u64;
        for at in window {
            if faults.len() == MAX_FAULTS {
                break;
            }
            if !rng.gen_bool(per_ms) {
                continue;
            }
            let (kind, hosts) = &choices[rng.gen_range(0..choices.len())];
            let host = hosts[rng.gen_range(0..hosts.len())].clone();
            faults.push(Fault {
                id: None,
                kind: kind.draw(&mut rng, &host, &all),
                host,
                at: Duration::from_millis(at),
                jitter: Duration::ZERO,
                on: None,
            });
        }
        faults
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nemesis(kinds: &[NemesisKind], hosts: &[&str]) -> Nemesis {
        Nemesis {
            intensity: 4.0,
            kinds: kinds.to_vec(),
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
            from: Duration::from_millis(200),
            until: Duration::from_secs(3),
        }
    }

    fn exactly_once() -> Expectation {
        Expectation::ExactlyOnce
    }

    #[test]
    fn a_seed_always_gets_the_same_plan_and_seeds_differ() {
        let n = nemesis(&NemesisKind::ALL, &["*"]);
        let config = JobConfig::default();
        let a = n.plan(7, &config, &exactly_once());
        assert_eq!(a, n.plan(7, &config, &exactly_once()));
        assert_ne!(a, n.plan(8, &config, &exactly_once()));
    }

    #[test]
    fn faults_come_in_time_order_within_the_window_at_the_intensity() {
        let n = nemesis(&NemesisKind::ALL, &["*"]);
        let config = JobConfig::default();
        let mut total = 0;
        for seed in 0..200 {
            let plan = n.plan(seed, &config, &exactly_once());
            assert!(plan.windows(2).all(|w| w[0].at <= w[1].at), "{plan:?}");
            for f in &plan {
                assert!(n.from <= f.at && f.at < n.until, "{f}");
                assert!(f.jitter.is_zero() && f.on.is_none(), "{f}");
                let lasts = f.kind.duration().expect("every nemesis fault heals");
                assert!(lasts >= Duration::from_millis(100), "{f}");
                assert!(lasts <= Duration::from_secs(1), "{f}");
            }
            total += plan.len();
        }
        // 4 faults/s over 2.8 s: 11.2 on average.
        let mean = total as f64 / 200.0;
        assert!((10.0..12.5).contains(&mean), "mean {mean}");
    }

    #[test]
    fn each_kind_targets_only_the_hosts_it_means_something_on() {
        let config = JobConfig::default();
        let n = nemesis(&NemesisKind::ALL, &["*"]);
        for seed in 0..100 {
            for f in n.plan(seed, &config, &exactly_once()) {
                if matches!(
                    f.kind,
                    FaultKind::IoErrors { .. }
                        | FaultKind::ReadCorruption { .. }
                        | FaultKind::DiskFull { .. }
                ) {
                    assert!(DISK_HOSTS.contains(&f.host.as_str()), "{f}");
                }
                assert!(unsurvivable(&f.kind, &f.host).is_none(), "{f}");
                if let FaultKind::Partition { peer, .. } | FaultKind::Stall { peer, .. } = &f.kind {
                    assert_ne!(peer, &f.host, "{f}");
                }
            }
        }
    }

    #[test]
    fn unsurvivable_disk_loss_is_drawn_only_when_the_job_is_expected_to_fail() {
        let n = nemesis(&[NemesisKind::DiskLoss], &["store", "taskmanager-1"]);
        let all = crate::scenario::host_names(2);
        assert_eq!(
            n.targets(NemesisKind::DiskLoss, &all, &exactly_once()),
            ["taskmanager-1"]
        );
        let failed = Expectation::JobFailed {
            reason: "checkpoint".into(),
        };
        assert_eq!(
            n.targets(NemesisKind::DiskLoss, &all, &failed),
            ["taskmanager-1", "store"]
        );
    }

    #[test]
    fn named_hosts_limit_the_targets() {
        let n = nemesis(&[NemesisKind::CrashRestart], &["taskmanager-2", "log"]);
        let plan = n.plan(3, &JobConfig::default(), &exactly_once());
        assert!(!plan.is_empty());
        assert!(plan
            .iter()
            .all(|f| f.host == "taskmanager-2" || f.host == "log"));
    }

    #[test]
    fn nemesis_mixed_injects_at_least_5_faults_per_seed_on_average() {
        let s = crate::scenario::load("nemesis-mixed").expect("built-in");
        let faults: usize = (0..1_000).map(|seed| s.plan(seed).len()).sum();
        let mean = faults as f64 / 1_000.0;
        assert!(mean >= 5.0, "{mean} faults per seed");
    }

    #[test]
    fn kinds_are_named_as_fault_kinds() {
        for k in NemesisKind::ALL {
            assert_eq!(NemesisKind::from_name(k.name()), Some(k));
        }
        assert_eq!(NemesisKind::from_name("crash"), None);
    }
}
