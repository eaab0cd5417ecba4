//! The keyed operator API (docs/dataflow.md, "Operator API") and the
//! type-erased adapter the engine runs it through.
//!
//! User code implements [`Operator`]: typed keys, values and per-key state,
//! as Flink's `KeyedProcessFunction` with a `ValueState` scoped to the
//! current key and a `TimerService` for event-time timers. The engine wraps
//! it in [`Keyed`] (boxed as a [`KeyedOperator`]), which decodes input
//! [`Record`]s (postcard), looks up the key's state in its key group,
//! encodes the outputs, and snapshots the state per key group
//! ([`KeyedSnapshot`]). The task's run loop, not the operator, owns
//! barriers, alignment and the sink.
//!
//! Event time: timers are registered, kept per key group and snapshotted;
//! [`KeyedOperator::advance_watermark`] fires those due, as the task's
//! watermark (the minimum over its inputs) rises; end of input raises it to
//! `u64::MAX`, which fires every timer left.

use crate::keygroup;
use crate::record::{self, batch, Bytes, Record};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A keyed stateful operator (Flink's `KeyedProcessFunction`): it sees one
/// record at a time with the state of that record's key, and emits any
/// number of records through its [`Context`].
///
/// Shapes: `Key` is the input's key (records reach the subtask owning its
/// key group); `In` the input value; `OutKey`/`Out` the key and value of
/// what it emits (the next shuffle routes by `OutKey`); `State` the state
/// of one key (Flink's `ValueState<State>`), `Default` for a key never
/// seen. All travel as postcard bytes ([`crate::record::encode`]); the
/// engine owns their serialization, checksums and key-group assignment.
///
/// Determinism: the hooks must be pure functions of their arguments and
/// `self` (no clock, no randomness, no `HashMap` iteration), and `State`
/// must serialize the same way every time (a `HashMap` or `HashSet` in it
/// serializes in a random order: use a `BTreeMap` or `BTreeSet`). `self`
/// holds configuration only: it is not snapshotted, state that must
/// survive a failure goes in `State`.
pub trait Operator: 'static {
    /// The input's key; its postcard form decides the key group.
    type Key: Serialize + DeserializeOwned + Ord + Clone;
    /// The input's value.
    type In: Serialize + DeserializeOwned;
    /// The key of an emitted record.
    type OutKey: Serialize + DeserializeOwned;
    /// The value of an emitted record.
    type Out: Serialize + DeserializeOwned;
    /// The state of one key (Flink's `ValueState`), snapshotted at each
    /// checkpoint and restored after a failure.
    type State: Serialize + DeserializeOwned + Default;

    /// Handle one record of `key` (Flink's `processElement`), with that
    /// key's state to read and update.
    fn process(
        &mut self,
        key: &Self::Key,
        value: Self::In,
        state: &mut Self::State,
        ctx: &mut Context<'_, Self::OutKey, Self::Out>,
    );

    /// An event-time timer registered for `key` at `time` (ms) fired: the
    /// watermark passed it (Flink's `onTimer`). The default does nothing.
    fn on_timer(
        &mut self,
        key: &Self::Key,
        time: u64,
        state: &mut Self::State,
        ctx: &mut Context<'_, Self::OutKey, Self::Out>,
    ) {
        let _ = (key, time, state, ctx);
    }
}

/// What a hook of an [`Operator`] may do besides updating its state: emit
/// records, register event-time timers for the current key (Flink's
/// `Context` with its `TimerService`), and read the current timestamp and
/// watermark. Times are event time in milliseconds.
pub struct Context<'a, K, V> {
    emitted: &'a mut Vec<(K, V, u64)>,
    timers: &'a mut Vec<u64>,
    timestamp: u64,
    watermark: u64,
}

impl<K, V> Context<'_, K, V> {
    /// Emit `(key, value)` at the current [`timestamp`](Self::timestamp).
    pub fn emit(&mut self, key: K, value: V) {
        self.emitted.push((key, value, self.timestamp));
    }

    /// Emit `(key, value)` at event time `timestamp` (ms).
    pub fn emit_at(&mut self, key: K, value: V, timestamp: u64) {
        self.emitted.push((key, value, timestamp));
    }

    /// Fire [`Operator::on_timer`] for the current key once the watermark
    /// reaches `time` (ms) (Flink's `registerEventTimeTimer`). Registering
    /// the same time twice for a key fires it once.
    pub fn register_timer(&mut self, time: u64) {
        self.timers.push(time);
    }

    /// The event time (ms) of the record being processed, or the time of
    /// the timer firing.
    pub fn timestamp(&self) -> u64 {
        self.timestamp
    }

    /// The subtask's current watermark (ms): 0 until the first arrives.
    pub fn watermark(&self) -> u64 {
        self.watermark
    }
}

