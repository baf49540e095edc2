//! Which addresses outbound requests may reach.
//!
//! Every address is put in one [`AddressClass`] first, and the policy is a
//! decision over classes: public unicast is allowed; loopback, private
//! (RFC 1918), shared (CGNAT) and unique-local addresses only when the
//! operator allows private networks; link-local (where cloud metadata lives),
//! unspecified, multicast, broadcast, documentation and reserved ranges never,
//! except through an explicit allowed network.
//!
//! IPv6 forms that carry an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`, NAT64
//! `64:ff9b::/96`, 6to4 `2002::/16`) are judged by the IPv4 address inside,
//! so `[::ffff:127.0.0.1]` is loopback. The standard library's `is_global` and
//! friends are not stable, which is why the ranges are written out here from
//! the IANA special-purpose registries.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressClass {
    /// Globally routable unicast.
    Public,
    /// 127.0.0.0/8, ::1.
    Loopback,
    /// 10/8, 172.16/12, 192.168/16 (RFC 1918).
    Private,
    /// 100.64.0.0/10, carrier-grade NAT (RFC 6598); cloud providers put metadata services here too.
    SharedCgnat,
    /// fc00::/7 (RFC 4193), and the deprecated site-local fec0::/10.
    UniqueLocal,
    /// 169.254.0.0/16 and fe80::/10, which includes the cloud metadata address 169.254.169.254.
    LinkLocal,
    /// 0.0.0.0/8 and ::. Connecting to 0.0.0.0 reaches the local host on Linux.
    Unspecified,
    /// 224.0.0.0/4, ff00::/8.
    Multicast,
    /// 255.255.255.255.
    Broadcast,
    /// 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32, 3fff::/20.
    Documentation,
    /// Everything else that is not public unicast: IETF protocol assignments,
    /// benchmarking, 240/4, Teredo, ORCHID, discard-only, IPv4-compatible, and
    /// IPv6 outside 2000::/3.
    Reserved,
}

impl AddressClass {
    pub fn as_str(self) -> &'static str {
        match self {
            AddressClass::Public => "public",
            AddressClass::Loopback => "loopback",
            AddressClass::Private => "private",
            AddressClass::SharedCgnat => "shared (CGNAT)",
            AddressClass::UniqueLocal => "unique-local",
            AddressClass::LinkLocal => "link-local",
            AddressClass::Unspecified => "unspecified",
            AddressClass::Multicast => "multicast",
            AddressClass::Broadcast => "broadcast",
            AddressClass::Documentation => "documentation",
            AddressClass::Reserved => "reserved",
        }
    }

    /// The classes `allow_private_networks` opens: networks a company runs itself.
    fn is_private_network(self) -> bool {
        matches!(
            self,
            AddressClass::Loopback | AddressClass::Private | AddressClass::SharedCgnat | AddressClass::UniqueLocal
        )
    }

    /// Addresses no TCP connection should go to, whatever is configured.
    fn is_never_a_host(self) -> bool {
        matches!(self, AddressClass::Unspecified | AddressClass::Multicast | AddressClass::Broadcast)
    }
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The IPv4 address an IPv6 address stands for, when it is one of the forms
/// that reach IPv4 hosts: IPv4-mapped, NAT64 (well-known prefix) or 6to4.
pub fn embedded_ipv4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = ip.segments();
    let tail = |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(tail(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        return Some(tail(s[1], s[2]));
    }
    None
}

/// The class of an address, judging IPv6 forms that carry IPv4 by the IPv4 inside.
pub fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => match embedded_ipv4(v6) {
            Some(v4) => classify_v4(v4),
            None => classify_v6(v6),
        },
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
    (u32::from(ip) & mask) == (u32::from(Ipv4Addr::from(net)) & mask)
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    use AddressClass::*;
    const TABLE: &[([u8; 4], u32, AddressClass)] = &[
        ([0, 0, 0, 0], 8, Unspecified),
        ([10, 0, 0, 0], 8, Private),
        ([100, 64, 0, 0], 10, SharedCgnat),
        ([127, 0, 0, 0], 8, Loopback),
        ([169, 254, 0, 0], 16, LinkLocal),
        ([172, 16, 0, 0], 12, Private),
        ([192, 0, 0, 0], 24, Reserved),
        ([192, 0, 2, 0], 24, Documentation),
        ([192, 88, 99, 0], 24, Reserved),
        ([192, 168, 0, 0], 16, Private),
        ([198, 18, 0, 0], 15, Reserved),
        ([198, 51, 100, 0], 24, Documentation),
        ([203, 0, 113, 0], 24, Documentation),
        ([224, 0, 0, 0], 4, Multicast),
        ([255, 255, 255, 255], 32, Broadcast),
        ([240, 0, 0, 0], 4, Reserved),
    ];
    TABLE.iter().find(|(net, prefix, _)| in_v4(ip, *net, *prefix)).map_or(Public, |(_, _, class)| *class)
}

