//! One running instance as the driver core keeps it: its configuration, its
//! [`VirtualRouter`], where it lives, why it is in FAULT and what it counted.

use std::net::IpAddr;
use std::time::SystemTime;

use super::lateness::Lateness;
use super::ratelimit::LogLimit;
use std::sync::Arc;

use crate::config::Instance;
use crate::proto::fsm::VirtualRouter;
use crate::proto::{Family, Instant};

/// Sockets are shared by instances with the same interface, family and
/// multicast group or unicast source (keepalived's sockpool). This is the
/// key the shell opens a socket for; it holds no descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct SocketKey {
    pub ifindex: u32,
    pub family: Family,
    pub unicast_source: Option<IpAddr>,
}

/// Why an instance is in FAULT; any one is enough. Each is raised and
/// cleared by its own events, and the router hears `Fault(true/false)`
/// only when the aggregate changes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Faults {
    /// The interface is down or gone (unless `dont_track_primary`).
    pub link: bool,
    /// No source address on the interface yet (IPv6 link-local in DAD).
    pub no_source: bool,
    /// A weight-0 tracker failed.
    pub tracker: bool,
    /// Adverts could not be sent for Master_Down_Interval.
    pub send: bool,
    /// Another interface one of its addresses goes on (`dev`, or the
    /// address's own VMAC) is down or gone, and the address is not
    /// `no_track`: keepalived's TRACK_ADDR interfaces.
    #[serde(default)]
    pub address_link: bool,
}

impl Faults {
    pub fn any(&self) -> bool {
        self.link || self.no_source || self.tracker || self.send || self.address_link
    }
}

/// Who demoted an instance, when and why (shown by status until promote).
#[derive(Debug, Clone)]
pub struct Demotion {
    pub by_uid: u32,
    pub since: SystemTime,
    pub note: Option<String>,
}

/// Values by a static kind name, for the few kinds an instance ever sees:
/// a vector searched in order (24 bytes and no allocation while empty,
/// where a hash map took 48 in each of 1000 instances). Drop counts
/// ([`Tally`]) and log windows (`ratelimit::LogLimit`) keep theirs here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByKind<V>(Vec<(&'static str, V)>);

impl<V> Default for ByKind<V> {
    fn default() -> Self {
        ByKind(Vec::new())
    }
}

impl<V> ByKind<V> {
    /// The value of `kind`, made by `make` the first time.
    pub fn slot(&mut self, kind: &'static str, make: impl FnOnce() -> V) -> &mut V {
        let at = match self.0.iter().position(|(k, _)| *k == kind) {
            Some(at) => at,
            None => {
                self.0.push((kind, make()));
                self.0.len() - 1
            }
        };
        &mut self.0[at].1
    }

    /// Sets the value of `kind`.
    pub fn insert(&mut self, kind: &'static str, value: V) {
        match self.0.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, v)) => *v = value,
            None => self.0.push((kind, value)),
        }
    }

    pub fn get(&self, kind: &str) -> Option<&V> {
        self.0.iter().find(|(k, _)| *k == kind).map(|(_, v)| v)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every kind seen, in the order first seen.
    pub fn iter(&self) -> std::slice::Iter<'_, (&'static str, V)> {
        self.0.iter()
    }
}

/// Counts by reason (an instance's drops).
pub type Tally = ByKind<u64>;

impl Tally {
    /// One more of `reason`.
    pub fn bump(&mut self, reason: &'static str) {
        *self.slot(reason, || 0) += 1;
    }
}

impl<V> FromIterator<(&'static str, V)> for ByKind<V> {
    fn from_iter<I: IntoIterator<Item = (&'static str, V)>>(iter: I) -> Self {
        let mut t = ByKind::default();
        for (k, v) in iter {
            t.insert(k, v);
        }
        t
    }
}

