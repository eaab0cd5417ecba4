//! [`Test`]: run a [`Job`] under a scenario's faults, seed after seed,
//! from a `#[test]` (docs/api.md).

use crate::job::{Job, Model};
use crate::report::{shell_quote, FailureReport, SeedSummary, ShrunkPlan};
use crate::scenario::Scenario as Built;
use crate::Record;
use flinch_harness::job::ScenarioJob;
use flinch_harness::panics::{self, Blame, Phase};
use flinch_harness::plan::render;
use flinch_harness::scenario::{load_choosing, JobChoice, Scenario, SeedRange};
use flinch_harness::seed::{run_seed, SeedReport};
use flinch_harness::shrink::{shrink_seed, shrunk_scenario};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The scenario a [`Test`] runs unless told otherwise: a taskmanager
/// crashes at a seeded time and comes back.
pub const DEFAULT_SCENARIO: &str = "taskmanager-crash";

/// Runs at most this many simulations to shrink a failing seed's fault
/// plan (as `flinch run` does).
pub const SHRINK_MAX_RUNS: usize = 100;

/// The environment variable that makes [`Test::run`] run one seed.
pub const SEED_VAR: &str = "FLINCH_SEED";
/// The environment variable that makes [`Test::run`] run a scenario file
/// (a shrunk plan it wrote) instead of the test's scenario.
pub const PLAN_VAR: &str = "FLINCH_PLAN";

/// A run of a user's [`Job`] under faults: a scenario (a built-in one by
/// name, or a scenario file) and a range of seeds. [`Test::run`] panics at
/// the first failing seed with the violations, the fault plan shrunk to
/// what still fails (written to a file) and the command that replays it;
/// [`Test::try_run`] returns the same as a [`Failure`].
///
/// ```
/// # use flinch::{Job, JobGraph, Record, Finding, Workload, Operator, Context};
/// # #[derive(Debug)]
/// # struct Forward;
/// # struct Pass;
/// # impl Operator for Pass {
/// #     type Key = u32; type In = (); type OutKey = u32; type Out = (); type State = ();
/// #     fn process(&mut self, key: &u32, _: (), _: &mut (), ctx: &mut Context<'_, u32, ()>) {
/// #         ctx.emit(*key, ());
/// #     }
/// # }
/// # impl Job for Forward {
/// #     fn name(&self) -> &'static str { "forward" }
/// #     fn graph(&self) -> JobGraph {
/// #         JobGraph::source("source").and_then(|s| s.key_by("pass", || Pass)).unwrap().build()
/// #     }
/// #     fn input(&self, workload: &Workload, seed: u64) -> Vec<Vec<Record>> {
/// #         flinch::workload_records(workload, seed)
/// #     }
/// #     fn check_output(&self, input: &[Vec<Record>], output: &[Record]) -> Vec<Finding> {
/// #         let expected = flinch::multiset(input.iter().flatten());
/// #         flinch::check_multiset(expected, output, |k, v| format!("{k:?} {v:?}"))
/// #     }
/// # }
/// flinch::Test::new(Forward)
///     .scenario("taskmanager-crash")
///     .seeds(0..3)
///     .run();
/// ```
#[derive(Debug, Clone)]
pub struct Test {
    job: ScenarioJob,
    scenario: Source,
    seeds: Option<Range<u64>>,
    name: Option<String>,
    shrink: bool,
}

/// What [`Test::scenario`] takes: a built-in scenario's name or a
/// scenario file's path (`&str`, `String`, `&Path`, `PathBuf`), or a
/// [`Scenario`](crate::Scenario) built in code.
#[derive(Debug, Clone)]
pub struct ScenarioSource(Source);

#[derive(Debug, Clone)]
enum Source {
    Named(String),
    Built(Box<Built>),
}

impl Source {
    /// How failures name it: the name or path given, or the built
    /// scenario's name.
    fn label(&self) -> String {
        match self {
            Source::Named(name) => name.clone(),
            Source::Built(scenario) => scenario.label(),
        }
    }
}

impl From<&str> for ScenarioSource {
    fn from(name_or_path: &str) -> Self {
        ScenarioSource(Source::Named(name_or_path.to_owned()))
    }
}

impl From<String> for ScenarioSource {
    fn from(name_or_path: String) -> Self {
        ScenarioSource(Source::Named(name_or_path))
    }
}

impl From<&String> for ScenarioSource {
    fn from(name_or_path: &String) -> Self {
        ScenarioSource(Source::Named(name_or_path.clone()))
    }
}

impl From<&Path> for ScenarioSource {
    fn from(path: &Path) -> Self {
        ScenarioSource(Source::Named(path.to_string_lossy().into_owned()))
    }
}

