//! `global_defs`, and the top-level `garp_group` blocks that pace announcements.

use super::super::lexer::{Node, Token};
use super::super::model::*;
use super::{tokens_of, Parser};
use crate::proto::Version;

const GLOBAL_IGNORED: &[&str] = &[
    "smtp_alert_checker",
    "enable_snmp_vrrp",
    "enable_snmp_keepalived",
    "enable_snmp_rfc",
    "enable_snmp_rfcv2",
    "enable_snmp_rfcv3",
    "enable_snmp_checker",
    "enable_traps",
    "snmp_socket",
    "enable_dbus",
    "dbus_service_name",
    "dbus_no_interface_name",
    "state_file_location",
    "stats_file_location",
    "json_file_location",
];

impl Parser<'_> {
    pub(super) fn global(&mut self, n: &Node) {
        match n.kw.text.as_str() {
            "router_id" => self.cfg.global.router_id = self.string(n),
            "notification_email" => {
                let list: Vec<String> = self
                    .block(n)
                    .iter()
                    .flat_map(|c| tokens_of(c).map(|t| t.text.clone()))
                    .collect();
                self.cfg.global.notification_email.extend(list);
            }
            "notification_email_from" => self.cfg.global.notification_email_from = self.string(n),
            "smtp_server" => {
                self.no_block(n);
                let s: Vec<&str> = n.args.iter().map(|t| t.text.as_str()).collect();
                if s.is_empty() {
                    self.warn(&n.kw.loc, "'smtp_server' expects an address; ignored");
                } else {
                    // vrrpd sends to an address (keepalived also resolves a
                    // host name): anything else would fail only at the
                    // first transition, so say it here.
                    let addr_ok = s[0].parse::<std::net::IpAddr>().is_ok();
                    let port_ok = s.get(1).is_none_or(|p| p.parse::<u16>().is_ok());
                    if !addr_ok {
                        self.warn(
                            &n.args[0].loc,
                            format!("'smtp_server': '{}' is not an IP address; vrrpd mails to an address only (no name lookup): no e-mail will be sent", s[0]),
                        );
                    } else if !port_ok {
                        self.warn(
                            &n.args[1].loc,
                            format!("'smtp_server': '{}' is not a port; no e-mail will be sent", s[1]),
                        );
                    }
                    self.cfg.global.smtp_server = Some(s.join(" "));
                }
            }
            "smtp_connect_timeout" => self.cfg.global.smtp_connect_timeout = self.secs(n),
            "vrrp_skip_check_adv_addr" => self.g.skip_check_adv_addr = self.boolean(n),
            "vrrp_strict" => self.g.strict = self.boolean(n),
            "vrrp_garp_interval" => {
                // keepalived 2.2 rejects 0 from its own sample (#2066); 0 = no pacing.
                if let Some(s) = self.secs(n) {
                    self.cfg.global.garp_interval = s;
                }
            }
            "vrrp_gna_interval" => {
                if let Some(s) = self.secs(n) {
                    self.cfg.global.gna_interval = s;
                }
            }
            "vrrp_garp_master_delay" => self.g.garp.master_delay = self.secs(n),
            "vrrp_garp_master_repeat" => self.g.garp.master_repeat = self.u32_of(n, 1, 65535),
            "vrrp_garp_master_refresh" => self.g.garp.master_refresh = self.secs(n),
            "vrrp_garp_master_refresh_repeat" => {
                self.g.garp.master_refresh_repeat = self.u32_of(n, 1, 65535)
            }
            "vrrp_garp_lower_prio_delay" => self.g.garp.lower_prio_delay = self.secs(n),
            "vrrp_garp_lower_prio_repeat" => {
                self.g.garp.lower_prio_repeat = self.u32_of(n, 0, 65535)
            }
            "vrrp_min_garp" => self.g.min_garp = self.boolean(n),
            "vrrp_version" => {
                self.g.version = match self.int(n, 2, 3) {
                    Some(2) => Some(Version::V2),
                    Some(3) => Some(Version::V3),
                    _ => None,
                }
            }
            "v3_checksum_as_v2" => self.g.v3_checksum_as_v2 = self.boolean(n),
            "vrrp_mcast_group4" => {
                if let Some(t) = self.arg(n) {
                    match t.text.parse() {
                        Ok(a) => self.cfg.global.mcast_group4 = a,
                        Err(_) => self.warn(
                            &t.loc,
                            format!("'{}' is not an IPv4 multicast address; ignored", t.text),
                        ),
                    }
                }
            }
            "vrrp_mcast_group6" => {
                if let Some(t) = self.arg(n) {
                    match t.text.parse() {
                        Ok(a) => self.cfg.global.mcast_group6 = a,
                        Err(_) => self.warn(
                            &t.loc,
                            format!("'{}' is not an IPv6 multicast address; ignored", t.text),
                        ),
                    }
                }
            }
            // vrrpd checks unicast sources by default; the keyword is accepted.
            "vrrp_check_unicast_src" => {
                self.boolean(n);
            }
            "vrrp_lower_prio_no_advert" => self.g.lower_prio_no_advert = self.boolean(n),
            "vrrp_higher_prio_send_advert" => self.g.higher_prio_send_advert = self.boolean(n),
            "vrrp_down_timer_adverts" => self.g.down_timer_adverts = self.u32_of(n, 1, 100),
            "vrrp_owner_ignore_adverts" => self.g.owner_ignore_adverts = self.boolean(n),
            "vrrp_startup_delay" => {
                if let Some(s) = self.secs(n) {
                    self.cfg.global.startup_delay = s;
                }
            }
            // keepalived 2.3: measured from boot (/proc/uptime), read by the
            // daemon at start so that parsing stays pure.
            "vrrp_delay_after_boot" => {
                if let Some(s) = self.secs(n) {
                    self.cfg.global.delay_after_boot = s;
                }
            }
            "vrrp_priority" => {
                let nice = self.int(n, -20, 19).and_then(|v| Nice::try_from(v).ok());
                self.cfg.global.scheduling.nice = nice.or(self.cfg.global.scheduling.nice);
            }
            "vrrp_rt_priority" => {
                let prio = self.int(n, 1, 99).and_then(|v| RtPriority::try_from(v).ok());
                self.cfg.global.scheduling.realtime_priority =
                    prio.or(self.cfg.global.scheduling.realtime_priority);
            }
            // keepalived reads both spellings (`rtime` is its old typo).
            "vrrp_rlimit_rttime" | "vrrp_rlimit_rtime" => {
                let limit = self
                    .int(n, 2, i64::from(u32::MAX))
                    .and_then(|v| RtTime::try_from(v).ok());
                self.cfg.global.scheduling.rlimit_rttime_us =
                    limit.or(self.cfg.global.scheduling.rlimit_rttime_us);
            }
            // keepalived: no value is the highest SCHED_RR priority; -1 and
            // 0 turn it off (0 is the default).
            "max_auto_priority" => {
                self.no_block(n);
                let sched = &mut self.cfg.global.scheduling;
                match n.args.first() {
                    None => sched.max_auto_priority = RtPriority::try_from(99).ok(),
                    Some(_) => {
                        if let Some(v) = self.int(n, -1, 99) {
                            self.cfg.global.scheduling.max_auto_priority =
                                RtPriority::try_from(v).ok();
                        }
                    }
                }
            }
            "min_auto_priority_delay" => {
                let delay = self
                    .int(n, 1, 10_000_000)
                    .and_then(|v| AutoDelay::try_from(v).ok());
                self.cfg.global.scheduling.min_auto_priority_delay_us =
                    delay.or(self.cfg.global.scheduling.min_auto_priority_delay_us);
            }
            "vrrp_no_swap" => self.cfg.global.scheduling.lock_memory = self.boolean(n),
            "vrrp_cpu_affinity" => self.cpu_affinity(n),
            "script_user" => {
                self.no_block(n);
                if n.args.is_empty() {
                    self.warn(&n.kw.loc, "'script_user' expects a user name; ignored");
                }
                self.cfg.global.script_user = self.run_as(&n.args);
            }
            "enable_script_security" => self.cfg.global.enable_script_security = self.boolean(n),
            "notify_fifo" => {
                self.global_locs.insert("notify_fifo", n.kw.loc.clone());
                self.cfg.global.notify_fifo = self.fifo(n)
            }
            "notify_fifo_script" => {
                self.global_locs
                    .insert("notify_fifo_script", n.kw.loc.clone());
                self.cfg.global.notify_fifo_script = self.command(n)
            }
            "vrrp_notify_fifo" => {
                self.global_locs.insert("vrrp_notify_fifo", n.kw.loc.clone());
                self.cfg.global.vrrp_notify_fifo = self.fifo(n)
            }
            "vrrp_notify_fifo_script" => {
                self.global_locs
                    .insert("vrrp_notify_fifo_script", n.kw.loc.clone());
                self.cfg.global.vrrp_notify_fifo_script = self.command(n)
            }
            "vrrp_notify_priority_changes" => {
                self.cfg.global.notify_priority_changes = self.boolean(n)
            }
            "dynamic_interfaces" => self.cfg.global.dynamic_interfaces = true,
            "default_interface" => self.cfg.global.default_interface = self.string(n),
            "log_unknown_vrids" => self.cfg.global.log_unknown_vrids = self.boolean(n),
            "vrrp_garp_extra_if" | "vrrp_vmac_garp_intvl" => {
                if let Some(g) = self.garp_extra_if(n, 1, None) {
                    self.g.garp_extra_if = Some(g);
                }
            }
            "vmac_prefix" => {
                if let Some(t) = self.arg(n) {
                    if self.g.vmac_prefix.is_some() {
                        let msg = format!("vmac prefix has already been specified - ignoring {}", t.text);
                        self.warn(&t.loc, msg);
                    } else {
                        self.g.vmac_prefix = Some(t.text.clone());
                    }
                }
            }
            "vmac_addr_prefix" => {
                if let Some(t) = self.arg(n) {
                    if self.g.vmac_addr_prefix.is_some() {
                        let msg = format!("vmac_addr prefix has already been specified - ignoring {}", t.text);
                        self.warn(&t.loc, msg);
                    } else {
                        self.g.vmac_addr_prefix = Some(t.text.clone());
                    }
                }
            }
            "disable_local_igmp" => {
                self.no_block(n);
                self.cfg.global.disable_local_igmp = true;
            }
            "vrrp_rx_bufs_policy" => self.rx_bufs_policy(n),
            "vrrp_rx_bufs_multiplier" => {
                if let Some(v) = self.int(n, 1, i64::from(u32::MAX)) {
                    self.cfg.global.rx_bufs_multiplier = u32::try_from(v).unwrap_or(u32::MAX);
                }
            }
            // vrrpd extension (keepalived warns about it and skips it).
            "metrics_listen" => self.metrics_listen(n),
            // keepalived 2.3+ (2.2.7 warns and uses /tmp).
            // keepalived 2.3's man page says `*_file_location`, its parser
            // reads `*_dump_file` (global_parser.c): both are accepted.
            "state_file_location" | "state_dump_file" => {
                self.cfg.global.state_file_location = self.dump_path(n)
            }
            "stats_file_location" | "stats_dump_file" => {
                self.cfg.global.stats_file_location = self.dump_path(n)
            }
            "json_file_location" | "json_dump_file" => {
                self.cfg.global.json_file_location = self.dump_path(n)
            }
            "nftables" => self.nftables(n),
            // keepalived 2.2.7 as Debian builds it (NFTABLES, no IPTABLES)
            // takes the legacy keyword for `nftables keepalived`
            // (global_parser.c vrrp_iptables_handler), saying so.
            "vrrp_iptables" => {
                self.warn(
                    &n.kw.loc,
                    "iptables not supported, using nftables instead (table keepalived); replace 'vrrp_iptables' and 'vrrp_ipsets' with 'nftables'",
                );
                self.cfg.global.nftables.table = "keepalived".into();
                self.cfg.global.nftables.priority = -1;
            }
            "nftables_priority" => {
                let t = self.arg(n);
                if let Some(t) = t {
                    match t.text.parse::<i32>() {
                        Ok(p) => self.cfg.global.nftables.priority = p,
                        Err(_) => self.warn(
                            &t.loc,
                            format!("invalid nftables chain priority '{}'; ignored", t.text),
                        ),
                    }
                }
            }
            "nftables_counters" => {
                self.no_block(n);
                self.cfg.global.nftables.counters = true;
            }
            "nftables_ifindex" => {
                self.no_block(n);
                self.cfg.global.nftables.ifindex = true;
            }
            "startup_script" | "shutdown_script" => self.hook_script(n),
            // keepalived 2.3: where iproute2's name files are read for the
            // table and protocol names of routes and rules. Names already
            // looked up keep their values; later ones use the new place.
            "iproute_etc_dir" | "iproute_usr_dir" => {
                if let Some(t) = self.arg(n) {
                    let slot = usize::from(n.kw.text == "iproute_usr_dir");
                    self.iproute_dirs[slot] = t.text.clone();
                    self.rt = None;
                }
            }
            "umask" => self.umask(n),
            "vrrp_ipsets" => self.not_done(n),
            // Applied by the lexer, where includes are read.
            "include_check" => {}
            "smtp_helo_name" => self.cfg.global.smtp_helo_name = self.string(n),
            "no_email_faults" => self.cfg.global.no_email_faults = self.boolean(n),
            "smtp_alert" => self.g.smtp_alert = Some(self.boolean(n)),
            "smtp_alert_vrrp" => self.g.smtp_alert_vrrp = Some(self.boolean(n)),
            // keepalived 2.3: the JSON dump's layout; vrrpd writes 2.2.7's,
            // which is version 1.
            "json_version" => {
                if let Some(v) = self.int(n, 1, 2) {
                    if v == 2 {
                        self.warn(
                            &n.kw.loc,
                            "'json_version 2' is not implemented: vrrpd writes keepalived 2.2.7's JSON dump, version 1",
                        );
                    }
                }
            }
            "vrrp_netlink_cmd_rcv_bufs" | "vrrp_netlink_monitor_rcv_bufs" => {
                if let Some(v) = self.u32_of(n, 0, u32::MAX) {
                    let b = &mut self.cfg.global.netlink_rcv_bufs;
                    if n.kw.text.contains("_cmd_") {
                        b.cmd = v;
                    } else {
                        b.monitor = v;
                    }
                }
            }
            "vrrp_netlink_cmd_rcv_bufs_force" => {
                self.cfg.global.netlink_rcv_bufs.cmd_force = self.boolean(n)
            }
            "vrrp_netlink_monitor_rcv_bufs_force" => {
                self.cfg.global.netlink_rcv_bufs.monitor_force = self.boolean(n)
            }
            "random_seed" | "config_save_dir" | "tmp_config_directory" => self.no_effect(n),
            "data_use_instance" => self.cfg.global.data_use_instance = self.boolean(n),
            "reload_time_file" => {
                if let Some(t) = self.arg(n) {
                    self.cfg.global.reload_time_file = Some(t.text.clone().into());
                }
            }
            "reload_repeat" => self.cfg.global.reload_repeat = self.boolean(n),
            // keepalived: no path is its default file (global_parser.c).
            "reload_file" => {
                self.no_block(n);
                let path = n.args.first().map_or("/run/keepalived.reload", |t| t.text.as_str());
                self.cfg.global.reload_file = Some(path.into());
            }
            "fifo_write_vrrp_states_on_reload" => {
                self.cfg.global.fifo_write_vrrp_states_on_reload = self.boolean(n)
            }
            "process_names" => {
                self.no_block(n);
                self.process_name(n, "keepalived_vrrp", 2);
            }
            "vrrp_process_name" => {
                if let Some(t) = self.arg(n) {
                    self.process_name(n, &t.text, 2);
                }
            }
            "process_name" => {
                if let Some(t) = self.arg(n) {
                    self.process_name(n, &t.text, 1);
                }
            }
            "startup_script_timeout" | "shutdown_script_timeout" => {
                let (min, max) = (HOOK_TIMEOUT_RANGE.start(), HOOK_TIMEOUT_RANGE.end());
                if let Some(t) = self.u32_of(n, *min, *max) {
                    if n.kw.text == "startup_script_timeout" {
                        self.cfg.global.startup_script_timeout = t;
                    } else {
                        self.cfg.global.shutdown_script_timeout = t;
                    }
                }
            }
            // Top-level keywords in keepalived (install_keyword_root): in
            // global_defs it does not know them, nor act on them.
            "net_namespace" | "net_namespace_ipvs" | "namespace_with_ipsets" | "use_pid_dir"
            | "instance" | "child_wait_time" => self.warn(
                &n.kw.loc,
                format!(
                    "'{}' is a top-level keyword (outside global_defs); keepalived ignores it here, so does vrrpd",
                    n.kw.text
                ),
            ),
            "reload_check_config" => self.warn(
                &n.kw.loc,
                "'reload_check_config': vrrpd always validates a new configuration before a reload applies it; nothing else to do",
            ),
            kw if GLOBAL_IGNORED.contains(&kw) => self.ignored(n),
            _ => self.unknown(n, "global_defs"),
        }
    }

    /// `nftables [TABLE]` (keepalived's `vrrp_nftables_handler`): the
    /// table name, default `keepalived`; it also resets the chain priority
    /// to -1, so an `nftables_priority` written before it is lost there too.
    /// A second one is ignored, as keepalived does.
    pub(super) fn nftables(&mut self, n: &Node) {
        self.no_block(n);
        if self.g.nftables_given {
            self.warn(&n.kw.loc, "nftables already specified - ignoring");
            return;
        }
        let name = match n.args.first() {
            Some(t) => {
                if let Some(extra) = n.args.get(1) {
                    self.warn(&extra.loc, "extra arguments after 'nftables' ignored");
                }
                if let Err(e) = check_nft_table(&t.text) {
                    self.warn(&t.loc, format!("{e}; 'nftables' ignored"));
                    return;
                }
                t.text.clone()
            }
            None => "keepalived".into(),
        };
        self.g.nftables_given = true;
        self.cfg.global.nftables.table = name;
        self.cfg.global.nftables.priority = -1;
    }

    /// `vrrp_rx_bufs_policy MTU|ADVERT|SIZE...` (keepalived's handler):
    /// words case-insensitive; a size with a policy keeps the size, MTU
    /// with ADVERT keeps MTU, each with keepalived's warning.
    fn rx_bufs_policy(&mut self, n: &Node) {
        self.no_block(n);
        if n.args.is_empty() {
            self.warn(&n.kw.loc, "vrrp_rx_bufs_policy missing");
            return;
        }
        let (mut mtu, mut advert, mut size) = (false, false, None);
        for t in &n.args {
            if t.text.eq_ignore_ascii_case("MTU") {
                mtu = true;
            } else if t.text.eq_ignore_ascii_case("ADVERT") {
                advert = true;
            } else {
                match t.text.parse::<u32>() {
                    Ok(v) => size = Some(v),
                    Err(_) => self.warn(&t.loc, format!("Invalid vrrp_rx_bufs_policy {}", t.text)),
                }
            }
        }
        let policy = match (size, mtu, advert) {
            (Some(v), m, a) => {
                if m || a {
                    self.warn(
                        &n.kw.loc,
                        "Cannot set vrrp_rx_bufs_policy size and policy, ignoring policy",
                    );
                }
                RxBufsPolicy::Size(v)
            }
            (None, true, a) => {
                if a {
                    self.warn(
                        &n.kw.loc,
                        "Cannot set both vrrp_rx_bufs_policy MTU and ADVERT, ignoring ADVERT",
                    );
                }
                RxBufsPolicy::Mtu
            }
            (None, false, true) => RxBufsPolicy::Advert,
            (None, false, false) => return,
        };
        self.cfg.global.rx_bufs_policy = Some(policy);
    }

    /// `startup_script CMD [USER [GROUP]]` / `shutdown_script ...`
    /// (keepalived global_parser.c): a second one is ignored, with a
    /// warning, as keepalived keeps the first.
    fn hook_script(&mut self, n: &Node) {
        let startup = n.kw.text == "startup_script";
        let taken = if startup {
            self.cfg.global.startup_script.is_some()
        } else {
            self.cfg.global.shutdown_script.is_some()
        };
        if taken {
            self.warn(
                &n.kw.loc,
                format!("'{}' already specified; this one ignored", n.kw.text),
            );
            return;
        }
        let Some(cmd) = self.command(n) else { return };
        if startup {
            self.global_locs.insert("startup_script", n.kw.loc.clone());
            self.cfg.global.startup_script = Some(cmd);
        } else {
            self.global_locs.insert("shutdown_script", n.kw.loc.clone());
            self.cfg.global.shutdown_script = Some(cmd);
        }
    }

    /// `net_namespace NAME` (top level or in `global_defs`, as keepalived
    /// reads it): the first one counts, as in keepalived
    /// (global_parser.c); a name that cannot be a namespace is an error, not
    /// a daemon running in the wrong one.
    pub(super) fn net_namespace(&mut self, n: &Node) {
        let Some(t) = self.arg(n) else { return };
        if let Some(have) = &self.cfg.global.net_namespace {
            let msg = format!(
                "duplicate net_namespace {}; {have} is kept, this one ignored",
                t.text
            );
            self.warn(&n.kw.loc, msg);
            return;
        }
        match check_netns_name(&t.text) {
            Ok(()) => self.cfg.global.net_namespace = Some(t.text.clone()),
            Err(e) => self.err(&t.loc, format!("'net_namespace': {e}")),
        }
    }

    /// `umask MASK`: a number (C's strtol base 0: `077` octal, `0x3f` hex,
    /// `63` decimal) or keepalived's symbolic bits `IRGRP|IWGRP|...`
    /// (global_parser.c `umask_handler`); a bad one is ignored, located.
    fn umask(&mut self, n: &Node) {
        self.no_block(n);
        match parse_umask(&n.args) {
            Ok(bits) => self.cfg.global.umask = Some(bits),
            Err((loc, msg)) => {
                let loc = loc.unwrap_or_else(|| n.kw.loc.clone());
                self.warn(&loc, format!("'umask': {msg}; ignored"));
            }
        }
    }

    /// One of the three process-name keywords. vrrpd is keepalived's VRRP
    /// process and its parent in one: the VRRP process's name (`rank` 2:
    /// `vrrp_process_name`, `process_names`) wins over the parent's
    /// (`process_name`, rank 1), whatever their order.
    fn process_name(&mut self, n: &Node, name: &str, rank: u8) {
        let mut name = name.to_string();
        if name.len() > PROCESS_NAME_MAX {
            // keepalived truncates with an error; on a character boundary here.
            let mut end = PROCESS_NAME_MAX;
            while !name.is_char_boundary(end) {
                end -= 1;
            }
            name.truncate(end);
            let loc = n.args.first().map_or(&n.kw.loc, |t| &t.loc).clone();
            self.warn(
                &loc,
                format!("process name longer than {PROCESS_NAME_MAX} bytes; truncated to '{name}'"),
            );
        }
        if rank >= self.g.process_name_rank {
            self.g.process_name_rank = rank;
            self.cfg.global.process_name = Some(name);
        }
    }

    /// `instance NAME` (top level): the first one counts, as in keepalived.
    pub(super) fn instance_name(&mut self, n: &Node) {
        let Some(t) = self.arg(n) else { return };
        if let Some(have) = &self.cfg.global.instance {
            let msg = format!(
                "duplicate instance {}; {have} is kept, this one ignored",
                t.text
            );
            self.warn(&n.kw.loc, msg);
            return;
        }
        if let Err(e) = check_netns_name(&t.text) {
            // It names files: the same rule as a namespace name.
            let msg = e.replace(
                "network namespace name (a name from `ip netns list`)",
                "file name part",
            );
            self.err(&t.loc, format!("'instance': {msg}"));
            return;
        }
        self.cfg.global.instance = Some(t.text.clone());
    }

    /// `vrrp_cpu_affinity CPU...`: CPU numbers; a bad one is named and
    /// skipped, the rest apply.
    pub(super) fn cpu_affinity(&mut self, n: &Node) {
        self.no_block(n);
        if n.args.is_empty() {
            self.warn(
                &n.kw.loc,
                "'vrrp_cpu_affinity' expects CPU numbers; ignored",
            );
            return;
        }
        let mut cpus = Vec::new();
        for t in &n.args {
            if let Some(cpu) = self.int_tok(&n.kw.text, t, 0, 1023) {
                cpus.extend(u16::try_from(cpu).ok());
            }
        }
        self.cfg.global.scheduling.cpu_affinity = cpus;
    }

    /// `metrics_listen ADDR:PORT` (vrrpd extension). A value that does not
    /// parse is an error, not a warning: nobody writes this keyword for
    /// keepalived, and a silently absent endpoint would be found only when
    /// the dashboards go blank.
    pub(super) fn metrics_listen(&mut self, n: &Node) {
        self.no_block(n);
        let Some(t) = n.args.first() else {
            self.err(
                &n.kw.loc,
                "'metrics_listen' expects ADDRESS:PORT, e.g. 127.0.0.1:9650 or [::1]:9650",
            );
            return;
        };
        if let Some(extra) = n.args.get(1) {
            self.err(&extra.loc, "'metrics_listen' takes one ADDRESS:PORT");
            return;
        }
        match t.text.parse::<std::net::SocketAddr>() {
            Ok(addr) => self.cfg.global.metrics_listen = Some(addr),
            Err(_) => self.err(
                &t.loc,
                format!(
                    "'metrics_listen' expects ADDRESS:PORT, e.g. 127.0.0.1:9650 or [::1]:9650, got '{}'",
                    t.text
                ),
            ),
        }
    }

    /// `state_file_location` and its siblings: an absolute path.
    pub(super) fn dump_path(&mut self, n: &Node) -> Option<std::path::PathBuf> {
        let t = self.arg(n)?;
        match check_dump_path(&t.text) {
            Ok(p) => Some(p),
            Err(e) => {
                self.err(&t.loc, format!("'{}' {e}", n.kw.text));
                None
            }
        }
    }

    /// `garp_group { garp_interval S; gna_interval S; interface IF |
    /// interfaces { IF ... } }` with keepalived's checks (`vrrp_parser.c`):
    /// a group without any interval is dropped, an interface keeps its
    /// first group.
    pub(super) fn garp_group(&mut self, n: &Node) {
        let mut g = GarpGroup::default();
        let mut have_interval = false;
        let mut names: Vec<&Token> = Vec::new();
        for c in self.block(n) {
            match c.kw.text.as_str() {
                "garp_interval" => {
                    if let Some(s) = self.secs(c) {
                        g.garp_interval = s;
                        have_interval = true;
                    }
                }
                "gna_interval" => {
                    if let Some(s) = self.secs(c) {
                        g.gna_interval = s;
                        have_interval = true;
                    }
                }
                "interface" => {
                    self.no_block(c);
                    match c.args.first() {
                        Some(t) => names.push(t),
                        None => self.warn(&c.kw.loc, "'interface' expects a name; ignored"),
                    }
                }
                "interfaces" => {
                    let before = names.len();
                    for m in self.block(c) {
                        names.extend(tokens_of(m));
                    }
                    if names.len() == before {
                        self.warn(&c.kw.loc, "empty garp_group interfaces block");
                    }
                }
                _ => self.unknown(c, "garp_group"),
            }
        }
        for t in names {
            let taken = self
                .cfg
                .garp_groups
                .iter()
                .chain(std::iter::once(&g))
                .any(|o| o.interfaces.contains(&t.text));
            if taken {
                self.warn(
                    &t.loc,
                    format!("garp_group already specified for {} - ignoring", t.text),
                );
            } else {
                g.interfaces.push(t.text.clone());
            }
        }
        if !have_interval {
            self.warn(
                &n.kw.loc,
                "garp group does not have any delay set - removing",
            );
            return;
        }
        if g.interfaces.is_empty() {
            self.warn(&n.kw.loc, "garp_group without an interface; ignored");
            return;
        }
        self.cfg.garp_groups.push(g);
    }
}

