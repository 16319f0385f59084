//! GitHub Actions integration, active only when `GITHUB_ACTIONS=true`: each failing case becomes an
//! `::error` annotation on the line it points at (in the submission when the failure names one of its
//! files, in the challenge's spec otherwise), the Markdown report is appended to the job summary
//! (`$GITHUB_STEP_SUMMARY`), and `score`, `max-score`, `percent` and `passed` become step outputs
//! (`$GITHUB_OUTPUT`).
//!
//! Annotations go to standard error: the runner reads workflow commands from both streams, and standard
//! output may be carrying a JSON or JUnit report.

use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

use super::human::format_points;
use super::{CaseResult, GroupResult, Mode, Report, ReportSet, Verdict};

/// GitHub shows at most 10 error annotations per step; the rest are summed up in a notice.
pub const MAX_ANNOTATIONS: usize = 10;
/// Lines of a build log or an error output kept in an annotation's message.
const MESSAGE_LINES: usize = 20;
const MESSAGE_BYTES: usize = 4_000;

/// The environment as `std::env::var` sees it, for [`emit`] outside tests.
#[must_use]
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Whether this runs in a GitHub Actions job.
#[must_use]
pub fn is_active(env: &dyn Fn(&str) -> Option<String>) -> bool {
    env("GITHUB_ACTIONS").is_some_and(|v| v == "true")
}

/// Annotations to standard error, the summary and the outputs to the files GitHub names; nothing at all
/// outside GitHub Actions. Call it with [`process_env`].
pub fn emit(set: &ReportSet, env: &dyn Fn(&str) -> Option<String>) -> io::Result<()> {
    emit_to(set, env, &mut io::stderr().lock())
}

/// [`emit`], writing the annotations to `out`.
pub fn emit_to(set: &ReportSet, env: &dyn Fn(&str) -> Option<String>, out: &mut dyn Write) -> io::Result<()> {
    if !is_active(env) {
        return Ok(());
    }
    let workspace = env("GITHUB_WORKSPACE").filter(|w| !w.is_empty()).map(PathBuf::from);
    let all = annotations(set, workspace.as_deref());
    for annotation in all.iter().take(MAX_ANNOTATIONS) {
        writeln!(out, "{}", annotation.command())?;
    }
    if all.len() > MAX_ANNOTATIONS {
        let more = all.len() - MAX_ANNOTATIONS;
        writeln!(
            out,
            "::notice title=takehome::{}",
            escape_data(&format!("{more} more failing cases are not annotated; the job summary lists them all."))
        )?;
    }
    out.flush()?;

    if let Some(path) = env("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
        append(Path::new(&path), &super::markdown::render(set))?;
    }
    if let Some(path) = env("GITHUB_OUTPUT").filter(|p| !p.is_empty()) {
        append(Path::new(&path), &outputs(set))?;
    }
    Ok(())
}

fn append(path: &Path, text: &str) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot append to {}: {e}", path.display())))?;
    file.write_all(text.as_bytes())
}

/// `score`, `max-score`, `percent` and `passed`, summed over every report of the set.
#[must_use]
pub fn outputs(set: &ReportSet) -> String {
    let score: f64 = set.reports.iter().map(|r| r.score).sum();
    let max_score: f64 = set.reports.iter().map(|r| r.max_score).sum();
    let percent = if max_score > 0.0 {
        100.0 * score / max_score
    } else if set.reports.iter().all(Report::all_passed) {
        100.0
    } else {
        0.0
    };
    let passed = !set.reports.is_empty() && set.reports.iter().all(|r| r.all_passed() && r.protected_changes.is_none());
    format!(
        "score={}\nmax-score={}\npercent={}\npassed={passed}\n",
        format_points(score),
        format_points(max_score),
        format_points(percent)
    )
}

/// How serious an annotation is: a judge error is not the candidate's fault, so it is only a warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
}

