//! A grader that is not root, in a cgroup v2 group delegated to its user (what systemd's `Delegate=yes`
//! gives a scope): the real binary, as nobody, must move itself into a leaf, put each run into a group of
//! its own under its cgroup, kill a run's daemon with the run, and leave only groups its user can remove.
//! The test plays systemd: as root, it makes a folder in the unified hierarchy and hands it to nobody.

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{copy_dir, fixture, processes_naming, verdict};

const NOBODY: u32 = 65534;

/// Answers `pong` only from inside a group under `@RUNS@`, after starting a daemon that never ends.
const PROGRAM: &str = r#"import os, time
with open("/proc/self/cgroup") as f:
    group = next((line[3:].strip() for line in f if line.startswith("0::")), "")
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        for fd in (0, 1, 2):
            os.close(fd)
        while True:
            time.sleep(0.05)
    os._exit(0)
time.sleep(0.2)
print("pong" if group.startswith("@RUNS@/") else "outside the delegated folder: " + group)
"#;

fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Where the unified hierarchy is mounted, when it is, and shows its root group.
fn v2_mount() -> Option<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    mounts.lines().find_map(|line| {
        let (before, after) = line.split_once(" - ")?;
        let fields: Vec<&str> = before.split_whitespace().collect();
        (after.split_whitespace().next() == Some("cgroup2") && fields.get(3) == Some(&"/"))
            .then(|| fields.get(4).map(PathBuf::from))?
    })
}

/// A folder of the unified hierarchy handed to nobody as systemd delegates one; emptied and removed on
/// drop, whatever the test saw.
struct Delegated {
    folder: PathBuf,
    /// The folder's path as `/proc/<pid>/cgroup` names it.
    group: String,
}

impl Delegated {
    fn new(mount: &Path) -> Delegated {
        let name = format!("takehome-delegated-test-{}", std::process::id());
        let folder = mount.join(&name);
        std::fs::create_dir(&folder).unwrap_or_else(|e| panic!("creating {}: {e}", folder.display()));
        for file in ["", "cgroup.procs", "cgroup.subtree_control", "cgroup.threads"] {
            let path = folder.join(file);
            std::os::unix::fs::chown(&path, Some(NOBODY), Some(NOBODY))
                .unwrap_or_else(|e| panic!("handing {} to nobody: {e}", path.display()));
        }
        Delegated { folder, group: format!("/{name}") }
    }

    /// Every folder of the subtree, deepest first.
    fn folders(&self) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let mut stack = vec![self.folder.clone()];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for entry in entries.flatten() {
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    stack.push(entry.path());
                }
            }
            found.push(dir);
        }
        found.reverse();
        found
    }

    /// The processes in any group of the subtree.
    fn members(&self) -> Vec<String> {
        let mut members = Vec::new();
        for dir in self.folders() {
            let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
            members.extend(procs.split_whitespace().map(|pid| format!("{pid} in {}", dir.display())));
        }
        members
    }

    /// Removes the subtree, deepest first; a group a killed process is leaving may need a few tries.
    fn remove(&self) -> Result<(), String> {
        for dir in self.folders() {
            let mut tries = 0;
            while let Err(error) = std::fs::remove_dir(&dir) {
                tries += 1;
                if tries == 100 {
                    return Err(format!("cannot remove {}: {error}", dir.display()));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(())
    }
}

impl Drop for Delegated {
    fn drop(&mut self) {
        if self.folder.exists() {
            // Whatever the test left running there (cgroup.kill takes the whole subtree).
            let _ = std::fs::write(self.folder.join("cgroup.kill"), "1");
            let _ = self.remove();
        }
    }
}

/// Waits (a few seconds at most) until `left` finds nothing, and returns what it found last.
fn once_gone(left: impl Fn() -> Vec<String>) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut found = left();
    while !found.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        found = left();
    }
    found
}

