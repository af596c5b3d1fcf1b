//! The driver's route and rule decisions (`vrrpd::driver::routes`), on a
//! manual clock: virtual routes and rules follow mastership, static ones
//! live from start to stop, a reload asks for the changed ones only.

#[path = "common/driver.rs"]
mod driver_common;

use driver_common::*;
use vrrpd::driver::routes::{Entry, STATIC_OWNER};
use vrrpd::driver::{Effect, Event};
use vrrpd::proto::fsm::State;
use vrrpd::proto::Priority;

const A: u8 = 20;

/// `conf` with VI_1's routes and rules, and static ones.
fn with_routes(priority: u8, routes: &str, rules: &str, statics: &str) -> String {
    let base = conf(priority, &["VI_1"], false);
    let inst = base.replace(
        " virtual_ipaddress {",
        &format!(
            " virtual_routes {{\n{routes}\n }}\n virtual_rules {{\n{rules}\n }}\n virtual_ipaddress {{"
        ),
    );
    format!("static_routes {{\n{statics}\n}}\n{inst}")
}

fn standard() -> String {
    with_routes(
        101,
        "  198.51.100.0/24 via 192.0.2.1 dev eth0 table 100\n  blackhole 203.0.113.0/24\n  2001:db8:1::/64 dev eth0",
        "  from 192.0.2.0/24 table 100 priority 100\n  inet6 to 2001:db8:2::/64 prohibit priority 101",
        "  203.0.113.128/25 dev eth0",
    )
}

/// Every route work the log asks of `owner` since `from`: (added, removed) texts.
fn work(node: &Node, from: usize, owner: &str) -> (Vec<String>, Vec<String>) {
    let mut added = Vec::new();
    let mut removed = Vec::new();
    for (_, e) in &node.log[from..] {
        if let Effect::RouteWork {
            owner: o,
            add,
            remove,
        } = e
        {
            if o == owner {
                added.extend(add.iter().map(Entry::text));
                removed.extend(remove.iter().map(Entry::text));
            }
        }
    }
    (added, removed)
}

#[test]
fn virtual_routes_and_rules_are_asked_for_on_becoming_master_only() {
    let mut a = Node::start(&standard(), v4(A));
    let (added, _) = work(&a, 0, "VI_1");
    assert!(added.is_empty(), "a Backup holds none: {added:?}");
    let from = a.log.len();
    a.advance(ms(1000));
    assert_eq!(a.state("VI_1"), State::Master);
    let (added, removed) = work(&a, from, "VI_1");
    assert_eq!(added.len(), 5, "3 routes and 2 rules: {added:?}");
    assert!(removed.is_empty());
    // Asked once: later adverts ask nothing.
    let from = a.log.len();
    a.advance(ms(3000));
    assert_eq!(work(&a, from, "VI_1"), (vec![], vec![]));
}

#[test]
fn routes_are_asked_after_the_addresses_they_may_use() {
    let mut a = Node::start(&standard(), v4(A));
    let from = a.log.len();
    a.advance(ms(1000));
    let pos = |want: fn(&Effect) -> bool| a.log[from..].iter().position(|(_, e)| want(e));
    let vips = pos(|e| {
        matches!(e, Effect::Actions { actions, .. }
            if actions.iter().any(|x| matches!(x, vrrpd::proto::fsm::Action::AddVips(_))))
    });
    let routes = pos(|e| matches!(e, Effect::RouteWork { owner, .. } if owner == "VI_1"));
    assert!(vips.unwrap() < routes.unwrap());
}

#[test]
fn leaving_master_asks_for_their_removal() {
    let mut a = Node::start(&standard(), v4(A));
    a.advance(ms(1000));
    let from = a.log.len();
    // A higher priority Master appears: VI_1 goes Backup.
    let i = a.driver.position("VI_1").unwrap();
    let repr = a.driver.instances()[i].router.advert(Priority(200));
    let d = datagram(
        &repr,
        v4(99),
        "224.0.0.18".parse().unwrap(),
        vrrpd::proto::wire::ChecksumMode::PseudoHeader,
    );
    a.handle(Event::Received {
        socket: key(),
        datagram: Ok(d),
    });
    assert_eq!(a.state("VI_1"), State::Backup);
    let (added, removed) = work(&a, from, "VI_1");
    assert!(added.is_empty());
    assert_eq!(removed.len(), 5);
}