impl From<PathBuf> for ScenarioSource {
    fn from(path: PathBuf) -> Self {
        ScenarioSource::from(path.as_path())
    }
}

impl From<Built> for ScenarioSource {
    fn from(scenario: Built) -> Self {
        ScenarioSource(Source::Built(Box::new(scenario)))
    }
}

impl Test {
    /// A test of `job` under [`DEFAULT_SCENARIO`], over its seeds.
    ///
    /// # Panics
    /// If `job`'s name is not 1 to 32 characters of `a-z`, `0-9` and `-`
    /// starting with a letter, or is `keyed-count`, the reference job's
    /// (the record-level checkers read a job of that name's output as
    /// keyed-count's), at the caller.
    #[track_caller]
    pub fn new(job: impl Job) -> Test {
        let name = job.name();
        assert!(
            valid_name(name),
            "flinch: job name {name:?}: must be 1 to 32 characters of a-z, 0-9 and -, starting \
             with a letter"
        );
        assert!(
            name != flinch_harness::keyed_count::NAME,
            "flinch: job name {name:?} is the reference job's, whose output the record-level \
             checkers read as keyed-count's: give your job a name of its own"
        );
        Test {
            job: ScenarioJob {
                name: name.to_owned(),
                params: toml::Table::new(),
                model: Arc::new(Model::new(job)),
            },
            scenario: Source::Named(DEFAULT_SCENARIO.to_owned()),
            seeds: None,
            name: None,
            shrink: true,
        }
    }

    /// Run under `scenario`: a built-in scenario's name (`flinch list`), a
    /// scenario file's path, or a [`Scenario`](crate::Scenario) built in code. A file's
    /// `job` must be absent or name this job, without parameters; a
    /// built-in scenario runs this job instead of its own.
    pub fn scenario(mut self, scenario: impl Into<ScenarioSource>) -> Test {
        self.scenario = scenario.into().0;
        self
    }

    /// Do not shrink a failing seed's fault plan: write it as it ran.
    /// For a property test ([`crate::strategy`]), where proptest shrinks.
    pub fn no_shrink(mut self) -> Test {
        self.shrink = false;
        self
    }

    /// Run these seeds (`start..end`, end exclusive) instead of the
    /// scenario's own range.
    pub fn seeds(mut self, seeds: Range<u64>) -> Test {
        self.seeds = Some(seeds);
        self
    }

    /// The test's name as `cargo test` filters it (e.g. `tests::my_test`),
    /// for the replay command and the plan file's name. Default: the name
    /// of the thread running the test, which the test harness sets to it.
    pub fn name(mut self, test_name: &str) -> Test {
        self.name = Some(test_name.to_owned());
        self
    }

    /// [`Test::try_run`], panicking with the [`Failure`]'s report.
    ///
    /// # Panics
    /// On the first failing seed, or when the scenario does not load (at
    /// the caller: the report points at the user's test).
    #[track_caller]
    pub fn run(self) {
        if let Err(failure) = self.try_run() {
            panic!("{failure}");
        }
    }

