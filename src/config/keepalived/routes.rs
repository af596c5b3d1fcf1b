//! `virtual_routes` / `static_routes` and `virtual_rules` / `static_rules`
//! entries: keepalived 2.2.7's `alloc_route()` (`vrrp_iproute.c`) and
//! `alloc_rule()` (`vrrp_iprule.c`) keyword by keyword, into typed
//! [`Route`] / [`Rule`] values. Every mistake is an error at the token (or
//! the entry) it is about, and the entry is dropped, as keepalived drops it;
//! options keepalived knows but vrrpd does not install (route metrics such
//! as `mtu`, `encap`, rule `uidrange`, ...) are errors too, rather than a
//! route that silently differs from the one asked for.
//!
//! Table and protocol names are looked up as keepalived does (`rttables.c`):
//! a number, a built-in name, or a line of iproute2's `rt_tables` /
//! `rt_protos` (read through the [`FileSource`], so tests stay pure).

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;

use super::super::lexer::{Node, Token};
use super::super::model::Scope;
use super::super::route::*;
use super::{tokens_of, Parser};
use crate::proto::Family;

/// Where iproute2 keeps its name files: keepalived reads `/etc/iproute2`;
/// iproute2 6.x installs its defaults under `/usr/share/iproute2` instead.
/// keepalived 2.3's `iproute_etc_dir` / `iproute_usr_dir` replace them
/// (a file in the etc directory wins, as in keepalived's rttables.c).
pub(super) const IPROUTE2_DIRS: [&str; 2] = ["/etc/iproute2", "/usr/share/iproute2"];

/// Route options keepalived parses that vrrpd does not install.
const ROUTE_UNSUPPORTED: &[&str] = &[
    "as",
    "encap",
    "expires",
    "mtu",
    "hoplimit",
    "advmss",
    "rtt",
    "rttvar",
    "reordering",
    "window",
    "cwnd",
    "ssthresh",
    "realms",
    "rto_min",
    "initcwnd",
    "initrwnd",
    "features",
    "quickack",
    "congctl",
    "pref",
    "ttl-propagate",
    "fastopen_no_cookie",
    "vrf",
    "track_group",
];

/// Rule options keepalived parses that vrrpd does not install.
const RULE_UNSUPPORTED: &[&str] = &[
    "realms",
    "suppress_ifgroup",
    "sup_group",
    "tunnel-id",
    "uidrange",
    "l3mdev",
    "ipproto",
    "sport",
    "dport",
    "track_group",
];

/// Names from iproute2's files, read once per load.
#[derive(Debug, Default)]
pub(super) struct RtNames {
    tables: HashMap<String, u32>,
    protos: HashMap<String, u8>,
}

impl RtNames {
    fn load(src: &dyn super::super::source::FileSource, dirs: &[String; 2]) -> RtNames {
        let read = |file: &str| -> Vec<(u64, String)> {
            for dir in dirs {
                let path = Path::new(dir).join(file);
                if let Ok(bytes) = src.read(&path, 1 << 20) {
                    return name_lines(&String::from_utf8_lossy(&bytes));
                }
            }
            Vec::new()
        };
        let mut names = RtNames::default();
        // Built-in names first; the files may rename a number (keepalived
        // adds a default only when its number is not in the file).
        for (id, name) in [(253, "default"), (254, "main"), (255, "local")] {
            names.tables.insert(name.into(), id);
        }
        for (id, name) in read("rt_tables") {
            if let Ok(id) = u32::try_from(id) {
                names.tables.insert(name, id);
            }
        }
        for (id, name) in [
            (0, "none"),
            (1, "redirect"),
            (2, "kernel"),
            (3, "boot"),
            (4, "static"),
            (8, "gated"),
            (9, "ra"),
            (10, "mrt"),
            (11, "zebra"),
            (12, "bird"),
            (13, "dnrouted"),
            (14, "xorp"),
            (15, "ntk"),
            (16, "dhcp"),
            (18, "keepalived"),
            (42, "babel"),
        ] {
            names.protos.insert(name.into(), id);
        }
        for (id, name) in read("rt_protos") {
            if let Ok(id) = u8::try_from(id) {
                names.protos.insert(name, id);
            }
        }
        names
    }
}

