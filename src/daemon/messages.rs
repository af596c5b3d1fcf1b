//! keepalived 2.x's log lines, the ones operators grep for
//! (reference: keepalived.md §3.7), produced from state-machine output.

use crate::proto::fsm::{Event, Reason, State};

/// The line for a transition, e.g. `(VI_1) Entering MASTER STATE`; keepalived
/// marks the first state after start-up with "(init)", except MASTER.
pub fn transition(instance: &str, from: State, to: State) -> String {
    if to == State::Initialize {
        return format!("({instance}) Stopped");
    }
    let init = if from == State::Initialize && to != State::Master {
        " (init)"
    } else {
        ""
    };
    format!("({instance}) Entering {} STATE{init}", to.keepalived_name())
}

/// Why a router is in its state, short, for status and watch.
pub fn reason(reason: Reason) -> String {
    match reason {
        Reason::HigherPriorityAdvert { src, priority } => {
            format!("HigherPriorityAdvert from {src} priority {priority}")
        }
        Reason::FastHandover { src, priority } => {
            format!("FastHandover from {src} priority {priority}")
        }
        Reason::AddressRemoved { addr } => format!("AddressRemoved {addr}"),
        other => format!("{other:?}"),
    }
}

/// Target of keepalived's detail lines, logged only with `-D` as keepalived
/// does ("setting VIPs.", "sent 0 priority", ...; reference §3.7).
pub const DETAIL: &str = "vrrpd::detail";

/// The line that precedes a transition in keepalived's log, if any, and
/// whether it is a detail line (`-D` only).
pub fn transition_cause(instance: &str, reason: Reason) -> Option<(String, bool)> {
    match reason {
        Reason::MasterDown | Reason::MasterResigned | Reason::AddressOwner => {
            Some((format!("({instance}) Receive advertisement timeout"), true))
        }
        Reason::AddressRemoved { addr } => Some((
            format!("({instance}) virtual address {addr} was removed by someone else; resigning"),
            false,
        )),
        Reason::TimerExpired => Some((
            format!("({instance}) VRRP advert timer expired past another router's Master_Down_Interval (timer_expired_backup); reverting to BACKUP"),
            false,
        )),
        _ => None,
    }
}

/// keepalived 2.2 (vrrp_check_packet) reports the first missing address only
/// when the counts agree; otherwise the count.
fn reported_missing<A>(count: usize, expected: usize, missing: Option<A>) -> Option<A> {
    missing.filter(|_| count == expected)
}

/// The rate-limit kind of an event a received advert caused; `None` for
/// events that are not about a packet (never limited).
pub fn packet_event_kind(event: &Event) -> Option<&'static str> {
    Some(match event {
        Event::BackupReceivedPriorityZero { .. } => "backup_priority_zero",
        Event::MasterReceivedPriorityZero { .. } => "master_priority_zero",
        Event::LowerPriorityDiscarded { .. } => "lower_priority",
        Event::PreemptDelayed { .. } => "preempt_delayed",
        Event::ForcingNewElection { .. } => "forcing_election",
        Event::HigherPriorityReceived { .. } => "higher_priority",
        Event::SamePriorityHigherAddress { .. } => "same_priority",
        Event::EqualPriorityOwnAddress { .. } => "own_address",
        // Two different lines (a count, or a missing address): each its own
        // kind, so a flood of one never hides the first of the other.
        Event::AddressListMismatch {
            count,
            expected,
            missing,
            ..
        } => match reported_missing(*count, *expected, *missing) {
            Some(_) => "address_missing",
            None => "address_count",
        },
        Event::IntervalMismatch { .. } => "interval",
        Event::AuthMismatch { .. } => "auth",
        Event::VersionMismatch { .. } => "version",
        Event::VridMismatch { .. } => "vrid",
        Event::FastHandover { .. } => "fast_handover",
        Event::OwnerIgnoresAdvert { .. } => "owner_ignore_adverts",
        Event::EffectivePriorityChanged { .. } | Event::WantsMaster { .. } => return None,
    })
}

