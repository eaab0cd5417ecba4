//! The public API, used as a user would: only `flinch::` items. A user's
//! operator that leaves part of its state out of the snapshot is caught
//! with a shrunk plan, and the fixed operator passes.

use flinch::{Context, Finding, Job, JobGraph, Operator, Record, Test, Workload};

/// A per-key count, with `Counted` state, or `Forgetful` state that leaves
/// the count out of the snapshot (the README's guide plants the same bug
/// in `examples/user-crate`, whose code `tests/guide.rs` runs).
mod user_crate {
    use flinch::{Context, Finding, Job, JobGraph, Multiset, Operator, Record, Workload};
    use serde::{Deserialize, Serialize};
    use std::marker::PhantomData;

    /// The state of one key: how many of its records so far.
    #[derive(Debug, Default, Serialize, Deserialize)]
    pub struct Counted {
        n: u64,
    }

    /// The same state, written by someone who thought the count could be rebuilt: `n` is not
    /// snapshotted, so a restore starts it from 0 again.
    #[derive(Debug, Default, Serialize, Deserialize)]
    pub struct Forgetful {
        #[serde(skip)]
        n: u64,
    }

    /// A per-key count state.
    pub trait Count:
        Serialize + serde::de::DeserializeOwned + Default + std::fmt::Debug + 'static
    {
        /// Count one more record; the new count.
        fn next(&mut self) -> u64;
    }

    impl Count for Counted {
        fn next(&mut self) -> u64 {
            self.n += 1;
            self.n
        }
    }

    impl Count for Forgetful {
        fn next(&mut self) -> u64 {
            self.n += 1;
            self.n
        }
    }

    /// Emits `(key, n)` for the n-th record of each key.
    pub struct Counter<S>(PhantomData<S>);

    impl<S: Count> Operator for Counter<S> {
        type Key = u32;
        type In = ();
        type OutKey = u32;
        type Out = u64;
        type State = S;

        fn process(&mut self, key: &u32, _: (), state: &mut S, ctx: &mut Context<'_, u32, u64>) {
            ctx.emit(*key, state.next());
        }
    }

    /// The job: the reference workload's records, keyed by `u32`, counted per key. Exactly-once
    /// means each key's counts `1..=N` are committed once each, however partitions interleave.
    #[derive(Debug)]
    pub struct PerKeyCount<S>(PhantomData<fn() -> S>);

    impl<S> PerKeyCount<S> {
        pub fn new() -> Self {
            PerKeyCount(PhantomData)
        }
    }

    impl<S> Default for PerKeyCount<S> {
        fn default() -> Self {
            PerKeyCount::new()
        }
    }

    impl<S: Count> Job for PerKeyCount<S> {
        fn name(&self) -> &'static str {
            "per-key-count"
        }

        fn graph(&self) -> JobGraph {
            JobGraph::source("source")
                .and_then(|s| s.key_by("count", || Counter::<S>(PhantomData)))
                .expect("valid, distinct vertex names")
                .build()
        }

        fn input(&self, workload: &Workload, seed: u64) -> Vec<Vec<Record>> {
            flinch::workload_records(workload, seed)
        }

        fn check_output(&self, input: &[Vec<Record>], output: &[Record]) -> Vec<Finding> {
            let mut totals = std::collections::BTreeMap::<u32, u64>::new();
            for r in input.iter().flatten() {
                *totals
                    .entry(flinch::decode(&r.key).expect("u32 keys"))
                    .or_default() += 1;
            }
            let mut expected = Multiset::new();
            for (key, total) in totals {
                for n in 1..=total {
                    let k = flinch::encode(&key).expect("postcard encodes a u32");
                    let v = flinch::encode(&n).expect("postcard encodes a u64");
                    expected.insert((k.to_vec(), v.to_vec()), 1);
                }
            }
            flinch::check_multiset(expected, output, |k, v| {
                let key: Option<u32> = flinch::decode(k).ok();
                let n: Option<u64> = flinch::decode(v).ok();
                format!("key {key:?}, count {n:?}")
            })
        }
    }
}

use user_crate::{Count, Counted, Forgetful, PerKeyCount};

