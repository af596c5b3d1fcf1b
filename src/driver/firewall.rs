//! Accept mode's drop set: which virtual addresses the firewall must drop
//! now, and the queue of nftables batches that brings the kernel there.
//! Pure: no tokio, no process, no clock reads.
//!
//! # What is dropped (RFC 9568 §6.4.3, keepalived `no_accept`)
//!
//! A Master that is not the address owner "MUST NOT accept packets
//! addressed to the IPvX address(es) associated with the virtual router"
//! unless Accept_Mode is on. keepalived does it with nftables: while an
//! instance with `no_accept` (implied by `vrrp_strict`) and a priority
//! below 255 is Master, its addresses (`virtual_ipaddress` and
//! `virtual_ipaddress_excluded`) are elements of the set `vips` that the
//! rules `ip daddr @vips drop` / `ip saddr @vips drop` match
//! (`vrrp_nftables.c`). IPv6 link-local addresses go into a set keyed by
//! address and interface: `vips_link_local` (by index) or, for an instance
//! with `dont_track_primary` whose address is on its own interface or
//! `no_track`, `vips_link_local_name` (by name), unless `nftables_ifindex`
//! asks for indexes always. [`crate::driver::Driver::blocked`] computes the
//! set from the instances; this module only moves the kernel to it.
//!
//! # Bounds: one want, one batch in flight
//!
//! [`Firewall::want`] replaces the whole wanted set (latest wins). At most
//! one batch runs; the next one is the difference between what is wanted
//! and what the kernel confirmed, computed when the previous one is done.
//! So nothing queues whatever the number of transitions.
//!
//! # Failures: retried, from scratch
//!
//! A batch is one nftables transaction: it applies whole or not at all. A
//! refused one (the `nft` binary missing, the table deleted by hand, a
//! timeout) is reported, once per change of error, and retried with the
//! address worker's backoff (100 ms doubling to 30 s). Since the kernel's
//! state is then unknown (someone may have deleted the table), the retry
//! rebuilds from scratch: both families' tables deleted if present and
//! everything created again, in one transaction. The first batch after
//! start does the same, deleting what an earlier run left, as keepalived's
//! `check_and_delete_tables` does; a successor of `vrrpd upgrade` adopts
//! what its predecessor built instead ([`Firewall::adopt`]) and touches
//! nothing until the set must change.
//!
//! # Tables are created when first needed and deleted at stop
//!
//! As keepalived: the `ip` table appears with the first IPv4 address to
//! drop, the `ip6` one with the first IPv6 address; once there they stay
//! (with an empty set while no instance is Master) until the daemon stops
//! ([`Firewall::stop`]), when both are deleted.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use super::work::backoff;
use crate::proto::{Family, Instant};

/// One element of the drop sets.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Element {
    /// `ip TABLE vips`.
    V4(Ipv4Addr),
    /// `ip6 TABLE vips`: an IPv6 address that is not link-local.
    V6(Ipv6Addr),
    /// `ip6 TABLE vips_link_local`: `ADDR . IFINDEX`.
    LinkLocal { addr: Ipv6Addr, ifindex: u32 },
    /// `ip6 TABLE vips_link_local_name`: `ADDR . IFNAME`.
    LinkLocalName { addr: Ipv6Addr, ifname: String },
}

impl Element {
    /// The element for `addr` on interface `ifindex` / `ifname`; a
    /// link-local IPv6 address is keyed by name when `by_name`.
    pub fn of(addr: IpAddr, ifindex: u32, ifname: &str, by_name: bool) -> Element {
        match addr {
            IpAddr::V4(a) => Element::V4(a),
            IpAddr::V6(a) if is_link_local(a) => {
                if by_name {
                    Element::LinkLocalName {
                        addr: a,
                        ifname: ifname.to_string(),
                    }
                } else {
                    Element::LinkLocal { addr: a, ifindex }
                }
            }
            IpAddr::V6(a) => Element::V6(a),
        }
    }

    pub fn family(&self) -> Family {
        match self {
            Element::V4(_) => Family::Ipv4,
            _ => Family::Ipv6,
        }
    }

    /// The address dropped.
    pub fn addr(&self) -> IpAddr {
        match self {
            Element::V4(a) => IpAddr::V4(*a),
            Element::V6(a)
            | Element::LinkLocal { addr: a, .. }
            | Element::LinkLocalName { addr: a, .. } => IpAddr::V6(*a),
        }
    }
}