fn in_v6(ip: Ipv6Addr, net: [u16; 8], prefix: u32) -> bool {
    let mask = if prefix == 0 { 0 } else { u128::MAX << (128 - prefix) };
    (u128::from(ip) & mask) == (u128::from(Ipv6Addr::from(net)) & mask)
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    use AddressClass::*;
    const TABLE: &[([u16; 8], u32, AddressClass)] = &[
        ([0, 0, 0, 0, 0, 0, 0, 0], 128, Unspecified),
        ([0, 0, 0, 0, 0, 0, 0, 1], 128, Loopback),
        // IPv4-compatible (deprecated) and the rest of ::/8.
        ([0, 0, 0, 0, 0, 0, 0, 0], 8, Reserved),
        ([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48, Reserved),
        ([0x100, 0, 0, 0, 0, 0, 0, 0], 64, Reserved),
        ([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32, Documentation),
        // IETF protocol assignments: Teredo, benchmarking, ORCHID, AMT, ...
        ([0x2001, 0, 0, 0, 0, 0, 0, 0], 23, Reserved),
        ([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20, Documentation),
        ([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7, UniqueLocal),
        ([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10, LinkLocal),
        ([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10, UniqueLocal),
        ([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, Multicast),
    ];
    if let Some((_, _, class)) = TABLE.iter().find(|(net, prefix, _)| in_v6(ip, *net, *prefix)) {
        return *class;
    }
    // Global unicast is 2000::/3; nothing outside it is assigned for hosts.
    if in_v6(ip, [0x2000, 0, 0, 0, 0, 0, 0, 0], 3) { Public } else { Reserved }
}

/// What outbound requests may reach.
#[derive(Debug, Clone, Default)]
pub struct AddressPolicy {
    /// Allow loopback, private (RFC 1918), shared (CGNAT) and unique-local
    /// addresses. Link-local (metadata), unspecified, multicast, broadcast,
    /// documentation and reserved addresses stay refused.
    pub allow_private_networks: bool,
    /// Networks allowed whatever their class (an intranet docs host, say),
    /// except addresses that are never a host (unspecified, multicast, broadcast).
    pub allowed_networks: Vec<IpNet>,
}

impl AddressPolicy {
    /// Nothing but the public internet.
    pub fn public_only() -> Self {
        Self::default()
    }

    /// `Ok` when the address may be reached, else the class that refuses it.
    pub fn check(&self, ip: IpAddr) -> Result<(), AddressClass> {
        let class = classify(ip);
        if class == AddressClass::Public {
            return Ok(());
        }
        if class.is_never_a_host() {
            return Err(class);
        }
        if self.allow_private_networks && class.is_private_network() {
            return Ok(());
        }
        // Match allowed networks on the IPv4 address an IPv6 form carries, too.
        let plain = match ip {
            IpAddr::V6(v6) => embedded_ipv4(v6).map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        if self.allowed_networks.iter().any(|net| net.contains(&plain) || net.contains(&ip)) {
            return Ok(());
        }
        Err(class)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_special_range_has_its_class() {
        use AddressClass::*;
        let table: &[(&str, AddressClass)] = &[
            ("8.8.8.8", Public),
            ("93.184.215.14", Public),
            ("1.1.1.1", Public),
            ("127.0.0.1", Loopback),
            ("127.255.255.254", Loopback),
            ("10.0.0.1", Private),
            ("10.255.255.255", Private),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("172.32.0.1", Public),
            ("172.15.255.255", Public),
            ("192.168.1.1", Private),
            ("100.64.0.1", SharedCgnat),
            ("100.100.100.200", SharedCgnat),
            ("100.127.255.255", SharedCgnat),
            ("100.128.0.0", Public),
            ("169.254.169.254", LinkLocal),
            ("169.254.0.1", LinkLocal),
            ("0.0.0.0", Unspecified),
            ("0.1.2.3", Unspecified),
            ("224.0.0.1", Multicast),
            ("239.255.255.250", Multicast),
            ("255.255.255.255", Broadcast),
            ("240.0.0.1", Reserved),
            ("192.0.0.170", Reserved),
            ("198.18.0.1", Reserved),
            ("192.0.2.1", Documentation),
            ("198.51.100.7", Documentation),
            ("203.0.113.9", Documentation),
            ("::1", Loopback),
            ("::", Unspecified),
            ("::ffff:127.0.0.1", Loopback),
            ("::ffff:7f00:1", Loopback),
            ("::ffff:169.254.169.254", LinkLocal),
            ("::ffff:10.1.2.3", Private),
            ("::ffff:8.8.8.8", Public),
            ("::127.0.0.1", Reserved),
            ("64:ff9b::127.0.0.1", Loopback),
            ("64:ff9b::a9fe:a9fe", LinkLocal),
            ("64:ff9b::808:808", Public),
            ("64:ff9b:1::1", Reserved),
            ("2002:7f00:1::", Loopback),
            ("2002:a9fe:a9fe::1", LinkLocal),
            ("2002:808:808::1", Public),
            ("fc00::1", UniqueLocal),
            ("fd00:ec2::254", UniqueLocal),
            ("fec0::1", UniqueLocal),
            ("fe80::1", LinkLocal),
            ("febf::1", LinkLocal),
            ("ff02::1", Multicast),
            ("2001:db8::1", Documentation),
            ("3fff::1", Documentation),
            ("2001::1", Reserved),
            ("2001:2::1", Reserved),
            ("100::1", Reserved),
            ("2606:4700::1111", Public),
            ("2a00:1450:4001::1", Public),
            ("4000::1", Reserved),
        ];
        for (text, want) in table {
            let ip: IpAddr = text.parse().unwrap();
            assert_eq!(classify(ip), *want, "{text}");
        }
    }

    #[test]
    fn the_policy_opens_private_networks_only_when_asked_and_never_metadata() {
        let strict = AddressPolicy::public_only();
        let open = AddressPolicy { allow_private_networks: true, ..Default::default() };
        for private in ["127.0.0.1", "10.0.0.1", "100.64.1.1", "fd00::1", "::ffff:192.168.0.1", "::1"] {
            let ip: IpAddr = private.parse().unwrap();
            assert!(strict.check(ip).is_err(), "{private}");
            assert!(open.check(ip).is_ok(), "{private}");
        }
        for never in ["169.254.169.254", "::ffff:169.254.169.254", "fe80::1", "0.0.0.0", "::", "224.0.0.1", "192.0.2.1"]
        {
            let ip: IpAddr = never.parse().unwrap();
            assert!(strict.check(ip).is_err(), "{never}");
            assert!(open.check(ip).is_err(), "{never}");
        }
        assert!(strict.check("8.8.8.8".parse().unwrap()).is_ok());
    }

    #[test]
    fn allowed_networks_are_exact_exceptions() {
        let policy = AddressPolicy {
            allow_private_networks: false,
            allowed_networks: vec!["127.0.0.1/32".parse().unwrap(), "10.9.0.0/16".parse().unwrap()],
        };
        assert!(policy.check("127.0.0.1".parse().unwrap()).is_ok());
        assert!(policy.check("::ffff:127.0.0.1".parse().unwrap()).is_ok(), "mapped form of an allowed address");
        assert_eq!(policy.check("127.0.0.2".parse().unwrap()), Err(AddressClass::Loopback));
        assert!(policy.check("10.9.200.1".parse().unwrap()).is_ok());
        assert_eq!(policy.check("10.10.0.1".parse().unwrap()), Err(AddressClass::Private));
        let silly = AddressPolicy { allowed_networks: vec!["0.0.0.0/0".parse().unwrap()], ..Default::default() };
        assert_eq!(silly.check("0.0.0.0".parse().unwrap()), Err(AddressClass::Unspecified));
        assert_eq!(silly.check("255.255.255.255".parse().unwrap()), Err(AddressClass::Broadcast));
    }
}
