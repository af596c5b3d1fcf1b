//! `vrrpd check` for trackers and notify commands against this host: a
//! script that cannot be found or is not executable, a user that does not
//! exist, and, with `enable_script_security`, which path makes a root
//! script unsafe and why. Located at the instance's `track_script` (or the
//! instance block for notify commands).

use crate::config::{Command, Config, Diagnostic, Loc, Severity, Spans};

use super::script::{insecure_path, Exec, ScriptError, FALLBACK_USER};

fn loc_of(spans: &Spans, i: usize, field: &str) -> Loc {
    spans
        .instances
        .get(i)
        .and_then(|s| s.fields.get(field).or(s.block.as_ref()))
        .unwrap_or(&spans.file)
        .clone()
}

fn diag(severity: Severity, loc: &Loc, message: String) -> Diagnostic {
    Diagnostic {
        severity,
        file: loc.file.to_string(),
        line: loc.line,
        col: loc.col,
        message,
    }
}

/// Diagnostics for the scripts and notify commands each instance uses.
pub fn script_checks(cfg: &Config, spans: &Spans) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let one =
        |loc: &Loc, what: String, cmd: &Command, out: &mut Vec<Diagnostic>| match Exec::resolve(
            cmd,
            &cfg.global,
        ) {
            Ok(exec) => {
                if exec.runs_as_root() {
                    if let Some(why) = insecure_path(&exec.program) {
                        let tail = if cfg.global.enable_script_security {
                            "disabled (enable_script_security)"
                        } else {
                            "run anyway: enable_script_security is off"
                        };
                        out.push(diag(
                            Severity::Warning,
                            loc,
                            format!("{what}: unsafe permissions: {why}; {tail}"),
                        ));
                    }
                }
            }
            Err(e) => {
                let hint = match e {
                    ScriptError::NotExecutable(_) => {
                        "; vrrpd runs scripts directly, never through a shell: chmod +x it"
                    }
                    ScriptError::NotFound(_) => "; the tracker is disabled, as keepalived does",
                    _ => "",
                };
                out.push(diag(Severity::Warning, loc, format!("{what}: {e}{hint}")));
            }
        };
    // Which commands name no user: with no `script_user` they run as the
    // default user, said once.
    let mut without_user: Option<Loc> = None;
    let mut note = |loc: &Loc, cmd: &Command| {
        if cmd.run_as.is_none() && !cmd.cmd.is_empty() && without_user.is_none() {
            without_user = Some(loc.clone());
        }
    };
    for (i, inst) in cfg.instances.iter().enumerate() {
        let at = loc_of(spans, i, "track_scripts");
        for t in &inst.track_scripts {
            if let Some(s) = cfg.scripts.iter().find(|s| s.name == t.name) {
                let what = format!(
                    "({}) track_script '{}' (`{}`)",
                    inst.name, s.name, s.script.cmd
                );
                one(&at, what, &s.script, &mut out);
                note(&at, &s.script);
            }
        }
        let block = loc_of(spans, i, "");
        let n = &inst.notify;
        for (kw, c) in [
            ("notify_master", &n.master),
            ("notify_backup", &n.backup),
            ("notify_fault", &n.fault),
            ("notify_stop", &n.stop),
            ("notify_deleted", &n.deleted),
            ("notify", &n.any),
        ] {
            if let Some(c) = c.as_ref().filter(|c| !c.cmd.is_empty()) {
                one(
                    &block,
                    format!("({}) {kw} `{}`", inst.name, c.cmd),
                    c,
                    &mut out,
                );
                note(&block, c);
            }
        }
    }
    for g in &cfg.sync_groups {
        let n = &g.notify;
        for (kw, c) in [
            ("notify_master", &n.master),
            ("notify_backup", &n.backup),
            ("notify_fault", &n.fault),
            ("notify_stop", &n.stop),
            ("notify", &n.any),
        ] {
            if let Some(c) = c {
                let what = format!("VRRP_Group({}) {kw} `{}`", g.name, c.cmd);
                one(&spans.file, what, c, &mut out);
                note(&spans.file, c);
            }
        }
    }
    if let (Some(loc), None) = (without_user, &cfg.global.script_user) {
        if let Some(msg) = default_user_note() {
            out.push(diag(Severity::Warning, &loc, msg));
        }
    }
    out
}

/// What the daemon (root) does with commands that name no user when
/// `script_user` is unset, if it differs from keepalived: keepalived runs
/// them as root when its `keepalived_script` user is missing.
fn default_user_note() -> Option<String> {
    let exists = |name: &str| matches!(nix::unistd::User::from_name(name), Ok(Some(_)));
    if exists("keepalived_script") {
        return None;
    }
    Some(if exists(FALLBACK_USER) {
        format!(
            "scripts and notify commands without a user will run as '{FALLBACK_USER}' (no script_user, no 'keepalived_script' user); keepalived would run them as root: set `script_user root` to keep that"
        )
    } else {
        format!(
            "scripts and notify commands without a user will run as root: neither script_user, 'keepalived_script' nor '{FALLBACK_USER}' exists"
        )
    })
}
