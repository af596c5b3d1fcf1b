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

use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tracing::{error, info, warn};

use crate::config::{Command, Config, Global, Notify};
use crate::track::script::{run_once, Exec, Outcome};

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
            out.push((what, c.clone()));
        }
    }
    if !state.is_transition() {
        return out;
    }
    if let Some(c) = &notify.any {
        let mut c = c.clone();
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

struct Fifo {
    path: String,
    file: Option<std::fs::File>,
}

impl Fifo {
    fn open(path: &str) -> Fifo {
        let p = std::path::Path::new(path);
        if !p.exists() {
            if let Err(e) = nix::unistd::mkfifo(p, nix::sys::stat::Mode::from_bits_truncate(0o644))
            {
                error!("cannot create notify FIFO {path}: {e}");
            }
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(p);
        match file {
            Ok(f) => Fifo {
                path: path.to_string(),
                file: Some(f),
            },
            Err(e) => {
                error!("cannot open notify FIFO {path}: {e}");
                Fifo {
                    path: path.to_string(),
                    file: None,
                }
            }
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
    fn start(path: &str, cmd: &Command, global: &Global) -> FifoScript {
        let mut with_path = cmd.clone();
        with_path.cmd = format!("{} {}", cmd.cmd, quote(path));
        let child = match Exec::resolve(&with_path, global) {
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
                error!("FIFO script `{}`: {e}", with_path.cmd);
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
#[derive(Default)]
struct Book {
    current: HashMap<String, Notify>,
    retired: HashMap<String, Notify>,
}

impl Book {
    fn replace(&mut self, new: HashMap<String, Notify>) {
        let mut old = std::mem::replace(&mut self.current, new);
        old.retain(|k, _| !self.current.contains_key(k));
        self.retired = old;
    }

    fn get(&self, name: &str) -> Option<&Notify> {
        self.current.get(name).or_else(|| self.retired.get(name))
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
    while let Some(msg) = rx.recv().await {
        match msg {
            Msg::Configure(cfg) => {
                notify.replace(
                    cfg.instances
                        .iter()
                        .map(|i| (i.name.clone(), i.notify.clone()))
                        .collect(),
                );
                group_notify.replace(
                    cfg.sync_groups
                        .iter()
                        .map(|g| (g.name.clone(), g.notify.clone()))
                        .collect(),
                );
                queue_of.clear();
                for g in &cfg.sync_groups {
                    for m in &g.members {
                        queue_of.insert(format!("I:{m}"), format!("G:{}", g.name));
                    }
                }
                priority_changes = cfg
                    .instances
                    .iter()
                    .map(|i| {
                        let on = i.notify_priority_changes || cfg.global.notify_priority_changes;
                        (i.name.clone(), on)
                    })
                    .collect();
                let wanted: Vec<String> = [&cfg.global.vrrp_notify_fifo, &cfg.global.notify_fifo]
                    .into_iter()
                    .flatten()
                    .map(|f| f.path.clone())
                    .collect();
                fifos.retain(|f| wanted.contains(&f.path));
                for w in wanted {
                    if !fifos.iter().any(|f| f.path == w) {
                        fifos.push(Fifo::open(&w));
                    }
                }
                global = cfg.global.clone();
                let g = &cfg.global;
                let wanted: Vec<(String, Command)> = [
                    (&g.vrrp_notify_fifo, &g.vrrp_notify_fifo_script),
                    (&g.notify_fifo, &g.notify_fifo_script),
                ]
                .into_iter()
                .filter_map(|(f, c)| Some((f.as_ref()?.path.clone(), c.clone()?)))
                .collect();
                fifo_scripts.retain_mut(|s| {
                    let keep = wanted.iter().any(|(p, c)| *p == s.path && c.cmd == s.cmd);
                    if !keep {
                        s.stop();
                    }
                    keep
                });
                for (path, cmd) in wanted {
                    if !fifo_scripts
                        .iter()
                        .any(|s| s.path == path && s.cmd == cmd.cmd)
                    {
                        fifo_scripts.push(FifoScript::start(&path, &cmd, &global));
                    }
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
            master: Some(Command {
                cmd: "/bin/m".into(),
                run_as: None,
            }),
            any: Some(Command {
                cmd: "/bin/n x".into(),
                run_as: None,
            }),
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
