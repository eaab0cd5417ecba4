//! Snapshot tests: what flinch shows a user, pinned byte for byte, so that a
//! change to it is seen in review instead of slipping through.
//!
//! The snapshots are the `.snap` files in `tests/snapshots/`. When a test
//! fails, insta prints the diff between the stored snapshot and the new
//! output. If the change is intended:
//!
//! - with `cargo-insta` installed: `cargo insta test --test snapshots`, then
//!   `cargo insta review` to accept or reject each change;
//! - without it: `INSTA_UPDATE=always cargo test --test snapshots` rewrites
//!   every snapshot in place; read `git diff tests/snapshots/` before you
//!   commit.
//!
//! Everything here is deterministic: the simulation is fixed by the seed.
//! What is not (wall-clock time, the temp directory's path, the periodic
//! progress line) is redacted by plain string edits below before the
//! snapshot is taken.

mod common;
use common::{flinch, TempDir};

/// What `flinch replay <name> --seed <seed>` prints: the trace, one line
/// per event, then the verdict, the trace hash and the plan.
fn trace_snapshot(name: &str, seed: u64) -> String {
    let seed = seed.to_string();
    let args = ["replay", name, "--seed", &seed];
    let (code, stdout, stderr) = flinch(&args);
    command_snapshot(&args, code, &stdout, &stderr)
}

/// Exit code, stdout and stderr of one command, in one text.
fn command_snapshot(args: &[&str], code: i32, stdout: &str, stderr: &str) -> String {
    format!(
        "$ flinch {}\nexit code {code}\n--- stdout\n{stdout}--- stderr\n{stderr}",
        args.join(" ")
    )
}

