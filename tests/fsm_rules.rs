//! One test per state-machine rule (RFC 9568 §6.4, RFC 3768 §6.4, and
//! keepalived's semantics), each on a manual clock.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use vrrpd::proto::fsm::{
    Action, AnnounceReason, Event, Input, Params, Reason, State, VirtualRouter,
};
use vrrpd::proto::wire::{AdvertRepr, Auth};
use vrrpd::proto::{Centis, Instant, Priority, Version, Vrid};

const OURS: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
const LOWER_PEER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 0));
const HIGHER_PEER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
const VIP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 30));

fn vrid() -> Vrid {
    Vrid::new(101).unwrap()
}

fn v2(priority: u8) -> Params {
    let mut p = Params::new(Version::V2, vrid(), OURS, vec![VIP]);
    p.priority = Priority(priority);
    p.auth = Auth::SimpleText(*b"password");
    p
}

fn v3(priority: u8, interval: Centis) -> Params {
    let mut p = Params::new(Version::V3, vrid(), OURS, vec![VIP]);
    p.priority = Priority(priority);
    p.advert_interval = interval;
    p
}

fn ms(millis: u64) -> Instant {
    Instant::from_millis(millis)
}

fn router(params: Params) -> VirtualRouter {
    VirtualRouter::new(params).expect("valid params")
}

/// A router started at t=0.
fn started(params: Params) -> VirtualRouter {
    let mut r = router(params);
    r.handle(ms(0), Input::Startup);
    r
}

/// A router that became Master through the Master_Down timer; returns the time.
fn master(params: Params) -> (VirtualRouter, Instant) {
    let mut r = started(params);
    let t = r.poll_at().unwrap();
    r.handle(t, Input::Timeout);
    assert_eq!(r.state(), State::Master);
    (r, t)
}

fn advert_from(r: &VirtualRouter, priority: u8) -> AdvertRepr {
    r.advert(Priority(priority))
}

fn receive(r: &mut VirtualRouter, now: Instant, src: IpAddr, priority: u8) -> Vec<Action> {
    let repr = advert_from(r, priority);
    r.handle(now, Input::Advert { src, repr })
}

fn sent_priorities(actions: &[Action]) -> Vec<u8> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::SendAdvert(repr) => Some(repr.priority.get()),
            _ => None,
        })
        .collect()
}

fn has_event(actions: &[Action], pred: impl Fn(&Event) -> bool) -> bool {
    actions
        .iter()
        .any(|a| matches!(a, Action::Event(e) if pred(e)))
}

fn announces(actions: &[Action]) -> Vec<(u32, AnnounceReason)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Announce { repeat, reason, .. } => Some((*repeat, *reason)),
            _ => None,
        })
        .collect()
}

fn kinds(actions: &[Action]) -> Vec<&'static str> {
    actions
        .iter()
        .map(|a| match a {
            Action::Transition { .. } => "transition",
            Action::SendAdvert(_) => "advert",
            Action::AddVips(_) => "add",
            Action::RemoveVips(_) => "remove",
            Action::Announce { .. } => "announce",
            Action::Event(_) => "event",
        })
        .collect()
}

// ---- start-up (RFC 9568 §6.4.1) ----

#[test]
fn startup_owner_becomes_master_at_once() {
    let mut r = router(v2(255));
    let actions = r.handle(ms(0), Input::Startup);
    assert_eq!(r.state(), State::Master);
    assert_eq!(r.state_reason(), Reason::AddressOwner);
    assert_eq!(kinds(&actions), ["transition", "advert", "add", "announce"]);
    assert_eq!(sent_priorities(&actions), [255]);
    assert_eq!(
        r.poll_at(),
        Some(ms(1000)),
        "next advert one interval later"
    );
}

#[test]
fn startup_non_owner_enters_backup_with_master_down_timer() {
    let mut r = router(v2(150));
    let actions = r.handle(ms(0), Input::Startup);
    assert_eq!(r.state(), State::Backup);
    assert!(sent_priorities(&actions).is_empty());
    // 3 × 1 s + (256 − 150)/256 s: keepalived's lab figure of 3.4 s.
    assert_eq!(r.poll_at(), Some(Instant::from_micros(3_414_062)));
}

#[test]
fn startup_below_owner_waits_even_when_configured_master() {
    // `state MASTER` with priority < 255 is only a wish: it still waits.
    let mut r = router(v2(254));
    r.handle(ms(0), Input::Startup);
    assert_eq!(r.state(), State::Backup);
    assert_eq!(r.poll_at(), Some(Instant::from_micros(3_007_812)));
}

#[test]
fn startup_removes_stale_addresses_left_by_a_predecessor() {
    let mut r = router(v2(100));
    let actions = r.handle(ms(0), Input::Startup);
    assert!(actions.contains(&Action::RemoveVips(vec![VIP])));
}

#[test]
fn startup_with_fault_enters_fault() {
    let mut r = router(v2(255));
    r.handle(ms(0), Input::Fault(true));
    let actions = r.handle(ms(0), Input::Startup);
    assert_eq!(r.state(), State::Fault);
    assert!(sent_priorities(&actions).is_empty());
    assert_eq!(r.poll_at(), None);
}

// ---- Backup (RFC 9568 §6.4.2) ----

#[test]
fn backup_becomes_master_when_master_down_timer_expires() {
    let mut r = started(v2(100));
    let deadline = r.poll_at().unwrap();
    let just_before = Instant::from_micros(deadline.as_micros() - 1);
    assert!(r.handle(just_before, Input::Timeout).is_empty());
    assert_eq!(r.state(), State::Backup);
    r.handle(deadline, Input::Timeout);
    assert_eq!(r.state(), State::Master);
    assert_eq!(r.state_reason(), Reason::MasterDown);
}

#[test]
fn becoming_master_sends_advert_then_addresses_then_announcements() {
    let mut r = started(v2(100));
    let t = r.poll_at().unwrap();
    let actions = r.handle(t, Input::Timeout);
    assert_eq!(
        kinds(&actions),
        ["transition", "advert", "add", "announce"],
        "keepalived's order, visible in the fixtures"
    );
    assert_eq!(announces(&actions), [(5, AnnounceReason::BecameMaster)]);
    assert!(actions.contains(&Action::AddVips(vec![VIP])));
}

#[test]
fn backup_priority_zero_sets_timer_to_skew_time() {
    let mut r = started(v2(100));
    let actions = receive(&mut r, ms(1000), HIGHER_PEER, 0);
    assert!(has_event(&actions, |e| matches!(
        e,
        Event::BackupReceivedPriorityZero { .. }
    )));
    // keepalived lab: takeover 0.61 s after the master's SIGTERM at prio 100.
    assert_eq!(r.poll_at(), Some(ms(1000) + Duration::from_micros(609_375)));
    r.handle(r.poll_at().unwrap(), Input::Timeout);
    assert_eq!(r.state(), State::Master);
    assert_eq!(r.state_reason(), Reason::MasterResigned);
}

