//! The content of the input log: a pure function of the workload options and
//! the seed, so the `log` host and the harness's oracle agree without talking.

use crate::config::WorkloadConfig;
use crate::record::{InputRecord, Key};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::time::Duration;

/// The most batches per simulated second a source subtask reads at exactly
/// the `rate` it is told; `rate` may be at most [`max_rate`], `batch` times
/// this (`flinch-harness` refuses a faster one when it loads a scenario).
///
/// A source fetches one batch from the `log` host per round trip, so it
/// reads at most one batch per round trip whatever `rate` asks. Measured
/// under the harness's network (2 ms tick, 1 to 6 ms message latency) with
/// `flinch replay` of fault-free runs of 40,000 to 1,000,000 records over 1
/// to 8 partitions, as the slope of the completed checkpoints' source
/// offsets over simulated time (so the job's start does not count):
///
/// - asked for more than it can do, a source reads about 210 batches a
///   second, a round trip of 4.7 ms on average, whatever the batch size:
///   10,569 records/s with batches of 50, 105,691 with 500, 2,102 with 10
///   (205 batches a second with 8 partitions);
/// - with batches of 50, it honours 125 batches a second (6,250 records/s,
///   a batch every 8 ms) exactly, within the measurement (0.1 %); 143 a
///   second read 99.9 % of the rate, 167 read 99.5 %, 200 read 97.9 %: a
///   round trip is 2 to 14 ms, so a shorter period is missed now and then
///   and the source falls behind.
///
/// `tests/scenarios.rs` re-measures this (`sources_read_at_the_most_rate_they_honour`).
pub const MAX_BATCHES_PER_SECOND: u64 = 125;

/// The fastest `rate` (records per simulated second per source subtask)
/// that a source reads at exactly, with batches of `batch` records:
/// `batch` × [`MAX_BATCHES_PER_SECOND`].
pub fn max_rate(batch: u32) -> u64 {
    u64::from(batch) * MAX_BATCHES_PER_SECOND
}

/// The rate a source subtask really reads at, in records per simulated
/// second: `rate`, or [`max_rate`] if `rate` asks for more (which a
/// validated scenario never does). At least 1.
pub fn sustained_rate(config: &WorkloadConfig) -> u64 {
    config.rate.min(max_rate(config.batch)).max(1)
}

/// When a fault-free run has read its whole input: records over
/// partitions × rate, rounded up to the millisecond (saturating at
/// `u64::MAX` ms, far beyond any run a scenario may ask for).
pub fn nominal_duration(config: &WorkloadConfig) -> Duration {
    let per_second = u128::from(config.partitions) * u128::from(config.rate);
    let millis = (u128::from(config.records) * 1_000).div_ceil(per_second.max(1));
    Duration::from_millis(u64::try_from(millis).unwrap_or(u64::MAX))
}

/// How often a source subtask emits a batch: `batch` records at `rate`,
/// in whole microseconds, at least a millisecond.
pub fn batch_period(config: &WorkloadConfig) -> Duration {
    let micros = u64::from(config.batch) * 1_000_000 / config.rate.max(1);
    Duration::from_micros(micros).max(Duration::from_millis(1))
}

/// The most records any one partition holds: records over partitions,
/// rounded up (partitions get records in turn, see [`generate`]).
pub fn records_per_partition(config: &WorkloadConfig) -> u64 {
    config.records.div_ceil(u64::from(config.partitions.max(1)))
}

/// How long a source subtask takes to read `records` records of its
/// partition at its [`sustained_rate`]: one batch of `batch` records per
/// period, the first at once, plus one period for the last batch's round
/// trip; saturating at `u64::MAX` microseconds. Sources read their partitions
/// side by side, so this for the longest partition is how long they take
/// together.
pub fn read_time(config: &WorkloadConfig, records: u64) -> Duration {
    let batches = records.div_ceil(u64::from(config.batch.max(1)));
    let per_batch = u128::from(config.batch) * 1_000_000 / u128::from(sustained_rate(config));
    let micros = u128::from(batches) * per_batch;
    Duration::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
}

