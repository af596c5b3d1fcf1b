//! `garp_extra_if` on the driver core (manual clock): while Master, one
//! announcement per other interface every period, the first a period after
//! becoming Master; none as Backup; none without `all`.

#[path = "common/driver.rs"]
mod driver_common;

use std::net::IpAddr;

use driver_common::*;
use vrrpd::driver::{Effect, Event};
use vrrpd::proto::fsm::{Action, AnnounceReason, State};
use vrrpd::proto::wire::ChecksumMode;
use vrrpd::proto::{Instant, Priority};

fn text(option: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n state BACKUP\n interface {IFNAME}\n virtual_router_id 51\n version 3\n priority 100\n advert_int 0.1\n {option}\n virtual_ipaddress {{\n  192.0.2.30\n  198.51.100.30 dev eth1\n  198.51.100.31 dev eth1\n }}\n virtual_ipaddress_excluded {{\n  203.0.113.30 dev eth2\n }}\n}}\n"
    )
}

/// Refresh announcements since `from`, as (time, addresses).
fn rounds(node: &Node, from: usize) -> Vec<(Instant, Vec<IpAddr>)> {
    let mut out = Vec::new();
    for (t, e) in &node.log[from..] {
        if let Effect::Actions { actions, .. } = e {
            for a in actions {
                if let Action::Announce {
                    addresses,
                    reason: AnnounceReason::Refresh,
                    repeat: 1,
                } = a
                {
                    out.push((*t, addresses.clone()));
                }
            }
        }
    }
    out
}

fn master_at(node: &Node) -> Instant {
    node.log
        .iter()
        .find_map(|(t, e)| match e {
            Effect::Actions { actions, .. }
                if actions.iter().any(|a| {
                    matches!(
                        a,
                        Action::Transition {
                            to: State::Master,
                            ..
                        }
                    )
                }) =>
            {
                Some(*t)
            }
            _ => None,
        })
        .expect("became Master")
}

#[test]
fn a_master_announces_one_address_per_other_interface_each_period() {
    let mut a = Node::start(&text("garp_extra_if all 2"), v4(20));
    a.advance(ms(6000));
    assert_eq!(a.state("VI_1"), State::Master);
    let m = master_at(&a);
    let got = rounds(&a, 0);
    let want: Vec<IpAddr> = vec![
        "198.51.100.30".parse().unwrap(),
        "203.0.113.30".parse().unwrap(),
    ];
    assert_eq!(got.len(), 2, "{got:?}");
    for (k, (t, addrs)) in got.iter().enumerate() {
        assert_eq!(addrs, &want);
        let due = m + std::time::Duration::from_secs(2 * (k as u64 + 1));
        assert!(
            *t >= due && *t <= due + std::time::Duration::from_millis(100),
            "{t:?} vs {due:?}"
        );
    }
    // A higher priority: Backup, and the rounds stop.
    let i = a.driver.position("VI_1").unwrap();
    let repr = a.driver.instances()[i].router.advert(Priority(200));
    let from = a.log.len();
    // The peer keeps advertising for 5 s (more than two periods).
    for k in 0..50 {
        let d = datagram(
            &repr,
            v4(99),
            "224.0.0.18".parse().unwrap(),
            ChecksumMode::PseudoHeader,
        );
        a.handle(Event::Received {
            socket: key(),
            datagram: Ok(d),
        });
        assert_eq!(a.state("VI_1"), State::Backup);
        a.advance(ms(6000 + 100 * (k + 1)));
    }
    assert_eq!(rounds(&a, from), vec![]);
}

#[test]
fn the_global_default_applies_and_without_all_nothing_is_sent() {
    let global = format!(
        "global_defs {{\n vrrp_garp_extra_if all 1\n}}\n{}",
        text("")
    );
    let mut a = Node::start(&global, v4(20));
    a.advance(ms(4000));
    assert!(!rounds(&a, 0).is_empty());
    let mut b = Node::start(&text("garp_extra_if 1"), v4(20));
    b.advance(ms(4000));
    assert_eq!(b.state("VI_1"), State::Master);
    assert_eq!(rounds(&b, 0), vec![]);
    // The instance's 0 turns the global one off.
    let off = format!(
        "global_defs {{\n vrrp_garp_extra_if all 1\n}}\n{}",
        text("garp_extra_if 0")
    );
    let mut c = Node::start(&off, v4(20));
    c.advance(ms(4000));
    assert_eq!(rounds(&c, 0), vec![]);
}
