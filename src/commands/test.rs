//! `takehome test <challenge>`: the candidate's check, public cases only, in their own folder.

use std::path::Path;

use super::output::Destinations;
use super::pipeline::{self, Options};
use crate::cli::RunArgs;
use crate::report::{Mode, Report, ReportSet, SCHEMA_VERSION, Verdict};
use crate::spec;

pub fn run(
    challenge: &str,
    dir: &Path,
    args: &RunArgs,
    destinations: &Destinations,
    color: bool,
) -> anyhow::Result<i32> {
    let loaded = spec::load(challenge)?;
    super::check_sandbox(args)?;
    let seed = super::choose_seed(args.seed);
    let options = Options::new(Mode::Test, args, seed, &loaded);
    let report = pipeline::grade(&loaded, dir, &options);
    write_one(report, destinations, color)
}

/// Writes one submission's report where asked; the exit code its cases give.
pub(super) fn write_one(report: Report, destinations: &Destinations, color: bool) -> anyhow::Result<i32> {
    let judge_error = report.cases().any(|c| c.verdict == Verdict::JudgeError);
    let passed = report.all_passed();
    let set = ReportSet {
        schema_version: SCHEMA_VERSION,
        takehome_version: env!("CARGO_PKG_VERSION").into(),
        reports: vec![report],
    };
    destinations.write(&set, color)?;
    super::tell_github(&set);
    Ok(super::verdict_code(judge_error, passed))
}
