//! A submission's file tree as the build sees it: listed (for the cache key), copied (the build never
//! touches the candidate's folder), and opened up for reading by the unprivileged user runs use.
//!
//! Version-control folders, dependency and build-output folders, and caches are left out of both the
//! listing and the copy, so a candidate's local build does not change the key.

use std::io::{self, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

/// Folders left out, at any depth.
pub const SKIPPED_DIRS: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    "target",
    "node_modules",
    "__pycache__",
    ".venv",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".gradle",
    ".idea",
    ".vscode",
];

/// Files left out, at any depth.
const SKIPPED_FILES: &[&str] = &[".DS_Store"];

/// Past these the submission is refused rather than copied (a data set, a home folder...).
const MAX_FILES: usize = 50_000;
const MAX_BYTES: u64 = 1 << 30;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File {
        executable: bool,
        size: u64,
    },
    /// A relative link that stays inside the tree, kept as a link.
    Symlink(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Relative to the tree's root.
    pub path: PathBuf,
    pub kind: Kind,
    /// Where the content is read from (differs from root/path for a link followed out of the tree).
    source: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    #[error("{}: {source}", .path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{0}")]
    TooBig(String),
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> TreeError + '_ {
    move |source| TreeError::Io { path: path.to_path_buf(), source }
}

/// Lists `root`, sorted by path, leaving out skipped folders and files and anything at `exclude`
/// (the cache, should it live inside the submission). Links inside the tree stay links; a link out of
/// the tree to a file counts as that file; other links, sockets and devices are left out.
pub fn list(root: &Path, exclude: Option<&Path>) -> Result<Vec<Entry>, TreeError> {
    let mut entries = Vec::new();
    let mut total: u64 = 0;
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        let dir = root.join(&relative);
        for item in std::fs::read_dir(&dir).map_err(io_at(&dir))? {
            let item = item.map_err(io_at(&dir))?;
            let name = item.file_name();
            let path = relative.join(&name);
            let full = root.join(&path);
            let metadata = std::fs::symlink_metadata(&full).map_err(io_at(&full))?;
            let name = name.to_string_lossy();
            let kind = if metadata.is_dir() {
                if SKIPPED_DIRS.contains(&name.as_ref()) || exclude.is_some_and(|e| same_file(e, &full)) {
                    continue;
                }
                pending.push(path.clone());
                Kind::Dir
            } else if SKIPPED_FILES.contains(&name.as_ref()) {
                continue;
            } else if metadata.is_file() {
                Kind::File { executable: metadata.permissions().mode() & 0o111 != 0, size: metadata.len() }
            } else if metadata.file_type().is_symlink() {
                match link_kind(&path, &full)? {
                    Some(kind) => kind,
                    None => continue,
                }
            } else {
                continue;
            };
            if let Kind::File { size, .. } = kind {
                total += size;
            }
            entries.push(Entry { path, kind, source: full });
            if entries.len() > MAX_FILES || total > MAX_BYTES {
                return Err(TreeError::TooBig(format!(
                    "{} holds more than {MAX_FILES} files or {} MiB (leaving out {}): remove data sets and \
                     dependencies from the submission",
                    root.display(),
                    MAX_BYTES >> 20,
                    SKIPPED_DIRS.join(", ")
                )));
            }
        }
    }
    entries.sort_by(|a, b| a.path.as_os_str().as_encoded_bytes().cmp(b.path.as_os_str().as_encoded_bytes()));
    Ok(entries)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn link_kind(path: &Path, full: &Path) -> Result<Option<Kind>, TreeError> {
    let target = std::fs::read_link(full).map_err(io_at(full))?;
    if target.is_relative() && stays_inside(path, &target) {
        return Ok(Some(Kind::Symlink(target)));
    }
    // A link out of the tree is followed: the copy must not lead a build back into the candidate's files.
    Ok(match std::fs::metadata(full) {
        Ok(m) if m.is_file() => Some(Kind::File { executable: m.permissions().mode() & 0o111 != 0, size: m.len() }),
        _ => None,
    })
}

/// Whether `target`, relative to the folder of `link` (itself relative to the root), stays under the root.
fn stays_inside(link: &Path, target: &Path) -> bool {
    let mut depth: i64 = link.components().count() as i64 - 1;
    for component in target.components() {
        match component {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            _ => return false,
        }
        if depth < 0 {
            return false;
        }
    }
    true
}

/// Feeds the listing, with contents, to `sink` in a form where no two trees give the same bytes.
pub fn digest(entries: &[Entry], sink: &mut dyn FnMut(&[u8])) -> Result<(), TreeError> {
    let field = |sink: &mut dyn FnMut(&[u8]), bytes: &[u8]| {
        sink(&(bytes.len() as u64).to_le_bytes());
        sink(bytes);
    };
    let mut buffer = vec![0u8; 64 * 1024];
    for entry in entries {
        field(sink, entry.path.as_os_str().as_encoded_bytes());
        match &entry.kind {
            Kind::Dir => sink(b"d"),
            Kind::Symlink(target) => {
                sink(b"l");
                field(sink, target.as_os_str().as_encoded_bytes());
            }
            Kind::File { executable, .. } => {
                sink(if *executable { b"x" } else { b"f" });
                let mut file = std::fs::File::open(&entry.source).map_err(io_at(&entry.source))?;
                let mut length: u64 = 0;
                loop {
                    let n = file.read(&mut buffer).map_err(io_at(&entry.source))?;
                    if n == 0 {
                        break;
                    }
                    length += n as u64;
                    sink(&buffer[..n]);
                }
                sink(&length.to_le_bytes());
            }
        }
    }
    Ok(())
}

