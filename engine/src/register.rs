//! The register of completed checkpoints: the one authoritative record of
//! which checkpoints a recovery may restore, kept in `store` as a single
//! versioned blob that is only ever replaced by compare-and-set.
//!
//! Follows Flink's `CompletedCheckpointStore` behind its high-availability
//! services (`DefaultCompletedCheckpointStore` over a `StateHandleStore`):
//! a checkpoint is completed when the register names it, not when its
//! metadata file exists. A metadata write that lands after the coordinator
//! gave the checkpoint up is garbage, because the register never names it.
//!
//! The protocol (see `hosts/jobmanager.rs` for the IO around it):
//! - a completion writes the metadata durably, then swaps in a register
//!   that names it (`with_completed`), expecting the version it last saw;
//! - every deploy, and so every jobmanager start, first *fences* the
//!   register: a swap that only records the new job attempt (`fenced`).
//!   A swap still in flight from an older attempt then fails on the
//!   version, so it can never name a checkpoint after the fence;
//! - a completion whose swap times out has an unknown outcome: it is neither
//!   completed nor aborted until the fence reads the register back
//!   ([`Register::names`]).
//!
//! Pure data and functions: no IO here.

use crate::text;
use serde::{Deserialize, Serialize};

/// The register's name in `store`.
pub const REGISTER_BLOB: &str = "job/checkpoints";

/// A blob as the store keeps it for compare-and-set: `version` counts the
/// swaps that wrote it (0 is "never written", with no bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Versioned {
    pub version: u64,
    #[serde(with = "serde_bytes")]
    pub bytes: Option<Vec<u8>>,
}

/// One retained completed checkpoint: where its metadata is and the crc32 of
/// the metadata's bytes, so a recovery never trusts a file the register did
/// not vouch for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredCheckpoint {
    pub checkpoint: u64,
    /// The metadata blob's name in `store`.
    pub metadata: String,
    /// crc32 of the metadata blob's bytes.
    pub crc: u32,
    /// Whether the job owns it and deletes it once a newer checkpoint
    /// subsumes it (FLIP-193): true for its own checkpoints; false for a
    /// savepoint (the user's), for a checkpoint a resumed run restored in
    /// restore mode `no-claim`, and for the other checkpoints a resumed run
    /// found of the runs before it (their job's, left alone).
    pub owned: bool,
}

/// The register's content. Its version lives beside it ([`Versioned`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Register {
    /// The job attempt that last fenced the register: the next attempt is
    /// numbered above it.
    pub epoch: u64,
    /// The retained completed checkpoints, oldest first.
    pub checkpoints: Vec<RegisteredCheckpoint>,
    /// No checkpoint id below this was ever handed out by a jobmanager that
    /// wrote the register (Flink's `CheckpointIDCounter`): a restarted
    /// jobmanager numbers on from here, not from the latest completed
    /// checkpoint, so an aborted checkpoint's id is not reused.
    pub next_checkpoint: u64,
    /// The run of the job's lifecycle that last fenced the register
    /// ([`crate::config::JobConfig::run`]): a run's first fence applies its
    /// restore mode.
    pub run: u32,
}

impl Register {
    /// The register after `completed` joins it, keeping the newest
    /// `retained` checkpoints (at least one); also returns those it drops,
    /// whose data may then be deleted.
    pub fn with_completed(
        &self,
        completed: RegisteredCheckpoint,
        retained: u32,
    ) -> (Register, Vec<RegisteredCheckpoint>) {
        let completed_id = completed.checkpoint;
        let mut checkpoints = self.checkpoints.clone();
        checkpoints.push(completed);
        let keep = (retained.max(1) as usize).min(checkpoints.len());
        let dropped = checkpoints.drain(..checkpoints.len() - keep).collect();
        let next = Register {
            epoch: self.epoch,
            next_checkpoint: self.next_checkpoint.max(completed_id + 1),
            checkpoints,
            run: self.run,
        };
        (next, dropped)
    }

    /// The register fenced by job attempt `epoch` of lifecycle run `run`:
    /// the same checkpoints, the new attempt recorded, and ids below
    /// `next_checkpoint` used up. The first fence of a resumed run (`run`
    /// above the register's) gives up the checkpoints of the runs before
    /// it, the one it restores (the newest) excepted, which it owns with
    /// restore mode `claim` (Flink's `RestoreMode`).
    pub fn fenced(
        &self,
        epoch: u64,
        next_checkpoint: u64,
        run: u32,
        mode: crate::config::RestoreMode,
    ) -> Register {
        let mut checkpoints = self.checkpoints.clone();
        if run > self.run {
            let newest = checkpoints.len().saturating_sub(1);
            for (i, c) in checkpoints.iter_mut().enumerate() {
                c.owned = i == newest && mode == crate::config::RestoreMode::Claim;
            }
        }
        Register {
            epoch,
            checkpoints,
            next_checkpoint: self.next_checkpoint.max(next_checkpoint),
            run: self.run.max(run),
        }
    }

