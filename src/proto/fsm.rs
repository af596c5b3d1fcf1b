//! The VRRP state machine: one [`VirtualRouter`] per instance.
//!
//! Read next to RFC 9568 §6.4 (and RFC 3768 §6.4 for v2). Where keepalived's
//! behaviour differs from the RFC text and users depend on it, keepalived's
//! behaviour is followed and the comment says so.
//!
//! The machine is sans-IO: [`VirtualRouter::handle`] takes the caller's `now`
//! and an [`Input`], and returns the [`Action`]s to execute, in order.
//! [`VirtualRouter::poll_at`] is the next deadline; at that time the driver
//! calls `handle(now, Input::Timeout)`.

use std::cmp::Ordering;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::timers::{master_down_interval, skew_time, Centis, Instant, IntervalError};
use super::types::{Family, Priority, Version, Vrid};
use super::wire::{AdvertRepr, Auth};

/// RFC 9568 §6.4 states, plus keepalived's FAULT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum State {
    /// Not started, or stopped.
    Initialize,
    Backup,
    Master,
    /// keepalived's extra state: a tracked interface or check failed; the
    /// router does not participate (no adverts, no addresses). vrrpd also
    /// uses it for an instance an operator demoted ([`Input::AdminDown`]).
    Fault,
}

impl State {
    /// keepalived's upper-case name, as in "Entering MASTER STATE".
    pub const fn keepalived_name(self) -> &'static str {
        match self {
            State::Initialize => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
        }
    }
}

/// When gratuitous ARPs / unsolicited NAs are sent (keepalived's `garp_*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnnounceSchedule {
    /// Announcements per address on becoming Master (`garp_master_repeat`).
    pub master_repeat: u32,
    /// Delay of the second burst after becoming Master; zero means none
    /// (`garp_master_delay`).
    pub master_delay: Duration,
    /// Period of refresh bursts while Master (`garp_master_refresh`).
    pub master_refresh: Option<Duration>,
    /// Announcements per address in a refresh burst (`garp_master_refresh_repeat`).
    pub master_refresh_repeat: u32,
    /// Announcements per address when a lower-priority advert is received
    /// while Master (`garp_lower_prio_repeat`).
    pub lower_prio_repeat: u32,
    /// Delay of the second lower-priority burst; zero means none
    /// (`garp_lower_prio_delay`).
    pub lower_prio_delay: Duration,
}

impl Default for AnnounceSchedule {
    /// keepalived 2.2's defaults.
    fn default() -> Self {
        AnnounceSchedule {
            master_repeat: 5,
            master_delay: Duration::from_secs(5),
            master_refresh: None,
            master_refresh_repeat: 1,
            lower_prio_repeat: 5,
            lower_prio_delay: Duration::from_secs(5),
        }
    }
}

/// Everything the state machine needs to know about its instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Params {
    pub version: Version,
    pub vrid: Vrid,
    /// Configured (base) priority; trackers adjust it (see [`Priority::adjusted`]).
    pub priority: Priority,
    /// Our Advertisement_Interval.
    pub advert_interval: Centis,
    /// Our primary address: the source of our adverts, and the tie-break
    /// between equal priorities (RFC 9568 §6.4.3).
    pub source: IpAddr,
    /// The virtual addresses carried in adverts.
    pub addresses: Arc<[IpAddr]>,
    /// Addresses held while Master but not advertised (keepalived's
    /// `virtual_ipaddress_excluded`); may mix families.
    pub excluded_addresses: Vec<IpAddr>,
    /// VRRPv2 authentication; must be `Auth::None` for v3.
    pub auth: Auth,
    /// Preempt_Mode (false = keepalived's `nopreempt`).
    pub preempt: bool,
    /// keepalived's `preempt_delay`: after the first lower-priority advert,
    /// keep accepting the Master for this long before preempting.
    pub preempt_delay: Duration,
    /// keepalived's `down_timer_adverts`: Master_Down_Interval in adverts.
    pub down_timer_adverts: u32,
    pub announce: AnnounceSchedule,
    /// Send one advert at our priority when yielding to a higher-priority
    /// Master (keepalived's `higher_prio_send_advert`, on by default in vrrpd):
    /// the survivor of a dual-master episode sees it as a lower-priority
    /// advert and re-announces, so ARP caches poisoned by our announcements
    /// are corrected (keepalived issue #166).
    pub step_down_advert: bool,
    /// vrrpd's fast handover (opt-in, a deliberate deviation from RFC 9568
    /// §6.4.2): a Master whose effective priority drops advertises at once,
    /// and a preempting Backup that sees the Master it follows advertise
    /// below its own priority takes over at once instead of waiting for
    /// Master_Down_Interval.
    pub fast_handover: bool,
    /// Member of a sync group (keepalived's `vrrp_sync_group`): where it
    /// would become Master on its own it only says it wants to
    /// ([`Event::WantsMaster`]) and waits for [`Input::Sync`], so that the
    /// members move together (keepalived `vrrp_sync_can_goto_master`).
    pub sync_group: bool,
    /// keepalived's `owner_ignore_adverts` (2.3.3; implied by strict mode):
    /// while our effective priority is 255 we are the address owner, and
    /// every advert received is dropped before it reaches the state
    /// machine (keepalived `vrrp_check_packet`: "Dropping packet(s) from
    /// SRC since we are address owner"), so no other router's advert,
    /// priority 0 included, makes us answer or move.
    #[serde(default)]
    pub owner_ignore_adverts: bool,
    /// keepalived's `timer_expired_backup [PRIORITY]` (2.3.2; nopreempt
    /// only): the highest priority of the other routers. A Master whose
    /// advert timer fires so late that a Backup at that priority has
    /// reached its Master_Down_Interval since our last advert (the daemon
    /// was not scheduled: a paused VM, a stall) goes Backup without
    /// priority 0 rather than contest the Master the other one became
    /// (keepalived `vrrp_thread_timeout_handler`).
    #[serde(default)]
    pub timer_expired_backup: Option<Priority>,
}

