//! The terminal view of a comparison: the ranked pairs as a table, and where the longest shared fragment of
//! each flagged pair is.

use std::fmt::Write as _;

use super::Analysis;

/// Rows shown even when fewer pairs are flagged; flagged pairs are all shown up to `MAX_ROWS`.
pub const DEFAULT_ROWS: usize = 20;
const MAX_ROWS: usize = 200;
const NAME_WIDTH: usize = 40;

pub fn render(analysis: &Analysis, rows: usize) -> String {
    let mut out = String::new();
    let flagged = analysis.pairs.iter().filter(|p| p.flagged).count();
    let shown = rows.max(flagged).min(MAX_ROWS).min(analysis.pairs.len());
    let current = analysis.submissions.iter().filter(|s| s.cohort == super::Cohort::Current).count();
    let earlier = analysis.submissions.len() - current;
    let _ = write!(out, "{}", counted(current, "submission", "submissions"));
    if earlier > 0 {
        let _ = write!(out, " and {earlier} from earlier rounds");
    }
    let _ = writeln!(
        out,
        "; {} code; {flagged} at or above the threshold {:.0}% (k={}, w={}{}{})",
        counted(analysis.pairs_sharing, "pair shares", "pairs share"),
        analysis.threshold * 100.0,
        analysis.settings.k,
        analysis.settings.window,
        if analysis.settings.abstract_identifiers { ", identifiers and literals abstracted" } else { "" },
        if analysis.base.is_some() { ", starter code excluded" } else { "" },
    );
    if shown == 0 {
        out.push_str("no two submissions share a fingerprint\n");
        return out;
    }
    let names: Vec<(String, String)> = analysis.pairs[..shown]
        .iter()
        .map(|p| (shorten(&analysis.submissions[p.left].name), shorten(&analysis.submissions[p.right].name)))
        .collect();
    let left_width = names.iter().map(|(l, _)| l.chars().count()).max().unwrap_or(0).max(4);
    let _ = writeln!(
        out,
        "\n{:>4}  {:>10}  {:>11}  {:>7}  {:>7}  {:<left_width$}  right",
        "rank", "similarity", "containment", "overlap", "longest", "left"
    );
    for (i, (pair, (left, right))) in analysis.pairs[..shown].iter().zip(&names).enumerate() {
        let mark = if pair.flagged { "!" } else { " " };
        let _ = writeln!(
            out,
            "{:>4}  {mark}{:>8.1}%  {:>10.1}%  {:>7}  {:>7}  {left:<left_width$}  {right}",
            i + 1,
            pair.similarity * 100.0,
            pair.containment * 100.0,
            pair.overlap(),
            pair.longest_fragment,
        );
    }
    if analysis.pairs_sharing > shown {
        let more = counted(analysis.pairs_sharing - shown, "more pair shares", "more pairs share");
        let _ = writeln!(out, "({more} some code; see --json or --html)");
    }
    let flagged_pairs: Vec<_> =
        analysis.pairs[..shown].iter().filter(|p| p.flagged && !p.fragments.is_empty()).collect();
    if !flagged_pairs.is_empty() {
        out.push_str("\nlongest shared fragment of each flagged pair:\n");
        for pair in flagged_pairs.iter().take(DEFAULT_ROWS) {
            let (left, right) = (&analysis.submissions[pair.left], &analysis.submissions[pair.right]);
            let fragment = &pair.fragments[0];
            let _ = writeln!(
                out,
                "  {}:{}-{}  =  {}:{}-{}  ({} tokens)",
                location(left, fragment.left.file),
                fragment.left.first_line,
                fragment.left.last_line,
                location(right, fragment.right.file),
                fragment.right.first_line,
                fragment.right.last_line,
                fragment.tokens,
            );
        }
    }
    out
}

/// "1 pair shares", "2 pairs share".
pub(crate) fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A file of a submission as a path the user can open.
fn location(submission: &super::Submission, file: usize) -> String {
    let path = &submission.files[file].source.path;
    // A submission given as a single file is named after it already.
    if std::path::Path::new(&submission.name).ends_with(path) {
        submission.name.clone()
    } else {
        format!("{}/{path}", submission.name)
    }
}

/// Long names keep their end, which tells submissions apart.
fn shorten(name: &str) -> String {
    let count = name.chars().count();
    if count <= NAME_WIDTH {
        return name.to_string();
    }
    let tail: String = name.chars().skip(count - (NAME_WIDTH - 1)).collect();
    format!("…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_keep_their_end() {
        let name = format!("{}/alice", "x".repeat(60));
        let short = shorten(&name);
        assert_eq!(short.chars().count(), NAME_WIDTH);
        assert!(short.ends_with("/alice") && short.starts_with('…'));
        assert_eq!(shorten("bob"), "bob");
    }
}
