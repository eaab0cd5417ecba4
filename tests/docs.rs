//! Every document the code or the README cites is in the repository, and so
//! is every section it cites (docs/design.md §1..§7).
//!
//! What counts as a citation, in the files [`scanned`] lists:
//! - a name like `ARCHITECTURE.md` (`[A-Z][A-Z_-]+\.md`, any path before it),
//!   or a path like `docs/design.md` (`docs/[a-z-]+\.md`). A bare name is
//!   looked up at the repository root; a path starting `./` or `../` from
//!   the citing file's folder. Names inside URLs cite other repositories and
//!   are skipped;
//! - right after such a name, a section: ` §N` (a heading `N. ...`),
//!   `, "Title"` or ` ("Title")` (a heading `Title`, numbered or not), or
//!   `#anchor` (a heading whose GitHub anchor it is);
//! - in Markdown files, every relative link target (`[text](target)`, and
//!   `[label]: target` definitions), from the file's folder, with its
//!   `#anchor` if it has one; `(#anchor)` alone is a heading of the file itself.
//!
//! Hand-rolled rather than with the `regex` crate (not in Cargo.lock): two
//! fixed shapes and a link syntax do not need a new dev-dependency.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Component, Path, PathBuf};

/// Files at the repository root that are scanned.
const ROOT_FILES: [&str; 5] = [
    "README.md",
    "ARCHITECTURE.md",
    "Cargo.toml",
    ".cargo/config.toml",
    "clippy.toml",
];
/// Folders scanned for files with one of [`EXTENSIONS`], recursively.
const DIRS: [&str; 6] = ["engine", "harness", "src", "tests", "scenarios", "docs"];
const EXTENSIONS: [&str; 3] = ["rs", "toml", "md"];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A citation of a document: where it is written and what it names.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Citation {
    /// The citing file, relative to the repository root.
    file: PathBuf,
    /// 1-based.
    line: usize,
    /// The path as written (`docs/design.md`, `../ARCHITECTURE.md`).
    target: String,
    /// The cited file, resolved (relative to the repository root).
    resolved: PathBuf,
    section: Option<Section>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Section {
    /// `§N`: a heading `N. Title`.
    Number(String),
    /// `"Title"`: a heading with this title, numbered or not.
    Title(String),
    /// `#anchor`: a heading whose GitHub anchor this is.
    Anchor(String),
}

impl std::fmt::Display for Section {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Section::Number(n) => write!(f, "§{n}"),
            Section::Title(t) => write!(f, "{t:?}"),
            Section::Anchor(a) => write!(f, "#{a}"),
        }
    }
}

/// Every file that is scanned, relative to the repository root, sorted.
fn scanned() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let entries = fs::read_dir(root().join(dir)).expect("a scanned folder exists");
        for entry in entries {
            let path = dir.join(entry.expect("a readable folder entry").file_name());
            let full = root().join(&path);
            if full.is_dir() {
                walk(&path, out);
            } else if full
                .extension()
                .is_some_and(|e| EXTENSIONS.iter().any(|x| e == *x))
            {
                out.push(path);
            }
        }
    }
    let mut files: Vec<PathBuf> = ROOT_FILES.iter().map(PathBuf::from).collect();
    for dir in DIRS {
        walk(Path::new(dir), &mut files);
    }
    files.sort();
    files
}

fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_-./".contains(c)
}

/// Whether a path token names a document by one of the two shapes.
fn is_document(token: &str) -> bool {
    let Some(stem) = token.strip_suffix(".md") else {
        return false;
    };
    let name = stem.rsplit('/').next().unwrap_or(stem);
    let upper = name.len() >= 2
        && name.starts_with(|c: char| c.is_ascii_uppercase())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || "_-".contains(c));
    let in_docs = stem.rsplit_once('/').is_some_and(|(dir, name)| {
        dir.ends_with("docs")
            && !name.is_empty()
            && name.chars().all(|c| c.is_ascii_lowercase() || c == '-')
    });
    upper || in_docs
}

