//! The `flinch` command line (docs/design.md §5): argument parsing, and what each
//! command prints.
//!
//! Every command returns an [`Output`], the text for stdout and the exit
//! code; `main` writes it. Errors (a bad scenario file, an unwritable
//! `--output`) come back as `anyhow` errors and exit [`EXIT_USAGE`].
//!
//! It lives in the library, behind the `cli` feature and hidden from the
//! docs, so that the binary and [`crate::Test`] share the failure report
//! (`crate::report`); it is not a public API.

mod bench;
mod campaign;
mod check;
mod exec;
mod interrupt;
mod list;
mod replay;
mod run;
mod seeds;
mod selfcheck;
mod shrink;

use crate::report::{shell_quote, shell_quote_path, FailureKind};
use anyhow::anyhow;
use clap::{Parser, Subcommand};
use flinch_harness::scenario::{self, Scenario};

/// Every seed met the scenario's expectation.
pub const EXIT_PASSED: u8 = 0;
/// At least one seed did not (or timed out): a verdict about the job.
pub const EXIT_FAILED: u8 = 1;
/// A usage error or a scenario-file error (clap uses 2 for its own too).
pub const EXIT_USAGE: u8 = 2;
/// A seed hit an engine panic: a host panicked in the engine's code, a
/// found engine bug. Wins over [`EXIT_FAILED`].
pub const EXIT_ENGINE_PANIC: u8 = 3;
/// A seed hit an internal error: a limit or a bug of turmoil or flinch,
/// so the verdicts of that run cannot be trusted. Wins over
/// [`EXIT_ENGINE_PANIC`] and [`EXIT_FAILED`].
pub const EXIT_INTERNAL_ERROR: u8 = 4;
/// `flinch run` was stopped by Ctrl-C (128 + SIGINT, as a shell reports a
/// process SIGINT ended); the summary of the seeds that finished was
/// printed. Wins over every other code.
pub const EXIT_INTERRUPTED: u8 = 130;

/// Deterministic fault injection for a small Flink-style streaming engine.
#[derive(Parser, Debug)]
#[command(name = "flinch", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// List the built-in scenarios (or, with --jobs, the jobs) with a
    /// one-line description each.
    List(list::ListArgs),
    /// Validate a scenario without running it: exit 0 with a one-line
    /// summary, or 2 with the error (file, line, field, a "did you mean").
    Check(check::CheckArgs),
    /// Run a scenario over a range of seeds, in parallel, and summarize.
    Run(run::RunArgs),
    /// Run one seed of a scenario and print its trace and verdict.
    Replay(replay::ReplayArgs),
    /// Shrink a failing seed's fault plan to the smallest that still fails
    /// the same way, printed as a scenario file.
    Shrink(shrink::ShrinkArgs),
    /// Prove the harness catches every planted bug: each bug against every
    /// built-in scenario, and the correct engine against them all.
    Selfcheck(selfcheck::SelfcheckArgs),
    /// Measure how many seeds a second flinch runs, on pinned workloads,
    /// with the machine and commit (BENCHMARKS.md).
    Bench(bench::BenchArgs),
    /// Run long seed sweeps as shards of a campaign (any batch scheduler
    /// runs them) and merge their results into one verdict.
    Campaign(campaign::CampaignArgs),
}

/// What a command leaves for `main`: its stdout and its exit code.
#[derive(Debug)]
pub struct Output {
    pub stdout: String,
    pub code: u8,
}

pub fn execute(cli: Cli) -> anyhow::Result<Output> {
    match cli.command {
        Command::List(args) => Ok(list::list(&args)),
        Command::Check(args) => check::check(&args),
        Command::Run(args) => run::run(&args),
        Command::Replay(args) => replay::replay(&args),
        Command::Shrink(args) => shrink::shrink(&args),
        Command::Selfcheck(args) => selfcheck::selfcheck(&args),
        Command::Bench(args) => bench::bench(&args),
        Command::Campaign(args) => campaign::campaign(&args),
    }
}

/// The exit code of seeds that failed in these ways (one kind per failing
/// seed): the gravest wins, an internal error over an engine panic over a
/// verdict about the job; no failure is [`EXIT_PASSED`].
pub fn exit_code(failures: impl IntoIterator<Item = FailureKind>) -> u8 {
    failures
        .into_iter()
        .map(FailureKind::exit_code)
        .max()
        .unwrap_or(EXIT_PASSED)
}

/// Load a built-in scenario or a `.toml` file, running the job `--job`
/// names instead of its own if given (see [`parse_job`]); the error reads
/// `file:line: field: message` (or `--job: ...`), and `main` prefixes it
/// with `error: `.
fn load_scenario(name_or_path: &str, job: Option<&str>) -> anyhow::Result<Scenario> {
    let job = job.map(parse_job).transpose()?;
    scenario::load_with_job(name_or_path, job).map_err(|e| anyhow!("{e}"))
}

/// The longest `--job` value: a job name, or a TOML inline table of a
/// name and a few parameters.
const MAX_JOB_ARG: usize = 1024;

