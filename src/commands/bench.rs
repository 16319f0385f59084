//! `takehome bench <challenge> [submission]`: builds the submission and runs only the challenge's
//! benchmarks against its first reference solution. Correctness is `test`'s and `grade`'s business
//! (a protocol challenge's benchmark stages still check the history they measure).

use std::path::Path;
use std::time::Instant;

use super::UsageError;
use super::output::Destinations;
use super::pipeline;
use crate::bench::{self, BenchStatus};
use crate::cli::RunArgs;
use crate::exit_codes;
use crate::report::{Mode, Report, ReportSet, SCHEMA_VERSION};
use crate::run::stages;
use crate::spec::{self, Kind, LoadedChallenge};

pub fn run(
    challenge: &str,
    dir: &Path,
    args: &RunArgs,
    destinations: &Destinations,
    color: bool,
) -> anyhow::Result<i32> {
    let loaded = spec::load(challenge)?;
    if loaded.spec.kind == Kind::Protocol {
        return protocol_benchmarks(&loaded, dir, args, destinations, color);
    }
    if loaded.spec.benches.is_empty() {
        return Err(
            UsageError(format!("challenge `{}` has no benchmarks (no [[bench]] in its spec)", loaded.spec.id)).into()
        );
    }
    super::check_sandbox(args)?;
    let seed = super::choose_seed(args.seed);
    let started = Instant::now();
    let mut report = pipeline::new_report(&loaded, dir, Mode::Bench, seed);
    if super::show_progress() {
        eprintln!("building and benchmarking {} ...", report.submission.name);
    }
    let built = pipeline::detect_and_build(&loaded, dir, &mut report, &indicatif::ProgressBar::hidden());
    report.benches = match &built {
        Some(built) => {
            let spinner = pipeline::progress_bar(super::show_progress(), None, "benchmarks");
            let results = bench::run_all(&loaded, built, seed, &|step| spinner.set_message(step.to_string()));
            spinner.finish_and_clear();
            results
        }
        None => {
            let why = if report.build.commands.is_empty() && !report.build.log_tail.is_empty() {
                format!("not benchmarked: {}", report.build.log_tail.lines().next().unwrap_or_default())
            } else {
                "not benchmarked: the submission did not build".to_string()
            };
            loaded.spec.benches.iter().map(|b| bench::not_run(b, seed, &why)).collect()
        }
    };
    // Folds from +0.0: a float sum of nothing is -0.0, which would print as "-0%". Unlike `grade`, a bench
    // with no number counts here at 0 of its points: alone, leaving it out would read as 0/0 (100%); the
    // exit code (3) says there was no number.
    report.score = report.benches.iter().filter_map(|b| b.points).fold(0.0, |total, p| total + p);
    report.max_score = report.benches.iter().map(|b| b.max_points).fold(0.0, |total, p| total + p);
    report.duration = started.elapsed().as_secs_f64();
    let code = exit_code(&report);
    let set = ReportSet {
        schema_version: SCHEMA_VERSION,
        takehome_version: env!("CARGO_PKG_VERSION").into(),
        reports: vec![report],
    };
    destinations.write(&set, color)?;
    Ok(code)
}

/// 0 when every bench was scored; 3 when a number could not be given through no fault of the
/// candidate (too noisy, a judge error); 1 otherwise.
/// A protocol challenge's benchmarks are its stages that measure speed (a rate sweep, or figures relative
/// to the reference): each is run on its own, whatever the others give.
fn protocol_benchmarks(
    loaded: &LoadedChallenge,
    dir: &Path,
    args: &RunArgs,
    destinations: &Destinations,
    color: bool,
) -> anyhow::Result<i32> {
    if !loaded.spec.stages.iter().any(stages::is_benchmark) {
        return Err(UsageError(format!(
            "challenge `{}` has no benchmarks (no stage has a [stage.sweep] or a figure relative to the reference)",
            loaded.spec.id
        ))
        .into());
    }
    super::check_sandbox(args)?;
    let seed = super::choose_seed(args.seed);
    let report = pipeline::grade(loaded, dir, &pipeline::Options::new(Mode::Bench, args, seed, loaded));
    super::test::write_one(report, destinations, color)
}

fn exit_code(report: &Report) -> i32 {
    let statuses: Vec<BenchStatus> = report.benches.iter().map(|b| b.status).collect();
    if statuses.iter().all(|s| *s == BenchStatus::Scored) {
        exit_codes::PASSED
    } else if statuses.iter().any(|s| matches!(s, BenchStatus::TooNoisy | BenchStatus::JudgeError)) {
        exit_codes::INFRASTRUCTURE_ERROR
    } else {
        exit_codes::FAILED
    }
}
