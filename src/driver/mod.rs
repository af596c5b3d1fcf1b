//! The driver's pure core: everything the daemon decides about its
//! instances, with the contract of [`VirtualRouter`]: [`Driver::handle`]
//! takes `(now, Event)` and returns [`Effect`]s, [`Driver::poll_at`] says
//! when to call it with [`Event::Timer`]. No tokio, no descriptors, no
//! clock reads: the shell (`crate::daemon`) moves bytes, runs the effects
//! and feeds their results back as events.
//!
//! It owns the instances and decides
//! - which instance a datagram is for (socket and VRID) and what is dropped
//!   before any router sees it, counted by reason;
//! - faults: an instance is in FAULT while its link is down, it has no
//!   source address, a weight-0 tracker fails, or its adverts cannot be
//!   sent (see [`Faults`]); the router hears only changes of the aggregate;
//! - sync groups ([`crate::proto::sync::decide`] after every member input);
//! - the parameters each router runs with, at start and on reload, and
//!   which running instance a reloaded one is (keepalived's identity);
//! - what a re-created interface, a lost address or a netlink overrun
//!   asks of the shell, and whether a lookup merged behind one in flight
//!   is still wanted ([`lookups`]);
//! - which lines a packet may cause (rate limited per kind and instance);
//! - which virtual addresses accept mode's firewall must drop
//!   ([`Driver::blocked`], [`firewall`]).
//!
//! What the shell must do when asked is in [`Effect`]; everything it
//! learns comes back as an [`Event`].

pub mod auth;
pub mod autoprio;
pub mod cloud;
mod deadlines;
pub mod firewall;
pub mod lateness;
pub mod lookups;
pub mod params;
pub mod phase;
pub mod placements;
pub mod ratelimit;
pub mod record;
pub mod reload_states;
pub mod reload_time;
pub mod routes;
pub mod rtguard;
mod running;
mod sync;
pub mod upgrade;
pub mod vmac;
pub mod work;

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::time::Duration;

use crate::config::Config;
use crate::net::netlink::AddressSpec;
use crate::net::socket::{self, Inbound, RxPolicy, SocketError};
use crate::proto::fsm::{Action, Input, State, VirtualRouter};
use crate::proto::timers::master_down_interval;
use crate::proto::wire::Packet;
use crate::proto::{Instant, Priority};

pub use running::{ByKind, Demotion, Faults, Running, SocketKey, Tally};

/// Whether a Master of `cfg` drops traffic to its addresses
/// ([`crate::config::Instance::drops_traffic`]).
pub fn drops_traffic(cfg: &crate::config::Instance) -> bool {
    cfg.drops_traffic()
}

/// What the driver hears.
#[derive(Debug)]
pub enum Event {
    /// [`Driver::poll_at`] has passed.
    Timer,
    /// A datagram (or a per-datagram receive error) on a socket.
    Received {
        socket: SocketKey,
        datagram: Result<Inbound, SocketError>,
    },
    /// A link appeared or changed.
    Link {
        index: u32,
        name: String,
        running: bool,
    },
    LinkRemoved {
        index: u32,
    },
    /// An address appeared on interface `index`.
    AddressAdded {
        index: u32,
    },
    AddressRemoved {
        index: u32,
        addr: IpAddr,
    },
    /// The answer to [`Effect::FindSource`].
    SourceFound {
        instance: usize,
        source: IpAddr,
    },
    /// The answer to [`Effect::Rebind`]: the instance's socket for the
    /// re-created interface is open (on its VMAC, re-created on it, if it
    /// has one; `running` is then the VMAC's).
    Rebound {
        instance: usize,
        ifindex: u32,
        socket: SocketKey,
        running: bool,
        source: Option<IpAddr>,
        vmac: Option<vmac::VmacLink>,
    },
    /// [`Effect::Rebind`] for `ifindex` found nothing or timed out: the
    /// next link event for that index asks again.
    RebindFailed {
        instance: usize,
        ifindex: u32,
    },
    /// What an instance's trackers add up to now (sent after any reading
    /// changed; unchanged values are ignored).
    Tracked {
        instance: usize,
        state: TrackState,
    },
    /// An advert of `instance` did not leave.
    SendFailed {
        instance: usize,
    },
    /// An advert of `instance` left while [`Running::send_failing`].
    SendOk {
        instance: usize,
    },
    /// `vrrpd demote` / `vrrpd promote`.
    AdminDown {
        instance: usize,
        down: bool,
    },
    /// A validated and resolved configuration to run.
    Reload(Box<Reload>),
    /// Daemon stop.
    Shutdown,
}

/// A configuration resolved by the shell: everything that needed the
/// kernel (interface indexes, present addresses, sockets) is done.
#[derive(Debug, Default)]
pub struct Reload {
    pub config: Config,
    /// Instances the running set does not have yet, started by the shell
    /// (an instance that could not start is absent).
    pub started: Vec<Running>,
    /// Where each virtual address of a kept instance goes, by instance name.
    pub addresses: HashMap<String, placements::Placements>,
    /// What the trackers already say of each instance, by name: a new
    /// instance starts with it (one priority, no FAULT flap at start).
    pub tracking: HashMap<String, TrackState>,
    /// The configuration's `static_ipaddress` entries whose interface the
    /// shell found, in configuration order.
    pub static_addresses: Vec<StaticAddress>,
}

/// A link change `interface_up_down_delays` holds back.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PendingLink {
    at: Instant,
    name: String,
    running: bool,
}

/// A `static_ipaddress` entry, resolved: added at start (and by a reload
/// that adds it), removed by a reload that drops it and at a clean stop,
/// whatever the instances do (keepalived `vrrp_daemon.c`: netlink_iplist
/// ADD in start_vrrp, DEL in vrrp_terminate_phase2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticAddress {
    pub ifindex: u32,
    pub spec: AddressSpec,
    /// `no_track`: deleted by someone else, it is not added back.
    pub no_track: bool,
}

/// What an instance's trackers add up to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrackState {
    pub adjustment: i32,
    pub fault: bool,
    /// The failing weight-0 trackers, for the log line.
    pub failing: Vec<String>,
}

/// How loud a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Debug,
    /// keepalived's detailed lines (`-D`), the shell's `messages::DETAIL`.
    Detail,
    Info,
    Warn,
    Error,
}

/// What the driver asks the shell to do, in order.
#[derive(Debug)]
pub enum Effect {
    /// Execute a router's actions for instance `instance` (send, address
    /// work, announcements, notifications, log lines); empty when it
    /// handled an input without acting (its counters still changed).
    Actions {
        instance: usize,
        actions: Vec<Action>,
    },
    /// A sync group is about to move its members ("Syncing instances to").
    GroupSyncing { name: String, state: State },
    /// A sync group's new state, after its members moved (notify it).
    GroupState { name: String, state: State },
    /// A line for the journal, already rate limited where a packet caused it.
    Log {
        level: Level,
        instance: Option<String>,
        text: String,
    },
    /// Find a source address for `instance` on `ifindex`; answer with
    /// [`Event::SourceFound`] (or nothing, if there is none yet).
    FindSource { instance: usize, ifindex: u32 },
    /// The instance's interface was re-created under index `ifindex` (or
    /// its VMAC was deleted under it): open its socket there, on a VMAC
    /// created again if it has one, and answer with [`Event::Rebound`].
    Rebind { instance: usize, ifindex: u32 },
    /// Sends have failed: try a priority-0 advert (it tells peers nothing
    /// they act on wrongly: we are not Master) and report the result.
    Probe { instance: usize },
    /// An instance a reload removed: execute its last actions (its stop,
    /// reported as deleted), then drop it.
    Removed {
        running: Box<Running>,
        actions: Vec<Action>,
    },
    /// The instance list changed (reload): sockets, metrics, trackers.
    InstancesChanged,
    /// Routes and rules `owner` (an instance name, or
    /// [`routes::STATIC_OWNER`]) now wants in the kernel or out of it:
    /// only the changes, removals to run before additions.
    RouteWork {
        owner: String,
        add: Vec<routes::Entry>,
        remove: Vec<routes::Entry>,
    },
    /// Virtual addresses of instance `owner` moved to another interface
    /// by a reload while held: each `remove` (old ifindex, spec) off its
    /// interface first, then each of `add` on its new one.
    AddressWork {
        owner: String,
        add: Vec<(u32, AddressSpec)>,
        remove: Vec<(u32, AddressSpec)>,
    },
    /// Static addresses (owner [`routes::STATIC_OWNER`]) now wanted on
    /// their interface (`add`) or off it (`remove`), as (ifindex, spec):
    /// only the changes.
    StaticAddressWork {
        add: Vec<(u32, AddressSpec)>,
        remove: Vec<(u32, AddressSpec)>,
    },
}

