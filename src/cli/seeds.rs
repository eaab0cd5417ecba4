//! Parsing of seeds, seed ranges and job counts, with messages that say
//! what was expected. clap shows them as
//! `error: invalid value '5..5' for '--seeds <A..B>': ...` and exits 2.

use std::ops::Range;

/// A seed: a whole number from 0 to 2^64 - 1, digits only.
pub fn parse_seed(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits = !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    t.parse::<u64>().ok().filter(|_| digits).ok_or_else(|| {
        format!(
            "\"{t}\" is not a seed: expected a whole number from 0 to {}",
            u64::MAX
        )
    })
}

/// A half-open seed range `A..B` (seeds A to B-1), with A < B: the grammar
/// of a scenario file's `[seeds] range`, so both read the same.
pub fn parse_seed_range(s: &str) -> Result<Range<u64>, String> {
    flinch_harness::scenario::parse_seed_range(s.trim())
}

/// `--jobs`: how many worker threads, at least 1.
pub fn parse_jobs(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("at least 1 thread is needed".to_string()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!(
            "expected a number of threads (1 or more), got \"{}\"",
            s.trim()
        )),
    }
}

/// All cores, or 1 if the platform cannot say.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_ranges_parse() {
        assert_eq!(parse_seed_range("0..100"), Ok(0..100));
        assert_eq!(parse_seed_range("5..6"), Ok(5..6));
        assert_eq!(parse_seed_range(" 7..9 "), Ok(7..9));
        assert_eq!(parse_seed_range("0..18446744073709551615"), Ok(0..u64::MAX));
    }

    #[test]
    fn bad_ranges_are_refused_with_the_input_in_the_message() {
        for input in [
            "",
            "5",
            "5-10",
            "5..",
            "..5",
            "..",
            "1..=5",
            "a..5",
            "0..b",
            "-1..5",
            "+1..5",
            "0..18446744073709551616",
            "1.5..3",
            "1..2..3",
        ] {
            let err = parse_seed_range(input).expect_err(input);
            assert!(err.contains(&format!("\"{input}\"")), "{input:?}: {err}");
        }
    }

    #[test]
    fn empty_ranges_say_the_end_is_exclusive() {
        for input in ["5..5", "6..5"] {
            let err = parse_seed_range(input).expect_err(input);
            assert!(err.contains("exclusive"), "{input:?}: {err}");
        }
    }

    #[test]
    fn seeds_and_jobs() {
        assert_eq!(parse_seed("42"), Ok(42));
        assert_eq!(parse_seed(" 7 "), Ok(7));
        for bad in ["x", "", "-1", "+1", "18446744073709551616"] {
            let err = parse_seed(bad).expect_err(bad);
            assert!(err.contains("is not a seed"), "{bad:?}: {err}");
        }
        assert_eq!(parse_jobs("4"), Ok(4));
        assert_eq!(parse_jobs("0"), Err("at least 1 thread is needed".into()));
        assert!(parse_jobs("-2").expect_err("negative").contains("-2"));
        assert!(default_jobs() >= 1);
    }
}
