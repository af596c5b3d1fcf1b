//! The runtime record: what the daemon holds right now, kept in a file so
//! that `vrrpd resign` can release exactly that after a crash, whatever has
//! happened to the configuration since. Pure: the format, building it from
//! the driver's instances and the address worker's view, and deciding when
//! to write it ([`Writes`]); the shell (`crate::daemon::record`) does the
//! file I/O.
//!
//! Per instance it says everything a priority-0 advert needs (interface,
//! VRID, version, family, source, destinations, interval, advertised
//! addresses, PASS password, checksum mode) and the addresses the kernel
//! confirmed the daemon added and has not removed since, with the prefix
//! they were added with (the kernel deletes an address only with its own).
//!
//! # Versions
//!
//! [`Record::version`] is [`VERSION`]. A reader accepts exactly the
//! versions it knows and refuses any other, whole, before reading another
//! field: releasing half of what a newer daemon held, or the wrong
//! addresses, is worse than falling back to the configuration. Any change
//! to the format, even an added field, takes a new version; a reader keeps
//! reading every older version it knew, so a `resign` of a newer vrrpd
//! still releases what an older daemon recorded (an upgrade, then a crash).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::params::{checksum_mode, destinations};
use super::Running;
use crate::config::Instance;
use crate::net::netlink::AddressSpec;
use crate::proto::fsm::Params;
use crate::proto::timers::Centis;
use crate::proto::wire::{AdvertRepr, Auth, ChecksumMode};
use crate::proto::{Family, Priority, Version, Vrid};

/// The version this build writes; the only one it reads so far.
pub const VERSION: u32 = 1;

/// What the daemon holds right now.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// The format version (see the module documentation for the rule).
    pub version: u32,
    /// The daemon that wrote it.
    pub pid: u32,
    pub instances: Vec<InstanceRecord>,
    /// Addresses still held for an instance a reload removed (its removal
    /// is queued or was refused), and the static addresses (owner `""`,
    /// which `resign` leaves in place as it does the static routes).
    pub orphans: Vec<Orphan>,
    /// Routes and rules the kernel confirmed added and not removed since,
    /// by owner (an instance, or `""` for the static ones). Left out when
    /// there are none, so such a record reads as before this field existed;
    /// a reader that predates it refuses a record that has it, and falls
    /// back to the configuration, which is safe.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<HeldRoute>,
    /// The VMACs' base interfaces' sysctls before vrrpd changed them
    /// (`crate::driver::vmac::BASE_SYSCTLS`, in that order), which
    /// `resign` puts back. Absent without VMACs (see [`VmacRecord`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vmac_bases: BTreeMap<String, Vec<u32>>,
}

/// A route or rule the daemon added.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeldRoute {
    pub owner: String,
    pub entry: super::routes::Entry,
}

/// One running instance.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceRecord {
    pub name: String,
    pub interface: String,
    pub ifindex: u32,
    pub vrid: Vrid,
    pub vrrp_version: Version,
    pub family: Family,
    /// Where adverts come from; `None` while the interface has no usable
    /// address (such an instance cannot be Master).
    pub source: Option<IpAddr>,
    pub destinations: Destinations,
    /// The advertised interval.
    pub advert_int: Centis,
    /// The addresses the advert lists.
    pub advertised: Vec<IpAddr>,
    /// VRRPv2 PASS authentication: the 8 bytes sent, zero padded.
    pub auth_pass: Option<[u8; 8]>,
    pub checksum: ChecksumMode,
    /// Addresses the kernel confirmed added and not removed since.
    pub held: Vec<HeldAddress>,
    /// The instance's VMAC (`use_vmac`), which `resign` deletes after
    /// the addresses. Absent without one, so such a record reads as
    /// before VMACs existed; one with it is refused by an older reader
    /// (unknown field), which then falls back to the configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vmac: Option<VmacRecord>,
    /// The VMACs of its addresses (`use_vmac` on an address,
    /// `use_vmac_addr`), which `resign` deletes after the addresses too
    /// (one shared with another instance goes with the first). Absent
    /// without any, as `vmac`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub address_vmacs: Vec<VmacRecord>,
}

/// A VMAC as the daemon created it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VmacRecord {
    pub name: String,
    /// Its MAC: only a macvlan with this MAC is deleted under that name.
    pub mac: [u8; 6],
}

/// Where adverts go.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum Destinations {
    Multicast { group: IpAddr },
    Unicast { peers: Vec<IpAddr> },
}

