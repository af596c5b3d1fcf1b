//! keepalived's state dumps, for the tooling that reads them (exporters,
//! check_mk and munin plugins, `vrrp_recap`):
//!
//! | signal | file (default) | format |
//! |---|---|---|
//! | SIGUSR1 | `/tmp/keepalived.data` | keepalived 2.2.7's text dump (the parts vrrpd has) |
//! | SIGUSR2 | `/tmp/keepalived.stats` | keepalived 2.2.7's stats, line for line |
//! | SIGRTMAX-1 (63, `--signum=STATS_CLEAR`) | the stats file | as SIGUSR2; counters are *not* cleared |
//! | SIGRTMIN+2 (36, `--signum=JSON`) | `/tmp/keepalived.json` | keepalived 2.2.7's JSON (version 1) |
//!
//! Locations follow keepalived 2.3's `state_file_location`,
//! `stats_file_location` and `json_file_location` (a path ending in `/` is a
//! directory). The driver renders the text (microseconds); a blocking-pool
//! thread writes it, so a slow disk never delays an advert. Files are
//! written as keepalived's `fopen_safe` intends, and more strictly: a new
//! temporary file (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600) in the target
//! directory, renamed over the target, so nobody can redirect the write with
//! a symlink in /tmp and readers never see half a file.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::{json, Map, Value};
use tokio::signal::unix::{signal, Signal, SignalKind};
use tracing::{info, warn};

use super::view::Counters;
use super::{Daemon, DaemonError, Running};
use crate::config::{Command, Config, Instance, Scope, Vip};
use crate::proto::fsm::State;
use crate::proto::wire::Auth;
use crate::proto::Version;
use crate::track::{Kind, Reading, TrackerKey};

/// Which dump a signal asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DumpKind {
    Data,
    Stats,
    /// keepalived's STATS_CLEAR: the stats dump, then zeroed counters.
    StatsClear,
    Json,
}

impl DumpKind {
    fn default_name(self) -> &'static str {
        match self {
            DumpKind::Data => "keepalived.data",
            DumpKind::Stats | DumpKind::StatsClear => "keepalived.stats",
            DumpKind::Json => "keepalived.json",
        }
    }
}

/// keepalived's JSON signal: SIGRTMIN+2 (36 with glibc).
pub fn json_signal() -> i32 {
    libc::SIGRTMIN() + 2
}

/// keepalived's STATS_CLEAR signal: SIGRTMAX-1 (63 with glibc). Handled so
/// that `kill -s $(keepalived --signum=STATS_CLEAR)` does not kill us.
pub fn stats_clear_signal() -> i32 {
    libc::SIGRTMAX() - 1
}

/// The four dump signals, as one stream.
pub struct Signals {
    data: Signal,
    stats: Signal,
    stats_clear: Signal,
    json: Signal,
}

impl Signals {
    pub fn new() -> Result<Signals, DaemonError> {
        let install = |kind| {
            signal(kind).map_err(|source| DaemonError::Io {
                what: "installing a dump signal handler".into(),
                source,
            })
        };
        Ok(Signals {
            data: install(SignalKind::user_defined1())?,
            stats: install(SignalKind::user_defined2())?,
            stats_clear: install(SignalKind::from_raw(stats_clear_signal()))?,
            json: install(SignalKind::from_raw(json_signal()))?,
        })
    }

    /// The next dump asked for.
    pub async fn recv(&mut self) -> DumpKind {
        loop {
            let kind = tokio::select! {
                s = self.data.recv() => s.map(|()| DumpKind::Data),
                s = self.stats.recv() => s.map(|()| DumpKind::Stats),
                s = self.stats_clear.recv() => s.map(|()| DumpKind::StatsClear),
                s = self.json.recv() => s.map(|()| DumpKind::Json),
            };
            if let Some(kind) = kind {
                return kind;
            }
            // A closed stream (runtime shutting down): never fire again.
            std::future::pending::<()>().await;
        }
    }
}

/// Where `kind` goes: keepalived 2.3's rule for `*_file_location`.
#[cfg(test)]
pub fn location(configured: Option<&Path>, kind: DumpKind) -> PathBuf {
    located(configured, kind.default_name())
}

/// [`location`] for a file name of the default's kind (see [`file_name`]).
fn located(configured: Option<&Path>, name: &str) -> PathBuf {
    match configured {
        None => Path::new("/tmp").join(name),
        Some(p) if p.as_os_str().to_string_lossy().ends_with('/') => p.join(name),
        Some(p) => p.to_path_buf(),
    }
}

/// The dump's file name: keepalived's `data_use_instance` (global_data.c
/// `open_dump_file`) puts the namespace and the `instance` name in it,
/// `keepalived.NS_INSTANCE.data`, when either is set.
pub fn file_name(kind: DumpKind, g: &crate::config::Global) -> String {
    let name = kind.default_name();
    let (ns, inst) = (g.net_namespace.as_deref(), g.instance.as_deref());
    if !g.data_use_instance || (ns.is_none() && inst.is_none()) {
        return name.to_string();
    }
    let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
    let sep = if ns.is_some() && inst.is_some() {
        "_"
    } else {
        ""
    };
    format!(
        "{stem}.{}{sep}{}.{ext}",
        ns.unwrap_or(""),
        inst.unwrap_or("")
    )
}

