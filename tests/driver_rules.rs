//! One test per rule of the driver core (`vrrpd::driver`), each on a manual
//! clock: dispatch, drops, fault aggregation, send failures, re-created
//! interfaces, sync groups across reloads, reload identity, shutdown.

#[path = "common/driver.rs"]
mod driver_common;

use std::time::Duration;

use driver_common::*;
use vrrpd::driver::{Effect, Event, Level, TrackState};
use vrrpd::net::socket::{Inbound, SocketError};
use vrrpd::proto::fsm::{Action, State};
use vrrpd::proto::Priority;

const A: u8 = 20;
const B: u8 = 21;

/// A node whose VI_1 became Master (nobody else on the LAN).
fn master_node() -> Node {
    let mut a = Node::start(&conf(101, &["VI_1"], false), v4(A));
    a.advance(ms(1000));
    assert_eq!(a.state("VI_1"), State::Master);
    a
}

fn backup_node() -> (Node, Node) {
    let mut a = master_node();
    let mut b = Node::start(&conf(100, &["VI_1"], false), v4(B));
    // B hears A's adverts for a while.
    for t in (1000..1500).step_by(100) {
        let from = a.log.len();
        a.advance(ms(t));
        for (i, repr) in a.adverts_since(from) {
            let d = a.datagram(i, &repr);
            b.now = ms(t);
            b.handle(Event::Received {
                socket: key(),
                datagram: Ok(d),
            });
        }
        b.advance(ms(t));
    }
    assert_eq!(b.state("VI_1"), State::Backup);
    (a, b)
}

fn received(node: &mut Node, d: Inbound) -> Vec<usize> {
    node.handle(Event::Received {
        socket: key(),
        datagram: Ok(d),
    })
}

fn advert_from(node: &Node, src: u8, priority: u8, vrid_of: &str) -> Inbound {
    let i = node.driver.position(vrid_of).unwrap();
    let r = &node.driver.instances()[i];
    let repr = r.router.advert(Priority(priority));
    datagram(
        &repr,
        v4(src),
        "224.0.0.18".parse().unwrap(),
        vrrpd::proto::wire::ChecksumMode::PseudoHeader,
    )
}

fn has_log(node: &Node, from: usize, level: Level, needle: &str) -> bool {
    node.log[from..].iter().any(|(_, e)| {
        matches!(e, Effect::Log { level: l, text, .. } if *l == level && text.contains(needle))
    })
}

#[test]
fn an_advert_reaches_the_instance_of_its_socket_and_vrid() {
    let (_, mut b) = backup_node();
    let before = b.driver.instances()[0].router.stats().adverts_received;
    let d = advert_from(&b, A, 101, "VI_1");
    received(&mut b, d);
    let after = b.driver.instances()[0].router.stats().adverts_received;
    assert_eq!(after, before + 1);
}

#[test]
fn an_advert_for_an_unknown_vrid_is_counted_and_reaches_nobody() {
    let (_, mut b) = backup_node();
    let mut d = advert_from(&b, A, 101, "VI_1");
    d.payload[1] = 99; // VRID 99
    let before = b.driver.instances()[0].router.stats().adverts_received;
    let made = received(&mut b, d);
    assert!(made.is_empty(), "log_unknown_vrids is off: no line");
    assert_eq!(b.driver.unknown_vrid(), 1);
    assert_eq!(
        b.driver.instances()[0].router.stats().adverts_received,
        before
    );
}

#[test]
fn an_advert_on_another_socket_is_not_dispatched_by_vrid_alone() {
    let (_, mut b) = backup_node();
    let other = vrrpd::driver::SocketKey {
        ifindex: IFINDEX + 1,
        ..key()
    };
    let d = advert_from(&b, A, 101, "VI_1");
    b.handle(Event::Received {
        socket: other,
        datagram: Ok(d),
    });
    assert_eq!(b.driver.unknown_vrid(), 1);
}

#[test]
fn a_datagram_error_is_counted_by_reason_without_an_instance() {
    let (_, mut b) = backup_node();
    for _ in 0..5000 {
        b.handle(Event::Received {
            socket: key(),
            datagram: Err(SocketError::Oversized { len: 1400 }),
        });
    }
    assert_eq!(b.driver.socket_drops().get("oversized"), Some(&5000));
    assert_eq!(b.state("VI_1"), State::Backup);
}

#[test]
fn lines_caused_by_packets_are_rate_limited() {
    let (_, mut b) = backup_node();
    let from = b.log.len();
    for _ in 0..1000 {
        b.handle(Event::Received {
            socket: key(),
            datagram: Err(SocketError::Oversized { len: 1400 }),
        });
    }
    let lines = b.log[from..]
        .iter()
        .filter(|(_, e)| matches!(e, Effect::Log { .. }))
        .count();
    assert_eq!(lines, 3, "a burst of 3 per 10 s window");
}

