//! In-place upgrade (`vrrpd upgrade`): the running daemon starts the binary
//! now on disk and hands it its state and descriptors; the new process
//! carries on advertising on schedule. No priority-0 advert, no address
//! removed or re-added, no announcement, no transition on the peers.
//!
//! The hand-over, over a socket pair whose one end the child inherits
//! (`--takeover FD`), one JSON line per message:
//!
//! 1. the old daemon says `RELOADING=1` to systemd and spawns the child
//!    with the raw VRRP sockets, the control socket and its end of the pair
//!    inherited (close-on-exec cleared in the child only, so no script the
//!    old daemon runs meanwhile inherits them), detached (forked once more,
//!    so the service manager is its parent) and without `WATCHDOG_PID`; it
//!    keeps serving;
//! 2. the child loads the configuration and does every slow lookup, then
//!    says `loaded`;
//! 3. the old daemon freezes (no timer, no datagram read: they queue in the
//!    kernel for the child), takes the record ([`crate::driver::upgrade`])
//!    and sends it;
//! 4. the child adopts the descriptors, restores the core and says `ready`
//!    (or `refused`, with why, touching nothing);
//! 5. on `ready` the old daemon tells systemd `MAINPID=<child>`, `READY=1`
//!    and `WATCHDOG=1` (the unit follows the child; with
//!    `NotifyAccess=main` only the main process may move it) and exits 0
//!    without resigning, without removing addresses and without stop
//!    notifications. If the child refuses, exits, or is not ready within
//!    [`READY_TIMEOUT`] of the request, the old daemon kills it, thaws and
//!    serves on, and the client hears why.
//!
//! The freeze (step 3 to 4) is short: the child did everything slow
//! before `loaded`. It is bounded by the same deadline.

use std::collections::HashMap;
use std::ffi::OsString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot};
use tracing::{error, info, warn};

use super::reload::Prepared;
use super::{Daemon, DaemonError, Options};
use crate::driver::upgrade::{self as record, Record, RestoreError, SocketRecord, TrackerRecord};
use crate::driver::{Driver, Running, SocketKey};
use crate::net::socket::{Mode, SocketSpec, VrrpSocket};
use crate::output::control::{self, ControlRequest, ErrorCode, Reply};
use crate::proto::Instant;

/// How long the new process has, from the request, to say it is ready.
pub const READY_TIMEOUT: Duration = Duration::from_secs(1);
/// Longest message line accepted from the child.
const MAX_LINE: usize = 4096;
/// Replaces the binary the daemon re-executes (tests; a packaging layout
/// that installs the new binary elsewhere).
pub const EXE_ENV: &str = "VRRPD_UPGRADE_EXE";
/// The process systemd's watchdog applies to (sd_watchdog_enabled(3)).
const WATCHDOG_PID: &str = "WATCHDOG_PID";

/// Whether this process serves (holds the VIPs it runs for): false in a
/// successor before it is ready and in a predecessor after the hand-over.
/// The panic hook resigns only while it is true: a successor that panics
/// during the hand-over must not release what the old daemon still holds.
static SERVING: AtomicBool = AtomicBool::new(false);

/// See [`SERVING`].
pub fn serving() -> bool {
    SERVING.load(Ordering::SeqCst)
}

pub(super) fn set_serving(on: bool) {
    SERVING.store(on, Ordering::SeqCst);
}

