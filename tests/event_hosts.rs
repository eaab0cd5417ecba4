//! The tables that say which hosts emit which event
//! (`flinch_engine::event::Event::emitters`, `Probe::emitters`) and which
//! events are about a transaction (`Event::WITH_TXN`) hold in
//! real runs: every event of two seeds of every built-in scenario comes from
//! a host of a role the tables allow. Scenario validation refuses trigger
//! filters the tables say can never match, so a table that is too narrow
//! would refuse a valid scenario; this test is what keeps them honest.

use flinch_engine::event::{Event, HostRole};
use flinch_harness::scenario::{builtin, load};
use flinch_harness::seed::run_seed;
use flinch_harness::trace::What;

#[test]
fn every_event_comes_from_a_host_its_table_names() {
    // Some built-in scenarios run jobs of the root crate's registry.
    flinch::jobs::install();
    let mut seen = std::collections::BTreeSet::new();
    for entry in builtin() {
        let scenario = load(entry.name).expect("built-in scenarios load");
        for seed in 0..2 {
            let report = run_seed(&scenario, seed);
            for line in &report.trace {
                let What::Engine(event) = &line.what else {
                    continue;
                };
                let role = HostRole::of(&line.host)
                    .unwrap_or_else(|| panic!("{}: no role for host {}", entry.name, line.host));
                let allowed = match event {
                    Event::Probe { probe } => probe.emitters(),
                    _ => Event::emitters(event.name()),
                };
                assert!(
                    allowed.contains(&role),
                    "{} seed {seed}: {} emitted {event:?}, but the table allows only {allowed:?}",
                    entry.name,
                    line.host
                );
                assert_eq!(
                    event.txn().is_some(),
                    Event::WITH_TXN.contains(&event.name()),
                    "{event:?}"
                );
                seen.insert(event.name());
            }
        }
    }
    // The runs must reach most kinds of event, or the check says little.
    assert!(seen.len() >= 18, "only {seen:?}");
}