/// One workflow command, `::error file=..,line=..,title=..::message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    pub level: Level,
    /// Relative to the workspace when it lies inside it.
    pub file: Option<String>,
    pub line: Option<u32>,
    pub title: String,
    pub message: String,
}

impl Annotation {
    /// The workflow command, escaped as GitHub's toolkit escapes it.
    #[must_use]
    pub fn command(&self) -> String {
        let mut properties = Vec::new();
        if let Some(file) = &self.file {
            properties.push(format!("file={}", escape_property(file)));
            if let Some(line) = self.line {
                properties.push(format!("line={line}"));
            }
        }
        properties.push(format!("title={}", escape_property(&self.title)));
        let level = match self.level {
            Level::Error => "error",
            Level::Warning => "warning",
        };
        format!("::{level} {}::{}", properties.join(","), escape_data(&self.message))
    }
}

/// A command's message: `%`, CR and LF encoded.
#[must_use]
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// A command's property value: as [`escape_data`], and `:` and `,` too.
#[must_use]
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// One annotation per changed protected file of the challenge (first, so the limit never hides them),
/// then one per failed build or failing case (accepted and skipped cases aside), in report order.
#[must_use]
pub fn annotations(set: &ReportSet, workspace: Option<&Path>) -> Vec<Annotation> {
    let mut all = protected_annotations(set, workspace);
    for report in &set.reports {
        let submission = Path::new(&report.submission.path);
        if !report.build.ok {
            let place = locate_in_submission(&report.build.log_tail, submission, Order::FirstFrame)
                .or_else(|| spec_location(report, None));
            all.push(annotation(
                Level::Error,
                place,
                workspace,
                format!("{}: the build failed (CE)", report.submission.name),
                build_message(report),
            ));
            continue;
        }
        for group in &report.groups {
            for case in &group.cases {
                if matches!(case.verdict, Verdict::Accepted | Verdict::Skipped) {
                    continue;
                }
                all.push(case_annotation(report, group, case, submission, workspace));
            }
        }
    }
    all
}

/// An `::error` on each protected file a report names, once even when several reports name it.
fn protected_annotations(set: &ReportSet, workspace: Option<&Path>) -> Vec<Annotation> {
    let mut seen = std::collections::BTreeSet::new();
    let mut all = Vec::new();
    for changes in set.reports.iter().filter_map(|r| r.protected_changes.as_ref()) {
        for file in &changes.files {
            let path = Path::new(&changes.repository).join(file);
            if !seen.insert(path.clone()) {
                continue;
            }
            all.push(Annotation {
                level: Level::Error,
                file: Some(relative_to_workspace(&path, workspace)),
                line: None,
                title: "takehome: a protected file of the challenge was changed".to_string(),
                message: visible(&format!(
                    "{file} changed since {}: a submission must not edit the challenge it is graded against \
                     (its spec, cases or tests), so this result cannot be trusted.",
                    changes.since
                )),
            });
        }
    }
    all
}

fn case_annotation(
    report: &Report,
    group: &GroupResult,
    case: &CaseResult,
    submission: &Path,
    workspace: Option<&Path>,
) -> Annotation {
    let hidden_from_candidate = case.hidden && report.mode == Mode::Test;
    let feedback = case.feedback.as_ref().filter(|_| !hidden_from_candidate);
    let judge_error = case.verdict == Verdict::JudgeError;
    let in_submission = if judge_error {
        None
    } else {
        feedback.and_then(|f| f.stderr_tail.as_deref()).and_then(|stderr| {
            let order =
                if stderr.contains("Traceback (most recent call last)") { Order::LastFrame } else { Order::FirstFrame };
            locate_in_submission(stderr, submission, order)
        })
    };
    let place = in_submission.or_else(|| spec_location(report, Some((&group.name, &case.name))));

    let mut message =
        if case.reason.trim().is_empty() { case.verdict.describe().to_string() } else { case.reason.clone() };
    if let Some(feedback) = feedback {
        if let Some(first) = &feedback.first_difference {
            let _ = write!(message, "\nFirst difference: {first}");
        }
        if let Some(checker) = &feedback.checker_message {
            let _ = write!(message, "\nChecker: {}", tail(checker, 5));
        }
        if let Some(stderr) = &feedback.stderr_tail {
            let _ = write!(message, "\nStderr (end):\n{}", tail(stderr, MESSAGE_LINES));
        }
    }
    annotation(
        if judge_error { Level::Warning } else { Level::Error },
        place,
        workspace,
        format!("{}: {} / {} ({})", report.submission.name, group.name, case.name, case.verdict),
        message,
    )
}

