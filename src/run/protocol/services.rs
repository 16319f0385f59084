//! The services a node may call by sending them messages, compatible with Maelstrom's: `lin-kv`
//! (linearizable), `seq-kv` (sequentially consistent: a read may return any state at or after the last one
//! that caller saw), `lww-kv` (last write wins, eventually consistent: replicas that merge now and then)
//! and `lin-tso` (strictly increasing timestamps).
//!
//! Key-value requests: `read{key}` -> `read_ok{value}`, `write{key,value}` -> `write_ok`,
//! `cas{key,from,to,create_if_not_exists?}` -> `cas_ok`; errors 20 (key does not exist) and 22
//! (precondition failed). Keys and values are any JSON.

use std::collections::HashMap;

use serde_json::Value;

use super::message::{Body, Message, codes};
use super::rng::Rng;

pub const LIN_KV: &str = "lin-kv";
pub const SEQ_KV: &str = "seq-kv";
pub const LWW_KV: &str = "lww-kv";
pub const LIN_TSO: &str = "lin-tso";

/// Whether `name` is one of the services.
#[must_use]
pub fn is_service(name: &str) -> bool {
    matches!(name, LIN_KV | SEQ_KV | LWW_KV | LIN_TSO)
}

/// How many past states a `seq-kv` read may go back.
const SEQ_STALENESS: u64 = 16;
/// `lww-kv` replicas, and the chance after each operation that they merge.
const LWW_REPLICAS: usize = 3;
const LWW_MERGE_CHANCE: f64 = 0.25;

/// All services of one run.
#[derive(Debug)]
pub struct Services {
    lin: LinKv,
    seq: SeqKv,
    lww: LwwKv,
    tso: u64,
    rng: Rng,
}

impl Services {
    /// Services drawing their choices (which stale state, which replica) from `rng`.
    #[must_use]
    pub fn new(rng: Rng) -> Services {
        Services { lin: LinKv::default(), seq: SeqKv::default(), lww: LwwKv::default(), tso: 0, rng }
    }

    /// Handles a message sent to a service and returns the reply, if the message was a request.
    pub fn handle(&mut self, request: &Message) -> Option<Message> {
        if request.body.in_reply_to.is_some() {
            return None;
        }
        let body = match request.dest.as_str() {
            LIN_TSO if request.body.kind == "ts" => {
                self.tso += 1;
                Body::new("ts_ok").with("ts", self.tso)
            }
            LIN_TSO => not_supported(&request.body.kind, LIN_TSO),
            LIN_KV => kv_request(&request.body, |op| self.lin.apply(op)),
            SEQ_KV => {
                let (seq, rng) = (&mut self.seq, &mut self.rng);
                kv_request(&request.body, |op| seq.apply(&request.src, op, rng))
            }
            LWW_KV => {
                let (lww, rng) = (&mut self.lww, &mut self.rng);
                kv_request(&request.body, |op| lww.apply(op, rng))
            }
            _ => return None,
        };
        Some(request.reply(body))
    }
}

/// A parsed key-value request; keys are compared by their JSON text.
#[derive(Debug)]
enum KvOp {
    Read { key: String },
    Write { key: String, value: Value },
    Cas { key: String, from: Value, to: Value, create: bool },
}

fn kv_request(body: &Body, apply: impl FnOnce(KvOp) -> Result<Body, Body>) -> Body {
    match parse_kv(body) {
        Ok(op) => apply(op).unwrap_or_else(|error| error),
        Err(error) => error,
    }
}

fn parse_kv(body: &Body) -> Result<KvOp, Body> {
    let field = |name: &str| {
        body.field(name).cloned().ok_or_else(|| {
            Body::error(None, codes::MALFORMED_REQUEST, format!("{} request without `{name}`", body.kind))
        })
    };
    let key = || field("key").map(|key| key.to_string());
    match body.kind.as_str() {
        "read" => Ok(KvOp::Read { key: key()? }),
        "write" => Ok(KvOp::Write { key: key()?, value: field("value")? }),
        "cas" => Ok(KvOp::Cas {
            key: key()?,
            from: field("from")?,
            to: field("to")?,
            create: body.field("create_if_not_exists").and_then(Value::as_bool).unwrap_or(false),
        }),
        other => Err(not_supported(other, "a key-value service")),
    }
}

fn not_supported(kind: &str, service: &str) -> Body {
    Body::error(None, codes::NOT_SUPPORTED, format!("{service} does not support `{kind}` requests"))
}

fn missing(key: &str) -> Body {
    Body::error(None, codes::KEY_DOES_NOT_EXIST, format!("key {key} does not exist"))
}

