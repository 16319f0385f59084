//! The history of a run, Jepsen style: every client request is an `invoke`, followed (for the same
//! client, which has one request at a time) by its completion: `ok`, `fail` (a definite error: it did not
//! happen) or `info` (indefinite: a timeout or an indefinite error code, it may have happened). Times are
//! monotonic, in nanoseconds since the run started.

use std::io::{self, Write};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OpKind {
    Invoke,
    Ok,
    Fail,
    Info,
}

/// One history entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Op {
    /// The client (`c<process>`).
    pub process: u32,
    #[serde(rename = "type")]
    pub kind: OpKind,
    /// The request type (`echo`, `generate`, ...).
    pub f: String,
    /// Invoke: the request's fields. Completion: the reply body (`null` for a timeout).
    pub value: Value,
    pub time_ns: u64,
    /// The node that served it.
    pub node: String,
    /// For `fail` and `info`: the error code (0 for a timeout) and its text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<(u64, String)>,
}

/// A request and what became of it (`None`: still open when the run ended).
#[derive(Debug, Clone, Copy)]
pub struct Pair<'a> {
    pub invoke: &'a Op,
    pub completion: Option<&'a Op>,
}

impl Pair<'_> {
    #[must_use]
    pub fn latency(&self) -> Option<Duration> {
        self.completion.map(|done| Duration::from_nanos(done.time_ns.saturating_sub(self.invoke.time_ns)))
    }

    #[must_use]
    pub fn ok(&self) -> Option<&Op> {
        self.completion.filter(|done| done.kind == OpKind::Ok)
    }
}

#[derive(Debug, Clone, Default)]
pub struct History {
    ops: Vec<Op>,
    /// Per client, the index of its open invoke.
    open: Vec<Option<usize>>,
}

impl History {
    /// Records a request; the client must have none open.
    pub fn invoke(&mut self, process: u32, f: &str, value: Value, at: Duration, node: &str) {
        let slot = process as usize;
        if self.open.len() <= slot {
            self.open.resize(slot + 1, None);
        }
        self.open[slot] = Some(self.ops.len());
        self.push(Op {
            process,
            kind: OpKind::Invoke,
            f: f.to_owned(),
            value,
            time_ns: nanos(at),
            node: node.to_owned(),
            error: None,
        });
    }

    /// Records the completion of the client's open request; false when it has none.
    pub fn complete(
        &mut self,
        process: u32,
        kind: OpKind,
        value: Value,
        error: Option<(u64, String)>,
        at: Duration,
    ) -> bool {
        let Some(index) = self.open.get_mut(process as usize).and_then(Option::take) else {
            return false;
        };
        let (f, node) = (self.ops[index].f.clone(), self.ops[index].node.clone());
        self.push(Op { process, kind, f, value, time_ns: nanos(at), node, error });
        true
    }

    /// When the client's open request was invoked.
    #[must_use]
    pub fn open_since(&self, process: u32) -> Option<Duration> {
        let index = (*self.open.get(process as usize)?)?;
        Some(Duration::from_nanos(self.ops[index].time_ns))
    }

    fn push(&mut self, op: Op) {
        self.ops.push(op);
    }

    #[must_use]
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// Every request with its completion, in invoke order.
    #[must_use]
    pub fn pairs(&self) -> Vec<Pair<'_>> {
        let mut pairs: Vec<Pair<'_>> = Vec::new();
        let mut open: Vec<Option<usize>> = Vec::new();
        for op in &self.ops {
            let slot = op.process as usize;
            if open.len() <= slot {
                open.resize(slot + 1, None);
            }
            if op.kind == OpKind::Invoke {
                open[slot] = Some(pairs.len());
                pairs.push(Pair { invoke: op, completion: None });
            } else if let Some(index) = open[slot].take() {
                pairs[index].completion = Some(op);
            }
        }
        pairs
    }

    /// The history as JSON lines.
    pub fn write_json_lines(&self, out: &mut impl Write) -> io::Result<()> {
        for op in &self.ops {
            serde_json::to_writer(&mut *out, op)?;
            out.write_all(b"\n")?;
        }
        Ok(())
    }
}

fn nanos(at: Duration) -> u64 {
    u64::try_from(at.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn completions_pair_with_their_clients_invokes() {
        let mut history = History::default();
        history.invoke(1, "echo", json!({"echo": "a"}), ms(1), "n0");
        history.invoke(2, "echo", json!({"echo": "b"}), ms(2), "n1");
        assert!(history.complete(2, OpKind::Ok, json!({"type": "echo_ok", "echo": "b"}), None, ms(3)));
        assert!(history.complete(1, OpKind::Info, Value::Null, Some((0, "timed out".into())), ms(9)));
        assert!(!history.complete(1, OpKind::Ok, Value::Null, None, ms(10)), "nothing open");
        history.invoke(1, "echo", json!({"echo": "c"}), ms(11), "n0");

        let pairs = history.pairs();
        assert_eq!(pairs.len(), 3);
        assert_eq!(pairs[0].completion.map(|op| op.kind), Some(OpKind::Info));
        assert_eq!(pairs[0].latency(), Some(ms(8)));
        assert_eq!(pairs[1].ok().map(|op| op.node.as_str()), Some("n1"));
        assert!(pairs[2].completion.is_none());
    }

    #[test]
    fn the_history_is_json_lines() {
        let mut history = History::default();
        history.invoke(3, "generate", json!({}), ms(1), "n2");
        history.complete(3, OpKind::Fail, json!({"type": "error", "code": 11}), Some((11, "busy".into())), ms(2));
        let mut out = Vec::new();
        history.write_json_lines(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            r#"{"process":3,"type":"invoke","f":"generate","value":{},"time_ns":1000000,"node":"n2"}"#
        );
        assert!(lines[1].contains(r#""type":"fail""#) && lines[1].contains(r#""error":[11,"busy"]"#), "{}", lines[1]);
    }
}
