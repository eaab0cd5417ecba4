//! Paths as the simulated filesystem keeps them (flinch patch 10, PATCHES.md).
//!
//! `std::path::Path` compares and hashes paths component by component, so
//! that `/a//b/` and `/a/./b` are the same path as `/a/b`: its `Hash` walks
//! every byte looking for separators, and its `==` parses components from
//! the back whenever the two byte strings differ. The filesystem does both
//! many times per operation (every map lookup hashes, every scan of the
//! pending operations compares). Instead, every path is normalized once,
//! where it enters the filesystem ([`normalize`]), and from then on it is
//! compared and hashed as bytes: for normalized paths, equal bytes and
//! equal components are the same thing.

use indexmap::Equivalent;
use std::borrow::Cow;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::path::{Path, PathBuf};

/// `path` in the form its components give (`Path::components` collected):
/// repeated separators, `.` components other than a leading one, and a
/// trailing separator removed. Two paths are equal as `Path`s exactly when
/// their normalized forms are equal as bytes.
/// Borrowed when `path` is normal already, as almost every path is: the
/// filesystem copies a path only where it keeps it.
pub(crate) fn normalize(path: &Path) -> Cow<'_, Path> {
    if is_normal(bytes(path)) {
        Cow::Borrowed(path)
    } else {
        Cow::Owned(path.components().collect())
    }
}

/// Whether `path` is already what [`normalize`] makes of it (on Unix, where
/// `/` is the only separator and there is no prefix): no separator is
/// followed by another, or by a `.` component, and none ends the path
/// unless it is the whole path.
fn is_normal(path: &[u8]) -> bool {
    if path.len() > 1 && path.ends_with(b"/") {
        return false;
    }
    let mut rest = path;
    while let Some(at) = rest.iter().position(|&b| b == b'/') {
        rest = &rest[at + 1..];
        match rest {
            [b'/', ..] | [b'.'] | [b'.', b'/', ..] => return false,
            _ => {}
        }
    }
    true
}

fn bytes(path: &Path) -> &[u8] {
    path.as_os_str().as_encoded_bytes()
}

/// The parent of normalized `path` as bytes, as `Path::parent` gives it:
/// `None` for the root and the empty path.
fn parent(path: &[u8]) -> Option<&[u8]> {
    if path.is_empty() || path == b"/" {
        return None;
    }
    Some(match path.iter().rposition(|&b| b == b'/') {
        Some(0) => b"/",
        Some(at) => &path[..at],
        None => b"",
    })
}

/// The parent of normalized `path`, as `Path::parent` gives it, found
/// without parsing components.
#[cfg(unix)]
pub(crate) fn parent_of(path: &Path) -> Option<&Path> {
    use std::os::unix::ffi::OsStrExt;
    parent(bytes(path)).map(|p| Path::new(std::ffi::OsStr::from_bytes(p)))
}

#[cfg(not(unix))]
pub(crate) fn parent_of(path: &Path) -> Option<&Path> {
    path.parent()
}

/// A normalized path ([`normalize`]), compared and hashed by its bytes.
/// Derefs to `Path` for everything else. Looked up in the filesystem's
/// maps through [`Key`]. It deliberately does not implement
/// `Borrow<Path>`: a map lookup by `&Path` would hash with `Path`'s own
/// hash and miss.
#[derive(Clone, Debug, PartialOrd, Ord)]
pub(crate) struct FsPath(PathBuf);

impl FsPath {
    pub(crate) fn bytes(&self) -> &[u8] {
        bytes(&self.0)
    }

    /// Whether `dir` is this path's parent (`self.parent() == Some(dir)`,
    /// for a normalized `dir`).
    pub(crate) fn is_in(&self, dir: &Path) -> bool {
        debug_assert!(is_normal(bytes(dir)), "{dir:?} is not normalized");
        parent(self.bytes()) == Some(bytes(dir))
    }

    pub(crate) fn into_path_buf(self) -> PathBuf {
        self.0
    }
}

impl From<&Path> for FsPath {
    fn from(path: &Path) -> FsPath {
        debug_assert!(is_normal(bytes(path)), "{path:?} is not normalized");
        FsPath(path.to_path_buf())
    }
}

impl From<PathBuf> for FsPath {
    fn from(path: PathBuf) -> FsPath {
        debug_assert!(is_normal(bytes(&path)), "{path:?} is not normalized");
        FsPath(path)
    }
}

impl Deref for FsPath {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for FsPath {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl PartialEq for FsPath {
    fn eq(&self, other: &FsPath) -> bool {
        self.bytes() == other.bytes()
    }
}

impl Eq for FsPath {}

impl PartialEq<Path> for FsPath {
    fn eq(&self, other: &Path) -> bool {
        self.bytes() == bytes(other)
    }
}

impl Hash for FsPath {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(self.bytes());
    }
}

/// A normalized `&Path` to look an [`FsPath`] up by, hashed as it is.
#[derive(Clone, Copy)]
pub(crate) struct Key<'a>(pub(crate) &'a Path);

