//! The simulated network between nodes (and between nodes and services): every such message goes
//! through here and waits in one delivery queue ordered by delivery time. Latency (constant, uniform,
//! exponential), loss, duplication and reordering are drawn per message; partitions are, per receiver, a
//! set of blocked senders. Client traffic does not come here: latency there would hide anomalies.
//!
//! Replays: the fate of the k-th message from A to B is drawn from the seed's stream for (A, B, k), so a
//! seed gives the same decisions for the same traffic however the nodes' threads interleave. Every
//! decision is written to the trace.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::io::{self, Write};
use std::time::Duration;

use serde::Serialize;

use super::message::Message;
use super::rng::{Rng, label};

/// Label of the network's streams under the run's seed.
const NETWORK_STREAM: u64 = 1;

/// How long a message between two servers takes.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Latency {
    #[default]
    None,
    Constant(Duration),
    /// Uniform in [0, 2 × mean).
    Uniform {
        mean: Duration,
    },
    Exponential {
        mean: Duration,
    },
}

/// The network's faults. Probabilities are per message, in [0, 1].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NetworkConfig {
    pub latency: Latency,
    pub loss: f64,
    pub duplicate: f64,
    /// Chance that a message is held back by up to `reorder_delay` more, so later ones overtake it.
    pub reorder: f64,
    pub reorder_delay: Duration,
}

/// One entry of the network trace.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetEvent {
    /// When, in microseconds since the run started (not part of what a replay reproduces).
    pub at_us: u64,
    #[serde(flatten)]
    pub kind: NetEventKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum NetEventKind {
    Message {
        src: String,
        dest: String,
        /// Which message on this link, from 0.
        link_seq: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        msg_id: Option<u64>,
        fate: Fate,
    },
    Partition {
        groups: Vec<Vec<String>>,
    },
    Heal,
    /// The nemesis killed a node's processes.
    Crash {
        node: String,
    },
    /// A crashed node started again (a new incarnation, sent `init` again).
    Restart {
        node: String,
        incarnation: u32,
    },
    /// The nemesis stopped a node (SIGSTOP).
    Pause {
        node: String,
    },
    Resume {
        node: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fate {
    /// Delivered once, or more than once when duplicated: the delay of each copy in microseconds.
    Delivered {
        delays_us: Vec<u64>,
    },
    Dropped {
        reason: DropReason,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    Partition,
    Loss,
}

#[derive(Debug)]
struct Queued {
    at: Duration,
    order: u64,
    message: Message,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.order) == (other.at, other.order)
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.order).cmp(&(other.at, other.order))
    }
}

/// The network of one run.
#[derive(Debug)]
pub struct Network {
    config: NetworkConfig,
    seed: u64,
    queue: BinaryHeap<Reverse<Queued>>,
    order: u64,
    link_counts: HashMap<(u64, u64), u64>,
    /// Receiver -> senders it cannot hear.
    blocked: HashMap<String, HashSet<String>>,
    trace: Vec<NetEvent>,
    sent: u64,
}

impl Network {
    #[must_use]
    pub fn new(config: NetworkConfig, seed: u64) -> Network {
        Network {
            config,
            seed,
            queue: BinaryHeap::new(),
            order: 0,
            link_counts: HashMap::new(),
            blocked: HashMap::new(),
            trace: Vec::new(),
            sent: 0,
        }
    }

    /// Accepts a message sent at `now` (since the run started). `faults` false: latency only, never
    /// lost, duplicated or partitioned (traffic with the built-in services).
    pub fn submit(&mut self, now: Duration, message: Message, faults: bool) {
        self.sent += 1;
        let link = (label(&message.src), label(&message.dest));
        let counter = self.link_counts.entry(link).or_insert(0);
        let link_seq = *counter;
        *counter += 1;
        let mut rng = Rng::stream(self.seed, &[NETWORK_STREAM, link.0, link.1, link_seq]);
        let fate = self.decide(&mut rng, &message, faults);
        if let Fate::Delivered { delays_us } = &fate {
            for &delay in delays_us {
                self.order += 1;
                let queued =
                    Queued { at: now + Duration::from_micros(delay), order: self.order, message: message.clone() };
                self.queue.push(Reverse(queued));
            }
        }
        let msg_id = message.body.msg_id;
        let Message { src, dest, .. } = message;
        self.record(now, NetEventKind::Message { src, dest, link_seq, msg_id, fate });
    }

