//! Rate limit for log lines caused by received packets (bad adverts,
//! mismatched settings, strangers): a flood of hostile or misconfigured
//! adverts must not flood the journal (keepalived rate limits these since
//! 2.3.3). Counters still count every packet; only the lines are limited.

use std::time::Duration;

use crate::proto::Instant;

/// Lines of one kind logged per window before the rest are suppressed.
pub const BURST: u32 = 3;
/// The window: after it, a kind may log again and says how many it dropped.
pub const WINDOW: Duration = Duration::from_secs(10);

/// Per-kind windows (one limiter per instance, one for the daemon).
#[derive(Debug, Default)]
pub struct LogLimit {
    kinds: super::running::ByKind<Window>,
}

#[derive(Debug)]
struct Window {
    start: Instant,
    logged: u32,
    suppressed: u64,
}

impl LogLimit {
    /// Whether a line of `kind` may be logged at `now`: `Some(n)` with the
    /// number of lines of that kind suppressed since the last one logged,
    /// `None` to stay quiet.
    pub fn allow(&mut self, kind: &'static str, now: Instant) -> Option<u64> {
        let w = self.kinds.slot(kind, || Window {
            start: now,
            logged: 0,
            suppressed: 0,
        });
        if now.saturating_since(w.start) >= WINDOW {
            w.start = now;
            w.logged = 0;
        }
        if w.logged < BURST {
            w.logged += 1;
            Some(std::mem::take(&mut w.suppressed))
        } else {
            w.suppressed += 1;
            None
        }
    }
}

/// The suffix for a line that follows suppressed ones ("" when none were).
pub fn suppressed_note(n: u64) -> String {
    match n {
        0 => String::new(),
        1 => " (1 similar message suppressed)".into(),
        n => format!(" ({n} similar messages suppressed)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_quiet_until_the_window_ends_then_reports_the_count() {
        let t0 = Instant::from_millis(1000);
        let mut l = LogLimit::default();
        for _ in 0..BURST {
            assert_eq!(l.allow("auth", t0), Some(0));
        }
        for i in 0..500u64 {
            assert_eq!(l.allow("auth", t0 + Duration::from_millis(i)), None);
        }
        assert_eq!(
            l.allow("auth", t0 + (WINDOW - Duration::from_millis(1))),
            None
        );
        assert_eq!(l.allow("auth", t0 + WINDOW), Some(501));
        assert_eq!(l.allow("auth", t0 + WINDOW), Some(0));
    }

    #[test]
    fn kinds_are_limited_separately() {
        let t0 = Instant::from_millis(1000);
        let mut l = LogLimit::default();
        for _ in 0..BURST {
            l.allow("auth", t0);
        }
        assert_eq!(l.allow("auth", t0), None);
        assert_eq!(l.allow("interval", t0), Some(0));
    }

    #[test]
    fn a_quiet_kind_logs_every_line() {
        let t0 = Instant::from_millis(1000);
        let mut l = LogLimit::default();
        for i in 0..20u32 {
            assert_eq!(l.allow("auth", t0 + WINDOW * i), Some(0));
        }
    }

    #[test]
    fn note_wording() {
        assert_eq!(suppressed_note(0), "");
        assert_eq!(suppressed_note(1), " (1 similar message suppressed)");
        assert_eq!(suppressed_note(7), " (7 similar messages suppressed)");
    }
}
