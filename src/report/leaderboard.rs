//! The leaderboard of a hiring round: every result file of a results folder (one `<name>.json` per
//! submission, each a [`ReportSet`]) read into ranked rows, ready for the CSV, Markdown and HTML views
//! (leaderboard_csv.rs, leaderboard_markdown.rs, leaderboard_html.rs). A result file that cannot be read
//! or parsed is named in [`Leaderboard::unreadable`] and left out; loading never fails because of one.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use super::human::{format_percent, format_points};
use super::{BenchResult, Report, ReportSet, SCHEMA_VERSION, Verdict};
use crate::bench::result::BenchStatus;
use crate::spec::Metric;

/// What the folder itself (not one of its files) got wrong.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read the results folder {}: {source}", path.display())]
    Folder { path: PathBuf, source: std::io::Error },
}

/// A result file left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// The file's name within the results folder.
    pub file: String,
    pub reason: String,
}

/// Every submission of the round, best first.
#[derive(Debug, Clone)]
pub struct Leaderboard {
    /// `Leaderboard: <challenge title>`, or a neutral title when the results mix challenges.
    pub title: String,
    /// The ids of the challenges the results are for, in order of first appearance (more than one is a mistake
    /// worth showing).
    pub challenges: Vec<String>,
    /// One column per group (stage), in the order the results list them.
    pub groups: Vec<GroupColumn>,
    /// One column per benchmark.
    pub benches: Vec<BenchColumn>,
    pub rows: Vec<Row>,
    pub unreadable: Vec<Unreadable>,
    pub takehome_version: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GroupColumn {
    pub name: String,
    pub max_points: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BenchColumn {
    pub name: String,
    pub max_points: f64,
    pub metric: Metric,
}

/// One submission.
#[derive(Debug, Clone)]
pub struct Row {
    /// 1 for the best; equal scores share a rank (1, 1, 3).
    pub rank: usize,
    /// The result file it came from.
    pub file: String,
    pub name: String,
    pub language: String,
    pub score: f64,
    pub max_score: f64,
    /// The score as a percentage of the maximum (see [`Report::percent`]).
    pub percent: f64,
    /// The percentage as the other reports write it (never rounded up to 100%).
    pub percent_text: String,
    /// Aligned with [`Leaderboard::groups`]; `None` when this result has no such group.
    pub groups: Vec<Option<GroupCell>>,
    /// Aligned with [`Leaderboard::benches`]; `None` when this result has no such benchmark.
    pub benches: Vec<Option<BenchCell>>,
    pub stage: Stage,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GroupCell {
    pub points: f64,
    pub max_points: f64,
    pub passed: bool,
    /// Not run because a required group failed.
    pub skipped: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BenchCell {
    pub status: BenchStatus,
    pub points: Option<f64>,
    /// The scored metric's ratio candidate / reference (below 1 is faster or smaller) and its 95% interval.
    pub ratio: Option<Ratio>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ratio {
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

/// How far a submission got: the first thing that went wrong, in the order the grader ran them.
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    /// Built, and every case run was accepted.
    Passed,
    /// The build (or detecting the language) failed: nothing was run.
    BuildFailed,
    /// The first case, in run order, that was not accepted.
    Failed { group_index: usize, group: String, case_index: usize, case: String, verdict: Verdict, reason: String },
}

impl Stage {
    /// One line, e.g. `links / hard-links: WA`.
    #[must_use]
    pub fn text(&self) -> String {
        match self {
            Stage::Passed => "passed".to_string(),
            Stage::BuildFailed => "build: CE".to_string(),
            Stage::Failed { group, case, verdict, .. } => format!("{group} / {case}: {verdict}"),
        }
    }

    /// The verdict that stopped it (AC when it passed).
    #[must_use]
    pub fn verdict(&self) -> Verdict {
        match self {
            Stage::Passed => Verdict::Accepted,
            Stage::BuildFailed => Verdict::CompileError,
            Stage::Failed { verdict, .. } => *verdict,
        }
    }

    /// A number that grows with progress, for sorting by the stage reached: a failed build is lowest, a pass
    /// highest, failures in between by where they happened.
    #[must_use]
    pub fn progress(&self) -> f64 {
        match self {
            Stage::BuildFailed => -1.0,
            Stage::Failed { group_index, case_index, .. } => (*group_index as f64) * 1e6 + (*case_index as f64),
            Stage::Passed => 1e12,
        }
    }
}

/// Reads every `*.json` file of `dir` (hidden and temporary files aside) and ranks what they hold.
pub fn load(dir: &Path) -> Result<Leaderboard, LoadError> {
    let folder_error = |source| LoadError::Folder { path: dir.to_path_buf(), source };
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(folder_error)? {
        let entry = entry.map_err(folder_error)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        // Atomic writers leave dot-files behind when killed; they are never results.
        if name.starts_with('.') || !name.ends_with(".json") {
            continue;
        }
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        files.push((name, entry.path()));
    }
    files.sort();

    let mut entries = Vec::with_capacity(files.len());
    let mut unreadable = Vec::new();
    for ((name, _), parsed) in files.iter().zip(read_all(&files)) {
        match parsed {
            Ok(set) => entries.push((name.clone(), set)),
            Err(reason) => unreadable.push(Unreadable { file: name.clone(), reason }),
        }
    }
    Ok(Leaderboard::from_sets(entries, unreadable))
}

/// Parses the files on every core: the JSON is most of the work when a round has a thousand results.
fn read_all(files: &[(String, PathBuf)]) -> Vec<Result<ReportSet, String>> {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get).min(8);
    let chunk = files.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(|(_, path)| read_one(path)).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| match handle.join() {
                Ok(results) => results,
                Err(_) => vec![Err("reading it crashed".to_string())],
            })
            .collect()
    })
}

fn read_one(path: &Path) -> Result<ReportSet, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read it: {e}"))?;
    let set: ReportSet = serde_json::from_slice(&bytes).map_err(|e| format!("not a takehome result: {e}"))?;
    if set.schema_version != SCHEMA_VERSION {
        return Err(format!(
            "schema version {} (this takehome {} reads version {SCHEMA_VERSION})",
            set.schema_version,
            env!("CARGO_PKG_VERSION")
        ));
    }
    if set.reports.is_empty() {
        return Err("holds no report".to_string());
    }
    Ok(set)
}

