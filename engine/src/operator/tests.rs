use super::*;
use crate::graph::tests::Count as KeyedCount;

fn input(key: u32, offset: u64) -> Record {
    Record {
        key: record::encode(&key).unwrap(),
        value: record::encode(&()).unwrap(),
        timestamp: 7,
        origin: Some((1, offset)),
    }
}

fn counts(out: &[Record]) -> Vec<(u32, u64, Option<(u32, u64)>)> {
    let decoded = |r: &Record| {
        let key: u32 = record::decode(&r.key).unwrap();
        let count: u64 = record::decode(&r.value).unwrap();
        (key, count, r.origin)
    };
    out.iter().map(decoded).collect()
}

#[test]
fn keyed_count_counts_per_key_with_origin_and_survives_a_snapshot_round_trip() {
    let mut op = Keyed::boxed(KeyedCount, 128);
    let mut out = Vec::new();
    for (i, k) in [1, 2, 1].into_iter().enumerate() {
        op.process(input(k, i as u64), &mut out).unwrap();
    }
    assert_eq!(
        counts(&out),
        vec![
            (1, 1, Some((1, 0))),
            (2, 1, Some((1, 1))),
            (1, 2, Some((1, 2)))
        ]
    );
    assert!(
        out.iter().all(|r| r.timestamp == 7),
        "outputs at the input's time"
    );
    let mut restored = Keyed::boxed(KeyedCount, 128);
    restored.restore(&op.snapshot().unwrap()).unwrap();
    out.clear();
    restored.process(input(1, 3), &mut out).unwrap();
    assert_eq!(counts(&out), vec![(1, 3, Some((1, 3)))]);
    assert!(matches!(
        restored.restore(&[0xff, 0xff, 0xff]),
        Err(OperatorError::Decode {
            what: "snapshot",
            ..
        })
    ));
}

#[test]
fn a_snapshot_is_per_key_group_in_ascending_order_and_deterministic() {
    let mut op = Keyed::new(KeyedCount, 4);
    let mut out = Vec::new();
    for k in [9, 3, 5, 3, 0, 12, 7] {
        op.process(input(k, 0), &mut out).unwrap();
    }
    let bytes = op.snapshot().unwrap();
    let snapshot: KeyedSnapshot = record::decode(&bytes).unwrap();
    let groups: Vec<u32> = snapshot.groups.iter().map(|g| g.group).collect();
    assert!(groups.windows(2).all(|w| w[0] < w[1]), "{groups:?}");
    for g in &snapshot.groups {
        for (key, _) in &g.state {
            assert_eq!(keygroup::key_group(key, 4), g.group);
        }
    }
    let total: u64 = snapshot
        .groups
        .iter()
        .flat_map(|g| &g.state)
        .map(|(_, v)| record::decode::<u64>(v).unwrap())
        .sum();
    assert_eq!(total, 7);
    // The same records in another order give the same bytes.
    let mut other = Keyed::new(KeyedCount, 4);
    for k in [7, 12, 0, 3, 5, 3, 9] {
        other.process(input(k, 0), &mut out).unwrap();
    }
    assert_eq!(other.snapshot().unwrap(), bytes);
    assert_eq!(snapshot.encode(), bytes);
}

#[test]
fn a_snapshot_filing_a_key_under_another_key_group_is_refused() {
    let key = record::encode(&5u32).unwrap();
    let actual = keygroup::key_group(&key, 8);
    let filed = (actual + 1) % 8;
    let forged = KeyedSnapshot {
        groups: vec![KeyGroupSnapshot {
            group: filed,
            state: vec![(key.to_vec(), record::encode(&1u64).unwrap().to_vec())],
            timers: Vec::new(),
        }],
    };
    let mut op = Keyed::new(KeyedCount, 8);
    assert!(matches!(
        op.restore(&forged.encode()),
        Err(OperatorError::WrongKeyGroup { filed: f, actual: a }) if f == filed && a == actual
    ));
    let twice = KeyedSnapshot {
        groups: vec![
            KeyGroupSnapshot {
                group: actual,
                ..KeyGroupSnapshot::default()
            };
            2
        ],
    };
    assert!(matches!(
        op.restore(&twice.encode()),
        Err(OperatorError::DuplicateKeyGroup(g)) if g == actual
    ));
    // The boundary: a correctly filed key, and an empty snapshot.
    let right = KeyedSnapshot {
        groups: vec![KeyGroupSnapshot {
            group: actual,
            state: vec![(key.to_vec(), record::encode(&1u64).unwrap().to_vec())],
            timers: Vec::new(),
        }],
    };
    op.restore(&right.encode()).unwrap();
    op.restore(&KeyedSnapshot::default().encode()).unwrap();
}

