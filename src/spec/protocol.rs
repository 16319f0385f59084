//! The protocol part of a spec: a `kind = "protocol"` challenge's workload (`[protocol]`) and its ordered
//! stages (`[[stage]]`), each a run of the candidate's nodes under a load, a network and faults, with the
//! figures it must reach. Documented in docs/challenge-format.md.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Seconds, Visibility};

/// Workloads the harness knows (`run::protocol::workloads` checks that each resolves).
pub const WORKLOADS: &[&str] = &["echo", "unique-ids", "broadcast", "g-counter", "bank", "lin-kv", "event-recording"];

/// Broadcast topologies the harness can hand out.
pub const TOPOLOGIES: &[&str] = &["grid", "line", "ring", "tree2", "tree3", "tree4", "total", "none"];

/// `[protocol]`: what every stage shares.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Protocol {
    /// The requests sent and the check made, e.g. `broadcast`.
    pub workload: String,
    /// How long every node has to answer `init` (default 10 s, as Maelstrom).
    #[serde(default)]
    pub init_timeout: Option<Seconds>,
    /// How long a client waits for a reply before recording the request as indefinite (default 5 s).
    #[serde(default)]
    pub request_timeout: Option<Seconds>,
}

/// One stage: run in spec order; the first that fails stops the run.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    pub name: String,
    /// What the stage asks of the nodes, shown in reports.
    #[serde(default)]
    pub about: Option<String>,
    #[serde(default)]
    pub points: f64,
    #[serde(default)]
    pub visibility: Visibility,
    /// How many nodes (`n0` ...).
    #[serde(default = "Stage::default_nodes")]
    pub nodes: u32,
    /// How long requests are issued.
    #[serde(default = "Stage::default_duration")]
    pub duration: Seconds,
    /// Requests per second over all clients; absent: each client sends again as soon as it has its reply.
    #[serde(default)]
    pub rate: Option<f64>,
    /// With `rate`: requests keep their schedule whatever the replies, and latencies count from when each
    /// should have been sent (wrk2's open loop: no coordinated omission).
    #[serde(default)]
    pub open_loop: bool,
    /// Clients, so requests in flight at most (default: one per node).
    #[serde(default)]
    pub concurrency: Option<u32>,
    /// Wall time the whole stage may take, start to checked (default: generous, from the other times).
    #[serde(default)]
    pub budget: Option<Seconds>,
    /// Latency of each message between nodes (client traffic has none).
    #[serde(default)]
    pub latency: Option<Seconds>,
    #[serde(default)]
    pub latency_distribution: LatencyDistribution,
    /// Chance that a message between nodes is lost, duplicated, or held back so later ones overtake it.
    #[serde(default)]
    pub loss: f64,
    #[serde(default)]
    pub duplicate: f64,
    #[serde(default)]
    pub reorder: f64,
    /// The topology handed to the nodes (workloads that use one, e.g. broadcast).
    #[serde(default)]
    pub topology: Option<String>,
    /// After the load: heal the network, wait this long, then make the final reads (default 5 s).
    #[serde(default)]
    pub settle: Option<Seconds>,
    /// Random partitions into two halves and heals, alternating at this interval, while the load runs.
    #[serde(default)]
    pub partition_every: Option<Seconds>,
    /// Faults at set times.
    #[serde(default, rename = "fault")]
    pub faults: Vec<Fault>,
    /// The workload's own knobs (e.g. the bank's `accounts`), checked by the workload.
    #[serde(default)]
    pub options: toml::Table,
    /// Run the load at each of these rates instead of one, to find the highest that meets a target.
    #[serde(default)]
    pub sweep: Option<Sweep>,
    /// Figures the run must reach, by metric name: `msgs-per-op-servers = { at_most = 30 }`.
    #[serde(default)]
    pub expect: BTreeMap<String, Bound>,
}

impl Stage {
    fn default_nodes() -> u32 {
        1
    }