#[test]
fn backup_accepts_higher_priority_and_resets_timer() {
    let mut r = started(v2(100));
    receive(&mut r, ms(2000), LOWER_PEER, 150);
    assert_eq!(
        r.poll_at(),
        Some(ms(2000) + Duration::from_micros(3_609_375))
    );
    assert_eq!(r.master().map(|m| m.address), Some(LOWER_PEER));
    assert_eq!(r.master().map(|m| m.priority), Some(Priority(150)));
}

#[test]
fn backup_accepts_equal_priority_without_tie_break() {
    // keepalived §2.3: equal priority is accepted in Backup whatever the address.
    let mut r = started(v2(100));
    receive(&mut r, ms(2000), LOWER_PEER, 100);
    assert_eq!(
        r.poll_at(),
        Some(ms(2000) + Duration::from_micros(3_609_375))
    );
    assert_eq!(r.state(), State::Backup);
}

#[test]
fn backup_v3_adopts_master_interval() {
    let mut r = started(v3(100, Centis(100)));
    let mut repr = advert_from(&r, 200);
    repr.max_advert_int = Centis(10);
    let actions = r.handle(
        ms(500),
        Input::Advert {
            src: HIGHER_PEER,
            repr,
        },
    );
    assert!(has_event(&actions, |e| matches!(
        e,
        Event::IntervalMismatch { dropped: false, .. }
    )));
    assert_eq!(r.master_adver_interval(), Centis(10));
    // 3 × 0.1 s + (256 − 100) × 0.1 s / 256, not 3 × 1 s.
    assert_eq!(r.poll_at(), Some(ms(500) + Duration::from_micros(360_937)));
}

#[test]
fn backup_v2_drops_interval_mismatch_and_counts_it() {
    let mut r = started(v2(100));
    let before = r.poll_at();
    let mut repr = advert_from(&r, 200);
    repr.max_advert_int = Centis(200);
    let actions = r.handle(
        ms(1000),
        Input::Advert {
            src: HIGHER_PEER,
            repr,
        },
    );
    assert!(has_event(&actions, |e| matches!(
        e,
        Event::IntervalMismatch { dropped: true, .. }
    )));
    assert_eq!(
        r.poll_at(),
        before,
        "a dropped advert does not reset the timer"
    );
    assert_eq!(r.stats().dropped_interval, 1);
    assert_eq!(r.master(), None);
}

#[test]
fn backup_discards_lower_priority_when_preempting() {
    let mut r = started(v2(150));
    let deadline = r.poll_at().unwrap();
    let actions = receive(&mut r, ms(1000), HIGHER_PEER, 100);
    assert!(has_event(&actions, |e| matches!(
        e,
        Event::LowerPriorityDiscarded {
            priority: Priority(100),
            ..
        }
    )));
    assert_eq!(r.poll_at(), Some(deadline), "the timer keeps running");
    receive(&mut r, ms(2000), HIGHER_PEER, 100);
    receive(&mut r, ms(3000), HIGHER_PEER, 100);
    r.handle(deadline, Input::Timeout);
    assert_eq!(r.state(), State::Master, "preemption at Master_Down expiry");
    assert_eq!(r.stats().lower_priority_discarded, 3);
}

#[test]
fn backup_nopreempt_accepts_lower_priority() {
    let mut p = v2(150);
    p.preempt = false;
    let mut r = started(p);
    receive(&mut r, ms(1000), HIGHER_PEER, 100);
    assert_eq!(
        r.poll_at(),
        Some(ms(1000) + Duration::from_micros(3_414_062))
    );
    for t in (2000..20_000).step_by(1000) {
        receive(&mut r, ms(t), HIGHER_PEER, 100);
        r.handle(ms(t), Input::Timeout);
    }
    assert_eq!(r.state(), State::Backup, "the incumbent stays");
}

#[test]
fn backup_preempt_delay_accepts_lower_priority_until_delay_expires() {
    let mut p = v2(150);
    p.preempt_delay = Duration::from_secs(5);
    let mut r = started(p);
    // Adverts every second from a lower-priority master starting at t=1 s.
    let mut t = 1000;
    let mut took_over = None;
    while t < 30_000 {
        if let Some(deadline) = r.poll_at().filter(|d| *d <= ms(t)) {
            r.handle(deadline, Input::Timeout);
            took_over = Some(deadline);
            break;
        }
        receive(&mut r, ms(t), HIGHER_PEER, 100);
        t += 1000;
    }
    assert_eq!(r.state(), State::Master);
    // Accepted until 6 s (1 s + 5 s); from the 6 s advert on they are
    // discarded, so the timer reset at 5 s expires at 5 s + 3.414 s.
    assert_eq!(took_over, Some(ms(5000) + Duration::from_micros(3_414_062)));
    assert_eq!(r.stats().lower_priority_discarded, 3, "6, 7, 8 s adverts");
}

#[test]
fn backup_ignores_priority_changes_until_next_reset() {
    // keepalived §2.6: a priority change does not trigger an election; it
    // changes the skew used at the next timer reset.
    let mut r = started(v2(100));
    let deadline = r.poll_at();
    r.handle(ms(100), Input::PriorityChanged { adjustment: 50 });
    assert_eq!(r.poll_at(), deadline);
    receive(&mut r, ms(1000), HIGHER_PEER, 200);
    assert_eq!(
        r.poll_at(),
        Some(ms(1000) + Duration::from_micros(3_414_062)),
        "skew of priority 150"
    );
}

// ---- Master (RFC 9568 §6.4.3) ----

#[test]
fn master_sends_advert_every_interval() {
    let (mut r, t0) = master(v3(100, Centis(10)));
    let mut sent = 0;
    let mut now = t0;
    while now < t0 + Duration::from_secs(1) {
        now = r.poll_at().unwrap();
        let actions = r.handle(now, Input::Timeout);
        sent += sent_priorities(&actions).len();
    }
    // 10 cs = 100 ms: exactly 10 adverts in the second after becoming master
    // (a unit confusion gives 1 or 100).
    assert_eq!(sent, 10);
}

#[test]
fn master_priority_zero_advertises_at_once_and_reannounces() {
    let (mut r, t0) = master(v2(100));
    let now = t0 + Duration::from_millis(300);
    let actions = receive(&mut r, now, HIGHER_PEER, 0);
    assert_eq!(sent_priorities(&actions), [100]);
    assert_eq!(
        announces(&actions),
        [(5, AnnounceReason::LowerPriorityAdvert)]
    );
    assert_eq!(r.state(), State::Master);
    assert_eq!(
        r.poll_at(),
        Some(now + Duration::from_secs(1)),
        "advert timer reset"
    );
}

#[test]
fn master_yields_to_higher_priority_without_priority_zero() {
    let (mut r, t0) = master(v2(100));
    let now = t0 + Duration::from_millis(200);
    let actions = receive(&mut r, now, LOWER_PEER, 150);
    assert_eq!(r.state(), State::Backup);
    assert!(has_event(&actions, |e| matches!(
        e,
        Event::HigherPriorityReceived {
            priority: Priority(150),
            ours: Priority(100),
            ..
        }
    )));
    assert!(!sent_priorities(&actions).contains(&0), "no priority 0");
    assert!(actions.contains(&Action::RemoveVips(vec![VIP])));
    assert_eq!(
        r.poll_at(),
        Some(now + Duration::from_micros(3_609_375)),
        "Master_Down timer running"
    );
}

