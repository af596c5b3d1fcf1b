//! The keepalived.conf front end: the block tree from [`super::lexer`] mapped
//! keyword by keyword onto the model, then keepalived's own completion rules
//! (`vrrp_complete_instance()`, reference §1.8) with a located warning for
//! every value it would default, clamp or drop.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::path::Path;

use crate::proto::wire::Auth;
use crate::proto::{Centis, Family, Priority, Version, Vrid};

use super::lexer::{build_tree, lex, Node, Token};
use super::model::*;
use super::source::FileSource;
use super::units::{pass_auth, Secs};
use super::{Diags, InstanceSpans, LoadOptions, Loc, Spans};

/// Parses `path` (and its includes) into a model.
pub(super) fn parse(
    path: &Path,
    src: &dyn FileSource,
    opts: &LoadOptions,
    diags: &mut Diags,
) -> (Config, Spans) {
    let file_loc = Loc::new(path.display().to_string().into(), 1, 1);
    let lines = lex(path, src, &opts.limits, opts.config_id.as_deref(), diags);
    let tree = build_tree(lines, &opts.limits, diags);
    let mut p = Parser {
        d: diags,
        cfg: Config::default(),
        g: GlobalDefaults::default(),
        raw: Vec::new(),
        groups: Vec::new(),
        script_locs: HashMap::new(),
        global_locs: HashMap::new(),
    };
    for node in &tree {
        p.top(node);
    }
    p.finish(file_loc)
}

/// Globals that only serve as per-instance defaults (folded in by `finish`).
#[derive(Default)]
struct GlobalDefaults {
    version: Option<Version>,
    strict: bool,
    skip_check_adv_addr: bool,
    lower_prio_no_advert: bool,
    higher_prio_send_advert: bool,
    owner_ignore_adverts: bool,
    v3_checksum_as_v2: bool,
    down_timer_adverts: Option<u32>,
    garp: GarpRaw,
    min_garp: bool,
}

#[derive(Default, Clone)]
struct GarpRaw {
    master_delay: Option<Secs>,
    master_repeat: Option<u32>,
    master_refresh: Option<Secs>,
    master_refresh_repeat: Option<u32>,
    lower_prio_delay: Option<Secs>,
    lower_prio_repeat: Option<u32>,
}

/// An instance as written, before keepalived's completion rules.
struct RawInstance {
    inst: Instance,
    spans: InstanceSpans,
    block: Loc,
    vrid: Option<Vrid>,
    state: Option<(InitialState, Loc)>,
    priority: Option<u8>,
    version: Option<(Version, Loc)>,
    advert_int: Option<(Secs, Loc)>,
    auth_type: Option<(String, Loc)>,
    auth_pass: Option<(String, Loc)>,
    garp: GarpRaw,
    strict: Option<bool>,
    skip_check_adv_addr: Option<bool>,
    lower_prio_no_advert: Option<bool>,
    higher_prio_send_advert: Option<bool>,
    owner_ignore_adverts: Option<bool>,
    v3_checksum_as_v2: Option<bool>,
    down_timer_adverts: Option<(u32, Loc)>,
    accept: Option<(bool, Loc)>,
    nopreempt: Option<Loc>,
    preempt_delay: Option<Loc>,
    unicast_kw: Option<Loc>,
    no_vips_ok: bool,
    vmac: Option<Option<String>>,
    track_locs: Vec<Loc>,
}

struct Parser<'d> {
    d: &'d mut Diags,
    cfg: Config,
    g: GlobalDefaults,
    raw: Vec<RawInstance>,
    groups: Vec<(SyncGroup, Loc, Vec<Loc>)>,
    script_locs: HashMap<String, Loc>,
    /// Where the global keywords `vrrpd check` points at were set.
    global_locs: HashMap<&'static str, Loc>,
}

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

const LVS_BLOCKS: &[&str] = &[
    "virtual_server",
    "virtual_server_group",
    "real_server",
    "lvs_sync_daemon",
];

/// keepalived keywords vrrpd recognises but does not implement (RARE tier or not VRRP).
const TOP_IGNORED: &[&str] = &[
    "static_ipaddress",
    "static_routes",
    "static_rules",
    "linkbeat_interfaces",
    "interface_up_down_delays",
    "track_group",
    "bfd_instance",
    "net_namespace",
    "net_namespace_ipvs",
    "namespace_with_ipsets",
    "instance",
    "use_pid_dir",
    "linkbeat_use_polling",
    "child_wait_time",
];

