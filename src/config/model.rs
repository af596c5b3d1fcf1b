//! The one configuration model both front ends produce.
//!
//! Values are resolved: every instance carries its final settings (globals
//! such as `vrrp_version` or `vrrp_garp_master_delay` are already folded in),
//! so the daemon never consults defaults again. The same structs are the
//! native TOML schema (`deny_unknown_fields`) and the JSON dump.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::proto::wire::Auth;
use crate::proto::{Centis, Family, Priority, Version, Vrid};

use super::units::{
    auth_text, centis_secs, family_name, is_default, is_no_auth, no_auth, version_num, Secs,
};

/// A whole configuration: global settings, VRRP instances and what they track.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Settings that apply to the whole daemon (keepalived `global_defs`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub global: Global,
    /// Health-check scripts (keepalived `vrrp_script`), referenced by name.
    #[serde(default, rename = "script", skip_serializing_if = "Vec::is_empty")]
    pub scripts: Vec<VrrpScript>,
    /// Watched files holding a priority offset (keepalived `vrrp_track_file`).
    #[serde(default, rename = "track_file", skip_serializing_if = "Vec::is_empty")]
    pub track_files: Vec<TrackFile>,
    /// Process presence trackers (keepalived `vrrp_track_process`).
    #[serde(
        default,
        rename = "track_process",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub track_processes: Vec<TrackProcess>,
    /// Native HTTP(S)/TCP health probes (vrrpd extension), referenced by name.
    #[serde(default, rename = "probe", skip_serializing_if = "Vec::is_empty")]
    pub probes: Vec<Probe>,
    /// The virtual routers this node takes part in (keepalived `vrrp_instance`).
    #[serde(default, rename = "instance", skip_serializing_if = "Vec::is_empty")]
    /// Shared (`Arc`): the driver's running instances and the notifier
    /// hold the same ones, not copies (1000 instances cost 1 KB each once).
    pub instances: Vec<Arc<Instance>>,
    /// Instances that change state together (keepalived `vrrp_sync_group`).
    #[serde(default, rename = "sync_group", skip_serializing_if = "Vec::is_empty")]
    pub sync_groups: Vec<SyncGroup>,
    /// Interfaces with their own GARP / NA pacing (keepalived `garp_group`).
    #[serde(default, rename = "garp_group", skip_serializing_if = "Vec::is_empty")]
    pub garp_groups: Vec<GarpGroup>,
    /// Routes installed at start and removed at a clean stop (keepalived `static_routes`).
    #[serde(
        default,
        rename = "static_route",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub static_routes: Vec<super::route::Route>,
    /// Policy rules installed at start and removed at a clean stop (keepalived `static_rules`).
    #[serde(default, rename = "static_rule", skip_serializing_if = "Vec::is_empty")]
    pub static_rules: Vec<super::route::Rule>,
    /// Interfaces whose link state is polled (ETHTOOL_GLINK and the
    /// interface flags, once a second) instead of read from netlink
    /// (keepalived `linkbeat_interfaces`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub linkbeat_interfaces: Vec<String>,
    /// Per-interface delays before a link change counts (keepalived
    /// `interface_up_down_delays`).
    #[serde(
        default,
        rename = "interface_delay",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub interface_delays: Vec<InterfaceDelay>,
    /// Addresses added at start and removed at a clean stop, whatever the
    /// instances' states (keepalived `static_ipaddress`); `dev` is always
    /// set (the keepalived front end fills in the default interface).
    #[serde(
        default,
        rename = "static_address",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub static_addresses: Vec<Vip>,
}

impl Config {
    /// A deep copy: every instance a new allocation too (a plain `clone`
    /// shares them). The daemon parses its configuration on a thread of
    /// its own (its own malloc arena) and keeps this copy, made on the
    /// driver's thread: the parse's short-lived allocations then leave no
    /// holes between the instances that stay (1.5 MB less resident heap at
    /// 1000 instances, README "1000 instances").
    pub fn deep_clone(&self) -> Config {
        Config {
            instances: self
                .instances
                .iter()
                .map(|i| Arc::new(Instance::clone(i)))
                .collect(),
            ..self.clone()
        }
    }

    /// Whether `inst` reports priority changes (keepalived's
    /// `notify_priority_changes`, vrrp.c `vrrp_complete_instance`): the
    /// instance's own setting, else its sync group's, else the global
    /// `vrrp_notify_priority_changes`. An explicit `off` wins over a
    /// wider `on`.
    pub fn notify_priority_changes(&self, inst: &Instance) -> bool {
        inst.notify_priority_changes
            .or_else(|| {
                self.sync_groups
                    .iter()
                    .find(|g| g.members.contains(&inst.name))
                    .and_then(|g| g.notify_priority_changes)
            })
            .unwrap_or(self.global.notify_priority_changes)
    }
}

/// Interfaces whose gratuitous ARPs and unsolicited NAs share one pacing
/// clock (keepalived `garp_group`); they do not use the global
/// `garp_interval` / `gna_interval`. An interface belongs to one group.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GarpGroup {
    /// Minimum gap between gratuitous ARPs on these interfaces together (`garp_interval`); 0 = no pacing.
    #[serde(default, skip_serializing_if = "is_default")]
    pub garp_interval: Secs,
    /// Minimum gap between unsolicited NAs on these interfaces together (`gna_interval`); 0 = no pacing.
    #[serde(default, skip_serializing_if = "is_default")]
    pub gna_interval: Secs,
    /// The interfaces (`interface IF` or `interfaces { IF ... }`).
    pub interfaces: Vec<String>,
}

/// One `interface_up_down_delays` entry: `IF DOWN_DELAY [UP_DELAY]`. A
/// link change on the interface counts once it has lasted that long; one
/// undone within the delay is never seen (keepalived's debounce timers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InterfaceDelay {
    pub interface: String,
    /// Before going down counts (0..255 s, microseconds).
    #[serde(default, skip_serializing_if = "is_default")]
    pub down: Secs,
    /// Before coming up counts.
    #[serde(default, skip_serializing_if = "is_default")]
    pub up: Secs,
}

/// keepalived's `vrrp_rx_bufs_policy`: what each instance adds to its
/// socket's receive buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RxBufsPolicy {
    /// `vrrp_rx_bufs_multiplier` times the interface MTU.
    Mtu,
    /// `vrrp_rx_bufs_multiplier` times the advert's length.
    Advert,
    /// This many bytes.
    Size(u32),
}

fn default_rx_bufs_multiplier() -> u32 {
    3
}

fn is_default_rx_bufs_multiplier(v: &u32) -> bool {
    *v == default_rx_bufs_multiplier()
}

