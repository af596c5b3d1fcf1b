//! `vrrpd check` for every command vrrpd runs and for the notify FIFOs,
//! against this host. Each command goes through [`admit`], the function
//! the daemon uses, and a refused one is reported with the daemon's own
//! log line ([`refused_line`]): what `check` says is what will happen.
//! Located at the instance's `track_script` or notify keyword, the sync
//! group, or the global keyword.

use std::collections::HashSet;

use crate::config::{Command, Config, Diagnostic, Loc, Severity, Spans};
use crate::output::notify::{check_fifo_path, fifo_owners, notify_commands};

use super::script::{
    admit, refused_line, unsafe_line, ScriptError, ScriptSpec, DEDICATED_USER, FALLBACK_USER,
};

fn diag(severity: Severity, loc: &Loc, message: String) -> Diagnostic {
    Diagnostic {
        severity,
        file: loc.file.to_string(),
        line: loc.line,
        col: loc.col,
        message,
    }
}

/// What [`admit`] decides for `cmd`, as a diagnostic (None: it runs and
/// nothing is wrong with it).
fn verdict(cfg: &Config, loc: &Loc, what: &str, cmd: &Command) -> Option<Diagnostic> {
    let message = match admit(cmd, &cfg.global) {
        Ok(a) => unsafe_line(what, a.unsafe_path.as_deref()?),
        Err(e) => {
            let hint = match e {
                ScriptError::NotExecutable(_) => {
                    "; vrrpd runs scripts directly, never through a shell: chmod +x it"
                }
                ScriptError::Insecure(_) => {
                    "; make it and every directory above it owned by root and writable by root only, or name a user for it"
                }
                _ => "",
            };
            format!("{}{hint}", refused_line(what, &e))
        }
    };
    Some(diag(Severity::Warning, loc, message))
}

/// Diagnostics for the scripts, notify commands, FIFO scripts and FIFOs
/// the configuration uses.
pub fn script_checks(cfg: &Config, spans: &Spans) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    // Which commands name no user: with no `script_user` they run as the
    // default user, said once.
    let mut without_user: Option<Loc> = None;
    let mut note = |loc: &Loc, cmd: &Command| {
        if cmd.run_as.is_none() && !cmd.cmd.is_empty() && without_user.is_none() {
            without_user = Some(loc.clone());
        }
    };
    // A script is vetted once, as the daemon does, at its first user.
    let mut seen: HashSet<&str> = HashSet::new();
    let mut script = |name: &str, loc: &Loc, out: &mut Vec<Diagnostic>| -> Option<Command> {
        let s = cfg.scripts.iter().find(|s| s.name == name)?;
        if !seen.insert(s.name.as_str()) {
            return None;
        }
        out.extend(verdict(
            cfg,
            loc,
            &ScriptSpec::what(&s.name, &s.script),
            &s.script,
        ));
        Some(s.script.clone())
    };
    for (i, inst) in cfg.instances.iter().enumerate() {
        let at = spans.instance(i, "track_scripts");
        for t in &inst.track_scripts {
            if let Some(c) = script(&t.name, &at, &mut out) {
                note(&at, &c);
            }
        }
        for (kw, c) in notify_commands(&inst.notify) {
            let loc = spans.instance(i, kw);
            let what = format!("({}) {kw} `{}`", inst.name, c.cmd);
            out.extend(verdict(cfg, &loc, &what, c));
            note(&loc, c);
        }
    }
    for (i, g) in cfg.sync_groups.iter().enumerate() {
        let loc = spans.groups.get(i).unwrap_or(&spans.file).clone();
        for t in &g.track_scripts {
            if let Some(c) = script(&t.name, &loc, &mut out) {
                note(&loc, &c);
            }
        }
        for (kw, c) in notify_commands(&g.notify) {
            let what = format!("VRRP_Group({}) {kw} `{}`", g.name, c.cmd);
            out.extend(verdict(cfg, &loc, &what, c));
            note(&loc, c);
        }
    }
    let gl = &cfg.global;
    for (kw, fifo, script_kw, fifo_script) in [
        (
            "vrrp_notify_fifo",
            &gl.vrrp_notify_fifo,
            "vrrp_notify_fifo_script",
            &gl.vrrp_notify_fifo_script,
        ),
        (
            "notify_fifo",
            &gl.notify_fifo,
            "notify_fifo_script",
            &gl.notify_fifo_script,
        ),
    ] {
        let Some(fifo) = fifo else { continue };
        let at = |k: &str| spans.global.get(k).unwrap_or(&spans.file).clone();
        if let Err(e) = check_fifo_path(&fifo.path, &fifo_owners(fifo)) {
            out.push(diag(Severity::Warning, &at(kw), format!("{kw}: {e}")));
        }
        if let Some(c) = fifo_script {
            let loc = at(script_kw);
            out.extend(verdict(cfg, &loc, &format!("{script_kw} `{}`", c.cmd), c));
            note(&loc, c);
        }
    }
    for (kw, cmd) in [
        ("startup_script", &gl.startup_script),
        ("shutdown_script", &gl.shutdown_script),
    ] {
        let Some(c) = cmd else { continue };
        let loc = spans.global.get(kw).unwrap_or(&spans.file).clone();
        out.extend(verdict(cfg, &loc, &format!("{kw} `{}`", c.cmd), c));
        note(&loc, c);
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
    Some(match [DEDICATED_USER, FALLBACK_USER].into_iter().find(|u| exists(u)) {
        Some(user) => format!(
            "scripts and notify commands without a user will run as '{user}' (no script_user, no 'keepalived_script' user); keepalived would run them as root: set `script_user root` to keep that"
        ),
        None => format!(
            "scripts and notify commands without a user will run as root: neither script_user, 'keepalived_script', '{DEDICATED_USER}' nor '{FALLBACK_USER}' exists"
        ),
    })
}
