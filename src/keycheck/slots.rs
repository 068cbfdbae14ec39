//! Split state that every API request touches into padded slots, so the workers (one thread
//! each) do not all take one lock: a single shared lock bounced between the cores and made
//! the workers wait for each other on every request (measured: docs/benchmarks.md).
//!
//! A slot is picked either by thread (`for_thread`: per-worker buffers and caches, which then
//! touch only their own cache lines) or by key (`for_key`: state that must be shared by all
//! workers, such as a key's rate-limit window). Each slot is a lock, so a collision only
//! costs time, never correctness.

use std::hash::{BuildHasher, Hash};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

/// Slots for per-worker state: more than the worker threads of a small machine.
pub const WORKER_SLOTS: usize = 16;

/// A value split into padded, locked slots.
pub struct Slots<T> {
    slots: Box<[Padded<Mutex<T>>]>,
}

/// Keeps neighbouring slots off each other's cache lines (128 bytes: two lines, as adjacent
/// line prefetching pairs them).
#[repr(align(128))]
struct Padded<T>(T);

impl<T: Default> Slots<T> {
    /// `n` slots: more than the worker threads of the machine for `for_thread`; enough that
    /// two workers rarely meet for `for_key`.
    pub fn new(n: usize) -> Self {
        Self {
            slots: (0..n.max(1))
                .map(|_| Padded(Mutex::new(T::default())))
                .collect(),
        }
    }
}

impl<T> Slots<T> {
    /// The calling thread's slot, locked.
    pub fn for_thread(&self) -> MutexGuard<'_, T> {
        self.lock(thread_number() % self.slots.len())
    }

    /// The slot of `key` (the same for every thread), locked.
    pub fn for_key(&self, key: &(impl Hash + ?Sized)) -> MutexGuard<'_, T> {
        let hash = rustc_hash::FxBuildHasher.hash_one(key);
        // Fx's high bits are its best mixed.
        self.lock((hash >> 32) as usize % self.slots.len())
    }

    /// Every slot in turn, each locked while the iterator holds it (flushes, invalidations).
    pub fn each(&self) -> impl Iterator<Item = MutexGuard<'_, T>> {
        (0..self.slots.len()).map(|i| self.lock(i))
    }

    /// A slot even if a panic poisoned its lock: what slots hold (caches, counters, buffers)
    /// is never half-written, and bookkeeping must not take the API down.
    fn lock(&self, index: usize) -> MutexGuard<'_, T> {
        self.slots[index]
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }
}

/// This thread's number, handed out in order of first use.
fn thread_number() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static NUMBER: usize = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    NUMBER.with(|n| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_get_their_own_slots_and_each_sees_every_slot() {
        let counts: Slots<u32> = Slots::new(16);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..1000 {
                        *counts.for_thread() += 1;
                    }
                });
            }
        });
        let total: u32 = counts.each().map(|n| *n).sum();
        assert_eq!(total, 4000);
        let used = counts.each().filter(|n| **n > 0).count();
        assert!(used >= 2, "four threads spread over several slots, not one");
    }

    #[test]
    fn a_key_always_gets_the_same_slot_and_keys_spread() {
        let slots: Slots<Vec<String>> = Slots::new(64);
        for i in 0..1000 {
            let key = format!("key_{i}");
            slots.for_key(key.as_str()).push(key.clone());
            assert!(slots.for_key(key.as_str()).contains(&key));
        }
        let used = slots.each().filter(|v| !v.is_empty()).count();
        assert!(used > 48, "1000 keys use most of 64 slots, used {used}");
    }
}
