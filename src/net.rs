//! Who is calling, by address: the client's address behind trusted proxies, and whether a key's
//! IP allowlist admits it. Used by the API's key check, the audit trail, usage and the throttles.

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

/// Whether `ip` is allowed by a stored allowlist (space-separated CIDRs; None = anywhere).
pub fn ip_allowed(allowlist: Option<&str>, ip: Option<IpAddr>) -> bool {
    let Some(list) = allowlist.filter(|l| !l.trim().is_empty()) else {
        return true;
    };
    let Some(ip) = ip else { return false };
    list.split_whitespace()
        .filter_map(|cidr| cidr.parse::<IpNet>().ok())
        .any(|net| net.contains(&ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowlists_match_cidrs_of_both_families() {
        let ip = |s: &str| s.parse::<IpAddr>().ok();
        assert!(ip_allowed(None, ip("203.0.113.7")));
        assert!(ip_allowed(Some("203.0.113.0/24"), ip("203.0.113.7")));
        assert!(!ip_allowed(Some("198.51.100.0/24"), ip("203.0.113.7")));
        assert!(ip_allowed(
            Some("198.51.100.0/24 2001:db8::/32"),
            ip("2001:db8::1")
        ));
        assert!(!ip_allowed(Some("198.51.100.0/24"), None));
    }
}
