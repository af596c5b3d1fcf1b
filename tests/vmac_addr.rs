//! keepalived's VMACs of addresses (`use_vmac` on an address,
//! `use_vmac_addr`, `vmac_addr_prefix`): which addresses get one and its
//! name as keepalived 2.2.7 decides (both front ends, messages located
//! where keepalived -t reports them), what the VMAC is, `garp_extra_if`
//! on them, and a reload moving a held address between interfaces.

#[path = "common/config.rs"]
mod config_common;
#[path = "common/driver.rs"]
mod driver_common;

use std::net::IpAddr;

use config_common::{keepalived, only_diagnostic, toml};
use driver_common::*;
use vrrpd::config::{Instance, Severity};
use vrrpd::driver::params::{address_spec, extra_garp};
use vrrpd::driver::vmac::{self, VmacSpec};
use vrrpd::driver::{Effect, Event, Reload};
use vrrpd::proto::fsm::{Action, State};
use vrrpd::proto::Family;

/// (address, vmac name, use_vmac kept) of every address of `inst`.
fn placed(inst: &Instance) -> Vec<(String, Option<String>, bool)> {
    inst.vips
        .iter()
        .chain(&inst.excluded_vips)
        .map(|v| (v.addr.to_string(), v.vmac.clone(), v.use_vmac))
        .collect()
}

fn some(s: &str) -> Option<String> {
    Some(s.to_string())
}

const KA: &str = "\
global_defs {
    vmac_prefix vp
    vmac_addr_prefix vx
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        192.0.2.10/24
        198.51.100.10/24 dev eth1 use_vmac
    }
}
vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 52
    use_vmac_addr
    virtual_ipaddress {
        192.0.2.20/24
        198.51.100.20/24 dev eth1 use_vmac
        203.0.113.20/24 dev eth2
    }
    virtual_ipaddress_excluded {
        2001:db8::20/64
        192.0.2.21/24 dev eth0
    }
}
vrrp_instance VI_3 {
    interface eth0
    use_vmac
    virtual_router_id 53
    virtual_ipaddress {
        192.0.2.30/24 use_vmac
        198.51.100.30/24 dev eth1 use_vmac
        198.51.100.31/24 dev eth1 use_vmac
    }
}
";

#[test]
fn addresses_get_keepalived_227s_vmacs_and_names() {
    let l = keepalived(KA);
    assert!(!l.has_errors(), "{:#?}", l.diagnostics);
    let i = &l.config.instances;
    assert_eq!(
        placed(&i[0]),
        [
            ("192.0.2.10".into(), None, false),
            ("198.51.100.10".into(), some("vx.51"), true),
        ]
    );
    // use_vmac_addr: every other interface, and the other family on the
    // instance's own (IPv6 tries 6 first); same family there stays.
    assert_eq!(
        placed(&i[1]),
        [
            ("192.0.2.20".into(), None, false),
            ("198.51.100.20".into(), some("vx.52"), false),
            ("203.0.113.20".into(), some("vx1.52"), false),
            ("2001:db8::20".into(), some("vx6.52"), false),
            ("192.0.2.21".into(), None, false),
        ]
    );
    // The instance's own VMAC (vmac_prefix) carries its addresses; two
    // addresses on one base share one VMAC.
    assert_eq!(i[2].use_vmac.as_deref(), Some("vp.53"));
    assert_eq!(
        placed(&i[2]),
        [
            ("192.0.2.30".into(), None, false),
            ("198.51.100.30".into(), some("vx.53"), true),
            ("198.51.100.31".into(), some("vx.53"), true),
        ]
    );
    assert_eq!(l.config.global.vmac_addr_prefix.as_deref(), Some("vx"));
}

#[test]
fn a_use_vmac_keepalived_drops_is_a_located_warning_with_its_words() {
    let l = keepalived(KA);
    let d = only_diagnostic(
        &l,
        "(VI_2) use_vmac_addr specified and use_vmac specified for VIP/eVIP 198.51.100.20/24",
    );
    assert_eq!((d.severity, d.line, d.col), (Severity::Warning, 19, 9));
    let d = only_diagnostic(
        &l,
        "(VI_3) use_vmac specified for VIP/eVIP 192.0.2.30/24 and vrrp instance",
    );
    assert_eq!((d.severity, d.line, d.col), (Severity::Warning, 32, 9));
}

