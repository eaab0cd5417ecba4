//! The built-in jobs through the command line (issue 11): `--job` runs any
//! of them on any scenario that fits, refuses bad names and parameters
//! naming `--job` and the field, repeats itself in replay commands, and
//! `replay --output` writes any job's committed records. (Release sweeps of
//! every fault scenario with each job are in the closing notes; CI
//! runs this bounded subset.)

use std::process::{Command, Output};

fn flinch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flinch"))
        .args(args)
        .output()
        .expect("the flinch binary runs")
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn every_job_passes_a_crash_and_an_at_least_once_crash() {
    for job in ["windowed-sum", "dedup", "two-stage"] {
        for scenario in [
            "taskmanager-crash",
            "at-least-once-crash",
            "stall-during-alignment",
        ] {
            let out = flinch(&["run", scenario, "--job", job, "--seeds", "0..4", "-j", "2"]);
            assert!(out.status.success(), "{job} {scenario}: {}", text(&out));
            assert!(text(&out).contains("passed     4"), "{}", text(&out));
        }
    }
}

#[test]
fn list_jobs_names_every_built_in_job() {
    let out = flinch(&["list", "--jobs"]);
    assert!(out.status.success());
    let names: Vec<String> = (String::from_utf8_lossy(&out.stdout).lines())
        .map(|l| l.split_whitespace().next().unwrap_or("").to_string())
        .collect();
    assert_eq!(names, ["keyed-count", "windowed-sum", "dedup", "two-stage"]);
}

#[test]
fn a_bad_job_is_a_usage_error_naming_job_and_field() {
    let out = flinch(&["run", "steady", "--job", "dedupe"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("--job: unknown job \"dedupe\"; the jobs are keyed-count, windowed-sum, dedup, two-stage; did you mean \"dedup\"?"),
        "{}",
        text(&out)
    );
    let out = flinch(&[
        "check",
        "steady",
        "--job",
        "{ name = \"two-stage\", regions = 0 }",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("--job: field `regions`: must be at least 1 and at most 1024"),
        "{}",
        text(&out)
    );
    let out = flinch(&[
        "check",
        "steady",
        "--job",
        "{ name = \"dedup\", colour = 1 }",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("colour"), "{}", text(&out));
    let out = flinch(&["check", "steady", "--job", "{ name = 5 }"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("--job: field `name`: must be a string"),
        "{}",
        text(&out)
    );
    let out = flinch(&["check", "steady", "--job", "{ name = "]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("--job: not a TOML inline table"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_job_name_with_blanks_around_it_is_trimmed_as_seeds_are() {
    let out = flinch(&["check", "steady", "--job", " dedup "]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn a_scenario_file_names_its_job_and_parameters() {
    let dir = std::env::temp_dir().join(format!("flinch-jobs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("windowed.toml");
    let scenario = "name = \"windowed\"\ndescription = \"Windows.\"\n\
        job = { name = \"windowed-sum\", window = \"500ms\", late_fraction = 0.1 }\n\
        [expect]\noutcome = \"exactly-once\"\n";
    std::fs::write(&file, scenario).unwrap();
    let path = file.to_str().unwrap();
    let out = flinch(&["run", path, "--seeds", "0..3"]);
    assert!(out.status.success(), "{}", text(&out));
    let bad = scenario.replace("\"500ms\"", "\"0ms\"");
    std::fs::write(&file, bad).unwrap();
    let out = flinch(&["check", path]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("windowed.toml:3: field `job.window`: must be"),
        "{}",
        text(&out)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn replay_output_writes_any_jobs_records_and_the_replay_command_keeps_the_job() {
    let dir = std::env::temp_dir().join(format!("flinch-jobs-out-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("out.jsonl");
    let path = file.to_str().unwrap();
    let out = flinch(&[
        "replay",
        "steady",
        "--job",
        "two-stage",
        "--seed",
        "1",
        "--output",
        path,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let lines = std::fs::read_to_string(&file).unwrap();
    // two-stage's output is one record per input record.
    assert_eq!(lines.lines().count(), 2000);
    let first: serde_json::Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    assert!(
        first["txn"].as_str().unwrap().starts_with("txn-s"),
        "{first}"
    );
    assert!(
        first["key"].is_u64() && first["value"].is_array(),
        "{first}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
    // A failing run's replay command carries the job: a planted bug.
    let dir = std::env::temp_dir().join(format!("flinch-jobs-bug-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bug.toml");
    let source = std::fs::read_to_string("scenarios/taskmanager-crash.toml").unwrap();
    std::fs::write(&file, format!("bug = \"commit-on-barrier\"\n{source}")).unwrap();
    let path = file.to_str().unwrap();
    let out = flinch(&[
        "run",
        path,
        "--job",
        "dedup",
        "--seeds",
        "0..6",
        "--no-shrink",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("flinch replay {path} --job dedup --seed")),
        "{}",
        text(&out)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn another_jobs_run_reports_the_scenarios_sometimes_without_judging_them() {
    // register-write-unknown-outcome requires probes at shares tuned to
    // keyed-count's timing; two-stage's extra shuffle moves them.
    let args = [
        "run",
        "register-write-unknown-outcome",
        "--seeds",
        "0..20",
        "-j",
        "2",
    ];
    let out = flinch(&[&args[..], &["--job", "two-stage"]].concat());
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("sometimes  not judged: the scenario's shares are set for its own job"),
        "{}",
        text(&out)
    );
}

#[test]
fn the_consistent_cut_of_every_job_catches_skipped_alignment() {
    let dir = std::env::temp_dir().join(format!("flinch-jobs-cut-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("skip.toml");
    let source = std::fs::read_to_string("scenarios/stall-during-alignment.toml").unwrap();
    std::fs::write(&file, format!("bug = \"skip-alignment\"\n{source}")).unwrap();
    let path = file.to_str().unwrap();
    for job in ["windowed-sum", "dedup", "two-stage"] {
        let out = flinch(&["run", path, "--job", job, "--seeds", "0..3", "--no-shrink"]);
        assert_eq!(out.status.code(), Some(1), "{job}: {}", text(&out));
        assert!(
            text(&out).contains("[consistent-cut] inconsistent-cut: checkpoint 2"),
            "{job}: {}",
            text(&out)
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
