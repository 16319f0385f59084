//! The check of an `event-recording` history: an exact model of what was sent and acknowledged, and for
//! every answer the range of answers that model allows.
//!
//! For each event the model knows when it was first acknowledged (the earliest `record_ok` of a batch
//! holding it) and since when it may have been recorded (the earliest attempt not refused outright). A
//! query sent at `t` and answered at `u` must count every matching event acknowledged by `t - lag` (by `t`
//! for the final queries, which come after the load) and may count those that may have been recorded by
//! `u`; each event at most once. `distinct` gets 2% either way (rounded up to a whole user); `top` must
//! list names whose counts lie in their ranges, in order, without leaving out a name that surely beats
//! the last one listed.

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;

use super::events::{Event, Ids, Vocabulary};
use super::{EVENT_IDS, Options};
use crate::run::protocol::history::{History, OpKind, Pair};
use crate::run::protocol::workloads::{Problem, Problems, Validity, ms};

/// What the history says of one event.
#[derive(Debug, Clone, Copy)]
struct Fate {
    /// When first acknowledged (ns since the run started), and by which pair.
    acked: Option<(u64, usize)>,
    /// The earliest time it may have been recorded: the invoke of its first attempt not refused.
    possible_since: u64,
    /// How many requests carried it.
    attempts: u32,
}

impl Default for Fate {
    fn default() -> Self {
        Fate { acked: None, possible_since: u64::MAX, attempts: 0 }
    }
}

impl Fate {
    fn acked_by(&self, time: u64) -> bool {
        self.acked.is_some_and(|(at, _)| at <= time)
    }

    fn possible_by(&self, time: u64) -> bool {
        self.possible_since <= time
    }
}

/// A query as the checker reads it back from the history.
#[derive(Debug)]
struct Query<'h> {
    kind: &'h str,
    app: &'h str,
    name: Option<&'h str>,
    from: i64,
    to: i64,
    k: u64,
}

/// The answers a query may get, from what was surely and possibly recorded.
#[derive(Debug, Default)]
struct Range {
    surely: u64,
    possibly: u64,
}

impl Range {
    fn holds(&self, answer: u64) -> bool {
        (self.surely..=self.possibly).contains(&answer)
    }
}

pub struct Checker<'a> {
    vocabulary: &'a Vocabulary,
    ids: &'a Ids,
    events: &'a [Event],
    options: &'a Options,
    fates: Vec<Fate>,
    /// Per app, the events that may have been recorded, by event time.
    by_app: Vec<Vec<(i64, u32)>>,
    problems: Problems,
    counts: BTreeMap<&'static str, u64>,
}

impl<'a> Checker<'a> {
    pub fn new(vocabulary: &'a Vocabulary, ids: &'a Ids, events: &'a [Event], options: &'a Options) -> Self {
        Checker {
            vocabulary,
            ids,
            events,
            options,
            fates: vec![Fate::default(); events.len()],
            by_app: vec![Vec::new(); vocabulary.apps.len()],
            problems: Problems::default(),
            counts: ["records", "records-ok", "queries", "bad-answers", "malformed"].map(|name| (name, 0)).into(),
        }
    }

    fn count(&mut self, name: &'static str, by: u64) {
        *self.counts.entry(name).or_default() += by;
    }

    pub fn check(mut self, history: &History) -> Validity {
        let pairs = history.pairs();
        for (index, pair) in pairs.iter().enumerate() {
            if pair.invoke.f == "record" {
                self.record(index, pair);
            }
        }
        self.index_by_app();
        let mut count_latencies = Vec::new();
        for pair in &pairs {
            if pair.invoke.f != "record" {
                self.query(pair);
                if pair.invoke.f == "count" && !pair.is_final() && pair.ok().is_some() {
                    count_latencies.extend(pair.latency().map(|latency| latency.as_nanos() as u64));
                }
            }
        }
        self.validity(&pairs, count_latencies)
    }

