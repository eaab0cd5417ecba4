//! The one seam between the engine and the world it runs in. Only this
//! module names turmoil: network, filesystem, time and spawning all come
//! from here, so swapping the world (or faulting it) happens in one place.

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use clock::{sleep, timeout};
pub use tokio::sync::mpsc;
pub use tokio::task::{spawn_local as spawn, JoinHandle};
pub use turmoil::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
pub use turmoil::net::{TcpListener, TcpStream};

/// Time since the run started on the calling host's clock: simulated time,
/// unless the harness made this host's clock drift ([`clock`]). It keeps
/// running across a host's crash and restart.
pub fn now() -> Duration {
    clock::local(turmoil::sim_elapsed().unwrap_or_default())
}

/// Each host's clock. turmoil gives every host the same one; a real
/// host's clock drifts (a crystal off by some parts per million, a VM
/// whose clock falls behind), and lease protocols are only safe if they
/// allow for it. The harness sets a host's drift (`clock_drift` faults);
/// the engine's [`now`], [`sleep`] and [`timeout`] then run on that
/// host's clock: with drift `d`, its clock advances `1 + d` seconds per
/// simulated second, and a sleep of `t` on it lasts `t / (1 + d)` of
/// simulated time (at the drift in force when the sleep starts).
pub mod clock {
    use std::cell::RefCell;
    use std::collections::{BTreeMap, BTreeSet};
    use std::future::Future;
    use std::net::IpAddr;
    use std::time::Duration;

    /// The largest drift either way: a clock at most half again as fast,
    /// or half as slow, as simulated time.
    pub const MAX_DRIFT: f64 = 0.5;

    /// One host's clock: `local` at simulated time `since`, advancing at
    /// `1 + drift` from there.
    #[derive(Debug, Clone, Copy)]
    struct Clock {
        since: Duration,
        local: Duration,
        drift: f64,
    }

    impl Clock {
        fn at(&self, sim: Duration) -> Duration {
            drifted(self.local, sim.saturating_sub(self.since), self.drift)
        }
    }

    /// A clock that read `local` and has run `elapsed` of simulated time
    /// since at drift `drift`: what it reads now, exactly as a host's clock
    /// computes it (the harness's checkers rebuild a host's clock from the
    /// trace with it, `flinch_harness::check::clocks`).
    pub fn drifted(local: Duration, elapsed: Duration, drift: f64) -> Duration {
        local + elapsed.mul_f64(1.0 + drift.clamp(-MAX_DRIFT, MAX_DRIFT))
    }

    thread_local! {
        /// The clocks that differ from simulated time, by host address.
        /// One simulation runs on a thread at a time; the harness resets
        /// this when it builds one.
        static CLOCKS: RefCell<BTreeMap<IpAddr, Clock>> = const { RefCell::new(BTreeMap::new()) };
        /// The hosts whose clock may drift or whose timers may fire late
        /// in this simulation: those the harness declared ([`unsteady`])
        /// and those a drift was set for.
        static UNSTEADY: RefCell<BTreeSet<IpAddr>> = const { RefCell::new(BTreeSet::new()) };
    }

    /// Every host's clock back to simulated time, none declared unsteady
    /// (a new simulation).
    pub fn reset() {
        CLOCKS.with(|c| c.borrow_mut().clear());
        UNSTEADY.with(|u| u.borrow_mut().clear());
    }

    /// Declare, before the simulation runs, that host `host`'s clock may
    /// drift during it, or its timers fire late (its plan has a
    /// `clock_drift` or a `pause` fault for it): its code then never
    /// counts on its timers keeping simulated time ([`steady`]).
    pub fn unsteady(host: IpAddr) {
        UNSTEADY.with(|u| u.borrow_mut().insert(host));
    }

    /// Whether the calling host's timers keep simulated time for the whole
    /// run: no drift was set for it and it was not declared [`unsteady`].
    /// Then a sleep of `k * t` on it ends exactly where `k` sleeps of `t`
    /// in a row do, which the jobmanager counts on to skip looking at its
    /// timers when none is due. A pause breaks that: the timers due while
    /// the host is paused all fire when it resumes, so a row of short
    /// sleeps starts again from the resume, where one long sleep does not.
    /// True outside a host.
    pub fn steady() -> bool {
        UNSTEADY.with(|u| {
            let unsteady = u.borrow();
            unsteady.is_empty() || turmoil::current_host().is_none_or(|h| !unsteady.contains(&h))
        })
    }