    fn default_duration() -> Seconds {
        Seconds(5.0)
    }
}

/// `[stage.sweep]`: the stage's load is run at each rate in turn (open loop, fresh nodes each time) until
/// one misses the target; `sweep-max-rate` is the highest that met it (0 when none did).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sweep {
    /// Requests per second, ascending.
    pub rates: Vec<f64>,
    /// What each rate must reach, by metric name: `latency-p99-ms = { at_most = 10 }`.
    pub target: BTreeMap<String, Bound>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LatencyDistribution {
    #[default]
    Constant,
    /// Uniform in [0, 2 × latency).
    Uniform,
    Exponential,
}

/// A fault at a set time of the load: exactly one of `partition`, `crash`, `pause`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// When, from the start of the load.
    pub at: Seconds,
    /// Split the network: `"halves"` (random), `"isolate n1"` (`"isolate"`: a random node), or explicit
    /// groups `[["n0", "n1"], ["n2"]]`.
    #[serde(default)]
    pub partition: Option<Partition>,
    /// When the partition heals (default: at the end of the load).
    #[serde(default)]
    pub heal_after: Option<Seconds>,
    /// Kill this node (SIGKILL) and start it again on the same data folder after `restart_after`.
    #[serde(default)]
    pub crash: Option<String>,
    #[serde(default)]
    pub restart_after: Option<Seconds>,
    /// Stop this node (SIGSTOP) and let it go on (SIGCONT) after `resume_after`.
    #[serde(default)]
    pub pause: Option<String>,
    #[serde(default)]
    pub resume_after: Option<Seconds>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Partition {
    /// `halves` or `isolate <node>`.
    Named(String),
    Groups(Vec<Vec<String>>),
}

/// Limits on one metric: absolute, or relative to the challenge's reference solution run on the same
/// stage (`reference_at_least = 0.5`: at least half the reference's figure); any of them.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bound {
    #[serde(default)]
    pub at_most: Option<f64>,
    #[serde(default)]
    pub at_least: Option<f64>,
    #[serde(default)]
    pub reference_at_most: Option<f64>,
    #[serde(default)]
    pub reference_at_least: Option<f64>,
    /// The reference's figure, once [`Bound::against`] has made the relative limits absolute.
    #[serde(skip)]
    pub reference: Option<f64>,
}

impl Bound {
    #[must_use]
    pub fn absolute(at_least: Option<f64>, at_most: Option<f64>) -> Bound {
        Bound { at_most, at_least, reference_at_most: None, reference_at_least: None, reference: None }
    }

    /// Whether a limit is relative to the reference solution's figure.
    #[must_use]
    pub fn is_relative(&self) -> bool {
        self.reference_at_least.is_some() || self.reference_at_most.is_some()
    }

    /// This bound with its relative limits made absolute by the reference's figure (the tighter of the
    /// two where both kinds are given).
    #[must_use]
    pub fn against(&self, reference: f64) -> Bound {
        let least = self.reference_at_least.map(|factor| factor * reference);
        let most = self.reference_at_most.map(|factor| factor * reference);
        Bound {
            at_least: [self.at_least, least].into_iter().flatten().reduce(f64::max),
            at_most: [self.at_most, most].into_iter().flatten().reduce(f64::min),
            reference: Some(reference),
            ..*self
        }
    }

    /// Whether `value` is within the absolute limits (relative ones count once made absolute by
    /// [`Bound::against`]).
    #[must_use]
    pub fn holds(&self, value: f64) -> bool {
        self.at_most.is_none_or(|most| value <= most) && self.at_least.is_none_or(|least| value >= least)
    }

