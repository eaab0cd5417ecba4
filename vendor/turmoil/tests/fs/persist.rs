//! `persist` (flinch patch 13): one call that leaves the disk the careful
//! durable write leaves (temporary file, `sync_all`, rename, `sync_dir`);
//! `remove_file_synced` (flinch patch 14): `remove_file` and `sync_dir`.

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use turmoil::fs::shim::std::fs::{
    create_dir, create_dir_all, metadata, persist, read, read_dir, remove_file, remove_file_synced,
    rename, sync_dir, File,
};
use turmoil::{Builder, Result};

/// One entry of a disk as a program sees it: path, and for a file its
/// length, content, mode, link count and times (ns since the epoch).
type Entry = (String, bool, u64, Vec<u8>, u32, u64, i64, i64, i64);

/// Everything under `/`, in path order.
fn describe(dir: &Path, out: &mut Vec<Entry>) -> std::io::Result<()> {
    for entry in read_dir(dir)? {
        let path = entry?.path();
        let m = metadata(&path)?;
        let content = if m.is_dir() { Vec::new() } else { read(&path)? };
        out.push((
            path.display().to_string(),
            m.is_dir(),
            m.len(),
            content,
            m.mode(),
            m.nlink(),
            m.mtime() * 1_000_000_000 + m.mtime_nsec(),
            m.ctime() * 1_000_000_000 + m.ctime_nsec(),
            m.created()?
                .duration_since(std::time::UNIX_EPOCH)
                .expect("after the epoch")
                .as_nanos() as i64,
        ));
        if m.is_dir() {
            describe(&path, out)?;
        }
    }
    Ok(())
}

fn the_careful_write(path: &str, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = format!("{path}.tmp");
    let file = File::create(&tmp)?;
    file.write_all_at(bytes, 0)?;
    file.sync_all()?;
    rename(&tmp, path)?;
    sync_dir(Path::new(path).parent().expect("a file in a directory"))
}

/// Host `careful` writes and removes with the sequences, host `persist`
/// with one call each, beside a file created but never synced and over a
/// file written before; both disks are described before and after a crash
/// of both.
#[test]
fn persist_leaves_the_disk_the_careful_write_leaves() -> Result {
    let mut sim = Builder::new().build();
    let seen: Arc<Mutex<BTreeMap<(String, u8), Vec<Entry>>>> = Arc::default();
    let crashed = Arc::new(Mutex::new(false));
    for host in ["careful", "persist"] {
        let (seen, crashed) = (seen.clone(), crashed.clone());
        sim.host(host, move || {
            let (seen, crashed) = (seen.clone(), crashed.clone());
            async move {
                let phase = u8::from(*crashed.lock().unwrap());
                if phase == 0 {
                    create_dir_all("/d/e")?;
                    sync_dir("/")?;
                    sync_dir("/d")?;
                    the_careful_write("/d/old", b"the first version")?;
                    the_careful_write("/d/e/gone", b"to be removed")?;
                    tokio::time::sleep(Duration::from_millis(7)).await;
                    // Created and written, never synced: the directory sync
                    // of the write below makes its entry durable, not its data.
                    File::create("/d/sibling")?.write_all_at(b"unsynced", 0)?;
                    create_dir("/d/e/new")?;
                    File::create("/d/e/never-synced")?.write_all_at(b"x", 0)?;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    let write = match host {
                        "careful" => the_careful_write,
                        _ => |path: &str, bytes: &[u8]| persist(path, bytes),
                    };
                    write("/d/old", b"second")?;
                    // Nothing pending in /d now: the next write alone
                    // changes the directory's times.
                    tokio::time::sleep(Duration::from_millis(3)).await;
                    write("/d/fresh", b"a new file")?;
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    let remove = match host {
                        "careful" => |path: &str| {
                            remove_file(path)?;
                            sync_dir(Path::new(path).parent().expect("in a directory"))
                        },
                        _ => |path: &str| remove_file_synced(path),
                    };
                    remove("/d/e/never-synced")?;
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    remove("/d/e/gone")?;
                    // A new file by the removed name, its data synced but
                    // not its entry: a crash loses it.
                    File::create("/d/e/gone")?.sync_all()?;
                }
                let mut disk = Vec::new();
                describe(Path::new("/"), &mut disk)?;
                seen.lock().unwrap().insert((host.to_string(), phase), disk);
                std::future::pending::<()>().await;
                Ok(())
            }
        });
    }
    let wait = || async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        Ok(())
    };
    sim.client("before", wait());
    sim.run()?;
    *crashed.lock().unwrap() = true;
    for host in ["careful", "persist"] {
        sim.crash(host);
        sim.bounce(host);
    }
    sim.client("after", wait());
    sim.run()?;

    let seen = seen.lock().unwrap();
    for phase in [0, 1] {
        let careful = &seen[&("careful".to_string(), phase)];
        let persisted = &seen[&("persist".to_string(), phase)];
        assert_eq!(careful, persisted, "phase {phase}");
    }
    let after = &seen[&("persist".to_string(), 1)];
    let names: Vec<&str> = after.iter().map(|e| e.0.as_str()).collect();
    // The sibling's entry survived with no data, and /d/e/new because a
    // removal synced /d/e.
    assert_eq!(
        names,
        ["/d", "/d/e", "/d/e/new", "/d/fresh", "/d/old", "/d/sibling"]
    );
    assert_eq!(after[4].3, b"second");
    assert_eq!(after[5].2, 0);
    Ok(())
}

