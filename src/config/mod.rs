//! Configuration: one validated model, two front ends (keepalived.conf and
//! native TOML), located diagnostics, and the reload diff.
//!
//! Pure: the caller supplies a [`FileSource`]; only [`FsSource`] touches the
//! disk. Typical use:
//!
//! ```no_run
//! use vrrpd::config::{load, FsSource, LoadOptions};
//! let loaded = load("/etc/keepalived/keepalived.conf".as_ref(), &FsSource, &LoadOptions::default());
//! for d in &loaded.diagnostics { eprintln!("{d}"); }
//! assert!(!loaded.has_errors());
//! ```

pub mod auth_hmac;
pub mod cloud;
mod diff;
mod host;
mod keepalived;
mod lexer;
mod model;
mod route;
mod source;
mod toml;
mod units;
mod validate;
mod vmac_addr;

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

pub use diff::{diff, InstanceChange, ReloadPlan};
pub use host::{host_checks, HostAddrs};
pub use model::*;
pub use route::*;
pub use source::{FileSource, FsSource, MemSource};
pub use units::{mac_problem, parse_mac, pass_auth, password_text, Secs};

/// A position in a configuration file (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Loc {
    pub file: Arc<str>,
    pub line: u32,
    pub col: u32,
}

impl Loc {
    pub fn new(file: Arc<str>, line: u32, col: u32) -> Loc {
        Loc { file, line, col }
    }
}

/// 1-based line and column of byte `offset` in `text` (clamped to its end).
pub(crate) fn line_col(text: &[u8], offset: usize) -> (u32, u32) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = offset
        - before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1)
        + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(col).unwrap_or(u32::MAX),
    )
}

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// keepalived accepts this with a default or by ignoring it; vrrpd does the same.
    Warning,
    /// The configuration cannot be used.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One located message: `FILE:LINE:COL: error|warning: message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: String,
    pub line: u32,
    pub col: u32,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.file, self.line, self.col, self.severity, self.message
        )
    }
}

/// Collects diagnostics, keeping at most a bounded number.
#[derive(Debug, Default)]
pub struct Diags {
    list: Vec<Diagnostic>,
    max: usize,
    dropped: usize,
    errors: usize,
}

impl Diags {
    fn new(max: usize) -> Diags {
        Diags {
            max,
            ..Diags::default()
        }
    }

    fn push(&mut self, severity: Severity, loc: &Loc, message: impl Into<String>) {
        if severity == Severity::Error {
            self.errors += 1;
        }
        if self.list.len() >= self.max {
            self.dropped += 1;
            return;
        }
        self.list.push(Diagnostic {
            severity,
            file: loc.file.to_string(),
            line: loc.line,
            col: loc.col,
            message: message.into(),
        });
    }

    pub(crate) fn error(&mut self, loc: &Loc, message: impl Into<String>) {
        self.push(Severity::Error, loc, message);
    }

    pub(crate) fn warning(&mut self, loc: &Loc, message: impl Into<String>) {
        self.push(Severity::Warning, loc, message);
    }

    fn finish(mut self, file: &str) -> Vec<Diagnostic> {
        // Stable: same-place diagnostics keep their order of discovery.
        self.list
            .sort_by(|a, b| (&a.file, a.line, a.col).cmp(&(&b.file, b.line, b.col)));
        if self.dropped > 0 {
            let severity = if self.errors > 0 {
                Severity::Error
            } else {
                Severity::Warning
            };
            self.list.push(Diagnostic {
                severity,
                file: file.to_string(),
                line: 1,
                col: 1,
                message: format!("{} more diagnostics not shown", self.dropped),
            });
        }
        self.list
    }
}

/// Bounds that keep hostile input cheap.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Bytes of all files together.
    pub max_total_bytes: u64,
    /// Files read, including the root.
    pub max_files: usize,
    /// Include nesting.
    pub max_include_depth: usize,
    /// `{` nesting.
    pub max_block_depth: usize,
    /// Length of one line after parameter expansion.
    pub max_line_len: usize,
    /// Diagnostics reported before the rest are counted only.
    pub max_diagnostics: usize,
    /// Lines after includes, parameters and `~SEQ` repetition.
    pub max_lines: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_total_bytes: 16 << 20,
            max_files: 1000,
            max_include_depth: 16,
            max_block_depth: 32,
            max_line_len: 64 << 10,
            max_diagnostics: 500,
            max_lines: 200_000,
        }
    }
}