impl Destinations {
    pub fn addresses(&self) -> Vec<IpAddr> {
        match self {
            Destinations::Multicast { group } => vec![*group],
            Destinations::Unicast { peers } => peers.clone(),
        }
    }
}

/// One address as the daemon added it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeldAddress {
    pub addr: IpAddr,
    pub prefix: u8,
    pub ifindex: u32,
    pub broadcast: Option<Ipv4Addr>,
    pub label: Option<String>,
    pub scope: u8,
    pub nodad: bool,
}

impl HeldAddress {
    pub fn new(ifindex: u32, spec: &AddressSpec) -> HeldAddress {
        HeldAddress {
            addr: spec.addr,
            prefix: spec.prefix,
            ifindex,
            broadcast: spec.broadcast,
            label: spec.label.clone(),
            scope: spec.scope,
            nodad: spec.nodad,
        }
    }

    /// The spec to remove it with.
    pub fn spec(&self) -> AddressSpec {
        AddressSpec {
            addr: self.addr,
            prefix: self.prefix,
            broadcast: self.broadcast,
            label: self.label.clone(),
            scope: self.scope,
            nodad: self.nodad,
        }
    }
}

/// An address held for an instance that is no longer running.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Orphan {
    pub owner: String,
    pub address: HeldAddress,
}

/// One address the address worker holds (`WorkQueue::held`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub owner: String,
    pub ifindex: u32,
    pub spec: AddressSpec,
}

impl Record {
    /// The record of `instances` holding `held` (the address worker's
    /// view: an address belongs to the instance that last wanted it).
    pub fn build(pid: u32, instances: &[Running], mut held: Vec<Held>) -> Record {
        held.sort_by(|a, b| {
            (&a.owner, a.ifindex, a.spec.addr).cmp(&(&b.owner, b.ifindex, b.spec.addr))
        });
        let mut records: Vec<InstanceRecord> = instances.iter().map(instance_record).collect();
        let mut orphans = Vec::new();
        for h in held {
            let address = HeldAddress::new(h.ifindex, &h.spec);
            match records.iter_mut().find(|r| r.name == h.owner) {
                Some(r) => r.held.push(address),
                None => orphans.push(Orphan {
                    owner: h.owner,
                    address,
                }),
            }
        }
        Record {
            version: VERSION,
            pid,
            instances: records,
            orphans,
            routes: Vec::new(),
            vmac_bases: BTreeMap::new(),
        }
    }

    /// With the routes and rules the worker holds, (owner, entry) as
    /// `WorkHandle::held_routes` gives them.
    pub fn with_routes(mut self, routes: Vec<(String, super::routes::Entry)>) -> Record {
        self.routes = routes
            .into_iter()
            .map(|(owner, entry)| HeldRoute { owner, entry })
            .collect();
        self
    }

    /// The record with the VMACs' base interfaces' original sysctls.
    pub fn with_vmac_bases<const N: usize>(mut self, bases: BTreeMap<String, [u32; N]>) -> Record {
        self.vmac_bases = bases.into_iter().map(|(k, v)| (k, v.to_vec())).collect();
        self
    }

    /// No address, route or rule is held: nothing for `resign` to release.
    pub fn holds_nothing(&self) -> bool {
        self.orphans.is_empty()
            && self.routes.is_empty()
            && self.instances.iter().all(|i| i.held.is_empty())
    }

    /// How many addresses, routes and rules are held.
    pub fn held_count(&self) -> usize {
        self.orphans.len()
            + self.routes.len()
            + self.instances.iter().map(|i| i.held.len()).sum::<usize>()
    }

    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        let mut bytes = serde_json::to_vec_pretty(self)?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// Reads a record, refusing any version this build does not know
    /// before looking at another field.
    pub fn parse(bytes: &[u8]) -> Result<Record, ParseError> {
        #[derive(Deserialize)]
        struct Versioned {
            version: serde_json::Value,
        }
        let versioned: Versioned = serde_json::from_slice(bytes).map_err(ParseError::Malformed)?;
        match versioned.version.as_u64() {
            Some(v) if v == u64::from(VERSION) => {}
            _ => {
                return Err(ParseError::UnknownVersion {
                    found: versioned.version.to_string(),
                })
            }
        }
        serde_json::from_slice(bytes).map_err(ParseError::Malformed)
    }
}