/// Writes `bytes` to `path` atomically and without following symlinks: a
/// fresh 0600 temporary file next to it, then a rename over it.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path.parent().unwrap_or(Path::new("/"));
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("no file name"))?
        .to_string_lossy()
        .into_owned();
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    let mut last = None;
    // Someone may have planted the name we picked: try another.
    for attempt in 0..8u32 {
        let tmp = dir.join(format!(
            ".{name}.{}.{:x}",
            std::process::id(),
            nanos.wrapping_add(attempt.wrapping_mul(0x9e37_79b9))
        ));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp);
        let mut file = match file {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                last = Some(e);
                continue;
            }
            Err(e) => return Err(e),
        };
        let written = file
            .write_all(bytes)
            .and_then(|()| std::fs::rename(&tmp, path));
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        return written;
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no temporary name")))
}

/// What the dumps need of one running instance: the shared typed view
/// ([`Counters`]: state, priorities, Master, counters, the same values
/// status and metrics render), and the configuration.
pub struct View<'a> {
    /// The configuration details only the dumps print (timers, GARP,
    /// notify scripts, peers, tracked scripts): read from the instance's
    /// configuration, not the shared view, which has no use for them.
    pub cfg: &'a Instance,
    pub counters: Counters<'a>,
    /// `counters.since(..)`, taken once per dump (a field so that tests
    /// can fix it).
    pub last_transition: SystemTime,
}

impl<'a> View<'a> {
    fn of(r: &'a Running, wall: super::view::Wall) -> View<'a> {
        let counters = Counters::of(r);
        View {
            cfg: &r.cfg,
            counters,
            last_transition: counters.since(wall),
        }
    }
}

impl View<'_> {
    /// The interface virtual addresses go on: the VMAC, if there is one.
    fn vip_ifname(&self) -> &str {
        self.cfg
            .use_vmac
            .as_deref()
            .unwrap_or(self.counters.interface)
    }
}

/// keepalived's state numbers (vrrp.h): 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT.
fn state_code(s: State) -> u64 {
    match s {
        State::Initialize => 0,
        State::Backup => 1,
        State::Master => 2,
        State::Fault => 3,
    }
}

fn epoch(t: SystemTime) -> (u64, u32) {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    (d.as_secs(), d.subsec_micros())
}

/// keepalived's `ctime_us_r`: `Thu Nov 26 07:10:59.486823 2026`, local time.
fn ctime_us(t: SystemTime) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (secs, micros) = epoch(t);
    let Ok(secs) = libc::time_t::try_from(secs) else {
        return String::new();
    };
    // SAFETY: localtime_r writes only into `tm`, which lives on our stack.
    let tm = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&secs, &mut tm).is_null() {
            return String::new();
        }
        tm
    };
    let day = usize::try_from(tm.tm_wday).ok().and_then(|i| DAYS.get(i));
    let month = usize::try_from(tm.tm_mon).ok().and_then(|i| MONTHS.get(i));
    format!(
        "{} {} {:2} {:02}:{:02}:{:02}.{micros:06} {}",
        day.unwrap_or(&"???"),
        month.unwrap_or(&"???"),
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        i64::from(tm.tm_year) + 1900
    )
}

