//! `takehome bench <challenge> [submission]`: builds the submission and runs only the challenge's
//! benchmarks against its first reference solution. Correctness is `test`'s and `grade`'s business.

use std::path::Path;
use std::time::Instant;

use super::UsageError;
use super::output::Destinations;
use super::pipeline::submission_name;
use crate::bench::{self, BenchStatus};
use crate::cli::RunArgs;
use crate::exit_codes;
use crate::report::{BuildInfo, ChallengeInfo, Mode, Report, ReportSet, SCHEMA_VERSION, SubmissionInfo};
use crate::spec;
use crate::submission::{self, Built};

pub fn run(
    challenge: &str,
    dir: &Path,
    args: &RunArgs,
    destinations: &Destinations,
    color: bool,
) -> anyhow::Result<i32> {
    let loaded = spec::load(challenge)?;
    if loaded.spec.benches.is_empty() {
        return Err(
            UsageError(format!("challenge `{}` has no benchmarks (no [[bench]] in its spec)", loaded.spec.id)).into()
        );
    }
    super::check_sandbox(args)?;
    let seed = super::choose_seed(args.seed);
    let started = Instant::now();
    let mut report = empty_report(&loaded, dir, seed);
    if super::show_progress() {
        eprintln!("building and benchmarking {} ...", report.submission.name);
    }
    let built = build(dir, &loaded.spec.build, &mut report);
    report.benches = match &built {
        Some(built) => bench::run_all(&loaded, built, seed),
        None => {
            let why = if report.build.commands.is_empty() && !report.build.log_tail.is_empty() {
                format!("not benchmarked: {}", report.build.log_tail.lines().next().unwrap_or_default())
            } else {
                "not benchmarked: the submission did not build".to_string()
            };
            loaded.spec.benches.iter().map(|b| bench::not_run(b, seed, &why)).collect()
        }
    };
    // Folds from +0.0: a float sum of nothing is -0.0, which would print as "-0%".
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

fn empty_report(loaded: &spec::LoadedChallenge, dir: &Path, seed: u64) -> Report {
    Report {
        challenge: ChallengeInfo {
            id: loaded.spec.id.clone(),
            title: loaded.spec.title.clone(),
            source: loaded.origin.to_string(),
        },
        submission: SubmissionInfo {
            name: submission_name(dir),
            path: dir.display().to_string(),
            language: "unknown".into(),
            detected_because: String::new(),
        },
        mode: Mode::Bench,
        seed,
        build: BuildInfo { ok: false, cached: false, duration: 0.0, commands: vec![], log_tail: String::new() },
        groups: Vec::new(),
        score: 0.0,
        max_score: 0.0,
        hidden_cases_not_run: 0,
        sandbox: crate::sandbox::describe_layers(),
        duration: 0.0,
        benches: Vec::new(),
    }
}

/// Detects and builds the submission, recording the build in the report; `None` when it did not build.
fn build(dir: &Path, settings: &spec::BuildSettings, report: &mut Report) -> Option<Built> {
    let absolute = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let recipe = match submission::detect(&absolute) {
        Ok(recipe) => recipe,
        Err(error) => {
            report.build.log_tail = error.to_string();
            return None;
        }
    };
    report.submission.language = recipe.language.clone();
    report.submission.detected_because = recipe.because.clone();
    match submission::build(&absolute, &recipe, settings) {
        Ok(built) => {
            report.build = built.info.clone();
            built.info.ok.then_some(built)
        }
        Err(error) => {
            report.build.log_tail = format!("{error:#}");
            None
        }
    }
}
