//! What a reload would change, with keepalived's instance identity (§2.12):
//! VRID, family, interface, unicast or multicast, unicast source. A matched
//! instance keeps its state; anything else is a removal plus an addition.

use serde::Serialize;

use super::model::{Config, Instance};

/// The changes between two models.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReloadPlan {
    /// Instances only in the new model (start fresh in BACKUP).
    pub added: Vec<String>,
    /// Instances only in the old model (stop; a master resigns).
    pub removed: Vec<String>,
    /// Matched instances whose settings differ (state is kept).
    pub changed: Vec<InstanceChange>,
    /// Matched instances with identical settings.
    pub unchanged: Vec<String>,
    /// Top-level sections that differ: `global`, `script`, `track_file`, `track_process`, `sync_group`, `garp_group`.
    pub sections_changed: Vec<String>,
}

impl ReloadPlan {
    /// Nothing would change.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.changed.is_empty()
            && self.sections_changed.is_empty()
    }
}

/// One matched instance with the model fields that differ.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstanceChange {
    pub old_name: String,
    pub new_name: String,
    /// Field names as in the model / TOML (`priority`, `vips`, ...).
    pub fields: Vec<String>,
}

/// Compares two models the way a SIGHUP reload matches instances.
pub fn diff(old: &Config, new: &Config) -> ReloadPlan {
    let mut plan = ReloadPlan::default();
    let mut taken = vec![false; new.instances.len()];
    for o in &old.instances {
        let id = o.identity();
        let found = new
            .instances
            .iter()
            .enumerate()
            .find(|(j, n)| !taken[*j] && n.identity() == id);
        match found {
            Some((j, n)) => {
                taken[j] = true;
                let fields = changed_fields(o, n);
                if fields.is_empty() {
                    plan.unchanged.push(n.name.clone());
                } else {
                    plan.changed.push(InstanceChange {
                        old_name: o.name.clone(),
                        new_name: n.name.clone(),
                        fields,
                    });
                }
            }
            None => plan.removed.push(o.name.clone()),
        }
    }
    for (j, n) in new.instances.iter().enumerate() {
        if !taken[j] {
            plan.added.push(n.name.clone());
        }
    }
    let sections = [
        ("global", json(&old.global) != json(&new.global)),
        ("script", json(&old.scripts) != json(&new.scripts)),
        (
            "track_file",
            json(&old.track_files) != json(&new.track_files),
        ),
        (
            "track_process",
            json(&old.track_processes) != json(&new.track_processes),
        ),
        ("probe", json(&old.probes) != json(&new.probes)),
        (
            "sync_group",
            json(&old.sync_groups) != json(&new.sync_groups),
        ),
        (
            "garp_group",
            json(&old.garp_groups) != json(&new.garp_groups),
        ),
    ];
    plan.sections_changed = sections
        .iter()
        .filter(|(_, c)| *c)
        .map(|(s, _)| s.to_string())
        .collect();
    plan
}

fn json<T: Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

/// Names of the top-level fields that differ, compared through their serde form.
fn changed_fields(a: &Instance, b: &Instance) -> Vec<String> {
    let (serde_json::Value::Object(x), serde_json::Value::Object(y)) = (json(a), json(b)) else {
        return vec!["*".to_string()];
    };
    let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| x.get(*k) != y.get(*k))
        .cloned()
        .collect()
}
