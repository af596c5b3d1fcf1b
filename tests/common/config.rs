//! Loading configuration text for the config tests, and finding one
//! diagnostic in what the load said.
#![allow(dead_code)]

use vrrpd::config::{load_str, Diagnostic, LoadOptions, Loaded, Syntax};

/// keepalived.conf text, as `/k.conf`.
pub fn keepalived(text: &str) -> Loaded {
    load_str("/k.conf", text, &LoadOptions::default())
}

/// Native TOML text, as `/etc/vrrpd.toml`.
pub fn toml(text: &str) -> Loaded {
    let opts = LoadOptions {
        syntax: Syntax::Toml,
        ..LoadOptions::default()
    };
    load_str("/etc/vrrpd.toml", text, &opts)
}

/// The one diagnostic whose message contains `needle` (fails on none or several).
pub fn only_diagnostic<'a>(l: &'a Loaded, needle: &str) -> &'a Diagnostic {
    let found: Vec<&Diagnostic> = l
        .diagnostics
        .iter()
        .filter(|d| d.message.contains(needle))
        .collect();
    assert_eq!(found.len(), 1, "'{needle}' in {:#?}", l.diagnostics);
    found[0]
}
