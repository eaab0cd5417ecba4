//! Coverage over a sweep: which [`Probe`]s each seed hit, and whether a
//! scenario's `[expect] sometimes` requirements are met (FoundationDB's code
//! probes, Antithesis' `sometimes` assertions).
//!
//! A requirement is judged only over a sweep of at least
//! [`MIN_SEEDS_TO_JUDGE`] seeds (`flinch run`); a shorter sweep, `flinch
//! replay` and a one-seed regression file say "not judged" and never pass
//! or fail on it. Pure functions: no IO, no state between calls.

use crate::trace::{TraceEvent, What};
use flinch_engine::event::Event;
use flinch_engine::probe::Probe;
use std::collections::{BTreeMap, BTreeSet};

/// The share of seeds a requirement written as a bare probe name asks
/// for: the bar the project sets for every built-in fault scenario (a path
/// hit by fewer seeds is left to luck).
pub const DEFAULT_MIN_SHARE: f64 = 0.2;

/// Sweeps of fewer seeds than this are not judged: one seed in 20 is a
/// share of 5 %, and below that a share says nothing (CI's short sweeps
/// report "not judged" instead of passing silently).
pub const MIN_SEEDS_TO_JUDGE: usize = 20;

/// Seeds listed per probe in the table ("first seeds that hit it").
pub const FIRST_SEEDS_SHOWN: usize = 5;

/// One `[expect] sometimes` entry: at least `min_share` (in (0, 1]) of a
/// sweep's seeds must hit `probe`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sometimes {
    pub probe: Probe,
    pub min_share: f64,
}

/// Every probe one run's trace hit.
pub fn probes_hit(trace: &[TraceEvent]) -> BTreeSet<Probe> {
    trace
        .iter()
        .filter_map(|e| match &e.what {
            What::Engine(Event::Probe { probe }) => Some(*probe),
            _ => None,
        })
        .collect()
}

/// How many seeds of a sweep hit one probe, and the first of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeHits {
    /// Seeds that hit it.
    pub seeds: usize,
    /// The lowest [`FIRST_SEEDS_SHOWN`] of them, ascending.
    pub first: Vec<u64>,
}

/// The probes hit over a sweep: `seeds` gives each judged seed (one that
/// reached a verdict) with the probes it hit, in any order.
pub fn tally<'a>(
    seeds: impl IntoIterator<Item = (u64, &'a BTreeSet<Probe>)>,
) -> BTreeMap<Probe, ProbeHits> {
    let mut by_probe: BTreeMap<Probe, BTreeSet<u64>> = BTreeMap::new();
    for (seed, probes) in seeds {
        for probe in probes {
            by_probe.entry(*probe).or_default().insert(seed);
        }
    }
    by_probe
        .into_iter()
        .map(|(probe, seeds)| {
            let hits = ProbeHits {
                seeds: seeds.len(),
                first: seeds.iter().copied().take(FIRST_SEEDS_SHOWN).collect(),
            };
            (probe, hits)
        })
        .collect()
}

/// The verdict on one requirement over a sweep of `run` seeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judgement {
    /// At least `need` of `run` seeds hit it.
    Met { hit: usize, run: usize, need: usize },
    /// Fewer than `need` did: the sweep fails.
    Missed { hit: usize, run: usize, need: usize },
    /// The sweep has fewer than [`MIN_SEEDS_TO_JUDGE`] seeds.
    NotJudged { hit: usize, run: usize },
}

impl Judgement {
    pub fn missed(self) -> bool {
        matches!(self, Judgement::Missed { .. })
    }
}

/// The fewest of `run` seeds that make a share of at least `min_share`.
pub fn seeds_needed(min_share: f64, run: usize) -> usize {
    // hit / run >= min_share, compared as the division the report shows.
    let meets = |hit: usize| hit as f64 / run as f64 >= min_share;
    let mut need = ((min_share * run as f64).ceil() as usize).min(run);
    while need > 0 && meets(need - 1) {
        need -= 1;
    }
    while need < run && !meets(need) {
        need += 1;
    }
    need
}

