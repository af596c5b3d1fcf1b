//! The address worker's job queue: which virtual addresses to add or remove
//! and which gratuitous ARPs / unsolicited NAs to send, in what order and
//! when. Pure: no tokio, no clock reads; every time comes in as `now` and
//! [`WorkQueue::poll_at`] says when to call [`WorkQueue::pop`] next.
//!
//! # Bounds: merge, never grow with the number of requests
//!
//! - Addresses: one slot per (interface, address) holds the latest desired
//!   state. A later [`WorkQueue::want`] replaces a pending one and keeps its
//!   place (latest wins); an add then a remove before the worker ran leaves a
//!   removal only if the address may be ours, else nothing. At most one job
//!   per address is queued or running.
//! - Announcements: at most one pending announcement per owner (instance).
//!   A new one merges into it: the union of the addresses, the larger of the
//!   remaining repeat counts. A flood of lower-priority adverts therefore
//!   costs nothing more than one burst.
//!
//! So at most (configured addresses + instances) jobs are pending whatever
//! arrives; [`WorkQueue::queued`] reports the figures.
//!
//! # Order
//!
//! Address jobs leave in the order they were first queued. An announced
//! address waits until its add completed (an announcement must never precede
//! the address it announces); an address wanted absent is dropped from the
//! pending announcements. Announcement frames go round-robin over the
//! addresses waiting on an interface, as keepalived's per-interface list does.
//!
//! # Pacing (keepalived `vrrp_garp_interval`, `vrrp_gna_interval`, `garp_group`)
//!
//! Consecutive gratuitous ARPs on one interface are at least the GARP
//! interval apart, unsolicited NAs the NA interval (two independent clocks,
//! as `vrrp_arp.c` / `vrrp_ndisc.c`). The interfaces of one `garp_group`
//! share both clocks. An interval of 0 sends a burst at once, one job.
//!
//! # Outcomes
//!
//! The worker reports each job with [`WorkQueue::completed`]. An add that
//! finds the address already there marks it present-before: it is never
//! removed by us (a removal is skipped and reported once). A refused job is
//! retried with exponential backoff (100 ms doubling to 30 s) while the
//! address is still wanted that way; refusals are reported once per change
//! of error, retries flagged as repeats.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::time::Duration;

use crate::proto::Instant;

/// Who asked for a job: the instance name (stable across reloads, unlike
/// an index into the running list).
pub type Owner = String;

/// The first retry delay after a refusal; it doubles up to [`BACKOFF_MAX`].
pub const BACKOFF_MIN: Duration = Duration::from_millis(100);
/// The longest delay between two attempts at a refused job.
pub const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// What the queue needs of an address specification (prefix, label, ...,
/// opaque here): the address it installs.
pub trait Vip: Clone {
    fn addr(&self) -> IpAddr;
}

impl Vip for IpAddr {
    fn addr(&self) -> IpAddr {
        *self
    }
}

/// Minimum gaps between frames on one interface (or one `garp_group`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pacing {
    /// Between gratuitous ARPs (`vrrp_garp_interval`); zero = no pacing.
    pub garp: Duration,
    /// Between unsolicited NAs (`vrrp_gna_interval`); zero = no pacing.
    pub gna: Duration,
}

impl Pacing {
    fn interval(&self, kind: Kind) -> Duration {
        match kind {
            Kind::Garp => self.garp,
            Kind::Na => self.gna,
        }
    }
}

/// An address operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Add,
    Remove,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Add => "add",
            Op::Remove => "remove",
        }
    }
}

/// Identifies an announcement job for [`WorkQueue::completed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ticket(u64);

/// One thing for the worker to do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job<S> {
    Add {
        ifindex: u32,
        spec: S,
    },
    /// `spec` is the one the address was added with when we added it: the
    /// kernel deletes an address only with its own prefix.
    Remove {
        ifindex: u32,
        spec: S,
    },
    /// One frame per element of `addrs`, in that order, back to back.
    Announce {
        ifindex: u32,
        addrs: Vec<IpAddr>,
        ticket: Ticket,
        /// Whose frames these are: owner and count, summing to
        /// `addrs.len()` (counted as sent when the job succeeds).
        owners: Vec<(Owner, u32)>,
    },
}

/// How a job went, fed back with [`WorkQueue::completed`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The kernel added the address.
    Added,
    /// The address was there before we added it (EEXIST).
    AlreadyPresent,
    /// The address is gone (removed, or it was not there).
    Removed,
    /// The frames left.
    Announced,
    /// The kernel or the socket refused, with why.
    Failed(String),
}

/// Where an address stands, for status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressState {
    /// The operation is queued or running.
    Pending(Op),
    /// We added it and it has not been removed since.
    Installed,
    /// It was there before we added it: not ours, never removed by us.
    PresentBefore,
    /// The kernel refused; retried at `retry_at`.
    Failed {
        op: Op,
        error: String,
        attempts: u32,
        retry_at: Instant,
    },
    /// Not on the interface (as far as our own operations tell).
    Absent,
}

/// One address in [`WorkQueue::addresses`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressReport<'a> {
    /// The last owner that wanted it.
    pub owner: &'a str,
    pub ifindex: u32,
    pub addr: IpAddr,
    pub state: AddressState,
}

/// Something the shell should log (the core never logs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// The kernel refused `op`. `repeated`: the same error as the previous
    /// attempt (a retry: log quietly); otherwise the first refusal or a new
    /// error (log loudly).
    Refused {
        owner: Owner,
        ifindex: u32,
        addr: IpAddr,
        op: Op,
        error: String,
        attempts: u32,
        retry_at: Instant,
        repeated: bool,
    },
    /// A refused operation succeeded after `attempts` failures.
    Recovered {
        owner: Owner,
        ifindex: u32,
        addr: IpAddr,
        op: Op,
        attempts: u32,
    },
    /// The address was on the interface before we added it.
    PresentBefore {
        owner: Owner,
        ifindex: u32,
        addr: IpAddr,
    },
    /// A removal skipped because the address is not ours (once per time
    /// it is found present-before).
    NotRemoved {
        owner: Owner,
        ifindex: u32,
        addr: IpAddr,
    },
    /// Announcement frames could not be sent; `repeated` as for `Refused`.
    AnnounceFailed {
        ifindex: u32,
        error: String,
        repeated: bool,
    },
}

/// Answered by [`WorkQueue::passed`] once everything queued before it is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Barrier(u64);

/// What the merging saved and what failed, since start (DESIGN: a bounded
/// queue counts what it does when requests pile up).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkStats {
    /// Wants that replaced a pending job for the same address.
    pub wants_replaced: u64,
    /// Bursts merged into their owner's pending announcement.
    pub announcements_merged: u64,
    /// Removals skipped because the address was there before us.
    pub removals_skipped: u64,
    /// Address jobs the kernel refused (each attempt).
    pub refusals: u64,
    /// Announcement jobs that failed.
    pub announce_failures: u64,
    /// Announcement frames sent (jobs that succeeded), after merging and
    /// pacing: what reached the wire, not what was asked for.
    pub frames_sent: u64,
}

/// Pending work by kind, for the bounds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Queued {
    /// Address jobs queued, waiting for a retry or running.
    pub address_jobs: usize,
    /// Owners with a pending announcement.
    pub announcements: usize,
    /// (owner, interface, address) entries in those announcements.
    pub announced_addresses: usize,
    /// Frames still to send for them.
    pub frames: u64,
}

/// What we know of an address on the interface, from our own operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kernel {
    /// Never touched: could be a leftover of a killed predecessor (removed
    /// when wanted absent, as keepalived does at start) or someone else's.
    Unknown,
    Absent,
    Ours,
    /// There before our add (EEXIST).
    Foreign,
}

#[derive(Debug, Clone, Copy)]
struct SlotJob {
    seq: u64,
    op: Op,
    /// `None`: due at once; else a retry time.
    due: Option<Instant>,
    running: bool,
}

#[derive(Debug, Clone)]
struct Failure {
    op: Op,
    error: String,
    attempts: u32,
    retry_at: Instant,
}

#[derive(Debug, Clone)]
struct Slot<S> {
    owner: Owner,
    /// The latest desired state: on the interface or not.
    desired: bool,
    spec: S,
    /// The spec we added it with, while ours.
    installed: Option<S>,
    kernel: Kernel,
    job: Option<SlotJob>,
    /// Boxed: rare, and 48 bytes in each of 1000 slots otherwise.
    failure: Option<Box<Failure>>,
    /// `Report::NotRemoved` given since it became present-before.
    not_removed_reported: bool,
}

impl<S> Slot<S> {
    /// The job that brings the kernel to the desired state, if any; a
    /// removal only when the address may be ours. `wanted`: a want just
    /// arrived, and then an add is issued even for an address we believe in
    /// place (cheap, and our view may be stale: deleted behind our back).
    fn needed(&self, wanted: bool) -> Option<Op> {
        match (self.desired, self.kernel) {
            (true, Kernel::Ours | Kernel::Foreign) if !wanted => None,
            (true, _) => Some(Op::Add),
            (false, Kernel::Ours | Kernel::Unknown) => Some(Op::Remove),
            (false, Kernel::Absent | Kernel::Foreign) => None,
        }
    }