/// Why the adapter could not run an operator step. Each fails the task
/// (`TaskError::Operator`), and the job fails over.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OperatorError {
    /// Input bytes that are not the postcard form of the operator's type:
    /// `what` is `key`, `value`, `state` or `snapshot`.
    #[error("undecodable {what}: {source}")]
    Decode {
        what: &'static str,
        #[source]
        source: postcard::Error,
    },
    /// An output the operator built that postcard cannot encode.
    #[error("unencodable {what}: {source}")]
    Encode {
        what: &'static str,
        #[source]
        source: postcard::Error,
    },
    /// A snapshot holding a key outside the key group it files it under,
    /// or the same key group twice: not a snapshot this adapter wrote.
    #[error("snapshot files a key of key group {actual} under key group {filed}")]
    WrongKeyGroup { filed: u32, actual: u32 },
    /// A snapshot listing the same key group twice.
    #[error("snapshot lists key group {0} twice")]
    DuplicateKeyGroup(u32),
}

/// One keyed operator of a subtask with its types erased: what the task's
/// run loop drives. Records in are engine [`Record`]s; outputs are records,
/// or, for a subtask chained to the sink, a batch's encoded records
/// ([`process_into`](Self::process_into)).
pub trait KeyedOperator {
    /// Process one input record, appending its outputs to `out` (each
    /// inherits the input's `origin`). Errors: an undecodable key or value,
    /// an unencodable output.
    fn process(&mut self, input: Record, out: &mut Vec<Record>) -> Result<(), OperatorError>;
    /// [`process`](Self::process), its outputs appended to `out` as a
    /// batch's records (the encoding [`batch::Builder::push`] gives each)
    /// instead of as [`Record`]s: what a subtask chained to the sink does,
    /// whose outputs go to the sink as one batch at pre-commit. `scratch`
    /// is empty on entry and is left empty. The default processes into
    /// `scratch` and encodes from there; [`Keyed`] encodes each output as it
    /// emits it, without building it. Errors: as `process`; the outputs
    /// emitted before the error are in `out`.
    fn process_into(
        &mut self,
        input: Record,
        out: &mut batch::Builder,
        scratch: &mut Vec<Record>,
    ) -> Result<(), OperatorError> {
        debug_assert!(scratch.is_empty(), "process_into's scratch starts empty");
        let result = self.process(input, scratch);
        for record in scratch.drain(..) {
            out.push(&record);
        }
        result
    }
    /// The watermark rose to `watermark` (ms): fire every timer at or
    /// before it, in (time, key group, key) order, appending outputs
    /// (origin `None`); returns how many fired. A lower or equal watermark
    /// does nothing; a timer a firing registers at or before `watermark`
    /// fires at the next rise.
    fn advance_watermark(
        &mut self,
        watermark: u64,
        out: &mut Vec<Record>,
    ) -> Result<usize, OperatorError>;
    /// The whole keyed state and timers: a postcard [`KeyedSnapshot`],
    /// deterministic for equal state. The watermark is not in it (it is
    /// recomputed after a restore, as in Flink).
    fn snapshot(&self) -> Result<Vec<u8>, OperatorError>;
    /// Replace the state with one [`snapshot`](Self::snapshot) wrote.
    /// Errors: undecodable bytes, a key filed under the wrong key group.
    fn restore(&mut self, bytes: &[u8]) -> Result<(), OperatorError>;
    /// How many event-time timers are pending (registered, not fired).
    fn pending_timers(&self) -> usize;
}

/// A keyed operator's snapshot: per key group, in ascending key group
/// order, so that a later rescale can hand key groups to other subtasks.
/// Encoded with postcard; its crc32 is the `operator_digest` a keyed
/// subtask reports (`Event::StateSnapshotted`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyedSnapshot {
    /// Only key groups holding state or timers, ascending.
    pub groups: Vec<KeyGroupSnapshot>,
}