fn job<S: Count>() -> PerKeyCount<S> {
    PerKeyCount::new()
}

#[test]
fn an_operator_that_leaves_state_out_of_its_snapshot_is_caught_with_a_shrunk_plan() {
    let failure = Test::new(job::<Forgetful>())
        .scenario("taskmanager-crash")
        .seeds(0..20)
        .name("forgetful")
        .try_run()
        .expect_err("a count that restarts from 0 after a restore commits wrong counts");
    let seed = failure.seed.expect("a seed failed");
    let text = failure.to_string();
    eprintln!("{text}");
    assert!(
        text.contains("[exactly-once]") && text.contains("shrunk plan: 1 of 1 fault still fails"),
        "{text}"
    );
    let replay = failure.replay.as_deref().expect("a replay command");
    let plan = failure
        .plan_file
        .clone()
        .expect("the shrunk plan was written");
    // Named for the test and the scenario: another scenario of the same
    // test failing at the same seed writes a file of its own.
    assert!(
        plan.ends_with(format!(
            "flinch/forgetful-taskmanager-crash-seed-{seed}.toml"
        )),
        "{}",
        plan.display()
    );
    assert_eq!(
        replay,
        format!(
            "FLINCH_SEED={seed} FLINCH_PLAN={} cargo test forgetful -- --exact --include-ignored",
            plan.display()
        )
    );
    // The plan file is a scenario for this job that fails the same way.
    let again = Test::new(job::<Forgetful>())
        .scenario(plan.as_path())
        .seeds(seed..seed + 1)
        .try_run()
        .expect_err("the shrunk plan still fails");
    assert_eq!(again.seed, Some(seed));
    assert!(again.to_string().contains("[exactly-once]"), "{again}");
}

#[test]
fn the_fixed_operator_passes_two_hundred_seeds() {
    let passed = Test::new(job::<Counted>())
        .scenario("taskmanager-crash")
        .seeds(0..200)
        .try_run()
        .unwrap_or_else(|failure| panic!("{failure}"));
    assert_eq!(passed.seeds, 200);
}

