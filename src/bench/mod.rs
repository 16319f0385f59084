//! Benchmarks: fair speed and memory figures for a submission, scored as a ratio against the
//! challenge's reference solution run interleaved in the same session (never an absolute time).
//!
//! A bench makes its workload once (workload), runs warm-ups then A B B A blocks of candidate and
//! reference (plan) through an executor (executor: the sandbox, or a mock in tests), summarises each
//! side and bootstraps the ratio of medians (stats), and turns the ratio into points unless its
//! interval is too wide (score). Everything needed to recompute the score goes into the result.

pub mod environment;
pub mod executor;
pub mod instructions;
pub mod plan;
pub mod render;
pub mod result;
pub mod score;
pub mod stats;
pub mod workload;

use std::ffi::OsString;
use std::path::Path;

pub use executor::{Executor, MockExecutor, RunFailure, Sample, SandboxExecutor, Side};
pub use plan::{Measurements, Plan};
pub use result::{BenchResult, BenchStatus, Instructions, MetricResult, WorkloadInfo};

use crate::check::CompareOptions;
use crate::report::Report;
use crate::sandbox::{Confinement, Input, RunLimits, RunPlan};
use crate::spec::{Bench, LoadedChallenge, Metric};
use crate::submission::{self, Built};
use environment::Environment;
use executor::ExpectedOutput;
use instructions::InstructionCounter;
use score::Decision;

/// The widest relative interval scored when the spec does not say.
pub const DEFAULT_MAX_CI_WIDTH: f64 = 0.10;

/// Adds the challenge's benches to a graded report: run only when every case passed, otherwise
/// listed as not run with no points. Bench points join the report's score and maximum, except for a
/// bench that could not be scored fairly (too noisy, judge error), which joins neither.
pub fn add_to_report(challenge: &LoadedChallenge, built: Option<&Built>, report: &mut Report, progress: &dyn Fn(&str)) {
    if challenge.spec.benches.is_empty() {
        return;
    }
    let results = match built {
        Some(built) if report.all_passed() => run_all(challenge, built, report.seed, progress),
        _ => {
            let why = if report.build.ok { "correctness failed" } else { "the submission did not build" };
            challenge
                .spec
                .benches
                .iter()
                .map(|bench| not_run(bench, report.seed, &format!("not benchmarked: {why}")))
                .collect()
        }
    };
    let (score, max) = points(&results);
    report.score += score;
    report.max_score += max;
    report.benches = results;
}

/// Points earned and points at stake. A bench that could not give a fair number (too noisy, a judge
/// error) is left out of both: the machine's noise must not cost the candidate points.
fn points(results: &[BenchResult]) -> (f64, f64) {
    results
        .iter()
        .filter(|r| !matches!(r.status, BenchStatus::TooNoisy | BenchStatus::JudgeError))
        .fold((0.0, 0.0), |(score, max), r| (score + r.points.unwrap_or(0.0), max + r.max_points))
}

/// Runs every bench of the challenge for a built candidate, one after another (never in parallel:
/// they would disturb each other), against the first reference solution.
/// `progress` hears what is being done (building the reference, making a workload, measuring), for a
/// spinner: a big workload takes minutes to make.
#[must_use]
pub fn run_all(
    challenge: &LoadedChallenge,
    candidate: &Built,
    run_seed: u64,
    progress: &dyn Fn(&str),
) -> Vec<BenchResult> {
    let benches = &challenge.spec.benches;
    let reference_dir = challenge.spec.validate.references.first();
    let reference = match reference_dir {
        None => Err("the challenge names no reference solution ([validate] references) to compare against".into()),
        Some(dir) => {
            progress(&format!("building the reference {dir}"));
            build_reference(&challenge.path(dir), &challenge.spec.build)
        }
    };
    let environment = environment::capture();
    benches
        .iter()
        .map(|bench| {
            let mut result = base(bench, run_seed, reference_dir.cloned(), Some(environment.clone()));
            match &reference {
                Err(why) => judge_error(&mut result, why),
                Ok(reference) => run_one(challenge, bench, candidate, reference, run_seed, &mut result, progress),
            }
            result
        })
        .collect()
}

/// Builds a challenge's reference solution, or says why it cannot be.
pub(crate) fn build_reference(dir: &Path, settings: &crate::spec::BuildSettings) -> Result<Built, String> {
    let recipe = submission::detect(dir).map_err(|e| format!("the reference solution cannot be built: {e}"))?;
    let built = submission::build(dir, &recipe, settings)
        .map_err(|e| format!("the reference solution cannot be built: {e:#}"))?;
    if built.info.ok {
        Ok(built)
    } else {
        Err(format!("the reference solution {} failed to build:\n{}", dir.display(), built.info.log_tail))
    }
}

