//! The driver: one task owns every [`VirtualRouter`] and executes what they
//! ask for.
//!
//! It waits on the sockets' receive channel, netlink events, signals and
//! `sleep_until(min poll_at)`. Adverts are sent inline, before anything else
//! the same wake-up does; address changes and announcements go, in order, to
//! a worker task so a slow netlink reply can never delay an advert.

mod admin;
mod dump;
mod instance;
mod lateness;
pub mod messages;
mod metrics;
mod ratelimit;
pub mod resign;
mod sync;
mod timer;
mod tracking;
mod worker;

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;
use tracing::{debug, error, info, warn};

use crate::config::{self, Config, FsSource, Instance, LoadOptions};
use crate::net::netlink::{AddressSpec, NetEvent, Netlink, NetlinkError};
use crate::net::socket::{self, Inbound, Mode, RxPolicy, SocketError, SocketSpec, VrrpSocket};
use crate::proto::fsm::{Action, AnnounceReason, Input, State, VirtualRouter};
use crate::proto::wire::{AdvertRepr, Packet};
use crate::proto::{Family, Instant};

pub use lateness::Lateness;
use worker::{Work, Worker};

/// How the daemon was started.
#[derive(Debug, Clone)]
pub struct Options {
    pub config_file: PathBuf,
    pub load: LoadOptions,
    pub pid_file: Option<PathBuf>,
    /// The control socket (`vrrpd status`).
    pub control_socket: PathBuf,
}