/// Applies `op` to `current` (the key's value in the state it runs against): the reply, and the new
/// value when it writes.
fn evaluate(op: &KvOp, current: Option<&Value>) -> Result<(Body, Option<Value>), Body> {
    match op {
        KvOp::Read { key } => {
            let value = current.ok_or_else(|| missing(key))?;
            Ok((Body::new("read_ok").with("value", value.clone()), None))
        }
        KvOp::Write { value, .. } => Ok((Body::new("write_ok"), Some(value.clone()))),
        KvOp::Cas { key, from, to, create } => match current {
            None if *create => Ok((Body::new("cas_ok"), Some(to.clone()))),
            None => Err(missing(key)),
            Some(value) if value == from => Ok((Body::new("cas_ok"), Some(to.clone()))),
            Some(value) => {
                Err(Body::error(None, codes::PRECONDITION_FAILED, format!("current value {value} is not {from}")))
            }
        },
    }
}

fn key_of(op: &KvOp) -> &str {
    match op {
        KvOp::Read { key } | KvOp::Write { key, .. } | KvOp::Cas { key, .. } => key,
    }
}

#[derive(Debug, Default)]
struct LinKv {
    values: HashMap<String, Value>,
}

impl LinKv {
    fn apply(&mut self, op: KvOp) -> Result<Body, Body> {
        let (reply, written) = evaluate(&op, self.values.get(key_of(&op)))?;
        if let Some(value) = written {
            self.values.insert(key_of(&op).to_owned(), value);
        }
        Ok(reply)
    }
}

/// A total order of states (one version per write); each caller reads some state at or after the last
/// it saw, writes go to the newest state.
#[derive(Debug, Default)]
struct SeqKv {
    version: u64,
    /// Per key, (version, value) in version order, trimmed to the versions a read can still see.
    history: HashMap<String, Vec<(u64, Value)>>,
    seen: HashMap<String, u64>,
}

impl SeqKv {
    fn apply(&mut self, caller: &str, op: KvOp, rng: &mut Rng) -> Result<Body, Body> {
        let seen = self.seen.get(caller).copied().unwrap_or(0);
        let oldest = seen.max(self.version.saturating_sub(SEQ_STALENESS));
        let at = match &op {
            KvOp::Read { .. } => oldest + rng.below(self.version - oldest + 1),
            _ => self.version,
        };
        let entries = self.history.get(key_of(&op));
        let current = entries.and_then(|entries| entries.iter().rev().find(|(v, _)| *v <= at)).map(|(_, value)| value);
        let outcome = evaluate(&op, current);
        let observed = match &outcome {
            Ok((_, Some(value))) => {
                self.version += 1;
                let entries = self.history.entry(key_of(&op).to_owned()).or_default();
                entries.push((self.version, value.clone()));
                let floor = self.version.saturating_sub(SEQ_STALENESS);
                // Keep the newest entry at or below the oldest visible version; older ones are unreachable.
                let keep_from = entries.iter().rposition(|(v, _)| *v <= floor).unwrap_or(0);
                entries.drain(..keep_from);
                self.version
            }
            _ => at,
        };
        self.seen.insert(caller.to_owned(), observed.max(seen));
        outcome.map(|(reply, _)| reply)
    }
}

/// Replicas each answering on their own, stamped writes, merged (latest stamp wins) now and then.
#[derive(Debug)]
struct LwwKv {
    replicas: Vec<HashMap<String, (u64, Value)>>,
    clock: u64,
}

impl Default for LwwKv {
    fn default() -> Self {
        LwwKv { replicas: vec![HashMap::new(); LWW_REPLICAS], clock: 0 }
    }
}

impl LwwKv {
    fn apply(&mut self, op: KvOp, rng: &mut Rng) -> Result<Body, Body> {
        let replica = rng.below(self.replicas.len() as u64) as usize;
        let current = self.replicas[replica].get(key_of(&op)).map(|(_, value)| value);
        let outcome = evaluate(&op, current);
        if let Ok((_, Some(value))) = &outcome {
            self.clock += 1;
            self.replicas[replica].insert(key_of(&op).to_owned(), (self.clock, value.clone()));
        }
        if rng.chance(LWW_MERGE_CHANCE) {
            self.merge();
        }
        outcome.map(|(reply, _)| reply)
    }

