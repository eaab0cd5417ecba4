//! The README's command examples are what the `flinch` binary prints today.
//!
//! Every ```` ```console ```` block in `README.md` is run with [trycmd]: each
//! `$ flinch ...` line runs the `flinch` binary this package builds, from the
//! repository's root (where `cargo test` runs integration tests), and its
//! exit code (`? 2`; 0 when no `?` line follows) and its output, stdout and
//! stderr together, must match the lines below it. `[..]` in a line matches
//! any text within it, and a line `...` any number of lines: the README uses
//! them for whatever depends on the machine (wall times, the number of cores,
//! progress lines printed every few seconds), never for what the simulation
//! decides. Simulated times, counts and trace hashes are the same on every
//! machine, so they are compared as written, and an example whose output
//! changed fails here until the README says the new truth.
//!
//! Scenario files the examples need are committed under `tests/readme/`.
//! Examples that cannot run quickly or deterministically (Ctrl-C, a
//! `--timeout` whose stop depends on the wall clock, `flinch selfcheck`,
//! `cargo` commands) are ```` ```text ```` or ```` ```sh ```` blocks, which
//! trycmd skips.
//!
//! After a deliberate change of output, `TRYCMD=overwrite cargo test --test
//! readme` rewrites the blocks with what the binary printed; it keeps `[..]`
//! and `...` only where it can, so review `git diff README.md` before
//! committing.
//!
//! [trycmd]: https://docs.rs/trycmd

use std::path::Path;
use std::time::Duration;

/// The README, relative to the repository's root.
const README: &str = "README.md";

/// How long one example may run before it fails: every example is meant to
/// take a few seconds in a debug build, and a hung one must not hang CI.
const EXAMPLE_TIMEOUT: Duration = Duration::from_secs(120);

#[test]
fn readme_console_examples_print_what_the_readme_shows() {
    trycmd::TestCases::new()
        // Only `flinch` runs: any other program in a `$` line is an
        // unknown binary and fails the test.
        .register_bin("flinch", Path::new(env!("CARGO_BIN_EXE_flinch")))
        .timeout(EXAMPLE_TIMEOUT)
        .case(README);
}

/// A fenced block of the README: its fence line's indentation, its info
/// string, and its lines.
struct Block {
    /// 1-based line number of the opening fence.
    line: usize,
    indent: usize,
    info: String,
    lines: Vec<String>,
}

fn blocks(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let is_fence = trimmed.starts_with("```");
        match (&mut open, is_fence) {
            (None, true) => {
                open = Some(Block {
                    line: i + 1,
                    indent: line.len() - trimmed.len(),
                    info: trimmed.trim_start_matches('`').trim().to_string(),
                    lines: Vec::new(),
                });
            }
            (Some(_), true) => blocks.extend(open.take()),
            (Some(block), false) => block.lines.push(line.to_string()),
            (None, false) => {}
        }
    }
    assert!(open.is_none(), "an unclosed code block in {README}");
    blocks
}

/// trycmd skips what is not a `console` block, and a fence that is indented
/// (inside a list item), silently: an example showing a `$ flinch` command
/// must be one it runs, or it could go stale unnoticed.
#[test]
fn every_flinch_example_in_the_readme_is_a_block_trycmd_runs() {
    let text = std::fs::read_to_string(README).expect("README.md is readable");
    let all = blocks(&text);
    let mut problems = Vec::new();
    let mut checked = 0;
    for block in &all {
        let shows_flinch = block
            .lines
            .iter()
            .any(|l| l.trim_start().starts_with("$ flinch"));
        let console = block.info == "console";
        if console {
            checked += 1;
        }
        if console && block.indent > 0 {
            problems.push(format!(
                "line {}: an indented console block, which trycmd does not see",
                block.line
            ));
        } else if shows_flinch && !console {
            problems.push(format!(
                "line {}: a `$ flinch` example in a ```{} block, which is not checked",
                block.line, block.info
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(checked > 0, "{README} has no console block to check");
}

#[test]
fn the_block_reader_sees_indented_fences_and_info_strings() {
    let text = "a\n```console\n$ flinch list\n```\n- item\n\n  ```text\n  x\n  ```\n";
    let found = blocks(text);
    assert_eq!(found.len(), 2);
    assert_eq!((found[0].line, found[0].indent), (2, 0));
    assert_eq!(found[0].info, "console");
    assert_eq!(found[0].lines, ["$ flinch list"]);
    assert_eq!((found[1].line, found[1].indent), (7, 2));
    assert_eq!(found[1].info, "text");
}