#[test]
fn a_fault_removes_them_and_recovery_as_master_adds_them_again() {
    let mut a = Node::start(&standard(), v4(A));
    a.advance(ms(1000));
    let from = a.log.len();
    a.handle(Event::Link {
        index: IFINDEX,
        name: IFNAME.into(),
        running: false,
    });
    assert_eq!(a.state("VI_1"), State::Fault);
    assert_eq!(work(&a, from, "VI_1").1.len(), 5);
    let from = a.log.len();
    a.handle(Event::Link {
        index: IFINDEX,
        name: IFNAME.into(),
        running: true,
    });
    a.advance(ms(3000));
    assert_eq!(a.state("VI_1"), State::Master);
    assert_eq!(work(&a, from, "VI_1").0.len(), 5);
}

#[test]
fn static_routes_are_asked_for_at_start_and_removed_at_stop() {
    let mut a = Node::start(&standard(), v4(A));
    let (added, removed) = work(&a, 0, STATIC_OWNER);
    assert_eq!(added, vec!["prepend 203.0.113.128/25 dev eth0 proto 18"]);
    assert!(removed.is_empty());
    a.advance(ms(1000));
    let from = a.log.len();
    a.handle(Event::Shutdown);
    let (added, removed) = work(&a, from, STATIC_OWNER);
    assert!(added.is_empty());
    assert_eq!(removed.len(), 1);
    assert_eq!(
        work(&a, from, "VI_1").1.len(),
        5,
        "a stopping Master gives its up too"
    );
}

#[test]
fn a_reload_asks_for_the_changed_routes_only() {
    let mut a = Node::start(&standard(), v4(A));
    a.advance(ms(1000));
    let from = a.log.len();
    let edited = standard()
        .replace("blackhole 203.0.113.0/24", "unreachable 203.0.113.0/24")
        .replace("203.0.113.128/25 dev eth0", "203.0.113.128/26 dev eth0");
    let event = reload(&a.driver, &parse(&edited), v4(A));
    a.handle(event);
    assert_eq!(a.state("VI_1"), State::Master);
    let (added, removed) = work(&a, from, "VI_1");
    assert_eq!(
        added,
        vec!["add unreachable 203.0.113.0/24 proto 18 no_track"]
    );
    assert_eq!(
        removed,
        vec!["add blackhole 203.0.113.0/24 proto 18 no_track"]
    );
    let (added, removed) = work(&a, from, STATIC_OWNER);
    assert_eq!(added, vec!["prepend 203.0.113.128/26 dev eth0 proto 18"]);
    assert_eq!(removed, vec!["prepend 203.0.113.128/25 dev eth0 proto 18"]);
    // An unchanged reload asks nothing.
    let from = a.log.len();
    let event = reload(&a.driver, &parse(&edited), v4(A));
    a.handle(event);
    assert_eq!(work(&a, from, "VI_1"), (vec![], vec![]));
    assert_eq!(work(&a, from, STATIC_OWNER), (vec![], vec![]));
}

#[test]
fn an_instance_removed_by_a_reload_gives_its_routes_up() {
    let mut a = Node::start(&standard(), v4(A));
    a.advance(ms(1000));
    let from = a.log.len();
    let other = conf(101, &["VI_9"], false).replace("virtual_router_id 51", "virtual_router_id 59");
    let event = reload(&a.driver, &parse(&other), v4(A));
    a.handle(event);
    assert_eq!(work(&a, from, "VI_1").1.len(), 5);
    assert_eq!(work(&a, from, STATIC_OWNER).1.len(), 1);
}

#[test]
fn an_owner_started_when_the_startup_delay_ends_asks_for_its_routes() {
    // Once lost: the deadline refresh at the hold's end forgot which
    // instances had moved before their routes were looked at.
    let mut a = Node {
        driver: vrrpd::driver::Driver::new(),
        source: v4(A),
        now: ms(0),
        log: Vec::new(),
    };
    a.driver.hold_startup(ms(1500));
    let event = reload(
        &a.driver,
        &parse(&standard().replace("priority 101", "priority 255")),
        v4(A),
    );
    a.handle(event);
    assert_eq!(a.state("VI_1"), State::Initialize);
    let from = a.log.len();
    a.advance(ms(1500));
    assert_eq!(a.state("VI_1"), State::Master, "an owner is Master at once");
    let (added, removed) = work(&a, from, "VI_1");
    assert_eq!(added.len(), 5, "3 routes and 2 rules: {added:?}");
    assert!(removed.is_empty());
}

/// Every static address work since `from`: (added, removed) as "addr/prefix".
fn static_work(node: &Node, from: usize) -> (Vec<String>, Vec<String>) {
    let text =
        |(_, s): &(u32, vrrpd::net::netlink::AddressSpec)| format!("{}/{}", s.addr, s.prefix);
    let mut added = Vec::new();
    let mut removed = Vec::new();
    for (_, e) in &node.log[from..] {
        if let Effect::StaticAddressWork { add, remove } = e {
            added.extend(add.iter().map(text));
            removed.extend(remove.iter().map(text));
        }
    }
    (added, removed)
}