#[test]
fn a_truncated_datagram_is_counted_as_truncated() {
    let (_, mut b) = backup_node();
    let mut d = advert_from(&b, A, 101, "VI_1");
    d.payload.truncate(4);
    received(&mut b, d);
    assert_eq!(b.driver.socket_drops().get("truncated"), Some(&1));
}

#[test]
fn our_own_advert_is_dropped_as_own_address() {
    let (_, mut b) = backup_node();
    let d = advert_from(&b, B, 100, "VI_1");
    received(&mut b, d);
    assert_eq!(b.driver.instances()[0].drops.get("own_address"), Some(&1));
}

#[test]
fn a_bad_advert_is_dropped_with_its_reason_before_the_router() {
    let (_, mut b) = backup_node();
    let mut d = advert_from(&b, A, 101, "VI_1");
    d.ttl = 64;
    received(&mut b, d);
    assert_eq!(b.driver.instances()[0].drops.get("ttl"), Some(&1));
}

#[test]
fn a_stranger_is_dropped_when_unicast_sources_are_checked() {
    let text = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 100\n unicast_src_ip 192.0.2.21\n unicast_peer {\n  192.0.2.20\n }\n check_unicast_src\n virtual_ipaddress {\n  192.0.2.30\n }\n}\n";
    let mut b = Node::start(text, v4(B));
    let i = b.driver.position("VI_1").unwrap();
    let repr = b.driver.instances()[i].router.advert(Priority(254));
    let d = datagram(
        &repr,
        v4(40),
        v4(B),
        vrrpd::proto::wire::ChecksumMode::PseudoHeader,
    );
    let socket = b.driver.instances()[i].socket_key.clone();
    b.handle(Event::Received {
        socket,
        datagram: Ok(d),
    });
    assert_eq!(b.driver.instances()[i].drops.get("not_a_peer"), Some(&1));
    assert_ne!(b.state("VI_1"), State::Master);
}

#[test]
fn link_down_faults_the_instance_and_link_up_recovers_it() {
    let mut a = master_node();
    let from = a.log.len();
    a.handle(Event::Link {
        index: IFINDEX,
        name: IFNAME.into(),
        running: false,
    });
    assert_eq!(a.state("VI_1"), State::Fault);
    assert!(a.driver.instances()[0].faults.link);
    a.handle(Event::Link {
        index: IFINDEX,
        name: IFNAME.into(),
        running: true,
    });
    assert_eq!(a.state("VI_1"), State::Backup);
    assert_eq!(
        a.transitions_since(from),
        [
            ("VI_1".to_string(), State::Fault),
            ("VI_1".to_string(), State::Backup)
        ]
    );
}

#[test]
fn faults_aggregate_and_the_router_hears_only_changes() {
    let mut a = master_node();
    a.handle(Event::Tracked {
        instance: 0,
        state: TrackState {
            adjustment: 0,
            fault: true,
            failing: vec!["chk_apache".into()],
        },
    });
    assert_eq!(a.state("VI_1"), State::Fault);
    let from = a.log.len();
    // The link goes down and up while the tracker still fails: no change.
    for running in [false, true] {
        a.handle(Event::Link {
            index: IFINDEX,
            name: IFNAME.into(),
            running,
        });
    }
    assert_eq!(a.state("VI_1"), State::Fault);
    assert!(a.transitions_since(from).is_empty());
    a.handle(Event::Tracked {
        instance: 0,
        state: TrackState {
            adjustment: 0,
            fault: false,
            failing: vec![],
        },
    });
    assert_eq!(a.state("VI_1"), State::Backup);
}

#[test]
fn an_unchanged_tracker_report_changes_nothing() {
    let mut a = master_node();
    let from = a.log.len();
    a.handle(Event::Tracked {
        instance: 0,
        state: TrackState {
            adjustment: 0,
            fault: false,
            failing: vec![],
        },
    });
    assert_eq!(a.log.len(), from);
}

#[test]
fn a_tracker_weight_changes_the_priority() {
    let mut a = master_node();
    a.handle(Event::Tracked {
        instance: 0,
        state: TrackState {
            adjustment: -10,
            fault: false,
            failing: vec![],
        },
    });
    assert_eq!(
        a.driver.instances()[0].router.effective_priority(),
        Priority(91)
    );
}

