//! The Maelstrom envelope as this node reads and writes it: every message it understands parsed in one pass
//! into one typed struct (strings borrowed from the line where they need no unescaping, so a batch of 100
//! events costs one allocation, its vector), and replies written straight into an output buffer.

use std::borrow::Cow;
use std::io::Write;

use serde::Deserialize;

#[derive(Deserialize)]
pub struct Message<'a> {
    #[serde(borrow)]
    pub src: Cow<'a, str>,
    #[serde(borrow)]
    pub dest: Cow<'a, str>,
    #[serde(borrow)]
    pub body: Body<'a>,
}

/// The fields of every body this node handles; which are present depends on `type`.
#[derive(Deserialize)]
pub struct Body<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    pub msg_id: Option<u64>,
    pub in_reply_to: Option<u64>,
    // init
    pub node_id: Option<String>,
    pub node_ids: Option<Vec<String>>,
    // record
    #[serde(borrow)]
    pub events: Option<Vec<Event<'a>>>,
    // count, distinct, top
    #[serde(borrow)]
    pub app: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub name: Option<Cow<'a, str>>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub k: Option<u64>,
    // gossip: the origin's sequence number of the first event, how many, the series table and the events
    pub at: Option<u64>,
    pub n: Option<u64>,
    #[serde(borrow)]
    pub series: Option<Vec<(Cow<'a, str>, Cow<'a, str>)>>,
    #[serde(borrow)]
    pub packed: Option<Cow<'a, str>>,
    // gossip_ok: every event of the receiver's below `next` is stored there; `gap`: a message was missing
    pub next: Option<u64>,
    pub gap: Option<bool>,
}

#[derive(Deserialize)]
pub struct Event<'a> {
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    #[serde(borrow)]
    pub app: Cow<'a, str>,
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    #[serde(borrow)]
    pub user: Cow<'a, str>,
    pub ts: i64,
}

// Maelstrom error codes.
pub const NOT_SUPPORTED: u64 = 10;
pub const TEMPORARILY_UNAVAILABLE: u64 = 11;
pub const MALFORMED_REQUEST: u64 = 12;

/// The lines to write at the end of the round, after the log.
pub struct Outbox {
    pub me: String,
    next_msg_id: u64,
    pub lines: Vec<u8>,
}

pub fn put_json_str(out: &mut Vec<u8>, text: &str) {
    // Writing JSON into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}

impl Outbox {
    pub fn new() -> Outbox {
        Outbox { me: String::new(), next_msg_id: 0, lines: Vec::with_capacity(1 << 16) }
    }

    /// A message of type `kind` to `dest`; `fields` writes the body's other fields, each as `,"key":value`.
    pub fn send(&mut self, dest: &str, kind: &str, in_reply_to: Option<u64>, fields: impl FnOnce(&mut Vec<u8>)) {
        self.next_msg_id += 1;
        let out = &mut self.lines;
        out.extend_from_slice(b"{\"src\":");
        put_json_str(out, &self.me);
        out.extend_from_slice(b",\"dest\":");
        put_json_str(out, dest);
        out.extend_from_slice(b",\"body\":{\"type\":");
        put_json_str(out, kind);
        let _ = write!(out, ",\"msg_id\":{}", self.next_msg_id);
        if let Some(in_reply_to) = in_reply_to {
            let _ = write!(out, ",\"in_reply_to\":{in_reply_to}");
        }
        fields(out);
        out.extend_from_slice(b"}}\n");
    }

    pub fn error(&mut self, dest: &str, in_reply_to: Option<u64>, code: u64, text: &str) {
        self.send(dest, "error", in_reply_to, |out| {
            let _ = write!(out, ",\"code\":{code},\"text\":");
            put_json_str(out, text);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_parses_into_borrowed_events() {
        let line = br#"{"src":"c1","dest":"n0","body":{"type":"record","msg_id":3,"events":[{"id":"9f","app":"a\"1","name":"x","user":"u1","ts":1700000000000,"extra":1}]}}"#;
        let message: Message = serde_json::from_slice(line).expect("parses");
        assert_eq!(message.src, "c1");
        assert_eq!(message.body.kind, "record");
        assert_eq!(message.body.msg_id, Some(3));
        let events = message.body.events.expect("events");
        assert_eq!(events[0].app, "a\"1");
        assert!(matches!(events[0].id, Cow::Borrowed(_)));
        assert_eq!(events[0].ts, 1_700_000_000_000);
    }

    #[test]
    fn an_event_without_ts_is_rejected() {
        let line = br#"{"src":"c1","dest":"n0","body":{"type":"record","msg_id":3,"events":[{"id":"9f","app":"a","name":"x","user":"u1"}]}}"#;
        assert!(serde_json::from_slice::<Message>(line).is_err());
    }

    #[test]
    fn replies_are_one_json_line_each() {
        let mut outbox = Outbox::new();
        outbox.me = "n0".into();
        outbox.send("c\"1", "count_ok", Some(4), |out| out.extend_from_slice(b",\"count\":7"));
        outbox.error("c2", Some(5), MALFORMED_REQUEST, "bad \"ts\"");
        let text = String::from_utf8(outbox.lines).expect("utf-8");
        let lines: Vec<serde_json::Value> =
            text.lines().map(|line| serde_json::from_str(line).expect("json")).collect();
        assert_eq!(lines[0]["dest"], "c\"1");
        assert_eq!(lines[0]["body"]["count"], 7);
        assert_eq!(lines[0]["body"]["in_reply_to"], 4);
        assert_eq!(lines[1]["body"]["code"], 12);
        assert_eq!(lines[1]["body"]["text"], "bad \"ts\"");
    }
}
