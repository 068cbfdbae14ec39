//! Cache of key records for the authentication hot path, keyed by secret digest.
//!
//! Revocation must take effect on the very next request, so the cache is invalidated inside
//! the request that changes a key (before its response is sent), and a lookup that raced with
//! such a change never stores what it read: every invalidation bumps a generation, and an
//! entry is only inserted if the generation is unchanged since its database read began.
//!
//! With several nodes on PostgreSQL, a node may use its entries only while it holds a lease
//! (`cluster/`): the cache carries a trust deadline, set by the node's listener after each
//! lease renewal, and answers nothing once it has passed. On SQLite (one node) the cache is
//! always trusted.
//!
//! Each worker thread fills its own map (`Slots::for_thread`): one shared lock touched by every
//! request bounced between the cores. Invalidation visits every map.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use crate::domain::api_key_secret::KeyDigest;
use crate::domain::tenant::Tenant;
use crate::keycheck::slots::{Slots, WORKER_SLOTS};
use crate::keycheck::tally::Tally;

use crate::domain::scope::ScopeSet;
#[cfg(test)]
use crate::models::api_key::ApiKey;
use crate::models::api_key::{KeyLookup, StatusTimes};

/// Entries kept at most, shared out between the workers' maps; past its share a worker's map
/// is cleared (simple, and refills from hot keys).
pub const CAPACITY: usize = 200_000;

/// A key as the hot path holds it: what the database said, and this node's tally of it.
///
/// `repr(C)` and aligned to a cache line so that what every request reads sits together at the
/// front — the gate, the tally and the `/v1/me` document fill the two lines after the reference
/// count's — rather than spread over the key record's eight (`perf`: each line missed cost
/// about a tenth of a microsecond; docs/benchmarks.md).
#[derive(Debug)]
#[repr(C, align(64))]
pub struct Entry {
    /// What every request checks.
    pub gate: Gate,
    /// Its rate window and usage (shared by every worker's entry for the key).
    pub tally: Arc<Tally>,
    /// The key's `GET /v1/me` document, written on its first call through this entry: all it
    /// says is fixed while the entry lives (a change to the key or its team replaces it).
    pub identity_json: OnceLock<Box<[u8]>>,
    /// Whose data the key reaches (its team and mode), made once for every request.
    pub tenant: Tenant,
    /// The key record and its team's essentials.
    pub lookup: KeyLookup,
}

/// What the key check reads of a key on every request, copied from its record.
#[derive(Debug)]
pub struct Gate {
    /// The digest of its secret (what [`KeyCache::get`] compares).
    pub digest: KeyDigest,
    /// What its status depends on.
    pub times: StatusTimes,
    /// Requests per minute: its own limit, else its team's.
    pub limit: i64,
    /// Granted scopes.
    pub scopes: ScopeSet,
    /// Its team is a suspended agency client.
    pub team_suspended: bool,
    /// It has no IP allowlist (else the record's list is checked).
    pub anywhere: bool,
}

impl Entry {
    /// The entry of `lookup`, counted in `tally`.
    pub fn new(lookup: KeyLookup, tally: Arc<Tally>) -> Self {
        let key = &lookup.key;
        Self {
            gate: Gate {
                digest: key.secret_digest,
                times: key.status_times(),
                limit: i64::from(key.rate_limit_per_minute.unwrap_or(lookup.team_rate_limit)),
                scopes: key.scopes,
                team_suspended: lookup.team_suspended,
                anywhere: key.ip_allowlist.is_anywhere(),
            },
            tally,
            identity_json: OnceLock::new(),
            tenant: Tenant {
                team: key.team_id.clone(),
                mode: key.mode,
            },
            lookup,
        }
    }
}

/// A cached lookup result.
pub type Cached = Arc<Entry>;

/// The cache.
pub struct KeyCache {
    enabled: bool,
    per_map: usize,
    generation: AtomicU64,
    /// Until when entries may be used, in milliseconds since `epoch`: [`ALWAYS`] for a single
    /// node; otherwise the end of this node's lease (0 until it holds one).
    trusted_until: AtomicU64,
    epoch: Instant,
    entries: Slots<TagMap>,
}

/// Entries by their digest's [tag](KeyDigest::tag): a bucket of 16 bytes instead of 40 keeps
/// the table of 10,000 keys in the core's own cache (256 KiB instead of 640), where a lookup
/// missed it on every request (`perf`, docs/benchmarks.md). The whole digest is compared in the
/// entry, whose line the lookup touches anyway; two keys with one tag only share a slot.
type TagMap = HashMap<u64, Cached, BuildHasherDefault<TagHasher>>;

/// A tag is eight bytes of SHA-256 output, already uniform: it is its own hash. (Entries are only
/// ever inserted for keys that exist, so callers cannot choose colliding tags.)
#[derive(Default)]
struct TagHasher(u64);

