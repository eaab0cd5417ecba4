//! The self-check: proof that the harness catches each planted bug. For
//! every bug, every scenario runs seed after seed until one fails (or the
//! budget runs out); the correct engine must pass every scenario meanwhile.

use crate::coverage::probes_hit;
use crate::scenario::Scenario;
use crate::seed::run_seed;
use crate::violation::{Violation, ENGINE_PANIC, INTERNAL_ERROR, JOB_PANIC, VACUOUS};
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
    /// For a trial run by [`trial_counting`]: how many of its seeds had a
    /// violation of the checker it counted ([`is_catch`]), and how many ran
    /// (all of them: it goes on past the first failure).
    pub catches: Option<(u64, u64)>,
    /// For a trial run by [`trial_counting`]: the first seed after the
    /// first failure that hit an internal error, with its violation (kind
    /// and message). Such a seed proves nothing, and the self-check says
    /// so as it does for a first failure of that kind.
    pub internal_after: Option<(u64, String)>,
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
    /// Of the seeds its meant scenario ran (all of them, [`trial_counting`]),
    /// how many caught it with its meant checker, and how many ran: the
    /// bug's catch rate there, which says more than the index of the first
    /// catch (one draw of a geometric distribution, drawn again by any
    /// change of the run's timing). `None` when that scenario was not run
    /// counting (its job is not one the bug applies to).
    pub meant_catches: Option<(u64, u64)>,
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
    run_trial(scenario, bug, seeds, None)
}

/// As [`trial`], but every one of the `seeds` seeds runs, and
/// [`Trial::catches`] counts those with a violation of `checker` (a
/// checker's name). The first failure is reported as [`trial`] reports it.
pub fn trial_counting(
    scenario: &Scenario,
    bug: Option<PlantedBug>,
    seeds: u64,
    checker: &str,
) -> Trial {
    run_trial(scenario, bug, seeds, Some(checker))
}

fn run_trial(
    scenario: &Scenario,
    bug: Option<PlantedBug>,
    seeds: u64,
    counting: Option<&str>,
) -> Trial {
    let mut s = scenario.clone();
    s.config.planted_bug = bug;
    let start = scenario.seeds.first();
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
        catches: counting.map(|_| (0, 0)),
        internal_after: None,
    };
    // Up to and including the last seed there is, 2^64 - 1.
    let seeds = usize::try_from(seeds).unwrap_or(usize::MAX);
    for seed in (start..=u64::MAX).take(seeds) {
        let report = run_seed(&s, seed);
        if let (Some(checker), Some((catches, run))) = (counting, outcome.catches.as_mut()) {
            *run += 1;
            if (report.violations.iter()).any(|v| is_catch(v, checker)) {
                *catches += 1;
            }
            if outcome.failed_seed.is_some() {
                let internal = (report.violations.iter()).find(|v| v.kind == INTERNAL_ERROR);
                if let Some(v) = internal.filter(|_| outcome.internal_after.is_none()) {
                    outcome.internal_after = Some((seed, format!("{}: {}", v.kind, v.message)));
                }
                continue;
            }
        }
        outcome.seeds_tried += 1;
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
            if counting.is_none() {
                break;
            }
        }
    }
    outcome
}

/// Whether `v` is a catch by the checker named `checker`: a violation of
/// it that is no engine or job panic, internal error, or fault that never
/// fired (`vacuous`), which that checker files too but which prove
/// nothing about the bug.
pub fn is_catch(v: &Violation, checker: &str) -> bool {
    v.checker.name() == checker
        && ![ENGINE_PANIC, JOB_PANIC, INTERNAL_ERROR, VACUOUS].contains(&v.kind)
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
    let meant_catches = (mine.iter())
        .find(|t| t.scenario == scenario)
        .and_then(|t| t.catches);
    // Counted, any seed of the meant scenario decides; else its first catch.
    let by_its_checker = match meant_catches {
        Some((catches, _)) => catches > 0,
        None => (caught.iter()).any(|t| t.scenario == scenario && t.checkers.contains(&checker)),
    };
    BugVerdict {
        bug,
        caught_by,
        median_seeds,
        caught_in: caught.len(),
        scenarios: mine.len(),
        by_its_checker,
        meant_catches,
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
            catches: None,
            internal_after: None,
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

    /// Counting goes on past the first failure, and reports the first
    /// failure as the trial that stops there does; the verdict takes the
    /// count of the meant scenario only.
    #[test]
    fn a_counting_trial_runs_every_seed_and_reports_the_first_catch_alike() {
        let bug = PlantedBug::SourceNoRewind;
        let (meant, checker) = bug.meant_to_catch();
        let scenario = crate::scenario::load(meant).expect("a built-in scenario");
        let first = trial(&scenario, Some(bug), 4);
        let counted = trial_counting(&scenario, Some(bug), 4, checker);
        assert!(
            first.failed_seed.is_some(),
            "{meant} catches {}",
            bug.name()
        );
        assert_eq!(
            (counted.failed_seed, counted.seeds_tried, &counted.checkers),
            (first.failed_seed, first.seeds_tried, &first.checkers)
        );
        let (catches, run) = counted.catches.expect("counted");
        assert_eq!(run, 4);
        assert!((1..=4).contains(&catches), "{catches} of 4");
        assert_eq!(first.catches, None);
        let other = Trial {
            scenario: "steady".into(),
            catches: Some((0, 4)),
            ..counted.clone()
        };
        let v = verdict(bug, &[other, counted]);
        assert_eq!(v.meant_catches, Some((catches, 4)));
    }

    /// Panics, internal errors and faults that never fired are filed under
    /// `expected-outcome` too, and are no catch of a bug.
    #[test]
    fn a_catch_is_a_violation_of_the_checker_that_proves_something() {
        use crate::violation::Checker;
        let v = |kind| Violation::new(Checker::ExpectedOutcome, kind, "...");
        assert!(is_catch(&v("job-failed"), "expected-outcome"));
        assert!(!is_catch(&v("job-failed"), "exactly-once"));
        for nothing in [ENGINE_PANIC, JOB_PANIC, INTERNAL_ERROR, "vacuous"] {
            assert!(!is_catch(&v(nothing), "expected-outcome"), "{nothing}");
        }
    }

    /// Counted, the meant scenario's every seed decides whether its own
    /// checker caught the bug, not its first catch alone.
    #[test]
    fn a_counted_scenario_judges_its_own_checker_over_all_its_seeds() {
        let bug = PlantedBug::CommitOnBarrier;
        let (meant, _) = bug.meant_to_catch();
        let other_first = Trial {
            checkers: vec!["liveness"],
            catches: Some((3, 20)),
            ..t(meant, Some(2))
        };
        let v = verdict(bug, &[other_first.clone()]);
        assert!(v.by_its_checker);
        assert_eq!(v.meant_catches, Some((3, 20)));
        let never = Trial {
            catches: Some((0, 20)),
            ..t(meant, Some(2))
        };
        assert!(!verdict(bug, &[never]).by_its_checker);
    }
}
