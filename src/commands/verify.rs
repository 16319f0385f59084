//! `takehome verify <result>...`: does a result still match its submission and the challenge? Recomputes
//! the hashes its manifest holds and names what changed.

use std::path::{Path, PathBuf};

use super::UsageError;
use crate::batch::manifest::{self, Comparison, Manifest, TreeDigest};
use crate::batch::source::{Origin, Submission};
use crate::batch::store;
use crate::batch::unpack::ArchiveKind;
use crate::exit_codes;
use crate::report::Report;
use crate::spec;

pub fn run(results: &[PathBuf], dir: Option<&Path>, challenge: Option<&str>) -> anyhow::Result<i32> {
    let mut files = Vec::new();
    for path in results {
        if path.is_dir() {
            files.extend(store::list_results(path)?);
        } else {
            files.push(path.clone());
        }
    }
    if dir.is_some() && files.len() != 1 {
        return Err(UsageError(format!("--dir names one submission, and {} results were given", files.len())).into());
    }
    let mut matching = 0;
    let mut checked = 0;
    for file in &files {
        let set = store::read_result(file)?;
        for report in &set.reports {
            checked += 1;
            let (text, matches) = verify(file, report, dir, challenge);
            super::say(&text);
            matching += usize::from(matches);
        }
    }
    if checked > 1 {
        super::say_line(format!("{matching} of {checked} results match"));
    }
    Ok(if matching == checked { exit_codes::PASSED } else { exit_codes::FAILED })
}

/// The text about one report, and whether it still matches.
fn verify(file: &Path, report: &Report, dir: Option<&Path>, challenge: Option<&str>) -> (String, bool) {
    let mut text = format!("{}: {} on {}", file.display(), report.submission.name, report.challenge.id);
    let Some(manifest) = &report.manifest else {
        text.push_str("\n  no manifest: this result was not written by `takehome grade` (or by an older takehome)\n");
        text.push_str("result: cannot be verified\n");
        return (text, false);
    };
    text.push_str(&format!(
        ", seed {}, graded {} by takehome {}\n",
        manifest.seed, manifest.graded_at, manifest.takehome_version
    ));
    let spec_now = spec_now(report, challenge);
    let spec_ok = line(&mut text, "challenge", Some(&manifest.spec), spec_now);
    let submission_now = submission_now(manifest, dir);
    let moved = submission_now.as_ref().ok().and_then(|(_, moved)| moved.clone());
    let submission_ok = line(&mut text, "submission", manifest.submission.as_ref(), submission_now.map(|(d, _)| d));
    if let Some(moved) = moved {
        text.push_str(&format!("              {moved}\n"));
    }
    let toolchain_now = dir
        .map(Path::to_path_buf)
        .or_else(|| (manifest.source.kind == "folder").then(|| PathBuf::from(&manifest.source.path)))
        .and_then(|d| manifest::toolchain(&d));
    match (&manifest.toolchain, toolchain_now) {
        (Some(then), Some(now)) if *then != now => {
            text.push_str(&format!("  toolchain   differs    graded with `{then}`, now `{now}`\n"));
        }
        (Some(then), _) => text.push_str(&format!("  toolchain   {then}\n")),
        (None, _) => {}
    }
    if manifest.takehome_version != env!("CARGO_PKG_VERSION") {
        text.push_str(&format!(
            "  takehome    differs    graded by {}, this is {}\n",
            manifest.takehome_version,
            env!("CARGO_PKG_VERSION")
        ));
    }
    let matches = spec_ok && submission_ok;
    text.push_str(match (spec_ok, submission_ok) {
        (true, true) => "result: matches the submission and the challenge\n",
        (false, true) => "result: does NOT match: the challenge's files changed since\n",
        (true, false) => "result: does NOT match: the submission changed since\n",
        (false, false) => "result: does NOT match: the challenge and the submission changed since\n",
    });
    (text, matches)
}

/// Adds the line comparing `then` with `now`; whether they match.
fn line(text: &mut String, what: &str, then: Option<&TreeDigest>, now: Result<TreeDigest, String>) -> bool {
    let (then, now) = match (then, now) {
        (_, Err(why)) => {
            text.push_str(&format!("  {what:<11} UNKNOWN    {why}\n"));
            return false;
        }
        (None, Ok(_)) => {
            text.push_str(&format!("  {what:<11} UNKNOWN    the result holds no hash of it\n"));
            return false;
        }
        (Some(then), Ok(now)) => (then, now),
    };
    match manifest::compare(then, &now) {
        Comparison::Same => {
            text.push_str(&format!("  {what:<11} matches    {} files, sha256 {}\n", now.files, &now.sha256[..12]));
            true
        }
        Comparison::Differs { changed, added, removed } => {
            let mut parts = Vec::new();
            for (label, paths) in [("changed", changed), ("added", added), ("removed", removed)] {
                if !paths.is_empty() {
                    parts.push(format!("{label}: {}", paths.join(", ")));
                }
            }
            if parts.is_empty() {
                parts.push(format!("{} files then, {} now", then.files, now.files));
            }
            text.push_str(&format!("  {what:<11} CHANGED    {}\n", parts.join("; ")));
            false
        }
    }
}

fn spec_now(report: &Report, challenge: Option<&str>) -> Result<TreeDigest, String> {
    let name = challenge.map_or_else(
        || {
            if report.challenge.source == "bundled" {
                report.challenge.id.clone()
            } else {
                report.challenge.source.clone()
            }
        },
        str::to_string,
    );
    let loaded = spec::load(&name).map_err(|e| format!("cannot load the challenge (--challenge to say where): {e}"))?;
    if loaded.spec.id != report.challenge.id {
        return Err(format!("{name} is challenge `{}`, not `{}`", loaded.spec.id, report.challenge.id));
    }
    manifest::spec_digest(&loaded).map_err(|e| e.to_string())
}

/// The submission's digest now, and for a git revision that now names another commit, a line saying so.
fn submission_now(manifest: &Manifest, dir: Option<&Path>) -> Result<(TreeDigest, Option<String>), String> {
    let source = &manifest.source;
    let origin = match dir {
        Some(dir) if dir.is_dir() => Origin::Folder(dir.to_path_buf()),
        Some(path) => match ArchiveKind::of(path) {
            Some(kind) => Origin::Archive(path.to_path_buf(), kind),
            None => return Err(format!("{}: not a folder or an archive", path.display())),
        },
        None => {
            let path = PathBuf::from(&source.path);
            match (source.kind.as_str(), &source.rev) {
                ("git", Some(rev)) => Origin::Git { repo: path, rev: rev.clone() },
                ("archive", _) => match ArchiveKind::of(&path) {
                    Some(kind) => Origin::Archive(path, kind),
                    None => return Err(format!("{}: not an archive", path.display())),
                },
                _ => Origin::Folder(path),
            }
        }
    };
    let submission = Submission { name: "submission".into(), origin };
    if !submission.path().exists() {
        return Err(format!("{} is gone (--dir to say where the submission is now)", submission.path().display()));
    }
    let ready = submission.materialize().map_err(|e| e.to_string())?;
    let digest = manifest::submission_digest(&ready.dir).map_err(|e| e.to_string())?;
    let moved = match (&source.commit, &ready.info.commit, &source.rev) {
        (Some(then), Some(now), Some(rev)) if then != now => {
            Some(format!("`{rev}` now names commit {now}; it named {then} when graded"))
        }
        _ => None,
    };
    Ok((digest, moved))
}
