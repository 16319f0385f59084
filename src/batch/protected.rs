//! Whether a pull request touched the challenge it is graded against (`--changed-since <rev>`): the
//! protected files of the challenge folder (its spec, cases, generators, checkers, references: all but
//! prose and build output, the files `spec_digest` hashes) that differ between the merge base of `rev`
//! and HEAD, or that are changed and not yet committed. A submission that edits its own tests to pass is
//! flagged in the report.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::git::{self, GitError};
use crate::submission::tree::SKIPPED_DIRS;

/// The challenge's protected files that changed, as the report carries them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtectedChanges {
    /// The revision compared against, as given (`origin/main`).
    pub since: String,
    /// The top folder of the repository holding the challenge.
    pub repository: String,
    /// The changed files (added, modified, deleted or untracked), relative to the repository's top, sorted.
    pub files: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProtectedError {
    #[error("--changed-since: the challenge folder {} is not inside a git repository{}", .dir.display(), detail(.message))]
    NotInRepository { dir: PathBuf, message: String },
    #[error("--changed-since: {0}")]
    Git(#[from] GitError),
    #[error("--changed-since: {}: `git {command}` failed{}", .repo.display(), detail(.message))]
    Command { repo: PathBuf, command: String, message: String },
}

fn detail(message: &str) -> String {
    if message.trim().is_empty() { String::new() } else { format!(": {}", message.trim()) }
}

/// Whether a file of the challenge folder (`relative` to it) is protected: everything the spec digest
/// hashes, so all but prose (`*.md`) and build output, dependencies and version control.
#[must_use]
pub fn is_protected(relative: &Path) -> bool {
    let prose = relative.extension().is_some_and(|e| e.eq_ignore_ascii_case("md"));
    let skipped = relative.components().any(|c| SKIPPED_DIRS.iter().any(|d| c.as_os_str() == OsStr::new(d)));
    let finder_litter = relative.file_name().is_some_and(|name| name == ".DS_Store");
    !prose && !skipped && !finder_litter
}

/// The protected files of the challenge in `challenge_dir` changed since `since` (committed on this
/// branch after its merge base with `since`, or changed in the work tree); `None` when there are none.
/// Files inside `submissions` that lie within the challenge folder are the candidate's, never protected.
pub fn changed_since(
    challenge_dir: &Path,
    since: &str,
    submissions: &[PathBuf],
) -> Result<Option<ProtectedChanges>, ProtectedError> {
    let top = repository_top(challenge_dir)?;
    let real = |path: &Path| path.canonicalize().ok().and_then(|p| p.strip_prefix(&top).ok().map(Path::to_path_buf));
    let not_in_repository =
        || ProtectedError::NotInRepository { dir: challenge_dir.to_path_buf(), message: String::new() };
    let challenge = real(challenge_dir).ok_or_else(not_in_repository)?;
    let candidates: Vec<PathBuf> =
        submissions.iter().filter_map(|s| real(s)).filter(|s| s != &challenge && s.starts_with(&challenge)).collect();

    let commit = git::resolve(&top, since)?;
    let mut changed = listed(
        &top,
        &["diff", "--name-only", "-z", "--no-renames", "--no-relative", "--no-ext-diff"],
        &[&format!("{commit}...HEAD")],
    )?;
    let status = listed(&top, &["status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames"], &[])?;
    changed.extend(porcelain_paths(&status));

    let mut files: Vec<String> = changed
        .iter()
        .filter(|path| !candidates.iter().any(|c| path.starts_with(c)))
        .filter(|path| path.strip_prefix(&challenge).is_ok_and(is_protected))
        .map(|path| path.to_string_lossy().into_owned())
        .collect();
    files.sort();
    files.dedup();
    Ok((!files.is_empty()).then(|| ProtectedChanges {
        since: since.to_string(),
        repository: top.display().to_string(),
        files,
    }))
}

/// The top of the work tree holding `dir`, with symbolic links resolved.
fn repository_top(dir: &Path) -> Result<PathBuf, ProtectedError> {
    let output = git::git(dir).args(["rev-parse", "--show-toplevel"]).output().map_err(GitError::NoGit)?;
    let top = String::from_utf8_lossy(&output.stdout).trim_end_matches('\n').to_string();
    if !output.status.success() || top.is_empty() {
        return Err(ProtectedError::NotInRepository {
            dir: dir.to_path_buf(),
            message: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    let top = PathBuf::from(top);
    Ok(top.canonicalize().unwrap_or(top))
}

/// The NUL-separated output of a git command run at the repository's top, as paths.
fn listed(top: &Path, args: &[&str], revisions: &[&str]) -> Result<Vec<PathBuf>, ProtectedError> {
    let output = git::git(top).args(args).args(revisions).output().map_err(GitError::NoGit)?;
    if !output.status.success() {
        return Err(ProtectedError::Command {
            repo: top.to_path_buf(),
            command: args.iter().chain(revisions).copied().collect::<Vec<_>>().join(" "),
            message: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    Ok(output
        .stdout
        .split(|&b| b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| PathBuf::from(OsStr::from_bytes(p)))
        .collect())
}

/// The paths of `git status --porcelain=v1 -z` entries (`XY path`, and a rename's or copy's origin as
/// the next entry), both ends of a rename included.
fn porcelain_paths(entries: &[PathBuf]) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    let mut origin_follows = false;
    for entry in entries {
        if std::mem::take(&mut origin_follows) {
            paths.push(entry.clone());
            continue;
        }
        let bytes = entry.as_os_str().as_bytes();
        if bytes.len() < 4 || bytes[2] != b' ' {
            continue;
        }
        origin_follows = matches!(bytes[0], b'R' | b'C');
        paths.push(PathBuf::from(OsStr::from_bytes(&bytes[3..])));
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::batch::git::test_support::run_git;

    fn write(root: &Path, path: &str, text: &str) {
        let full = root.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
    }

    /// A repository with `challenge/` (spec, a case, a README) and `solution/` committed on `main`, then a
    /// branch `pr` checked out.
    fn repository() -> tempfile::TempDir {
        let repo = tempfile::tempdir().unwrap();
        run_git(repo.path(), &["init", "-q", "-b", "main"]);
        write(repo.path(), "challenge/challenge.toml", "id = 'x'\n");
        write(repo.path(), "challenge/cases/a.ans", "1\n");
        write(repo.path(), "challenge/README.md", "brief\n");
        write(repo.path(), "solution/main.py", "print(1)\n");
        run_git(repo.path(), &["add", "."]);
        run_git(repo.path(), &["commit", "-q", "-m", "start"]);
        run_git(repo.path(), &["checkout", "-q", "-b", "pr"]);
        repo
    }

    fn check(repo: &Path, submissions: &[PathBuf]) -> Vec<String> {
        changed_since(&repo.join("challenge"), "main", submissions).unwrap().map(|c| c.files).unwrap_or_default()
    }

    #[test]
    fn prose_and_build_output_are_not_protected_but_everything_else_is() {
        assert!(is_protected(Path::new("challenge.toml")));
        assert!(is_protected(Path::new("cases/a.ans")));
        assert!(is_protected(Path::new("reference/python/main.py")));
        assert!(!is_protected(Path::new("README.md")));
        assert!(!is_protected(Path::new("docs/NOTES.MD")));
        assert!(!is_protected(Path::new("reference/rust/target/release/app")));
        assert!(!is_protected(Path::new("gen/__pycache__/pairs.pyc")));
    }

    #[test]
    fn committed_and_uncommitted_changes_to_protected_files_are_listed() {
        let repo = repository();
        write(repo.path(), "challenge/challenge.toml", "id = 'x'\n# easier\n");
        run_git(repo.path(), &["commit", "-q", "-am", "easier"]);
        write(repo.path(), "challenge/cases/a.ans", "2\n");
        write(repo.path(), "challenge/cases/new.in", "untracked\n");
        let changes = changed_since(&repo.path().join("challenge"), "main", &[]).unwrap().unwrap();
        assert_eq!(changes.files, ["challenge/cases/a.ans", "challenge/cases/new.in", "challenge/challenge.toml"]);
        assert_eq!(changes.since, "main");
        assert_eq!(Path::new(&changes.repository), repo.path().canonicalize().unwrap());
    }

    #[test]
    fn a_deleted_or_renamed_protected_file_is_listed() {
        let repo = repository();
        run_git(repo.path(), &["mv", "challenge/cases/a.ans", "challenge/cases/b.ans"]);
        run_git(repo.path(), &["commit", "-q", "-m", "rename"]);
        assert_eq!(check(repo.path(), &[]), ["challenge/cases/a.ans", "challenge/cases/b.ans"]);
        run_git(repo.path(), &["rm", "-q", "challenge/challenge.toml"]);
        assert_eq!(
            check(repo.path(), &[]),
            ["challenge/cases/a.ans", "challenge/cases/b.ans", "challenge/challenge.toml"]
        );
    }

    #[test]
    fn changes_to_the_submission_or_the_brief_are_not_flagged() {
        let repo = repository();
        write(repo.path(), "solution/main.py", "print(2)\n");
        write(repo.path(), "challenge/README.md", "brief, typo fixed\n");
        run_git(repo.path(), &["commit", "-q", "-am", "work"]);
        write(repo.path(), "solution/extra.py", "\n");
        assert!(check(repo.path(), &[]).is_empty());
    }

    #[test]
    fn a_submission_inside_the_challenge_folder_is_the_candidates() {
        let repo = repository();
        write(repo.path(), "challenge/solution/main.py", "print(3)\n");
        write(repo.path(), "challenge/cases/a.ans", "3\n");
        let inside = repo.path().join("challenge/solution");
        assert_eq!(check(repo.path(), std::slice::from_ref(&inside)), ["challenge/cases/a.ans"]);
        // A submission that holds the challenge (the repository's top) hides nothing.
        assert_eq!(
            check(repo.path(), &[repo.path().to_path_buf()]),
            ["challenge/cases/a.ans", "challenge/solution/main.py"]
        );
    }

    #[test]
    fn a_challenge_outside_any_repository_or_an_unknown_revision_is_a_clear_error() {
        let plain = tempfile::tempdir().unwrap();
        let error = changed_since(plain.path(), "main", &[]).unwrap_err();
        assert!(matches!(error, ProtectedError::NotInRepository { .. }), "{error}");
        assert!(error.to_string().contains("is not inside a git repository"), "{error}");

        let repo = repository();
        let error = changed_since(&repo.path().join("challenge"), "origin/nope", &[]).unwrap_err();
        assert!(error.to_string().contains("no branch, tag or commit named `origin/nope`"), "{error}");
    }

    #[test]
    fn porcelain_entries_name_both_ends_of_a_rename() {
        let entries: Vec<PathBuf> =
            ["R  new name.toml", "old.toml", " M cases/a.in", "?? x", "bad"].iter().map(PathBuf::from).collect();
        assert_eq!(porcelain_paths(&entries), ["new name.toml", "old.toml", "cases/a.in", "x"].map(PathBuf::from));
    }
}
