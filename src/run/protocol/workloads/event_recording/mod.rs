//! The `event-recording` workload: client libraries send batches of events (`record{events}` ->
//! `record_ok`) to any node, and ask `count{app, name?, from, to}`, `distinct{app, from, to}` and
//! `top{app, from, to, k}` of any node. Batches are sometimes sent again, whole, by another client (a
//! library retrying after a timeout): an event id counts once however often it arrives.
//!
//! Every answer is checked against bounds from the history ([`check`]): it must count the events
//! acknowledged at least `lag_ms` before the query was sent, and at most the events sent before it was
//! answered. After the load the network heals and each node is asked again; those final answers must count
//! every acknowledged event (exact when no record was left in doubt).
//!
//! Options (`[stage.options]`): `batch_min` (1) and `batch_max` (50) events a batch, skewed towards
//! small; `apps` (12) and `users` (2000) to draw from; `queries` (0.2), the share of requests that are
//! queries; among queries, the shares of `distinct` (0.2) and `top` (0.2), the rest counts, of which
//! `by_name` (0.5) name an event; `resend` (0), the share of batches that repeat an earlier batch;
//! `lag_ms` (1000); `spread_ms` (2000), how far event times run out of order.

mod check;
pub mod events;

use std::ops::Range;

use serde_json::{Map, Value};

use super::options::OptionReader;
use super::{Validity, Workload};
use crate::run::protocol::history::History;
use crate::run::protocol::message::Body;
use crate::run::protocol::rng::Rng;
use events::{EPOCH_MS, EVENTS_PER_MS, Event, Ids, Vocabulary};

/// The earlier batches a resend picks from: a client retries what it sent recently.
const RESEND_FROM_LAST: usize = 64;
/// The most events a record request carries (the brief's limit).
pub const MAX_BATCH: u64 = 1000;
/// The field under which the history keeps a record's event ids.
pub const EVENT_IDS: &str = "event_ids";
/// The label of the random stream the final questions' windows come from.
const FINAL_QUESTIONS: u64 = 0xf1a1;

#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub batch_min: u64,
    pub batch_max: u64,
    pub apps: u64,
    pub users: u64,
    pub queries: f64,
    pub distinct: f64,
    pub top: f64,
    pub by_name: f64,
    pub resend: f64,
    pub lag_ms: u64,
    pub spread_ms: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            batch_min: 1,
            batch_max: 50,
            apps: 12,
            users: 2000,
            queries: 0.2,
            distinct: 0.2,
            top: 0.2,
            by_name: 0.5,
            resend: 0.0,
            lag_ms: 1000,
            spread_ms: 2000,
        }
    }
}

impl Options {
    pub fn read(table: &toml::Table) -> Result<Options, String> {
        let defaults = Options::default();
        let mut reader = OptionReader::new(table, "event-recording");
        let options = Options {
            batch_min: reader.integer("batch_min", defaults.batch_min, 1..=MAX_BATCH)?,
            batch_max: reader.integer("batch_max", defaults.batch_max, 1..=MAX_BATCH)?,
            apps: reader.integer("apps", defaults.apps, 1..=99)?,
            users: reader.integer("users", defaults.users, 1..=100_000_000)?,
            queries: reader.share("queries", defaults.queries)?,
            distinct: reader.share("distinct", defaults.distinct)?,
            top: reader.share("top", defaults.top)?,
            by_name: reader.share("by_name", defaults.by_name)?,
            resend: reader.share("resend", defaults.resend)?,
            lag_ms: reader.integer("lag_ms", defaults.lag_ms, 0..=60_000)?,
            spread_ms: reader.integer("spread_ms", defaults.spread_ms, 0..=3_600_000)?,
        };
        reader.finish()?;
        if options.batch_min > options.batch_max {
            return Err(format!(
                "the event-recording workload's batch_min ({}) is above its batch_max ({})",
                options.batch_min, options.batch_max
            ));
        }
        if options.distinct + options.top > 1.0 {
            return Err(format!(
                "the event-recording workload's shares of distinct ({}) and top ({}) queries add up to more than 1",
                options.distinct, options.top
            ));
        }
        Ok(options)
    }
}

/// A query as sent: which app, which window, and what it asks.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Query {
    Count { name: Option<u16> },
    Distinct,
    Top { k: u64 },
}

#[derive(Debug, Clone)]
pub struct EventRecording {
    options: Options,
    vocabulary: Vocabulary,
    /// Set from the first client's stream, so ids change with the seed.
    ids: Option<Ids>,
    events: Vec<Event>,
    batches: Vec<Range<u64>>,
    final_rng: Option<Rng>,
}

impl Default for EventRecording {
    fn default() -> Self {
        EventRecording::new(Options::default())
    }
}

impl EventRecording {
    #[must_use]
    pub fn new(options: Options) -> EventRecording {
        let vocabulary = Vocabulary::new(options.apps as usize, options.users);
        EventRecording { options, vocabulary, ids: None, events: Vec::new(), batches: Vec::new(), final_rng: None }
    }

    pub fn from_options(table: &toml::Table) -> Result<EventRecording, String> {
        Options::read(table).map(EventRecording::new)
    }

