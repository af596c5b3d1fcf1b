//! Hostile input ends in a clear error or a result: no panic, bounded time and memory.

use std::path::Path;
use std::time::{Duration, Instant};

use vrrpd::config::{load, load_str, FsSource, LoadOptions, Loaded, MemSource, Severity};

/// Catches a runaway expansion (the inputs here would produce 10^12 lines
/// unbounded), not slowness: these take 1-3 s in a debug build, and a loaded
/// 2-core CI machine must not fail them.
fn quick<F: FnOnce() -> Loaded>(f: F) -> Loaded {
    let t = Instant::now();
    let l = f();
    assert!(
        t.elapsed() < Duration::from_secs(120),
        "took {:?}",
        t.elapsed()
    );
    l
}

fn has_error(l: &Loaded, needle: &str) -> bool {
    l.diagnostics
        .iter()
        .any(|d| d.severity == Severity::Error && d.message.contains(needle))
}

/// Deterministic pseudo-random bytes (xorshift), no dependency needed.
fn noise(n: usize, mut seed: u64) -> Vec<u8> {
    (0..n)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect()
}

#[test]
fn binary_garbage_is_rejected_with_a_location() {
    for seed in 1..20u64 {
        let src = MemSource::new().with("/g.conf", noise(64 << 10, seed));
        let l = quick(|| load(Path::new("/g.conf"), &src, &LoadOptions::default()));
        assert!(l.has_errors());
    }
    let src = MemSource::new().with("/g.conf", b"vrrp_instance X {\n  \xff\xfe\n".to_vec());
    let l = load(Path::new("/g.conf"), &src, &LoadOptions::default());
    let d = l
        .diagnostics
        .iter()
        .find(|d| d.message.contains("UTF-8"))
        .unwrap();
    assert_eq!((d.line, d.col, d.severity), (2, 3, Severity::Error));
}

#[test]
fn printable_garbage_gives_bounded_diagnostics() {
    let alphabet = b"{}\"'#!$@ \n\tabcxyz_0123456789./:";
    for seed in 1..30u64 {
        let text: String = noise(200_000, seed)
            .into_iter()
            .map(|b| alphabet[b as usize % alphabet.len()] as char)
            .collect();
        let l = quick(|| load_str("/p.conf", &text, &LoadOptions::default()));
        assert!(l.diagnostics.len() <= LoadOptions::default().limits.max_diagnostics + 1);
    }
}

#[test]
fn a_100_mb_file_is_refused_without_reading_it_all() {
    let dir = std::env::temp_dir().join(format!("vrrpd-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("huge.conf");
    let f = std::fs::File::create(&path).unwrap();
    f.set_len(100 << 20).unwrap(); // sparse: costs no disk
    let l = quick(|| load(&path, &FsSource, &LoadOptions::default()));
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(has_error(&l, "byte limit"), "{:#?}", l.diagnostics);
}

#[test]
fn ten_thousand_nested_braces() {
    let text = "a {\n".repeat(10_000) + &"}\n".repeat(10_000);
    let l = quick(|| load_str("/n.conf", &text, &LoadOptions::default()));
    assert!(has_error(&l, "nested deeper than 32"));
    let text = "{".repeat(10_000);
    let l = quick(|| load_str("/n.conf", &text, &LoadOptions::default()));
    assert!(l.has_errors());
}

#[test]
fn self_include_and_long_cycles() {
    let src = MemSource::new().with("/k.conf", "include /k.conf\n");
    let l = quick(|| load(Path::new("/k.conf"), &src, &LoadOptions::default()));
    assert!(has_error(&l, "include cycle: /k.conf -> /k.conf"));
    // Every file includes every file: cycles everywhere, still bounded.
    let mut src = MemSource::new();
    for i in 0..50 {
        src.insert(format!("/d/{i}.conf"), "include *.conf\n");
    }
    let l = quick(|| load(Path::new("/d/0.conf"), &src, &LoadOptions::default()));
    assert!(l.has_errors());
}

#[test]
fn glob_matching_thousands_of_files() {
    let mut src = MemSource::new().with("/etc/k.conf", "include conf.d/*.conf\n");
    for i in 0..5000 {
        src.insert(format!("/etc/conf.d/{i:05}.conf"), "global_defs {\n}\n");
    }
    let l = quick(|| load(Path::new("/etc/k.conf"), &src, &LoadOptions::default()));
    assert!(
        has_error(&l, "matches more than the 1000 files allowed"),
        "{:#?}",
        l.diagnostics
    );
    // Within the limit it is simply a result.
    let mut src = MemSource::new().with("/etc/k.conf", "include conf.d/*.conf\n");
    for i in 0..900 {
        src.insert(format!("/etc/conf.d/{i:05}.conf"), "global_defs {\n}\n");
    }
    let l = quick(|| load(Path::new("/etc/k.conf"), &src, &LoadOptions::default()));
    assert!(!l.has_errors());
}

#[test]
fn exponential_parameter_expansion_is_cut() {
    let mut text = String::from("$A0=xxxxxxxxxxxxxxxx\n");
    for i in 1..15 {
        text.push_str(&format!("$A{i}=${{A{}}}${{A{}}}\n", i - 1, i - 1));
    }
    text.push_str("router_id ${A14}\n");
    let l = quick(|| load_str("/m.conf", &text, &LoadOptions::default()));
    assert!(has_error(&l, "longer than"), "{:#?}", l.diagnostics);
    let l = quick(|| {
        load_str(
            "/m.conf",
            "$A=${A}x\nrouter_id ${A}\n",
            &LoadOptions::default(),
        )
    });
    assert!(has_error(&l, "nested more than 16"));
}

#[test]
fn hostile_toml() {
    let text = "[global]\n".to_string() + &"a = [".repeat(10_000);
    let l = quick(|| load_str("/x.toml", &text, &LoadOptions::default()));
    assert!(l.has_errors());
}

#[test]
fn nested_seq_is_bounded() {
    let text = "~SEQ(a, 1, 10000) ~SEQ(b, 1, 10000) ~SEQ(c, 1, 10000) router_id x${a}${b}${c}\n";
    let l = quick(|| load_str("/s.conf", text, &LoadOptions::default()));
    assert!(
        has_error(&l, "more than 200000 lines"),
        "{:#?}",
        l.diagnostics
    );
}
