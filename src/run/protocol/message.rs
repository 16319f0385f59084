//! The Maelstrom envelope: one JSON object per line, `{"src", "dest", "body": {"type", "msg_id"?,
//! "in_reply_to"?, ...}}`, the error codes and whether each is definite, and parsing a node's stdout line
//! into a message with an error that names the node, the line number and the line.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One protocol message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub src: String,
    pub dest: String,
    pub body: Body,
}

/// A message body: its type, the optional ids that pair requests with replies, and every other field as is
/// (so replies from existing client libraries round-trip whatever they carry).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Body {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<u64>,
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

/// Read by hand rather than derived: serde's `flatten` would buffer every field of every message once
/// more before sorting them out, a large share of the harness's time per message.
impl<'de> Deserialize<'de> for Body {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Body, D::Error> {
        struct Fields;
        impl<'de> serde::de::Visitor<'de> for Fields {
            type Value = Body;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a message body (an object with a \"type\")")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Body, A::Error> {
                let (mut kind, mut msg_id, mut in_reply_to, mut fields) = (None, None, None, Map::new());
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "type" if kind.is_none() => kind = Some(map.next_value::<String>()?),
                        "msg_id" => msg_id = map.next_value::<Option<u64>>()?,
                        "in_reply_to" => in_reply_to = map.next_value::<Option<u64>>()?,
                        "type" => return Err(serde::de::Error::duplicate_field("type")),
                        _ => {
                            fields.insert(key, map.next_value()?);
                        }
                    }
                }
                let kind = kind.ok_or_else(|| serde::de::Error::missing_field("type"))?;
                Ok(Body { kind, msg_id, in_reply_to, fields })
            }
        }
        deserializer.deserialize_map(Fields)
    }
}

impl Body {
    /// A body of this type with no ids and no fields.
    #[must_use]
    pub fn new(kind: impl Into<String>) -> Body {
        Body { kind: kind.into(), msg_id: None, in_reply_to: None, fields: Map::new() }
    }

    /// Adds a field (builder style).
    #[must_use]
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Body {
        self.fields.insert(key.to_owned(), value.into());
        self
    }

    #[must_use]
    pub fn field(&self, key: &str) -> Option<&Value> {
        self.fields.get(key)
    }

    /// An error reply to `request`.
    #[must_use]
    pub fn error(in_reply_to: Option<u64>, code: u64, text: impl Into<String>) -> Body {
        let mut body = Body::new("error").with("code", code).with("text", text.into());
        body.in_reply_to = in_reply_to;
        body
    }

    /// The error code of an `error` body, if this is one and it carries an integer code.
    #[must_use]
    pub fn error_code(&self) -> Option<u64> {
        if self.kind == "error" { self.field("code").and_then(Value::as_u64) } else { None }
    }
}

impl Message {
    /// The message as one line, newline included.
    #[must_use]
    pub fn to_line(&self) -> Vec<u8> {
        let mut line = Vec::new();
        self.write_line(&mut line);
        line
    }

    /// Appends the message as one line, newline included.
    pub fn write_line(&self, out: &mut Vec<u8>) {
        // Serialising plain strings, integers and `Value`s into memory cannot fail.
        let _ = serde_json::to_writer(&mut *out, self);
        out.push(b'\n');
    }

    /// A reply from this message's destination back to its source, paired by `in_reply_to`.
    #[must_use]
    pub fn reply(&self, mut body: Body) -> Message {
        body.in_reply_to = self.body.msg_id;
        Message { src: self.dest.clone(), dest: self.src.clone(), body }
    }
}

/// Maelstrom's error codes. Definite ones mean the operation did not happen; the others that it may have.
pub mod codes {
    pub const TIMEOUT: u64 = 0;
    pub const NODE_NOT_FOUND: u64 = 1;
    pub const NOT_SUPPORTED: u64 = 10;
    pub const TEMPORARILY_UNAVAILABLE: u64 = 11;
    pub const MALFORMED_REQUEST: u64 = 12;
    pub const CRASH: u64 = 13;
    pub const ABORT: u64 = 14;
    pub const KEY_DOES_NOT_EXIST: u64 = 20;
    pub const KEY_ALREADY_EXISTS: u64 = 21;
    pub const PRECONDITION_FAILED: u64 = 22;
    pub const TXN_CONFLICT: u64 = 30;
}

