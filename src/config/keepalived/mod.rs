//! The keepalived.conf front end: the block tree from [`super::lexer`] mapped
//! keyword by keyword onto the model, then keepalived's own completion rules
//! (`vrrp_complete_instance()`, reference §1.8) with a located warning for
//! every value it would default, clamp or drop.
//!
//! Split by section, as hickory-dns splits its per-section config:
//! [`global`] (`global_defs`, `garp_group`), [`instance`] (`vrrp_instance`),
//! [`addresses`] (virtual addresses, unicast peers), [`routes`] (routes and
//! rules),
//! [`track`] (`vrrp_script`, `vrrp_track_file`, `vrrp_track_process`, the
//! native probes and the `track_*` lists), [`sync`] (`vrrp_sync_group`) and
//! [`complete`] (what keepalived fills in after parsing). This file holds
//! the walker and the helpers every section uses.

mod addresses;
mod auth_hmac;
mod complete;
mod global;
mod instance;
mod routes;
mod sync;
mod track;

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;

use crate::proto::{Version, Vrid};

use super::lexer::{build_tree, lex, Node, Token};
use super::model::*;
use super::source::FileSource;
use super::units::Secs;
use super::{Diags, InstanceSpans, LoadOptions, Loc, Spans};

/// Parses `path` (and its includes) into a model.
pub(super) fn parse(
    path: &Path,
    src: &dyn FileSource,
    opts: &LoadOptions,
    diags: &mut Diags,
) -> (Config, Spans) {
    let file_loc = Loc::new(path.display().to_string().into(), 1, 1);
    let lines = lex(
        path,
        src,
        &opts.limits,
        opts.config_id.as_deref(),
        &opts.env,
        diags,
    );
    let tree = build_tree(lines, &opts.limits, diags);
    let mut p = Parser {
        d: diags,
        src,
        rt: None,
        iproute_dirs: routes::IPROUTE2_DIRS.map(String::from),
        rule_priority: [0, 0],
        top_entries: HashMap::new(),
        cfg: Config::default(),
        g: GlobalDefaults::default(),
        raw: Vec::new(),
        groups: Vec::new(),
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
    /// `nftables` was given (a second one is ignored, as keepalived does).
    nftables_given: bool,
    /// `vrrp_garp_extra_if`, for instances without `garp_extra_if`.
    garp_extra_if: Option<GarpExtraIf>,
    /// `vmac_prefix`: generated VMAC names start with it (default "vrrp").
    vmac_prefix: Option<String>,
    /// `vmac_addr_prefix`: names of addresses' VMACs (default `vmac_prefix`).
    vmac_addr_prefix: Option<String>,
    /// Top-level `linkbeat_use_polling`: every instance's interface polled.
    linkbeat_all: bool,
    /// Which process-name keyword set `Global::process_name` (see
    /// `Parser::process_name`).
    process_name_rank: u8,
    /// The global `smtp_alert` and `smtp_alert_vrrp`: defaults of the
    /// instances' and groups' `smtp_alert` (keepalived vrrp.c).
    smtp_alert: Option<bool>,
    smtp_alert_vrrp: Option<bool>,
    /// Sync groups whose own `smtp_alert` was written.
    group_smtp_set: std::collections::HashSet<String>,
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
    owner_ignore_adverts: Option<(bool, Loc)>,
    timer_expired_backup: Option<(u8, Loc)>,
    v3_checksum_as_v2: Option<bool>,
    down_timer_adverts: Option<(u32, Loc)>,
    accept: Option<(bool, Loc)>,
    nopreempt: Option<Loc>,
    preempt_delay: Option<Loc>,
    unicast_kw: Option<Loc>,
    no_vips_ok: Option<Loc>,
    vmac: Option<Option<String>>,
    /// `native_ipv6` (deprecated in keepalived: the addresses decide).
    native_ipv6: Option<Loc>,
    smtp_alert: Option<bool>,
}

impl RawInstance {
    /// Where each entry of list `field` was written (see [`InstanceSpans::entries`]).
    fn entry_locs(&mut self, field: &'static str) -> &mut Vec<Loc> {
        self.spans.entries.entry(field).or_default()
    }

    /// The model's list of tracker references named by `field`.
    fn track_list(&mut self, field: &str) -> &mut Vec<TrackRef> {
        match field {
            "track_scripts" => &mut self.inst.track_scripts,
            "track_files" => &mut self.inst.track_files,
            "track_processes" => &mut self.inst.track_processes,
            _ => &mut self.inst.track_probes,
        }
    }
}

struct Parser<'d> {
    d: &'d mut Diags,
    /// For iproute2's name files (`rt_tables`, `rt_protos`).
    src: &'d dyn FileSource,
    /// Those names, read at the first route or rule that needs one.
    rt: Option<routes::RtNames>,
    /// Where they are read: iproute2's etc and usr directories
    /// (`iproute_etc_dir`, `iproute_usr_dir`).
    iproute_dirs: [String; 2],
    /// Rules without a preference so far, per family (IPv4, IPv6): keepalived
    /// numbers them down from 16384 across the whole configuration.
    rule_priority: [u32; 2],
    /// Where each static route and rule was written.
    top_entries: HashMap<&'static str, Vec<Loc>>,
    cfg: Config,
    g: GlobalDefaults,
    raw: Vec<RawInstance>,
    /// Each group with where it, its members and its track_script entries were written.
    groups: Vec<(SyncGroup, Loc, Vec<Loc>, Vec<Loc>)>,
    /// Where the global keywords `vrrpd check` points at were set.
    global_locs: HashMap<&'static str, Loc>,
}

