//! `takehome test <challenge>`: the candidate's check, public cases only, in their own folder.

use std::path::{Path, PathBuf};

use super::UsageError;
use super::output::Destinations;
use super::pipeline::{self, Options};
use crate::batch::protected::{self, ProtectedChanges};
use crate::cli::RunArgs;
use crate::report::{Mode, Report, ReportSet, SCHEMA_VERSION, Verdict};
use crate::spec::{self, LoadedChallenge, Origin};

pub fn run(
    challenge: &str,
    dir: &Path,
    changed_since: Option<&str>,
    args: &RunArgs,
    destinations: &Destinations,
    color: bool,
) -> anyhow::Result<i32> {
    let loaded = spec::load(challenge)?;
    let protected_changes = protected_changes(&loaded, changed_since, &[dir.to_path_buf()])?;
    super::check_sandbox(args)?;
    let seed = super::choose_seed(args.seed);
    let options = Options::new(Mode::Test, args, seed, &loaded);
    let mut report = pipeline::grade(&loaded, dir, &options);
    report.protected_changes = protected_changes;
    write_one(report, destinations, color)
}

/// With `--changed-since`, the challenge's protected files changed since that revision (said at once on
/// standard error too); a challenge outside a repository or an unknown revision is a usage error.
pub(super) fn protected_changes(
    challenge: &LoadedChallenge,
    changed_since: Option<&str>,
    submissions: &[PathBuf],
) -> anyhow::Result<Option<ProtectedChanges>> {
    let Some(since) = changed_since else { return Ok(None) };
    if challenge.origin == Origin::Bundled {
        return Err(UsageError(format!(
            "--changed-since {since}: `{}` is a bundled challenge; give the path of the challenge folder in the \
             repository instead",
            challenge.spec.id
        ))
        .into());
    }
    let changes =
        protected::changed_since(&challenge.dir, since, submissions).map_err(|error| UsageError(error.to_string()))?;
    if let Some(changes) = &changes {
        eprintln!(
            "warning: the challenge's protected files changed since {since}, so the result cannot be trusted: {}",
            changes.files.join(", ")
        );
    }
    Ok(changes)
}

/// Writes one submission's report where asked; the exit code its cases give.
pub(super) fn write_one(report: Report, destinations: &Destinations, color: bool) -> anyhow::Result<i32> {
    let judge_error = report.cases().any(|c| c.verdict == Verdict::JudgeError);
    let passed = report.all_passed() && report.protected_changes.is_none();
    let set = ReportSet {
        schema_version: SCHEMA_VERSION,
        takehome_version: env!("CARGO_PKG_VERSION").into(),
        reports: vec![report],
    };
    destinations.write(&set, color)?;
    super::tell_github(&set);
    Ok(super::verdict_code(judge_error, passed))
}