    /// From simulated time `sim` on, host `host`'s clock runs at
    /// `1 + drift` times simulated time, from where it stands then.
    /// `drift` is clamped to [`MAX_DRIFT`] either way.
    pub fn set_drift(host: IpAddr, sim: Duration, drift: f64) {
        let drift = drift.clamp(-MAX_DRIFT, MAX_DRIFT);
        unsteady(host);
        CLOCKS.with(|c| {
            let mut clocks = c.borrow_mut();
            let local = clocks.get(&host).map_or(sim, |clock| clock.at(sim));
            clocks.insert(
                host,
                Clock {
                    since: sim,
                    local,
                    drift,
                },
            );
        });
    }

    /// Host `host`'s clock at simulated time `sim`.
    pub fn host_time(host: IpAddr, sim: Duration) -> Duration {
        CLOCKS.with(|c| c.borrow().get(&host).map_or(sim, |clock| clock.at(sim)))
    }

    fn current() -> Option<Clock> {
        CLOCKS.with(|c| {
            let clocks = c.borrow();
            if clocks.is_empty() {
                return None;
            }
            clocks.get(&turmoil::current_host()?).copied()
        })
    }

    /// The calling host's clock at simulated time `sim`.
    pub(crate) fn local(sim: Duration) -> Duration {
        current().map_or(sim, |clock| clock.at(sim))
    }

    /// How much simulated time `d` on the calling host's clock lasts.
    fn simulated(d: Duration) -> Duration {
        current().map_or(d, |clock| d.div_f64(1.0 + clock.drift))
    }

    /// Sleep for `d` on the calling host's clock.
    pub async fn sleep(d: Duration) {
        tokio::time::sleep(simulated(d)).await
    }

    /// `future`, or [`tokio::time::error::Elapsed`] after `d` on the
    /// calling host's clock.
    pub async fn timeout<F: Future>(
        d: Duration,
        future: F,
    ) -> Result<F::Output, tokio::time::error::Elapsed> {
        tokio::time::timeout(simulated(d), future).await
    }
}