/// Daemon-wide settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Global {
    /// Name of this node in alerts (keepalived `router_id`); informational.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub router_id: Option<String>,
    /// Alert recipients (`notification_email`) of instances and groups with `smtp_alert`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notification_email: Vec<String>,
    /// Alert sender (`notification_email_from`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_email_from: Option<String>,
    /// SMTP relay as `host [port]` (`smtp_server`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_server: Option<String>,
    /// SMTP connect timeout (`smtp_connect_timeout`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_connect_timeout: Option<Secs>,
    /// Name given in HELO (`smtp_helo_name`; default: the host name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_helo_name: Option<String>,
    /// No e-mail for FAULT (`no_email_faults`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub no_email_faults: bool,
    /// Minimum gap between gratuitous ARPs on one interface (`vrrp_garp_interval`); 0 = no pacing.
    /// Interfaces of a `garp_group` use the group's instead.
    #[serde(default, skip_serializing_if = "is_default")]
    pub garp_interval: Secs,
    /// Minimum gap between unsolicited NAs on one interface (`vrrp_gna_interval`); 0 = no pacing.
    /// Interfaces of a `garp_group` use the group's instead.
    #[serde(default, skip_serializing_if = "is_default")]
    pub gna_interval: Secs,
    /// IPv4 multicast group adverts go to (`vrrp_mcast_group4`).
    #[serde(default = "default_group4", skip_serializing_if = "is_default_group4")]
    pub mcast_group4: Ipv4Addr,
    /// IPv6 multicast group adverts go to (`vrrp_mcast_group6`).
    #[serde(default = "default_group6", skip_serializing_if = "is_default_group6")]
    pub mcast_group6: Ipv6Addr,
    /// How the advert thread is scheduled (`vrrp_priority`, `vrrp_rt_priority`,
    /// `vrrp_rlimit_rttime`, `vrrp_no_swap`, `vrrp_cpu_affinity`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub scheduling: Scheduling,
    /// Delay before VRRP starts after daemon start (`vrrp_startup_delay`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub startup_delay: Secs,
    /// VRRP starts no earlier than this long after the host booted
    /// (`vrrp_delay_after_boot`, keepalived 2.3); the later of the two
    /// delays applies ([`Global::startup_hold`]).
    #[serde(default, skip_serializing_if = "is_default")]
    pub delay_after_boot: Secs,
    /// Default user (and group) scripts run as (`script_user USER [GROUP]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script_user: Option<RunAs>,
    /// Refuse scripts writable by non-root users (`enable_script_security`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub enable_script_security: bool,
    /// FIFO receiving every state event (`notify_fifo`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_fifo: Option<Fifo>,
    /// Command started to read `notify_fifo` (`notify_fifo_script`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_fifo_script: Option<Command>,
    /// FIFO receiving VRRP state events (`vrrp_notify_fifo`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vrrp_notify_fifo: Option<Fifo>,
    /// Command started to read `vrrp_notify_fifo` (`vrrp_notify_fifo_script`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vrrp_notify_fifo_script: Option<Command>,
    /// Also report priority changes on the FIFOs (`vrrp_notify_priority_changes`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub notify_priority_changes: bool,
    /// Allow interfaces that do not exist yet (`dynamic_interfaces`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub dynamic_interfaces: bool,
    /// Interface for addresses and instances that name none (`default_interface`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_interface: Option<String>,
    /// Name prefix of the VMACs of virtual addresses on other interfaces
    /// (`vmac_addr_prefix`): PREFIX.VRID, then PREFIXN.VRID; default
    /// keepalived.conf's `vmac_prefix`, else "vrrp".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vmac_addr_prefix: Option<String>,
    /// Turn `net.ipv4.igmp_link_local_mcast_reports` off from start to
    /// stop (`disable_local_igmp`); a reload cannot change it.
    #[serde(default, skip_serializing_if = "is_default")]
    pub disable_local_igmp: bool,
    /// How big each VRRP socket's receive buffer is for the instances on
    /// it without `kernel_rx_buf_size` (`vrrp_rx_bufs_policy`); unset, and
    /// no instance setting one, vrrpd's own 2 MB applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rx_bufs_policy: Option<RxBufsPolicy>,
    /// The multiple of the MTU or advert length per instance
    /// (`vrrp_rx_bufs_multiplier`, default 3).
    #[serde(
        default = "default_rx_bufs_multiplier",
        skip_serializing_if = "is_default_rx_bufs_multiplier"
    )]
    pub rx_bufs_multiplier: u32,
    /// Log adverts for VRIDs no instance runs (`log_unknown_vrids`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub log_unknown_vrids: bool,
    /// Serve Prometheus metrics at `http://ADDR/metrics`, e.g. `"127.0.0.1:9650"`
    /// (vrrpd extension `metrics_listen`); off when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Where SIGUSR1 writes the data dump (keepalived 2.3 `state_file_location`;
    /// a path ending in `/` is a directory); default `/tmp/keepalived.data`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "absolute_path"
    )]
    pub state_file_location: Option<std::path::PathBuf>,
    /// Where SIGUSR2 writes the stats dump (`stats_file_location`); default
    /// `/tmp/keepalived.stats`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "absolute_path"
    )]
    pub stats_file_location: Option<std::path::PathBuf>,
    /// Where signal 36 (`keepalived --signum=JSON`) writes the JSON dump
    /// (`json_file_location`); default `/tmp/keepalived.json`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "absolute_path"
    )]
    pub json_file_location: Option<std::path::PathBuf>,
    /// The network namespace the daemon runs in (keepalived
    /// `net_namespace NAME`): `ip netns`'s `/run/netns/NAME`, entered at
    /// start before any socket or thread; a reload cannot change it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "netns_name"
    )]
    pub net_namespace: Option<String>,
    /// File creation mask of the daemon (keepalived `umask`), e.g. `0o077`;
    /// unset: the one it was started with. Applied at start and by a reload.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "umask_bits"
    )]
    pub umask: Option<u32>,
    /// The daemon's process name (`/proc/PID/comm`, what `ps` and `pgrep`
    /// show; at most 15 bytes): keepalived's `vrrp_process_name` (or
    /// `process_names`, which means `keepalived_vrrp`), else `process_name`;
    /// unset: `vrrpd`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_name: Option<String>,
    /// After a reload, write the state of every instance and sync group
    /// that kept its state to the notify FIFOs again (keepalived 2.3
    /// `fifo_write_vrrp_states_on_reload`; 2.2.7 parses it and does nothing).
    #[serde(default, skip_serializing_if = "is_default")]
    pub fifo_write_vrrp_states_on_reload: bool,
    /// keepalived's `instance NAME` (top level): with `data_use_instance`,
    /// part of the dump files' names; a reload cannot change it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// Put `net_namespace` and `instance` in the dump files' names,
    /// `keepalived.NS_INSTANCE.data` (keepalived `data_use_instance`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub data_use_instance: bool,
    /// Receive buffers of the netlink sockets (keepalived
    /// `vrrp_netlink_cmd_rcv_bufs`, `vrrp_netlink_monitor_rcv_bufs` and
    /// their `_force`); set at start, a reload keeps them.
    #[serde(default, skip_serializing_if = "is_default")]
    pub netlink_rcv_bufs: NetlinkRcvBufs,
    /// A file that exists while a reload reads and applies the new
    /// configuration (keepalived `reload_file [PATH]`, default
    /// `/run/keepalived.reload`); one left by a crash is removed at start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reload_file: Option<std::path::PathBuf>,
    /// A file naming when to reload (keepalived `reload_time_file`):
    /// `HH:MM:SS`, `[YY]YY-MM-DD HH:MM:SS`, local time or UTC with `Z`;
    /// removed after the reload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reload_time_file: Option<std::path::PathBuf>,
    /// Keep a time-only `reload_time_file` after the reload: the same time
    /// every day (`reload_repeat`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub reload_repeat: bool,
    /// Run once before VRRP starts (keepalived `startup_script`): the
    /// daemon waits for it, at most `startup_script_timeout` seconds
    /// (then its process group is killed), before any advert or address.
    /// Not on a reload or an upgrade.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup_script: Option<Command>,
    /// Seconds the startup script may run (1..=1000, default 10).
    #[serde(
        default = "default_hook_timeout",
        skip_serializing_if = "is_default_hook_timeout",
        deserialize_with = "hook_timeout"
    )]
    pub startup_script_timeout: u32,
    /// Run once at a clean stop, after the instances stopped and their
    /// addresses went (keepalived `shutdown_script`); the daemon exits when
    /// it ends or after `shutdown_script_timeout` seconds (then killed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shutdown_script: Option<Command>,
    /// Seconds the shutdown script may run (1..=1000, default 10).
    #[serde(
        default = "default_hook_timeout",
        skip_serializing_if = "is_default_hook_timeout",
        deserialize_with = "hook_timeout"
    )]
    pub shutdown_script_timeout: u32,
    /// The nftables table, chains and sets accept mode uses (keepalived
    /// `nftables [TABLE]`, `nftables_priority`, `nftables_counters`,
    /// `nftables_ifindex`). Used only when an instance drops traffic to its
    /// addresses (`accept = false`, not the address owner); read at start,
    /// a reload keeps the running settings, as keepalived does.
    #[serde(default, skip_serializing_if = "is_default")]
    pub nftables: Nftables,
}

