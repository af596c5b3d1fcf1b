//! Start-up and reload without waiting on the advert thread: the file is
//! read and validated, and everything the new configuration needs from
//! the kernel (interfaces, their addresses, the interfaces of VIPs with a
//! `dev`, tracked interfaces) is looked up in a task of its own. The
//! driver then opens the new sockets and hands the core one
//! [`Event::Reload`]. Trackers restart on a blocking thread (the old set's
//! scripts are waited for there, and script users are looked up there).
//!
//! One reload runs at a time; requests that arrive meanwhile are merged
//! into one more run after it, and every requester gets its answer. The
//! kernel lookups have [`PREPARE_TIMEOUT`]: a hung netlink answer fails
//! that reload (the running configuration stays) instead of holding every
//! later one behind it.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use tracing::{error, info, warn};

use super::{admin, tracking, Daemon, DaemonError, Options};
use crate::config::{self, Config, FsSource, Instance, InstanceId};
use crate::driver::params::{address_spec, configured_source, source_address};
use crate::driver::placements::Placements;
use crate::driver::vmac;
use crate::driver::{Event, Reload, Running, StaticAddress, TrackState};
use crate::net::netlink::{LinkInfo, Netlink};
use crate::net::sysctl::{Sysctl, SysctlError};
use crate::net::vmac::{EnsureMode, VmacUp, Vmacs};
use crate::output::control::{ErrorCode, Reply};
use crate::output::notify::Subject;
use crate::proto::fsm::State;

/// Every instance's and sync group's (name, state), instances first.
type States = (Vec<(String, State)>, Vec<(String, State)>);
use crate::track::{self, Kind, Reading, TrackerKey, TrackerSet};

/// What the kernel said about a new instance's interface.
pub(super) struct Resolved {
    pub(super) link: LinkInfo,
    pub(super) present: Vec<(IpAddr, u8)>,
    pub(super) addresses: Placements,
    /// Its VMAC (`use_vmac`), there and up.
    pub(super) vmac: Option<VmacUp>,
}

/// What [`prepare`] does about VMACs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum VmacStage {
    /// Daemon start: VMACs an earlier run left are deleted first, then
    /// every configured one is created.
    Start,
    /// A reload: new instances' VMACs are created (or reused as they are).
    Reload,
    /// Taking over from an upgraded daemon: every VMAC must be there as
    /// configured, and nothing is changed.
    Takeover,
}

/// A configuration with everything looked up.
pub(super) struct Prepared {
    pub(super) config: Config,
    pub(super) new: Vec<(Arc<Instance>, Result<Resolved, DaemonError>)>,
    pub(super) addresses: HashMap<String, Placements>,
    pub(super) tracked_links: Vec<(String, Option<LinkInfo>)>,
    /// The interfaces addresses go on other than their instance's (`dev`,
    /// an address's VMAC), as the kernel reports them now: the driver's
    /// TRACK_ADDR faults start from their state, not from their next change.
    pub(super) address_links: Vec<LinkInfo>,
    /// `promote_secondaries` set for new instances' interfaces (off the
    /// driver, like the lookups): per interface, whether vrrpd turned it on.
    pub(super) promoted: Vec<(String, Result<bool, SysctlError>)>,
    /// `static_ipaddress` entries on interfaces that exist.
    pub(super) static_addresses: Vec<StaticAddress>,
}

/// How long a reload's kernel lookups ([`prepare`]) may take.
pub(super) const PREPARE_TIMEOUT: Duration = Duration::from_secs(5);

/// The result of a reload's off-driver part.
pub(super) enum Loaded {
    Refused(Box<config::Loaded>),
    Ready(Box<config::Loaded>, Box<Prepared>),
    /// The file could not be read or the kernel did not answer in time:
    /// why, for the log line and the `vrrpd reload` answer.
    Failed(String),
}

/// A reload's off-driver part: `load` reads and validates the file on a
/// blocking thread, `prepare` looks up what a valid one needs, within
/// `limit`.
pub(super) async fn load_and_prepare<P, F>(
    load: impl FnOnce() -> config::Loaded + Send + 'static,
    prepare: P,
    limit: Duration,
) -> Loaded
where
    P: FnOnce(Config) -> F,
    F: Future<Output = Prepared>,
{
    let loaded = match tokio::task::spawn_blocking(load).await {
        Ok(loaded) => loaded,
        Err(e) => return Loaded::Failed(format!("reading the configuration: {e}")),
    };
    if loaded.has_errors() {
        return Loaded::Refused(Box::new(loaded));
    }
    match tokio::time::timeout(limit, prepare(loaded.config.clone())).await {
        Ok(prepared) => Loaded::Ready(Box::new(loaded), Box::new(prepared)),
        Err(_) => Loaded::Failed(format!(
            "looking up interfaces and addresses timed out after {} s",
            limit.as_secs()
        )),
    }
}

