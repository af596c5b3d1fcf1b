//! VMACs (keepalived's `use_vmac`): what an instance's macvlan is (name,
//! MAC, base interface, sysctls) and which existing links are ours. Pure;
//! `crate::net::vmac` creates, adopts and deletes them.
//!
//! keepalived 2.2.7 (`vrrp_vmac.c`, `vrrp_if_config.c`) creates, per
//! instance with `use_vmac`, a macvlan in private mode on the instance's
//! interface, MAC 00:00:5e:00:01:VRID (IPv4) or 00:00:5e:00:02:VRID (IPv6)
//! unless one is given, and keeps it up from start to stop whatever the
//! instance's state: the virtual addresses go on it, adverts and
//! gratuitous ARPs / NAs leave through it (unless `vmac_xmit_base`, where
//! adverts leave from the base interface), so neighbours always see the
//! virtual MAC for a virtual address and never relearn it on failover.

use serde::{Deserialize, Serialize};

pub use crate::config::{mac_problem, parse_mac};
use crate::config::{Instance, Vip};
use crate::net::netlink::LinkFacts;
pub use crate::net::sysctl::Tree;
use crate::proto::{virtual_mac, Family};

/// A MAC address.
pub type Mac = [u8; 6];

/// `MACVLAN_MODE_PRIVATE` (linux/if_link.h): the macvlan receives nothing
/// its siblings send, and a multicast frame from its own MAC (the Master's
/// adverts, when the Backup also has the VMAC) is delivered to it only.
pub const MACVLAN_MODE_PRIVATE: u32 = 1;

/// What one instance's VMAC is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmacSpec {
    /// The macvlan's name (`use_vmac NAME`, default `vrrp.VRID`).
    pub name: String,
    /// The instance's interface, the macvlan's lower device.
    pub base: String,
    pub mac: Mac,
    pub family: Family,
    /// Adverts leave from the base interface (`vmac_xmit_base`).
    pub xmit_base: bool,
    /// IPv6 runs on the macvlan: an IPv6 instance, or an IPv4 one with
    /// IPv6 excluded addresses (keepalived's `VRRP_FLAG_EVIP_OTHER_FAMILY`).
    pub ipv6: bool,
    /// The interface group (`use_vmac ... group G`, a number or a name
    /// of iproute2's `group` file, see [`group_number`]); `None` copies the
    /// base interface's, as keepalived does.
    pub group: Option<String>,
}

/// The VMAC of `inst`, if it uses one.
pub fn spec(inst: &Instance) -> Option<VmacSpec> {
    let name = inst.use_vmac.clone()?;
    let mac = inst
        .vmac_mac
        .as_deref()
        .and_then(parse_mac)
        .unwrap_or_else(|| virtual_mac(inst.family, inst.vrid));
    let other_family = inst
        .vips
        .iter()
        .chain(&inst.excluded_vips)
        .any(|v| Family::of(&v.addr) != inst.family);
    Some(VmacSpec {
        name,
        base: inst.interface.clone().unwrap_or_default(),
        mac,
        family: inst.family,
        // keepalived forces vmac_xmit_base for unicast instances: unicast
        // adverts from the VMAC would reach the peer's macvlan only if it
        // has one (vrrp_parser.c).
        xmit_base: inst.vmac_xmit_base || inst.is_unicast(),
        ipv6: inst.family == Family::Ipv6 || other_family,
        group: inst.vmac_group.clone(),
    })
}

/// The VMAC of virtual address `vip` of `inst`, if it has one of its own
/// (keepalived's `use_vmac` on an address, `use_vmac_addr`; named at load,
/// `crate::config::Vip::vmac`): a macvlan on the address's interface
/// (`dev`, else the instance's) with the instance's VMAC MAC if one is
/// given, else the virtual MAC of the address's family, as keepalived's
/// stand-in instance for it has. Its IPv6 is on for an IPv6 address only.
pub fn address_spec(inst: &Instance, vip: &Vip) -> Option<VmacSpec> {
    let name = vip.vmac.clone()?;
    let family = Family::of(&vip.addr);
    let base = vip.dev.clone().or_else(|| inst.interface.clone())?;
    let mac = inst
        .vmac_mac
        .as_deref()
        .and_then(parse_mac)
        .unwrap_or_else(|| virtual_mac(family, inst.vrid));
    Some(VmacSpec {
        name,
        base,
        mac,
        family,
        // Nothing is sent from it but announcements; an IPv6 one still
        // carries its base's link-local address, as keepalived adds it.
        xmit_base: false,
        ipv6: family == Family::Ipv6,
        group: None,
    })
}

