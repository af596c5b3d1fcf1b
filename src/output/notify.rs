//! Notifications: `notify_master|backup|fault|stop|deleted`, `notify`
//! (keepalived's arguments `INSTANCE|GROUP NAME STATE PRIORITY`) and the
//! notify FIFOs (`INSTANCE "NAME" STATE PRIORITY` and `GROUP "NAME" STATE 0`
//! lines), for instances and sync groups.
//!
//! Unlike keepalived (fire-and-forget), an instance's commands run one at a
//! time in transition order, each with [`NOTIFY_TIMEOUT`] and its exit
//! status logged; a sync group's commands and its members' share one queue,
//! so they too run in the order of the transitions. FIFO lines are written
//! in event order. Everything runs on a thread of its own, so a slow script
//! never touches the advert path.
//!
//! At start and at each reload every command goes through
//! [`admit`](crate::track::script::admit) (script security): a refused one
//! is said once and never runs. A FIFO is opened only if [`open_fifo`]
//! accepts what is at its path; otherwise nothing is written there and its
//! FIFO script is not started.

use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tracing::{error, info, warn};

use crate::config::{Command, Config, Fifo as FifoConfig, Global, Notify};
use crate::track::script::{admit, refused_line, run_once, unsafe_line, Exec, Outcome};

/// Longest a notify command may run before its process group is killed.
pub const NOTIFY_TIMEOUT: Duration = Duration::from_secs(10);

/// The event reported to notify commands and FIFOs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyState {
    Master,
    Backup,
    Fault,
    Stop,
    /// Removed by a reload, with `notify_deleted` (without it keepalived
    /// reports FAULT).
    Deleted,
    /// A Master received a lower-priority advert (`notify_master_rx_lower_pri`).
    MasterRxLowerPri,
    /// The effective priority changed while Master / Backup
    /// (`notify_priority_changes`; FIFO only).
    MasterPriority,
    BackupPriority,
}

impl NotifyState {
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyState::Master => "MASTER",
            NotifyState::Backup => "BACKUP",
            NotifyState::Fault => "FAULT",
            NotifyState::Stop => "STOP",
            NotifyState::Deleted => "DELETED",
            NotifyState::MasterRxLowerPri => "MASTER_RX_LOWER_PRI",
            NotifyState::MasterPriority => "MASTER_PRIORITY",
            NotifyState::BackupPriority => "BACKUP_PRIORITY",
        }
    }

    /// A state change (notify commands run), not an informational event.
    pub fn is_transition(self) -> bool {
        matches!(
            self,
            NotifyState::Master
                | NotifyState::Backup
                | NotifyState::Fault
                | NotifyState::Stop
                | NotifyState::Deleted
        )
    }
}

/// What a notification is about: an instance, or a sync group (whose
/// priority is always reported as 0, as keepalived does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subject {
    Instance,
    Group,
}

impl Subject {
    fn as_str(self) -> &'static str {
        match self {
            Subject::Instance => "INSTANCE",
            Subject::Group => "GROUP",
        }
    }
}

/// keepalived's FIFO line for an instance event: `INSTANCE "VI_1" MASTER 150`.
pub fn fifo_line(instance: &str, state: NotifyState, priority: u8) -> String {
    subject_fifo_line(Subject::Instance, instance, state, priority)
}

/// keepalived's FIFO line (`notify_fifo()` in vrrp_notify.c), instance or group:
/// `GROUP "G1" BACKUP 0`.
pub fn subject_fifo_line(subject: Subject, name: &str, state: NotifyState, priority: u8) -> String {
    format!(
        "{} \"{name}\" {} {priority}\n",
        subject.as_str(),
        state.as_str()
    )
}

/// The commands for one instance event, in keepalived's order: the state's
/// own command, then `notify` with `INSTANCE NAME STATE PRIORITY` appended.
pub fn commands(
    notify: &Notify,
    instance: &str,
    state: NotifyState,
    priority: u8,
) -> Vec<(&'static str, Command)> {
    subject_commands(Subject::Instance, notify, instance, state, priority)
}

