//! keepalived's `max_auto_priority` / `min_auto_priority_delay`
//! (scheduler.c, process.c `increment_process_priority`): when the daemon
//! wakes more than the minimum delay after a timer was due, the host is
//! starving it; it says so, and (with `max_auto_priority`) moves to
//! SCHED_RR at the lowest priority, then one step higher at each new
//! starvation, up to the maximum. A configured `vrrp_rt_priority` is where
//! it starts from. The daemon applies the decision (`sched::apply`).

use std::time::Duration;

use crate::config::Scheduling;

/// keepalived's `min_auto_priority_delay` default: 1 s.
pub const DEFAULT_MIN_DELAY: Duration = Duration::from_secs(1);
/// `sched_get_priority_min(SCHED_RR)` on Linux.
pub const MIN_RT: u8 = 1;

/// What one late wake-up calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overdue {
    /// How late the wake-up was (logged, as keepalived does, even without
    /// `max_auto_priority`).
    pub late: Duration,
    /// The SCHED_RR priority to move to, if any.
    pub raise_to: Option<u8>,
}

/// The state: the ceiling, the threshold, and the realtime priority in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoPriority {
    max: Option<u8>,
    min_delay: Duration,
    current: Option<u8>,
}

impl AutoPriority {
    /// From the configuration: the priority in force is the configured one.
    pub fn new(s: &Scheduling) -> AutoPriority {
        AutoPriority {
            max: s.max_auto_priority.map(|p| p.get()),
            min_delay: s
                .min_auto_priority_delay_us
                .map_or(DEFAULT_MIN_DELAY, |us| {
                    Duration::from_micros(u64::from(us.get()))
                }),
            current: s.realtime_priority.map(|p| p.get()),
        }
    }

    /// The daemon woke `late` after its earliest timer was due.
    pub fn woke(&mut self, late: Duration) -> Option<Overdue> {
        if late <= self.min_delay {
            return None;
        }
        let raise_to = match (self.max, self.current) {
            (None, _) => None,
            (Some(max), Some(cur)) if cur >= max => None,
            (Some(_), Some(cur)) => Some(cur + 1),
            (Some(_), None) => Some(MIN_RT),
        };
        if raise_to.is_some() {
            self.current = raise_to;
        }
        Some(Overdue { late, raise_to })
    }

    /// The realtime priority in force (None: not realtime).
    pub fn current(&self) -> Option<u8> {
        self.current
    }
}
