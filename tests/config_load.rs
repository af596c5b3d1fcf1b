//! Every shipped configuration loads; seeds and samples give the model
//! keepalived would build, field by field.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use vrrpd::config::{
    load, Config, FsSource, InitialState, LoadOptions, Loaded, Scope, Secs, Severity, TrackRef, Vip,
};
use vrrpd::proto::wire::Auth;
use vrrpd::proto::{Centis, Family, Priority, Version};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load_file(rel: &str, id: Option<&str>) -> Loaded {
    let opts = LoadOptions {
        config_id: id.map(str::to_string),
        ..LoadOptions::default()
    };
    load(&root().join(rel), &FsSource, &opts)
}

fn ok(rel: &str, id: Option<&str>) -> (Config, Loaded) {
    let l = load_file(rel, id);
    let errors: Vec<String> = l
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.to_string())
        .collect();
    assert!(errors.is_empty(), "{rel}: {errors:#?}");
    (l.config.clone(), l)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            // Configuration files only: not READMEs or systemd units kept alongside.
            if name.ends_with(".conf")
                || name.ends_with(".toml")
                || name.starts_with("keepalived.conf")
            {
                out.push(p);
            }
        }
    }
}

#[test]
fn every_file_in_conf_loads_without_errors() {
    let mut all = Vec::new();
    files(&root().join("conf"), &mut all);
    assert!(
        all.len() >= 18,
        "expected the seeds, samples and TOML files, got {all:?}"
    );
    for p in all {
        let l = load(&p, &FsSource, &LoadOptions::default());
        let errors: Vec<String> = l
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| d.to_string())
            .collect();
        if p.ends_with("samples/keepalived.conf.vrrp.rules") {
            // keepalived's own sample writes two rule addresses without
            // their last byte ("192.168.100./24"); keepalived logs "Invalid
            // rule to address" and drops them, vrrpd reports each as an
            // error at its line (a bad entry is an error, as a bad VIP).
            assert_eq!(errors.len(), 2, "{errors:#?}");
            assert!(errors[0].contains(":11:8: error: invalid rule to address"));
            assert!(errors[1].contains(":26:12: error: invalid rule to address"));
            continue;
        }
        assert!(errors.is_empty(), "{}: {errors:#?}", p.display());
    }
}

#[test]
fn seed_loadbalancer1_field_by_field() {
    let (c, l) = ok("conf/keepalived/loadbalancer1.conf", None);
    assert_eq!(c.instances.len(), 1);
    let i = &c.instances[0];
    assert_eq!(i.name, "loadbalancer1");
    assert_eq!(i.state, InitialState::Master);
    assert_eq!(i.interface.as_deref(), Some("ens5"));
    assert_eq!(i.vrid.get(), 101);
    assert_eq!(i.priority, Priority(101));
    assert_eq!(i.advert_int, Centis(100));
    assert_eq!(i.version, Version::V2);
    assert_eq!(i.family, Family::Ipv4);
    // 16 bytes in the file, 8 on the wire, as keepalived truncates.
    assert_eq!(i.auth, Auth::SimpleText(*b"password"));
    assert_eq!(i.unicast_src, Some(ip("10.0.0.20")));
    assert_eq!(i.unicast_peers.len(), 1);
    assert_eq!(i.unicast_peers[0].addr, ip("10.0.0.21"));
    assert_eq!(i.unicast_peers[0].min_ttl, None);
    assert!(i.is_unicast());
    assert!(i.check_unicast_src);
    assert_eq!(i.vips, vec![Vip::host(ip("10.0.0.30"))]);
    assert!(i.excluded_vips.is_empty());
    assert!(!i.nopreempt);
    assert_eq!(i.preempt_delay, Secs::ZERO);
    assert_eq!(i.down_timer_adverts, 3);
    assert!(i.accept);
    assert!(!i.strict);
    assert_eq!(i.garp.master_delay, Secs::from_secs(5));
    assert_eq!(i.garp.master_repeat, 5);
    assert_eq!(i.garp.master_refresh, Secs::ZERO);
    assert_eq!(i.garp.lower_prio_repeat, 5);
    assert!(i.track_scripts.is_empty() && i.track_interfaces.is_empty());
    // The one warning is keepalived's truncation, located at the password.
    assert_eq!(l.diagnostics.len(), 1);
    let d = &l.diagnostics[0];
    assert_eq!((d.line, d.col, d.severity), (9, 19, Severity::Warning));
    assert!(d.message.contains("Truncating auth_pass to 8 characters"));
}