#[test]
fn a_grader_that_is_not_root_puts_its_runs_in_its_delegated_cgroup() {
    if !is_root() {
        eprintln!("skipped: only root can delegate a cgroup to nobody");
        return;
    }
    let Some(mount) = v2_mount() else {
        eprintln!("skipped: no cgroup v2 hierarchy is mounted");
        return;
    };
    let delegated = Delegated::new(&mount);

    // Everything nobody needs, in a folder of nobody's: the binary, the challenge, the submission.
    let arena = tempfile::Builder::new().prefix("takehome-delegated-").tempdir().unwrap();
    let path = |name: &str| arena.path().join(name);
    for dir in ["sub", "report", "home", "cache"] {
        std::fs::create_dir(path(dir)).unwrap();
    }
    copy_dir(&fixture("hostile/challenge"), &path("challenge"));
    std::fs::copy(env!("CARGO_BIN_EXE_takehome"), path("takehome")).unwrap();
    let runs = format!("{}/takehome", delegated.group);
    std::fs::write(path("sub/main.py"), PROGRAM.replace("@RUNS@", &runs)).unwrap();
    let status = Command::new("chown").args(["-R", "65534:65534"]).arg(arena.path()).status().unwrap();
    assert!(status.success());

    // As systemd starts a scope: the first process joins the group, then becomes the grader, as nobody.
    let grader = Command::new("sh")
        .args(["-c", r#"echo $$ > "$1" && shift && exec "$@""#, "sh"])
        .arg(delegated.folder.join("cgroup.procs"))
        .args(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(path("takehome"))
        .arg("test")
        .arg(path("challenge"))
        .arg("--dir")
        .arg(path("sub"))
        .args(["--seed", "1", "-j", "1", "--format", "json", "--output"])
        .arg(path("report/report.json"))
        .current_dir(path("report"))
        .env("HOME", path("home"))
        .env("TAKEHOME_CACHE_DIR", path("cache"))
        // As hostile.rs's nobody: no user namespaces (so no PID namespace to catch the daemon either).
        .env("TAKEHOME_SANDBOX_DISABLE", "userns")
        .env("NO_COLOR", "1")
        .env_remove("TAKEHOME_CGROUP")
        .env_remove("TAKEHOME_SEED")
        .env_remove("TAKEHOME_JOBS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the grader starts");
    let grader_pid = grader.id();
    let output = grader.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report_text = std::fs::read_to_string(path("report/report.json")).unwrap_or_default();
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "the grader did not finish normally ({:?})\n--- stdout\n{}\n--- stderr\n{stderr}",
        output.status,
        String::from_utf8_lossy(&output.stdout)
    );
    let report: serde_json::Value =
        serde_json::from_str(&report_text).unwrap_or_else(|e| panic!("no JSON report ({e})\n--- stderr\n{stderr}"));

    let sandbox = report["reports"][0]["sandbox"].as_str().unwrap_or_default();
    let cgroup = sandbox.split_whitespace().find(|layer| layer.starts_with("cgroup=")).unwrap_or_default();
    assert!(cgroup == "cgroup=v2" || cgroup.starts_with("cgroup=v2-"), "{sandbox}\n--- stderr\n{stderr}");
    assert!(sandbox.contains("user=self"), "the grader ran as nobody: {sandbox}");
    assert!(!stderr.contains("cgroups are off"), "{stderr}");
    // `pong` only from a run inside our folder's groups.
    assert_eq!(verdict(&report, "public", "ping"), "AC", "{report_text}");

    // The grader left its own group for a leaf, and its runs had groups of their own beside it (pooled
    // groups outlive the grader, named after it).
    assert!(delegated.folder.join("grader").is_dir(), "the grader did not move into a leaf");
    let prefix = format!("{grader_pid}-");
    let groups: Vec<String> = std::fs::read_dir(delegated.folder.join("takehome"))
        .map(|entries| entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    assert!(groups.iter().any(|name| name.starts_with(&prefix)), "no run group of the grader: {groups:?}");

    let left = once_gone(|| processes_naming(&arena.path().display().to_string()));
    assert!(left.is_empty(), "processes of the run remain: {left:?}");
    let members = once_gone(|| delegated.members());
    assert!(members.is_empty(), "processes remain in the delegated groups: {members:?}");
    // Every group the grader made, whose user is nobody, can go once the grader has ended.
    for dir in delegated.folders().iter().filter(|dir| **dir != delegated.folder) {
        let owner = std::fs::metadata(dir).map(|m| m.uid()).unwrap_or_default();
        assert_eq!(owner, NOBODY, "{} is not the grader's user's", dir.display());
    }
    delegated.remove().unwrap();
    assert!(!delegated.folder.exists());

    // Give the arena back, so the temporary folder can be removed.
    let _ = Command::new("chown").args(["-R", "0:0"]).arg(arena.path()).status();
}
