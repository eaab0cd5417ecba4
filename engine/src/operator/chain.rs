//! Stateless operators chained onto the operator before them in the same
//! task (Flink's `OperatorChain`): `map`, `filter` and `flat_map` over
//! typed keys and values. A chained operator has no state and no timers, so
//! a snapshot never includes it and a restore never touches it.
//!
//! Each is built from a plain function over the typed key and value; the
//! engine decodes the record's bytes (postcard, [`crate::record::decode`])
//! before calling it and encodes what it returns. An output inherits the
//! input's `timestamp` and `origin`.

use super::OperatorError;
use crate::record::{self, Record};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::marker::PhantomData;

/// A stateless operator of a chain, with its types erased: what the
/// task's run loop drives after the keyed operator (or the source's read).
pub trait ChainedOperator {
    /// Process one record, appending its outputs to `out`. Errors: an
    /// undecodable key or value, an unencodable output.
    fn process(&mut self, input: Record, out: &mut Vec<Record>) -> Result<(), OperatorError>;
}

fn decode<T: DeserializeOwned>(bytes: &[u8], what: &'static str) -> Result<T, OperatorError> {
    record::decode(bytes).map_err(|source| OperatorError::Decode { what, source })
}

fn encode<T: Serialize>(value: &T, what: &'static str) -> Result<record::Bytes, OperatorError> {
    record::encode(value).map_err(|source| OperatorError::Encode { what, source })
}

/// `flat_map`: each `(key, value)` becomes any number of `(key, value)`
/// pairs (Flink's `FlatMapFunction` with the key carried along). `map` and
/// `filter` are its special cases ([`FlatMap::map`], [`FlatMap::filter`]).
pub struct FlatMap<K, V, K2, V2, F> {
    function: F,
    pending: Vec<(K2, V2)>,
    types: PhantomData<fn(K, V)>,
}

impl<K, V, K2, V2, F> FlatMap<K, V, K2, V2, F>
where
    K: DeserializeOwned,
    V: DeserializeOwned,
    K2: Serialize,
    V2: Serialize,
    F: FnMut(K, V, &mut Vec<(K2, V2)>),
{
    /// `function` pushes the outputs of one input onto the vector it is given.
    pub fn new(function: F) -> Self {
        FlatMap {
            function,
            pending: Vec::new(),
            types: PhantomData,
        }
    }
}

impl<K, V, K2, V2> FlatMap<K, V, K2, V2, ()> {
    /// `map`: exactly one output per input (Flink's `MapFunction`; a
    /// re-key is a map that returns another key).
    #[allow(clippy::type_complexity)]
    pub fn map(
        mut function: impl FnMut(K, V) -> (K2, V2),
    ) -> FlatMap<K, V, K2, V2, impl FnMut(K, V, &mut Vec<(K2, V2)>)>
    where
        K: DeserializeOwned,
        V: DeserializeOwned,
        K2: Serialize,
        V2: Serialize,
    {
        FlatMap::new(move |k, v, out: &mut Vec<(K2, V2)>| out.push(function(k, v)))
    }
}

impl<K, V> FlatMap<K, V, K, V, ()> {
    /// `filter`: the inputs `keep` says yes to, unchanged (Flink's
    /// `FilterFunction`).
    #[allow(clippy::type_complexity)]
    pub fn filter(
        mut keep: impl FnMut(&K, &V) -> bool,
    ) -> FlatMap<K, V, K, V, impl FnMut(K, V, &mut Vec<(K, V)>)>
    where
        K: Serialize + DeserializeOwned,
        V: Serialize + DeserializeOwned,
    {
        FlatMap::new(move |k, v, out: &mut Vec<(K, V)>| {
            if keep(&k, &v) {
                out.push((k, v));
            }
        })
    }
}

impl<K, V, K2, V2, F> ChainedOperator for FlatMap<K, V, K2, V2, F>
where
    K: DeserializeOwned,
    V: DeserializeOwned,
    K2: Serialize,
    V2: Serialize,
    F: FnMut(K, V, &mut Vec<(K2, V2)>),
{
    /// The job's code as a whole ([`super::job_code`]): decoding the input
    /// and encoding the outputs run the job's types' own code too.
    fn process(&mut self, input: Record, out: &mut Vec<Record>) -> Result<(), OperatorError> {
        super::job_code::run(|| {
            let key: K = decode(&input.key, "key")?;
            let value: V = decode(&input.value, "value")?;
            (self.function)(key, value, &mut self.pending);
            for (k, v) in self.pending.drain(..) {
                out.push(Record {
                    key: encode(&k, "output key")?,
                    value: encode(&v, "output value")?,
                    timestamp: input.timestamp,
                    origin: input.origin,
                });
            }
            Ok(())
        })
    }
}

/// Run `records` through `chain` in order: each operator's outputs are the
/// next one's inputs. `scratch` is a spare buffer (kept to save
/// allocations). An empty chain returns `records` as they are.
pub fn run(
    chain: &mut [Box<dyn ChainedOperator>],
    mut records: Vec<Record>,
    scratch: &mut Vec<Record>,
) -> Result<Vec<Record>, OperatorError> {
    for op in chain.iter_mut() {
        scratch.clear();
        for record in records.drain(..) {
            op.process(record, scratch)?;
        }
        std::mem::swap(&mut records, scratch);
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(key: u32, value: u64) -> Record {
        Record {
            key: record::encode(&key).unwrap(),
            value: record::encode(&value).unwrap(),
            timestamp: 5,
            origin: Some((1, 9)),
        }
    }

    fn typed(out: &[Record]) -> Vec<(u32, u64)> {
        let t = |r: &Record| {
            (
                record::decode::<u32>(&r.key).unwrap(),
                record::decode::<u64>(&r.value).unwrap(),
            )
        };
        out.iter().map(t).collect()
    }

    #[test]
    fn map_filter_and_flat_map_chain_in_order_and_keep_time_and_origin() {
        let mut chain: Vec<Box<dyn ChainedOperator>> = vec![
            Box::new(FlatMap::map(|k: u32, v: u64| (k % 3, v * 10))),
            Box::new(FlatMap::filter(|k: &u32, _: &u64| *k != 0)),
            Box::new(FlatMap::new(|k: u32, v: u64, out: &mut Vec<(u32, u64)>| {
                out.extend((0..k).map(|i| (k, v + u64::from(i))));
            })),
        ];
        let input = vec![rec(4, 1), rec(3, 2), rec(5, 3)];
        let out = run(&mut chain, input, &mut Vec::new()).unwrap();
        assert_eq!(typed(&out), vec![(1, 10), (2, 30), (2, 31)]);
        assert!(out
            .iter()
            .all(|r| r.timestamp == 5 && r.origin == Some((1, 9))));
        let same = run(&mut [], vec![rec(1, 1)], &mut Vec::new()).unwrap();
        assert_eq!(typed(&same), vec![(1, 1)]);
    }

    #[test]
    fn an_undecodable_input_is_an_error_naming_the_part() {
        let mut chain: Vec<Box<dyn ChainedOperator>> =
            vec![Box::new(FlatMap::map(|k: u32, v: String| (k, v)))];
        let err = run(&mut chain, vec![rec(1, 300)], &mut Vec::new()).unwrap_err();
        assert!(
            matches!(err, OperatorError::Decode { what: "value", .. }),
            "{err}"
        );
    }
}
