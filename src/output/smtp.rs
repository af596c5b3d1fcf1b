//! keepalived's e-mail alerts (smtp.c, vrrp_notify.c): on a state change of
//! an instance or sync group with `smtp_alert`, one message to every
//! `notification_email` address through `smtp_server`, with keepalived's
//! subject and body. A small SMTP client (HELO, MAIL, RCPT, DATA, QUIT, as
//! keepalived speaks it): no TLS and no authentication, as keepalived; what
//! it sends is decided here, in pure functions, and the exchange runs
//! within `smtp_connect_timeout` per step.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::notify::{NotifyState, Subject};
use crate::config::Global;

/// keepalived's `DEFAULT_SMTP_CONNECTION_TIMEOUT`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Alerts in delivery at once. Each can wait up to the timeout per step on
/// a dead or silent server, and a flapping cluster changes state faster
/// than that; keepalived forks a process per alert, without bound.
pub const MAX_IN_FLIGHT: usize = 8;

/// The bound on alerts in delivery: past [`MAX_IN_FLIGHT`] a new alert is
/// dropped and counted (the state change itself is in the journal and the
/// FIFOs; a mail that would arrive minutes late tells nothing more).
#[derive(Debug)]
pub struct Outbox {
    slots: std::sync::Arc<tokio::sync::Semaphore>,
    dropped: u64,
}

/// Held by one delivery; its slot frees when dropped.
pub type Slot = tokio::sync::OwnedSemaphorePermit;

impl Outbox {
    pub fn new(max_in_flight: usize) -> Outbox {
        Outbox {
            slots: std::sync::Arc::new(tokio::sync::Semaphore::new(max_in_flight)),
            dropped: 0,
        }
    }

    /// A slot for one more delivery, or `Err(dropped so far)` when every
    /// slot is taken.
    pub fn admit(&mut self) -> Result<Slot, u64> {
        self.slots.clone().try_acquire_owned().map_err(|_| {
            self.dropped += 1;
            self.dropped
        })
    }
}

/// Why a message was not delivered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SmtpError {
    #[error("smtp_server '{0}' is not an address [port]")]
    Server(String),
    #[error("connecting to {0}: {1}")]
    Connect(SocketAddr, std::io::Error),
    #[error("{0}: no answer within {1:?}")]
    Timeout(&'static str, Duration),
    #[error("{0}: {1}")]
    Io(&'static str, std::io::Error),
    #[error("{step}: server answered '{reply}', expected {expected}")]
    Refused {
        step: &'static str,
        reply: String,
        expected: u16,
    },
}

/// One alert: subject and body, as keepalived words them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub subject: String,
    pub body: String,
}

/// keepalived's alert for `name` entering `state` (None: no mail for it).
/// `no_email_faults` drops FAULT.
pub fn alert(
    router_id: &str,
    subject: Subject,
    name: &str,
    state: NotifyState,
    no_email_faults: bool,
) -> Option<Alert> {
    let group = subject == Subject::Group;
    let (what, body) = match (state, group) {
        (NotifyState::Master, false) => (
            "Entering MASTER state",
            "=> VRRP Instance is now owning VRRP VIPs <=",
        ),
        (NotifyState::Backup, false) => (
            "Entering BACKUP state",
            "=> VRRP Instance is no longer owning VRRP VIPs <=",
        ),
        (NotifyState::Fault, false) => (
            "Entering FAULT state",
            "=> VRRP Instance is no longer owning VRRP VIPs <=",
        ),
        (NotifyState::Stop, false) => ("Stopping", "=> VRRP Instance stopping <="),
        (NotifyState::Deleted, false) => ("Deleted", "=> VRRP Deleted at reload <="),
        (NotifyState::Master, true) => (
            "Entering MASTER state",
            "=> All VRRP group instances are now in MASTER state <=",
        ),
        (NotifyState::Backup, true) => (
            "Entering BACKUP state",
            "=> All VRRP group instances are now in BACKUP state <=",
        ),
        (NotifyState::Fault, true) => (
            "Entering FAULT state",
            "=> All VRRP group instances are now in FAULT state <=",
        ),
        (NotifyState::Stop, true) => (
            "Stopping",
            "=> All VRRP group instances are now stopping <=",
        ),
        _ => return None,
    };
    if no_email_faults && state == NotifyState::Fault {
        return None;
    }
    let kind = if group { "VRRP Group" } else { "VRRP Instance" };
    Some(Alert {
        subject: format!("[{router_id}] {kind} {name} - {what}"),
        body: body.to_string(),
    })
}