/// The state and timers of one key group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyGroupSnapshot {
    /// In `0..max_parallelism`.
    pub group: u32,
    /// (serialized key, serialized state), ascending by key bytes.
    pub state: Vec<(Vec<u8>, Vec<u8>)>,
    /// (time in ms, serialized key), ascending.
    pub timers: Vec<(u64, Vec<u8>)>,
}

impl KeyedSnapshot {
    /// The snapshot's bytes (postcard).
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_stdvec(self).expect("in-memory postcard encoding of byte vectors cannot fail")
    }
}

/// Writes the bytes [`KeyedSnapshot::encode`] gives, part by part, without
/// building the snapshot: for each of the `groups` key groups announced,
/// [`group`](Self::group), its states ([`state`](Self::state)), then
/// [`timers`](Self::timers) and its timers ([`timer`](Self::timer)), in
/// the order the snapshot holds them (key groups ascending, states by key
/// bytes, timers by time then key). The counts given must be the counts
/// written; nothing checks them (a test compares the two encodings).
#[derive(Debug)]
pub struct SnapshotWriter {
    out: Vec<u8>,
}

impl SnapshotWriter {
    /// A snapshot of `groups` key groups.
    pub fn new(groups: usize) -> SnapshotWriter {
        let mut out = Vec::new();
        record::batch::varint(&mut out, groups as u64);
        SnapshotWriter { out }
    }

    /// The next key group, `group`, holding `states` keys' states.
    pub fn group(&mut self, group: u32, states: usize) {
        record::batch::varint(&mut self.out, u64::from(group));
        record::batch::varint(&mut self.out, states as u64);
    }

    /// One key's state: the key's and the state's postcard bytes.
    pub fn state(&mut self, key: &[u8], value: &[u8]) {
        self.byte_string(key);
        self.byte_string(value);
    }

    /// The current key group's `timers` timers follow (after its states).
    pub fn timers(&mut self, timers: usize) {
        record::batch::varint(&mut self.out, timers as u64);
    }

    /// One timer: its time (ms) and its key's postcard bytes.
    pub fn timer(&mut self, time: u64, key: &[u8]) {
        record::batch::varint(&mut self.out, time);
        self.byte_string(key);
    }

    /// The snapshot's bytes.
    pub fn finish(self) -> Vec<u8> {
        self.out
    }

    /// A `Vec<u8>` as postcard writes it: its length, then its bytes.
    fn byte_string(&mut self, bytes: &[u8]) {
        record::batch::varint(&mut self.out, bytes.len() as u64);
        self.out.extend_from_slice(bytes);
    }
}

/// The state and timers of one key group, typed.
struct Group<S> {
    state: BTreeMap<Bytes, S>,
    timers: BTreeSet<(u64, Bytes)>,
}

impl<S> Default for Group<S> {
    fn default() -> Self {
        Group {
            state: BTreeMap::new(),
            timers: BTreeSet::new(),
        }
    }
}

/// The type-erased adapter around an [`Operator`]: keyed state per key
/// group in `BTreeMap`s (deterministic order), keyed by the key's
/// serialized bytes (postcard's encoding is canonical, so equal keys have
/// equal bytes).
pub struct Keyed<O: Operator> {
    operator: O,
    max_parallelism: u32,
    groups: BTreeMap<u32, Group<O::State>>,
    watermark: u64,
    emitted: Vec<(O::OutKey, O::Out, u64)>,
    timers: Vec<u64>,
    /// Where an output key too long to be held inline is encoded first, to
    /// reuse the input key's bytes when they are the same (one allocation
    /// less per record).
    scratch: Vec<u8>,
}