/// The section cited right after a document's name, if any.
fn section_after(rest: &str) -> Option<Section> {
    if let Some(anchor) = rest.strip_prefix('#') {
        let end = anchor.find(|c: char| !(c.is_alphanumeric() || "-_".contains(c)));
        return Some(Section::Anchor(
            anchor[..end.unwrap_or(anchor.len())].into(),
        ));
    }
    if let Some(number) = rest.strip_prefix(" §") {
        let digits: String = number.chars().take_while(char::is_ascii_digit).collect();
        return (!digits.is_empty()).then_some(Section::Number(digits));
    }
    let quoted = rest
        .strip_prefix(", \"")
        .or_else(|| rest.strip_prefix(" (\""))?;
    let title = &quoted[..quoted.find('"')?];
    Some(Section::Title(title.into()))
}

/// Where `target`, written in `file`, points (relative to the root).
fn resolve(file: &Path, target: &str, relative_to_file: bool) -> PathBuf {
    let base = match relative_to_file || target.starts_with("./") || target.starts_with("../") {
        true => file.parent().unwrap_or(Path::new("")).to_path_buf(),
        false => PathBuf::new(),
    };
    let mut out = PathBuf::new();
    for part in base.join(target).components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The citations by name in one line (the two shapes). In Markdown, a link
/// target is left to [`links_in_line`], which resolves it from the file.
fn named_in_line(file: &Path, markdown: bool, line_no: usize, line: &str, out: &mut Vec<Citation>) {
    let mut from = 0;
    while let Some(found) = line[from..].find(".md") {
        let end = from + found + ".md".len();
        from = end;
        if line[end..].starts_with(|c: char| c.is_ascii_alphanumeric()) {
            continue; // `.mdx`, `.md5`: not a Markdown file
        }
        let start = line[..end]
            .rfind(|c: char| !is_path_char(c))
            .map_or(0, |i| {
                i + line[i..].chars().next().map_or(1, char::len_utf8)
            });
        let token = &line[start..end];
        let before = &line[..start];
        let word_start = before.rfind(char::is_whitespace).map_or(0, |i| i + 1);
        let link_target = markdown && (before.ends_with("](") || before.ends_with("]: "));
        if line[word_start..end].contains("://") || link_target || !is_document(token) {
            continue;
        }
        out.push(Citation {
            file: file.to_path_buf(),
            line: line_no,
            target: token.into(),
            resolved: resolve(file, token, false),
            section: section_after(&line[end..]),
        });
    }
}

/// The relative link targets of one Markdown line.
fn links_in_line(file: &Path, line_no: usize, line: &str, out: &mut Vec<Citation>) {
    let mut targets = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find("](") {
        let after = &rest[i + 2..];
        let end = after.find(')').unwrap_or(after.len());
        targets.push(after[..end].split(' ').next().unwrap_or("").to_owned());
        rest = &after[end..];
    }
    let trimmed = line.trim_start();
    if let Some((_, target)) = trimmed.strip_prefix('[').and_then(|l| l.split_once("]: ")) {
        targets.push(target.split(' ').next().unwrap_or("").to_owned());
    }
    for target in targets {
        if target.contains("://") || target.starts_with("mailto:") || target.is_empty() {
            continue;
        }
        let (path, anchor) = match target.split_once('#') {
            Some((path, anchor)) => (path, Some(Section::Anchor(anchor.into()))),
            None => (target.as_str(), None),
        };
        let resolved = match path.is_empty() {
            true => file.to_path_buf(),
            false => resolve(file, path, true),
        };
        out.push(Citation {
            file: file.to_path_buf(),
            line: line_no,
            target,
            resolved,
            section: anchor,
        });
    }
}

/// Every citation in `text`, the content of `file` (relative to the root).
fn citations(file: &Path, text: &str) -> Vec<Citation> {
    let markdown = file.extension().is_some_and(|e| e == "md");
    let mut out = Vec::new();
    let mut in_code = false;
    for (i, line) in text.lines().enumerate() {
        named_in_line(file, markdown, i + 1, line, &mut out);
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
        }
        if markdown && !in_code {
            links_in_line(file, i + 1, line, &mut out);
        }
    }
    out
}