/// Which front end reads a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Syntax {
    /// `.toml` extension or TOML-looking content, else keepalived.
    #[default]
    Auto,
    Toml,
    Keepalived,
}

/// How to load a configuration.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    pub syntax: Syntax,
    /// keepalived's config id for `@id` lines (default: short host name, chosen by the caller).
    pub config_id: Option<String>,
    pub limits: Limits,
    /// The environment `${_ENV NAME}` reads (keepalived 2.3). Empty by
    /// default, so loading stays pure; the command line passes the
    /// process's own.
    pub env: std::collections::HashMap<String, String>,
}

/// The result of loading: the model (usable only without errors) and every diagnostic.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    /// The front end that was used.
    pub syntax: Syntax,
    pub diagnostics: Vec<Diagnostic>,
    /// Where instances and their fields were written, for later located messages.
    pub spans: Spans,
}

impl Loaded {
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }

    pub fn warnings(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .count()
    }
}

/// Locations of model parts, for cross-checks that run on the finished model.
#[derive(Debug, Clone)]
pub struct Spans {
    pub file: Loc,
    /// Per instance: where it starts, and where each field was set.
    pub instances: Vec<InstanceSpans>,
    /// Per sync group (in `Config::sync_groups` order): where it starts.
    pub groups: Vec<Loc>,
    /// Where global keywords were set (keepalived.conf: `notify_fifo`,
    /// `vrrp_notify_fifo` and their scripts).
    pub global: std::collections::HashMap<&'static str, Loc>,
    /// Where each entry of a top-level list was written (`static_route`,
    /// `static_rule`), in the model's order.
    pub top_entries: std::collections::HashMap<&'static str, Vec<Loc>>,
}

#[derive(Debug, Clone, Default)]
pub struct InstanceSpans {
    pub block: Option<Loc>,
    pub fields: std::collections::HashMap<&'static str, Loc>,
    /// Per list field (`vips`, `excluded_vips`, `unicast_peers`,
    /// `track_interfaces`, `track_scripts`, `track_files`,
    /// `track_processes`, `track_probes`): where each entry was written, in
    /// the model's order, so a message about one entry points at it rather
    /// than at the block that holds it.
    pub entries: std::collections::HashMap<&'static str, Vec<Loc>>,
}

impl Spans {
    /// Where entry `k` of top-level list `field` was written, else the file.
    pub fn top_entry(&self, field: &str, k: usize) -> Loc {
        self.top_entries
            .get(field)
            .and_then(|l| l.get(k))
            .unwrap_or(&self.file)
            .clone()
    }

    /// Where field `field` of instance `i` was set, else the instance, else the file.
    pub fn instance(&self, i: usize, field: &str) -> Loc {
        self.instances
            .get(i)
            .and_then(|s| s.fields.get(field).or(s.block.as_ref()))
            .unwrap_or(&self.file)
            .clone()
    }

    /// Where entry `k` of list `field` of instance `i` was written, else
    /// where the list was ([`Spans::instance`]).
    pub fn entry(&self, i: usize, field: &str, k: usize) -> Loc {
        self.instances
            .get(i)
            .and_then(|s| s.entries.get(field))
            .and_then(|l| l.get(k))
            .cloned()
            .unwrap_or_else(|| self.instance(i, field))
    }
}