/// Where and how accept mode's drop rules live (keepalived 2.2.7's
/// `vrrp_nftables.c` layout: tables `ip TABLE` and `ip6 TABLE`, chains
/// `in` and `out`, set `vips`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Nftables {
    /// Table name in the `ip` and `ip6` families (`nftables TABLE`,
    /// default `keepalived`); at most 255 bytes.
    #[serde(default = "default_nft_table", deserialize_with = "nft_table_name")]
    pub table: String,
    /// Priority of the base chains (`nftables_priority`, default -1).
    #[serde(default = "default_nft_priority")]
    pub priority: i32,
    /// A counter in every rule (`nftables_counters`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub counters: bool,
    /// IPv6 link-local addresses are always matched with the interface
    /// index (`vips_link_local`), never its name (`nftables_ifindex`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub ifindex: bool,
}

/// keepalived's `NFT_TABLE_MAXNAMELEN` is 256 with the terminating NUL.
pub const NFT_TABLE_MAX_LEN: usize = 255;

fn default_nft_table() -> String {
    "keepalived".to_string()
}
fn default_nft_priority() -> i32 {
    -1
}

fn nft_table_name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let name = String::deserialize(d)?;
    check_nft_table(&name).map_err(serde::de::Error::custom)?;
    Ok(name)
}

/// A table name nft accepts: 1..=255 bytes, no NUL (nft quotes the rest).
pub fn check_nft_table(name: &str) -> Result<(), String> {
    if name.is_empty() || name.contains('\0') {
        return Err(format!("'{name}' is not an nftables table name"));
    }
    if name.len() > NFT_TABLE_MAX_LEN {
        return Err(format!(
            "an nftables table name is at most {NFT_TABLE_MAX_LEN} bytes, got {}",
            name.len()
        ));
    }
    Ok(())
}

impl Default for Nftables {
    fn default() -> Self {
        Nftables {
            table: default_nft_table(),
            priority: default_nft_priority(),
            counters: false,
            ifindex: false,
        }
    }
}

/// Dump locations must be absolute: the daemon's working directory is no
/// place an operator would look.
fn absolute_path<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<std::path::PathBuf>, D::Error> {
    let text = String::deserialize(d)?;
    check_dump_path(&text)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

/// A dump location (`state_file_location` and the like): an absolute path;
/// one ending in `/` names a directory (keepalived 2.3).
pub fn check_dump_path(text: &str) -> Result<std::path::PathBuf, String> {
    if text.starts_with('/') && !text.contains('\0') {
        Ok(std::path::PathBuf::from(text))
    } else {
        Err(format!(
            "expected an absolute path (a directory when it ends in '/'), got '{text}'"
        ))
    }
}

fn netns_name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let name = String::deserialize(d)?;
    check_netns_name(&name).map_err(serde::de::Error::custom)?;
    Ok(Some(name))
}

/// A name `ip netns` can have: a single path component under /run/netns.
pub fn check_netns_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
        return Err(format!(
            "'{name}' is not a network namespace name (a name from `ip netns list`)"
        ));
    }
    Ok(())
}

fn umask_bits<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    let bits = u32::deserialize(d)?;
    if bits & !0o777 != 0 {
        return Err(serde::de::Error::custom(format!(
            "a umask is at most 0o777, got {bits:#o}"
        )));
    }
    Ok(Some(bits))
}

/// The longest process name the kernel keeps (TASK_COMM_LEN - 1).
pub const PROCESS_NAME_MAX: usize = 15;

/// SO_RCVBUF of vrrpd's netlink sockets: the command socket (address
/// changes, lookups) and the monitor socket (link and address events). 0 is
/// the kernel's default (keepalived sets 64 KiB then); `force` uses
/// SO_RCVBUFFORCE, above `net.core.rmem_max` (needs CAP_NET_ADMIN).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetlinkRcvBufs {
    #[serde(default, skip_serializing_if = "is_default")]
    pub cmd: u32,
    #[serde(default, skip_serializing_if = "is_default")]
    pub cmd_force: bool,
    #[serde(default, skip_serializing_if = "is_default")]
    pub monitor: u32,
    #[serde(default, skip_serializing_if = "is_default")]
    pub monitor_force: bool,
}

/// keepalived's default for `startup_script_timeout` and
/// `shutdown_script_timeout` (global_parser.c).
pub const DEFAULT_HOOK_TIMEOUT: u32 = 10;
/// keepalived's range for those timeouts, in seconds.
pub const HOOK_TIMEOUT_RANGE: std::ops::RangeInclusive<u32> = 1..=1000;