#[test]
fn master_step_down_advert_carries_our_priority() {
    let (mut r, t0) = master(v2(100));
    let actions = receive(&mut r, t0, LOWER_PEER, 150);
    assert_eq!(sent_priorities(&actions), [100]);

    let mut p = v2(100);
    p.step_down_advert = false;
    let (mut quiet, t0) = master(p);
    let actions = receive(&mut quiet, t0, LOWER_PEER, 150);
    assert!(sent_priorities(&actions).is_empty());
}

#[test]
fn master_yields_to_equal_priority_with_higher_address() {
    let (mut r, t0) = master(v2(100));
    let actions = receive(&mut r, t0, HIGHER_PEER, 100);
    assert_eq!(r.state(), State::Backup);
    assert!(has_event(&actions, |e| matches!(
        e,
        Event::SamePriorityHigherAddress { .. }
    )));
}

#[test]
fn master_keeps_role_against_equal_priority_lower_address() {
    let (mut r, t0) = master(v2(100));
    let actions = receive(&mut r, t0, LOWER_PEER, 100);
    assert_eq!(r.state(), State::Master);
    assert!(has_event(&actions, |e| matches!(
        e,
        Event::ForcingNewElection { .. }
    )));
}

#[test]
fn master_ipv6_tie_break_compares_whole_addresses() {
    let ours = IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0xff, 0xfe00, 1));
    let higher = IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0xff, 0xfe00, 2));
    let vip = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x66));
    let mut p = Params::new(Version::V3, vrid(), ours, vec![vip]);
    p.advert_interval = Centis(50);
    let (mut r, t0) = master(p);
    let repr = r.advert(Priority(100));
    r.handle(t0, Input::Advert { src: higher, repr });
    assert_eq!(r.state(), State::Backup);
}

#[test]
fn master_lower_priority_forces_election_with_advert_and_announcements() {
    let (mut r, t0) = master(v2(150));
    // More than half an interval after the last advert (see the next test).
    let now = t0 + Duration::from_millis(600);
    let actions = receive(&mut r, now, HIGHER_PEER, 100);
    assert!(has_event(&actions, |e| matches!(
        e,
        Event::ForcingNewElection {
            priority: Priority(100),
            ours: Priority(150),
            ..
        }
    )));
    assert_eq!(sent_priorities(&actions), [150]);
    assert_eq!(
        announces(&actions),
        [(5, AnnounceReason::LowerPriorityAdvert)]
    );
    // The second lower-priority burst comes garp_lower_prio_delay later.
    let later = r.handle(now + Duration::from_secs(5), Input::Timeout);
    assert!(announces(&later).contains(&(5, AnnounceReason::LowerPriorityDelayed)));
}

#[test]
fn master_equal_priority_from_our_own_address_warns() {
    let (mut r, t0) = master(v2(100));
    let actions = receive(&mut r, t0, OURS, 100);
    assert_eq!(r.state(), State::Master);
    assert!(has_event(&actions, |e| matches!(
        e,
        Event::EqualPriorityOwnAddress { .. }
    )));
}

#[test]
fn dual_master_episode_ends_with_survivor_reannouncing() {
    // Split brain heals: the loser yields and sends its step-down advert;
    // the survivor sees it as lower priority and re-announces (#166).
    let mut a = router(v2(150));
    let mut b = router(Params {
        source: HIGHER_PEER,
        ..v2(100)
    });
    a.handle(ms(0), Input::Startup);
    b.handle(ms(0), Input::Startup);
    let ta = a.poll_at().unwrap();
    let tb = b.poll_at().unwrap();
    a.handle(ta, Input::Timeout);
    b.handle(tb, Input::Timeout);
    assert_eq!((a.state(), b.state()), (State::Master, State::Master));
    let heal = ms(5000);
    let a_advert = a.advert(a.effective_priority());
    let b_actions = b.handle(
        heal,
        Input::Advert {
            src: OURS,
            repr: a_advert,
        },
    );
    assert_eq!(b.state(), State::Backup);
    let step_down = b_actions
        .iter()
        .find_map(|x| match x {
            Action::SendAdvert(repr) => Some(repr.clone()),
            _ => None,
        })
        .expect("step-down advert");
    let a_actions = a.handle(
        heal,
        Input::Advert {
            src: HIGHER_PEER,
            repr: step_down,
        },
    );
    assert_eq!(a.state(), State::Master);
    assert_eq!(
        announces(&a_actions),
        [(5, AnnounceReason::LowerPriorityAdvert)]
    );
}

// ---- shutdown and fault ----

#[test]
fn shutdown_from_master_sends_priority_zero_then_removes_addresses() {
    let (mut r, t0) = master(v2(100));
    let actions = r.handle(t0, Input::Shutdown);
    assert_eq!(kinds(&actions), ["transition", "advert", "remove"]);
    assert_eq!(sent_priorities(&actions), [0]);
    assert_eq!(r.state(), State::Initialize);
    assert_eq!(r.poll_at(), None);
}

#[test]
fn shutdown_from_backup_is_silent() {
    let mut r = started(v2(100));
    let actions = r.handle(ms(10), Input::Shutdown);
    assert_eq!(kinds(&actions), ["transition"]);
    assert_eq!(r.poll_at(), None);
}

#[test]
fn fault_from_master_sends_priority_zero_then_removes_addresses() {
    let (mut r, t0) = master(v2(100));
    let actions = r.handle(t0, Input::Fault(true));
    assert_eq!(r.state(), State::Fault);
    assert_eq!(kinds(&actions), ["transition", "advert", "remove"]);
    assert_eq!(sent_priorities(&actions), [0]);
    assert_eq!(r.poll_at(), None, "no adverts, no pending announcements");
}

#[test]
fn fault_does_not_participate() {
    let mut r = started(v2(100));
    r.handle(ms(10), Input::Fault(true));
    assert_eq!(r.state(), State::Fault);
    let actions = receive(&mut r, ms(20), HIGHER_PEER, 0);
    assert!(sent_priorities(&actions).is_empty());
    assert_eq!(r.poll_at(), None);
    assert!(r.handle(ms(100_000), Input::Timeout).is_empty());
}

#[test]
fn leaving_fault_goes_through_backup() {
    let (mut r, t0) = master(v2(100));
    r.handle(t0, Input::Fault(true));
    let now = t0 + Duration::from_secs(1);
    let actions = r.handle(now, Input::Fault(false));
    assert_eq!(r.state(), State::Backup);
    assert_eq!(kinds(&actions), ["transition"]);
    assert_eq!(
        r.poll_at(),
        Some(now + Duration::from_micros(3_609_375)),
        "a full Master_Down wait"
    );
}