/// Reload requests, one at a time.
#[derive(Default)]
pub(super) struct Reloads {
    running: bool,
    again: bool,
    /// `vrrpd reload` clients waiting for this run's answer.
    waiting: Vec<oneshot::Sender<Reply>>,
    /// And those waiting for the next run.
    next: Vec<oneshot::Sender<Reply>>,
    /// Incremented per tracker restart: a late tracker set of an older
    /// reload is dropped.
    pub(super) tracker_generation: u64,
    /// The `reload_file` made for the reload in progress.
    reload_file: Option<std::path::PathBuf>,
}

impl Reloads {
    /// A reload was asked for (with the client's reply channel): whether
    /// to start one now; if one runs, the request is merged into one more
    /// run after it.
    pub(super) fn request(&mut self, reply: Option<oneshot::Sender<Reply>>) -> bool {
        if self.running {
            self.again = true;
            self.next.extend(reply);
            return false;
        }
        self.waiting.extend(reply);
        self.running = true;
        true
    }

    /// The running reload is done, ok or not: answers its waiters with
    /// `reply` and says whether to start the merged next one (whose
    /// waiters are then the current ones).
    pub(super) fn finished(&mut self, reply: &Value) -> bool {
        for waiter in self.waiting.drain(..) {
            let _ = waiter.send(Reply::Value(reply.clone()));
        }
        self.running = false;
        if std::mem::take(&mut self.again) {
            self.waiting = std::mem::take(&mut self.next);
            true
        } else {
            false
        }
    }
}

/// Looks up what `config` needs; `running` are the identities (and
/// interface indexes) of the instances that run now.
pub(super) async fn prepare(
    netlink: Netlink,
    vmacs: Vmacs,
    stage: VmacStage,
    config: Config,
    running: Vec<(InstanceId, u32)>,
) -> Prepared {
    if stage == VmacStage::Start {
        let mut specs: Vec<_> = config
            .instances
            .iter()
            .filter_map(|i| vmac::spec(i))
            .collect();
        // Addresses' VMACs too: a custom vmac_addr_prefix names them
        // unlike keepalived's defaults.
        specs.extend(vmac::address_specs(config.instances.iter().map(|i| &**i)));
        vmacs.remove_leftovers(&specs).await;
    }
    let mode = match stage {
        VmacStage::Takeover => EnsureMode::Adopt,
        VmacStage::Start | VmacStage::Reload => EnsureMode::Ensure,
    };
    let mut new = Vec::new();
    let mut addresses = HashMap::new();
    for cfg in &config.instances {
        let id = cfg.identity();
        if let Some((_, ifindex)) = running.iter().find(|(r, _)| *r == id) {
            let map = address_map(&netlink, &vmacs, mode, cfg, *ifindex).await;
            addresses.insert(cfg.name.clone(), map);
        } else {
            new.push((cfg.clone(), resolve(&netlink, &vmacs, mode, cfg).await));
        }
    }
    let mut tracked_links = Vec::new();
    let plan = track::plan(&config);
    let mut names: Vec<&String> = plan
        .values()
        .flatten()
        .filter(|w| w.key.kind == Kind::Interface)
        .map(|w| &w.key.name)
        .collect();
    names.sort();
    names.dedup();
    for name in names {
        tracked_links.push((name.clone(), netlink.link(name).await.ok()));
    }
    let mut ifaces: Vec<String> = new
        .iter()
        .filter(|(cfg, resolved)| cfg.promote_secondaries && resolved.is_ok())
        .filter_map(|(cfg, _)| cfg.interface.clone())
        .collect();
    ifaces.sort();
    ifaces.dedup();
    let promoted = if ifaces.is_empty() {
        Vec::new()
    } else {
        tokio::task::spawn_blocking(move || {
            let sysctl = Sysctl::default();
            ifaces
                .into_iter()
                .map(|i| {
                    let r = sysctl.set_promote_secondaries(&i);
                    (i, r)
                })
                .collect()
        })
        .await
        .unwrap_or_default()
    };
    let static_addresses = static_addresses(&netlink, &config).await;
    let address_links = address_links(&netlink, &addresses, &new).await;
    Prepared {
        config,
        new,
        addresses,
        address_links,
        tracked_links,
        promoted,
        static_addresses,
    }
}

