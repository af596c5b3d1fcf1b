//! keepalived's process-level settings that vrrpd applies to itself:
//! `umask` (global_parser.c `umask_handler`: applied when read, so at start
//! and at each reload) and the process name (`vrrp_process_name`,
//! `process_names`, `process_name`: prctl PR_SET_NAME at start and when a
//! reload changes it, vrrp_daemon.c).

use std::ffi::CString;

use nix::sys::stat::Mode;
use tracing::{info, warn};

use crate::config::Global;

/// The umask `umask` set (None: not set by the configuration).
static SET_UMASK: std::sync::Mutex<Option<u32>> = std::sync::Mutex::new(None);

/// The mode of the pid file under the configured umask, with keepalived's
/// exception: never hidden from group and others' reading (main.c clears
/// S_IRGRP and S_IROTH from the mask while it writes pid files). None:
/// no configured umask, the file keeps what the inherited one gave it.
pub fn pid_file_mode() -> Option<u32> {
    let bits = (*SET_UMASK.lock().ok()?)?;
    Some(pid_mode(bits))
}

/// 0o666 less the umask without its group- and other-read bits.
pub fn pid_mode(umask: u32) -> u32 {
    0o666 & !(umask & !0o044)
}

/// Applies `g`'s umask and process name; `previous` is the configuration
/// in force before (None at start), so that a reload renames only on a
/// change (keepalived's rule) and an unchanged umask is not logged again.
pub fn apply(g: &Global, previous: Option<&Global>) {
    if let Some(bits) = g.umask {
        let old = nix::sys::stat::umask(Mode::from_bits_truncate(bits));
        if let Ok(mut set) = SET_UMASK.lock() {
            *set = Some(bits);
        }
        if previous.and_then(|p| p.umask) != Some(bits) {
            info!("umask set to {bits:04o} (was {:04o})", old.bits() & 0o777);
        }
    }
    // The name the daemon started with, for a reload that removes the setting.
    static STARTED_AS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let started_as = STARTED_AS.get_or_init(|| {
        nix::sys::prctl::get_name()
            .map(|c| c.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "vrrpd".into())
    });
    let changed = previous.is_none_or(|p| p.process_name != g.process_name);
    if changed && (g.process_name.is_some() || previous.is_some()) {
        let name = g.process_name.as_deref().unwrap_or(started_as);
        // The main thread's name is the process's comm; threads started
        // later inherit it.
        match CString::new(name) {
            Ok(c) => match nix::sys::prctl::set_name(&c) {
                Ok(()) if g.process_name.is_some() => info!("process name set to {name}"),
                Ok(()) => {}
                Err(e) => warn!("cannot set process name '{name}': {e}"),
            },
            Err(_) => warn!("process name '{name}' contains a NUL byte; not set"),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn pid_files_stay_readable_as_keepalived_writes_them() {
        assert_eq!(super::pid_mode(0o077), 0o644);
        assert_eq!(super::pid_mode(0o022), 0o644);
        assert_eq!(super::pid_mode(0o266), 0o400 | 0o044);
        assert_eq!(super::pid_mode(0), 0o666);
    }
}