impl Params {
    /// keepalived's defaults for an instance, given what has no default.
    pub fn new(version: Version, vrid: Vrid, source: IpAddr, addresses: Vec<IpAddr>) -> Self {
        Params {
            version,
            vrid,
            priority: Priority::DEFAULT,
            advert_interval: Centis::ONE_SECOND,
            source,
            addresses: addresses.into(),
            excluded_addresses: Vec::new(),
            auth: Auth::None,
            preempt: true,
            preempt_delay: Duration::ZERO,
            down_timer_adverts: super::timers::DEFAULT_DOWN_TIMER_ADVERTS,
            announce: AnnounceSchedule::default(),
            step_down_advert: true,
            fast_handover: false,
            sync_group: false,
            owner_ignore_adverts: false,
            timer_expired_backup: None,
        }
    }

    pub fn family(&self) -> Family {
        Family::of(&self.source)
    }

    /// Checks the combinations the protocol forbids.
    pub fn validate(&self) -> Result<(), ParamsError> {
        self.advert_interval.validate(self.version)?;
        let family = self.family();
        if self.version == Version::V2 && family == Family::Ipv6 {
            return Err(ParamsError::V2OverIpv6);
        }
        if let Some(addr) = self.addresses.iter().find(|a| Family::of(a) != family) {
            return Err(ParamsError::MixedFamilies(*addr));
        }
        if self.version == Version::V3 && self.auth != Auth::None {
            return Err(ParamsError::AuthWithV3);
        }
        if !(1..=100).contains(&self.down_timer_adverts) {
            return Err(ParamsError::DownTimerAdverts(self.down_timer_adverts));
        }
        Ok(())
    }
}

/// Why a [`Params`] cannot drive a virtual router.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParamsError {
    #[error(transparent)]
    Interval(#[from] IntervalError),
    #[error("VRRPv2 carries IPv4 only")]
    V2OverIpv6,
    #[error("virtual address {0} is not of the instance's address family")]
    MixedFamilies(IpAddr),
    #[error("VRRPv3 has no authentication")]
    AuthWithV3,
    #[error("down_timer_adverts must be 1..=100, got {0}")]
    DownTimerAdverts(u32),
}

/// What happened to the router, with `now`, from the driver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Input {
    /// Start participating (RFC 9568 §6.4.1).
    Startup,
    /// Stop participating: a Master resigns with priority 0.
    Shutdown,
    /// A valid advert for our VRID arrived from `src` (IP checks done by the
    /// socket layer, wire checks by the codec).
    Advert { src: IpAddr, repr: AdvertRepr },
    /// A deadline from [`VirtualRouter::poll_at`] may have passed.
    Timeout,
    /// The sum of tracker weights changed (keepalived's `total_priority`
    /// minus base priority).
    PriorityChanged { adjustment: i32 },
    /// A tracked interface or check failed (true) or every fault cleared (false).
    Fault(bool),
    /// Maintenance (`vrrpd demote` true, `vrrpd promote` false): while set,
    /// the router stays out of the election exactly as in FAULT (a Master
    /// resigns with priority 0 and drops its addresses; no adverts, no
    /// Master_Down_Timer, so it never takes over, even alone). Independent
    /// of [`Input::Fault`]: the router leaves FAULT only when both are clear.
    /// keepalived has no equivalent (operators lower the priority or stop
    /// the daemon).
    AdminDown(bool),
    /// New parameters for the same instance (SIGHUP).
    Reload(Box<Params>),
    /// One of our addresses was removed by someone else while we held it.
    AddressLost { addr: IpAddr },
    /// The sync group moves this member to `Master`, `Backup` or `Fault`
    /// (keepalived `vrrp_sync_master/backup/fault`). `Fault` holds the
    /// member there until `Sync(Backup)`, whatever its own trackers say.
    Sync(State),
}

/// Why the router changed state; shown in status and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reason {
    /// Normal start-up into Backup.
    Startup,
    /// Start-up of the address owner (priority 255): Master at once.
    AddressOwner,
    /// Master_Down_Timer expired: no advert from a Master in time.
    MasterDown,
    /// Master_Down_Timer expired after the Master resigned (priority 0).
    MasterResigned,
    /// As Master, an advert with a higher priority (or equal priority and a
    /// higher address) arrived.
    HigherPriorityAdvert {
        src: IpAddr,
        priority: Priority,
    },
    Shutdown,
    FaultRaised,
    FaultCleared,
    /// An operator demoted the instance ([`Input::AdminDown`]).
    Demoted,
    /// An operator promoted it again: back through Backup.
    Promoted,
    /// A reload changed the VRID, version or family: restarted.
    Reload,
    /// Someone else removed one of our addresses while we were Master.
    AddressRemoved {
        addr: IpAddr,
    },
    /// Fast handover: the Master we followed advertised below our priority.
    FastHandover {
        src: IpAddr,
        priority: Priority,
    },
    /// Moved by its sync group (another member changed state).
    SyncGroup,
    /// As Master, our advert timer fired after another router's
    /// Master_Down_Interval had passed ([`Params::timer_expired_backup`]).
    TimerExpired,
}

/// Why announcements are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AnnounceReason {
    BecameMaster,
    /// `garp_master_delay` after becoming Master.
    MasterDelayed,
    /// `garp_master_refresh`.
    Refresh,
    /// A lower-priority advert (or priority 0) arrived while Master: another
    /// router may have poisoned ARP caches.
    LowerPriorityAdvert,
    LowerPriorityDelayed,
    /// A reload added addresses while Master.
    Reload,
}

