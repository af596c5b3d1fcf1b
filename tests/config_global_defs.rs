//! keepalived's process-level `global_defs` keywords (issue 15): each read
//! into the model where vrrpd acts on it, with keepalived's defaults and
//! ranges, and a located warning or error for a bad value that loses
//! nothing else.

#[path = "common/config.rs"]
mod common_config;
use vrrpd::config::{load_str, Diagnostic, LoadOptions, Loaded, Severity};

use common_config::keepalived as load;

fn with_globals(globals: &str) -> String {
    format!(
        "global_defs {{\n{globals}}}\nvrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {{\n        192.0.2.10\n    }}\n}}\n"
    )
}

use common_config::only_diagnostic as find;

fn toml(text: &str) -> Loaded {
    let opts = LoadOptions {
        syntax: vrrpd::config::Syntax::Toml,
        ..LoadOptions::default()
    };
    load_str("/v.toml", text, &opts)
}

const TOML_INSTANCE: &str = "[[instance]]\nname = \"VI_1\"\nvrid = 51\ninterface = \"eth0\"\n[[instance.vips]]\naddr = \"192.0.2.10\"\nprefix = 24\n";

#[test]
fn startup_and_shutdown_scripts_with_keepalived_defaults() {
    let l = load(&with_globals(
        "    startup_script \"/etc/k/up.sh start\" nobody\n    shutdown_script /etc/k/down.sh\n    shutdown_script_timeout 30\n",
    ));
    assert!(l.diagnostics.is_empty(), "{:#?}", l.diagnostics);
    let g = &l.config.global;
    let up = g.startup_script.as_ref().unwrap();
    assert_eq!(up.cmd, "/etc/k/up.sh start");
    assert_eq!(up.run_as.as_ref().unwrap().user, "nobody");
    assert_eq!(g.startup_script_timeout, 10);
    assert_eq!(g.shutdown_script.as_ref().unwrap().cmd, "/etc/k/down.sh");
    assert_eq!(g.shutdown_script_timeout, 30);
}

#[test]
fn bad_hook_values_are_located_and_lose_nothing_else() {
    let l = load(&with_globals(
        "    startup_script /a.sh\n    startup_script /b.sh\n    startup_script_timeout 0\n    shutdown_script_timeout 1001\n    shutdown_script\n    router_id r1\n",
    ));
    assert!(!l.has_errors(), "{:#?}", l.diagnostics);
    // keepalived keeps the first script.
    let g = &l.config.global;
    assert_eq!(g.startup_script.as_ref().unwrap().cmd, "/a.sh");
    let d = find(&l, "'startup_script' already specified");
    assert_eq!((d.line, d.col), (3, 5));
    let d = find(
        &l,
        "'startup_script_timeout' expects an integer 1..1000, got '0'",
    );
    assert_eq!((d.line, d.col, d.severity), (4, 28, Severity::Warning));
    assert_eq!(g.startup_script_timeout, 10);
    let d = find(&l, "got '1001'");
    assert_eq!((d.line, d.col), (5, 29));
    assert_eq!(g.shutdown_script_timeout, 10);
    let d = find(&l, "'shutdown_script' expects a command");
    assert_eq!((d.line, d.col), (6, 5));
    assert!(g.shutdown_script.is_none());
    assert_eq!(g.router_id.as_deref(), Some("r1"));
    assert_eq!(l.diagnostics.len(), 4, "{:#?}", l.diagnostics);
}

#[test]
fn hook_scripts_in_toml() {
    let l = toml(&format!(
        "[global]\nstartup_script = {{ cmd = \"/etc/k/up.sh\" }}\nstartup_script_timeout = 5\n{TOML_INSTANCE}"
    ));
    assert!(l.diagnostics.is_empty(), "{:#?}", l.diagnostics);
    assert_eq!(l.config.global.startup_script_timeout, 5);
    let l = toml(&format!(
        "[global]\nshutdown_script_timeout = 0\n{TOML_INSTANCE}"
    ));
    let d = find(&l, "1..=1000 seconds, got 0");
    assert_eq!((d.line, d.severity), (2, Severity::Error));
}

/// `vrrpd check` vets the hooks as the daemon does, at their keyword.
#[test]
fn check_vets_hook_scripts_at_their_keyword() {
    let l = load(&with_globals(
        "    script_user nobody\n    shutdown_script /nonexistent/down.sh\n",
    ));
    let diags = vrrpd::track::check::script_checks(&l.config, &l.spans);
    let d: Vec<&Diagnostic> = diags
        .iter()
        .filter(|d| d.message.contains("shutdown_script `/nonexistent/down.sh`"))
        .collect();
    assert_eq!(d.len(), 1, "{diags:#?}");
    assert_eq!((d[0].line, d[0].col), (3, 5));
    assert!(d[0].message.contains("disabling"), "{}", d[0].message);
}