#[test]
fn an_undecodable_input_key_is_an_error_not_a_panic() {
    let mut op = Keyed::new(KeyedCount, 8);
    let bad = Record {
        key: vec![0xff; 6].into(),
        ..input(1, 0)
    };
    assert!(matches!(
        op.process(bad, &mut Vec::new()),
        Err(OperatorError::Decode { what: "key", .. })
    ));
}

/// Sums values per key and emits the sum when the timer at the record's
/// time + 10 fires.
struct SumAtTimer;

impl Operator for SumAtTimer {
    type Key = u32;
    type In = u64;
    type OutKey = u32;
    type Out = u64;
    type State = u64;

    fn process(&mut self, _: &u32, value: u64, sum: &mut u64, ctx: &mut Context<'_, u32, u64>) {
        *sum += value;
        ctx.register_timer(ctx.timestamp() + 10);
    }

    fn on_timer(&mut self, key: &u32, _: u64, sum: &mut u64, ctx: &mut Context<'_, u32, u64>) {
        ctx.emit(*key, *sum);
    }
}

fn valued(key: u32, value: u64, timestamp: u64) -> Record {
    Record {
        key: record::encode(&key).unwrap(),
        value: record::encode(&value).unwrap(),
        timestamp,
        origin: Some((0, 0)),
    }
}

#[test]
fn timers_are_snapshotted_and_fire_in_time_order_when_the_watermark_passes_them() {
    let mut op = Keyed::new(SumAtTimer, 16);
    let mut out = Vec::new();
    op.process(valued(1, 5, 100), &mut out).unwrap();
    op.process(valued(2, 7, 95), &mut out).unwrap();
    op.process(valued(1, 1, 100), &mut out).unwrap();
    assert!(out.is_empty());
    // Restored elsewhere, the timers come along; the watermark does not.
    let mut restored = Keyed::new(SumAtTimer, 16);
    restored.restore(&op.snapshot().unwrap()).unwrap();
    restored.advance_watermark(104, &mut out).unwrap();
    assert!(out.is_empty(), "no timer is due before 105");
    restored.advance_watermark(110, &mut out).unwrap();
    let fired: Vec<(u32, u64, u64, Option<(u32, u64)>)> = out
        .iter()
        .map(|r| {
            let key: u32 = record::decode(&r.key).unwrap();
            let sum: u64 = record::decode(&r.value).unwrap();
            (key, sum, r.timestamp, r.origin)
        })
        .collect();
    // Key 2's timer (105) first, then key 1's (110, registered twice, fires once).
    assert_eq!(fired, vec![(2, 7, 105, None), (1, 6, 110, None)]);
    out.clear();
    restored.advance_watermark(110, &mut out).unwrap();
    restored.advance_watermark(50, &mut out).unwrap();
    assert!(
        out.is_empty(),
        "a watermark that does not rise fires nothing"
    );
}

/// Keys and states long enough that their lengths take two-byte varints,
/// and timers late enough that their times take three: what the
/// snapshot's hand-written encoding has to get right.
struct Append;

impl Operator for Append {
    type Key = String;
    type In = u64;
    type OutKey = String;
    type Out = u64;
    type State = Vec<u8>;

    fn process(
        &mut self,
        key: &String,
        value: u64,
        state: &mut Vec<u8>,
        ctx: &mut Context<'_, String, u64>,
    ) {
        state.extend(std::iter::repeat_n(value as u8, 100));
        ctx.register_timer(value * 1000 + 7);
        ctx.emit(key.clone(), value);
    }
}