/// Durable files on the host's simulated disk. Writes that return `Ok` have
/// been synced, file and directory, so they survive a crash.
pub mod disk {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};
    use std::cell::RefCell;
    use std::io::{self, Write};
    use std::rc::Rc;
    use turmoil::fs::shim::std::fs;

    /// Write `bytes` at `path` atomically and durably, creating missing
    /// directories: what a temp file, fsync, rename onto `path` and fsync of
    /// the directory give, in one call of the simulated filesystem
    /// (`turmoil::fs::persist`, vendor/turmoil/PATCHES.md, patch 13). The
    /// steps of that sequence ran without an await between them, so no crash
    /// could fall between them; and flinch sets none of turmoil's own disk
    /// faults (its own strike before, in [`Disk::admit_write`]), uses no
    /// symbolic link and writes no name with a `.tmp` twin, so none of the
    /// differences vendor/turmoil/PATCHES.md lists can arise: the one call
    /// leaves the same disk at a quarter of the cost. Errors: the
    /// filesystem's (a path that is a directory).
    pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
        match fs::persist(path, bytes) {
            // Nearly every write goes to a directory that exists: look for
            // missing ones only when the write says so.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                make_dirs(parent(path))?;
                fs::persist(path, bytes)
            }
            written => written,
        }
    }

    /// Create `dir` and any missing parents durably: a new directory's
    /// entry survives a crash only once its own parent is synced.
    fn make_dirs(dir: &Path) -> io::Result<()> {
        if fs::exists(dir) {
            return Ok(());
        }
        if let Some(up) = dir.parent() {
            make_dirs(up)?;
            fs::create_dir(dir)?;
            fs::sync_dir(up)?;
        }
        Ok(())
    }

    /// Remove the file at `path` durably (`remove_file` and a sync of its
    /// directory, in one call: turmoil's `remove_file_synced`, patch 14);
    /// `Ok` when there is none.
    pub fn remove(path: &Path) -> io::Result<()> {
        match fs::remove_file_synced(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            removed => removed,
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

    /// Whether `path` is a directory (false when it does not exist).
    pub fn is_dir(path: &Path) -> bool {
        fs::metadata(path).is_ok_and(|m| m.is_dir())
    }

    fn parent(path: &Path) -> &Path {
        path.parent().unwrap_or(Path::new("/"))
    }

    /// Bytes in every file below `dir`.
    fn used(dir: &Path) -> io::Result<u64> {
        let mut total = 0;
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let meta = entry.metadata()?;
            total += if meta.is_dir() {
                used(&entry.path())?
            } else {
                meta.len()
            };
        }
        Ok(total)
    }

    /// The faults the harness injects into one host's disk; all off by
    /// default. turmoil's own fs faults are global and fixed when the
    /// simulation is built, so per-host, time-windowed ones live here.
    #[derive(Debug)]
    pub struct DiskFaults {
        pub io_error_probability: f64,
        /// With `Some`, I/O errors strike only operations on paths that
        /// start with it (compared as strings, as the scenario wrote it).
        pub io_error_path: Option<String>,
        /// How many operations the I/O errors were aimed at (a path under
        /// `io_error_path`, or any path without one) while their
        /// probability was above 0, failed or not: the harness resets it
        /// when an `io_errors` fault starts and reads it when it ends, to
        /// tell a fault that reached no operation. Saturates.
        pub io_error_aimed: u64,
        pub corruption_probability: f64,
        pub capacity: Option<u64>,
        rng: SmallRng,
    }

    /// One host's disk as the engine uses it: the durable operations above,
    /// through the faults the harness has switched on. Clones share faults.
    #[derive(Debug, Clone)]
    pub struct Disk(Rc<RefCell<DiskFaults>>);

    impl Disk {
        /// `seed` drives which operations the faults hit.
        pub fn new(seed: u64) -> Disk {
            let faults = DiskFaults {
                io_error_probability: 0.0,
                io_error_path: None,
                io_error_aimed: 0,
                corruption_probability: 0.0,
                capacity: None,
                rng: SmallRng::seed_from_u64(seed),
            };
            Disk(Rc::new(RefCell::new(faults)))
        }

        /// Change the faults (the harness's side of the handle).
        pub fn faults(&self, change: impl FnOnce(&mut DiskFaults)) {
            change(&mut self.0.borrow_mut())
        }

        fn check(&self, op: &str, path: &Path) -> io::Result<()> {
            let mut f = self.0.borrow_mut();
            let p = f.io_error_probability;
            let aimed = (f.io_error_path.as_deref())
                .is_none_or(|prefix| path.to_str().is_some_and(|p| p.starts_with(prefix)));
            if p > 0.0 && aimed {
                f.io_error_aimed = f.io_error_aimed.saturating_add(1);
                if f.rng.gen_bool(p) {
                    let message = format!("injected I/O error: {op} {}", path.display());
                    return Err(io::Error::other(message));
                }
            }
            Ok(())
        }

        pub fn write_atomic(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
            self.admit_write(path, bytes.len())?;
            write_atomic(path, bytes)
        }

        /// Whether a write of `len` bytes to `path` may start: an injected
        /// I/O error or a full disk strikes here, before anything changed.
        /// [`Disk::write_atomic`] calls it first; a caller that must tell
        /// "nothing changed" from "maybe changed" calls it, then
        /// [`write_atomic`](super::disk::write_atomic).
        pub fn admit_write(&self, path: &Path, len: usize) -> io::Result<()> {
            self.check("write", path)?;
            let capacity = self.0.borrow().capacity;
            if let Some(capacity) = capacity {
                if used(Path::new("/"))? + len as u64 > capacity {
                    let message = format!("disk full ({capacity} bytes): write {}", path.display());
                    return Err(io::Error::new(io::ErrorKind::StorageFull, message));
                }
            }
            Ok(())
        }

        /// Write without syncing: gone if the host crashes before a later
        /// sync. Only planted bugs use it.
        pub fn write_unsynced(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
            self.check("write", path)?;
            make_dirs(parent(path))?;
            let mut file = fs::File::create(path)?;
            file.write_all(bytes)
        }

        pub fn read(&self, path: &Path) -> io::Result<Option<Vec<u8>>> {
            self.check("read", path)?;
            let mut bytes = read(path)?;
            let mut f = self.0.borrow_mut();
            let p = f.corruption_probability;
            if let Some(b) = bytes.as_mut().filter(|b| !b.is_empty() && p > 0.0) {
                if f.rng.gen_bool(p) {
                    let at = f.rng.gen_range(0..b.len());
                    b[at] ^= 1 << f.rng.gen_range(0..8);
                }
            }
            Ok(bytes)
        }

        pub fn remove(&self, path: &Path) -> io::Result<()> {
            self.check("remove", path)?;
            remove(path)
        }

        pub fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
            self.check("list", dir)?;
            list(dir)
        }
    }

    /// Bit rot, for the harness (the `bit_rot` fault), with the host's fs
    /// entered: flip every bit of the middle byte of the last file, in path
    /// order, whose path starts with `prefix` (a `*.tmp` name aside, as
    /// [`list`] skips it), durably. Returns that file's path, or `None`
    /// when no non-empty file matches.
    pub fn rot(prefix: &str) -> io::Result<Option<String>> {
        let mut files = Vec::new();
        collect_files(Path::new("/"), &mut files)?;
        let victim = files
            .into_iter()
            .map(|p| p.display().to_string())
            .filter(|p| p.starts_with(prefix) && !p.ends_with(".tmp"))
            .max();
        let Some(victim) = victim else {
            return Ok(None);
        };
        let Some(mut bytes) = read(Path::new(&victim))?.filter(|b| !b.is_empty()) else {
            return Ok(None);
        };
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xFF;
        write_atomic(Path::new(&victim), &bytes)?;
        Ok(Some(victim))
    }

    fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) -> io::Result<()> {
        for entry in fs::read_dir(dir)? {
            let path = dir.join(entry?.file_name());
            if fs::metadata(&path)?.is_dir() {
                collect_files(&path, files)?;
            } else {
                files.push(path);
            }
        }
        Ok(())
    }

    /// Remove everything on the current disk, durably: the disk of a host
    /// that comes back empty. The harness calls it with that host's fs
    /// entered. Bottom-up: a directory's removals are synced before the
    /// directory itself goes, since a removal is durable only once its
    /// parent directory is synced, and a file whose removal was never
    /// synced would come back at the host's next crash.
    pub fn wipe() -> io::Result<()> {
        wipe_dir(Path::new("/"))
    }

    fn wipe_dir(dir: &Path) -> io::Result<()> {
        let mut names = Vec::new();
        for entry in fs::read_dir(dir)? {
            names.push(entry?.file_name());
        }
        for name in names {
            let path = dir.join(name);
            if fs::metadata(&path)?.is_dir() {
                wipe_dir(&path)?;
                fs::remove_dir(&path)?;
            } else {
                fs::remove_file(&path)?;
            }
        }
        fs::sync_dir(dir)
    }
}