fn default_hook_timeout() -> u32 {
    DEFAULT_HOOK_TIMEOUT
}
fn is_default_hook_timeout(t: &u32) -> bool {
    *t == DEFAULT_HOOK_TIMEOUT
}
fn hook_timeout<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let t = u32::deserialize(d)?;
    if HOOK_TIMEOUT_RANGE.contains(&t) {
        Ok(t)
    } else {
        Err(serde::de::Error::custom(format!(
            "a script timeout is 1..=1000 seconds, got {t}"
        )))
    }
}

fn default_group4() -> Ipv4Addr {
    Ipv4Addr::new(224, 0, 0, 18)
}
fn default_group6() -> Ipv6Addr {
    Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12)
}
fn is_default_group4(a: &Ipv4Addr) -> bool {
    *a == default_group4()
}
fn is_default_group6(a: &Ipv6Addr) -> bool {
    *a == default_group6()
}

impl Global {
    /// How long VRRP waits before its instances start, given the host's
    /// uptime (`/proc/uptime`, None when unreadable): the longer of
    /// `vrrp_startup_delay` and what is left of `vrrp_delay_after_boot`, as
    /// keepalived 2.3 computes it (an unreadable uptime ignores the second).
    pub fn startup_hold(&self, uptime: Option<std::time::Duration>) -> std::time::Duration {
        let startup = self.startup_delay.as_duration();
        let after_boot = uptime
            .map(|up| self.delay_after_boot.as_duration().saturating_sub(up))
            .unwrap_or_default();
        startup.max(after_boot)
    }
}

impl Default for Global {
    fn default() -> Self {
        Global {
            router_id: None,
            notification_email: Vec::new(),
            notification_email_from: None,
            smtp_server: None,
            smtp_connect_timeout: None,
            smtp_helo_name: None,
            no_email_faults: false,
            garp_interval: Secs::ZERO,
            gna_interval: Secs::ZERO,
            mcast_group4: default_group4(),
            mcast_group6: default_group6(),
            scheduling: Scheduling::default(),
            startup_delay: Secs::ZERO,
            delay_after_boot: Secs::ZERO,
            script_user: None,
            enable_script_security: false,
            notify_fifo: None,
            notify_fifo_script: None,
            vrrp_notify_fifo: None,
            vrrp_notify_fifo_script: None,
            notify_priority_changes: false,
            dynamic_interfaces: false,
            default_interface: None,
            vmac_addr_prefix: None,
            log_unknown_vrids: false,
            disable_local_igmp: false,
            rx_bufs_policy: None,
            rx_bufs_multiplier: default_rx_bufs_multiplier(),
            metrics_listen: None,
            state_file_location: None,
            stats_file_location: None,
            json_file_location: None,
            nftables: Nftables::default(),
            net_namespace: None,
            netlink_rcv_bufs: NetlinkRcvBufs::default(),
            instance: None,
            data_use_instance: false,
            reload_file: None,
            reload_time_file: None,
            reload_repeat: false,
            fifo_write_vrrp_states_on_reload: false,
            umask: None,
            process_name: None,
            startup_script: None,
            startup_script_timeout: DEFAULT_HOOK_TIMEOUT,
            shutdown_script: None,
            shutdown_script_timeout: DEFAULT_HOOK_TIMEOUT,
        }
    }
}

/// How the advert thread (the driver's) is scheduled. With none of `nice`,
/// `realtime_priority` and `max_auto_priority` set it runs SCHED_RR at
/// priority 1 under a CPU budget (`guarded_realtime`, vrrpd's default); with
/// one of them, as keepalived does; see `daemon::sched`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scheduling {
    /// vrrpd's default when no keepalived scheduling keyword chose: SCHED_RR
    /// 1 while the thread uses at most `realtime_cpu_budget_percent` of a
    /// CPU, SCHED_OTHER (short slice) for a while when it uses more
    /// (`driver::rtguard`). false: SCHED_OTHER with the short slice, as
    /// keepalived's default. TOML only; a keepalived.conf opts out with
    /// `vrrp_priority 0`.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub guarded_realtime: bool,
    /// The guard's budget, percent of one CPU per second (default 25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realtime_cpu_budget_percent: Option<CpuBudget>,
    /// Nice value, -20 (first) to 19 (`vrrp_priority`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nice: Option<Nice>,
    /// SCHED_RR at this priority, 1..99 (`vrrp_rt_priority`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realtime_priority: Option<RtPriority>,
    /// RLIMIT_RTTIME in microseconds with a realtime priority: CPU time the
    /// daemon may use without blocking before the kernel ends it
    /// (`vrrp_rlimit_rttime`, default 10000 as keepalived).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rlimit_rttime_us: Option<RtTime>,
    /// Lock the daemon's memory (mlockall) so it never waits for swap (`vrrp_no_swap`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub lock_memory: bool,
    /// CPUs the advert thread may run on (`vrrp_cpu_affinity`); empty = any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cpu_affinity: Vec<u16>,
    /// Starved (woken later than `min_auto_priority_delay_us` after a
    /// deadline), the advert thread moves to SCHED_RR 1, then one higher at
    /// each new starvation, up to this (keepalived `max_auto_priority`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_auto_priority: Option<RtPriority>,
    /// How late counts as starved, in microseconds, 1..=10000000 (keepalived
    /// `min_auto_priority_delay`, default 1000000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_auto_priority_delay_us: Option<AutoDelay>,
}

impl Default for Scheduling {
    fn default() -> Self {
        Scheduling {
            guarded_realtime: true,
            realtime_cpu_budget_percent: None,
            nice: None,
            realtime_priority: None,
            rlimit_rttime_us: None,
            lock_memory: false,
            cpu_affinity: Vec::new(),
            max_auto_priority: None,
            min_auto_priority_delay_us: None,
        }
    }
}

impl Scheduling {
    /// Whether vrrpd's guarded realtime default is in force: asked for, and
    /// no keepalived keyword chose the policy.
    pub fn default_realtime(&self) -> bool {
        self.guarded_realtime
            && self.nice.is_none()
            && self.realtime_priority.is_none()
            && self.max_auto_priority.is_none()
    }
}