/// Whether an error with this code certainly did not take effect. Timeouts (0), crashes (13) and any
/// code a workload defines (1000 and up) are indefinite, as is any code Maelstrom does not know.
#[must_use]
pub fn is_definite(code: u64) -> bool {
    use codes::*;
    matches!(
        code,
        NODE_NOT_FOUND
            | NOT_SUPPORTED
            | TEMPORARILY_UNAVAILABLE
            | MALFORMED_REQUEST
            | ABORT
            | KEY_DOES_NOT_EXIST
            | KEY_ALREADY_EXISTS
            | PRECONDITION_FAILED
            | TXN_CONFLICT
    )
}

/// The name Maelstrom gives an error code, for messages.
#[must_use]
pub fn code_name(code: u64) -> &'static str {
    use codes::*;
    match code {
        TIMEOUT => "timeout",
        NODE_NOT_FOUND => "node-not-found",
        NOT_SUPPORTED => "not-supported",
        TEMPORARILY_UNAVAILABLE => "temporarily-unavailable",
        MALFORMED_REQUEST => "malformed-request",
        CRASH => "crash",
        ABORT => "abort",
        KEY_DOES_NOT_EXIST => "key-does-not-exist",
        KEY_ALREADY_EXISTS => "key-already-exists",
        PRECONDITION_FAILED => "precondition-failed",
        TXN_CONFLICT => "txn-conflict",
        _ if code >= 1000 => "workload-defined",
        _ => "unknown",
    }
}

/// How much of an offending line an error quotes.
const QUOTED_LINE_LIMIT: usize = 300;

/// A line on a node's stdout that is not a protocol message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "node {node} wrote a line that is not a protocol message (stdout line {line_number}): {reason}\n  the line: {line}"
)]
pub struct LineError {
    pub node: String,
    /// Counted from 1.
    pub line_number: u64,
    /// The line, cut to a few hundred characters.
    pub line: String,
    pub reason: String,
}

/// Parses one stdout line of `node` (without its newline).
pub fn parse_line(node: &str, line_number: u64, line: &[u8]) -> Result<Message, LineError> {
    let fail = |reason: String| LineError { node: node.to_owned(), line_number, line: quote(line), reason };
    let message: Message = serde_json::from_slice(line).map_err(|error| fail(describe_json_error(line, &error)))?;
    if message.body.kind.is_empty() {
        return Err(fail("body.type is empty".to_owned()));
    }
    Ok(message)
}

fn describe_json_error(line: &[u8], error: &serde_json::Error) -> String {
    // Tell "not JSON at all" (a log line) apart from "JSON of the wrong shape" (a missing field).
    let values = serde_json::Deserializer::from_slice(line).into_iter::<Value>();
    let objects = values.map_while(Result::ok).filter(Value::is_object).count();
    match serde_json::from_slice::<Value>(line) {
        Err(_) if line.iter().all(u8::is_ascii_whitespace) => "an empty line".to_owned(),
        Err(_) if objects >= 2 => format!(
            "{objects} JSON objects on one line ({error}): two messages were written into one line, as happens \
             when several threads write to stdout without a lock"
        ),
        Err(_) => format!("not JSON ({error}); logs belong on stderr"),
        Ok(Value::Object(_)) => {
            format!("not a message: {error} (expected {{\"src\", \"dest\", \"body\": {{\"type\", ...}}}})")
        }
        Ok(_) => "not a JSON object".to_owned(),
    }
}