/// Addresses of the hosts (names are the contract scenarios target).
pub mod addr {
    pub const JOBMANAGER: &str = "jobmanager";
    pub const LOG: &str = "log";
    pub const SINK: &str = "sink";
    pub const STORE: &str = "store";
    /// The coordination host of a topology with more than one jobmanager.
    pub const HA: &str = "ha";

    pub const JOBMANAGER_PORT: u16 = 6123;
    /// The leading jobmanager's REST port, for the `client` host (Flink's
    /// `rest.port`).
    pub const REST_PORT: u16 = 8081;
    /// The host that sends commands to the job from outside
    /// (stop-with-savepoint), as Flink's CLI or an operator would.
    pub const CLIENT: &str = "client";
    pub const DATA_PORT: u16 = 6121;
    pub const LOG_PORT: u16 = 9092;
    pub const SINK_PORT: u16 = 9093;
    pub const STORE_PORT: u16 = 9000;
    pub const HA_PORT: u16 = 2181;

    /// The jobmanager hosts of a topology with `jobmanagers` jobmanagers:
    /// `jobmanager` alone, or `jobmanager-1..=jobmanagers` (with `ha`).
    pub fn jobmanagers(jobmanagers: u32) -> Vec<String> {
        if jobmanagers <= 1 {
            return vec![JOBMANAGER.to_owned()];
        }
        (1..=jobmanagers)
            .map(|n| format!("{JOBMANAGER}-{n}"))
            .collect()
    }

