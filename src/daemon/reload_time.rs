//! The shell of `reload_time_file` ([`crate::driver::reload_time`]): a task
//! reads the file every [`POLL`] (keepalived watches it with inotify; a
//! second's latency in noticing a new time is immaterial to a reload
//! scheduled to the second), schedules the reload and, at that time, asks
//! for it with SIGHUP to itself, as keepalived does (reload_monitor.c).

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tracing::{info, warn};

use crate::driver::reload_time::{parse, remove_after, resolve, Calendar, Utc};

/// How often the file is read.
pub const POLL: Duration = Duration::from_secs(1);

/// The host's local time (libc's `mktime` / `localtime_r`, TZ honoured).
struct Local;

impl Calendar for Local {
    fn to_epoch(&self, (y, mo, d): (i32, u32, u32), (h, mi, s): (u32, u32, u32)) -> Option<i64> {
        // SAFETY: an all-zero `tm` is a valid value to fill in.
        let mut tm: libc::tm = unsafe { std::mem::zeroed() };
        tm.tm_year = y - 1900;
        tm.tm_mon = i32::try_from(mo).ok()? - 1;
        tm.tm_mday = i32::try_from(d).ok()?;
        tm.tm_hour = i32::try_from(h).ok()?;
        tm.tm_min = i32::try_from(mi).ok()?;
        tm.tm_sec = i32::try_from(s).ok()?;
        tm.tm_isdst = -1;
        let asked = (
            tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
        );
        // SAFETY: `tm` is a live, initialised struct tm.
        let t = unsafe { libc::mktime(&mut tm) };
        // keepalived's check: a normalised time is not the one written.
        let got = (
            tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
        );
        (t != -1 && asked == got).then_some(t)
    }

    fn date_of(&self, epoch: i64) -> (i32, u32, u32) {
        // SAFETY: as above; localtime_r writes into `tm` only.
        let mut tm: libc::tm = unsafe { std::mem::zeroed() };
        let t: libc::time_t = epoch;
        // SAFETY: both pointers are to live values.
        if unsafe { libc::localtime_r(&t, &mut tm) }.is_null() {
            return Utc.date_of(epoch);
        }
        let month = u32::try_from(tm.tm_mon + 1).unwrap_or(1);
        let day = u32::try_from(tm.tm_mday).unwrap_or(1);
        (tm.tm_year + 1900, month, day)
    }
}

fn now_epoch() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The instant of epoch second `at`.
fn instant_of(at: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(at).unwrap_or(0))
}

/// Watches `path` until dropped (the daemon aborts the task at a reload
/// that changes the settings, and at exit).
pub async fn watch(path: PathBuf, repeat: bool) {
    let mut seen: Option<String> = None;
    // (epoch, text) of the reload scheduled.
    let mut scheduled: Option<(i64, String)> = None;
    loop {
        let text = std::fs::read_to_string(&path)
            .ok()
            .map(|t| t.lines().next().unwrap_or("").trim_end().to_string());
        if text != seen {
            seen = text.clone();
            scheduled = match text.as_deref().map(|t| (t, parse(t))) {
                None => {
                    if let Some((_, old)) = &scheduled {
                        info!("Cancelling reload scheduled for {old}");
                    }
                    None
                }
                Some((_, Err(e))) => {
                    warn!("{}: {e} - ignoring", path.display());
                    None
                }
                Some((t, Ok(w))) => {
                    let cal: &dyn Calendar = if w.utc { &Utc } else { &Local };
                    match resolve(t, &w, now_epoch(), cal) {
                        Ok(at) => {
                            info!("Scheduling reload for {t} (in {} s)", at - now_epoch());
                            Some((at, t.to_string()))
                        }
                        Err(e) => {
                            warn!("{}: {e} - ignoring", path.display());
                            None
                        }
                    }
                }
            };
        }
        if let Some((at, text)) = &scheduled {
            if SystemTime::now() >= instant_of(*at) {
                let remove = parse(text).map_or(true, |w| remove_after(&w, repeat));
                if remove {
                    let _ = std::fs::remove_file(&path);
                }
                info!("Reload time {text} reached: reloading");
                let _ =
                    nix::sys::signal::kill(nix::unistd::getpid(), nix::sys::signal::Signal::SIGHUP);
                // A repeated daily time is read again: tomorrow's.
                scheduled = None;
                seen = None;
            }
        }
        let wait = scheduled.as_ref().map_or(POLL, |(at, _)| {
            let left = instant_of(*at)
                .duration_since(SystemTime::now())
                .unwrap_or_default();
            POLL.min(left)
        });
        tokio::time::sleep(wait).await;
    }
}