#[test]
fn seed_loadbalancer2_field_by_field() {
    let (c, _) = ok("conf/keepalived/loadbalancer2.conf", None);
    let i = &c.instances[0];
    assert_eq!(i.name, "loadbalancer2");
    assert_eq!(i.state, InitialState::Backup);
    assert_eq!(i.interface.as_deref(), Some("ens5"));
    assert_eq!(i.vrid.get(), 101);
    assert_eq!(i.priority, Priority(100));
    assert_eq!(i.advert_int, Centis(100));
    assert_eq!(i.auth, Auth::SimpleText(*b"password"));
    // Not flipped, as published: same source and peer as loadbalancer1.
    assert_eq!(i.unicast_src, Some(ip("10.0.0.20")));
    assert_eq!(i.unicast_peers[0].addr, ip("10.0.0.21"));
    assert_eq!(i.vips, vec![Vip::host(ip("10.0.0.30"))]);
}

#[test]
fn sample_shipped_sample_in_applies_strict_mode() {
    let (c, l) = ok("conf/samples/keepalived.conf.sample.in", None);
    let g = &c.global;
    assert_eq!(g.router_id.as_deref(), Some("LVS_DEVEL"));
    assert_eq!(g.notification_email.len(), 3);
    assert_eq!(
        g.notification_email_from.as_deref(),
        Some("Alexandre.Cassen@firewall.loc")
    );
    assert_eq!(g.smtp_server.as_deref(), Some("192.168.200.1"));
    assert_eq!(g.smtp_connect_timeout, Some(Secs::from_secs(30)));
    // `vrrp_garp_interval 0` from keepalived's own sample: accepted silently.
    assert_eq!(g.garp_interval, Secs::ZERO);
    assert!(!l.diagnostics.iter().any(|d| d.message.contains("garp")));
    let i = &c.instances[0];
    assert_eq!(i.name, "VI_1");
    assert_eq!(i.vrid.get(), 51);
    assert_eq!(i.priority, Priority(100));
    assert!(i.strict);
    assert!(i.skip_check_adv_addr);
    // Strict: MASTER needs 255, no auth, no accept for v2 non-owner.
    assert_eq!(i.state, InitialState::Backup);
    assert_eq!(i.auth, Auth::None);
    assert!(!i.accept);
    assert!(i.lower_prio_no_advert);
    assert_eq!(
        i.vips.iter().map(|v| v.addr).collect::<Vec<_>>(),
        [
            ip("192.168.200.16"),
            ip("192.168.200.17"),
            ip("192.168.200.18")
        ]
    );
    // Three LVS blocks, each one located warning.
    let lvs: Vec<u32> = l
        .diagnostics
        .iter()
        .filter(|d| d.message.contains("virtual_server"))
        .map(|d| d.line)
        .collect();
    assert_eq!(lvs, [39, 64, 112]);
}

