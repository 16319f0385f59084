//! Copying input trees into a working folder, keeping what matters for a test: symbolic links as
//! links, hard links as links, holes in sparse files, permissions.
//!
//! A test tree is data about a file system, not just bytes: a dedup case with a symlink loop, a hard
//! link or a mode-000 file means nothing once a naive copy has followed, split or opened them up.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};

/// Blocks of zeros this size are skipped when writing, which leaves a hole.
const BLOCK: usize = 64 * 1024;

/// Copies the file, folder or symbolic link `from` to `to` (whose parent must exist; a folder `to`
/// may exist already and is then merged into). Symbolic links are copied as links and never
/// followed; files linked more than once inside `from` stay linked; zero blocks become holes;
/// permission bits are kept, set after the content so that read-only and mode-000 entries can be
/// written first.
pub fn copy_tree(from: &Path, to: &Path) -> io::Result<()> {
    let mut copier = Copier::default();
    copier.copy(from, to)?;
    // Children were pushed before their folder, so a folder is closed after what is inside it.
    for (path, mode) in copier.modes {
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).map_err(|e| at(&path, e))?;
    }
    Ok(())
}

#[derive(Default)]
struct Copier {
    /// (device, inode) of a multiply-linked source file -> its first copy.
    linked: HashMap<(u64, u64), PathBuf>,
    /// Permission bits to set once everything is written, in that order.
    modes: Vec<(PathBuf, u32)>,
}

impl Copier {
    fn copy(&mut self, from: &Path, to: &Path) -> io::Result<()> {
        let meta = fs::symlink_metadata(from).map_err(|e| at(from, e))?;
        let kind = meta.file_type();
        if kind.is_symlink() {
            let target = fs::read_link(from).map_err(|e| at(from, e))?;
            symlink(&target, to).map_err(|e| at(to, e))
        } else if kind.is_dir() {
            match fs::DirBuilder::new().mode(0o700).create(to) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && to.is_dir() => {}
                Err(e) => return Err(at(to, e)),
            }
            // Readable and searchable by us while its content is copied, whatever its final mode.
            fs::set_permissions(to, fs::Permissions::from_mode(0o700)).map_err(|e| at(to, e))?;
            for entry in fs::read_dir(from).map_err(|e| at(from, e))? {
                let entry = entry.map_err(|e| at(from, e))?;
                self.copy(&entry.path(), &to.join(entry.file_name()))?;
            }
            self.modes.push((to.to_path_buf(), meta.mode() & 0o7777));
            Ok(())
        } else if kind.is_file() {
            if meta.nlink() > 1 {
                let key = (meta.dev(), meta.ino());
                if let Some(first) = self.linked.get(&key) {
                    return fs::hard_link(first, to).map_err(|e| at(to, e));
                }
                self.linked.insert(key, to.to_path_buf());
            }
            copy_file(from, to)?;
            self.modes.push((to.to_path_buf(), meta.mode() & 0o7777));
            Ok(())
        } else {
            Err(at(
                from,
                io::Error::new(io::ErrorKind::InvalidInput, "not a file, folder or symbolic link: cannot be copied"),
            ))
        }
    }
}

/// Copies the bytes of one file, seeking over blocks of zeros so that they stay (or become) holes.
fn copy_file(from: &Path, to: &Path) -> io::Result<()> {
    let mut source = File::open(from).map_err(|e| at(from, e))?;
    let mut target = OpenOptions::new().write(true).create_new(true).mode(0o600).open(to).map_err(|e| at(to, e))?;
    let mut buffer = vec![0u8; BLOCK];
    let mut copied = 0u64;
    loop {
        let n = read_full(&mut source, &mut buffer).map_err(|e| at(from, e))?;
        if n == 0 {
            break;
        }
        let block = &buffer[..n];
        if block.iter().all(|&b| b == 0) {
            target.seek(SeekFrom::Current(n as i64)).map_err(|e| at(to, e))?;
        } else {
            target.write_all(block).map_err(|e| at(to, e))?;
        }
        copied += n as u64;
    }
    // A trailing hole has no bytes written to end it: the length does.
    target.set_len(copied).map_err(|e| at(to, e))
}