/// `NUMBER NAME` lines of an iproute2 names file (`#` starts a comment).
fn name_lines(text: &str) -> Vec<(u64, String)> {
    text.lines()
        .filter_map(|l| {
            let l = l.split('#').next().unwrap_or("");
            let mut f = l.split_whitespace();
            let (id, name) = (f.next()?, f.next()?);
            if f.next().is_some() {
                return None;
            }
            Some((parse_number(id)?, name.to_string()))
        })
        .collect()
}

/// An unsigned number as C's `strtoul(.., 0)`: decimal, `0x` hex or `0` octal.
fn parse_number(text: &str) -> Option<u64> {
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16).ok()
    } else if text.len() > 1 && text.starts_with('0') {
        u64::from_str_radix(&text[1..], 8).ok()
    } else {
        text.parse().ok()
    }
}

/// keepalived's `parse_route()`: `default`/`any`/`all` is None (the family's
/// default, decided once the family is known).
fn prefix_or_default(text: &str) -> Result<Option<Prefix>, String> {
    match text {
        "default" | "any" | "all" => Ok(None),
        _ => text.parse().map(Some),
    }
}

/// The tokens of one entry, walked with the position of the last one read.
struct Cursor<'n> {
    toks: Vec<&'n Token>,
    i: usize,
}

impl<'n> Cursor<'n> {
    fn next(&mut self) -> Option<&'n Token> {
        let t = self.toks.get(self.i).copied();
        self.i += 1;
        t
    }
}

