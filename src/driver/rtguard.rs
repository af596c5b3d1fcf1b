//! The guard of vrrpd's default realtime advert thread.
//!
//! With no scheduling keyword set, vrrpd runs its advert thread SCHED_RR at
//! the lowest realtime priority (`daemon::sched`): a CPU hog or the kernel
//! threads of a flood then cannot delay an advert, only the hypervisor can.
//! What a realtime thread risks is the reverse: a thread that a flood (or a
//! bug) keeps busy takes its CPU from everything at SCHED_OTHER, on a 1-CPU
//! VM from the balancer it protects. keepalived's guard for its opt-in
//! realtime is RLIMIT_RTTIME, which ends the process. This one degrades
//! instead: the daemon samples the thread's CPU time once per
//! [`WINDOW`], and a window over the budget puts the thread back on
//! SCHED_OTHER (where it was before realtime: short slice, nice 0) for a
//! hold time, doubled at each demotion up to [`MAX_HOLD`]. Realtime returns
//! once the hold has passed and the last window used at most half the
//! budget; an hour without a demotion forgets the earlier ones. The
//! first window after the guard starts (the daemon's start, or a reload
//! that changed the scheduling) is not judged: start-up work is not load.
//!
//! Pure: the daemon passes its clock and the thread's CPU time
//! (`CLOCK_THREAD_CPUTIME_ID`) and applies what comes back.

use std::time::Duration;

use crate::proto::Instant;

/// How often the thread's CPU time is looked at (at the first wake-up after).
pub const WINDOW: Duration = Duration::from_secs(1);
/// The default budget: a quarter of one CPU. A 10 000 frames/s flood costs
/// the thread about a tenth (README, "Floods from a LAN host").
pub const DEFAULT_BUDGET_PERCENT: u8 = 25;
/// The first demotion's hold.
pub const FIRST_HOLD: Duration = Duration::from_secs(10);
/// The longest hold.
pub const MAX_HOLD: Duration = Duration::from_secs(300);
/// Calm this long after a demotion and the next one starts at
/// [`FIRST_HOLD`] again.
pub const FORGET_AFTER: Duration = Duration::from_secs(3600);

/// What a sample calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuardAction {
    /// Over budget: SCHED_OTHER for `hold`. `used_percent` of one CPU in
    /// the last window.
    Demote { used_percent: u32, hold: Duration },
    /// Calm again after the hold: back to realtime.
    Restore { used_percent: u32 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Realtime,
    Demoted { until: Instant },
}

/// The guard's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealtimeGuard {
    budget_percent: u32,
    mode: Mode,
    /// Wall time and thread CPU time at the window's start.
    window_start: Option<(Instant, Duration)>,
    /// The first whole window has passed: the one with the start-up (or
    /// the reload) in it, which is not judged.
    warmed_up: bool,
    /// Demotions since the last [`FORGET_AFTER`] of calm.
    demotions: u32,
    last_demotion: Option<Instant>,
}

impl RealtimeGuard {
    /// A guard of a thread that is realtime now.
    pub fn new(budget_percent: u8) -> RealtimeGuard {
        RealtimeGuard {
            budget_percent: u32::from(budget_percent.clamp(1, 100)),
            mode: Mode::Realtime,
            window_start: None,
            warmed_up: false,
            demotions: 0,
            last_demotion: None,
        }
    }

    /// Whether a sample is due (so the caller reads the CPU clock only then).
    pub fn sample_due(&self, now: Instant) -> bool {
        self.window_start
            .is_none_or(|(t, _)| now.saturating_since(t) >= WINDOW)
    }

    /// Whether the thread should be realtime now.
    pub fn realtime(&self) -> bool {
        self.mode == Mode::Realtime
    }