fn read_full(file: &mut File, buffer: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The error with the path it happened at.
fn at(path: &Path, error: io::Error) -> io::Error {
    io::Error::new(error.kind(), format!("{}: {error}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn am_root(dir: &Path) -> bool {
        let probe = dir.join(".probe");
        fs::write(&probe, b"").expect("probe");
        let uid = fs::metadata(&probe).expect("probe").uid();
        fs::remove_file(&probe).expect("probe");
        uid == 0
    }

    fn open_up(path: &Path) {
        if fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
            let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o755));
            for entry in fs::read_dir(path).into_iter().flatten().flatten() {
                open_up(&entry.path());
            }
        }
    }

    struct Dirs {
        from: tempfile::TempDir,
        to: tempfile::TempDir,
    }

    impl Dirs {
        fn new() -> Dirs {
            Dirs { from: tempfile::tempdir().expect("temp"), to: tempfile::tempdir().expect("temp") }
        }
        fn src(&self, path: &str) -> PathBuf {
            self.from.path().join("tree").join(path)
        }
        fn dst(&self, path: &str) -> PathBuf {
            self.to.path().join("tree").join(path)
        }
        fn copy(&self) {
            copy_tree(&self.from.path().join("tree"), &self.to.path().join("tree")).expect("copies");
        }
    }

    impl Drop for Dirs {
        fn drop(&mut self) {
            open_up(self.from.path());
            open_up(self.to.path());
        }
    }

    #[test]
    fn copies_folders_and_file_contents() {
        let d = Dirs::new();
        fs::create_dir_all(d.src("a/b")).expect("dirs");
        fs::create_dir_all(d.src("empty")).expect("dirs");
        fs::write(d.src("a/b/c.txt"), b"hello").expect("file");
        fs::write(d.src("odd\nname \"q\""), b"x").expect("file");
        d.copy();
        assert_eq!(fs::read(d.dst("a/b/c.txt")).expect("copied"), b"hello");
        assert_eq!(fs::read(d.dst("odd\nname \"q\"")).expect("copied"), b"x");
        assert!(d.dst("empty").is_dir());
    }

    #[test]
    fn copies_a_single_file() {
        let d = Dirs::new();
        let from = d.from.path().join("one.txt");
        fs::write(&from, b"just one").expect("file");
        copy_tree(&from, &d.to.path().join("copy.txt")).expect("copies");
        assert_eq!(fs::read(d.to.path().join("copy.txt")).expect("copied"), b"just one");
    }

    #[test]
    fn keeps_symbolic_links_as_links_without_following_them() {
        let d = Dirs::new();
        fs::create_dir_all(d.src("real")).expect("dirs");
        fs::write(d.src("real/file"), b"data").expect("file");
        symlink("real/file", d.src("to-file")).expect("link");
        symlink("real", d.src("to-dir")).expect("link");
        symlink(".", d.src("loop")).expect("link");
        symlink("nowhere", d.src("dangling")).expect("link");
        d.copy();
        for (name, target) in [("to-file", "real/file"), ("to-dir", "real"), ("loop", "."), ("dangling", "nowhere")] {
            let meta = fs::symlink_metadata(d.dst(name)).expect("copied");
            assert!(meta.file_type().is_symlink(), "{name} is still a link");
            assert_eq!(fs::read_link(d.dst(name)).expect("link"), Path::new(target));
        }
        assert!(!d.dst("to-dir/file").symlink_metadata().expect("through the link").is_symlink());
        assert!(fs::read_dir(d.to.path().join("tree")).expect("listed").count() == 5, "the loop was not walked");
    }

    #[test]
    fn keeps_hard_links_linked() {
        let d = Dirs::new();
        fs::create_dir_all(d.src("x/y")).expect("dirs");
        fs::write(d.src("x/original"), b"shared").expect("file");
        fs::hard_link(d.src("x/original"), d.src("x/y/link")).expect("link");
        fs::write(d.src("x/separate"), b"shared").expect("file");
        d.copy();
        let ino = |p: &str| fs::metadata(d.dst(p)).expect("copied").ino();
        assert_eq!(ino("x/original"), ino("x/y/link"));
        assert_ne!(ino("x/original"), ino("x/separate"));
        assert_eq!(fs::read(d.dst("x/y/link")).expect("copied"), b"shared");
    }

    #[test]
    fn keeps_holes_and_content_of_sparse_files() {
        let d = Dirs::new();
        fs::create_dir_all(d.src("")).expect("dirs");
        let len = 8 * 1024 * 1024;
        let mut file = File::create(d.src("sparse")).expect("file");
        file.seek(SeekFrom::Start(len / 2)).expect("seek");
        file.write_all(b"middle").expect("write");
        file.set_len(len).expect("length");
        drop(file);
        fs::write(d.src("tail-zeros"), [&b"abc"[..], &[0u8; 200_000]].concat()).expect("file");
        d.copy();
        let copy = fs::metadata(d.dst("sparse")).expect("copied");
        assert_eq!(copy.len(), len);
        assert!(copy.blocks() * 512 < len / 4, "holes kept: {} blocks", copy.blocks());
        assert_eq!(fs::read(d.dst("sparse")).expect("copied"), fs::read(d.src("sparse")).expect("source"));
        assert_eq!(fs::read(d.dst("tail-zeros")).expect("copied"), fs::read(d.src("tail-zeros")).expect("source"));
    }

    #[test]
    fn keeps_permissions_set_after_the_content() {
        let d = Dirs::new();
        fs::create_dir_all(d.src("read-only/inner")).expect("dirs");
        fs::write(d.src("read-only/inner/file"), b"r").expect("file");
        fs::write(d.src("script"), b"#!/bin/sh\n").expect("file");
        fs::set_permissions(d.src("script"), fs::Permissions::from_mode(0o751)).expect("chmod");
        fs::set_permissions(d.src("read-only/inner/file"), fs::Permissions::from_mode(0o444)).expect("chmod");
        fs::set_permissions(d.src("read-only"), fs::Permissions::from_mode(0o555)).expect("chmod");
        let root = am_root(d.from.path());
        if root {
            // Only root can read a mode-000 source; the copy must keep it locked.
            fs::write(d.src("locked-file"), b"secret").expect("file");
            fs::set_permissions(d.src("locked-file"), fs::Permissions::from_mode(0o000)).expect("chmod");
            fs::create_dir(d.src("locked-dir")).expect("dir");
            fs::write(d.src("locked-dir/inside"), b"in").expect("file");
            fs::set_permissions(d.src("locked-dir"), fs::Permissions::from_mode(0o000)).expect("chmod");
        }
        d.copy();
        let mode = |p: &str| fs::symlink_metadata(d.dst(p)).expect("copied").mode() & 0o7777;
        assert_eq!(mode("script"), 0o751);
        assert_eq!(mode("read-only"), 0o555);
        assert_eq!(mode("read-only/inner/file"), 0o444);
        if root {
            assert_eq!(mode("locked-file"), 0);
            assert_eq!(mode("locked-dir"), 0);
            assert_eq!(fs::read(d.dst("locked-dir/inside")).expect("root reads anyway"), b"in");
        }
    }

    #[test]
    fn names_the_path_it_cannot_copy() {
        let d = Dirs::new();
        let missing = d.from.path().join("missing");
        let error = copy_tree(&missing, &d.to.path().join("x")).expect_err("nothing to copy");
        assert!(error.to_string().contains("missing"), "{error}");
    }
}
