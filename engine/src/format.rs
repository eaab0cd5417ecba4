//! The versioned, checksummed format of everything a job keeps for its
//! recovery: the register of completed checkpoints, each checkpoint's
//! metadata, each task's state, the job's end, and task-local copies.
//!
//! A blob is a [`wire`] frame (`[len: u32][crc32: u32][body]`) whose body
//! starts with a header:
//!
//! | bytes | field |
//! |---|---|
//! | 4 | magic, `FLCH` |
//! | 2 | format version, little-endian ([`FORMAT_VERSION`]) |
//! | 1 | kind ([`BlobKind`]) |
//!
//! then the content: postcard for the register, metadata, end and local
//! copies; for task state, the checkpoint id and task (postcard) and then
//! the operator's snapshot bytes as they are. A reader checks, in order,
//! the length and crc32, the magic, the version (a blob of a newer format
//! is refused, never guessed at) and the kind (a blob read under another
//! blob's name is refused), then decodes. Each failure is a
//! [`FormatError`] naming what failed; callers trace it as a
//! `corrupt_read` and give the blob's checkpoint up when it keeps failing
//! (docs/storage.md, "Unreadable checkpoints").
//!
//! Flink's counterpart is the versioned serializer of checkpoint metadata
//! (`MetadataSerializers`, `MetadataV3Serializer`: a magic number and a
//! version before the content) and the per-state-handle checksums of its
//! file systems.

use crate::event::TaskId;
use crate::proto::StateHandle;
use crate::wire;
use serde::de::DeserializeOwned;
use serde::Serialize;
use thiserror::Error;

/// The format this build writes, and the newest it reads.
pub const FORMAT_VERSION: u16 = 1;

/// The first bytes of every blob's body.
pub const MAGIC: [u8; 4] = *b"FLCH";

/// Header bytes after the frame's: magic, version, kind.
const BLOB_HEADER: usize = 4 + 2 + 1;

/// What a blob holds; a blob of one kind never decodes as another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobKind {
    /// The register of completed checkpoints (`register::Register`).
    Register = 1,
    /// A completed checkpoint's metadata (`proto::CheckpointMeta`).
    Metadata = 2,
    /// One task's state of one checkpoint.
    State = 3,
    /// The job's end: finished, or failed with a reason.
    End = 4,
    /// A task-local copy of a task's state (task-local recovery).
    LocalCopy = 5,
}

impl BlobKind {
    fn from_byte(byte: u8) -> Option<BlobKind> {
        [
            BlobKind::Register,
            BlobKind::Metadata,
            BlobKind::State,
            BlobKind::End,
            BlobKind::LocalCopy,
        ]
        .into_iter()
        .find(|k| *k as u8 == byte)
    }

    /// The kind's name, for errors.
    pub fn name(self) -> &'static str {
        match self {
            BlobKind::Register => "register",
            BlobKind::Metadata => "checkpoint metadata",
            BlobKind::State => "task state",
            BlobKind::End => "job end",
            BlobKind::LocalCopy => "local state copy",
        }
    }
}

/// Why a blob did not read back.
#[derive(Debug, Error)]
pub enum FormatError {
    #[error("{0} bytes, shorter than a frame's {HEADER}-byte header", HEADER = wire::HEADER)]
    Truncated(usize),
    #[error("its length field says {said} bytes, and it holds {holds}")]
    Length { said: u32, holds: usize },
    #[error("crc32 {actual:08x}, expected {expected:08x}")]
    Checksum { expected: u32, actual: u32 },
    #[error("not a flinch blob (magic {0:02x?})")]
    Magic(Vec<u8>),
    #[error("a {} blob in format version {found}; this build reads up to {FORMAT_VERSION}", expected.name())]
    Version { expected: BlobKind, found: u16 },
    #[error("a {found} blob where a {} blob was expected", expected.name())]
    Kind {
        expected: BlobKind,
        found: &'static str,
    },
    #[error("undecodable {}: {error}", kind.name())]
    Body {
        kind: BlobKind,
        error: postcard::Error,
    },
    /// Task state of another checkpoint or task than the one restored.
    #[error("task state of {found_task} at checkpoint {found_checkpoint}, expected {task} at checkpoint {checkpoint}")]
    Owner {
        checkpoint: u64,
        task: TaskId,
        found_checkpoint: u64,
        found_task: TaskId,
    },
}