/// Why a hand-over did not happen.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpgradeError {
    #[error("an upgrade is already in progress")]
    InProgress,
    #[error("cannot find the binary to start: {0}")]
    Exe(std::io::Error),
    #[error("cannot start {exe}: {source}")]
    Spawn {
        exe: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the hand-over channel (descriptor {fd}) is not usable: {source}")]
    Channel {
        fd: RawFd,
        #[source]
        source: std::io::Error,
    },
    #[error("no state record from the old daemon: {0}")]
    NoRecord(String),
    #[error(transparent)]
    Refused(#[from] RestoreError),
    #[error("descriptor {fd} from the old daemon: {why}")]
    Descriptor { fd: RawFd, why: String },
    #[error("({instance}) interface {ifname}: {why}")]
    Interface {
        instance: String,
        ifname: String,
        why: String,
    },
    #[error("({instance}) the old daemon passed no socket for it")]
    NoSocket { instance: String },
    #[error("({instance}) adopting its socket: {source}")]
    Socket {
        instance: String,
        #[source]
        source: crate::net::socket::SocketError,
    },
}

/// The messages of the child, one JSON line each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "lowercase")]
pub enum ChildSays {
    /// Configuration loaded, lookups done: send the record.
    Loaded,
    /// Took over; the old process may go.
    Ready { pid: u32, version: String },
    /// Will not take over; nothing was touched.
    Refused { error: String },
}

/// What the hand-over task tells the driver.
pub(super) enum HandoverEvent {
    /// The child runs (pid).
    Started {
        pid: u32,
    },
    /// The child is loaded: freeze, and send the record on `record`.
    Loaded {
        record: oneshot::Sender<String>,
    },
    Ready {
        pid: u32,
        version: String,
    },
    Failed {
        why: String,
    },
}

/// An upgrade in progress in the old daemon.
pub(super) struct Handover {
    client: oneshot::Sender<Reply>,
    started: std::time::Instant,
    child: Option<u32>,
    /// Timers and sockets are left alone while set (steps 3-4).
    pub(super) frozen: bool,
}

/// The binary to start: [`EXE_ENV`] if set, else the path this process was
/// started from, resolved now (a package upgrade renamed a new file over
/// it, so `/proc/self/exe` reads "PATH (deleted)").
fn exe() -> Result<PathBuf, std::io::Error> {
    if let Some(p) = std::env::var_os(EXE_ENV).filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let link = std::fs::read_link("/proc/self/exe")?;
    let text = link.to_string_lossy();
    Ok(match text.strip_suffix(" (deleted)") {
        Some(path) => PathBuf::from(path),
        None => link,
    })
}

/// This process's arguments without a `--takeover FD` of its own.
fn child_args() -> Vec<OsString> {
    let mut out = Vec::new();
    let mut args = std::env::args_os().skip(1);
    while let Some(a) = args.next() {
        if a == "--takeover" {
            args.next();
            continue;
        }
        if a.to_string_lossy().starts_with("--takeover=") {
            continue;
        }
        out.push(a);
    }
    out
}

/// CLOCK_MONOTONIC in microseconds: the clock tokio's instants are on,
/// shared by both processes.
fn monotonic_us() -> u64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).map_or(0, |t| {
        let us = i128::from(t.tv_sec()) * 1_000_000 + i128::from(t.tv_nsec()) / 1000;
        u64::try_from(us).unwrap_or(0)
    })
}

fn reply_error(why: &str) -> Reply {
    Reply::Value(json!({
        "ok": false,
        "code": ErrorCode::Upgrade.as_str(),
        "error": format!("{why}; the running daemon carries on"),
    }))
}

impl Daemon {
    /// `vrrpd upgrade`: starts the hand-over (step 1), answered on `client`
    /// when it ends.
    pub(super) fn start_upgrade(&mut self, client: oneshot::Sender<Reply>) {
        if self.handover.is_some() {
            let _ = client.send(reply_error(&UpgradeError::InProgress.to_string()));
            return;
        }
        info!("Upgrade requested: handing over to the binary on disk");
        if let Ok(now) = sd_notify::NotifyState::monotonic_usec_now() {
            let _ = sd_notify::notify(&[sd_notify::NotifyState::Reloading, now]);
        }
        self.handover = Some(Handover {
            client,
            started: std::time::Instant::now(),
            child: None,
            frozen: false,
        });
        if let Err(e) = self.spawn_successor() {
            self.upgrade_failed(&e.to_string());
        }
    }

