//! CPU time and resident memory of a process and its descendants, read from /proc; the processes seen on
//! the way are remembered (with their start times) so they can be killed later even once re-parented.

use std::collections::HashMap;
use std::time::Duration;

use super::reaper;

/// One look at a tree.
#[derive(Debug, Clone, Copy, Default)]
pub struct TreeUsage {
    pub cpu_time: Duration,
    pub rss: u64,
}

/// Sums CPU time and resident memory over `pid`'s tree, skipping the `wrapper_depth` levels above the
/// program (the first child and the namespace's init are the grader's code), and adds every process met
/// below `pid` to `seen`.
pub fn sample(pid: libc::pid_t, wrapper_depth: u32, seen: &mut HashMap<libc::pid_t, u64>) -> TreeUsage {
    let (ticks_per_second, page_size) = machine();
    let mut cpu_ticks = 0u64;
    let mut rss_pages = 0u64;
    for (member, depth) in reaper::tree_levels(pid) {
        if depth < wrapper_depth {
            continue;
        }
        if member != pid
            && let std::collections::hash_map::Entry::Vacant(entry) = seen.entry(member)
            && let Some(started) = reaper::start_time(member)
        {
            entry.insert(started);
        }
        if let Some((ticks, pages)) = read_stat(member) {
            cpu_ticks += ticks;
            rss_pages += pages;
        }
    }
    TreeUsage { cpu_time: Duration::from_secs_f64(cpu_ticks as f64 / ticks_per_second), rss: rss_pages * page_size }
}

/// (clock ticks per second, page size).
fn machine() -> (f64, u64) {
    static MACHINE: std::sync::OnceLock<(f64, u64)> = std::sync::OnceLock::new();
    *MACHINE.get_or_init(|| {
        // SAFETY: sysconf only reads configuration values.
        let (ticks, page) = unsafe { (libc::sysconf(libc::_SC_CLK_TCK), libc::sysconf(libc::_SC_PAGESIZE)) };
        (if ticks > 0 { ticks as f64 } else { 100.0 }, if page > 0 { page as u64 } else { 4096 })
    })
}

/// (utime + stime in clock ticks, resident pages) from /proc/<pid>/stat.
fn read_stat(pid: libc::pid_t) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let fields: Vec<&str> = text[text.rfind(')')? + 2..].split_whitespace().collect();
    // After the name: state is field 0, utime 11, stime 12, rss 21.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    let rss: u64 = fields.get(21)?.parse().ok()?;
    Some((utime + stime, rss))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grader_itself_has_resident_memory() {
        let mut seen = HashMap::new();
        let usage = sample(std::process::id() as libc::pid_t, 0, &mut seen);
        assert!(usage.rss > 0);
    }
}
