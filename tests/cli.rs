//! The command line contract (docs/design.md §5), checked against the real
//! binary: exit codes, the `--json` shapes, `--output`, and the messages for
//! scenario-file and usage errors.

use serde_json::Value;
use std::collections::{BTreeSet, HashSet};
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{flinch, TempDir};

/// The last stdout line, parsed as JSON.
fn last_json(stdout: &str) -> Value {
    let line = stdout.lines().last().expect("stdout has a line");
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
}

/// The sorted keys of a JSON object.
fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect();
    k.sort_unstable();
    k
}

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

/// The 1-based number of the first line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} is not in\n{text}"))
        + 1
}

#[test]
fn list_names_every_scenario_file_with_a_description() {
    let (code, stdout, stderr) = flinch(&["list"]);
    assert_eq!(code, 0, "{stderr}");
    let mut stems: Vec<String> = fs::read_dir(scenarios_dir())
        .expect("scenarios/ is readable")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    stems.sort();
    assert!(!stems.is_empty());
    for stem in &stems {
        let line = stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(stem.as_str()))
            .unwrap_or_else(|| panic!("{stem} is not listed:\n{stdout}"));
        let description = line[stem.len()..].trim();
        assert!(
            description.len() > 10,
            "{stem} has no description: {line:?}"
        );
    }
    assert_eq!(stdout.lines().count(), stems.len(), "{stdout}");
}

