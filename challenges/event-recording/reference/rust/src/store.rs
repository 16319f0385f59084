//! What a node knows: the set of event ids it has counted and the aggregates that answer queries, never
//! the events themselves (an event as sent is about 110 bytes; here it costs about 30).
//!
//! - Dedup: the 64-bit hash of each event's id, kept with the app's events of its second (8 bytes an
//!   event); a copy of an event has the same app and `ts`, so it is looked for among the events of that
//!   ms only. Two ids are confused only if they share app, ms and hash: with k events per ms, about
//!   n·k/2⁶⁵ over n events (1e-11 at 10⁷ events, 4 a ms), where one global set of 64-bit hashes would
//!   risk n²/2⁶⁵ (2.7e-6) and cost a table of 2ⁿ slots rehashed as it doubles.
//! - `count` and `top`: per series (an app and a name), per 10 s of `ts`, the sorted millisecond offsets
//!   of its events (2 bytes an event). A window takes whole buckets by their length and binary-searches
//!   only its two edge buckets, so every `from` and `to` is exact to the ms and a query costs a few
//!   operations per bucket in the window, whatever the number of events.
//! - The app as a whole (`count` without `name`, `distinct` and dedup): per second, the same sorted
//!   offsets over all its names, with each event's 32-bit user hash and 64-bit id hash alongside (14 bytes
//!   an event). `distinct` collects the user hashes of the window in a set while the window holds fewer
//!   than [`EXACT_DISTINCT_BELOW`] events; above, it merges the HyperLogLog sketches ([`Sketch`], one per
//!   app and minute) of the minutes wholly inside the window and adds the users of its edges to them.
//!   See DESIGN.md for the trade.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use crate::codec::{hash64, Fact};
use crate::sketch::Sketch;

/// A hasher for keys that are already good hashes (used as they are) and for short strings (hashed with
/// [`hash64`], quicker than std's SipHash; nothing here needs its resistance to chosen keys).
#[derive(Default)]
pub struct Quick(u64);

