//! Median wall time of launching /bin/true: bare, through takehome's sandbox at each tier, and through
//! `bwrap --unshare-all` when installed. Prints a table. Each tier runs in a fresh copy of this program
//! (the sandbox probes its layers once per process), with `TAKEHOME_SANDBOX_DISABLE` choosing the tier.
//!
//! `cargo bench --bench sandbox_launch` (or scripts/bench-sandbox.sh); `-- --runs N` to change the count.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use takehome::sandbox::{self, Confinement, Input, RunLimits, RunPlan};

const TIERS: [(&str, &str, bool); 5] = [
    // (name, layers turned off, confined)
    ("sandbox: rlimits, session, reaper (trusted)", "landlock,seccomp,userns,cgroup", false),
    ("sandbox: + landlock + seccomp", "userns,cgroup", true),
    ("sandbox: + cgroup v1 (root)", "userns", true),
    ("sandbox: + namespaces (full)", "", true),
    ("sandbox: namespaces, no cgroup", "cgroup", true),
];

fn main() {
    sandbox::namespaces::enter_or_enable();
    let args: Vec<String> = std::env::args().collect();
    let runs = args.iter().position(|a| a == "--runs").and_then(|i| args.get(i + 1)?.parse().ok()).unwrap_or(300);
    if let Some(index) = args.iter().position(|a| a == "--tier") {
        let confined = args.get(index + 1).is_some_and(|c| c == "confined");
        let median = median_of(runs, || launch_sandboxed(confined));
        println!("{} {}", median.as_nanos(), sandbox::describe_layers());
        return;
    }
    let bare = median_of(runs, || {
        let status = Command::new("/bin/true").stdout(Stdio::null()).status().expect("/bin/true runs");
        assert!(status.success());
    });
    println!("launching /bin/true, median of {runs} runs");
    println!("{:<46} {:>10} {:>10}  layers", "tier", "median", "over bare");
    row("bare spawn (std::process::Command)", bare, bare, "");
    for (name, disabled, confined) in TIERS {
        let exe = std::env::current_exe().expect("own path");
        let output = Command::new(exe)
            .args(["--tier", if confined { "confined" } else { "trusted" }, "--runs", &runs.to_string()])
            .env(sandbox::probe::DISABLE_VAR, disabled)
            .output()
            .expect("tier runs");
        let text = String::from_utf8_lossy(&output.stdout);
        let Some((nanos, layers)) = text.trim().split_once(' ') else {
            println!("{name:<46} failed: {}", String::from_utf8_lossy(&output.stderr));
            continue;
        };
        let median = Duration::from_nanos(nanos.parse().unwrap_or(0));
        row(name, median, bare, layers);
    }
    if Command::new("bwrap").arg("--version").output().is_ok_and(|o| o.status.success()) {
        let bwrap = median_of(runs, || {
            let status = Command::new("bwrap")
                .args(["--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev"])
                .arg("/bin/true")
                .stdout(Stdio::null())
                .status()
                .expect("bwrap runs");
            assert!(status.success());
        });
        row("bwrap --unshare-all", bwrap, bare, "");
    } else {
        println!("bwrap: not installed");
    }
}

fn row(name: &str, median: Duration, bare: Duration, layers: &str) {
    let over = median.as_secs_f64() - bare.as_secs_f64();
    println!("{name:<46} {:>7.3} ms {:>+7.3} ms  {layers}", median.as_secs_f64() * 1e3, over * 1e3);
}

fn median_of(runs: usize, mut launch: impl FnMut()) -> Duration {
    for _ in 0..runs.min(20) {
        launch();
    }
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            launch();
            started.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn launch_sandboxed(confined: bool) {
    let workdir = std::env::temp_dir();
    let plan = RunPlan {
        program: "/bin/true".into(),
        args: Vec::new(),
        cwd: workdir.clone(),
        env: vec![("PATH".into(), "/usr/bin:/bin".into()), ("HOME".into(), workdir.clone().into())],
        stdin: Input::Null,
        limits: RunLimits { memory: Some(256 << 20), cpu_time: Some(Duration::from_secs(2)), ..RunLimits::default() },
        drop_privileges: true,
        confine: confined.then(|| Confinement::run(PathBuf::from("/nonexistent"))),
    };
    let outcome = sandbox::run(&plan).expect("the sandbox runs /bin/true");
    assert!(outcome.success(), "{outcome:?}");
}
