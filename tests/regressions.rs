//! Regression cases: every scenario file in `tests/regressions/` meets its
//! expectation on every seed of its `[seeds] range`.
//!
//! A failing `flinch run` seed becomes one with a single command (README,
//! "Turning a failing seed into a regression case"):
//!
//! ```sh
//! flinch shrink nemesis-mixed --seed 417 > tests/regressions/nemesis-mixed-417.toml
//! ```
//!
//! `flinch shrink` prints the scenario with its shrunk plan written out and
//! `[seeds] range = "417..418"`, so the file replays exactly the failing
//! run: this suite fails until the bug is fixed, and guards the fix from
//! then on. Edit the description to say what the case is about.
//!
//! A case that pins seeds for a moment of their timing turns vacuous when a
//! change of the engine's timing moves every trace: its seeds pass, but no
//! longer reach that moment. An `[expect] sometimes` probe that marks the
//! moment guards it: here each one must be hit by at least one of the
//! case's seeds (too few for the share a sweep judges).

use flinch_harness::coverage::probes_hit;
use flinch_harness::scenario::load;
use flinch_harness::seed::run_seed;
use std::path::PathBuf;

fn regression_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_regression_case_meets_its_expectation() {
    // A case may run any built-in job: every job but keyed-count is the
    // root crate's.
    flinch::jobs::install();
    let files = regression_files();
    assert!(!files.is_empty(), "tests/regressions/ holds no cases");
    let failures: Vec<String> = (files.iter())
        .flat_map(|file| case_failures(file.to_str().expect("a UTF-8 path")))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A case whose seeds all pass but none hits a probe its `sometimes`
/// requires is vacuous, and fails.
#[test]
fn a_case_whose_seeds_miss_its_sometimes_probe_fails() {
    let dir = std::env::temp_dir().join(format!("flinch-regressions-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let file = dir.join("steady-fenced.toml");
    let steady = include_str!("../scenarios/steady.toml");
    let text = steady.replace(
        "[expect]\noutcome = \"exactly-once\"",
        "[expect]\noutcome = \"exactly-once\"\nsometimes = [\"write-fenced\"]\n\n[seeds]\nrange = \"0..2\"",
    );
    assert_ne!(text, steady, "the scenario's [expect] was found");
    std::fs::write(&file, text).expect("written");
    let failures = case_failures(file.to_str().expect("a UTF-8 path"));
    std::fs::remove_dir_all(&dir).expect("removed");
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(
        failures[0].contains("no seed of 0..2 hits `write-fenced`"),
        "{failures:?}"
    );
}

/// What is wrong with the case at `path`: each failing seed, and each
/// `[expect] sometimes` probe none of its seeds hit.
fn case_failures(path: &str) -> Vec<String> {
    let scenario = load(path).unwrap_or_else(|e| panic!("{e}"));
    let mut failures = Vec::new();
    let mut unhit: Vec<_> = scenario.sometimes.iter().map(|s| s.probe).collect();
    for seed in scenario.seeds.clone() {
        let report = run_seed(&scenario, seed);
        let hit = probes_hit(&report.trace);
        unhit.retain(|probe| !hit.contains(probe));
        if !report.passed {
            let first = report.violations.first().map(|v| v.to_string());
            failures.push(format!(
                "{path} seed {seed}: {} violation(s), first: {}\n  replay: flinch replay {path} --seed {seed}",
                report.violations.len(),
                first.unwrap_or_default()
            ));
        }
    }
    for probe in unhit {
        failures.push(format!(
            "{path}: no seed of {:?} hits `{}`, which `[expect] sometimes` requires: \
             the case no longer reaches the moment it was written for; pick seeds that do",
            scenario.seeds,
            probe.name()
        ));
    }
    failures
}
