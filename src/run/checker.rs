//! Running an external checker program (Kattis output-validator protocol) on a case's output.
//!
//! Checkers come with the challenge and are trusted: they run with the grader's privileges, under
//! the given limits, in a fresh feedback folder that is also their working folder.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::check::kattis::{self, CheckerDecision};
use crate::sandbox::{self, Input, RunLimits, RunPlan, Status};

/// Bytes of the checker's stderr quoted in a judge error.
const STDERR_SHOWN: usize = 2048;

/// Runs `checker input answer feedback_dir extra_args...` with `output` on stdin and interprets its
/// exit code and feedback files. A `.py` checker is run with `python3`.
pub fn run_checker(
    checker: &Path,
    extra_args: &[String],
    input: &Path,
    answer: &Path,
    output: &[u8],
    limits: RunLimits,
) -> CheckerDecision {
    let judge_error = |reason: String| CheckerDecision::JudgeError { reason };
    if !checker.is_file() {
        return judge_error(format!("checker {} does not exist", checker.display()));
    }
    let feedback = match crate::scratch::folder("feedback") {
        Ok(dir) => dir,
        Err(error) => return judge_error(format!("cannot make a feedback folder for the checker: {error}")),
    };
    // The checker runs in the feedback folder, so relative paths must be made absolute first.
    let (checker, input, answer) = match (absolute(checker), absolute(input), absolute(answer)) {
        (Ok(checker), Ok(input), Ok(answer)) => (checker, input, answer),
        (Err(error), ..) | (_, Err(error), _) | (.., Err(error)) => {
            return judge_error(format!("cannot resolve the checker's paths: {error}"));
        }
    };
    let (program, mut args): (OsString, Vec<OsString>) = if checker.extension().is_some_and(|ext| ext == "py") {
        ("python3".into(), vec![checker.clone().into()])
    } else {
        (checker.clone().into(), Vec::new())
    };
    args.extend([input.into(), answer.into(), feedback.path().into()]);
    args.extend(extra_args.iter().map(OsString::from));
    let plan = RunPlan {
        program,
        args,
        cwd: feedback.path().to_path_buf(),
        env: vec![("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into()), ("LANG".into(), "C.UTF-8".into())],
        stdin: Input::Bytes(output.to_vec()),
        limits,
        drop_privileges: false,
        confine: None,
    };
    let outcome = match sandbox::run(&plan) {
        Ok(outcome) => outcome,
        Err(error) => return judge_error(format!("cannot run checker {}: {error}", checker.display())),
    };
    if let Some(limit) = outcome.limit_hit {
        return judge_error(format!(
            "checker {} was stopped: {} limit exceeded{}",
            checker.display(),
            limit_name(limit),
            stderr_note(&outcome.stderr)
        ));
    }
    let exit_code = match outcome.status {
        Status::Exited(code) => Some(code),
        Status::Signaled(_) => None,
    };
    match kattis::interpret(exit_code, feedback.path()) {
        CheckerDecision::JudgeError { reason } => {
            let reason = match outcome.status {
                Status::Signaled(_) => reason.replacen("killed by a signal", &outcome.status.to_string(), 1),
                Status::Exited(_) => reason,
            };
            judge_error(format!("{reason}{}", stderr_note(&outcome.stderr)))
        }
        decision => decision,
    }
}

fn absolute(path: &Path) -> std::io::Result<PathBuf> {
    std::path::absolute(path)
}

fn limit_name(limit: crate::report::LimitHit) -> &'static str {
    use crate::report::LimitHit;
    match limit {
        LimitHit::CpuTime => "CPU time",
        LimitHit::WallTime => "wall time",
        LimitHit::Memory => "memory",
        LimitHit::Output => "output",
    }
}

/// The end of the checker's stderr, for a judge error ("" when it printed nothing).
fn stderr_note(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let text = text.trim();
    if text.is_empty() {
        return String::new();
    }
    let start = text.len().saturating_sub(STDERR_SHOWN);
    let start = (start..text.len()).find(|&i| text.is_char_boundary(i)).unwrap_or(text.len());
    let cut = if start > 0 { "…" } else { "" };
    format!("; its stderr ends: {cut}{}", &text[start..])
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const EQUALITY_CHECKER: &str = r#"
import sys, os
inp, ans, feedback = sys.argv[1], sys.argv[2], sys.argv[3]
output = sys.stdin.read()
expected = open(ans).read()
if output.split() == expected.split():
    sys.exit(42)
with open(os.path.join(feedback, "judgemessage.txt"), "w") as f:
    f.write("expected %r, got %r" % (expected.strip(), output.strip()))
sys.exit(43)
"#;

    const HALF_CHECKER: &str = r#"
import sys, os
sys.stdin.read()
with open(os.path.join(sys.argv[3], "score.txt"), "w") as f:
    f.write("0.5\n")
sys.exit(42)
"#;

    struct Setup {
        dir: tempfile::TempDir,
    }

    impl Setup {
        fn new(checker: &str) -> Setup {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("checker.py"), checker).unwrap();
            std::fs::write(dir.path().join("input.txt"), "1 2\n").unwrap();
            std::fs::write(dir.path().join("answer.txt"), "3\n").unwrap();
            Setup { dir }
        }

        fn run(&self, output: &[u8], extra: &[String]) -> CheckerDecision {
            let path = |name: &str| self.dir.path().join(name);
            let limits = RunLimits { wall_time: Duration::from_secs(20), ..RunLimits::default() };
            run_checker(&path("checker.py"), extra, &path("input.txt"), &path("answer.txt"), output, limits)
        }
    }

    #[test]
    fn python_checker_accepts_the_right_output() {
        let setup = Setup::new(EQUALITY_CHECKER);
        assert_eq!(setup.run(b"3\n", &[]), CheckerDecision::Accept { fraction: 1.0, message: None });
    }

    #[test]
    fn python_checker_rejects_with_its_judge_message() {
        let setup = Setup::new(EQUALITY_CHECKER);
        assert_eq!(
            setup.run(b"4\n", &[]),
            CheckerDecision::Reject { message: Some("expected '3', got '4'".to_string()) }
        );
    }

    #[test]
    fn score_file_gives_half_credit() {
        let setup = Setup::new(HALF_CHECKER);
        assert_eq!(setup.run(b"anything", &[]), CheckerDecision::Accept { fraction: 0.5, message: None });
    }

    #[test]
    fn extra_arguments_follow_the_standard_three() {
        let setup = Setup::new("import sys\nsys.exit(42 if sys.argv[4:] == ['--strict', 'x'] else 43)\n");
        let extra = ["--strict".to_string(), "x".to_string()];
        assert_eq!(setup.run(b"", &extra), CheckerDecision::Accept { fraction: 1.0, message: None });
    }

    #[test]
    fn crashing_checker_is_a_judge_error_with_its_stderr() {
        let setup = Setup::new("raise SystemExit('cannot parse the answer')\n");
        let CheckerDecision::JudgeError { reason } = setup.run(b"3\n", &[]) else { panic!("not a judge error") };
        assert!(reason.starts_with("checker exited with code 1"), "{reason}");
        assert!(reason.ends_with("its stderr ends: cannot parse the answer"), "{reason}");
    }

    #[test]
    fn missing_checker_is_a_judge_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.py");
        let decision = run_checker(&missing, &[], &missing, &missing, b"", RunLimits::default());
        assert_eq!(
            decision,
            CheckerDecision::JudgeError { reason: format!("checker {} does not exist", missing.display()) }
        );
    }

    #[test]
    fn slow_checker_is_a_judge_error() {
        let setup = Setup::new("import time\ntime.sleep(30)\n");
        let path = |name: &str| setup.dir.path().join(name);
        let limits = RunLimits { wall_time: Duration::from_millis(500), ..RunLimits::default() };
        let decision = run_checker(&path("checker.py"), &[], &path("input.txt"), &path("answer.txt"), b"", limits);
        let CheckerDecision::JudgeError { reason } = decision else { panic!("not a judge error") };
        assert!(reason.contains("wall time limit exceeded"), "{reason}");
    }
}
