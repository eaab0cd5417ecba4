//! Leader election by lease: what the `ha` host keeps (the role of
//! ZooKeeper's leader latch or a Kubernetes `Lease` object in Flink's
//! high-availability services), and how long a holder may act on a lease.
//!
//! Pure data and functions, no IO: the `ha` host serves a [`LeaseTable`],
//! and a jobmanager uses [`act_until`] to stop acting before its lease can
//! have been granted to another.
//!
//! - A lease is granted to one candidate at a time, for `ttl` on `ha`'s
//!   clock. Each grant to a new holder raises the leader epoch, which only
//!   grows: it is the fencing token the holder attaches to everything it
//!   writes (Kleppmann, "How to do distributed locking", 2016), so a write
//!   of a deposed leader that lands late is refused.
//! - A holder renews before its lease runs out; a renewal keeps the epoch.
//! - Clocks drift (`io::clock`), and a process can pause. A holder counts
//!   its lease from when it *sent* the request (the grant came after), on
//!   its own clock, and shortens it by the worst drift of either clock
//!   ([`act_until`]). A pause can still outlast the lease between a check
//!   and an action: only the epoch fences that.

use std::time::Duration;

/// One lease's holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub candidate: String,
    pub epoch: u64,
    /// On `ha`'s clock.
    pub expires: Duration,
}

/// What a request for the lease got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// The caller holds the lease with `epoch` until `expires` (`ha`'s
    /// clock): newly, or renewed if it already held it.
    Granted { epoch: u64, expires: Duration },
    /// Another candidate holds it.
    Held { holder: Holder },
}

/// The lease `ha` keeps: who holds it, and the newest epoch ever granted.
/// `epoch` must survive `ha`'s restarts (it is the fencing token); the
/// holder need not (a restarted `ha` grants a fresh lease once the old one
/// could have expired: see [`LeaseTable::recovered`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaseTable {
    pub holder: Option<Holder>,
    pub epoch: u64,
}

impl LeaseTable {
    /// The table of a restarted `ha`, which knows `epoch` from its disk
    /// but not whether a lease is still held: it treats one as held by
    /// nobody in particular until `now + ttl`, so that no lease is granted
    /// while one granted before the restart may still run.
    pub fn recovered(epoch: u64, now: Duration, ttl: Duration) -> LeaseTable {
        LeaseTable {
            holder: Some(Holder {
                candidate: String::new(),
                epoch,
                expires: now + ttl,
            }),
            epoch,
        }
    }

    /// `candidate` asks for the lease at `now` (`ha`'s clock) for `ttl`.
    pub fn acquire(&mut self, candidate: &str, now: Duration, ttl: Duration) -> Grant {
        match &mut self.holder {
            Some(holder) if holder.expires > now && holder.candidate == candidate => {
                holder.expires = now + ttl;
                Grant::Granted {
                    epoch: holder.epoch,
                    expires: holder.expires,
                }
            }
            Some(holder) if holder.expires > now => Grant::Held {
                holder: holder.clone(),
            },
            _ => {
                self.epoch += 1;
                let holder = Holder {
                    candidate: candidate.to_owned(),
                    epoch: self.epoch,
                    expires: now + ttl,
                };
                self.holder = Some(holder);
                Grant::Granted {
                    epoch: self.epoch,
                    expires: now + ttl,
                }
            }
        }
    }

    /// The holder at `now`, if the lease has not run out.
    pub fn leader(&self, now: Duration) -> Option<&Holder> {
        self.holder
            .as_ref()
            .filter(|h| h.expires > now && !h.candidate.is_empty())
    }
}

/// Until when, on the holder's own clock, a holder may act on a lease of
/// `ttl` that it asked for at `sent` (its clock), when every clock may run
/// up to `max_drift` fast or slow: the lease lasts `ttl` on `ha`'s clock,
/// which may run fast (`1 + max_drift`) while the holder's runs slow
/// (`1 - max_drift`), so the holder counts `ttl * (1 - d) / (1 + d)` from
/// `sent`, less `margin` for the time between its check and its action.
/// `sent` itself if nothing is left.
pub fn act_until(sent: Duration, ttl: Duration, max_drift: f64, margin: Duration) -> Duration {
    let d = max_drift.clamp(0.0, 0.99);
    let safe = ttl.mul_f64((1.0 - d) / (1.0 + d));
    sent + safe.saturating_sub(margin)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_lease_goes_to_one_candidate_until_it_runs_out_and_each_new_holder_gets_a_higher_epoch() {
        let mut table = LeaseTable::default();
        let ttl = ms(1_000);
        assert_eq!(
            table.acquire("jobmanager-1", ms(0), ttl),
            Grant::Granted {
                epoch: 1,
                expires: ms(1_000)
            }
        );
        // Held: the other candidate waits.
        assert!(matches!(
            table.acquire("jobmanager-2", ms(500), ttl),
            Grant::Held { holder } if holder.candidate == "jobmanager-1" && holder.epoch == 1
        ));
        // A renewal keeps the epoch and moves the expiry.
        assert_eq!(
            table.acquire("jobmanager-1", ms(900), ttl),
            Grant::Granted {
                epoch: 1,
                expires: ms(1_900)
            }
        );
        // Run out (exactly at the expiry): the next candidate gets epoch 2.
        assert_eq!(
            table.acquire("jobmanager-2", ms(1_900), ttl),
            Grant::Granted {
                epoch: 2,
                expires: ms(2_900)
            }
        );
        assert_eq!(table.leader(ms(2_000)).map(|h| h.epoch), Some(2));
        assert_eq!(table.leader(ms(2_900)), None);
        // The deposed holder coming back is a new holder: a higher epoch.
        assert!(matches!(
            table.acquire("jobmanager-1", ms(3_000), ttl),
            Grant::Granted { epoch: 3, .. }
        ));
    }

    #[test]
    fn a_restarted_ha_grants_nothing_while_a_lease_from_before_may_run() {
        let ttl = ms(1_000);
        let mut table = LeaseTable::recovered(4, ms(10_000), ttl);
        assert_eq!(table.leader(ms(10_500)), None, "nobody known to lead");
        assert!(matches!(
            table.acquire("jobmanager-2", ms(10_500), ttl),
            Grant::Held { .. }
        ));
        assert!(matches!(
            table.acquire("jobmanager-2", ms(11_000), ttl),
            Grant::Granted { epoch: 5, .. }
        ));
    }

    #[test]
    fn a_holder_stops_before_the_lease_can_run_out_on_any_pair_of_drifting_clocks() {
        let (ttl, margin, max_drift) = (ms(3_000), ms(50), 0.5);
        let until = act_until(ms(100), ttl, max_drift, margin);
        assert_eq!(until, ms(100 + 1_000 - 50));
        // Real time the holder acts: (until - sent) on a clock running
        // 1 - d; real time the lease lasts at `ha`: ttl on a clock running
        // 1 + d, from no earlier than `sent`.
        for holder_drift in [-0.5, -0.2, 0.0, 0.3, 0.5] {
            for ha_drift in [-0.5, 0.0, 0.5] {
                let acting = (until - ms(100)).as_secs_f64() / (1.0 + holder_drift);
                let lease = ttl.as_secs_f64() / (1.0 + ha_drift);
                assert!(acting < lease, "{holder_drift} {ha_drift}");
            }
        }
        assert_eq!(act_until(ms(7), ms(10), 0.5, ms(50)), ms(7));
    }
}
