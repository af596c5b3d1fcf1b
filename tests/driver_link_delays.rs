//! `interface_up_down_delays` on the driver core (manual clock): a link
//! change counts once it has lasted its delay; a flap shorter than that is
//! never seen; without a delay a change counts at once.

#[path = "common/driver.rs"]
mod driver_common;

use driver_common::*;
use vrrpd::driver::{Effect, Event};
use vrrpd::proto::fsm::State;

fn text(delays: &str) -> String {
    format!(
        "interface_up_down_delays {{\n {delays}\n}}\n{}",
        conf(100, &["VI_1"], false).replace("advert_int 0.1", "advert_int 1")
    )
}

fn link(a: &mut Node, running: bool) {
    a.handle(Event::Link {
        index: IFINDEX,
        name: IFNAME.into(),
        running,
    });
}

fn said(a: &Node, from: usize, what: &str) -> bool {
    a.log[from..]
        .iter()
        .any(|(_, e)| matches!(e, Effect::Log { text, .. } if text.contains(what)))
}

#[test]
fn a_down_counts_after_its_delay_and_a_short_flap_not_at_all() {
    let mut a = Node::start(&text(&format!("{IFNAME} 1.5 0.5")), v4(20));
    a.advance(ms(4000));
    assert_eq!(a.state("VI_1"), State::Master);
    // Down for 1 s, then up: never seen.
    let from = a.log.len();
    link(&mut a, false);
    assert!(said(&a, from, "link down delayed by 1.5"));
    a.advance(ms(5000));
    assert_eq!(a.state("VI_1"), State::Master);
    link(&mut a, true);
    assert!(said(
        &a,
        from,
        &format!("Delay timer for {IFNAME} cancelled")
    ));
    a.advance(ms(8000));
    assert_eq!(a.state("VI_1"), State::Master, "the flap was not seen");
    // Down for good: FAULT 1.5 s later, not before.
    link(&mut a, false);
    a.advance(ms(9400));
    assert_eq!(a.state("VI_1"), State::Master);
    a.advance(ms(9600));
    assert_eq!(a.state("VI_1"), State::Fault);
    // Up (at 9.6 s): counted 0.5 s later.
    link(&mut a, true);
    a.advance(ms(10000));
    assert_eq!(a.state("VI_1"), State::Fault);
    a.advance(ms(10200));
    assert_ne!(a.state("VI_1"), State::Fault);
}

#[test]
fn without_a_delay_for_the_interface_a_change_counts_at_once() {
    let mut a = Node::start(&text("eth9 2"), v4(20));
    a.advance(ms(4000));
    link(&mut a, false);
    assert_eq!(a.state("VI_1"), State::Fault);
}

#[test]
fn delays_are_cut_below_the_master_down_margin_with_keepalived_s_warning() {
    let l = vrrpd::config::load_str(
        "/etc/k.conf",
        &text(&format!("{IFNAME} 10 1\n bogus x")),
        &Default::default(),
    );
    let d = &l.config.interface_delays;
    assert_eq!(d.len(), 1, "{:#?}", l.diagnostics);
    // advert_int 1, down_timer_adverts 3: under 2 s, less 1/256 s.
    assert_eq!(d[0].down.as_duration().as_micros(), 2_000_000 - 3906);
    assert_eq!(d[0].up.as_duration().as_micros(), 1_000_000);
    let w: Vec<_> = l
        .diagnostics
        .iter()
        .map(|d| (d.line, d.col, d.message.clone()))
        .collect();
    assert!(
        w.iter().any(|(l, c, m)| (*l, *c) == (2, 2)
            && m.contains("debounce timer(s) not less that 2 * advert_int - resetting")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|(l, c, m)| (*l, *c) == (3, 8) && m.contains("Invalid down delay x for bogus")),
        "{w:?}"
    );
}

#[test]
fn toml_interface_delays_are_checked_against_the_margin() {
    let opts = vrrpd::config::LoadOptions {
        syntax: vrrpd::config::Syntax::Toml,
        ..Default::default()
    };
    let base = "[[instance]]\nname = \"VI_1\"\ninterface = \"eth0\"\nvrid = 51\n\n[[instance.vips]]\naddr = \"192.0.2.10\"\nprefix = 32\n\n[[interface_delay]]\ninterface = \"eth0\"\ndown = DOWN\n";
    let l = vrrpd::config::load_str("/etc/vrrpd.toml", &base.replace("DOWN", "1.5"), &opts);
    assert!(!l.has_errors(), "{:#?}", l.diagnostics);
    assert_eq!(
        l.config.interface_delays[0].down.as_duration().as_millis(),
        1500
    );
    let l = vrrpd::config::load_str("/etc/vrrpd.toml", &base.replace("DOWN", "2"), &opts);
    let e: Vec<_> = l
        .diagnostics
        .iter()
        .map(|d| (d.line, d.col, d.message.clone()))
        .collect();
    assert!(
        e.iter()
            .any(|(l, c, m)| (*l, *c) == (10, 1) && m.contains("a delay must be under")),
        "{e:?}"
    );
}

