//! Sync groups (keepalived's `vrrp_sync_group`, `vrrp/vrrp_sync.c`): the
//! members of a group move between states together.
//!
//! [`decide`] is the whole rule set. The driver calls it after every input
//! to a member, feeds [`Input::Sync`](super::fsm::Input::Sync) to the members
//! it names, in that order, and then reports the group's new state:
//!
//! - a member with a fault of its own puts every member in FAULT (a Master
//!   resigns with priority 0), and they stay there until no member has one
//!   (keepalived `vrrp_sync_fault`, `num_member_fault`);
//! - a member leaving MASTER for BACKUP (a higher-priority advert, an address
//!   removed) takes the other Masters to BACKUP (`vrrp_sync_backup`);
//! - a member that would become Master only does when every member wants to,
//!   which prefers BACKUP to thrashing (`vrrp_sync_can_goto_master`); then
//!   all become Master, the one that completed the group first
//!   (`vrrp_sync_master`). A member joining a group already Master goes
//!   Master when it wants to.

use super::fsm::State;

/// What [`decide`] needs to know of one member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    pub state: State,
    /// A fault of its own (trackers, link), not the group's.
    pub own_fault: bool,
    /// In Backup and wanting to become Master.
    pub wants_master: bool,
    /// Held in FAULT by the group.
    pub held: bool,
}

/// What the group does: members to move (index, target), in order, and the
/// group's new state when it changes (its notifications then run).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Decision {
    pub moves: Vec<(usize, State)>,
    pub group: Option<State>,
}

/// The group's rules after member `trigger` handled an input; `left_master`
/// tells whether that input took it from MASTER to BACKUP. `group` is the
/// group's state (`Initialize` before its first decision).
pub fn decide(group: State, members: &[Member], trigger: usize, left_master: bool) -> Decision {
    let mut d = Decision::default();
    // The trigger first, then the others in group order.
    let order: Vec<usize> = std::iter::once(trigger)
        .filter(|t| *t < members.len())
        .chain((0..members.len()).filter(|i| *i != trigger))
        .collect();
    if members.iter().any(|m| m.own_fault) {
        d.moves = order
            .iter()
            .filter(|i| !members[**i].held)
            .map(|i| (*i, State::Fault))
            .collect();
        if group != State::Fault {
            d.group = Some(State::Fault);
        }
        return d;
    }
    if group == State::Fault {
        d.moves = order
            .iter()
            .filter(|i| members[**i].held)
            .map(|i| (*i, State::Backup))
            .collect();
        d.group = Some(State::Backup);
        return d;
    }
    if members.iter().any(|m| m.state == State::Initialize) {
        // Not every member runs yet (start-up, reload): nothing to sync.
        return d;
    }
    if group == State::Master {
        if left_master {
            d.moves = order
                .iter()
                .filter(|i| members[**i].state == State::Master)
                .map(|i| (*i, State::Backup))
                .collect();
            d.group = Some(State::Backup);
        } else {
            d.moves = order
                .iter()
                .filter(|i| members[**i].wants_master)
                .map(|i| (*i, State::Master))
                .collect();
        }
        return d;
    }
    let all_want = members
        .iter()
        .all(|m| m.wants_master || m.state == State::Master);
    if all_want {
        d.moves = order
            .iter()
            .filter(|i| members[**i].state != State::Master)
            .map(|i| (*i, State::Master))
            .collect();
        d.group = Some(State::Master);
        return d;
    }
    // Some member wants BACKUP: a Master (left over from a reload that
    // formed the group) follows the group to BACKUP.
    d.moves = order
        .iter()
        .filter(|i| members[**i].state == State::Master)
        .map(|i| (*i, State::Backup))
        .collect();
    if group != State::Backup {
        d.group = Some(State::Backup);
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(state: State) -> Member {
        Member {
            state,
            own_fault: false,
            wants_master: false,
            held: false,
        }
    }

    fn wanting() -> Member {
        Member {
            wants_master: true,
            ..m(State::Backup)
        }
    }

    #[test]
    fn a_member_fault_moves_every_member_to_fault() {
        let mut ms = [m(State::Master), m(State::Master)];
        ms[1].own_fault = true;
        ms[1].state = State::Fault;
        let d = decide(State::Master, &ms, 1, false);
        assert_eq!(d.moves, [(1, State::Fault), (0, State::Fault)]);
        assert_eq!(d.group, Some(State::Fault));
    }

    #[test]
    fn the_group_stays_in_fault_until_no_member_has_a_fault() {
        let held = Member {
            held: true,
            ..m(State::Fault)
        };
        let faulty = Member {
            own_fault: true,
            ..held
        };
        let d = decide(State::Fault, &[held, faulty], 0, false);
        assert_eq!(d, Decision::default());
        let d = decide(State::Fault, &[held, held], 1, false);
        assert_eq!(d.moves, [(1, State::Backup), (0, State::Backup)]);
        assert_eq!(d.group, Some(State::Backup));
    }

    #[test]
    fn a_master_leaving_for_backup_takes_the_others() {
        let ms = [m(State::Master), m(State::Backup), m(State::Master)];
        let d = decide(State::Master, &ms, 1, true);
        assert_eq!(d.moves, [(0, State::Backup), (2, State::Backup)]);
        assert_eq!(d.group, Some(State::Backup));
    }

    #[test]
    fn master_only_when_every_member_wants_it() {
        let d = decide(State::Backup, &[wanting(), m(State::Backup)], 0, false);
        assert_eq!(d, Decision::default());
        let d = decide(State::Backup, &[wanting(), wanting()], 1, false);
        assert_eq!(d.moves, [(1, State::Master), (0, State::Master)]);
        assert_eq!(d.group, Some(State::Master));
    }

    #[test]
    fn a_member_joins_a_group_already_master() {
        let d = decide(State::Master, &[m(State::Master), wanting()], 1, false);
        assert_eq!(d.moves, [(1, State::Master)]);
        assert_eq!(d.group, None);
        // A new Backup that does not want MASTER does not drag the group.
        let d = decide(
            State::Master,
            &[m(State::Master), m(State::Backup)],
            1,
            false,
        );
        assert_eq!(d, Decision::default());
    }

    #[test]
    fn the_group_starts_in_backup_once_every_member_runs() {
        let d = decide(
            State::Initialize,
            &[m(State::Backup), m(State::Initialize)],
            0,
            false,
        );
        assert_eq!(d, Decision::default());
        let d = decide(
            State::Initialize,
            &[m(State::Backup), m(State::Backup)],
            1,
            false,
        );
        assert_eq!(d.group, Some(State::Backup));
        assert!(d.moves.is_empty());
    }
}
