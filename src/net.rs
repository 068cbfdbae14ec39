//! Who is calling, by address: the client's address behind trusted proxies. Used by the API's key check, the audit trail, usage and the throttles.

use std::net::IpAddr;

use actix_web::HttpRequest;
use ipnet::IpNet;

/// The caller's address: the peer, or — when the peer is a trusted proxy — the right-most
/// `X-Forwarded-For` entry that is not itself a trusted proxy.
pub fn client_ip(req: &HttpRequest, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    Some(
        forwarded
            .into_iter()
            .rev()
            .find(|ip| !is_trusted(ip))
            .unwrap_or(peer),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowlists_match_cidrs_of_both_families() {
        let ip = |s: &str| s.parse::<IpAddr>().ok();
        let list = |s: Option<&str>| crate::domain::net::IpAllowlist::from_storage(s);
        assert!(list(None).allows(ip("203.0.113.7")));
        assert!(list(Some("203.0.113.0/24")).allows(ip("203.0.113.7")));
        assert!(!list(Some("198.51.100.0/24")).allows(ip("203.0.113.7")));
        assert!(list(Some("198.51.100.0/24 2001:db8::/32")).allows(ip("2001:db8::1")));
        assert!(!list(Some("198.51.100.0/24")).allows(None));
        // Stored garbage admits nobody rather than everybody.
        assert!(!list(Some("not-a-network")).allows(ip("203.0.113.7")));
    }
}
