//! Record batches: the records a frame carries (a fetch's, a channel's, a
//! pre-commit's), encoded by hand instead of through serde.
//!
//! A batch's bytes are exactly postcard's encoding of a `Vec<Record>`: the
//! count as a varint, then each record's fields in order (key and value
//! as a varint length and their bytes, the timestamp as a varint, the
//! origin as a tag byte `0` or `1` and, after `1`, partition and offset as
//! varints). In a message the batch is one serde byte string (a length,
//! then those bytes), so postcard copies it in and lends it out whole. The
//! sink keeps a pre-commit's batch as it came and writes it into its
//! transaction file unchanged (the file holds `(txn, Vec<Record>)` in
//! postcard, as before).
//!
//! Why: through serde, postcard spent about 280 instructions to encode a
//! record and 245 to decode one, per frame (BENCHMARKS.md); by hand it is
//! a few dozen. Records cross two or three frames on their way to the
//! sink, so this was the largest share of the engine's own work.
//!
//! Fields holding a batch say `#[serde(with = "crate::record::batch")]`.

use super::{Bytes, Record};
use serde::de::{Deserializer, Error as _, SeqAccess, Visitor};
use serde::Serializer;
use std::fmt;
use thiserror::Error;

/// Why bytes are not a batch. Every frame is checksummed before it is
/// decoded, so these mean a bug or a corruption the checksum missed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BatchError {
    #[error("record batch ends inside {0}")]
    Truncated(&'static str),
    #[error("record batch: a varint for {0} overflows its type")]
    Overflow(&'static str),
    #[error("record batch: origin tag {0} is neither 0 nor 1")]
    BadOrigin(u8),
    #[error("record batch: {0} bytes after its last record")]
    Trailing(usize),
}

/// The fewest bytes a record takes: empty key and value (one byte each),
/// a one-byte timestamp and no origin.
const MIN_RECORD: usize = 4;

/// Append `records`' batch encoding to `out`.
pub fn encode_into(records: &[Record], out: &mut Vec<u8>) {
    varint(out, records.len() as u64);
    for r in records {
        encode_record(r, out);
    }
}

/// Append one record's encoding (a batch's bytes after its count are its
/// records', one after another) to `out`.
#[inline]
pub fn encode_record(r: &Record, out: &mut Vec<u8>) {
    encode_fields(
        r.key.as_slice(),
        r.value.as_slice(),
        r.timestamp,
        r.origin,
        out,
    );
}

/// Append the encoding of the record with these fields to `out`: what
/// [`encode_record`] writes for it, without the record.
#[inline]
pub fn encode_fields(
    key: &[u8],
    value: &[u8],
    timestamp: u64,
    origin: Option<(u32, u64)>,
    out: &mut Vec<u8>,
) {
    // The most a record's fixed fields take: two lengths, timestamp
    // and offset (10 bytes each at most), the tag and the partition.
    out.reserve(key.len() + value.len() + 4 * 10 + 1 + 5);
    for field in [key, value] {
        varint(out, field.len() as u64);
        if field.len() <= Bytes::INLINE {
            // Byte by byte: cheaper than a call to copy a few bytes.
            for &b in field {
                out.push(b);
            }
        } else {
            out.extend_from_slice(field);
        }
    }
    varint(out, timestamp);
    match origin {
        None => out.push(0),
        Some((partition, offset)) => {
            out.push(1);
            varint(out, u64::from(partition));
            varint(out, offset);
        }
    }
}

/// A batch put together record by record from their encodings
/// ([`encode_record`], or a [`RawRecord`]'s bytes), serialized as the
/// batch of those records: what a subtask's output channel fills between
/// frames, and what a subtask chained to the sink fills between
/// pre-commits (its open transaction). The count is written in front when
/// the batch is sent.
#[derive(Debug, Default)]
pub struct Builder {
    /// [`COUNT_ROOM`] bytes of room for the count, then the records.
    bytes: Vec<u8>,
    count: u64,
}

/// The most bytes a count's varint takes.
const COUNT_ROOM: usize = 10;

impl Builder {
    /// Append one record.
    #[inline]
    pub fn push(&mut self, r: &Record) {
        self.push_fields(&r.key, &r.value, r.timestamp, r.origin);
    }

    /// Append the record with these fields (what [`Builder::push`] of
    /// that record appends), without building the record: how a keyed
    /// subtask chained to the sink writes its output into the open
    /// transaction.
    #[inline]
    pub fn push_fields(
        &mut self,
        key: &[u8],
        value: &[u8],
        timestamp: u64,
        origin: Option<(u32, u64)>,
    ) {
        self.room();
        encode_fields(key, value, timestamp, origin, &mut self.bytes);
        self.count += 1;
    }

    /// Append one record given as its encoding (from [`split`]).
    #[inline]
    pub fn push_raw(&mut self, r: &RawRecord<'_>) {
        self.room();
        self.bytes.extend_from_slice(r.bytes);
        self.count += 1;
    }

    fn room(&mut self) {
        if self.bytes.is_empty() {
            self.bytes.resize(COUNT_ROOM, 0);
        }
    }

    /// How many records.
    pub fn len(&self) -> u64 {
        self.count
    }

    /// Whether it holds no record.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The batch's encoding, count included (what [`encode`] gives for
    /// the same records), for `f`; then empty again, its buffer kept.
    pub fn take<R>(&mut self, f: impl FnOnce(&[u8]) -> R) -> R {
        let result = f(self.bytes());
        self.clear();
        result
    }

    /// The batch's encoding, count included (what [`encode`] gives for
    /// the same records; `[0]` for none). Takes `&mut self` because it
    /// writes the count into the room kept for it in front of the records.
    /// The builder keeps its records: [`Builder::clear`] empties it.
    pub fn bytes(&mut self) -> &[u8] {
        self.room();
        // The count's varint, ending where the records begin.
        let (mut count, mut n, mut v) = ([0u8; COUNT_ROOM], 0, self.count);
        while v >= 0x80 {
            count[n] = v as u8 | 0x80;
            v >>= 7;
            n += 1;
        }
        count[n] = v as u8;
        n += 1;
        let start = COUNT_ROOM - n;
        self.bytes[start..COUNT_ROOM].copy_from_slice(&count[..n]);
        &self.bytes[start..]
    }

    /// Empty, its buffer kept for the next batch.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.count = 0;
    }
}

