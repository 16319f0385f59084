//! The protocol harness: starts N nodes, sends each `init` (msg_id 1, 10 s to answer, told apart from a
//! crash), then runs a workload: clients (`c1`, `c2`, ..., each bound to one node, one request at a time)
//! issue requests at a rate or as fast as replies come, with per-request timeouts, while every message
//! between nodes and to services goes through the simulated network. One thread routes everything, so the
//! history, the network and the services need no locks.
//!
//! A run: init every node; the workload's setup requests (e.g. `topology`), each answered without error;
//! the load, with the nemesis (random periodic partitions and the scheduled faults of [`nemesis`]); then,
//! when the workload has final requests: heal everything (network, paused and crashed nodes), let the
//! network settle, send them; check. Setup and final requests come from one extra client per node (after
//! the load's clients: `c<concurrency + 1 + node>`).
//!
//! Left for later: per-node CPU and memory (from the sandbox).
//!
//! [`nemesis`]: super::nemesis

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::io;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde_json::Value;

use super::history::{History, OpKind, OpPhase};
use super::message::{Body, LineError, Message, code_name, codes, is_definite};
use super::nemesis::{self, Action, Fault, Timeline};
use super::network::{NetEvent, NetEventKind, Network, NetworkConfig, random_halves, write_trace};
use super::node::{NodeCommand, NodeEvent, NodeProcess};
use super::rng::Rng;
use super::services::{Services, is_service};
use super::workloads::{Validity, Workload};
use crate::report::LimitHit;
use crate::sandbox::{SpawnUsage, Status};

/// Streams of the run's seed besides the network's.
const NEMESIS_STREAM: u64 = 2;
const WORKLOAD_STREAM: u64 = 3;
const SERVICES_STREAM: u64 = 4;
/// Lines of a node's stderr shown when it crashed.
const STDERR_LINES_SHOWN: usize = 20;
/// Diagnostics kept (the rest are only counted).
const DIAGNOSTICS_KEPT: usize = 20;
/// How long the harness waits for an event when nothing is scheduled.
const IDLE_WAIT: Duration = Duration::from_millis(100);
/// How soon a node's stdin is offered what it did not take yet.
const STDIN_RETRY: Duration = Duration::from_millis(1);
/// Events handled before the harness issues what they free and flushes: a few at a time, so a node
/// works on the first answers' follow-ups while the harness reads the rest (handling a whole burst
/// first makes the two take turns, each idle half the time: 80k echo requests/s against 130k).
const EVENTS_PER_LOOK: usize = 4;

/// Everything a run needs besides the node command and the workload.
#[derive(Debug, Clone)]
pub struct HarnessConfig {
    pub node_count: usize,
    /// Printed with every result and failure; the same seed replays the same network decisions.
    pub seed: u64,
    pub init_timeout: Duration,
    pub request_timeout: Duration,
    pub network: NetworkConfig,
    /// Random periodic partitions.
    pub nemesis: Nemesis,
    /// Faults at given times of the load.
    pub schedule: Vec<ScheduledFault>,
    pub load: Load,
    /// After the load, before a workload's final requests: how long the healed network settles.
    pub settle: Duration,
}

impl HarnessConfig {
    /// Maelstrom's defaults: 10 s for init, 5 s per request, a perfect network, no nemesis, 5 requests/s,
    /// 10 s to settle before final requests.
    #[must_use]
    pub fn new(node_count: usize, seed: u64) -> HarnessConfig {
        HarnessConfig {
            node_count,
            seed,
            init_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(5),
            network: NetworkConfig::default(),
            nemesis: Nemesis::None,
            schedule: Vec::new(),
            load: Load::default(),
            settle: Duration::from_secs(10),
        }
    }
}

/// How much load, how fast.
#[derive(Debug, Clone)]
pub struct Load {
    /// Clients, so requests in flight at most.
    pub concurrency: usize,
    /// Requests per second over all clients; `None`: each client sends again as soon as it has its reply.
    pub rate: Option<f64>,
    /// How long requests are issued.
    pub duration: Duration,
    /// Stop issuing after this many requests in all.
    pub max_ops: Option<u64>,
    /// Each client stops after this many (a fixed amount of traffic per node, for replays).
    pub ops_per_client: Option<u64>,
    /// With a rate: requests keep their schedule whatever the replies (wrk2's open loop). A request that
    /// waits for a free client is sent late, and its latency counts from when it should have been sent,
    /// so a slow server cannot hide its queueing (coordinated omission).
    pub open_loop: bool,
}

impl Default for Load {
    fn default() -> Self {
        Load {
            concurrency: 1,
            rate: Some(5.0),
            duration: Duration::from_secs(10),
            max_ops: None,
            ops_per_client: None,
            open_loop: false,
        }
    }
}

pub use super::nemesis::{Fault as NemesisFault, PartitionShape, ScheduledFault};

/// Random faults injected while the load runs (scheduled ones: [`HarnessConfig::schedule`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Nemesis {
    None,
    /// Every `every`, alternately split the nodes into two random halves and heal.
    Partitions {
        every: Duration,
    },
}

/// Which part of the run a failure happened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Init,
    /// The workload's setup requests.
    Setup,
    Workload,
    /// Settling and the workload's final requests.
    Final,
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Phase::Init => "during init",
            Phase::Setup => "during setup",
            Phase::Workload => "during the workload",
            Phase::Final => "during the final requests",
        })
    }
}

/// Why a run could not complete (as opposed to completing with an invalid history).
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("invalid harness configuration: {0}")]
    Config(String),
    #[error("could not start node {node}: {source}")]
    Spawn { node: String, source: io::Error },
    #[error("init timed out after {}: {} never answered init with init_ok", seconds(*after), nodes.join(", "))]
    InitTimedOut { nodes: Vec<String>, after: Duration },
    #[error("node {node} answered init with {reply} instead of init_ok")]
    InitRefused { node: String, reply: String },
    #[error("node {node} did not accept the setup request {request}: {problem}")]
    Setup { node: String, request: String, problem: String },
    #[error("node {node} crashed {phase} ({}){}", describe_status(*status), stderr_section(stderr_tail))]
    NodeCrashed { node: String, phase: Phase, status: Option<Status>, stderr_tail: String, limit_hit: Option<LimitHit> },
    #[error(transparent)]
    Malformed(LineError),
    #[error("cannot wait for the nodes' output: {0}")]
    Wait(io::Error),
}

