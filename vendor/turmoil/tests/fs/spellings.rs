//! Every shim entry point accepts `//`, `/./` and a trailing `/` and means
//! the same path: the filesystem normalizes a path where it enters (flinch
//! patch 10, PATCHES.md), and debug builds assert that nothing
//! un-normalized reaches it. Paths it hands back are normalized too;
//! a symlink's target is kept as given.

use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::PathBuf;
use turmoil::fs::shim::std::fs::{
    canonicalize, copy, create_dir, create_dir_all, exists, hard_link, metadata, read, read_dir,
    read_link, remove_dir_all, remove_file, rename, set_permissions, symlink, symlink_metadata,
    sync_dir, write, DirBuilder, OpenOptions, Permissions,
};
use turmoil::{Builder, Result};

#[test]
fn non_normal_spellings_name_the_same_path() -> Result {
    let mut sim = Builder::new().build();
    sim.client("test", async {
        create_dir("/d//")?;
        assert!(create_dir("/d/./").is_err());
        create_dir_all("/d/./e//f/")?;
        DirBuilder::new().recursive(true).create("/d//g/./h/")?;
        write("/d//f1", b"one")?;
        assert!(OpenOptions::new()
            .write(true)
            .create_new(true)
            .open("/d/f1/")
            .is_err());
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .open("/d/.//f3")?;
        assert_eq!(f.path().unwrap().as_os_str(), "/d/f3");
        f.write_all_at(b"three", 0)?;
        f.sync_all()?;

        symlink("/d//f1", "/d/./l1")?;
        symlink("/d/e/", "/d/l3/")?;
        assert_eq!(read_link("/d/l1/")?.as_os_str(), "/d//f1");
        assert_eq!(read("/d//l1/")?, b"one");
        assert!(metadata("/d/./l3")?.is_dir());
        assert!(symlink_metadata("/d//l3/")?.is_symlink());
        assert!(exists("/d/l3/./"));
        assert_eq!(canonicalize("/d/l1")?.as_os_str(), "/d/f1");
        assert_eq!(canonicalize("/d/l3/f/")?.as_os_str(), "/d/e/f");

        hard_link("/d/./f1", "/d//h1/")?;
        assert_eq!(metadata("/d/f1")?.nlink(), 2);
        set_permissions("/d//f1/", Permissions::from_mode(0o600))?;
        assert_eq!(metadata("/d/./f1")?.permissions().mode(), 0o600);
        rename("/d/./f3", "/d//e/f3b/")?;
        assert_eq!(read("/d/e/f3b")?, b"three");
        assert_eq!(copy("/d//f1", "/d/./c1/")?, 3);
        remove_file("/d//c1/")?;
        remove_dir_all("/d/./g//")?;
        sync_dir("/d/./")?;

        let names: Vec<PathBuf> = read_dir("/d//")?.map(|e| e.unwrap().path()).collect();
        let expect = ["/d/e", "/d/f1", "/d/h1", "/d/l1", "/d/l3"];
        assert_eq!(
            names,
            expect.map(PathBuf::from),
            "in name order, byte for byte"
        );
        Ok(())
    });
    sim.run()
}
