//! Split state that every API request touches into padded slots, so the workers (one thread
//! each) do not all take one lock: a single shared lock bounced between the cores and made
//! the workers wait for each other on every request (measured: docs/benchmarks.md).
//!
//! A slot is picked either by thread (`for_thread`: per-worker buffers and caches, which then
//! touch only their own cache lines) or by key (`for_key`: state that must be shared by all
//! workers, such as a key's rate-limit window). Slots hold locks, so a collision only costs
//! time, never correctness.

use std::hash::{BuildHasher, Hash};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Slots for per-worker state: more than the worker threads of a small machine.
pub const WORKER_SLOTS: usize = 16;

/// A value split into padded slots.
pub struct Slots<T> {
    slots: Box<[Padded<T>]>,
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
            slots: (0..n.max(1)).map(|_| Padded(T::default())).collect(),
        }
    }
}

impl<T> Slots<T> {
    /// The calling thread's slot.
    pub fn for_thread(&self) -> &T {
        &self.slots[thread_number() % self.slots.len()].0
    }

    /// The slot of `key` (the same for every thread).
    pub fn for_key(&self, key: &(impl Hash + ?Sized)) -> &T {
        let hash = rustc_hash::FxBuildHasher.hash_one(key);
        // Fx's high bits are its best mixed.
        let index = (hash >> 32) as usize % self.slots.len();
        &self.slots[index].0
    }

    /// Every slot (for flushes and invalidations).
    pub fn all(&self) -> impl Iterator<Item = &T> {
        self.slots.iter().map(|p| &p.0)
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
    use std::sync::Mutex;

    #[test]
    fn threads_get_their_own_slots_and_all_sees_every_slot() {
        let counts: Slots<Mutex<u32>> = Slots::new(16);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..1000 {
                        *counts
                            .for_thread()
                            .lock()
                            .unwrap_or_else(|e| e.into_inner()) += 1;
                    }
                });
            }
        });
        let total: u32 = counts
            .all()
            .map(|m| *m.lock().unwrap_or_else(|e| e.into_inner()))
            .sum();
        assert_eq!(total, 4000);
        let used = counts
            .all()
            .filter(|m| *m.lock().unwrap_or_else(|e| e.into_inner()) > 0)
            .count();
        assert!(used >= 2, "four threads spread over several slots, not one");
    }

    #[test]
    fn a_key_always_gets_the_same_slot_and_keys_spread() {
        let slots: Slots<Mutex<Vec<String>>> = Slots::new(64);
        for i in 0..1000 {
            let key = format!("key_{i}");
            if let Ok(mut v) = slots.for_key(key.as_str()).lock() {
                v.push(key.clone());
            }
            let again = slots.for_key(key.as_str()).lock().map(|v| v.contains(&key));
            assert_eq!(again.ok(), Some(true));
        }
        let used = slots
            .all()
            .filter(|m| m.lock().map(|v| !v.is_empty()).unwrap_or(false))
            .count();
        assert!(used > 48, "1000 keys use most of 64 slots, used {used}");
    }
}