/// The static addresses whose interface exists now. keepalived adds one
/// once, at start, and logs a failure; one whose interface is missing is
/// said and skipped here (a reload after the interface appears adds it).
async fn static_addresses(netlink: &Netlink, config: &Config) -> Vec<StaticAddress> {
    let mut out = Vec::new();
    for vip in &config.static_addresses {
        let Some(dev) = &vip.dev else { continue };
        match netlink.link(dev).await {
            Ok(link) => out.push(StaticAddress {
                ifindex: link.index,
                spec: address_spec(vip),
                no_track: vip.no_track,
            }),
            Err(e) => warn!(
                "static address {}/{} dev {dev}: {e}; not added",
                vip.addr, vip.prefix
            ),
        }
    }
    out
}

async fn resolve(
    netlink: &Netlink,
    vmacs: &Vmacs,
    mode: EnsureMode,
    cfg: &Instance,
) -> Result<Resolved, DaemonError> {
    let ifname = cfg.interface.clone().unwrap_or_default();
    let link = netlink.link(&ifname).await?;
    let present = netlink.addresses(link.index).await?;
    let vmac = match vmac::spec(cfg) {
        Some(spec) => {
            let source = source_address(cfg, &present);
            Some(vmacs.ensure(&spec, link.index, mode, source).await?)
        }
        None => None,
    };
    // Virtual addresses go on the VMAC (keepalived's vrrp->ifp).
    let vip_index = vmac.as_ref().map_or(link.index, |v| v.link.ifindex);
    let addresses = address_map(netlink, vmacs, mode, cfg, vip_index).await;
    Ok(Resolved {
        link,
        present,
        addresses,
        vmac,
    })
}

/// The links under the placements of kept and new instances, other than
/// the instance's own interface, once each.
async fn address_links(
    netlink: &Netlink,
    kept: &HashMap<String, Placements>,
    new: &[(Arc<Instance>, Result<Resolved, DaemonError>)],
) -> Vec<LinkInfo> {
    let mut indexes: Vec<u32> = kept
        .values()
        .flat_map(|p| p.values().map(|(ix, _)| *ix))
        .chain(
            new.iter()
                .filter_map(|(_, r)| r.as_ref().ok())
                .flat_map(|r| {
                    let own = r.vmac.as_ref().map_or(r.link.index, |v| v.link.ifindex);
                    r.addresses
                        .values()
                        .map(|(ix, _)| *ix)
                        .filter(move |ix| *ix != own && *ix != r.link.index)
                }),
        )
        .collect();
    indexes.sort_unstable();
    indexes.dedup();
    let mut links = Vec::new();
    for index in indexes {
        if let Ok(link) = netlink.link_by_index(index).await {
            links.push(link);
        }
    }
    links
}

/// Where each virtual address of `cfg` goes: its VMAC if it has one of
/// its own (created, or reused as it is), else its `dev`, else `ifindex`.
async fn address_map(
    netlink: &Netlink,
    vmacs: &Vmacs,
    mode: EnsureMode,
    cfg: &Instance,
    ifindex: u32,
) -> Placements {
    let mut map = Placements::default();
    for vip in cfg.vips.iter().chain(&cfg.excluded_vips) {
        if let Some(spec) = vmac::address_spec(cfg, vip) {
            match address_vmac(netlink, vmacs, mode, &spec).await {
                Ok(index) => {
                    map.insert(vip.addr, (index, address_spec(vip)));
                    continue;
                }
                // On its interface still: reachable, with that MAC.
                Err(e) => warn!(
                    "({}) VMAC {} for {} on {}: {e}; the address goes on {} itself",
                    cfg.name, spec.name, vip.addr, spec.base, spec.base
                ),
            }
        }
        let index = match &vip.dev {
            Some(dev) => match netlink.link(dev).await {
                Ok(link) => link.index,
                Err(e) => {
                    warn!("({}) {}: {e}; using {}", cfg.name, vip.addr, ifindex);
                    ifindex
                }
            },
            None => ifindex,
        };
        map.insert(vip.addr, (index, address_spec(vip)));
    }
    map
}

/// Makes an address's VMAC `spec` be there and up; its index. An IPv6
/// one gets its base's link-local address (keepalived's
/// `set_link_local_address()` for its stand-in instance).
async fn address_vmac(
    netlink: &Netlink,
    vmacs: &Vmacs,
    mode: EnsureMode,
    spec: &vmac::VmacSpec,
) -> Result<u32, DaemonError> {
    let base = netlink.link(&spec.base).await?;
    let link_local = if spec.ipv6 {
        let present = netlink.addresses(base.index).await?;
        present
            .into_iter()
            .map(|(a, _)| a)
            .find(|a| matches!(a, IpAddr::V6(v6) if v6.is_unicast_link_local()))
    } else {
        None
    };
    let up = vmacs.ensure(spec, base.index, mode, link_local).await?;
    Ok(up.link.ifindex)
}

