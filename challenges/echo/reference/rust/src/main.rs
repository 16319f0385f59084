//! Echo node for the Maelstrom protocol (Gossip Glomers challenge 1): answers `init` with `init_ok` and
//! `echo` with `echo_ok` carrying the same `echo` value.
//!
//! Built for throughput: replies are written into one buffered stdout and flushed only when no more
//! input is already waiting, so a burst of requests costs one write, yet no reply is ever held back
//! while the node waits for input.

use std::io::{self, BufRead, BufReader, BufWriter, Write};

use serde_json::{json, Value};

fn main() -> io::Result<()> {
    // A reader of our own, so that `buffer()` tells whether more input is already waiting.
    let mut input = BufReader::with_capacity(64 * 1024, io::stdin().lock());
    let mut output = BufWriter::with_capacity(64 * 1024, io::stdout().lock());
    let mut node_id = String::new();
    let mut next_msg_id: u64 = 1;
    let mut line = Vec::new();
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let request: Value = match serde_json::from_slice(&line) {
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
            Some("echo") => json!({"type": "echo_ok", "echo": body["echo"]}),
            other => {
                let text = format!("unsupported message type {}", other.unwrap_or("(none)"));
                json!({"type": "error", "code": 10, "text": text})
            }
        };
        reply["msg_id"] = next_msg_id.into();
        reply["in_reply_to"] = body["msg_id"].clone();
        next_msg_id += 1;
        let message = json!({"src": node_id, "dest": request["src"], "body": reply});
        serde_json::to_writer(&mut output, &message)?;
        output.write_all(b"\n")?;
        // Flush once the requests already read are answered: never make a reply wait for more input.
        if input.buffer().is_empty() {
            output.flush()?;
        }
    }
    output.flush()
}
