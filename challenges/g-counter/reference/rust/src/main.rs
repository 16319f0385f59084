//! Grow-only counter node for the Maelstrom protocol (Gossip Glomers challenge 4).
//!
//! A state-based CRDT: each node keeps, for every node, the largest total it knows that node has added.
//! An add raises this node's own entry; a read answers the sum of all entries. Two such maps merge by
//! taking the larger value of each entry, so gossip may arrive late, twice or out of order.
//!
//! Every `GOSSIP_INTERVAL` a node sends its whole map to each peer that has not acknowledged its current
//! sum (entries only grow, so a larger sum means newer knowledge). A gossip lost to a partition is sent
//! again at the next tick: once the network heals, every node converges on the same sum.
//!
//! One thread reads stdin and hands each message to the main thread, which owns all the state and wakes
//! up either for a message or for the next gossip tick.

use std::collections::BTreeMap;
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
    counts: BTreeMap<String, u64>,
    /// For each peer: the largest sum of ours it has acknowledged.
    acked: BTreeMap<String, u64>,
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

    fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    fn handle(&mut self, out: &mut impl Write, request: &Value) -> io::Result<()> {
        let body = &request["body"];
        match body["type"].as_str().unwrap_or_default() {
            "init" => {
                self.id = body["node_id"].as_str().unwrap_or_default().to_owned();
                let nodes = body["node_ids"].as_array().into_iter().flatten().filter_map(Value::as_str);
                self.acked = nodes.filter(|node| *node != self.id).map(|peer| (peer.to_owned(), 0)).collect();
                eprintln!("node {} initialised", self.id);
                self.reply(out, request, json!({"type": "init_ok"}))
            }
            "add" => {
                *self.counts.entry(self.id.clone()).or_default() += body["delta"].as_u64().unwrap_or(0);
                self.reply(out, request, json!({"type": "add_ok"}))
            }
            "read" => {
                let value = self.total();
                self.reply(out, request, json!({"type": "read_ok", "value": value}))
            }
            "gossip" => {
                let mut sum = 0;
                for (node, count) in body["counts"].as_object().into_iter().flatten() {
                    let count = count.as_u64().unwrap_or(0);
                    sum += count;
                    let known = self.counts.entry(node.clone()).or_default();
                    *known = (*known).max(count);
                }
                self.reply(out, request, json!({"type": "gossip_ok", "sum": sum}))
            }
            "gossip_ok" => {
                let source = request["src"].as_str().unwrap_or_default();
                if let Some(acked) = self.acked.get_mut(source) {
                    *acked = (*acked).max(body["sum"].as_u64().unwrap_or(0));
                }
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
        let total = self.total();
        let behind: Vec<String> =
            self.acked.iter().filter(|(_, acked)| **acked < total).map(|(peer, _)| peer.clone()).collect();
        for peer in behind {
            let counts = json!(self.counts);
            self.send(out, &peer, json!({"type": "gossip", "counts": counts}))?;
        }
        Ok(())
    }
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
