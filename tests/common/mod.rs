//! A small helper to run the real takehome binary in a temporary folder and look at what it did.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (where fixtures/ and challenges/ live).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(path: &str) -> PathBuf {
    repo().join("fixtures").join(path)
}

/// One run of takehome: arguments, a working folder and a private build cache.
pub struct Takehome {
    command: Command,
    pub temp: tempfile::TempDir,
}

impl Takehome {
    pub fn new() -> Self {
        let temp = tempfile::tempdir().expect("temp dir");
        let mut command = Command::new(env!("CARGO_BIN_EXE_takehome"));
        command
            .current_dir(temp.path())
            .env("TAKEHOME_CACHE_DIR", cache_dir())
            .env("NO_COLOR", "1")
            .env_remove("TAKEHOME_SEED")
            .env_remove("TAKEHOME_MIN_SCORE")
            .env_remove("TAKEHOME_JOBS");
        Takehome { command, temp }
    }

    pub fn args<I: IntoIterator<Item = S>, S: AsRef<std::ffi::OsStr>>(mut self, args: I) -> Self {
        self.command.args(args);
        self
    }

    pub fn current_dir(mut self, dir: &Path) -> Self {
        self.command.current_dir(dir);
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.command.env(key, value);
        self
    }

    pub fn run(mut self) -> Run {
        let output = self.command.output().expect("takehome runs");
        Run { output, temp: self.temp }
    }
}

pub struct Run {
    pub output: Output,
    pub temp: tempfile::TempDir,
}

impl Run {
    pub fn code(&self) -> i32 {
        self.output.status.code().expect("exit code")
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
    /// Asserts the exit code, showing both streams when it is wrong.
    pub fn expect_code(self, code: i32) -> Self {
        assert_eq!(self.code(), code, "exit code\n--- stdout\n{}\n--- stderr\n{}", self.stdout(), self.stderr());
        self
    }
    pub fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.temp.path().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }
    pub fn json(&self, name: &str) -> serde_json::Value {
        serde_json::from_str(&self.file(name)).expect("valid JSON")
    }
}

/// One build cache for all test runs, so each fixture is built once. It lives under /tmp rather than
/// target/: runs are dropped to `nobody` when the tests run as root, and a clone under /root is out of
/// nobody's reach (builds are keyed by content and toolchain, so sharing it is safe).
fn cache_dir() -> PathBuf {
    let user = std::env::var("USER").unwrap_or_else(|_| "user".into());
    std::env::temp_dir().join(format!("takehome-test-build-cache-{user}"))
}

/// The verdict of `group/case` in the first report of a JSON report set.
pub fn verdict(report: &serde_json::Value, group: &str, case: &str) -> String {
    let groups = report["reports"][0]["groups"].as_array().expect("groups");
    let group = groups.iter().find(|g| g["name"] == group).unwrap_or_else(|| panic!("no group {group}"));
    let case = group["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == case)
        .unwrap_or_else(|| panic!("no case {case}"));
    case["verdict"].as_str().unwrap().to_string()
}

/// Copies a folder, leaving out build output (`target/`).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create");
    for entry in std::fs::read_dir(from).expect("read").flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            if entry.file_name() != "target" {
                copy_dir(&entry.path(), &target);
            }
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Runs git in `dir` as a throwaway identity and returns its standard output; panics when it fails.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"])
        .args(args)
        .output()
        .expect("git runs");
    assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Processes other than this test whose command line names `marker` (every process of a run does when
/// its program or folder lives under `marker`).
pub fn processes_naming(marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) || name == std::process::id().to_string() {
            continue;
        }
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(marker) {
            found.push(format!("{name}: {cmdline}"));
        }
    }
    found
}
