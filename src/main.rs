//! The `vrrpd` binary. The daemon itself lands with the Linux adapters.

fn main() {
    eprintln!(
        "vrrpd {}: only the protocol library exists so far; the daemon is not built yet",
        env!("CARGO_PKG_VERSION")
    );
    std::process::exit(2);
}