#[test]
fn sends_failing_for_master_down_interval_fault_the_master() {
    let mut a = master_node();
    let t0 = a.now;
    a.handle(Event::SendFailed { instance: 0 });
    // Master_Down_Interval at 0.1 s, priority 101: 300 ms + skew 60.5 ms.
    a.advance(t0 + Duration::from_millis(350));
    assert_eq!(a.state("VI_1"), State::Master, "not yet");
    let from = a.log.len();
    a.advance(t0 + Duration::from_millis(370));
    assert_eq!(a.state("VI_1"), State::Fault);
    assert!(a.driver.instances()[0].faults.send);
    assert!(has_log(&a, from, Level::Error, "could not be sent"));
    // It gave its addresses up.
    let removed = a.log[from..].iter().any(|(_, e)| {
        matches!(e, Effect::Actions { actions, .. }
            if actions.iter().any(|a| matches!(a, Action::RemoveVips(_))))
    });
    assert!(removed);
}

#[test]
fn a_send_that_recovers_within_master_down_interval_faults_nothing() {
    let mut a = master_node();
    let t0 = a.now;
    a.handle(Event::SendFailed { instance: 0 });
    a.advance(t0 + Duration::from_millis(200));
    a.handle(Event::SendOk { instance: 0 });
    a.advance(t0 + Duration::from_millis(1000));
    assert_eq!(a.state("VI_1"), State::Master);
    assert!(!a.driver.instances()[0].send_failing());
}

#[test]
fn a_send_fault_probes_each_interval_and_ends_when_a_probe_leaves() {
    let mut a = master_node();
    let t0 = a.now;
    a.handle(Event::SendFailed { instance: 0 });
    a.advance(t0 + Duration::from_millis(400));
    assert_eq!(a.state("VI_1"), State::Fault);
    let from = a.log.len();
    a.advance(t0 + Duration::from_millis(1000));
    let probes = a.log[from..]
        .iter()
        .filter(|(_, e)| matches!(e, Effect::Probe { instance: 0 }))
        .count();
    assert!(
        (5..=7).contains(&probes),
        "{probes} probes in 0.6 s at 0.1 s"
    );
    a.handle(Event::SendOk { instance: 0 });
    assert!(!a.driver.instances()[0].faults.send);
    assert_eq!(a.state("VI_1"), State::Backup);
}

#[test]
fn a_backup_does_not_fault_for_sends_it_never_made() {
    let (_, mut b) = backup_node();
    let t = b.now;
    b.advance(t + Duration::from_secs(5));
    assert!(!b.driver.instances()[0].faults.send);
}

#[test]
fn a_recreated_interface_is_rebound_and_the_instance_leaves_fault() {
    let mut a = master_node();
    a.handle(Event::LinkRemoved { index: IFINDEX });
    assert_eq!(a.state("VI_1"), State::Fault);
    let from = a.log.len();
    a.handle(Event::Link {
        index: 7,
        name: IFNAME.into(),
        running: true,
    });
    let asked = a.log[from..].iter().any(|(_, e)| {
        matches!(
            e,
            Effect::Rebind {
                instance: 0,
                ifindex: 7
            }
        )
    });
    assert!(asked, "the shell is asked to re-bind");
    let socket = vrrpd::driver::SocketKey {
        ifindex: 7,
        ..key()
    };
    a.handle(Event::Rebound {
        instance: 0,
        ifindex: 7,
        socket: socket.clone(),
        running: true,
        source: Some(v4(A)),
        vmac: None,
    });
    let r = &a.driver.instances()[0];
    assert_eq!((r.ifindex, &r.socket_key), (7, &socket));
    assert!(r.addresses.values().all(|(ix, _)| *ix == 7));
    assert_eq!(a.state("VI_1"), State::Backup);
    // Adverts now arrive on the new socket.
    let d = advert_from(&a, B, 100, "VI_1");
    a.handle(Event::Received {
        socket,
        datagram: Ok(d),
    });
    assert_eq!(a.driver.unknown_vrid(), 0);
}

#[test]
fn a_source_address_found_later_starts_the_instance() {
    let cfg = parse(&conf(100, &["VI_1"], false));
    let mut running = started(&cfg.instances[0], "0.0.0.0".parse().unwrap());
    running.faults.no_source = true;
    let mut node = Node {
        driver: vrrpd::driver::Driver::new(),
        source: v4(B),
        now: ms(0),
        log: Vec::new(),
    };
    node.handle(Event::Reload(Box::new(vrrpd::driver::Reload {
        config: cfg,
        started: vec![running],
        addresses: Default::default(),
        tracking: Default::default(),
        static_addresses: Vec::new(),
    })));
    assert_eq!(node.state("VI_1"), State::Fault);
    let from = node.log.len();
    node.handle(Event::AddressAdded { index: IFINDEX });
    let asked = node.log[from..]
        .iter()
        .any(|(_, e)| matches!(e, Effect::FindSource { instance: 0, .. }));
    assert!(asked);
    node.handle(Event::SourceFound {
        instance: 0,
        source: v4(B),
    });
    assert_eq!(node.state("VI_1"), State::Backup);
    assert_eq!(node.driver.instances()[0].router.params().source, v4(B));
}