#[test]
fn the_prefix_defaults_to_vmac_prefix_then_vrrp_and_names_skip_instance_vmacs() {
    let text = "\
vrrp_instance A {
    interface eth0
    virtual_router_id 61
    use_vmac
    virtual_ipaddress {
        192.0.2.61/24
    }
}
vrrp_instance B {
    interface eth1
    virtual_router_id 61
    virtual_ipaddress {
        198.51.100.61/24 use_vmac
        203.0.113.61/24 dev eth2 use_vmac
        192.0.2.62/24 dev eth0 use_vmac
    }
}
";
    let l = keepalived(text);
    let b = &l.config.instances[1];
    // vrrp.61 is A's; A's VMAC (eth0, same MAC) is found for eth0.
    assert_eq!(
        placed(b),
        [
            ("198.51.100.61".into(), some("vrrp1.61"), true),
            ("203.0.113.61".into(), some("vrrp2.61"), true),
            ("192.0.2.62".into(), some("vrrp.61"), true),
        ]
    );
    assert_eq!(l.config.global.vmac_addr_prefix, None);
    let with_prefix = format!("global_defs {{\n vmac_prefix vp\n}}\n{text}");
    let l = keepalived(&with_prefix);
    assert_eq!(
        l.config.instances[1].vips[0].vmac.as_deref(),
        Some("vp1.61")
    );
}

#[test]
fn a_second_vmac_addr_prefix_and_an_argument_to_use_vmac_addr_are_warnings() {
    let l = keepalived(
        "global_defs {\n vmac_addr_prefix a\n vmac_addr_prefix b\n}\nvrrp_instance V {\n interface eth0\n virtual_router_id 9\n use_vmac_addr off\n virtual_ipaddress {\n  192.0.2.9\n  198.51.100.9 dev eth1\n }\n}\n",
    );
    let d = only_diagnostic(
        &l,
        "vmac_addr prefix has already been specified - ignoring b",
    );
    assert_eq!((d.line, d.col), (3, 19));
    let d = only_diagnostic(&l, "'use_vmac_addr' takes no argument");
    assert_eq!(d.line, 8);
    // keepalived sets it whatever follows.
    let inst = &l.config.instances[0];
    assert!(inst.use_vmac_addr);
    assert_eq!(inst.vips[1].vmac.as_deref(), Some("a.9"));
    assert!(!l
        .diagnostics
        .iter()
        .any(|d| d.message.contains("does not implement")));
}

#[test]
fn toml_names_them_too_and_refuses_a_use_vmac_it_would_ignore() {
    let ok = toml(
        "[global]\nvmac_addr_prefix = \"lb\"\n[[instance]]\nname = \"V\"\nvrid = 7\ninterface = \"eth0\"\nuse_vmac_addr = true\nvips = [{ addr = \"192.0.2.7\", prefix = 24 }, { addr = \"198.51.100.7\", prefix = 24, dev = \"eth1\" }]\n",
    );
    assert!(!ok.has_errors(), "{:#?}", ok.diagnostics);
    let inst = &ok.config.instances[0];
    assert_eq!(inst.vips[0].vmac, None);
    assert_eq!(inst.vips[1].vmac.as_deref(), Some("lb.7"));
    let bad = toml(
        "[[instance]]\nname = \"V\"\nvrid = 7\ninterface = \"eth0\"\nuse_vmac = \"vrrp.7\"\nvips = [{ addr = \"192.0.2.7\", prefix = 24, use_vmac = true }]\n",
    );
    let d = only_diagnostic(
        &bad,
        "use_vmac specified for VIP/eVIP 192.0.2.7/24 and vrrp instance",
    );
    assert_eq!(d.severity, Severity::Error);
}

#[test]
fn an_address_vmac_is_a_macvlan_on_its_interface_with_its_familys_mac() {
    let l = keepalived(KA);
    let i = &l.config.instances;
    let s = vmac::address_spec(&i[1], &i[1].vips[1]).unwrap();
    assert_eq!(
        s,
        VmacSpec {
            name: "vx.52".into(),
            base: "eth1".into(),
            mac: [0, 0, 0x5e, 0, 1, 52],
            family: Family::Ipv4,
            xmit_base: false,
            ipv6: false,
            group: None,
        }
    );
    let v6 = vmac::address_spec(&i[1], &i[1].excluded_vips[0]).unwrap();
    assert_eq!((v6.base.as_str(), v6.mac), ("eth0", [0, 0, 0x5e, 0, 2, 52]));
    assert!(v6.ipv6);
    assert_eq!(vmac::address_spec(&i[1], &i[1].vips[0]), None);
    // Shared VMACs once; a reload deletes only names no longer used.
    let all = vmac::address_specs(i.iter().map(|x| &**x));
    let names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["vx.51", "vx.52", "vx1.52", "vx6.52", "vx.53"]);
    let gone = vmac::address_vmacs_gone(&all, &all[1..]);
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0].name, "vx.51");
}

