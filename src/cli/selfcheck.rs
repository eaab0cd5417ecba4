//! `flinch selfcheck`: every planted bug against every built-in scenario,
//! and the correct engine against them all, to prove the harness catches
//! what it claims to.
//!
//! Exit codes: 0 every bug caught and the correct engine passed every
//! scenario, 1 not, 3 the correct engine hit an engine panic, 4 some trial
//! hit an internal error (its catch, or its pass, proves nothing); the
//! gravest wins, as in `flinch run`.

use super::exec::{run_parallel, HasSeed};
use super::seeds::{bound_jobs, default_jobs, parse_jobs, parse_seeds_per_scenario};
use super::{Output, EXIT_ENGINE_PANIC, EXIT_FAILED, EXIT_INTERNAL_ERROR, EXIT_PASSED};
use clap::Args;
use flinch_engine::config::PlantedBug;
use flinch_harness::scenario::{builtin, Scenario};
use flinch_harness::selfcheck::{applies, trial, trial_counting, verdict, BugVerdict, Trial};
use flinch_harness::violation::{ENGINE_PANIC, INTERNAL_ERROR};
use serde::Serialize;
use std::time::{Duration, Instant};

#[derive(Args, Debug)]
pub struct SelfcheckArgs {
    /// Seeds each scenario may try per bug before it counts as blind to it.
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = parse_seeds_per_scenario)]
    pub seeds_per_scenario: u64,
    /// Worker threads (default: all cores).
    #[arg(short, long, value_name = "N", value_parser = parse_jobs)]
    pub jobs: Option<usize>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Run every scenario with this job instead of its own: a name or a
    /// TOML inline table (as `flinch run --job`).
    #[arg(long, value_name = "JOB")]
    pub job: Option<String>,
}

/// One (bug or none) x scenario trial, with the wall time it took.
struct Timed {
    index: u64,
    trial: Trial,
    wall: Duration,
}

impl HasSeed for Timed {
    fn seed(&self) -> u64 {
        self.index
    }
}

pub fn selfcheck(args: &SelfcheckArgs) -> anyhow::Result<Output> {
    let started = Instant::now();
    let scenarios: Vec<Scenario> = builtin()
        .iter()
        .map(|b| super::load_scenario(b.name, args.job.as_deref()))
        .collect::<Result<_, _>>()?;
    let bugs: Vec<Option<PlantedBug>> = std::iter::once(None)
        .chain(PlantedBug::ALL.into_iter().map(Some))
        .collect();
    // A bug is tried only with the scenarios whose job it applies to.
    let jobs: Vec<(Option<PlantedBug>, usize)> = bugs
        .iter()
        .flat_map(|b| (0..scenarios.len()).map(move |s| (*b, s)))
        .filter(|(b, s)| b.is_none_or(|bug| applies(bug, &scenarios[*s])))
        .collect();
    let job_names = job_names(&scenarios);
    let seeds = args.seeds_per_scenario;
    let runner = |index: u64| {
        let (bug, s) = jobs[index as usize];
        let t = Instant::now();
        // A bug's own scenario runs every seed, counting its catches.
        let trial = match bug.map(PlantedBug::meant_to_catch) {
            Some((meant, checker)) if scenarios[s].name == meant => {
                trial_counting(&scenarios[s], bug, seeds, checker)
            }
            _ => trial(&scenarios[s], bug, seeds),
        };
        Timed {
            index,
            trial,
            wall: t.elapsed(),
        }
    };
    let (threads, note) = bound_jobs(args.jobs, default_jobs(), jobs.len() as u64);
    if let Some(note) = note {
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), "flinch: {note}");
    }
    let mut progress = BugProgress::new(&bugs, &jobs);
    if !args.json {
        use std::io::Write as _;
        for bug in PlantedBug::ALL {
            if !jobs.iter().any(|(b, _)| *b == Some(bug)) {
                let _ = writeln!(
                    std::io::stderr(),
                    "flinch: selfcheck: {} does not apply to {} ({})",
                    bug.name(),
                    job_names,
                    bug.requires().describe()
                );
            }
        }
    }
    let timed = run_parallel(
        0..jobs.len() as u64,
        threads,
        runner,
        |done: Option<&Timed>| {
            if let Some(line) = done.and_then(|t| progress.on_trial(&t.trial)) {
                if !args.json {
                    use std::io::Write as _;
                    let _ = writeln!(std::io::stderr(), "{line}");
                }
            }
        },
    )?;
    let report = Report::new(&timed, started.elapsed(), job_names);
    let code = report.exit_code();
    let stdout = if args.json {
        serde_json::to_string(&report.json())? + "\n"
    } else {
        report.human()
    };
    Ok(Output { stdout, code })
}