impl Daemon {
    /// The running instances' identities, each with the interface its
    /// virtual addresses go on (its VMAC, if it has one).
    fn running_ids(&self) -> Vec<(InstanceId, u32)> {
        self.driver
            .instances()
            .iter()
            .map(|r| {
                let vips = r.vmac.as_ref().map_or(r.ifindex, |v| v.ifindex);
                (r.cfg.identity(), vips)
            })
            .collect()
    }

    /// Start-up: the configuration is already loaded; nothing advertises
    /// yet, so the lookups and the trackers' start are waited for here
    /// and the instances start knowing what their trackers say.
    pub(super) async fn start(&mut self, config: Config) -> Result<(), DaemonError> {
        // keepalived's set_disable_local_igmp(), at start only.
        if config.global.disable_local_igmp {
            match crate::net::sysctl::Sysctl::default().disable_local_igmp() {
                Ok(changed) => {
                    self.igmp_disabled = changed;
                    info!("igmp_link_local_mcast_reports off (disable_local_igmp)");
                }
                Err(e) => warn!(
                    "disable_local_igmp: {e} (under systemd, ProtectKernelTunables= makes /proc/sys read-only)"
                ),
            }
        }
        let prepared = prepare(
            self.netlink.clone(),
            self.vmacs.clone(),
            VmacStage::Start,
            config,
            Vec::new(),
        )
        .await;
        // The trackers report runs to the metrics: configure them first.
        // (The notifier is configured once, by apply_prepared: it vets the
        // commands and says each refusal once.)
        self.exec
            .metrics
            .configure(prepared.config.global.metrics_listen);
        let (initial, uptime) = tokio::task::spawn_blocking({
            let cfg = prepared.config.clone();
            let tx = self.tracking.tx.clone();
            let observer = self.exec.metrics.observer();
            move || {
                tracking::log_default_user(&cfg);
                let uptime = (!cfg.global.delay_after_boot.as_duration().is_zero())
                    .then(read_uptime)
                    .flatten();
                (
                    TrackerSet::start(&cfg, &HashMap::new(), tx, observer),
                    uptime,
                )
            }
        })
        .await
        .map_err(|e| DaemonError::Io {
            what: "starting the trackers".into(),
            source: std::io::Error::other(e.to_string()),
        })?;
        // vrrp_startup_delay / vrrp_delay_after_boot: the driver holds the
        // instances in INIT until a deadline of its own; nothing waits here.
        let hold = prepared.config.global.startup_hold(uptime);
        if !hold.is_zero() {
            info!("Delaying startup for {} seconds", hold.as_secs_f64());
            self.driver.hold_startup(self.clock.now() + hold);
        }
        self.apply_prepared(prepared, Some(initial));
        Ok(())
    }