/// A `--job` value: a job's name (`windowed-sum`, its default parameters)
/// or a TOML inline table as a scenario file writes it
/// (`{ name = "windowed-sum", window = "2s" }`), resolved through the
/// installed job registry. Errors name `--job` and the field.
fn parse_job(text: &str) -> anyhow::Result<flinch_harness::job::ScenarioJob> {
    if text.len() > MAX_JOB_ARG {
        return Err(anyhow!("--job: longer than {MAX_JOB_ARG} bytes"));
    }
    // Blanks around the value are the shell's, not the job's: trimmed, as
    // `--seeds` and `--seed` are.
    let text = text.trim();
    let mut params = if text.starts_with('{') {
        let doc = format!("job = {text}");
        let mut table: toml::Table = toml::from_str(&doc)
            .map_err(|e| anyhow!("--job: not a TOML inline table: {}", e.message()))?;
        match table.remove("job") {
            Some(toml::Value::Table(t)) => t,
            _ => return Err(anyhow!("--job: not a TOML inline table")),
        }
    } else {
        let mut t = toml::Table::new();
        t.insert("name".into(), toml::Value::String(text.to_string()));
        t
    };
    let name = match params.remove("name") {
        Some(toml::Value::String(name)) => name,
        Some(other) => {
            return Err(anyhow!(
                "--job: field `name`: must be a string, the job to run (got {})",
                other.type_str()
            ))
        }
        None => return Err(anyhow!("--job: needs `name`, the job to run")),
    };
    flinch_harness::job::resolve(&name, &params).map_err(|e| match e.field {
        Some(field) if field != "name" => anyhow!("--job: field `{field}`: {}", e.message),
        _ => anyhow!("--job: {}", e.message),
    })
}

/// The one command that replays `seed` of the scenario the user named
/// (a built-in name or the path they gave) with the `--job` they gave,
/// quoted for a POSIX shell.
pub fn replay_command(scenario_arg: &str, job: Option<&str>, seed: u64) -> String {
    format!(
        "flinch replay {}{} --seed {seed}",
        shell_quote_path(scenario_arg),
        job_flag(job)
    )
}

/// The command that shrinks `seed`'s fault plan.
pub fn shrink_command(scenario_arg: &str, job: Option<&str>, seed: u64) -> String {
    format!(
        "flinch shrink {}{} --seed {seed}",
        shell_quote_path(scenario_arg),
        job_flag(job)
    )
}

