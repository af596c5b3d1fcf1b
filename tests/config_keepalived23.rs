//! keepalived 2.3–2.4 keywords (issue 15, part 5): each read into the model
//! where vrrpd acts on it, or accepted with a located warning saying what
//! vrrpd does. keepalived 2.2.7 knows none of these but `vrrp_startup_delay`
//! and `use_vmac NAME`, so they are tested here rather than in
//! scripts/keepalived-diff.sh.

#[path = "common/config.rs"]
mod common_config;
use std::collections::HashMap;
use std::time::Duration;

use vrrpd::config::{load_str, LoadOptions, Loaded, Secs, Severity};

use common_config::keepalived as load;

fn instance(extra: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n{extra}\n    virtual_ipaddress {{\n        192.0.2.10\n    }}\n}}\n"
    )
}

use common_config::only_diagnostic as find;

#[test]
fn dump_file_spellings_of_keepalived_2_3_parser_and_man_page() {
    let l = load(&format!(
        "global_defs {{\n    state_dump_file /run/k/data\n    stats_dump_file /run/k/\n    json_dump_file /run/k/k.json\n}}\n{}",
        instance("")
    ));
    assert!(l.diagnostics.is_empty(), "{:#?}", l.diagnostics);
    let g = &l.config.global;
    assert_eq!(
        g.state_file_location.as_deref(),
        Some("/run/k/data".as_ref())
    );
    assert_eq!(g.stats_file_location.as_deref(), Some("/run/k/".as_ref()));
    assert_eq!(
        g.json_file_location.as_deref(),
        Some("/run/k/k.json".as_ref())
    );
    // The man page's spelling still works, and a relative path is an error
    // under either name.
    let l = load(&format!(
        "global_defs {{\n    json_file_location /tmp/x.json\n    state_dump_file data\n}}\n{}",
        instance("")
    ));
    assert_eq!(
        l.config.global.json_file_location.as_deref(),
        Some("/tmp/x.json".as_ref())
    );
    let d = find(&l, "state_dump_file");
    assert_eq!((d.line, d.col, d.severity), (3, 21, Severity::Error));
}

#[test]
fn env_definition_reads_the_given_environment() {
    let opts = LoadOptions {
        env: HashMap::from([("LB_IF".to_string(), "eth7".to_string())]),
        ..LoadOptions::default()
    };
    let text = instance("").replace("interface eth0", "interface ${_ENV LB_IF}");
    let l = load_str("/k.conf", &text, &opts);
    assert_eq!(l.config.instances[0].interface.as_deref(), Some("eth7"));
    // Unset: nothing, as keepalived (getenv() NULL is an empty value).
    let text = instance("    notify \"/bin/n${_ENV UNSET_X}\"");
    let l = load_str("/k.conf", &text, &opts);
    assert_eq!(
        l.config.instances[0]
            .notify
            .any
            .as_ref()
            .map(|c| c.cmd.as_str()),
        Some("/bin/n")
    );
}

#[test]
fn no_virtual_ipaddress_allows_an_instance_without_vips_but_not_in_strict_mode() {
    let text = "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    version 3\n    no_virtual_ipaddress\n}\n";
    let l = load(text);
    assert!(!l.has_errors(), "{:#?}", l.diagnostics);
    assert!(l.config.instances[0].vips.is_empty());
    let l = load(&text.replace("    version 3\n", "    version 3\n    strict_mode\n"));
    let d = find(&l, "no_virtual_ipaddress and strict mode incompatible");
    assert_eq!((d.line, d.col, d.severity), (6, 5, Severity::Warning));
    assert!(l.has_errors(), "strict mode then needs a VIP");
}