impl Parser<'_> {
    fn rt_names(&mut self) -> &RtNames {
        let (src, dirs) = (self.src, &self.iproute_dirs);
        self.rt.get_or_insert_with(|| RtNames::load(src, dirs))
    }

    /// The value after `kw`, or an error at `kw`.
    fn value<'n>(&mut self, c: &mut Cursor<'n>, kw: &Token) -> Option<&'n Token> {
        let v = c.next();
        if v.is_none() {
            self.err(&kw.loc, format!("'{}' expects a value", kw.text));
        }
        v
    }

    fn number_tok(&mut self, what: &str, t: &Token, max: u64) -> Option<u64> {
        match parse_number(&t.text) {
            Some(v) if v <= max => Some(v),
            _ => {
                self.err(
                    &t.loc,
                    format!("{what} expects a number 0..{max}, got '{}'", t.text),
                );
                None
            }
        }
    }

    fn table_tok(&mut self, t: &Token) -> Option<u32> {
        if let Some(v) = parse_number(&t.text) {
            return match u32::try_from(v) {
                Ok(v) => Some(v),
                Err(_) => {
                    self.err(&t.loc, format!("routing table {} is out of range", t.text));
                    None
                }
            };
        }
        let found = self.rt_names().tables.get(&t.text).copied();
        if found.is_none() {
            self.err(
                &t.loc,
                format!(
                    "routing table '{}' not found (a number, default, main, local or a name from /etc/iproute2/rt_tables)",
                    t.text
                ),
            );
        }
        found
    }

    fn proto_tok(&mut self, t: &Token) -> Option<u8> {
        if parse_number(&t.text).is_some() {
            return self
                .number_tok("'protocol'", t, 255)
                .and_then(|v| u8::try_from(v).ok());
        }
        let found = self.rt_names().protos.get(&t.text).copied();
        if found.is_none() {
            self.err(
                &t.loc,
                format!(
                    "protocol '{}' not found (a number or a name from rt_protos)",
                    t.text
                ),
            );
        }
        found
    }

    fn scope_tok(&mut self, t: &Token) -> Option<Scope> {
        let scope = match t.text.as_str() {
            "global" | "universe" | "0" => Some(Scope::Global),
            "site" | "200" => Some(Scope::Site),
            "link" | "253" => Some(Scope::Link),
            "host" | "254" => Some(Scope::Host),
            "nowhere" | "255" => Some(Scope::Nowhere),
            _ => None,
        };
        if scope.is_none() {
            self.err(
                &t.loc,
                format!(
                    "scope '{}' invalid: expected global, site, link, host or nowhere",
                    t.text
                ),
            );
        }
        scope
    }

    fn family_of(&mut self, fam: &mut Option<Family>, new: Family, at: &Token) -> bool {
        match *fam {
            None => {
                *fam = Some(new);
                true
            }
            Some(f) if f == new => true,
            Some(_) => {
                self.err(&at.loc, "cannot mix IPv4 and IPv6 addresses in one entry");
                false
            }
        }
    }

    fn addr_tok(&mut self, what: &str, t: &Token) -> Option<IpAddr> {
        match t.text.parse::<IpAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                self.err(&t.loc, format!("invalid {what} address '{}'", t.text));
                None
            }
        }
    }

    /// One `virtual_routes` / `static_routes` entry.
    pub(super) fn route(&mut self, n: &Node) -> Option<Route> {
        self.no_block(n);
        let mut c = Cursor {
            toks: tokens_of(n).collect(),
            i: 0,
        };
        let mut fam: Option<Family> = None;
        let mut dst: Option<(Option<Prefix>, &Token)> = None;
        let mut r = Route::to(Prefix::any(Family::Ipv4));
        while let Some(t) = c.next() {
            let kw = t.text.as_str();
            match kw {
                "inet" => self.family_of(&mut fam, Family::Ipv4, t).then_some(())?,
                "inet6" => self.family_of(&mut fam, Family::Ipv6, t).then_some(())?,
                "src" => {
                    let v = self.value(&mut c, t)?;
                    let a = self.addr_tok("route src", v)?;
                    self.family_of(&mut fam, Family::of(&a), v).then_some(())?;
                    r.src = Some(a);
                }
                "via" | "gw" => {
                    if kw == "gw" {
                        self.warn(
                            &t.loc,
                            "\"gw\" for routes is deprecated. Please use \"via\"",
                        );
                    }
                    let mut v = self.value(&mut c, t)?;
                    if v.text == "inet" || v.text == "inet6" {
                        v = self.value(&mut c, v)?;
                    }
                    let a = self.addr_tok("route via", v)?;
                    self.family_of(&mut fam, Family::of(&a), v).then_some(())?;
                    r.via = Some(a);
                }
                "from" => {
                    let v = self.value(&mut c, t)?;
                    match v.text.parse::<Prefix>() {
                        Ok(p) if p.family() == Family::Ipv6 => {
                            self.family_of(&mut fam, Family::Ipv6, v).then_some(())?;
                            r.from = Some(p);
                        }
                        Ok(_) => {
                            self.err(
                                &v.loc,
                                format!("route from address only supported with IPv6 ({})", v.text),
                            );
                            return None;
                        }
                        Err(e) => {
                            self.err(&v.loc, format!("invalid route from address: {e}"));
                            return None;
                        }
                    }
                }
                "tos" | "dsfield" => {
                    let v = self.value(&mut c, t)?;
                    r.tos = Some(u8::try_from(self.number_tok("TOS", v, 255)?).ok()?);
                }
                "table" => {
                    let v = self.value(&mut c, t)?;
                    r.table = self.table_tok(v)?;
                }
                "protocol" | "proto" => {
                    let v = self.value(&mut c, t)?;
                    r.protocol = Some(self.proto_tok(v)?);
                }
                "scope" => {
                    let v = self.value(&mut c, t)?;
                    r.scope = Some(self.scope_tok(v)?);
                }
                "metric" | "priority" | "preference" => {
                    let v = self.value(&mut c, t)?;
                    let m = self.number_tok("metric", v, u64::from(u32::MAX))?;
                    r.metric = u32::try_from(m).ok();
                }
                "dev" | "oif" => {
                    let v = self.value(&mut c, t)?;
                    r.dev = Some(v.text.clone());
                }
                "onlink" => r.onlink = true,
                "add" => r.mode = RouteMode::Add,
                "prepend" => r.mode = RouteMode::Prepend,
                "append" => r.mode = RouteMode::Append,
                "no_track" => r.no_track = true,
                "or" => {
                    self.warn(
                        &t.loc,
                        "\"or\" for routes is deprecated. Please use \"nexthop\"",
                    );
                    let v = self.value(&mut c, t)?;
                    let a = self.addr_tok("\"or\"", v)?;
                    if r.nexthops.is_empty() {
                        r.nexthops.push(NextHop {
                            via: r.via.take(),
                            dev: None,
                            weight: None,
                            onlink: false,
                        });
                    }
                    r.nexthops.push(NextHop {
                        via: Some(a),
                        dev: None,
                        weight: None,
                        onlink: false,
                    });
                }
                "nexthop" => {
                    if !r.nexthops.is_empty() {
                        self.err(&t.loc, "cannot specify nexthops with an \"or\" route");
                        return None;
                    }
                    self.nexthops(&mut c, &mut r, &mut fam)?;
                }
                k if ROUTE_UNSUPPORTED.contains(&k) => {
                    self.err(
                        &t.loc,
                        format!("route option '{k}' is not supported by vrrpd (keepalived would set it); remove it or install this route another way"),
                    );
                    return None;
                }
                _ => {
                    let mut d = t;
                    if d.text == "to" {
                        d = self.value(&mut c, d)?;
                    }
                    if let Some(kind) = RouteType::from_name(&d.text) {
                        r.kind = kind;
                        // keepalived 2.2.7 adds a route written with a
                        // type as `add` (NLM_F_EXCL; its dump says "add"),
                        // unless a later `prepend`/`append` says otherwise.
                        r.mode = RouteMode::Add;
                        d = self.value(&mut c, d)?;
                    }
                    match prefix_or_default(&d.text) {
                        Ok(p) => {
                            if let Some(p) = &p {
                                self.family_of(&mut fam, p.family(), d).then_some(())?;
                            }
                            dst = Some((p, d));
                        }
                        Err(_) => {
                            self.err(&d.loc, format!("unknown route keyword '{}'", d.text));
                            return None;
                        }
                    }
                }
            }
        }
        let Some((to, _)) = dst else {
            self.err(&n.kw.loc, "route must have a destination");
            return None;
        };
        let family = fam.unwrap_or(Family::Ipv4);
        r.to = to.unwrap_or_else(|| Prefix::any(family));
        if !r.no_track {
            if r.protocol.is_some_and(|p| p != RTPROT_KEEPALIVED) {
                self.warn(&n.kw.loc, format!("route cannot be tracked if protocol is not RTPROT_KEEPALIVED({RTPROT_KEEPALIVED}), resetting protocol"));
            }
            r.protocol = Some(RTPROT_KEEPALIVED);
            if r.dev.is_none() {
                self.warn(
                    &n.kw.loc,
                    format!("cannot track route {} with no interface specified, not tracking (as keepalived)", r.to),
                );
                r.no_track = true;
            }
        }
        self.entry_errors(n, r.check())?;
        Some(r)
    }

    /// `nexthop via A [dev D] [weight W] [onlink] nexthop ...` to the end of the entry.
    fn nexthops(
        &mut self,
        c: &mut Cursor<'_>,
        r: &mut Route,
        fam: &mut Option<Family>,
    ) -> Option<()> {
        let mut hop = NextHop {
            via: None,
            dev: None,
            weight: None,
            onlink: false,
        };
        while let Some(t) = c.next() {
            match t.text.as_str() {
                "nexthop" => {
                    r.nexthops.push(hop);
                    hop = NextHop {
                        via: None,
                        dev: None,
                        weight: None,
                        onlink: false,
                    };
                }
                "via" => {
                    let mut v = self.value(c, t)?;
                    if v.text == "inet" || v.text == "inet6" {
                        v = self.value(c, v)?;
                    }
                    let a = self.addr_tok("nexthop via", v)?;
                    self.family_of(fam, Family::of(&a), v).then_some(())?;
                    hop.via = Some(a);
                }
                "dev" => hop.dev = Some(self.value(c, t)?.text.clone()),
                "weight" => {
                    let v = self.value(c, t)?;
                    match v.text.parse::<u16>() {
                        Ok(w) if (1..=256).contains(&w) => hop.weight = Some(w),
                        _ => {
                            self.err(
                                &v.loc,
                                format!("nexthop weight must be 1..256, got '{}'", v.text),
                            );
                            return None;
                        }
                    }
                }
                "onlink" => hop.onlink = true,
                other => {
                    self.err(
                        &t.loc,
                        format!(
                            "unknown nexthop option '{other}' (expected via, dev, weight, onlink)"
                        ),
                    );
                    return None;
                }
            }
        }
        r.nexthops.push(hop);
        Some(())
    }

    /// One `virtual_rules` / `static_rules` entry.
    pub(super) fn rule(&mut self, n: &Node) -> Option<Rule> {
        self.no_block(n);
        let mut c = Cursor {
            toks: tokens_of(n).collect(),
            i: 0,
        };
        let mut fam: Option<Family> = None;
        let mut r = Rule::at(0);
        let mut priority = None;
        let mut actions = 0;
        while let Some(t) = c.next() {
            let kw = t.text.as_str();
            match kw {
                "inet" => self.family_of(&mut fam, Family::Ipv4, t).then_some(())?,
                "inet6" => self.family_of(&mut fam, Family::Ipv6, t).then_some(())?,
                "from" | "to" => {
                    let v = self.value(&mut c, t)?;
                    let p = match prefix_or_default(&v.text) {
                        Ok(p) => p,
                        Err(e) => {
                            self.err(&v.loc, format!("invalid rule {kw} address: {e}"));
                            return None;
                        }
                    };
                    if let Some(p) = &p {
                        self.family_of(&mut fam, p.family(), v).then_some(())?;
                    }
                    if kw == "from" {
                        r.from = p;
                    } else {
                        r.to = p;
                    }
                }
                "table" | "lookup" => {
                    let v = self.value(&mut c, t)?;
                    let id = self.table_tok(v)?;
                    if id == 0 {
                        self.err(&v.loc, "table 0 is not valid");
                        return None;
                    }
                    r.table = Some(id);
                    actions += 1;
                }
                "not" => r.not = true,
                "preference" | "order" | "priority" => {
                    let v = self.value(&mut c, t)?;
                    let p = self.number_tok("rule preference", v, u64::from(u32::MAX))?;
                    priority = u32::try_from(p).ok();
                }
                "tos" | "dsfield" => {
                    let v = self.value(&mut c, t)?;
                    r.tos = Some(u8::try_from(self.number_tok("TOS", v, 255)?).ok()?);
                }
                "fwmark" => {
                    let v = self.value(&mut c, t)?;
                    let (mark, mask) = match v.text.split_once('/') {
                        Some((m, k)) => (m, Some(k)),
                        None => (v.text.as_str(), None),
                    };
                    let num = |s: &str| parse_number(s).and_then(|x| u32::try_from(x).ok());
                    match (num(mark), mask.map(num)) {
                        (Some(m), None) => r.fwmark = Some(m),
                        (Some(m), Some(Some(k))) => {
                            r.fwmark = Some(m);
                            r.fwmask = Some(k);
                        }
                        _ => {
                            self.err(
                                &v.loc,
                                format!("invalid rule fwmark '{}' (expected MARK[/MASK])", v.text),
                            );
                            return None;
                        }
                    }
                }
                "suppress_prefixlength" | "sup_pl" => {
                    let v = self.value(&mut c, t)?;
                    let s = self.number_tok("suppress_prefixlength", v, i32::MAX as u64)?;
                    r.suppress_prefixlength = u32::try_from(s).ok();
                }
                "dev" | "iif" => r.iif = Some(self.value(&mut c, t)?.text.clone()),
                "oif" => r.oif = Some(self.value(&mut c, t)?.text.clone()),
                "protocol" => {
                    let v = self.value(&mut c, t)?;
                    r.protocol = Some(self.proto_tok(v)?);
                }
                "no_track" => r.no_track = true,
                k if RULE_UNSUPPORTED.contains(&k) => {
                    self.err(
                        &t.loc,
                        format!("rule option '{k}' is not supported by vrrpd (keepalived would set it); remove it or install this rule another way"),
                    );
                    return None;
                }
                _ => {
                    let mut a = t;
                    if a.text == "type" {
                        a = self.value(&mut c, a)?;
                    }
                    match a.text.as_str() {
                        "goto" => {
                            let v = self.value(&mut c, a)?;
                            let g = self.number_tok("goto target", v, u64::from(u32::MAX))?;
                            r.goto = u32::try_from(g).ok();
                        }
                        "nop" => r.kind = Some(RuleType::Nop),
                        "blackhole" => r.kind = Some(RuleType::Blackhole),
                        "unreachable" => r.kind = Some(RuleType::Unreachable),
                        "prohibit" => r.kind = Some(RuleType::Prohibit),
                        other => {
                            self.err(&a.loc, format!("unknown rule option '{other}'"));
                            return None;
                        }
                    }
                    actions += 1;
                }
            }
            if actions > 1 {
                self.err(&t.loc, "cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable for rule");
                return None;
            }
        }
        r.family = fam.unwrap_or(Family::Ipv4);
        if r.goto.is_some() && priority.is_none() {
            self.err(
                &n.kw.loc,
                "invalid rule - goto target specified without preference",
            );
            return None;
        }
        if actions == 0 {
            self.err(&n.kw.loc, "no action specified for rule (table/lookup, goto, blackhole, unreachable, prohibit or nop)");
            return None;
        }
        if !r.no_track {
            if r.protocol.is_some_and(|p| p != RTPROT_KEEPALIVED) {
                self.warn(&n.kw.loc, format!("rule cannot be tracked if protocol is not RTPROT_KEEPALIVED({RTPROT_KEEPALIVED}), resetting protocol"));
            }
            r.protocol = Some(RTPROT_KEEPALIVED);
        }
        r.priority = match priority {
            Some(p) => p,
            None => {
                let next = match r.family {
                    Family::Ipv4 => &mut self.rule_priority[0],
                    Family::Ipv6 => &mut self.rule_priority[1],
                };
                let p = RULE_START_PRIORITY - *next;
                *next += 1;
                self.warn(
                    &n.kw.loc,
                    format!("rule has no preference specified - setting to {p}. This is probably not what you want."),
                );
                p
            }
        };
        self.entry_errors(n, r.check())?;
        Some(r)
    }

    /// Reports `errors` at the entry; `None` when there were any.
    fn entry_errors(&mut self, n: &Node, errors: Vec<String>) -> Option<()> {
        let none = errors.is_empty();
        for e in errors {
            self.err(&n.kw.loc, e);
        }
        none.then_some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_like_strtoul_base_0() {
        assert_eq!(parse_number("100"), Some(100));
        assert_eq!(parse_number("0x10"), Some(16));
        assert_eq!(parse_number("010"), Some(8));
        assert_eq!(parse_number("0"), Some(0));
        assert_eq!(parse_number("main"), None);
    }

    #[test]
    fn name_files_skip_comments_and_odd_lines() {
        let lines = name_lines("# reserved\n255\tlocal\n100 vrrp # ours\n1 too many words\n");
        assert_eq!(lines, vec![(255, "local".into()), (100, "vrrp".into())]);
    }
}
