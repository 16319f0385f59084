//! The journey of one submission: detect, build, run every planned case (in parallel, group by group
//! as their requirements are met), score, and gather it all in a `Report`.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::RunArgs;
use crate::report::{BuildInfo, CaseResult, ChallengeInfo, GroupResult, Mode, Report, SubmissionInfo, Verdict};
use crate::run::batch::{self, CasePlan};
use crate::run::stages::{self, StageOptions};
use crate::score;
use crate::spec::{Kind, LoadedChallenge, Visibility};
use crate::submission::{self, DetectError};

/// How a grading runs.
#[derive(Debug, Clone)]
pub struct Options {
    pub mode: Mode,
    pub seed: u64,
    pub jobs: usize,
    /// Draw progress bars on stderr.
    pub progress: bool,
    /// Where protocol stages keep their files (a folder per submission is made inside).
    pub artifacts: PathBuf,
}

impl Options {
    /// The options `args` ask for, with `seed` chosen.
    #[must_use]
    pub fn new(mode: Mode, args: &RunArgs, seed: u64, challenge: &LoadedChallenge) -> Options {
        let artifacts = args.artifacts.clone().unwrap_or_else(|| {
            std::env::temp_dir().join("takehome-runs").join(format!(
                "{}-{}-seed{seed}",
                challenge.spec.id,
                mode_name(mode)
            ))
        });
        Options { mode, seed, jobs: super::jobs(args.jobs), progress: super::show_progress(), artifacts }
    }
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Test => "test",
        Mode::Grade => "grade",
        Mode::Validate => "validate",
        Mode::Bench => "bench",
    }
}

/// Grades the submission in `dir`. Never fails: a submission that cannot be detected or built gets a
/// report with a CE; a grader fault on a case is that case's JE.
#[must_use]
pub fn grade(challenge: &LoadedChallenge, dir: &Path, options: &Options) -> Report {
    let started = Instant::now();
    let mut report = new_report(challenge, dir, options.mode, options.seed);
    let spinner = progress_bar(options.progress, None, "building");
    let built = {
        let _machine = crate::batch::machine::shared();
        detect_and_build(challenge, dir, &mut report, &spinner)
    };
    spinner.finish_and_clear();
    if challenge.spec.kind == Kind::Protocol {
        report.groups = stage_groups(challenge, built.as_ref(), &report, options);
        if options.mode == Mode::Test {
            report.hidden_cases_not_run =
                stages::included(challenge, Mode::Grade).count() - stages::included(challenge, options.mode).count();
        }
    } else {
        if options.mode == Mode::Test {
            report.hidden_cases_not_run = hidden_case_count(challenge, options.seed);
        }
        report.groups = batch_groups(challenge, built.as_ref(), &report, options);
    }
    let (score, max) = score::total(&report.groups);
    report.score = score;
    report.max_score = max;
    if options.mode == Mode::Grade {
        let _machine = crate::batch::machine::for_work(!challenge.spec.benches.is_empty());
        let spinner = progress_bar(options.progress && !challenge.spec.benches.is_empty(), None, "benchmarks");
        crate::bench::add_to_report(challenge, built.as_ref(), &mut report, &|step| {
            spinner.set_message(step.to_string())
        });
        spinner.finish_and_clear();
    }
    report.duration = started.elapsed().as_secs_f64();
    report
}

/// A protocol challenge's stages, in order; all reported as not run when there is nothing to run.
fn stage_groups(
    challenge: &LoadedChallenge,
    built: Option<&submission::Built>,
    report: &Report,
    options: &Options,
) -> Vec<GroupResult> {
    let Some(built) = built else {
        let reason = not_built_reason(report);
        return stages::included(challenge, options.mode)
            .map(|stage| stages::stage_group(stage, stages::stage_case(stage, Verdict::CompileError, reason.clone())))
            .collect();
    };
    let stage_options = StageOptions {
        mode: options.mode,
        seed: options.seed,
        artifacts: options.artifacts.join(submission_name(Path::new(&report.submission.path))),
    };
    let spinner = progress_bar(options.progress, None, "stage");
    let groups = stages::run_stages(challenge, built, &stage_options, &|stage| {
        spinner.set_message(format!(
            "stage {} ({} node{})",
            stage.name,
            stage.nodes,
            if stage.nodes == 1 { "" } else { "s" }
        ));
    });
    spinner.finish_and_clear();
    groups
}

