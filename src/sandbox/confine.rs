//! Turns a [`Confinement`] into what the child applies: a Landlock ruleset descriptor, seccomp programs,
//! a cgroup to join, a process limit, and whether to go into namespaces. All of it is
//! made here, in the grader, before the fork.

use std::ffi::{CString, OsString};
use std::io;
use std::os::fd::{OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use super::cgroup::RunGroup;
use super::probe::Layers;
use super::{Confinement, RunLimits, landlock, namespaces, seccomp};

/// Environment variables naming toolchain folders a build reads.
const TOOLCHAIN_VARS: [&str; 5] = ["CARGO_HOME", "RUSTUP_HOME", "JAVA_HOME", "GOROOT", "GOPATH"];

/// The cgroup memory limit sits this far above the polled limit: the poller names the limit, the cgroup
/// stops what allocates faster than the poller looks.
const CGROUP_MEMORY_SLACK: u64 = 32 << 20;

/// Everything a confined child needs, ready before the fork.
pub struct Prepared {
    pub landlock: Option<OwnedFd>,
    pub seccomp: Option<&'static [seccomp::Instruction]>,
    pub cgroup: Option<RunGroup>,
    /// RLIMIT_NPROC for the child, when neither a cgroup (with the pids controller) nor a user namespace
    /// counts its processes.
    pub nproc: Option<u64>,
    /// Go into fresh namespaces.
    pub namespaces: bool,
    /// The folders the process may write (Landlock's), for a run as root to keep the rest read-only.
    pub writable: Vec<PathBuf>,
}

impl Prepared {
    pub fn new(
        confinement: &Confinement,
        layers: &Layers,
        cwd: &Path,
        env: &[(OsString, OsString)],
        needs: &Needs,
    ) -> io::Result<Prepared> {
        let Needs { limits, run_as, freezer } = *needs;
        let access = access(confinement, cwd, env);
        let landlock = if layers.landlock_abi > 0 { landlock::ruleset(&access)? } else { None };
        let seccomp = if layers.seccomp { seccomp::filter(confinement.network) } else { None };
        let cgroup = if layers.cgroup {
            let memory = limits.memory.map(|m| m.saturating_add(CGROUP_MEMORY_SLACK));
            Some(RunGroup::create(memory, confinement.tasks, freezer)?)
        } else {
            None
        };
        let namespaces = goes_through_namespaces(confinement, layers);
        let nproc = if cgroup.as_ref().is_some_and(RunGroup::limits_tasks) || namespaces {
            None
        } else {
            // RLIMIT_NPROC counts every task of the user: leave room for those already running.
            let uid = run_as.unwrap_or_else(current_uid);
            Some(tasks_of(uid) + confinement.tasks)
        };
        Ok(Prepared { landlock, seccomp, cgroup, nproc, namespaces, writable: access.write })
    }

    /// The values the child's pre-exec code reads (plain data, cheap to copy into the closure).
    pub fn for_child(&self) -> ChildSide {
        ChildSide {
            landlock: landlock::raw(self.landlock.as_ref()),
            seccomp: self.seccomp,
            cgroup: self.cgroup.as_ref().map(|g| g.join.clone()),
            nproc: self.nproc,
            namespaces: self.namespaces,
        }
    }
}

/// Whether a run so confined gets namespaces of its own. Builds that need the network keep the host's
/// network namespace: they go without namespaces.
pub fn goes_through_namespaces(confinement: &Confinement, layers: &Layers) -> bool {
    layers.namespaces && !confinement.network && namespaces::enabled()
}

/// What a run asks of its confinement besides the [`Confinement`] itself.
#[derive(Clone, Copy)]
pub struct Needs<'a> {
    pub limits: &'a RunLimits,
    /// The unprivileged user the run switches to, if any.
    pub run_as: Option<u32>,
    /// A cgroup freezer, to pause a long-lived process (where the machine has one).
    pub freezer: bool,
}

