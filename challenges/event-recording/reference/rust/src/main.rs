//! Event-recording node for takehome's `event-recording` challenge (Maelstrom protocol): records batches of
//! client-library events, counts each event id once wherever and however often it arrives, and answers
//! `count`, `distinct` and `top` over time windows with the events recorded at every node. DESIGN.md (one
//! folder up) explains the choices and the figures measured.
//!
//! - [`store`]: dedup and per-(app, name, time bucket) aggregates; no raw events kept.
//! - [`replication`]: batched, acknowledged gossip of each node's own events to every peer.
//! - [`wal`]: the write-ahead log in the data folder, group-committed before any reply, replayed at `init`.
//! - [`codec`]: the compact binary event form the log and the gossip share.
//! - [`protocol`]: the typed messages and the output buffer.
//!
//! One thread reads stdin and passes lines on; the main thread owns all state and works in rounds: handle
//! the lines waiting (up to `ROUND`), send gossip if a tick is due, write the round's log records in one
//! write, and only then the round's replies. So every reply that promises something is preceded by the
//! write that keeps the promise.

mod codec;
mod protocol;
mod replication;
mod sketch;
mod store;
mod wal;

use std::io::{self, BufRead, Write};
use std::path::Path;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, TryRecvError};
use std::thread;
use std::time::{Duration, Instant};

use codec::{hash64, user_hash, Fact};
use protocol::{Message, Outbox, MALFORMED_REQUEST, NOT_SUPPORTED, TEMPORARILY_UNAVAILABLE};
use replication::{Replication, TICK};
use store::Store;
use wal::{Record, Wal};

/// Lines handled before the round's log write and replies: bounds how long a reply waits.
const ROUND: usize = 64;
const LOG_FILE: &str = "events.wal";
const STATS_EVERY: Duration = Duration::from_secs(2);
/// Events come at most a few seconds out of `ts` order (the brief): buckets this far behind the latest
/// event are complete, and their spare capacity is given back.
const SETTLED_MS: i64 = 10_000;

struct Node {
    store: Store,
    wal: Option<Wal>,
    replication: Replication,
    outbox: Outbox,
    /// Scratch for one batch's new events.
    fresh: Vec<Fact>,
}

/// Why a request is refused.
struct Refusal(u64, String);

fn required<T>(field: Option<T>, name: &str, kind: &str) -> Result<T, Refusal> {
    field.ok_or_else(|| Refusal(MALFORMED_REQUEST, format!("`{kind}` needs `{name}`")))
}

impl Node {
    fn new() -> Node {
        Node {
            store: Store::default(),
            wal: None,
            replication: Replication::new(),
            outbox: Outbox::new(),
            fresh: Vec::new(),
        }
    }

    fn handle(&mut self, line: &[u8]) {
        if line.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        let message: Message = match serde_json::from_slice(line) {
            Ok(message) => message,
            Err(error) => return self.malformed(line, &error),
        };
        let (src, body) = (message.src.as_ref(), &message.body);
        if self.outbox.me.is_empty() {
            // Before `init`, answer as whoever the message was for.
            message.dest.as_ref().clone_into(&mut self.outbox.me);
        }
        let kind = body.kind.as_ref();
        let outcome = match kind {
            "init" => self.init(body.node_id.as_deref(), body.node_ids.as_deref().unwrap_or_default()),
            _ if self.wal.is_none() => Err(Refusal(TEMPORARILY_UNAVAILABLE, "not initialised yet".into())),
            "record" => self.record(message.body.events.as_deref()),
            "count" | "distinct" | "top" => self.query(&message),
            "gossip" => self.gossip(src, &message),
            "gossip_ok" => {
                let next = body.next.unwrap_or(0);
                self.replication.acknowledged(src, next, body.gap.unwrap_or(false), Instant::now());
                return;
            }
            "error" => {
                eprintln!("{src} answered an error: {}", String::from_utf8_lossy(line).trim_end());
                return;
            }
            _ => Err(Refusal(NOT_SUPPORTED, format!("unsupported message type {kind:?}"))),
        };
        match outcome {
            Ok(Some((reply_kind, fields))) => {
                self.outbox.send(src, reply_kind, body.msg_id, |out| out.extend_from_slice(fields.as_bytes()));
            }
            Ok(None) => {}
            // Never answer a reply: two nodes would trade errors forever.
            Err(Refusal(code, text)) => match (body.msg_id, body.in_reply_to) {
                (Some(msg_id), None) => self.outbox.error(src, Some(msg_id), code, &text),
                _ => eprintln!("{src}: {text}"),
            },
        }
    }

