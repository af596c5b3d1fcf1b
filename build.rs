//! Link option for the `vrrpd` binary only: packed relative relocations.
//!
//! A PIE's relative relocations (R_X86_64_RELATIVE, 24 bytes each in
//! `.rela.dyn`) are read by ld.so at every start, so their pages are resident
//! for the life of the process: about 180 KB for vrrpd. DT_RELR encodes the
//! same relocations as a bitmap of a few KB (`-z pack-relative-relocs`, GNU ld
//! 2.38+, lld 15+). glibc applies DT_RELR from 2.36 (Debian 12) and the linker
//! then records the GLIBC_ABI_DT_RELR version, so an older ld.so refuses the
//! binary with a clear message; we only ask for it when the build host's glibc
//! (the one the binary will run against) has it.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    let host = std::env::var("HOST").unwrap_or_default();
    let gnu_linux = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
        && std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("gnu");
    if gnu_linux && target == host && host_glibc_at_least(2, 36) {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
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