    /// E.g. `at most 30`, `between 0.9 and 1`, or `at least 500 (0.5 × the reference's 1000)`.
    #[must_use]
    pub fn describe(&self) -> String {
        let limits = match (self.at_least, self.at_most) {
            (Some(least), Some(most)) => format!("between {} and {}", round(least), round(most)),
            (Some(least), None) => format!("at least {}", round(least)),
            (None, Some(most)) => format!("at most {}", round(most)),
            (None, None) => "anything".to_string(),
        };
        let factors: Vec<String> = [("at least", self.reference_at_least), ("at most", self.reference_at_most)]
            .into_iter()
            .filter_map(|(side, factor)| Some(format!("{side} {}×", factor?)))
            .collect();
        match self.reference {
            Some(reference) if !factors.is_empty() => {
                format!("{limits} ({} the reference's {})", factors.join(", "), round(reference))
            }
            _ => limits,
        }
    }
}

/// A figure without needless decimals: `30`, `2.5`, `0.99`, `0.931`, `37141.29` -> `37141.3`.
pub(crate) fn round(value: f64) -> String {
    let decimals = if value.abs() >= 100.0 { 1 } else { 3 };
    let text = format!("{value:.decimals$}");
    let trimmed = text.trim_end_matches('0').trim_end_matches('.');
    if trimmed == "-0" { "0".to_owned() } else { trimmed.to_owned() }
}

