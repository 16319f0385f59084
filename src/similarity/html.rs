//! A self-contained HTML page of a comparison, viewable offline: the ranked pairs, and for the top pairs the
//! two submissions side by side with each matched fragment highlighted in the same colour on both sides
//! (click one to bring its twin into view). Every submitted text and name is escaped.

use std::fmt::Write as _;

use super::report::{CONTAINMENT_DEFINITION, SIMILARITY_DEFINITION};
use super::table::counted;
use super::{Analysis, Pair, Submission};

/// Pairs shown side by side; the rest are in the table only.
pub const DEFAULT_DETAILED_PAIRS: usize = 20;

const STYLE: &str = r#"
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1d1d1f; }
table { border-collapse: collapse; }
th, td { padding: .25em .7em; border-bottom: 1px solid #ddd; text-align: right; }
th:nth-last-child(-n+2), td:nth-last-child(-n+2) { text-align: left; }
tr.flagged td { background: #fff1f0; }
.note { color: #666; }
section.pair { margin-top: 2.5em; border-top: 2px solid #444; }
.sides { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
.side { min-width: 0; }
.file h4 { margin: .8em 0 .2em; font-family: ui-monospace, monospace; }
.code { display: grid; grid-template-columns: auto 1fr; overflow-x: auto; border: 1px solid #ccc; }
.code pre { margin: 0; padding: .3em .5em; font: 12px/1.45 ui-monospace, SFMono-Regular, Menlo, monospace; }
.code pre.gutter { color: #999; text-align: right; background: #f6f6f6; user-select: none; }
mark { border-radius: 2px; cursor: pointer; color: inherit; }
mark.focus { outline: 2px solid #000; }
"#;

const SCRIPT: &str = r#"
document.addEventListener('click', function (event) {
  var mark = event.target.closest('mark[data-twin]');
  if (!mark) return;
  var twin = document.getElementById(mark.dataset.twin);
  if (!twin) return;
  document.querySelectorAll('mark.focus').forEach(function (m) { m.classList.remove('focus'); });
  mark.classList.add('focus');
  twin.classList.add('focus');
  twin.scrollIntoView({ block: 'center', behavior: 'smooth' });
});
"#;

/// The page, with the first `detailed` pairs shown side by side.
pub fn render(analysis: &Analysis, detailed: usize) -> String {
    let mut out = String::with_capacity(64 * 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str("<title>takehome similar</title>\n<style>");
    out.push_str(STYLE);
    out.push_str("</style></head><body>\n<h1>Similarity across submissions</h1>\n");
    let flagged = analysis.pairs.iter().filter(|p| p.flagged).count();
    let _ = writeln!(
        out,
        "<p>{}, {} code, <strong>{flagged}</strong> at or above the threshold of {:.0}%. \
         k = {}, window = {}{}{}.</p>",
        counted(analysis.submissions.len(), "submission", "submissions"),
        counted(analysis.pairs_sharing, "pair shares", "pairs share"),
        analysis.threshold * 100.0,
        analysis.settings.k,
        analysis.settings.window,
        if analysis.settings.abstract_identifiers { ", identifiers and literals abstracted" } else { "" },
        match &analysis.base {
            Some(base) => format!(", starter code {} excluded", escape(&base.display().to_string())),
            None => String::new(),
        },
    );
    let _ = writeln!(
        out,
        "<p class=\"note\">Similarity: {}. Containment: {}. Overlap: tokens inside matched fragments (the smaller \
         side). Longest: the longest matched fragment, in tokens.</p>",
        escape(SIMILARITY_DEFINITION),
        escape(CONTAINMENT_DEFINITION)
    );
    pair_table(&mut out, analysis, detailed);
    for (rank, pair) in analysis.pairs.iter().enumerate().take(detailed) {
        side_by_side(&mut out, analysis, rank + 1, pair);
    }
    out.push_str("<script>");
    out.push_str(SCRIPT);
    out.push_str("</script>\n</body></html>\n");
    out
}

fn pair_table(out: &mut String, analysis: &Analysis, detailed: usize) {
    if analysis.pairs.is_empty() {
        out.push_str("<p>No two submissions share a fingerprint.</p>\n");
        return;
    }
    out.push_str("<table><thead><tr><th>#</th><th>similarity</th><th>containment</th><th>overlap</th>");
    out.push_str("<th>longest</th><th>left</th><th>right</th></tr></thead><tbody>\n");
    for (i, pair) in analysis.pairs.iter().enumerate() {
        let rank = i + 1;
        let left = escape(&analysis.submissions[pair.left].name);
        let right = escape(&analysis.submissions[pair.right].name);
        let rank_cell = if i < detailed { format!("<a href=\"#pair-{rank}\">{rank}</a>") } else { rank.to_string() };
        let _ = writeln!(
            out,
            "<tr{}><td>{rank_cell}</td><td>{:.1}%</td><td>{:.1}%</td><td>{}</td><td>{}</td><td>{left}</td><td>{right}</td></tr>",
            if pair.flagged { " class=\"flagged\"" } else { "" },
            pair.similarity * 100.0,
            pair.containment * 100.0,
            pair.overlap(),
            pair.longest_fragment,
        );
    }
    out.push_str("</tbody></table>\n");
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Which {
    Left,
    Right,
}

fn side_by_side(out: &mut String, analysis: &Analysis, rank: usize, pair: &Pair) {
    let (left, right) = (&analysis.submissions[pair.left], &analysis.submissions[pair.right]);
    let _ = writeln!(
        out,
        "<section class=\"pair\" id=\"pair-{rank}\"><h2>#{rank}: {} and {} — {:.1}%</h2>\n<p>{} matched fragments; \
         overlap {} tokens; longest {} tokens.</p>\n<div class=\"sides\">",
        escape(&left.name),
        escape(&right.name),
        pair.similarity * 100.0,
        pair.fragments.len(),
        pair.overlap(),
        pair.longest_fragment,
    );
    side(out, rank, pair, left, Which::Left);
    side(out, rank, pair, right, Which::Right);
    out.push_str("</div></section>\n");
}

fn side(out: &mut String, rank: usize, pair: &Pair, submission: &Submission, which: Which) {
    let _ = writeln!(out, "<div class=\"side\"><h3>{}</h3>", escape(&submission.name));
    let (me, twin) = match which {
        Which::Left => ("l", "r"),
        Which::Right => ("r", "l"),
    };
    for (file_index, file) in submission.files.iter().enumerate() {
        // (start byte, end byte, fragment index) of this file's highlights.
        let mut marks: Vec<(usize, usize, usize)> = pair
            .fragments
            .iter()
            .enumerate()
            .filter_map(|(i, fragment)| {
                let side = if which == Which::Left { &fragment.left } else { &fragment.right };
                (side.file == file_index).then_some((side.start_byte, side.end_byte, i))
            })
            .collect();
        if marks.is_empty() {
            continue;
        }
        marks.sort_unstable();
        let text = &file.source.text;
        let _ = writeln!(out, "<div class=\"file\"><h4>{}</h4><div class=\"code\">", escape(&file.source.path));
        let lines = text.lines().count().max(1);
        out.push_str("<pre class=\"gutter\">");
        for line in 1..=lines {
            let _ = writeln!(out, "{line}");
        }
        out.push_str("</pre><pre>");
        let mut position = 0;
        for (start, end, fragment) in marks {
            let start = start.max(position);
            if start >= end {
                continue;
            }
            let (Some(before), Some(marked)) = (text.get(position..start), text.get(start..end)) else { continue };
            out.push_str(&escape(before));
            let hue = (fragment as f64 * 137.508) % 360.0;
            let _ = write!(
                out,
                "<mark id=\"p{rank}-{me}-{fragment}\" data-twin=\"p{rank}-{twin}-{fragment}\" \
                 style=\"background:hsl({hue:.0} 85% 80%)\" title=\"fragment {}, {} tokens\">{}</mark>",
                fragment + 1,
                pair.fragments[fragment].tokens,
                escape(marked)
            );
            position = end;
        }
        out.push_str(&escape(text.get(position..).unwrap_or("")));
        out.push_str("</pre></div></div>\n");
    }
    out.push_str("</div>\n");
}

/// Text safe inside an element or a quoted attribute.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::similarity::source::{SourceFile, Syntax};
    use crate::similarity::{Cohort, Settings};
    use std::path::Path;

    fn submission(name: &str, text: &str) -> Submission {
        let file = SourceFile { path: "<main>.py".into(), syntax: Syntax::Python, text: text.into() };
        let settings = Settings { k: 5, window: 4, abstract_identifiers: false };
        Submission::from_sources(name, Path::new(name), Cohort::Current, vec![file], &settings, None)
    }

    #[test]
    fn escapes_everything_submitted() {
        assert_eq!(escape("<a href='x'>&\"</a>"), "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;");
        let code = "def f(a, b):\n    return '</pre><script>alert(1)</script>' if a < b else a\n";
        let subs = vec![submission("<img src=x>", code), submission("bob", code)];
        let settings = Settings { k: 5, window: 4, abstract_identifiers: false };
        let analysis = Analysis::of(subs, settings, 0.5, 10);
        let page = render(&analysis, 5);
        assert!(!page.contains("<script>alert"), "submitted code is escaped");
        assert!(!page.contains("<img src=x>"), "names are escaped");
        assert!(page.contains("&lt;main&gt;.py"), "file names are escaped");
        assert!(!page.contains("http://") && !page.contains("https://"), "no network");
    }

    #[test]
    fn each_fragment_has_the_same_colour_and_a_twin_on_both_sides() {
        let code = "def f(a, b):\n    total = a + b\n    return total * total\n";
        let analysis = Analysis::of(
            vec![submission("alice", code), submission("bob", code)],
            Settings { k: 5, window: 4, abstract_identifiers: false },
            0.5,
            10,
        );
        let page = render(&analysis, 5);
        assert!(page.contains("id=\"p1-l-0\" data-twin=\"p1-r-0\" style=\"background:hsl(0 85% 80%)\""), "{page}");
        assert!(page.contains("id=\"p1-r-0\" data-twin=\"p1-l-0\" style=\"background:hsl(0 85% 80%)\""), "{page}");
    }
}
