//! Median wall time of launching /bin/true: bare, through takehome's sandbox at each tier, and through
//! `bwrap --unshare-all` when installed. Prints a table. Each tier runs in a fresh copy of this program
//! (the sandbox probes its layers once per process), with `TAKEHOME_SANDBOX_DISABLE` choosing the tier.
//! The tiers take turns in rounds, so a machine that gets busier or quieter during the bench shifts every
//! row alike rather than the rows measured last.
//!
//! `cargo bench --bench sandbox_launch` (or scripts/bench-sandbox.sh); `-- --runs N` to change the count.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use takehome::sandbox::{self, Confinement, Input, RunLimits, RunPlan, Scratch};

const TIERS: [(&str, &str, &str); 7] = [
    // (name, layers turned off, what the run is: trusted, confined, or a case run with a tmpfs, whose
    // folder holds only an empty `.tmp` (inputs on stdin) or also an input file)
    ("sandbox: rlimits, session, reaper (trusted)", "landlock,seccomp,userns,cgroup", "trusted"),
    ("sandbox: + landlock + seccomp", "userns,cgroup", "confined"),
    ("sandbox: + cgroup v1 (root)", "userns", "confined"),
    ("sandbox: + namespaces (full)", "", "confined"),
    ("sandbox: + tmpfs working folder (case runs)", "", "scratch"),
    ("sandbox: + tmpfs over input files (case runs)", "", "layered"),
    ("sandbox: namespaces, no cgroup", "cgroup", "confined"),
];

const ROUNDS: usize = 10;

fn main() {
    sandbox::namespaces::enable();
    let args: Vec<String> = std::env::args().collect();
    let runs = args.iter().position(|a| a == "--runs").and_then(|i| args.get(i + 1)?.parse().ok()).unwrap_or(300);
    if let Some(index) = args.iter().position(|a| a == "--tier") {
        let kind = args.get(index + 1).cloned().unwrap_or_default();
        let case_folder = (kind == "scratch" || kind == "layered").then(|| case_folder(kind == "layered"));
        let workdir = case_folder.as_ref().map_or_else(std::env::temp_dir, |f| f.path().to_path_buf());
        let times = measure(runs, || launch_sandboxed(&kind, &workdir));
        let nanos: Vec<String> = times.iter().map(|t| t.as_nanos().to_string()).collect();
        println!("{}", nanos.join(","));
        println!("{}", sandbox::describe_layers());
        return;
    }
    let per_round = runs.div_ceil(ROUNDS).max(1);
    let bwrap = Command::new("bwrap").arg("--version").output().is_ok_and(|o| o.status.success());
    let mut bare = Vec::new();
    let mut bwrapped = Vec::new();
    let mut tiers: Vec<(Vec<Duration>, String, String)> =
        TIERS.iter().map(|_| (Vec::new(), String::new(), String::new())).collect();
    for _ in 0..ROUNDS {
        bare.extend(measure(per_round, launch_bare));
        for ((_, disabled, kind), (times, layers, failure)) in TIERS.iter().zip(tiers.iter_mut()) {
            let exe = std::env::current_exe().expect("own path");
            let mut command = Command::new(exe);
            command.args(["--tier", kind, "--runs", &per_round.to_string()]);
            let output = command.env(sandbox::probe::DISABLE_VAR, disabled).output().expect("tier runs");
            let text = String::from_utf8_lossy(&output.stdout);
            let mut lines = text.lines();
            let parsed: Option<Vec<Duration>> = lines
                .next()
                .map(|line| line.split(',').filter_map(|n| n.parse().ok()).map(Duration::from_nanos).collect());
            match parsed.filter(|t| !t.is_empty()) {
                Some(measured) => {
                    times.extend(measured);
                    *layers = lines.next().unwrap_or_default().to_string();
                }
                None => *failure = String::from_utf8_lossy(&output.stderr).into_owned(),
            }
        }
        if bwrap {
            bwrapped.extend(measure(per_round, launch_bwrap));
        }
    }
    let bare = median(&mut bare);
    println!("launching /bin/true, median of {} runs in {ROUNDS} rounds", per_round * ROUNDS);
    println!("{:<46} {:>10} {:>10}  layers", "tier", "median", "over bare");
    row("bare spawn (std::process::Command)", bare, bare, "");
    for ((name, _, _), (mut times, layers, failure)) in TIERS.iter().zip(tiers) {
        if times.is_empty() {
            println!("{name:<46} failed: {failure}");
        } else {
            row(name, median(&mut times), bare, &layers);
        }
    }
    if bwrap {
        row("bwrap --unshare-all", median(&mut bwrapped), bare, "");
    } else {
        println!("bwrap: not installed");
    }
}

fn row(name: &str, median: Duration, bare: Duration, layers: &str) {
    let over = median.as_secs_f64() - bare.as_secs_f64();
    println!("{name:<46} {:>7.3} ms {:>+7.3} ms  {layers}", median.as_secs_f64() * 1e3, over * 1e3);
}

fn measure(runs: usize, mut launch: impl FnMut()) -> Vec<Duration> {
    for _ in 0..runs.min(5) {
        launch();
    }
    (0..runs)
        .map(|_| {
            let started = Instant::now();
            launch();
            started.elapsed()
        })
        .collect()
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

fn launch_bare() {
    let status = Command::new("/bin/true").stdout(Stdio::null()).status().expect("/bin/true runs");
    assert!(status.success());
}

fn launch_bwrap() {
    let status = Command::new("bwrap")
        .args(["--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev"])
        .arg("/bin/true")
        .stdout(Stdio::null())
        .status()
        .expect("bwrap runs");
    assert!(status.success());
}

fn launch_sandboxed(kind: &str, workdir: &std::path::Path) {
    let workdir = workdir.to_path_buf();
    let plan = RunPlan {
        program: "/bin/true".into(),
        args: Vec::new(),
        cwd: workdir.clone(),
        env: vec![("PATH".into(), "/usr/bin:/bin".into()), ("HOME".into(), workdir.clone().into())],
        stdin: Input::Null,
        limits: RunLimits { memory: Some(256 << 20), cpu_time: Some(Duration::from_secs(2)), ..RunLimits::default() },
        drop_privileges: true,
        confine: (kind != "trusted").then(|| Confinement {
            scratch: (kind == "scratch" || kind == "layered").then_some(Scratch { bytes: 64 << 20, inodes: 4096 }),
            ..Confinement::run(PathBuf::from("/nonexistent"))
        }),
    };
    let outcome = sandbox::run(&plan).expect("the sandbox runs /bin/true");
    assert!(outcome.success(), "{outcome:?}");
}

/// A case run's folder, handed to the run's user: an empty `.tmp`, and an input file when `with_input`.
fn case_folder(with_input: bool) -> tempfile::TempDir {
    let folder = tempfile::tempdir().expect("a temporary folder");
    std::fs::create_dir(folder.path().join(".tmp")).expect("its .tmp");
    if with_input {
        std::fs::write(folder.path().join("input.txt"), "1 2\n").expect("an input file");
    }
    sandbox::hand_over(&folder.path().join(".tmp")).expect("handed over");
    sandbox::hand_over_folder(folder.path()).expect("handed over");
    folder
}
