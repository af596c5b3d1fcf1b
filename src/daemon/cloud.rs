//! The cloud worker: runs the cloud backend's API jobs off the advert path.
//! What to run and when is decided by [`Cloud`] (`driver::cloud`: pure,
//! one job in flight per instance, terms, backoff, reconciliation); this
//! task pops jobs, runs each through its instance's adapter
//! ([`crate::net::cloud`]) and feeds the outcome back. It runs on a thread
//! of its own with its own runtime: the SDK's TLS handshakes and credential
//! loading must never sit on the advert thread. The driver's side only
//! records each instance's state and wakes the task.
//!
//! Bounded: one job per instance at most (so the join set holds at most
//! one future per cloud instance); the driver's state reports merge into
//! the pure queue (latest state wins).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

use crate::driver::cloud::{Cloud, Job, Op, Outcome, Report};
use crate::net::cloud::Adapter;

/// Upper bounds of the API latency histogram, seconds.
pub const LATENCY_BOUNDS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// One op's histogram: name, per-bucket counts (upper bound, count),
/// total count, sum in seconds.
pub type OpLatency = (&'static str, Vec<(f64, u64)>, u64, f64);

/// What an adapter was made with: a reload that changes it makes a new one.
type Made = (crate::config::cloud::Cloud, std::net::Ipv4Addr, String);

/// API call latency per operation (claims, reads), for metrics.
#[derive(Debug, Default)]
pub struct Latency {
    /// Per op (0 claim, 1 read): bucket counts (last: +Inf), sum in µs.
    buckets: [[AtomicU64; 13]; 2],
    sum_us: [AtomicU64; 2],
}

impl Latency {
    fn record(&self, op: Op, took: Duration) {
        let k = usize::from(op == Op::Read);
        let s = took.as_secs_f64();
        let b = LATENCY_BOUNDS
            .iter()
            .position(|&u| s <= u)
            .unwrap_or(LATENCY_BOUNDS.len());
        self.buckets[k][b].fetch_add(1, Ordering::Relaxed);
        self.sum_us[k].fetch_add(
            u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// (op name, cumulative bucket counts, count, sum in seconds).
    pub fn snapshot(&self) -> Vec<OpLatency> {
        ["claim", "read"]
            .iter()
            .enumerate()
            .map(|(k, name)| {
                let raw: Vec<u64> = self.buckets[k]
                    .iter()
                    .map(|c| c.load(Ordering::Relaxed))
                    .collect();
                let count = raw.iter().sum();
                let buckets = LATENCY_BOUNDS
                    .iter()
                    .copied()
                    .chain([f64::INFINITY])
                    .zip(raw)
                    .collect();
                let sum = self.sum_us[k].load(Ordering::Relaxed) as f64 / 1e6;
                (*name, buckets, count, sum)
            })
            .collect()
    }
}

struct Shared {
    queue: Mutex<Cloud>,
    adapters: Mutex<HashMap<String, Arc<dyn Adapter>>>,
    wake: Notify,
    abandoned: AtomicBool,
    any: AtomicBool,
    latency: Latency,
    clock: super::Clock,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Cloud> {
        // Each critical section is a few field updates.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn adapters(&self) -> MutexGuard<'_, HashMap<String, Arc<dyn Adapter>>> {
        self.adapters.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What metrics read at scrape time.
pub trait CloudMetrics: Send + Sync + std::fmt::Debug {
    /// Per instance: counters, whether it is failing now, whether in sync.
    fn instances(&self) -> Vec<(String, crate::driver::cloud::CloudStats, bool, bool)>;
    fn latency(&self) -> Vec<OpLatency>;
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("cloud::Shared")
    }
}

impl CloudMetrics for Shared {
    fn instances(&self) -> Vec<(String, crate::driver::cloud::CloudStats, bool, bool)> {
        let now = self.clock.now();
        let q = self.lock();
        q.stats()
            .map(|(name, stats, failing)| {
                let in_sync = q.view(now, name).is_some_and(|v| v.in_sync);
                (name.to_string(), stats, failing, in_sync)
            })
            .collect()
    }

    fn latency(&self) -> Vec<OpLatency> {
        self.latency.snapshot()
    }
}

/// One instance with a cloud backend, as configured.
pub struct Configured {
    pub name: String,
    pub settings: crate::config::cloud::Cloud,
    pub address: std::net::Ipv4Addr,
    pub ifname: String,
}

/// The driver's side: records states, never waits.
#[derive(Clone)]
pub struct CloudHandle {
    shared: Arc<Shared>,
    /// The settings each adapter was made with (a reload that changes
    /// them makes a new adapter).
    made: Arc<Mutex<HashMap<String, Made>>>,
}

impl CloudHandle {
    /// Whether any instance has a cloud backend (so the driver's per-event
    /// report costs nothing otherwise).
    pub fn any(&self) -> bool {
        self.shared.any.load(Ordering::Relaxed)
    }

    /// The instances with a cloud backend (start, reload).
    pub fn configure(&self, instances: Vec<Configured>) {
        let mut made = self.made.lock().unwrap_or_else(PoisonError::into_inner);
        let mut adapters = self.shared.adapters();
        let mut next_made = HashMap::new();
        let mut next = HashMap::new();
        for c in &instances {
            let key = (c.settings.clone(), c.address, c.ifname.clone());
            let kept = made
                .get(&c.name)
                .filter(|m| **m == key)
                .and_then(|_| adapters.get(&c.name).cloned());
            let adapter = match kept {
                Some(a) => Some(a),
                None => crate::net::cloud::adapter(&c.settings, c.address, &c.ifname),
            };
            match adapter {
                Some(a) => {
                    next.insert(c.name.clone(), a);
                    next_made.insert(c.name.clone(), key);
                }
                None => warn!(
                    "({}) cloud backend unavailable in this build; the address is only added locally",
                    c.name
                ),
            }
        }
        let slots = instances
            .iter()
            .filter(|c| next.contains_key(&c.name))
            .map(|c| (c.name.clone(), c.settings.reconcile_interval.as_duration()));
        self.shared.lock().configure(slots);
        self.shared.any.store(!next.is_empty(), Ordering::Relaxed);
        *adapters = next;
        *made = next_made;
        drop(adapters);
        self.shared.wake.notify_one();
    }

    /// An instance's VRRP state now (see [`Cloud::state`]).
    pub fn state(&self, instance: &str, master: bool, adverts: u64) {
        let now = self.shared.clock.now();
        if self.shared.lock().state(now, instance, master, adverts) {
            self.shared.wake.notify_one();
        }
    }

    /// A successor took over (`vrrpd upgrade`), or the daemon stops: the
    /// worker ends, leaving jobs in flight to finish on their own.
    pub fn abandon(&self) {
        self.shared.abandoned.store(true, Ordering::Release);
        self.shared.wake.notify_one();
    }

    /// For metrics.
    pub fn metrics(&self) -> Arc<dyn CloudMetrics> {
        self.shared.clone()
    }

    /// One instance's status, if it has a cloud backend.
    pub fn status(&self, instance: &str) -> Option<serde_json::Value> {
        let now = self.shared.clock.now();
        let view = self.shared.lock().view(now, instance)?;
        let adapter = self.shared.adapters().get(instance).cloned();
        let mut v = serde_json::to_value(view).ok()?;
        if let (Some(map), Some(a)) = (v.as_object_mut(), adapter) {
            map.insert("moves".into(), a.describe().into());
            map.insert("interface".into(), a.interface().into());
        }
        Some(v)
    }
}

/// The task.
pub struct CloudWorker {
    shared: Arc<Shared>,
}

impl CloudWorker {
    pub fn new() -> (CloudHandle, CloudWorker) {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Cloud::new()),
            adapters: Mutex::new(HashMap::new()),
            wake: Notify::new(),
            abandoned: AtomicBool::new(false),
            any: AtomicBool::new(false),
            latency: Latency::default(),
            clock: super::Clock::start(),
        });
        (
            CloudHandle {
                shared: shared.clone(),
                made: Arc::new(Mutex::new(HashMap::new())),
            },
            CloudWorker { shared },
        )
    }

    /// Runs [`CloudWorker::run`] on a thread of its own.
    pub fn spawn_thread(self) -> std::io::Result<()> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("vrrpd-cloud".into())
            .spawn(move || rt.block_on(self.run()))?;
        Ok(())
    }

    pub async fn run(self) {
        let mut running: JoinSet<(Job, Outcome, Duration)> = JoinSet::new();
        loop {
            if self.shared.abandoned.load(Ordering::Acquire) {
                return;
            }
            let now = self.shared.clock.now();
            let (jobs, next) = {
                let mut q = self.shared.lock();
                (q.pop(now), q.poll_at())
            };
            for job in jobs {
                let adapter = self.shared.adapters().get(&job.instance).cloned();
                let Some(adapter) = adapter else {
                    // Removed by a reload between pop and here: report
                    // nothing, the queue forgot it too.
                    continue;
                };
                let fut = adapter.run(&job);
                let clock = self.shared.clock;
                running.spawn(async move {
                    let start = clock.now();
                    let outcome = fut.await;
                    (job, outcome, clock.now().saturating_since(start))
                });
            }
            let woken = self.shared.wake.notified();
            let sleep = async {
                match next {
                    Some(at) => tokio::time::sleep_until(self.shared.clock.deadline(at)).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = woken => {}
                () = sleep => {}
                Some(done) = running.join_next(), if !running.is_empty() => {
                    let Ok((job, outcome, took)) = done else { continue };
                    self.shared.latency.record(job.op, took);
                    let adapter = self.shared.adapters().get(&job.instance).cloned();
                    let reports = self
                        .shared
                        .lock()
                        .completed(self.shared.clock.now(), &job, outcome);
                    for r in &reports {
                        log(r, adapter.as_deref());
                    }
                }
            }
        }
    }
}

/// keepalived-style lines: `(VI_1) ...`.
fn log(report: &Report, adapter: Option<&dyn Adapter>) {
    let what = adapter.map_or_else(|| "the address".to_string(), Adapter::describe);
    let on = adapter
        .and_then(Adapter::interface)
        .unwrap_or_else(|| "this node".into());
    match report {
        Report::Claimed {
            instance,
            api,
            since_master,
        } => info!(
            "({instance}) cloud: claimed {what} on {on} in {} ms ({} ms after entering MASTER)",
            api.as_millis(),
            since_master.as_millis()
        ),
        Report::Stale { instance, epoch } => warn!(
            "({instance}) cloud: a claim of {what} made as MASTER (term {epoch}) completed after leaving MASTER; not repeated, the current MASTER reconciles"
        ),
        Report::Failed {
            instance,
            op,
            error,
            attempts,
            retry_in,
            repeated,
        } => {
            let op = match op {
                Op::Claim => "claim of",
                Op::Read => "read of",
            };
            if *repeated {
                debug!(
                    "({instance}) cloud: {op} {what} failed again (attempt {attempts}): {}; retrying in {:.1} s",
                    error.message,
                    retry_in.as_secs_f64()
                );
            } else {
                warn!(
                    "({instance}) cloud: {op} {what} failed: {}; retrying in {:.1} s with backoff, the address stays held locally",
                    error.message,
                    retry_in.as_secs_f64()
                );
            }
        }
        Report::Drift { instance, observed } => warn!(
            "({instance}) cloud: {what} points at {} while this node is MASTER; claiming it back",
            observed.holder()
        ),
        Report::Confirmed { instance, .. } => {
            debug!("({instance}) cloud: {what} confirmed on {on}")
        }
        Report::Recovered { instance, attempts } => info!(
            "({instance}) cloud: API answering again after {attempts} failed attempt(s); {what} on {on}"
        ),
    }
}
