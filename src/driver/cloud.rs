//! The cloud address backend's decisions (issue 17): when to claim the
//! floating address through the provider's API, when to read it back, when
//! to retry. Pure: no tokio, no SDK, no clock reads; the shell
//! (`crate::daemon::cloud`) runs the jobs and feeds their outcomes back.
//!
//! # Rules
//!
//! - A claim is wanted only while the instance is Master; a Backup (or
//!   FAULT) never claims. Entering Master starts a new *term* (`epoch`)
//!   and asks for a claim at once (no backoff carried over).
//! - Every job carries the term it was made in. A claim that completes
//!   after the term ended (we left Master, or left and came back) is
//!   recorded as stale and never repeated nor verified: by then another
//!   node may legitimately be Master, and its own reconciliation puts the
//!   address back where it belongs. We never fight a legitimate Master.
//! - A successful claim is confirmed by reading the mapping back; a read
//!   that shows the cloud pointing elsewhere while we are Master re-claims
//!   (the keepalived #100/#950 race closed by design).
//! - While Master, the mapping is re-read every `reconcile_interval` and
//!   after any advert from a peer (a split brain healing, a peer that
//!   restarted); a Backup reads once after each transition, for status.
//! - A failed job (unreachable, throttled, denied) is retried with backoff
//!   (100 ms doubling to 5 s; throttling: 1 s doubling to 20 s), so an
//!   outage of any length converges within one backoff step of its end.
//!   A re-claim after a read showed the address elsewhere goes through the
//!   same backoff: two nodes that both believe they are Master (a split
//!   brain) re-claim at most once per backoff step each.
//! - Bounded: at most one job in flight per instance; wants merge (the
//!   latest term's claim replaces any older want), so nothing queues.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::proto::Instant;

/// Backoff after a failure that is not throttling.
pub const BACKOFF_MIN: Duration = Duration::from_millis(100);
pub const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// Backoff after the API said "slow down".
pub const THROTTLED_MIN: Duration = Duration::from_secs(1);
pub const THROTTLED_MAX: Duration = Duration::from_secs(20);

/// The wait before attempt `attempts + 1`.
pub fn backoff(kind: ErrorKind, attempts: u32) -> Duration {
    let (min, max) = match kind {
        ErrorKind::Throttled => (THROTTLED_MIN, THROTTLED_MAX),
        _ => (BACKOFF_MIN, BACKOFF_MAX),
    };
    let doublings = attempts.saturating_sub(1).min(20);
    min.saturating_mul(1 << doublings).min(max)
}

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Move the address (and the Elastic IP) to this node.
    Claim,
    /// Read where the address (and the Elastic IP) are.
    Read,
}

/// One API operation for the shell to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub instance: String,
    pub op: Op,
    /// The term it was made in.
    pub epoch: u64,
    /// Whether it is a verification of the term's claim (log wording).
    pub verify: bool,
}

/// What the cloud says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Observed {
    /// This node's interface (ENI id).
    pub ours: String,
    /// Whether this node's interface lists the private address.
    pub address_here: bool,
    /// The interface the Elastic IP is associated with (none: not
    /// associated; `None` too when no Elastic IP is configured).
    pub eip_on: Option<String>,
    /// Whether an Elastic IP is configured (so `eip_on` counts).
    pub eip_wanted: bool,
}

impl Observed {
    /// Whether everything the instance moves points at this node.
    pub fn here(&self) -> bool {
        self.address_here && (!self.eip_wanted || self.eip_on.as_deref() == Some(&self.ours))
    }

    /// Who holds it, for status: this node's ENI or the other one.
    pub fn holder(&self) -> String {
        if self.here() {
            format!("{} (this node)", self.ours)
        } else if self.eip_wanted {
            match &self.eip_on {
                Some(eni) if eni == &self.ours => format!("{} (Elastic IP only)", self.ours),
                Some(eni) => eni.clone(),
                None => "nobody".into(),
            }
        } else {
            "elsewhere".into()
        }
    }
}

