//! Checks across the finished model, shared by both front ends. The
//! keepalived front end has already applied keepalived's lenient fixes, so
//! what fails here is an error in either syntax.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use crate::proto::wire::Auth;
use crate::proto::{Family, Version};

use super::model::*;
use super::{Diags, Loc, Spans};

pub(super) fn validate(cfg: &Config, spans: &Spans, d: &mut Diags) {
    let mut names = HashSet::new();
    for (i, inst) in cfg.instances.iter().enumerate() {
        let at = |f: &str| spans.instance(i, f);
        // Messages about one entry of a list point at that entry.
        let entry = |f: &str, k: usize| spans.entry(i, f, k);
        let name = &inst.name;
        if !names.insert(name.as_str()) {
            d.error(&at("name"), format!("instance name '{name}' is used twice"));
        }
        if let Some(c) = &inst.cloud {
            super::cloud::validate(name, c, &inst.vips, &inst.excluded_vips, &at("cloud"), d);
        }
        if let Some(a) = &inst.auth_hmac {
            super::auth_hmac::validate(name, a, &inst.auth, &at("auth_hmac"), d);
        }
        if inst.priority.get() == 0 {
            d.error(
                &at("priority"),
                format!("({name}) priority must be 1..255, got 0"),
            );
        }
        if let Err(e) = inst.advert_int.validate(inst.version) {
            d.error(&at("advert_int"), format!("({name}) {e}"));
        }
        if inst.family == Family::Ipv6 && inst.version == Version::V2 {
            d.error(
                &at("version"),
                format!("({name}) IPv6 instances need VRRP version 3"),
            );
        }
        if inst.version == Version::V3 && !matches!(inst.auth, Auth::None) {
            d.error(
                &at("name"),
                format!("({name}) authentication exists in VRRPv2 only"),
            );
        }
        if inst.unicast_ttl.is_some() && inst.unicast_peers.is_empty() {
            d.error(
                &at("unicast_ttl"),
                format!("({name}) unicast_ttl applies to unicast instances only (no unicast peer)"),
            );
        }
        if !(1..=100).contains(&inst.down_timer_adverts) {
            d.error(
                &at("name"),
                format!(
                    "({name}) down_timer_adverts must be 1..100, got {}",
                    inst.down_timer_adverts
                ),
            );
        }
        if let Some(vmac) = &inst.use_vmac {
            // An interface name the kernel takes (IFNAMSIZ, no '/', no
            // blank), and a unicast MAC that is not an RFC 5798 one.
            let bad = vmac.is_empty()
                || vmac.len() > 15
                || vmac.contains(['/', ' ', ':'])
                || vmac == "."
                || vmac == "..";
            if bad {
                d.error(
                    &at("name"),
                    format!("({name}) VMAC interface name '{vmac}' too long or invalid characters"),
                );
            }
            if let Some(text) = &inst.vmac_mac {
                match super::units::parse_mac(text) {
                    None => d.error(
                        &at("name"),
                        format!("({name}) VMAC invalid MAC address {text}"),
                    ),
                    Some(mac) => {
                        if let Some(why) = super::units::mac_problem(&mac) {
                            d.error(
                                &at("name"),
                                format!("({name}) VMAC MAC address {text} {why}"),
                            );
                        }
                    }
                }
            }
        }
        for (k, v) in inst.vips.iter().enumerate() {
            if Family::of(&v.addr) != inst.family {
                d.error(
                    &entry("vips", k),
                    format!(
                        "({name}) virtual address {} is not {} like the instance",
                        v.addr, inst.family
                    ),
                );
            }
            let max = if v.addr.is_ipv4() { 32 } else { 128 };
            if v.prefix > max {
                d.error(
                    &entry("vips", k),
                    format!(
                        "({name}) prefix /{} of {} is longer than {max}",
                        v.prefix, v.addr
                    ),
                );
            }
        }
        let check_family = |what: &str, a: &IpAddr, d: &mut Diags, at: Loc| {
            if Family::of(a) != inst.family {
                d.error(
                    &at,
                    format!(
                        "({name}) {what} {a} is not {} like the instance's virtual addresses",
                        inst.family
                    ),
                );
            }
        };
        if let Some(src) = &inst.unicast_src {
            check_family("unicast_src_ip", src, d, at("unicast_src"));
        }
        if let Some(src) = &inst.mcast_src_ip {
            check_family("mcast_src_ip", src, d, at("name"));
        }
        let mut peers = HashSet::new();
        for (k, p) in inst.unicast_peers.iter().enumerate() {
            let here = entry("unicast_peers", k);
            check_family("unicast peer", &p.addr, d, here.clone());
            if Some(p.addr) == inst.unicast_src {
                d.warning(&here, format!("({name}) unicast peer {} is this node's own unicast_src_ip: adverts would go to ourselves (were the addresses swapped when the file was copied to this node?)", p.addr));
            }
            if !peers.insert(p.addr) {
                d.warning(
                    &here,
                    format!("({name}) unicast peer {} listed twice", p.addr),
                );
            }
            if let (Some(lo), Some(hi)) = (p.min_ttl, p.max_ttl) {
                if lo > hi {
                    d.error(
                        &here,
                        format!(
                            "({name}) unicast peer {}: min_ttl {lo} > max_ttl {hi}",
                            p.addr
                        ),
                    );
                }
            }
        }
        if inst.interface.is_none() && !(inst.is_unicast() && inst.unicast_src.is_some()) {
            d.error(&at("name"), format!("({name}) 'interface' must be set (only unicast instances with unicast_src_ip may omit it)"));
        }
        for (k, t) in inst.track_interfaces.iter().enumerate() {
            if !(-253..=253).contains(&t.weight) {
                d.error(
                    &entry("track_interfaces", k),
                    format!(
                        "({name}) track_interface {} weight must be -253..253",
                        t.name
                    ),
                );
            }
        }
        // keepalived.conf entries were checked (and dropped) where written;
        // these catch the native format's.
        for (k, r) in inst.virtual_routes.iter().enumerate() {
            for e in r.check() {
                d.error(
                    &entry("virtual_routes", k),
                    format!("({name}) route {}: {e}", r.to),
                );
            }
        }
        for (k, r) in inst.virtual_rules.iter().enumerate() {
            for e in r.check() {
                d.error(
                    &entry("virtual_rules", k),
                    format!("({name}) rule {}: {e}", r.priority),
                );
            }
        }
        let kinds: [(&str, &str, &Vec<TrackRef>, Vec<&str>); 4] = [
            (
                "track_script",
                "track_scripts",
                &inst.track_scripts,
                cfg.scripts.iter().map(|s| s.name.as_str()).collect(),
            ),
            (
                "track_file",
                "track_files",
                &inst.track_files,
                cfg.track_files.iter().map(|s| s.name.as_str()).collect(),
            ),
            (
                "track_process",
                "track_processes",
                &inst.track_processes,
                cfg.track_processes
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect(),
            ),
            (
                "track_probe",
                "track_probes",
                &inst.track_probes,
                cfg.probes.iter().map(|s| s.name.as_str()).collect(),
            ),
        ];
        for (kind, field, refs, known) in kinds {
            for (k, t) in refs.iter().enumerate() {
                if !known.contains(&t.name.as_str()) {
                    d.error(
                        &entry(field, k),
                        format!("({name}) {kind} '{}' is not defined", t.name),
                    );
                }
            }
        }
    }

    // Duplicate VRIDs: same interface, family and mode (unicast peers overlapping).
    let mut by_key: HashMap<(Option<&str>, Family, u8, bool), Vec<usize>> = HashMap::new();
    for (i, inst) in cfg.instances.iter().enumerate() {
        by_key
            .entry((
                inst.interface.as_deref(),
                inst.family,
                inst.vrid.get(),
                inst.is_unicast(),
            ))
            .or_default()
            .push(i);
    }
    let mut keys: Vec<_> = by_key.into_iter().filter(|(_, v)| v.len() > 1).collect();
    keys.sort_by_key(|(_, v)| v[0]);
    for ((iface, family, vrid, unicast), idx) in keys {
        for w in 1..idx.len() {
            let (a, b) = (&cfg.instances[idx[0]], &cfg.instances[idx[w]]);
            let clash = !unicast
                || a.unicast_peers
                    .iter()
                    .any(|p| b.unicast_peers.iter().any(|q| q.addr == p.addr));
            if clash {
                d.error(
                    &spans.instance(idx[w], "vrid"),
                    format!(
                        "({}) virtual_router_id {vrid} is already used by instance '{}' on {} ({family}, {})",
                        b.name,
                        a.name,
                        iface.unwrap_or("no interface"),
                        if unicast { "unicast to the same peer" } else { "multicast" }
                    ),
                );
            }
        }
    }

    for (k, r) in cfg.static_routes.iter().enumerate() {
        for e in r.check() {
            let at = spans.top_entry("static_routes", k);
            d.error(&at, format!("static route {}: {e}", r.to));
        }
    }
    for (k, r) in cfg.static_rules.iter().enumerate() {
        for e in r.check() {
            let at = spans.top_entry("static_rules", k);
            d.error(&at, format!("static rule {}: {e}", r.priority));
        }
    }

    for (k, a) in cfg.static_addresses.iter().enumerate() {
        let at = || spans.top_entry("static_addresses", k);
        if a.dev.is_none() {
            d.error(
                &at(),
                format!(
                    "static address {}: 'dev' is required (the interface to add it on)",
                    a.addr
                ),
            );
        }
        if a.use_vmac {
            d.error(
                &at(),
                format!(
                    "static address {}: 'use_vmac' applies to an instance's addresses only",
                    a.addr
                ),
            );
        }
    }

    // interface_up_down_delays: keepalived's bounds (the keepalived front
    // end has cut them already, with keepalived's warning).
    for (k, dl) in cfg.interface_delays.iter().enumerate() {
        let longest = dl.down.max(dl.up).as_duration();
        if longest > std::time::Duration::from_secs(255) {
            d.error(
                &spans.top_entry("interface_delays", k),
                format!("{}: up/down delays are at most 255 s", dl.interface),
            );
        }
        let on = cfg
            .instances
            .iter()
            .filter(|i| i.interface.as_deref() == Some(dl.interface.as_str()));
        for inst in on {
            let int = inst.advert_int.as_duration();
            let adverts = inst.down_timer_adverts.saturating_sub(1);
            let limit = (int * adverts).saturating_sub(int / 256);
            if !longest.is_zero() && longest >= limit {
                d.error(
                    &spans.top_entry("interface_delays", k),
                    format!(
                        "{}: a delay must be under {:.6} s for instance {} ((down_timer_adverts - 1) x advert_int, less 1/256 of it), else its peer takes over first",
                        dl.interface,
                        limit.as_secs_f64(),
                        inst.name
                    ),
                );
            }
        }
    }

    let inst_names: HashSet<&str> = cfg.instances.iter().map(|i| i.name.as_str()).collect();
    let mut member = HashSet::new();
    for g in &cfg.sync_groups {
        for m in &g.members {
            if !inst_names.contains(m.as_str()) {
                d.error(
                    &spans.file,
                    format!("sync group '{}': instance '{m}' does not exist", g.name),
                );
            }
            if !member.insert(m.as_str()) {
                d.error(
                    &spans.file,
                    format!(
                        "sync group '{}': instance '{m}' is in more than one group",
                        g.name
                    ),
                );
            }
        }
    }
    // One pacing clock per interface: a second group would be ignored.
    let mut paced = HashSet::new();
    for g in &cfg.garp_groups {
        for i in &g.interfaces {
            if !paced.insert(i.as_str()) {
                d.error(
                    &spans.file,
                    format!("garp_group: interface '{i}' is in more than one group"),
                );
            }
        }
    }
    let mut script_names = HashSet::new();
    for s in &cfg.scripts {
        if !script_names.insert(s.name.as_str()) {
            d.warning(
                &spans.file,
                format!("vrrp_script '{}' defined twice", s.name),
            );
        }
        if !(-253..=253).contains(&s.weight) {
            d.error(
                &spans.file,
                format!("vrrp_script '{}' weight must be -253..253", s.name),
            );
        }
        if s.rise == 0 || s.fall == 0 {
            d.error(
                &spans.file,
                format!("vrrp_script '{}' rise and fall must be at least 1", s.name),
            );
        }
    }
    let mut probe_names = HashSet::new();
    for p in &cfg.probes {
        let what = format!("probe '{}'", p.name);
        if !probe_names.insert(p.name.as_str()) {
            d.error(&spans.file, format!("{what} defined twice"));
        }
        if !(-253..=253).contains(&p.weight) {
            d.error(&spans.file, format!("{what} weight must be -253..253"));
        }
        if p.rise == 0 || p.fall == 0 {
            d.error(
                &spans.file,
                format!("{what} rise and fall must be at least 1"),
            );
        }
        if p.interval == super::Secs::ZERO {
            d.error(&spans.file, format!("{what} interval must be above 0"));
        }
        if let Err(bad) = p.status_ranges() {
            d.error(
                &spans.file,
                format!("{what}: status '{bad}' is not a code or range within 100-599"),
            );
        }
        match p.kind {
            ProbeKind::Http => match p.url.as_deref() {
                None => d.error(&spans.file, format!("{what} needs a 'url'")),
                Some(u) if !(u.starts_with("http://") || u.starts_with("https://")) => d.error(
                    &spans.file,
                    format!("{what}: url '{u}' must start with http:// or https://"),
                ),
                Some(_) => {}
            },
            ProbeKind::Tcp => match p.connect.as_deref() {
                None => d.error(&spans.file, format!("{what} needs 'connect' (HOST:PORT)")),
                Some(c)
                    if !c.rsplit_once(':').is_some_and(|(h, port)| {
                        !h.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
                    }) =>
                {
                    d.error(
                        &spans.file,
                        format!("{what}: connect '{c}' is not HOST:PORT"),
                    )
                }
                Some(_) => {}
            },
        }
    }
}