/// One running instance.
#[derive(Debug)]
pub struct Running {
    pub cfg: Arc<Instance>,
    pub router: VirtualRouter,
    pub ifindex: u32,
    pub ifname: String,
    pub socket_key: SocketKey,
    /// The instance's VMAC (`use_vmac`): its socket and addresses are on
    /// it (adverts leave from `ifindex`, the base, with `vmac_xmit_base`).
    /// Boxed: few instances have one (40 bytes inline in each otherwise).
    pub vmac: Option<Box<super::vmac::VmacLink>>,
    /// Where each virtual address is installed.
    pub addresses: super::placements::Placements,
    pub lateness: Lateness,
    pub drops: Tally,
    /// Lines and notifications caused by received packets, limited per kind.
    pub log_limit: LogLimit,
    pub faults: Faults,
    /// The tracker weights' sum.
    pub track_adjustment: i32,
    /// When the state last changed, on the core's clock: set from `now`
    /// when the core adopts the instance and at each transition. The
    /// outputs turn it into wall time when they render it.
    pub state_since: Instant,
    /// Set by `vrrpd demote`, cleared by `vrrpd promote`.
    /// Boxed: rare (48 bytes inline in each instance otherwise).
    pub demoted: Option<Box<Demotion>>,
    /// Removed by a reload: its stop is reported as keepalived reports a
    /// deleted instance (`notify_deleted`).
    pub deleting: bool,
    /// Since when adverts fail to leave (none left since).
    pub(super) send_failing_since: Option<Instant>,
    /// While in FAULT for sends: when to try a priority-0 advert again.
    pub(super) probe_at: Option<Instant>,
    /// Asked the shell to re-bind to a re-created interface of this index.
    pub(super) rebinding: Option<u32>,
    /// The virtual routes and rules the core asked the shell to install
    /// (all of them while Master, none otherwise).
    pub routes: super::routes::Wanted,
    /// Whether `routes` was computed for a Master, and whether the
    /// configuration changed since (a reload, a restore).
    pub(super) routes_on: bool,
    pub(super) routes_stale: bool,
    /// Switched to the pre-2.0 unicast checksum by a peer's advert
    /// (`old_unicast_checksum` auto, keepalived's CHKSUM_COMPATIBILITY_AUTO).
    pub old_checksum: bool,
    /// While Master with `garp_extra_if`: the next round on the other
    /// interfaces ([`super::params::extra_garp`]).
    pub(super) extra_garp_at: Option<Instant>,
    /// `auth_hmac`: keys, replay marks, send sequence.
    pub auth: Option<Box<super::auth::AuthState>>,
}

impl Running {
    /// A running instance on interface `ifindex`, before its first input.
    pub fn new(
        cfg: impl Into<Arc<Instance>>,
        router: VirtualRouter,
        ifindex: u32,
        socket: SocketKey,
        addresses: super::placements::Placements,
    ) -> Running {
        let cfg = cfg.into();
        Running {
            auth: super::auth::AuthState::new(&cfg),
            ifname: cfg.interface.clone().unwrap_or_default(),
            cfg,
            router,
            ifindex,
            socket_key: socket,
            vmac: None,
            addresses,
            lateness: Lateness::default(),
            drops: Tally::default(),
            log_limit: LogLimit::default(),
            faults: Faults::default(),
            track_adjustment: 0,
            state_since: Instant::ZERO,
            demoted: None,
            deleting: false,
            send_failing_since: None,
            probe_at: None,
            rebinding: None,
            routes: Default::default(),
            routes_on: false,
            routes_stale: false,
            old_checksum: false,
            extra_garp_at: None,
        }
    }

    /// How its adverts are summed now: as configured, or the old unicast
    /// sum once a peer's advert switched it (while the configuration still
    /// allows the switch: a reload to `never` ends it).
    pub fn checksum_mode(&self) -> crate::proto::wire::ChecksumMode {
        use crate::config::OldUnicastChecksum;
        if self.old_checksum && self.cfg.old_unicast_checksum == OldUnicastChecksum::Auto {
            super::params::old_unicast_checksum(&self.cfg)
        } else {
            super::params::checksum_mode(&self.cfg)
        }
    }

    pub fn name(&self) -> &str {
        &self.cfg.name
    }

    /// The interface its source address is on: the base of its VMAC, if
    /// it has one (a VMAC carries no address of the node's own, but an
    /// IPv6 one's copy of the base's link-local address), else its own.
    pub fn source_ifindex(&self) -> u32 {
        self.vmac.as_ref().map_or(self.ifindex, |v| v.base_ifindex)
    }

    pub fn faulted(&self) -> bool {
        self.faults.any()
    }

    /// Whether the shell should report the next successful send
    /// ([`super::Event::SendOk`]): only while sends are failing, so a
    /// healthy instance costs no event per advert.
    pub fn send_failing(&self) -> bool {
        self.send_failing_since.is_some() || self.faults.send
    }
}

#[cfg(test)]
mod tests {
    /// Per-instance state is paid 1000 times over (issue 16): a field that
    /// grows it past these bounds belongs in a box or out of the instance.
    /// Measured: Running 872 B, VirtualRouter 488 B.
    #[test]
    fn per_instance_state_stays_small() {
        use std::mem::size_of;
        assert!(
            size_of::<super::Running>() <= 896,
            "{}",
            size_of::<super::Running>()
        );
        assert!(
            size_of::<crate::proto::fsm::VirtualRouter>() <= 512,
            "{}",
            size_of::<crate::proto::fsm::VirtualRouter>()
        );
    }
}
