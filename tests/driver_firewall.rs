//! Accept mode's drop set as the driver core decides it
//! (`Driver::blocked`, issue 15 part 3): which addresses nftables must
//! drop follows mastership, accept mode, the owner rule and reloads; and
//! the keepalived front end's `nftables*` keywords and strict-mode rule.

#[path = "common/driver.rs"]
mod driver_common;

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv6Addr};

use driver_common::*;
use vrrpd::config::{self, Nftables};
use vrrpd::driver::firewall::Element;
use vrrpd::driver::Event;
use vrrpd::proto::fsm::State;

const A: u8 = 20;

/// `conf` with `no_accept` in every instance.
fn no_accept(priority: u8, names: &[&str]) -> String {
    conf(priority, names, false).replace(" advert_int 0.1\n", " advert_int 0.1\n no_accept\n")
}

fn v4s(last: &[u8]) -> BTreeSet<Element> {
    last.iter()
        .map(|n| match v4(*n) {
            IpAddr::V4(a) => Element::V4(a),
            IpAddr::V6(_) => unreachable!(),
        })
        .collect()
}

fn master(text: &str) -> Node {
    let mut a = Node::start(text, v4(A));
    a.advance(ms(1000));
    a
}

#[test]
fn nothing_is_dropped_before_mastership() {
    let a = Node::start(&no_accept(101, &["VI_1"]), v4(A));
    assert_eq!(a.state("VI_1"), State::Backup);
    assert!(a.driver.blocked(false).is_empty());
}

#[test]
fn a_no_accept_master_drops_its_addresses() {
    let a = master(&no_accept(101, &["VI_1", "VI_2"]));
    assert_eq!(a.state("VI_1"), State::Master);
    assert_eq!(a.driver.blocked(false), v4s(&[30, 31]));
}

#[test]
fn an_accept_mode_master_drops_nothing() {
    let a = master(&conf(101, &["VI_1"], false));
    assert_eq!(a.state("VI_1"), State::Master);
    assert!(a.driver.blocked(false).is_empty());
}

#[test]
fn the_address_owner_always_accepts() {
    let text = no_accept(255, &["VI_1"]);
    let a = master(&text);
    assert_eq!(a.state("VI_1"), State::Master);
    assert!(a.driver.blocked(false).is_empty(), "RFC 9568 §6.4.3: owner");
}

#[test]
fn the_set_empties_when_the_master_steps_down() {
    let mut a = master(&no_accept(101, &["VI_1"]));
    assert_eq!(a.driver.blocked(false), v4s(&[30]));
    a.handle(Event::Shutdown);
    assert_ne!(a.state("VI_1"), State::Master);
    assert!(a.driver.blocked(false).is_empty());
}

#[test]
fn a_reload_adds_and_removes_addresses_from_the_set() {
    let mut a = master(&no_accept(101, &["VI_1"]));
    let more = no_accept(101, &["VI_1"]).replace("  192.0.2.30\n", "  192.0.2.30\n  192.0.2.40\n");
    let event = reload(&a.driver, &parse(&more), v4(A));
    a.handle(event);
    assert_eq!(a.state("VI_1"), State::Master);
    assert_eq!(a.driver.blocked(false), v4s(&[30, 40]));
    let fewer = no_accept(101, &["VI_1"]).replace("  192.0.2.30\n", "  192.0.2.40\n");
    let event = reload(&a.driver, &parse(&fewer), v4(A));
    a.handle(event);
    assert_eq!(a.driver.blocked(false), v4s(&[40]));
}

#[test]
fn a_reload_to_accept_mode_empties_the_set() {
    let mut a = master(&no_accept(101, &["VI_1"]));
    let event = reload(&a.driver, &parse(&conf(101, &["VI_1"], false)), v4(A));
    a.handle(event);
    assert_eq!(a.state("VI_1"), State::Master);
    assert!(a.driver.blocked(false).is_empty());
}

#[test]
fn a_removed_instance_leaves_the_set() {
    let mut a = master(&no_accept(101, &["VI_1", "VI_2"]));
    let event = reload(&a.driver, &parse(&no_accept(101, &["VI_1"])), v4(A));
    a.handle(event);
    assert_eq!(a.driver.blocked(false), v4s(&[30]));
}

#[test]
fn excluded_addresses_are_dropped_too() {
    let text = no_accept(101, &["VI_1"]).replace(
        " }\n}\n",
        " }\n virtual_ipaddress_excluded {\n  192.0.2.99\n }\n}\n",
    );
    let a = master(&text);
    assert_eq!(a.driver.blocked(false), v4s(&[30, 99]));
}

fn v6_master(extra: &str) -> Node {
    let text = format!(
        "vrrp_instance V6 {{\n state BACKUP\n interface {IFNAME}\n virtual_router_id 61\n priority 101\n advert_int 0.1\n no_accept\n{extra}\n virtual_ipaddress {{\n  fe80::30\n  2001:db8::30\n }}\n}}\n"
    );
    let mut a = Node::start(&text, "fe80::20".parse().unwrap());
    a.advance(ms(1000));
    assert_eq!(a.state("V6"), State::Master);
    a
}

#[test]
fn a_link_local_address_is_keyed_by_interface_index() {
    let a = v6_master("");
    let ll: Ipv6Addr = "fe80::30".parse().unwrap();
    let want: BTreeSet<Element> = [
        Element::LinkLocal {
            addr: ll,
            ifindex: IFINDEX,
        },
        Element::V6("2001:db8::30".parse().unwrap()),
    ]
    .into_iter()
    .collect();
    assert_eq!(a.driver.blocked(false), want);
}

