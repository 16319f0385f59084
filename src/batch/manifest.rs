//! What a result was graded from, so it can be checked later (`takehome verify`) and a rerun can tell
//! a finished result from a stale one: hashes of the challenge's protected files and of the submission's
//! tree, the toolchain, takehome's version, the seed, and which run graded it when.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::source::SourceInfo;
use crate::spec::LoadedChallenge;
use crate::submission::tree::{self, Kind};

/// Trees of at most this many files also list each file's hash, so a change can be named.
const MAX_LISTED_FILES: usize = 500;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The challenge's protected files: everything in its folder but prose (`*.md`) and build output.
    pub spec: TreeDigest,
    /// The submission's tree (build output, dependencies and version control left out, as for the build
    /// cache); absent when it could not be read.
    pub submission: Option<TreeDigest>,
    pub source: SourceInfo,
    /// The toolchain line the build used (e.g. `python: Python 3.11.2`), when a language was detected.
    pub toolchain: Option<String>,
    pub takehome_version: String,
    pub seed: u64,
    /// Unique per grader run: tells a result kept from an earlier run from one graded by this one.
    pub run_id: String,
    /// When grading finished: RFC 3339 UTC with milliseconds, so results sort by it as text.
    pub graded_at: String,
}

/// A tree's hash (sha256 over each file's path, kind and content hash, in path order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeDigest {
    pub sha256: String,
    pub files: usize,
    /// Each file's content sha256 by path (links: of their target), for trees of at most 500 files.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub per_file: BTreeMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    #[error(transparent)]
    Tree(#[from] tree::TreeError),
    #[error("cannot read {}: {source}", .path.display())]
    Read { path: std::path::PathBuf, source: std::io::Error },
}

/// The digest of the challenge's protected files.
pub fn spec_digest(challenge: &LoadedChallenge) -> Result<TreeDigest, DigestError> {
    digest_tree(&challenge.dir, &super::protected::is_protected)
}

/// The digest of a submission's tree.
pub fn submission_digest(dir: &Path) -> Result<TreeDigest, DigestError> {
    digest_tree(dir, &|_| true)
}

/// Hashes the files (and links) under `root` that `keep` accepts; folders count only through them.
pub fn digest_tree(root: &Path, keep: &dyn Fn(&Path) -> bool) -> Result<TreeDigest, DigestError> {
    let entries = tree::list(root, None)?;
    let mut whole = Sha256::new();
    let mut per_file = BTreeMap::new();
    let mut files = 0;
    let mut buffer = vec![0u8; 64 * 1024];
    for entry in entries.iter().filter(|e| keep(&e.path)) {
        let (tag, hash) = match &entry.kind {
            Kind::Dir => continue,
            Kind::Symlink(target) => ("l", hex(&Sha256::digest(target.as_os_str().as_encoded_bytes()))),
            Kind::File { executable, .. } => {
                let full = root.join(&entry.path);
                let read_error = |source| DigestError::Read { path: full.clone(), source };
                let mut file = std::fs::File::open(&full).map_err(read_error)?;
                let mut hasher = Sha256::new();
                loop {
                    let n =
                        file.read(&mut buffer).map_err(|source| DigestError::Read { path: full.clone(), source })?;
                    if n == 0 {
                        break;
                    }
                    hasher.update(&buffer[..n]);
                }
                (if *executable { "x" } else { "f" }, hex(&hasher.finalize()))
            }
        };
        let path = entry.path.to_string_lossy();
        // NUL never occurs in a path, so no two trees give the same stream.
        whole.update(path.as_bytes());
        whole.update([0]);
        whole.update(tag.as_bytes());
        whole.update(hash.as_bytes());
        whole.update([b'\n']);
        files += 1;
        per_file.insert(path.into_owned(), hash);
    }
    if per_file.len() > MAX_LISTED_FILES {
        per_file.clear();
    }
    Ok(TreeDigest { sha256: hex(&whole.finalize()), files, per_file })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// How a tree now differs from its digest then: nothing, or what changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Comparison {
    Same,
    /// The files changed, added and removed, when the digest lists its files; else just that it differs.
    Differs {
        changed: Vec<String>,
        added: Vec<String>,
        removed: Vec<String>,
    },
}