#[test]
fn owner_leaving_fault_waits_one_interval_plus_skew() {
    let mut r = started(v2(255));
    r.handle(ms(0), Input::Fault(true));
    r.handle(ms(1000), Input::Fault(false));
    assert_eq!(r.state(), State::Backup);
    assert_eq!(r.poll_at(), Some(ms(2000) + Duration::from_micros(3906)));
}

// ---- maintenance: `vrrpd demote` / `vrrpd promote` (Input::AdminDown) ----

#[test]
fn demote_from_master_sends_priority_zero_then_removes_addresses() {
    let (mut r, t0) = master(v3(100, Centis(10)));
    let actions = r.handle(t0, Input::AdminDown(true));
    assert_eq!(r.state(), State::Fault);
    assert_eq!(r.state_reason(), Reason::Demoted);
    assert!(r.admin_down());
    assert_eq!(kinds(&actions), ["transition", "advert", "remove"]);
    assert_eq!(sent_priorities(&actions), [0]);
    assert!(!r.holds_addresses());
    assert_eq!(r.poll_at(), None, "no adverts, no pending announcements");
}

#[test]
fn demoted_router_never_takes_over_even_alone() {
    let mut r = started(v3(200, Centis(10)));
    let actions = r.handle(ms(10), Input::AdminDown(true));
    assert_eq!(kinds(&actions), ["transition"], "a Backup leaves silently");
    assert_eq!(r.poll_at(), None, "no Master_Down_Timer");
    // A lower-priority Master, a resigning one, and an hour of silence.
    assert!(sent_priorities(&receive(&mut r, ms(20), LOWER_PEER, 50)).is_empty());
    assert!(sent_priorities(&receive(&mut r, ms(30), LOWER_PEER, 0)).is_empty());
    assert_eq!(r.poll_at(), None);
    assert!(r.handle(ms(3_600_000), Input::Timeout).is_empty());
    assert_eq!(r.state(), State::Fault);
    assert_eq!(r.master(), None);
}

#[test]
fn promote_goes_through_backup_and_waits_master_down() {
    let (mut r, t0) = master(v3(100, Centis(10)));
    r.handle(t0, Input::AdminDown(true));
    let now = t0 + Duration::from_secs(5);
    let actions = r.handle(now, Input::AdminDown(false));
    assert!(!r.admin_down());
    assert_eq!(r.state(), State::Backup);
    assert_eq!(r.state_reason(), Reason::Promoted);
    assert_eq!(kinds(&actions), ["transition"]);
    // v3, priority 100, 0.1 s: 3 * 100 ms + (256 - 100) * 100 ms / 256.
    let mdi = Duration::from_micros(300_000 + 60_937);
    let at = r.poll_at().unwrap();
    let wait = at.saturating_since(now);
    assert!(
        wait.abs_diff(mdi) <= Duration::from_micros(1),
        "Master_Down_Interval after promote: {wait:?}"
    );
    r.handle(at, Input::Timeout);
    assert_eq!(r.state(), State::Master, "alone again: takes over");
}

#[test]
fn demote_before_startup_starts_in_fault() {
    let mut r = router(v2(100));
    assert!(r.handle(ms(0), Input::AdminDown(true)).is_empty());
    assert_eq!(r.state(), State::Initialize);
    let actions = r.handle(ms(0), Input::Startup);
    assert_eq!(r.state(), State::Fault);
    assert_eq!(r.state_reason(), Reason::Demoted);
    assert_eq!(kinds(&actions), ["transition", "remove"]);
    assert_eq!(r.poll_at(), None);
}

#[test]
fn demote_and_promote_are_idempotent() {
    let mut r = started(v2(100));
    assert!(r.handle(ms(5), Input::AdminDown(false)).is_empty());
    assert_eq!(r.state(), State::Backup);
    r.handle(ms(10), Input::AdminDown(true));
    assert!(r.handle(ms(20), Input::AdminDown(true)).is_empty());
    assert_eq!(r.state(), State::Fault);
}

#[test]
fn promote_while_a_fault_remains_stays_in_fault() {
    let mut r = started(v2(100));
    r.handle(ms(10), Input::AdminDown(true));
    assert!(r.handle(ms(20), Input::Fault(true)).is_empty());
    let actions = r.handle(ms(30), Input::AdminDown(false));
    assert!(actions.is_empty(), "{actions:?}");
    assert_eq!(r.state(), State::Fault);
    assert_eq!(r.state_reason(), Reason::FaultRaised);
    assert_eq!(r.poll_at(), None);
    let actions = r.handle(ms(40), Input::Fault(false));
    assert_eq!(kinds(&actions), ["transition"]);
    assert_eq!(r.state(), State::Backup);
    assert_eq!(r.state_reason(), Reason::FaultCleared);
}

#[test]
fn fault_cleared_while_demoted_stays_out() {
    let mut r = started(v2(100));
    r.handle(ms(10), Input::Fault(true));
    assert!(r.handle(ms(20), Input::AdminDown(true)).is_empty());
    assert!(r.handle(ms(30), Input::Fault(false)).is_empty());
    assert_eq!(r.state(), State::Fault);
    assert_eq!(r.state_reason(), Reason::Demoted);
    assert_eq!(r.poll_at(), None);
    r.handle(ms(40), Input::AdminDown(false));
    assert_eq!(r.state(), State::Backup);
}

#[test]
fn demoted_owner_resigns_and_stays_out() {
    let mut r = started(v2(255));
    assert_eq!(r.state(), State::Master);
    let actions = r.handle(ms(10), Input::AdminDown(true));
    assert_eq!(sent_priorities(&actions), [0]);
    assert_eq!(r.state(), State::Fault);
    assert!(r.handle(ms(100_000), Input::Timeout).is_empty());
    r.handle(ms(200_000), Input::AdminDown(false));
    assert_eq!(r.state(), State::Backup);
    assert_eq!(
        r.poll_at(),
        Some(ms(201_000) + Duration::from_micros(3906)),
        "an owner waits one interval plus skew, as after a fault"
    );
}

#[test]
fn demotion_survives_a_reload_that_restarts_the_router() {
    let (mut r, t0) = master(v2(100));
    r.handle(t0, Input::AdminDown(true));
    let mut p = v2(100);
    p.vrid = Vrid::new(102).unwrap();
    let actions = r.handle(t0, Input::Reload(Box::new(p)));
    assert!(sent_priorities(&actions).is_empty(), "{actions:?}");
    assert_eq!(r.state(), State::Fault);
    assert!(r.admin_down());
    assert_eq!(r.poll_at(), None);
}

#[test]
fn shutdown_while_demoted_sends_nothing() {
    let (mut r, t0) = master(v2(100));
    r.handle(t0, Input::AdminDown(true));
    let actions = r.handle(t0, Input::Shutdown);
    assert_eq!(kinds(&actions), ["transition"]);
    assert_eq!(r.state(), State::Initialize);
}

// ---- priority ----