/// The headings of a Markdown text, without their `#`s; fenced code skipped.
fn headings(text: &str) -> Vec<String> {
    let mut in_code = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
        } else if !in_code && line.starts_with('#') {
            out.push(line.trim_start_matches('#').trim().to_owned());
        }
    }
    out
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces
/// to hyphens.
fn anchor(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || "-_ ".contains(*c))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn has_section(headings: &[String], section: &Section) -> bool {
    headings.iter().any(|h| {
        let (number, title) = match h.split_once(". ") {
            Some((n, t)) if n.chars().all(|c| c.is_ascii_digit()) => (Some(n), t),
            _ => (None, h.as_str()),
        };
        match section {
            Section::Number(n) => number == Some(n.as_str()),
            Section::Title(t) => title.eq_ignore_ascii_case(t) || h.eq_ignore_ascii_case(t),
            Section::Anchor(a) => anchor(h) == *a,
        }
    })
}

/// What is wrong with a citation, if anything.
fn broken(citation: &Citation) -> Option<String> {
    let Citation { file, line, .. } = citation;
    let at = format!("{}:{line}: `{}`", file.display(), citation.target);
    let full = root().join(&citation.resolved);
    if !full.exists() {
        let resolved = citation.resolved.display();
        return Some(format!("{at}: {resolved} is not in the repository"));
    }
    let section = citation.section.as_ref()?;
    if full.extension().is_none_or(|e| e != "md") {
        return None;
    }
    let text = fs::read_to_string(&full).expect("a cited Markdown file is readable");
    match has_section(&headings(&text), section) {
        true => None,
        false => Some(format!(
            "{at}: {} has no section {section}",
            citation.resolved.display()
        )),
    }
}

/// Every citation in the scanned files, and what is wrong with each broken one.
fn scan_repository() -> (Vec<Citation>, Vec<String>) {
    let mut all = Vec::new();
    for file in scanned() {
        let text = fs::read_to_string(root().join(&file)).expect("a scanned file is UTF-8");
        all.extend(citations(&file, &text));
    }
    let problems = all.iter().filter_map(broken).collect();
    (all, problems)
}

/// What is wrong in `text`, as if it were the file `file`.
fn problems_in(file: &str, text: &str) -> Vec<String> {
    citations(Path::new(file), text)
        .iter()
        .filter_map(broken)
        .collect()
}

/// A name ending in `.md`, built at run time so that this file does not
/// itself cite a missing document.
fn md(stem: &str) -> String {
    format!("{stem}.md")
}

#[test]
fn every_document_the_code_or_the_readme_cites_is_in_the_repository() {
    let (citations, problems) = scan_repository();
    assert!(
        problems.is_empty(),
        "citations of documents or sections that are not in the repository:\n{}",
        problems.join("\n")
    );
    // Not vacuous: the scan finds the citations the code is known to make.
    let cites = |target: &str, section: Option<Section>| {
        citations
            .iter()
            .any(|c| c.target == target && c.section == section)
    };
    assert!(cites("docs/design.md", Some(Section::Number("5".into()))));
    assert!(cites(
        "docs/flink-semantics.md",
        Some(Section::Title("Restart strategies".into()))
    ));
    assert!(cites("ARCHITECTURE.md", None));
    assert!(citations.len() >= 30, "only {} citations", citations.len());
    let files: BTreeSet<_> = citations.iter().map(|c| c.file.clone()).collect();
    for file in [
        "README.md",
        "engine/clippy.toml",
        "src/main.rs",
        "docs/design.md",
    ] {
        assert!(files.contains(Path::new(file)), "{file} cites nothing");
    }
}