#[test]
fn an_address_deleted_by_someone_else_is_reported_to_the_master() {
    let mut a = master_node();
    let from = a.log.len();
    a.handle(Event::AddressRemoved {
        index: IFINDEX,
        addr: v4(30),
    });
    assert!(has_log(&a, from, Level::Warn, "deleted by someone else"));
}

#[test]
fn an_address_of_the_same_value_on_another_interface_is_not_ours() {
    let mut a = master_node();
    let from = a.log.len();
    a.handle(Event::AddressRemoved {
        index: IFINDEX + 5,
        addr: v4(30),
    });
    assert_eq!(a.log.len(), from);
}

#[test]
fn reload_keeps_a_running_instance_and_its_state() {
    let mut a = master_node();
    let from = a.log.len();
    let event = reload(&a.driver, &parse(&conf(101, &["VI_1"], false)), v4(A));
    a.handle(event);
    assert_eq!(a.state("VI_1"), State::Master);
    assert!(a.transitions_since(from).is_empty());
}

#[test]
fn reload_stops_a_removed_instance_as_deleted_and_starts_a_new_one() {
    let mut a = master_node();
    let from = a.log.len();
    let other = conf(101, &["VI_9"], false).replace("virtual_router_id 51", "virtual_router_id 59");
    let event = reload(&a.driver, &parse(&other), v4(A));
    a.handle(event);
    let removed = a.log[from..].iter().find_map(|(_, e)| match e {
        Effect::Removed { running, actions } => Some((running.deleting, actions.len())),
        _ => None,
    });
    let (deleting, actions) = removed.expect("VI_1 removed");
    assert!(deleting && actions > 0, "it resigns and stops");
    assert_eq!(a.driver.instances().len(), 1);
    assert_eq!(a.state("VI_9"), State::Backup);
}

/// Two members in sync group G; VI_2's tracker fails, so the group holds
/// VI_1 in FAULT too.
fn group_held() -> Node {
    let text = conf(101, &["VI_1", "VI_2"], true);
    let mut a = Node::start(&text, v4(A));
    a.advance(ms(1000));
    assert_eq!(a.state("VI_1"), State::Master);
    a.handle(Event::Tracked {
        instance: 1,
        state: TrackState {
            adjustment: 0,
            fault: true,
            failing: vec!["chk".into()],
        },
    });
    assert_eq!(
        (a.state("VI_1"), a.state("VI_2")),
        (State::Fault, State::Fault)
    );
    a
}

#[test]
fn reload_keeps_a_sync_group_member_held_in_fault() {
    // The seam issue 13 found: on reload, parameters were rebuilt without
    // the member's group, which released a member its group held in FAULT
    // (a BACKUP notification), until the next group decision pushed it
    // back.
    let mut a = group_held();
    let from = a.log.len();
    let event = reload(
        &a.driver,
        &parse(&conf(101, &["VI_1", "VI_2"], true)),
        v4(A),
    );
    a.handle(event);
    assert_eq!(a.transitions_since(from), []);
    assert_eq!(
        (a.state("VI_1"), a.state("VI_2")),
        (State::Fault, State::Fault)
    );
    a.advance(a.now + Duration::from_secs(2));
    assert_eq!(a.transitions_since(from), []);
    // The group lets go when the fault clears.
    a.handle(Event::Tracked {
        instance: 1,
        state: TrackState {
            adjustment: 0,
            fault: false,
            failing: vec![],
        },
    });
    assert_eq!(
        (a.state("VI_1"), a.state("VI_2")),
        (State::Backup, State::Backup)
    );
}

#[test]
fn reload_keeps_the_group_state() {
    let mut a = group_held();
    let event = reload(
        &a.driver,
        &parse(&conf(101, &["VI_1", "VI_2"], true)),
        v4(A),
    );
    a.handle(event);
    assert_eq!(a.driver.group_state("G"), Some(State::Fault));
}

#[test]
fn a_member_leaving_master_takes_the_group_to_backup() {
    let text = conf(101, &["VI_1", "VI_2"], true);
    let mut a = Node::start(&text, v4(A));
    a.advance(ms(1000));
    assert_eq!(a.driver.group_state("G"), Some(State::Master));
    let d = advert_from(&a, B, 200, "VI_1");
    received(&mut a, d);
    assert_eq!(
        (a.state("VI_1"), a.state("VI_2")),
        (State::Backup, State::Backup)
    );
    assert_eq!(a.driver.group_state("G"), Some(State::Backup));
}

