//! VMACs of virtual addresses (keepalived's `use_vmac` on an address,
//! `use_vmac_addr`, `vmac_addr_prefix`): which addresses get a macvlan of
//! their own and what it is called, as keepalived 2.2.7 decides at
//! configuration time (`vrrp_complete_instance()`, `create_vmac_name()`).
//! Shared by both front ends; what such a VMAC is in the kernel is
//! `crate::driver::vmac::address_specs`.

use std::collections::HashSet;

use super::model::{Instance, Vip};
use super::units::parse_mac;
use crate::proto::{virtual_mac, Family, Vrid};

/// keepalived's generated VMAC name: `PREFIX.VRID` for `num` 0, else
/// `PREFIXnum.VRID`, the prefix cut so that the name fits IFNAMSIZ.
pub(crate) fn generated_name(prefix: &str, num: u32, vrid: u8) -> String {
    let tail = if num == 0 {
        format!(".{vrid}")
    } else {
        format!("{num}.{vrid}")
    };
    let keep = 15usize.saturating_sub(tail.len());
    let head: String = prefix.chars().take(keep).collect();
    head + &tail
}

/// The number tried after `num` when a generated name is taken: 1, 2, ...;
/// IPv6 tries 6 first and skips it later.
pub(crate) fn next_num(family: Family, num: u32) -> u32 {
    match (family, num) {
        (Family::Ipv6, 0) => 6,
        (Family::Ipv6, 6) => 1,
        (Family::Ipv6, 5) => 7,
        (_, n) => n + 1,
    }
}

/// The first generated name with `prefix` for `vrid` not in `used`.
pub(crate) fn free_name(prefix: &str, vrid: u8, family: Family, used: &HashSet<String>) -> String {
    let mut num = 0;
    let mut name = generated_name(prefix, num, vrid);
    // At most 256 numbers per family fit the names that can differ; a
    // configuration cannot use that many.
    while used.contains(&name) && num < 100_000 {
        num = next_num(family, num);
        name = generated_name(prefix, num, vrid);
    }
    name
}