fn not_built_reason(report: &Report) -> String {
    if report.build.log_tail.starts_with("nothing to build") {
        "nothing to build".to_string()
    } else {
        "the build failed".to_string()
    }
}

/// A batch challenge's groups, run in waves as their requirements are decided.
fn batch_groups(
    challenge: &LoadedChallenge,
    built: Option<&submission::Built>,
    report: &Report,
    options: &Options,
) -> Vec<GroupResult> {
    let spec = &challenge.spec;
    let include_hidden = options.mode != Mode::Test;

    let plans: Vec<(usize, Vec<CasePlan>)> = spec
        .groups
        .iter()
        .enumerate()
        .filter(|(_, g)| include_hidden || g.visibility == Visibility::Public)
        .map(|(i, _)| (i, batch::plan_group(challenge, i, options.seed)))
        .collect();
    let mut results: Vec<Option<GroupResult>> = vec![None; spec.groups.len()];

    match built {
        None => {
            for (index, cases) in &plans {
                let reason = not_built_reason(report);
                let cases = cases.iter().map(|p| not_run(p, Verdict::CompileError, &reason)).collect();
                results[*index] = Some(group_result(challenge, *index, cases, None));
            }
        }
        Some(built) => {
            let total: usize = plans.iter().map(|(_, c)| c.len()).sum();
            let bar = progress_bar(options.progress, Some(total as u64), "cases");
            // Groups run in waves: each wave holds the groups whose requirements are decided.
            let mut pending: Vec<&(usize, Vec<CasePlan>)> = plans.iter().collect();
            while !pending.is_empty() {
                let (mut ready, waiting): (Vec<_>, Vec<_>) = pending.into_iter().partition(|(index, _)| {
                    spec.groups[*index].requires.iter().all(|name| {
                        let required = spec.groups.iter().position(|g| &g.name == name);
                        required.is_none_or(|r| results[r].is_some() || !plans.iter().any(|(i, _)| *i == r))
                    })
                });
                pending = waiting;
                if ready.is_empty() {
                    // A cycle of requirements (the spec loader refuses them): run the rest rather than hang.
                    ready = std::mem::take(&mut pending);
                }
                let mut runnable = Vec::new();
                for (index, cases) in ready {
                    match unmet_requirement(challenge, *index, &results) {
                        Some(name) => {
                            let reason = format!("requires group `{name}`, which did not pass");
                            let skipped = cases.iter().map(|p| not_run(p, Verdict::Skipped, &reason)).collect();
                            bar.inc(cases.len() as u64);
                            results[*index] = Some(group_result(challenge, *index, skipped, Some(reason)));
                        }
                        None => runnable.push((*index, cases)),
                    }
                }
                let flat: Vec<(usize, &CasePlan)> =
                    runnable.iter().flat_map(|(index, cases)| cases.iter().map(move |c| (*index, c))).collect();
                let outcomes = run_parallel(challenge, built, &flat, options, &bar);
                for (index, _) in &runnable {
                    let cases: Vec<CaseResult> =
                        flat.iter().zip(&outcomes).filter(|((g, _), _)| g == index).map(|(_, r)| r.clone()).collect();
                    results[*index] = Some(group_result(challenge, *index, cases, None));
                }
            }
            bar.finish_and_clear();
        }
    }
    results.into_iter().flatten().collect()
}

/// A report with nothing run yet.
#[must_use]
pub fn new_report(challenge: &LoadedChallenge, dir: &Path, mode: Mode, seed: u64) -> Report {
    let spec = &challenge.spec;
    Report {
        challenge: ChallengeInfo {
            id: spec.id.clone(),
            title: spec.title.clone(),
            source: challenge.origin.to_string(),
        },
        submission: SubmissionInfo {
            name: submission_name(dir),
            path: dir.display().to_string(),
            language: "none detected".into(),
            detected_because: String::new(),
        },
        mode,
        seed,
        build: BuildInfo { ok: false, cached: false, duration: 0.0, commands: vec![], log_tail: String::new() },
        groups: Vec::new(),
        score: 0.0,
        max_score: 0.0,
        hidden_cases_not_run: 0,
        sandbox: crate::sandbox::describe_layers(),
        duration: 0.0,
        benches: Vec::new(),
        manifest: None,
        protected_changes: None,
    }
}