/// The addresses of `old` that `new` puts on another interface, with
/// their old (ifindex, spec).
fn moved_addresses(
    old: &placements::Placements,
    new: &placements::Placements,
) -> Vec<(IpAddr, (u32, AddressSpec))> {
    let mut out: Vec<_> = old
        .iter()
        .filter(|(a, (ix, _))| new.get(a).is_some_and(|(nix, _)| nix != ix))
        .map(|(a, o)| (*a, o.clone()))
        .collect();
    out.sort_by_key(|(a, _)| *a);
    out
}

/// Why a received advert did not reach its router.
enum Dropped {
    Wire(socket::DropReason),
    Auth(crate::proto::auth_hmac::AuthDrop),
}

/// keepalived's wording for each authentication drop.
fn auth_drop_text(drop: crate::proto::auth_hmac::AuthDrop) -> &'static str {
    use crate::proto::auth_hmac::AuthDrop;
    match drop {
        AuthDrop::Missing => "missing authentication trailer",
        AuthDrop::Malformed => "malformed authentication trailer",
        AuthDrop::UnknownKey => "unknown authentication key id",
        AuthDrop::BadHmac => "invalid authentication HMAC",
        AuthDrop::Stale => "stale authentication trailer (clock skew exceeds the window)",
        AuthDrop::Replay => "replayed authentication trailer",
        AuthDrop::NotAPeer => "unicast source address not a unicast peer",
    }
}

/// Whether an interface carrying one of `r`'s tracked addresses is down:
/// not its own (nor its VMAC's base), whose state is the link fault.
fn address_link_down(r: &Running, link_up: &HashMap<u32, bool>) -> bool {
    let tracked = |addr: &IpAddr| {
        r.cfg
            .vips
            .iter()
            .chain(&r.cfg.excluded_vips)
            .any(|v| v.addr == *addr && !v.no_track)
    };
    r.addresses.iter().any(|(addr, (ix, _))| {
        *ix != r.ifindex
            && *ix != r.source_ifindex()
            && link_up.get(ix) == Some(&false)
            && tracked(addr)
    })
}

/// The earliest time instance `r` has something to do: its router's
/// timers, the send-failure fault and its probes.
fn deadline_of(r: &Running) -> Option<Instant> {
    [
        r.router.poll_at(),
        r.send_failing_since
            .filter(|_| !r.faults.send)
            .map(|t| t + send_fault_after(r)),
        r.probe_at,
        r.extra_garp_at,
    ]
    .into_iter()
    .flatten()
    .min()
}

/// The driver core.
#[derive(Debug, Default)]
pub struct Driver {
    instances: Vec<Running>,
    /// The wall clock (UTC seconds) as the shell last read it: `auth_hmac`'s
    /// freshness window is on the senders' clocks, not the core's.
    utc: u64,
    /// Which instance an advert is for: (socket, VRID) -> index.
    by_vrid: HashMap<(SocketKey, u8), usize>,
    groups: sync::Groups,
    /// Adverts for a VRID no instance runs on their socket.
    unknown_vrid: u64,
    /// Datagrams dropped before any instance could be named, and socket
    /// failures, by reason.
    socket_drops: BTreeMap<&'static str, u64>,
    /// Lines about packets no instance owns.
    log_limit: ratelimit::LogLimit,
    log_unknown_vrids: bool,
    /// `vrrp_startup_delay` / `vrrp_delay_after_boot`: until then, started
    /// instances stay in INIT (no adverts, no addresses, no timers); see
    /// [`Driver::hold_startup`].
    startup_hold: Option<Instant>,
    /// Each instance's next deadline, ordered ([`deadlines`]).
    deadlines: deadlines::Deadlines,
    /// The configuration's static routes and rules, and what the shell was
    /// asked to hold of them (all from the first configuration to stop).
    static_config: Vec<routes::Entry>,
    statics: routes::Wanted,
    /// The configuration's static addresses, and those the shell was
    /// asked to hold (as for the static routes).
    static_addresses: Vec<StaticAddress>,
    static_addresses_asked: Vec<(u32, AddressSpec)>,
    /// `interface_up_down_delays`: (down, up) delays by interface name.
    link_delays: HashMap<String, (Duration, Duration)>,
    /// A link change waiting out its delay, by interface index.
    pending_links: BTreeMap<u32, PendingLink>,
    /// Each interface's link state as last applied (the first report of
    /// an interface applies at once, as keepalived's `seen_up`).
    link_up: HashMap<u32, bool>,
    stopping: bool,
}

impl Driver {
    pub fn new() -> Driver {
        Driver::default()
    }

    /// Holds VRRP until `until`: instances configured before then (at
    /// start or by a reload meanwhile) stay in INIT and start together at
    /// `until`, from [`Event::Timer`] ([`Driver::poll_at`] includes it), so
    /// the wait never blocks the driver. keepalived 2.3 does the same with
    /// its delayed start timer ("Delaying startup for N seconds").
    pub fn hold_startup(&mut self, until: Instant) {
        self.startup_hold = Some(until);
    }

    /// The wall clock now, in seconds since the Unix epoch: the shell sets
    /// it before each event ([`AuthState`](auth::AuthState) checks adverts
    /// against it).
    pub fn set_utc(&mut self, secs: u64) {
        self.utc = secs;
    }

    /// Whether instances are still held by [`Driver::hold_startup`].
    pub fn startup_held(&self) -> bool {
        self.startup_hold.is_some()
    }

    /// The running instances, in configuration order.
    pub fn instances(&self) -> &[Running] {
        &self.instances
    }

    /// One instance, for the shell's effects (it keeps its own fields such
    /// as `state_since` and `demoted` there).
    pub fn instance_mut(&mut self, i: usize) -> &mut Running {
        // The shell may change a timer (a send failure): read it again.
        self.deadlines.touch(i);
        &mut self.instances[i]
    }

    /// The instance adverts for `vrid` on socket `key` belong to.
    pub fn instance_of(&self, key: &SocketKey, vrid: u8) -> Option<usize> {
        self.by_vrid.get(&(key.clone(), vrid)).copied()
    }

    pub fn position(&self, name: &str) -> Option<usize> {
        self.instances.iter().position(|r| r.name() == name)
    }

    /// Whether an instance with the identity of `cfg` runs (a reload keeps
    /// it rather than starting a new one).
    pub fn runs(&self, cfg: &crate::config::Instance) -> bool {
        let identity = cfg.identity();
        self.instances.iter().any(|r| r.cfg.identity() == identity)
    }

    pub fn unknown_vrid(&self) -> u64 {
        self.unknown_vrid
    }

