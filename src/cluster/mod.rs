//! Several nodes on one PostgreSQL, with key caches on and revocation still synchronous
//! (DESIGN §11): cache leases with acknowledged invalidation.
//!
//! - Every node that caches key records holds a short lease in `cluster_nodes`, renewed on
//!   its own notification connection ([`listener`]), and uses its cache only until its lease
//!   would end by its own monotonic clock (less a margin). A node that loses that connection
//!   stops trusting its cache at once; one that cannot renew (paused, cut off) stops when the
//!   lease runs out, without anyone's help.
//! - A change that weakens a key announces what it made stale inside its own transaction
//!   ([`announce`]: a counter bump and a `pg_notify`, both effective at commit), clears this
//!   node's cache, then [`Cluster::settle`]s: it returns once every other node with a live
//!   lease has acknowledged the change, or its lease has run out. A node's lease never
//!   outlives the database's record of it, so "acknowledged or expired" means "cannot admit
//!   the old state any more".
//! - If the writer dies after its commit, the notification is still delivered (it is part of
//!   the commit); if the database is unreachable during the wait, no lease can be renewed
//!   either, so waiting out one lease length is enough.
//!
//! On SQLite there is one node: announcing is a no-op and the cache needs no lease.

pub mod listener;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::db::{DbConnection, DbPool, with_read};
use crate::domain::ids::{ApiKeyId, TeamId};
use crate::keycheck::key_cache::KeyCache;

/// How long a lease lasts once renewed. A node that is paused or cut off delays weakening
/// changes by at most this long.
pub const LEASE: Duration = Duration::from_millis(3000);
/// How often a lease is renewed.
pub const RENEW_EVERY: Duration = Duration::from_millis(500);
/// How much earlier than the database a node gives its own lease up: covers the time between
/// sending a renewal and the database stamping it, and clock-rate drift.
pub const MARGIN: Duration = Duration::from_millis(250);
/// How often a waiting writer re-reads the lease table when no acknowledgement woke it.
const RECHECK_EVERY: Duration = Duration::from_millis(100);

/// What a change made stale in every node's key cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stale {
    /// One key's record (deleted, rotated, grace ended, reported leaked, narrowed).
    Key(ApiKeyId),
    /// Every key of a team (its default limit changed, it was suspended or deleted).
    Team(TeamId),
}

impl Stale {
    /// The notification's text after the change number.
    fn encode(&self) -> String {
        match self {
            Self::Key(id) => format!("key {id}"),
            Self::Team(id) => format!("team {id}"),
        }
    }

    /// Reads [`encode`](Self::encode)'s form back; `None` for anything else.
    fn decode(text: &str) -> Option<Self> {
        let (kind, id) = text.split_once(' ')?;
        match kind {
            "key" => ApiKeyId::parse(id).map(Self::Key),
            "team" => TeamId::parse(id).map(Self::Team),
            _ => None,
        }
    }

    /// Forgets what this made stale in `cache`.
    pub fn apply(&self, cache: &KeyCache) {
        match self {
            Self::Key(id) => cache.invalidate_key(id),
            Self::Team(id) => cache.invalidate_team(id),
        }
    }
}

/// Inside the change's transaction, as its last statement: tells every node what it makes
/// stale. Returns the change's number (to [`Cluster::settle`] on after commit), or `None` on
/// SQLite.
pub fn announce(conn: &mut DbConnection, stale: &Stale) -> diesel::QueryResult<Option<i64>> {
    crate::models::cluster::announce(conn, &stale.encode())
}

/// This node's part in the cluster.
pub struct Cluster {
    node_id: String,
    postgres: bool,
    /// Bumped by the listener at every acknowledgement any node sends: wakes waiting writers.
    acks: tokio::sync::watch::Sender<u64>,
    stop: AtomicBool,
    /// How the waits of this node's writers ended, for metrics and benchmarks.
    settled: SettleCounts,
}