fn run_one(
    challenge: &LoadedChallenge,
    bench: &Bench,
    candidate: &Built,
    reference: &Built,
    run_seed: u64,
    result: &mut BenchResult,
    progress: &dyn Fn(&str),
) {
    if let Some(problem) = spec_problem(bench) {
        return judge_error(result, &format!("bench `{}` in challenge.toml: {problem}", bench.name));
    }
    if candidate.run.is_empty() || reference.run.is_empty() {
        return judge_error(result, "nothing to run");
    }
    progress(&format!("{}: making the workload ({})", bench.name, bench.workload.generator));
    let workload = match workload::prepare(challenge, bench, result.workload.seed) {
        Ok(workload) => workload,
        Err(why) => return judge_error(result, &format!("the workload could not be made: {why}")),
    };
    let limits = bench.limits.over(challenge.spec.limits).resolve();
    // Both sides run under the same confinement as graded cases, so they pay the same launch cost.
    let run_plan = |built: &Built| RunPlan {
        program: built.run[0].clone(),
        args: built.run[1..].iter().cloned().chain(bench.workload.args.iter().map(OsString::from)).collect(),
        cwd: workload.cwd(),
        env: crate::run::batch::run_env(challenge, workload.dir.path()),
        stdin: match &workload.stdin {
            Input::File(path) => Input::File(path.clone()),
            _ => Input::Null,
        },
        limits: RunLimits {
            cpu_time: Some(limits.cpu_time.duration()),
            wall_time: limits.wall_time.duration(),
            memory: Some(limits.memory.0),
            output: limits.output.0,
            file_size: Some(limits.output.0.max(1 << 30)),
            open_files: Some(1024),
            stderr_kept: 4 << 10,
        },
        drop_privileges: true,
        confine: Some(Confinement::run(built.dir.clone())),
    };
    let expected = Some(ExpectedOutput {
        answer: workload.answer.clone(),
        compare: challenge.spec.check.compare.unwrap_or_default(),
        options: CompareOptions::from_check(&challenge.spec.check),
    });
    let (counter, counter_problem) = match InstructionCounter::open() {
        Ok(counter) => (Some(counter), None),
        Err(why) => (None, Some(why)),
    };
    let per_run = |counter| SandboxExecutor::new(run_plan(candidate), run_plan(reference), expected.clone(), counter);
    let (mut executor, launch) = match per_run(counter).with_repeaters() {
        Ok(executor) if executor.repeats() => {
            (executor, "repeater: each side's runs inside one sandbox of its own".into())
        }
        Ok(executor) => (executor, "one sandbox per run".to_string()),
        Err(error) => (per_run(None), format!("one sandbox per run (no repeater: {error})")),
    };
    result.launch = launch;
    progress(&format!("{}: measuring the submission and the reference in turn", bench.name));
    let bootstrap_seed = stats::SplitMix64::new(run_seed ^ workload::name_hash(&bench.name) ^ 0xb007).next_u64();
    evaluate(bench, &mut executor, bootstrap_seed, counter_problem, result);
}

/// Measures through `executor` and decides: everything of a bench that does not touch the machine,
/// so it is tested exactly with a [`MockExecutor`].
pub fn evaluate(
    bench: &Bench,
    executor: &mut dyn Executor,
    bootstrap_seed: u64,
    instructions_unavailable: Option<String>,
    result: &mut BenchResult,
) {
    let started = std::time::Instant::now();
    let mut precise_enough = precision_check(result.scored_metric, result.max_ci_width, bootstrap_seed);
    let measured = plan::measure(executor, &result.plan, &mut precise_enough);
    result.measure_seconds = started.elapsed().as_secs_f64();
    let measurements = match measured {
        Ok(measurements) => measurements,
        Err(failure) if failure.side == Side::Candidate => {
            result.status = BenchStatus::Failed;
            result.points = Some(0.0);
            result.message = format!("{failure}: no points");
            return;
        }
        Err(failure) => return judge_error(result, &failure.to_string()),
    };
    result.metrics = metrics_of(bench, &measurements, bootstrap_seed);
    result.instructions = instructions_of(&measurements, instructions_unavailable);
    result.samples = measurements;
    let scored = result.metrics.iter().find(|m| m.metric == result.scored_metric).map(|m| m.ratio);
    let Some(estimate) = scored else {
        return judge_error(result, "the scored metric was not measured");
    };
    let figure = score::figure_name(result.scored_metric);
    match score::decide(&bench.score, result.scored_metric, &estimate, result.max_ci_width, bench.points) {
        Decision::Scored { points, .. } => {
            result.status = BenchStatus::Scored;
            result.points = Some(points);
            result.message = format!(
                "{figure} ratio {:.3} (95% CI {:.3}–{:.3}): {} of {} points",
                estimate.ratio,
                estimate.low,
                estimate.high,
                render::points(points),
                render::points(bench.points)
            );
        }
        Decision::TooNoisy { figure, width, allowed } => {
            result.status = BenchStatus::TooNoisy;
            result.points = None;
            result.message = format!(
                "too noisy to score: the {figure} ratio's 95% interval {:.3}–{:.3} is {:.1}% wide, at most {:.1}% \
                 allowed (rerun on a quieter machine, or raise runs or min_time)",
                estimate.low,
                estimate.high,
                width * 100.0,
                allowed * 100.0
            );
        }
    }
}