    /// Starts the successor and the task that talks to it. The fork and
    /// exec run on a blocking thread: `spawn` waits for the exec, which
    /// took 5 ms on a loaded host, and the driver's thread sends adverts.
    ///
    /// The successor is not our child: the child forks it and exits at
    /// once, so it is reparented to the service manager (the nearest
    /// subreaper) before it runs. systemd (252) takes a `MAINPID=` that is
    /// not its own child for an "alien": on `systemctl stop` it does not
    /// wait for it after SIGTERM but sends SIGKILL straight away (no
    /// priority 0, no clean stop; the unit fails with result 'signal').
    /// Its pid comes back from the child on a pipe.
    fn spawn_successor(&mut self) -> Result<(), UpgradeError> {
        let exe = exe().map_err(UpgradeError::Exe)?;
        let exe_name = exe.display().to_string();
        let spawn_error = move |source| UpgradeError::Spawn {
            exe: exe_name.clone(),
            source,
        };
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().map_err(&spawn_error)?;
        let (pid_r, pid_w) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| spawn_error(e.into()))?;
        let fd = ours.as_raw_fd();
        let stream = ours
            .set_nonblocking(true)
            .and_then(|()| tokio::net::UnixStream::from_std(ours))
            .map_err(|source| UpgradeError::Channel { fd, source })?;
        let mut inherit: Vec<RawFd> = vec![theirs.as_raw_fd()];
        inherit.extend(self.exec.sockets.values().map(|(s, _)| s.as_raw_fd()));
        inherit.extend(self.control.as_ref().map(|c| c.fd));
        let mut cmd = tokio::process::Command::new(&exe);
        cmd.args(child_args())
            .arg("--takeover")
            .arg(theirs.as_raw_fd().to_string());
        // The successor becomes the unit's main process, so the watchdog
        // is its to kick: WATCHDOG_PID names this process, and a process
        // whose pid differs must ignore WATCHDOG_USEC (sd_watchdog_enabled
        // (3)); it would never kick, and systemd would kill it WatchdogSec
        // after the hand-over.
        cmd.env_remove(WATCHDOG_PID);
        let pid_fd = pid_w.as_raw_fd();
        // SAFETY: runs in the child between fork and exec, single-threaded;
        // fcntl, fork, write and _exit are async-signal-safe, and `inherit`
        // was allocated before the fork.
        unsafe {
            cmd.pre_exec(move || {
                for &fd in &inherit {
                    if libc::fcntl(fd, libc::F_SETFD, 0) == -1 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                match libc::fork() {
                    -1 => Err(std::io::Error::last_os_error()),
                    // The successor: on to exec.
                    0 => Ok(()),
                    pid => {
                        let bytes = pid.to_ne_bytes();
                        let _ = libc::write(pid_fd, bytes.as_ptr().cast(), bytes.len());
                        libc::_exit(0)
                    }
                }
            });
        }
        let tx = self.handover_tx.clone();
        let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
        tokio::spawn(async move {
            let spawned = tokio::task::spawn_blocking(move || {
                let child = cmd.spawn()?;
                // Our copies of the child's ends: it has its own now.
                drop(theirs);
                drop(pid_w);
                let mut bytes = [0u8; 4];
                std::io::Read::read_exact(&mut std::fs::File::from(pid_r), &mut bytes)
                    .map_err(|e| std::io::Error::new(e.kind(), format!("no pid from it: {e}")))?;
                Ok::<_, std::io::Error>((child, i32::from_ne_bytes(bytes)))
            })
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))
            .and_then(|r| r);
            let pid = match spawned {
                Ok((mut child, pid)) => {
                    // The go-between: it has exited, or is about to.
                    let _ = tokio::time::timeout(Duration::from_secs(1), child.wait()).await;
                    nix::unistd::Pid::from_raw(pid)
                }
                Err(source) => {
                    let _ = tx
                        .send(HandoverEvent::Failed {
                            why: spawn_error(source).to_string(),
                        })
                        .await;
                    return;
                }
            };
            let _ = tx
                .send(HandoverEvent::Started {
                    pid: pid.as_raw().unsigned_abs(),
                })
                .await;
            converse(stream, pid, deadline, tx).await;
        });
        Ok(())
    }

    /// A step of the hand-over from its task. Returns true when the child
    /// took over: the driver's loop ends without the stop sequence.
    pub(super) fn handover_event(&mut self, event: HandoverEvent, opts: &Options) -> bool {
        match event {
            HandoverEvent::Started { pid } => {
                info!("Started pid {pid} to take over");
                if let Some(h) = self.handover.as_mut() {
                    h.child = Some(pid);
                }
                false
            }
            HandoverEvent::Loaded { record } => {
                let Some(h) = self.handover.as_mut() else {
                    return false;
                };
                h.frozen = true;
                self.exec.pause_readers();
                match serde_json::to_string(&self.upgrade_record()) {
                    Ok(text) => {
                        let _ = record.send(text);
                    }
                    Err(e) => error!("cannot write the state record: {e}"),
                }
                false
            }
            HandoverEvent::Ready { pid, version } => {
                let Some(h) = self.handover.take() else {
                    return false;
                };
                set_serving(false);
                let took = h.started.elapsed();
                info!(
                    "Handed over to pid {pid} (vrrpd {version}) in {:.1} ms; exiting without resigning",
                    took.as_secs_f64() * 1000.0
                );
                // The unit follows the new process (NotifyAccess=main: only
                // we, the main process, may say so). WATCHDOG=1 restarts the
                // watchdog period at the hand-over: the child's first kick
                // comes a quarter period after its loop starts.
                let _ = sd_notify::notify(&[
                    sd_notify::NotifyState::MainPid(pid),
                    sd_notify::NotifyState::Ready,
                    sd_notify::NotifyState::Watchdog,
                ]);
                if let Some(c) = &self.control {
                    c.stop();
                }
                // Free the metrics port for the successor.
                self.exec.metrics.configure(None);
                let _ = h.client.send(Reply::Value(json!({
                    "pid": pid,
                    "version": version,
                    "old_pid": std::process::id(),
                    "old_version": env!("CARGO_PKG_VERSION"),
                    "took_ms": took.as_secs_f64() * 1000.0,
                })));
                true
            }
            HandoverEvent::Failed { why } => {
                self.upgrade_failed(&why);
                if let Some(path) = &opts.pid_file {
                    // The child may have written its pid already.
                    if let Err(e) = std::fs::write(path, format!("{}\n", std::process::id())) {
                        warn!("rewriting pid file {}: {e}", path.display());
                    }
                }
                false
            }
        }
    }

    /// A successor's metrics endpoint, once the old process let go of the
    /// port: tried after `ready` at growing intervals. Returns when to try
    /// again, if it did not start.
    pub(super) fn retry_metrics(&mut self, attempt: u32) -> Option<Duration> {
        let listen = self.config.global.metrics_listen?;
        self.exec.metrics.configure(Some(listen));
        if self.exec.metrics.enabled() {
            self.exec.metrics.set_instances(
                self.driver
                    .instances()
                    .iter()
                    .map(super::view::Counters::of),
            );
            self.exec
                .metrics
                .set_trackers(self.tracking.used_keys().iter());
            return None;
        }
        (attempt < 5).then(|| Duration::from_millis(50 << attempt))
    }

    /// Ends a hand-over that did not happen: thaw, serve on, say why.
    fn upgrade_failed(&mut self, why: &str) {
        let Some(h) = self.handover.take() else {
            return;
        };
        if h.frozen {
            self.exec.resume_readers();
        }
        let who = h.child.map(|p| format!(" (pid {p})")).unwrap_or_default();
        error!("Upgrade failed{who}, this daemon carries on: {why}");
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
        let _ = h.client.send(reply_error(why));
    }

    /// The state record at this instant (step 3).
    fn upgrade_record(&self) -> Record {
        let now = self.clock.now();
        let control_fd = self.control.as_ref().map(|c| c.fd);
        Record {
            version: record::RECORD_VERSION,
            vrrpd_version: env!("CARGO_PKG_VERSION").to_string(),
            pid: std::process::id(),
            clock_us: now.as_micros(),
            taken_monotonic_us: monotonic_us(),
            driver: self.driver.record(now),
            sockets: self
                .exec
                .sockets
                .iter()
                .map(|(key, (s, _))| SocketRecord {
                    key: key.clone(),
                    fd: s.as_raw_fd(),
                })
                .collect(),
            control_fd,
            addresses: self.exec.work.settled(),
            routes: self.exec.work.settled_routes(),
            firewall: Some(self.firewall.record()),
            trackers: self
                .tracking
                .readings
                .iter()
                .map(|(key, reading)| TrackerRecord {
                    key: key.clone(),
                    reading: *reading,
                })
                .collect(),
            vmac_bases: self.vmacs.saved_bases(),
        }
    }

    /// Step 4 in the child: adopts the descriptors and restores the core
    /// from `record`, for the configuration `prepared` resolved. On an
    /// error nothing was touched (the descriptors are closed, the old
    /// daemon still has them).
    pub(super) fn take_over(
        &mut self,
        prepared: Prepared,
        record: &Record,
        control_tx: mpsc::Sender<ControlRequest>,
    ) -> Result<(), UpgradeError> {
        // Own every descriptor first: what is not used is closed, and none
        // leaks into a script.
        let mut fds: HashMap<SocketKey, OwnedFd> = HashMap::new();
        let mut seen = std::collections::HashSet::new();
        for s in &record.sockets {
            fds.insert(s.key.clone(), own_fd(s.fd, &mut seen)?);
        }
        let control_fd = match record.control_fd {
            Some(fd) => Some(own_fd(fd, &mut seen)?),
            None => None,
        };
        // Continue the old daemon's clock: the record's times need no
        // conversion and past ones keep their meaning (state_since).
        let age = Duration::from_micros(monotonic_us().saturating_sub(record.taken_monotonic_us));
        if let Some(base) =
            tokio::time::Instant::now().checked_sub(Duration::from_micros(record.clock_us) + age)
        {
            self.clock.base = base;
            self.exec.clock.base = base;
        }
        let taken = Instant::from_micros(record.clock_us);
        let Prepared {
            config,
            new,
            addresses: _,
            tracked_links,
            // The old daemon's faults come with its record.
            address_links: _,
            promoted: _,
            static_addresses,
        } = prepared;
        let mut started = Vec::new();
        let mut sockets = HashMap::new();
        for (cfg, resolved) in new {
            let ifname = cfg.interface.clone().unwrap_or_default();
            let resolved = resolved.map_err(|e| UpgradeError::Interface {
                instance: cfg.name.clone(),
                ifname: ifname.clone(),
                why: e.to_string(),
            })?;
            let Some(old) = record.driver.instances.iter().find(|r| r.name == cfg.name) else {
                return Err(RestoreError::NotRunning {
                    instance: cfg.name.clone(),
                }
                .into());
            };
            let key = old.socket_key.clone();
            if !sockets.contains_key(&key) {
                let fd = fds.remove(&key).ok_or_else(|| UpgradeError::NoSocket {
                    instance: cfg.name.clone(),
                })?;
                let mode = match key.unicast_source {
                    Some(source) => Mode::Unicast { source },
                    None => Mode::Multicast {
                        group: crate::driver::params::multicast_group(&cfg),
                    },
                };
                // A VMAC instance's socket is on its VMAC.
                let sock_ifname = resolved
                    .vmac
                    .as_ref()
                    .filter(|v| v.link.ifindex == key.ifindex)
                    .map_or_else(|| ifname.clone(), |v| v.link.name.clone());
                let spec = SocketSpec {
                    ifname: sock_ifname,
                    ifindex: key.ifindex,
                    family: key.family,
                    mode,
                };
                let sock = VrrpSocket::adopt(&spec, fd).map_err(|source| UpgradeError::Socket {
                    instance: cfg.name.clone(),
                    source,
                })?;
                sockets.insert(key.clone(), std::sync::Arc::new(sock));
            }
            let source = old.router.params.source;
            let router =
                crate::driver::new_router(&cfg, source).map_err(|source| RestoreError::Params {
                    instance: cfg.name.clone(),
                    source,
                })?;
            let ifindex = match &resolved.vmac {
                Some(v) if crate::driver::vmac::sends_through_vmac(&cfg) => v.link.ifindex,
                _ => resolved.link.index,
            };
            let mut running = Running::new(cfg.clone(), router, ifindex, key, resolved.addresses);
            running.vmac = resolved.vmac.map(|v| Box::new(v.link));
            started.push(running);
        }
        let (mut driver, mut effects) = Driver::restore(taken, &record.driver, &config, started)?;
        // Adopted below with the other addresses: asking again costs an
        // EEXIST each, and they stay ours.
        effects.extend(driver.set_static_addresses(static_addresses));
        // Committed from here: nothing below refuses.
        for (key, sock) in sockets {
            self.exec.add_socket(key, sock);
        }
        let serving = control_fd
            .map(std::os::unix::net::UnixListener::from)
            .map(|l| control::serve_listener(l, control_tx.clone()));
        self.control = match serving {
            Some(Ok(s)) => Some(s),
            other => {
                if let Some(Err(e)) = other {
                    warn!("adopting the control socket: {e}; binding it again");
                }
                match control::serve(&self.control_path, control_tx) {
                    Ok(s) => Some(s),
                    Err(e) => {
                        warn!("control socket {}: {e}", self.control_path.display());
                        None
                    }
                }
            }
        };
        // The metrics endpoint comes later ([`Daemon::retry_metrics`]):
        // the old process listens on its port until it exits.
        self.exec.notifier.configure(&config);
        self.configure_reload_timer(&config.global);
        self.exec.work.configure(&config);
        self.vmacs.adopt_saved_bases(record.vmac_bases.clone());
        for a in &record.addresses {
            self.exec
                .work
                .adopt(&a.owner, a.ifindex, a.spec.clone(), a.foreign);
        }
        for r in &record.routes {
            self.exec
                .work
                .adopt_route(&r.owner, r.entry.clone(), r.foreign);
        }
        // The nftables table as the old daemon left it: untouched until
        // the drop set must change.
        if let Some(fw) = &record.firewall {
            self.firewall.adopt(fw);
        }
        // A Master's address the old daemon had not settled (an add in
        // flight): wanted again, without an announcement.
        for r in driver.instances() {
            if !r.router.holds_addresses() {
                continue;
            }
            for (addr, (ifindex, spec)) in r.addresses.iter() {
                let adopted = record
                    .addresses
                    .iter()
                    .any(|a| a.ifindex == *ifindex && a.spec.addr == *addr);
                if !adopted {
                    self.exec.work.add(r.name(), *ifindex, spec.clone());
                }
            }
        }
        self.tracking.plan = crate::track::plan(&config);
        self.tracking.readings = record
            .trackers
            .iter()
            .map(|t| (t.key.clone(), t.reading))
            .collect();
        self.tracking.if_index.clear();
        for (name, link) in &tracked_links {
            if let Some(l) = link {
                self.tracking.if_index.insert(l.index, name.clone());
            }
        }
        if !self.scheduled {
            self.apply_scheduling(&config.global.scheduling);
        }
        self.replace_config(config);
        self.configure_linkbeat();
        self.driver = driver;
        self.sync_firewall();
        self.run_effects(effects);
        for r in self.driver.instances() {
            info!(
                "({}) taken over in {} state from pid {} (vrrpd {})",
                r.name(),
                r.router.state().keepalived_name(),
                record.pid,
                record.vrrpd_version
            );
        }
        Ok(())
    }
}

