//! Protocol workloads: each is a client request generator and a checker of the history it produced,
//! plugged in by name, so a new protocol challenge is one new file here.
//!
//! A run goes: `setup` requests (one per node, e.g. broadcast's `topology`, each must succeed), the load
//! (`request` per client), then, when the workload has `final_requests`, the harness heals the network,
//! waits the settle time and sends them (recorded with phase `final`), and `check` judges the history.
//!
//! # Metrics
//!
//! A run's metrics (`RunResult::metrics`, thresholds in a spec refer to these names) are the harness's own:
//! - `requests`, `availability` (share of requests that succeeded), `throughput` (successful requests per
//!   second of load), `latency-p50-ms`, `latency-p95-ms`, `latency-p99-ms`, `latency-max-ms`;
//! - `msgs-per-op` (all messages per request), `msgs-per-op-servers` (node to node),
//!   `msgs-per-op-clients` (client requests and their replies), `service-messages` (to and from the
//!   `lin-kv`/`seq-kv`/`lww-kv`/`lin-tso` services, so a stage can forbid them);
//!
//! and the workload's, from `Validity::metrics`:
//! - echo: `wrong` (replies that did not echo);
//! - unique-ids: `duplicated` (ids given more than once);
//! - broadcast: `acknowledged`, `lost` (acknowledged but in no final read), `missing` (acknowledged but
//!   absent from at least one final read, lost ones included), `never-read` (attempted, not acknowledged
//!   and in no read: not an error), `unknown` (read values never broadcast), `duplicated` (a value twice in
//!   one read), `stable-latency-p50-ms`, `stable-latency-p95-ms`, `stable-latency-p99-ms`,
//!   `stable-latency-max-ms` (Jepsen's set-full: from a broadcast's acknowledgement to the start of the last
//!   read that lacked it, 0 when none did);
//! - g-counter: `acknowledged-sum`, `possible-sum` (acknowledged plus indefinite adds), `bad-final-reads`,
//!   `bad-reads` (reads during the load outside [0, sum attempted]).
//! - bank: `transfers-ok`, `transfers-refused`, `audits`, `bad-audits` (totals other than the bank's),
//!   `negative-balances`, `wrong-final-balances`, `stalled` (requests never answered), `malformed`.
//! - lin-kv: `reads`, `writes`, `cas-ok`, `cas-failed`, `unknown` (outcomes never learned),
//!   `not-linearizable` (0 or 1), `malformed`.
//! - event-recording: `records`, `records-ok`, `record-availability` (of the load's records, the share
//!   acknowledged), `acked-events`, `events-per-s` (acknowledged events per second of load),
//!   `resent-events` (events sent more than once), `queries` (answered), `bad-answers`,
//!   `count-latency-p99-ms` (of the load's `count` queries), `malformed`; with the nodes' peak memory, the
//!   harness adds `peak-memory-mib-per-million-events`.

pub mod bank;
pub mod broadcast;
pub mod echo;
pub mod event_recording;
pub mod g_counter;
pub mod lin_kv;
pub mod options;
pub mod topology;
pub mod unique_ids;

use std::collections::BTreeMap;
use std::fmt;

use super::history::History;
use super::message::Body;
use super::rng::Rng;
use options::OptionReader;

/// A workload's requests and its check.
pub trait Workload: Send {
    fn name(&self) -> &'static str;

    /// Requests sent once to given nodes (by index) after init and before the load; each must be answered
    /// without error. Sent again to a node restarted by the nemesis.
    fn setup(&mut self, _node_ids: &[String]) -> Vec<(usize, Body)> {
        Vec::new()
    }

    /// The next request of client `process` (type and fields; the harness sets `msg_id`). `rng` is the
    /// client's own stream, so a client's requests do not depend on how clients interleave.
    fn request(&mut self, process: u32, rng: &mut Rng) -> Body;

    /// Requests sent to given nodes after the load, once the network healed and settled. None (the
    /// default): the run ends with the load.
    fn final_requests(&mut self, _node_ids: &[String]) -> Vec<(usize, Body)> {
        Vec::new()
    }

    /// What the history keeps of a request of this type: its fields, unless the workload's requests are
    /// large and its check needs less.
    fn history_value(&self, _kind: &str, fields: serde_json::Map<String, serde_json::Value>) -> serde_json::Value {
        serde_json::Value::Object(fields)
    }

    /// Whether the history is valid for this workload.
    fn check(&self, history: &History) -> Validity;
}