#[test]
fn sample_localcheck_scripts_and_weights() {
    let (c, _) = ok("conf/samples/keepalived.conf.vrrp.localcheck", None);
    assert_eq!(c.scripts.len(), 5);
    let s = &c.scripts[0];
    assert_eq!(s.name, "chk_sshd");
    assert_eq!(s.script.cmd, "killall -0 sshd");
    assert_eq!(s.interval, Secs::from_secs(2));
    assert_eq!(s.weight, -4);
    assert_eq!((s.rise, s.fall), (2, 2));
    assert_eq!(c.scripts[1].weight, 0);
    assert_eq!(c.scripts[2].script.cmd, "</dev/tcp/127.0.0.1/80");
    assert_eq!(c.instances.len(), 9);
    let i = &c.instances[0];
    assert_eq!((i.name.as_str(), i.vrid.get()), ("VI_1", 51));
    assert_eq!(i.vips[0].prefix, 25);
    let ti: Vec<(&str, i32)> = i
        .track_interfaces
        .iter()
        .map(|t| (t.name.as_str(), t.weight))
        .collect();
    assert_eq!(ti, [("eth1", 2), ("eth2", -2), ("eth3", 0)]);
    assert_eq!(
        i.track_scripts[1],
        TrackRef {
            name: "chk_haproxy".into(),
            weight: Some(2),
            reverse: None
        }
    );
    assert_eq!(i.track_scripts[0].weight, None);
    assert_eq!(i.track_scripts.len(), 5);
    // No priority given, state MASTER with priority 100: stays 100.
    assert_eq!(i.priority, Priority(100));
    let v3 = &c.instances[2];
    assert_eq!(v3.state, InitialState::Backup);
    assert_eq!(v3.vips[0].prefix, 27);
}

#[test]
fn sample_vrrp_labels_auth_and_garp() {
    let (c, _) = ok("conf/samples/keepalived.conf.vrrp", None);
    assert_eq!(c.instances.len(), 4);
    let i = &c.instances[0];
    assert_eq!(i.garp.master_delay, Secs::from_secs(10));
    // The lower-priority burst defaults from the global delay, not the instance's.
    assert_eq!(i.garp.lower_prio_delay, Secs::from_secs(5));
    assert!(i.smtp_alert);
    assert_eq!(i.auth, Auth::SimpleText(*b"1111\0\0\0\0"));
    let i2 = &c.instances[1];
    assert_eq!(
        (i2.vrid.get(), i2.priority, i2.state),
        (50, Priority(50), InitialState::Backup)
    );
    assert_eq!(i2.auth, Auth::None);
    assert_eq!(c.instances[2].interface.as_deref(), Some("eth1"));
}

#[test]
fn sample_conditional_config_follows_config_id() {
    let (high, _) = ok(
        "conf/samples/keepalived.conf.conditional_conf",
        Some("high"),
    );
    let (low, _) = ok("conf/samples/keepalived.conf.conditional_conf", Some("low"));
    let (none, _) = ok(
        "conf/samples/keepalived.conf.conditional_conf",
        Some("other"),
    );
    assert_eq!(high.instances[0].priority, Priority(170));
    assert_eq!(low.instances[0].priority, Priority(85));
    assert_eq!(none.instances[0].priority, Priority(100));
    assert_eq!(
        high.scripts[0].script.cmd,
        "/etc/keepalived/scripts/check_high_VI_0.sh"
    );
    assert_eq!(
        low.scripts[0].script.cmd,
        "/etc/keepalived/scripts/check_low_VI_0.sh"
    );
    let i = &high.instances[0];
    assert_eq!(i.version, Version::V3);
    assert_eq!(i.advert_int, Centis(1200));
    assert_eq!(i.use_vmac.as_deref(), Some("vrrp.1"));
    assert_eq!(i.track_interfaces[1].weight, 20);
    assert_eq!(high.scripts[0].timeout, Some(Secs::from_secs(10)));
}

#[test]
fn sample_sync_group_members_and_notify() {
    let (c, _) = ok("conf/samples/keepalived.conf.vrrp.scripts", None);
    assert_eq!(c.sync_groups.len(), 1);
    let g = &c.sync_groups[0];
    assert_eq!(g.members, ["VI_2", "VI_3"]);
    assert_eq!(
        g.notify.master.as_ref().unwrap().cmd,
        "/usr/local/bin/vrrp.mast arg1 arg2"
    );
    let i = &c.instances[0];
    assert_eq!(
        i.notify.backup.as_ref().unwrap().cmd,
        "/usr/local/bin/vrrp.sh  BACKUP   VI_1"
    );
    assert_eq!(i.notify.fault.as_ref().unwrap().run_as, None);
}

