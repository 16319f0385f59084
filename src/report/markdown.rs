//! Markdown for pull-request comments and CI job summaries: tables first, then one collapsible block per
//! failure, the whole kept under a size GitHub accepts for a comment.

use std::fmt::Write as _;

use super::human::{format_percent, format_points, visible_controls};
use super::{CaseResult, Feedback, GroupResult, Mode, Report, ReportSet, Verdict};
use crate::batch::protected::ProtectedChanges;
use crate::spec::Visibility;

/// GitHub refuses comments over 65 536 characters; stay clear of that with the notes added around the blocks.
pub const MAX_BYTES: usize = 60_000;

const DIFF_LINES: usize = 60;
const DIFF_BYTES: usize = 6_000;
const TEXT_LINES: usize = 20;
const TEXT_BYTES: usize = 2_000;
const BUILD_LOG_LINES: usize = 60;
const BUILD_LOG_BYTES: usize = 8_000;
/// Room kept for the "not shown" notes, which are written after the budget is spent.
const NOTE_ROOM: usize = 400;

#[must_use]
pub fn render(set: &ReportSet) -> String {
    let mut out = String::new();
    write_heading(&mut out, set);
    if set.reports.is_empty() {
        out.push_str("No submissions were graded.\n");
        return out;
    }
    write_submissions_table(&mut out, set);

    let sections: Vec<String> = set.reports.iter().map(section_with_benches).collect();
    let essentials = out.len() + sections.iter().map(|s| s.len() + 1).sum::<usize>();
    let mut budget = MAX_BYTES.saturating_sub(essentials + NOTE_ROOM * set.reports.len());
    for (report, section) in set.reports.iter().zip(sections) {
        out.push('\n');
        out.push_str(&section);
        let mut not_shown = 0;
        for block in failure_blocks(report) {
            if block.len() <= budget {
                budget -= block.len();
                out.push('\n');
                out.push_str(&block);
            } else {
                not_shown += 1;
            }
        }
        if not_shown > 0 {
            let _ = writeln!(
                out,
                "\n_{} not shown to keep this summary short; see the JSON report (`--format json`)._",
                plural(not_shown, "more failure")
            );
        }
    }
    out
}

fn write_heading(out: &mut String, set: &ReportSet) {
    let trusted_pass = |r: &Report| r.all_passed() && r.protected_changes.is_none();
    let mark = if !set.reports.is_empty() && set.reports.iter().all(trusted_pass) { "✅" } else { "❌" };
    match set.reports.first() {
        Some(first) if set.reports.iter().all(|r| r.challenge.id == first.challenge.id) => {
            let _ = writeln!(
                out,
                "## {mark} takehome: {} — {}\n",
                inline(&first.challenge.id),
                inline(&first.challenge.title)
            );
        }
        _ => {
            let _ = writeln!(out, "## {mark} takehome results\n");
        }
    }
}

fn write_submissions_table(out: &mut String, set: &ReportSet) {
    out.push_str("| Submission | Language | Build | Score | Result |\n");
    out.push_str("| --- | --- | --- | ---: | :---: |\n");
    for report in &set.reports {
        let build = if !report.build.ok {
            "failed"
        } else if report.build.cached {
            "ok (cached)"
        } else {
            "ok"
        };
        let _ = writeln!(
            out,
            "| {} | {} | {build} | {} ({}) | {} |",
            inline(&report.submission.name),
            inline(&report.submission.language),
            fraction(report.score, report.max_score),
            format_percent(report),
            result_mark(report),
        );
    }
    let _ = writeln!(out, "\n<sub>takehome {}</sub>", html(&set.takehome_version));
}

/// The submission's section, then its benchmarks (table and charts) when it has any.
fn section_with_benches(report: &Report) -> String {
    let mut section = submission_section(report);
    if !report.benches.is_empty() {
        section.push('\n');
        section.push_str(&crate::bench::render::markdown(&report.benches));
    }
    section
}