/// The commands for one event of an instance or a sync group
/// (`send_instance_notifies` / `send_group_notifies`).
pub fn subject_commands(
    subject: Subject,
    notify: &Notify,
    name: &str,
    state: NotifyState,
    priority: u8,
) -> Vec<(&'static str, Command)> {
    let mut out = Vec::new();
    let specific = match state {
        NotifyState::Master => ("notify_master", &notify.master),
        NotifyState::Backup => ("notify_backup", &notify.backup),
        NotifyState::Fault => ("notify_fault", &notify.fault),
        NotifyState::Stop => ("notify_stop", &notify.stop),
        NotifyState::Deleted => ("notify_deleted", &notify.deleted),
        NotifyState::MasterRxLowerPri => {
            ("notify_master_rx_lower_pri", &notify.master_rx_lower_pri)
        }
        NotifyState::MasterPriority | NotifyState::BackupPriority => return out,
    };
    // `notify_deleted` without a command only changes what is reported.
    if let (what, Some(c)) = specific {
        if !c.cmd.is_empty() {
            out.push((what, Command::clone(c)));
        }
    }
    if !state.is_transition() {
        return out;
    }
    if let Some(c) = &notify.any {
        let mut c = Command::clone(c);
        c.cmd = format!(
            "{} {} {} {} {priority}",
            c.cmd,
            subject.as_str(),
            quote(name),
            state.as_str()
        );
        out.push(("notify", c));
    }
    out
}

/// Every command a notify block names, in keepalived's order, with its
/// keyword (`notify_deleted` without a command is not one).
pub fn notify_commands(n: &Notify) -> Vec<(&'static str, &Command)> {
    [
        ("notify_master", &n.master),
        ("notify_backup", &n.backup),
        ("notify_fault", &n.fault),
        ("notify_stop", &n.stop),
        ("notify_deleted", &n.deleted),
        ("notify", &n.any),
        ("notify_master_rx_lower_pri", &n.master_rx_lower_pri),
    ]
    .into_iter()
    .filter_map(|(kw, c)| Some((kw, c.as_deref().filter(|c| !c.cmd.is_empty())?)))
    .collect()
}

/// `n` without the commands [`admit`] refuses, each said once (at start
/// and at every reload); `label` is `(VI_1)` or `VRRP_Group(G1)`.
fn vet_notify(label: &str, n: &Notify, global: &Global) -> Notify {
    let mut kept = n.clone();
    for (kw, c) in notify_commands(n) {
        let what = format!("{label} {kw} `{}`", c.cmd);
        match admit(c, global) {
            Ok(a) => {
                if let Some(why) = a.unsafe_path {
                    warn!("{}", unsafe_line(&what, &why));
                }
            }
            Err(e) => {
                error!("{}", refused_line(&what, &e));
                let slot = match kw {
                    "notify_master" => &mut kept.master,
                    "notify_backup" => &mut kept.backup,
                    "notify_fault" => &mut kept.fault,
                    "notify_stop" => &mut kept.stop,
                    "notify" => &mut kept.any,
                    "notify_master_rx_lower_pri" => &mut kept.master_rx_lower_pri,
                    _ => {
                        // notify_deleted still decides what is reported.
                        if let Some(d) = kept.deleted.as_mut() {
                            d.cmd.clear();
                        }
                        continue;
                    }
                };
                *slot = None;
            }
        }
    }
    kept
}

fn quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-.:@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', ""))
    }
}

enum Msg {
    Configure(Box<Config>),
    /// A FIFO line only, no command (`fifo_write_vrrp_states_on_reload`).
    FifoLine(String),
    Event {
        subject: Subject,
        name: String,
        state: NotifyState,
        priority: u8,
    },
    Finish(oneshot::Sender<()>),
}