/// Things the driver logs or counts; no action on the network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// keepalived: "Backup received priority 0 advertisement".
    BackupReceivedPriorityZero { src: IpAddr },
    /// A Master received priority 0: another router was Master too.
    MasterReceivedPriorityZero { src: IpAddr },
    /// keepalived: "received lower priority (P) advert from X - discarding".
    LowerPriorityDiscarded { src: IpAddr, priority: Priority },
    /// A lower-priority Master is accepted until `until` (`preempt_delay`).
    PreemptDelayed { src: IpAddr, until: Instant },
    /// keepalived: "Received advert from X with lower priority P, ours Q, forcing new election".
    ForcingNewElection {
        src: IpAddr,
        priority: Priority,
        ours: Priority,
    },
    /// keepalived: "Master received advert from X with higher priority P, ours Q".
    HigherPriorityReceived {
        src: IpAddr,
        priority: Priority,
        ours: Priority,
    },
    /// keepalived: "Master received advert from X with same priority P but higher IP address than ours".
    SamePriorityHigherAddress { src: IpAddr, priority: Priority },
    /// keepalived: "WARNING - equal priority advert received from remote host with our IP address."
    EqualPriorityOwnAddress { src: IpAddr },
    /// The advert's address list differs from ours; accepted anyway, as
    /// keepalived ≥ 2.3.3 does (2.2 rejected it and caused dual masters).
    AddressListMismatch {
        src: IpAddr,
        count: usize,
        expected: usize,
        /// Our VRID, for keepalived's "not present" wording.
        vrid: Vrid,
        /// With equal counts, the first of our addresses the advert lacks
        /// (keepalived then logs that address rather than the counts).
        missing: Option<IpAddr>,
    },
    /// The advert's interval differs from ours: dropped for v2 (RFC 3768
    /// §7.1), learned by a v3 Backup (RFC 9568 §6.4.2).
    IntervalMismatch {
        src: IpAddr,
        theirs: Centis,
        ours: Centis,
        dropped: bool,
    },
    /// Dropped: authentication differs (RFC 3768 §7.1).
    AuthMismatch { src: IpAddr },
    /// Dropped: version differs.
    VersionMismatch { src: IpAddr, version: Version },
    /// Dropped: not our VRID (the driver dispatches by VRID; a bug if seen).
    VridMismatch { src: IpAddr, vrid: Vrid },
    /// keepalived: "Changing effective priority from A to B".
    EffectivePriorityChanged { from: Priority, to: Priority },
    /// Fast handover: taking over from a Master now below our priority.
    FastHandover { src: IpAddr, priority: Priority },
    /// A sync-group member would become Master (for `reason`) and waits
    /// until every member of its group wants to. Reported once per wait.
    WantsMaster { reason: Reason },
    /// Dropped: we are the address owner and ignore adverts
    /// ([`Params::owner_ignore_adverts`]).
    OwnerIgnoresAdvert { src: IpAddr },
}

/// What the driver must do, in the order given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// Log the state change (keepalived: "(VI_1) Entering MASTER STATE").
    /// Emitted before the actions it causes.
    Transition {
        from: State,
        to: State,
        reason: Reason,
    },
    /// Send this advert (multicast, or to each unicast peer).
    SendAdvert(AdvertRepr),
    /// Add these addresses to the interface.
    AddVips(Vec<IpAddr>),
    /// Remove these addresses from the interface.
    RemoveVips(Vec<IpAddr>),
    /// Send `repeat` gratuitous ARPs / unsolicited NAs for each address.
    Announce {
        addresses: Vec<IpAddr>,
        repeat: u32,
        reason: AnnounceReason,
    },
    Event(Event),
}

/// The actions of one call to [`VirtualRouter::handle`].
pub type Actions = Vec<Action>;

/// Counters for status and metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub adverts_received: u64,
    pub adverts_sent: u64,
    pub priority_zero_received: u64,
    pub priority_zero_sent: u64,
    pub became_master: u64,
    pub released_master: u64,
    pub dropped_version: u64,
    pub dropped_vrid: u64,
    pub dropped_auth: u64,
    pub dropped_interval: u64,
    pub address_list_mismatch: u64,
    pub lower_priority_discarded: u64,
    pub announcements: u64,
    /// Lower-priority or priority-0 adverts a Master did not answer
    /// because it had answered one less than an advert interval before.
    #[serde(default)]
    pub answers_suppressed: u64,
}

/// The Master we last accepted an advert from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MasterInfo {
    pub address: IpAddr,
    pub priority: Priority,
    pub advert_interval: Centis,
}

/// A router's whole state for an in-place upgrade: everything
/// [`VirtualRouter`] keeps, with each time as signed microseconds from the
/// moment the record was taken (the new process's clock has another
/// epoch). [`VirtualRouter::record`] builds it, [`VirtualRouter::restore`]
/// continues from it. Fields added later must carry `#[serde(default)]`
/// (the record's compatibility rule, `driver::upgrade`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouterRecord {
    pub params: Params,
    pub state: State,
    pub state_reason: Reason,
    pub adjustment: i32,
    pub fault: bool,
    pub admin_down: bool,
    pub sync_fault: bool,
    pub wants_master: Option<Reason>,
    /// Master_Adver_Interval, learned from the Master in v3 (RFC 9568 §6.4.2).
    pub master_adver_interval: Centis,
    pub master: Option<MasterInfo>,
    pub master_down_in: Option<i64>,
    pub master_resigned: bool,
    pub advert_in: Option<i64>,
    pub preempt_until_in: Option<i64>,
    /// Pending delayed announcements: (due in, repeat, reason).
    pub announcements: Vec<(i64, u32, AnnounceReason)>,
    pub refresh_in: Option<i64>,
    pub answered_in: Option<i64>,
    pub advert_sent_in: Option<i64>,
    pub stats: Stats,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct PendingAnnounce {
    at: Instant,
    repeat: u32,
    reason: AnnounceReason,
}

/// One VRRP instance.
#[derive(Debug, Clone)]
pub struct VirtualRouter {
    params: Params,
    state: State,
    state_reason: Reason,
    /// Sum of tracker weights.
    adjustment: i32,
    fault: bool,
    /// Demoted by an operator ([`Input::AdminDown`]).
    admin_down: bool,
    /// Held in FAULT by its sync group (`Input::Sync(State::Fault)`).
    sync_fault: bool,
    /// Sync-group member: why it wants to become Master, while it waits
    /// for its group (keepalived's `wantstate == MASTER` in BACKUP).
    wants_master: Option<Reason>,
    /// Master_Adver_Interval (RFC 9568 §6.1): ours, or learned from the
    /// Master in v3.
    master_adver_interval: Centis,
    master: Option<MasterInfo>,
    /// Backup: Master_Down_Timer.
    master_down_at: Option<Instant>,
    /// Why the Master_Down_Timer runs: silence, or a priority-0 advert.
    master_resigned: bool,
    /// Master: Adver_Timer.
    advert_at: Option<Instant>,
    /// Backup with `preempt_delay`: accept lower priorities until then.
    preempt_until: Option<Instant>,
    announcements: Vec<PendingAnnounce>,
    refresh_at: Option<Instant>,
    /// Master: when it last answered a lower-priority or priority-0 advert
    /// (an advert and an announcement burst); see [`VirtualRouter::may_answer`].
    answered_at: Option<Instant>,
    /// When the last advert left (any priority, any reason).
    advert_sent_at: Option<Instant>,
    /// The earliest of the timers above, kept by [`VirtualRouter::handle`]
    /// (the only mutator): the driver asks every router for it after each
    /// event, 100 routers per received advert at 100 instances.
    next_deadline: Option<Instant>,
    stats: Stats,
}