    /// On the interface, with no operation on it outstanding: its
    /// announcements may go.
    fn settled_present(&self) -> bool {
        self.desired && self.job.is_none() && matches!(self.kernel, Kernel::Ours | Kernel::Foreign)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Garp,
    Na,
}

impl Kind {
    fn of(addr: IpAddr) -> Kind {
        match addr {
            IpAddr::V4(_) => Kind::Garp,
            IpAddr::V6(_) => Kind::Na,
        }
    }
}

/// What shares one pacing clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Lane {
    Interface(u32),
    Group(usize),
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    remaining: u32,
    /// When first queued (for barriers).
    seq: u64,
    /// Round-robin position: lowest goes next.
    turn: u64,
}

type Key = (u32, IpAddr);
type EntryKey = (Owner, u32, IpAddr);

/// The bounded, merging job queue. `S` is the address specification the
/// worker installs (`net::netlink::AddressSpec` in the daemon).
#[derive(Debug, Clone)]
pub struct WorkQueue<S> {
    slots: BTreeMap<Key, Slot<S>>,
    /// Queued (not running) address jobs by sequence number: FIFO.
    fifo: BTreeMap<u64, Key>,
    entries: BTreeMap<EntryKey, Entry>,
    /// Announcement jobs handed out and not completed: ticket -> count.
    announcing: BTreeMap<Ticket, u32>,
    default_pacing: Pacing,
    groups: Vec<Pacing>,
    group_of: HashMap<u32, usize>,
    /// Earliest time of the next frame per pacing clock.
    next_frame: HashMap<(Lane, Kind), Instant>,
    /// Last announcement error per interface, to report changes only.
    announce_errors: HashMap<u32, String>,
    seq: u64,
    turn: u64,
    stats: WorkStats,
    /// [`WorkStats::frames_sent`] by owner.
    sent: BTreeMap<Owner, u64>,
    /// Bumped whenever [`WorkQueue::held`] may have changed.
    held_generation: u64,
}

impl<S> Default for WorkQueue<S> {
    fn default() -> Self {
        WorkQueue {
            slots: BTreeMap::new(),
            fifo: BTreeMap::new(),
            entries: BTreeMap::new(),
            announcing: BTreeMap::new(),
            default_pacing: Pacing::default(),
            groups: Vec::new(),
            group_of: HashMap::new(),
            next_frame: HashMap::new(),
            announce_errors: HashMap::new(),
            seq: 0,
            turn: 0,
            stats: WorkStats::default(),
            sent: BTreeMap::new(),
            held_generation: 0,
        }
    }
}

/// The delay before attempt `attempts + 1` after `attempts` refusals.
pub fn backoff(attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(20);
    BACKOFF_MIN.saturating_mul(1 << doublings).min(BACKOFF_MAX)
}

