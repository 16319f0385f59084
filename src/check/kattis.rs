//! The Kattis output-validator protocol: `checker input answer feedback_dir [args] < output`; exit 42
//! accepts, 43 rejects, anything else is a judge error; judgemessage.txt is shown, score.txt gives
//! partial credit.

use std::io::Read;
use std::path::Path;

/// Exit code of a checker that accepts.
pub const ACCEPT: i32 = 42;
/// Exit code of a checker that rejects.
pub const REJECT: i32 = 43;

/// Bytes of each feedback file kept: a checker that writes megabytes must not flood the report.
const MESSAGE_CAP: usize = 4096;
const SCORE_CAP: usize = 256;

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
    let message = feedback_message(feedback_dir);
    match exit_code {
        Some(ACCEPT) => match read_score(feedback_dir) {
            Ok(fraction) => CheckerDecision::Accept { fraction: fraction.unwrap_or(1.0), message },
            Err(reason) => CheckerDecision::JudgeError { reason },
        },
        Some(REJECT) => CheckerDecision::Reject { message },
        other => {
            let how = match other {
                Some(code) => format!("checker exited with code {code}"),
                None => "checker was killed by a signal".to_string(),
            };
            let said = message.map(|text| format!("; it said: {text}")).unwrap_or_default();
            CheckerDecision::JudgeError {
                reason: format!("{how} (a checker must exit with {ACCEPT} to accept or {REJECT} to reject){said}"),
            }
        }
    }
}

/// judgemessage.txt, then teammessage.txt, whichever are there and not blank.
fn feedback_message(feedback_dir: &Path) -> Option<String> {
    let parts: Vec<String> =
        ["judgemessage.txt", "teammessage.txt"].iter().filter_map(|name| read_capped(feedback_dir, name)).collect();
    (!parts.is_empty()).then(|| parts.join("\n"))
}

/// A feedback file's text, trimmed and cut to `MESSAGE_CAP` bytes; None when absent or blank.
fn read_capped(feedback_dir: &Path, name: &str) -> Option<String> {
    let path = feedback_dir.join(name);
    let file = match std::fs::File::open(&path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return None,
        Err(error) => return Some(format!("(cannot read {name}: {error})")),
    };
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut bytes = Vec::new();
    if let Err(error) = file.take(MESSAGE_CAP as u64).read_to_end(&mut bytes) {
        return Some(format!("(cannot read {name}: {error})"));
    }
    let mut text = String::from_utf8_lossy(&bytes).trim().to_string();
    if size > MESSAGE_CAP as u64 {
        text.push_str(&format!(" … ({} more bytes in {name})", size - MESSAGE_CAP as u64));
    }
    (!text.is_empty()).then_some(text)
}

/// The fraction in score.txt: None without the file; an error naming the file when it holds anything
/// but a number in [0, 1].
fn read_score(feedback_dir: &Path) -> Result<Option<f64>, String> {
    let path = feedback_dir.join("score.txt");
    let file = match std::fs::File::open(&path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(format!("cannot read the checker's score.txt: {error}")),
    };
    let mut bytes = Vec::new();
    file.take(SCORE_CAP as u64)
        .read_to_end(&mut bytes)
        .map_err(|error| format!("cannot read the checker's score.txt: {error}"))?;
    let text = String::from_utf8_lossy(&bytes);
    let text = text.trim();
    match text.parse::<f64>() {
        Ok(fraction) if (0.0..=1.0).contains(&fraction) => Ok(Some(fraction)),
        _ => Err(format!("the checker's score.txt holds {text:?}, not a number between 0 and 1")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feedback(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        dir
    }

    #[test]
    fn exit_42_accepts_with_full_credit() {
        let dir = feedback(&[]);
        assert_eq!(interpret(Some(42), dir.path()), CheckerDecision::Accept { fraction: 1.0, message: None });
    }

    #[test]
    fn exit_43_rejects_with_the_judge_message() {
        let dir = feedback(&[("judgemessage.txt", "wrong sum on line 2\n")]);
        assert_eq!(
            interpret(Some(43), dir.path()),
            CheckerDecision::Reject { message: Some("wrong sum on line 2".to_string()) }
        );
    }

    #[test]
    fn team_message_follows_the_judge_message() {
        let dir = feedback(&[("judgemessage.txt", "judge"), ("teammessage.txt", "team\n")]);
        assert_eq!(
            interpret(Some(43), dir.path()),
            CheckerDecision::Reject { message: Some("judge\nteam".to_string()) }
        );
    }

    #[test]
    fn blank_message_is_none() {
        let dir = feedback(&[("judgemessage.txt", " \n")]);
        assert_eq!(interpret(Some(43), dir.path()), CheckerDecision::Reject { message: None });
    }

    #[test]
    fn other_exit_codes_and_signals_are_judge_errors() {
        let dir = feedback(&[("judgemessage.txt", "crashed reading input")]);
        let CheckerDecision::JudgeError { reason } = interpret(Some(1), dir.path()) else {
            panic!("not a judge error")
        };
        assert!(reason.starts_with("checker exited with code 1"), "{reason}");
        assert!(reason.ends_with("it said: crashed reading input"), "{reason}");
        let CheckerDecision::JudgeError { reason } = interpret(None, dir.path()) else { panic!("not a judge error") };
        assert!(reason.starts_with("checker was killed by a signal"), "{reason}");
        assert!(matches!(interpret(Some(0), dir.path()), CheckerDecision::JudgeError { .. }));
    }

    #[test]
    fn score_file_gives_partial_credit() {
        let dir = feedback(&[("score.txt", "0.25\n")]);
        assert_eq!(interpret(Some(42), dir.path()), CheckerDecision::Accept { fraction: 0.25, message: None });
        let dir = feedback(&[("score.txt", "0")]);
        assert_eq!(interpret(Some(42), dir.path()), CheckerDecision::Accept { fraction: 0.0, message: None });
    }

    #[test]
    fn score_outside_zero_to_one_is_a_judge_error_naming_the_file() {
        for bad in ["1.5", "-0.1", "half", "", "NaN"] {
            let dir = feedback(&[("score.txt", bad)]);
            let CheckerDecision::JudgeError { reason } = interpret(Some(42), dir.path()) else {
                panic!("{bad:?} accepted")
            };
            assert_eq!(reason, format!("the checker's score.txt holds {bad:?}, not a number between 0 and 1"));
        }
    }

    #[test]
    fn huge_messages_are_capped() {
        let dir = feedback(&[("judgemessage.txt", &"x".repeat(10_000))]);
        let CheckerDecision::Reject { message: Some(message) } = interpret(Some(43), dir.path()) else {
            panic!("not a reject with a message")
        };
        assert!(message.starts_with(&"x".repeat(MESSAGE_CAP)));
        assert!(message.ends_with(" … (5904 more bytes in judgemessage.txt)"), "{}", &message[MESSAGE_CAP..]);
    }
}