/// An integer newtype that only holds `$range`: deserialized from any
/// integer and refused with `$what` (the config error names the value, and
/// the TOML front end its line and column).
macro_rules! bounded_int {
    ($(#[$doc:meta])* $name:ident($inner:ty), $range:expr, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(try_from = "i64", into = "i64")]
        pub struct $name($inner);

        impl $name {
            pub const fn get(self) -> $inner {
                self.0
            }
        }

        impl TryFrom<i64> for $name {
            type Error = String;
            fn try_from(v: i64) -> Result<Self, String> {
                match <$inner>::try_from(v) {
                    Ok(n) if ($range).contains(&n) => Ok($name(n)),
                    _ => Err(format!(concat!($what, ", got {}"), v)),
                }
            }
        }

        impl From<$name> for i64 {
            fn from(n: $name) -> i64 {
                i64::from(n.0)
            }
        }
    };
}

bounded_int!(
    /// A nice value, -20..=19.
    Nice(i8), -20..=19, "a nice value is -20..19"
);
bounded_int!(
    /// A SCHED_RR priority, 1..=99.
    RtPriority(u8), 1..=99, "a realtime priority is 1..99"
);
bounded_int!(
    /// RLIMIT_RTTIME in microseconds, at least 2 (keepalived's minimum).
    RtTime(u32), 2..=u32::MAX, "an RT time limit is 2..4294967295 us"
);

bounded_int!(
    /// The realtime guard's budget, percent of one CPU, 1..=100.
    CpuBudget(u8), 1..=100, "a CPU budget is 1..100 percent"
);

bounded_int!(
    /// keepalived's `min_auto_priority_delay`, microseconds 1..=10000000.
    AutoDelay(u32), 1..=10_000_000, "min_auto_priority_delay is 1..10000000 us"
);

impl RtTime {
    /// keepalived's default `vrrp_rlimit_rttime`.
    pub const DEFAULT: RtTime = RtTime(10_000);
    /// RLIMIT_RTTIME of vrrpd's realtime default (`daemon::sched`): 1 s.
    pub const GUARD: RtTime = RtTime(1_000_000);
}

/// The state an instance asks for at start; only a wish (RFC 9568 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InitialState {
    /// Wait for the master-down timer, as every non-owner does.
    #[default]
    Backup,
    /// Go master at once if priority is 255, else like BACKUP.
    Master,
}

/// keepalived's `old_unicast_checksum` (VRRPv3 over IPv4, unicast): which
/// pseudo-header destination the checksum sums, for peers running
/// keepalived 1.3.6 or earlier (they summed the multicast group).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum OldUnicastChecksum {
    /// The real destination (RFC 9568); switch to the old sum, for good,
    /// when an advert arrives that only the old sum accepts (keepalived's
    /// default, "Setting unicast VRRPv3 checksum to old version").
    #[default]
    Auto,
    /// The real destination, never switching (`old_unicast_checksum never`).
    Never,
    /// The old sum from the start (`old_unicast_checksum`).
    Always,
}

/// keepalived's `garp_extra_if [all] SECS` (`vrrp_garp_extra_if` for
/// every instance): while Master, one gratuitous ARP / unsolicited NA every
/// `interval` seconds on each interface other than the instance's own that
/// carries one of its addresses (`all`: any such interface; without it
/// only extra VMACs, which vrrpd does not create, so nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GarpExtraIf {
    /// Seconds between two rounds.
    pub interval: u32,
    #[serde(default, skip_serializing_if = "is_default")]
    pub all: bool,
}