/// What the closure between fork and exec owns.
pub struct ChildSide {
    pub landlock: Option<RawFd>,
    pub seccomp: Option<&'static [seccomp::Instruction]>,
    pub cgroup: Option<Vec<CString>>,
    pub nproc: Option<u64>,
    /// The layers after the cgroup and rlimits are applied inside the namespaces.
    pub namespaces: bool,
}

impl ChildSide {
    /// Nothing beyond the always-on layer (trusted helpers).
    pub fn unconfined() -> ChildSide {
        ChildSide { landlock: None, seccomp: None, cgroup: None, nproc: None, namespaces: false }
    }
}

fn access(confinement: &Confinement, cwd: &Path, env: &[(OsString, OsString)]) -> landlock::Access {
    let var = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).filter(|v| !v.is_empty());
    let mut read = confinement.read.clone();
    if let Some(path) = var("PATH") {
        read.extend(landlock::toolchain_roots(&path));
    }
    read.extend(TOOLCHAIN_VARS.iter().filter_map(|name| var(name)).map(PathBuf::from));
    let mut write = vec![cwd.to_path_buf()];
    write.extend(["HOME", "TMPDIR"].iter().filter_map(|name| var(name)).map(PathBuf::from));
    write.extend(confinement.write.iter().cloned());
    landlock::Access { read, write, network: confinement.network }
}

fn current_uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

/// Tasks of `uid`, counted at most once a second (a scan of /proc costs milliseconds), with room for the
/// runs that start meanwhile.
fn tasks_of(uid: u32) -> u64 {
    static CACHE: std::sync::Mutex<Option<(std::time::Instant, u32, u64)>> = std::sync::Mutex::new(None);
    let mut cache = CACHE.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((at, cached_uid, count)) = *cache
        && cached_uid == uid
        && at.elapsed() < std::time::Duration::from_secs(1)
    {
        return count;
    }
    let count = count_tasks(uid) + super::DEFAULT_TASKS;
    *cache = Some((std::time::Instant::now(), uid, count));
    count
}

/// Tasks (processes and threads) of `uid` now, as RLIMIT_NPROC counts them.
fn count_tasks(uid: u32) -> u64 {
    let Ok(entries) = std::fs::read_dir("/proc") else { return 0 };
    let mut total = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_str().is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit())) {
            continue;
        }
        let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else { continue };
        let field = |key: &str| status.lines().find_map(|l| l.strip_prefix(key)).map(str::split_whitespace);
        let real_uid = field("Uid:").and_then(|mut f| f.next()).and_then(|u| u.parse::<u32>().ok());
        if real_uid == Some(uid) {
            total += field("Threads:").and_then(|mut f| f.next()).and_then(|t| t.parse::<u64>().ok()).unwrap_or(1);
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_covers_the_workdir_home_tmpdir_and_toolchains() {
        let env: Vec<(OsString, OsString)> = vec![
            ("PATH".into(), "/opt/rust/.cargo/bin:/usr/bin".into()),
            ("HOME".into(), "/w".into()),
            ("TMPDIR".into(), "/w/.tmp".into()),
            ("RUSTUP_HOME".into(), "/opt/rust/.rustup".into()),
        ];
        let access = access(&Confinement::run("/cache/b".into()), Path::new("/w"), &env);
        assert!(access.read.contains(&PathBuf::from("/cache/b")));
        assert!(access.read.contains(&PathBuf::from("/opt/rust/.cargo")));
        assert!(access.read.contains(&PathBuf::from("/opt/rust/.rustup")));
        assert_eq!(access.write, vec![PathBuf::from("/w"), PathBuf::from("/w"), PathBuf::from("/w/.tmp")]);
        assert!(!access.network);
    }

    #[test]
    fn the_grader_counts_among_its_users_tasks() {
        assert!(count_tasks(current_uid()) >= 1);
    }
}
