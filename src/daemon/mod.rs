//! The driver's shell: one task owns the [`Driver`] core and runs what it
//! decides.
//!
//! It waits on the sockets' receive channel, netlink events, signals,
//! trackers, the control socket and the core's `poll_at`, turns each into
//! an [`Event`], and executes the [`Effect`]s: adverts are sent inline,
//! before anything else the same wake-up does; address changes and
//! announcements go, in order, to a worker task so a slow netlink reply can
//! never delay an advert. Lookups the core asks for (a source address, a
//! re-created interface, a resync after a netlink overrun) run in tasks of
//! their own, at most one per instance and kind with later requests merged
//! ([`crate::driver::lookups`]), each within 5 s (`LOOKUP_TIMEOUT`), and come
//! back as events through a bounded queue.

mod admin;
pub mod cloud;
mod dump;
pub mod firewall;
pub mod hooks;
mod instance;
pub mod messages;
mod process;
pub mod record;
mod reload;
mod reload_time;
pub mod resign;
pub mod sched;
mod timer;
mod tracking;
pub mod upgrade;
pub(crate) mod view;
pub mod worker;

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;
use tracing::{debug, error, info, warn};

use crate::config::{self, Config, FsSource, Instance, LoadOptions};
use crate::driver::lookups::{InFlight, Lookup};
use crate::driver::params as instance_params;
use crate::driver::ratelimit;
use crate::driver::{Driver, Effect, Event, Level, Running, SocketKey};
use crate::net::netlink::{AddressSpec, NetEvent, Netlink, NetlinkError};
use crate::net::socket::{Inbound, Mode, SocketError, SocketSpec, VrrpSocket};
use crate::output::metrics;
use crate::proto::fsm::{Action, AnnounceReason};
use crate::proto::wire::AdvertRepr;
use crate::proto::{Family, Instant, Priority};

pub use crate::driver::lateness::Lateness;
use worker::{WorkHandle, Worker};

