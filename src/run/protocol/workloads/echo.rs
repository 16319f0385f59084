//! The `echo` workload: `echo{echo}` -> `echo_ok{echo}`; every successful reply must carry back exactly
//! what was sent.

use serde_json::Value;

use super::{PROBLEMS_SHOWN, Problem, Validity, Workload};
use crate::run::protocol::history::History;
use crate::run::protocol::message::Body;
use crate::run::protocol::rng::Rng;

pub struct Echo;

impl Workload for Echo {
    fn name(&self) -> &'static str {
        "echo"
    }

    fn request(&mut self, _process: u32, rng: &mut Rng) -> Body {
        Body::new("echo").with("echo", format!("Please echo {}", rng.below(128)))
    }

    fn check(&self, history: &History) -> Validity {
        let pairs = history.pairs();
        let mut problems = Vec::new();
        let mut ok = 0usize;
        for pair in &pairs {
            let Some(reply) = pair.ok() else { continue };
            ok += 1;
            let sent = pair.invoke.value.get("echo");
            let kind = reply.value.get("type").and_then(Value::as_str);
            let echoed = reply.value.get("echo");
            let problem = if kind != Some("echo_ok") {
                Some(format!("a reply of type {} instead of echo_ok", kind.unwrap_or("(none)")))
            } else if echoed != sent {
                Some(format!(
                    "sent {} but got back {}",
                    sent.map_or("nothing".into(), Value::to_string),
                    echoed.map_or("nothing".into(), Value::to_string)
                ))
            } else {
                None
            };
            if let Some(problem) = problem {
                let text = format!("c{} via {}: {problem}", pair.invoke.process, pair.invoke.node);
                problems.push(Problem::new(text, pair.indices()));
            }
        }
        let bad = problems.len();
        problems.truncate(PROBLEMS_SHOWN);
        if ok == 0 {
            problems.push(Problem::new("no echo request succeeded", Vec::new()));
        }
        Validity {
            valid: bad == 0 && ok > 0,
            summary: format!("{} requests, {ok} ok, {bad} wrong echoes", pairs.len()),
            problems,
            metrics: [("wrong".to_owned(), bad as f64)].into(),
            stalled: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::protocol::history::OpKind;
    use serde_json::json;
    use std::time::Duration;

    fn history(replies: &[Value]) -> History {
        let mut history = History::default();
        for (i, reply) in replies.iter().enumerate() {
            let at = Duration::from_millis(i as u64);
            history.invoke(1, "echo", json!({"echo": format!("m{i}")}), at, "n0");
            history.complete(1, OpKind::Ok, reply.clone(), None, at);
        }
        history
    }

    #[test]
    fn matching_echoes_are_valid() {
        let validity = Echo.check(&history(&[json!({"type": "echo_ok", "echo": "m0"})]));
        assert!(validity.valid, "{validity:?}");
    }

    #[test]
    fn a_wrong_echo_or_reply_type_is_named() {
        let validity = Echo.check(&history(&[
            json!({"type": "echo_ok", "echo": "m0"}),
            json!({"type": "echo_ok", "echo": "zzz"}),
            json!({"type": "echo", "echo": "m2"}),
        ]));
        assert!(!validity.valid);
        assert_eq!(validity.problems.len(), 2);
        assert_eq!(validity.problems[0].ops, vec![2, 3], "the request and its reply");
        assert_eq!(validity.metrics["wrong"], 2.0);
        assert!(validity.problems[0].text.contains(r#"sent "m1" but got back "zzz""#), "{:?}", validity.problems);
        assert!(validity.problems[1].text.contains("type echo instead of echo_ok"), "{:?}", validity.problems);
    }

    #[test]
    fn no_success_at_all_is_invalid() {
        assert!(!Echo.check(&History::default()).valid);
    }
}
