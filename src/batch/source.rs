//! Where a batch's submissions come from: folders, archives (.zip, .tar, .tar.gz) and git repositories at
//! a revision; each gets a unique name. Archives and revisions are unpacked into a temporary folder
//! for grading; folders are graded where they are (the build copies them, never writes into them).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::git::{self, GitError};
use super::names;
use super::unpack::{self, ArchiveKind, UnpackError};

/// One submission of a batch, before it is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    /// Unique in the batch, safe as a file name.
    pub name: String,
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Folder(PathBuf),
    Archive(PathBuf, ArchiveKind),
    Git { repo: PathBuf, rev: String },
}

/// Where a graded submission came from, as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// `folder`, `archive` or `git`.
    pub kind: String,
    /// The folder, archive or repository, made absolute.
    pub path: String,
    /// The revision asked for (`--rev`), for `git`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rev: Option<String>,
    /// The commit it named when graded, for `git`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{}: no such file or folder", .0.display())]
    Missing(PathBuf),
    #[error("{}: not a submission: give a folder or a .zip, .tar.gz, .tgz or .tar archive", .0.display())]
    NotASubmission(PathBuf),
    #[error("{}: --rev {rev} needs a git repository, and this folder is not one (it has no .git)", .path.display())]
    NotARepository { path: PathBuf, rev: String },
    #[error("--rev {rev} applies to git repositories; {} is an archive", .path.display())]
    RevOnArchive { path: PathBuf, rev: String },
    #[error("cannot list {}: {source}", .path.display())]
    List { path: PathBuf, source: std::io::Error },
    #[error("cannot make a temporary folder: {0}")]
    Temp(std::io::Error),
    #[error(transparent)]
    Unpack(#[from] UnpackError),
    #[error(transparent)]
    Git(#[from] GitError),
}

impl SourceError {
    /// Whether the command line is at fault (a wrong path, a flag that does not fit) rather than one
    /// submission's content (a corrupt archive, a revision its repository lacks).
    #[must_use]
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            SourceError::Missing(_)
                | SourceError::NotASubmission(_)
                | SourceError::NotARepository { .. }
                | SourceError::RevOnArchive { .. }
                | SourceError::List { .. }
        )
    }
}

/// The batch the command line names: each of `paths`, then every subfolder and archive of each `from`
/// folder (sorted by name; hidden entries and other files left out), with unique names in that order.
pub fn collect(paths: &[PathBuf], from: &[PathBuf], rev: Option<&str>) -> Result<Vec<Submission>, SourceError> {
    let mut found: Vec<(String, Origin)> = Vec::new();
    for path in paths {
        found.push((names::base_name(path), origin(path, rev)?));
    }
    for folder in from {
        let list_error = |source| SourceError::List { path: folder.clone(), source };
        if !folder.is_dir() {
            return Err(if folder.exists() {
                list_error(std::io::Error::other("not a folder"))
            } else {
                SourceError::Missing(folder.clone())
            });
        }
        let mut entries: Vec<PathBuf> = std::fs::read_dir(folder)
            .map_err(list_error)?
            .filter_map(Result::ok)
            .filter(|entry| !entry.file_name().to_string_lossy().starts_with('.'))
            .map(|entry| entry.path())
            .filter(|path| path.is_dir() || ArchiveKind::of(path).is_some())
            .collect();
        entries.sort();
        for path in entries {
            found.push((names::base_name(&path), origin(&path, rev)?));
        }
    }
    let unique = names::dedupe(found.iter().map(|(name, _)| name.clone()).collect());
    Ok(unique.into_iter().zip(found).map(|(name, (_, origin))| Submission { name, origin }).collect())
}

fn origin(path: &Path, rev: Option<&str>) -> Result<Origin, SourceError> {
    let metadata = std::fs::metadata(path).map_err(|_| SourceError::Missing(path.to_path_buf()))?;
    if metadata.is_dir() {
        return Ok(match rev {
            Some(rev) if git::is_repository(path) => Origin::Git { repo: path.to_path_buf(), rev: rev.to_string() },
            Some(rev) => return Err(SourceError::NotARepository { path: path.to_path_buf(), rev: rev.to_string() }),
            None => Origin::Folder(path.to_path_buf()),
        });
    }
    let kind = ArchiveKind::of(path).ok_or_else(|| SourceError::NotASubmission(path.to_path_buf()))?;
    if let Some(rev) = rev {
        return Err(SourceError::RevOnArchive { path: path.to_path_buf(), rev: rev.to_string() });
    }
    Ok(Origin::Archive(path.to_path_buf(), kind))
}

/// A submission ready to grade: the folder holding it (a temporary one for archives and revisions,
/// removed when this is dropped).
#[derive(Debug)]
pub struct Materialized {
    pub dir: PathBuf,
    pub info: SourceInfo,
    /// Entries of an archive that were left out (links, devices), to tell the grader.
    pub left_out: Vec<String>,
    _temp: Option<tempfile::TempDir>,
}