/// Why the daemon could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DaemonError {
    #[error("configuration {file} has errors")]
    Config { file: String },
    #[error(transparent)]
    Netlink(#[from] NetlinkError),
    #[error(transparent)]
    Socket(#[from] SocketError),
    #[error("no configured instance could start")]
    NothingToRun,
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

/// Loads and validates the configuration, logging every diagnostic.
pub fn load_config(opts: &Options) -> Result<Config, DaemonError> {
    let loaded = config::load(&opts.config_file, &FsSource, &opts.load);
    log_diagnostics(&loaded);
    if loaded.has_errors() {
        return Err(DaemonError::Config {
            file: opts.config_file.display().to_string(),
        });
    }
    Ok(loaded.config)
}

fn log_diagnostics(loaded: &config::Loaded) {
    for d in &loaded.diagnostics {
        match d.severity {
            config::Severity::Error => error!("{d}"),
            _ => warn!("{d}"),
        }
    }
}

/// At most this many datagrams per socket wake-up (one burst of 100
/// instances' adverts fits a few batches).
const RECV_BATCH: usize = 32;

/// The driver's clock: proto [`Instant`]s are microseconds since start.
#[derive(Clone, Copy)]
struct Clock {
    base: tokio::time::Instant,
}

impl Clock {
    fn now(&self) -> Instant {
        let micros = self.base.elapsed().as_micros();
        Instant::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
    }
}

/// Sockets are shared by instances with the same interface, family and
/// multicast group or unicast source (keepalived's sockpool).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct SocketKey {
    ifindex: u32,
    family: Family,
    unicast_source: Option<IpAddr>,
}

/// One running instance.
struct Running {
    cfg: Instance,
    router: VirtualRouter,
    ifindex: u32,
    ifname: String,
    socket: SocketKey,
    /// Where each virtual address is installed.
    addresses: HashMap<IpAddr, (u32, AddressSpec)>,
    lateness: Lateness,
    drops: HashMap<&'static str, u64>,
    /// Lines caused by received packets, limited per kind.
    log_limit: ratelimit::LogLimit,
    /// Missing source address or interface down.
    link_fault: bool,
    no_source: bool,
    /// A weight-0 tracker failed; `track_adjustment` is the weights' sum.
    track_fault: bool,
    track_adjustment: i32,
    /// When the state last changed, for status.
    state_since: std::time::Instant,
    /// Set by `vrrpd demote`, cleared by `vrrpd promote`.
    demoted: Option<admin::Demotion>,
    /// Removed by a reload: its stop is reported as keepalived reports a
    /// deleted instance (`notify_deleted`).
    deleting: bool,
}

impl Running {
    fn name(&self) -> &str {
        &self.cfg.name
    }

    fn faulted(&self) -> bool {
        self.link_fault || self.no_source || self.track_fault
    }

    /// An advert that did not leave, sent at once or from a batch.
    fn send_failed(&mut self, dst: IpAddr, error: &dyn std::fmt::Display) {
        *self.drops.entry("send_error").or_default() += 1;
        warn!("({}) sending advert to {dst}: {error}", self.name());
    }
}

/// What executing actions needs, apart from the instances themselves.
struct Io {
    sockets: HashMap<SocketKey, std::sync::Arc<VrrpSocket>>,
    packets_tx: mpsc::Sender<(SocketKey, Vec<Result<Inbound, SocketError>>)>,
    work: mpsc::UnboundedSender<Work>,
    notifier: crate::track::notify::Notifier,
    /// Transitions for `vrrpd status -w`.
    events: crate::control::Events,
    metrics: metrics::Publisher,
    /// [`instance::Delivery::Batched`] while timers fire: IPv4 adverts are
    /// queued on their socket and leave together ([`Daemon::flush_adverts`]).
    delivery: instance::Delivery,
}

struct Daemon {
    clock: Clock,
    netlink: Netlink,
    config: Config,
    instances: Vec<Running>,
    /// Which instance an advert is for: (socket, VRID) -> index into
    /// `instances`, rebuilt whenever the list changes.
    by_vrid: HashMap<(SocketKey, u8), usize>,
    io: Io,
    unknown_vrid: u64,
    /// Datagrams dropped before any instance could be named (oversized, a
    /// bad IP header) and socket failures, by reason.
    socket_drops: std::collections::BTreeMap<&'static str, u64>,
    /// Lines about packets no instance owns (truncated, unknown VRID).
    log_limit: ratelimit::LogLimit,
    tracking: tracking::Tracking,
    sync: sync::Groups,
}

/// Runs the daemon until SIGTERM/SIGINT.
pub async fn run(opts: Options) -> Result<(), DaemonError> {
    let config = load_config(&opts)?;
    if let Some(path) = &opts.pid_file {
        std::fs::write(path, format!("{}\n", std::process::id())).map_err(|source| {
            DaemonError::Io {
                what: format!("writing pid file {}", path.display()),
                source,
            }
        })?;
    }
    let result = run_with(opts.clone(), config).await;
    if let Some(path) = &opts.pid_file {
        let _ = std::fs::remove_file(path);
    }
    result
}

async fn run_with(opts: Options, config: Config) -> Result<(), DaemonError> {
    let mut signals = spawn_signal_task()?;

    let (netlink, mut net_events) = Netlink::open()?;
    let (work_tx, work_rx) = mpsc::unbounded_channel();
    let worker = Worker::new(netlink.clone());
    let worker_task = tokio::spawn(worker.run(work_rx));
    let (packets_tx, mut packets_rx) = mpsc::channel(1024);
    let (tracking, mut track_rx) = tracking::Tracking::new();
    let notifier = crate::track::notify::Notifier::start().map_err(|source| DaemonError::Io {
        what: "starting the notification thread".into(),
        source,
    })?;
    let mut daemon = Daemon {
        clock: Clock {
            base: tokio::time::Instant::now(),
        },
        netlink,
        config: Config::default(),
        instances: Vec::new(),
        by_vrid: HashMap::new(),
        io: Io {
            sockets: HashMap::new(),
            packets_tx,
            work: work_tx,
            notifier,
            events: crate::control::Events::default(),
            metrics: metrics::Publisher::default(),
            delivery: instance::Delivery::Now,
        },
        unknown_vrid: 0,
        socket_drops: Default::default(),
        log_limit: ratelimit::LogLimit::default(),
        tracking,
        sync: sync::Groups::default(),
    };
    let (control_tx, mut control_rx) = mpsc::channel(16);
    if let Err(e) = crate::control::serve(&opts.control_socket, control_tx) {
        warn!(
            "control socket {}: {e}; `vrrpd status` will not reach this daemon",
            opts.control_socket.display()
        );
    }
    let started = std::time::Instant::now();
    daemon.apply(config).await?;
    let watchdog = sd_notify::watchdog_enabled();
    let mut watchdog_kicked = std::time::Instant::now();
    if daemon.instances.is_empty() && !daemon.config.instances.is_empty() {
        return Err(DaemonError::NothingToRun);
    }
    info!("Startup complete");
    // Every instance has its initial state: tell systemd (Type=notify).
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);

    let timer = timer::DeadlineTimer::new().map_err(|source| DaemonError::Io {
        what: "creating the advert timer".into(),
        source,
    })?;
    // The deadline the timer is armed for. It is re-armed only when the
    // next deadline moves earlier: a later one costs a single early wake-up
    // instead of a timerfd_settime per received advert (each advert pushes
    // its Backup's Master_Down timer later).
    let mut armed: Option<Instant> = None;
    loop {
        let now = daemon.clock.now();
        let next = daemon
            .instances
            .iter()
            .filter_map(|r| r.router.poll_at())
            .min();
        let mut after = next
            .map(|t| t.saturating_since(now))
            .unwrap_or(Duration::from_secs(3600));
        // The watchdog is kicked from this loop, the advert path: a stalled
        // driver stops kicking and systemd restarts it (then ExecStopPost
        // resigns). Wake at least twice per watchdog period.
        if daemon.io.metrics.enabled() {
            // Drops counted outside the state machine reach the metrics
            // within a sweep even when nothing else wakes the driver.
            after = after.min(metrics::SWEEP);
        }
        if let Some(period) = watchdog {
            after = after.min(period / 2);
            if watchdog_kicked.elapsed() >= period / 4 {
                let _ = sd_notify::notify(&[sd_notify::NotifyState::Watchdog]);
                watchdog_kicked = std::time::Instant::now();
            }
        }
        let deadline = now + after;
        if armed.is_none_or(|at| deadline < at || at <= now) {
            timer.arm(after).map_err(|source| DaemonError::Io {
                what: "arming the advert timer".into(),
                source,
            })?;
            armed = Some(deadline);
        }
        tokio::select! {
            biased;
            _ = timer.expired() => {
                armed = None;
                daemon.timers();
            }
            Some((key, batch)) = packets_rx.recv() => {
                for received in batch {
                    daemon.receive(&key, received);
                }
            }
            Some(event) = net_events.recv() => daemon.net_event(event).await,
            Some(update) = track_rx.recv() => daemon.track_update(update),
            Some(req) = control_rx.recv() => daemon.control(req, &opts, started).await,
            Some(request) = signals.recv() => match request {
                SignalRequest::Stop => { info!("Stopping"); break; }
                SignalRequest::Reload => { daemon.reload(&opts).await; }
                SignalRequest::Dump(kind) => daemon.dump(kind),
            },
        }
        daemon
            .io
            .metrics
            .sweep(&daemon.instances, daemon.unknown_vrid);
    }
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
    daemon.shutdown().await;
    drop(daemon);
    let _ = worker_task.await;
    info!("Stopped vrrpd {}", env!("CARGO_PKG_VERSION"));
    Ok(())
}

