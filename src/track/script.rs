//! `vrrp_script`: executed directly (no shell), never overlapping, its
//! process group killed on timeout (SIGTERM, then SIGKILL 2 s later), output
//! captured up to a bound.

use std::ffi::OsString;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use super::{send, split_argv, Kind, Reading, RiseFall, Update};
use crate::config::{Command, Global, RunAs, VrrpScript};

/// Bytes of stdout/stderr kept per run.
pub const OUTPUT_LIMIT: usize = 4096;
/// Between SIGTERM and SIGKILL of a timed-out script (keepalived: 2 s).
pub const KILL_GRACE: Duration = Duration::from_secs(2);
/// The PATH every command is looked up in and runs with, whatever the
/// daemon's own: what `vrrpd check` vets is what runs.
pub const SAFE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Why a command cannot be run at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScriptError {
    #[error("empty command")]
    Empty,
    #[error("Cannot find script {0} in path")]
    NotFound(String),
    #[error("{0} is not executable")]
    NotExecutable(String),
    #[error("user '{0}' does not exist")]
    NoUser(String),
    #[error("group '{0}' does not exist")]
    NoGroup(String),
    /// With `enable_script_security`: which path makes a root command unsafe.
    #[error("unsafe permissions: {0}")]
    Insecure(String),
    /// With `enable_script_security`: a relative path depends on the
    /// daemon's working directory.
    #[error("{0} is not an absolute path")]
    Relative(String),
}

/// A command [`admit`] accepted.
#[derive(Debug, Clone)]
pub struct Admitted {
    pub exec: Exec,
    /// Why it would be refused under `enable_script_security` (it runs as
    /// root from an unsafe path and the option is off): warned, run anyway.
    pub unsafe_path: Option<String>,
}

/// The one decision on whether vrrpd runs a configured command (tracker,
/// notify command, FIFO script): the daemon and `vrrpd check` both call
/// it, so what `check` says is what happens. keepalived's rules: the
/// program must be found and executable, its user must exist, and with
/// `enable_script_security` a command run as root must not be replaceable
/// by anyone else (see [`insecure_path`]).
pub fn admit(cmd: &Command, global: &Global) -> Result<Admitted, ScriptError> {
    let exec = Exec::resolve(cmd, global)?;
    if !exec.runs_as_root() {
        return Ok(Admitted {
            exec,
            unsafe_path: None,
        });
    }
    let security = global.enable_script_security;
    if security && !exec.program.is_absolute() {
        return Err(ScriptError::Relative(exec.program.display().to_string()));
    }
    match insecure_path(&exec.program) {
        Some(why) if security => Err(ScriptError::Insecure(why)),
        unsafe_path => Ok(Admitted { exec, unsafe_path }),
    }
}

/// The log line for a command [`admit`] refused (`what` names it, e.g.
/// ``(VI_1) notify_master `/x` ``); `vrrpd check` prints the same words.
pub fn refused_line(what: &str, e: &ScriptError) -> String {
    match e {
        // keepalived's words, which users grep for.
        ScriptError::Insecure(why) => {
            format!("Unsafe permissions found for script {what}: {why} - disabling")
        }
        e => format!("{what}: {e} - disabling"),
    }
}

/// The warning for an admitted command that would be refused under
/// `enable_script_security`.
pub fn unsafe_line(what: &str, why: &str) -> String {
    format!("{what}: unsafe permissions: {why}; run anyway: enable_script_security is off")
}

/// The environment a command gets: [`SAFE_PATH`] and, from ours, only the
/// locale and time zone. Everything else stays behind: systemd's
/// NOTIFY_SOCKET (a script could report READY=1 or MAINPID= for the
/// daemon), LISTEN_FDS/LISTEN_PID, WATCHDOG_*, INVOCATION_ID, the loader's
/// LD_* and anything an operator exported for the daemon.
pub fn script_env<I>(ours: I) -> Vec<(OsString, OsString)>
where
    I: IntoIterator<Item = (OsString, OsString)>,
{
    let passes = |k: &OsString| {
        let k = k.to_string_lossy();
        matches!(k.as_ref(), "LANG" | "LANGUAGE" | "TZ") || k.starts_with("LC_")
    };
    let mut env: Vec<(OsString, OsString)> = ours.into_iter().filter(|(k, _)| passes(k)).collect();
    env.push(("PATH".into(), SAFE_PATH.into()));
    env
}

/// A resolved command: program path, arguments and the identity to run as.
#[derive(Debug, Clone)]
pub struct Exec {
    pub program: PathBuf,
    pub args: Vec<String>,
    /// (uid, gid); None = our own.
    pub ids: Option<(u32, u32)>,
    /// The command as configured, for logs.
    pub text: String,
}

