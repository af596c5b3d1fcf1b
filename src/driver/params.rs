//! From a configured instance to what the state machine and the adapters
//! need: [`Params`], the source address, the addresses to install, where
//! adverts go and how their checksum is summed. Pure.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use crate::config::{Config, Global, Instance, RxBufsPolicy, Scope, Vip};
use crate::net::netlink::AddressSpec;
use crate::proto::fsm::{AnnounceSchedule, Params};
use crate::proto::wire::{ChecksumMode, MULTICAST_V4, MULTICAST_V6};
use crate::proto::Family;

/// The state machine's parameters for `inst`, with `source` our primary
/// address on its interface.
pub fn params(inst: &Instance, source: IpAddr) -> Params {
    let mut p = Params::new(
        inst.version,
        inst.vrid,
        source,
        inst.vips.iter().map(|v| v.addr).collect(),
    );
    p.priority = inst.priority;
    p.advert_interval = inst.advert_int;
    p.excluded_addresses = inst.excluded_vips.iter().map(|v| v.addr).collect();
    p.auth = inst.auth;
    p.preempt = !inst.nopreempt;
    p.preempt_delay = inst.preempt_delay.as_duration();
    p.down_timer_adverts = inst.down_timer_adverts;
    let garp = &inst.garp;
    p.announce = AnnounceSchedule {
        master_repeat: garp.master_repeat,
        master_delay: garp.master_delay.as_duration(),
        master_refresh: Some(garp.master_refresh.as_duration()).filter(|d| !d.is_zero()),
        master_refresh_repeat: garp.master_refresh_repeat,
        lower_prio_repeat: garp.lower_prio_repeat,
        lower_prio_delay: garp.lower_prio_delay.as_duration(),
    };
    // vrrpd sends its step-down advert unless strict mode asks for RFC
    // behaviour to the letter (keepalived's `higher_prio_send_advert` is
    // off by default; see README "Deliberate differences").
    p.step_down_advert = !inst.strict || inst.higher_prio_send_advert;
    p.fast_handover = inst.fast_handover;
    p.owner_ignore_adverts = inst.owner_ignore_adverts;
    p.timer_expired_backup = inst.timer_expired_backup.map(crate::proto::Priority);
    p
}

/// Where adverts go: the multicast group, or each unicast peer.
pub fn destinations(inst: &Instance) -> impl Iterator<Item = IpAddr> + '_ {
    let (peers, group) = if inst.is_unicast() {
        (Some(inst.unicast_peers.iter().map(|p| p.addr)), None)
    } else {
        (None, Some(multicast_group(inst)))
    };
    peers.into_iter().flatten().chain(group)
}

pub fn multicast_group(inst: &Instance) -> IpAddr {
    match (inst.mcast_dst_ip, inst.family) {
        (Some(group), _) => group,
        (None, Family::Ipv4) => IpAddr::V4(MULTICAST_V4),
        (None, Family::Ipv6) => IpAddr::V6(MULTICAST_V6),
    }
}

