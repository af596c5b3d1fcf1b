//! The control socket: `vrrpd status` asks the running daemon over a Unix
//! socket, one JSON request line, one JSON reply line.
//!
//! Only root, the daemon's own user and the `vrrpd` group may ask (checked
//! with SO_PEERCRED, whatever the file mode says). A malformed request gets
//! an error reply and changes nothing.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, warn};

/// Where the daemon listens unless told otherwise.
pub const DEFAULT_SOCKET: &str = "/run/vrrpd/vrrpd.sock";
/// Longest request line accepted.
const MAX_REQUEST: usize = 4096;

/// What a client may ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Status,
}

/// A request for the driver, answered on `reply`.
pub struct ControlRequest {
    pub command: Command,
    pub reply: oneshot::Sender<Value>,
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
    #[error("talking to the daemon: {0}")]
    Io(#[from] io::Error),
    #[error("the daemon answered: {0}")]
    Refused(String),
    #[error("unreadable reply from the daemon: {0}")]
    Reply(#[from] serde_json::Error),
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
    cmd: String,
}

/// Parses one request line: `{"cmd":"status"}`.
pub fn parse_request(line: &str) -> Result<Command, String> {
    let request: Request =
        serde_json::from_str(line.trim()).map_err(|e| format!("malformed request: {e}"))?;
    match request.cmd.as_str() {
        "status" => Ok(Command::Status),
        other => Err(format!("unknown command '{other}' (expected: status)")),
    }
}

/// Binds `path` and serves requests until the daemon exits; requests go to
/// the driver through `to_driver`.
pub fn serve(path: &Path, to_driver: mpsc::Sender<ControlRequest>) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // A stale socket from a killed daemon would make bind fail.
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path)?;
    restrict_mode(path)?;
    tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let tx = to_driver.clone();
                    tokio::spawn(async move {
                        if let Err(e) = answer(stream, tx).await {
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
    Ok(())
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

/// Root, our own user, or a member of the `vrrpd` group (by primary gid).
fn authorized(stream: &UnixStream) -> bool {
    let Ok(cred) = stream.peer_cred() else {
        return false;
    };
    let uid = cred.uid();
    if uid == 0 || uid == nix::unistd::geteuid().as_raw() {
        return true;
    }
    matches!(
        nix::unistd::Group::from_name("vrrpd"),
        Ok(Some(group)) if group.gid.as_raw() == cred.gid()
    )
}

async fn answer(stream: UnixStream, to_driver: mpsc::Sender<ControlRequest>) -> io::Result<()> {
    if !authorized(&stream) {
        let (_, mut w) = stream.into_split();
        w.write_all(b"{\"error\":\"permission denied: root or the vrrpd group only\"}\n")
            .await?;
        return Ok(());
    }
    let (r, mut w) = stream.into_split();
    let mut line = String::new();
    let mut reader = BufReader::new(r).take(MAX_REQUEST as u64);
    let read = tokio::time::timeout(Duration::from_secs(5), reader.read_line(&mut line)).await;
    let reply = match read {
        Ok(Ok(_)) => match parse_request(&line) {
            Ok(command) => {
                let (tx, rx) = oneshot::channel();
                if to_driver
                    .send(ControlRequest { command, reply: tx })
                    .await
                    .is_err()
                {
                    json!({ "error": "the daemon is stopping" })
                } else {
                    rx.await
                        .unwrap_or_else(|_| json!({ "error": "the daemon is stopping" }))
                }
            }
            Err(message) => json!({ "error": message }),
        },
        Ok(Err(e)) => json!({ "error": format!("reading the request: {e}") }),
        Err(_) => json!({ "error": "no request within 5 s" }),
    };
    let mut text = reply.to_string();
    text.push('\n');
    w.write_all(text.as_bytes()).await
}

/// Client side: sends `command`, returns the daemon's reply.
pub async fn request(path: &Path, command: Command) -> Result<Value, ControlError> {
    let stream = UnixStream::connect(path)
        .await
        .map_err(|source| ControlError::Connect {
            path: path.display().to_string(),
            source,
        })?;
    let (r, mut w) = stream.into_split();
    let cmd = match command {
        Command::Status => "status",
    };
    w.write_all(format!("{{\"cmd\":\"{cmd}\"}}\n").as_bytes())
        .await?;
    let mut line = String::new();
    BufReader::new(r).read_line(&mut line).await?;
    let value: Value = serde_json::from_str(&line)?;
    if let Some(error) = value.get("error").and_then(Value::as_str) {
        return Err(ControlError::Refused(error.to_string()));
    }
    Ok(value)
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
    for i in instances {
        let s = |k: &str| i[k].as_str().unwrap_or("-").to_string();
        let n = |k: &str| i[k].as_u64().unwrap_or(0);
        out.push_str(&format!(
            "\n{} ({} vrid {} v{})\n  state     {} since {}s ago ({})\n  priority  {} (base {}, trackers {:+})\n",
            s("name"),
            s("interface"),
            n("vrid"),
            n("version"),
            s("state"),
            n("state_age_s"),
            s("reason"),
            n("effective_priority"),
            n("base_priority"),
            i["tracker_adjustment"].as_i64().unwrap_or(0),
        ));
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
        out.push_str(&format!(
            "  adverts   sent {}, received {}\n",
            n("adverts_sent"),
            n("adverts_received")
        ));
        let drops: Vec<String> = i["drops"]
            .as_object()
            .map(|m| m.iter().map(|(k, v)| format!("{k}={v}")).collect())
            .unwrap_or_default();
        out.push_str(&format!(
            "  dropped   {}\n",
            if drops.is_empty() {
                "none".to_string()
            } else {
                drops.join(" ")
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
        assert!(parse_request("status").unwrap_err().contains("malformed"));
        assert!(parse_request("{\"cmd\":\"reboot\"}")
            .unwrap_err()
            .contains("unknown command 'reboot'"));
        assert!(parse_request("{\"cmd\":\"status\",\"x\":1}").is_err());
        assert!(parse_request("\u{0}\u{1}garbage").is_err());
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
    fn status_table_shows_state_priority_master_and_vips() {
        let status = json!({
            "version": "0.1.0", "uptime_s": 12,
            "instances": [{
                "name": "VI_1", "interface": "eth0", "vrid": 51, "version": 2,
                "state": "BACKUP", "state_age_s": 3, "reason": "Startup",
                "effective_priority": 90, "base_priority": 100, "tracker_adjustment": -10,
                "master": { "address": "192.0.2.20", "priority": 101 },
                "vips_held": [], "adverts_sent": 0, "adverts_received": 7,
                "drops": { "ttl": 2 }, "lateness": "n=0"
            }]
        });
        let table = render_status(&status);
        assert!(table.contains("VI_1 (eth0 vrid 51 v2)"), "{table}");
        assert!(table.contains("BACKUP since 3s ago (Startup)"), "{table}");
        assert!(table.contains("90 (base 100, trackers -10)"), "{table}");
        assert!(table.contains("192.0.2.20 priority 101"), "{table}");
        assert!(table.contains("none held"), "{table}");
        assert!(table.contains("ttl=2"), "{table}");
    }

    #[tokio::test]
    async fn a_malformed_request_gets_an_error_and_the_driver_sees_nothing() {
        let dir = std::env::temp_dir().join(format!("vrrpd-control-{}", std::process::id()));
        let path = dir.join("t.sock");
        let (tx, mut rx) = mpsc::channel(4);
        serve(&path, tx).unwrap();
        let stream = UnixStream::connect(&path).await.unwrap();
        let (r, mut w) = stream.into_split();
        w.write_all(b"not json\n").await.unwrap();
        let mut line = String::new();
        BufReader::new(r).read_line(&mut line).await.unwrap();
        assert!(line.contains("malformed request"), "{line}");
        assert!(rx.try_recv().is_err(), "nothing reached the driver");
        // A good request reaches the driver and its answer comes back.
        let client = tokio::spawn({
            let path = path.clone();
            async move { request(&path, Command::Status).await }
        });
        let req = rx.recv().await.unwrap();
        assert_eq!(req.command, Command::Status);
        req.reply.send(json!({"instances": []})).unwrap();
        assert_eq!(client.await.unwrap().unwrap(), json!({"instances": []}));
        let _ = std::fs::remove_dir_all(dir);
    }
}