impl Leaderboard {
    /// Ranks the reports of these result sets, each named by the file it came from.
    #[must_use]
    pub fn from_sets(sets: Vec<(String, ReportSet)>, unreadable: Vec<Unreadable>) -> Leaderboard {
        let takehome_version =
            sets.first().map_or_else(|| env!("CARGO_PKG_VERSION").to_string(), |(_, s)| s.takehome_version.clone());
        let reports: Vec<(String, Report)> =
            sets.into_iter().flat_map(|(file, set)| set.reports.into_iter().map(move |r| (file.clone(), r))).collect();
        Leaderboard::from_reports(reports, unreadable, takehome_version)
    }

    /// Ranks these reports, each named by the file it came from.
    #[must_use]
    pub fn from_reports(
        reports: Vec<(String, Report)>,
        unreadable: Vec<Unreadable>,
        takehome_version: String,
    ) -> Leaderboard {
        let mut challenges: Vec<String> = Vec::new();
        let mut groups: Vec<GroupColumn> = Vec::new();
        let mut benches: Vec<BenchColumn> = Vec::new();
        for (_, report) in &reports {
            if !challenges.contains(&report.challenge.id) {
                challenges.push(report.challenge.id.clone());
            }
            for group in &report.groups {
                if !groups.iter().any(|g| g.name == group.name) {
                    groups.push(GroupColumn { name: group.name.clone(), max_points: group.max_points });
                }
            }
            for bench in &report.benches {
                if !benches.iter().any(|b| b.name == bench.name) {
                    benches.push(BenchColumn {
                        name: bench.name.clone(),
                        max_points: bench.max_points,
                        metric: bench.scored_metric,
                    });
                }
            }
        }
        let title = match (challenges.len(), reports.first()) {
            (1, Some((_, report))) => format!("Leaderboard: {}", report.challenge.title),
            _ => "Leaderboard".to_string(),
        };

        let mut rows: Vec<Row> = reports.iter().map(|(file, report)| row(file, report, &groups, &benches)).collect();
        rows.sort_by(|a, b| better_first(a, b).then_with(|| a.name.cmp(&b.name)).then_with(|| a.file.cmp(&b.file)));
        for index in 0..rows.len() {
            rows[index].rank = if index > 0 && better_first(&rows[index - 1], &rows[index]) == Ordering::Equal {
                rows[index - 1].rank
            } else {
                index + 1
            };
        }
        Leaderboard { title, challenges, groups, benches, rows, unreadable, takehome_version }
    }

    /// `12 submissions of dedup, 5 passed every case`.
    #[must_use]
    pub fn summary(&self) -> String {
        let count = self.rows.len();
        if count == 0 {
            return "No submissions".to_string();
        }
        let passed = self.rows.iter().filter(|r| r.stage == Stage::Passed).count();
        let noun = if count == 1 { "submission" } else { "submissions" };
        let mixed = if self.challenges.len() > 1 { " (the results mix challenges!)" } else { "" };
        format!("{count} {noun} of {}{mixed}, {passed} passed every case", self.challenges.join(", "))
    }

