//! The events of the `event-recording` workload: what one is, the vocabulary of apps, names and users they
//! are drawn from (skewed like real traffic: a few apps and names dominate, users come back), and event
//! ids that look random but decode back to the event's index, so the checker needs no id table.

use serde_json::{Map, Value};

use crate::run::protocol::rng::Rng;

/// The time the first events happened (ms since the epoch): November 2023.
pub const EPOCH_MS: i64 = 1_700_000_000_000;
/// How many events share one millisecond of event time as the generator advances.
pub const EVENTS_PER_MS: u64 = 4;

/// The names most events have, most frequent first.
const COMMON_NAMES: &[&str] = &[
    "message.published",
    "message.received",
    "connection.opened",
    "channel.attached",
    "connection.closed",
    "channel.detached",
    "presence.entered",
    "presence.left",
    "subscription.succeeded",
    "token.renewed",
    "subscription.failed",
    "connection.failed",
];
/// The long tail of rare names (`custom.event-<k>`), a tenth of the events.
const RARE_NAMES: usize = 40;
const RARE_SHARE: f64 = 0.1;

/// One generated event, by index into the vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    pub app: u16,
    pub name: u16,
    pub user: u32,
    pub ts: i64,
}

/// What events are drawn from: apps and names as strings, and the skew of each draw.
#[derive(Debug, Clone)]
pub struct Vocabulary {
    pub apps: Vec<String>,
    pub names: Vec<String>,
    app_weights: Vec<f64>,
    common_weights: Vec<f64>,
    users: u64,
}

impl Vocabulary {
    #[must_use]
    pub fn new(apps: usize, users: u64) -> Vocabulary {
        let names = COMMON_NAMES
            .iter()
            .map(|name| (*name).to_owned())
            .chain((0..RARE_NAMES).map(|k| format!("custom.event-{k}")))
            .collect();
        Vocabulary {
            apps: (1..=apps).map(|k| format!("app-{k:02}")).collect(),
            names,
            app_weights: zipf_cumulative(apps, 1.2),
            common_weights: zipf_cumulative(COMMON_NAMES.len(), 1.0),
            users: users.max(1),
        }
    }

    /// A random app, skewed towards the first ones.
    pub fn app(&self, rng: &mut Rng) -> u16 {
        pick(&self.app_weights, rng) as u16
    }

    pub fn name(&self, rng: &mut Rng) -> u16 {
        if rng.chance(RARE_SHARE) {
            (COMMON_NAMES.len() as u64 + rng.below(RARE_NAMES as u64)) as u16
        } else {
            pick(&self.common_weights, rng) as u16
        }
    }

    /// A user: low numbers far more often than high ones, so users repeat.
    pub fn user(&self, rng: &mut Rng) -> u32 {
        let skewed = rng.unit().powi(3);
        ((skewed * self.users as f64) as u64).min(self.users - 1) as u32
    }

    pub fn app_index(&self, app: &str) -> Option<u16> {
        self.apps.iter().position(|known| known == app).map(|index| index as u16)
    }

    pub fn name_index(&self, name: &str) -> Option<u16> {
        self.names.iter().position(|known| known == name).map(|index| index as u16)
    }

    /// The event as the JSON object a client library sends.
    #[must_use]
    pub fn json(&self, ids: &Ids, index: u64, event: &Event) -> Value {
        let mut object = Map::with_capacity(5);
        object.insert("id".into(), Value::String(ids.id(index)));
        object.insert("app".into(), Value::String(self.apps[usize::from(event.app)].clone()));
        object.insert("name".into(), Value::String(self.names[usize::from(event.name)].clone()));
        object.insert("user".into(), Value::String(format!("u{}", event.user)));
        object.insert("ts".into(), Value::from(event.ts));
        Value::Object(object)
    }
}

/// Cumulative weights of a Zipf law over `n` ranks with exponent `s`, ending at 1.
fn zipf_cumulative(n: usize, s: f64) -> Vec<f64> {
    let weights: Vec<f64> = (1..=n.max(1)).map(|rank| 1.0 / (rank as f64).powf(s)).collect();
    let total: f64 = weights.iter().sum();
    let mut sum = 0.0;
    weights
        .iter()
        .map(|weight| {
            sum += weight / total;
            sum
        })
        .collect()
}

fn pick(cumulative: &[f64], rng: &mut Rng) -> usize {
    let roll = rng.unit();
    cumulative.iter().position(|bound| roll < *bound).unwrap_or(cumulative.len() - 1)
}