    /// SIGHUP or `vrrpd reload` (with the client's reply channel).
    pub(super) fn request_reload(&mut self, opts: &Options, reply: Option<oneshot::Sender<Reply>>) {
        if !self.reloads.request(reply) {
            return;
        }
        info!("Reloading");
        // keepalived (main.c create_reload_file): the running
        // configuration's `reload_file` exists while a reload reads the new
        // one, rw-r--r-- whatever the umask.
        if let Some(path) = &self.config.global.reload_file {
            let made = std::fs::File::create(path).and_then(|_| {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))
            });
            match made {
                Ok(()) => self.reloads.reload_file = Some(path.clone()),
                Err(e) => warn!("Failed to create reload file {}: {e}", path.display()),
            }
        }
        if let Ok(now) = sd_notify::NotifyState::monotonic_usec_now() {
            let _ = sd_notify::notify(&[sd_notify::NotifyState::Reloading, now]);
        }
        let opts = opts.clone();
        let netlink = self.netlink.clone();
        let vmacs = self.vmacs.clone();
        let running = self.running_ids();
        let done = self.reload_done.clone();
        tokio::spawn(async move {
            let result = load_and_prepare(
                move || config::load(&opts.config_file, &FsSource, &opts.load),
                |config| prepare(netlink, vmacs, VmacStage::Reload, config, running),
                PREPARE_TIMEOUT,
            )
            .await;
            let _ = done.send(result);
        });
    }

    /// The off-driver part of a reload is done: apply it in one step,
    /// answer everyone who asked, and run the merged next one if any.
    pub(super) fn reload_loaded(&mut self, opts: &Options, result: Loaded) {
        let reply = match result {
            Loaded::Refused(loaded) => self.refused(opts, &loaded),
            Loaded::Ready(loaded, prepared) => self.reloaded(opts, &loaded, *prepared),
            Loaded::Failed(why) => self.failed(&why),
        };
        if let Some(path) = self.reloads.reload_file.take() {
            let _ = std::fs::remove_file(path);
        }
        if self.reloads.finished(&reply) {
            self.request_reload(opts, None);
        }
    }

    fn failed(&mut self, why: &str) -> Value {
        error!("Reload failed, keeping the running configuration: {why}");
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
        self.exec.events.publish(json!({
            "event": "reload", "ok": false,
            "summary": format!("{why}; running configuration kept"),
        }));
        json!({
            "ok": false,
            "code": ErrorCode::Apply.as_str(),
            "error": format!("{why}; the running configuration is kept"),
        })
    }

    fn refused(&mut self, opts: &Options, loaded: &config::Loaded) -> Value {
        super::log_diagnostics(loaded);
        let diagnostics: Vec<String> = loaded.diagnostics.iter().map(ToString::to_string).collect();
        let file = opts.config_file.display().to_string();
        let errors = loaded.diagnostics.len() - loaded.warnings();
        error!("Reload failed, keeping the running configuration: configuration {file} has errors");
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
        self.exec.events.publish(json!({
            "event": "reload", "ok": false,
            "summary": format!("{file}: {errors} error(s); running configuration kept"),
        }));
        json!({
            "ok": false,
            "code": ErrorCode::Config.as_str(),
            "error": format!("{file} has {errors} error(s); the running configuration is kept"),
            "file": file,
            "diagnostics": diagnostics,
        })
    }

    fn reloaded(
        &mut self,
        opts: &Options,
        loaded: &config::Loaded,
        mut prepared: Prepared,
    ) -> Value {
        super::log_diagnostics(loaded);
        let diagnostics: Vec<String> = loaded.diagnostics.iter().map(ToString::to_string).collect();
        let file = opts.config_file.display().to_string();
        if &prepared.config.global.nftables != self.firewall.settings() {
            // keepalived: "A reload which changes the iptables/nftables
            // configuration will not update" it (vrrp.c).
            warn!(
                "nftables settings changed: a reload keeps the running ones (table {}); restart vrrpd to apply them",
                self.firewall.settings().table
            );
        }
        if prepared.config.global.net_namespace != self.config.global.net_namespace {
            // keepalived: "Cannot change network namespace at a reload".
            warn!(
                "net_namespace changed: a reload cannot move the daemon (it stays in {}); restart vrrpd to apply it",
                self.config.global.net_namespace.as_deref().unwrap_or("its start namespace")
            );
            // The running value stays: the next reload compares with it.
            prepared.config.global.net_namespace = self.config.global.net_namespace.clone();
        }
        if prepared.config.global.instance != self.config.global.instance {
            // keepalived reads `instance` at start only.
            warn!("instance changed: a reload keeps the running one; restart vrrpd to apply it");
            prepared.config.global.instance = self.config.global.instance.clone();
        }
        super::process::apply(&prepared.config.global, Some(&self.config.global));
        let plan = config::diff(&self.config, &prepared.config);
        info!("Reload plan: {plan:?}");
        let summary = admin::plan_summary(&plan);
        let reply = json!({
            "file": file,
            "summary": summary,
            "plan": plan,
            "diagnostics": diagnostics,
        });
        self.apply_prepared(prepared, None);
        info!("Reload complete");
        // Off the advert thread: reading smaps to release the code pages
        // takes 1-5 ms.
        tokio::task::spawn_blocking(|| super::sched::trim_heap("a reload"));
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
        self.exec.events.publish(json!({
            "event": "reload", "ok": true, "summary": summary,
        }));
        reply
    }

    /// (Re)starts the `reload_time_file` watcher when its settings changed.
    pub(super) fn configure_reload_timer(&mut self, g: &config::Global) {
        let wanted = g
            .reload_time_file
            .clone()
            .map(|path| (path, g.reload_repeat));
        if self.reload_timer.as_ref().map(|(w, _)| w) == wanted.as_ref() {
            return;
        }
        if let Some((_, task)) = self.reload_timer.take() {
            task.abort();
        }
        if let Some((path, repeat)) = wanted {
            let task = tokio::spawn(super::reload_time::watch(path.clone(), repeat));
            self.reload_timer = Some(((path, repeat), task.abort_handle()));
        }
    }

    /// Every running instance's and sync group's state, instances first.
    fn states(&self) -> States {
        let instances = self
            .driver
            .instances()
            .iter()
            .map(|r| (r.name().to_string(), r.router.state()))
            .collect();
        let groups = self
            .config
            .sync_groups
            .iter()
            .filter_map(|g| Some((g.name.clone(), self.driver.group_state(&g.name)?)))
            .collect();
        (instances, groups)
    }

    /// keepalived 2.3's reload FIFO lines for what kept its state (groups
    /// first, as `vrrp_init_state` writes them).
    fn write_unchanged_states(&self, before: &States) {
        let (instances, groups) = self.states();
        for (name, state) in crate::driver::reload_states::unchanged(&before.1, &groups) {
            let state = super::tracking::notify_state(state);
            self.exec
                .notifier
                .fifo_state(Subject::Group, name, state, 0);
        }
        for (name, state) in crate::driver::reload_states::unchanged(&before.0, &instances) {
            let priority = self.driver.position(name).map_or(0, |i| {
                self.driver.instances()[i].router.effective_priority().0
            });
            let state = super::tracking::notify_state(state);
            self.exec
                .notifier
                .fifo_state(Subject::Instance, name, state, priority);
        }
    }

    /// Opens what the new instances need, hands the core the reload, then
    /// restarts the trackers: inline with `initial` (start-up), else on a
    /// blocking thread.
    fn apply_prepared(
        &mut self,
        prepared: Prepared,
        initial: Option<Result<TrackerSet, track::TrackError>>,
    ) {
        let is_reload = initial.is_none();
        let Prepared {
            config,
            new,
            addresses,
            tracked_links,
            address_links,
            promoted,
            static_addresses,
        } = prepared;
        for (ifname, result) in promoted {
            match result {
                Ok(true) => {
                    info!("{ifname}: promote_secondaries set");
                    self.promoted.insert(ifname);
                }
                Ok(false) => {}
                Err(e) => warn!(
                    "{ifname}: promote_secondaries not set: {e} (under systemd, ProtectKernelTunables= makes /proc/sys read-only)"
                ),
            }
        }
        self.exec.notifier.configure(&config);
        self.configure_reload_timer(&config.global);
        self.exec.metrics.configure(config.global.metrics_listen);
        self.exec.work.configure(&config);
        let mut started = Vec::new();
        let mut failed: Vec<Arc<Instance>> = Vec::new();
        for (cfg, resolved) in new {
            // One instance that cannot start (its interface is missing,
            // say) must not take the others down, at start or on reload.
            let vmac = resolved
                .as_ref()
                .ok()
                .and_then(|r| r.vmac.as_ref().map(|v| v.link.clone()));
            let running = resolved.and_then(|r| self.start_resolved(&cfg, r));
            match running {
                Ok(running) => started.push(running),
                Err(e) => {
                    error!("({}) cannot start, skipped: {e}", cfg.name);
                    failed.push(cfg.clone());
                    // Its VMAC is not left behind for a daemon that will
                    // never delete it.
                    if let Some(v) = vmac {
                        let vmacs = self.vmacs.clone();
                        tokio::spawn(async move {
                            let _ = vmacs.delete(&v.name, v.mac).await;
                        });
                    }
                }
            }
        }
        // Tracker readings survive a reload; tracked interfaces are what
        // the kernel says now.
        self.tracking.plan = track::plan(&config);
        let used = self.tracking.used_keys();
        self.tracking.readings.retain(|k, _| used.contains(k));
        self.tracking.if_index.clear();
        for (name, link) in &tracked_links {
            // A missing interface counts as down, as in keepalived.
            if let Some(l) = link {
                self.tracking.if_index.insert(l.index, name.clone());
            }
            let up = link.as_ref().is_some_and(|l| l.running);
            let reading = if up { Reading::Ok } else { Reading::Failed };
            self.tracking
                .readings
                .insert(TrackerKey::new(Kind::Interface, name), reading);
        }
        self.exec.metrics.set_trackers(used.iter());
        let set = match initial {
            Some(Ok(set)) => {
                for (key, r) in set.initial_readings() {
                    self.tracking.readings.insert(key.clone(), *r);
                }
                Some(set)
            }
            Some(Err(e)) => {
                error!("trackers not started: {e}");
                None
            }
            None => None,
        };
        let tracking: HashMap<String, TrackState> = config
            .instances
            .iter()
            .map(|c| (c.name.clone(), self.track_state(&c.name)))
            .collect();
        if self.scheduled
            && self.config.global.disable_local_igmp != config.global.disable_local_igmp
        {
            info!("Cannot change disable_local_igmp at a reload - please restart vrrpd");
        }
        if !self.scheduled || self.config.global.scheduling != config.global.scheduling {
            self.apply_scheduling(&config.global.scheduling);
        }
        // fifo_write_vrrp_states_on_reload: the states before, to tell
        // which survived (a reload, not the start).
        let states_before =
            (is_reload && config.global.fifo_write_vrrp_states_on_reload).then(|| self.states());
        let before = self.replace_config(config.clone());
        self.configure_linkbeat();
        self.handle(Event::Reload(Box::new(Reload {
            config,
            started,
            addresses,
            tracking,
            static_addresses,
        })));
        // Replayed as the kernel's reports: the core ignores what did not
        // change, and faults an instance whose address interface is down.
        for link in address_links {
            self.handle(Event::Link {
                index: link.index,
                name: link.name,
                running: link.running,
            });
        }
        if let Some(states) = states_before {
            self.write_unchanged_states(&states);
        }
        if is_reload {
            self.remove_address_vmacs(before.instances.iter().map(|i| &**i));
        }
        // Nor those of their addresses (unless a running one uses them).
        self.remove_address_vmacs(failed.iter().map(|i| &**i));
        match set {
            Some(set) => {
                self.tracking.set = Some(set);
                self.retrack();
            }
            None => {
                self.retrack();
                self.restart_trackers();
            }
        }
    }

    /// Stops the old tracker set and starts the new one off the driver;
    /// [`Daemon::trackers_started`] takes the result.
    pub(super) fn restart_trackers(&mut self) {
        self.reloads.tracker_generation += 1;
        let generation = self.reloads.tracker_generation;
        let old = self.tracking.set.take();
        let cfg = self.config.clone();
        let readings = self.tracking.readings.clone();
        let tx = self.tracking.tx.clone();
        let observer = self.exec.metrics.observer();
        let done = self.trackers_done.clone();
        tokio::task::spawn_blocking(move || {
            // No two runs of one script at a time: the old set first.
            drop(old);
            tracking::log_default_user(&cfg);
            let set = TrackerSet::start(&cfg, &readings, tx, observer);
            let _ = done.send((generation, set));
        });
    }

    /// A tracker set started off the driver.
    pub(super) fn trackers_started(
        &mut self,
        generation: u64,
        set: Result<TrackerSet, track::TrackError>,
    ) {
        let set = match set {
            Ok(set) => set,
            Err(e) => {
                error!("trackers not started: {e}");
                return;
            }
        };
        if generation != self.reloads.tracker_generation {
            // A newer reload restarts them again: stop this one off the
            // driver too.
            tokio::task::spawn_blocking(move || drop(set));
            return;
        }
        for (key, r) in set.initial_readings() {
            self.tracking.readings.insert(key.clone(), *r);
        }
        self.tracking.set = Some(set);
        self.retrack();
    }

    /// A new instance from what [`prepare`] found.
    fn start_resolved(
        &mut self,
        cfg: &Arc<Instance>,
        resolved: Resolved,
    ) -> Result<Running, DaemonError> {
        let Resolved {
            link,
            present,
            addresses,
            vmac,
        } = resolved;
        let ifname = cfg.interface.clone().unwrap_or_default();
        let source = source_address(cfg, &present);
        if let Some(src) = configured_source(cfg) {
            if !present.iter().any(|(a, _)| *a == src) {
                warn!(
                    "({}) source address {src} is not an address of {ifname}: peers will not recognise our adverts (see the seed README: were the unicast addresses flipped?)",
                    cfg.name
                );
            }
        }
        for peer in &cfg.unicast_peers {
            if present.iter().any(|(a, _)| *a == peer.addr) {
                warn!(
                    "({}) unicast peer {} is one of our own addresses on {ifname}",
                    cfg.name, peer.addr
                );
            }
        }
        // Adverts leave through the VMAC unless `vmac_xmit_base`.
        let (sock_index, sock_ifname, running_now) = match &vmac {
            Some(v) if vmac::sends_through_vmac(cfg) => {
                (v.link.ifindex, v.link.name.clone(), v.running)
            }
            _ => (link.index, ifname.clone(), link.running),
        };
        // A tracked source still absent (`track_src_ip`) is the socket's
        // all the same: the instance waits in FAULT until it appears.
        let bound = source.or_else(|| configured_source(cfg));
        let key = super::socket_key(cfg, sock_index, bound);
        self.exec.ensure_socket(&key, &sock_ifname, cfg)?;
        let placeholder = super::unspecified(cfg.family);
        let router = crate::driver::new_router(cfg, bound.unwrap_or(placeholder)).map_err(|e| {
            error!("({}) {e}", cfg.name);
            DaemonError::Config {
                file: cfg.name.clone(),
            }
        })?;
        let mut running = Running::new(Arc::clone(cfg), router, sock_index, key, addresses);
        running.vmac = vmac.map(|v| Box::new(v.link));
        running.faults.link = !running_now && !cfg.dont_track_primary;
        running.faults.no_source = source.is_none();
        if running.faults.no_source {
            warn!(
                "({}) no {} address on {ifname}: FAULT until one appears",
                cfg.name, cfg.family
            );
        }
        if running.faults.link {
            info!("({}) interface {ifname} is down", cfg.name);
        }
        Ok(running)
    }
}

