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
//! the operator's snapshot bytes as they are. Every blob is version 1 but
//! checkpoint metadata holding task state inline, which is version 2
//! ([`encode_metadata`], [`INLINE_STATE_VERSION`]). A reader checks, in order,
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
use crate::proto::{CheckpointMeta, StateHandle};
use crate::wire;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::BTreeMap;
use thiserror::Error;

/// The format this build writes every blob in, but checkpoint metadata
/// that holds task state inline ([`INLINE_STATE_VERSION`]).
pub const FORMAT_VERSION: u16 = 1;

/// The format of checkpoint metadata holding at least one task's state
/// inline (`checkpoint.memory_threshold`): version 1's content, then a map
/// of task to state blob. Metadata without inline state is written in
/// version 1, byte for byte as before inline state existed; no other kind
/// of blob has a version 2. The newest version this build reads.
pub const INLINE_STATE_VERSION: u16 = 2;

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
    #[error("a {} blob in format version {found}; this build reads up to {}", expected.name(), newest(*expected))]
    Version { expected: BlobKind, found: u16 },
    /// Metadata holding inline state for a task it has no handle of.
    #[error("checkpoint metadata holds inline state of {0}, which it has no handle of")]
    InlineWithoutHandle(TaskId),
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

/// The newest format version of `kind` this build reads.
fn newest(kind: BlobKind) -> u16 {
    match kind {
        BlobKind::Metadata => INLINE_STATE_VERSION,
        _ => FORMAT_VERSION,
    }
}

/// The frame with its header written, for `kind`.
fn start(kind: BlobKind) -> Vec<u8> {
    start_version(kind, FORMAT_VERSION)
}

/// The frame with its header written, for `kind` in `version`.
fn start_version(kind: BlobKind, version: u16) -> Vec<u8> {
    let mut frame = vec![0u8; wire::HEADER];
    frame.extend_from_slice(&MAGIC);
    frame.extend_from_slice(&version.to_le_bytes());
    frame.push(kind as u8);
    frame
}

/// A handle as version 1 stores it: name, size, crc32.
type StoredHandle = (String, u64, u32);

/// Checkpoint metadata as version 1 stores it: checkpoint, epoch, offsets,
/// handles, drained (the fields of [`CheckpointMeta`] but its inline
/// state, in order).
type StoredMeta = (u64, u64, Vec<u64>, BTreeMap<TaskId, StoredHandle>, bool);

/// `meta` as a metadata blob: version 1 when no handle holds its state
/// inline, else [`INLINE_STATE_VERSION`] with the inline blobs after the
/// rest.
pub fn encode_metadata(meta: &CheckpointMeta) -> Vec<u8> {
    let handles: BTreeMap<TaskId, (&str, u64, u32)> = (meta.handles.iter())
        .map(|(task, h)| (*task, (h.name.as_str(), h.size, h.crc)))
        .collect();
    let stored = (
        meta.checkpoint,
        meta.epoch,
        &meta.offsets,
        &handles,
        meta.drained,
    );
    let inline: BTreeMap<TaskId, &Vec<u8>> = (meta.handles.iter())
        .filter_map(|(task, h)| h.inline.as_ref().map(|blob| (*task, blob)))
        .collect();
    let frame = if inline.is_empty() {
        postcard::to_extend(&stored, start(BlobKind::Metadata))
    } else {
        let header = start_version(BlobKind::Metadata, INLINE_STATE_VERSION);
        postcard::to_extend(&(stored, &inline), header)
    };
    wire::seal(frame.expect("in-memory postcard encoding"))
}