#[test]
fn owner_ignore_adverts_follows_keepalived_2_3_3() {
    // An owner takes the global default.
    let text = format!(
        "global_defs {{\n    vrrp_owner_ignore_adverts\n}}\n{}",
        instance("    priority 255")
    );
    assert!(load(&text).config.instances[0].owner_ignore_adverts);
    // A non-owner never ignores adverts; set explicitly, it is warned at the keyword.
    let text = format!(
        "global_defs {{\n    vrrp_owner_ignore_adverts\n}}\n{}",
        instance("    priority 100")
    );
    assert!(!load(&text).config.instances[0].owner_ignore_adverts);
    let l = load(&instance("    priority 100\n    owner_ignore_adverts"));
    assert!(!l.config.instances[0].owner_ignore_adverts);
    let d = find(
        &l,
        "ignoring owner_ignore_adverts since priority is not 255",
    );
    assert_eq!((d.line, d.col, d.severity), (5, 5, Severity::Warning));
    // Explicit on an owner; strict mode sets it for an owner.
    let l = load(&instance("    priority 255\n    owner_ignore_adverts"));
    assert!(l.config.instances[0].owner_ignore_adverts);
    let l = load(&instance("    priority 255\n    strict_mode"));
    assert!(l.config.instances[0].owner_ignore_adverts);
    assert!(!load(&instance("    priority 255")).config.instances[0].owner_ignore_adverts);
}

#[test]
fn timer_expired_backup_needs_nopreempt_and_takes_the_others_priority() {
    let l = load(&instance("    nopreempt\n    timer_expired_backup 200"));
    assert!(l.diagnostics.is_empty(), "{:#?}", l.diagnostics);
    assert_eq!(l.config.instances[0].timer_expired_backup, Some(200));
    // Default 254; the first spelling works with keepalived's request to rename.
    let l = load(&instance("    nopreempt\n    thread_timer_expired"));
    assert_eq!(l.config.instances[0].timer_expired_backup, Some(254));
    let d = find(&l, "please replace with keyword 'timer_expired_backup'");
    assert_eq!((d.line, d.col, d.severity), (5, 5, Severity::Warning));
    // Without nopreempt keepalived resets it.
    let l = load(&instance("    timer_expired_backup"));
    assert_eq!(l.config.instances[0].timer_expired_backup, None);
    let d = find(&l, "requires nopreempt");
    assert_eq!((d.line, d.col, d.severity), (4, 5, Severity::Warning));
    let l = load(&instance("    nopreempt\n    timer_expired_backup 255"));
    let d = find(&l, "expects an integer 1..254");
    assert_eq!((d.line, d.col), (5, 26));
    assert_eq!(l.config.instances[0].timer_expired_backup, None);
}

#[test]
fn startup_delays_and_the_hold_they_give() {
    let l = load(&format!(
        "global_defs {{\n    vrrp_startup_delay 5.5\n    vrrp_delay_after_boot 120\n}}\n{}",
        instance("")
    ));
    assert!(l.diagnostics.is_empty(), "{:#?}", l.diagnostics);
    let g = &l.config.global;
    assert_eq!(g.startup_delay, Secs::from_micros(5_500_000));
    assert_eq!(g.delay_after_boot, Secs::from_secs(120));
    // Booted 100 s ago: 20 s of the after-boot delay are left, longer than 5.5.
    assert_eq!(
        g.startup_hold(Some(Duration::from_secs(100))),
        Duration::from_secs(20)
    );
    // Booted long ago: the startup delay alone.
    assert_eq!(
        g.startup_hold(Some(Duration::from_secs(3600))),
        Duration::from_millis(5500)
    );
    // No uptime: the after-boot delay is ignored, as keepalived does.
    assert_eq!(g.startup_hold(None), Duration::from_millis(5500));
    assert_eq!(
        load(&instance(""))
            .config
            .global
            .startup_hold(Some(Duration::ZERO)),
        Duration::ZERO
    );
}

#[test]
fn script_interval_and_timeout_in_milliseconds() {
    let text = format!(
        "vrrp_script chk {{\n    script /bin/true\n    interval 0.25\n    timeout 0.1005\n}}\n{}",
        instance("    track_script {\n        chk\n    }")
    );
    let l = load(&text);
    let s = &l.config.scripts[0];
    assert_eq!(s.interval, Secs::from_micros(250_000));
    assert_eq!(s.timeout, Some(Secs::from_micros(100_000)));
    let d = find(&l, "keepalived reads milliseconds");
    assert_eq!((d.line, d.col, d.severity), (4, 13, Severity::Warning));
    let l = load(&text.replace("timeout 0.1005", "timeout 0"));
    assert_eq!(l.config.scripts[0].timeout, Some(Secs::from_secs(1)));
    find(&l, "'timeout' 0 is not valid");
}