/// One virtual router: keepalived's `vrrp_instance`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Instance {
    /// Instance name, used in logs and notify arguments.
    pub name: String,
    /// Initial state wish (`state`).
    #[serde(default)]
    pub state: InitialState,
    /// Interface adverts go out on (`interface`); optional for unicast with a source address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// Virtual router id 1..=255 (`virtual_router_id`).
    pub vrid: Vrid,
    /// Base priority 1..=255, 255 = address owner (`priority`).
    #[serde(default = "default_priority")]
    pub priority: Priority,
    /// Advert interval in seconds (`advert_int`): v2 whole 1..=255, v3 0.01..=40.95.
    #[serde(
        default = "default_advert_int",
        with = "centis_secs",
        rename = "advert_int"
    )]
    pub advert_int: Centis,
    /// Protocol version 2 or 3 (`version`, default `vrrp_version`, IPv6 forces 3).
    #[serde(default = "default_version", with = "version_num")]
    pub version: Version,
    /// Address family of the virtual addresses: `"ipv4"` or `"ipv6"`.
    #[serde(default = "default_family", with = "family_name")]
    pub family: Family,
    /// VRRPv2 simple password, at most 8 bytes (`authentication { auth_pass }`).
    #[serde(
        default = "no_auth",
        with = "auth_text",
        rename = "auth_pass",
        skip_serializing_if = "is_no_auth"
    )]
    pub auth: Auth,
    /// Addresses carried in adverts and held while master (`virtual_ipaddress`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vips: Vec<Vip>,
    /// Addresses held while master but not advertised (`virtual_ipaddress_excluded`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded_vips: Vec<Vip>,
    /// Source of unicast adverts (`unicast_src_ip`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unicast_src: Option<IpAddr>,
    /// Unicast peers; empty means multicast (`unicast_peer`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unicast_peers: Vec<UnicastPeer>,
    /// Poll this instance's interface's link state rather than trust
    /// netlink (`linkbeat_use_polling`, deprecated by keepalived).
    #[serde(default, skip_serializing_if = "is_default")]
    pub linkbeat_use_polling: bool,
    /// FAULT while the configured source address (`unicast_src_ip`,
    /// `mcast_src_ip`) is not on the interface (`track_src_ip`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub track_src_ip: bool,
    /// Periodic announcements on the other interfaces its addresses are on
    /// (`garp_extra_if`, `vrrp_garp_extra_if`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub garp_extra_if: Option<GarpExtraIf>,
    /// This instance's share of its socket's receive buffer, in bytes
    /// (`kernel_rx_buf_size`); replaces the global policy's for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_rx_buf_size: Option<u32>,
    /// IPv4 TTL / IPv6 hop limit of unicast adverts (`unicast_ttl`, 0..=255;
    /// default 255); unicast instances only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unicast_ttl: Option<u8>,
    /// FAULT instead of silent multicast when no peer is set (`unicast_fault_no_peer`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub unicast_fault_no_peer: bool,
    /// Only accept unicast adverts from configured peers (`check_unicast_src`; vrrpd default on).
    #[serde(default = "yes")]
    pub check_unicast_src: bool,
    /// Source of multicast adverts (`mcast_src_ip`), default the interface's primary address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcast_src_ip: Option<IpAddr>,
    /// Destination group overriding the global one (`mcast_dst_ip`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcast_dst_ip: Option<IpAddr>,
    /// Do not take over from a lower-priority master (`nopreempt`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub nopreempt: bool,
    /// Wait this long before preempting a lower-priority master (`preempt_delay`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub preempt_delay: Secs,
    /// Gratuitous ARP / unsolicited NA schedule.
    #[serde(default, skip_serializing_if = "is_default")]
    pub garp: Garp,
    /// Master-down interval in adverts (`down_timer_adverts`, 1..=100, default 3).
    #[serde(default = "default_down_timer_adverts")]
    pub down_timer_adverts: u32,
    /// Accept packets to the virtual addresses while master (`accept`/`no_accept`).
    #[serde(default = "yes")]
    pub accept: bool,
    /// Pre-2.0 unicast VRRPv3 checksums (`old_unicast_checksum [never]`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub old_unicast_checksum: OldUnicastChecksum,
    /// Leave the IPv4 pseudo-header out of the VRRPv3 checksum (`v3_checksum_as_v2`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub v3_checksum_as_v2: bool,
    /// Skip the VIP list check for adverts from the current master (`skip_check_adv_addr`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub skip_check_adv_addr: bool,
    /// RFC-strict behaviour (`strict_mode` / `vrrp_strict`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub strict: bool,
    /// Master does not answer lower-priority adverts (`lower_prio_no_advert`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub lower_prio_no_advert: bool,
    /// Master sends one advert before yielding (`higher_prio_send_advert`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub higher_prio_send_advert: bool,
    /// vrrpd's fast handover (opt-in, deviates from RFC 9568 §6.4.2): a
    /// Master whose priority drops advertises at once and a preempting
    /// Backup takes over from a Master below its priority at once
    /// (`fast_handover` in keepalived.conf; keepalived itself would warn).
    #[serde(default, skip_serializing_if = "is_default")]
    pub fast_handover: bool,
    /// An address owner ignores received adverts (`owner_ignore_adverts`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub owner_ignore_adverts: bool,
    /// keepalived 2.3.2's `timer_expired_backup [PRIORITY]` (nopreempt
    /// only): the highest priority of the other routers; a Master whose
    /// advert timer fires after that router's Master_Down_Interval goes
    /// Backup (see `Params::timer_expired_backup`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timer_expired_backup: Option<u8>,
    /// Interfaces whose state changes priority or causes FAULT (`track_interface`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub track_interfaces: Vec<TrackInterface>,
    /// Scripts tracked, by `vrrp_script` name (`track_script`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub track_scripts: Vec<TrackRef>,
    /// Files tracked, by `vrrp_track_file` name (`track_file`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub track_files: Vec<TrackRef>,
    /// Processes tracked, by `vrrp_track_process` name (`track_process`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub track_processes: Vec<TrackRef>,
    /// Native probes tracked, by `probe` name (`track_probe`, vrrpd extension).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub track_probes: Vec<TrackRef>,
    /// The instance's own interface going down does not cause FAULT (`dont_track_primary`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub dont_track_primary: bool,
    /// Notify commands.
    #[serde(default, skip_serializing_if = "is_default")]
    pub notify: Notify,
    /// Report priority changes to notify/FIFO (`notify_priority_changes`);
    /// unset: the sync group's, else the global (see
    /// [`Config::notify_priority_changes`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_priority_changes: Option<bool>,
    /// Send e-mail alerts on transitions (`smtp_alert`; keepalived.conf:
    /// else the global `smtp_alert_vrrp`, else `smtp_alert`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub smtp_alert: bool,
    /// Use a macvlan with the virtual MAC (`use_vmac [NAME]`); the value is the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_vmac: Option<String>,
    /// Send adverts from the base interface when using a VMAC (`vmac_xmit_base`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub vmac_xmit_base: bool,
    /// The VMAC's own MAC address, when given (`use_vmac [name] NAME MAC`,
    /// keepalived 2.3); default 00:00:5e:00:01:VRID (00:00:5e:00:02:VRID for IPv6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vmac_mac: Option<String>,
    /// The VMAC's interface group (`use_vmac ... group GROUP`, keepalived
    /// 2.3): a number or a name of iproute2's `group` file; default the
    /// base interface's group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vmac_group: Option<String>,
    /// Give every virtual address on another interface than the
    /// instance's (or of the other address family) a VMAC of its own on
    /// that interface (`use_vmac_addr`), as `use_vmac` on each address does.
    #[serde(default, skip_serializing_if = "is_default")]
    pub use_vmac_addr: bool,
    /// Routes installed while master (`virtual_routes`, `ip route` grammar).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub virtual_routes: Vec<super::route::Route>,
    /// Policy rules installed while master (`virtual_rules`, `ip rule` grammar).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub virtual_rules: Vec<super::route::Rule>,
    /// Set `promote_secondaries` on the interface (`promote_secondaries`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub promote_secondaries: bool,
    /// The cloud address backend (vrrpd only; for a keepalived.conf, from
    /// its side file `vrrpd-cloud.toml`): the provider's API moves the
    /// address to the Master besides netlink adding it locally.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Boxed: only cloud deployments have it (112 bytes inline).
    pub cloud: Option<Box<super::cloud::Cloud>>,
    /// keepalived's HMAC-SHA256 advert authentication (`auth_hmac { ... }`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_hmac: Option<super::auth_hmac::AuthHmac>,
}

fn yes() -> bool {
    true
}
fn is_true(v: &bool) -> bool {
    *v
}
fn default_priority() -> Priority {
    Priority::DEFAULT
}
fn default_advert_int() -> Centis {
    Centis::ONE_SECOND
}
fn default_version() -> Version {
    Version::V2
}
fn default_family() -> Family {
    Family::Ipv4
}
fn default_down_timer_adverts() -> u32 {
    3
}

impl Instance {
    /// A fresh instance with keepalived's defaults.
    pub fn new(name: impl Into<String>, vrid: Vrid) -> Instance {
        Instance {
            name: name.into(),
            state: InitialState::Backup,
            interface: None,
            vrid,
            priority: Priority::DEFAULT,
            advert_int: Centis::ONE_SECOND,
            version: Version::V2,
            family: Family::Ipv4,
            auth: Auth::None,
            vips: Vec::new(),
            excluded_vips: Vec::new(),
            unicast_src: None,
            unicast_peers: Vec::new(),
            unicast_ttl: None,
            kernel_rx_buf_size: None,
            garp_extra_if: None,
            track_src_ip: false,
            linkbeat_use_polling: false,
            unicast_fault_no_peer: false,
            check_unicast_src: true,
            mcast_src_ip: None,
            mcast_dst_ip: None,
            nopreempt: false,
            preempt_delay: Secs::ZERO,
            garp: Garp::default(),
            down_timer_adverts: 3,
            accept: true,
            v3_checksum_as_v2: false,
            old_unicast_checksum: OldUnicastChecksum::Auto,
            skip_check_adv_addr: false,
            strict: false,
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
            fast_handover: false,
            owner_ignore_adverts: false,
            timer_expired_backup: None,
            track_interfaces: Vec::new(),
            track_scripts: Vec::new(),
            track_files: Vec::new(),
            track_processes: Vec::new(),
            track_probes: Vec::new(),
            dont_track_primary: false,
            notify: Notify::default(),
            notify_priority_changes: None,
            smtp_alert: false,
            use_vmac: None,
            vmac_xmit_base: false,
            vmac_mac: None,
            vmac_group: None,
            use_vmac_addr: false,
            virtual_routes: Vec::new(),
            virtual_rules: Vec::new(),
            promote_secondaries: false,
            cloud: None,
            auth_hmac: None,
        }
    }

    /// Whether a Master of this instance drops traffic to its addresses
    /// (accept mode's firewall): accept mode off and not the address
    /// owner (RFC 9568 §6.4.3; an owner always accepts, keepalived
    /// `vrrp_handle_accept_mode`).
    pub fn drops_traffic(&self) -> bool {
        !self.accept && self.priority != Priority::OWNER
    }