impl Submission {
    /// The path the command line gave.
    #[must_use]
    pub fn path(&self) -> &Path {
        match &self.origin {
            Origin::Folder(path) | Origin::Archive(path, _) => path,
            Origin::Git { repo, .. } => repo,
        }
    }

    /// How the submission is shown in a report's `path`: the path given, with `@rev` for a revision.
    #[must_use]
    pub fn display(&self) -> String {
        match &self.origin {
            Origin::Git { repo, rev } => format!("{}@{rev}", repo.display()),
            _ => self.path().display().to_string(),
        }
    }

    /// Makes the submission a folder: as it is, or unpacked into a temporary folder named after it (so
    /// what is reported about the folder carries the submission's name).
    pub fn materialize(&self) -> Result<Materialized, SourceError> {
        let absolute = |path: &Path| std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let temp = || crate::scratch::folder("submission").map_err(SourceError::Temp);
        match &self.origin {
            Origin::Folder(path) => Ok(Materialized {
                dir: path.clone(),
                info: SourceInfo {
                    kind: "folder".into(),
                    path: absolute(path).display().to_string(),
                    rev: None,
                    commit: None,
                },
                left_out: Vec::new(),
                _temp: None,
            }),
            Origin::Archive(path, kind) => {
                let temp = temp()?;
                let unpacked_into = temp.path().join("unpacked");
                let unpacked = unpack::unpack_file(path, *kind, &unpacked_into)?;
                let dir = named_root(&unpack::submission_root(&unpacked_into), temp.path(), &self.name);
                Ok(Materialized {
                    dir,
                    info: SourceInfo {
                        kind: "archive".into(),
                        path: absolute(path).display().to_string(),
                        rev: None,
                        commit: None,
                    },
                    left_out: unpacked.left_out,
                    _temp: Some(temp),
                })
            }
            Origin::Git { repo, rev } => {
                let commit = git::resolve(repo, rev)?;
                let temp = temp()?;
                let dir = temp.path().join(&self.name);
                let unpacked = git::export(repo, &commit, &dir)?;
                Ok(Materialized {
                    dir,
                    info: SourceInfo {
                        kind: "git".into(),
                        path: absolute(repo).display().to_string(),
                        rev: Some(rev.clone()),
                        commit: Some(commit),
                    },
                    left_out: unpacked.left_out,
                    _temp: Some(temp),
                })
            }
        }
    }
}

/// Moves an unpacked root to `temp/<name>`; keeps it where it is should the move fail.
fn named_root(root: &Path, temp: &Path, name: &str) -> PathBuf {
    let named = temp.join(name);
    if std::fs::rename(root, &named).is_ok() { named } else { root.to_path_buf() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_takes_subfolders_and_archives_sorted_and_skips_the_rest() {
        let subs = tempfile::tempdir().unwrap();
        for dir in ["bob", "alice", ".hidden"] {
            std::fs::create_dir(subs.path().join(dir)).unwrap();
        }
        for file in ["carol.zip", "notes.txt", "alice.tar.gz"] {
            std::fs::write(subs.path().join(file), "").unwrap();
        }
        let batch = collect(&[], &[subs.path().to_path_buf()], None).unwrap();
        let names: Vec<&str> = batch.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["alice", "alice-2", "bob", "carol"]);
        assert_eq!(batch[0].origin, Origin::Folder(subs.path().join("alice")));
        assert_eq!(batch[1].origin, Origin::Archive(subs.path().join("alice.tar.gz"), ArchiveKind::TarGz));
    }

    #[test]
    fn a_path_that_is_no_submission_is_a_usage_error() {
        let subs = tempfile::tempdir().unwrap();
        std::fs::write(subs.path().join("notes.txt"), "").unwrap();
        let error = collect(&[subs.path().join("notes.txt")], &[], None).unwrap_err();
        assert!(error.is_usage() && error.to_string().contains("not a submission"), "{error}");
        let error = collect(&[subs.path().join("nope")], &[], None).unwrap_err();
        assert!(error.is_usage() && error.to_string().contains("no such file"), "{error}");
        let error = collect(&[subs.path().to_path_buf()], &[], Some("main")).unwrap_err();
        assert!(matches!(error, SourceError::NotARepository { .. }), "{error}");
    }

    #[test]
    fn a_folder_materializes_as_itself() {
        let dir = tempfile::tempdir().unwrap();
        let batch = collect(&[dir.path().to_path_buf()], &[], None).unwrap();
        let ready = batch[0].materialize().unwrap();
        assert_eq!(ready.dir, dir.path());
        assert_eq!(ready.info.kind, "folder");
    }
}
