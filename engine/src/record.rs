//! Records that flow through the reference job, and the identities that tie
//! an output record back to the input record that produced it.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A key of the reference workload (`key-17` when printed).
pub type Key = u32;

/// One record of the input log: which key, in which partition, at which offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct InputRecord {
    pub key: Key,
    pub partition: u32,
    pub offset: u64,
}

/// One record of the committed output of `keyed-count`: the input record it
/// answers and how many records of its key the operator had seen, itself included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OutputRecord {
    pub key: Key,
    pub count: u64,
    pub partition: u32,
    pub offset: u64,
}

impl OutputRecord {
    pub fn input(&self) -> InputRecord {
        InputRecord {
            key: self.key,
            partition: self.partition,
            offset: self.offset,
        }
    }
}

impl fmt::Display for InputRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "key-{} (partition {}, offset {})",
            self.key, self.partition, self.offset
        )
    }
}

/// A sink transaction: the sink subtask that opened it, the job attempt
/// (epoch) it belongs to, and the checkpoint whose barrier closes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TxnId {
    pub subtask: u32,
    pub epoch: u64,
    pub checkpoint: u64,
}

impl fmt::Display for TxnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "txn-s{}-e{}-c{}",
            self.subtask, self.epoch, self.checkpoint
        )
    }
}
