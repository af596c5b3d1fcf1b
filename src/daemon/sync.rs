//! The sync-group coordinator (keepalived `vrrp_sync_group`): after every
//! input to a member, [`crate::proto::sync::decide`] says which members move
//! and where; they are moved here, in that order, then the group's
//! notifications follow its members' (keepalived's order).

use std::collections::HashMap;

use tracing::info;

use super::{tracking, Daemon};
use crate::config::Config;
use crate::proto::fsm::{Action, Input, State};
use crate::proto::sync::{decide, Member};
use crate::proto::Instant;

/// One configured group: its members' indices in the driver's instance
/// list (those that run) and its state.
struct Group {
    name: String,
    members: Vec<usize>,
    state: State,
}

/// Every sync group of the running configuration.
#[derive(Default)]
pub struct Groups {
    groups: Vec<Group>,
    /// Instance index -> group index.
    of: HashMap<usize, usize>,
    /// Set at shutdown: members stop one by one, nothing to sync.
    stopping: bool,
}

impl Groups {
    /// Whether instance `i` is a member of a group.
    pub fn member(&self, i: usize) -> bool {
        self.of.contains_key(&i)
    }
}

/// Whether `actions` take a router from MASTER to BACKUP (keepalived's TSM
/// M->B entry, `vrrp_sync_backup`).
pub fn left_master(actions: &[Action]) -> bool {
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

impl Daemon {
    /// Rebuilds the groups for the running instances of `self.config`
    /// (groups keep their state across a reload, by name) and tells each
    /// instance whether it is a member.
    pub(super) fn configure_sync_groups(&mut self) {
        let old: HashMap<String, State> = self
            .sync
            .groups
            .drain(..)
            .map(|g| (g.name, g.state))
            .collect();
        self.sync.of.clear();
        let config: &Config = &self.config;
        for g in &config.sync_groups {
            let members: Vec<usize> = g
                .members
                .iter()
                .filter_map(|m| self.instances.iter().position(|r| r.name() == m))
                .collect();
            if members.is_empty() {
                continue;
            }
            let index = self.sync.groups.len();
            for &i in &members {
                self.sync.of.insert(i, index);
            }
            // A new group starts in Initialize: [`decide`] moves it to
            // BACKUP once its members run, after their own notifications
            // (keepalived 2.2.7's order at start).
            let state = old.get(&g.name).copied().unwrap_or(State::Initialize);
            self.sync.groups.push(Group {
                name: g.name.clone(),
                members,
                state,
            });
        }
        let now = self.clock.now();
        for i in 0..self.instances.len() {
            let member = self.sync.member(i);
            let r = &mut self.instances[i];
            if r.router.params().sync_group != member {
                let mut params = r.router.params().clone();
                params.sync_group = member;
                let actions = r.router.handle(now, Input::Reload(Box::new(params)));
                self.io.execute(r, actions);
            }
        }
    }

    /// Applies the group rules after member `i` handled an input.
    pub(super) fn sync_after(&mut self, i: usize, now: Instant, left_master: bool) {
        if self.sync.stopping {
            return;
        }
        let Some(&g) = self.sync.of.get(&i) else {
            return;
        };
        let group = &self.sync.groups[g];
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
            info!(
                "VRRP_Group({name}) Syncing instances to {} state",
                to.keepalived_name()
            );
        }
        for (j, to) in decision.moves {
            let r = &mut self.instances[members[j]];
            let actions = r.router.handle(now, Input::Sync(to));
            self.io.execute(r, actions);
        }
        if let Some(to) = decision.group {
            self.sync.groups[g].state = to;
            self.io
                .notifier
                .group_event(&name, tracking::notify_state(to));
        }
    }

    /// Daemon stop begins: members stop one by one, nothing to sync.
    pub(super) fn stopping_sync_groups(&mut self) {
        self.sync.stopping = true;
    }

    /// Daemon stop: every group reports STOP after its members did.
    pub(super) fn stop_sync_groups(&mut self) {
        for g in &mut self.sync.groups {
            g.state = State::Initialize;
            self.io
                .notifier
                .group_event(&g.name, tracking::notify_state(State::Initialize));
        }
    }
}
