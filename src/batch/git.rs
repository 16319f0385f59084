//! A submission at a git revision: the tree of a branch, tag or commit of a local repository, exported
//! with `git archive` into a folder of our own. The candidate's repository is only read: no checkout,
//! no worktree, no change to its index or refs.

use std::path::Path;
use std::process::{Command, Stdio};

use super::unpack::{self, UnpackError, Unpacked};

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("{}: no branch, tag or commit named `{rev}`{}", .repo.display(), detail(.message))]
    UnknownRev { repo: std::path::PathBuf, rev: String, message: String },
    #[error("cannot run git (is it installed?): {0}")]
    NoGit(std::io::Error),
    #[error("{}: `git archive {rev}` failed{}", .repo.display(), detail(.message))]
    Archive { repo: std::path::PathBuf, rev: String, message: String },
    #[error(transparent)]
    Unpack(#[from] UnpackError),
}

fn detail(message: &str) -> String {
    if message.trim().is_empty() { String::new() } else { format!(": {}", message.trim()) }
}

/// Whether `dir` is the top of a git work tree (holds `.git`, a folder or a worktree's file).
#[must_use]
pub fn is_repository(dir: &Path) -> bool {
    dir.join(".git").exists()
}

/// `git` run on `repo` with the repository's own hooks and helpers kept from running, and without
/// git's refusal of repositories owned by another user (graders often run as root on candidates' clones).
pub(super) fn git(repo: &Path) -> Command {
    let mut command = Command::new("git");
    command
        .arg("-C")
        .arg(repo)
        .args(["-c", "safe.directory=*", "-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null"])
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_OPTIONAL_LOCKS", "0")
        .stdin(Stdio::null());
    command
}

/// The full commit id `rev` names in `repo`.
pub fn resolve(repo: &Path, rev: &str) -> Result<String, GitError> {
    let output = git(repo)
        .args(["rev-parse", "--verify", "--quiet", "--end-of-options"])
        .arg(format!("{rev}^{{commit}}"))
        .output()
        .map_err(GitError::NoGit)?;
    let commit = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if !output.status.success() || commit.is_empty() {
        return Err(GitError::UnknownRev {
            repo: repo.to_path_buf(),
            rev: rev.to_string(),
            message: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    Ok(commit)
}

/// Exports the tree of `commit` into `into`.
pub fn export(repo: &Path, commit: &str, into: &Path) -> Result<Unpacked, GitError> {
    let mut child = git(repo)
        .args(["archive", "--format=tar", commit])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(GitError::NoGit)?;
    let named = repo.join(format!("@{commit}"));
    let unpacked = match child.stdout.take() {
        Some(stdout) => unpack::unpack_tar(std::io::BufReader::new(stdout), &named, into),
        None => Ok(Unpacked::default()),
    };
    let output = child.wait_with_output().map_err(GitError::NoGit)?;
    if !output.status.success() {
        return Err(GitError::Archive {
            repo: repo.to_path_buf(),
            rev: commit.to_string(),
            message: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    Ok(unpacked?)
}

/// For tests that make repositories.
#[cfg(test)]
pub(super) mod test_support {
    use std::path::Path;
    use std::process::{Command, Stdio};

    /// Runs git in `dir` as a throwaway identity; panics when it fails.
    pub fn run_git(dir: &Path, args: &[&str]) {
        let status = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("git runs");
        assert!(status.success(), "git {args:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::test_support::run_git;

    #[test]
    fn exports_the_tree_of_a_tag_and_leaves_the_repository_alone() {
        let repo = tempfile::tempdir().unwrap();
        run_git(repo.path(), &["init", "-q", "-b", "main"]);
        std::fs::write(repo.path().join("main.py"), "print('v1')\n").unwrap();
        run_git(repo.path(), &["add", "."]);
        run_git(repo.path(), &["commit", "-q", "-m", "v1"]);
        run_git(repo.path(), &["tag", "v1"]);
        std::fs::write(repo.path().join("main.py"), "print('v2')\n").unwrap();
        run_git(repo.path(), &["commit", "-q", "-am", "v2"]);
        std::fs::write(repo.path().join("main.py"), "uncommitted\n").unwrap();

        let commit = resolve(repo.path(), "v1").unwrap();
        assert_eq!(commit.len(), 40);
        let into = tempfile::tempdir().unwrap();
        export(repo.path(), &commit, into.path()).unwrap();
        assert_eq!(std::fs::read_to_string(into.path().join("main.py")).unwrap(), "print('v1')\n");
        assert!(!into.path().join(".git").exists());
        assert_eq!(std::fs::read_to_string(repo.path().join("main.py")).unwrap(), "uncommitted\n");
    }

    #[test]
    fn an_unknown_revision_is_named() {
        let repo = tempfile::tempdir().unwrap();
        run_git(repo.path(), &["init", "-q"]);
        let error = resolve(repo.path(), "no-such-branch").unwrap_err();
        assert!(error.to_string().contains("no branch, tag or commit named `no-such-branch`"), "{error}");
        let error = resolve(repo.path(), "--output=/tmp/x").unwrap_err();
        assert!(matches!(error, GitError::UnknownRev { .. }), "{error}");
    }
}