/// `garp_extra_if` as keepalived runs it (vrrp.c vrrp_send_vmac_update()
/// and vrrp_complete_instance()): the period, and the one address per
/// interface to announce each round, in configuration order. `None` when
/// there is nothing to do: no `garp_extra_if`, or no address on an
/// interface other than the instance's own, or, without `all`, none on
/// a VMAC of an address (keepalived then announces on VMACs only: those
/// of addresses, and the instance's own with `vmac_xmit_base`). The
/// instance's own interface (its VMAC) is included with `vmac_xmit_base`
/// only: otherwise its adverts already refresh the switches.
pub fn extra_garp(inst: &Instance) -> Option<(Duration, Vec<IpAddr>)> {
    let g = inst.garp_extra_if.filter(|g| g.interval > 0)?;
    // With a VMAC the instance's own interface is the VMAC: an address
    // with `dev` naming the base is on another interface.
    let own = inst
        .interface
        .as_deref()
        .filter(|_| inst.use_vmac.is_none());
    // The interface an address is on, `None` for the instance's own, and
    // whether vrrpd made it (a VMAC).
    fn on<'a>(v: &'a Vip, own: Option<&str>, has_vmac: bool) -> (Option<&'a str>, bool) {
        match (v.vmac.as_deref(), v.dev.as_deref()) {
            (Some(vmac), _) => (Some(vmac), true),
            (None, Some(dev)) if Some(dev) != own => (Some(dev), false),
            _ => (None, has_vmac),
        }
    }
    let has_vmac = inst.use_vmac.is_some();
    let on = |v| on(v, own, has_vmac);
    let vips = || inst.vips.iter().chain(&inst.excluded_vips);
    let extra_vmac = vips().any(|v| v.vmac.is_some());
    let extra_if = vips().any(|v| matches!(on(v), (Some(_), false)));
    if !(extra_vmac || (extra_if && g.all)) {
        return None;
    }
    let own_too = inst.use_vmac.is_some() && inst.vmac_xmit_base;
    let mut seen: Vec<Option<&str>> = Vec::new();
    let mut out = Vec::new();
    for v in vips() {
        let (at, ours) = on(v);
        if (ours || g.all) && (at.is_some() || own_too) && !seen.contains(&at) {
            seen.push(at);
            out.push(v.addr);
        }
    }
    Some((Duration::from_secs(u64::from(g.interval)), out))
}

/// The interfaces whose link state is polled (keepalived's
/// init_interface_linkbeat()): those of `linkbeat_interfaces` and of
/// instances with `linkbeat_use_polling`, only where an instance uses
/// them (its interface, or a `track_interface`), never a VMAC (netlink
/// works for those: an instance with `use_vmac` sits on one).
pub fn linkbeat_interfaces(config: &Config) -> Vec<String> {
    let used = |name: &str| {
        config.instances.iter().any(|i| {
            i.interface.as_deref() == Some(name)
                || i.track_interfaces.iter().any(|t| t.name == name)
        })
    };
    let mut out: Vec<String> = config
        .instances
        .iter()
        .filter(|i| i.linkbeat_use_polling && i.use_vmac.is_none())
        .filter_map(|i| i.interface.clone())
        .chain(
            config
                .linkbeat_interfaces
                .iter()
                .filter(|n| used(n))
                .cloned(),
        )
        .collect();
    out.sort();
    out.dedup();
    out
}

/// keepalived's vrrp_adv_len(): an advert's length as its socket receives
/// it (the IPv4 header included; VRRPv2 always counts the 8 auth bytes).
pub fn advert_len(inst: &Instance) -> usize {
    let vips = inst.vips.len();
    match inst.family {
        Family::Ipv4 => {
            let auth = if inst.version == crate::proto::Version::V2 {
                8
            } else {
                0
            };
            20 + 8 + auth + 4 * vips
        }
        Family::Ipv6 => 8 + 16 * vips,
    }
}

/// What `inst` adds to its socket's receive buffer (keepalived's
/// vrrp_scheduler.c): its `kernel_rx_buf_size`, else what the global
/// `vrrp_rx_bufs_policy` says (`mtu`: its interface's), else nothing.
pub fn rx_buf_share(inst: &Instance, global: &Global, mtu: u32) -> Option<usize> {
    if let Some(size) = inst.kernel_rx_buf_size {
        return usize::try_from(size).ok();
    }
    let times = usize::try_from(global.rx_bufs_multiplier).unwrap_or(usize::MAX);
    match global.rx_bufs_policy? {
        RxBufsPolicy::Size(size) => usize::try_from(size).ok(),
        RxBufsPolicy::Advert => Some(times.saturating_mul(advert_len(inst))),
        RxBufsPolicy::Mtu => Some(times.saturating_mul(usize::try_from(mtu).unwrap_or(usize::MAX))),
    }
}

/// The receive buffer of a socket the instances `on_socket` share: the
/// sum of their shares, as keepalived sizes a sockpool entry; `None` when
/// none has one (vrrpd keeps its own default, [`crate::net::socket::RECV_BUFFER`]).
pub fn recv_buffer<'a>(
    on_socket: impl IntoIterator<Item = &'a Instance>,
    global: &Global,
    mtu: impl Fn(&Instance) -> u32,
) -> Option<usize> {
    on_socket
        .into_iter()
        .filter_map(|i| rx_buf_share(i, global, mtu(i)))
        .reduce(usize::saturating_add)
}

