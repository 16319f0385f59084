//! Hostile submissions against the real binary: one program per behaviour (fixtures/hostile/programs,
//! each file's header says the verdict and what contains it). For each, the test checks the verdict, that
//! the grader survives and writes its JSON report, that nothing outside the run's folder changed, that no
//! process of the run remains, and that no secret (the hidden answer, the grader's environment, its ssh
//! key) appears in any output. As root, every case runs twice: as root (runs dropped to `nobody`, cgroups)
//! and with the whole grader dropped to `nobody` by setpriv (the unprivileged path).

mod common;

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::net::TcpListener;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{fixture, processes_naming, verdict};

const HIDDEN_ANSWER: &str = "TAKEHOME-HIDDEN-ANSWER-5be0c4d1";
const ENV_SECRET: &str = "TAKEHOME-ENV-SECRET-8d21f7";
const SSH_SECRET: &str = "TAKEHOME-SSH-SECRET-c93e02";

#[derive(Clone, Copy, PartialEq)]
enum As {
    /// The test's own user (root in CI containers: runs are dropped to nobody).
    Me,
    /// The whole grader as nobody, through setpriv, without user namespaces (as on Ubuntu 24.04 runners,
    /// where AppArmor forbids them): the Landlock, seccomp and subreaper path.
    Nobody,
    /// As root, with runs in the unified cgroup hierarchy (v2) rather than v1, on a machine with both.
    CgroupV2,
}

/// Everything one run of the grader touches, in a folder of its own.
struct Arena {
    root: tempfile::TempDir,
    listener: TcpListener,
}

impl Arena {
    fn new() -> Arena {
        let root = tempfile::Builder::new().prefix("takehome-hostile-").tempdir().unwrap();
        // World-writable on purpose: only the sandbox, not file permissions, may stop the writes.
        for dir in ["", "sub", "outside", "home/.ssh", "cache", "report"] {
            let path = root.path().join(dir);
            std::fs::create_dir_all(&path).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777)).unwrap();
        }
        let key = root.path().join("home/.ssh/id_ed25519");
        std::fs::write(&key, format!("-----BEGIN KEY----- {SSH_SECRET}\n")).unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        Arena { root, listener }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    fn fill_in(&self, text: &str, challenge: &Path) -> String {
        text.replace("@CHALLENGE@", &challenge.display().to_string())
            .replace("@OUTSIDE@", &self.path("outside").display().to_string())
            .replace("@GRADER_HOME@", &self.path("home").display().to_string())
            .replace("@PORT@", &self.listener.local_addr().unwrap().port().to_string())
    }

    /// Puts the program into `sub/` as a submission the grader detects.
    fn submit(&self, program: &str, challenge: &Path) {
        let source = std::fs::read_to_string(fixture("hostile/programs").join(program)).unwrap();
        let text = self.fill_in(&source, challenge);
        let sub = self.path("sub");
        match Path::new(program).extension().and_then(|e| e.to_str()) {
            Some("py") => std::fs::write(sub.join("main.py"), text).unwrap(),
            Some("c") => std::fs::write(sub.join("main.c"), text).unwrap(),
            Some("sh") => {
                std::fs::write(sub.join("build.sh"), text).unwrap();
                std::fs::write(sub.join("takehome.toml"), "build = \"sh build.sh\"\nrun = \"python3 main.py\"\n")
                    .unwrap();
            }
            _ => panic!("unknown kind of program: {program}"),
        }
    }

    fn hand_to_nobody(&self) {
        let status = Command::new("chown").args(["-R", "65534:65534"]).arg(self.root.path()).status().unwrap();
        assert!(status.success());
        // The outside folder stays the test's: the grader must not be able to change it either way.
        std::os::unix::fs::chown(self.path("outside"), Some(0), Some(0)).unwrap();
    }
}

/// What the grader left: exit code, streams and the JSON report.
struct Graded {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    report_text: String,
    report: serde_json::Value,
}