#[test]
fn effective_priority_is_base_plus_tracker_weights() {
    let (mut r, t0) = master(v2(100));
    let actions = r.handle(t0, Input::PriorityChanged { adjustment: -30 });
    assert!(has_event(&actions, |e| matches!(
        e,
        Event::EffectivePriorityChanged {
            from: Priority(100),
            to: Priority(70)
        }
    )));
    let next = r.handle(r.poll_at().unwrap(), Input::Timeout);
    assert_eq!(
        sent_priorities(&next),
        [70],
        "takes effect in the next advert"
    );
    r.handle(t0, Input::PriorityChanged { adjustment: 500 });
    assert_eq!(r.effective_priority(), Priority(254));
    r.handle(t0, Input::PriorityChanged { adjustment: -500 });
    assert_eq!(r.effective_priority(), Priority(1));
}

#[test]
fn owner_priority_is_never_adjusted() {
    let mut r = started(v2(255));
    let actions = r.handle(ms(0), Input::PriorityChanged { adjustment: -100 });
    assert!(actions.is_empty());
    assert_eq!(r.effective_priority(), Priority::OWNER);
}

// ---- announcements ----

#[test]
fn announcement_second_burst_after_master_delay() {
    let (mut r, t0) = master(v3(100, Centis(100)));
    let mut bursts = Vec::new();
    let end = t0 + Duration::from_secs(12);
    while let Some(t) = r.poll_at().filter(|t| *t <= end) {
        for (repeat, reason) in announces(&r.handle(t, Input::Timeout)) {
            bursts.push((t - t0, repeat, reason));
        }
    }
    assert_eq!(
        bursts,
        [(Duration::from_secs(5), 5, AnnounceReason::MasterDelayed)]
    );
}

#[test]
fn announcement_refresh_is_periodic_while_master() {
    let mut p = v3(100, Centis(100));
    p.announce.master_delay = Duration::ZERO;
    p.announce.master_refresh = Some(Duration::from_secs(10));
    let (mut r, t0) = master(p);
    let mut refreshes = Vec::new();
    let end = t0 + Duration::from_secs(35);
    while let Some(t) = r.poll_at().filter(|t| *t <= end) {
        if announces(&r.handle(t, Input::Timeout)).contains(&(1, AnnounceReason::Refresh)) {
            refreshes.push(t - t0);
        }
    }
    assert_eq!(refreshes, [10, 20, 30].map(Duration::from_secs).to_vec());
}

#[test]
fn leaving_master_cancels_pending_announcements() {
    let (mut r, t0) = master(v2(100));
    receive(&mut r, t0, LOWER_PEER, 200);
    assert_eq!(r.state(), State::Backup);
    // Keep the Master alive; no announcement may fire from the old schedule.
    for s in 1..=10 {
        let actions = receive(&mut r, t0 + Duration::from_secs(s), LOWER_PEER, 200);
        assert!(announces(&actions).is_empty());
        assert!(announces(&r.handle(t0 + Duration::from_secs(s), Input::Timeout)).is_empty());
    }
}

// ---- advert validation that depends on our configuration ----

#[test]
fn address_list_mismatch_with_equal_counts_names_the_missing_address() {
    // keepalived 2.2 logs "ip address associated with VRID N not present in
    // MASTER advert: IP" when the counts agree but an address differs.
    let mut r = started(v2(100));
    let mut repr = advert_from(&r, 200);
    let ours = repr.addresses[0];
    repr.addresses = [IpAddr::V4(Ipv4Addr::new(192, 0, 2, 99))].into();
    let actions = r.handle(
        ms(1000),
        Input::Advert {
            src: HIGHER_PEER,
            repr,
        },
    );
    assert!(has_event(&actions, |e| matches!(
        e,
        Event::AddressListMismatch {
            count: 1,
            expected: 1,
            missing: Some(a),
            ..
        } if *a == ours
    )));
}

#[test]
fn address_list_mismatch_is_accepted_with_a_counter() {
    let mut r = started(v2(100));
    let mut repr = advert_from(&r, 200);
    let mut more = repr.addresses.to_vec();
    more.push(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 31)));
    repr.addresses = more.into();
    let actions = r.handle(
        ms(1000),
        Input::Advert {
            src: HIGHER_PEER,
            repr,
        },
    );
    assert!(has_event(&actions, |e| matches!(
        e,
        Event::AddressListMismatch {
            count: 2,
            expected: 1,
            ..
        }
    )));
    assert_eq!(r.stats().address_list_mismatch, 1);
    assert_eq!(
        r.poll_at(),
        Some(ms(1000) + Duration::from_micros(3_609_375)),
        "accepted: the timer was reset (keepalived 2.2 rejected it: dual master)"
    );
}

#[test]
fn v2_auth_mismatch_is_dropped() {
    let mut r = started(v2(100));
    let before = r.poll_at();
    let mut repr = advert_from(&r, 200);
    repr.auth = Auth::SimpleText(*b"passw0rd");
    r.handle(
        ms(1000),
        Input::Advert {
            src: HIGHER_PEER,
            repr,
        },
    );
    assert_eq!(r.poll_at(), before);
    assert_eq!(r.stats().dropped_auth, 1);
}

#[test]
fn version_mismatch_is_dropped() {
    let mut r = started(v3(100, Centis(100)));
    let before = r.poll_at();
    let mut repr = advert_from(&r, 200);
    repr.version = Version::V2;
    r.handle(
        ms(1000),
        Input::Advert {
            src: HIGHER_PEER,
            repr,
        },
    );
    assert_eq!(r.poll_at(), before);
    assert_eq!(r.stats().dropped_version, 1);
}

// ---- reload ----

#[test]
fn reload_keeps_master_and_reconciles_addresses() {
    let (mut r, t0) = master(v2(100));
    let new_vip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 31));
    let mut p = v2(100);
    p.addresses = [new_vip].into();
    let actions = r.handle(t0, Input::Reload(Box::new(p)));
    assert_eq!(r.state(), State::Master);
    assert_eq!(
        actions,
        [
            Action::RemoveVips(vec![VIP]),
            Action::AddVips(vec![new_vip]),
            Action::Announce {
                addresses: vec![new_vip],
                repeat: 5,
                reason: AnnounceReason::Reload
            }
        ]
    );
    let next = r.handle(r.poll_at().unwrap(), Input::Timeout);
    assert!(matches!(&next[0], Action::SendAdvert(repr) if *repr.addresses == [new_vip]));
}

#[test]
fn reload_changing_identity_restarts_the_router() {
    let (mut r, t0) = master(v2(100));
    let mut p = v2(100);
    p.vrid = Vrid::new(102).unwrap();
    let actions = r.handle(t0, Input::Reload(Box::new(p)));
    assert_eq!(sent_priorities(&actions), [0], "old instance resigns");
    assert_eq!(r.state(), State::Backup);
    assert_eq!(r.params().vrid.get(), 102);
}

#[test]
fn reload_with_invalid_params_keeps_running() {
    let (mut r, t0) = master(v2(100));
    let mut p = v2(100);
    p.advert_interval = Centis(150);
    assert!(r.handle(t0, Input::Reload(Box::new(p))).is_empty());
    assert_eq!(r.params().advert_interval, Centis(100));
    assert_eq!(r.state(), State::Master);
}

