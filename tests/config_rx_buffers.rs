//! `kernel_rx_buf_size`, `vrrp_rx_bufs_policy`, `vrrp_rx_bufs_multiplier`:
//! keepalived's grammar and conflict rules, each bad value located; the
//! TOML says the same.

use vrrpd::config::{load_str, Diagnostic, LoadOptions, RxBufsPolicy, Severity, Syntax};

fn load(global: &str, inst: &str) -> vrrpd::config::Loaded {
    let text = format!(
        "global_defs {{\n{global}\n}}\nvrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n{inst}\n virtual_ipaddress {{\n  192.0.2.10\n }}\n}}\n"
    );
    load_str("/etc/k.conf", &text, &LoadOptions::default())
}

fn warnings(d: &[Diagnostic]) -> Vec<(u32, u32, String)> {
    d.iter()
        .filter(|d| d.severity == Severity::Warning)
        .map(|d| (d.line, d.col, d.message.clone()))
        .collect()
}

#[test]
fn policies_sizes_and_the_multiplier_are_read() {
    let l = load(
        " vrrp_rx_bufs_policy mtu\n vrrp_rx_bufs_multiplier 10",
        " kernel_rx_buf_size 65536",
    );
    assert!(l.diagnostics.is_empty(), "{:#?}", l.diagnostics);
    let g = &l.config.global;
    assert_eq!(g.rx_bufs_policy, Some(RxBufsPolicy::Mtu));
    assert_eq!(g.rx_bufs_multiplier, 10);
    assert_eq!(l.config.instances[0].kernel_rx_buf_size, Some(65536));
    let l = load(" vrrp_rx_bufs_policy ADVERT", "");
    assert_eq!(l.config.global.rx_bufs_policy, Some(RxBufsPolicy::Advert));
    assert_eq!(
        l.config.global.rx_bufs_multiplier, 3,
        "keepalived's default"
    );
    let l = load(" vrrp_rx_bufs_policy 100000", " kernel_rx_buf_size 0");
    assert_eq!(
        l.config.global.rx_bufs_policy,
        Some(RxBufsPolicy::Size(100000))
    );
    assert_eq!(l.config.instances[0].kernel_rx_buf_size, None, "0 is unset");
}

#[test]
fn conflicts_keep_what_keepalived_keeps_with_its_warning() {
    let l = load(" vrrp_rx_bufs_policy MTU 5000", "");
    assert_eq!(
        l.config.global.rx_bufs_policy,
        Some(RxBufsPolicy::Size(5000))
    );
    let w = warnings(&l.diagnostics);
    assert!(
        w.iter()
            .any(|(l, c, m)| (*l, *c) == (2, 2) && m.contains("ignoring policy")),
        "{w:?}"
    );
    let l = load(" vrrp_rx_bufs_policy MTU ADVERT", "");
    assert_eq!(l.config.global.rx_bufs_policy, Some(RxBufsPolicy::Mtu));
    assert!(warnings(&l.diagnostics)[0].2.contains("ignoring ADVERT"));
}

#[test]
fn bad_values_are_located_and_lose_nothing_else() {
    let l = load(
        " vrrp_rx_bufs_policy lots\n vrrp_rx_bufs_multiplier 0",
        " kernel_rx_buf_size -1\n priority 150",
    );
    let w = warnings(&l.diagnostics);
    let at: Vec<(u32, u32)> = w.iter().map(|(l, c, _)| (*l, *c)).collect();
    assert_eq!(at, [(2, 22), (3, 26), (8, 21)], "{w:?}");
    assert_eq!(l.config.global.rx_bufs_policy, None);
    assert_eq!(l.config.global.rx_bufs_multiplier, 3);
    assert_eq!(l.config.instances[0].kernel_rx_buf_size, None);
    assert_eq!(l.config.instances[0].priority.get(), 150);
    let l = load(" vrrp_rx_bufs_policy", "");
    assert!(warnings(&l.diagnostics)[0]
        .2
        .contains("vrrp_rx_bufs_policy missing"));
}

#[test]
fn toml_says_the_same() {
    let text = "[global]\nrx_bufs_policy = { size = 4096 }\nrx_bufs_multiplier = 5\n\n[[instance]]\nname = \"VI_1\"\ninterface = \"eth0\"\nvrid = 51\nkernel_rx_buf_size = 65536\n\n[[instance.vips]]\naddr = \"192.0.2.10\"\nprefix = 32\n";
    let opts = LoadOptions {
        syntax: Syntax::Toml,
        ..LoadOptions::default()
    };
    let l = load_str("/etc/vrrpd.toml", text, &opts);
    assert!(!l.has_errors(), "{:#?}", l.diagnostics);
    assert_eq!(
        l.config.global.rx_bufs_policy,
        Some(RxBufsPolicy::Size(4096))
    );
    assert_eq!(l.config.global.rx_bufs_multiplier, 5);
    assert_eq!(l.config.instances[0].kernel_rx_buf_size, Some(65536));
    let l = load_str(
        "/etc/vrrpd.toml",
        &text.replace("{ size = 4096 }", "\"mtu\""),
        &opts,
    );
    assert_eq!(l.config.global.rx_bufs_policy, Some(RxBufsPolicy::Mtu));
}
