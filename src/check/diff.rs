//! The diff shown on a wrong answer: unified, line by line, with whitespace made visible so that a
//! stray space, tab, carriage return or missing final newline can be seen.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use similar::{Algorithm, DiffOp, DiffTag, capture_diff_slices_deadline, group_diff_ops};

/// Unchanged lines shown around each change.
const CONTEXT: usize = 3;
/// Lines of each side diffed, from the first difference on: the shown diff is short anyway, and this
/// keeps a wrong answer of 100 MB cheap.
const WINDOW: usize = 2000;
/// Time allowed to the diff algorithm before it settles for a coarser answer.
const DEADLINE: Duration = Duration::from_millis(300);
/// Characters of a line shown before it is cut.
const LINE_CHARS: usize = 200;

const NO_NEWLINE: &str = "\\ No newline at end of file";

/// A unified diff of expected against actual with whitespace made visible, at most `max_lines` long
/// (plus the two header lines and a note of what was left out).
#[must_use]
pub fn unified(expected: &[u8], actual: &[u8], max_lines: usize) -> String {
    let mut out = String::from("--- expected\n+++ actual\n");
    if expected == actual {
        out.push_str("(no differences)\n");
        return out;
    }
    let first_line = first_differing_line(expected, actual);
    let context_start = first_line.line.saturating_sub(CONTEXT);
    let skipped_bytes = line_start_before(expected, first_line.offset, first_line.line - context_start);
    let old = Lines::window(&expected[skipped_bytes..], WINDOW + CONTEXT);
    let new = Lines::window(&actual[skipped_bytes..], WINDOW + CONTEXT);
    let windowed = old.cut || new.cut;

    let deadline = Instant::now() + DEADLINE;
    let ops = capture_diff_slices_deadline(Algorithm::Myers, &old.lines, &new.lines, Some(deadline));
    let mut groups = group_diff_ops(ops, CONTEXT);
    if windowed {
        // A change touching the window's end may only be the window's own edge, not a real one: it
        // goes unless it is all there is to show (as when one output is far shorter).
        let real = |group: &Vec<DiffOp>| !group.iter().any(|op| touches_end(op, old.lines.len(), new.lines.len()));
        if groups.iter().any(real) {
            groups.retain(real);
        }
    }

    let mut body = Vec::new();
    for group in &groups {
        render_hunk(group, &old.lines, &new.lines, context_start, &mut body);
    }
    let total = body.len();
    body.truncate(max_lines);
    for line in &body {
        out.push_str(line);
        out.push('\n');
    }
    if total > max_lines {
        let _ = writeln!(out, "… {} more diff line{} not shown", total - max_lines, plural(total - max_lines));
    }
    if windowed {
        let _ = writeln!(out, "… the outputs may differ further after line {} (not diffed)", context_start + WINDOW);
    }
    out
}

/// Where the outputs first differ: the 0-based line and the byte offset of that line's start.
struct FirstLine {
    line: usize,
    offset: usize,
}

fn first_differing_line(expected: &[u8], actual: &[u8]) -> FirstLine {
    let common = expected.iter().zip(actual).take_while(|(e, a)| e == a).count();
    let offset = expected[..common].iter().rposition(|&b| b == b'\n').map_or(0, |nl| nl + 1);
    let line = expected[..offset].iter().filter(|&&b| b == b'\n').count();
    FirstLine { line, offset }
}

/// The offset of the start of the line `back` lines before the line starting at `offset`.
fn line_start_before(bytes: &[u8], offset: usize, back: usize) -> usize {
    let mut start = offset;
    for _ in 0..back {
        if start == 0 {
            break;
        }
        start = bytes[..start - 1].iter().rposition(|&b| b == b'\n').map_or(0, |nl| nl + 1);
    }
    start
}

/// Up to `limit` lines of a text, each with its `\n` when it has one.
struct Lines<'a> {
    lines: Vec<&'a [u8]>,
    /// Whether lines were left out after the last one.
    cut: bool,
}

impl<'a> Lines<'a> {
    fn window(bytes: &'a [u8], limit: usize) -> Self {
        let mut lines = Vec::new();
        let mut rest = bytes;
        while !rest.is_empty() {
            if lines.len() == limit {
                return Lines { lines, cut: true };
            }
            let end = rest.iter().position(|&b| b == b'\n').map_or(rest.len(), |nl| nl + 1);
            lines.push(&rest[..end]);
            rest = &rest[end..];
        }
        Lines { lines, cut: false }
    }
}