const LVS_BLOCKS: &[&str] = &[
    "virtual_server",
    "virtual_server_group",
    "real_server",
    "lvs_sync_daemon",
];

/// keepalived keywords vrrpd recognises but does not implement (RARE tier or not VRRP).
const TOP_IGNORED: &[&str] = &["track_group", "bfd_instance"];

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

    /// A keepalived keyword about machinery vrrpd does not have: accepted,
    /// and the warning says why nothing changes (README, "keepalived
    /// compatibility").
    fn no_effect(&mut self, n: &Node) {
        let why = match n.kw.text.as_str() {
            "use_pid_dir" => "vrrpd's pid file, control socket and runtime record are where -p puts them",
            "child_wait_time" => "vrrpd has no child processes to wait for at shutdown",
            // keepalived seeds random() for its config's ${_RANDOM}, which
            // vrrpd's configuration language does not have.
            "random_seed" => "vrrpd's configuration has no ${_RANDOM} to seed, and nothing vrrpd decides is random",
            "config_save_dir" | "tmp_config_directory" => {
                "vrrpd reads its configuration in one process, with no copy for child processes"
            }
            _ => "it has no effect in vrrpd",
        };
        self.warn(
            &n.kw.loc,
            format!("'{}' accepted with no effect: {why}", n.kw.text),
        );
    }

    /// A keepalived keyword outside what vrrpd does, or not done yet: the
    /// located warning says which and why (README, "keepalived
    /// compatibility").
    fn not_done(&mut self, n: &Node) {
        let why = match n.kw.text.as_str() {
            "net_namespace_ipvs" => "it places LVS (IPVS), which vrrpd does not implement",
            "vrrp_ipsets" | "namespace_with_ipsets" => {
                "iptables ipsets; keepalived 2.2.7 as Debian builds it (nftables, no iptables) does not know it either, and vrrpd's accept mode uses nftables sets"
            }
            "track_bfd" => "BFD is keepalived's separate BFD process, which vrrpd does not implement",
            _ => "vrrpd does not implement it",
        };
        self.warn(&n.kw.loc, format!("'{}' ignored: {why}", n.kw.text));
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

    /// `IF DOWN_DELAY [UP_DELAY]` (keepalived's alloc_if_up_down_delay():
    /// seconds to the microsecond, at most 255).
    fn interface_delay(&mut self, n: &Node) -> Option<InterfaceDelay> {
        self.no_block(n);
        let name = n.kw.text.clone();
        let Some(down) = n.args.first() else {
            self.warn(
                &n.kw.loc,
                format!("No timeouts specified for {name} up/down delays"),
            );
            return None;
        };
        if let Some(extra) = n.args.get(2) {
            self.warn(
                &extra.loc,
                format!("Too many parameters for {name} up/down delays"),
            );
        }
        let mut delay = |t: &Token, what: &str| match Secs::parse(&t.text) {
            Some(s) if s <= Secs::from_secs(255) => Some(s),
            _ => {
                self.warn(
                    &t.loc,
                    format!("Invalid {what} delay {} for {name}", t.text),
                );
                None
            }
        };
        let down = delay(down, "down")?;
        let up = match n.args.get(1) {
            Some(t) => delay(t, "up")?,
            None => Secs::ZERO,
        };
        Some(InterfaceDelay {
            interface: name,
            down,
            up,
        })
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

    /// A notify command, boxed: most instances have none of the seven,
    /// and inline they were 224 of an instance's 856 bytes.
    fn notify_command(&mut self, n: &Node) -> Option<Box<Command>> {
        self.command(n).map(Box::new)
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
            run_as: self.run_as(&n.args[1..]).map(Box::new),
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

    fn name_of(&mut self, n: &Node) -> Option<String> {
        match n.args.first() {
            Some(t) => Some(t.text.clone()),
            None => {
                self.err(&n.kw.loc, format!("'{}' expects a name", n.kw.text));
                None
            }
        }
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
            "static_routes" => {
                for c in self.block(n) {
                    if let Some(r) = self.route(c) {
                        self.cfg.static_routes.push(r);
                        self.top_entries
                            .entry("static_routes")
                            .or_default()
                            .push(c.kw.loc.clone());
                    }
                }
            }
            "static_rules" => {
                for c in self.block(n) {
                    if let Some(r) = self.rule(c) {
                        self.cfg.static_rules.push(r);
                        self.top_entries
                            .entry("static_rules")
                            .or_default()
                            .push(c.kw.loc.clone());
                    }
                }
            }
            "linkbeat_use_polling" => {
                self.no_block(n);
                self.g.linkbeat_all = true;
            }
            "linkbeat_interfaces" => {
                for c in self.block(n) {
                    self.no_block(c);
                    if let Some(extra) = c.args.first() {
                        self.warn(
                            &extra.loc,
                            format!("extra characters {} in linkbeat interface", extra.text),
                        );
                    }
                    if !self.cfg.linkbeat_interfaces.contains(&c.kw.text) {
                        self.cfg.linkbeat_interfaces.push(c.kw.text.clone());
                    }
                }
            }
            "interface_up_down_delays" => {
                for c in self.block(n) {
                    if let Some(d) = self.interface_delay(c) {
                        self.cfg.interface_delays.push(d);
                        self.top_entries
                            .entry("interface_delays")
                            .or_default()
                            .push(c.kw.loc.clone());
                    }
                }
            }
            "static_ipaddress" => {
                for c in self.block(n) {
                    if let Some(v) = self.vip(c) {
                        self.cfg.static_addresses.push(v);
                        self.top_entries
                            .entry("static_addresses")
                            .or_default()
                            .push(c.kw.loc.clone());
                    }
                }
            }
            "net_namespace" => self.net_namespace(n),
            "instance" => self.instance_name(n),
            "use_pid_dir" | "child_wait_time" => self.no_effect(n),
            "net_namespace_ipvs" | "namespace_with_ipsets" => self.not_done(n),
            kw if TOP_IGNORED.contains(&kw) => self.ignored(n),
            _ => self.unknown(n, "the top level"),
        }
    }
}