impl<O: Operator> Keyed<O> {
    /// `operator` over `max_parallelism` key groups (Flink's `maxParallelism`).
    pub fn new(operator: O, max_parallelism: u32) -> Self {
        Keyed {
            operator,
            max_parallelism,
            groups: BTreeMap::new(),
            watermark: 0,
            emitted: Vec::new(),
            timers: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// Boxed for the run loop.
    pub fn boxed(operator: O, max_parallelism: u32) -> Box<dyn KeyedOperator> {
        Box::new(Keyed::new(operator, max_parallelism))
    }

    /// File the timers the last hook registered for `key` in `group`, and
    /// encode what it emitted (the first output under `key` itself takes
    /// `key`'s bytes), handing each output's key, value, timestamp and
    /// origin to `emit`.
    fn flush(
        &mut self,
        group: u32,
        key: Bytes,
        origin: Option<(u32, u64)>,
        mut emit: impl FnMut(Bytes, Bytes, u64, Option<(u32, u64)>),
    ) -> Result<(), OperatorError> {
        if !self.timers.is_empty() {
            let timers = &mut self.groups.entry(group).or_default().timers;
            timers.extend(self.timers.drain(..).map(|t| (t, key.clone())));
        }
        let mut spare = Some(key);
        for (k, v, timestamp) in self.emitted.drain(..) {
            let encoded = |source| OperatorError::Encode {
                what: "output key",
                source,
            };
            // A short key is encoded inline; a longer one takes the input
            // key's bytes when they are the same.
            let key = match record::encode_inline(&k) {
                Ok(bytes) => bytes,
                Err(postcard::Error::SerializeBufferFull) => {
                    self.scratch.clear();
                    let scratch = std::mem::take(&mut self.scratch);
                    self.scratch = postcard::to_extend(&k, scratch).map_err(encoded)?;
                    match spare.take_if(|s| *s == self.scratch) {
                        Some(same) => same,
                        None => Bytes::from_slice(&self.scratch),
                    }
                }
                Err(e) => return Err(encoded(e)),
            };
            let value = record::encode(&v).map_err(|source| OperatorError::Encode {
                what: "output value",
                source,
            })?;
            emit(key, value, timestamp, origin);
        }
        Ok(())
    }

    /// Run `input` through the operator's `process` hook, then
    /// [`flush`](Self::flush) what it emitted into `emit`: the job's code
    /// as a whole ([`job_code`]), since decoding its key and value, its
    /// state's `Default` and encoding its outputs run the job's types'
    /// own code too.
    #[inline]
    fn process_with(
        &mut self,
        input: Record,
        emit: impl FnMut(Bytes, Bytes, u64, Option<(u32, u64)>),
    ) -> Result<(), OperatorError> {
        job_code::run(|| self.step(input, emit))
    }

    /// [`process_with`](Self::process_with), unmarked.
    #[inline]
    fn step(
        &mut self,
        input: Record,
        emit: impl FnMut(Bytes, Bytes, u64, Option<(u32, u64)>),
    ) -> Result<(), OperatorError> {
        let key: O::Key = decode(&input.key, "key")?;
        let value: O::In = decode(&input.value, "value")?;
        let group = keygroup::key_group(&input.key, self.max_parallelism);
        let states = &mut self.groups.entry(group).or_default().state;
        // One search for a key seen before; a new key's bytes are copied.
        let state = match states.get_mut(input.key.as_slice()) {
            Some(state) => state,
            None => states.entry(input.key.clone()).or_default(),
        };
        let mut ctx = Context {
            emitted: &mut self.emitted,
            timers: &mut self.timers,
            timestamp: input.timestamp,
            watermark: self.watermark,
        };
        self.operator.process(&key, value, state, &mut ctx);
        self.flush(group, input.key, input.origin, emit)
    }
}

/// `emit` for [`Keyed::flush`] that appends each output to `out` as a record.
fn into_records(out: &mut Vec<Record>) -> impl FnMut(Bytes, Bytes, u64, Option<(u32, u64)>) + '_ {
    |key, value, timestamp, origin| {
        out.push(Record {
            key,
            value,
            timestamp,
            origin,
        })
    }
}

fn decode<T: DeserializeOwned>(bytes: &[u8], what: &'static str) -> Result<T, OperatorError> {
    record::decode(bytes).map_err(|source| OperatorError::Decode { what, source })
}

impl<O: Operator> KeyedOperator for Keyed<O> {
    fn process(&mut self, input: Record, out: &mut Vec<Record>) -> Result<(), OperatorError> {
        self.process_with(input, into_records(out))
    }

    fn process_into(
        &mut self,
        input: Record,
        out: &mut batch::Builder,
        _scratch: &mut Vec<Record>,
    ) -> Result<(), OperatorError> {
        self.process_with(input, |key, value, timestamp, origin| {
            out.push_fields(&key, &value, timestamp, origin)
        })
    }