    /// Unicast mode: adverts go to each peer instead of the multicast group.
    pub fn is_unicast(&self) -> bool {
        !self.unicast_peers.is_empty()
    }

    /// keepalived's reload identity (§2.12): what must match for a reload to
    /// keep this instance's state.
    pub fn identity(&self) -> InstanceId {
        InstanceId {
            vrid: self.vrid,
            family: self.family,
            interface: self.interface.clone(),
            unicast: self.is_unicast(),
            unicast_src: self.unicast_src,
        }
    }
}

/// The tuple keepalived's `vrrp_exist()` matches instances on across a reload.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InstanceId {
    pub vrid: Vrid,
    pub family: Family,
    pub interface: Option<String>,
    pub unicast: bool,
    pub unicast_src: Option<IpAddr>,
}

/// Gratuitous ARP / NA schedule of one instance (keepalived `garp_*`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Garp {
    /// Delay of the second burst after becoming master (`garp_master_delay`, 5 s).
    #[serde(default = "five_secs")]
    pub master_delay: Secs,
    /// Announcements per address per burst (`garp_master_repeat`, 5).
    #[serde(default = "five")]
    pub master_repeat: u32,
    /// Period of refresh bursts while master, 0 = off (`garp_master_refresh`).
    #[serde(default)]
    pub master_refresh: Secs,
    /// Announcements per refresh burst (`garp_master_refresh_repeat`, 1).
    #[serde(default = "one")]
    pub master_refresh_repeat: u32,
    /// Delay of the second burst after a lower-priority advert (`garp_lower_prio_delay`).
    #[serde(default = "five_secs")]
    pub lower_prio_delay: Secs,
    /// Announcements per burst after a lower-priority advert (`garp_lower_prio_repeat`).
    #[serde(default = "five")]
    pub lower_prio_repeat: u32,
}

fn five_secs() -> Secs {
    Secs::from_secs(5)
}
fn five() -> u32 {
    5
}
fn one() -> u32 {
    1
}

impl Default for Garp {
    fn default() -> Self {
        Garp {
            master_delay: five_secs(),
            master_repeat: 5,
            master_refresh: Secs::ZERO,
            master_refresh_repeat: 1,
            lower_prio_delay: five_secs(),
            lower_prio_repeat: 5,
        }
    }
}

/// A virtual address with keepalived's per-address options (§1.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vip {
    /// The address.
    pub addr: IpAddr,
    /// Prefix length; default /32 (IPv4) or /128 (IPv6).
    pub prefix: u8,
    /// Interface to add it on (`dev`), default the instance's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
    /// Broadcast: an IPv4 address, `+` (host bits set) or `-` (cleared) (`brd`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brd: Option<String>,
    /// Address scope (`scope`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
    /// Interface label, IPv4 only (`label`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Peer address of a point-to-point address (`peer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<IpAddr>,
    /// IPv6 home address flag (`home`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub home: bool,
    /// Run duplicate address detection (`-nodad`); vrrpd, like keepalived, skips DAD by default.
    #[serde(default, skip_serializing_if = "is_default")]
    pub dad: bool,
    /// IPv6 `mngtmpaddr` flag.
    #[serde(default, skip_serializing_if = "is_default")]
    pub mngtmpaddr: bool,
    /// Do not add a prefix route (`noprefixroute`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub noprefixroute: bool,
    /// Join the multicast group (`autojoin`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub autojoin: bool,
    /// External removal of this address does not demote the master (`no_track`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub no_track: bool,
    /// Preferred lifetime in seconds; 4294967295 = forever (`preferred_lft`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_lft: Option<u32>,
    /// Put the address on a VMAC of its own on its interface (`dev`, else
    /// the instance's), for an address the instance's VMAC does not carry
    /// (keepalived's `use_vmac` on an address).
    #[serde(default, skip_serializing_if = "is_default")]
    pub use_vmac: bool,
    /// The name of that VMAC, given at load as keepalived names it
    /// (`vmac_addr_prefix`, see `config::vmac_addr`); a value in the file
    /// is replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vmac: Option<String>,
}

impl Vip {
    /// An address with the family's host prefix and no options.
    pub fn host(addr: IpAddr) -> Vip {
        let prefix = match addr {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        Vip {
            addr,
            prefix,
            dev: None,
            brd: None,
            scope: None,
            label: None,
            peer: None,
            home: false,
            dad: false,
            mngtmpaddr: false,
            noprefixroute: false,
            autojoin: false,
            no_track: false,
            preferred_lft: None,
            use_vmac: false,
            vmac: None,
        }
    }
}

/// `scope` of an address, as `ip addr` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Global,
    Site,
    Link,
    Host,
    Nowhere,
}

/// A unicast peer with an optional accepted TTL range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnicastPeer {
    /// The peer's address.
    pub addr: IpAddr,
    /// Lowest TTL/hop limit accepted from this peer (`min_ttl`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_ttl: Option<u8>,
    /// Highest TTL/hop limit accepted from this peer (`max_ttl`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ttl: Option<u8>,
}

/// An interface whose link state changes priority (weight) or causes FAULT (weight 0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackInterface {
    /// Interface name.
    pub name: String,
    /// Priority delta, -253..=253; 0 = FAULT while down.
    #[serde(default, skip_serializing_if = "is_default")]
    pub weight: i32,
    /// Invert: up counts as failed.
    #[serde(default, skip_serializing_if = "is_default")]
    pub reverse: bool,
}

/// A reference from an instance or group to a named tracker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackRef {
    /// Name of the `vrrp_script` / `vrrp_track_file` / `vrrp_track_process`.
    pub name: String,
    /// Weight overriding the tracker's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i32>,
    /// `reverse` (true) or `noreverse` (false) overriding the tracker's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverse: Option<bool>,
}

/// A command with the user it runs as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Command {
    /// The command line, split into argv as keepalived does.
    pub cmd: String,
    /// Run as this user (and group), default `script_user`. Boxed: an
    /// instance has seven optional notify commands, rarely with a user
    /// (72 -> 32 bytes a command, 280 bytes an instance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as: Option<Box<RunAs>>,
}

/// A user and optional group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunAs {
    /// User name.
    pub user: String,
    /// Group name, default the user's primary group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

/// A FIFO path with its owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fifo {
    /// Path of the FIFO.
    pub path: String,
    /// Owner of the FIFO.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as: Option<RunAs>,
}

/// Notify commands run on transitions.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notify {
    /// On entering MASTER (`notify_master`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master: Option<Box<Command>>,
    /// On entering BACKUP (`notify_backup`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<Box<Command>>,
    /// On entering FAULT (`notify_fault`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<Box<Command>>,
    /// On stop (`notify_stop`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Box<Command>>,
    /// On removal by a reload (`notify_deleted`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<Box<Command>>,
    /// Every transition, with `TYPE NAME STATE PRIORITY` appended (`notify`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub any: Option<Box<Command>>,
    /// Master received a lower-priority advert (`notify_master_rx_lower_pri`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_rx_lower_pri: Option<Box<Command>>,
}