/// One record of a batch as its bytes, with what routing it needs: read by
/// [`split`] from a batch the fast reader takes, so its bytes are what
/// [`encode_record`] writes for the record they decode to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawRecord<'a> {
    pub key: &'a [u8],
    pub origin: Option<(u32, u64)>,
    pub bytes: &'a [u8],
}

/// The records of a batch (its bytes, count included) without decoding
/// them: `None` for a batch the fast reader does not take (decode it
/// instead; [`decode`] says what is wrong, if anything).
pub fn split(bytes: &[u8]) -> Option<Vec<RawRecord<'_>>> {
    fast::split(bytes)
}

/// `records`' batch encoding, in a vector of its own.
pub fn encode(records: &[Record]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(records, &mut out);
    out
}

/// The records of a batch. Errors: [`BatchError`], for bytes that are not
/// exactly one batch (a truncated one, or bytes after it).
///
/// A fast pass reads well-formed bytes; at the first thing it does not
/// expect, the batch is read again by the careful reader, which says
/// what is wrong (or, for the rare well-formed batch the fast pass does
/// not take, such as a varint longer than it needs to be, reads it).
pub fn decode(bytes: &[u8]) -> Result<Vec<Record>, BatchError> {
    fast::decode(bytes).map_or_else(|| decode_carefully(bytes), Ok)
}

/// [`decode`], one field at a time, each error named.
fn decode_carefully(bytes: &[u8]) -> Result<Vec<Record>, BatchError> {
    let mut cursor = Cursor(bytes);
    let count = cursor.varint_u64("the record count")?;
    // A garbled count cannot allocate more than the bytes could hold.
    let bound = bytes.len() / MIN_RECORD;
    let mut records = Vec::with_capacity(usize::try_from(count).unwrap_or(bound).min(bound));
    for _ in 0..count {
        records.push(cursor.record()?);
    }
    cursor.finish()?;
    Ok(records)
}

