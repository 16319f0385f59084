//! `takehome validate <challenge>`: the author's check. The spec loads cleanly, every reference
//! solution passes every case, and every known-bad submission gets the verdict declared for it.

use super::pipeline::{self, Options};
use crate::cli::RunArgs;
use crate::exit_codes;
use crate::report::{CaseResult, GroupResult, Mode, Report, Verdict};
use crate::run::stages::missed_only_figures;
use crate::spec::{self, KnownBad, Origin};

pub fn run(challenge: &str, args: &RunArgs, color: bool) -> anyhow::Result<i32> {
    let loaded = spec::load(challenge)?;
    super::check_sandbox(args)?;
    let seed = super::choose_seed(args.seed);
    let options = Options::new(Mode::Validate, args, seed, &loaded);
    let paint = |ok: bool, text: &str| match (color, ok) {
        (false, _) => text.to_string(),
        (true, true) => format!("\x1b[32m{text}\x1b[0m"),
        (true, false) => format!("\x1b[31m{text}\x1b[0m"),
    };
    super::say_line(format!("validating {} ({}) with seed {seed}", loaded.spec.id, loaded.dir.display()));
    let mut problems = Vec::new();
    if loaded.brief().is_none() {
        problems.push("README.md (the candidate's brief) is missing".to_string());
    }
    if loaded.spec.validate.references.is_empty() {
        problems.push("[validate] lists no reference solutions".to_string());
    }
    for problem in &problems {
        super::say_line(format!("{} {problem}", paint(false, "FAIL")));
    }
    // A bundled copy carries its references but not the known-bad submissions that live beside the
    // challenges in the repository: those are validated from the repository's folder.
    let bundled = loaded.origin == Origin::Bundled;
    let known_bad: Vec<&KnownBad> =
        loaded.spec.validate.known_bad.iter().filter(|bad| !bundled || loaded.path(&bad.path).is_dir()).collect();
    let not_bundled = loaded.spec.validate.known_bad.len() - known_bad.len();
    if not_bundled > 0 {
        super::say_line(format!(
            "note: {not_bundled} known-bad submission(s) are not bundled; validate the challenge's folder to run them"
        ));
    }
    let validate = &loaded.spec.validate;
    let folders =
        validate.references.iter().chain(&validate.correct_references).chain(known_bad.iter().map(|b| &b.path));
    let missing: Vec<String> =
        folders.filter(|f| !loaded.path(f).is_dir()).map(|f| format!("folder `{f}` does not exist")).collect();
    if !missing.is_empty() {
        let spec = loaded.dir.join("challenge.toml");
        return Err(crate::spec::SpecError::Invalid {
            path: spec,
            message: format!("[validate]: {}", missing.join("; ")),
        }
        .into());
    }
    let references = validate.references.iter().map(|r| (r, false));
    for (reference, correct_only) in references.chain(validate.correct_references.iter().map(|r| (r, true))) {
        let report = pipeline::grade(&loaded, &loaded.path(reference), &options);
        let failures = reference_failures(&report, correct_only);
        let ok = failures.is_empty();
        super::say_line(format!(
            "{} reference {reference}{}: {}/{} points, {} cases ({:.1} s)",
            paint(ok, if ok { "ok  " } else { "FAIL" }),
            if correct_only { " (correctness only: may miss figures)" } else { "" },
            report.score,
            report.max_score,
            report.cases().count(),
            report.duration
        ));
        for failure in &failures {
            super::say_line(format!("       {failure}"));
        }
        problems.extend(failures.into_iter().map(|f| format!("reference {reference}: {f}")));
    }
    for bad in known_bad {
        let report = pipeline::grade(&loaded, &loaded.path(&bad.path), &options);
        let verdict = Verdict::parse(&bad.verdict).unwrap_or(Verdict::JudgeError);
        let outcome = known_bad_outcome(bad, verdict, &report);
        let ok = outcome.is_ok();
        let summary = match &outcome {
            Ok(text) | Err(text) => text.clone(),
        };
        super::say_line(format!(
            "{} known-bad {} (expects {}): {summary}",
            paint(ok, if ok { "ok  " } else { "FAIL" }),
            bad.path,
            bad.verdict
        ));
        if let Some(why) = &bad.why {
            super::say_line(format!("       ({why})"));
        }
        if let Err(text) = outcome {
            problems.push(format!("known-bad {}: {text}", bad.path));
        }
    }
    if problems.is_empty() {
        super::say_line(paint(true, "challenge is valid"));
        Ok(exit_codes::PASSED)
    } else {
        super::say_line(paint(false, &format!("{} problem(s) found", problems.len())));
        Ok(exit_codes::FAILED)
    }
}

