//! The machine format: the report model as versioned JSON.

use super::ReportSet;

#[must_use]
pub fn render(set: &ReportSet) -> String {
    serde_json::to_string_pretty(set).expect("the report model always serialises") + "\n"
}