#[test]
fn net_namespace_at_the_top_level_as_keepalived_reads_it() {
    let l = load(&format!(
        "net_namespace blue\nnet_namespace red\n{}",
        with_globals("    net_namespace green\n")
    ));
    assert!(!l.has_errors(), "{:#?}", l.diagnostics);
    assert_eq!(l.config.global.net_namespace.as_deref(), Some("blue"));
    let d = find(&l, "duplicate net_namespace red");
    assert_eq!((d.line, d.col), (2, 1));
    // keepalived installs it as a top-level keyword only.
    let d = find(&l, "'net_namespace' is a top-level keyword");
    assert_eq!((d.line, d.col), (4, 5));
    assert_eq!(l.diagnostics.len(), 2, "{:#?}", l.diagnostics);
}

#[test]
fn a_net_namespace_that_cannot_be_a_name_is_an_error() {
    for bad in ["../etc", "a/b", ".."] {
        let l = load(&format!("net_namespace {bad}\n{}", with_globals("")));
        let d = find(&l, "is not a network namespace name");
        assert_eq!(
            (d.line, d.col, d.severity),
            (1, 15, Severity::Error),
            "{bad}"
        );
        assert!(l.config.global.net_namespace.is_none());
    }
    let l = toml(&format!(
        "[global]\nnet_namespace = \"a/b\"\n{TOML_INSTANCE}"
    ));
    let d = find(&l, "is not a network namespace name");
    assert_eq!((d.line, d.severity), (2, Severity::Error));
    let l = toml(&format!(
        "[global]\nnet_namespace = \"blue\"\n{TOML_INSTANCE}"
    ));
    assert!(l.diagnostics.is_empty(), "{:#?}", l.diagnostics);
    assert_eq!(l.config.global.net_namespace.as_deref(), Some("blue"));
}

#[test]
fn umask_numbers_and_symbolic_bits_as_keepalived_reads_them() {
    for (text, want) in [("077", 0o077), ("0x3f", 0o077), ("63", 0o077), ("0", 0)] {
        let l = load(&with_globals(&format!("    umask {text}\n")));
        assert!(l.diagnostics.is_empty(), "{text}: {:#?}", l.diagnostics);
        assert_eq!(l.config.global.umask, Some(want), "{text}");
    }
    let l = load(&with_globals("    umask IWGRP|IWOTH | IXOTH\n"));
    assert!(l.diagnostics.is_empty(), "{:#?}", l.diagnostics);
    assert_eq!(l.config.global.umask, Some(0o023));
}

#[test]
fn a_bad_umask_is_located_and_ignored() {
    for (text, col, needle) in [
        ("08", 11, "invalid umask value 08"),
        ("01000", 11, "invalid umask value 01000"),
        ("077 022", 15, "extra parameter"),
        ("IRGRP|IFOO", 11, "unknown umask bit IFOO"),
        ("IRGRP IWGRP", 17, "invalid umask syntax IWGRP"),
        ("IRGRP|", 11, "umask missing bit value"),
    ] {
        let l = load(&with_globals(&format!(
            "    umask {text}\n    router_id r1\n"
        )));
        let d = find(&l, needle);
        assert_eq!(
            (d.line, d.col, d.severity),
            (2, col, Severity::Warning),
            "{text}"
        );
        assert!(l.config.global.umask.is_none(), "{text}");
        assert_eq!(l.config.global.router_id.as_deref(), Some("r1"));
    }
    let l = toml(&format!("[global]\numask = 0o1000\n{TOML_INSTANCE}"));
    let d = find(&l, "a umask is at most 0o777");
    assert_eq!((d.line, d.severity), (2, Severity::Error));
    let l = toml(&format!("[global]\numask = 0o027\n{TOML_INSTANCE}"));
    assert_eq!(l.config.global.umask, Some(0o027));
}

