//! The public API, used as a user would: only `flinch::` items. A user's
//! operator that leaves part of its state out of the snapshot is caught
//! with a shrunk plan, and the fixed operator passes.

use flinch::{Context, Finding, Job, JobGraph, Operator, Record, Test, Workload};

/// The job of the example user crate (`examples/user-crate`): a per-key
/// count, with `Counted` state, or `Forgetful` state that leaves the count
/// out of the snapshot.
#[path = "../examples/user-crate/src/lib.rs"]
mod user_crate;

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
    assert_eq!(
        replay,
        format!(
            "FLINCH_SEED={seed} FLINCH_PLAN={} cargo test forgetful -- --exact --include-ignored",
            plan.display()
        )
    );
    // The plan file is a scenario for this job that fails the same way.
    let again = Test::new(job::<Forgetful>())
        .scenario(&plan.to_string_lossy())
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
        .scenario(&file.to_string_lossy())
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
/// command and the line after the shrunk plan (the plan file, not `flinch
/// shrink`) are a test's own.
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
        .scenario(&scenario.to_string_lossy())
        .seeds(0..1)
        .name("report")
        .try_run()
        .expect_err("the planted bug fails seed 0");
    let cli = std::process::Command::new(env!("CARGO_BIN_EXE_flinch"))
        .args([
            "run",
            &scenario.to_string_lossy(),
            "--seeds",
            "0..1",
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
            .filter(|l| !l.starts_with("shrink: ") && !l.starts_with("plan: "))
            .map(str::to_owned)
            .collect()
    };
    let report = failure.report.clone();
    assert_eq!(body(&report), body(&cli), "test:\n{report}\ncli:\n{cli}");
    assert!(report.starts_with("FAILED: seed 0\nreplay: FLINCH_SEED=0 FLINCH_PLAN="));
    assert!(cli.contains("\nFAILED: seed 0\nreplay: flinch replay "));
    for line in ["shrunk plan: ", "last 20 of "] {
        assert!(report.contains(line), "{line:?} in\n{report}");
    }
    let _ = std::fs::remove_dir_all(dir);
}
