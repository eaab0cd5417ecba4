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
/// Serialized as its display form, `txn-s0-e2-c5`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
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

impl From<TxnId> for String {
    fn from(txn: TxnId) -> String {
        txn.to_string()
    }
}

impl TryFrom<String> for TxnId {
    type Error = String;

    fn try_from(text: String) -> Result<TxnId, String> {
        let bad = || format!("not a transaction id like \"txn-s0-e2-c5\": {text:?}");
        let rest = text.strip_prefix("txn-s").ok_or_else(bad)?;
        let (subtask, rest) = rest.split_once("-e").ok_or_else(bad)?;
        let (epoch, checkpoint) = rest.split_once("-c").ok_or_else(bad)?;
        Ok(TxnId {
            subtask: subtask.parse().map_err(|_| bad())?,
            epoch: epoch.parse().map_err(|_| bad())?,
            checkpoint: checkpoint.parse().map_err(|_| bad())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_serialize_as_their_display_form_and_parse_back() {
        let txn = TxnId {
            subtask: 1,
            epoch: 22,
            checkpoint: 333,
        };
        assert_eq!(TxnId::try_from(String::from(txn)), Ok(txn));
        assert!(TxnId::try_from("txn-s1-e2".to_string()).is_err());
        assert!(TxnId::try_from("txn-sx-e2-c3".to_string()).is_err());
        let bytes = postcard::to_stdvec(&txn).unwrap();
        assert_eq!(postcard::from_bytes::<TxnId>(&bytes).unwrap(), txn);
    }
}
