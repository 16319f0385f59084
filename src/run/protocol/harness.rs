//! The protocol harness: starts N nodes, sends each `init` (msg_id 1, 10 s to answer, told apart from a
//! crash), then runs a workload: clients (`c1`, `c2`, ..., each bound to one node, one request at a time)
//! issue requests at a rate or as fast as replies come, with per-request timeouts, while every message
//! between nodes and to services goes through the simulated network. One thread routes everything, so the
//! history, the network and the services need no locks.
//!
//! Left for later (issue 4): crash/restart and pause nemeses, workload final phases (final reads after
//! healing), per-node CPU and memory (from the sandbox), saving history and trace files, staged runs.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde_json::Value;

use super::history::{History, OpKind};
use super::message::{Body, LineError, Message, code_name, is_definite};
use super::network::{NetEvent, Network, NetworkConfig, random_halves, write_trace};
use super::node::{EVENTS_QUEUED, NodeCommand, NodeEvent, NodeProcess};
use super::rng::Rng;
use super::services::{Services, is_service};
use super::workloads::{Validity, Workload};
use crate::sandbox::Status;

/// Streams of the run's seed besides the network's.
const NEMESIS_STREAM: u64 = 2;
const WORKLOAD_STREAM: u64 = 3;
const SERVICES_STREAM: u64 = 4;
/// Lines of a node's stderr shown when it crashed.
const STDERR_LINES_SHOWN: usize = 20;
/// Diagnostics kept (the rest are only counted).
const DIAGNOSTICS_KEPT: usize = 20;
/// Events handled between two looks at the clock.
const EVENT_BATCH: usize = 256;

/// Everything a run needs besides the node command and the workload.
#[derive(Debug, Clone)]
pub struct HarnessConfig {
    pub node_count: usize,
    /// Printed with every result and failure; the same seed replays the same network decisions.
    pub seed: u64,
    pub init_timeout: Duration,
    pub request_timeout: Duration,
    pub network: NetworkConfig,
    pub nemesis: Nemesis,
    pub load: Load,
}

impl HarnessConfig {
    /// Maelstrom's defaults: 10 s for init, 5 s per request, a perfect network, no nemesis, 5 requests/s.
    #[must_use]
    pub fn new(node_count: usize, seed: u64) -> HarnessConfig {
        HarnessConfig {
            node_count,
            seed,
            init_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(5),
            network: NetworkConfig::default(),
            nemesis: Nemesis::None,
            load: Load::default(),
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
}

impl Default for Load {
    fn default() -> Self {
        Load { concurrency: 1, rate: Some(5.0), duration: Duration::from_secs(10), max_ops: None, ops_per_client: None }
    }
}

/// Faults injected while the load runs.
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
    Workload,
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Phase::Init => "during init",
            Phase::Workload => "during the workload",
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
    #[error("node {node} crashed {phase} ({}){}", describe_status(*status), stderr_section(stderr_tail))]
    NodeCrashed { node: String, phase: Phase, status: Option<Status>, stderr_tail: String },
    #[error(transparent)]
    Malformed(LineError),
}

/// A failed run and the seed that replays it.
#[derive(Debug, thiserror::Error)]
#[error("{error}\n(seed {seed})")]
pub struct RunError {
    pub seed: u64,
    #[source]
    pub error: HarnessError,
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
}

/// The figures of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    /// From the first request to the last completion.
    pub load_time: Duration,
    pub requests: u64,
    pub ok: u64,
    pub failed: u64,
    pub indefinite: u64,
    /// Successful requests per second of load time.
    pub throughput: f64,
    /// Share of requests that succeeded.
    pub availability: f64,
    /// Over completed requests (ok and definite failures; timeouts are not latencies).
    pub latency: Option<Quantiles>,
    pub messages: MessageCounts,
    /// Replies that came after their request had timed out.
    pub late_replies: u64,
    /// CPU time of the grader's process over the run (all its threads), where /proc tells it.
    pub grader_cpu: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantiles {
    pub p50: Duration,
    pub p95: Duration,
    pub p99: Duration,
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
}

impl RunResult {
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
                "latency p50 {:.3} ms · p95 {:.3} ms · p99 {:.3} ms · max {:.3} ms",
                ms(q.p50),
                ms(q.p95),
                ms(q.p99),
                ms(q.max)
            );
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
    let harness = Harness::start(command, config, workload).map_err(|error| RunError { seed, error })?;
    harness.finish().map_err(|error| RunError { seed, error })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Address {
    Node(usize),
    /// `c0`, which sends `init`.
    Admin,
    /// Workload client `c<k+1>`.
    Client(usize),
    Service,
    Unknown,
}

#[derive(Debug)]
struct Client {
    name: String,
    node: usize,
    next_msg_id: u64,
    open: Option<u64>,
    issued: u64,
}

struct Harness<'a> {
    config: &'a HarnessConfig,
    workload: &'a mut dyn Workload,
    start: Instant,
    cpu_at_start: Option<Duration>,
    phase: Phase,
    nodes: Vec<NodeProcess>,
    node_ids: Vec<String>,
    events: Receiver<NodeEvent>,
    /// Kept so the channel never disconnects (and for nodes started later).
    _events_sender: SyncSender<NodeEvent>,
    network: Network,
    services: Services,
    clients: Vec<Client>,
    idle: VecDeque<usize>,
    /// (deadline, client, msg_id) in deadline order: all requests have the same timeout.
    timeouts: VecDeque<(Duration, usize, u64)>,
    open_requests: usize,
    init_pending: Vec<bool>,
    history: History,
    latencies: Histogram<u64>,
    workload_rng: Rng,
    nemesis_rng: Rng,
    stats: Stats,
    diagnostics: Vec<String>,
    diagnostics_dropped: u64,
}

