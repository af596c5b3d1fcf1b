//! Routes and policy-routing rules: keepalived's `virtual_routes` /
//! `static_routes` (`ip route` grammar) and `virtual_rules` /
//! `static_rules` (`ip rule` grammar), as typed values.
//!
//! Both front ends produce these; [`Route::check`] and [`Rule::check`] are
//! the rules either must pass (the keepalived front end reports them at the
//! entry's own line and drops the entry, as keepalived's `alloc_route()` /
//! `alloc_rule()` do). [`Route::keepalived_text`] and
//! [`Rule::keepalived_text`] print them as keepalived 2.2.7's
//! `format_iproute()` / `format_iprule()` do, for the dumps.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::proto::Family;

use super::model::Scope;
use super::units::{family_name, is_default};

/// keepalived's routing protocol number (`RTPROT_KEEPALIVED`): what a
/// tracked route or rule is installed with, so it can be told apart.
pub const RTPROT_KEEPALIVED: u8 = 18;
/// The main routing table (`RT_TABLE_MAIN`).
pub const TABLE_MAIN: u32 = 254;
/// The first preference keepalived gives a rule written without one; the
/// next gets one less (`RULE_START_PRIORITY` in `vrrp_iprule.c`).
pub const RULE_START_PRIORITY: u32 = 16384;

/// An address with a prefix length (`ADDR/LEN`; `ADDR` alone is a host).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Prefix {
    pub addr: IpAddr,
    pub len: u8,
}

impl Prefix {
    /// The family's default route, `0.0.0.0/0` or `::/0`.
    pub fn any(family: Family) -> Prefix {
        let addr = match family {
            Family::Ipv4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            Family::Ipv6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        };
        Prefix { addr, len: 0 }
    }

    pub fn family(&self) -> Family {
        Family::of(&self.addr)
    }

    fn max_len(&self) -> u8 {
        match self.addr {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        }
    }

    /// Whether bits beyond the prefix are set (the kernel refuses such a
    /// route destination with EINVAL).
    pub fn has_host_bits(&self) -> bool {
        let host = |bits: u32, len: u8| -> u128 {
            let width = bits - u32::from(len);
            if width >= 128 {
                u128::MAX
            } else {
                (1u128 << width) - 1
            }
        };
        match self.addr {
            IpAddr::V4(a) => u128::from(u32::from(a)) & host(32, self.len) != 0,
            IpAddr::V6(a) => u128::from(a) & host(128, self.len) != 0,
        }
    }
}

impl std::str::FromStr for Prefix {
    type Err = String;

    fn from_str(text: &str) -> Result<Prefix, String> {
        let (a, len) = match text.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (text, None),
        };
        let addr: IpAddr = a
            .parse()
            .map_err(|_| format!("'{text}' is not ADDR[/LEN]"))?;
        let mut p = Prefix { addr, len: 0 };
        p.len = match len {
            None => p.max_len(),
            Some(l) => match l.parse::<u8>() {
                Ok(n) if n <= p.max_len() => n,
                _ => {
                    return Err(format!(
                        "prefix length of '{text}' must be 0..{}",
                        p.max_len()
                    ))
                }
            },
        };
        Ok(p)
    }
}

/// As keepalived's `ipaddresstos()`: the length only when not a host.
impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.len == self.max_len() {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.len)
        }
    }
}

