//! Health tracking: keepalived's trackers (`vrrp_script`, `track_file`,
//! `track_process`, `track_interface`) and vrrpd's native HTTP(S)/TCP probes,
//! turned into a per-instance priority adjustment and fault flag; plus the
//! ordered notification path ([`notify`]).
//!
//! Trackers run on a thread of their own ([`TrackerSet`]) and only send
//! [`Update`]s to the driver, so a slow probe or a fork storm can never delay
//! an advert. The weight arithmetic ([`Weighted::effect`], [`evaluate`]) is
//! pure and follows keepalived (reference §2.6).
//!
//! # Native probes: configuration
//!
//! keepalived.conf (keepalived itself warns about and skips these blocks):
//!
//! ```text
//! vrrpd_http_check apache {          # also https:// URLs (rustls)
//!     url http://127.0.0.1:80/health
//!     status_code 200 301-302        # default 200-299
//!     body_contains OK               # optional, first 64 KiB
//!     host www.example.com           # Host header / TLS name, default from the URL
//!     tls_verify off                 # default on (web PKI roots)
//!     interval 1                     # seconds, default 1
//!     timeout 0.5                    # default = interval
//!     rise 2                         # default 1
//!     fall 2                         # default 1
//!     weight -60 [reverse]           # default 0 = FAULT while failing
//!     init_fail                      # start failed
//! }
//! vrrpd_tcp_check apache_port {
//!     connect 127.0.0.1:80           # [2001:db8::1]:80 for IPv6
//!     interval 1
//!     weight -60
//! }
//! vrrp_instance VI_1 {
//!     track_probe {
//!         apache
//!         apache_port weight -20     # per-instance override, like track_script
//!     }
//! }
//! ```
//!
//! Native TOML: `[[probe]]` tables with `name`, `type = "http"|"tcp"`,
//! `url`, `connect`, `status = ["200", "301-302"]`, `body_contains`, `host`,
//! `tls_verify`, `interval`, `timeout`, `rise`, `fall`, `weight`, `reverse`,
//! `init_fail`; instances list them in `track_probes = [{ name = "apache",
//! weight = -60 }]`.
//!
//! Weights follow keepalived exactly (see [`Weighted::effect`]); an address
//! owner (priority 255) keeps only unweighted trackers, and sync-group
//! trackers count their weights only with `sync_group_tracking_weight`.

pub mod check;
pub mod file;
pub mod probe;
pub mod process;
pub mod script;

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::mpsc;
use tracing::{error, warn};

use crate::config::{Config, TrackRef};

/// Which kind of tracker a name refers to (names are per kind, as in keepalived).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Kind {
    Script,
    File,
    Process,
    Probe,
    Interface,
}

/// A tracker's identity.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct TrackerKey {
    pub kind: Kind,
    pub name: String,
}

impl TrackerKey {
    pub fn new(kind: Kind, name: impl Into<String>) -> TrackerKey {
        TrackerKey {
            kind,
            name: name.into(),
        }
    }
}

/// What a tracker currently says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Reading {
    Ok,
    Failed,
    /// A `track_file` value.
    Value(i64),
}

/// A tracker's new reading, sent to the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    pub key: TrackerKey,
    pub reading: Reading,
}

/// Told of every script and probe run (for metrics). Called on the tracker
/// thread after each run; it must be cheap and never block.
pub trait RunObserver: Send + Sync {
    fn observe(&self, key: &TrackerKey, ok: bool, took: Duration);
}

/// An optional [`RunObserver`], shared by every tracker of a set.
pub type Observer = Option<std::sync::Arc<dyn RunObserver>>;

/// What one tracker does to one instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Effect {
    pub adjustment: i32,
    pub fault: bool,
}

/// One tracker as one instance sees it: its weight (after `track_*`
/// overrides) and `reverse`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Weighted {
    pub key: TrackerKey,
    pub weight: i32,
    pub reverse: bool,
}

