//! Nothing of a run outlives it: the grader is a child subreaper, so a process that daemonises (setsid and
//! a double fork) is re-parented to the grader instead of init, and is killed and reaped when a run ends.
//!
//! Several runs happen at once in different threads, and other code of the grader may have children of
//! its own, so an orphan is recognised by a mark only sandboxed processes carry: `no_new_privs` (set by
//! the sandbox for every run) or more seccomp filters than the grader has. Run leaders are registered
//! while they live, and spawning holds the same lock as sweeping, so a leader is never taken for an orphan.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

static LEADERS: Mutex<Vec<libc::pid_t>> = Mutex::new(Vec::new());

/// Children that are ending (killed, or done with their work) and are reaped by the next sweeps rather
/// than waited for.
static ENDING: Mutex<Vec<Ending>> = Mutex::new(Vec::new());

/// A child that is ending, with what must outlive it.
type Ending = (libc::pid_t, Option<Box<dyn Send>>);

/// Makes the grader a child subreaper. Returns whether that worked.
pub fn become_subreaper() -> bool {
    // SAFETY: the prctl only sets a flag on the calling process.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0 }
}

/// Held while a run is spawned and registered, and while orphans are swept.
pub struct Registry(MutexGuard<'static, Vec<libc::pid_t>>);

pub fn lock() -> Registry {
    Registry(LEADERS.lock().unwrap_or_else(PoisonError::into_inner))
}

impl Registry {
    pub fn register(&mut self, leader: libc::pid_t) {
        self.0.push(leader);
    }
}

/// Forgets a leader once it has been reaped.
pub fn unregister(leader: libc::pid_t) {
    lock().0.retain(|&pid| pid != leader);
}

/// Leaves a child that is ending to the next sweeps, which reap it once it has ended (and do not take it
/// for an orphan meanwhile), and only then drop `held` (what must outlive the child).
pub fn reap_later(child: libc::pid_t, held: Option<Box<dyn Send>>) {
    ENDING.lock().unwrap_or_else(PoisonError::into_inner).push((child, held));
}

/// Reaps the ending children that have ended; returns those still ending.
pub fn reap_ended() -> Vec<libc::pid_t> {
    let mut ending = ENDING.lock().unwrap_or_else(PoisonError::into_inner);
    ending.retain(|(pid, _)| {
        let mut status = 0;
        // SAFETY: waitpid on a child of ours; writes only `status`.
        unsafe { libc::waitpid(*pid, &mut status, libc::WNOHANG) == 0 }
    });
    ending.iter().map(|(pid, _)| *pid).collect()
}

/// The grader's own marks, read once: (no_new_privs, seccomp filters).
fn own_marks() -> (bool, u32) {
    static OWN: OnceLock<(bool, u32)> = OnceLock::new();
    *OWN.get_or_init(|| marks(std::process::id() as libc::pid_t).unwrap_or((false, 0)))
}

fn marks(pid: libc::pid_t) -> Option<(bool, u32)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status.lines().find_map(|line| line.strip_prefix(name)).and_then(|value| value.trim().parse::<u32>().ok())
    };
    Some((field("NoNewPrivs:") == Some(1), field("Seccomp_filters:").unwrap_or(0)))
}

/// Whether `pid` carries the mark of a sandboxed process.
fn is_sandboxed(pid: libc::pid_t) -> bool {
    let (own_nnp, own_filters) = own_marks();
    marks(pid).is_some_and(|(nnp, filters)| (nnp && !own_nnp) || filters > own_filters)
}

/// The grader's direct children (each thread forks its own; orphans land on any thread).
fn own_children() -> Vec<libc::pid_t> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return Vec::new() };
    let mut children = Vec::new();
    for task in tasks.flatten() {
        let Ok(text) = std::fs::read_to_string(task.path().join("children")) else { continue };
        children.extend(text.split_whitespace().filter_map(|pid| pid.parse::<libc::pid_t>().ok()));
    }
    children
}

/// `pid` and its descendants, through /proc/<pid>/task/<tid>/children.
pub fn tree(pid: libc::pid_t) -> Vec<libc::pid_t> {
    tree_levels(pid).into_iter().map(|(pid, _)| pid).collect()
}

/// [`tree`] with each process's depth below `pid` (0 for `pid` itself).
pub fn tree_levels(pid: libc::pid_t) -> Vec<(libc::pid_t, u32)> {
    let mut all = vec![(pid, 0)];
    let mut index = 0;
    while index < all.len() && all.len() < 65536 {
        let (current, depth) = all[index];
        index += 1;
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{current}/task")) else { continue };
        for task in tasks.flatten() {
            let Ok(children) = std::fs::read_to_string(task.path().join("children")) else { continue };
            all.extend(
                children.split_whitespace().filter_map(|c| c.parse::<libc::pid_t>().ok()).map(|c| (c, depth + 1)),
            );
        }
    }
    all
}

/// The start time of `pid` (clock ticks since boot), which tells a process from a later one with its pid.
pub fn start_time(pid: libc::pid_t) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    text[text.rfind(')')? + 2..].split_whitespace().nth(19)?.parse().ok()
}

fn kill(pid: libc::pid_t) {
    // SAFETY: kill has no memory effects.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
}

/// Kills the processes a run was seen to have, when they are still the same processes.
pub fn kill_seen(seen: &HashMap<libc::pid_t, u64>) {
    for (&pid, &started) in seen {
        if start_time(pid) == Some(started) {
            kill(pid);
        }
    }
}

/// Kills every sandboxed orphan re-parented to the grader, with its descendants, and reaps them. Repeats
/// while killing frees new orphans (the grandchild of a double fork appears once its parent dies).
pub fn reap_orphans() {
    let mut registry = lock();
    let mut killed: HashSet<libc::pid_t> = HashSet::new();
    for round in 0..20 {
        let ending = reap_ended();
        let orphans: Vec<libc::pid_t> = own_children()
            .into_iter()
            .filter(|pid| !registry.0.contains(pid) && !ending.contains(pid))
            .filter(|pid| killed.contains(pid) || is_sandboxed(*pid))
            .collect();
        if orphans.is_empty() {
            break;
        }
        for &orphan in &orphans {
            // Descendants first, so none is left running while its parent dies.
            for pid in tree(orphan).into_iter().rev() {
                kill(pid);
            }
            killed.insert(orphan);
        }
        for &orphan in &orphans {
            let mut status = 0;
            // SAFETY: waitpid on a child of ours that is no run's leader; writes only `status`.
            unsafe {
                libc::waitpid(orphan, &mut status, libc::WNOHANG);
            }
        }
        if round > 0 {
            drop(registry);
            std::thread::sleep(Duration::from_millis(1));
            registry = lock();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grader_itself_is_not_marked() {
        assert!(!is_sandboxed(std::process::id() as libc::pid_t));
        assert!(start_time(std::process::id() as libc::pid_t).is_some());
    }

    #[test]
    fn tree_starts_with_the_process() {
        let me = std::process::id() as libc::pid_t;
        assert_eq!(tree(me)[0], me);
    }
}