/// A health-check script (keepalived `vrrp_script`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VrrpScript {
    /// Name referenced by `track_script`.
    pub name: String,
    /// The command; exit 0 = OK.
    pub script: Command,
    /// Time between runs (`interval`, 1 s).
    #[serde(default = "one_sec")]
    pub interval: Secs,
    /// A run longer than this fails (`timeout`, default = interval).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Secs>,
    /// Priority delta, -253..=253; 0 = FAULT on failure (`weight`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub weight: i32,
    /// Invert the weight's sense (`weight N reverse`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub reverse: bool,
    /// Successes needed to become OK (`rise`, 1).
    #[serde(default = "one")]
    pub rise: u32,
    /// Failures needed to become failed (`fall`, 1).
    #[serde(default = "one")]
    pub fall: u32,
    /// Start in the failed state (`init_fail`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub init_fail: bool,
}

fn one_sec() -> Secs {
    Secs::from_secs(1)
}

/// A file holding an integer that is multiplied by the weight (keepalived `vrrp_track_file`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackFile {
    /// Name referenced by `track_file`.
    pub name: String,
    /// Path of the watched file (`file`).
    pub file: String,
    /// Multiplier, -254..=254; 0 = non-zero value means FAULT (`weight`, 1).
    #[serde(default = "one_i32")]
    pub weight: i32,
    /// Invert the weight's sign.
    #[serde(default, skip_serializing_if = "is_default")]
    pub reverse: bool,
    /// Create the file with this value if missing (`init_file [VAL]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_file: Option<i64>,
    /// Overwrite an existing file with the initial value (`init_file VAL overwrite`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub init_overwrite: bool,
}

fn one_i32() -> i32 {
    1
}

/// A process presence tracker (keepalived `vrrp_track_process`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackProcess {
    /// Name referenced by `track_process`.
    pub name: String,
    /// Process name, then optional arguments to match (`process`).
    pub process: Vec<String>,
    /// Argument matching: `initial` or `partial` (`param_match`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param_match: Option<String>,
    /// Priority delta, -254..=254; 0 = FAULT when absent (`weight`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub weight: i32,
    /// Invert the weight's sense.
    #[serde(default, skip_serializing_if = "is_default")]
    pub reverse: bool,
    /// Processes needed to be up (`quorum`, 1).
    #[serde(default = "one")]
    pub quorum: u32,
    /// More than this many processes counts as down (`quorum_max`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum_max: Option<u32>,
    /// Delay before acting on a change (`delay`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<Secs>,
    /// Match the full command line instead of the name (`full_command`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub full_command: bool,
}

/// Instances that move between states together (keepalived `vrrp_sync_group`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncGroup {
    /// Group name.
    pub name: String,
    /// Member instance names (`group { ... }`).
    pub members: Vec<String>,
    /// Interfaces tracked for all members.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub track_interfaces: Vec<TrackInterface>,
    /// Scripts tracked for all members.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub track_scripts: Vec<TrackRef>,
    /// Files tracked for all members.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub track_files: Vec<TrackRef>,
    /// Processes tracked for all members.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub track_processes: Vec<TrackRef>,
    /// Group notify commands.
    #[serde(default, skip_serializing_if = "is_default")]
    pub notify: Notify,
    /// Keep weighted trackers on members (`sync_group_tracking_weight`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub tracking_weight: bool,
    /// Send e-mail alerts (`smtp_alert`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub smtp_alert: bool,
    /// Members report priority changes (`notify_priority_changes`) unless
    /// they say otherwise; unset: the global setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_priority_changes: Option<bool>,
}

/// What a native probe does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProbeKind {
    /// HTTP or HTTPS GET of `url`.
    Http,
    /// TCP connect to `connect`.
    Tcp,
}

/// A native health probe (vrrpd extension; keepalived.conf `vrrpd_http_check`
/// / `vrrpd_tcp_check`): no fork, no shell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Probe {
    /// Name referenced by `track_probe`.
    pub name: String,
    /// `http` or `tcp`.
    #[serde(rename = "type")]
    pub kind: ProbeKind,
    /// URL to GET, `http://` or `https://` (http probes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `HOST:PORT` to connect to (tcp probes); IPv6 as `[ADDR]:PORT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect: Option<String>,
    /// Accepted status codes, each `200` or `200-299`; default `200-299`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub status: Vec<String>,
    /// The body must contain this text (first 64 KiB are read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_contains: Option<String>,
    /// `Host` header (and TLS server name), default the URL's host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Verify the HTTPS certificate against the web PKI roots (default on).
    #[serde(default = "yes")]
    pub tls_verify: bool,
    /// Time between probes (1 s).
    #[serde(default = "one_sec")]
    pub interval: Secs,
    /// A probe longer than this fails (default = interval).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Secs>,
    /// Priority delta, -253..=253; 0 = FAULT on failure.
    #[serde(default, skip_serializing_if = "is_default")]
    pub weight: i32,
    /// Invert the weight's sense.
    #[serde(default, skip_serializing_if = "is_default")]
    pub reverse: bool,
    /// Successes needed to become OK (1).
    #[serde(default = "one")]
    pub rise: u32,
    /// Failures needed to become failed (1).
    #[serde(default = "one")]
    pub fall: u32,
    /// Start in the failed state.
    #[serde(default, skip_serializing_if = "is_default")]
    pub init_fail: bool,
}

impl Probe {
    /// A probe of `kind` with the defaults.
    pub fn new(name: impl Into<String>, kind: ProbeKind) -> Probe {
        Probe {
            name: name.into(),
            kind,
            url: None,
            connect: None,
            status: Vec::new(),
            body_contains: None,
            host: None,
            tls_verify: true,
            interval: one_sec(),
            timeout: None,
            weight: 0,
            reverse: false,
            rise: 1,
            fall: 1,
            init_fail: false,
        }
    }

    /// The accepted status ranges (inclusive), or the entry that does not parse.
    pub fn status_ranges(&self) -> Result<Vec<(u16, u16)>, String> {
        if self.status.is_empty() {
            return Ok(vec![(200, 299)]);
        }
        self.status
            .iter()
            .map(|s| {
                let (lo, hi) = s.split_once('-').unwrap_or((s, s));
                match (lo.trim().parse::<u16>(), hi.trim().parse::<u16>()) {
                    (Ok(lo), Ok(hi)) if (100..=599).contains(&lo) && lo <= hi && hi <= 599 => {
                        Ok((lo, hi))
                    }
                    _ => Err(s.clone()),
                }
            })
            .collect()
    }
}
