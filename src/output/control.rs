//! The control socket: `vrrpd status`, `status -w`, `demote`, `promote` and
//! `reload` ask the running daemon over a Unix socket.
//!
//! Protocol version 1: the client sends one JSON object on one line, the
//! daemon answers with one JSON line and closes, except `watch`, which
//! answers and then streams one event per line until either side closes.
//!
//! ```text
//! {"v":1,"cmd":"status"}                                  -> {"v":1,"ok":true,"instances":[..],..}
//! {"v":1,"cmd":"watch"}                                   -> {"v":1,"ok":true,"watch":true}, then events
//! {"v":1,"cmd":"demote","instance":"VI_1","reason":"..."} -> {"v":1,"ok":true,"instance":"VI_1","changed":true,..}
//! {"v":1,"cmd":"promote","instance":"VI_1"}               -> the same
//! {"v":1,"cmd":"reload"}                                  -> {"v":1,"ok":true,"plan":{..},"diagnostics":[..]}
//! {"v":1,"cmd":"upgrade"}                                 -> {"v":1,"ok":true,"pid":N,"old_pid":M,..} from the old daemon
//! anything wrong                                          -> {"v":1,"ok":false,"error":"..."}
//! ```
//!
//! `v` may be left out (1). Only root, the daemon's own user and members
//! of the `vrrpd` group may ask (checked with SO_PEERCRED, whatever the file
//! mode says). A malformed, oversized or missing request gets an error reply
//! here and never reaches the driver; a slow watcher loses events (with a
//! `lost` marker) rather than slowing the driver.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::Deserialize;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{broadcast, mpsc, oneshot, Semaphore};
use tracing::{debug, warn};

/// Where the daemon listens unless told otherwise.
pub const DEFAULT_SOCKET: &str = "/run/vrrpd/vrrpd.sock";
/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u64 = 1;
/// Longest request line accepted.
const MAX_REQUEST: usize = 4096;
/// A client that connects and sends nothing is dropped after this.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections served at once; more get an error at once.
const MAX_CONNECTIONS: usize = 64;
/// Watchers at once (each holds a connection too).
const MAX_WATCHERS: usize = 16;
/// Events buffered for the watchers; one that falls further behind loses
/// the oldest and is told how many.
const WATCH_QUEUE: usize = 256;
/// A watcher that does not take a line for this long is dropped.
const WATCH_WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest instance name and demotion note accepted.
const MAX_NAME: usize = 128;
const MAX_NOTE: usize = 256;

/// What a client may ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Status,
    /// Stream state changes, starting with every instance's current state.
    Watch,
    /// Maintenance: leave the election until `Promote` or a restart.
    Demote {
        instance: String,
        note: Option<String>,
    },
    Promote {
        instance: String,
    },
    /// As SIGHUP, with the validation result in the reply.
    Reload,
    /// Hand over to the binary now on disk (`vrrpd upgrade`), answered
    /// once the new process is ready or refused.
    Upgrade,
}

impl Command {
    fn name(&self) -> &'static str {
        match self {
            Command::Status => "status",
            Command::Watch => "watch",
            Command::Demote { .. } => "demote",
            Command::Promote { .. } => "promote",
            Command::Reload => "reload",
            Command::Upgrade => "upgrade",
        }
    }

    /// The request line a client sends (without the newline).
    pub fn to_request(&self) -> String {
        let mut req = json!({ "v": PROTOCOL_VERSION, "cmd": self.name() });
        match self {
            Command::Demote { instance, note } => {
                req["instance"] = json!(instance);
                if let Some(note) = note {
                    req["reason"] = json!(note);
                }
            }
            Command::Promote { instance } => req["instance"] = json!(instance),
            _ => {}
        }
        req.to_string()
    }
}

/// Who sent a request (SO_PEERCRED).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    pub uid: u32,
    pub gid: u32,
    pub pid: Option<i32>,
}

/// A request for the driver, answered on `reply`.
pub struct ControlRequest {
    pub command: Command,
    pub peer: Peer,
    pub reply: oneshot::Sender<Reply>,
}

/// The driver's answer.
pub enum Reply {
    /// One JSON object; `ok` and `v` are added if missing.
    Value(Value),
    /// The start of a watch: every instance's current state, and the event
    /// stream subscribed at the same moment (nothing lost in between).
    Watch {
        snapshot: Vec<Value>,
        events: broadcast::Receiver<Arc<Value>>,
    },
}

/// What kind of error a reply carries (its `code` field), so a client can
/// choose an exit status without parsing the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// Not root, not the daemon's user, not in the `vrrpd` group.
    Permission,
    /// Malformed, oversized, unknown or missing request.
    Request,
    /// Too many connections or watchers.
    Busy,
    Stopping,
    UnknownInstance,
    /// `reload`: the new configuration has errors; nothing changed.
    Config,
    /// `reload`: valid, but it could not be applied (the kernel lookups
    /// timed out, say); the running configuration is kept.
    Apply,
    /// `upgrade`: the new binary did not take over; the old one runs on.
    Upgrade,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Permission => "permission",
            ErrorCode::Request => "request",
            ErrorCode::Busy => "busy",
            ErrorCode::Stopping => "stopping",
            ErrorCode::UnknownInstance => "unknown_instance",
            ErrorCode::Config => "config",
            ErrorCode::Apply => "apply",
            ErrorCode::Upgrade => "upgrade",
        }
    }
}

fn error_value(code: ErrorCode, message: impl Into<String>) -> Value {
    json!({ "v": PROTOCOL_VERSION, "ok": false, "code": code.as_str(), "error": message.into() })
}

/// The driver's side of `watch`: publishes events to every watcher without
/// ever waiting for one.
#[derive(Clone)]
pub struct Events {
    tx: broadcast::Sender<Arc<Value>>,
}

