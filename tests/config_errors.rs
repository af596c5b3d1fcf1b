//! Each kind of mistake gives `FILE:LINE:COL: severity: message` at the right place.

use std::path::Path;

use vrrpd::config::{load, load_str, Diagnostic, LoadOptions, MemSource, Severity};

const GOOD: &str = "vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        192.0.2.10
    }
}
";

fn diags(text: &str) -> Vec<Diagnostic> {
    load_str("/etc/k.conf", text, &LoadOptions::default()).diagnostics
}

/// The one diagnostic whose message contains `needle`.
fn find(ds: &[Diagnostic], needle: &str) -> Diagnostic {
    let found: Vec<&Diagnostic> = ds.iter().filter(|d| d.message.contains(needle)).collect();
    assert_eq!(found.len(), 1, "'{needle}' in {ds:#?}");
    found[0].clone()
}

fn at(d: &Diagnostic) -> (String, u32, u32, Severity) {
    (d.file.clone(), d.line, d.col, d.severity)
}

#[test]
fn good_config_is_clean() {
    assert!(diags(GOOD).is_empty(), "{:#?}", diags(GOOD));
}

#[test]
fn display_format_is_file_line_col_severity_message() {
    let ds = diags(&GOOD.replace("priority 100", "prority 100"));
    assert_eq!(
        ds[0].to_string(),
        "/etc/k.conf:5:5: warning: unknown keyword 'prority' in vrrp_instance; ignored, as keepalived does"
    );
}

#[test]
fn missing_closing_brace_points_at_the_open_block() {
    let text = GOOD.replace("        192.0.2.10\n    }\n", "        192.0.2.10\n");
    let d = find(&diags(&text), "missing its '}'");
    assert_eq!(at(&d), ("/etc/k.conf".into(), 1, 1, Severity::Error));
    assert!(d.message.contains("'vrrp_instance'"));
}

#[test]
fn extra_closing_brace_is_located() {
    let d = find(&diags(&format!("{GOOD}}}\n")), "without a matching");
    assert_eq!(at(&d), ("/etc/k.conf".into(), 10, 1, Severity::Error));
}

#[test]
fn unknown_keyword_is_a_located_warning() {
    let d = find(
        &diags(&GOOD.replace("    priority 100", "    priority 100\n    bogus_kw 3")),
        "bogus_kw",
    );
    assert_eq!(at(&d), ("/etc/k.conf".into(), 6, 5, Severity::Warning));
}

#[test]
fn bad_numbers() {
    // keepalived: "Priority not valid ... Using default 100": warning and default.
    let text = GOOD.replace("priority 100", "priority 300");
    let l = load_str("/etc/k.conf", &text, &LoadOptions::default());
    let d = find(
        &l.diagnostics,
        "'priority' expects an integer 1..255, got '300'",
    );
    assert_eq!(at(&d), ("/etc/k.conf".into(), 5, 14, Severity::Warning));
    assert_eq!(l.config.instances[0].priority.get(), 100);
    // A VRID keepalived cannot use is fatal, as in keepalived.
    let d = find(
        &diags(&GOOD.replace("_id 51", "_id 256")),
        "virtual_router_id' expects",
    );
    assert_eq!(at(&d), ("/etc/k.conf".into(), 4, 23, Severity::Error));
    let d = find(&diags(&GOOD.replace("_id 51", "_id 256")), "must be set");
    assert_eq!(d.severity, Severity::Error);
    let d = find(
        &diags(&GOOD.replace("state BACKUP", "state BACKUP\n    advert_int fast")),
        "advert_int",
    );
    assert_eq!(at(&d), ("/etc/k.conf".into(), 3, 16, Severity::Warning));
}

