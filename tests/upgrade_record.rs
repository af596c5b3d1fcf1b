//! The in-place upgrade's state record (`vrrpd::driver::upgrade`): a core
//! recorded mid-interval and restored on another clock carries on exactly
//! (same state, same deadlines, no transition, no advert, no address work,
//! no announcement), and records the new binary cannot honour are refused
//! naming why.

#[path = "common/driver.rs"]
mod driver_common;

use driver_common::*;
use vrrpd::config::Config;
use vrrpd::driver::upgrade::{self, Record, RestoreError, RECORD_VERSION};
use vrrpd::driver::{Driver, Effect, Event};
use vrrpd::proto::fsm::{Action, State};
use vrrpd::proto::Instant;

const A: u8 = 20;
const B: u8 = 21;

/// A record of `node` at its clock, through JSON as the daemon sends it.
fn record_of(node: &Node) -> Record {
    let record = Record {
        version: RECORD_VERSION,
        vrrpd_version: "test".into(),
        pid: 1,
        clock_us: node.now.as_micros(),
        taken_monotonic_us: 0,
        driver: node.driver.record(node.now),
        sockets: Vec::new(),
        control_fd: None,
        addresses: Vec::new(),
        routes: Vec::new(),
        trackers: Vec::new(),
        firewall: None,
        vmac_bases: Default::default(),
    };
    let text = serde_json::to_string(&record).expect("serializable");
    let back = upgrade::parse(&text).expect("its own record parses");
    assert_eq!(back, record, "the record survives JSON unchanged");
    back
}

/// Restores `record` for `config` at `taken` on a new clock.
fn restore(record: &Record, config: &Config, taken: Instant) -> Result<Node, RestoreError> {
    let started = config.instances.iter().map(|c| started(c, v4(A))).collect();
    let (driver, effects) = Driver::restore(taken, &record.driver, config, started)?;
    Ok(Node {
        driver,
        source: v4(A),
        now: taken,
        log: effects.into_iter().map(|e| (taken, e)).collect(),
    })
}

/// Every action in the log, with the instance it is for.
fn actions(node: &Node) -> Vec<&Action> {
    node.log
        .iter()
        .filter_map(|(_, e)| match e {
            Effect::Actions { actions, .. } => Some(actions.iter()),
            _ => None,
        })
        .flatten()
        .collect()
}

fn master(text: &str) -> Node {
    let mut a = Node::start(text, v4(A));
    a.advance(ms(1000));
    assert_eq!(a.state("VI_1"), State::Master);
    a
}

#[test]
fn a_master_restored_mid_interval_advertises_on_its_schedule_without_acting_on_restore() {
    let text = conf(101, &["VI_1"], false);
    let mut a = master(&text);
    // Mid-interval (0.1 s adverts): the next advert is 40 ms away.
    a.advance(ms(1060));
    let due = a.driver.poll_at().expect("a Master has its advert timer");
    let left = due - a.now;
    assert!(left > std::time::Duration::ZERO);
    let record = record_of(&a);

    // The new process's clock has another epoch.
    let taken = ms(50_000);
    let mut b = restore(&record, &parse(&text), taken).expect("restored");
    assert_eq!(b.state("VI_1"), State::Master);
    assert_eq!(b.driver.poll_at(), Some(taken + left), "same deadline");
    assert!(
        actions(&b).is_empty(),
        "no transition, advert, address work or announcement on restore: {:?}",
        actions(&b)
    );
    let old = &a.driver.instances()[0].router;
    let new = &b.driver.instances()[0].router;
    assert_eq!(new.stats(), old.stats(), "counters carry over");
    assert_eq!(new.state_reason(), old.state_reason());

    // It carries on: the next advert at the deadline, at our priority,
    // and still no transition, address work or announcement.
    let from = b.log.len();
    b.advance(taken + left);
    let sent = b.adverts_since(from);
    assert_eq!(sent.len(), 1, "one advert at the deadline");
    assert_eq!(sent[0].1.priority.get(), 101);
    assert!(b.transitions_since(from).is_empty());
    for (_, e) in &b.log[from..] {
        if let Effect::Actions { actions, .. } = e {
            for a in actions {
                assert!(
                    matches!(a, Action::SendAdvert(_)),
                    "only the advert is due, not {a:?}"
                );
            }
        }
    }
}