/// keepalived's `umask` argument: a number (strtol base 0) alone, or
/// symbolic bits `IRUSR`...`IXOTH` joined by `|`, over one or more tokens.
/// The error names the token at fault (None: the keyword).
fn parse_umask(args: &[Token]) -> Result<u32, (Option<crate::config::Loc>, String)> {
    let Some(first) = args.first() else {
        return Err((None, "missing value".into()));
    };
    if first.text.starts_with(|c: char| c.is_ascii_digit()) {
        if let Some(extra) = args.get(1) {
            return Err((Some(extra.loc.clone()), "extra parameter".into()));
        }
        let t = first.text.as_str();
        let parsed = if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
            u32::from_str_radix(hex, 16)
        } else if t.len() > 1 && t.starts_with('0') {
            u32::from_str_radix(&t[1..], 8)
        } else {
            t.parse::<u32>()
        };
        return match parsed {
            Ok(bits) if bits & !0o777 == 0 => Ok(bits),
            _ => Err((Some(first.loc.clone()), format!("invalid umask value {t}"))),
        };
    }
    const BITS: [(&str, u32); 9] = [
        ("IRUSR", 0o400),
        ("IWUSR", 0o200),
        ("IXUSR", 0o100),
        ("IRGRP", 0o040),
        ("IWGRP", 0o020),
        ("IXGRP", 0o010),
        ("IROTH", 0o004),
        ("IWOTH", 0o002),
        ("IXOTH", 0o001),
    ];
    let mut bits = 0;
    // keepalived's `need_or`: a bit name must follow each '|' and separate
    // each pair of names; tokens split anywhere.
    let mut need_or = false;
    for t in args {
        let mut rest = t.text.as_str();
        while !rest.is_empty() {
            if need_or {
                match rest.strip_prefix('|') {
                    Some(r) => {
                        rest = r;
                        need_or = false;
                        continue;
                    }
                    None => {
                        return Err((
                            Some(t.loc.clone()),
                            format!("invalid umask syntax {}", t.text),
                        ))
                    }
                }
            }
            match BITS.iter().find(|(name, _)| rest.starts_with(name)) {
                Some((name, b)) => {
                    bits |= b;
                    rest = &rest[name.len()..];
                    need_or = true;
                }
                None => return Err((Some(t.loc.clone()), format!("unknown umask bit {rest}"))),
            }
        }
    }
    if !need_or {
        return Err((
            args.last().map(|t| t.loc.clone()),
            "umask missing bit value".into(),
        ));
    }
    Ok(bits)
}
