//! The protocol harness driven as a library against real node processes: the Python references pass,
//! and each way a node can go wrong (a log line on stdout, no answer to init, a crash, a reply to a
//! msg_id never sent, duplicate ids) is reported as such. A seed replays the same network decisions.
//! Broadcast and g-counter run with small Python nodes: a partition breaks a broadcast that never retries
//! and not one that does; a crashed node restarts with its data folder; a paused one resumes.
//! Timeouts here only bound hangs; nothing asserts on timing.

use std::path::PathBuf;
use std::time::Duration;

use takehome::run::protocol::harness::{
    self, HarnessConfig, HarnessError, Load, Nemesis, NemesisFault, PartitionShape, Phase, RunResult, ScheduledFault,
};
use takehome::run::protocol::network::{Latency, NetEventKind, NetworkConfig, message_decisions};
use takehome::run::protocol::node::NodeCommand;
use takehome::run::protocol::workloads::broadcast::Broadcast;
use takehome::run::protocol::workloads::topology::Topology;
use takehome::run::protocol::workloads::{self, Workload};
use takehome::sandbox::Status;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn reference(challenge: &str) -> NodeCommand {
    let script = repo().join("challenges").join(challenge).join("reference/python/main.py");
    NodeCommand::new("python3", [script])
}

/// A node from an inline Python script, kept in a temporary folder for as long as the guard lives.
fn python_node(script: &str) -> (tempfile::TempDir, NodeCommand) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("node.py");
    std::fs::write(&path, script).expect("write node");
    (dir, NodeCommand::new("python3", [path]))
}

fn shell_node(script: &str) -> NodeCommand {
    NodeCommand::new("sh", ["-c", script])
}

/// Answers init, then hands each other request to `on_request(node_id, body, reply)`.
const PYTHON_PRELUDE: &str = r#"
import json, sys
node_id, node_ids, next_id = None, [], 1
def send(dest, body):
    global next_id
    body = dict(body); body["msg_id"] = next_id; next_id += 1
    sys.stdout.write(json.dumps({"src": node_id, "dest": dest, "body": body}) + "\n"); sys.stdout.flush()
def reply(request, body):
    body = dict(body); body["in_reply_to"] = request["body"]["msg_id"]; send(request["src"], body)
for line in sys.stdin:
    request = json.loads(line)
    if request["body"]["type"] == "init":
        node_id, node_ids = request["body"]["node_id"], request["body"]["node_ids"]
        reply(request, {"type": "init_ok"})
    else:
        on_request(request)
"#;

fn python_handler(handler: &str) -> (tempfile::TempDir, NodeCommand) {
    python_node(&format!("{handler}\n{PYTHON_PRELUDE}"))
}

fn config(nodes: usize, seed: u64, load: Load) -> HarnessConfig {
    let mut config = HarnessConfig::new(nodes, seed);
    // Generous: a loaded CI machine may be slow to start Python; these only bound hangs.
    config.init_timeout = Duration::from_secs(60);
    config.request_timeout = Duration::from_secs(30);
    config.load = load;
    config
}

fn ops(concurrency: usize, max_ops: u64) -> Load {
    Load {
        concurrency,
        rate: None,
        duration: Duration::from_secs(120),
        max_ops: Some(max_ops),
        ops_per_client: None,
        open_loop: false,
    }
}

fn run(command: &NodeCommand, config: &HarnessConfig, workload: &str) -> Result<RunResult, HarnessError> {
    let mut workload: Box<dyn Workload> = workloads::by_name(workload).expect("workload");
    run_workload(command, config, workload.as_mut())
}

fn run_workload(
    command: &NodeCommand,
    config: &HarnessConfig,
    workload: &mut dyn Workload,
) -> Result<RunResult, HarnessError> {
    let result = harness::run(command, config, workload).map_err(|failure| failure.error);
    if let Ok(result) = &result {
        println!("{}", result.summary());
    }
    result
}

#[test]
fn echo_against_the_python_reference_passes() {
    let result = run(&reference("echo"), &config(2, 1, ops(4, 400)), "echo").expect("run");
    assert!(result.validity.valid, "{}", result.summary());
    assert_eq!((result.stats.requests, result.stats.ok), (400, 400));
    assert!(result.diagnostics.is_empty(), "{:?}", result.diagnostics);
    assert_eq!(result.history.ops().len(), 800);
    let (all, servers, clients) = result.stats.msgs_per_op();
    assert_eq!((all, servers, clients), (2.0, 0.0, 2.0));
    assert!(result.stats.latency.is_some());
}