/// The VMACs of `cfg`'s addresses, as the daemon makes them.
fn address_vmacs(cfg: &Instance) -> Vec<VmacRecord> {
    super::vmac::address_specs([cfg])
        .into_iter()
        .map(|s| VmacRecord {
            name: s.name,
            mac: s.mac,
        })
        .collect()
}

fn instance_record(r: &Running) -> InstanceRecord {
    // Adverts leave from the VMAC unless `vmac_xmit_base`: the priority-0
    // advert of `resign` too.
    let ifname = match &r.vmac {
        Some(v) if v.ifindex == r.ifindex => &v.name,
        _ => &r.ifname,
    };
    let mut rec = InstanceRecord::new(&r.cfg, r.router.params(), ifname, r.ifindex);
    rec.checksum = r.checksum_mode();
    rec.vmac = r.vmac.as_ref().map(|v| VmacRecord {
        name: v.name.clone(),
        mac: v.mac,
    });
    rec
}

impl InstanceRecord {
    /// `cfg` running with `params` on interface `ifname` (`ifindex`),
    /// holding nothing yet.
    pub fn new(cfg: &Instance, params: &Params, ifname: &str, ifindex: u32) -> InstanceRecord {
        InstanceRecord {
            name: cfg.name.clone(),
            interface: ifname.to_string(),
            ifindex,
            vrid: cfg.vrid,
            vrrp_version: params.version,
            family: cfg.family,
            source: Some(params.source).filter(|s| !s.is_unspecified()),
            destinations: if cfg.is_unicast() {
                Destinations::Unicast {
                    peers: destinations(cfg).collect(),
                }
            } else {
                Destinations::Multicast {
                    group: super::params::multicast_group(cfg),
                }
            },
            advert_int: params.advert_interval,
            advertised: params.addresses.to_vec(),
            auth_pass: match params.auth {
                Auth::SimpleText(pass) => Some(pass),
                Auth::None => None,
            },
            checksum: checksum_mode(cfg),
            held: Vec::new(),
            vmac: None,
            address_vmacs: address_vmacs(cfg),
        }
    }

    /// The advert a resigning Master sends: priority 0, the rest as its
    /// adverts were.
    pub fn resign_advert(&self) -> AdvertRepr {
        AdvertRepr {
            version: self.vrrp_version,
            vrid: self.vrid,
            priority: Priority::RESIGN,
            max_advert_int: self.advert_int,
            addresses: self.advertised.as_slice().into(),
            auth: match self.auth_pass {
                Some(pass) => Auth::SimpleText(pass),
                None => Auth::None,
            },
        }
    }
}

/// Why a record was not read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    #[error(
        "record version {found} is not one this vrrpd reads (it reads version {})",
        VERSION
    )]
    UnknownVersion { found: String },
    #[error("malformed record: {0}")]
    Malformed(#[source] serde_json::Error),
}

/// The first delay before writing again after a failed write; it doubles
/// up to [`RETRY_MAX`].
pub const RETRY_MIN: Duration = Duration::from_secs(1);
pub const RETRY_MAX: Duration = Duration::from_secs(30);

/// When to write the record: only when it changed since the last write,
/// at most one write in flight, a newer record replacing one still
/// pending (so the queue is one slot whatever happens), and a failed
/// write tried again with backoff.
#[derive(Debug, Default)]
pub struct Writes {
    /// What the file holds: a digest of the last record written, `None`
    /// when unknown (nothing written yet, or the last write failed). A
    /// digest, not the record: at 1000 instances a record is 0.7 MB of
    /// heap, and this is only ever compared.
    on_disk: Option<u64>,
    in_flight: Option<Record>,
    /// The latest record, to write when the one in flight is done.
    pending: Option<Record>,
    failures: u32,
}

/// Tells records apart (SipHash with fixed keys: the same record always
/// gives the same digest within a process, which is all `Writes` needs).
fn digest(record: &Record) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    record.hash(&mut h);
    h.finish()
}

/// A write the shell should start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub record: Record,
    /// Wait this long first (after a failure).
    pub after: Duration,
}

impl Writes {
    pub fn new() -> Writes {
        Writes::default()
    }

    /// The daemon's record is now `current`: the write to start now, if it
    /// differs from what the file holds and no write is in flight.
    pub fn offer(&mut self, current: Record) -> Option<Write> {
        if let Some(in_flight) = &self.in_flight {
            self.pending = (*in_flight != current).then_some(current);
            return None;
        }
        if self.on_disk == Some(digest(&current)) {
            return None;
        }
        self.in_flight = Some(current.clone());
        Some(Write {
            record: current,
            after: Duration::ZERO,
        })
    }