impl VirtualRouter {
    /// A router in Initialize; nothing happens before [`Input::Startup`].
    pub fn new(params: Params) -> Result<Self, ParamsError> {
        params.validate()?;
        Ok(VirtualRouter {
            master_adver_interval: params.advert_interval,
            params,
            state: State::Initialize,
            state_reason: Reason::Startup,
            adjustment: 0,
            fault: false,
            admin_down: false,
            sync_fault: false,
            wants_master: None,
            master: None,
            master_down_at: None,
            master_resigned: false,
            advert_at: None,
            preempt_until: None,
            announcements: Vec::new(),
            refresh_at: None,
            answered_at: None,
            advert_sent_at: None,
            next_deadline: None,
            stats: Stats::default(),
        })
    }

    /// Everything this router keeps, with times relative to `now`.
    pub fn record(&self, now: Instant) -> RouterRecord {
        let rel = |t: Option<Instant>| t.map(|t| t.offset_from(now));
        RouterRecord {
            params: self.params.clone(),
            state: self.state,
            state_reason: self.state_reason,
            adjustment: self.adjustment,
            fault: self.fault,
            admin_down: self.admin_down,
            sync_fault: self.sync_fault,
            wants_master: self.wants_master,
            master_adver_interval: self.master_adver_interval,
            master: self.master,
            master_down_in: rel(self.master_down_at),
            master_resigned: self.master_resigned,
            advert_in: rel(self.advert_at),
            preempt_until_in: rel(self.preempt_until),
            announcements: self
                .announcements
                .iter()
                .map(|a| (a.at.offset_from(now), a.repeat, a.reason))
                .collect(),
            refresh_in: rel(self.refresh_at),
            answered_in: rel(self.answered_at),
            advert_sent_in: rel(self.advert_sent_at),
            stats: self.stats.clone(),
        }
    }

