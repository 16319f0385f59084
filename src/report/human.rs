//! The report a person reads in a terminal: a candidate after `takehome test`, an interviewer after `grade`.

use std::fmt::Write as _;

use super::{CaseResult, Feedback, GroupResult, LimitHit, Mode, Report, ReportSet, Verdict};
use crate::batch::protected::ProtectedChanges;
use crate::spec::{Bytes, Seconds, Visibility};

#[derive(Debug, Clone, Copy, Default)]
pub struct HumanOptions {
    /// ANSI colours on.
    pub color: bool,
}

/// Longest feedback block (diff, input, stderr) printed in full; the model already cuts them, this is a backstop.
const MAX_BLOCK_LINES: usize = 60;

#[must_use]
pub fn render(report: &Report, options: HumanOptions) -> String {
    let style = Style { color: options.color };
    let mut out = String::new();
    write_header(&mut out, report, style);
    out.push('\n');
    if report.build.ok {
        for group in &report.groups {
            write_group(&mut out, report, group, style);
        }
    } else {
        write_build_failure(&mut out, report, style);
    }
    if !report.benches.is_empty() {
        if !report.groups.is_empty() {
            out.push('\n');
        }
        out.push_str(&visible_controls(&crate::bench::render::human(&report.benches)));
    }
    out.push('\n');
    write_summary(&mut out, report, style);
    out
}

/// One row per submission with each group's points and the total, for `grade` over several submissions.
#[must_use]
pub fn render_summary_table(set: &ReportSet) -> String {
    if set.reports.is_empty() {
        return "no submissions\n".to_string();
    }
    let mut group_names: Vec<&str> = Vec::new();
    for group in set.reports.iter().flat_map(|r| &r.groups) {
        if !group_names.contains(&group.name.as_str()) {
            group_names.push(&group.name);
        }
    }
    let several_challenges = set.reports.iter().any(|r| r.challenge.id != set.reports[0].challenge.id);

    let mut header = Vec::new();
    if several_challenges {
        header.push(Cell::left("challenge"));
    }
    header.push(Cell::left("submission"));
    header.push(Cell::left("language"));
    header.extend(group_names.iter().map(|name| Cell::right(&visible_controls(name))));
    header.extend([Cell::right("total"), Cell::right("%"), Cell::left("result")]);

    let mut rows = vec![header];
    for report in &set.reports {
        let mut row = Vec::new();
        if several_challenges {
            row.push(Cell::left(&visible_controls(&report.challenge.id)));
        }
        row.push(Cell::left(&visible_controls(&report.submission.name)));
        row.push(Cell::left(&visible_controls(&report.submission.language)));
        for name in &group_names {
            let text = match report.groups.iter().find(|g| g.name == *name) {
                Some(group) if report.build.ok => fraction(group.points, group.max_points),
                _ => "-".to_string(),
            };
            row.push(Cell::right(&text));
        }
        row.push(Cell::right(&fraction(report.score, report.max_score)));
        row.push(Cell::right(&format_percent(report)));
        row.push(Cell::left(result_word(report)));
        rows.push(row);
    }
    layout_table(&rows)
}

/// Points as a person writes them: `10`, `7.5`, `3.33`.
#[must_use]
pub fn format_points(value: f64) -> String {
    if !value.is_finite() {
        return "?".to_string();
    }
    let text = format!("{:.2}", (value * 100.0).round() / 100.0);
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" { "0".to_string() } else { text.to_string() }
}

/// The score as a whole percentage; never rounds a partial score up to 100%.
#[must_use]
pub fn format_percent(report: &Report) -> String {
    let percent = report.percent();
    if !percent.is_finite() {
        return "?%".to_string();
    }
    let whole = if report.score >= report.max_score { percent.round() } else { percent.floor().min(99.0) };
    format!("{whole:.0}%")
}

/// Control characters (escape codes, carriage returns) from a program's output shown as visible symbols, so
/// they can neither restyle a terminal nor smuggle escape codes into plain output. Newlines and tabs stay.
#[must_use]
pub fn visible_controls(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\n' | '\t' => c,
            '\u{0}'..='\u{1f}' => char::from_u32(0x2400 + c as u32).unwrap_or('\u{fffd}'),
            '\u{7f}' => '\u{2421}',
            '\u{80}'..='\u{9f}' => '\u{fffd}',
            _ => c,
        })
        .collect()
}