    /// The write in flight ended: the next one to start, if any (the
    /// pending record, or the failed one again after a backoff).
    pub fn finished(&mut self, ok: bool) -> Option<Write> {
        let done = self.in_flight.take();
        let retry = if ok {
            self.on_disk = done.as_ref().map(digest);
            self.failures = 0;
            None
        } else {
            self.on_disk = None;
            self.failures = self.failures.saturating_add(1);
            done
        };
        let next = self.pending.take().or(retry)?;
        if self.on_disk == Some(digest(&next)) {
            return None;
        }
        let after = if ok { Duration::ZERO } else { self.backoff() };
        self.in_flight = Some(next.clone());
        Some(Write {
            record: next,
            after,
        })
    }

    /// A write is in flight.
    pub fn busy(&self) -> bool {
        self.in_flight.is_some()
    }

    fn backoff(&self) -> Duration {
        let doublings = self.failures.saturating_sub(1).min(8);
        RETRY_MIN.saturating_mul(1 << doublings).min(RETRY_MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(n: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, n))
    }

    fn sample(held: &[u8]) -> Record {
        Record {
            version: VERSION,
            pid: 4242,
            instances: vec![InstanceRecord {
                name: "VI_1".into(),
                interface: "eth0".into(),
                ifindex: 2,
                vrid: Vrid::new(51).unwrap(),
                vrrp_version: Version::V2,
                family: Family::Ipv4,
                source: Some(v4(20)),
                destinations: Destinations::Unicast {
                    peers: vec![v4(21)],
                },
                advert_int: Centis::ONE_SECOND,
                advertised: vec![v4(30)],
                auth_pass: Some(*b"secret\0\0"),
                checksum: ChecksumMode::PseudoHeader,
                vmac: None,
                address_vmacs: Vec::new(),
                held: held
                    .iter()
                    .map(|n| {
                        let mut spec = AddressSpec::host(v4(*n));
                        spec.prefix = 24;
                        spec.label = Some("eth0:vip".into());
                        HeldAddress::new(2, &spec)
                    })
                    .collect(),
            }],
            orphans: vec![Orphan {
                owner: "VI_OLD".into(),
                address: HeldAddress::new(3, &AddressSpec::host(v4(99))),
            }],
            routes: Vec::new(),
            vmac_bases: BTreeMap::new(),
        }
    }

    #[test]
    fn held_routes_round_trip_and_a_record_without_them_reads_as_before() {
        let route = crate::config::Route::to("198.51.100.0/24".parse().unwrap());
        let record = sample(&[30]).with_routes(vec![(
            "VI_1".into(),
            super::super::routes::Entry::Route(route),
        )]);
        let bytes = record.to_json().unwrap();
        assert_eq!(Record::parse(&bytes).unwrap(), record);
        assert_eq!(record.held_count(), 3);
        // No routes: no field, so a reader that predates it reads it.
        let text = String::from_utf8(sample(&[30]).to_json().unwrap()).unwrap();
        assert!(!text.contains("routes"), "{text}");
    }

