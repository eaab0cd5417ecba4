//! Key groups: which subtask of a keyed vertex owns a key (the routing of
//! docs/dataflow.md), as Flink's `KeyGroupRangeAssignment` does, with FNV-1a 64
//! over the key's serialized bytes instead of Java's `hashCode` + murmur.
//!
//! The hash is fixed and documented, never `std`'s seeded `Hasher`, so a
//! run routes the same on every machine. FNV-1a comes from the `fnv` crate
//! (servo's, the standard Rust implementation, already in the dependency
//! tree): its `FnvHasher::write` is plain FNV-1a 64 over the bytes given
//! (offset basis `0xcbf29ce484222325`, prime `0x100000001b3`); the
//! [`Hasher`] trait is only its calling convention, nothing is seeded.

use fnv::FnvHasher;
use std::hash::Hasher;

/// FNV-1a 64 of `bytes` (no length prefix, unlike `Hash::hash`).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hasher = FnvHasher::default();
    hasher.write(bytes);
    hasher.finish()
}

/// The key group, in `0..max_parallelism`, of a key whose serialized form
/// (postcard, see [`crate::record::encode`]) is `key`:
/// `fnv1a64(key) mod max_parallelism`, where `max_parallelism` is Flink's
/// `maxParallelism` (`topology.max_parallelism`).
///
/// # Panics
/// If `max_parallelism` is 0, which scenario validation refuses.
pub fn key_group(key: &[u8], max_parallelism: u32) -> u32 {
    let groups = u64::from(max_parallelism);
    // The remainder is below `max_parallelism`, a u32.
    (fnv1a64(key) % groups) as u32
}

/// The subtask, in `0..parallelism`, of a vertex with `parallelism`
/// subtasks that owns key group `group`: `group × parallelism /
/// max_parallelism` (Flink's `computeOperatorIndexForKeyGroup`), so each
/// subtask owns one contiguous range of key groups. Needs `group <
/// max_parallelism` and `parallelism <= max_parallelism`, as validation
/// ensures; computed in u64, so it never overflows.
///
/// # Panics
/// If `max_parallelism` is 0, which scenario validation refuses.
pub fn subtask_of(group: u32, parallelism: u32, max_parallelism: u32) -> u32 {
    let subtask = u64::from(group) * u64::from(parallelism) / u64::from(max_parallelism);
    // Below `parallelism` when `group < max_parallelism`.
    subtask as u32
}

/// The subtask owning the key serialized as `key`: [`subtask_of`] its
/// [`key_group`].
pub fn route(key: &[u8], parallelism: u32, max_parallelism: u32) -> u32 {
    subtask_of(
        key_group(key, max_parallelism),
        parallelism,
        max_parallelism,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_matches_the_published_test_vectors() {
        // From the FNV reference (Fowler, Noll, Vo: test vectors for FNV-1a 64).
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn key_groups_split_into_contiguous_ranges_one_per_subtask() {
        // 128 key groups over 3 subtasks: 0..=42, 43..=85, 86..=127.
        let owner: Vec<u32> = (0..128).map(|g| subtask_of(g, 3, 128)).collect();
        assert_eq!(owner[0], 0);
        assert_eq!(owner[42], 0);
        assert_eq!(owner[43], 1);
        assert_eq!(owner[85], 1);
        assert_eq!(owner[86], 2);
        assert_eq!(owner[127], 2);
        assert!(owner.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn boundary_parallelisms_stay_in_range() {
        // One key group, one subtask; as many subtasks as key groups; the
        // largest values the types allow.
        assert_eq!(route(b"x", 1, 1), 0);
        for g in 0..256 {
            assert_eq!(subtask_of(g, 256, 256), g);
        }
        assert!(key_group(b"x", u32::MAX) < u32::MAX);
        assert_eq!(
            subtask_of(u32::MAX - 1, u32::MAX, u32::MAX),
            u32::MAX - 1,
            "no overflow"
        );
    }

    #[test]
    #[should_panic(expected = "divisor of zero")]
    fn no_key_groups_is_a_programming_error() {
        // Validation refuses `max_parallelism = 0`; the CLI's tests use
        // this panic as a real engine panic.
        key_group(b"x", 0);
    }
}