#[must_use]
pub fn compare(then: &TreeDigest, now: &TreeDigest) -> Comparison {
    if then.sha256 == now.sha256 {
        return Comparison::Same;
    }
    let (mut changed, mut added, mut removed) = (Vec::new(), Vec::new(), Vec::new());
    if !then.per_file.is_empty() && !now.per_file.is_empty() {
        for (path, hash) in &then.per_file {
            match now.per_file.get(path) {
                None => removed.push(path.clone()),
                Some(now_hash) if now_hash != hash => changed.push(path.clone()),
                Some(_) => {}
            }
        }
        added = now.per_file.keys().filter(|p| !then.per_file.contains_key(*p)).cloned().collect();
    }
    Comparison::Differs { changed, added, removed }
}

/// The toolchain line for the submission in `dir`, as the build reports it (probed once per language
/// per process, so after a build this is the very line its cache key used).
#[must_use]
pub fn toolchain(dir: &Path) -> Option<String> {
    let absolute = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let recipe = crate::submission::detect(&absolute).ok()?;
    let env: Vec<(std::ffi::OsString, std::ffi::OsString)> =
        ["PATH", "HOME", "CARGO_HOME", "RUSTUP_HOME", "RUSTUP_TOOLCHAIN", "JAVA_HOME", "GOROOT"]
            .into_iter()
            .filter_map(|name| std::env::var_os(name).map(|value| (name.into(), value)))
            .collect();
    Some(crate::submission::toolchain::version(&recipe, &env, &std::env::temp_dir()))
}

/// A fresh run id: 16 hex digits from the time, the process and a random hasher.
#[must_use]
pub fn new_run_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    hasher.write_u32(std::process::id());
    format!("{:016x}", hasher.finish())
}

/// The current time as RFC 3339 UTC with milliseconds, e.g. `2026-11-24T11:03:39.123Z`.
#[must_use]
pub fn now_rfc3339() -> String {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    rfc3339(since.as_secs(), since.subsec_millis())
}

fn rfc3339(seconds: u64, millis: u32) -> String {
    let days = (seconds / 86_400) as i64;
    let of_day = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// Year, month and day of a count of days since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, path: &str, text: &str) {
        let full = root.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
    }

    #[test]
    fn a_tree_digest_ignores_build_output_and_sees_every_content_change() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "main.py", "print(1)\n");
        write(dir.path(), "lib/util.py", "x = 1\n");
        let before = submission_digest(dir.path()).unwrap();
        assert_eq!(before.files, 2);
        write(dir.path(), "target/release/app", "binary");
        write(dir.path(), "__pycache__/main.pyc", "cache");
        write(dir.path(), ".git/HEAD", "ref");
        assert_eq!(submission_digest(dir.path()).unwrap(), before);

        write(dir.path(), "lib/util.py", "x = 2\n");
        write(dir.path(), "new.py", "");
        std::fs::remove_file(dir.path().join("main.py")).unwrap();
        let after = submission_digest(dir.path()).unwrap();
        assert_eq!(
            compare(&before, &after),
            Comparison::Differs {
                changed: vec!["lib/util.py".into()],
                added: vec!["new.py".into()],
                removed: vec!["main.py".into()]
            }
        );
    }

    #[test]
    fn moving_a_file_changes_the_digest() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        write(a.path(), "x/y", "same");
        write(b.path(), "x_y", "same");
        assert_ne!(submission_digest(a.path()).unwrap().sha256, submission_digest(b.path()).unwrap().sha256);
    }

    #[test]
    fn the_spec_digest_leaves_out_prose() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "challenge.toml", "id = 'x'\n");
        write(dir.path(), "cases/a.in", "1\n");
        let digest = |root: &Path| {
            digest_tree(root, &|p: &Path| !p.extension().is_some_and(|e| e.eq_ignore_ascii_case("md"))).unwrap()
        };
        let before = digest(dir.path());
        write(dir.path(), "README.md", "typo fixed");
        assert_eq!(digest(dir.path()), before);
        write(dir.path(), "cases/a.in", "2\n");
        assert_ne!(digest(dir.path()), before);
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400 + 86_399, 7), "2000-02-29T23:59:59.007Z");
        assert_eq!(rfc3339(1_795_518_219, 123), "2026-11-24T11:03:39.123Z");
        assert_eq!(now_rfc3339().len(), 24);
    }

    #[test]
    fn run_ids_differ() {
        assert_ne!(new_run_id(), new_run_id());
    }
}
