//! The typed view of the daemon and each instance that `vrrpd status
//! --json` and the first events of `vrrpd status -w` are rendered from.
//! Its core, [`Counters`] (state, priorities, Master, counters, lateness),
//! is also what the Prometheus metrics and the keepalived dumps render, so
//! each of those values is read from the driver in one place.
//!
//! The field names are an interface: scripts parse them. They are listed
//! in `docs/status-schema.md`, and a test fails when a field is added,
//! renamed or removed without that list (and, for a rename or a removal,
//! [`SCHEMA`]) changing with it. Adding a field keeps the schema number;
//! renaming or removing one bumps it.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::worker::VipStatus;
use super::{admin, messages};
use crate::driver::lateness::Lateness;
use crate::driver::work::AddressState;
use crate::driver::{Faults, Running};
use crate::proto::fsm::{MasterInfo, State, Stats};
use crate::proto::Instant;

/// One reading of the core's clock and of the wall clock, taken by the
/// shell when it renders: the core keeps time only on its own monotonic
/// clock, and outputs turn those instants into wall time with this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wall {
    /// The core's `now` at the reading.
    pub now: Instant,
    /// The wall clock at the same moment.
    pub wall: SystemTime,
}

impl Wall {
    /// `t` (on the core's clock, not after `now`) on the wall clock.
    pub fn at(&self, t: Instant) -> SystemTime {
        self.wall
            .checked_sub(self.age(t))
            .unwrap_or(SystemTime::UNIX_EPOCH)
    }

    /// How long ago `t` was.
    pub fn age(&self, t: Instant) -> Duration {
        self.now.saturating_since(t)
    }
}

/// The status schema's version, `schema` in `vrrpd status --json`.
pub const SCHEMA: u32 = 1;

/// `vrrpd status --json`.
#[derive(Debug, Serialize)]
pub struct StatusView {
    pub schema: u32,
    /// The daemon's version.
    pub version: &'static str,
    pub uptime_s: u64,
    /// Adverts for a VRID no instance runs.
    pub unknown_vrid_adverts: u64,
    /// Datagrams dropped before an instance could be named, and socket
    /// failures, by reason.
    pub socket_drops: BTreeMap<&'static str, u64>,
    pub instances: Vec<InstanceView>,
    /// The configuration's static routes and rules (`static_routes`,
    /// `static_rules`) and where each stands.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub static_routes: Vec<RouteView>,
}

/// A route or rule and where it stands in the kernel, as the worker
/// knows it.
#[derive(Debug, Serialize)]
pub struct RouteView {
    /// "route" or "rule".
    pub kind: &'static str,
    /// keepalived's text for it (`ip route` / `ip rule` grammar).
    pub entry: String,
    /// installed, pending, failed (with op, error, attempts),
    /// present_before or absent.
    #[serde(flatten)]
    pub state: crate::driver::routes::EntryState,
}

impl RouteView {
    /// The views of `owner`'s entries among `all` (owner, entry, state).
    pub fn of(
        owner: &str,
        all: &[(
            String,
            crate::driver::routes::Entry,
            crate::driver::routes::EntryState,
        )],
    ) -> Vec<RouteView> {
        all.iter()
            .filter(|(o, _, _)| o == owner)
            .map(|(_, e, st)| RouteView {
                kind: if e.is_route() { "route" } else { "rule" },
                entry: e.text(),
                state: st.clone(),
            })
            .collect()
    }
}