    /// Run the seeds in order and stop at the first that fails: shrink its
    /// fault plan, write it as a scenario file under
    /// `<target dir>/flinch/`, and return the report. The first seed runs
    /// twice: different traces mean the job is not deterministic.
    ///
    /// With [`SEED_VAR`] set, only that seed runs; with [`PLAN_VAR`] too,
    /// under that scenario file (what the replay command of a failure
    /// sets).
    pub fn try_run(&self) -> Result<Passed, Box<Failure>> {
        // Built-in scenarios name built-in jobs: make them known (once per
        // process; a registry installed before stays).
        crate::jobs::install();
        let plan_file = std::env::var_os(PLAN_VAR).map(PathBuf::from);
        let replaying = plan_file.is_some();
        let seed_var = std::env::var_os(SEED_VAR).map(|s| s.to_string_lossy().into_owned());
        let replay_seed =
            replay_seed(seed_var.as_deref(), replaying).map_err(|e| self.failure(None, e))?;
        // Loading checks the scenario against the job's graph (its task
        // filters name its vertices): a panic in `Job::graph` is the job's.
        let load = || match (&plan_file, &self.scenario) {
            (Some(path), _) => {
                load_choosing(&path.to_string_lossy(), JobChoice::Given(self.job.clone()))
                    .map_err(|e| format!("{PLAN_VAR}={}: {e}", path.display()))
            }
            (None, Source::Named(name)) => {
                load_choosing(name, JobChoice::Given(self.job.clone())).map_err(|e| e.to_string())
            }
            (None, Source::Built(built)) => built
                .resolve(Some(&self.job))
                .map_err(|e| format!("{e}\nthe scenario, as built:\n{}", built.unchecked_toml())),
        };
        let loaded = panics::catch(Phase::Build, Duration::ZERO, load).unwrap_or_else(|panic| {
            let place =
                (panic.location.as_ref()).map_or("an unknown place".to_owned(), |l| l.to_string());
            // Not the job's own line: the graph builder's checks (more
            // chained operators than a vertex takes), or flinch's.
            let whose = match panic.blame() {
                Blame::Job => "the job's own code panicked",
                Blame::Engine | Blame::Internal => "a panic",
            };
            Err(format!(
                "{whose} at {place} while the scenario was checked against the job's graph \
                 (Job::graph): {}",
                panic.message
            ))
        });
        let scenario =
            loaded.map_err(|e| self.failure(None, format!("the scenario does not load: {e}")))?;
        let seeds = match (replay_seed, &self.seeds) {
            (Some(seed), _) => SeedRange::one(seed),
            (None, Some(range)) => SeedRange::from_exclusive(range.clone()).ok_or_else(|| {
                let message = format!(
                    "no seed to run: the seed range {}..{} is empty",
                    range.start, range.end
                );
                self.failure(None, message)
            })?,
            (None, None) => scenario.seeds,
        };
        let mut passed = 0;
        for seed in seeds.seeds() {
            let report = run_seed(&scenario, seed);
            if seed == seeds.first() {
                let again = run_seed(&scenario, seed);
                if let Some(diff) = nondeterminism(&report, &again) {
                    return Err(self.failure(Some(seed), diff));
                }
            }
            if !report.passed {
                return Err(self.failed_seed(&scenario, report, replaying));
            }
            passed += 1;
        }
        Ok(Passed {
            scenario: scenario.name,
            seeds: passed,
        })
    }

    fn test_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| {
            let thread = std::thread::current();
            match thread.name() {
                Some(name) if name != "main" => name.to_owned(),
                _ => "<your test>".to_owned(),
            }
        })
    }

    /// A failure that is not a seed's verdict: the scenario did not load,
    /// or (with `seed`) two runs of the seed differ.
    fn failure(&self, seed: Option<u64>, why: String) -> Box<Failure> {
        let replay = seed.map(|seed| replay_command(&self.test_name(), seed, None));
        let mut report = match seed {
            Some(seed) => format!("FAILED: seed {seed}\n{why}\n"),
            None => format!("{why}\n"),
        };
        if let Some(replay) = &replay {
            report += &format!("replay: {replay}\n");
        }
        Box::new(Failure {
            job: self.job.name.clone(),
            scenario: self.scenario.label(),
            seed,
            report,
            violations: Vec::new(),
            plan_file: None,
            replay,
        })
    }

    /// The report of a failing seed, as `flinch run` prints it: its
    /// violations, its plan shrunk and written to a file (unless it is a
    /// replay of one), the replay line, the trace around the first
    /// violation's moment.
    fn failed_seed(
        &self,
        scenario: &Scenario,
        report: SeedReport,
        replaying: bool,
    ) -> Box<Failure> {
        let seed = report.seed;
        let violations = report.violations.iter().map(|v| v.to_string()).collect();
        let summary = SeedSummary::from(report);
        let mut notes = String::new();
        let mut shrunk_plan = None;
        // The scenario file to write: the plan shrunk, or as it ran.
        let plan = if replaying || summary.faults == 0 {
            None
        } else if !self.shrink {
            Some(render(scenario))
        } else {
            match shrink_seed(scenario, seed, SHRINK_MAX_RUNS, |_| {}) {
                Ok(shrunk) => {
                    shrunk_plan = Some(ShrunkPlan::from(&shrunk));
                    Some(render(&shrunk_scenario(scenario, &shrunk)))
                }
                Err(e) => {
                    notes += &format!("not shrunk: {e}\n");
                    None
                }
            }
        };
        let file = match plan {
            None => std::env::var_os(PLAN_VAR).map(PathBuf::from),
            Some(text) => {
                let file = self.plan_path(&scenario.name, seed);
                match write_plan(&file, &text) {
                    Ok(()) => Some(file),
                    Err(e) => {
                        notes += &format!(
                            "(the plan file {} could not be written: {e})\n",
                            file.display()
                        );
                        None
                    }
                }
            }
        };
        let unshrunk_plan = match (&shrunk_plan, &file, replaying) {
            (None, Some(file), false) => Some(format!(
                "plan: {}  (the scenario as it ran, as a file; {PLAN_VAR} runs it)",
                file.display()
            )),
            _ => None,
        };
        let replay = replay_command(&self.test_name(), seed, file.as_deref());
        let shrunk_next = match &file {
            Some(file) => format!(
                "plan: {}  (the shrunk plan as a scenario file; {PLAN_VAR} runs it)",
                file.display()
            ),
            None => "plan: (not written)".to_owned(),
        };
        let mut text = format!("FAILED: seed {seed}\n");
        FailureReport {
            seed: &summary,
            replay: &replay,
            shrunk: shrunk_plan.as_ref(),
            shrunk_next: &shrunk_next,
            shrink_further: "a test whose `.scenario(..)` is the plan file",
            all_violations: "Failure::violations, from Test::try_run",
            unshrunk_plan: unshrunk_plan.as_deref(),
        }
        .render(&mut text);
        text += &notes;
        Box::new(Failure {
            job: self.job.name.clone(),
            scenario: scenario.name.clone(),
            seed: Some(seed),
            report: text,
            violations,
            plan_file: file,
            replay: Some(replay),
        })
    }

    /// `<target dir>/flinch/<test name>-<scenario>-seed-<seed>.toml`: one
    /// test may run several scenarios, each failing at its own seed 0. The
    /// test's name is cut to its first 120 characters and the scenario's to
    /// 64, so that the file's name stays within the 255 bytes a file system
    /// allows.
    fn plan_path(&self, scenario: &str, seed: u64) -> PathBuf {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("CARGO_MANIFEST_DIR").map(|d| PathBuf::from(d).join("target"))
            })
            .unwrap_or_else(|| PathBuf::from("target"));
        let stem = |name: &str, most: usize| -> String {
            (name.chars().take(most))
                .map(
                    |c| match c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                        true => c,
                        false => '_',
                    },
                )
                .collect()
        };
        let (test, scenario) = (stem(&self.test_name(), 120), stem(scenario, 64));
        target
            .join("flinch")
            .join(format!("{test}-{scenario}-seed-{seed}.toml"))
    }
}

