//! Broadcast node for the Maelstrom protocol (Gossip Glomers challenge 3).
//!
//! Every node keeps the set of messages it has seen. Messages travel over a star: the first node of
//! `node_ids` is the hub and every other node talks only to the hub. The topology the workload suggests
//! is acknowledged but not used: a star reaches every node in two hops, which keeps latency low and the
//! message count small.
//!
//! Gossip is batched and retried: every `GOSSIP_INTERVAL` each node sends each neighbour, in one message,
//! everything that neighbour has not acknowledged yet; the neighbour answers `gossip_ok` naming what it
//! got. A gossip lost to a partition is simply sent again at the next tick, so every message arrives
//! once the network heals.
//!
//! One thread reads stdin and hands each message to the main thread, which owns all the state and wakes
//! up either for a message or for the next gossip tick.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, BufRead, Write};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const GOSSIP_INTERVAL: Duration = Duration::from_millis(200);

#[derive(Default)]
struct Node {
    id: String,
    next_msg_id: u64,
    seen: BTreeSet<u64>,
    /// For each neighbour: the messages it has not acknowledged yet.
    unacked: BTreeMap<String, BTreeSet<u64>>,
}

impl Node {
    fn send(&mut self, out: &mut impl Write, dest: &str, mut body: Value) -> io::Result<()> {
        self.next_msg_id += 1;
        body["msg_id"] = self.next_msg_id.into();
        writeln!(out, "{}", json!({"src": self.id, "dest": dest, "body": body}))
    }

    fn reply(&mut self, out: &mut impl Write, request: &Value, mut body: Value) -> io::Result<()> {
        body["in_reply_to"] = request["body"]["msg_id"].clone();
        let dest = request["src"].as_str().unwrap_or_default();
        self.send(out, dest, body)
    }

    /// Records messages; each new one is queued for every neighbour but the one it came from.
    fn learn(&mut self, messages: &[u64], source: Option<&str>) {
        for &message in messages {
            if self.seen.insert(message) {
                for (neighbour, pending) in &mut self.unacked {
                    if Some(neighbour.as_str()) != source {
                        pending.insert(message);
                    }
                }
            }
        }
    }

    fn acknowledged(&mut self, neighbour: &str, messages: &[u64]) {
        if let Some(pending) = self.unacked.get_mut(neighbour) {
            for message in messages {
                pending.remove(message);
            }
        }
    }

    fn handle(&mut self, out: &mut impl Write, request: &Value) -> io::Result<()> {
        let body = &request["body"];
        let source = request["src"].as_str().unwrap_or_default();
        match body["type"].as_str().unwrap_or_default() {
            "init" => {
                self.id = body["node_id"].as_str().unwrap_or_default().to_owned();
                let nodes: Vec<&str> =
                    body["node_ids"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
                let neighbours: Vec<&str> = match nodes.split_first() {
                    Some((hub, others)) if *hub == self.id => others.to_vec(),
                    Some((hub, _)) => vec![hub],
                    None => Vec::new(),
                };
                self.unacked = neighbours.iter().map(|n| (n.to_string(), BTreeSet::new())).collect();
                eprintln!("node {} initialised, neighbours {neighbours:?}", self.id);
                self.reply(out, request, json!({"type": "init_ok"}))
            }
            "topology" => self.reply(out, request, json!({"type": "topology_ok"})),
            "broadcast" => {
                if let Some(message) = body["message"].as_u64() {
                    self.learn(&[message], None);
                }
                self.reply(out, request, json!({"type": "broadcast_ok"}))
            }
            "read" => {
                let messages: Vec<u64> = self.seen.iter().copied().collect();
                self.reply(out, request, json!({"type": "read_ok", "messages": messages}))
            }
            "gossip" => {
                let messages = numbers(&body["messages"]);
                // The sender has these: no need to send them back.
                self.acknowledged(source, &messages);
                self.learn(&messages, Some(source));
                self.reply(out, request, json!({"type": "gossip_ok", "messages": messages}))
            }
            "gossip_ok" => {
                self.acknowledged(source, &numbers(&body["messages"]));
                Ok(())
            }
            kind if body.get("msg_id").is_some() => {
                let text = format!("unsupported message type {kind}");
                self.reply(out, request, json!({"type": "error", "code": 10, "text": text}))
            }
            _ => Ok(()),
        }
    }

    fn gossip(&mut self, out: &mut impl Write) -> io::Result<()> {
        let batches: Vec<(String, Vec<u64>)> = self
            .unacked
            .iter()
            .filter(|(_, pending)| !pending.is_empty())
            .map(|(neighbour, pending)| (neighbour.clone(), pending.iter().copied().collect()))
            .collect();
        for (neighbour, messages) in batches {
            self.send(out, &neighbour, json!({"type": "gossip", "messages": messages}))?;
        }
        Ok(())
    }
}

fn numbers(value: &Value) -> Vec<u64> {
    value.as_array().into_iter().flatten().filter_map(Value::as_u64).collect()
}

/// Reads stdin on a thread of its own, so the main loop can wait for a message or a tick, whichever
/// comes first.
fn spawn_reader() -> mpsc::Receiver<Value> {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        for line in io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Value>(&line) {
                Ok(message) => {
                    if sender.send(message).is_err() {
                        break;
                    }
                }
                Err(error) => eprintln!("ignoring a line that is not JSON ({error})"),
            }
        }
    });
    receiver
}

fn main() -> io::Result<()> {
    let messages = spawn_reader();
    let mut out = io::BufWriter::new(io::stdout().lock());
    let mut node = Node::default();
    let mut next_gossip = Instant::now() + GOSSIP_INTERVAL;
    loop {
        // Checked before waiting, so a steady stream of requests cannot starve the gossip.
        let now = Instant::now();
        if now >= next_gossip {
            node.gossip(&mut out)?;
            next_gossip = now + GOSSIP_INTERVAL;
        }
        match messages.recv_timeout(next_gossip - now) {
            Ok(message) => node.handle(&mut out, &message)?,
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return out.flush(),
        }
        out.flush()?;
    }
}
