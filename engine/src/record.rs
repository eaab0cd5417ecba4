//! Records: the engine's own ([`Record`], bytes with a timestamp and an
//! origin, as channels and the sink carry them), the reference job's typed
//! ones, and the identities that tie an output record back to the input
//! record that produced it.

use crate::text::{Ascii, TextVisitor};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A record inside the engine (the records of docs/dataflow.md; Flink's
/// `StreamRecord`): key and value are the postcard encodings
/// ([`encode`]) of an operator's typed key and value, so records are bytes
/// at channel boundaries and typed only inside an operator.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Record {
    /// The serialized key: its FNV-1a 64 decides the key group (`keygroup`).
    pub key: Bytes,
    /// The serialized value.
    pub value: Bytes,
    /// Event time in milliseconds. keyed-count's input carries no event
    /// time: its records are at 0.
    pub timestamp: u64,
    /// `(partition, offset)` of the input record whose processing produced
    /// this one, inherited along the chain; `None` for output a timer emits.
    pub origin: Option<(u32, u64)>,
}

pub mod batch;

/// The bytes of a record's key or value (or any [`encode`]d value): up to
/// [`Bytes::INLINE`] bytes are held inline, so the keys and small values
/// most records carry cost no allocation; longer ones live on the heap.
/// Compares, orders, hashes and prints as the byte slice it holds, and
/// serializes as serde bytes: postcard's encoding of a `Vec<u8>` (a varint
/// length, then the bytes).
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bytes(smallvec::SmallVec<[u8; Bytes::INLINE]>);

impl Bytes {
    /// How many bytes are held without an allocation: an encoded `u64`
    /// takes at most 10.
    pub const INLINE: usize = 16;

    /// No bytes.
    #[inline]
    pub const fn new() -> Bytes {
        Bytes(smallvec::SmallVec::new_const())
    }

    /// A copy of `bytes`.
    #[inline]
    pub fn from_slice(bytes: &[u8]) -> Bytes {
        Bytes(smallvec::SmallVec::from_slice(bytes))
    }

    /// The first `len` bytes of `buf` (at most [`Bytes::INLINE`]), inline:
    /// a fixed-size copy, cheaper than copying `len` bytes for short ones.
    ///
    /// # Panics
    /// If `len` exceeds [`Bytes::INLINE`].
    #[inline]
    pub fn from_prefix(buf: [u8; Bytes::INLINE], len: usize) -> Bytes {
        Bytes(smallvec::SmallVec::from_buf_and_len(buf, len))
    }

    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }

    /// Whether the bytes live on the heap (more than [`Bytes::INLINE`]).
    #[inline]
    pub fn spilled(&self) -> bool {
        self.0.spilled()
    }

    /// The bytes as a vector (no copy when they are on the heap).
    #[inline]
    pub fn into_vec(self) -> Vec<u8> {
        self.0.into_vec()
    }
}

impl std::ops::Deref for Bytes {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl AsRef<[u8]> for Bytes {
    #[inline]
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl std::borrow::Borrow<[u8]> for Bytes {
    #[inline]
    fn borrow(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Bytes {
    #[inline]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_slice(), f)
    }
}

impl From<Vec<u8>> for Bytes {
    /// Inline when short enough, else the vector's own buffer.
    #[inline]
    fn from(v: Vec<u8>) -> Bytes {
        if v.len() <= Bytes::INLINE {
            Bytes::from_slice(&v)
        } else {
            Bytes(smallvec::SmallVec::from_vec(v))
        }
    }
}

impl From<&[u8]> for Bytes {
    #[inline]
    fn from(v: &[u8]) -> Bytes {
        Bytes::from_slice(v)
    }
}

impl<const N: usize> From<[u8; N]> for Bytes {
    #[inline]
    fn from(v: [u8; N]) -> Bytes {
        Bytes::from_slice(&v)
    }
}

impl From<Bytes> for Vec<u8> {
    #[inline]
    fn from(b: Bytes) -> Vec<u8> {
        b.into_vec()
    }
}

impl PartialEq<[u8]> for Bytes {
    #[inline]
    fn eq(&self, other: &[u8]) -> bool {
        self.as_slice() == other
    }
}

impl PartialEq<Vec<u8>> for Bytes {
    #[inline]
    fn eq(&self, other: &Vec<u8>) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl PartialEq<Bytes> for Vec<u8> {
    #[inline]
    fn eq(&self, other: &Bytes) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Serialize for Bytes {
    #[inline]
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self)
    }
}

impl<'de> Deserialize<'de> for Bytes {
    #[inline]
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
        d.deserialize_byte_buf(BytesVisitor)
    }
}

struct BytesVisitor;

impl<'de> serde::de::Visitor<'de> for BytesVisitor {
    type Value = Bytes;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a byte string")
    }

