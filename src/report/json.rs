//! The machine format: the report model as versioned JSON.

use super::ReportSet;

#[must_use]
pub fn render(set: &ReportSet) -> String {
    serde_json::to_string_pretty(set).expect("the report model always serialises") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Mode, SCHEMA_VERSION, Verdict, sample};

    #[test]
    fn report_set_round_trips_through_json() {
        let set = sample::set(vec![sample::report(Mode::Grade), sample::broken_build(Mode::Test)]);
        let text = render(&set);
        let parsed: ReportSet = serde_json::from_str(&text).expect("the JSON it wrote reads back");
        assert_eq!(render(&parsed), text);

        assert_eq!(parsed.schema_version, SCHEMA_VERSION);
        assert_eq!(parsed.reports.len(), 2);
        let alice = &parsed.reports[0];
        assert_eq!(alice.mode, Mode::Grade);
        assert_eq!(alice.groups[1].cases[0].verdict, Verdict::WrongAnswer);
        let feedback = alice.groups[1].cases[0].feedback.as_ref().expect("WA feedback survives");
        assert_eq!(feedback.diff.as_deref(), Some(sample::WA_DIFF));
        assert_eq!(feedback.stderr_tail.as_deref(), Some(sample::WA_STDERR));
        assert!(!parsed.reports[1].build.ok);
    }

    #[test]
    fn verdicts_and_limits_use_their_short_names() {
        let text = render(&sample::set(vec![sample::report(Mode::Test)]));
        assert!(text.contains("\"verdict\": \"TLE\""), "{text}");
        assert!(text.contains("\"limit_hit\": \"cpu-time\""), "{text}");
        assert!(text.contains("\"mode\": \"test\""), "{text}");
    }
}
