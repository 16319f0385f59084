//! Markdown for pull-request comments and CI job summaries.

use super::ReportSet;

#[must_use]
pub fn render(set: &ReportSet) -> String {
    let _ = set;
    String::new()
}