#[test]
fn bad_addresses() {
    let d = find(
        &diags(&GOOD.replace("192.0.2.10", "192.0.2.300")),
        "not an address",
    );
    assert_eq!(at(&d), ("/etc/k.conf".into(), 7, 9, Severity::Error));
    let d = find(
        &diags(&GOOD.replace("192.0.2.10", "192.0.2.10/33")),
        "prefix",
    );
    assert_eq!(at(&d), ("/etc/k.conf".into(), 7, 9, Severity::Error));
    let text = GOOD.replace(
        "    priority 100",
        "    priority 100\n    unicast_src_ip 192.0.2.x",
    );
    let d = find(&diags(&text), "unicast_src_ip");
    assert_eq!(at(&d), ("/etc/k.conf".into(), 6, 20, Severity::Error));
    let text = GOOD.replace("    priority 100", "    priority 100\n    unicast_src_ip 192.0.2.1\n    unicast_peer {\n      2001:db8::1\n    }");
    let d = find(&diags(&text), "unicast peer 2001:db8::1 is not IPv4");
    assert_eq!(d.severity, Severity::Error);
}

#[test]
fn missing_include_is_located_at_its_name() {
    let src = MemSource::new().with(
        "/etc/k.conf",
        format!("{GOOD}include   conf.d/extra.conf\n"),
    );
    let l = load(Path::new("/etc/k.conf"), &src, &LoadOptions::default());
    let d = find(&l.diagnostics, "does not exist");
    assert_eq!(at(&d), ("/etc/k.conf".into(), 10, 11, Severity::Warning));
    assert!(d.message.contains("/etc/conf.d/extra.conf"));
    // includew (keepalived's include_check wildcard_match) makes a pattern
    // that matches nothing an error; includer (readable only) does not:
    // keepalived.conf(5) recommends it for an optional conf.d/*.
    let src = MemSource::new().with("/etc/k.conf", format!("{GOOD}includew conf.d/*.conf\n"));
    let l = load(Path::new("/etc/k.conf"), &src, &LoadOptions::default());
    assert_eq!(
        find(&l.diagnostics, "matches no file").severity,
        Severity::Error
    );
    let src = MemSource::new().with("/etc/k.conf", format!("{GOOD}includer conf.d/*.conf\n"));
    let l = load(Path::new("/etc/k.conf"), &src, &LoadOptions::default());
    assert_eq!(
        find(&l.diagnostics, "matches no file").severity,
        Severity::Warning
    );
}

#[test]
fn include_cycle_names_the_chain() {
    let src = MemSource::new()
        .with("/etc/k.conf", "include a.conf\n")
        .with("/etc/a.conf", format!("{GOOD}include sub/../b.conf\n"))
        .with("/etc/b.conf", "\n\n  include k.conf\n");
    let l = load(Path::new("/etc/k.conf"), &src, &LoadOptions::default());
    let d = find(&l.diagnostics, "include cycle");
    assert_eq!(at(&d), ("/etc/b.conf".into(), 3, 11, Severity::Error));
    assert!(d
        .message
        .contains("/etc/k.conf -> /etc/a.conf -> /etc/b.conf -> /etc/k.conf"));
    // What was read before the cycle still counts.
    assert_eq!(l.config.instances.len(), 1);
}

#[test]
fn unterminated_quote_points_at_the_quote() {
    let text = GOOD.replace(
        "    priority 100",
        "    priority 100\n    notify_master \"/bin/true x",
    );
    let d = find(&diags(&text), "unterminated");
    assert_eq!(at(&d), ("/etc/k.conf".into(), 6, 19, Severity::Error));
}

#[test]
fn duplicate_vrid_points_at_the_second_instance() {
    let second = GOOD
        .replace("VI_1", "VI_2")
        .replace("192.0.2.10", "192.0.2.11");
    let d = find(&diags(&format!("{GOOD}{second}")), "already used");
    assert_eq!(at(&d), ("/etc/k.conf".into(), 13, 5, Severity::Error));
    assert!(d
        .message
        .contains("virtual_router_id 51 is already used by instance 'VI_1' on eth0"));
    // Other interface or family: fine.
    let other = second.replace("eth0", "eth1");
    assert!(diags(&format!("{GOOD}{other}")).is_empty());
}

#[test]
fn unknown_track_script_is_reported() {
    let text = GOOD.replace(
        "    priority 100",
        "    priority 100\n    track_script {\n        chk_nope\n    }",
    );
    let d = find(&diags(&text), "chk_nope");
    assert_eq!(at(&d), ("/etc/k.conf".into(), 7, 9, Severity::Warning));
}