impl Weighted {
    /// keepalived's rules (§2.6): weight > 0 adds while OK, weight < 0
    /// subtracts while failed, `reverse` flips the sign; weight 0 means
    /// FAULT while failed (while OK with `reverse`). A file value is
    /// multiplied by the weight and ≤ -254 means FAULT; with weight 0 any
    /// non-zero value is a FAULT.
    pub fn effect(&self, reading: Reading) -> Effect {
        let mult = if self.reverse { -1 } else { 1 };
        match reading {
            Reading::Value(v) => {
                if self.weight == 0 {
                    return Effect {
                        adjustment: 0,
                        fault: v != 0,
                    };
                }
                let total = v
                    .saturating_mul(i64::from(self.weight))
                    .saturating_mul(i64::from(mult));
                let adjustment = total.clamp(-100_000, 100_000) as i32;
                Effect {
                    adjustment,
                    fault: total <= -254,
                }
            }
            Reading::Ok | Reading::Failed => {
                let ok = reading == Reading::Ok;
                if self.weight == 0 {
                    return Effect {
                        adjustment: 0,
                        fault: ok == self.reverse,
                    };
                }
                let applies = (self.weight > 0) == ok;
                Effect {
                    adjustment: if applies { self.weight * mult } else { 0 },
                    fault: false,
                }
            }
        }
    }
}

/// The sum of adjustments and whether any tracker faults the instance; a
/// tracker with no reading yet has no effect.
pub fn evaluate(list: &[Weighted], readings: &HashMap<TrackerKey, Reading>) -> Effect {
    let mut total = Effect::default();
    for w in list {
        if let Some(r) = readings.get(&w.key) {
            let e = w.effect(*r);
            total.adjustment = total.adjustment.saturating_add(e.adjustment);
            total.fault |= e.fault;
        }
    }
    total
}

/// Every instance's trackers, by instance name (instances without any are left
/// out): its own `track_*` lists and those of its sync group (whose weights
/// count only with `sync_group_tracking_weight`, as in keepalived §1.6).
pub fn plan(cfg: &Config) -> HashMap<String, Vec<Weighted>> {
    let mut out = HashMap::new();
    for inst in &cfg.instances {
        let mut list = Vec::new();
        for t in &inst.track_interfaces {
            // The instance's own interface is tracked by the driver (FAULT
            // on link down unless dont_track_primary).
            if Some(&t.name) == inst.interface.as_ref() {
                continue;
            }
            list.push(Weighted {
                key: TrackerKey::new(Kind::Interface, &t.name),
                weight: t.weight,
                reverse: t.reverse,
            });
        }
        // keepalived tracks the interface of every tracked virtual route
        // and rule (`add_vrrp_to_interface(.., TRACK_ROUTE / TRACK_RULE)`,
        // weight 0): while it is down the instance is in FAULT. `no_track`
        // entries do not.
        let devices = inst
            .virtual_routes
            .iter()
            .filter(|r| !r.no_track)
            .flat_map(|r| r.dev.as_deref())
            .chain(
                inst.virtual_rules
                    .iter()
                    .filter(|r| !r.no_track)
                    .flat_map(|r| r.devices()),
            );
        for dev in devices {
            let key = TrackerKey::new(Kind::Interface, dev);
            if Some(dev) == inst.interface.as_deref() || list.iter().any(|w| w.key == key) {
                continue;
            }
            list.push(Weighted {
                key,
                weight: 0,
                reverse: false,
            });
        }
        push_refs(cfg, &mut list, &inst.track_scripts, Kind::Script, true);
        push_refs(cfg, &mut list, &inst.track_files, Kind::File, true);
        push_refs(cfg, &mut list, &inst.track_processes, Kind::Process, true);
        push_refs(cfg, &mut list, &inst.track_probes, Kind::Probe, true);
        for g in cfg
            .sync_groups
            .iter()
            .filter(|g| g.members.contains(&inst.name))
        {
            let owner = inst.priority.is_owner();
            let keep = g.tracking_weight && !owner;
            for t in &g.track_interfaces {
                // keepalived 2.2.7: a member keeps a weighted interface
                // unweighted (down = FAULT); an owner drops it.
                if owner && t.weight != 0 {
                    continue;
                }
                list.push(Weighted {
                    key: TrackerKey::new(Kind::Interface, &t.name),
                    weight: if keep { t.weight } else { 0 },
                    reverse: t.reverse,
                });
            }
            push_refs(cfg, &mut list, &g.track_scripts, Kind::Script, keep);
            push_refs(cfg, &mut list, &g.track_files, Kind::File, keep);
            push_refs(cfg, &mut list, &g.track_processes, Kind::Process, keep);
        }
        // Only instances that track something: every reader takes a
        // missing entry as an empty list (a name and an empty vector in
        // each of 1000 instances was 0.1 MB).
        if !list.is_empty() {
            out.insert(inst.name.clone(), list);
        }
    }
    out
}