/// No source can have read its whole partition before this, faults or
/// not: a source's k-th batch comes no sooner than k [`batch_period`]s
/// after it started (it keeps to a fixed schedule and never bursts ahead
/// of it), so it reads to its end at the earliest one batch short of the
/// nominal duration (and a partition may hold one record less than the
/// average, hence the second period). So at any earlier moment, the
/// barrier of the job's final checkpoint (whose offsets are the input's
/// ends) has yet to reach some source.
pub fn earliest_end_of_input(config: &WorkloadConfig) -> Duration {
    nominal_duration(config).saturating_sub(2 * batch_period(config))
}

/// Every partition's records, in offset order.
pub fn generate(config: &WorkloadConfig, seed: u64) -> Vec<Vec<InputRecord>> {
    let mut rng = SmallRng::seed_from_u64(seed ^ 0x5eed_1e55_f00d);
    let weights = key_weights(config.keys, config.skew);
    let total: f64 = weights.iter().sum();
    let partitions = config.partitions.max(1);
    let per_partition =
        usize::try_from(config.records.div_ceil(u64::from(partitions))).unwrap_or(0);
    let mut out: Vec<Vec<InputRecord>> = (0..partitions)
        .map(|_| Vec::with_capacity(per_partition))
        .collect();
    // Round-robin over the partitions (record i to partition i mod
    // partitions), counted rather than divided: a division per record was
    // a visible share of a seed's time.
    let mut partition = 0u32;
    let uniform = config.skew == 0.0;
    for _ in 0..config.records {
        let u = rng.gen::<f64>();
        let key = if uniform {
            pick_uniform(weights.len(), u)
        } else {
            pick(&weights, total, u)
        };
        let log = &mut out[partition as usize];
        let offset = log.len() as u64;
        log.push(InputRecord {
            key,
            partition,
            offset,
        });
        partition += 1;
        if partition == partitions {
            partition = 0;
        }
    }
    out
}

/// Zipf-like weights: key k gets 1 / (k+1)^skew; skew 0 is uniform.
fn key_weights(keys: u32, skew: f64) -> Vec<f64> {
    (0..keys.max(1))
        .map(|k| 1.0 / f64::from(k + 1).powf(skew))
        .collect()
}

/// [`pick`] when every weight is 1 (skew 0), without the walk: there
/// `pick`'s target starts at `u × keys` and drops by exactly 1 a key (a
/// float below 2^53 minus 1 is exact), so it stops at the target's whole
/// part, or at the last key when `u × keys` rounds up to `keys`.
fn pick_uniform(keys: usize, u: f64) -> Key {
    let at = (u * keys as f64) as usize;
    at.min(keys - 1) as Key
}

