//! `virtual_routes` / `virtual_rules` / `static_routes` / `static_rules`:
//! every keyword into the typed model, keepalived's defaults, and each bad
//! entry an error at its own line and column (keepalived.conf and TOML).

#[path = "common/config.rs"]
mod common_config;
use std::path::Path;

use vrrpd::config::{
    load, Config, Diagnostic, LoadOptions, MemSource, Prefix, Route, RouteMode, RouteType, Rule,
    RuleType, Scope, Severity,
};
use vrrpd::proto::Family;

fn instance_with(routes: &str, rules: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {{
        192.0.2.10
    }}
    virtual_routes {{
{routes}
    }}
    virtual_rules {{
{rules}
    }}
}}
"
    )
}

fn load_text(text: &str) -> (Config, Vec<Diagnostic>) {
    // iproute2's names, as a host would have them.
    let src = MemSource::new()
        .with("/etc/k.conf", text.as_bytes())
        .with(
            "/etc/iproute2/rt_tables",
            "255 local\n254 main\n253 default\n0 unspec\n100 vrrp\n",
        )
        .with("/etc/iproute2/rt_protos", "200 mine\n");
    let loaded = load(Path::new("/etc/k.conf"), &src, &LoadOptions::default());
    (loaded.config, loaded.diagnostics)
}

fn routes(lines: &str) -> (Vec<Route>, Vec<Diagnostic>) {
    let (c, d) = load_text(&instance_with(
        lines,
        "        from all table 100 priority 1",
    ));
    (
        c.instances
            .first()
            .map(|i| i.virtual_routes.clone())
            .unwrap_or_default(),
        d,
    )
}

fn rules(lines: &str) -> (Vec<Rule>, Vec<Diagnostic>) {
    let (c, d) = load_text(&instance_with("        192.0.2.0/24 dev eth0", lines));
    (
        c.instances
            .first()
            .map(|i| i.virtual_rules.clone())
            .unwrap_or_default(),
        d,
    )
}

fn errors(ds: &[Diagnostic]) -> Vec<&Diagnostic> {
    ds.iter()
        .filter(|d| d.severity == Severity::Error)
        .collect()
}

fn p(s: &str) -> Prefix {
    s.parse().unwrap()
}

#[test]
fn every_route_keyword_reaches_the_model() {
    let (r, d) = routes(
        "        src 192.0.2.10 198.51.100.0/24 via 192.0.2.1 dev eth0 table vrrp metric 10 scope link protocol mine tos 0x10 onlink add no_track\n        to unreachable 203.0.113.0/24 table 200 preference 5\n        inet6 default via inet6 fe80::1 dev eth0 append\n        2001:db8::/64 from 2001:db8:1::/64 dev eth1 proto static\n        192.0.2.128/25 nexthop via 192.0.2.1 dev eth0 weight 2 nexthop via 192.0.2.2 dev eth1 onlink\n        throw 198.51.100.128/25 oif eth0 priority 7 prepend",
    );
    assert!(errors(&d).is_empty(), "{d:#?}");
    assert_eq!(r.len(), 6);
    let a = &r[0];
    assert_eq!(a.to, p("198.51.100.0/24"));
    assert_eq!(a.src, Some("192.0.2.10".parse().unwrap()));
    assert_eq!(a.via, Some("192.0.2.1".parse().unwrap()));
    assert_eq!(a.dev.as_deref(), Some("eth0"));
    assert_eq!(a.table, 100, "named in rt_tables");
    assert_eq!(a.metric, Some(10));
    assert_eq!(a.scope, Some(Scope::Link));
    assert_eq!(
        a.protocol,
        Some(200),
        "named in rt_protos; no_track keeps it"
    );
    assert_eq!(a.tos, Some(16));
    assert!(a.onlink && a.no_track);
    assert_eq!(a.mode, RouteMode::Add);
    let b = &r[1];
    assert_eq!(
        (b.kind, b.table, b.metric),
        (RouteType::Unreachable, 200, Some(5))
    );
    assert!(b.no_track, "no dev: not tracked, as keepalived");
    let c = &r[2];
    assert_eq!(c.to, Prefix::any(Family::Ipv6));
    assert_eq!(c.via, Some("fe80::1".parse().unwrap()));
    assert_eq!(c.mode, RouteMode::Append);
    assert_eq!(c.protocol, Some(18), "tracked: keepalived's protocol");
    let e = &r[3];
    assert_eq!(e.from, Some(p("2001:db8:1::/64")));
    assert_eq!(
        e.protocol,
        Some(18),
        "a tracked route's protocol is reset to 18"
    );
    let f = &r[4];
    assert_eq!(f.nexthops.len(), 2);
    assert_eq!(f.nexthops[0].weight, Some(2));
    assert!(f.nexthops[1].onlink);
    assert_eq!(r[5].kind, RouteType::Throw);
    assert_eq!(r[5].metric, Some(7));
    assert!(d.iter().any(|d| d.message.contains("resetting protocol")));
}