/// `smtp_server ADDR [PORT]` (port 25 by default).
pub fn server(text: &str) -> Result<SocketAddr, SmtpError> {
    let bad = || SmtpError::Server(text.to_string());
    let mut it = text.split_whitespace();
    let addr: IpAddr = it.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
    let port = match it.next() {
        Some(p) => p.parse().map_err(|_| bad())?,
        None => 25,
    };
    Ok(SocketAddr::new(addr, port))
}

/// Everything one delivery needs, with keepalived's defaults filled in
/// (router_id and HELO name: the host name; sender: USER@host).
#[derive(Debug, Clone)]
pub struct Envelope {
    pub server: SocketAddr,
    pub helo: String,
    pub from: String,
    pub to: Vec<String>,
    pub router_id: String,
    pub timeout: Duration,
}

impl Envelope {
    /// None when e-mail is not configured (no recipient or no server), as
    /// keepalived sends nothing then.
    pub fn of(g: &Global, host: &str, user: &str) -> Option<Result<Envelope, SmtpError>> {
        let text = g.smtp_server.as_deref()?;
        if g.notification_email.is_empty() {
            return None;
        }
        Some(server(text).map(|server| {
            Envelope {
                server,
                helo: g.smtp_helo_name.clone().unwrap_or_else(|| host.to_string()),
                from: g
                    .notification_email_from
                    .clone()
                    .unwrap_or_else(|| format!("{user}@{host}")),
                to: g.notification_email.clone(),
                router_id: g.router_id.clone().unwrap_or_else(|| host.to_string()),
                timeout: g
                    .smtp_connect_timeout
                    .map_or(DEFAULT_TIMEOUT, |s| s.as_duration()),
            }
        }))
    }
}

/// The DATA part: keepalived's headers, the body, the end mark. Lines
/// starting with '.' are doubled (RFC 5321 4.5.2).
pub fn data(e: &Envelope, a: &Alert, date: &str) -> String {
    let body: Vec<String> = a
        .body
        .lines()
        .map(|l| {
            if l.starts_with('.') {
                format!(".{l}")
            } else {
                l.to_string()
            }
        })
        .collect();
    format!(
        "Date: {date}\r\nFrom: {}\r\nSubject: {}\r\nX-Mailer: Keepalived\r\nTo: {}\r\n\r\n{}\r\n\r\n.\r\n",
        e.from,
        a.subject,
        e.to.join(", "),
        body.join("\r\n")
    )
}

/// Sends `a` (the `date` header given), step by step, each bounded by the
/// envelope's timeout.
pub async fn send(e: &Envelope, a: &Alert, date: &str) -> Result<(), SmtpError> {
    let t = e.timeout;
    let stream = tokio::time::timeout(t, TcpStream::connect(e.server))
        .await
        .map_err(|_| SmtpError::Timeout("connect", t))?
        .map_err(|err| SmtpError::Connect(e.server, err))?;
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    expect(&mut r, "greeting", 220, t).await?;
    let mut steps: Vec<(String, &'static str, u16)> = vec![
        (format!("HELO {}\r\n", e.helo), "HELO", 250),
        (format!("MAIL FROM:<{}>\r\n", e.from), "MAIL FROM", 250),
    ];
    for to in &e.to {
        steps.push((format!("RCPT TO:<{to}>\r\n"), "RCPT TO", 250));
    }
    steps.push(("DATA\r\n".into(), "DATA", 354));
    steps.push((data(e, a, date), "message", 250));
    steps.push(("QUIT\r\n".into(), "QUIT", 221));
    for (cmd, name, code) in steps {
        w.write_all(cmd.as_bytes())
            .await
            .map_err(|err| SmtpError::Io(name, err))?;
        expect(&mut r, name, code, t).await?;
    }
    Ok(())
}