/// Resamples of the cheap interval that decides whether to keep measuring.
const CHECK_RESAMPLES: u32 = 1_000;

/// Whether the scored ratio is already precise enough to stop: its interval (a cheaper bootstrap)
/// is within 90% of the bound, leaving room for the final one to differ. Checked again only after
/// the sample count grew by a quarter, so checking stays a small share of the time.
fn precision_check(metric: Metric, max_width: f64, seed: u64) -> impl FnMut(&Measurements) -> bool {
    let mut checked_at = 0usize;
    move |measurements: &Measurements| {
        let runs = measurements.candidate.len();
        if runs * 4 < checked_at * 5 {
            return false;
        }
        checked_at = runs;
        let (candidate, reference) = (
            metric_values(measurements, Side::Candidate, metric),
            metric_values(measurements, Side::Reference, metric),
        );
        stats::bootstrap_ratio_of_medians(&candidate, &reference, CHECK_RESAMPLES, seed).relative_width()
            <= 0.9 * max_width
    }
}

fn metric_values(measurements: &Measurements, side: Side, metric: Metric) -> Vec<f64> {
    measurements.side(side).iter().map(|s| s.value(metric)).collect()
}

/// The metrics to report: the spec's, in its order, and the scored one even when not listed.
fn measured_metrics(bench: &Bench) -> Vec<Metric> {
    let mut metrics: Vec<Metric> = Vec::new();
    for metric in bench.metrics.iter().copied().chain([scored_metric(bench)]) {
        if !metrics.contains(&metric) {
            metrics.push(metric);
        }
    }
    metrics
}

/// The metric the score is on: the rule's, else the first listed, else wall time.
#[must_use]
pub fn scored_metric(bench: &Bench) -> Metric {
    bench.score.metric.or_else(|| bench.metrics.first().copied()).unwrap_or(Metric::Wall)
}

fn metrics_of(bench: &Bench, measurements: &Measurements, seed: u64) -> Vec<MetricResult> {
    measured_metrics(bench)
        .into_iter()
        .map(|metric| {
            let candidate = metric_values(measurements, Side::Candidate, metric);
            let reference = metric_values(measurements, Side::Reference, metric);
            MetricResult {
                metric,
                unit: if metric == Metric::Memory { "bytes" } else { "seconds" }.into(),
                candidate: stats::summarize(&candidate),
                reference: stats::summarize(&reference),
                ratio: stats::bootstrap_ratio_of_medians(&candidate, &reference, stats::RESAMPLES, seed),
            }
        })
        .collect()
}

fn instructions_of(measurements: &Measurements, unavailable: Option<String>) -> Instructions {
    if let Some(why) = unavailable {
        return Instructions::unavailable(why);
    }
    let counts = |side: Side| -> Option<Vec<f64>> {
        measurements.side(side).iter().map(|s| s.instructions.map(|n| n as f64)).collect()
    };
    match (counts(Side::Candidate), counts(Side::Reference)) {
        (Some(candidate), Some(reference)) if !candidate.is_empty() && !reference.is_empty() => {
            let (c, r) = (stats::median(&candidate), stats::median(&reference));
            Instructions {
                unavailable: None,
                candidate_median: Some(c),
                reference_median: Some(r),
                ratio: Some(stats::ratio(c, r)),
            }
        }
        _ => Instructions::unavailable("the counter opened but could not be read for every run"),
    }
}

/// What is wrong with a bench's spec, if anything.
fn spec_problem(bench: &Bench) -> Option<String> {
    if let Some(problem) = score::rule_problem(&bench.score) {
        return Some(problem);
    }
    if bench.max_ci_width.is_some_and(|w| w.is_nan() || w <= 0.0) {
        return Some("max_ci_width must be above 0 (e.g. 0.1 for ratio ± 5%)".into());
    }
    if bench.points.is_nan() || bench.points < 0.0 {
        return Some(format!("points must be 0 or more, not {}", bench.points));
    }
    None
}