    /// The job's code as a whole ([`job_code`]), as [`Keyed::step`].
    fn advance_watermark(
        &mut self,
        watermark: u64,
        out: &mut Vec<Record>,
    ) -> Result<usize, OperatorError> {
        job_code::run(|| self.fire_timers(watermark, out))
    }

    fn pending_timers(&self) -> usize {
        self.groups.values().map(|g| g.timers.len()).sum()
    }

    /// The job's code as a whole ([`job_code`]): encoding each key's state
    /// runs its type's own code.
    fn snapshot(&self) -> Result<Vec<u8>, OperatorError> {
        job_code::run(|| self.write_snapshot())
    }

    /// The job's code as a whole ([`job_code`]): decoding each key's state
    /// runs its type's own code.
    fn restore(&mut self, bytes: &[u8]) -> Result<(), OperatorError> {
        job_code::run(|| self.read_snapshot(bytes))
    }
}

impl<O: Operator> Keyed<O> {
    /// [`KeyedOperator::advance_watermark`], unmarked.
    fn fire_timers(
        &mut self,
        watermark: u64,
        out: &mut Vec<Record>,
    ) -> Result<usize, OperatorError> {
        if watermark <= self.watermark {
            return Ok(0);
        }
        self.watermark = watermark;
        let mut due = Vec::new();
        for (group, g) in &mut self.groups {
            while let Some(first) = g.timers.first().filter(|(t, _)| *t <= watermark) {
                let first = first.clone();
                g.timers.remove(&first);
                due.push((first.0, *group, first.1));
            }
        }
        due.sort();
        let fired = due.len();
        for (time, group, key_bytes) in due {
            let key: O::Key = decode(&key_bytes, "timer key")?;
            let states = &mut self.groups.entry(group).or_default().state;
            let state = states.entry(key_bytes.clone()).or_default();
            let mut ctx = Context {
                emitted: &mut self.emitted,
                timers: &mut self.timers,
                timestamp: time,
                watermark,
            };
            self.operator.on_timer(&key, time, state, &mut ctx);
            self.flush(group, key_bytes, None, into_records(out))?;
        }
        Ok(fired)
    }

    /// [`KeyedOperator::snapshot`], unmarked. Written with a
    /// [`SnapshotWriter`], without building the [`KeyedSnapshot`]: a
    /// snapshot is taken at every checkpoint, and the vectors for each key
    /// and state were most of its allocations.
    fn write_snapshot(&self) -> Result<Vec<u8>, OperatorError> {
        let mut out = SnapshotWriter::new(self.groups.len());
        for (group, g) in &self.groups {
            out.group(*group, g.state.len());
            for (key, value) in &g.state {
                let value = record::encode(value).map_err(|source| OperatorError::Encode {
                    what: "state",
                    source,
                })?;
                out.state(key, &value);
            }
            out.timers(g.timers.len());
            for (time, key) in &g.timers {
                out.timer(*time, key);
            }
        }
        Ok(out.finish())
    }

    /// [`KeyedOperator::restore`], unmarked.
    fn read_snapshot(&mut self, bytes: &[u8]) -> Result<(), OperatorError> {
        let snapshot: KeyedSnapshot = decode(bytes, "snapshot")?;
        let mut groups = BTreeMap::new();
        for g in snapshot.groups {
            let filed = g.group;
            let check = |key: &[u8]| {
                let actual = keygroup::key_group(key, self.max_parallelism);
                (actual == filed)
                    .then_some(())
                    .ok_or(OperatorError::WrongKeyGroup { filed, actual })
            };
            let mut group = Group::<O::State>::default();
            for (key, value) in g.state {
                check(&key)?;
                group
                    .state
                    .insert(Bytes::from(key), decode(&value, "state")?);
            }
            for (time, key) in g.timers {
                check(&key)?;
                group.timers.insert((time, Bytes::from(key)));
            }
            if groups.insert(filed, group).is_some() {
                return Err(OperatorError::DuplicateKeyGroup(filed));
            }
        }
        self.groups = groups;
        Ok(())
    }
}

pub mod chain;
pub mod job_code;

#[cfg(test)]
mod tests;