/// Every address VMAC of `instances`, once per name (several addresses
/// and instances share one: same base, same MAC).
pub fn address_specs<'a>(instances: impl IntoIterator<Item = &'a Instance>) -> Vec<VmacSpec> {
    let mut out: Vec<VmacSpec> = Vec::new();
    for inst in instances {
        for vip in inst.vips.iter().chain(&inst.excluded_vips) {
            if let Some(spec) = address_spec(inst, vip) {
                if !out.iter().any(|s| s.name == spec.name) {
                    out.push(spec);
                }
            }
        }
    }
    out
}

/// The address VMACs `old` had whose names `new` does not use (a reload
/// deletes them; one whose name stays was made as `new` says on the way).
pub fn address_vmacs_gone(old: &[VmacSpec], new: &[VmacSpec]) -> Vec<VmacSpec> {
    old.iter()
        .filter(|o| !new.iter().any(|n| n.name == o.name))
        .cloned()
        .collect()
}

/// The number of interface group `group`: a number as it is, else its
/// line in iproute2's `group` file `table` ("NUMBER NAME", `#` comments).
pub fn group_number(group: &str, table: &str) -> Option<u32> {
    if let Ok(n) = group.parse() {
        return Some(n);
    }
    table.lines().find_map(|line| {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        let number = words.next()?;
        (words.next() == Some(group)).then(|| number.parse().ok())?
    })
}

/// Whether `inst`'s adverts leave through its VMAC (it has one, without
/// `vmac_xmit_base`); its socket is then bound to the VMAC.
pub fn sends_through_vmac(inst: &Instance) -> bool {
    spec(inst).is_some_and(|s| !s.xmit_base)
}

pub fn format_mac(mac: &Mac) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// One sysctl to write on one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysctlWrite {
    pub tree: Tree,
    pub ifname: String,
    pub key: &'static str,
    pub value: u32,
}

/// What keepalived 2.2.7 sets on a macvlan it created, before it is up
/// (`vmac_sysctl[]` and `set_interface_parameters()` in
/// `vrrp_if_config.c`, `link_set_ipv6()`, the `IFLA_INET6_ADDR_GEN_MODE`
/// request in `netlink_link_add_vmac()`):
/// - `arp_ignore=1`: answer ARP only for addresses on the macvlan itself,
///   never for the base interface's;
/// - `accept_local=1`: hear another local instance's adverts;
/// - `rp_filter=0`: receive adverts on a macvlan that has no address
///   (their source is routed through the base interface);
/// - `promote_secondaries=1`, as keepalived sets on every VMAC;
/// - `addr_gen_mode=1` (none): no EUI-64 link-local address from the
///   virtual MAC (RFC 5798 §7.4: adverts come from the node's own address);
/// - `disable_ipv6`: IPv6 off unless the instance needs it.
pub fn vmac_sysctls(spec: &VmacSpec) -> Vec<SysctlWrite> {
    let w = |tree, key, value| SysctlWrite {
        tree,
        ifname: spec.name.clone(),
        key,
        value,
    };
    vec![
        w(Tree::Ipv4, "arp_ignore", 1),
        w(Tree::Ipv4, "accept_local", 1),
        w(Tree::Ipv4, "rp_filter", 0),
        w(Tree::Ipv4, "promote_secondaries", 1),
        w(Tree::Ipv6, "addr_gen_mode", 1),
        w(Tree::Ipv6, "disable_ipv6", u32::from(!spec.ipv6)),
    ]
}

/// What vrrpd sets on the base interface of an IPv4 VMAC, saving the old
/// values to put back at stop. keepalived's (`parent_sysctl[]`):
/// `arp_ignore=1` (the base must not answer ARP for a virtual address,
/// which lives on the macvlan) and `arp_filter=1` (nor answer for its own
/// addresses on the macvlan's behalf). And `arp_announce=2`, which
/// keepalived leaves to the operator (its software design document asks
/// for `arp_announce`): replies from a virtual address leave through the
/// base (its route to the subnet), and without it the kernel's ARP
/// request for the client carries the virtual address as sender with the
/// base's MAC, which the client takes for the virtual address's new MAC
/// (netns-tests/68 sees exactly that from keepalived 2.2.7).
pub const BASE_SYSCTLS: [(&str, u32); 3] =
    [("arp_ignore", 1), ("arp_filter", 1), ("arp_announce", 2)];

/// Whether the base interface gets [`BASE_SYSCTLS`]: keepalived sets
/// them for IPv4 instances only (ARP is IPv4's).
pub fn sets_base_sysctls(spec: &VmacSpec) -> bool {
    spec.family == Family::Ipv4
}

/// How a running instance's VMAC sits now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmacLink {
    pub name: String,
    pub ifindex: u32,
    pub mac: Mac,
    /// The base interface's index: the macvlan follows it (deleted with
    /// it by the kernel, re-created on it when it comes back).
    pub base_ifindex: u32,
}

