//! Glue between [`crate::track`] and the driver: tracker readings in,
//! `PriorityChanged` / `Fault` inputs out; transitions to notifications.

use std::collections::HashMap;

use tokio::sync::mpsc;
use tracing::info;

use super::{Daemon, Executor, Running};
use crate::driver::{Event, TrackState};
use crate::output::notify::NotifyState;
use crate::proto::fsm::{self, State};
use crate::track::{self, Kind, Reading, TrackerKey, TrackerSet, Update, Weighted};

/// Tracker state kept by the driver.
pub struct Tracking {
    pub(super) plan: HashMap<String, Vec<Weighted>>,
    pub(super) readings: HashMap<TrackerKey, Reading>,
    pub(super) set: Option<TrackerSet>,
    pub(super) tx: mpsc::UnboundedSender<Update>,
    /// Tracked interfaces by index, to see them deleted.
    pub(super) if_index: HashMap<u32, String>,
}

impl Tracking {
    /// An idle tracking state and the receiver the driver selects on.
    pub fn new() -> (Tracking, mpsc::UnboundedReceiver<Update>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            Tracking {
                plan: HashMap::new(),
                readings: HashMap::new(),
                set: None,
                tx,
                if_index: HashMap::new(),
            },
            rx,
        )
    }

    /// Every tracker some instance's plan uses.
    pub(super) fn used_keys(&self) -> std::collections::HashSet<TrackerKey> {
        self.plan
            .values()
            .flatten()
            .map(|w| w.key.clone())
            .collect()
    }
}

impl Tracking {
    /// A tracker's current reading, if it has one.
    pub fn reading(&self, key: &TrackerKey) -> Option<Reading> {
        self.readings.get(key).copied()
    }
}

/// The notification for entering `to`, if any (Initialize = stopped).
pub fn notify_state(to: State) -> NotifyState {
    match to {
        State::Master => NotifyState::Master,
        State::Backup => NotifyState::Backup,
        State::Fault => NotifyState::Fault,
        State::Initialize => NotifyState::Stop,
    }
}

/// What a transition reports: the state entered; for an instance removed
/// by a reload see [`deleted_notification`].
pub(super) fn transition_notification(r: &Running, from: State, to: State) -> Option<NotifyState> {
    if r.deleting && to == State::Initialize {
        return deleted_notification(r.cfg.notify.deleted.is_some(), from);
    }
    Some(notify_state(to))
}

/// keepalived's report of an instance a reload removed (`clear_diff_vrrp`):
/// DELETED with `notify_deleted`, else FAULT, and nothing when it was in
/// FAULT already and `notify_deleted` is unset.
pub fn deleted_notification(notify_deleted: bool, from: State) -> Option<NotifyState> {
    if notify_deleted {
        Some(NotifyState::Deleted)
    } else if from != State::Fault {
        Some(NotifyState::Fault)
    } else {
        None
    }
}

/// Says once per (re)load who runs the commands that name no user, when
/// it is not what keepalived would do (root).
pub(super) fn log_default_user(cfg: &crate::config::Config) {
    let commands = !cfg.scripts.is_empty()
        || cfg.instances.iter().any(|i| i.notify != Default::default())
        || cfg
            .sync_groups
            .iter()
            .any(|g| g.notify != Default::default());
    if !commands || cfg.global.script_user.is_some() {
        return;
    }
    if let Some((name, uid, _)) = track::script::default_user() {
        if uid != 0 && name != "keepalived_script" {
            info!(
                "scripts and notify commands without a user run as '{name}' (no script_user, no keepalived_script user; keepalived would use root)"
            );
        }
    }
}

impl Executor {
    /// keepalived's extra notifications: MASTER_RX_LOWER_PRI, and with
    /// `notify_priority_changes` MASTER_PRIORITY / BACKUP_PRIORITY.
    pub(super) fn notify_event(&self, r: &Running, event: &fsm::Event) {
        let state = match (event, r.router.state()) {
            (fsm::Event::ForcingNewElection { .. }, _) => NotifyState::MasterRxLowerPri,
            (fsm::Event::EffectivePriorityChanged { .. }, State::Master) => {
                NotifyState::MasterPriority
            }
            (fsm::Event::EffectivePriorityChanged { .. }, State::Backup) => {
                NotifyState::BackupPriority
            }
            _ => return,
        };
        self.notifier
            .event(r.name(), state, r.router.effective_priority().0);
    }
}