#[test]
fn invalid_params_are_refused() {
    assert!(VirtualRouter::new(Params {
        advert_interval: Centis(50),
        ..v2(100)
    })
    .is_err());
    let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
    assert!(VirtualRouter::new(Params::new(Version::V2, vrid(), v6, vec![v6])).is_err());
    assert!(VirtualRouter::new(Params::new(Version::V3, vrid(), OURS, vec![v6])).is_err());
    assert!(
        VirtualRouter::new(Params {
            version: Version::V3,
            ..v2(100)
        })
        .is_err(),
        "auth with v3"
    );
}

// ---- record and replay ----

#[test]
fn a_recorded_run_replays_to_the_same_actions() {
    // Inputs and actions are plain serde values: a run recorded as JSON
    // lines replays deterministically on a fresh router.
    let mut live = router(v2(100));
    let mut record: Vec<(Instant, Input)> = vec![
        (ms(0), Input::Startup),
        (ms(500), Input::PriorityChanged { adjustment: 20 }),
    ];
    let peer = advert_from(&live, 150);
    record.push((
        ms(1000),
        Input::Advert {
            src: HIGHER_PEER,
            repr: peer,
        },
    ));
    record.push((ms(9000), Input::Timeout));
    record.push((ms(9500), Input::Fault(true)));
    record.push((ms(9600), Input::Shutdown));
    let mut live_actions = Vec::new();
    for (now, input) in &record {
        live_actions.push(live.handle(*now, input.clone()));
    }
    let journal: Vec<String> = record
        .iter()
        .map(|entry| serde_json::to_string(entry).unwrap())
        .collect();
    let mut replayed = router(v2(100));
    for (line, expected) in journal.iter().zip(&live_actions) {
        let (now, input): (Instant, Input) = serde_json::from_str(line).unwrap();
        assert_eq!(&replayed.handle(now, input), expected);
    }
    assert!(live_actions
        .iter()
        .flatten()
        .any(|a| matches!(a, Action::SendAdvert(r) if r.priority == Priority(0))));
}

#[test]
fn master_losing_an_address_resigns_to_backup() {
    let (mut r, t0) = master(v2(100));
    let actions = r.handle(t0, Input::AddressLost { addr: VIP });
    assert_eq!(r.state(), State::Backup);
    assert_eq!(kinds(&actions), ["transition", "advert", "remove"]);
    assert_eq!(sent_priorities(&actions), [0]);
    // Alone, it takes the role back after Master_Down_Interval.
    assert_eq!(r.poll_at(), Some(t0 + Duration::from_micros(3_609_375)));
    let other = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 99));
    let (mut r, t0) = master(v2(100));
    assert!(r.handle(t0, Input::AddressLost { addr: other }).is_empty());
    assert_eq!(r.state(), State::Master, "not one of ours");
}

// ---- fast handover (opt-in deviation from RFC 9568 §6.4.2) ----

fn fast(mut p: Params) -> Params {
    p.fast_handover = true;
    p
}

#[test]
fn fast_handover_master_advertises_at_once_when_its_priority_drops() {
    let (mut r, t0) = master(fast(v2(150)));
    let now = t0 + Duration::from_millis(300);
    let actions = r.handle(now, Input::PriorityChanged { adjustment: -100 });
    assert_eq!(sent_priorities(&actions), [50]);
    assert_eq!(
        r.poll_at(),
        Some(now + Duration::from_secs(1)),
        "advert timer reset"
    );
    // A rise waits for the next advert, as without fast handover.
    let actions = r.handle(now, Input::PriorityChanged { adjustment: 0 });
    assert!(sent_priorities(&actions).is_empty());
    // Off by default: the drop shows in the next regular advert only.
    let (mut plain, t0) = master(v2(150));
    let actions = plain.handle(t0, Input::PriorityChanged { adjustment: -100 });
    assert!(sent_priorities(&actions).is_empty());
}

#[test]
fn fast_handover_backup_takes_over_from_its_master_below_our_priority() {
    let mut r = started(fast(v2(100)));
    receive(&mut r, ms(1000), HIGHER_PEER, 150);
    let actions = receive(&mut r, ms(1500), HIGHER_PEER, 50);
    assert_eq!(
        r.state(),
        State::Master,
        "at once, not after Master_Down_Interval"
    );
    assert!(has_event(&actions, |e| matches!(
        e,
        Event::FastHandover { .. }
    )));
    assert_eq!(
        kinds(&actions)[1..],
        ["transition", "advert", "add", "announce"]
    );
}

#[test]
fn fast_handover_ignores_lower_priority_from_a_router_we_do_not_follow() {
    let mut r = started(fast(v2(100)));
    receive(&mut r, ms(1000), HIGHER_PEER, 150);
    receive(&mut r, ms(1200), LOWER_PEER, 50);
    assert_eq!(r.state(), State::Backup);
}

#[test]
fn fast_handover_respects_nopreempt() {
    let mut p = fast(v2(100));
    p.preempt = false;
    let mut r = started(p);
    receive(&mut r, ms(1000), HIGHER_PEER, 150);
    receive(&mut r, ms(1500), HIGHER_PEER, 50);
    assert_eq!(r.state(), State::Backup);
}

// ---- sync groups (keepalived vrrp_sync.c) ----

fn synced(mut p: Params) -> Params {
    p.sync_group = true;
    p
}

/// A synced member moved to Master by its group; returns the time.
fn synced_master(params: Params) -> (VirtualRouter, Instant) {
    let mut r = started(synced(params));
    let t = r.poll_at().unwrap();
    r.handle(t, Input::Timeout);
    r.handle(t, Input::Sync(State::Master));
    assert_eq!(r.state(), State::Master);
    (r, t)
}

#[test]
fn synced_backup_wants_master_instead_of_taking_over() {
    let mut r = started(synced(v2(100)));
    let t = r.poll_at().unwrap();
    let actions = r.handle(t, Input::Timeout);
    assert_eq!(r.state(), State::Backup, "waits for its group");
    assert!(r.wants_master());
    assert!(sent_priorities(&actions).is_empty());
    assert!(has_event(&actions, |e| matches!(
        e,
        Event::WantsMaster {
            reason: Reason::MasterDown
        }
    )));
    // keepalived re-arms the timer; the next expiry says nothing new.
    let again = r.poll_at().unwrap();
    assert_eq!(again, t + Duration::from_micros(3_609_375));
    assert!(r.handle(again, Input::Timeout).is_empty());
    assert!(r.wants_master());
}

#[test]
fn synced_backup_hearing_a_master_no_longer_wants_master() {
    let mut r = started(synced(v2(100)));
    let t = r.poll_at().unwrap();
    r.handle(t, Input::Timeout);
    receive(&mut r, t + Duration::from_millis(10), HIGHER_PEER, 150);
    assert!(!r.wants_master());
}