/// Progress on stderr, one line per bug (and one for the correct engine)
/// once all its scenarios are done: whether it was caught, first by which
/// scenario, seed and checker. Bugs finish roughly in catalogue order (the
/// workers take the trials bug after bug), so the lines read as a list.
struct BugProgress {
    /// Trials still running, per bug (`None`: the correct engine).
    left: Vec<(Option<PlantedBug>, usize)>,
    trials: Vec<Trial>,
    done: usize,
}

/// The jobs the scenarios run, for the report: `"windowed-sum"`, or
/// `"keyed-count, two-stage"` without `--job`.
fn job_names(scenarios: &[Scenario]) -> String {
    let mut names: Vec<&str> = scenarios.iter().map(|s| s.job.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    names.join(", ")
}

impl BugProgress {
    /// `trials`: the (bug, scenario) pairs that will run; a bug without
    /// any (it applies to none of the scenarios' jobs) gets no line.
    fn new(bugs: &[Option<PlantedBug>], trials: &[(Option<PlantedBug>, usize)]) -> Self {
        let left = bugs
            .iter()
            .map(|b| (*b, trials.iter().filter(|(t, _)| t == b).count()))
            .filter(|(_, n)| *n > 0);
        BugProgress {
            left: left.collect(),
            trials: Vec::new(),
            done: 0,
        }
    }

    /// Count one finished trial; the progress line when it was its bug's last.
    fn on_trial(&mut self, trial: &Trial) -> Option<String> {
        let (_, left) = self.left.iter_mut().find(|(b, _)| *b == trial.bug)?;
        *left = left.checked_sub(1)?;
        self.trials.push(trial.clone());
        if *left > 0 {
            return None;
        }
        self.done += 1;
        let total = self.left.len();
        let counter = format!("flinch: selfcheck {}/{total}:", self.done);
        let Some(bug) = trial.bug else {
            let correct: Vec<&Trial> = self.trials.iter().filter(|t| t.bug.is_none()).collect();
            let failed = correct.iter().filter(|t| t.failed_seed.is_some()).count();
            return Some(format!(
                "{counter} the correct engine passed {} of {} scenarios",
                correct.len() - failed,
                correct.len()
            ));
        };
        let v = verdict(bug, &self.trials);
        let line = match &v.caught_by {
            Some(t) => format!(
                "{counter} {} caught, first by {} at seed {} ({}); {} of {} scenarios; {}",
                bug.name(),
                t.scenario,
                t.failed_seed.unwrap_or_default(),
                t.checker.as_deref().unwrap_or("-"),
                v.caught_in,
                v.scenarios,
                if v.by_its_checker {
                    "its own scenario and checker caught it"
                } else {
                    "NOT by its own scenario and checker"
                }
            ),
            None => format!(
                "{counter} {} NOT caught by any of {} scenarios",
                bug.name(),
                v.scenarios
            ),
        };
        Some(line)
    }
}

struct Report {
    verdicts: Vec<(BugVerdict, Duration)>,
    /// Scenarios the correct engine failed, with the trial that shows it.
    baseline: Vec<Trial>,
    /// Trials, with or without a bug, whose failing seed hit an internal
    /// error.
    internal: Vec<Trial>,
    scenarios: usize,
    /// The jobs the scenarios ran (`job_names`), which the bugs that do
    /// not apply are named against.
    jobs: String,
    wall: Duration,
}

impl Report {
    fn new(timed: &[Timed], wall: Duration, jobs: String) -> Report {
        let trials: Vec<Trial> = timed.iter().map(|t| t.trial.clone()).collect();
        let verdicts = PlantedBug::ALL
            .into_iter()
            .map(|bug| {
                let spent = timed
                    .iter()
                    .filter(|t| t.trial.bug == Some(bug))
                    .map(|t| t.wall)
                    .sum();
                (verdict(bug, &trials), spent)
            })
            .collect();
        let correct = trials.iter().filter(|t| t.bug.is_none());
        let scenarios = correct.clone().count();
        let baseline = correct
            .filter(|t| t.failed_seed.is_some())
            .cloned()
            .collect();
        // A counted trial's later seeds may hit one too: reported as its own.
        let later = (trials.iter()).filter_map(|t| {
            let (seed, violation) = t.internal_after.clone()?;
            Some(Trial {
                failed_seed: Some(seed),
                kind: Some(INTERNAL_ERROR),
                violation: Some(violation),
                ..t.clone()
            })
        });
        let internal = trials
            .iter()
            .filter(|t| t.kind == Some(INTERNAL_ERROR))
            .cloned()
            .chain(later)
            .collect();
        Report {
            verdicts,
            baseline,
            internal,
            scenarios,
            jobs,
            wall,
        }
    }

    /// Bugs the scenarios' jobs can show: those with at least one trial.
    fn applicable(&self) -> usize {
        self.verdicts
            .iter()
            .filter(|(v, _)| v.scenarios > 0)
            .count()
    }

    fn caught(&self) -> usize {
        self.verdicts
            .iter()
            .filter(|(v, _)| v.caught_by.is_some())
            .count()
    }

    /// Bugs that their own scenario caught with their own checker.
    fn by_their_checker(&self) -> usize {
        self.verdicts
            .iter()
            .filter(|(v, _)| v.by_its_checker)
            .count()
    }

    fn all_caught(&self) -> bool {
        self.caught() == self.applicable()
            && self.by_their_checker() == self.applicable()
            && self.baseline.is_empty()
    }

    /// 4 if a trial hit an internal error, else 3 if the correct engine
    /// hit an engine panic, else 1 unless every bug was caught (by its own
    /// scenario with its own checker, too) and the correct engine passed.
    fn exit_code(&self) -> u8 {
        if !self.internal.is_empty() {
            EXIT_INTERNAL_ERROR
        } else if self.baseline.iter().any(|t| t.kind == Some(ENGINE_PANIC)) {
            EXIT_ENGINE_PANIC
        } else if self.all_caught() {
            EXIT_PASSED
        } else {
            EXIT_FAILED
        }
    }

    fn json(&self) -> impl Serialize + '_ {
        #[derive(Serialize)]
        struct Bug<'a> {
            name: &'a str,
            incident: &'a str,
            applies: bool,
            requires: String,
            caught: bool,
            scenario: Option<&'a str>,
            seed: Option<u64>,
            seeds_tried: Option<u64>,
            checker: Option<&'a str>,
            by_its_checker: bool,
            median_seeds: Option<u64>,
            caught_in_scenarios: usize,
            /// Of its own scenario's seeds, how many caught it with its
            /// own checker, and how many ran.
            own_catches: Option<u64>,
            own_seeds: Option<u64>,
            /// The coverage probes the catching seed hit.
            probes: Vec<&'static str>,
            wall_seconds: f64,
        }
        #[derive(Serialize)]
        struct Baseline<'a> {
            scenarios: usize,
            failed: Vec<(&'a str, Option<u64>, Option<&'a str>)>,
        }
        #[derive(Serialize)]
        struct Json<'a> {
            bugs: Vec<Bug<'a>>,
            caught: usize,
            by_their_checker: usize,
            applicable: usize,
            total: usize,
            baseline: Baseline<'a>,
            wall_seconds: f64,
        }
        let bugs = self
            .verdicts
            .iter()
            .map(|(v, spent)| {
                let by = v.caught_by.as_ref();
                Bug {
                    name: v.bug.name(),
                    incident: v.bug.incident(),
                    applies: v.scenarios > 0,
                    requires: v.bug.requires().describe(),
                    caught: by.is_some(),
                    scenario: by.map(|t| t.scenario.as_str()),
                    seed: by.and_then(|t| t.failed_seed),
                    seeds_tried: by.map(|t| t.seeds_tried),
                    checker: by.and_then(|t| t.checker.as_deref()),
                    by_its_checker: v.by_its_checker,
                    median_seeds: v.median_seeds,
                    caught_in_scenarios: v.caught_in,
                    own_catches: v.meant_catches.map(|(caught, _)| caught),
                    own_seeds: v.meant_catches.map(|(_, run)| run),
                    probes: by
                        .map_or_else(Vec::new, |t| t.probes.iter().map(|p| p.name()).collect()),
                    wall_seconds: round(spent.as_secs_f64()),
                }
            })
            .collect();
        let failed = self
            .baseline
            .iter()
            .map(|t| (t.scenario.as_str(), t.failed_seed, t.violation.as_deref()))
            .collect();
        Json {
            bugs,
            caught: self.caught(),
            by_their_checker: self.by_their_checker(),
            applicable: self.applicable(),
            total: self.verdicts.len(),
            baseline: Baseline {
                scenarios: self.scenarios,
                failed,
            },
            wall_seconds: round(self.wall.as_secs_f64()),
        }
    }

    fn human(&self) -> String {
        // The scenario column fits the longest name it shows.
        let w = (self.verdicts.iter())
            .filter_map(|(v, _)| v.caught_by.as_ref())
            .map(|t| t.scenario.len())
            .fold("first caught by".len(), usize::max);
        // And the bug column the longest bug name.
        let b = (self.verdicts.iter())
            .map(|(v, _)| v.bug.name().len())
            .fold(26, usize::max);
        let mut out = format!(
            "{:<b$} {:<6} {:<4} {:<w$} {:>5} {:>6} {:>7} {:>9} {:>7}  checker\n",
            "bug",
            "caught",
            "own",
            "first caught by",
            "seed",
            "seeds",
            "median",
            "scenarios",
            "own/n"
        );
        for (v, _) in &self.verdicts {
            if v.scenarios == 0 {
                out += &format!(
                    "{:<b$} {:<6} {:<4} {}\n",
                    v.bug.name(),
                    "n/a",
                    "n/a",
                    v.bug.requires().describe()
                );
                continue;
            }
            let by = v.caught_by.as_ref();
            out += &format!(
                "{:<b$} {:<6} {:<4} {:<w$} {:>5} {:>6} {:>7} {:>9} {:>7}  {}\n",
                v.bug.name(),
                if by.is_some() { "yes" } else { "NO" },
                if v.by_its_checker { "yes" } else { "NO" },
                by.map_or("-", |t| t.scenario.as_str()),
                by.and_then(|t| t.failed_seed)
                    .map_or("-".into(), |s| s.to_string()),
                by.map_or("-".into(), |t| t.seeds_tried.to_string()),
                v.median_seeds.map_or("-".into(), |m| m.to_string()),
                format!("{}/{}", v.caught_in, v.scenarios),
                v.meant_catches
                    .map_or("-".into(), |(caught, run)| format!("{caught}/{run}")),
                by.and_then(|t| t.checker.as_deref()).unwrap_or("-"),
            );
        }
        out += "\nprobes the catching seed hit (the fault-handling paths its run took):\n";
        for (v, _) in &self.verdicts {
            let Some(t) = v.caught_by.as_ref() else {
                continue;
            };
            let probes: Vec<&str> = t.probes.iter().map(|p| p.name()).collect();
            out += &format!(
                "{:<b$} {} seed {}: {}\n",
                v.bug.name(),
                t.scenario,
                t.failed_seed.unwrap_or_default(),
                if probes.is_empty() {
                    "none".to_string()
                } else {
                    probes.join(", ")
                }
            );
        }
        let (scope, not_applicable) = match self.verdicts.len() - self.applicable() {
            0 => (String::new(), String::new()),
            n => (
                format!(" that apply to {}", self.jobs),
                format!("; {n} {} not apply", if n == 1 { "does" } else { "do" }),
            ),
        };
        out += &format!(
            "\ncaught {} of {} planted bugs{scope} ({} by their own scenario and \
             checker{not_applicable}); the correct engine passed {} of {} scenarios; {:.1} s\n",
            self.caught(),
            self.applicable(),
            self.by_their_checker(),
            self.scenarios - self.baseline.len(),
            self.scenarios,
            self.wall.as_secs_f64()
        );
        for t in &self.baseline {
            out += &format!(
                "FALSE ALARM: {} failed seed {} without a planted bug: {}\n",
                t.scenario,
                t.failed_seed.unwrap_or_default(),
                t.violation.as_deref().unwrap_or("")
            );
        }
        for t in &self.internal {
            out += &format!(
                "INTERNAL ERROR: {} with {} failed seed {} for a reason of turmoil's or \
                 flinch's, so it proves nothing: {}\n",
                t.scenario,
                t.bug.map_or("the correct engine", |b| b.name()),
                t.failed_seed.unwrap_or_default(),
                t.violation.as_deref().unwrap_or("")
            );
        }
        out
    }
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use flinch_engine::probe::Probe;

    fn failed(kind: &'static str, bug: Option<PlantedBug>) -> Trial {
        Trial {
            scenario: "steady".into(),
            bug,
            failed_seed: Some(3),
            seeds_tried: 4,
            checker: Some("expected-outcome".into()),
            kind: Some(kind),
            violation: Some(format!("{kind}: ...")),
            checkers: vec!["expected-outcome"],
            probes: Vec::new(),
            catches: None,
            internal_after: None,
        }
    }

    /// The report of one trial, of keyed-count's scenarios.
    fn report_of(trial: Trial) -> Report {
        let timed = [Timed {
            index: 0,
            trial,
            wall: Duration::ZERO,
        }];
        Report::new(&timed, Duration::from_secs(1), "keyed-count".into())
    }

    fn report(baseline: Vec<Trial>, internal: Vec<Trial>) -> Report {
        Report {
            verdicts: Vec::new(),
            baseline,
            internal,
            scenarios: 19,
            jobs: "keyed-count".into(),
            wall: Duration::from_secs(1),
        }
    }

    #[test]
    fn the_report_lists_the_probes_of_each_catching_seed() {
        let bug = PlantedBug::NoEpochFence;
        let caught = Trial {
            probes: vec![Probe::RecoveredTxnAlreadyCommitted, Probe::StaleTxnsAborted],
            ..failed("lingering", Some(bug))
        };
        let r = report_of(caught);
        let human = r.human();
        // The bug column fits the longest bug name.
        let b = PlantedBug::ALL.iter().map(|b| b.name().len()).max();
        let b = b.expect("bugs").max(26);
        let line = format!(
            "{:<b$} steady seed 3: recovered-txn-already-committed, stale-txns-aborted\n",
            "no-epoch-fence"
        );
        assert!(human.contains(&line), "{human}");
        // A bug no seed caught has no line; the JSON carries the names too.
        let never = format!("{:<b$} steady", "commit-on-barrier");
        assert!(!human.contains(&never), "{human}");
        assert!(human.contains("commit-on-barrier "), "{human}");
        let json = serde_json::to_value(r.json()).expect("serializes");
        let bugs = json["bugs"].as_array().expect("bugs");
        let mine = bugs
            .iter()
            .find(|b| b["name"] == "no-epoch-fence")
            .expect("listed");
        assert_eq!(
            mine["probes"],
            serde_json::json!(["recovered-txn-already-committed", "stale-txns-aborted"])
        );
    }

    #[test]
    fn progress_says_each_bug_once_when_its_last_scenario_is_done() {
        let bug = PlantedBug::CommitOnBarrier;
        let (meant, checker) = bug.meant_to_catch();
        let trials = [(None, 0), (None, 1), (Some(bug), 0), (Some(bug), 1)];
        let mut p = BugProgress::new(&[None, Some(bug)], &trials);
        let pass = |scenario: &str, bug| Trial {
            scenario: scenario.into(),
            bug,
            failed_seed: None,
            seeds_tried: 20,
            checker: None,
            kind: None,
            violation: None,
            checkers: Vec::new(),
            probes: Vec::new(),
            catches: None,
            internal_after: None,
        };
        let caught = Trial {
            failed_seed: Some(4),
            seeds_tried: 5,
            checker: Some(checker.into()),
            kind: Some("duplicated"),
            checkers: vec![checker],
            ..pass(meant, Some(bug))
        };
        assert_eq!(p.on_trial(&pass("steady", Some(bug))), None);
        assert_eq!(p.on_trial(&pass("steady", None)), None);
        assert_eq!(
            p.on_trial(&pass(meant, None)).as_deref(),
            Some("flinch: selfcheck 1/2: the correct engine passed 2 of 2 scenarios")
        );
        assert_eq!(
            p.on_trial(&caught),
            Some(format!(
                "flinch: selfcheck 2/2: commit-on-barrier caught, first by {meant} at seed 4 \
                 ({checker}); 1 of 2 scenarios; its own scenario and checker caught it"
            ))
        );
        // A trial of a bug already done is not counted again.
        assert_eq!(p.on_trial(&caught), None);
    }

    /// A bug no scenario's job can show is listed as not applicable, and
    /// is no miss: the self-check still passes.
    #[test]
    fn a_bug_that_applies_to_no_scenario_is_not_a_miss() {
        let bug = PlantedBug::RestoredWatermark;
        let caught = failed("duplicated", Some(PlantedBug::CommitOnBarrier));
        let timed = [Timed {
            index: 0,
            trial: Trial {
                scenario: PlantedBug::CommitOnBarrier.meant_to_catch().0.into(),
                checkers: vec![PlantedBug::CommitOnBarrier.meant_to_catch().1],
                ..caught
            },
            wall: Duration::ZERO,
        }];
        let mut r = Report::new(&timed, Duration::from_secs(1), "keyed-count".into());
        r.verdicts
            .retain(|(v, _)| v.bug == bug || v.bug == PlantedBug::CommitOnBarrier);
        assert_eq!(r.applicable(), 1);
        assert_eq!(r.exit_code(), EXIT_PASSED);
        let human = r.human();
        assert!(
            human.contains("restored-watermark         n/a    n/a  needs event time\n")
                && human.contains(
                    "caught 1 of 1 planted bugs that apply to keyed-count (1 by their own \
                     scenario and checker; 1 does not apply)"
                ),
            "{human}"
        );
        let json = serde_json::to_value(r.json()).expect("serializes");
        let mine = &json["bugs"][1];
        assert_eq!(mine["name"], "restored-watermark");
        assert_eq!(mine["applies"], false);
        assert_eq!(mine["requires"], "needs event time");
        assert_eq!(
            (json["applicable"].clone(), json["total"].clone()),
            (1.into(), 2.into())
        );
    }

    #[test]
    fn the_exit_code_says_whether_the_selfcheck_can_be_trusted() {
        assert_eq!(report(vec![], vec![]).exit_code(), EXIT_PASSED);
        let false_alarm = failed("not-finished", None);
        assert_eq!(report(vec![false_alarm], vec![]).exit_code(), EXIT_FAILED);
        let panicked = failed(ENGINE_PANIC, None);
        assert_eq!(
            report(vec![panicked.clone()], vec![]).exit_code(),
            EXIT_ENGINE_PANIC
        );
        let broke = failed(INTERNAL_ERROR, Some(PlantedBug::CommitOnBarrier));
        let r = report(vec![panicked], vec![broke]);
        assert_eq!(r.exit_code(), EXIT_INTERNAL_ERROR);
        let text = r.human();
        assert!(
            text.contains(
                "INTERNAL ERROR: steady with commit-on-barrier failed seed 3 for a reason of \
                 turmoil's or flinch's, so it proves nothing: internal-error: ...\n"
            ),
            "{text}"
        );
    }

    /// An internal error in a seed a counting trial ran after its first
    /// catch is reported as one, with that seed.
    #[test]
    fn an_internal_error_after_the_first_catch_is_reported() {
        let bug = PlantedBug::CommitOnBarrier;
        let counted = Trial {
            catches: Some((5, 20)),
            internal_after: Some((11, "internal-error: a host refused a step".into())),
            ..failed("duplicated", Some(bug))
        };
        let r = report_of(counted);
        assert_eq!(r.exit_code(), EXIT_INTERNAL_ERROR);
        let text = r.human();
        assert!(
            text.contains("INTERNAL ERROR: steady with commit-on-barrier failed seed 11"),
            "{text}"
        );
    }
}
