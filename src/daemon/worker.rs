//! The address worker: installs and removes virtual addresses and sends
//! announcements, off the advert path so a slow netlink reply never delays
//! an advert.
//!
//! What to do and when is decided by [`WorkQueue`] (`driver::work`: pure,
//! bounded by merging, paced, with backoff). The driver side holds a
//! [`WorkHandle`] that records wants in the queue and wakes the task; the
//! task pops due jobs, runs them (netlink, [`Announcer`]) and feeds the
//! outcomes back. No channel between the two can grow.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::{oneshot, Notify};
use tracing::{debug, info, warn};

use crate::config::Config;
use crate::driver::record::Held;
use crate::driver::routes::{Entry, EntryState, RouteJob, RouteOutcome, RouteQueue, RouteReport};
use crate::driver::work::{
    self, AddressState, Barrier, Job, Outcome, Pacing, Report, Vip, WorkQueue, WorkStats,
};
use crate::net::announce::Announcer;
use crate::net::netlink::{AddressSpec, Netlink, RouteIfindexes};

impl Vip for AddressSpec {
    fn addr(&self) -> IpAddr {
        self.addr
    }
}

/// One address as the worker knows it, for status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipStatus {
    /// The instance that last wanted it.
    pub owner: String,
    pub ifindex: u32,
    pub addr: IpAddr,
    pub state: AddressState,
    /// For [`AddressState::Failed`]: the time left before the next attempt.
    pub retry_in: Option<Duration>,
}

/// Pacing as configured, with interface names the worker looks up.
#[derive(Debug, Clone, PartialEq)]
struct PacingConfig {
    default: Pacing,
    groups: Vec<(Pacing, Vec<String>)>,
}

struct State {
    queue: WorkQueue<AddressSpec>,
    /// Routes and rules (`driver::routes`): removals run before address
    /// jobs, additions after them (a route's `src` needs its address).
    routes: RouteQueue,
    barriers: Vec<(Barrier, oneshot::Sender<()>)>,
    /// A configuration whose interface names are still to be looked up.
    pacing: Option<PacingConfig>,
    /// The handle is gone: finish what is due and stop.
    closed: bool,
    /// Deletions the worker asked the kernel for whose RTM_DELADDR the
    /// driver has not seen yet: counted before the request leaves, so the
    /// event can never arrive first.
    own_removals: HashMap<(u32, IpAddr), u32>,
}

impl State {
    fn answer_barriers(&mut self) {
        let queue = &self.queue;
        let routes_done = self.routes.idle();
        let (passed, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.barriers)
            .into_iter()
            .partition(|(b, _)| routes_done && queue.passed(*b));
        self.barriers = waiting;
        for (_, done) in passed {
            let _ = done.send(());
        }
    }
}

struct Shared {
    state: Mutex<State>,
    wake: Notify,
    /// Told when the addresses held may have changed (the runtime record
    /// is rebuilt then); one stored permit, so it cannot pile up.
    held_changed: Arc<Notify>,
    /// The queue's clock: its `Instant`s are microseconds since this.
    clock: super::Clock,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Every critical section is a few field updates: a panic inside
        // one cannot leave the queue half-changed in a way worth refusing.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The driver's side of the worker: every method records a want in the
/// queue and wakes the worker, without waiting. Dropping it stops the
/// worker once the jobs due at that moment are done.
pub struct WorkHandle {
    shared: Arc<Shared>,
}

impl WorkHandle {
    /// `owner` (an instance name) wants `spec` on interface `ifindex`.
    pub fn add(&self, owner: &str, ifindex: u32, spec: AddressSpec) {
        self.want(owner, ifindex, spec, true);
    }

    /// `owner` wants `spec` off interface `ifindex` (skipped, and said
    /// once, if the address was there before we added it).
    pub fn remove(&self, owner: &str, ifindex: u32, spec: AddressSpec) {
        self.want(owner, ifindex, spec, false);
    }

