//! Prometheus metrics (`metrics_listen`): the driver publishes into atomics,
//! a thread of its own serves them ([`http`]).
//!
//! What is published is the shared typed view of each instance,
//! [`Counters`] (the values `vrrpd status` and the keepalived dumps render
//! too), never fields picked from the driver's `Running`; the only value
//! only metrics need, the lateness histogram's buckets, comes through the
//! view's `lateness` as well. The view is built without allocating, so
//! publishing after every advert stays cheap; status's full `InstanceView`
//! (strings, maps) is never built here.
//!
//! The driver never waits for the server: every value it publishes is an
//! atomic store into cells the server only reads. The only locks guard the
//! lists of cells; the driver writes them when the configuration changes,
//! and readers hold them just long enough to clone an `Arc` (never across
//! encoding or I/O). Script and probe runs are recorded by the tracker
//! thread itself ([`crate::track::RunObserver`]), so they cost the driver
//! nothing.

mod http;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, Ordering::Relaxed};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Unit;
use tracing::{error, info};

use crate::daemon::view::{Counters, FSM_ERRORS};
use crate::driver::work::{Queued, WorkStats};
use crate::net::socket::DropReason;
use crate::proto::fsm::State;
use crate::track::{Kind, Reading, RunObserver, TrackerKey};

pub use http::Server;

use crate::proto::auth_hmac::AuthDrop;

/// States in the order of the transition matrix.
const STATES: [State; 4] = [
    State::Initialize,
    State::Backup,
    State::Master,
    State::Fault,
];

fn state_index(s: State) -> usize {
    STATES.iter().position(|x| *x == s).unwrap_or(0)
}

/// Receive-side drop reasons the driver counts itself, besides the codec's
/// [`DropReason`]s; then the state machine's (named after what mismatched).
const DRIVER_DROPS: [&str; 9] = [
    "own_address",
    "not_a_peer",
    AuthDrop::ALL[0].as_str(),
    AuthDrop::ALL[1].as_str(),
    AuthDrop::ALL[2].as_str(),
    AuthDrop::ALL[3].as_str(),
    AuthDrop::ALL[4].as_str(),
    AuthDrop::ALL[5].as_str(),
    AuthDrop::ALL[6].as_str(),
];
const FSM_DROPS: [&str; 4] = FSM_ERRORS;
const DROP_SLOTS: usize = DropReason::ALL.len() + DRIVER_DROPS.len() + FSM_DROPS.len() + 1;

fn drop_reason(slot: usize) -> &'static str {
    let codec = DropReason::ALL.len();
    let driver = codec + DRIVER_DROPS.len();
    match slot {
        s if s < codec => DropReason::ALL[s].as_str(),
        s if s < driver => DRIVER_DROPS[s - codec],
        s if s < driver + FSM_DROPS.len() => FSM_DROPS[s - driver],
        _ => "other",
    }
}

/// The slot of a driver drop key (`Running::drops`); unknown keys count as
/// "other" rather than vanish.
fn drop_slot(key: &str) -> usize {
    (0..DROP_SLOTS - 1)
        .find(|s| drop_reason(*s) == key)
        .unwrap_or(DROP_SLOTS - 1)
}

/// Upper bounds of the advert-lateness buckets, seconds (as `Lateness`).
fn lateness_bounds() -> impl Iterator<Item = f64> {
    crate::driver::lateness::Lateness::default()
        .buckets()
        .filter_map(|(b, _)| b)
        .map(|us| us as f64 / 1e6)
        .collect::<Vec<_>>()
        .into_iter()
}

/// Script and probe run durations, seconds.
const RUN_BOUNDS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

fn counters<const N: usize>() -> [AtomicU64; N] {
    std::array::from_fn(|_| AtomicU64::new(0))
}

/// One instance's published values.
#[derive(Debug)]
pub struct InstanceCells {
    name: String,
    interface: String,
    vrid: u8,
    version: u8,
    state: AtomicU8,
    base_priority: AtomicU8,
    effective_priority: AtomicU8,
    adverts_sent: AtomicU64,
    adverts_received: AtomicU64,
    priority_zero_sent: AtomicU64,
    priority_zero_received: AtomicU64,
    address_list_mismatch: AtomicU64,
    send_errors: AtomicU64,
    announcements: AtomicU64,
    drops: [AtomicU64; DROP_SLOTS],
    transitions: [[AtomicU64; 4]; 4],
    lateness: [AtomicU64; 13],
    lateness_sum_us: AtomicU64,
}

impl InstanceCells {
    fn new(c: &Counters) -> InstanceCells {
        InstanceCells::named(c.name, c.interface, c.vrid, c.version)
    }

    fn named(name: &str, interface: &str, vrid: u8, version: u8) -> InstanceCells {
        InstanceCells {
            name: name.to_string(),
            interface: interface.to_string(),
            vrid,
            version,
            state: AtomicU8::new(0),
            base_priority: AtomicU8::new(0),
            effective_priority: AtomicU8::new(0),
            adverts_sent: AtomicU64::new(0),
            adverts_received: AtomicU64::new(0),
            priority_zero_sent: AtomicU64::new(0),
            priority_zero_received: AtomicU64::new(0),
            address_list_mismatch: AtomicU64::new(0),
            send_errors: AtomicU64::new(0),
            announcements: AtomicU64::new(0),
            drops: counters(),
            transitions: std::array::from_fn(|_| counters()),
            lateness: counters(),
            lateness_sum_us: AtomicU64::new(0),
        }
    }