    /// Whether the job may delete `checkpoint` once it is no longer
    /// retained: it owns it, or the register does not name it.
    pub fn owns(&self, checkpoint: u64) -> bool {
        (self.checkpoints.iter())
            .filter(|c| c.checkpoint == checkpoint)
            .all(|c| c.owned)
    }

    /// Whether the register names `checkpoint` with exactly this metadata:
    /// the read-back that decides a completion of unknown outcome.
    pub fn names(&self, checkpoint: &RegisteredCheckpoint) -> bool {
        self.checkpoints.contains(checkpoint)
    }

    /// The ids of the retained checkpoints, oldest first.
    pub fn ids(&self) -> Vec<u64> {
        self.checkpoints.iter().map(|c| c.checkpoint).collect()
    }
}

/// The metadata blob's name of checkpoint `checkpoint` taken by job attempt
/// `epoch`. The attempt is part of the name, so a late write of an older
/// attempt never overwrites metadata the register names.
pub fn metadata_name(checkpoint: u64, epoch: u64) -> String {
    // What `format!("meta/{checkpoint:010}-{epoch}")` writes.
    let mut name = String::with_capacity(40);
    name.push_str("meta/");
    text::push_padded(&mut name, checkpoint, 10);
    name.push('-');
    text::push_uint(&mut name, epoch);
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RestoreMode;

    fn entry(checkpoint: u64) -> RegisteredCheckpoint {
        RegisteredCheckpoint {
            checkpoint,
            metadata: metadata_name(checkpoint, 1),
            crc: checkpoint as u32,
            owned: true,
        }
    }

    #[test]
    fn a_completion_keeps_the_newest_retained_and_returns_the_rest() {
        let mut register = Register::default().fenced(1, 0, 0, RestoreMode::Claim);
        let mut dropped_all = vec![];
        for id in 1..=4 {
            let (next, dropped) = register.with_completed(entry(id), 2);
            register = next;
            dropped_all.extend(dropped);
        }
        assert_eq!(register.ids(), vec![3, 4]);
        assert_eq!(dropped_all, vec![entry(1), entry(2)]);
        assert_eq!(register.epoch, 1, "a completion keeps the fence");
    }

    #[test]
    fn retained_zero_still_keeps_the_latest() {
        let (next, dropped) = Register::default().with_completed(entry(1), 0);
        assert_eq!((next.ids(), dropped), (vec![1], vec![]));
    }

    #[test]
    fn a_fence_records_the_attempt_and_keeps_the_checkpoints() {
        let (register, _) = Register::default().with_completed(entry(7), 1);
        let fenced = register.fenced(3, 5, 0, RestoreMode::Claim);
        assert_eq!((fenced.epoch, fenced.ids()), (3, vec![7]));
        assert_eq!(fenced.next_checkpoint, 8, "never below a completed id");
        assert_eq!(
            register
                .fenced(3, 12, 0, RestoreMode::Claim)
                .next_checkpoint,
            12
        );
        assert!(fenced.owns(7), "a run's own fence keeps ownership");
    }

    #[test]
    fn a_resumed_runs_first_fence_owns_only_what_it_claims() {
        let mut register = Register::default();
        for id in 1..=3 {
            register = register.with_completed(entry(id), 3).0;
        }
        let claimed = register.fenced(2, 0, 1, RestoreMode::Claim);
        assert_eq!(
            (claimed.owns(1), claimed.owns(2), claimed.owns(3)),
            (false, false, true)
        );
        assert_eq!(claimed.run, 1);
        let not_claimed = register.fenced(2, 0, 1, RestoreMode::NoClaim);
        assert!(
            !not_claimed.owns(3),
            "no-claim: the restored one stays the user's"
        );
        // A later fence of the same run changes nothing.
        let again = not_claimed.fenced(3, 0, 1, RestoreMode::Claim);
        assert!(!again.owns(3));
        assert!(again.owns(99), "a checkpoint the register does not name");
    }

    #[test]
    fn names_needs_the_same_metadata_not_only_the_same_id() {
        let (register, _) = Register::default().with_completed(entry(2), 1);
        assert!(register.names(&entry(2)));
        let other_attempt = RegisteredCheckpoint {
            metadata: metadata_name(2, 5),
            ..entry(2)
        };
        assert!(!register.names(&other_attempt));
        assert!(!register.names(&entry(3)));
    }
}
