//! `flinch campaign`: shards that together run exactly what one unsharded
//! run does, resume after SIGKILL without a duplicate or a gap, stop on
//! time, and merge into one verdict; bad input is named and not counted.

use serde_json::Value;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{flinch, TempDir};

/// The scenarios most tests campaign over: fault-free, one crash, and a
/// nemesis (a different plan per seed).
const SCENARIOS: &str = "steady,taskmanager-crash,nemesis-mixed";

fn lines(path: &Path) -> Vec<Value> {
    fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// What must not depend on how the campaign was split: each (scenario,
/// seed)'s verdict and run.
fn verdicts(lines: &[Value]) -> BTreeSet<String> {
    lines
        .iter()
        .map(|l| {
            format!(
                "{} {} {} {} {} {}",
                l["scenario"],
                l["seed"],
                l["passed"],
                l["trace_hash"],
                l["sim_ms"],
                l["violations"]
            )
        })
        .collect()
}

/// (scenario, seed) of each line, duplicates kept.
fn pairs(lines: &[Value]) -> Vec<(String, u64)> {
    let mut pairs: Vec<(String, u64)> = lines
        .iter()
        .map(|l| {
            (
                l["scenario"].as_str().unwrap().to_owned(),
                l["seed"].as_u64().unwrap(),
            )
        })
        .collect();
    pairs.sort();
    pairs
}

/// `flinch campaign run --scenarios SCENARIOS --seeds SEEDS` and `more`.
fn campaign_run(scenarios: &str, seeds: &str, more: &[&str]) -> (i32, String, String) {
    let mut args = vec![
        "campaign",
        "run",
        "--scenarios",
        scenarios,
        "--seeds",
        seeds,
    ];
    args.extend_from_slice(more);
    flinch(&args)
}

/// `campaign merge FILE --json --regressions DIR` of a results file with
/// failures: it exits 1; its JSON.
fn merge_failing_with_regressions(results: &Path, regressions: &Path) -> Value {
    let (code, stdout, stderr) = flinch(&[
        "campaign",
        "merge",
        s(results),
        "--json",
        "--regressions",
        s(regressions),
    ]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    serde_json::from_str(stdout.trim()).expect("JSON")
}

fn path(dir: &TempDir, name: &str) -> PathBuf {
    dir.0.join(name)
}

fn s(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

#[test]
fn four_shards_in_parallel_merge_into_exactly_the_unsharded_run() {
    let dir = TempDir::new("campaign-shards");
    let children: Vec<_> = (0..4)
        .map(|k| {
            let out = path(&dir, &format!("shard-{k}.jsonl"));
            let child = Command::new(env!("CARGO_BIN_EXE_flinch"))
                .args([
                    "campaign",
                    "run",
                    "--scenarios",
                    SCENARIOS,
                    "--seeds",
                    "0..24",
                ])
                .args([
                    "--shard",
                    &format!("{k}/4"),
                    "--out",
                    s(&out),
                    "--jobs",
                    "1",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("flinch starts");
            (out, child)
        })
        .collect();
    let mut sharded = Vec::new();
    let mut files = Vec::new();
    for (out, child) in children {
        let done = child.wait_with_output().expect("the shard ends");
        assert_eq!(
            done.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&done.stderr)
        );
        let k = files.len() as u64;
        let shard_lines = lines(&out);
        // Each shard ran its own seeds only: seed ≡ k (mod 4).
        assert!(shard_lines
            .iter()
            .all(|l| l["seed"].as_u64().unwrap() % 4 == k));
        assert!(shard_lines.iter().all(|l| l["shard"] == format!("{k}/4")));
        sharded.extend(shard_lines);
        files.push(out);
    }
    let whole = path(&dir, "whole.jsonl");
    let (code, _, stderr) = campaign_run(SCENARIOS, "0..24", &["--out", s(&whole)]);
    assert_eq!(code, 0, "{stderr}");
    let unsharded = lines(&whole);
    assert_eq!(unsharded.len(), 3 * 24);
    assert_eq!(pairs(&sharded), pairs(&unsharded), "each pair exactly once");
    assert_eq!(verdicts(&sharded), verdicts(&unsharded));

    // Merged, the shards and the unsharded run (a second run of every pair)
    // agree: every line of one is a duplicate of the other's.
    // Without the last shard's file, merge names the shard it lacks.
    let (code, stdout, _) = flinch(&[
        "campaign",
        "merge",
        s(&files[0]),
        s(&files[1]),
        s(&files[2]),
    ]);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("shards     MISSING 1: no line from 3/4"),
        "{stdout}"
    );
    // One line of shard 1 of 4,096: `--json` lists the first 1,000 missing
    // shards and counts all 4,095; a line whose shard is no `K/N` is not
    // counted, saying why.
    let mut line: Value = lines(&files[1])[0].clone();
    line["shard"] = "1/4096".into();
    let mut bad = line.clone();
    bad["shard"] = "5/3".into();
    let odd = path(&dir, "odd.jsonl");
    std::fs::write(&odd, format!("{line}\n{bad}\n")).expect("write");
    let (code, stdout, stderr) = flinch(&["campaign", "merge", "--json", s(&odd)]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let merged: Value = serde_json::from_str(stdout.trim()).expect("JSON");
    assert_eq!(merged["shards_missing_count"], 4095, "{merged}");
    assert_eq!(
        merged["shards_missing"].as_array().map(Vec::len),
        Some(1000)
    );
    assert_eq!(merged["not_counted_lines"], 1, "{merged}");
    let reason = merged["not_counted"][0]["reason"]
        .as_str()
        .unwrap_or_default();
    assert!(reason.contains("shard \"5/3\""), "{reason}");
    let mut args = vec!["campaign", "merge", "--json"];
    args.extend(files.iter().map(|f| s(f)));
    args.push(s(&whole));
    let (code, stdout, stderr) = flinch(&args);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let merged: Value = serde_json::from_str(stdout.trim()).expect("JSON");
    assert_eq!(merged["seeds"], 72, "{merged}");
    assert_eq!(merged["duplicates"], 72, "{merged}");
    assert_eq!(merged["nondeterminism"], serde_json::json!([]));
    assert_eq!(merged["failed"], 0);
    let scenarios = merged["scenarios"].as_array().expect("an array");
    assert_eq!(scenarios.len(), 3);
    assert!(scenarios.iter().all(|s| s["seeds"] == 24), "{merged}");
}

/// `kill -9` a shard while it writes, leave a torn line as a kill
/// mid-write would, and run it again: every pair once, none missing.
#[cfg(unix)]
#[test]
fn a_shard_killed_half_way_completes_on_its_next_run_without_duplicates_or_gaps() {
    let dir = TempDir::new("campaign-kill");
    let out = path(&dir, "r.jsonl");
    let args = [
        "campaign",
        "run",
        "--scenarios",
        "steady,taskmanager-crash",
        "--seeds",
        "0..300",
        "--shard",
        "1/2",
        "--out",
        s(&out),
    ];
    let mut child = Command::new(env!("CARGO_BIN_EXE_flinch"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("flinch starts");
    let started = Instant::now();
    while fs::read_to_string(&out).map_or(0, |t| t.lines().count()) < 40 {
        assert!(started.elapsed() < Duration::from_secs(120), "no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("it ends");
    let before = lines(&out).len();
    assert!(before < 300, "the shard finished before it was killed");
    // A kill in the middle of a write leaves part of a line.
    let mut text = fs::read_to_string(&out).unwrap();
    text.push_str(r#"{"scenario":"steady","seed":2"#);
    fs::write(&out, text).unwrap();

    let (code, stdout, stderr) = flinch(&args);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stderr.contains(&format!("r.jsonl:{}: truncated", before + 1)),
        "{stderr}"
    );
    let after = lines(&out);
    let expected: Vec<(String, u64)> = {
        let mut v: Vec<_> = ["steady", "taskmanager-crash"]
            .iter()
            .flat_map(|s| (1..300).step_by(2).map(move |seed| (s.to_string(), seed)))
            .collect();
        v.sort();
        v
    };
    assert_eq!(pairs(&after), expected);
    // Its summary is the merge of the file: every seed, once.
    assert!(
        stdout.contains("300 run over 2 scenarios, 0 failed"),
        "{stdout}"
    );
    // Run again, it has nothing left to do.
    let (code, _, stderr) = flinch(&args);
    assert_eq!(code, 0);
    assert!(
        stderr.contains("0 seeds to run (300 already in"),
        "{stderr}"
    );
    assert_eq!(lines(&out).len(), 300);
}

#[test]
fn minutes_stop_the_campaign_on_time_with_a_line_per_scenario_and_a_summary() {
    let dir = TempDir::new("campaign-minutes");
    let out = path(&dir, "r.jsonl");
    let started = Instant::now();
    // 0.05 minutes: 3 s.
    let (code, stdout, stderr) = flinch(&[
        "campaign",
        "run",
        "--scenarios",
        SCENARIOS,
        "--minutes",
        "0.05",
        "--out",
        s(&out),
    ]);
    let took = started.elapsed();
    // No seed fails; a required probe's share over however many seeds ran
    // in the time may fall either side of its bound (exit 1 then).
    assert!(code == 0 || code == 1, "{stdout}\n{stderr}");
    assert!(stdout.contains("scenarios, 0 failed"), "{stdout}");
    assert!(
        stderr.starts_with("flinch: campaign shard 0/1: 3 scenarios"),
        "{stderr}"
    );
    assert!(stderr.contains("--minutes passed"), "{stderr}");
    // 3 s, plus the seeds running then (well under a second each here),
    // plus starting up: generous for a loaded machine.
    assert!(took < Duration::from_secs(30), "{took:?}");
    let lines = lines(&out);
    for scenario in SCENARIOS.split(',') {
        assert!(
            lines.iter().any(|l| l["scenario"] == scenario),
            "{scenario}: {stdout}"
        );
    }
    assert!(stdout.starts_with("campaign   1 file,"), "{stdout}");
    assert!(stdout.contains("nemesis-mixed"), "{stdout}");
}

#[test]
fn bad_shard_specs_are_usage_errors() {
    for bad in ["3/2", "0/0", "2/2", "x/2", "1"] {
        let (code, _, stderr) = flinch(&["campaign", "run", "--shard", bad, "--seeds", "0..1"]);
        assert_eq!(code, 2, "{bad}: {stderr}");
        assert!(stderr.contains("--shard"), "{bad}: {stderr}");
    }
    let (code, _, stderr) = flinch(&["campaign", "run", "--shard", "auto/3", "--seeds", "0..1"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("JOB_COMPLETION_INDEX"), "{stderr}");
}

#[test]
fn auto_shards_read_the_schedulers_index() {
    let dir = TempDir::new("campaign-auto");
    let out = path(&dir, "r.jsonl");
    let status = Command::new(env!("CARGO_BIN_EXE_flinch"))
        .args([
            "campaign",
            "run",
            "--scenarios",
            "steady",
            "--seeds",
            "0..6",
        ])
        .args(["--shard", "auto/3", "--out", s(&out)])
        .env("SLURM_ARRAY_TASK_ID", "3")
        .env("SLURM_ARRAY_TASK_MIN", "1")
        .env_remove("JOB_COMPLETION_INDEX")
        .output()
        .expect("flinch runs");
    assert_eq!(status.status.code(), Some(0));
    let mut seeds: Vec<u64> = lines(&out)
        .iter()
        .map(|l| l["seed"].as_u64().unwrap())
        .collect();
    seeds.sort_unstable();
    assert_eq!(seeds, vec![2, 5]);
    assert!(lines(&out).iter().all(|l| l["shard"] == "2/3"));
}

/// A results line as `campaign run` writes it.
fn line(seed: u64, build: &str, trace_hash: &str) -> String {
    format!(
        r#"{{"scenario":"steady","seed":{seed},"passed":true,"kind":null,"violations":[],"first_violation_ms":null,"probes":[],"faults":0,"records":2000,"sim_ms":1574,"wall_ms":7,"trace_hash":"{trace_hash}","scenario_hash":"0a789083","build":"{build}","shard":"0/1"}}"#
    ) + "\n"
}

#[test]
fn merge_names_bad_lines_refuses_mixed_builds_and_reports_nondeterminism() {
    let dir = TempDir::new("campaign-merge");
    let a = dir.write(
        "a.jsonl",
        &format!(
            "{}not json\n{}",
            line(0, "b1", "00000001"),
            line(1, "b1", "00000002")
        ),
    );
    let b = dir.write("b.jsonl", &format!("{}{{\"scen", line(1, "b1", "00000002")));
    let (code, stdout, stderr) = flinch(&["campaign", "merge", &a, &b]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("not counted {a}:2: not a results line")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("not counted {b}:2: truncated")),
        "{stdout}"
    );
    assert!(
        stdout.contains("seeds      2 run over 1 scenario, 0 failed"),
        "{stdout}"
    );
    assert!(stdout.contains("merged     1 duplicate line"), "{stdout}");

    let other = dir.write("other.jsonl", &line(2, "b2", "00000003"));
    let (code, _, stderr) = flinch(&["campaign", "merge", &a, &other]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("2 builds: b1 (first at") && stderr.contains("--force"),
        "{stderr}"
    );
    let (code, stdout, _) = flinch(&["campaign", "merge", &a, &other, "--force"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("seeds      3 run"), "{stdout}");

    let differs = dir.write("differs.jsonl", &line(1, "b1", "0000ffff"));
    let (code, stdout, _) = flinch(&["campaign", "merge", &a, &differs]);
    assert_eq!(code, 4, "{stdout}");
    assert!(
        stdout.contains(&format!(
            "NONDETERMINISM steady seed 1: {a}:3 and {differs}:1"
        )),
        "{stdout}"
    );
    assert!(stdout.contains("differ in trace_hash"), "{stdout}");
    let (code, _, stderr) = flinch(&[
        "campaign",
        "merge",
        &path(&dir, "absent.jsonl").display().to_string(),
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("absent.jsonl"), "{stderr}");
}

#[test]
fn resuming_refuses_a_file_of_another_build_or_with_lines_that_are_not_results() {
    let dir = TempDir::new("campaign-resume-refuses");
    let other = dir.write("other.jsonl", &line(0, "not-this-build", "00000001"));
    let (code, _, stderr) = campaign_run("steady", "0..2", &["--out", &other]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("other.jsonl:1: a result of build not-this-build"),
        "{stderr}"
    );
    let junk = dir.write("junk.jsonl", "junk\n");
    let (code, _, stderr) = campaign_run("steady", "0..2", &["--out", &junk]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("junk.jsonl:1: not a results line"),
        "{stderr}"
    );
}

/// A failing campaign: exit 1, the fastest failure with its replay
/// command, and `--regressions` writes a shrunk case that fails the same.
#[test]
fn a_failing_campaign_names_its_fastest_failure_and_writes_regression_cases() {
    let dir = TempDir::new("campaign-failing");
    let original = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/taskmanager-crash.toml"),
    )
    .expect("readable");
    let text = original.replacen("\n[", "\nbug = \"source-no-rewind\"\n\n[", 1);
    let scenario = dir.write("no-rewind.toml", &text);
    // A copy elsewhere: the same `name` and file stem, another scenario to
    // the campaign; its regression case must not overwrite the first's.
    fs::create_dir_all(dir.0.join("copy")).unwrap();
    let copy = dir.write("copy/no-rewind.toml", &text);
    let out = path(&dir, "r.jsonl");
    let (code, stdout, stderr) = flinch(&[
        "campaign",
        "run",
        "--scenarios",
        &format!("{scenario},{copy}"),
        "--seeds",
        "0..3",
        "--out",
        s(&out),
    ]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stdout.contains("fastest failure: seed "), "{stdout}");
    assert!(
        stdout.contains(&format!("flinch replay {scenario} --seed ")),
        "{stdout}"
    );
    let regressions = path(&dir, "regressions");
    let merged = merge_failing_with_regressions(&out, &regressions);
    let written = merged["regressions"].as_array().expect("an array");
    assert!(!written.is_empty(), "{merged}");
    let files: BTreeSet<&str> = written.iter().filter_map(|w| w["file"].as_str()).collect();
    assert_eq!(files.len(), written.len(), "{merged}");
    assert!(
        written.len() >= 2,
        "one case per scenario at least: {merged}"
    );
    for w in written {
        let file = w["file"].as_str().unwrap_or_else(|| panic!("{w}"));
        let (code, stdout, _) = flinch(&["run", file]);
        assert_eq!(code, 1, "the regression case {file} fails: {stdout}");
    }
}

/// The last seed there is, 2^64 - 1, which no half-open range can name:
/// a campaign runs it from `--seeds A..=B`, and its regression case names
/// it as `A..=B` too, so that the file loads and fails as the seed did.
#[test]
fn a_regression_case_of_the_last_seed_loads_back_as_that_seed() {
    let dir = TempDir::new("campaign-last-seed");
    let original = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/crash-during-checkpoint.toml"),
    )
    .expect("readable");
    // Seed 2^64 - 1 of this scenario catches the bug.
    let text = original.replacen("\n[", "\nbug = \"commit-on-barrier\"\n\n[", 1);
    let scenario = dir.write("planted.toml", &text);
    let last = format!("{0}..={0}", u64::MAX);
    let out = path(&dir, "r.jsonl");
    let (code, stdout, stderr) = flinch(&[
        "campaign",
        "run",
        "--scenarios",
        &scenario,
        "--seeds",
        &last,
        "--out",
        s(&out),
    ]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert_eq!(pairs(&lines(&out)), [(scenario.clone(), u64::MAX)]);
    let regressions = path(&dir, "regressions");
    let merged = merge_failing_with_regressions(&out, &regressions);
    let file = merged["regressions"][0]["file"].as_str().expect("one case");
    let case = fs::read_to_string(file).expect("written");
    assert!(case.contains(&format!("--seeds {last}")), "{case}");
    assert!(case.contains(&format!("range = \"{last}\"")), "{case}");
    let (code, stdout, stderr) = flinch(&["check", file]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains(&format!("seeds {last};")), "{stdout}");
    let (code, stdout, _) = flinch(&["run", file, "--json"]);
    assert_eq!(code, 1, "the case fails as the seed did: {stdout}");
    assert!(stdout.contains(&format!("--seed {}", u64::MAX)), "{stdout}");
}

/// SIGTERM (what a batch scheduler sends to stop a job) stops the shard
/// cleanly: exit 130, the summary of what ran, and whole lines only.
#[cfg(unix)]
#[test]
fn sigterm_stops_a_shard_cleanly_with_whole_lines_and_a_summary() {
    let dir = TempDir::new("campaign-sigterm");
    let out = path(&dir, "r.jsonl");
    let child = Command::new(env!("CARGO_BIN_EXE_flinch"))
        .args([
            "campaign",
            "run",
            "--scenarios",
            "steady",
            "--seeds",
            "0..1000000",
        ])
        .args(["--out", s(&out)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("flinch starts");
    let started = Instant::now();
    while fs::read_to_string(&out).map_or(0, |t| t.lines().count()) < 20 {
        assert!(started.elapsed() < Duration::from_secs(120), "no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(kill.success());
    let done = child.wait_with_output().expect("it ends");
    let stdout = String::from_utf8_lossy(&done.stdout);
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(130), "{stdout}\n{stderr}");
    assert!(stderr.contains("stopped by a signal"), "{stderr}");
    let text = fs::read_to_string(&out).unwrap();
    assert!(text.ends_with('\n'), "a half-written line");
    let n = lines(&out).len();
    assert!(
        stdout.contains(&format!("seeds      {n} run over 1 scenario")),
        "{stdout}"
    );
}

/// A last line without its newline that is not the start of a results
/// line is not ours to cut: the run refuses and leaves the file as it was.
#[test]
fn a_file_that_is_not_results_is_refused_and_left_untouched() {
    let dir = TempDir::new("campaign-not-ours");
    for text in [
        "just one line, no newline",
        "notes\nline two without a newline",
    ] {
        let file = dir.write("notes.txt", text);
        let (code, _, stderr) = campaign_run("steady", "0..2", &["--out", &file]);
        assert_eq!(code, 2, "{stderr}");
        assert!(
            stderr.contains("notes.txt:1:") && stderr.contains("left as it is"),
            "{stderr}"
        );
        assert_eq!(fs::read_to_string(&file).unwrap(), text);
    }
}

/// Scenarios whose own ranges lie far apart alternate step by step: the
/// run does not walk the seeds between them.
#[test]
fn scenarios_with_ranges_far_apart_run_without_walking_the_gap() {
    let dir = TempDir::new("campaign-far");
    let steady =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/steady.toml"))
            .expect("readable");
    assert!(
        !steady.contains("[seeds]"),
        "steady keeps the default range"
    );
    let far = dir.write(
        "far.toml",
        &format!("{steady}\n[seeds]\nrange = \"100000000..100000003\"\n"),
    );
    let out = path(&dir, "r.jsonl");
    let started = Instant::now();
    let (code, stdout, stderr) = flinch(&[
        "campaign",
        "run",
        "--scenarios",
        &format!("steady,{far}"),
        "--out",
        s(&out),
    ]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(started.elapsed() < Duration::from_secs(60));
    let lines = lines(&out);
    let far_seeds: Vec<u64> = lines
        .iter()
        .filter(|l| l["scenario"] == far.as_str())
        .map(|l| l["seed"].as_u64().unwrap())
        .collect();
    assert_eq!(far_seeds.len(), 3, "{far_seeds:?}");
    assert!(far_seeds
        .iter()
        .all(|s| (100_000_000..100_000_003).contains(s)));
    // The two alternate: the far scenario's seeds run among steady's first.
    let position = lines
        .iter()
        .position(|l| l["scenario"] == far.as_str())
        .unwrap();
    assert!(position < 4, "{position}");
}

/// A shard's own summary leaves `sometimes` to the merge: it never fails a
/// shard for a share that only the whole campaign can judge.
#[test]
fn a_shards_summary_leaves_sometimes_to_the_merge() {
    let dir = TempDir::new("campaign-shard-sometimes");
    let original =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/steady.toml"))
            .expect("readable");
    // No fault-free run hits this probe: judged, it is missed.
    let text = original.replace(
        "outcome = \"exactly-once\"",
        "outcome = \"exactly-once\"\nsometimes = [\"write-fenced\"]",
    );
    assert_ne!(text, original);
    let scenario = dir.write("needs-probe.toml", &text);
    let mut files = Vec::new();
    for k in 0..2 {
        let out = path(&dir, &format!("r-{k}.jsonl"));
        let (code, stdout, stderr) = campaign_run(
            &scenario,
            "0..50",
            &["--shard", &format!("{k}/2"), "--out", s(&out)],
        );
        assert_eq!(code, 0, "{stdout}\n{stderr}");
        assert!(stdout.contains("not judged: a shard"), "{stdout}");
        files.push(out);
    }
    let (code, stdout, _) = flinch(&["campaign", "merge", s(&files[0]), s(&files[1])]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("sometimes write-fenced: 0 of 50 seeds"),
        "{stdout}"
    );
    assert!(stdout.contains("missed"), "{stdout}");
}

/// A scenario whose seeds run far longer than a 1 ms `--timeout` (200,000
/// records: about 90 ms a seed in a debug build), so that the watchdog
/// stops every one of them however late its thread is scheduled on a
/// loaded machine. `taskmanager-crash`'s seeds took under 10 ms, and a busy
/// CI once let one finish before the watchdog ran.
const SLOW: &str = r#"
name = "slow-steady"
description = "steady with 200,000 records: seeds far longer than a 1 ms timeout"
job = { name = "keyed-count" }
topology = { taskmanagers = 2, parallelism = 2 }

[workload]
records = 200000
rate = 20000
batch = 200

[expect]
outcome = "exactly-once"
sometimes = ["channel-held-for-alignment"]
"#;

/// `--timeout` writes a stopped seed as `timed-out`, so a resume gets past
/// it; merged beside a run with verdicts, the verdicts count and nothing is
/// called nondeterminism.
#[test]
fn timed_out_seeds_get_a_line_and_give_way_to_verdicts() {
    let dir = TempDir::new("campaign-timeout");
    let slow = dir.write("slow.toml", SLOW);
    let stopped = path(&dir, "stopped.jsonl");
    let (code, stdout, stderr) =
        campaign_run(&slow, "0..4", &["--timeout", "1ms", "--out", s(&stopped)]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let timed_out = lines(&stopped);
    assert_eq!(timed_out.len(), 4);
    assert!(timed_out
        .iter()
        .all(|l| l["kind"] == "timed-out" && l["passed"] == false));
    let (code, _, stderr) =
        campaign_run(&slow, "0..4", &["--timeout", "1ms", "--out", s(&stopped)]);
    assert_eq!(code, 1);
    assert!(stderr.contains("0 seeds to run (4 already in"), "{stderr}");
    // Alone, they are failures without a verdict: counted, never the
    // fastest failure, never shrunk, and not judged for `sometimes`.
    let (code, stdout, _) = flinch(&[
        "campaign",
        "merge",
        s(&stopped),
        "--regressions",
        s(&path(&dir, "reg")),
    ]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("timed out (--timeout, no verdict): 4 seeds"),
        "{stdout}"
    );
    assert!(!stdout.contains("fastest failure"), "{stdout}");
    assert!(stdout.contains("4 seeds timed out, not shrunk"), "{stdout}");
    assert!(stdout.contains("0 of 0 seeds"), "{stdout}");
    let full = path(&dir, "full.jsonl");
    let (code, _, _) = campaign_run(&slow, "0..4", &["--out", s(&full)]);
    assert_eq!(code, 0);
    for order in [[&stopped, &full], [&full, &stopped]] {
        let (code, stdout, _) = flinch(&["campaign", "merge", "--json", s(order[0]), s(order[1])]);
        assert_eq!(code, 0, "{stdout}");
        let merged: Value = serde_json::from_str(stdout.trim()).unwrap();
        assert_eq!(
            (merged["seeds"].as_u64(), merged["failed"].as_u64()),
            (Some(4), Some(0))
        );
        assert_eq!(merged["nondeterminism_seeds"], 0);
    }
}

#[test]
fn a_seed_that_ran_three_ways_is_one_nondeterministic_seed_and_an_empty_merge_is_an_error() {
    let dir = TempDir::new("campaign-three-ways");
    let files: Vec<String> = ["00000001", "00000002", "00000003"]
        .iter()
        .enumerate()
        .map(|(i, hash)| dir.write(&format!("{i}.jsonl"), &line(1, "b1", hash)))
        .collect();
    let (code, stdout, _) = flinch(&[
        "campaign", "merge", "--json", &files[0], &files[1], &files[2],
    ]);
    assert_eq!(code, 4, "{stdout}");
    let merged: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(merged["nondeterminism_seeds"], 1, "{merged}");
    assert_eq!(merged["nondeterminism"].as_array().unwrap().len(), 1);

    let empty = dir.write("empty.jsonl", "");
    let garbage = dir.write("garbage.jsonl", "\u{1}\u{2}junk\n");
    let (code, _, stderr) = flinch(&["campaign", "merge", &empty, &garbage]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("no results to merge") && stderr.contains("garbage.jsonl:1"),
        "{stderr}"
    );
}