/// `steady` requiring a probe no fault-free run can hit: 20 seeds miss it
/// (exit 1, naming probe, seeds and share); 19 are too few to judge.
#[test]
fn a_sweep_that_misses_a_required_probe_fails_and_a_short_one_is_not_judged() {
    let dir = TempDir::new("sometimes");
    let original = fs::read_to_string(scenarios_dir().join("steady.toml")).expect("steady.toml");
    let text = original.replace(
        "outcome = \"exactly-once\"",
        "outcome = \"exactly-once\"\nsometimes = [\"write-fenced\"]",
    );
    assert_ne!(text, original);
    let path = dir.write("steady-fenced.toml", &text);
    let (code, stdout, stderr) = flinch(&["run", &path, "--seeds", "0..20"]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stdout.contains(
            "MISSED: probe write-fenced hit in 0 of 20 seeds (0.0 %), the scenario requires \
             >= 20 % (4 seeds)"
        ),
        "{stdout}"
    );
    let (code, stdout, stderr) = flinch(&["run", &path, "--seeds", "0..19", "--json"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let json = last_json(&stdout);
    assert_eq!(json["sometimes_missed"], 0);
    // Probes a fault-free run takes (a channel held for alignment) are
    // listed too, without a verdict.
    let probes = json["probes"].as_array().expect("probes is an array");
    let fenced = (probes.iter())
        .find(|p| p["probe"] == "write-fenced")
        .unwrap_or_else(|| panic!("no write-fenced in {probes:?}"));
    assert_eq!(
        *fenced,
        serde_json::json!({"probe": "write-fenced", "seeds": 0, "first_seeds": [],
                           "min_share": 0.2, "verdict": "not-judged"})
    );
    let judged = (probes.iter()).filter(|p| p.get("verdict").is_some());
    assert_eq!(judged.count(), 1, "{probes:?}");
}

/// A report folder that cannot be written is an error before any seed
/// runs, not after a long sweep that then prints nothing.
#[test]
fn a_report_folder_that_cannot_be_written_fails_before_any_seed_runs() {
    let dir = TempDir::new("report-in-the-way");
    let file = dir.write("a-file", "x");
    let under = format!("{file}/report");
    for args in [
        &["run", "steady", "--seeds", "0..1000", "--report", &under][..],
        &["replay", "steady", "--seed", "0", "--report", &under][..],
    ] {
        let (code, stdout, stderr) = flinch(args);
        assert_eq!(code, 2, "{args:?}: {stdout}\n{stderr}");
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
        assert!(
            stderr.contains(&format!("cannot create the report folder {under}")),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("seeds"), "{args:?}: no seed ran: {stderr}");
    }
}

#[test]
fn run_json_prints_one_summary_object_last() {
    let (code, stdout, stderr) = flinch(&["run", "steady", "--seeds", "0..3", "--json"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let json = last_json(&stdout);
    assert_eq!(
        keys(&json),
        [
            "failed",
            "failures",
            "interrupted",
            "not_run",
            "passed",
            "probes",
            "records",
            "scenario",
            "seeds",
            "sim_seconds",
            "sometimes_missed",
            "timed_out",
            "wall_seconds"
        ]
    );
    assert_eq!(json["scenario"], "steady");
    assert_eq!(json["seeds"], 3);
    assert_eq!(json["passed"], 3);
    assert_eq!(json["failed"], 0);
    assert_eq!(json["failures"], serde_json::json!([]));
    assert_eq!(json["timed_out"], 0);
    assert_eq!(json["not_run"], 0);
    assert_eq!(json["interrupted"], false);
    assert!(
        json["sim_seconds"].as_f64().is_some_and(|s| s > 0.0),
        "{json}"
    );
    assert!(
        json["wall_seconds"].as_f64().is_some_and(|s| s >= 0.0),
        "{json}"
    );
    assert!(json["records"].as_u64().is_some_and(|n| n > 0), "{json}");
}

#[test]
fn a_failing_run_exits_1_and_names_the_violations_and_the_replay_command() {
    let dir = TempDir::new("failing");
    let original = fs::read_to_string(scenarios_dir().join("taskmanager-crash.toml"))
        .expect("taskmanager-crash.toml is readable");
    // Top level: right after the `job = ...` line, before any table.
    let mut text = String::new();
    let mut inserted = false;
    for line in original.lines() {
        text.push_str(line);
        text.push('\n');
        if !inserted && line.starts_with("job = ") {
            text.push_str("bug = \"source-no-rewind\"\n");
            inserted = true;
        }
    }
    assert!(inserted, "no `job = ` line in\n{original}");
    let path = dir.write("no-rewind.toml", &text);

    // Seeds whose first violation is the restored state's. On some seeds
    // (seed 0 since the traces moved on 2026-12-04, seed 7 before) the
    // sources restart past the end of their input, no task ever
    // acknowledges a checkpoint as finished, the job never ends, and
    // expected-outcome's not-finished comes first.
    let (code, stdout, stderr) = flinch(&["run", &path, "--seeds", "1..3", "--json"]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let json = last_json(&stdout);
    assert_eq!(json["seeds"], 2);
    assert_eq!(
        json["failed"].as_u64().unwrap() + json["passed"].as_u64().unwrap(),
        2
    );
    let failures = json["failures"].as_array().expect("failures is an array");
    assert_eq!(failures.len() as u64, json["failed"].as_u64().unwrap());
    let first = &failures[0];
    assert_eq!(first["seed"], 1, "{first}");
    let violations = first["violations"].as_array().expect("an array");
    assert!(!violations.is_empty(), "{first}");
    // Root cause first: a source that does not rewind restores state that
    // is not the checkpoint's cut, and then loses records.
    assert_eq!(first["kind"], "state", "{first}");
    assert_eq!(violations[0]["checker"], "consistent-cut", "{first}");
    let v = violations
        .iter()
        .find(|v| v["kind"] == "missing")
        .unwrap_or_else(|| panic!("no missing record in {first}"));
    for field in ["key", "partition", "offset"] {
        assert!(v[field].is_u64(), "no {field} in {v}");
    }
    // Counted as records: every missing violation, summary lines included.
    let missing: u64 = violations
        .iter()
        .filter(|v| v["kind"] == "missing")
        .map(|v| v["omitted"].as_u64().unwrap_or(1))
        .sum();
    assert!(
        first["counts"]["records"].as_u64() >= Some(missing),
        "{first}"
    );
    let replay = first["replay"].as_str().expect("replay is a string");
    assert!(replay.contains("flinch replay"), "{replay}");
    assert!(replay.contains(&path), "{replay}");
    assert!(replay.ends_with("--seed 1"), "{replay}");
}

#[test]
fn replay_is_deterministic_across_processes() {
    let args = ["replay", "taskmanager-crash", "--seed", "7", "--json"];
    let (code, first, stderr) = flinch(&args);
    assert_eq!(code, 0, "{first}\n{stderr}");
    let (code, second, stderr) = flinch(&args);
    assert_eq!(code, 0, "{second}\n{stderr}");
    let a = last_json(&first);
    let b = last_json(&second);

    let hash = a["trace_hash"].as_str().expect("trace_hash is a string");
    assert_eq!(hash.len(), 8, "{hash}");
    assert!(hash.bytes().all(|c| c.is_ascii_hexdigit()), "{hash}");
    assert_eq!(a["trace_hash"], b["trace_hash"]);
    assert_eq!(a, b, "two processes gave different replays");
    assert_eq!(a["passed"], true);
    assert_eq!(a["seed"], 7);

    let trace = a["trace"].as_array().expect("trace is an array");
    let mut last_at = 0;
    for e in trace {
        let at = e["at"].as_u64().unwrap_or_else(|| panic!("no time: {e}"));
        assert!(at >= last_at, "time goes back at {e}");
        last_at = at;
        assert!(e["host"].is_string(), "no host: {e}");
    }
    let position = |pred: &dyn Fn(&Value) -> bool, what: &str| {
        trace
            .iter()
            .position(|e| pred(&e["what"]))
            .unwrap_or_else(|| panic!("no {what} in the trace"))
    };
    let event = |name: &'static str| move |w: &Value| w["event"] == name;
    position(&event("checkpoint_completed"), "checkpoint_completed");
    let crash = position(&|w: &Value| w["fault"] == "crash", "crash fault");
    assert_eq!(trace[crash]["host"], "taskmanager-2");
    let failover = position(&event("failover"), "failover");
    let restored = position(&event("state_restored"), "state_restored");
    assert!(crash < failover && failover < restored, "out of order");
}

#[test]
fn replay_output_writes_every_committed_record_as_a_json_line() {
    let dir = TempDir::new("output");
    let out = dir.0.join("committed.jsonl");
    let out = out.to_str().expect("a UTF-8 temp path");
    let (code, stdout, stderr) = flinch(&[
        "replay",
        "taskmanager-crash",
        "--seed",
        "3",
        "--output",
        out,
    ]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");

    let (code, stdout, stderr) = flinch(&["replay", "taskmanager-crash", "--seed", "3", "--json"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let records = last_json(&stdout)["records"]
        .as_u64()
        .expect("records is a number");

    let text = fs::read_to_string(out).expect("--output wrote the file");
    let mut seen = HashSet::new();
    let mut lines = 0;
    for line in text.lines() {
        let v: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert_eq!(
            keys(&v),
            ["count", "key", "offset", "partition", "txn"],
            "{line}"
        );
        assert!(v["txn"].is_string(), "{line}");
        for field in ["key", "count", "partition", "offset"] {
            assert!(v[field].is_u64(), "{line}");
        }
        // Exactly once: no input record has two outputs.
        let at = (v["partition"].as_u64(), v["offset"].as_u64());
        assert!(seen.insert(at), "a duplicate: {line}");
        lines += 1;
    }
    assert_eq!(lines, records);
}

#[test]
fn scenario_file_errors_exit_2_naming_file_line_and_field() {
    let dir = TempDir::new("errors");
    let header = "name = \"bad\"\ndescription = \"a scenario with a mistake\"\n\
                  job = { name = \"keyed-count\" }\n";
    let cases = [
        (
            "parallelism.toml",
            format!(
                "{header}\n[topology]\ntaskmanagers = 2\nparallelism = 0\n\n\
                 [expect]\noutcome = \"exactly-once\"\n"
            ),
            "parallelism = 0",
            "topology.parallelism",
        ),
        (
            "unknown-top.toml",
            format!("{header}colour = \"blue\"\n\n[expect]\noutcome = \"exactly-once\"\n"),
            "colour",
            "colour",
        ),
        (
            "unknown-nested.toml",
            format!(
                "{header}\n[workload]\nrecords = 100\nflavour = 3\n\n\
                 [expect]\noutcome = \"exactly-once\"\n"
            ),
            "flavour",
            "workload.flavour",
        ),
        (
            "unknown-host.toml",
            format!(
                "{header}\n[[fault]]\nkind = \"crash_restart\"\nhost = \"taskmanager-9\"\n\
                 at = \"300ms\"\nafter = \"300ms\"\n\n[expect]\noutcome = \"exactly-once\"\n"
            ),
            "taskmanager-9",
            "fault[0].host",
        ),
    ];
    for (name, text, needle, field) in &cases {
        let path = dir.write(name, text);
        let line = line_of(text, needle);
        for args in [
            &["run", &path, "--seeds", "0..1"][..],
            &["replay", &path, "--seed", "0"],
        ] {
            let (code, stdout, stderr) = flinch(args);
            assert_eq!(code, 2, "{args:?}: {stdout}\n{stderr}");
            assert!(stderr.contains(&path), "{name}: no path in {stderr}");
            assert!(
                stderr.contains(&format!(":{line}:")),
                "{name}: no line {line} in {stderr}"
            );
            assert!(stderr.contains(field), "{name}: no {field} in {stderr}");
        }
    }
}

#[test]
fn an_unknown_scenario_exits_2_and_lists_the_builtin_names() {
    let (code, stdout, stderr) = flinch(&["run", "no-such-scenario", "--seeds", "0..1"]);
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    assert!(stderr.contains("no-such-scenario"), "{stderr}");
    let builtin: BTreeSet<String> = fs::read_dir(scenarios_dir())
        .expect("scenarios/ is readable")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    for name in &builtin {
        assert!(stderr.contains(name.as_str()), "{name} not in {stderr}");
    }
}

#[test]
fn a_malformed_seed_range_is_a_usage_error() {
    for range in ["5..2", "5..5", "x"] {
        let (code, stdout, stderr) = flinch(&["run", "steady", "--seeds", range]);
        assert_eq!(code, 2, "{range}: {stdout}\n{stderr}");
        assert!(stderr.contains(range), "{range}: {stderr}");
        assert!(stdout.is_empty(), "{range}: {stdout}");
    }
}

#[test]
fn selfcheck_refuses_zero_seeds_per_scenario_as_it_refuses_zero_jobs() {
    for (flag, says) in [
        ("--seeds-per-scenario", "at least 1 seed is needed"),
        ("--jobs", "at least 1 thread is needed"),
    ] {
        let (code, stdout, stderr) = flinch(&["selfcheck", flag, "0"]);
        assert_eq!(code, 2, "{flag}: {stdout}\n{stderr}");
        assert!(
            stderr.contains(flag) && stderr.contains(says),
            "{flag}: {stderr}"
        );
        assert!(stdout.is_empty(), "{flag}: {stdout}");
    }
}

#[test]
fn a_bad_baseline_fails_before_the_bench_measures_anything() {
    let dir = TempDir::new("bench-bad-baseline");
    let negative = r#"{"commit": "abc", "taskmanager_crash": {"seeds_per_second": -5}}"#;
    let negative = dir.write("old.json", negative);
    let missing = format!("{}/missing.json", dir.0.display());
    for (file, says) in [
        (
            negative.clone(),
            "field `taskmanager_crash.seeds_per_second`: must be at least 1e-9",
        ),
        (missing.clone(), "reading the baseline"),
        (dir.0.display().to_string(), "reading the baseline"),
    ] {
        let started = Instant::now();
        let (code, stdout, stderr) = flinch(&["bench", "--baseline", &file]);
        assert_ne!(code, 0, "{file}: {stdout}");
        assert!(
            stderr.contains(&file) && stderr.contains(says),
            "{file}: {stderr}"
        );
        assert!(
            !stderr.contains("flinch: bench:"),
            "{file}: no progress, nothing measured: {stderr}"
        );
        assert!(started.elapsed() < Duration::from_secs(30), "{file}");
    }
}

/// `--baseline` compares a quick run with a quick run, and refuses a
/// baseline of other repetitions or seeds before measuring anything. The
/// ratios are timings: only their presence is checked.
#[test]
fn a_quick_bench_compares_only_with_a_quick_baseline() {
    let dir = TempDir::new("bench-quick-baseline");
    let (code, stdout, stderr) = flinch(&["bench", "--quick", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let quick = dir.write("quick.json", &stdout);
    let (code, stdout, stderr) = flinch(&["bench", "--quick", "--baseline", &quick]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("taskmanager_crash.seeds_per_second")
            && !stdout.contains("scaling.records.0.records"),
        "{stdout}"
    );
    let mut full: Value = serde_json::from_str(&fs::read_to_string(&quick).unwrap()).unwrap();
    full["repetitions"] = 7.into();
    full["seeds"] = 40.into();
    let full = dir.write("full.json", &full.to_string());
    let (code, stdout, stderr) = flinch(&["bench", "--quick", "--baseline", &full]);
    assert_eq!(code, 2, "{stdout}");
    assert!(
        stderr.contains("the baseline ran 7 repetitions of 40 seeds, this run 1 repetition of 2")
            && !stderr.contains("flinch: bench:"),
        "{stderr}"
    );
}

#[test]
fn run_without_json_prints_a_human_summary() {
    let (code, stdout, stderr) = flinch(&["run", "steady", "--seeds", "0..2"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("passed"), "{stdout}");
    assert!(stdout.contains("steady"), "{stdout}");
    assert!(
        serde_json::from_str::<Value>(stdout.lines().last().unwrap_or("")).is_err(),
        "the summary is JSON without --json: {stdout}"
    );
}

/// Issue 9: the exponential-delay configurations Flink's constructor refuses
/// (`ExponentialDelayRestartBackoffTimeStrategy`) make `flinch run` exit 2,
/// naming the file, line and field, and quoting Flink's reason.
#[test]
fn restart_configurations_flink_refuses_exit_2_with_flinks_reason() {
    let dir = TempDir::new("restart-refused");
    let cases = [
        (
            "attempts = 0",
            "restart.attempts",
            "The attemptsBeforeResetBackoff must be at least 1.",
        ),
        (
            "multiplier = 1.0",
            "restart.multiplier",
            "Backoff multiplier must be greater than 1.",
        ),
        (
            "initial_backoff = \"0s\"",
            "restart.initial_backoff",
            "Initial backoff must be at least 1.",
        ),
        (
            "max_backoff = \"0s\"",
            "restart.max_backoff",
            "Maximum backoff must be at least 1.",
        ),
        (
            "reset_backoff_threshold = \"0s\"",
            "restart.reset_backoff_threshold",
            "Threshold duration for exponential backoff reset must be at least 1.",
        ),
    ];
    for (i, (parameter, field, reason)) in cases.iter().enumerate() {
        let text = format!(
            "name = \"refused\"\ndescription = \"a restart configuration Flink refuses\"\n\
             job = {{ name = \"keyed-count\" }}\n\n[restart]\nstrategy = \"exponential-delay\"\n\
             {parameter}\n\n[expect]\noutcome = \"exactly-once\"\n"
        );
        let path = dir.write(&format!("refused-{i}.toml"), &text);
        let (code, stdout, stderr) = flinch(&["run", &path, "--seeds", "0..1"]);
        assert_eq!(code, 2, "{parameter}: {stdout}\n{stderr}");
        let expected = format!("{path}:{}: field `{field}`:", line_of(&text, parameter));
        assert!(
            stderr.contains(&expected),
            "{parameter}: no {expected} in {stderr}"
        );
        assert!(
            stderr.contains(&format!("(Flink: \"{reason}\")")),
            "{parameter}: Flink's reason is not in {stderr}"
        );
        assert!(stdout.is_empty(), "{parameter}: {stdout}");
    }
}

/// The boundary values Flink accepts still run: the tightest exponential-delay
/// and failure-rate configurations restart after a crash, and fixed-delay with
/// 0 attempts gives up at the first failure, as Flink's does.
#[test]
fn restart_configurations_at_flinks_boundaries_run() {
    let dir = TempDir::new("restart-boundary");
    let crash = "[[fault]]\nkind = \"crash_restart\"\nhost = \"taskmanager-2\"\nat = \"500ms\"\n\
                 after = \"300ms\"\n";
    let cases = [
        (
            "strategy = \"exponential-delay\"\ninitial_backoff = \"1ms\"\nmax_backoff = \"1ms\"\n\
             multiplier = 1.0000000000000002\njitter = 1.0\nreset_backoff_threshold = \"1ms\"\n\
             attempts = 1",
            "outcome = \"exactly-once\"",
        ),
        (
            "strategy = \"failurerate\"\nmax_failures_per_interval = 1\ninterval = \"1ms\"\n\
             delay = \"0s\"",
            "outcome = \"exactly-once\"",
        ),
        (
            "strategy = \"fixed-delay\"\nattempts = 0\ndelay = \"0s\"",
            "outcome = \"job-failed\"\nreason = \"fixed-delay\"",
        ),
    ];
    for (i, (restart, expect)) in cases.iter().enumerate() {
        let text = format!(
            "name = \"boundary\"\ndescription = \"a restart configuration at Flink's limits\"\n\
             job = {{ name = \"keyed-count\" }}\n\n[restart]\n{restart}\n\n{crash}\n\
             [expect]\n{expect}\n"
        );
        let path = dir.write(&format!("boundary-{i}.toml"), &text);
        let (code, stdout, stderr) = flinch(&["run", &path, "--seeds", "0..4", "--json"]);
        assert_eq!(code, 0, "{restart}: {stdout}\n{stderr}");
        assert_eq!(last_json(&stdout)["passed"], 4, "{restart}: {stdout}");
    }
}
/// `scenario` with `bug = "<bug>"` added at the top level (right after the
/// `job = ` line, before any table), written into `dir`.
fn with_bug(dir: &TempDir, scenario: &str, bug: &str) -> String {
    let original = fs::read_to_string(scenarios_dir().join(format!("{scenario}.toml")))
        .unwrap_or_else(|e| panic!("{scenario}.toml is readable: {e}"));
    let mut text = String::new();
    for line in original.lines() {
        text.push_str(line);
        text.push('\n');
        if line.starts_with("job = ") {
            text.push_str(&format!("bug = \"{bug}\"\n"));
        }
    }
    assert!(text.contains("bug = "), "no `job = ` line in\n{original}");
    dir.write(&format!("{bug}-{scenario}.toml"), &text)
}

#[test]
fn fail_fast_reports_the_lowest_failing_seed_and_starts_no_more() {
    let dir = TempDir::new("fail-fast");
    // With an unverified restore, checkpoint-read-corruption fails on some
    // seeds and passes on others (seeds 0 and 1 pass when this was written).
    let path = with_bug(&dir, "checkpoint-read-corruption", "unverified-restore");
    let args = [
        "run",
        &path,
        "--seeds",
        "0..40",
        "--fail-fast",
        "--jobs",
        "2",
        "--no-shrink",
        "--json",
    ];
    let (code, stdout, stderr) = flinch(&args);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let json = last_json(&stdout);
    let lowest = json["failures"][0]["seed"]
        .as_u64()
        .expect("a failing seed");
    let ran = json["seeds"].as_u64().expect("seeds is a number");
    let not_run = json["not_run"].as_u64().expect("not_run is a number");
    assert_eq!(ran + not_run, 40, "{json}");
    assert!(not_run > 0, "--fail-fast started every seed: {json}");
    assert_eq!(json["interrupted"], false);
    // The seeds that ran are 0.. without gaps, so every seed below the one
    // reported passed: a full run up to it agrees.
    let upto = format!("0..{}", lowest + 1);
    let (code, stdout, stderr) = flinch(&["run", &path, "--seeds", &upto, "--no-shrink", "--json"]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let full = last_json(&stdout);
    assert_eq!(full["failures"][0]["seed"], lowest, "{full}");
    assert_eq!(
        full["failed"], 1,
        "a seed below {lowest} failed too: {full}"
    );

    let (code, stdout, stderr) = flinch(&args[..args.len() - 1]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("FAILED: seed {lowest}")),
        "{stdout}"
    );
    assert!(stdout.contains("stopped    by --fail-fast: "), "{stdout}");
}

#[test]
fn a_seed_past_its_timeout_is_reported_as_timed_out_with_its_replay_command() {
    // A nemesis-mixed seed takes tens of milliseconds even in release.
    let (code, stdout, stderr) = flinch(&[
        "run",
        "nemesis-mixed",
        "--seeds",
        "0..2",
        "--timeout",
        "1ms",
        "--json",
    ]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let json = last_json(&stdout);
    assert_eq!(json["timed_out"], 2, "{json}");
    assert_eq!(json["failed"], 2, "{json}");
    assert_eq!(json["passed"], 0, "{json}");
    let failures = json["failures"].as_array().expect("an array");
    for (seed, f) in failures.iter().enumerate() {
        assert_eq!(f["seed"], seed as u64, "{f}");
        assert_eq!(f["kind"], "timed-out", "{f}");
        assert_eq!(f["violations"], serde_json::json!([]), "{f}");
        assert_eq!(
            f["replay"],
            format!("flinch replay nemesis-mixed --seed {seed}")
        );
        assert!(f["stopped_at_sim_seconds"].is_f64(), "{f}");
        // Not shrunk: shrinking would run the slow seed again and again.
        assert!(f.get("shrunk_plan").is_none(), "{f}");
    }
    // The replay command runs the seed without the limit, to its verdict.
    let (code, stdout, stderr) = flinch(&["replay", "nemesis-mixed", "--seed", "0", "--json"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(last_json(&stdout)["passed"], true);

    let (code, stdout, stderr) = flinch(&[
        "run",
        "nemesis-mixed",
        "--seeds",
        "0..1",
        "--timeout",
        "1ms",
    ]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("failed     1 (1 timed out after 1ms)\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("replay: flinch replay nemesis-mixed --seed 0\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("timed out: still running after the --timeout of 1ms"),
        "{stdout}"
    );
}

#[test]
fn timeouts_at_the_bounds_are_accepted_and_outside_them_refused() {
    let (code, stdout, stderr) = flinch(&[
        "run",
        "steady",
        "--seeds",
        "0..1",
        "--timeout",
        "24h",
        "--json",
    ]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let json = last_json(&stdout);
    assert_eq!(
        (json["passed"].as_u64(), json["timed_out"].as_u64()),
        (Some(1), Some(0))
    );
    for bad in ["0ms", "25h", "1", "soon"] {
        let (code, stdout, stderr) =
            flinch(&["run", "steady", "--seeds", "0..1", "--timeout", bad]);
        assert_eq!(code, 2, "{bad}: {stdout}\n{stderr}");
        assert!(stderr.contains("--timeout"), "{bad}: {stderr}");
    }
}

#[test]
fn jobs_above_the_core_count_are_clamped_and_said() {
    let (code, stdout, stderr) = flinch(&[
        "run", "steady", "--seeds", "0..2", "--jobs", "100000", "--json",
    ]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("--jobs 100000 is more than the") && stderr.contains("clamped to"),
        "{stderr}"
    );
    assert_eq!(last_json(&stdout)["passed"], 2);
    let (code, _, stderr) = flinch(&["run", "steady", "--seeds", "0..1", "--jobs", "1"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("clamped"), "{stderr}");
}

/// Wait for `child` at most `limit`; kill it (our own child, by its handle)
/// and fail if it is still running then.
fn wait_at_most(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let t = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait for flinch") {
            return status;
        }
        if t.elapsed() > limit {
            let _ = child.kill();
            panic!("flinch did not end within {limit:?} of Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(unix)]
#[test]
fn ctrl_c_on_a_long_run_prints_the_summary_of_finished_seeds_and_exits_130() {
    let seeds: u64 = 1_000_000;
    let mut child = Command::new(env!("CARGO_BIN_EXE_flinch"))
        .args([
            "run",
            "steady",
            "--seeds",
            &format!("0..{seeds}"),
            "--jobs",
            "2",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("flinch starts");
    let mut stderr = BufReader::new(child.stderr.take().expect("piped stderr"));
    let mut line = String::new();
    stderr.read_line(&mut line).expect("stderr is readable");
    assert!(line.starts_with("flinch: running"), "{line}");
    // Progress has started; let some seeds finish, then press Ctrl-C.
    std::thread::sleep(Duration::from_millis(1500));
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(kill.success());
    let status = wait_at_most(&mut child, Duration::from_secs(60));
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .expect("piped stdout")
        .read_to_string(&mut stdout)
        .expect("stdout is UTF-8");
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).expect("stderr is UTF-8");
    assert_eq!(status.code(), Some(130), "{stdout}\n{rest}");
    assert!(rest.contains("flinch: interrupted"), "{rest}");

    // The summary: what ran, what was stopped, what never started.
    let field = |name: &str| -> String {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} line in\n{stdout}"));
        line[name.len()..].trim().to_string()
    };
    let number = |text: &str, before: &str| -> u64 {
        let head = text.split(before).next().expect("split has a first part");
        let digits: String = head
            .chars()
            .rev()
            .skip_while(|c| !c.is_ascii_digit())
            .take_while(char::is_ascii_digit)
            .collect();
        digits
            .chars()
            .rev()
            .collect::<String>()
            .parse()
            .unwrap_or_else(|_| panic!("a number before {before:?} in {text:?}"))
    };
    let ran = number(&field("seeds"), " run on");
    let passed: u64 = field("passed").parse().expect("passed is a number");
    assert_eq!(field("failed"), "0", "{stdout}");
    assert_eq!(passed, ran, "{stdout}");
    let stopped_line = field("stopped");
    assert!(stopped_line.starts_with("by Ctrl-C: "), "{stdout}");
    let stopped = number(&stopped_line, " stopped while running");
    let never = number(&stopped_line, " never started");
    assert_eq!(ran + stopped + never, seeds, "{stdout}");
    assert!(stopped <= 2 && never > 0, "{stdout}");
    assert!(!stdout.contains("FAILED"), "{stdout}");
}

/// `flinch check` validates without running: a good file prints what it
/// describes and exits 0; a misspelt host, event or field exits 2 with the
/// file, line, field and the name it was probably meant to be.
#[test]
fn check_validates_without_running_and_suggests_the_name_meant() {
    let (code, stdout, stderr) = flinch(&["check", "taskmanager-crash"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.starts_with("ok: taskmanager-crash: scenario taskmanager-crash: 2 taskmanagers"),
        "{stdout}"
    );
    // A planted bug is said first: such a scenario is wrong on purpose.
    let (code, stdout, stderr) = flinch(&["check", "tests/readme/planted.toml"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(
            ": scenario nemesis-mixed-commit-on-barrier with planted bug commit-on-barrier: "
        ),
        "{stdout}"
    );
    let dir = TempDir::new("check");
    let head = "name = \"typo\"\ndescription = \"A typo.\"\njob = { name = \"keyed-count\" }\n";
    let tail = "\n[expect]\noutcome = \"exactly-once\"\n";
    let cases = [
        (
            "[[fault]]\nkind = \"crash\"\nhost = \"taskmanger-1\"\nat = \"1s\"\n",
            ":6: field `fault[0].host`: unknown host \"taskmanger-1\"",
            "did you mean \"taskmanager-1\"?",
        ),
        (
            "[[fault]]\nkind = \"crash\"\nhost = \"sink\"\non = { event = \"checkpoint_complete\" }\n",
            ":7: field `fault[0].on.event`: unknown engine event",
            "did you mean \"checkpoint_completed\"?",
        ),
        (
            "[workload]\nrecrods = 10\n",
            ":5: field `workload.recrods`: unknown field `recrods`",
            "did you mean `records`?",
        ),
    ];
    for (i, (body, error, hint)) in cases.iter().enumerate() {
        let path = dir.write(&format!("typo-{i}.toml"), &format!("{head}{body}{tail}"));
        let (code, stdout, stderr) = flinch(&["check", &path]);
        assert_eq!(code, 2, "{body}: {stdout}{stderr}");
        assert!(
            stderr.contains(&format!("{path}{error}")),
            "{body}: {stderr}"
        );
        assert!(stderr.trim_end().ends_with(hint), "{body}: {stderr}");
    }
}

/// `flinch bench --quick --json`: every field of the README's table, with
/// the machine and the commit (the figures are timings: only their shape
/// and sign are checked, never their size).
#[test]
fn bench_prints_every_field_of_its_contract() {
    let (code, stdout, stderr) = flinch(&["bench", "--quick", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let bench: Value = serde_json::from_str(&stdout).expect("one JSON object");
    assert_eq!(
        keys(&bench),
        [
            "checkpoint_overhead",
            "checkpoint_overhead_fastest",
            "checkpoint_overhead_inline_state",
            "checkpoint_overhead_inline_state_fastest",
            "checkpoint_overhead_inline_state_spread",
            "checkpoint_overhead_spread",
            "commit",
            "machine",
            "nemesis_mixed",
            "parallel_speedup",
            "repetitions",
            "scaling",
            "seeds",
            "simulation_overhead",
            "taskmanager_crash",
            "taskmanager_crash_all_cores",
            "taskmanager_crash_scenario_rate",
            "wall_seconds",
            "warm_up_seconds",
            "workloads"
        ]
    );
    // `--quick` skips the warm-up.
    assert_eq!(bench["warm_up_seconds"].as_f64(), Some(0.0));
    assert_eq!(keys(&bench["machine"]), ["cores", "cpu"]);
    assert!(bench["machine"]["cores"].as_u64().is_some_and(|n| n >= 1));
    assert!(!bench["commit"].as_str().expect("a string").is_empty());
    for rate in [
        "taskmanager_crash",
        "taskmanager_crash_all_cores",
        "taskmanager_crash_scenario_rate",
        "nemesis_mixed",
    ] {
        assert_eq!(
            keys(&bench[rate]),
            [
                "idle_host_steps_skipped",
                "seeds_per_second",
                "sim_seconds_per_wall_second",
                "threads",
                "us_per_host_step"
            ],
            "{rate}"
        );
        assert!(bench[rate]["seeds_per_second"]
            .as_f64()
            .is_some_and(|r| r > 0.0));
        let skipped = bench[rate]["idle_host_steps_skipped"].as_f64();
        assert!(skipped.is_some_and(|s| s > 0.0 && s < 1.0), "{rate}");
    }
    let overhead = &bench["simulation_overhead"];
    assert_eq!(
        keys(overhead),
        [
            "in_process_seconds",
            "ratio",
            "records",
            "simulated_seconds"
        ]
    );
    assert_eq!(overhead["records"], 4_000);
    for figure in ["in_process_seconds", "ratio", "simulated_seconds"] {
        assert!(
            overhead[figure].as_f64().is_some_and(|r| r > 0.0),
            "{figure}"
        );
    }
    assert_eq!(keys(&bench["scaling"]), ["records", "taskmanagers"]);
    for series in ["records", "taskmanagers"] {
        let sizes = bench["scaling"][series].as_array().expect("an array");
        assert_eq!(sizes.len(), 3, "{series}");
        for size in sizes {
            assert_eq!(
                keys(size),
                [
                    "peak_memory_bytes",
                    "records",
                    "seeds_per_second",
                    "sim_seconds_per_wall_second",
                    "taskmanagers"
                ]
            );
            // Linux, where CI runs, says.
            assert!(size["peak_memory_bytes"].as_u64().is_some_and(|b| b > 0));
        }
    }
    let workloads = bench["workloads"].as_array().expect("an array");
    assert_eq!(workloads.len(), 8);
    for (i, w) in workloads.iter().enumerate() {
        assert_eq!(
            keys(w),
            [
                "batch",
                "checkpoint_interval_ms",
                "faults",
                "memory_threshold",
                "name",
                "parallelism",
                "rate",
                "records",
                "scenario",
                "taskmanagers"
            ]
        );
        // The simulation-overhead workload, last, is --quick's 4,000.
        let records = if i == 5 { 4_000 } else { 10_000 };
        assert_eq!(w["records"], records);
        // Each scenario's rate scaled as its records are (the defaults:
        // 2,000 records, 6,000 for nemesis-mixed, at 1,000/s), but the one
        // at the scenario's own rate.
        let rate = match w["name"].as_str() {
            Some("taskmanager-crash-scenario-rate") => 1_000,
            Some("nemesis-mixed") => 1_667,
            _ => 5_000,
        };
        assert_eq!(w["rate"], rate, "{w}");
        // Only the two inline-state workloads, last, keep state inline,
        // at Flink's default threshold.
        let threshold = if i >= 6 { 20_480 } else { 0 };
        assert_eq!(w["memory_threshold"], threshold, "{w}");
    }
    for figure in ["checkpoint_overhead", "checkpoint_overhead_inline_state"] {
        let median = bench[figure].as_f64().expect("a number");
        assert!(median > 0.0, "{figure}");
        // The lowest and highest repetition, around the median.
        let spread = &bench[format!("{figure}_spread")];
        assert_eq!(keys(spread), ["highest", "lowest"], "{figure}");
        let (lowest, highest) = (spread["lowest"].as_f64(), spread["highest"].as_f64());
        assert!(
            lowest.is_some_and(|l| l > 0.0 && l <= median) && highest.is_some_and(|h| h >= median),
            "{figure}: {spread} around {median}"
        );
        // --quick runs one repetition: each seed's fastest run is its
        // only one, and the figure from them is the median itself.
        assert_eq!(bench["repetitions"], 1);
        assert_eq!(bench[format!("{figure}_fastest")].as_f64(), Some(median));
    }
    assert!(stderr.is_empty(), "--json prints no progress: {stderr}");

    // `--baseline` compares with an earlier run: every figure's ratio.
    let dir = TempDir::new("bench-baseline");
    let old = dir.write("old.json", &stdout);
    let (code, again, stderr) = flinch(&["bench", "--quick", "--json", "--baseline", &old]);
    assert_eq!(code, 0, "{stderr}");
    let again: Value = serde_json::from_str(&again).expect("one JSON object");
    assert_eq!(keys(&again["baseline"]), ["commit", "ratios"]);
    assert_eq!(again["baseline"]["commit"], bench["commit"]);
    let ratios = again["baseline"]["ratios"].as_object().expect("an object");
    for figure in [
        "taskmanager_crash.seeds_per_second",
        "checkpoint_overhead",
        "checkpoint_overhead_fastest",
        "checkpoint_overhead_inline_state",
        "scaling.records.2.peak_memory_bytes",
    ] {
        assert!(
            ratios[figure].as_f64().is_some_and(|r| r > 0.0),
            "{figure}: {ratios:?}"
        );
    }
    assert!(!ratios.contains_key("seeds"), "settings are not figures");
    assert!(!ratios.contains_key("taskmanager_crash.threads"));
    let (code, _, stderr) = flinch(&["bench", "--quick", "--baseline", "Cargo.toml"]);
    assert_ne!(code, 0);
    assert!(
        stderr.contains("Cargo.toml: not the JSON of `flinch bench --json`"),
        "{stderr}"
    );
}