#[test]
fn a_scenario_file_for_another_job_is_refused() {
    let dir = std::env::temp_dir().join(format!("flinch-api-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let file = dir.join("other.toml");
    std::fs::write(
        &file,
        "name = \"other\"\ndescription = \"x\"\njob = { name = \"dedup\" }\n\
         [expect]\noutcome = \"exactly-once\"\n",
    )
    .expect("write");
    let failure = Test::new(job::<Counted>())
        .scenario(file.as_path())
        .try_run()
        .expect_err("the file is for dedup");
    assert_eq!(failure.seed, None);
    assert!(
        failure.to_string().contains(
            "field `job.name`: this scenario is for job \"dedup\", but the test runs \
             \"per-key-count\""
        ),
        "{failure}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// An operator whose output depends on a `HashMap`'s iteration order
/// (different in every process and every map) is caught on the first seed.
#[test]
fn a_nondeterministic_operator_is_caught() {
    struct Shuffled;
    impl Operator for Shuffled {
        type Key = u32;
        type In = ();
        type OutKey = u32;
        type Out = u64;
        type State = ();
        fn process(&mut self, key: &u32, _: (), _: &mut (), ctx: &mut Context<'_, u32, u64>) {
            // A fresh RandomState each time: the first key iterated differs.
            let map: std::collections::HashMap<u64, ()> = (0..8).map(|i| (i, ())).collect();
            let first = map.keys().next().copied().unwrap_or_default();
            ctx.emit(*key, first);
        }
    }
    #[derive(Debug)]
    struct ShuffledJob;
    impl Job for ShuffledJob {
        fn name(&self) -> &'static str {
            "shuffled"
        }
        fn graph(&self) -> JobGraph {
            JobGraph::source("source")
                .and_then(|s| s.key_by("shuffle", || Shuffled))
                .expect("valid names")
                .build()
        }
        fn input(&self, workload: &Workload, seed: u64) -> Vec<Vec<Record>> {
            flinch::workload_records(workload, seed)
        }
        fn check_output(&self, _: &[Vec<Record>], _: &[Record]) -> Vec<Finding> {
            Vec::new()
        }
    }
    let failure = Test::new(ShuffledJob)
        .scenario("steady")
        .seeds(0..1)
        .try_run()
        .expect_err("two runs of seed 0 differ");
    assert!(
        failure
            .to_string()
            .contains("the job is not deterministic: seed 0 ran twice"),
        "{failure}"
    );
}

/// `Test` fails with the report `flinch run` prints for its first failing
/// seed: the same violations, shrunk plan and trace lines; only the replay
/// command, the line after the shrunk plan (the plan file, not `flinch
/// shrink`) and where the violations not shown are, are a test's own.
#[test]
fn a_failing_test_reports_what_flinch_run_prints() {
    use flinch::jobs::windowed_sum::Params;
    use std::time::Duration;
    let dir = std::env::temp_dir().join(format!("flinch-api-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let scenario = dir.join("watermark.toml");
    // windowed-crash-mid-window without its `job` line (the test gives the
    // job), with a planted bug that restores the watermark.
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/windowed-crash-mid-window.toml"
    ))
    .expect("the built-in scenario's file");
    let text = text
        .lines()
        .filter(|l| !l.starts_with("job = "))
        .collect::<Vec<_>>()
        .join("\n")
        .replacen("[[fault]]", "bug = \"restored-watermark\"\n\n[[fault]]", 1);
    std::fs::write(&scenario, text).expect("write the scenario");
    let params = Params {
        window: Duration::from_millis(500),
        out_of_orderness: Duration::from_millis(100),
        ..Params::default()
    };
    let job = flinch::jobs::WindowedSum::new(&params).expect("valid parameters");
    let failure = Test::new(job)
        .scenario(scenario.as_path())
        .seeds(1..2)
        .name("report")
        .try_run()
        .expect_err("the planted bug fails seed 1");
    let cli = std::process::Command::new(env!("CARGO_BIN_EXE_flinch"))
        .args([
            "run",
            &scenario.to_string_lossy(),
            "--seeds",
            "1..2",
            "--job",
        ])
        .arg(r#"{ name = "windowed-sum", window = "500ms", out_of_orderness = "100ms" }"#)
        .output()
        .expect("flinch runs");
    assert_eq!(cli.status.code(), Some(1));
    let cli = String::from_utf8(cli.stdout).expect("utf-8");
    // From the violations to the trace's end, except the line after the
    // shrunk plan.
    let body = |text: &str| -> Vec<String> {
        let from = text.find("\nviolations: ").expect("a violations line");
        text[from + 1..]
            .lines()
            .filter(|l| {
                !l.starts_with("shrink: ") && !l.starts_with("plan: ") && !l.starts_with("  ... ")
            })
            .map(str::to_owned)
            .collect()
    };
    let report = failure.report.clone();
    assert_eq!(body(&report), body(&cli), "test:\n{report}\ncli:\n{cli}");
    assert!(report.starts_with("FAILED: seed 1\nreplay: FLINCH_SEED=1 FLINCH_PLAN="));
    assert!(cli.contains("\nFAILED: seed 1\nreplay: flinch replay "));
    for line in ["shrunk plan: ", "trace at the first violation's moment, "] {
        assert!(report.contains(line), "{line:?} in\n{report}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// A scenario built in code runs like a file, and a bad field fails the
/// test naming it, with the scenario as built.
#[test]
fn a_scenario_built_in_code_runs_and_its_bad_fields_are_named() {
    use flinch::{Event, Fault, Scenario};
    use std::time::Duration;
    let ms = Duration::from_millis;
    let crash = Scenario::new("crash-after-precommit")
        .records(1_000)
        .fault(
            Fault::crash_restart("taskmanager-2", ms(300))
                .on(Event::new("txn_pre_committed").checkpoint(2)),
        )
        .seeds(0..3);
    let passed = Test::new(job::<Counted>())
        .scenario(crash.clone())
        .try_run()
        .unwrap_or_else(|failure| panic!("{failure}"));
    assert_eq!(
        (passed.scenario.as_str(), passed.seeds),
        ("crash-after-precommit", 3)
    );
    let failure = Test::new(job::<Forgetful>())
        .scenario(crash)
        .name("built")
        .try_run()
        .expect_err("the forgetful count fails after the crash");
    assert!(
        failure
            .report
            .contains("shrunk plan: 1 of 1 fault still fails"),
        "{failure}"
    );

    let bad = Scenario::new("bad").fault(Fault::crash("taskmanager-9").at(ms(100)));
    let failure = Test::new(job::<Counted>())
        .scenario(bad)
        .try_run()
        .expect_err("there is no taskmanager-9");
    let text = failure.to_string();
    assert!(
        text.contains("\"bad\" (built in code): field `fault[0].host`: unknown host")
            && text.contains("the scenario, as built:\nname = \"bad\"")
            && text.contains("host = \"taskmanager-9\""),
        "{text}"
    );
}

/// The public proptest strategy finds the forgetful count, shrinks the
/// plan, and proptest's failure persistence records the case.
#[test]
fn a_property_over_generated_fault_plans_finds_the_forgetful_count() {
    use proptest::test_runner::{
        Config, FileFailurePersistence, RngAlgorithm, TestError, TestRng, TestRunner,
    };
    let dir = std::env::temp_dir().join(format!("flinch-api-prop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let file = dir.join("regressions.txt");
    let path: &'static str = Box::leak(file.to_string_lossy().into_owned().into_boxed_str());
    // A fixed RNG: the same cases every run.
    let rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases: 32,
            failure_persistence: Some(Box::new(FileFailurePersistence::Direct(path))),
            ..Config::default()
        },
        rng,
    );
    let scenarios =
        flinch::strategy::survivable(flinch::Scenario::new("generated").records(1_000), 3);
    let result = runner.run(&scenarios, |scenario| {
        Test::new(job::<Forgetful>())
            .scenario(scenario)
            .no_shrink()
            .name("property")
            .try_run()?;
        Ok(())
    });
    match result {
        Err(TestError::Fail(reason, minimal)) => {
            assert!(reason.message().contains("[exactly-once]"), "{reason}");
            let text = minimal.to_toml();
            assert_eq!(
                text.matches("[[fault]]").count(),
                1,
                "shrunk to one fault:\n{text}"
            );
        }
        other => panic!("the forgetful count was not found: {other:?}"),
    }
    let persisted = std::fs::read_to_string(&file).expect("the failing case was persisted");
    assert!(persisted.contains("cc "), "{persisted}");
    let _ = std::fs::remove_dir_all(dir);
}

/// A job for the tests of a job's own mistakes: forwards each record,
/// with the input and the operator the test gives.
#[derive(Debug)]
struct Faulty {
    /// `Job::input` returns this many partitions (the workload's: 2).
    partitions: usize,
    /// The operator panics at this record of key 3 (0: never).
    panic_at: u64,
    /// Which mistake the job makes besides.
    mistake: Mistake,
}

/// A job's mistake beyond a panic of its own ([`Faulty`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mistake {
    None,
    /// The operator's panic at `panic_at` is one the standard library
    /// reports at its own line: `step_by(0)`.
    StdPanic,
    /// `Job::graph` panics (a duplicate vertex name, `expect`ed).
    Graph,
    /// `Job::input` returns one record more than the workload's.
    OneRecordMore,
    /// The operator's state's `Default` panics at a line of the standard
    /// library (the job's type's own code, which the engine calls).
    StateDefault,
}

/// A state whose `Default` calls `step_by(0)`.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Unmakeable;

impl Default for Unmakeable {
    fn default() -> Self {
        let step = std::hint::black_box(0);
        let _ = (0..1u32).step_by(step).count();
        Unmakeable
    }
}

/// Forwards each record, with a state it cannot make.
struct WithUnmakeableState;

impl Operator for WithUnmakeableState {
    type Key = u32;
    type In = ();
    type OutKey = u32;
    type Out = ();
    type State = Unmakeable;

    fn process(&mut self, key: &u32, _: (), _: &mut Unmakeable, ctx: &mut Context<'_, u32, ()>) {
        ctx.emit(*key, ());
    }
}

struct Forward {
    panic_at: u64,
    std_panic: bool,
}

impl Operator for Forward {
    type Key = u32;
    type In = ();
    type OutKey = u32;
    type Out = ();
    type State = u64;

    fn process(&mut self, key: &u32, _: (), seen: &mut u64, ctx: &mut Context<'_, u32, ()>) {
        *seen += 1;
        if *key == 3 && *seen == self.panic_at {
            if self.std_panic {
                let step = std::hint::black_box(0);
                let _ = (0..1u32).step_by(step).count();
            }
            panic!("key 3 saw its record {}", self.panic_at);
        }
        ctx.emit(*key, ());
    }
}

impl Job for Faulty {
    fn name(&self) -> &'static str {
        "faulty"
    }

    fn graph(&self) -> JobGraph {
        let panic_at = self.panic_at;
        let std_panic = self.mistake == Mistake::StdPanic;
        let name = match self.mistake {
            Mistake::Graph => "source",
            _ => "forward",
        };
        if self.mistake == Mistake::StateDefault {
            return JobGraph::source("source")
                .and_then(|s| s.key_by("forward", || WithUnmakeableState))
                .expect("distinct vertex names")
                .build();
        }
        JobGraph::source("source")
            .and_then(|s| {
                s.key_by(name, move || Forward {
                    panic_at,
                    std_panic,
                })
            })
            .expect("distinct vertex names")
            .build()
    }

    fn input(&self, workload: &Workload, seed: u64) -> Vec<Vec<Record>> {
        let mut input = flinch::workload_records(workload, seed);
        input.resize(self.partitions, Vec::new());
        if self.mistake == Mistake::OneRecordMore {
            let first = input[0][0].clone();
            input[0].push(first);
        }
        input
    }

    fn check_output(&self, input: &[Vec<Record>], output: &[Record]) -> Vec<Finding> {
        let expected = flinch::multiset(input.iter().flatten());
        flinch::check_multiset(expected, output, |k, _| format!("key {k:?}"))
    }
}

/// A panic in the user's operator, or an input of the wrong shape, is the
/// job's bug (`job-panic`, naming the line), never flinch's.
#[test]
fn the_jobs_own_mistakes_are_blamed_on_the_job() {
    let failure = Test::new(Faulty {
        partitions: 2,
        panic_at: 30,
        mistake: Mistake::None,
    })
    .seeds(0..1)
    .try_run()
    .expect_err("the operator panics");
    let text = failure.to_string();
    assert!(
        text.contains("job panic: the job's own code")
            && text.contains(
                "[expected-outcome] job-panic: the job's own code panicked at tests/api.rs:"
            )
            && text.contains("while the hosts ran: key 3 saw its record 30"),
        "{text}"
    );
    let failure = Test::new(Faulty {
        partitions: 3,
        panic_at: 0,
        mistake: Mistake::None,
    })
    .seeds(0..1)
    .try_run()
    .expect_err("three partitions for a workload of two");
    let text = failure.to_string();
    assert!(
        text.contains("[expected-outcome] job-panic:")
            && text
                .contains("Job::input of job faulty returned 3 partitions, but the workload has 2"),
        "{text}"
    );
    // A panic the standard library reports at its own line, while the
    // operator runs, is the job's too, not the engine's.
    let failure = Test::new(Faulty {
        partitions: 2,
        panic_at: 30,
        mistake: Mistake::StdPanic,
    })
    .seeds(0..1)
    .no_shrink()
    .try_run()
    .expect_err("step_by(0) in the operator");
    let text = failure.to_string();
    assert!(
        text.contains("[expected-outcome] job-panic: the job's own code panicked at library/core/")
            && text.contains("step != 0")
            && !text.contains("engine-panic"),
        "{text}"
    );
    // The same in the job's types' own code the engine calls: a state's
    // `Default`.
    let failure = Test::new(Faulty {
        partitions: 2,
        panic_at: 0,
        mistake: Mistake::StateDefault,
    })
    .seeds(0..1)
    .no_shrink()
    .try_run()
    .expect_err("step_by(0) in the state's Default");
    let text = failure.to_string();
    assert!(
        text.contains("[expected-outcome] job-panic: the job's own code panicked at library/core/")
            && !text.contains("engine-panic"),
        "{text}"
    );
    // A panic in `Job::graph` while the scenario is checked against the
    // graph fails the test, before any seed; it does not escape `try_run`.
    let failure = Test::new(Faulty {
        partitions: 2,
        panic_at: 0,
        mistake: Mistake::Graph,
    })
    .seeds(0..1)
    .try_run()
    .expect_err("a duplicate vertex name, expected");
    let text = failure.to_string();
    assert!(
        failure.seed.is_none()
            && text.contains("the job's own code panicked at tests/api.rs:")
            && text.contains("(Job::graph): distinct vertex names: DuplicateName(\"source\")"),
        "{text}"
    );
    // An input of another size than the workload's would not finish in
    // the time the workload is given, or end before its faults.
    let failure = Test::new(Faulty {
        partitions: 2,
        panic_at: 0,
        mistake: Mistake::OneRecordMore,
    })
    .seeds(0..1)
    .try_run()
    .expect_err("one record more than the workload's");
    let text = failure.to_string();
    assert!(
        text.contains("[expected-outcome] job-panic:")
            && text.contains(
                "Job::input of job faulty returned 2001 records in all, but the workload has 2000"
            ),
        "{text}"
    );
}

/// A job named as the reference job would be judged as keyed-count's
/// output: `Test::new` refuses the name.
#[test]
fn the_reference_jobs_name_is_refused() {
    #[derive(Debug)]
    struct Impostor;
    impl Job for Impostor {
        fn name(&self) -> &'static str {
            "keyed-count"
        }
        fn graph(&self) -> JobGraph {
            JobGraph::source("source")
                .and_then(|s| {
                    s.key_by("forward", || Forward {
                        panic_at: 0,
                        std_panic: false,
                    })
                })
                .expect("valid names")
                .build()
        }
        fn check_output(&self, _: &[Vec<Record>], _: &[Record]) -> Vec<Finding> {
            Vec::new()
        }
    }
    let refused = std::panic::catch_unwind(|| Test::new(Impostor)).expect_err("refused");
    let message = refused
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(
        message.contains("job name \"keyed-count\" is the reference job's"),
        "{message}"
    );
}

/// What a test is given wrong fails it with a message naming it.
#[test]
fn bad_seeds_and_scenario_fields_fail_the_test_naming_them() {
    use flinch::{Fault, Scenario};
    use std::time::Duration;
    let ms = Duration::from_millis;
    let no_seeds = Test::new(job::<Counted>())
        .seeds(5..5)
        .try_run()
        .expect_err("no seeds");
    assert!(
        no_seeds
            .to_string()
            .contains("no seed to run: the seed range 5..5 is empty"),
        "{no_seeds}"
    );
    let nan =
        Scenario::new("nan").fault(Fault::message_loss("taskmanager-1", "*", f64::NAN, ms(100)));
    let failure = Test::new(job::<Counted>())
        .scenario(nan)
        .try_run()
        .expect_err("a NaN rate");
    assert!(
        failure.to_string().contains("field `fault[0].rate`"),
        "{failure}"
    );
    let late = Scenario::new("late")
        .fault(Fault::crash("taskmanager-1").at(Duration::from_secs(u64::MAX)));
    let failure = Test::new(job::<Counted>())
        .scenario(late)
        .try_run()
        .expect_err("a fault at the end of time");
    assert!(
        failure.to_string().contains("field `fault[0].at`"),
        "{failure}"
    );
    // Fewer records than the default 16 keys need `keys` too.
    let few = Scenario::new("few").records(5);
    let failure = Test::new(job::<Counted>())
        .scenario(few)
        .try_run()
        .expect_err("16 keys over 5 records");
    assert!(
        failure.to_string().contains("16 keys but only 5 records"),
        "{failure}"
    );
    let few = Scenario::new("few").records(5).keys(5).seeds(0..1);
    Test::new(job::<Counted>()).scenario(few).run();
    let huge = Scenario::new("huge").records(u64::MAX);
    let failure = Test::new(job::<Counted>())
        .scenario(huge)
        .try_run()
        .expect_err("too many records");
    assert!(
        failure.to_string().contains("field `workload.records`"),
        "{failure}"
    );
}
