//! `auth_hmac { ... }` in keepalived.conf and TOML: every sub-keyword, the
//! key forms (`hex:`, text, `file:`), the defaults, and each bad value as a
//! located error. Key material never shows in Debug, dumps or TOML.

#[path = "common/config.rs"]
mod common_config;
use common_config::only_diagnostic;
use std::path::Path;
use vrrpd::config::auth_hmac::AntiReplayKind;
use vrrpd::config::{load, load_str, to_toml, LoadOptions, Loaded, MemSource, Severity, Syntax};
use vrrpd::proto::auth_hmac::{AntiReplay, Mode};

const HEX: &str = "hex:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const TEXT: &str = "thirty-two bytes of passphrase!!";

fn keepalived(block: &str) -> Loaded {
    keepalived_with(block, " advert_int 1", MemSource::new())
}

fn keepalived_with(block: &str, extra: &str, src: MemSource) -> Loaded {
    let text = format!(
        "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n version 3\n{extra}\n auth_hmac {{\n{block}\n }}\n virtual_ipaddress {{\n  192.0.2.10\n }}\n}}\n"
    );
    let src = src.with("/etc/k.conf", text);
    load(Path::new("/etc/k.conf"), &src, &LoadOptions::default())
}

fn errors(l: &Loaded) -> Vec<(u32, u32, String)> {
    l.diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| (d.line, d.col, d.message.clone()))
        .collect()
}

#[test]
fn every_sub_keyword_is_read() {
    let l = keepalived(&format!(
        "  key 1 {HEX}\n  key 2 \"{TEXT}\"\n  active_key 2\n  anti_replay monotonic\n  time_window 7\n  mode permissive"
    ));
    assert!(errors(&l).is_empty(), "{:#?}", l.diagnostics);
    let a = l.config.instances[0].auth_hmac.as_ref().unwrap();
    assert_eq!(a.keys.len(), 2);
    assert_eq!(
        a.keys[0].value.bytes(),
        (0u8..32).collect::<Vec<_>>().as_slice()
    );
    assert_eq!(a.keys[1].value.bytes(), TEXT.as_bytes());
    assert_eq!(a.active_key, 2);
    assert_eq!(a.anti_replay, AntiReplayKind::Monotonic);
    assert_eq!(a.time_window, Some(7));
    assert_eq!(a.mode, Mode::Permissive);
}

#[test]
fn defaults_are_enforce_time_and_the_derived_window() {
    let l = keepalived(&format!("  key 1 {HEX}\n  active_key 1"));
    assert!(errors(&l).is_empty(), "{:#?}", l.diagnostics);
    let i = &l.config.instances[0];
    let a = i.auth_hmac.as_ref().unwrap();
    assert_eq!(a.mode, Mode::Enforce);
    assert_eq!(a.anti_replay(i.advert_int), AntiReplay::Time { window: 5 });
    let slow = keepalived_with(
        &format!("  key 1 {HEX}\n  active_key 1"),
        " advert_int 4",
        MemSource::new(),
    );
    let i = &slow.config.instances[0];
    assert_eq!(
        i.auth_hmac.as_ref().unwrap().anti_replay(i.advert_int),
        AntiReplay::Time { window: 12 }
    );
}

#[test]
fn a_file_key_is_read_with_its_line_end_dropped() {
    let src = MemSource::new().with("/etc/keys/k1", format!("{HEX}\n"));
    let l = keepalived_with("  key 1 file:/etc/keys/k1\n  active_key 1", "", src);
    assert!(errors(&l).is_empty(), "{:#?}", l.diagnostics);
    let a = l.config.instances[0].auth_hmac.as_ref().unwrap();
    assert_eq!(a.keys[0].value.bytes().len(), 32);
}

