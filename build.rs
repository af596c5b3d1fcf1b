//! Link options for the `vrrpd` binary only.
//!
//! Packed relative relocations.
//! A PIE's relative relocations (R_X86_64_RELATIVE, 24 bytes each in
//! `.rela.dyn`) are read by ld.so at every start, so their pages are resident
//! for the life of the process: about 180 KB for vrrpd. DT_RELR encodes the
//! same relocations as a bitmap of a few KB (`-z pack-relative-relocs`, GNU ld
//! 2.38+, lld 15+). glibc applies DT_RELR from 2.36 (Debian 12) and the linker
//! then records the GLIBC_ABI_DT_RELR version, so an older ld.so refuses the
//! binary with a clear message; we only ask for it when the build host's glibc
//! (the one the binary will run against) has it.
//!
//! The steady state's code together (release builds). The kernel maps a
//! binary's cached pages 64 KB around every page a process touches
//! (fault-around), so what counts in the RSS and PSS of an idle daemon is
//! every 64 KB window that holds any function it runs: spread over the
//! 4 MB of text by the linker's order, the adverts, timers and socket code
//! of 1000 instances kept 2.4 MB of it mapped. `link/steady-state.txt`
//! names those functions (made by `scripts/hot-text.sh`, which measures
//! them); a linker script puts them first, in an output section of their
//! own (`.text.steady`, before `.text`), so they share a few windows:
//! 0.85 MB mapped. A name that no longer exists matches nothing and only
//! costs that function's window. GNU ld only (`INSERT`): skipped when the
//! flags pick another linker, or with `VRRPD_STEADY_TEXT=0`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=link/steady-state.txt");
    println!("cargo:rerun-if-env-changed=VRRPD_STEADY_TEXT");
    let target = std::env::var("TARGET").unwrap_or_default();
    let host = std::env::var("HOST").unwrap_or_default();
    let gnu_linux = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
        && std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("gnu");
    if gnu_linux && target == host && host_glibc_at_least(2, 36) {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    if gnu_linux && wants_steady_text() {
        match steady_text_script() {
            Ok(script) => println!("cargo:rustc-link-arg-bins=-Wl,-T,{}", script.display()),
            Err(e) => println!("cargo:warning=steady-state code not grouped: {e}"),
        }
    }
}

/// Release builds with GNU ld (the default `cc` linker), unless turned off.
fn wants_steady_text() -> bool {
    if std::env::var("VRRPD_STEADY_TEXT").as_deref() == Ok("0") {
        return false;
    }
    if std::env::var("PROFILE").as_deref() != Ok("release") {
        return false;
    }
    // lld and mold do not take a script with INSERT the same way.
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    !flags.contains("fuse-ld") && !flags.contains("linker-flavor")
}

/// Writes the linker script for `link/steady-state.txt` into OUT_DIR.
fn steady_text_script() -> std::io::Result<PathBuf> {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").map_err(std::io::Error::other)?;
    let list = std::fs::read_to_string(Path::new(&manifest).join("link/steady-state.txt"))?;
    let mut script = String::from("SECTIONS\n{\n  .text.steady : ALIGN(64)\n  {\n");
    for name in list
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        // A half-edited line (a space, a parenthesis, a quote) would make
        // the whole script, and so the release link, fail: skipped, said.
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_$.*?".contains(c))
        {
            println!("cargo:warning=link/steady-state.txt: {name:?} is not a symbol name or glob; skipped");
            continue;
        }
        // A cold function (`.text.unlikely.` under LTO) that the steady
        // state still calls belongs here as well.
        script.push_str(&format!(
            "    *(.text.{name} .text.hot.{name} .text.unlikely.{name})\n"
        ));
    }
    script.push_str("  }\n}\nINSERT BEFORE .text;\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").map_err(std::io::Error::other)?)
        .join("steady-state.ld");
    std::fs::write(&out, script)?;
    Ok(out)
}

/// `getconf GNU_LIBC_VERSION` prints e.g. "glibc 2.36".
fn host_glibc_at_least(major: u32, minor: u32) -> bool {
    let Ok(out) = Command::new("getconf").arg("GNU_LIBC_VERSION").output() else {
        return false;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let Some(version) = text.trim().strip_prefix("glibc ") else {
        return false;
    };
    let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(ma), Some(mi)) => (ma, mi) >= (major, minor),
        _ => false,
    }
}
