//! Client addresses as counted by throttles, and a key's IP allowlist.

use std::net::{IpAddr, Ipv6Addr};

use ipnet::IpNet;

/// Where a key may be used from, parsed once when the key enters the cache (not per request).
#[derive(Clone, Debug, Default, PartialEq, Eq, diesel::FromSqlRow)]
pub struct IpAllowlist(Option<Vec<IpNet>>);

impl IpAllowlist {
    /// From the stored form (space-separated CIDRs; none or empty = anywhere). An entry that
    /// does not parse admits nobody: bad stored data never widens access.
    pub fn from_storage(stored: Option<&str>) -> Self {
        match stored.filter(|l| !l.trim().is_empty()) {
            None => Self(None),
            Some(list) => Self(Some(
                list.split_whitespace()
                    .filter_map(|cidr| cidr.parse::<IpNet>().ok())
                    .collect(),
            )),
        }
    }

    /// The stored form: canonical CIDRs, space-separated; None = anywhere.
    pub fn to_storage(&self) -> Option<String> {
        self.0.as_ref().map(|nets| {
            nets.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        })
    }

    /// The entries, as CIDR strings (none = anywhere).
    pub fn entries(&self) -> Option<Vec<String>> {
        self.0
            .as_ref()
            .map(|nets| nets.iter().map(ToString::to_string).collect())
    }

    /// No list: the key may be used from anywhere.
    pub fn is_anywhere(&self) -> bool {
        self.0.is_none()
    }

    /// Whether a request from `ip` may use the key (an unknown address only when unrestricted).
    pub fn allows(&self, ip: Option<IpAddr>) -> bool {
        match &self.0 {
            None => true,
            Some(nets) => ip.is_some_and(|ip| nets.iter().any(|n| n.contains(&ip))),
        }
    }
}

/// The unit a throttle counts an address in: IPv4 as is, IPv6 by its /64 prefix (what one
/// subscriber usually holds, so rotating through it does not reset the count), IPv4-mapped
/// IPv6 as the IPv4 address.
pub fn address_bucket(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::address_bucket;

    #[test]
    fn ipv6_counts_by_its_64_and_mapped_ipv4_as_ipv4() {
        let b = |s: &str| address_bucket(s.parse().expect("ip")).to_string();
        assert_eq!(b("203.0.113.7"), "203.0.113.7");
        assert_eq!(b("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::");
        assert_eq!(b("::ffff:203.0.113.7"), "203.0.113.7");
    }
}