impl Default for Events {
    fn default() -> Self {
        Events {
            tx: broadcast::channel(WATCH_QUEUE).0,
        }
    }
}

impl Events {
    /// Sends `event` (an object with an `event` field) to the watchers,
    /// stamped with the wall-clock time.
    pub fn publish(&self, mut event: Value) {
        if self.tx.receiver_count() == 0 {
            return;
        }
        event["time"] = json!(utc_timestamp(SystemTime::now()));
        let _ = self.tx.send(Arc::new(event));
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Value>> {
        self.tx.subscribe()
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ControlError {
    #[error("cannot reach the daemon at {path}: {source} (is vrrpd running?)")]
    Connect {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("permission denied on {path}: root or the vrrpd group only")]
    NotAllowed { path: String },
    #[error("talking to the daemon: {0}")]
    Io(#[from] io::Error),
    /// The daemon answered with an error; `reply` is the whole answer.
    #[error("{message}")]
    Refused { message: String, reply: Value },
    #[error("unreadable reply from the daemon: {0}")]
    Reply(#[from] serde_json::Error),
    #[error("the daemon closed the connection")]
    Closed,
}

impl ControlError {
    /// The `code` of an error reply (see [`ErrorCode`]), if this is one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ControlError::Refused { reply, .. } => reply.get("code").and_then(Value::as_str),
            _ => None,
        }
    }
}

/// The socket next to the pid file (`x.pid` -> `x.sock`), so several daemons
/// on one host (one per network namespace, say) do not collide; else
/// [`DEFAULT_SOCKET`].
pub fn socket_path(pid_file: Option<&Path>) -> PathBuf {
    match pid_file {
        Some(pid) => pid.with_extension("sock"),
        None => PathBuf::from(DEFAULT_SOCKET),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    #[serde(default)]
    v: Option<u64>,
    cmd: String,
    #[serde(default)]
    instance: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

const COMMANDS: &str = "status, watch, demote, promote, reload, upgrade";

/// Parses one request line, e.g. `{"cmd":"demote","instance":"VI_1"}`.
pub fn parse_request(line: &str) -> Result<Command, String> {
    let line = line.trim();
    if line.is_empty() {
        return Err(format!(
            "empty request (expected one JSON object per line, e.g. {{\"cmd\":\"status\"}}; commands: {COMMANDS})"
        ));
    }
    let req: Request = serde_json::from_str(line).map_err(|e| {
        format!("malformed request: {e} (expected one JSON object per line, e.g. {{\"cmd\":\"status\"}})")
    })?;
    if let Some(v) = req.v.filter(|v| *v != PROTOCOL_VERSION) {
        return Err(format!(
            "unsupported protocol version {v} (this daemon speaks {PROTOCOL_VERSION})"
        ));
    }
    let cmd = req.cmd.as_str();
    if !matches!(
        cmd,
        "status" | "watch" | "demote" | "promote" | "reload" | "upgrade"
    ) {
        let shown: String = cmd.chars().take(32).collect();
        return Err(format!(
            "unknown command '{}' (expected one of: {COMMANDS})",
            shown.escape_debug()
        ));
    }
    if !matches!(cmd, "demote" | "promote") && req.instance.is_some() {
        return Err(format!("'{cmd}' takes no instance"));
    }
    if cmd != "demote" && req.reason.is_some() {
        return Err(format!("'{cmd}' takes no reason"));
    }
    let instance = || -> Result<String, String> {
        let name = req
            .instance
            .clone()
            .ok_or_else(|| format!("'{cmd}' needs an instance name"))?;
        if name.is_empty() || name.len() > MAX_NAME || name.chars().any(char::is_control) {
            return Err(format!(
                "bad instance name (1 to {MAX_NAME} bytes, no control characters)"
            ));
        }
        Ok(name)
    };
    match cmd {
        "status" => Ok(Command::Status),
        "watch" => Ok(Command::Watch),
        "reload" => Ok(Command::Reload),
        "upgrade" => Ok(Command::Upgrade),
        "promote" => Ok(Command::Promote {
            instance: instance()?,
        }),
        "demote" => {
            let note = req.reason.clone().filter(|n| !n.is_empty());
            if let Some(n) = &note {
                if n.len() > MAX_NOTE || n.chars().any(char::is_control) {
                    return Err(format!(
                        "bad reason (at most {MAX_NOTE} bytes, no control characters)"
                    ));
                }
            }
            Ok(Command::Demote {
                instance: instance()?,
                note,
            })
        }
        _ => Err(format!("unknown command '{cmd}'")),
    }
}

/// The control socket being served.
pub struct Serving {
    /// The listening descriptor, handed to the successor of an in-place
    /// upgrade (valid until [`Serving::stop`]).
    pub fd: std::os::fd::RawFd,
    task: tokio::task::AbortHandle,
}

impl Serving {
    /// Stops accepting (closes this process's copy of the listener): the
    /// successor of an upgrade accepts from then on.
    pub fn stop(&self) {
        self.task.abort();
    }
}

/// Binds `path` and serves requests until the daemon exits; requests go to
/// the driver through `to_driver`.
pub fn serve(path: &Path, to_driver: mpsc::Sender<ControlRequest>) -> io::Result<Serving> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // A stale socket from a killed daemon would make bind fail.
    let _ = std::fs::remove_file(path);
    let listener = std::os::unix::net::UnixListener::bind(path)?;
    restrict_mode(path)?;
    serve_listener(listener, to_driver)
}

/// Serves requests on an already listening socket: the one a predecessor
/// passed on an in-place upgrade (its path, mode and queued connections
/// stay as they are).
pub fn serve_listener(
    listener: std::os::unix::net::UnixListener,
    to_driver: mpsc::Sender<ControlRequest>,
) -> io::Result<Serving> {
    use std::os::fd::AsRawFd;
    listener.set_nonblocking(true)?;
    let fd = listener.as_raw_fd();
    let listener = UnixListener::from_std(listener)?;
    let connections = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let watchers = Arc::new(Semaphore::new(MAX_WATCHERS));
    let task = tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let tx = to_driver.clone();
                    let watchers = watchers.clone();
                    let permit = connections.clone().try_acquire_owned();
                    tokio::spawn(async move {
                        let result = match permit {
                            Ok(_permit) => answer(stream, tx, watchers).await,
                            Err(_) => {
                                let msg = format!(
                                    "too many control connections (limit {MAX_CONNECTIONS})"
                                );
                                let (_, mut w) = stream.into_split();
                                write_line(&mut w, &error_value(ErrorCode::Busy, msg)).await
                            }
                        };
                        if let Err(e) = result {
                            debug!("control connection: {e}");
                        }
                    });
                }
                Err(e) => {
                    warn!("control socket accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    });
    Ok(Serving {
        fd,
        task: task.abort_handle(),
    })
}

fn restrict_mode(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))?;
    if let Ok(Some(group)) = nix::unistd::Group::from_name("vrrpd") {
        // Best effort: without the group only root can connect.
        let _ = nix::unistd::chown(path, None, Some(group.gid));
    }
    Ok(())
}

/// Root, our own user, or a member of the `vrrpd` group (primary or
/// supplementary: SO_PEERCRED has only the primary gid, the rest is read
/// from /proc/PID/status).
fn authorize(cred: tokio::net::unix::UCred) -> Result<Peer, String> {
    let peer = Peer {
        uid: cred.uid(),
        gid: cred.gid(),
        pid: cred.pid(),
    };
    if peer.uid == 0 || peer.uid == nix::unistd::geteuid().as_raw() {
        return Ok(peer);
    }
    if let Ok(Some(group)) = nix::unistd::Group::from_name("vrrpd") {
        let gid = group.gid.as_raw();
        if peer.gid == gid
            || peer
                .pid
                .is_some_and(|pid| supplementary_groups(pid).contains(&gid))
        {
            return Ok(peer);
        }
    }
    Err(format!(
        "permission denied for uid {}: root or the vrrpd group only",
        peer.uid
    ))
}

fn supplementary_groups(pid: i32) -> Vec<u32> {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return Vec::new();
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("Groups:"))
        .map(|g| {
            g.split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

async fn write_line(w: &mut OwnedWriteHalf, value: &Value) -> io::Result<()> {
    let mut text = value.to_string();
    text.push('\n');
    w.write_all(text.as_bytes()).await
}

/// Reads one request line: at most [`MAX_REQUEST`] bytes, within
/// [`REQUEST_TIMEOUT`]; a request ended by EOF instead of a newline counts.
async fn read_request<R: tokio::io::AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
) -> Result<Command, String> {
    let mut buf = Vec::new();
    let mut limited = (&mut *reader).take(MAX_REQUEST as u64 + 1);
    match tokio::time::timeout(REQUEST_TIMEOUT, limited.read_until(b'\n', &mut buf)).await {
        Err(_) => return Err(format!("no request within {} s", REQUEST_TIMEOUT.as_secs())),
        Ok(Err(e)) => return Err(format!("reading the request: {e}")),
        Ok(Ok(_)) => {}
    }
    if buf.len() > MAX_REQUEST {
        return Err(format!("request too long (limit {MAX_REQUEST} bytes)"));
    }
    let line = std::str::from_utf8(&buf).map_err(|_| "request is not UTF-8".to_string())?;
    parse_request(line)
}

async fn answer(
    stream: UnixStream,
    to_driver: mpsc::Sender<ControlRequest>,
    watchers: Arc<Semaphore>,
) -> io::Result<()> {
    // The group lookup may wait on NSS (LDAP, sssd): never on the driver's
    // thread, which runs the adverts.
    let peer = match stream.peer_cred() {
        Ok(cred) => tokio::task::spawn_blocking(move || authorize(cred))
            .await
            .unwrap_or_else(|e| Err(format!("cannot identify the client: {e}"))),
        Err(e) => Err(format!("cannot identify the client: {e}")),
    };
    let (r, mut w) = stream.into_split();
    let peer = match peer {
        Ok(peer) => peer,
        Err(message) => {
            return write_line(&mut w, &error_value(ErrorCode::Permission, message)).await
        }
    };
    let mut reader = BufReader::new(r);
    let command = match read_request(&mut reader).await {
        Ok(command) => command,
        Err(message) => return write_line(&mut w, &error_value(ErrorCode::Request, message)).await,
    };
    let _watch_permit = if command == Command::Watch {
        match watchers.try_acquire_owned() {
            Ok(permit) => Some(permit),
            Err(_) => {
                let msg = format!("too many watchers (limit {MAX_WATCHERS})");
                return write_line(&mut w, &error_value(ErrorCode::Busy, msg)).await;
            }
        }
    } else {
        None
    };
    let (tx, rx) = oneshot::channel();
    let stopping = || error_value(ErrorCode::Stopping, "the daemon is stopping");
    let sent = to_driver
        .send(ControlRequest {
            command,
            peer,
            reply: tx,
        })
        .await;
    if sent.is_err() {
        return write_line(&mut w, &stopping()).await;
    }
    match rx.await {
        Err(_) => write_line(&mut w, &stopping()).await,
        Ok(Reply::Value(mut value)) => {
            if let Value::Object(map) = &mut value {
                map.entry("v").or_insert(json!(PROTOCOL_VERSION));
                map.entry("ok").or_insert(json!(true));
            }
            write_line(&mut w, &value).await
        }
        Ok(Reply::Watch { snapshot, events }) => stream_events(reader, w, snapshot, events).await,
    }
}

/// One line to a watcher, or an error if it does not take it in time.
async fn send(w: &mut OwnedWriteHalf, value: Value) -> io::Result<()> {
    match tokio::time::timeout(WATCH_WRITE_TIMEOUT, write_line(w, &value)).await {
        Ok(result) => result,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "watcher too slow; dropped",
        )),
    }
}

/// Writes the snapshot, then every event, until the client goes away, falls
/// [`WATCH_WRITE_TIMEOUT`] behind on one line, or the daemon stops.
async fn stream_events<R: tokio::io::AsyncRead + Unpin>(
    mut reader: BufReader<R>,
    mut w: OwnedWriteHalf,
    snapshot: Vec<Value>,
    mut events: broadcast::Receiver<Arc<Value>>,
) -> io::Result<()> {
    send(
        &mut w,
        json!({ "v": PROTOCOL_VERSION, "ok": true, "watch": true }),
    )
    .await?;
    for state in snapshot {
        send(&mut w, state).await?;
    }
    let mut scratch = [0u8; 256];
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(event) => send(&mut w, (*event).clone()).await?,
                Err(broadcast::error::RecvError::Lagged(count)) => {
                    let lost = json!({
                        "event": "lost",
                        "count": count,
                        "time": utc_timestamp(SystemTime::now()),
                    });
                    send(&mut w, lost).await?;
                }
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            },
            // The client closed (or wrote something, which a watch ignores).
            read = reader.read(&mut scratch) => {
                if matches!(read, Ok(0) | Err(_)) {
                    return Ok(());
                }
            }
        }
    }
}

