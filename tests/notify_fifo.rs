//! The notify FIFO is never opened through a link, must be a FIFO owned by
//! root or vrrpd's user and writable by nobody else; the notifier refuses
//! unsafe notify commands and FIFO scripts under `enable_script_security`
//! (the same decision `vrrpd check` reports).

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use vrrpd::config::{load_str, LoadOptions};
use vrrpd::output::notify::{
    check_fifo_path, judge_fifo, open_fifo, FifoError, Notifier, NotifyState,
};
use vrrpd::track::check::script_checks;

const NOBODY: u32 = 65534;

fn root() -> bool {
    nix::unistd::geteuid().is_root()
}

fn me() -> u32 {
    nix::unistd::geteuid().as_raw()
}

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vrrpd-fifo-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
    d
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

fn mkfifo(p: &Path, mode: u32) {
    nix::unistd::mkfifo(p, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn judge_accepts_only_a_private_fifo_of_an_allowed_owner() {
    let owners = [0, 1000];
    let fifo = libc::S_IFIFO;
    assert!(judge_fifo("/f", fifo | 0o600, 0, &owners).is_ok());
    // Readable by others is not an injection: keepalived's old 0644 passes.
    assert!(judge_fifo("/f", fifo | 0o644, 1000, &owners).is_ok());
    for (mode, uid, want) in [
        (libc::S_IFLNK | 0o777, 0, "a symbolic link"),
        (libc::S_IFREG | 0o600, 0, "/f is a regular file, not a FIFO"),
        (libc::S_IFDIR | 0o700, 0, "/f is a directory, not a FIFO"),
        (libc::S_IFSOCK | 0o600, 0, "/f is a socket, not a FIFO"),
        (fifo | 0o600, 1001, "owned by uid 1001, not root"),
        (fifo | 0o620, 0, "writable by group or others (mode 0620)"),
        (fifo | 0o602, 0, "writable by group or others (mode 0602)"),
    ] {
        let e = judge_fifo("/f", mode, uid, &owners).expect_err(want);
        assert!(e.to_string().contains(want), "{e} / {want}");
    }
}

#[test]
fn a_missing_fifo_is_created_0600_and_opened_without_blocking() {
    let d = tmpdir("create");
    let p = d.join("fifo");
    assert!(
        check_fifo_path(&s(&p), &[0, me()]).is_ok(),
        "missing is fine"
    );
    // Non-blocking: no reader is needed.
    let (_f, created) = open_fifo(&s(&p), &[0, me()]).unwrap();
    assert!(created);
    let m = std::fs::symlink_metadata(&p).unwrap();
    assert!(m.file_type().is_fifo());
    assert_eq!(m.mode() & 0o7777, 0o600);
    let (_f, created) = open_fifo(&s(&p), &[0, me()]).unwrap();
    assert!(!created, "an existing good FIFO is reused");
}

#[test]
fn a_link_a_regular_file_and_a_fifo_others_can_write_are_refused() {
    let d = tmpdir("hostile");
    let target = d.join("target");
    std::fs::write(&target, "precious\n").unwrap();
    let link = d.join("link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let dangling = d.join("dangling");
    std::os::unix::fs::symlink(d.join("nothing"), &dangling).unwrap();
    let regular = d.join("regular");
    std::fs::write(&regular, "").unwrap();
    let open = d.join("open");
    mkfifo(&open, 0o666);
    let owners = [0, me()];
    for p in [&link, &dangling] {
        assert!(matches!(
            open_fifo(&s(p), &owners),
            Err(FifoError::Symlink { .. })
        ));
        assert!(matches!(
            check_fifo_path(&s(p), &owners),
            Err(FifoError::Symlink { .. })
        ));
    }
    assert!(
        !d.join("nothing").exists(),
        "nothing created through the dangling link"
    );
    assert!(matches!(
        open_fifo(&s(&regular), &owners),
        Err(FifoError::NotFifo { .. })
    ));
    assert!(matches!(
        check_fifo_path(&s(&regular), &owners),
        Err(FifoError::NotFifo { .. })
    ));
    assert!(matches!(
        open_fifo(&s(&open), &owners),
        Err(FifoError::Writable { .. })
    ));
    assert!(matches!(
        check_fifo_path(&s(&open), &owners),
        Err(FifoError::Writable { .. })
    ));
    let dir = d.join("dir");
    std::fs::create_dir(&dir).unwrap();
    let e = open_fifo(&s(&dir), &owners).unwrap_err();
    assert!(e.to_string().contains("is a directory, not a FIFO"), "{e}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious\n");
    assert_eq!(std::fs::read_to_string(&regular).unwrap(), "");
}

#[test]
fn a_fifo_owned_by_another_user_is_refused() {
    if !root() {
        eprintln!("not root: skipped");
        return;
    }
    let d = tmpdir("owner");
    let p = d.join("theirs");
    mkfifo(&p, 0o600);
    std::os::unix::fs::chown(&p, Some(NOBODY), None).unwrap();
    let e = open_fifo(&s(&p), &[0]).unwrap_err();
    assert!(matches!(e, FifoError::Owner { uid: NOBODY, .. }), "{e}");
    assert!(check_fifo_path(&s(&p), &[0]).is_err());
    // Named as the FIFO's owner in the configuration, it is accepted.
    assert!(open_fifo(&s(&p), &[0, NOBODY]).is_ok());
}

/// A configuration with `extra` global lines and instance lines.
fn conf(global: &str, inst: &str) -> String {
    format!(
        "global_defs {{\n{global}}}\nvrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {{\n        192.0.2.100\n    }}\n{inst}}}\n"
    )
}

#[tokio::test]
async fn the_notifier_writes_nothing_through_a_hostile_fifo_path() {
    let d = tmpdir("notifier");
    let target = d.join("target");
    std::fs::write(&target, "").unwrap();
    let link = d.join("fifo");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let out = d.join("script-ran");
    let reader = d.join("reader.sh");
    std::fs::write(&reader, format!("#!/bin/sh\ntouch {}\n", s(&out))).unwrap();
    std::fs::set_permissions(&reader, std::fs::Permissions::from_mode(0o755)).unwrap();
    let text = conf(
        &format!(
            "    vrrp_notify_fifo {}\n    vrrp_notify_fifo_script {}\n    script_user root\n",
            s(&link),
            s(&reader)
        ),
        "",
    );
    let loaded = load_str("f.conf", &text, &LoadOptions::default());
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let mut n = Notifier::start().unwrap();
    n.configure(&loaded.config);
    n.event("VI_1", NotifyState::Master, 100);
    n.configure(&loaded.config); // a reload tries again, and refuses again
    n.event("VI_1", NotifyState::Stop, 100);
    n.finish(Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "");
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(
        !out.exists(),
        "the FIFO script of a refused FIFO never starts"
    );
    let diags: Vec<String> = script_checks(&loaded.config, &loaded.spans)
        .iter()
        .map(|d| d.to_string())
        .collect();
    assert!(
        diags
            .iter()
            .any(|d| d.starts_with("f.conf:2:5: warning: vrrp_notify_fifo: ")
                && d.contains("is a symbolic link: refused")),
        "{diags:#?}"
    );
}

#[tokio::test]
async fn unsafe_notify_commands_never_run_under_script_security() {
    if !root() {
        eprintln!("not root: skipped");
        return;
    }
    let d = tmpdir("insecure");
    let log = d.join("log");
    let body = |tag: &str| format!("#!/bin/sh\necho {tag} \"$*\" >>{}\n", s(&log));
    let (bad, good, fifo_script) = (d.join("bad.sh"), d.join("good.sh"), d.join("fifo.sh"));
    for (p, tag, mode) in [
        (&bad, "bad", 0o757),
        (&good, "good", 0o755),
        (&fifo_script, "fifo", 0o777),
    ] {
        std::fs::write(p, body(tag)).unwrap();
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let text = conf(
        &format!(
            "    enable_script_security\n    script_user root\n    vrrp_notify_fifo {}\n    vrrp_notify_fifo_script {}\n",
            s(&d.join("fifo")),
            s(&fifo_script)
        ),
        &format!(
            "    notify_master {}\n    notify_master_rx_lower_pri {}\n    notify {}\n",
            s(&bad),
            s(&bad),
            s(&good)
        ),
    );
    let loaded = load_str("i.conf", &text, &LoadOptions::default());
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let mut n = Notifier::start().unwrap();
    n.configure(&loaded.config);
    n.event("VI_1", NotifyState::Master, 100);
    n.event("VI_1", NotifyState::MasterRxLowerPri, 100);
    n.finish(Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "good INSTANCE VI_1 MASTER 100\n",
        "only the safe command ran"
    );
    // `vrrpd check` says the same, located at each keyword.
    let diags: Vec<String> = script_checks(&loaded.config, &loaded.spans)
        .iter()
        .map(|d| d.to_string())
        .collect();
    let bad = s(&bad);
    let want = [
        format!("i.conf:5:5: warning: Unsafe permissions found for script vrrp_notify_fifo_script `{}`: {} is writable by others (mode 0777) - disabling", s(&fifo_script), s(&fifo_script)),
        format!("i.conf:13:5: warning: Unsafe permissions found for script (VI_1) notify_master `{bad}`: {bad} is writable by others (mode 0757) - disabling"),
        format!("i.conf:14:5: warning: Unsafe permissions found for script (VI_1) notify_master_rx_lower_pri `{bad}`: {bad} is writable by others (mode 0757) - disabling"),
    ];
    assert_eq!(diags.len(), want.len(), "{diags:#?}");
    for want in &want {
        assert!(
            diags.iter().any(|d| d.starts_with(want.as_str())),
            "{want}\nnot in {diags:#?}"
        );
    }
}

#[tokio::test]
async fn a_created_fifo_lets_its_unprivileged_script_read_through_its_group_only() {
    if !root() {
        eprintln!("not root: skipped");
        return;
    }
    let d = tmpdir("reader");
    let fifo = d.join("fifo");
    let text = conf(
        &format!(
            "    vrrp_notify_fifo {}\n    vrrp_notify_fifo_script /bin/true\n    script_user nobody\n",
            s(&fifo)
        ),
        "",
    );
    let loaded = load_str("r.conf", &text, &LoadOptions::default());
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let mut n = Notifier::start().unwrap();
    n.configure(&loaded.config);
    n.finish(Duration::from_secs(5)).await;
    let m = std::fs::symlink_metadata(&fifo).unwrap();
    assert!(m.file_type().is_fifo());
    assert_eq!((m.uid(), m.mode() & 0o7777), (0, 0o640));
    let nogroup = nix::unistd::User::from_name("nobody")
        .unwrap()
        .unwrap()
        .gid
        .as_raw();
    assert_eq!(m.gid(), nogroup);
}
