//! The native TOML front end: strict serde with `deny_unknown_fields`; a
//! field that does not parse is an error, never a default.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use super::model::Config;
use super::source::FileSource;
use super::{line_col, Diags, InstanceSpans, Limits, Loc, Spans};

pub(super) fn parse(
    path: &Path,
    src: &dyn FileSource,
    limits: &Limits,
    d: &mut Diags,
) -> (Config, Spans) {
    let name: Arc<str> = Arc::from(path.display().to_string());
    let file = Loc::new(name.clone(), 1, 1);
    let empty = |file: Loc| {
        (
            Config::default(),
            Spans {
                file,
                instances: Vec::new(),
                groups: Vec::new(),
                global: Default::default(),
                top_entries: Default::default(),
            },
        )
    };
    let data = match src.read(path, limits.max_total_bytes) {
        Ok(b) => b,
        Err(e) => {
            d.error(&file, format!("cannot read '{}': {e}", path.display()));
            return empty(file);
        }
    };
    if data.len() as u64 > limits.max_total_bytes {
        d.error(
            &file,
            format!(
                "configuration larger than the {}-byte limit",
                limits.max_total_bytes
            ),
        );
        return empty(file);
    }
    let text = match std::str::from_utf8(&data) {
        Ok(t) => t,
        Err(e) => {
            let (line, col) = line_col(&data, e.valid_up_to());
            d.error(
                &Loc::new(name, line, col),
                "invalid UTF-8: not a text configuration file",
            );
            return empty(file);
        }
    };
    match ::toml::from_str::<Config>(text) {
        Ok(mut cfg) => {
            let spans = spans(text, &name, cfg.instances.len());
            for (i, inst) in cfg.instances.iter_mut().enumerate() {
                if inst.auth_hmac.is_some() {
                    let inst = Arc::make_mut(inst);
                    let Some(a) = &mut inst.auth_hmac else {
                        continue;
                    };
                    let at = spans.instance(i, "auth_hmac");
                    let name = inst.name.clone();
                    super::auth_hmac::read_key_files(a, src, &name, &at, d);
                }
            }
            (cfg, spans)
        }
        Err(e) => {
            let (line, col) = e
                .span()
                .map(|s| line_col(text.as_bytes(), s.start))
                .unwrap_or((1, 1));
            let msg = e.message().trim().replace('\n', " ");
            d.error(&Loc::new(name, line, col), msg);
            empty(file)
        }
    }
}

/// The list fields of an instance whose entries are located one by one.
const LIST_FIELDS: [&str; 10] = [
    "vips",
    "excluded_vips",
    "unicast_peers",
    "track_interfaces",
    "track_scripts",
    "track_files",
    "track_processes",
    "track_probes",
    "virtual_routes",
    "virtual_rules",
];

/// Locates `[[instance]]` tables and their keys by scanning the text; enough
/// for cross-check messages to point at the right line.
fn spans(text: &str, name: &Arc<str>, count: usize) -> Spans {
    let mut out: Vec<InstanceSpans> = Vec::new();
    let mut top: HashMap<&'static str, Vec<Loc>> = HashMap::new();
    let mut in_instance = false;
    for (i, raw) in text.lines().enumerate() {
        let line = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let l = raw.trim();
        if l.starts_with('[') {
            // `[[instance.vips]]` and its siblings: one entry of a list of
            // the last `[[instance]]`, located for per-entry messages.
            let entry = l
                .strip_prefix("[[instance.")
                .and_then(|r| r.strip_suffix("]]"))
                .and_then(|k| LIST_FIELDS.iter().find(|f| **f == k.trim()));
            if let (Some(field), Some(cur)) = (entry, out.last_mut()) {
                let col = raw.len() - raw.trim_start().len() + 1;
                cur.entries.entry(field).or_default().push(Loc::new(
                    name.clone(),
                    line,
                    u32::try_from(col).unwrap_or(1),
                ));
            }
            for (table, field) in [
                ("[[static_route]]", "static_routes"),
                ("[[static_rule]]", "static_rules"),
                ("[[static_address]]", "static_addresses"),
                ("[[interface_delay]]", "interface_delays"),
            ] {
                if l.starts_with(table) {
                    let col = raw.len() - raw.trim_start().len() + 1;
                    top.entry(field).or_default().push(Loc::new(
                        name.clone(),
                        line,
                        u32::try_from(col).unwrap_or(1),
                    ));
                }
            }
            if let (true, Some(cur)) = (l.starts_with("[instance.cloud]"), out.last_mut()) {
                cur.fields.insert("cloud", Loc::new(name.clone(), line, 1));
            }
            if let (true, Some(cur)) = (l.starts_with("[instance.auth_hmac]"), out.last_mut()) {
                cur.fields
                    .insert("auth_hmac", Loc::new(name.clone(), line, 1));
            }
            in_instance = l.starts_with("[[instance]]");
            if in_instance {
                out.push(InstanceSpans {
                    block: Some(Loc::new(name.clone(), line, 1)),
                    fields: HashMap::new(),
                    entries: HashMap::new(),
                });
            }
            continue;
        }
        if !in_instance {
            continue;
        }
        if let (Some((key, _)), Some(cur)) = (l.split_once('='), out.last_mut()) {
            let key = key.trim();
            let field = match key {
                "name" => "name",
                "vrid" => "vrid",
                "priority" => "priority",
                "advert_int" => "advert_int",
                "version" => "version",
                "interface" => "interface",
                "unicast_src" => "unicast_src",
                "unicast_peers" => "unicast_peers",
                "vips" => "vips",
                "track_scripts" => "track_scripts",
                "state" => "state",
                _ => continue,
            };
            let col = raw.len() - raw.trim_start().len() + 1;
            cur.fields.insert(
                field,
                Loc::new(name.clone(), line, u32::try_from(col).unwrap_or(1)),
            );
        }
    }
    out.resize_with(count.max(out.len()), InstanceSpans::default);
    Spans {
        file: Loc::new(name.clone(), 1, 1),
        instances: out,
        groups: Vec::new(),
        global: HashMap::new(),
        top_entries: top,
    }
}