    pub fn socket_drops(&self) -> &BTreeMap<&'static str, u64> {
        &self.socket_drops
    }

    /// The sockets the running instances use.
    pub fn socket_keys(&self) -> impl Iterator<Item = &SocketKey> {
        self.instances.iter().map(|r| &r.socket_key)
    }

    /// Whether `lookup`, merged behind one that just answered, is still
    /// wanted ([`lookups::InFlight::answered`]): a source is looked for
    /// while its instance has none on that interface, an interface is
    /// re-bound while the core waits for that index.
    pub fn wants(&self, lookup: &lookups::Lookup) -> bool {
        match *lookup {
            lookups::Lookup::Source { instance, ifindex } => self
                .instances
                .get(instance)
                .is_some_and(|r| r.faults.no_source && r.source_ifindex() == ifindex),
            lookups::Lookup::Rebind { instance, ifindex } => self
                .instances
                .get(instance)
                .is_some_and(|r| r.rebinding == Some(ifindex)),
            lookups::Lookup::Resync => true,
        }
    }

    /// The addresses accept mode must drop now ([`firewall`]): those of
    /// every Master that is neither in accept mode nor the address owner
    /// (keepalived's `vrrp_handle_accept_mode`), `virtual_ipaddress` and
    /// `virtual_ipaddress_excluded` alike. An IPv6 link-local address is
    /// keyed by interface name for an instance with `dont_track_primary`
    /// whose address is on its own interface or `no_track`, unless
    /// `by_index` (`nftables_ifindex`), as keepalived's
    /// `nft_update_ipv6_address` chooses.
    pub fn blocked(&self, by_index: bool) -> std::collections::BTreeSet<firewall::Element> {
        let mut out = std::collections::BTreeSet::new();
        for r in &self.instances {
            if !r.router.holds_addresses() || !drops_traffic(&r.cfg) {
                continue;
            }
            for v in r.cfg.vips.iter().chain(&r.cfg.excluded_vips) {
                let ifindex = r.addresses.get(&v.addr).map_or(r.ifindex, |(ix, _)| *ix);
                let own = v.dev.as_deref().is_none_or(|d| d == r.ifname);
                let ifname = v.dev.as_deref().unwrap_or(&r.ifname);
                let by_name = !by_index && r.cfg.dont_track_primary && (own || v.no_track);
                out.insert(firewall::Element::of(v.addr, ifindex, ifname, by_name));
            }
        }
        out
    }

    /// The earliest time [`Event::Timer`] has something to do.
    pub fn poll_at(&self) -> Option<Instant> {
        let instances = if self.deadlines.is_stale() {
            self.instances.iter().filter_map(deadline_of).min()
        } else {
            // Touched since the last event (by `instance_mut`): read them.
            let touched = self.deadlines.touched().iter();
            let touched = touched.filter_map(|&i| self.instances.get(i).and_then(deadline_of));
            touched.chain(self.deadlines.first()).min()
        };
        let links = self.pending_links.values().map(|p| p.at).min();
        instances
            .into_iter()
            .chain(self.startup_hold)
            .chain(links)
            .min()
    }

    /// Brings what follows from the touched instances up to date: their
    /// routes, then their deadlines (which forgets who was touched, so
    /// the routes come first; refreshing alone once lost the routes of
    /// instances started when `vrrp_startup_delay` ended).
    fn settle(&mut self, now: Instant, out: &mut Vec<Effect>) {
        self.sync_routes(now, out);
        self.refresh_deadlines();
    }

    fn refresh_deadlines(&mut self) {
        let instances = &self.instances;
        self.deadlines
            .refresh(instances.len(), |i| instances.get(i).and_then(deadline_of));
    }

    /// Debug builds (every cargo test) check the index after each event:
    /// no instance may have a deadline earlier than the one indexed (it
    /// would be missed).
    fn check_deadlines(&self) {
        if cfg!(debug_assertions) && !self.deadlines.is_stale() {
            for (i, r) in self.instances.iter().enumerate() {
                let routes_on = r.router.holds_addresses() && !r.deleting;
                debug_assert!(
                    routes_on == r.routes_on && !r.routes_stale,
                    "instance {i}: routes not synced after the event"
                );
                let actual = deadline_of(r);
                let held = self.deadlines.held(i);
                let missed = match (actual, held) {
                    (Some(a), Some(h)) => a < h,
                    (Some(_), None) => true,
                    (None, _) => false,
                };
                debug_assert!(
                    !missed,
                    "instance {i}: deadline {actual:?} not indexed (held {held:?})"
                );
            }
        }
    }

    /// Whether a Backup's timer (Master_Down) is due at `now`. Before the
    /// shell hands the core that timer it hands it every advert already
    /// received: each advert from the Master resets Master_Down (RFC 9568
    /// §6.4.2), and a driver that ran late (a stalled VM, a swap storm, a
    /// busy CPU) finds the timer and the Master's queued adverts ready at
    /// once; the order of its wake-up must not turn that into a takeover.
    pub fn backup_timer_due(&self, now: Instant) -> bool {
        let due = |r: &Running| {
            r.router.state() == State::Backup && r.router.poll_at().is_some_and(|t| t <= now)
        };
        if self.deadlines.is_stale() {
            return self.instances.iter().any(due);
        }
        self.deadlines
            .due(now)
            .into_iter()
            .chain(self.deadlines.touched().iter().copied())
            .filter_map(|i| self.instances.get(i))
            .any(due)
    }

    /// Handles one event at `now`.
    pub fn handle(&mut self, now: Instant, event: Event) -> Vec<Effect> {
        let mut out = Vec::new();
        self.settle(now, &mut out);
        // Which instances' timers this event may move, beyond those whose
        // router it feeds (`push_actions` marks them): the named instance,
        // or for a rare event (links, addresses, reloads) all of them, a
        // cheap pass that changes the index only where a deadline moved.
        // The hot events, adverts and timers, touch only what they feed.
        match &event {
            Event::Timer | Event::Received { .. } => {}
            Event::SourceFound { instance, .. }
            | Event::Rebound { instance, .. }
            | Event::RebindFailed { instance, .. }
            | Event::Tracked { instance, .. }
            | Event::SendFailed { instance }
            | Event::SendOk { instance }
            | Event::AdminDown { instance, .. } => self.deadlines.touch(*instance),
            _ => {
                for i in 0..self.instances.len() {
                    self.deadlines.touch(i);
                }
            }
        }
        match event {
            Event::Timer => self.timers(now, &mut out),
            Event::Received { socket, datagram } => self.receive(now, socket, datagram, &mut out),
            Event::Link {
                index,
                name,
                running,
            } => self.link(now, index, &name, running, &mut out),
            Event::LinkRemoved { index } => self.link_removed(now, index, &mut out),
            Event::AddressAdded { index } => {
                // An instance waiting for a source address (IPv6
                // link-local after DAD, say) may start now.
                for (i, r) in self.instances.iter().enumerate() {
                    if r.source_ifindex() == index && r.faults.no_source {
                        out.push(Effect::FindSource {
                            instance: i,
                            ifindex: index,
                        });
                    }
                }
            }
            Event::AddressRemoved { index, addr } => {
                // keepalived's netlink_if_address_filter(): a tracked
                // static address deleted by someone else is added again
                // ("Restoring deleted static address").
                let lost = self.static_addresses_asked.iter().find(|(ix, s)| {
                    *ix == index
                        && s.addr == addr
                        && self
                            .static_addresses
                            .iter()
                            .any(|a| a.ifindex == index && a.spec.addr == addr && !a.no_track)
                });
                if let Some(a) = lost.cloned() {
                    out.push(Effect::Log {
                        level: Level::Info,
                        instance: None,
                        text: format!("Restoring deleted static address {addr}"),
                    });
                    out.push(Effect::StaticAddressWork {
                        add: vec![a],
                        remove: Vec::new(),
                    });
                }
                // keepalived's netlink_if_address_filter(): with
                // track_src_ip, losing the configured source is a FAULT
                // until it is back (`source_address` then finds it).
                for i in 0..self.instances.len() {
                    let r = &self.instances[i];
                    if r.cfg.track_src_ip
                        && !r.faults.no_source
                        && r.source_ifindex() == index
                        && params::configured_source(&r.cfg) == Some(addr)
                    {
                        let text = format!("({}) source address {addr} was removed", r.name());
                        out.push(log(Level::Warn, r, text));
                        self.set_fault(i, now, |f| f.no_source = true, &mut out);
                    }
                }
                for i in 0..self.instances.len() {
                    let r = &self.instances[i];
                    let ours = r.addresses.get(&addr).is_some_and(|(ix, _)| *ix == index);
                    if ours && r.router.holds_addresses() {
                        out.push(log(
                            Level::Warn,
                            r,
                            format!(
                                "({}) virtual address {addr} was deleted by someone else",
                                r.name()
                            ),
                        ));
                        self.feed(i, now, Input::AddressLost { addr }, &mut out);
                    }
                }
            }
            Event::SourceFound { instance, source } => {
                self.source_found(now, instance, source, &mut out)
            }
            Event::Rebound {
                instance,
                ifindex,
                socket,
                running,
                source,
                vmac,
            } => self.rebound(
                now,
                instance,
                Rebound {
                    ifindex,
                    socket,
                    running,
                    source,
                    vmac,
                },
                &mut out,
            ),
            Event::RebindFailed { instance, ifindex } => {
                if let Some(r) = self.instances.get_mut(instance) {
                    if r.rebinding == Some(ifindex) {
                        r.rebinding = None;
                    }
                }
            }
            Event::Tracked { instance, state } => self.tracked(now, instance, &state, &mut out),
            Event::SendFailed { instance } => {
                if let Some(r) = self.instances.get_mut(instance) {
                    if r.send_failing_since.is_none() {
                        out.push(log(
                            Level::Debug,
                            r,
                            format!("({}) sends failing", r.name()),
                        ));
                    }
                    r.send_failing_since.get_or_insert(now);
                }
            }
            Event::SendOk { instance } => self.send_ok(now, instance, &mut out),
            Event::AdminDown { instance, down } => {
                if instance < self.instances.len() {
                    self.feed(instance, now, Input::AdminDown(down), &mut out);
                }
            }
            Event::Reload(reload) => self.reload(now, *reload, &mut out),
            Event::Shutdown => self.shutdown(now, &mut out),
        }
        self.settle(now, &mut out);
        self.check_deadlines();
        out
    }

    /// Asks for the routes and rules that must be in the kernel now and
    /// were not asked for yet, and for the removal of those that must not:
    /// an instance's virtual ones while it holds its addresses (keepalived
    /// adds them right after the addresses on becoming Master and removes
    /// them on leaving it), the static ones until stop. Runs after every
    /// event; an instance whose mastership and configuration did not move
    /// costs one comparison.
    fn sync_routes(&mut self, now: Instant, out: &mut Vec<Effect>) {
        // Only an instance whose router took an input (touched) or whose
        // configuration changed (a reload rebuilds the list: stale) can
        // have moved; a pass over all 1000 per event was 6 % of the CPU.
        let all = self.deadlines.is_stale();
        let touched = self.deadlines.touched();
        let instances = &mut self.instances;
        let mut sync = |r: &mut Running| {
            let on = r.router.holds_addresses() && !r.deleting;
            if on == r.routes_on && !r.routes_stale {
                return;
            }
            r.routes_on = on;
            r.routes_stale = false;
            // `garp_extra_if` rounds run while the addresses are held, the
            // first one period after they were taken (keepalived starts its
            // vmac_garp_timer on entering MASTER).
            let period = if on {
                params::extra_garp(&r.cfg).map(|(p, _)| p)
            } else {
                None
            };
            match (period, r.extra_garp_at) {
                (Some(p), None) => r.extra_garp_at = Some(now + p),
                (None, Some(_)) => r.extra_garp_at = None,
                _ => {}
            }
            let want = if on {
                routes::virtual_entries(&r.cfg)
            } else {
                Vec::new()
            };
            let (add, remove) = r.routes.diff(want);
            if !add.is_empty() || !remove.is_empty() {
                out.push(Effect::RouteWork {
                    owner: r.cfg.name.clone(),
                    add,
                    remove,
                });
            }
        };
        if all {
            instances.iter_mut().for_each(&mut sync);
        } else {
            for &i in touched {
                if let Some(r) = instances.get_mut(i) {
                    sync(r);
                }
            }
        }
        let target: &[routes::Entry] = if self.stopping {
            &[]
        } else {
            &self.static_config
        };
        if target != self.statics.entries() {
            let want = target.to_vec();
            let (add, remove) = self.statics.diff(want);
            out.push(Effect::RouteWork {
                owner: routes::STATIC_OWNER.to_string(),
                add,
                remove,
            });
        }
        self.sync_static_addresses(out);
    }

    /// `interface_up_down_delays` of `config`; a change held for an
    /// interface that has no delay any more is applied at its time.
    pub(super) fn configure_link_delays(&mut self, config: &Config) {
        self.link_delays = config
            .interface_delays
            .iter()
            .map(|d| {
                (
                    d.interface.clone(),
                    (d.down.as_duration(), d.up.as_duration()),
                )
            })
            .collect();
    }

    /// The static addresses of a configuration taken over by an upgrade
    /// (a reload brings them in [`Reload::static_addresses`]).
    pub fn set_static_addresses(&mut self, addresses: Vec<StaticAddress>) -> Vec<Effect> {
        self.static_addresses = addresses;
        let mut out = Vec::new();
        self.sync_static_addresses(&mut out);
        out
    }

    /// Static addresses: asked for from the first configuration to stop;
    /// a reload removes those it drops (keepalived's
    /// clear_diff_static_addresses) and adds the new ones. An entry whose
    /// options changed is removed with its old spec, then added.
    fn sync_static_addresses(&mut self, out: &mut Vec<Effect>) {
        let target: Vec<(u32, AddressSpec)> = if self.stopping {
            Vec::new()
        } else {
            self.static_addresses
                .iter()
                .map(|a| (a.ifindex, a.spec.clone()))
                .collect()
        };
        if target == self.static_addresses_asked {
            return;
        }
        let add: Vec<_> = target
            .iter()
            .filter(|a| !self.static_addresses_asked.contains(a))
            .cloned()
            .collect();
        // One slot per (interface, address) in the worker: an address
        // re-added with other options is not removed first.
        let remove: Vec<_> = self
            .static_addresses_asked
            .iter()
            .filter(|(ix, s)| !target.iter().any(|(t, u)| t == ix && u.addr == s.addr))
            .cloned()
            .collect();
        self.static_addresses_asked = target;
        if !add.is_empty() || !remove.is_empty() {
            out.push(Effect::StaticAddressWork { add, remove });
        }
    }

    /// Feeds `input` to instance `i`, then its sync group.
    fn feed(&mut self, i: usize, now: Instant, input: Input, out: &mut Vec<Effect>) {
        let actions = self.instances[i].router.handle(now, input);
        note_transition(&mut self.instances[i], now, &actions);
        let left_master = sync::left_master(&actions);
        self.push_actions(i, actions, out);
        self.sync_after(i, now, left_master, out);
    }

    /// Reports that instance `i` handled an input: its actions, possibly
    /// none (its counters changed all the same, and outputs such as the
    /// metrics re-render it).
    fn push_actions(&mut self, i: usize, actions: Vec<Action>, out: &mut Vec<Effect>) {
        // Every router input ends here: its timers may have moved.
        self.deadlines.touch(i);
        out.push(Effect::Actions {
            instance: i,
            actions,
        });
    }

    /// Raises or clears one fault of instance `i` with `change`; the router
    /// hears about it when the aggregate changes.
    fn set_fault(
        &mut self,
        i: usize,
        now: Instant,
        change: impl FnOnce(&mut Faults),
        out: &mut Vec<Effect>,
    ) {
        let r = &mut self.instances[i];
        let was = r.faults.any();
        change(&mut r.faults);
        let is = r.faults.any();
        // A held instance keeps its fault for `start_instance`: fed now, it
        // would leave INIT before the hold ends.
        let held = self.startup_hold.is_some() && r.router.state() == State::Initialize;
        if was != is && !held {
            self.feed(i, now, Input::Fault(is), out);
        }
    }

    fn timers(&mut self, now: Instant, out: &mut Vec<Effect>) {
        self.due_links(now, out);
        if self.startup_hold.is_some_and(|t| t <= now) {
            self.startup_hold = None;
            out.push(Effect::Log {
                level: Level::Info,
                instance: None,
                text: "Delayed start completed".into(),
            });
            for i in 0..self.instances.len() {
                if self.instances[i].router.state() == State::Initialize {
                    self.start_instance(i, now, out);
                }
            }
        }
        // Periodic adverts leaving in this round, for `phase::spread`.
        let mut sent = Vec::new();
        self.settle(now, out);
        for i in self.deadlines.due(now) {
            let Some(r) = self.instances.get_mut(i) else {
                continue;
            };
            if let Some(deadline) = r.router.poll_at().filter(|t| *t <= now) {
                let actions = r.router.handle(now, Input::Timeout);
                note_transition(r, now, &actions);
                if r.router.state() == State::Master
                    && actions.iter().any(|a| matches!(a, Action::SendAdvert(_)))
                {
                    sent.push((i, r.cfg.advert_int.as_duration()));
                    let late = now.saturating_since(deadline);
                    r.lateness.record(late);
                    if late > r.cfg.advert_int.as_duration() / 4 {
                        let text = format!(
                            "({}) advert sent {:.1} ms late (more than a quarter interval)",
                            r.name(),
                            late.as_secs_f64() * 1000.0
                        );
                        out.push(log(Level::Warn, r, text));
                    }
                }
                let left_master = sync::left_master(&actions);
                self.push_actions(i, actions, out);
                self.sync_after(i, now, left_master, out);
            }
            self.send_timers(i, now, out);
            self.extra_garp(i, now, out);
        }
        for (i, at) in phase::spread(now, &sent) {
            if let Some(r) = self.instances.get_mut(i) {
                r.router.advance_advert(at);
                self.deadlines.touch(i);
            }
        }
    }

    /// A due `garp_extra_if` round: one announcement of each address
    /// [`params::extra_garp`] picks, then the next round a period later.
    fn extra_garp(&mut self, i: usize, now: Instant, out: &mut Vec<Effect>) {
        let Some(r) = self.instances.get_mut(i) else {
            return;
        };
        if r.extra_garp_at.is_none_or(|t| t > now) {
            return;
        }
        let Some((period, addresses)) = params::extra_garp(&r.cfg) else {
            r.extra_garp_at = None;
            return;
        };
        r.extra_garp_at = Some(now + period);
        let actions = vec![Action::Announce {
            addresses,
            repeat: 1,
            reason: crate::proto::fsm::AnnounceReason::Refresh,
        }];
        self.push_actions(i, actions, out);
    }

    /// Adverts that cannot leave for Master_Down_Interval put the instance
    /// in FAULT: it gives its addresses up, so a peer that cannot hear it
    /// is the only Master. While in that FAULT, a priority-0 advert is tried
    /// once per advert interval; the first that leaves ends the fault.
    fn send_timers(&mut self, i: usize, now: Instant, out: &mut Vec<Effect>) {
        self.deadlines.touch(i);
        let r = &mut self.instances[i];
        let interval = r.cfg.advert_int.as_duration();
        if let Some(since) = r.send_failing_since {
            if !r.faults.send && now >= since + send_fault_after(r) {
                let text = format!(
                    "({}) adverts could not be sent for {:.1} s: FAULT until one leaves",
                    r.name(),
                    now.saturating_since(since).as_secs_f64()
                );
                out.push(log(Level::Error, r, text));
                r.probe_at = Some(now + interval);
                self.set_fault(i, now, |f| f.send = true, out);
                return;
            }
        }
        let r = &mut self.instances[i];
        if r.probe_at.is_some_and(|t| t <= now) {
            r.probe_at = Some(now + interval);
            out.push(Effect::Probe { instance: i });
        }
    }

    fn send_ok(&mut self, now: Instant, i: usize, out: &mut Vec<Effect>) {
        let Some(r) = self.instances.get_mut(i) else {
            return;
        };
        self.deadlines.touch(i);
        r.send_failing_since = None;
        r.probe_at = None;
        if r.faults.send {
            let text = format!("({}) adverts leave again", r.name());
            out.push(log(Level::Info, r, text));
            self.set_fault(i, now, |f| f.send = false, out);
        }
    }

    fn receive(
        &mut self,
        now: Instant,
        key: SocketKey,
        datagram: Result<Inbound, SocketError>,
        out: &mut Vec<Effect>,
    ) {
        let inbound = match datagram {
            Ok(inbound) => inbound,
            Err(e) => {
                let reason = e.drop_reason();
                let kind = reason.map_or("socket_error", |r| r.as_str());
                *self.socket_drops.entry(kind).or_default() += 1;
                if let Some(n) = self.log_limit.allow(kind, now) {
                    let note = ratelimit::suppressed_note(n);
                    let (level, text) = match reason {
                        Some(_) => (
                            Level::Debug,
                            format!("dropped a datagram on ifindex {}: {e}{note}", key.ifindex),
                        ),
                        None => (
                            Level::Warn,
                            format!("receive on ifindex {}: {e}{note}", key.ifindex),
                        ),
                    };
                    out.push(Effect::Log {
                        level,
                        instance: None,
                        text,
                    });
                }
                return;
            }
        };
        let Some(vrid) = Packet::new_checked(&inbound.payload[..])
            .ok()
            .map(|p| p.vrid())
        else {
            *self.socket_drops.entry("truncated").or_default() += 1;
            if let Some(n) = self.log_limit.allow("truncated", now) {
                out.push(Effect::Log {
                    level: Level::Debug,
                    instance: None,
                    text: format!(
                        "truncated packet from {}{}",
                        inbound.src,
                        ratelimit::suppressed_note(n)
                    ),
                });
            }
            return;
        };
        let Some(&i) = self.by_vrid.get(&(key, vrid)) else {
            self.unknown_vrid += 1;
            if self.log_unknown_vrids {
                if let Some(n) = self.log_limit.allow("unknown_vrid", now) {
                    out.push(Effect::Log {
                        level: Level::Info,
                        instance: None,
                        text: format!(
                            "advert for unknown VRID {vrid} from {}{}",
                            inbound.src,
                            ratelimit::suppressed_note(n)
                        ),
                    });
                }
            }
            return;
        };
        let r = &mut self.instances[i];
        if inbound.src == r.router.params().source && !r.faults.no_source {
            r.drops.bump("own_address");
            return;
        }
        let peer = r.cfg.unicast_peers.iter().find(|p| p.addr == inbound.src);
        if r.cfg.is_unicast() && r.cfg.check_unicast_src && peer.is_none() {
            r.drops.bump("not_a_peer");
            if let Some(n) = r.log_limit.allow("not_a_peer", now) {
                let text = format!(
                    "({}) advert from {} which is not a unicast peer - discarding{}",
                    r.name(),
                    inbound.src,
                    ratelimit::suppressed_note(n)
                );
                out.push(log(Level::Debug, r, text));
            }
            return;
        }
        let ttl_range = peer.and_then(|p| match (p.min_ttl, p.max_ttl) {
            (None, None) => None,
            (min, max) => Some((min.unwrap_or(0), max.unwrap_or(255))),
        });
        let mut policy = RxPolicy {
            multicast: !r.cfg.is_unicast(),
            ttl_range,
            checksum: r.checksum_mode(),
        };
        // auth_hmac: a trailer makes the payload exactly 28 bytes longer
        // than its address count says (keepalived detects it the same way).
        let trailer = match &r.auth {
            Some(_) => auth::AuthState::trailer_len(
                &inbound.payload,
                crate::proto::Family::of(&inbound.src),
            ),
            None => 0,
        };
        let mut checked = socket::validate_signed(&inbound, &policy, trailer);
        // keepalived's vrrp_check_packet(): a unicast VRRPv3 IPv4 advert
        // whose sum is wrong but right with the group in the pseudo-header
        // comes from keepalived <= 1.3.6 (or `old_unicast_checksum`): sum
        // that way from now on, sending too, unless told `never`.
        if checked == Err(socket::DropReason::Checksum)
            && r.cfg.is_unicast()
            && r.cfg.family == crate::proto::Family::Ipv4
            && r.cfg.version == crate::proto::Version::V3
            && r.cfg.old_unicast_checksum == crate::config::OldUnicastChecksum::Auto
            && policy.checksum == crate::proto::wire::ChecksumMode::PseudoHeader
        {
            policy.checksum = params::old_unicast_checksum(&r.cfg);
            checked = socket::validate_signed(&inbound, &policy, trailer);
            if checked.is_ok() {
                r.old_checksum = true;
                let text = format!(
                    "({}) Setting unicast VRRPv3 checksum to old version",
                    r.name()
                );
                out.push(log(Level::Info, r, text));
            }
        }
        let checked = match (checked, &mut r.auth) {
            (Ok(repr), Some(a)) => {
                let binding = crate::proto::auth_hmac::Binding {
                    version: r.cfg.version,
                    vrid: repr.vrid,
                    src: inbound.src,
                };
                match a.check(self.utc, &binding, &inbound.payload, trailer) {
                    Ok(accepted) => {
                        if accepted.skew_warning(a.anti_replay()) {
                            if let Some(n) = r.log_limit.allow("auth_hmac_skew", now) {
                                let text = format!(
                                    "({}) authentication clock skew {} sec from {} approaching window{}",
                                    r.name(),
                                    accepted.skew.unwrap_or(0),
                                    inbound.src,
                                    ratelimit::suppressed_note(n)
                                );
                                out.push(log(Level::Warn, r, text));
                            }
                        }
                        Ok(repr)
                    }
                    Err(drop) => Err(Dropped::Auth(drop)),
                }
            }
            (checked, _) => checked.map_err(Dropped::Wire),
        };
        match checked {
            Ok(repr) => {
                let src = inbound.src;
                self.feed(i, now, Input::Advert { src, repr }, out);
            }
            Err(Dropped::Auth(drop)) => {
                r.drops.bump(drop.as_str());
                if let Some(n) = r.log_limit.allow(drop.as_str(), now) {
                    let text = format!(
                        "({}) dropped advert from {}: {}{}",
                        r.name(),
                        inbound.src,
                        auth_drop_text(drop),
                        ratelimit::suppressed_note(n)
                    );
                    // Forgeries and clock trouble are worth a warning, as
                    // keepalived logs them as errors; still rate limited.
                    out.push(log(Level::Warn, r, text));
                }
            }
            Err(Dropped::Wire(reason)) => {
                r.drops.bump(reason.as_str());
                if let Some(n) = r.log_limit.allow(reason.as_str(), now) {
                    let text = format!(
                        "({}) dropped advert from {}: {}{}",
                        r.name(),
                        inbound.src,
                        reason.as_str(),
                        ratelimit::suppressed_note(n)
                    );
                    out.push(log(Level::Debug, r, text));
                }
            }
        }
    }

    /// A link report, held back by `interface_up_down_delays` as
    /// keepalived's update_interface_flags(): a change waits out its
    /// delay; the opposite change before then cancels it ("Delay timer
    /// for IF cancelled"), so a flap shorter than the delay is never seen.
    fn link(&mut self, now: Instant, index: u32, name: &str, running: bool, out: &mut Vec<Effect>) {
        if let Some(p) = self.pending_links.get(&index) {
            if p.running != running {
                self.pending_links.remove(&index);
                out.push(Effect::Log {
                    level: Level::Info,
                    instance: None,
                    text: format!("Delay timer for {name} cancelled"),
                });
            }
            return;
        }
        let delay = self
            .link_delays
            .get(name)
            .map(|(down, up)| if running { *up } else { *down })
            .filter(|d| !d.is_zero());
        let change = self.link_up.get(&index).is_some_and(|up| *up != running);
        if let (Some(delay), true) = (delay, change) {
            self.pending_links.insert(
                index,
                PendingLink {
                    at: now + delay,
                    name: name.to_string(),
                    running,
                },
            );
            out.push(Effect::Log {
                level: Level::Info,
                instance: None,
                text: format!(
                    "{name}: link {} delayed by {:.6} s",
                    if running { "up" } else { "down" },
                    delay.as_secs_f64()
                ),
            });
            return;
        }
        self.link_apply(now, index, name, running, out);
    }

    /// Link changes whose delay is over.
    fn due_links(&mut self, now: Instant, out: &mut Vec<Effect>) {
        let due: Vec<u32> = self
            .pending_links
            .iter()
            .filter(|(_, p)| p.at <= now)
            .map(|(ix, _)| *ix)
            .collect();
        for index in due {
            if let Some(p) = self.pending_links.remove(&index) {
                for i in 0..self.instances.len() {
                    self.deadlines.touch(i);
                }
                self.link_apply(now, index, &p.name, p.running, out);
            }
        }
    }

    fn link_apply(
        &mut self,
        now: Instant,
        index: u32,
        name: &str,
        running: bool,
        out: &mut Vec<Effect>,
    ) {
        self.link_up.insert(index, running);
        for i in 0..self.instances.len() {
            let r = &mut self.instances[i];
            if r.ifindex != index {
                // The interface was deleted and re-created under its name:
                // re-bind (once per new index). A VMAC instance's socket is
                // on its macvlan: its base under the same index is the one
                // it sits on, not a new one.
                let base = r.vmac.as_ref().map_or(r.ifindex, |v| v.base_ifindex);
                if r.ifname == name && index != base && r.faults.link && r.rebinding != Some(index)
                {
                    r.rebinding = Some(index);
                    out.push(Effect::Rebind {
                        instance: i,
                        ifindex: index,
                    });
                }
                continue;
            }
            if r.cfg.dont_track_primary {
                continue;
            }
            let fault = !running;
            if fault == r.faults.link {
                continue;
            }
            let text = format!(
                "Netlink reports {name} {}",
                if fault { "down" } else { "up" }
            );
            out.push(log(Level::Info, r, text));
            self.set_fault(i, now, |f| f.link = fault, out);
        }
        self.follow_address_links(index, name, out);
        self.address_links(now, index, name, out);
    }

    /// An interface addresses go on (`dev`) now has index `index`: deleted
    /// and made again under its name, the addresses follow it, as
    /// keepalived finds an interface by name. Their instance left MASTER
    /// when it went (TRACK_ADDR) and adds them there when it is back; a
    /// `no_track` one held all along is added there now. (An address's own
    /// VMAC went with its base: a reload makes it again.)
    fn follow_address_links(&mut self, index: u32, name: &str, out: &mut Vec<Effect>) {
        for r in &mut self.instances {
            let cfg = std::sync::Arc::clone(&r.cfg);
            let (own, base) = (r.ifindex, r.source_ifindex());
            let mut add = Vec::new();
            for v in cfg.vips.iter().chain(&cfg.excluded_vips) {
                if v.dev.as_deref() != Some(name) || v.vmac.is_some() {
                    continue;
                }
                let Some(placed) = r.addresses.get(&v.addr) else {
                    continue;
                };
                if placed.0 == index || placed.0 == own || placed.0 == base {
                    continue;
                }
                let spec = placed.1.clone();
                r.addresses.insert(v.addr, (index, spec.clone()));
                if v.no_track && r.router.holds_addresses() {
                    add.push((index, spec));
                }
            }
            if !add.is_empty() {
                out.push(Effect::AddressWork {
                    owner: cfg.name.clone(),
                    add,
                    remove: Vec::new(),
                });
            }
        }
    }

    /// keepalived's TRACK_ADDR (vrrp_complete_instance()): an instance is
    /// in FAULT while an interface its addresses go on, other than its
    /// own, is down, unless those addresses are `no_track`. Re-evaluated
    /// for the instances with an address on `index` after its change.
    fn address_links(&mut self, now: Instant, index: u32, name: &str, out: &mut Vec<Effect>) {
        for i in 0..self.instances.len() {
            let r = &self.instances[i];
            if !r.addresses.values().any(|(ix, _)| *ix == index) {
                continue;
            }
            let down = address_link_down(r, &self.link_up);
            if down == r.faults.address_link {
                continue;
            }
            let text = format!(
                "Netlink reports {name} {}, an interface of its addresses",
                if down { "down" } else { "up" }
            );
            out.push(log(Level::Info, r, text));
            self.set_fault(i, now, |f| f.address_link = down, out);
        }
    }

    /// A link is gone: the instances on it are in FAULT. A VMAC deleted
    /// under its instance (by someone else: ours are deleted after their
    /// instance stops) is created again on its base, as keepalived does
    /// when it finds a VMAC missing; if the base went with it, that
    /// re-bind fails and the base's return asks again.
    fn link_removed(&mut self, now: Instant, index: u32, out: &mut Vec<Effect>) {
        for i in 0..self.instances.len() {
            let r = &mut self.instances[i];
            let gone = r
                .vmac
                .as_ref()
                .filter(|v| v.ifindex == index)
                .map(|v| (v.base_ifindex, v.name.clone()));
            if let Some((base, vmac)) = gone {
                if r.rebinding.is_none() {
                    r.rebinding = Some(base);
                    let text = format!(
                        "({}) VMAC interface {vmac} was deleted; creating it again",
                        r.name()
                    );
                    out.push(log(Level::Info, r, text));
                    out.push(Effect::Rebind {
                        instance: i,
                        ifindex: base,
                    });
                }
            }
            if self.instances[i].ifindex == index {
                self.set_fault(i, now, |f| f.link = true, out);
            }
        }
        // Gone is down for the instances with an address on it.
        self.link_up.insert(index, false);
        self.address_links(now, index, &format!("interface {index}"), out);
    }

    fn rebound(&mut self, now: Instant, i: usize, b: Rebound, out: &mut Vec<Effect>) {
        let Rebound {
            ifindex,
            socket,
            running,
            source,
            vmac,
        } = b;
        let Some(r) = self.instances.get_mut(i) else {
            return;
        };
        if r.rebinding != Some(ifindex) {
            return;
        }
        r.rebinding = None;
        let old = r.ifindex;
        // The socket's interface: the VMAC, or the base itself.
        let new = socket.ifindex;
        r.ifindex = new;
        r.socket_key = socket;
        // Addresses follow their interface: the base, or the VMAC (which
        // holds them even when adverts leave from the base).
        let old_vmac = r.vmac.as_ref().map(|v| v.ifindex);
        let new_vmac = vmac.as_ref().map(|v| v.ifindex);
        for (index, _) in r.addresses.values_mut() {
            if let (Some(o), Some(n)) = (old_vmac, new_vmac) {
                if *index == o {
                    *index = n;
                    continue;
                }
            }
            if *index == old {
                *index = new;
            }
        }
        r.vmac = vmac.map(Box::new);
        // Sends that failed on the old socket (the priority-0 advert of
        // the FAULT the interface's loss caused) say nothing of the new
        // one: a Backup sends nothing that could clear them, and would go
        // to FAULT for them a Master_Down_Interval later.
        r.send_failing_since = None;
        r.probe_at = None;
        let send_fault = r.faults.send;
        let text = format!(
            "({}) interface {} is back (index {old} -> {new}); re-bound",
            r.name(),
            r.ifname
        );
        out.push(log(Level::Info, r, text));
        self.index_vrids();
        if let Some(source) = source {
            if source != self.instances[i].router.params().source {
                self.source_found(now, i, source, out);
            }
        } else {
            self.set_fault(i, now, |f| f.no_source = true, out);
        }
        if send_fault {
            self.set_fault(i, now, |f| f.send = false, out);
        }
        let link_fault = !running && !self.instances[i].cfg.dont_track_primary;
        self.set_fault(i, now, |f| f.link = link_fault, out);
    }

    fn source_found(&mut self, now: Instant, i: usize, source: IpAddr, out: &mut Vec<Effect>) {
        let Some(r) = self.instances.get(i) else {
            return;
        };
        if !r.faults.no_source && r.router.params().source == source {
            return;
        }
        out.push(log(
            Level::Info,
            r,
            format!("({}) using source address {source}", r.name()),
        ));
        let mut params = params::params(&r.cfg, source);
        params.sync_group = self.groups.member(i);
        self.feed(i, now, Input::Reload(Box::new(params)), out);
        self.set_fault(i, now, |f| f.no_source = false, out);
    }

    fn tracked(&mut self, now: Instant, i: usize, state: &TrackState, out: &mut Vec<Effect>) {
        let Some(r) = self.instances.get_mut(i) else {
            return;
        };
        let adjustment = state.adjustment;
        if adjustment != r.track_adjustment {
            r.track_adjustment = adjustment;
            self.feed(i, now, Input::PriorityChanged { adjustment }, out);
        }
        let r = &self.instances[i];
        if state.fault != r.faults.tracker {
            out.push(tracker_fault_line(r, state));
            self.set_fault(i, now, |f| f.tracker = state.fault, out);
        }
    }

    /// Brings the running set to `reload.config`: instances with the same
    /// identity (keepalived's) keep running with the new parameters,
    /// removed ones stop as deleted, new ones start.
    fn reload(&mut self, now: Instant, mut reload: Reload, out: &mut Vec<Effect>) {
        let config = std::mem::take(&mut reload.config);
        self.log_unknown_vrids = config.global.log_unknown_vrids;
        self.static_config = routes::static_entries(&config);
        self.static_addresses = std::mem::take(&mut reload.static_addresses);
        self.configure_link_delays(&config);
        let mut old: Vec<Running> = std::mem::take(&mut self.instances);
        let mut started = reload.started;
        let mut next: Vec<Running> = Vec::new();
        for cfg in &config.instances {
            let identity = cfg.identity();
            if let Some(pos) = old.iter().position(|r| r.cfg.identity() == identity) {
                let mut running = old.swap_remove(pos);
                // The VMAC is made when an instance starts: a kept instance
                // keeps the one it has.
                if vmac::spec(&running.cfg) != vmac::spec(cfg) {
                    out.push(log(
                        Level::Warn,
                        &running,
                        format!(
                            "({}) use_vmac changed: applied when the instance restarts (vrrpd restart)",
                            cfg.name
                        ),
                    ));
                }
                let mut params = params::params(cfg, running.router.params().source);
                // A member keeps its group across a reload: without it the
                // router would leave a FAULT its group holds it in, and
                // notify BACKUP before the group pushed it back.
                params.sync_group = sync::configured_member(&config, &cfg.name);
                // Keep the old specs of addresses the reload removes: the
                // kernel deletes an address only with its own prefix.
                let mut addresses = reload.addresses.remove(&cfg.name).unwrap_or_default();
                // An address that stays but changes interface (its own
                // VMAC given or taken away, another `dev`) moves now if
                // held: off the old one, onto the new, announced there.
                let moved = if running.router.holds_addresses() {
                    moved_addresses(&running.addresses, &addresses)
                } else {
                    Vec::new()
                };
                for (addr, spec) in running.addresses.drain() {
                    addresses.insert_if_absent(addr, spec);
                }
                running.addresses = addresses;
                if !moved.is_empty() {
                    let add: Vec<_> = moved
                        .iter()
                        .filter_map(|(a, _)| running.addresses.get(a).cloned())
                        .collect();
                    out.push(Effect::AddressWork {
                        owner: cfg.name.clone(),
                        add,
                        remove: moved.iter().map(|(_, old)| old.clone()).collect(),
                    });
                }
                running.cfg = cfg.clone();
                running.auth = auth::AuthState::reload(running.auth.take(), cfg);
                running.routes_stale = true;
                let mut actions = running.router.handle(now, Input::Reload(Box::new(params)));
                note_transition(&mut running, now, &actions);
                if !moved.is_empty() && running.router.holds_addresses() {
                    actions.push(Action::Announce {
                        addresses: moved.iter().map(|(a, _)| *a).collect(),
                        repeat: cfg.garp.master_repeat,
                        reason: crate::proto::fsm::AnnounceReason::Refresh,
                    });
                }
                next.push(running);
                self.push_actions(next.len() - 1, actions, out);
            } else if let Some(pos) = started.iter().position(|r| r.cfg.identity() == identity) {
                let mut running = started.swap_remove(pos);
                running.state_since = now;
                next.push(running);
            }
        }
        for mut gone in old {
            gone.deleting = true;
            out.push(log(
                Level::Info,
                &gone,
                format!("({}) removed by reload", gone.name()),
            ));
            let actions = gone.router.handle(now, Input::Shutdown);
            let (_, remove) = gone.routes.diff(Vec::new());
            if !remove.is_empty() {
                out.push(Effect::RouteWork {
                    owner: gone.cfg.name.clone(),
                    add: Vec::new(),
                    remove,
                });
            }
            out.push(Effect::Removed {
                running: Box::new(gone),
                actions,
            });
        }
        self.instances = next;
        // What the shell found of each instance's link is the state a
        // delayed change is measured against.
        for r in &self.instances {
            if !r.cfg.dont_track_primary {
                self.link_up.entry(r.ifindex).or_insert(!r.faults.link);
            }
        }
        self.index_vrids();
        self.configure_sync_groups(&config);
        out.push(Effect::InstancesChanged);
        for i in 0..self.instances.len() {
            let member = self.groups.member(i);
            let r = &mut self.instances[i];
            if r.router.params().sync_group != member {
                let mut params = r.router.params().clone();
                params.sync_group = member;
                let actions = r.router.handle(now, Input::Reload(Box::new(params)));
                note_transition(r, now, &actions);
                self.push_actions(i, actions, out);
            }
        }
        // New instances: a fault they start with (link down, no source)
        // first, outside their group (as they were not running yet), then
        // Startup.
        for i in 0..self.instances.len() {
            let r = &mut self.instances[i];
            if r.router.state() != State::Initialize {
                continue;
            }
            if let Some(t) = reload.tracking.get(r.name()) {
                if t.adjustment != 0 {
                    r.track_adjustment = t.adjustment;
                    let input = Input::PriorityChanged {
                        adjustment: t.adjustment,
                    };
                    let actions = r.router.handle(now, input);
                    note_transition(r, now, &actions);
                    self.push_actions(i, actions, out);
                }
                let r = &mut self.instances[i];
                if t.fault {
                    r.faults.tracker = true;
                    out.push(tracker_fault_line(r, t));
                }
            }
            if self.startup_hold.is_none() {
                self.start_instance(i, now, out);
            }
        }
    }

    /// A new instance leaves INIT: a fault it starts with first, then Startup.
    fn start_instance(&mut self, i: usize, now: Instant, out: &mut Vec<Effect>) {
        let r = &mut self.instances[i];
        if r.faults.any() {
            let actions = r.router.handle(now, Input::Fault(true));
            note_transition(r, now, &actions);
            self.push_actions(i, actions, out);
        }
        self.feed(i, now, Input::Startup, out);
    }

    /// After the instance list changed (reload, restore): the VRID map
    /// and the deadline index are rebuilt.
    fn index_vrids(&mut self) {
        self.deadlines.mark_stale();
        self.by_vrid = self
            .instances
            .iter()
            .enumerate()
            .map(|(i, r)| ((r.socket_key.clone(), r.cfg.vrid.get()), i))
            .collect();
    }

    fn shutdown(&mut self, now: Instant, out: &mut Vec<Effect>) {
        self.groups.stopping = true;
        self.stopping = true;
        for i in 0..self.instances.len() {
            self.feed(i, now, Input::Shutdown, out);
        }
        self.stop_sync_groups(out);
    }
}

