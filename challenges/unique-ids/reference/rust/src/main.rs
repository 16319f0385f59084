//! Unique-id node for the Maelstrom protocol (Gossip Glomers challenge 2): answers `generate` with
//! `generate_ok` and an id.
//!
//! An id is this node's id and a counter of its own, e.g. "n3-17": distinct from every other node's ids
//! without talking to them, so no partition can make two nodes hand out the same one.

use std::io::{self, BufRead, Write};

use serde_json::{json, Value};

fn main() -> io::Result<()> {
    let mut output = io::stdout().lock();
    let mut node_id = String::new();
    let mut next_msg_id: u64 = 1;
    let mut generated: u64 = 0;
    for line in io::stdin().lock().lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let request: Value = match serde_json::from_str(&line) {
            Ok(request) => request,
            Err(error) => {
                eprintln!("ignoring a line that is not JSON ({error})");
                continue;
            }
        };
        let body = &request["body"];
        let mut reply = match body["type"].as_str() {
            Some("init") => {
                node_id = body["node_id"].as_str().unwrap_or_default().to_owned();
                eprintln!("node {node_id} initialised");
                json!({"type": "init_ok"})
            }
            Some("generate") => {
                generated += 1;
                json!({"type": "generate_ok", "id": format!("{node_id}-{generated}")})
            }
            other => {
                let text = format!("unsupported message type {}", other.unwrap_or("(none)"));
                json!({"type": "error", "code": 10, "text": text})
            }
        };
        reply["msg_id"] = next_msg_id.into();
        reply["in_reply_to"] = body["msg_id"].clone();
        next_msg_id += 1;
        let message = json!({"src": node_id, "dest": request["src"], "body": reply});
        writeln!(output, "{message}")?;
        output.flush()?;
    }
    Ok(())
}