/// A failed run and the seed that replays it.
#[derive(Debug, thiserror::Error)]
#[error("{error}\n(seed {seed})")]
pub struct RunError {
    pub seed: u64,
    #[source]
    pub error: HarnessError,
    /// What was recorded until then (history, trace, stderr tails), for the run's files; `None` when
    /// no node could be started.
    pub partial: Option<Box<RunResult>>,
}

/// What a completed run produced.
#[derive(Debug)]
pub struct RunResult {
    pub seed: u64,
    pub validity: Validity,
    pub stats: Stats,
    pub history: History,
    pub trace: Vec<NetEvent>,
    /// Protocol oddities that are not fatal (a reply to an unknown msg_id, a message to an unknown node).
    pub diagnostics: Vec<String>,
    pub diagnostics_dropped: u64,
    /// Each node's stderr tail at the end.
    pub stderr_tails: Vec<(String, String)>,
    /// Each node's CPU time and peak memory (of its last incarnation), from the sandbox.
    pub node_usage: Vec<(String, SpawnUsage)>,
}

/// The figures of a run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stats {
    /// From the first request to the last completion.
    pub load_time: Duration,
    pub requests: u64,
    pub ok: u64,
    pub failed: u64,
    pub indefinite: u64,
    /// Successful requests of the load per second of load time.
    pub throughput: f64,
    /// The requests per second the load was to send, when it had a rate.
    pub offered_rate: Option<f64>,
    /// Whether latencies count from each request's scheduled send time (an open-loop load).
    pub open_loop: bool,
    /// Share of requests that succeeded.
    pub availability: f64,
    /// Over completed requests (ok and definite failures; timeouts are not latencies).
    pub latency: Option<Quantiles>,
    pub messages: MessageCounts,
    /// Replies that came after their request had timed out.
    pub late_replies: u64,
    /// CPU time of the grader's process over the run (all its threads), where /proc tells it.
    pub grader_cpu: Option<Duration>,
    /// From the end of the load to a checked result: healing, settling, final requests and the check.
    pub after_load: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantiles {
    pub p50: Duration,
    pub p90: Duration,
    pub p95: Duration,
    pub p99: Duration,
    pub p999: Duration,
    pub max: Duration,
}

/// Messages sent, by who talks to whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MessageCounts {
    /// Client requests to nodes and nodes' replies to clients (init excluded).
    pub client: u64,
    /// Node to node.
    pub server: u64,
    /// Node to service and back.
    pub service: u64,
}

impl MessageCounts {
    #[must_use]
    pub fn total(&self) -> u64 {
        self.client + self.server + self.service
    }
}

impl Stats {
    /// Messages per request: (all, between servers, client-facing).
    #[must_use]
    pub fn msgs_per_op(&self) -> (f64, f64, f64) {
        let per = |count: u64| if self.requests == 0 { 0.0 } else { count as f64 / self.requests as f64 };
        (per(self.messages.total()), per(self.messages.server), per(self.messages.client))
    }

    /// The harness's metrics by name (see `workloads` for the list).
    #[must_use]
    pub fn metrics(&self) -> BTreeMap<String, f64> {
        let (all, servers, clients) = self.msgs_per_op();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let mut metrics: BTreeMap<String, f64> = [
            ("requests", self.requests as f64),
            ("ok", self.ok as f64),
            ("failed", self.failed as f64),
            ("indefinite", self.indefinite as f64),
            ("availability", self.availability),
            ("throughput", self.throughput),
            ("msgs-per-op", all),
            ("msgs-per-op-servers", servers),
            ("msgs-per-op-clients", clients),
            ("service-messages", self.messages.service as f64),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
        if let Some(q) = self.latency {
            let quantiles =
                [("p50", q.p50), ("p90", q.p90), ("p95", q.p95), ("p99", q.p99), ("p999", q.p999), ("max", q.max)];
            for (name, value) in quantiles {
                metrics.insert(format!("latency-{name}-ms"), ms(value));
            }
        }
        if let Some(after_load) = self.after_load {
            metrics.insert("after-load-seconds".to_owned(), after_load.as_secs_f64());
        }
        if let Some(rate) = self.offered_rate {
            metrics.insert("offered-rate".to_owned(), rate);
        }
        metrics
    }
}

impl RunResult {
    /// The harness's figures and the workload's, by the names `workloads` documents (thresholds in a spec
    /// refer to them).
    #[must_use]
    pub fn metrics(&self) -> BTreeMap<String, f64> {
        let mut metrics = self.stats.metrics();
        metrics.extend(self.validity.metrics.iter().map(|(name, value)| (name.clone(), *value)));
        let peak = self.node_usage.iter().filter_map(|(_, usage)| usage.peak_memory).max();
        if let (Some(peak), Some(events)) = (peak, metrics.get("acked-events").copied()) {
            if events > 0.0 {
                let mib = peak as f64 / f64::from(1 << 20);
                metrics.insert("peak-memory-mib-per-million-events".to_owned(), mib / (events / 1e6));
            }
        }
        metrics
    }

    /// The faults the nemesis caused, in order and in words ("n1 killed at 1.119 s"), the first
    /// `at_most`; `None` when there were none.
    #[must_use]
    pub fn faults(&self, at_most: usize) -> Option<String> {
        let described: Vec<String> = self
            .trace
            .iter()
            .filter_map(|event| {
                let what = match &event.kind {
                    NetEventKind::Message { .. } => return None,
                    NetEventKind::Partition { groups } => {
                        let sides: Vec<String> = groups.iter().map(|group| group.join(" ")).collect();
                        format!("partition {}", sides.join(" | "))
                    }
                    NetEventKind::Heal => "healed".to_owned(),
                    NetEventKind::Crash { node } => format!("{node} killed"),
                    NetEventKind::Restart { node, .. } => format!("{node} restarted"),
                    NetEventKind::Pause { node } => format!("{node} paused"),
                    NetEventKind::Resume { node } => format!("{node} resumed"),
                };
                Some(format!("{what} at {:.3} s", event.at_us as f64 / 1e6))
            })
            .collect();
        let mut text = described.iter().take(at_most).cloned().collect::<Vec<_>>().join(" · ");
        if described.len() > at_most {
            text.push_str(&format!(" · and {} more (network.jsonl has them all)", described.len() - at_most));
        }
        (!described.is_empty()).then_some(text)
    }

    /// Writes `history.jsonl` and `network.jsonl` into `dir` (which must exist).
    pub fn write_files(&self, dir: &std::path::Path) -> io::Result<()> {
        let mut history = io::BufWriter::new(std::fs::File::create(dir.join("history.jsonl"))?);
        self.history.write_json_lines(&mut history)?;
        io::Write::flush(&mut history)?;
        let mut network = io::BufWriter::new(std::fs::File::create(dir.join("network.jsonl"))?);
        write_trace(&self.trace, &mut network)?;
        io::Write::flush(&mut network)
    }

