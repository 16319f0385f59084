//! Batched gossip: every node sends every event it accepted from a client straight to every other node, so
//! each node can answer every query from its own aggregates, and both sides of a partition keep accepting.
//!
//! A node numbers the events it accepts from clients 0, 1, 2, ... (its origin log; the numbering survives
//! restarts because the log is replayed in order). Every `TICK` it sends each peer one `gossip` message
//! with the next events that peer has not acknowledged: `at` (the number of the first), `n`, a table of
//! the (app, name) series used, and the events packed into one base64 string. The receiver keeps, per
//! origin, `next`: it holds every event of that origin numbered below it. A message that starts at or
//! before `next` extends it; one that starts after it (an earlier message was lost or is late) is refused
//! with `gap`, and the sender goes back. The receiver logs what it learnt before it answers `gossip_ok
//! {next}`, so an acknowledgement is as durable as a client's `record_ok`.
//!
//! Losses, duplicates, reordering, partitions and restarts all reduce to "the peer's `next` is behind what
//! was sent": the sender goes back to the peer's `next` on a `gap`, or when nothing was acknowledged for
//! `RETRANSMIT`. A restarted node does not know what its peers hold, so it first sends an empty probe and
//! resumes from their answer; its peers' `next` for it came back from their own logs. The origin log is
//! trimmed up to what every peer has acknowledged, so in steady state it holds a few ticks of events.

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::time::{Duration, Instant};

use crate::codec::{base64_decode, base64_encode, put_facts, read_facts, CodecError, Fact, Reader};
use crate::protocol::{put_json_str, Outbox};
use crate::store::Store;

pub const TICK: Duration = Duration::from_millis(20);
/// No acknowledgement for this long: send again from the peer's `next`.
const RETRANSMIT: Duration = Duration::from_millis(500);
/// After going back on a `gap`, further gaps (answers to messages sent before the go-back) are ignored
/// for this long, so that a burst of reordered messages causes one resend, not one per message.
const GAP_HOLDOFF: Duration = Duration::from_millis(100);
const MAX_PER_MESSAGE: u64 = 8192;
/// Events sent and not yet acknowledged, at most: bounds what is sent into a partition.
const WINDOW: u64 = 65_536;

struct Peer {
    id: String,
    /// The peer's `next` for this node; `None` until it answered after this process started.
    acked: Option<u64>,
    /// Events below this number have been sent (perhaps not received).
    sent: u64,
    /// When `acked` last grew, or the last go-back; or the last probe.
    progress: Instant,
    gone_back: Option<Instant>,
}

/// What a gossip message changed.
pub struct Receipt {
    /// The receiver's `next` for the origin, to acknowledge.
    pub next: u64,
    pub gap: bool,
    /// Whether `next` grew (then `fresh` and `next` must be logged before acknowledging).
    pub advanced: bool,
    /// The events counted for the first time.
    pub fresh: Vec<Fact>,
}

pub struct Replication {
    /// Events this node accepted from clients, from number `base` on.
    origin: VecDeque<Fact>,
    base: u64,
    peers: Vec<Peer>,
    /// Per origin node: every event it numbered below this is stored here.
    next: HashMap<String, u64>,
}

impl Replication {
    pub fn new() -> Replication {
        Replication { origin: VecDeque::new(), base: 0, peers: Vec::new(), next: HashMap::new() }
    }

    /// Events numbered so far.
    pub fn end(&self) -> u64 {
        self.base + self.origin.len() as u64
    }

    pub fn set_peers(&mut self, me: &str, nodes: &[String], now: Instant) {
        let old = now.checked_sub(RETRANSMIT).unwrap_or(now);
        self.peers = nodes
            .iter()
            .filter(|node| *node != me)
            .map(|id| Peer { id: id.clone(), acked: None, sent: 0, progress: old, gone_back: None })
            .collect();
        // A node alone owes no one anything.
        self.trim();
    }

    /// An event accepted from a client (new everywhere as far as this node knows).
    pub fn accepted(&mut self, fact: Fact) {
        self.origin.push_back(fact);
    }

    /// For the log: per peer what it acknowledged and what was sent; per origin what is held.
    pub fn describe(&self) -> String {
        let mut text = format!("own events {}, kept {}", self.end(), self.origin.len());
        for peer in &self.peers {
            let acked = peer.acked.map_or("?".to_owned(), |acked| acked.to_string());
            text += &format!("; {} acked {acked} sent {}", peer.id, peer.sent);
        }
        for (origin, next) in &self.next {
            text += &format!("; from {origin} {next}");
        }
        text
    }