impl Hasher for TagHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `u64` keys are hashed; this keeps any other input well mixed all the same.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, tag: u64) {
        self.0 = tag;
    }
}

/// The trust deadline of a cache that needs no lease.
const ALWAYS: u64 = u64::MAX;

impl KeyCache {
    /// A cache that is on or off for the process's lifetime, for `workers` worker threads,
    /// trusted for good (one node).
    pub fn new(enabled: bool, workers: usize) -> Self {
        Self {
            enabled,
            per_map: CAPACITY / workers.clamp(1, WORKER_SLOTS),
            generation: AtomicU64::new(0),
            trusted_until: AtomicU64::new(ALWAYS),
            epoch: Instant::now(),
            entries: Slots::new(WORKER_SLOTS),
        }
    }

    /// A cache that answers only under a lease: nothing until the first
    /// [`trust_until`](Self::trust_until).
    pub fn leased(enabled: bool, workers: usize) -> Self {
        let cache = Self::new(enabled, workers);
        cache.trusted_until.store(0, Ordering::Release);
        cache
    }

    /// Whether its entries may be used now.
    fn trusted(&self) -> bool {
        let until = self.trusted_until.load(Ordering::Acquire);
        until == ALWAYS || self.millis(Instant::now()) < until
    }

    fn millis(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_millis()).unwrap_or(ALWAYS - 1)
    }

    /// Entries may be used until `deadline` (the end of the lease just renewed, less a margin).
    pub fn trust_until(&self, deadline: Instant) {
        if self.trusted_until.load(Ordering::Acquire) != ALWAYS {
            self.trusted_until
                .store(self.millis(deadline), Ordering::Release);
        }
    }

    /// Entries may not be used until the next [`trust_until`](Self::trust_until) (the lease
    /// or the notifications were lost).
    pub fn distrust(&self) {
        if self.trusted_until.load(Ordering::Acquire) != ALWAYS {
            self.trusted_until.store(0, Ordering::Release);
        }
    }

    /// Whether entries may be used right now (tests, and the listener's log lines).
    pub fn is_trusted(&self) -> bool {
        self.enabled && self.trusted()
    }

    /// Whether lookups are cached at all.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The current generation; read it before a database lookup.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// A cached entry.
    pub fn get(&self, digest: &KeyDigest) -> Option<Cached> {
        if !self.enabled || !self.trusted() {
            return None;
        }
        self.entries
            .for_thread()
            .get(&digest.tag())
            .filter(|entry| entry.gate.digest == *digest)
            .cloned()
    }

    /// Stores a lookup result read at `generation`, unless keys changed since.
    pub fn insert(&self, digest: KeyDigest, value: Cached, generation: u64) {
        if !self.enabled || !self.trusted() {
            return;
        }
        let mut entries = self.entries.for_thread();
        // Checked under this map's lock: an invalidation bumps the generation before it takes
        // each map's lock, so either this sees the new generation or the invalidation sees
        // (and removes) this entry.
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if entries.len() >= self.per_map {
            entries.clear();
        }
        entries.insert(digest.tag(), value);
    }

    /// Forgets one key (after it was changed, rotated, deleted or reported).
    pub fn invalidate_key(&self, key_id: &str) {
        self.invalidate(|entry| entry.lookup.key.id.as_str() == key_id);
    }

    /// Forgets every key of a team (after its settings changed).
    pub fn invalidate_team(&self, team_id: &str) {
        self.invalidate(|entry| entry.lookup.key.team_id.as_str() == team_id);
    }

    /// Forgets every entry (after notifications may have been missed).
    pub fn clear(&self) {
        self.invalidate(|_| true);
    }

    fn invalidate(&self, matches: impl Fn(&Cached) -> bool) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        for mut entries in self.entries.each() {
            entries.retain(|_, v| !matches(v));
        }
    }

    /// Number of entries in all workers' maps (benchmarks and tests).
    pub fn len(&self) -> usize {
        self.entries.each().map(|e| e.len()).sum()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(name: &str) -> KeyDigest {
        KeyDigest::for_tests(name)
    }

    /// The entry of key `id` of `team`, whose secret has the digest `d`.
    fn entry_of(d: &str, id: &str, team: &str) -> Cached {
        let mut key = ApiKey::blank(id, team);
        key.secret_digest = digest(d);
        let lookup = KeyLookup {
            key,
            team_rate_limit: 600,
            team_slug: "t".into(),
            team_name: "T".into(),
            team_suspended: false,
        };
        Arc::new(Entry::new(lookup, Default::default()))
    }

    #[test]
    fn a_lookup_that_raced_an_invalidation_is_not_stored() {
        let cache = KeyCache::new(true, 2);
        let before = cache.generation();
        // Meanwhile, another request revokes some key.
        cache.invalidate_key("key_other");
        cache.insert(
            digest("digest"),
            entry_of("digest", "key_a", "team_a"),
            before,
        );
        assert!(cache.get(&digest("digest")).is_none());
        cache.insert(
            digest("digest"),
            entry_of("digest", "key_a", "team_a"),
            cache.generation(),
        );
        assert!(cache.get(&digest("digest")).is_some());
    }

    #[test]
    fn invalidation_by_key_and_by_team() {
        let cache = KeyCache::new(true, 2);
        let g = cache.generation();
        cache.insert(digest("d1"), entry_of("d1", "key_1", "team_a"), g);
        cache.insert(digest("d2"), entry_of("d2", "key_2", "team_a"), g);
        cache.insert(digest("d3"), entry_of("d3", "key_3", "team_b"), g);
        cache.invalidate_key("key_1");
        assert!(cache.get(&digest("d1")).is_none() && cache.get(&digest("d2")).is_some());
        cache.invalidate_team("team_a");
        assert!(cache.get(&digest("d2")).is_none() && cache.get(&digest("d3")).is_some());
        let off = KeyCache::new(false, 2);
        off.insert(
            digest("d"),
            entry_of("d", "key_1", "team_a"),
            off.generation(),
        );
        assert!(off.get(&digest("d")).is_none());
    }

    #[test]
    fn a_leased_cache_answers_only_until_its_deadline() {
        let cache = KeyCache::leased(true, 2);
        cache.insert(
            digest("d1"),
            entry_of("d1", "key_1", "team_a"),
            cache.generation(),
        );
        assert!(cache.is_empty(), "nothing is stored before the first lease");
        cache.trust_until(Instant::now() + std::time::Duration::from_secs(60));
        cache.insert(
            digest("d1"),
            entry_of("d1", "key_1", "team_a"),
            cache.generation(),
        );
        assert!(cache.get(&digest("d1")).is_some());
        cache.distrust();
        assert!(cache.get(&digest("d1")).is_none(), "no lease, no answers");
        cache.trust_until(Instant::now());
        assert!(
            cache.get(&digest("d1")).is_none(),
            "a lease that ended is no lease"
        );
        cache.trust_until(Instant::now() + std::time::Duration::from_secs(60));
        cache.clear();
        assert!(cache.get(&digest("d1")).is_none() && cache.is_empty());
        // A single node's cache needs no lease and ignores the calls.
        let single = KeyCache::new(true, 2);
        single.distrust();
        single.insert(
            digest("d1"),
            entry_of("d1", "key_1", "team_a"),
            single.generation(),
        );
        assert!(single.get(&digest("d1")).is_some());
    }

    #[test]
    fn the_capacity_is_shared_out_between_the_workers() {
        let cache = KeyCache::new(true, 16);
        let shared = entry_of("shared", "key_1", "team_a");
        let g = cache.generation();
        for i in 0..CAPACITY / 16 {
            cache.insert(digest(&i.to_string()), shared.clone(), g);
        }
        assert_eq!(cache.len(), CAPACITY / 16);
        // One more than this worker's share: its map starts over.
        cache.insert(digest("one more"), shared, g);
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn a_key_whose_digest_shares_a_tag_is_not_mistaken_for_another() {
        let cache = KeyCache::new(true, 1);
        cache.insert(
            digest("d1"),
            entry_of("d1", "key_1", "team_a"),
            cache.generation(),
        );
        // Same first eight bytes, different digest: the slot is found, the key is not.
        let mut other = *digest("d1").as_bytes();
        other[31] ^= 1;
        let other = KeyDigest::from_bytes(other);
        assert_eq!(other.tag(), digest("d1").tag());
        assert!(cache.get(&other).is_none());
        assert!(cache.get(&digest("d1")).is_some());
    }

    #[test]
    fn an_invalidation_reaches_the_maps_of_every_worker_thread() {
        let cache = KeyCache::new(true, 2);
        let filled = std::sync::Barrier::new(3);
        let invalidated = std::sync::Barrier::new(3);
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    // Each worker fills its own map with the same key.
                    cache.insert(
                        digest("d1"),
                        entry_of("d1", "key_1", "team_a"),
                        cache.generation(),
                    );
                    assert!(cache.get(&digest("d1")).is_some());
                    filled.wait();
                    invalidated.wait();
                    assert!(
                        cache.get(&digest("d1")).is_none(),
                        "revoked in every worker"
                    );
                });
            }
            filled.wait();
            assert!(!cache.is_empty());
            cache.invalidate_key("key_1");
            invalidated.wait();
        });
        assert_eq!(cache.len(), 0);
    }
}