/// ` --job <value>`, quoted, or nothing.
fn job_flag(job: Option<&str>) -> String {
    job.map_or(String::new(), |j| format!(" --job {}", shell_quote(j)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn exit_code_is_0_only_when_nothing_failed_and_the_gravest_failure_wins() {
        use FailureKind::*;
        assert_eq!(exit_code([]), EXIT_PASSED);
        for verdict in [Job, State, Records, TimedOut] {
            assert_eq!(exit_code([verdict]), EXIT_FAILED, "{verdict:?}");
            assert_eq!(exit_code([verdict; 1000]), EXIT_FAILED);
        }
        assert_eq!(exit_code([EnginePanic]), EXIT_ENGINE_PANIC);
        assert_eq!(exit_code([Records, EnginePanic, Job]), EXIT_ENGINE_PANIC);
        assert_eq!(exit_code([InternalError]), EXIT_INTERNAL_ERROR);
        assert_eq!(
            exit_code([EnginePanic, TimedOut, InternalError, Records]),
            EXIT_INTERNAL_ERROR
        );
        // Distinct codes, none of them clap's or a shell's.
        let codes = [
            EXIT_PASSED,
            EXIT_FAILED,
            EXIT_USAGE,
            EXIT_ENGINE_PANIC,
            EXIT_INTERNAL_ERROR,
            EXIT_INTERRUPTED,
        ];
        let distinct: std::collections::BTreeSet<u8> = codes.into_iter().collect();
        assert_eq!(distinct.len(), codes.len());
    }

    #[test]
    fn usage_errors_exit_2() {
        for argv in [
            &["flinch"][..],
            &["flinch", "frobnicate"],
            &["flinch", "run"],
            &["flinch", "run", "steady", "--seeds", "5..5"],
            &["flinch", "run", "steady", "--seeds", "x"],
            &["flinch", "run", "steady", "--jobs", "0"],
            &["flinch", "selfcheck", "--jobs", "0"],
            &["flinch", "selfcheck", "--seeds-per-scenario", "0"],
            &["flinch", "selfcheck", "--seeds-per-scenario", "-1"],
            &["flinch", "replay", "steady"],
            &["flinch", "replay", "steady", "--seed", "-1"],
            &["flinch", "shrink", "steady"],
            &[
                "flinch",
                "shrink",
                "steady",
                "--seed",
                "1",
                "--max-runs",
                "0",
            ],
        ] {
            let err = Cli::try_parse_from(argv).expect_err("a usage error");
            assert_eq!(err.exit_code(), i32::from(EXIT_USAGE), "{argv:?}: {err}");
        }
    }

    #[test]
    fn good_arguments_parse() {
        let cli = Cli::try_parse_from([
            "flinch", "run", "steady", "--seeds", "10..20", "--jobs", "3", "--json",
        ])
        .expect("valid arguments");
        let Command::Run(args) = cli.command else {
            panic!("expected run, got {:?}", cli.command)
        };
        assert_eq!(args.seeds.map(|s| s.to_string()), Some("10..20".to_owned()));
        assert_eq!(args.jobs, Some(3));
        assert!(args.json);

        let cli = Cli::try_parse_from([
            "flinch",
            "replay",
            "x.toml",
            "--seed",
            "7",
            "--output",
            "out.jsonl",
        ])
        .expect("valid arguments");
        let Command::Replay(args) = cli.command else {
            panic!("expected replay, got {:?}", cli.command)
        };
        assert_eq!(args.seed, 7);
        assert_eq!(
            args.output.as_deref(),
            Some(std::path::Path::new("out.jsonl"))
        );
        assert!(!args.json);
        assert_eq!(args.report, None);
        let cli = Cli::try_parse_from(["flinch", "replay", "x", "--seed", "7", "--report", "r"])
            .expect("valid arguments");
        let Command::Replay(args) = cli.command else {
            panic!("expected replay, got {:?}", cli.command)
        };
        assert_eq!(args.report.as_deref(), Some(std::path::Path::new("r")));

        let cli = Cli::try_parse_from(["flinch", "shrink", "nemesis-mixed", "--seed", "6"])
            .expect("valid arguments");
        let Command::Shrink(args) = cli.command else {
            panic!("expected shrink, got {:?}", cli.command)
        };
        assert_eq!((args.seed, args.max_runs, args.json), (6, 500, false));
        let cli = Cli::try_parse_from([
            "flinch",
            "shrink",
            "x.toml",
            "--seed",
            "1",
            "--max-runs",
            "40",
            "--json",
        ])
        .expect("valid arguments");
        let Command::Shrink(args) = cli.command else {
            panic!("expected shrink, got {:?}", cli.command)
        };
        assert_eq!((args.seed, args.max_runs, args.json), (1, 40, true));
    }

    #[test]
    fn a_job_name_is_trimmed_and_a_name_that_is_no_string_is_said_so() {
        crate::jobs::install();
        for text in [" dedup ", "\tdedup\n", "  { name = \"dedup\" } "] {
            let job = parse_job(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert_eq!(job.name, "dedup", "{text:?}");
        }
        let error = |text: &str| parse_job(text).expect_err(text).to_string();
        assert_eq!(
            error("{ name = 5 }"),
            "--job: field `name`: must be a string, the job to run (got integer)"
        );
        assert_eq!(
            error("{ name = [\"dedup\"] }"),
            "--job: field `name`: must be a string, the job to run (got array)"
        );
        assert_eq!(error("{ }"), "--job: needs `name`, the job to run");
    }

    #[test]
    fn shrink_commands_quote_the_scenario() {
        assert_eq!(
            shrink_command("scenarios/a b.toml", None, 3),
            "flinch shrink 'scenarios/a b.toml' --seed 3"
        );
        // A line break in a path stays on the command's one line, escaped:
        // the command heads a shrunk scenario file as a TOML comment, where
        // a raw one would make the rest of the path live TOML.
        let evil = "nl\nname = \"evil\"\u{1b}[31m\\'.toml";
        let command = shrink_command(evil, None, 8);
        assert_eq!(
            command,
            r#"flinch shrink $'nl\nname = "evil"\x1b[31m\\\'.toml' --seed 8"#
        );
        assert!(!command.chars().any(char::is_control), "{command:?}");
        // A C1 control character, as its UTF-8 bytes.
        assert_eq!(
            shrink_command("c1\u{9b}x.toml", None, 1),
            r"flinch shrink $'c1\xc2\x9bx.toml' --seed 1"
        );
    }

    #[test]
    fn replay_commands_quote_what_the_shell_would_split() {
        assert_eq!(
            replay_command("tm-crash", None, 17),
            "flinch replay tm-crash --seed 17"
        );
        assert_eq!(
            replay_command("scenarios/a b.toml", None, 3),
            "flinch replay 'scenarios/a b.toml' --seed 3"
        );
        assert_eq!(
            replay_command("it's.toml", None, 0),
            r"flinch replay 'it'\''s.toml' --seed 0"
        );
        assert_eq!(replay_command("", None, 1), "flinch replay '' --seed 1");
        // A path that starts with `-` would be read as an option.
        assert_eq!(
            replay_command("-t.toml", None, 6),
            "flinch replay ./-t.toml --seed 6"
        );
        assert_eq!(
            shrink_command("-t b.toml", None, 6),
            "flinch shrink './-t b.toml' --seed 6"
        );
        assert_eq!(
            replay_command("steady", Some("{ name = \"dedup\" }"), 2),
            r#"flinch replay steady --job '{ name = "dedup" }' --seed 2"#
        );
        assert_eq!(
            shrink_command("steady", Some("two-stage"), 4),
            "flinch shrink steady --job two-stage --seed 4"
        );
    }
}