    /// How many rows fall in each tenth of the percentage scale (0–10 … 90–100, 100 in the last).
    #[must_use]
    pub fn histogram(&self) -> [usize; 10] {
        let mut bins = [0; 10];
        for row in &self.rows {
            bins[decile(row.percent)] += 1;
        }
        bins
    }
}

fn decile(percent: f64) -> usize {
    if percent.is_finite() { ((percent / 10.0).floor().max(0.0) as usize).min(9) } else { 0 }
}

/// Higher percentage first, then the higher score (a bigger maximum, when both are full marks).
fn better_first(a: &Row, b: &Row) -> Ordering {
    let key = |value: f64| if value.is_finite() { value } else { f64::NEG_INFINITY };
    key(b.percent).total_cmp(&key(a.percent)).then_with(|| key(b.score).total_cmp(&key(a.score)))
}

fn row(file: &str, report: &Report, groups: &[GroupColumn], benches: &[BenchColumn]) -> Row {
    Row {
        rank: 0,
        file: file.to_string(),
        name: report.submission.name.clone(),
        language: report.submission.language.clone(),
        score: report.score,
        max_score: report.max_score,
        percent: report.percent(),
        percent_text: format_percent(report),
        groups: groups
            .iter()
            .map(|column| {
                report.groups.iter().find(|g| g.name == column.name).map(|g| GroupCell {
                    points: g.points,
                    max_points: g.max_points,
                    passed: report.build.ok && g.passed() && !g.cases.is_empty(),
                    skipped: g.skipped_because.is_some(),
                })
            })
            .collect(),
        benches: benches
            .iter()
            .map(|column| report.benches.iter().find(|b| b.name == column.name).map(bench_cell))
            .collect(),
        stage: stage(report),
    }
}

fn bench_cell(bench: &BenchResult) -> BenchCell {
    let ratio = bench.metrics.iter().find(|m| m.metric == bench.scored_metric).map(|m| Ratio {
        value: m.ratio.ratio,
        low: m.ratio.low,
        high: m.ratio.high,
    });
    BenchCell { status: bench.status, points: bench.points, ratio }
}

fn stage(report: &Report) -> Stage {
    if !report.build.ok {
        return Stage::BuildFailed;
    }
    for (group_index, group) in report.groups.iter().enumerate() {
        for (case_index, case) in group.cases.iter().enumerate() {
            if !matches!(case.verdict, Verdict::Accepted | Verdict::Skipped) {
                return Stage::Failed {
                    group_index,
                    group: group.name.clone(),
                    case_index,
                    case: case.name.clone(),
                    verdict: case.verdict,
                    reason: case.reason.clone(),
                };
            }
        }
    }
    Stage::Passed
}

/// `7.5/10`.
#[must_use]
pub fn fraction(points: f64, max_points: f64) -> String {
    format!("{}/{}", format_points(points), format_points(max_points))
}

/// A group's points as a cell shows them, e.g. `10/10`, `skipped`, or `–` when the result has no such group.
#[must_use]
pub fn group_text(cell: Option<&GroupCell>) -> String {
    match cell {
        None => "–".to_string(),
        Some(cell) if cell.skipped => "skipped".to_string(),
        Some(cell) => fraction(cell.points, cell.max_points),
    }
}

/// A benchmark as a cell shows it: `0.91× (0.87–0.95)`, and the status when it was not scored.
#[must_use]
pub fn bench_text(cell: Option<&BenchCell>) -> String {
    let Some(cell) = cell else { return "–".to_string() };
    let ratio = cell.ratio.map(|r| format!("{}× ({}–{})", ratio_text(r.value), ratio_text(r.low), ratio_text(r.high)));
    match (cell.status, ratio) {
        (BenchStatus::Scored, Some(ratio)) => ratio,
        (status, Some(ratio)) => format!("{ratio} {}", status.word()),
        (status, None) => status.word().to_string(),
    }
}

/// A ratio with three significant decimals, `?` when it is not a number.
#[must_use]
pub fn ratio_text(value: f64) -> String {
    if value.is_finite() { format!("{value:.3}") } else { "?".to_string() }
}

