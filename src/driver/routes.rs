//! Routes and rules: which must be in the kernel, and the worker's queue
//! that puts them there. Pure: no tokio, no netlink, no clock reads.
//!
//! # What is wanted
//!
//! An instance wants its `virtual_routes` and `virtual_rules` while it holds
//! its addresses (Master), nothing otherwise; the configuration wants its
//! `static_routes` / `static_rules` from start to a clean stop. The driver
//! computes that after every event ([`Wanted::diff`]) and hands the shell
//! only the changes, so a reload that edits one route removes and adds that
//! one and leaves the others alone, as keepalived's
//! `clear_diff_vrrp_vroutes()` does.
//!
//! # The queue (bounds and order)
//!
//! One slot per entry (route or rule), holding the latest desired state
//! (latest wins); at most one job per entry is queued or running, so the
//! queue never holds more than the configured entries. Removals go before
//! additions (the worker asks for them first, as keepalived removes rules
//! and routes before addresses on leaving Master); within a kind, in the
//! order first queued.
//!
//! # Outcomes
//!
//! An add that finds the entry in place (EEXIST) marks it present-before:
//! never removed by us. A refused job (a `dev` that is down, a gateway not
//! reachable yet, a `src` address not yet added) is retried with the
//! address worker's backoff (100 ms doubling to 30 s) while still wanted
//! that way; keepalived tries once per transition and logs. Refusals are
//! reported once per change of error.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::{Config, Instance, Route, Rule};
use crate::proto::Instant;

use super::work::{backoff, Op};

/// The owner of the static routes and rules (instance names cannot be
/// empty, so this one never collides).
pub const STATIC_OWNER: &str = "";

/// A route or a rule, as installed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entry {
    Route(Route),
    Rule(Rule),
}

impl Entry {
    /// keepalived's text for it (`format_iproute` / `format_iprule`).
    pub fn text(&self) -> String {
        match self {
            Entry::Route(r) => r.keepalived_text(),
            Entry::Rule(r) => r.keepalived_text(),
        }
    }

    pub fn is_route(&self) -> bool {
        matches!(self, Entry::Route(_))
    }

    /// Whether it carries keepalived's protocol (18): found in the kernel
    /// before our add, it is a leftover of a killed predecessor (keepalived
    /// clears those at start), so ours to remove later.
    pub fn keepalived_protocol(&self) -> bool {
        match self {
            Entry::Route(r) => r.effective_protocol() == crate::config::RTPROT_KEEPALIVED,
            Entry::Rule(r) => r.protocol == Some(crate::config::RTPROT_KEEPALIVED),
        }
    }

    /// Not `no_track`: its deletion by someone else matters.
    pub fn tracked(&self) -> bool {
        match self {
            Entry::Route(r) => !r.no_track,
            Entry::Rule(r) => !r.no_track,
        }
    }
}

/// Everything `inst` installs while Master: its routes, then its rules.
pub fn virtual_entries(inst: &Instance) -> Vec<Entry> {
    inst.virtual_routes
        .iter()
        .cloned()
        .map(Entry::Route)
        .chain(inst.virtual_rules.iter().cloned().map(Entry::Rule))
        .collect()
}

/// Everything `config` installs from start to stop.
pub fn static_entries(config: &Config) -> Vec<Entry> {
    config
        .static_routes
        .iter()
        .cloned()
        .map(Entry::Route)
        .chain(config.static_rules.iter().cloned().map(Entry::Rule))
        .collect()
}

/// The entries one owner has asked for, to tell what changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wanted(Vec<Entry>);

impl Wanted {
    /// Moves to `now`: (added, removed), each in configuration order.
    pub fn diff(&mut self, now: Vec<Entry>) -> (Vec<Entry>, Vec<Entry>) {
        let added = now
            .iter()
            .filter(|e| !self.0.contains(e))
            .cloned()
            .collect();
        let removed = self
            .0
            .iter()
            .filter(|e| !now.contains(e))
            .cloned()
            .collect();
        self.0 = now;
        (added, removed)
    }

    pub fn entries(&self) -> &[Entry] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A job for the worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteJob {
    pub op: Op,
    pub entry: Entry,
}

/// How a job went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteOutcome {
    Added,
    /// EEXIST: it was there before we added it.
    AlreadyPresent,
    /// Gone (removed, or it was not there).
    Removed,
    Failed(String),
}