/// A figure for people (run with --nocapture), not an assertion. `TAKEHOME_ECHO_NODE=/path/to/node` measures
/// another echo node than the Python reference (a compiled one shows the harness's own ceiling).
#[test]
fn echo_throughput_one_node_sixteen_in_flight() {
    let node = std::env::var_os("TAKEHOME_ECHO_NODE")
        .map_or_else(|| reference("echo"), |program| NodeCommand::new(program, Vec::<String>::new()));
    let load = Load {
        concurrency: 16,
        rate: None,
        duration: Duration::from_secs(3),
        max_ops: None,
        ops_per_client: None,
        open_loop: false,
    };
    let result = run(&node, &config(1, 2, load), "echo").expect("run");
    assert!(result.validity.valid, "{}", result.summary());
    println!("echo throughput: {:.0} requests/s", result.stats.throughput);
}

#[test]
fn a_log_line_on_stdout_is_reported_with_node_line_number_and_line() {
    let (_dir, node) = python_handler(
        "def on_request(request):\n    print('Handling echo', flush=True)\n    reply(request, {'type': 'echo_ok'})",
    );
    let error = run(&node, &config(1, 3, ops(1, 5)), "echo").expect_err("malformed");
    let HarnessError::Malformed(line) = &error else { panic!("{error}") };
    assert_eq!((line.node.as_str(), line.line_number, line.line.as_str()), ("n0", 2, "Handling echo"));
    let shown = error.to_string();
    assert!(shown.contains("node n0") && shown.contains("stdout line 2") && shown.contains("Handling echo"), "{shown}");
}

#[test]
fn a_node_that_never_answers_init_times_out() {
    let mut config = config(2, 4, ops(1, 1));
    config.init_timeout = Duration::from_secs(1);
    let error = run(&shell_node("cat > /dev/null"), &config, "echo").expect_err("no init_ok");
    assert!(matches!(&error, HarnessError::InitTimedOut { nodes, .. } if nodes == &["n0", "n1"]), "{error}");
    assert!(error.to_string().starts_with("init timed out after 1 s"), "{error}");
}

#[test]
fn a_node_that_crashes_at_start_is_reported_with_exit_code_and_stderr() {
    let node = shell_node("echo 'Traceback: something broke' >&2; exit 3");
    let error = run(&node, &config(1, 5, ops(1, 1)), "echo").expect_err("crash");
    let HarnessError::NodeCrashed { node, phase, status, stderr_tail, .. } = &error else { panic!("{error}") };
    assert_eq!((node.as_str(), *phase, *status), ("n0", Phase::Init, Some(Status::Exited(3))));
    assert_eq!(stderr_tail, "Traceback: something broke");
    let shown = error.to_string();
    assert!(
        shown.contains("node n0 crashed during init (exit code 3)") && shown.contains("something broke"),
        "{shown}"
    );
}

#[test]
fn a_node_that_crashes_under_load_is_reported_as_such() {
    let (_dir, node) = python_handler("def on_request(request):\n    raise KeyError('echo')");
    let error = run(&node, &config(1, 6, ops(1, 5)), "echo").expect_err("crash");
    let HarnessError::NodeCrashed { phase, status, stderr_tail, .. } = &error else { panic!("{error}") };
    assert_eq!((*phase, *status), (Phase::Workload, Some(Status::Exited(1))));
    assert!(stderr_tail.contains("KeyError"), "{stderr_tail}");
}

#[test]
fn a_reply_to_a_msg_id_never_sent_is_a_diagnostic() {
    let (_dir, node) = python_handler(
        "def on_request(request):\n    send(request['src'], {'type': 'echo_ok', 'in_reply_to': 999})\n    \
         reply(request, {'type': 'echo_ok', 'echo': request['body']['echo']})",
    );
    let result = run(&node, &config(1, 7, ops(1, 3)), "echo").expect("run");
    assert!(result.validity.valid, "{}", result.summary());
    assert_eq!(result.diagnostics.len(), 3, "{:?}", result.diagnostics);
    assert!(result.diagnostics[0].starts_with("n0 replied to msg_id 999 of c1, which never sent it"));
}