    fn visit_bytes<E>(self, v: &[u8]) -> Result<Bytes, E> {
        Ok(Bytes::from_slice(v))
    }

    fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Bytes, E> {
        Ok(Bytes::from(v))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Bytes, A::Error> {
        let mut out = smallvec::SmallVec::new();
        while let Some(byte) = seq.next_element()? {
            out.push(byte);
        }
        Ok(Bytes(out))
    }
}

/// The engine's encoding of keys, values and state: postcard, whose
/// encoding is canonical (equal values, equal bytes), so serialized keys
/// can be compared and hashed. Errors: only types postcard cannot encode
/// (a sequence of unknown length).
///
/// A value of at most [`SMALL`] bytes (keys, counts: most of what a record
/// carries) is encoded on the stack first and copied into a vector of its
/// size, one allocation and no regrowth; a larger one is encoded again
/// into a growing vector.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Bytes, postcard::Error> {
    // Most keys and values fit inline.
    match encode_inline(value) {
        Ok(bytes) => return Ok(bytes),
        Err(postcard::Error::SerializeBufferFull) => {}
        Err(e) => return Err(e),
    }
    let mut small = [0u8; SMALL];
    match postcard::to_slice(value, &mut small) {
        Ok(bytes) => Ok(Bytes::from_slice(bytes)),
        Err(postcard::Error::SerializeBufferFull) => postcard::to_stdvec(value).map(Bytes::from),
        Err(e) => Err(e),
    }
}

/// `value`'s postcard encoding if it fits in [`Bytes::INLINE`] bytes, else
/// `Err(postcard::Error::SerializeBufferFull)`; other errors as [`encode`].
///
/// The bytes are gathered in a register ([`Inline`]), not written to a
/// buffer on the stack and copied: postcard copies each varint into its
/// output with a call to `memcpy` of a few bytes, and reading the buffer
/// back whole right after those narrow writes stalls the processor
/// (store-to-load forwarding fails), which was most of the keyed operator's
/// time per output record.
#[inline]
pub(crate) fn encode_inline<T: Serialize + ?Sized>(value: &T) -> Result<Bytes, postcard::Error> {
    postcard::serialize_with_flavor(value, Inline::default())
}

/// A postcard output ([`postcard::ser_flavors::Flavor`]) of at most
/// [`Bytes::INLINE`] bytes, held in a `u128` (little-endian: the first byte
/// lowest), that finishes as inline [`Bytes`]. One byte more is
/// `Err(postcard::Error::SerializeBufferFull)`, as `postcard::to_slice`
/// gives for a full slice.
#[derive(Default)]
struct Inline {
    bytes: u128,
    len: usize,
}

const _: () = assert!(Bytes::INLINE == std::mem::size_of::<u128>());

impl postcard::ser_flavors::Flavor for Inline {
    type Output = Bytes;

    #[inline]
    fn try_push(&mut self, data: u8) -> postcard::Result<()> {
        if self.len == Bytes::INLINE {
            return Err(postcard::Error::SerializeBufferFull);
        }
        self.bytes |= u128::from(data) << (8 * self.len);
        self.len += 1;
        Ok(())
    }