    /// A `PEER` record of the log, replayed.
    pub fn replayed_peer(&mut self, origin: &str, next: u64) {
        let known = self.next.entry(origin.to_owned()).or_default();
        *known = (*known).max(next);
    }

    /// Applies a `gossip` from `origin`; `series` maps the message's series codes to this node's.
    pub fn receive(
        &mut self,
        origin: &str,
        at: u64,
        n: u64,
        packed: &str,
        series: &[u32],
        store: &mut Store,
    ) -> Result<Receipt, CodecError> {
        let next = self.next.get(origin).copied().unwrap_or(0);
        if at > next {
            return Ok(Receipt { next, gap: true, advanced: false, fresh: Vec::new() });
        }
        let end = at.checked_add(n).ok_or(CodecError("`at` + `n` overflows"))?;
        if end <= next {
            return Ok(Receipt { next, gap: false, advanced: false, fresh: Vec::new() });
        }
        let bytes = base64_decode(packed.as_bytes())?;
        let mut facts = read_facts(&mut Reader::new(&bytes), series.len())?;
        if facts.len() as u64 != n {
            return Err(CodecError("`n` differs from the events packed"));
        }
        let mut fresh = Vec::new();
        for fact in &mut facts[(next - at) as usize..] {
            fact.series = series[fact.series as usize];
            if store.insert(fact) {
                fresh.push(*fact);
            }
        }
        self.next.insert(origin.to_owned(), end);
        Ok(Receipt { next: end, gap: false, advanced: true, fresh })
    }

    /// A `gossip_ok` from `peer`.
    pub fn acknowledged(&mut self, peer: &str, next: u64, gap: bool, now: Instant) {
        let end = self.end();
        let Some(state) = self.peers.iter_mut().find(|p| p.id == peer) else { return };
        if next > end {
            eprintln!("{peer} holds {next} of this node's events, more than the {end} it numbered: log lost?");
        }
        let next = next.min(end);
        match state.acked {
            None => {
                state.acked = Some(next);
                state.sent = next;
                state.progress = now;
            }
            Some(acked) => {
                if next > acked {
                    state.acked = Some(next);
                    state.progress = now;
                }
                let acked = acked.max(next);
                state.sent = state.sent.max(acked);
                // A gap reported below what is acknowledged answers a message older than the acknowledgement.
                let held_off = state.gone_back.is_some_and(|at| now.duration_since(at) < GAP_HOLDOFF);
                if gap && next == acked && next < state.sent && !held_off {
                    state.sent = next;
                    state.gone_back = Some(now);
                }
            }
        }
        self.trim();
    }

    /// Forgets origin events every peer has.
    fn trim(&mut self) {
        let Some(all_have) = self.peers.iter().map(|p| p.acked).min().unwrap_or(Some(self.end())) else { return };
        while self.base < all_have && self.origin.pop_front().is_some() {
            self.base += 1;
        }
    }

    /// Sends each peer what it is owed.
    pub fn tick(&mut self, now: Instant, store: &Store, outbox: &mut Outbox) {
        self.trim();
        let end = self.end();
        for index in 0..self.peers.len() {
            let peer = &mut self.peers[index];
            let Some(acked) = peer.acked else {
                if now.duration_since(peer.progress) >= RETRANSMIT {
                    peer.progress = now;
                    let dest = peer.id.clone();
                    outbox.send(&dest, "gossip", None, |out| {
                        let _ = write!(out, ",\"at\":{end},\"n\":0,\"series\":[],\"packed\":\"\"");
                    });
                }
                continue;
            };
            if acked < peer.sent && now.duration_since(peer.progress) >= RETRANSMIT {
                peer.sent = acked;
                peer.progress = now;
            }
            if peer.sent >= end || peer.sent.saturating_sub(acked) >= WINDOW {
                continue;
            }
            if acked == peer.sent {
                // Nothing outstanding: the retransmission clock starts with this message.
                peer.progress = now;
            }
            let from = peer.sent;
            let to = end.min(from + MAX_PER_MESSAGE).min(acked + WINDOW);
            peer.sent = to;
            let dest = peer.id.clone();
            let first = (from - self.base) as usize;
            let facts = self.origin.range(first..first + (to - from) as usize);
            send_gossip(outbox, &dest, from, facts, store);
        }
    }
}

