//! The `vrrpd` binary: a thin clap front over the library.

mod cli;

fn main() {
    std::process::exit(cli::run());
}
