//! Protocol workloads: each is a client request generator and a checker of the history it produced,
//! plugged in by name, so a new protocol challenge is one new file here.

pub mod echo;
pub mod unique_ids;

use super::history::History;
use super::message::Body;
use super::rng::Rng;

/// A workload's requests and its check.
pub trait Workload: Send {
    fn name(&self) -> &'static str;

    /// The next request of client `process` (type and fields; the harness sets `msg_id`).
    fn request(&mut self, process: u32, rng: &mut Rng) -> Body;

    /// Whether the history is valid for this workload.
    fn check(&self, history: &History) -> Validity;
}

/// A checker's verdict on a history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validity {
    pub valid: bool,
    /// One line: what was checked and the counts.
    pub summary: String,
    /// The first few problems, each with the ops that show it.
    pub problems: Vec<String>,
}

/// How many problems a checker lists.
pub const PROBLEMS_SHOWN: usize = 5;

/// The workload of this name.
#[must_use]
pub fn by_name(name: &str) -> Option<Box<dyn Workload>> {
    match name {
        "echo" => Some(Box::new(echo::Echo)),
        "unique-ids" => Some(Box::new(unique_ids::UniqueIds)),
        _ => None,
    }
}

/// Workload names, for messages.
pub const NAMES: &[&str] = &["echo", "unique-ids"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_name_resolves_to_itself() {
        for name in NAMES {
            assert_eq!(by_name(name).map(|w| w.name()), Some(*name));
        }
        assert!(by_name("broadcast-ish").is_none());
    }
}
