//! `metrics_listen` and the dump locations, from both front ends: good
//! values land in the model, bad ones are errors at file:line:col.

use vrrpd::config::{load_str, LoadOptions};

const INSTANCE: &str =
    "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 7\n virtual_ipaddress {\n  192.0.2.30\n }\n}\n";

fn keepalived(globals: &str) -> vrrpd::config::Loaded {
    let text = format!("global_defs {{\n{globals}}}\n{INSTANCE}");
    load_str("k.conf", &text, &LoadOptions::default())
}

fn errors(loaded: &vrrpd::config::Loaded) -> Vec<String> {
    loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == vrrpd::config::Severity::Error)
        .map(ToString::to_string)
        .collect()
}

#[test]
fn metrics_listen_and_dump_paths_from_keepalived_conf() {
    let loaded = keepalived(
        "  metrics_listen [::1]:9650\n  state_file_location /run/vrrpd/\n  stats_file_location /var/tmp/ka.stats\n  json_file_location /run/ka.json\n",
    );
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let g = &loaded.config.global;
    assert_eq!(g.metrics_listen, Some("[::1]:9650".parse().unwrap()));
    assert_eq!(
        g.state_file_location.as_deref(),
        Some("/run/vrrpd/".as_ref())
    );
    assert_eq!(
        g.stats_file_location.as_deref(),
        Some("/var/tmp/ka.stats".as_ref())
    );
    assert_eq!(
        g.json_file_location.as_deref(),
        Some("/run/ka.json".as_ref())
    );
    // Off by default.
    let plain = keepalived("  router_id x\n");
    assert_eq!(plain.config.global.metrics_listen, None);
}

#[test]
fn a_bad_metrics_listen_is_an_error_at_its_token() {
    let loaded = keepalived("  router_id x\n  metrics_listen 127.0.0.1\n");
    assert!(loaded.has_errors());
    let errs = errors(&loaded);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with("k.conf:3:18: error: 'metrics_listen' expects ADDRESS:PORT"),
        "{errs:?}"
    );
    for bad in [
        "  metrics_listen\n",
        "  metrics_listen localhost:9650\n",
        "  metrics_listen 127.0.0.1:99999\n",
        "  metrics_listen 127.0.0.1:9650 extra\n",
    ] {
        let loaded = keepalived(bad);
        assert!(loaded.has_errors(), "{bad:?} accepted");
        assert_eq!(loaded.config.global.metrics_listen, None, "{bad:?}");
    }
}

#[test]
fn a_relative_dump_path_is_an_error() {
    let loaded = keepalived("  json_file_location keepalived.json\n");
    let errs = errors(&loaded);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with("k.conf:2:22: error: 'json_file_location' expected an absolute path"),
        "{errs:?}"
    );
}

#[test]
fn toml_equivalent_and_its_errors() {
    let ok = "[global]\nmetrics_listen = \"127.0.0.1:9650\"\njson_file_location = \"/run/vrrpd/\"\n\n[[instance]]\nname = \"VI_1\"\ninterface = \"eth0\"\nvrid = 7\n\n[[instance.vips]]\naddr = \"192.0.2.30\"\nprefix = 32\n";
    let loaded = load_str("v.toml", ok, &LoadOptions::default());
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    assert_eq!(
        loaded.config.global.metrics_listen,
        Some("127.0.0.1:9650".parse().unwrap())
    );
    assert_eq!(
        loaded.config.global.json_file_location.as_deref(),
        Some("/run/vrrpd/".as_ref())
    );

    let bad = ok.replace("127.0.0.1:9650", "127.0.0.1");
    let loaded = load_str("v.toml", &bad, &LoadOptions::default());
    let errs = errors(&loaded);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].starts_with("v.toml:2:18: error:"), "{errs:?}");

    let rel = ok.replace("/run/vrrpd/", "dumps/");
    let loaded = load_str("v.toml", &rel, &LoadOptions::default());
    let errs = errors(&loaded);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].starts_with("v.toml:3:22: error:"), "{errs:?}");
    assert!(errs[0].contains("absolute path"), "{errs:?}");
}

#[test]
fn the_model_round_trips_through_toml() {
    let loaded = keepalived("  metrics_listen 127.0.0.1:9650\n  stats_file_location /run/s\n");
    let text = toml::to_string(&loaded.config).unwrap();
    let back: vrrpd::config::Config = toml::from_str(&text).unwrap();
    assert_eq!(back, loaded.config);
}