/// Loads, parses and validates the configuration at `path`.
pub fn load(path: &Path, source: &dyn FileSource, opts: &LoadOptions) -> Loaded {
    let file = path.display().to_string();
    let mut diags = Diags::new(opts.limits.max_diagnostics);
    let syntax = match opts.syntax {
        Syntax::Auto => detect(path, source),
        s => s,
    };
    let (mut config, mut spans) = match syntax {
        Syntax::Toml => toml::parse(path, source, &opts.limits, &mut diags),
        _ => keepalived::parse(path, source, opts, &mut diags),
    };
    if syntax == Syntax::Toml {
        // Native files are strict: a `use_vmac` keepalived would ignore is
        // an error there (the keepalived front end warns, as keepalived).
        vmac_addr::resolve_all(&mut config, &mut |i, (list, k), msg| {
            diags.error(&spans.entry(i, list, k), msg)
        });
    } else {
        apply_side_file(
            path,
            source,
            &opts.limits,
            &mut config,
            &mut spans,
            &mut diags,
        );
    }
    validate::validate(&config, &spans, &mut diags);
    Loaded {
        config,
        syntax: if syntax == Syntax::Toml {
            Syntax::Toml
        } else {
            Syntax::Keepalived
        },
        diagnostics: diags.finish(&file),
        spans,
    }
}

/// A keepalived.conf's vrrpd-only settings ([`cloud::SIDE_FILE`] next to
/// it): keepalived never reads that file, so it still accepts the main one.
fn apply_side_file(
    path: &Path,
    source: &dyn FileSource,
    limits: &Limits,
    config: &mut Config,
    spans: &mut Spans,
    d: &mut Diags,
) {
    let side = cloud::side_file(path);
    let data = match source.read(&side, limits.max_total_bytes) {
        Ok(data) => data,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => {
            let at = Loc::new(Arc::from(side.display().to_string()), 1, 1);
            d.error(&at, format!("cannot read '{}': {e}", side.display()));
            return;
        }
    };
    let file = side.display().to_string();
    let Ok(text) = std::str::from_utf8(&data) else {
        d.error(&Loc::new(Arc::from(file), 1, 1), "invalid UTF-8");
        return;
    };
    let parsed = cloud::parse_side(&file, text, d);
    for (name, settings) in parsed.by_name {
        let at = parsed
            .at
            .get(&name)
            .cloned()
            .unwrap_or_else(|| Loc::new(Arc::from(file.as_str()), 1, 1));
        match config.instances.iter().position(|i| i.name == name) {
            Some(i) => {
                Arc::make_mut(&mut config.instances[i]).cloud = Some(Box::new(settings));
                if spans.instances.len() <= i {
                    spans.instances.resize_with(i + 1, InstanceSpans::default);
                }
                spans.instances[i].fields.insert("cloud", at);
            }
            None => d.error(
                &at,
                format!(
                    "no vrrp_instance {name} in {}: the cloud settings name an instance of the main file",
                    path.display()
                ),
            ),
        }
    }
}

/// Loads from a string, for tests and tools (`name` is used in diagnostics).
pub fn load_str(name: &str, text: &str, opts: &LoadOptions) -> Loaded {
    let src = MemSource::new().with(name, text.as_bytes());
    load(Path::new(name), &src, opts)
}

/// `.toml` files, or content whose first statement looks like TOML.
fn detect(path: &Path, source: &dyn FileSource) -> Syntax {
    if path.extension().is_some_and(|e| e == "toml") {
        return Syntax::Toml;
    }
    let head = source.read(path, 64 << 10).unwrap_or_default();
    let text = String::from_utf8_lossy(&head);
    for line in text.lines() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') || l.starts_with('!') {
            continue;
        }
        let first = l.split_whitespace().next().unwrap_or("");
        let tomlish = l.starts_with('[')
            || (!first.starts_with('$')
                && l.split_once('=')
                    .is_some_and(|(k, _)| !k.trim().is_empty() && !k.trim().contains(' ')));
        return if tomlish {
            Syntax::Toml
        } else {
            Syntax::Keepalived
        };
    }
    Syntax::Keepalived
}

/// The native TOML text of a model (what `vrrpd convert` prints).
pub fn to_toml(config: &Config) -> Result<String, ConvertError> {
    ::toml::to_string(config).map_err(ConvertError)
}

/// The model could not be written as TOML.
#[derive(Debug, thiserror::Error)]
#[error("cannot write TOML: {0}")]
pub struct ConvertError(#[from] ::toml::ser::Error);