#[test]
fn a_key_file_others_can_read_is_a_located_warning() {
    let open = MemSource::new()
        .with("/etc/keys/k1", format!("{HEX}\n"))
        .with_mode("/etc/keys/k1", 0o644);
    let l = keepalived_with("  key 1 file:/etc/keys/k1\n  active_key 1", "", open);
    let w = only_diagnostic(&l, "is readable by group or others");
    assert_eq!((w.line, w.col, w.severity), (7, 9, Severity::Warning));
    assert!(l.config.instances[0].auth_hmac.is_some(), "still used");
    let private = MemSource::new()
        .with("/etc/keys/k1", format!("{HEX}\n"))
        .with_mode("/etc/keys/k1", 0o600);
    let l = keepalived_with("  key 1 file:/etc/keys/k1\n  active_key 1", "", private);
    assert!(
        !l.diagnostics
            .iter()
            .any(|d| d.message.contains("readable by group")),
        "{:#?}",
        l.diagnostics
    );
}

#[test]
fn a_missing_key_file_is_a_located_error() {
    let l = keepalived_with("  key 1 file:/nope\n  active_key 1", "", MemSource::new());
    let e = errors(&l);
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!((e[0].0, e[0].1), (7, 9), "{e:?}");
    assert!(e[0].2.contains("cannot be read"), "{e:?}");
}

#[test]
fn a_short_key_is_a_located_error() {
    let l = keepalived("  key 1 hex:0011\n  active_key 1");
    let e = only_diagnostic(&l, "length 2 not in range [32, 64]");
    assert_eq!((e.line, e.col, e.severity), (7, 9, Severity::Error));
}

#[test]
fn a_long_key_is_a_located_error() {
    let long = "k".repeat(65);
    let l = keepalived(&format!("  key 1 {long}\n  active_key 1"));
    let e = only_diagnostic(&l, "length 65");
    assert_eq!((e.line, e.col, e.severity), (7, 9, Severity::Error));
}

#[test]
fn bad_hex_is_a_located_error() {
    let l = keepalived("  key 1 hex:zz\n  active_key 1");
    let e = only_diagnostic(&l, "non-hex digit");
    assert_eq!((e.line, e.col, e.severity), (7, 9, Severity::Error));
}

#[test]
fn key_ids_are_1_to_255_and_unique() {
    for bad in ["0", "256", "x"] {
        let l = keepalived(&format!("  key {bad} {HEX}\n  key 1 {HEX}\n  active_key 1"));
        let e = only_diagnostic(&l, "must be between 1 and 255");
        assert_eq!(
            (e.line, e.col, e.severity),
            (7, 7, Severity::Error),
            "{bad}"
        );
    }
    let l = keepalived(&format!("  key 1 {HEX}\n  key 1 {HEX}\n  active_key 1"));
    let e = only_diagnostic(&l, "duplicate auth_hmac key id 1");
    assert_eq!((e.line, e.col), (8, 7));
}

#[test]
fn an_undefined_active_key_is_an_error_not_an_unauthenticated_instance() {
    let l = keepalived(&format!("  key 1 {HEX}\n  active_key 2"));
    let e = only_diagnostic(&l, "active_key 2 is not defined");
    assert_eq!((e.line, e.severity), (6, Severity::Error));
    let l = keepalived(&format!("  key 1 {HEX}"));
    only_diagnostic(&l, "active_key 0 is not defined");
}

#[test]
fn bad_window_anti_replay_and_mode_are_located_errors() {
    let base = format!("  key 1 {HEX}\n  active_key 1\n");
    for (line, needle) in [
        (
            "  time_window 301",
            "time_window '301' must be between 1 and 300",
        ),
        ("  time_window 0", "time_window '0'"),
        (
            "  anti_replay sometimes",
            "anti_replay 'sometimes' must be time or monotonic",
        ),
        (
            "  mode strict",
            "mode 'strict' must be enforce, permissive or receive-only",
        ),
    ] {
        let l = keepalived(&format!("{base}{line}"));
        let e = only_diagnostic(&l, needle);
        assert_eq!((e.line, e.severity), (9, Severity::Error), "{line}");
    }
}

