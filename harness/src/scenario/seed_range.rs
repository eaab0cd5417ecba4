//! [`SeedRange`]: the seeds a sweep runs, `[seeds] range` and `--seeds`.

use std::fmt;
use std::ops::{Range, RangeInclusive};

/// A range of seeds, never empty: its first and its last seed, both run.
/// Written `A..B` (B exclusive), or `A..=B` (B included), which alone can
/// name the seed 2^64 - 1; [`fmt::Display`] writes the first form unless
/// the last seed is 2^64 - 1, so that what it writes always reads back as
/// the same seeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SeedRange {
    first: u64,
    last: u64,
}

impl SeedRange {
    /// Seeds `first` to `last`, both included; `None` if `last < first`.
    pub const fn new(first: u64, last: u64) -> Option<SeedRange> {
        if first <= last {
            Some(SeedRange { first, last })
        } else {
            None
        }
    }

    /// The one seed `seed`.
    pub const fn one(seed: u64) -> SeedRange {
        SeedRange {
            first: seed,
            last: seed,
        }
    }

    /// The seeds of a half-open `range`; `None` if it is empty.
    pub fn from_exclusive(range: Range<u64>) -> Option<SeedRange> {
        SeedRange::new(range.start, range.end.checked_sub(1)?)
    }

    pub fn first(self) -> u64 {
        self.first
    }

    pub fn last(self) -> u64 {
        self.last
    }

    /// How many seeds after the first: one less than their count, which
    /// for `0..=18446744073709551615` would not fit in a `u64`.
    pub fn span(self) -> u64 {
        self.last - self.first
    }

    /// How many seeds, saturating at `u64::MAX` (only `0..=u64::MAX`
    /// has one more).
    pub fn count(self) -> u64 {
        self.span().saturating_add(1)
    }

    /// The seeds, lowest first.
    pub fn seeds(self) -> RangeInclusive<u64> {
        self.first..=self.last
    }

    pub fn contains(self, seed: u64) -> bool {
        self.seeds().contains(&seed)
    }
}

impl IntoIterator for SeedRange {
    type Item = u64;
    type IntoIter = RangeInclusive<u64>;

    fn into_iter(self) -> RangeInclusive<u64> {
        self.seeds()
    }
}

impl fmt::Display for SeedRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.last.checked_add(1) {
            Some(end) => write!(f, "{}..{end}", self.first),
            None => write!(f, "{}..={}", self.first, self.last),
        }
    }
}

/// Parse a seed range: `"A..B"` (B exclusive, A < B) or `"A..=B"` (B
/// included, A <= B), each bound a whole number from 0 to 2^64 - 1 in
/// digits only, as `[seeds] range` and `--seeds` write it.
pub fn parse_seed_range(text: &str) -> Result<SeedRange, String> {
    let malformed =
        || format!("expected a seed range like \"0..100\" or \"0..=99\", got \"{text}\"");
    let (start, end, inclusive) = match text.split_once("..=") {
        Some((start, end)) => (start, end, true),
        None => {
            let (start, end) = text.split_once("..").ok_or_else(malformed)?;
            (start, end, false)
        }
    };
    let bound = |n: &str| {
        if n.bytes().all(|b| b.is_ascii_digit()) {
            n.parse::<u64>().map_err(|_| malformed())
        } else {
            Err(malformed())
        }
    };
    let (start, end) = (bound(start)?, bound(end)?);
    let range = if inclusive {
        SeedRange::new(start, end)
    } else {
        SeedRange::from_exclusive(start..end)
    };
    range.ok_or_else(|| match inclusive {
        true => format!(
            "seed range \"{text}\" is empty: its end is included, so it must be at least its start"
        ),
        false => format!(
            "seed range \"{text}\" is empty: its end is exclusive, so it must be greater than its \
             start (or write A..=B to include B)"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(first: u64, last: u64) -> SeedRange {
        SeedRange::new(first, last).expect("first <= last")
    }

    #[test]
    fn both_forms_parse_and_say_the_same_seeds() {
        assert_eq!(parse_seed_range("0..100"), Ok(range(0, 99)));
        assert_eq!(parse_seed_range("0..=99"), Ok(range(0, 99)));
        assert_eq!(parse_seed_range("7..8"), Ok(SeedRange::one(7)));
        assert_eq!(parse_seed_range("7..=7"), Ok(SeedRange::one(7)));
        let max = u64::MAX;
        assert_eq!(
            parse_seed_range(&format!("{max}..={max}")),
            Ok(SeedRange::one(max))
        );
        assert_eq!(
            parse_seed_range(&format!("0..{max}")),
            Ok(range(0, max - 1))
        );
        assert_eq!(parse_seed_range(&format!("0..={max}")), Ok(range(0, max)));
    }

    #[test]
    fn every_range_is_written_so_that_it_reads_back_the_same() {
        let max = u64::MAX;
        for (range, text) in [
            (SeedRange::one(0), "0..1"),
            (range(5, 9), "5..10"),
            (
                SeedRange::one(max - 1),
                "18446744073709551614..18446744073709551615",
            ),
            (
                SeedRange::one(max),
                "18446744073709551615..=18446744073709551615",
            ),
            (range(0, max), "0..=18446744073709551615"),
        ] {
            assert_eq!(range.to_string(), text);
            assert_eq!(parse_seed_range(text), Ok(range), "{text}");
        }
    }

    #[test]
    fn counts_and_seeds_at_the_top_do_not_overflow() {
        let max = u64::MAX;
        assert_eq!(SeedRange::one(max).count(), 1);
        assert_eq!(SeedRange::one(max).seeds().collect::<Vec<_>>(), [max]);
        assert_eq!(range(0, max).span(), max);
        assert_eq!(range(0, max).count(), max);
        assert_eq!(range(3, 5).count(), 3);
        assert!(range(3, 5).contains(5) && !range(3, 5).contains(6));
        assert_eq!(SeedRange::from_exclusive(5..5), None);
        assert_eq!(SeedRange::new(6, 5), None);
    }

    #[test]
    fn malformed_and_empty_ranges_are_refused_saying_why() {
        for malformed in [
            "",
            "0",
            "0..",
            "..5",
            "0..=",
            "..=5",
            "a..b",
            "-1..5",
            "+1..5",
            " 0..5",
            "0..= 5",
            "1..2..3",
            "1..=2..=3",
            "0..18446744073709551616",
        ] {
            let error = parse_seed_range(malformed).expect_err(malformed);
            assert!(
                error.starts_with("expected a seed range like \"0..100\" or \"0..=99\", got"),
                "{malformed:?}: {error}"
            );
        }
        let error = parse_seed_range("5..5").expect_err("5..5");
        assert!(error.contains("is empty: its end is exclusive"), "{error}");
        let error = parse_seed_range("5..=4").expect_err("5..=4");
        assert!(error.contains("is empty: its end is included"), "{error}");
    }
}
