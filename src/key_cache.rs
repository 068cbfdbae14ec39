//! Cache of key records for the authentication hot path, keyed by secret digest.
//!
//! Revocation must take effect on the very next request, so the cache is invalidated inside
//! the request that changes a key (before its response is sent), and a lookup that raced with
//! such a change never stores what it read: every invalidation bumps a generation, and an
//! entry is only inserted if the generation is unchanged since its database read began.
//! Invalidation reaches this process only; with several nodes sharing PostgreSQL the cache
//! stays off (see `KeyCacheMode`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

#[cfg(test)]
use crate::models::api_key::ApiKey;
use crate::models::api_key::KeyLookup;

/// Entries kept at most; past it the cache is cleared (simple, and refills from hot keys).
pub const CAPACITY: usize = 200_000;

/// A cached lookup result.
pub type Cached = Arc<KeyLookup>;

/// The cache.
pub struct KeyCache {
    enabled: bool,
    generation: AtomicU64,
    entries: RwLock<HashMap<String, Cached>>,
}

impl KeyCache {
    /// A cache that is on or off for the process's lifetime.
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            generation: AtomicU64::new(0),
            entries: RwLock::new(HashMap::new()),
        }
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
    pub fn get(&self, digest: &str) -> Option<Cached> {
        if !self.enabled {
            return None;
        }
        self.entries.read().ok()?.get(digest).cloned()
    }

    /// Stores a lookup result read at `generation`, unless keys changed since.
    pub fn insert(&self, digest: String, value: Cached, generation: u64) {
        if !self.enabled {
            return;
        }
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        // Checked under the write lock: invalidations also take it, so none can slip between.
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(digest, value);
    }

    /// Forgets one key (after it was changed, rotated, deleted or reported).
    pub fn invalidate_key(&self, key_id: &str) {
        self.invalidate(|entry| entry.key.id == key_id);
    }

    /// Forgets every key of a team (after its settings changed).
    pub fn invalidate_team(&self, team_id: &str) {
        self.invalidate(|entry| entry.key.team_id == team_id);
    }

    fn invalidate(&self, matches: impl Fn(&Cached) -> bool) {
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.retain(|_, v| !matches(v));
    }

    /// Number of entries (benchmarks and tests).
    pub fn len(&self) -> usize {
        self.entries.read().map_or(0, |e| e.len())
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, team: &str) -> Cached {
        let key = ApiKey::blank(id, team);
        Arc::new(KeyLookup {
            key,
            team_rate_limit: 600,
            team_slug: "t".into(),
            team_name: "T".into(),
            team_suspended: false,
        })
    }

    #[test]
    fn a_lookup_that_raced_an_invalidation_is_not_stored() {
        let cache = KeyCache::new(true);
        let before = cache.generation();
        // Meanwhile, another request revokes some key.
        cache.invalidate_key("key_other");
        cache.insert("digest".into(), entry("key_a", "team_a"), before);
        assert!(cache.get("digest").is_none());
        cache.insert(
            "digest".into(),
            entry("key_a", "team_a"),
            cache.generation(),
        );
        assert!(cache.get("digest").is_some());
    }

    #[test]
    fn invalidation_by_key_and_by_team() {
        let cache = KeyCache::new(true);
        let g = cache.generation();
        cache.insert("d1".into(), entry("key_1", "team_a"), g);
        cache.insert("d2".into(), entry("key_2", "team_a"), g);
        cache.insert("d3".into(), entry("key_3", "team_b"), g);
        cache.invalidate_key("key_1");
        assert!(cache.get("d1").is_none() && cache.get("d2").is_some());
        cache.invalidate_team("team_a");
        assert!(cache.get("d2").is_none() && cache.get("d3").is_some());
        let off = KeyCache::new(false);
        off.insert("d".into(), entry("key_1", "team_a"), off.generation());
        assert!(off.get("d").is_none());
    }
}
