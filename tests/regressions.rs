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
    let mut failures = Vec::new();
    for file in &files {
        let path = file.to_str().expect("a UTF-8 path");
        let scenario = load(path).unwrap_or_else(|e| panic!("{e}"));
        for seed in scenario.seeds.clone() {
            let report = run_seed(&scenario, seed);
            if !report.passed {
                let first = report.violations.first().map(|v| v.to_string());
                failures.push(format!(
                    "{path} seed {seed}: {} violation(s), first: {}\n  replay: flinch replay {path} --seed {seed}",
                    report.violations.len(),
                    first.unwrap_or_default()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