/// What to do with a link that already has the VMAC's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Ours as it should be: use it unchanged (an upgrade, a reload).
    Reuse,
    /// A macvlan with another base, MAC or mode: delete it and create ours
    /// (keepalived's "Removing old VMAC interface ... due to conflicting
    /// interface" / "Update old VMAC interface").
    Replace,
    /// Not a macvlan: never touched; the instance cannot start.
    Conflict,
}

/// What to do with `link`, the link named as `spec`'s VMAC, on a base of
/// index `base_ifindex`.
pub fn judge_existing(spec: &VmacSpec, base_ifindex: u32, link: &LinkFacts) -> Existing {
    let Some(mode) = link.macvlan_mode else {
        return Existing::Conflict;
    };
    if mode == MACVLAN_MODE_PRIVATE
        && link.mac == Some(spec.mac)
        && link.base_ifindex == Some(base_ifindex)
    {
        Existing::Reuse
    } else {
        Existing::Replace
    }
}

/// Whether `link` is a VMAC a daemon left behind (a SIGKILL, a crash):
/// a macvlan with a VRRP virtual MAC (00:00:5e:00:01:xx / 02:xx) named as
/// keepalived names them (`vrrp.VRID`, `vrrpN.VRID`), or named as one of
/// `configured` with the MAC `configured` gives it. Anything else, whatever
/// its name, is someone else's and never deleted.
pub fn is_leftover(link: &LinkFacts, configured: &[VmacSpec]) -> bool {
    if link.macvlan_mode.is_none() {
        return false;
    }
    let Some(mac) = link.mac else {
        return false;
    };
    if configured
        .iter()
        .any(|s| s.name == link.name && s.mac == mac)
    {
        return true;
    }
    let vrrp_mac = mac[..4] == [0, 0, 0x5e, 0] && matches!(mac[4], 1 | 2);
    vrrp_mac && keepalived_name(&link.name)
}

