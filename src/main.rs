//! The `vrrpd` binary: a thin clap front over the library. The daemon itself
//! lands with the Linux adapters; `check` and `convert` work today.

mod cli;

fn main() {
    std::process::exit(cli::run());
}