#[test]
fn sample_routes_and_address_options() {
    let (c, _) = ok("conf/samples/keepalived.conf.vrrp.routes", None);
    let i = &c.instances[0];
    assert_eq!(i.vips[1].dev.as_deref(), Some("eth1"));
    assert_eq!(i.virtual_routes.len(), 7);
    let last = &i.virtual_routes[6];
    assert_eq!(last.to.to_string(), "0.0.0.0/0");
    assert_eq!(last.via, Some("192.168.0.1".parse().unwrap()));
    assert_eq!(last.table, 100);
    let (c, _) = ok("conf/samples/keepalived.conf.vrrp", None);
    // keepalived 2.2 keeps the duplicate 192.168.200.18 (labelled copy) and advertises 4.
    let v = &c.instances[0].vips;
    assert_eq!(v.len(), 4);
    assert_eq!(v[3].addr, v[2].addr);
    assert_eq!(v[3].label.as_deref(), Some("eth0:1"));
    let _ = Scope::Link;
}

#[test]
fn differential_fixture_trackers_in_sync_groups_and_owners() {
    // Behaviour observed in keepalived 2.2.7 by scripts/keepalived-diff.sh.
    let (c, _) = ok("conf/diff/semantics3.conf", None);
    let a = &c.instances[0];
    assert_eq!(a.name, "A");
    // Sync member: weighted script dropped, interface kept with weight 0 (FAULT).
    assert!(a.track_scripts.is_empty());
    let ti: Vec<(&str, i32)> = a
        .track_interfaces
        .iter()
        .map(|t| (t.name.as_str(), t.weight))
        .collect();
    assert_eq!(ti, [("eth1", 0), ("eth2", 0)]);
    let v6 = &c.instances[2];
    assert_eq!(
        (v6.family, v6.version, v6.advert_int),
        (Family::Ipv6, Version::V3, Centis(25))
    );
    assert_eq!(v6.track_files[0].name, "tf");
    // Owner: weighted interface dropped.
    let own = &c.instances[3];
    assert_eq!(own.priority, Priority::OWNER);
    assert!(own.track_interfaces.is_empty());
    let (c, _) = ok("conf/diff/semantics1.conf", None);
    let owner = &c.instances[0];
    assert_eq!((owner.priority, owner.nopreempt), (Priority::OWNER, false));
    assert_eq!((owner.version, owner.advert_int), (Version::V3, Centis(50)));
    let v2 = &c.instances[1];
    assert_eq!((v2.version, v2.advert_int), (Version::V2, Centis(200)));
    assert_eq!(v2.auth, Auth::SimpleText(*b"abc def "));
    assert_eq!(v2.garp.master_delay, Secs::from_secs(7));
    assert_eq!(v2.garp.lower_prio_delay, Secs::from_secs(3));
    assert_eq!(c.instances[2].auth, Auth::None);
    // Fixture 4: values keepalived defaults or clamps.
    let (c, l) = ok("conf/diff/semantics4.conf", None);
    let b = &c.instances[0];
    assert_eq!(
        (b.state, b.priority, b.advert_int),
        (InitialState::Backup, Priority(100), Centis(100))
    );
    assert_eq!(
        b.auth,
        Auth::None,
        "PASS without a password: no authentication"
    );
    let v3 = &c.instances[1];
    assert_eq!(v3.advert_int, Centis::V3_MAX);
    assert_eq!(
        (v3.nopreempt, v3.preempt_delay, v3.down_timer_adverts),
        (true, Secs::ZERO, 7)
    );
    assert_eq!(v3.garp.lower_prio_delay, Secs::from_secs(2));
    assert_eq!(v3.garp.lower_prio_repeat, 7);
    assert!(c.instances[2].strict && c.instances[2].accept);
    let np = &c.instances[3];
    assert!(!np.is_unicast());
    assert_eq!(np.unicast_src, Some(ip("192.0.2.1")));
    assert!(np.track_interfaces[0].reverse);
    assert_eq!(l.warnings(), 7);
}
