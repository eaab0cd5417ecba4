//! Barrier alignment for an operator with several inputs (Carbone et al.):
//! a pure state machine the task's run loop drives. In exactly-once mode an
//! input that delivered barrier n is blocked until every input has; in
//! at-least-once mode nothing is blocked and the snapshot is taken when the
//! last barrier n arrives (Flink's `CheckpointBarrierTracker`), so records
//! an input sends after its barrier n may be processed before snapshot n:
//! [`Aligned::Snapshot`] says whether that happened.

use crate::config::CheckpointMode;
use std::collections::BTreeSet;

#[derive(Debug)]
pub struct Aligner {
    mode: CheckpointMode,
    inputs: usize,
    /// The checkpoint being aligned, the inputs that delivered its barrier,
    /// and whether records of such an input were processed meanwhile.
    current: Option<(u64, BTreeSet<usize>, bool)>,
    /// The last checkpoint snapshotted or given up: older barriers are stale.
    last: u64,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Aligned {
    /// Keep going; in exactly-once mode the input is now blocked.
    Waiting,
    /// Every input delivered barrier `checkpoint`: snapshot now, then
    /// unblock. `past_barrier`: the snapshot's state includes records an
    /// input sent after its barrier (at-least-once only: after a restore of
    /// this checkpoint they are replayed and their output duplicated).
    Snapshot { checkpoint: u64, past_barrier: bool },
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum AlignError {
    #[error("input {input} delivered barrier {checkpoint} twice")]
    Duplicate { input: usize, checkpoint: u64 },
    #[error("input {input} delivered barrier {checkpoint} after barrier {newer}")]
    Stale {
        input: usize,
        checkpoint: u64,
        newer: u64,
    },
}

impl Aligner {
    pub fn new(mode: CheckpointMode, inputs: usize, restored: u64) -> Self {
        Aligner {
            mode,
            inputs,
            current: None,
            last: restored,
        }
    }

    /// Whether records from `input` must wait (exactly-once alignment only).
    pub fn is_blocked(&self, input: usize) -> bool {
        self.mode == CheckpointMode::ExactlyOnce
            && matches!(&self.current, Some((_, seen, _)) if seen.contains(&input))
    }

    /// Records of `input` are about to be processed: if it already
    /// delivered the barrier being aligned (possible only when it is not
    /// blocked, in at-least-once mode), the coming snapshot will include
    /// them.
    pub fn on_records(&mut self, input: usize) {
        if let Some((_, seen, past_barrier)) = &mut self.current {
            *past_barrier |= seen.contains(&input);
        }
    }

    pub fn on_barrier(&mut self, input: usize, checkpoint: u64) -> Result<Aligned, AlignError> {
        if checkpoint <= self.last {
            let newer = self.last;
            return Err(AlignError::Stale {
                input,
                checkpoint,
                newer,
            });
        }
        match &mut self.current {
            Some((n, seen, _)) if *n == checkpoint => {
                if !seen.insert(input) {
                    return Err(AlignError::Duplicate { input, checkpoint });
                }
            }
            // A late barrier of a checkpoint the current one subsumed (this
            // input lagged behind the others): ignore it, as Flink does.
            Some((n, _, _)) if *n > checkpoint => return Ok(Aligned::Waiting),
            // No alignment yet, or a newer barrier subsumes the current one
            // (Flink cancels the older alignment and starts the newer). Records
            // past the older barrier came before the newer one: not past it.
            _ => self.current = Some((checkpoint, BTreeSet::from([input]), false)),
        }
        match self.current.take() {
            Some((_, seen, past_barrier)) if seen.len() == self.inputs => {
                self.last = checkpoint;
                Ok(Aligned::Snapshot {
                    checkpoint,
                    past_barrier,
                })
            }
            waiting => {
                self.current = waiting;
                Ok(Aligned::Waiting)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CheckpointMode::*;

    fn snap(checkpoint: u64, past_barrier: bool) -> Aligned {
        Aligned::Snapshot {
            checkpoint,
            past_barrier,
        }
    }

    #[test]
    fn exactly_once_blocks_each_input_until_all_delivered_the_barrier() {
        let mut a = Aligner::new(ExactlyOnce, 3, 0);
        assert_eq!(a.on_barrier(1, 1), Ok(Aligned::Waiting));
        assert!(a.is_blocked(1) && !a.is_blocked(0));
        assert_eq!(a.on_barrier(0, 1), Ok(Aligned::Waiting));
        assert_eq!(a.on_barrier(2, 1), Ok(snap(1, false)));
        assert!(!(0..3).any(|i| a.is_blocked(i)));
    }

    #[test]
    fn at_least_once_never_blocks_but_snapshots_on_the_last_barrier() {
        let mut a = Aligner::new(AtLeastOnce, 2, 0);
        assert_eq!(a.on_barrier(0, 1), Ok(Aligned::Waiting));
        assert!(!a.is_blocked(0));
        assert_eq!(a.on_barrier(1, 1), Ok(snap(1, false)));
    }

    #[test]
    fn at_least_once_tells_when_records_past_a_barrier_enter_the_snapshot() {
        let mut a = Aligner::new(AtLeastOnce, 2, 0);
        a.on_records(0);
        a.on_records(1);
        assert_eq!(a.on_barrier(0, 1), Ok(Aligned::Waiting));
        a.on_records(1); // before its barrier: in the cut
        assert_eq!(a.on_barrier(1, 1), Ok(snap(1, false)));
        assert_eq!(a.on_barrier(0, 2), Ok(Aligned::Waiting));
        a.on_records(0); // after its barrier 2, before input 1's
        assert_eq!(a.on_barrier(1, 2), Ok(snap(2, true)));
        a.on_records(0); // between checkpoints: nothing being aligned
        assert_eq!(a.on_barrier(0, 3), Ok(Aligned::Waiting));
        assert_eq!(
            a.on_barrier(1, 3),
            Ok(snap(3, false)),
            "reset per checkpoint"
        );
    }

    #[test]
    fn records_past_a_subsumed_barrier_are_not_past_the_newer_one() {
        let mut a = Aligner::new(AtLeastOnce, 2, 0);
        a.on_barrier(0, 1).unwrap();
        a.on_records(0);
        assert_eq!(a.on_barrier(1, 2), Ok(Aligned::Waiting));
        assert_eq!(a.on_barrier(0, 2), Ok(snap(2, false)));
    }

    #[test]
    fn a_duplicate_or_stale_barrier_is_an_error() {
        let mut a = Aligner::new(ExactlyOnce, 2, 0);
        a.on_barrier(0, 1).unwrap();
        assert_eq!(
            a.on_barrier(0, 1),
            Err(AlignError::Duplicate {
                input: 0,
                checkpoint: 1
            })
        );
        a.on_barrier(1, 1).unwrap();
        assert!(matches!(a.on_barrier(0, 1), Err(AlignError::Stale { .. })));
    }

    #[test]
    fn a_newer_barrier_subsumes_an_unfinished_alignment() {
        let mut a = Aligner::new(ExactlyOnce, 2, 0);
        a.on_barrier(0, 1).unwrap();
        assert_eq!(a.on_barrier(1, 2), Ok(Aligned::Waiting));
        assert!(!a.is_blocked(0) && a.is_blocked(1));
        assert_eq!(a.on_barrier(0, 2), Ok(snap(2, false)));
    }

    #[test]
    fn a_late_barrier_of_a_subsumed_checkpoint_is_ignored() {
        let mut a = Aligner::new(ExactlyOnce, 2, 0);
        assert_eq!(a.on_barrier(1, 1), Ok(Aligned::Waiting));
        assert_eq!(a.on_barrier(1, 2), Ok(Aligned::Waiting));
        assert_eq!(
            a.on_barrier(0, 1),
            Ok(Aligned::Waiting),
            "input 0 lagged: its barrier 1 is subsumed"
        );
        assert!(!a.is_blocked(0));
        assert_eq!(a.on_barrier(0, 2), Ok(snap(2, false)));
    }

    #[test]
    fn alignment_resumes_after_the_restored_checkpoint() {
        let mut a = Aligner::new(ExactlyOnce, 1, 5);
        assert!(a.on_barrier(0, 5).is_err());
        assert_eq!(a.on_barrier(0, 6), Ok(snap(6, false)));
    }
}