fn grade(arena: &Arena, challenge: &Path, who: As) -> Graded {
    let binary = std::path::PathBuf::from(env!("CARGO_BIN_EXE_takehome"));
    let mut command = if who == As::Nobody {
        let mut command = Command::new("setpriv");
        command.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]).arg(reachable_by_nobody(&binary));
        command.env("TAKEHOME_SANDBOX_DISABLE", "userns");
        command
    } else {
        let mut command = Command::new(binary);
        command.env_remove("TAKEHOME_SANDBOX_DISABLE");
        if who == As::CgroupV2 {
            command.env(takehome::sandbox::CGROUP_PREFERENCE_VAR, "v2");
        } else {
            command.env_remove(takehome::sandbox::CGROUP_PREFERENCE_VAR);
        }
        command
    };
    let report = arena.path("report/report.json");
    command
        .arg("test")
        .arg(challenge)
        .arg("--dir")
        .arg(arena.path("sub"))
        .args(["--seed", "1", "-j", "1", "--format", "json", "--output"])
        .arg(&report)
        .current_dir(arena.path("report"))
        .env("HOME", arena.path("home"))
        .env("TAKEHOME_CACHE_DIR", arena.path("cache"))
        .env("TAKEHOME_TEST_SECRET", ENV_SECRET)
        .env("NO_COLOR", "1")
        .env_remove("TAKEHOME_SEED")
        .env_remove("TAKEHOME_JOBS");
    let output = command.output().expect("the grader starts");
    let report_text = std::fs::read_to_string(&report).unwrap_or_default();
    let graded = Graded {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        report: serde_json::from_str(&report_text).unwrap_or(serde_json::Value::Null),
        report_text,
    };
    assert!(
        matches!(graded.code, Some(0 | 1)),
        "the grader did not finish normally ({:?})\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        graded.stdout,
        graded.stderr
    );
    assert!(!graded.report.is_null(), "no JSON report\n--- stderr\n{}", graded.stderr);
    let sandbox = graded.report["reports"][0]["sandbox"].as_str().unwrap_or_default();
    assert!(sandbox.contains("landlock="), "the report names no sandbox layers: {sandbox}");
    if who == As::Nobody {
        assert!(sandbox.contains("userns=off") && sandbox.contains("user=self"), "{sandbox}");
    }
    if who == As::CgroupV2 {
        assert!(sandbox.contains("cgroup=v2"), "{sandbox}");
    }
    graded
}