/// How a job failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// No answer (connection refused, timeout, DNS).
    Unreachable,
    /// `RequestLimitExceeded` / `Throttling`.
    Throttled,
    /// Credentials missing or refused, permission denied.
    Denied,
    /// Anything else the API or the discovery said.
    Other,
}

/// A failed job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiError {
    pub kind: ErrorKind,
    pub message: String,
}

/// What the shell reports for a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Claimed,
    Read(Observed),
    Failed(ApiError),
}

/// The last claim, for status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LastClaim {
    pub epoch: u64,
    /// When it completed.
    #[serde(skip)]
    pub at: Instant,
    /// How long the API calls took.
    pub api_ms: u64,
    /// From entering Master to the claim done.
    pub since_master_ms: u64,
    /// Done after its term ended (not verified, not repeated).
    pub stale: bool,
    /// Failed (the error is in `failure`).
    pub ok: bool,
}

/// A failure being retried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub error: ApiError,
    pub attempts: u32,
    #[serde(skip)]
    pub retry_at: Instant,
    /// Since when jobs fail.
    #[serde(skip)]
    pub since: Instant,
}

/// Counters for status and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CloudStats {
    /// Claims the API took (stale ones included).
    pub claims: u64,
    /// Claims that completed after their term ended.
    pub stale_claims: u64,
    /// Jobs that failed.
    pub failures: u64,
    /// Reads made while Master (verifications and reconciliations).
    pub reconciliations: u64,
    /// Reads while Master that found the cloud pointing elsewhere.
    pub drifts: u64,
}

/// What the shell should log or count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// A claim of the current term was taken by the API.
    Claimed {
        instance: String,
        api: Duration,
        since_master: Duration,
    },
    /// A claim completed after its term ended: recorded, not repeated.
    Stale { instance: String, epoch: u64 },
    /// A job failed; `repeated` when the error is the same as the last.
    Failed {
        instance: String,
        op: Op,
        error: ApiError,
        attempts: u32,
        retry_in: Duration,
        repeated: bool,
    },
    /// The cloud pointed elsewhere while we are Master: re-claiming.
    Drift {
        instance: String,
        observed: Observed,
    },
    /// A read while Master confirmed the mapping after failures or a claim.
    Confirmed { instance: String, verify: bool },
    /// Jobs succeed again after `attempts` failures.
    Recovered { instance: String, attempts: u32 },
}

/// One instance's state.
#[derive(Debug, Clone)]
struct Slot {
    reconcile: Duration,
    master: bool,
    epoch: u64,
    master_since: Instant,
    adverts_seen: Option<u64>,
    /// A claim is wanted in the current term.
    claim_due: bool,
    /// A read is wanted (verification, peer event, status after a
    /// transition).
    read_due: bool,
    /// The next read is a verification of the term's claim.
    verify_due: bool,
    next_read: Option<Instant>,
    in_flight: Option<(Op, u64, Instant, bool)>,
    failure: Option<Failure>,
    observed: Option<(Observed, Instant)>,
    last_claim: Option<LastClaim>,
    stats: CloudStats,
}

impl Slot {
    fn new(reconcile: Duration) -> Slot {
        Slot {
            reconcile,
            master: false,
            epoch: 0,
            master_since: Instant::ZERO,
            adverts_seen: None,
            claim_due: false,
            // One read at start: status shows the holder.
            read_due: true,
            verify_due: false,
            next_read: None,
            in_flight: None,
            failure: None,
            observed: None,
            last_claim: None,
            stats: CloudStats::default(),
        }
    }

    fn due(&self, now: Instant) -> Option<(Op, bool)> {
        if self.in_flight.is_some() {
            return None;
        }
        if self.failure.as_ref().is_some_and(|f| now < f.retry_at) {
            return None;
        }
        if self.master && self.claim_due {
            return Some((Op::Claim, false));
        }
        if self.read_due || (self.master && self.next_read.is_some_and(|t| now >= t)) {
            return Some((Op::Read, self.verify_due));
        }
        None
    }