/// A submission's heading, seed and group table: the part always shown, whatever the size.
fn submission_section(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### {} {} · {} ({})\n",
        result_mark(report),
        inline(&report.submission.name),
        fraction(report.score, report.max_score),
        format_percent(report)
    );
    if let Some(changes) = &report.protected_changes {
        write_protected_changes(&mut out, changes);
    }
    if report.build.ok {
        let _ = writeln!(out, "Seed {} (rerun with `--seed {}`).", report.seed, report.seed);
    }
    if report.hidden_cases_not_run > 0 {
        let _ = writeln!(
            out,
            "{} not run (`takehome grade` runs them).",
            capitalise(&plural(report.hidden_cases_not_run, "hidden case"))
        );
    }
    out.push('\n');
    if !report.build.ok {
        out.push_str("**The build failed**, so no case was run.\n");
        return out;
    }
    if report.groups.is_empty() {
        out.push_str("No groups.\n");
        return out;
    }
    out.push_str("| Group | Points | Cases | |\n| --- | ---: | --- | :---: |\n");
    for group in &report.groups {
        let name = match group.visibility {
            Visibility::Hidden => format!("{} (hidden)", inline(&group.name)),
            Visibility::Public => inline(&group.name),
        };
        let (cases, mark) = match &group.skipped_because {
            Some(reason) => (format!("skipped: {}", inline(reason)), "⏭️"),
            None if group.cases.is_empty() => ("not run".to_string(), "—"),
            None => (verdict_counts(&group.cases), if group.passed() { "✅" } else { "❌" }),
        };
        let _ = writeln!(out, "| {name} | {} | {cases} | {mark} |", fraction(group.points, group.max_points));
    }
    out
}

/// Protected files listed in full up to this many; past it, the rest are counted.
const MAX_PROTECTED_LISTED: usize = 50;

/// A warning that the branch edits the challenge it was graded against, above everything else.
fn write_protected_changes(out: &mut String, changes: &ProtectedChanges) {
    let _ = writeln!(
        out,
        "> ⚠️ **Protected files changed** since {}: this branch edits the challenge it was graded against \
         (its spec, cases or tests), so this result cannot be trusted.\n>",
        inline(&changes.since)
    );
    for file in changes.files.iter().take(MAX_PROTECTED_LISTED) {
        let _ = writeln!(out, "> - {}", inline(file));
    }
    if changes.files.len() > MAX_PROTECTED_LISTED {
        let _ = writeln!(out, "> - and {}", plural(changes.files.len() - MAX_PROTECTED_LISTED, "more file"));
    }
    out.push('\n');
}

/// One collapsible block per thing that went wrong: the build, or each failing case.
fn failure_blocks(report: &Report) -> Vec<String> {
    if !report.build.ok {
        return vec![build_block(report)];
    }
    report
        .groups
        .iter()
        .filter(|g| g.skipped_because.is_none())
        .flat_map(|group| group.cases.iter().map(move |case| (group, case)))
        .filter(|(_, case)| !matches!(case.verdict, Verdict::Accepted | Verdict::Skipped))
        .map(|(group, case)| case_block(report, group, case))
        .collect()
}

fn build_block(report: &Report) -> String {
    let mut out = String::from("<details open>\n<summary>❌ <b>CE</b> the build failed</summary>\n\n");
    let mut text: String = report.build.commands.iter().map(|command| format!("$ {command}\n")).collect();
    let log = cut(&report.build.log_tail, BUILD_LOG_LINES, BUILD_LOG_BYTES, Keep::Tail);
    if log.trim().is_empty() {
        text.push_str("(the build printed nothing)");
    } else {
        text.push_str(&log);
    }
    push_fence(&mut out, "text", &text);
    out.push_str("</details>\n");
    out
}