/// What [`Event::Rebound`] brought.
struct Rebound {
    ifindex: u32,
    socket: SocketKey,
    running: bool,
    source: Option<IpAddr>,
    vmac: Option<vmac::VmacLink>,
}

/// How long adverts may fail before the instance goes to FAULT: the time
/// after which a peer that cannot hear us takes over anyway.
fn send_fault_after(r: &Running) -> Duration {
    master_down_interval(
        r.cfg.version,
        r.router.effective_priority().max(Priority(1)),
        r.cfg.advert_int,
        r.cfg.down_timer_adverts,
    )
}

/// The line for a tracker fault of `r` starting or ending.
fn tracker_fault_line(r: &Running, state: &TrackState) -> Effect {
    let text = if state.fault {
        format!("({}) tracker fault: {}", r.name(), state.failing.join(", "))
    } else {
        format!("({}) tracker faults cleared", r.name())
    };
    log(Level::Info, r, text)
}

fn log(level: Level, r: &Running, text: String) -> Effect {
    Effect::Log {
        level,
        instance: Some(r.cfg.name.clone()),
        text,
    }
}

/// Stamps `r` with `now` when `actions` hold a transition: status shows
/// when the instance entered its state.
fn note_transition(r: &mut Running, now: Instant, actions: &[Action]) {
    if actions
        .iter()
        .any(|a| matches!(a, Action::Transition { .. }))
    {
        r.state_since = now;
    }
}

/// A new router for `cfg` from `source` (the shell found the interface and
/// its addresses), or why its parameters are invalid.
pub fn new_router(
    cfg: &crate::config::Instance,
    source: IpAddr,
) -> Result<VirtualRouter, crate::proto::fsm::ParamsError> {
    VirtualRouter::new(params::params(cfg, source))
}