    fn ids(&mut self, rng: &mut Rng) -> Ids {
        if let Some(ids) = self.ids {
            return ids;
        }
        let salt = rng.next_u64();
        self.final_rng = Some(Rng::stream(salt, &[FINAL_QUESTIONS]));
        *self.ids.insert(Ids::new(salt))
    }

    /// The latest event time generated so far.
    fn now_ms(&self) -> i64 {
        EPOCH_MS + (self.events.len() as u64 / EVENTS_PER_MS) as i64
    }

    fn new_batch(&mut self, rng: &mut Rng) -> Range<u64> {
        let span = self.options.batch_max - self.options.batch_min + 1;
        // Squaring a uniform draw skews towards small batches, with the occasional large one.
        let size = self.options.batch_min + ((rng.unit().powi(2) * span as f64) as u64).min(span - 1);
        let start = self.events.len() as u64;
        for _ in 0..size {
            let late = rng.below(self.options.spread_ms + 1) as i64;
            let event = Event {
                app: self.vocabulary.app(rng),
                name: self.vocabulary.name(rng),
                user: self.vocabulary.user(rng),
                ts: self.now_ms() - late,
            };
            self.events.push(event);
        }
        let batch = start..start + size;
        self.batches.push(batch.clone());
        batch
    }

    fn record(&self, ids: &Ids, batch: Range<u64>) -> Body {
        let events: Vec<Value> =
            batch.map(|index| self.vocabulary.json(ids, index, &self.events[index as usize])).collect();
        Body::new("record").with("events", events)
    }

    /// One edge of a query window: often exactly an event's time (so events sit on the edge), else a
    /// whole second or minute, else any millisecond, around the times generated so far.
    fn edge(&self, rng: &mut Rng) -> i64 {
        let low = EPOCH_MS - self.options.spread_ms as i64 - 1000;
        let any = low + rng.below((self.now_ms() - low) as u64 + 2000) as i64;
        match rng.below(4) {
            0 if !self.events.is_empty() => self.events[rng.below(self.events.len() as u64) as usize].ts,
            1 => any - any.rem_euclid(1000),
            2 => any - any.rem_euclid(60_000),
            _ => any,
        }
    }

    fn window(&self, rng: &mut Rng) -> (i64, i64) {
        if rng.chance(0.1) {
            return (EPOCH_MS - 86_400_000, self.now_ms() + 86_400_000);
        }
        let (a, b) = (self.edge(rng), self.edge(rng));
        (a.min(b), a.max(b))
    }

    fn query(&self, rng: &mut Rng) -> Body {
        let roll = rng.unit();
        let query = if roll < self.options.distinct {
            Query::Distinct
        } else if roll < self.options.distinct + self.options.top {
            Query::Top { k: 1 + rng.below(8) }
        } else {
            Query::Count { name: rng.chance(self.options.by_name).then(|| self.vocabulary.name(rng)) }
        };
        let app = &self.vocabulary.apps[usize::from(self.vocabulary.app(rng))];
        let (from, to) = self.window(rng);
        self.query_body(&query, app, from, to)
    }

    fn query_body(&self, query: &Query, app: &str, from: i64, to: i64) -> Body {
        let body = match query {
            Query::Count { name: None } => Body::new("count"),
            Query::Count { name: Some(name) } => {
                Body::new("count").with("name", self.vocabulary.names[usize::from(*name)].clone())
            }
            Query::Distinct => Body::new("distinct"),
            Query::Top { k } => Body::new("top").with("k", *k),
        };
        body.with("app", app).with("from", from).with("to", to)
    }

    /// The kinds of query this stage asks, for its final questions.
    fn final_queries(&self) -> Vec<Query> {
        let mut kinds = vec![Query::Count { name: None }];
        if self.options.by_name > 0.0 && self.options.distinct + self.options.top < 1.0 {
            kinds.push(Query::Count { name: Some(0) });
        }
        if self.options.distinct > 0.0 {
            kinds.push(Query::Distinct);
        }
        if self.options.top > 0.0 {
            kinds.push(Query::Top { k: 5 });
        }
        kinds
    }
}

