//! Where log lines go: natively to journald under systemd (structured
//! fields), else readable text on standard error.

use tracing::Level;
use tracing_journald::{Priority, PriorityMappings};
use tracing_subscriber::filter::{LevelFilter, Targets};
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
/// overrides both with `target=level` directives, comma-separated, a bare
/// level for everything else (`vrrpd=trace,warn`); the most specific target
/// wins. A value that does not parse is ignored.
pub fn init(target: Target, detail: bool) {
    // `Targets` rather than `EnvFilter`: vrrpd opens no spans, so span and
    // field directives would match nothing, and EnvFilter's regex engine is
    // ~150 KB of resident text in every daemon.
    let filter = || filter(std::env::var("VRRPD_LOG").ok().as_deref(), detail);
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
    let console = tracing_subscriber::fmt::layer()
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = tracing_subscriber::registry()
        .with(filter())
        .with(console)
        .try_init();
}

/// `VRRPD_LOG`'s directives when set and valid, else the default.
fn filter(env: Option<&str>, detail: bool) -> Targets {
    env.filter(|v| !v.trim().is_empty())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| default_filter(detail))
}

/// Without `VRRPD_LOG`: vrrpd at info (debug with `-D`, which also shows the
/// `vrrpd::detail` lines), everything else at warn.
fn default_filter(detail: bool) -> Targets {
    let targets = Targets::new().with_default(Level::WARN);
    if detail {
        targets.with_target("vrrpd", Level::DEBUG)
    } else {
        targets
            .with_target("vrrpd", Level::INFO)
            .with_target("vrrpd::detail", LevelFilter::OFF)
    }
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
    fn default_filter_is_info_for_vrrpd_and_warn_elsewhere() {
        let f = filter(None, false);
        assert!(f.would_enable("vrrpd::daemon", &Level::INFO));
        assert!(!f.would_enable("vrrpd::daemon", &Level::DEBUG));
        assert!(!f.would_enable("vrrpd::detail", &Level::INFO));
        assert!(f.would_enable("hyper::proto", &Level::WARN));
        assert!(!f.would_enable("hyper::proto", &Level::INFO));
    }

    #[test]
    fn detail_adds_debug_and_the_detail_lines() {
        let f = filter(None, true);
        assert!(f.would_enable("vrrpd::detail", &Level::INFO));
        assert!(f.would_enable("vrrpd::daemon", &Level::DEBUG));
        assert!(!f.would_enable("vrrpd::daemon", &Level::TRACE));
        assert!(!f.would_enable("rustls", &Level::INFO));
    }

    #[test]
    fn vrrpd_log_overrides_and_the_most_specific_target_wins() {
        let f = filter(Some("vrrpd=trace,vrrpd::output::control=off,error"), false);
        assert!(f.would_enable("vrrpd::daemon", &Level::TRACE));
        assert!(f.would_enable("vrrpd::detail", &Level::INFO));
        assert!(!f.would_enable("vrrpd::output::control", &Level::ERROR));
        assert!(f.would_enable("tokio", &Level::ERROR));
        assert!(!f.would_enable("tokio", &Level::WARN));
        // A target alone means every level; without a bare level the rest is off.
        let f = filter(Some("vrrpd::track"), true);
        assert!(f.would_enable("vrrpd::track::probe", &Level::TRACE));
        assert!(!f.would_enable("vrrpd::daemon", &Level::ERROR));
    }

    #[test]
    fn unusable_vrrpd_log_keeps_the_default() {
        for bad in ["", "  ", "vrrpd=loud", "=info"] {
            let f = filter(Some(bad), false);
            assert!(f.would_enable("vrrpd::daemon", &Level::INFO), "{bad:?}");
            assert!(!f.would_enable("vrrpd::daemon", &Level::DEBUG), "{bad:?}");
        }
    }

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