/// Where an entry stands, for status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum EntryState {
    Pending {
        op: &'static str,
    },
    Installed,
    PresentBefore,
    Failed {
        op: &'static str,
        error: String,
        attempts: u32,
    },
    Absent,
}

/// What the shell should log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteReport {
    /// `repeated`: the same error as the attempt before (log quietly).
    Refused {
        owner: String,
        entry: Entry,
        op: Op,
        error: String,
        attempts: u32,
        retry_in: Duration,
        repeated: bool,
    },
    Recovered {
        owner: String,
        entry: Entry,
        op: Op,
        attempts: u32,
    },
    PresentBefore {
        owner: String,
        entry: Entry,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kernel {
    /// Never touched: a leftover of a killed predecessor is removed when
    /// wanted absent (keepalived clears its own at start as well).
    Unknown,
    Absent,
    Ours,
    Foreign,
}

#[derive(Debug, Clone)]
struct Failure {
    op: Op,
    error: String,
    attempts: u32,
    retry_at: Instant,
}

#[derive(Debug, Clone)]
struct Slot {
    owner: String,
    entry: Entry,
    desired: bool,
    kernel: Kernel,
    /// Queued (with its sequence number) or running.
    job: Option<(u64, Op)>,
    running: bool,
    failure: Option<Failure>,
}

impl Slot {
    fn needed(&self) -> Option<Op> {
        match (self.desired, self.kernel) {
            (true, Kernel::Ours | Kernel::Foreign) => None,
            (true, _) => Some(Op::Add),
            (false, Kernel::Ours | Kernel::Unknown) => Some(Op::Remove),
            (false, _) => None,
        }
    }
}

/// The bounded route and rule queue (one slot per entry ever wanted).
#[derive(Debug, Clone, Default)]
pub struct RouteQueue {
    slots: Vec<Slot>,
    seq: u64,
    generation: u64,
}

impl RouteQueue {
    pub fn new() -> RouteQueue {
        RouteQueue::default()
    }

    fn find(&self, entry: &Entry) -> Option<usize> {
        self.slots.iter().position(|s| s.entry == *entry)
    }

    /// `owner` wants `entry` in the kernel (`present`) or not.
    pub fn want(&mut self, owner: &str, entry: Entry, present: bool) {
        let i = match self.find(&entry) {
            Some(i) => i,
            None => {
                self.slots.push(Slot {
                    owner: owner.to_owned(),
                    entry,
                    desired: !present,
                    kernel: Kernel::Unknown,
                    job: None,
                    running: false,
                    failure: None,
                });
                self.slots.len() - 1
            }
        };
        let slot = &mut self.slots[i];
        if slot.owner != owner {
            slot.owner = owner.to_owned();
            self.generation += 1;
        }
        if slot.desired != present {
            slot.desired = present;
            // A new desired state starts a fresh retry schedule.
            slot.failure = None;
        }
        self.schedule(i);
    }

    /// Takes over an entry a predecessor installed (`vrrpd upgrade`): in
    /// place, wanted, no job.
    pub fn adopt(&mut self, owner: &str, entry: Entry, foreign: bool) {
        let slot = Slot {
            owner: owner.to_owned(),
            entry,
            desired: true,
            kernel: if foreign {
                Kernel::Foreign
            } else {
                Kernel::Ours
            },
            job: None,
            running: false,
            failure: None,
        };
        match self.find(&slot.entry) {
            Some(i) => self.slots[i] = slot,
            None => self.slots.push(slot),
        }
        self.generation += 1;
    }

    fn schedule(&mut self, i: usize) {
        let slot = &mut self.slots[i];
        if slot.running {
            return;
        }
        match slot.needed() {
            None => slot.job = None,
            Some(op) => match &mut slot.job {
                Some((_, queued)) => *queued = op,
                None => {
                    self.seq += 1;
                    slot.job = Some((self.seq, op));
                }
            },
        }
    }

    fn due(slot: &Slot, now: Instant) -> bool {
        !slot.running
            && slot.job.is_some()
            && slot
                .failure
                .as_ref()
                .is_none_or(|f| Some(f.op) != slot.job.map(|(_, op)| op) || f.retry_at <= now)
    }

    /// The next job due at `now`: removals first, then additions, each in
    /// the order first queued.
    pub fn pop(&mut self, now: Instant) -> Option<RouteJob> {
        self.pop_op(now, Op::Remove)
            .or_else(|| self.pop_op(now, Op::Add))
    }

    /// The next job of kind `op` due at `now`, in the order first queued.
    pub fn pop_op(&mut self, now: Instant, op: Op) -> Option<RouteJob> {
        let i = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| Self::due(s, now) && s.job.is_some_and(|(_, o)| o == op))
            .min_by_key(|(_, s)| s.job.map_or(u64::MAX, |(seq, _)| seq))
            .map(|(i, _)| i)?;
        let slot = &mut self.slots[i];
        let (_, op) = slot.job?;
        slot.running = true;
        Some(RouteJob {
            op,
            entry: slot.entry.clone(),
        })
    }

    /// When [`RouteQueue::pop`] has something next (possibly past).
    pub fn poll_at(&self) -> Option<Instant> {
        self.slots
            .iter()
            .filter(|s| !s.running && s.job.is_some())
            .map(|s| match (&s.failure, s.job) {
                (Some(f), Some((_, op))) if f.op == op => f.retry_at,
                _ => Instant::ZERO,
            })
            .min()
    }

    /// The worker ran `job` at `now` with `outcome`; what to log.
    pub fn completed(
        &mut self,
        job: &RouteJob,
        outcome: RouteOutcome,
        now: Instant,
    ) -> Vec<RouteReport> {
        let mut reports = Vec::new();
        let Some(i) = self.find(&job.entry) else {
            return reports;
        };
        let slot = &mut self.slots[i];
        if !slot.running {
            return reports;
        }
        slot.running = false;
        slot.job = None;
        let held_before = slot.kernel == Kernel::Ours;
        if !matches!(outcome, RouteOutcome::Failed(_)) {
            if let Some(f) = slot.failure.take() {
                reports.push(RouteReport::Recovered {
                    owner: slot.owner.clone(),
                    entry: slot.entry.clone(),
                    op: f.op,
                    attempts: f.attempts,
                });
            }
        }
        match outcome {
            RouteOutcome::Added => slot.kernel = Kernel::Ours,
            RouteOutcome::AlreadyPresent if slot.entry.keepalived_protocol() => {
                slot.kernel = Kernel::Ours;
            }
            RouteOutcome::AlreadyPresent => {
                if slot.kernel != Kernel::Foreign {
                    reports.push(RouteReport::PresentBefore {
                        owner: slot.owner.clone(),
                        entry: slot.entry.clone(),
                    });
                }
                slot.kernel = Kernel::Foreign;
            }
            RouteOutcome::Removed => slot.kernel = Kernel::Absent,
            RouteOutcome::Failed(error) => {
                let previous = slot.failure.take().filter(|f| f.op == job.op);
                let repeated = previous.as_ref().is_some_and(|f| f.error == error);
                let attempts = previous.map_or(0, |f| f.attempts).saturating_add(1);
                let retry_in = backoff(attempts);
                reports.push(RouteReport::Refused {
                    owner: slot.owner.clone(),
                    entry: slot.entry.clone(),
                    op: job.op,
                    error: error.clone(),
                    attempts,
                    retry_in,
                    repeated,
                });
                if slot.needed() == Some(job.op) {
                    slot.failure = Some(Failure {
                        op: job.op,
                        error,
                        attempts,
                        retry_at: now + retry_in,
                    });
                }
            }
        }
        if held_before != (slot.kernel == Kernel::Ours) {
            self.generation += 1;
        }
        self.schedule(i);
        reports
    }

    /// Someone else deleted `entry` (a netlink event that was not our own
    /// removal): no longer ours; wanted still, it is queued again.
    pub fn lost(&mut self, entry: &Entry) {
        if let Some(i) = self.find(entry) {
            let slot = &mut self.slots[i];
            if matches!(slot.kernel, Kernel::Ours | Kernel::Foreign) {
                if slot.kernel == Kernel::Ours {
                    self.generation += 1;
                }
                slot.kernel = Kernel::Absent;
                self.schedule(i);
            }
        }
    }

    /// Whether everything is done (no job queued or running, retries aside).
    pub fn idle(&self) -> bool {
        self.slots
            .iter()
            .all(|s| s.job.is_none() || (!s.running && s.failure.is_some()))
    }

    /// Entries the kernel confirmed we added and not seen removed since:
    /// (owner, entry).
    pub fn held(&self) -> impl Iterator<Item = (&str, &Entry)> + '_ {
        self.slots
            .iter()
            .filter(|s| s.kernel == Kernel::Ours)
            .map(|s| (s.owner.as_str(), &s.entry))
    }

    /// Entries wanted and confirmed added by us: (owner, entry).
    pub fn wanted_held(&self) -> impl Iterator<Item = (&str, &Entry)> + '_ {
        self.slots
            .iter()
            .filter(|s| s.desired && s.kernel == Kernel::Ours)
            .map(|s| (s.owner.as_str(), &s.entry))
    }

    /// In place and wanted, with no job: what an upgrade hands over, as
    /// (owner, entry, there before us).
    pub fn settled(&self) -> Vec<(String, Entry, bool)> {
        self.slots
            .iter()
            .filter(|s| {
                s.desired && s.job.is_none() && matches!(s.kernel, Kernel::Ours | Kernel::Foreign)
            })
            .map(|s| {
                (
                    s.owner.clone(),
                    s.entry.clone(),
                    s.kernel == Kernel::Foreign,
                )
            })
            .collect()
    }

    /// Changes whenever [`RouteQueue::held`] may have.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Every entry handled, with its owner and state.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &Entry, EntryState)> + '_ {
        self.slots.iter().map(|s| {
            let state = if let Some(f) = &s.failure {
                EntryState::Failed {
                    op: f.op.as_str(),
                    error: f.error.clone(),
                    attempts: f.attempts,
                }
            } else if let Some((_, op)) = s.job {
                EntryState::Pending { op: op.as_str() }
            } else {
                match s.kernel {
                    Kernel::Ours => EntryState::Installed,
                    Kernel::Foreign => EntryState::PresentBefore,
                    Kernel::Absent | Kernel::Unknown => EntryState::Absent,
                }
            };
            (s.owner.as_str(), &s.entry, state)
        })
    }

    /// Pending jobs, for the bounds.
    pub fn queued(&self) -> usize {
        self.slots.iter().filter(|s| s.job.is_some()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Prefix, RuleType};

    /// A route of protocol `static` (4): someone else's if found in place.
    fn route(dst: &str) -> Entry {
        let mut r = Route::to(dst.parse::<Prefix>().unwrap());
        r.protocol = Some(4);
        Entry::Route(r)
    }

    fn rule(prio: u32) -> Entry {
        let mut r = Rule::at(prio);
        r.kind = Some(RuleType::Blackhole);
        Entry::Rule(r)
    }

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    /// Runs everything due at `now` against a kernel that accepts all.
    fn run(q: &mut RouteQueue, now: Instant) -> Vec<RouteJob> {
        let mut done = Vec::new();
        while let Some(job) = q.pop(now) {
            let outcome = match job.op {
                Op::Add => RouteOutcome::Added,
                Op::Remove => RouteOutcome::Removed,
            };
            q.completed(&job, outcome, now);
            done.push(job);
        }
        done
    }

    #[test]
    fn a_diff_names_only_what_changed() {
        let mut w = Wanted::default();
        let (a, r) = w.diff(vec![route("192.0.2.0/24"), rule(100)]);
        assert_eq!((a.len(), r.len()), (2, 0));
        let (a, r) = w.diff(vec![route("192.0.2.0/24"), rule(101)]);
        assert_eq!(a, vec![rule(101)]);
        assert_eq!(r, vec![rule(100)]);
        let (a, r) = w.diff(Vec::new());
        assert!(a.is_empty());
        assert_eq!(r.len(), 2);
    }

    #[test]
    fn removals_leave_before_additions() {
        let mut q = RouteQueue::new();
        q.want("VI_1", route("192.0.2.0/24"), true);
        run(&mut q, at(0));
        q.want("VI_1", route("198.51.100.0/24"), true);
        q.want("VI_1", route("192.0.2.0/24"), false);
        let jobs = run(&mut q, at(1));
        assert_eq!(jobs[0].op, Op::Remove);
        assert_eq!(jobs[1].op, Op::Add);
    }

    #[test]
    fn a_refused_add_is_retried_with_backoff_while_wanted() {
        let mut q = RouteQueue::new();
        q.want("VI_1", route("192.0.2.0/24"), true);
        let job = q.pop(at(0)).unwrap();
        let reports = q.completed(&job, RouteOutcome::Failed("Network is down".into()), at(0));
        assert!(matches!(
            reports[0],
            RouteReport::Refused {
                repeated: false,
                ..
            }
        ));
        assert_eq!(q.pop(at(50)), None, "backing off");
        assert_eq!(q.poll_at(), Some(at(100)));
        let job = q.pop(at(100)).unwrap();
        let reports = q.completed(&job, RouteOutcome::Added, at(100));
        assert!(matches!(
            reports[0],
            RouteReport::Recovered { attempts: 1, .. }
        ));
        assert_eq!(q.held().count(), 1);
    }

    #[test]
    fn a_refused_add_no_longer_wanted_stops() {
        let mut q = RouteQueue::new();
        q.want("VI_1", route("192.0.2.0/24"), true);
        let job = q.pop(at(0)).unwrap();
        q.want("VI_1", route("192.0.2.0/24"), false);
        q.completed(&job, RouteOutcome::Failed("no".into()), at(0));
        // Never added: a removal is still tried once (may be a leftover).
        let jobs = run(&mut q, at(10_000));
        assert!(jobs.iter().all(|j| j.op == Op::Remove));
        assert_eq!(run(&mut q, at(20_000)), vec![]);
    }

    #[test]
    fn a_leftover_with_keepalived_s_protocol_is_taken_as_ours() {
        let mut q = RouteQueue::new();
        let mut r = Route::to("192.0.2.0/24".parse::<Prefix>().unwrap());
        r.protocol = Some(18);
        let e = Entry::Route(r);
        q.want("VI_1", e.clone(), true);
        let job = q.pop(at(0)).unwrap();
        assert!(q
            .completed(&job, RouteOutcome::AlreadyPresent, at(0))
            .is_empty());
        assert_eq!(q.held().count(), 1);
        q.want("VI_1", e, false);
        assert_eq!(q.pop(at(1)).map(|j| j.op), Some(Op::Remove));
    }

    #[test]
    fn an_entry_present_before_is_never_removed() {
        let mut q = RouteQueue::new();
        q.want("VI_1", route("192.0.2.0/24"), true);
        let job = q.pop(at(0)).unwrap();
        let r = q.completed(&job, RouteOutcome::AlreadyPresent, at(0));
        assert!(matches!(r[0], RouteReport::PresentBefore { .. }));
        q.want("VI_1", route("192.0.2.0/24"), false);
        assert_eq!(q.pop(at(1)), None);
        assert_eq!(q.held().count(), 0);
    }

    #[test]
    fn one_job_per_entry_whatever_the_wants() {
        let mut q = RouteQueue::new();
        for n in 0..100 {
            q.want("VI_1", route("192.0.2.0/24"), n % 2 == 0);
        }
        assert_eq!(q.queued(), 1);
        let job = q.pop(at(0)).unwrap();
        assert_eq!(
            job.op,
            Op::Remove,
            "latest want wins; unknown state removed"
        );
    }

    #[test]
    fn an_entry_lost_while_wanted_is_added_again() {
        let mut q = RouteQueue::new();
        q.want("VI_1", route("192.0.2.0/24"), true);
        run(&mut q, at(0));
        q.lost(&route("192.0.2.0/24"));
        assert_eq!(run(&mut q, at(1)).len(), 1);
        assert_eq!(q.held().count(), 1);
    }

    #[test]
    fn adopted_entries_need_no_job_and_are_removed_when_given_up() {
        let mut q = RouteQueue::new();
        q.adopt("VI_1", rule(100), false);
        q.want("VI_1", rule(100), true);
        assert_eq!(q.pop(at(0)), None);
        q.want("VI_1", rule(100), false);
        assert_eq!(q.pop(at(0)).map(|j| j.op), Some(Op::Remove));
    }
}