#[test]
fn sync_master_makes_a_backup_master_with_the_reason_it_wanted() {
    let mut r = started(synced(v2(100)));
    let t = r.poll_at().unwrap();
    r.handle(t, Input::Timeout);
    let actions = r.handle(t, Input::Sync(State::Master));
    assert_eq!(r.state(), State::Master);
    assert_eq!(r.state_reason(), Reason::MasterDown);
    assert_eq!(kinds(&actions), ["transition", "advert", "add", "announce"]);
    // A member that did not want it is moved all the same (vrrp_sync_master).
    let mut other = started(synced(v2(100)));
    other.handle(ms(100), Input::Sync(State::Master));
    assert_eq!(other.state(), State::Master);
    assert_eq!(other.state_reason(), Reason::SyncGroup);
}

#[test]
fn sync_backup_takes_a_master_to_backup_without_priority_zero() {
    let (mut r, t) = synced_master(v2(100));
    let now = t + Duration::from_millis(200);
    let actions = r.handle(now, Input::Sync(State::Backup));
    assert_eq!(r.state(), State::Backup);
    assert_eq!(r.state_reason(), Reason::SyncGroup);
    assert_eq!(kinds(&actions), ["transition", "remove"]);
    assert_eq!(
        r.poll_at(),
        Some(now + Duration::from_micros(3_609_375)),
        "Master_Down_Interval runs"
    );
}

#[test]
fn sync_fault_resigns_a_master_with_priority_zero() {
    let (mut r, t) = synced_master(v2(100));
    let actions = r.handle(t, Input::Sync(State::Fault));
    assert_eq!(r.state(), State::Fault);
    assert_eq!(r.state_reason(), Reason::SyncGroup);
    assert_eq!(sent_priorities(&actions), [0]);
    assert_eq!(kinds(&actions), ["transition", "advert", "remove"]);
    assert!(r.sync_held());
    assert_eq!(r.poll_at(), None);
}

#[test]
fn sync_fault_holds_a_member_after_its_own_fault_clears() {
    let mut r = started(synced(v2(100)));
    r.handle(ms(100), Input::Fault(true));
    r.handle(ms(100), Input::Sync(State::Fault));
    let actions = r.handle(ms(200), Input::Fault(false));
    assert!(actions.is_empty());
    assert_eq!(r.state(), State::Fault, "the group still holds it");
    assert!(!r.own_fault());
    let actions = r.handle(ms(300), Input::Sync(State::Backup));
    assert_eq!(r.state(), State::Backup);
    assert_eq!(kinds(&actions), ["transition"]);
    assert!(!r.sync_held());
}

#[test]
fn sync_backup_keeps_a_member_with_its_own_fault_in_fault() {
    let mut r = started(synced(v2(100)));
    r.handle(ms(100), Input::Fault(true));
    r.handle(ms(100), Input::Sync(State::Fault));
    assert!(r.handle(ms(200), Input::Sync(State::Backup)).is_empty());
    assert_eq!(r.state(), State::Fault);
}

#[test]
fn sync_master_never_moves_a_faulted_member() {
    let mut r = started(synced(v2(100)));
    r.handle(ms(100), Input::Sync(State::Fault));
    assert!(r.handle(ms(200), Input::Sync(State::Master)).is_empty());
    assert_eq!(r.state(), State::Fault);
}

#[test]
fn synced_fast_handover_waits_for_the_group() {
    let mut r = started(synced(fast(v2(100))));
    receive(&mut r, ms(1000), HIGHER_PEER, 150);
    let actions = receive(&mut r, ms(1500), HIGHER_PEER, 50);
    assert_eq!(r.state(), State::Backup);
    assert!(r.wants_master());
    assert!(has_event(&actions, |e| matches!(
        e,
        Event::WantsMaster {
            reason: Reason::FastHandover { .. }
        }
    )));
    r.handle(ms(1500), Input::Sync(State::Master));
    assert!(matches!(r.state_reason(), Reason::FastHandover { .. }));
}

#[test]
fn synced_owner_starts_in_backup_wanting_master() {
    let mut r = router(synced(v2(255)));
    let actions = r.handle(ms(0), Input::Startup);
    assert_eq!(r.state(), State::Backup);
    assert!(r.wants_master());
    assert!(has_event(&actions, |e| matches!(
        e,
        Event::WantsMaster {
            reason: Reason::AddressOwner
        }
    )));
}

#[test]
fn leaving_the_sync_group_on_reload_releases_the_hold() {
    let mut r = started(synced(v2(100)));
    r.handle(ms(100), Input::Sync(State::Fault));
    let actions = r.handle(ms(200), Input::Reload(Box::new(v2(100))));
    assert_eq!(r.state(), State::Backup);
    assert_eq!(kinds(&actions), ["transition"]);
}

#[test]
fn a_demoted_synced_member_counts_as_a_fault_of_its_own() {
    let (mut r, t) = synced_master(v2(100));
    r.handle(t, Input::AdminDown(true));
    assert_eq!(r.state(), State::Fault);
    assert!(r.own_fault(), "the group follows it to FAULT");
    r.handle(t, Input::Sync(State::Fault));
    r.handle(t, Input::AdminDown(false));
    assert_eq!(r.state(), State::Fault, "held until the group releases it");
    assert!(!r.own_fault());
}

/// Frames a Master sends over `span` while a lower-priority advert arrives
/// every `every`: (adverts, announcement bursts).
fn frames_under_lower_priority_flood(
    params: Params,
    every: Duration,
    span: Duration,
) -> (usize, usize) {
    let (mut r, t0) = master(params);
    let (mut adverts, mut bursts) = (0, 0);
    let mut count = |actions: &[Action]| {
        adverts += sent_priorities(actions).len();
        bursts += announces(actions)
            .iter()
            .filter(|(_, why)| *why == AnnounceReason::LowerPriorityAdvert)
            .count();
    };
    let mut now = t0;
    let end = t0 + span;
    while now < end {
        while let Some(t) = r.poll_at().filter(|t| *t <= now) {
            let actions = r.handle(t, Input::Timeout);
            count(&actions);
        }
        let actions = receive(&mut r, now, LOWER_PEER, 1);
        count(&actions);
        now += every;
    }
    assert_eq!(r.state(), State::Master);
    (adverts, bursts)
}

#[test]
fn master_answers_lower_priority_at_most_once_per_advert_interval() {
    // 5 000 adverts/s at priority 1 for 2 s against a 0.1 s Master: at
    // most one advert and one burst per interval (20 intervals), where
    // answering each would be 10 000 of each.
    let (adverts, bursts) = frames_under_lower_priority_flood(
        v3(101, Centis(10)),
        Duration::from_micros(200),
        Duration::from_secs(2),
    );
    assert!(adverts <= 21, "{adverts} adverts in 20 intervals");
    assert!(adverts >= 19, "{adverts}: the periodic adverts must go on");
    assert!(
        (19..=21).contains(&bursts),
        "{bursts} bursts in 20 intervals"
    );
}