fn pick(weights: &[f64], total: f64, u: f64) -> Key {
    let mut target = u * total;
    for (k, w) in weights.iter().enumerate() {
        if target < *w {
            return k as Key;
        }
        target -= w;
    }
    (weights.len() - 1) as Key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_uniform_pick_is_the_walk_over_equal_weights() {
        let mut rng = SmallRng::seed_from_u64(3);
        for keys in [1u32, 2, 3, 7, 16, 1000, 1 << 16] {
            let weights = key_weights(keys, 0.0);
            let total: f64 = weights.iter().sum();
            let edges = [0.0, 0.5, 1.0 - f64::EPSILON / 2.0, 1.0 - f64::EPSILON];
            let drawn = (0..2000).map(|_| rng.gen::<f64>());
            for u in edges.into_iter().chain(drawn) {
                let walked = pick(&weights, total, u);
                assert_eq!(
                    pick_uniform(weights.len(), u),
                    walked,
                    "{keys} keys, u = {u}"
                );
            }
        }
    }

    fn config(records: u64, keys: u32, partitions: u32, skew: f64) -> WorkloadConfig {
        WorkloadConfig {
            records,
            keys,
            partitions,
            skew,
            ..WorkloadConfig::default()
        }
    }

    #[test]
    fn same_seed_gives_the_same_log_and_offsets_are_dense() {
        let c = config(1000, 10, 3, 1.0);
        let a = generate(&c, 7);
        assert_eq!(a, generate(&c, 7));
        assert_ne!(a, generate(&c, 8));
        assert_eq!(a.iter().map(Vec::len).sum::<usize>(), 1000);
        for (p, log) in a.iter().enumerate() {
            for (i, r) in log.iter().enumerate() {
                assert_eq!((r.partition as usize, r.offset as usize), (p, i));
                assert!(r.key < 10);
            }
        }
    }

    fn paced(records: u64, rate: u64, batch: u32) -> WorkloadConfig {
        WorkloadConfig {
            records,
            rate,
            batch,
            ..WorkloadConfig::default()
        }
    }

    #[test]
    fn sources_honour_a_rate_up_to_125_batches_a_second() {
        assert_eq!(max_rate(50), 6_250);
        assert_eq!(max_rate(1), 125);
        assert_eq!(sustained_rate(&paced(1, 6_250, 50)), 6_250);
        assert_eq!(sustained_rate(&paced(1, 1_000, 50)), 1_000);
        assert_eq!(
            sustained_rate(&paced(1, 100_000, 50)),
            6_250,
            "more than they honour is not what they read"
        );
        assert_eq!(max_rate(u32::MAX), u64::from(u32::MAX) * 125, "no overflow");
    }

    #[test]
    fn reading_takes_one_period_per_batch() {
        let default = WorkloadConfig::default();
        assert_eq!(read_time(&default, 0), Duration::ZERO);
        assert_eq!(read_time(&default, 1), Duration::from_millis(50));
        assert_eq!(read_time(&default, 50), Duration::from_millis(50));
        assert_eq!(read_time(&default, 51), Duration::from_millis(100));
        assert_eq!(read_time(&default, 15_000), Duration::from_secs(15));
        // Asked for 100,000 records/s: read at 6,250, a batch per 8 ms.
        assert_eq!(
            read_time(&paced(1, 100_000, 50), 500),
            Duration::from_millis(80)
        );
        // The shortest period there is: 8 ms.
        assert_eq!(read_time(&paced(1, 125, 1), 3), Duration::from_millis(24));
        assert_eq!(read_time(&paced(1, 1_000, 1), 3), Duration::from_millis(24));
        assert_eq!(
            read_time(&paced(1, 1, u32::MAX), u64::MAX),
            Duration::from_micros(u64::MAX),
            "saturates"
        );
    }

    #[test]
    fn the_longest_partition_holds_records_over_partitions_rounded_up() {
        let mut c = paced(2_001, 1_000, 50);
        assert_eq!(records_per_partition(&c), 1_001);
        let log = generate(&c, 1);
        assert_eq!(log.iter().map(|p| p.len() as u64).max(), Some(1_001));
        c.partitions = 1;
        assert_eq!(records_per_partition(&c), 2_001);
    }

    #[test]
    fn the_nominal_duration_saturates_instead_of_overflowing() {
        assert_eq!(
            nominal_duration(&WorkloadConfig::default()),
            Duration::from_secs(1)
        );
        let huge = paced(u64::MAX, 1, 50);
        assert_eq!(nominal_duration(&huge), Duration::from_millis(u64::MAX));
    }

    #[test]
    fn skew_makes_the_first_key_hot() {
        let log = generate(&config(10_000, 50, 1, 1.5), 1);
        let hot = log[0].iter().filter(|r| r.key == 0).count();
        assert!(hot > 2_000, "key 0 had only {hot} of 10000 records");
    }
}