/// The frame with its header written, for `kind`.
fn start(kind: BlobKind) -> Vec<u8> {
    let mut frame = vec![0u8; wire::HEADER];
    frame.extend_from_slice(&MAGIC);
    frame.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    frame.push(kind as u8);
    frame
}

/// `value` as a blob of `kind`.
pub fn encode<T: Serialize>(kind: BlobKind, value: &T) -> Vec<u8> {
    let frame = postcard::to_extend(value, start(kind)).expect("in-memory postcard encoding");
    wire::seal(frame)
}

/// A blob of `kind` back as `T`; every check in the module's order.
pub fn decode<T: DeserializeOwned>(kind: BlobKind, blob: &[u8]) -> Result<T, FormatError> {
    let content = open(kind, blob)?;
    postcard::from_bytes(content).map_err(|error| FormatError::Body { kind, error })
}

/// Check a blob's frame and header; its content.
fn open(kind: BlobKind, blob: &[u8]) -> Result<&[u8], FormatError> {
    let body = frame_body(blob)?;
    if body.len() < BLOB_HEADER || body[..4] != MAGIC {
        return Err(FormatError::Magic(body.iter().take(4).copied().collect()));
    }
    let found = u16::from_le_bytes([body[4], body[5]]);
    if found == 0 || found > FORMAT_VERSION {
        return Err(FormatError::Version {
            expected: kind,
            found,
        });
    }
    if body[6] != kind as u8 {
        let found = BlobKind::from_byte(body[6]).map_or("unknown", BlobKind::name);
        return Err(FormatError::Kind {
            expected: kind,
            found,
        });
    }
    Ok(&body[BLOB_HEADER..])
}

/// A frame's body after its length and crc32 check out.
fn frame_body(blob: &[u8]) -> Result<&[u8], FormatError> {
    if blob.len() < wire::HEADER {
        return Err(FormatError::Truncated(blob.len()));
    }
    let said = u32::from_le_bytes(blob[0..4].try_into().expect("4 bytes"));
    let holds = blob.len() - wire::HEADER;
    if said as usize != holds {
        return Err(FormatError::Length { said, holds });
    }
    let expected = u32::from_le_bytes(blob[4..8].try_into().expect("4 bytes"));
    let actual = crc32fast::hash(&blob[wire::HEADER..]);
    if actual != expected {
        return Err(FormatError::Checksum { expected, actual });
    }
    Ok(&blob[wire::HEADER..])
}

/// Task `task`'s state of `checkpoint` as a blob: the operator's snapshot
/// bytes after the header, the checkpoint and the task.
pub fn encode_state(checkpoint: u64, task: TaskId, state: &[u8]) -> Vec<u8> {
    let mut frame = postcard::to_extend(&(checkpoint, task), start(BlobKind::State))
        .expect("in-memory postcard encoding");
    frame.extend_from_slice(state);
    wire::seal(frame)
}

/// The operator's snapshot bytes of a state blob, checked as [`decode`]
/// checks, and that it is `task`'s state of `checkpoint`.
pub fn decode_state(checkpoint: u64, task: TaskId, blob: &[u8]) -> Result<Vec<u8>, FormatError> {
    let content = open(BlobKind::State, blob)?;
    let ((found_checkpoint, found_task), state): ((u64, TaskId), &[u8]) =
        postcard::take_from_bytes(content).map_err(|error| FormatError::Body {
            kind: BlobKind::State,
            error,
        })?;
    if (found_checkpoint, found_task) != (checkpoint, task) {
        return Err(FormatError::Owner {
            checkpoint,
            task,
            found_checkpoint,
            found_task,
        });
    }
    Ok(state.to_vec())
}