    /// A few lines for people: seed, counts, throughput, latency, msgs-per-op, validity.
    #[must_use]
    pub fn summary(&self) -> String {
        let s = &self.stats;
        let mut out = format!(
            "seed {} · {} requests in {:.2} s ({:.0}/s ok) · ok {} · failed {} · indefinite {} · availability {:.3}\n",
            self.seed,
            s.requests,
            s.load_time.as_secs_f64(),
            s.throughput,
            s.ok,
            s.failed,
            s.indefinite,
            s.availability
        );
        if let Some(q) = s.latency {
            let ms = |d: Duration| d.as_secs_f64() * 1000.0;
            let _ = writeln!(
                out,
                "latency{} p50 {:.3} ms · p90 {:.3} ms · p99 {:.3} ms · p99.9 {:.3} ms · max {:.3} ms",
                if s.open_loop { " (from each request's scheduled send time)" } else { "" },
                ms(q.p50),
                ms(q.p90),
                ms(q.p99),
                ms(q.p999),
                ms(q.max)
            );
        }
        if let Some(rate) = s.offered_rate {
            let _ = writeln!(out, "offered {rate:.0}/s · achieved {:.0}/s ok", s.throughput);
        }
        let (all, server, client) = s.msgs_per_op();
        let _ = writeln!(out, "msgs-per-op all {all:.2} · servers {server:.2} · clients {client:.2}");
        if let Some(cpu) = s.grader_cpu.filter(|_| s.requests > 0) {
            let per_request = cpu.as_secs_f64() * 1e6 / s.requests as f64;
            let _ = writeln!(out, "grader CPU {:.2} s · {per_request:.1} µs per request", cpu.as_secs_f64());
        }
        let verdict = if self.validity.valid { "valid" } else { "INVALID" };
        let _ = write!(out, "{verdict}: {}", self.validity.summary);
        for problem in &self.validity.problems {
            let _ = write!(out, "\n  - {problem}");
        }
        out
    }
}

/// Starts `config.node_count` nodes with `command`, initialises them, runs `workload` and checks it.
pub fn run(command: &NodeCommand, config: &HarnessConfig, workload: &mut dyn Workload) -> Result<RunResult, RunError> {
    let seed = config.seed;
    let mut harness =
        Harness::start(command, config, workload).map_err(|error| RunError { seed, error, partial: None })?;
    match harness.drive() {
        Ok(()) => Ok(harness.into_result()),
        Err(error) => Err(RunError { seed, error, partial: Some(Box::new(harness.into_result())) }),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Address {
    Node(usize),
    /// `c0`, which sends `init`.
    Admin,
    /// Client `c<k+1>`: a load client, or (after them) a node's setup and final client.
    Client(usize),
    Service,
    Unknown,
}

/// What a client's open request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Load,
    Setup,
    Final,
}

#[derive(Debug)]
struct Client {
    name: String,
    node: usize,
    next_msg_id: u64,
    open: Option<(u64, Purpose)>,
    issued: u64,
    /// Setup and final requests waiting for this (per-node) client.
    queue: VecDeque<(Purpose, Body)>,
    /// The type of its last setup request, for messages.
    setup_request: String,
    /// When its open request should have been sent, in an open-loop load.
    scheduled: Option<Duration>,
}

/// Where a node is in its life, as the nemesis left it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NodeState {
    Up,
    /// Started again, `init` sent, not yet answered (by this time at the latest).
    Starting {
        deadline: Duration,
    },
    /// Killed by the nemesis, waiting for its restart.
    Down,
    Paused,
}

struct Harness<'a> {
    config: &'a HarnessConfig,
    command: &'a NodeCommand,
    workload: &'a mut dyn Workload,
    start: Instant,
    cpu_at_start: Option<Duration>,
    phase: Phase,
    nodes: Vec<NodeProcess>,
    states: Vec<NodeState>,
    node_ids: Vec<String>,
    /// What the nodes wrote and the harness has not handled yet: node, incarnation, event.
    events: VecDeque<(usize, u32, NodeEvent)>,
    network: Network,
    services: Services,
    clients: Vec<Client>,
    /// Load clients ready to issue.
    idle: VecDeque<usize>,
    /// Load clients whose node is down or starting.
    parked: Vec<usize>,
    /// (deadline, client, msg_id) in deadline order: all requests have the same timeout.
    timeouts: VecDeque<(Duration, usize, u64)>,
    /// Open requests of the load clients, and of the per-node clients.
    open_requests: usize,
    open_aux: usize,
    init_pending: Vec<bool>,
    timeline: Timeline,
    history: History,
    latencies: Histogram<u64>,
    /// One stream per load client, so each client's requests replay whatever the interleaving.
    workload_rngs: Vec<Rng>,
    nemesis_rng: Rng,
    stats: Stats,
    load_ok: u64,
    /// When the load ended, from the start of the run.
    load_ended: Option<Duration>,
    diagnostics: Vec<String>,
    diagnostics_dropped: u64,
}