async fn connect(path: &Path) -> Result<UnixStream, ControlError> {
    UnixStream::connect(path).await.map_err(|source| {
        if source.kind() == io::ErrorKind::PermissionDenied {
            ControlError::NotAllowed {
                path: path.display().to_string(),
            }
        } else {
            ControlError::Connect {
                path: path.display().to_string(),
                source,
            }
        }
    })
}

fn check_reply(value: Value) -> Result<Value, ControlError> {
    let failed = value.get("ok") == Some(&Value::Bool(false)) || value.get("error").is_some();
    if failed {
        let message = value
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("request refused")
            .to_string();
        return Err(ControlError::Refused {
            message,
            reply: value,
        });
    }
    Ok(value)
}

async fn read_reply<R: tokio::io::AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
) -> Result<Value, ControlError> {
    let mut line = String::new();
    if reader.read_line(&mut line).await? == 0 {
        return Err(ControlError::Closed);
    }
    Ok(serde_json::from_str(&line)?)
}

/// Sends the request line. A daemon that refuses the caller answers and
/// closes without reading it, so a failed write is reported only when no
/// reply can be read either.
async fn send_request<R: tokio::io::AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
    w: &mut OwnedWriteHalf,
    command: &Command,
) -> Result<Value, ControlError> {
    let mut line = command.to_request();
    line.push('\n');
    let written = w.write_all(line.as_bytes()).await;
    match (read_reply(reader).await, written) {
        (Ok(reply), _) => check_reply(reply),
        (Err(_), Err(e)) => Err(e.into()),
        (Err(e), Ok(())) => Err(e),
    }
}

