//! Protocol challenges through the real binary: stages run in order and stop at the first failure,
//! each stage's verdict says why, the JSON report carries the figures, and each stage keeps its files.

mod common;

use common::{Takehome, fixture, repo, verdict};

fn python_reference(challenge: &str) -> std::path::PathBuf {
    repo().join("challenges").join(challenge).join("reference/python")
}

#[test]
fn a_passing_node_gets_every_stage_its_figures_and_its_files() {
    let artifacts = tempfile::tempdir().unwrap();
    let submission = python_reference("echo");
    let run = Takehome::new()
        .args(["test", "echo", "--seed", "5", "--format", "json", "--output", "report.json", "--format", "human"])
        .args(["--artifacts", &artifacts.path().display().to_string()])
        .current_dir(&submission)
        .run();
    assert_eq!(run.code(), 0, "{}\n{}", run.stdout(), run.stderr());
    let out = run.stdout();
    assert!(out.contains("single-node  10/10") && out.contains("many-nodes  10/10"), "{out}");
    assert!(out.contains("msgs-per-op all 2.00 · servers 0.00 · clients 2.00"), "{out}");
    let report_path = submission.join("report.json");
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    std::fs::remove_file(&report_path).unwrap();
    assert_eq!(verdict(&report, "single-node", "single-node"), "AC");
    let case = &report["reports"][0]["groups"][0]["cases"][0];
    assert_eq!(case["metrics"]["msgs-per-op-servers"], 0.0);
    assert!(case["metrics"]["requests"].as_f64().unwrap() > 0.0, "{case}");
    let folder = artifacts.path().join("python/single-node");
    assert_eq!(case["artifacts"].as_str(), Some(folder.to_str().unwrap()));
    for file in ["history.jsonl", "network.jsonl", "report.html", "n0.stderr.txt"] {
        assert!(folder.join(file).is_file(), "{file} missing in {}", folder.display());
    }
    let history = std::fs::read_to_string(folder.join("history.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(history.lines().next().unwrap()).unwrap();
    assert_eq!((first["type"].as_str(), first["f"].as_str()), (Some("invoke"), Some("echo")));
    let html = std::fs::read_to_string(folder.join("report.html")).unwrap();
    assert!(html.contains("<svg"), "the HTML report has no chart");
}

#[test]
fn a_log_line_on_stdout_fails_the_first_stage_and_skips_the_rest() {
    let run = Takehome::new()
        .args(["test", "echo", "--seed", "5", "--format", "json"])
        .current_dir(&fixture("submissions/protocol/echo-logs-to-stdout"))
        .run();
    assert_eq!(run.code(), 1, "{}\n{}", run.stdout(), run.stderr());
    let set: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(verdict(&set, "single-node", "single-node"), "WA");
    let report = &set["reports"][0];
    let reason = report["groups"][0]["cases"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("n0") && reason.contains("line 1"), "{reason}");
    assert_eq!(report["groups"][1]["skipped_because"], "stage `single-node` failed");
    assert_eq!(verdict(&set, "many-nodes", "many-nodes"), "SKIPPED");
    assert_eq!(report["score"], 0.0);
}

#[test]
fn a_crash_is_told_apart_from_an_init_timeout() {
    let crashed = Takehome::new()
        .args(["test", "echo", "--seed", "5"])
        .current_dir(&fixture("submissions/protocol/echo-crashes-on-init"))
        .run();
    assert_eq!(crashed.code(), 1);
    let out = crashed.stdout();
    assert!(out.contains("RE") && out.contains("node n0 crashed during init (exit code 1)"), "{out}");
    assert!(out.contains("Traceback"), "the node's stderr is not shown:\n{out}");
    let own_file = fixture("submissions/protocol/echo-crashes-on-init").join("main.py");
    assert!(out.contains(&own_file.display().to_string()), "the traceback names the build cache:\n{out}");

    let artifacts = tempfile::tempdir().unwrap();
    let silent = Takehome::new()
        .args(["test", "echo", "--seed", "5", "--artifacts", &artifacts.path().display().to_string()])
        .current_dir(&fixture("submissions/protocol/echo-never-inits"))
        .run();
    assert_eq!(silent.code(), 1);
    let out = silent.stdout();
    assert!(out.contains("TLE") && out.contains("init timed out after 5 s: n0 never answered init"), "{out}");
    assert!(out.contains("without flushing"), "no hint about flushing:\n{out}");
    // What was recorded before the failure is kept all the same.
    let folder = artifacts.path().join("echo-never-inits/single-node");
    assert!(out.contains(&format!("files: {}", folder.display())), "{out}");
    assert!(folder.join("n0.stderr.txt").is_file() && folder.join("report.html").is_file());
}

#[test]
fn a_stage_that_misses_a_figure_says_which_and_by_how_much() {
    let challenge = tempfile::tempdir().unwrap();
    std::fs::write(
        challenge.path().join("challenge.toml"),
        r#"id = "echo-strict"
title = "echo with an impossible bound"
kind = "protocol"
[protocol]
workload = "echo"
[[stage]]
name = "only"
duration = "1s"
rate = 20
[stage.expect]
msgs-per-op-clients = { at_most = 1.5 }
"#,
    )
    .unwrap();
    let run = Takehome::new()
        .args(["test", &challenge.path().display().to_string(), "--seed", "3"])
        .current_dir(&python_reference("echo"))
        .run();
    assert_eq!(run.code(), 1, "{}\n{}", run.stdout(), run.stderr());
    let out = run.stdout();
    assert!(out.contains("correct, but msgs-per-op-clients was 2, must be at most 1.5"), "{out}");
}

#[test]
fn a_broken_protocol_spec_names_the_stage_and_the_fault() {
    let challenge = tempfile::tempdir().unwrap();
    std::fs::write(
        challenge.path().join("challenge.toml"),
        "id = \"x\"\ntitle = \"x\"\nkind = \"protocol\"\n[protocol]\nworkload = \"brodcast\"\n[[stage]]\nname = \"a\"\n",
    )
    .unwrap();
    let run = Takehome::new().args(["test", &challenge.path().display().to_string()]).run();
    assert_eq!(run.code(), 2);
    let err = run.stderr();
    assert!(err.contains("challenge.toml") && err.contains("did you mean `broadcast`?"), "{err}");

    std::fs::write(
        challenge.path().join("challenge.toml"),
        "id = \"x\"\ntitle = \"x\"\nkind = \"protocol\"\n[protocol]\nworkload = \"echo\"\n\
         [[stage]]\nname = \"a\"\nnodes = 2\n[[stage.fault]]\nat = \"1s\"\ncrash = \"n2\"\n",
    )
    .unwrap();
    let run = Takehome::new().args(["test", &challenge.path().display().to_string()]).run();
    assert_eq!(run.code(), 2);
    let err = run.stderr();
    assert!(err.contains("stage `a`: the fault at 1 s: there is no node `n2`"), "{err}");
}

#[test]
fn a_bundled_protocol_challenge_validates_without_its_repository() {
    let elsewhere = tempfile::tempdir().unwrap();
    let run = Takehome::new().args(["validate", "unique-ids", "--seed", "9"]).current_dir(elsewhere.path()).run();
    assert_eq!(run.code(), 0, "{}\n{}", run.stdout(), run.stderr());
    let out = run.stdout();
    assert!(out.contains("note: 1 known-bad submission(s) are not bundled"), "{out}");
    assert!(out.contains("reference reference/python: 25/25 points"), "{out}");
    assert!(out.contains("challenge is valid"), "{out}");
}

#[test]
fn a_node_over_its_memory_limit_is_stopped_and_reported_as_such() {
    let challenge = tempfile::tempdir().unwrap();
    std::fs::write(
        challenge.path().join("challenge.toml"),
        "id = \"hog\"\ntitle = \"hog\"\nkind = \"protocol\"\n[protocol]\nworkload = \"echo\"\n\
         [limits]\nmemory = \"64MiB\"\n[[stage]]\nname = \"only\"\nduration = \"2s\"\nrate = 10\n",
    )
    .unwrap();
    let submission = tempfile::tempdir().unwrap();
    std::fs::write(
        submission.path().join("main.py"),
        "import json, sys\nhoard = []\nfor line in sys.stdin:\n    m = json.loads(line)\n    \
         hoard.append(bytearray(400 << 20))\n    b = {'type': 'init_ok', 'in_reply_to': m['body']['msg_id']}\n    \
         print(json.dumps({'src': 'n0', 'dest': m['src'], 'body': b}), flush=True)\n",
    )
    .unwrap();
    let run = Takehome::new()
        .args(["test", &challenge.path().display().to_string(), "--dir", &submission.path().display().to_string()])
        .run();
    assert_eq!(run.code(), 1, "{}\n{}", run.stdout(), run.stderr());
    let out = run.stdout();
    assert!(out.contains("MLE") && out.contains("node n0 went over its memory limit"), "{out}");
}

#[test]
fn a_duplicate_id_is_shown_with_the_two_requests_that_got_it() {
    let run = Takehome::new()
        .args(["test", "unique-ids", "--seed", "5"])
        .current_dir(&fixture("submissions/protocol/unique-ids-counter-only"))
        .run();
    assert_eq!(run.code(), 1, "{}\n{}", run.stdout(), run.stderr());
    let out = run.stdout();
    assert!(out.contains("single-node  5/5"), "one node alone cannot collide:\n{out}");
    assert!(out.contains("✗ WA") && out.contains("three-nodes") && out.contains("given twice"), "{out}");
    assert!(
        out.contains("\"type\":\"ok\"") && out.contains("generate_ok"),
        "the history entries are not shown:\n{out}"
    );
    assert!(out.contains("(the first 5 problems;"), "{out}");
    assert!(out.contains("skipped: stage `three-nodes` failed"), "{out}");
}

/// A challenge folder with the given stages of the echo workload, and beside them (in `node/`) a node
/// that takes 20 ms per request, one at a time: it serves 50 requests a second at most.
fn slow_echo_challenge(stages: &str) -> tempfile::TempDir {
    let folder = tempfile::tempdir().unwrap();
    let spec =
        format!("id = \"slow-echo\"\ntitle = \"t\"\nkind = \"protocol\"\n[protocol]\nworkload = \"echo\"\n{stages}");
    std::fs::write(folder.path().join("challenge.toml"), spec).unwrap();
    std::fs::write(folder.path().join("README.md"), "# slow echo\n").unwrap();
    let node = folder.path().join("node");
    std::fs::create_dir(&node).unwrap();
    std::fs::write(
        node.join("main.py"),
        "import json, sys, time\n\
         for line in sys.stdin:\n\
         \x20   m = json.loads(line); b = m['body']\n\
         \x20   if b['type'] == 'echo': time.sleep(0.02)\n\
         \x20   r = dict(b, type=b['type'] + '_ok', in_reply_to=b['msg_id'])\n\
         \x20   print(json.dumps({'src': m['dest'], 'dest': m['src'], 'body': r}), flush=True)\n",
    )
    .unwrap();
    folder
}

/// Runs `test` on the slow echo challenge; the JSON report.
fn test_slow_echo(folder: &tempfile::TempDir) -> serde_json::Value {
    let run = Takehome::new()
        .args(["test", &folder.path().display().to_string(), "--seed", "3", "--format", "json"])
        .current_dir(&folder.path().join("node"))
        .run();
    assert_eq!(run.code(), 0, "{}\n{}", run.stdout(), run.stderr());
    serde_json::from_str(&run.stdout()).unwrap()
}

/// Under 200 requests/s from one client, the slow node in a closed loop is sent a request when the client
/// is free and sees 20 ms; in an open loop every request keeps its schedule, so latencies count the
/// queueing the closed loop hides (coordinated omission).
#[test]
fn an_open_loop_counts_latency_from_each_request_s_schedule() {
    let stage = |name: &str, open_loop: bool| {
        format!(
            "[[stage]]\nname = \"{name}\"\npoints = 1\nduration = \"1s\"\nrate = 200\nconcurrency = 1\n\
             open_loop = {open_loop}\nsettle = \"10ms\"\n"
        )
    };
    let set = test_slow_echo(&slow_echo_challenge(&(stage("closed", false) + &stage("open", true))));
    let metric = |group: usize, name: &str| {
        set["reports"][0]["groups"][group]["cases"][0]["metrics"][name].as_f64().unwrap_or_else(|| panic!("{name}"))
    };
    assert_eq!((metric(0, "offered-rate"), metric(1, "offered-rate")), (200.0, 200.0));
    // The node serves 50/s whatever the loop: both achieve about that, far below what was offered.
    assert!(metric(0, "throughput") < 100.0 && metric(1, "throughput") < 100.0);
    // Closed: each request waits only for its own service. Open: request k, due at 5k ms, is sent when the
    // client is free at about 20k ms, so the median waits hundreds of milliseconds.
    let (closed, open) = (metric(0, "latency-p50-ms"), metric(1, "latency-p50-ms"));
    assert!(open > 5.0 * closed, "open-loop p50 {open} ms is not far above closed-loop p50 {closed} ms");
    assert!(metric(1, "latency-p999-ms") >= metric(1, "latency-p90-ms"));
}

/// A sweep runs the load at rising rates until one misses the latency target: the slow node keeps up at
/// 10/s and 25/s (a request every 100 and 40 ms, served in 20) and falls behind at 200/s.
#[test]
fn a_sweep_finds_the_highest_rate_that_meets_the_target() {
    let stage = "[[stage]]\nname = \"sweep\"\npoints = 1\nduration = \"1s\"\nconcurrency = 1\nsettle = \"10ms\"\n\
                 [stage.sweep]\nrates = [10, 25, 200, 400]\ntarget = { latency-p99-ms = { at_most = 150 } }\n\
                 [stage.expect]\nsweep-max-rate = { at_least = 25 }\n";
    let set = test_slow_echo(&slow_echo_challenge(stage));
    let case = &set["reports"][0]["groups"][0]["cases"][0];
    assert_eq!(case["verdict"], "AC", "{case}");
    assert_eq!(case["metrics"]["sweep-max-rate"], 25.0);
    // The last run is the one that missed: 200/s, not 400/s.
    assert_eq!(case["metrics"]["offered-rate"], 200.0);
    let notes = case["notes"].to_string();
    assert!(notes.contains("sweep: 10/s latency-p99-ms") && notes.contains("→ 25/s"), "{notes}");
}

/// `bench` on a protocol challenge runs only its benchmark stages (here the sweep), not the others.
#[test]
fn bench_runs_only_the_stages_that_measure_speed() {
    let stages = "[[stage]]\nname = \"plain\"\npoints = 1\nduration = \"1s\"\nrate = 10\nsettle = \"10ms\"\n\
                  [[stage]]\nname = \"sweep\"\npoints = 1\nduration = \"1s\"\nconcurrency = 1\nsettle = \"10ms\"\n\
                  [stage.sweep]\nrates = [10]\ntarget = { latency-p99-ms = { at_most = 150 } }\n";
    let folder = slow_echo_challenge(stages);
    let node = folder.path().join("node");
    let run = Takehome::new()
        .args(["bench", &folder.path().display().to_string(), &node.display().to_string(), "--format", "json"])
        .run();
    assert_eq!(run.code(), 0, "{}\n{}", run.stdout(), run.stderr());
    let set: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    let groups: Vec<&str> =
        set["reports"][0]["groups"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
    assert_eq!(groups, ["sweep"]);
    assert_eq!(set["reports"][0]["hidden_cases_not_run"], 0);

    let no_benchmarks = slow_echo_challenge("[[stage]]\nname = \"plain\"\nduration = \"1s\"\n");
    let refused = Takehome::new().args(["bench", &no_benchmarks.path().display().to_string()]).run();
    assert_eq!(refused.code(), 2);
    assert!(refused.stderr().contains("has no benchmarks (no stage has a [stage.sweep]"), "{}", refused.stderr());
}

/// A stage that answered right but missed a figure fails without skipping the next stage; a wrong answer
/// would have skipped it.
#[test]
fn a_missed_figure_does_not_stop_the_next_stage() {
    let stages = "[[stage]]\nname = \"fast\"\npoints = 1\nduration = \"1s\"\nrate = 10\nsettle = \"10ms\"\n\
                  [stage.expect]\nthroughput = { at_least = 1000000 }\n\
                  [[stage]]\nname = \"after\"\npoints = 1\nduration = \"1s\"\nrate = 10\nsettle = \"10ms\"\n";
    let folder = slow_echo_challenge(stages);
    let run = Takehome::new()
        .args(["test", &folder.path().display().to_string(), "--seed", "3", "--format", "json"])
        .current_dir(&folder.path().join("node"))
        .run();
    assert_eq!(run.code(), 1, "{}\n{}", run.stdout(), run.stderr());
    let set: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(verdict(&set, "fast", "fast"), "WA");
    let reason = set["reports"][0]["groups"][0]["cases"][0]["reason"].as_str().unwrap();
    assert!(reason.starts_with("correct, but throughput was"), "{reason}");
    assert_eq!(verdict(&set, "after", "after"), "AC");
}