    /// Learns the fate of a record request's events.
    fn record(&mut self, index: usize, pair: &Pair<'_>) {
        let batch: Vec<usize> = pair
            .invoke
            .value
            .get(EVENT_IDS)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter_map(|id| self.ids.index(id, self.events.len()))
            .collect();
        let load = !pair.is_final();
        if load {
            self.count("records", 1);
        }
        let outcome = pair.completion.map(|done| done.kind);
        let acked = match (outcome, pair.completion) {
            (Some(OpKind::Ok), Some(done)) if done.value.get("type").and_then(Value::as_str) == Some("record_ok") => {
                Some(done.time_ns)
            }
            (Some(OpKind::Ok), Some(done)) => {
                self.count("malformed", 1);
                let reply = done.value.to_string();
                self.problems
                    .add(|| Problem::new(format!("a record was answered with {reply}, not record_ok"), pair.indices()));
                None
            }
            _ => None,
        };
        if load && acked.is_some() {
            self.count("records-ok", 1);
        }
        let refused = outcome == Some(OpKind::Fail);
        for event in batch {
            let fate = &mut self.fates[event];
            fate.attempts += 1;
            if !refused {
                fate.possible_since = fate.possible_since.min(pair.invoke.time_ns);
            }
            if let Some(at) = acked {
                if fate.acked.is_none_or(|(earlier, _)| at < earlier) {
                    fate.acked = Some((at, index));
                }
            }
        }
    }

    fn index_by_app(&mut self) {
        for (index, (event, fate)) in self.events.iter().zip(&self.fates).enumerate() {
            if fate.possible_since != u64::MAX {
                self.by_app[usize::from(event.app)].push((event.ts, index as u32));
            }
        }
        for events in &mut self.by_app {
            events.sort_unstable();
        }
    }

    /// The events of a query's app in its window that may have been recorded.
    fn window(&self, query: &Query<'_>) -> &[(i64, u32)] {
        let Some(app) = self.vocabulary.app_index(query.app) else { return &[] };
        let events = &self.by_app[usize::from(app)];
        let start = events.partition_point(|(ts, _)| *ts < query.from);
        let end = events.partition_point(|(ts, _)| *ts < query.to);
        &events[start..end.max(start)]
    }

    fn query(&mut self, pair: &Pair<'_>) {
        let Some(query) = read_query(&pair.invoke.f, &pair.invoke.value) else {
            let request = pair.invoke.value.to_string();
            self.problems.add(|| Problem::new(format!("takehome sent a query it cannot check: {request}"), Vec::new()));
            return;
        };
        let Some(done) = pair.ok() else {
            if pair.is_final() {
                self.count("bad-answers", 1);
                let what = describe(&query);
                let outcome = pair.completion.and_then(|done| done.error.clone()).map_or_else(
                    || "no answer".to_owned(),
                    |(code, text)| if code == 0 { text } else { format!("error {code}: {text}") },
                );
                self.problems.add(|| {
                    Problem::new(
                        format!("the final {what}, after the network healed and settled, got {outcome}"),
                        pair.indices(),
                    )
                });
            }
            return;
        };
        self.count("queries", 1);
        let sent = pair.invoke.time_ns;
        let lag = if pair.is_final() { 0 } else { self.options.lag_ms * 1_000_000 };
        let surely_by = sent.saturating_sub(lag);
        let answered = done.time_ns;
        let verdict = match query.kind {
            "count" => self.check_count(&query, &done.value, surely_by, answered),
            "distinct" => self.check_distinct(&query, &done.value, surely_by, answered),
            _ => self.check_top(&query, &done.value, surely_by, answered),
        };
        if let Err((why, too_high)) = verdict {
            self.count("bad-answers", 1);
            let when = if pair.is_final() {
                "after the load, the network healed and settled".to_owned()
            } else {
                format!("sent at {:.3} s", sent as f64 / 1e9)
            };
            let what = describe(&query);
            let node = &done.node;
            let hints = self.hints(&query, self.window(&query), surely_by, too_high);
            self.problems
                .add(|| Problem::new(format!("{what} ({when}) answered by {node}: {why}{hints}"), pair.indices()));
        }
    }