/// Client side: sends `command`, returns the daemon's reply (an error reply
/// is [`ControlError::Refused`]).
pub async fn request(path: &Path, command: &Command) -> Result<Value, ControlError> {
    let (r, mut w) = connect(path).await?.into_split();
    send_request(&mut BufReader::new(r), &mut w, command).await
}

/// Client side of `watch`: calls `on_event` for every event line until the
/// daemon closes the stream (Ok) or `on_event` returns false.
pub async fn watch(
    path: &Path,
    mut on_event: impl FnMut(&Value) -> bool,
) -> Result<(), ControlError> {
    let (r, mut w) = connect(path).await?.into_split();
    let mut reader = BufReader::new(r);
    send_request(&mut reader, &mut w, &Command::Watch).await?;
    loop {
        let event = match read_reply(&mut reader).await {
            Ok(event) => event,
            Err(ControlError::Closed) => return Ok(()),
            Err(e) => return Err(e),
        };
        if !on_event(&event) {
            return Ok(());
        }
    }
}

/// `2024-05-01T12:00:00.123Z` (UTC, milliseconds).
pub fn utc_timestamp(t: SystemTime) -> String {
    let since = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_millis()
    )
}

/// One watch event as a readable line.
pub fn render_event(e: &Value) -> String {
    let s = |k: &str| e[k].as_str().unwrap_or("-").to_string();
    let time = s("time");
    let name = s("instance");
    match e["event"].as_str().unwrap_or("") {
        "state" => {
            let mut line = format!(
                "{time} {name} is {} since {} ({}), priority {}",
                s("state"),
                s("since"),
                s("reason"),
                e["priority"]
            );
            if let Some(vips) = e["vips_held"].as_array().filter(|v| !v.is_empty()) {
                let vips: Vec<&str> = vips.iter().filter_map(Value::as_str).collect();
                line.push_str(&format!(", holding {}", vips.join(", ")));
            }
            if e["demoted"].is_object() {
                line.push_str(", demoted");
            }
            line
        }
        "transition" => format!(
            "{time} {name} {} -> {} ({}), priority {}",
            s("from"),
            s("to"),
            s("reason"),
            e["priority"]
        ),
        "priority" => format!("{time} {name} priority {} -> {}", e["from"], e["to"]),
        "demoted" | "promoted" => {
            let mut line = format!("{time} {name} {} by uid {}", s("event"), e["by_uid"]);
            if let Some(note) = e["reason"].as_str() {
                line.push_str(&format!(": {note}"));
            }
            line
        }
        "reload" => format!("{time} reload: {}", s("summary")),
        "lost" => format!(
            "{time} {} event(s) lost: this watcher fell behind",
            e["count"]
        ),
        "stopping" => format!("{time} the daemon is stopping"),
        other => format!("{time} {other} {e}"),
    }
}