fn case_block(report: &Report, group: &GroupResult, case: &CaseResult) -> String {
    let reason = if case.reason.trim().is_empty() { case.verdict.describe() } else { case.reason.as_str() };
    let mut out = format!(
        "<details>\n<summary>{} <b>{}</b> {} / {} — {}</summary>\n\n",
        verdict_mark(case.verdict),
        case.verdict.code(),
        html(&group.name),
        html(&case.name),
        html(reason),
    );
    if let Some(about) = &case.about {
        let _ = writeln!(out, "**Covers:** {}\n", inline(about));
    }
    if let Some(seed) = case.seed {
        let _ = writeln!(out, "**Generated with seed:** {seed}\n");
    }
    let hidden_from_candidate = case.hidden && report.mode == Mode::Test;
    if let Some(feedback) = case.feedback.as_ref().filter(|_| !hidden_from_candidate) {
        write_feedback(&mut out, feedback);
    }
    out.push_str("</details>\n");
    out
}

fn write_feedback(out: &mut String, feedback: &Feedback) {
    if let Some(first) = &feedback.first_difference {
        let _ = writeln!(out, "**First difference:** {}\n", inline(first));
    }
    if let Some(message) = &feedback.checker_message {
        out.push_str("**Checker said:**\n\n");
        push_fence(out, "text", &cut(message, TEXT_LINES, TEXT_BYTES, Keep::Head));
    }
    if let Some(diff) = &feedback.diff {
        push_fence(out, "diff", &cut(diff, DIFF_LINES, DIFF_BYTES, Keep::Head));
    }
    if let Some(input) = &feedback.input_head {
        out.push_str("**Input (start):**\n\n");
        push_fence(out, "text", &cut(input, TEXT_LINES, TEXT_BYTES, Keep::Head));
    }
    if let Some(stderr) = &feedback.stderr_tail {
        out.push_str("**Stderr (end):**\n\n");
        push_fence(out, "text", &cut(stderr, TEXT_LINES, TEXT_BYTES, Keep::Tail));
    }
}

/// A code block whose fence is longer than any run of backticks inside, so no content can close it early.
fn push_fence(out: &mut String, language: &str, content: &str) {
    let longest_run = content.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest_run.max(2) + 1);
    let content = visible_controls(content);
    let _ = writeln!(out, "{fence}{language}\n{}\n{fence}\n", content.trim_end_matches('\n'));
}

#[derive(Clone, Copy)]
enum Keep {
    Head,
    Tail,
}

/// At most `max_lines` lines and about `max_bytes` bytes of `text`, from its head or its tail, saying what was cut.
fn cut(text: &str, max_lines: usize, max_bytes: usize, keep: Keep) -> String {
    let lines: Vec<&str> = text.trim_end_matches('\n').lines().collect();
    let mut kept: Vec<String> = Vec::new();
    let mut bytes = 0;
    let ordered: Box<dyn Iterator<Item = &&str>> = match keep {
        Keep::Head => Box::new(lines.iter()),
        Keep::Tail => Box::new(lines.iter().rev()),
    };
    for line in ordered.take(max_lines) {
        if bytes + line.len() + 1 > max_bytes {
            if kept.is_empty() {
                let part = truncate(line, max_bytes, keep);
                kept.push(match keep {
                    Keep::Head => format!("{part}…"),
                    Keep::Tail => format!("…{part}"),
                });
            }
            break;
        }
        bytes += line.len() + 1;
        kept.push((*line).to_string());
    }
    let dropped = lines.len() - kept.len();
    if let Keep::Tail = keep {
        kept.reverse();
    }
    let mut result = kept.join("\n");
    if dropped > 0 {
        let note = format!("… {} cut", plural(dropped, "line"));
        result = match keep {
            Keep::Head => format!("{result}\n{note}"),
            Keep::Tail => format!("{note}\n{result}"),
        };
    }
    result
}