/// fe80::/10, the range keepalived's `in_link_local` goto matches.
pub fn is_link_local(a: Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

/// The structures that exist in the kernel (keepalived's
/// `ipv4_vips_setup`, `ipv6_vips_setup`, `setup_ll_ifindex`,
/// `setup_ll_ifname`): a table with its chains, sets and rules per family,
/// and the two optional link-local sets with their rules.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Built {
    /// `ip TABLE`: chains `in`, `out`, set `vips`, two rules.
    pub v4: bool,
    /// `ip6 TABLE`: chains `in`, `out`, `in_link_local`, `out_link_local`,
    /// sets `vips`, `neighbor-discovery`, six rules.
    pub v6: bool,
    /// Set `vips_link_local` and its two rules (needs `v6`).
    pub link_local: bool,
    /// Set `vips_link_local_name` and its two rules (needs `v6`).
    pub link_local_name: bool,
}

impl Built {
    /// What `elements` need.
    pub fn needed<'a>(elements: impl IntoIterator<Item = &'a Element>) -> Built {
        let mut b = Built::default();
        for e in elements {
            match e {
                Element::V4(_) => b.v4 = true,
                Element::V6(_) => b.v6 = true,
                Element::LinkLocal { .. } => {
                    b.v6 = true;
                    b.link_local = true;
                }
                Element::LinkLocalName { .. } => {
                    b.v6 = true;
                    b.link_local_name = true;
                }
            }
        }
        b
    }

    pub fn union(self, o: Built) -> Built {
        Built {
            v4: self.v4 || o.v4,
            v6: self.v6 || o.v6,
            link_local: self.link_local || o.link_local,
            link_local_name: self.link_local_name || o.link_local_name,
        }
    }

    /// What `self` has that `o` has not.
    pub fn minus(self, o: Built) -> Built {
        Built {
            v4: self.v4 && !o.v4,
            v6: self.v6 && !o.v6,
            link_local: self.link_local && !o.link_local,
            link_local_name: self.link_local_name && !o.link_local_name,
        }
    }

    pub fn any(self) -> bool {
        self.v4 || self.v6 || self.link_local || self.link_local_name
    }
}

/// One nftables transaction for the shell to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    /// Bring the kernel to the wanted set. In place (`rebuild` false):
    /// create `create`, add `add`, delete `remove`. From scratch
    /// (`rebuild`): delete both families' tables if present, then create
    /// `create` (everything needed) and add `add` (every wanted element).
    Sync {
        rebuild: bool,
        create: Built,
        add: Vec<Element>,
        remove: Vec<Element>,
    },
    /// Delete the tables of the families in `tables` (at stop).
    Teardown { tables: Built },
}

/// A refused batch, retried at `retry_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub error: String,
    pub attempts: u32,
    pub retry_at: Instant,
}

/// What the shell should log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// A batch was refused. `repeated`: the same error as the previous
    /// attempt (log quietly); else a first or new error (log loudly).
    Refused {
        error: String,
        attempts: u32,
        retry_at: Instant,
        repeated: bool,
    },
    /// A batch succeeded after `attempts` refusals.
    Recovered { attempts: u32 },
}

/// What a successor of `vrrpd upgrade` adopts: what its predecessor built
/// and the elements the kernel confirmed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirewallRecord {
    #[serde(default)]
    pub built: Built,
    #[serde(default)]
    pub elements: Vec<Element>,
}

/// Counters for status and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FirewallStats {
    /// Batches the kernel took.
    pub applied: u64,
    /// Batches refused.
    pub refused: u64,
}

/// The queue: what is wanted, what the kernel confirmed, the batch in
/// flight and the last refusal.
#[derive(Debug, Clone)]
pub struct Firewall {
    want: BTreeSet<Element>,
    have: BTreeSet<Element>,
    built: Built,
    /// The kernel's state is not known: the next batch rebuilds.
    dirty: bool,
    running: bool,
    stopping: bool,
    stopped: bool,
    failure: Option<Failure>,
    stats: FirewallStats,
}

impl Default for Firewall {
    fn default() -> Self {
        Firewall::new()
    }
}

impl Firewall {
    /// A fresh start: nothing built; what an earlier run left is deleted by
    /// the first batch.
    pub fn new() -> Firewall {
        Firewall {
            want: BTreeSet::new(),
            have: BTreeSet::new(),
            built: Built::default(),
            dirty: true,
            running: false,
            stopping: false,
            stopped: false,
            failure: None,
            stats: FirewallStats::default(),
        }
    }

    /// Continues from what the predecessor built (`vrrpd upgrade`): no
    /// batch until the wanted set differs from it.
    pub fn adopt(&mut self, record: &FirewallRecord) {
        self.built = record.built;
        self.have = record.elements.iter().cloned().collect();
        self.want = self.have.clone();
        self.dirty = false;
    }