/// The channels the driver's loop selects on for reload results.
pub(super) type LoadedTx = mpsc::UnboundedSender<Loaded>;
pub(super) type TrackersTx = mpsc::UnboundedSender<(u64, Result<TrackerSet, track::TrackError>)>;

/// The host's uptime from `/proc/uptime` (its first field), for
/// `vrrp_delay_after_boot`; None when unreadable, which keepalived answers
/// by ignoring that keyword (with a warning, as here).
fn read_uptime() -> Option<std::time::Duration> {
    let text = match std::fs::read_to_string("/proc/uptime") {
        Ok(t) => t,
        Err(e) => {
            warn!("Unable to read /proc/uptime for vrrp_delay_after_boot ({e}) - ignoring");
            return None;
        }
    };
    let secs = text.split_whitespace().next()?.parse::<f64>().ok()?;
    std::time::Duration::try_from_secs_f64(secs).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> config::Loaded {
        let loaded = config::load_str(
            "vrrpd.toml",
            include_str!("../../conf/vrrpd.toml"),
            &config::LoadOptions::default(),
        );
        assert!(!loaded.has_errors());
        loaded
    }

    fn prepared(config: Config) -> Prepared {
        Prepared {
            config,
            new: Vec::new(),
            addresses: HashMap::new(),
            tracked_links: Vec::new(),
            address_links: Vec::new(),
            promoted: Vec::new(),
            static_addresses: Vec::new(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_prepare_that_never_answers_fails_the_reload_after_the_timeout() {
        let started = tokio::time::Instant::now();
        let reload = load_and_prepare(
            valid,
            |_| std::future::pending::<Prepared>(),
            PREPARE_TIMEOUT,
        );
        let Ok(result) = tokio::time::timeout(PREPARE_TIMEOUT * 2, reload).await else {
            panic!("the reload never completes: later ones would wait for ever");
        };
        let Loaded::Failed(why) = result else {
            panic!("a hung prepare must fail the reload");
        };
        assert_eq!(
            why,
            "looking up interfaces and addresses timed out after 5 s"
        );
        assert_eq!(started.elapsed(), PREPARE_TIMEOUT);
    }

    #[tokio::test(start_paused = true)]
    async fn a_prepare_that_answers_in_time_is_ready() {
        let result = load_and_prepare(
            valid,
            |config| async move {
                tokio::time::sleep(PREPARE_TIMEOUT / 2).await;
                prepared(config)
            },
            PREPARE_TIMEOUT,
        )
        .await;
        assert!(matches!(result, Loaded::Ready(..)));
    }

    #[tokio::test]
    async fn a_config_with_errors_is_refused_before_any_lookup() {
        let result = load_and_prepare(
            || {
                config::load_str(
                    "vrrpd.toml",
                    "nonsense = [",
                    &config::LoadOptions::default(),
                )
            },
            |_| async { panic!("no lookup for a refused file") },
            PREPARE_TIMEOUT,
        )
        .await;
        assert!(matches!(result, Loaded::Refused(..)));
    }

    #[test]
    fn a_failed_reload_answers_its_waiters_and_lets_the_merged_one_run() {
        let mut reloads = Reloads::default();
        let (first, mut first_rx) = oneshot::channel();
        let (second, mut second_rx) = oneshot::channel();
        assert!(reloads.request(Some(first)), "the first reload starts");
        assert!(!reloads.request(Some(second)), "merged behind it");
        assert!(!reloads.request(None), "merged too");
        let failed = json!({ "ok": false });
        assert!(reloads.finished(&failed), "the merged one runs next");
        assert!(matches!(first_rx.try_recv(), Ok(Reply::Value(v)) if v == failed));
        assert!(second_rx.try_recv().is_err(), "answered by the next run");
        assert!(reloads.request(None), "the shell starts the merged run");
        let ok = json!({ "ok": true });
        assert!(!reloads.finished(&ok), "nothing merged behind it");
        assert!(matches!(second_rx.try_recv(), Ok(Reply::Value(v)) if v == ok));
        assert!(reloads.request(None), "a later reload starts at once");
    }
}
