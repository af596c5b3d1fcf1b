//! Tracker configuration: both front ends, keepalived's weight rules per instance.

use std::collections::HashMap;

use vrrpd::config::{load_str, LoadOptions, ProbeKind, Syntax};
use vrrpd::track::{evaluate, plan, Kind, Reading, TrackerKey};

const CONF: &str = r#"
vrrp_script chk_apache {
    script "/usr/bin/true"
    interval 1
    weight -60
    fall 2
}
vrrp_script chk_zero {
    script "/usr/bin/true"
}
vrrpd_http_check apache_http {
    url http://127.0.0.1:8081/health
    status_code 200 301-302
    body_contains OK
    host lb.example.com
    interval 0.5
    timeout 0.3
    rise 2
    fall 2
    weight -50
}
vrrpd_tcp_check apache_tcp {
    connect 127.0.0.1:8081
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 150
    virtual_ipaddress {
        192.0.2.100
    }
    track_script {
        chk_apache
        chk_zero
    }
    track_probe {
        apache_http
        apache_tcp weight 10 reverse
    }
    track_interface {
        eth1 weight -7
    }
}
vrrp_instance VI_OWNER {
    interface eth0
    virtual_router_id 52
    priority 255
    virtual_ipaddress {
        192.0.2.101
    }
    track_script {
        chk_apache
        chk_zero
    }
}
"#;

fn key(kind: Kind, name: &str) -> TrackerKey {
    TrackerKey::new(kind, name)
}

#[test]
fn keepalived_extension_blocks_parse_into_probes() {
    let loaded = load_str("k.conf", CONF, &LoadOptions::default());
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let cfg = &loaded.config;
    assert_eq!(cfg.probes.len(), 2);
    let http = &cfg.probes[0];
    assert_eq!(http.kind, ProbeKind::Http);
    assert_eq!(http.url.as_deref(), Some("http://127.0.0.1:8081/health"));
    assert_eq!(http.status_ranges().unwrap(), vec![(200, 200), (301, 302)]);
    assert_eq!(http.body_contains.as_deref(), Some("OK"));
    assert_eq!((http.rise, http.fall, http.weight), (2, 2, -50));
    assert_eq!(cfg.probes[1].connect.as_deref(), Some("127.0.0.1:8081"));
    assert_eq!(cfg.instances[0].track_probes.len(), 2);
}

#[test]
fn weights_follow_keepalived() {
    let cfg = load_str("k.conf", CONF, &LoadOptions::default()).config;
    let p = plan(&cfg);
    let vi1 = &p["VI_1"];
    let mut r: HashMap<TrackerKey, Reading> = HashMap::new();
    r.insert(key(Kind::Script, "chk_apache"), Reading::Ok);
    r.insert(key(Kind::Script, "chk_zero"), Reading::Ok);
    r.insert(key(Kind::Probe, "apache_http"), Reading::Ok);
    r.insert(key(Kind::Probe, "apache_tcp"), Reading::Ok);
    r.insert(key(Kind::Interface, "eth1"), Reading::Ok);
    // tcp probe: weight 10 reverse subtracts while OK.
    assert_eq!(evaluate(vi1, &r).adjustment, -10);
    assert!(!evaluate(vi1, &r).fault);
    r.insert(key(Kind::Script, "chk_apache"), Reading::Failed);
    r.insert(key(Kind::Probe, "apache_http"), Reading::Failed);
    r.insert(key(Kind::Interface, "eth1"), Reading::Failed);
    assert_eq!(evaluate(vi1, &r).adjustment, -10 - 60 - 50 - 7);
    r.insert(key(Kind::Script, "chk_zero"), Reading::Failed);
    assert!(evaluate(vi1, &r).fault, "weight 0 failing means FAULT");
    // The owner keeps only unweighted trackers.
    let owner = &p["VI_OWNER"];
    assert_eq!(owner.len(), 1);
    assert_eq!(owner[0].key, key(Kind::Script, "chk_zero"));
}

#[test]
fn toml_probes_and_validation() {
    let text = r#"
[[probe]]
name = "apache"
type = "http"
url = "http://127.0.0.1:8081/"
status = ["200-299"]
weight = -60
fall = 2

[[probe]]
name = "port"
type = "tcp"
connect = "[2001:db8::1]:80"

[[instance]]
name = "VI_1"
interface = "eth0"
vrid = 51
priority = 150
track_probes = [{ name = "apache" }, { name = "port", weight = -5 }]
"#;
    let opts = LoadOptions {
        syntax: Syntax::Toml,
        ..LoadOptions::default()
    };
    let loaded = load_str("c.toml", text, &opts);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let p = plan(&loaded.config);
    assert_eq!(p["VI_1"].len(), 2);
    assert_eq!(p["VI_1"][1].weight, -5);

    let bad = text
        .replace("http://127.0.0.1:8081/", "ftp://x/")
        .replace("\"200-299\"", "\"700\"")
        .replace("[2001:db8::1]:80", "nohost");
    let loaded = load_str("c.toml", &bad, &opts);
    let msgs: Vec<String> = loaded
        .diagnostics
        .iter()
        .map(|d| d.message.clone())
        .collect();
    assert!(
        msgs.iter().any(|m| m.contains("must start with http")),
        "{msgs:?}"
    );
    assert!(msgs.iter().any(|m| m.contains("status '700'")), "{msgs:?}");
    assert!(msgs.iter().any(|m| m.contains("not HOST:PORT")), "{msgs:?}");
    let unknown = text.replace("{ name = \"apache\" }", "{ name = \"nope\" }");
    let loaded = load_str("c.toml", &unknown, &opts);
    assert!(loaded
        .diagnostics
        .iter()
        .any(|d| d.message.contains("track_probe 'nope' is not defined")));
}

#[test]
fn sync_group_trackers_apply_to_members_without_weights() {
    let conf = r#"
vrrp_script chk {
    script "/usr/bin/true"
    weight -20
}
vrrp_script zero {
    script "/usr/bin/true"
}
vrrp_sync_group G {
    group {
        VI_1
        VI_2
    }
    track_script {
        chk
        zero
    }
    track_interface {
        eth1 weight -5
    }
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        192.0.2.100
    }
}
vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 52
    virtual_ipaddress {
        192.0.2.101
    }
}
"#;
    let cfg = load_str("g.conf", conf, &LoadOptions::default()).config;
    let p = plan(&cfg);
    for name in ["VI_1", "VI_2"] {
        let keys: Vec<(String, i32)> = p[name]
            .iter()
            .map(|w| (w.key.name.clone(), w.weight))
            .collect();
        // The weighted script is dropped, the interface kept unweighted.
        assert_eq!(
            keys,
            [("eth1".to_string(), 0), ("zero".to_string(), 0)],
            "{name}"
        );
    }
}

#[test]
fn an_instance_that_tracks_nothing_costs_no_plan_entry() {
    let conf = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  192.0.2.30\n }\n}\n";
    let cfg = load_str(
        "k.conf",
        &format!(
            "{CONF}{}",
            conf.replace("VI_1", "VI_9")
                .replace("router_id 1\n", "router_id 99\n")
        ),
        &LoadOptions::default(),
    )
    .config;
    assert!(cfg.instances.iter().any(|i| i.name == "VI_9"));
    let p = plan(&cfg);
    assert!(p.contains_key("VI_1"));
    assert!(
        !p.contains_key("VI_9"),
        "{:?}",
        p.keys().collect::<Vec<_>>()
    );
}
