//! The machine as a shared resource. Timing work (benchmarks, a protocol challenge's benchmark stages)
//! has it to itself; everything else (builds, cases, other stages) shares it. Grading many submissions in
//! parallel then never disturbs a measurement.
//!
//! Never take one guard while holding another on the same thread: the lock is not reentrant.

use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

static MACHINE: RwLock<()> = RwLock::new(());

/// Held while doing work that may run beside other work (a build, a case, a stage that measures nothing).
pub fn shared() -> RwLockReadGuard<'static, ()> {
    MACHINE.read().unwrap_or_else(PoisonError::into_inner)
}

/// Held while measuring: waits for all shared work to finish and keeps new work out until dropped.
pub fn exclusive() -> RwLockWriteGuard<'static, ()> {
    MACHINE.write().unwrap_or_else(PoisonError::into_inner)
}

/// Either guard: the one a piece of work needs, by whether it measures time.
pub enum Guard {
    Shared(RwLockReadGuard<'static, ()>),
    Exclusive(RwLockWriteGuard<'static, ()>),
}

/// [`exclusive`] for timing work, [`shared`] for the rest.
pub fn for_work(measures_time: bool) -> Guard {
    if measures_time { Guard::Exclusive(exclusive()) } else { Guard::Shared(shared()) }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn exclusive_work_never_overlaps_shared_work() {
        let active_shared = AtomicUsize::new(0);
        let overlaps = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for worker in 0..4 {
                let (active_shared, overlaps) = (&active_shared, &overlaps);
                scope.spawn(move || {
                    for round in 0..50 {
                        if (worker + round) % 5 == 0 {
                            let _alone = exclusive();
                            if active_shared.load(Ordering::SeqCst) != 0 {
                                overlaps.fetch_add(1, Ordering::SeqCst);
                            }
                            std::thread::yield_now();
                        } else {
                            let _shared = shared();
                            active_shared.fetch_add(1, Ordering::SeqCst);
                            std::thread::yield_now();
                            active_shared.fetch_sub(1, Ordering::SeqCst);
                        }
                    }
                });
            }
        });
        assert_eq!(overlaps.load(Ordering::SeqCst), 0);
    }
}
