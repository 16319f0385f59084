//! Unpacking a submission's archive (.zip, .tar, .tar.gz) into a folder of our own, safely: nothing is
//! written outside it (absolute paths and `..` are refused), no links are made (so none can lead out),
//! only plain files and folders are kept, and sizes are capped whatever the archive's headers claim.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

/// Past these an archive is refused (the same bounds a submission's folder has).
pub const MAX_FILES: usize = 50_000;
pub const MAX_BYTES: u64 = 1 << 30;

#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    #[error("{}: {message}", .archive.display())]
    Bad { archive: PathBuf, message: String },
    #[error("{}: unpacks to more than {MAX_FILES} files or {} MiB: refused", .archive.display(), MAX_BYTES >> 20)]
    TooBig { archive: PathBuf },
    #[error("{}: entry `{entry}` would be written outside the submission's folder: refused", .archive.display())]
    Escapes { archive: PathBuf, entry: String },
    #[error("cannot unpack {} into {}: {source}", .archive.display(), .into.display())]
    Io { archive: PathBuf, into: PathBuf, source: io::Error },
}

/// What was unpacked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unpacked {
    pub files: usize,
    pub bytes: u64,
    /// Links, devices and other entries that are neither files nor folders: left out.
    pub left_out: Vec<String>,
}

/// Which reader an archive needs, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveKind {
    Zip,
    Tar,
    TarGz,
}

impl ArchiveKind {
    /// The kind a file name says, if it names an archive.
    #[must_use]
    pub fn of(path: &Path) -> Option<ArchiveKind> {
        let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
        if name.ends_with(".zip") {
            Some(ArchiveKind::Zip)
        } else if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
            Some(ArchiveKind::TarGz)
        } else if name.ends_with(".tar") {
            Some(ArchiveKind::Tar)
        } else {
            None
        }
    }
}

/// Unpacks the archive at `archive` into the folder `into` (made if missing).
pub fn unpack_file(archive: &Path, kind: ArchiveKind, into: &Path) -> Result<Unpacked, UnpackError> {
    let io_error = |source| UnpackError::Io { archive: archive.to_path_buf(), into: into.to_path_buf(), source };
    let file = File::open(archive).map_err(io_error)?;
    match kind {
        ArchiveKind::Zip => unpack_zip(file, archive, into),
        ArchiveKind::Tar => unpack_tar(io::BufReader::new(file), archive, into),
        ArchiveKind::TarGz => unpack_tar(flate2::read::GzDecoder::new(io::BufReader::new(file)), archive, into),
    }
}

/// Unpacks a tar stream (`named` is only for messages: the archive's path, or `repo@rev`).
pub fn unpack_tar(reader: impl Read, named: &Path, into: &Path) -> Result<Unpacked, UnpackError> {
    let mut writer = Writer::new(named, into)?;
    let mut archive = tar::Archive::new(reader);
    let bad = |error: io::Error| UnpackError::Bad { archive: named.to_path_buf(), message: error.to_string() };
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let path = entry.path().map_err(bad)?.into_owned();
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            writer.folder(&path)?;
        } else if kind.is_file() || kind == tar::EntryType::Continuous {
            let mode = entry.header().mode().unwrap_or(0o644);
            writer.file(&path, mode, &mut entry)?;
        } else if !is_metadata(kind) {
            writer.left_out(&path);
        }
    }
    Ok(writer.done())
}

/// Entries that describe other entries (long names, pax headers) rather than being files themselves.
fn is_metadata(kind: tar::EntryType) -> bool {
    kind.is_pax_global_extensions()
        || kind.is_pax_local_extensions()
        || kind.is_gnu_longname()
        || kind.is_gnu_longlink()
}

fn unpack_zip(file: File, archive: &Path, into: &Path) -> Result<Unpacked, UnpackError> {
    let bad =
        |error: zip::result::ZipError| UnpackError::Bad { archive: archive.to_path_buf(), message: error.to_string() };
    let mut zip = zip::ZipArchive::new(io::BufReader::new(file)).map_err(bad)?;
    let mut writer = Writer::new(archive, into)?;
    for index in 0..zip.len() {
        let mut entry = zip.by_index(index).map_err(bad)?;
        let raw_name = entry.name().to_string();
        // `enclosed_name` refuses absolute paths and `..`; the writer checks again whatever it is given.
        let Some(path) = entry.enclosed_name() else {
            return Err(UnpackError::Escapes { archive: archive.to_path_buf(), entry: raw_name });
        };
        if entry.is_dir() {
            writer.folder(&path)?;
        } else if entry.is_symlink() {
            writer.left_out(&path);
        } else {
            let mode = entry.unix_mode().unwrap_or(0o644);
            writer.file(&path, mode, &mut entry)?;
        }
    }
    Ok(writer.done())
}