/// Handle to the notification thread.
pub struct Notifier {
    tx: mpsc::UnboundedSender<Msg>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Notifier {
    /// Starts the notification thread.
    pub fn start() -> std::io::Result<Notifier> {
        let (tx, rx) = mpsc::unbounded_channel();
        let thread = std::thread::Builder::new()
            .name("vrrpd-notify".into())
            .spawn(move || worker_thread(rx))?;
        Ok(Notifier {
            tx,
            thread: Some(thread),
        })
    }

    /// Uses `config`'s notify settings for the events that follow.
    pub fn configure(&self, config: &Config) {
        let _ = self.tx.send(Msg::Configure(Box::new(config.clone())));
    }

    /// Queues the notifications for an instance entering `state`.
    pub fn event(&self, instance: &str, state: NotifyState, priority: u8) {
        let _ = self.tx.send(Msg::Event {
            subject: Subject::Instance,
            name: instance.to_string(),
            state,
            priority,
        });
    }

    /// Queues the notifications for sync group `group` entering `state`
    /// (priority 0, as keepalived reports groups).
    pub fn group_event(&self, group: &str, state: NotifyState) {
        let _ = self.tx.send(Msg::Event {
            subject: Subject::Group,
            name: group.to_string(),
            state,
            priority: 0,
        });
    }

    /// Writes the current state of an instance or group to the FIFOs only,
    /// running no command (keepalived 2.3's `notify_instance_fifo` /
    /// `notify_group_fifo` for `fifo_write_vrrp_states_on_reload`).
    pub fn fifo_state(&self, subject: Subject, name: &str, state: NotifyState, priority: u8) {
        let line = subject_fifo_line(subject, name, state, priority);
        let _ = self.tx.send(Msg::FifoLine(line));
    }

    /// Waits, at most `wait`, for every queued notification to finish.
    pub async fn finish(&mut self, wait: Duration) {
        let (done_tx, done_rx) = oneshot::channel();
        if self.tx.send(Msg::Finish(done_tx)).is_ok()
            && tokio::time::timeout(wait, done_rx).await.is_err()
        {
            warn!("notifications still running after {wait:?}; not waiting longer");
        }
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        // The thread exits when the channel closes; do not block on it.
        self.thread.take();
    }
}

/// Why a notify FIFO is refused: nothing is written to it and its FIFO
/// script is not started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FifoError {
    #[error("cannot create {path}: {source}")]
    Create {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is a symbolic link: refused (a notify FIFO is never opened through a link); remove it and vrrpd creates the FIFO")]
    Symlink { path: String },
    #[error("cannot open {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is {kind}, not a FIFO: refused; remove it and vrrpd creates the FIFO")]
    NotFifo { path: String, kind: &'static str },
    #[error("{path} is owned by uid {uid}, not root or vrrpd's user: refused (its owner could read every state line and write lines of its own)")]
    Owner { path: String, uid: u32 },
    #[error("{path} is writable by group or others (mode {mode:04o}): refused (anyone could write lines of their own)")]
    Writable { path: String, mode: u32 },
}

/// Who may own a notify FIFO: root, the daemon's user, and the owner the
/// configuration names (`notify_fifo PATH USER`).
pub fn fifo_owners(f: &FifoConfig) -> Vec<u32> {
    let mut owners = vec![0, nix::unistd::geteuid().as_raw()];
    if let Some(run_as) = &f.run_as {
        if let Ok(Some(u)) = nix::unistd::User::from_name(&run_as.user) {
            owners.push(u.uid.as_raw());
        }
    }
    owners
}

/// The rule for what is at a notify FIFO's path, from its `st_mode` and
/// owner: the daemon applies it to the opened descriptor, `vrrpd check`
/// to the path.
pub fn judge_fifo(path: &str, mode: u32, uid: u32, owners: &[u32]) -> Result<(), FifoError> {
    let kind = match mode & libc::S_IFMT {
        libc::S_IFIFO => None,
        libc::S_IFLNK => {
            return Err(FifoError::Symlink {
                path: path.to_string(),
            })
        }
        libc::S_IFREG => Some("a regular file"),
        libc::S_IFDIR => Some("a directory"),
        libc::S_IFSOCK => Some("a socket"),
        _ => Some("a device"),
    };
    if let Some(kind) = kind {
        return Err(FifoError::NotFifo {
            path: path.to_string(),
            kind,
        });
    }
    if !owners.contains(&uid) {
        return Err(FifoError::Owner {
            path: path.to_string(),
            uid,
        });
    }
    if mode & 0o022 != 0 {
        return Err(FifoError::Writable {
            path: path.to_string(),
            mode: mode & 0o7777,
        });
    }
    Ok(())
}

/// `vrrpd check`: what the daemon will say about `path` (nothing when it
/// does not exist yet: the daemon creates it).
pub fn check_fifo_path(path: &str, owners: &[u32]) -> Result<(), FifoError> {
    match std::fs::symlink_metadata(path) {
        Ok(m) => judge_fifo(path, m.mode(), m.uid(), owners),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(FifoError::Open {
            path: path.to_string(),
            source,
        }),
    }
}

/// Creates the FIFO at `path` if missing (mode 0600, as keepalived) and
/// opens it for writing without following a link and without blocking
/// (read-write, so that no reader is needed: a full FIFO drops lines);
/// then [`judge_fifo`] on what was opened. Returns the file and whether
/// we created it.
pub fn open_fifo(path: &str, owners: &[u32]) -> Result<(std::fs::File, bool), FifoError> {
    let created = match nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o600)) {
        Ok(()) => true,
        // Whatever is there (a dangling link too) is judged once opened.
        Err(nix::errno::Errno::EEXIST) => false,
        Err(e) => {
            return Err(FifoError::Create {
                path: path.to_string(),
                source: e.into(),
            })
        }
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW | libc::O_NOCTTY)
        .open(path)
        .map_err(|source| {
            // ELOOP (a link), EISDIR, ENXIO (a socket): say what is there,
            // in `vrrpd check`'s words.
            check_fifo_path(path, owners)
                .err()
                .unwrap_or(FifoError::Open {
                    path: path.to_string(),
                    source,
                })
        })?;
    // fstat: the file opened, not whatever the path names by now.
    let m = file.metadata().map_err(|source| FifoError::Open {
        path: path.to_string(),
        source,
    })?;
    judge_fifo(path, m.mode(), m.uid(), owners)?;
    Ok((file, created))
}