/// Takes ownership of inherited descriptor `fd`, once, and makes it
/// close-on-exec again (the old daemon cleared that for the exec only):
/// no script this process runs inherits it.
fn own_fd(fd: RawFd, seen: &mut std::collections::HashSet<RawFd>) -> Result<OwnedFd, UpgradeError> {
    if fd < 3 || !seen.insert(fd) {
        return Err(UpgradeError::Descriptor {
            fd,
            why: "not a descriptor the old daemon could have passed".into(),
        });
    }
    // SAFETY: F_SETFD on any integer is harmless: it fails (EBADF) unless
    // `fd` is open in this process.
    if unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } == -1 {
        return Err(UpgradeError::Descriptor {
            fd,
            why: std::io::Error::last_os_error().to_string(),
        });
    }
    // SAFETY: `fd` is open, was inherited for this purpose and is taken
    // once (`seen`); nothing else in this process uses it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The old daemon's side of the conversation with the successor (steps
/// 2-5), within `deadline`. Kills it unless it took over.
async fn converse(
    stream: tokio::net::UnixStream,
    successor: nix::unistd::Pid,
    deadline: tokio::time::Instant,
    tx: mpsc::Sender<HandoverEvent>,
) {
    let result = talk(stream, successor, deadline, &tx).await;
    let event = match result {
        Ok((pid, version)) => HandoverEvent::Ready { pid, version },
        Err(why) => {
            // Not our child: once reaped its pid could be reused, so only
            // while it is there.
            if !gone(successor, Duration::ZERO).await {
                let _ = nix::sys::signal::kill(successor, nix::sys::signal::Signal::SIGKILL);
                gone(successor, Duration::from_secs(1)).await;
            }
            HandoverEvent::Failed { why }
        }
    };
    let _ = tx.send(event).await;
}

