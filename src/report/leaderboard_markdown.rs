//! The leaderboard as a Markdown table (GitHub flavour), for a pull request, a wiki or a job summary: the
//! ranking with per-group points, the stage reached and benchmark ratios, then the score distribution and
//! the result files that could not be read.

use std::fmt::Write as _;

use super::leaderboard::{Leaderboard, bench_text, fraction, group_text};
use super::markdown::inline;

#[must_use]
pub fn render(board: &Leaderboard) -> String {
    let mut out = String::with_capacity(256 * (board.rows.len() + 4));
    let _ = writeln!(out, "# {}\n", inline(&board.title));
    let _ = writeln!(out, "{}.\n", inline(&board.summary()));
    if !board.rows.is_empty() {
        table(&mut out, board);
        distribution(&mut out, board);
    }
    if !board.unreadable.is_empty() {
        let _ = writeln!(out, "\n**Result files left out ({}):**\n", board.unreadable.len());
        for file in &board.unreadable {
            let _ = writeln!(out, "- {}: {}", inline(&file.file), inline(&file.reason));
        }
    }
    let _ = writeln!(out, "\n<sub>takehome {}</sub>", inline(&board.takehome_version));
    out
}

fn table(out: &mut String, board: &Leaderboard) {
    out.push_str("| # | Submission | Language | Score | % |");
    let mut rule = String::from("| ---: | --- | --- | ---: | ---: |");
    for group in &board.groups {
        let _ = write!(out, " {} |", inline(&group.name));
        rule.push_str(" ---: |");
    }
    for bench in &board.benches {
        let _ = write!(out, " {} (ratio, 95% CI) |", inline(&bench.name));
        rule.push_str(" ---: |");
    }
    out.push_str(" Stage reached |\n");
    rule.push_str(" --- |\n");
    out.push_str(&rule);
    for row in &board.rows {
        let _ = write!(
            out,
            "| {} | {} | {} | {} | {} |",
            row.rank,
            inline(&row.name),
            inline(&row.language),
            fraction(row.score, row.max_score),
            row.percent_text
        );
        for cell in &row.groups {
            let _ = write!(out, " {} |", group_text(cell.as_ref()));
        }
        for cell in &row.benches {
            let _ = write!(out, " {} |", inline(&bench_text(cell.as_ref())));
        }
        let _ = writeln!(out, " {} |", inline(&row.stage.text()));
    }
}

/// The histogram as a small table of bars.
fn distribution(out: &mut String, board: &Leaderboard) {
    let bins = board.histogram();
    let most = bins.iter().copied().max().unwrap_or(0).max(1);
    out.push_str("\n**Score distribution:**\n\n| Score | Submissions | |\n| --- | ---: | --- |\n");
    for (index, count) in bins.iter().enumerate() {
        let range = if index == 9 { "90–100%".to_string() } else { format!("{}–{}%", index * 10, index * 10 + 9) };
        let bar = "█".repeat((count * 20).div_ceil(most));
        let _ = writeln!(out, "| {range} | {count} | {bar} |");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::leaderboard::{Unreadable, tests::scored};
    use crate::report::{Mode, sample};

    fn board(reports: Vec<crate::report::Report>, unreadable: Vec<Unreadable>) -> Leaderboard {
        let named = reports.into_iter().map(|r| (format!("{}.json", r.submission.name), r)).collect();
        Leaderboard::from_reports(named, unreadable, "0.1.0".to_string())
    }

    #[test]
    fn table_lists_rank_points_groups_and_stage() {
        let text = render(&board(vec![scored("alice", 10.0), sample::broken_build(Mode::Grade)], Vec::new()));
        assert!(text.starts_with("# Leaderboard: Duplicate files\n\n2 submissions of dedup, 0 passed every case.\n"));
        assert!(
            text.contains(
                "| # | Submission | Language | Score | % | basic | links | hidden-large | extras | Stage reached |\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "| 1 | alice | python | 10/45 | 22% | 10/10 | 0/10 | 0/20 | skipped | links / hard-links: WA |"
            )
        );
        assert!(text.contains("| 2 | bob | rust | 0/45 | 0% | 0/10 | 0/10 | 0/20 | skipped | build: CE |"), "{text}");
        assert!(text.contains("| 20–29% | 1 | ████████████████████ |"), "{text}");
    }

    #[test]
    fn names_and_reasons_cannot_inject_markdown_or_html() {
        let unreadable = vec![Unreadable { file: "x`|y.json".to_string(), reason: "<img src=x>".to_string() }];
        let text = render(&board(vec![scored("a|b <script>[x](y)", 10.0)], unreadable));
        assert!(text.contains("| a\\|b &lt;script&gt;\\[x\\](y) |"), "{text}");
        assert!(text.contains("- x\\`\\|y.json: &lt;img src=x&gt;"), "{text}");
        assert!(!text.contains("<script>") && !text.contains("<img"), "{text}");
    }
}
