#![no_main]
//! Native TOML front end: no panic on any input.

use libfuzzer_sys::fuzz_target;
use vrrpd::config::{load_str, LoadOptions, Syntax};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let opts = LoadOptions {
            syntax: Syntax::Toml,
            ..LoadOptions::default()
        };
        let _ = load_str("/f.toml", text, &opts);
    }
});
