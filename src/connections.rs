//! A cap on the connections one address may hold open at once, so one client (a flood of slow
//! bodies, a leaky pool) cannot take every connection slot of a node while others wait.
//! Counted when a connection is accepted and released when it closes; a connection over the
//! cap is shut down at once, before a byte of it is read. Trusted proxies carry many clients'
//! connections and are exempt. IPv6 addresses count by their /64, like the brakes.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use crate::domain::net::address_bucket;

/// The cap and the live counts of one process.
pub struct ConnectionCap {
    per_address: u32,
    trusted: Vec<ipnet::IpNet>,
    open: Mutex<HashMap<IpAddr, u32>>,
    refused: prometheus::IntCounter,
}

/// Held in a connection's extensions while it is open; gives its slot back when dropped.
pub struct Slot {
    cap: Arc<ConnectionCap>,
    bucket: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut open) = self.cap.open.lock()
            && let Some(n) = open.get_mut(&self.bucket)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.bucket);
            }
        }
    }
}

impl ConnectionCap {
    /// At most `per_address` connections per address (0: no cap); `trusted` are exempt.
    pub fn new(per_address: u32, trusted: Vec<ipnet::IpNet>) -> Arc<Self> {
        Arc::new(Self {
            per_address,
            trusted,
            open: Mutex::new(HashMap::new()),
            refused: crate::instrument::counter(
                "latchkey_connections_refused_total",
                "Connections closed as they were accepted: their address held the most allowed",
                &[],
            ),
        })
    }

    /// Connections refused so far.
    pub fn refused(&self) -> &prometheus::IntCounter {
        &self.refused
    }

    /// A slot for a new connection from `peer`, or `None` when its address holds the cap
    /// already (the connection is to be closed).
    pub fn admit(self: &Arc<Self>, peer: IpAddr) -> Option<Option<Slot>> {
        if self.per_address == 0 || self.trusted.iter().any(|net| net.contains(&peer)) {
            return Some(None);
        }
        let bucket = address_bucket(peer);
        let mut open = self.open.lock().ok()?;
        let n = open.entry(bucket).or_insert(0);
        if *n >= self.per_address {
            drop(open);
            self.refused.inc();
            if self.refused.get() % 1000 == 1 {
                tracing::warn!(
                    address = %bucket,
                    cap = self.per_address,
                    "connection refused: this address holds the most connections allowed"
                );
            }
            return None;
        }
        *n += 1;
        Some(Some(Slot {
            cap: self.clone(),
            bucket,
        }))
    }

    /// For `HttpServer::on_connect`: counts the accepted connection, or shuts it down when
    /// its address is over the cap.
    pub fn on_connect(
        self: &Arc<Self>,
        conn: &dyn std::any::Any,
        ext: &mut actix_web::dev::Extensions,
    ) {
        let Some(stream) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() else {
            return;
        };
        let Ok(peer) = stream.peer_addr() else {
            return;
        };
        match self.admit(peer.ip()) {
            Some(Some(slot)) => {
                ext.insert(slot);
            }
            Some(None) => {}
            None => {
                // Closed before anything is read: the dispatcher sees the end at once.
                let _ = socket2::SockRef::from(stream).shutdown(std::net::Shutdown::Both);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_holds_at_most_the_cap_and_a_closed_connection_frees_its_slot() {
        let cap = ConnectionCap::new(2, vec!["10.0.0.0/8".parse().expect("net")]);
        let a: IpAddr = "203.0.113.7".parse().expect("ip");
        let first = cap.admit(a).expect("admitted");
        let _second = cap.admit(a).expect("admitted");
        assert!(cap.admit(a).is_none(), "the third is refused");
        assert!(cap.admit("198.51.100.1".parse().expect("ip")).is_some());
        // A proxy carries many clients: never capped.
        for _ in 0..10 {
            assert!(matches!(
                cap.admit("10.1.2.3".parse().expect("ip")),
                Some(None)
            ));
        }
        drop(first);
        assert!(cap.admit(a).is_some(), "a slot came back");
        assert_eq!(cap.refused().get(), 1);
        // IPv6 by its /64.
        let cap = ConnectionCap::new(1, vec![]);
        let _v6 = cap
            .admit("2001:db8::1".parse().expect("ip"))
            .expect("admitted");
        assert!(cap.admit("2001:db8::2".parse().expect("ip")).is_none());
    }
}
