//! The `g-counter` workload (Maelstrom's grow-only counter): `add{delta}` (a non-negative integer) ->
//! `add_ok`; `read` -> `read_ok{value}`. After the load, healing and settling, every node gets a final read.
//!
//! The check: each node's final read lies within [sum of acknowledged adds, that sum plus every indefinite
//! add] (adds that failed definitely did not happen); a read during the load lies within [0, sum of every
//! add attempted].

use serde_json::Value;

use super::{Problem, Problems, Validity, Workload};
use crate::run::protocol::history::{History, OpKind, Pair};
use crate::run::protocol::message::Body;
use crate::run::protocol::rng::Rng;

/// Deltas are drawn from 0 ..= this.
const MAX_DELTA: u64 = 4;

#[derive(Default)]
pub struct GCounter;

impl Workload for GCounter {
    fn name(&self) -> &'static str {
        "g-counter"
    }

    fn request(&mut self, _process: u32, rng: &mut Rng) -> Body {
        if rng.chance(0.5) { Body::new("add").with("delta", rng.below(MAX_DELTA + 1)) } else { Body::new("read") }
    }

    fn final_requests(&mut self, node_ids: &[String]) -> Vec<(usize, Body)> {
        (0..node_ids.len()).map(|i| (i, Body::new("read"))).collect()
    }

    fn check(&self, history: &History) -> Validity {
        check(history)
    }
}

