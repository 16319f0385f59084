//! JUnit XML for CI test views (via quick-junit): a suite per submission and group, a test case per case.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestSuite};

use super::human::format_points;
use super::{CaseResult, GroupResult, Mode, Report, ReportSet, Verdict};

#[must_use]
pub fn render(set: &ReportSet) -> String {
    let mut junit = quick_junit::Report::new("takehome");
    for report in &set.reports {
        if report.build.ok {
            for group in &report.groups {
                junit.add_test_suite(group_suite(report, group));
            }
        } else {
            junit.add_test_suite(build_suite(report));
        }
    }
    junit.set_time(seconds(set.reports.iter().map(|r| r.duration).sum()));
    // quick-junit strips characters XML cannot hold, so only a failing writer could fail, and a String never does.
    junit.to_string().expect("JUnit XML written to memory")
}

fn group_suite(report: &Report, group: &GroupResult) -> TestSuite {
    let mut suite = TestSuite::new(format!("{}/{}", report.submission.name, group.name));
    suite.add_properties(report_properties(report));
    suite.add_property(("group_points", format_points(group.points).as_str()));
    suite.add_property(("group_max_points", format_points(group.max_points).as_str()));
    if let (Some(reason), true) = (&group.skipped_because, group.cases.is_empty()) {
        // Keep a trace of the group in CI even though it has no case to list.
        let mut status = TestCaseStatus::skipped();
        status.set_message(reason.as_str());
        let mut case = TestCase::new(group.name.as_str(), status);
        case.set_classname(classname(report));
        suite.add_test_case(case);
    }
    for case in &group.cases {
        suite.add_test_case(test_case(report, group, case));
    }
    suite.set_time(seconds(group.cases.iter().map(|c| c.wall_time).sum()));
    suite
}

fn test_case(report: &Report, group: &GroupResult, case: &CaseResult) -> TestCase {
    let reason = if case.reason.trim().is_empty() { case.verdict.describe() } else { case.reason.as_str() };
    let may_show_feedback = !(case.hidden && report.mode == Mode::Test);
    let feedback = case.feedback.as_ref().filter(|_| may_show_feedback);
    let status = match case.verdict {
        Verdict::Accepted => TestCaseStatus::success(),
        Verdict::Skipped => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(group.skipped_because.as_deref().unwrap_or(reason));
            status
        }
        verdict => {
            let kind = if verdict == Verdict::JudgeError { NonSuccessKind::Error } else { NonSuccessKind::Failure };
            let mut status = TestCaseStatus::non_success(kind);
            status.set_type(verdict.code()).set_message(reason);
            if let Some(feedback) = feedback {
                let description = describe_feedback(feedback);
                if !description.is_empty() {
                    status.set_description(description);
                }
            }
            status
        }
    };
    let mut test_case = TestCase::new(case.name.as_str(), status);
    test_case.set_classname(classname(report)).set_time(seconds(case.wall_time));
    if let Some(stderr) = feedback.and_then(|f| f.stderr_tail.as_deref()) {
        test_case.set_system_err(stderr);
    }
    if let Some(about) = &case.about {
        test_case.add_property(("about", about.as_str()));
    }
    if let Some(seed) = case.seed {
        test_case.add_property(("seed", seed.to_string().as_str()));
    }
    test_case
}

/// First difference, then the checker's word, the diff and the input: what a CI log reader needs first.
fn describe_feedback(feedback: &super::Feedback) -> String {
    let mut sections = Vec::new();
    if let Some(first) = &feedback.first_difference {
        sections.push(first.trim_end().to_string());
    }
    if let Some(message) = &feedback.checker_message {
        sections.push(format!("checker said:\n{}", message.trim_end()));
    }
    if let Some(diff) = &feedback.diff {
        sections.push(diff.trim_end().to_string());
    }
    if let Some(input) = &feedback.input_head {
        sections.push(format!("input (start):\n{}", input.trim_end()));
    }
    sections.join("\n\n")
}

