//! Trackers: `vrrp_script`, `vrrp_track_file`, `vrrp_track_process`, vrrpd's
//! probes, and the `track_*` lists of instances and sync groups.

use super::super::lexer::Node;
use super::super::model::*;
use super::super::units::Secs;
use super::super::Loc;
use super::Parser;

impl Parser<'_> {
    /// The entries of a `track_interface` block, each with where it was written.
    pub(super) fn track_interfaces(&mut self, n: &Node) -> Vec<(TrackInterface, Loc)> {
        let mut out = Vec::new();
        for c in self.block(n) {
            self.no_block(c);
            let mut t = TrackInterface {
                name: c.kw.text.clone(),
                weight: 0,
                reverse: false,
            };
            let mut it = c.args.iter();
            while let Some(a) = it.next() {
                match a.text.as_str() {
                    "weight" => match it.next() {
                        Some(v) => {
                            if let Some(w) = self.int_tok("weight", v, -253, 253) {
                                t.weight = w as i32;
                            }
                        }
                        None => self.warn(&a.loc, "'weight' expects a value"),
                    },
                    "reverse" => t.reverse = true,
                    "noreverse" => t.reverse = false,
                    other => self.warn(
                        &a.loc,
                        format!("unknown track_interface option '{other}'; ignored"),
                    ),
                }
            }
            out.push((t, c.kw.loc.clone()));
        }
        out
    }

    /// The entries of a `track_script`/`track_file`/`track_process`/
    /// `track_probe` block, each with where it was written.
    pub(super) fn track_refs(&mut self, n: &Node, max_weight: i64) -> Vec<(TrackRef, Loc)> {
        let mut out = Vec::new();
        for c in self.block(n) {
            self.no_block(c);
            let mut t = TrackRef {
                name: c.kw.text.clone(),
                weight: None,
                reverse: None,
            };
            let mut it = c.args.iter();
            while let Some(a) = it.next() {
                match a.text.as_str() {
                    "weight" => match it.next() {
                        Some(v) => {
                            t.weight = self
                                .int_tok("weight", v, -max_weight, max_weight)
                                .map(|w| w as i32)
                        }
                        None => self.warn(&a.loc, "'weight' expects a value"),
                    },
                    "reverse" => t.reverse = Some(true),
                    "noreverse" => t.reverse = Some(false),
                    other => self.warn(
                        &a.loc,
                        format!("unknown option '{other}' for '{}'; ignored", n.kw.text),
                    ),
                }
            }
            out.push((t, c.kw.loc.clone()));
        }
        out
    }

    /// `weight N [reverse]` inside a tracker definition.
    pub(super) fn weight(&mut self, n: &Node, max: i64) -> Option<(i32, bool)> {
        self.no_block(n);
        let t = n.args.first();
        let Some(t) = t else {
            self.warn(&n.kw.loc, "'weight' expects a value; ignored");
            return None;
        };
        let w = self.int_tok("weight", t, -max, max)? as i32;
        let reverse = match n.args.get(1).map(|t| t.text.as_str()) {
            Some("reverse") => true,
            Some("noreverse") | None => false,
            Some(other) => {
                self.warn(
                    &n.args[1].loc,
                    format!("expected 'reverse' after the weight, got '{other}'; ignored"),
                );
                false
            }
        };
        Some((w, reverse))
    }

    pub(super) fn script(&mut self, n: &Node) {
        let Some(name) = self.name_of(n) else { return };
        let mut s = VrrpScript {
            name,
            script: Command {
                cmd: String::new(),
                run_as: None,
            },
            interval: Secs::from_secs(1),
            timeout: None,
            weight: 0,
            reverse: false,
            rise: 1,
            fall: 1,
            init_fail: false,
        };
        let mut have_script = false;
        for c in self.block(n) {
            match c.kw.text.as_str() {
                "script" => {
                    self.no_block(c);
                    let parts: Vec<&str> = c.args.iter().map(|t| t.text.as_str()).collect();
                    if parts.is_empty() {
                        self.warn(&c.kw.loc, "'script' expects a command; ignored");
                    } else {
                        s.script.cmd = parts.join(" ");
                        have_script = true;
                    }
                }
                "interval" => {
                    if let Some(v) = self.script_secs(c) {
                        if v == Secs::ZERO {
                            self.warn(
                                &c.kw.loc,
                                "'interval' 0 is not valid; using 1 second as keepalived does",
                            );
                        } else {
                            s.interval = v;
                        }
                    }
                }
                "timeout" => {
                    s.timeout = self.script_secs(c).map(|v| {
                        if v == Secs::ZERO {
                            self.warn(
                                &c.kw.loc,
                                "'timeout' 0 is not valid; using 1 second as keepalived does",
                            );
                            Secs::from_secs(1)
                        } else {
                            v
                        }
                    })
                }
                "weight" => {
                    if let Some((w, r)) = self.weight(c, 253) {
                        s.weight = w;
                        s.reverse = r;
                    }
                }
                "rise" => {
                    if let Some(v) = self.u32_of(c, 1, 1_000_000) {
                        s.rise = v;
                    }
                }
                "fall" => {
                    if let Some(v) = self.u32_of(c, 1, 1_000_000) {
                        s.fall = v;
                    }
                }
                "user" => {
                    self.no_block(c);
                    s.script.run_as = self.run_as(&c.args).map(Box::new);
                }
                "init_fail" => s.init_fail = self.boolean(c),
                _ => self.unknown(c, "vrrp_script"),
            }
        }
        if !have_script {
            self.warn(
                &n.kw.loc,
                format!("vrrp_script '{}' has no 'script'; ignored", s.name),
            );
            return;
        }
        self.cfg.scripts.push(s);
    }

    pub(super) fn track_file(&mut self, n: &Node) {
        let Some(name) = self.name_of(n) else { return };
        let mut f = TrackFile {
            name,
            file: String::new(),
            weight: 1,
            reverse: false,
            init_file: None,
            init_overwrite: false,
        };
        for c in self.block(n) {
            match c.kw.text.as_str() {
                "file" => f.file = self.string(c).unwrap_or_default(),
                "weight" => {
                    if let Some((w, r)) = self.weight(c, 254) {
                        f.weight = w;
                        f.reverse = r;
                    }
                }
                "init_file" => {
                    self.no_block(c);
                    f.init_file = Some(0);
                    for a in &c.args {
                        if a.text == "overwrite" {
                            f.init_overwrite = true;
                        } else {
                            match a.text.parse::<i64>() {
                                Ok(v) => f.init_file = Some(v),
                                Err(_) => self.warn(&a.loc, format!("'init_file' expects an integer or 'overwrite', got '{}'; ignored", a.text)),
                            }
                        }
                    }
                }
                _ => self.unknown(c, "vrrp_track_file"),
            }
        }
        if f.file.is_empty() {
            self.warn(
                &n.kw.loc,
                format!("track file '{}' has no 'file'; ignored", f.name),
            );
            return;
        }
        self.cfg.track_files.push(f);
    }

    pub(super) fn track_process(&mut self, n: &Node) {
        let Some(name) = self.name_of(n) else { return };
        let mut p = TrackProcess {
            name,
            process: Vec::new(),
            param_match: None,
            weight: 0,
            reverse: false,
            quorum: 1,
            quorum_max: None,
            delay: None,
            full_command: false,
        };
        for c in self.block(n) {
            match c.kw.text.as_str() {
                "process" => {
                    self.no_block(c);
                    p.process = c.args.iter().map(|t| t.text.clone()).collect();
                }
                "param_match" => {
                    if let Some(t) = self.arg(c) {
                        if t.text == "initial" || t.text == "partial" {
                            p.param_match = Some(t.text.clone());
                        } else {
                            self.warn(
                                &t.loc,
                                format!(
                                    "'param_match' expects initial or partial, got '{}'; ignored",
                                    t.text
                                ),
                            );
                        }
                    }
                }
                "weight" => {
                    if let Some((w, r)) = self.weight(c, 254) {
                        p.weight = w;
                        p.reverse = r;
                    }
                }
                "quorum" => {
                    if let Some(v) = self.u32_of(c, 1, 65535) {
                        p.quorum = v;
                    }
                }
                "quorum_max" => p.quorum_max = self.u32_of(c, 1, 65535),
                "delay" | "fork_delay" | "terminate_delay" => {
                    if c.kw.text != "delay" {
                        self.warn(
                            &c.kw.loc,
                            format!("'{}' is treated as 'delay' by vrrpd", c.kw.text),
                        );
                    }
                    p.delay = self.secs(c);
                }
                "full_command" => p.full_command = self.boolean(c),
                _ => self.unknown(c, "vrrp_track_process"),
            }
        }
        if p.process.is_empty() {
            self.warn(
                &n.kw.loc,
                format!("track process '{}' has no 'process'; ignored", p.name),
            );
            return;
        }
        self.cfg.track_processes.push(p);
    }

    /// vrrpd's extension blocks `vrrpd_http_check NAME { ... }` and
    /// `vrrpd_tcp_check NAME { ... }` (keepalived warns about and skips them).
    pub(super) fn probe(&mut self, n: &Node, kind: ProbeKind) {
        let Some(name) = self.name_of(n) else { return };
        let mut p = Probe::new(name, kind);
        for c in self.block(n) {
            match (c.kw.text.as_str(), kind) {
                ("url", ProbeKind::Http) => p.url = self.string(c),
                ("status_code", ProbeKind::Http) => {
                    self.no_block(c);
                    p.status = c.args.iter().map(|t| t.text.clone()).collect();
                }
                ("body_contains", ProbeKind::Http) => p.body_contains = self.string(c),
                ("host", ProbeKind::Http) => p.host = self.string(c),
                ("tls_verify", ProbeKind::Http) => p.tls_verify = self.boolean(c),
                ("connect", ProbeKind::Tcp) => p.connect = self.string(c),
                ("interval", _) => {
                    if let Some(v) = self.secs(c) {
                        p.interval = v;
                    }
                }
                ("timeout", _) => p.timeout = self.secs(c),
                ("weight", _) => {
                    if let Some((w, r)) = self.weight(c, 253) {
                        p.weight = w;
                        p.reverse = r;
                    }
                }
                ("rise", _) => {
                    if let Some(v) = self.u32_of(c, 1, 1_000_000) {
                        p.rise = v;
                    }
                }
                ("fall", _) => {
                    if let Some(v) = self.u32_of(c, 1, 1_000_000) {
                        p.fall = v;
                    }
                }
                ("init_fail", _) => p.init_fail = self.boolean(c),
                _ => self.unknown(c, &n.kw.text),
            }
        }
        self.cfg.probes.push(p);
    }

    /// A `vrrp_script` `interval` or `timeout`: seconds to the millisecond
    /// (keepalived 2.3.2 reads three decimals; 2.2 whole seconds only, and
    /// it ignores a fraction with an error, keeping the default). Finer
    /// values are truncated to the millisecond, with a warning.
    fn script_secs(&mut self, n: &Node) -> Option<Secs> {
        let v = self.secs(n)?;
        let micros = v.as_micros();
        if micros % 1000 != 0 {
            let ms = Secs::from_micros(micros - micros % 1000);
            let at = n.args.first().map_or(&n.kw.loc, |t| &t.loc).clone();
            self.warn(
                &at,
                format!(
                    "'{}' {v}: keepalived reads milliseconds; using {ms}",
                    n.kw.text
                ),
            );
            return Some(ms);
        }
        Some(v)
    }
}
