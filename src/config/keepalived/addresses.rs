//! Address lists: `virtual_ipaddress` entries (also `_excluded`) and unicast
//! peers.

use std::net::IpAddr;

use super::super::lexer::{Node, Token};
use super::super::model::*;
use super::Parser;

impl Parser<'_> {
    /// `ADDR[/PREFIX] [dev IF] [brd IP|+|-] [scope S] [label L] ...` (reference §1.4).
    pub(super) fn vip(&mut self, n: &Node) -> Option<Vip> {
        self.no_block(n);
        let first = &n.kw;
        let (addr_text, prefix_text) = match first.text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (first.text.as_str(), None),
        };
        let Ok(addr) = addr_text.parse::<IpAddr>() else {
            self.err(
                &first.loc,
                format!(
                    "'{}' is not an address: expected ADDR[/PREFIX] [dev IF] [brd IP] [scope S] [label L] ...",
                    first.text
                ),
            );
            return None;
        };
        let mut vip = Vip::host(addr);
        if let Some(p) = prefix_text {
            let max = if addr.is_ipv4() { 32 } else { 128 };
            match p.parse::<u8>() {
                Ok(v) if v <= max => vip.prefix = v,
                _ => {
                    self.err(
                        &first.loc,
                        format!("prefix '/{p}' of '{}' must be 0..{max}", first.text),
                    );
                    return None;
                }
            }
        }
        let args = &n.args;
        let mut i = 0;
        while i < args.len() {
            let t = &args[i];
            let value = args.get(i + 1);
            let need = |this: &mut Self| -> Option<&Token> {
                if value.is_none() {
                    this.warn(
                        &t.loc,
                        format!("address option '{}' expects a value", t.text),
                    );
                }
                value
            };
            i += 1;
            match t.text.as_str() {
                "dev" => {
                    if let Some(v) = need(self) {
                        vip.dev = Some(v.text.clone());
                        i += 1;
                    }
                }
                "brd" | "broadcast" => {
                    if let Some(v) = need(self) {
                        i += 1;
                        if !addr.is_ipv4() {
                            self.warn(&t.loc, "'brd' applies to IPv4 addresses only; ignored");
                        } else if v.text == "+"
                            || v.text == "-"
                            || v.text.parse::<std::net::Ipv4Addr>().is_ok()
                        {
                            vip.brd = Some(v.text.clone());
                        } else {
                            self.warn(
                                &v.loc,
                                format!(
                                    "'brd' expects an IPv4 address, '+' or '-', got '{}'; ignored",
                                    v.text
                                ),
                            );
                        }
                    }
                }
                "scope" => {
                    if let Some(v) = need(self) {
                        i += 1;
                        vip.scope = match v.text.as_str() {
                            "global" => Some(Scope::Global),
                            "site" => Some(Scope::Site),
                            "link" => Some(Scope::Link),
                            "host" => Some(Scope::Host),
                            "nowhere" => Some(Scope::Nowhere),
                            other => {
                                self.warn(&v.loc, format!("'scope' expects global|site|link|host|nowhere, got '{other}'; ignored"));
                                None
                            }
                        };
                    }
                }
                "label" => {
                    if let Some(v) = need(self) {
                        i += 1;
                        if !addr.is_ipv4() {
                            self.warn(&t.loc, "'label' applies to IPv4 addresses only; ignored");
                        } else if v.text.len() > 15 {
                            self.warn(
                                &v.loc,
                                format!("label '{}' is longer than 15 characters; ignored", v.text),
                            );
                        } else {
                            vip.label = Some(v.text.clone());
                        }
                    }
                }
                "peer" => {
                    if let Some(v) = need(self) {
                        i += 1;
                        let (a, _) = v.text.split_once('/').unwrap_or((&v.text, ""));
                        match a.parse() {
                            Ok(p) => vip.peer = Some(p),
                            Err(_) => self.warn(
                                &v.loc,
                                format!("'peer' expects an address, got '{}'; ignored", v.text),
                            ),
                        }
                    }
                }
                "preferred_lft" => {
                    if let Some(v) = need(self) {
                        i += 1;
                        vip.preferred_lft = if v.text == "forever" {
                            Some(u32::MAX)
                        } else {
                            match v.text.parse::<u32>() {
                                Ok(s) => Some(s),
                                Err(_) => {
                                    self.warn(&v.loc, format!("'preferred_lft' expects seconds or 'forever', got '{}'; ignored", v.text));
                                    None
                                }
                            }
                        };
                    }
                }
                "track_group" => {
                    i += 1;
                    self.warn(
                        &t.loc,
                        "'track_group' (static addresses only in keepalived) is not implemented by vrrpd; ignored",
                    );
                }
                "home" => vip.home = true,
                "-nodad" => vip.dad = true,
                "mngtmpaddr" => vip.mngtmpaddr = true,
                "noprefixroute" => vip.noprefixroute = true,
                "autojoin" => vip.autojoin = true,
                "no_track" => vip.no_track = true,
                "use_vmac" => vip.use_vmac = true,
                other => self.warn(
                    &t.loc,
                    format!("unknown option '{other}' for an address; ignored, as keepalived does"),
                ),
            }
        }
        Some(vip)
    }

    pub(super) fn peer(&mut self, n: &Node) -> Option<UnicastPeer> {
        self.no_block(n);
        let addr = self.ip_tok("unicast peer", &n.kw)?;
        let mut p = UnicastPeer {
            addr,
            min_ttl: None,
            max_ttl: None,
        };
        let mut it = n.args.iter();
        while let Some(t) = it.next() {
            match t.text.as_str() {
                "min_ttl" | "max_ttl" => match it.next() {
                    Some(v) => {
                        let ttl = self.int_tok(&t.text, v, 0, 255).and_then(|x| u8::try_from(x).ok());
                        if t.text == "min_ttl" {
                            p.min_ttl = ttl;
                        } else {
                            p.max_ttl = ttl;
                        }
                    }
                    None => self.warn(&t.loc, format!("'{}' expects a value", t.text)),
                },
                other => self.warn(
                    &t.loc,
                    format!("unknown unicast peer option '{other}' (expected min_ttl or max_ttl); ignored"),
                ),
            }
        }
        Some(p)
    }
}