/// One very long line cut to at most `max_bytes` on a character boundary.
fn truncate(line: &str, max_bytes: usize, keep: Keep) -> &str {
    match keep {
        Keep::Head => {
            let end = (0..=max_bytes.min(line.len())).rev().find(|&i| line.is_char_boundary(i)).unwrap_or(0);
            &line[..end]
        }
        Keep::Tail => {
            let start = (line.len().saturating_sub(max_bytes)..=line.len())
                .find(|&i| line.is_char_boundary(i))
                .unwrap_or(line.len());
            &line[start..]
        }
    }
}

/// Text for Markdown paragraphs and table cells: one line, every character Markdown or HTML could act on escaped.
pub(crate) fn inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in visible_controls(text).chars() {
        match c {
            '\n' | '\t' => out.push(' '),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '!' | '~' | '$' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// Text inside HTML elements (`<summary>`), where Markdown is not read.
fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in visible_controls(text).chars() {
        match c {
            '\n' | '\t' => out.push(' '),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

fn verdict_counts(cases: &[CaseResult]) -> String {
    Verdict::ALL
        .into_iter()
        .filter_map(|verdict| {
            let n = cases.iter().filter(|c| c.verdict == verdict).count();
            (n > 0).then(|| format!("{n} {verdict}"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn result_mark(report: &Report) -> &'static str {
    if report.all_passed() { "✅" } else { "❌" }
}

fn verdict_mark(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Accepted => "✅",
        Verdict::JudgeError => "⚠️",
        Verdict::Skipped => "⏭️",
        _ => "❌",
    }
}

fn fraction(points: f64, max_points: f64) -> String {
    format!("{}/{}", format_points(points), format_points(max_points))
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    fn sample_markdown(mode: Mode) -> String {
        render(&sample::set(vec![sample::report(mode), sample::broken_build(mode)]))
    }

    #[test]
    fn heading_and_submission_table_show_scores_and_results() {
        let text = sample_markdown(Mode::Grade);
        assert!(text.starts_with("## ❌ takehome: dedup — Duplicate files\n\n"), "{text}");
        assert!(text.contains("| alice | python | ok (cached) | 10/45 (22%) | ❌ |\n"), "{text}");
        assert!(text.contains("| bob | rust | failed | 0/45 (0%) | ❌ |\n"), "{text}");
    }

    #[test]
    fn changed_protected_files_get_a_warning_and_a_failing_heading() {
        let mut report = sample::report(Mode::Test);
        report.groups.clear();
        assert!(render(&sample::set(vec![report.clone()])).starts_with("## ✅"));
        report.protected_changes = Some(ProtectedChanges {
            since: "origin/main".into(),
            repository: "/repo".into(),
            files: vec!["challenge/cases/a_b.ans".into(), "challenge/challenge.toml".into()],
        });
        let text = render(&sample::set(vec![report]));
        assert!(text.starts_with("## ❌"), "{text}");
        assert!(text.contains("> ⚠️ **Protected files changed** since origin/main: "), "{text}");
        assert!(text.contains("> - challenge/cases/a\\_b.ans\n> - challenge/challenge.toml\n\n"), "{text}");
    }

    #[test]
    fn group_table_shows_points_counts_and_skips() {
        let text = sample_markdown(Mode::Grade);
        assert!(text.contains("| basic | 10/10 | 2 AC | ✅ |\n"), "{text}");
        assert!(text.contains("| links | 0/10 | 1 WA, 1 TLE | ❌ |\n"), "{text}");
        assert!(text.contains("| hidden-large (hidden) | 0/20 | 1 RE | ❌ |\n"), "{text}");
        assert!(text.contains("| extras | 0/5 | skipped: requires links | ⏭️ |\n"), "{text}");
    }

    #[test]
    fn wrong_answer_gets_a_collapsible_block_with_the_diff() {
        let text = sample_markdown(Mode::Test);
        assert!(
            text.contains("<details>\n<summary>❌ <b>WA</b> links / hard-links — line 2 differs</summary>\n\n"),
            "{text}"
        );
        assert!(text.contains("**First difference:** line 2: expected \\`b.txt\\`, got \\`a.txt\\`\n"), "{text}");
        assert!(text.contains(&format!("```diff\n{}```\n", sample::WA_DIFF)), "{text}");
        assert!(!text.contains('\u{1b}'), "{text}");
    }

    #[test]
    fn failed_build_shows_its_log() {
        let text = sample_markdown(Mode::Grade);
        assert!(text.contains("**The build failed**, so no case was run."), "{text}");
        assert!(
            text.contains("```text\n$ cargo build --release\nerror[E0425]: cannot find value `x` in this scope\n"),
            "{text}"
        );
        assert!(text.contains(" --> src/main.rs:2:5\n```\n\n</details>\n"), "{text}");
    }

    #[test]
    fn hidden_case_feedback_is_absent_in_test_mode() {
        let test = sample_markdown(Mode::Test);
        assert!(!test.contains(sample::HIDDEN_SECRET), "{test}");
        assert!(test.contains("<b>RE</b> hidden-large / huge — killed by SIGSEGV</summary>"), "{test}");
        assert!(test.contains("**Covers:** a million files"), "{test}");
        assert!(sample_markdown(Mode::Grade).contains(sample::HIDDEN_SECRET));
    }

    #[test]
    fn backticks_in_output_cannot_close_the_fence() {
        let mut report = sample::report(Mode::Grade);
        if let Some(feedback) = report.groups[1].cases[0].feedback.as_mut() {
            feedback.diff = Some("-```\n+`````\n".to_string());
        }
        let text = render(&sample::set(vec![report]));
        assert!(text.contains("``````diff\n-```\n+`````\n``````\n"), "{text}");
    }

    #[test]
    fn names_cannot_inject_markdown_or_html() {
        let mut report = sample::report(Mode::Grade);
        report.submission.name = "a|b <script>".to_string();
        report.groups[1].cases[0].name = "</summary><img>".to_string();
        let text = render(&sample::set(vec![report]));
        assert!(text.contains("| a\\|b &lt;script&gt; |"), "{text}");
        assert!(text.contains("links / &lt;/summary&gt;&lt;img&gt; —"), "{text}");
        assert!(!text.contains("<script>") && !text.contains("<img>"), "{text}");
    }

    #[test]
    fn many_large_failures_stay_under_the_size_cap() {
        let mut report = sample::report(Mode::Grade);
        let huge_diff: String = (0..5_000).map(|i| format!("-expected line {i}\n+actual line {i}\n")).collect();
        if let Some(feedback) = report.groups[1].cases[0].feedback.as_mut() {
            feedback.diff = Some(huge_diff);
        }
        let template = report.groups[1].cases[0].clone();
        report.groups[1].cases = (0..200)
            .map(|i| {
                let mut case = template.clone();
                case.name = format!("case-{i}");
                case
            })
            .collect();
        let text = render(&sample::set(vec![report.clone(), report]));
        assert!(text.len() <= MAX_BYTES, "{} bytes", text.len());
        assert!(text.contains("… 9940 lines cut"), "a single diff is cut");
        assert!(text.contains("more failures not shown"), "the reader is told some were left out");
        assert_eq!(text.matches("### ").count(), 2, "every submission keeps its section");
    }

    #[test]
    fn cut_keeps_whole_characters() {
        let long = "é".repeat(100);
        assert_eq!(cut(&long, 5, 11, Keep::Head), format!("{}…", "é".repeat(5)));
        assert_eq!(cut(&long, 5, 11, Keep::Tail), format!("…{}", "é".repeat(5)));
        assert_eq!(cut("a\nb\nc\n", 2, 100, Keep::Tail), "… 1 line cut\nb\nc");
    }
}