/// What a signal asks of the driver.
enum SignalRequest {
    /// SIGTERM, SIGINT.
    Stop,
    /// SIGHUP.
    Reload,
    /// keepalived's dump signals.
    Dump(dump::DumpKind),
}

/// Every signal the daemon handles, watched by a task of its own and
/// delivered as one channel: the driver's `select!` polls one branch
/// instead of seven signal streams on each of its wake-ups (a Backup of
/// 100 instances wakes several times per burst of adverts).
fn spawn_signal_task() -> Result<mpsc::Receiver<SignalRequest>, DaemonError> {
    let mut sigterm = signal_stream(SignalKind::terminate())?;
    let mut sigint = signal_stream(SignalKind::interrupt())?;
    let mut sighup = signal_stream(SignalKind::hangup())?;
    let mut dumps = dump::Signals::new()?;
    let (tx, rx) = mpsc::channel(8);
    tokio::spawn(async move {
        loop {
            let request = tokio::select! {
                Some(()) = sigterm.recv() => SignalRequest::Stop,
                Some(()) = sigint.recv() => SignalRequest::Stop,
                Some(()) = sighup.recv() => SignalRequest::Reload,
                kind = dumps.recv() => SignalRequest::Dump(kind),
            };
            if tx.send(request).await.is_err() {
                break;
            }
        }
    });
    Ok(rx)
}

fn signal_stream(kind: SignalKind) -> Result<tokio::signal::unix::Signal, DaemonError> {
    signal(kind).map_err(|source| DaemonError::Io {
        what: "installing a signal handler".into(),
        source,
    })
}

impl Daemon {
    /// Brings the running set of instances to `config`: matched instances
    /// (keepalived's identity) get a Reload, removed ones resign, new ones
    /// start.
    async fn apply(&mut self, config: Config) -> Result<(), DaemonError> {
        self.io.notifier.configure(&config);
        self.io.metrics.configure(config.global.metrics_listen);
        let now = self.clock.now();
        let mut old: Vec<Running> = std::mem::take(&mut self.instances);
        let mut next = Vec::new();
        for cfg in &config.instances {
            let identity = cfg.identity();
            if let Some(pos) = old.iter().position(|r| r.cfg.identity() == identity) {
                let mut running = old.swap_remove(pos);
                let params = instance::params(cfg, running.router.params().source);
                // Keep the old specs of addresses the reload removes: the
                // kernel deletes an address only with its own prefix.
                let mut addresses = self.address_map(cfg, running.ifindex).await;
                for (addr, spec) in running.addresses.drain() {
                    addresses.entry(addr).or_insert(spec);
                }
                running.addresses = addresses;
                running.cfg = cfg.clone();
                let actions = running.router.handle(now, Input::Reload(Box::new(params)));
                next.push(running);
                let last = next.len() - 1;
                self.io.execute(&mut next[last], actions);
            } else {
                // One instance that cannot start (its interface is missing,
                // say) must not take the others down, at start or on reload.
                match self.start_instance(cfg).await {
                    Ok(running) => next.push(running),
                    Err(e) => error!("({}) cannot start, skipped: {e}", cfg.name),
                }
            }
        }
        for mut gone in old {
            info!("({}) removed by reload", gone.name());
            gone.deleting = true;
            let actions = gone.router.handle(now, Input::Shutdown);
            self.io.execute(&mut gone, actions);
        }
        self.instances = next;
        self.by_vrid = self
            .instances
            .iter()
            .enumerate()
            .map(|(i, r)| ((r.socket.clone(), r.cfg.vrid.get()), i))
            .collect();
        self.io.metrics.set_instances(&self.instances);
        self.config = config;
        self.configure_sync_groups();
        self.start_tracking().await;
        let now = self.clock.now();
        for i in 0..self.instances.len() {
            if self.instances[i].router.state() == State::Initialize {
                self.feed(i, now, Input::Startup);
            }
        }
        Ok(())
    }