const GLOBAL_IGNORED: &[&str] = &[
    "smtp_helo_name",
    "smtp_alert",
    "smtp_alert_vrrp",
    "smtp_alert_checker",
    "no_email_faults",
    "vrrp_garp_extra_if",
    "vrrp_vmac_garp_intvl",
    "vrrp_delay_after_boot",
    "max_auto_priority",
    "min_auto_priority_delay",
    "vrrp_iptables",
    "vrrp_ipsets",
    "nftables",
    "nftables_priority",
    "nftables_counters",
    "nftables_ifindex",
    "disable_local_igmp",
    "vmac_prefix",
    "vmac_addr_prefix",
    "vrrp_netlink_cmd_rcv_bufs",
    "vrrp_netlink_cmd_rcv_bufs_force",
    "vrrp_netlink_monitor_rcv_bufs",
    "vrrp_netlink_monitor_rcv_bufs_force",
    "vrrp_rx_bufs_policy",
    "vrrp_rx_bufs_multiplier",
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
    "reload_time_file",
    "reload_repeat",
    "reload_file",
    "data_use_instance",
    "state_file_location",
    "stats_file_location",
    "json_file_location",
    "json_version",
    "startup_script",
    "startup_script_timeout",
    "shutdown_script",
    "shutdown_script_timeout",
    "process_names",
    "process_name",
    "vrrp_process_name",
    "umask",
    "random_seed",
    "config_save_dir",
    "tmp_config_directory",
    "include_check",
    "iproute_usr_dir",
    "iproute_etc_dir",
    "fifo_write_vrrp_states_on_reload",
    "vrrp_socket_priority",
    "net_namespace",
    "instance",
];

const INSTANCE_IGNORED: &[&str] = &[
    "unicast_ttl",
    "track_src_ip",
    "old_unicast_checksum",
    "track_bfd",
    "timer_expired_backup",
    "thread_timer_expired",
    "auth_hmac",
    "use_vmac_addr",
    "use_ipvlan",
    "vrf",
    "debug",
    "lvs_sync_daemon_interface",
    "linkbeat_use_polling",
    "kernel_rx_buf_size",
    "garp_extra_if",
    "native_ipv6",
];

fn is_lvs(kw: &str) -> bool {
    LVS_BLOCKS.contains(&kw)
        || kw.starts_with("lvs_")
        || kw.starts_with("checker_")
        || kw.starts_with("bfd_")
        || kw.starts_with("snmp_vs_")
        || kw.starts_with("snmp_rs_")
}

fn tokens_of(n: &Node) -> impl Iterator<Item = &Token> {
    std::iter::once(&n.kw).chain(n.args.iter())
}

