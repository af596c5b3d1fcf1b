//! The state record of an in-place upgrade (`vrrpd upgrade`): what the
//! running daemon hands the binary now on disk so that it carries on
//! exactly where the old one is, and the pure halves of the hand-over:
//! [`Driver::record`] builds the core's part, [`Driver::restore`] continues
//! from it. The shell (`crate::daemon::upgrade`) adds what only it knows
//! (the descriptors, the addresses the worker holds, tracker readings) and
//! carries the record over a socket pair as one JSON line.
//!
//! # Compatibility rule
//!
//! The record has a major `version` ([`RECORD_VERSION`]). A binary reads
//! the versions in [`READS`] and refuses any other before it touches
//! anything; the old daemon then keeps running. Within one version a
//! change must be readable both ways: new fields carry `#[serde(default)]`
//! (an older record lacks them) and unknown fields are ignored (a newer
//! record has them), so any two releases with the same record version can
//! hand over in either direction (upgrade and downgrade). A change of
//! meaning, or a field that cannot default, takes a new version; the
//! release introducing version N+1 keeps reading N, so upgrades always
//! work, and a downgrade across it is refused (use `systemctl restart`).
//!
//! Times are signed microseconds from the moment the record was taken
//! (`taken`): the new process's clock has another epoch, and the shell
//! tells the restore how long the record travelled.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::lateness::Lateness;
use super::running::{Demotion, Faults, Running, SocketKey};
use super::{params, sync, Driver, Effect};
use crate::config::{Config, InstanceId};
use crate::net::netlink::AddressSpec;
use crate::net::socket::DropReason;
use crate::proto::fsm::{Input, ParamsError, RouterRecord, State, VirtualRouter};
use crate::proto::Instant;
use crate::track::{Reading, TrackerKey};

/// The record version this build writes.
pub const RECORD_VERSION: u64 = 1;
/// The record versions this build reads.
pub const READS: &[u64] = &[1];

/// Everything the running daemon hands over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The record's major version (see the compatibility rule above).
    pub version: u64,
    /// The release that wrote it, for the log lines.
    pub vrrpd_version: String,
    /// The old daemon's process id.
    pub pid: u32,
    /// The old core's clock when the record was taken: the times below
    /// are relative to it, and the new process continues this clock.
    pub clock_us: u64,
    /// CLOCK_MONOTONIC then, so the new process knows how long the record
    /// travelled.
    pub taken_monotonic_us: u64,
    pub driver: DriverRecord,
    /// The raw VRRP sockets, as descriptors inherited by the new process.
    pub sockets: Vec<SocketRecord>,
    /// The control socket's listening descriptor.
    pub control_fd: Option<i32>,
    /// Virtual addresses on the interfaces, as the address worker knows them.
    pub addresses: Vec<AddressRecord>,
    /// Routes and rules in place, as the worker knows them (absent from a
    /// record of a release without them: none).
    #[serde(default)]
    pub routes: Vec<RouteRecord>,
    pub trackers: Vec<TrackerRecord>,
    /// Accept mode's nftables table as built (absent from a record of a
    /// release without it: the successor starts fresh).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firewall: Option<super::firewall::FirewallRecord>,
    /// The base interfaces' `arp_ignore` / `arp_filter` / `arp_announce`
    /// before the VMACs' sysctls changed them, for the new process to put
    /// back at stop.
    #[serde(default)]
    pub vmac_bases: BTreeMap<String, [u32; super::vmac::BASE_SYSCTLS.len()]>,
}

/// One VRRP socket and the descriptor it is under in the new process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SocketRecord {
    pub key: SocketKey,
    pub fd: i32,
}

/// A virtual address in place: added by the old daemon (`foreign` false,
/// removed when given up) or there before it (`foreign`, never removed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressRecord {
    pub owner: String,
    pub ifindex: u32,
    pub spec: AddressSpec,
    pub foreign: bool,
}

/// A route or rule in place: added by the old daemon (`foreign` false) or
/// there before it (`foreign`, never removed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteRecord {
    pub owner: String,
    pub entry: super::routes::Entry,
    pub foreign: bool,
}

/// A tracker's last reading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackerRecord {
    pub key: TrackerKey,
    pub reading: Reading,
}

/// The driver core's part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriverRecord {
    pub instances: Vec<InstanceRecord>,
    /// Sync groups by name and their state.
    pub groups: Vec<(String, State)>,
    pub unknown_vrid: u64,
    pub socket_drops: BTreeMap<String, u64>,
}

/// One running instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceRecord {
    pub name: String,
    /// What must match the new configuration's instance of that name.
    pub identity: InstanceId,
    pub ifindex: u32,
    /// The socket it uses (the descriptor is in [`Record::sockets`]).
    pub socket_key: SocketKey,
    pub router: RouterRecord,
    pub faults: Faults,
    pub track_adjustment: i32,
    pub state_since_in: i64,
    pub demoted: Option<DemotionRecord>,
    pub send_failing_since_in: Option<i64>,
    pub probe_in: Option<i64>,
    pub drops: BTreeMap<String, u64>,
    pub lateness: Lateness,
    /// Its VMAC, which the new process adopts untouched.
    #[serde(default)]
    pub vmac: Option<super::vmac::VmacLink>,
}