#[test]
fn dont_track_primary_keys_link_local_by_name_unless_nftables_ifindex() {
    let a = v6_master(" dont_track_primary");
    let ll: Ipv6Addr = "fe80::30".parse().unwrap();
    assert!(a.driver.blocked(false).contains(&Element::LinkLocalName {
        addr: ll,
        ifname: IFNAME.into()
    }));
    assert!(a.driver.blocked(true).contains(&Element::LinkLocal {
        addr: ll,
        ifindex: IFINDEX
    }));
}

// ---- the keepalived front end --------------------------------------------

fn global(text: &str) -> config::Loaded {
    config::load_str(
        "k.conf",
        &format!(
            "global_defs {{\n{text}\n}}\n{}",
            conf(101, &["VI_1"], false)
        ),
        &Default::default(),
    )
}

#[test]
fn nftables_keywords_are_read() {
    let l =
        global(" nftables vrrp_fw\n nftables_priority -5\n nftables_counters\n nftables_ifindex");
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    assert_eq!(
        l.config.global.nftables,
        Nftables {
            table: "vrrp_fw".into(),
            priority: -5,
            counters: true,
            ifindex: true,
        }
    );
}

#[test]
fn nftables_without_a_name_is_keepalived_and_resets_the_priority() {
    // keepalived's vrrp_nftables_handler sets the priority to -1.
    let l = global(" nftables_priority 7\n nftables");
    assert_eq!(l.config.global.nftables, Nftables::default());
}

#[test]
fn a_second_nftables_is_ignored_with_a_located_warning() {
    let l = global(" nftables one\n nftables two");
    assert_eq!(l.config.global.nftables.table, "one");
    let d = l
        .diagnostics
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>();
    assert!(
        d.iter()
            .any(|d| d.contains("k.conf:3:") && d.contains("nftables already specified")),
        "{d:?}"
    );
}

#[test]
fn a_bad_priority_and_a_long_table_name_are_located_warnings() {
    let l = global(&format!(
        " nftables {}\n nftables_priority x",
        "t".repeat(300)
    ));
    let d = l
        .diagnostics
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>();
    assert!(
        d.iter()
            .any(|d| d.contains("k.conf:2:11") && d.contains("at most 255")),
        "{d:?}"
    );
    assert!(d.iter().any(|d| d.contains("k.conf:3:20") && d.contains("invalid nftables chain priority 'x'")), "{d:?}");
    assert!(!l.has_errors());
    assert_eq!(l.config.global.nftables, Nftables::default());
}

#[test]
fn vrrp_iptables_means_nftables_keepalived_with_a_warning() {
    let l = global(" vrrp_iptables IN OUT");
    assert_eq!(l.config.global.nftables, Nftables::default());
    assert!(l
        .diagnostics
        .iter()
        .any(|d| d.to_string().contains("using nftables instead")));
}

#[test]
fn vrrp_strict_implies_no_accept_below_the_owner() {
    let text = format!(
        "global_defs {{\n vrrp_strict\n}}\n{}",
        conf(101, &["VI_1"], false)
    );
    let l = config::load_str("k.conf", &text, &Default::default());
    assert!(!l.config.instances[0].accept);
    let owner = text.replace("priority 101", "priority 255");
    let l = config::load_str("k.conf", &owner, &Default::default());
    assert!(l.config.instances[0].accept);
}

#[test]
fn toml_takes_the_same_settings() {
    let text = r#"
[global.nftables]
table = "fw"
priority = 3
counters = true

[[instance]]
name = "VI_1"
interface = "eth0"
vrid = 51
accept = false
vips = [{ addr = "192.0.2.30", prefix = 32 }]
"#;
    let l = config::load_str("v.toml", text, &Default::default());
    assert!(!l.has_errors(), "{:?}", l.diagnostics);
    assert_eq!(
        l.config.global.nftables,
        Nftables {
            table: "fw".into(),
            priority: 3,
            counters: true,
            ifindex: false,
        }
    );
    assert!(!l.config.instances[0].accept);
    let bad = text.replace("table = \"fw\"", "table = \"\"");
    let l = config::load_str("v.toml", &bad, &Default::default());
    assert!(l.has_errors());
    let d = l.diagnostics[0].to_string();
    assert!(d.contains("v.toml:3:"), "{d}");
}

#[test]
fn check_host_warns_when_nft_is_missing_for_an_instance_that_drops() {
    let host = |found: bool| config::HostAddrs {
        interfaces: [(IFNAME.to_string(), vec![v4(A)])].into_iter().collect(),
        nft_found: Some(found),
    };
    let said = |text: &str, found: bool| -> Vec<String> {
        let l = config::load_str("k.conf", text, &Default::default());
        config::host_checks(&l.config, &l.spans, &host(found))
            .iter()
            .map(|d| d.to_string())
            .filter(|d| d.contains("`nft`"))
            .collect()
    };
    let dropping = no_accept(101, &["VI_1", "VI_2"]);
    let warned = said(&dropping, false);
    assert_eq!(warned.len(), 1, "once: {warned:?}");
    assert!(warned[0].contains("(VI_1) drops traffic"), "{warned:?}");
    // At the no_accept line (VI_1's block starts on line 4, no_accept is its 7th line).
    assert!(warned[0].starts_with("k.conf:10:2:"), "located: {warned:?}");
    assert!(said(&dropping, true).is_empty());
    assert!(said(&conf(101, &["VI_1"], false), false).is_empty());
}
