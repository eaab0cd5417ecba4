//! The README's "Test your own job" is `examples/user-crate/`, file for
//! file, and it runs: its code blocks tagged `file=<path>` are that
//! crate's files (the `Cargo.toml` block a part of it, with the path
//! dependency as a user would write it), the block tagged `planted` is
//! its `src/lib.rs` with the bug `.ci/run` plants, the code stays under 40
//! lines, the error quoted for a missing `--cfg tokio_unstable` is the
//! engine's, and the job passes its test here too (`.ci/run` runs the
//! crate itself, outside the repository, and replays its planted bug).

use std::path::Path;

/// The example crate's code, compiled here as a module.
#[path = "../examples/user-crate/src/lib.rs"]
mod user_crate;

const CRATE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/user-crate");

/// The line `.ci/run` inserts above `emitted: bool,` to plant the bug.
const PLANTED: &str = "    #[serde(skip)]\n";

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(CRATE).join(path))
        .unwrap_or_else(|e| panic!("examples/user-crate/{path}: {e}"))
}

/// The guide: the README from `## Test your own job` to the next `## `.
fn guide() -> String {
    let readme = include_str!("../README.md");
    let start = readme
        .find("\n## Test your own job\n")
        .expect("the README has a section `## Test your own job`");
    let rest = &readme[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 4);
    rest[..end].to_owned()
}

/// The fenced blocks of `text`: (info string, body).
fn blocks(text: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(info) = line.strip_prefix("```") else {
            continue;
        };
        let mut body = String::new();
        for line in lines.by_ref() {
            if line == "```" {
                break;
            }
            body += line;
            body.push('\n');
        }
        found.push((info.to_owned(), body));
    }
    found
}

/// Lines of code: neither blank nor a comment.
fn code_lines(text: &str) -> usize {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with("//"))
        .count()
}

#[test]
fn the_guide_is_the_example_crate_file_for_file() {
    let guide = guide();
    let files: Vec<(String, String)> = blocks(&guide)
        .into_iter()
        .filter(|(info, _)| info.contains("file="))
        .collect();
    let mut seen = Vec::new();
    for (info, body) in &files {
        let path = info
            .split_whitespace()
            .find_map(|w| w.strip_prefix("file="))
            .expect("file=<path>");
        let planted = info.split_whitespace().any(|w| w == "planted");
        let file = read(path);
        match (path, planted) {
            ("Cargo.toml", _) => {
                let as_written = file.replace("path = \"../..\"", "path = \"../flinch\"");
                assert!(
                    as_written.contains(body.as_str()),
                    "the README's Cargo.toml block is not part of examples/user-crate/Cargo.toml:\n{body}"
                );
            }
            (_, true) => {
                let with_bug = file.replacen(
                    "    emitted: bool,\n",
                    &format!("{PLANTED}    emitted: bool,\n"),
                    1,
                );
                assert_ne!(
                    with_bug, file,
                    "src/lib.rs has no `emitted: bool,` to plant the bug above"
                );
                assert!(
                    with_bug.contains(body.as_str()),
                    "the README's planted bug is not the crate's src/lib.rs with `#[serde(skip)]` above `emitted`:\n{body}"
                );
            }
            _ => assert_eq!(
                body, &file,
                "the README's block for {path} differs from the crate's"
            ),
        }
        seen.push((path.to_owned(), planted));
    }
    for expected in [
        ("Cargo.toml", false),
        (".cargo/config.toml", false),
        ("src/lib.rs", false),
        ("tests/exactly_once.rs", false),
        ("src/lib.rs", true),
    ] {
        assert!(
            seen.contains(&(expected.0.to_owned(), expected.1)),
            "the guide has no block for {expected:?}"
        );
    }
    let lines = code_lines(&read("src/lib.rs")) + code_lines(&read("tests/exactly_once.rs"));
    assert!(
        lines < 40,
        "the guide's code is {lines} lines, not under 40"
    );
    assert!(
        guide.contains(&format!("That is {lines} lines of code")),
        "the guide should say its code is {lines} lines"
    );
}

#[test]
fn the_guide_quotes_the_engine_error_for_a_missing_tokio_unstable() {
    let engine = include_str!("../engine/src/lib.rs");
    let opening = "compile_error!(\n    \"";
    let start = engine.find(opening).expect("the engine's compile_error") + opening.len();
    let end = start + engine[start..].find("\"\n);").expect("its end");
    let message = engine[start..end].replace("\\\"", "\"");
    assert!(
        guide().contains(&format!("error: {message}\n")),
        "the guide does not quote the engine's error:\n{message}"
    );
}

#[test]
fn the_guide_job_passes() {
    flinch::Test::new(user_crate::DistinctKeys)
        .seeds(0..20)
        .run();
}