#[test]
fn unique_ids_across_three_nodes_through_partitions_pass() {
    let mut config = config(
        3,
        8,
        Load {
            concurrency: 6,
            rate: Some(300.0),
            duration: Duration::from_millis(1500),
            max_ops: None,
            ops_per_client: None,
            open_loop: false,
        },
    );
    config.nemesis = Nemesis::Partitions { every: Duration::from_millis(200) };
    let result = run(&reference("unique-ids"), &config, "unique-ids").expect("run");
    assert!(result.validity.valid, "{}", result.summary());
    assert!(result.stats.ok > 0);
    let partitions = result.trace.iter().filter(|e| matches!(e.kind, NetEventKind::Partition { .. })).count();
    assert!(partitions >= 1, "the nemesis partitioned the network");
    assert!(matches!(result.trace.last().map(|e| &e.kind), Some(NetEventKind::Heal)), "healed at the end");
}

#[test]
fn unique_ids_from_a_counter_without_the_node_id_are_caught() {
    let (_dir, node) = python_handler(
        "counter = 0\ndef on_request(request):\n    global counter\n    counter += 1\n    \
         reply(request, {'type': 'generate_ok', 'id': counter})",
    );
    let result = run(&node, &config(3, 9, ops(3, 60)), "unique-ids").expect("run");
    assert!(!result.validity.valid, "{}", result.summary());
    let problem = &result.validity.problems[0];
    assert!(problem.text.contains("given twice"), "{:?}", result.validity.problems);
    let ops = result.history.ops();
    assert_eq!(problem.ops.len(), 2, "the two generate_ok replies");
    assert_eq!(ops[problem.ops[0]].value["id"], ops[problem.ops[1]].value["id"]);
    assert_eq!(result.metrics()["duplicated"], result.validity.metrics["duplicated"]);
}

/// Every echo also sends a note to each other node (fire and forget): traffic between nodes whose
/// amount per link is fixed by the number of requests each node gets.
const GOSSIPING_ECHO: &str = "def on_request(request):\n    if request['body']['type'] == 'note':\n        return\n    \
    for other in node_ids:\n        if other != node_id:\n            send(other, {'type': 'note'})\n    \
    reply(request, {'type': 'echo_ok', 'echo': request['body']['echo']})";

fn faulty_run(node: &NodeCommand, seed: u64) -> RunResult {
    let mut config = config(
        3,
        seed,
        Load {
            concurrency: 3,
            rate: None,
            duration: Duration::from_secs(120),
            max_ops: None,
            ops_per_client: Some(20),
            open_loop: false,
        },
    );
    config.network = NetworkConfig {
        latency: Latency::Uniform { mean: Duration::from_millis(2) },
        loss: 0.2,
        duplicate: 0.2,
        reorder: 0.2,
        reorder_delay: Duration::from_millis(5),
    };
    run(node, &config, "echo").expect("run")
}

#[test]
fn a_replayed_seed_gives_the_identical_network_trace() {
    let (_dir, node) = python_handler(GOSSIPING_ECHO);
    let first = faulty_run(&node, 11);
    let again = faulty_run(&node, 11);
    let other = faulty_run(&node, 12);
    let decisions = message_decisions(&first.trace);
    assert_eq!(decisions.len(), 3 * 20 * 2, "each echo sends a note to the two other nodes");
    assert_eq!(decisions, message_decisions(&again.trace));
    assert_ne!(decisions, message_decisions(&other.trace));
    assert!(first.validity.valid, "{}", first.summary());
}

#[test]
fn a_run_without_nodes_is_refused() {
    let error = run(&shell_node("true"), &config(0, 1, ops(1, 1)), "echo").expect_err("no nodes");
    assert!(matches!(error, HarnessError::Config(_)), "{error}");
}

#[test]
fn a_node_that_logs_heavily_to_stderr_is_not_held_up() {
    // Far more than a pipe holds: a grader that did not drain stderr would hang here.
    let (_dir, node) = python_handler(
        "def on_request(request):\n    sys.stderr.write('x' * 100000 + '\\n')\n    \
         reply(request, {'type': 'echo_ok', 'echo': request['body']['echo']})",
    );
    let result = run(&node, &config(1, 13, ops(2, 100)), "echo").expect("run");
    assert!(result.validity.valid, "{}", result.summary());
    let (_, tail) = &result.stderr_tails[0];
    assert!(tail.starts_with("...\n") && tail.ends_with('x'), "the tail is kept, marked as cut");
}

#[test]
fn long_lines_are_accepted() {
    let (_dir, node) = python_handler(
        "def on_request(request):\n    \
         reply(request, {'type': 'echo_ok', 'echo': request['body']['echo'], 'padding': 'p' * 300000})",
    );
    let result = run(&node, &config(1, 14, ops(1, 5)), "echo").expect("run");
    assert!(result.validity.valid, "{}", result.summary());
}