impl Exec {
    /// Resolves `cmd` (argv split, PATH lookup) and its user: the command's
    /// own, else `script_user`, else (running as root) keepalived's
    /// `keepalived_script` if it exists, else the unprivileged [`FALLBACK_USER`]
    /// (keepalived would run it as root); else ourselves.
    pub fn resolve(cmd: &Command, global: &Global) -> Result<Exec, ScriptError> {
        let argv = split_argv(&cmd.cmd);
        let Some(first) = argv.first() else {
            return Err(ScriptError::Empty);
        };
        let program = find_program(first)?;
        let ids = match cmd.run_as.as_deref().or(global.script_user.as_ref()) {
            Some(run_as) => Some(lookup_ids(run_as)?),
            None => default_ids(),
        };
        Ok(Exec {
            program,
            args: argv[1..].to_vec(),
            ids,
            text: cmd.cmd.clone(),
        })
    }

    /// True when the command will run with uid 0.
    pub fn runs_as_root(&self) -> bool {
        match self.ids {
            Some((uid, _)) => uid == 0,
            None => nix::unistd::geteuid().is_root(),
        }
    }

    /// A tokio command ready to spawn in its own process group, with the
    /// environment of [`script_env`].
    pub fn command(&self) -> tokio::process::Command {
        let mut c = tokio::process::Command::new(&self.program);
        c.args(&self.args)
            .env_clear()
            .envs(script_env(std::env::vars_os()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        if let Some((uid, gid)) = self.ids {
            c.uid(uid).gid(gid);
        }
        c
    }
}

/// The system user the Debian package creates for scripts: used when vrrpd
/// runs as root and neither `script_user` nor keepalived's
/// `keepalived_script` user is there. Unlike `nobody`, no other service
/// shares it, so no other process can signal or ptrace its scripts.
pub const DEDICATED_USER: &str = "vrrpd-script";

/// The last resort when not even [`DEDICATED_USER`] exists.
pub const FALLBACK_USER: &str = "nobody";

/// Who runs a command that names no user, when `script_user` is unset
/// (None = ourselves): `keepalived_script`, else [`DEDICATED_USER`], else
/// [`FALLBACK_USER`], the first that exists.
pub fn default_user() -> Option<(String, u32, u32)> {
    if !nix::unistd::geteuid().is_root() {
        return None;
    }
    pick_default_user(|name| match nix::unistd::User::from_name(name) {
        Ok(Some(u)) => Some((u.uid.as_raw(), u.gid.as_raw())),
        _ => None,
    })
}

/// [`default_user`]'s order over `lookup` (name -> uid, gid).
pub fn pick_default_user<F>(lookup: F) -> Option<(String, u32, u32)>
where
    F: Fn(&str) -> Option<(u32, u32)>,
{
    ["keepalived_script", DEDICATED_USER, FALLBACK_USER]
        .into_iter()
        .find_map(|name| lookup(name).map(|(uid, gid)| (name.to_string(), uid, gid)))
}

fn default_ids() -> Option<(u32, u32)> {
    default_user().map(|(_, uid, gid)| (uid, gid))
}

fn lookup_ids(run_as: &RunAs) -> Result<(u32, u32), ScriptError> {
    let user = match nix::unistd::User::from_name(&run_as.user) {
        Ok(Some(u)) => u,
        _ => return Err(ScriptError::NoUser(run_as.user.clone())),
    };
    let gid = match &run_as.group {
        Some(g) => match nix::unistd::Group::from_name(g) {
            Ok(Some(g)) => g.gid.as_raw(),
            _ => return Err(ScriptError::NoGroup(g.clone())),
        },
        None => user.gid.as_raw(),
    };
    Ok((user.uid.as_raw(), gid))
}

fn find_program(name: &str) -> Result<PathBuf, ScriptError> {
    let executable = |p: &Path| {
        std::fs::metadata(p)
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    };
    if name.contains('/') {
        let p = PathBuf::from(name);
        if !p.exists() {
            return Err(ScriptError::NotFound(name.to_string()));
        }
        if !executable(&p) {
            return Err(ScriptError::NotExecutable(name.to_string()));
        }
        return Ok(p);
    }
    SAFE_PATH
        .split(':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(name))
        .find(|p| executable(p))
        .ok_or_else(|| ScriptError::NotFound(name.to_string()))
}

/// With `enable_script_security`, a script run as root must not be
/// replaceable by anyone else: the file and every directory above it must be
/// owned by root and not writable by group or others (a sticky
/// world-writable directory such as /tmp is accepted: others cannot rename
/// a root-owned file in it). Checked on the path as written (a link, or a
/// directory holding one, that someone else controls can be repointed even
/// when its target is safe: keepalived's `check_security` walks it too) and
/// on the path it resolves to. Returns which path is unsafe and why.
pub fn insecure_path(path: &Path) -> Option<String> {
    if path.is_absolute() {
        if let Some(why) = insecure_chain(path, true) {
            return Some(why);
        }
    }
    match std::fs::canonicalize(path) {
        Ok(real) => insecure_chain(&real, false),
        Err(e) => Some(format!("{} cannot be examined: {e}", path.display())),
    }
}

/// `path` and its ancestors, each examined without following a final link
/// when `as_written` (the links themselves are what can be repointed).
fn insecure_chain(path: &Path, as_written: bool) -> Option<String> {
    let mut cur: Option<&Path> = Some(path);
    let mut first = true;
    while let Some(p) = cur.filter(|p| !p.as_os_str().is_empty()) {
        let meta = if as_written {
            std::fs::symlink_metadata(p)
        } else {
            std::fs::metadata(p)
        };
        let m = match meta {
            Ok(m) => m,
            Err(e) => return Some(format!("{} cannot be examined: {e}", p.display())),
        };
        if let Some(why) = insecure_entry(p, &m, first) {
            return Some(why);
        }
        first = false;
        cur = p.parent();
    }
    None
}

fn insecure_entry(p: &Path, m: &std::fs::Metadata, first: bool) -> Option<String> {
    let mode = m.mode();
    if m.uid() != 0 {
        return Some(format!(
            "{} is owned by uid {}, not root",
            p.display(),
            m.uid()
        ));
    }
    // A link's own mode means nothing (always 0777).
    if m.file_type().is_symlink() {
        return None;
    }
    let sticky_dir = !first && m.is_dir() && mode & 0o1000 != 0;
    if mode & 0o002 != 0 && !sticky_dir {
        return Some(format!(
            "{} is writable by others (mode {:04o})",
            p.display(),
            mode & 0o7777
        ));
    }
    if mode & 0o020 != 0 && m.gid() != 0 && !sticky_dir {
        return Some(format!(
            "{} is writable by group {} (mode {:04o})",
            p.display(),
            m.gid(),
            mode & 0o7777
        ));
    }
    None
}

/// How one run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Exited(i32),
    Signalled(i32),
    TimedOut,
    SpawnFailed(String),
}

impl Outcome {
    pub fn success(&self) -> bool {
        *self == Outcome::Exited(0)
    }

    fn from_status(s: ExitStatus) -> Outcome {
        use std::os::unix::process::ExitStatusExt;
        match (s.code(), s.signal()) {
            (Some(c), _) => Outcome::Exited(c),
            (None, Some(sig)) => Outcome::Signalled(sig),
            _ => Outcome::Exited(-1),
        }
    }
}

/// A finished run: how it ended and the first [`OUTPUT_LIMIT`] bytes of its output.
#[derive(Debug, Clone)]
pub struct RunResult {
    pub outcome: Outcome,
    pub output: String,
}

/// Kills the whole process group of a spawned command when dropped before
/// it was reaped (timeout, or the tracker set stopped mid-run).
struct GroupGuard(Option<i32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.0 {
            kill_group(pgid, nix::sys::signal::Signal::SIGKILL);
        }
    }
}

fn kill_group(pgid: i32, sig: nix::sys::signal::Signal) {
    let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pgid), sig);
}

