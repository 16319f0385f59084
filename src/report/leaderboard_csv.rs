//! The leaderboard as CSV (RFC 4180) for spreadsheets and scripts: one row per submission, numbers as
//! plain numbers, one column per group and four per benchmark.
//!
//! Names come from candidates, and a spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` as a
//! formula; such text cells get a leading `'`, which spreadsheets show as text (OWASP's advice).

use std::fmt::Write as _;

use super::human::{format_points, visible_controls};
use super::leaderboard::{Leaderboard, Stage, optional_points, ratio_text};

#[must_use]
pub fn render(board: &Leaderboard) -> String {
    let mut out = String::with_capacity(128 * (board.rows.len() + 1));
    let mut header: Vec<String> =
        ["rank", "name", "language", "score", "max_score", "percent", "stage", "verdict"].map(String::from).to_vec();
    header.extend(board.groups.iter().map(|g| format!("group:{}", g.name)));
    for bench in &board.benches {
        for part in ["ratio", "low", "high", "points", "status"] {
            header.push(format!("bench:{}:{part}", bench.name));
        }
    }
    header.push("file".to_string());
    write_record(&mut out, header.iter().map(|h| text(h)));

    for row in &board.rows {
        let mut record: Vec<String> = vec![
            row.rank.to_string(),
            text(&row.name),
            text(&row.language),
            format_points(row.score),
            format_points(row.max_score),
            if row.percent.is_finite() { format!("{:.2}", row.percent) } else { String::new() },
            text(&stage_place(&row.stage)),
            row.stage.verdict().code().to_string(),
        ];
        record.extend(row.groups.iter().map(|cell| match cell {
            Some(cell) if !cell.skipped => format_points(cell.points),
            _ => String::new(),
        }));
        for cell in &row.benches {
            match cell {
                Some(cell) => {
                    let ratio = cell.ratio;
                    record.push(ratio.map(|r| ratio_text(r.value)).unwrap_or_default());
                    record.push(ratio.map(|r| ratio_text(r.low)).unwrap_or_default());
                    record.push(ratio.map(|r| ratio_text(r.high)).unwrap_or_default());
                    record.push(optional_points(cell.points));
                    record.push(cell.status.word().to_string());
                }
                None => record.extend(std::iter::repeat_n(String::new(), 5)),
            }
        }
        record.push(text(&row.file));
        write_record(&mut out, record.into_iter());
    }
    out
}

/// Where it stopped, without the verdict (which has its own column).
fn stage_place(stage: &Stage) -> String {
    match stage {
        Stage::Passed => String::new(),
        Stage::BuildFailed => "build".to_string(),
        Stage::Failed { group, case, .. } => format!("{group} / {case}"),
    }
}

fn write_record(out: &mut String, fields: impl Iterator<Item = String>) {
    for (index, field) in fields.enumerate() {
        if index > 0 {
            out.push(',');
        }
        quote(out, &field);
    }
    out.push_str("\r\n");
}

/// A text cell: control characters made visible, and defused when a spreadsheet would read a formula.
fn text(value: &str) -> String {
    let value = visible_controls(value).replace(['\n', '\t'], " ");
    if value.starts_with(['=', '+', '-', '@']) { format!("'{value}") } else { value }
}

fn quote(out: &mut String, field: &str) {
    if field.contains([',', '"', '\r', '\n']) {
        let _ = write!(out, "\"{}\"", field.replace('"', "\"\""));
    } else {
        out.push_str(field);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::leaderboard::tests::scored;
    use crate::report::{Mode, sample};

    fn board(reports: Vec<crate::report::Report>) -> Leaderboard {
        let named = reports.into_iter().map(|r| (format!("{}.json", r.submission.name), r)).collect();
        Leaderboard::from_reports(named, Vec::new(), "0.1.0".to_string())
    }

    #[test]
    fn header_and_rows_carry_scores_groups_and_stage() {
        let csv = render(&board(vec![scored("alice", 10.0), sample::broken_build(Mode::Grade)]));
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(
            lines[0],
            "rank,name,language,score,max_score,percent,stage,verdict,group:basic,group:links,group:hidden-large,\
             group:extras,file"
        );
        assert_eq!(lines[1], "1,alice,python,10,45,22.22,links / hard-links,WA,10,0,0,,alice.json");
        assert_eq!(lines[2], "2,bob,rust,0,45,0.00,build,CE,0,0,0,,bob.json");
        assert_eq!(lines[3], "");
    }

    #[test]
    fn quotes_commas_and_defuses_formulas() {
        let mut report = scored("=HYPERLINK(\"http://x\",\"a, b\")", 10.0);
        report.submission.language = "line\nbreak".to_string();
        let csv = render(&board(vec![report]));
        let second = csv.split("\r\n").nth(1).expect("a data row");
        assert!(second.starts_with("1,\"'=HYPERLINK(\"\"http://x\"\",\"\"a, b\"\")\",line break,"), "{second}");
    }
}