impl<S: Vip> WorkQueue<S> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the pacing: `default` for every interface (the global
    /// `vrrp_garp_interval` / `vrrp_gna_interval`), and per group of
    /// interfaces sharing one clock (`garp_group`; a group's unset interval
    /// is zero, not the global one, as in keepalived). An interface listed
    /// twice keeps its first group.
    pub fn configure(&mut self, default: Pacing, groups: Vec<(Pacing, Vec<u32>)>) {
        self.default_pacing = default;
        self.groups.clear();
        self.group_of.clear();
        for (i, (pacing, ifindexes)) in groups.into_iter().enumerate() {
            self.groups.push(pacing);
            for ifindex in ifindexes {
                self.group_of.entry(ifindex).or_insert(i);
            }
        }
        // Group numbers may now mean other interfaces: forget their clocks.
        self.next_frame
            .retain(|(lane, _), _| matches!(lane, Lane::Interface(_)));
    }

    fn lane(&self, ifindex: u32) -> (Lane, Pacing) {
        match self.group_of.get(&ifindex) {
            Some(&g) => (
                Lane::Group(g),
                self.groups.get(g).copied().unwrap_or_default(),
            ),
            None => (Lane::Interface(ifindex), self.default_pacing),
        }
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    fn next_turn(&mut self) -> u64 {
        self.turn += 1;
        self.turn
    }

    /// `owner` wants `spec` on interface `ifindex` (`present`) or not.
    /// Replaces any pending want for the same address. Returns a report
    /// when a removal is skipped because the address is not ours.
    pub fn want(&mut self, owner: &str, ifindex: u32, spec: S, present: bool) -> Option<Report> {
        let key = (ifindex, spec.addr());
        let slot = self.slots.entry(key).or_insert_with(|| Slot {
            owner: owner.to_owned(),
            desired: !present,
            spec: spec.clone(),
            installed: None,
            kernel: Kernel::Unknown,
            job: None,
            failure: None,
            not_removed_reported: false,
        });
        let changed = slot.desired != present;
        if slot.owner != owner {
            if slot.kernel == Kernel::Ours {
                self.held_generation += 1;
            }
            slot.owner = owner.to_owned();
        }
        slot.desired = present;
        slot.spec = spec;
        if changed {
            // A new desired state starts a fresh retry schedule.
            slot.failure = None;
        }
        if !present {
            self.entries.retain(|(_, ix, a), _| (*ix, *a) != key);
        }
        self.schedule(key, changed, true);
        self.not_removed(key)
    }

    /// Queues, updates or cancels the job of `key` after its desired or
    /// kernel state changed. `urgent`: a pending retry goes at once;
    /// `wanted` as for [`Slot::needed`].
    fn schedule(&mut self, key: Key, urgent: bool, wanted: bool) {
        let seq = self.seq + 1;
        let Some(slot) = self.slots.get_mut(&key) else {
            return;
        };
        let need = slot.needed(wanted);
        match (&mut slot.job, need) {
            // Completion calls back here.
            (Some(job), _) if job.running => {}
            (Some(job), None) => {
                if wanted {
                    self.stats.wants_replaced += 1;
                }
                let old = job.seq;
                slot.job = None;
                self.fifo.remove(&old);
            }
            (Some(job), Some(op)) => {
                if wanted {
                    self.stats.wants_replaced += 1;
                }
                if job.op != op || urgent {
                    job.due = None;
                }
                job.op = op;
            }
            (None, Some(op)) => {
                let due = slot
                    .failure
                    .as_ref()
                    .filter(|f| f.op == op)
                    .map(|f| f.retry_at);
                slot.job = Some(SlotJob {
                    seq,
                    op,
                    due,
                    running: false,
                });
                self.seq = seq;
                self.fifo.insert(seq, key);
            }
            (None, None) => {}
        }
    }

    fn not_removed(&mut self, key: Key) -> Option<Report> {
        let slot = self.slots.get_mut(&key)?;
        if slot.desired || slot.kernel != Kernel::Foreign {
            return None;
        }
        self.stats.removals_skipped += 1;
        if slot.not_removed_reported {
            return None;
        }
        slot.not_removed_reported = true;
        Some(Report::NotRemoved {
            owner: slot.owner.clone(),
            ifindex: key.0,
            addr: key.1,
        })
    }

    /// Takes over an address a predecessor process left in place for
    /// `owner` (an in-place upgrade): wanted present, already there, no
    /// job and no announcement. `foreign`: it was there before the
    /// predecessor added it, so it is never removed by us either.
    pub fn adopt(&mut self, owner: &str, ifindex: u32, spec: S, foreign: bool) {
        let key = (ifindex, spec.addr());
        if let Some(job) = self.slots.get(&key).and_then(|s| s.job) {
            self.fifo.remove(&job.seq);
        }
        self.slots.insert(
            key,
            Slot {
                owner: owner.to_owned(),
                desired: true,
                installed: (!foreign).then(|| spec.clone()),
                spec,
                kernel: if foreign {
                    Kernel::Foreign
                } else {
                    Kernel::Ours
                },
                job: None,
                failure: None,
                not_removed_reported: false,
            },
        );
    }

    /// `owner` wants `repeat` frames per address of `addrs` on `ifindex`.
    /// Merges with the owner's pending announcement: union of addresses,
    /// max of the remaining repeat. Addresses wanted absent are left out.
    pub fn announce(&mut self, owner: &str, ifindex: u32, addrs: &[IpAddr], repeat: u32) {
        if repeat == 0 {
            return;
        }
        if self.entries.keys().any(|(o, _, _)| o == owner) {
            self.stats.announcements_merged += 1;
        }
        for &addr in addrs {
            if self.slots.get(&(ifindex, addr)).is_some_and(|s| !s.desired) {
                continue;
            }
            let key = (owner.to_owned(), ifindex, addr);
            if let Some(entry) = self.entries.get_mut(&key) {
                entry.remaining = entry.remaining.max(repeat);
                continue;
            }
            let (seq, turn) = (self.next_seq(), self.next_turn());
            self.entries.insert(
                key,
                Entry {
                    remaining: repeat,
                    seq,
                    turn,
                },
            );
        }
    }

    /// Whether an announced address may be sent for now (its add done).
    fn ready(&self, ifindex: u32, addr: IpAddr) -> bool {
        self.slots
            .get(&(ifindex, addr))
            .is_none_or(Slot::settled_present)
    }

    /// The next job due at `now`, if any. Address jobs first, in the order
    /// first queued; then announcement frames for one interface.
    pub fn pop(&mut self, now: Instant) -> Option<Job<S>> {
        let due = self.fifo.iter().find_map(|(&seq, &key)| {
            let job = self.slots.get(&key)?.job?;
            job.due.is_none_or(|t| t <= now).then_some((seq, key))
        });
        if let Some((seq, key)) = due {
            self.fifo.remove(&seq);
            let slot = self.slots.get_mut(&key)?;
            let job = slot.job.as_mut()?;
            job.running = true;
            return Some(match job.op {
                Op::Add => Job::Add {
                    ifindex: key.0,
                    spec: slot.spec.clone(),
                },
                Op::Remove => Job::Remove {
                    ifindex: key.0,
                    spec: slot.installed.clone().unwrap_or_else(|| slot.spec.clone()),
                },
            });
        }
        self.pop_announcement(now)
    }

    /// When a frame of `kind` may leave on `lane` (`None`: unpaced).
    fn frame_at(&self, lane: Lane, pacing: Pacing, kind: Kind) -> Option<Instant> {
        if pacing.interval(kind).is_zero() {
            return None;
        }
        Some(
            self.next_frame
                .get(&(lane, kind))
                .copied()
                .unwrap_or(Instant::ZERO),
        )
    }

    fn pop_announcement(&mut self, now: Instant) -> Option<Job<S>> {
        // The interface of the longest-waiting frame that may leave now.
        let (_, ifindex) = self
            .entries
            .iter()
            .filter(|((_, ix, a), e)| {
                e.remaining > 0 && self.ready(*ix, *a) && self.may_send(*ix, Kind::of(*a), now)
            })
            .map(|((_, ix, _), e)| (e.turn, *ix))
            .min()?;
        let mut candidates: Vec<(u64, EntryKey)> = self
            .entries
            .iter()
            .filter(|((_, ix, a), e)| *ix == ifindex && e.remaining > 0 && self.ready(*ix, *a))
            .map(|(k, e)| (e.turn, k.clone()))
            .collect();
        candidates.sort();
        // Frames per entry: all of them when unpaced, one per pacing clock
        // that is due.
        let (lane, pacing) = self.lane(ifindex);
        let mut used: Vec<Kind> = Vec::new();
        let mut chosen: Vec<(EntryKey, u32)> = Vec::new();
        for (_, key) in candidates {
            let kind = Kind::of(key.2);
            let remaining = self.entries.get(&key).map_or(0, |e| e.remaining);
            let quota = match self.frame_at(lane, pacing, kind) {
                None => remaining,
                Some(at) if at <= now && !used.contains(&kind) => {
                    used.push(kind);
                    1
                }
                Some(_) => 0,
            };
            if quota > 0 {
                chosen.push((key, quota));
            }
        }
        let rounds = chosen.iter().map(|(_, q)| *q).max().unwrap_or(0);
        let mut addrs = Vec::new();
        for round in 0..rounds {
            for (key, quota) in &chosen {
                if *quota > round {
                    addrs.push(key.2);
                }
            }
        }
        let mut oldest = u64::MAX;
        let mut owners: Vec<(Owner, u32)> = Vec::new();
        for (key, quota) in chosen {
            match owners.iter_mut().find(|(o, _)| *o == key.0) {
                Some((_, n)) => *n += quota,
                None => owners.push((key.0.clone(), quota)),
            }
            let turn = self.next_turn();
            if let Some(entry) = self.entries.get_mut(&key) {
                oldest = oldest.min(entry.seq);
                entry.remaining -= quota.min(entry.remaining);
                entry.turn = turn;
                if entry.remaining == 0 {
                    self.entries.remove(&key);
                }
            }
        }
        for kind in used {
            self.next_frame
                .insert((lane, kind), now + pacing.interval(kind));
        }
        if addrs.is_empty() {
            return None;
        }
        let ticket = Ticket(oldest);
        *self.announcing.entry(ticket).or_default() += 1;
        Some(Job::Announce {
            ifindex,
            addrs,
            ticket,
            owners,
        })
    }

    fn may_send(&self, ifindex: u32, kind: Kind, now: Instant) -> bool {
        let (lane, pacing) = self.lane(ifindex);
        self.frame_at(lane, pacing, kind).is_none_or(|at| at <= now)
    }

    /// When [`WorkQueue::pop`] has something next (possibly already past);
    /// `None` while nothing is pending or everything waits for a running job.
    pub fn poll_at(&self) -> Option<Instant> {
        let jobs = self.fifo.values().filter_map(|key| {
            let job = self.slots.get(key)?.job?;
            Some(job.due.unwrap_or(Instant::ZERO))
        });
        let frames = self
            .entries
            .iter()
            .filter(|((_, ix, a), e)| e.remaining > 0 && self.ready(*ix, *a))
            .map(|((_, ix, a), _)| {
                let (lane, pacing) = self.lane(*ix);
                self.frame_at(lane, pacing, Kind::of(*a))
                    .unwrap_or(Instant::ZERO)
            });
        jobs.chain(frames).min()
    }

    /// The worker ran `job` at `now` with `outcome`. Returns what to log.
    pub fn completed(&mut self, job: &Job<S>, outcome: Outcome, now: Instant) -> Vec<Report> {
        let (ifindex, spec, op) = match job {
            Job::Add { ifindex, spec } => (*ifindex, spec, Op::Add),
            Job::Remove { ifindex, spec } => (*ifindex, spec, Op::Remove),
            Job::Announce {
                ifindex,
                ticket,
                owners,
                ..
            } => {
                return self
                    .announced(*ifindex, *ticket, owners, outcome)
                    .into_iter()
                    .collect()
            }
        };
        let key = (ifindex, spec.addr());
        let mut reports = Vec::new();
        let Some(slot) = self.slots.get_mut(&key) else {
            return reports;
        };
        if !slot.job.is_some_and(|j| j.running && j.op == op) {
            // Not the job we handed out: ignore a stray report.
            return reports;
        }
        slot.job = None;
        let held_before = slot.kernel == Kernel::Ours;
        // An add of an address already ours may install it with another spec.
        let readded = matches!(outcome, Outcome::Added);
        let ok = !matches!(outcome, Outcome::Failed(_));
        if ok {
            if let Some(f) = slot.failure.take() {
                reports.push(Report::Recovered {
                    owner: slot.owner.clone(),
                    ifindex,
                    addr: key.1,
                    op: f.op,
                    attempts: f.attempts,
                });
            }
        }
        match outcome {
            Outcome::Added => {
                slot.kernel = Kernel::Ours;
                slot.installed = Some(spec.clone());
            }
            // Ours already (added earlier, wanted again): stays ours.
            Outcome::AlreadyPresent if slot.kernel == Kernel::Ours => {}
            // A static address found in place is a killed predecessor's
            // (resign leaves them): keepalived deletes its static ones at
            // start and adds them again, so it removes them at stop too.
            Outcome::AlreadyPresent if slot.owner == super::routes::STATIC_OWNER => {
                slot.kernel = Kernel::Ours;
                slot.installed = Some(spec.clone());
            }
            Outcome::AlreadyPresent => {
                if slot.kernel != Kernel::Foreign {
                    slot.not_removed_reported = false;
                    reports.push(Report::PresentBefore {
                        owner: slot.owner.clone(),
                        ifindex,
                        addr: key.1,
                    });
                }
                slot.kernel = Kernel::Foreign;
                slot.installed = None;
            }
            Outcome::Removed => {
                slot.kernel = Kernel::Absent;
                slot.installed = None;
            }
            Outcome::Announced => {}
            Outcome::Failed(error) => {
                self.stats.refusals += 1;
                let previous = slot.failure.take().filter(|f| f.op == op);
                let repeated = previous.as_ref().is_some_and(|f| f.error == error);
                let attempts = previous.map_or(0, |f| f.attempts).saturating_add(1);
                let retry_at = now + backoff(attempts);
                reports.push(Report::Refused {
                    owner: slot.owner.clone(),
                    ifindex,
                    addr: key.1,
                    op,
                    error: error.clone(),
                    attempts,
                    retry_at,
                    repeated,
                });
                // Only worth retrying while still wanted that way.
                if slot.needed(false) == Some(op) {
                    slot.failure = Some(Box::new(Failure {
                        op,
                        error,
                        attempts,
                        retry_at,
                    }));
                }
            }
        }
        if held_before != (slot.kernel == Kernel::Ours) || readded {
            self.held_generation += 1;
        }
        self.schedule(key, false, false);
        reports.extend(self.not_removed(key));
        reports
    }

    fn announced(
        &mut self,
        ifindex: u32,
        ticket: Ticket,
        owners: &[(Owner, u32)],
        outcome: Outcome,
    ) -> Option<Report> {
        if let Some(n) = self.announcing.get_mut(&ticket) {
            *n -= 1;
            if *n == 0 {
                self.announcing.remove(&ticket);
            }
        }
        match outcome {
            Outcome::Failed(error) => {
                self.stats.announce_failures += 1;
                let repeated = self.announce_errors.get(&ifindex) == Some(&error);
                self.announce_errors.insert(ifindex, error.clone());
                Some(Report::AnnounceFailed {
                    ifindex,
                    error,
                    repeated,
                })
            }
            _ => {
                for (owner, n) in owners {
                    self.stats.frames_sent += u64::from(*n);
                    match self.sent.get_mut(owner) {
                        Some(sent) => *sent += u64::from(*n),
                        None => {
                            self.sent.insert(owner.clone(), u64::from(*n));
                        }
                    }
                }
                self.announce_errors.remove(&ifindex);
                None
            }
        }
    }

    /// A marker for [`WorkQueue::passed`].
    pub fn barrier(&mut self) -> Barrier {
        Barrier(self.next_seq())
    }

    /// Whether everything queued before `barrier` is done: every address
    /// job attempted (a refused one counts as done: its retry is new work),
    /// every announcement frame sent or dropped, except frames that wait
    /// for a refused address.
    pub fn passed(&self, barrier: Barrier) -> bool {
        self.oldest_outstanding().is_none_or(|seq| seq >= barrier.0)
    }

    fn oldest_outstanding(&self) -> Option<u64> {
        let jobs = self.slots.values().filter_map(|s| s.job.map(|j| j.seq));
        let entries = self
            .entries
            .iter()
            .filter(|((_, ix, a), _)| {
                self.slots
                    .get(&(*ix, *a))
                    .is_none_or(|s| s.failure.is_none())
            })
            .map(|(_, e)| e.seq);
        let running = self.announcing.keys().map(|t| t.0);
        jobs.chain(entries).chain(running).min()
    }

    /// Pending work, for the bounds.
    pub fn queued(&self) -> Queued {
        let mut owners: Vec<&str> = self.entries.keys().map(|(o, _, _)| o.as_str()).collect();
        owners.dedup();
        Queued {
            address_jobs: self.slots.values().filter(|s| s.job.is_some()).count(),
            announcements: owners.len(),
            announced_addresses: self.entries.len(),
            frames: self.entries.values().map(|e| u64::from(e.remaining)).sum(),
        }
    }

    /// Counters since start.
    pub fn stats(&self) -> WorkStats {
        self.stats
    }

    /// Announcement frames sent since start, by owner (an owner a reload
    /// removed keeps its count).
    pub fn frames_sent(&self) -> &BTreeMap<Owner, u64> {
        &self.sent
    }

    /// Every address the queue has handled, with its state.
    pub fn addresses(&self) -> impl Iterator<Item = AddressReport<'_>> + '_ {
        self.slots
            .iter()
            .map(|(&(ifindex, addr), slot)| AddressReport {
                owner: &slot.owner,
                ifindex,
                addr,
                state: state_of(slot),
            })
    }

    /// The addresses the kernel confirmed we added and that we have not
    /// seen removed since: `(owner, ifindex, spec as added)`. An address
    /// whose removal is queued, running or refused is still held; one
    /// whose add has not completed is not yet.
    pub fn held(&self) -> impl Iterator<Item = (&str, u32, &S)> + '_ {
        self.slots.iter().filter_map(
            |(&(ifindex, _), slot)| match (slot.kernel, &slot.installed) {
                (Kernel::Ours, Some(spec)) => Some((slot.owner.as_str(), ifindex, spec)),
                _ => None,
            },
        )
    }

    /// Rebuilds the per-address and per-owner maps with full nodes. Filled
    /// one key at a time in ascending order (a start's addresses), a
    /// B-tree's leaves split in half and stay half empty: 0.38 MB for 1000
    /// addresses, where a bulk build packs them. Nothing else changes.
    pub fn compact(&mut self) {
        self.slots = std::mem::take(&mut self.slots).into_iter().collect();
        self.sent = std::mem::take(&mut self.sent).into_iter().collect();
    }

    /// Changes whenever [`WorkQueue::held`] may have: compare two readings
    /// to know whether to look again.
    pub fn held_generation(&self) -> u64 {
        self.held_generation
    }

    /// The addresses in place and wanted so, with no job on them: what an
    /// in-place upgrade hands over ([`WorkQueue::adopt`]), as
    /// (owner, interface, spec, there before us).
    pub fn settled(&self) -> Vec<(Owner, u32, S, bool)> {
        self.slots
            .iter()
            .filter(|(_, slot)| slot.settled_present())
            .map(|(&(ifindex, _), slot)| {
                let foreign = slot.kernel == Kernel::Foreign;
                let spec = slot.installed.clone().unwrap_or_else(|| slot.spec.clone());
                (slot.owner.clone(), ifindex, spec, foreign)
            })
            .collect()
    }

    /// The state of one address; `Absent` if never handled.
    pub fn state(&self, ifindex: u32, addr: IpAddr) -> AddressState {
        self.slots
            .get(&(ifindex, addr))
            .map_or(AddressState::Absent, state_of)
    }
}

