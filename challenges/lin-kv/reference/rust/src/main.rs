//! Linearizable key-value node for the Maelstrom protocol (Maelstrom's `lin-kv` workload).
//!
//! One node, n0, is the leader: it alone holds the map and applies every request, one at a time, so the
//! order in which it applies them is a linearization. Every other node forwards each client request to n0
//! under a msg_id of its own, remembers which client request that msg_id stands for, and relays n0's reply
//! (with `in_reply_to` set back to the client's msg_id) when it comes.
//!
//! No request is ever answered from a copy of the map, so a read can never be stale. The price: every
//! request on another node costs two extra messages and a round trip to n0, and nothing is served if n0
//! is down (fine for this challenge, which has no faults; a real system would elect a new leader).

use std::collections::HashMap;
use std::io::{self, BufRead, Write};

use serde_json::{json, Map, Value};

const LEADER: &str = "n0";
const NOT_SUPPORTED: u64 = 10;
const KEY_DOES_NOT_EXIST: u64 = 20;
const PRECONDITION_FAILED: u64 = 22;

#[derive(Default)]
struct Node {
    id: String,
    next_msg_id: u64,
    /// The map, only on the leader; keys as their JSON text, so any JSON key works.
    values: HashMap<String, Value>,
    /// On the others: our msg_id of a forwarded request -> (client, the client's msg_id).
    forwarded: HashMap<u64, (String, Value)>,
}

fn error(code: u64, text: String) -> Value {
    json!({"type": "error", "code": code, "text": text})
}

impl Node {
    fn send(&mut self, out: &mut impl Write, dest: &str, mut body: Value) -> io::Result<u64> {
        self.next_msg_id += 1;
        body["msg_id"] = self.next_msg_id.into();
        writeln!(out, "{}", json!({"src": self.id, "dest": dest, "body": body}))?;
        Ok(self.next_msg_id)
    }

    fn reply(&mut self, out: &mut impl Write, request: &Value, mut body: Value) -> io::Result<()> {
        body["in_reply_to"] = request["body"]["msg_id"].clone();
        let dest = request["src"].as_str().unwrap_or_default();
        self.send(out, dest, body).map(drop)
    }

    /// The reply body to a read, write or cas, applied to the map.
    fn apply(&mut self, body: &Value) -> Value {
        let key = body["key"].to_string();
        match body["type"].as_str().unwrap_or_default() {
            "read" => match self.values.get(&key) {
                Some(value) => json!({"type": "read_ok", "value": value}),
                None => error(KEY_DOES_NOT_EXIST, format!("no key {key}")),
            },
            "write" => {
                self.values.insert(key, body["value"].clone());
                json!({"type": "write_ok"})
            }
            _ => match self.values.get_mut(&key) {
                None if body["create_if_not_exists"] == json!(true) => {
                    self.values.insert(key, body["to"].clone());
                    json!({"type": "cas_ok"})
                }
                None => error(KEY_DOES_NOT_EXIST, format!("no key {key}")),
                Some(value) if *value != body["from"] => {
                    error(PRECONDITION_FAILED, format!("key {key} holds {value}, not {}", body["from"]))
                }
                Some(value) => {
                    *value = body["to"].clone();
                    json!({"type": "cas_ok"})
                }
            },
        }
    }

    fn handle(&mut self, out: &mut impl Write, message: &Value) -> io::Result<()> {
        let body = &message["body"];
        let kind = body["type"].as_str().unwrap_or_default();
        if kind == "init" {
            self.id = body["node_id"].as_str().unwrap_or_default().to_owned();
            eprintln!("node {} initialised", self.id);
            return self.reply(out, message, json!({"type": "init_ok"}));
        }
        if let Some(in_reply_to) = body.get("in_reply_to").and_then(Value::as_u64) {
            // The leader's reply to a request we forwarded: hand it to the client that asked.
            let Some((client, client_msg_id)) = self.forwarded.remove(&in_reply_to) else { return Ok(()) };
            let mut relayed: Map<String, Value> = body.as_object().cloned().unwrap_or_default();
            relayed.remove("msg_id");
            relayed.insert("in_reply_to".to_owned(), client_msg_id);
            return self.send(out, &client, Value::Object(relayed)).map(drop);
        }
        match kind {
            "read" | "write" | "cas" if self.id == LEADER => {
                let reply = self.apply(body);
                self.reply(out, message, reply)
            }
            "read" | "write" | "cas" => {
                let client = message["src"].as_str().unwrap_or_default().to_owned();
                let client_msg_id = body["msg_id"].clone();
                let msg_id = self.send(out, LEADER, body.clone())?;
                self.forwarded.insert(msg_id, (client, client_msg_id));
                Ok(())
            }
            _ if body.get("msg_id").is_some() => {
                let text = format!("unsupported message type {kind}");
                self.reply(out, message, error(NOT_SUPPORTED, text))
            }
            _ => Ok(()),
        }
    }
}

fn main() -> io::Result<()> {
    let mut out = io::BufWriter::new(io::stdout().lock());
    let mut node = Node::default();
    for line in io::stdin().lock().lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(&line) {
            Ok(message) => node.handle(&mut out, &message)?,
            Err(problem) => eprintln!("ignoring a line that is not JSON ({problem})"),
        }
        out.flush()?;
    }
    out.flush()
}