impl Serialize for Prefix {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Prefix {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Prefix, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// A route's type (`ip route` `TYPE`, rtnetlink `RTN_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteType {
    #[default]
    Unicast,
    Local,
    Broadcast,
    Anycast,
    Multicast,
    Blackhole,
    Unreachable,
    Prohibit,
    Throw,
    Nat,
    Xresolve,
}

impl RouteType {
    /// keepalived's names (`rtntypes[]` in `rttables.c`; `brd` is `broadcast`).
    pub fn from_name(name: &str) -> Option<RouteType> {
        Some(match name {
            "unicast" => RouteType::Unicast,
            "local" => RouteType::Local,
            "broadcast" | "brd" => RouteType::Broadcast,
            "anycast" => RouteType::Anycast,
            "multicast" => RouteType::Multicast,
            "blackhole" => RouteType::Blackhole,
            "unreachable" => RouteType::Unreachable,
            "prohibit" => RouteType::Prohibit,
            "throw" => RouteType::Throw,
            "nat" => RouteType::Nat,
            "xresolve" => RouteType::Xresolve,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            RouteType::Unicast => "unicast",
            RouteType::Local => "local",
            RouteType::Broadcast => "broadcast",
            RouteType::Anycast => "anycast",
            RouteType::Multicast => "multicast",
            RouteType::Blackhole => "blackhole",
            RouteType::Unreachable => "unreachable",
            RouteType::Prohibit => "prohibit",
            RouteType::Throw => "throw",
            RouteType::Nat => "nat",
            RouteType::Xresolve => "xresolve",
        }
    }

    /// rtnetlink's `RTN_*` number.
    pub fn code(self) -> u8 {
        match self {
            RouteType::Unicast => 1,
            RouteType::Local => 2,
            RouteType::Broadcast => 3,
            RouteType::Anycast => 4,
            RouteType::Multicast => 5,
            RouteType::Blackhole => 6,
            RouteType::Unreachable => 7,
            RouteType::Prohibit => 8,
            RouteType::Throw => 9,
            RouteType::Nat => 10,
            RouteType::Xresolve => 11,
        }
    }

    /// Types that send nowhere: no gateway, no device needed.
    pub fn is_reject(self) -> bool {
        matches!(
            self,
            RouteType::Blackhole | RouteType::Unreachable | RouteType::Prohibit | RouteType::Throw
        )
    }
}

/// How a route is added (`add`, `prepend`, `append`; keepalived's default
/// is `prepend`: NLM_F_CREATE alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteMode {
    #[default]
    Prepend,
    /// Refused if the route exists (NLM_F_EXCL), as `ip route add`.
    Add,
    /// NLM_F_APPEND.
    Append,
}

/// One hop of a multipath route (`nexthop via ADDR [dev IF] [weight N] [onlink]`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NextHop {
    /// Gateway (`via`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<IpAddr>,
    /// Interface (`dev`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
    /// Relative weight 1..256 (`weight`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u16>,
    /// Gateway reachable without a matching prefix (`onlink`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub onlink: bool,
}

/// A route (keepalived `virtual_routes` / `static_routes` entry).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Destination, `ADDR/LEN` (`0.0.0.0/0` or `::/0` for a default route).
    pub to: Prefix,
    /// Route type (`blackhole`, `unreachable`, `prohibit`, `throw`, ...); default `unicast`.
    #[serde(default, rename = "type", skip_serializing_if = "is_default")]
    pub kind: RouteType,
    /// Preferred source address (`src`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src: Option<IpAddr>,
    /// Source prefix, IPv6 only (`from`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Prefix>,
    /// Gateway (`via`, or the deprecated `gw`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<IpAddr>,
    /// Output interface (`dev` / `oif`); tracked unless `no_track`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
    /// Routing table number (`table`; names from iproute2's `rt_tables` in keepalived.conf); 254 = main.
    #[serde(default = "main_table", skip_serializing_if = "is_main")]
    pub table: u32,
    /// Route priority (`metric` / `priority` / `preference`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<u32>,
    /// Scope (`scope`): global, site, link, host or nowhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
    /// Routing protocol number (`protocol`); a tracked route always uses 18 (keepalived).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<u8>,
    /// TOS / DS field (`tos` / `dsfield`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tos: Option<u8>,
    /// Gateway reachable without a matching prefix (`onlink`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub onlink: bool,
    /// `prepend` (default), `add` or `append`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub mode: RouteMode,
    /// Multipath hops (`nexthop ...`, or keepalived's old `via A or B`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nexthops: Vec<NextHop>,
    /// Do not track: its deletion by someone else is ignored and its `dev` is not tracked (`no_track`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub no_track: bool,
}

fn main_table() -> u32 {
    TABLE_MAIN
}

fn is_main(t: &u32) -> bool {
    *t == TABLE_MAIN
}

impl Route {
    /// A unicast route to `to` in the main table, nothing else set.
    pub fn to(to: Prefix) -> Route {
        Route {
            to,
            kind: RouteType::Unicast,
            src: None,
            from: None,
            via: None,
            dev: None,
            table: TABLE_MAIN,
            metric: None,
            scope: None,
            protocol: None,
            tos: None,
            onlink: false,
            mode: RouteMode::Prepend,
            nexthops: Vec::new(),
            no_track: false,
        }
    }

    pub fn family(&self) -> Family {
        self.to.family()
    }

    /// The protocol number it is installed with: keepalived's own unless set.
    pub fn effective_protocol(&self) -> u8 {
        self.protocol.unwrap_or(RTPROT_KEEPALIVED)
    }

    /// The interfaces the route names (its `dev`, its hops' `dev`).
    pub fn devices(&self) -> impl Iterator<Item = &str> {
        self.dev
            .iter()
            .chain(self.nexthops.iter().filter_map(|h| h.dev.as_ref()))
            .map(String::as_str)
    }