    #[inline]
    fn finalize(self) -> postcard::Result<Bytes> {
        Ok(Bytes::from_prefix(self.bytes.to_le_bytes(), self.len))
    }
}

/// The size, in bytes, up to which [`encode`] encodes on the stack.
pub const SMALL: usize = 64;

/// The inverse of [`encode`]. Errors: bytes that are not the postcard form
/// of a `T`, all of them: a `T` read from their beginning with bytes left
/// over is an error too ([`postcard::Error::DeserializeBadEncoding`]), or
/// a stage that reads another type than the one before it wrote (`u32`
/// from a `(u32, u32)`) would read a prefix and go on.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, postcard::Error> {
    match postcard::take_from_bytes(bytes)? {
        (value, []) => Ok(value),
        (_, _) => Err(postcard::Error::DeserializeBadEncoding),
    }
}

/// [`decode`] of an unsigned integer (`u16`, `u32`, `u64`) whose postcard
/// varint is all of `bytes`, read inline when it is one to three bytes in
/// its shortest form (values below 2^21: keyed-count's keys and counts);
/// anything else goes to [`decode`]. Errors: as [`decode`], and a value
/// that does not fit a `T`.
#[inline]
pub fn decode_uint<T>(bytes: &[u8]) -> Result<T, postcard::Error>
where
    T: DeserializeOwned + TryFrom<u64>,
{
    let short = match *bytes {
        [b0] if b0 < 0x80 => Some(u64::from(b0)),
        [b0, b1] if b0 >= 0x80 && b1 < 0x80 && b1 != 0 => {
            Some(u64::from(b0 & 0x7f) | u64::from(b1) << 7)
        }
        [b0, b1, b2] if b0 >= 0x80 && b1 >= 0x80 && b2 < 0x80 && b2 != 0 => {
            Some(u64::from(b0 & 0x7f) | u64::from(b1 & 0x7f) << 7 | u64::from(b2) << 14)
        }
        _ => None,
    };
    match short.map(T::try_from) {
        Some(Ok(value)) => Ok(value),
        _ => decode(bytes),
    }
}

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

impl InputRecord {
    /// The engine record a source emits for this log record: key the
    /// encoded `u32` key, value `()` (no bytes), timestamp 0, origin
    /// `(partition, offset)`.
    pub fn to_record(&self) -> Record {
        // Postcard's encoding of a u32, a varint, written here directly:
        // the input of a run is made of these.
        let (mut key, mut k, mut n) = ([0u8; Bytes::INLINE], self.key, 0);
        while k >= 0x80 {
            key[n] = k as u8 | 0x80;
            k >>= 7;
            n += 1;
        }
        key[n] = k as u8;
        Record {
            key: Bytes::from_prefix(key, n + 1),
            value: Bytes::new(),
            timestamp: 0,
            origin: Some((self.partition, self.offset)),
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TxnId {
    pub subtask: u32,
    pub epoch: u64,
    pub checkpoint: u64,
}

impl TxnId {
    /// The text form, `txn-s0-e2-c5`, on the stack: its 9 fixed bytes and
    /// up to 10 + 20 + 20 digits fit in 64.
    pub(crate) fn text(&self) -> Ascii<64> {
        let mut text = Ascii::new();
        text.push("txn-s")
            .uint(u64::from(self.subtask))
            .push("-e")
            .uint(self.epoch)
            .push("-c")
            .uint(self.checkpoint);
        text
    }

    /// Parse the text form `txn-s0-e2-c5`.
    ///
    /// # Errors
    /// Text that is not `txn-s<subtask>-e<epoch>-c<checkpoint>` with
    /// decimal numbers that fit their fields.
    pub fn parse(text: &str) -> Result<TxnId, String> {
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

impl fmt::Display for TxnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text().as_str())
    }
}

impl From<TxnId> for String {
    fn from(txn: TxnId) -> String {
        txn.text().as_str().to_owned()
    }
}

impl TryFrom<String> for TxnId {
    type Error = String;

    fn try_from(text: String) -> Result<TxnId, String> {
        TxnId::parse(&text)
    }
}

impl Serialize for TxnId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.text().as_str())
    }
}

