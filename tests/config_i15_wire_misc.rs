//! Issue 15 keywords with a small effect each: `vmac_prefix`,
//! `native_ipv6`, `debug`, `disable_local_igmp`; and
//! `vrrp_socket_priority`, which keepalived 2.2.7 does not know either.

use vrrpd::config::{load_str, LoadOptions, Severity};
use vrrpd::proto::{Family, Version};

fn load(text: &str) -> vrrpd::config::Loaded {
    load_str("/etc/k.conf", text, &LoadOptions::default())
}

fn warnings(l: &vrrpd::config::Loaded) -> Vec<(u32, u32, String)> {
    l.diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .map(|d| (d.line, d.col, d.message.clone()))
        .collect()
}

fn vmac_instance(name: &str, vrid: u8) -> String {
    format!("vrrp_instance {name} {{\n interface eth0\n virtual_router_id {vrid}\n use_vmac\n virtual_ipaddress {{\n  192.0.2.{vrid}\n }}\n}}\n")
}

#[test]
fn vmac_prefix_names_the_generated_vmacs() {
    let text = format!(
        "global_defs {{\n vmac_prefix vm\n vmac_prefix other\n}}\n{}{}",
        vmac_instance("VI_1", 51),
        vmac_instance("VI_2", 52)
    );
    let l = load(&text);
    let names: Vec<_> = l
        .config
        .instances
        .iter()
        .map(|i| i.use_vmac.clone().unwrap_or_default())
        .collect();
    assert_eq!(names, ["vm.51", "vm.52"]);
    let w = warnings(&l);
    assert!(
        w.iter().any(|(l, c, m)| (*l, *c) == (3, 14)
            && m.contains("vmac prefix has already been specified - ignoring other")),
        "{w:?}"
    );
    // Cut to fit IFNAMSIZ, as keepalived's create_vmac_name().
    let long = format!(
        "global_defs {{\n vmac_prefix abcdefghijklmnop\n}}\n{}",
        vmac_instance("VI_1", 51)
    );
    let l = load(&long);
    assert_eq!(
        l.config.instances[0].use_vmac.as_deref(),
        Some("abcdefghijkl.51")
    );
}

#[test]
fn native_ipv6_makes_an_instance_ipv6_unless_ipv4_addresses_decide() {
    let v6 = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n native_ipv6\n no_virtual_ipaddress\n}\n";
    let l = load(v6);
    let i = &l.config.instances[0];
    assert_eq!(
        (i.family, i.version),
        (Family::Ipv6, Version::V3),
        "{:#?}",
        l.diagnostics
    );
    assert!(!warnings(&l)
        .iter()
        .any(|(_, _, m)| m.contains("does not implement")));
    let v4 = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n native_ipv6\n virtual_ipaddress {\n  192.0.2.10\n }\n}\n";
    let l = load(v4);
    assert_eq!(l.config.instances[0].family, Family::Ipv4);
    let w = warnings(&l);
    assert!(
        w.iter().any(|(l, c, m)| (*l, *c) == (4, 2)
            && m.contains("Cannot specify native_ipv6 with IPv4 addresses")),
        "{w:?}"
    );
}

#[test]
fn debug_is_accepted_and_a_bad_level_located() {
    let inst = |d: &str| {
        format!("vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n debug {d}\n virtual_ipaddress {{\n  192.0.2.10\n }}\n}}\n")
    };
    let l = load(&inst("2"));
    assert!(l.diagnostics.is_empty(), "{:#?}", l.diagnostics);
    let l = load(&inst("5"));
    let w = warnings(&l);
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!((w[0].0, w[0].1), (4, 8));
    assert!(w[0]
        .2
        .contains("Debug value '5' not valid; must be between 0-4"));
}

#[test]
fn disable_local_igmp_is_read_and_vrrp_socket_priority_is_unknown() {
    let text = format!(
        "global_defs {{\n disable_local_igmp\n vrrp_socket_priority 6\n}}\n{}",
        vmac_instance("VI_1", 51)
    );
    let l = load(&text);
    assert!(l.config.global.disable_local_igmp);
    let w = warnings(&l);
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!((w[0].0, w[0].1), (3, 2));
    assert!(
        w[0].2.contains("unknown keyword 'vrrp_socket_priority'"),
        "{w:?}"
    );
}

#[test]
fn linkbeat_interfaces_and_use_polling_choose_the_polled_interfaces() {
    use vrrpd::driver::params::linkbeat_interfaces;
    let inst = |name: &str, ifname: &str, extra: &str| {
        format!("vrrp_instance {name} {{\n interface {ifname}\n virtual_router_id 51\n{extra}\n virtual_ipaddress {{\n  192.0.2.10\n }}\n}}\n")
    };
    let text = format!(
        "linkbeat_interfaces {{\n eth1\n eth9\n eth2 junk\n}}\n{}{}{}",
        inst("VI_1", "eth0", " linkbeat_use_polling"),
        inst("VI_2", "eth1", " track_interface {\n  eth2\n }"),
        inst("VI_3", "eth3", " linkbeat_use_polling\n use_vmac")
    );
    let l = load(&text);
    let w = warnings(&l);
    assert!(
        w.iter().any(|(l, c, m)| (*l, *c) == (4, 7)
            && m.contains("extra characters junk in linkbeat interface")),
        "{w:?}"
    );
    assert!(
        w.iter().any(
            |(_, _, m)| m.contains("(VI_1) 'linkbeat_use_polling' in vrrp instance deprecated")
        ),
        "{w:?}"
    );
    assert!(
        !w.iter().any(|(_, _, m)| m.contains("does not implement")),
        "{w:?}"
    );
    // eth9: no instance uses it; eth3: VI_3 sits on a VMAC.
    assert_eq!(linkbeat_interfaces(&l.config), ["eth0", "eth1", "eth2"]);
    // The top-level keyword polls every instance's interface.
    let all = format!(
        "linkbeat_use_polling\n{}{}",
        inst("VI_1", "eth0", ""),
        inst("VI_2", "eth5", "")
    );
    assert_eq!(linkbeat_interfaces(&load(&all).config), ["eth0", "eth5"]);
}
