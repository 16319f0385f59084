//! A cgroup (v1 memory and pids controllers) per run, when the grader is root: a memory limit without
//! swap, a limit on processes and threads, the peak memory, and a way to find and kill every process of
//! the run, daemonised ones included.
//!
//! The child joins by writing "0" to `cgroup.procs` of each controller: precomputed paths, plain
//! open/write/close, so it is async-signal-safe between fork and exec.

use std::ffi::CString;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const MEMORY_ROOT: &str = "/sys/fs/cgroup/memory";
const PIDS_ROOT: &str = "/sys/fs/cgroup/pids";
/// Our folder under each controller; one subfolder per run.
const OURS: &str = "takehome";

/// Whether per-run cgroups can be made here (root, and both v1 controllers mounted and writable).
pub fn available() -> Result<(), String> {
    if !super::is_root() {
        return Err("the grader is not root (cgroup v1 needs it)".into());
    }
    for root in [MEMORY_ROOT, PIDS_ROOT] {
        let ours = Path::new(root).join(OURS);
        if !Path::new(root).join("cgroup.procs").exists() {
            return Err(format!("{root} is not a cgroup v1 controller"));
        }
        std::fs::create_dir_all(&ours).map_err(|e| format!("cannot create {}: {e}", ours.display()))?;
    }
    Ok(())
}

/// One run's cgroup in both controllers; removed (after killing what is left) on drop.
#[derive(Debug)]
pub struct RunGroup {
    memory: PathBuf,
    pids: PathBuf,
    /// `cgroup.procs` of each, for the child to join.
    pub join: [CString; 2],
}

impl RunGroup {
    /// Makes the cgroup with `memory` bytes (no swap beyond it) and at most `tasks` processes and threads.
    pub fn create(memory: Option<u64>, tasks: u64) -> io::Result<RunGroup> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!("{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let memory_dir = Path::new(MEMORY_ROOT).join(OURS).join(&name);
        let pids_dir = Path::new(PIDS_ROOT).join(OURS).join(&name);
        std::fs::create_dir(&memory_dir)?;
        if let Err(error) = std::fs::create_dir(&pids_dir) {
            let _ = std::fs::remove_dir(&memory_dir);
            return Err(error);
        }
        let procs = |dir: &Path| CString::new(dir.join("cgroup.procs").into_os_string().into_encoded_bytes());
        let group = RunGroup { join: [procs(&memory_dir)?, procs(&pids_dir)?], memory: memory_dir, pids: pids_dir };
        if let Some(memory) = memory {
            std::fs::write(group.memory.join("memory.limit_in_bytes"), memory.to_string())?;
            // Present only with swap accounting; without it there is no swap to account anyway.
            let _ = std::fs::write(group.memory.join("memory.memsw.limit_in_bytes"), memory.to_string());
        }
        std::fs::write(group.pids.join("pids.max"), tasks.to_string())?;
        Ok(group)
    }

    /// Whether the kernel's OOM killer acted in the group.
    pub fn oom_killed(&self) -> bool {
        let text = std::fs::read_to_string(self.memory.join("memory.oom_control")).unwrap_or_default();
        text.lines().any(|line| line.strip_prefix("oom_kill ").is_some_and(|n| n.trim() != "0"))
    }

    /// Kills every process in the group until none is left (a fork racing the kill is caught next round).
    pub fn kill_all(&self) {
        for _ in 0..100 {
            let pids = self.members();
            if pids.is_empty() {
                return;
            }
            for pid in pids {
                // SAFETY: kill has no memory effects; the pid is a member of our group.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
            super::reaper::reap_orphans();
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn members(&self) -> Vec<libc::pid_t> {
        std::fs::read_to_string(self.pids.join("cgroup.procs"))
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|pid| pid.parse().ok())
            .collect()
    }
}

impl Drop for RunGroup {
    fn drop(&mut self) {
        self.kill_all();
        // A killed process leaves its cgroup a moment after it dies.
        for dir in [&self.memory, &self.pids] {
            for _ in 0..50 {
                if std::fs::remove_dir(dir).is_ok() || !dir.exists() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }
}

#[cfg(test)]
fn read_number(path: &Path) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Joins the calling process to the cgroup whose `cgroup.procs` is `procs`. Async-signal-safe.
///
/// # Safety
/// To be called in a child between fork and exec, with a path made before the fork.
pub unsafe fn join(procs: &CString) -> io::Result<()> {
    // SAFETY: `procs` is a valid C string; "0" names the calling process.
    unsafe {
        let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let written = libc::write(fd, b"0".as_ptr().cast(), 1);
        libc::close(fd);
        if written != 1 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_limits_and_is_removed() {
        if available().is_err() {
            return;
        }
        let group = RunGroup::create(Some(64 << 20), 32).unwrap();
        assert_eq!(read_number(&group.pids.join("pids.max")), Some(32));
        assert_eq!(read_number(&group.memory.join("memory.limit_in_bytes")), Some(64 << 20));
        assert!(!group.oom_killed());
        let dirs = [group.memory.clone(), group.pids.clone()];
        drop(group);
        assert!(dirs.iter().all(|d| !d.exists()));
    }
}
