//! The bundled protocol challenges' reference nodes pass their workloads through the harness, faults
//! included, and each known-bad node in fixtures/submissions/protocol fails the way its README says.
//! Python references only (they need no build); the Rust references are checked to build offline.
//! Timeouts here only bound hangs; nothing asserts on timing.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::copy_dir;
use takehome::run::protocol::harness::{self, HarnessConfig, HarnessError, Load, Nemesis, Phase, RunResult};
use takehome::run::protocol::network::Latency;
use takehome::run::protocol::node::NodeCommand;
use takehome::run::protocol::workloads::{self, Workload};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn python(script: PathBuf) -> NodeCommand {
    assert!(script.is_file(), "{} is missing", script.display());
    NodeCommand::new("python3", [script])
}

fn reference(challenge: &str) -> NodeCommand {
    python(repo().join("challenges").join(challenge).join("reference/python/main.py"))
}

fn known_bad(name: &str) -> NodeCommand {
    python(repo().join("fixtures/submissions/protocol").join(name).join("main.py"))
}

fn config(nodes: usize, seed: u64, load: Load) -> HarnessConfig {
    let mut config = HarnessConfig::new(nodes, seed);
    // Generous: a loaded CI machine may be slow to start Python; these only bound hangs.
    config.init_timeout = Duration::from_secs(60);
    config.request_timeout = Duration::from_secs(30);
    // The references converge within a few gossip ticks of 200 ms once the network heals.
    config.settle = Duration::from_secs(1);
    config.load = load;
    config
}

/// `rate` requests per second for `seconds`, from `concurrency` clients.
fn steady(concurrency: usize, rate: f64, seconds: f64) -> Load {
    Load {
        concurrency,
        rate: Some(rate),
        duration: Duration::from_secs_f64(seconds),
        max_ops: None,
        ops_per_client: None,
        open_loop: false,
    }
}

fn with_partitions(mut config: HarnessConfig, every_ms: u64) -> HarnessConfig {
    config.nemesis = Nemesis::Partitions { every: Duration::from_millis(every_ms) };
    config
}

fn run(command: &NodeCommand, config: &HarnessConfig, workload: &str) -> Result<RunResult, HarnessError> {
    let mut workload: Box<dyn Workload> = workloads::by_name(workload).expect("workload");
    let result = harness::run(command, config, workload.as_mut()).map_err(|failure| failure.error);
    match &result {
        Ok(result) => println!("{workload}: {}", result.summary(), workload = workload.name()),
        Err(error) => println!("{}: {error}", workload.name()),
    }
    result
}

fn assert_valid(result: &RunResult) {
    assert!(result.validity.valid, "{:#?}", result.validity);
    assert!(result.stats.ok > 0, "{}", result.summary());
}

fn assert_invalid(result: &RunResult) {
    assert!(!result.validity.valid, "expected an invalid history: {:#?}", result.validity);
}

#[test]
fn echo_reference_passes_on_one_node() {
    let result = run(&reference("echo"), &config(1, 11, steady(2, 200.0, 1.0)), "echo").expect("run");
    assert_valid(&result);
}

#[test]
fn unique_ids_reference_stays_unique_through_partitions() {
    let config = with_partitions(config(3, 12, steady(6, 200.0, 2.0)), 300);
    assert_valid(&run(&reference("unique-ids"), &config, "unique-ids").expect("run"));
}

#[test]
fn unique_ids_from_a_bare_counter_collide_across_nodes() {
    let result = run(&known_bad("unique-ids-counter-only"), &config(2, 13, steady(4, 200.0, 1.0)), "unique-ids");
    let result = result.expect("run");
    assert_invalid(&result);
    assert!(result.validity.problems.iter().any(|p| p.text.contains("given twice")), "{:#?}", result.validity);
}

#[test]
fn broadcast_reference_reaches_every_node_through_partitions_and_latency() {
    let mut config = with_partitions(config(5, 14, steady(5, 40.0, 3.0)), 500);
    config.network.latency = Latency::Constant(Duration::from_millis(20));
    assert_valid(&run(&reference("broadcast"), &config, "broadcast").expect("run"));
}

#[test]
fn broadcast_that_never_gossips_leaves_other_nodes_without_the_messages() {
    let result = run(&known_bad("broadcast-never-gossips"), &config(3, 15, steady(3, 40.0, 1.0)), "broadcast");
    assert_invalid(&result.expect("run"));
}