    fn decide(&self, rng: &mut Rng, message: &Message, faults: bool) -> Fate {
        // Every draw is made whatever the outcome, so one knob does not shift the others' decisions.
        let lost = rng.chance(self.config.loss);
        let duplicated = rng.chance(self.config.duplicate);
        let delays_us: Vec<u64> = (0..2).map(|_| self.delay_us(rng)).collect();
        if faults && self.is_blocked(&message.src, &message.dest) {
            return Fate::Dropped { reason: DropReason::Partition };
        }
        if faults && lost {
            return Fate::Dropped { reason: DropReason::Loss };
        }
        let copies = if faults && duplicated { 2 } else { 1 };
        Fate::Delivered { delays_us: delays_us[..copies].to_vec() }
    }

    fn delay_us(&self, rng: &mut Rng) -> u64 {
        let micros = |d: Duration| d.as_micros() as f64;
        let base = match self.config.latency {
            Latency::None => 0.0,
            Latency::Constant(delay) => micros(delay),
            Latency::Uniform { mean } => rng.unit() * 2.0 * micros(mean),
            Latency::Exponential { mean } => rng.exponential(micros(mean)),
        };
        let held = rng.chance(self.config.reorder);
        let extra = rng.unit() * micros(self.config.reorder_delay);
        (base + if held { extra } else { 0.0 }).round() as u64
    }

    /// The next message due at or before `now`.
    pub fn pop_due(&mut self, now: Duration) -> Option<Message> {
        if self.queue.peek()?.0.at <= now { self.queue.pop().map(|Reverse(queued)| queued.message) } else { None }
    }

    /// When the next message is due.
    #[must_use]
    pub fn next_due(&self) -> Option<Duration> {
        self.queue.peek().map(|Reverse(queued)| queued.at)
    }

    /// Messages still in flight.
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.queue.len()
    }

    /// Messages submitted so far.
    #[must_use]
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// Whether `receiver` cannot hear `sender`.
    #[must_use]
    pub fn is_blocked(&self, sender: &str, receiver: &str) -> bool {
        self.blocked.get(receiver).is_some_and(|senders| senders.contains(sender))
    }

    /// Splits the nodes into groups that cannot hear each other (replacing any partition in force).
    pub fn partition(&mut self, now: Duration, groups: Vec<Vec<String>>) {
        self.blocked.clear();
        for (i, group) in groups.iter().enumerate() {
            for (j, other) in groups.iter().enumerate() {
                if i != j {
                    for receiver in group {
                        self.blocked.entry(receiver.clone()).or_default().extend(other.iter().cloned());
                    }
                }
            }
        }
        self.record(now, NetEventKind::Partition { groups });
    }

    pub fn heal(&mut self, now: Duration) {
        self.blocked.clear();
        self.record(now, NetEventKind::Heal);
    }

    /// Whether some node cannot hear some other.
    #[must_use]
    pub fn is_partitioned(&self) -> bool {
        self.blocked.values().any(|senders| !senders.is_empty())
    }

    /// Records something that happened to a node (a crash, a pause) in the trace, where it sits among the
    /// messages it explains.
    pub fn note(&mut self, now: Duration, event: NetEventKind) {
        self.record(now, event);
    }

    #[must_use]
    pub fn trace(&self) -> &[NetEvent] {
        &self.trace
    }

    /// The trace as JSON lines.
    pub fn write_trace(&self, out: &mut impl Write) -> io::Result<()> {
        write_trace(&self.trace, out)
    }

    fn record(&mut self, now: Duration, kind: NetEventKind) {
        self.trace.push(NetEvent { at_us: now.as_micros() as u64, kind });
    }
}

