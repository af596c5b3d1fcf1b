//! keepalived's completion rules (`vrrp_complete_instance()`, reference §1.8):
//! defaults, clamps and drops applied after parsing, each with a located
//! warning; sync-group members and tracker references resolved.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use super::super::model::*;
use super::super::units::{pass_auth, Secs};
use super::super::vmac_addr::{free_name, Entry, Namer};
use super::super::{InstanceSpans, Loc, Spans};
use super::{GarpRaw, Parser, RawInstance};
use crate::proto::wire::Auth;
use crate::proto::{Centis, Family, Priority, Version};

impl Parser<'_> {
    pub(super) fn finish(mut self, file_loc: Loc) -> (Config, Spans) {
        let raws = std::mem::take(&mut self.raw);
        let mut spans = Spans {
            file: file_loc,
            instances: Vec::new(),
            groups: Vec::new(),
            global: std::mem::take(&mut self.global_locs),
            top_entries: std::mem::take(&mut self.top_entries),
        };
        // Sync-group membership decides whether weighted trackers survive.
        let mut member_of: HashMap<String, bool> = HashMap::new();
        for (g, _, _, _) in &self.groups {
            for m in &g.members {
                member_of.entry(m.clone()).or_insert(g.tracking_weight);
            }
        }
        let names: HashSet<String> = raws.iter().map(|r| r.inst.name.clone()).collect();
        for r in raws {
            let in_group = member_of.get(&r.inst.name).copied();
            if let Some((inst, s)) = self.complete(r, in_group) {
                self.cfg.instances.push(std::sync::Arc::new(inst));
                spans.instances.push(s);
            }
        }
        self.vmac_names(&spans);
        // keepalived's vrrp_complete_instance() / check_debounce_timers():
        // a delay must stay under (down_timer_adverts - 1) advert
        // intervals of every instance on the interface, else a peer takes
        // over before the change counts; cut to that less 1/256 of an
        // interval (none at all with down_timer_adverts 1).
        for k in 0..self.cfg.interface_delays.len() {
            let at = spans.top_entry("interface_delays", k);
            for i in 0..self.cfg.instances.len() {
                let inst = &self.cfg.instances[i];
                let d = &self.cfg.interface_delays[k];
                if inst.interface.as_deref() != Some(d.interface.as_str()) {
                    continue;
                }
                let int =
                    u64::try_from(inst.advert_int.as_duration().as_micros()).unwrap_or(u64::MAX);
                let adverts = u64::from(inst.down_timer_adverts.saturating_sub(1));
                let limit = Secs::from_micros((adverts * int).saturating_sub(int / 256));
                let (name, iname) = (inst.name.clone(), d.interface.clone());
                if d.down == Secs::ZERO && d.up == Secs::ZERO {
                    continue;
                }
                let msg = if adverts == 0 {
                    format!("{name}: cannot use debounce timers with down_timer_adverts = 1 - resetting")
                } else if d.down >= limit || d.up >= limit {
                    format!("{name}: interface {iname} debounce timer(s) not less that {adverts} * advert_int - resetting")
                } else {
                    continue;
                };
                let d = &mut self.cfg.interface_delays[k];
                let cap = if adverts == 0 { Secs::ZERO } else { limit };
                d.down = d.down.min(cap);
                d.up = d.up.min(cap);
                self.d.warning(&at, msg);
            }
        }
        // keepalived's alloc_ipaddress(): a static address without `dev`
        // goes on the default interface (`default_interface`, else eth0);
        // `use_vmac` is an instance address option it does not know there.
        let default_dev = self
            .cfg
            .global
            .default_interface
            .clone()
            .unwrap_or_else(|| "eth0".into());
        for (k, a) in self.cfg.static_addresses.iter_mut().enumerate() {
            if a.dev.is_none() {
                a.dev = Some(default_dev.clone());
            }
            if a.use_vmac {
                a.use_vmac = false;
                let at = spans.top_entry("static_addresses", k);
                self.d.warning(
                    &at,
                    "unknown option 'use_vmac' for a static address; ignored, as keepalived does",
                );
            }
        }
        if self.cfg.instances.is_empty() && self.d.errors == 0 {
            self.warn(
                &spans.file,
                "no vrrp_instance: nothing to run (keepalived: \"has no configuration to run\")",
            );
        }
        let mut seen: HashMap<String, String> = HashMap::new();
        for (mut g, loc, member_locs, script_locs) in std::mem::take(&mut self.groups) {
            // keepalived (vrrp.c): the group's own smtp_alert, else the
            // global smtp_alert_vrrp, else smtp_alert.
            if !self.g.group_smtp_set.contains(&g.name) {
                g.smtp_alert = self
                    .g
                    .smtp_alert_vrrp
                    .or(self.g.smtp_alert)
                    .unwrap_or(false);
            }
            let mut kept = Vec::new();
            for (m, mloc) in g.members.iter().zip(member_locs.iter()) {
                if !names.contains(m) {
                    self.warn(mloc, format!("instance '{m}' in sync group '{}' does not exist; ignored, as keepalived does", g.name));
                } else if let Some(other) = seen.get(m) {
                    self.warn(
                        mloc,
                        format!("instance '{m}' is already in sync group '{other}'; ignored"),
                    );
                } else {
                    seen.insert(m.clone(), g.name.clone());
                    kept.push(m.clone());
                }
            }
            if kept.len() == 1 {
                self.warn(&loc, format!("sync group '{}' has only one member", g.name));
            }
            if kept.is_empty() {
                self.warn(
                    &loc,
                    format!("sync group '{}' has no valid member; ignored", g.name),
                );
                continue;
            }
            g.members = kept;
            let scripts: HashSet<String> =
                self.cfg.scripts.iter().map(|s| s.name.clone()).collect();
            let missing: Vec<(String, Loc)> = g
                .track_scripts
                .iter()
                .enumerate()
                .filter(|(_, t)| !scripts.contains(&t.name))
                .map(|(k, t)| {
                    let at = script_locs.get(k).unwrap_or(&loc).clone();
                    (t.name.clone(), at)
                })
                .collect();
            for (m, at) in missing {
                self.warn(&at, format!("track script '{m}' of sync group '{}' not found; ignored, as keepalived does", g.name));
            }
            g.track_scripts.retain(|t| scripts.contains(&t.name));
            self.cfg.sync_groups.push(g);
            spans.groups.push(loc);
        }
        (self.cfg, spans)
    }

    /// VMAC names: a name another instance already uses is dropped (with
    /// keepalived's warning), and an instance without one gets
    /// keepalived's: `vrrp.VRID`, else `vrrpN.VRID` with N = 1, 2, ...
    /// (IPv6 tries `vrrp6.VRID` first), the first no other instance uses;
    /// then its addresses' VMACs ([`Namer`]).
    fn vmac_names(&mut self, spans: &Spans) {
        let mut used: HashSet<String> = HashSet::new();
        for k in 0..self.cfg.instances.len() {
            // Still the parser's only reference: make_mut does not copy.
            let inst = std::sync::Arc::make_mut(&mut self.cfg.instances[k]);
            let Some(name) = inst.use_vmac.clone().filter(|n| !n.is_empty()) else {
                continue;
            };
            if used.insert(name.clone()) {
                continue;
            }
            let iname = inst.name.clone();
            inst.use_vmac = Some(String::new());
            if let Some(loc) = spans.instances.get(k).and_then(|s| s.block.clone()) {
                self.warn(
                    &loc,
                    format!("({iname}) another VRRP instance is already using VMAC {name} - ignoring name"),
                );
            }
        }
        let prefix = self.g.vmac_prefix.clone().unwrap_or_else(|| "vrrp".into());
        // Addresses' VMACs (vmac_addr_prefix, else vmac_prefix): named
        // right after their instance's own, as keepalived completes one
        // instance at a time.
        let addr_prefix = self
            .g
            .vmac_addr_prefix
            .clone()
            .unwrap_or_else(|| prefix.clone());
        self.cfg.global.vmac_addr_prefix = self
            .g
            .vmac_addr_prefix
            .clone()
            .or(self.g.vmac_prefix.clone());
        let mut namer = Namer::new(&addr_prefix, used.clone());
        let mut notes: Vec<(usize, Entry, String)> = Vec::new();
        for (k, inst) in self.cfg.instances.iter_mut().enumerate() {
            let inst = std::sync::Arc::make_mut(inst);
            if inst.use_vmac.as_deref() == Some("") {
                let candidate = free_name(&prefix, inst.vrid.get(), inst.family, &used);
                used.insert(candidate.clone());
                namer.take(&candidate);
                inst.use_vmac = Some(candidate);
            }
            namer.resolve(inst, &mut |at, msg| notes.push((k, at, msg)));
        }
        for (k, (list, e), msg) in notes {
            self.warn(&spans.entry(k, list, e), msg);
        }
    }

    pub(super) fn complete(
        &mut self,
        mut r: RawInstance,
        in_group: Option<bool>,
    ) -> Option<(Instance, InstanceSpans)> {
        let name = r.inst.name.clone();
        let Some(vrid) = r.vrid else {
            let loc = r.spans.fields.get("vrid").unwrap_or(&r.block).clone();
            self.err(
                &loc,
                format!("({name}) the virtual router id must be set (virtual_router_id 1..255)"),
            );
            return None;
        };
        r.inst.vrid = vrid;

        // Family: from the first VIP, else the unicast/multicast source.
        let family = r
            .inst
            .vips
            .first()
            .map(|v| Family::of(&v.addr))
            .or(r.inst.unicast_src.as_ref().map(Family::of))
            .or(r.inst.unicast_peers.first().map(|p| Family::of(&p.addr)))
            .or(r.inst.mcast_src_ip.as_ref().map(Family::of));
        // keepalived's native_ipv6: IPv6 (hence VRRPv3) whatever else says
        // nothing; refused when IPv4 addresses decide already.
        let family = match (family, &r.native_ipv6) {
            (Some(Family::Ipv4), Some(loc)) => {
                let loc = loc.clone();
                self.warn(
                    &loc,
                    format!("({name}) Cannot specify native_ipv6 with IPv4 addresses"),
                );
                Family::Ipv4
            }
            (None, Some(_)) => Family::Ipv6,
            (f, _) => f.unwrap_or(Family::Ipv4),
        };
        r.inst.family = family;
        let vip_loc = |r: &RawInstance, k: usize| -> Loc {
            r.spans
                .entries
                .get("vips")
                .and_then(|l| l.get(k))
                .or(r.spans.fields.get("vips"))
                .unwrap_or(&r.block)
                .clone()
        };
        // A VIP of the other family: keepalived 2.2.7 reports it ("address
        // family must match VRRP instance") and skips it; a skipped VIP is a
        // failover that does not happen, so here it is an error, at the
        // entry. virtual_ipaddress_excluded may mix families (not advertised).
        let mut k = 0;
        while k < r.inst.vips.len() {
            let addr = r.inst.vips[k].addr;
            if Family::of(&addr) == family {
                k += 1;
                continue;
            }
            let at = vip_loc(&r, k);
            self.err(
                &at,
                format!("({name}) virtual address {addr} is {}, but the instance is {family} (its first virtual address): put addresses of the other family in virtual_ipaddress_excluded", Family::of(&addr)),
            );
            r.inst.vips.remove(k);
            if let Some(l) = r.spans.entries.get_mut("vips") {
                if k < l.len() {
                    l.remove(k);
                }
            }
        }
        let mut seen = HashSet::new();
        if let Some(k) = r.inst.vips.iter().position(|v| !seen.insert(v.addr)) {
            // keepalived 2.2 keeps and advertises the duplicate (2.3.3+ drops it);
            // vrrpd follows 2.2 so a 2.2 peer sees the address count it expects.
            let addr = r.inst.vips[k].addr;
            self.warn(&vip_loc(&r, k), format!("({name}) virtual address {addr} is listed twice; keepalived 2.2 advertises it twice (2.3.3+ drops the copy)"));
        }
        // Version: explicit, else vrrp_version, else 2; IPv6 needs 3.
        let mut version = r
            .version
            .as_ref()
            .map(|v| v.0)
            .or(self.g.version)
            .unwrap_or(Version::V2);
        if family == Family::Ipv6 && version == Version::V2 {
            if let Some((_, loc)) = &r.version {
                self.warn(loc, format!("({name}) IPv6 needs VRRP version 3; using 3"));
            }
            version = Version::V3;
        }
        r.inst.version = version;

        let strict = r.strict.unwrap_or(self.g.strict);
        r.inst.strict = strict;
        if let Some(a) = r
            .inst
            .auth_hmac
            .as_mut()
            .filter(|a| strict && a.mode != crate::proto::auth_hmac::Mode::Enforce)
        {
            a.mode = crate::proto::auth_hmac::Mode::Enforce;
            let loc = r
                .spans
                .fields
                .get("auth_hmac")
                .cloned()
                .unwrap_or_else(|| r.block.clone());
            self.warn(&loc, format!("({name}) strict mode requires auth_hmac mode enforce; using enforce, as keepalived does"));
        }

        // Priority and state (keepalived: MASTER without priority is the owner).
        let state_loc = r
            .state
            .as_ref()
            .map(|s| s.1.clone())
            .unwrap_or(r.block.clone());
        let mut state = r.state.as_ref().map(|s| s.0);
        let priority = match (r.priority, state) {
            (Some(p), _) => p,
            (None, Some(InitialState::Master)) => 255,
            (None, _) => 100,
        };
        if state.is_none() {
            state = Some(if priority == 255 {
                InitialState::Master
            } else {
                InitialState::Backup
            });
        }
        let mut state = state.unwrap_or_default();
        if in_group.is_some() && state == InitialState::Master && priority != 255 {
            self.warn(&state_loc, format!("({name}) state MASTER in a sync group: keepalived starts sync group members that are not address owners as BACKUP"));
            state = InitialState::Backup;
        }
        if strict && state == InitialState::Master && priority != 255 {
            self.warn(
                &state_loc,
                format!(
                    "({name}) strict mode requires priority 255 for state MASTER; using BACKUP"
                ),
            );
            state = InitialState::Backup;
        }
        r.inst.priority = Priority(priority);
        r.inst.state = state;

        // Advert interval: v2 whole seconds, v3 centiseconds up to 40.95 s.
        let adv_loc = r
            .advert_int
            .as_ref()
            .map(|a| a.1.clone())
            .unwrap_or(r.block.clone());
        let secs = r
            .advert_int
            .as_ref()
            .map(|a| a.0)
            .unwrap_or(Secs::from_secs(1));
        let micros = secs.as_micros();
        r.inst.advert_int = match version {
            Version::V2 => {
                let whole = ((micros + 500_000) / 1_000_000).clamp(1, 255);
                if micros % 1_000_000 != 0 {
                    self.warn(&adv_loc, format!("({name}) VRRPv2 advert_int must be whole seconds; {secs} rounded to {whole}"));
                }
                Centis::from_secs(whole as u8)
            }
            Version::V3 => {
                let cs = (micros / 10_000).clamp(1, 4095);
                if micros % 10_000 != 0 {
                    self.warn(
                        &adv_loc,
                        format!(
                            "({name}) advert_int {secs} is not a multiple of 0.01 s; using {}",
                            Centis(cs as u16)
                        ),
                    );
                } else if micros > 40_950_000 {
                    self.warn(
                        &adv_loc,
                        format!("({name}) VRRPv3 advert_int {secs} exceeds 40.95 s; using 40.95"),
                    );
                }
                Centis(cs as u16)
            }
        };

        // Authentication: v2 PASS only, 8 bytes.
        r.inst.auth = Auth::None;
        match (&r.auth_type, &r.auth_pass) {
            (None, None) => {}
            (None, Some((_, loc))) => self.warn(
                loc,
                format!("({name}) auth_pass without auth_type; ignored"),
            ),
            (Some((t, loc)), pass) => {
                let pass_text = pass.as_ref().map(|p| p.0.as_str()).unwrap_or("");
                match t.as_str() {
                    "PASS" => {
                        if version == Version::V3 {
                            self.warn(loc, format!("({name}) authentication is not part of VRRPv3; ignored, as keepalived does"));
                        } else if strict {
                            self.warn(
                                loc,
                                format!(
                                    "({name}) strict mode does not allow authentication; ignored"
                                ),
                            );
                        } else {
                            match pass {
                                None => self.warn(
                                    loc,
                                    format!(
                                        "({name}) auth_type PASS without auth_pass: no authentication, as keepalived does"
                                    ),
                                ),
                                Some((p, ploc)) => {
                                    if p.len() > 8 {
                                        self.warn(ploc, format!("({name}) Truncating auth_pass to 8 characters: VRRPv2 carries 8 bytes, so '{}' is used, as keepalived does", String::from_utf8_lossy(&p.as_bytes()[..8])));
                                    }
                                    r.inst.auth = pass_auth(pass_text.as_bytes());
                                }
                            }
                        }
                    }
                    "AH" => self.err(
                        loc,
                        format!(
                            "({name}) auth_type AH is not supported by vrrpd (use PASS or none)"
                        ),
                    ),
                    other => self.warn(
                        loc,
                        format!("({name}) auth_type expects PASS or AH, got '{other}'; ignored"),
                    ),
                }
            }
        }

        // Preemption.
        let owner = priority == 255;
        if let Some(loc) = &r.nopreempt {
            if state == InitialState::Master || owner {
                self.warn(loc, format!("({name}) nopreempt is incompatible with state MASTER or priority 255; cleared, as keepalived does"));
                r.inst.nopreempt = false;
            }
        }
        if let Some(loc) = &r.preempt_delay {
            if state == InitialState::Master || r.inst.nopreempt || strict {
                self.warn(loc, format!("({name}) preempt_delay is ignored with state MASTER, nopreempt or strict mode"));
                r.inst.preempt_delay = Secs::ZERO;
            }
        }

        // Flags defaulting to the globals.
        r.inst.skip_check_adv_addr = r.skip_check_adv_addr.unwrap_or(self.g.skip_check_adv_addr);
        r.inst.lower_prio_no_advert = r
            .lower_prio_no_advert
            .unwrap_or(self.g.lower_prio_no_advert);
        r.inst.higher_prio_send_advert = r
            .higher_prio_send_advert
            .unwrap_or(self.g.higher_prio_send_advert);
        // keepalived 2.3.3 (vrrp_complete_instance): only an address owner
        // ignores adverts; the global is its default for owners.
        r.inst.owner_ignore_adverts = match &r.owner_ignore_adverts {
            Some((true, loc)) if !owner => {
                self.warn(
                    loc,
                    format!("({name}) ignoring owner_ignore_adverts since priority is not 255"),
                );
                false
            }
            Some((v, _)) => *v,
            None => owner && self.g.owner_ignore_adverts,
        };
        if let Some((p, loc)) = &r.timer_expired_backup {
            if r.inst.nopreempt {
                r.inst.timer_expired_backup = Some(*p);
            } else {
                // keepalived 2.3.2 resets it (CONFIG_GENERAL_ERROR, runs on).
                self.warn(
                    loc,
                    format!("({name}) expired_timer_backup requires nopreempt - resetting"),
                );
            }
        }
        r.inst.v3_checksum_as_v2 = r.v3_checksum_as_v2.unwrap_or(self.g.v3_checksum_as_v2);
        r.inst.linkbeat_use_polling |= self.g.linkbeat_all;
        // keepalived's vrrp_complete_instance(): the global one when the
        // instance has none; 0 means off.
        r.inst.garp_extra_if = r
            .inst
            .garp_extra_if
            .or(self.g.garp_extra_if)
            .filter(|g| g.interval > 0);
        r.inst.down_timer_adverts = r
            .down_timer_adverts
            .as_ref()
            .map(|d| d.0)
            .or(self.g.down_timer_adverts)
            .unwrap_or(3);
        r.inst.garp = self.garp(&r.garp);
        // keepalived (vrrp.c): the instance's smtp_alert, else the global
        // smtp_alert_vrrp, else smtp_alert.
        r.inst.smtp_alert = r
            .smtp_alert
            .or(self.g.smtp_alert_vrrp)
            .or(self.g.smtp_alert)
            .unwrap_or(false);
        r.inst.accept = match &r.accept {
            Some((a, _)) => *a,
            None => !strict || owner,
        };
        if strict {
            if let Some((true, loc)) = &r.accept {
                if version == Version::V2 && !owner {
                    self.warn(
                        loc,
                        format!("({name}) strict mode: VRRPv2 has no accept mode; cleared"),
                    );
                    r.inst.accept = false;
                }
            }
            if let Some((d, loc)) = &r.down_timer_adverts {
                if *d != 3 {
                    self.warn(
                        loc,
                        format!("({name}) strict mode requires down_timer_adverts 3; using 3"),
                    );
                }
            }
            r.inst.down_timer_adverts = 3;
            r.inst.lower_prio_no_advert = true;
            r.inst.higher_prio_send_advert = false;
            if let Some((false, loc)) = &r.owner_ignore_adverts {
                if owner {
                    self.warn(
                        loc,
                        format!("({name}) strict mode with priority 255 requires owner_ignore_adverts; set"),
                    );
                }
            }
            r.inst.owner_ignore_adverts = owner;
            r.inst.garp.lower_prio_repeat = 0;
            r.inst.garp.lower_prio_delay = Secs::ZERO;
        }

        // Unicast.
        if r.inst.unicast_peers.is_empty() {
            if let Some(loc) = &r.unicast_kw {
                if r.inst.unicast_fault_no_peer {
                    // keepalived goes to FAULT; the daemon does the same.
                } else {
                    self.warn(loc, format!("({name}) unicast keyword without any unicast_peer: multicast is used, as keepalived does"));
                }
            }
        } else if strict {
            let loc = r
                .spans
                .fields
                .get("unicast_peers")
                .unwrap_or(&r.block)
                .clone();
            self.err(
                &loc,
                format!("({name}) strict mode does not allow unicast peers"),
            );
        }

        // keepalived's vrrp_end_handler(): unicast_ttl needs peers. It then
        // sets the TTL to 0 (not back to its default), so its multicast
        // adverts would leave with TTL 0; vrrpd keeps 255 there.
        if r.inst.unicast_peers.is_empty() && r.inst.unicast_ttl.take().is_some() {
            let loc = r
                .spans
                .fields
                .get("unicast_ttl")
                .unwrap_or(&r.block)
                .clone();
            self.warn(
                &loc,
                format!("({name}) Cannot use unicast_ttl without unicast peers - resetting (adverts keep TTL 255)"),
            );
        }

        // keepalived clears track_src_ip without a configured source.
        if r.inst.unicast_src.is_none() && r.inst.mcast_src_ip.is_none() {
            r.inst.track_src_ip = false;
        }

        // Interface.
        if r.inst.interface.is_none() {
            let unicast_ok = r.inst.unicast_src.is_some() && !r.inst.unicast_peers.is_empty();
            if !unicast_ok {
                match self.cfg.global.default_interface.clone() {
                    Some(i) => r.inst.interface = Some(i),
                    None => {
                        self.err(&r.block, format!("({name}) 'interface' must be set (only unicast instances with unicast_src_ip may omit it)"));
                    }
                }
            }
        }
        if let Some(name) = r.vmac.take() {
            // An empty name is generated once every instance is read
            // (`vmac_names`), as keepalived's create_vmac_name() runs after
            // the whole file is parsed.
            r.inst.use_vmac = Some(name.unwrap_or_default());
        }
        // keepalived's VMAC completion rules (vrrp_parser.c, vrrp.c).
        if r.inst.use_vmac.is_some() && !r.inst.unicast_peers.is_empty() {
            if r.inst.interface.is_none() {
                self.warn(&r.block, format!("({name}): Cannot use VMAC/ipvlan with unicast and no interface - clearing use_vmac"));
                r.inst.use_vmac = None;
            } else if !r.inst.vmac_xmit_base {
                self.warn(
                    &r.block,
                    format!("({name}) unicast with use_vmac requires vmac_xmit_base - setting"),
                );
                r.inst.vmac_xmit_base = true;
            }
        }
        if r.inst.vmac_xmit_base && r.inst.use_vmac.is_none() {
            self.warn(
                &r.block,
                format!("({name}) vmac_xmit_base is only valid with a vmac"),
            );
            r.inst.vmac_xmit_base = false;
        } else if r.inst.vmac_xmit_base && strict {
            self.warn(
                &r.block,
                format!("({name}) xmit_base is incompatible with strict mode - resetting"),
            );
            r.inst.vmac_xmit_base = false;
        }

        // Virtual addresses.
        if let (Some(loc), true) = (&r.no_vips_ok, strict) {
            // keepalived 2.3's rule: strict mode needs a VIP.
            self.warn(
                loc,
                format!("({name}) no_virtual_ipaddress and strict mode incompatible, clearing no_virtual_ipaddress"),
            );
            r.no_vips_ok = None;
        }
        if r.inst.vips.is_empty() && r.no_vips_ok.is_none() {
            if version == Version::V3 || strict {
                self.err(
                    &r.block,
                    format!("({name}) no virtual_ipaddress: required for VRRPv3 and strict mode"),
                );
            } else {
                self.warn(&r.block, format!("({name}) no virtual_ipaddress"));
            }
        }
        if let Some(first) = r.inst.vips.first() {
            let link_local =
                matches!(first.addr, IpAddr::V6(a) if a.segments()[0] & 0xffc0 == 0xfe80);
            if strict && family == Family::Ipv6 && !link_local {
                self.warn(&vip_loc(&r, 0), format!("({name}) strict mode: the first IPv6 virtual address should be link-local (RFC 9568 §5.2.9)"));
            }
        }
        let cap = (1500 - 40 - 8 - 8) / family.addr_len();
        let cap = cap.min(255);
        if r.inst.vips.len() > cap {
            self.warn(&vip_loc(&r, cap), format!("({name}) more than {cap} virtual addresses do not fit an advert; the rest, from this one on, are handled as excluded addresses, as keepalived does"));
            let extra = r.inst.vips.split_off(cap);
            r.inst.excluded_vips.extend(extra);
            // The entries' places follow their addresses.
            let moved = r
                .spans
                .entries
                .get_mut("vips")
                .filter(|l| l.len() > cap)
                .map(|l| l.split_off(cap))
                .unwrap_or_default();
            r.entry_locs("excluded_vips").extend(moved);
        }

        // Trackers: unknown names are dropped; weights dropped for the owner and sync members.
        self.resolve_trackers(&mut r, owner, in_group);

        Some((r.inst, r.spans))
    }

    pub(super) fn garp(&self, r: &GarpRaw) -> Garp {
        let g = &self.g.garp;
        let min = self.g.min_garp;
        let global_delay =
            g.master_delay
                .unwrap_or(if min { Secs::ZERO } else { Secs::from_secs(5) });
        let global_repeat = g.master_repeat.unwrap_or(if min { 1 } else { 5 });
        // keepalived defaults the lower-priority burst from the *global*
        // settings, not from the instance's own garp_master_* (lab 2.2.7).
        Garp {
            master_delay: r.master_delay.unwrap_or(global_delay),
            master_repeat: r.master_repeat.unwrap_or(global_repeat),
            master_refresh: r.master_refresh.or(g.master_refresh).unwrap_or(Secs::ZERO),
            // vrrp_min_garp zeroes the refresh repeat too (lab 2.2.7).
            master_refresh_repeat: r
                .master_refresh_repeat
                .or(g.master_refresh_repeat)
                .unwrap_or(if min { 0 } else { 1 }),
            lower_prio_delay: r
                .lower_prio_delay
                .or(g.lower_prio_delay)
                .unwrap_or(global_delay),
            lower_prio_repeat: r
                .lower_prio_repeat
                .or(g.lower_prio_repeat)
                .unwrap_or(global_repeat),
        }
    }

    pub(super) fn resolve_trackers(
        &mut self,
        r: &mut RawInstance,
        owner: bool,
        in_group: Option<bool>,
    ) {
        let name = r.inst.name.clone();
        let scripts: HashMap<String, i32> = self
            .cfg
            .scripts
            .iter()
            .map(|s| (s.name.clone(), s.weight))
            .collect();
        let files: HashMap<String, i32> = self
            .cfg
            .track_files
            .iter()
            .map(|s| (s.name.clone(), s.weight))
            .collect();
        let procs: HashMap<String, i32> = self
            .cfg
            .track_processes
            .iter()
            .map(|s| (s.name.clone(), s.weight))
            .collect();
        let probes: HashMap<String, i32> = self
            .cfg
            .probes
            .iter()
            .map(|s| (s.name.clone(), s.weight))
            .collect();
        let drop_weights = owner || in_group == Some(false);
        let why = if owner {
            "an address owner (priority 255)"
        } else {
            "a sync group member without sync_group_tracking_weight"
        };
        for (kind, field, known) in [
            ("track_script", "track_scripts", &scripts),
            ("track_file", "track_files", &files),
            ("track_process", "track_processes", &procs),
            ("track_probe", "track_probes", &probes),
        ] {
            let list = std::mem::take(r.track_list(field));
            let locs = std::mem::take(r.entry_locs(field));
            let mut kept = Vec::new();
            let mut kept_locs = Vec::new();
            for (k, t) in list.into_iter().enumerate() {
                let loc = locs.get(k).cloned().unwrap_or(r.block.clone());
                let Some(&default_weight) = known.get(&t.name) else {
                    self.warn(
                        &loc,
                        format!(
                            "({name}) {kind} '{}' not found; ignored, as keepalived does",
                            t.name
                        ),
                    );
                    continue;
                };
                let weight = t.weight.unwrap_or(default_weight);
                if drop_weights && weight != 0 {
                    self.warn(
                        &loc,
                        format!(
                            "({name}) {kind} '{}' has weight {weight}, which is ignored for {why}",
                            t.name
                        ),
                    );
                    continue;
                }
                kept.push(t);
                kept_locs.push(loc);
            }
            *r.track_list(field) = kept;
            *r.entry_locs(field) = kept_locs;
        }
        let ifaces = std::mem::take(&mut r.inst.track_interfaces);
        let locs = std::mem::take(r.entry_locs("track_interfaces"));
        let mut kept_locs = Vec::new();
        for (k, mut t) in ifaces.into_iter().enumerate() {
            let loc = locs.get(k).cloned().unwrap_or(r.block.clone());
            if owner && t.weight != 0 {
                self.warn(
                    &loc,
                    format!(
                        "({name}) track_interface {} has weight {}, which is ignored for {why}; not tracked",
                        t.name, t.weight
                    ),
                );
                continue;
            }
            if drop_weights && t.weight != 0 {
                // keepalived keeps the interface but drops its weight: down means FAULT.
                self.warn(
                    &loc,
                    format!("({name}) track_interface {} weight {} ignored for {why}: the interface going down puts the instance in FAULT, as keepalived does", t.name, t.weight),
                );
                t.weight = 0;
            }
            r.inst.track_interfaces.push(t);
            kept_locs.push(loc);
        }
        *r.entry_locs("track_interfaces") = kept_locs;
    }
}
