//! keepalived's scheduling keywords (`vrrp_priority`, `vrrp_rt_priority`,
//! `vrrp_rlimit_rttime`, `vrrp_no_swap`, `vrrp_cpu_affinity`): read, acted
//! on (daemon::sched), and located when wrong, in both front ends.

use vrrpd::config::{load_str, to_toml, Config, LoadOptions, Nice, RtPriority, RtTime, Severity};

const INSTANCE: &str = "vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        192.0.2.10
    }
}
";

fn load(path: &str, text: &str) -> (Config, Vec<(Severity, u32, u32, String)>) {
    let l = load_str(path, text, &LoadOptions::default());
    let diags = l
        .diagnostics
        .iter()
        .map(|d| (d.severity, d.line, d.col, d.message.clone()))
        .collect();
    (l.config, diags)
}

#[test]
fn keepalived_keywords_fill_the_scheduling_settings() {
    let (c, diags) = load(
        "/k.conf",
        &format!(
            "global_defs {{\n vrrp_priority -5\n vrrp_rt_priority 30\n vrrp_rlimit_rttime 20000\n vrrp_no_swap\n vrrp_cpu_affinity 0 1\n}}\n{INSTANCE}"
        ),
    );
    assert!(diags.is_empty(), "{diags:?}");
    let s = &c.global.scheduling;
    assert_eq!(s.nice, Nice::try_from(-5).ok());
    assert_eq!(s.realtime_priority, RtPriority::try_from(30).ok());
    assert_eq!(s.rlimit_rttime_us, RtTime::try_from(20_000).ok());
    assert!(s.lock_memory);
    assert_eq!(s.cpu_affinity, vec![0, 1]);
}

#[test]
fn keepalived_old_rtime_spelling_is_read_too() {
    let (c, diags) = load(
        "/k.conf",
        &format!("global_defs {{\n vrrp_rlimit_rtime 5000\n}}\n{INSTANCE}"),
    );
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(
        c.global.scheduling.rlimit_rttime_us,
        RtTime::try_from(5000).ok()
    );
}

#[test]
fn keepalived_out_of_range_values_are_located_and_not_applied() {
    let (c, diags) = load(
        "/k.conf",
        &format!(
            "global_defs {{\n vrrp_priority -21\n vrrp_rt_priority 100\n vrrp_rlimit_rttime 1\n vrrp_cpu_affinity 0 x 2000\n}}\n{INSTANCE}"
        ),
    );
    let at: Vec<(u32, u32)> = diags.iter().map(|d| (d.1, d.2)).collect();
    assert_eq!(
        at,
        vec![(2, 16), (3, 19), (4, 21), (5, 22), (5, 24)],
        "{diags:?}"
    );
    assert!(diags.iter().all(|d| d.0 == Severity::Warning), "{diags:?}");
    assert!(diags[0].3.contains("-20..19"), "{diags:?}");
    let s = &c.global.scheduling;
    assert_eq!(
        (s.nice, s.realtime_priority, s.rlimit_rttime_us),
        (None, None, None)
    );
    assert_eq!(s.cpu_affinity, vec![0], "the good CPU stays");
}

#[test]
fn toml_round_trip_keeps_the_settings() {
    let (c, _) = load(
        "/k.conf",
        &format!(
            "global_defs {{\n vrrp_priority 4\n vrrp_no_swap\n vrrp_cpu_affinity 1\n}}\n{INSTANCE}"
        ),
    );
    let text = to_toml(&c).expect("toml");
    assert!(text.contains("[global.scheduling]"), "{text}");
    let (back, diags) = load("/c.toml", &text);
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(back.global.scheduling, c.global.scheduling);
}

#[test]
fn toml_out_of_range_is_an_error_with_its_line() {
    for (line, needle) in [
        ("nice = -30", "-20..19"),
        ("realtime_priority = 0", "1..99"),
        ("rlimit_rttime_us = 1", "RT time limit"),
        ("lock_memory = \"yes\"", "invalid type"),
        ("realtime_cpu_budget_percent = 0", "1..100 percent"),
        ("realtime_cpu_budget_percent = 101", "1..100 percent"),
        ("guarded_realtime = 1", "invalid type"),
    ] {
        let text = format!(
            "[global.scheduling]\n{line}\n\n[[instance]]\nname = \"a\"\ninterface = \"eth0\"\nvrid = 5\n"
        );
        let (_, diags) = load("/a.toml", &text);
        let d = diags
            .iter()
            .find(|d| d.0 == Severity::Error)
            .unwrap_or_else(|| panic!("{line}: no error: {diags:?}"));
        assert_eq!(d.1, 2, "{line}: {diags:?}");
        assert!(d.3.contains(needle), "{line}: {diags:?}");
    }
}

#[test]
fn guarded_realtime_is_the_default_until_a_keepalived_keyword_chooses() {
    let (c, diags) = load("/k.conf", INSTANCE);
    assert!(diags.is_empty(), "{diags:?}");
    assert!(c.global.scheduling.guarded_realtime);
    assert!(c.global.scheduling.default_realtime());
    // Each keepalived keyword that picks a policy or a nice value takes
    // the choice back, as keepalived would apply it; `vrrp_priority 0` is
    // how a keepalived.conf keeps SCHED_OTHER.
    for kw in [
        "vrrp_priority 0",
        "vrrp_rt_priority 5",
        "max_auto_priority 10",
    ] {
        let (c, diags) = load("/k.conf", &format!("global_defs {{\n {kw}\n}}\n{INSTANCE}"));
        assert!(diags.is_empty(), "{kw}: {diags:?}");
        assert!(!c.global.scheduling.default_realtime(), "{kw}");
    }
    // Settings that do not choose the policy leave it on.
    let (c, _) = load(
        "/k.conf",
        &format!("global_defs {{\n vrrp_no_swap\n vrrp_cpu_affinity 0\n vrrp_rlimit_rttime 50000\n}}\n{INSTANCE}"),
    );
    assert!(c.global.scheduling.default_realtime());
}

#[test]
fn toml_turns_the_realtime_default_off_and_sets_its_budget() {
    let text = "[global.scheduling]\nguarded_realtime = false\nrealtime_cpu_budget_percent = 40\n\n[[instance]]\nname = \"a\"\ninterface = \"eth0\"\nvrid = 5\n";
    let (c, diags) = load("/a.toml", text);
    assert!(diags.is_empty(), "{diags:?}");
    let s = &c.global.scheduling;
    assert!(!s.guarded_realtime && !s.default_realtime());
    assert_eq!(s.realtime_cpu_budget_percent.map(|b| b.get()), Some(40));
    // And both survive the round trip; the default writes nothing.
    let back = to_toml(&c).expect("toml");
    assert!(back.contains("guarded_realtime = false"), "{back}");
    let (c2, _) = load("/a.toml", &back);
    assert_eq!(c2.global.scheduling, c.global.scheduling);
    let (d, _) = load("/k.conf", INSTANCE);
    assert!(!to_toml(&d).expect("toml").contains("guarded_realtime"));
}