    /// The thread had used `cpu` in all at `now`.
    pub fn sample(&mut self, now: Instant, cpu: Duration) -> Option<GuardAction> {
        let Some((t0, cpu0)) = self.window_start else {
            self.window_start = Some((now, cpu));
            return None;
        };
        let wall = now.saturating_since(t0);
        if wall < WINDOW {
            return None;
        }
        self.window_start = Some((now, cpu));
        if !self.warmed_up {
            self.warmed_up = true;
            return None;
        }
        let used = cpu.saturating_sub(cpu0);
        let used_percent =
            u32::try_from(used.as_nanos() * 100 / wall.as_nanos().max(1)).unwrap_or(u32::MAX);
        if self
            .last_demotion
            .is_some_and(|t| now.saturating_since(t) >= FORGET_AFTER)
        {
            self.demotions = 0;
            self.last_demotion = None;
        }
        match self.mode {
            Mode::Realtime if used_percent > self.budget_percent => {
                let hold = FIRST_HOLD
                    .saturating_mul(1 << self.demotions.min(16))
                    .min(MAX_HOLD);
                self.demotions += 1;
                self.last_demotion = Some(now);
                self.mode = Mode::Demoted { until: now + hold };
                Some(GuardAction::Demote { used_percent, hold })
            }
            Mode::Demoted { until } if now >= until && used_percent * 2 <= self.budget_percent => {
                self.mode = Mode::Realtime;
                Some(GuardAction::Restore { used_percent })
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A guard past its first window, anchored at 0 s with no CPU used.
    fn guard(budget: u8) -> RealtimeGuard {
        let mut g = RealtimeGuard::new(budget);
        g.sample(at(0), cpu(0));
        g.warmed_up = true;
        g
    }

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }
    fn cpu(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    /// Feeds one sample per second from `start_s`, the thread using
    /// `per_s_ms` of CPU each second, starting from `cpu_ms`; returns the
    /// actions and the CPU time at the end.
    fn run(
        g: &mut RealtimeGuard,
        start_s: u64,
        secs: u64,
        per_s_ms: u64,
        mut cpu_ms: u64,
    ) -> (Vec<(u64, GuardAction)>, u64) {
        let mut out = Vec::new();
        for s in start_s..start_s + secs {
            if let Some(a) = g.sample(at(s * 1000), cpu(cpu_ms)) {
                out.push((s, a));
            }
            cpu_ms += per_s_ms;
        }
        (out, cpu_ms)
    }

    #[test]
    fn a_thread_under_its_budget_stays_realtime() {
        let mut g = guard(25);
        let (actions, _) = run(&mut g, 0, 60, 250, 0);
        assert_eq!(actions, vec![]);
        assert!(g.realtime());
    }

    #[test]
    fn a_window_over_the_budget_demotes_for_the_first_hold() {
        let mut g = guard(25);
        let (actions, c) = run(&mut g, 0, 5, 10, 0);
        assert_eq!(actions, vec![]);
        assert_eq!(g.sample(at(5000), cpu(c)), None);
        // 260 ms in the next second: 26 %.
        assert_eq!(
            g.sample(at(6000), cpu(c + 260)),
            Some(GuardAction::Demote {
                used_percent: 26,
                hold: FIRST_HOLD
            })
        );
        assert!(!g.realtime());
    }

    #[test]
    fn the_first_sample_only_anchors_the_window() {
        let mut g = RealtimeGuard::new(25);
        // Ten seconds of CPU already used before the guard started.
        assert_eq!(g.sample(at(0), cpu(10_000)), None);
        assert!(g.realtime());
    }

    #[test]
    fn the_first_window_with_the_start_up_in_it_is_not_judged() {
        let mut g = RealtimeGuard::new(25);
        g.sample(at(0), cpu(0));
        // Start-up: 600 ms of CPU in the first second.
        assert_eq!(g.sample(at(1000), cpu(600)), None);
        assert!(g.realtime());
        // The next busy second is.
        assert!(matches!(
            g.sample(at(2000), cpu(1200)),
            Some(GuardAction::Demote {
                used_percent: 60,
                ..
            })
        ));
    }

    #[test]
    fn a_window_shorter_than_a_second_decides_nothing() {
        let mut g = guard(25);
        assert!(!g.sample_due(at(999)));
        // All of the CPU for 0.9 s, but the window is not over.
        assert_eq!(g.sample(at(900), cpu(900)), None);
        assert!(g.sample_due(at(1000)));
        assert!(matches!(
            g.sample(at(1000), cpu(950)),
            Some(GuardAction::Demote {
                used_percent: 95,
                ..
            })
        ));
    }

    #[test]
    fn realtime_returns_only_after_the_hold_and_a_calm_window() {
        let mut g = guard(25);
        assert!(matches!(
            g.sample(at(1000), cpu(500)),
            Some(GuardAction::Demote { .. })
        ));
        // Calm at once, but the hold (10 s, to 11 s) is not over.
        for s in 2..=10 {
            assert_eq!(g.sample(at(s * 1000), cpu(500)), None, "at {s} s");
        }
        assert!(!g.realtime());
        // Past the hold but busy: 20 % is under the budget, over half of it.
        for (s, c) in [(11, 700), (12, 900), (13, 1100)] {
            assert_eq!(g.sample(at(s * 1000), cpu(c)), None, "at {s} s");
        }
        assert!(!g.realtime());
        // A window at 12 %: at most half the budget.
        assert_eq!(
            g.sample(at(14_000), cpu(1220)),
            Some(GuardAction::Restore { used_percent: 12 })
        );
        assert!(g.realtime());
    }

    #[test]
    fn each_demotion_holds_twice_as_long_up_to_the_maximum() {
        let mut g = guard(25);
        let mut t = 0;
        let mut c = 0;
        let mut holds = Vec::new();
        for _ in 0..7 {
            t += 1000;
            c += 900;
            match g.sample(at(t), cpu(c)) {
                Some(GuardAction::Demote { hold, .. }) => holds.push(hold.as_secs()),
                other => panic!("expected a demotion, got {other:?}"),
            }
            // Calm through the hold, then restored.
            loop {
                t += 1000;
                if let Some(GuardAction::Restore { .. }) = g.sample(at(t), cpu(c)) {
                    break;
                }
            }
        }
        assert_eq!(holds, vec![10, 20, 40, 80, 160, 300, 300]);
    }

    #[test]
    fn an_hour_of_calm_forgets_the_earlier_demotions() {
        let mut g = guard(25);
        assert!(matches!(
            g.sample(at(1000), cpu(900)),
            Some(GuardAction::Demote { hold, .. }) if hold == FIRST_HOLD
        ));
        let (_, c) = run(&mut g, 2, 3600, 0, 900);
        assert!(g.realtime());
        assert!(matches!(
            g.sample(at(3602 * 1000), cpu(c + 900)),
            Some(GuardAction::Demote { hold, .. }) if hold == FIRST_HOLD
        ));
    }

    #[test]
    fn the_budget_is_kept_within_one_to_a_hundred_percent() {
        let mut g = guard(0);
        // 0 would demote on any CPU use at all; it means 1 %.
        assert_eq!(g.sample(at(1000), cpu(10)), None);
        assert!(matches!(
            g.sample(at(2000), cpu(30)),
            Some(GuardAction::Demote {
                used_percent: 2,
                ..
            })
        ));
    }

    #[test]
    fn a_long_sleep_spreads_the_cpu_over_the_whole_window() {
        let mut g = guard(25);
        // 1 s of CPU over 10 s asleep and awake: 10 %.
        assert_eq!(g.sample(at(10_000), cpu(1000)), None);
        assert!(g.realtime());
    }
}
