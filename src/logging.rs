//! Where log lines go: natively to journald under systemd (structured
//! fields), else readable text on standard error.

use tracing_journald::{Priority, PriorityMappings};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// `--log`: the destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// journald when standard error is the journal stream systemd set up
    /// (JOURNAL_STREAM names it), else the console.
    Auto,
    /// The native journal protocol (/run/systemd/journal/socket).
    Journald,
    /// Text on standard error.
    Console,
}

/// Installs the global subscriber. `detail` is keepalived's `-D`: the
/// detail lines (target `vrrpd::detail`) and vrrpd's debug lines. `VRRPD_LOG`
/// (an EnvFilter) overrides both.
pub fn init(target: Target, detail: bool) {
    let filter = || {
        let default = if detail {
            "vrrpd=debug,warn"
        } else {
            "vrrpd=info,vrrpd::detail=off,warn"
        };
        tracing_subscriber::EnvFilter::try_from_env("VRRPD_LOG")
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default))
    };
    let journald = match target {
        Target::Journald => true,
        Target::Auto => stderr_is_journal(),
        Target::Console => false,
    };
    // The journal gets the keepalived-worded MESSAGE plus the event's fields
    // upper-cased (VRRP_INSTANCE, VRRP_VRID, VRRP_STATE_FROM, ...).
    if journald {
        match tracing_journald::layer() {
            Ok(layer) => {
                // keepalived logs its state lines at LOG_INFO: INFO is 6
                // (the crate's default says 5, notice), DEBUG 7.
                let levels = PriorityMappings {
                    info: Priority::Informational,
                    debug: Priority::Debug,
                    ..PriorityMappings::new()
                };
                let layer = layer
                    .with_field_prefix(None)
                    .with_syslog_identifier("vrrpd".into())
                    .with_priority_mappings(levels);
                if tracing_subscriber::registry()
                    .with(filter())
                    .with(layer)
                    .try_init()
                    .is_ok()
                {
                    return;
                }
            }
            // Said on stderr, which under systemd is the journal too.
            Err(e) => eprintln!("vrrpd: journald socket unusable ({e}); logging to stderr"),
        }
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

/// systemd.exec(5): JOURNAL_STREAM is "DEVICE:INODE" of the stream it
/// connected stdout/stderr to; a program should log natively only when its
/// stderr still is that stream (not when a wrapper redirected it).
fn stderr_is_journal() -> bool {
    let Some(value) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Ok(st) = nix::sys::stat::fstat(std::io::stderr()) else {
        return false;
    };
    journal_stream_matches(&value.to_string_lossy(), st.st_dev, st.st_ino)
}

fn journal_stream_matches(value: &str, dev: u64, ino: u64) -> bool {
    let Some((d, i)) = value.split_once(':') else {
        return false;
    };
    d.parse() == Ok(dev) && i.parse() == Ok(ino)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_stream_must_name_stderr() {
        assert!(journal_stream_matches("8:12345", 8, 12345));
        assert!(!journal_stream_matches("8:12345", 8, 12346));
        assert!(!journal_stream_matches("9:12345", 8, 12345));
        assert!(!journal_stream_matches("", 8, 12345));
        assert!(!journal_stream_matches("8", 8, 12345));
        assert!(!journal_stream_matches("x:y", 8, 12345));
    }
}
