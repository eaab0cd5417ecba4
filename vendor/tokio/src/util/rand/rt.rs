use super::{FastRand, RngSeed};

use crate::loom::sync::atomic::{AtomicU64, Ordering};

/// A deterministic generator for seeds (and other generators).
///
/// Given the same initial seed, the generator will output the same sequence of seeds.
///
/// flinch patch (PATCHES.md, 12): the generator's state, the two halves of
/// a `FastRand`, is kept in one atomic `u64` (`one` in the high half) and
/// advanced with a compare-and-swap, instead of in a `Mutex<FastRand>`.
/// Every `block_on` draws a seed from its runtime's generator, and a
/// simulator enters a runtime thousands of times a simulated second: the
/// lock and unlock, with the mutex's poison checks, were about 1 % of the
/// instructions of a flinch seed. The sequence of seeds is the same; two
/// threads drawing at once each get a different seed of it, as under the
/// mutex.
#[derive(Debug)]
pub(crate) struct RngSeedGenerator {
    /// `FastRand { one, two }` as `(one << 32) | two`.
    state: AtomicU64,
}

impl RngSeedGenerator {
    /// Returns a new generator from the provided seed.
    pub(crate) fn new(seed: RngSeed) -> Self {
        Self {
            state: AtomicU64::new(pack(FastRand::from_seed(seed))),
        }
    }

    /// Returns the next seed in the sequence.
    pub(crate) fn next_seed(&self) -> RngSeed {
        let mut current = self.state.load(Ordering::Relaxed);
        loop {
            let mut rng = unpack(current);
            let s = rng.fastrand();
            let r = rng.fastrand();
            match self.state.compare_exchange_weak(
                current,
                pack(rng),
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return RngSeed::from_pair(s, r),
                Err(now) => current = now,
            }
        }
    }

    /// Directly creates a generator using the next seed.
    pub(crate) fn next_generator(&self) -> Self {
        RngSeedGenerator::new(self.next_seed())
    }
}

/// flinch patch (PATCHES.md, 12): a generator's state as one `u64`.
fn pack(rng: FastRand) -> u64 {
    (u64::from(rng.one) << 32) | u64::from(rng.two)
}

/// flinch patch (PATCHES.md, 12): the state [`pack`] made.
fn unpack(state: u64) -> FastRand {
    FastRand {
        one: (state >> 32) as u32,
        two: state as u32,
    }
}

impl FastRand {
    /// Replaces the state of the random number generator with the provided seed, returning
    /// the seed that represents the previous state of the random number generator.
    ///
    /// The random number generator will become equivalent to one created with
    /// the same seed.
    pub(crate) fn replace_seed(&mut self, seed: RngSeed) -> RngSeed {
        let old_seed = RngSeed::from_pair(self.one, self.two);

        self.one = seed.s;
        self.two = seed.r;

        old_seed
    }
}

/// flinch patch (PATCHES.md, 12): the atomic generator gives the sequence the
/// mutex gave: each seed two draws of one `FastRand`.
#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn seeds_are_the_mutex_generators_sequence() {
        for (s, r) in [(0, 0), (1, 2), (u32::MAX, 7), (0x5eed, u32::MAX)] {
            let generator = RngSeedGenerator::new(RngSeed::from_pair(s, r));
            let mut reference = FastRand::from_seed(RngSeed::from_pair(s, r));
            for _ in 0..1000 {
                let (a, b) = (reference.fastrand(), reference.fastrand());
                let seed = generator.next_seed();
                let expected = RngSeed::from_pair(a, b);
                assert_eq!((seed.s, seed.r), (expected.s, expected.r));
            }
            // A generator made from the next seed starts where a mutex's did.
            let child = generator.next_generator();
            let (a, b) = (reference.fastrand(), reference.fastrand());
            let mut child_reference = FastRand::from_seed(RngSeed::from_pair(a, b));
            let (c, d) = (child_reference.fastrand(), child_reference.fastrand());
            let seed = child.next_seed();
            assert_eq!((seed.s, seed.r), (c, d));
        }
    }
}
