//! Command line: the daemon (with keepalived's flags), `check`, `convert`,
//! `resign`, the control commands (`status`, `demote`, `promote`,
//! `reload`), and keepalived's `-t -f FILE` spelling.

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};
use vrrpd::config::{self, FsSource, LoadOptions, Loaded, Syntax};
use vrrpd::daemon::{self, DaemonError, Options};
use vrrpd::output::control;

/// vrrpd's own configuration, used when present.
const NATIVE_FILE: &str = "/etc/vrrpd/vrrpd.toml";
/// keepalived's default configuration path, so vrrpd runs what keepalived would.
const KEEPALIVED_FILE: &str = "/etc/keepalived/keepalived.conf";

/// `/etc/vrrpd/vrrpd.toml` if present, else keepalived's file.
fn default_file() -> PathBuf {
    if Path::new(NATIVE_FILE).exists() {
        NATIVE_FILE.into()
    } else {
        KEEPALIVED_FILE.into()
    }
}

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
    /// Stay in the foreground (vrrpd never forks; accepted for keepalived's unit).
    #[arg(short = 'n', long = "dont-fork")]
    dont_fork: bool,
    /// Log to the console (vrrpd logs to standard error unless told otherwise).
    #[arg(short = 'l', long = "log-console")]
    log_console: bool,
    /// Detailed log lines (keepalived's `-D`): adds keepalived's detail
    /// lines (setting VIPs, gratuitous ARPs, ...) and vrrpd's debug lines.
    #[arg(short = 'D', long = "log-detail")]
    log_detail: bool,
    /// Log destination: `auto` is journald when stderr is systemd's journal
    /// stream (JOURNAL_STREAM), else the console.
    #[arg(long = "log", value_enum, value_name = "TARGET", default_value_t = crate::logging::Target::Auto)]
    log: crate::logging::Target,
    /// Run the VRRP side only (all vrrpd does; accepted for compatibility).
    #[arg(short = 'P', long = "vrrp")]
    vrrp_only: bool,
    /// Syslog facility 0-7 (accepted for compatibility; logs go to stderr/journald).
    #[arg(short = 'S', long = "log-facility", value_name = "N")]
    log_facility: Option<u8>,
    /// Don't log via syslog (accepted for compatibility).
    #[arg(short = 'G', long = "no-syslog")]
    no_syslog: bool,
    /// Pid file of the daemon.
    #[arg(short = 'p', long = "pid", value_name = "FILE")]
    pid_file: Option<PathBuf>,
    /// keepalived's VRRP child pid file; vrrpd has one process and writes its pid here too.
    #[arg(short = 'r', long = "vrrp_pid", value_name = "FILE")]
    vrrp_pid_file: Option<PathBuf>,
    /// Internal: started by `vrrpd upgrade` of the running daemon, which
    /// hands over on this descriptor.
    #[arg(long = "takeover", value_name = "FD", hide = true)]
    takeover: Option<i32>,
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Parse and validate a configuration without touching the network.
    ///
    /// Also says, at their keywords and in the daemon's own words, which
    /// scripts, notify commands and FIFO scripts the daemon would refuse
    /// (not found, not executable, no such user, unsafe under
    /// enable_script_security) and which notify FIFO paths (a link, not a
    /// FIFO, someone else's, writable by others).
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
        /// Also check against this host: interfaces exist, unicast_src_ip is ours, peers are not.
        #[arg(long)]
        host: bool,
    },
    /// Give up the master role without a running daemon: priority 0 to the
    /// peers, virtual addresses removed, for what the daemon's runtime
    /// record says it held (found with the daemon's -p), whatever happened
    /// to the configuration since; the configuration only when there is no
    /// record. Idempotent; systemd runs it as ExecStopPost.
    Resign {
        /// Configuration file (used only without a runtime record).
        #[arg(short = 'f', long = "file", value_name = "FILE")]
        file: Option<PathBuf>,
    },
    /// Show every instance of the running daemon: state and why, priority
    /// with the trackers' part, the master, VIPs held, counters, lateness.
    Status {
        /// Print the daemon's JSON instead of the table (with -w: one JSON
        /// object per line).
        #[arg(long)]
        json: bool,
        /// Watch: print every instance's state, then each change as it
        /// happens, until the daemon stops or you interrupt.
        #[arg(short = 'w', long)]
        watch: bool,
        /// Control socket (default: next to the pid file given with -p, else
        /// /run/vrrpd/vrrpd.sock).
        #[arg(long, value_name = "PATH")]
        socket: Option<PathBuf>,
    },
    /// Maintenance: make INSTANCE give up the master role (priority 0 to
    /// the peers, addresses removed) and stay out of the election until
    /// `vrrpd promote` or a daemon restart.
    Demote {
        /// Instance name (vrrp_instance).
        instance: String,
        /// Why, shown by `vrrpd status` and logged.
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
        /// Control socket (default as for `status`).
        #[arg(long, value_name = "PATH")]
        socket: Option<PathBuf>,
    },
    /// End maintenance: INSTANCE rejoins the election (through BACKUP).
    Promote {
        /// Instance name (vrrp_instance).
        instance: String,
        /// Control socket (default as for `status`).
        #[arg(long, value_name = "PATH")]
        socket: Option<PathBuf>,
    },
    /// Reload the running daemon's configuration, as SIGHUP, and report the
    /// result: what changed, or every error (then nothing changed).
    Reload {
        /// Print the daemon's JSON reply.
        #[arg(long)]
        json: bool,
        /// Control socket (default as for `status`).
        #[arg(long, value_name = "PATH")]
        socket: Option<PathBuf>,
    },
    /// Replace the running daemon by the binary now on disk without an
    /// election: it hands its state, addresses and sockets over and the new
    /// process carries on advertising (no priority 0, no address moved, no
    /// gratuitous ARP). If the new binary does not take over within a
    /// second, the running daemon carries on and this says why.
    Upgrade {
        /// Print the daemon's JSON reply.
        #[arg(long)]
        json: bool,
        /// Control socket (default as for `status`).
        #[arg(long, value_name = "PATH")]
        socket: Option<PathBuf>,
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
    // Packaging only, outside clap so that neither help, man pages nor the
    // completions (clap_complete lists hidden subcommands) mention it.
    let mut args = std::env::args_os().skip(1);
    if args.next().is_some_and(|a| a == "generate-assets") {
        return match (args.next(), args.next()) {
            (Some(dir), None) => generate_assets(Path::new(&dir)),
            _ => {
                eprintln!("usage: vrrpd generate-assets DIR");
                2
            }
        };
    }
    let cli = Cli::parse();
    match cli.command {
        Some(Cmd::Check {
            file,
            format,
            syntax,
            config_id,
            host,
        }) => {
            let syntax = match syntax {
                SyntaxArg::Auto => Syntax::Auto,
                SyntaxArg::Toml => Syntax::Toml,
                SyntaxArg::Keepalived => Syntax::Keepalived,
            };
            let path = file.or(cli.file).unwrap_or_else(default_file);
            check(&path, format, syntax, config_id.or(cli.config_id), host)
        }
        Some(Cmd::Convert { file, config_id }) => convert(&file, config_id.or(cli.config_id)),
        Some(Cmd::Status {
            json,
            watch,
            socket,
        }) => {
            let path = socket.unwrap_or_else(|| control::socket_path(cli.pid_file.as_deref()));
            if watch {
                status_watch(&path, json)
            } else {
                status(&path, json)
            }
        }
        Some(Cmd::Demote {
            instance,
            reason,
            socket,
        }) => {
            let path = socket.unwrap_or_else(|| control::socket_path(cli.pid_file.as_deref()));
            admin(
                &path,
                control::Command::Demote {
                    instance,
                    note: reason,
                },
            )
        }
        Some(Cmd::Promote { instance, socket }) => {
            let path = socket.unwrap_or_else(|| control::socket_path(cli.pid_file.as_deref()));
            admin(&path, control::Command::Promote { instance })
        }
        Some(Cmd::Reload { json, socket }) => {
            let path = socket.unwrap_or_else(|| control::socket_path(cli.pid_file.as_deref()));
            reload(&path, json)
        }
        Some(Cmd::Upgrade { json, socket }) => {
            let path = socket.unwrap_or_else(|| control::socket_path(cli.pid_file.as_deref()));
            upgrade(&path, json)
        }
        Some(Cmd::Resign { file }) => {
            crate::logging::init(cli.log, cli.log_detail);
            let path = file.or(cli.file).unwrap_or_else(default_file);
            // The daemon's pid file names its runtime record.
            let pid_file = cli.pid_file.or(cli.vrrp_pid_file);
            resign(&path, cli.config_id, pid_file)
        }
        None if cli.config_test => {
            let path = cli.file.unwrap_or_else(default_file);
            check(&path, Format::Text, Syntax::Auto, cli.config_id, false)
        }
        None => {
            let _ = (cli.dont_fork, cli.log_console, cli.vrrp_only, cli.no_syslog);
            let _ = cli.log_facility;
            crate::logging::init(cli.log, cli.log_detail);
            let path = cli.file.unwrap_or_else(default_file);
            let pid_file = cli.pid_file.or(cli.vrrp_pid_file);
            run_daemon(path, cli.config_id, pid_file, cli.takeover)
        }
    }
}

