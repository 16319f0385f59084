//! `takehome grade <challenge> <submission>...`: every case, public and hidden, for each submission of a
//! batch (folders, archives, git revisions), graded in parallel; with `--out`, each result is written as
//! soon as it is done and a rerun skips the ones that still match.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context as _;

use super::UsageError;
use super::output::Destinations;
use super::pipeline::{self, Options};
use crate::batch::manifest::{self, Manifest, TreeDigest};
use crate::batch::pool;
use crate::batch::protected::ProtectedChanges;
use crate::batch::source::{self, Submission};
use crate::batch::store::ResultStore;
use crate::cli::{BatchArgs, RunArgs};
use crate::report::{Mode, Report, ReportSet, SCHEMA_VERSION, Verdict};
use crate::spec::{self, LoadedChallenge};

/// What the command line asked for.
pub struct Request<'a> {
    pub challenge: &'a str,
    pub submissions: &'a [PathBuf],
    pub batch: &'a BatchArgs,
    pub run: &'a RunArgs,
    pub destinations: &'a Destinations,
    /// No --format was given: with --out, only the summary table goes to the terminal.
    pub default_format: bool,
    pub color: bool,
    pub min_score: Option<f64>,
    /// `--changed-since`: flag the challenge's protected files changed since this git revision.
    pub changed_since: Option<&'a str>,
}

pub fn run(request: &Request<'_>) -> anyhow::Result<i32> {
    let (batch, args) = (request.batch, request.run);
    let loaded = spec::load(request.challenge)?;
    let candidates: Vec<PathBuf> = request.submissions.iter().chain(&batch.from).cloned().collect();
    let protected_changes = super::test::protected_changes(&loaded, request.changed_since, &candidates)?;
    let mut submissions = source::collect(request.submissions, &batch.from, batch.rev.as_deref()).map_err(|error| {
        if error.is_usage() { anyhow::Error::new(UsageError(error.to_string())) } else { error.into() }
    })?;
    if submissions.is_empty() {
        let from: Vec<String> = batch.from.iter().map(|f| f.display().to_string()).collect();
        return Err(UsageError(format!("no submissions in {}: no subfolders or archives", from.join(", "))).into());
    }
    if let Some(shard) = batch.shard {
        if args.seed.is_none() {
            return Err(UsageError(format!(
                "--shard {shard} needs --seed (the same for every shard), so all shards grade the same hidden cases"
            ))
            .into());
        }
        let total = submissions.len();
        submissions.retain(|s| shard.includes(&s.name));
        eprintln!("shard {shard}: {} of the {total} submissions", submissions.len());
    }
    super::check_sandbox(args)?;
    let store = batch.out.as_deref().map(ResultStore::open).transpose()?;
    let seed = match (args.seed, &store) {
        (Some(seed), _) => seed,
        (None, Some(store)) => match seed_of_kept_results(store, &submissions) {
            Some(seed) => {
                eprintln!(
                    "seed {seed}: the seed of the results already in {} (so the batch resumes; --seed to change it)",
                    store.dir().display()
                );
                seed
            }
            None => super::choose_seed(None),
        },
        (None, None) => super::choose_seed(None),
    };
    let spec = manifest::spec_digest(&loaded)
        .with_context(|| format!("cannot hash the challenge's files in {}", loaded.dir.display()))?;

    let jobs = super::jobs(args.jobs);
    let workers = jobs.clamp(1, submissions.len().max(1));
    let mut options = Options::new(Mode::Grade, args, seed, &loaded);
    // The cores are shared out: `workers` submissions at a time, each running its cases on its share.
    options.jobs = (jobs / workers).max(1);
    options.progress &= submissions.len() == 1;
    let grader = Grader {
        challenge: &loaded,
        options,
        store: store.as_ref(),
        force: batch.force,
        spec,
        protected_changes,
        run_id: manifest::new_run_id(),
        announce: submissions.len() > 1 || store.is_some(),
        finished: AtomicUsize::new(0),
        total: submissions.len(),
    };
    let outcomes = pool::map(&submissions, workers, |_, submission| grader.grade(submission));

    let write_failed = outcomes.iter().any(|o| o.write_error.is_some());
    let reports: Vec<Report> = outcomes.into_iter().map(|o| o.report).collect();
    let judge_error = write_failed
        || reports.iter().any(|r| {
            r.cases().any(|c| c.verdict == Verdict::JudgeError)
                || r.benches.iter().any(|b| b.status == crate::bench::result::BenchStatus::JudgeError)
        });
    let passed = match request.min_score {
        Some(min) => reports.iter().all(|r| r.percent() + 1e-9 >= min),
        None => reports.iter().all(Report::all_passed),
    } && reports.iter().all(|r| r.protected_changes.is_none());
    let set = ReportSet { schema_version: SCHEMA_VERSION, takehome_version: env!("CARGO_PKG_VERSION").into(), reports };
    if store.is_some() && request.default_format {
        super::say(&crate::report::human::render_summary_table(&set));
    } else {
        request.destinations.write(&set, request.color)?;
    }
    super::tell_github(&set);
    Ok(super::verdict_code(judge_error, passed))
}

/// One submission's report, and whether it was kept from an earlier run or its file could not be written.
struct Outcome {
    report: Report,
    write_error: Option<String>,
}