/// Copies the listed entries into `to` (which must not exist yet), keeping executable bits.
pub fn copy(entries: &[Entry], to: &Path) -> Result<(), TreeError> {
    std::fs::create_dir_all(to).map_err(io_at(to))?;
    for entry in entries {
        let destination = to.join(&entry.path);
        match &entry.kind {
            Kind::Dir => std::fs::create_dir(&destination).map_err(io_at(&destination))?,
            Kind::Symlink(target) => std::os::unix::fs::symlink(target, &destination).map_err(io_at(&destination))?,
            Kind::File { executable, .. } => {
                std::fs::copy(&entry.source, &destination).map_err(io_at(&entry.source))?;
                let mode = if *executable { 0o755 } else { 0o644 };
                std::fs::set_permissions(&destination, std::fs::Permissions::from_mode(mode))
                    .map_err(io_at(&destination))?;
                // make decides what to rebuild by modification times: keep the candidate's, or
                // copies made within one clock tick would look up to date whatever their order.
                if let Ok(modified) = std::fs::metadata(&entry.source).and_then(|m| m.modified()) {
                    let file =
                        std::fs::OpenOptions::new().write(true).open(&destination).map_err(io_at(&destination))?;
                    file.set_modified(modified).map_err(io_at(&destination))?;
                }
            }
        }
    }
    Ok(())
}

/// Lets everyone read `root` and everything under it, and enter its folders and run its executables
/// (runs happen as `nobody` when the grader is root). Links are left alone.
pub fn open_up(root: &Path) -> io::Result<()> {
    let mut pending = vec![root.to_path_buf()];
    while let Some(path) = pending.pop() {
        let metadata = std::fs::symlink_metadata(&path)?;
        let mode = metadata.permissions().mode() & 0o7777;
        let wanted = if metadata.is_dir() {
            for item in std::fs::read_dir(&path)? {
                pending.push(item?.path());
            }
            mode | 0o755
        } else if metadata.is_file() {
            if mode & 0o100 != 0 { mode | 0o555 } else { mode | 0o444 }
        } else {
            continue;
        };
        if wanted != mode {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(wanted))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(entries: &[Entry]) -> Vec<String> {
        entries.iter().map(|e| e.path.display().to_string()).collect()
    }

    #[test]
    fn listing_is_sorted_and_skips_build_outputs() {
        let dir = tempfile::tempdir().unwrap();
        for path in ["b.txt", "a/x.c", "target/release/x", "node_modules/m/i.js", "src/__pycache__/a.pyc", ".git/HEAD"]
        {
            let full = dir.path().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, "x").unwrap();
        }
        let entries = list(dir.path(), None).unwrap();
        assert_eq!(names(&entries), ["a", "a/x.c", "b.txt", "src"]);
    }

    #[test]
    fn links_inside_are_kept_and_links_outside_followed_to_files() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "s").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("real"), "r").unwrap();
        std::os::unix::fs::symlink("real", dir.path().join("inside")).unwrap();
        std::os::unix::fs::symlink("../../etc", dir.path().join("escaping")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), dir.path().join("outside")).unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("outside-dir")).unwrap();
        let entries = list(dir.path(), None).unwrap();
        assert_eq!(names(&entries), ["inside", "outside", "real"]);
        assert_eq!(entries[0].kind, Kind::Symlink("real".into()));
        assert_eq!(entries[1].kind, Kind::File { executable: false, size: 1 });
        let copy_to = tempfile::tempdir().unwrap();
        let destination = copy_to.path().join("copy");
        copy(&entries, &destination).unwrap();
        assert!(std::fs::symlink_metadata(destination.join("outside")).unwrap().is_file());
        let modified = |p: &Path| std::fs::metadata(p).unwrap().modified().unwrap();
        assert_eq!(modified(&destination.join("real")), modified(&dir.path().join("real")));
        assert_eq!(std::fs::read_to_string(destination.join("inside")).unwrap(), "r");
    }

    #[test]
    fn open_up_gives_others_read_and_keeps_executables_executable() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("d");
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(sub.join("exe"), "").unwrap();
        std::fs::write(sub.join("data"), "").unwrap();
        std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::set_permissions(sub.join("exe"), std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::set_permissions(sub.join("data"), std::fs::Permissions::from_mode(0o600)).unwrap();
        open_up(dir.path()).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&sub), 0o755);
        assert_eq!(mode(&sub.join("exe")), 0o755);
        assert_eq!(mode(&sub.join("data")), 0o644);
    }
}
