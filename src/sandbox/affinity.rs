//! Starts a run's processes on the CPU the grader spawns from (the first child and the namespace's init
//! stay there), and gives the program the grader's own CPU set back before it starts.
//!
//! A run through namespaces is a chain of processes (grader, first child, init, program) that each start
//! and wait for the next. Placed on another, idle CPU, each new process waits for that CPU to wake (on a
//! virtual machine, for the host to schedule it: a millisecond or more each time); on the CPU that just
//! went to sleep waiting for it, it starts at once. The wrappers only wait, so pinning them costs no
//! parallelism, and the program runs wherever the grader may.

/// A CPU set, as `sched_getaffinity` gives it.
#[derive(Clone, Copy)]
pub struct Mask(libc::cpu_set_t);

impl Mask {
    /// The calling thread's CPU set.
    pub fn current() -> Option<Mask> {
        // SAFETY: an all-zero cpu_set_t is a valid, empty set; the call writes at most its size.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            (libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) == 0).then_some(Mask(set))
        }
    }

    /// The set of CPU number `cpu` alone; `None` beyond what a set holds.
    pub fn only(cpu: usize) -> Option<Mask> {
        if cpu >= 8 * std::mem::size_of::<libc::cpu_set_t>() {
            return None;
        }
        // SAFETY: an all-zero cpu_set_t is a valid, empty set; `cpu` is within it (checked above).
        unsafe {
            let mut one: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(cpu, &mut one);
            Some(Mask(one))
        }
    }

    /// Applies the set to the calling thread. Async-signal-safe: one system call.
    pub fn apply(&self) -> bool {
        // SAFETY: the set is a valid cpu_set_t of the size we pass.
        unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &self.0) == 0 }
    }
}

/// While alive, the calling thread (and so what it forks) stays on the CPU it runs on now; the thread's
/// own set comes back on drop.
pub struct Pinned {
    saved: Mask,
}

/// The CPU the calling thread runs on now; `None` when the machine does not say.
pub fn current_cpu() -> Option<usize> {
    // SAFETY: sched_getcpu has no preconditions.
    usize::try_from(unsafe { libc::sched_getcpu() }).ok()
}

impl Pinned {
    /// Pins the calling thread to its current CPU; `None` when the machine does not say which it is.
    pub fn here() -> Option<Pinned> {
        Pinned::on(current_cpu()?)
    }

    /// Pins the calling thread to CPU number `cpu`.
    pub fn on(cpu: usize) -> Option<Pinned> {
        let saved = Mask::current()?;
        Mask::only(cpu)?.apply().then_some(Pinned { saved })
    }

    /// The set the thread had before, for the program to get back.
    pub fn saved(&self) -> Mask {
        self.saved
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        self.saved.apply();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinning_is_undone_on_drop() {
        let before = Mask::current().unwrap();
        let pinned = Pinned::here();
        if let Some(pinned) = pinned {
            let during = Mask::current().unwrap();
            // SAFETY: CPU_COUNT reads the set.
            assert_eq!(unsafe { libc::CPU_COUNT(&during.0) }, 1);
            drop(pinned);
        }
        // SAFETY: CPU_EQUAL reads both sets.
        assert!(unsafe { libc::CPU_EQUAL(&Mask::current().unwrap().0, &before.0) });
    }
}