fn fraction(points: f64, max_points: f64) -> String {
    format!("{}/{}", format_points(points), format_points(max_points))
}

fn result_word(report: &Report) -> &'static str {
    if !report.build.ok {
        "CE"
    } else if report.cases().any(|c| c.verdict == Verdict::JudgeError) {
        "JE"
    } else if report.all_passed() {
        "pass"
    } else {
        "fail"
    }
}

fn write_header(out: &mut String, report: &Report, style: Style) {
    let challenge = &report.challenge;
    let _ = writeln!(
        out,
        "{} · {}  {}",
        style.paint(BOLD, &visible_controls(&challenge.id)),
        visible_controls(&challenge.title),
        style.paint(DIM, &format!("({})", visible_controls(&challenge.source))),
    );
    let submission = &report.submission;
    let build = if !report.build.ok {
        style.paint(RED, "build FAILED")
    } else if report.build.cached {
        "build ok (cached)".to_string()
    } else if report.build.commands.is_empty() {
        "nothing to build".to_string()
    } else {
        format!("build ok ({})", Seconds(report.build.duration))
    };
    let detected = if submission.detected_because.is_empty() {
        visible_controls(&submission.language)
    } else {
        format!("{}: {}", visible_controls(&submission.language), visible_controls(&submission.detected_because))
    };
    let _ = writeln!(out, "submission: {} ({detected}) · {build}", visible_controls(&submission.name));
    let _ =
        writeln!(out, "seed: {} {}", report.seed, style.paint(DIM, &format!("(rerun with --seed {})", report.seed)));
    if !report.sandbox.is_empty() {
        let _ = writeln!(out, "{}", style.paint(DIM, &format!("sandbox: {}", visible_controls(&report.sandbox))));
    }
    if let Some(changes) = &report.protected_changes {
        write_protected_changes(out, changes, style);
    }
}

/// Protected files listed in full up to this many; past it, the rest are counted.
const MAX_PROTECTED_LISTED: usize = 20;

fn write_protected_changes(out: &mut String, changes: &ProtectedChanges, style: Style) {
    let warning = format!(
        "PROTECTED FILES CHANGED since {}: the challenge this was graded against was edited, so the result \
         cannot be trusted:",
        visible_controls(&changes.since)
    );
    let _ = writeln!(out, "{}", style.paint(&format!("{BOLD};{RED}"), &warning));
    for file in changes.files.iter().take(MAX_PROTECTED_LISTED) {
        let _ = writeln!(out, "  {}", visible_controls(file));
    }
    if changes.files.len() > MAX_PROTECTED_LISTED {
        let _ = writeln!(out, "  and {} more", plural(changes.files.len() - MAX_PROTECTED_LISTED, "file"));
    }
}

fn write_build_failure(out: &mut String, report: &Report, style: Style) {
    let timing =
        if report.build.duration > 0.0 { format!(" after {}", Seconds(report.build.duration)) } else { "".into() };
    let what = if report.build.commands.is_empty() && report.submission.detected_because.is_empty() {
        "nothing to build: no language detected".to_string()
    } else {
        format!("the build failed{timing}")
    };
    let _ = writeln!(out, "{} {}", style.paint(RED, "✗ CE"), style.paint(BOLD, &what));
    for command in &report.build.commands {
        let _ = writeln!(out, "    {}", style.paint(DIM, &format!("$ {}", visible_controls(command))));
    }
    let log = report.build.log_tail.trim_end();
    if log.is_empty() {
        let _ = writeln!(out, "    (the build printed nothing)");
    } else {
        let _ = writeln!(out, "    build log (end):");
        write_block(out, log, Keep::Tail, 8, style, DIM);
    }
}