/// Who demoted an instance ([`Demotion`]), with the time as Unix ms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemotionRecord {
    pub by_uid: u32,
    pub since_unix_ms: u64,
    pub note: Option<String>,
}

/// Why a record is refused; nothing has been touched then.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RestoreError {
    #[error("unreadable state record: {0}")]
    Unreadable(String),
    #[error(
        "state record version {found} from vrrpd {from} cannot be read by vrrpd {ours} (reads {reads:?}); use a restart"
    )]
    Version {
        found: u64,
        from: String,
        ours: String,
        reads: Vec<u64>,
    },
    #[error(
        "({instance}) is configured but not running in the old daemon; reload it first or restart"
    )]
    NotRunning { instance: String },
    #[error("({instance}) runs in the old daemon but is not configured any more; reload first or restart")]
    NotConfigured { instance: String },
    #[error("({instance}) {what} differs from the running instance; reload first or restart")]
    Identity { instance: String, what: String },
    #[error("({instance}) {source}")]
    Params {
        instance: String,
        #[source]
        source: ParamsError,
    },
}

/// Parses a record, refusing a version this build does not read before
/// looking at anything else in it.
pub fn parse(text: &str) -> Result<Record, RestoreError> {
    #[derive(Deserialize)]
    struct Head {
        version: u64,
        #[serde(default)]
        vrrpd_version: String,
    }
    let head: Head =
        serde_json::from_str(text).map_err(|e| RestoreError::Unreadable(e.to_string()))?;
    if !READS.contains(&head.version) {
        return Err(RestoreError::Version {
            found: head.version,
            from: head.vrrpd_version,
            ours: env!("CARGO_PKG_VERSION").to_string(),
            reads: READS.to_vec(),
        });
    }
    serde_json::from_str(text).map_err(|e| RestoreError::Unreadable(e.to_string()))
}

/// Counter names are `&'static str` in the core: map a recorded one back
/// to its static name (an unknown one, from another release, is dropped).
fn counter_name(name: &str) -> Option<&'static str> {
    const OTHERS: [&str; 5] = [
        "own_address",
        "not_a_peer",
        "send_error",
        "socket_error",
        "unknown_vrid",
    ];
    DropReason::ALL
        .iter()
        .map(|r| r.as_str())
        .chain(OTHERS)
        .find(|n| *n == name)
}

fn counters_out(map: &super::running::Tally) -> BTreeMap<String, u64> {
    map.iter().map(|(k, v)| ((*k).to_string(), *v)).collect()
}