/// Replace the rest of every line starting with `prefix` by `[wall]`;
/// panics if there is no such line, so a renamed line cannot slip past.
fn redact_line(text: &str, prefix: &str) -> String {
    assert!(
        text.lines().any(|l| l.starts_with(prefix)),
        "no line starts with {prefix:?}:\n{text}"
    );
    text.lines()
        .map(|l| {
            if l.starts_with(prefix) {
                format!("{prefix}[wall]\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect()
}

/// Replace the value of `"key":` in one-line JSON by `[wall]`.
fn redact_json_value(json: &str, key: &str) -> String {
    let tag = format!("\"{key}\":");
    let start = json
        .find(&tag)
        .unwrap_or_else(|| panic!("no {tag} in {json}"))
        + tag.len();
    let end = start + json[start..].find([',', '}']).expect("the value ends");
    format!("{}[wall]{}", &json[..start], &json[end..])
}

/// Drop the line `flinch run` prints to stderr every 10 s of wall time:
/// whether it appears depends on how fast the machine is.
fn drop_periodic_progress(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|l| !(l.starts_with("flinch: ") && l.contains(" seeds done, ")))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Fails when anything in a fault-free run changes: an event added, renamed
/// or reordered, a field or its JSON shape, the line format, a timing, a
/// digest. Each of these changes the trace hash too; the snapshot shows
/// which line moved, so the reviewer sees whether the engine's behaviour or
/// only its reporting changed.
#[test]
fn the_steady_trace_of_seed_0_is_unchanged() {
    insta::assert_snapshot!("trace_steady_seed_0", trace_snapshot("steady", 0));
}

/// Fails when a crash and its recovery play out differently: when the
/// crash fires, how the failure is detected, the failover, the restore, the
/// epoch bump, and which transactions are aborted or committed after it. A
/// change here is a change to recovery, which a reviewer must see.
#[test]
fn the_taskmanager_crash_trace_of_seed_0_is_unchanged() {
    insta::assert_snapshot!(
        "trace_taskmanager_crash_seed_0",
        trace_snapshot("taskmanager-crash", 0)
    );
}

/// Fails when a built-in scenario is added, removed or renamed, or its
/// one-line description changes: `flinch list` is how a user finds them.
#[test]
fn list_shows_every_builtin_scenario() {
    let args = ["list"];
    let (code, stdout, stderr) = flinch(&args);
    insta::assert_snapshot!("list", command_snapshot(&args, code, &stdout, &stderr));
}

/// Fails when the human summary of a passing run changes: its lines, their
/// order or wording, the stderr headline, or the simulated figures (sim
/// time, records). Wall time is redacted, and `--jobs 1` fixes the thread
/// count, which would otherwise be the machine's core count.
#[test]
fn run_prints_the_human_summary() {
    let args = ["run", "steady", "--seeds", "0..3", "--jobs", "1"];
    let (code, stdout, stderr) = flinch(&args);
    let stdout = redact_line(&stdout, "wall time  ");
    let stderr = drop_periodic_progress(&stderr);
    insta::assert_snapshot!(
        "run_steady_human",
        command_snapshot(&args, code, &stdout, &stderr)
    );
}

/// Fails when the `--json` summary changes: a field added, removed,
/// renamed or reordered (scripts depend on them), or a simulated figure.
/// `wall_seconds` is redacted; `--json` prints no progress on stderr.
#[test]
fn run_json_prints_the_summary_object() {
    let args = ["run", "steady", "--seeds", "0..3", "--jobs", "1", "--json"];
    let (code, stdout, stderr) = flinch(&args);
    let stdout = redact_json_value(&stdout, "wall_seconds");
    insta::assert_snapshot!(
        "run_steady_json",
        command_snapshot(&args, code, &stdout, &stderr)
    );
}

/// Fails when the message or exit code for a broken scenario file changes:
/// the file, line and field it names, or the wording that tells the user
/// what is accepted. These messages are all a user has to fix their file.
#[test]
fn broken_scenario_files_exit_2_naming_file_line_and_field() {
    let dir = TempDir::new("snapshots");
    let header = "name = \"bad\"\ndescription = \"a scenario with a mistake\"\n\
                  job = { name = \"keyed-count\" }\n";
    let expect = "\n[expect]\noutcome = \"exactly-once\"\n";
    let crash = |host: &str, at: &str| {
        format!(
            "{header}\n[[fault]]\nkind = \"crash_restart\"\nhost = \"{host}\"\n\
             at = \"{at}\"\nafter = \"300ms\"\n{expect}"
        )
    };
    let cases = [
        ("syntax.toml", format!("{header}\n[workload\nrecords = 100\n{expect}")),
        (
            "unknown-field.toml",
            format!("{header}\n[checkpoint]\ninterval = \"200ms\"\nflavour = 3\n{expect}"),
        ),
        ("bad-duration.toml", crash("taskmanager-2", "fast")),
        ("unknown-host.toml", crash("taskmanager-9", "300ms")),
        (
            "unknown-kind.toml",
            format!("{header}\n[[fault]]\nkind = \"explode\"\nhost = \"sink\"\nat = \"300ms\"\n{expect}"),
        ),
        (
            "unsurvivable.toml",
            format!(
                "{header}\n[[fault]]\nkind = \"disk_loss\"\nhost = \"store\"\n\
                 at = \"300ms\"\nafter = \"300ms\"\n{expect}"
            ),
        ),
        ("missing-field.toml", "name = \"bad\"\njob = { name = \"keyed-count\" }\n".into()),
    ];
    let tmp = dir.0.to_str().expect("a UTF-8 temp path");
    let mut snapshot = String::new();
    for (name, text) in &cases {
        let path = dir.write(name, text);
        let args = ["run", path.as_str(), "--seeds", "0..1"];
        let (code, stdout, stderr) = flinch(&args);
        let text = command_snapshot(&args, code, &stdout, &stderr);
        snapshot.push_str(&text.replace(tmp, "[tmp]"));
        snapshot.push('\n');
    }
    insta::assert_snapshot!("scenario_errors", snapshot);
}