/// Reads one reply (a multi-line one to its last line) and checks its code.
async fn expect<R: tokio::io::AsyncBufRead + Unpin>(
    r: &mut R,
    step: &'static str,
    code: u16,
    t: Duration,
) -> Result<(), SmtpError> {
    let read = async {
        let mut line = String::new();
        loop {
            line.clear();
            let n = r
                .read_line(&mut line)
                .await
                .map_err(|err| SmtpError::Io(step, err))?;
            if n == 0 || line.len() > 1024 {
                return Err(SmtpError::Refused {
                    step,
                    reply: line.trim_end().to_string(),
                    expected: code,
                });
            }
            // "250-..." continues, "250 ..." (or "250") ends.
            if line.as_bytes().get(3) != Some(&b'-') {
                return Ok(line.trim_end().to_string());
            }
        }
    };
    let reply = tokio::time::timeout(t, read)
        .await
        .map_err(|_| SmtpError::Timeout(step, t))??;
    match reply.get(..3).and_then(|c| c.parse::<u16>().ok()) {
        Some(c) if c == code => Ok(()),
        _ => Err(SmtpError::Refused {
            step,
            reply,
            expected: code,
        }),
    }
}

/// The Date header: RFC 5322 in local time (keepalived's strftime
/// "%a, %d %b %Y %H:%M:%S %z").
pub fn date_now() -> String {
    let now = libc::time_t::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    )
    .unwrap_or(0);
    // SAFETY: an all-zero tm is valid; localtime_r and strftime write only
    // into the buffers given, strftime at most `buf.len()` bytes.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&now, &mut tm).is_null() {
            return String::new();
        }
        let mut buf = [0u8; 64];
        let fmt = c"%a, %d %b %Y %H:%M:%S %z";
        let n = libc::strftime(buf.as_mut_ptr().cast(), buf.len(), fmt.as_ptr(), &tm);
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keepalived_subjects_and_bodies() {
        let a = alert("lb1", Subject::Instance, "VI_1", NotifyState::Master, false).unwrap();
        assert_eq!(
            a.subject,
            "[lb1] VRRP Instance VI_1 - Entering MASTER state"
        );
        assert_eq!(a.body, "=> VRRP Instance is now owning VRRP VIPs <=");
        let g = alert("lb1", Subject::Group, "G", NotifyState::Stop, false).unwrap();
        assert_eq!(g.subject, "[lb1] VRRP Group G - Stopping");
        assert!(alert("lb1", Subject::Instance, "VI_1", NotifyState::Fault, true).is_none());
        assert!(alert("lb1", Subject::Instance, "VI_1", NotifyState::Fault, false).is_some());
        assert!(alert("lb1", Subject::Group, "G", NotifyState::Deleted, false).is_none());
        assert!(alert(
            "lb1",
            Subject::Instance,
            "VI_1",
            NotifyState::MasterPriority,
            false
        )
        .is_none());
    }

    #[test]
    fn alerts_past_the_in_flight_bound_are_dropped_and_counted() {
        let mut outbox = Outbox::new(2);
        let first = outbox.admit().expect("slot 1");
        let _second = outbox.admit().expect("slot 2");
        assert_eq!(outbox.admit().err(), Some(1));
        assert_eq!(outbox.admit().err(), Some(2));
        // A delivery that ends (sent, refused or timed out) frees its slot.
        drop(first);
        let _third = outbox.admit().expect("the freed slot");
        assert_eq!(outbox.admit().err(), Some(3));
    }

    #[test]
    fn servers_and_defaults() {
        assert_eq!(
            server("192.0.2.5").unwrap(),
            "192.0.2.5:25".parse().unwrap()
        );
        assert_eq!(
            server("2001:db8::5 2525").unwrap(),
            "[2001:db8::5]:2525".parse().unwrap()
        );
        assert!(server("mail.example").is_err());
        assert!(server("192.0.2.5 x").is_err());
        let mut g = Global::default();
        assert!(Envelope::of(&g, "h", "u").is_none());
        g.smtp_server = Some("192.0.2.5".into());
        assert!(Envelope::of(&g, "h", "u").is_none(), "no recipient");
        g.notification_email = vec!["a@example.org".into()];
        let e = Envelope::of(&g, "h", "u").unwrap().unwrap();
        assert_eq!(
            (e.helo.as_str(), e.from.as_str(), e.router_id.as_str()),
            ("h", "u@h", "h")
        );
        assert_eq!(e.timeout, DEFAULT_TIMEOUT);
        let d = data(
            &e,
            &Alert {
                subject: "S".into(),
                body: ".x".into(),
            },
            "D",
        );
        assert_eq!(d, "Date: D\r\nFrom: u@h\r\nSubject: S\r\nX-Mailer: Keepalived\r\nTo: a@example.org\r\n\r\n..x\r\n\r\n.\r\n");
    }
}