impl<'de> Deserialize<'de> for TxnId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<TxnId, D::Error> {
        let expecting = "a transaction id like \"txn-s0-e2-c5\"";
        deserializer.deserialize_str(TextVisitor::new(expecting, TxnId::parse))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value read from the beginning with bytes left over is not the
    /// encoding of that type: a stage reading a `u32` where the one
    /// before wrote a `(u32, u32)` is told so, not handed the first half.
    #[test]
    fn decode_refuses_bytes_left_over() {
        let pair = encode(&(1u32, 2u32)).unwrap();
        assert_eq!(decode::<(u32, u32)>(&pair), Ok((1, 2)));
        assert_eq!(
            decode::<u32>(&pair),
            Err(postcard::Error::DeserializeBadEncoding)
        );
        assert_eq!(decode_uint::<u32>(&pair), decode::<u32>(&pair));
        let text = encode("hello").unwrap();
        assert!(decode::<u8>(&text).is_err());
        assert_eq!(decode::<String>(&text).as_deref(), Ok("hello"));
    }

    /// `decode_uint` decides as postcard does, on every string of up to
    /// two bytes and on three-byte strings around each boundary.
    #[test]
    fn decode_uint_agrees_with_postcard() {
        fn same(bytes: &[u8]) {
            assert_eq!(decode_uint::<u16>(bytes), decode::<u16>(bytes), "{bytes:?}");
            assert_eq!(decode_uint::<u32>(bytes), decode::<u32>(bytes), "{bytes:?}");
            assert_eq!(decode_uint::<u64>(bytes), decode::<u64>(bytes), "{bytes:?}");
        }
        same(&[]);
        for b0 in 0..=255u8 {
            same(&[b0]);
            for b1 in 0..=255u8 {
                same(&[b0, b1]);
                for b2 in [0, 1, 2, 3, 4, 0x7f, 0x80, 0xff] {
                    same(&[b0, b1, b2]);
                }
            }
        }
        for v in [
            0u64,
            127,
            128,
            16_383,
            16_384,
            (1 << 21) - 1,
            1 << 21,
            u64::MAX,
        ] {
            let bytes = postcard::to_stdvec(&v).unwrap();
            same(&bytes);
            assert_eq!(decode_uint::<u64>(&bytes), Ok(v));
        }
    }