fn annotation(
    level: Level,
    place: Option<(PathBuf, u32)>,
    workspace: Option<&Path>,
    title: String,
    message: String,
) -> Annotation {
    let (file, line) = match place {
        Some((path, line)) => (Some(relative_to_workspace(&path, workspace)), Some(line)),
        None => (None, None),
    };
    Annotation { level, file, line, title, message: clip_bytes(&visible(&message), MESSAGE_BYTES) }
}

fn build_message(report: &Report) -> String {
    let log = tail(&report.build.log_tail, MESSAGE_LINES);
    if log.trim().is_empty() { "the build printed nothing".to_string() } else { log }
}

/// Annotation paths are relative to the repository's root (the workspace).
fn relative_to_workspace(path: &Path, workspace: Option<&Path>) -> String {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let relative = workspace.and_then(|workspace| {
        let workspace = std::path::absolute(workspace).unwrap_or_else(|_| workspace.to_path_buf());
        absolute.strip_prefix(&workspace).ok().map(Path::to_path_buf).or_else(|| {
            // A workspace reached through a symbolic link.
            let real = absolute.canonicalize().ok()?;
            real.strip_prefix(workspace.canonicalize().ok()?).ok().map(Path::to_path_buf)
        })
    });
    let chosen = relative.unwrap_or_else(|| path.to_path_buf());
    let clean: PathBuf = chosen.components().filter(|c| !matches!(c, Component::CurDir)).collect();
    clean.display().to_string()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Order {
    /// Compilers, panics, Java and Node stacks name the place at fault first.
    FirstFrame,
    /// Python tracebacks name it last.
    LastFrame,
}

static PYTHON_FRAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"File "([^"\n]+)", line (\d+)"#).expect("a valid regex"));
static PATH_AND_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"((?:[A-Za-z0-9_.@+~-]*/)*[A-Za-z0-9_@+~-][A-Za-z0-9_.@+~-]*\.[A-Za-z0-9]+):(\d+)")
        .expect("a valid regex")
});

/// The first (or last) `file:line` in `text` that names a file of the submission. Paths the program saw
/// (the copy it was built and run in, often absolute) are matched to the submission by their longest
/// suffix that exists there.
fn locate_in_submission(text: &str, submission: &Path, order: Order) -> Option<(PathBuf, u32)> {
    if !submission.is_dir() {
        return None;
    }
    let mut found: Vec<(usize, PathBuf, u32)> = Vec::new();
    for pattern in [&*PYTHON_FRAME, &*PATH_AND_LINE] {
        for captures in pattern.captures_iter(text) {
            let (Some(whole), Some(path), Some(line)) = (captures.get(0), captures.get(1), captures.get(2)) else {
                continue;
            };
            let Ok(line) = line.as_str().parse::<u32>() else { continue };
            if line == 0 {
                continue;
            }
            if let Some(file) = resolve(path.as_str(), submission) {
                found.push((whole.start(), file, line));
            }
        }
    }
    found.sort_by_key(|(at, _, _)| *at);
    let chosen = match order {
        Order::FirstFrame => found.into_iter().next(),
        Order::LastFrame => found.into_iter().last(),
    };
    chosen.map(|(_, file, line)| (file, line))
}