    async fn address_map(
        &self,
        cfg: &Instance,
        ifindex: u32,
    ) -> HashMap<IpAddr, (u32, AddressSpec)> {
        let mut map = HashMap::new();
        for vip in cfg.vips.iter().chain(&cfg.excluded_vips) {
            let index = match &vip.dev {
                Some(dev) => match self.netlink.link(dev).await {
                    Ok(link) => link.index,
                    Err(e) => {
                        warn!("({}) {}: {e}; using {}", cfg.name, vip.addr, ifindex);
                        ifindex
                    }
                },
                None => ifindex,
            };
            map.insert(vip.addr, (index, instance::address_spec(vip)));
        }
        map
    }

    async fn start_instance(&mut self, cfg: &Instance) -> Result<Running, DaemonError> {
        let ifname = cfg.interface.clone().unwrap_or_default();
        let link = self.netlink.link(&ifname).await?;
        let present = self.netlink.addresses(link.index).await?;
        let vips: Vec<IpAddr> = cfg.vips.iter().map(|v| v.addr).collect();
        let configured = instance::configured_source(cfg);
        let source = configured.or_else(|| instance::primary_address(cfg.family, &present, &vips));
        if let Some(src) = configured {
            if !present.iter().any(|(a, _)| *a == src) {
                warn!(
                    "({}) source address {src} is not an address of {ifname}: peers will not recognise our adverts (see the seed README: were the unicast addresses flipped?)",
                    cfg.name
                );
            }
        }
        warn_unimplemented(cfg);
        for peer in &cfg.unicast_peers {
            if present.iter().any(|(a, _)| *a == peer.addr) {
                warn!(
                    "({}) unicast peer {} is one of our own addresses on {ifname}",
                    cfg.name, peer.addr
                );
            }
        }
        let key = SocketKey {
            ifindex: link.index,
            family: cfg.family,
            unicast_source: if cfg.is_unicast() { source } else { None },
        };
        self.io.ensure_socket(&key, &ifname, cfg)?;
        let placeholder = match cfg.family {
            Family::Ipv4 => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            Family::Ipv6 => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
        };
        let params = instance::params(cfg, source.unwrap_or(placeholder));
        let router = VirtualRouter::new(params).map_err(|e| {
            error!("({}) {e}", cfg.name);
            DaemonError::Config {
                file: cfg.name.clone(),
            }
        })?;
        let mut running = Running {
            cfg: cfg.clone(),
            router,
            ifindex: link.index,
            ifname: ifname.clone(),
            socket: key,
            addresses: self.address_map(cfg, link.index).await,
            lateness: Lateness::default(),
            drops: HashMap::new(),
            log_limit: ratelimit::LogLimit::default(),
            link_fault: !link.running && !cfg.dont_track_primary,
            no_source: source.is_none(),
            track_fault: false,
            track_adjustment: 0,
            state_since: std::time::Instant::now(),
            demoted: None,
            deleting: false,
        };
        if running.no_source {
            warn!(
                "({}) no {} address on {ifname}: FAULT until one appears",
                cfg.name, cfg.family
            );
        }
        if running.link_fault {
            info!("({}) interface {ifname} is down", cfg.name);
        }
        if running.faulted() {
            let now = self.clock.now();
            let actions = running.router.handle(now, Input::Fault(true));
            self.io.execute(&mut running, actions);
        }
        Ok(running)
    }

    fn feed(&mut self, i: usize, now: Instant, input: Input) {
        let r = &mut self.instances[i];
        let actions = r.router.handle(now, input);
        let left_master = sync::left_master(&actions);
        self.io.execute(r, actions);
        self.sync_after(i, now, left_master);
    }

    fn timers(&mut self) {
        let now = self.clock.now();
        self.io.delivery = instance::Delivery::Batched;
        for i in 0..self.instances.len() {
            let r = &mut self.instances[i];
            let Some(deadline) = r.router.poll_at().filter(|t| *t <= now) else {
                continue;
            };
            let actions = r.router.handle(now, Input::Timeout);
            if r.router.state() == State::Master
                && actions.iter().any(|a| matches!(a, Action::SendAdvert(_)))
            {
                let late = now.saturating_since(deadline);
                r.lateness.record(late);
                let quarter = r.cfg.advert_int.as_duration() / 4;
                if late > quarter {
                    warn!(
                        vrrp_instance = %r.cfg.name,
                        "({}) advert sent {:.1} ms late (more than a quarter interval)",
                        r.cfg.name,
                        late.as_secs_f64() * 1000.0
                    );
                }
            }
            let left_master = sync::left_master(&actions);
            self.io.execute(r, actions);
            self.sync_after(i, now, left_master);
        }
        self.io.delivery = instance::Delivery::Now;
        self.flush_adverts();
    }

    /// Sends the adverts [`Daemon::timers`] queued; a failure is counted
    /// and logged for its instance as an immediate send's would be.
    fn flush_adverts(&mut self) {
        for (key, sock) in &self.io.sockets {
            for failed in sock.flush() {
                let Some(&i) = self.by_vrid.get(&(key.clone(), failed.vrid)) else {
                    continue;
                };
                self.instances[i].send_failed(failed.dst, &failed.error);
            }
        }
    }