#[test]
fn a_citation_of_a_document_not_in_the_repository_fails_naming_it() {
    let upper = md("NOT-IN-REPO");
    let lower = md("docs/not-in-repo");
    let text = format!("//! See {upper}, and\n//! the design in {lower} §2.\n");
    let problems = problems_in("src/main.rs", &text);
    assert_eq!(
        problems,
        [
            format!("src/main.rs:1: `{upper}`: {upper} is not in the repository"),
            format!("src/main.rs:2: `{lower}`: {lower} is not in the repository"),
        ]
    );
    // The briefing files the code used to cite are not in the repository.
    for stem in ["DESIGN", "FLINK-REFERENCE", "TURMOIL-NOTES", "STYLE"] {
        let text = format!("// the contract is {} §5", md(stem));
        assert_eq!(problems_in("src/main.rs", &text).len(), 1, "{stem}");
    }
}

#[test]
fn a_citation_of_a_section_that_is_not_there_fails() {
    let design = md("docs/design");
    let flink = md("docs/flink-semantics");
    let cases = [
        format!("//! {design} §8"),
        format!("//! {flink}, \"Restart strategy\""),
        format!("//! {flink} (\"Checkpoint defaults\")"),
        format!("[x]({flink}#restart)"),
        "[x](#no-such-heading)".to_owned(),
    ];
    for text in cases {
        let problems = problems_in("README.md", &text);
        assert_eq!(problems.len(), 1, "{text}: {problems:?}");
        assert!(problems[0].contains("has no section"), "{problems:?}");
    }
}

#[test]
fn a_broken_relative_link_in_markdown_fails() {
    let (upper, lower) = (md("ARCH"), md("simulation-notes"));
    let text = format!("[arch]({upper})\n[label]: {lower}\n");
    let problems = problems_in("docs/design.md", &text);
    // Relative to the citing file's folder, not to the root.
    assert_eq!(
        problems,
        [
            format!("docs/design.md:1: `{upper}`: docs/{upper} is not in the repository"),
            format!("docs/design.md:2: `{lower}`: docs/{lower} is not in the repository"),
        ]
    );
}

#[test]
fn citations_that_are_right_pass_at_every_form() {
    let ok = [
        // The first and the last section, by number, title and anchor.
        (
            "src/main.rs",
            "//! (docs/design.md §1) and docs/design.md §7.",
        ),
        (
            "src/main.rs",
            "//! docs/simulation.md, \"Determinism\"; docs/design.md (\"7. The public API\")",
        ),
        (
            "src/main.rs",
            "//! docs/flink-semantics.md#checkpoint-options, README.md#layout",
        ),
        // Relative to the citing file.
        (
            "docs/design.md",
            "[architecture](../ARCHITECTURE.md), [sim](simulation.md#network)",
        ),
        (
            "docs/design.md",
            "ARCHITECTURE.md at the root; [up](./design.md#6-scenario-files)",
        ),
        // Other repositories' documents, and things that only end like one.
        // (Split with concat! so that a plain grep of this file for cited
        // documents, like the project's before-stop hook, does not take
        // these test inputs for citations.)
        (
            "README.md",
            concat!(
                "https://github.com/tigerbeetle/tigerbeetle/blob/main/docs/TIGER_STYLE",
                ".md"
            ),
        ),
        (
            "README.md",
            concat!(
                "[vopr](https://github.com/a/b/blob/main/CONTRIBUTING",
                ".md#top) x.mdx"
            ),
        ),
        // A fenced code block is not Markdown.
        ("README.md", "```text\n[x](#not-a-link)\n```"),
    ];
    for (file, text) in ok {
        assert_eq!(
            problems_in(file, text),
            Vec::<String>::new(),
            "{file}: {text}"
        );
    }
    let found = citations(Path::new("src/main.rs"), ok[0].1);
    let sections: Vec<_> = found.iter().map(|c| c.section.clone()).collect();
    assert_eq!(
        sections,
        [
            Some(Section::Number("1".into())),
            Some(Section::Number("7".into()))
        ]
    );
}