    fn want(&self, owner: &str, ifindex: u32, spec: AddressSpec, present: bool) {
        let (report, held_changed) = {
            let mut state = self.shared.lock();
            let before = state.queue.held_generation();
            let report = state.queue.want(owner, ifindex, spec, present);
            (report, state.queue.held_generation() != before)
        };
        if held_changed {
            self.shared.held_changed.notify_one();
        }
        if let Some(report) = report {
            log(&report);
        }
        self.shared.wake.notify_one();
    }

    /// `owner` (an instance name, or the static owner) wants `add` in the
    /// kernel and `remove` out of it.
    pub fn routes(&self, owner: &str, add: &[Entry], remove: &[Entry]) {
        let held_changed = {
            let mut state = self.shared.lock();
            let before = state.routes.generation();
            for e in remove {
                state.routes.want(owner, e.clone(), false);
            }
            for e in add {
                state.routes.want(owner, e.clone(), true);
            }
            state.routes.generation() != before
        };
        if held_changed {
            self.shared.held_changed.notify_one();
        }
        self.shared.wake.notify_one();
    }

    /// The kernel deleted a route or rule of protocol 18: a tracked one we
    /// hold and still want was deleted by someone else and is added again
    /// (our own removals are of entries no longer wanted). Returns what
    /// was lost, as (owner, entry), for the log.
    pub fn route_deleted(&self, deleted: &crate::net::netlink::Deleted) -> Vec<(String, Entry)> {
        let lost = {
            let mut state = self.shared.lock();
            let lost: Vec<(String, Entry)> = state
                .routes
                .wanted_held()
                .filter(|(_, e)| e.tracked() && deleted.is(e))
                .map(|(o, e)| (o.to_owned(), e.clone()))
                .collect();
            for (_, e) in &lost {
                state.routes.lost(e);
            }
            lost
        };
        if !lost.is_empty() {
            self.shared.held_changed.notify_one();
            self.shared.wake.notify_one();
        }
        lost
    }

    /// Takes over a route or rule the predecessor installed (`vrrpd upgrade`).
    pub fn adopt_route(&self, owner: &str, entry: Entry, foreign: bool) {
        self.shared.lock().routes.adopt(owner, entry, foreign);
    }

    /// Routes and rules in place with no job, for the upgrade record.
    pub fn settled_routes(&self) -> Vec<crate::driver::upgrade::RouteRecord> {
        self.shared
            .lock()
            .routes
            .settled()
            .into_iter()
            .map(
                |(owner, entry, foreign)| crate::driver::upgrade::RouteRecord {
                    owner,
                    entry,
                    foreign,
                },
            )
            .collect()
    }

    /// The routes and rules the kernel confirmed added: (owner, entry).
    pub fn held_routes(&self) -> Vec<(String, Entry)> {
        self.shared
            .lock()
            .routes
            .held()
            .map(|(o, e)| (o.to_owned(), e.clone()))
            .collect()
    }

    /// Every route and rule the worker has handled: (owner, entry, state).
    pub fn route_entries(&self) -> Vec<(String, Entry, EntryState)> {
        self.shared
            .lock()
            .routes
            .entries()
            .map(|(o, e, s)| (o.to_owned(), e.clone(), s))
            .collect()
    }

    /// `repeat` gratuitous ARPs / unsolicited NAs per address of `addrs` on
    /// `ifindex`, after their adds; merged with `owner`'s pending burst.
    pub fn announce(&self, owner: &str, ifindex: u32, addrs: &[IpAddr], repeat: u32) {
        self.shared
            .lock()
            .queue
            .announce(owner, ifindex, addrs, repeat);
        self.shared.wake.notify_one();
    }

    /// Answered once everything queued before it is done (a refused
    /// address counts as done once tried; see `WorkQueue::passed`).
    pub fn barrier(&self) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        let mut state = self.shared.lock();
        let barrier = state.queue.barrier();
        if state.routes.idle() && state.queue.passed(barrier) {
            let _ = tx.send(());
        } else {
            state.barriers.push((barrier, tx));
        }
        drop(state);
        self.shared.wake.notify_one();
        rx
    }