/// A FIFO we created is 0600: its FIFO script, when it runs as another
/// user, gets read access through its group (0640), or, when changing
/// the group is not allowed (no CAP_CHOWN in the unit's bounding set),
/// through mode 0644. Never write access.
fn let_reader_in(file: &std::fs::File, path: &str, reader: (u32, u32)) {
    let (uid, gid) = reader;
    if uid == nix::unistd::geteuid().as_raw() {
        return;
    }
    let mode = match std::os::unix::fs::fchown(file, None, Some(gid)) {
        Ok(()) => 0o640,
        Err(e) => {
            info!("notify FIFO {path}: mode 0644 so that its FIFO script (uid {uid}) can read it (group {gid}: {e})");
            0o644
        }
    };
    if let Err(e) = file.set_permissions(std::fs::Permissions::from_mode(mode)) {
        warn!("notify FIFO {path}: chmod {mode:04o}: {e}");
    }
}

struct Fifo {
    path: String,
    /// None: refused or failed (said at start and at every reload, when it
    /// is tried again).
    file: Option<std::fs::File>,
}

impl Fifo {
    fn open(kw: &str, cfg: &FifoConfig, reader: Option<(u32, u32)>) -> Fifo {
        let file = match open_fifo(&cfg.path, &fifo_owners(cfg)) {
            Ok((file, created)) => {
                if let (true, Some(reader)) = (created, reader) {
                    let_reader_in(&file, &cfg.path, reader);
                }
                Some(file)
            }
            Err(e) => {
                error!("{kw}: {e}");
                None
            }
        };
        Fifo {
            path: cfg.path.clone(),
            file,
        }
    }