/// Path -> (size, mode, modified) of everything under `dir`.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (u64, u32, i64)> {
    let mut seen = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&current) else { continue };
        seen.insert(current.clone(), (meta.len(), meta.mode(), meta.mtime()));
        if meta.is_dir() {
            for entry in std::fs::read_dir(&current).unwrap().flatten() {
                stack.push(entry.path());
            }
        }
    }
    seen
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// `path` itself when nobody can reach it; otherwise (a clone under /root, say) a copy in a folder of
/// this test process's own under /tmp.
fn reachable_by_nobody(path: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let reachable =
        path.ancestors().skip(1).all(|dir| std::fs::metadata(dir).is_ok_and(|m| m.permissions().mode() & 0o001 != 0));
    if reachable {
        return path.to_path_buf();
    }
    // Tests run on several threads: one copy at a time.
    static COPYING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = COPYING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = std::env::temp_dir().join(format!("takehome-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let copy = dir.join(path.file_name().unwrap());
    if !copy.exists() {
        let status = Command::new("cp").arg("-a").arg(path).arg(&copy).status().unwrap();
        assert!(status.success(), "copying {} for nobody", path.display());
    }
    copy
}

fn setpriv_available() -> bool {
    Command::new("setpriv").arg("--version").output().is_ok_and(|o| o.status.success())
}

/// The modes to run in: always as ourselves; when we are root, as nobody too, and in cgroup v2 where
/// the machine also has it.
fn modes() -> Vec<As> {
    let mut modes = vec![As::Me];
    if is_root() && setpriv_available() {
        modes.push(As::Nobody);
    }
    let cgroup2 = std::fs::read_to_string("/proc/self/mountinfo").is_ok_and(|m| m.contains(" - cgroup2 "));
    if is_root() && cgroup2 {
        modes.push(As::CgroupV2);
    }
    modes
}

/// Escape targets outside any arena, shared by the programs that write outside.
const SHARED_TARGETS: [&str; 3] =
    ["/tmp/takehome-hostile-escaped", "/var/tmp/takehome-hostile-escaped", "/tmp/takehome-hostile-escaped-by-build"];

/// Runs `program` against the challenge in every mode and checks everything the suite promises.
fn contained(program: &str, challenge: &str, verdicts: &[&str]) {
    let challenge_dir = reachable_by_nobody(&fixture("hostile").join(challenge));
    let case = if challenge == "challenge-file" { "file" } else { "ping" };
    for who in modes() {
        let arena = Arena::new();
        arena.submit(program, &challenge_dir);
        if who == As::Nobody {
            arena.hand_to_nobody();
        }
        let watched = [challenge_dir.clone(), arena.path("outside"), arena.path("home"), fixture("hostile/programs")];
        let before: Vec<_> = watched.iter().map(|dir| snapshot(dir)).collect();
        let root_before = std::fs::read_dir(arena.root.path()).unwrap().count();

        let graded = grade(&arena, &challenge_dir, who);
        let mode = match who {
            As::Me => "as the test's user",
            As::Nobody => "as nobody",
            As::CgroupV2 => "in cgroup v2",
        };
        let context = format!("{program} ({mode})");
        let got = verdict(&graded.report, "public", case);
        assert!(
            verdicts.contains(&got.as_str()),
            "{context}: verdict {got}, expected one of {verdicts:?}\n{}",
            graded.report_text
        );

        for (dir, before) in watched.iter().zip(&before) {
            assert_eq!(&snapshot(dir), before, "{context}: {} changed", dir.display());
        }
        assert_eq!(
            std::fs::read_dir(arena.root.path()).unwrap().count(),
            root_before,
            "{context}: new file in the arena"
        );
        for target in SHARED_TARGETS {
            assert!(!Path::new(target).exists(), "{context}: {target} was written");
        }
        match arena.listener.accept() {
            Err(error) if error.kind() == ErrorKind::WouldBlock => {}
            other => panic!("{context}: the loopback listener was reached: {other:?}"),
        }

        let marker = arena.root.path().display().to_string();
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut left = processes_naming(&marker);
        while !left.is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
            left = processes_naming(&marker);
        }
        assert!(left.is_empty(), "{context}: processes of the run remain: {left:?}");

        for secret in [HIDDEN_ANSWER, ENV_SECRET, SSH_SECRET] {
            for (name, text) in
                [("stdout", &graded.stdout), ("stderr", &graded.stderr), ("report", &graded.report_text)]
            {
                assert!(!text.contains(secret), "{context}: {secret} leaked into the {name}:\n{text}");
            }
        }
        if who == As::Nobody {
            // The arena is nobody's now; give it back so the temporary folder can be removed.
            let _ = Command::new("chown").args(["-R", "0:0"]).arg(arena.root.path()).status();
        }
    }
}

#[test]
fn fork_bomb() {
    // Whichever limit the swarm reaches first stops it: tasks (RE: fork fails), CPU or wall time (TLE),
    // or the memory of the whole process tree (MLE). What matters is the containment checked below.
    contained("fork_bomb.c", "challenge", &["TLE", "RE", "MLE"]);
}

#[test]
fn memory_hog() {
    contained("memory_hog.py", "challenge", &["MLE"]);
}

#[test]
fn busy_loop() {
    contained("busy_loop.py", "challenge", &["TLE"]);
}

#[test]
fn sleep_forever() {
    contained("sleep_forever.py", "challenge", &["TLE"]);
}

#[test]
fn reads_stdin_forever() {
    contained("stdin_forever.py", "challenge", &["TLE"]);
}

#[test]
fn ten_gigabytes_to_stdout() {
    contained("flood_stdout.py", "challenge", &["OLE"]);
}

#[test]
fn fills_the_disk() {
    contained("fill_disk.c", "challenge", &["OLE", "TLE", "MLE"]);
}

#[test]
fn creates_a_million_files() {
    contained("million_files.py", "challenge", &["TLE", "AC", "RE"]);
}

#[test]
fn writes_outside_the_workdir() {
    contained("write_outside.py", "challenge", &["AC"]);
}

#[test]
fn reads_the_hidden_answer_by_its_path() {
    contained("read_answer.py", "challenge", &["AC"]);
}

#[test]
fn reads_ssh_keys_and_the_graders_environment() {
    contained("read_secrets.py", "challenge", &["AC"]);
}

#[test]
fn connects_to_loopback_and_outside() {
    contained("connect.py", "challenge", &["AC"]);
}

#[test]
fn daemon_does_not_outlive_the_run() {
    contained("daemon.py", "challenge", &["AC"]);
}

#[test]
fn opens_a_hundred_thousand_descriptors() {
    contained("many_fds.py", "challenge", &["AC"]);
}

#[test]
fn signals_the_grader() {
    contained("signal_grader.py", "challenge", &["AC", "RE"]);
}

#[test]
fn ptraces_the_grader() {
    contained("ptrace_grader.py", "challenge", &["AC"]);
}

#[test]
fn symlink_where_the_output_file_should_be() {
    contained("symlink_output.py", "challenge-file", &["WA"]);
}

#[test]
fn build_script_attacks_while_building() {
    contained("build_script.sh", "challenge", &["AC"]);
}

#[test]
fn reports_name_the_sandbox_layers() {
    let arena = Arena::new();
    let challenge = fixture("hostile/challenge");
    std::fs::write(arena.path("sub/main.py"), "print('pong')\n").unwrap();
    let graded = grade(&arena, &challenge, As::Me);
    let sandbox = graded.report["reports"][0]["sandbox"].as_str().unwrap_or_default().to_string();
    assert!(sandbox.contains("landlock=") && sandbox.contains("seccomp="), "{}", graded.report_text);
    assert_eq!(verdict(&graded.report, "public", "ping"), "AC");
}