    /// A line that is not a message this node can read: answer error 12 if it says who to answer.
    fn malformed(&mut self, line: &[u8], error: &serde_json::Error) {
        let value: serde_json::Value = serde_json::from_slice(line).unwrap_or_default();
        let src = value["src"].as_str();
        let msg_id = value["body"]["msg_id"].as_u64();
        match (src, msg_id) {
            (Some(src), Some(msg_id)) if value["body"].get("in_reply_to").is_none() => {
                let text = format!("malformed {}: {error}", value["body"]["type"]);
                self.outbox.error(src, Some(msg_id), MALFORMED_REQUEST, &text);
            }
            _ => eprintln!("ignoring a line that is not a message ({error}): {}", String::from_utf8_lossy(line)),
        }
    }

    /// The node's id, its log replayed, its peers; `init_ok`.
    fn init(&mut self, node_id: Option<&str>, nodes: &[String]) -> Result<Option<(&'static str, String)>, Refusal> {
        let node_id = required(node_id, "node_id", "init")?;
        if self.wal.is_some() {
            return Ok(Some(("init_ok", String::new())));
        }
        let started = Instant::now();
        self.outbox.me = node_id.to_owned();
        let (store, replication) = (&mut self.store, &mut self.replication);
        let mut replayed = 0usize;
        let opened =
            Wal::open(Path::new(LOG_FILE), std::env::var_os("EVENT_WAL_FSYNC").is_some(), |record| match record {
                Record::Series { app, name } => {
                    store.intern(app, name);
                }
                Record::Local(facts) => {
                    for fact in facts {
                        store.insert(&fact);
                        replication.accepted(fact);
                        replayed += 1;
                    }
                }
                Record::Peer { origin, next, facts } => {
                    for fact in &facts {
                        store.insert(fact);
                    }
                    replayed += facts.len();
                    replication.replayed_peer(origin, next);
                }
            });
        let wal = match opened {
            Ok(wal) => wal,
            Err(error) => {
                // Without the log no acknowledgement could be kept: better not to start.
                eprintln!("{node_id}: cannot open {LOG_FILE} in the data folder: {error}");
                std::process::exit(1);
            }
        };
        eprintln!(
            "{node_id}: replayed {replayed} events ({} bytes of log) in {} ms; {} own events to offer peers",
            wal.size(),
            started.elapsed().as_millis(),
            self.replication.end()
        );
        self.wal = Some(wal);
        self.replication.set_peers(node_id, nodes, Instant::now());
        Ok(Some(("init_ok", String::new())))
    }

    /// The series number of (`app`, `name`), logged the first time.
    fn intern(&mut self, app: &str, name: &str) -> u32 {
        let (series, new) = self.store.intern(app, name);
        if new {
            if let Some(wal) = &mut self.wal {
                wal.series(app, name);
            }
        }
        series
    }