    fn write(&mut self, line: &str) {
        if let Some(f) = self.file.as_mut() {
            // A full FIFO drops the line, as keepalived does (EAGAIN).
            let _ = f.write_all(line.as_bytes());
        }
    }
}

/// A `*_fifo_script` reading one of our FIFOs: started once with the FIFO
/// path appended, stopped (SIGTERM to its group) when unconfigured or at exit.
struct FifoScript {
    path: String,
    cmd: String,
    child: Option<tokio::process::Child>,
}

impl FifoScript {
    /// Starts `cmd` (`kw` names it in logs) unless [`admit`] refuses it.
    fn start(kw: &str, path: &str, cmd: &Command, global: &Global) -> FifoScript {
        let mut with_path = cmd.clone();
        with_path.cmd = format!("{} {}", cmd.cmd, quote(path));
        let what = format!("{kw} `{}`", cmd.cmd);
        let child = match admit(cmd, global).and_then(|_| Exec::resolve(&with_path, global)) {
            Ok(exec) => {
                let mut c = exec.command();
                c.stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .kill_on_drop(false);
                match c.spawn() {
                    Ok(child) => {
                        info!("started FIFO script `{}`", with_path.cmd);
                        Some(child)
                    }
                    Err(e) => {
                        error!("FIFO script `{}`: {e}", with_path.cmd);
                        None
                    }
                }
            }
            Err(e) => {
                error!("{}", refused_line(&what, &e));
                None
            }
        };
        FifoScript {
            path: path.to_string(),
            cmd: cmd.cmd.clone(),
            child,
        }
    }

    fn stop(&mut self) {
        if let Some(pid) = self.child.as_ref().and_then(|c| c.id()) {
            if let Ok(pid) = i32::try_from(pid) {
                let _ = nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGTERM,
                );
            }
        }
        // Dropped without kill_on_drop: tokio reaps it in the background.
        self.child = None;
    }
}

struct Job {
    what: &'static str,
    exec: Exec,
    /// `(VI_1)` or `VRRP_Group(G1)`, for logs.
    label: String,
}

/// Notify settings by name, for instances or groups. Entries removed by a
/// reload are kept one generation: an instance removed by a reload is
/// notified after the new configuration arrived (`notify_deleted`).
/// Per instance (or group) its vetted commands. An instance without any is
/// kept as `None`: a thousand instances with no notify cost a name each, not
/// a `Notify` each, and a removed one is still told apart from one that
/// merely has nothing to run.
#[derive(Default)]
/// Only instances with commands have an entry (at 1000 instances without
/// any, the names alone were 0.1 MB).
struct Book {
    current: HashMap<String, Box<Notify>>,
    /// Commands of instances the last reload removed, for their stop.
    retired: HashMap<String, Box<Notify>>,
}

impl Book {
    fn replace(&mut self, new: impl IntoIterator<Item = (String, Notify)>) {
        let mut current = HashMap::new();
        // Every configured name, with commands or not, for this call only:
        // an instance kept without commands must not reach its old ones.
        let mut configured = std::collections::HashSet::new();
        for (name, n) in new {
            if n != Notify::default() {
                current.insert(name.clone(), Box::new(n));
            }
            configured.insert(name);
        }
        let mut old = std::mem::replace(&mut self.current, current);
        old.retain(|k, _| !configured.contains(k));
        self.retired = old;
    }

    fn get(&self, name: &str) -> Option<&Notify> {
        self.current
            .get(name)
            .or_else(|| self.retired.get(name))
            .map(|n| &**n)
    }
}

fn worker_thread(rx: mpsc::UnboundedReceiver<Msg>) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            error!("cannot start the notification runtime: {e}");
            return;
        }
    };
    rt.block_on(dispatch(rx));
}

