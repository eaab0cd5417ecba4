//! The self-check: proof that the harness catches each planted bug. For
//! every bug, every scenario runs seed after seed until one fails (or the
//! budget runs out); the correct engine must pass every scenario meanwhile.

use crate::coverage::probes_hit;
use crate::scenario::Scenario;
use crate::seed::run_seed;
use flinch_engine::config::PlantedBug;
use flinch_engine::probe::Probe;

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
    /// Every checker with a violation in the failing seed, in report order
    /// without repeats: whether the bug's own checker caught it.
    pub checkers: Vec<&'static str>,
    /// The coverage probes the failing seed hit, in catalogue order (empty
    /// when no seed failed): the fault-handling paths the catching run went
    /// through, which the self-check report shows per bug.
    pub probes: Vec<Probe>,
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
    /// Scenarios tried: those whose job the bug applies to ([`applies`]).
    /// None means the bug cannot show with the job(s) given, and is no
    /// miss.
    pub scenarios: usize,
    /// The scenario meant to catch it ([`PlantedBug::meant_to_catch`])
    /// caught it with a violation of the checker meant to: a catch by an
    /// unrelated violation does not count.
    pub by_its_checker: bool,
}

/// Whether `bug` can show in `scenario`: its job has what the bug needs
/// ([`PlantedBug::requires`]). The self-check tries a bug only where it
/// applies.
pub fn applies(bug: PlantedBug, scenario: &Scenario) -> bool {
    let model = &scenario.job.model;
    bug.requires().met_by(&model.graph(), model.event_time())
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
        checkers: Vec::new(),
        probes: Vec::new(),
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
            for v in &report.violations {
                if !outcome.checkers.contains(&v.checker.name()) {
                    outcome.checkers.push(v.checker.name());
                }
            }
            outcome.probes = probes_hit(&report.trace).into_iter().collect();
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
    let (scenario, checker) = bug.meant_to_catch();
    let by_its_checker = caught
        .iter()
        .any(|t| t.scenario == scenario && t.checkers.contains(&checker));
    BugVerdict {
        bug,
        caught_by,
        median_seeds,
        caught_in: caught.len(),
        scenarios: mine.len(),
        by_its_checker,
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
            checkers: failed_after.map_or(Vec::new(), |_| vec!["exactly-once"]),
            probes: Vec::new(),
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

    #[test]
    fn only_the_meant_scenario_with_the_meant_checker_is_a_catch_by_its_checker() {
        let bug = PlantedBug::CommitOnBarrier;
        let (meant, _) = bug.meant_to_catch();
        let other = t("taskmanager-crash", Some(1));
        assert!(!verdict(bug, &[other.clone()]).by_its_checker);
        let mine = t(meant, Some(3));
        assert!(verdict(bug, &[other.clone(), mine.clone()]).by_its_checker);
        let unrelated = Trial {
            checkers: vec!["liveness"],
            ..mine
        };
        let v = verdict(bug, &[other, unrelated]);
        assert!(v.caught_by.is_some() && !v.by_its_checker);
    }
}
