//! The record-level operator the `count` task still runs, until keyed-count
//! moves onto [`super::Operator`] through the [`super::Keyed`] adapter
//! (issue 11, step 2 of docs/dataflow.md); then this module goes.

use crate::record::{InputRecord, Key, OutputRecord};
use std::collections::BTreeMap;

/// A keyed stateful operator: lifecycle hooks over one subtask's state.
pub trait Operator {
    /// Handle one record, emitting any number of outputs.
    fn process(&mut self, record: InputRecord, out: &mut Vec<OutputRecord>);
    /// The operator's whole state as bytes (deterministic for equal state).
    fn snapshot_state(&self) -> Vec<u8>;
    /// Replace the state with a snapshot taken by `snapshot_state`.
    fn restore_state(&mut self, state: &[u8]) -> Result<(), String>;
}

/// `keyed-count`: each record yields `(key, count)` where count is how many
/// records of that key this subtask has seen, this one included.
#[derive(Debug, Default)]
pub struct KeyedCount {
    counts: BTreeMap<Key, u64>,
}

impl Operator for KeyedCount {
    fn process(&mut self, record: InputRecord, out: &mut Vec<OutputRecord>) {
        let count = self.counts.entry(record.key).or_insert(0);
        *count += 1;
        out.push(OutputRecord {
            key: record.key,
            count: *count,
            partition: record.partition,
            offset: record.offset,
        });
    }

    fn snapshot_state(&self) -> Vec<u8> {
        postcard::to_stdvec(&self.counts).expect("in-memory postcard encoding cannot fail")
    }

    fn restore_state(&mut self, state: &[u8]) -> Result<(), String> {
        self.counts = postcard::from_bytes(state)
            .map_err(|e| format!("undecodable keyed-count state: {e}"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(key: Key, offset: u64) -> InputRecord {
        InputRecord {
            key,
            partition: 0,
            offset,
        }
    }

    #[test]
    fn counts_per_key_and_survive_a_snapshot_round_trip() {
        let mut op = KeyedCount::default();
        let mut out = Vec::new();
        for (i, k) in [1, 2, 1].into_iter().enumerate() {
            op.process(rec(k, i as u64), &mut out);
        }
        assert_eq!(
            out.iter().map(|o| (o.key, o.count)).collect::<Vec<_>>(),
            vec![(1, 1), (2, 1), (1, 2)]
        );
        let mut restored = KeyedCount::default();
        restored.restore_state(&op.snapshot_state()).unwrap();
        out.clear();
        restored.process(rec(1, 3), &mut out);
        assert_eq!(out[0].count, 3);
        assert!(restored.restore_state(&[0xff, 0xff, 0xff]).is_err());
    }
}
