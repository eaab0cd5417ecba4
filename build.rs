//! Build script of the `flinch` crate: the git commit it is built from, for
//! `flinch bench` and every `flinch campaign` results line
//! (`FLINCH_GIT_COMMIT`, `unknown` outside a git checkout). A checkout with
//! uncommitted changes to tracked files adds `-dirty-` and a hash of the
//! diff, so two different uncommitted builds are two builds to
//! `campaign merge`, not one build that runs two ways.

use std::path::Path;
use std::process::Command;

fn main() {
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|text| text.trim().to_owned())
        .filter(|commit| !commit.is_empty())
        .unwrap_or_else(|| "unknown".to_owned());
    // What differs from the commit: the diff of tracked files (without the
    // user's diff settings), and the untracked sources (a new module).
    let mut changes = git(&["diff", "--no-ext-diff", "--no-color", "--binary", "HEAD"])
        .unwrap_or_default()
        .into_bytes();
    let untracked = git(&["ls-files", "--others", "--exclude-standard"]).unwrap_or_default();
    for file in untracked
        .lines()
        .filter(|f| f.ends_with(".rs") || f.ends_with(".toml"))
    {
        changes.extend_from_slice(file.as_bytes());
        changes.extend(std::fs::read(file).unwrap_or_default());
    }
    let commit = if commit != "unknown" && !changes.is_empty() {
        format!("{commit}-dirty-{:08x}", fnv1a(&changes))
    } else {
        commit
    };
    println!("cargo:rustc-env=FLINCH_GIT_COMMIT={commit}");
    // Run again when HEAD moves (a commit, a checkout); only paths that
    // exist, since a missing one would make every build run it again.
    // And when the sources change: the diff may have. (Not the index: git
    // status rewrites it, and staging does not change `git diff HEAD`.)
    // The git folder is `.git`, or elsewhere in a worktree.
    let git_dir =
        git(&["rev-parse", "--git-dir"]).map_or_else(|| ".git".to_owned(), |d| d.trim().to_owned());
    let common = git(&["rev-parse", "--git-common-dir"])
        .map_or_else(|| git_dir.clone(), |d| d.trim().to_owned());
    let git_paths = [
        format!("{git_dir}/HEAD"),
        format!("{common}/refs/heads"),
        format!("{common}/packed-refs"),
    ];
    for path in git_paths.iter().map(String::as_str).chain([
        "src",
        "engine/src",
        "harness/src",
        "scenarios",
        "vendor",
        "engine/Cargo.toml",
        "harness/Cargo.toml",
        "Cargo.toml",
        "Cargo.lock",
    ]) {
        if Path::new(path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}

/// What `git args` prints, if git runs and succeeds.
fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status.success().then_some(())?;
    String::from_utf8(out.stdout).ok()
}

/// 32-bit FNV-1a: a build script has no crc32fast, and this only tells
/// diffs apart.
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |h: u32, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}
