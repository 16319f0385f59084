//! The `broadcast` workload (Maelstrom's): each node first gets `topology{topology}` -> `topology_ok`; clients
//! then send `broadcast{message}` (unique integers) -> `broadcast_ok` and `read` -> `read_ok{messages}`; after
//! the load, healing and settling, every node gets a final `read`.
//!
//! The check: every acknowledged message is in every node's final read ("lost": in none of them, "missing":
//! absent from at least one); no read holds a value never broadcast or a value twice. "Never read": attempted,
//! not acknowledged and in no read (not an error). Stable latency, per message: from its broadcast's invoke to
//! the first read after which every read, on any node, showed it.
//!
//! Reads are taken in completion order and walked backwards keeping, as a bit set, the messages every later
//! read showed; a message drops out of it at its last absence. The cost is one pass over the reads' values
//! plus reads × messages / 64 word operations, with one read's bits in memory at a time.

use std::collections::HashMap;

use serde_json::Value;

use super::topology::Topology;
use super::{Problem, Problems, Validity, Workload, ms};
use crate::run::protocol::history::{History, Op, OpKind, OpPhase};
use crate::run::protocol::message::Body;
use crate::run::protocol::rng::Rng;

pub struct Broadcast {
    topology: Topology,
    next_message: u64,
}

impl Broadcast {
    #[must_use]
    pub fn new(topology: Topology) -> Broadcast {
        Broadcast { topology, next_message: 0 }
    }
}

impl Workload for Broadcast {
    fn name(&self) -> &'static str {
        "broadcast"
    }

    fn setup(&mut self, node_ids: &[String]) -> Vec<(usize, Body)> {
        let map = self.topology.map(node_ids);
        let topology = serde_json::to_value(map).unwrap_or(Value::Null);
        (0..node_ids.len()).map(|i| (i, Body::new("topology").with("topology", topology.clone()))).collect()
    }

    fn request(&mut self, _process: u32, rng: &mut Rng) -> Body {
        if rng.chance(0.5) {
            let message = self.next_message;
            self.next_message += 1;
            Body::new("broadcast").with("message", message)
        } else {
            Body::new("read")
        }
    }

    fn final_requests(&mut self, node_ids: &[String]) -> Vec<(usize, Body)> {
        (0..node_ids.len()).map(|i| (i, Body::new("read"))).collect()
    }

    fn check(&self, history: &History) -> Validity {
        check(history)
    }
}

/// One attempted broadcast.
struct Sent {
    value: u64,
    invoke_index: usize,
    /// The index of its `broadcast_ok`.
    acked: Option<usize>,
}

/// An ok read whose reply is a list of messages: where it is in the history and what it showed.
#[derive(Clone, Copy)]
struct ReadOp<'a> {
    invoke_index: usize,
    completion: &'a Op,
    completion_index: usize,
}

/// A final read kept whole: the node's last word.
struct FinalRead<'a> {
    read: ReadOp<'a>,
    present: Vec<u64>,
}

struct Bits;

impl Bits {
    fn words(n: usize) -> usize {
        n.div_ceil(64)
    }
    fn get(bits: &[u64], i: usize) -> bool {
        bits[i / 64] >> (i % 64) & 1 == 1
    }
    /// Sets bit `i`; whether it was set already.
    fn set(bits: &mut [u64], i: usize) -> bool {
        let was = Self::get(bits, i);
        bits[i / 64] |= 1 << (i % 64);
        was
    }
}