impl<'a> Harness<'a> {
    fn start(
        command: &NodeCommand,
        config: &'a HarnessConfig,
        workload: &'a mut dyn Workload,
    ) -> Result<Harness<'a>, HarnessError> {
        if config.node_count == 0 {
            return Err(HarnessError::Config("a run needs at least one node".into()));
        }
        let (sender, events) = mpsc::sync_channel(EVENTS_QUEUED);
        let node_ids: Vec<String> = (0..config.node_count).map(|i| format!("n{i}")).collect();
        let mut nodes = Vec::with_capacity(node_ids.len());
        for (index, id) in node_ids.iter().enumerate() {
            let node = NodeProcess::spawn(command, index, id, sender.clone())
                .map_err(|source| HarnessError::Spawn { node: id.clone(), source })?;
            nodes.push(node);
        }
        let clients = (0..config.load.concurrency)
            .map(|k| Client {
                name: format!("c{}", k + 1),
                node: k % config.node_count,
                next_msg_id: 1,
                open: None,
                issued: 0,
            })
            .collect();
        let seed = config.seed;
        let latencies = Histogram::new_with_bounds(1, 3_600_000_000, 3)
            .map_err(|error| HarnessError::Config(format!("latency histogram: {error}")))?;
        Ok(Harness {
            config,
            workload,
            start: Instant::now(),
            cpu_at_start: process_cpu_time(),
            phase: Phase::Init,
            init_pending: vec![true; nodes.len()],
            nodes,
            node_ids,
            events,
            _events_sender: sender,
            network: Network::new(config.network.clone(), seed),
            services: Services::new(Rng::stream(seed, &[SERVICES_STREAM])),
            clients,
            idle: VecDeque::new(),
            timeouts: VecDeque::new(),
            open_requests: 0,
            history: History::default(),
            latencies,
            workload_rng: Rng::stream(seed, &[WORKLOAD_STREAM]),
            nemesis_rng: Rng::stream(seed, &[NEMESIS_STREAM]),
            stats: Stats {
                load_time: Duration::ZERO,
                requests: 0,
                ok: 0,
                failed: 0,
                indefinite: 0,
                throughput: 0.0,
                availability: 0.0,
                latency: None,
                messages: MessageCounts::default(),
                late_replies: 0,
                grader_cpu: None,
            },
            diagnostics: Vec::new(),
            diagnostics_dropped: 0,
        })
    }

    fn finish(mut self) -> Result<RunResult, HarnessError> {
        self.init()?;
        self.phase = Phase::Workload;
        self.run_load()?;
        let now = self.now();
        if matches!(self.config.nemesis, Nemesis::Partitions { .. }) {
            self.network.heal(now);
        }
        self.stats.grader_cpu = process_cpu_time().zip(self.cpu_at_start).map(|(end, start)| end.saturating_sub(start));
        let stderr_tails =
            self.nodes.iter().map(|node| (node.id.clone(), node.stderr_tail(STDERR_LINES_SHOWN))).collect();
        let validity = self.workload.check(&self.history);
        let stats = self.final_stats();
        Ok(RunResult {
            seed: self.config.seed,
            validity,
            stats,
            history: std::mem::take(&mut self.history),
            trace: self.network.trace().to_vec(),
            diagnostics: std::mem::take(&mut self.diagnostics),
            diagnostics_dropped: self.diagnostics_dropped,
            stderr_tails,
        })
    }

    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    fn init(&mut self) -> Result<(), HarnessError> {
        for (index, node) in self.nodes.iter().enumerate() {
            let mut body =
                Body::new("init").with("node_id", self.node_ids[index].clone()).with("node_ids", self.node_ids.clone());
            body.msg_id = Some(1);
            node.send(&Message { src: "c0".into(), dest: node.id.clone(), body });
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

    fn run_load(&mut self) -> Result<(), HarnessError> {
        let load = &self.config.load;
        let load_start = self.now();
        let end = load_start + load.duration;
        let interval = load.rate.filter(|rate| *rate > 0.0).map(|rate| Duration::from_secs_f64(1.0 / rate));
        let mut next_issue = load_start;
        let nemesis_every = match self.config.nemesis {
            Nemesis::Partitions { every } if !every.is_zero() => Some(every),
            _ => None,
        };
        let mut next_nemesis = nemesis_every.map(|every| load_start + every);
        let mut partitioned = false;
        self.idle = (0..self.clients.len()).collect();
        loop {
            let now = self.now();
            self.deliver_due(now);
            self.expire_requests(now);
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
                            self.issue(client, now);
                            next_issue += interval;
                        }
                        if next_issue + interval < now {
                            // Behind (every client was busy): resume the cadence instead of bursting.
                            next_issue = now;
                        }
                    }
                }
            }
            if self.open_requests == 0 && (!issuing || self.idle.is_empty()) {
                break;
            }
            let mut wake: Vec<Duration> =
                [self.network.next_due(), self.timeouts.front().map(|(at, _, _)| *at)].into_iter().flatten().collect();
            if issuing {
                wake.push(end);
                wake.extend(next_nemesis);
                if interval.is_some() && !self.idle.is_empty() {
                    wake.push(next_issue);
                }
            }
            self.wait_until(wake.into_iter().min())?;
        }
        self.stats.load_time = self.now().saturating_sub(load_start);
        Ok(())
    }

    fn below_max_ops(&self) -> bool {
        self.config.load.max_ops.is_none_or(|max| self.stats.requests < max)
    }

    /// Handles node events until `wake` (or a while, when nothing is scheduled).
    fn wait_until(&mut self, wake: Option<Duration>) -> Result<(), HarnessError> {
        let timeout = wake.map_or(Duration::from_millis(100), |at| at.saturating_sub(self.now()));
        let event = match self.events.recv_timeout(timeout) {
            Ok(event) => event,
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return Ok(()),
        };
        self.handle(event)?;
        for _ in 0..EVENT_BATCH {
            match self.events.try_recv() {
                Ok(event) => self.handle(event)?,
                Err(_) => break,
            }
        }
        Ok(())
    }

    fn handle(&mut self, event: NodeEvent) -> Result<(), HarnessError> {
        match event {
            NodeEvent::Message { node, message } => self.route(node, message),
            NodeEvent::Malformed { error, .. } => Err(HarnessError::Malformed(error)),
            NodeEvent::Closed { node } => Err(self.crashed(node)),
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
        }
    }

    fn address(&self, name: &str) -> Address {
        let numbered = |prefix: char| {
            name.strip_prefix(prefix).filter(|digits| !digits.starts_with('+')).and_then(|d| d.parse::<usize>().ok())
        };
        if let Some(index) = numbered('n').filter(|i| self.node_ids.get(*i).is_some_and(|id| id == name)) {
            Address::Node(index)
        } else if let Some(number) = numbered('c').filter(|k| format!("c{k}") == name) {
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
                "{} sent a {} message with src \"{}\" (its own id is {})",
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
            Address::Admin => self.init_reply(from, &message)?,
            Address::Client(client) => {
                self.stats.messages.client += 1;
                self.client_reply(client, message, now);
            }
            Address::Unknown => {
                let text = format!(
                    "{} sent a {} message to \"{}\", which is not a node, client or service",
                    self.node_ids[from], message.body.kind, message.dest
                );
                self.diagnose(text);
            }
        }
        Ok(())
    }

    fn init_reply(&mut self, from: usize, message: &Message) -> Result<(), HarnessError> {
        let body = &message.body;
        if body.in_reply_to == Some(1) && body.kind == "init_ok" {
            self.init_pending[from] = false;
        } else if body.in_reply_to == Some(1) {
            let reply = serde_json::to_string(body).unwrap_or_default();
            return Err(HarnessError::InitRefused { node: self.node_ids[from].clone(), reply });
        } else {
            let text =
                format!("{} sent c0 a {} message that does not answer init (msg_id 1)", self.node_ids[from], body.kind);
            self.diagnose(text);
        }
        Ok(())
    }

    fn client_reply(&mut self, index: usize, message: Message, now: Duration) {
        let client = &self.clients[index];
        let Some(in_reply_to) = message.body.in_reply_to else {
            let text =
                format!("{} sent {} a {} message without in_reply_to", message.src, client.name, message.body.kind);
            self.diagnose(text);
            return;
        };
        if client.open != Some(in_reply_to) {
            if in_reply_to < client.next_msg_id && in_reply_to > 0 {
                self.stats.late_replies += 1;
            } else {
                let text = format!(
                    "{} replied to msg_id {in_reply_to} of {}, which never sent it: {}",
                    message.src,
                    client.name,
                    serde_json::to_string(&message.body).unwrap_or_default()
                );
                self.diagnose(text);
            }
            return;
        }
        let (kind, error) = match message.body.error_code() {
            Some(code) => {
                let text = message.body.field("text").and_then(Value::as_str).unwrap_or(code_name(code)).to_owned();
                (if is_definite(code) { OpKind::Fail } else { OpKind::Info }, Some((code, text)))
            }
            None if message.body.kind == "error" => (OpKind::Info, Some((0, "an error without a code".to_owned()))),
            None => (OpKind::Ok, None),
        };
        match kind {
            OpKind::Ok => self.stats.ok += 1,
            OpKind::Fail => self.stats.failed += 1,
            _ => self.stats.indefinite += 1,
        }
        let process = index as u32 + 1;
        let value = serde_json::to_value(&message.body).unwrap_or(Value::Null);
        let invoked_at = self.history.open_since(process);
        self.history.complete(process, kind, value, error, now);
        if kind != OpKind::Info {
            if let Some(invoked_at) = invoked_at {
                let micros = now.saturating_sub(invoked_at).as_micros().max(1) as u64;
                self.latencies.saturating_record(micros);
            }
        }
        self.release(index);
    }

    fn release(&mut self, index: usize) {
        let client = &mut self.clients[index];
        client.open = None;
        self.open_requests -= 1;
        if self.config.load.ops_per_client.is_none_or(|limit| client.issued < limit) {
            self.idle.push_back(index);
        }
    }

    fn issue(&mut self, index: usize, now: Duration) {
        let mut body = self.workload.request(index as u32 + 1, &mut self.workload_rng);
        let client = &mut self.clients[index];
        let msg_id = client.next_msg_id;
        client.next_msg_id += 1;
        client.issued += 1;
        client.open = Some(msg_id);
        body.msg_id = Some(msg_id);
        body.in_reply_to = None;
        let node = client.node;
        let message = Message { src: client.name.clone(), dest: self.node_ids[node].clone(), body };
        self.history.invoke(
            index as u32 + 1,
            &message.body.kind,
            Value::Object(message.body.fields.clone()),
            now,
            &message.dest,
        );
        self.nodes[node].send(&message);
        self.timeouts.push_back((now + self.config.request_timeout, index, msg_id));
        self.open_requests += 1;
        self.stats.requests += 1;
        self.stats.messages.client += 1;
    }

    fn expire_requests(&mut self, now: Duration) {
        while let Some(&(deadline, index, msg_id)) = self.timeouts.front() {
            if deadline > now {
                return;
            }
            self.timeouts.pop_front();
            if self.clients[index].open == Some(msg_id) {
                let text = format!("no reply within {}", seconds(self.config.request_timeout));
                self.history.complete(index as u32 + 1, OpKind::Info, Value::Null, Some((0, text)), now);
                self.stats.indefinite += 1;
                self.release(index);
            }
        }
    }

    fn deliver_due(&mut self, now: Duration) {
        while let Some(message) = self.network.pop_due(now) {
            match self.address(&message.dest) {
                Address::Node(index) => self.nodes[index].send(&message),
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
        stats.throughput = if secs > 0.0 { stats.ok as f64 / secs } else { 0.0 };
        stats.availability = if stats.requests == 0 { 0.0 } else { stats.ok as f64 / stats.requests as f64 };
        if !self.latencies.is_empty() {
            let at = |q: f64| Duration::from_micros(self.latencies.value_at_quantile(q));
            stats.latency = Some(Quantiles {
                p50: at(0.5),
                p95: at(0.95),
                p99: at(0.99),
                max: Duration::from_micros(self.latencies.max()),
            });
        }
        stats
    }
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
    fn durations_read_as_seconds() {
        assert_eq!(seconds(Duration::from_secs(10)), "10 s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5 s");
    }

    #[test]
    fn a_crash_shows_status_and_stderr() {
        let error = HarnessError::NodeCrashed {
            node: "n1".into(),
            phase: Phase::Init,
            status: Some(Status::Exited(2)),
            stderr_tail: "Traceback\nKeyError: 'x'".into(),
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