    /// The checkpoint storage hosts of a topology with `replicas` replicas:
    /// `store` alone, or `store-1..=replicas`.
    pub fn stores(replicas: u32) -> Vec<String> {
        if replicas <= 1 {
            return vec![STORE.to_owned()];
        }
        (1..=replicas).map(|n| format!("{STORE}-{n}")).collect()
    }

    /// How many of `replicas` make a majority.
    pub fn majority(replicas: usize) -> usize {
        replicas / 2 + 1
    }

    /// `taskmanager-1` is index 0.
    pub fn taskmanager(index: u32) -> String {
        format!("taskmanager-{}", index + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    /// What each host saw when it woke from a sleep of 1 s on its clock:
    /// its clock, and simulated time.
    type Woke = Rc<RefCell<Vec<(&'static str, Duration, Duration)>>>;

    async fn sleeper(name: &'static str, woke: Woke) -> turmoil::Result {
        sleep(Duration::from_secs(1)).await;
        let sim = turmoil::sim_elapsed().expect("inside the simulation");
        woke.borrow_mut().push((name, now(), sim));
        std::future::pending::<()>().await;
        Ok(())
    }

    #[test]
    fn a_drifting_clock_runs_at_its_rate_and_its_sleeps_follow_it() {
        clock::reset();
        let mut sim = turmoil::Builder::new()
            .tick_duration(Duration::from_millis(1))
            .build();
        let woke: Woke = Rc::default();
        let w = woke.clone();
        sim.host("fast", move || sleeper("fast", w.clone()));
        let w = woke.clone();
        sim.host("slow", move || sleeper("slow", w.clone()));
        let w = woke.clone();
        sim.host("true", move || sleeper("true", w.clone()));
        clock::set_drift(sim.lookup("fast"), Duration::ZERO, 0.25);
        clock::set_drift(sim.lookup("slow"), Duration::ZERO, -0.5);
        while sim.elapsed() < Duration::from_millis(2_100) {
            sim.step().expect("the hosts run");
        }
        let woke = woke.borrow();
        let at = |host| {
            let (_, local, sim) = woke.iter().find(|w| w.0 == host).expect("it woke");
            (local.as_millis(), sim.as_millis())
        };
        // 1 s on a clock 25 % fast is 800 ms of simulated time; on one
        // half as fast, 2 s. Each host's clock reads 1 s as it wakes.
        assert_eq!(at("true"), (1_000, 1_000));
        assert_eq!(at("fast"), (1_000, 800));
        assert_eq!(at("slow"), (1_000, 2_000));
        // A clock that stops drifting keeps what it gained.
        clock::set_drift(sim.lookup("fast"), Duration::from_secs(2), 0.0);
        let fast = sim.lookup("fast");
        assert_eq!(
            clock::host_time(fast, Duration::from_secs(3)),
            Duration::from_millis(3_500)
        );
        clock::reset();
    }

    /// An I/O error fault aimed at a path prefix strikes only operations on
    /// paths that start with it, and one without a prefix strikes any.
    #[test]
    fn io_errors_aimed_at_a_path_spare_the_other_paths() {
        use std::path::Path;
        let disk = disk::Disk::new(7);
        disk.faults(|f| {
            f.io_error_probability = 1.0;
            f.io_error_path = Some("/store/chk-".into());
        });
        let state = Path::new("/store/chk-000002/e1-count[0]");
        let metadata = Path::new("/store/meta/2-1");
        assert!(disk.admit_write(state, 10).is_err());
        assert!(disk.admit_write(metadata, 10).is_ok());
        disk.faults(|f| f.io_error_path = None);
        assert!(disk.admit_write(metadata, 10).is_err());
    }
}
