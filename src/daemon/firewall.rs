//! The firewall worker: runs accept mode's nftables batches off the advert
//! path. What to run and when is decided by [`Firewall`] (`driver::firewall`:
//! pure, one want, one batch in flight, backoff); this task pops a batch,
//! runs `nft` on it with a deadline ([`crate::net::nft`]) and feeds the
//! outcome back. It runs on a thread of its own (as the address worker):
//! starting a process waits for its exec, which must not sit on the advert
//! thread. The driver's side only records a want and wakes the task: an
//! `nft` that hangs or is missing never holds up an advert.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tracing::{debug, info, warn};

use crate::config::Nftables;
use crate::driver::firewall::{Element, Firewall, FirewallRecord, Report};
use crate::driver::work::backoff;
use crate::net::nft;

/// How long one `nft` run may take before it is killed and counted as a
/// refusal (the whole layout takes 15-30 ms on a loaded 2-core host).
pub const NFT_TIMEOUT: Duration = Duration::from_secs(5);

struct Shared {
    queue: Mutex<Firewall>,
    wake: Notify,
    /// Told when the stop's teardown is done.
    stopped: Notify,
    /// Handed over (`vrrpd upgrade`): end without a teardown.
    abandoned: AtomicBool,
    clock: super::Clock,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Firewall> {
        // Each critical section is a few field updates.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The driver's side: records wants, never waits.
#[derive(Clone)]
pub struct FirewallHandle {
    shared: Arc<Shared>,
    /// The settings the daemon started with (a reload keeps them, as
    /// keepalived does).
    settings: Arc<Nftables>,
}

impl FirewallHandle {
    /// The settings in use.
    pub fn settings(&self) -> &Nftables {
        &self.settings
    }

    /// The elements to drop from now on (the whole set).
    pub fn want(&self, elements: BTreeSet<Element>) {
        if self.shared.lock().want(elements) {
            self.shared.wake.notify_one();
        }
    }

    /// A successor took over: the worker ends after the batch in flight,
    /// leaving the tables to it.
    pub fn abandon(&self) {
        self.shared.abandoned.store(true, Ordering::Release);
        self.shared.wake.notify_one();
    }

    /// Continue from what a predecessor built (`vrrpd upgrade`).
    pub fn adopt(&self, record: &FirewallRecord) {
        self.shared.lock().adopt(record);
    }

    /// What to hand a successor.
    pub fn record(&self) -> FirewallRecord {
        self.shared.lock().record()
    }

    /// Deletes the tables (if any was built) and waits for it, at most
    /// `limit`.
    pub async fn stop(&self, limit: Duration) {
        let stopped = self.shared.stopped.notified();
        tokio::pin!(stopped);
        stopped.as_mut().enable();
        {
            let mut q = self.shared.lock();
            q.stop();
            if q.stopped() {
                drop(q);
                // Let the task see it and end.
                self.shared.wake.notify_one();
                return;
            }
        }
        self.shared.wake.notify_one();
        if tokio::time::timeout(limit, stopped).await.is_err() {
            warn!(
                "nftables: the {} tables were not deleted within {} ms; `vrrpd resign` deletes them",
                self.settings.table,
                limit.as_millis()
            );
        }
    }

    /// For status: wanted and installed elements, the last refusal.
    pub fn status(&self) -> serde_json::Value {
        let now = self.shared.clock.now();
        let q = self.shared.lock();
        let failure = q.failure().map(|f| {
            serde_json::json!({
                "error": f.error,
                "attempts": f.attempts,
                "retry_in_ms": u64::try_from(f.retry_at.saturating_since(now).as_millis()).unwrap_or(u64::MAX),
            })
        });
        serde_json::json!({
            "table": self.settings.table,
            "wanted": q.wanted().iter().map(|e| e.addr().to_string()).collect::<Vec<_>>(),
            "installed": q.installed().iter().map(|e| e.addr().to_string()).collect::<Vec<_>>(),
            "in_sync": q.in_sync(),
            "applied": q.stats().applied,
            "refused": q.stats().refused,
            "failure": failure,
        })
    }
}

/// The task.
pub struct FirewallWorker {
    shared: Arc<Shared>,
    settings: Arc<Nftables>,
}

impl FirewallWorker {
    /// A handle and the task to spawn, for `settings`.
    pub fn new(settings: Nftables) -> (FirewallHandle, FirewallWorker) {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Firewall::new()),
            wake: Notify::new(),
            stopped: Notify::new(),
            abandoned: AtomicBool::new(false),
            clock: super::Clock::start(),
        });
        let settings = Arc::new(settings);
        (
            FirewallHandle {
                shared: shared.clone(),
                settings: settings.clone(),
            },
            FirewallWorker { shared, settings },
        )
    }

    /// Runs [`FirewallWorker::run`] on a thread of its own with a
    /// current-thread runtime; it ends with the teardown at stop, or
    /// [`FirewallHandle::abandon`].
    pub fn spawn_thread(self) -> std::io::Result<()> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("vrrpd-nft".into())
            .spawn(move || rt.block_on(self.run()))?;
        Ok(())
    }

    /// Runs batches as they are due until the teardown at stop is done.
    pub async fn run(self) {
        loop {
            if self.shared.abandoned.load(Ordering::Acquire) {
                return;
            }
            let (job, next, stopped) = {
                let mut q = self.shared.lock();
                let job = q.pop(self.shared.clock.now());
                (job, q.poll_at(), q.stopped())
            };
            if stopped {
                self.shared.stopped.notify_waiters();
                return;
            }
            let Some(job) = job else {
                let woken = self.shared.wake.notified();
                match next {
                    Some(at) => {
                        tokio::select! {
                            () = woken => {}
                            () = tokio::time::sleep_until(self.shared.clock.deadline(at)) => {}
                        }
                    }
                    None => woken.await,
                }
                continue;
            };
            let batch = nft::batch(&self.settings, &job);
            let result = nft::apply(&batch, NFT_TIMEOUT)
                .await
                .map_err(|e| e.to_string());
            if result.is_ok() {
                debug!("nftables: {}", nft::describe(&job));
            }
            let report = self
                .shared
                .lock()
                .completed(&job, result, self.shared.clock.now());
            if let Some(report) = report {
                log(&self.settings, &report);
            }
        }
    }
}

fn log(settings: &Nftables, report: &Report) {
    match report {
        Report::Refused {
            error,
            attempts,
            repeated,
            ..
        } => {
            let retry = backoff(*attempts).as_secs_f64();
            if *repeated {
                debug!(
                    "nftables table {}: {error} (attempt {attempts}), retrying in {retry:.1} s",
                    settings.table
                );
            } else {
                warn!(
                    "nftables table {}: {error}; retrying in {retry:.1} s with backoff, the drop set is not as wanted meanwhile",
                    settings.table
                );
            }
        }
        Report::Recovered { attempts } => info!(
            "nftables table {}: in place after {attempts} refused attempt(s)",
            settings.table
        ),
    }
}