#[test]
fn shutdown_resigns_members_then_reports_groups() {
    let text = conf(101, &["VI_1", "VI_2"], true);
    let mut a = Node::start(&text, v4(A));
    a.advance(ms(1000));
    let from = a.log.len();
    a.handle(Event::Shutdown);
    let zero = a
        .adverts_since(from)
        .iter()
        .filter(|(_, r)| r.priority.is_resign())
        .count();
    assert_eq!(zero, 2, "each Master sends priority 0");
    let last_member = a.log[from..]
        .iter()
        .rposition(|(_, e)| matches!(e, Effect::Actions { .. }))
        .unwrap();
    let group = a.log[from..]
        .iter()
        .position(|(_, e)| {
            matches!(
                e,
                Effect::GroupState {
                    state: State::Initialize,
                    ..
                }
            )
        })
        .unwrap();
    assert!(group > last_member, "the group reports after its members");
    // Stopping members do not sync each other.
    assert!(!a.log[from..]
        .iter()
        .any(|(_, e)| matches!(e, Effect::GroupSyncing { .. })));
}

#[test]
fn a_demoted_instance_leaves_master_and_a_promoted_one_rejoins() {
    let mut a = master_node();
    a.handle(Event::AdminDown {
        instance: 0,
        down: true,
    });
    assert_ne!(a.state("VI_1"), State::Master);
    a.handle(Event::AdminDown {
        instance: 0,
        down: false,
    });
    a.advance(a.now + Duration::from_secs(1));
    assert_eq!(a.state("VI_1"), State::Master);
}

#[test]
fn late_adverts_are_measured_and_a_quarter_interval_late_is_a_warning() {
    let mut a = master_node();
    let due = a.driver.poll_at().unwrap();
    let from = a.log.len();
    a.now = due + Duration::from_millis(30);
    a.handle(Event::Timer);
    assert!(has_log(&a, from, Level::Warn, "ms late"));
    assert!(a.driver.instances()[0].lateness.max() >= Duration::from_millis(30));
}

#[test]
fn events_for_an_instance_that_is_gone_are_ignored() {
    let mut a = master_node();
    for event in [
        Event::SendFailed { instance: 9 },
        Event::SendOk { instance: 9 },
        Event::AdminDown {
            instance: 9,
            down: true,
        },
        Event::SourceFound {
            instance: 9,
            source: v4(1),
        },
        Event::Tracked {
            instance: 9,
            state: TrackState {
                adjustment: 1,
                fault: true,
                failing: vec![],
            },
        },
    ] {
        a.handle(event);
    }
    assert_eq!(a.state("VI_1"), State::Master);
}

#[test]
fn a_new_instance_starts_with_what_its_trackers_already_say() {
    let cfg = parse(&conf(100, &["VI_1", "VI_2"], false));
    let mut node = Node {
        driver: vrrpd::driver::Driver::new(),
        source: v4(B),
        now: ms(0),
        log: Vec::new(),
    };
    let mut tracking = std::collections::HashMap::new();
    tracking.insert(
        "VI_1".to_string(),
        vrrpd::driver::TrackState {
            adjustment: 0,
            fault: true,
            failing: vec!["chk".into()],
        },
    );
    tracking.insert(
        "VI_2".to_string(),
        vrrpd::driver::TrackState {
            adjustment: -20,
            fault: false,
            failing: vec![],
        },
    );
    let started = cfg.instances.iter().map(|c| started(c, v4(B))).collect();
    node.handle(Event::Reload(Box::new(vrrpd::driver::Reload {
        config: cfg,
        started,
        addresses: Default::default(),
        tracking,
        static_addresses: Vec::new(),
    })));
    // Straight to FAULT, never BACKUP first; VI_2 starts at 80.
    assert_eq!(
        node.transitions_since(0),
        [
            ("VI_1".to_string(), State::Fault),
            ("VI_2".to_string(), State::Backup)
        ]
    );
    assert_eq!(
        node.driver.instances()[1].router.effective_priority(),
        Priority(80)
    );
}

fn asks_rebind(node: &Node, from: usize, index: u32) -> bool {
    node.log[from..]
        .iter()
        .any(|(_, e)| matches!(e, Effect::Rebind { instance: 0, ifindex } if *ifindex == index))
}

#[test]
fn a_failed_rebind_is_asked_again_on_the_next_link_event() {
    let mut a = master_node();
    a.handle(Event::LinkRemoved { index: IFINDEX });
    let link = Event::Link {
        index: 7,
        name: IFNAME.into(),
        running: true,
    };
    let from = a.log.len();
    a.handle(link);
    assert!(asks_rebind(&a, from, 7));
    let from = a.log.len();
    a.handle(Event::Link {
        index: 7,
        name: IFNAME.into(),
        running: true,
    });
    assert!(!asks_rebind(&a, from, 7), "once per index while in flight");
    // The lookup timed out: the shell says so, the next event asks again.
    a.handle(Event::RebindFailed {
        instance: 0,
        ifindex: 7,
    });
    let from = a.log.len();
    a.handle(Event::Link {
        index: 7,
        name: IFNAME.into(),
        running: true,
    });
    assert!(asks_rebind(&a, from, 7));
}

