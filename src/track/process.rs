//! `vrrp_track_process`: counts matching processes in /proc. keepalived
//! listens to the kernel's proc connector; vrrpd scans /proc every
//! [`SCAN_INTERVAL`] (no extra privilege, same result a moment later).

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use tokio::sync::mpsc;
use tracing::info;

use super::{send, Kind, Reading, Update};
use crate::config::TrackProcess;

/// How often /proc is scanned.
pub const SCAN_INTERVAL: Duration = Duration::from_millis(250);

/// One process as seen in /proc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcInfo {
    /// /proc/PID/comm (at most 15 bytes).
    pub comm: String,
    /// /proc/PID/cmdline split at NULs.
    pub cmdline: Vec<String>,
}

/// Reads every process from `root` (normally /proc).
pub fn scan(root: &Path) -> Vec<ProcInfo> {
    let Ok(dir) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in dir.flatten() {
        let name = e.file_name();
        if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let p = e.path();
        let Ok(comm) = std::fs::read_to_string(p.join("comm")) else {
            continue;
        };
        let cmdline = std::fs::read(p.join("cmdline"))
            .map(|b| {
                b.split(|c| *c == 0)
                    .filter(|s| !s.is_empty())
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect()
            })
            .unwrap_or_default();
        out.push(ProcInfo {
            comm: comm.trim_end_matches('\n').to_string(),
            cmdline,
        });
    }
    out
}

/// keepalived's match: the name against comm (or the full `argv[0]` with
/// `full_command`, or when the name is longer than comm can hold), then the
/// parameters: all equal (default), a prefix (`initial`) or a contiguous run
/// anywhere (`partial`).
pub fn matches(t: &TrackProcess, p: &ProcInfo) -> bool {
    let Some(name) = t.process.first() else {
        return false;
    };
    let name_ok = if t.full_command {
        p.cmdline.first().is_some_and(|a| a == name)
    } else if name.len() > 15 {
        p.cmdline
            .first()
            .and_then(|a| Path::new(a).file_name())
            .is_some_and(|b| b.to_string_lossy() == *name)
    } else {
        p.comm == *name
    };
    if !name_ok {
        return false;
    }
    let want = &t.process[1..];
    if want.is_empty() {
        return true;
    }
    let have = p.cmdline.get(1..).unwrap_or(&[]);
    match t.param_match.as_deref() {
        Some("initial") => have.len() >= want.len() && have[..want.len()] == *want,
        Some("partial") => have.windows(want.len()).any(|w| w == want),
        _ => have == want,
    }
}

/// Up when the count is within quorum..=quorum_max.
pub fn up(t: &TrackProcess, count: u32) -> bool {
    count >= t.quorum && t.quorum_max.is_none_or(|m| count <= m)
}

/// The scan loop for every tracked process: reports each tracker's initial
/// state, then changes that lasted `delay`.
pub async fn run(list: Vec<TrackProcess>, tx: mpsc::UnboundedSender<Update>) {
    let mut reported: HashMap<String, bool> = HashMap::new();
    // A change seen but not yet reported (waiting for `delay`).
    let mut pending: HashMap<String, (bool, tokio::time::Instant)> = HashMap::new();
    let mut ticker = tokio::time::interval(SCAN_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        ticker.tick().await;
        let procs = scan(Path::new("/proc"));
        let now = tokio::time::Instant::now();
        for t in &list {
            let count = procs.iter().filter(|p| matches(t, p)).count();
            let is_up = up(t, u32::try_from(count).unwrap_or(u32::MAX));
            let report = match reported.get(&t.name) {
                None => true,
                Some(prev) if *prev == is_up => {
                    pending.remove(&t.name);
                    false
                }
                Some(_) => {
                    let delay = t.delay.map(|d| d.as_duration()).unwrap_or_default();
                    let since = pending.entry(t.name.clone()).or_insert((is_up, now)).1;
                    now.duration_since(since) >= delay
                }
            };
            if report {
                pending.remove(&t.name);
                if reported.insert(t.name.clone(), is_up).is_some() {
                    info!(
                        "Track process {} is now {} ({count} running)",
                        t.name,
                        if is_up { "up" } else { "down" }
                    );
                }
                let r = if is_up { Reading::Ok } else { Reading::Failed };
                if !send(&tx, Kind::Process, &t.name, r) {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(process: &[&str], param_match: Option<&str>) -> TrackProcess {
        TrackProcess {
            name: "t".into(),
            process: process.iter().map(|s| s.to_string()).collect(),
            param_match: param_match.map(str::to_string),
            weight: 0,
            reverse: false,
            quorum: 1,
            quorum_max: None,
            delay: None,
            full_command: false,
        }
    }

    fn pi(comm: &str, cmd: &[&str]) -> ProcInfo {
        ProcInfo {
            comm: comm.into(),
            cmdline: cmd.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn name_matches_comm_and_params_by_mode() {
        let apache = pi("apache2", &["/usr/sbin/apache2", "-k", "start"]);
        assert!(matches(&tp(&["apache2"], None), &apache));
        assert!(!matches(&tp(&["apache"], None), &apache));
        assert!(matches(&tp(&["apache2", "-k", "start"], None), &apache));
        assert!(!matches(&tp(&["apache2", "-k"], None), &apache));
        assert!(matches(&tp(&["apache2", "-k"], Some("initial")), &apache));
        assert!(matches(
            &tp(&["apache2", "start"], Some("partial")),
            &apache
        ));
        let mut full = tp(&["/usr/sbin/apache2"], None);
        full.full_command = true;
        assert!(matches(&full, &apache));
    }

    #[test]
    fn quorum_bounds() {
        let mut t = tp(&["x"], None);
        t.quorum = 2;
        t.quorum_max = Some(3);
        assert!(!up(&t, 1));
        assert!(up(&t, 2));
        assert!(up(&t, 3));
        assert!(!up(&t, 4));
    }

    #[test]
    fn scan_sees_ourselves() {
        let me = scan(Path::new("/proc"));
        assert!(!me.is_empty());
    }
}