fn check(history: &History) -> Validity {
    let pairs = history.pairs();
    let (mut acknowledged, mut indefinite, mut attempted) = (0u64, 0u64, 0u64);
    for pair in pairs.iter().filter(|pair| pair.invoke.f == "add") {
        let Some(delta) = pair.invoke.value.get("delta").and_then(Value::as_u64) else { continue };
        attempted += delta;
        match pair.completion.map(|done| done.kind) {
            Some(OpKind::Ok) => acknowledged += delta,
            Some(OpKind::Fail) => {}
            _ => indefinite += delta,
        }
    }
    let possible = acknowledged + indefinite;
    let mut problems = Problems::default();
    let (mut bad_reads, mut bad_finals) = (0usize, 0usize);
    let mut final_nodes: Vec<&str> = Vec::new();
    let mut final_values: Vec<u64> = Vec::new();
    // Latest first, so each node's last final read is the one judged.
    for pair in pairs.iter().rev().filter(|pair| pair.invoke.f == "read") {
        let node = pair.invoke.node.as_str();
        if pair.is_final() {
            if final_nodes.contains(&node) {
                continue;
            }
            final_nodes.push(node);
            let Some(value) = read_value(pair) else {
                bad_finals += 1;
                problems.add(|| Problem::new(describe_failed(pair, "final read"), pair.indices()));
                continue;
            };
            final_values.push(value);
            if !(acknowledged..=possible).contains(&value) {
                bad_finals += 1;
                problems.add(|| {
                    let text = format!(
                        "the final read on {node} at {} ms returned {value}, but acknowledged adds sum to \
                         {acknowledged}{}",
                        pair.invoke.time_ns / 1_000_000,
                        if indefinite > 0 {
                            format!(" and indefinite ones to {indefinite} more (possible: {acknowledged}..={possible})")
                        } else {
                            " and no add was indefinite".to_owned()
                        }
                    );
                    Problem::new(text, pair.indices())
                });
            }
        } else if let Some(done) = pair.ok() {
            match done.value.get("value").and_then(Value::as_u64) {
                Some(value) if value <= attempted => {}
                _ => {
                    bad_reads += 1;
                    problems.add(|| {
                        let text = format!(
                            "the read on {node} at {} ms returned {}, outside 0..={attempted} (every add attempted)",
                            done.time_ns / 1_000_000,
                            done.value.get("value").map_or_else(|| "no value".to_owned(), Value::to_string)
                        );
                        Problem::new(text, pair.indices())
                    });
                }
            }
        }
    }
    if final_nodes.is_empty() {
        problems.add(|| Problem::new("no final reads were made: nothing shows what each node ended with", Vec::new()));
    }
    let metrics = [
        ("acknowledged-sum", acknowledged as f64),
        ("possible-sum", possible as f64),
        ("bad-final-reads", bad_finals as f64),
        ("bad-reads", bad_reads as f64),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect();
    final_values.reverse();
    Validity {
        valid: problems.count == 0,
        summary: format!(
            "adds: {acknowledged} acknowledged, {indefinite} indefinite, {attempted} attempted; final reads {final_values:?} \
             (possible {acknowledged}..={possible})"
        ),
        problems: problems.shown,
        metrics,
        stalled: false,
    }
}

/// The value of an ok read, if it is one.
fn read_value(pair: &Pair<'_>) -> Option<u64> {
    pair.ok()?.value.get("value")?.as_u64()
}

fn describe_failed(pair: &Pair<'_>, what: &str) -> String {
    let node = &pair.invoke.node;
    match pair.completion {
        None => format!("the {what} on {node} was never answered"),
        Some(done) if done.kind == OpKind::Ok => {
            format!("the {what} on {node} returned no non-negative integer value: {}", done.value)
        }
        Some(done) => {
            let (code, text) = done.error.clone().unwrap_or((0, "an error".to_owned()));
            format!("the {what} on {node} failed: {text} ({code})")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::protocol::history::OpPhase;
    use serde_json::json;
    use std::time::Duration;

    fn at(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn add(history: &mut History, process: u32, delta: u64, kind: OpKind) {
        history.invoke(process, "add", json!({"delta": delta}), at(1), "n0");
        let error = (kind != OpKind::Ok).then(|| (0, "timeout".to_owned()));
        history.complete(process, kind, json!({"type": "add_ok"}), error, at(2));
    }

    fn read(history: &mut History, process: u32, node: &str, value: Value, phase: OpPhase) {
        history.invoke_in(phase, process, "read", json!({}), at(3), node);
        history.complete(process, OpKind::Ok, json!({"type": "read_ok", "value": value}), None, at(4));
    }

    #[test]
    fn final_reads_between_acknowledged_and_possible_sums_are_valid() {
        let mut history = History::default();
        add(&mut history, 1, 3, OpKind::Ok);
        add(&mut history, 1, 4, OpKind::Info);
        add(&mut history, 1, 2, OpKind::Fail);
        read(&mut history, 1, "n0", json!(9), OpPhase::Load);
        read(&mut history, 10, "n0", json!(3), OpPhase::Final);
        read(&mut history, 11, "n1", json!(7), OpPhase::Final);
        let validity = check(&history);
        assert!(validity.valid, "{validity:?}");
        assert_eq!((validity.metrics["acknowledged-sum"], validity.metrics["possible-sum"]), (3.0, 7.0));
    }

    #[test]
    fn a_final_read_that_lost_an_add_shows_the_read_and_the_sums() {
        let mut history = History::default();
        add(&mut history, 1, 3, OpKind::Ok);
        add(&mut history, 1, 4, OpKind::Ok);
        read(&mut history, 10, "n0", json!(7), OpPhase::Final);
        read(&mut history, 11, "n1", json!(3), OpPhase::Final);
        let validity = check(&history);
        assert!(!validity.valid);
        assert_eq!(validity.problems.len(), 1);
        assert_eq!(
            validity.problems[0].text,
            "the final read on n1 at 3 ms returned 3, but acknowledged adds sum to 7 and no add was indefinite"
        );
        assert_eq!(validity.problems[0].ops, vec![6, 7]);
        assert_eq!(validity.metrics["bad-final-reads"], 1.0);
    }

    #[test]
    fn a_read_during_the_load_above_every_attempted_add_is_a_problem() {
        let mut history = History::default();
        add(&mut history, 1, 3, OpKind::Ok);
        read(&mut history, 1, "n0", json!(50), OpPhase::Load);
        read(&mut history, 10, "n0", json!(3), OpPhase::Final);
        let validity = check(&history);
        assert!(!validity.valid);
        assert_eq!(validity.metrics["bad-reads"], 1.0);
        assert!(validity.problems[0].text.contains("outside 0..=3"), "{:?}", validity.problems);
    }

    #[test]
    fn a_failed_final_read_or_none_at_all_is_invalid() {
        let mut history = History::default();
        add(&mut history, 1, 3, OpKind::Ok);
        assert!(!check(&history).valid, "no final reads");
        history.invoke_in(OpPhase::Final, 10, "read", json!({}), at(5), "n0");
        history.complete(10, OpKind::Info, Value::Null, Some((0, "no reply within 5 s".into())), at(6));
        let validity = check(&history);
        assert!(!validity.valid);
        assert_eq!(validity.problems[0].text, "the final read on n0 failed: no reply within 5 s (0)");
    }

    #[test]
    fn requests_are_non_negative_adds_and_reads() {
        let mut workload = GCounter;
        let mut rng = Rng::stream(1, &[]);
        let bodies: Vec<Body> = (0..200).map(|_| workload.request(1, &mut rng)).collect();
        let deltas: Vec<u64> = bodies.iter().filter_map(|b| b.field("delta").and_then(Value::as_u64)).collect();
        assert!(deltas.iter().all(|&d| d <= MAX_DELTA) && deltas.len() > 50);
        assert!(bodies.iter().any(|b| b.kind == "read"));
    }
}
