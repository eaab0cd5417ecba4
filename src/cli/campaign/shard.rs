//! `--shard K/N`: which part of a campaign's (scenario, seed) space one
//! process runs, the way cargo-nextest's `--partition count:K/N` and
//! cargo-mutants' `--shard K/N` split theirs.
//!
//! The split is by seed: shard K of N runs every seed `s` with
//! `s ≡ K (mod N)`, each against every scenario of the campaign in turn
//! (round-robin), so N shards together run each (scenario, seed) exactly
//! once, whatever stops them (a seed range's end, `--minutes`). Shards are
//! 0-based. `auto/N` reads K from the batch scheduler's environment.

use flinch_harness::scenario::SeedRange;
use std::fmt;

/// The most shards a campaign is split into: more than any batch system
/// runs at once, and few enough that every shard of a range gets seeds.
pub const MAX_SHARDS: u64 = 1 << 20;

/// Kubernetes Indexed Jobs set this in each pod: the 0-based completion
/// index.
pub const K8S_INDEX: &str = "JOB_COMPLETION_INDEX";
/// Slurm job arrays set this in each task: the array index as declared
/// (`--array=1-4` gives 1 to 4).
pub const SLURM_INDEX: &str = "SLURM_ARRAY_TASK_ID";
/// Slurm's lowest index of the array: subtracted from [`SLURM_INDEX`], so
/// `--array=1-4` and `--array=0-3` both give shards 0 to 3.
pub const SLURM_MIN: &str = "SLURM_ARRAY_TASK_MIN";
/// How many tasks Slurm's array has: it must be the shard count `N`.
pub const SLURM_COUNT: &str = "SLURM_ARRAY_TASK_COUNT";
/// Slurm's step of the array (`--array=0-6:2` has 2): the index is divided
/// by it, so `--array=0-6:2` gives shards 0 to 3 too.
pub const SLURM_STEP: &str = "SLURM_ARRAY_TASK_STEP";

/// Shard `index` of `count`: `index < count <= MAX_SHARDS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

/// `--shard` as written: a number, or `auto` (from the environment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardSpec {
    Fixed(Shard),
    Auto { count: u64 },
}

impl Shard {
    /// The whole campaign, unsplit.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Whether `seed` is this shard's.
    pub fn owns(self, seed: u64) -> bool {
        seed % self.count == self.index
    }

    /// This shard's seeds of `range`, lowest first.
    pub fn seeds(self, range: SeedRange) -> impl Iterator<Item = u64> {
        let offset = (self.index + self.count - range.first() % self.count) % self.count;
        // Past the range's last seed, or past u64::MAX, there is none.
        let first = (range.first().checked_add(offset)).filter(|&first| first <= range.last());
        let step = usize::try_from(self.count).unwrap_or(usize::MAX);
        first
            .into_iter()
            .flat_map(move |first| (first..=range.last()).step_by(step))
    }