fn state_of<S>(slot: &Slot<S>) -> AddressState {
    if let Some(f) = &slot.failure {
        return AddressState::Failed {
            op: f.op,
            error: f.error.clone(),
            attempts: f.attempts,
            retry_at: f.retry_at,
        };
    }
    if let Some(job) = slot.job {
        return AddressState::Pending(job.op);
    }
    match slot.kernel {
        Kernel::Ours => AddressState::Installed,
        Kernel::Foreign => AddressState::PresentBefore,
        Kernel::Absent | Kernel::Unknown => AddressState::Absent,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    const IF1: u32 = 2;
    const IF2: u32 = 3;
    const MS: Duration = Duration::from_millis(1);

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    fn v4(n: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, n))
    }

    fn v6(n: u16) -> IpAddr {
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, n))
    }

    /// A spec with a prefix, to see which one a removal uses.
    #[derive(Debug, Clone, PartialEq, Eq)]
    struct Spec {
        addr: IpAddr,
        prefix: u8,
    }

    impl Vip for Spec {
        fn addr(&self) -> IpAddr {
            self.addr
        }
    }

    fn frames(job: &Job<IpAddr>) -> Vec<IpAddr> {
        match job {
            Job::Announce { addrs, .. } => addrs.clone(),
            other => panic!("not an announcement: {other:?}"),
        }
    }

    /// Pops and completes everything due at `now` as a kernel where every
    /// operation succeeds and `present` holds the addresses; returns the jobs.
    fn run(
        q: &mut WorkQueue<IpAddr>,
        present: &mut HashSet<(u32, IpAddr)>,
        now: Instant,
    ) -> Vec<Job<IpAddr>> {
        let mut done = Vec::new();
        while let Some(job) = q.pop(now) {
            let outcome = match &job {
                Job::Add { ifindex, spec } => {
                    if present.insert((*ifindex, *spec)) {
                        Outcome::Added
                    } else {
                        Outcome::AlreadyPresent
                    }
                }
                Job::Remove { ifindex, spec } => {
                    present.remove(&(*ifindex, *spec));
                    Outcome::Removed
                }
                Job::Announce { .. } => Outcome::Announced,
            };
            q.completed(&job, outcome, now);
            done.push(job);
        }
        done
    }

    /// A queue where `addrs` on IF1 are known absent (removed once).
    fn settled_absent(addrs: &[IpAddr]) -> WorkQueue<IpAddr> {
        let mut q = WorkQueue::new();
        for a in addrs {
            q.want("VI_1", IF1, *a, false);
        }
        run(&mut q, &mut HashSet::new(), at(0));
        q
    }

    #[test]
    fn an_adopted_address_is_held_without_a_job_and_removed_when_given_up() {
        let mut q: WorkQueue<Spec> = WorkQueue::new();
        let spec = Spec {
            addr: v4(10),
            prefix: 24,
        };
        q.adopt("VI_1", IF1, spec.clone(), false);
        assert_eq!(q.pop(at(0)), None, "nothing to do: it is in place");
        assert_eq!(q.state(IF1, v4(10)), AddressState::Installed);
        assert_eq!(
            q.settled(),
            vec![("VI_1".to_string(), IF1, spec.clone(), false)]
        );
        // Given up later (the Master leaves): removed as any of ours.
        q.want(
            "VI_1",
            IF1,
            Spec {
                addr: v4(10),
                prefix: 32,
            },
            false,
        );
        assert_eq!(
            q.pop(at(1)),
            Some(Job::Remove { ifindex: IF1, spec }),
            "removed with the prefix it was adopted with"
        );
    }

    #[test]
    fn an_adopted_foreign_address_is_never_removed() {
        let mut q: WorkQueue<IpAddr> = WorkQueue::new();
        q.adopt("VI_1", IF1, v4(10), true);
        assert_eq!(q.state(IF1, v4(10)), AddressState::PresentBefore);
        assert!(matches!(
            q.want("VI_1", IF1, v4(10), false),
            Some(Report::NotRemoved { .. })
        ));
        assert_eq!(q.pop(at(1)), None);
    }

    #[test]
    fn a_later_want_replaces_the_pending_one() {
        let mut q = settled_absent(&[v4(10)]);
        q.want("VI_1", IF1, v4(10), true);
        q.want("VI_1", IF1, v4(10), false);
        q.want("VI_1", IF1, v4(10), true);
        assert_eq!(q.queued().address_jobs, 1);
        assert_eq!(
            q.stats().wants_replaced,
            1,
            "the add, cancelled by the remove"
        );
        assert_eq!(
            q.pop(at(1)),
            Some(Job::Add {
                ifindex: IF1,
                spec: v4(10)
            })
        );
        assert_eq!(q.pop(at(1)), None);
    }

    #[test]
    fn add_then_remove_before_the_worker_ran_does_nothing_when_not_installed() {
        let mut q = settled_absent(&[v4(10)]);
        q.want("VI_1", IF1, v4(10), true);
        q.want("VI_1", IF1, v4(10), false);
        assert_eq!(q.pop(at(1)), None);
        assert_eq!(q.queued(), Queued::default());
        assert_eq!(q.state(IF1, v4(10)), AddressState::Absent);
    }

    #[test]
    fn add_then_remove_of_an_installed_address_removes_it() {
        let mut q = WorkQueue::new();
        let mut kernel = HashSet::new();
        q.want("VI_1", IF1, v4(10), true);
        run(&mut q, &mut kernel, at(0));
        q.want("VI_1", IF1, v4(10), false);
        q.want("VI_1", IF1, v4(10), true);
        q.want("VI_1", IF1, v4(10), false);
        assert_eq!(
            run(&mut q, &mut kernel, at(1)),
            vec![Job::Remove {
                ifindex: IF1,
                spec: v4(10)
            }]
        );
        assert!(kernel.is_empty());
    }

    #[test]
    fn a_never_seen_address_wanted_absent_is_removed() {
        // keepalived clears what a killed predecessor left at start.
        let mut q = WorkQueue::new();
        q.want("VI_1", IF1, v4(10), true);
        q.want("VI_1", IF1, v4(10), false);
        assert_eq!(
            q.pop(at(0)),
            Some(Job::Remove {
                ifindex: IF1,
                spec: v4(10)
            })
        );
    }

    #[test]
    fn address_jobs_leave_in_the_order_first_queued() {
        let mut q = WorkQueue::new();
        for n in [1, 2, 3] {
            q.want("VI_1", IF1, v4(n), true);
        }
        // A later want for .1 keeps its place.
        q.want("VI_2", IF1, v4(1), true);
        let order: Vec<IpAddr> = std::iter::from_fn(|| q.pop(at(0)))
            .map(|j| match j {
                Job::Add { spec, .. } => spec,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(order, vec![v4(1), v4(2), v4(3)]);
    }

    #[test]
    fn a_want_while_its_job_runs_is_done_after_it() {
        let mut q = WorkQueue::new();
        q.want("VI_1", IF1, v4(1), true);
        let add = q.pop(at(0)).unwrap();
        q.want("VI_1", IF1, v4(1), false);
        assert_eq!(q.pop(at(0)), None, "one job per address at a time");
        q.completed(&add, Outcome::Added, at(1));
        assert_eq!(
            q.pop(at(1)),
            Some(Job::Remove {
                ifindex: IF1,
                spec: v4(1)
            })
        );
    }

    #[test]
    fn an_address_we_added_is_removed_with_the_spec_we_added() {
        let mut q: WorkQueue<Spec> = WorkQueue::new();
        let wide = Spec {
            addr: v4(10),
            prefix: 24,
        };
        q.want("VI_1", IF1, wide.clone(), true);
        let add = q.pop(at(0)).unwrap();
        q.completed(&add, Outcome::Added, at(0));
        // A reload changed the prefix, then the address goes.
        let host = Spec {
            addr: v4(10),
            prefix: 32,
        };
        q.want("VI_1", IF1, host, false);
        assert_eq!(
            q.pop(at(1)),
            Some(Job::Remove {
                ifindex: IF1,
                spec: wide
            })
        );
    }

    #[test]
    fn an_address_present_before_we_added_it_is_never_removed() {
        let mut q = WorkQueue::new();
        let mut kernel = HashSet::from([(IF1, v4(10))]);
        q.want("VI_1", IF1, v4(10), true);
        let add = q.pop(at(0)).unwrap();
        let reports = q.completed(&add, Outcome::AlreadyPresent, at(0));
        assert_eq!(
            reports,
            vec![Report::PresentBefore {
                owner: "VI_1".into(),
                ifindex: IF1,
                addr: v4(10)
            }]
        );
        assert_eq!(q.state(IF1, v4(10)), AddressState::PresentBefore);
        let skipped = q.want("VI_1", IF1, v4(10), false);
        assert!(matches!(skipped, Some(Report::NotRemoved { .. })));
        assert_eq!(run(&mut q, &mut kernel, at(1)), vec![]);
        // Master again and back: still not ours, reported only once.
        q.want("VI_1", IF1, v4(10), true);
        run(&mut q, &mut kernel, at(2));
        assert_eq!(q.want("VI_1", IF1, v4(10), false), None);
        assert_eq!(run(&mut q, &mut kernel, at(3)), vec![]);
        assert!(kernel.contains(&(IF1, v4(10))));
        assert_eq!(q.state(IF1, v4(10)), AddressState::PresentBefore);
        assert_eq!(q.stats().removals_skipped, 2);
    }

    #[test]
    fn an_address_present_before_that_vanished_becomes_ours_when_added() {
        let mut q = WorkQueue::new();
        q.want("VI_1", IF1, v4(10), true);
        let add = q.pop(at(0)).unwrap();
        q.completed(&add, Outcome::AlreadyPresent, at(0));
        q.want("VI_1", IF1, v4(10), false);
        // Its owner deleted it; we add it for real.
        q.want("VI_1", IF1, v4(10), true);
        let add = q.pop(at(1)).unwrap();
        q.completed(&add, Outcome::Added, at(1));
        assert_eq!(q.state(IF1, v4(10)), AddressState::Installed);
        q.want("VI_1", IF1, v4(10), false);
        assert!(matches!(q.pop(at(2)), Some(Job::Remove { .. })));
    }

    #[test]
    fn a_re_add_of_our_own_address_that_exists_stays_ours() {
        let mut q = WorkQueue::new();
        q.want("VI_1", IF1, v4(10), true);
        let add = q.pop(at(0)).unwrap();
        q.completed(&add, Outcome::Added, at(0));
        q.want("VI_1", IF1, v4(10), true);
        let again = q.pop(at(1)).unwrap();
        assert_eq!(q.completed(&again, Outcome::AlreadyPresent, at(1)), vec![]);
        assert_eq!(q.state(IF1, v4(10)), AddressState::Installed);
    }

    #[test]
    fn a_refused_address_is_retried_with_backoff() {
        let mut q = WorkQueue::new();
        q.want("VI_1", IF1, v4(10), true);
        let mut now = at(0);
        let mut expected_gap = 100;
        for attempt in 1..=5u32 {
            let job = q.pop(now).expect("due");
            let reports = q.completed(&job, Outcome::Failed("EPERM".into()), now);
            let retry_at = now + Duration::from_millis(expected_gap);
            assert_eq!(
                reports,
                vec![Report::Refused {
                    owner: "VI_1".into(),
                    ifindex: IF1,
                    addr: v4(10),
                    op: Op::Add,
                    error: "EPERM".into(),
                    attempts: attempt,
                    retry_at,
                    repeated: attempt > 1,
                }]
            );
            assert_eq!(
                q.state(IF1, v4(10)),
                AddressState::Failed {
                    op: Op::Add,
                    error: "EPERM".into(),
                    attempts: attempt,
                    retry_at
                }
            );
            assert_eq!(
                q.pop(Instant::from_micros(retry_at.as_micros() - 1000)),
                None,
                "not before the backoff"
            );
            assert_eq!(q.poll_at(), Some(retry_at));
            now = retry_at;
            expected_gap *= 2;
        }
        let job = q.pop(now).unwrap();
        let reports = q.completed(&job, Outcome::Added, now);
        assert_eq!(
            reports,
            vec![Report::Recovered {
                owner: "VI_1".into(),
                ifindex: IF1,
                addr: v4(10),
                op: Op::Add,
                attempts: 5
            }]
        );
        assert_eq!(q.state(IF1, v4(10)), AddressState::Installed);
        assert_eq!(q.poll_at(), None);
    }

    #[test]
    fn backoff_doubles_from_100_ms_to_30_s() {
        assert_eq!(backoff(1), Duration::from_millis(100));
        assert_eq!(backoff(2), Duration::from_millis(200));
        assert_eq!(backoff(9), Duration::from_millis(25_600));
        assert_eq!(backoff(10), BACKOFF_MAX);
        assert_eq!(backoff(u32::MAX), BACKOFF_MAX);
    }

    #[test]
    fn a_new_error_is_reported_as_new() {
        let mut q = WorkQueue::new();
        q.want("VI_1", IF1, v4(10), true);
        let job = q.pop(at(0)).unwrap();
        q.completed(&job, Outcome::Failed("EPERM".into()), at(0));
        let job = q.pop(at(100)).unwrap();
        let reports = q.completed(&job, Outcome::Failed("ENODEV".into()), at(100));
        assert!(matches!(
            reports.as_slice(),
            [Report::Refused {
                repeated: false,
                attempts: 2,
                ..
            }]
        ));
    }

    #[test]
    fn a_refused_add_no_longer_wanted_is_not_retried() {
        let mut q = settled_absent(&[v4(10)]);
        q.want("VI_1", IF1, v4(10), true);
        let job = q.pop(at(0)).unwrap();
        q.want("VI_1", IF1, v4(10), false);
        q.completed(&job, Outcome::Failed("EPERM".into()), at(0));
        assert_eq!(q.poll_at(), None);
        assert_eq!(q.state(IF1, v4(10)), AddressState::Absent);
    }

    #[test]
    fn a_changed_want_does_not_wait_for_the_backoff() {
        let mut q = WorkQueue::new();
        let mut kernel = HashSet::new();
        q.want("VI_1", IF1, v4(10), true);
        run(&mut q, &mut kernel, at(0));
        q.want("VI_1", IF1, v4(10), false);
        let job = q.pop(at(1)).unwrap();
        q.completed(&job, Outcome::Failed("EBUSY".into()), at(1));
        // Wanted again: nothing to retry, the address is still ours.
        q.want("VI_1", IF1, v4(10), true);
        assert_eq!(
            q.pop(at(2)),
            Some(Job::Add {
                ifindex: IF1,
                spec: v4(10)
            })
        );
    }

    #[test]
    fn a_refused_address_does_not_hold_up_the_others() {
        let mut q = WorkQueue::new();
        q.want("VI_1", IF1, v4(1), true);
        q.want("VI_1", IF1, v4(2), true);
        let first = q.pop(at(0)).unwrap();
        q.completed(&first, Outcome::Failed("EPERM".into()), at(0));
        assert_eq!(
            q.pop(at(0)),
            Some(Job::Add {
                ifindex: IF1,
                spec: v4(2)
            })
        );
    }

    #[test]
    fn a_second_burst_for_an_instance_merges_with_the_pending_one() {
        let mut q: WorkQueue<IpAddr> = WorkQueue::new();
        q.announce("VI_1", IF1, &[v4(1), v4(2)], 5);
        q.announce("VI_1", IF1, &[v4(2), v4(3)], 3);
        let queued = q.queued();
        assert_eq!(queued.announcements, 1);
        assert_eq!(queued.announced_addresses, 3);
        assert_eq!(queued.frames, 5 + 5 + 3);
        let job = q.pop(at(0)).unwrap();
        let sent = frames(&job);
        assert_eq!(sent.len(), 13);
        assert_eq!(&sent[..3], &[v4(1), v4(2), v4(3)]);
        assert_eq!(&sent[9..], &[v4(1), v4(2), v4(1), v4(2)]);
        assert_eq!(q.pop(at(0)), None);
    }

    #[test]
    fn a_flood_of_bursts_stays_one_announcement() {
        let mut q: WorkQueue<IpAddr> = WorkQueue::new();
        for _ in 0..10_000 {
            q.announce("VI_1", IF1, &[v4(1), v6(1)], 5);
        }
        assert_eq!(
            q.queued(),
            Queued {
                address_jobs: 0,
                announcements: 1,
                announced_addresses: 2,
                frames: 10
            }
        );
        assert_eq!(q.stats().announcements_merged, 9_999);
    }

    /// What the metrics call announcements: frames of jobs that went out,
    /// after merging and pacing, credited to each owner; never the frames
    /// asked for, nor those of a failed job.
    #[test]
    fn frames_sent_count_what_left_after_merging_by_owner() {
        let mut q: WorkQueue<IpAddr> = WorkQueue::new();
        q.configure(
            Pacing {
                garp: 100 * MS,
                gna: Duration::ZERO,
            },
            vec![],
        );
        // 3 + 3 asked for, merged into 3; VI_2's 2 share the paced lane.
        q.announce("VI_1", IF1, &[v4(1)], 3);
        q.announce("VI_1", IF1, &[v4(1)], 3);
        q.announce("VI_2", IF1, &[v4(2)], 2);
        let mut t = 0;
        let mut failed_once = false;
        while let Some(due) = q.poll_at() {
            t = t.max(due.as_micros() / 1000);
            let job = q.pop(at(t)).unwrap();
            let outcome = if !failed_once {
                failed_once = true;
                Outcome::Failed("ENOBUFS".into())
            } else {
                Outcome::Announced
            };
            q.completed(&job, outcome, at(t));
        }
        // The first frame (VI_1's) failed: not sent.
        let sent: Vec<(&str, u64)> = q
            .frames_sent()
            .iter()
            .map(|(o, n)| (o.as_str(), *n))
            .collect();
        assert_eq!(sent, vec![("VI_1", 2), ("VI_2", 2)]);
        assert_eq!(q.stats().frames_sent, 4);
        assert_eq!(q.stats().announcements_merged, 1);
        assert_eq!(q.stats().announce_failures, 1);
    }

    #[test]
    fn bursts_of_different_instances_are_separate() {
        let mut q: WorkQueue<IpAddr> = WorkQueue::new();
        q.announce("VI_1", IF1, &[v4(1)], 2);
        q.announce("VI_2", IF1, &[v4(1)], 2);
        assert_eq!(q.queued().announcements, 2);
        assert_eq!(q.queued().frames, 4);
    }

    #[test]
    fn a_merged_burst_tops_up_a_partly_sent_one() {
        let mut q: WorkQueue<IpAddr> = WorkQueue::new();
        q.configure(
            Pacing {
                garp: 100 * MS,
                gna: Duration::ZERO,
            },
            vec![],
        );
        q.announce("VI_1", IF1, &[v4(1)], 3);
        q.pop(at(0)).unwrap();
        q.announce("VI_1", IF1, &[v4(1)], 3);
        assert_eq!(q.queued().frames, 3);
    }

    #[test]
    fn without_pacing_a_burst_leaves_at_once_in_rounds() {
        let mut q: WorkQueue<IpAddr> = WorkQueue::new();
        q.announce("VI_1", IF1, &[v4(100), v4(101), v6(1)], 2);
        assert_eq!(q.poll_at(), Some(Instant::ZERO));
        let job = q.pop(at(5)).unwrap();
        assert_eq!(
            frames(&job),
            vec![v4(100), v4(101), v6(1), v4(100), v4(101), v6(1)]
        );
        assert_eq!(q.pop(at(5)), None);
        assert_eq!(q.poll_at(), None);
    }

    #[test]
    fn announcement_waits_for_the_add_of_its_address() {
        let mut q = WorkQueue::new();
        q.want("VI_1", IF1, v4(10), true);
        q.announce("VI_1", IF1, &[v4(10)], 1);
        let add = q.pop(at(0)).unwrap();
        assert!(matches!(add, Job::Add { .. }));
        assert_eq!(q.pop(at(0)), None, "the add has not completed");
        assert_eq!(q.poll_at(), None, "nothing to wake for but the add");
        q.completed(&add, Outcome::Added, at(1));
        assert_eq!(frames(&q.pop(at(1)).unwrap()), vec![v4(10)]);
    }

    #[test]
    fn announcement_waits_for_a_refused_address_and_not_the_others() {
        let mut q = WorkQueue::new();
        q.want("VI_1", IF1, v4(1), true);
        q.want("VI_1", IF1, v4(2), true);
        q.announce("VI_1", IF1, &[v4(1), v4(2)], 1);
        let a = q.pop(at(0)).unwrap();
        q.completed(&a, Outcome::Failed("EPERM".into()), at(0));
        let b = q.pop(at(0)).unwrap();
        q.completed(&b, Outcome::Added, at(0));
        assert_eq!(frames(&q.pop(at(0)).unwrap()), vec![v4(2)]);
        let retry = q.pop(at(100)).unwrap();
        q.completed(&retry, Outcome::Added, at(100));
        assert_eq!(frames(&q.pop(at(100)).unwrap()), vec![v4(1)]);
    }

    #[test]
    fn an_announcement_for_a_removed_address_is_dropped() {
        let mut q = WorkQueue::new();
        q.want("VI_1", IF1, v4(10), true);
        q.announce("VI_1", IF1, &[v4(10)], 5);
        q.want("VI_1", IF1, v4(10), false);
        q.announce("VI_1", IF1, &[v4(10)], 5);
        assert_eq!(q.queued().announcements, 0);
    }

    #[test]
    fn garp_pacing_spaces_frames_on_one_interface() {
        let mut q: WorkQueue<IpAddr> = WorkQueue::new();
        q.configure(
            Pacing {
                garp: 100 * MS,
                gna: Duration::ZERO,
            },
            vec![],
        );
        q.announce("VI_1", IF1, &[v4(1), v4(2)], 3);
        let mut sent = Vec::new();
        let mut now = at(0);
        while let Some(due) = q.poll_at() {
            now = now.max(due);
            let job = q.pop(now).unwrap();
            assert_eq!(q.pop(now), None, "one frame per interval");
            sent.push((now.as_micros() / 1000, frames(&job)));
        }
        assert_eq!(
            sent,
            vec![
                (0, vec![v4(1)]),
                (100, vec![v4(2)]),
                (200, vec![v4(1)]),
                (300, vec![v4(2)]),
                (400, vec![v4(1)]),
                (500, vec![v4(2)]),
            ]
        );
    }

    #[test]
    fn gna_pacing_spaces_nas_independently_of_garps() {
        let mut q: WorkQueue<IpAddr> = WorkQueue::new();
        q.configure(
            Pacing {
                garp: Duration::ZERO,
                gna: 50 * MS,
            },
            vec![],
        );
        q.announce("VI_1", IF1, &[v4(1), v6(1), v6(2)], 2);
        // The GARPs all at once with the first NA; the other NAs paced.
        assert_eq!(frames(&q.pop(at(0)).unwrap()), vec![v4(1), v6(1), v4(1)]);
        assert_eq!(q.pop(at(49)), None);
        assert_eq!(frames(&q.pop(at(50)).unwrap()), vec![v6(2)]);
        assert_eq!(frames(&q.pop(at(100)).unwrap()), vec![v6(1)]);
        assert_eq!(frames(&q.pop(at(150)).unwrap()), vec![v6(2)]);
        assert_eq!(q.poll_at(), None);
    }

    #[test]
    fn pacing_is_per_interface() {
        let mut q: WorkQueue<IpAddr> = WorkQueue::new();
        q.configure(
            Pacing {
                garp: 100 * MS,
                gna: 100 * MS,
            },
            vec![],
        );
        q.announce("VI_1", IF1, &[v4(1)], 1);
        q.announce("VI_2", IF2, &[v4(2)], 1);
        let a = q.pop(at(0)).unwrap();
        let b = q.pop(at(0)).unwrap();
        let mut ifs = [a, b].map(|j| match j {
            Job::Announce { ifindex, .. } => ifindex,
            _ => 0,
        });
        ifs.sort();
        assert_eq!(ifs, [IF1, IF2]);
    }

    #[test]
    fn a_garp_group_shares_one_clock_between_its_interfaces() {
        let mut q: WorkQueue<IpAddr> = WorkQueue::new();
        q.configure(
            Pacing::default(),
            vec![(
                Pacing {
                    garp: 100 * MS,
                    gna: Duration::ZERO,
                },
                vec![IF1, IF2],
            )],
        );
        q.announce("VI_1", IF1, &[v4(1)], 1);
        q.announce("VI_2", IF2, &[v4(2)], 1);
        assert!(q.pop(at(0)).is_some());
        assert_eq!(q.pop(at(0)), None);
        assert!(q.pop(at(100)).is_some());
    }

    #[test]
    fn a_group_without_an_interval_does_not_inherit_the_global_one() {
        let mut q: WorkQueue<IpAddr> = WorkQueue::new();
        q.configure(
            Pacing {
                garp: 100 * MS,
                gna: 100 * MS,
            },
            vec![(Pacing::default(), vec![IF1])],
        );
        q.announce("VI_1", IF1, &[v4(1)], 3);
        assert_eq!(frames(&q.pop(at(0)).unwrap()).len(), 3);
    }

    #[test]
    fn paced_frames_go_round_robin_across_instances() {
        let mut q: WorkQueue<IpAddr> = WorkQueue::new();
        q.configure(
            Pacing {
                garp: 10 * MS,
                gna: Duration::ZERO,
            },
            vec![],
        );
        q.announce("VI_1", IF1, &[v4(1)], 3);
        q.announce("VI_2", IF1, &[v4(2)], 3);
        let order: Vec<IpAddr> = (0..6)
            .flat_map(|i| frames(&q.pop(at(i * 10)).unwrap()))
            .collect();
        assert_eq!(order, vec![v4(1), v4(2), v4(1), v4(2), v4(1), v4(2)]);
    }

    #[test]
    fn a_barrier_passes_when_everything_before_it_is_done() {
        let mut q = WorkQueue::new();
        q.want("VI_1", IF1, v4(1), false);
        q.announce("VI_2", IF1, &[v4(2)], 1);
        let barrier = q.barrier();
        assert!(!q.passed(barrier));
        let remove = q.pop(at(0)).unwrap();
        assert!(!q.passed(barrier), "running");
        q.completed(&remove, Outcome::Removed, at(0));
        assert!(!q.passed(barrier), "the announcement is pending");
        let announce = q.pop(at(0)).unwrap();
        assert!(!q.passed(barrier));
        q.completed(&announce, Outcome::Announced, at(0));
        assert!(q.passed(barrier));
    }

    #[test]
    fn a_barrier_does_not_wait_for_work_queued_after_it() {
        let mut q = WorkQueue::new();
        let barrier = q.barrier();
        q.want("VI_1", IF1, v4(1), true);
        q.announce("VI_1", IF1, &[v4(1)], 1);
        assert!(q.passed(barrier));
    }

    #[test]
    fn a_barrier_does_not_wait_for_retries() {
        let mut q = WorkQueue::new();
        q.want("VI_1", IF1, v4(1), true);
        q.announce("VI_1", IF1, &[v4(1)], 3);
        let barrier = q.barrier();
        let add = q.pop(at(0)).unwrap();
        q.completed(&add, Outcome::Failed("EPERM".into()), at(0));
        assert!(q.passed(barrier));
    }

    #[test]
    fn address_state_reports_each_address() {
        let mut q = settled_absent(&[v4(4)]);
        q.want("VI_1", IF1, v4(1), true);
        q.want("VI_1", IF1, v4(2), true);
        q.want("VI_2", IF2, v4(3), true);
        let a = q.pop(at(0)).unwrap();
        q.completed(&a, Outcome::Added, at(0));
        let b = q.pop(at(0)).unwrap();
        q.completed(&b, Outcome::AlreadyPresent, at(0));
        let c = q.pop(at(0)).unwrap();
        q.completed(&c, Outcome::Failed("ENODEV".into()), at(0));
        q.want("VI_1", IF1, v4(5), true);
        let got: Vec<(&str, u32, IpAddr, AddressState)> = q
            .addresses()
            .map(|r| (r.owner, r.ifindex, r.addr, r.state))
            .collect();
        assert_eq!(
            got,
            vec![
                ("VI_1", IF1, v4(1), AddressState::Installed),
                ("VI_1", IF1, v4(2), AddressState::PresentBefore),
                ("VI_1", IF1, v4(4), AddressState::Absent),
                ("VI_1", IF1, v4(5), AddressState::Pending(Op::Add)),
                (
                    "VI_2",
                    IF2,
                    v4(3),
                    AddressState::Failed {
                        op: Op::Add,
                        error: "ENODEV".into(),
                        attempts: 1,
                        retry_at: at(100)
                    }
                ),
            ]
        );
    }

    #[test]
    fn announce_failures_are_reported_once_per_error() {
        let mut q: WorkQueue<IpAddr> = WorkQueue::new();
        let mut outcomes = Vec::new();
        for error in ["ENETDOWN", "ENETDOWN", "ENOBUFS"] {
            q.announce("VI_1", IF1, &[v4(1)], 1);
            let job = q.pop(at(0)).unwrap();
            outcomes.extend(q.completed(&job, Outcome::Failed(error.into()), at(0)));
        }
        let repeated: Vec<bool> = outcomes
            .iter()
            .map(|r| match r {
                Report::AnnounceFailed { repeated, .. } => *repeated,
                _ => panic!("{r:?}"),
            })
            .collect();
        assert_eq!(repeated, vec![false, true, false]);
    }

    /// Seeded random wants, announcements, clock steps and refusals against
    /// a model kernel holding some addresses beforehand. Checks at every
    /// step: the bounds, that no removal touches an address found present
    /// before, that frames only go for addresses in place and that paced
    /// frames keep their interval; at the end, once refusals stop, that the
    /// kernel holds exactly what was last wanted (plus what was not ours).
    #[test]
    fn random_work_keeps_its_bounds_and_converges_to_the_last_want() {
        let owners = ["VI_1", "VI_2", "VI_3"];
        let ifs = [IF1, IF2];
        let addrs = [v4(1), v4(2), v6(1), v6(2)];
        let pacing = Pacing {
            garp: 20 * MS,
            gna: 30 * MS,
        };
        for seed in 0..300u64 {
            let mut rng = fastrand::Rng::with_seed(seed);
            let mut q: WorkQueue<IpAddr> = WorkQueue::new();
            q.configure(pacing, vec![]);
            let keys: Vec<(u32, IpAddr)> = ifs
                .iter()
                .flat_map(|i| addrs.iter().map(move |a| (*i, *a)))
                .collect();
            let mut kernel: HashSet<(u32, IpAddr)> =
                keys.iter().copied().filter(|_| rng.u8(..) < 40).collect();
            let mut ours: HashSet<(u32, IpAddr)> = HashSet::new();
            let mut protected: HashSet<(u32, IpAddr)> = HashSet::new();
            let mut desired: HashMap<(u32, IpAddr), bool> = HashMap::new();
            let mut last_frame: HashMap<(u32, bool), Instant> = HashMap::new();
            let mut now = at(0);
            let mut failing = true;
            for step in 0..600 {
                if step == 400 {
                    failing = false;
                }
                match rng.u8(..10) {
                    0..=3 if step < 400 => {
                        let key = keys[rng.usize(..keys.len())];
                        let present = rng.bool();
                        q.want(owners[rng.usize(..3)], key.0, key.1, present);
                        desired.insert(key, present);
                    }
                    4..=5 if step < 400 => {
                        let ix = ifs[rng.usize(..2)];
                        let some: Vec<IpAddr> =
                            addrs.iter().copied().filter(|_| rng.bool()).collect();
                        q.announce(owners[rng.usize(..3)], ix, &some, rng.u32(1..6));
                    }
                    6 => now += Duration::from_millis(rng.u64(0..120)),
                    _ => {
                        if let Some(job) = q.pop(now) {
                            let outcome = if failing && rng.u8(..10) == 0 {
                                Outcome::Failed(format!("E{}", rng.u8(..2)))
                            } else {
                                match &job {
                                    Job::Add { ifindex, spec } => {
                                        let key = (*ifindex, *spec);
                                        if kernel.insert(key) {
                                            ours.insert(key);
                                            Outcome::Added
                                        } else {
                                            if !ours.contains(&key) {
                                                protected.insert(key);
                                            }
                                            Outcome::AlreadyPresent
                                        }
                                    }
                                    Job::Remove { ifindex, spec } => {
                                        let key = (*ifindex, *spec);
                                        assert!(
                                            !protected.contains(&key),
                                            "seed {seed}: removing {key:?}, present before"
                                        );
                                        kernel.remove(&key);
                                        ours.remove(&key);
                                        Outcome::Removed
                                    }
                                    Job::Announce { ifindex, addrs, .. } => {
                                        for a in addrs {
                                            if desired.contains_key(&(*ifindex, *a)) {
                                                assert!(
                                                    kernel.contains(&(*ifindex, *a)),
                                                    "seed {seed}: announcing {a} before its add"
                                                );
                                            }
                                        }
                                        // Paced kinds: at most one frame per job,
                                        // spaced by their interval.
                                        for v6 in [false, true] {
                                            let n =
                                                addrs.iter().filter(|a| a.is_ipv6() == v6).count();
                                            if n == 0 {
                                                continue;
                                            }
                                            assert_eq!(n, 1, "seed {seed}: paced burst");
                                            let gap = if v6 { pacing.gna } else { pacing.garp };
                                            if let Some(prev) =
                                                last_frame.insert((*ifindex, v6), now)
                                            {
                                                assert!(
                                                    now.saturating_since(prev) >= gap,
                                                    "seed {seed}"
                                                );
                                            }
                                        }
                                        Outcome::Announced
                                    }
                                }
                            };
                            q.completed(&job, outcome, now);
                        }
                    }
                }
                let queued = q.queued();
                assert!(queued.address_jobs <= keys.len(), "seed {seed}");
                assert!(queued.announcements <= owners.len(), "seed {seed}");
                assert!(
                    queued.announced_addresses <= owners.len() * keys.len(),
                    "seed {seed}"
                );
                assert!(queued.frames <= 5 * (owners.len() * keys.len()) as u64);
            }
            // Drain: follow poll_at until nothing is left.
            let mut rounds = 0;
            while let Some(due) = q.poll_at() {
                now = now.max(due);
                let job = q.pop(now).expect("poll_at promised a job");
                let outcome = match &job {
                    Job::Add { ifindex, spec } => {
                        if kernel.insert((*ifindex, *spec)) {
                            Outcome::Added
                        } else {
                            Outcome::AlreadyPresent
                        }
                    }
                    Job::Remove { ifindex, spec } => {
                        assert!(!protected.contains(&(*ifindex, *spec)), "seed {seed}");
                        kernel.remove(&(*ifindex, *spec));
                        Outcome::Removed
                    }
                    Job::Announce { .. } => Outcome::Announced,
                };
                q.completed(&job, outcome, now);
                rounds += 1;
                assert!(rounds < 10_000, "seed {seed}: does not drain");
            }
            assert!(q.passed(q.clone().barrier()), "seed {seed}");
            for (key, want) in &desired {
                let expected = *want || protected.contains(key);
                assert_eq!(kernel.contains(key), expected, "seed {seed}: {key:?}");
                let state = q.state(key.0, key.1);
                let expected_state = match (*want, protected.contains(key)) {
                    (_, true) => AddressState::PresentBefore,
                    (true, false) => AddressState::Installed,
                    (false, false) => AddressState::Absent,
                };
                assert_eq!(state, expected_state, "seed {seed}: {key:?}");
            }
        }
    }

    #[test]
    fn a_static_address_found_in_place_is_ours_to_remove() {
        let mut q = WorkQueue::new();
        let owner = crate::driver::routes::STATIC_OWNER;
        q.want(owner, IF1, v4(10), true);
        let add = q.pop(at(0)).unwrap();
        assert_eq!(q.completed(&add, Outcome::AlreadyPresent, at(0)), vec![]);
        q.want(owner, IF1, v4(10), false);
        let remove = q.pop(at(1)).unwrap();
        assert!(matches!(remove, Job::Remove { .. }), "{remove:?}");
        // An instance's address found in place stays the operator's.
        q.want("VI_1", IF1, v4(11), true);
        let add = q.pop(at(2)).unwrap();
        q.completed(&add, Outcome::AlreadyPresent, at(2));
        q.want("VI_1", IF1, v4(11), false);
        assert_eq!(q.pop(at(3)), None);
    }

    fn held(q: &WorkQueue<IpAddr>) -> Vec<(String, u32, IpAddr)> {
        q.held().map(|(o, ix, a)| (o.to_owned(), ix, *a)).collect()
    }

    #[test]
    fn compacting_keeps_every_address_and_job() {
        let mut q = WorkQueue::new();
        for n in 1..=200u8 {
            q.want(&format!("VI_{n}"), IF1, v4(n), true);
        }
        // Half of them in the kernel, one in flight, the rest queued.
        for t in 0..100 {
            let job = q.pop(at(t)).unwrap();
            q.completed(&job, Outcome::Added, at(t));
        }
        let in_flight = q.pop(at(100)).unwrap();
        let before = (held(&q), q.queued().address_jobs, q.state(IF1, v4(150)));
        q.compact();
        assert_eq!(
            (held(&q), q.queued().address_jobs, q.state(IF1, v4(150))),
            before
        );
        q.completed(&in_flight, Outcome::Added, at(101));
        assert_eq!(held(&q).len(), 101);
        let mut left = 0;
        while let Some(job) = q.pop(at(102)) {
            q.completed(&job, Outcome::Added, at(102));
            left += 1;
        }
        assert_eq!((left, held(&q).len()), (99, 200));
    }

    #[test]
    fn held_is_what_the_kernel_confirmed_until_its_removal_completes() {
        let mut q = WorkQueue::new();
        let g0 = q.held_generation();
        q.want("VI_1", IF1, v4(10), true);
        let job = q.pop(at(0)).unwrap();
        assert!(held(&q).is_empty(), "an add in flight is not held yet");
        assert_eq!(q.held_generation(), g0);
        q.completed(&job, Outcome::Added, at(1));
        assert_eq!(held(&q), vec![("VI_1".to_string(), IF1, v4(10))]);
        let g1 = q.held_generation();
        assert_ne!(g1, g0);

        q.want("VI_1", IF1, v4(10), false);
        let job = q.pop(at(2)).unwrap();
        q.completed(&job, Outcome::Failed("EPERM".into()), at(2));
        assert_eq!(held(&q).len(), 1, "a refused removal leaves it held");
        assert_eq!(q.held_generation(), g1, "nothing held changed");
        let job = q.pop(at(1000)).unwrap();
        q.completed(&job, Outcome::Removed, at(1000));
        assert!(held(&q).is_empty());
        assert_ne!(q.held_generation(), g1);
    }

    #[test]
    fn an_address_present_before_is_never_held() {
        let mut q = WorkQueue::new();
        let mut kernel = HashSet::from([(IF1, v4(10))]);
        let g0 = q.held_generation();
        q.want("VI_1", IF1, v4(10), true);
        run(&mut q, &mut kernel, at(0));
        assert!(held(&q).is_empty());
        assert_eq!(q.held_generation(), g0);
    }

    #[test]
    fn a_held_address_taken_over_by_another_owner_changes_the_generation() {
        let mut q = WorkQueue::new();
        let mut kernel = HashSet::new();
        q.want("VI_1", IF1, v4(10), true);
        run(&mut q, &mut kernel, at(0));
        let g = q.held_generation();
        q.want("VI_2", IF1, v4(10), true);
        assert_ne!(q.held_generation(), g);
        assert_eq!(held(&q)[0].0, "VI_2");
    }
}