fn touches_end(op: &DiffOp, old_len: usize, new_len: usize) -> bool {
    op.tag() != DiffTag::Equal && (op.old_range().end == old_len || op.new_range().end == new_len)
}

fn render_hunk(group: &[DiffOp], old: &[&[u8]], new: &[&[u8]], line_offset: usize, body: &mut Vec<String>) {
    let (Some(first), Some(last)) = (group.first(), group.last()) else { return };
    let old_range = first.old_range().start..last.old_range().end;
    let new_range = first.new_range().start..last.new_range().end;
    body.push(format!(
        "@@ -{} +{} @@",
        hunk_range(line_offset + old_range.start, old_range.len()),
        hunk_range(line_offset + new_range.start, new_range.len())
    ));
    for op in group {
        let (tag, old_lines, new_lines) = op.as_tag_tuple();
        match tag {
            DiffTag::Equal => {
                for line in &old[old_lines] {
                    push_line(' ', line, 0, body);
                }
            }
            DiffTag::Delete | DiffTag::Insert | DiffTag::Replace => {
                let (old_lines, new_lines) = (&old[old_lines], &new[new_lines]);
                // Lines changed one for one are shown from near their first difference when it lies
                // beyond what a cut line would show.
                let skips: Vec<usize> = if old_lines.len() == new_lines.len() {
                    old_lines.iter().zip(new_lines).map(|(x, y)| aligned_skip(x, y)).collect()
                } else {
                    vec![0; old_lines.len().max(new_lines.len())]
                };
                for (line, skip) in old_lines.iter().zip(&skips) {
                    push_line('-', line, *skip, body);
                }
                for (line, skip) in new_lines.iter().zip(&skips) {
                    push_line('+', line, *skip, body);
                }
            }
        }
    }
}

/// `start,len` in unified-diff terms: 1-based, and the line before when the range is empty.
fn hunk_range(start: usize, len: usize) -> String {
    match len {
        0 => format!("{start},0"),
        1 => format!("{}", start + 1),
        _ => format!("{},{len}", start + 1),
    }
}

/// Bytes to leave out at the start of two changed lines so that their first difference shows.
fn aligned_skip(old: &[u8], new: &[u8]) -> usize {
    const BEFORE: usize = 40;
    let common = old.iter().zip(new).take_while(|(x, y)| x == y).count();
    if common < LINE_CHARS - BEFORE {
        return 0;
    }
    let mut skip = common - BEFORE;
    // The bytes before `common` are the same in both lines, so a boundary in one is one in the other.
    while skip > 0 && old[skip] & 0xC0 == 0x80 {
        skip -= 1;
    }
    skip
}

fn push_line(sign: char, line: &[u8], skip: usize, body: &mut Vec<String>) {
    let (content, has_newline) = match line.strip_suffix(b"\n") {
        Some(content) => (content, true),
        None => (line, false),
    };
    body.push(format!("{sign}{}", visible_from(content, skip.min(content.len()))));
    if !has_newline {
        body.push(NO_NEWLINE.to_string());
    }
}

/// A line made readable: tabs as `→`, trailing spaces as `·`, a carriage return as `␍`, other control
/// characters as their Unicode pictures, invalid UTF-8 as `\xNN`; cut to `LINE_CHARS` characters.
#[must_use]
pub fn visible(line: &[u8]) -> String {
    visible_from(line, 0)
}