/// The IPv4 TTL / IPv6 hop limit `inst`'s adverts leave with: 255
/// (RFC 9568 §5.1.1.3), or `unicast_ttl` for a unicast instance
/// (keepalived's vrrp->ttl: the IPv4 header, IPV6_HOPLIMIT ancillary data).
pub fn send_ttl(inst: &Instance) -> u8 {
    match inst.unicast_ttl {
        Some(ttl) if inst.is_unicast() => ttl,
        _ => crate::proto::wire::TTL,
    }
}

pub fn checksum_mode(inst: &Instance) -> ChecksumMode {
    if inst.v3_checksum_as_v2 {
        ChecksumMode::V2Style
    } else if inst.old_unicast_checksum == crate::config::OldUnicastChecksum::Always {
        old_unicast_checksum(inst)
    } else {
        ChecksumMode::PseudoHeader
    }
}

/// keepalived 1.3.6's unicast VRRPv3 sum: the IPv4 group in the
/// pseudo-header (keepalived takes the global `vrrp_mcast_group4`, which
/// vrrpd's instances carry unless `mcast_dst_ip` overrides it).
pub fn old_unicast_checksum(inst: &Instance) -> ChecksumMode {
    match multicast_group(inst) {
        IpAddr::V4(group) => ChecksumMode::OldUnicast(group),
        IpAddr::V6(_) => ChecksumMode::OldUnicast(MULTICAST_V4),
    }
}

/// The configured source address, if any (`unicast_src_ip`, `mcast_src_ip`).
pub fn configured_source(inst: &Instance) -> Option<IpAddr> {
    if inst.is_unicast() {
        inst.unicast_src.or(inst.mcast_src_ip)
    } else {
        inst.mcast_src_ip.or(inst.unicast_src)
    }
}

/// keepalived's choice of primary address when none is configured: the
/// interface's first IPv4 address, or its IPv6 link-local address
/// (RFC 9568 §5.1.2.1: IPv6 adverts come from the link-local address).
pub fn primary_address(
    family: Family,
    addresses: &[(IpAddr, u8)],
    ours: &[IpAddr],
) -> Option<IpAddr> {
    addresses
        .iter()
        .map(|(a, _)| *a)
        .filter(|a| !ours.contains(a))
        .find(|a| match (family, a) {
            (Family::Ipv4, IpAddr::V4(_)) => true,
            (Family::Ipv6, IpAddr::V6(v6)) => (v6.segments()[0] & 0xffc0) == 0xfe80,
            _ => false,
        })
}

/// The advert source of `inst` on an interface with `present` addresses:
/// the configured one, else keepalived's primary address (never a VIP).
/// With `track_src_ip` the configured one counts only while present
/// (none, and the instance waits in FAULT, as keepalived's does).
pub fn source_address(inst: &Instance, present: &[(IpAddr, u8)]) -> Option<IpAddr> {
    match configured_source(inst) {
        Some(s) if inst.track_src_ip && !present.iter().any(|(a, _)| *a == s) => None,
        Some(s) => Some(s),
        None => {
            let vips: Vec<IpAddr> = inst.vips.iter().map(|v| v.addr).collect();
            primary_address(inst.family, present, &vips)
        }
    }
}

/// How netlink should install `vip` (keepalived's `ip addr add` grammar).
pub fn address_spec(vip: &Vip) -> AddressSpec {
    let mut spec = AddressSpec::host(vip.addr);
    spec.prefix = vip.prefix;
    spec.label = vip.label.clone();
    spec.scope = match vip.scope {
        None | Some(Scope::Global) => 0,
        Some(Scope::Site) => 200,
        Some(Scope::Link) => 253,
        Some(Scope::Host) => 254,
        Some(Scope::Nowhere) => 255,
    };
    spec.broadcast = match (vip.addr, vip.brd.as_deref()) {
        (IpAddr::V4(addr), Some("+")) => Some(broadcast_of(addr, vip.prefix)),
        (IpAddr::V4(_), Some(text)) => text.parse().ok(),
        _ => None,
    };
    // keepalived adds IPv6 VIPs with IFA_F_NODAD unless `dad` is given.
    spec.nodad = vip.addr.is_ipv6() && !vip.dad;
    spec
}

