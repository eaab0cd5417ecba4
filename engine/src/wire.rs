//! Framing for every connection: `[len: u32][crc32: u32][body]`, the body a
//! postcard-encoded message. A bad checksum or an undecodable body is an
//! error, never skipped.

use crate::io::{now, timeout, TcpStream};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::Duration;
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Frames larger than this are refused as corrupt (a garbled length).
pub const MAX_FRAME: u32 = 16 << 20;

#[derive(Debug, Error)]
pub enum WireError {
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("connection closed by peer")]
    Closed,
    #[error("frame checksum mismatch (expected {expected:08x}, got {actual:08x})")]
    Checksum { expected: u32, actual: u32 },
    #[error("a frame of {0} bytes exceeds the limit of {MAX_FRAME} bytes (16 MiB)")]
    TooLarge(u64),
    #[error("a frame's header gives its body {declared} bytes, but it has {actual}")]
    Length { declared: u32, actual: u64 },
    #[error("undecodable frame: {0}")]
    Decode(#[from] postcard::Error),
    #[error("timed out after {0:?}")]
    Timeout(Duration),
}

/// Encode one message into a complete frame, in a buffer of exactly its
/// size. The body is encoded after a reserved header into a scratch buffer
/// this thread keeps (so a large message does not grow a fresh buffer step
/// by step, reallocating and copying each time), then copied out once.
pub fn encode<T: Serialize>(msg: &T) -> Vec<u8> {
    thread_local! {
        static SCRATCH: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
    }
    // Taken out while in use: a nested call (a `Serialize` that encodes a
    // frame) finds it empty and grows its own.
    let mut buffer = SCRATCH.take();
    buffer.clear();
    buffer.resize(HEADER, 0);
    let buffer = postcard::to_extend(msg, buffer).expect("in-memory postcard encoding cannot fail");
    let frame = seal(buffer.clone());
    SCRATCH.set(buffer);
    frame
}

/// The length of a frame's header: `len: u32` then `crc32: u32`.
pub const HEADER: usize = 8;

/// Complete a frame whose body was written after [`HEADER`] placeholder
/// bytes (`frame[HEADER..]`): fill in the body's length and crc32. What
/// [`encode`] does after encoding, for a body put together from parts
/// that are already postcard bytes (the sink's transaction files).
///
/// # Panics
/// If `frame` is shorter than [`HEADER`] (a programming error), or its body
/// exceeds `u32::MAX` bytes (a frame that large is refused by every reader:
/// [`MAX_FRAME`] is 16 MiB).
pub fn seal(mut frame: Vec<u8>) -> Vec<u8> {
    let body = &frame[HEADER..];
    let len = u32::try_from(body.len()).expect("a frame body below 4 GiB");
    let crc = crc32fast::hash(body);
    frame[0..4].copy_from_slice(&len.to_le_bytes());
    frame[4..8].copy_from_slice(&crc.to_le_bytes());
    frame
}

/// Decode a complete frame (the inverse of [`encode`]).
pub fn decode<T: DeserializeOwned>(frame: &[u8]) -> Result<T, WireError> {
    Ok(postcard::from_bytes(body(frame)?)?)
}

/// The body of a complete frame, its length and checksum verified, for a
/// reader that decodes it by hand. Errors: a frame shorter than its
/// header ([`WireError::Closed`]), a length that is not the body's
/// ([`WireError::Length`]), a checksum mismatch.
pub fn body(frame: &[u8]) -> Result<&[u8], WireError> {
    if frame.len() < HEADER {
        return Err(WireError::Closed);
    }
    let len = u32::from_le_bytes(frame[0..4].try_into().expect("4 bytes"));
    if len as usize != frame.len() - HEADER {
        let actual = (frame.len() - HEADER) as u64;
        return Err(WireError::Length {
            declared: len,
            actual,
        });
    }
    let expected = u32::from_le_bytes(frame[4..8].try_into().expect("4 bytes"));
    checked(expected, &frame[HEADER..])
}

fn checked(expected: u32, body: &[u8]) -> Result<&[u8], WireError> {
    let actual = crc32fast::hash(body);
    if actual != expected {
        return Err(WireError::Checksum { expected, actual });
    }
    Ok(body)
}

pub async fn send<W: AsyncWrite + Unpin, T: Serialize>(
    w: &mut W,
    msg: &T,
) -> Result<(), WireError> {
    send_encoded(w, &encode(msg)).await
}

/// Write a frame [`encode`] made (or one encoded as it would have).
/// Errors: a body larger than [`MAX_FRAME`], which every reader refuses
/// (a batch, a snapshot or a transaction too large for one message): said
/// here, with its size, rather than as the connection reset the reader's
/// refusal would give; nothing is written.
pub async fn send_encoded<W: AsyncWrite + Unpin>(w: &mut W, frame: &[u8]) -> Result<(), WireError> {
    let body = frame.len().saturating_sub(HEADER) as u64;
    if body > u64::from(MAX_FRAME) {
        return Err(WireError::TooLarge(body));
    }
    w.write_all(frame).await?;
    Ok(())
}

