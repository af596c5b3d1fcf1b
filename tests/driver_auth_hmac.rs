//! `auth_hmac` on the driver core (manual clock, wall clock set by hand):
//! which adverts reach the router, which are dropped and under which
//! counter, and that a forged higher-priority advert cannot take a Master
//! over while a validly signed one does.

#[path = "common/driver.rs"]
mod driver_common;

use driver_common::*;
use vrrpd::driver::Event;
use vrrpd::net::socket::Inbound;
use vrrpd::proto::auth_hmac::{self, Binding, Keyring, Seq, TRAILER_LEN};
use vrrpd::proto::fsm::State;
use vrrpd::proto::wire::{ChecksumMode, MULTICAST_V4};
use vrrpd::proto::{Priority, Version, Vrid};

const A: u8 = 20;
const B: u8 = 21;
const NOW: u64 = 1_800_000_000;
const K1: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const K1_BYTES: [u8; 32] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
    26, 27, 28, 29, 30, 31,
];

fn conf(priority: u8, mode: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n state BACKUP\n interface {IFNAME}\n virtual_router_id 51\n version 3\n priority {priority}\n advert_int 0.1\n auth_hmac {{\n  key 1 hex:{K1}\n  key 2 \"another key of thirty-two bytes!\"\n  active_key 1\n  mode {mode}\n }}\n virtual_ipaddress {{\n  192.0.2.30\n }}\n}}\n"
    )
}

fn node(mode: &str) -> Node {
    let mut n = Node::start(&conf(100, mode), v4(A));
    n.driver.set_utc(NOW);
    n
}

/// B's advert at `priority`, unsigned.
fn plain(priority: u8) -> Inbound {
    let a = Node::start(&conf(100, "enforce"), v4(B));
    let repr = a.driver.instances()[0].router.advert(Priority(priority));
    datagram(
        &repr,
        v4(B),
        std::net::IpAddr::V4(MULTICAST_V4),
        ChecksumMode::PseudoHeader,
    )
}

/// B's advert at `priority`, signed with `key` (bytes) at UTC `secs`.
fn signed(priority: u8, key: &[u8], secs: u64) -> Inbound {
    let mut d = plain(priority);
    let b = Binding {
        version: Version::V3,
        vrid: Vrid::new(51).unwrap(),
        src: v4(B),
    };
    let mut t = [0u8; TRAILER_LEN];
    auth_hmac::sign(
        &Keyring::new([(1, key)], 1),
        &b,
        Seq::from_unix(secs, 0),
        &d.payload,
        &mut t,
    );
    d.payload.extend_from_slice(&t);
    d
}

fn rx(n: &mut Node, d: Inbound) {
    n.handle(Event::Received {
        socket: key(),
        datagram: Ok(d),
    });
}

fn drops(n: &Node, why: &str) -> u64 {
    n.driver.instances()[0].drops.get(why).copied().unwrap_or(0)
}

/// A is Master: no advert for longer than Master_Down_Interval.
fn master(mode: &str) -> Node {
    let mut n = node(mode);
    n.advance(ms(1000));
    assert_eq!(n.state("VI_1"), State::Master);
    n
}

#[test]
fn a_signed_advert_is_accepted() {
    let mut n = master("enforce");
    rx(&mut n, signed(200, &K1_BYTES, NOW));
    assert_eq!(
        n.state("VI_1"),
        State::Backup,
        "the higher priority was heard"
    );
    assert!(n.driver.instances()[0].drops.is_empty());
}

#[test]
fn a_forged_higher_priority_advert_without_trailer_is_dropped_as_missing() {
    let mut n = master("enforce");
    rx(&mut n, plain(255));
    assert_eq!(n.state("VI_1"), State::Master);
    assert_eq!(drops(&n, "auth_hmac_missing"), 1);
}

#[test]
fn a_forged_priority_0_advert_with_a_wrong_key_is_dropped_as_invalid() {
    let mut n = node("enforce");
    let from = n.log.len();
    rx(&mut n, signed(0, &[7u8; 32], NOW));
    assert_eq!(drops(&n, "auth_hmac_invalid"), 1);
    assert!(n.transitions_since(from).is_empty());
}

#[test]
fn a_replayed_advert_is_dropped_as_replay() {
    let mut n = master("enforce");
    let d = signed(50, &K1_BYTES, NOW);
    rx(&mut n, d.clone());
    rx(&mut n, d);
    assert_eq!(drops(&n, "auth_hmac_replay"), 1);
}

#[test]
fn an_advert_outside_the_window_of_our_wall_clock_is_stale() {
    let mut n = master("enforce");
    n.driver.set_utc(NOW + 6);
    rx(&mut n, signed(200, &K1_BYTES, NOW));
    assert_eq!(n.state("VI_1"), State::Master);
    assert_eq!(drops(&n, "auth_hmac_stale"), 1);
}

#[test]
fn migration_modes_accept_an_unsigned_advert() {
    for mode in ["receive-only", "permissive"] {
        let mut n = master(mode);
        rx(&mut n, plain(200));
        assert_eq!(n.state("VI_1"), State::Backup, "{mode}");
    }
}

#[test]
fn an_instance_without_auth_hmac_drops_a_signed_advert_by_its_length() {
    let text = conf(100, "enforce").replace(&format!(" auth_hmac {{\n  key 1 hex:{K1}\n  key 2 \"another key of thirty-two bytes!\"\n  active_key 1\n  mode enforce\n }}\n"), "");
    let mut n = Node::start(&text, v4(A));
    rx(&mut n, signed(200, &K1_BYTES, NOW));
    assert_eq!(drops(&n, "length"), 1);
}

#[test]
fn a_reload_keeps_the_replay_marks() {
    let mut n = master("enforce");
    let d = signed(50, &K1_BYTES, NOW);
    rx(&mut n, d.clone());
    let rotated = parse(&conf(100, "enforce").replace("active_key 1", "active_key 2"));
    let event = reload(&n.driver, &rotated, v4(A));
    n.handle(event);
    rx(&mut n, d);
    assert_eq!(drops(&n, "auth_hmac_replay"), 1);
}
