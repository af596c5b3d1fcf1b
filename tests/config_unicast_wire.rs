//! Instance keywords that change unicast adverts on the wire:
//! `unicast_ttl` (and, below, `old_unicast_checksum`), in keepalived.conf
//! and TOML, each bad value located.

#[path = "common/config.rs"]
mod common_config;
use vrrpd::config::{load_str, Diagnostic, LoadOptions, Severity};

fn keepalived(body: &str) -> vrrpd::config::Loaded {
    let text = format!(
        "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n version 3\n{body}\n virtual_ipaddress {{\n  192.0.2.10\n }}\n}}\n"
    );
    load_str("/etc/k.conf", &text, &LoadOptions::default())
}

const UNICAST: &str = " unicast_src_ip 192.0.2.20\n unicast_peer {\n  192.0.2.21\n }";

fn at(d: &[Diagnostic], severity: Severity) -> Vec<(u32, u32, String)> {
    d.iter()
        .filter(|d| d.severity == severity)
        .map(|d| (d.line, d.col, d.message.clone()))
        .collect()
}

#[test]
fn unicast_ttl_is_read_for_a_unicast_instance() {
    let loaded = keepalived(&format!("{UNICAST}\n unicast_ttl 64"));
    assert!(loaded.diagnostics.is_empty(), "{:#?}", loaded.diagnostics);
    assert_eq!(loaded.config.instances[0].unicast_ttl, Some(64));
}

#[test]
fn unicast_ttl_out_of_range_is_a_located_warning_and_the_rest_stays() {
    let loaded = keepalived(&format!("{UNICAST}\n unicast_ttl 256"));
    let w = at(&loaded.diagnostics, Severity::Warning);
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!((w[0].0, w[0].1), (9, 14), "{w:?}");
    let i = &loaded.config.instances[0];
    assert_eq!(i.unicast_ttl, None);
    assert_eq!(i.unicast_peers.len(), 1);
}

#[test]
fn unicast_ttl_without_peers_is_reset_as_keepalived_does() {
    let loaded = keepalived(" unicast_ttl 10");
    let w = at(&loaded.diagnostics, Severity::Warning);
    assert!(
        w.iter().any(|(l, c, m)| (*l, *c) == (5, 2)
            && m.contains("Cannot use unicast_ttl without unicast peers")),
        "{w:?}"
    );
    assert_eq!(loaded.config.instances[0].unicast_ttl, None);
}

use common_config::toml;

const TOML: &str = "[[instance]]\nname = \"VI_1\"\ninterface = \"eth0\"\nvrid = 51\nversion = 3\nunicast_src = \"192.0.2.20\"\nEXTRA\n\n[[instance.vips]]\naddr = \"192.0.2.10\"\nprefix = 32\n";

#[test]
fn toml_unicast_ttl_needs_peers() {
    let good = TOML.replace(
        "EXTRA",
        "unicast_ttl = 64\nunicast_peers = [{ addr = \"192.0.2.21\" }]",
    );
    let loaded = toml(&good);
    assert!(!loaded.has_errors(), "{:#?}", loaded.diagnostics);
    assert_eq!(loaded.config.instances[0].unicast_ttl, Some(64));
    let loaded = toml(&TOML.replace("EXTRA", "unicast_ttl = 64"));
    let e = at(&loaded.diagnostics, Severity::Error);
    assert!(
        e.iter()
            .any(|(_, _, m)| m.contains("unicast_ttl applies to unicast instances only")),
        "{e:?}"
    );
    let loaded = toml(&TOML.replace("EXTRA", "unicast_ttl = 300"));
    assert!(loaded.has_errors(), "{:#?}", loaded.diagnostics);
}

#[test]
fn old_unicast_checksum_and_never_are_read_and_a_bad_mode_is_located() {
    use vrrpd::config::OldUnicastChecksum;
    let loaded = keepalived(&format!("{UNICAST}\n old_unicast_checksum"));
    assert!(loaded.diagnostics.is_empty(), "{:#?}", loaded.diagnostics);
    assert_eq!(
        loaded.config.instances[0].old_unicast_checksum,
        OldUnicastChecksum::Always
    );
    let loaded = keepalived(&format!("{UNICAST}\n old_unicast_checksum never"));
    assert_eq!(
        loaded.config.instances[0].old_unicast_checksum,
        OldUnicastChecksum::Never
    );
    let loaded = keepalived(&format!("{UNICAST}\n old_unicast_checksum sometimes"));
    let w = at(&loaded.diagnostics, Severity::Warning);
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!((w[0].0, w[0].1), (9, 23), "{w:?}");
    assert!(w[0].2.contains("Unknown old_unicast_chksum mode sometimes"));
    assert_eq!(
        loaded.config.instances[0].old_unicast_checksum,
        OldUnicastChecksum::Auto
    );
}

#[test]
fn toml_old_unicast_checksum_takes_auto_never_always() {
    use vrrpd::config::OldUnicastChecksum;
    let peers = "unicast_peers = [{ addr = \"192.0.2.21\" }]";
    let loaded = toml(&TOML.replace(
        "EXTRA",
        &format!("old_unicast_checksum = \"always\"\n{peers}"),
    ));
    assert!(!loaded.has_errors(), "{:#?}", loaded.diagnostics);
    assert_eq!(
        loaded.config.instances[0].old_unicast_checksum,
        OldUnicastChecksum::Always
    );
    let loaded = toml(&TOML.replace(
        "EXTRA",
        &format!("old_unicast_checksum = \"sometimes\"\n{peers}"),
    ));
    assert!(loaded.has_errors(), "{:#?}", loaded.diagnostics);
}
