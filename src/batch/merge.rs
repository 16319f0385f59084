//! Combining result folders (the shards of a batch, or reruns) into one: every submission's result once;
//! when two folders hold different results for the same submission, the one graded later wins.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::pool;
use super::store::{self, StoreError};

/// Files written at once (their writes wait on the disk, not the CPU).
const WRITERS: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the folders hold results of different challenges ({}): merge each challenge's results separately", .0.join(", "))]
    MixedChallenges(Vec<String>),
}

/// What a merge did.
#[derive(Debug, Default)]
pub struct Merged {
    /// Results written into the output folder.
    pub written: usize,
    /// Results already there and kept as they were.
    pub kept: usize,
    /// Things worth a look: conflicts resolved, results of another spec or seed.
    pub warnings: Vec<String>,
    /// Files that are not results (left out of the merge).
    pub unreadable: Vec<String>,
}

struct Candidate {
    path: PathBuf,
    bytes: Vec<u8>,
    graded_at: String,
    challenge: String,
    spec: Option<String>,
    seed: u64,
}

/// Merges the results of `inputs` into `out` (made if missing; results already in it take part too).
pub fn merge(out: &Path, inputs: &[PathBuf]) -> Result<Merged, MergeError> {
    let mut merged = Merged::default();
    let mut by_name: BTreeMap<String, Vec<Candidate>> = BTreeMap::new();
    let mut folders: Vec<PathBuf> = Vec::new();
    let mut seen_folders = BTreeSet::new();
    for folder in std::iter::once(out).filter(|o| o.is_dir()).chain(inputs.iter().map(PathBuf::as_path)) {
        let key = folder.canonicalize().unwrap_or_else(|_| folder.to_path_buf());
        if seen_folders.insert(key) {
            folders.push(folder.to_path_buf());
        }
    }
    for folder in &folders {
        for path in store::list_results(folder)? {
            let Some(name) = path.file_stem().map(|s| s.to_string_lossy().into_owned()) else { continue };
            match candidate(&path) {
                Ok(candidate) => by_name.entry(name).or_default().push(candidate),
                Err(error) => merged.unreadable.push(error.to_string()),
            }
        }
    }
    let challenges: BTreeSet<&str> = by_name.values().flatten().map(|c| c.challenge.as_str()).collect();
    if challenges.len() > 1 {
        return Err(MergeError::MixedChallenges(challenges.into_iter().map(str::to_string).collect()));
    }
    let specs: BTreeSet<&str> = by_name.values().flatten().filter_map(|c| c.spec.as_deref()).collect();
    if specs.len() > 1 {
        merged.warnings.push(format!(
            "the results were graded against {} different versions of the challenge's files: scores may not compare",
            specs.len()
        ));
    }
    let seeds: BTreeSet<u64> = by_name.values().flatten().map(|c| c.seed).collect();
    if seeds.len() > 1 {
        let seeds: Vec<String> = seeds.iter().map(u64::to_string).collect();
        merged.warnings.push(format!(
            "the results were graded with different seeds ({}): hidden generated cases differ between them",
            seeds.join(", ")
        ));
    }
    std::fs::create_dir_all(out).map_err(|source| StoreError::Write { path: out.to_path_buf(), source })?;
    let out_key = out.canonicalize().unwrap_or_else(|_| out.to_path_buf());
    let mut to_write: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    for (name, mut candidates) in by_name {
        // Latest first; among equals, the later folder on the command line.
        candidates.reverse();
        candidates.sort_by(|a, b| b.graded_at.cmp(&a.graded_at));
        let winner = &candidates[0];
        let differing: Vec<&Candidate> = candidates[1..].iter().filter(|c| c.bytes != winner.bytes).collect();
        if !differing.is_empty() {
            let others: Vec<String> = differing.iter().map(|c| c.path.display().to_string()).collect();
            merged.warnings.push(format!(
                "{name}: different results in {} and {}: keeping {} (graded {}, the latest)",
                winner.path.display(),
                others.join(", "),
                winner.path.display(),
                if winner.graded_at.is_empty() { "at an unknown time" } else { &winner.graded_at }
            ));
        }
        let target = out.join(format!("{name}.json"));
        let in_out = |c: &Candidate| c.path.parent().and_then(|p| p.canonicalize().ok()).is_some_and(|p| p == out_key);
        if candidates.iter().any(|c| c.bytes == winner.bytes && in_out(c)) {
            merged.kept += 1;
        } else {
            to_write.push((target, candidates.swap_remove(0).bytes));
        }
    }
    // Each file is flushed to disk before its rename: many at once let the file system batch the flushes.
    let written = pool::map(&to_write, WRITERS, |_, (target, bytes)| {
        store::replace_file(target, bytes).map_err(|source| StoreError::Write { path: target.clone(), source })
    });
    store::sync_folder(out);
    for outcome in written {
        outcome?;
        merged.written += 1;
    }
    Ok(merged)
}

