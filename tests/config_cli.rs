//! The `vrrpd` command line: `check`, `-t -f`, `convert`, exit statuses.

use std::process::{Command, Output};

fn vrrpd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vrrpd"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run vrrpd")
}

fn tmp(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("vrrpd-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn check_seed_warns_and_exits_zero() {
    let o = vrrpd(&["check", "-f", "conf/keepalived/loadbalancer1.conf"]);
    assert_eq!(o.status.code(), Some(0));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("conf/keepalived/loadbalancer1.conf:9:19: warning: (loadbalancer1) Truncating auth_pass to 8 characters"), "{err}");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("OK (keepalived syntax, 1 instances, 0 errors, 1 warnings)"),
        "{out}"
    );
}

#[test]
fn keepalived_spelling_and_error_exit() {
    let o = vrrpd(&["-t", "-f", "conf/keepalived/loadbalancer2.conf"]);
    assert_eq!(o.status.code(), Some(0));
    let o = vrrpd(&[
        "--config-test",
        "--use-file",
        "conf/toml/loadbalancer2.toml",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let bad = tmp(
        "bad.conf",
        "vrrp_instance X {\n interface eth0\n virtual_router_id 0\n}\n",
    );
    let o = vrrpd(&["-t", "-f", &bad]);
    assert_eq!(o.status.code(), Some(4));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!(
            "{bad}:3:20: error: 'virtual_router_id' expects an integer 1..255, got '0'"
        )),
        "{err}"
    );
    let o = vrrpd(&["check", "-f", "/nonexistent/keepalived.conf"]);
    assert_eq!(o.status.code(), Some(4));
}

#[test]
fn check_json_has_config_and_diagnostics() {
    let o = vrrpd(&[
        "check",
        "-f",
        "conf/keepalived/loadbalancer1.conf",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["syntax"], "keepalived");
    assert_eq!(v["warnings"], 1);
    assert_eq!(v["diagnostics"][0]["line"], 9);
    assert_eq!(v["config"]["instance"][0]["vrid"], 101);
    assert_eq!(v["config"]["instance"][0]["auth_pass"], "password");
}

#[test]
fn syntax_override_and_config_id() {
    let o = vrrpd(&[
        "check",
        "-f",
        "conf/toml/loadbalancer1.toml",
        "--syntax",
        "keepalived",
    ]);
    // keepalived would only warn about every line; so does vrrpd, and says nothing runs.
    assert_eq!(o.status.code(), Some(0));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("unknown keyword '[[instance]]'"), "{err}");
    assert!(err.contains("no vrrp_instance"), "{err}");
    let o = vrrpd(&[
        "check",
        "-f",
        "conf/samples/keepalived.conf.conditional_conf",
        "--format",
        "json",
        "--config-id",
        "low",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["config"]["instance"][0]["priority"], 85);
}

#[test]
fn convert_prints_toml_that_checks_clean() {
    let o = vrrpd(&["convert", "conf/samples/keepalived.conf.vrrp.localcheck"]);
    assert_eq!(o.status.code(), Some(0));
    let text = String::from_utf8(o.stdout).unwrap();
    let p = tmp("converted.toml", &text);
    let o = vrrpd(&["check", "-f", &p]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("OK (TOML syntax, 9 instances, 0 errors,"));
}

#[test]
fn the_daemon_refuses_a_broken_config_with_located_errors() {
    let p = tmp(
        "broken-daemon.conf",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 300\n}\n",
    );
    let o = vrrpd(&["-n", "-l", "-f", &p]);
    assert_eq!(
        o.status.code(),
        Some(4),
        "keepalived -t's exit code for a fatal config"
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("broken-daemon.conf:3:"), "{stderr}");
    assert!(stderr.contains("not starting"), "{stderr}");
}

#[test]
fn host_check_flags_foreign_source_and_missing_interface() {
    let text = "vrrp_instance X {\n interface vrrpd-no-such0\n virtual_router_id 9\n unicast_src_ip 192.0.2.254\n unicast_peer {\n  127.0.0.1\n }\n virtual_ipaddress {\n  192.0.2.9\n }\n}\n";
    let p = tmp("host.conf", text);
    let o = vrrpd(&["check", "-f", &p]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "pure check knows nothing of the host"
    );
    let o = vrrpd(&["check", "-f", &p, "--host"]);
    assert_eq!(o.status.code(), Some(4));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!(
            "{p}:2:2: error: (X) interface 'vrrpd-no-such0' does not exist on this host"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{p}:4:2: warning: (X) unicast_src_ip 192.0.2.254 is not an address of this host"
        )),
        "{err}"
    );
    assert!(
        err.contains("unicast peer 127.0.0.1 is an address of this host (lo)"),
        "{err}"
    );
}

#[test]
fn check_points_at_the_vip_of_the_other_family() {
    let p = tmp(
        "family.conf",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.0.2.10\n        2001:db8::10\n    }\n}\n",
    );
    let o = vrrpd(&["check", "-f", &p]);
    assert_eq!(o.status.code(), Some(4), "an error, as keepalived -t");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!(
            "{p}:6:9: error: (VI_1) virtual address 2001:db8::10 is IPv6, but the instance is IPv4"
        )),
        "{err}"
    );
}

#[test]
fn check_points_at_the_unicast_peer_entries() {
    let p = tmp(
        "peers.conf",
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    unicast_src_ip 192.0.2.1\n    unicast_peer {\n        192.0.2.2\n        2001:db8::2\n        192.0.2.1\n    }\n    virtual_ipaddress {\n        192.0.2.10\n    }\n}\n",
    );
    let o = vrrpd(&["check", "-f", &p]);
    assert_eq!(o.status.code(), Some(4));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!(
            "{p}:7:9: error: (VI_1) unicast peer 2001:db8::2 is not IPv4"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{p}:8:9: warning: (VI_1) unicast peer 192.0.2.1 is this node's own unicast_src_ip"
        )),
        "{err}"
    );
}