/// The typed core every output renders an instance from: its identity,
/// state, priorities, Master and counters, read from the driver in one
/// place. [`InstanceView`] (status, watch) is built from it, the metrics
/// publisher stores it into its atomics, and the keepalived dumps print it.
///
/// It borrows and copies, never allocates: the metrics publisher builds one
/// after every input the driver handles (every advert a Backup receives),
/// so at 100+ instances the per-advert path must stay a handful of copies.
/// The strings and maps of [`InstanceView`] are built only when asked for
/// (`vrrpd status`, a watch's first events).
#[derive(Debug, Clone, Copy)]
pub struct Counters<'a> {
    pub name: &'a str,
    pub interface: &'a str,
    pub vrid: u8,
    pub version: u8,
    pub state: State,
    /// When it entered `state`, on the core's clock (see [`Counters::since`]).
    pub state_since: Instant,
    pub base_priority: u8,
    pub effective_priority: u8,
    pub tracker_adjustment: i32,
    pub master: Option<MasterInfo>,
    /// The Master's advert interval as a Backup uses it (ours until a
    /// Master is heard).
    pub master_adver_int: Duration,
    /// Our advert source address.
    pub source: IpAddr,
    /// Whether the state machine wants the VIPs in place (keepalived's
    /// `vipset`); what the kernel reports is [`InstanceView::vips_held`].
    pub holds_addresses: bool,
    pub stats: &'a Stats,
    /// Adverts dropped before the state machine (and refused sends,
    /// `send_error`), by reason.
    pub drops: &'a crate::driver::Tally,
    pub lateness: &'a Lateness,
}

/// The state machine's refusals, by the reason names `errors` uses.
pub(crate) const FSM_ERRORS: [&str; 4] = [
    "version_mismatch",
    "vrid_mismatch",
    "auth_mismatch",
    "interval_mismatch",
];