fn candidate(path: &Path) -> Result<Candidate, StoreError> {
    let bytes = std::fs::read(path).map_err(|source| StoreError::Read { path: path.to_path_buf(), source })?;
    let set: crate::report::ReportSet = serde_json::from_slice(&bytes)
        .map_err(|error| StoreError::Parse { path: path.to_path_buf(), message: error.to_string() })?;
    let Some(report) = set.reports.first() else {
        return Err(StoreError::Parse { path: path.to_path_buf(), message: "it holds no report".into() });
    };
    let manifest = report.manifest.as_ref();
    Ok(Candidate {
        path: path.to_path_buf(),
        graded_at: manifest.map(|m| m.graded_at.clone()).unwrap_or_default(),
        challenge: report.challenge.id.clone(),
        spec: manifest.map(|m| m.spec.sha256.clone()),
        seed: report.seed,
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::manifest::{Manifest, TreeDigest};
    use crate::batch::source::SourceInfo;
    use crate::batch::store::ResultStore;
    use crate::report::{Mode, ReportSet, sample};

    fn result(name: &str, score: f64, graded_at: &str) -> ReportSet {
        let mut report = sample::report(Mode::Grade);
        report.submission.name = name.to_string();
        report.score = score;
        let digest = TreeDigest { sha256: "ab".into(), files: 1, per_file: Default::default() };
        report.manifest = Some(Manifest {
            spec: digest.clone(),
            submission: Some(digest),
            source: SourceInfo { kind: "folder".into(), path: format!("/subs/{name}"), rev: None, commit: None },
            toolchain: None,
            takehome_version: "0.1.0".into(),
            seed: report.seed,
            run_id: "r".into(),
            graded_at: graded_at.into(),
        });
        sample::set(vec![report])
    }

    fn folder(results: &[(&str, f64, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let store = ResultStore::open(dir.path()).unwrap();
        for (name, score, at) in results {
            store.write(name, &result(name, *score, at)).unwrap();
        }
        dir
    }

    fn score_in(dir: &Path, name: &str) -> f64 {
        store::read_result(&dir.join(format!("{name}.json"))).unwrap().reports[0].score
    }

    #[test]
    fn every_result_of_every_folder_lands_once() {
        let a = folder(&[("alice", 1.0, "2026-01-01T00:00:00.000Z"), ("bob", 2.0, "2026-01-01T00:00:00.000Z")]);
        let b = folder(&[("carol", 3.0, "2026-01-01T00:00:00.000Z")]);
        let out = tempfile::tempdir().unwrap();
        let target = out.path().join("merged");
        let merged = merge(&target, &[a.path().into(), b.path().into()]).unwrap();
        assert_eq!((merged.written, merged.kept), (3, 0));
        assert!(merged.warnings.is_empty(), "{:?}", merged.warnings);
        let names: Vec<String> = store::list_results(&target)
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["alice.json", "bob.json", "carol.json"]);
        assert_eq!(std::fs::read(target.join("bob.json")).unwrap(), std::fs::read(a.path().join("bob.json")).unwrap());

        let again = merge(&target, &[a.path().into(), b.path().into()]).unwrap();
        assert_eq!((again.written, again.kept), (0, 3), "identical copies are not conflicts");
        assert!(again.warnings.is_empty(), "{:?}", again.warnings);
    }

    #[test]
    fn on_conflict_the_later_result_wins_with_a_warning() {
        let old = folder(&[("alice", 1.0, "2026-01-01T00:00:00.000Z")]);
        let new = folder(&[("alice", 9.0, "2026-03-01T00:00:00.000Z")]);
        let out = tempfile::tempdir().unwrap();
        for order in [[new.path(), old.path()], [old.path(), new.path()]] {
            let target = out.path().join(format!("m{}", order[0] == old.path()));
            let merged = merge(&target, &[order[0].into(), order[1].into()]).unwrap();
            assert_eq!(score_in(&target, "alice"), 9.0);
            assert_eq!(merged.warnings.len(), 1, "{:?}", merged.warnings);
            assert!(merged.warnings[0].contains("graded 2026-03-01"), "{}", merged.warnings[0]);
        }
    }

    #[test]
    fn files_that_are_not_results_are_left_out_and_named() {
        let a = folder(&[("alice", 1.0, "2026-01-01T00:00:00.000Z")]);
        std::fs::write(a.path().join("notes.json"), "{").unwrap();
        std::fs::write(a.path().join(".takehome-result-1-x.tmp"), "{").unwrap();
        let out = tempfile::tempdir().unwrap();
        let merged = merge(out.path(), &[a.path().into()]).unwrap();
        assert_eq!(merged.written, 1);
        assert_eq!(merged.unreadable.len(), 1);
        assert!(merged.unreadable[0].contains("notes.json"), "{:?}", merged.unreadable);
    }

    #[test]
    fn results_of_two_challenges_are_not_merged() {
        let a = folder(&[("alice", 1.0, "2026-01-01T00:00:00.000Z")]);
        let b = tempfile::tempdir().unwrap();
        let mut other = result("bob", 1.0, "2026-01-01T00:00:00.000Z");
        other.reports[0].challenge.id = "sum".into();
        ResultStore::open(b.path()).unwrap().write("bob", &other).unwrap();
        let out = tempfile::tempdir().unwrap();
        let error = merge(&out.path().join("m"), &[a.path().into(), b.path().into()]).unwrap_err();
        assert!(matches!(error, MergeError::MixedChallenges(_)), "{error}");
        assert!(!out.path().join("m").exists(), "nothing is written");
    }
}