/// How many records a batch holds, checking that every one decodes,
/// without building them: what the sink does with a pre-commit it only
/// stores. Errors: as [`decode`].
pub fn count(bytes: &[u8]) -> Result<u64, BatchError> {
    fast::count(bytes).map_or_else(|| count_carefully(bytes), Ok)
}

/// [`count`], one field at a time, each error named.
fn count_carefully(bytes: &[u8]) -> Result<u64, BatchError> {
    let mut cursor = Cursor(bytes);
    let count = cursor.varint_u64("the record count")?;
    for _ in 0..count {
        cursor.skip_record()?;
    }
    cursor.finish()?;
    Ok(count)
}

/// For `#[serde(serialize_with)]`: the batch as one byte string. The
/// batch is encoded into a buffer this thread keeps, then copied into the
/// serializer's output.
pub fn serialize<S: Serializer>(records: &[Record], s: S) -> Result<S::Ok, S::Error> {
    thread_local! {
        static SCRATCH: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
    }
    // Taken while in use, so a nested call finds it empty (and grows its own).
    let mut scratch = SCRATCH.take();
    scratch.clear();
    encode_into(records, &mut scratch);
    let result = s.serialize_bytes(&scratch);
    SCRATCH.set(scratch);
    result
}

/// A batch to serialize from a borrowed slice (a log's records), as
/// `#[serde(with = "batch")]` does for a `Vec<Record>` field.
#[derive(Debug)]
pub struct Ser<'a>(pub &'a [Record]);

impl serde::Serialize for Ser<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize(self.0, s)
    }
}

/// For `#[serde(deserialize_with)]`: the records of a batch byte string.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Record>, D::Error> {
    struct Records;

    impl<'de> Visitor<'de> for Records {
        type Value = Vec<Record>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a record batch as a byte string")
        }

        fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Vec<Record>, E> {
            decode(v).map_err(E::custom)
        }

        // Formats without byte strings (JSON) write them as sequences.
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Record>, A::Error> {
            let mut bytes = Vec::new();
            while let Some(byte) = seq.next_element::<u8>()? {
                bytes.push(byte);
            }
            decode(&bytes).map_err(A::Error::custom)
        }
    }

    d.deserialize_bytes(Records)
}

/// A batch kept as its bytes ([`count`] checked them): what the sink
/// stores without decoding a record.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Encoded {
    /// How many records.
    pub count: u64,
    /// The batch encoding, count included.
    pub bytes: Vec<u8>,
}

/// A batch's bytes as they came, not yet checked: read them with [`split`]
/// (the fast reader) or [`decode`] (which names what is wrong). What a
/// source reads a fetch's records as.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Unchecked(pub Vec<u8>);

impl<'de> serde::Deserialize<'de> for Unchecked {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Unchecked, D::Error> {
        struct Raw;

        impl<'de> Visitor<'de> for Raw {
            type Value = Unchecked;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a record batch as a byte string")
            }

            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Unchecked, E> {
                Ok(Unchecked(v.to_vec()))
            }

            // Formats without byte strings (JSON) write them as sequences.
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Unchecked, A::Error> {
                let mut bytes = Vec::new();
                while let Some(byte) = seq.next_element::<u8>()? {
                    bytes.push(byte);
                }
                Ok(Unchecked(bytes))
            }
        }

        d.deserialize_bytes(Raw)
    }
}

impl<'de> serde::Deserialize<'de> for Encoded {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Encoded, D::Error> {
        let Unchecked(bytes) = Unchecked::deserialize(d)?;
        let count = count(&bytes).map_err(D::Error::custom)?;
        Ok(Encoded { count, bytes })
    }
}

/// The decoder for well-formed batches: `None` at anything unexpected,
/// for [`decode_carefully`] to explain.
mod fast {
    use super::{Bytes, RawRecord, Record, MIN_RECORD};