fn check(history: &History) -> Validity {
    let ops = history.ops();
    let mut sent: Vec<Sent> = Vec::new();
    let mut by_value: HashMap<u64, usize> = HashMap::new();
    let mut reads: Vec<ReadOp<'_>> = Vec::new();
    let mut problems = Problems::default();
    for pair in history.pairs() {
        match pair.invoke.f.as_str() {
            "broadcast" => {
                let Some(value) = pair.invoke.value.get("message").and_then(Value::as_u64) else { continue };
                let acked = pair.ok().and(pair.completion_index);
                by_value.insert(value, sent.len());
                sent.push(Sent { value, invoke_index: pair.invoke_index, acked });
            }
            "read" => {
                let (Some(done), Some(completion_index)) = (pair.ok(), pair.completion_index) else { continue };
                if done.value.get("messages").is_some_and(Value::is_array) {
                    reads.push(ReadOp { invoke_index: pair.invoke_index, completion: done, completion_index });
                } else {
                    let text = format!(
                        "c{} via {}: a read reply without a messages list: {}",
                        done.process, done.node, done.value
                    );
                    problems.add(|| Problem::new(text, pair.indices()));
                }
            }
            _ => {}
        }
    }
    reads.sort_by_key(|read| read.completion_index);

    let n = sent.len();
    let words = Bits::words(n);
    // Messages every read after the current one showed; seen by any read; when the last read that lacked
    // each one began (Jepsen's set-full: stable latency runs from the acknowledgement to that moment).
    let mut always_since = vec![u64::MAX; words];
    let mut ever_read = vec![0u64; words];
    let mut last_absent_ns: Vec<Option<u64>> = vec![None; n];
    let mut present = vec![0u64; words];
    let (mut unknown, mut duplicated) = (0usize, 0usize);
    let mut finals: Vec<FinalRead<'_>> = Vec::new();
    for read in reads.iter().rev() {
        present.iter_mut().for_each(|word| *word = 0);
        let values = read.completion.value.get("messages").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
        for value in values {
            match value.as_u64().and_then(|v| by_value.get(&v)) {
                Some(&index) => {
                    if Bits::set(&mut present, index) {
                        duplicated += 1;
                        problems.add(|| {
                            let text = format!(
                                "the read on {} at {} ms holds message {} twice",
                                read.completion.node,
                                read.completion.time_ns / 1_000_000,
                                sent[index].value
                            );
                            Problem::new(text, vec![read.invoke_index, read.completion_index])
                        });
                    }
                }
                None => {
                    unknown += 1;
                    problems.add(|| {
                        let text = format!(
                            "the read on {} at {} ms holds {value}, which no client broadcast",
                            read.completion.node,
                            read.completion.time_ns / 1_000_000
                        );
                        Problem::new(text, vec![read.invoke_index, read.completion_index])
                    });
                }
            }
        }
        for (w, word) in present.iter().enumerate() {
            let mut dropped = always_since[w] & !word;
            while dropped != 0 {
                let bit = dropped.trailing_zeros() as usize;
                dropped &= dropped - 1;
                if let Some(index) = Some(w * 64 + bit).filter(|&i| i < n) {
                    last_absent_ns[index] = Some(ops[read.invoke_index].time_ns);
                }
            }
            always_since[w] &= word;
            ever_read[w] |= word;
        }
        let is_last_final_of_node = read.completion.phase == OpPhase::Final
            && !finals.iter().any(|seen| seen.read.completion.node == read.completion.node);
        if is_last_final_of_node {
            finals.push(FinalRead { read: *read, present: present.clone() });
        }
    }
    // Nodes asked for a final read that gave none.
    for (index, op) in ops.iter().enumerate() {
        let is_final_read = op.phase == OpPhase::Final && op.f == "read" && op.kind != OpKind::Invoke;
        if is_final_read && op.kind != OpKind::Ok && !finals.iter().any(|f| f.read.completion.node == op.node) {
            let why =
                op.error.as_ref().map_or_else(|| "no reply".to_owned(), |(code, text)| format!("{text} ({code})"));
            problems.add(|| Problem::new(format!("the final read on {} failed: {why}", op.node), vec![index]));
        }
    }
    let final_phase = ops.iter().any(|op| op.phase == OpPhase::Final && op.f == "read");
    if !final_phase {
        problems.add(|| Problem::new("no final reads were made: nothing shows what each node ended with", Vec::new()));
    }
    finals.sort_by_key(|f| f.read.completion_index);

    let (mut acknowledged, mut lost, mut missing, mut never_read) = (0usize, 0usize, 0usize, 0usize);
    let mut latencies_ns: Vec<u64> = Vec::new();
    for (index, message) in sent.iter().enumerate() {
        if let Some(ack_index) = message.acked {
            let known_ns = ops[ack_index].time_ns;
            latencies_ns.push(last_absent_ns[index].map_or(0, |absent| absent.saturating_sub(known_ns)));
        }
        let Some(ack_index) = message.acked else {
            if !Bits::get(&ever_read, index) {
                never_read += 1;
            }
            continue;
        };
        acknowledged += 1;
        let lacking: Vec<&FinalRead<'_>> = finals.iter().filter(|f| !Bits::get(&f.present, index)).collect();
        let Some(first) = lacking.first() else { continue };
        missing += 1;
        if lacking.len() == finals.len() {
            lost += 1;
        }
        let ack = &ops[ack_index];
        let others = match lacking.len() - 1 {
            0 => String::new(),
            1 => " and 1 other node".to_owned(),
            k => format!(" and {k} other nodes"),
        };
        let text = format!(
            "message {} was acknowledged to c{} by {} at {} ms but is missing from the final read on {} at {} ms{others}",
            message.value,
            ack.process,
            ack.node,
            ack.time_ns / 1_000_000,
            first.read.completion.node,
            first.read.completion.time_ns / 1_000_000,
        );
        let shown = vec![message.invoke_index, ack_index, first.read.invoke_index, first.read.completion_index];
        problems.add(|| Problem::new(text, shown));
    }
    if acknowledged == 0 && !sent.is_empty() {
        problems.add(|| Problem::new("no broadcast was acknowledged", Vec::new()));
    }
    latencies_ns.sort_unstable();
    let quantile = |q: f64| -> f64 {
        if latencies_ns.is_empty() {
            return 0.0;
        }
        let rank = ((q * latencies_ns.len() as f64).ceil() as usize).clamp(1, latencies_ns.len());
        ms(latencies_ns[rank - 1])
    };
    let metrics = [
        ("acknowledged", acknowledged as f64),
        ("lost", lost as f64),
        ("missing", missing as f64),
        ("never-read", never_read as f64),
        ("unknown", unknown as f64),
        ("duplicated", duplicated as f64),
        ("stable-latency-p50-ms", quantile(0.5)),
        ("stable-latency-p95-ms", quantile(0.95)),
        ("stable-latency-p99-ms", quantile(0.99)),
        ("stable-latency-max-ms", quantile(1.0)),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect();
    let valid = problems.count == 0;
    Validity {
        valid,
        summary: format!(
            "{} broadcasts, {acknowledged} acknowledged, {lost} lost, {missing} missing from some final read, \
             {never_read} never read; {} reads ({} final); stable latency p50 {:.0} ms, max {:.0} ms",
            sent.len(),
            reads.len(),
            finals.len(),
            quantile(0.5),
            quantile(1.0)
        ),
        problems: problems.shown,
        metrics,
        stalled: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Duration;

    /// Builds histories op by op: one client per node, ops at the given milliseconds.
    #[derive(Default)]
    struct Script {
        history: History,
    }

    impl Script {
        fn broadcast(&mut self, node: u32, message: u64, at: u64, ok: bool) -> &mut Self {
            let name = format!("n{node}");
            self.history.invoke(node + 1, "broadcast", json!({"message": message}), ms_(at), &name);
            if ok {
                self.history.complete(node + 1, OpKind::Ok, json!({"type": "broadcast_ok"}), None, ms_(at));
            } else {
                self.history.complete(node + 1, OpKind::Info, Value::Null, Some((0, "timeout".into())), ms_(at));
            }
            self
        }

        fn read(&mut self, node: u32, messages: &[u64], at: u64, phase: OpPhase) -> &mut Self {
            let name = format!("n{node}");
            let process = node + 1 + if phase == OpPhase::Final { 100 } else { 0 };
            self.history.invoke_in(phase, process, "read", json!({}), ms_(at), &name);
            let reply = json!({"type": "read_ok", "messages": messages});
            self.history.complete(process, OpKind::Ok, reply, None, ms_(at));
            self
        }
    }

    fn ms_(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn every_message_everywhere_is_valid_with_its_stable_latency() {
        let mut s = Script::default();
        s.broadcast(0, 0, 10, true)
            .read(1, &[], 20, OpPhase::Load)
            .read(1, &[0], 110, OpPhase::Load)
            .read(0, &[0], 120, OpPhase::Load)
            .broadcast(1, 1, 200, true)
            .read(0, &[0, 1], 300, OpPhase::Load)
            .read(0, &[0, 1], 1000, OpPhase::Final)
            .read(1, &[1, 0], 1000, OpPhase::Final);
        let validity = check(&s.history);
        assert!(validity.valid, "{validity:?}");
        assert_eq!(validity.metrics["acknowledged"], 2.0);
        assert_eq!(validity.metrics["lost"], 0.0);
        // Message 0: acknowledged at 10, last lacked by the read that began at 20: 10 ms.
        // Message 1: acknowledged at 200, lacked by no read after: 0 ms.
        assert_eq!(validity.metrics["stable-latency-p50-ms"], 0.0);
        assert_eq!(validity.metrics["stable-latency-max-ms"], 10.0);
    }

    #[test]
    fn a_message_back_and_gone_again_is_stable_only_after_its_last_absence() {
        let mut s = Script::default();
        s.broadcast(0, 0, 0, true)
            .read(0, &[0], 10, OpPhase::Load)
            .read(1, &[], 50, OpPhase::Load)
            .read(1, &[0], 400, OpPhase::Load)
            .read(0, &[0], 1000, OpPhase::Final)
            .read(1, &[0], 1000, OpPhase::Final);
        let validity = check(&s.history);
        assert!(validity.valid, "{validity:?}");
        // Shown at 10, lacked by the read that began at 50, shown ever after.
        assert_eq!(validity.metrics["stable-latency-max-ms"], 50.0);
    }

    #[test]
    fn a_message_missing_from_one_final_read_names_the_ack_and_that_read() {
        let mut s = Script::default();
        s.broadcast(0, 0, 10, true).broadcast(0, 1, 20, true).read(0, &[0, 1], 1000, OpPhase::Final).read(
            1,
            &[0],
            1001,
            OpPhase::Final,
        );
        let validity = check(&s.history);
        assert!(!validity.valid);
        assert_eq!((validity.metrics["missing"], validity.metrics["lost"]), (1.0, 0.0));
        assert_eq!(validity.problems.len(), 1, "{:?}", validity.problems);
        let problem = &validity.problems[0];
        assert_eq!(
            problem.text,
            "message 1 was acknowledged to c1 by n0 at 20 ms but is missing from the final read on n1 at 1001 ms"
        );
        assert_eq!(problem.ops, vec![2, 3, 6, 7], "the broadcast, its ok, the final read and its reply");
    }

    #[test]
    fn a_message_in_no_final_read_is_lost_and_an_unacknowledged_unseen_one_never_read() {
        let mut s = Script::default();
        s.broadcast(0, 0, 10, true).broadcast(1, 1, 20, false).read(0, &[], 1000, OpPhase::Final).read(
            1,
            &[],
            1000,
            OpPhase::Final,
        );
        let validity = check(&s.history);
        assert!(!validity.valid);
        assert_eq!(validity.metrics["lost"], 1.0);
        assert_eq!(validity.metrics["never-read"], 1.0);
        assert!(validity.problems[0].text.contains("and 1 other node"), "{:?}", validity.problems);
    }

    #[test]
    fn unknown_and_duplicated_values_are_problems() {
        let mut s = Script::default();
        s.broadcast(0, 0, 10, true).read(0, &[0, 0, 99], 1000, OpPhase::Final);
        let validity = check(&s.history);
        assert!(!validity.valid);
        assert_eq!((validity.metrics["unknown"], validity.metrics["duplicated"]), (1.0, 1.0));
    }

    #[test]
    fn without_final_reads_the_run_is_not_valid() {
        let mut s = Script::default();
        s.broadcast(0, 0, 10, true).read(0, &[0], 20, OpPhase::Load);
        let validity = check(&s.history);
        assert!(!validity.valid);
        assert!(validity.problems[0].text.contains("no final reads"), "{:?}", validity.problems);
    }

    #[test]
    fn a_failed_final_read_is_named() {
        let mut s = Script::default();
        s.broadcast(0, 0, 10, true).read(0, &[0], 1000, OpPhase::Final);
        s.history.invoke_in(OpPhase::Final, 102, "read", json!({}), ms_(1000), "n1");
        s.history.complete(102, OpKind::Info, Value::Null, Some((0, "no reply within 5 s".into())), ms_(6000));
        let validity = check(&s.history);
        assert!(!validity.valid);
        assert_eq!(validity.problems[0].text, "the final read on n1 failed: no reply within 5 s (0)");
    }

    #[test]
    fn requests_mix_unique_broadcasts_and_reads_and_setup_sends_the_topology() {
        let mut workload = Broadcast::new(Topology::Line);
        let mut rng = Rng::stream(1, &[]);
        let bodies: Vec<Body> = (0..100).map(|_| workload.request(1, &mut rng)).collect();
        let messages: Vec<u64> = bodies.iter().filter_map(|b| b.field("message").and_then(Value::as_u64)).collect();
        assert!((20..80).contains(&messages.len()), "{}", messages.len());
        assert_eq!(messages, (0..messages.len() as u64).collect::<Vec<_>>());
        let ids: Vec<String> = (0..3).map(|i| format!("n{i}")).collect();
        let setup = workload.setup(&ids);
        assert_eq!(setup.len(), 3);
        assert_eq!(setup[1].1.field("topology"), Some(&json!({"n0": ["n1"], "n1": ["n0", "n2"], "n2": ["n1"]})));
        assert_eq!(workload.final_requests(&ids).len(), 3);
    }

    #[test]
    fn the_check_of_a_large_history_is_quick_enough_to_not_need_a_sample() {
        // 2,000 messages and 2,000 reads each showing everything broadcast so far.
        let mut history = History::default();
        for k in 0..2000u64 {
            let at = ms_(k);
            history.invoke(1, "broadcast", json!({"message": k}), at, "n0");
            history.complete(1, OpKind::Ok, json!({"type": "broadcast_ok"}), None, at);
            history.invoke(2, "read", json!({}), at, "n1");
            history.complete(
                2,
                OpKind::Ok,
                json!({"type": "read_ok", "messages": (0..=k).collect::<Vec<_>>()}),
                None,
                at,
            );
        }
        history.invoke_in(OpPhase::Final, 3, "read", json!({}), ms_(5000), "n0");
        let all: Vec<u64> = (0..2000).collect();
        history.complete(3, OpKind::Ok, json!({"type": "read_ok", "messages": all}), None, ms_(5000));
        let validity = check(&history);
        assert!(validity.valid, "{validity:?}");
        assert_eq!(validity.metrics["stable-latency-max-ms"], 0.0);
    }
}