    /// Sets the frame pacing: `default` per interface, and per group of
    /// interfaces sharing one clock.
    pub fn set_pacing(&self, default: Pacing, groups: Vec<(Pacing, Vec<u32>)>) {
        self.shared.lock().queue.configure(default, groups);
        self.shared.wake.notify_one();
    }

    /// Takes the pacing from `config`: the global `vrrp_garp_interval` /
    /// `vrrp_gna_interval` and its `garp_group`s. Does not wait: the worker
    /// looks the groups' interfaces up (a missing one is said and uses the
    /// global pacing). Call on start and on every reload.
    pub fn configure(&self, config: &Config) {
        let pacing = PacingConfig {
            default: Pacing {
                garp: config.global.garp_interval.as_duration(),
                gna: config.global.gna_interval.as_duration(),
            },
            groups: config
                .garp_groups
                .iter()
                .map(|g| {
                    let pacing = Pacing {
                        garp: g.garp_interval.as_duration(),
                        gna: g.gna_interval.as_duration(),
                    };
                    (pacing, g.interfaces.clone())
                })
                .collect(),
        };
        self.shared.lock().pacing = Some(pacing);
        self.shared.wake.notify_one();
    }

    /// Takes over an address the predecessor left in place (`vrrpd
    /// upgrade`): nothing is sent to the kernel.
    pub fn adopt(&self, owner: &str, ifindex: u32, spec: AddressSpec, foreign: bool) {
        self.shared
            .lock()
            .queue
            .adopt(owner, ifindex, spec, foreign);
    }

    /// The addresses in place with no job on them, for the upgrade record.
    pub fn settled(&self) -> Vec<crate::driver::upgrade::AddressRecord> {
        self.shared
            .lock()
            .queue
            .settled()
            .into_iter()
            .map(
                |(owner, ifindex, spec, foreign)| crate::driver::upgrade::AddressRecord {
                    owner,
                    ifindex,
                    spec,
                    foreign,
                },
            )
            .collect()
    }

    /// The queue's counters (merges, skipped removals, refusals).
    /// Whether the kernel's report that `addr` left interface `ifindex` is
    /// the echo of a removal the worker made (then it is consumed) rather
    /// than someone else's deletion.
    pub fn own_removal(&self, ifindex: u32, addr: IpAddr) -> bool {
        let mut state = self.shared.lock();
        match state.own_removals.get_mut(&(ifindex, addr)) {
            Some(n) if *n > 0 => {
                *n -= 1;
                if *n == 0 {
                    state.own_removals.remove(&(ifindex, addr));
                }
                true
            }
            _ => false,
        }
    }

    pub fn stats(&self) -> WorkStats {
        self.shared.lock().queue.stats()
    }

    /// The queue's counters, pending work and frames sent by instance,
    /// for the metrics.
    pub fn metrics(&self) -> crate::output::metrics::WorkSnapshot {
        let state = self.shared.lock();
        crate::output::metrics::WorkSnapshot {
            stats: state.queue.stats(),
            queued: state.queue.queued(),
            sent: state.queue.frames_sent().clone(),
        }
    }

    /// Notified whenever [`WorkHandle::held`] (or the routes held) may have changed.
    pub fn held_changed(&self) -> Arc<Notify> {
        self.shared.held_changed.clone()
    }

    /// The addresses the kernel confirmed added and not removed since.
    pub fn held(&self) -> Vec<Held> {
        self.shared
            .lock()
            .queue
            .held()
            .map(|(owner, ifindex, spec)| Held {
                owner: owner.to_owned(),
                ifindex,
                spec: spec.clone(),
            })
            .collect()
    }

    /// Every address the worker has handled, with its state.
    pub fn addresses(&self) -> Vec<VipStatus> {
        let now = self.shared.clock.now();
        let state = self.shared.lock();
        state
            .queue
            .addresses()
            .map(|r| VipStatus {
                owner: r.owner.to_owned(),
                ifindex: r.ifindex,
                addr: r.addr,
                retry_in: match &r.state {
                    AddressState::Failed { retry_at, .. } => Some(retry_at.saturating_since(now)),
                    _ => None,
                },
                state: r.state,
            })
            .collect()
    }
}

