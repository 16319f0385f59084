//! The history of a run, Jepsen style: every client request is an `invoke`, followed (for the same
//! client, which has one request at a time) by its completion: `ok`, `fail` (a definite error: it did not
//! happen) or `info` (indefinite: a timeout or an indefinite error code, it may have happened). Times are
//! monotonic, in nanoseconds since the run started. Each op also says which part of the run it belongs
//! to: the load, or the final requests after healing and settling (`"phase": "final"` in the JSON).

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

/// Which part of the run an op belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OpPhase {
    /// Issued while the load runs.
    #[default]
    Load,
    /// Issued after the network healed and settled (a workload's final reads).
    Final,
}

impl OpPhase {
    fn is_load(&self) -> bool {
        *self == OpPhase::Load
    }
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
    #[serde(skip_serializing_if = "OpPhase::is_load")]
    pub phase: OpPhase,
}

/// A request and what became of it (`None`: still open when the run ended), with both ops' places in
/// the history (so a report can point at them).
#[derive(Debug, Clone, Copy)]
pub struct Pair<'a> {
    pub invoke: &'a Op,
    pub completion: Option<&'a Op>,
    pub invoke_index: usize,
    pub completion_index: Option<usize>,
}

impl<'a> Pair<'a> {
    #[must_use]
    pub fn latency(&self) -> Option<Duration> {
        self.completion.map(|done| Duration::from_nanos(done.time_ns.saturating_sub(self.invoke.time_ns)))
    }

    #[must_use]
    pub fn ok(&self) -> Option<&'a Op> {
        self.completion.filter(|done| done.kind == OpKind::Ok)
    }

    /// The indices of the invoke and (if any) its completion.
    #[must_use]
    pub fn indices(&self) -> Vec<usize> {
        std::iter::once(self.invoke_index).chain(self.completion_index).collect()
    }

    #[must_use]
    pub fn is_final(&self) -> bool {
        self.invoke.phase == OpPhase::Final
    }
}

#[derive(Debug, Clone, Default)]
pub struct History {
    ops: Vec<Op>,
    /// Per client, the index of its open invoke.
    open: Vec<Option<usize>>,
}

impl History {
    /// Records a request of the load; the client must have none open.
    pub fn invoke(&mut self, process: u32, f: &str, value: Value, at: Duration, node: &str) {
        self.invoke_in(OpPhase::Load, process, f, value, at, node);
    }

    /// Records a request of the given phase; the client must have none open.
    pub fn invoke_in(&mut self, phase: OpPhase, process: u32, f: &str, value: Value, at: Duration, node: &str) {
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
            phase,
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
        let invoke = &self.ops[index];
        let (f, node, phase) = (invoke.f.clone(), invoke.node.clone(), invoke.phase);
        self.push(Op { process, kind, f, value, time_ns: nanos(at), node, error, phase });
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
        for (at, op) in self.ops.iter().enumerate() {
            let slot = op.process as usize;
            if open.len() <= slot {
                open.resize(slot + 1, None);
            }
            if op.kind == OpKind::Invoke {
                open[slot] = Some(pairs.len());
                pairs.push(Pair { invoke: op, completion: None, invoke_index: at, completion_index: None });
            } else if let Some(index) = open[slot].take() {
                pairs[index].completion = Some(op);
                pairs[index].completion_index = Some(at);
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
        assert_eq!(pairs[0].indices(), vec![0, 3]);
        assert_eq!(pairs[2].indices(), vec![4]);
    }

    #[test]
    fn final_ops_are_marked_and_their_completions_inherit_the_phase() {
        let mut history = History::default();
        history.invoke(1, "read", json!({}), ms(1), "n0");
        history.complete(1, OpKind::Ok, json!({"type": "read_ok"}), None, ms(2));
        history.invoke_in(OpPhase::Final, 2, "read", json!({}), ms(3), "n1");
        history.complete(2, OpKind::Ok, json!({"type": "read_ok"}), None, ms(4));
        let pairs = history.pairs();
        assert!(!pairs[0].is_final() && pairs[1].is_final());
        assert_eq!(history.ops()[3].phase, OpPhase::Final);
        let mut out = Vec::new();
        history.write_json_lines(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.lines().next().unwrap().contains("phase"));
        assert!(text.lines().nth(2).unwrap().contains(r#""phase":"final""#));
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
