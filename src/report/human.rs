//! The report a person reads in a terminal.

use super::Report;

#[derive(Debug, Clone, Copy, Default)]
pub struct HumanOptions {
    /// ANSI colours on.
    pub color: bool,
}

#[must_use]
pub fn render(report: &Report, options: HumanOptions) -> String {
    let _ = options;
    format!("{}: {}/{}\n", report.submission.name, report.score, report.max_score)
}