#[test]
fn the_record_carries_how_long_ago_things_happened() {
    let text = conf(101, &["VI_1"], false);
    let mut a = master(&text);
    a.advance(ms(3000));
    let record = record_of(&a);
    let taken = ms(90_000);
    let b = restore(&record, &parse(&text), taken).expect("restored");
    let since_old = a.now - a.driver.instances()[0].state_since;
    let since_new = taken - b.driver.instances()[0].state_since;
    assert_eq!(since_old, since_new, "Master since the same moment");
}

#[test]
fn a_backup_keeps_its_master_its_learned_interval_and_its_master_down_timer() {
    // B hears A (v3: B learns A's interval, RFC 9568 §6.4.2).
    let text_a = conf(101, &["VI_1"], false).replace("advert_int 0.1", "advert_int 0.2");
    let text_b = conf(100, &["VI_1"], false);
    let mut a = master(&text_a);
    let mut b = Node::start(&text_b, v4(B));
    for t in (1000..2000).step_by(50) {
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
    let old = b.driver.instances()[0].router.clone();
    assert_eq!(old.master_adver_interval().0, 20, "learned 0.2 s");
    let down = b.driver.poll_at().expect("Master_Down_Timer runs") - b.now;
    let record = record_of(&b);

    let taken = ms(7_000);
    let started = parse(&text_b)
        .instances
        .iter()
        .map(|c| started(c, v4(B)))
        .collect();
    let (restored, effects) =
        Driver::restore(taken, &record.driver, &parse(&text_b), started).expect("restored");
    assert!(effects
        .iter()
        .all(|e| matches!(e, Effect::InstancesChanged)));
    let new = &restored.instances()[0].router;
    assert_eq!(new.state(), State::Backup);
    assert_eq!(new.master(), old.master(), "the same Master followed");
    assert_eq!(new.master_adver_interval(), old.master_adver_interval());
    assert_eq!(restored.poll_at(), Some(taken + down));
}

#[test]
fn a_record_of_another_major_version_is_refused_before_anything_else() {
    let text = conf(101, &["VI_1"], false);
    let a = master(&text);
    let mut value = serde_json::to_value(record_of(&a)).unwrap();
    value["version"] = serde_json::json!(RECORD_VERSION + 1);
    // Whatever else it holds is not looked at.
    value["driver"] = serde_json::json!("a format this build does not know");
    let err = upgrade::parse(&value.to_string()).unwrap_err();
    assert!(
        matches!(err, RestoreError::Version { found, .. } if found == RECORD_VERSION + 1),
        "{err}"
    );
    assert!(err.to_string().contains("use a restart"), "{err}");
    assert!(matches!(
        upgrade::parse("{\"vrrpd\":1}"),
        Err(RestoreError::Unreadable(_))
    ));
}

#[test]
fn a_record_from_a_release_without_routes_reads_with_none() {
    let a = master(&conf(101, &["VI_1"], false));
    let mut value = serde_json::to_value(record_of(&a)).unwrap();
    value.as_object_mut().unwrap().remove("routes");
    let record = upgrade::parse(&value.to_string()).expect("read");
    assert!(record.routes.is_empty());
}

#[test]
fn a_restored_master_and_the_configuration_want_their_routes_again() {
    // The shell adopts the routes the old daemon held before it runs the
    // restore's effects, so these cost no netlink request for them.
    let text = format!(
        "static_routes {{\n 203.0.113.0/24 dev eth0\n}}\n{}",
        conf(101, &["VI_1"], false).replace(
            " virtual_ipaddress {",
            " virtual_routes {\n  198.51.100.0/24 dev eth0\n }\n virtual_rules {\n  from 192.0.2.30 table 100 priority 100\n }\n virtual_ipaddress {",
        )
    );
    let a = master(&text);
    let record = record_of(&a);
    let b = restore(&record, &parse(&text), a.now).expect("restored");
    let mut wanted: Vec<(String, usize)> = b
        .log
        .iter()
        .filter_map(|(_, e)| match e {
            Effect::RouteWork { owner, add, remove } => {
                assert!(remove.is_empty());
                Some((owner.clone(), add.len()))
            }
            _ => None,
        })
        .collect();
    wanted.sort();
    assert_eq!(wanted, vec![(String::new(), 1), ("VI_1".to_string(), 2)]);
}

#[test]
fn fields_unknown_to_this_build_are_ignored_within_a_version() {
    let text = conf(101, &["VI_1"], false);
    let a = master(&text);
    let mut value = serde_json::to_value(record_of(&a)).unwrap();
    value["added_by_a_later_release"] = serde_json::json!({ "x": 1 });
    value["driver"]["instances"][0]["also_later"] = serde_json::json!(true);
    let record = upgrade::parse(&value.to_string()).expect("read");
    assert_eq!(record.driver.instances[0].name, "VI_1");
}

#[test]
fn instances_that_do_not_match_the_configuration_are_refused_by_name() {
    let text = conf(101, &["VI_1"], false);
    let a = master(&text);
    let record = record_of(&a);

    let two = parse(&conf(101, &["VI_1", "VI_2"], false));
    let err = restore(&record, &two, ms(10)).err().expect("refused");
    assert_eq!(
        err,
        RestoreError::NotRunning {
            instance: "VI_2".into()
        }
    );

    let renamed = parse(&text.replace("VI_1", "VI_9"));
    let err = restore(&record, &renamed, ms(10)).err().expect("refused");
    assert_eq!(
        err,
        RestoreError::NotConfigured {
            instance: "VI_1".into()
        }
    );

    let other_vrid = parse(&text.replace("virtual_router_id 51", "virtual_router_id 61"));
    let err = restore(&record, &other_vrid, ms(10))
        .err()
        .expect("refused");
    assert!(
        matches!(&err, RestoreError::Identity { instance, what }
            if instance == "VI_1" && what.contains("virtual_router_id")),
        "{err}"
    );
}

#[test]
fn a_parameter_edited_since_the_old_daemon_loaded_applies_as_a_reload_would() {
    let text = conf(101, &["VI_1"], false);
    let a = master(&text);
    let record = record_of(&a);
    let edited = parse(&text.replace("priority 101", "priority 150"));
    let b = restore(&record, &edited, ms(10)).expect("restored");
    let r = &b.driver.instances()[0].router;
    assert_eq!(r.params().priority.get(), 150);
    assert_eq!(r.state(), State::Master);
    assert!(
        actions(&b)
            .iter()
            .all(|a| !matches!(a, Action::Transition { .. } | Action::Announce { .. })),
        "{:?}",
        actions(&b)
    );
}

#[test]
fn a_router_record_round_trips_through_restore() {
    let text = conf(101, &["VI_1"], false);
    let mut a = master(&text);
    a.advance(ms(1234));
    let router = &a.driver.instances()[0].router;
    let record = router.record(a.now);
    let taken = ms(77_000);
    let restored = vrrpd::proto::fsm::VirtualRouter::restore(record.clone(), taken).expect("valid");
    assert_eq!(restored.record(taken), record);
}

#[test]
fn a_vmac_travels_with_its_instance_and_a_record_without_vmacs_still_reads() {
    let text = conf(101, &["VI_1"], false);
    let mut node = Node::start(&text, v4(A));
    node.advance(ms(1000));
    let vmac = vrrpd::driver::vmac::VmacLink {
        name: "vrrp.51".into(),
        mac: [0, 0, 0x5e, 0, 1, 7],
        ifindex: 30,
        base_ifindex: 2,
    };
    node.driver.instance_mut(0).vmac = Some(Box::new(vmac.clone()));
    let mut record = record_of(&node);
    record.vmac_bases.insert("eth0".into(), [0, 0, 0]);
    assert_eq!(record.driver.instances[0].vmac.as_ref(), Some(&vmac));
    // The new process found the same VMAC: restored with it.
    let config = parse(&text);
    let with_vmac = |found: Option<vrrpd::driver::vmac::VmacLink>| {
        let mut r = started(&config.instances[0], v4(A));
        r.vmac = found.map(Box::new);
        vec![r]
    };
    let taken = ms(1000);
    let (driver, _) = Driver::restore(
        taken,
        &record.driver,
        &config,
        with_vmac(Some(vmac.clone())),
    )
    .unwrap();
    assert_eq!(driver.instances()[0].vmac.as_deref(), Some(&vmac));
    // Another VMAC than the one the old daemon ran on: refused, naming it.
    let other = vrrpd::driver::vmac::VmacLink {
        ifindex: 31,
        ..vmac.clone()
    };
    let err = Driver::restore(taken, &record.driver, &config, with_vmac(Some(other))).unwrap_err();
    assert!(
        err.to_string()
            .contains("VMAC (vrrp.51 #30 -> vrrp.51 #31)"),
        "{err}"
    );
    // A record from before VMACs (no `vmac`, no `vmac_bases`) still reads.
    let mut value = serde_json::to_value(&record).unwrap();
    value.as_object_mut().unwrap().remove("vmac_bases");
    value["driver"]["instances"][0]
        .as_object_mut()
        .unwrap()
        .remove("vmac");
    let old = upgrade::parse(&value.to_string()).expect("an older record reads");
    assert!(old.vmac_bases.is_empty() && old.driver.instances[0].vmac.is_none());
}
