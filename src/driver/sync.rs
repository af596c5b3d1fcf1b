//! Sync groups in the driver core (keepalived `vrrp_sync_group`): after
//! every input to a member, [`crate::proto::sync::decide`] says which
//! members move and where; they are moved in that order, then the group's
//! new state is reported (its notifications follow its members').

use std::collections::HashMap;

use super::{Driver, Effect};
use crate::config::Config;
use crate::proto::fsm::{Action, Input, State};
use crate::proto::sync::{decide, Member};
use crate::proto::Instant;

/// One configured group: its members' indices in the instance list (those
/// that run) and its state.
#[derive(Debug)]
struct Group {
    name: String,
    members: Vec<usize>,
    state: State,
}

/// Every sync group of the running configuration.
#[derive(Debug, Default)]
pub(super) struct Groups {
    groups: Vec<Group>,
    /// Instance index -> group index.
    of: HashMap<usize, usize>,
    /// Set at shutdown: members stop one by one, nothing to sync.
    pub(super) stopping: bool,
}

impl Groups {
    /// Whether instance `i` is a member of a group.
    pub(super) fn member(&self, i: usize) -> bool {
        self.of.contains_key(&i)
    }

    /// Every group's name and state (the upgrade record).
    pub(super) fn names_and_states(&self) -> impl Iterator<Item = (&str, State)> {
        self.groups.iter().map(|g| (g.name.as_str(), g.state))
    }

    /// Sets group `name`'s state, if it runs (restoring an upgrade record).
    pub(super) fn set_state(&mut self, name: &str, state: State) {
        if let Some(g) = self.groups.iter_mut().find(|g| g.name == name) {
            g.state = state;
        }
    }
}

/// Whether the configuration puts instance `name` in a sync group.
pub(super) fn configured_member(config: &Config, name: &str) -> bool {
    config
        .sync_groups
        .iter()
        .any(|g| g.members.iter().any(|m| m == name))
}

/// Whether `actions` take a router from MASTER to BACKUP (keepalived's TSM
/// M->B entry, `vrrp_sync_backup`).
pub(super) fn left_master(actions: &[Action]) -> bool {
    actions.iter().any(|a| {
        matches!(
            a,
            Action::Transition {
                from: State::Master,
                to: State::Backup,
                ..
            }
        )
    })
}

impl Driver {
    /// Rebuilds the groups for the running instances of `config` (groups
    /// keep their state across a reload, by name).
    pub(super) fn configure_sync_groups(&mut self, config: &Config) {
        let old: HashMap<String, State> = self
            .groups
            .groups
            .drain(..)
            .map(|g| (g.name, g.state))
            .collect();
        self.groups.of.clear();
        for g in &config.sync_groups {
            let members: Vec<usize> = g
                .members
                .iter()
                .filter_map(|m| self.instances.iter().position(|r| r.name() == m))
                .collect();
            if members.is_empty() {
                continue;
            }
            let index = self.groups.groups.len();
            for &i in &members {
                self.groups.of.insert(i, index);
            }
            // A new group starts in Initialize: [`decide`] moves it to
            // BACKUP once its members run, after their own notifications
            // (keepalived 2.2.7's order at start).
            let state = old.get(&g.name).copied().unwrap_or(State::Initialize);
            self.groups.groups.push(Group {
                name: g.name.clone(),
                members,
                state,
            });
        }
    }

    /// Applies the group rules after member `i` handled an input.
    pub(super) fn sync_after(
        &mut self,
        i: usize,
        now: Instant,
        left_master: bool,
        out: &mut Vec<Effect>,
    ) {
        if self.groups.stopping {
            return;
        }
        let Some(&g) = self.groups.of.get(&i) else {
            return;
        };
        let group = &self.groups.groups[g];
        let Some(trigger) = group.members.iter().position(|m| *m == i) else {
            return;
        };
        let view: Vec<Member> = group
            .members
            .iter()
            .map(|&m| {
                let r = &self.instances[m].router;
                Member {
                    state: r.state(),
                    own_fault: r.own_fault(),
                    wants_master: r.wants_master(),
                    held: r.sync_held(),
                }
            })
            .collect();
        let decision = decide(group.state, &view, trigger, left_master);
        let name = group.name.clone();
        let members = group.members.clone();
        if let Some(to) = decision.group {
            out.push(Effect::GroupSyncing {
                name: name.clone(),
                state: to,
            });
        }
        for (j, to) in decision.moves {
            let m = members[j];
            let actions = self.instances[m].router.handle(now, Input::Sync(to));
            super::note_transition(&mut self.instances[m], now, &actions);
            self.push_actions(m, actions, out);
        }
        if let Some(to) = decision.group {
            self.groups.groups[g].state = to;
            out.push(Effect::GroupState { name, state: to });
        }
    }

    /// Daemon stop: every group reports STOP after its members did.
    pub(super) fn stop_sync_groups(&mut self, out: &mut Vec<Effect>) {
        for g in &mut self.groups.groups {
            g.state = State::Initialize;
            out.push(Effect::GroupState {
                name: g.name.clone(),
                state: State::Initialize,
            });
        }
    }

    /// The state of group `name`, if it runs.
    pub fn group_state(&self, name: &str) -> Option<State> {
        self.groups
            .groups
            .iter()
            .find(|g| g.name == name)
            .map(|g| g.state)
    }
}