/// keepalived's wording for an event (vrrpd's own where keepalived has none).
pub fn event(instance: &str, event: &Event) -> String {
    match event {
        Event::BackupReceivedPriorityZero { .. } => {
            format!("({instance}) Backup received priority 0 advertisement")
        }
        Event::MasterReceivedPriorityZero { src } => format!(
            "({instance}) Master received priority 0 advertisement from {src}; re-announcing"
        ),
        Event::LowerPriorityDiscarded { src, priority } => {
            format!("({instance}) received lower priority ({priority}) advert from {src} - discarding")
        }
        Event::PreemptDelayed { src, .. } => format!(
            "({instance}) preempt_delay running: accepting lower priority advert from {src}"
        ),
        Event::ForcingNewElection {
            src,
            priority,
            ours,
        } => format!(
            "({instance}) Received advert from {src} with lower priority {priority}, ours {ours}, forcing new election"
        ),
        Event::HigherPriorityReceived {
            src,
            priority,
            ours,
        } => format!(
            "({instance}) Master received advert from {src} with higher priority {priority}, ours {ours}"
        ),
        Event::SamePriorityHigherAddress { src, priority } => format!(
            "({instance}) Master received advert from {src} with same priority {priority} but higher IP address than ours"
        ),
        Event::EqualPriorityOwnAddress { .. } => format!(
            "({instance}) WARNING - equal priority advert received from remote host with our IP address."
        ),
        // keepalived 2.2 (vrrp_check_packet): the count line when the counts
        // differ, else the first of our addresses the advert lacks.
        Event::AddressListMismatch {
            src,
            count,
            expected,
            vrid,
            missing,
        } => match reported_missing(*count, *expected, *missing) {
            Some(addr) => format!(
                "({instance}) ip address associated with VRID {vrid} not present in MASTER advert: {addr} (from {src}; accepted)"
            ),
            _ => format!(
                "({instance}) received an unexpected ip number count {count}, expected {expected}! (from {src}; accepted)"
            ),
        },
        Event::IntervalMismatch {
            src,
            theirs,
            ours,
            dropped,
        } => format!(
            "({instance}) advertisement interval mismatch mine={ours} rcv'd={theirs} from {src}{}",
            if *dropped { " - discarding" } else { "" }
        ),
        Event::AuthMismatch { src } => {
            format!("({instance}) received an invalid passwd! (from {src})")
        }
        Event::VersionMismatch { src, version } => {
            format!("({instance}) wrong VRRP version {version} from {src}")
        }
        Event::VridMismatch { src, vrid } => {
            format!("({instance}) advert for VRID {vrid} from {src} reached the wrong instance")
        }
        Event::OwnerIgnoresAdvert { src } => {
            format!("({instance}) Dropping packet(s) from {src} since we are address owner")
        }
        Event::FastHandover { src, priority } => format!(
            "({instance}) fast handover: master {src} now advertises priority {priority}, below ours - taking over"
        ),
        Event::WantsMaster { reason: why } => format!(
            "({instance}) would become MASTER ({}); waiting for every member of its sync group",
            reason(*why)
        ),
        Event::EffectivePriorityChanged { from, to } => {
            format!("({instance}) Changing effective priority from {from} to {to}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::Priority;

    #[test]
    fn reasons_read_without_debug_noise() {
        let src = "192.0.2.21".parse().unwrap();
        assert_eq!(
            reason(Reason::HigherPriorityAdvert {
                src,
                priority: Priority(101)
            }),
            "HigherPriorityAdvert from 192.0.2.21 priority 101"
        );
        assert_eq!(reason(Reason::Demoted), "Demoted");
        assert_eq!(
            reason(Reason::AddressRemoved { addr: src }),
            "AddressRemoved 192.0.2.21"
        );
    }

    #[test]
    fn transitions_use_keepalived_wording() {
        assert_eq!(
            transition("VI_1", State::Initialize, State::Backup),
            "(VI_1) Entering BACKUP STATE (init)"
        );
        assert_eq!(
            transition("VI_1", State::Backup, State::Master),
            "(VI_1) Entering MASTER STATE"
        );
        assert_eq!(
            transition("VI_1", State::Initialize, State::Fault),
            "(VI_1) Entering FAULT STATE (init)"
        );
        assert_eq!(
            transition("VI_1", State::Master, State::Fault),
            "(VI_1) Entering FAULT STATE"
        );
    }

    #[test]
    fn address_list_mismatch_uses_keepalived_wording() {
        let src = "192.0.2.20".parse().unwrap();
        let vrid = crate::proto::Vrid::new(52).unwrap();
        assert_eq!(
            event(
                "VI_1",
                &Event::AddressListMismatch {
                    src,
                    count: 2,
                    expected: 1,
                    vrid,
                    missing: Some("192.0.2.31".parse().unwrap()),
                }
            ),
            "(VI_1) received an unexpected ip number count 2, expected 1! (from 192.0.2.20; accepted)"
        );
        // Same count, another address: keepalived 2.2.7 names the address
        // ("(%s) ip address associated with VRID %d not present in MASTER advert: %s").
        assert_eq!(
            event(
                "VI_1",
                &Event::AddressListMismatch {
                    src,
                    count: 2,
                    expected: 2,
                    vrid,
                    missing: Some("192.0.2.32".parse().unwrap()),
                }
            ),
            "(VI_1) ip address associated with VRID 52 not present in MASTER advert: 192.0.2.32 (from 192.0.2.20; accepted)"
        );
    }

    #[test]
    fn events_use_keepalived_wording() {
        let src = "192.0.2.2".parse().unwrap();
        assert_eq!(
            event(
                "VI_1",
                &Event::LowerPriorityDiscarded {
                    src,
                    priority: Priority(100)
                }
            ),
            "(VI_1) received lower priority (100) advert from 192.0.2.2 - discarding"
        );
        assert_eq!(
            event("VI_1", &Event::BackupReceivedPriorityZero { src }),
            "(VI_1) Backup received priority 0 advertisement"
        );
        assert_eq!(
            event(
                "VI_1",
                &Event::ForcingNewElection {
                    src,
                    priority: Priority(100),
                    ours: Priority(150)
                }
            ),
            "(VI_1) Received advert from 192.0.2.2 with lower priority 100, ours 150, forcing new election"
        );
    }
}
