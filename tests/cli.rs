//! The command line contract (docs/design.md §5), checked against the real
//! binary: exit codes, the `--json` shapes, `--output`, and the messages for
//! scenario-file and usage errors.

use serde_json::Value;
use std::collections::{BTreeSet, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

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
            "passed",
            "records",
            "scenario",
            "seeds",
            "sim_seconds",
            "wall_seconds"
        ]
    );
    assert_eq!(json["scenario"], "steady");
    assert_eq!(json["seeds"], 3);
    assert_eq!(json["passed"], 3);
    assert_eq!(json["failed"], 0);
    assert_eq!(json["failures"], serde_json::json!([]));
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

    let (code, stdout, stderr) = flinch(&["run", &path, "--seeds", "0..2", "--json"]);
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
    assert_eq!(first["seed"], 0, "{first}");
    let violations = first["violations"].as_array().expect("an array");
    assert!(!violations.is_empty(), "{first}");
    let v = &violations[0];
    assert_eq!(v["kind"], "missing", "{v}");
    for field in ["key", "partition", "offset"] {
        assert!(v[field].is_u64(), "no {field} in {v}");
    }
    let replay = first["replay"].as_str().expect("replay is a string");
    assert!(replay.contains("flinch replay"), "{replay}");
    assert!(replay.contains(&path), "{replay}");
    assert!(replay.ends_with("--seed 0"), "{replay}");
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
