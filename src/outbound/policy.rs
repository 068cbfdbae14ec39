//! Which addresses an outbound request may reach (DESIGN §9): public unicast addresses over
//! `https`; anything else only when the operator's allowlist (`LATCHKEY_OUTBOUND_ALLOW_CIDRS`)
//! admits it, and then over `http` too (LAN systems often have no certificate).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// The operator's policy for outbound targets.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    allow: Vec<IpNet>,
}

impl Policy {
    /// A policy admitting public addresses, plus the addresses in `allow`.
    pub fn new(allow: Vec<IpNet>) -> Self {
        Self { allow }
    }

    /// Whether the allowlist admits `ip` (an IPv4-mapped IPv6 address counts as its IPv4).
    pub fn allowlisted(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.allow.iter().any(|net| net.contains(&ip))
    }

    /// Whether a request over `scheme` may connect to `ip`.
    pub fn admits(&self, scheme: Scheme, ip: IpAddr) -> bool {
        self.allowlisted(ip) || (scheme == Scheme::Https && is_public(ip))
    }
}

/// The two schemes an outbound request may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// `https`: public addresses, and allowlisted ones.
    Https,
    /// `http`: allowlisted addresses only.
    Http,
}

/// An IPv4-mapped IPv6 address as the IPv4 address it maps.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// Whether `ip` is a public unicast address: not loopback, private, link-local, CGNAT,
/// multicast, broadcast, unspecified, documentation, benchmarking, reserved, cloud metadata,
/// unique-local or link-local IPv6, nor an IPv6 form that embeds an IPv4 address (mapped,
/// compatible, NAT64, 6to4, Teredo) — an embedded address could be any of the above.
pub fn is_public(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0 // "this network", 0.0.0.0
        || a == 10
        || a == 127
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64/10
        || (a == 169 && b == 254) // link-local, incl. 169.254.169.254 metadata
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // TEST-NET-1
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
        || (a == 192 && b == 168)
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // TEST-NET-2
        || (a == 203 && b == 0 && c == 113) // TEST-NET-3
        || a >= 224) // multicast, reserved, broadcast
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let embeds_v4 = (s[0] == 0 && s[1] == 0 && s[2] == 0 && s[3] == 0 && s[4] == 0) // ::/80: ::, ::1, compatible, mapped
        || (s[0] == 0x64 && s[1] == 0xff9b) // NAT64 64:ff9b::/96 and 64:ff9b:1::/48
        || s[0] == 0x2002 // 6to4
        || (s[0] == 0x2001 && s[1] == 0); // Teredo 2001::/32
    !(embeds_v4
        || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // deprecated site-local fec0::/10
        || (s[0] & 0xff00) == 0xff00 // multicast
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x0100 && s[1] == 0 && s[2] == 0 && s[3] == 0) // discard-only 100::/64
        || (s[0] == 0x2001 && s[1] < 0x0200)) // other IETF protocol assignments 2001::/23
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for s in [
            "127.0.0.1",
            "127.255.0.9",
            "0.0.0.0",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "100.127.255.254",
            "169.254.169.254",
            "192.0.2.10",
            "198.51.100.1",
            "203.0.113.7",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::7f00:1",
            "2002:7f00:1::",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
        ] {
            assert!(!is_public(ip(s)), "{s} must not count as public");
        }
    }

    #[test]
    fn ordinary_internet_addresses_are_public() {
        for s in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "192.169.0.1",
            "2606:4700:4700::1111",
            "2a00:1450:4001::200e",
        ] {
            assert!(is_public(ip(s)), "{s} is a public address");
        }
    }

    #[test]
    fn the_allowlist_opens_private_targets_over_http_too() {
        let open = Policy::new(vec!["127.0.0.0/8".parse().expect("cidr")]);
        let closed = Policy::default();
        assert!(open.admits(Scheme::Http, ip("127.0.0.1")));
        assert!(open.admits(Scheme::Https, ip("::ffff:127.0.0.1")));
        assert!(!open.admits(Scheme::Http, ip("10.0.0.1")));
        assert!(
            !open.admits(Scheme::Http, ip("8.8.8.8")),
            "plain http to the internet"
        );
        assert!(closed.admits(Scheme::Https, ip("8.8.8.8")));
        assert!(!closed.admits(Scheme::Https, ip("127.0.0.1")));
    }
}