#[test]
fn a_merged_lookup_is_wanted_only_while_its_answer_is_missing() {
    use vrrpd::driver::lookups::Lookup;
    let mut a = master_node();
    let rebind = |ifindex| Lookup::Rebind {
        instance: 0,
        ifindex,
    };
    let source = Lookup::Source {
        instance: 0,
        ifindex: IFINDEX,
    };
    assert!(!a.driver.wants(&source), "it has a source");
    assert!(!a.driver.wants(&rebind(7)), "nothing to re-bind");
    a.handle(Event::LinkRemoved { index: IFINDEX });
    a.handle(Event::Link {
        index: 7,
        name: IFNAME.into(),
        running: true,
    });
    assert!(a.driver.wants(&rebind(7)));
    assert!(!a.driver.wants(&rebind(8)));
    a.handle(Event::Rebound {
        instance: 0,
        ifindex: 7,
        socket: vrrpd::driver::SocketKey {
            ifindex: 7,
            ..key()
        },
        running: true,
        source: Some(v4(A)),
        vmac: None,
    });
    assert!(!a.driver.wants(&rebind(7)), "the answer made it moot");
    assert!(!a.driver.wants(&Lookup::Source {
        instance: 5,
        ifindex: 7
    }));
    assert!(a.driver.wants(&Lookup::Resync));
}

/// `state_since` (status's `state_since`, `state_age_s`) comes from the
/// core's clock: set from `now` when the instance starts and at each
/// transition, never from the wall clock.
#[test]
fn state_since_follows_the_manual_clock() {
    let mut a = Node {
        driver: vrrpd::driver::Driver::new(),
        source: v4(A),
        now: ms(5_000),
        log: Vec::new(),
    };
    let event = reload(&a.driver, &parse(&conf(101, &["VI_1"], false)), v4(A));
    a.handle(event);
    let since = |n: &Node| n.driver.instances()[0].state_since;
    assert_eq!(a.state("VI_1"), State::Backup);
    assert_eq!(since(&a), ms(5_000));
    // Master once Master_Down_Interval runs out: stamped with that timer.
    let from = a.log.len();
    a.advance(ms(20_000));
    assert_eq!(a.state("VI_1"), State::Master);
    let became = a.log[from..]
        .iter()
        .find(|(_, e)| {
            matches!(e, Effect::Actions { actions, .. }
                if actions.iter().any(|x| matches!(x, Action::Transition { to: State::Master, .. })))
        })
        .map(|(t, _)| *t)
        .expect("a transition to MASTER");
    assert!(became > ms(5_000) && became < ms(20_000), "{became:?}");
    assert_eq!(since(&a), became, "adverts since then do not move it");
    // An operator's demotion at 25 s: a transition at 25 s.
    a.now = ms(25_000);
    a.handle(Event::AdminDown {
        instance: 0,
        down: true,
    });
    assert_ne!(a.state("VI_1"), State::Master);
    assert_eq!(since(&a), ms(25_000));
}

/// A Backup's expired Master_Down timer is announced to the shell
/// (`backup_timer_due`) so it can hand over the adverts it already
/// received first; once they are in, the timer is no longer due and the
/// Backup stays Backup. A Master's advert timer is not such a timer.
#[test]
fn a_late_backup_timer_is_due_and_a_queued_advert_cancels_it() {
    let (a, mut b) = backup_node();
    let i = b.driver.position("VI_1").unwrap();
    let down_at = b.driver.instances()[i].router.poll_at().unwrap();
    assert!(b.now < down_at);
    assert!(!b.driver.backup_timer_due(b.now));
    assert!(b.driver.backup_timer_due(down_at));
    // The driver wakes 200 ms after Master_Down ran out (a stall).
    let late = after(down_at, Duration::from_millis(200));
    assert!(b.driver.backup_timer_due(late));
    // The advert A sent meanwhile, handed over first.
    b.now = late;
    let d = advert_from(&b, A, 101, "VI_1");
    received(&mut b, d);
    assert!(
        !b.driver.backup_timer_due(late),
        "the advert reset Master_Down"
    );
    let from = b.log.len();
    b.handle(Event::Timer);
    assert!(b.transitions_since(from).is_empty());
    assert_eq!(b.state("VI_1"), State::Backup);
    // A Master's due advert is not a Backup timer.
    let master_due = a.driver.instances()[0].router.poll_at().unwrap();
    assert!(!a.driver.backup_timer_due(master_due));
}