impl<'a> Counters<'a> {
    pub fn of(r: &'a Running) -> Counters<'a> {
        Counters {
            name: &r.cfg.name,
            interface: &r.ifname,
            vrid: r.cfg.vrid.get(),
            version: r.cfg.version.number(),
            state: r.router.state(),
            state_since: r.state_since,
            base_priority: r.cfg.priority.get(),
            effective_priority: r.router.effective_priority().get(),
            tracker_adjustment: r.track_adjustment,
            master: r.router.master(),
            master_adver_int: r.router.master_adver_interval().as_duration(),
            source: r.router.params().source,
            holds_addresses: r.router.holds_addresses(),
            stats: r.router.stats(),
            drops: &r.drops,
            lateness: &r.lateness,
        }
    }

    /// When it entered its state, on the wall clock.
    pub fn since(&self, wall: Wall) -> SystemTime {
        wall.at(self.state_since)
    }

    /// The state machine's refusals, named as in `errors`.
    fn fsm_errors(&self) -> [(&'static str, u64); 4] {
        let st = self.stats;
        let n = [
            st.dropped_version,
            st.dropped_vrid,
            st.dropped_auth,
            st.dropped_interval,
        ];
        std::array::from_fn(|i| (FSM_ERRORS[i], n[i]))
    }

    /// Every dropped or refused advert by reason (`errors` in status):
    /// the drops, then the state machine's mismatches; a reason may repeat
    /// and zeros are listed. Allocation-free.
    pub fn errors(&self) -> impl Iterator<Item = (&'static str, u64)> + 'a {
        let fsm = self.fsm_errors();
        self.drops.iter().map(|(k, v)| (*k, *v)).chain(fsm)
    }

    /// The count of one `errors` reason.
    pub fn error(&self, reason: &str) -> u64 {
        self.errors()
            .filter(|(k, _)| *k == reason)
            .map(|(_, n)| n)
            .sum()
    }
}

/// One instance.
#[derive(Debug, Serialize)]
pub struct InstanceView {
    pub name: String,
    pub interface: String,
    pub vrid: u8,
    pub version: u8,
    /// MASTER, BACKUP, FAULT or INIT (keepalived's names).
    pub state: &'static str,
    /// Why it is in that state, in words.
    pub reason: String,
    /// When it entered it (UTC, RFC 3339) and how long ago.
    pub state_since: String,
    pub state_age_s: u64,
    pub demoted: Option<DemotionView>,
    pub base_priority: u8,
    pub effective_priority: u8,
    pub tracker_adjustment: i32,
    pub trackers: Vec<TrackerView>,
    pub faults: Faults,
    pub master: Option<MasterView>,
    /// Our advert source address.
    pub source: String,
    /// In place on the interface (a VIP the kernel refused is not held).
    pub vips_held: Vec<String>,
    /// VIPs the kernel refused, retried with backoff.
    pub vip_errors: Vec<VipErrorView>,
    /// Its virtual routes and rules, as the worker knows them (installed
    /// while Master).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteView>,
    /// `auth_hmac`, when configured (key ids only, never key material).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_hmac: Option<AuthView>,
    pub adverts_sent: u64,
    pub adverts_received: u64,
    /// Adverts dropped before the state machine, by reason.
    pub drops: BTreeMap<&'static str, u64>,
    /// Every dropped or refused advert by reason: `drops` and the state
    /// machine's mismatches.
    pub errors: BTreeMap<&'static str, u64>,
    pub stats: Stats,
    pub lateness: String,
    pub lateness_count: u64,
    pub lateness_p50_us: u64,
    pub lateness_p99_us: u64,
    pub lateness_max_us: u64,
}

/// An instance's `auth_hmac` policy, for checking a rollout or rotation.
#[derive(Debug, Serialize)]
pub struct AuthView {
    /// "receive-only", "permissive" or "enforce".
    pub mode: &'static str,
    pub active_key: u8,
    pub key_ids: Vec<u8>,
    /// "time" or "monotonic".
    pub anti_replay: &'static str,
    /// The freshness window in force (time mode).
    pub time_window_s: Option<u32>,
}

fn auth_view(r: &Running) -> Option<AuthView> {
    use crate::proto::auth_hmac::AntiReplay;
    let a = r.cfg.auth_hmac.as_ref()?;
    let (anti_replay, time_window_s) = match a.anti_replay(r.cfg.advert_int) {
        AntiReplay::Time { window } => ("time", Some(window)),
        AntiReplay::Monotonic => ("monotonic", None),
    };
    Some(AuthView {
        mode: a.mode.as_str(),
        active_key: a.active_key,
        key_ids: a.keys.iter().map(|k| k.id).collect(),
        anti_replay,
        time_window_s,
    })
}

/// A VIP the kernel refused.
#[derive(Debug, Serialize)]
pub struct VipErrorView {
    pub address: String,
    /// "add" or "remove".
    pub op: &'static str,
    pub error: String,
    pub attempts: u32,
    /// When the next attempt is.
    pub retry_in_ms: Option<u64>,
}

fn vip_errors(r: &Running, vips: &[VipStatus]) -> Vec<VipErrorView> {
    vips.iter()
        .filter(|v| v.owner == r.name())
        .filter_map(|v| match &v.state {
            AddressState::Failed {
                op,
                error,
                attempts,
                ..
            } => Some(VipErrorView {
                address: v.addr.to_string(),
                op: op.as_str(),
                error: error.clone(),
                attempts: *attempts,
                retry_in_ms: v
                    .retry_in
                    .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            }),
            _ => None,
        })
        .collect()
}

#[derive(Debug, Serialize)]
pub struct DemotionView {
    pub by_uid: u32,
    pub since: String,
    pub reason: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct MasterView {
    pub address: String,
    pub priority: u8,
    pub advert_interval_cs: u16,
}

/// One tracker of an instance and what it does to the priority now.
#[derive(Debug, Serialize)]
pub struct TrackerView {
    pub kind: &'static str,
    pub name: String,
    pub weight: i32,
    pub reverse: bool,
    /// "ok", "failed", a number (a file's value), or null before the first
    /// reading.
    pub reading: serde_json::Value,
    pub adjustment: i32,
    pub fault: bool,
}

/// The first events of `vrrpd status -w`: each instance's state.
#[derive(Debug, Serialize)]
pub struct WatchState {
    pub event: &'static str,
    pub time: String,
    pub instance: String,
    pub state: &'static str,
    pub reason: String,
    pub since: String,
    pub priority: u8,
    pub vips_held: Vec<String>,
    pub master: Option<String>,
    pub demoted: Option<DemotionView>,
}

fn micros(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

fn demotion(r: &Running) -> Option<DemotionView> {
    r.demoted.as_ref().map(|d| DemotionView {
        by_uid: d.by_uid,
        since: crate::output::control::utc_timestamp(d.since),
        reason: d.note.clone(),
    })
}

/// The view of `r`, with its trackers as the shell knows them and its
/// addresses as the worker reports them.
pub fn instance(
    r: &Running,
    trackers: Vec<TrackerView>,
    vips: &[VipStatus],
    wall: Wall,
) -> InstanceView {
    let c = Counters::of(r);
    let drops: BTreeMap<&'static str, u64> = c.drops.iter().map(|(k, v)| (*k, *v)).collect();
    let mut errors: BTreeMap<&'static str, u64> = BTreeMap::new();
    for (why, n) in c.errors() {
        // A mismatch the state machine never saw is not listed.
        if n > 0 || drops.contains_key(why) {
            *errors.entry(why).or_default() += n;
        }
    }
    InstanceView {
        name: c.name.to_string(),
        interface: c.interface.to_string(),
        vrid: c.vrid,
        version: c.version,
        state: c.state.keepalived_name(),
        reason: messages::reason(r.router.state_reason()),
        state_since: crate::output::control::utc_timestamp(c.since(wall)),
        state_age_s: wall.age(c.state_since).as_secs(),
        demoted: demotion(r),
        base_priority: c.base_priority,
        effective_priority: c.effective_priority,
        tracker_adjustment: c.tracker_adjustment,
        trackers,
        faults: r.faults,
        master: c.master.map(|m| MasterView {
            address: m.address.to_string(),
            priority: m.priority.get(),
            advert_interval_cs: m.advert_interval.get(),
        }),
        source: c.source.to_string(),
        vips_held: admin::vips_held(r, vips),
        vip_errors: vip_errors(r, vips),
        routes: Vec::new(),
        auth_hmac: auth_view(r),
        adverts_sent: c.stats.adverts_sent,
        adverts_received: c.stats.adverts_received,
        drops,
        errors,
        stats: c.stats.clone(),
        lateness: c.lateness.to_string(),
        lateness_count: c.lateness.count(),
        lateness_p50_us: micros(c.lateness.quantile(0.5)),
        lateness_p99_us: micros(c.lateness.quantile(0.99)),
        lateness_max_us: micros(c.lateness.max()),
    }
}

/// The watch snapshot event of `r`.
pub fn watch_state(r: &Running, vips: &[VipStatus], wall: Wall) -> WatchState {
    WatchState {
        event: "state",
        time: crate::output::control::utc_timestamp(wall.wall),
        instance: r.name().to_string(),
        state: r.router.state().keepalived_name(),
        reason: messages::reason(r.router.state_reason()),
        since: admin::state_since(r, wall),
        priority: r.router.effective_priority().get(),
        vips_held: admin::vips_held(r, vips),
        master: r.router.master().map(|m| m.address.to_string()),
        demoted: demotion(r),
    }
}

/// Every field path of a JSON value: `a`, `a.b`, `list[].c`; map keys
/// chosen by data (drop reasons) are not part of the schema and are cut
/// at their map.
#[cfg(test)]
fn field_paths(value: &serde_json::Value, prefix: &str, open_maps: &[&str], out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            if open_maps.contains(&prefix) {
                return;
            }
            for (k, v) in map {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                out.push(path.clone());
                field_paths(v, &path, open_maps, out);
            }
        }
        serde_json::Value::Array(items) => {
            if let Some(first) = items.first() {
                field_paths(first, &format!("{prefix}[]"), open_maps, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::{Demotion, Running, SocketKey};
    use crate::proto::Family;

    fn test_wall() -> Wall {
        Wall {
            now: Instant::from_millis(90_000),
            wall: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        }
    }

    /// A running VI_1 that an operator demoted (with `note`).
    fn demoted_instance(note: Option<&str>) -> Running {
        let text = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 100\n virtual_ipaddress {\n  192.0.2.30\n }\n}\n";
        let loaded = crate::config::load_str("s.conf", text, &Default::default());
        let cfg = loaded.config.instances[0].clone();
        let router = crate::driver::new_router(&cfg, "192.0.2.20".parse().unwrap()).unwrap();
        let key = SocketKey {
            ifindex: 2,
            family: Family::Ipv4,
            unicast_source: None,
        };
        let mut r = Running::new(cfg, router, 2, key, Default::default());
        r.demoted = Some(Box::new(Demotion {
            by_uid: 0,
            since: std::time::SystemTime::UNIX_EPOCH,
            note: note.map(String::from),
        }));
        r
    }

    /// A view with every optional part present.
    fn sample() -> serde_json::Value {
        let mut r = demoted_instance(Some("maintenance"));
        r.drops.insert("ttl", 1);
        let trackers = vec![TrackerView {
            kind: "script",
            name: "chk".into(),
            weight: -10,
            reverse: false,
            reading: "ok".into(),
            adjustment: 0,
            fault: false,
        }];
        let mut view = instance(&r, trackers, &[], test_wall());
        view.master = Some(MasterView {
            address: "192.0.2.21".into(),
            priority: 101,
            advert_interval_cs: 100,
        });
        view.vips_held = vec!["192.0.2.30".into()];
        view.auth_hmac = Some(AuthView {
            mode: "enforce",
            active_key: 1,
            key_ids: vec![1, 2],
            anti_replay: "time",
            time_window_s: Some(5),
        });
        view.vip_errors = vec![VipErrorView {
            address: "192.0.2.31".into(),
            op: "add",
            error: "adding 192.0.2.31 on ifindex 2: Permission denied".into(),
            attempts: 3,
            retry_in_ms: Some(400),
        }];
        let status = StatusView {
            schema: SCHEMA,
            version: "0",
            uptime_s: 1,
            unknown_vrid_adverts: 0,
            socket_drops: BTreeMap::from([("oversized", 1)]),
            instances: vec![view],
            static_routes: Vec::new(),
        };
        serde_json::to_value(status).unwrap()
    }

    /// The documented lists: the `status` and `watch` code blocks of
    /// docs/status-schema.md.
    fn documented(block: &str) -> (u32, Vec<String>) {
        let doc = include_str!("../../docs/status-schema.md");
        let schema = doc
            .lines()
            .find_map(|l| l.strip_prefix("Schema version: "))
            .and_then(|v| v.trim().parse().ok())
            .expect("a 'Schema version: N' line");
        let fence = format!("```{block}");
        let start = doc.find(&fence).expect("the block") + fence.len();
        let end = start + doc[start..].find("```").expect("its end");
        let fields = doc[start..end]
            .lines()
            .map(|l| l.split_whitespace().next().unwrap_or("").to_string())
            .filter(|l| !l.is_empty())
            .collect();
        (schema, fields)
    }

    const OPEN_MAPS: [&str; 4] = [
        "socket_drops",
        "instances[].drops",
        "instances[].errors",
        "instances[].trackers[].reading",
    ];

    #[test]
    fn status_fields_are_the_documented_ones() {
        let mut paths = Vec::new();
        field_paths(&sample(), "", &OPEN_MAPS, &mut paths);
        paths.sort();
        let (schema, mut doc) = documented("status");
        doc.sort();
        assert_eq!(schema, SCHEMA, "docs/status-schema.md names another schema");
        assert_eq!(
            paths, doc,
            "status --json fields changed: update docs/status-schema.md, and bump SCHEMA for a rename or removal"
        );
    }

    #[test]
    fn watch_state_fields_are_the_documented_ones() {
        let r = demoted_instance(None);
        let mut w = watch_state(&r, &[], test_wall());
        w.master = Some("192.0.2.21".into());
        w.vips_held = vec!["192.0.2.30".into()];
        let mut paths = Vec::new();
        field_paths(&serde_json::to_value(w).unwrap(), "", &[], &mut paths);
        paths.sort();
        let (_, mut doc) = documented("watch");
        doc.sort();
        assert_eq!(
            paths, doc,
            "status -w state fields changed: update docs/status-schema.md"
        );
    }

    #[test]
    fn a_renamed_field_is_caught() {
        let mut value = sample();
        let inst = &mut value["instances"][0];
        let v = inst["state"].take();
        inst.as_object_mut().unwrap().remove("state");
        inst["status"] = v;
        let mut paths = Vec::new();
        field_paths(&value, "", &OPEN_MAPS, &mut paths);
        let (_, doc) = documented("status");
        assert!(doc.contains(&"instances[].state".to_string()));
        assert!(!paths.contains(&"instances[].state".to_string()));
    }
}