async fn read_bounded<R: tokio::io::AsyncRead + Unpin>(mut r: R) -> Vec<u8> {
    let mut kept = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = OUTPUT_LIMIT.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
    kept
}

/// Runs `exec` once with a deadline; on timeout the process group gets
/// SIGTERM, then SIGKILL after [`KILL_GRACE`]; always reaped before return.
pub async fn run_once(exec: &Exec, timeout: Duration) -> RunResult {
    let mut child = match exec.command().spawn() {
        Ok(c) => c,
        Err(e) => {
            return RunResult {
                outcome: Outcome::SpawnFailed(e.to_string()),
                output: String::new(),
            }
        }
    };
    let pgid = child.id().and_then(|p| i32::try_from(p).ok());
    let mut guard = GroupGuard(pgid);
    let out = child.stdout.take().map(|o| tokio::spawn(read_bounded(o)));
    let err = child.stderr.take().map(|e| tokio::spawn(read_bounded(e)));
    let outcome = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) => Outcome::from_status(status),
        Ok(Err(e)) => Outcome::SpawnFailed(e.to_string()),
        Err(_) => {
            if let Some(pgid) = pgid {
                kill_group(pgid, nix::sys::signal::Signal::SIGTERM);
            }
            if tokio::time::timeout(KILL_GRACE, child.wait())
                .await
                .is_err()
            {
                if let Some(pgid) = pgid {
                    kill_group(pgid, nix::sys::signal::Signal::SIGKILL);
                }
                let _ = child.wait().await;
            }
            Outcome::TimedOut
        }
    };
    // A grandchild may still hold the pipes: do not wait for it; and make
    // sure nothing of the group survives a timeout.
    if outcome != Outcome::TimedOut {
        guard.0 = None;
    }
    drop(guard);
    let mut output = Vec::new();
    for h in [out, err].into_iter().flatten() {
        if let Ok(Ok(bytes)) = tokio::time::timeout(Duration::from_millis(50), h).await {
            output.extend(bytes);
        }
    }
    output.truncate(OUTPUT_LIMIT);
    RunResult {
        outcome,
        output: String::from_utf8_lossy(&output).into_owned(),
    }
}

