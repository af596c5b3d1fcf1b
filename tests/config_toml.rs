//! The TOML front end: strict, and convert-then-load gives the same model.

use std::path::PathBuf;

use vrrpd::config::{diff, load, load_str, to_toml, FsSource, LoadOptions, Severity, Syntax};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn convert_then_load_gives_the_same_model() {
    let mut n = 0;
    for dir in ["conf/keepalived", "conf/samples", "conf/diff"] {
        for e in std::fs::read_dir(root().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "md") {
                continue;
            }
            for id in [None, Some("high")] {
                let opts = LoadOptions {
                    config_id: id.map(str::to_string),
                    ..LoadOptions::default()
                };
                let a = load(&p, &FsSource, &opts);
                assert!(!a.has_errors(), "{}", p.display());
                let text = to_toml(&a.config).unwrap();
                let b = load_str("/converted.toml", &text, &LoadOptions::default());
                assert_eq!(b.syntax, Syntax::Toml);
                assert!(
                    b.diagnostics.is_empty(),
                    "{}: {:#?}\n{text}",
                    p.display(),
                    b.diagnostics
                );
                assert_eq!(a.config, b.config, "{}", p.display());
                assert!(diff(&a.config, &b.config).is_empty());
                n += 1;
            }
        }
    }
    assert!(n >= 32);
}

#[test]
fn shipped_toml_equals_the_seed_it_converts() {
    for n in [1, 2] {
        let k = load(
            &root().join(format!("conf/keepalived/loadbalancer{n}.conf")),
            &FsSource,
            &LoadOptions::default(),
        );
        let t = load(
            &root().join(format!("conf/toml/loadbalancer{n}.toml")),
            &FsSource,
            &LoadOptions::default(),
        );
        assert!(t.diagnostics.is_empty(), "{:#?}", t.diagnostics);
        assert_eq!(k.config, t.config);
    }
}

#[test]
fn unknown_keys_are_errors_with_location() {
    let text = "[[instance]]\nname = \"a\"\ninterface = \"eth0\"\nvrid = 5\nprority = 3\n";
    let l = load_str("/a.toml", text, &LoadOptions::default());
    let d = &l.diagnostics[0];
    assert_eq!((d.line, d.col, d.severity), (5, 1, Severity::Error));
    assert!(
        d.message.contains("unknown field `prority`"),
        "{}",
        d.message
    );
}

#[test]
fn bad_values_are_errors_not_defaults() {
    let base = "[[instance]]\nname = \"a\"\ninterface = \"eth0\"\nvrid = 5\n";
    for (extra, needle) in [
        ("vrid = 0\n", "duplicate key"),
        ("priority = 300\n", "300"),
        ("auth_pass = \"passwordgoeshere\"\n", "at most 8"),
        ("advert_int = 0.005\n", "multiple of 0.01"),
        ("advert_int = 1.5\n", "VRRPv2 advert interval"),
        ("version = 3\nadvert_int = 41\n", "VRRPv3 advert interval"),
        ("version = \"V3\"\n", "invalid type"),
        ("version = 4\n", "version must be 2 or 3"),
        ("family = \"inet\"\n", "family must be"),
        ("unicast_src = \"192.0.2.300\"\n", "invalid IP address"),
    ] {
        let l = load_str(
            "/a.toml",
            &format!("{base}{extra}"),
            &LoadOptions::default(),
        );
        assert!(l.has_errors(), "{extra}");
        assert!(
            l.diagnostics.iter().any(|d| d.message.contains(needle)),
            "{extra}: {:#?}",
            l.diagnostics
        );
    }
    let l = load_str(
        "/a.toml",
        &base.replace("vrid = 5", "vrid = 0"),
        &LoadOptions::default(),
    );
    assert!(l.has_errors());
}