fn push_refs(cfg: &Config, list: &mut Vec<Weighted>, refs: &[TrackRef], kind: Kind, weights: bool) {
    for t in refs {
        let Some((weight, reverse)) = defaults(cfg, kind, &t.name) else {
            continue;
        };
        let weight = t.weight.unwrap_or(weight);
        if weight != 0 && !weights {
            continue;
        }
        list.push(Weighted {
            key: TrackerKey::new(kind, &t.name),
            weight,
            reverse: t.reverse.unwrap_or(reverse),
        });
    }
}

fn defaults(cfg: &Config, kind: Kind, name: &str) -> Option<(i32, bool)> {
    match kind {
        Kind::Script => cfg
            .scripts
            .iter()
            .find(|s| s.name == name)
            .map(|s| (s.weight, s.reverse)),
        Kind::File => cfg
            .track_files
            .iter()
            .find(|s| s.name == name)
            .map(|s| (s.weight, s.reverse)),
        Kind::Process => cfg
            .track_processes
            .iter()
            .find(|s| s.name == name)
            .map(|s| (s.weight, s.reverse)),
        Kind::Probe => cfg
            .probes
            .iter()
            .find(|s| s.name == name)
            .map(|s| (s.weight, s.reverse)),
        Kind::Interface => None,
    }
}

/// keepalived's rise/fall counter (`vrrp_script_child_thread()`): the result
/// runs 0..=rise+fall-1 and the tracker is OK at `rise` or above.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiseFall {
    rise: u32,
    fall: u32,
    result: u32,
    /// No result seen yet: the first one decides at once.
    fresh: bool,
}

impl RiseFall {
    /// `initial`: a reading carried over a reload (counted as settled), or
    /// None for keepalived's start (OK, or failed with `init_fail`, and the
    /// first result decides unless `init_fail`).
    pub fn new(rise: u32, fall: u32, init_fail: bool, initial: Option<bool>) -> RiseFall {
        let rise = rise.max(1);
        let fall = fall.max(1);
        let ok = initial.unwrap_or(!init_fail);
        RiseFall {
            rise,
            fall,
            result: if ok { rise + fall - 1 } else { 0 },
            fresh: initial.is_none() && !init_fail,
        }
    }

    pub fn ok(&self) -> bool {
        self.result >= self.rise
    }

    /// Records one result; returns the new state when it changed.
    pub fn record(&mut self, success: bool) -> Option<bool> {
        let before = self.ok();
        if std::mem::take(&mut self.fresh) {
            self.result = if success {
                self.rise + self.fall - 1
            } else {
                0
            };
        } else if success {
            if self.result < self.rise - 1 {
                self.result += 1;
            } else {
                self.result = self.rise + self.fall - 1;
            }
        } else if self.result > self.rise {
            self.result -= 1;
        } else {
            self.result = 0;
        }
        let after = self.ok();
        (before != after).then_some(after)
    }
}

/// Splits a command line into argv like keepalived: whitespace separates,
/// `'…'` and `"…"` group, a backslash escapes the next character outside
/// single quotes.
pub fn split_argv(cmd: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = cmd.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('\''), c) => cur.push(c),
            (_, '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                in_word = true;
            }
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

/// Why trackers could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrackError {
    #[error("starting the tracker thread: {0}")]
    Thread(#[source] std::io::Error),
}

/// The running trackers of one configuration, on their own thread; dropped
/// (on reload or exit) they stop and their children are killed.
pub struct TrackerSet {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    initial: Vec<(TrackerKey, Reading)>,
}