#[test]
fn the_history_and_trace_are_saved_as_json_lines() {
    let (_dir, node) = python_handler(GOSSIPING_ECHO);
    let result = faulty_run(&node, 15);
    let out = tempfile::tempdir().expect("temp dir");
    result.write_files(out.path()).expect("write");
    let read = |name: &str| std::fs::read_to_string(out.path().join(name)).expect("saved");
    let history = read("history.jsonl");
    assert_eq!(history.lines().count(), result.history.ops().len());
    let first: serde_json::Value = serde_json::from_str(history.lines().next().unwrap()).unwrap();
    assert_eq!(first["type"], "invoke");
    assert_eq!(read("network.jsonl").lines().count(), result.trace.len());
}

#[test]
fn nodes_reach_the_services_through_the_network() {
    // Each echo first asks lin-tso for a timestamp and answers the client when it comes back.
    let (_dir, node) = python_handler(
        "pending = {}\ndef on_request(request):\n    body = request['body']\n    if body['type'] == 'echo':\n        \
         pending[next_id] = request\n        send('lin-tso', {'type': 'ts'})\n    elif body['type'] == 'ts_ok':\n        \
         original = pending.pop(body['in_reply_to'])\n        \
         reply(original, {'type': 'echo_ok', 'echo': original['body']['echo'], 'ts': body['ts']})",
    );
    let mut config = config(2, 16, ops(4, 40));
    config.network.latency = Latency::Constant(Duration::from_millis(1));
    let result = run(&node, &config, "echo").expect("run");
    assert!(result.validity.valid, "{}", result.summary());
    assert_eq!(result.stats.messages.service, 80);
    let mut stamps: Vec<u64> = result.history.pairs().iter().filter_map(|p| p.ok()?.value["ts"].as_u64()).collect();
    stamps.sort_unstable();
    assert_eq!(stamps, (1..=40).collect::<Vec<u64>>(), "lin-tso hands out each stamp once");
}

/// Broadcast by gossip to the topology's neighbours, once per message, never retried.
const NAIVE_BROADCAST: &str = r#"
neighbours, messages = [], set()
def gossip(message, skip):
    for other in neighbours:
        if other != skip:
            send(other, {"type": "gossip", "message": message})
def on_request(request):
    global neighbours
    body = request["body"]
    kind = body["type"]
    if kind == "topology":
        neighbours = body["topology"][node_id]
        reply(request, {"type": "topology_ok"})
    elif kind in ("broadcast", "gossip"):
        if body["message"] not in messages:
            messages.add(body["message"])
            gossip(body["message"], request["src"])
        if kind == "broadcast":
            reply(request, {"type": "broadcast_ok"})
    elif kind == "read":
        reply(request, {"type": "read_ok", "messages": sorted(messages)})
"#;

/// Broadcast by gossip acknowledged per neighbour, resent every 50 ms until acknowledged.
const RETRYING_BROADCAST: &str = r#"
import threading, time
lock = threading.Lock()
neighbours, messages, unacked = [], set(), set()
def resend():
    while True:
        time.sleep(0.05)
        with lock:
            for other, message in list(unacked):
                send(other, {"type": "gossip", "message": message})
def on_request(request):
    global neighbours
    body = request["body"]
    kind = body["type"]
    with lock:
        if kind == "topology":
            neighbours = body["topology"][node_id]
            reply(request, {"type": "topology_ok"})
            threading.Thread(target=resend, daemon=True).start()
        elif kind in ("broadcast", "gossip"):
            message = body["message"]
            if kind == "gossip":
                send(request["src"], {"type": "gossip_ok", "message": message})
            if message not in messages:
                messages.add(message)
                for other in neighbours:
                    if other != request["src"]:
                        unacked.add((other, message))
                        send(other, {"type": "gossip", "message": message})
            if kind == "broadcast":
                reply(request, {"type": "broadcast_ok"})
        elif kind == "gossip_ok":
            unacked.discard((request["src"], body["message"]))
        elif kind == "read":
            reply(request, {"type": "read_ok", "messages": sorted(messages)})
"#;

fn at_ms(at: u64, fault: NemesisFault) -> ScheduledFault {
    ScheduledFault { at: Duration::from_millis(at), fault }
}