fn generate_assets(dir: &Path) -> i32 {
    use clap::CommandFactory;
    use std::io::Write;
    match crate::assets::generate(Cli::command(), dir) {
        Ok(files) => {
            // A closed stdout (`| head`) is not a failure of the generation.
            let mut out = std::io::stdout().lock();
            for f in files {
                let _ = writeln!(out, "{}", f.display());
            }
            0
        }
        Err(e) => {
            eprintln!("vrrpd generate-assets: {}: {e}", dir.display());
            1
        }
    }
}

fn daemon_options(path: PathBuf, config_id: Option<String>, pid_file: Option<PathBuf>) -> Options {
    Options {
        takeover: None,
        config_file: path,
        load: LoadOptions {
            syntax: Syntax::Auto,
            config_id: config_id.or_else(host_id),
            env: process_env(),
            ..LoadOptions::default()
        },
        control_socket: control::socket_path(pid_file.as_deref()),
        record: daemon::record::path(pid_file.as_deref()),
        pid_file,
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, i32> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("vrrpd: cannot start the runtime: {e}");
            1
        })
}

fn run_daemon(
    path: PathBuf,
    config_id: Option<String>,
    pid_file: Option<PathBuf>,
    takeover: Option<i32>,
) -> i32 {
    install_panic_resign(&path, config_id.as_deref(), pid_file.as_deref());
    daemon::sched::limit_heap_arenas();
    match takeover {
        None => tracing::info!(
            "Starting vrrpd v{} with {}",
            env!("CARGO_PKG_VERSION"),
            path.display()
        ),
        Some(_) => tracing::info!(
            "Starting vrrpd v{} with {} to take over from the running daemon",
            env!("CARGO_PKG_VERSION"),
            path.display()
        ),
    }
    let mut opts = daemon_options(path, config_id, pid_file);
    opts.takeover = takeover;
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    match rt.block_on(daemon::run(opts)) {
        Ok(()) => 0,
        Err(DaemonError::Config { .. }) => {
            tracing::error!("configuration has errors; not starting");
            EXIT_CONFIG
        }
        Err(e) => {
            tracing::error!("{e}");
            1
        }
    }
}