    fn check_count(&self, query: &Query<'_>, reply: &Value, surely_by: u64, answered: u64) -> Result<(), Wrong> {
        let answer = field_u64(reply, "count_ok", "count").map_err(not_high)?;
        let name = query.name.map(|name| self.vocabulary.name_index(name));
        let mut range = Range::default();
        for &(_, index) in self.window(query) {
            if name.is_some_and(|name| name != Some(self.events[index as usize].name)) {
                continue;
            }
            let fate = &self.fates[index as usize];
            range.surely += u64::from(fate.acked_by(surely_by));
            range.possibly += u64::from(fate.possible_by(answered));
        }
        if range.holds(answer) {
            Ok(())
        } else {
            Err((out_of_range(answer, &range, "events"), answer > range.possibly))
        }
    }

    fn check_distinct(&self, query: &Query<'_>, reply: &Value, surely_by: u64, answered: u64) -> Result<(), Wrong> {
        let answer = field_u64(reply, "distinct_ok", "users").map_err(not_high)?;
        let mut surely = HashSet::new();
        let mut possibly = HashSet::new();
        for &(_, index) in self.window(query) {
            let fate = &self.fates[index as usize];
            let user = self.events[index as usize].user;
            if fate.acked_by(surely_by) {
                surely.insert(user);
            }
            if fate.possible_by(answered) {
                possibly.insert(user);
            }
        }
        let slack = |users: usize| (users as u64 * 2).div_ceil(100);
        let range = Range {
            surely: (surely.len() as u64).saturating_sub(slack(surely.len())),
            possibly: possibly.len() as u64 + slack(possibly.len()),
        };
        if range.holds(answer) {
            Ok(())
        } else {
            Err((
                format!(
                    "{} (there were {} distinct users among the events it had to count and {} among all it could, \
                 and 2% is allowed either way)",
                    out_of_range(answer, &range, "users"),
                    surely.len(),
                    possibly.len()
                ),
                answer > range.possibly,
            ))
        }
    }

    fn check_top(&self, query: &Query<'_>, reply: &Value, surely_by: u64, answered: u64) -> Result<(), Wrong> {
        let names = self.vocabulary.names.len();
        let mut ranges: Vec<Range> = (0..names).map(|_| Range::default()).collect();
        for &(_, index) in self.window(query) {
            let fate = &self.fates[index as usize];
            let range = &mut ranges[usize::from(self.events[index as usize].name)];
            range.surely += u64::from(fate.acked_by(surely_by));
            range.possibly += u64::from(fate.possible_by(answered));
        }
        let listed = read_top(reply).map_err(not_high)?;
        if listed.len() as u64 > query.k {
            return Err(not_high(format!("it listed {} names, but k is {}", listed.len(), query.k)));
        }
        let mut seen = HashSet::new();
        for (position, (name, count)) in listed.iter().enumerate() {
            let Some(index) = self.vocabulary.name_index(name).filter(|_| seen.insert(*name)) else {
                return Err(not_high(format!("it lists `{name}` twice, or a name no event in the window has")));
            };
            let range = &ranges[usize::from(index)];
            if *count == 0 || !range.holds(*count) {
                let why = format!("`{name}` has count {count}: {}", out_of_range(*count, range, "events"));
                return Err((why, *count > range.possibly));
            }
            if let Some((before, before_count)) = position.checked_sub(1).map(|previous| &listed[previous]) {
                if (before_count, name) < (count, before) {
                    return Err(not_high(format!(
                        "`{before}` ({before_count}) comes before `{name}` ({count}): the list must go by count, \
                         highest first, then by name"
                    )));
                }
            }
        }
        let listed_names: HashSet<&str> = listed.iter().map(|(name, _)| *name).collect();
        let left_out = (0..names).filter(|index| !listed_names.contains(self.vocabulary.names[*index].as_str()));
        for index in left_out {
            let range = &ranges[index];
            let name = &self.vocabulary.names[index];
            let beats_last = match listed.last() {
                _ if (listed.len() as u64) < query.k => range.surely > 0,
                Some((last, last_count)) => {
                    range.surely > *last_count
                        || (range.surely == range.possibly && range.surely == *last_count && name.as_str() < *last)
                }
                None => false,
            };
            if beats_last {
                return Err(not_high(format!(
                    "it leaves out `{name}`, which had at least {} events in the window and belongs in the top {}",
                    range.surely, query.k
                )));
            }
        }
        Ok(())
    }

