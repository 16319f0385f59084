//! A result folder: one `<name>.json` per submission (a ReportSet holding that submission's report),
//! each written atomically (a temporary file in the same folder, flushed to disk, then renamed), so a
//! grader stopped at any moment leaves only whole results. Temporary files are hidden, end in `.tmp`
//! (readers of `*.json` never see them) and are cleaned once the process that wrote them is gone.

use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use crate::report::ReportSet;

const TEMP_PREFIX: &str = ".takehome-result-";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot read {}: {source}", .path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("{}: not a takehome result: {message}", .path.display())]
    Parse { path: PathBuf, message: String },
    #[error("cannot write {}: {source}", .path.display())]
    Write { path: PathBuf, source: io::Error },
}

/// A folder of results.
#[derive(Debug, Clone)]
pub struct ResultStore {
    dir: PathBuf,
}

impl ResultStore {
    /// Opens `dir` (made if missing) and removes temporary files left by graders no longer running.
    pub fn open(dir: &Path) -> Result<ResultStore, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Write { path: dir.to_path_buf(), source })?;
        clean_leftovers(dir);
        Ok(ResultStore { dir: dir.to_path_buf() })
    }

    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the result of the submission `name` goes.
    #[must_use]
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.json"))
    }

    /// The result kept for `name`: `None` when there is none, `Err` when the file is not a result.
    pub fn load(&self, name: &str) -> Option<Result<ReportSet, StoreError>> {
        let path = self.path(name);
        path.exists().then(|| read_result(&path))
    }

    /// Writes `set` as the result of `name`, atomically.
    pub fn write(&self, name: &str, set: &ReportSet) -> Result<PathBuf, StoreError> {
        let path = self.path(name);
        write_atomically(&path, crate::report::json::render(set).as_bytes())
            .map_err(|source| StoreError::Write { path: path.clone(), source })?;
        Ok(path)
    }
}

/// Reads and parses one result file.
pub fn read_result(path: &Path) -> Result<ReportSet, StoreError> {
    let text = std::fs::read_to_string(path).map_err(|source| StoreError::Read { path: path.to_path_buf(), source })?;
    serde_json::from_str(&text)
        .map_err(|error| StoreError::Parse { path: path.to_path_buf(), message: error.to_string() })
}

/// The result files of a folder (`*.json`, not hidden), sorted by name.
pub fn list_results(dir: &Path) -> Result<Vec<PathBuf>, StoreError> {
    let read_error = |source| StoreError::Read { path: dir.to_path_buf(), source };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(read_error)?
        .filter_map(Result::ok)
        .filter(|entry| {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            !name.starts_with('.') && name.ends_with(".json") && entry.file_type().is_ok_and(|t| t.is_file())
        })
        .map(|entry| entry.path())
        .collect();
    paths.sort();
    Ok(paths)
}

/// Writes `bytes` to `path` through a temporary file in the same folder: flushed to disk, renamed over
/// `path`, and the folder flushed, so after a crash `path` holds either its old content or all of the new.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    replace_file(path, bytes)?;
    sync_folder(folder_of(path));
    Ok(())
}

fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// [`write_atomically`] without flushing the folder: for many files in one folder, followed by one
/// [`sync_folder`].
pub fn replace_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = folder_of(path);
    let mut temp = tempfile::Builder::new()
        .prefix(&format!("{TEMP_PREFIX}{}-", std::process::id()))
        .suffix(".tmp")
        .tempfile_in(dir)?;
    temp.write_all(bytes)?;
    // Results are for everyone who grades (a CI job, a leaderboard), not only this user.
    temp.as_file().set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Flushes a folder's entries (renames into it) to disk. A folder that cannot be opened this way is no
/// reason to fail: the files themselves are on disk.
pub fn sync_folder(dir: &Path) {
    if let Ok(folder) = std::fs::File::open(dir) {
        let _ = folder.sync_all();
    }
}

/// Removes `.takehome-result-<pid>-*.tmp` files whose process is gone (a grader killed mid-write).
fn clean_leftovers(dir: &Path) {
    crate::scratch::remove_orphans(dir, TEMP_PREFIX);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Mode, sample};

    #[test]
    fn a_result_round_trips_and_lists() {
        let dir = tempfile::tempdir().unwrap();
        let store = ResultStore::open(&dir.path().join("results")).unwrap();
        let set = sample::set(vec![sample::report(Mode::Grade)]);
        let path = store.write("alice", &set).unwrap();
        assert_eq!(path, store.dir().join("alice.json"));
        let back = store.load("alice").unwrap().unwrap();
        assert_eq!(crate::report::json::render(&back), crate::report::json::render(&set));
        assert!(store.load("bob").is_none());
        assert_eq!(list_results(store.dir()).unwrap(), [path]);
    }

    #[test]
    fn leftover_temporary_files_of_dead_graders_are_removed_and_never_listed() {
        let dir = tempfile::tempdir().unwrap();
        // No process has a pid this large (pid_max is at most 2^22).
        let dead = dir.path().join(format!("{TEMP_PREFIX}99999999-abc.tmp"));
        let alive = dir.path().join(format!("{TEMP_PREFIX}{}-abc.tmp", std::process::id()));
        std::fs::write(&dead, "{half a res").unwrap();
        std::fs::write(&alive, "{being writ").unwrap();
        assert!(list_results(dir.path()).unwrap().is_empty());
        ResultStore::open(dir.path()).unwrap();
        assert!(!dead.exists());
        assert!(alive.exists(), "a running grader's temporary file is left alone");
    }

    #[test]
    fn a_file_that_is_not_a_result_is_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x.json"), "{\"reports\": 3}").unwrap();
        let error = read_result(&dir.path().join("x.json")).unwrap_err();
        assert!(error.to_string().contains("x.json: not a takehome result"), "{error}");
    }
}