fn write_group(out: &mut String, report: &Report, group: &GroupResult, style: Style) {
    let name = style.paint(BOLD, &visible_controls(&group.name));
    let points = fraction(group.points, group.max_points);
    let mut line = format!("{name}  ");
    if let Some(reason) = &group.skipped_because {
        line.push_str(&style.paint(DIM, &points));
        line.push_str(&style.paint(YELLOW, &format!("  skipped: {}", visible_controls(reason))));
        if !group.cases.is_empty() {
            line.push_str(&style.paint(DIM, &format!(" · {} not run", plural(group.cases.len(), "case"))));
        }
    } else if group.cases.is_empty() {
        line.push_str(&style.paint(DIM, &format!("{points}  not run")));
    } else {
        line.push_str(&style.paint(if group.passed() { GREEN } else { RED }, &points));
    }
    if group.visibility == Visibility::Hidden {
        line.push_str("  (hidden)");
    }
    if let Some(about) = &group.about {
        line.push_str(&style.paint(DIM, &format!("  {}", visible_controls(about))));
    }
    let _ = writeln!(out, "{line}");
    if group.skipped_because.is_some() {
        return;
    }

    let tag_width = group.cases.iter().map(|c| verdict_tag(c).chars().count()).max().unwrap_or(0);
    let name_width = group.cases.iter().map(|c| visible_controls(&c.name).chars().count()).max().unwrap_or(0);
    for case in &group.cases {
        write_case_row(out, case, tag_width, name_width, style);
        for note in &case.notes {
            let _ = writeln!(out, "      {}", style.paint(DIM, &visible_controls(note)));
        }
        if let Some(folder) = &case.artifacts {
            let _ = writeln!(out, "      {}", style.paint(DIM, &format!("files: {}", visible_controls(folder))));
        }
        if case.verdict != Verdict::Accepted {
            write_case_details(out, report, case, style);
        }
    }
}

fn write_case_row(out: &mut String, case: &CaseResult, tag_width: usize, name_width: usize, style: Style) {
    let (mark, colour) = verdict_look(case.verdict);
    let tag = pad(&verdict_tag(case), tag_width);
    let mut line = format!(
        "  {}  {}",
        style.paint(colour, &format!("{mark} {tag}")),
        pad(&visible_controls(&case.name), name_width)
    );
    if case.verdict != Verdict::Skipped {
        let time = if case.limit_hit == Some(LimitHit::WallTime) { case.wall_time } else { case.cpu_time };
        let memory = case.memory.map(|m| Bytes(m).to_string()).unwrap_or_default();
        line.push_str(&style.paint(DIM, &format!("  {:>8}  {memory:>10}", Seconds(time).to_string())));
    }
    if case.fraction > 0.0 && case.fraction < 1.0 {
        line.push_str(&format!("  partial {}", format_points(case.fraction)));
    }
    if let Some(about) = &case.about {
        line.push_str(&style.paint(DIM, &format!("  ({})", visible_controls(about))));
    }
    let _ = writeln!(out, "{}", line.trim_end());
}

fn write_case_details(out: &mut String, report: &Report, case: &CaseResult, style: Style) {
    let reason = if case.reason.trim().is_empty() { case.verdict.describe() } else { case.reason.as_str() };
    let _ = writeln!(out, "      {}", visible_controls(reason).replace('\n', "\n      "));
    if let Some(seed) = case.seed {
        let _ = writeln!(out, "      {}", style.paint(DIM, &format!("generated with seed {seed}")));
    }
    if case.hidden && report.mode == Mode::Test {
        return;
    }
    if let Some(feedback) = &case.feedback {
        write_feedback(out, feedback, style);
    }
}

fn write_feedback(out: &mut String, feedback: &Feedback, style: Style) {
    if let Some(first) = &feedback.first_difference {
        let _ = writeln!(out, "      {}", visible_controls(first).replace('\n', "\n      "));
    }
    if let Some(message) = &feedback.checker_message {
        let _ = writeln!(out, "      {}", style.paint(DIM, "checker said:"));
        write_block(out, message, Keep::Head, 8, style, "");
    }
    if let Some(diff) = &feedback.diff {
        let _ = writeln!(out, "      {}", style.paint(DIM, "diff (- expected, + actual):"));
        write_diff(out, diff, style);
    }
    if let Some(input) = &feedback.input_head {
        let _ = writeln!(out, "      {}", style.paint(DIM, "input (start):"));
        write_block(out, input, Keep::Head, 8, style, DIM);
    }
    if let Some(stderr) = &feedback.stderr_tail {
        let _ = writeln!(out, "      {}", style.paint(DIM, "stderr (end):"));
        write_block(out, stderr, Keep::Tail, 8, style, DIM);
    }
}