fn write_plan(file: &std::path::Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(file, text)
}

/// The one seed to run, from [`SEED_VAR`]'s value (`seed`) and whether
/// [`PLAN_VAR`] is set; `None`: run the test's seeds. Errors: a value that
/// is not a u64, or a plan file without a seed (a replay runs one seed).
fn replay_seed(seed: Option<&str>, plan_set: bool) -> Result<Option<u64>, String> {
    match (seed, plan_set) {
        (Some(text), _) => (text.trim().parse().map(Some))
            .map_err(|_| format!("{SEED_VAR}={text:?} is not a seed (a u64)")),
        (None, true) => Err(format!(
            "{PLAN_VAR} is set but {SEED_VAR} is not: a replay runs one seed under the plan file, \
             and its command sets both"
        )),
        (None, false) => Ok(None),
    }
}

/// `FLINCH_SEED=17 FLINCH_PLAN=<file> cargo test <test> -- --exact
/// --include-ignored` (`--include-ignored`: the test may be `#[ignore]`d,
/// as a test that fails on purpose is).
fn replay_command(test: &str, seed: u64, plan: Option<&std::path::Path>) -> String {
    let plan = plan.map_or(String::new(), |p| {
        format!("{PLAN_VAR}={} ", shell_quote(&p.to_string_lossy()))
    });
    let test = shell_quote(test);
    format!("{SEED_VAR}={seed} {plan}cargo test {test} -- --exact --include-ignored")
}

/// Why two runs of one seed differ, naming the first differing trace
/// line; `None` if they are the same.
fn nondeterminism(first: &SeedReport, second: &SeedReport) -> Option<String> {
    if first.trace_hash() == second.trace_hash() {
        // The trace has counts, not values: compare the output itself.
        let records = |r: &SeedReport| -> Vec<Record> {
            r.output
                .iter()
                .flat_map(|(_, records)| records.clone())
                .collect()
        };
        let (a, b) = (records(first), records(second));
        let at = a.iter().zip(&b).position(|(x, y)| x != y)?;
        return Some(format!(
            "the job is not deterministic: seed {} ran twice with the same trace but different \
             committed output; record {} was\n  first:  {:?}\n  second: {:?}\n{ADVICE}",
            first.seed,
            at + 1,
            a[at],
            b[at]
        ));
    }
    let (a, b) = (&first.trace, &second.trace);
    let at = a.iter().zip(b).position(|(x, y)| x.line() != y.line());
    let line = |t: &[flinch_harness::trace::TraceEvent], i: usize| {
        t.get(i)
            .map_or("(the trace ended)".to_owned(), |e| e.line())
    };
    let i = at.unwrap_or(a.len().min(b.len()));
    Some(format!(
        "the job is not deterministic: seed {} ran twice with different traces (hashes {:08x} \
         and {:08x}); they part at line {}:\n  first:  {}\n  second: {}\n{ADVICE}",
        first.seed,
        first.trace_hash(),
        second.trace_hash(),
        i + 1,
        line(a, i),
        line(b, i)
    ))
}