/// A panicking daemon still hands over: run `vrrpd resign` with the
/// daemon's own options before the process dies (best effort, bounded to
/// 2 s): the pid file names the runtime record it releases, the file and
/// config id are its fallback.
fn install_panic_resign(path: &Path, config_id: Option<&str>, pid_file: Option<&Path>) {
    let args = resign_args(path, config_id, pid_file);
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default_hook(info);
        // Not while another process holds what this one runs for: a
        // successor before it took over, a predecessor after.
        if !daemon::upgrade::serving() {
            return;
        }
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        if let Ok(mut child) = std::process::Command::new(exe).args(&args).spawn() {
            for _ in 0..20 {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            let _ = child.kill();
        }
    }));
}

/// `vrrpd resign` as the daemon started with these options would be told.
fn resign_args(
    path: &Path,
    config_id: Option<&str>,
    pid_file: Option<&Path>,
) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = Vec::new();
    if let Some(pid) = pid_file {
        args.extend(["-p".into(), pid.into()]);
    }
    if let Some(id) = config_id {
        args.extend(["-i".into(), id.into()]);
    }
    args.extend(["resign".into(), "-f".into(), path.into()]);
    args
}

fn resign(path: &Path, config_id: Option<String>, pid_file: Option<PathBuf>) -> i32 {
    let opts = daemon_options(path.to_path_buf(), config_id, pid_file);
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    match rt.block_on(daemon::resign::resign(&opts)) {
        Ok(report) => {
            for r in report {
                println!(
                    "{}: {} priority-0 advert(s) sent, {} address(es) removed",
                    r.instance, r.adverts_sent, r.addresses_removed
                );
            }
            0
        }
        Err(DaemonError::Config { .. }) => EXIT_CONFIG,
        Err(e) => {
            eprintln!("vrrpd resign: {e}");
            1
        }
    }
}