impl Daemon {
    /// A tracker reported.
    pub(super) fn track_update(&mut self, u: Update) {
        if self.tracking.readings.insert(u.key, u.reading) != Some(u.reading) {
            self.retrack();
        }
    }

    /// Link state of a tracked interface (`track_interface`).
    pub(super) fn track_link(&mut self, index: u32, name: &str, up: bool) {
        let key = TrackerKey::new(Kind::Interface, name);
        if !self.tracking.plan.values().flatten().any(|w| w.key == key) {
            return;
        }
        self.tracking.if_index.insert(index, name.to_string());
        self.track_update(Update {
            key,
            reading: if up { Reading::Ok } else { Reading::Failed },
        });
    }

    /// A tracked interface was deleted: down until it comes back.
    pub(super) fn track_link_removed(&mut self, index: u32) {
        if let Some(name) = self.tracking.if_index.remove(&index) {
            self.track_update(Update {
                key: TrackerKey::new(Kind::Interface, name),
                reading: Reading::Failed,
            });
        }
    }

    /// What instance `name`'s trackers add up to with the readings known.
    pub(super) fn track_state(&self, name: &str) -> TrackState {
        let list = self.tracking.plan.get(name).map_or(&[][..], |l| &l[..]);
        let effect = track::evaluate(list, &self.tracking.readings);
        let failing: Vec<String> = list
            .iter()
            .filter(|w| {
                self.tracking
                    .readings
                    .get(&w.key)
                    .is_some_and(|r| w.effect(*r).fault)
            })
            .map(|w| w.key.name.clone())
            .collect();
        TrackState {
            adjustment: effect.adjustment,
            fault: effect.fault,
            failing,
        }
    }

    /// Tells the core what each instance's trackers add up to now, where
    /// that changed.
    pub(super) fn retrack(&mut self) {
        for (key, reading) in &self.tracking.readings {
            self.exec.metrics.reading(key, *reading);
        }
        for i in 0..self.driver.instances().len() {
            let state = self.track_state(self.driver.instances()[i].name());
            let r = &self.driver.instances()[i];
            if state.adjustment == r.track_adjustment && state.fault == r.faults.tracker {
                continue;
            }
            self.handle(Event::Tracked { instance: i, state });
        }
    }

    /// The interfaces `track_interface` watches, by name.
    pub(super) fn tracked_interfaces(&self) -> Vec<String> {
        self.tracking.if_index.values().cloned().collect()
    }
}

impl Daemon {
    /// Each tracker of `instance` with its weight, reading and what it does
    /// to the priority now, for status.
    pub(super) fn tracker_status(&self, instance: &str) -> Vec<super::view::TrackerView> {
        let Some(list) = self.tracking.plan.get(instance) else {
            return Vec::new();
        };
        list.iter()
            .map(|w| {
                let reading = self.tracking.readings.get(&w.key).copied();
                let effect = reading.map(|r| w.effect(r)).unwrap_or_default();
                super::view::TrackerView {
                    kind: kind_name(w.key.kind),
                    name: w.key.name.clone(),
                    weight: w.weight,
                    reverse: w.reverse,
                    reading: match reading {
                        None => serde_json::Value::Null,
                        Some(Reading::Ok) => "ok".into(),
                        Some(Reading::Failed) => "failed".into(),
                        Some(Reading::Value(v)) => v.into(),
                    },
                    adjustment: effect.adjustment,
                    fault: effect.fault,
                }
            })
            .collect()
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Script => "script",
        Kind::File => "file",
        Kind::Process => "process",
        Kind::Probe => "probe",
        Kind::Interface => "interface",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_removed_instance_is_reported_as_keepalived_does() {
        assert_eq!(
            deleted_notification(true, State::Master),
            Some(NotifyState::Deleted)
        );
        assert_eq!(
            deleted_notification(true, State::Fault),
            Some(NotifyState::Deleted)
        );
        assert_eq!(
            deleted_notification(false, State::Backup),
            Some(NotifyState::Fault)
        );
        assert_eq!(deleted_notification(false, State::Fault), None);
    }
}