    /// Events at issue for a wrong answer, to show: for too high an answer, events exactly at `to` (which
    /// the window excludes) and events sent more than once; for too low an answer, events exactly at `from`
    /// (which it includes).
    fn hints(&self, query: &Query<'_>, window: &[(i64, u32)], surely_by: u64, too_high: bool) -> String {
        let name = query.name.and_then(|name| self.vocabulary.name_index(name));
        let matches = |index: usize| name.is_none_or(|name| self.events[index].name == name);
        let mut text = String::new();
        let mut show = |label: String, found: Vec<usize>| {
            if !found.is_empty() {
                let shown: Vec<String> = found.iter().take(3).map(|index| self.describe_event(*index)).collect();
                text.push_str(&format!("\n  {label} ({}): {}", found.len(), shown.join("; ")));
            }
        };
        if too_high {
            if let Some(app) = self.vocabulary.app_index(query.app) {
                let events = &self.by_app[usize::from(app)];
                let start = events.partition_point(|(ts, _)| *ts < query.to);
                let at_to = events[start..]
                    .iter()
                    .take_while(|(ts, _)| *ts == query.to)
                    .map(|(_, i)| *i as usize)
                    .filter(|i| matches(*i))
                    .collect();
                show(format!("events at ts = to = {}, which the window excludes", query.to), at_to);
            }
            let resent = window
                .iter()
                .map(|(_, i)| *i as usize)
                .filter(|i| matches(*i) && self.fates[*i].attempts > 1)
                .collect();
            show("events in the window sent more than once, which count once".to_owned(), resent);
        } else {
            let at_from = window
                .iter()
                .take_while(|(ts, _)| *ts == query.from)
                .map(|(_, i)| *i as usize)
                .filter(|i| matches(*i) && self.fates[*i].acked_by(surely_by))
                .collect();
            show(format!("events at ts = from = {}, which the window includes", query.from), at_from);
        }
        text
    }

    fn describe_event(&self, index: usize) -> String {
        let event = &self.events[index];
        let fate = &self.fates[index];
        let acked = fate.acked.map_or_else(
            || "never acknowledged".to_owned(),
            |(at, _)| format!("acknowledged at {:.3} s", at as f64 / 1e9),
        );
        let sent = if fate.attempts > 1 { format!(", sent {} times", fate.attempts) } else { String::new() };
        format!(
            "{} {} {} ts {}, {acked}{sent}",
            self.ids.id(index as u64),
            self.vocabulary.names[usize::from(event.name)],
            format_args!("u{}", event.user),
            event.ts
        )
    }