/// A `vrrp_script` ready to run.
#[derive(Debug, Clone)]
pub struct ScriptSpec {
    pub name: String,
    pub exec: Exec,
    /// See [`Admitted::unsafe_path`].
    pub unsafe_path: Option<String>,
    pub interval: Duration,
    pub timeout: Duration,
    pub rise: u32,
    pub fall: u32,
    pub init_fail: bool,
}

impl ScriptSpec {
    /// The script's spec if [`admit`] accepts its command.
    pub fn from_config(s: &VrrpScript, global: &Global) -> Result<ScriptSpec, ScriptError> {
        let Admitted { exec, unsafe_path } = admit(&s.script, global)?;
        let interval = s.interval.as_duration().max(Duration::from_millis(1));
        Ok(ScriptSpec {
            name: s.name.clone(),
            exec,
            unsafe_path,
            interval,
            timeout: s.timeout.map(|t| t.as_duration()).unwrap_or(interval),
            rise: s.rise,
            fall: s.fall,
            init_fail: s.init_fail,
        })
    }

    pub fn runs_as_root(&self) -> bool {
        self.exec.runs_as_root()
    }

    /// How logs and `vrrpd check` name this script.
    pub fn what(name: &str, cmd: &Command) -> String {
        format!("VRRP_Script({name}) `{}`", cmd.cmd)
    }
}

/// The tracker loop: one run per interval, never two at once; reports the
/// initial state, then every change.
pub async fn run(
    spec: ScriptSpec,
    initial: Option<bool>,
    tx: mpsc::UnboundedSender<Update>,
    observer: super::Observer,
) {
    let key = super::TrackerKey::new(Kind::Script, &spec.name);
    let mut rf = RiseFall::new(spec.rise, spec.fall, spec.init_fail, initial);
    let reading = |ok| if ok { Reading::Ok } else { Reading::Failed };
    if !send(&tx, Kind::Script, &spec.name, reading(rf.ok())) {
        return;
    }
    let mut ticker = tokio::time::interval(spec.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last: Option<Outcome> = None;
    loop {
        ticker.tick().await;
        let started = tokio::time::Instant::now();
        let result = run_once(&spec.exec, spec.timeout).await;
        let took = started.elapsed();
        if let Some(o) = &observer {
            o.observe(&key, result.outcome.success(), took);
        }
        if took > spec.interval {
            debug!(
                "Track script {} is already running/being timed out, expect idle - skipping run",
                spec.name
            );
        }
        let code_changed = last.as_ref() != Some(&result.outcome);
        if code_changed {
            match &result.outcome {
                Outcome::Exited(c) => info!("Script `{}` now returning {c}", spec.name),
                Outcome::SpawnFailed(e) => warn!("Script `{}` cannot run: {e}", spec.name),
                _ => {}
            }
        }
        let change = rf.record(result.outcome.success());
        match (&result.outcome, change) {
            (_, Some(true)) => info!("VRRP_Script({}) succeeded", spec.name),
            (Outcome::TimedOut, _) => info!("VRRP_Script({}) timed_out", spec.name),
            (Outcome::Exited(c), Some(false)) => {
                info!("VRRP_Script({}) failed (exited with status {c})", spec.name)
            }
            (Outcome::Signalled(s), Some(false)) => {
                info!("VRRP_Script({}) failed (due to signal {s})", spec.name)
            }
            (Outcome::SpawnFailed(_), Some(false)) => {
                info!("VRRP_Script({}) failed (cannot run)", spec.name)
            }
            _ => {}
        }
        if !result.outcome.success() && code_changed && !result.output.is_empty() {
            debug!(
                "VRRP_Script({}) output: {}",
                spec.name,
                result.output.trim_end()
            );
        }
        last = Some(result.outcome);
        if let Some(ok) = change {
            if !send(&tx, Kind::Script, &spec.name, reading(ok)) {
                return;
            }
        }
    }
}