impl<'a> Harness<'a> {
    fn start(
        command: &'a NodeCommand,
        config: &'a HarnessConfig,
        workload: &'a mut dyn Workload,
    ) -> Result<Harness<'a>, HarnessError> {
        if config.node_count == 0 {
            return Err(HarnessError::Config("a run needs at least one node".into()));
        }
        let node_ids: Vec<String> = (0..config.node_count).map(|i| format!("n{i}")).collect();
        nemesis::validate(&config.schedule, &node_ids).map_err(HarnessError::Config)?;
        let mut nodes = Vec::with_capacity(node_ids.len());
        for id in &node_ids {
            let node = NodeProcess::spawn(command, 0, id)
                .map_err(|source| HarnessError::Spawn { node: id.clone(), source })?;
            nodes.push(node);
        }
        let load_clients = config.load.concurrency;
        let client = |k: usize, node: usize| Client {
            name: format!("c{}", k + 1),
            node,
            next_msg_id: 1,
            open: None,
            issued: 0,
            queue: VecDeque::new(),
            setup_request: String::new(),
            scheduled: None,
        };
        let clients = (0..load_clients)
            .map(|k| client(k, k % config.node_count))
            .chain((0..config.node_count).map(|node| client(load_clients + node, node)))
            .collect();
        let seed = config.seed;
        let latencies = Histogram::new_with_bounds(1, 3_600_000_000, 3)
            .map_err(|error| HarnessError::Config(format!("latency histogram: {error}")))?;
        Ok(Harness {
            config,
            command,
            workload,
            start: Instant::now(),
            cpu_at_start: process_cpu_time(),
            phase: Phase::Init,
            init_pending: vec![true; nodes.len()],
            states: vec![NodeState::Up; nodes.len()],
            nodes,
            node_ids,
            events: VecDeque::new(),
            network: Network::new(config.network.clone(), seed),
            services: Services::new(Rng::stream(seed, &[SERVICES_STREAM])),
            clients,
            idle: VecDeque::new(),
            parked: Vec::new(),
            timeouts: VecDeque::new(),
            open_requests: 0,
            open_aux: 0,
            timeline: Timeline::default(),
            history: History::default(),
            latencies,
            workload_rngs: (0..load_clients).map(|k| Rng::stream(seed, &[WORKLOAD_STREAM, k as u64])).collect(),
            nemesis_rng: Rng::stream(seed, &[NEMESIS_STREAM]),
            stats: Stats {
                load_time: Duration::ZERO,
                requests: 0,
                ok: 0,
                failed: 0,
                indefinite: 0,
                throughput: 0.0,
                offered_rate: None,
                open_loop: false,
                availability: 0.0,
                latency: None,
                messages: MessageCounts::default(),
                late_replies: 0,
                grader_cpu: None,
                after_load: None,
            },
            load_ok: 0,
            load_ended: None,
            diagnostics: Vec::new(),
            diagnostics_dropped: 0,
        })
    }

    /// Every phase, in order, up to the first failure.
    fn drive(&mut self) -> Result<(), HarnessError> {
        self.init()?;
        self.phase = Phase::Setup;
        self.setup()?;
        self.phase = Phase::Workload;
        self.run_load()?;
        self.load_ok = self.stats.ok;
        let finals = self.workload.final_requests(&self.node_ids);
        self.heal_all(!finals.is_empty())?;
        if !finals.is_empty() {
            self.phase = Phase::Final;
            self.settle_and_finish(finals)?;
        }
        Ok(())
    }

    /// The checked result of what was recorded (all of the run, or up to its failure).
    fn into_result(mut self) -> RunResult {
        self.stats.grader_cpu = process_cpu_time().zip(self.cpu_at_start).map(|(end, start)| end.saturating_sub(start));
        let stderr_tails =
            self.nodes.iter().map(|node| (node.id.clone(), node.stderr_tail(STDERR_LINES_SHOWN))).collect();
        let validity = self.workload.check(&self.history);
        let mut stats = self.final_stats();
        stats.after_load = self.load_ended.map(|ended| self.now().saturating_sub(ended));
        let node_usage = self.nodes.iter().map(|node| (node.id.clone(), node.usage())).collect();
        RunResult {
            seed: self.config.seed,
            validity,
            stats,
            history: std::mem::take(&mut self.history),
            trace: self.network.trace().to_vec(),
            diagnostics: std::mem::take(&mut self.diagnostics),
            diagnostics_dropped: self.diagnostics_dropped,
            stderr_tails,
            node_usage,
        }
    }

    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    fn send_init(&mut self, index: usize) {
        let mut body =
            Body::new("init").with("node_id", self.node_ids[index].clone()).with("node_ids", self.node_ids.clone());
        body.msg_id = Some(1);
        let node = &self.nodes[index];
        node.send(&Message { src: "c0".into(), dest: node.id.clone(), body });
    }

    fn init(&mut self) -> Result<(), HarnessError> {
        for index in 0..self.nodes.len() {
            self.send_init(index);
        }
        let deadline = self.now() + self.config.init_timeout;
        while self.init_pending.contains(&true) {
            let now = self.now();
            if now >= deadline {
                let nodes = self.init_pending_names();
                return Err(HarnessError::InitTimedOut { nodes, after: self.config.init_timeout });
            }
            self.deliver_due(now);
            let wake = self.network.next_due().map_or(deadline, |due| due.min(deadline));
            self.wait_until(Some(wake))?;
        }
        Ok(())
    }

    fn init_pending_names(&self) -> Vec<String> {
        self.node_ids
            .iter()
            .zip(&self.init_pending)
            .filter(|(_, pending)| **pending)
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Sends the workload's setup requests and waits until each is answered.
    fn setup(&mut self) -> Result<(), HarnessError> {
        let requests = self.workload.setup(&self.node_ids);
        if requests.is_empty() {
            return Ok(());
        }
        self.queue_aux(requests, Purpose::Setup)?;
        self.pump_until(None, |harness| harness.open_aux == 0)
    }

    /// Queues requests on the per-node clients and starts those that are free.
    fn queue_aux(&mut self, requests: Vec<(usize, Body)>, purpose: Purpose) -> Result<(), HarnessError> {
        let now = self.now();
        for (node, body) in requests {
            if node >= self.nodes.len() {
                return Err(HarnessError::Config(format!("the workload addressed node {node}, which does not exist")));
            }
            let index = self.aux_client(node);
            self.clients[index].queue.push_back((purpose, body));
        }
        for node in 0..self.nodes.len() {
            self.next_aux(self.aux_client(node), now);
        }
        Ok(())
    }

    fn aux_client(&self, node: usize) -> usize {
        self.config.load.concurrency + node
    }

    /// Sends a per-node client's next queued request, if it is free and has one.
    fn next_aux(&mut self, index: usize, now: Duration) {
        if self.clients[index].open.is_some() || self.states[self.clients[index].node] != NodeState::Up {
            return;
        }
        if let Some((purpose, body)) = self.clients[index].queue.pop_front() {
            self.open_aux += 1;
            self.send_request(index, body, purpose, now);
        }
    }

    /// Runs the event loop (deliveries, timeouts, restarts) until `done` holds, looking at it again by
    /// `deadline` at the latest.
    fn pump_until(&mut self, deadline: Option<Duration>, done: impl Fn(&Self) -> bool) -> Result<(), HarnessError> {
        loop {
            let now = self.now();
            self.deliver_due(now);
            self.expire_requests(now)?;
            self.check_restarts(now)?;
            if done(self) {
                return Ok(());
            }
            let wake = self.next_wake().into_iter().chain(deadline.filter(|at| *at > now)).min();
            self.wait_until(wake)?;
        }
    }

    /// The earliest time something internal is due: a delivery, a timeout, a restart's init deadline.
    fn next_wake(&self) -> Option<Duration> {
        let starting = self.states.iter().filter_map(|state| match state {
            NodeState::Starting { deadline } => Some(*deadline),
            _ => None,
        });
        [self.network.next_due(), self.timeouts.front().map(|(at, _, _)| *at)]
            .into_iter()
            .flatten()
            .chain(starting)
            .min()
    }

    fn check_restarts(&self, now: Duration) -> Result<(), HarnessError> {
        for (index, state) in self.states.iter().enumerate() {
            if matches!(state, NodeState::Starting { deadline } if *deadline <= now) {
                let nodes = vec![self.node_ids[index].clone()];
                return Err(HarnessError::InitTimedOut { nodes, after: self.config.init_timeout });
            }
        }
        Ok(())
    }

    fn run_load(&mut self) -> Result<(), HarnessError> {
        let load = &self.config.load;
        let open_loop = load.open_loop;
        let load_start = self.now();
        let end = load_start + load.duration;
        let interval = load.rate.filter(|rate| *rate > 0.0).map(|rate| Duration::from_secs_f64(1.0 / rate));
        let mut next_issue = load_start;
        let nemesis_every = match self.config.nemesis {
            Nemesis::Partitions { every } if !every.is_zero() => Some(every),
            Nemesis::Partitions { .. } | Nemesis::None => None,
        };
        let mut next_nemesis = nemesis_every.map(|every| load_start + every);
        let mut partitioned = false;
        self.timeline = Timeline::new(&self.config.schedule, load_start);
        self.idle = (0..self.config.load.concurrency).collect();
        loop {
            let now = self.now();
            self.deliver_due(now);
            self.expire_requests(now)?;
            self.check_restarts(now)?;
            let issuing = now < end && self.below_max_ops();
            if let (Some(at), Some(every)) = (next_nemesis, nemesis_every) {
                if issuing && now >= at {
                    if partitioned {
                        self.network.heal(now);
                    } else {
                        let groups = random_halves(&mut self.nemesis_rng, &self.node_ids);
                        self.network.partition(now, groups);
                    }
                    partitioned = !partitioned;
                    next_nemesis = Some(at + every);
                }
            }
            while let Some(action) = self.timeline.pop_due(now) {
                // Faults are for the load; the restarts and resumes they lead to happen whenever due.
                if issuing || !matches!(action, Action::Fault(_)) {
                    self.act(action, now)?;
                }
            }
            if issuing {
                match interval {
                    None => {
                        while self.below_max_ops() {
                            let Some(client) = self.idle.pop_front() else { break };
                            self.issue(client, now);
                        }
                    }
                    Some(interval) => {
                        while now >= next_issue && self.below_max_ops() {
                            let Some(client) = self.idle.pop_front() else { break };
                            if self.issue(client, now) {
                                if open_loop {
                                    self.clients[client].scheduled = Some(next_issue);
                                }
                                next_issue += interval;
                            }
                        }
                        if !open_loop && next_issue + interval < now {
                            // Behind (every client was busy): resume the cadence instead of bursting.
                            next_issue = now;
                        }
                    }
                }
            }
            // Parked clients come back when their node has restarted.
            if self.open_requests == 0 && (!issuing || (self.idle.is_empty() && self.parked.is_empty())) {
                break;
            }
            let mut wake: Vec<Duration> = self.next_wake().into_iter().collect();
            if issuing {
                wake.push(end);
                wake.extend(next_nemesis);
                wake.extend(self.timeline.next_at());
                if interval.is_some() && !self.idle.is_empty() {
                    wake.push(next_issue);
                }
            }
            self.wait_until(wake.into_iter().min())?;
        }
        self.stats.load_time = self.now().saturating_sub(load_start);
        self.load_ended = Some(self.now());
        Ok(())
    }

    fn below_max_ops(&self) -> bool {
        self.config.load.max_ops.is_none_or(|max| self.stats.requests < max)
    }

    /// Carries out one nemesis action.
    fn act(&mut self, action: Action, now: Duration) -> Result<(), HarnessError> {
        match action {
            Action::Fault(Fault::Partition(shape)) => {
                let groups = nemesis::groups(&shape, &self.node_ids, &mut self.nemesis_rng);
                self.network.partition(now, groups);
            }
            Action::Fault(Fault::Heal) => self.network.heal(now),
            Action::Fault(Fault::Crash { node, restart_after }) => {
                let index = nemesis::pick(node.as_ref(), &self.node_ids, &mut self.nemesis_rng);
                if matches!(self.states[index], NodeState::Up | NodeState::Paused) {
                    self.crash(index, now);
                    self.timeline.push(now + restart_after, Action::Restart(index));
                }
            }
            Action::Fault(Fault::Pause { node, resume_after }) => {
                let index = nemesis::pick(node.as_ref(), &self.node_ids, &mut self.nemesis_rng);
                if self.states[index] == NodeState::Up {
                    self.nodes[index].pause();
                    self.states[index] = NodeState::Paused;
                    self.network.note(now, NetEventKind::Pause { node: self.node_ids[index].clone() });
                    self.timeline.push(now + resume_after, Action::Resume(index));
                }
            }
            Action::Restart(index) => self.restart(index, now)?,
            Action::Resume(index) => {
                if self.states[index] == NodeState::Paused {
                    self.nodes[index].resume();
                    self.states[index] = NodeState::Up;
                    self.network.note(now, NetEventKind::Resume { node: self.node_ids[index].clone() });
                }
            }
        }
        Ok(())
    }

    /// Kills a node; its clients' open requests end as indefinite (a crash: they may have happened).
    fn crash(&mut self, index: usize, now: Duration) {
        self.nodes[index].kill();
        self.states[index] = NodeState::Down;
        self.network.note(now, NetEventKind::Crash { node: self.node_ids[index].clone() });
        // Its restart queues the setup requests afresh.
        let aux = self.aux_client(index);
        self.clients[aux].queue.retain(|(purpose, _)| *purpose != Purpose::Setup);
        for client in 0..self.clients.len() {
            if self.clients[client].node == index && self.clients[client].open.is_some() {
                let text = format!("{} crashed (the nemesis killed it)", self.node_ids[index]);
                self.complete(client, OpKind::Info, Value::Null, Some((codes::CRASH, text)), now);
            }
        }
    }

    /// Starts a crashed node again (same command, same data folder) and sends it `init`.
    fn restart(&mut self, index: usize, now: Duration) -> Result<(), HarnessError> {
        if self.states[index] != NodeState::Down {
            return Ok(());
        }
        let incarnation = self.nodes[index].incarnation + 1;
        let id = self.node_ids[index].clone();
        let node = NodeProcess::spawn(self.command, incarnation, &id)
            .map_err(|source| HarnessError::Spawn { node: id.clone(), source })?;
        self.nodes[index] = node;
        self.states[index] = NodeState::Starting { deadline: now + self.config.init_timeout };
        self.network.note(now, NetEventKind::Restart { node: id, incarnation });
        self.send_init(index);
        Ok(())
    }

    /// After the load: the network heals; when final requests follow, paused nodes continue and crashed
    /// ones start again.
    fn heal_all(&mut self, revive: bool) -> Result<(), HarnessError> {
        let now = self.now();
        if matches!(self.config.nemesis, Nemesis::Partitions { .. }) || self.network.is_partitioned() {
            self.network.heal(now);
        }
        for action in self.timeline.drain() {
            if revive && !matches!(action, Action::Fault(_)) {
                self.act(action, now)?;
            }
        }
        Ok(())
    }

    /// Waits for restarted nodes and the settle time, then sends the final requests and waits for them.
    fn settle_and_finish(&mut self, finals: Vec<(usize, Body)>) -> Result<(), HarnessError> {
        let settled = self.now() + self.config.settle;
        let all_up = |harness: &Self| harness.states.iter().all(|state| *state == NodeState::Up);
        self.pump_until(Some(settled), |harness| all_up(harness) && harness.open_aux == 0 && harness.now() >= settled)?;
        self.queue_aux(finals, Purpose::Final)?;
        self.pump_until(None, |harness| harness.open_aux == 0 && harness.open_requests == 0)
    }

    /// Flushes what is queued for the nodes, then handles a few events of theirs, waiting for them until
    /// `wake` (or a while, when nothing is scheduled) when none are queued.
    fn wait_until(&mut self, wake: Option<Duration>) -> Result<(), HarnessError> {
        for node in &self.nodes {
            node.flush();
        }
        // A node that has not taken all its input yet is offered the rest again soon.
        let longest = if self.nodes.iter().any(NodeProcess::has_pending) { STDIN_RETRY } else { IDLE_WAIT };
        let timeout = wake.map_or(longest, |at| at.saturating_sub(self.now())).min(longest);
        if self.events.is_empty() {
            self.read_outputs(timeout)?;
        }
        for _ in 0..EVENTS_PER_LOOK {
            let Some((node, incarnation, event)) = self.events.pop_front() else { break };
            // What a crashed (or since restarted) node wrote before is not heard.
            if self.states[node] != NodeState::Down && self.nodes[node].incarnation == incarnation {
                self.handle(node, event)?;
            }
        }
        Ok(())
    }

    /// Waits up to `timeout` for output from the nodes that are not down, and queues what they wrote.
    fn read_outputs(&mut self, timeout: Duration) -> Result<(), HarnessError> {
        let watched: Vec<usize> = (0..self.nodes.len()).filter(|&i| self.states[i] != NodeState::Down).collect();
        let ready = {
            let fds: Vec<_> = watched.iter().filter_map(|&i| self.nodes[i].output_fd()).collect();
            if fds.len() < watched.len() {
                // A node whose end was reported is about to be handled as crashed; nothing to wait for.
                vec![true; watched.len()]
            } else {
                crate::sandbox::wait_readable(&fds, timeout).map_err(HarnessError::Wait)?
            }
        };
        let mut read = Vec::new();
        for (&node, _) in watched.iter().zip(ready).filter(|(_, ready)| *ready) {
            self.nodes[node].read_output(&mut read);
            let incarnation = self.nodes[node].incarnation;
            self.events.extend(read.drain(..).map(|event| (node, incarnation, event)));
        }
        Ok(())
    }

    fn handle(&mut self, node: usize, event: NodeEvent) -> Result<(), HarnessError> {
        match event {
            NodeEvent::Message(message) => self.route(node, message),
            NodeEvent::Malformed(error) => Err(HarnessError::Malformed(error)),
            NodeEvent::Closed => Err(self.crashed(node)),
        }
    }

    fn crashed(&mut self, index: usize) -> HarnessError {
        let node = &mut self.nodes[index];
        let status = node.wait_exit(Duration::from_secs(2));
        HarnessError::NodeCrashed {
            node: node.id.clone(),
            phase: self.phase,
            status,
            stderr_tail: node.stderr_tail(STDERR_LINES_SHOWN),
            limit_hit: node.usage().limit_hit,
        }
    }

    fn address(&self, name: &str) -> Address {
        let numbered = |prefix: char| {
            name.strip_prefix(prefix).filter(|digits| !digits.starts_with('+')).and_then(|d| d.parse::<usize>().ok())
        };
        if let Some(index) = numbered('n').filter(|i| self.node_ids.get(*i).is_some_and(|id| id == name)) {
            Address::Node(index)
        } else if let Some(number) = numbered('c').filter(|_| !name[1..].starts_with('0') || name == "c0") {
            match number {
                0 => Address::Admin,
                k if k <= self.clients.len() => Address::Client(k - 1),
                _ => Address::Unknown,
            }
        } else if is_service(name) {
            Address::Service
        } else {
            Address::Unknown
        }
    }

    fn route(&mut self, from: usize, message: Message) -> Result<(), HarnessError> {
        if message.src != self.node_ids[from] {
            let text = format!(
                "{} sent a message of type {} with src \"{}\" (its own id is {})",
                self.node_ids[from], message.body.kind, message.src, self.node_ids[from]
            );
            self.diagnose(text);
        }
        let now = self.now();
        match self.address(&message.dest) {
            Address::Node(_) => {
                self.stats.messages.server += 1;
                self.network.submit(now, message, true);
            }
            Address::Service => {
                self.stats.messages.service += 1;
                self.network.submit(now, message, false);
            }
            Address::Admin => self.init_reply(from, &message, now)?,
            Address::Client(client) => self.client_reply(client, message, now)?,
            Address::Unknown => {
                let text = format!(
                    "{} sent a message of type {} to \"{}\", which is not a node, client or service",
                    self.node_ids[from], message.body.kind, message.dest
                );
                self.diagnose(text);
            }
        }
        Ok(())
    }

    fn init_reply(&mut self, from: usize, message: &Message, now: Duration) -> Result<(), HarnessError> {
        let body = &message.body;
        if body.in_reply_to == Some(1) && body.kind == "init_ok" {
            self.init_pending[from] = false;
            if matches!(self.states[from], NodeState::Starting { .. }) {
                self.restarted(from, now)?;
            }
        } else if body.in_reply_to == Some(1) {
            let reply = serde_json::to_string(body).unwrap_or_default();
            return Err(HarnessError::InitRefused { node: self.node_ids[from].clone(), reply });
        } else {
            let text = format!(
                "{} sent c0 a message of type {} that does not answer init (msg_id 1)",
                self.node_ids[from], body.kind
            );
            self.diagnose(text);
        }
        Ok(())
    }

    /// A restarted node answered init: it gets the workload's setup requests again and its clients back.
    fn restarted(&mut self, index: usize, now: Duration) -> Result<(), HarnessError> {
        self.states[index] = NodeState::Up;
        let setup: Vec<(usize, Body)> =
            self.workload.setup(&self.node_ids).into_iter().filter(|(node, _)| *node == index).collect();
        let aux = self.aux_client(index);
        self.clients[aux].queue.extend(setup.into_iter().map(|(_, body)| (Purpose::Setup, body)));
        self.next_aux(aux, now);
        let (back, still): (Vec<usize>, Vec<usize>) =
            self.parked.iter().partition(|&&client| self.clients[client].node == index);
        self.parked = still;
        self.idle.extend(back);
        Ok(())
    }

    fn client_reply(&mut self, index: usize, message: Message, now: Duration) -> Result<(), HarnessError> {
        let client = &self.clients[index];
        let Some(in_reply_to) = message.body.in_reply_to else {
            let text = format!(
                "{} sent {} a message of type {} without in_reply_to",
                message.src, client.name, message.body.kind
            );
            self.diagnose(text);
            return Ok(());
        };
        let Some((_, purpose)) = client.open.filter(|(msg_id, _)| *msg_id == in_reply_to) else {
            if in_reply_to < client.next_msg_id && in_reply_to > 0 {
                self.stats.late_replies += 1;
                self.stats.messages.client += 1;
            } else {
                let text = format!(
                    "{} replied to msg_id {in_reply_to} of {}, which never sent it: {}",
                    message.src,
                    client.name,
                    serde_json::to_string(&message.body).unwrap_or_default()
                );
                self.diagnose(text);
            }
            return Ok(());
        };
        if purpose != Purpose::Setup {
            self.stats.messages.client += 1;
        }
        let (kind, error) = match message.body.error_code() {
            Some(code) => {
                let text = message.body.field("text").and_then(Value::as_str).unwrap_or(code_name(code)).to_owned();
                (if is_definite(code) { OpKind::Fail } else { OpKind::Info }, Some((code, text)))
            }
            None if message.body.kind == "error" => (OpKind::Info, Some((0, "an error without a code".to_owned()))),
            None => (OpKind::Ok, None),
        };
        if purpose == Purpose::Setup && kind != OpKind::Ok {
            let reply = serde_json::to_string(&message.body).unwrap_or_default();
            self.setup_failed(index, format!("it answered {reply}"))?;
        }
        self.complete(index, kind, body_value(message.body), error, now);
        Ok(())
    }

    /// A setup request went wrong: fatal before the load, a diagnostic for a restarted node.
    fn setup_failed(&mut self, client: usize, problem: String) -> Result<(), HarnessError> {
        let node = self.node_ids[self.clients[client].node].clone();
        let request = self.clients[client].setup_request.clone();
        if self.phase == Phase::Setup {
            return Err(HarnessError::Setup { node, request, problem });
        }
        self.diagnose(format!("{node}, restarted, did not accept its setup request: {problem}"));
        Ok(())
    }

    /// Ends a client's open request: recorded (unless it was a setup request), counted, the client freed.
    fn complete(&mut self, index: usize, kind: OpKind, value: Value, error: Option<(u64, String)>, now: Duration) {
        let Some((_, purpose)) = self.clients[index].open.take() else { return };
        if purpose != Purpose::Setup {
            match kind {
                OpKind::Ok => self.stats.ok += 1,
                OpKind::Fail => self.stats.failed += 1,
                _ => self.stats.indefinite += 1,
            }
            let process = index as u32 + 1;
            let invoked_at = self.clients[index].scheduled.take().or_else(|| self.history.open_since(process));
            self.history.complete(process, kind, value, error, now);
            if kind != OpKind::Info {
                if let Some(invoked_at) = invoked_at {
                    let micros = now.saturating_sub(invoked_at).as_micros().max(1) as u64;
                    self.latencies.saturating_record(micros);
                }
            }
        }
        if purpose == Purpose::Load {
            self.open_requests -= 1;
            if self.config.load.ops_per_client.is_none_or(|limit| self.clients[index].issued < limit) {
                self.idle.push_back(index);
            }
        } else {
            self.open_aux -= 1;
            self.next_aux(index, now);
        }
    }

    /// Issues a load client's next request; false (the client parked) when its node is down.
    fn issue(&mut self, index: usize, now: Duration) -> bool {
        let node = self.clients[index].node;
        if matches!(self.states[node], NodeState::Down | NodeState::Starting { .. }) {
            self.parked.push(index);
            return false;
        }
        let body = self.workload.request(index as u32 + 1, &mut self.workload_rngs[index]);
        self.clients[index].issued += 1;
        self.open_requests += 1;
        self.send_request(index, body, Purpose::Load, now);
        true
    }

    fn send_request(&mut self, index: usize, mut body: Body, purpose: Purpose, now: Duration) {
        let client = &mut self.clients[index];
        let msg_id = client.next_msg_id;
        client.next_msg_id += 1;
        client.open = Some((msg_id, purpose));
        if purpose == Purpose::Setup {
            client.setup_request.clone_from(&body.kind);
        }
        body.msg_id = Some(msg_id);
        body.in_reply_to = None;
        let node = client.node;
        let message = Message { src: client.name.clone(), dest: self.node_ids[node].clone(), body };
        self.nodes[node].send(&message);
        if purpose != Purpose::Setup {
            let phase = if purpose == Purpose::Final { OpPhase::Final } else { OpPhase::Load };
            // Sent first, so the fields move into the history rather than being copied (a batch of a
            // thousand events is a thousand objects).
            let Message { dest, body, .. } = message;
            let value = self.workload.history_value(&body.kind, body.fields);
            self.history.invoke_in(phase, index as u32 + 1, &body.kind, value, now, &dest);
            self.stats.requests += 1;
            self.stats.messages.client += 1;
        }
        self.timeouts.push_back((now + self.config.request_timeout, index, msg_id));
    }

    fn expire_requests(&mut self, now: Duration) -> Result<(), HarnessError> {
        while let Some(&(deadline, index, msg_id)) = self.timeouts.front() {
            if deadline > now {
                return Ok(());
            }
            self.timeouts.pop_front();
            let Some((open_id, purpose)) = self.clients[index].open else { continue };
            if open_id == msg_id {
                let text = format!("no reply within {}", seconds(self.config.request_timeout));
                if purpose == Purpose::Setup {
                    self.setup_failed(index, text.clone())?;
                }
                if purpose == Purpose::Final && !self.clients[index].queue.is_empty() {
                    // A node that stopped answering would make every later final request wait its timeout.
                    let left = std::mem::take(&mut self.clients[index].queue).len();
                    let node = self.node_ids[self.clients[index].node].clone();
                    self.diagnose(format!(
                        "{node} did not answer a final request: its {left} later one(s) were not sent"
                    ));
                }
                self.complete(index, OpKind::Info, Value::Null, Some((0, text)), now);
            }
        }
        Ok(())
    }

    fn deliver_due(&mut self, now: Duration) {
        while let Some(message) = self.network.pop_due(now) {
            match self.address(&message.dest) {
                // A node down or not yet initialised again loses what reaches it.
                Address::Node(index) if matches!(self.states[index], NodeState::Up | NodeState::Paused) => {
                    self.nodes[index].send(&message);
                }
                Address::Service => {
                    if let Some(reply) = self.services.handle(&message) {
                        self.stats.messages.service += 1;
                        self.network.submit(now, reply, false);
                    }
                }
                _ => {}
            }
        }
    }

    fn diagnose(&mut self, text: String) {
        if self.diagnostics.len() < DIAGNOSTICS_KEPT {
            self.diagnostics.push(text);
        } else {
            self.diagnostics_dropped += 1;
        }
    }

    fn final_stats(&self) -> Stats {
        let mut stats = self.stats.clone();
        let secs = stats.load_time.as_secs_f64();
        stats.throughput = if secs > 0.0 { self.load_ok as f64 / secs } else { 0.0 };
        stats.availability = if stats.requests == 0 { 0.0 } else { stats.ok as f64 / stats.requests as f64 };
        stats.offered_rate = self.config.load.rate;
        stats.open_loop = self.config.load.open_loop && self.config.load.rate.is_some();
        if !self.latencies.is_empty() {
            let at = |q: f64| Duration::from_micros(self.latencies.value_at_quantile(q));
            stats.latency = Some(Quantiles {
                p50: at(0.5),
                p90: at(0.9),
                p95: at(0.95),
                p99: at(0.99),
                p999: at(0.999),
                max: Duration::from_micros(self.latencies.max()),
            });
        }
        stats
    }
}