fn quote(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    if text.chars().count() <= QUOTED_LINE_LIMIT {
        text.into_owned()
    } else {
        let cut: String = text.chars().take(QUOTED_LINE_LIMIT).collect();
        format!("{cut}... ({} bytes in all)", line.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_messages_glued_on_one_line_are_told_apart_from_a_log_line() {
        let glued =
            br#"{"src":"n0","dest":"c1","body":{"type":"a_ok"}}{"src":"n0","dest":"c2","body":{"type":"b_ok"}}"#;
        let error = parse_line("n0", 22, glued).unwrap_err();
        assert!(error.reason.starts_with("2 JSON objects on one line"), "{}", error.reason);
        assert!(error.reason.contains("without a lock"), "{}", error.reason);
        let log = parse_line("n0", 1, b"started node n0").unwrap_err();
        assert!(log.reason.contains("logs belong on stderr"), "{}", log.reason);
    }

    #[test]
    fn a_message_round_trips_with_its_extra_fields() {
        let line = br#"{"src":"c1","dest":"n0","body":{"type":"echo","msg_id":1,"echo":"hi","extra":[1,2]}}"#;
        let message = parse_line("n0", 1, line).expect("valid");
        assert_eq!(message.body.kind, "echo");
        assert_eq!(message.body.msg_id, Some(1));
        assert_eq!(message.body.in_reply_to, None);
        assert_eq!(message.body.field("echo"), Some(&Value::from("hi")));
        let again = parse_line("n0", 1, message.to_line().trim_ascii_end()).expect("valid");
        assert_eq!(again, message);
    }

    #[test]
    fn absent_ids_are_not_written() {
        let message = Message { src: "n0".into(), dest: "c1".into(), body: Body::new("init_ok") };
        assert_eq!(message.to_line(), b"{\"src\":\"n0\",\"dest\":\"c1\",\"body\":{\"type\":\"init_ok\"}}\n");
    }

    #[test]
    fn a_log_line_is_reported_with_node_line_number_and_text() {
        let error = parse_line("n2", 7, b"Starting node...").expect_err("not JSON");
        assert_eq!(error.node, "n2");
        assert_eq!(error.line_number, 7);
        assert_eq!(error.line, "Starting node...");
        let shown = error.to_string();
        assert!(shown.contains("node n2") && shown.contains("line 7") && shown.contains("Starting node..."), "{shown}");
        assert!(shown.contains("not JSON"), "{shown}");
    }

    #[test]
    fn a_body_without_type_is_named_as_the_problem() {
        let error = parse_line("n0", 1, br#"{"src":"n0","dest":"c1","body":{"msg_id":1}}"#).expect_err("no type");
        assert!(error.reason.contains("type"), "{}", error.reason);
    }

    #[test]
    fn null_ids_are_absent_and_a_second_type_is_refused() {
        let message = parse_line("n0", 1, br#"{"src":"n0","dest":"c1","body":{"msg_id":null,"type":"x","k":{"a":1}}}"#)
            .expect("valid");
        assert_eq!((message.body.kind.as_str(), message.body.msg_id), ("x", None));
        assert_eq!(message.body.field("k"), Some(&serde_json::json!({"a": 1})));
        let twice = parse_line("n0", 1, br#"{"src":"n0","dest":"c1","body":{"type":"x","type":"y"}}"#);
        assert!(twice.expect_err("two types").reason.contains("duplicate field `type`"));
    }

    #[test]
    fn a_non_integer_msg_id_is_refused() {
        assert!(parse_line("n0", 1, br#"{"src":"n0","dest":"c1","body":{"type":"x","msg_id":"7"}}"#).is_err());
    }

    #[test]
    fn long_lines_are_quoted_in_part() {
        let line = format!("x{}", "y".repeat(10_000));
        let error = parse_line("n0", 1, line.as_bytes()).expect_err("not JSON");
        assert!(error.line.len() < 400 && error.line.contains("10001 bytes"), "{}", error.line);
    }

    #[test]
    fn definite_codes_match_maelstrom() {
        for code in [1, 10, 11, 12, 14, 20, 21, 22, 30] {
            assert!(is_definite(code), "{code}");
        }
        for code in [0, 13, 1000, 1234, 99] {
            assert!(!is_definite(code), "{code}");
        }
        assert_eq!(code_name(22), "precondition-failed");
    }

    #[test]
    fn a_reply_swaps_ends_and_pairs_ids() {
        let request = parse_line("n0", 1, br#"{"src":"c1","dest":"n0","body":{"type":"read","msg_id":5}}"#).unwrap();
        let reply = request.reply(Body::new("read_ok"));
        assert_eq!((reply.src.as_str(), reply.dest.as_str(), reply.body.in_reply_to), ("n0", "c1", Some(5)));
        assert_eq!(Body::error(Some(5), 20, "no").error_code(), Some(20));
    }
}