/// The operator's snapshot bytes of the state blob `handle` names: its
/// size and crc32 as the handle records them, then [`decode_state`]'s
/// checks. `Err` says what failed. What every restore of task state
/// (from checkpoint storage or a task-local copy) and the jobmanager's own
/// verifying reads check.
pub fn open_state(
    handle: &StateHandle,
    checkpoint: u64,
    task: TaskId,
    blob: &[u8],
) -> Result<Vec<u8>, String> {
    let crc = crc32fast::hash(blob);
    if crc != handle.crc || blob.len() as u64 != handle.size {
        return Err(format!("crc {crc:08x}, expected {:08x}", handle.crc));
    }
    decode_state(checkpoint, task, blob).map_err(|e| e.to_string())
}

/// The operator's snapshot bytes of a state blob, checking nothing: what
/// the planted bug `unverified-restore` restores. Whatever follows the
/// header and the checkpoint and task, or the whole blob when even those
/// do not parse.
pub fn state_unchecked(blob: &[u8]) -> Vec<u8> {
    let content = blob.get(wire::HEADER + BLOB_HEADER..).unwrap_or(blob);
    match postcard::take_from_bytes::<(u64, TaskId)>(content) {
        Ok((_, state)) => state.to_vec(),
        Err(_) => blob.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task() -> TaskId {
        TaskId {
            vertex: crate::event::Vertex::new("count").expect("a valid vertex name"),
            subtask: 1,
        }
    }

    #[test]
    fn a_blob_round_trips_and_every_single_bit_flip_is_refused() {
        let blob = encode(BlobKind::Metadata, &(7u64, String::from("meta")));
        let back: (u64, String) = decode(BlobKind::Metadata, &blob).unwrap();
        assert_eq!(back, (7, "meta".into()));
        for i in 0..blob.len() {
            for bit in 0..8 {
                let mut bad = blob.clone();
                bad[i] ^= 1 << bit;
                assert!(
                    decode::<(u64, String)>(BlobKind::Metadata, &bad).is_err(),
                    "flip of bit {bit} in byte {i} went unnoticed"
                );
            }
        }
    }

    #[test]
    fn a_blob_of_another_kind_or_a_newer_version_is_refused_by_name() {
        let blob = encode(BlobKind::Register, &1u64);
        let err = decode::<u64>(BlobKind::Metadata, &blob).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a register blob where a checkpoint metadata blob was expected"
        );
        // The same blob written by a newer format: resealed, so only the
        // version is wrong.
        let mut newer = blob[wire::HEADER..].to_vec();
        newer[4..6].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
        let mut frame = vec![0u8; wire::HEADER];
        frame.extend_from_slice(&newer);
        let err = decode::<u64>(BlobKind::Register, &wire::seal(frame)).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "a register blob in format version {}; this build reads up to {FORMAT_VERSION}",
                FORMAT_VERSION + 1
            )
        );
        assert_eq!(
            decode::<u64>(BlobKind::Register, &blob[..5])
                .unwrap_err()
                .to_string(),
            "5 bytes, shorter than a frame's 8-byte header"
        );
        assert_eq!(
            decode::<u64>(BlobKind::Register, &blob[..blob.len() - 1])
                .unwrap_err()
                .to_string(),
            format!(
                "its length field says {} bytes, and it holds {}",
                blob.len() - wire::HEADER,
                blob.len() - wire::HEADER - 1
            )
        );
        // A bare wire frame (no header) is not a blob.
        let bare = wire::encode(&1u64);
        assert!(matches!(
            decode::<u64>(BlobKind::Register, &bare),
            Err(FormatError::Magic(_))
        ));
    }

    #[test]
    fn task_state_names_its_checkpoint_and_task() {
        let blob = encode_state(3, task(), b"operator bytes");
        assert_eq!(decode_state(3, task(), &blob).unwrap(), b"operator bytes");
        let err = decode_state(4, task(), &blob).unwrap_err();
        assert!(
            matches!(
                err,
                FormatError::Owner {
                    found_checkpoint: 3,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(state_unchecked(&blob), b"operator bytes");
        let mut bad = blob.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(decode_state(3, task(), &bad).is_err());
        assert_eq!(state_unchecked(&bad), b"operator byter");
    }
}