/// A metadata blob back as [`CheckpointMeta`], in either version; every
/// check [`decode`] makes, and that each inline blob has a handle.
pub fn decode_metadata(blob: &[u8]) -> Result<CheckpointMeta, FormatError> {
    let kind = BlobKind::Metadata;
    let (version, content) = open_version(kind, blob)?;
    let body = |error| FormatError::Body { kind, error };
    let (stored, inline): (StoredMeta, BTreeMap<TaskId, Vec<u8>>) = match version {
        INLINE_STATE_VERSION => postcard::from_bytes(content).map_err(body)?,
        _ => (
            postcard::from_bytes(content).map_err(body)?,
            BTreeMap::new(),
        ),
    };
    let (checkpoint, epoch, offsets, handles, drained) = stored;
    let mut handles: BTreeMap<TaskId, StateHandle> = (handles.into_iter())
        .map(|(task, (name, size, crc))| {
            let inline = None;
            (
                task,
                StateHandle {
                    name,
                    size,
                    crc,
                    inline,
                },
            )
        })
        .collect();
    for (task, blob) in inline {
        let handle = handles
            .get_mut(&task)
            .ok_or(FormatError::InlineWithoutHandle(task))?;
        handle.inline = Some(blob);
    }
    Ok(CheckpointMeta {
        checkpoint,
        epoch,
        offsets,
        handles,
        drained,
    })
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
    open_version(kind, blob).map(|(_, content)| content)
}

/// Check a blob's frame and header; its format version and content.
fn open_version(kind: BlobKind, blob: &[u8]) -> Result<(u16, &[u8]), FormatError> {
    let body = frame_body(blob)?;
    if body.len() < BLOB_HEADER || body[..4] != MAGIC {
        return Err(FormatError::Magic(body.iter().take(4).copied().collect()));
    }
    let found = u16::from_le_bytes([body[4], body[5]]);
    if found == 0 || found > newest(kind) {
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
    Ok((found, &body[BLOB_HEADER..]))
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

    fn meta(inline: Option<&[u8]>) -> CheckpointMeta {
        let handle = StateHandle {
            name: "chk-000003/e1-count-1".into(),
            size: 14,
            crc: 7,
            inline: inline.map(<[u8]>::to_vec),
        };
        CheckpointMeta {
            checkpoint: 3,
            epoch: 1,
            offsets: vec![10, 20],
            handles: BTreeMap::from([(task(), handle)]),
            drained: false,
        }
    }

    #[test]
    fn metadata_without_inline_state_is_version_1_as_before_and_with_it_version_2() {
        // Version 1 is the bytes the metadata had before inline state: its
        // fields in order, each handle's name, size and crc32.
        let uploaded = meta(None);
        let blob = encode_metadata(&uploaded);
        let h = &uploaded.handles[&task()];
        let before = (
            3u64,
            1u64,
            vec![10u64, 20],
            BTreeMap::from([(task(), (&h.name, 14u64, 7u32))]),
            false,
        );
        assert_eq!(blob, encode(BlobKind::Metadata, &before));
        assert_eq!(blob[wire::HEADER + 4..wire::HEADER + 6], 1u16.to_le_bytes());
        assert_eq!(decode_metadata(&blob).unwrap(), uploaded);
        let inline = meta(Some(b"the state blob"));
        let blob = encode_metadata(&inline);
        assert_eq!(blob[wire::HEADER + 4..wire::HEADER + 6], 2u16.to_le_bytes());
        assert_eq!(decode_metadata(&blob).unwrap(), inline);
        // Version 2 is for metadata only.
        let mut register = encode(BlobKind::Register, &1u64)[wire::HEADER..].to_vec();
        register[4..6].copy_from_slice(&INLINE_STATE_VERSION.to_le_bytes());
        let mut frame = vec![0u8; wire::HEADER];
        frame.extend_from_slice(&register);
        let err = decode::<u64>(BlobKind::Register, &wire::seal(frame)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a register blob in format version 2; this build reads up to 1"
        );
    }

    #[test]
    fn inline_state_of_a_task_without_a_handle_is_refused() {
        let stored = (
            3u64,
            1u64,
            Vec::<u64>::new(),
            BTreeMap::<TaskId, StoredHandle>::new(),
            false,
        );
        let inline = BTreeMap::from([(task(), b"orphan".to_vec())]);
        let header = start_version(BlobKind::Metadata, INLINE_STATE_VERSION);
        let frame = postcard::to_extend(&(stored, inline), header).unwrap();
        let err = decode_metadata(&wire::seal(frame)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "checkpoint metadata holds inline state of count[1], which it has no handle of"
        );
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