    /// Copies the instance's current values (plain stores: the driver owns
    /// the truth, these are its published copy). No allocation: this runs
    /// after every advert.
    fn store(&self, c: &Counters) {
        let stats = c.stats;
        self.state.store(state_index(c.state) as u8, Relaxed);
        self.base_priority.store(c.base_priority, Relaxed);
        self.effective_priority.store(c.effective_priority, Relaxed);
        self.adverts_sent.store(stats.adverts_sent, Relaxed);
        self.adverts_received.store(stats.adverts_received, Relaxed);
        self.priority_zero_sent
            .store(stats.priority_zero_sent, Relaxed);
        self.priority_zero_received
            .store(stats.priority_zero_received, Relaxed);
        self.address_list_mismatch
            .store(stats.address_list_mismatch, Relaxed);
        // status's `errors`, the same reasons: refused sends are a family
        // of their own here.
        let mut drops = [0u64; DROP_SLOTS];
        for (key, n) in c.errors() {
            if key == "send_error" {
                self.send_errors.store(n, Relaxed);
            } else {
                drops[drop_slot(key)] += n;
            }
        }
        for (cell, n) in self.drops.iter().zip(drops) {
            cell.store(n, Relaxed);
        }
        for (cell, (_, n)) in self.lateness.iter().zip(c.lateness.buckets()) {
            cell.store(n, Relaxed);
        }
        self.lateness_sum_us.store(
            u64::try_from(c.lateness.sum().as_micros()).unwrap_or(u64::MAX),
            Relaxed,
        );
    }
}

/// One tracker's published values.
#[derive(Debug)]
pub struct TrackerCells {
    key: TrackerKey,
    /// 1 OK / 0 failed, or a track_file's value.
    value: AtomicI64,
    known: AtomicBool,
    runs_ok: AtomicU64,
    runs_failed: AtomicU64,
    run_buckets: [AtomicU64; RUN_BOUNDS.len() + 1],
    run_sum_us: AtomicU64,
}

impl TrackerCells {
    fn new(key: TrackerKey) -> TrackerCells {
        TrackerCells {
            key,
            value: AtomicI64::new(0),
            known: AtomicBool::new(false),
            runs_ok: AtomicU64::new(0),
            runs_failed: AtomicU64::new(0),
            run_buckets: counters(),
            run_sum_us: AtomicU64::new(0),
        }
    }

    fn record_run(&self, ok: bool, took: Duration) {
        let secs = took.as_secs_f64();
        let bucket = RUN_BOUNDS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(RUN_BOUNDS.len());
        self.run_buckets[bucket].fetch_add(1, Relaxed);
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.run_sum_us.fetch_add(us, Relaxed);
        if ok {
            self.runs_ok.fetch_add(1, Relaxed);
        } else {
            self.runs_failed.fetch_add(1, Relaxed);
        }
    }
}

/// The address worker's figures (`driver::work`), read from its queue
/// once per [`SWEEP`].
#[derive(Debug, Clone, Default)]
pub struct WorkSnapshot {
    pub stats: WorkStats,
    pub queued: Queued,
    /// Announcement frames sent, by instance.
    pub sent: BTreeMap<String, u64>,
}

/// The work queue's counters: metric name, help, value.
fn work_counters(s: &WorkStats) -> [(&'static str, &'static str, u64); 6] {
    [
        (
            "vrrpd_work_announcement_frames",
            "Gratuitous ARP / unsolicited NA frames sent, all instances (after merging and pacing)",
            s.frames_sent,
        ),
        (
            "vrrpd_work_announcements_merged",
            "Announcement bursts merged into their instance's pending one",
            s.announcements_merged,
        ),
        (
            "vrrpd_work_announce_failures",
            "Announcement jobs whose frames could not be sent",
            s.announce_failures,
        ),
        (
            "vrrpd_work_address_wants_replaced",
            "Address add/remove requests that replaced a pending one for the same address",
            s.wants_replaced,
        ),
        (
            "vrrpd_work_address_refusals",
            "Address adds/removes the kernel refused (each attempt; retried with backoff)",
            s.refusals,
        ),
        (
            "vrrpd_work_address_removals_skipped",
            "Address removals skipped: the address was there before vrrpd added it",
            s.removals_skipped,
        ),
    ]
}

/// What the server (and the tracker thread) share with the driver.
#[derive(Debug, Default)]
pub struct Board {
    instances: RwLock<Arc<Vec<Arc<InstanceCells>>>>,
    trackers: RwLock<Arc<HashMap<TrackerKey, Arc<TrackerCells>>>>,
    unknown_vrid: AtomicU64,
    /// [`work_counters`]' values, in its order.
    work: [AtomicU64; 6],
    /// Pending address jobs, announcements, announcement frames.
    work_pending: [AtomicU64; 3],
    /// The cloud backend's figures, read at scrape time.
    cloud: RwLock<Option<Arc<dyn crate::daemon::cloud::CloudMetrics>>>,
}