    /// How many of `range`'s seeds are this shard's (saturating: only
    /// `0..=u64::MAX` unsplit has more than a `u64` holds).
    pub fn count_in(self, range: SeedRange) -> u64 {
        // Seeds below `end` that are this shard's, minus those below the
        // first; in u128, as the end past u64::MAX is 2^64.
        let (index, count) = (u128::from(self.index), u128::from(self.count));
        let below = |end: u128| end / count + u128::from(end % count > index);
        let end = u128::from(range.last()) + 1;
        u64::try_from(below(end) - below(u128::from(range.first()))).unwrap_or(u64::MAX)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Parse `K/N` or `auto/N` (clap's value parser for `--shard`; an error
/// exits 2).
pub fn parse(text: &str) -> Result<ShardSpec, String> {
    let malformed = || format!("expected K/N (shard K of N, 0-based) or auto/N, got \"{text}\"");
    let (index, count) = text.trim().split_once('/').ok_or_else(malformed)?;
    let number = |s: &str| {
        let digits = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        s.parse::<u64>()
            .ok()
            .filter(|_| digits)
            .ok_or_else(malformed)
    };
    let count = number(count)?;
    if count == 0 {
        return Err(format!(
            "\"{text}\": a campaign splits into at least 1 shard"
        ));
    }
    if count > MAX_SHARDS {
        return Err(format!("\"{text}\": at most {MAX_SHARDS} shards"));
    }
    if index == "auto" {
        return Ok(ShardSpec::Auto { count });
    }
    let index = number(index)?;
    if index >= count {
        return Err(format!(
            "\"{text}\": shards are numbered from 0, so shard {index} of {count} does not exist \
             (the last is {}/{count})",
            count - 1
        ));
    }
    Ok(ShardSpec::Fixed(Shard { index, count }))
}

impl ShardSpec {
    /// The shard, reading `auto`'s index through `env` (the process's
    /// environment, or a test's): [`K8S_INDEX`] if set, else
    /// [`SLURM_INDEX`] minus [`SLURM_MIN`] (0 when unset).
    pub fn resolve(self, env: impl Fn(&str) -> Option<String>) -> Result<Shard, String> {
        let count = match self {
            ShardSpec::Fixed(shard) => return Ok(shard),
            ShardSpec::Auto { count } => count,
        };
        let read = |name: &str| -> Result<Option<u64>, String> {
            match env(name) {
                None => Ok(None),
                Some(v) => v.trim().parse::<u64>().map(Some).map_err(|_| {
                    format!("--shard auto/{count}: {name}={v:?} is not a whole number")
                }),
            }
        };
        let index = if let Some(index) = read(K8S_INDEX)? {
            (index, K8S_INDEX.to_owned())
        } else if let Some(task) = read(SLURM_INDEX)? {
            let min = read(SLURM_MIN)?.unwrap_or(0);
            let step = read(SLURM_STEP)?.unwrap_or(1).max(1);
            let offset = task.checked_sub(min).ok_or_else(|| {
                format!("--shard auto/{count}: {SLURM_INDEX}={task} is below {SLURM_MIN}={min}")
            })?;
            if offset % step != 0 {
                return Err(format!(
                    "--shard auto/{count}: {SLURM_INDEX}={task} is not {SLURM_MIN}={min} plus a \
                     multiple of {SLURM_STEP}={step}: a campaign needs an array of evenly spaced \
                     indices (--array=A-B or A-B:S)"
                ));
            }
            if let Some(tasks) = read(SLURM_COUNT)?.filter(|t| *t != count) {
                return Err(format!(
                    "--shard auto/{count}: the Slurm array has {SLURM_COUNT}={tasks} tasks, so \
                     {} shard{} would never run (or run twice): pass --shard auto/{tasks}",
                    count.abs_diff(tasks),
                    if count.abs_diff(tasks) == 1 { "" } else { "s" }
                ));
            }
            (
                offset / step,
                format!("({SLURM_INDEX} - {SLURM_MIN}) / {SLURM_STEP}"),
            )
        } else {
            return Err(format!(
                "--shard auto/{count}: neither {K8S_INDEX} (a Kubernetes Indexed Job) nor \
                 {SLURM_INDEX} (a Slurm array) is set; pass the index: --shard K/{count}"
            ));
        };
        let (index, from) = index;
        if index >= count {
            return Err(format!(
                "--shard auto/{count}: {from} is {index}, but shards are 0 to {}",
                count - 1
            ));
        }
        Ok(Shard { index, count })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(text: &str) -> Shard {
        match parse(text) {
            Ok(ShardSpec::Fixed(s)) => s,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn shard_specs_parse_and_bad_ones_say_why() {
        assert_eq!(fixed("0/4"), Shard { index: 0, count: 4 });
        assert_eq!(fixed(" 3/4 "), Shard { index: 3, count: 4 });
        assert_eq!(fixed("0/1"), Shard::ALL);
        assert_eq!(parse("auto/8"), Ok(ShardSpec::Auto { count: 8 }));
        for (bad, says) in [
            ("3/2", "does not exist"),
            ("2/2", "does not exist"),
            ("0/0", "at least 1"),
            ("auto/0", "at least 1"),
            ("1", "expected K/N"),
            ("-1/2", "expected K/N"),
            ("a/2", "expected K/N"),
            ("1/+2", "expected K/N"),
            ("", "expected K/N"),
            ("0/2/3", "expected K/N"),
            ("0/99999999999999999999", "expected K/N"),
            ("0/2000000", "at most"),
        ] {
            let err = parse(bad).expect_err(bad);
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn n_shards_own_every_seed_exactly_once() {
        for count in 1..=7 {
            let max = u64::MAX;
            for (first, last) in [(0, 49), (3, 3), (13, 39), (0, 0), (max - 20, max - 1)]
                .into_iter()
                .chain([(max - 20, max), (max, max)])
            {
                let range = SeedRange::new(first, last).expect("not empty");
                let mut owners = vec![0; range.count() as usize];
                for index in 0..count {
                    let shard = Shard { index, count };
                    let seeds: Vec<u64> = shard.seeds(range).collect();
                    assert_eq!(seeds.len() as u64, shard.count_in(range));
                    for s in seeds {
                        assert!(shard.owns(s) && range.contains(s), "{shard}: {s}");
                        owners[(s - range.first()) as usize] += 1;
                    }
                }
                assert!(owners.iter().all(|&n| n == 1), "{count}: {range:?}");
            }
        }
    }

    #[test]
    fn auto_reads_the_schedulers_index() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let auto = ShardSpec::Auto { count: 4 };
        assert_eq!(
            auto.resolve(env(&[(K8S_INDEX, "2")])),
            Ok(Shard { index: 2, count: 4 })
        );
        assert_eq!(
            auto.resolve(env(&[(SLURM_INDEX, "4"), (SLURM_MIN, "1")])),
            Ok(Shard { index: 3, count: 4 })
        );
        assert_eq!(
            auto.resolve(env(&[(SLURM_INDEX, "0")])),
            Ok(Shard { index: 0, count: 4 })
        );
        assert_eq!(
            auto.resolve(env(&[
                (SLURM_INDEX, "6"),
                (SLURM_MIN, "0"),
                (SLURM_STEP, "2")
            ])),
            Ok(Shard { index: 3, count: 4 })
        );
        for (vars, says) in [
            (&[][..], "neither"),
            (&[(K8S_INDEX, "4")][..], "shards are 0 to 3"),
            (&[(K8S_INDEX, "x")][..], "not a whole number"),
            (&[(SLURM_INDEX, "1"), (SLURM_MIN, "2")][..], "below"),
            (
                &[(SLURM_INDEX, "3"), (SLURM_STEP, "2")][..],
                "evenly spaced",
            ),
            (
                &[(SLURM_INDEX, "1"), (SLURM_COUNT, "8")][..],
                "SLURM_ARRAY_TASK_COUNT=8",
            ),
        ] {
            let err = auto.resolve(env(vars)).expect_err(says);
            assert!(err.contains(says), "{err}");
        }
        let fixed = ShardSpec::Fixed(Shard { index: 1, count: 2 });
        assert_eq!(
            fixed.resolve(env(&[(K8S_INDEX, "0")])),
            Ok(Shard { index: 1, count: 2 })
        );
    }
}