/// keepalived's default config id: the host name up to the first dot.
fn host_id() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let short = name.trim().split('.').next()?.to_string();
    (!short.is_empty()).then_some(short)
}

/// The environment `${_ENV NAME}` reads; variables that are not UTF-8 are
/// left out (`std::env::vars` would panic on them).
fn process_env() -> std::collections::HashMap<String, String> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

fn load(path: &Path, syntax: Syntax, config_id: Option<String>) -> Loaded {
    let opts = LoadOptions {
        syntax,
        config_id: config_id.or_else(host_id),
        env: process_env(),
        ..LoadOptions::default()
    };
    config::load(path, &FsSource, &opts)
}

/// This host's interfaces and addresses.
fn host_addrs() -> config::HostAddrs {
    let mut host = config::HostAddrs::default();
    let Ok(addrs) = nix::ifaddrs::getifaddrs() else {
        return host;
    };
    for a in addrs {
        let list = host.interfaces.entry(a.interface_name.clone()).or_default();
        let ip = a.address.as_ref().and_then(|s| {
            s.as_sockaddr_in()
                .map(|v4| std::net::IpAddr::V4(v4.ip()))
                .or_else(|| s.as_sockaddr_in6().map(|v6| std::net::IpAddr::V6(v6.ip())))
        });
        list.extend(ip);
    }
    // As the daemon runs it: `nft` looked up on PATH.
    host.nft_found = Some(std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(dir.join(vrrpd::net::nft::NFT))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    }));
    host
}

