//! A small worker pool of scoped threads: each item is handed to the first free worker.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

/// Runs `work` on every item with at most `workers` threads; the results come back in the items' order.
pub fn map<T: Sync, R: Send>(items: &[T], workers: usize, work: impl Fn(usize, &T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..workers.clamp(1, items.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(index) else { break };
                    let result = work(index, item);
                    slots.lock().unwrap_or_else(PoisonError::into_inner)[index] = Some(result);
                }
            });
        }
    });
    // A worker that panicked would already have propagated out of the scope: every slot is filled.
    slots.into_inner().unwrap_or_else(PoisonError::into_inner).into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_keep_the_items_order_whatever_the_workers() {
        let items: Vec<u64> = (0..100).collect();
        for workers in [0, 1, 3, 200] {
            let squares = super::map(&items, workers, |index, &n| (index, n * n));
            assert_eq!(squares, items.iter().map(|&n| (n as usize, n * n)).collect::<Vec<_>>());
        }
        assert!(super::map(&[] as &[u8], 4, |_, &b| b).is_empty());
    }
}