fn counters_in(map: &BTreeMap<String, u64>) -> super::running::Tally {
    map.iter()
        .filter_map(|(k, v)| counter_name(k).map(|k| (k, *v)))
        .collect()
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The first field of `new` that differs from `old`, named for the
/// refusal.
fn identity_difference(old: &InstanceId, new: &InstanceId) -> Option<String> {
    if old.vrid != new.vrid {
        return Some(format!(
            "virtual_router_id ({} -> {})",
            old.vrid.get(),
            new.vrid.get()
        ));
    }
    if old.family != new.family {
        return Some(format!("address family ({} -> {})", old.family, new.family));
    }
    if old.interface != new.interface {
        return Some(format!(
            "interface ({} -> {})",
            old.interface.as_deref().unwrap_or("none"),
            new.interface.as_deref().unwrap_or("none")
        ));
    }
    if old.unicast != new.unicast || old.unicast_src != new.unicast_src {
        return Some("unicast mode or unicast_src_ip".to_string());
    }
    None
}

impl Driver {
    /// The core's part of the record, at `now`.
    pub fn record(&self, now: Instant) -> DriverRecord {
        let rel = |t: Option<Instant>| t.map(|t| t.offset_from(now));
        DriverRecord {
            instances: self
                .instances
                .iter()
                .map(|r| InstanceRecord {
                    name: r.cfg.name.clone(),
                    identity: r.cfg.identity(),
                    ifindex: r.ifindex,
                    socket_key: r.socket_key.clone(),
                    router: r.router.record(now),
                    faults: r.faults,
                    track_adjustment: r.track_adjustment,
                    state_since_in: r.state_since.offset_from(now),
                    demoted: r.demoted.as_ref().map(|d| DemotionRecord {
                        by_uid: d.by_uid,
                        since_unix_ms: unix_ms(d.since),
                        note: d.note.clone(),
                    }),
                    send_failing_since_in: rel(r.send_failing_since),
                    probe_in: rel(r.probe_at),
                    drops: counters_out(&r.drops),
                    lateness: r.lateness.clone(),
                    vmac: r.vmac.as_deref().cloned(),
                })
                .collect(),
            groups: self
                .groups
                .names_and_states()
                .map(|(n, s)| (n.to_string(), s))
                .collect(),
            unknown_vrid: self.unknown_vrid,
            socket_drops: self
                .socket_drops
                .iter()
                .map(|(k, v)| ((*k).to_string(), *v))
                .collect(),
        }
    }

    /// A driver continuing from `record`, taken at `taken` on this clock,
    /// for `config`. `started` has one [`Running`] per configured instance
    /// as the shell opened it (interface, socket, addresses); its router is
    /// replaced by the recorded one. The instance sets must match by name
    /// and identity, else the record is refused naming the instance.
    ///
    /// Nothing is run through the routers, so there is no transition, no
    /// advert and no announcement; timers continue where they were. An
    /// instance whose parameters differ from the recorded ones (the file
    /// was edited since the old daemon loaded it) gets them as a reload
    /// would give them; the effects of that are returned, after
    /// [`Effect::InstancesChanged`].
    pub fn restore(
        taken: Instant,
        record: &DriverRecord,
        config: &Config,
        started: Vec<Running>,
    ) -> Result<(Driver, Vec<Effect>), RestoreError> {
        for old in &record.instances {
            if !config.instances.iter().any(|c| c.name == old.name) {
                return Err(RestoreError::NotConfigured {
                    instance: old.name.clone(),
                });
            }
        }
        let mut started = started;
        let mut instances = Vec::new();
        for cfg in &config.instances {
            let Some(old) = record.instances.iter().find(|r| r.name == cfg.name) else {
                return Err(RestoreError::NotRunning {
                    instance: cfg.name.clone(),
                });
            };
            if let Some(what) = identity_difference(&old.identity, &cfg.identity()) {
                return Err(RestoreError::Identity {
                    instance: cfg.name.clone(),
                    what,
                });
            }
            let Some(pos) = started.iter().position(|r| r.cfg.name == cfg.name) else {
                return Err(RestoreError::NotRunning {
                    instance: cfg.name.clone(),
                });
            };
            let mut running = started.swap_remove(pos);
            if running.ifindex != old.ifindex {
                return Err(RestoreError::Identity {
                    instance: cfg.name.clone(),
                    what: format!("interface index ({} -> {})", old.ifindex, running.ifindex),
                });
            }
            // An older daemon did not record VMACs: the one found is kept.
            if let (Some(old_vmac), Some(found)) = (&old.vmac, &running.vmac) {
                if old_vmac != &**found {
                    return Err(RestoreError::Identity {
                        instance: cfg.name.clone(),
                        what: format!(
                            "VMAC ({} #{} -> {} #{})",
                            old_vmac.name, old_vmac.ifindex, found.name, found.ifindex
                        ),
                    });
                }
            }
            running.router =
                VirtualRouter::restore(old.router.clone(), taken).map_err(|source| {
                    RestoreError::Params {
                        instance: cfg.name.clone(),
                        source,
                    }
                })?;
            running.faults = old.faults;
            running.track_adjustment = old.track_adjustment;
            running.state_since = taken.offset(old.state_since_in);
            running.demoted = old.demoted.as_ref().map(|d| {
                Box::new(Demotion {
                    by_uid: d.by_uid,
                    since: SystemTime::UNIX_EPOCH + Duration::from_millis(d.since_unix_ms),
                    note: d.note.clone(),
                })
            });
            running.send_failing_since = old.send_failing_since_in.map(|o| taken.offset(o));
            running.probe_at = old.probe_in.map(|o| taken.offset(o));
            running.rebinding = None;
            running.drops = counters_in(&old.drops);
            running.lateness = old.lateness.clone();
            instances.push(running);
        }
        let mut driver = Driver {
            instances,
            log_unknown_vrids: config.global.log_unknown_vrids,
            unknown_vrid: record.unknown_vrid,
            socket_drops: record
                .socket_drops
                .iter()
                .filter_map(|(k, v)| counter_name(k).map(|k| (k, *v)))
                .collect(),
            ..Driver::default()
        };
        driver.index_vrids();
        driver.configure_sync_groups(config);
        for (name, state) in &record.groups {
            driver.groups.set_state(name, *state);
        }
        driver.static_config = super::routes::static_entries(config);
        driver.configure_link_delays(config);
        let mut out = vec![Effect::InstancesChanged];
        // The configuration may have changed since the old daemon loaded
        // it: apply the difference as a reload (keepalived §2.12) would.
        for i in 0..driver.instances.len() {
            let r = &mut driver.instances[i];
            let mut wanted = params::params(&r.cfg, r.router.params().source);
            wanted.sync_group = sync::configured_member(config, &r.cfg.name);
            if wanted != *r.router.params() {
                let actions = r.router.handle(taken, Input::Reload(Box::new(wanted)));
                super::note_transition(r, taken, &actions);
                driver.push_actions(i, actions, &mut out);
            }
        }
        // What a Master and the configuration hold, wanted again: the
        // shell adopted what the old daemon had in place before running
        // these, so only what it had not (a route still being retried)
        // costs a request.
        driver.deadlines.mark_stale(); // every instance's routes, and its deadline
        driver.sync_routes(taken, &mut out);
        Ok((driver, out))
    }
}