/// The snapshot `Keyed` writes field by field is byte for byte postcard's
/// encoding of the [`KeyedSnapshot`] of its state, empty or not.
#[test]
fn a_snapshot_is_postcards_encoding_of_its_keyed_snapshot() {
    let reference = |op: &Keyed<Append>| {
        let groups = (op.groups.iter())
            .map(|(group, g)| KeyGroupSnapshot {
                group: *group,
                state: (g.state.iter())
                    .map(|(k, v)| (k.to_vec(), record::encode(v).unwrap().to_vec()))
                    .collect(),
                timers: g.timers.iter().map(|(t, k)| (*t, k.to_vec())).collect(),
            })
            .collect();
        KeyedSnapshot { groups }.encode()
    };
    let mut op = Keyed::new(Append, 128);
    assert_eq!(op.snapshot().unwrap(), reference(&op), "empty");
    let keys = ["a".to_string(), "k".repeat(20), "long".repeat(40)];
    let mut out = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        for v in 0..=i as u64 {
            let record = Record {
                key: record::encode(key).unwrap(),
                value: record::encode(&(v * 300)).unwrap(),
                timestamp: 0,
                origin: None,
            };
            op.process(record, &mut out).unwrap();
        }
    }
    assert!(op.groups.len() > 1, "keys in more than one key group");
    let bytes = op.snapshot().unwrap();
    assert_eq!(bytes, reference(&op));
    let mut restored = Keyed::new(Append, 128);
    restored.restore(&bytes).unwrap();
    assert_eq!(restored.snapshot().unwrap(), bytes);
    assert_eq!(restored.pending_timers(), 6);
}

/// An operator that emits under a key longer than `Bytes::INLINE` (its
/// bytes shared with the input's key when the same) and a second output
/// under another key: every path of `Keyed::flush` that succeeds.
struct Echo;

impl Operator for Echo {
    type Key = String;
    type In = u64;
    type OutKey = String;
    type Out = u64;
    type State = u64;

    fn process(
        &mut self,
        key: &String,
        value: u64,
        n: &mut u64,
        ctx: &mut Context<'_, String, u64>,
    ) {
        *n += value;
        ctx.emit(key.clone(), *n);
        if value.is_multiple_of(2) {
            ctx.emit(format!("{key}/even"), value);
        }
    }
}

/// `process_into` appends to a batch exactly the outputs `process`
/// appends as records, in the same order, for `Keyed` (which encodes each
/// output as it emits it) and for the trait's default (which goes through
/// records); the batch after a pre-commit's `clear` starts afresh.
#[test]
fn process_into_a_batch_is_process_then_encode() {
    fn inputs() -> Vec<Record> {
        (0..40u64)
            .map(|i| Record {
                key: record::encode(&format!("key-{}", "x".repeat((i % 5 * 6) as usize))).unwrap(),
                value: record::encode(&i).unwrap(),
                timestamp: i * 1000,
                origin: Some((i as u32 % 3, 100_000 + i)),
            })
            .collect()
    }
    /// `Keyed` with the trait's default `process_into`.
    struct ViaDefault(Keyed<Echo>);
    impl KeyedOperator for ViaDefault {
        fn process(&mut self, input: Record, out: &mut Vec<Record>) -> Result<(), OperatorError> {
            self.0.process(input, out)
        }
        fn advance_watermark(
            &mut self,
            w: u64,
            out: &mut Vec<Record>,
        ) -> Result<usize, OperatorError> {
            self.0.advance_watermark(w, out)
        }
        fn snapshot(&self) -> Result<Vec<u8>, OperatorError> {
            self.0.snapshot()
        }
        fn restore(&mut self, bytes: &[u8]) -> Result<(), OperatorError> {
            self.0.restore(bytes)
        }
        fn pending_timers(&self) -> usize {
            self.0.pending_timers()
        }
    }
    let mut records = Keyed::new(Echo, 128);
    let mut out = Vec::new();
    for r in inputs() {
        records.process(r, &mut out).unwrap();
    }
    assert!(out.len() > 40, "some inputs emit twice");
    assert!(
        out.iter().any(|r| r.key.spilled()),
        "some keys live on the heap"
    );
    let expected = batch::encode(&out);
    let operators: [Box<dyn KeyedOperator>; 2] = [
        Box::new(Keyed::new(Echo, 128)),
        Box::new(ViaDefault(Keyed::new(Echo, 128))),
    ];
    for mut op in operators {
        let (mut builder, mut scratch) = (batch::Builder::default(), Vec::new());
        builder.push(&out[0]);
        builder.clear();
        for r in inputs() {
            op.process_into(r, &mut builder, &mut scratch).unwrap();
            // The default's scratch is handed back empty.
            assert!(scratch.is_empty());
        }
        assert_eq!(builder.len(), out.len() as u64);
        assert_eq!(builder.bytes(), &expected[..]);
        assert_eq!(op.snapshot().unwrap(), records.snapshot().unwrap());
    }
}
