//! The `flinch` command line (docs/design.md §5): argument parsing, and what each
//! command prints.
//!
//! Every command returns an [`Output`], the text for stdout and the exit
//! code; `main` writes it. Errors (a bad scenario file, an unwritable
//! `--output`) come back as `anyhow` errors and exit [`EXIT_USAGE`].

mod check;
mod exec;
mod interrupt;
mod list;
mod replay;
mod run;
mod seeds;
mod selfcheck;
mod shrink;

use anyhow::anyhow;
use clap::{Parser, Subcommand};
use flinch_harness::scenario::{self, Scenario};

/// Every seed met the scenario's expectation.
pub const EXIT_PASSED: u8 = 0;
/// At least one seed did not.
pub const EXIT_FAILED: u8 = 1;
/// A usage error or a scenario-file error (clap uses 2 for its own too).
pub const EXIT_USAGE: u8 = 2;
/// `flinch run` was stopped by Ctrl-C (128 + SIGINT, as a shell reports a
/// process SIGINT ended); the summary of the seeds that finished was
/// printed.
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
    /// List the built-in scenarios with a one-line description each.
    List,
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
}

/// What a command leaves for `main`: its stdout and its exit code.
#[derive(Debug)]
pub struct Output {
    pub stdout: String,
    pub code: u8,
}

pub fn execute(cli: Cli) -> anyhow::Result<Output> {
    match cli.command {
        Command::List => Ok(list::list()),
        Command::Check(args) => check::check(&args),
        Command::Run(args) => run::run(&args),
        Command::Replay(args) => replay::replay(&args),
        Command::Shrink(args) => shrink::shrink(&args),
        Command::Selfcheck(args) => selfcheck::selfcheck(&args),
    }
}

/// The exit code for a run in which `failed` seeds did not pass.
pub fn exit_code(failed: usize) -> u8 {
    if failed == 0 {
        EXIT_PASSED
    } else {
        EXIT_FAILED
    }
}

/// Load a built-in scenario or a `.toml` file; the error reads
/// `file:line: field: message`, and `main` prefixes it with `error: `.
fn load_scenario(name_or_path: &str) -> anyhow::Result<Scenario> {
    scenario::load(name_or_path).map_err(|e| anyhow!("{e}"))
}

/// The one command that replays `seed` of the scenario the user named
/// (a built-in name or the path they gave), quoted for a POSIX shell.
pub fn replay_command(scenario_arg: &str, seed: u64) -> String {
    format!("flinch replay {} --seed {seed}", shell_quote(scenario_arg))
}

/// The command that shrinks `seed`'s fault plan.
pub fn shrink_command(scenario_arg: &str, seed: u64) -> String {
    format!("flinch shrink {} --seed {seed}", shell_quote(scenario_arg))
}

fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=+,@%".contains(c));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
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
    fn exit_code_is_0_only_when_nothing_failed() {
        assert_eq!(exit_code(0), EXIT_PASSED);
        assert_eq!(exit_code(1), EXIT_FAILED);
        assert_eq!(exit_code(1000), EXIT_FAILED);
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
        assert_eq!(args.seeds, Some(10..20));
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
    fn shrink_commands_quote_the_scenario() {
        assert_eq!(
            shrink_command("scenarios/a b.toml", 3),
            "flinch shrink 'scenarios/a b.toml' --seed 3"
        );
    }

    #[test]
    fn replay_commands_quote_what_the_shell_would_split() {
        assert_eq!(
            replay_command("tm-crash", 17),
            "flinch replay tm-crash --seed 17"
        );
        assert_eq!(
            replay_command("scenarios/a b.toml", 3),
            "flinch replay 'scenarios/a b.toml' --seed 3"
        );
        assert_eq!(
            replay_command("it's.toml", 0),
            r"flinch replay 'it'\''s.toml' --seed 0"
        );
        assert_eq!(replay_command("", 1), "flinch replay '' --seed 1");
    }
}