    fn poll_at(&self) -> Option<Instant> {
        if self.in_flight.is_some() {
            return None;
        }
        let work = (self.master && self.claim_due) || self.read_due;
        if work {
            return Some(self.failure.as_ref().map_or(Instant::ZERO, |f| f.retry_at));
        }
        let read = self.next_read.filter(|_| self.master)?;
        Some(match &self.failure {
            Some(f) => read.max(f.retry_at),
            None => read,
        })
    }

    fn fail(&mut self, now: Instant, error: ApiError) -> (u32, Duration, bool) {
        let (attempts, repeated, since) = match &self.failure {
            Some(f) => (f.attempts + 1, f.error == error, f.since),
            None => (1, false, now),
        };
        let wait = backoff(error.kind, attempts);
        self.failure = Some(Failure {
            error,
            attempts,
            retry_at: now + wait,
            since,
        });
        self.stats.failures += 1;
        (attempts, wait, repeated)
    }
}

/// Status of one instance's backend.
#[derive(Debug, Clone, Serialize)]
pub struct SlotView {
    pub master: bool,
    pub epoch: u64,
    /// What the cloud said last, and how long ago (ms).
    pub observed: Option<Observed>,
    pub holder: Option<String>,
    pub observed_ms_ago: Option<u64>,
    pub in_sync: bool,
    pub in_flight: Option<Op>,
    pub last_claim: Option<LastClaim>,
    pub failure: Option<Failure>,
    /// How long jobs have been failing (ms).
    pub failing_for_ms: Option<u64>,
    pub retry_in_ms: Option<u64>,
    pub stats: CloudStats,
}