    /// What to hand a successor.
    pub fn record(&self) -> FirewallRecord {
        FirewallRecord {
            built: self.built,
            elements: self.have.iter().cloned().collect(),
        }
    }

    /// The set to drop from now on; returns whether it changed. Ignored
    /// once stopping.
    pub fn want(&mut self, elements: BTreeSet<Element>) -> bool {
        if self.stopping || elements == self.want {
            return false;
        }
        self.want = elements;
        true
    }

    /// The daemon stops: the next batch deletes the tables (none if none
    /// was built); [`Firewall::stopped`] after it.
    pub fn stop(&mut self) {
        self.stopping = true;
        self.want.clear();
        // The stop is short: its teardown does not wait out a backoff
        // (one attempt at once; a refusal backs off as any other).
        if let Some(f) = &mut self.failure {
            f.retry_at = Instant::ZERO;
        }
    }

    /// Whether the stop's teardown is done (or there was nothing to do).
    pub fn stopped(&self) -> bool {
        self.stopped || (self.stopping && !self.running && !self.built.any())
    }

    /// The batch to run now, if any; at most one is out at a time.
    pub fn pop(&mut self, now: Instant) -> Option<Job> {
        if self.running || self.stopped {
            return None;
        }
        if self.failure.as_ref().is_some_and(|f| now < f.retry_at) {
            return None;
        }
        let job = if self.stopping {
            if !self.built.any() {
                self.stopped = true;
                return None;
            }
            Job::Teardown { tables: self.built }
        } else if self.dirty {
            if self.want.is_empty() && !self.built.any() {
                return None;
            }
            Job::Sync {
                rebuild: true,
                create: self.built.union(Built::needed(&self.want)),
                add: self.want.iter().cloned().collect(),
                remove: Vec::new(),
            }
        } else {
            let add: Vec<Element> = self.want.difference(&self.have).cloned().collect();
            let remove: Vec<Element> = self.have.difference(&self.want).cloned().collect();
            let create = Built::needed(&add).minus(self.built);
            if add.is_empty() && remove.is_empty() {
                return None;
            }
            Job::Sync {
                rebuild: false,
                create,
                add,
                remove,
            }
        };
        self.running = true;
        Some(job)
    }

    /// When [`Firewall::pop`] may have a batch that is not there now: the
    /// retry of a refused one.
    pub fn poll_at(&self) -> Option<Instant> {
        if self.running || self.stopped {
            return None;
        }
        self.failure.as_ref().map(|f| f.retry_at)
    }

    /// How `job` went: `Err` with the refusal's text.
    pub fn completed(
        &mut self,
        job: &Job,
        result: Result<(), String>,
        now: Instant,
    ) -> Option<Report> {
        self.running = false;
        match result {
            Ok(()) => {
                self.stats.applied += 1;
                match job {
                    Job::Sync {
                        rebuild,
                        create,
                        add,
                        remove,
                    } => {
                        if *rebuild {
                            self.have.clear();
                            self.built = *create;
                        } else {
                            self.built = self.built.union(*create);
                        }
                        for e in remove {
                            self.have.remove(e);
                        }
                        self.have.extend(add.iter().cloned());
                    }
                    Job::Teardown { .. } => {
                        self.built = Built::default();
                        self.have.clear();
                        self.stopped = true;
                    }
                }
                self.dirty = false;
                self.failure.take().map(|f| Report::Recovered {
                    attempts: f.attempts,
                })
            }
            Err(error) => {
                self.stats.refused += 1;
                let (attempts, repeated) = match &self.failure {
                    Some(f) => (f.attempts + 1, f.error == error),
                    None => (1, false),
                };
                let retry_at = now + backoff(attempts);
                self.failure = Some(Failure {
                    error: error.clone(),
                    attempts,
                    retry_at,
                });
                // Who knows what the kernel holds now: start over.
                self.dirty = true;
                Some(Report::Refused {
                    error,
                    attempts,
                    retry_at,
                    repeated,
                })
            }
        }
    }

    /// The elements wanted now.
    pub fn wanted(&self) -> &BTreeSet<Element> {
        &self.want
    }

    /// The elements the kernel confirmed.
    pub fn installed(&self) -> &BTreeSet<Element> {
        &self.have
    }

    pub fn built(&self) -> Built {
        self.built
    }

    /// The last refusal while it is not recovered.
    pub fn failure(&self) -> Option<&Failure> {
        self.failure.as_ref()
    }

    pub fn stats(&self) -> FirewallStats {
        self.stats
    }