#[test]
fn use_vmac_name_mac_and_group_are_parsed_into_the_model() {
    let l = load(&instance(
        "    use_vmac name vrrp.lb 02:00:5e:11:22:33 netlink_notify_msg group lb",
    ));
    let i = &l.config.instances[0];
    assert_eq!(i.use_vmac.as_deref(), Some("vrrp.lb"));
    assert_eq!(i.vmac_mac.as_deref(), Some("02:00:5e:11:22:33"));
    assert_eq!(i.vmac_group.as_deref(), Some("lb"));
    // The 2.2 forms still work.
    let l = load(&instance("    use_vmac vrrp.51"));
    assert_eq!(l.config.instances[0].use_vmac.as_deref(), Some("vrrp.51"));
    let l = load(&instance("    use_vmac"));
    assert_eq!(l.config.instances[0].use_vmac.as_deref(), Some("vrrp.51"));
    let l = load(&instance("    use_vmac name much_too_long_for_linux"));
    let d = find(&l, "too long or invalid characters");
    assert_eq!((d.line, d.col), (4, 19));
    assert_eq!(l.config.instances[0].use_vmac.as_deref(), Some("vrrp.51"));
}

#[test]
fn vmac_names_are_keepalived_s_and_unique_across_instances() {
    let two = |a: &str, b: &str, fam_b: &str| {
        format!(
            "vrrp_instance A {{\n    interface eth0\n    virtual_router_id 51\n{a}\n    virtual_ipaddress {{\n        192.0.2.10\n    }}\n}}\nvrrp_instance B {{\n    interface eth0\n    virtual_router_id 51\n{b}\n    virtual_ipaddress {{\n        {fam_b}\n    }}\n}}\n"
        )
    };
    let names = |l: &Loaded| -> Vec<String> {
        l.config
            .instances
            .iter()
            .map(|i| i.use_vmac.clone().unwrap_or_default())
            .collect()
    };
    // create_vmac_name(): IPv6 tries vrrp6.VRID after vrrp.VRID ...
    let l = load(&two("    use_vmac", "    use_vmac", "2001:db8::10"));
    assert_eq!(names(&l), ["vrrp.51", "vrrp6.51"]);
    // ... IPv4 vrrp1.VRID; a named VMAC keeps its name wherever it is.
    let l = load(&two("    use_vmac", "    use_vmac vrrp.51", "192.0.2.11"));
    assert_eq!(names(&l), ["vrrp1.51", "vrrp.51"]);
    // The same name twice: the second is dropped, at its block, and generated.
    let l = load(&two("    use_vmac lb0", "    use_vmac lb0", "192.0.2.11"));
    assert_eq!(names(&l), ["lb0", "vrrp.51"]);
    let d = find(&l, "already using VMAC lb0");
    assert_eq!((d.line, d.severity), (9, Severity::Warning));
}

#[test]
fn a_bad_vmac_mac_and_use_ipvlan_are_located_errors() {
    for (mac, why) in [
        ("02:00:5e:11:22", "VMAC invalid MAC address"),
        ("01:00:5e:11:22:33", "is multicast"),
        ("00:00:5e:00:01:33", "RFC 5798"),
    ] {
        let l = load(&instance(&format!("    use_vmac lb0 {mac}")));
        let d = find(&l, why);
        assert_eq!(
            (d.line, d.col, d.severity),
            (4, 18, Severity::Error),
            "{mac}"
        );
    }
    let l = load(&instance("    use_ipvlan"));
    let d = find(&l, "'use_ipvlan' is not supported by vrrpd");
    assert_eq!((d.line, d.col, d.severity), (4, 5, Severity::Error));
}