// ---- vrrp_startup_delay / vrrp_delay_after_boot (keepalived's delayed start)

#[test]
fn a_startup_hold_keeps_instances_in_init_until_it_ends() {
    let mut a = Node {
        driver: vrrpd::driver::Driver::new(),
        source: v4(A),
        now: ms(0),
        log: Vec::new(),
    };
    a.driver.hold_startup(ms(2000));
    let event = reload(&a.driver, &parse(&conf(101, &["VI_1"], false)), v4(A));
    a.handle(event);
    assert_eq!(a.state("VI_1"), State::Initialize);
    assert_eq!(
        a.driver.poll_at(),
        Some(ms(2000)),
        "the hold is a deadline, not a wait"
    );
    // A link fault during the hold is kept for the start, not acted on.
    a.handle(Event::Link {
        index: IFINDEX,
        name: IFNAME.into(),
        running: false,
    });
    a.handle(Event::Link {
        index: IFINDEX,
        name: IFNAME.into(),
        running: true,
    });
    let made = a.advance(ms(1999));
    assert_eq!(a.state("VI_1"), State::Initialize);
    assert!(
        !made
            .iter()
            .any(|&i| matches!(a.log[i].1, Effect::Actions { .. })),
        "nothing sent or added while held"
    );
    let from = a.log.len();
    a.advance(ms(2000));
    assert!(has_log(&a, from, Level::Info, "Delayed start completed"));
    assert_eq!(a.state("VI_1"), State::Backup);
    assert!(!a.driver.startup_held());
    // Then the usual Master_Down_Interval from the end of the hold.
    a.advance(ms(2000 + 1000));
    assert_eq!(a.state("VI_1"), State::Master);
}

#[test]
fn without_a_hold_instances_start_at_once() {
    let a = Node::start(&conf(101, &["VI_1"], false), v4(A));
    assert_eq!(a.state("VI_1"), State::Backup);
}

/// The send times of instance `i`'s adverts in the log since `from`.
fn advert_times(node: &Node, from: usize, i: usize) -> Vec<vrrpd::proto::Instant> {
    node.log[from..]
        .iter()
        .filter(|(_, e)| {
            matches!(e, Effect::Actions { instance, actions }
                if *instance == i && actions.iter().any(|a| matches!(a, Action::SendAdvert(_))))
        })
        .map(|(t, _)| *t)
        .collect()
}

