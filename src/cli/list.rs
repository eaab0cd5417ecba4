//! `flinch list`

use super::Output;
use flinch_harness::scenario::builtin;
use std::fmt::Write as _;

pub fn list() -> Output {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_gets_one_aligned_line() {
        let out = list();
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