/// Detects and builds the submission in `dir`, recording both in the report; `None` when there is
/// nothing that runs (no language detected, or the build failed: the report then says why).
pub fn detect_and_build(
    challenge: &LoadedChallenge,
    dir: &Path,
    report: &mut Report,
    progress: &ProgressBar,
) -> Option<submission::Built> {
    let absolute = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let recipe = match submission::detect(&absolute) {
        Ok(recipe) => recipe,
        Err(error) => {
            if let DetectError::BadConfig(_) = error {
                report.submission.language = "custom".into();
            }
            report.build.log_tail = error.to_string();
            return None;
        }
    };
    report.submission.language = recipe.language.clone();
    report.submission.detected_because = recipe.because.clone();
    progress.set_message(format!("building {} ({})", report.submission.name, recipe.language));
    match submission::build(&absolute, &recipe, &challenge.spec.build) {
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

fn run_parallel(
    challenge: &LoadedChallenge,
    built: &submission::Built,
    cases: &[(usize, &CasePlan)],
    options: &Options,
    bar: &ProgressBar,
) -> Vec<CaseResult> {
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<CaseResult>>> = Mutex::new(vec![None; cases.len()]);
    let workers = options.jobs.clamp(1, cases.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((_, plan)) = cases.get(i) else { break };
                    let result = {
                        let _machine = crate::batch::machine::shared();
                        batch::run_case(challenge, built, plan, options.mode)
                    };
                    bar.inc(1);
                    slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner)[i] = Some(result);
                }
            });
        }
    });
    slots
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .into_iter()
        .zip(cases)
        .map(|(slot, (_, plan))| {
            slot.unwrap_or_else(|| not_run(plan, Verdict::JudgeError, "the grader lost this case's result"))
        })
        .collect()
}

fn unmet_requirement(challenge: &LoadedChallenge, index: usize, results: &[Option<GroupResult>]) -> Option<String> {
    let spec = &challenge.spec;
    spec.groups[index].requires.iter().find_map(|name| {
        let required = spec.groups.iter().position(|g| &g.name == name)?;
        match &results[required] {
            Some(group) if score::requirement_met(group) => None,
            // Not run at all (a hidden group in test mode): do not hold the candidate back on it.
            None => None,
            Some(_) => Some(name.clone()),
        }
    })
}

fn group_result(
    challenge: &LoadedChallenge,
    index: usize,
    cases: Vec<CaseResult>,
    skipped_because: Option<String>,
) -> GroupResult {
    let group = &challenge.spec.groups[index];
    let points =
        if skipped_because.is_some() { 0.0 } else { score::group_points(group.points, group.aggregation, &cases) };
    GroupResult {
        name: group.name.clone(),
        about: group.about.clone(),
        visibility: group.visibility,
        aggregation: group.aggregation,
        points,
        max_points: group.points,
        skipped_because,
        cases,
    }
}

fn not_run(plan: &CasePlan, verdict: Verdict, reason: &str) -> CaseResult {
    plan.result(verdict, reason.to_string())
}

fn hidden_case_count(challenge: &LoadedChallenge, seed: u64) -> usize {
    let spec = &challenge.spec;
    (0..spec.groups.len())
        .filter(|&i| spec.groups[i].visibility == Visibility::Hidden)
        .map(|i| batch::plan_group(challenge, i, seed).len())
        .sum()
}

/// A short name for a submission: its folder's name (the current folder's when given `.`).
#[must_use]
pub fn submission_name(dir: &Path) -> String {
    let absolute = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let normal: std::path::PathBuf = absolute.components().collect();
    normal.file_name().map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into_owned())
}

pub(crate) fn progress_bar(enabled: bool, length: Option<u64>, message: &str) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    let bar = match length {
        Some(length) => ProgressBar::with_draw_target(Some(length), ProgressDrawTarget::stderr()).with_style(
            ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
    bar.set_message(message.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}