async fn dispatch(mut rx: mpsc::UnboundedReceiver<Msg>) {
    let mut notify = Book::default();
    let mut group_notify = Book::default();
    // Sync-group members share their group's queue (see the module doc).
    let mut queue_of: HashMap<String, String> = HashMap::new();
    let mut priority_changes: HashMap<String, bool> = HashMap::new();
    let mut global = Global::default();
    let mut fifos: Vec<Fifo> = Vec::new();
    let mut fifo_scripts: Vec<FifoScript> = Vec::new();
    let mut queues: HashMap<String, mpsc::UnboundedSender<Job>> = HashMap::new();
    let mut workers = tokio::task::JoinSet::new();
    // E-mail alerts: where they go, who has `smtp_alert`, and the state
    // each was last mailed about (keepalived's `last_email_state`).
    let mut mail: Option<std::sync::Arc<super::smtp::Envelope>> = None;
    let mut mails: HashMap<(Subject, String), bool> = HashMap::new();
    let mut last_mail: HashMap<(Subject, String), NotifyState> = HashMap::new();
    let mut outbox = super::smtp::Outbox::new(super::smtp::MAX_IN_FLIGHT);
    while let Some(msg) = rx.recv().await {
        match msg {
            Msg::Configure(cfg) => {
                let g = &cfg.global;
                notify.replace(cfg.instances.iter().map(|i| {
                    let label = format!("({})", i.name);
                    (i.name.clone(), vet_notify(&label, &i.notify, g))
                }));
                group_notify.replace(cfg.sync_groups.iter().map(|s| {
                    let label = format!("VRRP_Group({})", s.name);
                    (s.name.clone(), vet_notify(&label, &s.notify, g))
                }));
                queue_of.clear();
                for g in &cfg.sync_groups {
                    for m in &g.members {
                        queue_of.insert(format!("I:{m}"), format!("G:{}", g.name));
                    }
                }
                // uname's nodename, as keepalived's get_local_name.
                let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
                    .map(|h| h.trim().to_string())
                    .unwrap_or_else(|_| "localhost".into());
                let user = nix::unistd::User::from_uid(nix::unistd::getuid())
                    .ok()
                    .flatten()
                    .map_or_else(|| "root".to_string(), |u| u.name);
                mail = match super::smtp::Envelope::of(g, &host, &user) {
                    None => None,
                    Some(Ok(e)) => Some(std::sync::Arc::new(e)),
                    Some(Err(e)) => {
                        error!("e-mail alerts not sent: {e}");
                        None
                    }
                };
                // Only the names that say yes: a lookup's default is no.
                mails = cfg
                    .instances
                    .iter()
                    .filter(|i| i.smtp_alert)
                    .map(|i| ((Subject::Instance, i.name.clone()), true))
                    .chain(
                        cfg.sync_groups
                            .iter()
                            .filter(|s| s.smtp_alert)
                            .map(|s| ((Subject::Group, s.name.clone()), true)),
                    )
                    .collect();
                priority_changes = cfg
                    .instances
                    .iter()
                    .filter(|i| cfg.notify_priority_changes(i))
                    .map(|i| (i.name.clone(), true))
                    .collect();
                let wanted: Vec<(&str, &FifoConfig, &str, Option<&Command>)> = [
                    (
                        "vrrp_notify_fifo",
                        &g.vrrp_notify_fifo,
                        "vrrp_notify_fifo_script",
                        &g.vrrp_notify_fifo_script,
                    ),
                    (
                        "notify_fifo",
                        &g.notify_fifo,
                        "notify_fifo_script",
                        &g.notify_fifo_script,
                    ),
                ]
                .into_iter()
                .filter_map(|(kw, f, skw, c)| Some((kw, f.as_ref()?, skw, c.as_ref())))
                .collect();
                // A refused FIFO is tried again (and said again) at a reload.
                fifos.retain(|f| f.file.is_some() && wanted.iter().any(|w| w.1.path == f.path));
                for (kw, f, _, script) in &wanted {
                    if !fifos.iter().any(|o| o.path == f.path) {
                        let reader = script
                            .and_then(|c| admit(c, g).ok())
                            .and_then(|a| a.exec.ids);
                        fifos.push(Fifo::open(kw, f, reader));
                    }
                }
                global = cfg.global.clone();
                let open = |path: &str| fifos.iter().any(|f| f.path == path && f.file.is_some());
                fifo_scripts.retain_mut(|s| {
                    let keep = s.child.is_some()
                        && open(&s.path)
                        && wanted
                            .iter()
                            .any(|w| w.1.path == s.path && w.3.is_some_and(|c| c.cmd == s.cmd));
                    if !keep {
                        s.stop();
                    }
                    keep
                });
                for (_, f, skw, script) in &wanted {
                    let Some(cmd) = script else { continue };
                    if !open(&f.path) {
                        error!(
                            "{skw} `{}` not started: its FIFO {} was refused",
                            cmd.cmd, f.path
                        );
                        continue;
                    }
                    if !fifo_scripts
                        .iter()
                        .any(|s| s.path == f.path && s.cmd == cmd.cmd)
                    {
                        fifo_scripts.push(FifoScript::start(skw, &f.path, cmd, &global));
                    }
                }
            }
            Msg::FifoLine(line) => {
                for f in &mut fifos {
                    f.write(&line);
                }
            }
            Msg::Event {
                subject,
                name,
                state,
                priority,
            } => {
                let reported = state.is_transition()
                    || state == NotifyState::MasterRxLowerPri
                    || (subject == Subject::Instance
                        && priority_changes.get(&name).copied().unwrap_or(false));
                if !reported {
                    continue;
                }
                let line = subject_fifo_line(subject, &name, state, priority);
                for f in &mut fifos {
                    f.write(&line);
                }
                let key = (subject, name.clone());
                if let (Some(envelope), true) = (&mail, mails.get(&key).copied().unwrap_or(false)) {
                    let alert = super::smtp::alert(
                        &envelope.router_id,
                        subject,
                        &name,
                        state,
                        global.no_email_faults,
                    );
                    if let Some(alert) = alert.filter(|_| last_mail.get(&key) != Some(&state)) {
                        last_mail.insert(key, state);
                        match outbox.admit() {
                            Ok(slot) => {
                                let envelope = envelope.clone();
                                workers.spawn(async move {
                                    let date = super::smtp::date_now();
                                    match super::smtp::send(&envelope, &alert, &date).await {
                                        Ok(()) => info!(
                                            "SMTP alert successfully sent: {}",
                                            alert.subject
                                        ),
                                        Err(e) => {
                                            warn!("SMTP alert '{}' not sent: {e}", alert.subject)
                                        }
                                    }
                                    drop(slot);
                                });
                            }
                            Err(dropped) => warn!(
                                "SMTP alert '{}' dropped: {} alerts already wait for {} ({dropped} dropped since start)",
                                alert.subject,
                                super::smtp::MAX_IN_FLIGHT,
                                envelope.server
                            ),
                        }
                    }
                }
                let (book, label, key) = match subject {
                    Subject::Instance => {
                        let key = format!("I:{name}");
                        let key = queue_of.get(&key).cloned().unwrap_or(key);
                        (&notify, format!("({name})"), key)
                    }
                    Subject::Group => (
                        &group_notify,
                        format!("VRRP_Group({name})"),
                        format!("G:{name}"),
                    ),
                };
                let Some(n) = book.get(&name) else {
                    continue;
                };
                for (what, cmd) in subject_commands(subject, n, &name, state, priority) {
                    let exec = match Exec::resolve(&cmd, &global) {
                        Ok(e) => e,
                        Err(e) => {
                            error!("{label} {what} `{}`: {e}", cmd.cmd);
                            continue;
                        }
                    };
                    let q = queues.entry(key.clone()).or_insert_with(|| {
                        let (tx, rx) = mpsc::unbounded_channel();
                        workers.spawn(run_queue(rx));
                        tx
                    });
                    let _ = q.send(Job {
                        what,
                        exec,
                        label: label.clone(),
                    });
                }
            }
            Msg::Finish(done) => {
                queues.clear();
                while workers.join_next().await.is_some() {}
                // Give FIFO readers a moment for the last lines (STOP).
                if !fifo_scripts.is_empty() {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    for s in &mut fifo_scripts {
                        s.stop();
                    }
                    fifo_scripts.clear();
                }
                let _ = done.send(());
            }
        }
    }
}