/// vrrpd is keepalived's VRRP process: its name wins over the parent's,
/// whatever the order; `process_names` means `keepalived_vrrp`.
#[test]
fn process_names_the_vrrp_process_first() {
    let name = |globals: &str| {
        let l = load(&with_globals(globals));
        assert!(!l.has_errors(), "{:#?}", l.diagnostics);
        l.config.global.process_name.clone()
    };
    assert_eq!(name(""), None);
    assert_eq!(name("    process_name lb\n").as_deref(), Some("lb"));
    assert_eq!(
        name("    process_names\n").as_deref(),
        Some("keepalived_vrrp")
    );
    assert_eq!(
        name("    vrrp_process_name vr\n    process_name lb\n").as_deref(),
        Some("vr")
    );
    assert_eq!(
        name("    process_name lb\n    process_names\n").as_deref(),
        Some("keepalived_vrrp")
    );
    let l = load(&with_globals(
        "    vrrp_process_name a_name_of_20_bytes__\n",
    ));
    let d = find(&l, "truncated to 'a_name_of_20_by'");
    assert_eq!((d.line, d.col), (2, 23));
    assert_eq!(
        l.config.global.process_name.as_deref(),
        Some("a_name_of_20_by")
    );
}

/// keepalived 2.3's `iproute_etc_dir` / `iproute_usr_dir`: where route and
/// rule table names come from; a file in the etc directory wins.
#[test]
fn iproute_dirs_say_where_table_names_come_from() {
    use std::path::Path;
    use vrrpd::config::{load, MemSource};
    let conf = |globals: &str| {
        format!(
            "global_defs {{\n{globals}}}\nvrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {{\n        192.0.2.10\n    }}\n    virtual_routes {{\n        198.51.100.0/24 dev eth0 table blue\n    }}\n}}\n"
        )
    };
    let run = |globals: &str| {
        let text = conf(globals);
        let src = MemSource::new()
            .with("/k.conf", text.as_bytes())
            .with("/etc/iproute2/rt_tables", "100 red\n")
            .with("/opt/ip/etc/rt_tables", "101 blue\n")
            .with("/opt/ip/usr/rt_tables", "102 blue\n");
        load(Path::new("/k.conf"), &src, &LoadOptions::default())
    };
    // The default place has no 'blue': a located error.
    let l = run("");
    let d = find(&l, "routing table 'blue' not found");
    assert_eq!((d.line, d.severity), (10, Severity::Error));
    let table = |l: &Loaded| l.config.instances[0].virtual_routes[0].table;
    let l = run("    iproute_usr_dir /opt/ip/usr\n    iproute_etc_dir /nonexistent\n");
    assert!(l.diagnostics.is_empty(), "{:#?}", l.diagnostics);
    assert_eq!(table(&l), 102);
    let l = run("    iproute_usr_dir /opt/ip/usr\n    iproute_etc_dir /opt/ip/etc\n");
    assert_eq!(table(&l), 101, "the etc directory's file wins");
    let l = run("    iproute_etc_dir\n");
    let d = find(&l, "'iproute_etc_dir' expects a value");
    assert_eq!((d.line, d.col), (2, 5));
}

#[test]
fn reload_keywords_as_keepalived_reads_them() {
    let l = load(&with_globals(
        "    reload_file\n    reload_time_file /run/k/when\n    reload_repeat\n    fifo_write_vrrp_states_on_reload\n",
    ));
    assert!(l.diagnostics.is_empty(), "{:#?}", l.diagnostics);
    let g = &l.config.global;
    // No path: keepalived's default file.
    assert_eq!(
        g.reload_file.as_deref(),
        Some("/run/keepalived.reload".as_ref())
    );
    assert_eq!(g.reload_time_file.as_deref(), Some("/run/k/when".as_ref()));
    assert!(g.reload_repeat && g.fifo_write_vrrp_states_on_reload);
    let l = load(&with_globals(
        "    reload_file /run/x.reload\n    reload_time_file\n",
    ));
    assert_eq!(
        l.config.global.reload_file.as_deref(),
        Some("/run/x.reload".as_ref())
    );
    let d = find(&l, "'reload_time_file' expects a value");
    assert_eq!((d.line, d.col), (3, 5));
    assert!(l.config.global.reload_time_file.is_none());
}