impl Drop for WorkHandle {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.wake.notify_one();
    }
}

/// The task that runs the jobs.
/// The worker's thread, to wait for at shutdown.
pub struct WorkerThread {
    done: oneshot::Receiver<()>,
}

impl WorkerThread {
    /// Waits until the worker has finished what was due and stopped (its
    /// handle dropped). A worker that panicked counts as finished.
    pub async fn join(self) {
        let _ = self.done.await;
    }
}

pub struct Worker {
    shared: Arc<Shared>,
    netlink: Netlink,
    announcers: HashMap<u32, Announcer>,
    /// Jobs run since the heap was last trimmed, and when that was.
    jobs_since_trim: u32,
    trimmed_at: Option<std::time::Instant>,
}

/// The least time between two trims the worker does: a trim holds each
/// malloc arena's lock for 0.05-0.3 ms, and the advert thread allocates.
const MIN_TRIM_GAP: Duration = Duration::from_secs(5);

impl Worker {
    /// The handle for the driver and the worker to spawn (`run`).
    pub fn new(netlink: Netlink) -> (WorkHandle, Worker) {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                queue: WorkQueue::new(),
                routes: RouteQueue::new(),
                barriers: Vec::new(),
                pacing: None,
                closed: false,
                own_removals: HashMap::new(),
            }),
            wake: Notify::new(),
            held_changed: Arc::new(Notify::new()),
            clock: super::Clock::start(),
        });
        let handle = WorkHandle {
            shared: shared.clone(),
        };
        let worker = Worker {
            shared,
            netlink,
            announcers: HashMap::new(),
            jobs_since_trim: 0,
            trimmed_at: None,
        };
        (handle, worker)
    }

    /// Runs jobs as they fall due until the handle is dropped.
    /// Runs the worker on a thread of its own. Announcement bursts are
    /// synchronous sends (100 instances answering a flood is ~500 frames,
    /// milliseconds of syscalls) and must not sit between the advert
    /// thread and its next deadline; on its own thread the kernel runs them
    /// beside the adverts (or preempts them for an advert on one CPU). The
    /// thread starts before the advert thread's scheduling is applied (that
    /// happens at load, per thread), so it keeps the process's SCHED_OTHER.
    pub fn spawn_thread(self) -> std::io::Result<WorkerThread> {
        // Built here so a failure is the caller's error, not a worker that
        // silently never runs.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (done_tx, done) = oneshot::channel();
        std::thread::Builder::new()
            .name("vrrpd-work".into())
            .spawn(move || {
                rt.block_on(self.run());
                let _ = done_tx.send(());
            })?;
        Ok(WorkerThread { done })
    }

    pub async fn run(mut self) {
        loop {
            let pacing = self.shared.lock().pacing.take();
            if let Some(pacing) = pacing {
                self.configure(pacing).await;
            }
            let (job, next) = {
                let mut state = self.shared.lock();
                state.answer_barriers();
                let now = self.shared.clock.now();
                let job = state
                    .routes
                    .pop_op(now, work::Op::Remove)
                    .map(Next::Route)
                    .or_else(|| state.queue.pop(now).map(Next::Address))
                    .or_else(|| state.routes.pop_op(now, work::Op::Add).map(Next::Route));
                match job {
                    Some(job) => (Some(job), None),
                    None if state.closed => break,
                    None => {
                        let next = [state.queue.poll_at(), state.routes.poll_at()]
                            .into_iter()
                            .flatten()
                            .min();
                        (None, next)
                    }
                }
            };
            let job = match job {
                Some(Next::Route(job)) => {
                    self.route_job(job).await;
                    continue;
                }
                Some(Next::Address(job)) => Some(job),
                None => None,
            };
            let Some(job) = job else {
                // Idle: the burst is over. A trim not yet allowed (the
                // last one was less than MIN_TRIM_GAP ago) is done when it
                // is, unless more jobs come first: the tail of a start
                // (the second announcement burst) would otherwise stay
                // untrimmed until the next failover.
                let trim_at = if next.is_none() {
                    trim_due_at(
                        self.jobs_since_trim,
                        self.trimmed_at,
                        std::time::Instant::now(),
                    )
                } else {
                    None
                };
                if trim_at.is_some_and(|at| at <= std::time::Instant::now()) {
                    self.trim_after_burst();
                    continue;
                }
                // A permit stored by notify_one between the unlock and
                // here is not lost: `notified` completes at once.
                let woken = self.shared.wake.notified();
                let wake_at = match (next, trim_at) {
                    (Some(at), _) => Some(self.shared.clock.deadline(at)),
                    (None, Some(at)) => Some(tokio::time::Instant::from_std(at)),
                    (None, None) => None,
                };
                match wake_at {
                    Some(at) => {
                        tokio::select! {
                            () = woken => {}
                            () = tokio::time::sleep_until(at) => {}
                        }
                    }
                    None => woken.await,
                }
                continue;
            };
            let outcome = self.execute(&job).await;
            self.jobs_since_trim = self.jobs_since_trim.saturating_add(1);
            let now = self.shared.clock.now();
            let (reports, held_changed) = {
                let mut state = self.shared.lock();
                let before = state.queue.held_generation();
                let reports = state.queue.completed(&job, outcome, now);
                (reports, state.queue.held_generation() != before)
            };
            if held_changed {
                self.shared.held_changed.notify_one();
            }
            for report in &reports {
                log(report);
            }
        }
    }

    /// Nothing left to do after a burst of jobs (a start's or a failover's
    /// addresses and announcements): the pages they freed go back to the
    /// kernel. The record writer's trim comes when the addresses settle,
    /// before the announcements' tail; this one after it (0.4 MB of a
    /// Master's RSS at 1000 instances).
    fn trim_after_burst(&mut self) {
        self.jobs_since_trim = 0;
        self.trimmed_at = Some(std::time::Instant::now());
        self.shared.lock().queue.compact();
        super::sched::trim_heap("a burst of jobs");
    }

    /// Runs one route or rule job and hands its outcome to the queue.
    async fn route_job(&mut self, job: RouteJob) {
        let outcome = self.execute_route(&job).await;
        let now = self.shared.clock.now();
        let (reports, held_changed) = {
            let mut state = self.shared.lock();
            let before = state.routes.generation();
            let reports = state.routes.completed(&job, outcome, now);
            (reports, state.routes.generation() != before)
        };
        if held_changed {
            self.shared.held_changed.notify_one();
        }
        for report in &reports {
            log_route(report);
        }
    }

    async fn execute_route(&mut self, job: &RouteJob) -> RouteOutcome {
        let add = job.op == work::Op::Add;
        let done = match &job.entry {
            Entry::Route(route) => {
                // Interfaces by name at each attempt: a `dev` created or
                // re-created after start is found on the next retry.
                let oif = match &route.dev {
                    Some(name) => match self.netlink.link(name).await {
                        Ok(link) => Some(link.index),
                        Err(e) if add => {
                            return RouteOutcome::Failed(format!("route {}: {e}", route.to))
                        }
                        // Its interface is gone: so is the route.
                        Err(_) => return RouteOutcome::Removed,
                    },
                    None => None,
                };
                let mut hops = Vec::new();
                for hop in &route.nexthops {
                    hops.push(match &hop.dev {
                        Some(name) => match self.netlink.link(name).await {
                            Ok(link) => Some(link.index),
                            Err(e) => {
                                return RouteOutcome::Failed(format!("route {}: {e}", route.to))
                            }
                        },
                        None => None,
                    });
                }
                let ix = RouteIfindexes { oif, hops: &hops };
                if add {
                    self.netlink.add_route(route, ix).await
                } else {
                    self.netlink.remove_route(route, ix).await
                }
            }
            Entry::Rule(rule) => {
                if add {
                    self.netlink.add_rule(rule).await
                } else {
                    self.netlink.remove_rule(rule).await
                }
            }
        };
        match (done, add) {
            (Ok(true), true) => {
                debug!("added {}", job.entry.text());
                RouteOutcome::Added
            }
            (Ok(false), true) => RouteOutcome::AlreadyPresent,
            (Ok(_), false) => {
                debug!("removed {}", job.entry.text());
                RouteOutcome::Removed
            }
            (Err(e), _) => RouteOutcome::Failed(e.to_string()),
        }
    }

    /// Looks the `garp_group` interfaces up and sets the queue's pacing.
    async fn configure(&self, pacing: PacingConfig) {
        let mut groups = Vec::new();
        for (group, names) in pacing.groups {
            let mut ifindexes = Vec::new();
            for name in names {
                match self.netlink.link(&name).await {
                    Ok(link) => ifindexes.push(link.index),
                    Err(e) => warn!("garp_group: {e}; {name} uses the global pacing"),
                }
            }
            groups.push((group, ifindexes));
        }
        self.shared.lock().queue.configure(pacing.default, groups);
    }

    async fn execute(&mut self, job: &Job<AddressSpec>) -> Outcome {
        match job {
            Job::Add { ifindex, spec } => match self.netlink.add_address(*ifindex, spec).await {
                Ok(true) => {
                    debug!("added {}/{} to ifindex {ifindex}", spec.addr, spec.prefix);
                    Outcome::Added
                }
                Ok(false) => Outcome::AlreadyPresent,
                Err(e) => Outcome::Failed(e.to_string()),
            },
            Job::Remove { ifindex, spec } => {
                let key = (*ifindex, spec.addr);
                *self.shared.lock().own_removals.entry(key).or_default() += 1;
                let removed = self.netlink.remove_address(*ifindex, spec).await;
                if !matches!(removed, Ok(true)) {
                    // No deletion, no event to expect.
                    let mut state = self.shared.lock();
                    if let Some(n) = state.own_removals.get_mut(&key) {
                        *n = n.saturating_sub(1);
                        if *n == 0 {
                            state.own_removals.remove(&key);
                        }
                    }
                }
                match removed {
                    Ok(_) => {
                        debug!(
                            "removed {}/{} from ifindex {ifindex}",
                            spec.addr, spec.prefix
                        );
                        Outcome::Removed
                    }
                    Err(e) => Outcome::Failed(e.to_string()),
                }
            }
            Job::Announce { ifindex, addrs, .. } => self.announce(*ifindex, addrs).await,
        }
    }

    async fn announce(&mut self, ifindex: u32, frames: &[IpAddr]) -> Outcome {
        if !self.announcers.contains_key(&ifindex) {
            let name = match self.netlink.link_by_index(ifindex).await {
                Ok(link) => link.name,
                Err(e) => return Outcome::Failed(format!("announcing on ifindex {ifindex}: {e}")),
            };
            match Announcer::open(&name) {
                Ok(a) => {
                    self.announcers.insert(ifindex, a);
                }
                Err(e) => return Outcome::Failed(format!("announcing on {name}: {e}")),
            }
        }
        let Some(announcer) = self.announcers.get(&ifindex) else {
            return Outcome::Failed(format!("announcing on ifindex {ifindex}: no socket"));
        };
        match announcer.announce_each(frames) {
            Ok(sent) => {
                debug!(
                    "sent {sent} gratuitous ARP/NA frame(s) on {}",
                    announcer.ifname()
                );
                Outcome::Announced
            }
            Err(e) => {
                // The interface may have been recreated: reopen next time.
                self.announcers.remove(&ifindex);
                Outcome::Failed(e.to_string())
            }
        }
    }
}