impl Hasher for Quick {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0 = hash64(bytes) ^ self.0.rotate_left(5);
    }
    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
    /// Spread over all 64 bits: the hash table takes its tags from the top ones.
    fn write_u32(&mut self, value: u32) {
        self.0 = u64::from(value).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

type Quickly = BuildHasherDefault<Quick>;

/// Buckets of a series' events span this many ms: wide, because most series are rare and a bucket has a
/// fixed cost (about 90 bytes), yet narrow enough that an offset fits in a u16 and that an event arriving
/// late shifts few others.
const SERIES_BUCKET_MS: i64 = 10_000;
/// Buckets of an app's events (all names: many more per ms) span one second.
const APP_BUCKET_MS: i64 = 1000;
/// Each app has a distinct-user sketch per this many ms of `ts`.
const SKETCH_MS: i64 = 60_000;
/// Windows with fewer events than this get an exact `distinct` (a set of their users: at most a few
/// milliseconds); larger ones are estimated from the sketches, in time that does not grow with them.
pub const EXACT_DISTINCT_BELOW: u64 = 100_000;

/// The buckets of width `width` a window `[from, to)` touches.
fn window(width: i64, from: i64, to: i64) -> Option<(i64, i64)> {
    (from < to).then(|| (from.div_euclid(width), (to - 1).div_euclid(width)))
}

/// The part of bucket `bucket` inside `[from, to)`, as offsets; `None` when it is all inside.
fn part(width: i64, bucket: i64, from: i64, to: i64) -> Option<(u16, u16)> {
    let width = i128::from(width);
    let start = i128::from(bucket) * width;
    let (from, to) = (i128::from(from), i128::from(to));
    if start >= from && start + width <= to {
        return None;
    }
    let lo = (from - start).clamp(0, width) as u16;
    let hi = (to - start).clamp(0, width) as u16;
    Some((lo, hi))
}

/// The bucket of `ts` and its offset in it.
fn split(width: i64, ts: i64) -> (i64, u16) {
    (ts.div_euclid(width), ts.rem_euclid(width) as u16)
}

/// Where `ms` goes in a sorted list: after its equals, so events in time order append.
fn slot(offsets: &[u16], ms: u16) -> usize {
    offsets.partition_point(|&at| at <= ms)
}

/// The positions of the offsets of `[lo, hi)` in a sorted list.
fn positions(offsets: &[u16], lo: u16, hi: u16) -> std::ops::Range<usize> {
    offsets.partition_point(|&at| at < lo)..offsets.partition_point(|&at| at < hi)
}

/// The events of one series: per bucket, their ms offsets, sorted.
#[derive(Default)]
struct Counts {
    buckets: BTreeMap<i64, Vec<u16>>,
}

impl Counts {
    fn add(&mut self, ts: i64) {
        let (bucket, ms) = split(SERIES_BUCKET_MS, ts);
        let offsets = self.buckets.entry(bucket).or_default();
        offsets.insert(slot(offsets, ms), ms);
    }

    fn count(&self, from: i64, to: i64) -> u64 {
        let Some((first, last)) = window(SERIES_BUCKET_MS, from, to) else { return 0 };
        self.buckets
            .range(first..=last)
            .map(|(&bucket, offsets)| match part(SERIES_BUCKET_MS, bucket, from, to) {
                None => offsets.len(),
                Some((lo, hi)) => positions(offsets, lo, hi).len(),
            } as u64)
            .sum()
    }
}

/// One second of one app: its events' ms offsets, sorted, and their users and id hashes in the same order.
#[derive(Default)]
struct AppSecond {
    offsets: Vec<u16>,
    users: Vec<u32>,
    ids: Vec<u64>,
}

impl AppSecond {
    /// Adds the event unless an event with its id is there already (at the same ms: see [`Store::insert`]).
    fn add(&mut self, ms: u16, id: u64, user: u32) -> bool {
        let same_ms = positions(&self.offsets, ms, ms + 1);
        if self.ids[same_ms.clone()].contains(&id) {
            return false;
        }
        let at = same_ms.end;
        self.offsets.insert(at, ms);
        self.users.insert(at, user);
        self.ids.insert(at, id);
        true
    }

    fn shrink(&mut self) {
        self.offsets.shrink_to_fit();
        self.users.shrink_to_fit();
        self.ids.shrink_to_fit();
    }
}

struct App {
    name: String,
    /// Series of each event name of this app.
    names: HashMap<String, u32, Quickly>,
    seconds: BTreeMap<i64, AppSecond>,
    minutes: BTreeMap<i64, Sketch>,
}

impl App {
    /// Calls `each` with the users of the events in the window, second by second.
    fn users_in(&self, from: i64, to: i64, mut each: impl FnMut(&[u32])) {
        let Some((first, last)) = window(APP_BUCKET_MS, from, to) else { return };
        for (&second, events) in self.seconds.range(first..=last) {
            match part(APP_BUCKET_MS, second, from, to) {
                None => each(&events.users),
                Some((lo, hi)) => each(&events.users[positions(&events.offsets, lo, hi)]),
            }
        }
    }
}

struct Series {
    app: u32,
    name: String,
    counts: Counts,
}

/// Everything a node has counted.
#[derive(Default)]
pub struct Store {
    events: usize,
    /// The latest `ts` counted, and the buckets before which everything was shrunk to fit.
    latest: i64,
    shrunk_app_below: i64,
    shrunk_series_below: i64,
    apps: Vec<App>,
    app_numbers: HashMap<String, u32, Quickly>,
    series: Vec<Series>,
}

impl Store {
    pub fn events(&self) -> usize {
        self.events
    }

    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    /// The app and name of series `series`.
    pub fn series_key(&self, series: u32) -> (&str, &str) {
        let series = &self.series[series as usize];
        (&self.apps[series.app as usize].name, &series.name)
    }

    /// The number of the series (`app`, `name`), and whether it is new.
    pub fn intern(&mut self, app: &str, name: &str) -> (u32, bool) {
        let app_number = match self.app_numbers.get(app) {
            Some(&number) => number,
            None => {
                let number = self.apps.len() as u32;
                self.apps.push(App {
                    name: app.to_owned(),
                    names: HashMap::default(),
                    seconds: BTreeMap::new(),
                    minutes: BTreeMap::new(),
                });
                self.app_numbers.insert(app.to_owned(), number);
                number
            }
        };
        if let Some(&series) = self.apps[app_number as usize].names.get(name) {
            return (series, false);
        }
        let series = self.series.len() as u32;
        self.series.push(Series { app: app_number, name: name.to_owned(), counts: Counts::default() });
        self.apps[app_number as usize].names.insert(name.to_owned(), series);
        (series, true)
    }

    /// Counts `fact` unless its id was counted before; says whether it was new. `fact.series` must come
    /// from [`Store::intern`].
    ///
    /// An id names one event, so every copy of it has the same app and `ts`: the id hashes are kept with
    /// the app's events of that second, and a copy is found among the few events of the same ms. That is
    /// the whole dedup index: no set of every id, no table to rehash as it grows.
    pub fn insert(&mut self, fact: &Fact) -> bool {
        let series = &mut self.series[fact.series as usize];
        let (second, ms) = split(APP_BUCKET_MS, fact.ts);
        let app = &mut self.apps[series.app as usize];
        if !app.seconds.entry(second).or_default().add(ms, fact.id, fact.user) {
            return false;
        }
        app.minutes.entry(fact.ts.div_euclid(SKETCH_MS)).or_insert_with(Sketch::new).add(fact.user);
        series.counts.add(fact.ts);
        self.events += 1;
        self.latest = self.latest.max(fact.ts);
        true
    }

    /// Gives back the spare capacity of buckets that late events no longer reach (`settled_ms` before
    /// the latest `ts`): a grown vector holds a third more than it uses, on average.
    pub fn shrink_settled(&mut self, settled_ms: i64) {
        let horizon = self.latest.saturating_sub(settled_ms);
        let app_below = horizon.div_euclid(APP_BUCKET_MS);
        if app_below > self.shrunk_app_below {
            for app in &mut self.apps {
                app.seconds.range_mut(self.shrunk_app_below..app_below).for_each(|(_, events)| events.shrink());
            }
            self.shrunk_app_below = app_below;
        }
        let series_below = horizon.div_euclid(SERIES_BUCKET_MS);
        if series_below > self.shrunk_series_below {
            for series in &mut self.series {
                let buckets = series.counts.buckets.range_mut(self.shrunk_series_below..series_below);
                buckets.for_each(|(_, offsets)| offsets.shrink_to_fit());
            }
            self.shrunk_series_below = series_below;
        }
    }

    fn app(&self, app: &str) -> Option<&App> {
        self.app_numbers.get(app).map(|&number| &self.apps[number as usize])
    }

    /// Events of `app` (of name `name`, if given) with `from <= ts < to`.
    pub fn count(&self, app: &str, name: Option<&str>, from: i64, to: i64) -> u64 {
        let Some(app) = self.app(app) else { return 0 };
        match name {
            None => {
                let mut count = 0;
                app.users_in(from, to, |users| count += users.len() as u64);
                count
            }
            Some(name) => app.names.get(name).map_or(0, |&series| self.series[series as usize].counts.count(from, to)),
        }
    }

    /// Different users among the events of `app` with `from <= ts < to`.
    pub fn distinct(&self, app: &str, from: i64, to: i64) -> u64 {
        let Some(app) = self.app(app) else { return 0 };
        let mut events = 0;
        app.users_in(from, to, |users| events += users.len() as u64);
        // The minutes wholly inside the window: [first, end).
        let first = from.div_euclid(SKETCH_MS) + i64::from(from.rem_euclid(SKETCH_MS) != 0);
        let end = to.div_euclid(SKETCH_MS);
        if events < EXACT_DISTINCT_BELOW || first >= end {
            let mut users: HashSet<u32, Quickly> = HashSet::default();
            app.users_in(from, to, |some| users.extend(some));
            return users.len() as u64;
        }
        let mut sketch = Sketch::new();
        for minute in app.minutes.range(first..end).map(|(_, minute)| minute) {
            sketch.merge(minute);
        }
        let edges = [(from, first * SKETCH_MS), (end * SKETCH_MS, to)];
        for (edge_from, edge_to) in edges {
            app.users_in(edge_from, edge_to, |users| users.iter().for_each(|user| sketch.add(*user)));
        }
        sketch.estimate().round() as u64
    }

    /// The `k` names of `app` with most events in the window, highest first, ties by name.
    pub fn top(&self, app: &str, from: i64, to: i64, k: usize) -> Vec<(&str, u64)> {
        let Some(app) = self.app(app) else { return Vec::new() };
        let mut names: Vec<(&str, u64)> = app
            .names
            .iter()
            .map(|(name, &series)| (name.as_str(), self.series[series as usize].counts.count(from, to)))
            .filter(|&(_, count)| count > 0)
            .collect();
        names.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        names.truncate(k);
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(store: &mut Store, id: u64, app: &str, name: &str, user: u32, ts: i64) -> bool {
        let (series, _) = store.intern(app, name);
        store.insert(&Fact { id, ts, series, user })
    }

    #[test]
    fn count_includes_from_and_excludes_to() {
        let mut store = Store::default();
        for (id, ts) in [(1, 999), (2, 1000), (3, 1500), (4, 1999), (5, 2000), (6, 2001)] {
            record(&mut store, id, "a", "x", 1, ts);
        }
        assert_eq!(store.count("a", None, 1000, 2000), 3);
        assert_eq!(store.count("a", None, 999, 2001), 5);
        assert_eq!(store.count("a", None, 1500, 1501), 1);
        assert_eq!(store.count("a", None, 1500, 1500), 0);
        assert_eq!(store.count("a", None, 2000, 1000), 0);
        assert_eq!(store.count("a", None, i64::MIN, i64::MAX), 6);
        assert_eq!(store.count("b", None, 0, 5000), 0);
        assert_eq!(store.count("a", Some("y"), 0, 5000), 0);
    }

    #[test]
    fn negative_timestamps_fall_in_the_right_second() {
        let mut store = Store::default();
        record(&mut store, 1, "a", "x", 1, -1);
        record(&mut store, 2, "a", "x", 1, 0);
        assert_eq!(store.count("a", None, -1, 0), 1);
        assert_eq!(store.count("a", None, -1000, 0), 1);
        assert_eq!(store.count("a", None, 0, 1), 1);
    }

    #[test]
    fn a_crowded_second_counts_to_the_ms() {
        let mut store = Store::default();
        let mut id = 0;
        for ms in 0..1000 {
            for _ in 0..(ms % 3) {
                id += 1;
                record(&mut store, id, "a", "x", id as u32, 5000 + ms);
            }
        }
        let expected = |lo: i64, hi: i64| (lo..hi).map(|ms| (ms % 3) as u64).sum::<u64>();
        for (lo, hi) in [(0, 1000), (1, 999), (500, 501), (0, 1), (998, 1000), (250, 750)] {
            assert_eq!(store.count("a", Some("x"), 5000 + lo, 5000 + hi), expected(lo, hi), "{lo}..{hi}");
        }
    }

    #[test]
    fn an_id_counts_once_and_other_ids_of_the_same_ms_still_count() {
        let mut store = Store::default();
        assert!(record(&mut store, 7, "a", "x", 1, 10));
        assert!(record(&mut store, 8, "a", "y", 2, 10));
        assert!(record(&mut store, 6, "a", "x", 3, 10));
        assert!(!record(&mut store, 7, "a", "x", 1, 10), "a copy");
        assert!(!record(&mut store, 6, "a", "x", 3, 10), "a copy");
        assert_eq!(store.count("a", None, 0, 100), 3);
        assert_eq!(store.count("a", Some("x"), 10, 11), 2);
        assert_eq!(store.distinct("a", 0, 100), 3);
        assert_eq!(store.events(), 3);
    }

    #[test]
    fn shrinking_settled_buckets_changes_no_answer() {
        let mut store = Store::default();
        for id in 0..5000u64 {
            record(
                &mut store,
                id,
                "a",
                if id % 3 == 0 { "x" } else { "y" },
                (id % 50) as u32,
                (id * 7 % 40_000) as i64,
            );
        }
        let before = (
            store.count("a", None, 1234, 31_234),
            store.count("a", Some("x"), 999, 20_001),
            store.distinct("a", 0, 9000),
        );
        store.shrink_settled(10_000);
        let after = (
            store.count("a", None, 1234, 31_234),
            store.count("a", Some("x"), 999, 20_001),
            store.distinct("a", 0, 9000),
        );
        assert_eq!(before, after);
        assert!(!record(&mut store, 7, "a", "y", 7, 49), "a copy is still found in a shrunk bucket");
        assert!(record(&mut store, 5001, "a", "y", 7, 49), "and a late event still fits in one");
    }

    #[test]
    fn distinct_counts_users_inside_the_window_only() {
        let mut store = Store::default();
        record(&mut store, 1, "a", "x", 100, 1000);
        record(&mut store, 2, "a", "x", 100, 1200);
        record(&mut store, 3, "a", "y", 200, 1999);
        record(&mut store, 4, "a", "x", 300, 2000);
        record(&mut store, 5, "b", "x", 400, 1500);
        assert_eq!(store.distinct("a", 1000, 2000), 2);
        assert_eq!(store.distinct("a", 1001, 2001), 3);
        assert_eq!(store.distinct("a", 1300, 1999), 0);
        assert_eq!(store.distinct("a", 0, 10_000), 3);
        assert_eq!(store.distinct("b", 0, 10_000), 1);
        assert_eq!(store.distinct("c", 0, 10_000), 0);
    }

    #[test]
    fn a_wide_window_is_estimated_from_the_sketches_within_two_percent() {
        let mut store = Store::default();
        let mut users_by_ts = Vec::new();
        for id in 0..400_000u64 {
            let ts = 1_700_000_000_000 + (id as i64) * 3 / 4;
            let user = (id.wrapping_mul(0x9e37_79b9) % 250_000) as u32;
            record(&mut store, id + 1, "a", "x", user, ts);
            users_by_ts.push((ts, user));
        }
        let (from, to) = (1_700_000_012_345, 1_700_000_291_234);
        let exact: HashSet<u32> =
            users_by_ts.iter().filter(|(ts, _)| (from..to).contains(ts)).map(|(_, u)| *u).collect();
        let estimate = store.distinct("a", from, to) as f64;
        let error = (estimate - exact.len() as f64).abs() / exact.len() as f64;
        assert!(error < 0.012, "estimated {estimate}, exactly {}: {:.2}% off", exact.len(), error * 100.0);
        assert_eq!(
            store.distinct("a", from, from + 60_000),
            {
                let window: HashSet<u32> =
                    users_by_ts.iter().filter(|(ts, _)| (from..from + 60_000).contains(ts)).map(|(_, u)| *u).collect();
                window.len() as u64
            },
            "a narrow window is exact"
        );
    }

    #[test]
    fn top_sorts_by_count_then_name_and_stops_at_k() {
        let mut store = Store::default();
        let mut id = 0;
        for (name, times) in [("b", 2), ("a", 2), ("c", 5), ("d", 1)] {
            for _ in 0..times {
                id += 1;
                record(&mut store, id, "app", name, 1, 100);
            }
        }
        record(&mut store, 99, "app", "late", 1, 5000);
        assert_eq!(store.top("app", 0, 1000, 3), vec![("c", 5), ("a", 2), ("b", 2)]);
        assert_eq!(store.top("app", 0, 1000, 10).len(), 4, "no name without events in the window");
        assert!(store.top("app", 0, 1000, 0).is_empty());
        assert!(store.top("other", 0, 1000, 3).is_empty());
    }
}
