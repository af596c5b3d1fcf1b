//! `vrrp_sync_group` blocks (members are checked in [`super::complete`]).

use super::super::lexer::Node;
use super::super::model::*;
use super::{tokens_of, Parser};

impl Parser<'_> {
    pub(super) fn sync_group(&mut self, n: &Node) {
        let Some(name) = self.name_of(n) else { return };
        let mut g = SyncGroup {
            name,
            members: Vec::new(),
            track_interfaces: Vec::new(),
            track_scripts: Vec::new(),
            track_files: Vec::new(),
            track_processes: Vec::new(),
            notify: Notify::default(),
            tracking_weight: false,
            smtp_alert: false,
            notify_priority_changes: None,
        };
        let mut member_locs = Vec::new();
        let mut script_locs = Vec::new();
        for c in self.block(n) {
            match c.kw.text.as_str() {
                "group" => {
                    for m in self.block(c) {
                        for t in tokens_of(m) {
                            g.members.push(t.text.clone());
                            member_locs.push(t.loc.clone());
                        }
                    }
                }
                "track_interface" => {
                    let l = self.track_interfaces(c).into_iter().map(|(t, _)| t);
                    g.track_interfaces.extend(l);
                }
                "track_script" => {
                    for (t, at) in self.track_refs(c, 253) {
                        g.track_scripts.push(t);
                        script_locs.push(at);
                    }
                }
                "track_file" => {
                    let l = self.track_refs(c, 254).into_iter().map(|(t, _)| t);
                    g.track_files.extend(l);
                }
                "track_process" => {
                    let l = self.track_refs(c, 254).into_iter().map(|(t, _)| t);
                    g.track_processes.extend(l);
                }
                "notify_master" => g.notify.master = self.notify_command(c),
                "notify_backup" => g.notify.backup = self.notify_command(c),
                "notify_fault" => g.notify.fault = self.notify_command(c),
                "notify_stop" => g.notify.stop = self.notify_command(c),
                "notify" => g.notify.any = self.notify_command(c),
                "smtp_alert" => {
                    g.smtp_alert = self.boolean(c);
                    self.g.group_smtp_set.insert(g.name.clone());
                }
                "sync_group_tracking_weight" => g.tracking_weight = self.boolean(c),
                "global_tracking" => {
                    self.warn(
                        &c.kw.loc,
                        "'global_tracking' is deprecated; treated as 'sync_group_tracking_weight'",
                    );
                    g.tracking_weight = true;
                }
                "notify_priority_changes" => {
                    g.notify_priority_changes = Some(self.boolean(c));
                }
                "track_bfd" => self.not_done(c),
                _ => self.unknown(c, "vrrp_sync_group"),
            }
        }
        self.groups
            .push((g, n.kw.loc.clone(), member_locs, script_locs));
    }
}