    fn record(&mut self, events: Option<&[protocol::Event<'_>]>) -> Result<Option<(&'static str, String)>, Refusal> {
        let events = required(events, "events", "record")?;
        let mut fresh = std::mem::take(&mut self.fresh);
        fresh.clear();
        for event in events {
            let series = self.intern(&event.app, &event.name);
            let fact =
                Fact { id: hash64(event.id.as_bytes()), ts: event.ts, series, user: user_hash(event.user.as_bytes()) };
            if self.store.insert(&fact) {
                self.replication.accepted(fact);
                fresh.push(fact);
            }
        }
        if let Some(wal) = &mut self.wal {
            wal.local(&fresh);
        }
        self.fresh = fresh;
        Ok(Some(("record_ok", String::new())))
    }

    fn query(&mut self, message: &Message<'_>) -> Result<Option<(&'static str, String)>, Refusal> {
        let body = &message.body;
        let kind = body.kind.as_ref();
        let app = required(body.app.as_deref(), "app", kind)?;
        let from = required(body.from, "from", kind)?;
        let to = required(body.to, "to", kind)?;
        Ok(Some(match kind {
            "count" => ("count_ok", format!(",\"count\":{}", self.store.count(app, body.name.as_deref(), from, to))),
            "distinct" => ("distinct_ok", format!(",\"users\":{}", self.store.distinct(app, from, to))),
            _ => {
                let k = required(body.k, "k", kind)?;
                let top = self.store.top(app, from, to, usize::try_from(k).unwrap_or(usize::MAX));
                let mut fields = b",\"names\":[".to_vec();
                for (i, (name, count)) in top.iter().enumerate() {
                    fields.extend_from_slice(if i == 0 { b"[" } else { b",[" });
                    protocol::put_json_str(&mut fields, name);
                    fields.extend_from_slice(format!(",{count}]").as_bytes());
                }
                fields.push(b']');
                ("top_ok", String::from_utf8(fields).unwrap_or_default())
            }
        }))
    }

    fn gossip(&mut self, origin: &str, message: &Message<'_>) -> Result<Option<(&'static str, String)>, Refusal> {
        let body = &message.body;
        let at = required(body.at, "at", "gossip")?;
        let n = required(body.n, "n", "gossip")?;
        let packed = required(body.packed.as_deref(), "packed", "gossip")?;
        let table = required(body.series.as_deref(), "series", "gossip")?;
        let series: Vec<u32> = table.iter().map(|(app, name)| self.intern(app, name)).collect();
        let receipt = self
            .replication
            .receive(origin, at, n, packed, &series, &mut self.store)
            .map_err(|error| Refusal(MALFORMED_REQUEST, format!("gossip from {origin} at {at}: {error}")))?;
        if receipt.advanced {
            if let Some(wal) = &mut self.wal {
                wal.peer(origin, receipt.next, &receipt.fresh);
            }
        }
        Ok(Some(("gossip_ok", format!(",\"next\":{},\"gap\":{}", receipt.next, receipt.gap))))
    }

    /// Ends a round: the log first, then the replies and gossip that rely on it.
    fn commit(&mut self, stdout: &mut impl Write) -> io::Result<()> {
        if let Some(wal) = &mut self.wal {
            if let Err(error) = wal.commit() {
                // The round's acknowledgements would be promises the node cannot keep.
                eprintln!("{}: cannot append to {LOG_FILE}: {error}; stopping", self.outbox.me);
                std::process::exit(1);
            }
        }
        if !self.outbox.lines.is_empty() {
            stdout.write_all(&self.outbox.lines)?;
            stdout.flush()?;
            self.outbox.lines.clear();
            if self.outbox.lines.capacity() > 4 << 20 {
                self.outbox.lines.shrink_to(1 << 16);
            }
        }
        Ok(())
    }
}

/// Reads stdin on a thread of its own, so the main loop can wait for a line or a tick, whichever is first.
fn spawn_reader() -> Receiver<(Instant, Vec<u8>)> {
    let (sender, receiver) = mpsc::sync_channel(64);
    thread::spawn(move || {
        let mut input = io::stdin().lock();
        loop {
            let mut line = Vec::new();
            match input.read_until(b'\n', &mut line) {
                Ok(0) => break,
                Ok(_) => {
                    if sender.send((Instant::now(), line)).is_err() {
                        break;
                    }
                }
                Err(error) => {
                    eprintln!("cannot read stdin: {error}");
                    break;
                }
            }
        }
    });
    receiver
}

fn main() -> io::Result<()> {
    let lines = spawn_reader();
    let stdout = io::stdout();
    let mut stdout = stdout.lock();
    let mut node = Node::new();
    let mut next_tick = Instant::now() + TICK;
    let mut next_stats = Instant::now() + STATS_EVERY;
    let mut open = true;
    // The longest a line waited, from being read to the end of its round, since the last stats line.
    let mut longest_wait = Duration::ZERO;
    while open {
        let mut oldest = None;
        match lines.recv_timeout(next_tick.saturating_duration_since(Instant::now())) {
            Ok((read_at, line)) => {
                node.handle(&line);
                oldest = Some(read_at);
                for _ in 1..ROUND {
                    match lines.try_recv() {
                        Ok((_, line)) => node.handle(&line),
                        Err(TryRecvError::Empty) => break,
                        Err(TryRecvError::Disconnected) => {
                            open = false;
                            break;
                        }
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => open = false,
        }
        let now = Instant::now();
        if now >= next_tick && node.wal.is_some() {
            node.replication.tick(now, &node.store, &mut node.outbox);
            node.store.shrink_settled(SETTLED_MS);
            next_tick = now + TICK;
        } else if now >= next_tick {
            next_tick = now + TICK;
        }
        if now >= next_stats && node.wal.is_some() {
            let (store, replication) = (&node.store, &node.replication);
            eprintln!(
                "{}: {} events, {} series, longest wait {} ms; {}",
                node.outbox.me,
                store.events(),
                store.series_count(),
                longest_wait.as_millis(),
                replication.describe()
            );
            next_stats = now + STATS_EVERY;
            longest_wait = Duration::ZERO;
        }
        node.commit(&mut stdout)?;
        if let Some(read_at) = oldest {
            longest_wait = longest_wait.max(read_at.elapsed());
        }
    }
    Ok(())
}