#[test]
fn keepalived_semantics_with_warnings() {
    // nopreempt with state MASTER is cleared, with a warning.
    let text = GOOD.replace("state BACKUP", "state MASTER\n    nopreempt");
    let l = load_str("/etc/k.conf", &text, &LoadOptions::default());
    assert!(!l.config.instances[0].nopreempt);
    assert_eq!(find(&l.diagnostics, "nopreempt").line, 3);
    // state MASTER without priority: the owner, 255.
    let text = GOOD
        .replace("state BACKUP", "state MASTER")
        .replace("    priority 100\n", "");
    let l = load_str("/etc/k.conf", &text, &LoadOptions::default());
    assert_eq!(l.config.instances[0].priority.get(), 255);
    // v2 interval that is not whole seconds: rounded, warned.
    let text = GOOD.replace("state BACKUP", "state BACKUP\n    advert_int 1.4");
    let l = load_str("/etc/k.conf", &text, &LoadOptions::default());
    assert_eq!(l.config.instances[0].advert_int.get(), 100);
    assert_eq!(
        find(&l.diagnostics, "whole seconds").severity,
        Severity::Warning
    );
    // Peer equal to our own source: warned.
    let text = GOOD.replace("    priority 100", "    priority 100\n    unicast_src_ip 192.0.2.1\n    unicast_peer {\n      192.0.2.1\n    }");
    assert_eq!(
        find(&diags(&text), "own unicast_src_ip").severity,
        Severity::Warning
    );
}

#[test]
fn lexer_features() {
    let text = "$IF=eth0\n$VIP=192.0.2.44\n@node1 $PRIO=200\n@^node1 $PRIO=50\n\
        vrrp_instance 'VI'\"_1\"\n{\n  interface ${IF}  # comment\n  virtual_router_id 7 ! another\n\
        priority $PRIO\n  virtual_ipaddress { ${VIP}/24 dev $IF }\n}\n";
    let opts = LoadOptions {
        config_id: Some("node1".into()),
        ..LoadOptions::default()
    };
    let l = load_str("/k.conf", text, &opts);
    assert!(l.diagnostics.is_empty(), "{:#?}", l.diagnostics);
    let i = &l.config.instances[0];
    assert_eq!(i.name, "VI_1");
    assert_eq!(i.interface.as_deref(), Some("eth0"));
    assert_eq!(i.priority.get(), 200);
    assert_eq!(i.vips[0].prefix, 24);
    assert_eq!(i.vips[0].dev.as_deref(), Some("eth0"));
    let l = load_str("/k.conf", text, &LoadOptions::default());
    assert_eq!(l.config.instances[0].priority.get(), 50);
}

#[test]
fn includes_with_globs_and_braces_are_relative_and_sorted() {
    let src = MemSource::new()
        .with(
            "/etc/keepalived/keepalived.conf",
            "include conf.d/*.conf\ninclude extra/{x,y}.conf\n",
        )
        .with(
            "/etc/keepalived/conf.d/20-b.conf",
            GOOD.replace("VI_1", "B").replace("_id 51", "_id 52"),
        )
        .with(
            "/etc/keepalived/conf.d/10-a.conf",
            GOOD.replace("VI_1", "A"),
        )
        .with(
            "/etc/keepalived/extra/y.conf",
            GOOD.replace("VI_1", "Y").replace("_id 51", "_id 53"),
        )
        .with(
            "/etc/keepalived/extra/x.conf",
            "global_defs {\n router_id X\n}\n",
        );
    let l = load(
        Path::new("/etc/keepalived/keepalived.conf"),
        &src,
        &LoadOptions::default(),
    );
    assert!(l.diagnostics.is_empty(), "{:#?}", l.diagnostics);
    let names: Vec<&str> = l.config.instances.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["A", "B", "Y"]);
    assert_eq!(l.config.global.router_id.as_deref(), Some("X"));
}