    fn receive(&mut self, key: &SocketKey, received: Result<Inbound, SocketError>) {
        let inbound = match received {
            Ok(inbound) => inbound,
            Err(e) => {
                let kind = e.drop_reason().map_or("socket_error", |r| r.as_str());
                *self.socket_drops.entry(kind).or_default() += 1;
                if let Some(n) = self.log_limit.allow(kind, tokio::time::Instant::now()) {
                    let note = ratelimit::suppressed_note(n);
                    if e.drop_reason().is_some() {
                        debug!("dropped a datagram on ifindex {}: {e}{note}", key.ifindex);
                    } else {
                        warn!("receive on ifindex {}: {e}{note}", key.ifindex);
                    }
                }
                return;
            }
        };
        let Some(vrid) = Packet::new_checked(&inbound.payload[..])
            .ok()
            .map(|p| p.vrid())
        else {
            if let Some(n) = self
                .log_limit
                .allow("truncated", tokio::time::Instant::now())
            {
                debug!(
                    "truncated packet from {}{}",
                    inbound.src,
                    ratelimit::suppressed_note(n)
                );
            }
            return;
        };
        let Some(&i) = self.by_vrid.get(&(key.clone(), vrid)) else {
            self.unknown_vrid += 1;
            if self.config.global.log_unknown_vrids {
                if let Some(n) = self
                    .log_limit
                    .allow("unknown_vrid", tokio::time::Instant::now())
                {
                    info!(
                        "advert for unknown VRID {vrid} from {}{}",
                        inbound.src,
                        ratelimit::suppressed_note(n)
                    );
                }
            }
            return;
        };
        let r = &mut self.instances[i];
        if inbound.src == r.router.params().source && !r.no_source {
            *r.drops.entry("own_address").or_default() += 1;
            return;
        }
        let peer = r.cfg.unicast_peers.iter().find(|p| p.addr == inbound.src);
        if r.cfg.is_unicast() && r.cfg.check_unicast_src && peer.is_none() {
            *r.drops.entry("not_a_peer").or_default() += 1;
            if let Some(n) = r.log_limit.allow("not_a_peer", tokio::time::Instant::now()) {
                debug!(
                    "({}) advert from {} which is not a unicast peer - discarding{}",
                    r.cfg.name,
                    inbound.src,
                    ratelimit::suppressed_note(n)
                );
            }
            return;
        }
        let ttl_range = peer.and_then(|p| match (p.min_ttl, p.max_ttl) {
            (None, None) => None,
            (min, max) => Some((min.unwrap_or(0), max.unwrap_or(255))),
        });
        let policy = RxPolicy {
            multicast: !r.cfg.is_unicast(),
            ttl_range,
            checksum: instance::checksum_mode(&r.cfg),
        };
        match socket::validate(&inbound, &policy) {
            Ok(repr) => {
                let now = self.clock.now();
                self.feed(
                    i,
                    now,
                    Input::Advert {
                        src: inbound.src,
                        repr,
                    },
                );
            }
            Err(reason) => {
                *r.drops.entry(reason.as_str()).or_default() += 1;
                if let Some(n) = r
                    .log_limit
                    .allow(reason.as_str(), tokio::time::Instant::now())
                {
                    debug!(
                        "({}) dropped advert from {}: {}{}",
                        r.cfg.name,
                        inbound.src,
                        reason.as_str(),
                        ratelimit::suppressed_note(n)
                    );
                }
            }
        }
    }

    async fn net_event(&mut self, event: NetEvent) {
        let now = self.clock.now();
        match event {
            NetEvent::Link(link) => {
                self.track_link(link.index, &link.name, link.running);
                for i in 0..self.instances.len() {
                    let r = &mut self.instances[i];
                    if r.ifindex != link.index || r.cfg.dont_track_primary {
                        continue;
                    }
                    let fault = !link.running;
                    if fault == r.link_fault {
                        continue;
                    }
                    info!(
                        "Netlink reports {} {}",
                        link.name,
                        if fault { "down" } else { "up" }
                    );
                    let was = r.faulted();
                    r.link_fault = fault;
                    let is = r.faulted();
                    if was != is {
                        self.feed(i, now, Input::Fault(is));
                    }
                }
            }
            NetEvent::LinkRemoved { index } => {
                self.track_link_removed(index);
                for i in 0..self.instances.len() {
                    if self.instances[i].ifindex == index && !self.instances[i].link_fault {
                        self.instances[i].link_fault = true;
                        self.feed(i, now, Input::Fault(true));
                    }
                }
            }
            NetEvent::AddressRemoved { index, addr, .. } => {
                for i in 0..self.instances.len() {
                    let r = &self.instances[i];
                    let ours = r.addresses.get(&addr).is_some_and(|(ix, _)| *ix == index);
                    if ours && r.router.holds_addresses() {
                        warn!(
                            "({}) virtual address {addr} was deleted by someone else",
                            r.cfg.name
                        );
                        self.feed(i, now, Input::AddressLost { addr });
                    }
                }
            }
            NetEvent::AddressAdded { index, .. } => {
                // An instance waiting for a source address (IPv6 link-local
                // after DAD, say) can start now.
                for i in 0..self.instances.len() {
                    if self.instances[i].ifindex != index || !self.instances[i].no_source {
                        continue;
                    }
                    let cfg = self.instances[i].cfg.clone();
                    let Ok(present) = self.netlink.addresses(index).await else {
                        continue;
                    };
                    let vips: Vec<IpAddr> = cfg.vips.iter().map(|v| v.addr).collect();
                    if let Some(source) = instance::primary_address(cfg.family, &present, &vips) {
                        info!("({}) using source address {source}", cfg.name);
                        self.instances[i].no_source = false;
                        let mut params = instance::params(&cfg, source);
                        params.sync_group = self.sync.member(i);
                        self.feed(i, now, Input::Reload(Box::new(params)));
                        if !self.instances[i].faulted() {
                            self.feed(i, now, Input::Fault(false));
                        }
                    }
                }
            }
        }
    }