impl Parser<'_> {
    // ---- small helpers: each reports what was expected, located --------

    fn warn(&mut self, loc: &Loc, msg: impl Into<String>) {
        self.d.warning(loc, msg);
    }

    fn err(&mut self, loc: &Loc, msg: impl Into<String>) {
        self.d.error(loc, msg);
    }

    fn unknown(&mut self, n: &Node, ctx: &str) {
        let kw = &n.kw.text;
        if is_lvs(kw) {
            self.warn(
                &n.kw.loc,
                format!("LVS/checker keyword '{kw}' ignored: vrrpd implements the VRRP side only"),
            );
        } else {
            self.warn(
                &n.kw.loc,
                format!("unknown keyword '{kw}' in {ctx}; ignored, as keepalived does"),
            );
        }
    }

    fn ignored(&mut self, n: &Node) {
        self.warn(
            &n.kw.loc,
            format!(
                "'{}' is a keepalived keyword vrrpd does not implement; ignored",
                n.kw.text
            ),
        );
    }

    /// `vrrp_cpu_affinity CPU...`: CPU numbers; a bad one is named and
    /// skipped, the rest apply.
    fn cpu_affinity(&mut self, n: &Node) {
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
    fn metrics_listen(&mut self, n: &Node) {
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
    fn dump_path(&mut self, n: &Node) -> Option<std::path::PathBuf> {
        let t = self.arg(n)?;
        match check_dump_path(&t.text) {
            Ok(p) => Some(p),
            Err(e) => {
                self.err(&t.loc, format!("'{}' {e}", n.kw.text));
                None
            }
        }
    }

    /// The single argument of `n`, warning when it is missing or has extras.
    fn arg<'n>(&mut self, n: &'n Node) -> Option<&'n Token> {
        self.no_block(n);
        match n.args.first() {
            None => {
                self.warn(
                    &n.kw.loc,
                    format!("'{}' expects a value; ignored", n.kw.text),
                );
                None
            }
            Some(t) => {
                if let Some(extra) = n.args.get(1) {
                    self.warn(
                        &extra.loc,
                        format!("extra arguments after '{}' ignored", n.kw.text),
                    );
                }
                Some(t)
            }
        }
    }

    fn no_block(&mut self, n: &Node) {
        if n.children.is_some() {
            self.warn(
                &n.kw.loc,
                format!("'{}' takes no block; block ignored", n.kw.text),
            );
        }
    }

    fn block<'n>(&mut self, n: &'n Node) -> &'n [Node] {
        match &n.children {
            Some(c) => c,
            None => {
                self.warn(
                    &n.kw.loc,
                    format!("'{}' expects a {{ block }}; ignored", n.kw.text),
                );
                &[]
            }
        }
    }

    fn int_tok(&mut self, kw: &str, t: &Token, min: i64, max: i64) -> Option<i64> {
        match t.text.parse::<i64>() {
            Ok(v) if (min..=max).contains(&v) => Some(v),
            _ => {
                self.warn(
                    &t.loc,
                    format!(
                        "'{kw}' expects an integer {min}..{max}, got '{}'; ignored",
                        t.text
                    ),
                );
                None
            }
        }
    }

    fn int(&mut self, n: &Node, min: i64, max: i64) -> Option<i64> {
        let t = self.arg(n)?;
        self.int_tok(&n.kw.text, t, min, max)
    }

    fn u32_of(&mut self, n: &Node, min: u32, max: u32) -> Option<u32> {
        self.int(n, i64::from(min), i64::from(max))
            .and_then(|v| u32::try_from(v).ok())
    }

    fn secs(&mut self, n: &Node) -> Option<Secs> {
        let t = self.arg(n)?;
        match Secs::parse(&t.text) {
            Some(s) => Some(s),
            None => {
                self.warn(
                    &t.loc,
                    format!(
                        "'{}' expects seconds (e.g. 1 or 0.5), got '{}'; ignored",
                        n.kw.text, t.text
                    ),
                );
                None
            }
        }
    }

    /// keepalived `<BOOL>`: no argument means true.
    fn boolean(&mut self, n: &Node) -> bool {
        self.no_block(n);
        let Some(t) = n.args.first() else {
            return true;
        };
        match t.text.to_ascii_lowercase().as_str() {
            "on" | "true" | "yes" => true,
            "off" | "false" | "no" => false,
            _ => {
                self.warn(
                    &t.loc,
                    format!(
                        "'{}' expects on|off|true|false|yes|no, got '{}'; taken as on",
                        n.kw.text, t.text
                    ),
                );
                true
            }
        }
    }

    fn ip_tok(&mut self, what: &str, t: &Token) -> Option<IpAddr> {
        match t.text.parse::<IpAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                self.err(
                    &t.loc,
                    format!("{what}: '{}' is not an IPv4 or IPv6 address", t.text),
                );
                None
            }
        }
    }

    fn string(&mut self, n: &Node) -> Option<String> {
        self.arg(n).map(|t| t.text.clone())
    }

    fn run_as(&mut self, args: &[Token]) -> Option<RunAs> {
        let user = args.first()?;
        let (u, mut g) = match user.text.split_once(':') {
            Some((u, g)) => (u.to_string(), Some(g.to_string())),
            None => (user.text.clone(), None),
        };
        if let Some(gt) = args.get(1) {
            g = Some(gt.text.trim_start_matches(':').to_string());
        }
        if let Some(extra) = args.get(2) {
            self.warn(&extra.loc, "extra arguments after user and group ignored");
        }
        Some(RunAs {
            user: u,
            group: g.filter(|g| !g.is_empty()),
        })
    }

    /// `kw "cmd args" [user [group]]`.
    fn command(&mut self, n: &Node) -> Option<Command> {
        self.no_block(n);
        let Some(cmd) = n.args.first() else {
            self.warn(
                &n.kw.loc,
                format!("'{}' expects a command; ignored", n.kw.text),
            );
            return None;
        };
        Some(Command {
            cmd: cmd.text.clone(),
            run_as: self.run_as(&n.args[1..]),
        })
    }

    fn fifo(&mut self, n: &Node) -> Option<Fifo> {
        self.no_block(n);
        let path = n.args.first()?;
        Some(Fifo {
            path: path.text.clone(),
            run_as: self.run_as(&n.args[1..]),
        })
    }

    // ---- top level ------------------------------------------------------

    fn top(&mut self, n: &Node) {
        match n.kw.text.as_str() {
            "global_defs" => {
                for c in self.block(n) {
                    self.global(c);
                }
            }
            "vrrp_instance" => self.instance(n),
            "vrrp_script" => self.script(n),
            "vrrp_track_file" | "track_file" => self.track_file(n),
            "vrrp_track_process" => self.track_process(n),
            "vrrpd_http_check" => self.probe(n, ProbeKind::Http),
            "vrrpd_tcp_check" => self.probe(n, ProbeKind::Tcp),
            "vrrp_sync_group" => self.sync_group(n),
            "garp_group" => self.garp_group(n),
            kw if TOP_IGNORED.contains(&kw) => self.ignored(n),
            _ => self.unknown(n, "the top level"),
        }
    }

    fn global(&mut self, n: &Node) {
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
            // vrrpd extension (keepalived warns about it and skips it).
            "metrics_listen" => self.metrics_listen(n),
            // keepalived 2.3+ (2.2.7 warns and uses /tmp).
            "state_file_location" => self.cfg.global.state_file_location = self.dump_path(n),
            "stats_file_location" => self.cfg.global.stats_file_location = self.dump_path(n),
            "json_file_location" => self.cfg.global.json_file_location = self.dump_path(n),
            "reload_check_config" => self.warn(
                &n.kw.loc,
                "'reload_check_config': vrrpd always validates a new configuration before a reload applies it; nothing else to do",
            ),
            kw if GLOBAL_IGNORED.contains(&kw) => self.ignored(n),
            _ => self.unknown(n, "global_defs"),
        }
    }

    // ---- vrrp_instance --------------------------------------------------

    fn instance(&mut self, n: &Node) {
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
            v3_checksum_as_v2: None,
            down_timer_adverts: None,
            accept: None,
            nopreempt: None,
            preempt_delay: None,
            unicast_kw: None,
            no_vips_ok: false,
            vmac: None,
            track_locs: Vec::new(),
        };
        r.spans.fields.insert("name", n.kw.loc.clone());
        for c in self.block(n) {
            self.instance_kw(&mut r, c);
        }
        self.raw.push(r);
    }

    fn instance_kw(&mut self, r: &mut RawInstance, n: &Node) {
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
                    }
                }
            }
            "virtual_ipaddress_excluded" => {
                for c in self.block(n) {
                    if let Some(v) = self.vip(c) {
                        r.inst.excluded_vips.push(v);
                    }
                }
            }
            "no_virtual_ipaddress" => {
                self.no_block(n);
                r.no_vips_ok = true;
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
            "track_interface" => {
                r.track_locs.push(loc);
                let list = self.track_interfaces(n);
                r.inst.track_interfaces.extend(list);
            }
            "track_script" => {
                r.spans.fields.insert("track_scripts", loc);
                let list = self.track_refs(n, 253);
                r.inst.track_scripts.extend(list);
            }
            "track_file" => {
                let list = self.track_refs(n, 254);
                r.inst.track_files.extend(list);
            }
            "track_process" => {
                let list = self.track_refs(n, 254);
                r.inst.track_processes.extend(list);
            }
            "track_probe" => {
                let list = self.track_refs(n, 253);
                r.inst.track_probes.extend(list);
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
            "owner_ignore_adverts" => r.owner_ignore_adverts = Some(self.boolean(n)),
            "down_timer_adverts" => {
                if let Some(v) = self.u32_of(n, 1, 100) {
                    r.down_timer_adverts = Some((v, loc));
                }
            }
            "accept" => {
                self.no_block(n);
                r.accept = Some((true, loc));
            }
            "no_accept" => {
                self.no_block(n);
                r.accept = Some((false, loc));
            }
            "skip_check_adv_addr" => r.skip_check_adv_addr = Some(self.boolean(n)),
            "strict_mode" => r.strict = Some(self.boolean(n)),
            "notify_master" => r.inst.notify.master = self.command(n),
            "notify_backup" => r.inst.notify.backup = self.command(n),
            "notify_fault" => r.inst.notify.fault = self.command(n),
            "notify_stop" => r.inst.notify.stop = self.command(n),
            "notify_deleted" => {
                r.inst.notify.deleted = if n.args.is_empty() {
                    Some(Command {
                        cmd: String::new(),
                        run_as: None,
                    })
                } else {
                    self.command(n)
                }
            }
            "notify" => r.inst.notify.any = self.command(n),
            "notify_master_rx_lower_pri" => r.inst.notify.master_rx_lower_pri = self.command(n),
            "notify_priority_changes" => r.inst.notify_priority_changes = self.boolean(n),
            "smtp_alert" => r.inst.smtp_alert = self.boolean(n),
            "use_vmac" => {
                self.no_block(n);
                r.vmac = Some(n.args.first().map(|t| t.text.clone()));
            }
            "vmac_xmit_base" => r.inst.vmac_xmit_base = self.boolean(n),
            "virtual_routes" => {
                let list = self.raw_lines(n);
                r.inst.virtual_routes.extend(list);
            }
            "virtual_rules" => {
                let list = self.raw_lines(n);
                r.inst.virtual_rules.extend(list);
            }
            "promote_secondaries" => r.inst.promote_secondaries = self.boolean(n),
            "smtp_alert_vrrp" => self.ignored(n),
            kw if INSTANCE_IGNORED.contains(&kw) => self.ignored(n),
            _ => self.unknown(n, "vrrp_instance"),
        }
    }

    fn raw_lines(&mut self, n: &Node) -> Vec<String> {
        self.block(n)
            .iter()
            .map(|c| {
                tokens_of(c)
                    .map(|t| t.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    /// `ADDR[/PREFIX] [dev IF] [brd IP|+|-] [scope S] [label L] ...` (reference §1.4).
    fn vip(&mut self, n: &Node) -> Option<Vip> {
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
                        "'track_group' applies to static addresses only; ignored",
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

    fn peer(&mut self, n: &Node) -> Option<UnicastPeer> {
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

    fn track_interfaces(&mut self, n: &Node) -> Vec<TrackInterface> {
        let mut out = Vec::new();
        for c in self.block(n) {
            self.no_block(c);
            let mut t = TrackInterface {
                name: c.kw.text.clone(),
                weight: 0,
                reverse: false,
            };
            let mut it = c.args.iter();
            while let Some(a) = it.next() {
                match a.text.as_str() {
                    "weight" => match it.next() {
                        Some(v) => {
                            if let Some(w) = self.int_tok("weight", v, -253, 253) {
                                t.weight = w as i32;
                            }
                        }
                        None => self.warn(&a.loc, "'weight' expects a value"),
                    },
                    "reverse" => t.reverse = true,
                    "noreverse" => t.reverse = false,
                    other => self.warn(
                        &a.loc,
                        format!("unknown track_interface option '{other}'; ignored"),
                    ),
                }
            }
            out.push(t);
        }
        out
    }

    fn track_refs(&mut self, n: &Node, max_weight: i64) -> Vec<TrackRef> {
        let mut out = Vec::new();
        for c in self.block(n) {
            self.no_block(c);
            let mut t = TrackRef {
                name: c.kw.text.clone(),
                weight: None,
                reverse: None,
            };
            let mut it = c.args.iter();
            while let Some(a) = it.next() {
                match a.text.as_str() {
                    "weight" => match it.next() {
                        Some(v) => {
                            t.weight = self
                                .int_tok("weight", v, -max_weight, max_weight)
                                .map(|w| w as i32)
                        }
                        None => self.warn(&a.loc, "'weight' expects a value"),
                    },
                    "reverse" => t.reverse = Some(true),
                    "noreverse" => t.reverse = Some(false),
                    other => self.warn(
                        &a.loc,
                        format!("unknown option '{other}' for '{}'; ignored", n.kw.text),
                    ),
                }
            }
            self.script_locs
                .insert(format!("{}#{}", n.kw.text, c.kw.text), c.kw.loc.clone());
            out.push(t);
        }
        out
    }

    /// `weight N [reverse]` inside a tracker definition.
    fn weight(&mut self, n: &Node, max: i64) -> Option<(i32, bool)> {
        self.no_block(n);
        let t = n.args.first();
        let Some(t) = t else {
            self.warn(&n.kw.loc, "'weight' expects a value; ignored");
            return None;
        };
        let w = self.int_tok("weight", t, -max, max)? as i32;
        let reverse = match n.args.get(1).map(|t| t.text.as_str()) {
            Some("reverse") => true,
            Some("noreverse") | None => false,
            Some(other) => {
                self.warn(
                    &n.args[1].loc,
                    format!("expected 'reverse' after the weight, got '{other}'; ignored"),
                );
                false
            }
        };
        Some((w, reverse))
    }

    // ---- trackers and groups -------------------------------------------

    fn name_of(&mut self, n: &Node) -> Option<String> {
        match n.args.first() {
            Some(t) => Some(t.text.clone()),
            None => {
                self.err(&n.kw.loc, format!("'{}' expects a name", n.kw.text));
                None
            }
        }
    }

    fn script(&mut self, n: &Node) {
        let Some(name) = self.name_of(n) else { return };
        let mut s = VrrpScript {
            name,
            script: Command {
                cmd: String::new(),
                run_as: None,
            },
            interval: Secs::from_secs(1),
            timeout: None,
            weight: 0,
            reverse: false,
            rise: 1,
            fall: 1,
            init_fail: false,
        };
        let mut have_script = false;
        for c in self.block(n) {
            match c.kw.text.as_str() {
                "script" => {
                    self.no_block(c);
                    let parts: Vec<&str> = c.args.iter().map(|t| t.text.as_str()).collect();
                    if parts.is_empty() {
                        self.warn(&c.kw.loc, "'script' expects a command; ignored");
                    } else {
                        s.script.cmd = parts.join(" ");
                        have_script = true;
                    }
                }
                "interval" => {
                    if let Some(v) = self.secs(c) {
                        if v == Secs::ZERO {
                            self.warn(
                                &c.kw.loc,
                                "'interval' 0 is not valid; using 1 second as keepalived does",
                            );
                        } else {
                            s.interval = v;
                        }
                    }
                }
                "timeout" => s.timeout = self.secs(c),
                "weight" => {
                    if let Some((w, r)) = self.weight(c, 253) {
                        s.weight = w;
                        s.reverse = r;
                    }
                }
                "rise" => {
                    if let Some(v) = self.u32_of(c, 1, 1_000_000) {
                        s.rise = v;
                    }
                }
                "fall" => {
                    if let Some(v) = self.u32_of(c, 1, 1_000_000) {
                        s.fall = v;
                    }
                }
                "user" => {
                    self.no_block(c);
                    s.script.run_as = self.run_as(&c.args);
                }
                "init_fail" => s.init_fail = self.boolean(c),
                _ => self.unknown(c, "vrrp_script"),
            }
        }
        if !have_script {
            self.warn(
                &n.kw.loc,
                format!("vrrp_script '{}' has no 'script'; ignored", s.name),
            );
            return;
        }
        self.script_locs
            .insert(format!("script:{}", s.name), n.kw.loc.clone());
        self.cfg.scripts.push(s);
    }

    fn track_file(&mut self, n: &Node) {
        let Some(name) = self.name_of(n) else { return };
        let mut f = TrackFile {
            name,
            file: String::new(),
            weight: 1,
            reverse: false,
            init_file: None,
            init_overwrite: false,
        };
        for c in self.block(n) {
            match c.kw.text.as_str() {
                "file" => f.file = self.string(c).unwrap_or_default(),
                "weight" => {
                    if let Some((w, r)) = self.weight(c, 254) {
                        f.weight = w;
                        f.reverse = r;
                    }
                }
                "init_file" => {
                    self.no_block(c);
                    f.init_file = Some(0);
                    for a in &c.args {
                        if a.text == "overwrite" {
                            f.init_overwrite = true;
                        } else {
                            match a.text.parse::<i64>() {
                                Ok(v) => f.init_file = Some(v),
                                Err(_) => self.warn(&a.loc, format!("'init_file' expects an integer or 'overwrite', got '{}'; ignored", a.text)),
                            }
                        }
                    }
                }
                _ => self.unknown(c, "vrrp_track_file"),
            }
        }
        if f.file.is_empty() {
            self.warn(
                &n.kw.loc,
                format!("track file '{}' has no 'file'; ignored", f.name),
            );
            return;
        }
        self.cfg.track_files.push(f);
    }

    fn track_process(&mut self, n: &Node) {
        let Some(name) = self.name_of(n) else { return };
        let mut p = TrackProcess {
            name,
            process: Vec::new(),
            param_match: None,
            weight: 0,
            reverse: false,
            quorum: 1,
            quorum_max: None,
            delay: None,
            full_command: false,
        };
        for c in self.block(n) {
            match c.kw.text.as_str() {
                "process" => {
                    self.no_block(c);
                    p.process = c.args.iter().map(|t| t.text.clone()).collect();
                }
                "param_match" => {
                    if let Some(t) = self.arg(c) {
                        if t.text == "initial" || t.text == "partial" {
                            p.param_match = Some(t.text.clone());
                        } else {
                            self.warn(
                                &t.loc,
                                format!(
                                    "'param_match' expects initial or partial, got '{}'; ignored",
                                    t.text
                                ),
                            );
                        }
                    }
                }
                "weight" => {
                    if let Some((w, r)) = self.weight(c, 254) {
                        p.weight = w;
                        p.reverse = r;
                    }
                }
                "quorum" => {
                    if let Some(v) = self.u32_of(c, 1, 65535) {
                        p.quorum = v;
                    }
                }
                "quorum_max" => p.quorum_max = self.u32_of(c, 1, 65535),
                "delay" | "fork_delay" | "terminate_delay" => {
                    if c.kw.text != "delay" {
                        self.warn(
                            &c.kw.loc,
                            format!("'{}' is treated as 'delay' by vrrpd", c.kw.text),
                        );
                    }
                    p.delay = self.secs(c);
                }
                "full_command" => p.full_command = self.boolean(c),
                _ => self.unknown(c, "vrrp_track_process"),
            }
        }
        if p.process.is_empty() {
            self.warn(
                &n.kw.loc,
                format!("track process '{}' has no 'process'; ignored", p.name),
            );
            return;
        }
        self.cfg.track_processes.push(p);
    }

    /// vrrpd's extension blocks `vrrpd_http_check NAME { ... }` and
    /// `vrrpd_tcp_check NAME { ... }` (keepalived warns about and skips them).
    fn probe(&mut self, n: &Node, kind: ProbeKind) {
        let Some(name) = self.name_of(n) else { return };
        let mut p = Probe::new(name, kind);
        for c in self.block(n) {
            match (c.kw.text.as_str(), kind) {
                ("url", ProbeKind::Http) => p.url = self.string(c),
                ("status_code", ProbeKind::Http) => {
                    self.no_block(c);
                    p.status = c.args.iter().map(|t| t.text.clone()).collect();
                }
                ("body_contains", ProbeKind::Http) => p.body_contains = self.string(c),
                ("host", ProbeKind::Http) => p.host = self.string(c),
                ("tls_verify", ProbeKind::Http) => p.tls_verify = self.boolean(c),
                ("connect", ProbeKind::Tcp) => p.connect = self.string(c),
                ("interval", _) => {
                    if let Some(v) = self.secs(c) {
                        p.interval = v;
                    }
                }
                ("timeout", _) => p.timeout = self.secs(c),
                ("weight", _) => {
                    if let Some((w, r)) = self.weight(c, 253) {
                        p.weight = w;
                        p.reverse = r;
                    }
                }
                ("rise", _) => {
                    if let Some(v) = self.u32_of(c, 1, 1_000_000) {
                        p.rise = v;
                    }
                }
                ("fall", _) => {
                    if let Some(v) = self.u32_of(c, 1, 1_000_000) {
                        p.fall = v;
                    }
                }
                ("init_fail", _) => p.init_fail = self.boolean(c),
                _ => self.unknown(c, &n.kw.text),
            }
        }
        self.cfg.probes.push(p);
    }

    /// `garp_group { garp_interval S; gna_interval S; interface IF |
    /// interfaces { IF ... } }` with keepalived's checks (`vrrp_parser.c`):
    /// a group without any interval is dropped, an interface keeps its
    /// first group.
    fn garp_group(&mut self, n: &Node) {
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

    fn sync_group(&mut self, n: &Node) {
        let Some(name) = self.name_of(n) else { return };
        let mut g = SyncGroup {
            name,
            members: Vec::new(),
            track_interfaces: Vec::new(),
            track_scripts: Vec::new(),
            track_files: Vec::new(),
            track_processes: Vec::new(),
            notify: Notify::default(),
            tracking_weight: false,
            smtp_alert: false,
        };
        let mut member_locs = Vec::new();
        for c in self.block(n) {
            match c.kw.text.as_str() {
                "group" => {
                    for m in self.block(c) {
                        for t in tokens_of(m) {
                            g.members.push(t.text.clone());
                            member_locs.push(t.loc.clone());
                        }
                    }
                }
                "track_interface" => {
                    let l = self.track_interfaces(c);
                    g.track_interfaces.extend(l);
                }
                "track_script" => {
                    let l = self.track_refs(c, 253);
                    g.track_scripts.extend(l);
                }
                "track_file" => {
                    let l = self.track_refs(c, 254);
                    g.track_files.extend(l);
                }
                "track_process" => {
                    let l = self.track_refs(c, 254);
                    g.track_processes.extend(l);
                }
                "notify_master" => g.notify.master = self.command(c),
                "notify_backup" => g.notify.backup = self.command(c),
                "notify_fault" => g.notify.fault = self.command(c),
                "notify_stop" => g.notify.stop = self.command(c),
                "notify" => g.notify.any = self.command(c),
                "smtp_alert" => g.smtp_alert = self.boolean(c),
                "sync_group_tracking_weight" => g.tracking_weight = self.boolean(c),
                "global_tracking" => {
                    self.warn(
                        &c.kw.loc,
                        "'global_tracking' is deprecated; treated as 'sync_group_tracking_weight'",
                    );
                    g.tracking_weight = true;
                }
                "notify_priority_changes" | "track_bfd" => self.ignored(c),
                _ => self.unknown(c, "vrrp_sync_group"),
            }
        }
        self.groups.push((g, n.kw.loc.clone(), member_locs));
    }

    // ---- completion (vrrp_complete_instance) ----------------------------

    fn finish(mut self, file_loc: Loc) -> (Config, Spans) {
        let raws = std::mem::take(&mut self.raw);
        let mut spans = Spans {
            file: file_loc,
            instances: Vec::new(),
            groups: Vec::new(),
            global: std::mem::take(&mut self.global_locs),
        };
        // Sync-group membership decides whether weighted trackers survive.
        let mut member_of: HashMap<String, bool> = HashMap::new();
        for (g, _, _) in &self.groups {
            for m in &g.members {
                member_of.entry(m.clone()).or_insert(g.tracking_weight);
            }
        }
        let names: HashSet<String> = raws.iter().map(|r| r.inst.name.clone()).collect();
        for r in raws {
            let in_group = member_of.get(&r.inst.name).copied();
            if let Some((inst, s)) = self.complete(r, in_group) {
                self.cfg.instances.push(inst);
                spans.instances.push(s);
            }
        }
        if self.cfg.instances.is_empty() && self.d.errors == 0 {
            self.warn(
                &spans.file,
                "no vrrp_instance: nothing to run (keepalived: \"has no configuration to run\")",
            );
        }
        let mut seen: HashMap<String, String> = HashMap::new();
        for (mut g, loc, member_locs) in std::mem::take(&mut self.groups) {
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
            let missing: Vec<String> = g
                .track_scripts
                .iter()
                .filter(|t| !scripts.contains(&t.name))
                .map(|t| t.name.clone())
                .collect();
            for m in missing {
                self.warn(&loc, format!("track script '{m}' of sync group '{}' not found; ignored, as keepalived does", g.name));
            }
            g.track_scripts.retain(|t| scripts.contains(&t.name));
            self.cfg.sync_groups.push(g);
            spans.groups.push(loc);
        }
        (self.cfg, spans)
    }

    fn complete(
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
            .or(r.inst.mcast_src_ip.as_ref().map(Family::of))
            .unwrap_or(Family::Ipv4);
        r.inst.family = family;
        let vip_loc = r.spans.fields.get("vips").unwrap_or(&r.block).clone();
        let before = r.inst.vips.len();
        r.inst.vips.retain(|v| Family::of(&v.addr) == family);
        if r.inst.vips.len() != before {
            self.warn(&vip_loc, format!("({name}) virtual addresses of a different family than the first ({family}) ignored; use virtual_ipaddress_excluded for them"));
        }
        let mut seen = HashSet::new();
        if r.inst.vips.iter().any(|v| !seen.insert(v.addr)) {
            // keepalived 2.2 keeps and advertises the duplicate (2.3.3+ drops it);
            // vrrpd follows 2.2 so a 2.2 peer sees the address count it expects.
            self.warn(&vip_loc, format!("({name}) a virtual address is listed twice; keepalived 2.2 advertises it twice (2.3.3+ drops the copy)"));
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
        r.inst.owner_ignore_adverts = r
            .owner_ignore_adverts
            .unwrap_or(self.g.owner_ignore_adverts);
        r.inst.v3_checksum_as_v2 = r.v3_checksum_as_v2.unwrap_or(self.g.v3_checksum_as_v2);
        r.inst.down_timer_adverts = r
            .down_timer_adverts
            .as_ref()
            .map(|d| d.0)
            .or(self.g.down_timer_adverts)
            .unwrap_or(3);
        r.inst.garp = self.garp(&r.garp);
        r.inst.notify_priority_changes |= self.cfg.global.notify_priority_changes;
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
            r.inst.owner_ignore_adverts = true;
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
            r.inst.use_vmac = Some(name.unwrap_or_else(|| format!("vrrp.{vrid}")));
        }

        // Virtual addresses.
        if r.inst.vips.is_empty() && !r.no_vips_ok {
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
                self.warn(&vip_loc, format!("({name}) strict mode: the first IPv6 virtual address should be link-local (RFC 9568 §5.2.9)"));
            }
        }
        let cap = (1500 - 40 - 8 - 8) / family.addr_len();
        let cap = cap.min(255);
        if r.inst.vips.len() > cap {
            self.warn(&vip_loc, format!("({name}) more than {cap} virtual addresses do not fit an advert; the rest are handled as excluded addresses, as keepalived does"));
            let extra = r.inst.vips.split_off(cap);
            r.inst.excluded_vips.extend(extra);
        }

        // Trackers: unknown names are dropped; weights dropped for the owner and sync members.
        self.resolve_trackers(&mut r, owner, in_group);

        Some((r.inst, r.spans))
    }

    fn garp(&self, r: &GarpRaw) -> Garp {
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

    fn resolve_trackers(&mut self, r: &mut RawInstance, owner: bool, in_group: Option<bool>) {
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
        for (kind, list, known) in [
            ("track_script", &mut r.inst.track_scripts, &scripts),
            ("track_file", &mut r.inst.track_files, &files),
            ("track_process", &mut r.inst.track_processes, &procs),
            ("track_probe", &mut r.inst.track_probes, &probes),
        ] {
            let mut kept = Vec::new();
            for t in list.drain(..) {
                let loc = self
                    .script_locs
                    .get(&format!("{kind}#{}", t.name))
                    .cloned()
                    .unwrap_or(r.block.clone());
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
            }
            *list = kept;
        }
        let loc = r.track_locs.first().cloned().unwrap_or(r.block.clone());
        if owner {
            let before = r.inst.track_interfaces.len();
            r.inst.track_interfaces.retain(|t| t.weight == 0);
            if r.inst.track_interfaces.len() != before {
                self.warn(
                    &loc,
                    format!("({name}) weighted track_interface entries ignored for {why}"),
                );
            }
        } else if drop_weights && r.inst.track_interfaces.iter().any(|t| t.weight != 0) {
            // keepalived keeps the interface but drops its weight: down means FAULT.
            for t in &mut r.inst.track_interfaces {
                t.weight = 0;
            }
            self.warn(
                &loc,
                format!("({name}) track_interface weights ignored for {why}: a tracked interface going down puts the instance in FAULT, as keepalived does"),
            );
        }
    }
}