pub async fn recv<R: AsyncRead + Unpin, T: DeserializeOwned>(r: &mut R) -> Result<T, WireError> {
    let mut header = [0u8; 8];
    match r.read_exact(&mut header).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Err(WireError::Closed),
        Err(e) => return Err(e.into()),
    }
    let len = u32::from_le_bytes(header[0..4].try_into().expect("4 bytes"));
    if len > MAX_FRAME {
        return Err(WireError::TooLarge(u64::from(len)));
    }
    let expected = u32::from_le_bytes(header[4..8].try_into().expect("4 bytes"));
    // Read into the vector's capacity, not into zeros first, as tokio's
    // `read_exact` reads: until the frame is whole, never past it, an
    // interrupted read tried again, and an end of stream before then the
    // error it gives.
    let len = len as usize;
    let mut body = Vec::with_capacity(len);
    while body.len() < len {
        let left = (len - body.len()) as u64;
        match (&mut *r).take(left).read_buf(&mut body).await {
            Ok(0) => {
                let early = std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "early eof");
                return Err(early.into());
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(postcard::from_bytes(checked(expected, &body)?)?)
}

/// A request/response client for the `log`, `sink` and `store` hosts. Every
/// call is bounded by `limit`; any error poisons the connection, so the
/// caller reconnects or fails its task.
pub struct RpcClient {
    stream: TcpStream,
    limit: Duration,
}

impl RpcClient {
    pub async fn connect(host: &str, port: u16, limit: Duration) -> Result<Self, WireError> {
        let stream = timeout(limit, TcpStream::connect((host, port)))
            .await
            .map_err(|_| WireError::Timeout(limit))??;
        Ok(RpcClient { stream, limit })
    }

    /// The simulated time by which a call made now gives up: what a write
    /// request carries as its `deadline`.
    pub fn deadline(&self) -> Duration {
        now() + self.limit
    }

    pub async fn call<Q: Serialize, A: DeserializeOwned>(
        &mut self,
        req: &Q,
    ) -> Result<A, WireError> {
        let limit = self.limit;
        let exchange = async {
            send(&mut self.stream, req).await?;
            recv(&mut self.stream).await
        };
        timeout(limit, exchange)
            .await
            .map_err(|_| WireError::Timeout(limit))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_round_trips_and_every_single_byte_flip_is_detected() {
        let msg = (7u32, String::from("hello"), vec![1u64, 2, 3]);
        let frame = encode(&msg);
        assert_eq!(decode::<(u32, String, Vec<u64>)>(&frame).unwrap(), msg);
        for i in 0..frame.len() {
            for bit in 0..8 {
                let mut bad = frame.clone();
                bad[i] ^= 1 << bit;
                assert!(
                    decode::<(u32, String, Vec<u64>)>(&bad).is_err(),
                    "flip of bit {bit} in byte {i} went unnoticed"
                );
            }
        }
    }

    #[test]
    fn a_frame_is_its_bodys_length_and_crc32_then_the_body() {
        // The layout every reader (`decode`, `recv`, files on disk) relies on.
        for msg in [Vec::new(), vec![7u8; 3], vec![1u8; 300]] {
            let body = postcard::to_stdvec(&msg).unwrap();
            let frame = encode(&msg);
            assert_eq!(frame[0..4], (body.len() as u32).to_le_bytes());
            assert_eq!(frame[4..8], crc32fast::hash(&body).to_le_bytes());
            assert_eq!(frame[HEADER..], body[..]);
            let mut parts = vec![0u8; HEADER];
            parts.extend_from_slice(&body);
            assert_eq!(
                seal(parts),
                frame,
                "sealing the body's bytes frames it alike"
            );
        }
    }

    /// The writer refuses what every reader would: the message says the
    /// size and the limit, and nothing reaches the connection.
    #[test]
    fn a_frame_past_the_limit_is_refused_by_its_writer() {
        let body = vec![0u8; MAX_FRAME as usize + 1];
        let mut frame = vec![0u8; HEADER];
        frame.extend_from_slice(&body);
        let mut written: Vec<u8> = Vec::new();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        let error = rt
            .block_on(send_encoded(&mut written, &frame))
            .expect_err("too large");
        assert_eq!(
            error.to_string(),
            "a frame of 16777217 bytes exceeds the limit of 16777216 bytes (16 MiB)"
        );
        assert!(written.is_empty());
        let mut at_limit = vec![0u8; HEADER];
        at_limit.resize(HEADER + MAX_FRAME as usize, 0);
        rt.block_on(send_encoded(&mut written, &at_limit))
            .expect("a frame of the limit is sent");
    }

    #[test]
    fn a_truncated_frame_is_an_error() {
        let frame = encode(&42u64);
        for cut in 0..frame.len() {
            assert!(decode::<u64>(&frame[..cut]).is_err(), "cut at {cut}");
        }
    }
}
