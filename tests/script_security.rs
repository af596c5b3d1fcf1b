//! `enable_script_security` on real files, the one decision ([`admit`]) the
//! daemon and `vrrpd check` share, and the environment scripts get.
//! The permission cases need root (chown): skipped otherwise.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use vrrpd::config::{Command, Global, RunAs};
use vrrpd::track::script::{
    admit, insecure_path, pick_default_user, refused_line, run_once, script_env, Exec, ScriptError,
    SAFE_PATH,
};

const NOBODY: u32 = 65534;

fn root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// A fresh directory (mode 0755, root's when we are root) under /tmp.
fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vrrpd-sec-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    chmod(&d, 0o755);
    d
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn script(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, "#!/bin/sh\nexit 0\n").unwrap();
    chmod(&p, 0o755);
    p
}

fn cmd(p: &Path) -> Command {
    Command {
        cmd: p.display().to_string(),
        run_as: None,
    }
}

fn global(security: bool, user: &str) -> Global {
    Global {
        enable_script_security: security,
        script_user: Some(RunAs {
            user: user.into(),
            group: None,
        }),
        ..Global::default()
    }
}

#[test]
fn a_root_owned_script_in_root_owned_directories_is_safe() {
    if !root() {
        eprintln!("not root: skipped");
        return;
    }
    let d = tmpdir("safe");
    let s = script(&d, "ok.sh");
    assert_eq!(insecure_path(&s), None);
    // /tmp itself is world-writable but sticky: others cannot replace our file.
    assert!(
        std::env::temp_dir()
            .metadata()
            .unwrap()
            .permissions()
            .mode()
            & 0o1000
            != 0
    );
}

#[test]
fn a_script_writable_by_others_or_a_non_root_group_is_unsafe() {
    if !root() {
        eprintln!("not root: skipped");
        return;
    }
    let d = tmpdir("mode");
    let s = script(&d, "w.sh");
    chmod(&s, 0o757);
    let why = insecure_path(&s).expect("others can write it");
    assert!(
        why.contains("w.sh is writable by others (mode 0757)"),
        "{why}"
    );
    chmod(&s, 0o775);
    assert_eq!(insecure_path(&s), None, "group root may write");
    std::os::unix::fs::chown(&s, None, Some(NOBODY)).unwrap();
    let why = insecure_path(&s).expect("group nogroup can write it");
    assert!(why.contains("writable by group 65534"), "{why}");
}

#[test]
fn a_script_owned_by_another_user_is_unsafe() {
    if !root() {
        eprintln!("not root: skipped");
        return;
    }
    let d = tmpdir("owner");
    let s = script(&d, "o.sh");
    std::os::unix::fs::chown(&s, Some(NOBODY), None).unwrap();
    let why = insecure_path(&s).expect("its owner can rewrite it");
    assert!(
        why.contains("o.sh is owned by uid 65534, not root"),
        "{why}"
    );
}

#[test]
fn a_directory_on_the_path_writable_by_others_is_unsafe_unless_sticky() {
    if !root() {
        eprintln!("not root: skipped");
        return;
    }
    let d = tmpdir("dir");
    let sub = d.join("sub");
    std::fs::create_dir(&sub).unwrap();
    let s = script(&sub, "d.sh");
    chmod(&sub, 0o777);
    let why = insecure_path(&s).expect("others can rename it away");
    assert!(
        why.contains("sub is writable by others (mode 0777)"),
        "{why}"
    );
    chmod(&sub, 0o1777);
    assert_eq!(insecure_path(&s), None);
}

#[test]
fn a_link_someone_else_can_repoint_is_unsafe_even_to_a_safe_target() {
    if !root() {
        eprintln!("not root: skipped");
        return;
    }
    let d = tmpdir("link");
    let target = script(&d, "real.sh");
    // A root-owned link in a directory others can write.
    let open = d.join("open");
    std::fs::create_dir(&open).unwrap();
    chmod(&open, 0o777);
    let link = open.join("l.sh");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let why = insecure_path(&link).expect("the link can be replaced");
    assert!(why.contains("open is writable by others"), "{why}");
    // A link owned by another user in a safe directory.
    let theirs = d.join("theirs.sh");
    std::os::unix::fs::symlink(&target, &theirs).unwrap();
    std::os::unix::fs::lchown(&theirs, Some(NOBODY), None).unwrap();
    let why = insecure_path(&theirs).expect("its owner can replace it");
    assert!(why.contains("theirs.sh is owned by uid 65534"), "{why}");
    // A root link in a safe directory, to a safe target.
    let fine = d.join("fine.sh");
    std::os::unix::fs::symlink(&target, &fine).unwrap();
    assert_eq!(insecure_path(&fine), None);
}