/// Whether `pid` exited within `wait`. It is not our child, and whoever
/// it was reparented to may be slow to reap it (or never, as some
/// containers' init): a zombie counts as gone.
async fn gone(pid: nix::unistd::Pid, wait: Duration) -> bool {
    let end = tokio::time::Instant::now() + wait;
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // The state follows the command name, which is in parentheses.
        let state = stat
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.chars().next());
        if matches!(state, None | Some('Z' | 'X')) {
            return true;
        }
        if tokio::time::Instant::now() >= end {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn talk(
    stream: tokio::net::UnixStream,
    successor: nix::unistd::Pid,
    deadline: tokio::time::Instant,
    tx: &mpsc::Sender<HandoverEvent>,
) -> Result<(u32, String), String> {
    let (r, mut w) = stream.into_split();
    let mut reader = BufReader::new(r);
    match next_message(&mut reader, successor, deadline).await? {
        ChildSays::Loaded => {}
        ChildSays::Refused { error } => return Err(format!("the new binary refused: {error}")),
        ChildSays::Ready { .. } => {
            return Err("the new binary said ready before it had the state".into())
        }
    }
    let (record_tx, record_rx) = oneshot::channel();
    tx.send(HandoverEvent::Loaded { record: record_tx })
        .await
        .map_err(|_| "the daemon is stopping".to_string())?;
    let mut text = record_rx
        .await
        .map_err(|_| "the state record could not be written".to_string())?;
    text.push('\n');
    let written = tokio::time::timeout_at(deadline, w.write_all(text.as_bytes())).await;
    match written {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(format!("sending the state record: {e}")),
        Err(_) => return Err(not_ready()),
    }
    match next_message(&mut reader, successor, deadline).await? {
        ChildSays::Ready { pid, version } => Ok((pid, version)),
        ChildSays::Refused { error } => Err(format!("the new binary refused the state: {error}")),
        ChildSays::Loaded => Err("the new binary said loaded twice".into()),
    }
}

fn not_ready() -> String {
    format!(
        "the new binary was not ready within {} s",
        READY_TIMEOUT.as_secs_f64()
    )
}

/// The child's next message, or why there is none: it exited, closed the
/// channel, wrote something else, or the deadline passed.
async fn next_message<R: tokio::io::AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
    successor: nix::unistd::Pid,
    deadline: tokio::time::Instant,
) -> Result<ChildSays, String> {
    let mut line = Vec::new();
    let read = {
        let mut limited = tokio::io::AsyncReadExt::take(&mut *reader, MAX_LINE as u64);
        tokio::time::timeout_at(deadline, limited.read_until(b'\n', &mut line)).await
    };
    match read {
        Err(_) => Err(not_ready()),
        Ok(Err(e)) => Err(format!("reading from the new binary: {e}")),
        Ok(Ok(0)) => {
            // Closed: it exited (or is exiting); its status is its
            // parent's (the service manager's) to read: see its log.
            if gone(successor, Duration::from_millis(500)).await {
                Err("the new binary exited before it was ready".into())
            } else {
                Err("the new binary closed the hand-over channel".into())
            }
        }
        Ok(Ok(_)) => serde_json::from_slice(&line).map_err(|e| {
            format!(
                "unexpected message from the new binary ({e}): {}",
                String::from_utf8_lossy(&line).trim()
            )
        }),
    }
}