impl Board {
    fn instances(&self) -> Arc<Vec<Arc<InstanceCells>>> {
        match self.instances.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn trackers(&self) -> Arc<HashMap<TrackerKey, Arc<TrackerCells>>> {
        match self.trackers.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn set_instances(&self, list: Vec<Arc<InstanceCells>>) {
        let mut g = self.instances.write().unwrap_or_else(|p| p.into_inner());
        *g = Arc::new(list);
    }

    fn store_work(&self, w: &WorkSnapshot) {
        for (cell, (_, _, n)) in self.work.iter().zip(work_counters(&w.stats)) {
            cell.store(n, Relaxed);
        }
        let q = &w.queued;
        let pending = [q.address_jobs as u64, q.announcements as u64, q.frames];
        for (cell, n) in self.work_pending.iter().zip(pending) {
            cell.store(n, Relaxed);
        }
        for c in self.instances().iter() {
            let n = w.sent.get(&c.name).copied().unwrap_or(0);
            c.announcements.store(n, Relaxed);
        }
    }

    fn set_trackers(&self, map: HashMap<TrackerKey, Arc<TrackerCells>>) {
        let mut g = self.trackers.write().unwrap_or_else(|p| p.into_inner());
        *g = Arc::new(map);
    }

    /// The text a scrape returns: Prometheus text 0.0.4, or OpenMetrics.
    pub fn render(self: &Arc<Self>, openmetrics: bool) -> Result<String, std::fmt::Error> {
        let mut registry = prometheus_client::registry::Registry::default();
        registry.register_collector(Box::new(Scrape(self.clone())));
        let mut out = String::new();
        if openmetrics {
            prometheus_client::encoding::text::encode(&mut out, &registry)?;
        } else {
            prometheus_client::encoding::prometheus_text::encode(&mut out, &registry)?;
        }
        Ok(out)
    }
}

impl RunObserver for Board {
    fn observe(&self, key: &TrackerKey, ok: bool, took: Duration) {
        if let Some(cells) = self.trackers().get(key) {
            cells.record_run(ok, took);
        }
    }
}

/// Reads the board at scrape time.
#[derive(Debug)]
struct Scrape(Arc<Board>);

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Script => "script",
        Kind::File => "file",
        Kind::Process => "process",
        Kind::Probe => "probe",
        Kind::Interface => "interface",
    }
}

/// One family of per-instance values.
fn per_instance<V: Copy + Into<i64>>(
    enc: &mut DescriptorEncoder,
    list: &[Arc<InstanceCells>],
    name: &str,
    help: &str,
    counter: bool,
    value: impl Fn(&InstanceCells) -> V,
) -> Result<(), std::fmt::Error> {
    let ty = if counter {
        MetricType::Counter
    } else {
        MetricType::Gauge
    };
    let mut m = enc.encode_descriptor(name, help, None, ty)?;
    for c in list {
        let labels = [("instance", c.name.as_str())];
        let mut f = m.encode_family(&labels)?;
        let v: i64 = value(c).into();
        if counter {
            f.encode_counter::<NoLabelSet, _, u64>(&(v.max(0) as u64), None)?;
        } else {
            f.encode_gauge(&v)?;
        }
    }
    Ok(())
}

fn load(a: &AtomicU64) -> i64 {
    i64::try_from(a.load(Relaxed)).unwrap_or(i64::MAX)
}

impl Collector for Scrape {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let list = self.0.instances();
        let build = ConstGauge::new(1i64);
        let labels = [("version", env!("CARGO_PKG_VERSION"))];
        let mut m = enc.encode_descriptor(
            "vrrpd_build_info",
            "vrrpd's version",
            None,
            MetricType::Gauge,
        )?;
        build.encode(m.encode_family(&labels)?)?;

        let mut m = enc.encode_descriptor(
            "vrrpd_instance_info",
            "Each configured VRRP instance (value 1)",
            None,
            MetricType::Gauge,
        )?;
        for c in list.iter() {
            let (vrid, version) = (c.vrid.to_string(), c.version.to_string());
            let labels = [
                ("instance", c.name.as_str()),
                ("interface", c.interface.as_str()),
                ("vrid", vrid.as_str()),
                ("version", version.as_str()),
            ];
            build.encode(m.encode_family(&labels)?)?;
        }

        let mut m = enc.encode_descriptor(
            "vrrpd_instance_state",
            "1 for the state the instance is in (INIT, BACKUP, MASTER, FAULT), 0 for the others",
            None,
            MetricType::Gauge,
        )?;
        for c in list.iter() {
            let now = usize::from(c.state.load(Relaxed));
            for (i, s) in STATES.iter().enumerate() {
                let labels = [
                    ("instance", c.name.as_str()),
                    ("state", s.keepalived_name()),
                ];
                m.encode_family(&labels)?
                    .encode_gauge(&i64::from(i == now))?;
            }
        }

        per_instance(
            &mut enc,
            &list,
            "vrrpd_instance_priority",
            "Effective priority: base priority plus the trackers' weights (what adverts carry)",
            false,
            |c| c.effective_priority.load(Relaxed),
        )?;
        per_instance(
            &mut enc,
            &list,
            "vrrpd_instance_base_priority",
            "Configured priority",
            false,
            |c| c.base_priority.load(Relaxed),
        )?;
        per_instance(
            &mut enc,
            &list,
            "vrrpd_adverts_sent",
            "Adverts sent",
            true,
            |c| load(&c.adverts_sent),
        )?;
        per_instance(
            &mut enc,
            &list,
            "vrrpd_adverts_received",
            "Valid adverts received for this instance (before the per-instance checks)",
            true,
            |c| load(&c.adverts_received),
        )?;
        per_instance(
            &mut enc,
            &list,
            "vrrpd_priority_zero_sent",
            "Priority-0 (resignation) adverts sent",
            true,
            |c| load(&c.priority_zero_sent),
        )?;
        per_instance(
            &mut enc,
            &list,
            "vrrpd_priority_zero_received",
            "Priority-0 (resignation) adverts received",
            true,
            |c| load(&c.priority_zero_received),
        )?;
        per_instance(
            &mut enc,
            &list,
            "vrrpd_address_list_mismatches",
            "Adverts accepted although their address list differs from ours",
            true,
            |c| load(&c.address_list_mismatch),
        )?;
        per_instance(
            &mut enc,
            &list,
            "vrrpd_advert_send_errors",
            "Adverts the kernel refused to send",
            true,
            |c| load(&c.send_errors),
        )?;
        per_instance(
            &mut enc,
            &list,
            "vrrpd_announcements",
            "Gratuitous ARP / unsolicited NA frames sent (after merging and pacing)",
            true,
            |c| load(&c.announcements),
        )?;