/// An instance's cloud backend: what it moves, who holds it, the last
/// claim and the failure being retried.
fn render_cloud(c: &serde_json::Map<String, Value>) -> String {
    let s = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("-").to_string();
    let mut out = format!(
        "  cloud     {} on {}: holder {}{}\n",
        s("moves"),
        s("interface"),
        c.get("holder")
            .and_then(Value::as_str)
            .unwrap_or("not read yet"),
        match c.get("observed_ms_ago").and_then(Value::as_u64) {
            Some(ms) => format!(" (read {ms} ms ago)"),
            None => String::new(),
        }
    );
    if let Some(l) = c.get("last_claim").and_then(Value::as_object) {
        let n = |k: &str| l.get(k).and_then(Value::as_u64).unwrap_or(0);
        let ok = l.get("ok").and_then(Value::as_bool) == Some(true);
        let stale = l.get("stale").and_then(Value::as_bool) == Some(true);
        out.push_str(&format!(
            "            last claim {} in {} ms ({} ms after entering MASTER){}\n",
            if ok { "done" } else { "failed" },
            n("api_ms"),
            n("since_master_ms"),
            if stale {
                ", after leaving MASTER (stale)"
            } else {
                ""
            }
        ));
    }
    if let Some(f) = c.get("failure").and_then(Value::as_object) {
        let err = f
            .get("error")
            .and_then(|e| e.get("message"))
            .and_then(Value::as_str)
            .unwrap_or("?");
        out.push_str(&format!(
            "            failing for {} ms: {err}; attempt {}, retry in {} ms\n",
            c.get("failing_for_ms").and_then(Value::as_u64).unwrap_or(0),
            f.get("attempts").and_then(Value::as_u64).unwrap_or(0),
            c.get("retry_in_ms").and_then(Value::as_u64).unwrap_or(0)
        ));
    }
    out
}