/// The [`Key`] to look normalized `path` up by.
pub(crate) fn key<P: AsRef<Path> + ?Sized>(path: &P) -> Key<'_> {
    let path = path.as_ref();
    debug_assert!(is_normal(bytes(path)), "{path:?} is not normalized");
    Key(path)
}

impl Hash for Key<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(bytes(self.0));
    }
}

impl Equivalent<FsPath> for Key<'_> {
    fn equivalent(&self, key: &FsPath) -> bool {
        bytes(self.0) == key.bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every string of up to 6 bytes over `/`, `.` and `a`.
    fn strings() -> Vec<String> {
        let mut all = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..6 {
            let next: Vec<String> = last
                .iter()
                .flat_map(|s| ["/", ".", "a"].map(|c| format!("{s}{c}")))
                .collect();
            all.extend(next.iter().cloned());
            last = next;
        }
        all
    }

    #[test]
    fn normalize_is_what_components_give() {
        for s in strings() {
            let path = Path::new(&s);
            let collected: PathBuf = path.components().collect();
            assert_eq!(normalize(path), collected.as_path(), "{s:?}");
            assert_eq!(
                matches!(normalize(path), Cow::Borrowed(_)),
                is_normal(bytes(path))
            );
            assert!(is_normal(bytes(&collected)), "{s:?} -> {collected:?}");
        }
    }

    #[test]
    fn normalized_bytes_are_equal_exactly_when_paths_are() {
        let all = strings();
        let normal: Vec<PathBuf> = all
            .iter()
            .map(|s| normalize(Path::new(s)).into_owned())
            .collect();
        for (i, a) in all.iter().enumerate().step_by(7) {
            for (j, b) in all.iter().enumerate() {
                let same = Path::new(a) == Path::new(b);
                assert_eq!(same, bytes(&normal[i]) == bytes(&normal[j]), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn parent_is_what_path_gives() {
        for s in strings() {
            let path = normalize(Path::new(&s));
            let std = path.parent().map(bytes);
            assert_eq!(parent(bytes(&path)), std, "{s:?}");
            assert_eq!(parent_of(&path), path.parent(), "{s:?}");
            if let Some(dir) = path.parent() {
                assert!(FsPath::from(&*path).is_in(dir), "{s:?}");
            }
        }
    }

    /// Pseudo-random byte strings over a wider alphabet (two letters, a
    /// multi-byte UTF-8 character, a byte that is not UTF-8, `..`), up to
    /// 14 bytes (a review's property test).
    #[cfg(unix)]
    fn random_paths() -> Vec<PathBuf> {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;
        let pieces: [&[u8]; 8] = [
            b"/",
            b"/",
            b".",
            b"..",
            b"a",
            b"b",
            "\u{e9}".as_bytes(),
            b"\xff",
        ];
        let mut x: u64 = 0x9e3779b97f4a7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        (0..20_000)
            .map(|_| {
                let mut s = Vec::new();
                for _ in 0..next() % 9 {
                    s.extend_from_slice(pieces[(next() % 8) as usize]);
                }
                PathBuf::from(OsStr::from_bytes(&s))
            })
            .collect()
    }

    #[cfg(unix)]
    #[test]
    fn normalize_parent_and_is_in_agree_with_path_on_a_wider_alphabet() {
        let all = random_paths();
        let normal: Vec<PathBuf> = all.iter().map(|p| normalize(p).into_owned()).collect();
        for (p, n) in all.iter().zip(&normal) {
            let collected: PathBuf = p.components().collect();
            assert_eq!(bytes(n), bytes(&collected), "{p:?}");
            assert!(is_normal(bytes(n)), "{p:?}");
            assert_eq!(p.as_path(), n.as_path(), "{p:?}");
            assert_eq!(parent_of(n), n.parent(), "{p:?}");
            if let Some(up) = n.parent() {
                // `create_dir_all` walks `Path::parent` of a normalized path.
                assert!(is_normal(bytes(up)), "{p:?}: parent {up:?}");
            }
        }
        for (i, a) in normal.iter().enumerate().step_by(97) {
            let path = FsPath::from(a.clone());
            for (j, d) in normal.iter().enumerate() {
                assert_eq!(
                    path.is_in(d),
                    a.parent() == Some(d.as_path()),
                    "{a:?} in {d:?}"
                );
                let same = all[i].as_path() == all[j].as_path();
                assert_eq!(same, bytes(a) == bytes(d), "{:?} {:?}", all[i], all[j]);
            }
        }
    }
}