    /// What makes the route unusable, as messages (empty: fine).
    pub fn check(&self) -> Vec<String> {
        let mut out = Vec::new();
        let family = self.family();
        let mut same = |what: &str, a: &IpAddr| {
            if Family::of(a) != family {
                out.push(format!(
                    "{what} {a} is not {family} like the destination {}",
                    self.to
                ));
            }
        };
        if let Some(a) = &self.src {
            same("src", a);
        }
        if let Some(a) = &self.via {
            same("via", a);
        }
        if let Some(p) = &self.from {
            same("from", &p.addr);
        }
        for h in &self.nexthops {
            if let Some(a) = &h.via {
                same("nexthop via", a);
            }
        }
        if self.to.has_host_bits() {
            out.push(format!(
                "destination {} has bits set beyond its prefix length (the kernel refuses it)",
                self.to
            ));
        }
        if self.from.is_some() && family == Family::Ipv4 {
            out.push("'from' (a source prefix) is for IPv6 routes only".into());
        }
        if self.kind.is_reject() && (self.via.is_some() || !self.nexthops.is_empty()) {
            out.push(format!("a {} route takes no gateway", self.kind.name()));
        }
        if self.via.is_some() && !self.nexthops.is_empty() {
            out.push("'via' and 'nexthop' cannot be combined".into());
        }
        if self.table == 0 {
            out.push("table 0 is not a routing table".into());
        }
        if self
            .nexthops
            .iter()
            .any(|h| h.weight.is_some_and(|w| !(1..=256).contains(&w)))
        {
            out.push("a nexthop weight is 1..256".into());
        }
        if self
            .nexthops
            .iter()
            .any(|h| h.via.is_none() && h.dev.is_none())
        {
            out.push("a nexthop needs 'via' or 'dev'".into());
        }
        out
    }

    /// keepalived 2.2.7's `format_iproute()` (the JSON dump's `vroutes`).
    pub fn keepalived_text(&self) -> String {
        let mut s = String::new();
        s.push_str(match self.mode {
            RouteMode::Add => "add ",
            RouteMode::Append => "append ",
            RouteMode::Prepend => "prepend ",
        });
        if self.kind != RouteType::Unicast {
            s.push_str(self.kind.name());
            s.push(' ');
        }
        s.push_str(&self.to.to_string());
        if let Some(p) = &self.from {
            s.push_str(&format!(" from {p}"));
        }
        if let Some(a) = &self.src {
            s.push_str(&format!(" src {a}"));
        }
        if let Some(t) = self.tos {
            s.push_str(&format!(" tos {t}"));
        }
        if let Some(a) = &self.via {
            let fam = if a.is_ipv6() { "inet6" } else { "inet" };
            s.push_str(&format!(" via {fam} {a}"));
        }
        if let Some(d) = &self.dev {
            s.push_str(&format!(" dev {d}"));
        }
        if self.table != TABLE_MAIN {
            s.push_str(&format!(" table {}", self.table));
        }
        if let Some(p) = self.protocol {
            s.push_str(&format!(" proto {p}"));
        }
        if let Some(sc) = self.scope {
            s.push_str(&format!(" scope {}", scope_code(sc)));
        }
        if let Some(m) = self.metric {
            s.push_str(&format!(" metric {m}"));
        }
        if self.family() == Family::Ipv4 && self.onlink {
            s.push_str(" onlink");
        }
        for h in &self.nexthops {
            s.push_str(" nexthop");
            if let Some(a) = &h.via {
                let six = if a.is_ipv6() { "6" } else { "" };
                s.push_str(&format!(" via inet{six} {a}"));
            }
            if let Some(d) = &h.dev {
                s.push_str(&format!(" dev {d}"));
            }
            if let Some(w) = h.weight {
                s.push_str(&format!(" weight {w}"));
            }
            if h.onlink {
                s.push_str(" onlink");
            }
        }
        if self.no_track {
            s.push_str(" no_track");
        }
        s
    }
}

/// rtnetlink's scope number.
pub fn scope_code(s: Scope) -> u8 {
    match s {
        Scope::Global => 0,
        Scope::Site => 200,
        Scope::Link => 253,
        Scope::Host => 254,
        Scope::Nowhere => 255,
    }
}

/// A rule's action other than a table lookup or a goto.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleType {
    Blackhole,
    Unreachable,
    Prohibit,
    Nop,
}

impl RuleType {
    pub fn name(self) -> &'static str {
        match self {
            RuleType::Blackhole => "blackhole",
            RuleType::Unreachable => "unreachable",
            RuleType::Prohibit => "prohibit",
            RuleType::Nop => "nop",
        }
    }
}

