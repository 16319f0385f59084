//! The `lin-kv` workload (Maelstrom's linearizable key-value store): clients send `read{key}` ->
//! `read_ok{value}`, `write{key, value}` -> `write_ok` and `cas{key, from, to}` -> `cas_ok` over a few
//! integer keys holding small integer values, to the node each is bound to. A read or cas of an absent key
//! is refused with error 20 (key does not exist), a cas whose `from` does not match with error 22
//! (precondition failed).
//!
//! The check: every reply has the right shape, then the history is searched for a linearization key by
//! key with the register model (a read of an absent key reads nil; a refused cas did not apply; a timeout
//! or an indefinite error may or may not have taken effect). A search that runs out of its time budget is
//! not a failure, and the summary says so.
//!
//! Options (`[stage.options]`): `keys` (5), the number of keys the requests spread over.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use super::options::OptionReader;
use super::{Problem, Problems, Validity, Workload};
use crate::check::linearizability::register::{RegisterInput, RegisterModel, RegisterOp, RegisterOutput};
use crate::check::linearizability::{self, CheckOptions, Operation, Verdict};
use crate::run::protocol::history::{History, OpKind, Pair};
use crate::run::protocol::message::{Body, codes};
use crate::run::protocol::rng::Rng;

/// How long the linearizability search may take before its answer is "unknown".
const SEARCH_BUDGET: Duration = Duration::from_secs(5);
/// Values written and compared are drawn from 0 ..= this: few values make a cas match often.
const MAX_VALUE: u64 = 4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinKv {
    keys: u64,
}

impl Default for LinKv {
    fn default() -> Self {
        LinKv { keys: 5 }
    }
}

impl LinKv {
    /// The workload a stage's options describe.
    pub fn from_options(options: &toml::Table) -> Result<LinKv, String> {
        let mut reader = OptionReader::new(options, "lin-kv");
        let keys = reader.integer("keys", LinKv::default().keys, 1..=100_000)?;
        reader.finish()?;
        Ok(LinKv { keys })
    }
}

impl Workload for LinKv {
    fn name(&self) -> &'static str {
        "lin-kv"
    }

    fn request(&mut self, _process: u32, rng: &mut Rng) -> Body {
        let key = rng.below(self.keys);
        match rng.below(3) {
            0 => Body::new("read").with("key", key),
            1 => Body::new("write").with("key", key).with("value", rng.below(MAX_VALUE + 1)),
            _ => Body::new("cas")
                .with("key", key)
                .with("from", rng.below(MAX_VALUE + 1))
                .with("to", rng.below(MAX_VALUE + 1)),
        }
    }

    fn check(&self, history: &History) -> Validity {
        check(history, SEARCH_BUDGET)
    }
}

/// What a reply says, once its shape is checked.
enum Reply {
    Output(RegisterOutput),
    /// No reply in time, or an indefinite error: it may or may not have taken effect.
    Unknown,
    /// A reply that breaks the protocol: the problem's text.
    Malformed(String),
}