/// How the daemon was started.
#[derive(Debug, Clone)]
pub struct Options {
    pub config_file: PathBuf,
    pub load: LoadOptions,
    pub pid_file: Option<PathBuf>,
    /// The control socket (`vrrpd status`).
    pub control_socket: PathBuf,
    /// The runtime record (`vrrpd resign` releases what it says).
    pub record: PathBuf,
    /// Started by `vrrpd upgrade` of a running daemon: the descriptor of
    /// the hand-over channel (`--takeover FD`).
    pub takeover: Option<std::os::fd::RawFd>,
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
    #[error(transparent)]
    Vmac(#[from] crate::net::vmac::VmacError),
    #[error(transparent)]
    Netns(#[from] crate::net::netns::NetnsError),
    #[error("no configured instance could start")]
    NothingToRun,
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// A successor refused or could not take over; the old daemon runs on.
    #[error("not taking over: {0}")]
    Upgrade(String),
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
/// What a socket's reader hands the driver: one `recv_batch`.
type ReceivedBatch = (SocketKey, Vec<Result<Inbound, SocketError>>);
type PacketRx = mpsc::Receiver<ReceivedBatch>;
/// Datagrams taken from one socket before a Backup's timer acts
/// ([`Daemon::drain_received`]): 10 s of a 100-instance segment's adverts
/// at 1 s; under a flood the rest waits for the readers, and the timer
/// is held back by at most this much work.
const DRAIN_MAX: usize = 1024;

/// The wall clock in whole seconds since the Unix epoch (0 before it).
fn utc_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The wall clock as an `auth_hmac` sequence (seconds and 1/65536 s).
fn utc_seq() -> crate::proto::auth_hmac::Seq {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    crate::proto::auth_hmac::Seq::from_unix(d.as_secs(), d.subsec_nanos())
}

/// The driver's clock: proto [`Instant`]s are microseconds since start.
#[derive(Clone, Copy)]
pub(crate) struct Clock {
    base: tokio::time::Instant,
}

impl Clock {
    /// A clock whose instants count from now.
    pub(crate) fn start() -> Clock {
        Clock {
            base: tokio::time::Instant::now(),
        }
    }

    pub(crate) fn now(&self) -> Instant {
        let micros = self.base.elapsed().as_micros();
        Instant::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
    }

    /// `at` as a tokio deadline, to sleep until.
    pub(crate) fn deadline(&self, at: Instant) -> tokio::time::Instant {
        self.base + Duration::from_micros(at.as_micros())
    }

    /// The core's clock and the wall clock read together, for outputs that
    /// show the core's instants as wall time.
    fn wall(&self) -> view::Wall {
        view::Wall {
            now: self.now(),
            wall: std::time::SystemTime::now(),
        }
    }
}

/// Runs the core's effects: the VRRP sockets and their readers, the
/// address worker, and the outputs (notifier, watch events, metrics).
struct Executor {
    clock: Clock,
    /// Open sockets and their reader tasks.
    sockets: HashMap<SocketKey, (std::sync::Arc<VrrpSocket>, tokio::task::AbortHandle)>,
    packets_tx: mpsc::Sender<ReceivedBatch>,
    work: WorkHandle,
    notifier: crate::output::notify::Notifier,
    /// Transitions for `vrrpd status -w`.
    events: crate::output::control::Events,
    metrics: metrics::Publisher,
    /// [`instance::Delivery::Batched`] while timers fire: IPv4 adverts are
    /// queued on their socket and leave together ([`Daemon::flush_adverts`]).
    delivery: instance::Delivery,
    /// Sends that failed or succeeded while the core watches them, fed
    /// back as events after the effects ran.
    send_reports: Vec<Event>,
}

struct Daemon {
    clock: Clock,
    netlink: Netlink,
    config: Config,
    /// `config_tracks_routes(&config)`, kept by [`Daemon::replace_config`]:
    /// the loop asks after every event, and a pass over 1000 instances'
    /// routes per wake-up was 8 % of a 1000-instance master's samples.
    tracks_routes: bool,
    driver: Driver,
    exec: Executor,
    tracking: tracking::Tracking,
    /// Answers of lookups run off the driver (source addresses, re-bound
    /// interfaces, resyncs): one per lookup in [`Daemon::in_flight`].
    lookups: mpsc::Sender<LookupAnswer>,
    /// The lookups in flight, at most one per instance and kind.
    in_flight: InFlight,
    reloads: reload::Reloads,
    /// The configuration's scheduling has been applied to the driver's
    /// thread (at start; again when a reload changes it).
    scheduled: bool,
    /// `max_auto_priority`: what a starved wake-up raises the thread to.
    auto_priority: crate::driver::autoprio::AutoPriority,
    /// vrrpd's realtime default in force: the guard of its CPU budget.
    rt_guard: Option<crate::driver::rtguard::RealtimeGuard>,
    /// The `reload_time_file` watcher: (file, reload_repeat) and its task.
    reload_timer: Option<((PathBuf, bool), tokio::task::AbortHandle)>,
    /// A reload's off-driver part is done (one at a time).
    reload_done: reload::LoadedTx,
    /// A tracker set started off the driver (one per reload).
    trackers_done: reload::TrackersTx,
    /// Writes the runtime record when what is held changed.
    record: record::Writer,
    /// Something the record says may have changed: rebuild and offer it
    /// once this wake-up is done.
    record_dirty: bool,
    /// The control socket served, if it could be.
    control: Option<crate::output::control::Serving>,
    control_path: PathBuf,
    /// A `vrrpd upgrade` in progress, and its task's channel.
    handover: Option<upgrade::Handover>,
    handover_tx: mpsc::Sender<upgrade::HandoverEvent>,
    /// Interfaces whose `promote_secondaries` vrrpd turned on; put back
    /// off at a clean stop, as keepalived does.
    promoted: std::collections::BTreeSet<String>,
    /// `disable_local_igmp` turned `igmp_link_local_mcast_reports` off at
    /// start: put back on at a clean stop.
    igmp_disabled: bool,
    /// Interfaces whose link state is polled (`linkbeat_*`).
    linkbeat: Linkbeat,
    /// Accept mode's drop set (nftables), run by its own task.
    firewall: firewall::FirewallHandle,
    /// The instances' VMACs (`use_vmac`).
    vmacs: crate::net::vmac::Vmacs,
    /// The cloud address backend's API jobs, run by their own thread.
    cloud: cloud::CloudHandle,
}

/// How the driver's loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    /// Stopped (SIGTERM): resigned, addresses removed.
    Stopped,
    /// A successor took over: nothing given up.
    HandedOver,
}

/// Runs the daemon until SIGTERM/SIGINT (or until a successor took over).
pub async fn run(opts: Options) -> Result<(), DaemonError> {
    if opts.takeover.is_none() {
        upgrade::set_serving(true);
    }
    // Parsed on a thread of its own and copied here (`Config::deep_clone`):
    // the parse's garbage stays in that thread's malloc arena, which the
    // trim after start-up gives back whole.
    let loaded = std::thread::scope(|scope| {
        scope
            .spawn(|| load_config(&opts))
            .join()
            .unwrap_or_else(|_| {
                Err(DaemonError::Io {
                    what: "parsing the configuration".into(),
                    source: std::io::Error::other("the parsing thread panicked"),
                })
            })
    });
    let config = match loaded.map(|parsed| parsed.deep_clone()) {
        Ok(config) => config,
        Err(e) => {
            if let Some(fd) = opts.takeover {
                upgrade::refuse_early(fd, &e.to_string());
            }
            return Err(e);
        }
    };
    // Before any socket or thread: what run_with opens and starts is then
    // in the namespace (a thread inherits its creator's). The parsing
    // thread above has ended.
    if let Some(name) = &config.global.net_namespace {
        if let Err(e) = crate::net::netns::enter(name) {
            if let Some(fd) = opts.takeover {
                upgrade::refuse_early(fd, &e.to_string());
            }
            return Err(e.into());
        }
        info!("Running in network namespace {name}");
    }
    process::apply(&config.global, None);
    // keepalived removes a reload file a crash left (main.c).
    if let (None, Some(path)) = (opts.takeover, &config.global.reload_file) {
        let _ = std::fs::remove_file(path);
    }
    if opts.takeover.is_none() {
        write_pid_file(&opts)?;
    }
    let result = run_with(opts.clone(), config).await;
    // Only our own: a successor that refused leaves the old daemon's, and
    // a predecessor that handed over leaves the successor's.
    if let Some(path) = &opts.pid_file {
        let ours = std::fs::read_to_string(path)
            .is_ok_and(|text| text.trim() == std::process::id().to_string());
        if ours && !matches!(result, Ok(Ended::HandedOver)) {
            let _ = std::fs::remove_file(path);
        }
    }
    result.map(|_| ())
}

fn write_pid_file(opts: &Options) -> Result<(), DaemonError> {
    if let Some(path) = &opts.pid_file {
        let io = |source| DaemonError::Io {
            what: format!("writing pid file {}", path.display()),
            source,
        };
        std::fs::write(path, format!("{}\n", std::process::id())).map_err(io)?;
        // keepalived (main.c pidfile_write) writes its pid files readable by
        // all whatever its `umask`: tools read them unprivileged.
        if let Some(mode) = process::pid_file_mode() {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(io)?;
        }
    }
    Ok(())
}

async fn run_with(opts: Options, config: Config) -> Result<Ended, DaemonError> {
    // A successor must not touch what the old daemon holds before it
    // took over: ready first.
    let mut successor = match opts.takeover {
        Some(fd) => Some(upgrade::Successor::open(fd)?),
        None => None,
    };
    let mut signals = spawn_signal_task()?;

    let (netlink, mut net_events, bufs) = Netlink::open_with(&config.global.netlink_rcv_bufs)?;
    if config.global.netlink_rcv_bufs != Default::default() {
        info!(
            "netlink receive buffers: command {} bytes, monitor {} bytes",
            bufs.cmd, bufs.monitor
        );
    }
    let (work, worker) = Worker::new(netlink.clone());
    let worker_task = worker.spawn_thread().map_err(|source| DaemonError::Io {
        what: "starting the address worker's thread".into(),
        source,
    })?;
    // Accept mode's nftables settings are read once, as keepalived does.
    let (firewall, firewall_worker) = firewall::FirewallWorker::new(config.global.nftables.clone());
    firewall_worker
        .spawn_thread()
        .map_err(|source| DaemonError::Io {
            what: "starting the nftables worker's thread".into(),
            source,
        })?;
    let (cloud, cloud_worker) = cloud::CloudWorker::new();
    cloud_worker
        .spawn_thread()
        .map_err(|source| DaemonError::Io {
            what: "starting the cloud worker's thread".into(),
            source,
        })?;
    let (packets_tx, mut packets_rx) = mpsc::channel(1024);
    let (tracking, mut track_rx) = tracking::Tracking::new();
    let notifier = crate::output::notify::Notifier::start().map_err(|source| DaemonError::Io {
        what: "starting the notification thread".into(),
        source,
    })?;
    let clock = Clock::start();
    let (lookups, mut lookup_rx) = mpsc::channel(LOOKUP_ANSWERS);
    let (reload_done, mut reload_rx) = mpsc::unbounded_channel();
    let (trackers_done, mut trackers_rx) = mpsc::unbounded_channel();
    let (record_writer, mut record_done) = record::Writer::new(opts.record.clone());
    let held_changed = work.held_changed();
    let (handover_tx, mut handover_rx) = mpsc::channel(4);
    // Linkbeat reports: one per change per polled interface.
    let (linkbeat_tx, mut linkbeat_rx) = mpsc::channel(64);
    let vmacs_netlink = netlink.clone();
    let mut daemon = Daemon {
        clock,
        netlink,
        config: Config::default(),
        tracks_routes: false,
        driver: Driver::new(),
        exec: Executor {
            clock,
            sockets: HashMap::new(),
            packets_tx,
            work,
            notifier,
            events: crate::output::control::Events::default(),
            metrics: metrics::Publisher::default(),
            delivery: instance::Delivery::Now,
            send_reports: Vec::new(),
        },
        tracking,
        lookups,
        in_flight: InFlight::new(),
        reloads: reload::Reloads::default(),
        scheduled: false,
        auto_priority: crate::driver::autoprio::AutoPriority::new(&Default::default()),
        rt_guard: None,
        reload_timer: None,
        reload_done,
        trackers_done,
        record: record_writer,
        record_dirty: true,
        control: None,
        control_path: opts.control_socket.clone(),
        handover: None,
        handover_tx,
        promoted: Default::default(),
        igmp_disabled: false,
        linkbeat: Linkbeat {
            tx: linkbeat_tx,
            names: Vec::new(),
            seen: HashMap::new(),
            task: None,
        },
        firewall,
        vmacs: crate::net::vmac::Vmacs::new(vmacs_netlink),
        cloud,
    };
    let (control_tx, mut control_rx) = mpsc::channel(16);
    let started = std::time::Instant::now();
    match successor.as_mut() {
        None => {
            // keepalived runs its startup_script before the VRRP process
            // starts, and waits for it (bounded by its timeout).
            hooks::run(hooks::Hook::Startup, &config.global).await;
            match crate::output::control::serve(&opts.control_socket, control_tx) {
                Ok(serving) => daemon.control = Some(serving),
                Err(e) => warn!(
                    "control socket {}: {e}; `vrrpd status` will not reach this daemon",
                    opts.control_socket.display()
                ),
            }
            daemon.start(config).await?;
        }
        Some(successor) => {
            // Everything slow before `loaded`: the old daemon freezes
            // between sending the record and our `ready`.
            let prepared = reload::prepare(
                daemon.netlink.clone(),
                daemon.vmacs.clone(),
                reload::VmacStage::Takeover,
                config,
                Vec::new(),
            )
            .await;
            successor.say(&upgrade::ChildSays::Loaded).await;
            let taken = match successor.record().await {
                Ok(record) => daemon
                    .take_over(prepared, &record, control_tx)
                    .map(|()| record),
                Err(e) => Err(e),
            };
            if let Err(e) = taken {
                error!("Not taking over: {e}");
                successor
                    .say(&upgrade::ChildSays::Refused {
                        error: e.to_string(),
                    })
                    .await;
                return Err(e.into());
            }
            write_pid_file(&opts)?;
            upgrade::set_serving(true);
            successor
                .say(&upgrade::ChildSays::Ready {
                    pid: std::process::id(),
                    version: env!("CARGO_PKG_VERSION").to_string(),
                })
                .await;
            // Tracker scripts start after the hand-over, from the readings
            // the old daemon had.
            daemon.restart_trackers();
        }
    }
    drop(successor);
    let watchdog = sd_notify::watchdog_enabled();
    let mut watchdog_kicked = std::time::Instant::now();
    if daemon.driver.instances().is_empty() && !daemon.config.instances.is_empty() {
        return Err(DaemonError::NothingToRun);
    }
    if opts.takeover.is_some() {
        // The old daemon tells systemd MAINPID= and READY=1 when it hears
        // `ready` (NotifyAccess=main).
        info!("Takeover complete");
    } else {
        info!("Startup complete");
        // Every instance has its initial state: tell systemd (Type=notify).
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
    }
    // Off the advert thread, as every trim: reading smaps to release the
    // code pages takes 1-5 ms, and the first adverts are due.
    tokio::task::spawn_blocking(|| sched::trim_heap("the start"));
    let mut ended = Ended::Stopped;
    let mut deletions: Option<mpsc::Receiver<crate::net::netlink::Deleted>> = None;
    // A successor's metrics endpoint: (when, attempt), see `retry_metrics`.
    let mut metrics_retry = opts
        .takeover
        .and(daemon.config.global.metrics_listen)
        .map(|_| (std::time::Instant::now() + Duration::from_millis(20), 0u32));

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
        daemon.guard_realtime(now);
        let next = daemon.driver.poll_at();
        let mut after = next
            .map(|t| t.saturating_since(now))
            .unwrap_or(Duration::from_secs(3600));
        // The watchdog is kicked from this loop, the advert path: a stalled
        // driver stops kicking and systemd restarts it (then ExecStopPost
        // resigns). Wake at least twice per watchdog period.
        if daemon.exec.metrics.enabled() {
            // Drops counted outside the state machine reach the metrics
            // within a sweep even when nothing else wakes the driver.
            after = after.min(metrics::SWEEP);
        }
        if let Some((at, attempt)) = metrics_retry {
            if at <= std::time::Instant::now() {
                metrics_retry = daemon
                    .retry_metrics(attempt)
                    .map(|d| (std::time::Instant::now() + d, attempt + 1));
            }
            if let Some((at, _)) = metrics_retry {
                after = after.min(at.saturating_duration_since(std::time::Instant::now()));
            }
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
        // While an upgrade's record is out (frozen), nothing may change
        // the state the successor restores: every input waits (datagrams
        // in the kernel, for the successor), except the hand-over's own.
        let live = !daemon.handover.as_ref().is_some_and(|h| h.frozen);
        tokio::select! {
            biased;
            Some(event) = handover_rx.recv() => {
                let loaded = matches!(event, upgrade::HandoverEvent::Loaded { .. });
                if loaded {
                    // Datagrams already read belong to this state.
                    while let Ok((key, batch)) = packets_rx.try_recv() {
                        for datagram in batch {
                            daemon.handle(Event::Received { socket: key.clone(), datagram });
                        }
                    }
                }
                if daemon.handover_event(event, &opts) {
                    ended = Ended::HandedOver;
                    break;
                }
            }
            _ = timer.expired(), if live => {
                if let Some(at) = armed {
                    daemon.woke_late(daemon.clock.now().saturating_since(at));
                }
                armed = None;
                if daemon.driver.backup_timer_due(daemon.clock.now()) {
                    daemon.drain_received(&mut packets_rx);
                }
                daemon.timers();
            }
            Some((key, batch)) = packets_rx.recv(), if live => {
                for datagram in batch {
                    daemon.handle(Event::Received { socket: key.clone(), datagram });
                }
            }
            Some(event) = net_events.recv(), if live => daemon.net_event(event),
            Some((name, up)) = linkbeat_rx.recv(), if live => daemon.linkbeat_report(name, up),
            Some(deleted) = recv_deleted(&mut deletions), if live => daemon.route_deleted(&deleted),
            Some(answer) = lookup_rx.recv(), if live => daemon.lookup_answer(answer),
            Some(loaded) = reload_rx.recv(), if live => daemon.reload_loaded(&opts, loaded),
            Some((generation, set)) = trackers_rx.recv(), if live => daemon.trackers_started(generation, set),
            Some(update) = track_rx.recv(), if live => daemon.track_update(update),
            () = held_changed.notified(), if live => daemon.record_dirty = true,
            Some(written) = record_done.recv(), if live => daemon.record.finished(written),
            Some(req) = control_rx.recv(), if live => daemon.control(req, &opts, started),
            Some(request) = signals.recv(), if live => match request {
                SignalRequest::Stop => { info!("Stopping"); break; }
                SignalRequest::Reload => daemon.request_reload(&opts, None),
                SignalRequest::Dump(kind) => daemon.dump(kind),
                SignalRequest::CpuLimit => warn!(
                    "the realtime advert thread ran half its vrrp_rlimit_rttime without sleeping; at the limit the kernel ends the daemon"
                ),
            },
        }
        // Built only when no write is in flight: changes that come while
        // one is (1000 addresses added at start, each a change) make one
        // record when it ends, not one each: a record of 1000 instances
        // is ~7000 allocations, and building one per change made the
        // start quadratic.
        if daemon.record_dirty && !daemon.record.busy() {
            daemon.offer_record();
        }
        if !daemon.record_dirty && daemon.record.take_trim_due() {
            tokio::task::spawn_blocking(|| sched::trim_heap("the runtime record's writes"));
        }
        // Route and rule deletions are watched once a tracked one is
        // configured (a socket of its own: a routing daemon's churn must
        // not reach the link and address events).
        if deletions.is_none() && daemon.tracks_routes {
            match Netlink::open_deletions() {
                Ok(rx) => deletions = Some(rx),
                Err(e) => {
                    warn!("watching route and rule deletions: {e}; a tracked one deleted by someone else is not put back");
                    // Said once: the configuration's flag stays, the
                    // socket is not asked for again.
                    deletions = Some(mpsc::channel(1).1);
                }
            }
        }
        daemon.exec.metrics.sweep(
            daemon.driver.instances().iter().map(view::Counters::of),
            daemon.driver.unknown_vrid(),
            || daemon.exec.work.metrics(),
        );
    }
    if ended == Ended::HandedOver {
        // No stop sequence: the successor holds everything now. Queued
        // notifications (of past transitions) still go out, and the
        // `vrrpd upgrade` client gets its answer before we exit.
        daemon
            .exec
            .notifier
            .finish(Duration::from_millis(500))
            .await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        // The successor holds the nftables tables as they are: no teardown.
        daemon.firewall.abandon();
        daemon.cloud.abandon();
        drop(daemon);
        worker_task.join().await;
        info!("vrrpd {} handed over; exiting", env!("CARGO_PKG_VERSION"));
        return Ok(ended);
    }
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
    daemon.shutdown(&mut record_done).await;
    // The configuration in force at the stop (a reload may have changed it).
    let global = daemon.config.global.clone();
    drop(daemon);
    worker_task.join().await;
    // keepalived runs its shutdown_script once the VRRP process has ended
    // (its addresses removed), and exits when the script does.
    hooks::run(hooks::Hook::Shutdown, &global).await;
    info!("Stopped vrrpd {}", env!("CARGO_PKG_VERSION"));
    Ok(ended)
}

/// Applies `s` to the calling (advert) thread: one warning per setting the
/// kernel refused; the summary of what is in force.
fn apply_and_warn(s: &config::Scheduling) -> String {
    let (summary, failed) = sched::apply(s);
    for f in failed {
        warn!("{f}");
    }
    summary
}

/// The next route or rule deletion, once watched.
async fn recv_deleted(
    rx: &mut Option<mpsc::Receiver<crate::net::netlink::Deleted>>,
) -> Option<crate::net::netlink::Deleted> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Whether `config` has a tracked route or rule (not `no_track`).
fn config_tracks_routes(config: &Config) -> bool {
    let routes = config
        .instances
        .iter()
        .flat_map(|i| i.virtual_routes.iter())
        .chain(&config.static_routes)
        .any(|r| !r.no_track);
    let rules = config
        .instances
        .iter()
        .flat_map(|i| i.virtual_rules.iter())
        .chain(&config.static_rules)
        .any(|r| !r.no_track);
    routes || rules
}

/// What a signal asks of the driver.
enum SignalRequest {
    /// SIGTERM, SIGINT.
    Stop,
    /// SIGHUP.
    Reload,
    /// keepalived's dump signals.
    Dump(dump::DumpKind),
    /// SIGXCPU: the realtime advert thread used half its RLIMIT_RTTIME
    /// without blocking.
    CpuLimit,
}

/// Every signal the daemon handles, watched by a task of its own and
/// delivered as one channel: the driver's `select!` polls one branch
/// instead of seven signal streams on each of its wake-ups (a Backup of
/// 100 instances wakes several times per burst of adverts).
fn spawn_signal_task() -> Result<mpsc::Receiver<SignalRequest>, DaemonError> {
    let mut sigterm = signal_stream(SignalKind::terminate())?;
    let mut sigint = signal_stream(SignalKind::interrupt())?;
    let mut sighup = signal_stream(SignalKind::hangup())?;
    // Sent at the soft RLIMIT_RTTIME (sched.rs): without a handler it
    // would end the daemon at half the limit.
    let mut sigxcpu = signal_stream(SignalKind::from_raw(libc::SIGXCPU))?;
    let mut dumps = dump::Signals::new()?;
    let (tx, rx) = mpsc::channel(8);
    tokio::spawn(async move {
        loop {
            let request = tokio::select! {
                Some(()) = sigterm.recv() => SignalRequest::Stop,
                Some(()) = sigint.recv() => SignalRequest::Stop,
                Some(()) = sighup.recv() => SignalRequest::Reload,
                Some(()) = sigxcpu.recv() => SignalRequest::CpuLimit,
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
    /// Applies `s` to the advert thread (at start, and when a reload
    /// changes it) and says what is in force.
    fn apply_scheduling(&mut self, s: &config::Scheduling) {
        self.scheduled = true;
        let summary = apply_and_warn(s);
        self.auto_priority = crate::driver::autoprio::AutoPriority::new(s);
        self.rt_guard = (s.default_realtime() && sched::current().is_ok_and(|t| t.realtime))
            .then(|| crate::driver::rtguard::RealtimeGuard::new(sched::budget_percent(s)));
        info!("Advert thread: {summary}");
    }

    /// vrrpd's realtime default: once per window, the advert thread's CPU
    /// time against its budget ([`crate::driver::rtguard`]).
    fn guard_realtime(&mut self, now: Instant) {
        let Some(guard) = self.rt_guard.as_mut() else {
            return;
        };
        if !guard.sample_due(now) {
            return;
        }
        let Ok(cpu) = sched::thread_cpu_time() else {
            return;
        };
        let Some(action) = guard.sample(now, cpu) else {
            return;
        };
        let s = &self.config.global.scheduling;
        match action {
            crate::driver::rtguard::GuardAction::Demote { used_percent, hold } => {
                let plain = config::Scheduling {
                    guarded_realtime: false,
                    ..s.clone()
                };
                let summary = apply_and_warn(&plain);
                warn!(
                    "Advert thread used {used_percent} % of a CPU in the last second (budget {} %): {summary} for at least {} s",
                    sched::budget_percent(s),
                    hold.as_secs()
                );
            }
            crate::driver::rtguard::GuardAction::Restore { used_percent } => {
                let summary = apply_and_warn(s);
                info!("Advert thread back to realtime ({used_percent} % of a CPU in the last second): {summary}");
            }
        }
    }

    /// The advert timer fired `late` after its deadline: keepalived's
    /// starvation rule ([`crate::driver::autoprio`]).
    fn woke_late(&mut self, late: Duration) {
        let Some(overdue) = self.auto_priority.woke(late) else {
            return;
        };
        warn!(
            "A timer expired {}.{:06} seconds late",
            late.as_secs(),
            late.subsec_micros()
        );
        let Some(prio) = overdue.raise_to else { return };
        let mut s = self.config.global.scheduling.clone();
        s.realtime_priority = config::RtPriority::try_from(i64::from(prio)).ok();
        let summary = apply_and_warn(&s);
        info!("Set realtime priority {prio} (max_auto_priority): advert thread {summary}");
    }

    /// Hands the core everything already received: the batches the readers
    /// queued, then up to [`DRAIN_MAX`] datagrams waiting in each socket.
    /// Called before a Backup's timer acts ([`Driver::backup_timer_due`]).
    fn drain_received(&mut self, packets_rx: &mut PacketRx) {
        while let Ok((socket, batch)) = packets_rx.try_recv() {
            for datagram in batch {
                self.handle(Event::Received {
                    socket: socket.clone(),
                    datagram,
                });
            }
        }
        let sockets: Vec<(SocketKey, std::sync::Arc<VrrpSocket>)> = self
            .exec
            .sockets
            .iter()
            .map(|(key, (sock, _))| (key.clone(), sock.clone()))
            .collect();
        for (socket, sock) in sockets {
            for _ in 0..DRAIN_MAX {
                let datagram = match sock.try_recv() {
                    Ok(Some(inbound)) => Ok(inbound),
                    Ok(None) => break,
                    Err(e) => Err(e),
                };
                let failed = datagram.as_ref().is_err_and(|e| e.drop_reason().is_none());
                self.handle(Event::Received {
                    socket: socket.clone(),
                    datagram,
                });
                if failed {
                    break;
                }
            }
        }
    }

    /// Hands `event` to the core and runs what it decides.
    fn handle(&mut self, event: Event) {
        let now = self.clock.now();
        self.driver.set_utc(utc_secs());
        let effects = self.driver.handle(now, event);
        self.run_effects(effects);
    }

    /// Runs the core's effects in order, then feeds back what the sends
    /// they made reported.
    fn run_effects(&mut self, effects: Vec<Effect>) {
        // The drop set before the addresses, as keepalived's
        // vrrp_state_become_master sets the firewall rule first: the
        // driver's state already says what the effects will do. (The two
        // run on separate tasks, so an nft batch may still land a few ms
        // after the address; neither ever waits for the other.)
        let touches_vips = effects.iter().any(|e| match e {
            Effect::Actions { actions, .. } | Effect::Removed { actions, .. } => actions
                .iter()
                .any(|a| matches!(a, Action::AddVips(_) | Action::RemoveVips(_))),
            Effect::InstancesChanged => true,
            _ => false,
        });
        if touches_vips {
            self.sync_firewall();
        }
        for effect in effects {
            match effect {
                Effect::Actions { instance, actions } => {
                    let r = self.driver.instance_mut(instance);
                    self.exec.execute(r, Some(instance), actions);
                }
                Effect::GroupSyncing { name, state } => info!(
                    "VRRP_Group({name}) Syncing instances to {} state",
                    state.keepalived_name()
                ),
                Effect::GroupState { name, state } => self
                    .exec
                    .notifier
                    .group_event(&name, tracking::notify_state(state)),
                Effect::Log {
                    level,
                    instance,
                    text,
                } => log_line(level, instance.as_deref(), &text),
                Effect::FindSource { instance, ifindex } => {
                    self.start_lookup(Lookup::Source { instance, ifindex })
                }
                Effect::Rebind { instance, ifindex } => {
                    debug!("re-bind of instance #{instance} on index {ifindex} asked");
                    self.start_lookup(Lookup::Rebind { instance, ifindex })
                }
                Effect::Probe { instance } => {
                    let r = self.driver.instance_mut(instance);
                    let repr = r.router.advert(Priority::RESIGN);
                    self.exec.send_advert(r, Some(instance), &repr);
                }
                Effect::Removed {
                    mut running,
                    actions,
                } => {
                    self.exec.execute(&mut running, None, actions);
                    self.remove_vmac(&running);
                }
                Effect::RouteWork { owner, add, remove } => {
                    // keepalived's detailed lines (`vrrp_handle_iproutes`).
                    let who = if owner == crate::driver::routes::STATIC_OWNER {
                        "static"
                    } else {
                        owner.as_str()
                    };
                    for (list, verb) in [(&remove, "removing"), (&add, "setting")] {
                        if list.iter().any(|e| e.is_route()) {
                            info!(target: messages::DETAIL, "({who}) {verb} Virtual Routes");
                        }
                        if list.iter().any(|e| !e.is_route()) {
                            info!(target: messages::DETAIL, "({who}) {verb} Virtual Rules");
                        }
                    }
                    self.exec.work.routes(&owner, &add, &remove);
                }
                Effect::AddressWork { owner, add, remove } => {
                    for (ifindex, spec) in remove {
                        info!(target: messages::DETAIL, "({owner}) removing {}/{} from its old interface", spec.addr, spec.prefix);
                        self.exec.work.remove(&owner, ifindex, spec);
                    }
                    for (ifindex, spec) in add {
                        info!(target: messages::DETAIL, "({owner}) setting {}/{} on its new interface", spec.addr, spec.prefix);
                        self.exec.work.add(&owner, ifindex, spec);
                    }
                }
                Effect::StaticAddressWork { add, remove } => {
                    let owner = crate::driver::routes::STATIC_OWNER;
                    for (ifindex, spec) in remove {
                        info!(target: messages::DETAIL, "(static) removing static address {}/{}", spec.addr, spec.prefix);
                        self.exec.work.remove(owner, ifindex, spec);
                    }
                    for (ifindex, spec) in add {
                        info!(target: messages::DETAIL, "(static) setting static address {}/{}", spec.addr, spec.prefix);
                        self.exec.work.add(owner, ifindex, spec);
                    }
                }
                Effect::InstancesChanged => {
                    self.configure_cloud();
                    self.record_dirty = true;
                    self.exec
                        .metrics
                        .set_instances(self.driver.instances().iter().map(view::Counters::of));
                    self.exec.prune_sockets(&self.driver);
                    self.exec
                        .size_recv_buffers(&self.driver, &self.config.global);
                }
            }
        }
        self.feed_send_reports();
        self.sync_cloud();
    }

    /// Tells the cloud worker each cloud instance's state: whether it is
    /// Master, and its adverts received (a peer spoke: reconcile).
    fn sync_cloud(&self) {
        if !self.cloud.any() {
            return;
        }
        for r in self.driver.instances() {
            if r.cfg.cloud.is_some() {
                let master = r.router.state() == crate::proto::fsm::State::Master;
                self.cloud
                    .state(r.name(), master, r.router.stats().adverts_received);
            }
        }
    }

    /// The instances with a cloud backend changed (start, reload).
    fn configure_cloud(&mut self) {
        let list = self
            .driver
            .instances()
            .iter()
            .filter_map(|r| {
                let settings = r.cfg.cloud.as_deref()?.clone();
                let address = settings.private_address(&r.cfg.vips)?;
                Some(cloud::Configured {
                    name: r.name().to_string(),
                    settings,
                    address,
                    ifname: r.ifname.clone(),
                })
            })
            .collect::<Vec<_>>();
        if list.is_empty() && !self.cloud.any() {
            return;
        }
        // What `vrrpd check` would refuse, said at start and reload too:
        // the claims would only fail later.
        let var = |k: &str| std::env::var(k).ok();
        let exists = |p: &std::path::Path| p.is_file();
        let env = crate::config::cloud::AwsEnv {
            var: &var,
            exists: &exists,
        };
        for c in &list {
            for problem in crate::config::cloud::env_problems(&c.settings, &env) {
                error!("({}) cloud: {problem}", c.name);
            }
        }
        self.cloud.configure(list);
        self.exec.metrics.set_cloud(self.cloud.metrics());
    }

    /// Tells the firewall worker what accept mode must drop now.
    fn sync_firewall(&self) {
        let by_index = self.firewall.settings().ifindex;
        self.firewall.want(self.driver.blocked(by_index));
    }

    /// Hands the core what the sends of the effects just run reported.
    fn feed_send_reports(&mut self) {
        if self.exec.send_reports.is_empty() {
            return;
        }
        let now = self.clock.now();
        for event in std::mem::take(&mut self.exec.send_reports) {
            let effects = self.driver.handle(now, event);
            self.run_effects(effects);
        }
    }

    fn timers(&mut self) {
        self.exec.delivery = instance::Delivery::Batched;
        let now = self.clock.now();
        self.driver.set_utc(utc_secs());
        let effects = self.driver.handle(now, Event::Timer);
        self.run_effects(effects);
        self.exec.delivery = instance::Delivery::Now;
        self.flush_adverts();
    }

    /// Sends the adverts [`Daemon::timers`] queued; a failure is counted
    /// and reported for its instance as an immediate send's would be.
    fn flush_adverts(&mut self) {
        let now = self.clock.now();
        for (key, (sock, _)) in &self.exec.sockets {
            for failed in sock.flush() {
                let Some(i) = self.driver.instance_of(key, failed.vrid) else {
                    continue;
                };
                send_failed(self.driver.instance_mut(i), now, failed.dst, &failed.error);
                self.exec
                    .send_reports
                    .push(Event::SendFailed { instance: i });
            }
        }
        self.feed_send_reports();
    }

    fn net_event(&mut self, event: NetEvent) {
        match event {
            // A polled interface's state is the poller's (keepalived ignores
            // netlink for a linkbeat interface).
            NetEvent::Link(link) if self.linkbeat.names.contains(&link.name) => {}
            NetEvent::Link(link) => {
                self.track_link(link.index, &link.name, link.running);
                self.handle(Event::Link {
                    index: link.index,
                    name: link.name,
                    running: link.running,
                });
            }
            NetEvent::LinkRemoved { index } => {
                self.track_link_removed(index);
                self.handle(Event::LinkRemoved { index });
            }
            NetEvent::AddressRemoved { index, addr, .. } => {
                // Our own removals echo back: only someone else's count.
                if !self.exec.work.own_removal(index, addr) {
                    self.handle(Event::AddressRemoved { index, addr })
                }
            }
            NetEvent::AddressAdded { index, .. } => self.handle(Event::AddressAdded { index }),
            NetEvent::Overrun => self.start_lookup(Lookup::Resync),
        }
    }

    /// A polled interface changed (or its first reading): handled as
    /// netlink's link report would be.
    fn linkbeat_report(&mut self, name: String, up: bool) {
        if !self.linkbeat.names.contains(&name) {
            return;
        }
        // Gone: netlink's removal report says so.
        let Some(index) = crate::net::linkbeat::index_of(&name) else {
            return;
        };
        // The first reading is the state at start, not a change (keepalived
        // logs changes only).
        if self.linkbeat.seen.insert(name.clone(), up).is_some() {
            info!("Linkbeat reports {name} {}", if up { "up" } else { "down" });
        }
        self.track_link(index, &name, up);
        self.handle(Event::Link {
            index,
            name,
            running: up,
        });
    }

    /// (Re)starts the poller for the configuration's linkbeat interfaces
    /// ([`crate::driver::params::linkbeat_interfaces`]); none, none runs.
    fn configure_linkbeat(&mut self) {
        let names = crate::driver::params::linkbeat_interfaces(&self.config);
        if names == self.linkbeat.names {
            return;
        }
        if let Some(task) = self.linkbeat.task.take() {
            task.abort();
        }
        self.linkbeat.names = names.clone();
        self.linkbeat.seen.clear();
        if names.is_empty() {
            return;
        }
        info!("Using ETHTOOL NIC polling for {}", names.join(", "));
        let tx = self.linkbeat.tx.clone();
        self.linkbeat.task = Some(tokio::spawn(poll_links(names, tx)).abort_handle());
    }

    /// The kernel deleted a route or rule of keepalived's protocol: one we
    /// hold, tracked and still want, was deleted by someone else and is
    /// added again. keepalived puts such a Master to BACKUP (and re-adds
    /// a static one); vrrpd stays Master and puts it back.
    fn route_deleted(&mut self, deleted: &crate::net::netlink::Deleted) {
        for (owner, entry) in self.exec.work.route_deleted(deleted) {
            let who = if owner == crate::driver::routes::STATIC_OWNER {
                "static"
            } else {
                owner.as_str()
            };
            warn!(
                "({who}) '{}' was deleted by someone else; adding it again",
                entry.text()
            );
        }
    }

    /// Starts `lookup` off the driver, or merges it behind the one in
    /// flight for its instance and kind ([`InFlight::ask`]).
    fn start_lookup(&mut self, lookup: Lookup) {
        if self.in_flight.ask(lookup) {
            self.spawn_lookup(lookup);
        } else {
            debug!("{}: merged behind the one in flight", self.describe(lookup));
        }
    }

    /// Runs `lookup` (netlink requests) in a task of its own, within
    /// [`LOOKUP_TIMEOUT`]; its answer comes back through
    /// [`Daemon::lookup_answer`].
    fn spawn_lookup(&mut self, lookup: Lookup) {
        let netlink = self.netlink.clone();
        let asked = match lookup {
            Lookup::Source { instance, ifindex } => self
                .instance_cfg(instance)
                .map(|cfg| find_source(netlink, cfg, instance, ifindex).boxed()),
            Lookup::Rebind { instance, ifindex } => {
                let vmacs = self.vmacs.clone();
                self.instance_cfg(instance)
                    .map(|cfg| rebind(netlink, vmacs, cfg, instance, ifindex).boxed())
            }
            Lookup::Resync => Some(self.resync(netlink).boxed()),
        };
        let Some(asked) = asked else {
            // The instance is gone (a reload): nothing to look up.
            let _ = self.in_flight.answered(lookup.slot(), |_| false);
            return;
        };
        let answer = self.lookups.clone();
        tokio::spawn(async move {
            let events = tokio::time::timeout(LOOKUP_TIMEOUT, asked).await.ok();
            // Never full while lookups are bounded (see LOOKUP_ANSWERS);
            // if it were, this task waits, not the driver.
            let _ = answer.send(LookupAnswer { lookup, events }).await;
        });
    }

    fn instance_cfg(&self, instance: usize) -> Option<Arc<Instance>> {
        self.driver.instances().get(instance).map(|r| r.cfg.clone())
    }

    fn describe(&self, lookup: Lookup) -> String {
        let name = |i: usize| {
            self.driver
                .instances()
                .get(i)
                .map_or_else(|| format!("instance #{i}"), |r| r.name().to_string())
        };
        match lookup {
            Lookup::Source { instance, ifindex } => {
                format!(
                    "({}) source address lookup on index {ifindex}",
                    name(instance)
                )
            }
            Lookup::Rebind { instance, ifindex } => {
                format!("({}) interface lookup for index {ifindex}", name(instance))
            }
            Lookup::Resync => "netlink resync".to_string(),
        }
    }

    /// A lookup answered or timed out: hand the core what it found, tell
    /// it of a re-bind that did not happen, and start the request merged
    /// behind it if the answer did not make it moot.
    fn lookup_answer(&mut self, answer: LookupAnswer) {
        let LookupAnswer { lookup, events } = answer;
        match events {
            Some(events) => {
                for event in events {
                    self.lookup_event(event);
                }
            }
            None => warn!(
                "{}: no netlink answer within {} s, counted as failed",
                self.describe(lookup),
                LOOKUP_TIMEOUT.as_secs()
            ),
        }
        if let Lookup::Rebind { instance, ifindex } = lookup {
            // Still waited for: the lookup found nothing, timed out or the
            // socket did not open. The next link event asks again.
            if self.driver.wants(&lookup) {
                self.handle(Event::RebindFailed { instance, ifindex });
            }
        }
        let driver = &self.driver;
        if let Some(next) = self.in_flight.answered(lookup.slot(), |l| driver.wants(l)) {
            self.spawn_lookup(next);
        }
    }

    /// One event a lookup found; a re-bound interface needs its socket
    /// opened here, on the driver, before the core hears of it.
    fn lookup_event(&mut self, event: Event) {
        // A source found or an interface re-bound changes what the record
        // says of the priority-0 advert.
        self.record_dirty = true;
        match &event {
            Event::Link {
                index,
                name,
                running,
            } => self.track_link(*index, name, *running),
            Event::LinkRemoved { index } => self.track_link_removed(*index),
            _ => {}
        }
        if let Event::Rebound {
            instance,
            socket,
            vmac,
            ..
        } = &event
        {
            let Some(r) = self.driver.instances().get(*instance) else {
                return;
            };
            // The socket is on the VMAC unless adverts leave from the base.
            let ifname = vmac
                .as_ref()
                .filter(|v| v.ifindex == socket.ifindex)
                .map_or_else(|| r.ifname.clone(), |v| v.name.clone());
            let cfg = r.cfg.clone();
            if let Err(e) = self.exec.ensure_socket(socket, &ifname, &cfg) {
                warn!("({}) re-binding to {ifname}: {e}", cfg.name);
                return;
            }
        }
        let rebound = matches!(event, Event::Rebound { .. });
        self.handle(event);
        if rebound {
            self.exec.prune_sockets(&self.driver);
        }
    }

    /// The netlink event socket overran: events were lost. Re-read every
    /// link and address the instances depend on and replay them as events
    /// (the core ignores what did not change).
    fn resync(&self, netlink: Netlink) -> impl std::future::Future<Output = Vec<Event>> {
        warn!("netlink event socket overrun: re-reading links and addresses");
        // (index, name, held addresses with their interface, VMAC) per
        // instance; the index and name are the base's for a VMAC instance.
        type Wanted = (
            u32,
            String,
            Vec<(IpAddr, u32)>,
            Option<crate::driver::vmac::VmacLink>,
        );
        let wanted: Vec<Wanted> = self
            .driver
            .instances()
            .iter()
            .map(|r| {
                let held = if r.router.holds_addresses() {
                    r.addresses.iter().map(|(a, (ix, _))| (*a, *ix)).collect()
                } else {
                    Vec::new()
                };
                (
                    r.source_ifindex(),
                    r.ifname.clone(),
                    held,
                    r.vmac.as_deref().cloned(),
                )
            })
            .collect();
        let tracked: Vec<String> = self.tracked_interfaces();
        async move {
            let mut answer = Vec::new();
            for (index, name, held, vmac) in wanted {
                if let Some(v) = vmac {
                    match netlink.link(&v.name).await {
                        Ok(link) if link.index == v.ifindex => answer.push(Event::Link {
                            index: link.index,
                            name: link.name,
                            running: link.running,
                        }),
                        _ => answer.push(Event::LinkRemoved { index: v.ifindex }),
                    }
                }
                match netlink.link(&name).await {
                    Ok(link) => {
                        if link.index != index {
                            answer.push(Event::LinkRemoved { index });
                        }
                        answer.push(Event::Link {
                            index: link.index,
                            name: link.name,
                            running: link.running,
                        });
                        answer.push(Event::AddressAdded { index: link.index });
                    }
                    Err(_) => answer.push(Event::LinkRemoved { index }),
                }
                let mut present: HashMap<u32, Vec<IpAddr>> = HashMap::new();
                for (addr, ix) in held {
                    if let std::collections::hash_map::Entry::Vacant(e) = present.entry(ix) {
                        let list = netlink.addresses(ix).await.unwrap_or_default();
                        e.insert(list.into_iter().map(|(a, _)| a).collect());
                    }
                    if !present.get(&ix).is_some_and(|l| l.contains(&addr)) {
                        answer.push(Event::AddressRemoved { index: ix, addr });
                    }
                }
            }
            for name in tracked {
                if let Ok(link) = netlink.link(&name).await {
                    answer.push(Event::Link {
                        index: link.index,
                        name: link.name,
                        running: link.running,
                    });
                }
            }
            answer
        }
    }

    /// What `vrrpd status` shows (see `control::render_status`).
    fn status(&self, started: std::time::Instant) -> serde_json::Value {
        let vips = self.exec.work.addresses();
        let routes = self.exec.work.route_entries();
        let wall = self.exec.clock.wall();
        let status = view::StatusView {
            schema: view::SCHEMA,
            version: env!("CARGO_PKG_VERSION"),
            uptime_s: started.elapsed().as_secs(),
            unknown_vrid_adverts: self.driver.unknown_vrid(),
            socket_drops: self.driver.socket_drops().clone(),
            instances: self
                .driver
                .instances()
                .iter()
                .map(|r| {
                    let mut v = view::instance(r, self.tracker_status(r.name()), &vips, wall);
                    v.routes = view::RouteView::of(r.name(), &routes);
                    v
                })
                .collect(),
            static_routes: view::RouteView::of(crate::driver::routes::STATIC_OWNER, &routes),
        };
        let mut value = serde_json::to_value(status)
            .unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() }));
        // Accept mode's drop set, when an instance uses it.
        let uses_firewall = self
            .driver
            .instances()
            .iter()
            .any(|r| crate::driver::drops_traffic(&r.cfg));
        if let (true, Some(map)) = (uses_firewall, value.as_object_mut()) {
            map.insert("firewall".into(), self.firewall.status());
        }
        // What the cloud says, per instance with a cloud backend.
        if self.cloud.any() {
            if let Some(list) = value["instances"].as_array_mut() {
                for inst in list {
                    let name = inst["name"].as_str().unwrap_or_default().to_string();
                    if let (Some(c), Some(map)) = (self.cloud.status(&name), inst.as_object_mut()) {
                        map.insert("cloud".into(), c);
                    }
                }
            }
        }
        value
    }

    /// The runtime record of what is held now.
    fn build_record(&self) -> crate::driver::record::Record {
        crate::driver::record::Record::build(
            std::process::id(),
            self.driver.instances(),
            self.exec.work.held(),
        )
        .with_routes(self.exec.work.held_routes())
        .with_vmac_bases(self.vmacs.saved_bases())
    }

    fn offer_record(&mut self) {
        self.record_dirty = false;
        let current = self.build_record();
        self.record.offer(current);
    }

    /// Deletes the VMAC of an instance a reload removed, once its address
    /// removals are done, unless a running instance uses that name now.
    fn remove_vmac(&self, gone: &Running) {
        let Some(vmac) = gone.vmac.clone() else {
            return;
        };
        let used = self
            .driver
            .instances()
            .iter()
            .any(|r| r.vmac.as_ref().is_some_and(|v| v.name == vmac.name));
        if used {
            return;
        }
        // The base's sysctls go back with its last VMAC.
        let base = gone.ifname.clone();
        let last_on_base = !self.vmac_on_base(&base);
        let done = self.exec.work.barrier();
        let vmacs = self.vmacs.clone();
        let name = gone.cfg.name.clone();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(Duration::from_millis(800), done).await;
            match vmacs.delete(&vmac.name, vmac.mac).await {
                Ok(true) => info!("({name}) VMAC interface {} removed", vmac.name),
                Ok(false) => {}
                Err(e) => warn!("({name}) {e}"),
            }
            if last_on_base {
                vmacs.restore_base(&base).await;
            }
        });
    }

    /// Whether a running instance has a VMAC (its own or an address's)
    /// on interface `base`.
    fn vmac_on_base(&self, base: &str) -> bool {
        let instances = self.driver.instances();
        instances
            .iter()
            .any(|r| r.vmac.is_some() && r.ifname == base)
            || crate::driver::vmac::address_specs(instances.iter().map(|r| &*r.cfg))
                .iter()
                .any(|s| s.base == base)
    }

    /// Deletes the address VMACs (`use_vmac` on an address, `use_vmac_addr`)
    /// of instances `before` that no running instance uses (a reload's old
    /// configuration, instances that could not start), once the address
    /// work queued so far is done; a base keeps vrrpd's sysctls while a
    /// VMAC is left on it.
    fn remove_address_vmacs<'a>(&self, before: impl IntoIterator<Item = &'a Instance>) {
        use crate::driver::vmac::{address_specs, address_vmacs_gone};
        let old = address_specs(before);
        let new = address_specs(self.driver.instances().iter().map(|r| &*r.cfg));
        let gone = address_vmacs_gone(&old, &new);
        if gone.is_empty() {
            return;
        }
        let last: Vec<bool> = gone.iter().map(|s| !self.vmac_on_base(&s.base)).collect();
        let done = self.exec.work.barrier();
        let vmacs = self.vmacs.clone();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(Duration::from_millis(800), done).await;
            for (spec, last_on_base) in gone.iter().zip(last) {
                match vmacs.delete(&spec.name, spec.mac).await {
                    Ok(true) => info!("VMAC interface {} removed", spec.name),
                    Ok(false) => {}
                    Err(e) => warn!("VMAC interface {}: {e}", spec.name),
                }
                if last_on_base {
                    vmacs.restore_base(&spec.base).await;
                }
            }
        });
    }

    /// Deletes every running instance's VMAC and its addresses' VMACs (a
    /// clean stop, after their addresses went) and puts the base
    /// interfaces' sysctls back.
    async fn remove_vmacs(&self) {
        let instances = self.driver.instances();
        let mut vmacs: Vec<(String, crate::driver::vmac::Mac)> = instances
            .iter()
            .filter_map(|r| r.vmac.as_ref().map(|v| (v.name.clone(), v.mac)))
            .collect();
        let extra = crate::driver::vmac::address_specs(instances.iter().map(|r| &*r.cfg));
        vmacs.extend(extra.into_iter().map(|s| (s.name, s.mac)));
        // An address of one instance may use another's VMAC.
        vmacs.sort();
        vmacs.dedup();
        for (name, mac) in vmacs {
            match self.vmacs.delete(&name, mac).await {
                Ok(true) => info!("VMAC interface {name} removed"),
                Ok(false) => {}
                Err(e) => warn!("{e}"),
            }
        }
        self.vmacs.restore_bases().await;
    }

    async fn shutdown(&mut self, record_done: &mut record::Done) {
        // A stopping node claims nothing more; the cloud keeps pointing
        // here until the next Master claims (nothing to release).
        self.cloud.abandon();
        self.handle(Event::Shutdown);
        for r in self.driver.instances() {
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
        if self.driver.unknown_vrid() > 0 {
            info!("adverts for unknown VRIDs: {}", self.driver.unknown_vrid());
        }
        self.exec
            .events
            .publish(serde_json::json!({ "event": "stopping" }));
        // Wait for the address removals to complete before exiting.
        let done = self.exec.work.barrier();
        let _ = tokio::time::timeout(Duration::from_millis(800), done).await;
        // keepalived's firewall_fini: the tables go at stop.
        self.firewall.stop(Duration::from_millis(1000)).await;
        // keepalived deletes the VMACs it created at stop, after its
        // addresses (netlink_link_del_vmac from shutdown_vrrp_instances).
        self.remove_vmacs().await;
        // Released: no record left for resign (unless something is still held).
        let last = self.build_record();
        self.record
            .close(record_done, last, Duration::from_secs(1))
            .await;
        // keepalived (shutdown_vrrp_instances) puts promote_secondaries back
        // off on the interfaces where it turned it on.
        let promoted = std::mem::take(&mut self.promoted);
        if !promoted.is_empty() {
            let reset = tokio::task::spawn_blocking(move || {
                let sysctl = crate::net::sysctl::Sysctl::default();
                promoted
                    .into_iter()
                    .map(|i| {
                        let r = sysctl.reset_promote_secondaries(&i);
                        (i, r)
                    })
                    .collect::<Vec<_>>()
            })
            .await
            .unwrap_or_default();
            for (ifname, result) in reset {
                match result {
                    Ok(()) => info!("{ifname}: promote_secondaries reset"),
                    Err(e) => warn!("{ifname}: promote_secondaries not reset: {e}"),
                }
            }
        }
        if self.igmp_disabled {
            match crate::net::sysctl::Sysctl::default().reset_local_igmp() {
                Ok(()) => info!("igmp_link_local_mcast_reports reset"),
                Err(e) => warn!("igmp_link_local_mcast_reports not reset: {e}"),
            }
        }
        // STOP notifications are always delivered (bounded wait).
        self.exec.notifier.finish(Duration::from_secs(15)).await;
    }
}

