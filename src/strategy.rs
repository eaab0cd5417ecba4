//! proptest strategies of fault plans for your own job (docs/api.md,
//! step 3): hand [`survivable`] a [`Scenario`] and it draws that scenario
//! with a plan of faults added and one seed; run each with
//! [`Test::scenario`](crate::Test::scenario) and
//! [`Test::no_shrink`](crate::Test::no_shrink), and proptest shrinks a
//! failing plan toward fewer, earlier and shorter faults and prints it as
//! a scenario file. With [`regressions`] as its failure persistence,
//! proptest records a failing case in `proptest-regressions/<name>.txt`
//! of your crate, and the next `cargo test` runs it first (commit the
//! file). proptest's default does not find `proptest-regressions/` for a
//! test under `tests/`: it writes `tests/<file>.proptest-regressions`
//! beside the test and warns that it found no `lib.rs`.
//!
//! Add proptest to your `[dev-dependencies]` (`proptest = "1"`, the major
//! version flinch uses) for the `proptest!` macro.
//!
//! ```
//! # #[derive(Debug)] struct Forward;
//! # struct Pass;
//! # impl flinch::Operator for Pass {
//! #     type Key = u32; type In = (); type OutKey = u32; type Out = (); type State = ();
//! #     fn process(&mut self, k: &u32, _: (), _: &mut (), ctx: &mut flinch::Context<'_, u32, ()>) {
//! #         ctx.emit(*k, ());
//! #     }
//! # }
//! # impl flinch::Job for Forward {
//! #     fn name(&self) -> &'static str { "forward" }
//! #     fn graph(&self) -> flinch::JobGraph {
//! #         flinch::JobGraph::source("source").and_then(|s| s.key_by("pass", || Pass)).unwrap().build()
//! #     }
//! #     fn input(&self, w: &flinch::Workload, seed: u64) -> Vec<Vec<flinch::Record>> {
//! #         flinch::workload_records(w, seed)
//! #     }
//! #     fn check_output(&self, input: &[Vec<flinch::Record>], output: &[flinch::Record]) -> Vec<flinch::Finding> {
//! #         flinch::check_multiset(flinch::multiset(input.iter().flatten()), output, |k, v| format!("{k:?} {v:?}"))
//! #     }
//! # }
//! use flinch::{strategy, Scenario, Test};
//! use proptest::prelude::*;
//!
//! proptest! {
//!     #![proptest_config(ProptestConfig {
//!         cases: 4,
//!         failure_persistence: strategy::regressions("forward"),
//!         ..ProptestConfig::default()
//!     })]
//!     // (`#[test]` goes here in a test file)
//!     fn forward_survives_generated_faults(
//!         scenario in strategy::survivable(Scenario::new("generated").records(500), 3)
//!     ) {
//!         Test::new(Forward).scenario(scenario).no_shrink().try_run()?;
//!     }
//! }
//! # forward_survives_generated_faults();
//! ```

use crate::scenario::Scenario;
use flinch_engine::workload::earliest_end_of_input;
use flinch_harness::scenario::topology_hosts;
use flinch_harness::strategy::{fault_plan, survivable_fault, SEEDS};
use proptest::prelude::*;
use proptest::test_runner::{FailurePersistence, FileFailurePersistence};
use std::time::Duration;

/// proptest's failure persistence for a property over your job: failing
/// cases go to `proptest-regressions/<name>.txt`, relative to where cargo
/// runs the test (your package's root), created if missing. Give each
/// test file its own `name` (1 to 64 characters of `a-z`, `A-Z`, `0-9`,
/// `-` and `_`).
///
/// # Panics
/// If `name` is not such a name (it becomes a file name).
#[track_caller]
pub fn regressions(name: &str) -> Option<Box<dyn FailurePersistence>> {
    assert!(
        (1..=64).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "flinch::strategy::regressions: {name:?} must be 1 to 64 characters of a-z, A-Z, 0-9, - \
         and _"
    );
    // proptest keeps the path for the process's life; one leak per test.
    let path: &'static str = Box::leak(format!("proptest-regressions/{name}.txt").into_boxed_str());
    Some(Box::new(FileFailurePersistence::Direct(path)))
}

/// The most faults [`survivable`] adds to one scenario.
pub const MAX_FAULTS: usize = 16;

/// `base` with up to `max_faults` faults added and one seed (its seed
/// range becomes that seed). The faults are ones a correct engine
/// survives with exactly-once output: the kinds a scenario's nemesis
/// draws (crash and restart, disk loss of a taskmanager, partitions,
/// stalls, latency, message loss, disk errors, corruption and a full
/// disk), each healing by itself, on a host of `base`'s topology where it
/// loses nothing that was promised; each fires at a time before the
/// input can have been read (so it fires while the job runs) or, one in
/// four, on an engine event every run produces then. The parameters'
/// ranges are the nemesis's (README, "The nemesis").
///
/// Shrinking removes faults, moves them earlier and makes them shorter;
/// the seed does not shrink.
///
/// # Panics
/// If `base` does not load (its error, naming the field), or if
/// `max_faults` is above [`MAX_FAULTS`].
#[track_caller]
pub fn survivable(base: Scenario, max_faults: usize) -> impl Strategy<Value = Scenario> {
    assert!(
        max_faults <= MAX_FAULTS,
        "flinch::strategy::survivable: max_faults {max_faults} is above {MAX_FAULTS}"
    );
    let loaded = base
        .resolve(None)
        .unwrap_or_else(|e| panic!("flinch::strategy::survivable: {e}"));
    let window = Duration::ZERO..earliest_end_of_input(&loaded.config.workload);
    let hosts = topology_hosts(&loaded.config.topology);
    (
        fault_plan(survivable_fault(hosts, window), max_faults),
        (0..SEEDS).no_shrink(),
    )
        .prop_map(move |(plan, seed)| {
            base.clone()
                .with_faults(plan)
                .seeds(seed..seed.saturating_add(1))
        })
}