/// A policy-routing rule (keepalived `virtual_rules` / `static_rules` entry).
/// Exactly one action: `table`, `goto` or `type`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// `"ipv4"` (default) or `"ipv6"`; must match the addresses (`inet6`).
    #[serde(
        default = "ipv4",
        with = "family_name",
        skip_serializing_if = "is_ipv4"
    )]
    pub family: Family,
    /// Source selector (`from`); none = all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Prefix>,
    /// Destination selector (`to`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Prefix>,
    /// Invert the selectors (`not`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub not: bool,
    /// Rule preference (`priority` / `preference` / `order`); keepalived.conf
    /// gives one from 16384 down, with a warning, when it is missing.
    pub priority: u32,
    /// TOS selector (`tos` / `dsfield`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tos: Option<u8>,
    /// Firewall mark selector (`fwmark MARK[/MASK]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fwmark: Option<u32>,
    /// Its mask.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fwmask: Option<u32>,
    /// Input interface (`iif` / `dev`); tracked unless `no_track`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iif: Option<String>,
    /// Output interface (`oif`); tracked unless `no_track`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oif: Option<String>,
    /// Action: look up this table (`table` / `lookup`; names from `rt_tables` in keepalived.conf).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<u32>,
    /// Action: jump to the rule with this preference (`goto`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goto: Option<u32>,
    /// Action: `blackhole`, `unreachable`, `prohibit` or `nop`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<RuleType>,
    /// With `table`: ignore routes with this prefix length or shorter (`suppress_prefixlength`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppress_prefixlength: Option<u32>,
    /// Protocol number (`protocol`); a tracked rule always uses 18 (keepalived).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<u8>,
    /// Do not track: its deletion by someone else is ignored (`no_track`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub no_track: bool,
}

fn ipv4() -> Family {
    Family::Ipv4
}

fn is_ipv4(f: &Family) -> bool {
    *f == Family::Ipv4
}

impl Rule {
    /// A rule at `priority` with no selector and no action yet.
    pub fn at(priority: u32) -> Rule {
        Rule {
            family: Family::Ipv4,
            from: None,
            to: None,
            not: false,
            priority,
            tos: None,
            fwmark: None,
            fwmask: None,
            iif: None,
            oif: None,
            table: None,
            goto: None,
            kind: None,
            suppress_prefixlength: None,
            protocol: None,
            no_track: false,
        }
    }

    /// The interfaces the rule names.
    pub fn devices(&self) -> impl Iterator<Item = &str> {
        self.iif.iter().chain(self.oif.iter()).map(String::as_str)
    }

    /// What makes the rule unusable, as messages (empty: fine).
    pub fn check(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (what, p) in [("from", &self.from), ("to", &self.to)] {
            if let Some(p) = p {
                if p.family() != self.family {
                    out.push(format!(
                        "'{what} {p}' is not {} like the rule (mixed IPv4 and IPv6)",
                        self.family
                    ));
                }
            }
        }
        let actions = usize::from(self.table.is_some())
            + usize::from(self.goto.is_some())
            + usize::from(self.kind.is_some());
        if actions == 0 {
            out.push("no action: expected one of table/lookup, goto, blackhole, unreachable, prohibit, nop".into());
        } else if actions > 1 {
            out.push("more than one of table/goto/blackhole/prohibit/unreachable/nop".into());
        }
        if self.table == Some(0) {
            out.push("table 0 is not valid".into());
        }
        if let Some(target) = self.goto {
            if self.priority >= target {
                out.push(format!(
                    "preference {} >= goto target {target}",
                    self.priority
                ));
            }
        }
        if self.suppress_prefixlength.is_some() && self.table.is_none() {
            out.push("suppress_prefixlength needs a table action".into());
        }
        if self.fwmask.is_some() && self.fwmark.is_none() {
            out.push("fwmask without fwmark".into());
        }
        out
    }