fn broadcast_of(addr: Ipv4Addr, prefix: u8) -> Ipv4Addr {
    let host_bits = u32::MAX.checked_shr(u32::from(prefix)).unwrap_or(0);
    Ipv4Addr::from(u32::from(addr) | host_bits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{Centis, Priority, Vrid};

    fn seed() -> Instance {
        let mut inst = Instance::new("loadbalancer1", Vrid::new(101).unwrap());
        inst.priority = Priority(101);
        inst.unicast_src = Some("192.0.2.20".parse().unwrap());
        inst.unicast_peers = vec![crate::config::UnicastPeer {
            addr: "192.0.2.21".parse().unwrap(),
            min_ttl: None,
            max_ttl: None,
        }];
        inst.vips = vec![Vip::host("192.0.2.30".parse().unwrap())];
        inst
    }

    #[test]
    fn params_carry_the_instance_settings() {
        let mut inst = seed();
        inst.nopreempt = true;
        inst.advert_int = Centis(100);
        let p = params(&inst, "192.0.2.20".parse().unwrap());
        assert_eq!(p.priority, Priority(101));
        assert!(!p.preempt);
        assert_eq!(*p.addresses, ["192.0.2.30".parse::<IpAddr>().unwrap()]);
        assert!(p.step_down_advert);
        assert!(p.validate().is_ok());
    }

    #[test]
    fn fast_handover_is_opt_in_from_keepalived_conf() {
        let text = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 7\n fast_handover\n virtual_ipaddress {\n  192.0.2.30\n }\n}\n";
        let loaded = crate::config::load_str("fast.conf", text, &Default::default());
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        let inst = &loaded.config.instances[0];
        assert!(params(inst, "192.0.2.1".parse().unwrap()).fast_handover);
        assert!(!params(&seed(), "192.0.2.20".parse().unwrap()).fast_handover);
    }

    #[test]
    fn unicast_goes_to_each_peer_multicast_to_the_group() {
        let inst = seed();
        assert_eq!(
            destinations(&inst).collect::<Vec<_>>(),
            ["192.0.2.21".parse::<IpAddr>().unwrap()]
        );
        let mut mc = seed();
        mc.unicast_peers.clear();
        assert_eq!(
            destinations(&mc).collect::<Vec<_>>(),
            [IpAddr::V4(MULTICAST_V4)]
        );
    }

    #[test]
    fn primary_address_skips_vips_and_prefers_link_local_for_ipv6() {
        let addrs: Vec<(IpAddr, u8)> = vec![
            ("192.0.2.30".parse().unwrap(), 32),
            ("192.0.2.1".parse().unwrap(), 24),
            ("2001:db8::1".parse().unwrap(), 64),
            ("fe80::1".parse().unwrap(), 64),
        ];
        let vip: IpAddr = "192.0.2.30".parse().unwrap();
        assert_eq!(
            primary_address(Family::Ipv4, &addrs, &[vip]),
            Some("192.0.2.1".parse().unwrap())
        );
        assert_eq!(
            primary_address(Family::Ipv6, &addrs, &[]),
            Some("fe80::1".parse().unwrap())
        );
    }

    #[test]
    fn extra_garp_picks_one_address_per_other_interface() {
        use crate::config::GarpExtraIf;
        let vip = |a: &str, dev: Option<&str>| {
            let mut v = Vip::host(a.parse().unwrap());
            v.dev = dev.map(String::from);
            v
        };
        let mut inst = seed();
        inst.interface = Some("eth0".into());
        inst.vips = vec![
            vip("192.0.2.30", None),
            vip("198.51.100.1", Some("eth1")),
            vip("198.51.100.2", Some("eth1")),
            vip("203.0.113.1", Some("eth2")),
            vip("192.0.2.31", Some("eth0")),
        ];
        assert_eq!(extra_garp(&inst), None, "not configured");
        inst.garp_extra_if = Some(GarpExtraIf {
            interval: 10,
            all: false,
        });
        assert_eq!(extra_garp(&inst), None, "without all: extra VMACs only");
        inst.garp_extra_if = Some(GarpExtraIf {
            interval: 10,
            all: true,
        });
        let addrs = |v: &[&str]| {
            v.iter()
                .map(|a| a.parse().unwrap())
                .collect::<Vec<IpAddr>>()
        };
        assert_eq!(
            extra_garp(&inst),
            Some((
                Duration::from_secs(10),
                addrs(&["198.51.100.1", "203.0.113.1"])
            ))
        );
        // A VMAC sending from its base: its own interface too; `dev eth0`
        // is then another interface (the base).
        inst.use_vmac = Some("vrrp.101".into());
        inst.vmac_xmit_base = true;
        assert_eq!(
            extra_garp(&inst).map(|(_, a)| a),
            Some(addrs(&[
                "192.0.2.30",
                "198.51.100.1",
                "203.0.113.1",
                "192.0.2.31"
            ]))
        );
        // Every address on the instance's interface: nothing to do.
        inst.use_vmac = None;
        inst.vips
            .retain(|v| v.dev.as_deref().is_none_or(|d| d == "eth0"));
        assert_eq!(extra_garp(&inst), None);
    }

    #[test]
    fn receive_buffers_add_up_per_socket_as_keepalived_sizes_them() {
        let mut g = Global::default();
        let mut a = seed();
        let mut b = seed();
        b.version = crate::proto::Version::V3;
        b.vips.push(Vip::host("192.0.2.31".parse().unwrap()));
        let mtu = |_: &Instance| 1500;
        // Nothing configured: vrrpd's default.
        assert_eq!(recv_buffer([&a, &b], &g, mtu), None);
        assert_eq!(advert_len(&a), 20 + 8 + 8 + 4);
        assert_eq!(advert_len(&b), 20 + 8 + 8);
        g.rx_bufs_policy = Some(RxBufsPolicy::Advert);
        assert_eq!(recv_buffer([&a, &b], &g, mtu), Some(3 * 40 + 3 * 36));
        g.rx_bufs_multiplier = 10;
        g.rx_bufs_policy = Some(RxBufsPolicy::Mtu);
        assert_eq!(recv_buffer([&a, &b], &g, mtu), Some(2 * 15000));
        // An instance's own size replaces the policy for it only.
        a.kernel_rx_buf_size = Some(65536);
        assert_eq!(recv_buffer([&a, &b], &g, mtu), Some(65536 + 15000));
        g.rx_bufs_policy = Some(RxBufsPolicy::Size(1000));
        assert_eq!(recv_buffer([&a, &b], &g, mtu), Some(66536));
        g.rx_bufs_policy = None;
        assert_eq!(recv_buffer([&a, &b], &g, mtu), Some(65536));
    }

    #[test]
    fn unicast_ttl_sets_the_ttl_of_unicast_adverts_only() {
        let mut inst = seed();
        assert_eq!(send_ttl(&inst), 255);
        inst.unicast_ttl = Some(64);
        assert_eq!(send_ttl(&inst), 64);
        inst.unicast_peers.clear();
        assert_eq!(send_ttl(&inst), 255, "multicast adverts keep 255");
    }

    #[test]
    fn address_spec_follows_the_vip_grammar() {
        let mut vip = Vip::host("192.0.2.100".parse().unwrap());
        vip.prefix = 24;
        vip.brd = Some("+".into());
        vip.label = Some("eth0:1".into());
        vip.scope = Some(Scope::Link);
        let spec = address_spec(&vip);
        assert_eq!(spec.broadcast, Some(Ipv4Addr::new(192, 0, 2, 255)));
        assert_eq!(spec.scope, 253);
        assert_eq!(spec.label.as_deref(), Some("eth0:1"));
        assert!(!spec.nodad);
        assert!(address_spec(&Vip::host("2001:db8::66".parse().unwrap())).nodad);
    }
}