    fn merge(&mut self) {
        let mut newest: HashMap<String, (u64, Value)> = HashMap::new();
        for replica in &self.replicas {
            for (key, (stamp, value)) in replica {
                if newest.get(key).is_none_or(|(seen, _)| seen < stamp) {
                    newest.insert(key.clone(), (*stamp, value.clone()));
                }
            }
        }
        for replica in &mut self.replicas {
            replica.clone_from(&newest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(services: &mut Services, caller: &str, service: &str, body: Value) -> Body {
        let mut body: Body = serde_json::from_value(body).expect("body");
        body.msg_id = Some(1);
        let message = Message { src: caller.into(), dest: service.into(), body };
        let reply = services.handle(&message).expect("a reply");
        assert_eq!((reply.src.as_str(), reply.dest.as_str(), reply.body.in_reply_to), (service, caller, Some(1)));
        reply.body
    }

    fn services() -> Services {
        Services::new(Rng::stream(5, &[]))
    }

    #[test]
    fn lin_kv_reads_writes_and_compares_and_sets() {
        let mut s = services();
        let read = json!({"type": "read", "key": "x"});
        assert_eq!(request(&mut s, "n0", LIN_KV, read.clone()).error_code(), Some(20));
        assert_eq!(request(&mut s, "n0", LIN_KV, json!({"type": "write", "key": "x", "value": 1})).kind, "write_ok");
        let reply = request(&mut s, "n1", LIN_KV, read.clone());
        assert_eq!((reply.kind.as_str(), reply.field("value")), ("read_ok", Some(&json!(1))));
        let cas = |from, to| json!({"type": "cas", "key": "x", "from": from, "to": to});
        assert_eq!(request(&mut s, "n0", LIN_KV, cas(2, 3)).error_code(), Some(22));
        assert_eq!(request(&mut s, "n0", LIN_KV, cas(1, 3)).kind, "cas_ok");
        assert_eq!(request(&mut s, "n1", LIN_KV, read).field("value"), Some(&json!(3)));
        let create = json!({"type": "cas", "key": "y", "from": 0, "to": 5, "create_if_not_exists": true});
        assert_eq!(request(&mut s, "n0", LIN_KV, create).kind, "cas_ok");
        // Keys are any JSON: the number 1 and the string "1" differ.
        assert_eq!(request(&mut s, "n0", LIN_KV, json!({"type": "write", "key": 1, "value": "a"})).kind, "write_ok");
        assert_eq!(request(&mut s, "n0", LIN_KV, json!({"type": "read", "key": "1"})).error_code(), Some(20));
    }

    #[test]
    fn bad_requests_get_definite_errors() {
        let mut s = services();
        assert_eq!(request(&mut s, "n0", LIN_KV, json!({"type": "write", "key": "x"})).error_code(), Some(12));
        assert_eq!(request(&mut s, "n0", SEQ_KV, json!({"type": "frob"})).error_code(), Some(10));
        assert_eq!(request(&mut s, "n0", LIN_TSO, json!({"type": "read"})).error_code(), Some(10));
    }

    #[test]
    fn lin_tso_is_strictly_increasing() {
        let mut s = services();
        let stamps: Vec<u64> = (0..5)
            .map(|_| request(&mut s, "n0", LIN_TSO, json!({"type": "ts"})).field("ts").and_then(Value::as_u64).unwrap())
            .collect();
        assert_eq!(stamps, vec![1, 2, 3, 4, 5]);
    }

    #[test]
    fn seq_kv_reads_never_go_back_for_one_caller_but_may_be_stale_for_another() {
        let mut s = services();
        let mut stale_seen = false;
        for i in 0..200 {
            request(&mut s, "n0", SEQ_KV, json!({"type": "write", "key": "k", "value": i}));
            // The writer always sees its own write or later.
            let own = request(&mut s, "n0", SEQ_KV, json!({"type": "read", "key": "k"}));
            assert_eq!(own.field("value"), Some(&json!(i)));
            let other = request(&mut s, "n1", SEQ_KV, json!({"type": "read", "key": "k"}));
            stale_seen |= other.field("value") != Some(&json!(i));
        }
        assert!(stale_seen, "another caller sees a stale value at times");
        let mut last = -1;
        for _ in 0..100 {
            let reply = request(&mut s, "n2", SEQ_KV, json!({"type": "read", "key": "k"}));
            let value = reply.field("value").and_then(Value::as_i64).unwrap();
            assert!(value >= last, "{value} after {last}");
            last = value;
        }
    }

    #[test]
    fn seq_kv_cas_runs_against_the_newest_state() {
        let mut s = services();
        for i in 0..50 {
            let cas = json!({"type": "cas", "key": "c", "from": i, "to": i + 1, "create_if_not_exists": i == 0});
            assert_eq!(request(&mut s, &format!("n{}", i % 3), SEQ_KV, cas).kind, "cas_ok", "step {i}");
        }
    }

    #[test]
    fn lww_kv_converges_to_the_last_write() {
        let mut s = services();
        for i in 0..20 {
            request(&mut s, "n0", LWW_KV, json!({"type": "write", "key": "k", "value": i}));
        }
        s.lww.merge();
        for _ in 0..10 {
            assert_eq!(
                request(&mut s, "n1", LWW_KV, json!({"type": "read", "key": "k"})).field("value"),
                Some(&json!(19))
            );
        }
    }

    #[test]
    fn replies_sent_to_a_service_get_no_answer() {
        let mut s = services();
        let mut body = Body::new("read_ok");
        body.in_reply_to = Some(3);
        assert!(s.handle(&Message { src: "n0".into(), dest: LIN_KV.into(), body }).is_none());
        assert!(is_service(SEQ_KV) && !is_service("n0"));
    }
}