fn with_static_addresses(entries: &str) -> String {
    format!(
        "static_ipaddress {{\n{entries}\n}}\n{}",
        conf(101, &["VI_1"], false)
    )
}

#[test]
fn static_addresses_are_asked_for_at_start_kept_across_states_and_removed_at_stop() {
    let text = with_static_addresses("  203.0.113.1/24 dev eth0\n  2001:db8:5::1/64 dev eth0");
    let mut a = Node::start(&text, v4(A));
    let (added, removed) = static_work(&a, 0);
    assert_eq!(added, vec!["203.0.113.1/24", "2001:db8:5::1/64"]);
    assert!(removed.is_empty());
    let from = a.log.len();
    a.advance(ms(3000));
    assert_eq!(a.state("VI_1"), State::Master);
    // A higher-priority peer: back to Backup; the static ones stay.
    let i = a.driver.position("VI_1").unwrap();
    let repr = a.driver.instances()[i].router.advert(Priority(200));
    let d = datagram(
        &repr,
        v4(99),
        "224.0.0.18".parse().unwrap(),
        vrrpd::proto::wire::ChecksumMode::PseudoHeader,
    );
    a.handle(Event::Received {
        socket: key(),
        datagram: Ok(d),
    });
    assert_eq!(a.state("VI_1"), State::Backup);
    assert_eq!(
        static_work(&a, from),
        (vec![], vec![]),
        "not tied to mastership"
    );
    let from = a.log.len();
    a.handle(Event::Shutdown);
    let (added, removed) = static_work(&a, from);
    assert!(added.is_empty());
    assert_eq!(removed, vec!["203.0.113.1/24", "2001:db8:5::1/64"]);
}

#[test]
fn a_reload_removes_the_static_addresses_it_drops_and_adds_the_new_ones() {
    let mut a = Node::start(
        &with_static_addresses("  203.0.113.1/24 dev eth0\n  203.0.113.2/24 dev eth0"),
        v4(A),
    );
    a.advance(ms(1000));
    let from = a.log.len();
    let edited = with_static_addresses("  203.0.113.1/24 dev eth0\n  203.0.113.3/24 dev eth0");
    let event = reload(&a.driver, &parse(&edited), v4(A));
    a.handle(event);
    assert_eq!(
        static_work(&a, from),
        (vec!["203.0.113.3/24".into()], vec!["203.0.113.2/24".into()])
    );
    // The same again: nothing asked.
    let from = a.log.len();
    let event = reload(&a.driver, &parse(&edited), v4(A));
    a.handle(event);
    assert_eq!(static_work(&a, from), (vec![], vec![]));
    // Another prefix for the same address: added again with it, no removal
    // (one slot per address; the worker replaces it).
    let from = a.log.len();
    let wider = edited.replace("203.0.113.3/24", "203.0.113.3/25");
    let event = reload(&a.driver, &parse(&wider), v4(A));
    a.handle(event);
    assert_eq!(
        static_work(&a, from),
        (vec!["203.0.113.3/25".into()], vec![])
    );
}

#[test]
fn a_static_address_deleted_by_someone_else_is_added_again_unless_no_track() {
    let text =
        with_static_addresses("  203.0.113.1/24 dev eth0\n  203.0.113.2/24 dev eth0 no_track");
    let mut a = Node::start(&text, v4(A));
    a.advance(ms(1000));
    let from = a.log.len();
    a.handle(Event::AddressRemoved {
        index: IFINDEX,
        addr: "203.0.113.1".parse().unwrap(),
    });
    assert_eq!(
        static_work(&a, from),
        (vec!["203.0.113.1/24".into()], vec![])
    );
    assert!(a.log[from..].iter().any(|(_, e)| matches!(e,
        Effect::Log { text, .. } if text == "Restoring deleted static address 203.0.113.1")));
    let from = a.log.len();
    a.handle(Event::AddressRemoved {
        index: IFINDEX,
        addr: "203.0.113.2".parse().unwrap(),
    });
    // On another interface: not ours.
    a.handle(Event::AddressRemoved {
        index: IFINDEX + 5,
        addr: "203.0.113.1".parse().unwrap(),
    });
    assert_eq!(static_work(&a, from), (vec![], vec![]));
    // After stop, nothing is restored.
    a.handle(Event::Shutdown);
    let from = a.log.len();
    a.handle(Event::AddressRemoved {
        index: IFINDEX,
        addr: "203.0.113.1".parse().unwrap(),
    });
    assert_eq!(static_work(&a, from), (vec![], vec![]));
}