/// What an operator must not do, said with every nondeterminism found.
const ADVICE: &str = "An operator must not iterate a HashMap or HashSet into its output or \
                      state, keep one in its State (it is serialized at every checkpoint, in a \
                      random order: use a BTreeMap), read the clock, use OS randomness, do I/O \
                      or spawn threads.";

fn valid_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// What a [`Test`] that passed ran.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Passed {
    /// The scenario's name.
    pub scenario: String,
    /// How many seeds passed.
    pub seeds: u64,
}

/// A [`Test`] that failed: at a seed (with its report, the shrunk plan's
/// file and the replay command), or before any (the scenario did not
/// load). Its `Display` is the report [`Test::run`] panics with.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Failure {
    /// The job's name.
    pub job: String,
    /// The scenario, as given or as named in its file.
    pub scenario: String,
    /// The failing seed; `None` when nothing ran.
    pub seed: Option<u64>,
    /// The report `flinch run` prints for its first failing seed
    /// (`FAILED: seed N`, the replay command, the violations, the shrunk
    /// plan and where it was written, the trace's last lines), or why
    /// nothing ran.
    pub report: String,
    /// The violations the checkers reported for the seed, one line each,
    /// root cause first (the report shows the first ten). A checker lists
    /// at most 20 of a kind, then one line counting the rest (`... and 80
    /// more inconsistent-cut violations`).
    pub violations: Vec<String>,
    /// Where the shrunk plan was written, as a scenario file.
    pub plan_file: Option<PathBuf>,
    /// The command that replays the failure.
    pub replay: Option<String>,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "flinch: job {}, scenario {}:", self.job, self.scenario)?;
        write!(f, "{}", self.report)?;
        if !self.report.ends_with('\n') {
            writeln!(f)?;
        }
        Ok(())
    }
}

impl std::error::Error for Failure {}

#[cfg(test)]
mod tests {
    use super::*;

    /// The longest test name and scenario name still make a file name a
    /// file system takes (255 bytes).
    #[test]
    fn a_plan_files_name_fits_a_file_system() {
        #[derive(Debug)]
        struct Named;
        impl Job for Named {
            fn name(&self) -> &'static str {
                "named"
            }
            fn graph(&self) -> crate::JobGraph {
                unreachable!("not run")
            }
            fn check_output(&self, _: &[Vec<Record>], _: &[Record]) -> Vec<crate::Finding> {
                Vec::new()
            }
        }
        let test = Test::new(Named).name(&"t".repeat(500));
        let path = test.plan_path(&"s".repeat(128), u64::MAX);
        let name = path.file_name().expect("a file").len();
        assert!(name <= 255, "{name}: {}", path.display());
        assert!(path.ends_with(format!(
            "{}-{}-seed-{}.toml",
            "t".repeat(120),
            "s".repeat(64),
            u64::MAX
        )));
    }

    #[test]
    fn a_replay_runs_one_seed_and_a_plan_file_needs_it() {
        assert_eq!(replay_seed(None, false), Ok(None));
        assert_eq!(replay_seed(Some(" 17 "), false), Ok(Some(17)));
        assert_eq!(replay_seed(Some("17"), true), Ok(Some(17)));
        assert_eq!(
            replay_seed(Some("-1"), true),
            Err("FLINCH_SEED=\"-1\" is not a seed (a u64)".to_owned())
        );
        assert!(replay_seed(None, true)
            .is_err_and(|e| e.starts_with("FLINCH_PLAN is set but FLINCH_SEED is not")));
    }

    #[test]
    fn the_replay_command_quotes_what_the_shell_would_split() {
        assert_eq!(
            replay_command(
                "tests::my_test",
                17,
                Some(Path::new("target/flinch/a.toml"))
            ),
            "FLINCH_SEED=17 FLINCH_PLAN=target/flinch/a.toml cargo test tests::my_test -- --exact \
             --include-ignored"
        );
        assert_eq!(
            replay_command("a b", 3, Some(Path::new("my target/x.toml"))),
            "FLINCH_SEED=3 FLINCH_PLAN='my target/x.toml' cargo test 'a b' -- --exact \
             --include-ignored"
        );
    }
}