/// How [`Cluster::settle`] waits ended (exported by `/metrics`).
pub struct SettleCounts {
    /// Every live node acknowledged.
    pub acknowledged: prometheus::IntCounter,
    /// A node neither acknowledged nor let its lease run out before the bound; the bound is a
    /// whole lease, so it had expired anyway.
    pub lease_bound: prometheus::IntCounter,
    /// How long the writers waited.
    pub wait_seconds: prometheus::Histogram,
}

impl Default for SettleCounts {
    fn default() -> Self {
        let counter = |outcome| {
            crate::instrument::counter(
                "latchkey_invalidations_total",
                "Key changes announced to the other nodes, by how the wait ended",
                &[("outcome", outcome)],
            )
        };
        Self {
            acknowledged: counter("acknowledged"),
            lease_bound: counter("lease_bound"),
            wait_seconds: crate::instrument::histogram(
                "latchkey_invalidation_wait_seconds",
                "How long a weakening change waited for the other nodes to acknowledge it",
                crate::instrument::LATENCY_BUCKETS,
            ),
        }
    }
}

/// How a wait after a change ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settled {
    /// Nothing to wait for (SQLite, or the change made nothing stale).
    Alone,
    /// Every other node with a live lease acknowledged the change.
    Acknowledged,
    /// Some node did not answer (paused, cut off, or the database was unreachable): the wait
    /// lasted a whole lease, after which no node can trust what it cached before the change.
    LeaseBound,
}

impl Cluster {
    /// This node, on PostgreSQL (`postgres`) or alone on SQLite.
    pub fn new(postgres: bool) -> Self {
        Self {
            node_id: format!("node_{}", crate::domain::base62::random(12)),
            postgres,
            acks: tokio::sync::watch::Sender::new(0),
            stop: AtomicBool::new(false),
            settled: SettleCounts::default(),
        }
    }

    /// This node's id (new at every start).
    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// Whether other nodes may share the database.
    pub fn is_shared(&self) -> bool {
        self.postgres
    }

    /// How this node's waits ended so far.
    pub fn settle_counts(&self) -> &SettleCounts {
        &self.settled
    }

    /// Asks the listener to end its lease and stop (at shutdown).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    /// Called by the listener for every acknowledgement it hears.
    fn acknowledged(&self) {
        self.acks.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// After change `seq` committed (this node's cache already cleared of it): returns once no
    /// other node can admit what the change replaced.
    pub async fn settle(&self, pool: &DbPool, seq: Option<i64>) -> Settled {
        let Some(seq) = seq else {
            return Settled::Alone;
        };
        let started = Instant::now();
        // Any lease renewed before the commit has ended by then (MARGIN covers clock rates).
        let bound = started + LEASE + MARGIN;
        let mut acks = self.acks.subscribe();
        let me = self.node_id.clone();
        let outcome = loop {
            // Seen before the read, so an acknowledgement that lands after it wakes the wait.
            acks.borrow_and_update();
            let me = me.clone();
            let lagging = with_read(pool, move |c| {
                Ok(crate::models::cluster::lagging(c, &me, seq)?)
            })
            .await;
            if let Ok(0) = lagging {
                break Settled::Acknowledged;
            }
            let now = Instant::now();
            if now >= bound {
                break Settled::LeaseBound;
            }
            let nap = RECHECK_EVERY.min(bound - now);
            let _ = tokio::time::timeout(nap, acks.changed()).await;
        };
        let waited = started.elapsed();
        self.settled.wait_seconds.observe(waited.as_secs_f64());
        match outcome {
            Settled::Acknowledged => &self.settled.acknowledged,
            _ => &self.settled.lease_bound,
        }
        .inc();
        if outcome == Settled::LeaseBound {
            tracing::warn!(
                seq,
                waited_ms = waited.as_millis(),
                "a node did not acknowledge a key change; waited until its lease ran out"
            );
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_change_made_stale_reads_back_from_its_notification() {
        for stale in [
            Stale::Key(ApiKeyId::generate()),
            Stale::Team(TeamId::generate()),
        ] {
            assert_eq!(Stale::decode(&stale.encode()), Some(stale));
        }
        assert_eq!(Stale::decode("brand agc_1"), None);
        assert_eq!(Stale::decode("key"), None);
        assert_eq!(Stale::decode("key not-an-id"), None);
    }
}
