//! `track_src_ip` on the driver core (manual clock): losing the configured
//! source address puts the instance in FAULT (its addresses go), and its
//! return ends it; without the keyword the loss changes nothing, as in
//! keepalived (netlink_if_address_filter()).

#[path = "common/driver.rs"]
mod driver_common;

use driver_common::*;
use vrrpd::driver::{Effect, Event};
use vrrpd::proto::fsm::State;

fn text(track: bool) -> String {
    format!(
        "vrrp_instance VI_1 {{\n state BACKUP\n interface {IFNAME}\n virtual_router_id 51\n version 3\n priority 100\n advert_int 0.1\n unicast_src_ip 192.0.2.20\n unicast_peer {{\n  192.0.2.21\n }}\n {}\n virtual_ipaddress {{\n  192.0.2.30\n }}\n}}\n",
        if track { "track_src_ip" } else { "" }
    )
}

#[test]
fn losing_the_tracked_source_is_a_fault_until_it_is_back() {
    let mut a = Node::start(&text(true), v4(20));
    a.advance(ms(1000));
    assert_eq!(a.state("VI_1"), State::Master);
    a.handle(Event::AddressRemoved {
        index: IFINDEX,
        addr: v4(20),
    });
    assert_eq!(a.state("VI_1"), State::Fault);
    // Another address added: the shell is asked to look (and finds the
    // tracked one still absent: `source_address` says none, no answer).
    let from = a.log.len();
    a.handle(Event::AddressAdded { index: IFINDEX });
    assert!(a.log[from..]
        .iter()
        .any(|(_, e)| matches!(e, Effect::FindSource { instance: 0, .. })));
    a.advance(ms(2000));
    assert_eq!(a.state("VI_1"), State::Fault);
    // Back: the lookup answers.
    a.handle(Event::SourceFound {
        instance: 0,
        source: v4(20),
    });
    assert_ne!(a.state("VI_1"), State::Fault);
    a.advance(ms(3000));
    assert_eq!(a.state("VI_1"), State::Master);
}

#[test]
fn without_track_src_ip_the_loss_changes_nothing() {
    let mut a = Node::start(&text(false), v4(20));
    a.advance(ms(1000));
    a.handle(Event::AddressRemoved {
        index: IFINDEX,
        addr: v4(20),
    });
    a.advance(ms(2000));
    assert_eq!(a.state("VI_1"), State::Master);
}

#[test]
fn track_src_ip_needs_a_configured_source() {
    let plain = text(true).replace(" unicast_src_ip 192.0.2.20\n", "");
    let c = parse(&plain);
    assert!(!c.instances[0].track_src_ip, "cleared, as keepalived does");
    assert!(parse(&text(true)).instances[0].track_src_ip);
    let p = vrrpd::driver::params::source_address;
    let i = &parse(&text(true)).instances[0];
    assert_eq!(p(i, &[(v4(99), 24)]), None, "tracked and absent");
    assert_eq!(p(i, &[(v4(20), 24)]), Some(v4(20)));
    let i = &parse(&text(false)).instances[0];
    assert_eq!(
        p(i, &[(v4(99), 24)]),
        Some(v4(20)),
        "untracked: configured wins"
    );
}