/// Writes entries under one folder, counting against the caps.
struct Writer {
    archive: PathBuf,
    into: PathBuf,
    unpacked: Unpacked,
}

impl Writer {
    fn new(archive: &Path, into: &Path) -> Result<Writer, UnpackError> {
        let writer = Writer { archive: archive.to_path_buf(), into: into.to_path_buf(), unpacked: Unpacked::default() };
        std::fs::create_dir_all(into).map_err(|e| writer.io(e))?;
        Ok(writer)
    }

    fn io(&self, source: io::Error) -> UnpackError {
        UnpackError::Io { archive: self.archive.clone(), into: self.into.clone(), source }
    }

    /// The entry's place under `into`, or an error when it would be elsewhere.
    fn target(&self, entry: &Path) -> Result<Option<PathBuf>, UnpackError> {
        match inside(entry) {
            Some(relative) if relative.as_os_str().is_empty() => Ok(None),
            Some(relative) => Ok(Some(self.into.join(relative))),
            None => Err(UnpackError::Escapes { archive: self.archive.clone(), entry: entry.display().to_string() }),
        }
    }

    fn folder(&mut self, entry: &Path) -> Result<(), UnpackError> {
        if let Some(target) = self.target(entry)? {
            std::fs::create_dir_all(&target).map_err(|e| self.io(e))?;
        }
        Ok(())
    }

    fn file(&mut self, entry: &Path, mode: u32, content: &mut dyn Read) -> Result<(), UnpackError> {
        let Some(target) = self.target(entry)? else { return Ok(()) };
        self.unpacked.files += 1;
        if self.unpacked.files > MAX_FILES {
            return Err(UnpackError::TooBig { archive: self.archive.clone() });
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| self.io(e))?;
        }
        // Only folders and plain files are ever made here, so no component of `target` is a link.
        let mut file = File::create(&target).map_err(|e| self.io(e))?;
        let allowed = MAX_BYTES - self.unpacked.bytes;
        // The headers' sizes are not trusted: count what actually comes out.
        let written = io::copy(&mut content.take(allowed + 1), &mut file).map_err(|e| self.io(e))?;
        if written > allowed {
            return Err(UnpackError::TooBig { archive: self.archive.clone() });
        }
        self.unpacked.bytes += written;
        let mode = if mode & 0o111 != 0 { 0o755 } else { 0o644 };
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode)).map_err(|e| self.io(e))?;
        Ok(())
    }

    fn left_out(&mut self, entry: &Path) {
        self.unpacked.left_out.push(entry.display().to_string());
    }

    fn done(self) -> Unpacked {
        self.unpacked
    }
}

/// `path` as a path relative to the archive's root, or `None` when it is absolute or climbs out.
fn inside(path: &Path) -> Option<PathBuf> {
    let mut relative = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => relative.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(relative)
}

