//! `vrrpd check` for trackers and notify commands against this host: a
//! script that cannot be found or is not executable, a user that does not
//! exist, and, with `enable_script_security`, which path makes a root
//! script unsafe and why. Located at the instance's `track_script` (or the
//! instance block for notify commands).

use crate::config::{Command, Config, Diagnostic, Loc, Severity, Spans};

use super::script::{insecure_path, Exec, ScriptError};

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
    for (i, inst) in cfg.instances.iter().enumerate() {
        let at = loc_of(spans, i, "track_scripts");
        for t in &inst.track_scripts {
            if let Some(s) = cfg.scripts.iter().find(|s| s.name == t.name) {
                let what = format!(
                    "({}) track_script '{}' (`{}`)",
                    inst.name, s.name, s.script.cmd
                );
                one(&at, what, &s.script, &mut out);
            }
        }
        let block = loc_of(spans, i, "");
        let n = &inst.notify;
        for (kw, c) in [
            ("notify_master", &n.master),
            ("notify_backup", &n.backup),
            ("notify_fault", &n.fault),
            ("notify_stop", &n.stop),
            ("notify", &n.any),
        ] {
            if let Some(c) = c {
                one(
                    &block,
                    format!("({}) {kw} `{}`", inst.name, c.cmd),
                    c,
                    &mut out,
                );
            }
        }
    }
    out
}
