//! The driver's side of the control socket: status, watch, demote, promote
//! and reload requests, answered in the driver task (so they see and change
//! state between two wake-ups, never during one).

use std::time::SystemTime;

use serde_json::json;
use tracing::info;

use super::worker::VipStatus;
use super::{messages, Daemon, Options, Running};
use crate::config::ReloadPlan;
use crate::driver::work::{AddressState, Op};
use crate::driver::{Demotion, Event};
use crate::output::control::{utc_timestamp, Command, ControlRequest, ErrorCode, Peer, Reply};

/// When `r` entered its current state, as wall-clock time.
pub(super) fn state_since(r: &Running, wall: super::view::Wall) -> String {
    utc_timestamp(super::view::Counters::of(r).since(wall))
}

/// The virtual addresses `r` holds, sorted, as the worker reports them: in
/// place (added by us or there before) or being added. A refused one is not
/// held, whatever the state.
pub(super) fn vips_held(r: &Running, report: &[VipStatus]) -> Vec<String> {
    if !r.router.holds_addresses() {
        return Vec::new();
    }
    let mut vips: Vec<String> = r
        .addresses
        .iter()
        .filter(|(addr, (ifindex, _))| {
            report
                .iter()
                .find(|v| v.addr == **addr && v.ifindex == *ifindex)
                .is_some_and(|v| {
                    matches!(
                        v.state,
                        AddressState::Installed
                            | AddressState::PresentBefore
                            | AddressState::Pending(Op::Add)
                    )
                })
        })
        .map(|(addr, _)| addr.to_string())
        .collect();
    vips.sort();
    vips
}

/// One line of a reload's effect: "added X; changed VI_1 (priority)".
pub fn plan_summary(plan: &ReloadPlan) -> String {
    let mut parts = Vec::new();
    if !plan.added.is_empty() {
        parts.push(format!("added {}", plan.added.join(", ")));
    }
    if !plan.removed.is_empty() {
        parts.push(format!("removed {}", plan.removed.join(", ")));
    }
    for c in &plan.changed {
        let name = if c.old_name == c.new_name {
            c.new_name.clone()
        } else {
            format!("{} (was {})", c.new_name, c.old_name)
        };
        parts.push(format!("changed {name}: {}", c.fields.join(", ")));
    }
    if !plan.sections_changed.is_empty() {
        parts.push(format!("sections {}", plan.sections_changed.join(", ")));
    }
    if parts.is_empty() {
        parts.push("no changes".to_string());
    }
    if !plan.unchanged.is_empty() {
        parts.push(format!("{} unchanged", plan.unchanged.len()));
    }
    parts.join("; ")
}

impl Daemon {
    /// Answers one control request.
    pub(super) fn control(
        &mut self,
        req: ControlRequest,
        opts: &Options,
        started: std::time::Instant,
    ) {
        let reply = match req.command {
            Command::Status => Reply::Value(self.status(started)),
            Command::Watch => Reply::Watch {
                snapshot: {
                    let vips = self.exec.work.addresses();
                    let wall = self.exec.clock.wall();
                    self.driver
                        .instances()
                        .iter()
                        .map(|r| {
                            serde_json::to_value(super::view::watch_state(r, &vips, wall))
                                .unwrap_or_default()
                        })
                        .collect()
                },
                events: self.exec.events.subscribe(),
            },
            Command::Demote { instance, note } => {
                self.set_admin_down(&instance, true, note, req.peer)
            }
            Command::Promote { instance } => self.set_admin_down(&instance, false, None, req.peer),
            Command::Reload => {
                // Answered when the reload is applied (off the driver).
                self.request_reload(opts, Some(req.reply));
                return;
            }
            Command::Upgrade => {
                // Answered when the successor took over or was refused.
                self.start_upgrade(req.reply);
                return;
            }
        };
        // The client may have gone; nothing to do then.
        let _ = req.reply.send(reply);
    }

    fn set_admin_down(
        &mut self,
        name: &str,
        down: bool,
        note: Option<String>,
        peer: Peer,
    ) -> Reply {
        let Some(i) = self
            .driver
            .instances()
            .iter()
            .position(|r| r.name() == name)
        else {
            let names: Vec<&str> = self.driver.instances().iter().map(Running::name).collect();
            return Reply::Value(json!({
                "ok": false,
                "code": ErrorCode::UnknownInstance.as_str(),
                "error": format!("no instance '{}' (instances: {})", name.escape_debug(), names.join(", ")),
                "instances": names,
            }));
        };
        let changed = self.driver.instances()[i].router.admin_down() != down;
        if changed {
            let by = match peer.pid {
                Some(pid) => format!("uid {} (pid {pid})", peer.uid),
                None => format!("uid {}", peer.uid),
            };
            let note_text = note
                .as_deref()
                .map(|n| format!(": {n}"))
                .unwrap_or_default();
            if down {
                info!(
                    vrrp_instance = %name,
                    "({name}) demoted by {by}{note_text}; out of the election until `vrrpd promote {name}` or a restart"
                );
                self.driver.instance_mut(i).demoted = Some(Box::new(Demotion {
                    by_uid: peer.uid,
                    since: SystemTime::now(),
                    note: note.clone(),
                }));
            } else {
                info!(vrrp_instance = %name, "({name}) promoted by {by}; rejoining the election");
                self.driver.instance_mut(i).demoted = None;
            }
            // Watchers see who did it, then the transition it causes.
            self.exec.events.publish(json!({
                "event": if down { "demoted" } else { "promoted" },
                "instance": name,
                "by_uid": peer.uid,
                "reason": note,
            }));
            self.handle(Event::AdminDown { instance: i, down });
        }
        let r = &self.driver.instances()[i];
        Reply::Value(json!({
            "instance": name,
            "demoted": down,
            "changed": changed,
            "state": r.router.state().keepalived_name(),
            "reason": messages::reason(r.router.state_reason()),
            "vips_held": vips_held(r, &self.exec.work.addresses()),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::InstanceChange;

    #[test]
    fn reload_summaries_name_what_changed() {
        assert_eq!(plan_summary(&ReloadPlan::default()), "no changes");
        let plan = ReloadPlan {
            added: vec!["VI_3".into()],
            removed: vec!["VI_0".into()],
            changed: vec![InstanceChange {
                old_name: "VI_1".into(),
                new_name: "VI_1".into(),
                fields: vec!["priority".into(), "vips".into()],
            }],
            unchanged: vec!["VI_2".into()],
            sections_changed: vec!["global".into()],
        };
        assert_eq!(
            plan_summary(&plan),
            "added VI_3; removed VI_0; changed VI_1: priority, vips; sections global; 1 unchanged"
        );
    }
}