/// Every cloud instance's state: wants, the job in flight, the last
/// answers.
#[derive(Debug, Clone, Default)]
pub struct Cloud {
    slots: BTreeMap<String, Slot>,
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Cloud {
    pub fn new() -> Cloud {
        Cloud::default()
    }

    /// The instances with a cloud backend, with their reconcile interval
    /// (at start and after a reload). Others are forgotten; a kept one
    /// keeps its state.
    pub fn configure(&mut self, instances: impl IntoIterator<Item = (String, Duration)>) {
        let mut slots = BTreeMap::new();
        for (name, reconcile) in instances {
            let mut slot = self
                .slots
                .remove(&name)
                .unwrap_or_else(|| Slot::new(reconcile));
            slot.reconcile = reconcile;
            slots.insert(name, slot);
        }
        self.slots = slots;
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The instance's VRRP state now: whether it is Master and how many
    /// adverts it received so far. Returns whether new work may be due.
    pub fn state(&mut self, now: Instant, instance: &str, master: bool, adverts: u64) -> bool {
        let Some(slot) = self.slots.get_mut(instance) else {
            return false;
        };
        let mut woke = false;
        if master != slot.master {
            slot.master = master;
            slot.epoch += 1;
            slot.next_read = None;
            if master {
                slot.master_since = now;
                slot.claim_due = true;
                slot.read_due = false;
                slot.verify_due = false;
                // A new term claims at once.
                if let Some(f) = &mut slot.failure {
                    f.retry_at = now;
                }
            } else {
                slot.claim_due = false;
                slot.verify_due = false;
                slot.read_due = true;
            }
            woke = true;
        } else if master && slot.adverts_seen.is_some_and(|seen| seen != adverts) {
            // A peer spoke while we are Master: it may have claimed.
            if !slot.claim_due && !slot.read_due {
                slot.read_due = true;
                woke = true;
            }
        }
        slot.adverts_seen = Some(adverts);
        woke
    }

    /// The jobs to run now; at most one in flight per instance.
    pub fn pop(&mut self, now: Instant) -> Vec<Job> {
        let mut jobs = Vec::new();
        for (name, slot) in &mut self.slots {
            let Some((op, verify)) = slot.due(now) else {
                continue;
            };
            if op == Op::Read {
                slot.read_due = false;
                slot.verify_due = false;
            }
            slot.in_flight = Some((op, slot.epoch, now, verify));
            jobs.push(Job {
                instance: name.clone(),
                op,
                epoch: slot.epoch,
                verify,
            });
        }
        jobs
    }

    /// The outcome of `job`, which completed at `now`.
    pub fn completed(&mut self, now: Instant, job: &Job, outcome: Outcome) -> Vec<Report> {
        let mut out = Vec::new();
        let Some(slot) = self.slots.get_mut(&job.instance) else {
            return out;
        };
        let started = match slot.in_flight.take() {
            Some((_, _, at, _)) => at,
            None => now,
        };
        let current = slot.master && job.epoch == slot.epoch;
        let name = || job.instance.clone();
        match (job.op, outcome) {
            (Op::Claim, Outcome::Claimed) => {
                slot.stats.claims += 1;
                let api = now.saturating_since(started);
                let since_master = now.saturating_since(slot.master_since);
                slot.last_claim = Some(LastClaim {
                    epoch: job.epoch,
                    at: now,
                    api_ms: ms(api),
                    since_master_ms: ms(since_master),
                    stale: !current,
                    ok: true,
                });
                if current {
                    slot.claim_due = false;
                    slot.read_due = true;
                    slot.verify_due = true;
                    out.push(Report::Claimed {
                        instance: name(),
                        api,
                        since_master,
                    });
                } else {
                    slot.stats.stale_claims += 1;
                    out.push(Report::Stale {
                        instance: name(),
                        epoch: job.epoch,
                    });
                }
            }
            (Op::Read, Outcome::Read(observed)) => {
                let here = observed.here();
                slot.observed = Some((observed.clone(), now));
                if current {
                    slot.stats.reconciliations += 1;
                    if here {
                        if let Some(f) = slot.failure.take() {
                            out.push(Report::Recovered {
                                instance: name(),
                                attempts: f.attempts,
                            });
                        }
                        if job.verify {
                            out.push(Report::Confirmed {
                                instance: name(),
                                verify: true,
                            });
                        }
                        slot.next_read = Some(now + slot.reconcile);
                    } else {
                        slot.stats.drifts += 1;
                        slot.claim_due = true;
                        // Through the backoff: see the module's rules.
                        let error = ApiError {
                            kind: ErrorKind::Other,
                            message: format!("the cloud points at {}", observed.holder()),
                        };
                        slot.fail(now, error);
                        slot.stats.failures -= 1;
                        out.push(Report::Drift {
                            instance: name(),
                            observed,
                        });
                    }
                } else if !slot.master {
                    // A Backup's read is only for status; a failure it
                    // had is over.
                    slot.failure = None;
                }
            }
            (op, Outcome::Failed(error)) => {
                if op == Op::Claim {
                    slot.last_claim = Some(LastClaim {
                        epoch: job.epoch,
                        at: now,
                        api_ms: ms(now.saturating_since(started)),
                        since_master_ms: ms(now.saturating_since(slot.master_since)),
                        stale: !current,
                        ok: false,
                    });
                }
                if current || (!slot.master && op == Op::Read) {
                    if current && op == Op::Read {
                        slot.read_due = true;
                        slot.verify_due = job.verify;
                    }
                    let (attempts, retry_in, repeated) = slot.fail(now, error.clone());
                    out.push(Report::Failed {
                        instance: name(),
                        op,
                        error,
                        attempts,
                        retry_in,
                        repeated,
                    });
                } else {
                    // A failed job of an ended term: nothing to retry.
                    slot.stats.failures += 1;
                }
            }
            (Op::Claim, Outcome::Read(_)) | (Op::Read, Outcome::Claimed) => {}
        }
        out
    }

    /// When to call [`Cloud::pop`] next, if nothing else happens.
    pub fn poll_at(&self) -> Option<Instant> {
        self.slots.values().filter_map(Slot::poll_at).min()
    }

    /// Whether any instance has a job in flight.
    pub fn busy(&self) -> bool {
        self.slots.values().any(|s| s.in_flight.is_some())
    }

    /// One instance's status.
    pub fn view(&self, now: Instant, instance: &str) -> Option<SlotView> {
        let s = self.slots.get(instance)?;
        Some(SlotView {
            master: s.master,
            epoch: s.epoch,
            holder: s.observed.as_ref().map(|(o, _)| o.holder()),
            observed_ms_ago: s
                .observed
                .as_ref()
                .map(|(_, at)| ms(now.saturating_since(*at))),
            in_sync: !s.master
                || (!s.claim_due && s.observed.as_ref().is_some_and(|(o, _)| o.here())),
            observed: s.observed.as_ref().map(|(o, _)| o.clone()),
            in_flight: s.in_flight.map(|(op, ..)| op),
            last_claim: s.last_claim.clone(),
            failing_for_ms: s
                .failure
                .as_ref()
                .map(|f| ms(now.saturating_since(f.since))),
            retry_in_ms: s
                .failure
                .as_ref()
                .map(|f| ms(f.retry_at.saturating_since(now))),
            failure: s.failure.clone(),
            stats: s.stats,
        })
    }

    /// Every instance's counters, for metrics.
    pub fn stats(&self) -> impl Iterator<Item = (&str, CloudStats, bool)> {
        self.slots
            .iter()
            .map(|(n, s)| (n.as_str(), s.stats, s.failure.is_some()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const I: &str = "VI_1";

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    fn cloud() -> Cloud {
        let mut c = Cloud::new();
        c.configure([(I.to_string(), Duration::from_secs(10))]);
        c
    }

    fn obs(here: bool) -> Observed {
        Observed {
            ours: "eni-a".into(),
            address_here: here,
            eip_on: Some(if here { "eni-a" } else { "eni-b" }.into()),
            eip_wanted: true,
        }
    }

    fn down() -> Outcome {
        Outcome::Failed(ApiError {
            kind: ErrorKind::Unreachable,
            message: "connection refused".into(),
        })
    }

    fn one(c: &mut Cloud, now: Instant) -> Option<Job> {
        let mut jobs = c.pop(now);
        assert!(jobs.len() <= 1, "{jobs:?}");
        jobs.pop()
    }

    /// Runs the start-up read of a Backup so later pops see only new work.
    fn started(c: &mut Cloud) {
        c.state(at(0), I, false, 0);
        let j = one(c, at(0)).expect("start-up read");
        assert_eq!(j.op, Op::Read);
        c.completed(at(1), &j, Outcome::Read(obs(false)));
    }

    /// Becomes Master at `t` and completes claim + verification.
    fn claim_confirmed(c: &mut Cloud, t: u64) {
        c.state(at(t), I, true, 0);
        let j = one(c, at(t)).expect("claim");
        assert_eq!(j.op, Op::Claim);
        c.completed(at(t + 5), &j, Outcome::Claimed);
        let v = one(c, at(t + 5)).expect("verify");
        assert!(v.verify);
        c.completed(at(t + 8), &v, Outcome::Read(obs(true)));
    }

    #[test]
    fn backup_never_claims() {
        let mut c = cloud();
        started(&mut c);
        for t in (0..120_000).step_by(500) {
            c.state(at(t), I, false, t);
            for j in c.pop(at(t)) {
                assert_ne!(j.op, Op::Claim);
                c.completed(at(t), &j, Outcome::Read(obs(false)));
            }
        }
        assert_eq!(c.view(at(0), I).unwrap().stats.claims, 0);
    }

    #[test]
    fn entering_master_claims_at_once() {
        let mut c = cloud();
        started(&mut c);
        assert!(c.state(at(100), I, true, 0));
        assert_eq!(c.poll_at(), Some(Instant::ZERO));
        let j = one(&mut c, at(100)).unwrap();
        assert_eq!((j.op, j.epoch), (Op::Claim, 1));
    }

    #[test]
    fn claim_is_confirmed_by_reading_back() {
        let mut c = cloud();
        started(&mut c);
        c.state(at(100), I, true, 0);
        let j = one(&mut c, at(100)).unwrap();
        let r = c.completed(at(112), &j, Outcome::Claimed);
        assert!(matches!(&r[..], [Report::Claimed { api, since_master, .. }]
            if *api == Duration::from_millis(12) && *since_master == Duration::from_millis(12)));
        let v = one(&mut c, at(112)).unwrap();
        assert_eq!((v.op, v.verify), (Op::Read, true));
        let r = c.completed(at(115), &v, Outcome::Read(obs(true)));
        assert!(matches!(&r[..], [Report::Confirmed { verify: true, .. }]));
        assert!(c.view(at(115), I).unwrap().in_sync);
    }

    #[test]
    fn one_job_in_flight_per_instance() {
        let mut c = cloud();
        started(&mut c);
        c.state(at(0), I, true, 0);
        let j = one(&mut c, at(0)).unwrap();
        // Flapping while the claim is out: still one job.
        for t in 1..50 {
            c.state(at(t), I, t % 2 == 0, 0);
            assert!(c.pop(at(t)).is_empty());
        }
        assert_eq!(c.poll_at(), None);
        c.completed(at(60), &j, Outcome::Claimed);
        assert_eq!(c.pop(at(60)).len(), 1);
    }

    #[test]
    fn latest_want_wins_after_flapping() {
        let mut c = cloud();
        started(&mut c);
        c.state(at(0), I, true, 0);
        let j = one(&mut c, at(0)).unwrap();
        c.state(at(10), I, false, 0);
        c.state(at(20), I, true, 0);
        // The first term's claim completes: stale, and the third term
        // claims again in its own name.
        let r = c.completed(at(30), &j, Outcome::Claimed);
        assert!(matches!(&r[..], [Report::Stale { epoch: 1, .. }]));
        let k = one(&mut c, at(30)).unwrap();
        assert_eq!((k.op, k.epoch), (Op::Claim, 3));
    }

    #[test]
    fn claim_completing_after_demotion_is_never_repeated() {
        let mut c = cloud();
        started(&mut c);
        c.state(at(0), I, true, 0);
        let j = one(&mut c, at(0)).unwrap();
        // The peer wins meanwhile.
        c.state(at(10), I, false, 3);
        let r = c.completed(at(40), &j, Outcome::Claimed);
        assert!(matches!(&r[..], [Report::Stale { .. }]));
        let v = c.view(at(40), I).unwrap();
        assert!(v.last_claim.unwrap().stale);
        assert_eq!(v.stats.stale_claims, 1);
        // The one read after the transition, then never a claim.
        let mut claims = 0;
        for t in (40..200_000).step_by(250) {
            for j in c.pop(at(t)) {
                claims += usize::from(j.op == Op::Claim);
                c.completed(at(t), &j, Outcome::Read(obs(false)));
            }
        }
        assert_eq!(claims, 0);
    }

    #[test]
    fn failed_claim_after_demotion_is_not_retried() {
        let mut c = cloud();
        started(&mut c);
        c.state(at(0), I, true, 0);
        let j = one(&mut c, at(0)).unwrap();
        c.state(at(10), I, false, 0);
        assert!(c.completed(at(20), &j, down()).is_empty());
        let read = one(&mut c, at(20)).unwrap();
        assert_eq!(read.op, Op::Read);
        c.completed(at(21), &read, Outcome::Read(obs(false)));
        assert!(c.pop(at(100_000)).is_empty());
    }

    #[test]
    fn failed_claim_is_retried_with_backoff() {
        let mut c = cloud();
        started(&mut c);
        c.state(at(0), I, true, 0);
        let j = one(&mut c, at(0)).unwrap();
        let r = c.completed(at(5), &j, down());
        assert!(
            matches!(&r[..], [Report::Failed { attempts: 1, repeated: false, retry_in, .. }]
            if *retry_in == Duration::from_millis(100))
        );
        assert!(c.pop(at(104)).is_empty());
        assert_eq!(c.poll_at(), Some(at(105)));
        let j = one(&mut c, at(105)).unwrap();
        let r = c.completed(at(110), &j, down());
        assert!(
            matches!(&r[..], [Report::Failed { attempts: 2, repeated: true, retry_in, .. }]
            if *retry_in == Duration::from_millis(200))
        );
    }

    #[test]
    fn backoff_doubles_to_its_cap() {
        assert_eq!(
            backoff(ErrorKind::Unreachable, 1),
            Duration::from_millis(100)
        );
        assert_eq!(
            backoff(ErrorKind::Unreachable, 4),
            Duration::from_millis(800)
        );
        assert_eq!(backoff(ErrorKind::Unreachable, 40), BACKOFF_MAX);
        assert_eq!(backoff(ErrorKind::Throttled, 1), THROTTLED_MIN);
        assert_eq!(backoff(ErrorKind::Throttled, 40), THROTTLED_MAX);
    }

    #[test]
    fn throttling_backs_off_longer() {
        let mut c = cloud();
        started(&mut c);
        c.state(at(0), I, true, 0);
        let j = one(&mut c, at(0)).unwrap();
        let throttled = Outcome::Failed(ApiError {
            kind: ErrorKind::Throttled,
            message: "RequestLimitExceeded".into(),
        });
        c.completed(at(10), &j, throttled);
        assert!(c.pop(at(1009)).is_empty());
        assert_eq!(one(&mut c, at(1010)).unwrap().op, Op::Claim);
    }

    /// The API answers nothing for `outage`, starting as we become Master;
    /// returns when the claim was confirmed.
    fn converge_after(outage: Duration) -> Instant {
        let mut c = cloud();
        started(&mut c);
        c.state(at(0), I, true, 0);
        let end = at(0) + outage;
        let mut t = at(0);
        // Bounded: 10 minutes of simulated time in 1 ms steps at most.
        for _ in 0..600_000 {
            for j in c.pop(t) {
                // Each call takes 3 ms; an unreachable one times out in 1 s.
                let (done, outcome) = if t < end {
                    (t + Duration::from_secs(1), down())
                } else if j.op == Op::Claim {
                    (t + Duration::from_millis(3), Outcome::Claimed)
                } else {
                    (t + Duration::from_millis(3), Outcome::Read(obs(true)))
                };
                c.completed(done, &j, outcome);
                t = done;
            }
            let v = c.view(t, I).unwrap();
            if v.in_sync && v.last_claim.as_ref().is_some_and(|l| l.ok) {
                return t;
            }
            if t >= end {
                // While it lasts the outage is visible.
            } else {
                assert!(v.failure.is_some() || v.in_flight.is_some() || t == at(0));
            }
            t += Duration::from_millis(1);
        }
        panic!("never converged");
    }

    #[test]
    fn api_down_5_20_60_s_converges_within_one_backoff_step() {
        for secs in [5, 20, 60] {
            let outage = Duration::from_secs(secs);
            let done = converge_after(outage);
            let late = done.saturating_since(at(0) + outage);
            assert!(
                late <= BACKOFF_MAX + Duration::from_secs(1),
                "{secs} s outage: converged {late:?} after it ended"
            );
        }
    }

    #[test]
    fn outage_is_visible_while_it_lasts() {
        let mut c = cloud();
        started(&mut c);
        c.state(at(0), I, true, 0);
        let j = one(&mut c, at(0)).unwrap();
        c.completed(at(1000), &j, down());
        let v = c.view(at(3000), I).unwrap();
        assert!(!v.in_sync);
        assert_eq!(v.failing_for_ms, Some(2000));
        assert_eq!(v.failure.unwrap().error.kind, ErrorKind::Unreachable);
        assert_eq!(v.stats.failures, 1);
    }

    #[test]
    fn master_reconciles_periodically() {
        let mut c = cloud();
        started(&mut c);
        claim_confirmed(&mut c, 0);
        assert_eq!(c.poll_at(), Some(at(10_008)));
        assert!(c.pop(at(10_007)).is_empty());
        let r = one(&mut c, at(10_008)).unwrap();
        assert_eq!((r.op, r.verify), (Op::Read, false));
    }

    #[test]
    fn reconcile_reclaims_when_the_cloud_points_elsewhere() {
        let mut c = cloud();
        started(&mut c);
        claim_confirmed(&mut c, 0);
        let r = one(&mut c, at(10_008)).unwrap();
        let rep = c.completed(at(10_010), &r, Outcome::Read(obs(false)));
        assert!(matches!(&rep[..], [Report::Drift { .. }]));
        // Through the backoff, then a claim of the same term.
        assert!(c.pop(at(10_109)).is_empty());
        let k = one(&mut c, at(10_110)).unwrap();
        assert_eq!((k.op, k.epoch), (Op::Claim, 1));
        assert_eq!(c.view(at(10_110), I).unwrap().stats.drifts, 1);
    }

    #[test]
    fn peer_advert_while_master_triggers_a_read() {
        let mut c = cloud();
        started(&mut c);
        claim_confirmed(&mut c, 0);
        assert!(c.pop(at(2000)).is_empty());
        assert!(c.state(at(2000), I, true, 1));
        let r = one(&mut c, at(2000)).unwrap();
        assert_eq!(r.op, Op::Read);
        // More adverts while that read is out merge into one more read.
        c.state(at(2001), I, true, 2);
        c.state(at(2002), I, true, 3);
        c.completed(at(2005), &r, Outcome::Read(obs(true)));
        let r2 = one(&mut c, at(2005)).unwrap();
        assert_eq!(r2.op, Op::Read);
        c.completed(at(2006), &r2, Outcome::Read(obs(true)));
        assert!(c.pop(at(2007)).is_empty());
    }

    #[test]
    fn split_brain_masters_reclaim_at_most_once_per_backoff_step() {
        let mut c = cloud();
        started(&mut c);
        claim_confirmed(&mut c, 0);
        // The other side claims too: every read finds it elsewhere.
        let mut claims = 0;
        let mut t = at(10_008);
        for _ in 0..100_000 {
            for j in c.pop(t) {
                claims += usize::from(j.op == Op::Claim);
                let o = match j.op {
                    Op::Claim => Outcome::Claimed,
                    Op::Read => Outcome::Read(obs(false)),
                };
                c.completed(t, &j, o);
            }
            t += Duration::from_millis(1);
        }
        // 100 s: the backoff reaches 5 s quickly, so at most ~25 claims.
        assert!(claims <= 30, "{claims} claims in 100 s");
    }

    #[test]
    fn backup_reads_once_after_each_transition_for_status() {
        let mut c = cloud();
        started(&mut c);
        claim_confirmed(&mut c, 0);
        c.state(at(500), I, false, 5);
        let r = one(&mut c, at(500)).unwrap();
        assert_eq!(r.op, Op::Read);
        c.completed(at(505), &r, Outcome::Read(obs(false)));
        let v = c.view(at(505), I).unwrap();
        assert_eq!(v.holder.as_deref(), Some("eni-b"));
        assert!(c.pop(at(600_000)).is_empty());
        assert_eq!(c.poll_at(), None);
    }

    #[test]
    fn backup_read_failure_is_reported_and_retried() {
        let mut c = cloud();
        c.state(at(0), I, false, 0);
        let j = one(&mut c, at(0)).unwrap();
        let r = c.completed(at(5), &j, down());
        assert!(matches!(&r[..], [Report::Failed { op: Op::Read, .. }]));
        // Not retried: a Backup's read is for status only.
        assert!(c.pop(at(10_000)).is_empty());
        assert!(c.view(at(10), I).unwrap().failure.is_some());
    }

    #[test]
    fn reconfigure_keeps_state_and_drops_removed_instances() {
        let mut c = cloud();
        started(&mut c);
        claim_confirmed(&mut c, 0);
        c.configure([
            (I.to_string(), Duration::from_secs(30)),
            ("VI_2".to_string(), Duration::from_secs(10)),
        ]);
        assert!(c.view(at(0), I).unwrap().master);
        c.configure([("VI_2".to_string(), Duration::from_secs(10))]);
        assert!(c.view(at(0), I).is_none());
    }

    #[test]
    fn observed_holder_wording() {
        assert_eq!(obs(true).holder(), "eni-a (this node)");
        assert_eq!(obs(false).holder(), "eni-b");
        let no_eip = Observed {
            ours: "eni-a".into(),
            address_here: false,
            eip_on: None,
            eip_wanted: false,
        };
        assert_eq!(no_eip.holder(), "elsewhere");
        assert!(!no_eip.here());
    }
}