        let mut m = enc.encode_descriptor(
            "vrrpd_adverts_dropped",
            "Adverts dropped, by reason",
            None,
            MetricType::Counter,
        )?;
        for c in list.iter() {
            for (slot, cell) in c.drops.iter().enumerate() {
                let labels = [("instance", c.name.as_str()), ("reason", drop_reason(slot))];
                m.encode_family(&labels)?
                    .encode_counter::<NoLabelSet, _, u64>(&cell.load(Relaxed), None)?;
            }
        }

        let mut m = enc.encode_descriptor(
            "vrrpd_transitions",
            "State transitions, by from and to state",
            None,
            MetricType::Counter,
        )?;
        for c in list.iter() {
            for (i, from) in STATES.iter().enumerate() {
                for (j, to) in STATES.iter().enumerate() {
                    let n = c.transitions[i][j].load(Relaxed);
                    // Only pairs that happened: 16 mostly-impossible series
                    // per instance would be noise.
                    if n == 0 {
                        continue;
                    }
                    let labels = [
                        ("instance", c.name.as_str()),
                        ("from", from.keepalived_name()),
                        ("to", to.keepalived_name()),
                    ];
                    m.encode_family(&labels)?
                        .encode_counter::<NoLabelSet, _, u64>(&n, None)?;
                }
            }
        }

        let bounds: Vec<f64> = lateness_bounds().collect();
        let mut m = enc.encode_descriptor(
            "vrrpd_advert_lateness",
            "How late adverts left against their deadline",
            Some(&Unit::Seconds),
            MetricType::Histogram,
        )?;
        for c in list.iter() {
            let counts: Vec<u64> = c.lateness.iter().map(|a| a.load(Relaxed)).collect();
            let buckets: Vec<(f64, u64)> = bounds
                .iter()
                .copied()
                .chain([f64::INFINITY])
                .zip(counts.iter().copied())
                .collect();
            let sum = c.lateness_sum_us.load(Relaxed) as f64 / 1e6;
            let labels = [("instance", c.name.as_str())];
            m.encode_family(&labels)?.encode_histogram::<NoLabelSet>(
                sum,
                counts.iter().sum(),
                &buckets,
                None,
            )?;
        }

        let mut m = enc.encode_descriptor(
            "vrrpd_unknown_vrid_adverts",
            "Adverts for VRIDs no instance runs",
            None,
            MetricType::Counter,
        )?;
        m.encode_counter::<NoLabelSet, _, u64>(&self.0.unknown_vrid.load(Relaxed), None)?;

        let zero = WorkStats::default();
        for ((name, help, _), cell) in work_counters(&zero).iter().zip(&self.0.work) {
            let mut m = enc.encode_descriptor(name, help, None, MetricType::Counter)?;
            m.encode_counter::<NoLabelSet, _, u64>(&cell.load(Relaxed), None)?;
        }
        let mut m = enc.encode_descriptor(
            "vrrpd_work_pending",
            "The address worker's bounded queue: address jobs, instances with a pending announcement, announcement frames still to send",
            None,
            MetricType::Gauge,
        )?;
        for (kind, cell) in ["address_jobs", "announcements", "frames"]
            .iter()
            .zip(&self.0.work_pending)
        {
            m.encode_family(&[("kind", *kind)])?
                .encode_gauge(&load(cell))?;
        }

        self.encode_trackers(&mut enc)
    }
}

impl Scrape {
    fn encode_trackers(&self, enc: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let map = self.0.trackers();
        let mut list: Vec<&Arc<TrackerCells>> = map.values().collect();
        list.sort_by(|a, b| a.key.cmp(&b.key));
        let mut m = enc.encode_descriptor(
            "vrrpd_tracker_up",
            "What each tracker says now: 1 OK, 0 failed (track_file: see vrrpd_track_file_value)",
            None,
            MetricType::Gauge,
        )?;
        for t in list.iter().filter(|t| t.key.kind != Kind::File) {
            if !t.known.load(Relaxed) {
                continue;
            }
            let labels = [
                ("kind", kind_name(t.key.kind)),
                ("tracker", t.key.name.as_str()),
            ];
            m.encode_family(&labels)?
                .encode_gauge(&t.value.load(Relaxed))?;
        }
        let mut m = enc.encode_descriptor(
            "vrrpd_track_file_value",
            "The value a track_file holds",
            None,
            MetricType::Gauge,
        )?;
        for t in list.iter().filter(|t| t.key.kind == Kind::File) {
            if !t.known.load(Relaxed) {
                continue;
            }
            let labels = [("tracker", t.key.name.as_str())];
            m.encode_family(&labels)?
                .encode_gauge(&t.value.load(Relaxed))?;
        }
        let runs: Vec<&&Arc<TrackerCells>> = list
            .iter()
            .filter(|t| matches!(t.key.kind, Kind::Script | Kind::Probe))
            .collect();
        let mut m = enc.encode_descriptor(
            "vrrpd_tracker_runs",
            "Script and probe runs, by result",
            None,
            MetricType::Counter,
        )?;
        for t in &runs {
            for (result, cell) in [("ok", &t.runs_ok), ("failed", &t.runs_failed)] {
                let labels = [
                    ("kind", kind_name(t.key.kind)),
                    ("tracker", t.key.name.as_str()),
                    ("result", result),
                ];
                m.encode_family(&labels)?
                    .encode_counter::<NoLabelSet, _, u64>(&cell.load(Relaxed), None)?;
            }
        }
        let mut m = enc.encode_descriptor(
            "vrrpd_tracker_run_duration",
            "How long each script or probe run took",
            Some(&Unit::Seconds),
            MetricType::Histogram,
        )?;
        for t in &runs {
            let counts: Vec<u64> = t.run_buckets.iter().map(|a| a.load(Relaxed)).collect();
            let buckets: Vec<(f64, u64)> = RUN_BOUNDS
                .iter()
                .copied()
                .chain([f64::INFINITY])
                .zip(counts.iter().copied())
                .collect();
            let labels = [
                ("kind", kind_name(t.key.kind)),
                ("tracker", t.key.name.as_str()),
            ];
            m.encode_family(&labels)?.encode_histogram::<NoLabelSet>(
                t.run_sum_us.load(Relaxed) as f64 / 1e6,
                counts.iter().sum(),
                &buckets,
                None,
            )?;
        }
        let cloud = match self.0.cloud.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        };
        if let Some(cloud) = cloud {
            encode_cloud(enc, cloud.as_ref())?;
        }
        Ok(())
    }
}