/// The child's end of the hand-over channel.
pub(super) struct Successor {
    reader: BufReader<tokio::net::unix::OwnedReadHalf>,
    writer: tokio::net::unix::OwnedWriteHalf,
}

impl Successor {
    /// Takes over descriptor `fd` (`--takeover FD`).
    pub(super) fn open(fd: RawFd) -> Result<Successor, UpgradeError> {
        let owned = own_fd(fd, &mut Default::default())?;
        let std = std::os::unix::net::UnixStream::from(owned);
        let chan = |source| UpgradeError::Channel { fd, source };
        std.set_nonblocking(true).map_err(chan)?;
        let stream = tokio::net::UnixStream::from_std(std).map_err(chan)?;
        let (r, w) = stream.into_split();
        Ok(Successor {
            reader: BufReader::new(r),
            writer: w,
        })
    }

    pub(super) async fn say(&mut self, msg: &ChildSays) {
        let mut line = serde_json::to_string(msg).unwrap_or_default();
        line.push('\n');
        if let Err(e) = self.writer.write_all(line.as_bytes()).await {
            warn!("telling the old daemon: {e}");
        }
    }

    /// The record, within [`READY_TIMEOUT`] (the old daemon gives up then).
    pub(super) async fn record(&mut self) -> Result<Record, UpgradeError> {
        let mut line = String::new();
        match tokio::time::timeout(READY_TIMEOUT, self.reader.read_line(&mut line)).await {
            Err(_) => Err(UpgradeError::NoRecord("none within the deadline".into())),
            Ok(Err(e)) => Err(UpgradeError::NoRecord(e.to_string())),
            Ok(Ok(0)) => Err(UpgradeError::NoRecord(
                "the old daemon closed the channel".into(),
            )),
            Ok(Ok(_)) => Ok(record::parse(&line)?),
        }
    }
}

/// A successor that cannot start at all (configuration errors) says so
/// before exiting, synchronously: the old daemon reports it.
pub fn refuse_early(fd: RawFd, why: &str) {
    use std::io::Write;
    let Ok(owned) = own_fd(fd, &mut Default::default()) else {
        return;
    };
    let mut stream = std::os::unix::net::UnixStream::from(owned);
    let msg = ChildSays::Refused {
        error: why.to_string(),
    };
    if let Ok(mut line) = serde_json::to_string(&msg) {
        line.push('\n');
        let _ = stream.write_all(line.as_bytes());
    }
}

/// A successor that does not take over ends with this.
impl From<UpgradeError> for DaemonError {
    fn from(e: UpgradeError) -> DaemonError {
        DaemonError::Upgrade(e.to_string())
    }
}