#[test]
fn vip_grammar() {
    let text = GOOD.replace(
        "192.0.2.10\n",
        "192.0.2.10/24 dev eth1 brd + scope link label eth1:v no_track preferred_lft forever\n        2001:db8::1 dev eth0\n        192.0.2.12 frobnicate\n",
    );
    let l = load_str("/k.conf", &text, &LoadOptions::default());
    let v = &l.config.instances[0].vips;
    assert_eq!(v.len(), 2, "the IPv6 address is of another family");
    assert_eq!(
        at(&find(&l.diagnostics, "is IPv6, but the instance is IPv4")),
        ("/k.conf".into(), 8, 9, Severity::Error)
    );
    assert_eq!(v[0].brd.as_deref(), Some("+"));
    assert_eq!(v[0].label.as_deref(), Some("eth1:v"));
    assert_eq!(v[0].preferred_lft, Some(u32::MAX));
    assert!(v[0].no_track);
    let d = find(&l.diagnostics, "frobnicate");
    assert_eq!((d.line, d.col), (9, 20));
}

#[test]
fn seq_and_multiline_parameters_generate_instances() {
    let text = "$INST=vrrp_instance VI_${i} { \\\n  interface eth0 # the LAN \\\n  virtual_router_id ${i} \\\n  virtual_ipaddress { \\\n    192.0.2.${i} \\\n  } \\\n}\n\
        ~SEQ(i, 1, 2, 5) $INST\n\
        $L=vrrp_instance L${n} { \\\n interface eth1 \\\n virtual_router_id ${n} \\\n virtual_ipaddress { 198.51.100.${n} } \\\n}\n\
        ~LST(n, 7, 9) $L\n\
        ~SEQx(h, 10, 11) global_defs { router_id r${h} }\n";
    let l = load_str("/k.conf", text, &LoadOptions::default());
    assert!(l.diagnostics.is_empty(), "{:#?}", l.diagnostics);
    let got: Vec<(String, u8)> = l
        .config
        .instances
        .iter()
        .map(|i| (i.name.clone(), i.vrid.get()))
        .collect();
    let want: Vec<(String, u8)> = [("VI_1", 1), ("VI_3", 3), ("VI_5", 5), ("L7", 7), ("L9", 9)]
        .iter()
        .map(|(n, v)| (n.to_string(), *v))
        .collect();
    assert_eq!(got, want);
    assert_eq!(l.config.instances[1].vips[0].addr.to_string(), "192.0.2.3");
    assert_eq!(l.config.global.router_id.as_deref(), Some("rb"));
}

#[test]
fn bad_seq_is_a_located_error() {
    let d = find(&diags("\n  ~SEQ(i, 1, 0, 5) x\n"), "never goes");
    assert_eq!(at(&d), ("/etc/k.conf".into(), 2, 3, Severity::Error));
    let d = find(&diags("~SEQ(i, 1, 1000000) x\n"), "more than 10000");
    assert_eq!(d.severity, Severity::Error);
}

// ---- diagnostics about one entry of a list point at the entry (issue 15, part 6)

#[test]
fn vip_of_the_other_family_is_an_error_at_its_entry() {
    let text = GOOD.replace("192.0.2.10\n", "192.0.2.10\n        2001:db8::1/64\n");
    let d = find(&diags(&text), "virtual address 2001:db8::1 is IPv6");
    assert_eq!(at(&d), ("/etc/k.conf".into(), 8, 9, Severity::Error));
    assert!(d.message.contains("virtual_ipaddress_excluded"), "{d}");
}

#[test]
fn vip_of_the_other_family_is_fine_in_virtual_ipaddress_excluded() {
    let text = GOOD.replace(
        "    priority 100",
        "    priority 100\n    virtual_ipaddress_excluded {\n        2001:db8::1/64\n        198.51.100.7\n    }",
    );
    let l = load_str("/etc/k.conf", &text, &LoadOptions::default());
    assert!(l.diagnostics.is_empty(), "{:#?}", l.diagnostics);
    assert_eq!(l.config.instances[0].excluded_vips.len(), 2);
}