/// What the worker runs next.
enum Next {
    Route(RouteJob),
    Address(Job<AddressSpec>),
}

fn owner_label(owner: &str) -> String {
    if owner == crate::driver::routes::STATIC_OWNER {
        "static".to_string()
    } else {
        owner.to_string()
    }
}

/// Logs what the route queue reports, as [`log`] does for addresses.
fn log_route(report: &RouteReport) {
    match report {
        RouteReport::Refused {
            owner,
            entry,
            op,
            error,
            attempts,
            retry_in,
            repeated,
        } => {
            let owner = owner_label(owner);
            let retry = retry_in.as_secs_f64();
            if *repeated {
                debug!(
                    "({owner}) {error}; {} of '{}' refused again (attempt {attempts}), retrying in {retry:.1} s",
                    op.as_str(),
                    entry.text()
                );
            } else {
                warn!("({owner}) {error}; retrying in {retry:.1} s with backoff");
            }
        }
        RouteReport::Recovered {
            owner,
            entry,
            op,
            attempts,
        } => info!(
            "({}) {} of '{}' succeeded after {attempts} refused attempt(s)",
            owner_label(owner),
            op.as_str(),
            entry.text()
        ),
        RouteReport::PresentBefore { owner, entry } => info!(
            "({}) '{}' was in the kernel before vrrpd added it: not ours, it will not be removed",
            owner_label(owner),
            entry.text()
        ),
    }
}