#[test]
fn netlink_buffers_instance_and_data_use_instance() {
    let l = load(&format!(
        "instance lb1\ninstance lb2\n{}",
        with_globals(
            "    vrrp_netlink_cmd_rcv_bufs 1048576\n    vrrp_netlink_cmd_rcv_bufs_force\n    vrrp_netlink_monitor_rcv_bufs 262144\n    data_use_instance\n",
        )
    ));
    assert!(!l.has_errors(), "{:#?}", l.diagnostics);
    let g = &l.config.global;
    let b = g.netlink_rcv_bufs;
    assert_eq!(
        (b.cmd, b.cmd_force, b.monitor, b.monitor_force),
        (1_048_576, true, 262_144, false)
    );
    assert_eq!(g.instance.as_deref(), Some("lb1"));
    assert!(g.data_use_instance);
    let d = find(&l, "duplicate instance lb2");
    assert_eq!((d.line, d.col), (2, 1));
    assert_eq!(l.diagnostics.len(), 1, "{:#?}", l.diagnostics);
    let l = load(&format!(
        "instance a/b\n{}",
        with_globals("    vrrp_netlink_cmd_rcv_bufs -1\n")
    ));
    let d = find(&l, "'instance': 'a/b' is not a file name part");
    assert_eq!((d.line, d.col, d.severity), (1, 10, Severity::Error));
    let d = find(&l, "'vrrp_netlink_cmd_rcv_bufs' expects an integer");
    assert_eq!((d.line, d.col), (3, 31));
}

/// Keywords about keepalived's own machinery: accepted, and the warning at
/// each says why nothing changes.
#[test]
fn machinery_keywords_say_why_they_have_no_effect() {
    let l = load(&format!(
        "use_pid_dir\nchild_wait_time 5\n{}",
        with_globals(
            "    random_seed 7\n    config_save_dir /tmp\n    tmp_config_directory /tmp\n"
        )
    ));
    assert!(!l.has_errors(), "{:#?}", l.diagnostics);
    let got: Vec<(u32, String)> = l
        .diagnostics
        .iter()
        .map(|d| (d.line, d.message.clone()))
        .collect();
    assert_eq!(got.len(), 5, "{got:#?}");
    for (line, kw) in [
        (1, "use_pid_dir"),
        (2, "child_wait_time"),
        (4, "random_seed"),
        (5, "config_save_dir"),
        (6, "tmp_config_directory"),
    ] {
        let d = find(&l, &format!("'{kw}' accepted with no effect: "));
        assert_eq!(d.line, line, "{kw}");
    }
}

/// keepalived's precedence (vrrp.c): an instance's or group's own
/// `smtp_alert`, else the global `smtp_alert_vrrp`, else `smtp_alert`.
#[test]
fn smtp_alert_precedence_and_mail_settings() {
    let conf = |globals: &str, inst: &str, group: &str| {
        format!(
            "global_defs {{\n{globals}}}\nvrrp_sync_group G {{\n    group {{\n        VI_1\n        VI_2\n    }}\n{group}}}\nvrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n{inst}    virtual_ipaddress {{\n        192.0.2.10\n    }}\n}}\nvrrp_instance VI_2 {{\n    interface eth0\n    virtual_router_id 52\n    virtual_ipaddress {{\n        192.0.2.11\n    }}\n}}\n"
        )
    };
    let run = |globals: &str, inst: &str, group: &str| {
        let l = load(&conf(globals, inst, group));
        assert!(l.diagnostics.is_empty(), "{:#?}", l.diagnostics);
        let c = &l.config;
        (
            c.instances[0].smtp_alert,
            c.instances[1].smtp_alert,
            c.sync_groups[0].smtp_alert,
        )
    };
    assert_eq!(run("", "", ""), (false, false, false));
    assert_eq!(run("    smtp_alert\n", "", ""), (true, true, true));
    assert_eq!(
        run("    smtp_alert\n    smtp_alert_vrrp off\n", "", ""),
        (false, false, false)
    );
    assert_eq!(
        run(
            "    smtp_alert_vrrp on\n",
            "    smtp_alert off\n",
            "    smtp_alert off\n"
        ),
        (false, true, false)
    );
    let l = load(&with_globals(
        "    smtp_helo_name lb1.example.org\n    no_email_faults\n    smtp_server 192.0.2.25 2525\n",
    ));
    assert!(l.diagnostics.is_empty(), "{:#?}", l.diagnostics);
    let g = &l.config.global;
    assert_eq!(g.smtp_helo_name.as_deref(), Some("lb1.example.org"));
    assert!(g.no_email_faults);
    assert_eq!(g.smtp_server.as_deref(), Some("192.0.2.25 2525"));
}