#[test]
fn master_answer_is_counted_when_suppressed() {
    let (mut r, t0) = master(v3(101, Centis(10)));
    let first = receive(&mut r, t0 + Duration::from_millis(60), LOWER_PEER, 1);
    assert!(has_event(&first, |e| matches!(
        e,
        Event::ForcingNewElection { .. }
    )));
    assert_eq!(sent_priorities(&first), [101]);
    let second = receive(&mut r, t0 + Duration::from_millis(80), LOWER_PEER, 1);
    assert!(second.is_empty(), "{second:?}");
    assert_eq!(r.stats().answers_suppressed, 1);
    // One interval after the answer, the next one is allowed again.
    let third = receive(&mut r, t0 + Duration::from_millis(161), LOWER_PEER, 1);
    assert!(has_event(&third, |e| matches!(
        e,
        Event::ForcingNewElection { .. }
    )));
}

#[test]
fn master_answer_skips_its_advert_right_after_a_periodic_one() {
    let (mut r, t0) = master(v3(101, Centis(10)));
    // The first advert left at t0: 10 ms later the answer is the burst only.
    let actions = receive(&mut r, t0 + Duration::from_millis(10), LOWER_PEER, 1);
    assert!(has_event(&actions, |e| matches!(
        e,
        Event::ForcingNewElection { .. }
    )));
    assert!(sent_priorities(&actions).is_empty(), "{actions:?}");
    assert_eq!(announces(&actions).len(), 1);
}

#[test]
fn master_answers_priority_zero_at_most_once_per_advert_interval() {
    let (mut r, t0) = master(v3(101, Centis(10)));
    let resign = |r: &mut VirtualRouter, at| receive(r, at, LOWER_PEER, 0);
    let first = resign(&mut r, t0 + Duration::from_millis(60));
    assert!(has_event(&first, |e| matches!(
        e,
        Event::MasterReceivedPriorityZero { .. }
    )));
    let second = resign(&mut r, t0 + Duration::from_millis(70));
    assert!(second.is_empty(), "{second:?}");
    assert_eq!(r.stats().priority_zero_received, 2);
    assert_eq!(r.stats().answers_suppressed, 1);
}

// ---- keepalived 2.3.3's owner_ignore_adverts

#[test]
fn owner_ignore_adverts_drops_every_advert_while_owner() {
    let mut p = v2(255);
    p.owner_ignore_adverts = true;
    let mut r = started(p);
    assert_eq!(r.state(), State::Master);
    let t = r.poll_at().unwrap();
    let now = ms(500);
    assert!(now < t);
    // Priority 0 and an equal-priority advert from a higher address: an
    // owner that ignores adverts neither answers nor moves nor resets its
    // advert timer.
    for prio in [0, 255, 100] {
        let actions = receive(&mut r, now, HIGHER_PEER, prio);
        assert!(sent_priorities(&actions).is_empty(), "{actions:?}");
        assert!(announces(&actions).is_empty(), "{actions:?}");
        assert!(has_event(&actions, |e| matches!(
            e,
            Event::OwnerIgnoresAdvert { src } if *src == HIGHER_PEER
        )));
        assert_eq!(r.state(), State::Master);
        assert_eq!(r.poll_at(), Some(t), "advert timer untouched");
    }
}

#[test]
fn owner_ignore_adverts_applies_only_at_priority_255() {
    // Below 255 the flag changes nothing: a priority-0 advert is answered.
    let mut p = v2(100);
    p.owner_ignore_adverts = true;
    let (mut r, t0) = master(p);
    let actions = receive(&mut r, t0 + Duration::from_millis(300), HIGHER_PEER, 0);
    assert_eq!(sent_priorities(&actions), [100]);
    assert!(!has_event(&actions, |e| matches!(
        e,
        Event::OwnerIgnoresAdvert { .. }
    )));
}

#[test]
fn owner_without_owner_ignore_adverts_answers_priority_zero() {
    let mut r = started(v2(255));
    assert!(ms(500) < r.poll_at().unwrap());
    let actions = receive(&mut r, ms(500), HIGHER_PEER, 0);
    assert_eq!(sent_priorities(&actions), [255]);
}

// ---- keepalived 2.3.2's timer_expired_backup

fn expired_backup_params() -> Params {
    let mut p = v2(100);
    p.preempt = false;
    p.timer_expired_backup = Some(Priority(254));
    p
}

#[test]
fn timer_expired_backup_master_late_past_the_others_master_down_goes_backup() {
    let (mut r, _) = master(expired_backup_params());
    let due = r.poll_at().unwrap();
    // v2 at 1 s: a Backup at 254 takes over 3 s + 2/256 s after our last
    // advert, i.e. 2.0078 s after this one was due.
    let actions = r.handle(due + Duration::from_millis(2010), Input::Timeout);
    assert_eq!(r.state(), State::Backup);
    assert_eq!(r.state_reason(), Reason::TimerExpired);
    assert!(
        sent_priorities(&actions).is_empty(),
        "no advert, no priority 0: {actions:?}"
    );
    assert!(actions
        .iter()
        .any(|a| matches!(a, Action::RemoveVips(v) if v == &vec![VIP])));
}

#[test]
fn timer_expired_backup_master_late_within_the_others_master_down_advertises() {
    let (mut r, _) = master(expired_backup_params());
    let due = r.poll_at().unwrap();
    let actions = r.handle(due + Duration::from_millis(2000), Input::Timeout);
    assert_eq!(r.state(), State::Master);
    assert_eq!(sent_priorities(&actions), [100]);
}

#[test]
fn a_late_master_without_timer_expired_backup_stays_master() {
    let mut p = v2(100);
    p.preempt = false;
    let (mut r, _) = master(p);
    let due = r.poll_at().unwrap();
    let actions = r.handle(due + Duration::from_secs(10), Input::Timeout);
    assert_eq!(r.state(), State::Master);
    assert_eq!(sent_priorities(&actions), [100]);
}

#[test]
fn a_master_advert_may_be_moved_earlier_never_later() {
    let (mut r, t) = master(v2(100));
    let due = r.poll_at().unwrap();
    assert_eq!(due, t + std::time::Duration::from_secs(1));
    assert!(!r.advance_advert(due + std::time::Duration::from_millis(1)));
    assert_eq!(r.poll_at(), Some(due), "a later time changes nothing");
    let early = t + std::time::Duration::from_millis(700);
    assert!(r.advance_advert(early));
    assert_eq!(r.poll_at(), Some(early));
    let actions = r.handle(early, Input::Timeout);
    assert_eq!(
        sent_priorities(&actions),
        vec![100],
        "the advert leaves then"
    );
    assert_eq!(
        r.poll_at(),
        Some(early + std::time::Duration::from_secs(1)),
        "and the Adver_Timer restarts from that send"
    );
}

#[test]
fn only_a_master_advert_moves() {
    let mut r = started(v2(100));
    let down = r.poll_at().unwrap();
    assert!(!r.advance_advert(ms(10)), "a Backup has no Adver_Timer");
    assert_eq!(
        r.poll_at(),
        Some(down),
        "its Master_Down_Timer is untouched"
    );
}
