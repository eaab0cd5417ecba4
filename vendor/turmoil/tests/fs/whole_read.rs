//! Whole-file reads (flinch patch 27): `read`, which fills a vector, gives
//! what reading the file through a handle gives (open, its length, a zeroed
//! buffer of that length read at offset 0 with `read_at`): the same bytes,
//! the same errors and the same random draws, over persisted and pending
//! writes, truncation, renames and hard links, with injected I/O errors and
//! corruption.

use std::cell::RefCell;
use std::os::unix::fs::FileExt;
use std::rc::Rc;
use turmoil::fs::shim::std::fs::{
    create_dir_all, hard_link, metadata, read, rename, sync_dir, File, OpenOptions,
};
use turmoil::Builder;

type Log = Rc<RefCell<Vec<String>>>;

fn handle_read(p: &str) -> std::io::Result<Vec<u8>> {
    let file = File::open(p)?;
    let len = file.metadata()?.len() as usize;
    let mut buf = vec![0u8; len];
    if len > 0 {
        file.read_at(&mut buf, 0)?;
    }
    Ok(buf)
}

fn whole_read(p: &str) -> std::io::Result<Vec<u8>> {
    read(p)
}

fn rw(p: &str) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .open(p)
}

/// Builds many file states, reading each path after each step with `reader`.
fn scenario(reader: fn(&str) -> std::io::Result<Vec<u8>>, log: Log) {
    let paths = [
        "/d/a", "/d/b", "/d/c", "/d/link", "/d/moved", "/d/empty", "/d/z", "/d/gap",
    ];
    let snap = |step: &str| {
        for p in paths {
            let r = reader(p);
            let m = metadata(p).map(|m| m.len());
            log.borrow_mut()
                .push(format!("{step} {p}: {r:?} len={m:?}"));
        }
    };
    let _ = create_dir_all("/d");
    let _ = sync_dir("/");
    snap("start");
    // a: persisted, then a pending overlay at 0 and a pending append.
    if let Ok(f) = rw("/d/a") {
        let _ = f.write_at(b"0123456789", 0);
        let _ = f.sync_all();
        let _ = sync_dir("/d");
        snap("a persisted");
        let _ = f.write_at(b"AB", 0);
        snap("a overlay at 0");
        let _ = f.write_at(b"xyz", 10);
        snap("a pending append");
        let _ = f.write_at(b"QQ", 20);
        snap("a sparse append");
        let _ = f.set_len(4);
        snap("a truncate pending");
        let _ = f.set_len(12);
        snap("a extend pending");
        let _ = f.write_at(b"!", 1);
        snap("a overlay after extend");
    }
    // b: never synced, overlapping writes.
    if let Ok(f) = rw("/d/b") {
        let _ = f.write_at(b"hello world", 0);
        let _ = f.write_at(b"HELLO", 0);
        let _ = f.write_at(b"__", 9);
        snap("b pending only");
        let _ = f.sync_data();
        snap("b synced data");
    }
    // empty file, and a persisted file truncated to zero.
    let _ = rw("/d/empty");
    snap("empty");
    if let Ok(f) = rw("/d/z") {
        let _ = f.write_at(b"gone", 0);
        let _ = f.sync_all();
        let _ = f.set_len(0);
        snap("z truncated to zero pending");
    }
    // gap: extended by set_len past persisted data.
    if let Ok(f) = rw("/d/gap") {
        let _ = f.write_at(b"ab", 0);
        let _ = f.sync_all();
        let _ = f.set_len(9);
        let _ = f.write_at(b"c", 5);
        snap("gap");
    }
    // c: pending writes, renamed while pending, then written under its new name.
    if let Ok(f) = rw("/d/c") {
        let _ = f.write_at(b"renamed-contents", 0);
        let _ = f.sync_all();
        let _ = f.write_at(b"RE", 0);
        let _ = f.write_at(b"+tail", 16);
        let _ = rename("/d/c", "/d/moved");
        snap("c renamed (pending)");
        let _ = f.write_at(b"##", 3);
        snap("c written through old handle");
        if let Ok(g) = rw("/d/moved") {
            let _ = g.write_at(b"%%%%", 18);
            snap("moved written");
        }
        let _ = sync_dir("/d");
        snap("rename synced");
    }
    // hard link to b, written through both names.
    let _ = hard_link("/d/b", "/d/link");
    snap("linked");
    if let Ok(f) = rw("/d/link") {
        let _ = f.write_at(b"LINK", 2);
        let _ = f.write_at(b"++", 11);
        snap("written via link");
    }
    if let Ok(f) = rw("/d/b") {
        let _ = f.write_at(b"bb", 0);
        snap("written via original");
        let _ = f.sync_all();
        snap("link synced");
    }
    let _ = rename("/d/link", "/d/c");
    snap("link renamed to c");
    if let Ok(f) = rw("/d/c") {
        let _ = f.write_at(b"c!", 1);
        snap("written via renamed link");
    }
    // Reads of a handle opened write-only go through `read` anyway (it
    // opens its own); but a path that is a directory:
    log.borrow_mut().push(format!("dir: {:?}", reader("/d")));
}

fn run(
    seed: u64,
    io: f64,
    corrupt: f64,
    reader: fn(&str) -> std::io::Result<Vec<u8>>,
) -> Vec<String> {
    let log: Log = Rc::default();
    let mut b = Builder::new();
    b.rng_seed(seed);
    b.fs()
        .io_error_probability(io)
        .corruption_probability(corrupt);
    let mut sim = b.build();
    let l = log.clone();
    sim.client("c", async move {
        scenario(reader, l);
        Ok(())
    });
    sim.run().expect("the simulation runs");
    let lines = log.borrow().clone();
    lines
}

#[test]
fn a_whole_file_read_is_a_read_at_of_its_length() {
    for (io, corrupt) in [(0.0, 0.0), (0.0, 0.5), (0.3, 0.0), (0.2, 0.4), (0.0, 1.0)] {
        for seed in 0..40 {
            let whole = run(seed, io, corrupt, whole_read);
            let handle = run(seed, io, corrupt, handle_read);
            assert_eq!(whole.len(), handle.len());
            for (w, h) in whole.iter().zip(&handle) {
                assert_eq!(w, h, "seed {seed}, io errors {io}, corruption {corrupt}");
            }
        }
    }
}