fn timed(concurrency: usize, rate: f64, millis: u64) -> Load {
    Load {
        concurrency,
        rate: Some(rate),
        duration: Duration::from_millis(millis),
        max_ops: None,
        ops_per_client: None,
        open_loop: false,
    }
}

/// Five nodes in Maelstrom's grid, split in two random halves for the first 600 ms of a 1 s load.
fn partitioned_broadcast(node: &NodeCommand) -> RunResult {
    let mut config = config(5, 21, timed(5, 60.0, 1000));
    config.network.latency = Latency::Constant(Duration::from_millis(2));
    config.schedule = vec![at_ms(0, NemesisFault::Partition(PartitionShape::Halves)), at_ms(600, NemesisFault::Heal)];
    // Roomy, for a loaded machine: the retrying node converges within a few resends of the heal.
    config.settle = Duration::from_millis(1500);
    run(node, &config, "broadcast").expect("run")
}

#[test]
fn broadcast_without_faults_passes_with_a_naive_node_and_reports_stable_latency() {
    let (_dir, node) = python_handler(NAIVE_BROADCAST);
    let mut config = config(5, 20, timed(5, 100.0, 600));
    config.network.latency = Latency::Constant(Duration::from_millis(5));
    config.settle = Duration::from_millis(200);
    let result = run(&node, &config, "broadcast").expect("run");
    assert!(result.validity.valid, "{}", result.summary());
    let metrics = result.metrics();
    assert!(metrics["acknowledged"] > 0.0 && metrics["lost"] == 0.0, "{metrics:?}");
    assert!(metrics["stable-latency-max-ms"] >= metrics["stable-latency-p50-ms"], "{metrics:?}");
    assert!(metrics["msgs-per-op-servers"] > 0.0, "gossip between nodes is counted");
    let finals = result.history.ops().iter().filter(|op| op.phase == harness_phase_final()).count();
    assert_eq!(finals, 10, "one final read per node, invoke and reply");
}

fn harness_phase_final() -> takehome::run::protocol::history::OpPhase {
    takehome::run::protocol::history::OpPhase::Final
}

#[test]
fn a_partition_breaks_a_broadcast_that_never_retries() {
    let (_dir, node) = python_handler(NAIVE_BROADCAST);
    let result = partitioned_broadcast(&node);
    assert!(!result.validity.valid, "{}", result.summary());
    assert!(result.metrics()["missing"] > 0.0);
    let problem = &result.validity.problems[0];
    assert!(problem.text.contains("is missing from the final read on"), "{problem}");
    let ops = result.history.ops();
    let kinds: Vec<&str> = problem.ops.iter().map(|&i| ops[i].f.as_str()).collect();
    assert_eq!(
        kinds,
        ["broadcast", "broadcast", "read", "read"],
        "the broadcast, its ok, the final read and its reply"
    );
}

#[test]
fn a_partition_does_not_break_a_broadcast_that_retries() {
    let (_dir, node) = python_handler(RETRYING_BROADCAST);
    let result = partitioned_broadcast(&node);
    assert!(result.validity.valid, "{}", result.summary());
    let partitions = result.trace.iter().filter(|e| matches!(e.kind, NetEventKind::Partition { .. })).count();
    assert_eq!(partitions, 1);
}

#[test]
fn a_replayed_seed_gives_the_identical_broadcast_trace() {
    let (_dir, node) = python_handler(NAIVE_BROADCAST);
    let replay = |seed: u64| {
        let load = Load {
            concurrency: 5,
            rate: None,
            duration: Duration::from_secs(120),
            max_ops: None,
            ops_per_client: Some(10),
            open_loop: false,
        };
        let mut config = config(5, seed, load);
        config.network.latency = Latency::Uniform { mean: Duration::from_millis(2) };
        config.settle = Duration::from_millis(100);
        // In a tree, gossip crosses each link once per message: the traffic per link is fixed by the requests.
        let mut workload = Broadcast::new(Topology::Tree(2));
        run_workload(&node, &config, &mut workload).expect("run")
    };
    let (first, again, other) = (replay(31), replay(31), replay(32));
    assert!(first.validity.valid, "{}", first.summary());
    let decisions = message_decisions(&first.trace);
    assert!(!decisions.is_empty());
    assert_eq!(decisions, message_decisions(&again.trace));
    assert_ne!(decisions, message_decisions(&other.trace));
}