    pub(super) fn decode(mut bytes: &[u8]) -> Option<Vec<Record>> {
        let count = varint(&mut bytes)?;
        let bound = bytes.len() / MIN_RECORD + 1;
        let mut records = Vec::with_capacity(usize::try_from(count).ok()?.min(bound));
        for _ in 0..count {
            let key = field(&mut bytes)?;
            let value = field(&mut bytes)?;
            let timestamp = varint(&mut bytes)?;
            let origin = origin(&mut bytes)?;
            records.push(Record {
                key,
                value,
                timestamp,
                origin,
            });
        }
        bytes.is_empty().then_some(records)
    }

    pub(super) fn split(mut bytes: &[u8]) -> Option<Vec<RawRecord<'_>>> {
        let count = varint(&mut bytes)?;
        let bound = bytes.len() / MIN_RECORD + 1;
        let mut records = Vec::with_capacity(usize::try_from(count).ok()?.min(bound));
        for _ in 0..count {
            let start = bytes;
            let key = field_bytes(&mut bytes)?;
            field_bytes(&mut bytes)?;
            varint(&mut bytes)?;
            let origin = origin(&mut bytes)?;
            let len = start.len() - bytes.len();
            records.push(RawRecord {
                key,
                origin,
                bytes: &start[..len],
            });
        }
        bytes.is_empty().then_some(records)
    }

    /// A byte string of at most [`Bytes::INLINE`] bytes, borrowed.
    #[inline(always)]
    fn field_bytes<'a>(bytes: &mut &'a [u8]) -> Option<&'a [u8]> {
        let (&len, rest) = bytes.split_first()?;
        let len = usize::from(len);
        if len > Bytes::INLINE {
            return None;
        }
        let field = rest.get(..len)?;
        *bytes = &rest[len..];
        Some(field)
    }

    pub(super) fn count(mut bytes: &[u8]) -> Option<u64> {
        let count = varint(&mut bytes)?;
        for _ in 0..count {
            for _field in 0..2 {
                let (&len, rest) = bytes.split_first()?;
                let len = usize::from(len);
                if len > Bytes::INLINE {
                    return None;
                }
                bytes = rest.get(len..)?;
            }
            varint(&mut bytes)?;
            origin(&mut bytes)?;
        }
        bytes.is_empty().then_some(count)
    }

    /// The origin's tag, and after a `1` the partition and offset.
    #[inline(always)]
    fn origin(bytes: &mut &[u8]) -> Option<Option<(u32, u64)>> {
        let (&tag, rest) = bytes.split_first()?;
        *bytes = rest;
        match tag {
            0 => Some(None),
            1 => Some(Some((u32::try_from(varint(bytes)?).ok()?, varint(bytes)?))),
            _ => None,
        }
    }

    /// A varint of at most three bytes (values below 2^21: the offsets of
    /// partitions of up to two million records); `None` for a longer one,
    /// or one longer than it needs to be (the careful reader takes both).
    #[inline(always)]
    fn varint(bytes: &mut &[u8]) -> Option<u64> {
        match **bytes {
            [b0, ref rest @ ..] if b0 < 0x80 => {
                *bytes = rest;
                Some(u64::from(b0))
            }
            [b0, b1, ref rest @ ..] if b1 < 0x80 && b1 != 0 => {
                *bytes = rest;
                Some(u64::from(b0 & 0x7f) | u64::from(b1) << 7)
            }
            [b0, b1, b2, ref rest @ ..] if b1 >= 0x80 && b2 < 0x80 && b2 != 0 => {
                *bytes = rest;
                Some(u64::from(b0 & 0x7f) | u64::from(b1 & 0x7f) << 7 | u64::from(b2) << 14)
            }
            _ => None,
        }
    }

    /// A byte string of at most [`Bytes::INLINE`] bytes.
    #[inline(always)]
    fn field(bytes: &mut &[u8]) -> Option<Bytes> {
        let (&len, rest) = bytes.split_first()?;
        let len = usize::from(len);
        if len > Bytes::INLINE || len > rest.len() {
            return None;
        }
        let field = match rest.first_chunk::<{ Bytes::INLINE }>() {
            // A fixed-size copy of the bytes and some after them.
            Some(&chunk) => Bytes::from_prefix(chunk, len),
            None => Bytes::from_slice(&rest[..len]),
        };
        *bytes = &rest[len..];
        Some(field)
    }
}