/// What a located message is about: the list (`vips` or `excluded_vips`)
/// and the entry.
pub(crate) type Entry = (&'static str, usize);

/// Names the VMACs of addresses, instance by instance in configuration
/// order, as keepalived creates them: a VMAC already made on the same
/// base with the same MAC (by an earlier address or instance) is shared.
pub(crate) struct Namer {
    prefix: String,
    /// Names no new VMAC may take: every instance VMAC's, and those made.
    used: HashSet<String>,
    /// (base, MAC, name) of the VMACs made so far.
    made: Vec<(String, [u8; 6], String)>,
}

impl Namer {
    /// `prefix` names new VMACs; `used` are the names instances give
    /// their own VMACs.
    pub(crate) fn new(prefix: &str, used: HashSet<String>) -> Namer {
        Namer {
            prefix: prefix.to_string(),
            used,
            made: Vec::new(),
        }
    }

    /// A name now taken (an instance's own VMAC, named in order).
    pub(crate) fn take(&mut self, name: &str) {
        self.used.insert(name.to_string());
    }

    /// Decides `inst`'s addresses' VMACs (setting [`Vip::vmac`] and
    /// clearing a `use_vmac` keepalived ignores, with its message through
    /// `warn`). Call after `inst`'s own VMAC name is final.
    pub(crate) fn resolve(&mut self, inst: &mut Instance, warn: &mut dyn FnMut(Entry, String)) {
        // The instance's own VMAC is found like any other (if_get_by_vmac):
        // an address of its base with its MAC goes on it.
        if let (Some(name), Some(base)) = (&inst.use_vmac, &inst.interface) {
            let mac = inst
                .vmac_mac
                .as_deref()
                .and_then(parse_mac)
                .unwrap_or_else(|| virtual_mac(inst.family, inst.vrid));
            if !self.made.iter().any(|(_, _, n)| n == name) {
                self.made.push((base.clone(), mac, name.clone()));
            }
        }
        let ctx = Ctx {
            iname: inst.name.clone(),
            interface: inst.interface.clone(),
            family: inst.family,
            has_vmac: inst.use_vmac.is_some(),
            vmac_addr: inst.use_vmac_addr,
            vmac_mac: inst.vmac_mac.as_deref().and_then(parse_mac),
            vrid: inst.vrid,
        };
        for (list, vips) in [
            ("vips", &mut inst.vips),
            ("excluded_vips", &mut inst.excluded_vips),
        ] {
            for (k, v) in vips.iter_mut().enumerate() {
                self.resolve_one(&ctx, v, &mut |msg| warn((list, k), msg));
            }
        }
    }

    fn resolve_one(&mut self, c: &Ctx, v: &mut Vip, warn: &mut dyn FnMut(String)) {
        v.vmac = None;
        let family = Family::of(&v.addr);
        let own = v.dev.is_none() || v.dev == c.interface;
        let same = family == c.family;
        if v.use_vmac {
            // keepalived keeps `use_vmac` only where nothing else decides.
            v.use_vmac = false;
            let shown = shown(v);
            if own && c.has_vmac && same {
                warn(format!(
                    "({}) use_vmac specified for VIP/eVIP {shown} and vrrp instance",
                    c.iname
                ));
            } else if (!own || !same) && c.vmac_addr {
                warn(format!(
                    "({}) use_vmac_addr specified and use_vmac specified for VIP/eVIP {shown}",
                    c.iname
                ));
            } else {
                v.use_vmac = true;
            }
        }
        let needs = if own {
            // The instance's VMAC carries its own family's addresses.
            !(c.has_vmac && same) && (v.use_vmac || (c.vmac_addr && !same))
        } else {
            v.use_vmac || c.vmac_addr
        };
        let Some(base) = v.dev.clone().or_else(|| c.interface.clone()) else {
            return;
        };
        if !needs {
            return;
        }
        let mac = c.vmac_mac.unwrap_or_else(|| virtual_mac(family, c.vrid));
        if let Some((_, _, name)) = self.made.iter().find(|(b, m, _)| *b == base && *m == mac) {
            v.vmac = Some(name.clone());
            return;
        }
        let name = free_name(&self.prefix, c.vrid.get(), family, &self.used);
        self.used.insert(name.clone());
        self.made.push((base, mac, name.clone()));
        v.vmac = Some(name);
    }
}

/// What [`Namer::resolve_one`] reads of the instance.
struct Ctx {
    iname: String,
    interface: Option<String>,
    family: Family,
    has_vmac: bool,
    vmac_addr: bool,
    vmac_mac: Option<[u8; 6]>,
    vrid: Vrid,
}

/// An address as keepalived's messages show it: the prefix only when
/// it is not the host's.
fn shown(v: &Vip) -> String {
    let host = match v.addr {
        std::net::IpAddr::V4(_) => 32,
        std::net::IpAddr::V6(_) => 128,
    };
    if v.prefix == host {
        v.addr.to_string()
    } else {
        format!("{}/{}", v.addr, v.prefix)
    }
}

/// The TOML front end's pass: every instance VMAC is named in the file,
/// so the addresses' VMACs are named after them.
pub(crate) fn resolve_all(
    cfg: &mut super::model::Config,
    warn: &mut dyn FnMut(usize, Entry, String),
) {
    let used: HashSet<String> = cfg
        .instances
        .iter()
        .filter_map(|i| i.use_vmac.clone())
        .collect();
    let prefix = cfg
        .global
        .vmac_addr_prefix
        .clone()
        .unwrap_or_else(|| "vrrp".into());
    let mut namer = Namer::new(&prefix, used);
    for (i, inst) in cfg.instances.iter_mut().enumerate() {
        let inst = std::sync::Arc::make_mut(inst);
        namer.resolve(inst, &mut |at, msg| warn(i, at, msg));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cut_to_ifnamsiz_as_keepalived_cuts_them() {
        assert_eq!(generated_name("vrrp", 0, 51), "vrrp.51");
        assert_eq!(generated_name("vrrp", 6, 51), "vrrp6.51");
        let long = "averyveryverylongprefix";
        assert_eq!(generated_name(long, 0, 255), "averyveryve.255");
        assert_eq!(generated_name(long, 12, 255), "averyvery12.255");
        assert!(generated_name(long, 12, 255).len() <= 15);
    }

    #[test]
    fn ipv6_tries_6_first_then_skips_it() {
        let mut seq = vec![0];
        for _ in 0..7 {
            let last = seq[seq.len() - 1];
            seq.push(next_num(Family::Ipv6, last));
        }
        assert_eq!(seq, [0, 6, 1, 2, 3, 4, 5, 7]);
        assert_eq!(next_num(Family::Ipv4, 0), 1);
        assert_eq!(next_num(Family::Ipv4, 5), 6);
        let used: HashSet<String> = ["lb.9", "lb6.9"].iter().map(|s| s.to_string()).collect();
        assert_eq!(free_name("lb", 9, Family::Ipv6, &used), "lb1.9");
        assert_eq!(free_name("lb", 9, Family::Ipv4, &used), "lb1.9");
    }
}