#[test]
fn a_node_that_refuses_its_setup_request_is_reported() {
    let (_dir, node) = python_handler(
        "def on_request(request):\n    reply(request, {'type': 'error', 'code': 10, 'text': 'what topology?'})",
    );
    let error = run(&node, &config(2, 22, timed(1, 10.0, 100)), "broadcast").expect_err("setup refused");
    assert!(matches!(&error, HarnessError::Setup { request, .. } if request == "topology"), "{error}");
    assert!(error.to_string().contains("what topology?"), "{error}");
}

/// A g-counter node keeping its count in `counter.txt` in its working folder (or only in memory), and
/// noting each start in `starts.log`.
fn counter_node(persistent: bool) -> (tempfile::TempDir, NodeCommand) {
    let store = if persistent {
        "def load():\n    try:\n        return int(open('counter.txt').read())\n    except OSError:\n        return 0\n\
         def store(value):\n    open('counter.tmp', 'w').write(str(value))\n    os.replace('counter.tmp', 'counter.txt')\n"
    } else {
        "memory = [0]\ndef load():\n    return memory[0]\ndef store(value):\n    memory[0] = value\n"
    };
    let handler = format!(
        "import os\nopen('starts.log', 'a').write('start\\n')\n{store}\
         def on_request(request):\n    body = request['body']\n    if body['type'] == 'add':\n        \
         store(load() + body['delta'])\n        reply(request, {{'type': 'add_ok'}})\n    \
         elif body['type'] == 'read':\n        reply(request, {{'type': 'read_ok', 'value': load()}})"
    );
    let (dir, mut node) = python_handler(&handler);
    node.data = Some(dir.path().to_path_buf());
    (dir, node)
}

fn crashed_counter(node: &NodeCommand) -> RunResult {
    let mut config = config(1, 23, timed(2, 100.0, 1000));
    let crash = NemesisFault::Crash { node: Some("n0".into()), restart_after: Duration::from_millis(200) };
    config.schedule = vec![at_ms(300, crash)];
    config.settle = Duration::from_millis(100);
    run(node, &config, "g-counter").expect("run")
}

#[test]
fn a_crashed_node_restarts_with_its_data_folder_and_init_again() {
    let (dir, node) = counter_node(true);
    let result = crashed_counter(&node);
    assert!(result.validity.valid, "{}", result.summary());
    assert!(result.metrics()["acknowledged-sum"] > 0.0);
    let starts = std::fs::read_to_string(dir.path().join("n0/starts.log")).expect("starts noted");
    assert_eq!(starts.lines().count(), 2, "started, then restarted in the same folder");
    let events: Vec<&NetEventKind> = result.trace.iter().map(|e| &e.kind).collect();
    assert!(events.contains(&&NetEventKind::Crash { node: "n0".into() }), "{events:?}");
    assert!(events.contains(&&NetEventKind::Restart { node: "n0".into(), incarnation: 1 }), "{events:?}");
}

#[test]
fn a_crash_loses_the_adds_of_a_node_that_keeps_them_in_memory() {
    let (_dir, node) = counter_node(false);
    let result = crashed_counter(&node);
    assert!(!result.validity.valid, "{}", result.summary());
    assert!(result.validity.problems[0].text.contains("the final read on n0"), "{:?}", result.validity.problems);
}

#[test]
fn a_paused_node_resumes_and_its_requests_complete() {
    let mut config = config(2, 24, timed(2, 100.0, 800));
    let pause = NemesisFault::Pause { node: Some("n1".into()), resume_after: Duration::from_millis(300) };
    config.schedule = vec![at_ms(100, pause)];
    let result = run(&reference("echo"), &config, "echo").expect("run");
    assert!(result.validity.valid, "{}", result.summary());
    assert_eq!(result.stats.indefinite, 0, "a pause shorter than the request timeout only delays");
    let events: Vec<&NetEventKind> = result.trace.iter().map(|e| &e.kind).collect();
    assert!(events.contains(&&NetEventKind::Pause { node: "n1".into() }), "{events:?}");
    assert!(events.contains(&&NetEventKind::Resume { node: "n1".into() }), "{events:?}");
}

#[test]
fn a_schedule_naming_an_unknown_node_is_refused() {
    let mut config = config(2, 25, timed(1, 10.0, 100));
    config.schedule = vec![at_ms(0, NemesisFault::Partition(PartitionShape::Isolate(Some("n9".into()))))];
    let error = run(&shell_node("true"), &config, "echo").expect_err("no n9");
    assert!(matches!(error, HarnessError::Config(_)), "{error}");
}
