//! `vrrp_instance` blocks: each keyword into a [`RawInstance`], completed later by
//! [`super::complete`].

use std::collections::HashMap;

use super::super::lexer::Node;
use super::super::model::*;
use super::super::units::{mac_problem, parse_mac, Secs};
use super::super::InstanceSpans;
use super::{GarpRaw, Parser, RawInstance};
use crate::proto::{Version, Vrid};

/// An instance's notify keywords, whose locations are kept for `vrrpd check`.
const NOTIFY_KEYWORDS: &[&str] = &[
    "notify_master",
    "notify_backup",
    "notify_fault",
    "notify_stop",
    "notify_deleted",
    "notify",
    "notify_master_rx_lower_pri",
];

const INSTANCE_IGNORED: &[&str] = &["vrf", "lvs_sync_daemon_interface"];

impl Parser<'_> {
    pub(super) fn instance(&mut self, n: &Node) {
        let name = match n.args.first() {
            Some(t) => t.text.clone(),
            None => {
                self.err(&n.kw.loc, "'vrrp_instance' expects a name");
                return;
            }
        };
        // Replaced by the real VRID in `complete`; an instance without one is dropped there.
        let Some(placeholder) = Vrid::new(1) else {
            return;
        };
        let mut r = RawInstance {
            inst: Instance::new(name, placeholder),
            spans: InstanceSpans {
                block: Some(n.kw.loc.clone()),
                fields: HashMap::new(),
                entries: HashMap::new(),
            },
            block: n.kw.loc.clone(),
            vrid: None,
            state: None,
            priority: None,
            version: None,
            advert_int: None,
            auth_type: None,
            auth_pass: None,
            garp: GarpRaw::default(),
            strict: None,
            skip_check_adv_addr: None,
            lower_prio_no_advert: None,
            higher_prio_send_advert: None,
            owner_ignore_adverts: None,
            timer_expired_backup: None,
            v3_checksum_as_v2: None,
            down_timer_adverts: None,
            accept: None,
            nopreempt: None,
            preempt_delay: None,
            unicast_kw: None,
            no_vips_ok: None,
            vmac: None,
            native_ipv6: None,
            smtp_alert: None,
        };
        r.spans.fields.insert("name", n.kw.loc.clone());
        for c in self.block(n) {
            self.instance_kw(&mut r, c);
        }
        self.raw.push(r);
    }

    pub(super) fn instance_kw(&mut self, r: &mut RawInstance, n: &Node) {
        let kw = n.kw.text.as_str();
        let loc = n.kw.loc.clone();
        // `vrrpd check` points at the notify command it talks about.
        if let Some(k) = NOTIFY_KEYWORDS.iter().find(|k| **k == kw) {
            r.spans.fields.insert(*k, loc.clone());
        }
        match kw {
            "state" => {
                if let Some(t) = self.arg(n) {
                    let s = match t.text.as_str() {
                        "MASTER" => InitialState::Master,
                        "BACKUP" => InitialState::Backup,
                        other => {
                            self.warn(
                                &t.loc,
                                format!(
                                    "'state' expects MASTER or BACKUP, got '{other}'; using BACKUP"
                                ),
                            );
                            InitialState::Backup
                        }
                    };
                    r.state = Some((s, loc.clone()));
                    r.spans.fields.insert("state", loc);
                }
            }
            "interface" => {
                r.inst.interface = self.string(n);
                if r.inst.interface.as_deref() == Some("lo") {
                    self.err(
                        &loc,
                        "'interface lo': keepalived rejects the loopback interface",
                    );
                }
                r.spans.fields.insert("interface", loc);
            }
            "virtual_router_id" => {
                r.spans.fields.insert("vrid", loc.clone());
                if let Some(t) = self.arg(n) {
                    match t.text.parse::<u8>().ok().and_then(Vrid::new) {
                        Some(v) => r.vrid = Some(v),
                        None => self.err(
                            &t.loc,
                            format!(
                                "'virtual_router_id' expects an integer 1..255, got '{}'",
                                t.text
                            ),
                        ),
                    }
                }
            }
            "priority" => {
                r.spans.fields.insert("priority", loc.clone());
                if let Some(t) = self.arg(n) {
                    match t.text.parse::<u8>() {
                        Ok(p) if p >= 1 => r.priority = Some(p),
                        _ => self.warn(
                            &t.loc,
                            format!(
                                "'priority' expects an integer 1..255, got '{}'; using default 100 as keepalived does",
                                t.text
                            ),
                        ),
                    }
                }
            }
            "advert_int" => {
                r.spans.fields.insert("advert_int", loc.clone());
                if let Some(s) = self.secs(n) {
                    if s < Secs::from_micros(10_000) || s > Secs::from_secs(255) {
                        self.warn(
                            &loc,
                            format!("'advert_int' {s} outside 0.01..255 seconds; using default 1 as keepalived does"),
                        );
                    } else {
                        r.advert_int = Some((s, loc));
                    }
                }
            }
            "version" => {
                r.spans.fields.insert("version", loc.clone());
                match self.int(n, 2, 3) {
                    Some(2) => r.version = Some((Version::V2, loc)),
                    Some(3) => r.version = Some((Version::V3, loc)),
                    _ => {}
                }
            }
            "authentication" => {
                for c in self.block(n) {
                    match c.kw.text.as_str() {
                        "auth_type" => {
                            if let Some(t) = self.arg(c) {
                                r.auth_type = Some((t.text.clone(), t.loc.clone()));
                            }
                        }
                        "auth_pass" => {
                            self.no_block(c);
                            match c.args.first() {
                                Some(t) => r.auth_pass = Some((t.text.clone(), t.loc.clone())),
                                None => {
                                    self.warn(&c.kw.loc, "'auth_pass' expects a password; ignored")
                                }
                            }
                        }
                        _ => self.unknown(c, "authentication"),
                    }
                }
            }
            "virtual_ipaddress" => {
                r.spans.fields.insert("vips", loc);
                for c in self.block(n) {
                    if let Some(v) = self.vip(c) {
                        r.inst.vips.push(v);
                        r.entry_locs("vips").push(c.kw.loc.clone());
                    }
                }
            }
            "virtual_ipaddress_excluded" => {
                r.spans.fields.entry("excluded_vips").or_insert(loc);
                for c in self.block(n) {
                    if let Some(v) = self.vip(c) {
                        r.inst.excluded_vips.push(v);
                        r.entry_locs("excluded_vips").push(c.kw.loc.clone());
                    }
                }
            }
            "no_virtual_ipaddress" => {
                self.no_block(n);
                r.no_vips_ok = Some(loc);
            }
            "unicast_src_ip" => {
                r.spans.fields.insert("unicast_src", loc.clone());
                r.unicast_kw = Some(loc);
                if let Some(t) = self.arg(n) {
                    r.inst.unicast_src = self.ip_tok("'unicast_src_ip'", t);
                }
            }
            "unicast_peer" => {
                r.spans.fields.insert("unicast_peers", loc.clone());
                r.unicast_kw = Some(loc);
                for c in self.block(n) {
                    if let Some(p) = self.peer(c) {
                        r.inst.unicast_peers.push(p);
                        r.entry_locs("unicast_peers").push(c.kw.loc.clone());
                    }
                }
            }
            "unicast_fault_no_peer" => {
                r.unicast_kw = Some(loc);
                r.inst.unicast_fault_no_peer = self.boolean(n);
            }
            "check_unicast_src" => r.inst.check_unicast_src = self.boolean(n),
            "mcast_src_ip" => {
                if let Some(t) = self.arg(n) {
                    r.inst.mcast_src_ip = self.ip_tok("'mcast_src_ip'", t);
                }
            }
            "mcast_dst_ip" => {
                if let Some(t) = self.arg(n) {
                    r.inst.mcast_dst_ip = self.ip_tok("'mcast_dst_ip'", t);
                }
            }
            "v3_checksum_as_v2" => r.v3_checksum_as_v2 = Some(self.boolean(n)),
            // keepalived's vrrp_unicast_chksum_handler(): no argument is
            // the old sum, `never` forbids the automatic switch; the
            // keyword also marks the instance as meant for unicast.
            "old_unicast_checksum" => {
                self.no_block(n);
                r.unicast_kw = Some(loc.clone());
                match n.args.first() {
                    None => r.inst.old_unicast_checksum = OldUnicastChecksum::Always,
                    Some(t) if t.text == "never" => {
                        r.inst.old_unicast_checksum = OldUnicastChecksum::Never
                    }
                    Some(t) => self.warn(
                        &t.loc,
                        format!(
                            "({}) Unknown old_unicast_chksum mode {} - ignoring",
                            r.inst.name, t.text
                        ),
                    ),
                }
            }
            "linkbeat_use_polling" => {
                self.no_block(n);
                r.inst.linkbeat_use_polling = true;
                let msg = format!(
                    "({}) 'linkbeat_use_polling' in vrrp instance deprecated - use linkbeat_interfaces block",
                    r.inst.name
                );
                self.warn(&loc, msg);
            }
            "native_ipv6" => {
                self.no_block(n);
                r.native_ipv6 = Some(loc.clone());
            }
            // keepalived stores it (0..4) and acts on nothing.
            "debug" => {
                if n.args.is_empty() {
                    self.no_block(n);
                } else if let Some(t) = self.arg(n) {
                    if !matches!(t.text.parse::<u8>(), Ok(0..=4)) {
                        let msg = format!(
                            "({}) Debug value '{}' not valid; must be between 0-4",
                            r.inst.name, t.text
                        );
                        self.warn(&t.loc, msg);
                    }
                }
            }
            "track_src_ip" => {
                self.no_block(n);
                r.inst.track_src_ip = true;
            }
            "garp_extra_if" | "vmac_garp_intvl" => {
                if let Some(g) = self.garp_extra_if(n, 0, Some(&r.inst.name)) {
                    r.inst.garp_extra_if = Some(g);
                }
            }
            // 0 is keepalived's "unset".
            "kernel_rx_buf_size" => {
                if let Some(v) = self.int(n, 0, i64::from(u32::MAX)) {
                    r.inst.kernel_rx_buf_size = u32::try_from(v).ok().filter(|v| *v > 0);
                }
            }
            "unicast_ttl" => {
                r.spans.fields.insert("unicast_ttl", loc.clone());
                if let Some(v) = self.int(n, 0, 255) {
                    r.inst.unicast_ttl = u8::try_from(v).ok();
                }
            }
            "track_interface" => {
                r.spans.fields.entry("track_interfaces").or_insert(loc);
                for (t, at) in self.track_interfaces(n) {
                    r.inst.track_interfaces.push(t);
                    r.entry_locs("track_interfaces").push(at);
                }
            }
            "track_script" | "track_file" | "track_process" | "track_probe" => {
                let (field, max) = match kw {
                    "track_script" => ("track_scripts", 253),
                    "track_file" => ("track_files", 254),
                    "track_process" => ("track_processes", 254),
                    _ => ("track_probes", 253),
                };
                r.spans.fields.entry(field).or_insert(loc);
                for (t, at) in self.track_refs(n, max) {
                    r.track_list(field).push(t);
                    r.entry_locs(field).push(at);
                }
            }
            "dont_track_primary" => r.inst.dont_track_primary = self.boolean(n),
            "nopreempt" => {
                self.no_block(n);
                r.inst.nopreempt = true;
                r.nopreempt = Some(loc);
            }
            "preempt" => {
                self.no_block(n);
                r.inst.nopreempt = false;
                r.nopreempt = None;
            }
            "preempt_delay" => {
                if let Some(s) = self.secs(n) {
                    if s > Secs::from_secs(1000) {
                        self.warn(&loc, "'preempt_delay' must be 0..1000 seconds; ignored");
                    } else {
                        r.inst.preempt_delay = s;
                        r.preempt_delay = Some(loc);
                    }
                }
            }
            "garp_master_delay" => r.garp.master_delay = self.secs(n),
            "garp_master_repeat" => r.garp.master_repeat = self.u32_of(n, 1, 65535),
            "garp_master_refresh" => r.garp.master_refresh = self.secs(n),
            "garp_master_refresh_repeat" => r.garp.master_refresh_repeat = self.u32_of(n, 1, 65535),
            "garp_lower_prio_delay" => r.garp.lower_prio_delay = self.secs(n),
            "garp_lower_prio_repeat" => r.garp.lower_prio_repeat = self.u32_of(n, 0, 65535),
            "lower_prio_no_advert" => r.lower_prio_no_advert = Some(self.boolean(n)),
            "higher_prio_send_advert" => r.higher_prio_send_advert = Some(self.boolean(n)),
            "fast_handover" => r.inst.fast_handover = self.boolean(n),
            "owner_ignore_adverts" => r.owner_ignore_adverts = Some((self.boolean(n), loc)),
            // keepalived 2.3.2 (`timer_expired_backup [PRIORITY]`, default
            // 254; its first spelling `thread_timer_expired` is kept there
            // with an error asking for the new one): a Master whose own
            // process was not scheduled for longer than the other router's
            // Master_Down_Interval goes Backup (nopreempt only).
            "timer_expired_backup" | "thread_timer_expired" => {
                self.no_block(n);
                if kw == "thread_timer_expired" {
                    self.warn(&loc, "thread_timer_expired - please replace with keyword 'timer_expired_backup' (keepalived's wording)");
                }
                if let Some(t) = n.args.get(1) {
                    self.warn(&t.loc, format!("extra arguments after '{kw}' ignored"));
                }
                let prio = match n.args.first() {
                    Some(t) => self.int_tok(kw, t, 1, 254),
                    None => Some(254),
                };
                if let Some(p) = prio.and_then(|p| u8::try_from(p).ok()) {
                    r.timer_expired_backup = Some((p, loc));
                }
            }
            "down_timer_adverts" => {
                if let Some(v) = self.u32_of(n, 1, 100) {
                    r.down_timer_adverts = Some((v, loc));
                }
            }
            "accept" => {
                self.no_block(n);
                r.spans.fields.insert("accept", loc.clone());
                r.accept = Some((true, loc));
            }
            "no_accept" => {
                self.no_block(n);
                r.spans.fields.insert("accept", loc.clone());
                r.accept = Some((false, loc));
            }
            "skip_check_adv_addr" => r.skip_check_adv_addr = Some(self.boolean(n)),
            "strict_mode" => r.strict = Some(self.boolean(n)),
            "notify_master" => r.inst.notify.master = self.notify_command(n),
            "notify_backup" => r.inst.notify.backup = self.notify_command(n),
            "notify_fault" => r.inst.notify.fault = self.notify_command(n),
            "notify_stop" => r.inst.notify.stop = self.notify_command(n),
            "notify_deleted" => {
                r.inst.notify.deleted = if n.args.is_empty() {
                    Some(Box::new(Command {
                        cmd: String::new(),
                        run_as: None,
                    }))
                } else {
                    self.notify_command(n)
                }
            }
            "notify" => r.inst.notify.any = self.notify_command(n),
            "notify_master_rx_lower_pri" => r.inst.notify.master_rx_lower_pri = self.notify_command(n),
            "notify_priority_changes" => {
                r.inst.notify_priority_changes = Some(self.boolean(n));
            }
            "smtp_alert" => r.smtp_alert = Some(self.boolean(n)),
            "use_vmac" => self.use_vmac(r, n),
            "vmac_xmit_base" => r.inst.vmac_xmit_base = self.boolean(n),
            "use_vmac_addr" => {
                // keepalived's handler reads no argument: set whatever follows.
                self.no_block(n);
                if let Some(t) = n.args.first() {
                    let msg = format!("'use_vmac_addr' takes no argument; '{}' ignored, as keepalived does", t.text);
                    self.warn(&t.loc, msg);
                }
                r.inst.use_vmac_addr = true;
            }
            // An ipvlan shares the base interface's MAC: it is an address
            // carrier without a virtual MAC. Refused rather than run on the
            // base interface without saying so.
            "use_ipvlan" => self.err(
                &loc,
                "'use_ipvlan' is not supported by vrrpd (use_vmac is); remove it to run the instance on its interface",
            ),
            "virtual_routes" => {
                r.spans.fields.entry("virtual_routes").or_insert(loc);
                for c in self.block(n) {
                    if let Some(route) = self.route(c) {
                        r.inst.virtual_routes.push(route);
                        r.entry_locs("virtual_routes").push(c.kw.loc.clone());
                    }
                }
            }
            "virtual_rules" => {
                r.spans.fields.entry("virtual_rules").or_insert(loc);
                for c in self.block(n) {
                    if let Some(rule) = self.rule(c) {
                        r.inst.virtual_rules.push(rule);
                        r.entry_locs("virtual_rules").push(c.kw.loc.clone());
                    }
                }
            }
            "promote_secondaries" => r.inst.promote_secondaries = self.boolean(n),
            "auth_hmac" => {
                r.spans.fields.insert("auth_hmac", loc);
                let name = r.inst.name.clone();
                self.auth_hmac(n, &name, &mut r.inst.auth_hmac);
            }
            "smtp_alert_vrrp" | "track_bfd" => self.not_done(n),
            kw if INSTANCE_IGNORED.contains(&kw) => self.ignored(n),
            _ => self.unknown(n, "vrrp_instance"),
        }
    }

    /// `garp_extra_if [all] SECS` (instance: 0..86400, 0 turning it off
    /// for this instance) and `vrrp_garp_extra_if` (global: 1..86400),
    /// with their deprecated names, as keepalived's handlers read them.
    pub(super) fn garp_extra_if(
        &mut self,
        n: &Node,
        min: u32,
        instance: Option<&str>,
    ) -> Option<GarpExtraIf> {
        self.no_block(n);
        let kw = n.kw.text.as_str();
        let who = instance.map(|i| format!("({i}): ")).unwrap_or_default();
        if kw == "vmac_garp_intvl" || kw == "vrrp_vmac_garp_intvl" {
            let new = if instance.is_some() {
                "garp_extra_if"
            } else {
                "vrrp_garp_extra_if"
            };
            self.warn(
                &n.kw.loc,
                format!("Keyword \"{kw}\" is deprecated - please use \"{new}\""),
            );
        }
        let mut all = false;
        let mut interval = None;
        for t in &n.args {
            if t.text == "all" {
                all = true;
                continue;
            }
            match t.text.parse::<u32>() {
                Ok(v) if (min..=86400).contains(&v) => interval = Some(v),
                _ => {
                    self.warn(&t.loc, format!("{who}{kw} '{}' invalid - ignoring", t.text));
                    return None;
                }
            }
        }
        let Some(interval) = interval else {
            self.warn(
                &n.kw.loc,
                format!("{who}{kw} specified without time - ignoring"),
            );
            return None;
        };
        Some(GarpExtraIf { interval, all })
    }

    /// `use_vmac [[name] IFNAME] [MAC] [netlink_notify_msg] [group GROUP]`
    /// (the `name` and `group` words are keepalived 2.3's; a word with a
    /// ':' is the MAC, as keepalived tells them apart). An unnamed VMAC
    /// gets keepalived's generated name in `complete`.
    fn use_vmac(&mut self, r: &mut RawInstance, n: &Node) {
        self.no_block(n);
        let mut name = None;
        let mut it = n.args.iter();
        while let Some(t) = it.next() {
            match t.text.as_str() {
                "netlink_notify_msg" => {}
                "group" => match it.next() {
                    Some(g) => r.inst.vmac_group = Some(g.text.clone()),
                    None => self.warn(&t.loc, "'group' expects an interface group; ignored"),
                },
                "name" => match it.next() {
                    Some(v) => name = Some(v),
                    None => self.warn(&t.loc, "'name' expects an interface name; ignored"),
                },
                text if text.contains(':') => match parse_mac(text) {
                    _ if r.inst.vmac_mac.is_some() => {
                        self.err(&t.loc, "VMAC interface address already specified")
                    }
                    None => self.err(&t.loc, format!("VMAC invalid MAC address {text}")),
                    Some(mac) => match mac_problem(&mac) {
                        Some(why) => self.err(&t.loc, format!("VMAC MAC address {text} {why}")),
                        None => r.inst.vmac_mac = Some(text.to_string()),
                    },
                },
                _ => {
                    if name.is_some() {
                        self.warn(&t.loc, "VMAC interface name already specified; ignored");
                    } else {
                        name = Some(t);
                    }
                }
            }
        }
        if let Some(t) = name {
            if t.text.is_empty() || t.text.len() > 15 || t.text.contains(['/', ' ']) {
                self.warn(
                    &t.loc,
                    format!(
                        "VMAC interface name '{}' too long or invalid characters - ignoring",
                        t.text
                    ),
                );
                name = None;
            }
        }
        r.vmac = Some(name.map(|t| t.text.clone()));
    }
}