/// keepalived's `cmd_str`: each argument single-quoted.
fn cmd_str(c: &Command) -> String {
    crate::track::split_argv(&c.cmd)
        .iter()
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// keepalived's `format_ipaddress`: `192.0.2.30/24 dev eth0 scope global set`;
/// `ifname` is where addresses without `dev` go, `interface` the
/// instance's (the base of an address's own VMAC without `dev`).
fn format_vip(v: &Vip, ifname: &str, interface: &str, set: bool) -> String {
    let full = if v.addr.is_ipv4() { 32 } else { 128 };
    let mut s = v.addr.to_string();
    if v.prefix != full {
        let _ = write!(s, "/{}", v.prefix);
    }
    let scope = match v.scope {
        None | Some(Scope::Global) => "global",
        Some(Scope::Site) => "site",
        Some(Scope::Link) => "link",
        Some(Scope::Host) => "host",
        Some(Scope::Nowhere) => "nowhere",
    };
    match &v.vmac {
        // An address's own VMAC, shown on its base as keepalived does.
        Some(vmac) => {
            let base = v.dev.as_deref().unwrap_or(interface);
            let _ = write!(s, " dev {vmac}@{base}");
        }
        None => {
            let _ = write!(s, " dev {}", v.dev.as_deref().unwrap_or(ifname));
        }
    }
    if v.use_vmac {
        s.push_str(" use_vmac");
    }
    let _ = write!(s, " scope {scope}");
    if let Some(label) = &v.label {
        let _ = write!(s, " label {label}");
    }
    if set {
        s.push_str(" set");
    }
    s
}

fn secs_f(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// The JSON dump: keepalived 2.2.7's version-1 layout, an array of
/// `{"data": {...}, "stats": {...}}`; see README for the fields not filled.
pub fn render_json(config: &Config, views: &[View]) -> String {
    let list: Vec<Value> = views
        .iter()
        .map(|v| {
            let c = v.cfg;
            let g = &c.garp;
            let (s, us) = epoch(v.last_transition);
            let mut data = Map::new();
            let mut put = |k: &str, val: Value| {
                data.insert(k.to_string(), val);
            };
            put("iname", json!(v.counters.name));
            put("dont_track_primary", json!(u8::from(c.dont_track_primary)));
            put(
                "skip_check_adv_addr",
                json!(u8::from(c.skip_check_adv_addr)),
            );
            put("strict_mode", json!(u8::from(c.strict)));
            // keepalived's vrrp->ifp is the VMAC when there is one.
            let vmac = c.use_vmac.as_deref().unwrap_or("");
            put("vmac_ifname", json!(vmac));
            if vmac.is_empty() {
                put("ifp_ifname", json!(v.counters.interface));
            } else {
                put("ifp_ifname", json!(vmac));
            }
            put(
                "master_priority",
                json!(v.counters.master.map_or(0, |m| m.priority.get())),
            );
            put("last_transition", json!(s as f64 + f64::from(us) / 1e6));
            put("garp_delay", json!(secs_f(g.master_delay.as_duration())));
            put(
                "garp_refresh",
                json!(g.master_refresh.as_duration().as_secs()),
            );
            put("garp_rep", json!(g.master_repeat));
            put("garp_refresh_rep", json!(g.master_refresh_repeat));
            put(
                "garp_lower_prio_delay",
                json!(g.lower_prio_delay.as_duration().as_secs()),
            );
            put("garp_lower_prio_rep", json!(g.lower_prio_repeat));
            put(
                "lower_prio_no_advert",
                json!(u8::from(c.lower_prio_no_advert)),
            );
            put(
                "higher_prio_send_advert",
                json!(u8::from(c.higher_prio_send_advert)),
            );
            put("vrid", json!(v.counters.vrid));
            put("base_priority", json!(v.counters.base_priority));
            put("effective_priority", json!(v.counters.effective_priority));
            put("vipset", json!(v.counters.holds_addresses));
            put("promote_secondaries", json!(c.promote_secondaries));
            put("adver_int", json!(secs_f(c.advert_int.as_duration())));
            put(
                "master_adver_int",
                json!(secs_f(v.counters.master_adver_int)),
            );
            put("accept", json!(u8::from(c.accept)));
            put("nopreempt", json!(c.nopreempt));
            put(
                "preempt_delay",
                json!(c.preempt_delay.as_duration().as_secs()),
            );
            put("state", json!(state_code(v.counters.state)));
            // vrrpd has no separate wanted state: the state is what it wants.
            put("wantstate", json!(state_code(v.counters.state)));
            put("version", json!(v.counters.version));
            put("smtp_alert", json!(c.smtp_alert));
            put("notify_deleted", json!(c.notify.deleted.is_some()));
            let n = &c.notify;
            for (key, cmd) in [
                ("script_backup", &n.backup),
                ("script_master", &n.master),
                ("script_fault", &n.fault),
                ("script_stop", &n.stop),
                ("script_deleted", &n.deleted),
                ("script", &n.any),
                ("script_master_rx_lower_pri", &n.master_rx_lower_pri),
            ] {
                // A bare `notify_deleted` is a flag, not a script.
                if let Some(cmd) = cmd.as_ref().filter(|c| !c.cmd.is_empty()) {
                    put(key, json!(cmd_str(cmd)));
                }
            }
            let vips: Vec<String> = c
                .vips
                .iter()
                .map(|a| {
                    format_vip(
                        a,
                        v.vip_ifname(),
                        v.counters.interface,
                        v.counters.holds_addresses,
                    )
                })
                .collect();
            if !vips.is_empty() {
                put("vips", json!(vips));
            }
            let evips: Vec<String> = c
                .excluded_vips
                .iter()
                .map(|a| {
                    format_vip(
                        a,
                        v.vip_ifname(),
                        v.counters.interface,
                        v.counters.holds_addresses,
                    )
                })
                .collect();
            if !evips.is_empty() {
                put("evips", json!(evips));
            }
            // keepalived writes these arrays only when not empty.
            let vroutes: Vec<String> = c
                .virtual_routes
                .iter()
                .map(|r| r.keepalived_text())
                .collect();
            if !vroutes.is_empty() {
                put("vroutes", json!(vroutes));
            }
            let vrules: Vec<String> = c
                .virtual_rules
                .iter()
                .map(|r| r.keepalived_text())
                .collect();
            if !vrules.is_empty() {
                put("vrules", json!(vrules));
            }
            let ifs: Vec<&str> = c.track_interfaces.iter().map(|t| t.name.as_str()).collect();
            if !ifs.is_empty() {
                put("track_ifp", json!(ifs));
            }
            let scripts: Vec<String> = c
                .track_scripts
                .iter()
                .filter_map(|t| config.scripts.iter().find(|s| s.name == t.name))
                .map(|s| cmd_str(&s.script))
                .collect();
            if !scripts.is_empty() {
                put("track_script", json!(scripts));
            }
            match c.auth {
                Auth::None => put("auth_type", json!(0)),
                // keepalived 2.4 masks the password; so do we (2.2.7 wrote it
                // in clear).
                Auth::SimpleText(_) => {
                    put("auth_type", json!(1));
                    put("auth_data", json!("********"));
                }
            }
            json!({ "data": Value::Object(data), "stats": stats_json(v) })
        })
        .collect();
    let mut text = Value::Array(list).to_string();
    text.push('\n');
    text
}

fn stats_json(v: &View) -> Value {
    let st = v.counters.stats;
    let e = |reason: &str| v.counters.error(reason);
    json!({
        "advert_rcvd": st.adverts_received,
        "advert_sent": st.adverts_sent,
        "become_master": st.became_master,
        "release_master": st.released_master,
        "packet_len_err": e("length") + e("truncated"),
        "advert_interval_err": e("interval_mismatch"),
        "ip_ttl_err": e("ttl"),
        "invalid_type_rcvd": e("type"),
        "addr_list_err": st.address_list_mismatch,
        "invalid_authtype": e("auth_type"),
        "authtype_mismatch": 0,
        "auth_failure": e("auth_mismatch"),
        "pri_zero_rcvd": st.priority_zero_received,
        "pri_zero_sent": st.priority_zero_sent,
    })
}

/// The stats dump, keepalived 2.2.7's lines.
pub fn render_stats(views: &[View]) -> String {
    let mut out = String::new();
    for v in views {
        let s = stats_json(v);
        let n = |k: &str| s[k].as_u64().unwrap_or(0);
        let _ = write!(
            out,
            "VRRP Instance: {}\n  Advertisements:\n    Received: {}\n    Sent: {}\n  Became master: {}\n  Released master: {}\n  Packet Errors:\n    Length: {}\n    TTL: {}\n    Invalid Type: {}\n    Advertisement Interval: {}\n    Address List: {}\n  Authentication Errors:\n    Invalid Type: {}\n    Type Mismatch: {}\n    Failure: {}\n  Priority Zero:\n    Received: {}\n    Sent: {}\n",
            v.counters.name,
            n("advert_rcvd"),
            n("advert_sent"),
            n("become_master"),
            n("release_master"),
            n("packet_len_err"),
            n("ip_ttl_err"),
            n("invalid_type_rcvd"),
            n("advert_interval_err"),
            n("addr_list_err"),
            n("invalid_authtype"),
            n("authtype_mismatch"),
            n("auth_failure"),
            n("pri_zero_rcvd"),
            n("pri_zero_sent"),
        );
    }
    out
}

fn yes(b: bool, y: &'static str, n: &'static str) -> &'static str {
    if b {
        y
    } else {
        n
    }
}

/// The data dump: keepalived 2.2.7's global, topology and script sections,
/// with the lines vrrpd has values for.
pub fn render_data(
    config: &Config,
    views: &[View],
    reading: &dyn Fn(&TrackerKey) -> Option<Reading>,
) -> String {
    let g = &config.global;
    let mut o = String::new();
    let mut line = |text: String| {
        o.push_str(&text);
        o.push('\n');
    };
    line("------< Global definitions >------".into());
    line(format!(
        " Router ID = {}",
        g.router_id.clone().unwrap_or_else(host_name)
    ));
    line(format!(
        " Dynamic interfaces = {}",
        yes(g.dynamic_interfaces, "true", "false")
    ));
    if let Some(d) = &g.default_interface {
        line(format!(" Default interface = {d}"));
    }
    line(format!(
        " VRRP notify priority changes = {}",
        yes(g.notify_priority_changes, "true", "false")
    ));
    line(format!(" VRRP IPv4 mcast group = {}", g.mcast_group4));
    line(format!(" VRRP IPv6 mcast group = {}", g.mcast_group6));
    line(format!(
        " Gratuitous ARP interval = {:.6}",
        g.garp_interval.as_duration().as_secs_f64()
    ));
    line(format!(
        " Gratuitous NA interval = {:.6}",
        g.gna_interval.as_duration().as_secs_f64()
    ));
    line(format!(
        " Script security {}",
        yes(g.enable_script_security, "enabled", "disabled")
    ));
    for (title, list) in [
        (
            // `set`: asked for since start, as keepalived marks it once added.
            "------< Static Addresses >------",
            config
                .static_addresses
                .iter()
                .map(|a| format_vip(a, "", "", true))
                .collect::<Vec<_>>(),
        ),
        (
            "------< Static Routes >------",
            config
                .static_routes
                .iter()
                .map(|r| r.keepalived_text())
                .collect(),
        ),
        (
            "------< Static Rules >------",
            config
                .static_rules
                .iter()
                .map(|r| r.keepalived_text())
                .collect(),
        ),
    ] {
        if !list.is_empty() {
            line(title.into());
            for text in list {
                line(format!("     {text}"));
            }
        }
    }
    line("------< VRRP Topology >------".into());
    for v in views {
        let c = v.cfg;
        line(format!(" VRRP Instance = {}", v.counters.name));
        line(format!("   VRRP Version = {}", v.counters.version));
        if c.family == crate::proto::Family::Ipv6 {
            line("   Using Native IPv6".into());
        }
        line(format!("   State = {}", v.counters.state.keepalived_name()));
        if v.counters.state == State::Backup {
            if let Some(m) = v.counters.master {
                line(format!("   Master router = {}", m.address));
                line(format!("   Master priority = {}", m.priority.get()));
                if c.version == Version::V3 {
                    line(format!(
                        "   Master advert int = {:.2} sec",
                        secs_f(v.counters.master_adver_int)
                    ));
                }
            }
        }
        if c.is_unicast() {
            line("   Flags:".into());
            line("     Using unicast".into());
        } else {
            line("   Flags: none".into());
        }
        line(format!(
            "   Wantstate = {}",
            v.counters.state.keepalived_name()
        ));
        let (s, us) = epoch(v.last_transition);
        line(format!(
            "   Last transition = {s}.{us:06} ({})",
            ctime_us(v.last_transition)
        ));
        line(format!("   Interface = {}", v.counters.interface));
        if c.dont_track_primary {
            line("   VRRP interface tracking disabled".into());
        }
        if c.skip_check_adv_addr {
            line("   Skip checking advert IP addresses".into());
        }
        if c.strict {
            line("   Enforcing strict VRRP compliance".into());
        }
        let configured = crate::driver::params::configured_source(c).is_some();
        line(format!(
            "   Using src_ip = {}{}",
            v.counters.source,
            yes(configured, " (from configuration)", "")
        ));
        if !c.is_unicast() {
            line(format!(
                "   Multicast address {}",
                crate::driver::params::multicast_group(c)
            ));
        }
        let gp = &c.garp;
        line(format!(
            "   Gratuitous ARP delay = {}",
            gp.master_delay.as_duration().as_secs()
        ));
        line(format!("   Gratuitous ARP repeat = {}", gp.master_repeat));
        line(format!(
            "   Gratuitous ARP refresh = {}",
            gp.master_refresh.as_duration().as_secs()
        ));
        line(format!(
            "   Gratuitous ARP refresh repeat = {}",
            gp.master_refresh_repeat
        ));
        line(format!(
            "   Gratuitous ARP lower priority delay = {}",
            gp.lower_prio_delay.as_duration().as_secs()
        ));
        line(format!(
            "   Gratuitous ARP lower priority repeat = {}",
            gp.lower_prio_repeat
        ));
        line(format!("   Down timer adverts = {}", c.down_timer_adverts));
        line(format!(
            "   Send advert after receive lower priority advert = {}",
            yes(c.lower_prio_no_advert, "false", "true")
        ));
        line(format!(
            "   Send advert after receive higher priority advert = {}",
            yes(c.higher_prio_send_advert, "true", "false")
        ));
        line(format!("   Virtual Router ID = {}", v.counters.vrid));
        line(format!("   Priority = {}", v.counters.base_priority));
        line(format!(
            "   Effective priority = {}",
            v.counters.effective_priority
        ));
        line(format!(
            "   Total priority = {}",
            i32::from(v.counters.base_priority) + v.counters.tracker_adjustment
        ));
        let int = c.advert_int.as_duration();
        if c.version == Version::V2 {
            line(format!("   Advert interval = {} sec", int.as_secs()));
        } else {
            line(format!(
                "   Advert interval = {} milli-sec",
                int.as_millis()
            ));
        }
        if v.counters.state == State::Backup && c.version == Version::V3 {
            line(format!(
                "   Master advert interval = {} milli-sec",
                v.counters.master_adver_int.as_millis()
            ));
        }
        line(format!(
            "   Accept = {}",
            yes(c.accept, "enabled", "disabled")
        ));
        line(format!(
            "   Preempt = {}",
            yes(c.nopreempt, "disabled", "enabled")
        ));
        if !c.preempt_delay.as_duration().is_zero() {
            line(format!(
                "   Preempt delay = {} secs",
                c.preempt_delay.as_duration().as_secs_f64()
            ));
        }
        line(format!(
            "   Promote_secondaries = {}",
            yes(c.promote_secondaries, "enabled", "disabled")
        ));
        match c.auth {
            Auth::SimpleText(_) => {
                line("   Authentication type = SIMPLE_PASSWORD".into());
                line("   Password = ********".into());
            }
            Auth::None if c.version == Version::V2 => {
                line("   Authentication type = none".into());
            }
            Auth::None => {}
        }
        if !c.vips.is_empty() {
            line(format!("   Virtual IP ({}):", c.vips.len()));
            for a in &c.vips {
                line(format!(
                    "     {}",
                    format_vip(
                        a,
                        v.vip_ifname(),
                        v.counters.interface,
                        v.counters.holds_addresses
                    )
                ));
            }
        }
        if !c.excluded_vips.is_empty() {
            line("   Virtual IP Excluded :".into());
            for a in &c.excluded_vips {
                line(format!(
                    "     {}",
                    format_vip(
                        a,
                        v.vip_ifname(),
                        v.counters.interface,
                        v.counters.holds_addresses
                    )
                ));
            }
        }
        if c.is_unicast() {
            line(format!(
                "   Check unicast src : {}",
                yes(c.check_unicast_src, "yes", "no")
            ));
            line("   Unicast Peer :".into());
            for p in &c.unicast_peers {
                line(format!(
                    "     {} min_ttl {} max_ttl {}",
                    p.addr,
                    p.min_ttl.unwrap_or(0),
                    p.max_ttl.unwrap_or(255)
                ));
            }
            line(format!(
                "   Unicast checksum compatibility = {}",
                yes(c.v3_checksum_as_v2, "yes", "no")
            ));
        }
        if !c.virtual_routes.is_empty() {
            line("   Virtual Routes :".into());
            for r in &c.virtual_routes {
                line(format!("     {}", r.keepalived_text()));
            }
        }
        if !c.virtual_rules.is_empty() {
            line("   Virtual Rules :".into());
            for r in &c.virtual_rules {
                line(format!("     {}", r.keepalived_text()));
            }
        }
        if !c.track_interfaces.is_empty() {
            line("   Tracked interfaces :".into());
            for t in &c.track_interfaces {
                line(format!(
                    "     {} weight {}{}",
                    t.name,
                    t.weight,
                    yes(t.reverse, " reverse", "")
                ));
            }
        }
        if !c.track_scripts.is_empty() {
            line("   Tracked scripts :".into());
            for t in &c.track_scripts {
                let script = config.scripts.iter().find(|s| s.name == t.name);
                let weight = t.weight.or(script.map(|s| s.weight)).unwrap_or(0);
                let reverse = t.reverse.or(script.map(|s| s.reverse)).unwrap_or(false);
                line(format!(
                    "     {} weight {weight}{}",
                    t.name,
                    yes(reverse, " reverse", "")
                ));
            }
        }
        line(format!(
            "   Using smtp notification = {}",
            yes(c.smtp_alert, "yes", "no")
        ));
        line(format!(
            "   Notify deleted = {}",
            yes(c.notify.deleted.is_some(), "Deleted", "Fault")
        ));
        line(format!(
            "   Notify priority changes = {}",
            yes(config.notify_priority_changes(c), "true", "false")
        ));
    }
    if !config.scripts.is_empty() {
        line("------< VRRP Scripts >------".into());
    }
    for s in &config.scripts {
        line(format!(" VRRP Script = {}", s.name));
        line(format!("   Command = {}", cmd_str(&s.script)));
        line(format!(
            "   Interval = {} sec",
            s.interval.as_duration().as_secs()
        ));
        line(format!(
            "   Timeout = {} sec",
            s.timeout.map_or(0, |t| t.as_duration().as_secs())
        ));
        line(format!(
            "   Weight = {}{}",
            s.weight,
            yes(s.reverse, " reverse", "")
        ));
        line(format!("   Rise = {}", s.rise));
        line(format!("   Fall = {}", s.fall));
        let status = match reading(&TrackerKey::new(Kind::Script, &s.name)) {
            Some(Reading::Ok) => "GOOD",
            Some(_) => "BAD",
            None => "UNKNOWN",
        };
        line(format!("   Status = {status}"));
        line("   Tracking instances :".into());
        for v in views {
            if let Some(t) = v.cfg.track_scripts.iter().find(|t| t.name == s.name) {
                line(format!(
                    "     {}, weight {}",
                    v.counters.name,
                    t.weight.unwrap_or(s.weight)
                ));
            }
        }
    }
    o
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

impl Daemon {
    /// Renders the dump `kind` asks for and hands it to a blocking thread
    /// to write.
    pub(super) fn dump(&self, kind: DumpKind) {
        let wall = self.exec.clock.wall();
        let views: Vec<View> = self
            .driver
            .instances()
            .iter()
            .map(|r| View::of(r, wall))
            .collect();
        let g = &self.config.global;
        let (text, configured) = match kind {
            DumpKind::Data => (
                render_data(&self.config, &views, &|k| self.tracking.reading(k)),
                g.state_file_location.as_deref(),
            ),
            DumpKind::Stats | DumpKind::StatsClear => {
                (render_stats(&views), g.stats_file_location.as_deref())
            }
            DumpKind::Json => (
                render_json(&self.config, &views),
                g.json_file_location.as_deref(),
            ),
        };
        if kind == DumpKind::StatsClear {
            info!("STATS_CLEAR: stats written; vrrpd keeps its counters (metrics and status rely on them never going back)");
        }
        let path = located(configured, &file_name(kind, g));
        tokio::task::spawn_blocking(move || match write_atomic(&path, text.as_bytes()) {
            Ok(()) => info!("Printing {} to {}", kind.default_name(), path.display()),
            Err(e) => warn!("Can't write {}: {e}", path.display()),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::fsm::Stats;
    const CONF: &str = "global_defs {\n router_id node_a\n}\nvrrp_script chk {\n script \"/bin/true\"\n interval 1\n weight -10\n}\nvrrp_instance VI_1 {\n interface eth0\n virtual_router_id 48\n priority 150\n version 3\n advert_int 0.1\n virtual_ipaddress {\n  192.0.2.30/24\n }\n track_script {\n  chk\n }\n}\nvrrp_instance VI_2 {\n interface eth0\n virtual_router_id 49\n priority 100\n authentication {\n  auth_type PASS\n  auth_pass secret\n }\n unicast_src_ip 192.0.2.20\n unicast_peer {\n  192.0.2.21\n }\n virtual_ipaddress {\n  192.0.2.31\n }\n}\n";

    fn with_views<T>(f: impl FnOnce(&Config, &[View]) -> T) -> T {
        let loaded = crate::config::load_str("k.conf", CONF, &Default::default());
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        let cfg = loaded.config;
        let stats = Stats {
            adverts_sent: 27,
            became_master: 1,
            ..Stats::default()
        };
        let idle = Stats::default();
        let mut drops = crate::driver::Tally::default();
        drops.insert("ttl", 4u64);
        let none = crate::driver::Tally::default();
        let at = SystemTime::UNIX_EPOCH + Duration::from_micros(1_795_677_059_486_823);
        let lateness = crate::driver::lateness::Lateness::default();
        let counters = |i: usize, state, stats, drops, interval, holds| View {
            cfg: &cfg.instances[i],
            counters: Counters {
                name: &cfg.instances[i].name,
                interface: "eth0",
                vrid: cfg.instances[i].vrid.get(),
                version: cfg.instances[i].version.number(),
                state,
                state_since: crate::proto::Instant::ZERO,
                base_priority: cfg.instances[i].priority.get(),
                effective_priority: cfg.instances[i].priority.get(),
                tracker_adjustment: 0,
                master: None,
                master_adver_int: interval,
                source: "192.0.2.20".parse().unwrap(),
                holds_addresses: holds,
                stats,
                drops,
                lateness: &lateness,
            },
            last_transition: at,
        };
        let views = [
            counters(
                0,
                State::Master,
                &stats,
                &drops,
                Duration::from_millis(100),
                true,
            ),
            counters(
                1,
                State::Backup,
                &idle,
                &none,
                Duration::from_secs(1),
                false,
            ),
        ];
        f(&cfg, &views)
    }

    #[test]
    fn an_address_with_its_own_vmac_shows_it_on_its_base_with_use_vmac() {
        let mut v = Vip::host("198.51.100.30".parse().unwrap());
        v.prefix = 24;
        v.vmac = Some("vrrp.51".into());
        v.use_vmac = true;
        assert_eq!(
            format_vip(&v, "vrrp.48", "eth0", true),
            "198.51.100.30/24 dev vrrp.51@eth0 use_vmac scope global set"
        );
        v.dev = Some("eth1".into());
        v.use_vmac = false;
        assert_eq!(
            format_vip(&v, "eth0", "eth0", false),
            "198.51.100.30/24 dev vrrp.51@eth1 scope global"
        );
    }

    #[test]
    fn json_names_the_vmac_as_keepalived_does() {
        let text = with_views(|cfg, views| {
            let mut cfg0 = (*cfg.instances[0]).clone();
            cfg0.use_vmac = Some("vrrp.48".into());
            let v = View {
                cfg: &cfg0,
                counters: views[0].counters,
                last_transition: views[0].last_transition,
            };
            render_json(cfg, &[v])
        });
        let doc: Value = serde_json::from_str(&text).unwrap();
        let a = &doc[0]["data"];
        assert_eq!(a["vmac_ifname"], "vrrp.48");
        assert_eq!(a["ifp_ifname"], "vrrp.48");
        assert_eq!(
            a["vips"],
            json!(["192.0.2.30/24 dev vrrp.48 scope global set"])
        );
        let plain = with_views(render_json);
        let doc: Value = serde_json::from_str(&plain).unwrap();
        assert_eq!(doc[0]["data"]["vmac_ifname"], "");
        assert_eq!(doc[0]["data"]["ifp_ifname"], "eth0");
    }

    #[test]
    fn json_follows_keepalived_2_2_7() {
        let text = with_views(render_json);
        let doc: Value = serde_json::from_str(&text).unwrap();
        let a = &doc[0]["data"];
        assert_eq!(a["iname"], "VI_1");
        assert_eq!(a["state"], 2);
        assert_eq!(a["wantstate"], 2);
        assert_eq!(a["vrid"], 48);
        assert_eq!(a["adver_int"], 0.1);
        assert_eq!(a["vipset"], true);
        assert_eq!(a["dont_track_primary"], 0);
        assert_eq!(a["last_transition"], 1_795_677_059.486823);
        assert_eq!(
            a["vips"],
            json!(["192.0.2.30/24 dev eth0 scope global set"])
        );
        assert_eq!(a["track_script"], json!(["'/bin/true'"]));
        assert_eq!(a["auth_type"], 0);
        assert_eq!(doc[0]["stats"]["advert_sent"], 27);
        assert_eq!(doc[0]["stats"]["ip_ttl_err"], 4);
        let b = &doc[1]["data"];
        assert_eq!(b["state"], 1);
        assert_eq!(b["vips"], json!(["192.0.2.31 dev eth0 scope global"]));
        assert_eq!(b["auth_type"], 1);
        assert_eq!(b["auth_data"], "********", "never the password");
        assert!(!text.contains("secret"));
    }

    #[test]
    fn stats_follow_keepalived_line_for_line() {
        let text = with_views(|_, v| render_stats(v));
        let first: Vec<&str> = text.lines().take(18).collect();
        assert_eq!(
            first,
            [
                "VRRP Instance: VI_1",
                "  Advertisements:",
                "    Received: 0",
                "    Sent: 27",
                "  Became master: 1",
                "  Released master: 0",
                "  Packet Errors:",
                "    Length: 0",
                "    TTL: 4",
                "    Invalid Type: 0",
                "    Advertisement Interval: 0",
                "    Address List: 0",
                "  Authentication Errors:",
                "    Invalid Type: 0",
                "    Type Mismatch: 0",
                "    Failure: 0",
                "  Priority Zero:",
                "    Received: 0",
            ]
        );
        assert_eq!(text.lines().count(), 2 * 19);
    }

    #[test]
    fn data_has_the_lines_exporters_parse() {
        let text =
            with_views(|cfg, v| render_data(cfg, v, &|k| (k.name == "chk").then_some(Reading::Ok)));
        for l in [
            "------< VRRP Topology >------",
            " VRRP Instance = VI_1",
            "   State = MASTER",
            "   Wantstate = MASTER",
            "   Interface = eth0",
            "   Virtual Router ID = 48",
            "   Priority = 150",
            "   Effective priority = 150",
            "   Advert interval = 100 milli-sec",
            "   Virtual IP (1):",
            "     192.0.2.30/24 dev eth0 scope global set",
            "     chk weight -10",
            " VRRP Instance = VI_2",
            "   State = BACKUP",
            "     Using unicast",
            "   Using src_ip = 192.0.2.20 (from configuration)",
            "     192.0.2.21 min_ttl 0 max_ttl 255",
            "   Advert interval = 1 sec",
            "   Password = ********",
            " VRRP Script = chk",
            "   Status = GOOD",
            "     VI_1, weight -10",
        ] {
            assert!(text.lines().any(|x| x == l), "missing {l:?} in\n{text}");
        }
        assert!(text.contains("   Last transition = 1795677059.486823 ("));
        assert!(!text.contains("secret"));
    }

    #[test]
    fn locations_follow_keepalived_2_3() {
        assert_eq!(
            location(None, DumpKind::Json),
            PathBuf::from("/tmp/keepalived.json")
        );
        assert_eq!(
            location(Some(Path::new("/run/vrrpd/")), DumpKind::StatsClear),
            PathBuf::from("/run/vrrpd/keepalived.stats")
        );
        assert_eq!(
            location(Some(Path::new("/run/x.data")), DumpKind::Data),
            PathBuf::from("/run/x.data")
        );
        assert_eq!(json_signal(), 36, "glibc: SIGRTMIN is 34");
        assert_eq!(stats_clear_signal(), 63);
    }
    #[test]
    fn data_use_instance_names_the_files_as_keepalived() {
        let mut g = crate::config::Global::default();
        assert_eq!(file_name(DumpKind::Data, &g), "keepalived.data");
        g.instance = Some("lb1".into());
        assert_eq!(file_name(DumpKind::Data, &g), "keepalived.data");
        g.data_use_instance = true;
        assert_eq!(file_name(DumpKind::Data, &g), "keepalived.lb1.data");
        g.net_namespace = Some("blue".into());
        assert_eq!(file_name(DumpKind::Json, &g), "keepalived.blue_lb1.json");
        g.instance = None;
        assert_eq!(file_name(DumpKind::StatsClear, &g), "keepalived.blue.stats");
    }

    #[test]
    fn writes_are_atomic_private_and_never_follow_symlinks() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("vrrpd-dump-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let victim = dir.join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let target = dir.join("keepalived.json");
        std::os::unix::fs::symlink(&victim, &target).unwrap();
        write_atomic(&target, b"[]\n").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        let meta = std::fs::symlink_metadata(&target).unwrap();
        assert!(
            meta.file_type().is_file(),
            "the symlink was replaced, not followed"
        );
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "[]\n");
        // Overwrites, and leaves no temporary files behind.
        write_atomic(&target, b"[1]\n").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "[1]\n");
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        // A missing directory is an error, not a panic.
        assert!(write_atomic(&dir.join("nope/keepalived.json"), b"x").is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