impl Executor {
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
                group: crate::driver::params::multicast_group(cfg),
            },
        };
        let spec = SocketSpec {
            ifname: ifname.to_string(),
            ifindex: key.ifindex,
            family: key.family,
            mode,
        };
        let sock = std::sync::Arc::new(VrrpSocket::open(&spec)?);
        self.add_socket(key.clone(), sock);
        Ok(())
    }

    /// Starts reading `sock` and keeps it under `key`.
    fn add_socket(&mut self, key: SocketKey, sock: std::sync::Arc<VrrpSocket>) {
        let reader = self.spawn_reader(&key, sock.clone());
        self.sockets.insert(key, (sock, reader));
    }

    /// Stops reading every socket: datagrams queue in the kernel (for an
    /// upgrade's successor, which reads the same sockets).
    fn pause_readers(&mut self) {
        for (_, reader) in self.sockets.values() {
            reader.abort();
        }
    }

    /// Reads every socket again after [`Executor::pause_readers`].
    fn resume_readers(&mut self) {
        let socks: Vec<(SocketKey, std::sync::Arc<VrrpSocket>)> = self
            .sockets
            .iter()
            .map(|(k, (s, _))| (k.clone(), s.clone()))
            .collect();
        for (key, sock) in socks {
            self.add_socket(key, sock);
        }
    }

    fn spawn_reader(
        &self,
        key: &SocketKey,
        reader: std::sync::Arc<VrrpSocket>,
    ) -> tokio::task::AbortHandle {
        let tx = self.packets_tx.clone();
        let reader_key = key.clone();
        let task = tokio::spawn(async move {
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
        task.abort_handle()
    }

    /// Closes the sockets no instance uses any more (a reload removed
    /// their instances, an interface was re-created under a new index).
    /// Sizes each socket's receive buffer for the instances on it
    /// (keepalived's per-sockpool sum of `kernel_rx_buf_size` /
    /// `vrrp_rx_bufs_policy`), else vrrpd's default; after every change
    /// of the instance list, as keepalived sizes its sockets on a reload.
    fn size_recv_buffers(&self, driver: &Driver, global: &crate::config::Global) {
        for (key, (sock, _)) in &self.sockets {
            let ifname = &sock.spec().ifname;
            let on = driver
                .instances()
                .iter()
                .filter(|r| &r.socket_key == key)
                .map(|r| &*r.cfg);
            let want = crate::driver::params::recv_buffer(on, global, |_| interface_mtu(ifname));
            let bytes = want.unwrap_or(crate::net::socket::RECV_BUFFER);
            match sock.set_recv_buffer(bytes) {
                Ok(()) if want.is_some() => {
                    debug!("VRRP socket on {ifname}: receive buffer {bytes} bytes, as configured")
                }
                Ok(()) => {}
                Err(e) => warn!("{e}"),
            }
        }
    }

    fn prune_sockets(&mut self, driver: &Driver) {
        let used: std::collections::HashSet<&SocketKey> = driver.socket_keys().collect();
        self.sockets.retain(|key, (_, reader)| {
            let keep = used.contains(key);
            if !keep {
                reader.abort();
            }
            keep
        });
    }

    /// Executes instance `index`'s actions (`None` for one a reload removed:
    /// the core no longer hears about it).
    fn execute(&mut self, r: &mut Running, index: Option<usize>, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::Transition { from, to, reason } => {
                    self.metrics.transition(r.name(), from, to);
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
                Action::SendAdvert(repr) => self.send_advert(r, index, &repr),
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
                            .allow("announce_lower_priority", self.clock.now())
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
                    let mut by_interface: HashMap<u32, Vec<IpAddr>> = HashMap::new();
                    for addr in addresses {
                        let index = r.addresses.get(&addr).map_or(r.ifindex, |(ix, _)| *ix);
                        by_interface.entry(index).or_default().push(addr);
                    }
                    for (ifindex, addrs) in by_interface {
                        if note.is_some() {
                            let ifname = r
                                .vmac
                                .as_ref()
                                .filter(|v| v.ifindex == ifindex)
                                .map_or(r.ifname.as_str(), |v| v.name.as_str());
                            for addr in &addrs {
                                // An address with a VMAC of its own or
                                // `dev` is on that interface.
                                let ifname = r
                                    .cfg
                                    .vips
                                    .iter()
                                    .chain(&r.cfg.excluded_vips)
                                    .find(|v| v.addr == *addr)
                                    .and_then(|v| v.vmac.as_deref().or(v.dev.as_deref()))
                                    .unwrap_or(ifname);
                                info!(
                                    target: messages::DETAIL,
                                    "({}) Sending/queueing gratuitous ARPs on {ifname} for {addr}",
                                    r.name()
                                );
                            }
                        }
                        self.work.announce(r.name(), ifindex, &addrs, repeat);
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
                        Some(kind) => match r.log_limit.allow(kind, self.clock.now()) {
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
        // After every input (every advert a Backup receives): the view is
        // built without allocating, and only when metrics are on.
        if self.metrics.enabled() {
            self.metrics.publish(&view::Counters::of(r));
        }
    }

    fn address_work(&self, r: &Running, addrs: &[IpAddr], add: bool) {
        for addr in addrs {
            let (ifindex, spec) = r
                .addresses
                .get(addr)
                .cloned()
                .unwrap_or_else(|| (r.ifindex, AddressSpec::host(*addr)));
            if add {
                self.work.add(r.name(), ifindex, spec);
            } else {
                self.work.remove(r.name(), ifindex, spec);
            }
        }
    }

    /// Sends an advert of instance `index`. While the core watches its
    /// sends ([`Running::send_failing`]) it is sent at once, not batched,
    /// and the result is reported back.
    fn send_advert(&mut self, r: &mut Running, index: Option<usize>, repr: &AdvertRepr) {
        let Some((sock, _)) = self.sockets.get(&r.socket_key) else {
            return;
        };
        let src = r.router.params().source;
        if repr.priority.is_resign() {
            info!(target: messages::DETAIL, "({}) sent 0 priority", r.name());
        }
        let watched = r.send_failing();
        let delivery = if watched {
            instance::Delivery::Now
        } else {
            self.delivery
        };
        let mut failed = false;
        let cfg = Arc::clone(&r.cfg);
        let mode = r.checksum_mode();
        // Out of `r` while the result closure below borrows it.
        let mut auth = r.auth.take();
        let signer = auth
            .as_deref_mut()
            .filter(|a| a.signs())
            .map(|a| (a, utc_seq()));
        instance::send_advert(
            sock,
            &cfg,
            mode,
            src,
            repr,
            delivery,
            signer,
            |dst, sent| match sent {
                Ok(()) => {}
                Err(e @ instance::SendError::Build(_)) => error!("({}) {e}", r.name()),
                Err(e) => {
                    failed = true;
                    send_failed(r, self.clock.now(), dst, &e);
                }
            },
        );
        r.auth = auth;
        let Some(instance) = index else {
            return;
        };
        if failed {
            self.send_reports.push(Event::SendFailed { instance });
        } else if watched {
            self.send_reports.push(Event::SendOk { instance });
        }
    }
}

/// An advert that did not leave, sent at once or from a batch: counted and
/// logged for its instance (rate limited: a firewall dropping every advert
/// must not flood the journal).
/// The linkbeat poller's state in the daemon.
struct Linkbeat {
    tx: mpsc::Sender<(String, bool)>,
    names: Vec<String>,
    /// The last reading of each polled interface.
    seen: HashMap<String, bool>,
    task: Option<tokio::task::AbortHandle>,
}

/// Polls `names` every [`crate::net::linkbeat::PERIOD`] and reports each
/// change (and each first reading); a missing interface reads down.
async fn poll_links(names: Vec<String>, tx: mpsc::Sender<(String, bool)>) {
    let prober = match crate::net::linkbeat::Prober::new() {
        Ok(p) => p,
        Err(e) => {
            warn!(
                "linkbeat: cannot open a socket to poll with: {e}; netlink is not used for {}",
                names.join(", ")
            );
            return;
        }
    };
    let mut last: HashMap<String, bool> = HashMap::new();
    let mut tick = tokio::time::interval(crate::net::linkbeat::PERIOD);
    loop {
        tick.tick().await;
        for name in &names {
            let up = prober.link_up(name).unwrap_or(false);
            if last.insert(name.clone(), up) != Some(up)
                && tx.send((name.clone(), up)).await.is_err()
            {
                return;
            }
        }
    }
}

/// An interface's MTU from sysfs (of the daemon's network namespace),
/// 1500 if it cannot be read: only `vrrp_rx_bufs_policy MTU` needs it.
fn interface_mtu(ifname: &str) -> u32 {
    std::fs::read_to_string(format!("/sys/class/net/{ifname}/mtu"))
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(1500)
}

impl Daemon {
    /// Puts `config` in place and returns the one it replaces; what the
    /// loop derives from it follows.
    fn replace_config(&mut self, config: Config) -> Config {
        self.tracks_routes = config_tracks_routes(&config);
        std::mem::replace(&mut self.config, config)
    }
}

fn send_failed(r: &mut Running, now: Instant, dst: IpAddr, error: &dyn std::fmt::Display) {
    r.drops.bump("send_error");
    if let Some(n) = r.log_limit.allow("send_error", now) {
        let note = ratelimit::suppressed_note(n);
        warn!("({}) sending advert to {dst}: {error}{note}", r.name());
    }
}

/// How long a lookup off the driver may take: a hung netlink answer
/// counts as a failed lookup after this, so it cannot hold its instance's
/// slot ([`InFlight`]) for ever.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// Room for lookup answers. At most one lookup per instance and kind is in
/// flight and each answers once, so this only has to be larger than the
/// common case; a full queue makes the lookup task wait, never the driver.
const LOOKUP_ANSWERS: usize = 64;

/// What a lookup found; `None` when it timed out.
struct LookupAnswer {
    lookup: Lookup,
    events: Option<Vec<Event>>,
}

/// A source address for an instance waiting for one: [`Event::SourceFound`]
/// or nothing, if there is none yet.
async fn find_source(
    netlink: Netlink,
    cfg: Arc<Instance>,
    instance: usize,
    ifindex: u32,
) -> Vec<Event> {
    let Ok(present) = netlink.addresses(ifindex).await else {
        return Vec::new();
    };
    instance_params::source_address(&cfg, &present)
        .map(|source| Event::SourceFound { instance, source })
        .into_iter()
        .collect()
}

/// The instance's interface came back under a new index: it and its
/// addresses, as [`Event::Rebound`] ([`Daemon::lookup_event`] opens the
/// socket), or nothing.
async fn rebind(
    netlink: Netlink,
    vmacs: crate::net::vmac::Vmacs,
    cfg: Arc<Instance>,
    instance: usize,
    ifindex: u32,
) -> Vec<Event> {
    let Ok(link) = netlink.link_by_index(ifindex).await else {
        return Vec::new();
    };
    let Ok(present) = netlink.addresses(ifindex).await else {
        return Vec::new();
    };
    let source = instance_params::source_address(&cfg, &present);
    // The VMAC follows its base: created again on it (the kernel deleted
    // it with the old one).
    let vmac = match crate::driver::vmac::spec(&cfg) {
        Some(spec) => {
            let mode = crate::net::vmac::EnsureMode::Ensure;
            match vmacs.ensure(&spec, ifindex, mode, source).await {
                Ok(up) => Some(up),
                Err(e) => {
                    warn!("({}) VMAC {} on {}: {e}", cfg.name, spec.name, link.name);
                    return Vec::new();
                }
            }
        }
        None => None,
    };
    let (sock_index, running) = match &vmac {
        Some(v) if crate::driver::vmac::sends_through_vmac(&cfg) => (v.link.ifindex, v.running),
        _ => (ifindex, link.running),
    };
    vec![Event::Rebound {
        instance,
        ifindex,
        socket: socket_key(&cfg, sock_index, source),
        running,
        source,
        vmac: vmac.map(|v| v.link),
    }]
}

/// A line the core decided on.
fn log_line(level: Level, instance: Option<&str>, text: &str) {
    match (level, instance) {
        (Level::Debug, _) => debug!("{text}"),
        (Level::Detail, _) => info!(target: messages::DETAIL, "{text}"),
        (Level::Info, Some(name)) => info!(vrrp_instance = %name, "{text}"),
        (Level::Info, None) => info!("{text}"),
        (Level::Warn, Some(name)) => warn!(vrrp_instance = %name, "{text}"),
        (Level::Warn, None) => warn!("{text}"),
        (Level::Error, Some(name)) => error!(vrrp_instance = %name, "{text}"),
        (Level::Error, None) => error!("{text}"),
    }
}

/// The socket an instance uses on interface `ifindex` from `source`.
fn socket_key(cfg: &Instance, ifindex: u32, source: Option<IpAddr>) -> SocketKey {
    SocketKey {
        ifindex,
        family: cfg.family,
        unicast_source: if cfg.is_unicast() { source } else { None },
    }
}

fn unspecified(family: Family) -> IpAddr {
    match family {
        Family::Ipv4 => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        Family::Ipv6 => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
    }
}
