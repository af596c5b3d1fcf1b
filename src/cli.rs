//! Command line: `check`, `convert`, and keepalived's `-t -f FILE` spelling.

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};
use vrrpd::config::{self, FsSource, LoadOptions, Loaded, Syntax};

/// keepalived's default configuration path, so `vrrpd -t` checks what keepalived would run.
const DEFAULT_FILE: &str = "/etc/keepalived/keepalived.conf";

/// Exit status for a configuration with errors (keepalived -t's "fatal").
const EXIT_CONFIG: i32 = 4;

#[derive(Parser, Debug)]
#[command(
    name = "vrrpd",
    version,
    about = "VRRP failover daemon, a drop-in for keepalived's VRRP side"
)]
struct Cli {
    /// Check the configuration and exit, as `keepalived -t`.
    #[arg(short = 't', long = "config-test")]
    config_test: bool,
    /// Configuration file (keepalived's `-f/--use-file`).
    #[arg(short = 'f', long = "use-file", value_name = "FILE")]
    file: Option<PathBuf>,
    /// Id selecting `@id` conditional lines (default: short host name).
    #[arg(short = 'i', long = "config-id", value_name = "ID")]
    config_id: Option<String>,
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Parse and validate a configuration without touching the network.
    Check {
        /// Configuration file.
        #[arg(short = 'f', long = "file", value_name = "FILE")]
        file: Option<PathBuf>,
        /// Output: located diagnostics as text, or one JSON document.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Front end; `auto` detects TOML by extension or content.
        #[arg(long, value_enum, default_value_t = SyntaxArg::Auto)]
        syntax: SyntaxArg,
        /// Id selecting `@id` conditional lines (default: short host name).
        #[arg(long = "config-id", value_name = "ID")]
        config_id: Option<String>,
    },
    /// Print the native TOML equivalent of a configuration.
    Convert {
        /// keepalived.conf (or TOML) to convert.
        file: PathBuf,
        /// Id selecting `@id` conditional lines (default: short host name).
        #[arg(long = "config-id", value_name = "ID")]
        config_id: Option<String>,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum SyntaxArg {
    Auto,
    Toml,
    Keepalived,
}

/// Runs the command line; returns the process exit status.
pub fn run() -> i32 {
    let cli = Cli::parse();
    match cli.command {
        Some(Cmd::Check {
            file,
            format,
            syntax,
            config_id,
        }) => {
            let syntax = match syntax {
                SyntaxArg::Auto => Syntax::Auto,
                SyntaxArg::Toml => Syntax::Toml,
                SyntaxArg::Keepalived => Syntax::Keepalived,
            };
            let path = file.or(cli.file).unwrap_or_else(|| DEFAULT_FILE.into());
            check(&path, format, syntax, config_id.or(cli.config_id))
        }
        Some(Cmd::Convert { file, config_id }) => convert(&file, config_id.or(cli.config_id)),
        None if cli.config_test => {
            let path = cli.file.unwrap_or_else(|| DEFAULT_FILE.into());
            check(&path, Format::Text, Syntax::Auto, cli.config_id)
        }
        None => {
            eprintln!(
                "vrrpd {}: the daemon is not built yet; use `vrrpd check` or `vrrpd convert`",
                env!("CARGO_PKG_VERSION")
            );
            2
        }
    }
}

/// keepalived's default config id: the host name up to the first dot.
fn host_id() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let short = name.trim().split('.').next()?.to_string();
    (!short.is_empty()).then_some(short)
}

fn load(path: &Path, syntax: Syntax, config_id: Option<String>) -> Loaded {
    let opts = LoadOptions {
        syntax,
        config_id: config_id.or_else(host_id),
        ..LoadOptions::default()
    };
    config::load(path, &FsSource, &opts)
}

fn check(path: &Path, format: Format, syntax: Syntax, config_id: Option<String>) -> i32 {
    let loaded = load(path, syntax, config_id);
    let errors = loaded.diagnostics.len() - loaded.warnings();
    match format {
        Format::Text => {
            for d in &loaded.diagnostics {
                eprintln!("{d}");
            }
            let verdict = if loaded.has_errors() { "errors" } else { "OK" };
            println!(
                "{}: {verdict} ({} syntax, {} instances, {errors} errors, {} warnings)",
                path.display(),
                syntax_name(loaded.syntax),
                loaded.config.instances.len(),
                loaded.warnings()
            );
        }
        Format::Json => {
            let doc = serde_json::json!({
                "file": path.display().to_string(),
                "syntax": loaded.syntax,
                "ok": !loaded.has_errors(),
                "errors": errors,
                "warnings": loaded.warnings(),
                "diagnostics": loaded.diagnostics,
                "config": loaded.config,
            });
            match serde_json::to_string_pretty(&doc) {
                Ok(s) => println!("{s}"),
                Err(e) => {
                    eprintln!("vrrpd: cannot write JSON: {e}");
                    return 1;
                }
            }
        }
    }
    if loaded.has_errors() {
        EXIT_CONFIG
    } else {
        0
    }
}

fn syntax_name(s: Syntax) -> &'static str {
    match s {
        Syntax::Toml => "TOML",
        _ => "keepalived",
    }
}

fn convert(path: &Path, config_id: Option<String>) -> i32 {
    let loaded = load(path, Syntax::Auto, config_id);
    for d in &loaded.diagnostics {
        eprintln!("{d}");
    }
    if loaded.has_errors() {
        eprintln!("{}: not converted: fix the errors first", path.display());
        return EXIT_CONFIG;
    }
    match config::to_toml(&loaded.config) {
        Ok(text) => {
            println!(
                "# vrrpd configuration converted from {} by `vrrpd convert`.",
                path.display()
            );
            println!("# Values are resolved: keepalived's defaults and global settings are spelled out.\n");
            print!("{text}");
            0
        }
        Err(e) => {
            eprintln!("vrrpd: {e}");
            1
        }
    }
}
