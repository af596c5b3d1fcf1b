//! `old_unicast_checksum` on the driver core (manual clock): a unicast
//! VRRPv3 IPv4 instance switches to keepalived 1.3.6's sum when a peer's
//! advert is only right that way (keepalived's default), not with
//! `never`; `old_unicast_checksum` alone sums the old way from the start.

#[path = "common/driver.rs"]
mod driver_common;

use driver_common::*;
use vrrpd::driver::{Effect, Event, SocketKey};
use vrrpd::proto::fsm::State;
use vrrpd::proto::wire::{ChecksumMode, MULTICAST_V4};
use vrrpd::proto::Priority;

const A: u8 = 20;
const B: u8 = 21;

fn unicast(option: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n state BACKUP\n interface {IFNAME}\n virtual_router_id 51\n version 3\n priority 100\n advert_int 0.1\n unicast_src_ip 192.0.2.{A}\n unicast_peer {{\n  192.0.2.{B}\n }}\n {option}\n virtual_ipaddress {{\n  192.0.2.30\n }}\n}}\n"
    )
}

fn ukey() -> SocketKey {
    SocketKey {
        unicast_source: Some(v4(A)),
        ..key()
    }
}

/// B's priority-200 advert to A, summed `mode`.
fn from_b(a: &Node, mode: ChecksumMode) -> Event {
    let i = a.driver.position("VI_1").unwrap();
    let repr = a.driver.instances()[i].router.advert(Priority(200));
    Event::Received {
        socket: ukey(),
        datagram: Ok(datagram(&repr, v4(B), v4(A), mode)),
    }
}

fn mode(a: &Node) -> ChecksumMode {
    let i = a.driver.position("VI_1").unwrap();
    a.driver.instances()[i].checksum_mode()
}

fn said(a: &Node, from: usize, what: &str) -> bool {
    a.log[from..]
        .iter()
        .any(|(_, e)| matches!(e, Effect::Log { text, .. } if text.contains(what)))
}

const OLD: ChecksumMode = ChecksumMode::OldUnicast(MULTICAST_V4);

#[test]
fn by_default_an_old_sum_from_a_peer_switches_the_instance_to_it() {
    let mut a = Node::start(&unicast(""), v4(A));
    assert_eq!(mode(&a), ChecksumMode::PseudoHeader);
    let from = a.log.len();
    a.handle(from_b(&a, OLD));
    assert_eq!(a.state("VI_1"), State::Backup, "the advert was accepted");
    assert_eq!(mode(&a), OLD, "and A sums the old way from now on");
    assert!(said(
        &a,
        from,
        "(VI_1) Setting unicast VRRPv3 checksum to old version"
    ));
    // A new-style advert is now refused, as keepalived's (no switch back).
    let i = a.driver.position("VI_1").unwrap();
    let before = a.driver.instances()[i]
        .drops
        .get("checksum")
        .copied()
        .unwrap_or(0);
    a.handle(from_b(&a, ChecksumMode::PseudoHeader));
    let after = a.driver.instances()[i]
        .drops
        .get("checksum")
        .copied()
        .unwrap_or(0);
    assert_eq!(after, before + 1);
}

#[test]
fn never_refuses_the_old_sum() {
    let mut a = Node::start(&unicast("old_unicast_checksum never"), v4(A));
    let from = a.log.len();
    a.handle(from_b(&a, OLD));
    assert_eq!(mode(&a), ChecksumMode::PseudoHeader);
    assert!(!said(&a, from, "Setting unicast VRRPv3 checksum"));
    let i = a.driver.position("VI_1").unwrap();
    assert_eq!(a.driver.instances()[i].drops.get("checksum"), Some(&1));
    // The right sum is still accepted.
    a.handle(from_b(&a, ChecksumMode::PseudoHeader));
    assert_eq!(a.state("VI_1"), State::Backup);
}

#[test]
fn configured_old_sum_is_used_from_the_start() {
    let mut a = Node::start(&unicast("old_unicast_checksum"), v4(A));
    assert_eq!(mode(&a), OLD);
    a.handle(from_b(&a, OLD));
    assert_eq!(a.state("VI_1"), State::Backup);
    let i = a.driver.position("VI_1").unwrap();
    assert_eq!(a.driver.instances()[i].drops.get("checksum"), None);
}

#[test]
fn a_multicast_instance_never_switches() {
    // Multicast: the destination is the group, both sums agree; a wrong
    // sum stays wrong.
    let text = conf(100, &["VI_1"], false);
    let mut a = Node::start(&text, v4(A));
    let i = a.driver.position("VI_1").unwrap();
    let repr = a.driver.instances()[i].router.advert(Priority(200));
    let d = datagram(&repr, v4(B), MULTICAST_V4.into(), ChecksumMode::V2Style);
    a.handle(Event::Received {
        socket: key(),
        datagram: Ok(d),
    });
    assert_eq!(mode(&a), ChecksumMode::PseudoHeader);
    assert_eq!(a.driver.instances()[i].drops.get("checksum"), Some(&1));
}
