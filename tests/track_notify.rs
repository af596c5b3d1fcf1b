//! Notifications run one at a time in transition order; STOP is delivered
//! by `finish`; the FIFO gets keepalived's lines.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use vrrpd::config::{load_str, LoadOptions};
use vrrpd::output::notify::{Notifier, NotifyState, Subject};

/// Our own user name: the scripts write into our temp directories.
fn me() -> String {
    nix::unistd::User::from_uid(nix::unistd::geteuid())
        .unwrap()
        .unwrap()
        .name
}

/// An empty directory of this test's own under the temp dir.
fn fresh_dir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("vrrpd-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// An executable shell script at `path`.
fn write_script(path: &std::path::Path, body: &str) {
    std::fs::write(path, body).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[tokio::test]
async fn notifications_keep_transition_order() {
    let d = fresh_dir("notify");
    let log = d.join("log");
    let s = d.join("n.sh");
    // Earlier events sleep longer: unordered execution would reorder them.
    write_script(&s, &format!(
            "#!/bin/sh\ncase $3 in MASTER) sleep 0.3;; BACKUP) sleep 0.1;; esac\necho \"$1 $2 $3 $4\" >> {}\n",
            log.display()
        ));
    let fifo = d.join("fifo");
    let conf = format!(
        r#"
global_defs {{
    vrrp_notify_fifo {fifo}
    script_user {me}
}}
vrrp_instance VI_1 {{
    interface eth0
    virtual_router_id 51
    priority 150
    virtual_ipaddress {{
        192.0.2.100
    }}
    notify {s}
}}
"#,
        fifo = fifo.display(),
        s = s.display(),
        me = me()
    );
    let loaded = load_str("n.conf", &conf, &LoadOptions::default());
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let mut n = Notifier::start().unwrap();
    n.configure(&loaded.config);
    // Open the read side once the notifier created the FIFO.
    let mut reader = None;
    for _ in 0..100 {
        if fifo.exists() {
            use std::os::unix::fs::OpenOptionsExt;
            reader = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(&fifo)
                .ok();
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut reader = reader.expect("fifo created");
    for (st, prio) in [
        (NotifyState::Backup, 150),
        (NotifyState::Master, 150),
        (NotifyState::Backup, 90),
        (NotifyState::Fault, 90),
        (NotifyState::Stop, 90),
    ] {
        n.event("VI_1", st, prio);
    }
    n.finish(Duration::from_secs(10)).await;
    let got = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        got,
        "INSTANCE VI_1 BACKUP 150\nINSTANCE VI_1 MASTER 150\nINSTANCE VI_1 BACKUP 90\nINSTANCE VI_1 FAULT 90\nINSTANCE VI_1 STOP 90\n"
    );
    let mut lines = String::new();
    let _ = reader.read_to_string(&mut lines);
    assert_eq!(
        lines,
        "INSTANCE \"VI_1\" BACKUP 150\nINSTANCE \"VI_1\" MASTER 150\nINSTANCE \"VI_1\" BACKUP 90\nINSTANCE \"VI_1\" FAULT 90\nINSTANCE \"VI_1\" STOP 90\n"
    );
}

#[tokio::test]
async fn priority_changes_reach_the_fifo_only_when_asked() {
    let d = fresh_dir("notify-prio");
    let fifo = d.join("fifo");
    let conf = |changes: &str| {
        format!(
            "global_defs {{\n    vrrp_notify_fifo {}\n{changes}}}\nvrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {{\n        192.0.2.100\n    }}\n}}\n",
            fifo.display()
        )
    };
    let mut out = String::new();
    for changes in ["", "    vrrp_notify_priority_changes\n"] {
        let loaded = load_str("p.conf", &conf(changes), &LoadOptions::default());
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        let mut n = Notifier::start().unwrap();
        n.configure(&loaded.config);
        n.event("VI_1", NotifyState::MasterPriority, 90);
        n.event("VI_1", NotifyState::MasterRxLowerPri, 90);
        n.finish(Duration::from_secs(5)).await;
        use std::os::unix::fs::OpenOptionsExt;
        let mut r = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo)
            .unwrap();
        let mut s = String::new();
        let _ = r.read_to_string(&mut s);
        out.push_str(&s);
        out.push('|');
    }
    assert_eq!(
        out,
        "INSTANCE \"VI_1\" MASTER_RX_LOWER_PRI 90\n|INSTANCE \"VI_1\" MASTER_PRIORITY 90\nINSTANCE \"VI_1\" MASTER_RX_LOWER_PRI 90\n|"
    );
}

/// keepalived's precedence (vrrp.c): the instance's `notify_priority_changes`,
/// else its sync group's, else the global; an explicit `off` wins.
#[test]
fn priority_changes_follow_instance_then_group_then_global() {
    let conf = |global: &str, group: &str, inst: &str| {
        format!(
            "global_defs {{\n{global}}}\nvrrp_sync_group G {{\n    group {{\n        VI_1\n    }}\n{group}}}\nvrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n{inst}    virtual_ipaddress {{\n        192.0.2.100\n    }}\n}}\nvrrp_instance VI_2 {{\n    interface eth0\n    virtual_router_id 52\n    virtual_ipaddress {{\n        192.0.2.101\n    }}\n}}\n"
        )
    };
    let on_g = "    vrrp_notify_priority_changes\n";
    let cases = [
        // (global, group, instance) -> (VI_1 in G, VI_2 in no group)
        ("", "", "", (false, false)),
        (on_g, "", "", (true, true)),
        ("", "    notify_priority_changes\n", "", (true, false)),
        (on_g, "    notify_priority_changes off\n", "", (false, true)),
        (on_g, "", "    notify_priority_changes off\n", (false, true)),
        (
            "",
            "    notify_priority_changes off\n",
            "    notify_priority_changes on\n",
            (true, false),
        ),
    ];
    for (global, group, inst, want) in cases {
        let loaded = load_str(
            "p.conf",
            &conf(global, group, inst),
            &LoadOptions::default(),
        );
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        assert!(
            loaded
                .diagnostics
                .iter()
                .all(|d| !d.message.contains("notify_priority_changes")),
            "{:?}",
            loaded.diagnostics
        );
        let cfg = &loaded.config;
        let got = (
            cfg.notify_priority_changes(&cfg.instances[0]),
            cfg.notify_priority_changes(&cfg.instances[1]),
        );
        assert_eq!(
            got, want,
            "global {global:?} group {group:?} instance {inst:?}"
        );
    }
}

/// A sync group's `notify_priority_changes` reaches its members' FIFO lines.
#[tokio::test]
async fn group_priority_changes_reach_the_fifo() {
    let d = fresh_dir("notify-prio-group");
    let fifo = d.join("fifo");
    let conf = format!(
        "global_defs {{\n    vrrp_notify_fifo {}\n}}\nvrrp_sync_group G {{\n    group {{\n        VI_1\n    }}\n    notify_priority_changes\n}}\nvrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {{\n        192.0.2.100\n    }}\n}}\n",
        fifo.display()
    );
    let loaded = load_str("g.conf", &conf, &LoadOptions::default());
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let mut n = Notifier::start().unwrap();
    n.configure(&loaded.config);
    n.event("VI_1", NotifyState::BackupPriority, 80);
    n.finish(Duration::from_secs(5)).await;
    use std::os::unix::fs::OpenOptionsExt;
    let mut r = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap();
    let mut s = String::new();
    let _ = r.read_to_string(&mut s);
    assert_eq!(s, "INSTANCE \"VI_1\" BACKUP_PRIORITY 80\n");
}

/// `fifo_write_vrrp_states_on_reload`'s lines go to the FIFO only: the
/// notify commands do not run for them.
#[tokio::test]
async fn fifo_state_lines_run_no_command() {
    let d = fresh_dir("notify-fifo-state");
    let fifo = d.join("fifo");
    let ran = d.join("ran");
    let s = d.join("n.sh");
    write_script(
        &s,
        &format!("#!/bin/sh\necho \"$@\" >> {}\n", ran.display()),
    );
    let conf = format!(
        "global_defs {{\n    vrrp_notify_fifo {}\n    fifo_write_vrrp_states_on_reload\n}}\nvrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n    notify {} {}\n    virtual_ipaddress {{\n        192.0.2.100\n    }}\n}}\n",
        fifo.display(),
        s.display(),
        me()
    );
    let loaded = load_str("s.conf", &conf, &LoadOptions::default());
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    assert!(loaded.config.global.fifo_write_vrrp_states_on_reload);
    let mut n = Notifier::start().unwrap();
    n.configure(&loaded.config);
    n.fifo_state(Subject::Group, "G", NotifyState::Master, 0);
    n.fifo_state(Subject::Instance, "VI_1", NotifyState::Master, 150);
    n.finish(Duration::from_secs(5)).await;
    use std::os::unix::fs::OpenOptionsExt;
    let mut r = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap();
    let mut got = String::new();
    let _ = r.read_to_string(&mut got);
    assert_eq!(got, "GROUP \"G\" MASTER 0\nINSTANCE \"VI_1\" MASTER 150\n");
    assert!(!ran.exists(), "a notify command ran");
}

#[tokio::test]
async fn fifo_script_reads_the_fifo_and_is_stopped_at_exit() {
    let d = fresh_dir("fifo-script");
    let out = d.join("out");
    let script = d.join("reader.sh");
    write_script(
        &script,
        &format!("#!/bin/sh\nexec cat \"$1\" >{}\n", out.display()),
    );
    let conf = format!(
        "global_defs {{\n    vrrp_notify_fifo {}\n    vrrp_notify_fifo_script {}\n    script_user {}\n}}\nvrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {{\n        192.0.2.100\n    }}\n}}\n",
        d.join("fifo").display(),
        script.display(),
        me()
    );
    let loaded = load_str("f.conf", &conf, &LoadOptions::default());
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let mut n = Notifier::start().unwrap();
    n.configure(&loaded.config);
    n.event("VI_1", NotifyState::Backup, 100);
    n.event("VI_1", NotifyState::Stop, 100);
    n.finish(Duration::from_secs(5)).await;
    let mut got = String::new();
    for _ in 0..50 {
        got = std::fs::read_to_string(&out).unwrap_or_default();
        if got.contains("STOP") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        got,
        "INSTANCE \"VI_1\" BACKUP 100\nINSTANCE \"VI_1\" STOP 100\n"
    );
}

fn read_fifo(fifo: &std::path::Path) -> std::fs::File {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(fifo)
        .unwrap()
}

#[tokio::test]
async fn group_and_member_notifications_share_one_ordered_queue() {
    let d = fresh_dir("notify-group");
    let log = d.join("log");
    let s = d.join("n.sh");
    // The first events are the slowest: separate queues would reorder them.
    write_script(&s, &format!(
            "#!/bin/sh\ncase \"$2\" in VI_1) sleep 0.4;; VI_2) sleep 0.2;; esac\necho \"$*\" >> {}\n",
            log.display()
        ));
    let fifo = d.join("fifo");
    let inst = |name: &str, vrid: u8| {
        format!(
            "vrrp_instance {name} {{\n    interface eth0\n    virtual_router_id {vrid}\n    virtual_ipaddress {{\n        192.0.2.{vrid}\n    }}\n    notify {s}\n}}\n",
            s = s.display()
        )
    };
    let conf = format!(
        "global_defs {{\n    vrrp_notify_fifo {fifo}\n    script_user {me}\n}}\n{}{}vrrp_sync_group G1 {{\n    group {{\n        VI_1\n        VI_2\n    }}\n    notify_fault \"{s} SPECIFIC\"\n    notify {s}\n}}\n",
        inst("VI_1", 1),
        inst("VI_2", 2),
        fifo = fifo.display(),
        s = s.display(),
        me = me()
    );
    let loaded = load_str("g.conf", &conf, &LoadOptions::default());
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let mut n = Notifier::start().unwrap();
    n.configure(&loaded.config);
    let mut reader = None;
    for _ in 0..100 {
        if fifo.exists() {
            reader = Some(read_fifo(&fifo));
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut reader = reader.expect("fifo created");
    n.event("VI_1", NotifyState::Fault, 100);
    n.event("VI_2", NotifyState::Fault, 100);
    n.group_event("G1", NotifyState::Fault);
    n.event("VI_2", NotifyState::Backup, 100);
    n.event("VI_1", NotifyState::Backup, 100);
    n.group_event("G1", NotifyState::Backup);
    n.finish(Duration::from_secs(10)).await;
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "INSTANCE VI_1 FAULT 100\nINSTANCE VI_2 FAULT 100\nSPECIFIC\nGROUP G1 FAULT 0\n\
         INSTANCE VI_2 BACKUP 100\nINSTANCE VI_1 BACKUP 100\nGROUP G1 BACKUP 0\n"
    );
    let mut lines = String::new();
    let _ = reader.read_to_string(&mut lines);
    assert_eq!(
        lines,
        "INSTANCE \"VI_1\" FAULT 100\nINSTANCE \"VI_2\" FAULT 100\nGROUP \"G1\" FAULT 0\n\
         INSTANCE \"VI_2\" BACKUP 100\nINSTANCE \"VI_1\" BACKUP 100\nGROUP \"G1\" BACKUP 0\n"
    );
}

#[tokio::test]
async fn a_deleted_instance_is_notified_after_the_reload_removed_it() {
    let d = fresh_dir("notify-del");
    let log = d.join("log");
    let s = d.join("n.sh");
    write_script(
        &s,
        &format!("#!/bin/sh\necho \"$*\" >> {}\n", log.display()),
    );
    let fifo = d.join("fifo");
    let head = format!(
        "global_defs {{\n    vrrp_notify_fifo {}\n    script_user {}\n}}\n",
        fifo.display(),
        me()
    );
    let vi2 = format!(
        "vrrp_instance VI_2 {{\n    interface eth0\n    virtual_router_id 2\n    virtual_ipaddress {{\n        192.0.2.2\n    }}\n    notify_deleted \"{s} DEL\"\n    notify {s}\n}}\n",
        s = s.display()
    );
    let before = load_str("d.conf", &format!("{head}{vi2}"), &LoadOptions::default());
    assert!(!before.has_errors(), "{:?}", before.diagnostics);
    let after = load_str("d.conf", &head, &LoadOptions::default());
    let mut n = Notifier::start().unwrap();
    n.configure(&before.config);
    for _ in 0..100 {
        if fifo.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut reader = read_fifo(&fifo);
    // The driver configures the new file first, then reports the removal.
    n.configure(&after.config);
    n.event("VI_2", NotifyState::Deleted, 100);
    n.finish(Duration::from_secs(10)).await;
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "DEL\nINSTANCE VI_2 DELETED 100\n"
    );
    let mut lines = String::new();
    let _ = reader.read_to_string(&mut lines);
    assert_eq!(lines, "INSTANCE \"VI_2\" DELETED 100\n");
}