#[test]
fn cross_checks_locate_the_toml_line() {
    let one = "[[instance]]\nname = \"a\"\ninterface = \"eth0\"\nvrid = 5\n[[instance.vips]]\naddr = \"192.0.2.1\"\nprefix = 32\n";
    let two = one.replace("\"a\"", "\"b\"");
    let l = load_str("/a.toml", &format!("{one}{two}"), &LoadOptions::default());
    let d = l
        .diagnostics
        .iter()
        .find(|d| d.message.contains("already used"))
        .unwrap();
    assert_eq!((d.line, d.col), (11, 1));
    let bad = one.replace(
        "[[instance.vips]]",
        "[[instance.track_scripts]]\nname = \"nope\"\n[[instance.vips]]",
    );
    let l = load_str("/a.toml", &bad, &LoadOptions::default());
    assert!(l
        .diagnostics
        .iter()
        .any(|d| d.message.contains("track_script 'nope' is not defined")));
}

#[test]
fn diff_uses_keepalived_identity() {
    let k = |prio: u8, vrid: u8, iface: &str, extra_vip: bool| {
        let vips = if extra_vip {
            "192.0.2.10\n192.0.2.11"
        } else {
            "192.0.2.10"
        };
        let text = format!(
            "vrrp_instance VI_1 {{\n interface {iface}\n virtual_router_id {vrid}\n priority {prio}\n virtual_ipaddress {{\n{vips}\n}}\n}}\n\
             vrrp_instance VI_2 {{\n interface eth0\n virtual_router_id 9\n virtual_ipaddress {{\n192.0.2.50\n}}\n}}\n"
        );
        load_str("/k.conf", &text, &LoadOptions::default()).config
    };
    let old = k(100, 1, "eth0", false);
    assert!(diff(&old, &old).is_empty());
    let p = diff(&old, &k(150, 1, "eth0", true));
    assert_eq!(p.changed.len(), 1);
    assert_eq!(p.changed[0].fields, ["priority", "vips"]);
    assert_eq!(p.unchanged, ["VI_2"]);
    // A VRID or interface change is a different instance: remove + add.
    let p = diff(&old, &k(100, 2, "eth0", false));
    assert_eq!(
        (p.removed.as_slice(), p.added.as_slice()),
        (&["VI_1".to_string()][..], &["VI_1".to_string()][..])
    );
    let p = diff(&old, &k(100, 1, "eth1", false));
    assert_eq!(p.removed, ["VI_1"]);
    // Renaming alone keeps the identity, as keepalived matches on the tuple.
    let mut renamed = old.clone();
    std::sync::Arc::make_mut(&mut renamed.instances[0]).name = "web".into();
    let p = diff(&old, &renamed);
    assert_eq!(p.changed[0].fields, ["name"]);
    assert!(p.added.is_empty());
    // Unicast vs multicast differ in identity.
    let mut uni = old.clone();
    std::sync::Arc::make_mut(&mut uni.instances[0])
        .unicast_peers
        .push(vrrpd::config::UnicastPeer {
            addr: "192.0.2.2".parse().unwrap(),
            min_ttl: None,
            max_ttl: None,
        });
    assert_eq!(diff(&old, &uni).removed, ["VI_1"]);
    let mut g = old.clone();
    g.global.router_id = Some("x".into());
    assert_eq!(diff(&old, &g).sections_changed, ["global"]);
}

#[test]
fn toml_diagnostics_about_one_entry_point_at_its_table() {
    let text = r#"[[instance]]
name = "VI_1"
vrid = 51
interface = "eth0"
unicast_src = "192.0.2.1"

[[instance.vips]]
addr = "192.0.2.10"
prefix = 32

[[instance.vips]]
addr = "2001:db8::10"
prefix = 128

[[instance.unicast_peers]]
addr = "192.0.2.2"

[[instance.unicast_peers]]
addr = "192.0.2.1"
"#;
    let l = load_str("/v.toml", text, &LoadOptions::default());
    let at = |needle: &str| {
        let d = l
            .diagnostics
            .iter()
            .find(|d| d.message.contains(needle))
            .unwrap_or_else(|| panic!("'{needle}' in {:#?}", l.diagnostics));
        (d.line, d.col, d.severity)
    };
    assert_eq!(at("virtual address 2001:db8::10"), (11, 1, Severity::Error));
    assert_eq!(at("own unicast_src_ip"), (18, 1, Severity::Warning));
}
