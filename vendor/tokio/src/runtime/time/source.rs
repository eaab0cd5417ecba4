use super::MAX_SAFE_MILLIS_DURATION;
use crate::time::{Clock, Duration, Instant};

/// A structure which handles conversion from Instants to `u64` timestamps.
#[derive(Debug)]
pub(crate) struct TimeSource {
    start_time: Instant,
    /// flinch patch (PATCHES.md, 10): `start_time` as the clock's
    /// `(origin, nanoseconds since it)`, for `now` of a frozen clock.
    #[cfg(feature = "test-util")]
    start_nanos: (std::time::Instant, Option<u64>),
}

impl TimeSource {
    pub(crate) fn new(clock: &Clock) -> Self {
        let start_time = clock.now();
        Self {
            start_time,
            #[cfg(feature = "test-util")]
            start_nanos: (
                clock.origin(),
                u64::try_from(
                    start_time
                        .into_std()
                        .duration_since(clock.origin())
                        .as_nanos(),
                )
                .ok(),
            ),
        }
    }

    pub(crate) fn deadline_to_tick(&self, t: Instant) -> u64 {
        // Round up to the end of a ms
        self.instant_to_tick(t + Duration::from_nanos(999_999))
    }

    pub(crate) fn instant_to_tick(&self, t: Instant) -> u64 {
        // round up
        let dur: Duration = t.saturating_duration_since(self.start_time);
        let ms = dur
            .as_millis()
            .try_into()
            .unwrap_or(MAX_SAFE_MILLIS_DURATION);
        ms.min(MAX_SAFE_MILLIS_DURATION)
    }

    pub(crate) fn tick_to_duration(&self, t: u64) -> Duration {
        Duration::from_millis(t)
    }

    pub(crate) fn now(&self, clock: &Clock) -> u64 {
        // flinch patch (PATCHES.md, 10): a frozen clock's offset from its
        // origin, less the start's, in whole milliseconds: what the
        // `Instant` arithmetic below gives, without it.
        #[cfg(feature = "test-util")]
        if let (Some(start), Some(now)) = (self.start_nanos.1, clock.frozen_nanos()) {
            if clock.origin() == self.start_nanos.0 {
                let ms = now.saturating_sub(start) / 1_000_000;
                return ms.min(MAX_SAFE_MILLIS_DURATION);
            }
        }
        self.instant_to_tick(clock.now())
    }

    // flinch patch (PATCHES.md): also for `Handle::next_expiration`.
    #[cfg(any(test, feature = "test-util"))]
    #[allow(dead_code)]
    pub(super) fn start_time(&self) -> Instant {
        self.start_time
    }
}