    /// The router `record` describes, continuing at `taken` (the instant on
    /// this clock when the record was taken): same state, same timers,
    /// nothing to do at once but what was due anyway. No input is run, so
    /// there is no transition, no advert and no announcement.
    pub fn restore(record: RouterRecord, taken: Instant) -> Result<Self, ParamsError> {
        record.params.validate()?;
        let at = |off: Option<i64>| off.map(|o| taken.offset(o));
        let mut router = VirtualRouter {
            params: record.params,
            state: record.state,
            state_reason: record.state_reason,
            adjustment: record.adjustment,
            fault: record.fault,
            admin_down: record.admin_down,
            sync_fault: record.sync_fault,
            wants_master: record.wants_master,
            master_adver_interval: record.master_adver_interval,
            master: record.master,
            master_down_at: at(record.master_down_in),
            master_resigned: record.master_resigned,
            advert_at: at(record.advert_in),
            preempt_until: at(record.preempt_until_in),
            announcements: record
                .announcements
                .into_iter()
                .map(|(off, repeat, reason)| PendingAnnounce {
                    at: taken.offset(off),
                    repeat,
                    reason,
                })
                .collect(),
            refresh_at: at(record.refresh_in),
            answered_at: at(record.answered_in),
            advert_sent_at: at(record.advert_sent_in),
            next_deadline: None,
            stats: record.stats,
        };
        router.next_deadline = router.earliest_timer();
        Ok(router)
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// Why the router is in its current state.
    pub fn state_reason(&self) -> Reason {
        self.state_reason
    }

    pub fn params(&self) -> &Params {
        &self.params
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Whether an operator demoted the router ([`Input::AdminDown`]).
    pub fn admin_down(&self) -> bool {
        self.admin_down
    }

    /// A cause of FAULT of its own ([`Input::Fault`]: trackers, link; or
    /// [`Input::AdminDown`]), whatever its sync group says.
    pub fn own_fault(&self) -> bool {
        self.fault || self.admin_down
    }

    /// Sync-group member in Backup that wants to become Master.
    pub fn wants_master(&self) -> bool {
        self.state == State::Backup && self.wants_master.is_some()
    }

    /// Held in FAULT by its sync group.
    pub fn sync_held(&self) -> bool {
        self.sync_fault
    }

    /// The priority we advertise and compare with: base plus tracker
    /// weights, clamped; an owner stays 255.
    pub fn effective_priority(&self) -> Priority {
        self.params.priority.adjusted(self.adjustment)
    }

    /// The Master we follow while Backup (None when Master ourselves or
    /// nothing heard yet).
    pub fn master(&self) -> Option<MasterInfo> {
        self.master
    }

    pub fn master_adver_interval(&self) -> Centis {
        self.master_adver_interval
    }

    /// Whether the router currently holds its virtual addresses.
    pub fn holds_addresses(&self) -> bool {
        self.state == State::Master
    }

    /// The next time [`Input::Timeout`] has something to do.
    pub fn poll_at(&self) -> Option<Instant> {
        self.next_deadline
    }

    fn earliest_timer(&self) -> Option<Instant> {
        [self.master_down_at, self.advert_at, self.refresh_at]
            .into_iter()
            .chain(self.announcements.iter().map(|a| Some(a.at)))
            .flatten()
            .min()
    }

    /// Master: sends the next periodic advert at `at` if that is earlier
    /// than the Adver_Timer (an advert early is always safe: a Backup only
    /// restarts its Master_Down_Timer on receipt, RFC 9568 §6.4.2, and the
    /// advertised interval is unchanged); a later time, or any other state,
    /// changes nothing. Returns whether the timer moved. The driver uses it
    /// to spread instances whose adverts fall due together
    /// (`driver::phase`).
    pub fn advance_advert(&mut self, at: Instant) -> bool {
        match self.advert_at {
            Some(due) if self.state == State::Master && at < due => {
                self.advert_at = Some(at);
                self.next_deadline = self.earliest_timer();
                true
            }
            _ => false,
        }
    }

    /// The advert this router sends with `priority`.
    pub fn advert(&self, priority: Priority) -> AdvertRepr {
        AdvertRepr {
            version: self.params.version,
            vrid: self.params.vrid,
            priority,
            max_advert_int: self.params.advert_interval,
            addresses: self.params.addresses.clone(),
            auth: self.params.auth,
        }
    }

    /// Feeds one input; returns what to do, in order.
    pub fn handle(&mut self, now: Instant, input: Input) -> Actions {
        let mut out = Actions::new();
        match input {
            Input::Startup => self.startup(now, &mut out),
            Input::Shutdown => self.shutdown(&mut out),
            Input::Advert { src, repr } => self.receive(now, src, &repr, &mut out),
            Input::Timeout => self.timeout(now, &mut out),
            Input::PriorityChanged { adjustment } => {
                let before = self.effective_priority();
                self.adjustment = adjustment;
                let after = self.effective_priority();
                if before != after {
                    out.push(Action::Event(Event::EffectivePriorityChanged {
                        from: before,
                        to: after,
                    }));
                }
                // Fast handover: tell the Backups now rather than at the
                // next advert, so a preempting one can take over at once.
                if self.params.fast_handover && self.state == State::Master && after < before {
                    self.send_advert(now, after, &mut out);
                }
            }
            Input::Fault(true) => {
                self.fault = true;
                self.enter_fault(Reason::FaultRaised, &mut out);
            }
            Input::Fault(false) => {
                self.fault = false;
                self.leave_fault(now, Reason::FaultCleared, &mut out);
            }
            Input::AdminDown(true) => {
                self.admin_down = true;
                self.enter_fault(Reason::Demoted, &mut out);
            }
            Input::AdminDown(false) => {
                self.admin_down = false;
                self.leave_fault(now, Reason::Promoted, &mut out);
            }
            Input::Reload(params) => self.reload(now, *params, &mut out),
            Input::AddressLost { addr } => self.address_lost(now, addr, &mut out),
            Input::Sync(to) => self.sync(now, to, &mut out),
        }
        self.next_deadline = self.earliest_timer();
        out
    }

    // RFC 9568 §6.4.1.
    fn startup(&mut self, now: Instant, out: &mut Actions) {
        if self.state != State::Initialize {
            return;
        }
        if self.fault || self.admin_down || self.sync_fault {
            let reason = self.fault_reason();
            self.transition(State::Fault, reason, out);
            // keepalived removes the instance's addresses at start whatever
            // the state, clearing what a killed predecessor left behind.
            out.push(Action::RemoveVips(self.all_addresses()));
            return;
        }
        if self.effective_priority().is_owner() && !self.params.sync_group {
            self.become_master(now, Reason::AddressOwner, out);
        } else if self.effective_priority().is_owner() {
            // An owner in a sync group waits for the group like any member
            // (keepalived starts it in BACKUP with a short timer).
            self.master_adver_interval = self.params.advert_interval;
            self.transition(State::Backup, Reason::Startup, out);
            out.push(Action::RemoveVips(self.all_addresses()));
            self.start_master_down(now, self.master_down_interval_with(1), false);
            self.want_master(Reason::AddressOwner, out);
        } else {
            self.master_adver_interval = self.params.advert_interval;
            self.transition(State::Backup, Reason::Startup, out);
            out.push(Action::RemoveVips(self.all_addresses()));
            self.start_master_down(now, self.master_down_interval(), false);
        }
    }

    // RFC 9568 §6.4.2/§6.4.3 "If a Shutdown event is received".
    fn shutdown(&mut self, out: &mut Actions) {
        match self.state {
            State::Initialize => {}
            State::Master => {
                self.transition(State::Initialize, Reason::Shutdown, out);
                self.resign(out);
            }
            State::Backup | State::Fault => {
                self.transition(State::Initialize, Reason::Shutdown, out);
            }
        }
        self.clear_timers();
        self.master = None;
    }

    /// A fault or a demotion: a Master resigns with priority 0 (keepalived
    /// §2.7), a Backup stops listening. Already in FAULT (for the other
    /// cause), nothing changes.
    /// Why the router is in FAULT, of the causes that remain.
    fn fault_reason(&self) -> Reason {
        if self.fault {
            Reason::FaultRaised
        } else if self.admin_down {
            Reason::Demoted
        } else {
            Reason::SyncGroup
        }
    }

    fn enter_fault(&mut self, reason: Reason, out: &mut Actions) {
        match self.state {
            State::Initialize | State::Fault => {}
            State::Master => {
                self.transition(State::Fault, reason, out);
                self.resign(out);
            }
            State::Backup => self.transition(State::Fault, reason, out),
        }
        if self.state == State::Fault {
            self.clear_timers();
            self.master = None;
        }
    }

    /// One cause of FAULT cleared: leave when none is left, else the state
    /// is now explained by the remaining cause.
    fn leave_fault(&mut self, now: Instant, reason: Reason, out: &mut Actions) {
        if self.state != State::Fault {
            return;
        }
        if self.fault || self.admin_down || self.sync_fault {
            self.state_reason = self.fault_reason();
            return;
        }
        // Leaving FAULT always goes through BACKUP (keepalived §2.7). An
        // owner waits one interval plus skew rather than the full interval.
        self.master_adver_interval = self.params.advert_interval;
        self.transition(State::Backup, reason, out);
        let wait = if self.effective_priority().is_owner() {
            self.master_down_interval_with(1)
        } else {
            self.master_down_interval()
        };
        self.start_master_down(now, wait, false);
    }

    // keepalived (`set_vrrp_backup`): a Master whose address was deleted
    // behind its back resigns to Backup with priority 0, so a peer takes
    // over within Skew_Time; alone, it comes back after Master_Down_Interval
    // and adds the addresses again.
    fn address_lost(&mut self, now: Instant, addr: IpAddr, out: &mut Actions) {
        if self.state != State::Master || !self.all_addresses().contains(&addr) {
            return;
        }
        self.transition(State::Backup, Reason::AddressRemoved { addr }, out);
        self.resign(out);
        self.start_master_down(now, self.master_down_interval(), false);
    }

    fn receive(&mut self, now: Instant, src: IpAddr, adv: &AdvertRepr, out: &mut Actions) {
        self.stats.adverts_received += 1;
        if !self.accept_advert(src, adv, out) {
            return;
        }
        match self.state {
            State::Initialize | State::Fault => {}
            State::Backup => self.backup_receive(now, src, adv, out),
            State::Master => self.master_receive(now, src, adv, out),
        }
    }

    /// The per-instance checks of RFC 9568 §7.1 (and RFC 3768 §7.1) that the
    /// codec cannot do because they depend on our configuration. Dropped
    /// adverts do not touch any timer.
    fn accept_advert(&mut self, src: IpAddr, adv: &AdvertRepr, out: &mut Actions) -> bool {
        if self.params.owner_ignore_adverts && self.effective_priority() == Priority::OWNER {
            out.push(Action::Event(Event::OwnerIgnoresAdvert { src }));
            return false;
        }
        if adv.version != self.params.version {
            self.stats.dropped_version += 1;
            out.push(Action::Event(Event::VersionMismatch {
                src,
                version: adv.version,
            }));
            return false;
        }
        if adv.vrid != self.params.vrid {
            self.stats.dropped_vrid += 1;
            out.push(Action::Event(Event::VridMismatch {
                src,
                vrid: adv.vrid,
            }));
            return false;
        }
        if self.params.version == Version::V2 && !auth_matches(&adv.auth, &self.params.auth) {
            self.stats.dropped_auth += 1;
            out.push(Action::Event(Event::AuthMismatch { src }));
            return false;
        }
        if adv.max_advert_int != self.params.advert_interval {
            // v2 MUST drop (RFC 3768 §7.1); v3 learns it in Backup (RFC 9568 §6.4.2).
            let dropped = self.params.version == Version::V2;
            out.push(Action::Event(Event::IntervalMismatch {
                src,
                theirs: adv.max_advert_int,
                ours: self.params.advert_interval,
                dropped,
            }));
            if dropped {
                self.stats.dropped_interval += 1;
                return false;
            }
        }
        if !self.same_address_set(&adv.addresses) {
            // keepalived ≥ 2.3.3: warn and accept (RFC 9568 §7.1 says MAY log).
            self.stats.address_list_mismatch += 1;
            out.push(Action::Event(Event::AddressListMismatch {
                src,
                count: adv.addresses.len(),
                expected: self.params.addresses.len(),
                vrid: self.params.vrid,
                missing: self
                    .params
                    .addresses
                    .iter()
                    .find(|a| !adv.addresses.contains(a))
                    .copied(),
            }));
        }
        true
    }

    fn same_address_set(&self, theirs: &[IpAddr]) -> bool {
        let ours = &self.params.addresses;
        theirs.len() == ours.len() && ours.iter().all(|a| theirs.contains(a))
    }

    // RFC 9568 §6.4.2, with keepalived's preempt_delay.
    fn backup_receive(&mut self, now: Instant, src: IpAddr, adv: &AdvertRepr, out: &mut Actions) {
        if adv.priority.is_resign() {
            self.stats.priority_zero_received += 1;
            out.push(Action::Event(Event::BackupReceivedPriorityZero { src }));
            let skew = skew_time(
                self.params.version,
                self.effective_priority(),
                self.master_adver_interval,
            );
            self.start_master_down(now, skew, true);
            return;
        }
        let ours = self.effective_priority();
        let accept = if !self.params.preempt || adv.priority >= ours {
            self.preempt_until = None;
            true
        } else if !self.params.preempt_delay.is_zero() {
            let until = *self
                .preempt_until
                .get_or_insert(now + self.params.preempt_delay);
            if now < until {
                out.push(Action::Event(Event::PreemptDelayed { src, until }));
            }
            now < until
        } else {
            false
        };
        let from_our_master = self.master.is_some_and(|m| m.address == src);
        if !accept && self.params.fast_handover && from_our_master {
            // The Master we follow now ranks below us and we preempt: take
            // over now instead of after Master_Down_Interval.
            if self.params.sync_group {
                self.stats.lower_priority_discarded += 1;
                self.want_master(
                    Reason::FastHandover {
                        src,
                        priority: adv.priority,
                    },
                    out,
                );
                return;
            }
            out.push(Action::Event(Event::FastHandover {
                src,
                priority: adv.priority,
            }));
            self.become_master(
                now,
                Reason::FastHandover {
                    src,
                    priority: adv.priority,
                },
                out,
            );
            return;
        }
        if !accept {
            self.stats.lower_priority_discarded += 1;
            out.push(Action::Event(Event::LowerPriorityDiscarded {
                src,
                priority: adv.priority,
            }));
            return;
        }
        self.follow(now, src, adv);
    }

    /// Accepts `src` as our Master: learn its interval (v3) and reset the
    /// Master_Down_Timer.
    fn follow(&mut self, now: Instant, src: IpAddr, adv: &AdvertRepr) {
        // A Master is heard again: no longer wanting MASTER (keepalived
        // resets wantstate when a Backup accepts an advert).
        self.wants_master = None;
        if self.params.version == Version::V3 {
            self.master_adver_interval = adv.max_advert_int;
        }
        self.master = Some(MasterInfo {
            address: src,
            priority: adv.priority,
            advert_interval: adv.max_advert_int,
        });
        self.start_master_down(now, self.master_down_interval(), false);
    }

    // RFC 9568 §6.4.3, with keepalived's announcements on lower priority.
    fn master_receive(&mut self, now: Instant, src: IpAddr, adv: &AdvertRepr, out: &mut Actions) {
        let ours = self.effective_priority();
        if adv.priority.is_resign() {
            self.stats.priority_zero_received += 1;
            if !self.may_answer(now) {
                return;
            }
            out.push(Action::Event(Event::MasterReceivedPriorityZero { src }));
            // RFC 9568 §6.4.3: send an advert, reset the Adver_Timer.
            self.send_advert(now, ours, out);
            // Another router believed it was Master and is now leaving: it
            // may have announced our addresses, so we re-announce (a dual
            // master episode ends here; keepalived stays silent, #166).
            self.announce_lower_priority(now, out);
            return;
        }
        let ordering = adv
            .priority
            .cmp(&ours)
            .then_with(|| compare_addresses(&src, &self.params.source));
        match ordering {
            Ordering::Greater => {
                if adv.priority > ours {
                    out.push(Action::Event(Event::HigherPriorityReceived {
                        src,
                        priority: adv.priority,
                        ours,
                    }));
                } else {
                    out.push(Action::Event(Event::SamePriorityHigherAddress {
                        src,
                        priority: adv.priority,
                    }));
                }
                self.transition(
                    State::Backup,
                    Reason::HigherPriorityAdvert {
                        src,
                        priority: adv.priority,
                    },
                    out,
                );
                if self.params.step_down_advert {
                    self.send_advert(now, ours, out);
                }
                self.leave_master(out);
                self.follow(now, src, adv);
            }
            Ordering::Equal => {
                out.push(Action::Event(Event::EqualPriorityOwnAddress { src }));
            }
            Ordering::Less => {
                if !self.may_answer(now) {
                    return;
                }
                out.push(Action::Event(Event::ForcingNewElection {
                    src,
                    priority: adv.priority,
                    ours,
                }));
                self.answer_advert(now, ours, out);
                self.announce_lower_priority(now, out);
            }
        }
    }

    fn timeout(&mut self, now: Instant, out: &mut Actions) {
        if self.master_down_at.is_some_and(|t| t <= now) {
            self.master_down_at = None;
            let reason = if self.master_resigned {
                Reason::MasterResigned
            } else {
                Reason::MasterDown
            };
            if self.params.sync_group {
                // keepalived re-arms the timer while the group holds it back.
                self.start_master_down(now, self.master_down_interval(), false);
                self.want_master(reason, out);
            } else {
                self.become_master(now, reason, out);
            }
        }
        if let (State::Master, Some(other), Some(due)) =
            (self.state, self.params.timer_expired_backup, self.advert_at)
        {
            // Our last advert left one interval before `due`; a Backup at
            // `other` took over Master_Down_Interval after it.
            // keepalived counts three intervals here, whatever down_timer_adverts says.
            let mdi = master_down_interval(
                self.params.version,
                other,
                self.params.advert_interval,
                super::timers::DEFAULT_DOWN_TIMER_ADVERTS,
            );
            let grace = mdi.saturating_sub(self.params.advert_interval.as_duration());
            if now >= due + grace {
                self.transition(State::Backup, Reason::TimerExpired, out);
                self.leave_master(out);
                self.start_master_down(now, self.master_down_interval(), false);
            }
        }
        if self.advert_at.is_some_and(|t| t <= now) {
            self.send_advert(now, self.effective_priority(), out);
        }
        let mut due = Vec::new();
        self.announcements.retain(|a| {
            if a.at <= now {
                due.push((a.repeat, a.reason));
                false
            } else {
                true
            }
        });
        for (repeat, reason) in due {
            self.announce(repeat, reason, out);
        }
        if let Some(period) = self.params.announce.master_refresh {
            if self.refresh_at.is_some_and(|t| t <= now) {
                self.refresh_at = Some(now + period);
                self.announce(
                    self.params.announce.master_refresh_repeat,
                    AnnounceReason::Refresh,
                    out,
                );
            }
        }
    }

    // keepalived §2.12: an instance with the same identity keeps its state;
    // addresses are added or removed to match, other settings apply to the
    // next advert or timer.
    fn reload(&mut self, now: Instant, new: Params, out: &mut Actions) {
        if new.validate().is_err() {
            // The config layer validates before reloading; keep running on
            // the old parameters rather than act on invalid ones.
            return;
        }
        let identity_changed = new.vrid != self.params.vrid
            || new.version != self.params.version
            || new.family() != self.params.family();
        if identity_changed {
            let was_running = self.state != State::Initialize;
            self.shutdown(out);
            self.params = new;
            if was_running {
                self.startup(now, out);
            }
            self.state_reason = Reason::Reload;
            return;
        }
        let old_addresses = self.all_addresses();
        let old = std::mem::replace(&mut self.params, new);
        if self.state == State::Master {
            let new_addresses = self.all_addresses();
            let removed: Vec<IpAddr> = old_addresses
                .iter()
                .filter(|a| !new_addresses.contains(a))
                .copied()
                .collect();
            let added: Vec<IpAddr> = new_addresses
                .iter()
                .filter(|a| !old_addresses.contains(a))
                .copied()
                .collect();
            if !removed.is_empty() {
                out.push(Action::RemoveVips(removed));
            }
            if !added.is_empty() {
                out.push(Action::AddVips(added.clone()));
                let repeat = self.params.announce.master_repeat;
                self.announce_addresses(added, repeat, AnnounceReason::Reload, out);
            }
            if old.announce.master_refresh != self.params.announce.master_refresh {
                self.refresh_at = self.params.announce.master_refresh.map(|p| now + p);
            }
        }
        if self.state == State::Backup && self.params.version == Version::V2 {
            self.master_adver_interval = self.params.advert_interval;
        }
        if self.params.preempt_delay.is_zero() {
            self.preempt_until = None;
        }
        if !self.params.sync_group {
            // No longer in a sync group: nothing holds it back any more.
            self.wants_master = None;
            if std::mem::take(&mut self.sync_fault) {
                self.leave_fault(now, Reason::FaultCleared, out);
            }
        }
    }

    /// A sync-group member that would become Master now waits for its group.
    fn want_master(&mut self, reason: Reason, out: &mut Actions) {
        if self.wants_master.is_none() {
            out.push(Action::Event(Event::WantsMaster { reason }));
        }
        self.wants_master = Some(reason);
    }

    // keepalived vrrp_sync.c: the group moves its members. Leaving MASTER
    // for BACKUP sends no priority 0 (`vrrp_state_leave_master(isync,
    // false)`); leaving it for FAULT does (§2.7).
    fn sync(&mut self, now: Instant, to: State, out: &mut Actions) {
        match to {
            State::Master => {
                if self.state == State::Backup && !self.own_fault() && !self.sync_fault {
                    let reason = self.wants_master.take().unwrap_or(Reason::SyncGroup);
                    self.become_master(now, reason, out);
                }
            }
            State::Backup => {
                if std::mem::take(&mut self.sync_fault) {
                    self.leave_fault(now, Reason::SyncGroup, out);
                } else if self.state == State::Master {
                    self.transition(State::Backup, Reason::SyncGroup, out);
                    self.leave_master(out);
                    self.start_master_down(now, self.master_down_interval(), false);
                }
            }
            State::Fault => {
                self.sync_fault = true;
                self.enter_fault(Reason::SyncGroup, out);
            }
            State::Initialize => {}
        }
    }

    /// Becoming Master (RFC 9568 §6.4.2 "(+) If the Master_Down_Timer
    /// fires"): advert first, then the addresses, then the announcements,
    /// keepalived's order (the old Master drops the addresses before our
    /// announcements arrive).
    fn become_master(&mut self, now: Instant, reason: Reason, out: &mut Actions) {
        self.transition(State::Master, reason, out);
        self.wants_master = None;
        self.stats.became_master += 1;
        self.master = None;
        self.master_down_at = None;
        self.preempt_until = None;
        self.send_advert(now, self.effective_priority(), out);
        out.push(Action::AddVips(self.all_addresses()));
        let schedule = self.params.announce.clone();
        self.announce(schedule.master_repeat, AnnounceReason::BecameMaster, out);
        if !schedule.master_delay.is_zero() {
            self.announcements.push(PendingAnnounce {
                at: now + schedule.master_delay,
                repeat: schedule.master_repeat,
                reason: AnnounceReason::MasterDelayed,
            });
        }
        self.refresh_at = schedule.master_refresh.map(|period| now + period);
    }

    /// A Master leaving for Backup: addresses go, no priority 0 (keepalived §2.4).
    fn leave_master(&mut self, out: &mut Actions) {
        self.stats.released_master += 1;
        self.advert_at = None;
        self.announcements.clear();
        self.refresh_at = None;
        out.push(Action::RemoveVips(self.all_addresses()));
    }

    /// A Master leaving for Initialize or Fault: priority 0, then addresses go.
    fn resign(&mut self, out: &mut Actions) {
        self.stats.priority_zero_sent += 1;
        self.stats.adverts_sent += 1;
        out.push(Action::SendAdvert(self.advert(Priority::RESIGN)));
        self.leave_master(out);
    }

    fn send_advert(&mut self, now: Instant, priority: Priority, out: &mut Actions) {
        self.advert_sent_at = Some(now);
        self.stats.adverts_sent += 1;
        out.push(Action::SendAdvert(self.advert(priority)));
        if self.state == State::Master {
            self.advert_at = Some(now + self.params.advert_interval.as_duration());
        }
    }

    /// Whether a Master answers an advert that ranks below it now. The
    /// answer (an advert, a burst, MASTER_RX_LOWER_PRI) is rate limited to
    /// one per advert interval: whatever a LAN host sends, a Master sends at
    /// most its periodic advert, one answer and one burst per interval.
    /// The answer restarts the Adver_Timer, so a steady stream of such
    /// adverts costs no more adverts than silence.
    fn may_answer(&mut self, now: Instant) -> bool {
        let interval = self.params.advert_interval.as_duration();
        if self
            .answered_at
            .is_some_and(|at| now.saturating_since(at) < interval)
        {
            self.stats.answers_suppressed += 1;
            return false;
        }
        self.answered_at = Some(now);
        true
    }

    /// The advert answering a lower-priority one (keepalived's, not the
    /// RFC's: RFC 9568 §6.4.3 discards it), unless one left less than half
    /// an interval ago: that one already told the sender who is Master, and
    /// skipping it keeps a flood at one advert per interval.
    fn answer_advert(&mut self, now: Instant, ours: Priority, out: &mut Actions) {
        let half = self.params.advert_interval.as_duration() / 2;
        if self
            .advert_sent_at
            .is_some_and(|at| now.saturating_since(at) < half)
        {
            return;
        }
        self.send_advert(now, ours, out);
    }

    fn announce_lower_priority(&mut self, now: Instant, out: &mut Actions) {
        let schedule = &self.params.announce;
        let (repeat, delay) = (schedule.lower_prio_repeat, schedule.lower_prio_delay);
        if repeat == 0 {
            return;
        }
        self.announce(repeat, AnnounceReason::LowerPriorityAdvert, out);
        if !delay.is_zero() {
            // A newer lower-priority burst replaces a pending one.
            self.announcements
                .retain(|a| a.reason != AnnounceReason::LowerPriorityDelayed);
            self.announcements.push(PendingAnnounce {
                at: now + delay,
                repeat,
                reason: AnnounceReason::LowerPriorityDelayed,
            });
        }
    }

    fn announce(&mut self, repeat: u32, reason: AnnounceReason, out: &mut Actions) {
        self.announce_addresses(self.all_addresses(), repeat, reason, out);
    }

    fn announce_addresses(
        &mut self,
        addresses: Vec<IpAddr>,
        repeat: u32,
        reason: AnnounceReason,
        out: &mut Actions,
    ) {
        if repeat == 0 || addresses.is_empty() {
            return;
        }
        self.stats.announcements += 1;
        out.push(Action::Announce {
            addresses,
            repeat,
            reason,
        });
    }

    fn transition(&mut self, to: State, reason: Reason, out: &mut Actions) {
        let from = self.state;
        self.state = to;
        self.state_reason = reason;
        out.push(Action::Transition { from, to, reason });
    }

    fn start_master_down(&mut self, now: Instant, after: Duration, resigned: bool) {
        self.advert_at = None;
        self.master_down_at = Some(now + after);
        self.master_resigned = resigned;
    }

    fn clear_timers(&mut self) {
        self.wants_master = None;
        self.master_down_at = None;
        self.advert_at = None;
        self.preempt_until = None;
        self.announcements.clear();
        self.refresh_at = None;
    }

    fn master_down_interval(&self) -> Duration {
        self.master_down_interval_with(self.params.down_timer_adverts)
    }

    fn master_down_interval_with(&self, adverts: u32) -> Duration {
        master_down_interval(
            self.params.version,
            self.effective_priority(),
            self.master_adver_interval,
            adverts,
        )
    }

    fn all_addresses(&self) -> Vec<IpAddr> {
        let mut all = self.params.addresses.to_vec();
        all.extend(
            self.params
                .excluded_addresses
                .iter()
                .filter(|a| !self.params.addresses.contains(a)),
        );
        all
    }
}

/// Compares v2 authentication without an early exit, so the time taken does
/// not tell an attacker how much of a guessed password was right.
fn auth_matches(received: &Auth, ours: &Auth) -> bool {
    match (received, ours) {
        (Auth::None, Auth::None) => true,
        (Auth::SimpleText(a), Auth::SimpleText(b)) => {
            a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
        }
        _ => false,
    }
}

/// Numeric comparison of two addresses of one family, as keepalived's
/// `inet_inaddrcmp` (RFC 9568 §6.4.3: "the primary IPvX Address of the sender
/// is greater than the local primary IPvX Address"). Mixed families cannot
/// meet on one instance; they compare v4 < v6 to stay total.
pub fn compare_addresses(a: &IpAddr, b: &IpAddr) -> Ordering {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => u32::from(*a).cmp(&u32::from(*b)),
        (IpAddr::V6(a), IpAddr::V6(b)) => u128::from(*a).cmp(&u128::from(*b)),
        (IpAddr::V4(_), IpAddr::V6(_)) => Ordering::Less,
        (IpAddr::V6(_), IpAddr::V4(_)) => Ordering::Greater,
    }
}