/// A body as the JSON object it was sent as, by moving its fields (a reply is recorded once per request).
fn body_value(body: Body) -> Value {
    let Body { kind, msg_id, in_reply_to, mut fields } = body;
    fields.insert("type".to_owned(), Value::String(kind));
    if let Some(id) = msg_id {
        fields.insert("msg_id".to_owned(), id.into());
    }
    if let Some(id) = in_reply_to {
        fields.insert("in_reply_to".to_owned(), id.into());
    }
    Value::Object(fields)
}

fn seconds(duration: Duration) -> String {
    let secs = duration.as_secs_f64();
    if secs.fract() == 0.0 { format!("{secs:.0} s") } else { format!("{secs} s") }
}

fn describe_status(status: Option<Status>) -> String {
    match status {
        Some(status) => status.to_string(),
        None => "it closed its stdout but is still running".to_owned(),
    }
}

fn stderr_section(tail: &str) -> String {
    if tail.trim().is_empty() {
        "; it wrote nothing to stderr".to_owned()
    } else {
        let indented: Vec<String> = tail.lines().map(|line| format!("  | {line}")).collect();
        format!("; the end of its stderr:\n{}", indented.join("\n"))
    }
}

/// CPU time (user + system) of this process so far, from /proc/self/stat (in USER_HZ = 100 ticks).
fn process_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_becomes_the_object_it_was_sent_as() {
        let mut body = Body::new("echo_ok").with("echo", "hi");
        body.in_reply_to = Some(3);
        let expected = serde_json::to_value(&body).unwrap();
        assert_eq!(body_value(body), expected);
        assert_eq!(body_value(Body::new("x")), serde_json::json!({"type": "x"}));
    }

    #[test]
    fn durations_read_as_seconds() {
        assert_eq!(seconds(Duration::from_secs(10)), "10 s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5 s");
    }

    #[test]
    fn faults_read_in_order_with_their_times_and_a_count_of_the_rest() {
        let event = |at_us, kind| NetEvent { at_us, kind };
        let message = NetEventKind::Message {
            src: "n0".into(),
            dest: "n1".into(),
            link_seq: 0,
            msg_id: None,
            fate: super::super::network::Fate::Delivered { delays_us: vec![0] },
        };
        let trace = vec![
            event(1_119_000, NetEventKind::Crash { node: "n1".into() }),
            event(1_200_000, message),
            event(1_619_000, NetEventKind::Restart { node: "n1".into(), incarnation: 1 }),
            event(
                2_000_000,
                NetEventKind::Partition { groups: vec![vec!["n0".into()], vec!["n1".into(), "n2".into()]] },
            ),
            event(3_000_000, NetEventKind::Heal),
        ];
        let run = RunResult {
            seed: 1,
            validity: Validity::default(),
            stats: Stats::default(),
            history: History::default(),
            trace,
            diagnostics: Vec::new(),
            diagnostics_dropped: 0,
            stderr_tails: Vec::new(),
            node_usage: Vec::new(),
        };
        assert_eq!(
            run.faults(10).as_deref(),
            Some(
                "n1 killed at 1.119 s · n1 restarted at 1.619 s · partition n0 | n1 n2 at 2.000 s · healed at 3.000 s"
            )
        );
        assert_eq!(run.faults(1).as_deref(), Some("n1 killed at 1.119 s · and 3 more (network.jsonl has them all)"));
        let quiet = RunResult { trace: Vec::new(), ..run };
        assert_eq!(quiet.faults(10), None);
    }

    #[test]
    fn a_crash_shows_status_and_stderr() {
        let error = HarnessError::NodeCrashed {
            node: "n1".into(),
            phase: Phase::Init,
            status: Some(Status::Exited(2)),
            stderr_tail: "Traceback\nKeyError: 'x'".into(),
            limit_hit: None,
        };
        assert_eq!(
            error.to_string(),
            "node n1 crashed during init (exit code 2); the end of its stderr:\n  | Traceback\n  | KeyError: 'x'"
        );
    }

    #[test]
    fn an_init_timeout_names_the_silent_nodes() {
        let error =
            HarnessError::InitTimedOut { nodes: vec!["n0".into(), "n2".into()], after: Duration::from_secs(10) };
        assert_eq!(error.to_string(), "init timed out after 10 s: n0, n2 never answered init with init_ok");
    }

    #[test]
    fn the_grader_cpu_time_is_readable() {
        assert!(process_cpu_time().is_some());
    }
}
