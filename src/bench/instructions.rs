//! Instructions retired, through perf_event_open: a secondary figure beside time, nearly free of noise
//! (about ±0.1% run to run) where the kernel and the CPU allow it. When they do not, the reason is
//! reported instead ("unavailable: ...").
//!
//! The counter watches the grader's measuring thread with `inherit`, so it counts the whole process
//! tree a run forks, in user space only, plus the grader's own supervising loop of that run (a small,
//! near-constant share that both sides pay alike).

use perf_event::Builder;
use perf_event::events::Hardware;

/// A counter of user-space instructions, ready to wrap runs.
pub struct InstructionCounter {
    counter: perf_event::Counter,
}

impl std::fmt::Debug for InstructionCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InstructionCounter")
    }
}

impl InstructionCounter {
    /// Opens the counter on the calling thread, or says why it cannot be.
    pub fn open() -> Result<Self, String> {
        let mut builder = Builder::new(Hardware::INSTRUCTIONS);
        builder.observe_self().any_cpu().inherit(true).exclude_kernel(true).exclude_hv(true).enabled(false);
        builder.build().map(|counter| InstructionCounter { counter }).map_err(|error| explain(&error, paranoid_level()))
    }

    /// Runs `work` with the counter on; the count is `None` when reading it failed.
    pub fn count<T>(&mut self, work: impl FnOnce() -> T) -> (T, Option<u64>) {
        let ready = self.counter.reset().and_then(|()| self.counter.enable()).is_ok();
        let result = work();
        let count = ready.then(|| self.counter.disable().and_then(|()| self.counter.read()).ok()).flatten();
        (result, count)
    }
}

fn paranoid_level() -> Option<i32> {
    std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid").ok()?.trim().parse().ok()
}

/// Why perf_event_open refused, in words.
fn explain(error: &std::io::Error, paranoid: Option<i32>) -> String {
    let paranoid = paranoid.map_or_else(|| "unknown".to_string(), |level| level.to_string());
    match error.raw_os_error() {
        Some(libc::ENOENT | libc::EOPNOTSUPP) => {
            "this CPU exposes no hardware instruction counter (usual in virtual machines and containers)".into()
        }
        Some(libc::EACCES | libc::EPERM) => format!(
            "the kernel does not allow it (perf_event_paranoid is {paranoid}; 1 or less, or CAP_PERFMON, is needed)"
        ),
        Some(libc::ENOSYS) => "this kernel has no perf_event_open".into(),
        _ => format!("perf_event_open failed: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_explained_in_words() {
        let missing = explain(&std::io::Error::from_raw_os_error(libc::ENOENT), Some(2));
        assert!(missing.contains("no hardware instruction counter"), "{missing}");
        let denied = explain(&std::io::Error::from_raw_os_error(libc::EACCES), Some(2));
        assert!(denied.contains("perf_event_paranoid is 2"), "{denied}");
        let other = explain(&std::io::Error::from_raw_os_error(libc::EINVAL), None);
        assert!(other.starts_with("perf_event_open failed"), "{other}");
    }

    #[test]
    fn opening_either_counts_or_says_why_not() {
        match InstructionCounter::open() {
            Ok(mut counter) => {
                let (value, count) = counter.count(|| (0..1000u64).sum::<u64>());
                assert_eq!(value, 499_500);
                assert!(count.is_some_and(|n| n > 0));
            }
            Err(why) => assert!(!why.is_empty()),
        }
    }
}