#[test]
fn duplicate_vip_is_located_at_the_copy() {
    let text = GOOD.replace(
        "192.0.2.10\n",
        "192.0.2.10\n        192.0.2.11\n        192.0.2.10\n",
    );
    let d = find(&diags(&text), "192.0.2.10 is listed twice");
    assert_eq!(at(&d), ("/etc/k.conf".into(), 9, 9, Severity::Warning));
}

const PEERS: &str = "    priority 100
    unicast_src_ip 192.0.2.1
    unicast_peer {
        192.0.2.2
          2001:db8::1
        192.0.2.1
        192.0.2.2
        192.0.2.3 min_ttl 9 max_ttl 2
    }";

#[test]
fn unicast_peer_of_the_wrong_family_is_an_error_at_the_peer() {
    let ds = diags(&GOOD.replace("    priority 100", PEERS));
    let d = find(&ds, "unicast peer 2001:db8::1 is not IPv4");
    assert_eq!(at(&d), ("/etc/k.conf".into(), 9, 11, Severity::Error));
}

#[test]
fn unicast_peer_equal_to_our_source_is_located_at_the_peer() {
    let ds = diags(&GOOD.replace("    priority 100", PEERS));
    let d = find(&ds, "own unicast_src_ip");
    assert_eq!(at(&d), ("/etc/k.conf".into(), 10, 9, Severity::Warning));
}

#[test]
fn unicast_peer_listed_twice_and_bad_ttl_range_are_located_at_the_peer() {
    let ds = diags(&GOOD.replace("    priority 100", PEERS));
    let d = find(&ds, "unicast peer 192.0.2.2 listed twice");
    assert_eq!(at(&d), ("/etc/k.conf".into(), 11, 9, Severity::Warning));
    let d = find(&ds, "min_ttl 9 > max_ttl 2");
    assert_eq!(at(&d), ("/etc/k.conf".into(), 12, 9, Severity::Error));
}

#[test]
fn unknown_track_entry_is_located_at_the_entry_of_its_own_instance() {
    // Two instances name the same missing script: each message points at
    // its own instance's entry (before, both pointed at the last one).
    let one = GOOD.replace(
        "    priority 100",
        "    priority 100\n    track_script {\n        chk_gone\n    }",
    );
    let two = one.replace("VI_1", "VI_2").replace("51", "52");
    let ds = diags(&format!("{one}{two}"));
    let d = find(&ds, "(VI_1) track_script 'chk_gone' not found");
    assert_eq!(at(&d), ("/etc/k.conf".into(), 7, 9, Severity::Warning));
    let d = find(&ds, "(VI_2) track_script 'chk_gone' not found");
    assert_eq!(at(&d), ("/etc/k.conf".into(), 19, 9, Severity::Warning));
}

#[test]
fn weighted_track_entries_of_an_owner_are_located_at_the_entry() {
    let text = "vrrp_script chk {\n    script /bin/true\n    weight -20\n}\n".to_string()
        + &GOOD.replace("priority 100", "priority 255").replace(
            "    interface eth0",
            "    interface eth0\n    track_interface {\n        eth1\n        eth2 weight -10\n    }\n    track_script {\n        chk\n    }",
        );
    let ds = diags(&text);
    let d = find(&ds, "track_interface eth2 has weight -10");
    assert_eq!(at(&d), ("/etc/k.conf".into(), 10, 9, Severity::Warning));
    let d = find(&ds, "track_script 'chk' has weight -20");
    assert_eq!(at(&d), ("/etc/k.conf".into(), 13, 9, Severity::Warning));
}

#[test]
fn unknown_sync_group_track_script_is_located_at_the_entry() {
    let text = format!(
        "{GOOD}{}vrrp_sync_group G {{\n    group {{\n        VI_1\n        VI_2\n    }}\n    track_script {{\n        nope\n    }}\n}}\n",
        GOOD.replace("VI_1", "VI_2").replace("51", "52")
    );
    let d = find(
        &diags(&text),
        "track script 'nope' of sync group 'G' not found",
    );
    assert_eq!(at(&d), ("/etc/k.conf".into(), 25, 9, Severity::Warning));
}