    /// SIGHUP and `vrrpd reload`: validate, then apply; a bad file changes
    /// nothing. The reply (for `vrrpd reload`) has every diagnostic with
    /// file:line:col and what changed.
    async fn reload(&mut self, opts: &Options) -> serde_json::Value {
        info!("Reloading");
        if let Ok(now) = sd_notify::NotifyState::monotonic_usec_now() {
            let _ = sd_notify::notify(&[sd_notify::NotifyState::Reloading, now]);
        }
        let loaded = config::load(&opts.config_file, &FsSource, &opts.load);
        log_diagnostics(&loaded);
        let diagnostics: Vec<String> = loaded.diagnostics.iter().map(ToString::to_string).collect();
        let file = opts.config_file.display().to_string();
        if loaded.has_errors() {
            let errors = loaded.diagnostics.len() - loaded.warnings();
            error!(
                "Reload failed, keeping the running configuration: configuration {file} has errors"
            );
            let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
            self.io.events.publish(serde_json::json!({
                "event": "reload", "ok": false,
                "summary": format!("{file}: {errors} error(s); running configuration kept"),
            }));
            return serde_json::json!({
                "ok": false,
                "code": crate::control::ErrorCode::Config.as_str(),
                "error": format!("{file} has {errors} error(s); the running configuration is kept"),
                "file": file,
                "diagnostics": diagnostics,
            });
        }
        let plan = config::diff(&self.config, &loaded.config);
        info!("Reload plan: {plan:?}");
        let summary = admin::plan_summary(&plan);
        let mut reply = serde_json::json!({
            "file": file,
            "summary": summary,
            "plan": plan,
            "diagnostics": diagnostics,
        });
        if let Err(e) = self.apply(loaded.config).await {
            error!("Reload incomplete: {e}");
            reply["ok"] = false.into();
            reply["code"] = crate::control::ErrorCode::Apply.as_str().into();
            reply["error"] = format!("reload incomplete: {e}").into();
        }
        info!("Reload complete");
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
        self.io.events.publish(serde_json::json!({
            "event": "reload", "ok": reply.get("error").is_none(), "summary": summary,
        }));
        reply
    }

    /// What `vrrpd status` shows (see `control::render_status`).
    fn status(&self, started: std::time::Instant) -> serde_json::Value {
        let instances: Vec<serde_json::Value> = self
            .instances
            .iter()
            .map(|r| {
                let stats = r.router.stats();
                let vips = admin::vips_held(r);
                // Every dropped or refused advert by reason: the socket
                // layer's checks and the state machine's.
                let mut errors: std::collections::BTreeMap<&str, u64> =
                    r.drops.iter().map(|(k, v)| (*k, *v)).collect();
                for (why, n) in [
                    ("version_mismatch", stats.dropped_version),
                    ("vrid_mismatch", stats.dropped_vrid),
                    ("auth_mismatch", stats.dropped_auth),
                    ("interval_mismatch", stats.dropped_interval),
                ] {
                    if n > 0 {
                        *errors.entry(why).or_default() += n;
                    }
                }
                serde_json::json!({
                    "name": r.cfg.name,
                    "interface": r.ifname,
                    "vrid": r.cfg.vrid.get(),
                    "version": r.cfg.version.number(),
                    "state": r.router.state().keepalived_name(),
                    "reason": messages::reason(r.router.state_reason()),
                    "state_since": admin::state_since(r),
                    "state_age_s": r.state_since.elapsed().as_secs(),
                    "demoted": admin::demotion_json(r),
                    "base_priority": r.cfg.priority.get(),
                    "effective_priority": r.router.effective_priority().get(),
                    "tracker_adjustment": r.track_adjustment,
                    "trackers": self.tracker_status(r.name()),
                    "faults": {
                        "link": r.link_fault,
                        "no_source": r.no_source,
                        "tracker": r.track_fault,
                    },
                    "master": r.router.master().map(|m| serde_json::json!({
                        "address": m.address.to_string(),
                        "priority": m.priority.get(),
                        "advert_interval_cs": m.advert_interval.get(),
                    })),
                    "source": r.router.params().source.to_string(),
                    "vips_held": vips,
                    "adverts_sent": stats.adverts_sent,
                    "adverts_received": stats.adverts_received,
                    "drops": r.drops,
                    "errors": errors,
                    "stats": stats,
                    "lateness": r.lateness.to_string(),
                    "lateness_count": r.lateness.count(),
                    "lateness_p50_us": r.lateness.quantile(0.5).as_micros() as u64,
                    "lateness_p99_us": r.lateness.quantile(0.99).as_micros() as u64,
                    "lateness_max_us": r.lateness.max().as_micros() as u64,
                })
            })
            .collect();
        serde_json::json!({
            "version": env!("CARGO_PKG_VERSION"),
            "uptime_s": started.elapsed().as_secs(),
            "unknown_vrid_adverts": self.unknown_vrid,
            "socket_drops": self.socket_drops,
            "instances": instances,
        })
    }

