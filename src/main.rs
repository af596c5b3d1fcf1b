//! The `vrrpd` binary: a thin clap front over the library.

mod assets;
mod cli;
mod logging;

fn main() {
    std::process::exit(cli::run());
}