#[test]
fn keepalived_legacy_route_forms_are_read() {
    let (r, d) = routes("        192.0.2.0/24 gw 192.0.2.1 dev eth0\n        192.0.2.128/25 via 192.0.2.1 or 192.0.2.2");
    assert!(errors(&d).is_empty(), "{d:#?}");
    assert_eq!(r[0].via, Some("192.0.2.1".parse().unwrap()));
    assert!(d
        .iter()
        .any(|d| d.message.contains("\"gw\" for routes is deprecated") && d.line == 8));
    assert_eq!(r[1].via, None);
    assert_eq!(r[1].nexthops.len(), 2);
}

#[test]
fn every_rule_keyword_reaches_the_model() {
    let (r, d) = rules(
        "        from 192.0.2.0/24 to 198.51.100.0/24 not tos 8 fwmark 0x10/0xff iif eth0 oif eth1 lookup vrrp priority 100 suppress_prefixlength 0\n        inet6 from 2001:db8::/64 type blackhole preference 101 no_track\n        to 203.0.113.0/24 goto 300 order 200\n        fwmark 7 nop priority 201 protocol 18\n        from all unreachable priority 202\n        inet6 prohibit priority 203",
    );
    assert!(errors(&d).is_empty(), "{d:#?}");
    assert_eq!(r.len(), 6);
    let a = &r[0];
    assert_eq!(a.from, Some(p("192.0.2.0/24")));
    assert_eq!(a.to, Some(p("198.51.100.0/24")));
    assert!(a.not);
    assert_eq!((a.tos, a.fwmark, a.fwmask), (Some(8), Some(16), Some(255)));
    assert_eq!(
        (a.iif.as_deref(), a.oif.as_deref()),
        (Some("eth0"), Some("eth1"))
    );
    assert_eq!((a.table, a.priority), (Some(100), 100));
    assert_eq!(a.suppress_prefixlength, Some(0));
    assert_eq!(a.protocol, Some(18));
    let b = &r[1];
    assert_eq!(
        (b.family, b.kind, b.priority),
        (Family::Ipv6, Some(RuleType::Blackhole), 101)
    );
    assert_eq!(b.protocol, None, "no_track: no protocol set");
    assert_eq!((r[2].goto, r[2].priority), (Some(300), 200));
    assert_eq!(r[3].kind, Some(RuleType::Nop));
    assert_eq!(r[4].from, None, "'from all' selects everything");
    assert_eq!(r[4].kind, Some(RuleType::Unreachable));
    assert_eq!(
        (r[5].family, r[5].kind),
        (Family::Ipv6, Some(RuleType::Prohibit))
    );
}

#[test]
fn a_rule_without_preference_gets_keepalived_s_with_a_located_warning() {
    let (r, d) =
        rules("        from 192.0.2.0/24 table 100\n        from 192.0.2.128/25 table 100");
    assert_eq!((r[0].priority, r[1].priority), (16384, 16383));
    let w: Vec<_> = d
        .iter()
        .filter(|d| d.message.contains("no preference"))
        .collect();
    assert_eq!(w.len(), 2);
    assert_eq!(
        (w[0].line, w[0].col, w[0].severity),
        (11, 9, Severity::Warning)
    );
}

/// (line, col, message part) of each error in `text`.
fn errors_at(text: &str) -> Vec<(u32, u32, String)> {
    let (_, d) = load_text(text);
    errors(&d)
        .into_iter()
        .map(|d| (d.line, d.col, d.message.clone()))
        .collect()
}

#[test]
fn each_bad_route_is_an_error_at_its_own_line_and_dropped() {
    let text = instance_with(
        "        198.51.100.0/24 via 192.0.2.1 dev eth0\n        198.51.100.0/24 via nonsense\n        198.51.100.0/24 via 2001:db8::1\n        198.51.100.0/24 table nosuch\n        198.51.100.0/24 mtu 1400\n        via 192.0.2.1\n        198.51.100.1/24 dev eth0\n        blackhole 192.0.2.0/24 via 192.0.2.1\n        198.51.100.0/24 scope galaxy\n        192.0.2.0/24 from 2001:db8::/64",
        "        from all table 100 priority 1",
    );
    let e = errors_at(&text);
    let lines: Vec<u32> = e.iter().map(|(l, _, _)| *l).collect();
    assert_eq!(lines, vec![9, 10, 11, 12, 13, 14, 15, 16, 17], "{e:#?}");
    // Columns point at the offending token where there is one.
    assert_eq!(
        (
            e[0].1,
            e[0].2.contains("invalid route via address 'nonsense'")
        ),
        (29, true),
        "{e:#?}"
    );
    assert_eq!(e[2].1, 31, "the table name");
    assert!(e[3].2.contains("'mtu' is not supported"));
    assert!(e[4].2.contains("must have a destination"));
    assert!(e[5].2.contains("bits set beyond its prefix"));
    let (c, _) = load_text(&text);
    assert!(c.instances.is_empty() || c.instances[0].virtual_routes.len() == 1);
}