#[test]
fn authentication_and_auth_hmac_exclude_each_other() {
    let text = format!(
        "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n authentication {{\n  auth_type PASS\n  auth_pass secret\n }}\n auth_hmac {{\n  key 1 {HEX}\n  active_key 1\n }}\n virtual_ipaddress {{\n  192.0.2.10\n }}\n}}\n"
    );
    let l = load_str("/k.conf", &text, &LoadOptions::default());
    let e = only_diagnostic(&l, "auth_hmac cannot be combined with authentication");
    assert_eq!((e.line, e.severity), (8, Severity::Error));
}

#[test]
fn strict_mode_forces_enforce() {
    let l = keepalived_with(
        &format!("  key 1 {HEX}\n  active_key 1\n  mode permissive"),
        " strict_mode on",
        MemSource::new(),
    );
    only_diagnostic(&l, "strict mode requires auth_hmac mode enforce");
    assert_eq!(
        l.config.instances[0].auth_hmac.as_ref().unwrap().mode,
        Mode::Enforce
    );
}

#[test]
fn key_material_shows_nowhere() {
    let l = keepalived(&format!(
        "  key 1 {HEX}\n  key 2 \"{TEXT}\"\n  active_key 1"
    ));
    let debug = format!("{:?}", l.config);
    let toml = to_toml(&l.config).unwrap();
    let json = serde_json::to_string(&l.config).unwrap();
    for shown in [&debug, &toml, &json] {
        assert!(!shown.contains("000102030405"), "{shown}");
        assert!(!shown.contains("passphrase"), "{shown}");
        assert!(shown.contains("sha256:"), "{shown}");
    }
}

fn toml(text: &str, src: MemSource) -> Loaded {
    let opts = LoadOptions {
        syntax: Syntax::Toml,
        ..LoadOptions::default()
    };
    let src = src.with("/etc/vrrpd.toml", text);
    load(Path::new("/etc/vrrpd.toml"), &src, &opts)
}

const TOML_HEAD: &str = "[[instance]]\nname = \"VI_1\"\ninterface = \"eth0\"\nvrid = 51\nversion = 3\nadvert_int = 0.1\nvips = [{ addr = \"192.0.2.10\", prefix = 32 }]\n";

#[test]
fn toml_reads_the_same_model() {
    let src = MemSource::new().with("/k2", TEXT);
    let l = toml(
        &format!("{TOML_HEAD}[instance.auth_hmac]\nkeys = [{{ id = 1, value = \"{HEX}\" }}, {{ id = 2, value = \"file:/k2\" }}]\nactive_key = 2\nmode = \"receive-only\"\n"),
        src,
    );
    assert!(errors(&l).is_empty(), "{:#?}", l.diagnostics);
    let i = &l.config.instances[0];
    let a = i.auth_hmac.as_ref().unwrap();
    assert_eq!(a.keys[1].value.bytes(), TEXT.as_bytes());
    assert_eq!(a.mode, Mode::ReceiveOnly);
    assert_eq!(a.anti_replay(i.advert_int), AntiReplay::Time { window: 5 });
    // A file key converts back to its path, never its bytes.
    let out = to_toml(&l.config).unwrap();
    assert!(out.contains("file:/k2"), "{out}");
    assert!(!out.contains("passphrase"), "{out}");
}

#[test]
fn toml_bad_values_are_located_errors() {
    let l = toml(
        &format!("{TOML_HEAD}[instance.auth_hmac]\nkeys = [{{ id = 1, value = \"hex:00\" }}]\nactive_key = 1\n"),
        MemSource::new(),
    );
    let e = only_diagnostic(&l, "length 1 not in range");
    assert_eq!((e.line, e.severity), (8, Severity::Error));
    let l = toml(
        &format!("{TOML_HEAD}[instance.auth_hmac]\nkeys = [{{ id = 1, value = \"{HEX}\" }}]\nactive_key = 1\nmode = \"lax\"\n"),
        MemSource::new(),
    );
    let e = only_diagnostic(&l, "must be enforce, permissive or receive-only");
    assert_eq!((e.line, e.severity), (11, Severity::Error));
}
