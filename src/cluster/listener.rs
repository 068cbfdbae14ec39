//! A node's notification connection: one dedicated PostgreSQL connection (not from the pool)
//! on its own thread that holds the node's lease, applies every announced change to the key
//! cache and acknowledges it, and wakes this node's waiting writers when any node
//! acknowledges.
//!
//! The connection is libpq's, like the pool's, so it takes the same URL, TLS and
//! authentication settings. libpq reads arriving notifications without blocking, so the
//! thread looks every millisecond; the lease is renewed every [`RENEW_EVERY`] on the same
//! connection, which proves the notifications still flow.

use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::{Connection, QueryResult};

use super::{Cluster, LEASE, MARGIN, RENEW_EVERY, Stale};
use crate::keycheck::key_cache::KeyCache;
use crate::models::cluster::{self as rows, ACK_CHANNEL, CACHE_CHANNEL};

/// How often arriving notifications are looked for.
const POLL: Duration = Duration::from_millis(1);
/// How often leases that ended long ago are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// What the listener needs.
pub struct Listener {
    /// This node.
    pub cluster: Arc<Cluster>,
    /// The cache it keeps honest.
    pub cache: Arc<KeyCache>,
    /// The database URL (a libpq URL).
    pub url: String,
    /// The address this node listens on (shown in `cluster_nodes`).
    pub address: String,
    /// When the node started, Unix seconds.
    pub started_at: i64,
}

impl Listener {
    /// Starts the thread; it runs until [`Cluster::stop`], then ends the lease.
    pub fn spawn(self) -> std::io::Result<std::thread::JoinHandle<()>> {
        std::thread::Builder::new()
            .name("latchkey-listener".into())
            .spawn(move || self.run())
    }

    fn run(self) {
        let mut failures: u32 = 0;
        let mut ever_held = false;
        while !self.cluster.stopping() {
            self.cache.distrust();
            let mut held = false;
            let outcome = self.session(ever_held, &mut held);
            if held {
                // A lease was held since the last failure: this one is a first failure again,
                // retried at once.
                failures = 0;
                ever_held = true;
            }
            match outcome {
                Ok(()) => return,
                Err(e) => {
                    if failures == 0 {
                        tracing::warn!(
                            error = %e,
                            "key cache suspended: the notification connection failed; every \
                             key is looked up in the database until it is back"
                        );
                    }
                    // 0 ms, then 100 ms more per failure in a row, up to a second.
                    let backoff = Duration::from_millis(100 * u64::from(failures.min(10)));
                    failures = failures.saturating_add(1);
                    std::thread::sleep(backoff);
                }
            }
        }
    }

    /// The URL with a name PostgreSQL shows for this connection, and a bound on how long a
    /// send may go unanswered before the connection counts as lost.
    fn url(&self) -> String {
        let mut url = self.url.clone();
        let mut add = |param: &str, value: &str| {
            if !url.contains(&format!("{param}=")) {
                let sep = if url.contains('?') { '&' } else { '?' };
                url.push_str(&format!("{sep}{param}={value}"));
            }
        };
        add(
            "application_name",
            &format!("latchkey-listener-{}", self.cluster.node_id()),
        );
        add("tcp_user_timeout", "5000");
        url
    }

    /// One connection's life: listen, take the lease, then apply, acknowledge and renew until
    /// the connection fails (`Err`) or the node stops (`Ok`).
    fn session(&self, recovering: bool, held: &mut bool) -> Result<(), String> {
        let node = self.cluster.node_id().to_owned();
        let mut conn = PgConnection::establish(&self.url()).map_err(|e| e.to_string())?;
        conn.batch_execute(&format!("LISTEN {CACHE_CHANNEL}; LISTEN {ACK_CHANNEL};"))
            .map_err(|e| e.to_string())?;
        let sent = Instant::now();
        let lease_ms = i64::try_from(LEASE.as_millis()).unwrap_or(i64::MAX);
        let mut applied =
            rows::register(&mut conn, &node, &self.address, lease_ms, self.started_at)
                .map_err(|e| e.to_string())?;
        // Whatever was cached before this lease may predate changes this node never heard of.
        self.cache.clear();
        self.cache.trust_until(sent + LEASE - MARGIN);
        *held = true;
        // Registering applied every change so far: writers waiting for this node may go on.
        rows::acknowledge(&mut conn, &node, applied).map_err(|e| e.to_string())?;
        if recovering {
            tracing::info!(node = %node, "key cache resumed: notification connection restored");
        } else {
            tracing::info!(node = %node, "key cache on: lease held, listening for key changes");
        }
        let mut next_renewal = sent + RENEW_EVERY;
        let mut next_prune = sent;
        loop {
            if self.cluster.stopping() {
                self.cache.distrust();
                let _ = rows::leave(&mut conn, &node);
                return Ok(());
            }
            if let Some(newest) = self.drain(&mut conn).map_err(|e| e.to_string())? {
                applied = applied.max(newest);
                rows::acknowledge(&mut conn, &node, applied).map_err(|e| e.to_string())?;
            }
            let now = Instant::now();
            if now >= next_renewal {
                let current = rows::renew(&mut conn, &node, lease_ms)
                    .map_err(|e| e.to_string())?
                    .ok_or("this node's lease row was removed")?;
                if current > applied {
                    // Committed changes whose notifications have not arrived yet: start over
                    // rather than trust the cache past them.
                    self.cache.clear();
                    applied = current;
                    rows::acknowledge(&mut conn, &node, applied).map_err(|e| e.to_string())?;
                }
                self.cache.trust_until(now + LEASE - MARGIN);
                next_renewal = now + RENEW_EVERY;
                if now >= next_prune {
                    let _ = rows::prune(&mut conn);
                    next_prune = now + PRUNE_EVERY;
                }
            }
            std::thread::sleep(POLL);
        }
    }

    /// Applies every notification that has arrived; returns the newest change number among
    /// them.
    fn drain(&self, conn: &mut PgConnection) -> QueryResult<Option<i64>> {
        let mut newest = None;
        for notification in conn.notifications_iter() {
            let notification = notification?;
            if notification.channel == ACK_CHANNEL {
                self.cluster.acknowledged();
                continue;
            }
            let parsed = notification
                .payload
                .split_once(' ')
                .and_then(|(seq, what)| Some((seq.parse::<i64>().ok()?, Stale::decode(what)?)));
            match parsed {
                Some((seq, stale)) => {
                    stale.apply(&self.cache);
                    newest = newest.max(Some(seq));
                }
                // Not ours to read: forget everything rather than guess.
                None => self.cache.clear(),
            }
        }
        Ok(newest)
    }
}