#[test]
fn garp_extra_if_without_all_announces_on_addresses_vmacs() {
    let text = "vrrp_instance V {\n interface eth0\n virtual_router_id 9\n garp_extra_if 3\n virtual_ipaddress {\n  192.0.2.9\n  198.51.100.9 dev eth1 use_vmac\n  198.51.100.10 dev eth1 use_vmac\n  203.0.113.9 dev eth2\n }\n}\n";
    let l = keepalived(text);
    let (period, addrs) = extra_garp(&l.config.instances[0]).expect("on");
    assert_eq!(period.as_secs(), 3);
    // One per VMAC; eth2 (not a VMAC) only with `all`.
    assert_eq!(addrs, ["198.51.100.9".parse::<IpAddr>().unwrap()]);
    let all = keepalived(&text.replace("garp_extra_if 3", "garp_extra_if all 3"));
    let (_, addrs) = extra_garp(&all.config.instances[0]).expect("on");
    let want: Vec<IpAddr> = vec![
        "198.51.100.9".parse().unwrap(),
        "203.0.113.9".parse().unwrap(),
    ];
    assert_eq!(addrs, want);
    let none = keepalived(&text.replace(" use_vmac", ""));
    assert_eq!(extra_garp(&none.config.instances[0]), None);
}

#[test]
fn a_reload_moves_a_held_address_to_its_new_interface_and_announces_it() {
    let text = format!(
        "vrrp_instance VI_1 {{\n state MASTER\n interface {IFNAME}\n virtual_router_id 51\n version 3\n priority 150\n advert_int 0.1\n virtual_ipaddress {{\n  192.0.2.30\n  198.51.100.30 dev eth1 use_vmac\n }}\n}}\n"
    );
    let mut a = Node::start(&text, v4(20));
    a.advance(ms(2000));
    assert_eq!(a.state("VI_1"), State::Master);
    let cfg = parse(&text.replace(" use_vmac", ""));
    let vmac_index = 7;
    let eth1 = 3;
    // Running, the address was on the VMAC (index 7); now eth1 (3).
    let i = a.driver.position("VI_1").unwrap();
    let vip: IpAddr = "198.51.100.30".parse().unwrap();
    let spec = address_spec(&cfg.instances[0].vips[1]);
    a.driver
        .instance_mut(i)
        .addresses
        .insert(vip, (vmac_index, spec.clone()));
    let mut map = vrrpd::driver::placements::Placements::default();
    map.insert(vip, (eth1, spec.clone()));
    let own: IpAddr = "192.0.2.30".parse().unwrap();
    map.insert(own, (IFINDEX, address_spec(&cfg.instances[0].vips[0])));
    let from = a.log.len();
    a.handle(Event::Reload(Box::new(Reload {
        config: cfg.clone(),
        started: Vec::new(),
        addresses: [("VI_1".to_string(), map)].into_iter().collect(),
        tracking: Default::default(),
        static_addresses: Vec::new(),
    })));
    let work: Vec<_> = a.log[from..]
        .iter()
        .filter_map(|(_, e)| match e {
            Effect::AddressWork { owner, add, remove } => {
                Some((owner.clone(), add.clone(), remove.clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        work,
        [(
            "VI_1".to_string(),
            vec![(eth1, spec.clone())],
            vec![(vmac_index, spec)]
        )]
    );
    let announced = a.log[from..].iter().any(|(_, e)| {
        matches!(e, Effect::Actions { actions, .. }
            if actions.iter().any(|x| matches!(x, Action::Announce { addresses, .. } if addresses == &vec![vip])))
    });
    assert!(announced);
    assert_eq!(a.state("VI_1"), State::Master);
    // Nothing moves when nothing changed.
    let from = a.log.len();
    let again = reload(&a.driver, &cfg, v4(20));
    a.handle(again);
    let moved = a.log[from..]
        .iter()
        .filter(|(_, e)| matches!(e, Effect::AddressWork { .. }))
        .count();
    // The helper puts every address on IFINDEX: 198.51.100.30 moves back
    // from eth1, and only it.
    assert_eq!(moved, 1);
}