/// `vrrp.N` or `vrrpM.N` with decimal M and N: keepalived's generated
/// names (`create_vmac_name()`, default prefix "vrrp").
fn keepalived_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("vrrp") else {
        return false;
    };
    let Some((num, vrid)) = rest.split_once('.') else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (num.is_empty() || digits(num)) && digits(vrid) && vrid.parse::<u16>().is_ok_and(|v| v <= 255)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{UnicastPeer, Vip};
    use crate::proto::Vrid;

    fn inst(family: Family) -> Instance {
        let mut i = Instance::new("VI_1", Vrid::new(51).unwrap());
        i.interface = Some("eth0".into());
        i.family = family;
        i.use_vmac = Some("vrrp.51".into());
        i
    }

    fn facts(name: &str, mode: Option<u32>, mac: Mac, base: u32) -> LinkFacts {
        LinkFacts {
            name: name.into(),
            index: 9,
            running: true,
            mac: Some(mac),
            macvlan_mode: mode,
            base_ifindex: Some(base),
        }
    }

    #[test]
    fn the_vmac_mac_is_rfc_5798_per_family_unless_given() {
        let s = spec(&inst(Family::Ipv4)).unwrap();
        assert_eq!(s.mac, [0, 0, 0x5e, 0, 1, 51]);
        assert_eq!(format_mac(&s.mac), "00:00:5e:00:01:33");
        assert!(!s.ipv6 && !s.xmit_base);
        let s = spec(&inst(Family::Ipv6)).unwrap();
        assert_eq!(s.mac, [0, 0, 0x5e, 0, 2, 51]);
        assert!(s.ipv6);
        let mut given = inst(Family::Ipv4);
        given.vmac_mac = Some("02:00:00:00:aa:01".into());
        assert_eq!(spec(&given).unwrap().mac, [2, 0, 0, 0, 0xaa, 1]);
        assert_eq!(spec(&Instance::new("x", Vrid::new(1).unwrap())), None);
    }

    #[test]
    fn unicast_forces_xmit_base_and_other_family_vips_enable_ipv6() {
        let mut i = inst(Family::Ipv4);
        i.unicast_peers = vec![UnicastPeer {
            addr: "192.0.2.2".parse().unwrap(),
            min_ttl: None,
            max_ttl: None,
        }];
        i.excluded_vips = vec![Vip::host("2001:db8::5".parse().unwrap())];
        let s = spec(&i).unwrap();
        assert!(s.xmit_base);
        assert!(s.ipv6);
    }

    #[test]
    fn groups_are_numbers_or_names_of_the_iproute2_table() {
        let table = "# comment\n0\tdefault\n7 lb # ours\n";
        assert_eq!(group_number("12", ""), Some(12));
        assert_eq!(group_number("default", table), Some(0));
        assert_eq!(group_number("lb", table), Some(7));
        assert_eq!(group_number("nope", table), None);
    }

    #[test]
    fn macs_parse_as_keepalived_reads_them() {
        assert_eq!(parse_mac("2:0:0:0:a:1"), Some([2, 0, 0, 0, 0xa, 1]));
        for bad in [
            "",
            "02:00:00:00:00",
            "02:00:00:00:00:00:00",
            "02:x0:00:00:00:01",
            "002:0:0:0:0:1",
        ] {
            assert_eq!(parse_mac(bad), None, "{bad}");
        }
        assert_eq!(mac_problem(&[1, 0, 0, 0, 0, 1]), Some("is multicast"));
        assert!(mac_problem(&[0, 0, 0x5e, 0, 1, 7]).is_some());
        assert_eq!(mac_problem(&[2, 0, 0, 0, 0, 1]), None);
    }

    #[test]
    fn sysctls_are_keepalived_227s_and_ipv6_is_off_for_an_ipv4_vmac() {
        let s = spec(&inst(Family::Ipv4)).unwrap();
        let got: Vec<(Tree, &str, u32)> = vmac_sysctls(&s)
            .iter()
            .map(|w| (w.tree, w.key, w.value))
            .collect();
        assert_eq!(
            got,
            [
                (Tree::Ipv4, "arp_ignore", 1),
                (Tree::Ipv4, "accept_local", 1),
                (Tree::Ipv4, "rp_filter", 0),
                (Tree::Ipv4, "promote_secondaries", 1),
                (Tree::Ipv6, "addr_gen_mode", 1),
                (Tree::Ipv6, "disable_ipv6", 1),
            ]
        );
        assert!(vmac_sysctls(&s).iter().all(|w| w.ifname == "vrrp.51"));
        let s6 = spec(&inst(Family::Ipv6)).unwrap();
        assert!(vmac_sysctls(&s6)
            .iter()
            .any(|w| w.key == "disable_ipv6" && w.value == 0));
        assert!(sets_base_sysctls(&s) && !sets_base_sysctls(&s6));
    }

    #[test]
    fn an_existing_link_is_reused_only_when_it_is_ours_as_configured() {
        let s = spec(&inst(Family::Ipv4)).unwrap();
        let mac = s.mac;
        let private = Some(MACVLAN_MODE_PRIVATE);
        let j = |f: &LinkFacts| judge_existing(&s, 2, f);
        assert_eq!(j(&facts("vrrp.51", private, mac, 2)), Existing::Reuse);
        assert_eq!(j(&facts("vrrp.51", private, mac, 3)), Existing::Replace);
        assert_eq!(j(&facts("vrrp.51", Some(4), mac, 2)), Existing::Replace);
        assert_eq!(
            j(&facts("vrrp.51", private, [2, 0, 0, 0, 0, 1], 2)),
            Existing::Replace
        );
        assert_eq!(j(&facts("vrrp.51", None, mac, 2)), Existing::Conflict);
    }

    #[test]
    fn leftovers_are_macvlans_with_a_vrrp_mac_and_keepalived_name_or_configured() {
        let v4 = [0, 0, 0x5e, 0, 1, 51];
        let p = Some(MACVLAN_MODE_PRIVATE);
        assert!(is_leftover(&facts("vrrp.51", p, v4, 2), &[]));
        assert!(is_leftover(
            &facts("vrrp6.51", p, [0, 0, 0x5e, 0, 2, 51], 2),
            &[]
        ));
        assert!(is_leftover(&facts("vrrp12.7", Some(4), v4, 2), &[]));
        // Someone else's: another name, another MAC, not a macvlan.
        assert!(!is_leftover(&facts("mv0", p, v4, 2), &[]));
        assert!(!is_leftover(
            &facts("vrrp.51", p, [2, 0, 0, 0, 0, 1], 2),
            &[]
        ));
        assert!(!is_leftover(&facts("vrrp.51", None, v4, 2), &[]));
        assert!(!is_leftover(&facts("vrrp.300", p, v4, 2), &[]));
        assert!(!is_leftover(&facts("vrrpx.1", p, v4, 2), &[]));
        // A configured name with its configured MAC is ours.
        let mut i = inst(Family::Ipv4);
        i.use_vmac = Some("lb0".into());
        i.vmac_mac = Some("02:00:00:00:aa:01".into());
        let s = spec(&i).unwrap();
        assert!(is_leftover(
            &facts("lb0", p, s.mac, 2),
            std::slice::from_ref(&s)
        ));
        assert!(!is_leftover(&facts("lb0", p, v4, 2), &[s]));
    }
}