/// The SMTP client against a server that refuses a recipient: the step
/// and the server's words in the error, nothing hangs.
#[tokio::test]
async fn smtp_refusal_names_the_step() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use vrrpd::output::smtp::{send, Alert, Envelope};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (s, _) = listener.accept().await.unwrap();
        let (r, mut w) = s.into_split();
        let mut r = BufReader::new(r);
        w.write_all(b"220 test ESMTP\r\n").await.unwrap();
        let mut heard = Vec::new();
        let mut line = String::new();
        for reply in [
            &b"250-hello\r\n250 ok\r\n"[..],
            b"250 ok\r\n",
            b"550 no such user\r\n",
        ] {
            line.clear();
            r.read_line(&mut line).await.unwrap();
            heard.push(line.trim_end().to_string());
            w.write_all(reply).await.unwrap();
        }
        heard
    });
    let e = Envelope {
        server: addr,
        helo: "lb1".into(),
        from: "v@example.org".into(),
        to: vec!["nobody@example.org".into()],
        router_id: "lb1".into(),
        timeout: std::time::Duration::from_secs(2),
    };
    let a = Alert {
        subject: "s".into(),
        body: "b".into(),
    };
    let err = send(&e, &a, "D").await.unwrap_err().to_string();
    assert_eq!(
        err,
        "RCPT TO: server answered '550 no such user', expected 250"
    );
    assert_eq!(
        server.await.unwrap(),
        [
            "HELO lb1",
            "MAIL FROM:<v@example.org>",
            "RCPT TO:<nobody@example.org>"
        ]
    );
}

/// keepalived's `include_check` (parser.c): which include problems are
/// errors; set, added to (+) and removed from (-), and restored at the end
/// of the file that set it.
#[test]
fn include_check_makes_include_problems_errors() {
    use std::path::Path;
    use vrrpd::config::{load, MemSource};
    let run = |text: &str| {
        let src = MemSource::new()
            .with("/etc/k.conf", text.as_bytes())
            .with("/etc/sub.conf", "include_check\n")
            .with(
                "/etc/inst.conf",
                "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.0.2.10\n    }\n}\n",
            );
        load(Path::new("/etc/k.conf"), &src, &LoadOptions::default())
    };
    let sev = |l: &Loaded, needle: &str| find(l, needle).severity;
    // Without include_check: warnings, as keepalived's plain include.
    let l = run("include inst.conf\ninclude missing.conf\ninclude d/*.conf\n");
    assert_eq!(sev(&l, "missing.conf' does not exist"), Severity::Warning);
    assert_eq!(sev(&l, "matches no file"), Severity::Warning);
    // match: a named file that is missing is an error, a pattern not.
    let l = run("global_defs {\n    include_check match\n}\ninclude inst.conf\ninclude missing.conf\ninclude d/*.conf\n");
    let d = find(&l, "missing.conf' does not exist");
    assert_eq!((d.line, d.col, d.severity), (5, 9, Severity::Error));
    assert_eq!(sev(&l, "matches no file"), Severity::Warning);
    // +wildcard_match adds the pattern check, -match removes the other.
    let l = run("global_defs {\n    include_check match +wildcard_match -match\n}\ninclude inst.conf\ninclude missing.conf\ninclude d/*.conf\n");
    assert_eq!(sev(&l, "missing.conf' does not exist"), Severity::Warning);
    assert_eq!(sev(&l, "matches no file"), Severity::Error);
    // A brace alternative that is missing is brace_match's.
    let l = run("global_defs {\n    include_check brace_match\n}\ninclude /etc/{inst,nothere}.conf\ninclude missing.conf\n");
    assert_eq!(sev(&l, "nothere.conf' does not exist"), Severity::Error);
    assert_eq!(sev(&l, "missing.conf' does not exist"), Severity::Warning);
    // Set in an included file, it ends with that file.
    let l = run("include sub.conf\ninclude inst.conf\ninclude missing.conf\n");
    assert_eq!(sev(&l, "missing.conf' does not exist"), Severity::Warning);
    // A word keepalived does not know is located.
    let l = run("global_defs {\n    include_check readable\n}\ninclude inst.conf\n");
    let d = find(&l, "unknown include_check type 'readable'");
    assert_eq!((d.line, d.col, d.severity), (2, 19, Severity::Warning));
}

#[test]
fn an_smtp_server_vrrpd_cannot_reach_is_said_at_its_place() {
    let l = load(&with_globals("    smtp_server mail.example.org\n"));
    let d = find(&l, "'mail.example.org' is not an IP address");
    assert_eq!((d.line, d.col, d.severity), (2, 17, Severity::Warning));
    let l = load(&with_globals("    smtp_server 192.0.2.25 smtp\n"));
    let d = find(&l, "'smtp' is not a port");
    assert_eq!((d.line, d.col), (2, 28));
    let l = load(&with_globals("    smtp_server 2001:db8::25 587\n"));
    assert!(l.diagnostics.is_empty(), "{:#?}", l.diagnostics);
}
