//! `takehome grade <challenge> <submission>...`: every case, public and hidden, for each submission.

use std::path::PathBuf;

use super::output::Destinations;
use super::pipeline::{self, Options};
use crate::cli::RunArgs;
use crate::report::{Mode, ReportSet, SCHEMA_VERSION, Verdict};
use crate::spec;

pub fn run(
    challenge: &str,
    submissions: &[PathBuf],
    args: &RunArgs,
    destinations: &Destinations,
    color: bool,
    min_score: Option<f64>,
) -> anyhow::Result<i32> {
    let loaded = spec::load(challenge)?;
    super::check_sandbox(args)?;
    let seed = super::choose_seed(args.seed);
    let options = Options::new(Mode::Grade, args, seed, &loaded);
    let reports: Vec<_> = submissions.iter().map(|dir| pipeline::grade(&loaded, dir, &options)).collect();
    let judge_error = reports.iter().any(|r| {
        r.cases().any(|c| c.verdict == Verdict::JudgeError)
            || r.benches.iter().any(|b| b.status == crate::bench::result::BenchStatus::JudgeError)
    });
    let passed = match min_score {
        Some(min) => reports.iter().all(|r| r.percent() + 1e-9 >= min),
        None => reports.iter().all(crate::report::Report::all_passed),
    };
    let set = ReportSet { schema_version: SCHEMA_VERSION, takehome_version: env!("CARGO_PKG_VERSION").into(), reports };
    destinations.write(&set, color)?;
    Ok(super::verdict_code(judge_error, passed))
}