/// A postcard varint: seven bits a byte, least significant first, the
/// high bit set on every byte but the last (how postcard writes every
/// integer wider than a byte, and every length).
#[inline]
pub(crate) fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    /// A varint of at most 10 bytes whose value fits a `u64`, as postcard
    /// reads one (it accepts a non-minimal encoding, and so does this).
    /// One byte (a value below 128: most lengths, partitions and
    /// timestamps of 0) is read inline; longer ones out of line.
    #[inline(always)]
    fn varint_u64(&mut self, what: &'static str) -> Result<u64, BatchError> {
        match self.0.split_first() {
            Some((&byte, rest)) if byte < 0x80 => {
                self.0 = rest;
                Ok(u64::from(byte))
            }
            _ => self.long_varint(what, 10, 1),
        }
    }

    /// A varint whose value fits a `u32` (at most 5 bytes).
    #[inline(always)]
    fn varint_u32(&mut self, what: &'static str) -> Result<u32, BatchError> {
        match self.0.split_first() {
            Some((&byte, rest)) if byte < 0x80 => {
                self.0 = rest;
                Ok(u32::from(byte))
            }
            _ => self
                .long_varint(what, 5, 0x0f)
                .map(|v| u32::try_from(v).expect("5 varint bytes ending <= 0x0f fit a u32")),
        }
    }

    /// A varint of at most `max_len` bytes whose last may be at most
    /// `max_last` if it is the `max_len`th.
    #[inline(never)]
    fn long_varint(
        &mut self,
        what: &'static str,
        max_len: usize,
        max_last: u8,
    ) -> Result<u64, BatchError> {
        let mut value = 0u64;
        for i in 0..max_len {
            let Some((&byte, rest)) = self.0.split_first() else {
                return Err(BatchError::Truncated(what));
            };
            self.0 = rest;
            if i == max_len - 1 && byte > max_last {
                return Err(BatchError::Overflow(what));
            }
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        unreachable!("the last byte either ends the varint or overflows")
    }

    #[inline]
    fn bytes(&mut self, what: &'static str) -> Result<&'a [u8], BatchError> {
        let len = self.varint_u64(what)?;
        let len = usize::try_from(len).map_err(|_| BatchError::Truncated(what))?;
        if len > self.0.len() {
            return Err(BatchError::Truncated(what));
        }
        let (bytes, rest) = self.0.split_at(len);
        self.0 = rest;
        Ok(bytes)
    }

    #[inline]
    fn origin(&mut self) -> Result<Option<(u32, u64)>, BatchError> {
        let Some((&tag, rest)) = self.0.split_first() else {
            return Err(BatchError::Truncated("an origin"));
        };
        self.0 = rest;
        match tag {
            0 => Ok(None),
            1 => Ok(Some((
                self.varint_u32("an origin's partition")?,
                self.varint_u64("an origin's offset")?,
            ))),
            other => Err(BatchError::BadOrigin(other)),
        }
    }

    #[inline]
    fn record(&mut self) -> Result<Record, BatchError> {
        Ok(Record {
            key: Bytes::from_slice(self.bytes("a key")?),
            value: Bytes::from_slice(self.bytes("a value")?),
            timestamp: self.varint_u64("a timestamp")?,
            origin: self.origin()?,
        })
    }

    #[inline]
    fn skip_record(&mut self) -> Result<(), BatchError> {
        self.bytes("a key")?;
        self.bytes("a value")?;
        self.varint_u64("a timestamp")?;
        self.origin()?;
        Ok(())
    }

    fn finish(&self) -> Result<(), BatchError> {
        match self.0.len() {
            0 => Ok(()),
            n => Err(BatchError::Trailing(n)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records() -> Vec<Record> {
        let big = vec![0xab; 300];
        vec![
            Record {
                key: vec![1, 2, 3].into(),
                value: Vec::new().into(),
                timestamp: 5,
                origin: Some((1, 300)),
            },
            // Empty key, a value longer than one varint byte can count,
            // the largest numbers, no origin.
            Record {
                key: Vec::new().into(),
                value: big.clone().into(),
                timestamp: u64::MAX,
                origin: None,
            },
            Record {
                key: big.into(),
                value: vec![0].into(),
                timestamp: 0,
                origin: Some((u32::MAX, u64::MAX)),
            },
            Record {
                key: vec![0x80].into(),
                value: vec![0x7f; 16].into(),
                timestamp: 127,
                origin: Some((128, 16_384)),
            },
            // The longest record staged on the stack: key and value of
            // `Bytes::INLINE` bytes, the largest numbers.
            Record {
                key: vec![0xff; Bytes::INLINE].into(),
                value: vec![0x80; Bytes::INLINE].into(),
                timestamp: u64::MAX,
                origin: Some((u32::MAX, u64::MAX)),
            },
        ]
    }

    #[test]
    fn a_batch_is_postcards_encoding_of_the_vec_and_decodes_back() {
        let all = records();
        for n in 0..=all.len() {
            let batch = &all[..n];
            let bytes = encode(batch);
            assert_eq!(bytes, postcard::to_stdvec(&batch.to_vec()).unwrap(), "{n}");
            assert_eq!(decode(&bytes).unwrap(), batch);
            assert_eq!(count(&bytes).unwrap(), n as u64);
        }
    }

    /// A builder's batch is `encode`'s, whether its records came as records
    /// or as `split`'s raw records, and however many batches it built
    /// before.
    #[test]
    fn a_builder_writes_the_batch_encode_writes() {
        let all = records();
        let mut builder = Builder::default();
        for _round in 0..2 {
            for n in 0..=all.len() {
                let batch = &all[..n];
                for r in batch {
                    builder.push(r);
                }
                assert_eq!(builder.len(), n as u64);
                assert_eq!(builder.take(<[u8]>::to_vec), encode(batch), "{n}");
                assert!(builder.is_empty());
            }
        }
        // 200 records: a count of two varint bytes.
        let many: Vec<Record> = (0..200).map(|i| all[i % 2 * 3].clone()).collect();
        for r in &many {
            builder.push(r);
        }
        assert_eq!(builder.take(<[u8]>::to_vec), encode(&many));
    }

    /// `split` hands each record's bytes (its encoding), key and origin,
    /// for the batches the fast reader takes, and nothing for the rest.
    #[test]
    fn split_records_are_their_encodings() {
        let all = records();
        // Records 0 and 3 have short fields; 1 and 2 do not.
        let short = [all[0].clone(), all[3].clone(), all[0].clone()];
        let bytes = encode(&short);
        let raw = split(&bytes).expect("short fields");
        assert_eq!(raw.len(), short.len());
        let mut builder = Builder::default();
        for (r, record) in raw.iter().zip(&short) {
            assert_eq!(r.key, record.key.as_slice());
            assert_eq!(r.origin, record.origin);
            let mut one = Vec::new();
            encode_record(record, &mut one);
            assert_eq!(r.bytes, one);
            builder.push_raw(r);
        }
        assert_eq!(builder.take(<[u8]>::to_vec), bytes);
        assert_eq!(split(&encode(&[])), Some(Vec::new()));
        assert_eq!(split(&encode(&all)), None, "long fields");
        // A varint longer than it needs to be (a timestamp of 5 as two
        // bytes) decodes, but is not what `encode_record` writes: `split`
        // refuses it, so a forwarded record is always its re-encoding.
        let mut long_varint = encode(&short[..1]);
        let at = 1 + 1 + 3 + 1; // the count, the key's length and bytes, the empty value
        assert_eq!(long_varint[at], 5);
        long_varint[at] = 0x85;
        long_varint.insert(at + 1, 0);
        assert_eq!(decode(&long_varint).unwrap()[0].timestamp, 5);
        assert_eq!(split(&long_varint), None, "a varint in a longer form");
        for cut in 0..bytes.len() {
            assert_eq!(split(&bytes[..cut]), None, "cut at {cut}");
        }
    }

    #[test]
    fn every_truncation_and_trailing_byte_is_an_error_and_so_is_postcards() {
        let bytes = encode(&records());
        for cut in 0..bytes.len() {
            let short = &bytes[..cut];
            assert!(decode(short).is_err(), "cut at {cut}");
            assert!(count(short).is_err(), "cut at {cut}");
        }
        let mut long = bytes.clone();
        long.push(0);
        assert_eq!(decode(&long), Err(BatchError::Trailing(1)));
        assert_eq!(count(&long), Err(BatchError::Trailing(1)));
    }

    /// Any bytes: the hand decoder accepts exactly what postcard accepts,
    /// with the same records, so no frame means one thing to one reader
    /// and another to the other.
    #[test]
    fn the_decoder_agrees_with_postcard_on_every_corruption() {
        let all = records();
        // Short fields only (the fast reader's), and long ones too.
        let mut three_byte = all[3].clone();
        three_byte.origin = Some((128, (1 << 21) - 1));
        let short = [all[0].clone(), three_byte];
        assert!(fast::decode(&encode(&short)).is_some());
        assert_eq!(fast::count(&encode(&short)), Some(2));
        assert!(fast::decode(&encode(&all[..2])).is_none());
        let mut seen = 0;
        for bytes in [encode(&short), encode(&all[..2])] {
            for i in 0..bytes.len() {
                for value in [0x00, 0x01, 0x02, 0x0f, 0x10, 0x11, 0x7f, 0x80, 0x81, 0xff] {
                    let mut bad = bytes.clone();
                    bad[i] = value;
                    let ours = decode(&bad).ok();
                    let theirs = postcard_exactly(&bad);
                    assert_eq!(ours, theirs, "byte {i} set to {value:#x}");
                    assert_eq!(count(&bad).ok(), ours.map(|r| r.len() as u64));
                    seen += 1;
                }
            }
        }
        // Varints at and past their types' limits.
        let overflow = [
            vec![0x80; 11],
            [vec![0xff; 9], vec![0x02]].concat(),
            [
                vec![0x01, 0x00, 0x00, 0x00, 0x01],
                vec![0xff; 4],
                vec![0x10],
            ]
            .concat(),
            [
                vec![0x01, 0x00, 0x00, 0x00, 0x01],
                vec![0xff; 4],
                vec![0x0f, 0x00],
            ]
            .concat(),
        ];
        for bad in overflow {
            let ours = decode(&bad).ok();
            assert_eq!(ours, postcard_exactly(&bad), "{bad:?}");
            seen += 1;
        }
        assert!(seen > 100);
    }

    /// Postcard's reading of `bytes` as a `Vec<Record>` that uses them all
    /// (its `from_bytes` ignores bytes after the value).
    fn postcard_exactly(bytes: &[u8]) -> Option<Vec<Record>> {
        match postcard::take_from_bytes::<Vec<Record>>(bytes) {
            Ok((records, [])) => Some(records),
            _ => None,
        }
    }

    #[test]
    fn in_a_message_a_batch_is_one_byte_string_in_postcard_and_json() {
        #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        struct Message {
            #[serde(with = "super")]
            records: Vec<Record>,
            end: u64,
        }
        let message = Message {
            records: records(),
            end: 9,
        };
        let bytes = postcard::to_stdvec(&message).unwrap();
        let inner = encode(&message.records);
        assert_eq!(
            bytes,
            postcard::to_stdvec(&(&serde_bytes_of(&inner), 9u64)).unwrap()
        );
        assert_eq!(postcard::from_bytes::<Message>(&bytes).unwrap(), message);
        let json = serde_json::to_string(&message).unwrap();
        assert_eq!(serde_json::from_str::<Message>(&json).unwrap(), message);
        // The sink's view: the count and the bytes, unchanged.
        let (encoded, end): (Encoded, u64) = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(
            (encoded.count, encoded.bytes, end),
            (records().len() as u64, inner, 9)
        );
    }

    /// A byte string as serde writes one (postcard: a length, then the bytes).
    fn serde_bytes_of(bytes: &[u8]) -> impl serde::Serialize + '_ {
        struct B<'a>(&'a [u8]);
        impl serde::Serialize for B<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(self.0)
            }
        }
        B(bytes)
    }
}