impl TrackerSet {
    /// Starts every tracker some instance uses. `previous` carries readings
    /// over a reload so a script keeps its state instead of starting afresh.
    pub fn start(
        cfg: &Config,
        previous: &HashMap<TrackerKey, Reading>,
        tx: mpsc::UnboundedSender<Update>,
        observer: Observer,
    ) -> Result<TrackerSet, TrackError> {
        let plan = plan(cfg);
        let used: std::collections::HashSet<TrackerKey> =
            plan.values().flatten().map(|w| w.key.clone()).collect();
        for s in &cfg.scripts {
            if !used.contains(&TrackerKey::new(Kind::Script, &s.name)) {
                warn!("Warning - script {} is not used", s.name);
            }
        }
        let mut jobs: Vec<Job> = Vec::new();
        let mut initial_readings = Vec::new();
        let prev_ok = |key: &TrackerKey| match previous.get(key) {
            Some(Reading::Ok) => Some(true),
            Some(Reading::Failed) => Some(false),
            _ => None,
        };
        let security = cfg.global.enable_script_security;
        let mut warned = false;
        for s in &cfg.scripts {
            let key = TrackerKey::new(Kind::Script, &s.name);
            if !used.contains(&key) {
                continue;
            }
            let what = script::ScriptSpec::what(&s.name, &s.script);
            match script::ScriptSpec::from_config(s, &cfg.global) {
                Ok(spec) => {
                    if spec.runs_as_root() && !security && !warned {
                        warned = true;
                        warn!("SECURITY VIOLATION - scripts are being executed but script_security not enabled.");
                    }
                    if let Some(why) = &spec.unsafe_path {
                        warn!("{}", script::unsafe_line(&what, why));
                    }
                    let initial = prev_ok(&key);
                    let rf = RiseFall::new(spec.rise, spec.fall, spec.init_fail, initial);
                    initial_readings.push((key, ok_reading(rf.ok())));
                    jobs.push(Job::Script(spec, initial));
                }
                Err(e) => error!("{}", script::refused_line(&what, &e)),
            }
        }
        for p in &cfg.probes {
            let key = TrackerKey::new(Kind::Probe, &p.name);
            if !used.contains(&key) {
                continue;
            }
            match probe::ProbeSpec::from_config(p) {
                Ok(spec) => {
                    let initial = prev_ok(&key);
                    let rf = RiseFall::new(spec.rise, spec.fall, spec.init_fail, initial);
                    initial_readings.push((key, ok_reading(rf.ok())));
                    jobs.push(Job::Probe(spec, initial));
                }
                Err(e) => error!("Disabling probe {}: {e}", p.name),
            }
        }
        for f in &cfg.track_files {
            if used.contains(&TrackerKey::new(Kind::File, &f.name)) {
                jobs.push(Job::File(f.clone()));
            }
        }
        let procs: Vec<_> = cfg
            .track_processes
            .iter()
            .filter(|p| used.contains(&TrackerKey::new(Kind::Process, &p.name)))
            .cloned()
            .collect();
        if !procs.is_empty() {
            jobs.push(Job::Processes(procs));
        }
        if jobs.is_empty() {
            // Nothing to run: no thread, no runtime, no memory for them.
            return Ok(TrackerSet {
                stop: None,
                thread: None,
                initial: initial_readings,
            });
        }
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("vrrpd-track".into())
            .spawn(move || run_jobs(jobs, tx, observer, stop_rx))
            .map_err(TrackError::Thread)?;
        Ok(TrackerSet {
            stop: Some(stop_tx),
            thread: Some(thread),
            initial: initial_readings,
        })
    }

    /// The readings scripts and probes start with (their first report
    /// repeats them), so the driver can apply them all at once.
    pub fn initial_readings(&self) -> &[(TrackerKey, Reading)] {
        &self.initial
    }
}

fn ok_reading(ok: bool) -> Reading {
    if ok {
        Reading::Ok
    } else {
        Reading::Failed
    }
}

impl Drop for TrackerSet {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

enum Job {
    Script(script::ScriptSpec, Option<bool>),
    Probe(probe::ProbeSpec, Option<bool>),
    File(crate::config::TrackFile),
    Processes(Vec<crate::config::TrackProcess>),
}

fn run_jobs(
    jobs: Vec<Job>,
    tx: mpsc::UnboundedSender<Update>,
    observer: Observer,
    stop: tokio::sync::oneshot::Receiver<()>,
) {
    // The advert path must win any contention for the CPU: this thread and
    // the scripts it forks (which inherit it) run at a lower priority.
    set_thread_nice(TRACKER_NICE);
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            error!("cannot start the tracker runtime: {e}");
            return;
        }
    };
    rt.block_on(async move {
        let mut tasks = tokio::task::JoinSet::new();
        for job in jobs {
            let tx = tx.clone();
            match job {
                Job::Script(spec, initial) => {
                    tasks.spawn(script::run(spec, initial, tx, observer.clone()));
                }
                Job::Probe(spec, initial) => {
                    tasks.spawn(probe::run(spec, initial, tx, observer.clone()));
                }
                Job::File(f) => {
                    tasks.spawn(file::run(f, tx));
                }
                Job::Processes(list) => {
                    tasks.spawn(process::run(list, tx));
                }
            }
        }
        let _ = stop.await;
        tasks.abort_all();
        // Let aborted tasks drop (their guards kill child process groups).
        while tasks.join_next().await.is_some() {}
    });
    rt.shutdown_timeout(Duration::from_millis(100));
}