fn build_suite(report: &Report) -> TestSuite {
    let mut suite = TestSuite::new(report.submission.name.as_str());
    suite.add_properties(report_properties(report));
    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
    status.set_type(Verdict::CompileError.code()).set_message("the build failed");
    let mut log: String = report.build.commands.iter().map(|command| format!("$ {command}\n")).collect();
    log.push_str(&report.build.log_tail);
    if !log.trim().is_empty() {
        status.set_description(log);
    }
    let mut case = TestCase::new("build", status);
    case.set_classname(classname(report)).set_time(seconds(report.build.duration));
    suite.add_test_case(case);
    suite.set_time(seconds(report.build.duration));
    suite
}

fn report_properties(report: &Report) -> Vec<Property> {
    vec![
        Property::new("score", format_points(report.score)),
        Property::new("max_score", format_points(report.max_score)),
        Property::new("seed", report.seed.to_string()),
    ]
}

fn classname(report: &Report) -> String {
    format!("{}.{}", report.challenge.id, report.submission.name)
}

fn seconds(value: f64) -> Duration {
    Duration::try_from_secs_f64(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use quick_junit::TestCaseStatus;
    use quick_xml::Reader;
    use quick_xml::events::Event;

    use super::*;
    use crate::report::sample;

    fn sample_set(mode: Mode) -> ReportSet {
        let mut alice = sample::report(mode);
        let mut judge_error = alice.groups[0].cases[0].clone();
        judge_error.name = "checker-crash".to_string();
        judge_error.verdict = Verdict::JudgeError;
        judge_error.reason = "the checker exited with code 2".to_string();
        alice.groups[0].cases.push(judge_error);
        sample::set(vec![alice, sample::broken_build(mode)])
    }

    /// Counts elements by name with a plain XML reader, independent of quick-junit's own parser.
    fn count_elements(xml: &str, name: &str) -> usize {
        let mut reader = Reader::from_str(xml);
        let mut count = 0;
        loop {
            match reader.read_event() {
                Ok(Event::Start(e) | Event::Empty(e)) if e.name().as_ref() == name.as_bytes() => count += 1,
                Ok(Event::Eof) => return count,
                Ok(_) => {}
                Err(error) => panic!("invalid XML at {}: {error}\n{xml}", reader.buffer_position()),
            }
        }
    }

    #[test]
    fn xml_counts_tests_failures_errors_and_skips() {
        let xml = render(&sample_set(Mode::Grade));
        // alice: 3 + 2 + 1 + 1 cases; bob: one build case.
        assert_eq!(count_elements(&xml, "testcase"), 8);
        assert_eq!(count_elements(&xml, "failure"), 4, "WA, TLE, RE and bob's build");
        assert_eq!(count_elements(&xml, "error"), 1);
        assert_eq!(count_elements(&xml, "skipped"), 1);

        let parsed = quick_junit::Report::deserialize_from_str(&xml).expect("valid JUnit");
        assert_eq!((parsed.tests, parsed.failures, parsed.errors, parsed.skipped), (8, 4, 1, 1));
        let names: Vec<&str> = parsed.test_suites.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["alice/basic", "alice/links", "alice/hidden-large", "alice/extras", "bob"]);
    }

    #[test]
    fn wrong_answer_is_a_failure_with_reason_difference_and_diff() {
        let parsed = quick_junit::Report::deserialize_from_str(&render(&sample_set(Mode::Grade))).expect("valid JUnit");
        let links = &parsed.test_suites[1];
        let case = &links.test_cases[0];
        assert_eq!(case.name.as_str(), "hard-links");
        assert_eq!(case.classname.as_ref().map(|c| c.as_str()), Some("dedup.alice"));
        assert_eq!(case.time, Some(Duration::from_millis(30)));
        let TestCaseStatus::NonSuccess { kind, message, ty, description, .. } = &case.status else {
            panic!("expected a failure, got {:?}", case.status);
        };
        assert_eq!(*kind, NonSuccessKind::Failure);
        assert_eq!(ty.as_ref().map(|t| t.as_str()), Some("WA"));
        assert_eq!(message.as_ref().map(|m| m.as_str()), Some("line 2 differs"));
        let description = description.as_ref().map(|d| d.as_str()).unwrap_or_default();
        assert!(description.starts_with(sample::WA_FIRST_DIFFERENCE), "{description}");
        assert!(description.contains(sample::WA_DIFF.trim_end()), "{description}");
        let stderr = case.system_err.as_ref().map(|s| s.as_str()).unwrap_or_default();
        assert_eq!(stderr, "warning: red text from the program", "escape codes stripped");

        let properties: Vec<(&str, &str)> =
            links.properties.iter().map(|p| (p.name.as_str(), p.value.as_str())).collect();
        assert!(properties.contains(&("score", "10")), "{properties:?}");
        assert!(properties.contains(&("max_score", "45")), "{properties:?}");
        assert!(properties.contains(&("seed", "1234")), "{properties:?}");
    }

    #[test]
    fn time_limit_and_judge_error_carry_their_codes() {
        let parsed = quick_junit::Report::deserialize_from_str(&render(&sample_set(Mode::Grade))).expect("valid JUnit");
        let TestCaseStatus::NonSuccess { ty, message, .. } = &parsed.test_suites[1].test_cases[1].status else {
            panic!("TLE must fail");
        };
        assert_eq!(ty.as_ref().map(|t| t.as_str()), Some("TLE"));
        assert_eq!(message.as_ref().map(|m| m.as_str()), Some("CPU time limit 2 s exceeded"));
        let TestCaseStatus::NonSuccess { kind, ty, .. } = &parsed.test_suites[0].test_cases[2].status else {
            panic!("JE must be an error");
        };
        assert_eq!((*kind, ty.as_ref().map(|t| t.as_str())), (NonSuccessKind::Error, Some("JE")));
    }

    #[test]
    fn skipped_case_says_which_group_it_waited_for() {
        let parsed = quick_junit::Report::deserialize_from_str(&render(&sample_set(Mode::Grade))).expect("valid JUnit");
        let TestCaseStatus::Skipped { message, .. } = &parsed.test_suites[3].test_cases[0].status else {
            panic!("expected a skip");
        };
        assert_eq!(message.as_ref().map(|m| m.as_str()), Some("requires links"));
    }

    #[test]
    fn failed_build_is_one_failing_build_case_with_the_log() {
        let parsed = quick_junit::Report::deserialize_from_str(&render(&sample_set(Mode::Grade))).expect("valid JUnit");
        let bob = &parsed.test_suites[4];
        assert_eq!(bob.test_cases.len(), 1);
        assert_eq!(bob.test_cases[0].name.as_str(), "build");
        let TestCaseStatus::NonSuccess { ty, description, .. } = &bob.test_cases[0].status else {
            panic!("the build must fail");
        };
        assert_eq!(ty.as_ref().map(|t| t.as_str()), Some("CE"));
        let log = description.as_ref().map(|d| d.as_str()).unwrap_or_default();
        assert!(log.starts_with("$ cargo build --release\nerror[E0425]"), "{log}");
    }

    #[test]
    fn hidden_case_feedback_is_absent_in_test_mode() {
        let xml = render(&sample_set(Mode::Test));
        assert!(!xml.contains(sample::HIDDEN_SECRET), "{xml}");
        assert!(xml.contains("killed by SIGSEGV"), "{xml}");
        assert!(render(&sample_set(Mode::Grade)).contains(sample::HIDDEN_SECRET));
    }

    #[test]
    fn skipped_group_without_cases_still_appears() {
        let mut report = sample::report(Mode::Grade);
        report.groups[3].cases.clear();
        let parsed =
            quick_junit::Report::deserialize_from_str(&render(&sample::set(vec![report]))).expect("valid JUnit");
        let extras = &parsed.test_suites[3];
        assert_eq!((extras.tests, extras.skipped), (1, 1));
    }
}