    async fn shutdown(&mut self) {
        let now = self.clock.now();
        self.stopping_sync_groups();
        for i in 0..self.instances.len() {
            self.feed(i, now, Input::Shutdown);
            let r = &self.instances[i];
            let mut drops: Vec<String> = r
                .drops
                .iter()
                .map(|(why, n)| format!("{why}={n}"))
                .collect();
            drops.sort();
            info!(
                "({}) adverts sent {}, received {}, dropped [{}], lateness {}",
                r.cfg.name,
                r.router.stats().adverts_sent,
                r.router.stats().adverts_received,
                drops.join(" "),
                r.lateness
            );
        }
        self.stop_sync_groups();
        if self.unknown_vrid > 0 {
            info!("adverts for unknown VRIDs: {}", self.unknown_vrid);
        }
        self.io
            .events
            .publish(serde_json::json!({ "event": "stopping" }));
        // Wait for the address removals to complete before exiting.
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        if self.io.work.send(Work::Barrier(done_tx)).is_ok() {
            let _ = tokio::time::timeout(Duration::from_millis(800), done_rx).await;
        }
        // STOP notifications are always delivered (bounded wait).
        self.io.notifier.finish(Duration::from_secs(15)).await;
    }
}

impl Io {
    fn ensure_socket(
        &mut self,
        key: &SocketKey,
        ifname: &str,
        cfg: &Instance,
    ) -> Result<(), DaemonError> {
        if self.sockets.contains_key(key) {
            return Ok(());
        }
        let mode = match key.unicast_source {
            Some(source) => Mode::Unicast { source },
            None => Mode::Multicast {
                group: instance::multicast_group(cfg),
            },
        };
        let spec = SocketSpec {
            ifname: ifname.to_string(),
            ifindex: key.ifindex,
            family: key.family,
            mode,
        };
        let sock = std::sync::Arc::new(VrrpSocket::open(&spec)?);
        let reader = sock.clone();
        let tx = self.packets_tx.clone();
        let reader_key = key.clone();
        tokio::spawn(async move {
            loop {
                let batch = reader.recv_batch(RECV_BATCH).await;
                // A bad datagram is a drop, counted by the driver: the
                // reader goes straight back to the socket. Only a failing
                // socket (no datagram at all) pauses it, briefly, so a
                // persistent error cannot spin a core.
                let socket_failed = batch
                    .last()
                    .is_some_and(|r| r.as_ref().is_err_and(|e| e.drop_reason().is_none()));
                if tx.send((reader_key.clone(), batch)).await.is_err() {
                    break;
                }
                if socket_failed {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        });
        self.sockets.insert(key.clone(), sock);
        Ok(())
    }

    fn execute(&self, r: &mut Running, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::Transition { from, to, reason } => {
                    r.state_since = std::time::Instant::now();
                    self.metrics.transition(r, from, to);
                    if let Some((line, detail)) = messages::transition_cause(r.name(), reason) {
                        if detail {
                            info!(target: messages::DETAIL, "{line}");
                        } else {
                            info!("{line}");
                        }
                    }
                    info!(
                        vrrp_instance = %r.cfg.name,
                        vrrp_vrid = r.cfg.vrid.get(),
                        vrrp_state_from = from.keepalived_name(),
                        vrrp_state_to = to.keepalived_name(),
                        reason = %messages::reason(reason),
                        vrrp_priority = r.router.effective_priority().get(),
                        "{}",
                        messages::transition(r.name(), from, to)
                    );
                    let priority = r.router.effective_priority().0;
                    if let Some(state) = tracking::transition_notification(r, from, to) {
                        self.notifier.event(r.name(), state, priority);
                    }
                    self.events.publish(serde_json::json!({
                        "event": "transition",
                        "instance": r.name(),
                        "from": from.keepalived_name(),
                        "to": to.keepalived_name(),
                        "reason": messages::reason(reason),
                        "priority": priority,
                    }));
                }
                Action::SendAdvert(repr) => self.send_advert(r, &repr),
                Action::AddVips(addrs) => {
                    info!(target: messages::DETAIL, "({}) setting VIPs.", r.name());
                    self.address_work(r, &addrs, true);
                }
                Action::RemoveVips(addrs) => {
                    info!(target: messages::DETAIL, "({}) removing VIPs.", r.name());
                    self.address_work(r, &addrs, false);
                }
                Action::Announce {
                    addresses,
                    repeat,
                    reason,
                } => {
                    // An advert from a lower priority causes a burst each
                    // time (keepalived garp_lower_prio_repeat): its lines
                    // are limited like any other line a packet causes.
                    let note = if matches!(reason, AnnounceReason::LowerPriorityAdvert) {
                        r.log_limit
                            .allow("announce_lower_priority", tokio::time::Instant::now())
                            .map(ratelimit::suppressed_note)
                    } else {
                        Some(String::new())
                    };
                    if let Some(note) = &note {
                        debug!(
                            "({}) announcing {addresses:?} x{repeat} ({reason:?}){note}",
                            r.name()
                        );
                    }
                    self.metrics
                        .announced(r, addresses.len() as u64 * u64::from(repeat));
                    let mut by_interface: HashMap<u32, Vec<IpAddr>> = HashMap::new();
                    for addr in addresses {
                        let index = r.addresses.get(&addr).map_or(r.ifindex, |(ix, _)| *ix);
                        by_interface.entry(index).or_default().push(addr);
                    }
                    for (ifindex, addrs) in by_interface {
                        if note.is_some() {
                            for addr in &addrs {
                                info!(
                                    target: messages::DETAIL,
                                    "({}) Sending/queueing gratuitous ARPs on {} for {addr}",
                                    r.name(),
                                    r.ifname
                                );
                            }
                        }
                        let _ = self.work.send(Work::Announce {
                            ifindex,
                            addresses: addrs,
                            repeat,
                        });
                    }
                }
                Action::Event(event) => {
                    self.notify_event(r, &event);
                    if let crate::proto::fsm::Event::EffectivePriorityChanged { from, to } = event {
                        self.events.publish(serde_json::json!({
                            "event": "priority",
                            "instance": r.name(),
                            "from": from.get(),
                            "to": to.get(),
                        }));
                    }
                    // Lines an advert caused are rate limited per kind: a
                    // flood of bad adverts must not flood the journal.
                    let note = match messages::packet_event_kind(&event) {
                        Some(kind) => match r.log_limit.allow(kind, tokio::time::Instant::now()) {
                            Some(n) => ratelimit::suppressed_note(n),
                            None => continue,
                        },
                        None => String::new(),
                    };
                    let line = messages::event(r.name(), &event) + &note;
                    match event {
                        crate::proto::fsm::Event::IntervalMismatch { .. }
                        | crate::proto::fsm::Event::AuthMismatch { .. }
                        | crate::proto::fsm::Event::VersionMismatch { .. }
                        | crate::proto::fsm::Event::AddressListMismatch { .. }
                        | crate::proto::fsm::Event::EqualPriorityOwnAddress { .. } => {
                            warn!("{line}")
                        }
                        _ => info!("{line}"),
                    }
                }
            }
        }
        self.metrics.publish(r);
    }

