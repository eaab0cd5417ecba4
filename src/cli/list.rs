//! `flinch list`

use super::Output;
use flinch_harness::scenario::builtin;
use std::fmt::Write as _;

/// `flinch list [--jobs]`.
#[derive(clap::Args, Debug, Default)]
pub struct ListArgs {
    /// List the jobs (`job = { name = ... }`, `--job`) instead of the scenarios.
    #[arg(long)]
    pub jobs: bool,
}

pub fn list(args: &ListArgs) -> Output {
    if args.jobs {
        return jobs();
    }
    let scenarios = builtin();
    let width = scenarios.iter().map(|s| s.name.len()).max().unwrap_or(0);
    let mut stdout = String::new();
    for s in &scenarios {
        let line = format!("{:<width$}  {}", s.name, s.summary());
        // Writing to a String cannot fail.
        let _ = writeln!(stdout, "{}", line.trim_end());
    }
    Output {
        stdout,
        code: super::EXIT_PASSED,
    }
}

/// One line per job of the installed registry: its name and what it does.
fn jobs() -> Output {
    let registry = flinch_harness::job::registry();
    let width = registry.names().iter().map(|n| n.len()).max().unwrap_or(0);
    let mut stdout = String::new();
    for spec in registry.specs() {
        let _ = writeln!(stdout, "{:<width$}  {}", spec.name(), spec.description());
    }
    Output {
        stdout,
        code: super::EXIT_PASSED,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_gets_one_aligned_line() {
        let out = list(&ListArgs::default());
        let n = builtin().len();
        assert!(n > 0);
        assert_eq!(out.stdout.lines().count(), n);
        // Descriptions start in one column.
        let column = |line: &str| {
            line.find("  ")
                .map(|i| i + line[i..].len() - line[i..].trim_start().len())
        };
        let first = out.stdout.lines().next().and_then(column);
        assert!(
            out.stdout.lines().all(|l| column(l) == first),
            "{}",
            out.stdout
        );
        assert_eq!(out.code, 0);
    }
}