/// keepalived's TRACK_ADDR: an address on another interface (`dev`) puts
/// its instance in FAULT while that interface is down, unless the address
/// is `no_track`; the instance's own interface is the link fault's.
fn with_address_on_eth1(no_track: bool) -> Node {
    let extra = if no_track {
        "  198.51.100.31/24 dev eth1 no_track\n"
    } else {
        "  198.51.100.31/24 dev eth1\n"
    };
    let text = conf(100, &["VI_1"], false)
        .replace("advert_int 0.1", "advert_int 1")
        .replace("  192.0.2.30\n", &format!("  192.0.2.30\n{extra}"));
    let mut a = Node::start(&text, v4(20));
    // Where the shell would have put it: eth1, index 7.
    let i = a.driver.position("VI_1").unwrap();
    let vip: std::net::IpAddr = "198.51.100.31".parse().unwrap();
    let spec = a.driver.instances()[i]
        .addresses
        .get(&vip)
        .unwrap()
        .1
        .clone();
    a.driver.instance_mut(i).addresses.insert(vip, (7, spec));
    a
}

fn eth1(a: &mut Node, running: bool) {
    a.handle(Event::Link {
        index: 7,
        name: "eth1".into(),
        running,
    });
}

#[test]
fn an_address_interface_going_down_faults_its_instance_until_it_is_up() {
    let mut a = with_address_on_eth1(false);
    a.advance(ms(4000));
    assert_eq!(a.state("VI_1"), State::Master);
    let from = a.log.len();
    eth1(&mut a, false);
    assert_eq!(a.state("VI_1"), State::Fault);
    assert!(said(
        &a,
        from,
        "Netlink reports eth1 down, an interface of its addresses"
    ));
    let i = a.driver.position("VI_1").unwrap();
    assert!(a.driver.instances()[i].faults.address_link);
    eth1(&mut a, true);
    assert_ne!(a.state("VI_1"), State::Fault);
    a.advance(ms(8000));
    assert_eq!(a.state("VI_1"), State::Master);
    // Gone counts as down.
    a.handle(Event::LinkRemoved { index: 7 });
    assert_eq!(a.state("VI_1"), State::Fault);
    // Made again under its name (index 8): the address follows it, and
    // the instance leaves FAULT once it is up.
    a.handle(Event::Link {
        index: 8,
        name: "eth1".into(),
        running: false,
    });
    assert_eq!(a.state("VI_1"), State::Fault);
    a.handle(Event::Link {
        index: 8,
        name: "eth1".into(),
        running: true,
    });
    assert_ne!(a.state("VI_1"), State::Fault);
    let vip: std::net::IpAddr = "198.51.100.31".parse().unwrap();
    let i = a.driver.position("VI_1").unwrap();
    assert_eq!(
        a.driver.instances()[i].addresses.get(&vip).map(|p| p.0),
        Some(8)
    );
    a.advance(ms(12000));
    assert_eq!(a.state("VI_1"), State::Master);
}

#[test]
fn a_no_track_address_interface_going_down_changes_nothing() {
    let mut a = with_address_on_eth1(true);
    a.advance(ms(4000));
    eth1(&mut a, false);
    a.handle(Event::LinkRemoved { index: 7 });
    a.advance(ms(6000));
    assert_eq!(a.state("VI_1"), State::Master);
    // Made again: the Master puts the address it held on the new index.
    let from = a.log.len();
    a.handle(Event::Link {
        index: 8,
        name: "eth1".into(),
        running: true,
    });
    let readded = a.log[from..].iter().any(|(_, e)| {
        matches!(e, Effect::AddressWork { add, remove, .. }
            if remove.is_empty() && add.len() == 1 && add[0].0 == 8)
    });
    assert!(readded, "the no_track address goes on the new eth1");
}

#[test]
fn another_interface_without_addresses_going_down_changes_nothing() {
    let mut a = with_address_on_eth1(false);
    a.advance(ms(4000));
    a.handle(Event::Link {
        index: 9,
        name: "eth9".into(),
        running: false,
    });
    assert_eq!(a.state("VI_1"), State::Master);
}
