//! GARP / NA pacing settings: the global `vrrp_garp_interval` /
//! `vrrp_gna_interval` and keepalived's per-interface `garp_group`, in both
//! front ends. (keepalived has no instance-level `garp_interval`: inside a
//! `vrrp_instance` it is an unknown keyword, warned about and ignored.)

use vrrpd::config::{load_str, to_toml, Config, GarpGroup, LoadOptions, Secs, Severity};

const INSTANCE: &str = "vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        192.0.2.10
    }
}
";

fn load(text: &str) -> (Config, Vec<(Severity, String)>) {
    let l = load_str("/etc/k.conf", text, &LoadOptions::default());
    let diags = l
        .diagnostics
        .iter()
        .map(|d| (d.severity, d.message.clone()))
        .collect();
    (l.config, diags)
}

#[test]
fn global_intervals_are_read_in_microseconds() {
    let (c, diags) = load(&format!(
        "global_defs {{\n vrrp_garp_interval 0.001\n vrrp_gna_interval 0.000250\n}}\n{INSTANCE}"
    ));
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(c.global.garp_interval, Secs::from_micros(1000));
    assert_eq!(c.global.gna_interval, Secs::from_micros(250));
}

#[test]
fn garp_group_with_one_interface() {
    let (c, diags) = load(&format!(
        "garp_group {{\n garp_interval 0.1\n interface eth0\n}}\n{INSTANCE}"
    ));
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(
        c.garp_groups,
        vec![GarpGroup {
            garp_interval: Secs::from_micros(100_000),
            gna_interval: Secs::ZERO,
            interfaces: vec!["eth0".into()],
        }]
    );
}

#[test]
fn garp_group_with_an_interfaces_block_shares_one_clock() {
    let (c, diags) = load(&format!(
        "garp_group {{\n gna_interval 0.02\n interfaces {{\n  eth0\n  eth1 eth2\n }}\n}}\n{INSTANCE}"
    ));
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(c.garp_groups.len(), 1);
    assert_eq!(c.garp_groups[0].interfaces, vec!["eth0", "eth1", "eth2"]);
    assert_eq!(c.garp_groups[0].gna_interval, Secs::from_micros(20_000));
}

#[test]
fn an_interface_keeps_its_first_garp_group() {
    let (c, diags) = load(&format!(
        "garp_group {{\n garp_interval 0.1\n interface eth0\n}}\n\
         garp_group {{\n garp_interval 0.2\n interfaces {{\n  eth0\n  eth1\n }}\n}}\n{INSTANCE}"
    ));
    assert_eq!(c.garp_groups.len(), 2);
    assert_eq!(c.garp_groups[1].interfaces, vec!["eth1"]);
    assert!(
        diags
            .iter()
            .any(|(s, m)| *s == Severity::Warning
                && m.contains("garp_group already specified for eth0")),
        "{diags:?}"
    );
}

#[test]
fn a_garp_group_without_an_interval_is_removed() {
    let (c, diags) = load(&format!("garp_group {{\n interface eth0\n}}\n{INSTANCE}"));
    assert!(c.garp_groups.is_empty());
    assert!(diags
        .iter()
        .any(|(s, m)| *s == Severity::Warning && m.contains("does not have any delay set")));
}

#[test]
fn instance_level_garp_interval_is_not_a_keepalived_keyword() {
    let (c, diags) = load(&INSTANCE.replace("priority 100", "priority 100\n    garp_interval 0.1"));
    assert!(c.garp_groups.is_empty());
    assert!(
        diags
            .iter()
            .any(|(s, m)| *s == Severity::Warning && m.contains("unknown keyword 'garp_interval'")),
        "{diags:?}"
    );
}

#[test]
fn pacing_converts_to_toml_and_back() {
    let text = format!(
        "global_defs {{\n vrrp_garp_interval 0.005\n}}\n\
         garp_group {{\n garp_interval 0.1\n gna_interval 0.2\n interface eth1\n}}\n{INSTANCE}"
    );
    let (a, _) = load(&text);
    let toml = to_toml(&a).unwrap();
    assert!(toml.contains("[[garp_group]]"), "{toml}");
    let b = load_str("/etc/vrrpd.toml", &toml, &LoadOptions::default());
    assert!(b.diagnostics.is_empty(), "{:?}", b.diagnostics);
    assert_eq!(a, b.config);
}

#[test]
fn toml_rejects_an_interface_in_two_garp_groups() {
    let toml = "[[garp_group]]\ngarp_interval = 0.1\ninterfaces = [\"eth0\"]\n\n\
                [[garp_group]]\ngna_interval = 0.1\ninterfaces = [\"eth0\"]\n";
    let l = load_str("/etc/vrrpd.toml", toml, &LoadOptions::default());
    assert!(l
        .diagnostics
        .iter()
        .any(|d| d.severity == Severity::Error && d.message.contains("more than one group")));
}

#[test]
fn a_changed_garp_group_shows_in_the_reload_plan() {
    let (a, _) = load(&format!(
        "garp_group {{\n garp_interval 0.1\n interface eth0\n}}\n{INSTANCE}"
    ));
    let (b, _) = load(&format!(
        "garp_group {{\n garp_interval 0.2\n interface eth0\n}}\n{INSTANCE}"
    ));
    let plan = vrrpd::config::diff(&a, &b);
    assert_eq!(plan.sections_changed, vec!["garp_group"]);
}