fn check(
    path: &Path,
    format: Format,
    syntax: Syntax,
    config_id: Option<String>,
    host: bool,
) -> i32 {
    let mut loaded = load(path, syntax, config_id);
    if !loaded.has_errors() {
        // Every command vrrpd would run (found, executable, safe: the daemon's own
        // decision) and the notify FIFOs (keepalived -t checks scripts too).
        let extra = vrrpd::track::check::script_checks(&loaded.config, &loaded.spans);
        loaded.diagnostics.extend(extra);
        loaded
            .diagnostics
            .sort_by(|a, b| (&a.file, a.line, a.col).cmp(&(&b.file, b.line, b.col)));
    }
    if !loaded.has_errors() {
        // The cloud backend's credentials and region, as far as the
        // environment and the shared files tell (no network).
        let var = |k: &str| std::env::var(k).ok();
        let exists = |p: &Path| p.is_file();
        let env = config::cloud::AwsEnv {
            var: &var,
            exists: &exists,
        };
        loaded.diagnostics.extend(config::cloud::env_checks(
            &loaded.config,
            &loaded.spans,
            &env,
        ));
    }
    if host && !loaded.has_errors() {
        let extra = config::host_checks(&loaded.config, &loaded.spans, &host_addrs());
        loaded.diagnostics.extend(extra);
        loaded
            .diagnostics
            .sort_by(|a, b| (&a.file, a.line, a.col).cmp(&(&b.file, b.line, b.col)));
    }
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

/// Exit status of a control command that failed: 3 when the daemon cannot
/// be reached or refuses the caller, 4 for a configuration with errors
/// (as `check`), 1 for any other refusal (unknown instance, ...).
fn control_failure(what: &str, e: &control::ControlError) -> i32 {
    eprintln!("vrrpd {what}: {e}");
    match e.code() {
        Some("config") => EXIT_CONFIG,
        Some("permission" | "busy" | "stopping") | None => 3,
        Some(_) => 1,
    }
}

fn print_json(what: &str, value: &serde_json::Value) -> i32 {
    match serde_json::to_string_pretty(value) {
        Ok(text) => {
            println!("{text}");
            0
        }
        Err(e) => {
            eprintln!("vrrpd {what}: {e}");
            1
        }
    }
}

fn status(socket: &Path, json: bool) -> i32 {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    match rt.block_on(control::request(socket, &control::Command::Status)) {
        Ok(reply) if json => print_json("status", &reply),
        Ok(reply) => {
            print!("{}", control::render_status(&reply));
            0
        }
        Err(e) => control_failure("status", &e),
    }
}

fn status_watch(socket: &Path, json: bool) -> i32 {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let result = rt.block_on(control::watch(socket, |event| {
        if json {
            println!("{event}");
        } else {
            println!("{}", control::render_event(event));
        }
        event["event"] != "stopping"
    }));
    match result {
        Ok(()) => 0,
        Err(e) => control_failure("status -w", &e),
    }
}

fn admin(socket: &Path, command: control::Command) -> i32 {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let what = match command {
        control::Command::Demote { .. } => "demote",
        _ => "promote",
    };
    match rt.block_on(control::request(socket, &command)) {
        Ok(reply) => {
            let s = |k: &str| reply[k].as_str().unwrap_or("?").to_string();
            let vips: Vec<&str> = reply["vips_held"]
                .as_array()
                .map(|v| v.iter().filter_map(|a| a.as_str()).collect())
                .unwrap_or_default();
            let held = if vips.is_empty() {
                "no VIPs held".to_string()
            } else {
                format!("holding {}", vips.join(", "))
            };
            let done = if reply["changed"].as_bool() == Some(true) {
                format!("{what}d")
            } else {
                format!("already {what}d")
            };
            println!(
                "{}: {done}; now {} ({}), {held}",
                s("instance"),
                s("state"),
                s("reason")
            );
            0
        }
        Err(e) => control_failure(what, &e),
    }
}

fn upgrade(socket: &Path, json: bool) -> i32 {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let result = rt.block_on(control::request(socket, &control::Command::Upgrade));
    match &result {
        Ok(reply) if json => print_json("upgrade", reply),
        Ok(reply) => {
            println!(
                "upgraded: vrrpd {} (pid {}) took over from vrrpd {} (pid {}) in {:.1} ms",
                reply["version"].as_str().unwrap_or("?"),
                reply["pid"],
                reply["old_version"].as_str().unwrap_or("?"),
                reply["old_pid"],
                reply["took_ms"].as_f64().unwrap_or(0.0)
            );
            0
        }
        Err(e @ control::ControlError::Refused { reply, .. }) if e.code() == Some("upgrade") => {
            if json {
                print_json("upgrade", reply);
            } else {
                eprintln!("vrrpd upgrade: {e}");
            }
            EXIT_NOT_UPGRADED
        }
        Err(e) => control_failure("upgrade", e),
    }
}

/// `vrrpd upgrade`: the daemon runs, but the new binary did not take over
/// (the package's postinst tells this apart from a daemon that has no
/// such command, which it restarts instead).
const EXIT_NOT_UPGRADED: i32 = 5;

fn reload(socket: &Path, json: bool) -> i32 {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let result = rt.block_on(control::request(socket, &control::Command::Reload));
    let reply = match &result {
        Ok(reply) => reply,
        Err(control::ControlError::Refused { reply, .. }) => reply,
        Err(e) => return control_failure("reload", e),
    };
    if json {
        let code = print_json("reload", reply);
        return match &result {
            Ok(_) => code,
            Err(e) => control_failure("reload", e),
        };
    }
    for d in reply["diagnostics"].as_array().into_iter().flatten() {
        eprintln!("{}", d.as_str().unwrap_or("?"));
    }
    match &result {
        Ok(reply) => {
            println!(
                "reloaded {}: {}",
                reply["file"].as_str().unwrap_or("?"),
                reply["summary"].as_str().unwrap_or("?")
            );
            0
        }
        Err(e) => control_failure("reload", e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the panic hook runs parses back to the daemon's own options:
    /// the same record, file and config id.
    #[test]
    fn the_panic_hooks_resign_finds_the_daemons_record() {
        let args = resign_args(
            Path::new("/etc/lb/a.conf"),
            Some("lb1"),
            Some(Path::new("/run/lb/a.pid")),
        );
        let cli = Cli::try_parse_from(std::iter::once("vrrpd".into()).chain(args)).unwrap();
        let Some(Cmd::Resign { file }) = cli.command else {
            panic!("not parsed as resign");
        };
        assert_eq!(file.as_deref(), Some(Path::new("/etc/lb/a.conf")));
        assert_eq!(cli.config_id.as_deref(), Some("lb1"));
        let resign = daemon_options(PathBuf::new(), cli.config_id, cli.pid_file);
        let daemon = daemon_options(
            PathBuf::new(),
            Some("lb1".into()),
            Some("/run/lb/a.pid".into()),
        );
        assert_eq!(resign.record, daemon.record);
        assert_eq!(resign.record, PathBuf::from("/run/lb/a.held.json"));
    }
}