/// Points as text, empty when there are none.
#[must_use]
pub fn optional_points(points: Option<f64>) -> String {
    points.map(format_points).unwrap_or_default()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::report::{Mode, sample};

    pub(crate) fn scored(name: &str, score: f64) -> Report {
        let mut report = sample::report(Mode::Grade);
        report.submission.name = name.to_string();
        report.score = score;
        report
    }

    fn board(reports: Vec<Report>) -> Leaderboard {
        let named = reports.into_iter().map(|r| (format!("{}.json", r.submission.name), r)).collect();
        Leaderboard::from_reports(named, Vec::new(), "0.1.0".to_string())
    }

    #[test]
    fn rows_are_ranked_best_first_and_ties_share_a_rank() {
        let board = board(vec![scored("carol", 10.0), scored("alice", 45.0), scored("bob", 10.0), scored("dan", 5.0)]);
        let order: Vec<(usize, &str)> = board.rows.iter().map(|r| (r.rank, r.name.as_str())).collect();
        assert_eq!(order, vec![(1, "alice"), (2, "bob"), (2, "carol"), (4, "dan")]);
    }

    #[test]
    fn stage_reached_is_the_first_failing_case_or_the_build() {
        let board = board(vec![scored("alice", 10.0), sample::broken_build(Mode::Grade)]);
        let alice = board.rows.iter().find(|r| r.name == "alice").expect("alice has a row");
        assert_eq!(alice.stage.text(), "links / hard-links: WA");
        assert_eq!(alice.stage.verdict(), Verdict::WrongAnswer);
        let bob = board.rows.iter().find(|r| r.name == "bob").expect("bob has a row");
        assert_eq!(bob.stage, Stage::BuildFailed);
        assert!(bob.stage.progress() < alice.stage.progress());
    }

    #[test]
    fn group_columns_follow_the_results_and_cells_show_points() {
        let board = board(vec![scored("alice", 10.0)]);
        let names: Vec<&str> = board.groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names, vec!["basic", "links", "hidden-large", "extras"]);
        let cells: Vec<String> = board.rows[0].groups.iter().map(|c| group_text(c.as_ref())).collect();
        assert_eq!(cells, vec!["10/10", "0/10", "0/20", "skipped"]);
        assert_eq!(board.title, "Leaderboard: Duplicate files");
    }

    #[test]
    fn histogram_counts_each_tenth_and_puts_full_marks_in_the_last() {
        let board = board(vec![scored("a", 45.0), scored("b", 44.0), scored("c", 0.0), scored("d", 4.5)]);
        let bins = board.histogram();
        assert_eq!(bins[9], 2);
        assert_eq!(bins[0], 1);
        assert_eq!(bins[1], 1);
        assert_eq!(bins.iter().sum::<usize>(), 4);
    }

    #[test]
    fn corrupt_and_foreign_files_are_named_and_skipped() {
        let dir = tempfile::tempdir().expect("temp dir");
        let good = crate::report::json::render(&sample::set(vec![scored("alice", 10.0)]));
        std::fs::write(dir.path().join("alice.json"), good).expect("write");
        std::fs::write(dir.path().join("cut.json"), "{\"schema_version\": 1, \"repo").expect("write");
        std::fs::write(dir.path().join("empty.json"), "").expect("write");
        std::fs::write(
            dir.path().join("none.json"),
            "{\"schema_version\":1,\"takehome_version\":\"x\",\"reports\":[]}",
        )
        .expect("write");
        std::fs::write(dir.path().join("notes.txt"), "not a result").expect("write");
        std::fs::write(dir.path().join(".takehome-report-abc.json"), "half").expect("write");
        std::fs::create_dir(dir.path().join("sub.json")).expect("mkdir");

        let board = load(dir.path()).expect("the folder reads");
        assert_eq!(board.rows.len(), 1);
        let skipped: Vec<&str> = board.unreadable.iter().map(|u| u.file.as_str()).collect();
        assert_eq!(skipped, vec!["cut.json", "empty.json", "none.json"]);
        assert!(board.unreadable[0].reason.contains("line 1"), "{:?}", board.unreadable[0]);
        assert_eq!(board.unreadable[2].reason, "holds no report");
    }

    #[test]
    fn a_missing_folder_is_an_error_naming_it() {
        let error = load(Path::new("/no/such/results")).expect_err("no folder");
        assert!(error.to_string().contains("/no/such/results"), "{error}");
    }

    #[test]
    fn bench_cells_show_the_ratio_and_interval_or_the_status() {
        let cell = BenchCell {
            status: BenchStatus::Scored,
            points: Some(8.0),
            ratio: Some(Ratio { value: 0.91, low: 0.874, high: 0.95 }),
        };
        assert_eq!(bench_text(Some(&cell)), "0.910× (0.874–0.950)");
        let noisy = BenchCell { status: BenchStatus::TooNoisy, ..cell.clone() };
        assert_eq!(bench_text(Some(&noisy)), "0.910× (0.874–0.950) too noisy to score");
        let not_run = BenchCell { status: BenchStatus::NotRun, points: None, ratio: None };
        assert_eq!(bench_text(Some(&not_run)), "not run");
        assert_eq!(bench_text(None), "–");
    }
}