/// What keeps a reference from passing: no build, or a case that failed (see [`case_failures`]).
fn reference_failures(report: &Report, correct_only: bool) -> Vec<String> {
    let mut failures = Vec::new();
    if !report.build.ok {
        failures.push(format!("does not build: {}", report.build.log_tail.lines().last().unwrap_or("")));
    }
    failures.extend(case_failures(&report.groups, correct_only));
    failures
}

/// Every case not accepted, or for a correctness-only reference, every stage that went wrong other than
/// by missing its figures (which does not skip the stages after it).
fn case_failures(groups: &[GroupResult], correct_only: bool) -> Vec<String> {
    let mut failures = Vec::new();
    for group in groups {
        for case in &group.cases {
            let excused = correct_only && missed_only_figures(case);
            if case.verdict != Verdict::Accepted && !excused {
                failures.push(format!("{}: {} {}", label(group, case), case.verdict, case.reason));
            }
        }
    }
    failures
}

/// `group/case`, or just the name when group and case are one (a protocol stage).
fn label(group: &GroupResult, case: &CaseResult) -> String {
    if group.name == case.name { case.name.clone() } else { format!("{}/{}", group.name, case.name) }
}

fn known_bad_outcome(bad: &KnownBad, verdict: Verdict, report: &Report) -> Result<String, String> {
    let judge_errors: Vec<String> = report
        .groups
        .iter()
        .flat_map(|g| g.cases.iter().map(move |c| (g, c)))
        .filter(|(_, c)| c.verdict == Verdict::JudgeError)
        .map(|(g, c)| format!("{}: {}", label(g, c), c.reason))
        .collect();
    if !judge_errors.is_empty() && verdict != Verdict::JudgeError {
        return Err(format!("judge error: {}", judge_errors.join("; ")));
    }
    if verdict == Verdict::CompileError {
        return if report.build.ok { Err("it built".into()) } else { Ok("CE as declared".into()) };
    }
    let matching: Vec<String> = report
        .groups
        .iter()
        .flat_map(|g| g.cases.iter().map(move |c| (g, c)))
        .filter(|(g, c)| match &bad.case {
            Some(name) => &c.name == name || format!("{}/{}", g.name, c.name) == *name,
            None => true,
        })
        .filter(|(_, c)| c.verdict == verdict)
        .map(|(g, c)| label(g, c))
        .collect();
    if let Some(first) = matching.first() {
        return Ok(format!(
            "{verdict} on {first}{}",
            if matching.len() > 1 { format!(" and {} more", matching.len() - 1) } else { String::new() }
        ));
    }
    let seen: Vec<String> = report
        .groups
        .iter()
        .flat_map(|g| g.cases.iter().map(move |c| (g, c)))
        .filter(|(g, c)| {
            bad.case.as_ref().is_none_or(|name| &c.name == name || &format!("{}/{}", g.name, c.name) == name)
        })
        .map(|(g, c)| format!("{} {}", label(g, c), c.verdict))
        .collect();
    if seen.is_empty() {
        return Err(match &bad.case {
            Some(name) => format!("no case named `{name}` was run"),
            None => "no case was run".into(),
        });
    }
    Err(format!("never got {verdict}; got {}", seen.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::stages::{stage_case, stage_group};
    use crate::spec::Stage;

    fn stage(name: &str, verdict: Verdict, reason: &str) -> GroupResult {
        let stage: Stage = toml::from_str(&format!("name = \"{name}\"\npoints = 10")).expect("stage");
        stage_group(&stage, stage_case(&stage, verdict, reason.to_owned()))
    }

    #[test]
    fn a_correctness_only_reference_may_miss_figures_but_nothing_else() {
        let missed = vec![
            stage("concurrent", Verdict::Accepted, ""),
            stage("scaling-16", Verdict::WrongAnswer, "correct, but throughput was 900, must be at least 6000"),
            stage("scaling-64", Verdict::WrongAnswer, "correct, but throughput was 900, must be at least 9000"),
        ];
        assert!(case_failures(&missed, true).is_empty());
        assert_eq!(case_failures(&missed, false).len(), 2);
        let wrong = vec![
            stage("concurrent", Verdict::WrongAnswer, "lost update"),
            stage("scaling-16", Verdict::Skipped, "stage `concurrent` failed"),
        ];
        assert_eq!(
            case_failures(&wrong, true),
            vec!["concurrent: WA lost update".to_owned(), "scaling-16: SKIPPED stage `concurrent` failed".to_owned()]
        );
        let stalled = vec![stage("opposing", Verdict::TimeLimit, "deadlock or stall")];
        assert_eq!(case_failures(&stalled, true).len(), 1);
    }
}