/// Checks a stage on its own; returns what is wrong, in words.
pub(super) fn check_stage(stage: &Stage) -> Result<(), String> {
    if stage.nodes == 0 {
        return Err("`nodes` must be at least 1".into());
    }
    if stage.open_loop && stage.rate.is_none() {
        return Err("`open_loop` needs a `rate`: the schedule the requests keep".into());
    }
    if let Some(sweep) = &stage.sweep {
        if stage.rate.is_some() {
            return Err("give `rate` or `[stage.sweep]` rates, not both".into());
        }
        let ascending = sweep.rates.windows(2).all(|pair| pair[0] < pair[1]);
        if sweep.rates.is_empty() || !ascending || sweep.rates.iter().any(|r| !(r.is_finite() && *r > 0.0)) {
            return Err("[stage.sweep] `rates` must be positive requests per second, ascending".into());
        }
        if sweep.target.is_empty() {
            return Err("[stage.sweep] needs a `target`: the figures each rate must reach".into());
        }
        if let Some((metric, _)) = sweep.target.iter().find(|(_, b)| b.at_most.is_none() && b.at_least.is_none()) {
            return Err(format!("[stage.sweep] target `{metric}`: give `at_most`, `at_least` or both (absolute)"));
        }
    }
    if stage.concurrency == Some(0) {
        return Err("`concurrency` must be at least 1".into());
    }
    if stage.rate.is_some_and(|rate| !(rate.is_finite() && rate > 0.0)) {
        return Err(
            "`rate` must be a positive number of requests per second (leave it out for as fast as replies come)".into(),
        );
    }
    if !(stage.points.is_finite() && stage.points >= 0.0) {
        return Err("points must be zero or more".into());
    }
    for (name, value) in [("loss", stage.loss), ("duplicate", stage.duplicate), ("reorder", stage.reorder)] {
        if !(0.0..=1.0).contains(&value) {
            return Err(format!("`{name}` is a probability: between 0 and 1, not {value}"));
        }
    }
    if let Some(topology) = &stage.topology {
        if !TOPOLOGIES.contains(&topology.as_str()) {
            let hint = super::load::closest(topology, TOPOLOGIES).map(|t| format!(" (did you mean `{t}`?)"));
            return Err(format!(
                "unknown topology `{topology}`{}; known: {}",
                hint.unwrap_or_default(),
                TOPOLOGIES.join(", ")
            ));
        }
    }
    let nodes: Vec<String> = (0..stage.nodes).map(|i| format!("n{i}")).collect();
    let known_node = |name: &str| -> Result<(), String> {
        if nodes.iter().any(|n| n == name) {
            Ok(())
        } else {
            Err(format!(
                "there is no node `{name}` in a stage of {} (they are n0 to n{})",
                stage.nodes,
                stage.nodes - 1
            ))
        }
    };
    for fault in &stage.faults {
        let at = format!("the fault at {}", fault.at);
        let actions = [fault.partition.is_some(), fault.crash.is_some(), fault.pause.is_some()];
        if actions.iter().filter(|a| **a).count() != 1 {
            return Err(format!("{at}: give exactly one of `partition`, `crash` or `pause`"));
        }
        if fault.at.0 > stage.duration.0 {
            return Err(format!("{at} comes after the load ends ({})", stage.duration));
        }
        match &fault.partition {
            Some(Partition::Named(name)) => match name.split_whitespace().collect::<Vec<_>>().as_slice() {
                ["halves"] | ["isolate"] => {}
                ["isolate", node] => known_node(node).map_err(|e| format!("{at}: {e}"))?,
                _ => {
                    return Err(format!(
                        "{at}: partition `{name}` is not `halves`, `isolate`, `isolate <node>` or a list of node groups"
                    ));
                }
            },
            Some(Partition::Groups(groups)) => {
                let mut seen = std::collections::BTreeSet::new();
                for node in groups.iter().flatten() {
                    known_node(node).map_err(|e| format!("{at}: {e}"))?;
                    if !seen.insert(node) {
                        return Err(format!("{at}: node `{node}` is in two partition groups"));
                    }
                }
            }
            None => {}
        }
        for node in fault.crash.iter().chain(&fault.pause) {
            known_node(node).map_err(|e| format!("{at}: {e}"))?;
        }
        let strays = [
            ("heal_after", fault.heal_after.is_some() && fault.partition.is_none()),
            ("restart_after", fault.restart_after.is_some() && fault.crash.is_none()),
            ("resume_after", fault.resume_after.is_some() && fault.pause.is_none()),
        ];
        if let Some((key, _)) = strays.iter().find(|(_, stray)| *stray) {
            return Err(format!("{at}: `{key}` belongs to another kind of fault"));
        }
    }
    for (metric, bound) in &stage.expect {
        if bound.at_most.is_none() && bound.at_least.is_none() && !bound.is_relative() {
            return Err(format!(
                "expect `{metric}`: give `at_most`, `at_least`, `reference_at_most` or `reference_at_least`"
            ));
        }
        let factors = [bound.reference_at_least, bound.reference_at_most];
        if factors.into_iter().flatten().any(|factor| !(factor.is_finite() && factor > 0.0)) {
            return Err(format!("expect `{metric}`: a reference factor must be a positive number"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn figures_keep_the_decimals_that_matter() {
        let shown: Vec<String> = [30.0, 2.5, 0.99, 0.931_49, 37_141.29, 0.000_1, -0.000_1].map(round).into();
        assert_eq!(shown, ["30", "2.5", "0.99", "0.931", "37141.3", "0", "0"]);
    }

    use super::*;

    fn stage(extra: &str) -> Result<Stage, String> {
        let text = format!("name = \"s\"\n{extra}");
        let stage: Stage = toml::from_str(&text).map_err(|e| e.to_string())?;
        check_stage(&stage).map(|()| stage)
    }

    #[test]
    fn a_bare_stage_gets_one_node_for_five_seconds() {
        let stage = stage("").expect("valid");
        assert_eq!((stage.nodes, stage.duration), (1, Seconds(5.0)));
        assert!(stage.faults.is_empty() && stage.expect.is_empty());
    }

    #[test]
    fn faults_name_real_nodes_and_one_action() {
        let ok = stage("nodes = 3\n[[fault]]\nat = \"1s\"\ncrash = \"n2\"\nrestart_after = \"1s\"\n");
        assert!(ok.is_ok(), "{ok:?}");
        let groups = stage("nodes = 3\n[[fault]]\nat = \"1s\"\npartition = [[\"n0\"], [\"n1\", \"n2\"]]\n");
        assert_eq!(
            groups.expect("valid").faults[0].partition,
            Some(Partition::Groups(vec![vec!["n0".into()], vec!["n1".into(), "n2".into()]]))
        );
        let unknown = stage("nodes = 3\n[[fault]]\nat = \"1s\"\ncrash = \"n3\"\n").unwrap_err();
        assert!(unknown.contains("no node `n3`") && unknown.contains("n0 to n2"), "{unknown}");
        let two = stage("nodes = 3\n[[fault]]\nat = \"1s\"\ncrash = \"n1\"\npause = \"n2\"\n").unwrap_err();
        assert!(two.contains("exactly one"), "{two}");
        let stray = stage("nodes = 3\n[[fault]]\nat = \"1s\"\npause = \"n1\"\nrestart_after = \"1s\"\n").unwrap_err();
        assert!(stray.contains("`restart_after` belongs to another kind of fault"), "{stray}");
        let late = stage("nodes = 3\nduration = \"2s\"\n[[fault]]\nat = \"3s\"\npause = \"n1\"\n").unwrap_err();
        assert!(late.contains("after the load ends"), "{late}");
        let twice = stage("nodes = 3\n[[fault]]\nat = \"1s\"\npartition = [[\"n0\"], [\"n0\"]]\n").unwrap_err();
        assert!(twice.contains("in two partition groups"), "{twice}");
    }

    #[test]
    fn probabilities_topologies_and_bounds_are_checked() {
        assert!(stage("loss = 1.5").unwrap_err().contains("between 0 and 1"));
        let typo = stage("topology = \"tree5\"").unwrap_err();
        assert!(typo.contains("unknown topology `tree5`") && typo.contains("did you mean"), "{typo}");
        assert!(stage("[expect]\nlost = {}\n").unwrap_err().contains("give `at_most`"));
        assert!(stage("rate = 0").unwrap_err().contains("positive"));
        assert!(stage("open_loop = true").unwrap_err().contains("needs a `rate`"));
        let sweep = "[sweep]\nrates = [100, 200]\ntarget = { latency-p99-ms = { at_most = 5 } }\n";
        assert!(stage(sweep).is_ok());
        assert!(stage(&format!("rate = 5\n{sweep}")).unwrap_err().contains("not both"));
        let descending = "[sweep]\nrates = [200, 100]\ntarget = { latency-p99-ms = { at_most = 5 } }\n";
        assert!(stage(descending).unwrap_err().contains("ascending"));
        assert!(stage("[sweep]\nrates = [1]\ntarget = {}\n").unwrap_err().contains("needs a `target`"));
    }

    #[test]
    fn bounds_hold_inclusively_and_read_well() {
        let bound = Bound::absolute(None, Some(30.0));
        assert!(bound.holds(30.0) && !bound.holds(30.5));
        assert_eq!(bound.describe(), "at most 30");
        let both = Bound::absolute(Some(0.9), Some(1.0));
        assert!(!both.holds(0.8) && both.holds(0.95));
        assert_eq!(both.describe(), "between 0.9 and 1");
    }

    #[test]
    fn a_relative_bound_is_made_absolute_by_the_reference_s_figure() {
        let relative = stage("[expect]\nthroughput = { reference_at_least = 0.5, at_least = 100 }\n").expect("valid");
        let bound = relative.expect["throughput"];
        assert!(bound.is_relative() && !Bound::absolute(Some(1.0), None).is_relative());
        let resolved = bound.against(1000.0);
        assert_eq!(resolved.at_least, Some(500.0));
        assert!(resolved.holds(500.0) && !resolved.holds(499.0));
        assert_eq!(resolved.describe(), "at least 500 (at least 0.5× the reference's 1000)");
        // The absolute limit stays when it is the tighter one.
        assert_eq!(bound.against(100.0).at_least, Some(100.0));
        let latency = Bound { reference_at_most: Some(2.0), ..Bound::absolute(None, None) }.against(3.25);
        assert_eq!(latency.describe(), "at most 6.5 (at most 2× the reference's 3.25)");
        assert!(stage("[expect]\nthroughput = { reference_at_least = 0 }\n").unwrap_err().contains("positive"));
    }
}