fn write_diff(out: &mut String, diff: &str, style: Style) {
    let (lines, dropped) = cut_lines(diff, Keep::Head);
    for line in lines {
        let line = visible_controls(line);
        let colour = if line.starts_with("---") || line.starts_with("+++") || line.starts_with("@@") {
            DIM
        } else if line.starts_with('-') {
            RED
        } else if line.starts_with('+') {
            GREEN
        } else {
            ""
        };
        let _ = writeln!(out, "        {}", style.paint(colour, &line));
    }
    if dropped > 0 {
        let _ = writeln!(out, "        {}", style.paint(DIM, &format!("… {} more", plural(dropped, "line"))));
    }
}

#[derive(Clone, Copy)]
enum Keep {
    Head,
    Tail,
}

fn write_block(out: &mut String, text: &str, keep: Keep, indent: usize, style: Style, colour: &str) {
    let (lines, dropped) = cut_lines(text, keep);
    let margin = " ".repeat(indent);
    let note = |out: &mut String| {
        if dropped > 0 {
            let _ = writeln!(out, "{margin}{}", style.paint(DIM, &format!("… {} cut", plural(dropped, "line"))));
        }
    };
    if let Keep::Tail = keep {
        note(out);
    }
    for line in lines {
        let _ = writeln!(out, "{margin}{}", style.paint(colour, &visible_controls(line)));
    }
    if let Keep::Head = keep {
        note(out);
    }
}

/// At most `MAX_BLOCK_LINES` lines from the head or tail of `text`, and how many were dropped.
fn cut_lines(text: &str, keep: Keep) -> (Vec<&str>, usize) {
    let lines: Vec<&str> = text.trim_end_matches('\n').lines().collect();
    let dropped = lines.len().saturating_sub(MAX_BLOCK_LINES);
    match keep {
        Keep::Head => (lines[..lines.len() - dropped].to_vec(), dropped),
        Keep::Tail => (lines[dropped..].to_vec(), dropped),
    }
}

fn write_summary(out: &mut String, report: &Report, style: Style) {
    let score = format!("score {} ({})", fraction(report.score, report.max_score), format_percent(report));
    let mut parts = vec![style.paint(if report.all_passed() { GREEN } else { RED }, &score)];
    if report.build.ok {
        let total = report.cases().count();
        let counts: Vec<String> = Verdict::ALL
            .into_iter()
            .filter_map(|verdict| {
                let n = report.cases().filter(|c| c.verdict == verdict).count();
                (n > 0).then(|| format!("{n} {verdict}"))
            })
            .collect();
        if counts.is_empty() {
            parts.push(plural(total, "case"));
        } else {
            parts.push(format!("{}: {}", plural(total, "case"), counts.join(", ")));
        }
    } else {
        parts.push("not built, no case run".to_string());
    }
    if report.hidden_cases_not_run > 0 {
        parts.push(format!("{} not run (use `takehome grade`)", plural(report.hidden_cases_not_run, "hidden case")));
    }
    parts.push(style.paint(DIM, &Seconds(report.duration).to_string()));
    let _ = writeln!(out, "{}", parts.join(" · "));
}

/// The verdict code, and for a time limit which clock ran out.
fn verdict_tag(case: &CaseResult) -> String {
    match (case.verdict, case.limit_hit) {
        (Verdict::TimeLimit, Some(LimitHit::CpuTime)) => "TLE cpu".to_string(),
        (Verdict::TimeLimit, Some(LimitHit::WallTime)) => "TLE wall".to_string(),
        (verdict, _) => verdict.code().to_string(),
    }
}

