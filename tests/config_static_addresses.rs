//! `static_ipaddress` (keepalived top-level block): parsed with the
//! `virtual_ipaddress` grammar, `dev` defaulting to keepalived's default
//! interface, each bad entry located; the TOML `[[static_address]]` says
//! the same and must name its interface.

#[path = "common/config.rs"]
mod common_config;
use std::path::Path;

use vrrpd::config::{load, Diagnostic, LoadOptions, MemSource, Scope, Severity};

fn load_text(text: &str) -> vrrpd::config::Loaded {
    let src = MemSource::new().with("/etc/k.conf", text.as_bytes());
    load(Path::new("/etc/k.conf"), &src, &LoadOptions::default())
}

const INSTANCE: &str = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {\n  192.0.2.10\n }\n}\n";

fn at(d: &[Diagnostic], severity: Severity) -> Vec<(u32, u32, String)> {
    d.iter()
        .filter(|d| d.severity == severity)
        .map(|d| (d.line, d.col, d.message.clone()))
        .collect()
}

#[test]
fn entries_take_the_address_grammar_and_the_default_interface() {
    let text = format!(
        "static_ipaddress {{\n    203.0.113.16/24 dev eth1 scope link label eth1:st\n    2001:db8::16/64\n    bogus dev eth0\n}}\n{INSTANCE}"
    );
    let loaded = load_text(&text);
    let c = &loaded.config;
    assert_eq!(c.static_addresses.len(), 2, "{:#?}", loaded.diagnostics);
    let a = &c.static_addresses[0];
    assert_eq!((a.prefix, a.dev.as_deref()), (24, Some("eth1")));
    assert_eq!(a.scope, Some(Scope::Link));
    assert_eq!(a.label.as_deref(), Some("eth1:st"));
    // No `dev`: keepalived's default interface, eth0 without `default_interface`.
    assert_eq!(c.static_addresses[1].dev.as_deref(), Some("eth0"));
    let e = at(&loaded.diagnostics, Severity::Error);
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!((e[0].0, e[0].1), (4, 5), "{e:?}");
    assert!(
        !loaded
            .diagnostics
            .iter()
            .any(|d| d.message.contains("does not implement")),
        "{:#?}",
        loaded.diagnostics
    );
    // The rest of the file is not lost.
    assert_eq!(c.instances.len(), 1);
}

#[test]
fn default_interface_is_used_and_use_vmac_is_refused_with_its_line() {
    let text = format!(
        "global_defs {{\n default_interface bond0\n}}\nstatic_ipaddress {{\n 203.0.113.16\n 203.0.113.17 use_vmac\n}}\n{INSTANCE}"
    );
    let loaded = load_text(&text);
    let c = &loaded.config;
    assert_eq!(c.static_addresses[0].dev.as_deref(), Some("bond0"));
    assert!(!c.static_addresses[1].use_vmac);
    let w = at(&loaded.diagnostics, Severity::Warning);
    assert!(
        w.iter().any(|(l, _, m)| *l == 6 && m.contains("use_vmac")),
        "{w:?}"
    );
}

#[test]
fn the_keepalived_sample_loads_its_three_static_addresses() {
    let loaded = load(
        Path::new("conf/samples/keepalived.conf.vrrp.static_ipaddress"),
        &vrrpd::config::FsSource,
        &LoadOptions::default(),
    );
    assert!(!loaded.has_errors(), "{:#?}", loaded.diagnostics);
    let devs: Vec<_> = loaded
        .config
        .static_addresses
        .iter()
        .map(|a| a.dev.clone().unwrap_or_default())
        .collect();
    assert_eq!(devs, ["eth0", "eth1", "eth2"]);
}

use common_config::toml;

const TOML_INSTANCE: &str = "[[instance]]\nname = \"VI_1\"\ninterface = \"eth0\"\nvrid = 51\n\n[[instance.vips]]\naddr = \"192.0.2.10\"\nprefix = 32\n";

#[test]
fn toml_static_addresses_are_tables_and_need_dev() {
    let good = format!(
        "{TOML_INSTANCE}\n[[static_address]]\naddr = \"203.0.113.16\"\nprefix = 24\ndev = \"eth1\"\n"
    );
    let loaded = toml(&good);
    assert!(!loaded.has_errors(), "{:#?}", loaded.diagnostics);
    assert_eq!(loaded.config.static_addresses[0].prefix, 24);

    let bad = format!(
        "{TOML_INSTANCE}\n[[static_address]]\naddr = \"203.0.113.16\"\nprefix = 24\n\n[[static_address]]\naddr = \"203.0.113.17\"\nprefix = 32\n"
    );
    let loaded = toml(&bad);
    let e = at(&loaded.diagnostics, Severity::Error);
    // Both located at their own table.
    assert_eq!(
        e.iter().map(|(l, c, _)| (*l, *c)).collect::<Vec<_>>(),
        [(10, 1), (14, 1)],
        "{e:?}"
    );
    assert!(e[0].2.contains("'dev' is required"), "{e:?}");
}