/// Everything the workers share.
struct Grader<'a> {
    challenge: &'a LoadedChallenge,
    options: Options,
    store: Option<&'a ResultStore>,
    force: bool,
    spec: TreeDigest,
    protected_changes: Option<ProtectedChanges>,
    run_id: String,
    announce: bool,
    finished: AtomicUsize,
    total: usize,
}

impl Grader<'_> {
    fn grade(&self, submission: &Submission) -> Outcome {
        let ready = match submission.materialize() {
            Ok(ready) => ready,
            Err(error) => {
                return self.finish(submission, unreadable(self.challenge, submission, &error, &self.options));
            }
        };
        if !ready.left_out.is_empty() {
            eprintln!(
                "warning: {}: left out {} link(s) or special file(s) of the archive: {}",
                submission.name,
                ready.left_out.len(),
                ready.left_out.join(", ")
            );
        }
        let digest = manifest::submission_digest(&ready.dir).ok();
        if let Some(mut kept) = self.kept_result(submission, digest.as_ref()) {
            self.say(submission, "kept: its result still matches");
            kept.protected_changes.clone_from(&self.protected_changes);
            return Outcome { report: kept, write_error: None };
        }
        let mut report = pipeline::grade(self.challenge, &ready.dir, &self.options);
        report.submission.name = submission.name.clone();
        report.submission.path = submission.display();
        report.manifest = Some(Manifest {
            spec: self.spec.clone(),
            submission: digest,
            source: ready.info.clone(),
            toolchain: manifest::toolchain(&ready.dir),
            takehome_version: env!("CARGO_PKG_VERSION").into(),
            seed: self.options.seed,
            run_id: self.run_id.clone(),
            graded_at: manifest::now_rfc3339(),
        });
        self.finish(submission, report)
    }

    /// Writes the result (with --out) and says so.
    fn finish(&self, submission: &Submission, mut report: Report) -> Outcome {
        report.protected_changes.clone_from(&self.protected_changes);
        let mut write_error = None;
        let mut saved = String::new();
        if let Some(store) = self.store {
            let set = ReportSet {
                schema_version: SCHEMA_VERSION,
                takehome_version: env!("CARGO_PKG_VERSION").into(),
                reports: vec![report.clone()],
            };
            match store.write(&submission.name, &set) {
                Ok(path) => saved = format!(" -> {}", path.display()),
                Err(error) => {
                    eprintln!("error: {error}");
                    write_error = Some(error.to_string());
                }
            }
        }
        let score = |x: f64| (x * 100.0).round() / 100.0;
        self.say(
            submission,
            &format!("{}/{} in {:.1} s{saved}", score(report.score), score(report.max_score), report.duration),
        );
        Outcome { report, write_error }
    }

    /// The result already in the store for this submission, when it was graded from the same challenge
    /// files, submission files and seed (and --force is not given).
    fn kept_result(&self, submission: &Submission, digest: Option<&TreeDigest>) -> Option<Report> {
        let store = self.store.filter(|_| !self.force)?;
        let set = match store.load(&submission.name)? {
            Ok(set) => set,
            Err(error) => {
                eprintln!("warning: {error}: grading it again");
                return None;
            }
        };
        let [report] = <[Report; 1]>::try_from(set.reports).ok()?;
        let manifest = report.manifest.as_ref()?;
        let same = report.mode == Mode::Grade
            && report.challenge.id == self.challenge.spec.id
            && manifest.seed == self.options.seed
            && manifest.spec.sha256 == self.spec.sha256
            && digest.is_some_and(|now| manifest.submission.as_ref().is_some_and(|then| then.sha256 == now.sha256));
        same.then_some(report)
    }

    fn say(&self, submission: &Submission, what: &str) {
        if self.announce {
            let done = self.finished.fetch_add(1, Ordering::Relaxed) + 1;
            eprintln!("[{done}/{}] {}: {what}", self.total, submission.name);
        }
    }
}

/// The report of a submission that could not be read (a corrupt archive, a revision its repository
/// lacks): graded as an empty folder, so every case shows a compile error, with the reason as build log.
fn unreadable(
    challenge: &LoadedChallenge,
    submission: &Submission,
    error: &source::SourceError,
    options: &Options,
) -> Report {
    let empty = crate::scratch::folder("unreadable");
    let mut report = match &empty {
        Ok(empty) => {
            let dir = empty.path().join(&submission.name);
            let _ = std::fs::create_dir(&dir);
            pipeline::grade(challenge, &dir, options)
        }
        Err(_) => pipeline::new_report(challenge, submission.path(), Mode::Grade, options.seed),
    };
    let reason = format!("cannot read the submission: {error}");
    for case in report.groups.iter_mut().flat_map(|g| g.cases.iter_mut()) {
        if case.verdict == Verdict::CompileError {
            case.reason = "the submission could not be read".into();
        }
    }
    report.build.log_tail = reason;
    report.submission.name = submission.name.clone();
    report.submission.path = submission.display();
    report
}

/// The seed most of the batch's kept results were graded with, to resume with the same hidden cases.
fn seed_of_kept_results(store: &ResultStore, submissions: &[Submission]) -> Option<u64> {
    let mut counts: std::collections::BTreeMap<u64, usize> = std::collections::BTreeMap::new();
    for submission in submissions {
        if let Some(Ok(set)) = store.load(&submission.name) {
            for report in &set.reports {
                *counts.entry(report.seed).or_default() += 1;
            }
        }
    }
    counts.into_iter().max_by_key(|&(seed, count)| (count, std::cmp::Reverse(seed))).map(|(seed, _)| seed)
}
