//! Rendering a large report as JSON: 20 groups of 50 cases, a failing case in each with feedback.
//! Run with `cargo bench --bench report_json`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use takehome::report::{
    BuildInfo, CaseResult, ChallengeInfo, Feedback, GroupResult, Mode, Report, ReportSet, SCHEMA_VERSION,
    SubmissionInfo, Verdict, json,
};
use takehome::spec::{Aggregation, Visibility};

fn case(group: usize, index: usize) -> CaseResult {
    let failing = index == 0;
    CaseResult {
        name: format!("case-{group}-{index}"),
        about: Some("an edge the case covers".into()),
        hidden: group % 2 == 1,
        verdict: if failing { Verdict::WrongAnswer } else { Verdict::Accepted },
        reason: if failing { "line 3: expected `7`, got `8`".into() } else { "accepted".into() },
        limit_hit: None,
        cpu_time: 0.012,
        wall_time: 0.015,
        memory: Some(3 << 20),
        fraction: if failing { 0.0 } else { 1.0 },
        weight: 1.0,
        seed: Some(12345 + index as u64),
        feedback: failing.then(|| Feedback {
            diff: Some("-7\n+8\n".repeat(20)),
            first_difference: Some("line 3".into()),
            input_head: Some("stdin:\n  1 2\n".into()),
            checker_message: None,
            stderr_tail: Some("warning: \"quoted\" \u{1b}[31m\n".into()),
        }),
        metrics: Default::default(),
        notes: Vec::new(),
        artifacts: None,
    }
}

fn report() -> ReportSet {
    let groups = (0..20)
        .map(|g| GroupResult {
            name: format!("group-{g}"),
            about: None,
            visibility: if g % 2 == 1 { Visibility::Hidden } else { Visibility::Public },
            aggregation: Aggregation::Sum,
            points: 9.8,
            max_points: 10.0,
            skipped_because: None,
            cases: (0..50).map(|i| case(g, i)).collect(),
        })
        .collect();
    let report = Report {
        challenge: ChallengeInfo { id: "dedup".into(), title: "Duplicate files".into(), source: "bundled".into() },
        submission: SubmissionInfo {
            name: "alice".into(),
            path: "/tmp/alice".into(),
            language: "rust".into(),
            detected_because: "found Cargo.toml".into(),
        },
        mode: Mode::Grade,
        seed: 1234,
        build: BuildInfo { ok: true, cached: true, duration: 0.0, commands: vec![], log_tail: String::new() },
        groups,
        score: 196.0,
        max_score: 200.0,
        hidden_cases_not_run: 0,
        sandbox: "rlimits=on".into(),
        duration: 12.5,
        benches: Vec::new(),
        manifest: None,
        protected_changes: None,
    };
    ReportSet { schema_version: SCHEMA_VERSION, takehome_version: "0.1.0".into(), reports: vec![report] }
}

fn render(c: &mut Criterion) {
    let set = report();
    let bytes = json::render(&set).len() as u64;
    let mut group = c.benchmark_group("report-json");
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function("1000-cases", |b| b.iter(|| json::render(&set)));
    group.finish();
}

criterion_group!(benches, render);
criterion_main!(benches);
