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
    let commit = match git(&["diff", "HEAD"]) {
        Some(diff) if commit != "unknown" && !diff.is_empty() => {
            format!("{commit}-dirty-{:08x}", fnv1a(diff.as_bytes()))
        }
        _ => commit,
    };
    println!("cargo:rustc-env=FLINCH_GIT_COMMIT={commit}");
    // Run again when HEAD moves (a commit, a checkout); only paths that
    // exist, since a missing one would make every build run it again.
    // And when the sources change: the diff may have. (Not the index: git
    // status rewrites it, and staging does not change `git diff HEAD`.)
    for path in [
        ".git/HEAD",
        ".git/refs/heads",
        ".git/packed-refs",
        "src",
        "engine/src",
        "harness/src",
        "scenarios",
        "vendor",
        "Cargo.toml",
        "Cargo.lock",
    ] {
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
