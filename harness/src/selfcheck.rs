//! The self-check: proof that the harness catches each planted bug. For
//! every bug, every scenario runs seed after seed until one fails (or the
//! budget runs out); the correct engine must pass every scenario meanwhile.

use crate::scenario::Scenario;
use crate::seed::run_seed;
use flinch_engine::config::PlantedBug;

/// How one scenario fared against one bug (or against the correct engine).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trial {
    pub scenario: String,
    pub bug: Option<PlantedBug>,
    /// The first failing seed, if any.
    pub failed_seed: Option<u64>,
    /// Seeds run: up to and including the first failure.
    pub seeds_tried: u64,
    /// The checker of the first violation of the failing seed.
    pub checker: Option<String>,
    /// Its kind: `engine-panic` and `internal-error` are no checker's
    /// catch (root cause first, they lead when they happen).
    pub kind: Option<&'static str>,
    /// Its kind and message, for the report.
    pub violation: Option<String>,
}

/// What the self-check found for one bug.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BugVerdict {
    pub bug: PlantedBug,
    /// The catching scenario with the fewest seeds tried (ties: scenario order).
    pub caught_by: Option<Trial>,
    /// Median seeds-to-detection over the scenarios that caught the bug.
    pub median_seeds: Option<u64>,
    /// Scenarios that caught it, of all tried.
    pub caught_in: usize,
    pub scenarios: usize,
}

/// Run one scenario (with `bug` planted, if any) seed by seed from its
/// range's start until a seed fails or `seeds` seeds passed.
pub fn trial(scenario: &Scenario, bug: Option<PlantedBug>, seeds: u64) -> Trial {
    let mut s = scenario.clone();
    s.config.planted_bug = bug;
    let start = scenario.seeds.start;
    let mut outcome = Trial {
        scenario: scenario.name.clone(),
        bug,
        failed_seed: None,
        seeds_tried: 0,
        checker: None,
        kind: None,
        violation: None,
    };
    for seed in start..start.saturating_add(seeds) {
        outcome.seeds_tried += 1;
        let report = run_seed(&s, seed);
        if !report.passed {
            outcome.failed_seed = Some(seed);
            outcome.checker = report
                .violations
                .first()
                .map(|v| v.checker.name().to_string());
            outcome.kind = report.violations.first().map(|v| v.kind);
            outcome.violation = report
                .violations
                .first()
                .map(|v| format!("{}: {}", v.kind, v.message));
            break;
        }
    }
    outcome
}

/// Summarize the trials of one bug.
pub fn verdict(bug: PlantedBug, trials: &[Trial]) -> BugVerdict {
    let mine: Vec<&Trial> = trials.iter().filter(|t| t.bug == Some(bug)).collect();
    let caught: Vec<&Trial> = mine
        .iter()
        .copied()
        .filter(|t| t.failed_seed.is_some())
        .collect();
    let caught_by = caught
        .iter()
        .min_by_key(|t| t.seeds_tried)
        .map(|t| (*t).clone());
    let mut seeds: Vec<u64> = caught.iter().map(|t| t.seeds_tried).collect();
    seeds.sort_unstable();
    let median_seeds = (!seeds.is_empty()).then(|| seeds[seeds.len() / 2]);
    BugVerdict {
        bug,
        caught_by,
        median_seeds,
        caught_in: caught.len(),
        scenarios: mine.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(scenario: &str, failed_after: Option<u64>) -> Trial {
        Trial {
            scenario: scenario.into(),
            bug: Some(PlantedBug::CommitOnBarrier),
            failed_seed: failed_after.map(|n| n - 1),
            seeds_tried: failed_after.unwrap_or(20),
            checker: failed_after.map(|_| "exactly-once".into()),
            kind: failed_after.map(|_| "duplicated"),
            violation: None,
        }
    }

    #[test]
    fn the_verdict_names_the_fastest_catch_and_the_median() {
        let trials = [
            t("a", None),
            t("b", Some(7)),
            t("c", Some(2)),
            t("d", Some(9)),
        ];
        let v = verdict(PlantedBug::CommitOnBarrier, &trials);
        assert_eq!(v.caught_by.map(|t| t.scenario), Some("c".into()));
        assert_eq!((v.median_seeds, v.caught_in, v.scenarios), (Some(7), 3, 4));
        let missed = verdict(PlantedBug::CommitOnBarrier, &[t("a", None)]);
        assert_eq!((missed.caught_by, missed.median_seeds), (None, None));
    }
}
