//! The journey of one submission: detect, build, run every planned case (in parallel, group by group
//! as their requirements are met), score, and gather it all in a `Report`.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::report::{BuildInfo, CaseResult, ChallengeInfo, GroupResult, Mode, Report, SubmissionInfo, Verdict};
use crate::run::batch::{self, CasePlan};
use crate::score;
use crate::spec::{LoadedChallenge, Visibility};
use crate::submission::{self, DetectError};

/// How a grading runs.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub mode: Mode,
    pub seed: u64,
    pub jobs: usize,
    /// Draw progress bars on stderr.
    pub progress: bool,
}

/// Grades the submission in `dir`. Never fails: a submission that cannot be detected or built gets a
/// report with a CE; a grader fault on a case is that case's JE.
#[must_use]
pub fn grade(challenge: &LoadedChallenge, dir: &Path, options: Options) -> Report {
    let started = Instant::now();
    let spec = &challenge.spec;
    let include_hidden = options.mode != Mode::Test;
    let mut report = new_report(challenge, dir, options.mode, options.seed);
    if !include_hidden {
        report.hidden_cases_not_run = hidden_case_count(challenge, options.seed);
    }
    let spinner = progress_bar(options.progress, None, "building");
    let built = detect_and_build(challenge, dir, &mut report, &spinner);
    spinner.finish_and_clear();

    let plans: Vec<(usize, Vec<CasePlan>)> = spec
        .groups
        .iter()
        .enumerate()
        .filter(|(_, g)| include_hidden || g.visibility == Visibility::Public)
        .map(|(i, _)| (i, batch::plan_group(challenge, i, options.seed)))
        .collect();
    let mut results: Vec<Option<GroupResult>> = vec![None; spec.groups.len()];

    match &built {
        None => {
            for (index, cases) in &plans {
                let reason = if report.build.log_tail.starts_with("nothing to build") {
                    "nothing to build".to_string()
                } else {
                    "the build failed".to_string()
                };
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

    report.groups = results.into_iter().flatten().collect();
    let (score, max) = score::total(&report.groups);
    report.score = score;
    report.max_score = max;
    if options.mode == Mode::Grade {
        crate::bench::add_to_report(challenge, built.as_ref(), &mut report);
    }
    report.duration = started.elapsed().as_secs_f64();
    report
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
    options: Options,
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
                    let result = batch::run_case(challenge, built, plan, options.mode);
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

fn progress_bar(enabled: bool, length: Option<u64>, message: &str) -> ProgressBar {
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