/// The submission's root in an unpacked folder: the folder itself, or its only subfolder when the
/// archive wrapped everything in one (as GitHub's downloads do). macOS's `__MACOSX` is ignored.
#[must_use]
pub fn submission_root(unpacked: &Path) -> PathBuf {
    let entries: Vec<PathBuf> = match std::fs::read_dir(unpacked) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .filter(|entry| entry.file_name() != "__MACOSX")
            .map(|entry| entry.path())
            .collect(),
        Err(_) => return unpacked.to_path_buf(),
    };
    match entries.as_slice() {
        [only] if std::fs::symlink_metadata(only).is_ok_and(|m| m.is_dir()) => only.clone(),
        _ => unpacked.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    fn zip_with(entries: &[(&str, &[u8])]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.zip");
        let mut zip = zip::ZipWriter::new(File::create(&path).unwrap());
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .unix_permissions(0o755);
        for (name, content) in entries {
            zip.start_file(*name, options).unwrap();
            zip.write_all(content).unwrap();
        }
        zip.finish().unwrap();
        (dir, path)
    }

    /// A tar holding one file whose name is written raw (the tar crate refuses `..` when building).
    fn tar_with_raw_name(name: &str) -> Vec<u8> {
        let mut header = tar::Header::new_old();
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_size(2);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        let mut bytes = header.as_bytes().to_vec();
        bytes.extend_from_slice(b"hi");
        bytes.resize(1024, 0);
        bytes.extend_from_slice(&[0; 1024]);
        bytes
    }

    #[test]
    fn a_zip_unpacks_with_its_folders_and_executable_bits() {
        let (_dir, path) = zip_with(&[("src/main.py", b"print(1)\n"), ("run.sh", b"#!/bin/sh\n")]);
        let into = tempfile::tempdir().unwrap();
        let unpacked = unpack_file(&path, ArchiveKind::Zip, into.path()).unwrap();
        assert_eq!(unpacked.files, 2);
        assert_eq!(std::fs::read_to_string(into.path().join("src/main.py")).unwrap(), "print(1)\n");
        let mode = std::fs::metadata(into.path().join("run.sh")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755);
    }

    #[test]
    fn a_zip_entry_climbing_out_is_refused() {
        let (dir, path) = zip_with(&[("../evil.txt", b"x")]);
        let into = dir.path().join("into");
        let error = unpack_file(&path, ArchiveKind::Zip, &into).unwrap_err();
        assert!(matches!(error, UnpackError::Escapes { .. }), "{error}");
        assert!(!dir.path().join("evil.txt").exists());
    }

    #[test]
    fn a_tar_entry_climbing_out_or_absolute_is_refused() {
        for name in ["../evil.txt", "a/../../evil.txt", "/tmp/evil.txt"] {
            let dir = tempfile::tempdir().unwrap();
            let into = dir.path().join("into");
            let error = unpack_tar(&tar_with_raw_name(name)[..], Path::new("x.tar"), &into).unwrap_err();
            assert!(matches!(error, UnpackError::Escapes { .. }), "{name}: {error}");
            assert!(!dir.path().join("evil.txt").exists());
        }
    }

    #[test]
    fn tar_links_are_left_out_never_made() {
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_size(0);
        builder.append_link(&mut header, "escape", "/etc").unwrap();
        let mut header = tar::Header::new_gnu();
        header.set_size(3);
        header.set_mode(0o644);
        builder.append_data(&mut header, "escape/passwd", &b"bad"[..]).unwrap();
        let bytes = builder.into_inner().unwrap();
        let into = tempfile::tempdir().unwrap();
        let unpacked = unpack_tar(&bytes[..], Path::new("x.tar"), into.path()).unwrap();
        assert_eq!(unpacked.left_out, ["escape"]);
        // The file lands in a real folder named `escape` inside, not through the link.
        assert!(std::fs::symlink_metadata(into.path().join("escape")).unwrap().is_dir());
        assert_eq!(std::fs::read_to_string(into.path().join("escape/passwd")).unwrap(), "bad");
    }

    #[test]
    fn a_gzipped_tar_unpacks() {
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
        let mut header = tar::Header::new_gnu();
        header.set_size(5);
        header.set_mode(0o644);
        builder.append_data(&mut header, "alice/main.c", &b"int x"[..]).unwrap();
        let bytes = builder.into_inner().unwrap().finish().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("alice.tar.gz");
        std::fs::write(&archive, bytes).unwrap();
        let into = dir.path().join("into");
        unpack_file(&archive, ArchiveKind::of(&archive).unwrap(), &into).unwrap();
        assert_eq!(submission_root(&into), into.join("alice"));
        assert_eq!(std::fs::read_to_string(into.join("alice/main.c")).unwrap(), "int x");
    }

    #[test]
    fn a_corrupt_archive_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("broken.zip");
        std::fs::write(&archive, b"not a zip at all").unwrap();
        let error = unpack_file(&archive, ArchiveKind::Zip, &dir.path().join("into")).unwrap_err();
        assert!(error.to_string().starts_with(&archive.display().to_string()), "{error}");
    }

    #[test]
    fn archive_kinds_come_from_the_name() {
        assert_eq!(ArchiveKind::of(Path::new("a.TGZ")), Some(ArchiveKind::TarGz));
        assert_eq!(ArchiveKind::of(Path::new("a.tar.gz")), Some(ArchiveKind::TarGz));
        assert_eq!(ArchiveKind::of(Path::new("a.tar")), Some(ArchiveKind::Tar));
        assert_eq!(ArchiveKind::of(Path::new("a.zip")), Some(ArchiveKind::Zip));
        assert_eq!(ArchiveKind::of(Path::new("a.rar")), None);
    }
}