impl Workload for EventRecording {
    fn name(&self) -> &'static str {
        "event-recording"
    }

    fn request(&mut self, _process: u32, rng: &mut Rng) -> Body {
        let ids = self.ids(rng);
        if !self.events.is_empty() && rng.chance(self.options.queries) {
            return self.query(rng);
        }
        if !self.batches.is_empty() && rng.chance(self.options.resend) {
            let recent = self.batches.len().min(RESEND_FROM_LAST);
            let batch = self.batches[self.batches.len() - 1 - rng.below(recent as u64) as usize].clone();
            return self.record(&ids, batch);
        }
        let batch = self.new_batch(rng);
        self.record(&ids, batch)
    }

    /// Every node is asked the same questions: the whole time range and a few windows, for the two
    /// busiest apps, a quiet one and one that never sent anything.
    fn final_requests(&mut self, node_ids: &[String]) -> Vec<(usize, Body)> {
        let mut rng = self.final_rng.take().unwrap_or_else(|| Rng::stream(0, &[FINAL_QUESTIONS]));
        let apps = self.vocabulary.apps.len() as u16;
        let mut questions = Vec::new();
        for query in self.final_queries() {
            let windows = [(EPOCH_MS - 86_400_000, self.now_ms() + 86_400_000), self.window(&mut rng)];
            for (from, to) in windows {
                for app in [0, 1.min(apps - 1), apps - 1] {
                    questions.push(self.query_body(&query, &self.vocabulary.apps[usize::from(app)], from, to));
                }
            }
        }
        // An app no event came from: every answer is zero (or an empty list).
        questions.push(self.query_body(&Query::Count { name: None }, "app-00", EPOCH_MS, self.now_ms() + 1));
        self.final_rng = Some(rng);
        (0..node_ids.len()).flat_map(|node| questions.iter().map(move |body| (node, body.clone()))).collect()
    }

    /// A record keeps only its events' ids (the checker knows the rest): a tenth of the memory.
    fn history_value(&self, kind: &str, mut fields: Map<String, Value>) -> Value {
        if kind == "record" {
            if let Some(Value::Array(events)) = fields.remove("events") {
                let ids = events.into_iter().filter_map(|mut event| event.get_mut("id").map(Value::take)).collect();
                fields.insert(EVENT_IDS.into(), Value::Array(ids));
            }
        }
        Value::Object(fields)
    }

    fn check(&self, history: &History) -> Validity {
        let Some(ids) = self.ids else {
            return Validity { valid: true, summary: "no requests were sent".into(), ..Validity::default() };
        };
        check::Checker::new(&self.vocabulary, &ids, &self.events, &self.options).check(history)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(text: &str) -> Result<Options, String> {
        Options::read(&text.parse().expect("toml"))
    }

    #[test]
    fn options_are_read_checked_and_defaulted() {
        assert_eq!(options(""), Ok(Options::default()));
        let read = options("batch_min = 100\nbatch_max = 100\nresend = 0.3\nlag_ms = 0").expect("valid");
        assert_eq!((read.batch_min, read.batch_max, read.resend, read.lag_ms), (100, 100, 0.3, 0));
        assert!(options("batch_max = 1001").unwrap_err().contains("batch_max"));
        assert!(options("batch_min = 9\nbatch_max = 3").unwrap_err().contains("above its batch_max"));
        assert!(options("distinct = 0.7\ntop = 0.5").unwrap_err().contains("more than 1"));
        assert!(options("batch_mx = 3").unwrap_err().contains("did you mean `batch_max`"));
    }

    #[test]
    fn batches_stay_within_their_sizes_and_times_run_forward_with_a_bounded_lateness() {
        let mut workload = EventRecording::new(options("batch_min = 2\nbatch_max = 9\nqueries = 0").expect("valid"));
        let mut rng = Rng::stream(3, &[1]);
        for _ in 0..200 {
            let body = workload.request(1, &mut rng);
            assert_eq!(body.kind, "record");
            let events = body.field("events").and_then(Value::as_array).expect("events");
            assert!((2..=9).contains(&events.len()), "batch of {}", events.len());
        }
        let latest = workload.now_ms();
        assert!(workload.events.iter().all(|event| event.ts <= latest && event.ts >= EPOCH_MS - 2000));
        let mut ids: Vec<String> =
            (0..workload.events.len() as u64).map(|i| workload.ids.expect("set").id(i)).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), workload.events.len(), "every event has its own id");
    }

    #[test]
    fn a_resend_repeats_an_earlier_batch_exactly() {
        let mut workload = EventRecording::new(options("queries = 0\nresend = 0.5").expect("valid"));
        let mut rng = Rng::stream(5, &[1]);
        let mut sent: Vec<Value> = Vec::new();
        let mut repeats = 0;
        for _ in 0..100 {
            let events = workload.request(1, &mut rng).field("events").cloned().expect("events");
            repeats += usize::from(sent.contains(&events));
            sent.push(events);
        }
        assert!(repeats > 25, "about half are resends: {repeats}");
        assert_eq!(workload.batches.len(), 100 - repeats);
    }

    #[test]
    fn queries_ask_only_the_kinds_a_stage_enables() {
        let mut workload =
            EventRecording::new(options("queries = 1\ndistinct = 0\ntop = 0\nby_name = 0").expect("valid"));
        let mut rng = Rng::stream(9, &[1]);
        assert_eq!(workload.request(1, &mut rng).kind, "record", "the first request records: nothing to ask yet");
        for _ in 0..50 {
            let body = workload.request(1, &mut rng);
            assert_eq!(body.kind, "count");
            assert!(body.field("name").is_none());
            let (from, to) = (body.field("from").and_then(Value::as_i64), body.field("to").and_then(Value::as_i64));
            assert!(from <= to, "{from:?} <= {to:?}");
        }
        let finals = workload.final_requests(&["n0".into(), "n1".into()]);
        assert!(finals.iter().all(|(_, body)| body.kind == "count"));
        assert_eq!(finals.iter().filter(|(node, _)| *node == 1).count(), finals.len() / 2, "each node asked alike");
    }
}