/// Judge `requirement` over a sweep of `run` seeds of which `hit` hit it.
pub fn judge(requirement: &Sometimes, hit: usize, run: usize) -> Judgement {
    if run < MIN_SEEDS_TO_JUDGE {
        return Judgement::NotJudged { hit, run };
    }
    let need = seeds_needed(requirement.min_share, run).max(1);
    if hit >= need {
        Judgement::Met { hit, run, need }
    } else {
        Judgement::Missed { hit, run, need }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn probe_event(probe: Probe) -> TraceEvent {
        TraceEvent {
            at: Duration::from_millis(1),
            host: "sink".into(),
            what: What::Engine(Event::Probe { probe }),
        }
    }

    #[test]
    fn a_trace_hits_the_probes_it_shows_once_each() {
        let trace = vec![
            probe_event(Probe::WriteFenced),
            TraceEvent {
                at: Duration::ZERO,
                host: "sink".into(),
                what: What::Engine(Event::HostStarted),
            },
            probe_event(Probe::WriteFenced),
            probe_event(Probe::StaleTxnsAborted),
        ];
        let hit: Vec<Probe> = probes_hit(&trace).into_iter().collect();
        assert_eq!(hit, vec![Probe::WriteFenced, Probe::StaleTxnsAborted]);
    }

    #[test]
    fn tally_counts_seeds_and_lists_the_lowest_first() {
        let fenced: BTreeSet<Probe> = [Probe::WriteFenced].into();
        let none = BTreeSet::new();
        let seeds: Vec<(u64, &BTreeSet<Probe>)> = (0..10)
            .rev()
            .map(|s| (s, if s % 2 == 0 { &fenced } else { &none }))
            .collect();
        let table = tally(seeds);
        assert_eq!(
            table[&Probe::WriteFenced],
            ProbeHits {
                seeds: 5,
                first: vec![0, 2, 4, 6, 8]
            }
        );
        assert!(!table.contains_key(&Probe::StaleTxnsAborted));
    }

    #[test]
    fn a_share_below_the_minimum_is_missed_and_the_boundary_is_met() {
        let req = Sometimes {
            probe: Probe::ZombieDataFenced,
            min_share: 0.2,
        };
        // 40 of 200 is exactly 20 %: met; 39 is not.
        assert_eq!(
            judge(&req, 40, 200),
            Judgement::Met {
                hit: 40,
                run: 200,
                need: 40
            }
        );
        assert_eq!(
            judge(&req, 39, 200),
            Judgement::Missed {
                hit: 39,
                run: 200,
                need: 40
            }
        );
        // A share of 1 needs every seed; a tiny share still needs one.
        let all = Sometimes {
            min_share: 1.0,
            ..req
        };
        assert!(judge(&all, 199, 200).missed());
        assert!(!judge(&all, 200, 200).missed());
        let tiny = Sometimes {
            min_share: 1e-9,
            ..req
        };
        assert!(judge(&tiny, 0, 200).missed());
        assert!(!judge(&tiny, 1, 200).missed());
        for (share, run, need) in [(0.3, 10, 3), (0.3, 21, 7), (0.25, 20, 5), (0.7, 30, 21)] {
            assert_eq!(seeds_needed(share, run), need, "{share} of {run}");
        }
    }

    #[test]
    fn a_sweep_too_small_is_not_judged_whatever_it_hit() {
        let req = Sometimes {
            probe: Probe::WriteFenced,
            min_share: 0.2,
        };
        assert_eq!(
            judge(&req, 0, MIN_SEEDS_TO_JUDGE - 1),
            Judgement::NotJudged { hit: 0, run: 19 }
        );
        assert!(judge(&req, 0, MIN_SEEDS_TO_JUDGE).missed());
        assert_eq!(
            judge(&req, 4, MIN_SEEDS_TO_JUDGE),
            Judgement::Met {
                hit: 4,
                run: 20,
                need: 4
            }
        );
    }
}