/// Logs what the queue reports: a refusal loudly once per new error, its
/// retries quietly.
fn log(report: &Report) {
    match report {
        Report::Refused {
            owner,
            op,
            error,
            attempts,
            repeated,
            addr,
            ..
        } => {
            let retry = work::backoff(*attempts).as_secs_f64();
            if *repeated {
                debug!(
                    "({owner}) {error}; {} of {addr} refused again (attempt {attempts}), retrying in {retry:.1} s",
                    op.as_str()
                );
            } else {
                let meanwhile = match op {
                    work::Op::Add => "is not held",
                    work::Op::Remove => "stays",
                };
                warn!(
                    "({owner}) {error}; retrying in {retry:.1} s with backoff, {addr} {meanwhile} meanwhile"
                );
            }
        }
        Report::Recovered {
            owner,
            addr,
            op,
            attempts,
            ..
        } => info!(
            "({owner}) {} of {addr} succeeded after {attempts} refused attempt(s)",
            op.as_str()
        ),
        Report::PresentBefore {
            owner,
            ifindex,
            addr,
        } => info!(
            "({owner}) {addr} was already on ifindex {ifindex} before vrrpd added it: not ours, it will not be removed"
        ),
        Report::NotRemoved {
            owner,
            ifindex,
            addr,
        } => info!(
            "({owner}) not removing {addr} from ifindex {ifindex}: it was there before vrrpd added it"
        ),
        Report::AnnounceFailed {
            error, repeated, ..
        } => {
            if *repeated {
                debug!("{error}");
            } else {
                warn!("{error}");
            }
        }
    }
}

