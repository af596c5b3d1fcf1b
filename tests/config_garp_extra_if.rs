//! `garp_extra_if` / `vrrp_garp_extra_if` (and their deprecated names
//! `vmac_garp_intvl` / `vrrp_vmac_garp_intvl`): keepalived's grammar,
//! defaults and messages, each located.

use vrrpd::config::{load_str, GarpExtraIf, LoadOptions, Severity, Syntax};

fn load(global: &str, inst: &str) -> vrrpd::config::Loaded {
    let text = format!(
        "global_defs {{\n{global}\n}}\nvrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n{inst}\n virtual_ipaddress {{\n  192.0.2.10\n }}\n}}\n"
    );
    load_str("/etc/k.conf", &text, &LoadOptions::default())
}

fn warnings(l: &vrrpd::config::Loaded) -> Vec<(u32, u32, String)> {
    l.diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .map(|d| (d.line, d.col, d.message.clone()))
        .collect()
}

fn of(l: &vrrpd::config::Loaded) -> Option<GarpExtraIf> {
    l.config.instances[0].garp_extra_if
}

#[test]
fn instance_and_global_forms() {
    let l = load("", " garp_extra_if all 30");
    assert!(l.diagnostics.is_empty(), "{:#?}", l.diagnostics);
    assert_eq!(
        of(&l),
        Some(GarpExtraIf {
            interval: 30,
            all: true
        })
    );
    let l = load(" vrrp_garp_extra_if 60", "");
    assert_eq!(
        of(&l),
        Some(GarpExtraIf {
            interval: 60,
            all: false
        })
    );
    // The instance's own wins, and 0 turns the global one off.
    let l = load(" vrrp_garp_extra_if all 60", " garp_extra_if 5");
    assert_eq!(
        of(&l),
        Some(GarpExtraIf {
            interval: 5,
            all: false
        })
    );
    let l = load(" vrrp_garp_extra_if all 60", " garp_extra_if 0");
    assert_eq!(of(&l), None);
}

#[test]
fn deprecated_names_work_with_keepalived_s_warning() {
    let l = load(" vrrp_vmac_garp_intvl 60", " vmac_garp_intvl all 10");
    assert_eq!(
        of(&l),
        Some(GarpExtraIf {
            interval: 10,
            all: true
        })
    );
    let w = warnings(&l);
    assert!(
        w.iter()
            .any(|(l, c, m)| (*l, *c) == (2, 2) && m.contains("please use \"vrrp_garp_extra_if\"")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|(l, c, m)| (*l, *c) == (7, 2) && m.contains("please use \"garp_extra_if\"")),
        "{w:?}"
    );
}

#[test]
fn bad_values_are_located_and_ignored() {
    let l = load(" vrrp_garp_extra_if 0", " garp_extra_if all\n priority 150");
    let w = warnings(&l);
    assert_eq!(
        w.iter().map(|(l, c, _)| (*l, *c)).collect::<Vec<_>>(),
        [(2, 21), (7, 2)],
        "{w:?}"
    );
    assert!(
        w[0].2.contains("vrrp_garp_extra_if '0' invalid - ignoring"),
        "{w:?}"
    );
    assert!(
        w[1].2
            .contains("(VI_1): garp_extra_if specified without time - ignoring"),
        "{w:?}"
    );
    assert_eq!(of(&l), None);
    assert_eq!(l.config.instances[0].priority.get(), 150);
    let l = load("", " garp_extra_if 86401");
    assert!(warnings(&l)[0].2.contains("'86401' invalid"));
}

#[test]
fn toml_has_it_per_instance() {
    let text = "[[instance]]\nname = \"VI_1\"\ninterface = \"eth0\"\nvrid = 51\ngarp_extra_if = { interval = 10, all = true }\n\n[[instance.vips]]\naddr = \"192.0.2.10\"\nprefix = 32\n";
    let opts = LoadOptions {
        syntax: Syntax::Toml,
        ..LoadOptions::default()
    };
    let l = load_str("/etc/vrrpd.toml", text, &opts);
    assert!(!l.has_errors(), "{:#?}", l.diagnostics);
    assert_eq!(
        of(&l),
        Some(GarpExtraIf {
            interval: 10,
            all: true
        })
    );
}