#[test]
fn empty_contents_take_no_error_draw_and_no_space() -> Result {
    // As the sequence, which wrote nothing for empty contents.
    let mut builder = Builder::new();
    builder.fs().io_error_probability(1.0);
    let mut sim = builder.build();
    sim.client("errors", async {
        create_dir("/d")?;
        persist("/d/empty", b"")?;
        assert_eq!(read("/d/empty")?, b"");
        let refused = persist("/d/full", b"x").expect_err("an I/O error");
        assert_eq!(refused.kind(), ErrorKind::Other);
        Ok(())
    });
    sim.run()?;

    let mut builder = Builder::new();
    builder.fs().capacity(4);
    let mut sim = builder.build();
    sim.client("space", async {
        create_dir("/d")?;
        // set_len checks no capacity: the disk is over it.
        File::create("/d/big")?.set_len(100)?;
        persist("/d/empty", b"")?;
        let refused = persist("/d/x", b"x").expect_err("no space");
        assert_eq!(refused.kind(), ErrorKind::StorageFull);
        Ok(())
    });
    sim.run()
}

#[test]
fn persist_and_remove_refuse_what_the_sequences_cannot_do() -> Result {
    let mut builder = Builder::new();
    builder.fs().capacity(16);
    let mut sim = builder.build();
    sim.client("test", async {
        let kind = |r: std::io::Result<()>| r.expect_err("refused").kind();
        assert_eq!(kind(persist("/missing/f", b"x")), ErrorKind::NotFound);
        create_dir("/d")?;
        assert_eq!(kind(persist("/d", b"x")), ErrorKind::IsADirectory);
        assert_eq!(kind(persist("/", b"x")), ErrorKind::IsADirectory);
        persist("/d/f", b"0123456789")?;
        // 10 bytes used, and the new file would be 10 more.
        assert_eq!(kind(persist("/d/f", b"9876543210")), ErrorKind::StorageFull);
        assert_eq!(read("/d/f")?, b"0123456789");
        persist("/d//./f", b"short")?;
        assert_eq!(read("/d/f")?, b"short");
        assert_eq!(kind(remove_file_synced("/d/g")), ErrorKind::NotFound);
        assert_eq!(kind(remove_file_synced("/d")), ErrorKind::NotFound);
        remove_file_synced("/d/./f")?;
        assert_eq!(
            read("/d/f").expect_err("removed").kind(),
            ErrorKind::NotFound
        );
        Ok(())
    });
    sim.run()
}