#[test]
fn adverts_that_fall_due_together_are_spread_earlier_never_later() {
    let names: Vec<String> = (0..40).map(|n| format!("VI_{n}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut a = Node::start(&conf(101, &names, false), v4(A));
    let from = a.log.len();
    a.advance(ms(1000));
    assert!(names.iter().all(|n| a.state(n) == State::Master));
    a.advance(ms(3000));
    let interval = Duration::from_millis(100);
    // Every instance became Master in the same round; after it no round
    // sends more than a few adverts together.
    let mut per_round: std::collections::BTreeMap<vrrpd::proto::Instant, usize> =
        Default::default();
    for i in 0..names.len() {
        let times = advert_times(&a, from, i);
        assert!(times.len() >= 20, "instance {i} kept advertising");
        for pair in times.windows(2) {
            let gap = pair[1].saturating_since(pair[0]);
            assert!(gap <= interval, "instance {i}: a gap of {gap:?} is late");
            assert!(gap >= interval / 2, "instance {i}: a gap of {gap:?}");
        }
        for t in &times[1..] {
            *per_round.entry(*t).or_default() += 1;
        }
    }
    let largest = per_round.values().max().copied().unwrap_or(0);
    assert!(
        largest <= vrrpd::driver::phase::MAX_TOGETHER,
        "after the first round at most a few adverts leave together, got {largest}"
    );
}

/// A Master whose instance runs on VMAC `vrrp.7` (index 30) over the
/// base interface (IFINDEX): its socket and addresses are on the VMAC.
fn vmac_master() -> Node {
    let mut a = master_node();
    let r = a.driver.instance_mut(0);
    r.vmac = Some(Box::new(vrrpd::driver::vmac::VmacLink {
        name: "vrrp.7".into(),
        mac: [0, 0, 0x5e, 0, 1, 7],
        ifindex: 30,
        base_ifindex: IFINDEX,
    }));
    r.ifindex = 30;
    r.socket_key.ifindex = 30;
    for (ix, _) in r.addresses.values_mut() {
        *ix = 30;
    }
    a
}

#[test]
fn a_vmac_instance_faults_with_its_vmac_and_its_base_is_not_a_new_interface() {
    let mut a = vmac_master();
    let from = a.log.len();
    // The base goes down: the kernel takes the macvlan's carrier with it.
    a.handle(Event::Link {
        index: IFINDEX,
        name: IFNAME.into(),
        running: false,
    });
    a.handle(Event::Link {
        index: 30,
        name: "vrrp.7".into(),
        running: false,
    });
    assert_eq!(a.state("VI_1"), State::Fault);
    // The base up again under the same index is not a re-created interface.
    a.handle(Event::Link {
        index: IFINDEX,
        name: IFNAME.into(),
        running: true,
    });
    assert!(
        !asks_rebind(&a, from, IFINDEX),
        "no re-bind for the base it sits on"
    );
    a.handle(Event::Link {
        index: 30,
        name: "vrrp.7".into(),
        running: true,
    });
    assert_eq!(a.state("VI_1"), State::Backup);
}

#[test]
fn a_vmac_deleted_under_its_instance_is_created_again_on_its_base() {
    let mut a = vmac_master();
    let from = a.log.len();
    a.handle(Event::LinkRemoved { index: 30 });
    assert_eq!(a.state("VI_1"), State::Fault);
    assert!(
        asks_rebind(&a, from, IFINDEX),
        "asks for the VMAC on its base"
    );
    assert!(has_log(
        &a,
        from,
        Level::Info,
        "VMAC interface vrrp.7 was deleted"
    ));
    let socket = vrrpd::driver::SocketKey {
        ifindex: 31,
        ..key()
    };
    a.handle(Event::Rebound {
        instance: 0,
        ifindex: IFINDEX,
        socket: socket.clone(),
        running: true,
        source: Some(v4(A)),
        vmac: Some(vrrpd::driver::vmac::VmacLink {
            name: "vrrp.7".into(),
            mac: [0, 0, 0x5e, 0, 1, 7],
            ifindex: 31,
            base_ifindex: IFINDEX,
        }),
    });
    let r = &a.driver.instances()[0];
    assert_eq!((r.ifindex, &r.socket_key), (31, &socket));
    assert_eq!(r.vmac.as_ref().map(|v| v.ifindex), Some(31));
    assert!(
        r.addresses.values().all(|(ix, _)| *ix == 31),
        "addresses follow the VMAC"
    );
    assert_eq!(a.state("VI_1"), State::Backup);
}

#[test]
fn a_vmac_follows_its_base_when_the_base_is_recreated() {
    let mut a = vmac_master();
    // The kernel deletes the macvlan with its base: the re-bind asked for
    // the old base fails, then the base comes back under a new index.
    a.handle(Event::LinkRemoved { index: 30 });
    a.handle(Event::LinkRemoved { index: IFINDEX });
    a.handle(Event::RebindFailed {
        instance: 0,
        ifindex: IFINDEX,
    });
    let from = a.log.len();
    a.handle(Event::Link {
        index: 7,
        name: IFNAME.into(),
        running: true,
    });
    assert!(
        asks_rebind(&a, from, 7),
        "the VMAC is asked for on the new base"
    );
    a.handle(Event::Rebound {
        instance: 0,
        ifindex: 7,
        socket: vrrpd::driver::SocketKey {
            ifindex: 32,
            ..key()
        },
        running: true,
        source: Some(v4(A)),
        vmac: Some(vrrpd::driver::vmac::VmacLink {
            name: "vrrp.7".into(),
            mac: [0, 0, 0x5e, 0, 1, 7],
            ifindex: 32,
            base_ifindex: 7,
        }),
    });
    let r = &a.driver.instances()[0];
    assert_eq!(r.ifindex, 32);
    assert_eq!(r.vmac.as_ref().map(|v| v.base_ifindex), Some(7));
    assert!(r.addresses.values().all(|(ix, _)| *ix == 32));
    assert_eq!(a.state("VI_1"), State::Backup);
}

#[test]
fn a_send_that_failed_on_the_lost_interface_is_forgotten_once_rebound() {
    let mut a = master_node();
    a.handle(Event::LinkRemoved { index: IFINDEX });
    // The priority-0 advert of that FAULT could not leave.
    a.handle(Event::SendFailed { instance: 0 });
    a.handle(Event::Link {
        index: 7,
        name: IFNAME.into(),
        running: true,
    });
    a.handle(Event::Rebound {
        instance: 0,
        ifindex: 7,
        socket: vrrpd::driver::SocketKey {
            ifindex: 7,
            ..key()
        },
        running: true,
        source: Some(v4(A)),
        vmac: None,
    });
    assert_eq!(a.state("VI_1"), State::Backup);
    // Alone on the link it becomes Master again, never FAULT for sends.
    let t = a.now;
    a.advance(t + Duration::from_secs(5));
    assert_eq!(a.state("VI_1"), State::Master);
    assert!(!a.driver.instances()[0].faults.send);
}
