//! A hand-built report for renderer tests: one of each thing a renderer must show.

use super::{
    BuildInfo, CaseResult, ChallengeInfo, Feedback, GroupResult, LimitHit, Mode, Report, ReportSet, SCHEMA_VERSION,
    SubmissionInfo, Verdict,
};
use crate::spec::{Aggregation, Visibility};

pub const WA_FIRST_DIFFERENCE: &str = "line 2: expected `b.txt`, got `a.txt`";
pub const WA_DIFF: &str = "--- expected\n+++ actual\n@@ -1,2 +1,2 @@\n a.txt\n-b.txt\n+a.txt\n";
pub const WA_STDERR: &str = "warning: \u{1b}[31mred\u{1b}[0m text from the program";
pub const HIDDEN_SECRET: &str = "SECRET-HIDDEN-INPUT";

fn case(name: &str, verdict: Verdict) -> CaseResult {
    let accepted = verdict == Verdict::Accepted;
    CaseResult {
        name: name.to_string(),
        about: None,
        hidden: false,
        verdict,
        reason: if accepted { String::new() } else { verdict.describe().to_string() },
        limit_hit: None,
        cpu_time: 0.02,
        wall_time: 0.03,
        memory: Some(12 * 1024 * 1024 + 100 * 1024),
        fraction: if accepted { 1.0 } else { 0.0 },
        weight: 1.0,
        seed: None,
        feedback: None,
        metrics: Default::default(),
        notes: Vec::new(),
        artifacts: None,
    }
}

fn group(name: &str, visibility: Visibility, points: f64, max_points: f64, cases: Vec<CaseResult>) -> GroupResult {
    GroupResult {
        name: name.to_string(),
        about: None,
        visibility,
        aggregation: Aggregation::All,
        points,
        max_points,
        skipped_because: None,
        cases,
    }
}

/// A `grade`-style report: a passing group, a failing group (WA with feedback, TLE), a hidden group whose
/// failing case carries feedback, and a skipped group. Switch `mode` to see what a candidate would see.
#[must_use]
pub fn report(mode: Mode) -> Report {
    let basic = group(
        "basic",
        Visibility::Public,
        10.0,
        10.0,
        vec![case("two-equal-files", Verdict::Accepted), case("empty-dir", Verdict::Accepted)],
    );

    let mut wrong = case("hard-links", Verdict::WrongAnswer);
    wrong.about = Some("hard links are separate paths".to_string());
    wrong.reason = "line 2 differs".to_string();
    wrong.feedback = Some(Feedback {
        diff: Some(WA_DIFF.to_string()),
        first_difference: Some(WA_FIRST_DIFFERENCE.to_string()),
        input_head: Some("dir/\n  a.txt\n  b.txt -> a.txt\n".to_string()),
        checker_message: None,
        stderr_tail: Some(WA_STDERR.to_string()),
    });
    let mut slow = case("deep-tree", Verdict::TimeLimit);
    slow.reason = "CPU time limit 2 s exceeded".to_string();
    slow.limit_hit = Some(LimitHit::CpuTime);
    slow.cpu_time = 2.01;
    slow.wall_time = 2.2;
    slow.seed = Some(77);
    let links = group("links", Visibility::Public, 0.0, 10.0, vec![wrong, slow]);

    let mut hidden = case("huge", Verdict::RuntimeError);
    hidden.hidden = true;
    hidden.about = Some("a million files".to_string());
    hidden.reason = "killed by SIGSEGV".to_string();
    // A grader that forgot to drop hidden feedback in test mode must still not leak it.
    hidden.feedback = Some(Feedback {
        first_difference: Some(HIDDEN_SECRET.to_string()),
        input_head: Some(HIDDEN_SECRET.to_string()),
        ..Feedback::default()
    });
    let hidden_large = group("hidden-large", Visibility::Hidden, 0.0, 20.0, vec![hidden]);

    let mut extras = group("extras", Visibility::Public, 0.0, 5.0, vec![case("symlink-loop", Verdict::Skipped)]);
    extras.skipped_because = Some("requires links".to_string());
    extras.cases[0].reason = "requires links".to_string();
    extras.cases[0].memory = None;
    extras.cases[0].cpu_time = 0.0;
    extras.cases[0].wall_time = 0.0;

    Report {
        challenge: ChallengeInfo {
            id: "dedup".to_string(),
            title: "Duplicate files".to_string(),
            source: "bundled".to_string(),
        },
        submission: SubmissionInfo {
            name: "alice".to_string(),
            path: "/tmp/alice".to_string(),
            language: "python".to_string(),
            detected_because: "found main.py".to_string(),
        },
        mode,
        seed: 1234,
        build: BuildInfo { ok: true, cached: true, duration: 0.0, commands: vec![], log_tail: String::new() },
        groups: vec![basic, links, hidden_large, extras],
        score: 10.0,
        max_score: 45.0,
        hidden_cases_not_run: 0,
        sandbox: "namespaces, rlimits".to_string(),
        duration: 2.5,
        benches: Vec::new(),
        manifest: None,
        protected_changes: None,
    }
}

/// A submission that did not compile.
#[must_use]
pub fn broken_build(mode: Mode) -> Report {
    let mut report = report(mode);
    report.submission.name = "bob".to_string();
    report.submission.language = "rust".to_string();
    report.submission.detected_because = "found Cargo.toml".to_string();
    report.build = BuildInfo {
        ok: false,
        cached: false,
        duration: 1.5,
        commands: vec!["cargo build --release".to_string()],
        log_tail: "error[E0425]: cannot find value `x` in this scope\n --> src/main.rs:2:5\n".to_string(),
    };
    for group in &mut report.groups {
        group.points = 0.0;
        group.cases.clear();
    }
    report.score = 0.0;
    report
}

#[must_use]
pub fn set(reports: Vec<Report>) -> ReportSet {
    ReportSet { schema_version: SCHEMA_VERSION, takehome_version: "0.1.0".to_string(), reports }
}