fn resolve(seen: &str, submission: &Path) -> Option<PathBuf> {
    let parts: Vec<&std::ffi::OsStr> = Path::new(seen)
        .components()
        .filter_map(|c| match c {
            Component::Normal(part) => Some(part),
            _ => None,
        })
        .collect();
    (0..parts.len()).find_map(|start| {
        let candidate: PathBuf = parts[start..].iter().collect();
        let path = submission.join(&candidate);
        path.is_file().then_some(path)
    })
}

/// The spec's challenge.toml and the line naming the case (or its group), for a challenge loaded from a
/// folder; `None` for a bundled one, which has no file in the repository.
fn spec_location(report: &Report, case: Option<(&str, &str)>) -> Option<(PathBuf, u32)> {
    if report.challenge.source == "bundled" {
        return None;
    }
    let spec = Path::new(&report.challenge.source).join("challenge.toml");
    let text = std::fs::read_to_string(&spec).ok()?;
    let line = case.map_or(1, |(group, case)| spec_line(&text, group, case));
    Some((spec, line))
}

/// The line of `name = "<case>"` after the group's own `name = "<group>"`, else the group's, else 1.
fn spec_line(text: &str, group: &str, case: &str) -> u32 {
    let names = |wanted: &str| {
        let pattern = format!(r#"^\s*name\s*=\s*["']{}["']"#, regex::escape(wanted));
        Regex::new(&pattern).ok()
    };
    let lines: Vec<&str> = text.lines().collect();
    let group_at = names(group).and_then(|re| lines.iter().position(|l| re.is_match(l)));
    let case_at = names(case).and_then(|re| {
        let from = group_at.unwrap_or(0);
        lines
            .iter()
            .skip(from + usize::from(group_at.is_some()))
            .position(|l| re.is_match(l))
            .map(|i| i + from + usize::from(group_at.is_some()))
    });
    case_at.or(group_at).map_or(1, |index| u32::try_from(index + 1).unwrap_or(u32::MAX))
}

/// The last `lines` lines of `text`.
fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.trim_end().lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn visible(text: &str) -> String {
    super::human::visible_controls(text)
}

fn clip_bytes(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_string();
    }
    let end = (0..=limit).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::report::{Feedback, sample};

    fn fake_env(pairs: &[(&str, &Path)]) -> HashMap<String, String> {
        let mut env: HashMap<String, String> =
            pairs.iter().map(|(k, v)| ((*k).to_string(), v.display().to_string())).collect();
        env.insert("GITHUB_ACTIONS".to_string(), "true".to_string());
        env
    }

    fn run(set: &ReportSet, env: &HashMap<String, String>) -> String {
        let mut out = Vec::new();
        emit_to(set, &|name| env.get(name).cloned(), &mut out).expect("emit works");
        String::from_utf8(out).expect("utf-8")
    }

    /// A challenge folder and a submission folder inside a fake workspace.
    struct Workspace {
        root: tempfile::TempDir,
    }

    impl Workspace {
        fn new() -> Workspace {
            let root = tempfile::tempdir().expect("temp dir");
            std::fs::create_dir_all(root.path().join("challenge")).expect("mkdir");
            std::fs::create_dir_all(root.path().join("sub/src")).expect("mkdir");
            std::fs::write(
                root.path().join("challenge/challenge.toml"),
                "id = \"dedup\"\n\n[[groups]]\nname = \"basic\"\n\n[[groups.cases]]\nname = \"hard-links\"\n\n\
                 [[groups]]\nname = \"links\"\n\n[[groups.cases]]\nname = \"hard-links\"\n",
            )
            .expect("write");
            std::fs::write(root.path().join("sub/src/main.rs"), "fn main() {}\n").expect("write");
            std::fs::write(root.path().join("sub/main.py"), "print(1)\n").expect("write");
            Workspace { root }
        }

        fn report(&self) -> Report {
            let mut report = sample::report(Mode::Grade);
            report.challenge.source = self.root.path().join("challenge").display().to_string();
            report.submission.path = self.root.path().join("sub").display().to_string();
            report
        }

        fn env(&self) -> HashMap<String, String> {
            fake_env(&[
                ("GITHUB_WORKSPACE", self.root.path()),
                ("GITHUB_STEP_SUMMARY", &self.root.path().join("summary.md")),
                ("GITHUB_OUTPUT", &self.root.path().join("output.txt")),
            ])
        }
    }

    #[test]
    fn nothing_happens_outside_github_actions() {
        let workspace = Workspace::new();
        let mut env = workspace.env();
        env.insert("GITHUB_ACTIONS".to_string(), "false".to_string());
        let out = run(&sample::set(vec![workspace.report()]), &env);
        assert!(out.is_empty());
        assert!(!workspace.root.path().join("summary.md").exists());
        assert!(!workspace.root.path().join("output.txt").exists());
    }

    #[test]
    fn failures_without_a_place_in_the_submission_point_at_the_case_in_the_spec() {
        let workspace = Workspace::new();
        let mut report = workspace.report();
        report.groups[1].cases[0].feedback.as_mut().expect("feedback").stderr_tail = None;
        let out = run(&sample::set(vec![report]), &workspace.env());
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "WA, TLE and the hidden RE: {out}");
        assert_eq!(
            lines[0],
            "::error file=challenge/challenge.toml,line=13,title=alice%3A links / hard-links (WA)::line 2 differs%0A\
             First difference: line 2: expected `b.txt`, got `a.txt`"
        );
        assert!(
            lines[1]
                .starts_with("::error file=challenge/challenge.toml,line=10,title=alice%3A links / deep-tree (TLE)")
        );
    }

    #[test]
    fn changed_protected_files_are_annotated_first_and_once_and_the_step_does_not_pass() {
        let workspace = Workspace::new();
        let mut report = workspace.report();
        report.groups.clear();
        report.protected_changes = Some(crate::batch::protected::ProtectedChanges {
            since: "origin/main".into(),
            repository: workspace.root.path().display().to_string(),
            files: vec!["challenge/challenge.toml".into()],
        });
        let out = run(&sample::set(vec![report.clone(), report]), &workspace.env());
        assert_eq!(
            out,
            "::error file=challenge/challenge.toml,title=takehome%3A a protected file of the challenge was changed::\
             challenge/challenge.toml changed since origin/main: a submission must not edit the challenge it is \
             graded against (its spec, cases or tests), so this result cannot be trusted.\n"
        );
        let outputs = std::fs::read_to_string(workspace.root.path().join("output.txt")).expect("outputs");
        assert!(outputs.contains("passed=false\n"), "{outputs}");
    }

    #[test]
    fn a_rust_panic_points_into_the_submission() {
        let workspace = Workspace::new();
        let mut report = workspace.report();
        report.groups[1].cases[0].feedback.as_mut().expect("feedback").stderr_tail =
            Some("thread 'main' panicked at /tmp/takehome-build-x1/src/main.rs:7:5:\nindex out of bounds".to_string());
        let out = run(&sample::set(vec![report]), &workspace.env());
        assert!(
            out.starts_with("::error file=sub/src/main.rs,line=7,title=alice%3A links / hard-links (WA)::"),
            "{out}"
        );
        assert!(out.contains("%0AStderr (end):%0Athread 'main' panicked at"), "{out}");
    }

    #[test]
    fn a_python_traceback_points_at_its_innermost_frame_in_the_submission() {
        let workspace = Workspace::new();
        let mut report = workspace.report();
        report.groups[1].cases[0].feedback.as_mut().expect("feedback").stderr_tail = Some(
            "Traceback (most recent call last):\n  File \"/run/x/main.py\", line 3, in <module>\n    main()\n  \
             File \"/run/x/main.py\", line 9, in main\n    json.loads(s)\n  File \"/usr/lib/python3.11/json/__init__.py\", \
             line 346, in loads\nValueError: bad"
                .to_string(),
        );
        let out = run(&sample::set(vec![report]), &workspace.env());
        assert!(out.starts_with("::error file=sub/main.py,line=9,"), "{out}");
    }

    #[test]
    fn a_failed_build_points_at_the_compiler_error() {
        let workspace = Workspace::new();
        let mut report = sample::broken_build(Mode::Grade);
        report.submission.path = workspace.root.path().join("sub").display().to_string();
        let out = run(&sample::set(vec![report]), &workspace.env());
        assert!(out.starts_with("::error file=sub/src/main.rs,line=2,title=bob%3A the build failed (CE)::"), "{out}");
        assert!(out.contains("error[E0425]"), "{out}");
        assert_eq!(out.lines().count(), 1);
    }

    #[test]
    fn hidden_feedback_stays_out_of_annotations_in_test_mode() {
        let workspace = Workspace::new();
        let mut report = workspace.report();
        report.mode = Mode::Test;
        let out = run(&sample::set(vec![report]), &workspace.env());
        assert!(!out.contains(sample::HIDDEN_SECRET), "{out}");
        assert!(out.contains("hidden-large / huge (RE)::killed by SIGSEGV"), "{out}");
    }

    #[test]
    fn summary_and_outputs_are_appended_to_the_files_github_names() {
        let workspace = Workspace::new();
        let summary = workspace.root.path().join("summary.md");
        let output = workspace.root.path().join("output.txt");
        std::fs::write(&output, "earlier=1\n").expect("write");
        let set = sample::set(vec![workspace.report()]);
        run(&set, &workspace.env());
        let written = std::fs::read_to_string(&summary).expect("the summary was written");
        assert_eq!(written, crate::report::markdown::render(&set));
        let outputs = std::fs::read_to_string(&output).expect("the outputs were written");
        assert_eq!(outputs, "earlier=1\nscore=10\nmax-score=45\npercent=22.22\npassed=false\n");
    }

    #[test]
    fn annotation_data_and_properties_are_escaped() {
        let annotation = Annotation {
            level: Level::Error,
            file: Some("a,b:c%.rs".to_string()),
            line: Some(3),
            title: "x: y, z\n".to_string(),
            message: "100% done\r\nnext: line, here".to_string(),
        };
        assert_eq!(
            annotation.command(),
            "::error file=a%2Cb%3Ac%25.rs,line=3,title=x%3A y%2C z%0A::100%25 done%0D%0Anext: line, here"
        );
    }

    #[test]
    fn names_cannot_smuggle_a_second_command() {
        let workspace = Workspace::new();
        let mut report = workspace.report();
        report.submission.name = "x\n::warning::owned".to_string();
        report.groups[1].cases[0].reason = "bad\n::set-output name=score::100".to_string();
        let out = run(&sample::set(vec![report]), &workspace.env());
        assert!(out.lines().all(|line| line.starts_with("::error ") || line.starts_with("::notice ")), "{out}");
        assert_eq!(out.lines().count(), 3);
    }

    #[test]
    fn more_than_ten_failures_are_summed_up_in_a_notice() {
        let workspace = Workspace::new();
        let mut report = workspace.report();
        let template = report.groups[1].cases[0].clone();
        report.groups[1].cases =
            (0..15).map(|i| CaseResult { name: format!("case-{i}"), ..template.clone() }).collect();
        let out = run(&sample::set(vec![report]), &workspace.env());
        assert_eq!(out.lines().filter(|l| l.starts_with("::error")).count(), MAX_ANNOTATIONS);
        assert!(out.contains("::notice title=takehome::6 more failing cases are not annotated"), "{out}");
    }

    #[test]
    fn judge_errors_are_warnings_and_bundled_challenges_have_no_file() {
        let mut report = sample::report(Mode::Grade);
        report.groups[1].cases[0].verdict = Verdict::JudgeError;
        report.groups[1].cases[0].feedback = Some(Feedback::default());
        let set = sample::set(vec![report]);
        let found = annotations(&set, None);
        assert_eq!(found[0].level, Level::Warning);
        assert_eq!(found[0].file, None);
        assert!(found[0].command().starts_with("::warning title=alice%3A links / hard-links (JE)::"));
    }
}