/// A trace as JSON lines.
pub fn write_trace(trace: &[NetEvent], out: &mut impl Write) -> io::Result<()> {
    for event in trace {
        serde_json::to_writer(&mut *out, event)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// One node (by index) cut off from all the others.
#[must_use]
pub fn isolate(nodes: &[String], index: usize) -> Vec<Vec<String>> {
    let others = nodes.iter().enumerate().filter(|(i, _)| *i != index).map(|(_, id)| id.clone()).collect();
    vec![vec![nodes[index].clone()], others]
}

/// Two halves of the nodes picked at random (the larger half first when the count is odd).
pub fn random_halves(rng: &mut Rng, nodes: &[String]) -> Vec<Vec<String>> {
    let mut shuffled = nodes.to_vec();
    rng.shuffle(&mut shuffled);
    let minority = shuffled.split_off(shuffled.len().div_ceil(2));
    vec![shuffled, minority]
}

/// The message decisions of a trace, (src, dest, link_seq, fate), in a replay-stable order (by link, then
/// by place on the link). Times and msg_ids are left out: they depend on the nodes, not on the seed.
#[must_use]
pub fn message_decisions(trace: &[NetEvent]) -> Vec<(&str, &str, u64, &Fate)> {
    let mut decisions: Vec<(&str, &str, u64, &Fate)> = trace
        .iter()
        .filter_map(|event| match &event.kind {
            NetEventKind::Message { src, dest, link_seq, fate, .. } => {
                Some((src.as_str(), dest.as_str(), *link_seq, fate))
            }
            _ => None,
        })
        .collect();
    decisions.sort_by_key(|&(src, dest, link_seq, _)| (src, dest, link_seq));
    decisions
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::protocol::message::Body;

    fn message(src: &str, dest: &str, id: u64) -> Message {
        let mut body = Body::new("gossip");
        body.msg_id = Some(id);
        Message { src: src.into(), dest: dest.into(), body }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn faulty() -> NetworkConfig {
        NetworkConfig {
            latency: Latency::Exponential { mean: ms(10) },
            loss: 0.2,
            duplicate: 0.2,
            reorder: 0.3,
            reorder_delay: ms(50),
        }
    }

    fn drain(network: &mut Network) -> Vec<Message> {
        let mut delivered = Vec::new();
        while let Some(at) = network.next_due() {
            delivered.extend(network.pop_due(at));
        }
        delivered
    }

    #[test]
    fn messages_come_out_in_delivery_time_order() {
        let config = NetworkConfig { latency: Latency::Constant(ms(5)), ..NetworkConfig::default() };
        let mut network = Network::new(config, 1);
        network.submit(ms(10), message("n0", "n1", 1), true);
        network.submit(ms(3), message("n0", "n1", 2), true);
        assert_eq!(network.pop_due(ms(7)), None);
        assert_eq!(network.next_due(), Some(ms(8)));
        assert_eq!(network.pop_due(ms(8)).map(|m| m.body.msg_id), Some(Some(2)));
        assert_eq!(network.pop_due(ms(100)).map(|m| m.body.msg_id), Some(Some(1)));
        assert_eq!(network.in_flight(), 0);
    }

    #[test]
    fn a_partition_blocks_across_groups_only_and_heals() {
        let mut network = Network::new(NetworkConfig::default(), 1);
        network.partition(ms(0), vec![vec!["n0".into(), "n1".into()], vec!["n2".into()]]);
        assert!(network.is_blocked("n0", "n2") && network.is_blocked("n2", "n1"));
        assert!(!network.is_blocked("n0", "n1"));
        network.submit(ms(1), message("n2", "n0", 1), true);
        network.submit(ms(1), message("n1", "n0", 2), true);
        network.submit(ms(1), message("n2", "seq-kv", 3), false);
        let delivered: Vec<_> = drain(&mut network).into_iter().map(|m| m.body.msg_id).collect();
        assert_eq!(delivered, vec![Some(2), Some(3)]);
        assert!(network.is_partitioned());
        network.heal(ms(2));
        assert!(!network.is_blocked("n0", "n2") && !network.is_partitioned());
        let kinds: Vec<_> = network.trace().iter().map(|e| &e.kind).collect();
        assert!(matches!(
            kinds[1],
            NetEventKind::Message { fate: Fate::Dropped { reason: DropReason::Partition }, .. }
        ));
        assert_eq!(kinds.last(), Some(&&NetEventKind::Heal));
    }

    #[test]
    fn faults_happen_at_roughly_their_rates() {
        let mut network = Network::new(faulty(), 42);
        for id in 0..2000 {
            network.submit(ms(0), message("n0", "n1", id), true);
        }
        let (mut lost, mut duplicated) = (0, 0);
        for event in network.trace() {
            match &event.kind {
                NetEventKind::Message { fate: Fate::Dropped { reason: DropReason::Loss }, .. } => lost += 1,
                NetEventKind::Message { fate: Fate::Delivered { delays_us }, .. } if delays_us.len() == 2 => {
                    duplicated += 1;
                }
                _ => {}
            }
        }
        assert!((300..500).contains(&lost), "{lost}");
        assert!((250..400).contains(&duplicated), "{duplicated}");
        let delivered = drain(&mut network);
        assert_eq!(delivered.len(), 2000 - lost + duplicated);
        let ids: Vec<_> = delivered.iter().map(|m| m.body.msg_id).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        assert_ne!(ids, sorted, "latency and reordering change the order");
    }

    #[test]
    fn a_seed_replays_the_same_decisions_whatever_the_interleaving_across_links() {
        let run = |seed: u64, forward: bool| {
            let mut network = Network::new(faulty(), seed);
            let mut sends: Vec<(&str, &str, u64)> = Vec::new();
            for id in 0..200 {
                sends.push(("n0", "n1", id));
                sends.push(("n1", "n2", id));
            }
            if !forward {
                // Same order within each link, different interleaving between links.
                sends.sort_by_key(|(src, _, _)| std::cmp::Reverse(*src));
            }
            for (src, dest, id) in sends {
                network.submit(ms(id), message(src, dest, id), true);
            }
            message_decisions(network.trace())
                .into_iter()
                .map(|(s, d, k, f)| (s.to_owned(), d.to_owned(), k, f.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(9, true), run(9, false));
        assert_ne!(run(9, true), run(10, true));
    }

    #[test]
    fn random_halves_cover_every_node_once() {
        let nodes: Vec<String> = (0..5).map(|i| format!("n{i}")).collect();
        let groups = random_halves(&mut Rng::stream(1, &[]), &nodes);
        assert_eq!((groups[0].len(), groups[1].len()), (3, 2));
        let mut all: Vec<String> = groups.concat();
        all.sort();
        assert_eq!(all, nodes);
    }

    #[test]
    fn the_trace_is_json_lines() {
        let mut network = Network::new(NetworkConfig::default(), 1);
        network.submit(ms(1), message("n0", "n1", 7), true);
        network.heal(ms(2));
        let mut out = Vec::new();
        network.write_trace(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            r#"{"at_us":1000,"event":"message","src":"n0","dest":"n1","link_seq":0,"msg_id":7,"fate":{"delivered":{"delays_us":[0]}}}"#
        );
        assert_eq!(lines[1], r#"{"at_us":2000,"event":"heal"}"#);
        network.note(ms(3), NetEventKind::Restart { node: "n1".into(), incarnation: 1 });
        let mut out = Vec::new();
        network.write_trace(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().nth(2), Some(r#"{"at_us":3000,"event":"restart","node":"n1","incarnation":1}"#));
    }
}