fn verdict_look(verdict: Verdict) -> (&'static str, &'static str) {
    match verdict {
        Verdict::Accepted => ("✓", GREEN),
        Verdict::WrongAnswer | Verdict::RuntimeError | Verdict::CompileError => ("✗", RED),
        Verdict::TimeLimit | Verdict::MemoryLimit | Verdict::OutputLimit => ("✗", YELLOW),
        Verdict::JudgeError => ("!", MAGENTA),
        Verdict::Skipped => ("○", DIM),
    }
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

fn pad(text: &str, width: usize) -> String {
    let len = text.chars().count();
    format!("{text}{}", " ".repeat(width.saturating_sub(len)))
}

const BOLD: &str = "1";
const DIM: &str = "2";
const RED: &str = "31";
const GREEN: &str = "32";
const YELLOW: &str = "33";
const MAGENTA: &str = "35";

#[derive(Clone, Copy)]
struct Style {
    color: bool,
}

impl Style {
    fn paint(self, code: &str, text: &str) -> String {
        if self.color && !code.is_empty() && !text.is_empty() {
            format!("\u{1b}[{code}m{text}\u{1b}[0m")
        } else {
            text.to_string()
        }
    }
}

struct Cell {
    text: String,
    right: bool,
}

impl Cell {
    fn left(text: &str) -> Cell {
        Cell { text: text.to_string(), right: false }
    }

    fn right(text: &str) -> Cell {
        Cell { text: text.to_string(), right: true }
    }
}

fn layout_table(rows: &[Vec<Cell>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| rows.iter().filter_map(|row| row.get(i)).map(|c| c.text.chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, &width)| {
                let gap = " ".repeat(width.saturating_sub(cell.text.chars().count()));
                if cell.right { format!("{gap}{}", cell.text) } else { format!("{}{gap}", cell.text) }
            })
            .collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    fn plain(report: &Report) -> String {
        render(report, HumanOptions { color: false })
    }

    #[test]
    fn plain_output_has_no_escape_codes_even_from_program_stderr() {
        let text = plain(&sample::report(Mode::Grade));
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(text.contains("warning: ␛[31mred␛[0m text from the program"), "{text}");
    }

    #[test]
    fn colour_output_paints_verdicts() {
        let text = render(&sample::report(Mode::Grade), HumanOptions { color: true });
        assert!(text.contains("\u{1b}[32m✓ AC"), "{text}");
        assert!(text.contains("\u{1b}[31m✗ WA"), "{text}");
        assert!(text.contains("\u{1b}[33m✗ TLE cpu"), "{text}");
    }

    #[test]
    fn header_names_challenge_submission_build_and_seed() {
        let text = plain(&sample::report(Mode::Test));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "dedup · Duplicate files  (bundled)");
        assert_eq!(lines[1], "submission: alice (python: found main.py) · build ok (cached)");
        assert_eq!(lines[2], "seed: 1234 (rerun with --seed 1234)");
        assert_eq!(lines[3], "sandbox: namespaces, rlimits");
    }

    #[test]
    fn changed_protected_files_are_flagged_in_the_header() {
        let mut report = sample::report(Mode::Test);
        assert!(!plain(&report).contains("PROTECTED"));
        report.protected_changes = Some(ProtectedChanges {
            since: "origin/main".into(),
            repository: "/repo".into(),
            files: vec!["challenge/cases/a.ans".into(), "challenge/challenge.toml".into()],
        });
        let text = plain(&report);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[4].starts_with("PROTECTED FILES CHANGED since origin/main: "), "{text}");
        assert_eq!(lines[5..7], ["  challenge/cases/a.ans", "  challenge/challenge.toml"]);
        let coloured = render(&report, HumanOptions { color: true });
        assert!(coloured.contains("\u{1b}[1;31mPROTECTED FILES CHANGED"), "{coloured}");
    }

    #[test]
    fn notes_and_the_files_folder_show_under_any_verdict() {
        let mut report = sample::report(Mode::Grade);
        let case = &mut report.groups[0].cases[0];
        assert_eq!(case.verdict, Verdict::Accepted);
        case.notes = vec!["2000 requests · 400/s ok".into(), "msgs-per-op 2.00\u{1b}[31m".into()];
        case.artifacts = Some("/tmp/runs/stage".into());
        let text = plain(&report);
        assert!(text.contains("\n      2000 requests · 400/s ok\n      msgs-per-op 2.00\u{241b}[31m\n"), "{text}");
        assert!(text.contains("\n      files: /tmp/runs/stage\n"), "{text}");
    }

    #[test]
    fn wrong_answer_shows_first_difference_diff_input_and_stderr() {
        let text = plain(&sample::report(Mode::Test));
        assert!(
            text.contains("  ✗ WA       hard-links     20 ms    12.1 MiB  (hard links are separate paths)\n"),
            "{text}"
        );
        assert!(text.contains("      line 2 differs\n"), "{text}");
        assert!(text.contains(&format!("      {}\n", sample::WA_FIRST_DIFFERENCE)), "{text}");
        let diff = "        --- expected\n        +++ actual\n        @@ -1,2 +1,2 @@\n";
        let diff = format!("{diff}         a.txt\n        -b.txt\n        +a.txt\n");
        assert!(text.contains(&diff), "{text}");
        assert!(text.contains("      input (start):\n        dir/\n          a.txt\n"), "{text}");
        assert!(text.contains("      stderr (end):\n"), "{text}");
    }

    #[test]
    fn time_limit_says_which_clock_and_seed() {
        let text = plain(&sample::report(Mode::Test));
        assert!(text.contains("  ✗ TLE cpu  deep-tree     2.01 s    12.1 MiB\n"), "{text}");
        assert!(text.contains("      CPU time limit 2 s exceeded\n      generated with seed 77\n"), "{text}");
    }

    #[test]
    fn hidden_case_feedback_is_absent_in_test_mode_but_shown_in_grade_mode() {
        let test = plain(&sample::report(Mode::Test));
        assert!(!test.contains(sample::HIDDEN_SECRET), "{test}");
        assert!(test.contains("  ✗ RE  huge"), "{test}");
        assert!(test.contains("(a million files)"), "{test}");
        assert!(test.contains("      killed by SIGSEGV\n"), "{test}");
        assert!(test.contains("hidden-large  0/20  (hidden)\n"), "{test}");

        let mut not_run = sample::report(Mode::Test);
        not_run.groups[2].cases.clear();
        let not_run = plain(&not_run);
        assert!(not_run.contains("hidden-large  0/20  not run  (hidden)\n"), "{not_run}");

        let grade = plain(&sample::report(Mode::Grade));
        assert!(grade.contains(sample::HIDDEN_SECRET), "{grade}");
    }

    #[test]
    fn skipped_group_says_why_and_lists_no_cases() {
        let text = plain(&sample::report(Mode::Test));
        assert!(text.contains("extras  0/5  skipped: requires links · 1 case not run\n"), "{text}");
        assert!(!text.contains("symlink-loop"), "{text}");
    }

    #[test]
    fn summary_counts_verdicts_and_hidden_cases_not_run() {
        let mut report = sample::report(Mode::Test);
        report.hidden_cases_not_run = 3;
        let text = plain(&report);
        let last = text.lines().last().unwrap_or_default();
        assert_eq!(
            last,
            "score 10/45 (22%) · 6 cases: 2 AC, 1 WA, 1 TLE, 1 RE, 1 SKIPPED \
             · 3 hidden cases not run (use `takehome grade`) · 2.5 s"
        );
    }

    #[test]
    fn failed_build_shows_compile_error_and_log_tail() {
        let text = plain(&sample::broken_build(Mode::Test));
        assert!(text.contains("build FAILED"), "{text}");
        assert!(text.contains("✗ CE the build failed after 1.5 s\n    $ cargo build --release\n"), "{text}");
        assert!(text.contains("        error[E0425]: cannot find value `x` in this scope\n"), "{text}");
        assert!(text.contains("score 0/45 (0%) · not built, no case run"), "{text}");
        assert!(!text.contains("basic"), "{text}");
    }

    #[test]
    fn points_drop_needless_decimals() {
        assert_eq!(format_points(10.0), "10");
        assert_eq!(format_points(7.5), "7.5");
        assert_eq!(format_points(10.0 / 3.0), "3.33");
        assert_eq!(format_points(f64::NAN), "?");
    }

    #[test]
    fn percent_never_rounds_a_partial_score_to_full() {
        let mut report = sample::report(Mode::Grade);
        report.score = 44.9;
        assert_eq!(format_percent(&report), "99%");
        report.score = 45.0;
        assert_eq!(format_percent(&report), "100%");
    }

    #[test]
    fn long_blocks_are_cut_keeping_the_useful_end() {
        let mut report = sample::report(Mode::Grade);
        let stderr: String = (1..=100).map(|i| format!("err {i}\n")).collect();
        if let Some(feedback) = report.groups[1].cases[0].feedback.as_mut() {
            feedback.stderr_tail = Some(stderr);
        }
        let text = plain(&report);
        assert!(text.contains("… 40 lines cut\n        err 41\n"), "{text}");
        assert!(text.contains("err 100\n"), "{text}");
        assert!(!text.contains("err 40\n"), "{text}");
    }

    #[test]
    fn summary_table_aligns_groups_and_totals_per_submission() {
        let set = sample::set(vec![sample::report(Mode::Grade), sample::broken_build(Mode::Grade)]);
        let table = render_summary_table(&set);
        let expected = "\
submission  language  basic  links  hidden-large  extras  total    %  result
alice       python    10/10   0/10          0/20     0/5  10/45  22%  fail
bob         rust          -      -             -       -   0/45   0%  CE
";
        assert_eq!(table, expected);
    }
}