    /// keepalived 2.2.7's `format_iprule()` (the JSON dump's `vrules`).
    pub fn keepalived_text(&self) -> String {
        let mut s = String::new();
        if self.to.is_none() && self.from.is_none() && self.family == Family::Ipv6 {
            s.push_str("inet6 ");
        }
        if self.not {
            s.push_str("not ");
        }
        match &self.from {
            Some(p) => s.push_str(&format!("from {p}")),
            None => s.push_str("from all"),
        }
        if let Some(p) = &self.to {
            s.push_str(&format!(" to {p}"));
        }
        s.push_str(&format!(" priority {}", self.priority));
        s.push_str(&format!(" tos 0x{:x}", self.tos.unwrap_or(0)));
        if let Some(m) = self.fwmark {
            s.push_str(&format!(" fwmark 0x{m:x}"));
            if let Some(mask) = self.fwmask.filter(|m| *m != u32::MAX) {
                s.push_str(&format!("/0x{mask:x}"));
            }
        }
        if let Some(i) = &self.iif {
            s.push_str(&format!(" iif {i}"));
        }
        if let Some(o) = &self.oif {
            s.push_str(&format!(" oif {o}"));
        }
        if let Some(n) = self.suppress_prefixlength {
            s.push_str(&format!(" suppress_prefixlen {n}"));
        }
        if let Some(p) = self.protocol {
            s.push_str(&format!(" protocol {p}"));
        }
        if let Some(t) = self.table {
            s.push_str(&format!(" lookup {t}"));
        } else if let Some(g) = self.goto {
            s.push_str(&format!(" goto {g}"));
        } else if let Some(RuleType::Nop) = self.kind {
            s.push_str(" nop");
        } else if let Some(k) = self.kind {
            s.push_str(&format!(" type {}", k.name()));
        }
        if self.no_track {
            s.push_str(" no_track");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Prefix {
        s.parse().unwrap()
    }

    #[test]
    fn a_prefix_prints_its_length_only_when_not_a_host() {
        assert_eq!(p("192.0.2.0/24").to_string(), "192.0.2.0/24");
        assert_eq!(p("192.0.2.1").to_string(), "192.0.2.1");
        assert_eq!(p("2001:db8::/64").to_string(), "2001:db8::/64");
        assert!("192.0.2.0/33".parse::<Prefix>().is_err());
        assert!("nonsense".parse::<Prefix>().is_err());
    }

    #[test]
    fn host_bits_beyond_the_prefix_are_found() {
        assert!(p("192.0.2.1/24").has_host_bits());
        assert!(!p("192.0.2.0/24").has_host_bits());
        assert!(!p("0.0.0.0/0").has_host_bits());
        assert!(p("2001:db8::1/64").has_host_bits());
        assert!(!p("::/0").has_host_bits());
    }

    #[test]
    fn a_route_of_mixed_families_is_refused() {
        let mut r = Route::to(p("192.0.2.0/24"));
        r.via = Some("2001:db8::1".parse().unwrap());
        assert_eq!(r.check().len(), 1, "{:?}", r.check());
        let mut b = Route::to(p("198.51.100.0/24"));
        b.kind = RouteType::Blackhole;
        assert!(b.check().is_empty());
        b.via = Some("192.0.2.1".parse().unwrap());
        assert!(!b.check().is_empty(), "a blackhole takes no gateway");
    }

    #[test]
    fn a_rule_needs_exactly_one_action() {
        let mut r = Rule::at(100);
        assert!(!r.check().is_empty());
        r.table = Some(100);
        assert!(r.check().is_empty());
        r.kind = Some(RuleType::Blackhole);
        assert!(!r.check().is_empty());
        let mut g = Rule::at(200);
        g.goto = Some(100);
        assert!(!g.check().is_empty(), "goto must jump forward");
    }

    #[test]
    fn keepalived_text_matches_format_iproute() {
        let mut r = Route::to(p("198.51.100.0/24"));
        r.via = Some("192.0.2.1".parse().unwrap());
        r.dev = Some("eth0".into());
        r.table = 100;
        r.protocol = Some(18);
        assert_eq!(
            r.keepalived_text(),
            "prepend 198.51.100.0/24 via inet 192.0.2.1 dev eth0 table 100 proto 18"
        );
        let mut b = Route::to(p("203.0.113.7"));
        b.kind = RouteType::Blackhole;
        b.no_track = true;
        b.protocol = Some(18);
        assert_eq!(
            b.keepalived_text(),
            "prepend blackhole 203.0.113.7 proto 18 no_track"
        );
    }

    #[test]
    fn keepalived_text_matches_format_iprule() {
        let mut r = Rule::at(100);
        r.from = Some(p("192.0.2.0/24"));
        r.table = Some(100);
        r.protocol = Some(18);
        assert_eq!(
            r.keepalived_text(),
            "from 192.0.2.0/24 priority 100 tos 0x0 protocol 18 lookup 100"
        );
        let mut b = Rule::at(101);
        b.family = Family::Ipv6;
        b.kind = Some(RuleType::Blackhole);
        b.fwmark = Some(16);
        b.fwmask = Some(255);
        assert_eq!(
            b.keepalived_text(),
            "inet6 from all priority 101 tos 0x0 fwmark 0x10/0xff type blackhole"
        );
    }
}