/// When the jobs run since the last trim may be trimmed: none run, never;
/// else at once, or MIN_TRIM_GAP after the last trim if that is later.
fn trim_due_at(
    jobs_since_trim: u32,
    trimmed_at: Option<std::time::Instant>,
    now: std::time::Instant,
) -> Option<std::time::Instant> {
    if jobs_since_trim == 0 {
        return None;
    }
    Some(trimmed_at.map_or(now, |at| (at + MIN_TRIM_GAP).max(now)))
}

#[cfg(test)]
mod trim_tests {
    use super::*;

    #[test]
    fn a_burst_is_trimmed_once_the_gap_since_the_last_trim_has_passed() {
        let t0 = std::time::Instant::now();
        // Nothing run since the last trim: nothing to trim, ever.
        assert_eq!(trim_due_at(0, Some(t0), t0), None);
        assert_eq!(trim_due_at(0, None, t0), None);
        // The first burst: at once.
        assert_eq!(trim_due_at(3, None, t0), Some(t0));
        // A burst that ends 1 s after a trim (a start's second
        // announcement burst): deferred to the gap's end, not dropped.
        let later = t0 + Duration::from_secs(1);
        assert_eq!(trim_due_at(5, Some(t0), later), Some(t0 + MIN_TRIM_GAP));
        // Long after: at once.
        let much_later = t0 + Duration::from_secs(60);
        assert_eq!(trim_due_at(5, Some(t0), much_later), Some(much_later));
    }
}