/// A result with nothing measured yet.
#[must_use]
pub fn base(bench: &Bench, run_seed: u64, reference: Option<String>, environment: Option<Environment>) -> BenchResult {
    BenchResult {
        name: bench.name.clone(),
        about: bench.about.clone(),
        status: BenchStatus::NotRun,
        message: String::new(),
        points: Some(0.0),
        max_points: bench.points,
        scored_metric: scored_metric(bench),
        max_ci_width: bench.max_ci_width.unwrap_or(DEFAULT_MAX_CI_WIDTH),
        metrics: Vec::new(),
        instructions: Instructions::unavailable("not measured"),
        samples: Measurements::default(),
        plan: Plan::for_bench(bench),
        measure_seconds: 0.0,
        launch: String::new(),
        reference,
        workload: WorkloadInfo {
            generator: bench.workload.generator.clone(),
            seed: workload::seed_for(bench, run_seed),
            params: workload::params_text(bench),
            args: bench.workload.args.clone(),
        },
        environment,
    }
}

/// A bench that was not run, with the reason.
#[must_use]
pub fn not_run(bench: &Bench, run_seed: u64, why: &str) -> BenchResult {
    let mut result = base(bench, run_seed, None, None);
    result.message = why.to_string();
    result
}

fn judge_error(result: &mut BenchResult, why: &str) {
    result.status = BenchStatus::JudgeError;
    result.points = None;
    result.message = why.to_string();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn benches_without_a_fair_number_are_left_out_of_the_maximum() {
        let with = |status: BenchStatus, points: Option<f64>| {
            let mut result = not_run(&bench(""), 1, "");
            result.status = status;
            result.points = points;
            result
        };
        let results = [
            with(BenchStatus::Scored, Some(7.5)),
            with(BenchStatus::TooNoisy, None),
            with(BenchStatus::JudgeError, None),
            with(BenchStatus::Failed, Some(0.0)),
        ];
        assert_eq!(points(&results), (7.5, 20.0));
    }

    #[test]
    fn progress_names_each_step_of_a_real_bench() {
        let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/challenges/bench");
        let challenge = crate::spec::load(fixture).unwrap();
        let candidate = build_reference(&challenge.path("solutions/slow"), &challenge.spec.build).unwrap();
        let steps = std::cell::RefCell::new(Vec::new());
        let results = run_all(&challenge, &candidate, 1, &|step| steps.borrow_mut().push(step.to_string()));
        assert_eq!(results.len(), 1);
        assert_eq!(
            steps.into_inner(),
            [
                "building the reference solutions/reference",
                "spin: making the workload (gen/work.py)",
                "spin: measuring the submission and the reference in turn"
            ]
        );
        assert!(results[0].samples.candidate.len() >= 30, "{:?}", results[0].message);
    }

    fn bench(extra: &str) -> Bench {
        toml::from_str(&format!(
            "name = \"speed\"\npoints = 10\nruns = 4\nmin_time = \"1ms\"\nwarmup = 1\n{extra}\n[workload]\ngenerator = \"g.py\"\n"
        ))
        .unwrap()
    }

    fn evaluated(bench: &Bench, mock: &mut MockExecutor) -> BenchResult {
        let mut result = base(bench, 1, Some("ref".into()), None);
        evaluate(bench, mock, 42, Some("not here".into()), &mut result);
        result
    }

    #[test]
    fn equal_programs_score_on_the_curve_with_abba_samples() {
        let bench = bench("metrics = [\"wall\", \"memory\"]\nscore = { full_at = 0.5, zero_at = 2.0 }");
        let mut mock = MockExecutor::with_walls(&[1.0, 1.01, 0.99, 1.0], &[1.0, 1.0, 1.0, 1.0]);
        let result = evaluated(&bench, &mut mock);
        assert_eq!(result.status, BenchStatus::Scored, "{}", result.message);
        assert_eq!(result.samples.order.len(), 8);
        assert_eq!(result.metrics.iter().map(|m| m.metric).collect::<Vec<_>>(), vec![Metric::Wall, Metric::Memory]);
        // Ratio of medians 1.0 -> half the points on a log curve from 0.5 to 2.
        assert!((result.points.unwrap() - 5.0).abs() < 1e-9, "{:?}", result.points);
        assert!(result.message.starts_with("wall time ratio 1.000"), "{}", result.message);
        assert_eq!(result.instructions.unavailable.as_deref(), Some("not here"));
    }

    #[test]
    fn a_noisy_scored_figure_gives_no_number_and_says_which() {
        let bench = bench("metrics = [\"wall\", \"cpu\"]\nscore = { metric = \"cpu\" }\nmax_ci_width = 0.05");
        let sample = |wall: f64, cpu: f64| Ok(Sample { wall, cpu, memory: 1, instructions: None });
        let mut mock = MockExecutor::new(
            vec![sample(1.0, 0.5), sample(1.0, 1.5), sample(1.0, 0.7), sample(1.0, 1.3)],
            vec![sample(1.0, 1.0)],
        );
        let result = evaluated(&bench, &mut mock);
        assert_eq!(result.status, BenchStatus::TooNoisy);
        assert_eq!(result.points, None);
        assert!(
            result.message.starts_with("too noisy to score: the CPU time ratio's 95% interval"),
            "{}",
            result.message
        );
    }

    #[test]
    fn a_failing_candidate_gets_no_points_and_a_failing_reference_is_a_judge_error() {
        let bench = bench("");
        let ok = Ok(Sample { wall: 1.0, cpu: 1.0, memory: 1, instructions: None });
        let fail = |side| Err(RunFailure { side, reason: "ended with exit code 2".into() });
        let result = evaluated(&bench, &mut MockExecutor::new(vec![fail(Side::Candidate)], vec![ok.clone()]));
        assert_eq!((result.status, result.points), (BenchStatus::Failed, Some(0.0)));
        assert_eq!(result.message, "a candidate run ended with exit code 2: no points");
        let result = evaluated(&bench, &mut MockExecutor::new(vec![ok], vec![fail(Side::Reference)]));
        assert_eq!((result.status, result.points), (BenchStatus::JudgeError, None));
    }

    #[test]
    fn outliers_are_flagged_in_the_result_and_kept_in_the_samples() {
        let bench = bench("");
        let mut mock = MockExecutor::with_walls(&[1.0, 1.0, 9.0, 1.01, 0.99], &[1.0]);
        let result = evaluated(&bench, &mut mock);
        let wall = &result.metrics[0];
        assert_eq!(wall.candidate.count, result.samples.candidate.len());
        assert_eq!(wall.candidate.outliers.len(), 1);
        assert_eq!(result.samples.candidate[wall.candidate.outliers[0]].wall, 9.0);
    }

    #[test]
    fn the_scored_metric_defaults_to_the_first_listed() {
        assert_eq!(scored_metric(&bench("metrics = [\"memory\", \"wall\"]")), Metric::Memory);
        assert_eq!(scored_metric(&bench("")), Metric::Wall);
        assert_eq!(
            measured_metrics(&bench("metrics = [\"cpu\"]\nscore = { metric = \"wall\" }")),
            vec![Metric::Cpu, Metric::Wall]
        );
    }

    #[test]
    fn bad_specs_are_judge_errors_naming_the_problem() {
        assert!(spec_problem(&bench("max_ci_width = 0")).unwrap().contains("max_ci_width"));
        assert!(spec_problem(&bench("score = { full_at = 3.0, zero_at = 2.0 }")).is_some());
        assert_eq!(spec_problem(&bench("")), None);
    }

    #[test]
    fn a_challenge_spec_carries_its_benches() {
        let text = "id = \"x\"\ntitle = \"X\"\n[[bench]]\nname = \"big\"\npoints = 20\n\
                    score = { thresholds = [{ at_most = 1.2, fraction = 1.0 }] }\n\
                    [bench.workload]\ngenerator = \"builtin:dedup\"\nparams = { files = 10 }\n";
        let spec = crate::spec::parse_str(text, Path::new("challenge.toml")).unwrap();
        assert_eq!(spec.benches.len(), 1);
        assert_eq!(spec.benches[0].workload.generator, "builtin:dedup");
        assert_eq!(spec.benches[0].metrics, vec![Metric::Wall, Metric::Cpu, Metric::Memory]);
        let typo = crate::spec::parse_str(&text.replace("points", "pionts"), Path::new("challenge.toml"));
        assert!(typo.is_err());
    }

    #[test]
    fn results_round_trip_through_json() {
        let bench = bench("");
        let result = evaluated(&bench, &mut MockExecutor::with_walls(&[1.0, 1.1], &[1.0]));
        let text = serde_json::to_string(&result).unwrap();
        let back: BenchResult = serde_json::from_str(&text).unwrap();
        assert_eq!(back.samples, result.samples);
        assert_eq!(back.metrics[0].ratio, result.metrics[0].ratio);
    }
}