/// Event ids: the event's index, offset by a per-run salt and scrambled by an invertible mix, as 16 hex
/// digits. They look like a client library's random ids, differ from run to run, and decode back.
#[derive(Debug, Clone, Copy)]
pub struct Ids {
    salt: u64,
}

const MIX_1: u64 = 0xff51_afd7_ed55_8ccd;
const MIX_2: u64 = 0xc4ce_b9fe_1a85_ec53;

impl Ids {
    #[must_use]
    pub fn new(salt: u64) -> Ids {
        Ids { salt }
    }

    #[must_use]
    pub fn id(&self, index: u64) -> String {
        format!("{:016x}", mix(index.wrapping_add(self.salt)))
    }

    /// The index of the event with this id, if it is one of ours and below `count`.
    #[must_use]
    pub fn index(&self, id: &str, count: usize) -> Option<usize> {
        if id.len() != 16 {
            return None;
        }
        let mixed = u64::from_str_radix(id, 16).ok()?;
        let index = unmix(mixed).wrapping_sub(self.salt);
        usize::try_from(index).ok().filter(|index| *index < count)
    }
}

/// MurmurHash3's 64-bit finaliser: a bijection on u64.
fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(MIX_1);
    x ^= x >> 33;
    x = x.wrapping_mul(MIX_2);
    x ^ (x >> 33)
}

fn unmix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(inverse(MIX_2));
    x ^= x >> 33;
    x = x.wrapping_mul(inverse(MIX_1));
    x ^ (x >> 33)
}

/// The multiplicative inverse of an odd number modulo 2^64 (Newton's iteration doubles the correct bits).
fn inverse(odd: u64) -> u64 {
    let mut inverse = odd;
    for _ in 0..6 {
        inverse = inverse.wrapping_mul(2u64.wrapping_sub(odd.wrapping_mul(inverse)));
    }
    inverse
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_decode_to_the_index_they_were_made_from_and_nothing_else_does() {
        let ids = Ids::new(0xdead_beef);
        for index in [0u64, 1, 2, 999, 1 << 40] {
            let id = ids.id(index);
            assert_eq!(id.len(), 16);
            assert_eq!(ids.index(&id, usize::MAX), Some(index as usize));
        }
        assert_eq!(ids.index(&ids.id(10), 10), None, "an index past the events generated");
        assert_eq!(ids.index("not-an-id-at-all", 100), None);
        assert_eq!(ids.index("abc", 100), None);
        assert_ne!(Ids::new(1).id(5), Ids::new(2).id(5), "the salt changes the ids");
    }

    #[test]
    fn the_mix_is_a_bijection_with_an_exact_inverse() {
        for x in [0u64, 1, u64::MAX, 0x1234_5678_9abc_def0] {
            assert_eq!(unmix(mix(x)), x);
        }
        assert_eq!(MIX_1.wrapping_mul(inverse(MIX_1)), 1);
    }

    #[test]
    fn draws_are_skewed_towards_the_first_apps_names_and_users() {
        let vocabulary = Vocabulary::new(10, 1000);
        let mut rng = Rng::stream(7, &[1]);
        let mut apps = [0u32; 10];
        let mut rare = 0;
        let mut low_users = 0;
        for _ in 0..10_000 {
            apps[usize::from(vocabulary.app(&mut rng))] += 1;
            rare += u32::from(usize::from(vocabulary.name(&mut rng)) >= COMMON_NAMES.len());
            low_users += u32::from(vocabulary.user(&mut rng) < 100);
        }
        assert!(apps[0] > 3 * apps[4], "app-01 dominates: {apps:?}");
        assert!(apps.iter().all(|count| *count > 0), "every app appears: {apps:?}");
        assert!((700..1300).contains(&rare), "about a tenth are rare names: {rare}");
        assert!(low_users > 3_000, "a tenth of the users send about half the events: {low_users}");
    }

    #[test]
    fn an_event_becomes_the_object_a_client_sends() {
        let vocabulary = Vocabulary::new(3, 10);
        let ids = Ids::new(0);
        let event = Event { app: 2, name: 0, user: 7, ts: EPOCH_MS + 5 };
        let json = vocabulary.json(&ids, 3, &event);
        assert_eq!(json["app"], "app-03");
        assert_eq!(json["name"], "message.published");
        assert_eq!(json["user"], "u7");
        assert_eq!(json["ts"], EPOCH_MS + 5);
        assert_eq!(json["id"], ids.id(3));
        assert_eq!(vocabulary.app_index("app-03"), Some(2));
        assert_eq!(vocabulary.name_index("custom.event-0"), Some(COMMON_NAMES.len() as u16));
        assert_eq!(vocabulary.name_index("nope"), None);
    }
}