    fn address_work(&self, r: &Running, addrs: &[IpAddr], add: bool) {
        for addr in addrs {
            let (ifindex, spec) = r
                .addresses
                .get(addr)
                .cloned()
                .unwrap_or_else(|| (r.ifindex, AddressSpec::host(*addr)));
            let item = if add {
                Work::Add { ifindex, spec }
            } else {
                Work::Remove { ifindex, spec }
            };
            let _ = self.work.send(item);
        }
    }

    fn send_advert(&self, r: &mut Running, repr: &AdvertRepr) {
        let Some(sock) = self.sockets.get(&r.socket) else {
            return;
        };
        let src = r.router.params().source;
        if repr.priority.is_resign() {
            info!(target: messages::DETAIL, "({}) sent 0 priority", r.name());
        }
        for (dst, sent) in instance::send_advert(sock, &r.cfg, src, repr, self.delivery) {
            match sent {
                Ok(()) => {}
                Err(e @ instance::SendError::Build(_)) => error!("({}) {e}", r.name()),
                Err(e) => r.send_failed(dst, &e),
            }
        }
    }
}

/// Settings the configuration accepts (so a keepalived.conf loads unchanged)
/// but the daemon does not act on yet: said once at start, never silently.
fn warn_unimplemented(cfg: &Instance) {
    let mut missing = Vec::new();
    if cfg.use_vmac.is_some() || cfg.vips.iter().any(|v| v.use_vmac) {
        missing.push("use_vmac (adverts and announcements use the interface MAC)");
    }
    if !cfg.virtual_routes.is_empty() {
        missing.push("virtual_routes");
    }
    if !cfg.virtual_rules.is_empty() {
        missing.push("virtual_rules");
    }
    if !cfg.accept {
        missing.push("no_accept (no firewall rules are installed)");
    }
    if cfg.promote_secondaries {
        missing.push("promote_secondaries");
    }
    for what in missing {
        warn!(
            "({}) {what} is not implemented by vrrpd yet; ignored",
            cfg.name
        );
    }
}