#[test]
fn each_bad_rule_is_an_error_at_its_own_line() {
    let text = instance_with(
        "        192.0.2.0/24 dev eth0",
        "        from 192.0.2.0/24 table 100 priority 1\n        from 192.0.2.0/24 priority 2\n        from 192.0.2.0/24 table 100 blackhole priority 3\n        from 192.0.2.0/24 to 2001:db8::/64 table 100 priority 4\n        goto 10 priority 20\n        fwmark 1/x table 100 priority 5\n        table 0 priority 6\n        uidrange 1-2 table 100 priority 7\n        frobnicate table 100",
    );
    let e = errors_at(&text);
    let lines: Vec<u32> = e.iter().map(|(l, _, _)| *l).collect();
    assert_eq!(lines, vec![12, 13, 14, 15, 16, 17, 18, 19], "{e:#?}");
    assert!(e[0].2.contains("no action"));
    assert!(e[1].2.contains("more than one"));
    assert!(e[3].2.contains(">= goto target"));
}

#[test]
fn static_routes_and_rules_are_read_at_the_top_level() {
    let text = "static_routes {\n    192.0.2.0/24 dev eth0 table 100\n    bogus\n}\nstatic_rules {\n    from 192.0.2.0/24 table 100 priority 100\n}\n";
    let (c, d) = load_text(text);
    assert_eq!(c.static_routes.len(), 1);
    assert_eq!(c.static_rules.len(), 1);
    let e = errors(&d);
    assert_eq!((e[0].line, e[0].col), (3, 5), "{d:#?}");
    assert!(!d.iter().any(|d| d.message.contains("does not implement")));
}

#[test]
fn the_samples_with_routes_load_without_errors() {
    for f in [
        "conf/samples/keepalived.conf.vrrp.routes",
        "conf/samples/keepalived.conf.track_interface",
        "conf/samples/keepalived.conf.vrrp.static_ipaddress",
    ] {
        let loaded = load(
            Path::new(f),
            &vrrpd::config::FsSource,
            &LoadOptions::default(),
        );
        assert!(!loaded.has_errors(), "{f}: {:#?}", loaded.diagnostics);
        assert!(!loaded.config.instances[0].virtual_routes.is_empty());
    }
}

const TOML_GOOD: &str = r#"
[[instance]]
name = "VI_1"
interface = "eth0"
vrid = 51

[[instance.vips]]
addr = "192.0.2.10"
prefix = 32

[[instance.virtual_routes]]
to = "198.51.100.0/24"
via = "192.0.2.1"
dev = "eth0"
table = 100

[[instance.virtual_routes]]
to = "203.0.113.0/24"
type = "blackhole"

[[instance.virtual_rules]]
from = "192.0.2.0/24"
table = 100
priority = 100

[[static_route]]
to = "2001:db8::/64"
dev = "eth0"

[[static_rule]]
family = "ipv6"
type = "prohibit"
priority = 200
"#;

use common_config::toml;

#[test]
fn toml_routes_and_rules_are_typed_tables() {
    let loaded = toml(TOML_GOOD);
    assert!(!loaded.has_errors(), "{:#?}", loaded.diagnostics);
    let c = &loaded.config;
    let i = &c.instances[0];
    assert_eq!(i.virtual_routes[0].table, 100);
    assert_eq!(i.virtual_routes[1].kind, RouteType::Blackhole);
    assert_eq!(i.virtual_rules[0].table, Some(100));
    assert_eq!(c.static_routes[0].family(), Family::Ipv6);
    assert_eq!(c.static_rules[0].kind, Some(RuleType::Prohibit));
}

#[test]
fn toml_bad_entries_are_located_at_their_table() {
    let text = TOML_GOOD
        .replace(
            "to = \"203.0.113.0/24\"",
            "to = \"203.0.113.0/24\"\nvia = \"192.0.2.1\"",
        )
        .replace(
            "family = \"ipv6\"\ntype = \"prohibit\"",
            "family = \"ipv6\"",
        );
    let loaded = toml(&text);
    let e = errors(&loaded.diagnostics);
    assert_eq!(e.len(), 2, "{e:#?}");
    assert_eq!(
        (e[0].line, e[0].col),
        (17, 1),
        "the [[instance.virtual_routes]] line"
    );
    assert!(e[0].message.contains("takes no gateway"));
    assert_eq!(e[1].line, 31, "the [[static_rule]] line");
    assert!(e[1].message.contains("no action"));
    let bad = toml(&TOML_GOOD.replace("to = \"198.51.100.0/24\"", "to = \"nonsense\""));
    let e = errors(&bad.diagnostics);
    assert_eq!(e[0].line, 12, "{e:#?}");
}