#[test]
fn admit_refuses_an_unsafe_root_command_only_under_script_security() {
    if !root() {
        eprintln!("not root: skipped");
        return;
    }
    let d = tmpdir("admit");
    let s = script(&d, "u.sh");
    chmod(&s, 0o777);
    let c = cmd(&s);
    match admit(&c, &global(true, "root")) {
        Err(ScriptError::Insecure(why)) => assert!(why.contains("u.sh is writable by others")),
        other => panic!("{other:?}"),
    }
    let off = admit(&c, &global(false, "root")).expect("runs when the option is off");
    assert!(off.unsafe_path.is_some());
    // Run unprivileged, it cannot hurt more than its user already can.
    let unprivileged = admit(&c, &global(true, "nobody")).expect("not root: runs");
    assert_eq!(unprivileged.unsafe_path, None);
    chmod(&s, 0o755);
    let safe = admit(&c, &global(true, "root")).expect("safe now");
    assert_eq!(safe.unsafe_path, None);
}

#[test]
fn admit_refuses_a_relative_path_under_script_security() {
    if !root() {
        eprintln!("not root: skipped");
        return;
    }
    let c = Command {
        cmd: "./bin/sh".into(),
        run_as: None,
    };
    let here = std::env::current_dir().unwrap();
    std::env::set_current_dir("/").unwrap();
    let got = admit(&c, &global(true, "root"));
    std::env::set_current_dir(here).unwrap();
    match got {
        Err(e @ ScriptError::Relative(_)) => assert_eq!(
            refused_line("(VI_1) notify `./bin/sh`", &e),
            "(VI_1) notify `./bin/sh`: ./bin/sh is not an absolute path - disabling"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn refused_lines_use_keepalived_words_for_unsafe_scripts() {
    let e = ScriptError::Insecure("/x is owned by uid 1000, not root".into());
    assert_eq!(
        refused_line("(VI_1) notify_master `/x`", &e),
        "Unsafe permissions found for script (VI_1) notify_master `/x`: /x is owned by uid 1000, not root - disabling"
    );
}

#[test]
fn scripts_get_only_the_locale_the_time_zone_and_a_fixed_path() {
    let ours: Vec<(OsString, OsString)> = [
        ("NOTIFY_SOCKET", "/run/systemd/notify"),
        ("LISTEN_FDS", "1"),
        ("LISTEN_PID", "1"),
        ("LISTEN_FDNAMES", "x"),
        ("WATCHDOG_USEC", "10000000"),
        ("WATCHDOG_PID", "1"),
        ("INVOCATION_ID", "abc"),
        ("LD_PRELOAD", "/tmp/evil.so"),
        ("PATH", "/tmp/evil:/usr/bin"),
        ("IFS", "x"),
        ("HOME", "/root"),
        ("LANG", "C.UTF-8"),
        ("LC_ALL", "C"),
        ("TZ", "UTC"),
    ]
    .into_iter()
    .map(|(k, v)| (k.into(), v.into()))
    .collect();
    let env = script_env(ours);
    let got: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string_lossy().into(), v.to_string_lossy().into()))
        .collect();
    let want: Vec<(String, String)> = [
        ("LANG", "C.UTF-8"),
        ("LC_ALL", "C"),
        ("TZ", "UTC"),
        ("PATH", SAFE_PATH),
    ]
    .into_iter()
    .map(|(k, v)| (k.into(), v.into()))
    .collect();
    assert_eq!(got, want);
}

#[tokio::test]
async fn a_spawned_script_does_not_see_systemd_variables() {
    // This test binary's only test touching the environment.
    std::env::set_var("NOTIFY_SOCKET", "/run/systemd/notify");
    std::env::set_var("WATCHDOG_USEC", "10000000");
    std::env::set_var("LC_TIME", "C");
    let c = Command {
        cmd: "env".into(),
        run_as: None,
    };
    let me = nix::unistd::User::from_uid(nix::unistd::geteuid())
        .unwrap()
        .unwrap()
        .name;
    let exec = Exec::resolve(&c, &global(false, &me)).unwrap();
    let out = run_once(&exec, Duration::from_secs(5)).await.output;
    assert!(!out.contains("NOTIFY_SOCKET"), "{out}");
    assert!(!out.contains("WATCHDOG_USEC"), "{out}");
    assert!(out.contains("LC_TIME=C\n"), "{out}");
    assert!(out.contains(&format!("PATH={SAFE_PATH}\n")), "{out}");
}

#[test]
fn the_default_user_is_keepalived_script_then_vrrpd_script_then_nobody() {
    let hosts: [(&[&str], Option<&str>); 4] = [
        (
            &["keepalived_script", "vrrpd-script", "nobody"],
            Some("keepalived_script"),
        ),
        (&["vrrpd-script", "nobody"], Some("vrrpd-script")),
        (&["nobody"], Some("nobody")),
        (&[], None),
    ];
    for (users, want) in hosts {
        let got = pick_default_user(|name| users.contains(&name).then_some((900, 900)));
        assert_eq!(got.map(|(n, _, _)| n).as_deref(), want, "{users:?}");
    }
}