#[test]
fn broadcast_that_floods_is_correct_but_sends_far_more_messages_than_the_reference() {
    let load = || steady(5, 50.0, 2.0);
    let flooding = run(&known_bad("broadcast-floods"), &config(5, 16, load()), "broadcast").expect("run");
    let reference = run(&reference("broadcast"), &config(5, 16, load()), "broadcast").expect("run");
    assert_valid(&flooding);
    assert_valid(&reference);
    let servers = |result: &RunResult| result.metrics().get("msgs-per-op-servers").copied().unwrap_or(f64::NAN);
    assert!(
        servers(&flooding) > 3.0 * servers(&reference),
        "flooding {} vs reference {} server messages per op",
        servers(&flooding),
        servers(&reference)
    );
}

#[test]
fn g_counter_reference_converges_after_partitions() {
    let mut config = with_partitions(config(3, 17, steady(3, 50.0, 3.0)), 400);
    config.network.latency = Latency::Constant(Duration::from_millis(10));
    assert_valid(&run(&reference("g-counter"), &config, "g-counter").expect("run"));
}

#[test]
fn g_counter_that_sends_each_delta_once_loses_adds_under_partitions() {
    let config = with_partitions(config(3, 18, steady(3, 50.0, 3.0)), 300);
    let result = run(&known_bad("g-counter-loses-adds-under-partition"), &config, "g-counter").expect("run");
    assert_invalid(&result);
}

#[test]
fn a_log_line_on_stdout_is_reported_as_malformed_output() {
    let error = run(&known_bad("echo-logs-to-stdout"), &config(1, 19, steady(1, 50.0, 1.0)), "echo")
        .expect_err("a log line on stdout must fail the run");
    let HarnessError::Malformed(line) = &error else { panic!("expected a malformed line, got {error}") };
    assert!(line.line.starts_with("received echo request"), "{error}");
}

#[test]
fn a_node_that_raises_on_init_is_reported_as_crashed_with_its_traceback() {
    let error = run(&known_bad("echo-crashes-on-init"), &config(1, 20, steady(1, 50.0, 1.0)), "echo")
        .expect_err("a crash must fail the run");
    let HarnessError::NodeCrashed { phase, stderr_tail, .. } = &error else { panic!("expected a crash, got {error}") };
    assert_eq!(*phase, Phase::Init, "{error}");
    assert!(stderr_tail.contains("KeyError"), "{error}");
}

#[test]
fn a_node_that_never_answers_init_is_reported_as_an_init_time_out() {
    let mut config = config(1, 21, steady(1, 50.0, 1.0));
    config.init_timeout = Duration::from_secs(2);
    let error = run(&known_bad("echo-never-inits"), &config, "echo").expect_err("no init_ok must fail the run");
    assert!(matches!(error, HarnessError::InitTimedOut { .. }), "expected an init time-out, got {error}");
}

/// Whether cargo's registry cache holds a serde_json crate (the Rust references' only dependency).
fn serde_json_is_cached() -> bool {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")));
    let Some(cache) = cargo_home.map(|home| home.join("registry/cache")) else { return false };
    std::fs::read_dir(cache).into_iter().flatten().flatten().any(|registry| {
        std::fs::read_dir(registry.path())
            .into_iter()
            .flatten()
            .flatten()
            .any(|crate_file| crate_file.file_name().to_string_lossy().starts_with("serde_json-1."))
    })
}

#[test]
fn rust_references_build_offline_and_echo_passes() {
    if !serde_json_is_cached() {
        eprintln!("skipped: serde_json is not in cargo's registry cache, so the Rust references cannot build offline");
        return;
    }
    let scratch = tempfile::tempdir().expect("temp dir");
    // One target folder for all four, so serde_json is compiled once.
    let target = scratch.path().join("target");
    for challenge in ["echo", "unique-ids", "broadcast", "g-counter"] {
        let copy = scratch.path().join(challenge);
        copy_dir(&repo().join("challenges").join(challenge).join("reference/rust"), &copy);
        let output = std::process::Command::new("cargo")
            .args(["build", "--release", "--offline", "--quiet"])
            .env("CARGO_TARGET_DIR", &target)
            .current_dir(&copy)
            .output()
            .expect("run cargo");
        assert!(output.status.success(), "{challenge}: {}", String::from_utf8_lossy(&output.stderr));
        assert!(target.join("release").join(challenge).is_file(), "{challenge}: no binary");
    }
    let echo = NodeCommand::new(target.join("release/echo"), Vec::<String>::new());
    assert_valid(&run(&echo, &config(1, 22, steady(4, 500.0, 1.0)), "echo").expect("run"));
}