/// The cloud backend's families (`vrrpd_cloud_*`).
fn encode_cloud(
    enc: &mut DescriptorEncoder,
    cloud: &dyn crate::daemon::cloud::CloudMetrics,
) -> Result<(), std::fmt::Error> {
    let list = cloud.instances();
    type Pick = fn(&crate::driver::cloud::CloudStats) -> u64;
    let counters: [(&str, &str, Pick); 5] = [
        (
            "vrrpd_cloud_claims",
            "Claims the cloud API took (stale ones included)",
            |s| s.claims,
        ),
        (
            "vrrpd_cloud_stale_claims",
            "Claims that completed after their MASTER term ended (never repeated)",
            |s| s.stale_claims,
        ),
        (
            "vrrpd_cloud_failures",
            "Cloud API jobs that failed (each attempt; retried with backoff)",
            |s| s.failures,
        ),
        (
            "vrrpd_cloud_reconciliations",
            "Reads of the cloud's mapping made while MASTER",
            |s| s.reconciliations,
        ),
        (
            "vrrpd_cloud_drifts",
            "Reads while MASTER that found the address elsewhere (re-claimed)",
            |s| s.drifts,
        ),
    ];
    for (name, help, pick) in counters {
        let mut m = enc.encode_descriptor(name, help, None, MetricType::Counter)?;
        for (inst, stats, _, _) in &list {
            let labels = [("instance", inst.as_str())];
            m.encode_family(&labels)?
                .encode_counter::<NoLabelSet, _, u64>(&pick(stats), None)?;
        }
    }
    type Flag = fn(bool, bool) -> bool;
    let gauges: [(&str, &str, Flag); 2] = [
        (
            "vrrpd_cloud_failing",
            "1 while the cloud API fails for the instance",
            |f, _| f,
        ),
        (
            "vrrpd_cloud_in_sync",
            "1 when the cloud points where the VRRP state says (a Backup always is)",
            |_, s| s,
        ),
    ];
    for (name, help, pick) in gauges {
        let mut m = enc.encode_descriptor(name, help, None, MetricType::Gauge)?;
        for (inst, _, failing, in_sync) in &list {
            let labels = [("instance", inst.as_str())];
            m.encode_family(&labels)?
                .encode_gauge(&i64::from(pick(*failing, *in_sync)))?;
        }
    }
    let mut m = enc.encode_descriptor(
        "vrrpd_cloud_api",
        "Cloud API job latency (a claim or a read, all of its calls)",
        Some(&Unit::Seconds),
        MetricType::Histogram,
    )?;
    for (op, buckets, count, sum) in cloud.latency() {
        // Per-bucket counts: the encoder accumulates (as for lateness).
        let labels = [("op", op)];
        m.encode_family(&labels)?
            .encode_histogram::<NoLabelSet>(sum, count, &buckets, None)?;
    }
    Ok(())
}

/// The driver's side: its handles into the board, and the server.
#[derive(Default)]
pub(crate) struct Publisher {
    board: Option<Arc<Board>>,
    cells: HashMap<String, Arc<InstanceCells>>,
    trackers: HashMap<TrackerKey, Arc<TrackerCells>>,
    server: Option<Server>,
    last_sweep: Option<std::time::Instant>,
}

/// How often the driver republishes everything (drops counted outside the
/// state machine, say); per-event publishing covers the rest at once.
pub(crate) const SWEEP: Duration = Duration::from_secs(1);

impl Publisher {
    /// Starts, moves or stops the endpoint for `listen`. A port that cannot
    /// be bound is logged and the daemon runs on without metrics: a metrics
    /// endpoint must never keep failover from running. On reload the old
    /// endpoint stays up when the new address cannot be bound.
    pub(crate) fn configure(&mut self, listen: Option<SocketAddr>) {
        let current = self.server.as_ref().map(Server::addr);
        if current == listen && (listen.is_none() || self.server.is_some()) {
            return;
        }
        let Some(addr) = listen else {
            info!("metrics endpoint stopped");
            self.server = None;
            self.board = None;
            self.cells.clear();
            self.trackers.clear();
            return;
        };
        let board = self.board.clone().unwrap_or_default();
        match Server::start(addr, board.clone()) {
            Ok(server) => {
                info!("serving metrics on http://{}/metrics", server.addr());
                self.server = Some(server);
                self.board = Some(board);
            }
            Err(e) => error!("metrics endpoint disabled: {e}"),
        }
    }

