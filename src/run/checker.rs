//! Running an external checker program (Kattis output-validator protocol) on a case's output.

use std::path::Path;

use crate::check::kattis::CheckerDecision;
use crate::sandbox::RunLimits;

/// Placeholder until the checker runner lands (being written).
pub fn run_checker(
    checker: &Path,
    extra_args: &[String],
    input: &Path,
    answer: &Path,
    output: &[u8],
    limits: RunLimits,
) -> CheckerDecision {
    let _ = (checker, extra_args, input, answer, output, limits);
    CheckerDecision::JudgeError { reason: "external checkers are not available yet".into() }
}