/// The human table of a status reply.
pub fn render_status(status: &Value) -> String {
    let mut out = String::new();
    let empty = Vec::new();
    let instances = status["instances"].as_array().unwrap_or(&empty);
    out.push_str(&format!(
        "vrrpd {}, {} instance(s), up {}s\n",
        status["version"].as_str().unwrap_or("?"),
        instances.len(),
        status["uptime_s"].as_u64().unwrap_or(0)
    ));
    if let Some(fw) = status["firewall"].as_object() {
        let count = |k: &str| fw.get(k).and_then(Value::as_array).map_or(0, Vec::len);
        out.push_str(&format!(
            "nftables table {}: {} address(es) dropped of {} wanted{}\n",
            fw.get("table").and_then(Value::as_str).unwrap_or("?"),
            count("installed"),
            count("wanted"),
            match fw.get("failure").and_then(Value::as_object) {
                Some(f) => format!(
                    "; refused ({}), attempt {}, retry in {} ms",
                    f.get("error").and_then(Value::as_str).unwrap_or("?"),
                    f.get("attempts").and_then(Value::as_u64).unwrap_or(0),
                    f.get("retry_in_ms").and_then(Value::as_u64).unwrap_or(0)
                ),
                None => String::new(),
            }
        ));
    }
    for i in instances {
        let s = |k: &str| i[k].as_str().unwrap_or("-").to_string();
        let n = |k: &str| i[k].as_u64().unwrap_or(0);
        out.push_str(&format!(
            "\n{} ({} vrid {} v{})\n  state     {} since {} ({}s ago): {}\n",
            s("name"),
            s("interface"),
            n("vrid"),
            n("version"),
            s("state"),
            s("state_since"),
            n("state_age_s"),
            s("reason"),
        ));
        if let Some(d) = i["demoted"].as_object() {
            let mut line = format!(
                "  demoted   by uid {} at {}",
                d.get("by_uid").and_then(Value::as_u64).unwrap_or(0),
                d.get("since").and_then(Value::as_str).unwrap_or("?")
            );
            if let Some(note) = d.get("reason").and_then(Value::as_str) {
                line.push_str(&format!(": {note}"));
            }
            line.push_str(&format!(" (undo: vrrpd promote {})\n", s("name")));
            out.push_str(&line);
        }
        out.push_str(&format!(
            "  priority  {} (base {}, trackers {:+})\n",
            n("effective_priority"),
            n("base_priority"),
            i["tracker_adjustment"].as_i64().unwrap_or(0),
        ));
        for t in i["trackers"].as_array().unwrap_or(&empty) {
            let ts = |k: &str| t[k].as_str().unwrap_or("-").to_string();
            let effect = if t["fault"].as_bool() == Some(true) {
                "FAULT".to_string()
            } else {
                format!("{:+}", t["adjustment"].as_i64().unwrap_or(0))
            };
            out.push_str(&format!(
                "    {} {} (weight {}{}): {} -> {effect}\n",
                ts("kind"),
                ts("name"),
                t["weight"],
                if t["reverse"].as_bool() == Some(true) {
                    " reverse"
                } else {
                    ""
                },
                match &t["reading"] {
                    Value::Null => "no reading yet".to_string(),
                    Value::String(r) => r.clone(),
                    other => other.to_string(),
                },
            ));
        }
        let master = match &i["master"] {
            Value::Object(m) => format!(
                "{} priority {}",
                m.get("address").and_then(Value::as_str).unwrap_or("?"),
                m.get("priority").and_then(Value::as_u64).unwrap_or(0)
            ),
            _ if s("state") == "MASTER" => "this node".to_string(),
            _ => "none heard".to_string(),
        };
        out.push_str(&format!("  master    {master}\n"));
        let vips: Vec<String> = i["vips_held"]
            .as_array()
            .unwrap_or(&empty)
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        out.push_str(&format!(
            "  vips      {}\n",
            if vips.is_empty() {
                "none held".to_string()
            } else {
                vips.join(", ")
            }
        ));
        if let Some(c) = i["cloud"].as_object() {
            out.push_str(&render_cloud(c));
        }
        for e in i["vip_errors"].as_array().unwrap_or(&empty) {
            let retry = e["retry_in_ms"]
                .as_u64()
                .map(|ms| format!(", next try in {:.1} s", ms as f64 / 1000.0))
                .unwrap_or_default();
            out.push_str(&format!(
                "  refused   {} ({} attempt(s){retry}): {}\n",
                e["address"].as_str().unwrap_or("?"),
                e["attempts"].as_u64().unwrap_or(0),
                e["error"].as_str().unwrap_or("?"),
            ));
        }
        out.push_str(&format!(
            "  adverts   sent {}, received {}\n",
            n("adverts_sent"),
            n("adverts_received")
        ));
        let errors: Vec<String> = i["errors"]
            .as_object()
            .or_else(|| i["drops"].as_object())
            .map(|m| m.iter().map(|(k, v)| format!("{k}={v}")).collect())
            .unwrap_or_default();
        out.push_str(&format!(
            "  errors    {}\n",
            if errors.is_empty() {
                "none".to_string()
            } else {
                errors.join(" ")
            }
        ));
        out.push_str(&format!("  lateness  {}\n", s("lateness")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_or_say_why_not() {
        assert_eq!(parse_request("{\"cmd\":\"status\"}\n"), Ok(Command::Status));
        assert_eq!(
            parse_request("{\"v\":1,\"cmd\":\"watch\"}"),
            Ok(Command::Watch)
        );
        assert_eq!(parse_request("{\"cmd\":\"reload\"}"), Ok(Command::Reload));
        assert_eq!(parse_request("{\"cmd\":\"upgrade\"}"), Ok(Command::Upgrade));
        assert!(parse_request("{\"cmd\":\"upgrade\",\"instance\":\"VI_1\"}").is_err());
        assert_eq!(
            parse_request(
                "{\"cmd\":\"demote\",\"instance\":\"VI_1\",\"reason\":\"kernel upgrade\"}"
            ),
            Ok(Command::Demote {
                instance: "VI_1".into(),
                note: Some("kernel upgrade".into())
            })
        );
        assert_eq!(
            parse_request("{\"cmd\":\"promote\",\"instance\":\"VI_1\"}"),
            Ok(Command::Promote {
                instance: "VI_1".into()
            })
        );
        let err = |line: &str| parse_request(line).unwrap_err();
        assert!(err("status").contains("malformed"));
        assert!(err("").contains("empty request"));
        assert!(err("{\"cmd\":\"reboot\"}").contains("unknown command 'reboot'"));
        assert!(err("{\"cmd\":\"reboot\"}").contains("status, watch, demote, promote, reload"));
        assert!(err("{\"cmd\":\"status\",\"x\":1}").contains("unknown field"));
        assert!(err("\u{0}\u{1}garbage").contains("malformed"));
        assert!(err("{\"cmd\":\"status\"} trailing").contains("malformed"));
        assert!(err("[\"status\"]").contains("malformed"));
        assert!(err("{\"cmd\":7}").contains("malformed"));
        assert!(err("{\"v\":2,\"cmd\":\"status\"}").contains("unsupported protocol version 2"));
        assert!(err("{\"cmd\":\"demote\"}").contains("needs an instance"));
        assert!(err("{\"cmd\":\"demote\",\"instance\":\"\"}").contains("bad instance name"));
        assert!(err("{\"cmd\":\"demote\",\"instance\":\"a\\nb\"}").contains("bad instance name"));
        let long = "x".repeat(MAX_NAME + 1);
        assert!(
            err(&format!("{{\"cmd\":\"promote\",\"instance\":\"{long}\"}}"))
                .contains("bad instance name")
        );
        assert!(err("{\"cmd\":\"status\",\"instance\":\"VI_1\"}").contains("takes no instance"));
        assert!(err("{\"cmd\":\"reboot\",\"instance\":\"VI_1\"}").contains("unknown command"));
        assert!(
            err("{\"cmd\":\"promote\",\"instance\":\"VI_1\",\"reason\":\"x\"}")
                .contains("takes no reason")
        );
        let note = "n".repeat(MAX_NOTE + 1);
        assert!(err(&format!(
            "{{\"cmd\":\"demote\",\"instance\":\"VI_1\",\"reason\":\"{note}\"}}"
        ))
        .contains("bad reason"));
        // A hostile command name is cut short and escaped in the reply.
        let odd = err("{\"cmd\":\"\\u001b[2J0123456789012345678901234567890123456789\"}");
        assert!(odd.contains("\\u{1b}[2J"), "{odd}");
        assert!(!odd.contains("456789\""), "{odd}");
    }

    #[test]
    fn commands_round_trip_through_their_request_lines() {
        for cmd in [
            Command::Status,
            Command::Watch,
            Command::Reload,
            Command::Upgrade,
            Command::Promote {
                instance: "VI_1".into(),
            },
            Command::Demote {
                instance: "VI 2".into(),
                note: Some("disk swap \"now\"".into()),
            },
            Command::Demote {
                instance: "VI_3".into(),
                note: None,
            },
        ] {
            assert_eq!(parse_request(&cmd.to_request()), Ok(cmd.clone()));
        }
    }

    #[test]
    fn socket_sits_next_to_the_pid_file() {
        assert_eq!(
            socket_path(Some(Path::new("/run/lb/vrrpd.pid"))),
            PathBuf::from("/run/lb/vrrpd.sock")
        );
        assert_eq!(socket_path(None), PathBuf::from(DEFAULT_SOCKET));
    }

    #[test]
    fn timestamps_are_utc_rfc3339() {
        let at = |secs: u64, ms: u64| {
            utc_timestamp(SystemTime::UNIX_EPOCH + Duration::from_millis(secs * 1000 + ms))
        };
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(at(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(at(1_709_251_199, 999), "2024-02-29T23:59:59.999Z");
        assert_eq!(at(4_102_444_800, 0), "2100-01-01T00:00:00.000Z");
    }

    #[test]
    fn status_table_shows_state_priority_trackers_master_and_vips() {
        let status = json!({
            "version": "0.1.0", "uptime_s": 12,
            "instances": [{
                "name": "VI_1", "interface": "eth0", "vrid": 51, "version": 2,
                "state": "FAULT", "state_age_s": 3, "reason": "Demoted",
                "state_since": "2024-01-01T00:00:00.000Z",
                "demoted": { "by_uid": 0, "since": "2024-01-01T00:00:00.000Z", "reason": "disk swap" },
                "effective_priority": 90, "base_priority": 100, "tracker_adjustment": -10,
                "trackers": [
                    { "kind": "script", "name": "chk", "weight": -10, "reverse": false,
                      "reading": "failed", "adjustment": -10, "fault": false },
                    { "kind": "interface", "name": "eth1", "weight": 0, "reverse": false,
                      "reading": null, "adjustment": 0, "fault": false }
                ],
                "master": { "address": "192.0.2.20", "priority": 101 },
                "vips_held": [], "adverts_sent": 0, "adverts_received": 7,
                "errors": { "ttl": 2 }, "lateness": "n=0"
            }]
        });
        let table = render_status(&status);
        assert!(table.contains("VI_1 (eth0 vrid 51 v2)"), "{table}");
        assert!(
            table.contains("FAULT since 2024-01-01T00:00:00.000Z (3s ago): Demoted"),
            "{table}"
        );
        assert!(table.contains("demoted   by uid 0"), "{table}");
        assert!(
            table.contains(": disk swap (undo: vrrpd promote VI_1)"),
            "{table}"
        );
        assert!(table.contains("90 (base 100, trackers -10)"), "{table}");
        assert!(
            table.contains("script chk (weight -10): failed -> -10"),
            "{table}"
        );
        assert!(
            table.contains("interface eth1 (weight 0): no reading yet"),
            "{table}"
        );
        assert!(table.contains("192.0.2.20 priority 101"), "{table}");
        assert!(table.contains("none held"), "{table}");
        assert!(table.contains("ttl=2"), "{table}");
    }

    #[test]
    fn status_table_shows_refused_vips() {
        let status = json!({
            "version": "0.1.0", "uptime_s": 1,
            "instances": [{
                "name": "VI_1", "interface": "eth0", "vrid": 51, "version": 2,
                "state": "MASTER", "vips_held": ["192.0.2.10"],
                "vip_errors": [{ "address": "192.0.2.11", "op": "add", "attempts": 3,
                                 "error": "adding 192.0.2.11 on ifindex 2: Permission denied",
                                 "retry_in_ms": 400 }],
            }]
        });
        let table = render_status(&status);
        assert!(table.contains("vips      192.0.2.10\n"), "{table}");
        assert!(
            table.contains("refused   192.0.2.11 (3 attempt(s), next try in 0.4 s): adding"),
            "{table}"
        );
    }

    #[test]
    fn status_table_shows_the_nftables_drop_set() {
        let status = json!({
            "version": "0.1.0", "uptime_s": 1, "instances": [],
            "firewall": { "table": "keepalived", "wanted": ["192.0.2.30", "192.0.2.31"],
                          "installed": ["192.0.2.30"],
                          "failure": { "error": "running nft: No such file or directory",
                                       "attempts": 2, "retry_in_ms": 150 } }
        });
        let table = render_status(&status);
        assert!(
            table.contains("nftables table keepalived: 1 address(es) dropped of 2 wanted; refused (running nft: No such file or directory), attempt 2, retry in 150 ms\n"),
            "{table}"
        );
        let none = render_status(&json!({ "version": "0.1.0", "uptime_s": 1, "instances": [] }));
        assert!(!none.contains("nftables"), "{none}");
    }

    #[test]
    fn watch_events_render_one_readable_line() {
        let t = "2024-01-01T00:00:00.000Z";
        let line = render_event(&json!({"event":"transition","time":t,"instance":"VI_1",
            "from":"BACKUP","to":"MASTER","reason":"MasterDown","priority":100}));
        assert_eq!(
            line,
            format!("{t} VI_1 BACKUP -> MASTER (MasterDown), priority 100")
        );
        let line = render_event(&json!({"event":"state","time":t,"instance":"VI_1",
            "state":"MASTER","since":t,"reason":"Startup","priority":101,"vips_held":["192.0.2.30"]}));
        assert!(line.ends_with("is MASTER since 2024-01-01T00:00:00.000Z (Startup), priority 101, holding 192.0.2.30"), "{line}");
        let line = render_event(&json!({"event":"lost","time":t,"count":3}));
        assert!(line.contains("3 event(s) lost"), "{line}");
        let line = render_event(
            &json!({"event":"demoted","time":t,"instance":"VI_1","by_uid":0,"reason":"x"}),
        );
        assert_eq!(line, format!("{t} VI_1 demoted by uid 0: x"));
    }

    /// A connected client's request, answered by a fake driver.
    async fn lab() -> (PathBuf, mpsc::Receiver<ControlRequest>, PathBuf) {
        let dir = std::env::temp_dir().join(format!(
            "vrrpd-control-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        let path = dir.join("t.sock");
        let (tx, rx) = mpsc::channel(4);
        serve(&path, tx).unwrap();
        (path, rx, dir)
    }

    async fn raw(path: &Path, bytes: &[u8], close: bool) -> String {
        let stream = UnixStream::connect(path).await.unwrap();
        let (r, mut w) = stream.into_split();
        w.write_all(bytes).await.unwrap();
        if close {
            w.shutdown().await.unwrap();
        }
        let mut line = String::new();
        BufReader::new(r).read_line(&mut line).await.unwrap();
        line
    }

    #[tokio::test]
    async fn bad_requests_get_an_error_and_the_driver_sees_nothing() {
        let (path, mut rx, dir) = lab().await;
        let line = raw(&path, b"not json\n", false).await;
        assert!(line.contains("malformed request"), "{line}");
        assert!(line.contains("\"ok\":false"), "{line}");
        let line = raw(&path, b"{\"cmd\":\"format-disk\"}\n", false).await;
        assert!(line.contains("unknown command"), "{line}");
        let line = raw(&path, &[0xff, 0xfe, b'\n'], false).await;
        assert!(line.contains("not UTF-8"), "{line}");
        let line = raw(&path, &vec![b'{'; MAX_REQUEST + 100], false).await;
        assert!(line.contains("request too long"), "{line}");
        let line = raw(&path, b"", true).await;
        assert!(line.contains("empty request"), "{line}");
        assert!(rx.try_recv().is_err(), "nothing reached the driver");
        // A request ended by EOF rather than a newline is served.
        let client = tokio::spawn({
            let path = path.clone();
            async move { raw(&path, b"{\"cmd\":\"status\"}", true).await }
        });
        let req = rx.recv().await.unwrap();
        assert_eq!(req.command, Command::Status);
        assert_eq!(req.peer.uid, nix::unistd::geteuid().as_raw());
        let _ = req.reply.send(Reply::Value(json!({"instances": []})));
        let line = client.await.unwrap();
        let reply: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(reply, json!({"v": 1, "ok": true, "instances": []}));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_client_is_dropped_after_the_timeout() {
        let (path, mut rx, dir) = lab().await;
        let stream = UnixStream::connect(&path).await.unwrap();
        let (r, _w) = stream.into_split();
        let mut line = String::new();
        BufReader::new(r).read_line(&mut line).await.unwrap();
        assert!(line.contains("no request within 5 s"), "{line}");
        assert!(rx.try_recv().is_err());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn error_replies_reach_the_client_whole() {
        let (path, mut rx, dir) = lab().await;
        let client = tokio::spawn({
            let path = path.clone();
            async move {
                request(
                    &path,
                    &Command::Promote {
                        instance: "nope".into(),
                    },
                )
                .await
            }
        });
        let req = rx.recv().await.unwrap();
        let _ = req.reply.send(Reply::Value(
            json!({"ok": false, "error": "no instance 'nope'", "instances": ["VI_1"]}),
        ));
        match client.await.unwrap() {
            Err(ControlError::Refused { message, reply }) => {
                assert_eq!(message, "no instance 'nope'");
                assert_eq!(reply["instances"][0], "VI_1");
            }
            other => panic!("{other:?}"),
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn watchers_get_the_snapshot_then_events_and_a_slow_one_a_lost_marker() {
        let (path, mut rx, dir) = lab().await;
        let events = Events::default();
        // A well-behaved watcher.
        let (seen_tx, mut seen) = mpsc::unbounded_channel();
        let watcher = tokio::spawn({
            let path = path.clone();
            async move {
                watch(&path, |e| {
                    let _ = seen_tx.send(e.clone());
                    e["event"] != "stopping"
                })
                .await
            }
        });
        let req = rx.recv().await.unwrap();
        assert_eq!(req.command, Command::Watch);
        let _ = req.reply.send(Reply::Watch {
            snapshot: vec![json!({"event": "state", "instance": "VI_1"})],
            events: events.subscribe(),
        });
        assert_eq!(seen.recv().await.unwrap()["event"], "state");
        // A watcher that never reads: the driver's publishing never waits.
        let stuck = UnixStream::connect(&path).await.unwrap();
        let (stuck_r, mut stuck_w) = stuck.into_split();
        stuck_w.write_all(b"{\"cmd\":\"watch\"}\n").await.unwrap();
        let req = rx.recv().await.unwrap();
        let _ = req.reply.send(Reply::Watch {
            snapshot: Vec::new(),
            events: events.subscribe(),
        });
        let started = std::time::Instant::now();
        let big = "x".repeat(2000);
        for i in 0..2000 {
            events.publish(json!({"event": "priority", "n": i, "pad": big}));
            tokio::task::yield_now().await;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "publishing blocked"
        );
        events.publish(json!({"event": "stopping"}));
        watcher.await.unwrap().unwrap();
        let mut got = Vec::new();
        while let Ok(e) = seen.try_recv() {
            got.push(e);
        }
        assert_eq!(got.last().unwrap()["event"], "stopping");
        let numbered = got.iter().filter(|e| e["event"] == "priority").count();
        let lost: u64 = got
            .iter()
            .filter(|e| e["event"] == "lost")
            .map(|e| e["count"].as_u64().unwrap())
            .sum();
        assert_eq!(numbered as u64 + lost, 2000, "every event seen or counted");
        assert!(got.iter().all(|e| e["time"].is_string()));
        // The stuck watcher, read at last: it lost events, and says how many.
        let mut lines = BufReader::new(stuck_r).lines();
        let (mut numbered, mut lost) = (0u64, 0u64);
        while let Some(line) = lines.next_line().await.unwrap() {
            let e: Value = serde_json::from_str(&line).unwrap();
            match e["event"].as_str() {
                Some("priority") => numbered += 1,
                Some("lost") => lost += e["count"].as_u64().unwrap(),
                Some("stopping") => break,
                _ => {}
            }
        }
        assert!(lost > 0, "a stuck watcher must lose events");
        assert_eq!(numbered + lost, 2000, "every event seen or counted");
        let _ = std::fs::remove_dir_all(dir);
    }
}
