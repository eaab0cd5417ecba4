//! Parsing of seeds, seed ranges and job counts, with messages that say
//! what was expected. clap shows them as
//! `error: invalid value '5..5' for '--seeds <A..B>': ...` and exits 2.

use flinch_harness::scenario::SeedRange;
use std::time::Duration;

/// The shortest `--timeout`: the watchdog wakes at a seed's deadline and
/// the step loop polls every `STOP_POLL_STEPS` steps (well under a
/// millisecond), so a finer limit would not be kept.
pub const TIMEOUT_MIN: Duration = Duration::from_millis(1);
/// The longest `--timeout`: a seed runs in milliseconds to seconds, and its
/// simulated time is bounded by the scenario's `max_sim_time` anyway; a
/// limit of more than a day is no limit (leave `--timeout` out instead).
pub const TIMEOUT_MAX: Duration = Duration::from_secs(24 * 3600);

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

/// A seed range: half-open `A..B` (seeds A to B-1, A < B) or `A..=B`
/// (seeds A to B, A <= B): the grammar of a scenario file's `[seeds]
/// range`, so both read the same.
pub fn parse_seed_range(s: &str) -> Result<SeedRange, String> {
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

/// `selfcheck --seeds-per-scenario`: how many seeds a scenario may try per
/// bug, at least 1 (no seed would judge nothing, and is refused rather
/// than quietly run as 1).
pub fn parse_seeds_per_scenario(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(0) => Err("at least 1 seed is needed".to_string()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!(
            "expected a number of seeds (1 or more), got \"{}\"",
            s.trim()
        )),
    }
}

/// All cores, or 1 if the platform cannot say.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The worker threads to run `seeds` seeds on: `requested` (default: every
/// core), at most `cores` and at most one per seed. Seeds are CPU-bound, so
/// a thread beyond the cores only adds switching and a 32 MiB stack; a
/// request above the cores comes back with the note to print on stderr.
pub fn bound_jobs(requested: Option<usize>, cores: usize, seeds: u64) -> (usize, Option<String>) {
    let cores = cores.max(1);
    let per_seed = |n: usize| n.min(usize::try_from(seeds).unwrap_or(usize::MAX)).max(1);
    match requested {
        Some(n) if n > cores => (
            per_seed(cores),
            Some(format!(
                "--jobs {n} is more than the {cores} core{} of this machine; clamped to {cores}",
                if cores == 1 { "" } else { "s" }
            )),
        ),
        Some(n) => (per_seed(n), None),
        None => (per_seed(cores), None),
    }
}

/// `--timeout`: a wall-clock limit per seed, written as in a scenario file
/// (`"500ms"`, `"2s"`), from [`TIMEOUT_MIN`] to [`TIMEOUT_MAX`].
pub fn parse_timeout(s: &str) -> Result<Duration, String> {
    let d = flinch_harness::scenario::parse_duration(s.trim())?;
    if d < TIMEOUT_MIN {
        Err(format!(
            "a timeout of {d:?} is below the shortest the watchdog keeps, {TIMEOUT_MIN:?}"
        ))
    } else if d > TIMEOUT_MAX {
        Err(format!(
            "a timeout of {d:?} is above the longest allowed, {TIMEOUT_MAX:?} \
             (a day is no limit for a seed: leave --timeout out instead)"
        ))
    } else {
        Ok(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_ranges_parse() {
        let range = |first, last| SeedRange::new(first, last).expect("not empty");
        assert_eq!(parse_seed_range("0..100"), Ok(range(0, 99)));
        assert_eq!(parse_seed_range("5..6"), Ok(SeedRange::one(5)));
        assert_eq!(parse_seed_range(" 7..9 "), Ok(range(7, 8)));
        assert_eq!(parse_seed_range(" 7..=9 "), Ok(range(7, 9)));
        assert_eq!(
            parse_seed_range("0..18446744073709551615"),
            Ok(range(0, u64::MAX - 1))
        );
        assert_eq!(
            parse_seed_range("18446744073709551615..=18446744073709551615"),
            Ok(SeedRange::one(u64::MAX))
        );
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
            "..=",
            "1..=",
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
        let err = parse_seed_range("6..=5").expect_err("6..=5");
        assert!(err.contains("included"), "{err}");
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
        assert_eq!(parse_seeds_per_scenario(" 20 "), Ok(20));
        assert_eq!(
            parse_seeds_per_scenario("0"),
            Err("at least 1 seed is needed".into())
        );
        for bad in ["-1", "x", ""] {
            let err = parse_seeds_per_scenario(bad).expect_err(bad);
            assert!(err.contains("expected a number of seeds"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn jobs_above_the_cores_are_clamped_and_said() {
        let (jobs, note) = bound_jobs(Some(64), 2, 1000);
        assert_eq!(jobs, 2);
        assert_eq!(
            note.as_deref(),
            Some("--jobs 64 is more than the 2 cores of this machine; clamped to 2")
        );
        // At the bound, below it, and by default: nothing to say.
        assert_eq!(bound_jobs(Some(2), 2, 1000), (2, None));
        assert_eq!(bound_jobs(Some(1), 8, 1000), (1, None));
        assert_eq!(bound_jobs(None, 8, 1000), (8, None));
        // Never more threads than seeds, never none.
        assert_eq!(bound_jobs(Some(4), 8, 3), (3, None));
        assert_eq!(bound_jobs(Some(usize::MAX), 1, 5).0, 1);
        assert_eq!(bound_jobs(None, 0, 5), (1, None));
    }

    #[test]
    fn timeouts_are_durations_within_their_bounds() {
        assert_eq!(parse_timeout("1ms"), Ok(TIMEOUT_MIN));
        assert_eq!(parse_timeout(" 2s "), Ok(Duration::from_secs(2)));
        assert_eq!(parse_timeout("24h"), Ok(TIMEOUT_MAX));
        let below = parse_timeout("0.5ms").expect_err("below the minimum");
        assert!(below.contains("1ms"), "{below}");
        assert!(parse_timeout("0s").is_err());
        let above = parse_timeout("25h").expect_err("above the maximum");
        assert!(above.contains("leave --timeout out"), "{above}");
        let bad = parse_timeout("5").expect_err("no unit");
        assert!(bad.contains("missing unit"), "{bad}");
    }
}