/// One instance's notifications, strictly one after the other.
async fn run_queue(mut rx: mpsc::UnboundedReceiver<Job>) {
    while let Some(job) = rx.recv().await {
        let started = tokio::time::Instant::now();
        let r = run_once(&job.exec, NOTIFY_TIMEOUT).await;
        let ms = started.elapsed().as_millis();
        let (label, what, cmd) = (&job.label, job.what, &job.exec.text);
        match r.outcome {
            Outcome::Exited(0) => {
                info!("{label} {what} `{cmd}` exited with status 0 after {ms} ms")
            }
            Outcome::Exited(c) => warn!(
                "{label} {what} `{cmd}` exited with status {c} after {ms} ms: {}",
                r.output.trim_end()
            ),
            Outcome::Signalled(s) => {
                warn!("{label} {what} `{cmd}` killed by signal {s} after {ms} ms")
            }
            Outcome::TimedOut => warn!(
                "{label} {what} `{cmd}` timed out after {NOTIFY_TIMEOUT:?}; process group killed"
            ),
            Outcome::SpawnFailed(e) => error!("{label} {what} `{cmd}` cannot run: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn master_cmd(cmd: &str) -> Notify {
        Notify {
            master: Some(Box::new(crate::config::Command {
                cmd: cmd.into(),
                run_as: None,
            })),
            ..Notify::default()
        }
    }

    #[test]
    fn the_book_keeps_no_notify_for_instances_without_commands() {
        let mut book = Book::default();
        book.replace([
            ("VI_1".to_string(), master_cmd("/bin/true")),
            ("VI_2".to_string(), Notify::default()),
        ]);
        assert!(book.get("VI_1").is_some());
        assert!(book.get("VI_2").is_none());
        assert_eq!(book.current.len(), 1, "no entry without commands");
    }

    #[test]
    fn a_reload_that_drops_an_instances_commands_runs_none_of_the_old() {
        let mut book = Book::default();
        book.replace([("VI_1".to_string(), master_cmd("/bin/old"))]);
        book.replace([("VI_1".to_string(), Notify::default())]);
        assert!(book.get("VI_1").is_none(), "not the retired commands");
        // A removed instance still reaches its old commands (its stop).
        book.replace([("VI_2".to_string(), Notify::default())]);
        book.replace(std::iter::empty());
        assert!(book.get("VI_2").is_none());
        book.replace([("VI_3".to_string(), master_cmd("/bin/three"))]);
        book.replace(std::iter::empty());
        assert!(book.get("VI_3").is_some());
    }

    #[test]
    fn fifo_lines_match_keepalived() {
        assert_eq!(
            fifo_line("VI_1", NotifyState::Master, 150),
            "INSTANCE \"VI_1\" MASTER 150\n"
        );
    }

    #[test]
    fn specific_command_runs_before_generic_with_args() {
        let n = Notify {
            master: Some(Box::new(Command {
                cmd: "/bin/m".into(),
                run_as: None,
            })),
            any: Some(Box::new(Command {
                cmd: "/bin/n x".into(),
                run_as: None,
            })),
            ..Notify::default()
        };
        let c = commands(&n, "VI_1", NotifyState::Master, 150);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].0, "notify_master");
        assert_eq!(c[1].1.cmd, "/bin/n x INSTANCE VI_1 MASTER 150");
        let c = commands(&n, "VI_1", NotifyState::Stop, 90);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].1.cmd, "/bin/n x INSTANCE VI_1 STOP 90");
    }
}