/// Counts by metric name.
#[derive(Default)]
struct Counts(BTreeMap<&'static str, usize>);

impl Counts {
    fn add(&mut self, name: &'static str) {
        *self.0.entry(name).or_default() += 1;
    }

    fn get(&self, name: &str) -> usize {
        self.0.get(name).copied().unwrap_or(0)
    }
}

const METRICS: &[&str] = &["reads", "writes", "cas-ok", "cas-failed", "not-linearizable", "unknown", "malformed"];

fn check(history: &History, budget: Duration) -> Validity {
    let pairs = history.pairs();
    let mut problems = Problems::default();
    let mut counts = Counts::default();
    let mut operations: Vec<Operation<RegisterInput, RegisterOutput>> = Vec::new();
    // For each operation, the pair it came from.
    let mut operation_pairs: Vec<usize> = Vec::new();
    for (pair_index, pair) in pairs.iter().enumerate() {
        let Some(input) = input(pair) else {
            problems.add(|| {
                let text = format!("takehome sent a request it cannot check: {} {}", pair.invoke.f, pair.invoke.value);
                Problem::new(text, pair.indices())
            });
            continue;
        };
        let client = u64::from(pair.invoke.process);
        let call = pair.invoke.time_ns;
        match reply(pair, &input) {
            Reply::Output(output) => {
                counts.add(match output {
                    RegisterOutput::Read(_) => "reads",
                    RegisterOutput::Written => "writes",
                    RegisterOutput::Cas(true) => "cas-ok",
                    RegisterOutput::Cas(false) => "cas-failed",
                });
                let returned = pair.completion.map_or(call, |done| done.time_ns.max(call));
                operations.push(Operation::returned(client, input, call, returned, output));
            }
            Reply::Unknown => {
                counts.add("unknown");
                operations.push(Operation::unknown(client, input, call));
            }
            Reply::Malformed(text) => {
                counts.add("malformed");
                problems.add(|| Problem::new(text, pair.indices()));
                continue;
            }
        }
        operation_pairs.push(pair_index);
    }
    let searched = if problems.count > 0 {
        "linearizability not searched (the problems below come first)".to_owned()
    } else {
        match linearizability::check(&RegisterModel, &operations, CheckOptions { time_budget: Some(budget) }) {
            Verdict::Linearizable => "linearizable key by key".to_owned(),
            Verdict::Unknown(undecided) => format!("linearizability {undecided}"),
            Verdict::NotLinearizable(mut failure) => {
                counts.add("not-linearizable");
                let ops: Vec<usize> = failure
                    .stuck
                    .iter()
                    .filter_map(|stuck| operation_pairs.get(stuck.operation.index))
                    .flat_map(|&pair_index| pairs[pair_index].indices())
                    .collect();
                // The report numbers operations as the history does, so `#n` finds the request in it.
                let in_history = |index: usize| {
                    operation_pairs.get(index).map_or(index, |&pair_index| pairs[pair_index].invoke_index)
                };
                for operation in &mut failure.prefix {
                    operation.index = in_history(operation.index);
                }
                for stuck in &mut failure.stuck {
                    stuck.operation.index = in_history(stuck.operation.index);
                }
                let key = failure.component.clone().unwrap_or_default();
                problems.add(|| Problem::new(failure.to_string().trim_end(), ops));
                format!(
                    "NOT linearizable: no order of the requests on key {key} explains every reply (below, #n is the \
                     request's entry in history.jsonl counting from 0, and times are ns since the start)"
                )
            }
        }
    };
    let summary = format!(
        "{} reads, {} writes, cas: {} applied, {} refused; {} with unknown outcome; {searched}",
        counts.get("reads"),
        counts.get("writes"),
        counts.get("cas-ok"),
        counts.get("cas-failed"),
        counts.get("unknown"),
    );
    Validity {
        valid: problems.count == 0,
        summary,
        problems: problems.shown,
        metrics: METRICS.iter().map(|&name| (name.to_owned(), counts.get(name) as f64)).collect(),
        stalled: false,
    }
}

/// The reply to `input`, checked for its shape.
fn reply(pair: &Pair<'_>, input: &RegisterInput) -> Reply {
    let what = request_text(input);
    let Some(done) = pair.completion else { return Reply::Unknown };
    match done.kind {
        OpKind::Ok => {}
        OpKind::Fail => {
            let (code, text) = done.error.clone().unwrap_or_default();
            return match (&input.op, code) {
                (RegisterOp::Read, codes::KEY_DOES_NOT_EXIST) => Reply::Output(RegisterOutput::Read(None)),
                (RegisterOp::Cas { .. }, codes::KEY_DOES_NOT_EXIST | codes::PRECONDITION_FAILED) => {
                    Reply::Output(RegisterOutput::Cas(false))
                }
                (op, _) => Reply::Malformed(format!(
                    "{what} was refused with error {code} ({text}); {}",
                    match op {
                        RegisterOp::Read => "only error 20 (key does not exist) may refuse a read",
                        RegisterOp::Write(_) => "a write always applies (it creates an absent key)",
                        RegisterOp::Cas { .. } => {
                            "only errors 20 (key does not exist) and 22 (`from` did not match) may refuse a cas"
                        }
                    }
                )),
            };
        }
        OpKind::Info | OpKind::Invoke => return Reply::Unknown,
    }
    let kind = done.value.get("type").and_then(Value::as_str).unwrap_or("");
    let (expected_kind, output) = match input.op {
        RegisterOp::Read => {
            let value = match done.value.get("value") {
                Some(Value::Null) => Some(None),
                Some(value) => value.as_i64().map(Some),
                None => None,
            };
            ("read_ok", value.map(RegisterOutput::Read))
        }
        RegisterOp::Write(_) => ("write_ok", Some(RegisterOutput::Written)),
        RegisterOp::Cas { .. } => ("cas_ok", Some(RegisterOutput::Cas(true))),
    };
    match output {
        Some(output) if kind == expected_kind => Reply::Output(output),
        _ => Reply::Malformed(format!(
            "{what} was answered with {}, not a {expected_kind}{}",
            done.value,
            if matches!(input.op, RegisterOp::Read) { " with an integer `value`" } else { "" }
        )),
    }
}

/// A request in words, for problems.
fn request_text(input: &RegisterInput) -> String {
    let key = input.key.as_deref().unwrap_or_default();
    match input.op {
        RegisterOp::Read => format!("the read of key {key}"),
        RegisterOp::Write(value) => format!("the write of {value} to key {key}"),
        RegisterOp::Cas { from, to } => format!("the cas of key {key} from {from} to {to}"),
    }
}

/// The operation a request asked for, from the fields the workload sent.
fn input(pair: &Pair<'_>) -> Option<RegisterInput> {
    let fields = &pair.invoke.value;
    let number = |field: &str| fields.get(field).and_then(Value::as_i64);
    let key = match fields.get("key")? {
        Value::String(key) => key.clone(),
        key => key.to_string(),
    };
    let op = match pair.invoke.f.as_str() {
        "read" => RegisterOp::Read,
        "write" => RegisterOp::Write(number("value")?),
        "cas" => RegisterOp::Cas { from: number("from")?, to: number("to")? },
        _ => return None,
    };
    Some(RegisterInput::keyed(key, op))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    /// One request and its reply; `reply` None: a timeout.
    fn request(history: &mut History, process: u32, fields: Value, times: (u64, u64), reply: Option<Value>) {
        let f = fields["type"].as_str().unwrap_or("").to_owned();
        history.invoke(process, &f, fields, at(times.0), &format!("n{}", process % 3));
        match reply {
            Some(reply) if reply["type"] == "error" => {
                let error = (reply["code"].as_u64().unwrap_or(0), "refused".to_owned());
                history.complete(process, OpKind::Fail, reply, Some(error), at(times.1));
            }
            Some(reply) => {
                history.complete(process, OpKind::Ok, reply, None, at(times.1));
            }
            None => {
                history.complete(process, OpKind::Info, Value::Null, Some((0, "no reply".into())), at(times.1));
            }
        }
    }

    fn read(key: u64) -> Value {
        json!({"type": "read", "key": key})
    }

    fn write(key: u64, value: i64) -> Value {
        json!({"type": "write", "key": key, "value": value})
    }

    fn cas(key: u64, from: i64, to: i64) -> Value {
        json!({"type": "cas", "key": key, "from": from, "to": to})
    }

    fn read_ok(value: i64) -> Option<Value> {
        Some(json!({"type": "read_ok", "value": value}))
    }

    fn ok(kind: &str) -> Option<Value> {
        Some(json!({"type": kind}))
    }

    fn error(code: u64) -> Option<Value> {
        Some(json!({"type": "error", "code": code}))
    }

    #[test]
    fn a_linearizable_history_is_valid_and_counted() {
        let mut history = History::default();
        request(&mut history, 1, read(0), (1, 2), error(20));
        request(&mut history, 2, cas(0, 1, 2), (1, 3), error(20));
        request(&mut history, 1, write(0, 1), (3, 6), ok("write_ok"));
        request(&mut history, 2, read(0), (4, 5), read_ok(1));
        request(&mut history, 3, cas(0, 1, 3), (7, 8), ok("cas_ok"));
        request(&mut history, 1, cas(0, 1, 4), (9, 10), error(22));
        request(&mut history, 2, read(1), (9, 11), Some(json!({"type": "read_ok", "value": null})));
        request(&mut history, 3, read(0), (12, 13), read_ok(3));
        let validity = check(&history, SEARCH_BUDGET);
        assert!(validity.valid, "{validity:?}");
        assert_eq!(
            validity.summary,
            "4 reads, 1 writes, cas: 1 applied, 2 refused; 0 with unknown outcome; linearizable key by key"
        );
        let figures: Vec<f64> = METRICS.iter().map(|name| validity.metrics[*name]).collect();
        assert_eq!(figures, vec![4.0, 1.0, 1.0, 2.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn a_stale_read_is_not_linearizable_and_points_at_the_read() {
        let mut history = History::default();
        request(&mut history, 1, write(2, 1), (1, 2), ok("write_ok"));
        request(&mut history, 2, write(2, 4), (3, 4), ok("write_ok"));
        // Another node still has the first value after the second write was acknowledged.
        request(&mut history, 3, read(2), (5, 6), read_ok(1));
        let validity = check(&history, SEARCH_BUDGET);
        assert!(!validity.valid);
        assert_eq!(validity.metrics["not-linearizable"], 1.0);
        assert!(
            validity.summary.contains("NOT linearizable: no order of the requests on key 2 explains every reply"),
            "{}",
            validity.summary
        );
        assert_eq!(validity.problems.len(), 1);
        let text = &validity.problems[0].text;
        assert!(text.starts_with("not linearizable: key \"2\" (3 operations)"), "{text}");
        assert!(text.contains("state after it: 4"), "{text}");
        assert!(text.contains("#2 client 2 [3000000..4000000] \"2\": write(4) -> ok"), "{text}");
        assert!(text.contains("#4 client 3 [5000000..6000000] \"2\": read() -> 1  (impossible here)"), "{text}");
        assert_eq!(validity.problems[0].ops, vec![4, 5]);
    }

    #[test]
    fn a_cas_that_cannot_have_applied_is_not_linearizable() {
        let mut history = History::default();
        request(&mut history, 1, write(0, 1), (1, 2), ok("write_ok"));
        request(&mut history, 2, cas(0, 3, 4), (3, 4), ok("cas_ok"));
        let validity = check(&history, SEARCH_BUDGET);
        assert!(!validity.valid);
        assert!(validity.problems[0].text.contains("\"0\": cas(3, 4) -> ok  (impossible here)"), "{:?}", validity);
        assert_eq!(validity.problems[0].ops, vec![2, 3]);
        assert_eq!(validity.metrics["cas-ok"], 1.0);
    }

    #[test]
    fn a_timed_out_write_may_or_may_not_have_applied() {
        let mut history = History::default();
        request(&mut history, 1, write(0, 3), (1, 5001), None);
        request(&mut history, 2, read(0), (10, 11), error(20));
        request(&mut history, 2, read(0), (20, 21), read_ok(3));
        let validity = check(&history, SEARCH_BUDGET);
        assert!(validity.valid, "{validity:?}");
        assert_eq!(validity.metrics["unknown"], 1.0);
        assert!(validity.summary.contains("1 with unknown outcome"), "{}", validity.summary);
        // But not before it was sent.
        let mut early = History::default();
        request(&mut early, 2, read(0), (1, 2), read_ok(3));
        request(&mut early, 1, write(0, 3), (5, 5005), None);
        assert!(!check(&early, SEARCH_BUDGET).valid);
    }

    #[test]
    fn a_reply_of_the_wrong_shape_or_a_wrong_error_is_named() {
        let mut history = History::default();
        request(&mut history, 1, read(0), (1, 2), ok("read_ok"));
        request(&mut history, 2, write(0, 1), (3, 4), error(20));
        request(&mut history, 3, cas(0, 1, 2), (5, 6), ok("write_ok"));
        request(&mut history, 1, read(0), (7, 8), Some(json!({"type": "read_ok", "value": "1"})));
        request(&mut history, 2, cas(0, 1, 2), (9, 10), error(11));
        let validity = check(&history, SEARCH_BUDGET);
        assert!(!validity.valid);
        assert_eq!(validity.metrics["malformed"], 5.0);
        let texts: Vec<&str> = validity.problems.iter().map(|problem| problem.text.as_str()).collect();
        assert_eq!(
            texts,
            vec![
                r#"the read of key 0 was answered with {"type":"read_ok"}, not a read_ok with an integer `value`"#,
                "the write of 1 to key 0 was refused with error 20 (refused); a write always applies (it creates an \
                 absent key)",
                r#"the cas of key 0 from 1 to 2 was answered with {"type":"write_ok"}, not a cas_ok"#,
                r#"the read of key 0 was answered with {"type":"read_ok","value":"1"}, not a read_ok with an integer `value`"#,
                "the cas of key 0 from 1 to 2 was refused with error 11 (refused); only errors 20 (key does not \
                 exist) and 22 (`from` did not match) may refuse a cas",
            ]
        );
        assert_eq!(validity.problems[1].ops, vec![2, 3]);
        assert!(validity.summary.ends_with("linearizability not searched (the problems below come first)"));
    }

    #[test]
    fn a_search_out_of_time_is_said_but_is_no_failure() {
        // Twenty overlapping writes, then a read of a value none wrote: refuting it takes many orders.
        let mut history = History::default();
        for client in 0..20 {
            request(&mut history, client + 1, write(0, i64::from(client)), (1, 100), ok("write_ok"));
        }
        request(&mut history, 30, read(0), (200, 201), read_ok(999));
        let validity = check(&history, Duration::ZERO);
        assert!(validity.valid, "{validity:?}");
        assert!(validity.summary.contains("linearizability unknown: the time budget"), "{}", validity.summary);
    }

    #[test]
    fn requests_spread_over_the_keys_and_options_are_checked() {
        let options: toml::Table = "keys = 2".parse().expect("toml");
        let mut workload = LinKv::from_options(&options).expect("valid");
        let mut rng = Rng::stream(3, &[]);
        let bodies: Vec<Body> = (0..300).map(|_| workload.request(1, &mut rng)).collect();
        for kind in ["read", "write", "cas"] {
            assert!(bodies.iter().filter(|body| body.kind == kind).count() > 50, "{kind}");
        }
        assert!(bodies.iter().all(|body| body.field("key").and_then(Value::as_u64).is_some_and(|key| key < 2)));
        let values =
            bodies.iter().filter_map(|body| body.field("value").or(body.field("to"))).filter_map(Value::as_u64);
        assert!(values.clone().all(|value| value <= MAX_VALUE) && values.count() > 100);
        assert_eq!(LinKv::from_options(&toml::Table::new()), Ok(LinKv::default()));
        let wrong: toml::Table = "keys = 0".parse().expect("toml");
        assert!(LinKv::from_options(&wrong).unwrap_err().contains("option `keys` of the lin-kv workload"));
    }
}