/// Like `visible`, from byte `skip` on, marked with a leading `…` when that is not the start.
fn visible_from(line: &[u8], skip: usize) -> String {
    let trailing_start = line.len() - line.iter().rev().take_while(|&&b| matches!(b, b' ' | b'\t' | b'\r')).count();
    let shown_bytes = &line[skip..line.len().min(skip + LINE_CHARS * 4)];
    let mut out = String::new();
    if skip > 0 {
        out.push('…');
    }
    let mut chars = 0;
    let mut offset = skip;
    'chunks: for chunk in shown_bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if chars == LINE_CHARS {
                break 'chunks;
            }
            match c {
                ' ' if offset >= trailing_start => out.push('·'),
                '\t' => out.push('→'),
                '\u{0}'..='\u{1f}' => out.push(char::from_u32(0x2400 + c as u32).unwrap_or('?')),
                '\u{7f}' => out.push('␡'),
                _ => out.push(c),
            }
            chars += 1;
            offset += c.len_utf8();
        }
        for byte in chunk.invalid() {
            if chars == LINE_CHARS {
                break 'chunks;
            }
            let _ = write!(out, "\\x{byte:02x}");
            chars += 1;
            offset += 1;
        }
    }
    if offset < line.len() {
        let more = line.len() - offset;
        let _ = write!(out, "… ({more} more byte{})", plural(more));
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_headers_hunk_and_changed_line() {
        let diff = unified(b"1\n2\n3\n", b"1\n5\n3\n", 40);
        assert_eq!(diff, "--- expected\n+++ actual\n@@ -1,3 +1,3 @@\n 1\n-2\n+5\n 3\n");
    }

    #[test]
    fn equal_inputs_say_so() {
        assert_eq!(unified(b"a\n", b"a\n", 40), "--- expected\n+++ actual\n(no differences)\n");
    }

    #[test]
    fn trailing_spaces_tabs_and_carriage_returns_are_visible() {
        let diff = unified(b"a b\n", b"a b  \r\n\tx\n", 40);
        assert!(diff.contains("+a b··␍\n"), "{diff}");
        assert!(diff.contains("+→x\n"), "{diff}");
        assert!(diff.contains("-a b\n"), "{diff}");
    }

    #[test]
    fn missing_final_newline_is_noted() {
        let diff = unified(b"a\nb\n", b"a\nb", 40);
        assert_eq!(diff, "--- expected\n+++ actual\n@@ -1,2 +1,2 @@\n a\n-b\n+b\n\\ No newline at end of file\n");
    }

    #[test]
    fn empty_actual_is_all_deletions() {
        let diff = unified(b"x\ny\n", b"", 40);
        assert_eq!(diff, "--- expected\n+++ actual\n@@ -1,2 +0,0 @@\n-x\n-y\n");
    }

    #[test]
    fn hunks_start_near_the_first_difference_with_right_line_numbers() {
        let expected: String = (1..=1000).map(|i| format!("{i}\n")).collect();
        let actual = expected.replace("\n500\n", "\nfive hundred\n");
        let diff = unified(expected.as_bytes(), actual.as_bytes(), 40);
        assert_eq!(
            diff,
            "--- expected\n+++ actual\n@@ -497,7 +497,7 @@\n 497\n 498\n 499\n-500\n+five hundred\n 501\n 502\n 503\n"
        );
    }

    #[test]
    fn long_diffs_are_cut_with_a_note() {
        let expected: String = (0..100).map(|i| format!("{i}\n")).collect();
        let actual: String = (0..100).map(|i| format!("x{i}\n")).collect();
        let diff = unified(expected.as_bytes(), actual.as_bytes(), 10);
        let lines: Vec<&str> = diff.lines().collect();
        assert_eq!(lines.len(), 2 + 10 + 1);
        assert_eq!(lines[12], "… 191 more diff lines not shown");
    }

    #[test]
    fn long_lines_are_cut() {
        let line = "y".repeat(1000);
        let diff = unified(b"x\n", format!("{line}\n").as_bytes(), 40);
        assert!(diff.contains(&format!("+{}… (800 more bytes)\n", "y".repeat(200))), "{diff}");
    }

    #[test]
    fn a_huge_expected_answer_against_an_empty_output_still_shows_deletions() {
        let expected: String = (0..10_000).map(|i| format!("{i}\n")).collect();
        let diff = unified(expected.as_bytes(), b"", 5);
        assert!(diff.starts_with("--- expected\n+++ actual\n@@ -1,2003 +0,0 @@\n-0\n-1\n-2\n-3\n…"), "{diff}");
    }

    #[test]
    fn long_changed_lines_are_shown_from_near_their_difference() {
        let prefix = "x".repeat(300);
        let diff = unified(format!("{prefix}A\n").as_bytes(), format!("{prefix}B\n").as_bytes(), 40);
        let shown = "x".repeat(40);
        assert!(diff.contains(&format!("\n-…{shown}A\n+…{shown}B\n")), "{diff}");
    }

    #[test]
    fn invalid_utf8_and_control_characters_are_escaped() {
        let diff = unified(b"ok\n", b"\xff\x01ok\n", 40);
        assert!(diff.contains("+\\xff␁ok\n"), "{diff}");
    }

    #[test]
    fn huge_outputs_are_windowed() {
        let expected: String = (0..200_000).map(|i| format!("{i}\n")).collect();
        let actual: String = (0..200_000).map(|i| format!("{}\n", i + 1)).collect();
        let diff = unified(expected.as_bytes(), actual.as_bytes(), 40);
        assert!(diff.starts_with("--- expected\n+++ actual\n@@ -1,"), "{diff}");
        assert!(diff.contains("not diffed"), "{diff}");
    }
}
