//! The content of the input log: a pure function of the workload options and
//! the seed, so the `log` host and the harness's oracle agree without talking.

use crate::config::WorkloadConfig;
use crate::record::{InputRecord, Key};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::time::Duration;

/// When a fault-free run has read its whole input: records over
/// partitions × rate, rounded up to the millisecond.
pub fn nominal_duration(config: &WorkloadConfig) -> Duration {
    let per_second = u64::from(config.partitions) * config.rate;
    Duration::from_millis((config.records * 1_000).div_ceil(per_second.max(1)))
}

/// How often a source subtask emits a batch: `batch` records at `rate`.
pub fn batch_period(config: &WorkloadConfig) -> Duration {
    let micros = u64::from(config.batch) * 1_000_000 / config.rate.max(1);
    Duration::from_micros(micros).max(Duration::from_millis(1))
}

/// No source can have read its whole partition before this, faults or
/// not: a source emits a batch per [`batch_period`] and never faster, so
/// it reads to its end at the earliest one batch short of the nominal
/// duration (and a partition may hold one record less than the average,
/// hence the second period). So at any earlier moment, the barrier of the
/// job's final checkpoint (whose offsets are the input's ends) has yet to
/// reach some source.
pub fn earliest_end_of_input(config: &WorkloadConfig) -> Duration {
    nominal_duration(config).saturating_sub(2 * batch_period(config))
}

/// Every partition's records, in offset order.
pub fn generate(config: &WorkloadConfig, seed: u64) -> Vec<Vec<InputRecord>> {
    let mut rng = SmallRng::seed_from_u64(seed ^ 0x5eed_1e55_f00d);
    let weights = key_weights(config.keys, config.skew);
    let total: f64 = weights.iter().sum();
    let partitions = config.partitions.max(1);
    let mut out: Vec<Vec<InputRecord>> = (0..partitions).map(|_| Vec::new()).collect();
    for i in 0..config.records {
        let partition = (i % u64::from(partitions)) as u32;
        let key = pick(&weights, total, rng.gen::<f64>());
        let log = &mut out[partition as usize];
        let offset = log.len() as u64;
        log.push(InputRecord {
            key,
            partition,
            offset,
        });
    }
    out
}

/// Zipf-like weights: key k gets 1 / (k+1)^skew; skew 0 is uniform.
fn key_weights(keys: u32, skew: f64) -> Vec<f64> {
    (0..keys.max(1))
        .map(|k| 1.0 / f64::from(k + 1).powf(skew))
        .collect()
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

    #[test]
    fn skew_makes_the_first_key_hot() {
        let log = generate(&config(10_000, 50, 1, 1.5), 1);
        let hot = log[0].iter().filter(|r| r.key == 0).count();
        assert!(hot > 2_000, "key 0 had only {hot} of 10000 records");
    }
}