    fn validity(mut self, pairs: &[Pair<'_>], mut count_latencies: Vec<u64>) -> Validity {
        let acked = self.fates.iter().filter(|fate| fate.acked.is_some()).count() as u64;
        let load_span = load_span(pairs);
        let (records, records_ok, queries) =
            (self.counts["records"], self.counts["records-ok"], self.counts["queries"]);
        let resent = self.fates.iter().filter(|fate| fate.attempts > 1).count() as u64;
        self.count("acked-events", acked);
        self.count("resent-events", resent);
        let mut metrics: BTreeMap<String, f64> =
            self.counts.iter().map(|(name, value)| ((*name).to_owned(), *value as f64)).collect();
        if load_span > 0 {
            metrics.insert("events-per-s".into(), acked as f64 / (load_span as f64 / 1e9));
        }
        if records > 0 {
            metrics.insert("record-availability".into(), records_ok as f64 / records as f64);
        }
        if !count_latencies.is_empty() {
            count_latencies.sort_unstable();
            let rank = (count_latencies.len() * 99).div_ceil(100).max(1) - 1;
            metrics.insert("count-latency-p99-ms".into(), ms(count_latencies[rank]));
        }
        let valid = self.problems.count == 0;
        let summary = format!(
            "{records_ok} of {records} record requests acknowledged ({acked} events, {resent} sent more than once); \
             {queries} queries answered, {}",
            if valid {
                "every answer within its bounds".to_owned()
            } else {
                format!("{} problems", self.problems.count)
            }
        );
        Validity { valid, summary, problems: self.problems.shown, metrics, stalled: false }
    }
}

/// Why an answer is wrong, and whether it was too high (more than could have been counted).
type Wrong = (String, bool);

fn not_high(why: String) -> Wrong {
    (why, false)
}

/// From the first request of the load to the last completion of the load, in ns.
fn load_span(pairs: &[Pair<'_>]) -> u64 {
    let load = pairs.iter().filter(|pair| !pair.is_final());
    let start = load.clone().map(|pair| pair.invoke.time_ns).min().unwrap_or(0);
    let end = load.filter_map(|pair| pair.completion.map(|done| done.time_ns)).max().unwrap_or(0);
    end.saturating_sub(start)
}

fn read_query<'h>(kind: &'h str, value: &'h Value) -> Option<Query<'h>> {
    if !matches!(kind, "count" | "distinct" | "top") {
        return None;
    }
    Some(Query {
        kind,
        app: value.get("app")?.as_str()?,
        name: value.get("name").and_then(Value::as_str),
        from: value.get("from")?.as_i64()?,
        to: value.get("to")?.as_i64()?,
        k: value.get("k").and_then(Value::as_u64).unwrap_or(0),
    })
}

fn describe(query: &Query<'_>) -> String {
    let name = query.name.map(|name| format!(" name={name}")).unwrap_or_default();
    let k = if query.kind == "top" { format!(" k={}", query.k) } else { String::new() };
    format!("{} app={}{name}{k} from={} to={}", query.kind, query.app, query.from, query.to)
}

fn field_u64(reply: &Value, kind: &str, field: &str) -> Result<u64, String> {
    if reply.get("type").and_then(Value::as_str) != Some(kind) {
        return Err(format!("the reply {reply} is not a {kind}"));
    }
    reply
        .get(field)
        .and_then(Value::as_u64)
        .ok_or_else(|| format!("the reply {reply} has no `{field}` that is a whole number"))
}

fn read_top(reply: &Value) -> Result<Vec<(&str, u64)>, String> {
    if reply.get("type").and_then(Value::as_str) != Some("top_ok") {
        return Err(format!("the reply {reply} is not a top_ok"));
    }
    let wrong = || format!("the reply {reply} has no `names` list of [name, count] pairs");
    let names = reply.get("names").and_then(Value::as_array).ok_or_else(wrong)?;
    names
        .iter()
        .map(|pair| match pair.as_array().map(Vec::as_slice) {
            Some([name, count]) => name.as_str().zip(count.as_u64()).ok_or_else(wrong),
            _ => Err(wrong()),
        })
        .collect()
}

fn out_of_range(answer: u64, range: &Range, what: &str) -> String {
    let (surely, possibly) = (amount(range.surely, what), amount(range.possibly, what));
    if range.surely == range.possibly {
        format!("it answered {answer}, but there were exactly {surely}")
    } else if answer < range.surely {
        format!(
            "it answered {answer}, but at least {surely} had to be counted (acknowledged before the query's lag), \
             and at most {possibly} could be"
        )
    } else {
        format!(
            "it answered {answer}, but at most {possibly} had been sent by the time it answered (at least {surely} \
             had to be counted)"
        )
    }
}

/// `1 event`, `2 events`: `what` is a plural in s.
fn amount(count: u64, what: &str) -> String {
    let what = if count == 1 { what.strip_suffix('s').unwrap_or(what) } else { what };
    format!("{count} {what}")
}
#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::run::protocol::history::OpPhase;

    const MS: i64 = super::super::events::EPOCH_MS;

    /// A small world: app-01 with events at ts 100, 150, 200 (names 0, 0, 1; users 1, 2, 1), app-02 with one.
    struct World {
        vocabulary: Vocabulary,
        ids: Ids,
        events: Vec<Event>,
        options: Options,
        history: History,
    }

    impl World {
        fn new() -> World {
            let event = |app, name, user, ts| Event { app, name, user, ts: MS + ts };
            World {
                vocabulary: Vocabulary::new(2, 10),
                ids: Ids::new(42),
                events: vec![event(0, 0, 1, 100), event(0, 0, 2, 150), event(0, 1, 1, 200), event(1, 0, 3, 100)],
                options: Options::default(),
                history: History::default(),
            }
        }

        /// A record as the history keeps it: its events' ids.
        fn batch(&self, events: &[u64]) -> Value {
            let ids: Vec<String> = events.iter().map(|i| self.ids.id(*i)).collect();
            json!({ EVENT_IDS: ids })
        }

        /// Records `events` at `at_ms`, acknowledged 1 ms later (or refused, or never answered).
        fn record(&mut self, events: &[u64], at_ms: u64, outcome: Option<OpKind>) {
            let value = self.batch(events);
            self.history.invoke(1, "record", value, Duration::from_millis(at_ms), "n0");
            if let Some(kind) = outcome {
                let reply = if kind == OpKind::Ok { json!({"type": "record_ok"}) } else { json!({"type": "error"}) };
                let error = (kind == OpKind::Fail).then(|| (11, "busy".to_owned()));
                self.history.complete(1, kind, reply, error, Duration::from_millis(at_ms + 1));
            }
        }

        fn ask(&mut self, phase: OpPhase, f: &str, query: Value, at_ms: u64, reply: Value) {
            self.history.invoke_in(phase, 2, f, query, Duration::from_millis(at_ms), "n1");
            self.history.complete(2, OpKind::Ok, reply, None, Duration::from_millis(at_ms + 2));
        }

        fn check(&self) -> Validity {
            Checker::new(&self.vocabulary, &self.ids, &self.events, &self.options).check(&self.history)
        }
    }

    fn count(app: &str, from: i64, to: i64) -> Value {
        json!({"app": app, "from": MS + from, "to": MS + to})
    }

    #[test]
    fn a_final_count_must_be_exact_and_the_window_excludes_its_end() {
        let mut world = World::new();
        world.record(&[0, 1, 2, 3], 10, Some(OpKind::Ok));
        world.ask(OpPhase::Final, "count", count("app-01", 100, 200), 5000, json!({"type": "count_ok", "count": 2}));
        assert!(world.check().valid, "{:?}", world.check().problems);
        world.ask(OpPhase::Final, "count", count("app-01", 100, 200), 5100, json!({"type": "count_ok", "count": 3}));
        let validity = world.check();
        assert!(!validity.valid);
        let text = &validity.problems[0].text;
        assert!(text.contains("it answered 3, but there were exactly 2 events"), "{text}");
        assert!(text.contains("events at ts = to = 1700000000200, which the window excludes (1)"), "{text}");
        assert_eq!(validity.metrics["bad-answers"], 1.0);
    }

    #[test]
    fn a_load_query_may_miss_only_events_acked_within_the_lag() {
        let mut world = World::new();
        world.record(&[0], 10, Some(OpKind::Ok));
        world.record(&[1], 1500, Some(OpKind::Ok));
        // At 2000 ms: event 0 (acked at 11 ms) must be counted; event 1 (acked 1501 ms) may be.
        world.ask(OpPhase::Load, "count", count("app-01", 0, 1000), 2000, json!({"type": "count_ok", "count": 1}));
        world.ask(OpPhase::Load, "count", count("app-01", 0, 1000), 2010, json!({"type": "count_ok", "count": 2}));
        assert!(world.check().valid, "{:?}", world.check().problems);
        world.ask(OpPhase::Load, "count", count("app-01", 0, 1000), 2020, json!({"type": "count_ok", "count": 0}));
        let text = &world.check().problems[0].text;
        assert!(
            text.contains("at least 1 event had to be counted") && text.contains("at most 2 events could be"),
            "{text}"
        );
    }

    #[test]
    fn a_resent_event_counts_once_and_a_refused_one_never() {
        let mut world = World::new();
        world.record(&[0, 1], 10, Some(OpKind::Ok));
        world.record(&[0, 1], 20, None);
        world.record(&[2], 30, Some(OpKind::Fail));
        world.ask(OpPhase::Final, "count", count("app-01", 0, 1000), 5000, json!({"type": "count_ok", "count": 3}));
        let validity = world.check();
        let text = &validity.problems[0].text;
        assert!(text.contains("there were exactly 2 events"), "{text}");
        assert!(text.contains("sent more than once, which count once (2)"), "{text}");
        assert_eq!(validity.metrics["resent-events"], 2.0);
        assert_eq!(validity.metrics["acked-events"], 2.0);
        assert!((validity.metrics["record-availability"] - 1.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn a_record_in_doubt_may_or_may_not_be_counted_after_the_load() {
        let mut world = World::new();
        world.record(&[0], 10, Some(OpKind::Ok));
        world.record(&[1], 20, Some(OpKind::Info));
        for (answer, at) in [(1, 5000), (2, 5010)] {
            world.ask(
                OpPhase::Final,
                "count",
                count("app-01", 0, 1000),
                at,
                json!({"type": "count_ok", "count": answer}),
            );
        }
        assert!(world.check().valid, "{:?}", world.check().problems);
    }

    #[test]
    fn distinct_allows_two_percent_rounded_up_to_a_user() {
        let mut world = World::new();
        world.record(&[0, 1, 2], 10, Some(OpKind::Ok));
        for (answer, at) in [(2, 5000), (3, 5010), (1, 5020)] {
            let reply = json!({"type": "distinct_ok", "users": answer});
            world.ask(OpPhase::Final, "distinct", count("app-01", 0, 1000), at, reply);
        }
        let validity = world.check();
        assert_eq!(validity.metrics["bad-answers"], 0.0, "1 and 3 are within one user of 2");
        world.ask(
            OpPhase::Final,
            "distinct",
            count("app-01", 0, 1000),
            5030,
            json!({"type": "distinct_ok", "users": 0}),
        );
        assert_eq!(world.check().metrics["bad-answers"], 1.0, "0 is not");
    }

    #[test]
    fn top_goes_by_count_then_name_and_leaves_out_no_name_that_belongs() {
        let mut world = World::new();
        world.record(&[0, 1, 2], 10, Some(OpKind::Ok));
        let top = |k: u64| json!({"app": "app-01", "from": MS, "to": MS + 1000, "k": k});
        let right = json!({"type": "top_ok", "names": [["message.published", 2], ["message.received", 1]]});
        world.ask(OpPhase::Final, "top", top(5), 5000, right);
        let first = json!({"type": "top_ok", "names": [["message.published", 2]]});
        world.ask(OpPhase::Final, "top", top(1), 5010, first);
        assert!(world.check().valid, "{:?}", world.check().problems);
        let cases = [
            (json!([["message.received", 1], ["message.published", 2]]), "comes before"),
            (json!([["message.published", 2]]), "leaves out `message.received`"),
            (json!([["message.published", 2], ["message.published", 2]]), "twice"),
            (json!([["message.published", 3]]), "exactly 2 events"),
            (json!([["message.published", 2], ["message.received", 1], ["token.renewed", 0]]), "token.renewed"),
        ];
        for (names, expected) in cases {
            let mut world = World::new();
            world.record(&[0, 1, 2], 10, Some(OpKind::Ok));
            world.ask(OpPhase::Final, "top", top(5), 5000, json!({"type": "top_ok", "names": names}));
            let validity = world.check();
            assert!(!validity.valid, "{names} should be refused");
            assert!(validity.problems[0].text.contains(expected), "{}", validity.problems[0].text);
        }
    }

    #[test]
    fn replies_of_the_wrong_shape_and_unanswered_final_queries_are_problems() {
        let mut world = World::new();
        world.record(&[0], 10, Some(OpKind::Ok));
        world.ask(OpPhase::Final, "count", count("app-01", 0, 1000), 5000, json!({"type": "count_ok", "count": "1"}));
        world.history.invoke_in(OpPhase::Final, 2, "count", count("app-01", 0, 1000), Duration::from_secs(6), "n1");
        let validity = world.check();
        assert_eq!(validity.problems.len(), 2);
        assert!(validity.problems[0].text.contains("has no `count` that is a whole number"));
        assert!(validity.problems[1].text.contains("got no answer"), "{}", validity.problems[1].text);
    }

    #[test]
    fn an_app_that_sent_nothing_counts_zero() {
        let mut world = World::new();
        world.record(&[0, 3], 10, Some(OpKind::Ok));
        world.ask(OpPhase::Final, "count", count("app-00", 0, 1000), 5000, json!({"type": "count_ok", "count": 0}));
        world.ask(OpPhase::Final, "count", count("app-02", 0, 1000), 5010, json!({"type": "count_ok", "count": 1}));
        assert!(world.check().valid, "{:?}", world.check().problems);
    }
}
