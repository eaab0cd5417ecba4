//! The one seam between the engine and the world it runs in. Only this
//! module names turmoil: network, filesystem, time and spawning all come
//! from here, so swapping the world (or faulting it) happens in one place.

use std::path::Path;
use std::time::Duration;

pub use tokio::sync::mpsc;
pub use tokio::task::{spawn_local as spawn, JoinHandle};
pub use tokio::time::{sleep, timeout, Instant};
pub use turmoil::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
pub use turmoil::net::{TcpListener, TcpStream};

/// Simulated time since the run started; the same clock on every host, and
/// it keeps running across a host's crash and restart.
pub fn now() -> Duration {
    turmoil::sim_elapsed().unwrap_or_default()
}

/// Durable files on the host's simulated disk. Writes that return `Ok` have
/// been synced, file and directory, so they survive a crash.
pub mod disk {
    use super::*;
    use std::io::{self, Write};
    use turmoil::fs::shim::std::fs;

    /// Write `bytes` at `path` atomically: temp file, fsync, rename, fsync dir.
    pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
        let dir = parent(path);
        fs::create_dir_all(dir)?;
        let tmp = path.with_extension("tmp");
        let mut file = fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        fs::sync_dir(dir)
    }

    /// Rename durably (both entries synced).
    pub fn rename(from: &Path, to: &Path) -> io::Result<()> {
        fs::create_dir_all(parent(to))?;
        fs::rename(from, to)?;
        fs::sync_dir(parent(from))?;
        fs::sync_dir(parent(to))
    }

    pub fn remove(path: &Path) -> io::Result<()> {
        match fs::remove_file(path) {
            Ok(()) => fs::sync_dir(parent(path)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `None` when the file does not exist.
    pub fn read(path: &Path) -> io::Result<Option<Vec<u8>>> {
        match fs::read(path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// File names in `dir`, sorted; empty when `dir` does not exist.
    pub fn list(dir: &Path) -> io::Result<Vec<String>> {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut names = Vec::new();
        for entry in entries {
            let name = entry?.file_name().to_string_lossy().into_owned();
            if !name.ends_with(".tmp") {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    fn parent(path: &Path) -> &Path {
        path.parent().unwrap_or(Path::new("/"))
    }
}

/// Addresses of the hosts (names are the contract scenarios target).
pub mod addr {
    pub const JOBMANAGER: &str = "jobmanager";
    pub const LOG: &str = "log";
    pub const SINK: &str = "sink";
    pub const STORE: &str = "store";

    pub const JOBMANAGER_PORT: u16 = 6123;
    pub const DATA_PORT: u16 = 6121;
    pub const LOG_PORT: u16 = 9092;
    pub const SINK_PORT: u16 = 9093;
    pub const STORE_PORT: u16 = 9000;

    /// `taskmanager-1` is index 0.
    pub fn taskmanager(index: u32) -> String {
        format!("taskmanager-{}", index + 1)
    }
}
