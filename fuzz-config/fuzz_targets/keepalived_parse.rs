#![no_main]
//! keepalived.conf front end: no panic on any input, and convert-then-load
//! identity whenever the input is valid.

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use vrrpd::config::{load, load_str, to_toml, LoadOptions, MemSource, Syntax};

fuzz_target!(|data: &[u8]| {
    // Main file, then (after the first NUL) a file it may include.
    let (main, inc) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let src = MemSource::new()
        .with("/etc/keepalived/keepalived.conf", main)
        .with("/etc/keepalived/inc.conf", inc)
        .with("/etc/keepalived/conf.d/a.conf", inc);
    let opts = LoadOptions {
        syntax: Syntax::Keepalived,
        config_id: Some("node1".into()),
        ..LoadOptions::default()
    };
    let loaded = load(Path::new("/etc/keepalived/keepalived.conf"), &src, &opts);
    for d in &loaded.diagnostics {
        assert!(d.line >= 1 && d.col >= 1, "unlocated diagnostic {d}");
    }
    if loaded.has_errors() {
        return;
    }
    let text = to_toml(&loaded.config).expect("a valid model converts to TOML");
    let back = load_str(
        "/converted.toml",
        &text,
        &LoadOptions {
            syntax: Syntax::Toml,
            ..LoadOptions::default()
        },
    );
    assert!(!back.has_errors(), "{:?}\n{text}", back.diagnostics);
    assert_eq!(back.config, loaded.config, "{text}");
});