    #[test]
    fn round_trips_through_json() {
        let record = sample(&[30, 31]);
        let bytes = record.to_json().unwrap();
        assert_eq!(Record::parse(&bytes).unwrap(), record);
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.contains("\"version\": 1"), "{text}");
        assert!(text.contains("\"mode\": \"unicast\""), "{text}");
    }

    #[test]
    fn held_address_gives_back_the_spec_it_was_added_with() {
        let mut spec = AddressSpec::host(v4(30));
        spec.prefix = 24;
        spec.broadcast = Some(Ipv4Addr::new(192, 0, 2, 255));
        spec.label = Some("eth0:1".into());
        spec.scope = 253;
        assert_eq!(HeldAddress::new(2, &spec).spec(), spec);
    }

    #[test]
    fn an_unknown_version_is_refused_before_any_other_field() {
        let mut value = serde_json::to_value(sample(&[30])).unwrap();
        value["version"] = serde_json::json!(2);
        // A newer format may have fields this build has never heard of.
        value["instances"][0]["vmac"] = serde_json::json!("vrrp.51");
        let err = Record::parse(value.to_string().as_bytes()).unwrap_err();
        assert!(matches!(err, ParseError::UnknownVersion { .. }), "{err}");
        assert_eq!(
            err.to_string(),
            "record version 2 is not one this vrrpd reads (it reads version 1)"
        );
        let err = Record::parse(br#"{"version":"1"}"#).unwrap_err();
        assert!(matches!(err, ParseError::UnknownVersion { .. }), "{err}");
    }

    #[test]
    fn a_missing_version_or_broken_text_is_malformed() {
        assert!(matches!(
            Record::parse(br#"{"pid":1}"#),
            Err(ParseError::Malformed(_))
        ));
        let bytes = sample(&[30]).to_json().unwrap();
        assert!(matches!(
            Record::parse(&bytes[..bytes.len() / 2]),
            Err(ParseError::Malformed(_))
        ));
    }

    #[test]
    fn an_unknown_field_in_a_known_version_is_refused() {
        let mut value = serde_json::to_value(sample(&[30])).unwrap();
        value["instances"][0]["surprise"] = serde_json::json!(true);
        assert!(matches!(
            Record::parse(value.to_string().as_bytes()),
            Err(ParseError::Malformed(_))
        ));
    }

    #[test]
    fn holds_nothing_counts_orphans_too() {
        let mut record = sample(&[]);
        assert!(!record.holds_nothing(), "the orphan is held");
        record.orphans.clear();
        assert!(record.holds_nothing());
        assert_eq!(sample(&[30, 31]).held_count(), 3);
    }

    fn running(text: &str) -> Running {
        let loaded = crate::config::load_str("s.conf", text, &Default::default());
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        let cfg = loaded.config.instances[0].clone();
        let router = crate::driver::new_router(&cfg, v4(20)).unwrap();
        let key = crate::driver::SocketKey {
            ifindex: 2,
            family: Family::Ipv4,
            unicast_source: Some(v4(20)),
        };
        Running::new(cfg, router, 2, key, Default::default())
    }

    #[test]
    fn the_record_names_the_vmacs_of_addresses_for_resign() {
        let r = running("global_defs {\n vmac_addr_prefix lb\n}\nvrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {\n  192.0.2.30/24\n  198.51.100.30/24 dev eth1 use_vmac\n  198.51.100.31/24 dev eth1 use_vmac\n }\n}\n");
        let record = Record::build(7, std::slice::from_ref(&r), Vec::new());
        let want = VmacRecord {
            name: "lb.51".into(),
            mac: [0, 0, 0x5e, 0, 1, 51],
        };
        assert_eq!(record.instances[0].address_vmacs, [want]);
        assert_eq!(record.instances[0].vmac, None);
        let round = Record::parse(&record.to_json().unwrap()).unwrap();
        assert_eq!(round, record);
    }

    #[test]
    fn a_vmac_instance_resigns_from_its_vmac_and_the_record_names_it() {
        let mut r = running("vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n use_vmac\n virtual_ipaddress {\n  192.0.2.30/24\n }\n}\n");
        // Without a VMAC running, the record has no `vmac` key at all: a
        // reader of the format before VMACs reads it.
        let plain = Record::build(7, std::slice::from_ref(&r), Vec::new());
        assert!(!String::from_utf8(plain.to_json().unwrap())
            .unwrap()
            .contains("vmac"));
        r.vmac = Some(Box::new(crate::driver::vmac::VmacLink {
            name: "vrrp.51".into(),
            ifindex: 9,
            mac: [0, 0, 0x5e, 0, 1, 51],
            base_ifindex: 2,
        }));
        r.ifindex = 9;
        let record = Record::build(7, std::slice::from_ref(&r), Vec::new());
        let i = &record.instances[0];
        assert_eq!((i.interface.as_str(), i.ifindex), ("vrrp.51", 9));
        assert_eq!(
            i.vmac,
            Some(VmacRecord {
                name: "vrrp.51".into(),
                mac: [0, 0, 0x5e, 0, 1, 51]
            })
        );
        let mut bases = BTreeMap::new();
        bases.insert("eth0".to_string(), [0u32, 0, 0]);
        let record = record.with_vmac_bases(bases);
        assert_eq!(record.vmac_bases["eth0"], [0, 0, 0]);
        let back = Record::parse(&record.to_json().unwrap()).unwrap();
        assert_eq!(back, record);
    }

    #[test]
    fn built_from_the_instances_and_the_workers_held_addresses() {
        let r = running("vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 101\n advert_int 2\n authentication {\n  auth_type PASS\n  auth_pass secret\n }\n unicast_src_ip 192.0.2.20\n unicast_peer {\n  192.0.2.21\n }\n virtual_ipaddress {\n  192.0.2.30/24\n }\n}\n");
        let mut spec = AddressSpec::host(v4(30));
        spec.prefix = 24;
        let held = vec![
            Held {
                owner: "VI_1".into(),
                ifindex: 2,
                spec: spec.clone(),
            },
            Held {
                owner: "VI_GONE".into(),
                ifindex: 2,
                spec: AddressSpec::host(v4(99)),
            },
        ];
        let record = Record::build(7, std::slice::from_ref(&r), held);
        assert_eq!(record.version, VERSION);
        assert_eq!(record.pid, 7);
        let i = &record.instances[0];
        assert_eq!(
            (i.name.as_str(), i.interface.as_str(), i.ifindex),
            ("VI_1", "eth0", 2)
        );
        assert_eq!(i.vrid.get(), 51);
        assert_eq!(i.vrrp_version, Version::V2);
        assert_eq!(i.source, Some(v4(20)));
        assert_eq!(
            i.destinations,
            Destinations::Unicast {
                peers: vec![v4(21)]
            }
        );
        assert_eq!(i.advert_int, Centis(200));
        assert_eq!(i.advertised, vec![v4(30)]);
        assert_eq!(i.auth_pass, Some(*b"secret\0\0"));
        assert_eq!(i.held, vec![HeldAddress::new(2, &spec)]);
        assert_eq!(record.orphans.len(), 1);
        assert_eq!(record.orphans[0].owner, "VI_GONE");

        assert_eq!(
            i.resign_advert(),
            r.router.advert(Priority::RESIGN),
            "the priority-0 advert the daemon itself would send"
        );

        let plain = running("vrrp_instance VI_2 {\n interface eth0\n virtual_router_id 52\n version 3\n virtual_ipaddress {\n  192.0.2.31\n }\n}\n");
        let record = Record::build(7, &[plain], Vec::new());
        let i = &record.instances[0];
        assert_eq!(
            i.destinations,
            Destinations::Multicast {
                group: IpAddr::V4(crate::proto::wire::MULTICAST_V4)
            }
        );
        assert_eq!(i.auth_pass, None);
        assert!(record.holds_nothing());
    }

    #[test]
    fn writes_only_what_changed_since_the_last_write() {
        let mut w = Writes::new();
        let first = w.offer(sample(&[])).expect("nothing written yet");
        assert_eq!(first.after, Duration::ZERO);
        assert_eq!(w.finished(true), None);
        assert_eq!(w.offer(sample(&[])), None, "unchanged: no write");
        assert!(w.offer(sample(&[30])).is_some(), "an address more");
        assert_eq!(w.finished(true), None);
        assert_eq!(w.offer(sample(&[30])), None);
    }

    #[test]
    fn one_write_in_flight_and_the_latest_record_replaces_a_pending_one() {
        let mut w = Writes::new();
        assert!(w.offer(sample(&[])).is_some());
        assert!(w.busy());
        assert_eq!(w.offer(sample(&[30])), None, "one in flight");
        assert_eq!(w.offer(sample(&[30, 31])), None);
        let next = w.finished(true).expect("the pending record");
        assert_eq!(next.record, sample(&[30, 31]), "the latest, not the first");
        assert_eq!(w.finished(true), None, "nothing else pending");
    }

    #[test]
    fn a_change_undone_while_in_flight_writes_nothing_more() {
        let mut w = Writes::new();
        assert!(w.offer(sample(&[])).is_some());
        assert_eq!(w.offer(sample(&[30])), None);
        assert_eq!(w.offer(sample(&[])), None, "back to what is being written");
        assert_eq!(w.finished(true), None);
    }

    #[test]
    fn a_failed_write_is_tried_again_with_backoff() {
        let mut w = Writes::new();
        assert!(w.offer(sample(&[30])).is_some());
        let again = w.finished(false).expect("retried");
        assert_eq!(again.record, sample(&[30]));
        assert_eq!(again.after, RETRY_MIN);
        let again = w.finished(false).expect("retried");
        assert_eq!(again.after, RETRY_MIN * 2);
        // A newer record replaces the retry.
        assert_eq!(w.offer(sample(&[])), None);
        let next = w.finished(false).expect("the newer record");
        assert_eq!(next.record, sample(&[]));
        assert_eq!(next.after, RETRY_MIN * 4);
        assert_eq!(w.finished(true), None);
        assert_eq!(w.offer(sample(&[])), None, "written at last");
    }
}