    /// The cloud backend's figures (when an instance has one).
    pub(crate) fn set_cloud(&mut self, cloud: Arc<dyn crate::daemon::cloud::CloudMetrics>) {
        if let Some(board) = &self.board {
            let mut g = board.cloud.write().unwrap_or_else(|p| p.into_inner());
            *g = Some(cloud);
        }
    }

    /// Whether values are being published.
    pub(crate) fn enabled(&self) -> bool {
        self.board.is_some()
    }

    /// The running set of instances changed (start, reload).
    pub(crate) fn set_instances<'a>(&mut self, instances: impl IntoIterator<Item = Counters<'a>>) {
        let Some(board) = &self.board else { return };
        let mut next = HashMap::new();
        let mut list = Vec::new();
        for v in instances {
            let cells = match self.cells.get(v.name) {
                Some(c) if c.interface == v.interface && c.vrid == v.vrid => c.clone(),
                _ => Arc::new(InstanceCells::new(&v)),
            };
            cells.store(&v);
            next.insert(v.name.to_string(), cells.clone());
            list.push(cells);
        }
        board.set_instances(list);
        self.cells = next;
    }

    /// The trackers in use changed; cells are kept for those that stay.
    pub(crate) fn set_trackers<'a>(&mut self, keys: impl Iterator<Item = &'a TrackerKey>) {
        let Some(board) = &self.board else { return };
        let mut next = HashMap::new();
        for k in keys {
            let cells = self
                .trackers
                .get(k)
                .cloned()
                .unwrap_or_else(|| Arc::new(TrackerCells::new(k.clone())));
            next.insert(k.clone(), cells);
        }
        board.set_trackers(next.clone());
        self.trackers = next;
    }

    /// The tracker thread's run observer, when metrics are on.
    pub(crate) fn observer(&self) -> crate::track::Observer {
        self.board
            .clone()
            .map(|b| b as Arc<dyn RunObserver + 'static>)
    }

    pub(crate) fn reading(&self, key: &TrackerKey, reading: Reading) {
        if let Some(t) = self.trackers.get(key) {
            let v = match reading {
                Reading::Ok => 1,
                Reading::Failed => 0,
                Reading::Value(v) => v,
            };
            t.value.store(v, Relaxed);
            t.known.store(true, Relaxed);
        }
    }

    /// Publishes an instance's current values. Called after every input
    /// the driver handles: `v` is the allocation-free view, and this is a
    /// hash lookup and atomic stores.
    pub(crate) fn publish(&self, v: &Counters) {
        if let Some(c) = self.cells.get(v.name) {
            c.store(v);
        }
    }

    /// Transitions are events, not state the view holds: counted as they
    /// happen.
    pub(crate) fn transition(&self, instance: &str, from: State, to: State) {
        if let Some(c) = self.cells.get(instance) {
            c.transitions[state_index(from)][state_index(to)].fetch_add(1, Relaxed);
        }
    }

    /// Republishes everything at most once per [`SWEEP`]; `instances` is
    /// only iterated (the views built) and `work` called when a sweep is
    /// due. Announcements are counted by the address worker as frames
    /// leave (after merging and pacing), so they arrive here too.
    pub(crate) fn sweep<'a>(
        &mut self,
        instances: impl IntoIterator<Item = Counters<'a>>,
        unknown_vrid: u64,
        work: impl FnOnce() -> WorkSnapshot,
    ) {
        let Some(board) = &self.board else { return };
        let now = std::time::Instant::now();
        if self
            .last_sweep
            .is_some_and(|t| now.duration_since(t) < SWEEP)
        {
            return;
        }
        self.last_sweep = Some(now);
        board.unknown_vrid.store(unknown_vrid, Relaxed);
        board.store_work(&work());
        for v in instances {
            self.publish(&v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn board() -> Arc<Board> {
        let board = Arc::new(Board::default());
        let c = InstanceCells::named("VI_1", "eth0", 48, 3);
        c.state.store(state_index(State::Master) as u8, Relaxed);
        c.base_priority.store(150, Relaxed);
        c.effective_priority.store(140, Relaxed);
        c.adverts_sent.store(42, Relaxed);
        c.adverts_received.store(7, Relaxed);
        c.drops[drop_slot("ttl")].store(3, Relaxed);
        c.drops[drop_slot("auth_mismatch")].store(2, Relaxed);
        c.transitions[state_index(State::Backup)][state_index(State::Master)].store(1, Relaxed);
        c.lateness[0].store(10, Relaxed);
        c.lateness[5].store(1, Relaxed);
        c.lateness_sum_us.store(2_300, Relaxed);
        let odd = InstanceCells::named("we\"ird\\name\n", "eth1", 9, 2);
        board.set_instances(vec![Arc::new(c), Arc::new(odd)]);
        let key = TrackerKey::new(Kind::Probe, "web");
        let t = Arc::new(TrackerCells::new(key.clone()));
        t.value.store(1, Relaxed);
        t.known.store(true, Relaxed);
        let f = Arc::new(TrackerCells::new(TrackerKey::new(Kind::File, "weights")));
        f.value.store(-20, Relaxed);
        f.known.store(true, Relaxed);
        let mut map = HashMap::new();
        map.insert(key.clone(), t);
        map.insert(f.key.clone(), f);
        board.set_trackers(map);
        board.observe(&key, true, Duration::from_millis(3));
        board.observe(&key, false, Duration::from_millis(700));
        board.observe(&TrackerKey::new(Kind::Probe, "gone"), true, Duration::ZERO);
        board
    }

    #[test]
    fn prometheus_text_carries_every_family() {
        let text = board().render(false).unwrap();
        for line in [
            "# TYPE vrrpd_instance_state gauge",
            "vrrpd_instance_state{instance=\"VI_1\",state=\"MASTER\"} 1",
            "vrrpd_instance_state{instance=\"VI_1\",state=\"BACKUP\"} 0",
            "vrrpd_instance_info{instance=\"VI_1\",interface=\"eth0\",vrid=\"48\",version=\"3\"} 1",
            "vrrpd_instance_priority{instance=\"VI_1\"} 140",
            "vrrpd_instance_base_priority{instance=\"VI_1\"} 150",
            "# TYPE vrrpd_adverts_sent_total counter",
            "vrrpd_adverts_sent_total{instance=\"VI_1\"} 42",
            "vrrpd_adverts_received_total{instance=\"VI_1\"} 7",
            "vrrpd_adverts_dropped_total{instance=\"VI_1\",reason=\"ttl\"} 3",
            "vrrpd_adverts_dropped_total{instance=\"VI_1\",reason=\"auth_mismatch\"} 2",
            "vrrpd_adverts_dropped_total{instance=\"VI_1\",reason=\"own_address\"} 0",
            "vrrpd_transitions_total{instance=\"VI_1\",from=\"BACKUP\",to=\"MASTER\"} 1",
            "# TYPE vrrpd_advert_lateness_seconds histogram",
            "vrrpd_advert_lateness_seconds_bucket{instance=\"VI_1\",le=\"5e-05\"} 10",
            "vrrpd_advert_lateness_seconds_bucket{instance=\"VI_1\",le=\"0.0025\"} 11",
            "vrrpd_advert_lateness_seconds_bucket{instance=\"VI_1\",le=\"+Inf\"} 11",
            "vrrpd_advert_lateness_seconds_sum{instance=\"VI_1\"} 0.0023",
            "vrrpd_advert_lateness_seconds_count{instance=\"VI_1\"} 11",
            "vrrpd_tracker_up{kind=\"probe\",tracker=\"web\"} 1",
            "vrrpd_track_file_value{tracker=\"weights\"} -20",
            "vrrpd_tracker_runs_total{kind=\"probe\",tracker=\"web\",result=\"ok\"} 1",
            "vrrpd_tracker_runs_total{kind=\"probe\",tracker=\"web\",result=\"failed\"} 1",
            "vrrpd_tracker_run_duration_seconds_bucket{kind=\"probe\",tracker=\"web\",le=\"0.005\"} 1",
            "vrrpd_tracker_run_duration_seconds_bucket{kind=\"probe\",tracker=\"web\",le=\"1\"} 2",
            "vrrpd_tracker_run_duration_seconds_count{kind=\"probe\",tracker=\"web\"} 2",
            "vrrpd_unknown_vrid_adverts_total 0",
            // Label values are escaped as the exposition format requires.
            "vrrpd_instance_priority{instance=\"we\\\"ird\\\\name\\n\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
        // Transitions that never happened are not listed.
        assert!(!text.contains("from=\"FAULT\""), "{text}");
        // Only the instance's own sample lines, no duplicate families.
        assert_eq!(text.matches("# TYPE vrrpd_adverts_sent_total").count(), 1);
        assert!(!text.contains("# EOF"));
    }

    /// `vrrpd_announcements_total` counts the frames that left, after the
    /// queue merged and paced them: two bursts of 3 asked for one address
    /// are 3 frames, and a failed job's frames are not counted.
    #[test]
    fn announcements_count_frames_sent_not_frames_asked_for() {
        use crate::driver::work::{Job, Outcome, Pacing, WorkQueue};
        let board = board();
        let mut q: WorkQueue<std::net::IpAddr> = WorkQueue::new();
        q.configure(
            Pacing {
                garp: Duration::from_millis(50),
                gna: Duration::ZERO,
            },
            vec![],
        );
        let vip: std::net::IpAddr = "192.0.2.30".parse().unwrap();
        q.announce("VI_1", 2, &[vip], 3);
        q.announce("VI_1", 2, &[vip], 3);
        q.announce("we\"ird\\name\n", 2, &[vip], 1);
        let mut first = true;
        let mut jobs = 0;
        while let Some(at) = q.poll_at() {
            let job = q.pop(at).unwrap();
            assert!(matches!(job, Job::Announce { .. }));
            let outcome = if std::mem::take(&mut first) {
                Outcome::Failed("ENOBUFS".into())
            } else {
                Outcome::Announced
            };
            q.completed(&job, outcome, at);
            jobs += 1;
        }
        assert_eq!(jobs, 4, "paced: one frame per job");
        q.announce("VI_1", 2, &[vip], 2);
        board.store_work(&WorkSnapshot {
            stats: q.stats(),
            queued: q.queued(),
            sent: q.frames_sent().clone(),
        });
        let text = board.render(false).unwrap();
        for line in [
            "# HELP vrrpd_announcements_total Gratuitous ARP / unsolicited NA frames sent (after merging and pacing)",
            "vrrpd_announcements_total{instance=\"VI_1\"} 2",
            "vrrpd_announcements_total{instance=\"we\\\"ird\\\\name\\n\"} 1",
            "# TYPE vrrpd_work_announcement_frames_total counter",
            "vrrpd_work_announcement_frames_total 3",
            "vrrpd_work_announcements_merged_total 1",
            "vrrpd_work_announce_failures_total 1",
            "vrrpd_work_address_wants_replaced_total 0",
            "vrrpd_work_address_refusals_total 0",
            "vrrpd_work_address_removals_skipped_total 0",
            "# TYPE vrrpd_work_pending gauge",
            "vrrpd_work_pending{kind=\"announcements\"} 1",
            "vrrpd_work_pending{kind=\"frames\"} 2",
            "vrrpd_work_pending{kind=\"address_jobs\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
    }

    #[test]
    fn openmetrics_ends_with_eof_and_declares_units() {
        let text = board().render(true).unwrap();
        assert!(text.ends_with("# EOF\n"), "{text}");
        assert!(
            text.contains("# UNIT vrrpd_advert_lateness_seconds seconds"),
            "{text}"
        );
        assert!(
            text.contains("vrrpd_adverts_sent_total{instance=\"VI_1\"} 42"),
            "{text}"
        );
    }

    fn free_port() -> SocketAddr {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    }

    #[test]
    fn reload_moves_starts_and_stops_the_endpoint_and_keeps_it_on_a_bad_port() {
        let mut p = Publisher::default();
        let a = free_port();
        p.configure(Some(a));
        assert_eq!(p.server.as_ref().map(Server::addr), Some(a));
        assert!(p.enabled());
        // The new address is taken: the old endpoint stays.
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        p.configure(Some(taken.local_addr().unwrap()));
        assert_eq!(p.server.as_ref().map(Server::addr), Some(a));
        assert!(std::net::TcpStream::connect(a).is_ok());
        // Moved.
        let b = free_port();
        p.configure(Some(b));
        assert_eq!(p.server.as_ref().map(Server::addr), Some(b));
        assert!(
            std::net::TcpStream::connect(a).is_err(),
            "old port still served"
        );
        // Off.
        p.configure(None);
        assert!(!p.enabled());
        assert!(std::net::TcpStream::connect(b).is_err());
        // A first start on a taken port: no endpoint, no panic.
        let mut q = Publisher::default();
        q.configure(Some(taken.local_addr().unwrap()));
        assert!(!q.enabled());
    }

    /// Metrics store the values status renders: both come from the one
    /// view of the instance.
    #[test]
    fn cells_hold_what_status_shows() {
        let text = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 120\n virtual_ipaddress {\n  192.0.2.30\n }\n}\n";
        let loaded = crate::config::load_str("m.conf", text, &Default::default());
        let cfg = loaded.config.instances[0].clone();
        let router = crate::driver::new_router(&cfg, "192.0.2.20".parse().unwrap()).unwrap();
        let key = crate::driver::SocketKey {
            ifindex: 2,
            family: crate::proto::Family::Ipv4,
            unicast_source: None,
        };
        let mut r = crate::driver::Running::new(cfg, router, 2, key, Default::default());
        r.drops.insert("ttl", 3);
        r.drops.insert("send_error", 2);
        let view = Counters::of(&r);
        let cells = InstanceCells::new(&view);
        cells.store(&view);
        assert_eq!((cells.name.as_str(), cells.vrid), ("VI_1", 51));
        assert_eq!(cells.base_priority.load(Relaxed), 120);
        assert_eq!(cells.effective_priority.load(Relaxed), 120);
        assert_eq!(cells.drops[drop_slot("ttl")].load(Relaxed), 3);
        assert_eq!(cells.send_errors.load(Relaxed), 2);
        assert_eq!(view.error("ttl"), 3);
        assert_eq!(view.error("auth_mismatch"), 0);
        assert_eq!(STATES[usize::from(cells.state.load(Relaxed))], view.state);
    }

    #[test]
    fn every_drop_key_has_its_own_slot() {
        let mut seen = std::collections::HashSet::new();
        for slot in 0..DROP_SLOTS {
            assert!(seen.insert(drop_reason(slot)), "{}", drop_reason(slot));
            assert_eq!(drop_slot(drop_reason(slot)), slot);
        }
        for r in DropReason::ALL {
            assert_ne!(drop_reason(drop_slot(r.as_str())), "other");
        }
        assert_eq!(drop_reason(drop_slot("something new")), "other");
    }

    #[test]
    fn lateness_buckets_match_the_driver_histogram() {
        let bounds: Vec<f64> = lateness_bounds().collect();
        assert_eq!(
            bounds.len() + 1,
            crate::driver::lateness::Lateness::default()
                .buckets()
                .count()
        );
        assert_eq!(bounds.first(), Some(&0.00005));
        assert_eq!(bounds.last(), Some(&0.25));
    }

    #[test]
    fn tracker_runs_land_in_their_buckets() {
        let t = TrackerCells::new(TrackerKey::new(Kind::Probe, "web"));
        t.record_run(true, Duration::from_micros(800));
        t.record_run(false, Duration::from_millis(300));
        t.record_run(false, Duration::from_secs(9));
        assert_eq!(t.run_buckets[0].load(Relaxed), 1);
        assert_eq!(t.run_buckets[8].load(Relaxed), 1, "300 ms <= 0.5 s");
        assert_eq!(t.run_buckets[RUN_BOUNDS.len()].load(Relaxed), 1);
        assert_eq!(t.runs_ok.load(Relaxed), 1);
        assert_eq!(t.runs_failed.load(Relaxed), 2);
        assert_eq!(t.run_sum_us.load(Relaxed), 800 + 300_000 + 9_000_000);
    }
}