fn send_gossip<'f>(
    outbox: &mut Outbox,
    dest: &str,
    at: u64,
    facts: impl ExactSizeIterator<Item = &'f Fact>,
    store: &Store,
) {
    let n = facts.len();
    let mut codes: HashMap<u32, u32> = HashMap::new();
    let mut table: Vec<u32> = Vec::new();
    let mut bytes = Vec::with_capacity(n * 22);
    put_facts(&mut bytes, facts, |series| {
        *codes.entry(series).or_insert_with(|| {
            table.push(series);
            table.len() as u32 - 1
        })
    });
    outbox.send(dest, "gossip", None, |out| {
        let _ = write!(out, ",\"at\":{at},\"n\":{n},\"series\":[");
        for (i, &series) in table.iter().enumerate() {
            let (app, name) = store.series_key(series);
            out.extend_from_slice(if i == 0 { b"[" } else { b",[" });
            put_json_str(out, app);
            out.push(b',');
            put_json_str(out, name);
            out.push(b']');
        }
        out.extend_from_slice(b"],\"packed\":\"");
        base64_encode(&bytes, out);
        out.push(b'"');
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Message;

    fn fact(store: &mut Store, id: u64) -> Fact {
        let (series, _) = store.intern("app", "name");
        Fact { id, ts: 1000 + id as i64, series, user: (id % 3) as u32 }
    }

    /// One gossip message as it left.
    struct Sent {
        at: u64,
        n: u64,
        series: Vec<(String, String)>,
        packed: String,
    }

    /// The gossip messages in `outbox`, all to n1.
    fn gossips(outbox: &mut Outbox) -> Vec<Sent> {
        let lines = std::mem::take(&mut outbox.lines);
        lines
            .split(|&b| b == b'\n')
            .filter(|line| !line.is_empty())
            .map(|line| {
                let value: serde_json::Value = serde_json::from_slice(line).expect("json line");
                assert_eq!(value["dest"], "n1");
                let body = serde_json::from_slice::<Message>(line).expect("typed").body;
                Sent {
                    at: body.at.expect("at"),
                    n: body.n.expect("n"),
                    series: body.series.unwrap_or_default().into_iter().map(|(a, n)| (a.into(), n.into())).collect(),
                    packed: body.packed.expect("packed").into_owned(),
                }
            })
            .collect()
    }

    fn deliver(replication: &mut Replication, store: &mut Store, gossip: &Sent) -> Receipt {
        let series: Vec<u32> = gossip.series.iter().map(|(app, name)| store.intern(app, name).0).collect();
        replication.receive("n0", gossip.at, gossip.n, &gossip.packed, &series, store).expect("decodes")
    }

    #[test]
    fn a_restarted_sender_probes_then_resumes_where_the_peer_is() {
        let now = Instant::now();
        let mut sender_store = Store::default();
        let mut sender = Replication::new();
        for id in 0..10 {
            let fact = fact(&mut sender_store, id);
            sender_store.insert(&fact);
            sender.accepted(fact);
        }
        sender.set_peers("n0", &["n0".into(), "n1".into()], now);
        let mut outbox = Outbox::new();
        sender.tick(now, &sender_store, &mut outbox);
        let probe = gossips(&mut outbox);
        assert_eq!(probe.len(), 1);
        assert_eq!((probe[0].at, probe[0].n), (10, 0), "a probe carries no events");

        // The peer already had the first 6 events.
        sender.acknowledged("n1", 6, true, now);
        sender.tick(now + TICK, &sender_store, &mut outbox);
        let sent = gossips(&mut outbox);
        assert_eq!((sent[0].at, sent[0].n), (6, 4));

        let mut receiver_store = Store::default();
        let mut receiver = Replication::new();
        receiver.replayed_peer("n0", 6);
        let receipt = deliver(&mut receiver, &mut receiver_store, &sent[0]);
        assert_eq!((receipt.next, receipt.fresh.len()), (10, 4));
        sender.acknowledged("n1", receipt.next, receipt.gap, now + TICK * 2);
        assert_eq!(sender.origin.len(), 0, "everything acknowledged is trimmed");
    }

    #[test]
    fn a_lost_message_is_refused_as_a_gap_and_sent_again() {
        let now = Instant::now();
        let mut store = Store::default();
        let mut sender = Replication::new();
        sender.set_peers("n0", &["n0".into(), "n1".into()], now);
        sender.acknowledged("n1", 0, false, now);
        let mut outbox = Outbox::new();
        let mut messages = Vec::new();
        for round in 0..2u32 {
            for id in 0..3 {
                let fact = fact(&mut store, u64::from(round) * 10 + id);
                store.insert(&fact);
                sender.accepted(fact);
            }
            sender.tick(now + TICK * round, &store, &mut outbox);
            messages.extend(gossips(&mut outbox));
        }
        assert_eq!(messages.iter().map(|m| (m.at, m.n)).collect::<Vec<_>>(), vec![(0, 3), (3, 3)]);

        let mut receiver_store = Store::default();
        let mut receiver = Replication::new();
        let receipt = deliver(&mut receiver, &mut receiver_store, &messages[1]);
        assert!(receipt.gap && receipt.next == 0 && receipt.fresh.is_empty());
        sender.acknowledged("n1", receipt.next, receipt.gap, now + TICK * 2);
        sender.tick(now + TICK * 3, &store, &mut outbox);
        let again = gossips(&mut outbox);
        assert_eq!((again[0].at, again[0].n), (0, 6));
        let receipt = deliver(&mut receiver, &mut receiver_store, &again[0]);
        assert_eq!((receipt.next, receipt.fresh.len()), (6, 6));
        // The late first message is now a duplicate: nothing is counted twice.
        let receipt = deliver(&mut receiver, &mut receiver_store, &messages[0]);
        assert!(!receipt.advanced && receipt.fresh.is_empty() && receipt.next == 6);
        assert_eq!(receiver_store.count("app", None, 0, 10_000), 6);
    }

    #[test]
    fn an_overlapping_message_counts_only_its_new_part_and_known_ids_once() {
        let mut store = Store::default();
        let mut receiver = Replication::new();
        let facts: Vec<Fact> = (0..5).map(|id| fact(&mut store, id)).collect();
        // Event 4 was already learnt from elsewhere (a client retried it at this node).
        store.insert(&facts[4]);
        receiver.replayed_peer("n0", 2);
        let mut bytes = Vec::new();
        put_facts(&mut bytes, facts.iter(), |_| 0);
        let mut packed = Vec::new();
        base64_encode(&bytes, &mut packed);
        let packed = String::from_utf8(packed).expect("ascii");
        let series = [facts[0].series];
        let receipt = receiver.receive("n0", 0, 5, &packed, &series, &mut store).expect("decodes");
        assert_eq!(receipt.next, 5);
        assert_eq!(receipt.fresh.iter().map(|f| f.id).collect::<Vec<_>>(), vec![2, 3]);
        assert!(receiver.receive("n0", 0, 4, &packed, &series, &mut store).is_ok(), "a duplicate is not decoded");
        assert!(receiver.receive("n0", 0, 6, &packed, &series, &mut store).is_err(), "n must match");
    }

    #[test]
    fn a_late_gap_below_the_acknowledged_mark_is_ignored() {
        let now = Instant::now();
        let mut store = Store::default();
        let mut sender = Replication::new();
        sender.set_peers("n0", &["n0".into(), "n1".into()], now);
        sender.acknowledged("n1", 0, false, now);
        for id in 0..200 {
            let fact = fact(&mut store, id);
            sender.accepted(fact);
        }
        let mut outbox = Outbox::new();
        sender.tick(now, &store, &mut outbox);
        sender.acknowledged("n1", 120, false, now);
        // A reordered answer to an older message: it must not move the sender below what is acknowledged.
        sender.acknowledged("n1", 80, true, now);
        let peer = &sender.peers[0];
        assert_eq!((peer.acked, peer.sent), (Some(120), 200));
        sender.acknowledged("n1", 120, true, now);
        assert_eq!(sender.peers[0].sent, 120, "a gap at the acknowledged mark goes back to it");
    }

    #[test]
    fn nothing_is_sent_into_a_partition_beyond_the_window() {
        let now = Instant::now();
        let mut store = Store::default();
        let mut sender = Replication::new();
        sender.set_peers("n0", &["n0".into(), "n1".into()], now);
        sender.acknowledged("n1", 0, false, now);
        let (series, _) = store.intern("app", "name");
        for id in 0..(WINDOW + 10_000) {
            sender.accepted(Fact { id, ts: 0, series, user: 0 });
        }
        let mut outbox = Outbox::new();
        let mut sent = 0;
        for round in 0..20 {
            sender.tick(now + TICK * round, &store, &mut outbox);
            sent += gossips(&mut outbox).iter().map(|m| m.n).sum::<u64>();
        }
        assert_eq!(sent, WINDOW);
    }
}