/// A checker's verdict on a history.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Validity {
    pub valid: bool,
    /// One line: what was checked and the counts.
    pub summary: String,
    /// The first few problems, each with the ops that show it.
    pub problems: Vec<Problem>,
    /// The workload's figures by stable name (see the module documentation).
    pub metrics: BTreeMap<String, f64>,
    /// Requests went unanswered for the request timeout with no fault to blame: a deadlock or a stall,
    /// judged as time limit exceeded rather than a wrong answer.
    pub stalled: bool,
}

/// One thing wrong with a history: what, and the few ops (indices into `History::ops`) that show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub text: String,
    pub ops: Vec<usize>,
}

impl Problem {
    #[must_use]
    pub fn new(text: impl Into<String>, ops: Vec<usize>) -> Problem {
        Problem { text: text.into(), ops }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// How many problems a checker lists.
pub const PROBLEMS_SHOWN: usize = 5;

/// Problems as a checker finds them: all counted, the first few kept (described only when kept, so a
/// history with a million bad values costs no million strings).
#[derive(Debug, Default)]
pub(crate) struct Problems {
    pub shown: Vec<Problem>,
    pub count: usize,
}

impl Problems {
    pub fn add(&mut self, describe: impl FnOnce() -> Problem) {
        self.count += 1;
        if self.shown.len() < PROBLEMS_SHOWN {
            self.shown.push(describe());
        }
    }
}

/// The workload of this name, with its defaults (broadcast: the grid topology).
#[must_use]
pub fn by_name(name: &str) -> Option<Box<dyn Workload>> {
    match name {
        "echo" => Some(Box::new(echo::Echo)),
        "unique-ids" => Some(Box::new(unique_ids::UniqueIds)),
        "broadcast" => Some(Box::new(broadcast::Broadcast::new(topology::Topology::Grid))),
        "g-counter" => Some(Box::new(g_counter::GCounter)),
        "bank" => Some(Box::new(bank::Bank::default())),
        "lin-kv" => Some(Box::new(lin_kv::LinKv::default())),
        "event-recording" => Some(Box::new(event_recording::EventRecording::default())),
        _ => None,
    }
}

/// The workload of this name for a stage that may name a topology (workloads without one ignore it) and
/// options (`[stage.options]`); an error in words for an unknown name or topology or a wrong option.
pub fn for_stage(name: &str, topology_name: Option<&str>, options: &toml::Table) -> Result<Box<dyn Workload>, String> {
    match (name, topology_name) {
        ("bank", _) => return Ok(Box::new(bank::Bank::from_options(options)?)),
        ("lin-kv", _) => return Ok(Box::new(lin_kv::LinKv::from_options(options)?)),
        ("event-recording", _) => return Ok(Box::new(event_recording::EventRecording::from_options(options)?)),
        ("broadcast", Some(topology_name)) => {
            let topology = topology::Topology::from_name(topology_name)
                .ok_or_else(|| format!("takehome has no topology `{topology_name}`"))?;
            OptionReader::new(options, "broadcast").finish()?;
            return Ok(Box::new(broadcast::Broadcast::new(topology)));
        }
        _ => {}
    }
    let workload = by_name(name).ok_or_else(|| format!("takehome has no workload `{name}`"))?;
    OptionReader::new(options, workload.name()).finish()?;
    Ok(workload)
}

/// Workload names, for messages.
pub const NAMES: &[&str] = &["echo", "unique-ids", "broadcast", "g-counter", "bank", "lin-kv", "event-recording"];

/// Milliseconds of a duration in nanoseconds, for metrics.
pub(crate) fn ms(nanos: u64) -> f64 {
    nanos as f64 / 1e6
}

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

    #[test]
    fn the_spec_knows_exactly_the_workloads_and_topologies_there_are() {
        assert_eq!(crate::spec::protocol::WORKLOADS, NAMES);
        assert_eq!(crate::spec::protocol::TOPOLOGIES, topology::TOPOLOGY_NAMES);
        let none = toml::Table::new();
        for name in topology::TOPOLOGY_NAMES {
            assert_eq!(for_stage("broadcast", Some(name), &none).map(|w| w.name()), Ok("broadcast"));
        }
        assert!(for_stage("broadcast", Some("tree9"), &none).is_err());
        assert_eq!(for_stage("echo", Some("grid"), &none).map(|w| w.name()), Ok("echo"));
        let options: toml::Table = "accounts = 3".parse().expect("toml");
        assert_eq!(for_stage("bank", None, &options).map(|w| w.name()), Ok("bank"));
        let refused = for_stage("echo", None, &options).map(|w| w.name());
        assert_eq!(refused, Err("the echo workload takes no options, not `accounts`".into()));
    }

    #[test]
    fn a_problem_reads_as_its_text() {
        assert_eq!(Problem::new("id 7 given twice", vec![3, 9]).to_string(), "id 7 given twice");
    }
}