    /// Whether the kernel holds what is wanted.
    pub fn in_sync(&self) -> bool {
        !self.dirty && !self.running && self.want == self.have
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(ms: u64) -> Instant {
        Instant::from_micros(ms * 1000)
    }

    fn v4(n: u8) -> Element {
        Element::V4(Ipv4Addr::new(192, 0, 2, n))
    }

    fn set(e: &[Element]) -> BTreeSet<Element> {
        e.iter().cloned().collect()
    }

    /// Runs every due job successfully; returns them.
    fn settle(f: &mut Firewall, now: Instant) -> Vec<Job> {
        let mut jobs = Vec::new();
        while let Some(job) = f.pop(now) {
            assert_eq!(f.completed(&job, Ok(()), now), None);
            jobs.push(job);
            assert!(jobs.len() < 10, "does not converge");
        }
        jobs
    }

    #[test]
    fn elements_follow_keepalived_set_choice() {
        let ll: IpAddr = "fe80::1".parse().unwrap();
        let global: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(
            Element::of(ll, 3, "eth0", false),
            Element::LinkLocal {
                addr: "fe80::1".parse().unwrap(),
                ifindex: 3
            }
        );
        assert_eq!(
            Element::of(ll, 3, "eth0", true),
            Element::LinkLocalName {
                addr: "fe80::1".parse().unwrap(),
                ifname: "eth0".into()
            }
        );
        assert_eq!(
            Element::of(global, 3, "eth0", true),
            Element::V6("2001:db8::1".parse().unwrap())
        );
        assert!(is_link_local("febf::1".parse().unwrap()));
        assert!(!is_link_local("fec0::1".parse().unwrap()));
    }

    #[test]
    fn nothing_happens_before_an_address_must_be_dropped() {
        let mut f = Firewall::new();
        assert_eq!(f.pop(at(0)), None);
        assert!(!f.want(BTreeSet::new()));
        assert_eq!(f.pop(at(0)), None);
    }

    #[test]
    fn the_first_batch_rebuilds_deleting_what_an_earlier_run_left() {
        let mut f = Firewall::new();
        f.want(set(&[v4(30)]));
        let job = f.pop(at(0)).unwrap();
        assert_eq!(
            job,
            Job::Sync {
                rebuild: true,
                create: Built {
                    v4: true,
                    ..Built::default()
                },
                add: vec![v4(30)],
                remove: vec![],
            }
        );
        // One batch at a time.
        assert_eq!(f.pop(at(0)), None);
        f.completed(&job, Ok(()), at(1));
        assert!(f.in_sync());
        assert_eq!(f.pop(at(1)), None);
    }

    #[test]
    fn later_changes_are_incremental_and_the_table_stays_when_empty() {
        let mut f = Firewall::new();
        f.want(set(&[v4(30)]));
        settle(&mut f, at(0));
        f.want(set(&[v4(30), v4(31)]));
        assert_eq!(
            settle(&mut f, at(1)),
            vec![Job::Sync {
                rebuild: false,
                create: Built::default(),
                add: vec![v4(31)],
                remove: vec![],
            }]
        );
        f.want(BTreeSet::new());
        assert_eq!(
            settle(&mut f, at(2)),
            vec![Job::Sync {
                rebuild: false,
                create: Built::default(),
                add: vec![],
                remove: vec![v4(30), v4(31)],
            }]
        );
        assert!(f.built().v4, "the table stays until stop");
        let v6 = Element::V6("2001:db8::30".parse().unwrap());
        f.want(set(std::slice::from_ref(&v6)));
        assert_eq!(
            settle(&mut f, at(3)),
            vec![Job::Sync {
                rebuild: false,
                create: Built {
                    v6: true,
                    ..Built::default()
                },
                add: vec![v6],
                remove: vec![],
            }]
        );
    }

    #[test]
    fn wants_made_while_a_batch_runs_merge_into_the_next_one() {
        let mut f = Firewall::new();
        f.want(set(&[v4(1)]));
        let job = f.pop(at(0)).unwrap();
        for n in 2..100 {
            f.want(set(&[v4(n)]));
            assert_eq!(f.pop(at(0)), None);
        }
        f.completed(&job, Ok(()), at(1));
        assert_eq!(
            settle(&mut f, at(1)),
            vec![Job::Sync {
                rebuild: false,
                create: Built::default(),
                add: vec![v4(99)],
                remove: vec![v4(1)],
            }]
        );
    }

    #[test]
    fn a_refused_batch_is_reported_once_and_retried_from_scratch_with_backoff() {
        let mut f = Firewall::new();
        f.want(set(&[v4(30)]));
        settle(&mut f, at(0));
        // The table was deleted by hand: the next change fails.
        f.want(set(&[v4(30), v4(31)]));
        let job = f.pop(at(10)).unwrap();
        let report = f.completed(&job, Err("No such file or directory".into()), at(10));
        assert_eq!(
            report,
            Some(Report::Refused {
                error: "No such file or directory".into(),
                attempts: 1,
                retry_at: at(110),
                repeated: false,
            })
        );
        assert_eq!(f.pop(at(109)), None, "waits for the backoff");
        assert_eq!(f.poll_at(), Some(at(110)));
        let retry = f.pop(at(110)).unwrap();
        assert_eq!(
            retry,
            Job::Sync {
                rebuild: true,
                create: Built {
                    v4: true,
                    ..Built::default()
                },
                add: vec![v4(30), v4(31)],
                remove: vec![],
            }
        );
        let again = f.completed(&retry, Err("No such file or directory".into()), at(110));
        assert!(matches!(
            again,
            Some(Report::Refused {
                attempts: 2,
                repeated: true,
                ..
            })
        ));
        assert_eq!(f.failure().unwrap().retry_at, at(310));
        let retry = f.pop(at(310)).unwrap();
        assert_eq!(
            f.completed(&retry, Ok(()), at(311)),
            Some(Report::Recovered { attempts: 2 })
        );
        assert!(f.in_sync());
        assert_eq!(f.installed(), &set(&[v4(30), v4(31)]));
    }

    #[test]
    fn backoff_is_bounded() {
        let mut f = Firewall::new();
        f.want(set(&[v4(30)]));
        let mut now = at(0);
        for _ in 0..40 {
            let job = f.pop(now).unwrap();
            f.completed(&job, Err("nft: not found".into()), now);
            let next = f.poll_at().unwrap();
            assert!(next.saturating_since(now) <= Duration::from_secs(30));
            now = next;
        }
    }

    #[test]
    fn stop_deletes_what_was_built_and_nothing_else() {
        let mut f = Firewall::new();
        f.stop();
        assert_eq!(f.pop(at(0)), None);
        assert!(f.stopped(), "nothing built, nothing to delete");

        let mut f = Firewall::new();
        f.want(set(&[v4(30)]));
        settle(&mut f, at(0));
        f.stop();
        assert!(!f.want(set(&[v4(31)])), "no want after stop");
        let job = f.pop(at(1)).unwrap();
        assert_eq!(
            job,
            Job::Teardown {
                tables: Built {
                    v4: true,
                    ..Built::default()
                }
            }
        );
        assert!(!f.stopped());
        f.completed(&job, Ok(()), at(2));
        assert!(f.stopped());
        assert_eq!(f.pop(at(3)), None);
    }

    #[test]
    fn stop_does_not_wait_out_a_backoff() {
        let mut f = Firewall::new();
        f.want(set(&[v4(30)]));
        settle(&mut f, at(0));
        f.want(set(&[v4(31)]));
        let mut now = at(1);
        for _ in 0..10 {
            let job = f.pop(now).unwrap();
            f.completed(&job, Err("table gone".into()), now);
            now = f.poll_at().unwrap();
        }
        // Refused again at `now`: the next try is 30 s away.
        let job = f.pop(now).unwrap();
        f.completed(&job, Err("table gone".into()), now);
        assert_eq!(f.poll_at(), Some(now + Duration::from_secs(30)));
        f.stop();
        let job = f.pop(now).expect("the teardown goes at once");
        assert!(matches!(job, Job::Teardown { .. }));
        f.completed(&job, Ok(()), now);
        assert!(f.stopped());
    }

    #[test]
    fn an_adopted_firewall_is_left_untouched_until_the_set_changes() {
        let mut old = Firewall::new();
        old.want(set(&[v4(30)]));
        settle(&mut old, at(0));
        let record = old.record();
        let mut new = Firewall::new();
        new.adopt(&record);
        assert!(!new.want(set(&[v4(30)])));
        assert_eq!(new.pop(at(0)), None, "no batch at the hand-over");
        new.want(BTreeSet::new());
        assert_eq!(
            settle(&mut new, at(1)),
            vec![Job::Sync {
                rebuild: false,
                create: Built::default(),
                add: vec![],
                remove: vec![v4(30)],
            }]
        );
        // The record reads back across versions: missing fields default.
        let json = serde_json::to_string(&record).unwrap();
        assert_eq!(
            serde_json::from_str::<FirewallRecord>(&json).unwrap(),
            record
        );
        assert_eq!(
            serde_json::from_str::<FirewallRecord>("{}").unwrap(),
            FirewallRecord::default()
        );
    }
}