    /// `encode_inline` gives `postcard::to_slice`'s bytes into 16, and its
    /// errors: every integer width at its varint boundaries, strings of 0
    /// to 20 bytes (one more than fits, and more), nested values, and a
    /// sequence of unknown length (which postcard refuses).
    #[test]
    fn encode_inline_is_postcard_into_sixteen_bytes() {
        fn same<T: Serialize + ?Sized + std::fmt::Debug>(value: &T) {
            let mut buf = [0u8; Bytes::INLINE];
            let expected = postcard::to_slice(value, &mut buf).map(|b| b.to_vec());
            let got = encode_inline(value).map(|b| b.to_vec());
            assert_eq!(got, expected, "{value:?}");
            if let Ok(bytes) = &got {
                assert_eq!(encode(value).unwrap().as_slice(), bytes.as_slice());
            }
        }
        for shift in 0..64 {
            for v in [(1u64 << shift) - 1, 1u64 << shift, (1u64 << shift) + 1] {
                same(&v);
                same(&(v as u32));
                same(&(v as u16));
                same(&(v as i64));
                same(&(v, v));
            }
        }
        same(&u128::MAX);
        same(&(u64::MAX, u64::MAX));
        for len in 0..=20 {
            let text = "x".repeat(len);
            same(text.as_str());
            same(&(7u8, Some(text.clone()), ()));
        }
        same(&[1u8, 2, 3][..]);
        struct Unknown;
        impl Serialize for Unknown {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq((0..3u8).take_while(|b| *b < 2))
            }
        }
        impl std::fmt::Debug for Unknown {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a sequence of unknown length")
            }
        }
        same(&Unknown);
        assert!(matches!(
            encode_inline(&Unknown),
            Err(postcard::Error::SerializeSeqLengthUnknown)
        ));
    }

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

    #[test]
    fn a_log_record_becomes_an_engine_record_keyed_by_its_encoded_key() {
        let input = InputRecord {
            key: 300,
            partition: 2,
            offset: 9,
        };
        let record = input.to_record();
        assert_eq!(record.key, vec![0xac, 0x02], "postcard varint of 300");
        for key in [0, 1, 127, 128, 16_383, 16_384, u32::MAX - 1, u32::MAX] {
            let record = InputRecord { key, ..input }.to_record();
            assert_eq!(record.key, encode(&key).unwrap(), "{key}");
        }
        assert_eq!(decode::<u32>(&record.key).unwrap(), 300);
        assert_eq!(record.value, encode(&()).unwrap());
        assert_eq!((record.timestamp, record.origin), (0, Some((2, 9))));
        assert!(decode::<u32>(&[0xff; 6]).is_err());
    }

    #[test]
    fn encode_writes_postcard_at_every_size() {
        // Below, at and above the stack buffer's size, and empty.
        for len in [0, 1, SMALL - 2, SMALL - 1, SMALL, SMALL + 1, 1000] {
            let value = vec![7u8; len];
            let bytes = encode(&value).unwrap();
            assert_eq!(bytes, postcard::to_stdvec(&value).unwrap(), "{len} bytes");
            assert_eq!(decode::<Vec<u8>>(&bytes).unwrap(), value);
        }
        assert_eq!(encode(&u64::MAX).unwrap().len(), 10);
        assert_eq!(encode(&()).unwrap(), Vec::<u8>::new());
    }

    /// Short bytes stay inline, long ones on the heap, and either way they
    /// compare, order, hash, print and encode as the byte vector would.
    #[test]
    fn bytes_behave_as_the_byte_vector_they_hold() {
        use std::hash::{BuildHasher, BuildHasherDefault};
        type Fixed = BuildHasherDefault<std::collections::hash_map::DefaultHasher>;
        for len in [0, 1, Bytes::INLINE, Bytes::INLINE + 1, 300] {
            let v: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let b = Bytes::from(v.clone());
            assert_eq!(b.spilled(), len > Bytes::INLINE, "len {len}");
            assert_eq!(b, v);
            assert_eq!(b.as_slice(), &v[..]);
            assert_eq!(format!("{b:?}"), format!("{v:?}"));
            assert_eq!(Fixed::default().hash_one(&b), Fixed::default().hash_one(&v));
            assert_eq!(
                postcard::to_stdvec(&b).unwrap(),
                postcard::to_stdvec(&v).unwrap()
            );
            let back: Bytes = postcard::from_bytes(&postcard::to_stdvec(&v).unwrap()).unwrap();
            assert_eq!(back, b);
            assert_eq!(b.clone().into_vec(), v);
        }
        let (a, b) = (Bytes::from_slice(&[1, 2]), Bytes::from(vec![1, 2, 0]));
        assert!(a < b && [1u8, 2][..] < [1u8, 2, 0][..]);
    }

    #[test]
    fn a_record_encodes_its_byte_strings_as_a_vec_of_bytes_would() {
        let record = Record {
            key: vec![1, 2, 3].into(),
            value: Vec::new().into(),
            timestamp: 5,
            origin: Some((1, 300)),
        };
        let plain = (
            vec![1u8, 2, 3],
            Vec::<u8>::new(),
            5u64,
            Some((1u32, 300u64)),
        );
        let bytes = encode(&record).unwrap();
        assert_eq!(bytes, encode(&plain).unwrap());
        assert_eq!(decode::<Record>(&bytes).unwrap(), record);
        let json = serde_json::to_string(&record).unwrap();
        assert_eq!(serde_json::from_str::<Record>(&json).unwrap(), record);
    }
}
