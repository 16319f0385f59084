//! The `unique-ids` workload: `generate` -> `generate_ok{id}` (any JSON value); every id acknowledged must
//! be distinct from every other, across nodes and through partitions.

use std::collections::HashMap;

use serde_json::Value;

use super::{PROBLEMS_SHOWN, Problem, Validity, Workload};
use crate::run::protocol::history::{History, Op};
use crate::run::protocol::message::Body;
use crate::run::protocol::rng::Rng;

pub struct UniqueIds;

impl Workload for UniqueIds {
    fn name(&self) -> &'static str {
        "unique-ids"
    }

    fn request(&mut self, _process: u32, _rng: &mut Rng) -> Body {
        Body::new("generate")
    }

    fn check(&self, history: &History) -> Validity {
        let pairs = history.pairs();
        let mut first_seen: HashMap<String, (&Op, usize)> = HashMap::new();
        let mut problems = Vec::new();
        let (mut ok, mut duplicated) = (0usize, 0usize);
        for pair in &pairs {
            let Some(reply) = pair.ok() else { continue };
            let reply_index = pair.completion_index.unwrap_or(pair.invoke_index);
            ok += 1;
            let kind = reply.value.get("type").and_then(Value::as_str);
            let Some(id) = reply.value.get("id").filter(|_| kind == Some("generate_ok")) else {
                let text = format!(
                    "c{} via {}: a reply without an id (type {}): {}",
                    reply.process,
                    reply.node,
                    kind.unwrap_or("(none)"),
                    reply.value
                );
                problems.push(Problem::new(text, vec![reply_index]));
                continue;
            };
            let key = id.to_string();
            if let Some(&(earlier, earlier_index)) = first_seen.get(&key) {
                duplicated += 1;
                let text = format!(
                    "id {key} given twice: to c{} by {} at {} ms and to c{} by {} at {} ms",
                    earlier.process,
                    earlier.node,
                    earlier.time_ns / 1_000_000,
                    reply.process,
                    reply.node,
                    reply.time_ns / 1_000_000
                );
                problems.push(Problem::new(text, vec![earlier_index, reply_index]));
            } else {
                first_seen.insert(key, (reply, reply_index));
            }
        }
        let bad = problems.len();
        problems.truncate(PROBLEMS_SHOWN);
        if ok == 0 {
            problems.push(Problem::new("no generate request succeeded", Vec::new()));
        }
        Validity {
            valid: bad == 0 && ok > 0,
            summary: format!("{} requests, {ok} ids acknowledged, {duplicated} duplicated", pairs.len()),
            problems,
            metrics: [("duplicated".to_owned(), duplicated as f64)].into(),
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

    fn history(ids: &[Value]) -> History {
        let mut history = History::default();
        for (i, id) in ids.iter().enumerate() {
            let at = Duration::from_millis(i as u64);
            let process = i as u32 % 2;
            history.invoke(process, "generate", json!({}), at, &format!("n{process}"));
            history.complete(process, OpKind::Ok, json!({"type": "generate_ok", "id": id}), None, at);
        }
        history
    }

    #[test]
    fn distinct_ids_of_any_json_type_are_valid() {
        let validity = UniqueIds.check(&history(&[json!(1), json!("1"), json!([1, 2]), json!({"a": 1})]));
        assert!(validity.valid, "{validity:?}");
        assert_eq!(validity.summary, "4 requests, 4 ids acknowledged, 0 duplicated");
    }

    #[test]
    fn a_duplicate_names_both_clients_and_nodes() {
        let validity = UniqueIds.check(&history(&[json!(7), json!(8), json!(7)]));
        assert!(!validity.valid);
        assert_eq!(validity.problems.len(), 1);
        assert_eq!(validity.problems[0].text, "id 7 given twice: to c0 by n0 at 0 ms and to c0 by n0 at 2 ms");
        assert_eq!(validity.problems[0].ops, vec![1, 5], "the two generate_ok replies");
        assert_eq!(validity.metrics["duplicated"], 1.0);
    }

    #[test]
    fn a_reply_without_an_id_is_a_problem() {
        let mut history = History::default();
        history.invoke(0, "generate", json!({}), Duration::ZERO, "n0");
        history.complete(0, OpKind::Ok, json!({"type": "generate_ok"}), None, Duration::ZERO);
        assert!(!UniqueIds.check(&history).valid);
    }
}