/// Niceness increment of the tracker thread and the scripts it runs.
pub const TRACKER_NICE: i32 = 5;

/// Raises the calling thread's nice value by `inc` (Linux: per thread).
pub(crate) fn set_thread_nice(inc: i32) {
    // SAFETY: plain syscalls on the calling thread, no pointers involved.
    let ok = unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        let cur = libc::getpriority(libc::PRIO_PROCESS, tid);
        libc::setpriority(libc::PRIO_PROCESS, tid, cur.saturating_add(inc)) == 0
    };
    if !ok {
        warn!("cannot lower the tracker thread's priority");
    }
}

/// Sends a reading; false once the driver is gone.
pub(crate) fn send(tx: &mpsc::UnboundedSender<Update>, kind: Kind, name: &str, r: Reading) -> bool {
    tx.send(Update {
        key: TrackerKey::new(kind, name),
        reading: r,
    })
    .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(weight: i32, reverse: bool) -> Weighted {
        Weighted {
            key: TrackerKey::new(Kind::Script, "chk"),
            weight,
            reverse,
        }
    }

    #[test]
    fn positive_weight_adds_while_ok() {
        assert_eq!(w(10, false).effect(Reading::Ok).adjustment, 10);
        assert_eq!(w(10, false).effect(Reading::Failed).adjustment, 0);
        assert_eq!(w(10, true).effect(Reading::Ok).adjustment, -10);
    }

    #[test]
    fn negative_weight_subtracts_while_failed() {
        assert_eq!(w(-20, false).effect(Reading::Ok).adjustment, 0);
        assert_eq!(w(-20, false).effect(Reading::Failed).adjustment, -20);
        assert_eq!(w(-20, true).effect(Reading::Failed).adjustment, 20);
    }

    #[test]
    fn zero_weight_faults_on_failure_or_on_ok_when_reversed() {
        assert!(w(0, false).effect(Reading::Failed).fault);
        assert!(!w(0, false).effect(Reading::Ok).fault);
        assert!(w(0, true).effect(Reading::Ok).fault);
        assert!(!w(0, true).effect(Reading::Failed).fault);
    }

    #[test]
    fn file_value_times_weight_and_fault_at_minus_254() {
        assert_eq!(w(2, false).effect(Reading::Value(-5)).adjustment, -10);
        assert_eq!(w(2, true).effect(Reading::Value(-5)).adjustment, 10);
        assert!(w(1, false).effect(Reading::Value(-254)).fault);
        assert!(!w(1, false).effect(Reading::Value(-253)).fault);
        assert!(w(0, false).effect(Reading::Value(3)).fault);
        assert!(!w(0, false).effect(Reading::Value(0)).fault);
    }

    #[test]
    fn rise_fall_follows_keepalived_counter() {
        let mut rf = RiseFall::new(2, 3, false, None);
        assert!(rf.ok());
        // The first result decides at once.
        assert_eq!(rf.record(false), Some(false));
        assert_eq!(rf.record(true), None);
        assert_eq!(rf.record(true), Some(true));
        assert_eq!(rf.record(false), None);
        assert_eq!(rf.record(false), None);
        assert_eq!(rf.record(true), None, "a success resets the fall count");
        assert_eq!(rf.record(false), None);
        assert_eq!(rf.record(false), None);
        assert_eq!(rf.record(false), Some(false));
    }

    #[test]
    fn init_fail_needs_rise_successes() {
        let mut rf = RiseFall::new(3, 1, true, None);
        assert!(!rf.ok());
        assert_eq!(rf.record(true), None);
        assert_eq!(rf.record(true), None);
        assert_eq!(rf.record(true), Some(true));
    }

    #[test]
    fn argv_split_honours_quotes_and_escapes() {
        assert_eq!(
            split_argv(r#"/bin/check -x 'a b' "c d" e\ f"#),
            ["/bin/check", "-x", "a b", "c d", "e f"]
        );
        assert_eq!(
            split_argv("  killall   -0 apache2 "),
            ["killall", "-0", "apache2"]
        );
        assert_eq!(split_argv(r#"x """#), ["x", ""]);
    }
}
